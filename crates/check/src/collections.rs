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
use crate::history::{Elem, ElemsRef, F, FaultWindow, Held, Op, Outcome, Value};
use crate::loss::final_reads;
use crate::verdict::{CheckResult, Evidence, MAX_EVIDENCE, OpTexts};
use std::collections::{BTreeMap, BTreeSet};

/// Counter reads within their bounds.
pub fn counters(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    counters_with(ops, faults, MAX_EVIDENCE)
}

/// [`counters`], keeping `room` findings.
pub(crate) fn counters_with(ops: &[Op], faults: &[FaultWindow], room: usize) -> CheckResult {
    let mut result = CheckResult::with_room("counters", room);
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
    let mut tries: Vec<Try<'_>> = ops
        .iter()
        .filter(|o| o.f == write)
        .filter_map(|op| match &op.value {
            Value::One(e) => Some((&op.key, e, op)),
            _ => None,
        })
        .collect();
    // Stable: each element's tries stay in op order.
    tries.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    Tried { tries }
}

/// Set anomalies other than loss.
pub fn sets(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    sets_with(ops, faults, MAX_EVIDENCE)
}

/// [`sets`], keeping `room` findings.
pub(crate) fn sets_with(ops: &[Op], faults: &[FaultWindow], room: usize) -> CheckResult {
    let mut result = CheckResult::with_room("sets", room);
    elements(ops, faults, (F::Add, F::ReadSet), true, &mut result);
    result
}

/// List anomalies other than loss.
pub fn lists(ops: &[Op], faults: &[FaultWindow]) -> CheckResult {
    lists_with(ops, faults, true, MAX_EVIDENCE)
}

/// [`lists`], keeping `room` findings; `screened: false` looks at every
/// read in full (the tests compare).
pub(crate) fn lists_with(ops: &[Op], faults: &[FaultWindow], screened: bool, room: usize) -> CheckResult {
    let mut result = CheckResult::with_room("lists", room);
    let seen = elements(ops, faults, (F::Append, F::ReadList), screened, &mut result);
    let may_repeat: Vec<bool> = seen.iter().map(|s| s.may_repeat).collect();
    duplicates(ops, faults, &may_repeat, &mut result);
    let kept: Vec<Option<usize>> = seen.iter().map(|s| s.kept).collect();
    prefixes(ops, faults, &kept, &mut result);
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
/// the seed's time. Returns, read by read, what the screen saw of it
/// (unscreened: that every read may hold an element twice, and nothing of
/// what it shares with the read before).
pub(crate) fn elements(
    ops: &[Op],
    faults: &[FaultWindow],
    (write, read): (F, F),
    screened: bool,
    result: &mut CheckResult,
) -> Vec<Seen> {
    let tried = attempts(ops, write);
    let finals = final_reads(ops, read);
    let mut screen = Screen::new(&tried, &finals);
    let mut seen_all = Vec::new();
    for op in ops.iter().filter(|o| o.f == read && o.outcome == Outcome::Ok) {
        result.count("reads", 1);
        let fin = finals.get(&op.key).copied().filter(|fin| fin.index != op.index);
        let seen = match screened {
            true => screen.read(op, fin.is_some()),
            false => Seen { clear: false, may_repeat: true, kept: None },
        };
        let clear = seen.clear;
        seen_all.push(seen);
        if !clear {
            look(&tried, write, op, fin, faults, result);
        }
    }
    seen_all
}

/// One read in full: its unexpected and failed-yet-present elements, then
/// (when `fin` is the key's final read and not this one) its stale ones.
fn look(tried: &Tried<'_>, write: F, op: &Op, fin: Option<&Op>, faults: &[FaultWindow], result: &mut CheckResult) {
    let present: BTreeSet<&Elem> = op.result.elems().iter().collect();
    for e in &present {
        match tried.get(&op.key, e) {
            [] => {
                result.count("unexpected", 1);
                result.violation_with(|| {
                    let what = format!("key {} read element {e}, which no {} ever tried", op.key, write.name());
                    Evidence::new(what, &[op], faults)
                });
            }
            by if by.iter().all(|&(_, _, w)| w.outcome == Outcome::Fail || op.precedes(w)) => {
                result.count("failed-present", 1);
                result.violation_with(|| {
                    let what =
                        format!("key {} read element {e}, whose every {} failed or came later", op.key, write.name());
                    let mut shown = vec![op];
                    shown.extend(by.iter().map(|&(_, _, w)| w));
                    Evidence::new(what, &shown, faults)
                });
            }
            _ => {}
        }
    }
    let Some(fin) = fin else { return };
    let at_end: BTreeSet<&Elem> = fin.result.elems().iter().collect();
    stale(tried, op, &present, &at_end, faults, result);
}

/// One try: the key, the element and the op that tried to add it.
type Try<'a> = (&'a Elem, &'a Elem, &'a Op);

