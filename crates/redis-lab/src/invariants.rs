//! Ready-made continuous invariants over a whole Redis deployment, written as
//! conditions so that `invariants:` gives each its `name:`, `expect:` and
//! `within:` and reports its first violation like any other (they also serve
//! `wait-until` and `assert`). Each looks at every running (or paused) node of
//! kind `redis`, or at the nodes of `among: [...]`, through `redis::view`:
//!
//! - `cluster-one-owner-per-epoch`: no two nodes' tables give one slot to two
//!   different owners at the same configEpoch;
//! - `cluster-slots-covered`: every node's table assigns all 16384 slots to
//!   owners it does not flag `fail`;
//! - `cluster-agrees` and `replicas-converged`: the nodes agree (slot map and
//!   epochs; replicas at their master's offset with its dataset); not judged
//!   while a partition or a pause is in force, so `within: T` on the
//!   invariant reads "within T of the heal";
//! - `replication-lag`: no replica more than `max-bytes` behind its master;
//! - `single-master`: at most one master among the nodes of a replication group;
//! - `no-acked-write-lost` (in [`crate::acked`]): every element and increment a
//!   workload saw acknowledged is held by a node that is master now.

use redis::server::Server;
use redis::view::SlotRangeView;
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime, Syntax};
use serde_json::json;
use sim::{ProcId, ProcState};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

/// The names of the ready-made invariants.
pub const NAMES: &[&str] = &[
    "cluster-one-owner-per-epoch",
    "cluster-slots-covered",
    "cluster-agrees",
    "replicas-converged",
    "replication-lag",
    "single-master",
    "no-acked-write-lost",
];

/// Their syntax, for `chaoslab schema`.
pub fn syntax() -> Vec<Syntax> {
    let among = json!({"type": "array", "items": {"type": "string"}, "description": "the nodes it looks at (default: every node of kind redis)"});
    let plain = |name, doc| Syntax {
        name,
        doc,
        schema: json!({"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": false, "properties": {"among": among}}]}),
    };
    vec![
        plain(
            "cluster-one-owner-per-epoch",
            "no two cluster nodes' tables give one hash slot to two different owners with the same configEpoch",
        ),
        plain(
            "cluster-slots-covered",
            "every running cluster node's table assigns all 16384 slots, to owners it does not flag `fail`",
        ),
        plain(
            "cluster-agrees",
            "all running cluster nodes have the same slot map, owners' configEpochs and currentEpoch; not judged while a partition or pause is in force (add `within: T` for \"within T of the heal\")",
        ),
        plain(
            "replicas-converged",
            "every running replica's link is up and it has what its master had one poll earlier, with the same dataset when the offsets are equal; not judged while a partition or pause is in force (add `within: T`)",
        ),
        Syntax {
            name: "replication-lag",
            doc: "no running replica is more than `max-bytes` of replication stream behind its running master",
            schema: json!({"type": "object", "required": ["max-bytes"], "additionalProperties": false, "properties": {
                "max-bytes": {"type": "integer", "minimum": 0}, "among": among}}),
        },
        Syntax {
            name: "single-master",
            doc: "at most one of the nodes of a replication group is a master (paused nodes count: resumed, they act as one)",
            schema: json!({"type": "object", "required": ["among"], "additionalProperties": false, "properties": {
                "among": {"type": "array", "minItems": 2, "items": {"type": "string"}}}}),
        },
        Syntax {
            name: "no-acked-write-lost",
            doc: "every set element, list element and counter increment workload `workload` saw acknowledged so far is held by some node that is master now (registers: see the linearizability checker)",
            schema: json!({"type": "object", "required": ["workload"], "additionalProperties": false, "properties": {
                "workload": {"type": "string"}, "among": among}}),
        },
    ]
}

/// Parses one of [`NAMES`].
pub fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    if value.is_null() && !matches!(name, "replication-lag" | "single-master" | "no-acked-write-lost") {
        return Ok(plain(name, None));
    }
    let mut m = value.map(name)?;
    // `nodes:` reaches here rewritten to one `node:` per node (`quantify`).
    if let Some(n) = m.get("node") {
        return Err(Diagnostic::new(n.span, format!("`{name}` looks at every redis node, not at one"))
            .with_label("not a key of this invariant")
            .with_hint("leave it out for every node, or write `among: [...]` to look at some"));
    }
    let among = m.get("among").map(|n| among(n, cx, name)).transpose()?;
    Ok(match name {
        "replication-lag" => {
            let max_bytes = m.required("max-bytes")?.u64("replication-lag.max-bytes")?;
            m.finish(&["max-bytes", "among"])?;
            Box::new(Lag { among, max_bytes: max_bytes as i64, hosts: Hosts::default() })
        }
        "single-master" => {
            let Some(among) = among.filter(|a| a.len() >= 2) else {
                return Err(Diagnostic::new(value.span, "`single-master` needs `among:` with at least two nodes")
                    .with_hint(
                        "name the replication group, e.g. `single-master: {among: [\"6379\", \"6380\", \"6381\"]}`",
                    ));
            };
            m.finish(&["among"])?;
            Box::new(SingleMaster { among })
        }
        "no-acked-write-lost" => {
            let workload = crate::acked::workload_name(m.required("workload")?, cx)?;
            m.finish(&["workload", "among"])?;
            Box::new(crate::acked::NoAckedWriteLost::new(workload, among))
        }
        _ => {
            m.finish(&["among"])?;
            plain(name, among)
        }
    })
}

