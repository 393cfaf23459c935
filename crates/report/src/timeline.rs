//! The run over virtual time, as the charts of `report.html` need it: each
//! node's state (master, replica, replica with its link down, paused, down),
//! the faults and steps, partitions, and the series nodes published through
//! the observations channel (replication offsets, epochs, slot owners,
//! Sentinel events). Built once from the finished trace and kept as
//! `timeline.json`, so `chaoslab report` can draw the charts again without
//! the simulation.

use serde::{Deserialize, Serialize};
use sim::{Health, Observation, Role, Sim, TraceEvent};
use std::collections::BTreeMap;

/// The faults a run's story and charts tell: not those on client processes (a
/// step's `redis-cli#7` starting is the step's own business), nor the nodes'
/// start before the first step (that is the topology's).
pub(crate) struct ToldFaults<'a> {
    clients: std::collections::BTreeSet<&'a str>,
    steps_began: bool,
}

impl<'a> ToldFaults<'a> {
    /// Clients are the processes `is_node` does not name.
    pub(crate) fn new(sim: &'a Sim, is_node: impl Fn(&str) -> bool) -> ToldFaults<'a> {
        let clients = sim.procs().map(|p| sim.proc_name(p)).filter(|n| !is_node(n)).collect();
        ToldFaults { clients, steps_began: false }
    }

    /// The fault's text if `event` is a fault to tell; notes when steps begin.
    pub(crate) fn see<'e>(&mut self, event: &'e TraceEvent) -> Option<&'e String> {
        match event {
            TraceEvent::Runner { kind: "step", .. } => {
                self.steps_began = true;
                None
            }
            TraceEvent::Fault { text } if self.steps_began => {
                (!text.split_whitespace().any(|w| self.clients.contains(w))).then_some(text)
            }
            _ => None,
        }
    }
}

/// A node's state over one stretch of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Running as a master (or a node with no roles).
    Master,
    /// Running as a replica with its link to the master up.
    Replica,
    /// Running as a replica, not (yet) streaming from its master.
    Handshake,
    /// Stopped with SIGSTOP.
    Paused,
    /// Not running.
    Down,
}

/// One stretch of a lane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, ns of virtual time.
    pub from_ns: u64,
    /// End, ns.
    pub to_ns: u64,
    /// The state throughout.
    pub state: State,
}

/// One node's states over the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    /// The node's name.
    pub name: String,
    /// Its states, in order, covering the run.
    pub segments: Vec<Segment>,
}

/// Something that happened at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// When, ns.
    pub at_ns: u64,
    /// `fault`, `step`, `failure` or `event`.
    pub kind: String,
    /// The node it concerns, when one does.
    pub node: Option<String>,
    /// What, in words.
    pub text: String,
}

/// A quantity one node published over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// The node.
    pub node: String,
    /// (ns, value), in time order.
    pub points: Vec<(u64, u64)>,
}

/// A stretch during which the network was partitioned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Start, ns.
    pub from_ns: u64,
    /// End (the heal, or the end of the run), ns.
    pub to_ns: u64,
    /// The fault as written.
    pub text: String,
}

/// Who owned a slot range, as most running nodes saw it, from when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// When this view began, ns.
    pub at_ns: u64,
    /// (first slot, last slot, owner id) ranges covering the assigned slots.
    pub ranges: Vec<(u16, u16, String)>,
}

/// Everything the charts draw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Virtual time at the end of the run, ns.
    pub end_ns: u64,
    /// One lane per node, in topology order.
    pub lanes: Vec<Lane>,
    /// Faults, steps, the failure, and node events (Sentinel's), in time order.
    pub marks: Vec<Mark>,
    /// Partitions.
    pub partitions: Vec<Partition>,
    /// Replication offsets per node.
    pub offsets: Vec<Series>,
    /// Per replica, how many bytes it was behind its master, at each change
    /// of either offset while it replicated (from the offsets the two
    /// published, so at the cron's granularity).
    #[serde(default)]
    pub lag: Vec<Series>,
    /// Current epochs per node (Redis Cluster).
    pub epochs: Vec<Series>,
    /// Slot ownership as the majority of running cluster nodes saw it, at
    /// each change.
    pub ownership: Vec<Ownership>,
    /// (ns, node, peer, health): a node's belief about a peer changed.
    pub health: Vec<(u64, String, String, String)>,
}