/// What was tried on each key of a set or list, element by element: every
/// try sorted by (key, element), each element's tries in op order. One
/// sorted list rather than a map of lists: an exploration seed's appends
/// are thousands of one-try elements, each a node entry and an allocation.
struct Tried<'a> {
    tries: Vec<Try<'a>>,
}

impl<'a> Tried<'a> {
    /// The tries of `e` on `key` (empty: never tried).
    fn get(&self, key: &Elem, e: &Elem) -> &[Try<'a>] {
        let start = self.tries.partition_point(|t| (t.0, t.1) < (key, e));
        let len = self.tries[start..].iter().take_while(|t| t.0 == key && t.1 == e).count();
        &self.tries[start..start + len]
    }

    /// Each (key, element) tried, in order, with its tries.
    fn groups(&self) -> impl Iterator<Item = &[Try<'a>]> {
        self.tries.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1)
    }
}

/// What clears a read without a full look, per key.
struct Screen<'a> {
    keys: BTreeMap<&'a Elem, KeyScreen<'a>>,
}

/// One key's elements ever tried, sorted, and per element: the earliest
/// invocation of a try that did not fail, the earliest completion of an
/// acknowledged try, whether the final read holds it; and the key's last
/// read, followed element by element ([`Last`]).
#[derive(Default)]
struct KeyScreen<'a> {
    elems: Vec<&'a Elem>,
    /// `elems` as numbers, when every one is an integer (a workload's
    /// are): searched side by side rather than through a reference each,
    /// which was most of the screen's time.
    ints: Option<Vec<i64>>,
    live_invoke: Vec<Option<u64>>,
    acked: Vec<Option<u64>>,
    in_final: Vec<bool>,
    last: Last<'a>,
}

/// A key's last read screened, and what the screen asks of it, kept up to
/// date as elements leave its end and join it: a list only grows by
/// appends, so the next read mostly starts with the last one, and only its
/// new tail is looked at.
struct Last<'a> {
    read: ElemsRef<'a>,
    /// Where each element of `read` is in [`KeyScreen::elems`] ([`UNTRIED`]: nowhere).
    at: Vec<u32>,
    /// Per prefix of `read`, the latest [`KeyScreen::live_invoke`] among
    /// its elements (`u64::MAX` once one was never tried, or only by
    /// failed tries).
    latest: Vec<u64>,
    /// How many times each of [`KeyScreen::elems`] is in `read`.
    times: Vec<u32>,
    /// Elements of `read` that are untried or repeat an earlier one.
    repeats: usize,
    /// The final read's acknowledged elements that `read` lacks, by
    /// acknowledgement time.
    missing: BTreeSet<(u64, u32)>,
}

impl Default for Last<'_> {
    fn default() -> Self {
        Last {
            read: ElemsRef::EMPTY,
            at: Vec::new(),
            latest: Vec::new(),
            times: Vec::new(),
            repeats: 0,
            missing: BTreeSet::new(),
        }
    }
}

/// The position of an element no op tried.
const UNTRIED: u32 = u32::MAX;

/// What the screen made of one read.
pub(crate) struct Seen {
    /// The full look would find nothing in it.
    clear: bool,
    /// It may hold an element twice (else it holds each once).
    may_repeat: bool,
    /// How many elements it begins with that the key's read before (in
    /// op order; none before the first) began with too, when followed.
    kept: Option<usize>,
}

