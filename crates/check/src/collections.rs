//! Counters, sets, lists and register reads, beyond loss (which
//! [`crate::loss`] judges) and linearizability ([`crate::linear`]):
//!
//! - counters: every `ok` read lies within what could have been applied by
//!   then: at least the increments acknowledged before it was invoked, at most
//!   those plus every increment (acknowledged or `info`) invoked before it
//!   returned; so the final value lies in `[acked, acked + info]`;
//! - sets: elements read that no add ever tried (unexpected), that only
//!   `fail`ed adds tried (failed yet present), and stale reads (an element
//!   acknowledged before the read was invoked, present at the end, missing);
//! - lists: the same, plus duplicated elements, reads that are not a prefix of
//!   the longest read (incompatible orders), and the final order against the
//!   order of acknowledgement (an append acknowledged before another was
//!   invoked must come first);
//! - register reads: values no op wrote, and stale reads (see [`registers`]).

use crate::fasthash::{FastMap, group_by};
use crate::history::{Elem, F, FaultWindow, Op, Outcome, Value};
use crate::loss::final_reads;
use crate::verdict::{CheckResult, Evidence};
use std::collections::{BTreeMap, BTreeSet};

/// Counter reads within their bounds.
pub fn counters(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    let mut result = CheckResult::new("counters");
    let mut keys: BTreeMap<&Elem, (Vec<&Op>, Vec<&Op>)> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome != Outcome::Fail) {
        match op.f {
            F::Incr => keys.entry(&op.key).or_default().0.push(op),
            F::ReadCounter if op.outcome == Outcome::Ok => keys.entry(&op.key).or_default().1.push(op),
            _ => {}
        }
    }
    for (key, (incrs, reads)) in keys {
        result.count("keys", 1);
        result.count("reads", reads.len() as u64);
        result.count("acked-increments", incrs.iter().filter(|o| o.outcome == Outcome::Ok).count() as u64);
        result.count("info-increments", incrs.iter().filter(|o| o.outcome == Outcome::Info).count() as u64);
        for read in reads {
            let (low, high) = bounds(&incrs, read);
            let value = read.result.int().unwrap_or(0);
            if value < low || value > high {
                let side = if value < low { "below" } else { "above" };
                result.count(if value < low { "reads-too-low" } else { "reads-too-high" }, 1);
                let what = format!("counter {key} read {value}, {side} the possible range [{low}, {high}]");
                result.violation_with(|| Evidence::new(what, &[read], faults));
            }
        }
    }
    result
}

/// The lowest and highest value `read` may see given the increments.
fn bounds(incrs: &[&Op], read: &Op) -> (i64, i64) {
    let (mut low, mut high) = (0i64, 0i64);
    for op in incrs {
        let n = op.value.int().unwrap_or(1);
        let certain = op.outcome == Outcome::Ok && op.precedes(read);
        let possible = op.invoke <= read.complete_or_max();
        if certain {
            low = low.saturating_add(n);
            high = high.saturating_add(n);
        } else if possible {
            low = low.saturating_add(n.min(0));
            high = high.saturating_add(n.max(0));
        }
    }
    (low, high)
}

/// What was tried on a key of a set or list: element -> the ops that added it.
fn attempts(ops: &[Op], write: F) -> Tried<'_> {
    let mut tried: Tried<'_> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f == write) {
        if let Value::One(e) = &op.value {
            tried.entry((&op.key, e)).or_default().push(op);
        }
    }
    tried
}

/// Set anomalies other than loss.
pub fn sets(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    let mut result = CheckResult::new("sets");
    elements(ops, faults, (F::Add, F::ReadSet), true, &mut result);
    result
}

/// List anomalies other than loss.
pub fn lists(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    lists_with(ops, faults, true)
}