/// What one node is doing, as the trace says so far.
#[derive(Clone, Copy)]
struct NodeNow {
    running: bool,
    paused: bool,
    role: Option<Role>,
    link_up: bool,
}

impl NodeNow {
    fn state(self) -> State {
        match (self.running, self.paused, self.role, self.link_up) {
            (false, _, _, _) => State::Down,
            (true, true, _, _) => State::Paused,
            (true, false, Some(Role::Replica), true) => State::Replica,
            (true, false, Some(Role::Replica), false) => State::Handshake,
            _ => State::Master,
        }
    }
}

/// Builds the timeline of a finished run whose trace kept its records;
/// `nodes` are the topology's nodes (clients are left out) and `addrs` their
/// `ip:port`, to find the master a replica names.
pub fn build(sim: &Sim, nodes: &[String], addrs: &[String]) -> Timeline {
    let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let node_of = |p: sim::ProcId| index.get(sim.proc_name(p)).copied();
    let mut now = vec![NodeNow { running: false, paused: false, role: None, link_up: false }; nodes.len()];
    let mut lanes: Vec<Lane> = nodes.iter().map(|n| Lane { name: n.clone(), segments: Vec::new() }).collect();
    let mut since = vec![0u64; nodes.len()];
    let mut t = Timeline::default();
    let mut offsets: Vec<Vec<(u64, u64)>> = vec![Vec::new(); nodes.len()];
    // (from, master's index) for each stretch a node replicated.
    let mut following: Vec<Vec<(u64, Option<usize>)>> = vec![Vec::new(); nodes.len()];
    let mut epochs: Vec<Vec<(u64, u64)>> = vec![Vec::new(); nodes.len()];
    let mut owners = Owners::new(nodes.len());
    let mut open_partition: Option<(u64, String)> = None;
    let mut told = ToldFaults::new(sim, |n| index.contains_key(n));
    let mut last_at = 0;
    for rec in sim.trace().records() {
        let fault = told.see(&rec.event);
        let at = rec.at.as_nanos();
        if at != last_at {
            // The view at an instant is the one after all its observations.
            t.ownership.extend(owners.flush(last_at));
            last_at = at;
        }
        let mut changed: Option<(usize, NodeNow)> = None;
        match &rec.event {
            TraceEvent::Process { proc, change } => {
                if let Some(i) = node_of(*proc) {
                    let mut n = now[i];
                    match *change {
                        "started" => n = NodeNow { running: true, paused: false, role: None, link_up: false },
                        "paused" => n.paused = true,
                        "resumed" => n.paused = false,
                        "wiped" => {}
                        _ => n = NodeNow { running: false, paused: false, role: None, link_up: false },
                    }
                    if !n.running {
                        owners.forget(i);
                        following[i].push((at, None));
                    }
                    changed = Some((i, n));
                }
            }
            TraceEvent::Fault { .. } if let Some(text) = fault => {
                let mark = Mark { at_ns: at, kind: "fault".into(), node: None, text: text.clone() };
                if text.starts_with("partition") {
                    if let Some((from, text)) = open_partition.take() {
                        t.partitions.push(Partition { from_ns: from, to_ns: at, text });
                    }
                    open_partition = Some((at, text.clone()));
                } else if text.starts_with("heal")
                    && let Some((from, text)) = open_partition.take()
                {
                    t.partitions.push(Partition { from_ns: from, to_ns: at, text });
                }
                t.marks.push(mark);
            }
            TraceEvent::Runner { kind: kind @ ("step" | "failure"), text } => {
                t.marks.push(Mark { at_ns: at, kind: (*kind).into(), node: None, text: text.clone() });
            }
            TraceEvent::Observe { proc, obs } => {
                let Some(i) = node_of(*proc) else { continue };
                match &**obs {
                    Observation::Role { role, master } => {
                        let of = master.as_deref().and_then(|m| addrs.iter().position(|a| a == m));
                        following[i].push((at, of.filter(|_| *role == Role::Replica)));
                        let mut n = now[i];
                        n.role = Some(*role);
                        n.link_up = n.link_up && *role == Role::Replica;
                        changed = Some((i, n));
                    }
                    Observation::MasterLink { up } => {
                        let mut n = now[i];
                        n.link_up = *up;
                        changed = Some((i, n));
                    }
                    Observation::ReplOffset { offset } => offsets[i].push((at, *offset)),
                    Observation::Epoch { current, .. } => epochs[i].push((at, *current)),
                    Observation::SlotRange { first, last, owner } => owners.set(i, *first, *last, owner.as_deref()),
                    Observation::Peer { peer, health } => {
                        let health = match health {
                            Health::Ok => "ok",
                            Health::Suspect => "suspect",
                            Health::Failed => "failed",
                        };
                        t.health.push((at, nodes[i].clone(), peer.clone(), health.to_owned()));
                    }
                    Observation::Event { name, detail } => t.marks.push(Mark {
                        at_ns: at,
                        kind: "event".into(),
                        node: Some(nodes[i].clone()),
                        text: format!("{name} {detail}"),
                    }),
                    _ => {}
                }
            }
            _ => {}
        }
        if let Some((i, n)) = changed {
            let (before, after) = (now[i].state(), n.state());
            now[i] = n;
            if before != after {
                close(&mut lanes[i], since[i], at, before);
                since[i] = at;
            }
        }
    }
    t.ownership.extend(owners.flush(last_at));
    t.end_ns = sim.now().as_nanos();
    for (i, lane) in lanes.iter_mut().enumerate() {
        close(lane, since[i], t.end_ns, now[i].state());
    }
    if let Some((from, text)) = open_partition {
        t.partitions.push(Partition { from_ns: from, to_ns: t.end_ns, text });
    }
    t.lanes = lanes;
    t.lag = lags(nodes, &offsets, &following, t.end_ns);
    t.offsets = series(nodes, offsets);
    t.epochs = series(nodes, epochs);
    t
}

