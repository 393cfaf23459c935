//! Acknowledged-write loss: writes the system said `ok` to that the final
//! state does not hold. The final state of a key is its last `ok` read (the
//! one invoked last); only writes acknowledged before that read was invoked
//! are judged, since a later one may simply not be visible to it yet.
//!
//! - set: an added element missing from the final `read-set`;
//! - list: an appended element missing from the final `read-list`;
//! - counter: the final `read-counter` below the sum of acknowledged
//!   increments (which ones were lost cannot be told, only how much);
//! - register: a write acknowledged after every write of the value the final
//!   `read` returned had completed (so it should have replaced that value),
//!   or any acknowledged write when the final read is nil.
//!
//! Each lost write is listed with the op that acknowledged it, the final read
//! and the faults active while it ran.

use crate::collections::register_write;
use crate::fasthash::group_by;
use crate::history::{Elem, F, FaultWindow, Held, Model, Op, Outcome, Value};
use crate::verdict::{CheckResult, Evidence, OpTexts};
use std::collections::{BTreeMap, BTreeSet};

/// The last `ok` read of each key (by invocation) of the given read kind.
pub fn final_reads(ops: &[Op], read: F) -> BTreeMap<&Elem, &Op> {
    let mut last = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f == read && o.outcome == Outcome::Ok) {
        last.insert(&op.key, op);
    }
    last
}

/// Acknowledged writes of every model missing from the final reads.
pub fn check(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    check_grouped(&by_key(ops), faults)
}

/// [`check`] on the ops already grouped by [`by_key`] (which the
/// register-reads checker shares: one grouping of the history, not two).
pub(crate) fn check_grouped(keys: &ByKey<'_>, faults: &[FaultWindow]) -> CheckResult {
    let mut result = check_grouped_but_registers(keys, faults, crate::verdict::MAX_EVIDENCE);
    for (key, ops) in model_keys(keys, Model::Register) {
        register_key(key, ops, faults, &mut result);
    }
    result
}

/// [`check_grouped`] up to its register keys, which the caller then judges
/// one at a time with [`register_key`], in key order (the register-reads
/// checker reads each key's ops right after, while they are in the cache).
pub(crate) fn check_grouped_but_registers(keys: &ByKey<'_>, faults: &[FaultWindow], room: usize) -> CheckResult {
    let mut result = CheckResult::with_room("acked-write-loss", room);
    elements(keys, faults, F::Add, F::ReadSet, &mut result);
    elements(keys, faults, F::Append, F::ReadList, &mut result);
    counters(keys, faults, &mut result);
    result
}

/// Each (model, key)'s ops, in invocation order.
pub(crate) type ByKey<'a> = BTreeMap<(Model, &'a Elem), Vec<&'a Op>>;

/// Every op grouped by (model, key), keys in order, ops in their order.
pub(crate) fn by_key(ops: &[Op]) -> ByKey<'_> {
    group_by(ops.iter(), |op| (op.f.model(), &op.key)).into_iter().collect()
}

/// The last `ok` read of `read` kind among one key's ops.
fn final_read<'a>(ops: &[&'a Op], read: F) -> Option<&'a Op> {
    ops.iter().rev().find(|o| o.f == read && o.outcome == Outcome::Ok).copied()
}

/// Ops of kind `f` acknowledged before `read` was invoked.
fn acked_before<'a>(ops: &[&'a Op], f: F, read: &Op) -> Vec<&'a Op> {
    ops.iter().filter(|o| o.f == f && o.outcome == Outcome::Ok && o.precedes(read)).copied().collect()
}

fn elements(keys: &ByKey<'_>, faults: &[FaultWindow], write: F, read: F, result: &mut CheckResult) {
    let mut texts = OpTexts::default();
    for (key, ops) in model_keys(keys, write.model()) {
        let Some(fin) = final_read(ops, read) else { continue };
        let present: BTreeSet<&Elem> = fin.result.elems().iter().collect();
        for op in acked_before(ops, write, fin) {
            result.count("acked", 1);
            let Value::One(e) = &op.value else { continue };
            if !present.contains(e) {
                result.count("lost", 1);
                result.violation_with(|| {
                    let what = format!("{} {e} acknowledged on key {key} is missing from the final read", write.name());
                    Evidence::with_texts(what, &[op, fin], faults, &mut texts)
                });
            }
        }
    }
}

/// The smallest key, to start a range of one model's keys.
const MIN_ELEM: Elem = Elem::Int(i64::MIN);

/// One model's keys and their ops.
pub(crate) fn model_keys<'k, 'a>(
    keys: &'k ByKey<'a>,
    model: Model,
) -> impl Iterator<Item = (&'a Elem, &'k Vec<&'a Op>)> {
    keys.range((model, &MIN_ELEM)..).take_while(move |((m, _), _)| *m == model).map(|((_, k), ops)| (*k, ops))
}

fn counters(keys: &ByKey<'_>, faults: &[FaultWindow], result: &mut CheckResult) {
    for (key, ops) in model_keys(keys, Model::Counter) {
        let Some(fin) = final_read(ops, F::ReadCounter) else { continue };
        let acked = acked_before(ops, F::Incr, fin);
        // i128: no sum of i64 amounts in a history can overflow it.
        let sum: i128 = acked.iter().filter_map(|o| o.value.int()).map(i128::from).sum();
        let value = i128::from(fin.result.int().unwrap_or(0));
        result.count("acked", acked.len() as u64);
        if value < sum {
            result.count("lost", u64::try_from(sum - value).unwrap_or(u64::MAX));
            let what = format!(
                "counter {key} reads {value} at the end but {} increments totalling {sum} were acknowledged before: \
                 at least {} lost (listed: the final read)",
                acked.len(),
                sum - value
            );
            result.violation_with(|| Evidence::new(what, &[fin], faults));
        }
    }
}

/// One register key's lost writes (its ops from [`by_key`]).
pub(crate) fn register_key(key: &Elem, ops: &[&Op], faults: &[FaultWindow], result: &mut CheckResult) {
    let Some(fin) = final_read(ops, F::Read) else { return };
    let seen = &fin.result;
    let held = Held::of(seen);
    // Writes of the value the final read saw (ok or info: either may have happened).
    let writers: Vec<&Op> =
        ops.iter().filter(|o| o.outcome != Outcome::Fail && register_write(o) == Some(held)).copied().collect();
    let mut acked = 0;
    for op in ops.iter().filter(|o| o.outcome == Outcome::Ok && o.precedes(fin)) {
        let Some(wrote) = register_write(op) else { continue };
        acked += 1;
        let replaced = *seen == Value::Nil || (!writers.is_empty() && writers.iter().all(|w| w.precedes(op)));
        if wrote != held && replaced {
            let value = wrote.to_value();
            result.count("lost", 1);
            let what = format!(
                "write of {value} to register {key} was acknowledged after every write of {seen} completed, \
                 yet the final read returns {seen}"
            );
            result.violation_with(|| Evidence::new(what, &[op, fin], faults));
        }
    }
    // Counted once a key (a count is made only when there is one to make).
    if acked > 0 {
        result.count("acked", acked);
    }
}