fn plain(name: &str, among: Option<Vec<NodeRef>>) -> Box<dyn Condition> {
    match name {
        "cluster-one-owner-per-epoch" => Box::new(OwnerPerEpoch {
            among,
            procs: RedisProcs::default(),
            tables: Tables::default(),
            last: RefCell::default(),
        }),
        "cluster-slots-covered" => Box::new(SlotsCovered {
            among,
            procs: RedisProcs::default(),
            tables: Tables::default(),
            words: Words::default(),
        }),
        "cluster-agrees" => Box::new(Agrees {
            among,
            procs: RedisProcs::default(),
            tables: Tables::default(),
            not_judged: NotJudged::default(),
            last: RefCell::default(),
        }),
        _ => Box::new(Converged {
            among,
            procs: RedisProcs::default(),
            hosts: Hosts::default(),
            words: Words::default(),
            not_judged: NotJudged::default(),
            last: RefCell::default(),
            previous: RefCell::default(),
            same_at: RefCell::default(),
            settled: Default::default(),
            reusable: Default::default(),
        }),
    }
}

fn among(n: &Node, cx: &ParseCx<'_>, name: &str) -> Result<Vec<NodeRef>, Diagnostic> {
    let items = n.seq(&format!("{name}.among"))?;
    if items.is_empty() {
        return Err(Diagnostic::new(n.span, format!("`{name}.among` lists no node"))
            .with_hint("leave `among` out to look at every redis node, or name some"));
    }
    items.iter().map(|i| cx.node_ref(i, &format!("{name}.among"))).collect()
}

/// `p`, if it is a running or paused redis server an invariant looks at.
fn member(rt: &Runtime, p: ProcId) -> Option<Member<'_>> {
    let state = rt.sim.proc_state(p);
    if state == ProcState::Down {
        return None;
    }
    // A server still starting up answers nothing yet.
    let server = rt.sim.process::<Server>(p).filter(|s| s.is_up())?;
    Some(Member { proc: p, name: rt.sim.proc_name(p), server, paused: state == ProcState::Paused })
}

/// The running or paused redis servers an invariant looks at, by name.
pub(crate) fn servers<'a>(rt: &'a Runtime, among: &Option<Vec<NodeRef>>) -> Result<Vec<Member<'a>>, RunError> {
    // Sized once: the invariants ask at every poll.
    let mut out = Vec::with_capacity(among.as_ref().map_or(rt.nodes().size_hint().0, Vec::len));
    match among {
        Some(list) => {
            for r in list {
                out.extend(member(rt, rt.proc(r)?));
            }
        }
        None => out.extend(rt.nodes().filter(|(_, kind)| *kind == "redis").filter_map(|(p, _)| member(rt, p))),
    }
    Ok(out)
}

/// The scenario's redis nodes in process order (what [`servers`] walks
/// without `among:`), found once (a run's nodes never change), and what an
/// invariant's [`Condition::inputs`] last read of each.
#[derive(Default)]
pub(crate) struct RedisProcs {
    procs: std::cell::OnceCell<Vec<ProcId>>,
    /// By process number.
    kept: RefCell<Vec<Option<Kept>>>,
    /// Bumped whenever a node's words are found to differ from those kept:
    /// the same number, the same words for every node.
    generation: std::cell::Cell<u64>,
    /// A node's words read afresh and the other nodes they read, kept for
    /// their allocations.
    scratch: RefCell<(Vec<u64>, Vec<ProcId>)>,
}

/// A node's words as last read, and the nodes they were read from (the
/// node itself, a replica's master) with their [`Stamp`]s then: a process
/// object changes only while it handles an input
/// ([`sim::Sim::inputs_handled`]), so with the same stamps the words are
/// the same (debug builds read them anyway and assert so).
#[derive(Default)]
struct Kept {
    read: Vec<(ProcId, Stamp)>,
    words: Vec<u64>,
}

/// A process's state, incarnation and inputs handled.
type Stamp = (ProcState, u32, u64);

