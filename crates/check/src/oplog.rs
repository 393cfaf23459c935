//! A history kept as operations while it happens.
//!
//! A client that pairs its own invocations and completions (a simulated
//! workload's) need not write a history as events and have them paired into
//! [`Op`]s afterwards ([`History::ops`]): it writes each op once, at its
//! invocation, and fills in how it ended at its completion. Beside the ops
//! the log keeps the order of the events (an op's position per event, four
//! bytes), and the error texts, so the events a history file shows are
//! rebuilt exactly when asked for ([`OpLog::events`]); pairing those gives
//! back the same ops (the tests check it).
//!
//! On a long run this halves what the history holds in memory, and the
//! checkers start on the ops without a pass that copies every key and value.

use crate::history::{Elem, Event, F, History, Op, Outcome, Type, Value, When};
use std::collections::BTreeMap;

/// The ops of a history in the order of their invocations, and the order of
/// all its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpLog {
    ops: Vec<Op>,
    /// Per event, in order: the position of its op in `ops`, with
    /// [`COMPLETION`] set for a completion.
    order: Vec<u32>,
    /// The error texts of `fail` and `info` completions, by op position.
    errors: BTreeMap<u32, String>,
}

/// The bit of an [`OpLog::order`] entry that marks a completion.
const COMPLETION: u32 = 1 << 31;

/// Where an invocation's op is in its [`OpLog`] (given back to complete it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpId(u32);

impl OpLog {
    /// An empty log with room for `ops` operations, so it does not move while
    /// it grows to that (the room is address space until written).
    pub fn with_capacity(ops: usize) -> OpLog {
        OpLog { ops: Vec::with_capacity(ops), order: Vec::with_capacity(ops * 2), errors: BTreeMap::new() }
    }

    /// Events written so far (invocations and completions).
    pub fn events_len(&self) -> usize {
        self.order.len()
    }

    /// The ops, in the order of their invocations: what
    /// [`History::ops`] gives for [`OpLog::events`].
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The ops, taken out of the log.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// Process `process` invokes `f` on `key` with `value` (nil for a read)
    /// at `time`. The caller keeps the returned id to complete it.
    pub fn invoke(&mut self, process: u64, f: F, key: Elem, value: Value, time: u64) -> OpId {
        let at = u32::try_from(self.ops.len()).expect("fewer than 2^31 ops");
        assert!(at < COMPLETION, "fewer than 2^31 ops");
        debug_assert!(self.last_time() <= time, "events come in time order");
        debug_assert!(!f.is_read() || value == Value::Nil, "a read's invocation has no argument");
        self.ops.push(Op {
            index: self.order.len(),
            process,
            f,
            key,
            value,
            result: Value::Nil,
            outcome: Outcome::Info,
            invoke: time,
            complete: When::NEVER,
            told: When::NEVER,
        });
        self.order.push(at);
        OpId(at)
    }

    /// The op `id` ends as `kind` at `time`; `result` is what an `ok` read
    /// returned; `error` why a `fail` or `info` ended so.
    pub fn complete(&mut self, id: OpId, kind: Type, result: Value, time: u64, error: Option<String>) {
        debug_assert!(self.last_time() <= time, "events come in time order");
        let op = &mut self.ops[id.0 as usize];
        assert!(op.told.is_never(), "op #{} completes once", op.index);
        op.told = When::at(time);
        match kind {
            Type::Ok => {
                op.outcome = Outcome::Ok;
                op.complete = When::at(time);
                if op.f.is_read() {
                    op.result = result;
                }
            }
            Type::Fail => {
                op.outcome = Outcome::Fail;
                op.complete = When::at(time);
            }
            Type::Info | Type::Invoke => op.outcome = Outcome::Info,
        }
        if let Some(e) = error {
            self.errors.insert(id.0, e);
        }
        self.order.push(id.0 | COMPLETION);
    }