/// [`lists`]; `screened: false` looks at every read in full (the tests compare).
pub(crate) fn lists_with(ops: &[Op], faults: &[FaultWindow], screened: bool) -> CheckResult {
    let mut result = CheckResult::new("lists");
    let may_repeat = elements(ops, faults, (F::Append, F::ReadList), screened, &mut result);
    duplicates(ops, faults, &may_repeat, &mut result);
    prefixes(ops, faults, &mut result);
    order(ops, faults, &mut result);
    result
}

/// Unexpected, failed-yet-present and stale elements in reads. Each read is
/// first cleared or not by a [`Screen`], with numbers alone; only a read it
/// does not clear gets the full look ([`look`]) that words the evidence. The
/// screen clears exactly the reads the full look would find nothing in, so
/// the result is the same as looking at every read (`screened: false`, which
/// the tests compare against), without building two sets of a long list's
/// elements per read: on an exploration seed of list appends that was most of
/// the seed's time. Returns, read by read, whether the read may hold an
/// element twice (the screen tells when it cannot; unscreened, every read may).
pub(crate) fn elements(
    ops: &[Op],
    faults: &[FaultWindow],
    (write, read): (F, F),
    screened: bool,
    result: &mut CheckResult,
) -> Vec<bool> {
    let tried = attempts(ops, write);
    let finals = final_reads(ops, read);
    let mut screen = Screen::new(&tried, &finals);
    let mut may_repeat = Vec::new();
    for op in ops.iter().filter(|o| o.f == read && o.outcome == Outcome::Ok) {
        result.count("reads", 1);
        let fin = finals.get(&op.key).copied().filter(|fin| fin.index != op.index);
        if screened {
            let seen = screen.read(op, fin.is_some());
            may_repeat.push(seen.may_repeat);
            if seen.clear {
                continue;
            }
        } else {
            may_repeat.push(true);
        }
        look(&tried, write, op, fin, faults, result);
    }
    may_repeat
}

/// One read in full: its unexpected and failed-yet-present elements, then
/// (when `fin` is the key's final read and not this one) its stale ones.
fn look(tried: &Tried<'_>, write: F, op: &Op, fin: Option<&Op>, faults: &[FaultWindow], result: &mut CheckResult) {
    let present: BTreeSet<&Elem> = op.result.elems().iter().collect();
    for e in &present {
        match tried.get(&(&op.key, *e)) {
            None => {
                result.count("unexpected", 1);
                result.violation_with(|| {
                    let what = format!("key {} read element {e}, which no {} ever tried", op.key, write.name());
                    Evidence::new(what, &[op], faults)
                });
            }
            Some(by) if by.iter().all(|w| w.outcome == Outcome::Fail || op.precedes(w)) => {
                result.count("failed-present", 1);
                result.violation_with(|| {
                    let what =
                        format!("key {} read element {e}, whose every {} failed or came later", op.key, write.name());
                    let mut shown = vec![op];
                    shown.extend(by.iter().copied());
                    Evidence::new(what, &shown, faults)
                });
            }
            Some(_) => {}
        }
    }
    let Some(fin) = fin else { return };
    let at_end: BTreeSet<&Elem> = fin.result.elems().iter().collect();
    stale(tried, op, &present, &at_end, faults, result);
}

/// What was tried on each key of a set or list, element by element.
type Tried<'a> = BTreeMap<(&'a Elem, &'a Elem), Vec<&'a Op>>;

/// What clears a read without a full look, per key.
struct Screen<'a> {
    keys: BTreeMap<&'a Elem, KeyScreen<'a>>,
    /// Bumped per read: `seen[i] == stamp` marks an element already counted in it.
    stamp: u64,
}

/// One key's elements ever tried, sorted, and per element: the earliest
/// invocation of a try that did not fail, the earliest completion of an
/// acknowledged try, whether the final read holds it; the sorted
/// acknowledgement times of the final read's acknowledged elements; and the
/// key's last read with its elements' positions in `elems`.
#[derive(Default)]
struct KeyScreen<'a> {
    elems: Vec<&'a Elem>,
    live_invoke: Vec<Option<u64>>,
    acked: Vec<Option<u64>>,
    in_final: Vec<bool>,
    final_acks: Vec<u64>,
    seen: Vec<u64>,
    last: Last<'a>,
}