fn stamp(rt: &Runtime, p: ProcId) -> Stamp {
    (rt.sim.proc_state(p), rt.sim.incarnation(p), rt.sim.inputs_handled(p))
}

impl RedisProcs {
    fn get(&self, rt: &Runtime) -> &[ProcId] {
        self.procs.get_or_init(|| rt.nodes().filter(|(_, kind)| *kind == "redis").map(|(p, _)| p).collect())
    }

    /// [`servers`], the redis nodes found once.
    pub(crate) fn servers<'a>(
        &self,
        rt: &'a Runtime,
        among: &Option<Vec<NodeRef>>,
    ) -> Result<Vec<Member<'a>>, RunError> {
        if among.is_some() {
            return servers(rt, among);
        }
        let procs = self.get(rt);
        let mut out = Vec::with_capacity(procs.len());
        out.extend(procs.iter().filter_map(|&p| member(rt, p)));
        Ok(out)
    }

    /// For the cluster invariants' [`Condition::inputs`]: for each node
    /// [`servers`] would give (in its order), its process number and
    /// whether it is paused, then its [`table_words`]. These are a few
    /// fields read, cheaper than [`RedisProcs::member_words`]'s bookkeeping
    /// of which nodes moved, so they are read at every look, once for all
    /// the cluster invariants ([`Runtime::shared_words`]). False with
    /// `among:`, as there.
    pub(crate) fn table_inputs(&self, rt: &Runtime, among: &Option<Vec<NodeRef>>, out: &mut Vec<u64>) -> bool {
        if among.is_some() {
            return false;
        }
        rt.shared_words("cluster tables", out, |words| {
            for &p in self.get(rt) {
                if let Some(m) = member(rt, p) {
                    words.push(u64::from(p.0) << 1 | u64::from(m.paused));
                    table_words(rt, &m, words);
                }
            }
        });
        true
    }

    /// For [`Condition::inputs`]: stands for, for each node [`servers`]
    /// would give (in its order), its process number and whether it is
    /// paused, then what `words` pushes of it (`words` names any other node
    /// it reads in its third argument). A node that handled no input since
    /// it was last read (nor any other node read with it) is not read
    /// again; one that did is, and its words compared with those kept.
    /// What is pushed is one number, bumped whenever some node's words
    /// differ from those kept: equal numbers, equal words. False with
    /// `among:` (its names are rendered at each look): the look observes.
    pub(crate) fn member_words(
        &self,
        rt: &Runtime,
        among: &Option<Vec<NodeRef>>,
        out: &mut Vec<u64>,
        mut words: impl FnMut(&Member<'_>, &mut Vec<u64>, &mut Vec<ProcId>),
    ) -> bool {
        if among.is_some() {
            return false;
        }
        let mut kept = self.kept.borrow_mut();
        let mut scratch = self.scratch.borrow_mut();
        let (fresh, others) = &mut *scratch;
        let mut generation = self.generation.get();
        for &p in self.get(rt) {
            let at = p.0 as usize;
            if kept.len() <= at {
                kept.resize_with(at + 1, || None);
            }
            let k = kept[at].get_or_insert_with(Kept::default);
            let moved = k.read.is_empty() || k.read.iter().any(|&(q, was)| stamp(rt, q) != was);
            if !moved && !cfg!(debug_assertions) {
                continue;
            }
            // Read afresh (in debug builds, also what did not move, to check it).
            fresh.clear();
            others.clear();
            if let Some(m) = member(rt, p) {
                fresh.push(u64::from(p.0) << 1 | u64::from(m.paused));
                words(&m, fresh, others);
            }
            if !moved {
                assert_eq!(k.words, *fresh, "node {} moved without handling an input", p.0);
                continue;
            }
            k.read.clear();
            k.read.push((p, stamp(rt, p)));
            k.read.extend(others.iter().map(|&q| (q, stamp(rt, q))));
            if k.words != *fresh {
                std::mem::swap(&mut k.words, fresh);
                generation += 1;
            }
        }
        self.generation.set(generation);
        out.push(generation);
        true
    }
}

/// What the cluster invariants read of `m`'s table: the node's
/// incarnation (a table lives as long as its server) and the table's
/// [`redis::view::ClusterView::view_generation`], which stands for its
/// runs and their owners' ids (`slots_version`, as [`Tables`] relies on),
/// currentEpoch, first failed run and the runs' owners' epochs.
fn table_words(rt: &Runtime, m: &Member<'_>, out: &mut Vec<u64>) {
    out.push(u64::from(rt.sim.incarnation(m.proc)));
    match m.server.cluster_view() {
        None => out.push(0),
        Some(c) => out.extend([1, c.view_generation()]),
    }
}