    /// Several logs as one: their events merged by time, ties in the order
    /// of `logs` (each log's own order kept), as a stable sort of their
    /// events one log after another would put them; the ops renumbered.
    pub fn merge(logs: Vec<OpLog>) -> OpLog {
        let mut logs = logs;
        if logs.len() <= 1 {
            return logs.pop().unwrap_or_default();
        }
        let mut merged = OpLog {
            ops: Vec::with_capacity(logs.iter().map(|l| l.ops.len()).sum()),
            order: Vec::with_capacity(logs.iter().map(|l| l.order.len()).sum()),
            errors: BTreeMap::new(),
        };
        // Per log: where its next event is, and its ops' new positions.
        let mut next = vec![0usize; logs.len()];
        let mut moved: Vec<Vec<u32>> = logs.iter().map(|l| Vec::with_capacity(l.ops.len())).collect();
        let times: Vec<Vec<u64>> = logs.iter().map(|l| l.order.iter().map(|&e| l.time_of(e)).collect()).collect();
        let mut errors: Vec<BTreeMap<u32, String>> = logs.iter_mut().map(|l| std::mem::take(&mut l.errors)).collect();
        let mut ops: Vec<std::vec::IntoIter<Op>> =
            logs.iter_mut().map(|l| std::mem::take(&mut l.ops).into_iter()).collect();
        loop {
            // The log whose next event is earliest; the first such on a tie.
            let pick = (0..logs.len()).filter(|&i| next[i] < times[i].len()).min_by_key(|&i| (times[i][next[i]], i));
            let Some(i) = pick else { break };
            let entry = logs[i].order[next[i]];
            next[i] += 1;
            let at = if entry & COMPLETION == 0 {
                let mut op = ops[i].next().expect("an invocation's op, in invocation order");
                let at = u32::try_from(merged.ops.len()).expect("fewer than 2^31 ops");
                op.index = merged.order.len();
                merged.ops.push(op);
                moved[i].push(at);
                at
            } else {
                let old = entry & !COMPLETION;
                let at = moved[i][old as usize];
                if let Some(e) = errors[i].remove(&old) {
                    merged.errors.insert(at, e);
                }
                at | COMPLETION
            };
            merged.order.push(at);
        }
        merged
    }

    fn last_time(&self) -> u64 {
        self.order.last().map_or(0, |&e| self.time_of(e))
    }

    fn time_of(&self, entry: u32) -> u64 {
        let op = &self.ops[(entry & !COMPLETION) as usize];
        match entry & COMPLETION {
            0 => op.invoke,
            _ => op.told.get().expect("a completion was told"),
        }
    }

    /// The events from position `from` on, as a history file shows them.
    pub fn events_from(&self, from: usize) -> Vec<Event> {
        self.order.get(from..).unwrap_or_default().iter().map(|&e| self.event(e)).collect()
    }

    /// Every event, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events_from(0)
    }

    /// The log as a history (its events), with no faults.
    pub fn history(&self) -> History {
        History { events: self.events(), faults: Vec::new() }
    }

    fn event(&self, entry: u32) -> Event {
        let at = entry & !COMPLETION;
        let op = &self.ops[at as usize];
        let (kind, value, time) = match entry & COMPLETION {
            0 => (Type::Invoke, op.value.clone(), op.invoke),
            _ => {
                let kind = match op.outcome {
                    Outcome::Ok => Type::Ok,
                    Outcome::Fail => Type::Fail,
                    Outcome::Info => Type::Info,
                };
                let value = if op.f.is_read() && op.outcome == Outcome::Ok { &op.result } else { &op.value };
                (kind, value.clone(), op.told.get().expect("a completion was told"))
            }
        };
        let error = if entry & COMPLETION == 0 { None } else { self.errors.get(&at).cloned() };
        Event { kind, process: op.process, f: op.f, key: op.key.clone(), value, time, error }
    }
}

#[cfg(test)]
mod tests {
    use super::{OpId, OpLog};
    use crate::history::{Elem, Event, F, History, Type, Value};
    use crate::testgen::Rng;

