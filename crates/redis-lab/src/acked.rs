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

use crate::invariants::{Member, RedisProcs};
use check::{Elem, F, Type, Value};
use redis::keyspace::Data;
use scenario::diag::Diagnostic;
use scenario::yaml::{Node, did_you_mean};
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime};
use sim::ProcId;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Acknowledged writes read so far (`elements` and `increments` change
    /// only when it grows).
    acks: u64,
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
    /// Elements acked since the last look.
    fresh: Vec<Elem>,
    /// What the last look found.
    looked: Option<Looked>,
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

/// What the last look at one key saw: the masters' digests of its value
/// and the elements acked then (the same values and the same acks miss the
/// same elements), each master's elements in order, all of them together,
/// and the acked ones none held. A list mostly only grows: when every
/// master's elements begin with what it held before, only the new ones
/// and the new acks are looked at.
struct Looked {
    values: Vec<ValueAt>,
    acks: usize,
    copies: Vec<Copy>,
    held: Held,
    lost: BTreeSet<Elem>,
    missing: Missing,
}

impl KeyAcks {
    /// The elements acked to this key that no master holds now.
    fn missing(&mut self, key: &Elem, masters: &[Member<'_>]) -> Missing {
        let values: Vec<ValueAt> = masters.iter().map(|m| (m.proc, m.server.key_digest(&self.bytes))).collect();
        if let Some(l) = &self.looked
            && l.values == values
            && l.acks == self.elements.len()
        {
            return l.missing.clone();
        }
        let fresh = std::mem::take(&mut self.fresh);
        let found: Vec<Found<'_>> = masters.iter().map(|m| Found::of(m, &self.bytes)).collect();
        let mut looked = match self.looked.take().and_then(|l| l.follow(&found, &self.elements, &fresh)) {
            Some(l) => l,
            None => Looked::read(&found, &self.elements),
        };
        looked.values = values;
        looked.acks = self.elements.len();
        looked.missing = Missing { count: looked.lost.len(), listed: Vec::new() };
        for x in looked.lost.iter().take(LISTED) {
            let at = self.elements.get(x).map_or(0, |e| e.1);
            looked.missing.listed.push(format!("{x} in {key} (acked at {})", seconds(at)));
        }
        let missing = looked.missing.clone();
        self.looked = Some(looked);
        missing
    }
}

/// The acknowledged elements of one key: each as the nodes hold it, with the ack's time.
type Acks = BTreeMap<Elem, (Vec<u8>, u64)>;

impl Looked {
    /// Every master's elements read afresh.
    fn read(found: &[Found<'_>], acked: &Acks) -> Looked {
        let mut copies = Vec::with_capacity(found.len());
        let mut all = Vec::new();
        for f in found {
            let mut copy = Copy { proc: f.proc, run: None, bytes: Vec::new(), ends: Vec::new() };
            copy.follow(f, &mut all);
            copies.push(copy);
        }
        let held = Held::of(&all);
        let lost = acked.iter().filter(|(_, (b, _))| !held.contains(b)).map(|(x, _)| x.clone()).collect();
        Looked { values: Vec::new(), acks: 0, copies, held, lost, missing: Missing::default() }
    }

    /// This look brought up to date, if every master (the same ones) still
    /// begins with the elements it had: its new elements join the held
    /// ones, the lost ones they hold are found, the `fresh` acks checked.
    fn follow(mut self, found: &[Found<'_>], acked: &Acks, fresh: &[Elem]) -> Option<Looked> {
        if self.copies.len() != found.len() {
            return None;
        }
        let mut new = Vec::new();
        for (copy, f) in self.copies.iter_mut().zip(found) {
            if copy.proc != f.proc || !copy.follow(f, &mut new) {
                return None;
            }
        }
        for e in &new {
            self.held.insert(e);
        }
        if !new.is_empty() {
            let held = &self.held;
            self.lost.retain(|x| acked.get(x).is_none_or(|(b, _)| !held.contains(b)));
        }
        for x in fresh {
            if let Some((b, _)) = acked.get(x)
                && !self.held.contains(b)
            {
                self.lost.insert(x.clone());
            }
        }
        Some(self)
    }
}

/// A master's value of one key, as a look finds it.
struct Found<'m> {
    proc: ProcId,
    data: Option<&'m Data>,
    /// A list's run of appends ([`redis::memory::List::appends`]).
    run: Option<(u64, usize)>,
}

impl<'m> Found<'m> {
    fn of(m: &Member<'m>, key: &[u8]) -> Found<'m> {
        Found::new(m.proc, m.server.peek(key))
    }

    fn new(proc: ProcId, data: Option<&'m Data>) -> Found<'m> {
        let run = match data {
            Some(Data::List(l)) => l.appends(),
            _ => None,
        };
        Found { proc, data, run }
    }

    /// Its elements in order from the `from`-th on (none unless a set or a list).
    fn elements_from(&self, from: usize) -> Vec<&'m [u8]> {
        match self.data {
            Some(Data::Set(s)) => s.iter().skip(from).map(Vec::as_slice).collect(),
            Some(Data::List(l)) => l.range(from.min(l.len())..).map(Vec::as_slice).collect(),
            _ => Vec::new(),
        }
    }
}

/// A master's elements of one key as a look read them, in order: their
/// bytes end to end, and where each ends; and the list's run of appends
/// then, if it kept one.
struct Copy {
    proc: ProcId,
    run: Option<u64>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Copy {
    /// Whether `found`'s elements begin with the copy's; if so the others
    /// join the copy and are pushed on `new`. A list in the run of appends
    /// it was in when copied begins with them: only its new tail is read.
    fn follow<'e>(&mut self, found: &Found<'e>, new: &mut Vec<&'e [u8]>) -> bool {
        let held = self.ends.len();
        let appended = match (self.run, found.run) {
            (Some(was), Some((run, len))) => was == run && len >= held,
            _ => false,
        };
        let tail = if appended {
            debug_assert!(self.heads(&found.elements_from(0)), "a list in the same run begins with what it held");
            found.elements_from(held)
        } else {
            let all = found.elements_from(0);
            if !self.heads(&all) {
                return false;
            }
            all[held..].to_vec()
        };
        for e in tail {
            self.bytes.extend_from_slice(e);
            self.ends.push(self.bytes.len());
            new.push(e);
        }
        self.run = found.run.map(|(run, _)| run);
        true
    }

    /// Whether `elements` begin with the copy's.
    fn heads(&self, elements: &[&[u8]]) -> bool {
        if elements.len() < self.ends.len() {
            return false;
        }
        let mut start = 0;
        for (e, &end) in elements.iter().zip(&self.ends) {
            if self.bytes[start..end] != **e {
                return false;
            }
            start = end;
        }
        true
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
                    acks.fresh.push(x.clone());
                    acks.elements.insert(x, (b, e.time));
                    self.acks += 1;
                }
                (F::Incr, v) => {
                    let by = match v {
                        Value::One(Elem::Int(n)) => n,
                        _ => 1,
                    };
                    *self.increments.entry(e.key).or_default() += by;
                    self.acks += 1;
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
    procs: RedisProcs,
    acked: RefCell<Acked>,
}

impl NoAckedWriteLost {
    pub(crate) fn new(workload: String, among: Option<Vec<NodeRef>>) -> NoAckedWriteLost {
        NoAckedWriteLost { workload, among, procs: RedisProcs::default(), acked: RefCell::new(Acked::default()) }
    }
}

fn bytes(e: &Elem) -> Vec<u8> {
    match e {
        Elem::Int(n) => n.to_string().into_bytes(),
        Elem::Str(s) => s.as_bytes().to_vec(),
    }
}

/// Elements some master holds, sorted (with repeats): those written as
/// `i64` writes an integer (a workload's elements) as integers, which sort
/// without comparing bytes, the rest as bytes. Which side an element is on
/// depends on its bytes alone, so an element is held exactly when its
/// bytes are.
#[derive(Default)]
struct Held {
    ints: Vec<i64>,
    other: Vec<Vec<u8>>,
}

impl Held {
    fn of(elements: &[&[u8]]) -> Held {
        let mut held = Held::default();
        for e in elements {
            match canonical_int(e) {
                Some(n) => held.ints.push(n),
                None => held.other.push(e.to_vec()),
            }
        }
        held.ints.sort_unstable();
        held.other.sort_unstable();
        held
    }

    fn insert(&mut self, e: &[u8]) {
        match canonical_int(e) {
            Some(n) => self.ints.insert(self.ints.partition_point(|&x| x < n), n),
            None => self.other.insert(self.other.partition_point(|x| x.as_slice() < e), e.to_vec()),
        }
    }

    fn contains(&self, e: &[u8]) -> bool {
        match canonical_int(e) {
            Some(n) => self.ints.binary_search(&n).is_ok(),
            None => self.other.binary_search_by(|x| x.as_slice().cmp(e)).is_ok(),
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
            self.procs.servers(rt, &self.among)?.into_iter().filter(|m| m.server.role_name() == "master").collect();
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
    /// The acknowledged writes (the workload's new events are read here,
    /// as a look begins by reading them) and the masters, with their
    /// incarnations and offsets: what `Acked::last` compares.
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        let mut acked = self.acked.borrow_mut();
        let cursor = acked.cursor;
        let Some(events) = rt.workload_events_from(&self.workload, cursor) else {
            out.push(0);
            return true;
        };
        acked.read(events);
        out.extend([1, acked.acks]);
        self.procs.member_words(rt, &self.among, out, |m, out, _| {
            if m.server.role_name() == "master" {
                out.extend([1, u64::from(rt.sim.incarnation(m.proc)), m.server.repl_offset() as u64]);
            } else {
                out.push(0);
            }
        })
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
    use super::{Acks, Data, Elem, Found, Looked, ProcId, bytes, canonical_int};
    use redis::memory::List;

    /// A small seeded generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// An element: mostly a canonical integer, now and then one that is
    /// not (`007`) or text, from a small range so that repeats happen.
    fn element(rng: &mut Rng) -> Elem {
        let n = rng.below(40) as i64;
        match rng.below(8) {
            0 => Elem::Str(format!("00{n}").into()),
            1 => Elem::Str(format!("x{n}").into()),
            _ => Elem::Int(n),
        }
    }

    /// Masters' lists changed at random (appends mostly; removals, cuts,
    /// elements changed in place, lists replaced by copies that grow apart,
    /// masters replaced or gone) while elements are acked: a look brought
    /// up to date (reading only the new tail of a list still in its run of
    /// appends) finds the same lost elements as a look afresh, step by step.
    #[test]
    fn a_look_brought_up_to_date_finds_what_a_fresh_look_finds() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut lost_seen, mut tails_read) = (0, 0);
        for seed in 0..300u32 {
            let mut lists: Vec<(ProcId, List)> = (0..1 + seed % 3).map(|p| (ProcId(p), List::default())).collect();
            let (mut acked, mut fresh, mut looked): (Acks, Vec<Elem>, Option<Looked>) = Default::default();
            for _ in 0..80 {
                let m = rng.below(lists.len() as u64) as usize;
                let list = &mut lists[m].1;
                match rng.below(22) {
                    0..=9 => list.push_back(bytes(&element(&mut rng))),
                    10..=14 => {
                        let x = element(&mut rng);
                        acked.insert(x.clone(), (bytes(&x), 0));
                        fresh.push(x);
                    }
                    15 if !list.is_empty() => {
                        let at = rng.below(list.len() as u64) as usize;
                        list.remove(at);
                    }
                    16 => {
                        let half = list.len() / 2;
                        list.truncate(half);
                    }
                    17 => lists[m].0 = ProcId(10 + rng.below(3) as u32),
                    18 => {
                        if lists.len() > 1 {
                            lists.remove(m);
                        }
                    }
                    19 if !list.is_empty() => {
                        let last = list.len() - 1;
                        list[last] = bytes(&element(&mut rng));
                    }
                    20 => {
                        let mut copy = list.clone();
                        copy.push_back(bytes(&element(&mut rng)));
                        *list = copy;
                    }
                    _ => drop(list.pop_back()),
                }
                let data: Vec<(ProcId, Data)> =
                    lists.iter().map(|(p, l)| (*p, Data::List(Box::new(l.clone())))).collect();
                // The masters' values as the nodes hold them (a clone for the
                // look would start a run of its own: give each its list's run).
                let found: Vec<Found<'_>> = data
                    .iter()
                    .zip(&lists)
                    .map(|((p, d), (_, l))| Found { run: l.appends(), ..Found::new(*p, Some(d)) })
                    .collect();
                let fresh = std::mem::take(&mut fresh);
                let kept_runs: Vec<Option<u64>> =
                    looked.as_ref().map_or(Vec::new(), |l| l.copies.iter().map(|c| c.run).collect());
                tails_read +=
                    found.iter().filter(|f| kept_runs.contains(&f.run.map(|r| r.0)) && f.run.is_some()).count();
                let now = looked.take().and_then(|l| l.follow(&found, &acked, &fresh));
                let now = now.unwrap_or_else(|| Looked::read(&found, &acked));
                let afresh = Looked::read(&found, &acked);
                assert_eq!(now.lost, afresh.lost, "seed {seed}");
                lost_seen += now.lost.len();
                looked = Some(now);
            }
        }
        assert!(lost_seen > 1000, "elements went missing now and then: {lost_seen}");
        assert!(tails_read > 3000, "lists in their run of appends were read by their tails: {tails_read}");
    }

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