/// One node an invariant looks at.
pub(crate) struct Member<'a> {
    pub(crate) proc: ProcId,
    pub(crate) name: &'a str,
    pub(crate) server: &'a Server,
    pub(crate) paused: bool,
}

/// Each node's slot ranges as last read, by process number. A table whose
/// node table and slots have not changed since (the same incarnation,
/// [`ClusterView::entries_version`] and [`ClusterView::slots_version`]) is
/// not read again at all; one whose slots have not moved is not walked
/// again, and ranges whose owners' epochs have not moved either are the
/// same ranges (the same `Rc`).
///
/// [`ClusterView::entries_version`]: redis::view::ClusterView::entries_version
/// [`ClusterView::slots_version`]: redis::view::ClusterView::slots_version
#[derive(Default)]
struct Tables(RefCell<Vec<Option<TableRead>>>);

/// One table's slot ranges, shared while they stand.
type Ranges = Rc<Vec<SlotRangeView>>;

/// A table as last read: the node's incarnation, the table's versions, its
/// runs, and the ranges with the owners' epochs then.
struct TableRead {
    incarnation: u32,
    version: u64,
    /// The node table's [`redis::view::ClusterView::entries_version`] when
    /// `ranges` and `failed` were read.
    entries: u64,
    runs: Vec<(u16, u16, String)>,
    ranges: Ranges,
    /// The first range whose owner the table flags `fail`.
    failed: Option<usize>,
    /// The owners' epochs as last read (kept for its allocation).
    epochs: Vec<u64>,
}

/// A table's ranges and its first range owned by a failed node.
struct Table {
    ranges: Ranges,
    failed: Option<usize>,
}

impl Tables {
    /// `m`'s table's slot ranges with the owners' epochs; `None` outside cluster mode.
    fn ranges(&self, rt: &Runtime, m: &Member<'_>) -> Option<Ranges> {
        self.table(rt, m).map(|t| t.ranges)
    }

    /// [`Tables::ranges`], with the first range owned by a failed node.
    fn table(&self, rt: &Runtime, m: &Member<'_>) -> Option<Table> {
        let c = m.server.cluster_view()?;
        let (incarnation, version, entries) = (rt.sim.incarnation(m.proc), c.slots_version(), c.entries_version());
        let mut cache = self.0.borrow_mut();
        let at = m.proc.0 as usize;
        if cache.len() <= at {
            cache.resize_with(at + 1, || None);
        }
        let read = cache[at].get_or_insert_with(|| TableRead {
            incarnation,
            version: version.wrapping_add(1),
            entries,
            runs: Vec::new(),
            ranges: Rc::default(),
            failed: None,
            epochs: Vec::new(),
        });
        if (read.incarnation, read.version, read.entries) == (incarnation, version, entries) {
            // Nothing the ranges are made of changed: in debug builds, read them anyway.
            #[cfg(debug_assertions)]
            {
                let mut epochs = Vec::new();
                c.run_epochs_into(&mut epochs);
                assert!(read.ranges.iter().map(|r| r.epoch).eq(epochs), "epochs moved, the versions did not");
                assert_eq!(read.runs, c.slot_runs(), "runs moved, the versions did not");
                assert_eq!(read.failed, c.first_failed_run(), "a failed owner moved, the versions did not");
            }
            return Some(Table { ranges: read.ranges.clone(), failed: read.failed });
        }
        if (read.incarnation, read.version) != (incarnation, version) {
            let epochs = std::mem::take(&mut read.epochs);
            *read = TableRead {
                incarnation,
                version,
                entries,
                runs: c.slot_runs(),
                ranges: Rc::default(),
                failed: None,
                epochs,
            };
        }
        read.entries = entries;
        read.failed = c.first_failed_run();
        c.run_epochs_into(&mut read.epochs);
        if !read.ranges.iter().map(|r| r.epoch).eq(read.epochs.iter().copied()) || read.ranges.len() != read.runs.len()
        {
            let ranges = read.runs.iter().zip(&read.epochs).map(|((first, last, owner), &epoch)| SlotRangeView {
                first: *first,
                last: *last,
                owner: owner.clone(),
                epoch,
            });
            read.ranges = Rc::new(ranges.collect());
        }
        Some(Table { ranges: read.ranges.clone(), failed: read.failed })
    }
}