/// A key's last read screened and where each of its elements is in
/// [`KeyScreen::elems`] ([`UNTRIED`]: nowhere). A list only grows by appends,
/// so the next read mostly starts with the last one: only its new tail is
/// searched for.
#[derive(Default)]
struct Last<'a> {
    read: &'a [Elem],
    at: Vec<u32>,
}

/// The position of an element no op tried.
const UNTRIED: u32 = u32::MAX;

/// What the screen made of one read.
struct Seen {
    /// The full look would find nothing in it.
    clear: bool,
    /// It may hold an element twice (else it holds each once).
    may_repeat: bool,
}

impl<'a> Screen<'a> {
    fn new(tried: &Tried<'a>, finals: &BTreeMap<&'a Elem, &'a Op>) -> Screen<'a> {
        let mut keys: BTreeMap<&'a Elem, KeyScreen<'a>> = BTreeMap::new();
        // The map is sorted by (key, element): each key's elements come sorted.
        for (&(key, e), by) in tried {
            let k = keys.entry(key).or_default();
            k.elems.push(e);
            k.live_invoke.push(by.iter().filter(|w| w.outcome != Outcome::Fail).map(|w| w.invoke).min());
            k.acked.push(by.iter().filter(|w| w.outcome == Outcome::Ok).filter_map(|w| w.complete).min());
            k.in_final.push(false);
            k.seen.push(0);
        }
        for (key, fin) in finals {
            let Some(k) = keys.get_mut(key) else { continue };
            for e in fin.result.elems() {
                if let Ok(i) = k.elems.binary_search(&e)
                    && !k.in_final[i]
                {
                    k.in_final[i] = true;
                    k.final_acks.extend(k.acked[i]);
                }
            }
            k.final_acks.sort_unstable();
        }
        Screen { keys, stamp: 0 }
    }

    /// Whether the full look at `op` would find nothing (`clear`): every
    /// element it holds was tried, not only by failed tries or tries after
    /// it, and (when `judge_stale`) it holds every element of the final read
    /// acknowledged before it was invoked; and whether it may hold an
    /// element twice.
    fn read(&mut self, op: &'a Op, judge_stale: bool) -> Seen {
        let elems = op.result.elems();
        let Some(k) = self.keys.get_mut(&op.key) else {
            return Seen { clear: elems.is_empty(), may_repeat: !elems.is_empty() };
        };
        self.stamp += 1;
        k.follow(elems);
        let (mut clear, mut may_repeat, mut covered) = (true, false, 0);
        for &i in &k.last.at {
            if i == UNTRIED {
                (clear, may_repeat) = (false, true);
                continue;
            }
            let i = i as usize;
            let failed_present = match (k.live_invoke[i], op.complete) {
                (None, _) => true,
                (Some(first), Some(done)) => done < first,
                (Some(_), None) => false,
            };
            clear &= !failed_present;
            if k.seen[i] == self.stamp {
                may_repeat = true;
            } else {
                k.seen[i] = self.stamp;
                covered += usize::from(k.in_final[i] && k.acked[i].is_some_and(|a| a < op.invoke));
            }
        }
        clear &= !judge_stale || covered == k.final_acks.partition_point(|&a| a < op.invoke);
        Seen { clear, may_repeat }
    }
}

impl<'a> KeyScreen<'a> {
    /// Makes `read` the last read: what it shares with the last one from the
    /// start keeps its positions, the rest is searched for.
    fn follow(&mut self, read: &'a [Elem]) {
        let kept = self.last.read.iter().zip(read).take_while(|(a, b)| a == b).count();
        self.last.at.truncate(kept);
        for e in &read[kept..] {
            let at = self.elems.binary_search(&e).map_or(UNTRIED, |i| u32::try_from(i).unwrap_or(UNTRIED));
            self.last.at.push(at);
        }
        self.last.read = read;
    }
}

/// Elements acknowledged before `read` was invoked, there at the end, missing from `read`.
fn stale(
    tried: &Tried<'_>,
    read: &Op,
    present: &BTreeSet<&Elem>,
    at_end: &BTreeSet<&Elem>,
    faults: &[FaultWindow],
    result: &mut CheckResult,
) {
    for e in at_end.iter().filter(|e| !present.contains(*e)) {
        let acked =
            tried.get(&(&read.key, *e)).and_then(|by| by.iter().find(|w| w.outcome == Outcome::Ok && w.precedes(read)));
        if let Some(w) = acked {
            result.count("stale-reads", 1);
            result.violation_with(|| {
                let what = format!("key {} read misses element {e}, acknowledged before the read began", read.key);
                Evidence::new(what, &[read, w], faults)
            });
        }
    }
}

/// Elements a list read holds twice; `may_repeat` says, read by read, which
/// reads need looking at (the others hold every element once).
fn duplicates(ops: &[Op], faults: &[FaultWindow], may_repeat: &[bool], result: &mut CheckResult) {
    let reads = ops.iter().filter(|o| o.f == F::ReadList && o.outcome == Outcome::Ok);
    for (op, _) in reads.zip(may_repeat).filter(|(_, may)| **may) {
        let mut seen = BTreeSet::new();
        let twice: BTreeSet<&Elem> = op.result.elems().iter().filter(|e| !seen.insert(*e)).collect();
        for e in twice {
            result.count("duplicated", 1);
            result.violation_with(|| {
                Evidence::new(format!("list {} read holds element {e} more than once", op.key), &[op], faults)
            });
        }
    }
}

/// Every list read must be a prefix of the longest read of its key.
fn prefixes(ops: &[Op], faults: &[FaultWindow], result: &mut CheckResult) {
    let reads: Vec<&Op> = ops.iter().filter(|o| o.f == F::ReadList && o.outcome == Outcome::Ok).collect();
    let mut longest: BTreeMap<&Elem, &Op> = BTreeMap::new();
    for r in &reads {
        let best = longest.entry(&r.key).or_insert(r);
        if r.result.elems().len() > best.result.elems().len() {
            *best = r;
        }
    }
    for r in reads {
        let long = longest[&r.key];
        if !long.result.elems().starts_with(r.result.elems()) {
            result.count("incompatible-reads", 1);
            result.violation_with(|| {
                let what =
                    format!("list {} read {} is not a prefix of the longest read {}", r.key, r.result, long.result);
                Evidence::new(what, &[r, long], faults)
            });
        }
    }
}

/// In the final read, an append acknowledged before another was invoked comes first.
fn order(ops: &[Op], faults: &[FaultWindow], result: &mut CheckResult) {
    let mut by_key: BTreeMap<&Elem, Vec<&Op>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f == F::Append && o.outcome == Outcome::Ok) {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, fin) in final_reads(ops, F::ReadList) {
        let position: BTreeMap<&Elem, usize> =
            fin.result.elems().iter().enumerate().rev().map(|(i, e)| (e, i)).collect();
        let mut appends: Vec<(&Op, usize)> = by_key
            .get(key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|o| o.precedes(fin))
            .filter_map(|o| match &o.value {
                Value::One(e) => position.get(e).map(|p| (o, *p)),
                _ => None,
            })
            .collect();
        // Sweep in invocation order, folding in appends completed before each one's call.
        let mut by_completion = appends.clone();
        by_completion.sort_by_key(|(o, _)| o.complete_or_max());
        appends.sort_by_key(|(o, _)| o.invoke);
        let mut done = 0;
        let mut latest: Option<(&Op, usize)> = None;
        for (op, pos) in appends {
            while done < by_completion.len() && by_completion[done].0.complete_or_max() < op.invoke {
                let candidate = by_completion[done];
                if latest.is_none_or(|l| candidate.1 > l.1) {
                    latest = Some(candidate);
                }
                done += 1;
            }
            if let Some((before, at)) = latest.filter(|l| l.1 > pos) {
                result.count("reordered", 1);
                result.violation_with(|| {
                    let what = format!(
                        "list {key} ends with {} at position {pos}, before {} at {at}, though that append was \
                         acknowledged before this one began",
                        op.value, before.value
                    );
                    Evidence::new(what, &[op, before, fin], faults)
                });
            }
        }
    }
}

