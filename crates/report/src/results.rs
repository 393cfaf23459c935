//! The results a run produced as data, shown the same way in `summary.md` and
//! `report.html`: error replies no `expect` checked (flagged, so a step that
//! "passed" on `(error) ...` is seen), the captures' final values, and the
//! background clients with their requests and replies.

use crate::markdown::shorten;
use crate::{ClientReport, RunReport, seconds};
use std::fmt::Write as _;

/// Replies shown per client in the documents; report.json keeps them all.
const SHOWN_EXCHANGES: usize = 20;

/// The flag line under the verdict: how many steps passed on an unchecked error.
fn flag_text(r: &RunReport) -> Option<String> {
    let n = r.unchecked_errors().count();
    (n > 0).then(|| {
        let s = if n == 1 { "" } else { "s" };
        format!("{n} step{s} passed with an error reply no `expect` checked")
    })
}

/// A client's counts in words.
fn client_counts(c: &ClientReport) -> String {
    format!(
        "{} sent, {} replied, {} error{}; {} at {}",
        c.sent,
        c.replied,
        c.errors,
        if c.errors == 1 { "" } else { "s" },
        c.end,
        seconds(c.ended_ns)
    )
}

/// The exchange's reply in words.
fn reply_text(reply: Option<&str>, at: Option<u64>) -> String {
    match (reply, at) {
        (Some(text), Some(t)) => format!("{} {}", seconds(t), text),
        _ => "no reply".to_owned(),
    }
}

/// The Markdown sections: unchecked errors, captures, clients.
pub(crate) fn markdown(md: &mut String, r: &RunReport) {
    let cell = |t: &str| t.replace('|', "\\|").replace("\r\n", " ").replace('\n', " ⏎ ");
    if let Some(flag) = flag_text(r) {
        let _ = writeln!(md, "### Unchecked error replies\n\n**{flag}:**\n");
        for (s, e) in r.unchecked_errors() {
            let _ =
                writeln!(md, "- step {} (line {}): `{}`", s.index, s.line, cell(&shorten(e, 200)).replace('`', "'"));
        }
        md.push('\n');
    }
    if !r.captures.is_empty() {
        let _ = writeln!(md, "### Captures\n\n| name | value |\n|---|---|");
        for (name, value) in &r.captures {
            let _ = writeln!(md, "| `{name}` | {} |", cell(&shorten(value, 200)));
        }
        md.push('\n');
    }
    for c in &r.clients {
        let _ = writeln!(
            md,
            "### Client `{}` (`{}`, step {})\n\n{}\n\n| sent | request | reply |\n|---|---|---|",
            c.name,
            cell(&c.command).replace('`', "'"),
            c.started_by,
            client_counts(c)
        );
        for e in c.exchanges.iter().take(SHOWN_EXCHANGES) {
            let reply = reply_text(e.reply.as_deref(), e.replied_ns);
            let _ =
                writeln!(md, "| {} | `{}` | {} |", seconds(e.sent_ns), cell(&e.request), cell(&shorten(&reply, 200)));
        }
        if c.exchanges.len() > SHOWN_EXCHANGES {
            let _ = writeln!(md, "| … | {} more in report.json | |", c.exchanges.len() - SHOWN_EXCHANGES);
        }
        md.push('\n');
    }
}

/// The HTML flag under the verdict, if any step passed on an unchecked error.
pub(crate) fn html_flag(h: &mut String, r: &RunReport) {
    if let Some(flag) = flag_text(r) {
        let steps: Vec<String> = r.unchecked_errors().map(|(s, _)| format!("#{}", s.index)).collect();
        let _ = writeln!(h, "<p class=\"flag\">⚠ {} (steps {})</p>", esc(&flag), steps.join(", "));
    }
}