/// Ends a lane's current stretch; a stretch of no length is left out, and one
/// that goes on in the same state joins the one before.
fn close(lane: &mut Lane, from: u64, to: u64, state: State) {
    if to <= from {
        return;
    }
    match lane.segments.last_mut() {
        Some(last) if last.state == state && last.to_ns == from => last.to_ns = to,
        _ => lane.segments.push(Segment { from_ns: from, to_ns: to, state }),
    }
}

/// The value of a step series at `at` (its last point at or before it).
fn value_at(points: &[(u64, u64)], at: u64) -> Option<u64> {
    let i = points.partition_point(|p| p.0 <= at);
    i.checked_sub(1).map(|i| points[i].1)
}

/// Each replica's lag behind its master, at every change of either offset.
fn lags(
    nodes: &[String],
    offsets: &[Vec<(u64, u64)>],
    following: &[Vec<(u64, Option<usize>)>],
    end: u64,
) -> Vec<Series> {
    let mut out = Vec::new();
    for (r, stretches) in following.iter().enumerate() {
        let mut points = Vec::new();
        for (k, &(from, master)) in stretches.iter().enumerate() {
            let Some(m) = master else { continue };
            let to = stretches.get(k + 1).map_or(end, |s| s.0);
            let mut times: Vec<u64> =
                offsets[r].iter().chain(&offsets[m]).map(|p| p.0).filter(|&t| from <= t && t < to).collect();
            times.push(from);
            times.sort_unstable();
            times.dedup();
            for at in times {
                if let (Some(mo), Some(ro)) = (value_at(&offsets[m], at), value_at(&offsets[r], at)) {
                    points.push((at, mo.saturating_sub(ro)));
                }
            }
        }
        if !points.is_empty() {
            out.push(Series { node: nodes[r].clone(), points });
        }
    }
    out
}

fn series(nodes: &[String], points: Vec<Vec<(u64, u64)>>) -> Vec<Series> {
    nodes
        .iter()
        .zip(points)
        .filter(|(_, p)| !p.is_empty())
        .map(|(n, points)| Series { node: n.clone(), points })
        .collect()
}

