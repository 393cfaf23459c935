//! `chaoslab explore` and `chaoslab merge` end to end: a seed's hash alone, in
//! a batch and under any `--jobs`; a seed-dependent failure found with its
//! reproduce line and rerun with full output; shards merged, and mismatched
//! shards refused.

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

/// SPOP draws from the seeded random source: the expectation holds on some seeds only.
const SPOP: &str = include_str!("support/spop.yaml");

fn explore_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("explore.json")).unwrap()).unwrap()
}

fn hashes(report: &serde_json::Value) -> Vec<(u64, String)> {
    let results = report["results"].as_array().unwrap();
    results.iter().map(|r| (r["seed"].as_u64().unwrap(), r["trace_hash"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn a_seed_hashes_the_same_alone_in_a_batch_and_under_any_jobs() {
    let dir = workdir("explore-same");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (_, out, err) = chaoslab(&["explore", "s.yaml", "--seeds", "1..=12", "--jobs", "1", "--out", "j1"], &dir);
    let one = explore_json(&dir.join("j1"));
    chaoslab(&["explore", "s.yaml", "--seeds", "1..=12", "--jobs", "2", "--out", "j2"], &dir);
    let two = explore_json(&dir.join("j2"));
    assert_eq!(hashes(&one).len(), 12, "{out}{err}");
    assert_eq!(one["results"], two["results"], "--jobs 1 and --jobs 2 give the same results");
    let (seed, hash) = hashes(&one)[6].clone();
    let (_, run_out, _) = chaoslab(&["--json", "run", "s.yaml", "--seed", &seed.to_string(), "--out", "alone"], &dir);
    let alone: serde_json::Value = serde_json::from_str(&run_out).unwrap();
    assert_eq!(alone["trace_hash"].as_str().unwrap(), hash, "seed {seed} alone");
    chaoslab(&["explore", "s.yaml", "--seeds", &format!("{seed}..={seed}"), "--out", "single"], &dir);
    assert_eq!(hashes(&explore_json(&dir.join("single"))), [(seed, hash)]);
}

#[test]
fn failing_seeds_are_listed_with_their_reproduce_line_and_rerun_with_full_output() {
    let dir = workdir("explore-fail");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (code, out, err) =
        chaoslab(&["explore", "s.yaml", "--seeds", "1..21", "--jobs", "2", "--check-determinism", "--out", "x"], &dir);
    assert_eq!(code, 1, "some seed fails: {out}{err}");
    let report = explore_json(&dir.join("x"));
    let failing: Vec<&serde_json::Value> =
        report["results"].as_array().unwrap().iter().filter(|r| r["verdict"] == "fail").collect();
    let passing = 20 - failing.len();
    assert!(!failing.is_empty() && passing > 0, "SPOP gives \"a\" on some seeds only: {out}");
    assert_eq!(report["failures"], failing.len() as u64);
    assert_eq!(report["determinism_mismatches"], serde_json::json!([]));
    assert!(!report["determinism_checked"].as_array().unwrap().is_empty());
    let seed = failing[0]["seed"].as_u64().unwrap();
    let text = failing[0]["failure"].as_str().unwrap();
    assert!(text.contains("`spop s` replied"), "{text}");
    let file = std::fs::canonicalize(dir.join("s.yaml")).unwrap();
    let reproduce = format!("  reproduce: chaoslab run {} --seed {seed}\n", file.display());
    assert!(out.contains(&format!("seed {seed} (check): {text}\n{reproduce}")), "{out}");
    let rerun: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("x/seed-{seed}/report.json"))).unwrap())
            .unwrap();
    assert_eq!(rerun["result"], "fail");
    assert_eq!(rerun["trace_hash"], failing[0]["trace_hash"]);
    assert!(dir.join(format!("x/seed-{seed}/trace.jsonl")).exists());
    let (run_code, _, _) = chaoslab(&["-q", "run", "s.yaml", "--seed", &seed.to_string()], &dir);
    assert_eq!(run_code, 1, "the reproduce line fails the same way");
}

#[test]
fn shards_merge_into_the_unsharded_run_and_mismatched_shards_are_refused() {
    let dir = workdir("explore-merge");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    chaoslab(&["explore", "s.yaml", "--seeds", "1..11", "--out", "all"], &dir);
    for i in 0..3 {
        let shard = format!("{i}/3");
        chaoslab(&["explore", "s.yaml", "--seeds", "1..11", "--shard", &shard, "--out", &format!("s{i}")], &dir);
    }
    let (code, out, err) = chaoslab(&["merge", "s0", "s1", "s2", "--out", "merged"], &dir);
    let all = explore_json(&dir.join("all"));
    let merged = explore_json(&dir.join("merged"));
    assert_eq!(code, all["failures"].as_u64().map_or(0, |f| i32::from(f > 0)), "{out}{err}");
    assert_eq!(merged["results"], all["results"], "the shards together are the unsharded run");
    assert_eq!(merged["shards"].as_array().unwrap().len(), 3);

    std::fs::write(dir.join("t.yaml"), SPOP.replace("sadd s a b c d", "sadd s a b c e")).unwrap();
    chaoslab(&["explore", "t.yaml", "--seeds", "1..11", "--shard", "1/3", "--out", "other"], &dir);
    let (code, _, err) = chaoslab(&["merge", "s0", "other"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot merge") && err.contains("scenario hash"), "{err}");
}

#[test]
fn bad_seed_ranges_and_shards_exit_2_with_a_hint() {
    let dir = workdir("explore-bad");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    for (args, said) in [
        (vec!["--seeds", "5..5"], "the range is empty"),
        (vec!["--seeds", "1..9", "--shard", "3/2"], "I must be below N"),
        (vec!["--count", "0"], "bad --count 0"),
        (vec!["--seeds", "1..9", "--jobs", "0"], "invalid value '0' for '--jobs"),
        (vec!["--seeds", "1..9", "--count", "2"], "cannot be used with"),
    ] {
        let mut all = vec!["explore", "s.yaml"];
        all.extend(args);
        let (code, _, err) = chaoslab(&all, &dir);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(err.contains(said), "{all:?}: {err}");
    }
    let (code, _, err) = chaoslab(&["explore", "s.yaml", "--seeds", "1..9", "--shard", "env"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("JOB_COMPLETION_INDEX is not set"), "{err}");
    let indexed = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["-q", "explore", "s.yaml", "--seeds", "1..9", "--shard", "env", "--out", "k"])
        .env("JOB_COMPLETION_INDEX", "2")
        .env("JOB_COMPLETIONS", "4")
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(matches!(indexed.code(), Some(0 | 1)), "{indexed:?}");
    let shard = explore_json(&dir.join("k"));
    assert_eq!(shard["shards"], serde_json::json!([{"index": 2, "count": 4}]));
    assert_eq!(hashes(&shard).iter().map(|(s, _)| *s).collect::<Vec<_>>(), [3, 7]);
    let (code, _, err) = chaoslab(&["merge", "nowhere"], &dir);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn count_draws_random_seeds_prints_and_records_them() {
    let dir = workdir("explore-count");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (_, out, err) = chaoslab(&["explore", "s.yaml", "--count", "3", "--jobs", "2", "--out", "c"], &dir);
    let report = explore_json(&dir.join("c"));
    let seeds: Vec<String> = hashes(&report).iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(seeds.len(), 3, "{out}{err}");
    assert!(out.contains("drew 3 seeds from the OS:"), "{out}");
    for seed in &seeds {
        assert!(out.lines().next().unwrap().contains(seed.as_str()), "printed: {out}");
    }
    assert_eq!(report["seeds"], "--count 3");
}

#[test]
fn rerun_limit_bounds_the_failing_seeds_written_in_full() {
    let dir = workdir("explore-limit");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (code, out, err) =
        chaoslab(&["explore", "s.yaml", "--seeds", "1..21", "--rerun-limit", "1", "--out", "l"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    let report = explore_json(&dir.join("l"));
    let first_failing = report["results"].as_array().unwrap().iter().find(|r| r["verdict"] == "fail").unwrap();
    assert_eq!(report["rerun"], serde_json::json!([first_failing["seed"]]));
    let dirs: Vec<String> = std::fs::read_dir(dir.join("l"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seed-"))
        .collect();
    assert_eq!(dirs, [format!("seed-{}", first_failing["seed"])], "{out}");
}

#[test]
fn an_earlier_exploration_s_files_are_replaced_and_a_stranger_s_refused() {
    let dir = workdir("explore-dir");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (code, out, err) =
        chaoslab(&["explore", "s.yaml", "--seeds", "1..21", "--rerun-limit", "3", "--out", "d"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    let seed_dirs = |d: &Path| std::fs::read_dir(d).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count();
    assert_eq!(seed_dirs(&dir.join("d")), 3);
    let (code, _, _) = chaoslab(&["explore", "s.yaml", "--seeds", "1..21", "--rerun-limit", "1", "--out", "d"], &dir);
    assert_eq!(code, 1);
    assert_eq!(seed_dirs(&dir.join("d")), 1, "the earlier exploration's seed directories are gone");
    std::fs::write(dir.join("d/notes.txt"), "mine").unwrap();
    let (code, _, err) = chaoslab(&["explore", "s.yaml", "--seeds", "1..3", "--out", "d"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    assert!(dir.join("d/notes.txt").exists());
}

#[test]
fn a_liveness_failure_is_recorded_as_liveness_not_as_a_check() {
    let dir = workdir("explore-liveness");
    let never = SPOP.replace("Ready to accept connections", "a line Redis never logs");
    std::fs::write(dir.join("s.yaml"), never).unwrap();
    let (code, out, err) = chaoslab(&["explore", "s.yaml", "--seeds", "1..3", "--out", "v"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    let report = explore_json(&dir.join("v"));
    assert_eq!(report["failures"], 2);
    for r in report["results"].as_array().unwrap() {
        assert_eq!(r["failure_kind"], "liveness", "{r}");
    }
    assert!(out.contains("seed 1 (liveness): "), "{out}");
}

#[test]
fn a_time_budget_stops_starting_seeds_and_says_how_many_ran() {
    let dir = workdir("explore-budget");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (code, out, err) =
        chaoslab(&["explore", "s.yaml", "--seeds", "1..100001", "--time-budget", "1s", "--out", "b"], &dir);
    assert_eq!(code, 1, "a budget cut is no failure of its own; some SPOP seed fails: {out}{err}");
    let report = explore_json(&dir.join("b"));
    let ran = report["seeds_run"].as_u64().unwrap();
    assert!(ran > 0 && ran < 100_000, "{ran} seeds in one wall second: {out}");
    assert_eq!((report["cut"].as_str(), report["seeds_planned"].as_u64()), (Some("time-budget"), Some(100_000)));
    assert_eq!(report["time_budget_secs"], 1.0);
    let seeds: Vec<u64> = hashes(&report).iter().map(|(s, _)| *s).collect();
    assert_eq!(seeds, (1..=ran).collect::<Vec<_>>(), "one job takes the seeds in order until the budget is spent");
    assert!(out.contains(&format!("the time budget (1s) cut the run: {ran} of 100000 seeds ran\n")), "{out}");

    let (code, out, _) = chaoslab(&["explore", "s.yaml", "--seeds", "1..6", "--time-budget", "1h", "--out", "h"], &dir);
    let report = explore_json(&dir.join("h"));
    assert_eq!((report["cut"].clone(), report["seeds_planned"].as_u64()), (serde_json::Value::Null, Some(5)));
    assert!(!out.contains("cut the run") && matches!(code, 0 | 1), "{out}");
    let (code, _, err) = chaoslab(&["explore", "s.yaml", "--seeds", "1..6", "--time-budget", "0s"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad --time-budget 0"), "{err}");
}

#[test]
fn a_rerun_failing_seed_gets_a_replay_line_that_replays_it_and_so_does_a_merge() {
    let dir = workdir("explore-replay");
    std::fs::write(dir.join("s.yaml"), SPOP).unwrap();
    let (code, out, err) = chaoslab(
        &["explore", "s.yaml", "--seeds", "1..11", "--shard", "0/2", "--rerun-limit", "1", "--out", "a"],
        &dir,
    );
    assert_eq!(code, 1, "{out}{err}");
    chaoslab(&["explore", "s.yaml", "--seeds", "1..11", "--shard", "1/2", "--rerun-limit", "1", "--out", "b"], &dir);
    let report = explore_json(&dir.join("a"));
    let rerun = report["rerun"][0].as_u64().unwrap();
    let line = format!("  replay:    chaoslab replay a/seed-{rerun}/report.json\n");
    assert!(out.contains(&line), "{out}");
    let other = report["results"].as_array().unwrap().iter().filter(|r| r["verdict"] == "fail").nth(1).unwrap();
    let not_rerun = other["seed"].as_u64().unwrap();
    assert!(!out.contains(&format!("seed-{not_rerun}/")), "a seed not rerun has no replay line: {out}");
    let (code, out, err) = chaoslab(&["replay", &format!("a/seed-{rerun}/report.json")], &dir);
    assert_eq!(code, 0, "the replay line replays the seed: {out}{err}");
    assert!(out.starts_with(&format!("replay OK: spop-luck seed {rerun}")), "{out}");
    let (_, out, _) = chaoslab(&["merge", "a", "b"], &dir);
    assert!(out.contains(&line), "the merge points into the shard's directory: {out}");
    let b_rerun = explore_json(&dir.join("b"))["rerun"][0].as_u64().unwrap();
    assert!(out.contains(&format!("  replay:    chaoslab replay b/seed-{b_rerun}/report.json\n")), "{out}");
}
