//! The discrete-event kernel: one queue of events ordered by (virtual time,
//! insertion sequence), hosts, processes, TCP-like connections, disks and faults.
//!
//! Connections are modelled per direction as a FIFO "wire" of packets of which
//! only the head is scheduled. A head that cannot get through (partition, host
//! down) is retransmitted with TCP's backoff, so traffic resumes by itself after a
//! heal on connections that are still open, and a packet that reaches a host where
//! nobody owns the connection any more is answered with a reset. Everything a
//! process learns about its peers comes from packets, as on a real network.

use crate::disk::Disk;
use crate::fault::{Fault, FaultError};
use crate::fifo::{self, Fifo};
use crate::hash::packet_digest;
use crate::net::{self, Endpoint, LinkConfig, NetConfig};
use crate::observe::Observation;
use crate::payload::Payload;
use crate::process::{CloseReason, ConnectError, Ctx, Input, Process};
use crate::queue::EventQueue;
use crate::rng::Rng;
use crate::time::Instant;
use crate::trace::{Delivery, PacketKind, Trace, TraceEvent};
use crate::{ConnId, HostId, ProcId, TimerId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

mod busy;
mod conns;
mod faults;
mod flow;
mod turn;

use flow::READ;

/// Builds a fresh process object each time the process starts; its memory is
/// never carried over a restart, only its disk is.
pub type Factory = Box<dyn FnMut() -> Box<dyn Process>>;

/// Run-wide settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The one seed every random stream derives from.
    pub seed: u64,
    /// Wall-clock time at virtual time zero, in ms since the Unix epoch.
    pub epoch_ms: i64,
    /// Latency and loss defaults.
    pub net: NetConfig,
    /// Keep every trace record (needed for `trace.jsonl`), not only the hash.
    pub record_trace: bool,
    /// The most events the kernel processes at one virtual instant. Past it
    /// the run is taken for a zero-delay loop (a process re-arming a 0 ms
    /// timer, two processes answering each other instantly): the kernel
    /// stops with [`SimBug::EventStorm`] instead of hanging. Real runs stay
    /// far below [`DEFAULT_MAX_EVENTS_PER_INSTANT`]: the busiest instant of
    /// every shipped scenario and of the 300- and 1,000-node cluster
    /// benchmarks holds a few hundred events at most (see the bench output).
    pub max_events_per_instant: u64,
}

/// [`SimConfig::max_events_per_instant`]'s default: ten million events at one
/// virtual instant, some seconds of wall time, orders of magnitude above
/// what any run shipped with chaoslab reaches.
pub const DEFAULT_MAX_EVENTS_PER_INSTANT: u64 = 10_000_000;

/// A fault in the simulated world itself rather than in the system under test:
/// the kernel stops processing events when it detects one
/// ([`Sim::bug`]); the world is then frozen as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimBug {
    /// More than [`SimConfig::max_events_per_instant`] events at virtual time
    /// `at` without the clock advancing.
    EventStorm {
        /// The instant the events piled up at.
        at: Instant,
        /// How many events ran there, the one that crossed the limit included.
        events: u64,
    },
}

impl std::fmt::Display for SimBug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimBug::EventStorm { at, events } => write!(
                f,
                "simulator bug: {events} events at virtual time {at} without time advancing (a zero-delay loop?)"
            ),
        }
    }
}

impl std::error::Error for SimBug {}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            // 2026-01-01T00:00:00Z: a fixed, plausible date for log timestamps.
            epoch_ms: 1_767_225_600_000,
            net: NetConfig::default(),
            record_trace: false,
            max_events_per_instant: DEFAULT_MAX_EVENTS_PER_INSTANT,
        }
    }
}

/// Whether a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// Not running (never started, stopped, killed, or its host crashed).
    Down,
    /// Running.
    Running,
    /// Frozen by SIGSTOP: inputs queue up and timers fire late, on resume.
    /// What its peers write stops being accepted once its connections'
    /// buffers are full (flow control), except through [`Ctx::send`].
    Paused,
}

