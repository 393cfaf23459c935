//! `explore`: runs one scenario over many seeds and says which fail. Seeds run
//! in parallel on OS threads, each simulation single-threaded and
//! deterministic on its own thread; the results are sorted by seed, so what an
//! exploration reports never depends on scheduling (a seed gives the same trace
//! hash alone, in a batch and under any number of jobs). It also parses seed
//! ranges and shards ([`seeds`]), checks determinism by rerunning a sample,
//! and merges shards' results ([`merge`]). It runs without trace records (the
//! hash is the same) or history.jsonl's text (the checkers judge the same
//! history); the binary reruns a failing seed with full output.
//!
//! It must not know any node kind (the binary hands it a [`Registry`] maker)
//! nor print: progress goes to a callback, results are returned.
//!
//! Must not depend on: `resp`, `common`, `redis`, `sentinel`, `redis-client`,
//! `redis-lab`, `sentinel-lab`, `mysql`, `mysql-lab`, `chaoslab`.

pub mod merge;
pub mod seeds;
pub mod shrink;

use report::{FailureKind, Verdict};
use scenario::{Registry, Scenario};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use merge::merge;
pub use seeds::{SeedRange, Shard};

/// The format of explore.json.
pub const FORMAT: u32 = 1;

/// What goes wrong with an exploration's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExploreError {
    /// `--seeds` is not a non-empty range.
    #[error("bad --seeds {0}")]
    BadSeeds(String),
    /// `--shard` is not I/N with I < N.
    #[error("bad --shard {0}")]
    BadShard(String),
    /// The scenario did not load on a worker thread.
    #[error("the scenario did not load: {0}")]
    Load(String),
    /// Shards that cannot be merged.
    #[error("cannot merge: {0}")]
    Merge(String),
}

/// One seed's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// pass, fail or interrupted.
    pub verdict: Verdict,
    /// What kind of failure (check, invariant, liveness, simulator-bug).
    pub failure_kind: Option<FailureKind>,
    /// The first failed check, in words.
    pub failure: Option<String>,
    /// The trace hash.
    pub trace_hash: String,
    /// Hashed trace events.
    pub events: u64,
    /// Virtual time at the end, ns.
    pub virtual_time_ns: u64,
}

impl SeedResult {
    /// Whether this seed failed (a check, invariant, liveness, workload checker or simulator bug).
    pub fn failed(&self) -> bool {
        self.verdict != Verdict::Pass
    }
}

/// A determinism check's finding: a seed whose rerun hashed differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The seed.
    pub seed: u64,
    /// Its hash in the exploration.
    pub first: String,
    /// Its hash when rerun.
    pub rerun: String,
}

/// What stopped an exploration before all its seeds ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cut {
    /// `--time-budget` ran out: no seed was started after it.
    TimeBudget,
    /// `--stop-after K` failures were reached.
    StopAfter,
}

/// explore.json: what ran and what each seed gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExploreReport {
    /// [`FORMAT`].
    pub format: u32,
    /// The scenario's `name:`.
    pub scenario: String,
    /// The scenario file, as given.
    pub scenario_file: String,
    /// Hash of the scenario's composed source (with `--set`s), as report.json's `source_hash`.
    pub scenario_hash: String,
    /// The `--set NAME=VALUE` overrides the seeds ran with (part of the reproduce line).
    pub sets: Vec<(String, String)>,
    /// `chaoslab --version` of the binary that ran.
    pub binary: String,
    /// How the seeds were chosen: `--seeds A..B`, or `--count N` (the drawn seeds are in `results`).
    pub seeds: String,
    /// The shard this run took, if any; a merge lists every shard it joined.
    pub shards: Vec<Shard>,
    /// How many seeds ran.
    pub seeds_run: u64,
    /// How many of them failed.
    pub failures: u64,
    /// Seeds the determinism check reran (empty without `--check-determinism`).
    pub determinism_checked: Vec<u64>,
    /// Seeds whose rerun hashed differently.
    pub determinism_mismatches: Vec<Mismatch>,
    /// Failing seeds rerun with full output into `seed-<n>/` (the lowest, up to `--rerun-limit`).
    pub rerun: Vec<u64>,
    /// How many seeds this run (or shard) was given; more than `seeds_run` when it was [`cut`](Self::cut).
    #[serde(default)]
    pub seeds_planned: u64,
    /// `--time-budget`, in wall seconds, if one was given.
    #[serde(default)]
    pub time_budget_secs: Option<f64>,
    /// What stopped the run before every planned seed ran, if anything did.
    #[serde(default)]
    pub cut: Option<Cut>,
    /// Every seed's outcome, by seed.
    pub results: Vec<SeedResult>,
}

impl ExploreReport {
    /// The failing seeds' results, by seed.
    pub fn failing(&self) -> impl Iterator<Item = &SeedResult> {
        self.results.iter().filter(|r| r.failed())
    }
}

/// What to run: a registry maker (one per thread: node kinds need not be
/// `Sync`) and a loader that parses the scenario afresh for each seed.
pub struct Target<'a> {
    /// Every node kind the binary knows.
    pub registry: fn() -> Registry,
    /// The scenario, parsed (it is consumed by a run).
    pub load: &'a (dyn Fn(&Registry) -> Result<Scenario, String> + Sync),
}

/// How to run the seeds.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// OS threads.
    pub jobs: usize,
    /// Stop taking new seeds after this many failures (which seeds ran then
    /// depends on scheduling; each one's result does not).
    pub stop_after: Option<usize>,
}

