//! Linearizability of single-key registers: Wing & Gong's search with Lowe's
//! just-in-time linearization, per key (P-compositionality: a history of
//! independent registers is linearizable iff each key's sub-history is, as
//! Porcupine decomposes it), with memoization of (linearized set, state).
//!
//! The search walks the history's call and return entries in time order. At a
//! call it tries to linearize that operation now (the register's state allows
//! it and this (set, state) was not seen before): it lifts the call and its
//! return out of the list and starts again from the front. At a return whose
//! operation is not yet linearized, the prefix chosen so far cannot be
//! extended, so it backtracks. `fail` operations never took effect and are left
//! out; `info` operations (and unfinished ones) return at +infinity: they may
//! take effect at any point after their call, or never, so reaching one of
//! their returns means every definite operation found its place. `info` reads
//! constrain nothing and are left out.
//!
//! Three cuts keep it near-linear on long histories with many clients (a
//! 10,000-op single-key history with 20 clients takes some 200,000 steps where
//! the plain search runs out of any budget), each checked against brute force
//! by the property tests to change no verdict (the first two are argued here):
//! - a read that matched the state when it was linearized is never undone
//!   alone (it changes nothing, so if nothing works after it, nothing works
//!   before it either);
//! - the register never leaves a value written once while a read of that
//!   value is still to be placed (it could never hold it again);
//! - an `info` write of a value no read returns and no cas expects is left
//!   out (if it took effect, it was overwritten unseen).
//!
//! The search is bounded in steps, not wall time: past the budget a key's
//! verdict is `unknown`. Keys are searched smallest first, so the first
//! invalid key is the smallest failing one.

use crate::fasthash::{FastMap, FastSet, group_by};
use crate::history::{Elem, ElemsRef, F, Model, Op, Outcome, Value};
use crate::verdict::{CheckResult, Evidence, Verdict};
use std::collections::{BTreeMap, BTreeSet};

/// The default step budget of a whole history.
pub const DEFAULT_BUDGET_STEPS: u64 = 10_000_000;

/// Checks every register key of `ops` within `budget_steps` search steps in all.
pub fn check(ops: &[Op], faults: &[crate::history::FaultWindow], budget_steps: u64) -> CheckResult {
    check_with(ops, faults, budget_steps, crate::verdict::MAX_EVIDENCE)
}

/// [`check`], keeping `room` findings.
pub(crate) fn check_with(
    ops: &[Op],
    faults: &[crate::history::FaultWindow],
    budget_steps: u64,
    room: usize,
) -> CheckResult {
    let mut result = CheckResult::with_room("linearizable-registers", room);
    let mut keys = by_key(ops);
    keys.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(b.0)));
    let mut left = budget_steps;
    let mut verdict = Verdict::Valid;
    // One key's rows at a time, in one buffer: rows for the whole history
    // at once were megabytes of memory touched for the first time.
    let mut key_ops = Vec::new();
    for (key, group, kept) in &keys {
        rows_of(group, &mut key_ops);
        debug_assert_eq!(key_ops.len(), *kept);
        let key_ops = &key_ops[..];
        result.count("keys", 1);
        result.count("ops", key_ops.len() as u64);
        let outcome = search(key_ops, left);
        left = left.saturating_sub(outcome.steps);
        result.count("steps", outcome.steps);
        match outcome.verdict {
            Verdict::Valid => result.count("keys-valid", 1),
            Verdict::Unknown => result.count("keys-unknown", 1),
            Verdict::Invalid => {
                result.count("keys-invalid", 1);
                if let Some(failure) = &outcome.failure {
                    result.violation(evidence(key, key_ops, failure, faults));
                }
            }
        }
        verdict = verdict.combine(outcome.verdict);
    }
    result.verdict = verdict;
    result
}

