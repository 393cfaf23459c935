//! `cargo xtask fidelity`: the same cases on real Redis (processes on
//! 127.0.0.1) and on the simulator, compared, written to
//! `reports/fidelity.json` and `reports/fidelity.md`.
//!
//! A case is a function over [`target::Target`], run once per side; its
//! observations ([`observe::Obs`]) are paired by name and compared byte for
//! byte, or through a mask that says why. Groups:
//! - `catalogue/*` ([`catalogue`]): replies in standalone, replica and requirepass modes;
//! - `formats` and `stories` ([`stories`]): INFO replication, and stories R1–R7;
//! - `keyslot` ([`keyslot`]): CLUSTER KEYSLOT on generated keys;
//! - `timing` ([`failover`]): C3 and S3 failovers measured on real processes,
//!   with medians compared within ±15 % once a simulated side exists.

mod catalogue;
mod failover;
mod keyslot;
mod observe;
mod real;
mod report;
mod simulated;
mod stories;
mod target;
#[cfg(test)]
mod tests;

use observe::{Obs, Row, Verdict};
use std::path::{Path, PathBuf};

/// Command-line options.
pub struct Options {
    /// Smaller runs (CI): fewer keys and failover runs.
    pub quick: bool,
    /// The redis-server to compare with.
    pub redis_server: PathBuf,
    /// The redis-sentinel to compare with.
    pub redis_sentinel: PathBuf,
    /// The redis-cli used to create real clusters.
    pub redis_cli: PathBuf,
    /// Where the report goes.
    pub out_dir: PathBuf,
    /// Seed of the simulated side.
    pub seed: u64,
    /// Run only the groups whose name contains this (for investigating a difference).
    pub only: Option<String>,
}

/// A group of cases: its name and its function, run once per side.
type Case = Box<dyn Fn(&mut dyn target::Target) -> Result<Vec<Obs>, String>>;

/// Runs both sides of one group; a side that fails as a whole gives one failing row.
fn run_group(name: &str, seed: u64, server: &Path, case: &Case) -> Vec<Row> {
    let real = {
        let mut t = real::Real::new(server);
        case(&mut t).unwrap_or_else(|e| vec![Obs::error("(group)", &e)])
    };
    let simulated = {
        let mut t = simulated::Simulated::new(seed);
        case(&mut t).unwrap_or_else(|e| vec![Obs::error("(group)", &e)])
    };
    observe::compare(name, &real, &simulated)
}

/// Runs everything and writes the report; `Ok(false)` when a must-match case differs.
pub fn run(opts: &Options) -> Result<bool, String> {
    let versions = report::Versions {
        real_server: real::version(&opts.redis_server)?,
        real_sentinel: real::version(&opts.redis_sentinel).unwrap_or_else(|e| format!("unavailable: {e}")),
        simulated: format!("chaoslab redis node {}", redis::server::VERSION),
    };
    eprintln!("fidelity: real = {} ({})", opts.redis_server.display(), versions.real_server);
    let mut rows: Vec<Row> = Vec::new();
    let mut groups: Vec<(String, Case)> = Vec::new();
    for mode in catalogue::MODES {
        groups.push((format!("catalogue/{}", mode.name), Box::new(move |t| catalogue::run(t, mode))));
    }
    groups.push(("formats".into(), Box::new(stories::info_formats)));
    for story in stories::STORIES {
        groups.push((format!("stories/{}", story.name), Box::new(move |t| (story.run)(t))));
    }
    let wanted = |name: &str| opts.only.as_ref().is_none_or(|only| name.contains(only.as_str()));
    for (name, case) in groups.iter().filter(|(name, _)| wanted(name)) {
        eprintln!("fidelity: {name}");
        rows.extend(run_group(name, opts.seed, &opts.redis_server, case));
    }
    if wanted("keyslot") {
        eprintln!("fidelity: keyslot");
        rows.extend(keyslot::run(opts)?);
    }
    let timing = if wanted("timing") {
        eprintln!("fidelity: timing");
        failover::run(opts)
    } else {
        failover::Timing::default()
    };
    rows.extend(timing.rows.iter().cloned());
    let ok = !rows.iter().any(|r| r.verdict == Verdict::Differ);
    report::write(opts, &versions, &rows, &timing)?;
    Ok(ok)
}
