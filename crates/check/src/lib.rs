//! `check`: histories of client operations and the checkers that judge them.
//! It owns the history model (every operation as an invocation and an `ok`,
//! `fail` or `info` completion, with client, key, value and times: [`history`]),
//! its two file forms (`history.jsonl`: [`jsonl`]; Jepsen's EDN, for Knossos
//! and Elle: [`edn`], [`jepsen`]), and the checkers: acknowledged-write loss
//! ([`loss`]), linearizability of single-key registers ([`linear`]), register
//! reads, counters, sets and lists ([`collections`]). Each gives a [`Verdict`] with counts and
//! evidence. Beside them, availability and latency ([`stats`]).
//!
//! It must not know the simulator, a node kind, a scenario or a report, so
//! it judges histories recorded anywhere (a simulated workload, a real system,
//! a Jepsen run). Deterministic: no wall clock (search budgets are in steps),
//! no hash-ordered iteration.
//!
//! Must not depend on: `sim`, `redis`, `sentinel`, `scenario`, `report`,
//! `resp`, `common`, `redis-client`, `redis-lab`, `sentinel-lab`, `chaoslab`.

pub mod collections;
pub mod edn;
mod fasthash;
pub mod history;
pub mod jepsen;
pub mod jsonl;
pub mod linear;
pub mod loss;
pub mod stats;
pub mod verdict;

/// Seeded history generators: the tests' and `cargo xtask bench`'s.
#[doc(hidden)]
#[cfg_attr(not(test), allow(dead_code))]
pub mod testgen;
#[cfg(test)]
mod tests_collections;
#[cfg(test)]
mod tests_edn;
#[cfg(test)]
mod tests_linear;
#[cfg(test)]
mod tests_loss;

pub use history::{Elem, Event, F, FaultWindow, History, Model, Op, Outcome, Type, Value, decimal};
pub use verdict::{CheckResult, Evidence, Verdict};

/// Options of a whole check.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The linearizability search's budget, in steps, for the whole history.
    pub budget_steps: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options { budget_steps: linear::DEFAULT_BUDGET_STEPS }
    }
}

/// Every checker's result on a history, or why its events do not pair up.
pub fn check_all(history: &History, options: Options) -> Result<Vec<CheckResult>, history::PairError> {
    Ok(check_ops(&history.ops()?, &history.faults, options))
}

/// Every checker's result on a history already paired into `ops`
/// ([`History::ops`]), for a caller that needs the ops too.
pub fn check_ops(ops: &[Op], faults: &[FaultWindow], options: Options) -> Vec<CheckResult> {
    vec![
        loss::check(ops, faults),
        linear::check(ops, faults, options.budget_steps),
        collections::registers(ops, faults),
        collections::counters(ops, faults),
        collections::sets(ops, faults),
        collections::lists(ops, faults),
    ]
}

/// The verdict of several results together.
pub fn overall(results: &[CheckResult]) -> Verdict {
    results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict))
}
