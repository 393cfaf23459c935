//! The history model: what clients asked and what they were told. A history is
//! a sequence of events in the order they happened; each operation appears as
//! an `invoke` and, later, one completion by the same process: `ok` (it took
//! effect, with the value a read returned), `fail` (it definitely did not take
//! effect) or `info` (the client does not know: a timeout or a lost
//! connection; it may take effect at any time after its invocation, or never).
//! An invocation with no completion at the end of the history counts as `info`.
//!
//! Times are virtual (or real) nanoseconds; only their order matters to the
//! checkers. Events are kept in history order, which must agree with time.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

pub use crate::elems::{Elems, ElemsRef};

/// A key, a register value or an element of a set or list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Elem {
    /// An integer (Jepsen histories use these).
    Int(i64),
    /// A string (what Redis stores). Shared: a key or element in many events
    /// and ops is one allocation, and copying it is a count.
    Str(Arc<str>),
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Elem::Int(n) => f.write_str(decimal(*n, &mut [0; 20])),
            Elem::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// `n` in decimal, written into `digits` without the `fmt` machinery
/// (evidence words whole list reads element by element; a client words
/// addresses in its connection errors).
pub fn decimal(n: i64, digits: &mut [u8; 20]) -> &str {
    std::str::from_utf8(decimal_bytes(n, digits)).unwrap_or_default()
}

/// [`decimal`]'s bytes (ASCII), for a caller that writes bytes: a client
/// encoding a command's integer argument need not have them checked as
/// UTF-8 first.
pub fn decimal_bytes(n: i64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    &digits[at..]
}

/// An event's value: nothing, one element, or several.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// No value: an invocation of a read, or a read of a missing key.
    #[default]
    Nil,
    /// One element: a register's value, an increment, an added element, a counter's reading.
    One(Elem),
    /// Several: a set's or list's reading, or a `cas`'s `[expected, new]`.
    /// Shared: an operation, a checker or an invariant that takes a reading
    /// of hundreds of elements takes it without a copy, and the next reading
    /// of a growing list shares this one's parts ([`Elems`]).
    #[serde(serialize_with = "elems_out", deserialize_with = "elems_in")]
    Many(Elems),
}

fn elems_out<S: Serializer>(elems: &Elems, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(elems.iter())
}

fn elems_in<'de, D: Deserializer<'de>>(d: D) -> Result<Elems, D::Error> {
    Vec::<Elem>::deserialize(d).map(Elems::from)
}

impl Value {
    /// The elements a set or list reading holds (`Nil` reads as empty).
    pub fn elems(&self) -> ElemsRef<'_> {
        match self {
            Value::Many(v) => v.as_ref(),
            Value::One(e) => ElemsRef::one(e),
            Value::Nil => ElemsRef::EMPTY,
        }
    }

    /// The integer in a `One(Int)`.
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::One(Elem::Int(n)) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::One(e) => write!(f, "{e}"),
            Value::Many(v) => {
                f.write_str("[")?;
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    fmt::Display::fmt(e, f)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// What an operation does, and so which data type its key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum F {
    /// Register read (`GET`): completes with the value or nil.
    Read,
    /// Register write (`SET k v`).
    Write,
    /// Register compare-and-set: value `[expected, new]` (Jepsen's `:cas`).
    Cas,
    /// Counter increment (`INCRBY k n`; `INCR` is 1): value the amount.
    Incr,
    /// Counter read (`GET`): completes with the integer (nil reads as 0).
    ReadCounter,
    /// Set add (`SADD k e`): value the element.
    Add,
    /// Set read (`SMEMBERS k`): completes with the elements.
    ReadSet,
    /// List append (`RPUSH k e`): value the element.
    Append,
    /// List read (`LRANGE k 0 -1`): completes with the elements in order.
    ReadList,
}

/// The data types a key can hold, each judged by its own checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// A register: read, write, cas.
    Register,
    /// A counter: incr, read-counter.
    Counter,
    /// A set: add, read-set.
    Set,
    /// A list: append, read-list.
    List,
}