    /// Clients `first..` that invoke and complete at random (reads and
    /// writes of each model, every kind of completion, some never
    /// completed), at times that often tie.
    fn random_log(g: &mut Rng, first: u64) -> OpLog {
        let mut log = OpLog::default();
        let clients = 1 + g.below(6);
        let mut open: Vec<Option<(OpId, F)>> = vec![None; clients as usize];
        let mut time = 0;
        for _ in 0..g.below(120) {
            time += g.below(3);
            let c = g.below(clients) as usize;
            match open[c].take() {
                None => {
                    let fs = [
                        F::Read,
                        F::Write,
                        F::Cas,
                        F::Incr,
                        F::ReadCounter,
                        F::Add,
                        F::ReadSet,
                        F::Append,
                        F::ReadList,
                    ];
                    let f = fs[g.below(9) as usize];
                    let key = Elem::Str(format!("k{}", g.below(3)).into());
                    let value = if f.is_read() { Value::Nil } else { Value::One(Elem::Int(g.below(50) as i64)) };
                    open[c] = Some((log.invoke(first + c as u64, f, key, value, time), f));
                }
                Some((id, f)) => {
                    let kind = [Type::Ok, Type::Fail, Type::Info][g.below(3) as usize];
                    let result = match (kind, f.is_read()) {
                        (Type::Ok, true) => Value::Many(vec![Elem::Int(g.below(9) as i64); g.below(4) as usize].into()),
                        _ => Value::Nil,
                    };
                    let error = (kind != Type::Ok).then(|| format!("err {}", g.below(5)));
                    log.complete(id, kind, result, time, error);
                }
            }
        }
        log
    }

    /// A random log's events pair back into its ops, and read back from
    /// any position.
    #[test]
    fn events_rebuilt_from_the_log_pair_into_its_ops() {
        for seed in 0..200u64 {
            let mut g = Rng::new(seed);
            let log = random_log(&mut g, 0);
            let events = log.events();
            assert_eq!(events.len(), log.events_len());
            assert_eq!(log.history().ops().expect("the events pair up"), log.ops(), "seed {seed}");
            let from = g.below(events.len() as u64 + 2) as usize;
            assert_eq!(log.events_from(from), events.get(from..).unwrap_or_default(), "seed {seed}");
        }
    }

    /// Logs merged are the logs' events merged by time (ties in log order,
    /// as a stable sort puts them) and paired again.
    #[test]
    fn merged_logs_are_their_events_sorted_by_time_and_paired() {
        for seed in 0..200u64 {
            let mut g = Rng::new(seed);
            let logs: Vec<OpLog> = (0..g.below(4)).map(|n| random_log(&mut g, n * 10)).collect();
            let mut events: Vec<Event> = logs.iter().flat_map(OpLog::events).collect();
            events.sort_by_key(|e| e.time);
            let merged = OpLog::merge(logs);
            assert_eq!(merged.events(), events, "seed {seed}");
            let history = History { events, faults: Vec::new() };
            assert_eq!(history.ops().expect("pairs"), merged.ops(), "seed {seed}");
        }
    }

    #[test]
    fn a_completion_keeps_its_error_and_an_ok_read_its_result() {
        let mut log = OpLog::default();
        let key = || Elem::Str("k".into());
        let w = log.invoke(1, F::Write, key(), Value::One(Elem::Int(5)), 10);
        let r = log.invoke(2, F::Read, key(), Value::Nil, 11);
        log.complete(w, Type::Info, Value::Nil, 20, Some("timeout".into()));
        log.complete(r, Type::Ok, Value::One(Elem::Int(5)), 21, None);
        let events = log.events();
        assert_eq!(events[2].kind, Type::Info);
        assert_eq!(events[2].error.as_deref(), Some("timeout"));
        assert_eq!(events[2].value, Value::One(Elem::Int(5)), "a completion repeats the argument");
        assert_eq!(events[3].value, Value::One(Elem::Int(5)), "an ok read shows what it read");
        assert_eq!(log.ops()[0].complete.get(), None, "an info op may take effect at any later time");
        assert_eq!(log.ops()[0].told.get(), Some(20));
    }
}
