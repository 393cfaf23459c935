//! `chaoslab history check|export`: the checkers of the `check` crate on a
//! history from anywhere (history.jsonl or Jepsen EDN), and the conversion
//! between the two. Exit codes: 0 every checker says valid, 1 one says invalid,
//! 2 the file cannot be read or is no history, 5 no checker says invalid but
//! the linearizability search ran out of its budget (`unknown`).

use crate::output::{Style, line};
use crate::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_LIMIT, EXIT_PASS};
use check::{CheckResult, History, Verdict};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A history file's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// history.jsonl: one JSON object per line.
    Jsonl,
    /// Jepsen's EDN: one op map per line (Knossos, Elle).
    Edn,
}

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Run every checker on a history: acknowledged-write loss, register
    /// linearizability, counters, sets, lists.
    Check {
        /// history.jsonl or a Jepsen history.edn.
        file: PathBuf,
        /// The file's form (default: by extension, `.edn` or `.jsonl`, else by its first character).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// The linearizability search's budget in steps, for the whole history;
        /// past it the verdict is `unknown` (exit 5). The same budget gives the
        /// same verdict on every machine.
        #[arg(long, default_value_t = check::linear::DEFAULT_BUDGET_STEPS, conflicts_with = "time_budget")]
        budget_steps: u64,
        /// A wall-time budget instead (e.g. 10s): turned into steps by timing
        /// this machine's search first; the steps used are printed, to repeat
        /// the check with `--budget-steps`.
        #[arg(long, value_parser = crate::duration_arg)]
        time_budget: Option<Duration>,
    },
    /// Write a history in another form (Jepsen EDN by default) on stdout or to --out.
    Export {
        /// history.jsonl or a Jepsen history.edn.
        file: PathBuf,
        /// The form to write.
        #[arg(long, value_enum, default_value = "edn")]
        format: Format,
        /// The input's form (default: by extension, else by its first character).
        #[arg(long = "from", value_enum)]
        from: Option<Format>,
        /// Write here instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

/// Runs a `history` subcommand and returns its exit code.
pub fn run(style: Style, command: HistoryCommand) -> u8 {
    match command {
        HistoryCommand::Check { file, format, budget_steps, time_budget } => {
            check_file(style, &file, format, budget_steps, time_budget)
        }
        HistoryCommand::Export { file, format, from, out } => export(style, &file, from, format, out.as_deref()),
    }
}

/// The form of `path`: the one given, its extension, or its first character.
fn detect(path: &Path, text: &str, given: Option<Format>) -> Format {
    if let Some(f) = given {
        return f;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("edn") => return Format::Edn,
        Some("jsonl" | "json") => return Format::Jsonl,
        _ => {}
    }
    let start: String = text.trim_start().chars().take(2).collect();
    if start.starts_with("{\"") || start.is_empty() { Format::Jsonl } else { Format::Edn }
}

/// Reads a history, printing why not on stderr.
fn load(path: &Path, given: Option<Format>) -> Result<(History, Format), u8> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read {file}: {e}");
        EXIT_BAD_INPUT
    })?;
    let format = detect(path, &text, given);
    let read = match format {
        Format::Jsonl => check::jsonl::read(&text).map_err(|e| e.to_string()),
        Format::Edn => check::jepsen::import(&text).map_err(|e| e.to_string()),
    };
    let history = read.map_err(|e| {
        eprintln!("error: {file}: {e}");
        EXIT_BAD_INPUT
    })?;
    Ok((history, format))
}

/// Steps this machine searches in `budget`, measured on the history itself.
fn steps_for(history: &History, ops: &[check::Op], budget: Duration) -> u64 {
    const PROBE: u64 = 200_000;
    // Wall time only converts the user's budget into steps; the search never sees it.
    #[allow(clippy::disallowed_methods)]
    let start = std::time::Instant::now();
    let probe = check::linear::check(ops, &history.faults, PROBE);
    let elapsed = start.elapsed().as_secs_f64().max(1e-6);
    let done = probe.counts.get("steps").copied().unwrap_or(0).max(1);
    ((done as f64 / elapsed) * budget.as_secs_f64()).max(1.0) as u64
}