impl F {
    /// The data type this operation acts on.
    pub fn model(self) -> Model {
        match self {
            F::Read | F::Write | F::Cas => Model::Register,
            F::Incr | F::ReadCounter => Model::Counter,
            F::Add | F::ReadSet => Model::Set,
            F::Append | F::ReadList => Model::List,
        }
    }

    /// Whether the operation only reads.
    pub fn is_read(self) -> bool {
        matches!(self, F::Read | F::ReadCounter | F::ReadSet | F::ReadList)
    }

    /// The name used in history.jsonl (`read`, `write`, `read-set`, ...).
    pub fn name(self) -> &'static str {
        match self {
            F::Read => "read",
            F::Write => "write",
            F::Cas => "cas",
            F::Incr => "incr",
            F::ReadCounter => "read-counter",
            F::Add => "add",
            F::ReadSet => "read-set",
            F::Append => "append",
            F::ReadList => "read-list",
        }
    }
}

/// An event's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    /// The client sends the request.
    Invoke,
    /// The operation took effect (a read: with the value it saw).
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// Unknown: it may or may not have taken effect.
    Info,
}

/// One line of a history: an invocation or a completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// invoke, ok, fail or info.
    #[serde(rename = "type")]
    pub kind: Type,
    /// The client (Jepsen's process) that issued the operation; a client has at
    /// most one operation outstanding.
    pub process: u64,
    /// What the operation does.
    pub f: F,
    /// The key it acts on.
    pub key: Elem,
    /// Invocation: the argument (nil for reads). Completion: the argument again,
    /// or for an `ok` read what it returned.
    #[serde(default)]
    pub value: Value,
    /// When it happened, in nanoseconds.
    pub time: u64,
    /// Why a `fail` or `info` ended so (the error reply, `timeout`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A fault active over an interval, so evidence can say what was going on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// What the fault was (`partition 6379 | 6380 6381`, `kill 6381`).
    pub name: String,
    /// When it began, in nanoseconds.
    pub start: u64,
    /// When it was healed (`None`: never, within the history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
}

impl FaultWindow {
    /// Whether the fault was active at some point of `[from, to]`.
    pub fn overlaps(&self, from: u64, to: u64) -> bool {
        self.start <= to && self.end.is_none_or(|end| end >= from)
    }
}

/// A whole history: events in the order they happened, and the faults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Invocations and completions, in order.
    pub events: Vec<Event>,
    /// Faults active during the history, as time intervals.
    pub faults: Vec<FaultWindow>,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It took effect.
    Ok,
    /// It did not take effect.
    Fail,
    /// It may or may not have taken effect (`info`, or no completion at all).
    Info,
}

/// An operation: an invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// Position of the invocation among all events (0-based). The
    /// completion's error, if any, is in the completion's event.
    pub index: usize,
    /// The client.
    pub process: u64,
    /// What it does.
    pub f: F,
    /// The key.
    pub key: Elem,
    /// The argument (nil for reads).
    pub value: Value,
    /// What an `ok` read returned (nil otherwise).
    pub result: Value,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was invoked.
    pub invoke: u64,
    /// When it completed ([`When::NEVER`] for an `info` or unfinished one:
    /// it may take effect at any later time).
    pub complete: When,
    /// When the client was told how it ended (`ok`, `fail` or `info`);
    /// [`When::NEVER`] if never. Unlike `complete`, an `info` has one.
    pub told: When,
}

/// A moment that may never come (an op's completion, the telling of its
/// end), in eight bytes where an `Option<u64>` takes sixteen: an op holds
/// two, and a workload's history holds an op per operation, hundreds of
/// thousands of them. `u64::MAX` stands for never; a time that large (no
/// history's, in nanoseconds, reaches it) is kept as one nanosecond less.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct When(u64);

impl When {
    /// Never.
    pub const NEVER: When = When(u64::MAX);

    /// At `time`.
    pub fn at(time: u64) -> When {
        When(time.min(u64::MAX - 1))
    }

    /// The time, if it came.
    pub fn get(self) -> Option<u64> {
        (self.0 != u64::MAX).then_some(self.0)
    }

    /// Whether it never came.
    pub fn is_never(self) -> bool {
        self.0 == u64::MAX
    }