/// The first 8 characters of a node id, as reports show it.
fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn describe_among(among: &Option<Vec<NodeRef>>, what: &str) -> String {
    match among {
        Some(list) => format!("{what} among {}", list.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")),
        None => what.to_owned(),
    }
}

/// Partitions and pauses in force: what keeps running nodes from agreeing.
fn separating_faults(rt: &Runtime) -> Vec<String> {
    rt.faults_in_force().iter().filter(|f| f.starts_with("partition") || f.starts_with("pause")).cloned().collect()
}

/// Whether a partition or pause is in force, and the words of a look that
/// does not judge then, kept while the faults stand ([`Runtime::faults_applied`]
/// moves with them): a look during a partition says so at every poll.
#[derive(Default)]
struct NotJudged(RefCell<Option<(u64, Option<String>)>>);

impl NotJudged {
    /// The observation that holds unjudged, while a partition or pause is in force.
    fn look(&self, rt: &Runtime) -> Option<Observation> {
        let applied = rt.faults_applied();
        let mut kept = self.0.borrow_mut();
        if kept.as_ref().is_none_or(|(at, _)| *at != applied) {
            let faults = separating_faults(rt);
            let words = (!faults.is_empty()).then(|| format!("not judged: {} in force", faults.join(", ")));
            *kept = Some((applied, words));
        }
        let observed = kept.as_ref()?.1.clone()?;
        Some(Observation { holds: true, observed })
    }
}

struct OwnerPerEpoch {
    among: Option<Vec<NodeRef>>,
    procs: RedisProcs,
    tables: Tables,
    /// The ranges the last look judged (the same `Rc`s: the same tables), and its judgement.
    last: RefCell<Option<(Vec<Ranges>, Observation)>>,
}

impl Condition for OwnerPerEpoch {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let views: Vec<(&str, Ranges)> = self
            .procs
            .servers(rt, &self.among)?
            .iter()
            .filter_map(|m| self.tables.ranges(rt, m).map(|r| (m.name, r)))
            .collect();
        let seen: Vec<Ranges> = views.iter().map(|(_, r)| r.clone()).collect();
        let mut last = self.last.borrow_mut();
        if let Some((before, o)) = &*last
            && before.len() == seen.len()
            && before.iter().zip(&seen).all(|(a, b)| Rc::ptr_eq(a, b))
        {
            return Ok(o.clone());
        }
        let observation = owner_clash(&views);
        *last = Some((seen, observation.clone()));
        Ok(observation)
    }
    fn describe(&self) -> String {
        describe_among(&self.among, "one owner per slot per configEpoch")
    }
    /// The nodes and their tables' ranges (`last` only saves work).
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        self.procs.table_inputs(rt, &self.among, out)
    }
}

/// Whether any two of the tables give one slot to two owners at one epoch.
fn owner_clash(views: &[(&str, Ranges)]) -> Observation {
    for (i, (a, ra)) in views.iter().enumerate() {
        for (b, rb) in &views[i + 1..] {
            if let Some((slot, x, y)) = clash(ra, rb) {
                return Observation {
                    holds: false,
                    observed: format!(
                        "slot {slot} at configEpoch {}: {a} sees it served by {}, {b} by {}",
                        x.epoch,
                        short(&x.owner),
                        short(&y.owner)
                    ),
                };
            }
        }
    }
    Observation {
        holds: true,
        observed: format!("{} cluster tables, no slot with two owners at one epoch", views.len()),
    }
}

/// The first slot two tables give to different owners at the same epoch.
fn clash<'r>(a: &'r [SlotRangeView], b: &'r [SlotRangeView]) -> Option<(u16, &'r SlotRangeView, &'r SlotRangeView)> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (&a[i], &b[j]);
        let (first, last) = (x.first.max(y.first), x.last.min(y.last));
        if first <= last && x.owner != y.owner && x.epoch == y.epoch {
            return Some((first, x, y));
        }
        if x.last < y.last { i += 1 } else { j += 1 }
    }
    None
}

struct SlotsCovered {
    among: Option<Vec<NodeRef>>,
    procs: RedisProcs,
    tables: Tables,
    words: Words,
}

/// The words of the last observation that held, kept while the number in
/// them stays (an invariant that holds says so at every poll).
#[derive(Default)]
struct Words(RefCell<Option<(usize, String)>>);

impl Words {
    /// The observation that holds with `n` in `word`'s words.
    fn holds(&self, n: usize, word: impl FnOnce(usize) -> String) -> Observation {
        let mut last = self.0.borrow_mut();
        let observed = match &*last {
            Some((m, text)) if *m == n => text.clone(),
            _ => last.insert((n, word(n))).1.clone(),
        };
        Observation { holds: true, observed }
    }
}

