//! `chaoslab history check|export` end to end, on the shipped example
//! histories (examples/histories/) and on broken files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chaoslab(args: &[&str]) -> (i32, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_chaoslab")).args(args).current_dir(root).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history-cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn the_valid_example_passes_every_checker() {
    let (code, out, err) = chaoslab(&["history", "check", "examples/histories/valid.jsonl"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("22 ops (19 ok, 1 fail, 2 info)"), "{out}");
    assert!(out.contains("linearizable-registers   VALID    keys=2 keys-valid=2"), "{out}");
    assert!(out.trim_end().ends_with("verdict: VALID"), "{out}");
    // 14 ok ops took 2 ms, two 3 ms, two 4 ms, one 15 ms; the info write is told in second 1.
    assert!(out.contains("ok latency: p50 2.000ms p95 15.000ms p99 15.000ms max 15.000ms (19 ops)"), "{out}");
    assert!(out.contains("4 seconds, the worst second 1: 1 ok, 0 fail, 1 info"), "{out}");
}

#[test]
fn the_lost_writes_example_lists_each_lost_write_with_its_fault() {
    let (code, out, err) = chaoslab(&["history", "check", "examples/histories/lost-writes.jsonl"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("acked-write-loss         INVALID  acked=14 lost=6"), "{out}");
    assert!(out.contains(r#"add "c" acknowledged on key "s" is missing from the final read"#), "{out}");
    assert!(out.contains("during: partition 6379 client-0 client-1 | 6380 6381 sentinels"), "{out}");
    assert!(out.contains(r#"counter "hits" reads 2 at the end but 4 increments"#), "{out}");
}

#[test]
fn the_non_linearizable_example_fails_in_both_forms_with_the_same_evidence() {
    let (code, jsonl, err) = chaoslab(&["history", "check", "examples/histories/not-linearizable.jsonl", "--json"]);
    assert_eq!(code, 1, "{jsonl}{err}");
    let (code, edn, err) = chaoslab(&["history", "check", "examples/histories/not-linearizable.edn", "--json"]);
    assert_eq!(code, 1, "{edn}{err}");
    let a: serde_json::Value = serde_json::from_str(&jsonl).unwrap();
    let b: serde_json::Value = serde_json::from_str(&edn).unwrap();
    assert_eq!(a["checkers"], b["checkers"]);
    assert_eq!(b["format"], "edn");
    let linear = &a["checkers"][1];
    assert_eq!(
        (linear["checker"].as_str(), linear["verdict"].as_str()),
        (Some("linearizable-registers"), Some("invalid"))
    );
    // The write of 2 cannot take effect while 1, written once, is still to be read (stale) later.
    assert_eq!(linear["evidence"][0]["ops"][0], r#"#6 p1 write "x" 2 -> ok [0.300s..0.305s]"#);
    assert_eq!(linear["evidence"][0]["ops"][1], r#"#10 p0 read "x" -> ok 1 [0.600s..0.603s]"#);
    assert_eq!(a["checkers"][0]["verdict"], "valid", "nothing is lost at the end");
}

#[test]
fn an_exhausted_budget_exits_5_and_says_unknown() {
    let (code, out, err) = chaoslab(&["history", "check", "examples/histories/valid.jsonl", "--budget-steps", "8"]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(out.contains("linearizable-registers   UNKNOWN  keys=2 keys-unknown=1 keys-valid=1"), "{out}");
    assert!(out.contains("verdict: UNKNOWN"), "{out}");
    // The stale read is still caught without the search.
    let (code, out, err) =
        chaoslab(&["history", "check", "examples/histories/not-linearizable.jsonl", "--budget-steps", "4"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("linearizable-registers   UNKNOWN"), "{out}");
    assert!(out.contains("register-reads           INVALID  keys=2 reads=4 stale-reads=1"), "{out}");
    let (code, out, err) = chaoslab(&["history", "check", "examples/histories/valid.jsonl", "--time-budget", "2s"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("search budget"), "{out}");
}

#[test]
fn export_writes_edn_that_checks_the_same() {
    let edn = scratch("lost.edn");
    let (code, out, err) =
        chaoslab(&["history", "export", "examples/histories/lost-writes.jsonl", "--out", edn.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&edn).unwrap();
    assert!(
        text.starts_with("{:type :invoke, :f :add, :value [\"s\" \"a\"], :process 0, :time 100000000, :index 0}"),
        "{text}"
    );
    assert!(text.contains(":f :txn, :value [[:append \"log\" 1]]"), "{text}");
    let (_, from_jsonl, _) = chaoslab(&["history", "check", "examples/histories/lost-writes.jsonl", "--json"]);
    let (code, from_edn, _) = chaoslab(&["history", "check", edn.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let a: serde_json::Value = serde_json::from_str(&from_jsonl).unwrap();
    let b: serde_json::Value = serde_json::from_str(&from_edn).unwrap();
    assert_eq!(a["checkers"], b["checkers"]);
}

#[test]
fn broken_histories_exit_2_naming_the_line() {
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/histories/valid.jsonl"))
            .unwrap();
    let truncated = scratch("truncated.jsonl");
    std::fs::write(&truncated, &original[..original.len() - 30]).unwrap();
    let (code, _, err) = chaoslab(&["history", "check", truncated.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("truncated.jsonl: line 44, column"), "{err}");
    let (code, _, err) = chaoslab(&["history", "export", truncated.to_str().unwrap()]);
    assert_eq!((code, err.contains("line 44")), (2, true), "{err}");
    let unpaired = scratch("unpaired.jsonl");
    std::fs::write(&unpaired, r#"{"type":"ok","process":1,"f":"write","key":"k","value":1,"time":5}"#).unwrap();
    let (code, _, err) = chaoslab(&["history", "check", unpaired.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a history: event 0: Ok by process 1, which has no operation outstanding"), "{err}");
    let edn = scratch("bad.edn");
    std::fs::write(&edn, "{:type :invoke, :f :read, :value [1 nil], :process 0}\n{:type :ok, :f :read").unwrap();
    let (code, _, err) = chaoslab(&["history", "check", edn.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.edn: line 2, column 1: unclosed collection"), "{err}");
}