    /// Whether it came, at a time that passes `f`.
    pub fn is_some_and(self, f: impl FnOnce(u64) -> bool) -> bool {
        self.get().is_some_and(f)
    }
}

impl fmt::Debug for When {
    /// As the `Option<u64>` it stands for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl From<Option<u64>> for When {
    fn from(time: Option<u64>) -> When {
        time.map_or(When::NEVER, When::at)
    }
}

impl Op {
    /// When it completed, or `u64::MAX` if it never did.
    pub fn complete_or_max(&self) -> u64 {
        self.complete.0
    }

    /// Whether `self` completed before `other` was invoked (real-time order).
    pub fn precedes(&self, other: &Op) -> bool {
        self.complete.is_some_and(|t| t < other.invoke)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        write!(f, "#{} p{} {} {}", self.index, self.process, self.f.name(), self.key)?;
        if self.value != Value::Nil {
            write!(f, " {}", self.value)?;
        }
        write!(f, " -> {outcome}")?;
        if self.f.is_read() && self.outcome == Outcome::Ok {
            write!(f, " {}", self.result)?;
        }
        match self.complete.get() {
            Some(c) => write!(f, " [{}..{}]", fmt_ns(self.invoke), fmt_ns(c)),
            None => write!(f, " [{}..]", fmt_ns(self.invoke)),
        }
    }
}

/// Nanoseconds as seconds with millisecond precision (`1.250s`).
pub fn fmt_ns(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

/// Why events do not form a history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    /// A completion by a process with nothing outstanding.
    #[error("event {index}: {kind:?} by process {process}, which has no operation outstanding")]
    Unmatched {
        /// The event's position.
        index: usize,
        /// Its type.
        kind: Type,
        /// Its process.
        process: u64,
    },
    /// A second invocation before the first completed.
    #[error("event {index}: process {process} invokes again while event {outstanding} is outstanding")]
    Overlapping {
        /// The event's position.
        index: usize,
        /// Its process.
        process: u64,
        /// The outstanding invocation's position.
        outstanding: usize,
    },
    /// A completion that differs from its invocation in f or key.
    #[error("event {index}: completes {invoked} (event {invoke_index}) with a different f or key")]
    Mismatch {
        /// The event's position.
        index: usize,
        /// The invocation's position.
        invoke_index: usize,
        /// The invocation, as text.
        invoked: String,
    },
    /// Time going backwards.
    #[error("event {index}: time {time} is before the previous event's {previous}")]
    TimeBackwards {
        /// The event's position.
        index: usize,
        /// Its time.
        time: u64,
        /// The previous event's time.
        previous: u64,
    },
}

impl History {
    /// Pairs invocations with completions, in invocation order.
    pub fn ops(&self) -> Result<Vec<Op>, PairError> {
        // About one op per two events: no regrowth copying ops of 100,000s.
        let mut ops: Vec<Op> = Vec::with_capacity(self.events.len() / 2 + 1);
        // Outstanding invocation per process: process -> op position (looked up only).
        let mut open: crate::fasthash::FastMap<u64, usize> = crate::fasthash::FastMap::default();
        let mut previous = 0;
        for (index, e) in self.events.iter().enumerate() {
            if e.time < previous {
                return Err(PairError::TimeBackwards { index, time: e.time, previous });
            }
            previous = e.time;
            if e.kind == Type::Invoke {
                if let Some(&o) = open.get(&e.process) {
                    let outstanding = ops[o].index;
                    return Err(PairError::Overlapping { index, process: e.process, outstanding });
                }
                open.insert(e.process, ops.len());
                ops.push(invoked(index, e));
                continue;
            }
            let Some(o) = open.remove(&e.process) else {
                return Err(PairError::Unmatched { index, kind: e.kind, process: e.process });
            };
            complete(&mut ops[o], index, e)?;
        }
        Ok(ops)
    }
}

fn invoked(index: usize, e: &Event) -> Op {
    Op {
        index,
        process: e.process,
        f: e.f,
        key: e.key.clone(),
        value: if e.f.is_read() { Value::Nil } else { e.value.clone() },
        result: Value::Nil,
        outcome: Outcome::Info,
        invoke: e.time,
        complete: When::NEVER,
        told: When::NEVER,
    }
}