/// A value as the search compares it: a [`Value`] seen through references,
/// an integer copied. Two are equal exactly when the values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum V<'a> {
    Nil,
    Int(i64),
    Str(&'a str),
    Many(ElemsRef<'a>),
}

impl<'a> V<'a> {
    fn of(v: &'a Value) -> V<'a> {
        match v {
            Value::Nil => V::Nil,
            Value::One(e) => V::elem(e),
            Value::Many(es) => V::Many(es.as_ref()),
        }
    }

    fn elem(e: &'a Elem) -> V<'a> {
        match e {
            Elem::Int(n) => V::Int(*n),
            Elem::Str(s) => V::Str(s),
        }
    }

    /// An element as [`Elem`]'s `Display` writes it.
    fn text(self) -> String {
        match self {
            V::Int(n) => Elem::Int(n).to_string(),
            V::Str(s) => format!("{s:?}"),
            V::Nil | V::Many(_) => String::new(),
        }
    }
}

/// A register op as the search reads it, copied out of the op: the filter
/// and the search then read a key's rows one after another instead of its
/// ops, each a few cache lines somewhere in a history of 100,000s. A key's
/// rows are built twice, to count them and to search them, in one buffer
/// reused from key to key.
#[derive(Clone, Copy, Debug)]
struct Row<'a> {
    op: &'a Op,
    f: F,
    outcome: Outcome,
    invoke: u64,
    /// When it returned: an `ok` op's completion, any other never.
    ret: u64,
    /// A read's result; a write's or cas's argument (the one a search reads).
    arg: V<'a>,
}

impl<'a> Row<'a> {
    fn new(op: &'a Op) -> Row<'a> {
        Row {
            op,
            f: op.f,
            outcome: op.outcome,
            invoke: op.invoke,
            ret: if op.outcome == Outcome::Ok { op.complete_or_max() } else { u64::MAX },
            arg: V::of(if op.f == F::Read { &op.result } else { &op.value }),
        }
    }
}

/// Each key's register operations that can matter: not `fail` ones, not
/// `info` reads, and not `info` writes of a value no `ok` read returns and no
/// cas expects. Such a write, if it took effect, was overwritten before anyone
/// could tell (nothing can follow it but another write), so leaving it out
/// changes no verdict, and it spares the search from trying it everywhere.
///
/// Each key with its ops (those not `fail`) and how many rows it keeps
/// ([`rows_of`]); keys that keep none are left out.
fn by_key(ops: &[Op]) -> Vec<(&Elem, Vec<&Op>, usize)> {
    let registers = ops.iter().filter(|o| o.f.model() == Model::Register && o.outcome != Outcome::Fail);
    let mut rows = Vec::new();
    let mut keys: Vec<(&Elem, Vec<&Op>, usize)> = group_by(registers, |o| &o.key)
        .into_iter()
        .map(|(key, key_ops)| {
            let kept = kept_rows(&key_ops, &mut rows);
            (key, key_ops, kept)
        })
        .collect();
    keys.retain(|(_, _, kept)| *kept > 0);
    keys
}

/// How many rows [`rows_of`] keeps of one key's ops: counted from the ops
/// when the key has no `info` write (then the rows kept are the `ok` ops and
/// every cas), built in `rows` otherwise.
fn kept_rows<'a>(key_ops: &[&'a Op], rows: &mut Vec<Row<'a>>) -> usize {
    let kept = if key_ops.iter().any(|o| o.outcome == Outcome::Info && o.f == F::Write) {
        rows_of(key_ops, rows);
        rows.len()
    } else {
        key_ops.iter().filter(|o| o.outcome == Outcome::Ok || o.f == F::Cas).count()
    };
    debug_assert_eq!(kept, {
        rows_of(key_ops, rows);
        rows.len()
    });
    kept
}

/// The rows of one key's ops (from [`by_key`]) that can matter, into `rows`.
fn rows_of<'a>(key_ops: &[&'a Op], rows: &mut Vec<Row<'a>>) {
    rows.clear();
    rows.extend(key_ops.iter().map(|o| Row::new(o)));
    if rows.iter().any(|r| r.outcome == Outcome::Info && r.f == F::Write) {
        let observed = observed(rows);
        rows.retain(|r| r.outcome != Outcome::Info || r.f == F::Cas || (r.f == F::Write && observed.contains(&r.arg)));
    } else {
        rows.retain(|r| r.outcome == Outcome::Ok || r.f == F::Cas);
    }
}