/// Every cluster node's own slot table, as its observations tell it, and per
/// slot how many running nodes name each owner, to follow the view most of
/// them share. Updates cost what the ranges cover; the view is rebuilt only
/// when a slot's majority owner changed.
struct Owners {
    /// Per node, per slot: the owner's number in `names` plus one (0: none).
    tables: Vec<Option<Vec<u32>>>,
    /// Per slot: how many tables name each owner.
    counts: Vec<BTreeMap<u32, u32>>,
    /// Per slot: the owner most tables name (ties: the lowest number).
    majority: Vec<u32>,
    names: Vec<String>,
    dirty: bool,
}

/// Redis Cluster's slot count (`common::slot::SLOTS`; this crate knows no node
/// kind, and slot ranges arrive as plain numbers in the observations).
const SLOTS: usize = 16384;

impl Owners {
    fn new(nodes: usize) -> Owners {
        Owners {
            tables: vec![None; nodes],
            counts: vec![BTreeMap::new(); SLOTS],
            majority: vec![0; SLOTS],
            names: Vec::new(),
            dirty: false,
        }
    }

    fn number(&mut self, id: &str) -> u32 {
        match self.names.iter().position(|n| n == id) {
            Some(i) => i as u32 + 1,
            None => {
                self.names.push(id.to_owned());
                self.names.len() as u32
            }
        }
    }

    fn count(&mut self, slot: usize, owner: u32, add: bool) {
        let c = self.counts[slot].entry(owner).or_default();
        if add {
            *c += 1;
        } else {
            *c -= 1;
            if *c == 0 {
                self.counts[slot].remove(&owner);
            }
        }
        let best = self.counts[slot].iter().max_by_key(|(o, c)| (**c, std::cmp::Reverse(**o))).map_or(0, |(o, _)| *o);
        if best != self.majority[slot] {
            self.majority[slot] = best;
            self.dirty = true;
        }
    }

    fn set(&mut self, node: usize, first: u16, last: u16, owner: Option<&str>) {
        let owner = owner.map_or(0, |o| self.number(o));
        let mut table = self.tables[node].take().unwrap_or_else(|| {
            vec![u32::MAX; SLOTS] // not yet counted
        });
        let (first, last) = (usize::from(first), usize::from(last).min(SLOTS - 1));
        for (slot, entry) in table.iter_mut().enumerate().take(last + 1).skip(first) {
            if *entry != u32::MAX {
                self.count(slot, *entry, false);
            }
            *entry = owner;
            self.count(slot, owner, true);
        }
        self.tables[node] = Some(table);
    }

    fn forget(&mut self, node: usize) {
        let Some(table) = self.tables[node].take() else { return };
        for (slot, &owner) in table.iter().enumerate() {
            if owner != u32::MAX {
                self.count(slot, owner, false);
            }
        }
    }