/// A host's listening ports and their processes. A node listens on one or
/// two ports, kept in the host's own record: every SYN looks its listener
/// up, and a separate allocation was a second cache miss each (a 1,000-node
/// cluster opens a million connections in its first second).
#[derive(Default)]
struct Listeners {
    first: [Option<(u16, ProcId)>; 2],
    rest: Vec<(u16, ProcId)>,
}

impl Listeners {
    fn iter(&self) -> impl Iterator<Item = &(u16, ProcId)> {
        self.first.iter().flatten().chain(&self.rest)
    }

    fn push(&mut self, listener: (u16, ProcId)) {
        match self.first.iter_mut().find(|l| l.is_none()) {
            Some(free) => *free = Some(listener),
            None => self.rest.push(listener),
        }
    }

    fn retain(&mut self, keep: impl Fn(&(u16, ProcId)) -> bool) {
        for l in &mut self.first {
            if l.as_ref().is_some_and(|l| !keep(l)) {
                *l = None;
            }
        }
        self.rest.retain(keep);
    }
}

pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) ip: Ipv4Addr,
    pub(crate) up: bool,
    listeners: Listeners,
    next_ephemeral: u16,
    group: u32,
}

pub(crate) struct ProcSlot {
    pub(crate) name: String,
    pub(crate) host: HostId,
    pub(crate) state: ProcState,
    incarnation: u32,
    /// Inputs handed to its process object so far ([`Sim::inputs_handled`]).
    inputs: u64,
    pub(crate) rng: Rng,
    net_rng: Rng,
    pub(crate) disk: Disk,
    writeback_at: Option<Instant>,
    deferred: VecDeque<OwnedInput>,
    /// Its CPU is taken until then ([`Ctx::spend`]): inputs wait in `deferred`.
    pub(crate) busy_until: Instant,
    /// When the pending [`Event::Drain`] of `deferred` runs, if one is.
    drain_at: Option<Instant>,
    clock_offset_ms: i64,
    group: u32,
    pub(crate) exit_requested: bool,
    /// Its shutdown handler asked to exit by itself later ([`Ctx::defer_exit`]).
    pub(crate) exit_deferred: bool,
    /// A restart waits for this exit: the kernel starts it again then.
    restart_on_exit: bool,
    /// Its disk was handed to it during the current input ([`Ctx::disk`]):
    /// only then can a file have turned dirty, and looking through the
    /// files after every input of every process was a cache miss each.
    pub(crate) disk_used: bool,
    log: Vec<String>,
}

/// An input held by the kernel (for a paused process, or a later event).
#[derive(Debug)]
enum OwnedInput {
    Accepted {
        conn: ConnId,
        local_port: u16,
        peer: SocketAddrV4,
    },
    Connected {
        conn: ConnId,
    },
    ConnectFailed {
        conn: ConnId,
        error: ConnectError,
    },
    /// `dir` is the wire it came by, whose unread count drops when it is
    /// read; [`READ`] once that has been counted.
    Data {
        conn: ConnId,
        dir: u8,
        bytes: Payload,
    },
    Closed {
        conn: ConnId,
        reason: CloseReason,
    },
    Timer {
        id: TimerId,
        tag: u64,
    },
    Writable {
        conn: ConnId,
    },
}

#[derive(Debug)]
struct Packet {
    at: Instant,
    kind: PacketKind,
    data: Payload,
    /// The trace's fingerprint of bytes, taken when they are sent: they were
    /// just written and are still in cache, where by delivery they are
    /// usually not (a 1,000-node cluster has megabytes of PINGs in flight).
    /// A frame's is taken when it arrives ([`World::frame_arrives`]).
    digest: u64,
}

#[derive(Debug, Default)]
struct Wire {
    /// Its packets, in the kernel's [`World::packets`].
    queue: Fifo,
    scheduled: bool,
    last_at: Instant,
    /// When the last packet finished going onto the wire: the next one queues behind it.
    sent_until: Instant,
    retries: u32,
    rto: Duration,
    /// Bytes written this way and not yet read by the receiving process: in
    /// the sender's send buffer, on the wire, or in the receiver's receive
    /// buffer (a paused process's queued input). Flow control bounds it.
    unread: u64,
    /// Bytes the receiver read in its current autotuning window.
    read_since: u32,
    /// When the receiver's current autotuning window began, in virtual ms
    /// (wrapping; only differences under a few seconds are read).
    read_window: u32,
    /// Receive buffer doublings from `tcp_rmem`'s default.
    rcv_growth: u8,
    /// The send buffer autotuned to `tcp_wmem`'s max.
    snd_grown: bool,
    /// A write found no room; the writer hears [`Input::Writable`] when some opens.
    writer_waiting: bool,
}