/// Register reads that are wrong on their face, without a search (so they are
/// found even when the linearizability search runs out of budget): a read of
/// a value no op wrote, and a stale read: a value written once (or the
/// initial nil) returned although another write began after it completed and
/// itself completed before the read began, so the value had been replaced.
pub fn registers(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    let mut result = CheckResult::new("register-reads");
    let registers = ops.iter().filter(|o| o.f.model() == crate::history::Model::Register && o.outcome != Outcome::Fail);
    for (key, key_ops) in group_by(registers, |o| &o.key) {
        result.count("keys", 1);
        register_key(key, &key_ops, faults, &mut result);
    }
    result
}

/// The value a register op writes (a write's, or a cas's new value).
fn register_write(op: &Op) -> Option<Value> {
    match (op.f, &op.value) {
        (F::Write, v) => Some(v.clone()),
        (F::Cas, Value::Many(pair)) if pair.len() == 2 => Some(Value::One(pair[1].clone())),
        _ => None,
    }
}

fn register_key(key: &Elem, ops: &[&Op], faults: &[FaultWindow], result: &mut CheckResult) {
    // Looked up only, never iterated.
    let mut writers: FastMap<Value, Vec<&Op>> = FastMap::default();
    let mut acked: Vec<&Op> = Vec::new();
    for op in ops {
        if let Some(v) = register_write(op) {
            writers.entry(v).or_default().push(op);
            if op.outcome == Outcome::Ok {
                acked.push(op);
            }
        }
    }
    // Acknowledged writes by completion, with the latest invocation among those completed so far.
    acked.sort_by_key(|o| o.complete_or_max());
    let mut latest: Vec<&Op> = Vec::with_capacity(acked.len());
    for w in &acked {
        let keep = latest.last().filter(|l| l.invoke >= w.invoke).copied().unwrap_or(w);
        latest.push(keep);
    }
    for read in ops.iter().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok) {
        result.count("reads", 1);
        let seen = &read.result;
        let by = writers.get(seen).map_or(&[][..], Vec::as_slice);
        if *seen != Value::Nil && by.is_empty() {
            result.count("never-written", 1);
            let what = format!("register {key} read {seen}, which no op wrote");
            result.violation_with(|| Evidence::new(what, &[read], faults));
            continue;
        }
        // The value was set at most once: by its one writer, or (nil) at the start.
        let set_by = match (seen, by) {
            (Value::Nil, []) => None,
            (_, [one]) => Some(*one),
            _ => continue,
        };
        let done = acked.partition_point(|w| w.complete_or_max() < read.invoke);
        let Some(replacer) = done.checked_sub(1).map(|i| latest[i]) else { continue };
        let replaced = set_by.is_none_or(|s| s.complete.is_some_and(|c| c < replacer.invoke));
        if replaced {
            result.count("stale-reads", 1);
            let what = format!(
                "register {key} read {seen} after a write of {} that began after {seen} was written had completed",
                replacer.value
            );
            let mut shown = vec![*read, replacer];
            shown.extend(set_by);
            result.violation_with(|| Evidence::new(what, &shown, faults));
        }
    }
}
