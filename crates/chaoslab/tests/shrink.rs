//! `chaoslab shrink` end to end on a planted failure: a Sentinel group
//! without `min-replicas-to-write` under a nemesis that may cut the master's
//! host off loses acknowledged appends on some seeds. Shrinking such a seed
//! reaches one partition of the old master's host, and `chaoslab run` on the
//! written scenario fails the same way. A seed that passes says so; bad input
//! exits 2. Also: a nemesis draws the same schedule for the same seed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chaoslab(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chaoslab")).args(args).current_dir(cwd).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn planted() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nemesis-split-brain.yaml").display().to_string()
}

/// A seed of the planted scenario that loses acknowledged appends (its
/// schedule isolates dc1, where master 6379 and two appenders run, for 6 s).
const FAILING_SEED: &str = "4";

#[test]
fn shrinking_the_split_brain_reaches_one_partition_of_the_old_master() {
    let dir = workdir("shrink-split-brain");
    let out = dir.join("min.yaml");
    let (code, stdout, stderr) = chaoslab(
        &["shrink", &planted(), "--seed", FAILING_SEED, "--budget", "60", "--out", out.to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("fails as a check failure of checker acked-write-loss"), "{stdout}");
    assert!(stderr.contains("shrink: run 2/60 (replay)"), "progress on stderr: {stderr}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    let section = yaml.split("\nfaults:\n").nth(1).and_then(|s| s.split("\nsteps:\n").next()).unwrap_or_default();
    let faults: Vec<&str> = section.lines().collect();
    assert_eq!(faults.len(), 2, "one fault and its heal:\n{yaml}");
    assert!(faults[0].ends_with(r#"partition: [["dc1"]]}"#), "{}", faults[0]);
    assert!(faults[1].ends_with("heal: ~}"), "{}", faults[1]);
    assert!(!yaml.contains("nemesis:"), "{yaml}");
    assert!(yaml.starts_with(
        "# Shrunk by `chaoslab shrink` from seed 4 of nemesis-split-brain.yaml: fails as a check failure of checker acked-write-loss"
    ));
    assert!(yaml.contains("# removed "), "{yaml}");

    let (code, stdout, _) =
        chaoslab(&["run", out.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap(), "--report", "none"], &dir);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("checker acked-write-loss says invalid (expected not invalid)"), "{stdout}");
}

#[test]
fn shrinking_a_passing_seed_says_so_and_bad_input_exits_2() {
    let dir = workdir("shrink-passes");
    let (code, stdout, _) = chaoslab(&["shrink", &planted(), "--seed", "1", "--budget", "5"], &dir);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), "seed 1 passes: nothing to shrink");
    assert!(!dir.join("nemesis-split-brain-seed-1.shrunk.yaml").exists());

    let plain = dir.join("plain.yaml");
    std::fs::write(
        &plain,
        "name: p\ntopology:\n  nodes:\n    - {name: r, kind: redis, port: 6379}\nsteps:\n  - sleep: 1s\n",
    )
    .unwrap();
    let (code, _, stderr) = chaoslab(&["shrink", plain.to_str().unwrap(), "--seed", "1"], &dir);
    assert_eq!(code, 2);
    assert!(stderr.contains("error: the scenario has no `nemesis:`"), "{stderr}");
    let (code, _, _) = chaoslab(&["shrink", plain.to_str().unwrap(), "--seed", "x"], &dir);
    assert_eq!(code, 2);
    let (code, _, stderr) = chaoslab(&["shrink", "missing.yaml", "--seed", "1"], &dir);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_same_seed_draws_the_same_schedule_in_report_json() {
    let dir = workdir("nemesis-same-seed");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/chaos-nemesis-sentinel.yaml");
    let schedule = |seed: &str, name: &str| {
        let out = dir.join(name);
        let args =
            ["run", shipped.to_str().unwrap(), "--seed", seed, "--out", out.to_str().unwrap(), "--report", "none"];
        let (code, stdout, _) = chaoslab(&args, &dir);
        assert_eq!(code, 0, "{stdout}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
        (report["nemesis"].clone(), report["trace_hash"].clone())
    };
    let (a, hash_a) = schedule("11", "a");
    let (b, hash_b) = schedule("11", "b");
    let (c, _) = schedule("12", "c");
    assert_eq!(a, b);
    assert_eq!(hash_a, hash_b);
    assert_ne!(a, c);
    let first = &a[0];
    for key in ["at_ns", "kind", "target", "duration_ns", "targets", "outcome", "apply", "undo"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
}

/// A master declared `start: false` never ran, so the heal after the fault
/// window does not start it: its replica's link can never come up.
const NEVER_HEALS: &str = r#"name: never-heals
topology:
  nodes:
    - {name: "6379", kind: redis, port: 6379, start: false}
    - {name: "6380", kind: redis, port: 6380, config: "port 6380\nreplicaof 127.0.0.1 6379\n"}
    - {name: "6381", kind: redis, port: 6381}
nemesis:
  faults: [pause, kill]
  interval: 2s
  duration: 500ms..2s
  window: {start: 1s, end: 10s}
steps:
  - liveness: {within: 5s, master-link: {node: "6380", is: up}}
"#;

#[test]
fn an_impossible_heal_is_a_liveness_failure_and_a_bad_nemesis_exits_2() {
    let dir = workdir("nemesis-liveness");
    let file = dir.join("never-heals.yaml");
    std::fs::write(&file, NEVER_HEALS).unwrap();
    let (code, stdout, _) = chaoslab(&["run", file.to_str().unwrap(), "--out", "run", "--report", "none"], &dir);
    assert_eq!(code, 3, "exit 3 is liveness:\n{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/report.json")).unwrap()).unwrap();
    assert_eq!(report["failure_kind"], "liveness");
    let failure = report["failure"].as_str().unwrap();
    assert!(failure.contains("liveness: after the heal, timed out after 5s waiting for"), "{failure}");

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, NEVER_HEALS.replace("[pause, kill]", "[pause, {kind: kill, targets: primaries}]")).unwrap();
    let (code, _, stderr) = chaoslab(&["check", bad.to_str().unwrap()], &dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: unknown target `primaries`"), "{stderr}");
    assert!(stderr.contains("bad.yaml:8:41"), "{stderr}");
}