impl Condition for SlotsCovered {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut tables = 0;
        for m in self.procs.servers(rt, &self.among)? {
            let Some(Table { ranges, failed }) = self.tables.table(rt, &m) else { continue };
            tables += 1;
            let assigned: usize = ranges.iter().map(|r| usize::from(r.last - r.first) + 1).sum();
            if assigned < common::slot::SLOTS {
                let hole = first_hole(&ranges);
                return Ok(Observation {
                    holds: false,
                    observed: format!(
                        "{} sees {} slots unassigned (from slot {hole})",
                        m.name,
                        common::slot::SLOTS - assigned
                    ),
                });
            }
            if let Some(r) = failed.and_then(|i| ranges.get(i)) {
                return Ok(Observation {
                    holds: false,
                    observed: format!(
                        "{} sees slots {}-{} on {}, flagged fail",
                        m.name,
                        r.first,
                        r.last,
                        short(&r.owner)
                    ),
                });
            }
        }
        Ok(self.words.holds(tables, |n| format!("all 16384 slots covered in {n} cluster tables")))
    }
    fn describe(&self) -> String {
        describe_among(&self.among, "all slots covered")
    }
    /// The nodes, their tables' ranges and failed owners.
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        self.procs.table_inputs(rt, &self.among, out)
    }
}

fn first_hole(ranges: &[SlotRangeView]) -> usize {
    let mut next = 0usize;
    for r in ranges {
        if usize::from(r.first) > next {
            return next;
        }
        next = usize::from(r.last) + 1;
    }
    next
}

struct Agrees {
    among: Option<Vec<NodeRef>>,
    procs: RedisProcs,
    tables: Tables,
    not_judged: NotJudged,
    /// The tables the last judgement saw and what it concluded.
    last: RefCell<Option<(Vec<TableSeen>, Observation)>>,
}

/// A table as a judgement saw it: its node, the node's currentEpoch and its
/// ranges (the same `Rc`: the same ranges).
type TableSeen = (ProcId, u64, Ranges);

impl Condition for Agrees {
    /// It reads the faults in force, the nodes' states and their tables,
    /// nothing else (`last` only saves work).
    fn repeats_when_nothing_happened(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        if let Some(unjudged) = self.not_judged.look(rt) {
            return Ok(unjudged);
        }
        let members = self.procs.servers(rt, &self.among)?;
        let mut views: Vec<(&Member<'_>, u64, Ranges)> = Vec::with_capacity(members.len());
        views.extend(members.iter().filter(|m| !m.paused).filter_map(|m| {
            let epoch = m.server.cluster_view()?.current_epoch();
            self.tables.ranges(rt, m).map(|r| (m, epoch, r))
        }));
        let mut last = self.last.borrow_mut();
        if let Some((seen, o)) = &*last
            && seen.len() == views.len()
            && seen.iter().zip(&views).all(|(a, b)| a.0 == b.0.proc && a.1 == b.1 && Rc::ptr_eq(&a.2, &b.2))
        {
            return Ok(o.clone());
        }
        let named: Vec<(&str, u64, &[SlotRangeView])> = views.iter().map(|(m, e, r)| (m.name, *e, &r[..])).collect();
        let observation = agreement(&named);
        *last = Some((views.into_iter().map(|(m, e, r)| (m.proc, e, r)).collect(), observation.clone()));
        Ok(observation)
    }
    fn describe(&self) -> String {
        describe_among(&self.among, "the cluster agrees on its slot map and epochs")
    }
    /// The faults in force, the nodes (paused ones are passed by), their
    /// tables' ranges and currentEpochs.
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        out.push(rt.faults_applied());
        self.procs.table_inputs(rt, &self.among, out)
    }
}

/// Whether the tables (by node name, with its currentEpoch) agree, in words.
fn agreement(views: &[(&str, u64, &[SlotRangeView])]) -> Observation {
    let Some((first, epoch, ranges)) = views.first() else {
        return Observation { holds: true, observed: "no running cluster node".to_owned() };
    };
    for (name, e, r) in &views[1..] {
        if e != epoch {
            return Observation {
                holds: false,
                observed: format!("{first} is at currentEpoch {epoch}, {name} at {e}"),
            };
        }
        if r != ranges {
            return Observation { holds: false, observed: slot_difference(first, ranges, name, r) };
        }
    }
    Observation {
        holds: true,
        observed: format!("{} nodes agree: {} slot ranges, currentEpoch {epoch}", views.len(), ranges.len()),
    }
}

/// Where two slot maps first differ, in words.
fn slot_difference(a: &str, ra: &[SlotRangeView], b: &str, rb: &[SlotRangeView]) -> String {
    let owner = |r: &[SlotRangeView], slot: u16| {
        r.iter()
            .find(|x| x.first <= slot && slot <= x.last)
            .map_or_else(|| "unassigned".to_owned(), |x| format!("{} at configEpoch {}", short(&x.owner), x.epoch))
    };
    let boundaries = ra.iter().chain(rb).flat_map(|r| [r.first, r.last]);
    let mut slots: Vec<u16> = boundaries.collect();
    slots.sort_unstable();
    let slot = slots.into_iter().find(|&s| owner(ra, s) != owner(rb, s)).unwrap_or(0);
    format!("slot {slot}: {a} sees {}, {b} sees {}", owner(ra, slot), owner(rb, slot))
}

