//! The `chaoslab` binary end to end: exit codes, rendered diagnostics, report
//! files and replay. Scenarios here use no node kind, so they test the command
//! and the runner's plumbing, not a protocol.

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

/// A fresh directory under the target dir (no temp-dir crate needed).
fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const TIMELINE: &str = "name: timeline
description: time passes; nothing else happens
seed: 7
topology:
  nodes: []
steps:
  - sleep: 1500ms
  - {at: 10s, sleep: 1s}
";

#[test]
fn run_writes_the_report_and_prints_how_to_reproduce() {
    let dir = workdir("run");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, out, err) = chaoslab(&["run", "s.yaml"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("PASS timeline (seed 7)\n"), "{out}");
    assert!(out.ends_with("reproduce: chaoslab run s.yaml --seed 7\n"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reports/timeline/report.json")).unwrap()).unwrap();
    assert_eq!(report["result"], "pass");
    assert_eq!(report["seed"], 7);
    assert_eq!(report["virtual_time_ns"], 11_000_000_000u64);
    assert_eq!(report["steps"][1]["started_ns"], 10_000_000_000u64);
    let trace = std::fs::read_to_string(dir.join("reports/timeline/trace.jsonl")).unwrap();
    assert_eq!(trace.lines().count(), 2, "one record per step: {trace}");
    assert!(trace.starts_with(r##"{"t_ns":0,"ev":"step","text":"#1 line 7: sleep: 1500ms"}"##), "{trace}");
}

#[test]
fn replay_verifies_the_trace_hash_and_refuses_an_edited_scenario() {
    let dir = workdir("replay");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, ..) = chaoslab(&["run", "s.yaml", "--seed", "9", "--out", "out"], &dir);
    assert_eq!(code, 0);
    let (code, out, _) = chaoslab(&["replay", "out/report.json"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("replay OK: timeline seed 9: trace hash "), "{out}");

    std::fs::write(dir.join("s.yaml"), TIMELINE.replace("1500ms", "1600ms")).unwrap();
    let (code, _, err) = chaoslab(&["replay", "out/report.json"], &dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: s.yaml changed since the recorded run"), "{err}");

    let (code, _, err) = chaoslab(&["replay", "s.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: s.yaml: not a chaoslab report"), "{err}");
}

#[test]
fn bad_scenarios_exit_2_with_every_error_located() {
    let dir = workdir("bad");
    std::fs::write(dir.join("bad.yaml"), "name: bad\ntopology:\n  nodes: []\nsteps:\n  - sleep: 5\n  - kil: x\n")
        .unwrap();
    let (code, out, err) = chaoslab(&["check", "bad.yaml"], &dir);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        err,
        "error: invalid duration `5` for sleep
 --> bad.yaml:5:12
  |
5 |   - sleep: 5
  |            ^
  = hint: add a unit: 500ms, 15s, 2m

error: unknown step `kil`
 --> bad.yaml:6:5
  |
6 |   - kil: x
  |     ^^^ unknown step
  = hint: did you mean `kill`?

bad.yaml: 2 errors
"
    );
}

#[test]
fn yaml_syntax_errors_and_missing_files_exit_2() {
    let dir = workdir("syntax");
    std::fs::write(dir.join("broken.yaml"), "name: x\nsteps:\n  - kill: [\n").unwrap();
    let (code, _, err) = chaoslab(&["run", "broken.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.contains(" --> broken.yaml:3:11\n"), "{err}");
    let (code, _, err) = chaoslab(&["run", "missing.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: cannot read missing.yaml: "), "{err}");
    let (code, ..) = chaoslab(&["run", "--seed", "x", "broken.yaml"], &dir);
    assert_eq!(code, 2, "a usage error");
}

#[test]
fn semantic_errors_inside_conditions_are_caught_by_check() {
    let dir = workdir("fail");
    std::fs::write(
        dir.join("f.yaml"),
        "name: fail\ntopology:\n  nodes: []\nfaults:\n  - {at: 1s, heal: }\nsteps:\n  - wait-until: {not: {all: []}, within: 1s}\n",
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["check", "f.yaml"], &dir);
    assert_eq!(code, 2, "`all: []` is rejected: {err}");
    assert!(err.contains("error: `all` needs at least one condition"), "{err}");
}

#[test]
fn schema_is_json_with_the_builtin_steps() {
    let (code, out, _) = chaoslab(&["schema"], Path::new("."));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "chaoslab scenario");
    let steps: Vec<String> = schema["$defs"]["step"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["required"][0].as_str().unwrap().to_owned())
        .collect();
    for expected in ["sleep", "wait-until", "kill", "partition", "clock"] {
        assert!(steps.iter().any(|s| s == expected), "{expected} missing from {steps:?}");
    }
}

#[test]
fn a_month_of_idle_virtual_time_is_instant() {
    let dir = workdir("month");
    std::fs::write(dir.join("m.yaml"), "name: month\ntopology:\n  nodes: []\nsteps:\n  - sleep: 30d\n").unwrap();
    let (code, out, _) = chaoslab(&["run", "m.yaml"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2592000.000s virtual"), "{out}");
}

/// One Redis node and one step whose failure has a known kind.
fn one_node(step: &str) -> String {
    format!(
        "name: kinds\nseed: 3\ntopology:\n  nodes:\n    - {{name: \"6379\", kind: redis, port: 6379, config: \"port 6379\"}}\nsteps:\n  - sleep: 1s\n  - {step}\n"
    )
}

#[test]
fn exit_codes_tell_a_failed_check_from_a_liveness_failure() {
    let dir = workdir("kinds");
    let cases = [
        (r#"redis-cli: {node: "6379", command: "ping", expect: "PANG"}"#, 1, "check"),
        (r#"assert: {role: {node: "6379", is: slave}}"#, 1, "check"),
        (r#"wait-until: {role: {node: "6379", is: slave}, within: 2s}"#, 3, "liveness"),
        (r#"redis-cli: {node: "6379", command: "ping", expect: "PONG"}"#, 0, ""),
    ];
    for (i, (step, want, kind)) in cases.into_iter().enumerate() {
        let file = format!("k{i}.yaml");
        std::fs::write(dir.join(&file), one_node(step)).unwrap();
        let (code, out, err) = chaoslab(&["run", &file, "--out", &format!("out{i}")], &dir);
        assert_eq!(code, want, "{step}:\n{out}{err}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("out{i}/report.json"))).unwrap()).unwrap();
        match kind {
            "" => assert!(report.get("failure_kind").is_none(), "{report}"),
            kind => assert_eq!(report["failure_kind"], kind, "{step}"),
        }
    }
}
