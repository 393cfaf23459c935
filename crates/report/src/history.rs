//! The workloads' section of summary.md and report.html: the history's
//! counts and each checker's verdict with its first findings.

use crate::markdown::shorten;
use crate::{CheckerReport, HistoryReport, RunReport};
use std::fmt::Write as _;

/// Findings shown per checker; report.json keeps them all.
const SHOWN_EVIDENCE: usize = 3;

/// One line: ops and outcomes, then the overall verdict.
pub fn headline(h: &HistoryReport) -> String {
    format!(
        "history: {} ops ({} ok, {} fail, {} info) from {} workload(s); checkers: {}",
        h.ops,
        h.ok,
        h.fail,
        h.info,
        h.workloads.len(),
        h.verdict
    )
}

/// A checker in one line: name, verdict (and what was expected), counts.
pub fn checker_line(c: &CheckerReport) -> String {
    let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let expected = match (&c.expected, c.as_expected) {
        (Some(e), true) => format!(" (expected {e})"),
        (Some(e), false) => format!(" (EXPECTED {e})"),
        (None, true) => String::new(),
        (None, false) => " (unexpected)".to_owned(),
    };
    format!("{} {}{expected}: {}", c.checker, c.verdict, if counts.is_empty() { "-".into() } else { counts.join(" ") })
}

/// The Markdown section.
pub(crate) fn markdown(md: &mut String, r: &RunReport) {
    let Some(h) = &r.history else { return };
    let _ = writeln!(md, "### Workloads and checkers\n\n{} (`{}`)\n", headline(h), h.file);
    for w in &h.workloads {
        let _ = writeln!(md, "- `{}`: {}; {}", w.name, w.clients, w.final_read);
    }
    let _ = writeln!(md, "\n| checker | verdict | expected | counts |\n|---|---|---|---|");
    for c in &h.checkers {
        let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            md,
            "| {} | {}{} | {} | {} |",
            c.checker,
            c.verdict,
            if c.as_expected { "" } else { " ✗" },
            c.expected.as_deref().unwrap_or("not invalid"),
            counts.join(" ")
        );
    }
    md.push('\n');
    for c in h.checkers.iter().filter(|c| !c.evidence.is_empty()) {
        let _ = writeln!(md, "**{}**:\n", c.checker);
        for e in c.evidence.iter().take(SHOWN_EVIDENCE) {
            let during = if e.faults.is_empty() { String::new() } else { format!(" (during {})", e.faults.join("; ")) };
            let _ = writeln!(md, "- {}{during}", shorten(&e.what, 300));
            for op in &e.ops {
                let _ = writeln!(md, "  - `{}`", shorten(op, 200).replace('`', "'"));
            }
        }
        md.push('\n');
    }
}

/// The HTML section.
pub(crate) fn html(out: &mut String, r: &RunReport) {
    let Some(h) = &r.history else { return };
    let _ = writeln!(out, "<h2>Workloads and checkers</h2><p>{}</p>", esc(&headline(h)));
    out.push_str(
        "<table class=\"data\"><tr><th>checker</th><th>verdict</th><th>expected</th><th>first finding</th></tr>\n",
    );
    for c in &h.checkers {
        let class = if c.as_expected { "" } else { " class=\"fail\"" };
        let first = c.evidence.first().map(|e| shorten(&e.what, 300)).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.checker),
            esc(&c.verdict),
            esc(c.expected.as_deref().unwrap_or("not invalid")),
            esc(&first)
        );
    }
    out.push_str("</table>\n");
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EvidenceReport, WorkloadReport};

    fn history() -> HistoryReport {
        HistoryReport {
            file: "history.jsonl".into(),
            workloads: vec![WorkloadReport {
                name: "w".into(),
                clients: "sentinel list, 2 clients on dc1".into(),
                final_read: "every key read".into(),
                ..Default::default()
            }],
            events: 8,
            ops: 4,
            ok: 3,
            fail: 0,
            info: 1,
            verdict: "invalid".into(),
            checkers: vec![CheckerReport {
                checker: "acked-write-loss".into(),
                verdict: "invalid".into(),
                expected: None,
                as_expected: false,
                counts: [("lost".to_owned(), 1)].into_iter().collect(),
                evidence: vec![EvidenceReport {
                    what: "append 7 <lost>".into(),
                    ops: vec!["#1 p0 append".into()],
                    faults: vec!["partition".into()],
                }],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn sections_show_the_verdict_the_counts_and_escape_the_evidence() {
        let h = history();
        assert_eq!(checker_line(&h.checkers[0]), "acked-write-loss invalid (unexpected): lost=1");
        assert_eq!(headline(&h), "history: 4 ops (3 ok, 0 fail, 1 info) from 1 workload(s); checkers: invalid");
        let mut r = crate::tests::failed_run();
        r.history = Some(h);
        let mut md = String::new();
        markdown(&mut md, &r);
        assert!(md.contains("| acked-write-loss | invalid ✗ | not invalid | lost=1 |"), "{md}");
        assert!(md.contains("- append 7 <lost> (during partition)"), "{md}");
        let mut out = String::new();
        html(&mut out, &r);
        assert!(out.contains("<tr class=\"fail\"><td>acked-write-loss</td>"), "{out}");
        assert!(out.contains("append 7 &lt;lost&gt;"), "{out}");
    }
}
