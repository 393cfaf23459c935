//! Invariants with a `name`, `expect: violated` and `within`: what the
//! report says of their first violation, and the bad input they refuse.

use super::*;

/// The probe topology with `invariants` and timed `faults`, sleeping 5 s.
fn with_invariants(invariants: &str, faults: &str) -> String {
    format!("name: t\nseed: 5\n{TOPOLOGY}invariants:\n{invariants}faults:\n{faults}steps:\n  - sleep: 5s\n")
}

const STOP_AT_1500: &str = "  - {at: 1500ms, stop: \"7001\"}\n";

#[test]
fn an_expected_violation_passes_and_reports_its_time_faults_and_step() {
    let report = run(&with_invariants(
        "  - name: up\n    expect: violated\n    state: {node: \"7001\", is: running}\n",
        STOP_AT_1500,
    ));
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    let c = &report.checks[0];
    assert_eq!(c.outcome, Outcome::Pass);
    assert_eq!((c.name.as_str(), c.expect_violated), ("up", true));
    assert_eq!(c.violated_ns, Some(1_500_000_000));
    assert_eq!(c.detail, "7001 is down");
    assert_eq!(c.faults, vec!["stop 7001".to_owned()]);
    assert_eq!(c.step, "#1: sleep: 5s");
    assert_eq!(c.false_since_ns, None);
}

#[test]
fn an_expected_violation_that_never_comes_fails_the_run() {
    let report = run(&with_invariants(
        "  - name: up\n    expect: violated\n    state: {node: \"7002\", is: running}\n",
        STOP_AT_1500,
    ));
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.checks[0].outcome, Outcome::Fail);
    assert_eq!(report.checks[0].violated_ns, None);
    let failure = report.failure.expect("a failure");
    assert!(failure.starts_with("invariant up (line 13) was expected to be violated but held at all "), "{failure}");
    assert_eq!(report.failure_kind, Some(report::FailureKind::Invariant));
}

#[test]
fn an_unexpected_violation_names_the_invariant_and_stops_the_run() {
    let report = run(&with_invariants("  - name: up\n    state: {node: \"7001\", is: running}\n", STOP_AT_1500));
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.checks[0].outcome, Outcome::Fail);
    assert_eq!(report.checks[0].faults, vec!["stop 7001".to_owned()]);
    assert!(report.checks[0].unexpected_violation());
    let failure = report.failure.expect("a failure");
    assert_eq!(
        failure, "step 1 (line 18: sleep: 5s) failed: invariant up (line 13) broken: 7001 is down",
        "the timed fault that broke it is not the failure"
    );
    assert_eq!(report.failure_kind, Some(report::FailureKind::Invariant));
}

/// Conditions reading their words through `Runtime::shared_words` read
/// them once a moment between them, and judge as the plain condition does.
#[test]
fn conditions_sharing_their_words_read_them_once_a_moment() {
    let faults = "  - {at: 1500ms, stop: \"7001\"}\n  - {at: 2500ms, start: \"7001\"}\n";
    let looks = |condition: &str| {
        let invariant = |name: &str| {
            format!("  - name: {name}\n    expect: violated\n    within: 300ms\n    {condition}: \"7002\"\n")
        };
        let report = run(&with_invariants(&(invariant("a") + &invariant("b")), faults));
        let checks: Vec<_> =
            report.checks.iter().map(|c| (c.outcome, c.violated_ns, c.detail.clone(), c.evaluations)).collect();
        (report.result, checks)
    };
    let plain = looks("probe-linked");
    let count = || crate::tests::SHARED_WORDS.with(|c| c.get());
    let before = count();
    assert_eq!(looks("probe-linked-shared"), plain);
    let (asked, read) = (count().0 - before.0, count().1 - before.1);
    assert!(read > 0 && asked == 2 * read, "the words were read {read} times for {asked} askings by two conditions");
}

/// A condition that tells its inputs is looked at only when they change
/// (release builds; debug builds look anyway and compare), and reports
/// what the same condition without them does: the link's fall, its
/// return and the evaluations, with and without `within`.
#[test]
fn a_condition_telling_its_inputs_breaks_when_one_that_does_not_would() {
    let faults = "  - {at: 1500ms, stop: \"7001\"}\n  - {at: 2500ms, start: \"7001\"}\n";
    for within in ["", "    within: 300ms\n", "    within: 2s\n"] {
        let looks = |condition: &str| {
            let report = run(&with_invariants(
                &format!("  - name: linked\n    expect: violated\n{within}    {condition}: \"7002\"\n"),
                faults,
            ));
            let c = report.checks[0].clone();
            (report.result, c.violated_ns, c.false_since_ns, c.detail, c.faults, c.step, c.evaluations)
        };
        let plain = looks("probe-linked");
        assert_eq!(looks("probe-linked-words"), plain, "within {within:?}");
        assert_eq!(plain.0 == Verdict::Pass, within != "    within: 2s\n", "{plain:?}");
    }
}