fn complete(op: &mut Op, index: usize, e: &Event) -> Result<(), PairError> {
    if op.f != e.f || op.key != e.key {
        return Err(PairError::Mismatch { index, invoke_index: op.index, invoked: op.to_string() });
    }
    op.told = When::at(e.time);
    match e.kind {
        Type::Ok => {
            op.outcome = Outcome::Ok;
            op.complete = When::at(e.time);
            if op.f.is_read() {
                op.result = e.value.clone();
            }
        }
        Type::Fail => {
            op.outcome = Outcome::Fail;
            op.complete = When::at(e.time);
        }
        Type::Info | Type::Invoke => op.outcome = Outcome::Info,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Elem, Op, Value, When};

    #[test]
    fn a_moment_that_may_never_come_reads_as_an_option() {
        for t in [0, 1, 1_250_000_000, u64::MAX - 1] {
            assert_eq!(When::at(t).get(), Some(t));
            assert_eq!(When::from(Some(t)), When::at(t));
            assert!(When::at(t).is_some_and(|x| x == t) && !When::at(t).is_never());
            assert_eq!(format!("{:?}", When::at(t)), format!("{:?}", Some(t)));
        }
        assert_eq!(When::NEVER.get(), None);
        assert_eq!(When::from(None), When::NEVER);
        assert!(When::NEVER.is_never() && !When::NEVER.is_some_and(|_| true));
        assert_eq!(format!("{:?}", When::NEVER), "None");
        // The one time it cannot hold is kept a nanosecond earlier, not lost.
        assert_eq!(When::at(u64::MAX).get(), Some(u64::MAX - 1));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_op_stays_small() {
        // A workload's history holds an op per operation (118,100 in the
        // workload benchmark): 144 bytes each before `When` and the thin
        // `Elems`, 112 since.
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert!(std::mem::size_of::<Op>() <= 112, "{} bytes", std::mem::size_of::<Op>());
    }

    #[test]
    fn values_are_written_as_rust_writes_their_parts() {
        for n in [0, 7, -7, 10, -10, 1_000_000_123, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(Elem::Int(n).to_string(), n.to_string());
        }
        assert_eq!(Elem::Str("a \"b\"".into()).to_string(), "\"a \\\"b\\\"\"");
        let many = Value::Many([Elem::Int(-3), Elem::Str("x".into()), Elem::Int(40)].into());
        assert_eq!(many.to_string(), "[-3 \"x\" 40]");
        assert_eq!(Value::Many([].into()).to_string(), "[]");
        assert_eq!(format!("{:>8}", Elem::Int(5)), "5", "no padding, as before");
    }

    /// The digits a client writes into a command are `i64`'s own, at every
    /// length and at both ends.
    #[test]
    fn decimal_bytes_are_what_rust_writes() {
        let mut tens: Vec<i64> = (0..19).map(|p| 10i64.pow(p)).collect();
        tens.extend(tens.clone().iter().flat_map(|t| [t - 1, -t, -(t - 1), t + 1]));
        tens.extend([i64::MAX, i64::MIN, i64::MIN + 1]);
        for n in tens {
            assert_eq!(super::decimal_bytes(n, &mut [0; 20]), n.to_string().as_bytes());
            assert_eq!(super::decimal(n, &mut [0; 20]), n.to_string());
        }
    }
}

/// A register's value seen through a reference: equal, and hashed alike,
/// exactly when the [`Value`]s are (a cas's new value is `One`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Held<'a> {
    Nil,
    One(&'a Elem),
    Many(&'a Elems),
}

impl<'a> Held<'a> {
    pub(crate) fn of(v: &'a Value) -> Held<'a> {
        match v {
            Value::Nil => Held::Nil,
            Value::One(e) => Held::One(e),
            Value::Many(es) => Held::Many(es),
        }
    }

    /// The [`Value`] it stands for (for the words of evidence).
    pub(crate) fn to_value(self) -> Value {
        match self {
            Held::Nil => Value::Nil,
            Held::One(e) => Value::One(e.clone()),
            Held::Many(es) => Value::Many(es.clone()),
        }
    }
}
