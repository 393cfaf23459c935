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