#[derive(Clone, Copy, Debug)]
struct End {
    host: HostId,
    proc: Option<ProcId>,
    addr: SocketAddrV4,
    open: bool,
    /// What its process asked to be told back about it ([`Ctx::tag_conn`]).
    tag: u32,
}

#[derive(Debug)]
struct Conn {
    generation: u32,
    live: bool,
    established: bool,
    /// `ends[0]` opened the connection, `ends[1]` accepted it.
    ends: [End; 2],
    /// `wires[d]` carries packets from `ends[d]` to the other end.
    wires: [Wire; 2],
}

#[derive(Debug)]
enum Event {
    Deliver { conn: ConnId, dir: u8 },
    Timer { proc: ProcId, incarnation: u32, id: TimerId, tag: u64 },
    Notify { proc: ProcId, incarnation: u32, input: Box<OwnedInput> },
    Drain { proc: ProcId, incarnation: u32 },
    Writeback { proc: ProcId },
    Fault(Box<Fault>),
}

/// Buffers kept for reuse so steady-state sends do not allocate.
const BUFFER_POOL_MAX: usize = 4096;
const BUFFER_KEEP_MAX: usize = 64 * 1024;

/// Everything but the process objects, so a process can hold `&mut World`
/// (through its [`Ctx`]) while it runs.
pub(crate) struct World {
    pub(crate) now: Instant,
    seed: u64,
    epoch_ms: i64,
    queue: EventQueue<Event>,
    pub(crate) hosts: Vec<Host>,
    pub(crate) procs: Vec<ProcSlot>,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    /// The packets in flight on every wire.
    packets: fifo::Slab<Packet>,
    net: NetConfig,
    net_rng: Rng,
    links: Vec<(Endpoint, Endpoint, LinkConfig)>,
    one_way: Vec<(Vec<Endpoint>, Vec<Endpoint>)>,
    /// Hosts that are down, and whether a partition put anything in a
    /// group: while neither is, no packet can be blocked, and checking each
    /// delivery needs no read of its ends' hosts and processes.
    hosts_down: usize,
    grouped: bool,
    pub(crate) cancelled_timers: BTreeSet<TimerId>,
    next_timer: u64,
    buffers: Vec<Vec<u8>>,
    trace: Trace,
    events: u64,
    fault_errors: Vec<(Instant, String)>,
    /// The instant of the last event, and how many events ran at it.
    instant: (Instant, u64),
    /// The most events seen at one instant so far, and that instant.
    busiest: (Instant, u64),
    max_events_per_instant: u64,
    /// Set when the kernel stops on a bug: no event runs after it.
    bug: Option<SimBug>,
}

/// The simulation: build a topology, start processes, apply faults, run.
pub struct Sim {
    world: World,
    objects: Vec<Option<Box<dyn Process>>>,
    factories: Vec<Factory>,
    names: BTreeMap<String, ProcId>,
}

impl Sim {
    /// An empty simulation at virtual time zero.
    pub fn new(config: SimConfig) -> Sim {
        let trace = if config.record_trace { Trace::recording() } else { Trace::default() };
        Sim {
            world: World {
                now: Instant::ZERO,
                seed: config.seed,
                epoch_ms: config.epoch_ms,
                queue: EventQueue::default(),
                hosts: Vec::new(),
                procs: Vec::new(),
                conns: Vec::new(),
                free_conns: Vec::new(),
                packets: fifo::Slab::default(),
                net: config.net,
                net_rng: Rng::stream(config.seed, "kernel:net"),
                links: Vec::new(),
                one_way: Vec::new(),
                hosts_down: 0,
                grouped: false,
                cancelled_timers: BTreeSet::new(),
                next_timer: 0,
                buffers: Vec::new(),
                trace,
                events: 0,
                fault_errors: Vec::new(),
                instant: (Instant::ZERO, 0),
                busiest: (Instant::ZERO, 0),
                max_events_per_instant: config.max_events_per_instant,
                bug: None,
            },
            objects: Vec::new(),
            factories: Vec::new(),
            names: BTreeMap::new(),
        }
    }