impl<'a> Screen<'a> {
    fn new(tried: &Tried<'a>, finals: &BTreeMap<&'a Elem, &'a Op>) -> Screen<'a> {
        let mut keys: BTreeMap<&'a Elem, KeyScreen<'a>> = BTreeMap::new();
        // The tries are sorted by (key, element): each key's elements come sorted.
        for by in tried.groups() {
            let (key, e, _) = by[0];
            let k = keys.entry(key).or_default();
            k.elems.push(e);
            let by = by.iter().map(|&(_, _, w)| w);
            k.live_invoke.push(by.clone().filter(|w| w.outcome != Outcome::Fail).map(|w| w.invoke).min());
            k.acked.push(by.filter(|w| w.outcome == Outcome::Ok).filter_map(|w| w.complete.get()).min());
            k.in_final.push(false);
            k.last.times.push(0);
        }
        for k in keys.values_mut() {
            k.ints = k.elems.iter().map(|e| if let Elem::Int(n) = e { Some(*n) } else { None }).collect();
        }
        for (key, fin) in finals {
            let Some(k) = keys.get_mut(key) else { continue };
            for e in fin.result.elems().iter() {
                if let Some(i) = k.position(e)
                    && !k.in_final[i]
                {
                    k.in_final[i] = true;
                    if let Some(a) = k.acked[i] {
                        k.last.missing.insert((a, i as u32));
                    }
                }
            }
        }
        Screen { keys }
    }

    /// Whether the full look at `op` would find nothing (`clear`): every
    /// element it holds was tried, not only by failed tries or tries after
    /// it, and (when `judge_stale`) it holds every element of the final read
    /// acknowledged before it was invoked; and whether it may hold an
    /// element twice.
    fn read(&mut self, op: &'a Op, judge_stale: bool) -> Seen {
        let elems = op.result.elems();
        let Some(k) = self.keys.get_mut(&op.key) else {
            return Seen { clear: elems.is_empty(), may_repeat: !elems.is_empty(), kept: None };
        };
        let kept = k.follow(elems);
        let last = &k.last;
        let latest = last.latest.last().copied().unwrap_or(0);
        // Present though only failed tries, or tries invoked after the read
        // returned, could have put it there.
        let failed_present = latest == u64::MAX || op.complete.is_some_and(|done| done < latest);
        let stale = judge_stale && last.missing.first().is_some_and(|&(acked, _)| acked < op.invoke);
        Seen { clear: !failed_present && !stale, may_repeat: last.repeats > 0, kept: Some(kept) }
    }
}

impl<'a> KeyScreen<'a> {
    /// Where `e` is among the key's elements tried.
    fn position(&self, e: &Elem) -> Option<usize> {
        let at = match (&self.ints, e) {
            (Some(ints), Elem::Int(n)) => ints.binary_search(n).ok(),
            // Every element tried is an integer.
            (Some(_), Elem::Str(_)) => None,
            (None, _) => self.elems.binary_search(&e).ok(),
        };
        debug_assert_eq!(at, self.elems.binary_search(&e).ok(), "the numbers are the elements");
        at
    }

    /// Makes `read` the last read: what it shares with the last one from the
    /// start is kept, the rest of the last one leaves and the rest of
    /// `read` joins. Gives how many it kept.
    fn follow(&mut self, read: ElemsRef<'a>) -> usize {
        // The same elements in memory (a workload's clients share the
        // reading of a list read again unchanged): all kept, nothing to
        // compare, nothing leaves or joins.
        if read.same(self.last.read) {
            debug_assert!(self.last.at.len() == read.len(), "the last read is followed whole");
            return read.len();
        }
        // A list read again after appends shares the last reading's first
        // parts: those are kept without a comparison.
        let kept = self.last.read.common_prefix(read, 0);
        while self.last.at.len() > kept {
            let at = self.last.at.pop().expect("longer than kept");
            self.leave(at);
        }
        self.last.latest.truncate(kept);
        for e in read.iter_from(kept) {
            let at = self.position(e).map_or(UNTRIED, |i| u32::try_from(i).unwrap_or(UNTRIED));
            self.join(at);
        }
        self.last.read = read;
        kept
    }

