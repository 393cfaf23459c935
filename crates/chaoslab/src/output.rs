//! How the binary speaks: plain lines for people (coloured verdicts on a
//! terminal unless NO_COLOR is set), one JSON document per command with
//! `--json`, nothing but errors with `--quiet`.

use report::{Outcome, RunReport, Verdict};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Prints a line to stdout; a closed pipe (`chaoslab run ... | head`) is not an
/// error worth a panic, so write errors are ignored.
pub fn line(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// The output conventions chosen on the command line.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// One JSON document on stdout instead of lines.
    pub json: bool,
    /// No stdout at all (errors still go to stderr).
    pub quiet: bool,
    /// ANSI colours on the verdict.
    pub colour: bool,
}

impl Style {
    /// From the flags and the environment: colour only on a terminal, and
    /// never when NO_COLOR is set (https://no-color.org).
    pub fn new(json: bool, quiet: bool) -> Style {
        let colour =
            !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Style { json, quiet, colour }
    }

    /// Whether people-oriented lines are printed.
    pub fn lines(&self) -> bool {
        !self.json && !self.quiet
    }

    /// Prints a JSON document (only with `--json`).
    pub fn document(&self, value: &serde_json::Value) {
        if self.json {
            line(&serde_json::to_string_pretty(value).expect("JSON values serialize"));
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// A failure's sentence, in red if allowed.
    pub fn paint_failure(&self, text: &str) -> String {
        self.paint(text, "31")
    }

    /// `PASS`, `FAIL` or `INTERRUPTED`, coloured if allowed.
    pub fn verdict(&self, v: Verdict) -> String {
        match v {
            Verdict::Pass => self.paint("PASS", "1;32"),
            Verdict::Fail => self.paint("FAIL", "1;31"),
            Verdict::Interrupted => self.paint("INTERRUPTED", "1;33"),
        }
    }
}

/// What `chaoslab run` prints when it is done: the verdict, the story (faults
/// and role changes with their virtual times), what failed, and how to
/// reproduce it.
pub fn run_summary(style: Style, report: &RunReport, dir: &Path, story: &(Vec<report::story::Beat>, usize)) {
    style.document(&json!({
        "scenario": report.scenario.name,
        "seed": report.seed,
        "result": report.result,
        "failure_kind": report.failure_kind,
        "failure": report.failure,
        "steps": report.steps.len(),
        "steps_passed": report.steps.iter().filter(|s| s.outcome == Outcome::Pass).count(),
        "virtual_time_ns": report.virtual_time_ns,
        "wall_time_ms": report.wall_time_ms,
        "events": report.events_processed,
        "trace_hash": report.trace_hash,
        "unchecked_errors": report.unchecked_errors().count(),
        "history": report.history.as_ref().map(|h| json!({"ops": h.ops, "verdict": h.verdict,
            "checkers": h.checkers.iter().map(|c| json!({"checker": c.checker, "verdict": c.verdict, "as_expected": c.as_expected})).collect::<Vec<_>>()})),
        "report": dir.join("report.json"),
        "reproduce": report.reproduce,
    }));
    if !style.lines() {
        return;
    }
    let passed = report.steps.iter().filter(|s| s.outcome == Outcome::Pass).count();
    let speed = if report.wall_time_ms > 0.0 { report.virtual_time_ns as f64 / 1e6 / report.wall_time_ms } else { 0.0 };
    line(&format!("{} {} (seed {})", style.verdict(report.result), report.scenario.name, report.seed));
    line(&format!(
        "  steps {passed}/{} passed, {} invariant{}; {} virtual in {:.1} ms wall ({speed:.0}x); {} events",
        report.steps.len(),
        report.checks.len(),
        if report.checks.len() == 1 { "" } else { "s" },
        report.virtual_time,
        report.wall_time_ms,
        report.events_processed
    ));
    for beat in &story.0 {
        line(&format!("  {}", beat.line()));
    }
    if story.1 > 0 {
        line(&format!("  ... {} more faults and role changes in trace.jsonl", story.1));
    }
    for c in report.checks.iter().filter(|c| c.outcome == Outcome::Fail || c.expect_violated) {
        line(&format!("  {}", invariant_line(c)));
    }
    if let Some(h) = &report.history {
        line(&format!("  {}", report::history::headline(h)));
        for c in h.checkers.iter().filter(|c| c.verdict != "valid" || c.expected.is_some()) {
            let text = report::history::checker_line(c);
            line(&format!("    {}", if c.as_expected { text } else { style.paint_failure(&text) }));
        }
    }
    if let Some(failure) = &report.failure {
        line(&format!("  {}", style.paint_failure(failure)));
    }
    for e in &report.fault_errors {
        line(&format!("  timed fault not applied: {e}"));
    }
    for (s, reply) in report.unchecked_errors() {
        line(&format!("  step {} (line {}) passed on an error reply no expect checked: {reply}", s.index, s.line));
    }
    for c in report.clients.iter().filter(|c| c.end.starts_with("still running")) {
        line(&format!("  client {} was {} ({} sent, {} replied)", c.name, c.end, c.sent, c.replied));
    }
    line(&format!("  trace {}  report {}", report.trace_hash, dir.join("report.json").display()));
    line(&format!("reproduce: {}", report.reproduce));
}

/// An invariant's verdict in one line: where and when it first broke (and
/// whether that was expected), or that an expected violation never came.
fn invariant_line(c: &report::CheckReport) -> String {
    let head = format!("invariant (line {}) {}", c.line, c.title());
    let Some(at) = c.violated_ns else {
        return format!("{head} held at all {} looks, but `expect: violated`", c.evaluations);
    };
    let mut text = format!("{head} broken at {}: {}", report::seconds(at), c.detail);
    if !c.faults.is_empty() {
        text.push_str(&format!(" (faults: {})", c.faults.join(", ")));
    }
    if c.expect_violated {
        text.push_str(" — as expected");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::invariant_line;
    use report::{CheckReport, Outcome};

    fn check(violated_ns: Option<u64>, expect_violated: bool) -> CheckReport {
        CheckReport {
            line: 7,
            description: "6380 is running".to_owned(),
            outcome: Outcome::Fail,
            evaluations: 30,
            violated_ns,
            detail: "6380 is paused".to_owned(),
            name: "replica-up".to_owned(),
            expect_violated,
            within_ns: None,
            false_since_ns: None,
            faults: violated_ns.map(|_| vec!["pause 6380".to_owned()]).unwrap_or_default(),
            step: String::new(),
        }
    }

    #[test]
    fn an_invariant_line_says_when_it_broke_under_which_faults_or_that_it_never_did() {
        assert_eq!(
            invariant_line(&check(Some(65_000_000_000), false)),
            "invariant (line 7) replica-up broken at 65.000s: 6380 is paused (faults: pause 6380)"
        );
        assert_eq!(
            invariant_line(&check(Some(65_000_000_000), true)),
            "invariant (line 7) replica-up broken at 65.000s: 6380 is paused (faults: pause 6380) — as expected"
        );
        assert_eq!(
            invariant_line(&check(None, true)),
            "invariant (line 7) replica-up held at all 30 looks, but `expect: violated`"
        );
    }
}
