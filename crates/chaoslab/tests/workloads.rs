//! `workloads:` through the binary: the schema shows them; a run writes
//! history.jsonl beside report.json, `history check` reaches the run's
//! verdicts on it, and a checker's unexpected `invalid` is exit 1.

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

#[test]
fn the_schema_shows_workloads_and_the_workload_step() {
    let (code, out, _) = chaoslab(&["schema"], Path::new("."));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let w = &schema["properties"]["workloads"]["additionalProperties"]["properties"];
    assert_eq!(w["client"]["enum"], serde_json::json!(["redis", "cluster", "sentinel"]));
    assert_eq!(w["model"]["enum"], serde_json::json!(["register", "counter", "set", "list"]));
    for key in ["keys", "rate", "think", "hosts", "socket-timeout", "retries", "wait", "expect", "quiet"] {
        assert!(w.get(key).is_some(), "{key} missing from {w}");
    }
    let forms = schema["$defs"]["step"]["oneOf"].as_array().unwrap();
    assert!(forms.iter().any(|s| s["required"][0] == "workload"), "the workload step");
}

/// Adds with no persistence, the node killed and started again mid-run:
/// the acknowledged adds are lost.
fn scenario(expect: &str) -> String {
    format!(
        "name: lost-adds
topology:
  hosts: [{{name: a, ip: 10.0.0.1}}, {{name: b, ip: 10.0.0.2}}]
  nodes:
    - {{kind: redis, host: a, port: 6379}}
workloads:
  w:
    client: redis
    node: \"6379\"
    model: set
    hosts: [b]
    clients: 2
    think: 5ms
    socket-timeout: 200ms
{expect}steps:
  - workload: {{start: w}}
  - sleep: 500ms
  - kill: \"6379\"
  - start: \"6379\"
  - sleep: 1s
  - workload: {{stop: w}}
"
    )
}

#[test]
fn a_run_writes_its_history_and_an_unexpected_invalid_is_exit_1() {
    let dir = workdir("workloads");
    std::fs::write(dir.join("bad.yaml"), scenario("")).unwrap();
    let (code, out, _) = chaoslab(&["run", "bad.yaml", "--out", "bad"], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("acked-write-loss invalid (unexpected)"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bad/report.json")).unwrap()).unwrap();
    assert_eq!(report["history"]["file"], "history.jsonl");
    assert_eq!(report["history"]["verdict"], "invalid");
    let lost = report["history"]["checkers"][0]["counts"]["lost"].as_u64().unwrap();
    assert!(lost > 0, "{}", report["history"]);
    // The same history judged from the file: the same verdict and count.
    let (code, out, _) = chaoslab(&["history", "check", "bad/history.jsonl", "--json"], &dir);
    assert_eq!(code, 1, "{out}");
    let check: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(check["checkers"][0]["counts"]["lost"].as_u64(), Some(lost));
    assert!(std::fs::read_to_string(dir.join("bad/summary.md")).unwrap().contains("### Workloads and checkers"));
    // Said to be expected, the same loss passes.
    std::fs::write(dir.join("ok.yaml"), scenario("    expect: {acked-write-loss: invalid}\n")).unwrap();
    let (code, out, _) = chaoslab(&["run", "ok.yaml", "--out", "ok"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("acked-write-loss invalid (expected invalid)"), "{out}");
}