    /// The element at `at` joins the end of the last read.
    fn join(&mut self, at: u32) {
        let last = &mut self.last;
        last.at.push(at);
        let before = last.latest.last().copied().unwrap_or(0);
        if at == UNTRIED {
            last.repeats += 1;
            last.latest.push(u64::MAX);
            return;
        }
        let i = at as usize;
        last.latest.push(before.max(self.live_invoke[i].unwrap_or(u64::MAX)));
        last.times[i] += 1;
        match last.times[i] {
            1 => {
                if let (true, Some(a)) = (self.in_final[i], self.acked[i]) {
                    last.missing.remove(&(a, at));
                }
            }
            _ => last.repeats += 1,
        }
    }

    /// The element at `at` leaves the end of the last read.
    fn leave(&mut self, at: u32) {
        let last = &mut self.last;
        if at == UNTRIED {
            last.repeats -= 1;
            return;
        }
        let i = at as usize;
        last.times[i] -= 1;
        match last.times[i] {
            0 => {
                if let (true, Some(a)) = (self.in_final[i], self.acked[i]) {
                    last.missing.insert((a, at));
                }
            }
            _ => last.repeats -= 1,
        }
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
        let acked = tried.get(&read.key, e).iter().find(|(_, _, w)| w.outcome == Outcome::Ok && w.precedes(read));
        if let Some(&(_, _, w)) = acked {
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
/// `kept` gives, read by read, what it shares with the key's read before
/// when the screen knows: then only what neither tells is compared
/// ([`common_with_longest`]).
fn prefixes(ops: &[Op], faults: &[FaultWindow], kept: &[Option<usize>], result: &mut CheckResult) {
    let reads: Vec<&Op> = ops.iter().filter(|o| o.f == F::ReadList && o.outcome == Outcome::Ok).collect();
    let mut longest: BTreeMap<&Elem, &Op> = BTreeMap::new();
    for r in &reads {
        let best = longest.entry(&r.key).or_insert(r);
        if r.result.elems().len() > best.result.elems().len() {
            *best = r;
        }
    }
    let mut texts = OpTexts::default();
    // The longest reads' results in words, each written once.
    let mut words: BTreeMap<usize, String> = BTreeMap::new();
    // Per key, how many elements its read before shares with the longest.
    let mut common: BTreeMap<&Elem, usize> = BTreeMap::new();
    for (i, r) in reads.into_iter().enumerate() {
        let long = longest[&r.key];
        let before = common.entry(&r.key).or_insert(0);
        *before = common_with_longest(r.result.elems(), long.result.elems(), *before, kept.get(i).copied().flatten());
        if *before != r.result.elems().len() {
            result.count("incompatible-reads", 1);
            result.violation_with(|| {
                let longest = words.entry(long.index).or_insert_with(|| long.result.to_string());
                let what = format!("list {} read {} is not a prefix of the longest read {longest}", r.key, r.result);
                Evidence::with_texts(what, &[r, long], faults, &mut texts)
            });
        }
    }
}

/// How many elements `read` begins with that `longest` begins with too,
/// given how many the key's read before shares with `longest` (`before`)
/// and with `read` (`kept`, when known). That read differs from `longest`
/// at `before` (or ends there), so `read` does too if it kept more than
/// `before`, and differs at `kept` (or ends there) if it kept less; only
/// when the two are equal is anything compared, from there on.
fn common_with_longest(read: ElemsRef<'_>, longest: ElemsRef<'_>, before: usize, kept: Option<usize>) -> usize {
    let from = match kept {
        Some(kept) if kept > before => return before,
        Some(kept) if kept < before => return kept,
        Some(_) => before,
        None => 0,
    };
    read.common_prefix(longest, from)
}

/// In the final read, an append acknowledged before another was invoked comes first.
fn order(ops: &[Op], faults: &[FaultWindow], result: &mut CheckResult) {
    let mut by_key: BTreeMap<&Elem, Vec<&Op>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f == F::Append && o.outcome == Outcome::Ok) {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, fin) in final_reads(ops, F::ReadList) {
        // Each element's first position: sorted by element, then position.
        let mut position: Vec<(&Elem, usize)> = fin.result.elems().iter().enumerate().map(|(i, e)| (e, i)).collect();
        position.sort_unstable();
        position.dedup_by(|later, first| later.0 == first.0);
        let first_at = |e: &Elem| position.binary_search_by(|(x, _)| (*x).cmp(e)).ok().map(|at| position[at].1);
        let mut appends: Vec<(&Op, usize)> = by_key
            .get(key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|o| o.precedes(fin))
            .filter_map(|o| match &o.value {
                Value::One(e) => first_at(e).map(|p| (o, p)),
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

/// Acked-write-loss and register-reads together on one grouping: each
/// register key's ops are judged by one and then the other while they are
/// still in the cache (a history's ops are megabytes, a key's scattered
/// among them: judged in two separate passes over all keys, every op was
/// fetched from memory twice). Each checker sees its keys in the same order
/// as on its own, so the results are [`crate::loss::check_grouped`]'s and
/// [`registers`]'s (a key's ops but `fail` ones, in their order; a key with
/// none left out).
pub(crate) fn loss_and_registers_grouped(
    keys: &crate::loss::ByKey<'_>,
    faults: &[FaultWindow],
    room: usize,
) -> (CheckResult, CheckResult) {
    let mut loss = crate::loss::check_grouped_but_registers(keys, faults, room);
    let mut result = CheckResult::with_room("register-reads", room);
    let mut key_ops: Vec<&Op> = Vec::new();
    for (key, ops) in crate::loss::model_keys(keys, crate::history::Model::Register) {
        crate::loss::register_key(key, ops, faults, &mut loss);
        key_ops.clear();
        key_ops.extend(ops.iter().copied().filter(|o| o.outcome != Outcome::Fail));
        if key_ops.is_empty() {
            continue;
        }
        result.count("keys", 1);
        register_key(key, &key_ops, faults, &mut result);
    }
    (loss, result)
}

/// The value a register op writes (a write's, or a cas's new value).
pub(crate) fn register_write(op: &Op) -> Option<Held<'_>> {
    match (op.f, &op.value) {
        (F::Write, v) => Some(Held::of(v)),
        (F::Cas, Value::Many(pair)) if pair.len() == 2 => Some(Held::One(&pair[1])),
        _ => None,
    }
}

fn register_key(key: &Elem, ops: &[&Op], faults: &[FaultWindow], result: &mut CheckResult) {
    // Per value written: how many ops write it and the first (the checks
    // below tell none, one and several apart). Looked up only, never iterated.
    let mut writers: FastMap<Held<'_>, (usize, &Op)> = FastMap::with_capacity_and_hasher(ops.len(), Default::default());
    let mut acked: Vec<&Op> = Vec::new();
    for op in ops {
        if let Some(v) = register_write(op) {
            writers.entry(v).or_insert((0, op)).0 += 1;
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
    // The acked writes completed before a read's invocation: found by
    // moving on from the last read's count while reads come in invocation
    // order (as a key's ops do), by a binary search otherwise.
    let (mut reads, mut done, mut last_invoke) = (0, 0, 0);
    for read in ops.iter().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok) {
        reads += 1;
        let seen = &read.result;
        let by = writers.get(&Held::of(seen)).copied();
        if *seen != Value::Nil && by.is_none() {
            result.count("never-written", 1);
            let what = format!("register {key} read {seen}, which no op wrote");
            result.violation_with(|| Evidence::new(what, &[read], faults));
            continue;
        }
        // The value was set at most once: by its one writer, or (nil) at the start.
        let set_by = match (seen, by) {
            (Value::Nil, None) => None,
            (_, Some((1, one))) => Some(one),
            _ => continue,
        };
        if read.invoke >= last_invoke {
            while done < acked.len() && acked[done].complete_or_max() < read.invoke {
                done += 1;
            }
        } else {
            done = acked.partition_point(|w| w.complete_or_max() < read.invoke);
        }
        last_invoke = read.invoke;
        debug_assert_eq!(done, acked.partition_point(|w| w.complete_or_max() < read.invoke));
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
    // Counted once a key (a count is made only when there is one to make).
    if reads > 0 {
        result.count("reads", reads);
    }
}
