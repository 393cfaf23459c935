//! `nemesis:` and the `liveness` step: the schedule a seed draws, what the
//! report says of it, the liveness phase, and the bad input they refuse.

use super::*;
use crate::nemesis::{FaultKind, NemesisSpec};

/// The probe topology with a `nemesis:` body and the steps after it.
fn with_nemesis(nemesis: &str, steps: &str) -> String {
    format!("name: t\nseed: 5\n{TOPOLOGY}nemesis:\n{nemesis}steps:\n{steps}")
}

const KILLS_AND_PARTITIONS: &str = "  faults: [kill, pause, isolate, {kind: latency, targets: any}, clock-jump]
  interval: 2s
  duration: 500ms..3s
  window: {start: 1s, end: 20s}
  limits: {active: 1}
";

const LIVENESS: &str = "  - liveness: {within: 10s, probe-linked: \"7002\"}\n";

fn spec(source: &str) -> NemesisSpec {
    let registry = registry();
    let s =
        crate::parse_scenario("s.yaml", source, &registry).unwrap_or_else(|d| panic!("{}", d.render("s.yaml", source)));
    s.nemesis.expect("a nemesis")
}

#[test]
fn the_same_seed_draws_the_same_schedule_and_other_seeds_other_ones() {
    let spec = spec(&with_nemesis(KILLS_AND_PARTITIONS, LIVENESS));
    let schedules: Vec<_> = (0..20u64).map(|seed| crate::nemesis::draw(&spec, seed)).collect();
    for (seed, schedule) in schedules.iter().enumerate() {
        assert_eq!(&crate::nemesis::draw(&spec, seed as u64), schedule, "seed {seed}");
        assert!(!schedule.is_empty(), "seed {seed} drew nothing in a 19s window with a 2s mean interval");
        for d in schedule {
            assert!(d.at >= Duration::from_secs(1) && d.at + d.duration <= Duration::from_secs(20), "{d:?}");
        }
    }
    let distinct: std::collections::BTreeSet<String> = schedules.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(distinct.len(), schedules.len(), "every seed draws its own schedule");
}

#[test]
fn a_run_records_the_drawn_schedule_and_replays_it_with_the_same_trace() {
    let source = with_nemesis(KILLS_AND_PARTITIONS, LIVENESS);
    let (a, b) = (run_with_seed(&source, Some(7)).0, run_with_seed(&source, Some(7)).0);
    assert_eq!(a.result, Verdict::Pass, "{:?}", a.failure);
    assert_eq!(a.nemesis, b.nemesis);
    assert_eq!(a.trace_hash, b.trace_hash);
    let applied: Vec<_> = a.nemesis.iter().filter(|f| f.outcome == "applied").collect();
    assert!(!applied.is_empty(), "{:#?}", a.nemesis);
    for f in &applied {
        assert!(!f.targets.is_empty() && !f.apply.is_empty(), "{f:?}");
        assert_eq!(f.undo.is_empty(), f.duration_ns == 0, "{f:?}");
    }
    // `active: 1`: a fault that comes while another is in force is skipped, and says why.
    let skipped = a.nemesis.iter().filter(|f| f.outcome.starts_with("skipped: ")).count();
    let other = run_with_seed(&source, Some(8)).0;
    assert_ne!(a.nemesis, other.nemesis);
    assert!(skipped + applied.len() == a.nemesis.len());
}

#[test]
fn swarm_draws_a_subset_of_the_kinds_per_seed() {
    let source = with_nemesis(&format!("{KILLS_AND_PARTITIONS}  swarm: true\n"), LIVENESS);
    let spec = spec(&source);
    let mut mixes = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let kinds: std::collections::BTreeSet<FaultKind> =
            crate::nemesis::draw(&spec, seed).iter().map(|d| d.kind).collect();
        assert_eq!(crate::nemesis::draw(&spec, seed), crate::nemesis::draw(&spec, seed));
        mixes.insert(format!("{kinds:?}"));
    }
    assert!(mixes.len() >= 5, "30 seeds drew only {} fault mixes: {mixes:?}", mixes.len());
}

#[test]
fn the_liveness_step_heals_what_the_faults_left_down() {
    let source = format!(
        "name: t\nseed: 5\n{TOPOLOGY}faults:\n  - {{at: 1s, kill: \"7001\"}}\n  - {{at: 1s, partition: [[\"7001\"]]}}\nsteps:\n  - sleep: 2s\n  - liveness: {{within: 5s, state: {{node: \"7001\", is: running}}, probe-linked: \"7002\"}}\n"
    );
    let report = run(&source);
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    let detail = &report.steps[1].detail;
    assert!(detail.starts_with("healed (partitions removed, 7001 started); converged after "), "{detail}");
}

#[test]
fn a_convergence_that_never_comes_is_a_liveness_failure_not_a_safety_one() {
    let source = with_nemesis(
        KILLS_AND_PARTITIONS,
        "  - liveness: {within: 3s, log: {node: \"7001\", matches: \"never printed\"}}\n",
    );
    let report = run(&source);
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.failure_kind, Some(report::FailureKind::Liveness));
    let failure = report.failure.expect("a failure");
    assert!(failure.contains("liveness: after the heal, timed out after 3s waiting for log of 7001"), "{failure}");
    // It waited for the end of the fault window (20s), then 3s.
    assert_eq!(report.virtual_time_ns, 23_000_000_000);
    assert!(report.nodes.iter().all(|n| n.state == "running"), "{:?}", report.nodes);
}

#[test]
fn bad_nemesis_input_is_pointed_at_with_a_hint() {
    let source = with_nemesis(
        "  faults: [kil, {kind: kill, targets: master}, {kind: pause, targets: dc9}]
  duration: 10s..1s
  window: {start: 30s, end: 10s}
  limits: {active: 0}
  groups: {masters: [\"7001\"], dc1: [\"7009\"]}
",
        LIVENESS,
    );
    let text = errors(&source);
    for expected in [
        "s.yaml:13:12\n",
        "error: unknown fault kind `kil`",
        "= hint: did you mean `kill`?",
        "error: unknown target `master`",
        "= hint: did you mean `masters`? targets are `masters`, `replicas`, `sentinels`, `any` or a group named under `groups:`",
        "error: unknown target `dc9`",
        "error: nemesis.duration `10s..1s` is an empty range",
        "= hint: write a range as `MIN..MAX`, e.g. `1s..10s`",
        "error: the fault window is empty: it ends at 10s and starts at 30s",
        "error: `active: 0` lets no fault fire",
        "error: group `masters` would hide the role target of that name",
        "error: unknown node `7009` in group member",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn masters_down_zero_with_only_master_faults_is_impossible() {
    let text = errors(&with_nemesis(
        "  faults: [{kind: kill, targets: masters}, {kind: pause, targets: masters}]\n  limits: {masters-down: 0}\n",
        LIVENESS,
    ));
    assert!(
        text.contains("error: `masters-down: 0` lets none of these faults fire: each takes a master down"),
        "{text}"
    );
    assert!(text.contains("= hint: raise it to 1, or add faults on other targets"), "{text}");
}

#[test]
fn a_nemesis_without_faults_and_a_liveness_without_within_are_refused() {
    let text = errors(&with_nemesis("  faults: []\n", "  - liveness: {probe-linked: \"7002\"}\n"));
    assert!(text.contains("error: a nemesis needs at least one fault kind"), "{text}");
    assert!(text.contains("error: `liveness` needs `within`"), "{text}");
}
