//! The examples of exploring on many machines (`examples/explore/`), run for
//! real on this machine: GNU parallel over 4 shards, each index of the
//! Kubernetes Indexed Job, each entry of the GitHub Actions matrix, then their
//! merge steps, each checked against one unsharded run. The YAML files are
//! parsed and their shell scripts run as written; only the scenario, the seed
//! range and the results directory are swapped for small local ones (through
//! the environment variables the examples declare), so a flag the CLI does not
//! know, a shard count that disagrees with the matrix, or a merge that misses
//! a shard fails here.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SPOP draws from the seeded random source: some seeds fail, some pass.
const SPOP: &str = include_str!("support/spop.yaml");
/// The seeds every example explores here.
const SEEDS: &str = "1..41";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("spop.yaml"), SPOP).unwrap();
    dir
}

/// PATH with the chaoslab under test first, as the examples call `chaoslab`.
fn path_with_chaoslab() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_chaoslab")).parent().unwrap().display().to_string();
    format!("{bin}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Runs `shell` (e.g. `["sh", "-c"]`) with `script` as its last argument, in `cwd`; its exit code and output.
fn run_script(shell: &[&str], script: &str, env: &[(&str, String)], cwd: &Path) -> (i32, String) {
    let out = Command::new(shell[0])
        .args(&shell[1..])
        .arg(script)
        .env("PATH", path_with_chaoslab())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(cwd)
        .output()
        .expect("the shell runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn explore_json(dir: &Path) -> Value {
    let file = dir.join("explore.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap()
}

/// The unsharded run the merges must equal, and its exit code.
fn unsharded(dir: &Path) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["-q", "explore", "spop.yaml", "--seeds", SEEDS, "--jobs", "2", "--out", "unsharded"])
        .current_dir(dir)
        .status()
        .unwrap();
    (explore_json(&dir.join("unsharded")), out.code().unwrap())
}

fn seeds_of(report: &Value) -> Vec<u64> {
    report["results"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect()
}

/// The merged report holds every seed once, with the unsharded run's verdict,
/// failure and trace hash, and the shards' seeds are disjoint.
fn assert_merge_is_the_unsharded_run(merged: &Value, shards: &[Value], all: &Value, count: usize) {
    assert_eq!(merged["results"], all["results"], "the merge equals the unsharded run, seed by seed");
    assert_eq!((&merged["seeds_run"], &merged["failures"]), (&all["seeds_run"], &all["failures"]));
    assert_eq!(merged["shards"].as_array().unwrap().len(), count);
    let mut seen: Vec<u64> = shards.iter().flat_map(seeds_of).collect();
    seen.sort_unstable();
    assert_eq!(seen, seeds_of(all), "the shards cover every seed exactly once");
    let failing = all["failures"].as_u64().unwrap();
    assert!(failing > 0 && failing < 40, "SPOP fails on some seeds only: {failing}");
}

fn yaml_documents(name: &str) -> Vec<Value> {
    let file = repo().join("examples/explore").join(name);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

fn env_value(container: &Value, name: &str) -> String {
    let env = container["env"].as_array().unwrap();
    let var = env.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no env {name} in {container}"));
    var["value"].as_str().unwrap().to_owned()
}

/// The file a shipped example explores exists in the repository.
fn assert_shipped_scenario(path: &str) {
    let name = Path::new(path).file_name().unwrap();
    assert!(repo().join("scenarios").join(name).is_file(), "the example explores {path}, which is not in scenarios/");
}

/// CI installs GNU parallel (.ci/run); without it these tests fail, saying so.
fn require_gnu_parallel() {
    let version = Command::new("parallel").arg("--version").output();
    let gnu = version.as_ref().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU parallel"));
    assert!(
        gnu,
        "GNU parallel is not installed (Debian package `parallel`; .ci/run installs it): this test runs \
         examples/explore/parallel.sh with it"
    );
}

#[test]
fn gnu_parallel_over_4_shards_merges_into_the_unsharded_run() {
    require_gnu_parallel();
    let dir = workdir("explore-example-parallel");
    let (all, all_code) = unsharded(&dir);
    let script = repo().join("examples/explore/parallel.sh").display().to_string();
    let chaoslab = env!("CARGO_BIN_EXE_chaoslab").to_owned();
    let (code, out) =
        run_script(&["bash", script.as_str(), "spop.yaml", SEEDS, "4"], "farm", &[("CHAOSLAB", chaoslab)], &dir);
    assert_eq!(code, all_code, "the script exits as the unsharded run: {out}");
    assert!(out.contains("FAIL spop-luck: 40 seeds (--seeds 1..41, shard 0/4 1/4 2/4 3/4)"), "{out}");
    let shards: Vec<Value> = (0..4).map(|i| explore_json(&dir.join(format!("farm/shard-{i}")))).collect();
    assert_merge_is_the_unsharded_run(&explore_json(&dir.join("farm/merged")), &shards, &all, 4);
    for (i, shard) in shards.iter().enumerate() {
        assert_eq!(shard["shards"], serde_json::json!([{"index": i, "count": 4}]));
    }
}

#[test]
fn the_parallel_script_refuses_a_shard_that_did_not_run() {
    let dir = workdir("explore-example-parallel-bad");
    let script = repo().join("examples/explore/parallel.sh").display().to_string();
    require_gnu_parallel();
    let (code, out) = run_script(
        &["bash", script.as_str(), "spop.yaml", "5..5", "2"],
        "farm",
        &[("CHAOSLAB", env!("CARGO_BIN_EXE_chaoslab").to_owned())],
        &dir,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("the range is empty") && out.contains("not every shard ran"), "{out}");
    assert!(!dir.join("farm/merged").exists(), "no merge of shards that did not run");
}

#[test]
fn the_kubernetes_indexed_job_s_pods_and_merge_job_give_the_unsharded_run() {
    let docs = yaml_documents("kubernetes-job.yaml");
    let claim = docs.iter().find(|d| d["kind"] == "PersistentVolumeClaim").expect("a volume for the results");
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("the Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(env_value(container, "JOB_COMPLETIONS"), completions.to_string(), "JOB_COMPLETIONS is completions");
    let scenario = env_value(container, "SCENARIO");
    assert_shipped_scenario(&scenario);
    let mounts = container["volumeMounts"].as_array().unwrap();
    let mount_of = |name: &str| mounts.iter().find(|m| m["name"] == name).unwrap()["mountPath"].clone();
    assert_eq!(mount_of("scenarios").as_str(), Path::new(&scenario).parent().unwrap().to_str());
    assert_eq!(mount_of("results").as_str(), Some(env_value(container, "RESULTS").as_str()));
    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "results").unwrap().clone();
    assert_eq!(volume["persistentVolumeClaim"]["claimName"], claim["metadata"]["name"]);

    let dir = workdir("explore-example-kubernetes");
    let (all, all_code) = unsharded(&dir);
    let results = dir.join("volume");
    let local = |index: u64| {
        vec![
            ("JOB_COMPLETION_INDEX", index.to_string()),
            ("JOB_COMPLETIONS", env_value(container, "JOB_COMPLETIONS")),
            ("SCENARIO", "spop.yaml".to_owned()),
            ("SEEDS", SEEDS.to_owned()),
            ("RESULTS", results.display().to_string()),
        ]
    };
    let shell: Vec<&str> = container["command"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let script = container["args"][0].as_str().unwrap();
    let mut shards = Vec::new();
    for index in 0..completions {
        let (code, out) = run_script(&shell, script, &local(index), &dir);
        assert_eq!(code, 0, "pod {index} completes (a failing seed is the merge's to report): {out}");
        shards.push(explore_json(&results.join(format!("shard-{index}"))));
    }

    let merge = &yaml_documents("kubernetes-merge-job.yaml")[0];
    let pod = &merge["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim["metadata"]["name"]);
    let container = &pod["containers"][0];
    let shell: Vec<&str> = container["command"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let (code, out) =
        run_script(&shell, container["args"][0].as_str().unwrap(), &[("RESULTS", results.display().to_string())], &dir);
    assert_eq!(code, all_code, "the merge Job fails as the unsharded run does: {out}");
    assert_merge_is_the_unsharded_run(&explore_json(&results.join("merged")), &shards, &all, completions as usize);
}

/// A step's `run:` with the matrix entry filled in, as the runner sees it.
fn step_script(step: &Value, shard: Option<u64>) -> String {
    let text = step["run"].as_str().unwrap();
    let text = shard.map_or(text.to_owned(), |s| text.replace("${{ matrix.shard }}", &s.to_string()));
    assert!(!text.contains("${{"), "an expression this test does not fill in: {text}");
    text
}

fn chaoslab_step<'a>(job: &'a Value, command: &str) -> &'a Value {
    let steps = job["steps"].as_array().unwrap();
    steps.iter().find(|s| s["run"].as_str().is_some_and(|r| r.contains(command))).unwrap_or_else(|| panic!("{command}"))
}

fn artifact_step(job: &Value, action: &str, nth: usize) -> Value {
    let steps = job["steps"].as_array().unwrap();
    let matching: Vec<&Value> =
        steps.iter().filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action))).collect();
    matching[nth]["with"].clone()
}

#[test]
fn the_github_actions_matrix_and_merge_job_give_the_unsharded_run() {
    let workflow = &yaml_documents("github-actions.yaml")[0];
    let jobs = &workflow["jobs"];
    let matrix: Vec<u64> = jobs["explore"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let shards_env = workflow["env"]["SHARDS"].as_u64().unwrap();
    assert_eq!(shards_env, matrix.len() as u64, "SHARDS is the number of matrix entries");
    assert_eq!(matrix, (0..shards_env).collect::<Vec<_>>(), "the matrix names each shard once, from 0");
    assert_shipped_scenario(workflow["env"]["SCENARIO"].as_str().unwrap());
    assert_eq!((&jobs["explore"]["needs"], &jobs["merge"]["needs"]), (&"build".into(), &"explore".into()));
    let bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"];

    let dir = workdir("explore-example-github");
    let (all, all_code) = unsharded(&dir);
    let env =
        [("SHARDS", shards_env.to_string()), ("SCENARIO", "../spop.yaml".to_owned()), ("SEEDS", SEEDS.to_owned())];
    let upload = artifact_step(&jobs["explore"], "actions/upload-artifact", 0);
    let download = artifact_step(&jobs["merge"], "actions/download-artifact", 1);
    let merge_runner = dir.join("merge-runner");
    let artifacts = merge_runner.join(download["path"].as_str().unwrap());
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut shards = Vec::new();
    for &shard in &matrix {
        let runner = dir.join(format!("runner-{shard}"));
        std::fs::create_dir_all(&runner).unwrap();
        let script = step_script(chaoslab_step(&jobs["explore"], "chaoslab explore"), Some(shard));
        let (code, out) = run_script(&bash, &script, &env, &runner);
        assert_eq!(code, 0, "shard {shard} succeeds (a failing seed is the merge's to report): {out}");
        let fill = |key: &str| upload[key].as_str().unwrap().replace("${{ matrix.shard }}", &shard.to_string());
        let (name, path) = (fill("name"), fill("path"));
        assert!(Path::new(&name).to_str().unwrap().starts_with("explore-"), "{name}");
        let pattern = download["pattern"].as_str().unwrap();
        assert!(name.starts_with(pattern.trim_end_matches('*')), "the merge downloads {name} ({pattern})");
        let copied = Command::new("cp").arg("-r").arg(runner.join(&path)).arg(artifacts.join(&name)).status().unwrap();
        assert!(copied.success());
        shards.push(explore_json(&runner.join(&path)));
    }
    let script = step_script(chaoslab_step(&jobs["merge"], "chaoslab merge"), None);
    let (code, out) = run_script(&bash, &script, &env, &merge_runner);
    assert_eq!(code, all_code, "the merge job fails as the unsharded run does: {out}");
    let merged_upload = artifact_step(&jobs["merge"], "actions/upload-artifact", 0);
    let merged = explore_json(&merge_runner.join(merged_upload["path"].as_str().unwrap()));
    assert_merge_is_the_unsharded_run(&merged, &shards, &all, matrix.len());
    assert!(out.contains("  replay:    chaoslab replay shards/explore-"), "replays point into the artifacts: {out}");
}
