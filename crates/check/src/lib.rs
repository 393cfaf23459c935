//! `check`: histories of client operations and the checkers that judge them.
//! It owns the history model (every operation as an invocation and an `ok`,
//! `fail` or `info` completion, with client, key, value and times: [`history`];
//! kept as ops while it happens, by clients that pair their own: [`oplog`]),
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
mod elems;
mod fasthash;
pub mod history;
pub mod jepsen;
pub mod jsonl;
pub mod linear;
pub mod loss;
pub mod oplog;
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

pub use history::{
    Elem, Elems, ElemsRef, Event, F, FaultWindow, History, Model, Op, Outcome, Type, Value, When, decimal,
    decimal_bytes,
};
pub use oplog::{OpId, OpLog};
pub use verdict::{CheckResult, Evidence, Verdict};

/// Options of a whole check.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The linearizability search's budget, in steps, for the whole history.
    pub budget_steps: u64,
    /// How many findings each checker words as evidence (at most
    /// [`verdict::MAX_EVIDENCE`], the default); the verdicts and counts are
    /// the same with any. An exploration keeps one: a seed's result names
    /// only the first finding, and wording long list reads for twenty was a
    /// few percent of a seed.
    pub evidence: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { budget_steps: linear::DEFAULT_BUDGET_STEPS, evidence: verdict::MAX_EVIDENCE }
    }
}

/// Every checker's result on a history, or why its events do not pair up.
pub fn check_all(history: &History, options: Options) -> Result<Vec<CheckResult>, history::PairError> {
    Ok(check_ops(&history.ops()?, &history.faults, options))
}

/// Every checker's result on a history already paired into `ops`
/// ([`History::ops`]), for a caller that needs the ops too.
///
/// Every checker but acked-write-loss judges the ops of one model alone and
/// passes over the others, so a checker whose model no op has is given none:
/// a history of one model (every workload's) is read by one checker of
/// another model in one pass here, not in several passes each. The results
/// are the same (checked in debug builds against giving every checker all).
pub fn check_ops(ops: &[Op], faults: &[FaultWindow], options: Options) -> Vec<CheckResult> {
    check_ops_with(ops, faults, options, || ()).0
}

/// [`check_ops`] and the history's [`stats::Stats`] together: on a history
/// judged on two threads, the stats are taken on the caller's while the
/// other thread still searches.
pub fn check_ops_and_stats(ops: &[Op], faults: &[FaultWindow], options: Options) -> (Vec<CheckResult>, stats::Stats) {
    check_ops_with(ops, faults, options, || stats::stats(ops))
}

/// [`check_ops`], with `also` run on the caller's thread beside the checkers.
fn check_ops_with<R>(
    ops: &[Op],
    faults: &[FaultWindow],
    options: Options,
    also: impl FnOnce() -> R,
) -> (Vec<CheckResult>, R) {
    let (results, also) = every_checker(ops, faults, options, true, also);
    debug_assert_eq!(results, every_checker(ops, faults, options, false, || ()).0, "a checker looked past its model");
    (results, also)
}

/// A history of at least this many ops is judged on two threads: the
/// linearizability search on one, the others on the caller's (the
/// register-reads checker among them, as it shares acked-write-loss's
/// grouping of the ops by key: the two sides then take about as long). Each
/// checker is a function of the ops alone and the results come back in the
/// same order, so the verdicts are the same; a shorter history (an
/// exploration seed's, which already has a thread of its own per job) is
/// judged on the caller's thread alone.
const TWO_THREADS_MIN_OPS: usize = 20_000;