/// Runs one seed without trace records or the history's text. A panic (an assertion in a node or the
/// kernel) is a simulator bug, with the panic's words.
pub fn run_seed(registry: &Registry, scenario: Scenario, seed: u64) -> SeedResult {
    // A seed's result names its first failed check; a failing seed is run
    // again in full for its report.
    let options = scenario::RunOptions {
        no_trace_records: true,
        no_history_text: true,
        first_evidence_only: true,
        ..scenario::RunOptions::default()
    };
    let run =
        std::panic::AssertUnwindSafe(|| scenario::run_with(scenario, Some(seed), registry, String::new(), options));
    match std::panic::catch_unwind(run) {
        Ok((report, _sim)) => SeedResult {
            seed,
            verdict: report.result,
            failure_kind: report.failure_kind,
            failure: report.failure,
            trace_hash: report.trace_hash,
            events: report.trace_events,
            virtual_time_ns: report.virtual_time_ns,
        },
        Err(panic) => SeedResult {
            seed,
            verdict: Verdict::Fail,
            failure_kind: Some(FailureKind::SimulatorBug),
            failure: Some(format!("simulator bug: {}", panic_text(&*panic))),
            trace_hash: String::new(),
            events: 0,
            virtual_time_ns: 0,
        },
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "a panic".to_owned(),
    }
}

/// Runs `seeds` on `plan.jobs` threads; `on_done` hears of each result as it
/// comes (in completion order); the returned results are sorted by seed.
pub fn run_seeds(
    target: &Target<'_>,
    seeds: &[u64],
    plan: Plan,
    on_done: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Vec<SeedResult>, ExploreError> {
    run_seeds_while(target, seeds, plan, on_done, &|| true)
}

/// [`run_seeds`], asking `go_on` before starting each seed: once it says no,
/// no seed starts (those running finish). The binary's `--time-budget` is
/// such a question; this crate never looks at a clock.
pub fn run_seeds_while(
    target: &Target<'_>,
    seeds: &[u64],
    plan: Plan,
    on_done: &(dyn Fn(&SeedResult) + Sync),
    go_on: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<SeedResult>, ExploreError> {
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(seeds.len()));
    let error = Mutex::new(None);
    let worker = || {
        let registry = (target.registry)();
        while plan.stop_after.is_none_or(|k| failures.load(Ordering::SeqCst) < k) && go_on() {
            let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::SeqCst)) else { break };
            let scenario = match (target.load)(&registry) {
                Ok(s) => s,
                Err(e) => {
                    *error.lock().expect("no worker panics holding it") = Some(ExploreError::Load(e));
                    break;
                }
            };
            let result = run_seed(&registry, scenario, seed);
            if result.failed() {
                failures.fetch_add(1, Ordering::SeqCst);
            }
            on_done(&result);
            results.lock().expect("no worker panics holding it").push(result);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..plan.jobs.max(1) {
            s.spawn(worker);
        }
    });
    if let Some(e) = error.into_inner().expect("workers done") {
        return Err(e);
    }
    let mut results = results.into_inner().expect("workers done");
    results.sort_by_key(|r| r.seed);
    Ok(results)
}

/// At most this many seeds are rerun by the determinism check.
pub const DETERMINISM_SAMPLE: usize = 16;

/// A sample of `results` spread evenly over them (failing seeds first, as
/// they are the ones a user will replay), at most [`DETERMINISM_SAMPLE`].
pub fn determinism_sample(results: &[SeedResult]) -> Vec<u64> {
    let mut sample: Vec<u64> =
        results.iter().filter(|r| r.failed()).map(|r| r.seed).take(DETERMINISM_SAMPLE / 2).collect();
    let room = DETERMINISM_SAMPLE - sample.len();
    let step = results.len().div_ceil(room.max(1)).max(1);
    for r in results.iter().step_by(step) {
        if sample.len() < DETERMINISM_SAMPLE && !sample.contains(&r.seed) {
            sample.push(r.seed);
        }
    }
    sample.sort_unstable();
    sample
}

/// Reruns `sample` and returns the seeds whose trace hash differs from `results`'.
pub fn check_determinism(
    target: &Target<'_>,
    results: &[SeedResult],
    sample: &[u64],
    plan: Plan,
) -> Result<Vec<Mismatch>, ExploreError> {
    let plan = Plan { stop_after: None, ..plan };
    let reruns = run_seeds(target, sample, plan, &|_| {})?;
    let mut mismatches = Vec::new();
    for rerun in reruns {
        if let Some(first) = results.iter().find(|r| r.seed == rerun.seed)
            && first.trace_hash != rerun.trace_hash
        {
            mismatches.push(Mismatch { seed: rerun.seed, first: first.trace_hash.clone(), rerun: rerun.trace_hash });
        }
    }
    Ok(mismatches)
}

/// The report of finished results.
pub fn report(header: ExploreReport, results: Vec<SeedResult>) -> ExploreReport {
    let failures = results.iter().filter(|r| r.failed()).count() as u64;
    ExploreReport { format: FORMAT, seeds_run: results.len() as u64, failures, results, ..header }
}

/// Why fewer than `planned` seeds gave `results`: the stop-after count of
/// failures reached, else (the budget being the only other stop) the time budget.
pub fn cut(planned: usize, results: &[SeedResult], plan: Plan) -> Option<Cut> {
    if results.len() >= planned {
        return None;
    }
    let failures = results.iter().filter(|r| r.failed()).count();
    Some(if plan.stop_after.is_some_and(|k| failures >= k) { Cut::StopAfter } else { Cut::TimeBudget })
}

#[cfg(test)]
mod tests;
