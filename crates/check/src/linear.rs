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
//! The search is bounded in steps, not wall time: past the budget a key's
//! verdict is `unknown`. Keys are searched smallest first, so the first
//! invalid key is the smallest failing one.

use crate::history::{Elem, F, Model, Op, Outcome, Value};
use crate::verdict::{CheckResult, Evidence, Verdict};
use std::collections::BTreeMap;

/// The default step budget of a whole history.
pub const DEFAULT_BUDGET_STEPS: u64 = 10_000_000;

/// Checks every register key of `ops` within `budget_steps` search steps in all.
pub fn check(ops: &[Op], faults: &[crate::history::FaultWindow], budget_steps: u64) -> CheckResult {
    let mut result = CheckResult::new("linearizable-registers");
    let mut keys = by_key(ops);
    keys.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(b.0)));
    let mut left = budget_steps;
    let mut verdict = Verdict::Valid;
    for (key, key_ops) in &keys {
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

/// Each key's register operations that can matter: not `fail` ones, not `info` reads.
fn by_key(ops: &[Op]) -> Vec<(&Elem, Vec<&Op>)> {
    let mut keys: BTreeMap<&Elem, Vec<&Op>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f.model() == Model::Register) {
        let matters = match op.outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => !op.f.is_read(),
        };
        if matters {
            keys.entry(&op.key).or_default().push(op);
        }
    }
    keys.into_iter().collect()
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

/// Numbers values in order of appearance; nil is 0.
#[derive(Default)]
struct Values(BTreeMap<Elem, u32>);

impl Values {
    fn id(&mut self, e: &Elem) -> u32 {
        let next = self.0.len() as u32 + 1;
        *self.0.entry(e.clone()).or_insert(next)
    }

    fn of(&mut self, v: &Value) -> u32 {
        match v {
            Value::One(e) => self.id(e),
            Value::Nil | Value::Many(_) => 0,
        }
    }

    fn action(&mut self, op: &Op) -> Action {
        match (op.f, &op.value) {
            (F::Write, v) => Action::Write(self.of(v)),
            (F::Cas, Value::Many(pair)) if pair.len() == 2 => Action::Cas(self.id(&pair[0]), self.id(&pair[1])),
            // A malformed cas can never apply: an expected value nothing holds.
            (F::Cas, _) => Action::Cas(u32::MAX, u32::MAX),
            _ => Action::Read(self.of(&op.result)),
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
        // (time, returns after calls at the same instant, op): equal times are concurrent.
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
        for i in 0..n {
            order.push((calls[i], false, i));
            order.push((returns[i], true, i));
        }
        order.sort_unstable();
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

/// The linearized set, with a compact form for the memo: the length of the
/// fully linearized prefix and the ops linearized beyond it.
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

    fn key(&self, state: u32) -> MemoKey {
        let full = self.words.iter().take_while(|w| **w == u64::MAX).count();
        let mut prefix = full * 64;
        if let Some(w) = self.words.get(full) {
            prefix += w.trailing_ones() as usize;
        }
        let mut beyond = Vec::with_capacity(self.count - prefix);
        let mut i = prefix;
        while beyond.len() < self.count - prefix {
            let w = self.words[i / 64] >> (i % 64);
            if w == 0 {
                i = (i / 64 + 1) * 64;
                continue;
            }
            i += w.trailing_zeros() as usize;
            beyond.push(i as u32);
            i += 1;
        }
        MemoKey { state, prefix: prefix as u32, beyond: beyond.into_boxed_slice() }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct MemoKey {
    state: u32,
    prefix: u32,
    beyond: Box<[u32]>,
}

/// Membership only, never iterated, so the order a hash set would give never
/// reaches a verdict or the evidence.
#[allow(clippy::disallowed_types)]
type Memo = std::collections::HashSet<MemoKey>;

/// The search over one key's operations.
fn search(ops: &[&Op], budget: u64) -> KeyOutcome {
    let mut values = Values::default();
    let actions: Vec<Action> = ops.iter().map(|o| values.action(o)).collect();
    let calls: Vec<u64> = ops.iter().map(|o| o.invoke).collect();
    let returns: Vec<u64> =
        ops.iter().map(|o| if o.outcome == Outcome::Ok { o.complete_or_max() } else { u64::MAX }).collect();
    let mut list = Entries::new(&calls, &returns);
    let mut lin = Linearized::new(ops.len());
    #[allow(clippy::disallowed_types)]
    let mut memo = Memo::default();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut failure: Option<Failure> = None;
    let mut state = 0u32;
    let mut cur = list.next[HEAD];
    let mut steps = 0u64;
    while cur != NIL {
        if steps >= budget {
            return KeyOutcome { verdict: Verdict::Unknown, steps, failure: None };
        }
        steps += 1;
        let (op, is_call) = list.what[cur];
        if is_call {
            if let Some(after) = actions[op].step(state) {
                lin.set(op);
                if memo.insert(lin.key(after)) {
                    stack.push((op, state));
                    state = after;
                    list.lift(op);
                    cur = list.next[HEAD];
                    continue;
                }
                lin.clear(op);
            }
            cur = list.next[cur];
            continue;
        }
        if returns[op] == u64::MAX {
            break;
        }
        if failure.as_ref().is_none_or(|f| stack.len() > f.depth) {
            failure = Some(stuck(&list, &stack, state, op));
        }
        let Some((undo, before)) = stack.pop() else {
            return KeyOutcome { verdict: Verdict::Invalid, steps, failure };
        };
        lin.clear(undo);
        state = before;
        list.unlift(undo);
        cur = list.next[list.pos[undo].0];
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

fn evidence(key: &Elem, ops: &[&Op], f: &Failure, faults: &[crate::history::FaultWindow]) -> Evidence {
    let blocked = ops[f.blocked];
    let mut values: BTreeMap<u32, String> = BTreeMap::new();
    values.insert(0, "nil".into());
    let mut numbering = Values::default();
    for op in ops {
        let _ = numbering.action(op);
    }
    for (e, id) in &numbering.0 {
        values.insert(*id, e.to_string());
    }
    let holds = f.tail.last().map_or(0, |t| t.1);
    let what = format!(
        "key {key} is not linearizable ({} ops): after the longest linearizable prefix of {} ops the register holds {}, \
         and {} cannot take effect before it returns; listed: the blocked op, the prefix's last {} ops, then the \
         ops pending at that point",
        ops.len(),
        f.depth,
        values.get(&holds).map_or("?", String::as_str),
        blocked,
        f.tail.len(),
    );
    let mut shown: Vec<&Op> = vec![blocked];
    shown.extend(f.tail.iter().map(|(op, _)| ops[*op]));
    shown.extend(f.pending.iter().map(|op| ops[*op]));
    Evidence::new(what, &shown, faults)
}

#[cfg(test)]
pub(crate) fn search_for_test(ops: &[&Op], budget: u64) -> (Verdict, u64) {
    let o = search(ops, budget);
    (o.verdict, o.steps)
}