/// The checkers: linearizability and acked-write-loss on `all`, which
/// they sort by model themselves; register-reads on acked-write-loss's
/// grouping of the ops by (model, key); the counter, set and list checkers
/// on `all` too, or (with `skip_absent`) on no ops when that grouping has
/// no key of their model, so a history of one model is not read once more
/// by each of the other models' checkers (nor once before, to find its
/// models: a pass over megabytes of ops on a long run).
fn every_checker<R>(
    all: &[Op],
    faults: &[FaultWindow],
    options: Options,
    skip_absent: bool,
    also: impl FnOnce() -> R,
) -> (Vec<CheckResult>, R) {
    let linear = || linear::check_with(all, faults, options.budget_steps, options.evidence);
    let others = || {
        let keys = loss::by_key(all);
        let room = options.evidence;
        let of = |m: Model| if !skip_absent || loss::model_keys(&keys, m).next().is_some() { all } else { &[] };
        let (counters, sets, lists) = (of(Model::Counter), of(Model::Set), of(Model::List));
        let (loss, register_reads) = collections::loss_and_registers_grouped(&keys, faults, room);
        [
            loss,
            register_reads,
            collections::counters_with(counters, faults, room),
            collections::sets_with(sets, faults, room),
            collections::lists_with(lists, faults, true, room),
        ]
    };
    let (linear, [loss, register_reads, counters, sets, lists], also) = if all.len() < TWO_THREADS_MIN_OPS {
        (linear(), others(), also())
    } else {
        std::thread::scope(|s| {
            let linear = s.spawn(linear);
            let others = others();
            let also = also();
            (linear.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), others, also)
        })
    };
    (vec![loss, linear, register_reads, counters, sets, lists], also)
}

/// The verdict of several results together.
pub fn overall(results: &[CheckResult]) -> Verdict {
    results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict))
}

#[cfg(test)]
mod tests {
    use super::{Options, TWO_THREADS_MIN_OPS, check_ops, collections, linear, loss};

    /// A history long enough to be judged on two threads gives every
    /// checker's own result, in the usual order.
    #[test]
    fn a_long_history_judged_on_two_threads_gives_each_checkers_result() {
        let history = crate::testgen::linearizable_registers(3, 20, TWO_THREADS_MIN_OPS + 500, 40);
        let ops = history.ops().expect("pairs");
        assert!(ops.len() >= TWO_THREADS_MIN_OPS);
        let options = Options::default();
        let faults = &history.faults;
        let alone = vec![
            loss::check(&ops, faults),
            linear::check(&ops, faults, options.budget_steps),
            collections::registers(&ops, faults),
            collections::counters(&[], faults),
            collections::sets(&[], faults),
            collections::lists(&[], faults),
        ];
        assert_eq!(check_ops(&ops, faults, options), alone);
        assert_eq!(super::check_ops_and_stats(&ops, faults, options), (alone.clone(), crate::stats::stats(&ops)));
        assert!(alone.iter().all(|r| r.verdict == crate::Verdict::Valid), "linearizable by construction");
    }

    /// Acked-write-loss and register-reads on one grouping give each its
    /// own result: on valid histories, on histories with wrong reads, and
    /// with keys whose every op failed (few ops over many keys).
    #[test]
    fn loss_and_register_reads_on_the_shared_grouping_are_the_checkers_themselves() {
        let mut rng = crate::testgen::Rng::new(7);
        for seed in 0..60 {
            let (ops_n, keys) = if seed % 3 == 0 { (150, 120) } else { (2_000, 1 + seed as i64 % 9) };
            let history = crate::testgen::linearizable_registers(seed, 1 + seed % 12, ops_n, keys);
            let mut ops = history.ops().expect("pairs");
            if seed % 2 == 1 {
                for op in ops.iter_mut().filter(|o| o.f == crate::F::Read) {
                    if rng.chance(3) {
                        op.result = crate::Value::One(crate::Elem::Int(rng.below(ops_n as u64) as i64));
                    }
                }
            }
            let faults = &history.faults;
            let keys = loss::by_key(&ops);
            assert_eq!(loss::check_grouped(&keys, faults), loss::check(&ops, faults), "seed {seed}");
            assert_eq!(
                collections::loss_and_registers_grouped(&keys, faults, crate::verdict::MAX_EVIDENCE),
                (loss::check(&ops, faults), collections::registers(&ops, faults)),
                "seed {seed}"
            );
        }
    }
}
