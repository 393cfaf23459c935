//! `cargo xtask fidelity`: the same cases on real Redis (processes on
//! 127.0.0.1) and on the simulator, compared, written to
//! `reports/fidelity.json` and `reports/fidelity.md`.
//!
//! A case is a function over [`target::Target`], run once per side; its
//! observations ([`observe::Obs`]) are paired by name and compared byte for
//! byte, or through a mask that says why. Groups:
//! - `catalogue/*` ([`catalogue`], [`cluster`]): replies in standalone, replica,
//!   requirepass and cluster modes;
//! - `formats/*` and `stories/*` ([`stories`], [`cluster`]): INFO replication,
//!   CLUSTER NODES/INFO/SLOTS/SHARDS, and stories R1–R7;
//! - `keyslot` ([`keyslot`]): CLUSTER KEYSLOT on generated keys;
//! - `stories/loss: ...` ([`loss_stalled`]): acknowledged writes a failover
//!   loses when the promoted replica had stalled, compared within a stated
//!   tolerance;
//! - `timing` ([`failover`]): C3 and S3 failovers, real runs against ≥ 100
//!   simulated seeds, medians compared within ±15 % and the simulated
//!   distribution not a spike where the real one is spread (p10–p90 widths;
//!   see [`failover::Spread`]);
//! - `loss` ([`loss`]): acked writes lost after a burst right after a full
//!   sync, and graceful stops (SIGTERM) of a Sentinel-managed and a cluster
//!   master, compared the same way;
//! - `loss-paused-cluster-master`, `loss-split-brain` ([`loss_split`]): acked
//!   writes lost when a resumed cluster master and a cut-off Sentinel master
//!   act as masters after their replica's promotion (real: partitions through
//!   a userspace TCP proxy, [`proxy`]).
//! - `catalogue/sweep-*` ([`sweep`]): every command of the real server's
//!   `COMMAND INFO` with a wrong arity, a sample call and a key of the wrong
//!   type, in standalone, replica, requirepass and cluster modes;
//! - `fuzz/<family>` ([`fuzz`]): seeded random command sequences per data-type
//!   family (strings, bits, lists, hashes, sets, zsets, streams, geo, hll,
//!   keyspace) with boundary arguments and wrong types, reply by reply (the
//!   seed is `--seed`);
//! - coverage ([`coverage`]): the catalogue's cases per command family of the
//!   real server's `COMMAND DOCS`, and which commands no case exercises;
//! - `mysql` ([`mysql`]): MariaDB 10.11 (`mariadbd`) against the `mysql` node:
//!   positions, SHOW SLAVE STATUS, error texts, restarts, skipped errors.

mod catalogue;
mod children;
mod client_limits;
mod cluster;
mod coverage;
mod failover;
mod fuzz;
mod fuzz_families;
mod fuzz_more;
pub mod histories;
mod keyslot;
mod loss;
mod loss_split;
mod loss_stalled;
mod mysql;
mod notify;
mod observe;
mod proxy;
mod real;
mod report;
mod sentinel;
mod simulated;
mod stories;
mod sweep;
mod sweep_samples;
mod target;
#[cfg(test)]
mod tests;

use observe::{Obs, Row, Verdict};
use std::path::PathBuf;

/// The sweep's modes, in the order of its groups.
const SWEEPS: [&str; 4] = ["standalone", "replica", "requirepass", "cluster"];

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

/// A group: its name and its cases.
struct Group {
    name: String,
    case: Case,
}

