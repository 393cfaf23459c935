//! `reports/fidelity.json` and `reports/fidelity.md`.

use super::Options;
use super::coverage::{self, Family};
use super::failover::Timing;
use super::observe::{Row, Verdict};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The versions compared.
pub struct Versions {
    /// `redis-server --version`.
    pub real_server: String,
    /// `redis-sentinel --version`.
    pub real_sentinel: String,
    /// The simulated node.
    pub simulated: String,
}

/// Faults the simulator injects and whether the harness has a real counterpart.
const FAULTS: &[(&str, &str)] = &[
    ("kill (SIGKILL)", "real: SIGKILL by PID"),
    ("stop (SIGTERM, docker stop)", "real: SIGTERM by PID"),
    ("pause / resume (SIGSTOP / SIGCONT)", "real: SIGSTOP / SIGCONT by PID"),
    ("restart", "real: SIGTERM, then the same command line and directory"),
    (
        "partition, one-way partition, link latency/loss/bandwidth",
        "no real counterpart in the harness: every real process shares the loopback interface. \
         `ip netns add` and veth pairs do work in this sandbox (checked as root on 2026-11-21), so a \
         namespace-per-node topology is possible later; not built yet",
    ),
    (
        "host crash (page-cache loss), disk wipe",
        "no real counterpart: losing unsynced page cache needs a VM or a fault-injecting filesystem",
    ),
    ("clock set / clock jump (skew)", "no real counterpart: processes share the host clock (would need libfaketime)"),
];

const NOTES: &[&str] = &[
    "Every case runs on both sides with the same ports (7600-7799; cluster bus +10000; sentinels 27600-27799), so ports in replies need no mask.",
    "Unmasked cases compare the raw RESP bytes of the reply: text and type must both match. Masked cases compare the redis-cli rendering with its types after the mask; each mask says why in its row.",
    "`known gap` rows are real differences of the simulator, listed with their reason; they do not fail the run. `DIFFER` rows fail it (exit code 1). `match (gap closed)` means a gap mark can go.",
    "Real servers run with --daemonize no, their own directory under the system temp dir, and `save \"\"` in the config both sides share (except where a story needs an RDB: R5's master and R6's replicas use `save 3600 1`); they are stopped by PID when a group ends, also on error or panic. Every wait is bounded.",
    "Cluster groups (catalogue/cluster, formats/cluster, stories C4/C5/C7), the Sentinel groups (catalogue/sentinel, S2) and the C3/S3 timings run on the simulated cluster-enabled node and `sentinel` node kind; simulated clusters for C3 are made by the simulator's own `redis-cli --cluster create` (cluster_tool), as the real side uses redis-cli.",
];

fn summary(rows: &[Row]) -> Value {
    let count = |v: Verdict, rows: &[&Row]| rows.iter().filter(|r| r.verdict == v).count();
    let mut by_group: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_group.entry(r.group.as_str()).or_default().push(r);
    }
    let all: Vec<&Row> = rows.iter().collect();
    let groups: serde_json::Map<String, Value> = by_group
        .iter()
        .map(|(g, rs)| {
            (
                (*g).to_owned(),
                json!({
                    "cases": rs.len(),
                    "match": count(Verdict::Match, rs),
                    "differ": count(Verdict::Differ, rs),
                    "known_gap": count(Verdict::KnownGap, rs),
                    "gap_closed": count(Verdict::GapClosed, rs),
                }),
            )
        })
        .collect();
    json!({
        "cases": all.len(),
        "match": count(Verdict::Match, &all),
        "differ": count(Verdict::Differ, &all),
        "known_gap": count(Verdict::KnownGap, &all),
        "gap_closed": count(Verdict::GapClosed, &all),
        "groups": groups,
    })
}

/// The revision measured, `+dirty` when tracked files other than the reports have changes.
fn git_rev() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{rev}+dirty") } else { rev }
}

