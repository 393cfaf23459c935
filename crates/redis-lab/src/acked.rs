//! `no-acked-write-lost: {workload: w}`: acknowledged writes, judged while the
//! run goes on. At each look it reads what workload `w`'s clients were told
//! so far (only the events new since the last look) and asks the nodes that
//! are masters now (running or paused: a paused master still holds its data)
//! whether they hold every set element, list element and counter increment
//! that was acknowledged: an element is held when some master's key holds
//! it; a counter's increments are held when some master's value is at least
//! the acknowledged count. A write a master acknowledged is in that master's
//! dataset, so the invariant breaks exactly when every master that held it
//! has been demoted, wiped or replaced by a replica that never received it:
//! the moment the loss becomes real (the old master of a split brain turned
//! replica, say), not only at the final read. While no node is master (a
//! failover under way) it is not judged. Registers are left to the
//! linearizability checker: a later write replaces an acknowledged one
//! legitimately.

use crate::invariants::{Member, servers};
use check::{Elem, F, Type, Value};
use redis::keyspace::Data;
use scenario::diag::Diagnostic;
use scenario::yaml::{Node, did_you_mean};
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime};
use sim::ProcId;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Missing elements listed in the observation at most.
const LISTED: usize = 5;

/// Reads `workload:`, a workload `workloads:` declares.
pub(crate) fn workload_name(n: &Node, cx: &ParseCx<'_>) -> Result<String, Diagnostic> {
    let name = n.str("no-acked-write-lost.workload")?;
    if cx.has_workload(&name) {
        return Ok(name);
    }
    let known = cx.workload_names();
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let d = Diagnostic::new(n.span, format!("no workload named `{name}`")).with_label("unknown workload");
    Err(match did_you_mean(&name, &names) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None if names.is_empty() => d.with_hint("declare it under `workloads:` first"),
        None => d.with_hint(format!("workloads are: {}", names.join(", "))),
    })
}

/// What the workload was told so far.
#[derive(Default)]
struct Acked {
    /// Events of the workload's history read so far.
    cursor: usize,
    /// Set and list elements acknowledged, per key.
    elements: BTreeMap<Elem, KeyAcks>,
    /// Counter increments acknowledged, per key.
    increments: BTreeMap<Elem, i64>,
    /// What the last judgement saw (the masters, their offsets and the
    /// events read) and what it concluded: the same again is judged the same.
    last: Option<(Vec<MasterAt>, usize, Observation)>,
}

/// A master as a judgement saw it: its process, incarnation and offset.
type MasterAt = (ProcId, u32, i64);

/// One key's acknowledged elements, and what the last look at it found.
#[derive(Default)]
struct KeyAcks {
    /// The key as the nodes hold it.
    bytes: Vec<u8>,
    /// Each element, as the nodes hold it, with the ack's time.
    elements: BTreeMap<Elem, (Vec<u8>, u64)>,
    /// The masters' digests of this key's value and the elements acked when
    /// it was last looked at, and the elements it found missing then: the
    /// same values and the same acks miss the same elements.
    looked: Option<(Vec<ValueAt>, usize, Missing)>,
}

/// A master and its digest of one key's value (`None`: it has no such key).
type ValueAt = (ProcId, Option<u64>);

/// The elements of one key that no master holds: how many, and the first
/// [`LISTED`] in words.
#[derive(Clone, Default)]
struct Missing {
    count: usize,
    listed: Vec<String>,
}

impl KeyAcks {
    /// The elements acked to this key that no master holds now.
    fn missing(&mut self, key: &Elem, masters: &[Member<'_>]) -> Missing {
        let values: Vec<ValueAt> = masters.iter().map(|m| (m.proc, m.server.key_digest(&self.bytes))).collect();
        if let Some((v, n, missing)) = &self.looked
            && *v == values
            && *n == self.elements.len()
        {
            return missing.clone();
        }
        let have = Held::on(masters, &self.bytes);
        let mut missing = Missing::default();
        for (x, (b, at)) in &self.elements {
            if !have.contains(b) {
                missing.count += 1;
                if missing.listed.len() < LISTED {
                    missing.listed.push(format!("{x} in {key} (acked at {})", seconds(*at)));
                }
            }
        }
        self.looked = Some((values, self.elements.len(), missing.clone()));
        missing
    }
}

impl Acked {
    fn read(&mut self, events: Vec<check::Event>) {
        self.cursor += events.len();
        for e in events.into_iter().filter(|e| e.kind == Type::Ok) {
            match (e.f, e.value) {
                (F::Add | F::Append, Value::One(x)) => {
                    let acks = self
                        .elements
                        .entry(e.key)
                        .or_insert_with_key(|k| KeyAcks { bytes: bytes(k), ..KeyAcks::default() });
                    let b = bytes(&x);
                    acks.elements.insert(x, (b, e.time));
                }
                (F::Incr, v) => {
                    let by = match v {
                        Value::One(Elem::Int(n)) => n,
                        _ => 1,
                    };
                    *self.increments.entry(e.key).or_default() += by;
                }
                _ => {}
            }
        }
    }
}

/// The invariant.
pub(crate) struct NoAckedWriteLost {
    workload: String,
    among: Option<Vec<NodeRef>>,
    acked: RefCell<Acked>,
}

impl NoAckedWriteLost {
    pub(crate) fn new(workload: String, among: Option<Vec<NodeRef>>) -> NoAckedWriteLost {
        NoAckedWriteLost { workload, among, acked: RefCell::new(Acked::default()) }
    }
}

fn bytes(e: &Elem) -> Vec<u8> {
    match e {
        Elem::Int(n) => n.to_string().into_bytes(),
        Elem::Str(s) => s.clone().into_bytes(),
    }
}

/// The elements some master's `key` holds, sorted (with repeats): those
/// written as `i64` writes an integer (a workload's elements) as integers,
/// which sort without comparing bytes, the rest as bytes. Which side an
/// element is on depends on its bytes alone, so an element is held exactly
/// when its bytes are.
struct Held<'m> {
    ints: Vec<i64>,
    other: Vec<&'m [u8]>,
}

