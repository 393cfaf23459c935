//! Test support: a seeded generator (no dependency, no wall clock), a builder
//! for hand-made histories, and histories generated from a sequential model.

use crate::history::{Elem, Event, F, History, Type, Value};

/// SplitMix64: small, seeded, the same on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Builds a history event by event; times must not go down.
#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) history: History,
}

pub(crate) fn int(n: i64) -> Value {
    Value::One(Elem::Int(n))
}

pub(crate) fn ints(v: &[i64]) -> Value {
    Value::Many(v.iter().map(|n| Elem::Int(*n)).collect())
}

impl Builder {
    fn push(&mut self, kind: Type, p: u64, f: F, key: i64, value: Value, time: u64) -> &mut Builder {
        let error = matches!(kind, Type::Info | Type::Fail).then(|| "timeout".to_owned());
        self.history.events.push(Event { kind, process: p, f, key: Elem::Int(key), value, time, error });
        self
    }

    pub(crate) fn invoke(&mut self, p: u64, f: F, key: i64, value: Value, time: u64) -> &mut Builder {
        self.push(Type::Invoke, p, f, key, value, time)
    }

    /// Completes process `p`'s outstanding op (the last it invoked).
    pub(crate) fn end(&mut self, kind: Type, p: u64, value: Value, time: u64) -> &mut Builder {
        let last = self.history.events.iter().rev().find(|e| e.process == p).expect("an invoked op");
        let (f, key) = (last.f, last.key.clone());
        let Elem::Int(key) = key else { unreachable!("test keys are integers") };
        self.push(kind, p, f, key, value, time)
    }

    /// A whole op at once: invoke at `from`, complete at `to` (None: never).
    pub(crate) fn op(&mut self, p: u64, f: F, key: i64, arg: Value, from: u64, to: Option<(Type, Value, u64)>) {
        self.invoke(p, f, key, arg, from);
        if let Some((kind, value, t)) = to {
            self.end(kind, p, value, t);
        }
    }

    /// Sorts events by time (stable): ops added whole may interleave.
    pub(crate) fn done(&mut self) -> History {
        let mut h = std::mem::take(&mut self.history);
        h.events.sort_by_key(|e| e.time);
        h
    }
}

/// A register history that is linearizable by construction: `clients`
/// processes run `ops` operations in all over `keys` keys; each takes effect at
/// a random instant of its interval (an `info` write at some later instant,
/// or never; a `fail` never), applied in that order to a sequential register.
pub fn linearizable_registers(seed: u64, clients: u64, ops: usize, keys: i64) -> History {
    let mut rng = Rng::new(seed);
    let mut free_at = vec![0u64; clients as usize];
    // (effect time, op position) and per op: (process, f, key, arg, invoke, end kind, end time)
    let mut effects: Vec<(u64, usize)> = Vec::new();
    let mut planned = Vec::new();
    for i in 0..ops {
        let p = rng.below(clients) as usize;
        let start = free_at[p] + rng.below(50);
        let end = start + 1 + rng.below(100);
        free_at[p] = end + 1;
        let key = rng.below(keys as u64) as i64;
        let (f, arg) = match rng.below(10) {
            0..=3 => (F::Write, int(i as i64 + 1)),
            4 => (F::Cas, ints(&[rng.below(4) as i64, i as i64 + 1])),
            _ => (F::Read, Value::Nil),
        };
        let kind = match rng.below(20) {
            0 => Type::Info,
            1 => Type::Fail,
            _ => Type::Ok,
        };
        match kind {
            Type::Ok => effects.push((start + rng.below(end - start + 1), i)),
            Type::Info if rng.chance(50) => effects.push((start + rng.below(4 * (end - start) + 1), i)),
            _ => {}
        }
        planned.push((p as u64, f, key, arg, start, kind, end));
    }
    effects.sort();
    let mut state: std::collections::BTreeMap<i64, Value> = std::collections::BTreeMap::new();
    let mut results = vec![Value::Nil; ops];
    let mut cas_failed = vec![false; ops];
    for (_, i) in effects {
        let (_, f, key, arg, ..) = &planned[i];
        let current = state.get(key).cloned().unwrap_or(Value::Nil);
        match f {
            F::Write => {
                state.insert(*key, arg.clone());
            }
            F::Cas => {
                let Value::Many(pair) = arg else { unreachable!() };
                if current == Value::One(pair[0].clone()) {
                    state.insert(*key, Value::One(pair[1].clone()));
                } else {
                    cas_failed[i] = true;
                }
            }
            _ => results[i] = current,
        }
    }
    let mut b = Builder::default();
    for (i, (p, f, key, arg, start, kind, end)) in planned.into_iter().enumerate() {
        // A cas that found another value did not apply: the client is told `fail`.
        let kind = if cas_failed[i] && kind == Type::Ok { Type::Fail } else { kind };
        let value = if f == F::Read { results[i].clone() } else { arg.clone() };
        b.op(p, f, key, arg, start, Some((kind, value, end)));
    }
    b.done()
}