/// Runs both sides of one group; a side that fails as a whole gives one failing row.
fn run_group(group: &Group, opts: &Options) -> Vec<Row> {
    let side = |t: &mut dyn target::Target| {
        // A panic (a harness bug, or the simulator's) becomes a failing row; real
        // processes are still stopped when `t` is dropped after this returns.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (group.case)(t)));
        let result = run.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
            Err(format!("panicked: {}", what.unwrap_or_default()))
        });
        result.unwrap_or_else(|e| vec![Obs::error("(group)", &e)])
    };
    let real = side(&mut real::Real::new(opts));
    let simulated = side(&mut simulated::Simulated::new(opts.seed));
    observe::compare(&group.name, &real, &simulated)
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
    let wanted = |name: &str| opts.only.as_ref().is_none_or(|only| name.contains(only.as_str()));
    let group = |name: &str, case: Case| Group { name: name.to_owned(), case };
    let mut groups: Vec<Group> = Vec::new();
    for mode in catalogue::MODES {
        groups.push(group(&format!("catalogue/{}", mode.name), Box::new(move |t| catalogue::run(t, mode))));
    }
    groups.push(group("catalogue/client-limits", Box::new(client_limits::catalogue)));
    groups.push(group("catalogue/children", Box::new(children::catalogue)));
    groups.push(group("catalogue/keyspace-events", Box::new(notify::catalogue)));
    groups.push(group("catalogue/cluster", Box::new(cluster::catalogue)));
    groups.push(group("catalogue/sentinel", Box::new(sentinel::catalogue)));
    groups.push(group("formats/replication", Box::new(stories::info_formats)));
    groups.push(group("formats/cluster", Box::new(cluster::formats)));
    for story in stories::STORIES {
        groups.push(group(&format!("stories/{}", story.name), Box::new(move |t| (story.run)(t))));
    }
    groups.push(group("stories/C4 cluster without replicas loses a master", Box::new(cluster::c4)));
    groups.push(group("stories/C5 replica down and back in a cluster", Box::new(cluster::c5)));
    groups.push(group("stories/C7 manual failover with the master down", Box::new(cluster::c7)));
    groups.push(group("stories/S2 replica down and back under a sentinel", Box::new(sentinel::s2)));
    let sweeps = SWEEPS.map(|mode| format!("catalogue/sweep-{mode}"));
    let catalogue_wanted =
        groups.iter().map(|g| &g.name).chain(&sweeps).any(|n| n.starts_with("catalogue/") && wanted(n));
    let commands = if catalogue_wanted {
        eprintln!("fidelity: command tables (real COMMAND DOCS, simulated COMMAND LIST)");
        Some(coverage::measure(&mut real::Real::new(opts), &mut simulated::Simulated::new(opts.seed))?)
    } else {
        None
    };
    if let (Some(commands), true) = (&commands, sweeps.iter().any(|n| wanted(n))) {
        eprintln!("fidelity: the sweep's command table (real COMMAND INFO)");
        let specs = std::rc::Rc::new(sweep::measure(&mut real::Real::new(opts))?);
        let requirepass_specs = std::rc::Rc::clone(&specs);
        let families = commands.real.clone();
        let family =
            move |name: &str| families.get(name.split('|').next().unwrap_or(name)).cloned().unwrap_or_default();
        groups.push(group(&sweeps[0], Box::new(move |t| sweep::standalone(t, &specs, &family))));
        groups.push(group(&sweeps[1], Box::new(sweep::replica)));
        groups.push(group(&sweeps[2], Box::new(move |t| sweep::requirepass(t, &requirepass_specs))));
        groups.push(group(&sweeps[3], Box::new(sweep::cluster)));
    }
    // about 5 s for all families, masked where the real server is random: in --quick too
    let seed = opts.seed;
    for (i, family) in fuzz_families::FAMILIES.iter().enumerate() {
        groups.push(group(&format!("fuzz/{}", family.name), Box::new(move |t| fuzz::run(t, i, seed))));
    }
    if groups.iter().any(|g| g.name.starts_with("fuzz/") && wanted(&g.name)) {
        eprintln!("fidelity: fuzz seed {seed} (--seed N draws other commands)");
    }
    for g in groups.iter().filter(|g| wanted(&g.name)) {
        eprintln!("fidelity: {}", g.name);
        rows.extend(run_group(g, opts));
    }
    if wanted("loss") {
        eprintln!("fidelity: loss (stalled replica)");
        rows.extend(loss_stalled::run(opts));
    }
    // about a minute of real mariadbd set-up and restarts: not in --quick
    if wanted("mysql") && (!opts.quick || opts.only.is_some()) {
        eprintln!("fidelity: mysql (MariaDB 10.11)");
        rows.extend(mysql::run(opts));
    }
    if wanted("keyslot") {
        eprintln!("fidelity: keyslot");
        rows.extend(keyslot::run(opts)?);
    }
    let mut timing = if wanted("timing") {
        eprintln!("fidelity: timing");
        failover::run(opts)
    } else {
        failover::Timing::default()
    };
    if wanted("loss") {
        eprintln!("fidelity: loss");
        let loss = loss::run(opts);
        timing.rows.extend(loss.rows);
        timing.stories.extend(loss.stories);
    }
    let split = loss_split::run(opts, &wanted);
    timing.rows.extend(split.rows);
    timing.stories.extend(split.stories);
    rows.extend(timing.rows.iter().cloned());
    let ok = !rows.iter().any(|r| r.verdict == Verdict::Differ);
    let coverage = commands.map(|c| coverage::tally(&c, &rows));
    report::write(opts, &versions, &rows, &timing, coverage.as_ref())?;
    Ok(ok)
}