/// Debug builds catch a condition whose inputs do not tell a change it sees.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "its inputs did not change, its observation did")]
fn a_condition_whose_inputs_miss_a_change_is_caught_in_debug_builds() {
    // Down at the first look (the link is not up yet), up at a later one.
    run(&with_invariants("  - name: linked\n    within: 1s\n    probe-linked-lying: \"7002\"\n", STOP_AT_1500));
}

#[test]
fn within_forgives_a_false_stretch_shorter_than_it_and_reports_a_longer_one_from_its_start() {
    let faults = "  - {at: 1500ms, stop: \"7001\"}\n  - {at: 2s, start: \"7001\"}\n";
    let forgiving = run(&with_invariants("  - within: 1s\n    state: {node: \"7001\", is: running}\n", faults));
    assert_eq!(forgiving.result, Verdict::Pass, "{:?}", forgiving.failure);
    assert_eq!(forgiving.checks[0].violated_ns, None);
    assert_eq!(forgiving.checks[0].within_ns, Some(1_000_000_000));

    let strict = run(&with_invariants("  - within: 300ms\n    state: {node: \"7001\", is: running}\n", faults));
    assert_eq!(strict.result, Verdict::Fail);
    let c = &strict.checks[0];
    assert_eq!(c.false_since_ns, Some(1_500_000_000));
    assert_eq!(c.violated_ns, Some(1_800_000_000), "polled every 10ms, it fails when 300ms have passed");
    assert_eq!(c.faults, vec!["stop 7001".to_owned()]);
}

#[test]
fn a_within_shorter_than_the_poll_points_at_it_with_a_hint() {
    let source = with_invariants("  - within: 5ms\n    state: {node: \"7001\", is: running}\n", STOP_AT_1500)
        .replace("seed: 5\n", "seed: 5\npoll: 20ms\n");
    assert_eq!(
        errors(&source),
        "error: `within: 5ms` is shorter than the poll (20ms)
  --> s.yaml:14:13
   |
14 |   - within: 5ms
   |             ^^^ shorter than the poll
   = hint: invariants are looked at once per poll: make `within` at least 20ms or set a shorter top-level `poll:`
"
    );
}

#[test]
fn an_unknown_expectation_and_a_misspelt_key_are_diagnostics() {
    let source = with_invariants(
        "  - expect: maybe\n    state: {node: \"7001\", is: running}\n  - nmae: x\n    state: {node: \"7001\", is: running}\n",
        STOP_AT_1500,
    );
    let text = errors(&source);
    assert!(text.contains("error: unknown expectation `maybe` for an invariant"), "{text}");
    assert!(text.contains("= hint: `expect: hold` (the default)"), "{text}");
    assert!(text.contains("error: unknown condition `nmae` in invariant"), "{text}");
    assert!(text.contains("hint: did you mean `name`?"), "{text}");
}

#[test]
fn at_most_one_breaks_when_two_hold_and_names_them() {
    let report = run(&with_invariants(
        "  - name: one-down\n    expect: violated\n    at-most-one:\n      - state: {node: \"7001\", is: down}\n      - state: {node: \"7002\", is: down}\n",
        "  - {at: 1s, stop: \"7001\"}\n  - {at: 2s, stop: \"7002\"}\n",
    ));
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    let c = &report.checks[0];
    assert_eq!(c.description, "at most one of: 7001 is down, 7002 is down");
    assert_eq!(c.violated_ns, Some(2_000_000_000), "one node down at 1s is allowed");
    assert_eq!(c.detail, "2 hold at once: 7001 is down, 7002 is down");
    assert_eq!(c.faults, vec!["stop 7001".to_owned(), "stop 7002".to_owned()]);
}

#[test]
fn at_most_one_of_a_single_condition_is_refused() {
    let source = scenario("  - assert: {at-most-one: [{state: {node: \"7001\", is: down}}]}\n");
    let text = errors(&source);
    assert!(text.contains("error: `at-most-one` needs at least two conditions"), "{text}");
    assert!(text.contains("= hint: list what must not hold together"), "{text}");
}