/// Writes both files.
pub fn write(
    opts: &Options,
    versions: &Versions,
    rows: &[Row],
    timing: &Timing,
    coverage: Option<&BTreeMap<String, Family>>,
) -> Result<(), String> {
    let summary = summary(rows);
    let rev = git_rev();
    let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in rows {
        groups.entry(r.group.as_str()).or_default().push(r.to_json());
    }
    let command = if opts.quick { "cargo xtask fidelity --quick" } else { "cargo xtask fidelity" };
    let doc = json!({
        "command": command,
        "git_rev": rev,
        "versions": {
            "real_redis_server": versions.real_server,
            "real_redis_sentinel": versions.real_sentinel,
            "real_binary": opts.redis_server.display().to_string(),
            "simulated": versions.simulated,
            "simulated_seed": opts.seed,
        },
        "summary": summary,
        "coverage": coverage.map(coverage::to_json),
        "faults": FAULTS.iter().map(|(f, r)| json!({"simulated_fault": f, "real_counterpart": r})).collect::<Vec<_>>(),
        "timing": timing.to_json(),
        "notes": NOTES,
        "groups": groups,
    });
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| format!("{}: {e}", opts.out_dir.display()))?;
    let json_path = opts.out_dir.join("fidelity.json");
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&json_path, text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let md_path = opts.out_dir.join("fidelity.md");
    std::fs::write(&md_path, markdown(command, &rev, versions, &summary, rows, timing, coverage))
        .map_err(|e| format!("{}: {e}", md_path.display()))?;
    eprintln!(
        "fidelity: {} cases, {} match, {} differ, {} known gaps, {} gaps closed → {} and {}",
        summary["cases"],
        summary["match"],
        summary["differ"],
        summary["known_gap"],
        summary["gap_closed"],
        json_path.display(),
        md_path.display()
    );
    Ok(())
}

/// A table cell: one line, pipes escaped, long values cut (the JSON has them whole).
fn cell(text: &str) -> String {
    const MAX: usize = 160;
    let one_line = text.replace("\r\n", "⏎").replace('\n', "⏎").replace('|', "\\|");
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("`{cut}`…")
    } else {
        format!("`{one_line}`")
    }
}

fn markdown(
    command: &str,
    rev: &str,
    versions: &Versions,
    summary: &Value,
    rows: &[Row],
    timing: &Timing,
    coverage: Option<&BTreeMap<String, Family>>,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Fidelity: real Redis vs the simulator\n");
    let _ = writeln!(md, "Produced by `{command}` at `{rev}`.\n");
    let _ = writeln!(md, "- real redis-server: `{}`", versions.real_server);
    let _ = writeln!(md, "- real redis-sentinel: `{}`", versions.real_sentinel);
    let _ = writeln!(md, "- simulated: `{}`\n", versions.simulated);
    let _ = writeln!(md, "## Summary\n");
    let _ = writeln!(md, "| group | cases | match | differ | known gap | gap closed |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    if let Some(groups) = summary["groups"].as_object() {
        for (g, s) in groups {
            let _ = writeln!(
                md,
                "| {g} | {} | {} | {} | {} | {} |",
                s["cases"], s["match"], s["differ"], s["known_gap"], s["gap_closed"]
            );
        }
    }
    let _ = writeln!(
        md,
        "| **all** | **{}** | **{}** | **{}** | **{}** | **{}** |\n",
        summary["cases"], summary["match"], summary["differ"], summary["known_gap"], summary["gap_closed"]
    );
    if let Some(families) = coverage {
        md.push_str(&coverage::to_markdown(families));
        md.push_str(&super::sweep::exclusions_markdown());
    }
    let _ = writeln!(md, "## Timing (failovers)\n");
    let _ = writeln!(
        md,
        "A metric matches when the medians are within ±{:.0} % and the simulated distribution is not a *spike* \
         where the real one is *spread*. With p10/p50/p90 the nearest-rank percentiles, a real distribution (of at \
         least {} runs) is spread when its p10–p90 width is at least {:.0} ms and {:.0} % of its median; the \
         simulated one is then a spike when its p10–p90 width is under {:.0} % of the real one's.\n",
        super::failover::TOLERANCE * 100.0,
        super::failover::SHAPE_MIN_RUNS,
        super::failover::SPREAD_MIN_MS,
        super::failover::SPREAD_MIN_FRACTION * 100.0,
        super::failover::SPIKE_RATIO * 100.0
    );
    md.push_str(&timing.to_markdown());
    let _ = writeln!(md, "\n## Faults\n");
    let _ = writeln!(md, "| simulated fault | real counterpart in this harness |");
    let _ = writeln!(md, "|---|---|");
    for (f, r) in FAULTS {
        let _ = writeln!(md, "| {f} | {r} |");
    }
    let _ = writeln!(md, "\n## Notes\n");
    for n in NOTES {
        let _ = writeln!(md, "- {n}");
    }
    let mut group = "";
    for r in rows {
        if r.group != group {
            group = &r.group;
            let _ = writeln!(md, "\n## {group}\n");
            let _ = writeln!(md, "| case | real | simulated | verdict | note |");
            let _ = writeln!(md, "|---|---|---|---|---|");
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&r.case),
            cell(&r.real),
            if r.simulated == r.real { "same".to_owned() } else { cell(&r.simulated) },
            r.verdict.word(),
            r.note.replace('|', "\\|")
        );
    }
    md
}