    /// Adds a host. Panics on a duplicate address: topology is validated before this.
    pub fn add_host(&mut self, name: &str, ip: Ipv4Addr) -> HostId {
        assert!(self.world.hosts.iter().all(|h| h.ip != ip), "duplicate host address {ip}");
        let id = HostId(self.world.hosts.len() as u32);
        self.world.hosts.push(Host {
            name: name.to_owned(),
            ip,
            up: true,
            listeners: Listeners::default(),
            next_ephemeral: 32768,
            group: 0,
        });
        id
    }

    /// Adds a process on `host`, not yet started. Its random streams are keyed by
    /// `name`, so adding processes never changes what the others draw.
    pub fn add_process(&mut self, host: HostId, name: &str, factory: Factory) -> ProcId {
        assert!(!self.names.contains_key(name), "duplicate process name {name}");
        let id = ProcId(self.world.procs.len() as u32);
        let seed = self.world.seed;
        self.world.procs.push(ProcSlot {
            name: name.to_owned(),
            host,
            state: ProcState::Down,
            incarnation: 0,
            inputs: 0,
            rng: Rng::stream(seed, &format!("proc:{name}")),
            net_rng: Rng::stream(seed, &format!("net:{name}")),
            disk: Disk::default(),
            writeback_at: None,
            deferred: VecDeque::new(),
            busy_until: Instant::ZERO,
            drain_at: None,
            clock_offset_ms: 0,
            group: 0,
            exit_requested: false,
            exit_deferred: false,
            restart_on_exit: false,
            disk_used: false,
            log: Vec::new(),
        });
        self.objects.push(None);
        self.factories.push(factory);
        self.names.insert(name.to_owned(), id);
        id
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.world.now
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.world.seed
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.world.events
    }

    /// The process called `name`.
    pub fn proc_by_name(&self, name: &str) -> Option<ProcId> {
        self.names.get(name).copied()
    }