/// Masters as replicas name them (host and port), each looked up once
/// among the scenario's nodes, whose addresses never change during a run
/// (the invariants that follow replicas ask at every poll).
#[derive(Default)]
struct Hosts(RefCell<Vec<(String, u16, Option<ProcId>)>>);

impl Hosts {
    /// The node (among all the scenario's nodes) that serves at `host:port`.
    fn node_at(&self, rt: &Runtime, host: &str, port: u16) -> Option<ProcId> {
        let mut known = self.0.borrow_mut();
        if let Some(&(_, _, p)) = known.iter().find(|(h, at, _)| *at == port && h == host) {
            return p;
        }
        let ip: Option<Ipv4Addr> = host.parse().ok();
        let p = ip.and_then(|ip| rt.node_at_addr(SocketAddrV4::new(ip, port)));
        known.push((host.to_owned(), port, p));
        p
    }
}

/// A running replica and its master, when the master is a running node.
fn pairs<'a>(
    rt: &'a Runtime,
    among: &Option<Vec<NodeRef>>,
    hosts: &Hosts,
    procs: Option<&RedisProcs>,
) -> Result<Vec<(Member<'a>, Member<'a>)>, RunError> {
    let members = match procs {
        Some(procs) => procs.servers(rt, among)?,
        None => servers(rt, among)?,
    };
    let mut out = Vec::with_capacity(members.len());
    for r in members {
        if let Some(master) = master_of(rt, &r, hosts) {
            out.push((r, master));
        }
    }
    Ok(out)
}

/// The master of replica `r`, when it is a running (or paused) node.
fn master_of<'a>(rt: &'a Runtime, r: &Member<'a>, hosts: &Hosts) -> Option<Member<'a>> {
    master_member(rt, master_proc(rt, r, hosts)?)
}

/// The node replica `r` names as its master, if it is one of the scenario's.
fn master_proc(rt: &Runtime, r: &Member<'_>, hosts: &Hosts) -> Option<ProcId> {
    let (host, port) = r.server.master_host_port()?;
    hosts.node_at(rt, host, port)
}

/// Node `p` as a replica's master: running or paused, up or not.
fn master_member(rt: &Runtime, p: ProcId) -> Option<Member<'_>> {
    let state = rt.sim.proc_state(p);
    if state == ProcState::Down {
        return None;
    }
    let server = rt.sim.process::<Server>(p)?;
    Some(Member { proc: p, name: rt.sim.proc_name(p), server, paused: state == ProcState::Paused })
}

struct Converged {
    among: Option<Vec<NodeRef>>,
    procs: RedisProcs,
    hosts: Hosts,
    words: Words,
    not_judged: NotJudged,
    /// Each master's offset at the previous look, by (replica, master), in
    /// the order the pairs were found (the same pairs, the same order).
    last: RefCell<Vec<((ProcId, ProcId), i64)>>,
    /// The look before's, kept for its allocation.
    previous: RefCell<Vec<((ProcId, ProcId), i64)>>,
    /// When each pair's datasets were last found equal (the offset and both
    /// nodes' command counts: a writable replica changes without its offset
    /// moving): the digests are compared again only when one of them moves.
    same_at: RefCell<BTreeMap<(ProcId, ProcId), SameAt>>,
    /// The last look saw the masters' offsets it had seen the look before
    /// (or judged nothing): in the same world the next look sees the same.
    settled: std::cell::Cell<bool>,
    /// The last look judged nothing, or found every pair caught up with
    /// every replica at or past its master's offset: a look that finds the
    /// same [`Condition::inputs`] (the faults, pairs, offsets, links and
    /// command counts) sees the same, since the datasets it found equal
    /// are at the same offset and command counts (`same_at`), and no
    /// replica is behind the offsets it compares with (those it saw, the
    /// same); and it leaves `last` as it is.
    reusable: std::cell::Cell<bool>,
}

/// The replica's offset and both nodes' command counts.
type SameAt = (i64, u64, u64);

impl Converged {
    /// Whether a replica and its master, at the same offset, hold the same dataset.
    fn same_data(&self, r: &Member<'_>, m: &Member<'_>) -> bool {
        let key = (r.proc, m.proc);
        let at = (r.server.repl_offset(), r.server.commands_processed(), m.server.commands_processed());
        if self.same_at.borrow().get(&key) == Some(&at) {
            return true;
        }
        let same = r.server.dataset_digest() == m.server.dataset_digest();
        if same {
            self.same_at.borrow_mut().insert(key, at);
        }
        same
    }
}