fn check_file(style: Style, path: &Path, given: Option<Format>, steps: u64, time: Option<Duration>) -> u8 {
    let (history, format) = match load(path, given) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let ops = match history.ops() {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("error: {}: not a history: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    };
    let budget_steps = time.map_or(steps, |t| steps_for(&history, &ops, t));
    let results = match check::check_all(&history, check::Options { budget_steps, ..check::Options::default() }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: not a history: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    };
    let verdict = check::overall(&results);
    let stats = check::stats::stats(&ops);
    let outcomes = |o: check::Outcome| ops.iter().filter(|op| op.outcome == o).count();
    let summary = json!({
        "file": path,
        "format": format!("{format:?}").to_lowercase(),
        "events": history.events.len(),
        "ops": ops.len(),
        "ok": outcomes(check::Outcome::Ok),
        "fail": outcomes(check::Outcome::Fail),
        "info": outcomes(check::Outcome::Info),
        "faults": history.faults.len(),
        "budget_steps": budget_steps,
        "verdict": verdict,
        "checkers": results,
        "stats": stats,
    });
    style.document(&summary);
    if style.lines() {
        print_lines(style, path, &summary, &results);
        line(&stats_line(&stats));
        line(&format!("verdict: {}", paint(style, verdict)));
    }
    match verdict {
        Verdict::Valid => EXIT_PASS,
        Verdict::Invalid => EXIT_FAIL,
        Verdict::Unknown => EXIT_LIMIT,
    }
}

fn paint(style: Style, v: Verdict) -> String {
    let text = v.name().to_uppercase();
    match v {
        Verdict::Invalid => style.paint_failure(&text),
        _ => text,
    }
}

fn print_lines(style: Style, path: &Path, s: &serde_json::Value, results: &[CheckResult]) {
    line(&format!(
        "history {}: {} events, {} ops ({} ok, {} fail, {} info), {} faults; search budget {} steps",
        path.display(),
        s["events"],
        s["ops"],
        s["ok"],
        s["fail"],
        s["info"],
        s["faults"],
        s["budget_steps"]
    ));
    for r in results {
        let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let counts = if counts.is_empty() { "nothing of this kind".to_owned() } else { counts.join(" ") };
        line(&format!("  {:<24} {:<8} {counts}", r.checker, paint(style, r.verdict)));
        for e in &r.evidence {
            line(&format!("    - {}", e.what));
            for op in &e.ops {
                line(&format!("        {op}"));
            }
            if !e.faults.is_empty() {
                line(&format!("        during: {}", e.faults.join("; ")));
            }
        }
    }
}

fn export(style: Style, path: &Path, from: Option<Format>, to: Format, out: Option<&Path>) -> u8 {
    let (history, _) = match load(path, from) {
        Ok(h) => h,
        Err(code) => return code,
    };
    if let Err(e) = history.ops() {
        eprintln!("error: {}: not a history: {e}", path.display());
        return EXIT_BAD_INPUT;
    }
    let text = match to {
        Format::Edn => check::jepsen::export(&history),
        Format::Jsonl => check::jsonl::write(&history),
    };
    let Some(out) = out else {
        // The history itself is the product on stdout (even with --json).
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(text.as_bytes());
        return EXIT_PASS;
    };
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return EXIT_BAD_INPUT;
    }
    style.document(&json!({"written": out, "events": history.events.len(), "faults": history.faults.len()}));
    if style.lines() {
        line(&format!("wrote {} ({} events, {} faults)", out.display(), history.events.len(), history.faults.len()));
    }
    EXIT_PASS
}

/// Nanoseconds as milliseconds (`12.345ms`).
fn ms(ns: u64) -> String {
    format!("{:.3}ms", ns as f64 / 1e6)
}

/// Latency of ok ops and the second with the smallest share of them.
fn stats_line(stats: &check::stats::Stats) -> String {
    let l = &stats.latency;
    let mut text = format!(
        "  ok latency: p50 {} p95 {} p99 {} max {} ({} ops)",
        ms(l.p50),
        ms(l.p95),
        ms(l.p99),
        ms(l.max),
        l.count
    );
    let share = |s: &check::stats::Second| s.ok as f64 / (s.ok + s.fail + s.info).max(1) as f64;
    let worst =
        stats.seconds.iter().filter(|s| s.ok + s.fail + s.info > 0).min_by(|a, b| share(a).total_cmp(&share(b)));
    if let Some(w) = worst {
        text.push_str(&format!(
            "; {} seconds, the worst second {}: {} ok, {} fail, {} info",
            stats.seconds.len(),
            w.second,
            w.ok,
            w.fail,
            w.info
        ));
    }
    text
}
