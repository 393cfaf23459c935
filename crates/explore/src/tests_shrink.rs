//! What "fails the same way" means to the shrinker, and how it cuts a list.

use super::*;
use serde_json::json;

/// A report with `result`, `failure_kind`, `failure`, the failing step's
/// action, invariants (name, failed) and workload checkers (name, as expected).
fn report(
    kind: Option<&str>,
    failure: Option<&str>,
    step: Option<&str>,
    checks: &[(&str, bool)],
    checkers: &[(&str, bool)],
) -> RunReport {
    let steps: Vec<_> = step
        .iter()
        .map(|a| json!({"index": 1, "line": 9, "action": a, "text": a, "started_ns": 0, "finished_ns": 0, "outcome": "fail", "detail": ""}))
        .collect();
    let checks: Vec<_> = checks
        .iter()
        .map(|(name, failed)| {
            json!({"line": 5, "description": "d", "outcome": if *failed {"fail"} else {"pass"},
            "evaluations": 3, "violated_ns": null, "detail": "", "name": name})
        })
        .collect();
    let checkers: Vec<_> = checkers
        .iter()
        .map(|(name, ok)| json!({"checker": name, "verdict": if *ok {"valid"} else {"invalid"}, "as_expected": ok, "counts": {}}))
        .collect();
    let history = json!({"file": "history.jsonl", "workloads": [], "events": 0, "ops": 0, "ok": 0, "fail": 0, "info": 0,
        "verdict": "invalid", "checkers": checkers});
    serde_json::from_value(json!({
        "format": 1, "chaoslab_version": "0", "seed": 1,
        "scenario": {"name": "s", "file": "s.yaml", "description": "", "source_hash": "0"},
        "result": if kind.is_some() {"fail"} else {"pass"}, "failure": failure, "failure_kind": kind,
        "steps": steps, "checks": checks, "history": history, "nodes": [], "fault_errors": [],
        "events_processed": 1, "virtual_time_ns": 1, "virtual_time": "1s", "wall_time_ms": 0.0,
        "trace_events": 1, "trace_hash": "0", "reproduce": ""
    }))
    .expect("a report")
}

#[test]
fn a_failure_is_its_kind_and_the_check_that_failed() {
    assert_eq!(signature(&report(None, None, None, &[], &[])), None);
    let invariant =
        report(Some("invariant"), Some("invariant up broken"), Some("sleep"), &[("up", true), ("other", false)], &[]);
    assert_eq!(signature(&invariant).unwrap().to_string(), "invariant failure of invariant up");
    let workload = report(
        Some("check"),
        Some("workloads: checker ..."),
        None,
        &[],
        &[("lists", true), ("acked-write-loss", false)],
    );
    assert_eq!(signature(&workload).unwrap().to_string(), "check failure of checker acked-write-loss");
    let liveness = report(Some("liveness"), Some("step 3 ..."), Some("liveness"), &[], &[]);
    assert_eq!(signature(&liveness).unwrap().to_string(), "liveness failure of step `liveness`");
    // The same checker failing under another kind is another failure.
    assert_ne!(
        signature(&workload),
        signature(&report(Some("liveness"), Some("workloads: x"), None, &[], &[("acked-write-loss", false)]))
    );
}

#[test]
fn ddmin_chunks_cover_the_faults_in_order() {
    let fault = |i: u64| Fault {
        at: Duration::from_secs(i),
        duration: Duration::ZERO,
        kind: "kill".into(),
        apply: vec![format!("kill: \"{i}\"")],
        undo: Vec::new(),
    };
    let faults: Vec<Fault> = (0..7).map(fault).collect();
    for n in 1..=7 {
        let chunks = split(&faults, n);
        assert!(chunks.len() <= n, "{n}: {} chunks", chunks.len());
        assert_eq!(chunks.concat(), faults, "{n}");
    }
}
