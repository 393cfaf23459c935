//! `junit.xml`: the run as a JUnit test suite, for CI systems that show test
//! results. One test case per step and per invariant; a failure carries the
//! diagnostic and the command that reproduces the run. Times are virtual (the
//! same on every machine); written with `quick-junit`, not by hand.

use crate::{Outcome, RunReport};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The text of `junit.xml`.
pub fn junit(r: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new(r.scenario.name.as_str());
    suite.set_time(Duration::from_nanos(r.virtual_time_ns));
    suite.add_property(("seed", r.seed.to_string().as_str()));
    suite.add_property(("trace_hash", r.trace_hash.as_str()));
    for s in &r.steps {
        let status = status(s.outcome, &s.detail, r);
        let mut case = TestCase::new(format!("step {} (line {}): {}", s.index, s.line, s.text), status);
        case.set_classname(format!("{}.steps", r.scenario.name));
        case.set_time(Duration::from_nanos(s.finished_ns.saturating_sub(s.started_ns)));
        suite.add_test_case(case);
    }
    for c in &r.checks {
        let status = status(c.outcome, &c.detail, r);
        let mut case = TestCase::new(format!("invariant (line {}): {}", c.line, c.description), status);
        case.set_classname(format!("{}.invariants", r.scenario.name));
        suite.add_test_case(case);
    }
    let mut report = Report::new("chaoslab");
    report.add_test_suite(suite);
    report.to_string()
}

fn status(outcome: Outcome, detail: &str, r: &RunReport) -> TestCaseStatus {
    match outcome {
        Outcome::Pass => TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("not run: an earlier step failed");
            s
        }
        Outcome::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(crate::markdown::shorten(detail, 300));
            if let Some(kind) = r.failure_kind {
                s.set_type(crate::markdown::kind_name(kind));
            }
            s.set_description(format!("{detail}\n\nreproduce: {}", r.reproduce));
            s
        }
    }
}
