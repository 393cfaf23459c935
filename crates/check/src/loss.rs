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

use crate::history::{Elem, F, FaultWindow, Model, Op, Outcome, Value};
use crate::verdict::{CheckResult, Evidence};
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
    let mut result = CheckResult::new("acked-write-loss");
    elements(ops, faults, F::Add, F::ReadSet, &mut result);
    elements(ops, faults, F::Append, F::ReadList, &mut result);
    counters(ops, faults, &mut result);
    registers(ops, faults, &mut result);
    result
}

/// Ops on `key` of kind `f` acknowledged before `read` was invoked.
fn acked_before<'a>(ops: &'a [Op], f: F, read: &'a Op) -> impl Iterator<Item = &'a Op> {
    ops.iter().filter(move |o| o.f == f && o.key == read.key && o.outcome == Outcome::Ok && o.precedes(read))
}

fn elements(ops: &[Op], faults: &[FaultWindow], write: F, read: F, result: &mut CheckResult) {
    for (key, fin) in final_reads(ops, read) {
        let present: BTreeSet<&Elem> = fin.result.elems().iter().collect();
        for op in acked_before(ops, write, fin) {
            result.count("acked", 1);
            let Value::One(e) = &op.value else { continue };
            if !present.contains(e) {
                result.count("lost", 1);
                let what = format!("{} {e} acknowledged on key {key} is missing from the final read", write.name());
                result.violation(Evidence::new(what, &[op, fin], faults));
            }
        }
    }
}

fn counters(ops: &[Op], faults: &[FaultWindow], result: &mut CheckResult) {
    for (key, fin) in final_reads(ops, F::ReadCounter) {
        let acked: Vec<&Op> = acked_before(ops, F::Incr, fin).collect();
        let sum: i64 = acked.iter().filter_map(|o| o.value.int()).sum();
        let value = fin.result.int().unwrap_or(0);
        result.count("acked", acked.len() as u64);
        if value < sum {
            result.count("lost", (sum - value).unsigned_abs());
            let what = format!(
                "counter {key} reads {value} at the end but {} increments totalling {sum} were acknowledged before: \
                 at least {} lost (listed: the final read)",
                acked.len(),
                sum - value
            );
            result.violation(Evidence::new(what, &[fin], faults));
        }
    }
}

fn registers(ops: &[Op], faults: &[FaultWindow], result: &mut CheckResult) {
    for (key, fin) in final_reads(ops, F::Read) {
        let seen = &fin.result;
        // Writes of the value the final read saw (ok or info: either may have happened).
        let writers: Vec<&Op> = ops
            .iter()
            .filter(|o| o.key == *key && o.f.model() == Model::Register && o.outcome != Outcome::Fail)
            .filter(|o| written(o).as_ref() == Some(seen))
            .collect();
        for op in ops.iter().filter(|o| o.key == *key && o.outcome == Outcome::Ok && o.precedes(fin)) {
            let Some(value) = written(op) else { continue };
            result.count("acked", 1);
            let replaced = *seen == Value::Nil || (!writers.is_empty() && writers.iter().all(|w| w.precedes(op)));
            if value != *seen && replaced {
                result.count("lost", 1);
                let what = format!(
                    "write of {value} to register {key} was acknowledged after every write of {seen} completed, \
                     yet the final read returns {seen}"
                );
                result.violation(Evidence::new(what, &[op, fin], faults));
            }
        }
    }
}

/// The value a register op writes, if it writes.
fn written(op: &Op) -> Option<Value> {
    match (op.f, &op.value) {
        (F::Write, v) => Some(v.clone()),
        (F::Cas, Value::Many(pair)) if pair.len() == 2 => Some(Value::One(pair[1].clone())),
        _ => None,
    }
}