impl<'m> Held<'m> {
    fn on(masters: &[Member<'m>], key: &[u8]) -> Held<'m> {
        let mut held = Held { ints: Vec::new(), other: Vec::new() };
        for m in masters {
            match m.server.peek(key) {
                Some(Data::Set(s)) => held.extend(s.iter().map(Vec::as_slice)),
                Some(Data::List(l)) => held.extend(l.iter().map(Vec::as_slice)),
                _ => {}
            }
        }
        held.ints.sort_unstable();
        held.other.sort_unstable();
        held
    }

    fn extend(&mut self, elements: impl Iterator<Item = &'m [u8]>) {
        for e in elements {
            match canonical_int(e) {
                Some(n) => self.ints.push(n),
                None => self.other.push(e),
            }
        }
    }

    fn contains(&self, e: &[u8]) -> bool {
        match canonical_int(e) {
            Some(n) => self.ints.binary_search(&n).is_ok(),
            None => self.other.binary_search(&e).is_ok(),
        }
    }
}

/// The integer `bytes` write as `i64`'s `Display` writes it (no sign but a
/// minus, no leading zero, no `-0`), of at most 18 digits; else `None`.
fn canonical_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let canonical = match digits {
        [] => false,
        [b'0'] => !negative,
        [first, ..] => *first != b'0' && digits.len() <= 18,
    };
    if !canonical {
        return None;
    }
    let mut n = 0i64;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + i64::from(digit);
    }
    Some(if negative { -n } else { n })
}

/// The largest integer value of `key` among the masters.
fn counter(masters: &[Member<'_>], key: &[u8]) -> i64 {
    let value = |m: &Member<'_>| match m.server.peek(key) {
        Some(Data::Str(v)) => std::str::from_utf8(v).ok().and_then(|t| t.parse().ok()),
        _ => None,
    };
    masters.iter().filter_map(value).max().unwrap_or(0)
}

impl Condition for NoAckedWriteLost {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut acked = self.acked.borrow_mut();
        let cursor = acked.cursor;
        let Some(events) = rt.workload_events_from(&self.workload, cursor) else {
            return Ok(Observation { holds: true, observed: format!("workload {} has not started", self.workload) });
        };
        acked.read(events);
        let masters: Vec<Member<'_>> =
            servers(rt, &self.among)?.into_iter().filter(|m| m.server.role_name() == "master").collect();
        if masters.is_empty() {
            return Ok(Observation { holds: true, observed: "not judged: no node is master".to_owned() });
        }
        // A master's dataset changes only with its replication offset (or a restart).
        let seen: Vec<MasterAt> =
            masters.iter().map(|m| (m.proc, rt.sim.incarnation(m.proc), m.server.repl_offset())).collect();
        if let Some((s, c, o)) = &acked.last
            && *s == seen
            && *c == acked.cursor
        {
            return Ok(o.clone());
        }
        let observation = judge(&mut acked, &masters);
        acked.last = Some((seen, acked.cursor, observation.clone()));
        Ok(observation)
    }
    fn describe(&self) -> String {
        format!("no write acknowledged to workload {} is lost", self.workload)
    }
}

/// Whether the masters hold every acknowledged write.
fn judge(acked: &mut Acked, masters: &[Member<'_>]) -> Observation {
    let mut missing: Vec<String> = Vec::new();
    let mut count = 0usize;
    for (key, acks) in &mut acked.elements {
        let lost = acks.missing(key, masters);
        count += lost.count;
        missing.extend(lost.listed.into_iter().take(LISTED - missing.len()));
    }
    for (key, &n) in &acked.increments {
        let value = counter(masters, &bytes(key));
        if value < n {
            count += (n - value) as usize;
            missing.push(format!("{} of {n} increments of {key} (the masters hold {value})", n - value));
        }
    }
    let names: Vec<&str> = masters.iter().map(|m| m.name).collect();
    if count == 0 {
        let total: usize = acked.elements.values().map(|k| k.elements.len()).sum();
        let incr: i64 = acked.increments.values().sum();
        return Observation {
            holds: true,
            observed: format!("{total} acked elements and {incr} increments held by {}", names.join(", ")),
        };
    }
    Observation {
        holds: false,
        observed: format!(
            "{count} acknowledged writes held by no master ({}): {}{}",
            names.join(", "),
            missing.join(", "),
            if count > missing.len() { ", …" } else { "" }
        ),
    }
}

fn seconds(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, ns % 1_000_000_000 / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::canonical_int;

    #[test]
    fn an_element_is_an_integer_exactly_when_i64_writes_it_so() {
        let texts = [
            "0",
            "-0",
            "7",
            "-7",
            "007",
            "+7",
            "10",
            "-10",
            "",
            "-",
            "1x",
            "x1",
            " 1",
            "1 ",
            "999999999999999999",
            "-999999999999999999",
            "1000000000000000000",
            "9223372036854775807",
            "1000000123",
            "0x1",
        ];
        for text in texts {
            let as_written =
                text.parse::<i64>().ok().filter(|n| n.to_string() == text && n.unsigned_abs() < 10u64.pow(18));
            assert_eq!(canonical_int(text.as_bytes()), as_written, "{text:?}");
        }
        assert_eq!(canonical_int(b"12\xff"), None);
    }
}