/// The HTML sections: captures and clients.
pub(crate) fn html(h: &mut String, r: &RunReport) {
    if !r.captures.is_empty() {
        let _ = writeln!(h, "<h2>Captures</h2><table class=\"data\"><tr><th>name</th><th>value</th></tr>");
        for (name, value) in &r.captures {
            let _ = writeln!(h, "<tr><td><code>{}</code></td><td>{}</td></tr>", esc(name), esc(&shorten(value, 300)));
        }
        h.push_str("</table>\n");
    }
    for c in &r.clients {
        let _ = writeln!(
            h,
            "<h2>Client <code>{}</code></h2><p><code>{}</code> from step {}: {}</p>",
            esc(&c.name),
            esc(&c.command),
            c.started_by,
            esc(&client_counts(c))
        );
        h.push_str("<table class=\"data\"><tr><th>sent</th><th>request</th><th>reply</th></tr>\n");
        for e in c.exchanges.iter().take(SHOWN_EXCHANGES) {
            let class = if e.error { " class=\"fail\"" } else { "" };
            let reply = reply_text(e.reply.as_deref(), e.replied_ns);
            let _ = writeln!(
                h,
                "<tr{class}><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                seconds(e.sent_ns),
                esc(&e.request),
                esc(&shorten(&reply, 300))
            );
        }
        if c.exchanges.len() > SHOWN_EXCHANGES {
            let _ = writeln!(
                h,
                "<tr><td>…</td><td>{} more in report.json</td><td></td></tr>",
                c.exchanges.len() - SHOWN_EXCHANGES
            );
        }
        h.push_str("</table>\n");
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Exchange, StepReport};

    /// A passing run of one step that passed on an error reply, with one
    /// capture and one background client of 25 writes.
    fn run() -> RunReport {
        let step = StepReport {
            index: 1,
            line: 9,
            action: "redis-cli".into(),
            text: "redis-cli: {node: \"6380\", command: \"set x 1\"}".into(),
            started_ns: 0,
            finished_ns: 10_000_000,
            outcome: crate::Outcome::Pass,
            detail: "(error) READONLY You can't write against a read only replica.".into(),
            note: Some("a <replica> refuses writes".into()),
            unchecked_error: Some("(error) READONLY You can't write against a read only replica.".into()),
        };
        let exchange = |i: u64| Exchange {
            request: format!("set k{i} {i}"),
            sent_ns: i * 2_000_000,
            reply: (i != 3).then(|| "OK".to_owned()),
            replied_ns: (i != 3).then_some(i * 2_000_000 + 100_000),
            error: false,
        };
        let client = ClientReport {
            name: "writer".into(),
            process: "redis-cli#3".into(),
            command: "set k${i} ${i}".into(),
            started_by: 1,
            started_ns: 0,
            ended_ns: 50_000_000,
            end: "finished".into(),
            sent: 25,
            replied: 24,
            errors: 0,
            exchanges: (1..=25).map(exchange).collect(),
        };
        let mut json = serde_json::json!({
            "format": 1, "chaoslab_version": "0", "seed": 1, "result": "pass", "failure": null,
            "scenario": {"name": "t", "file": "t.yaml", "description": "", "source_hash": "0"},
            "steps": [], "checks": [], "nodes": [], "fault_errors": [], "events_processed": 1,
            "virtual_time_ns": 1, "virtual_time": "0.000s", "wall_time_ms": 0.0, "trace_events": 1,
            "trace_hash": "0", "reproduce": ""});
        json["captures"] = serde_json::json!({"role": "<master>"});
        let mut r: RunReport = serde_json::from_value(json).expect("a minimal report reads");
        r.steps.push(step);
        r.clients.push(client);
        r
    }

    #[test]
    fn markdown_flags_the_unchecked_error_and_lists_captures_and_clients() {
        let mut md = String::new();
        markdown(&mut md, &run());
        assert!(md.contains("**1 step passed with an error reply no `expect` checked:**"), "{md}");
        assert!(md.contains("- step 1 (line 9): `(error) READONLY You can't write against a read only replica.`"));
        assert!(md.contains("| `role` | <master> |"), "{md}");
        assert!(md.contains(
            "### Client `writer` (`set k${i} ${i}`, step 1)\n\n25 sent, 24 replied, 0 errors; finished at 0.050s"
        ));
        assert!(md.contains("| 0.006s | `set k3 3` | no reply |"), "{md}");
        assert!(md.contains("| … | 5 more in report.json | |"), "20 shown: {md}");
    }

    #[test]
    fn html_flags_the_unchecked_error_and_escapes_what_it_shows() {
        let r = run();
        let mut h = String::new();
        html_flag(&mut h, &r);
        assert_eq!(h, "<p class=\"flag\">⚠ 1 step passed with an error reply no `expect` checked (steps #1)</p>\n");
        let mut h = String::new();
        html(&mut h, &r);
        assert!(h.contains("<tr><td><code>role</code></td><td>&lt;master&gt;</td></tr>"), "{h}");
        assert!(h.contains("<td>0.002s</td><td><code>set k1 1</code></td><td>0.002s OK</td>"), "{h}");
        assert_eq!(h.matches("<td><code>set k").count(), SHOWN_EXCHANGES);
    }
}