/// The values of one key that an `ok` read returned or a cas expected.
fn observed<'a>(rows: &[Row<'a>]) -> BTreeSet<V<'a>> {
    let mut observed = BTreeSet::new();
    for r in rows {
        match (r.f, r.arg) {
            (F::Read, _) if r.outcome == Outcome::Ok => {
                observed.insert(r.arg);
            }
            (F::Cas, V::Many(pair)) if pair.len() == 2 => {
                observed.insert(V::elem(pair.get(0).expect("a pair")));
            }
            _ => {}
        }
    }
    observed
}

/// What one operation does to the register, values numbered (0 is nil).
#[derive(Clone, Copy, Debug)]
enum Action {
    Write(u32),
    Read(u32),
    Cas(u32, u32),
}

impl Action {
    /// The state after the action, or `None` if it cannot happen in `state`.
    fn step(self, state: u32) -> Option<u32> {
        match self {
            Action::Write(v) => Some(v),
            Action::Read(v) => (v == state).then_some(state),
            Action::Cas(from, to) => (from == state).then_some(to),
        }
    }
}

/// Numbers values (elements: `V::Int` or `V::Str`) in order of appearance; nil is 0.
#[derive(Default)]
struct Values<'a>(FastMap<V<'a>, u32>);

impl<'a> Values<'a> {
    fn id(&mut self, e: V<'a>) -> u32 {
        let next = self.0.len() as u32 + 1;
        *self.0.entry(e).or_insert(next)
    }

    fn of(&mut self, v: V<'a>) -> u32 {
        match v {
            V::Int(_) | V::Str(_) => self.id(v),
            V::Nil | V::Many(_) => 0,
        }
    }

    fn action(&mut self, r: &Row<'a>) -> Action {
        match (r.f, r.arg) {
            (F::Write, v) => Action::Write(self.of(v)),
            (F::Cas, V::Many(pair)) if pair.len() == 2 => Action::Cas(
                self.id(V::elem(pair.get(0).expect("a pair"))),
                self.id(V::elem(pair.get(1).expect("a pair"))),
            ),
            // A malformed cas can never apply: an expected value nothing holds.
            (F::Cas, _) => Action::Cas(u32::MAX, u32::MAX),
            (_, v) => Action::Read(self.of(v)),
        }
    }
}

/// Where the deepest attempt got stuck.
#[derive(Clone, Debug)]
struct Failure {
    /// The operation that could not be linearized before its return.
    blocked: usize,
    /// How many operations were linearized before it (the longest prefix).
    depth: usize,
    /// The last few linearized operations, oldest first, with the state after each.
    tail: Vec<(usize, u32)>,
    /// Operations called but not linearized at that point (concurrent candidates).
    pending: Vec<usize>,
}

/// A key's search result.
struct KeyOutcome {
    verdict: Verdict,
    steps: u64,
    failure: Option<Failure>,
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;
/// How many linearized operations and candidates evidence shows.
const EVIDENCE_OPS: usize = 6;

/// The call and return entries as a doubly linked list (dancing links), entry
/// 0 the head. Entry `1 + 2i` / `2 + 2i` are op `i`'s call / return once sorted.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per entry: the op and whether it is a call.
    what: Vec<(usize, bool)>,
    /// Per op: its call entry and return entry.
    pos: Vec<(usize, usize)>,
}

impl Entries {
    fn new(calls: &[u64], returns: &[u64]) -> Entries {
        let n = calls.len();
        // Ordered by (time, returns after calls at the same instant, op):
        // equal times are concurrent. Calls come sorted (ops are in call
        // order) and returns nearly so; each is sorted apart (a run-finding
        // sort) and the two merged.
        let sorted = |times: &[u64]| {
            let mut v: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            if !v.is_sorted() {
                v.sort();
            }
            v
        };
        let (calls, returns) = (sorted(calls), sorted(returns));
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
        let (mut c, mut r) = (0, 0);
        while c < n || r < n {
            if c < n && (r == n || calls[c].0 <= returns[r].0) {
                order.push((calls[c].0, false, calls[c].1));
                c += 1;
            } else {
                order.push((returns[r].0, true, returns[r].1));
                r += 1;
            }
        }
        let len = order.len() + 1;
        let mut what = vec![(NIL, false); len];
        let mut pos = vec![(NIL, NIL); n];
        for (k, &(_, is_return, op)) in order.iter().enumerate() {
            what[k + 1] = (op, !is_return);
            if is_return { pos[op].1 = k + 1 } else { pos[op].0 = k + 1 }
        }
        let next = (0..len).map(|k| if k + 1 < len { k + 1 } else { NIL }).collect();
        let prev = (0..len).map(|k| if k == 0 { NIL } else { k - 1 }).collect();
        Entries { next, prev, what, pos }
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NIL {
            self.prev[n] = e;
        }
    }