    /// The host called `name`.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.world.hosts.iter().position(|h| h.name == name).map(|i| HostId(i as u32))
    }

    /// A process's name.
    pub fn proc_name(&self, p: ProcId) -> &str {
        &self.world.procs[p.index()].name
    }

    /// A host's name.
    pub fn host_name(&self, h: HostId) -> &str {
        &self.world.hosts[h.index()].name
    }

    /// A host's address.
    pub fn host_ip(&self, h: HostId) -> Ipv4Addr {
        self.world.hosts[h.index()].ip
    }

    /// Whether a host is up.
    pub fn host_up(&self, h: HostId) -> bool {
        self.world.hosts[h.index()].up
    }

    /// The host a process runs on.
    pub fn host_of(&self, p: ProcId) -> HostId {
        self.world.procs[p.index()].host
    }

    /// All processes in creation order.
    pub fn procs(&self) -> impl Iterator<Item = ProcId> + use<> {
        (0..self.world.procs.len() as u32).map(ProcId)
    }

    /// All hosts in creation order.
    pub fn hosts(&self) -> impl Iterator<Item = HostId> + use<> {
        (0..self.world.hosts.len() as u32).map(HostId)
    }

    /// Whether a process is down, running or paused.
    pub fn proc_state(&self, p: ProcId) -> ProcState {
        self.world.procs[p.index()].state
    }

    /// Whether a process has a listening socket (it has finished starting
    /// up, for a server).
    pub fn is_listening(&self, p: ProcId) -> bool {
        let host = &self.world.hosts[self.world.procs[p.index()].host.index()];
        host.listeners.iter().any(|(_, owner)| *owner == p)
    }

    /// How many times a process has been started.
    pub fn incarnation(&self, p: ProcId) -> u32 {
        self.world.procs[p.index()].incarnation
    }

    /// How many inputs a process's objects have been handed so far (kernel
    /// inputs and [`Sim::with_process`] calls, over all incarnations). A
    /// process object changes only while it handles one, so with the same
    /// [`Sim::incarnation`] and count it is as it was: observers polling
    /// many processes read again only those that moved.
    pub fn inputs_handled(&self, p: ProcId) -> u64 {
        self.world.procs[p.index()].inputs
    }

    /// Bytes `p` wrote on `conn` that its peer has not read yet, and the most
    /// the connection's buffers hold that way now (they autotune); `None`
    /// once the connection is gone.
    pub fn unread(&self, p: ProcId, conn: ConnId) -> Option<(u64, u64)> {
        self.world.unread(p, conn)
    }

    /// A process's disk (it outlives the process).
    pub fn disk(&self, p: ProcId) -> &Disk {
        &self.world.procs[p.index()].disk
    }

    /// Lines a process has logged, across all its incarnations.
    pub fn log_lines(&self, p: ProcId) -> &[String] {
        &self.world.procs[p.index()].log
    }

    /// This process's wall clock in ms since the Unix epoch (with its skew).
    pub fn wall_clock_ms(&self, p: ProcId) -> i64 {
        self.world.wall_clock_ms(p)
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.world.trace
    }

    /// The observations processes published, in order, with when and who
    /// (empty unless the trace is recording; see [`Observation`]).
    pub fn observations(&self) -> impl Iterator<Item = (Instant, ProcId, &Observation)> {
        self.world.trace.records().iter().filter_map(|r| match &r.event {
            TraceEvent::Observe { proc, obs } => Some((r.at, *proc, &**obs)),
            _ => None,
        })
    }

    /// Adds a runner record (a step, a reply, a check) to the trace.
    pub fn record(&mut self, kind: &'static str, text: impl Into<String>) {
        let now = self.world.now;
        self.world.trace.record(now, TraceEvent::Runner { kind, text: text.into() });
    }

    /// Adds a runner mark to the kept records, neither hashed nor counted:
    /// where a step begins, named as the scenario file writes it (its line and
    /// text), so the same run written in another layout hashes the same.
    pub fn mark(&mut self, kind: &'static str, text: impl Into<String>) {
        let now = self.world.now;
        self.world.trace.keep(now, TraceEvent::Runner { kind, text: text.into() });
    }

    /// Adds a remark (a step's note) to the kept records: neither hashed nor
    /// counted, and dropped when the trace is not recording.
    pub fn remark(&mut self, kind: &'static str, text: impl Into<String>) {
        let now = self.world.now;
        self.world.trace.record(now, TraceEvent::Remark { kind, text: text.into() });
    }

    /// Scheduled faults that could not be applied, with when and why.
    pub fn fault_errors(&self) -> &[(Instant, String)] {
        &self.world.fault_errors
    }

    /// The running process object, if it is of type `T`.
    pub fn process<T: Process>(&self, p: ProcId) -> Option<&T> {
        let object: &dyn Process = self.objects.get(p.index())?.as_deref()?;
        (object as &dyn std::any::Any).downcast_ref::<T>()
    }

    /// Runs `f` on a running process of type `T` with a context, as if an outside
    /// input (an operator typing into a client) reached it now. Returns `None`
    /// if the process is down, paused or of another type.
    pub fn with_process<T: Process, R>(&mut self, p: ProcId, f: impl FnOnce(&mut T, &mut Ctx<'_>) -> R) -> Option<R> {
        if self.world.procs[p.index()].state != ProcState::Running {
            return None;
        }
        let mut object = self.objects[p.index()].take()?;
        self.world.procs[p.index()].inputs += 1;
        let result = (object.as_mut() as &mut dyn std::any::Any).downcast_mut::<T>().map(|typed| {
            self.world.procs[p.index()].disk.clock = self.world.now;
            let mut ctx = Ctx { world: &mut self.world, me: p };
            f(typed, &mut ctx)
        });
        self.objects[p.index()] = Some(object);
        self.after_input(p);
        result
    }

    /// When the next event is due, if any. `None` once the kernel stopped on
    /// a [`SimBug`]: no event will run again.
    pub fn next_event_at(&mut self) -> Option<Instant> {
        if self.world.bug.is_some() {
            return None;
        }
        self.world.queue.peek().map(Instant::from_nanos)
    }

    /// Why the kernel stopped processing events, if it did: a bug of the
    /// simulated world (a zero-delay loop), which a driver reports as the
    /// run's failure. Every later [`Sim::step`] returns false.
    pub fn bug(&self) -> Option<&SimBug> {
        self.world.bug.as_ref()
    }

    /// The virtual instant that held the most events so far, and how many
    /// (a run's distance from [`SimConfig::max_events_per_instant`]; after a
    /// storm, the event the kernel dropped counts).
    pub fn busiest_instant(&self) -> (Instant, u64) {
        let (busiest, current) = (self.world.busiest, self.world.instant);
        if current.1 > busiest.1 { current } else { busiest }
    }

    /// Processes the next event. Returns false when nothing is left, or when
    /// the kernel has stopped on a [`SimBug`].
    pub fn step(&mut self) -> bool {
        if self.world.bug.is_some() {
            return false;
        }
        let Some((at, event)) = self.world.queue.pop() else {
            return false;
        };
        let at = Instant::from_nanos(at);
        debug_assert!(at >= self.world.now, "time went backwards");
        if at == self.world.instant.0 {
            self.world.instant.1 += 1;
            if self.world.instant.1 > self.world.max_events_per_instant {
                self.storm(at);
                return false;
            }
        } else {
            if self.world.instant.1 > self.world.busiest.1 {
                self.world.busiest = self.world.instant;
            }
            self.world.instant = (at, 1);
        }
        self.world.now = at;
        self.world.events += 1;
        match event {
            Event::Deliver { conn, dir } => {
                if let Some((proc, input)) = self.world.deliver(conn, dir as usize) {
                    self.dispatch(proc, input);
                }
            }
            Event::Timer { proc, incarnation, id, tag } => {
                if self.world.cancelled_timers.remove(&id) {
                    return true;
                }
                if self.world.procs[proc.index()].incarnation == incarnation {
                    self.dispatch(proc, OwnedInput::Timer { id, tag });
                }
            }
            Event::Notify { proc, incarnation, input } => {
                if self.world.procs[proc.index()].incarnation == incarnation {
                    self.dispatch(proc, *input);
                }
            }
            Event::Drain { proc, incarnation } => self.drain(proc, incarnation),
            Event::Writeback { proc } => self.world.writeback(proc),
            Event::Fault(fault) => {
                if let Err(e) = self.apply(*fault) {
                    let now = self.world.now;
                    self.world.fault_errors.push((now, e.to_string()));
                }
            }
        }
        true
    }

    /// Stops the kernel: `at` held more events than the limit allows. The
    /// event that crossed it is dropped unprocessed with everything after it.
    #[cold]
    fn storm(&mut self, at: Instant) {
        let bug = SimBug::EventStorm { at, events: self.world.instant.1 };
        self.world.now = at;
        self.world.trace.record(at, TraceEvent::Runner { kind: "simulator-bug", text: bug.to_string() });
        self.world.bug = Some(bug);
    }

    /// Processes every event due at or before `until`, then sets the clock to
    /// `until`. After a [`SimBug`] no event runs, but the clock still moves, so
    /// a driver waiting for a deadline ends; it should check [`Sim::bug`].
    pub fn run_until(&mut self, until: Instant) {
        while self.next_event_at().is_some_and(|t| t <= until) {
            if !self.step() {
                break;
            }
        }
        if until > self.world.now {
            self.world.now = until;
        }
    }

    /// Like [`Sim::run_until`], but processes at most `max_events` events:
    /// true when it got to `until` (the clock is set there), false when it
    /// stopped early (the clock stays at the last event). Running to `until`
    /// in slices gives the same events in the same order as one call, so a
    /// caller can look up between slices (a progress line, Ctrl-C).
    pub fn run_until_or(&mut self, until: Instant, max_events: u64) -> bool {
        let mut left = max_events;
        while self.next_event_at().is_some_and(|t| t <= until) {
            if left == 0 {
                return false;
            }
            if !self.step() {
                break;
            }
            left -= 1;
        }
        if until > self.world.now {
            self.world.now = until;
        }
        true
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.world.now + d;
        self.run_until(until);
    }

    /// Applies `fault` at `at` (or now, if `at` has passed).
    pub fn schedule(&mut self, at: Instant, fault: Fault) {
        let at = at.max(self.world.now);
        self.world.push(at, Event::Fault(Box::new(fault)));
    }

    fn dispatch(&mut self, p: ProcId, input: OwnedInput) {
        match self.world.procs[p.index()].state {
            ProcState::Down => self.world.discard(input),
            ProcState::Paused => self.world.procs[p.index()].deferred.push_back(input),
            ProcState::Running if !self.world.reads_now(p) => self.world.wait_for_cpu(p, input),
            ProcState::Running => self.dispatch_running(p, input),
        }
    }

    fn dispatch_running(&mut self, p: ProcId, input: OwnedInput) {
        match input {
            OwnedInput::Data { conn, dir, bytes } => {
                if dir != READ {
                    self.world.read(conn, dir as usize, bytes.len());
                }
                let bytes = self.world.bytes_of(bytes);
                self.dispatch_now(p, Input::Data { conn, bytes: &bytes });
                self.world.recycle(bytes);
            }
            OwnedInput::Accepted { conn, local_port, peer } => {
                self.dispatch_now(p, Input::Accepted { conn, local_port, peer })
            }
            OwnedInput::Connected { conn } => self.dispatch_now(p, Input::Connected { conn }),
            OwnedInput::ConnectFailed { conn, error } => self.dispatch_now(p, Input::ConnectFailed { conn, error }),
            OwnedInput::Closed { conn, reason } => self.dispatch_now(p, Input::Closed { conn, reason }),
            OwnedInput::Timer { id, tag } => self.dispatch_now(p, Input::Timer { id, tag }),
            OwnedInput::Writable { conn } => self.dispatch_now(p, Input::Writable { conn }),
        }
    }

    fn dispatch_now(&mut self, p: ProcId, input: Input<'_>) {
        let Some(mut object) = self.objects[p.index()].take() else {
            return;
        };
        let slot = &mut self.world.procs[p.index()];
        slot.inputs += 1;
        slot.disk.clock = self.world.now;
        object.handle(&mut Ctx { world: &mut self.world, me: p }, input);
        self.objects[p.index()] = Some(object);
        self.after_input(p);
    }

    fn after_input(&mut self, p: ProcId) {
        if self.world.procs[p.index()].exit_requested {
            self.terminate(p, Termination::Graceful, "exited");
        }
        let slot = &mut self.world.procs[p.index()];
        if std::mem::take(&mut slot.disk_used) {
            self.world.schedule_writeback(p);
        }
    }

    /// Hands a running process whose CPU is free the inputs it queued while
    /// paused or busy, as one turn of an event loop handles every event that
    /// is ready (in [`World::order_turn`]'s order): each one's CPU time ([`Ctx::spend`]) adds up, so
    /// what it sends and the timers it arms count from the end of the ones
    /// before it, as if they had run one after the other.
    fn drain(&mut self, p: ProcId, incarnation: u32) {
        let now = self.world.now;
        let slot = &mut self.world.procs[p.index()];
        if slot.drain_at == Some(now) {
            slot.drain_at = None;
        }
        if slot.incarnation == incarnation && slot.state == ProcState::Running && slot.busy_until > now {
            if !slot.deferred.is_empty() {
                self.world.schedule_drain(p);
            }
            return;
        }
        let queued = slot.deferred.len();
        self.world.order_turn(p, queued);
        let mut left = self.world.procs[p.index()].deferred.len();
        while left > 0 {
            left -= 1;
            let slot = &mut self.world.procs[p.index()];
            if slot.incarnation != incarnation || slot.state != ProcState::Running {
                return;
            }
            let Some(input) = slot.deferred.pop_front() else {
                return;
            };
            self.dispatch_running(p, input);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Termination {
    Graceful,
    Abort,
    PowerLoss,
}

impl World {
    fn push(&mut self, at: Instant, event: Event) {
        self.queue.push(at.as_nanos(), event);
    }

    pub(crate) fn wall_clock_ms(&self, p: ProcId) -> i64 {
        self.epoch_ms + self.now.as_millis() as i64 + self.procs[p.index()].clock_offset_ms
    }

    fn process_change(&mut self, p: ProcId, change: &'static str) {
        self.trace.record(self.now, TraceEvent::Process { proc: p, change });
    }

    pub(crate) fn log(&mut self, p: ProcId, line: String) {
        self.trace.record(self.now, TraceEvent::Log { proc: p, line: line.clone() });
        self.procs[p.index()].log.push(line);
    }

    pub(crate) fn note(&mut self, p: ProcId, topic: &'static str, detail: String) {
        self.trace.record(self.now, TraceEvent::Note { proc: p, topic, detail });
    }

    pub(crate) fn observe(&mut self, p: ProcId, obs: Observation) {
        if obs.is_hashed() || self.trace.is_recording() {
            self.trace.record(self.now, TraceEvent::Observe { proc: p, obs: Box::new(obs) });
        }
    }

    pub(crate) fn observing(&self) -> bool {
        self.trace.is_recording()
    }

    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.buffers.pop().unwrap_or_default()
    }

    /// The bytes of `data`, a frame written out into a pooled buffer.
    fn bytes_of(&mut self, data: Payload) -> Vec<u8> {
        match data {
            Payload::Bytes(bytes) => bytes,
            Payload::Frame(frame, _) => {
                let mut buf = self.take_buffer();
                frame.write(&mut buf);
                buf
            }
        }
    }

    /// The trace's fingerprint of `packet`'s bytes as it arrives for
    /// `reader`. A frame is written out for it here; if `reader` reads it at
    /// once, those bytes are what it reads, else the frame waits as it is.
    fn frame_arrives(&mut self, packet: &mut Packet, reader: Option<ProcId>) -> u64 {
        let Payload::Frame(frame, _) = &packet.data else {
            return packet.digest;
        };
        let mut buf = self.take_buffer();
        frame.write(&mut buf);
        let digest = if buf.is_empty() { 0 } else { packet_digest(&buf) };
        if reader.is_some_and(|p| self.reads_now(p)) {
            packet.data = Payload::Bytes(buf);
        } else {
            self.recycle(buf);
        }
        digest
    }

    /// Gives `data`'s buffer back to the pool (a frame has none).
    fn recycle_payload(&mut self, data: Payload) {
        if let Payload::Bytes(bytes) = data {
            self.recycle(bytes);
        }
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.buffers.len() < BUFFER_POOL_MAX && buf.capacity() <= BUFFER_KEEP_MAX {
            buf.clear();
            self.buffers.push(buf);
        }
    }

    pub(crate) fn set_timer(&mut self, p: ProcId, after: Duration, tag: u64) -> TimerId {
        self.next_timer += 1;
        let id = TimerId(self.next_timer);
        let slot = &self.procs[p.index()];
        let incarnation = slot.incarnation;
        // Armed at the end of the CPU time the process has spent so far.
        let at = slot.busy_until.max(self.now) + after;
        self.push(at, Event::Timer { proc: p, incarnation, id, tag });
        id
    }

    fn schedule_writeback(&mut self, p: ProcId) {
        let slot = &mut self.procs[p.index()];
        if slot.writeback_at.is_some() {
            return;
        }
        if let Some(at) = slot.disk.next_writeback() {
            slot.writeback_at = Some(at);
            self.push(at, Event::Writeback { proc: p });
        }
    }

    fn writeback(&mut self, p: ProcId) {
        let now = self.now;
        let slot = &mut self.procs[p.index()];
        if slot.writeback_at != Some(now) {
            return; // superseded by a crash or wipe
        }
        slot.writeback_at = None;
        slot.disk.writeback(now);
        self.schedule_writeback(p);
    }

    pub(crate) fn listen(&mut self, p: ProcId, port: u16) -> Result<(), crate::process::AddrInUse> {
        let host = &mut self.hosts[self.procs[p.index()].host.index()];
        if host.listeners.iter().any(|(q, _)| *q == port) {
            return Err(crate::process::AddrInUse);
        }
        host.listeners.push((port, p));
        Ok(())
    }
}
