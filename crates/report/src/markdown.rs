//! `summary.md`: the run for a CI step summary or a pull request comment —
//! verdict, what failed, the timeline of steps, the invariants, and the
//! command that reproduces it. Built from `report.json` alone, and free of
//! wall-clock figures, so the same run gives the same file on every machine.

use crate::{CheckReport, Outcome, RunReport, StepReport, Verdict, seconds};
use std::fmt::Write as _;

/// The text of `summary.md`.
pub fn summary(r: &RunReport) -> String {
    let mut md = String::new();
    let verdict = match r.result {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Interrupted => "INTERRUPTED",
    };
    let _ = writeln!(md, "## {verdict}: {} (seed {})\n", r.scenario.name, r.seed);
    if let Some(first) = r.scenario.description.lines().find(|l| !l.trim().is_empty()) {
        let _ = writeln!(md, "{}\n", first.trim());
    }
    if let Some(failure) = &r.failure {
        let kind = r.failure_kind.map(|k| format!(" ({})", kind_name(k))).unwrap_or_default();
        let _ = writeln!(md, "**Failed{kind}:** {}\n", cell(failure));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(
        md,
        "{} step{}, {} invariant{}; {} virtual, {} events; trace `{}`\n",
        r.steps.len(),
        plural(r.steps.len()),
        r.checks.len(),
        plural(r.checks.len()),
        r.virtual_time,
        r.events_processed,
        r.trace_hash
    );
    timeline(&mut md, &r.steps);
    invariants(&mut md, &r.checks);
    crate::results::markdown(&mut md, r);
    if !r.fault_errors.is_empty() {
        let _ = writeln!(md, "### Timed faults not applied\n");
        for e in &r.fault_errors {
            let _ = writeln!(md, "- {}", cell(e));
        }
        md.push('\n');
    }
    let _ = writeln!(md, "### Reproduce\n\n```sh\n{}\n```", r.reproduce);
    md
}

fn timeline(md: &mut String, steps: &[StepReport]) {
    let _ = writeln!(
        md,
        "### Timeline\n\n| # | line | at | took | step | outcome | detail |\n|---|---|---|---|---|---|---|"
    );
    for s in steps {
        let took = s.finished_ns.saturating_sub(s.started_ns);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.index,
            s.line,
            seconds(s.started_ns),
            seconds(took),
            step_cell(s),
            outcome(s.outcome),
            cell(&shorten(&s.detail, 200))
        );
    }
    md.push('\n');
}

/// The step as written, its note after it, and a flag on an unchecked error reply.
fn step_cell(s: &StepReport) -> String {
    let mut text = format!("`{}`", cell(&s.text).replace('`', "'"));
    if let Some(note) = &s.note {
        let _ = write!(text, " — *{}*", cell(note));
    }
    if s.unchecked_error.is_some() {
        text.push_str(" ⚠ unchecked error reply");
    }
    text
}

fn invariants(md: &mut String, checks: &[CheckReport]) {
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### Invariants\n\n| line | invariant | evaluations | verdict | first violated |\n|---|---|---|---|---|"
    );
    for c in checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            c.line,
            cell(&invariant_title(c)),
            c.evaluations,
            outcome(c.outcome),
            cell(&first_violation(c))
        );
    }
    let expected = checks.iter().filter(|c| c.expect_violated && c.violated_ns.is_some()).count();
    let unexpected = checks.iter().filter(|c| c.unexpected_violation()).count();
    if expected + unexpected > 0 {
        let _ = writeln!(md, "\nViolations: {unexpected} unexpected, {expected} expected (`expect: violated`).");
    }
    md.push('\n');
}

/// An invariant's name (with its condition), and what it expects when
/// that is not the default.
pub(crate) fn invariant_title(c: &CheckReport) -> String {
    let mut t = if c.name.is_empty() { c.description.clone() } else { format!("{}: {}", c.name, c.description) };
    if let Some(w) = c.within_ns {
        let _ = write!(t, " (within {})", seconds(w));
    }
    if c.expect_violated {
        t.push_str(" [expect: violated]");
    }
    t
}

/// The first violation in words: when, what was seen, since when it was
/// false, the faults in force and the step running; empty if none.
pub(crate) fn first_violation(c: &CheckReport) -> String {
    let Some(at) = c.violated_ns else { return String::new() };
    let mut t = format!("{}: {}", seconds(at), c.detail);
    if let Some(since) = c.false_since_ns {
        let _ = write!(t, " (false since {})", seconds(since));
    }
    if !c.faults.is_empty() {
        let _ = write!(t, "; faults: {}", c.faults.join(", "));
    }
    if !c.step.is_empty() {
        let _ = write!(t, "; during step {}", c.step);
    }
    t
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "**FAIL**",
        Outcome::Skipped => "skipped",
    }
}

pub(crate) fn kind_name(k: crate::FailureKind) -> &'static str {
    match k {
        crate::FailureKind::Check => "check",
        crate::FailureKind::Invariant => "invariant",
        crate::FailureKind::Liveness => "liveness",
        crate::FailureKind::SimulatorBug => "simulator bug",
        crate::FailureKind::Interrupted => "interrupted",
    }
}

/// Text safe inside a Markdown table cell: one line, no column breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace("\r\n", " ").replace('\n', " ⏎ ")
}

/// At most `max` characters, with `…` where it was cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