impl Condition for Converged {
    /// A look compares with the masters' offsets the previous look saw:
    /// once two looks saw the same, an unchanged world looks the same.
    fn repeats_when_nothing_happened(&self) -> bool {
        self.settled.get()
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        self.reusable.set(false);
        let observation = self.look(rt)?;
        if !observation.holds {
            self.reusable.set(false);
        }
        Ok(observation)
    }
    fn describe(&self) -> String {
        describe_among(&self.among, "replicas converge with their masters")
    }
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        if !self.reusable.get() {
            return false;
        }
        out.push(rt.faults_applied());
        self.procs.member_words(rt, &self.among, out, |r, out, others| {
            let Some(p) = master_proc(rt, r, &self.hosts) else { return out.push(0) };
            others.push(p);
            match master_member(rt, p) {
                None => out.push(0),
                Some(m) => out.extend([
                    1,
                    u64::from(m.proc.0),
                    r.server.repl_offset() as u64,
                    m.server.repl_offset() as u64,
                    u64::from(r.server.master_link_up()),
                    r.server.commands_processed(),
                    m.server.commands_processed(),
                ]),
            }
        })
    }
}

impl Converged {
    /// [`Condition::observe`].
    fn look(&self, rt: &Runtime) -> Result<Observation, RunError> {
        self.settled.set(false);
        let unjudged = self.not_judged.look(rt);
        let pairs = pairs(rt, &self.among, &self.hosts, Some(&self.procs))?;
        let (mut last, mut previous) = (self.last.borrow_mut(), self.previous.borrow_mut());
        std::mem::swap(&mut *last, &mut *previous);
        last.clear();
        last.extend(pairs.iter().map(|(r, m)| ((r.proc, m.proc), m.server.repl_offset())));
        self.settled.set(unjudged.is_some() || *previous == *last);
        if let Some(unjudged) = unjudged {
            self.reusable.set(true);
            return Ok(unjudged);
        }
        // Held with every replica at or past its master's offset, a look
        // at the same offsets (compared with these) holds again.
        self.reusable.set(pairs.iter().all(|(r, m)| r.server.repl_offset() >= m.server.repl_offset()));
        for (r, m) in &pairs {
            let (ro, mo) = (r.server.repl_offset(), m.server.repl_offset());
            let before = previous.iter().find(|(pair, _)| *pair == (r.proc, m.proc));
            let behind = match before {
                Some(&(_, before)) => ro < before,
                None => ro < mo,
            };
            let diverged = ro == mo && !self.same_data(r, m);
            if !r.server.master_link_up() || behind || diverged {
                let why = if !r.server.master_link_up() {
                    "link down"
                } else if diverged {
                    "same offset, different datasets"
                } else {
                    "behind"
                };
                return Ok(Observation {
                    holds: false,
                    observed: format!("{} at offset {ro}, its master {} at {mo}: {why}", r.name, m.name),
                });
            }
        }
        Ok(self.words.holds(pairs.len(), |n| format!("{n} replicas caught up with their masters")))
    }
}

struct Lag {
    among: Option<Vec<NodeRef>>,
    max_bytes: i64,
    hosts: Hosts,
}

impl Condition for Lag {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut worst: Option<(i64, String)> = None;
        for (r, m) in pairs(rt, &self.among, &self.hosts, None)? {
            let behind = (m.server.repl_offset() - r.server.repl_offset()).max(0);
            if worst.as_ref().is_none_or(|(w, _)| behind > *w) {
                worst = Some((behind, format!("{} is {behind} bytes behind {}", r.name, m.name)));
            }
        }
        Ok(match worst {
            Some((behind, text)) => Observation { holds: behind <= self.max_bytes, observed: text },
            None => Observation { holds: true, observed: "no running replica of a running master".to_owned() },
        })
    }
    fn describe(&self) -> String {
        describe_among(&self.among, &format!("replication lag at most {} bytes", self.max_bytes))
    }
}

struct SingleMaster {
    among: Vec<NodeRef>,
}

impl Condition for SingleMaster {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let masters: Vec<String> = servers(rt, &Some(self.among.clone()))?
            .iter()
            .filter(|m| m.server.role_name() == "master")
            .map(|m| if m.paused { format!("{} (paused)", m.name) } else { m.name.to_owned() })
            .collect();
        let observed = match masters.len() {
            0 => "no master".to_owned(),
            1 => format!("{} is the only master", masters[0]),
            n => format!("{n} masters: {}", masters.join(", ")),
        };
        Ok(Observation { holds: masters.len() <= 1, observed })
    }
    fn describe(&self) -> String {
        format!("at most one master among {}", self.among.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "))
    }
}