    /// Takes an op's call and return out of the list.
    fn lift(&mut self, op: usize) {
        let (c, r) = self.pos[op];
        self.unlink(c);
        self.unlink(r);
    }

    /// Puts them back (in the reverse order of `lift`).
    fn unlift(&mut self, op: usize) {
        let (c, r) = self.pos[op];
        self.relink(r);
        self.relink(c);
    }
}

/// The linearized set of ops (by position in call order), with a compact form
/// for the memo.
struct Linearized {
    words: Vec<u64>,
    count: usize,
}

impl Linearized {
    fn new(n: usize) -> Linearized {
        Linearized { words: vec![0; n.div_ceil(64)], count: 0 }
    }

    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        self.count += 1;
    }

    fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
        self.count -= 1;
    }

    /// The set as (one past its highest member, the non-members below that):
    /// small, as the set is nearly a prefix of the ops in call order, its
    /// holes the few ops pending and the `info` ops never linearized.
    fn key(&self, state: u32) -> MemoKey {
        let top_word = self.words.iter().rposition(|w| *w != 0);
        let top = top_word.map_or(0, |i| i * 64 + 64 - self.words[i].leading_zeros() as usize);
        let mut holes = Vec::with_capacity(top - self.count);
        for (i, w) in self.words.iter().enumerate().take(top.div_ceil(64)) {
            let mut missing = !*w;
            while missing != 0 {
                let bit = i * 64 + missing.trailing_zeros() as usize;
                if bit >= top {
                    break;
                }
                holes.push(bit as u32);
                missing &= missing - 1;
            }
        }
        MemoKey { state, top: top as u32, holes: holes.into_boxed_slice() }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct MemoKey {
    state: u32,
    top: u32,
    holes: Box<[u32]>,
}

/// Membership only, never iterated, so the order a hash set would give never
/// reaches a verdict or the evidence.
type Memo = FastSet<MemoKey>;

/// Per value: how many `ok` reads of it are not linearized yet, and how many
/// ops write it (the initial nil counts as a write of nil). Values here are
/// usually written once; then once the register leaves a value it never
/// holds it again, so leaving it while one of its reads is still to be
/// placed is a dead end, cut at once rather than found out later.
struct Pending {
    reads_left: Vec<u32>,
    writers: Vec<u32>,
}

impl Pending {
    fn new(actions: &[Action], values: usize) -> Pending {
        let mut p = Pending { reads_left: vec![0; values + 1], writers: vec![0; values + 1] };
        p.writers[0] = 1;
        for a in actions {
            match *a {
                Action::Read(v) => p.reads_left[v as usize] += 1,
                Action::Write(v) | Action::Cas(_, v) if (v as usize) < p.writers.len() => p.writers[v as usize] += 1,
                _ => {}
            }
        }
        p
    }

    /// Whether going from `state` to `after` may still lead somewhere.
    fn may_leave(&self, state: u32, after: u32) -> bool {
        let s = state as usize;
        after == state || self.writers[s] != 1 || self.reads_left[s] == 0
    }

    fn placed(&mut self, action: Action, undo: bool) {
        if let Action::Read(v) = action {
            let left = &mut self.reads_left[v as usize];
            *left = if undo { *left + 1 } else { *left - 1 };
        }
    }
}

/// The search over one key's operations: the list, the linearized set and
/// stack, the memo, and the best dead end seen (for evidence).
struct Search {
    actions: Vec<Action>,
    returns: Vec<u64>,
    list: Entries,
    lin: Linearized,
    memo: Memo,
    /// Whether the memo is kept yet: only from the first backtrack on (see
    /// [`Search::backtrack`]).
    memo_kept: bool,
    pending: Pending,
    stack: Vec<(usize, u32)>,
    state: u32,
    failure: Option<Failure>,
}

impl Search {
    fn new(ops: &[Row<'_>]) -> Search {
        let mut values = Values(FastMap::with_capacity_and_hasher(ops.len(), Default::default()));
        let actions: Vec<Action> = ops.iter().map(|o| values.action(o)).collect();
        let calls: Vec<u64> = ops.iter().map(|o| o.invoke).collect();
        let returns: Vec<u64> = ops.iter().map(|o| o.ret).collect();
        Search {
            pending: Pending::new(&actions, values.0.len()),
            list: Entries::new(&calls, &returns),
            lin: Linearized::new(ops.len()),
            memo: Memo::default(),
            memo_kept: false,
            stack: Vec::new(),
            state: 0,
            failure: None,
            actions,
            returns,
        }
    }

    /// Linearizes `op` now if the state allows it, the configuration is new
    /// and no read of the value it would leave is still to be placed.
    fn try_linearize(&mut self, op: usize) -> bool {
        let Some(after) = self.actions[op].step(self.state) else { return false };
        if !self.pending.may_leave(self.state, after) {
            return false;
        }
        self.lin.set(op);
        if self.memo_kept && !self.memo.insert(self.lin.key(after)) {
            self.lin.clear(op);
            return false;
        }
        self.stack.push((op, self.state));
        self.pending.placed(self.actions[op], false);
        self.state = after;
        self.list.lift(op);
        true
    }

    /// Undoes choices after a dead end; the entry to go on from, or `None` if
    /// no choice is left. A read that matched the state when it was linearized
    /// is never worth undoing alone: it changes nothing, so any way on from
    /// before it is also a way on from after it. Undo further.
    ///
    /// Until the first backtrack the memo is not kept: every linearization
    /// so far added one op to the set, so each configuration it reached had
    /// a set larger than all before it and was new (the memo would have let
    /// it through). The configurations reached are then exactly the stack's
    /// prefixes, and they go into the memo here, before the first undo, so
    /// from then on it holds every configuration reached, as if kept from
    /// the start. Most keys of a long valid history never backtrack, and
    /// skip building and hashing a memo key a step.
    fn backtrack(&mut self) -> Option<usize> {
        if !self.memo_kept {
            self.keep_memo();
        }
        loop {
            let (undo, before) = self.stack.pop()?;
            self.lin.clear(undo);
            self.pending.placed(self.actions[undo], true);
            self.state = before;
            self.list.unlift(undo);
            if !matches!(self.actions[undo], Action::Read(_)) {
                return Some(self.list.next[self.list.pos[undo].0]);
            }
        }
    }
}

impl Search {
    /// Puts the configurations of the stack's prefixes (each set with the
    /// state after its last op) into the memo, and keeps it from now on.
    fn keep_memo(&mut self) {
        self.memo_kept = true;
        self.memo.reserve(2 * self.stack.len());
        let mut lin = Linearized::new(self.actions.len());
        for (k, &(op, _)) in self.stack.iter().enumerate() {
            lin.set(op);
            let after = self.stack.get(k + 1).map_or(self.state, |next| next.1);
            let new = self.memo.insert(lin.key(after));
            debug_assert!(new, "a configuration of the forward path was reached twice");
        }
        debug_assert_eq!(lin.words, self.lin.words);
    }
}

/// The search over one key's operations.
fn search(ops: &[Row<'_>], budget: u64) -> KeyOutcome {
    search_with(ops, budget, false)
}

/// [`search`], with the memo kept from the first step when `memo_from_start`
/// (the plain search, which the tests compare with).
fn search_with(ops: &[Row<'_>], budget: u64, memo_from_start: bool) -> KeyOutcome {
    let mut s = Search::new(ops);
    s.memo_kept = memo_from_start;
    let mut cur = s.list.next[HEAD];
    let mut steps = 0u64;
    while cur != NIL {
        if steps >= budget {
            return KeyOutcome { verdict: Verdict::Unknown, steps, failure: None };
        }
        steps += 1;
        let (op, is_call) = s.list.what[cur];
        if is_call {
            cur = if s.try_linearize(op) { s.list.next[HEAD] } else { s.list.next[cur] };
            continue;
        }
        if s.returns[op] == u64::MAX {
            break;
        }
        if s.failure.as_ref().is_none_or(|f| s.stack.len() > f.depth) {
            s.failure = Some(stuck(&s.list, &s.stack, s.state, op));
        }
        match s.backtrack() {
            Some(next) => cur = next,
            None => return KeyOutcome { verdict: Verdict::Invalid, steps, failure: s.failure },
        }
    }
    KeyOutcome { verdict: Verdict::Valid, steps, failure: None }
}

/// The evidence of a dead end: the blocked op, the tail of the prefix, the candidates.
fn stuck(list: &Entries, stack: &[(usize, u32)], state: u32, blocked: usize) -> Failure {
    let from = stack.len().saturating_sub(EVIDENCE_OPS);
    let mut tail: Vec<(usize, u32)> = Vec::new();
    for (k, &(op, _)) in stack.iter().enumerate().skip(from) {
        let after = stack.get(k + 1).map_or(state, |next| next.1);
        tail.push((op, after));
    }
    let mut pending = Vec::new();
    let mut e = list.next[HEAD];
    while e != NIL && pending.len() < EVIDENCE_OPS {
        let (op, is_call) = list.what[e];
        if is_call && op != blocked {
            pending.push(op);
        }
        if !is_call && op == blocked {
            break;
        }
        e = list.next[e];
    }
    Failure { blocked, depth: stack.len(), tail, pending }
}

fn evidence(key: &Elem, rows: &[Row<'_>], f: &Failure, faults: &[crate::history::FaultWindow]) -> Evidence {
    let ops: Vec<&Op> = rows.iter().map(|r| r.op).collect();
    let blocked = ops[f.blocked];
    let mut numbering = Values::default();
    let actions: Vec<Action> = rows.iter().map(|r| numbering.action(r)).collect();
    // Ids are unique: collected by id, whatever order the map gives.
    let mut names: BTreeMap<u32, String> = numbering.0.iter().map(|(e, id)| (*id, e.text())).collect();
    names.insert(0, "nil".into());
    let holds = f.tail.last().map_or(0, |t| t.1);
    let held = names.get(&holds).map_or("?", String::as_str);
    let mut what = format!(
        "key {key} is not linearizable ({} ops): after the longest linearizable prefix of {} ops the register holds {held}, \
         and {blocked} cannot take effect before it returns",
        ops.len(),
        f.depth,
    );
    let mut shown: Vec<&Op> = vec![blocked];
    if let Some(pin) = pinning_read(&ops, &actions, holds, blocked) {
        what.push_str(&format!(
            "; {held} is written once and still read by {pin}, so the register cannot have left it yet"
        ));
        shown.push(pin);
    }
    what.push_str(&format!(
        ". Listed: the blocked op{}, the prefix's last {} ops, then the ops pending at that point",
        if shown.len() > 1 { " and the read that pins the value" } else { "" },
        f.tail.len()
    ));
    shown.extend(f.tail.iter().map(|(op, _)| ops[*op]));
    shown.extend(f.pending.iter().map(|op| ops[*op]));
    Evidence::new(what, &shown, faults)
}

/// The last read of `value` if `value` is written once (nil: never) and that
/// read begins after `blocked` returned: it keeps the register at `value`.
fn pinning_read<'a>(ops: &[&'a Op], actions: &[Action], value: u32, blocked: &Op) -> Option<&'a Op> {
    let writes = actions.iter().filter(|a| matches!(a, Action::Write(v) | Action::Cas(_, v) if *v == value)).count();
    if writes + usize::from(value == 0) != 1 {
        return None;
    }
    let last = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a, Action::Read(v) if *v == value))
        .map(|(i, _)| ops[i])
        .max_by_key(|op| op.invoke)?;
    (last.invoke > blocked.complete_or_max() || blocked.complete.is_never()).then_some(last)
}

#[cfg(test)]
pub(crate) fn search_for_test(ops: &[&Op], budget: u64) -> (Verdict, u64) {
    let rows: Vec<Row<'_>> = ops.iter().map(|op| Row::new(op)).collect();
    let o = search(&rows, budget);
    let plain = search_with(&rows, budget, true);
    assert_eq!(
        (o.verdict, o.steps, format!("{:?}", o.failure)),
        (plain.verdict, plain.steps, format!("{:?}", plain.failure)),
        "the memo kept from the first backtrack on searches as the memo kept from the start"
    );
    (o.verdict, o.steps)
}