    /// The majority view, if it changed since the last call.
    fn flush(&mut self, at: u64) -> Option<Ownership> {
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        let mut ranges: Vec<(u16, u16, String)> = Vec::new();
        for (slot, &owner) in self.majority.iter().enumerate() {
            if owner == 0 {
                continue;
            }
            let name = &self.names[owner as usize - 1];
            match ranges.last_mut() {
                Some((_, end, o)) if o == name && usize::from(*end) + 1 == slot => *end = slot as u16,
                _ => ranges.push((slot as u16, slot as u16, name.clone())),
            }
        }
        Some(Ownership { at_ns: at, ranges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::{Ctx, Fault, Input, Instant, Process, SimConfig};
    use std::time::Duration;

    /// Publishes a script of observations, one per timer tick (every second).
    struct Scripted {
        script: Vec<Observation>,
        next: usize,
    }

    impl Process for Scripted {
        fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
            if let Input::Start | Input::Timer { .. } = input {
                if let Some(obs) = self.script.get(self.next) {
                    ctx.observe(obs.clone());
                    self.next += 1;
                }
                ctx.set_timer(Duration::from_secs(1), 0);
            }
        }
    }

    fn run(scripts: Vec<Vec<Observation>>, faults: &[(u64, usize, &str)], secs: u64) -> (Sim, Vec<String>) {
        let mut sim = Sim::new(SimConfig { seed: 1, record_trace: true, ..SimConfig::default() });
        let h = sim.add_host("h", std::net::Ipv4Addr::LOCALHOST);
        let mut names = Vec::new();
        let mut procs = Vec::new();
        for (i, script) in scripts.into_iter().enumerate() {
            let name = format!("n{i}");
            let p = sim.add_process(h, &name, Box::new(move || Box::new(Scripted { script: script.clone(), next: 0 })));
            sim.apply(Fault::Start(p)).unwrap();
            names.push(name);
            procs.push(p);
        }
        sim.record("step", "#1 go");
        for &(at, i, what) in faults {
            let fault = match what {
                "pause" => Fault::Pause(procs[i]),
                "resume" => Fault::Resume(procs[i]),
                _ => Fault::Kill(procs[i]),
            };
            sim.schedule(Instant::ZERO + Duration::from_millis(at), fault);
        }
        sim.run_until(Instant::ZERO + Duration::from_secs(secs));
        (sim, names)
    }

    fn role(role: Role) -> Observation {
        Observation::Role { role, master: None }
    }

    #[test]
    fn lanes_follow_roles_links_pauses_and_kills() {
        let script = vec![role(Role::Replica), Observation::MasterLink { up: true }, role(Role::Master)];
        let (sim, names) = run(vec![script], &[(3500, 0, "pause"), (4500, 0, "resume"), (5500, 0, "kill")], 7);
        let t = build(&sim, &names, &[]);
        let states: Vec<(u64, State)> = t.lanes[0].segments.iter().map(|s| (s.from_ns / 1_000_000, s.state)).collect();
        assert_eq!(
            states,
            [
                (0, State::Handshake),
                (1000, State::Replica),
                (2000, State::Master),
                (3500, State::Paused),
                (4500, State::Master),
                (5500, State::Down)
            ]
        );
        assert_eq!(t.lanes[0].segments.last().unwrap().to_ns, 7_000_000_000, "the last stretch runs to the end");
        let faults: Vec<&str> = t.marks.iter().filter(|m| m.kind == "fault").map(|m| m.text.as_str()).collect();
        assert_eq!(faults, ["pause n0", "resume n0", "kill n0"], "the start before the first step is not a mark");
    }

    #[test]
    fn a_replicas_lag_is_its_masters_offset_less_its_own_while_it_follows() {
        let off = |offset| Observation::ReplOffset { offset };
        let master = vec![off(100), off(300), off(300), off(500)];
        let follows = Observation::Role { role: Role::Replica, master: Some("10.0.0.1:6379".into()) };
        let replica = vec![follows, off(100), off(300), role(Role::Master)];
        let (sim, names) = run(vec![master, replica], &[], 5);
        let addrs = ["10.0.0.1:6379".to_owned(), "10.0.0.2:6379".to_owned()];
        let t = build(&sim, &names, &addrs);
        assert_eq!(t.lag.len(), 1, "only the replica lags");
        let points: Vec<(u64, u64)> = t.lag[0].points.iter().map(|&(at, v)| (at / 1_000_000_000, v)).collect();
        // 0 s: the replica has no offset yet. 1 s: 300 against 100. 2 s: 300
        // against 300. 3 s: promoted, so the master's 500 is no lag of its.
        assert_eq!(points, [(1, 200), (2, 0)], "{points:?}");
        assert_eq!(t.lag[0].node, "n1");
    }

    #[test]
    fn slot_owners_are_what_most_running_nodes_say() {
        let owner = |o: &str| Observation::SlotRange { first: 0, last: 99, owner: Some(o.to_owned()) };
        // n0 and n1 agree on a, then n0 moves to b; when n1 dies, n0 and n2 decide.
        let scripts = vec![vec![owner("a"), owner("b")], vec![owner("a")], vec![owner("c"), owner("c"), owner("b")]];
        let (sim, names) = run(scripts, &[(1500, 1, "kill")], 4);
        let t = build(&sim, &names, &[]);
        let views: Vec<_> = t.ownership.iter().map(|o| (o.at_ns / 1_000_000, o.ranges.clone())).collect();
        let r = |o: &str| vec![(0u16, 99u16, o.to_owned())];
        // 0 s: a, a, c. 1 s: b, a, c, a tie that stays with the first name
        // seen (a). 1.5 s: n1 dies, b against c: c was seen first. 2 s: n2
        // says b too.
        assert_eq!(views, [(0, r("a")), (1500, r("c")), (2000, r("b"))]);
    }
}
