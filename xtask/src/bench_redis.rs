//! Redis replication benchmark.
//!
//! `redis-replication`: one master and two replicas (`replicaof 127.0.0.1 6379`)
//! on one host, and a closed-loop writer that keeps a steady write load on the
//! master, as `redis-benchmark -P` does: each of a few connections sends a
//! pipeline of SETs and INCRs over a bounded keyspace, waits for all its
//! replies, then sends the next pipeline. Keys, values and the SET/INCR mix come
//! from the writer's own random stream, so a run is deterministic.
//!
//! Once both replicas are in sync (diskless sync waits 5 s for more replicas),
//! the writer first fills the keyspace: one SET of each key in order, so the
//! measured window finds every key there (a keyspace "of 1,000,000 keys" is
//! one that holds them, not one growing towards them from empty; the fill is
//! timed and reported on its own). Then the measured window runs the load for
//! a fixed virtual time. Then the writer stops, the stream drains, and both
//! replicas must be at the master's offset with the same number of keys.

use redis::server::Server;
use sim::{ConnId, Ctx, Fault, Input, ProcId, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const MASTER_PORT: u16 = 6379;
const REPLICA_PORTS: [u16; 2] = [6380, 6381];
const SYNCED: &str = "MASTER <-> REPLICA sync: Finished with success";

/// The shape of the load.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Client connections to the master.
    pub connections: usize,
    /// Commands sent together on a connection before waiting for their replies.
    pub pipeline: u32,
    /// Distinct SET keys (`key:NNNNNNNN`).
    pub keys: u64,
    /// Distinct INCR counters (`counter:NNNNNNNN`).
    pub counters: u64,
    /// Percentage of commands that are SETs; the rest are INCRs.
    pub set_percent: u64,
}

/// How far the writer's fill of the keyspace has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fill {
    /// The next key to SET in order.
    Next(u64),
    /// Every key was sent once; the random load runs.
    Done,
}

/// One connection of the writer.
struct Link {
    conn: ConnId,
    /// Replies still expected for the pipeline in flight.
    outstanding: u32,
    /// The next reply byte starts a new reply line.
    line_start: bool,
}

/// The closed-loop writer.
struct Writer {
    load: Load,
    master: SocketAddrV4,
    links: Vec<Link>,
    out: Vec<u8>,
    /// Stop sending new pipelines (set from outside to let the stream drain).
    stopping: bool,
    fill: Fill,
    sent: u64,
    replies: u64,
    errors: u64,
    failures: u64,
}

impl Writer {
    fn new(load: Load, master: SocketAddrV4) -> Writer {
        Writer {
            load,
            master,
            links: Vec::new(),
            out: Vec::new(),
            stopping: false,
            fill: Fill::Next(0),
            sent: 0,
            replies: 0,
            errors: 0,
            failures: 0,
        }
    }

    /// Encodes one pipeline into `self.out`: while filling, SETs of the
    /// next keys in order; then SETs of random keys and INCRs.
    fn fill_pipeline(&mut self, ctx: &mut Ctx<'_>) {
        self.out.clear();
        for _ in 0..self.load.pipeline {
            let rng = ctx.rng();
            if let Fill::Next(key) = self.fill {
                self.fill = if key + 1 < self.load.keys { Fill::Next(key + 1) } else { Fill::Done };
                push_set(&mut self.out, key, rng.next_u64());
            } else if rng.below(100) < self.load.set_percent {
                let key = rng.below(self.load.keys);
                push_set(&mut self.out, key, rng.next_u64());
            } else {
                let counter = rng.below(self.load.counters);
                self.out.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$16\r\ncounter:");
                push_decimal8(&mut self.out, counter);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    fn send_pipeline(&mut self, ctx: &mut Ctx<'_>, i: usize) {
        if self.stopping {
            return;
        }
        self.fill_pipeline(ctx);
        let link = &mut self.links[i];
        link.outstanding = self.load.pipeline;
        ctx.send(link.conn, &self.out);
        self.sent += u64::from(self.load.pipeline);
    }

    /// Counts the replies in `bytes`: every reply to SET and INCR is one line
    /// (`+OK`, `:n`, or an `-ERR ...` that is counted as an error).
    fn on_replies(&mut self, ctx: &mut Ctx<'_>, i: usize, bytes: &[u8]) {
        let link = &mut self.links[i];
        let mut done = 0u32;
        for &b in bytes {
            if link.line_start && b == b'-' {
                self.errors += 1;
            }
            link.line_start = b == b'\n';
            if link.line_start {
                done += 1;
            }
        }
        self.replies += u64::from(done);
        link.outstanding = link.outstanding.saturating_sub(done);
        if link.outstanding == 0 {
            self.send_pipeline(ctx, i);
        }
    }
}

impl Process for Writer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                for _ in 0..self.load.connections {
                    let conn = ctx.connect(self.master);
                    self.links.push(Link { conn, outstanding: 0, line_start: true });
                }
            }
            Input::Connected { conn } => {
                if let Some(i) = self.links.iter().position(|l| l.conn == conn) {
                    self.send_pipeline(ctx, i);
                }
            }
            Input::Data { conn, bytes } => {
                if let Some(i) = self.links.iter().position(|l| l.conn == conn) {
                    self.on_replies(ctx, i, bytes);
                }
            }
            Input::ConnectFailed { .. } | Input::Closed { .. } => self.failures += 1,
            _ => {}
        }
    }
}

/// `SET key:<key> <value>`, fixed widths: `key:` + 8 digits, 16 hex digits of value.
fn push_set(out: &mut Vec<u8>, key: u64, value: u64) {
    out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$12\r\nkey:");
    push_decimal8(out, key);
    out.extend_from_slice(b"\r\n$16\r\n");
    push_hex16(out, value);
    out.extend_from_slice(b"\r\n");
}

fn push_decimal8(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [b'0'; 8];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

fn push_hex16(out: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(HEX[((n >> (shift * 4)) & 0xf) as usize]);
    }
}

/// The three servers, started; the writer not yet.
fn cluster(seed: u64) -> (Sim, ProcId, Vec<ProcId>) {
    let mut sim = Sim::new(SimConfig { seed, ..SimConfig::default() });
    let host = sim.add_host("localhost", LOCALHOST);
    let server = |sim: &mut Sim, port: u16, conf: &str| {
        let config = redis::config::parse(conf, port).expect("valid bench config");
        let p = sim.add_process(host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone()))));
        sim.apply(Fault::Start(p)).expect("fresh process starts");
        p
    };
    let master = server(&mut sim, MASTER_PORT, "");
    let conf = format!("replicaof 127.0.0.1 {MASTER_PORT}\n");
    let replicas = REPLICA_PORTS.iter().map(|&port| server(&mut sim, port, &conf)).collect();
    (sim, master, replicas)
}

/// Runs until every replica has logged a finished sync; false after 60 virtual s.
fn wait_synced(sim: &mut Sim, replicas: &[ProcId]) -> bool {
    for _ in 0..600 {
        if replicas.iter().all(|&r| sim.log_lines(r).iter().any(|l| l.ends_with(SYNCED))) {
            return true;
        }
        sim.run_for(Duration::from_millis(100));
    }
    false
}

/// A load generator the measured run drives: it can be told to stop sending,
/// and says what it sent and got back.
pub(crate) trait Client: Process {
    /// Stop sending new commands (the ones in flight still get their replies).
    fn stop(&mut self);
    /// What it sent and received so far.
    fn tally(&self) -> Tally;
    /// Whether it has sent what must be in the keyspace before the measured
    /// window (a load with nothing to fill: from the start).
    fn filled(&self) -> bool {
        true
    }
}

/// A client's counts.
pub(crate) struct Tally {
    pub sent: u64,
    pub replies: u64,
    pub errors: u64,
    pub failures: u64,
}

impl Client for Writer {
    fn stop(&mut self) {
        self.stopping = true;
    }

    fn tally(&self) -> Tally {
        Tally { sent: self.sent, replies: self.replies, errors: self.errors, failures: self.failures }
    }

    fn filled(&self) -> bool {
        self.fill == Fill::Done
    }
}

/// The fill of the keyspace before the measured window.
pub struct FillOutcome {
    /// Commands the master executed while filling.
    pub master_commands: u64,
    /// Virtual time it took, in seconds (to the 100 ms step it is looked at).
    pub virtual_secs: f64,
    /// Wall time it took.
    pub wall_secs: f64,
}

/// The longest the fill may take in virtual time: 1,000,000 keys take about
/// 6 virtual s at the benchmark's pace.
const FILL_MAX: Duration = Duration::from_secs(600);

/// Runs the writer until it has sent its fill (looked at every 100 virtual
/// ms), timed; an error if it has not within [`FILL_MAX`].
fn fill_keyspace<C: Client + 'static>(sim: &mut Sim, master: ProcId, writer: ProcId) -> Result<FillOutcome, String> {
    let commands_before = sim.process::<Server>(master).map_or(0, Server::commands_processed);
    let start = sim.now();
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    while !sim.process::<C>(writer).is_some_and(|w| w.filled()) {
        if sim.now().saturating_since(start) >= FILL_MAX {
            return Err(format!("redis-replication: the writer did not fill the keyspace within {FILL_MAX:?}"));
        }
        sim.run_for(Duration::from_millis(100));
    }
    let wall_secs = wall.elapsed().as_secs_f64();
    let master_commands = sim.process::<Server>(master).map_or(0, Server::commands_processed) - commands_before;
    let virtual_secs = sim.now().saturating_since(start).as_secs_f64();
    Ok(FillOutcome { master_commands, virtual_secs, wall_secs })
}

/// What one run measured.
pub struct Outcome {
    /// The fill of the keyspace before the measured window.
    pub fill: FillOutcome,
    /// Virtual seconds of load in the measured window.
    pub virtual_secs: u64,
    /// Wall seconds the measured window took.
    pub wall_secs: f64,
    /// Commands the master executed in the window.
    pub master_commands: u64,
    /// Kernel events in the window.
    pub events: u64,
    /// Commands the writer sent (and got a reply to), whole run.
    pub sent: u64,
    /// The master's final replication offset (equal on every replica).
    pub repl_offset: i64,
    /// Keys in db 0 (equal on every replica).
    pub keys: usize,
    /// Trace hash of the whole run.
    pub trace_hash: String,
}

/// One run: sync, `virtual_secs` of load (timed), drain, check the replicas.
pub fn replication(load: Load, virtual_secs: u64, seed: u64) -> Result<Outcome, String> {
    measured(virtual_secs, seed, move || Writer::new(load, MASTER), |_| ()).map(|(outcome, ())| outcome)
}

/// The address clients of the measured run connect to.
pub(crate) const MASTER: SocketAddrV4 = SocketAddrV4::new(LOCALHOST, MASTER_PORT);

/// One run of the client `make` builds: sync, `virtual_secs` of its load
/// (timed), drain, and check that every reply came back without error and
/// that both replicas hold the master's dataset at its offset. `read` takes
/// what the caller wants from the client at the end.
pub(crate) fn measured<C: Client + 'static, T>(
    virtual_secs: u64,
    seed: u64,
    make: impl Fn() -> C + 'static,
    read: impl FnOnce(&C) -> T,
) -> Result<(Outcome, T), String> {
    let (mut sim, master, replicas) = cluster(seed);
    if !wait_synced(&mut sim, &replicas) {
        return Err("redis-replication: replicas did not sync within 60 virtual s".into());
    }
    let host = sim.host_of(master);
    let writer = sim.add_process(host, "writer", Box::new(move || Box::new(make())));
    sim.apply(Fault::Start(writer)).map_err(|e| e.to_string())?;
    let fill = fill_keyspace::<C>(&mut sim, master, writer)?;
    let commands_before = sim.process::<Server>(master).map_or(0, Server::commands_processed);
    let events_before = sim.events_processed();
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    sim.run_for(Duration::from_secs(virtual_secs));
    let wall_secs = wall.elapsed().as_secs_f64();
    let master_commands = sim.process::<Server>(master).map_or(0, Server::commands_processed) - commands_before;
    let events = sim.events_processed() - events_before;

    // Let the pipelines in flight finish and the stream reach the replicas.
    sim.with_process::<C, _>(writer, |w, _| w.stop());
    sim.run_for(Duration::from_secs(1));
    let w = sim.process::<C>(writer).ok_or("the writer is gone")?;
    let Tally { sent, replies, errors, failures } = w.tally();
    if failures > 0 || errors > 0 || replies != sent {
        return Err(format!(
            "redis-replication: writer saw {failures} connection failures, {errors} error replies, {replies} replies to {sent} commands"
        ));
    }
    let extra = read(w);
    let m = sim.process::<Server>(master).ok_or("the master is gone")?;
    let (repl_offset, keys, digest) = (m.repl_offset(), m.dbsize(0), m.dataset_digest());
    for (&r, port) in replicas.iter().zip(REPLICA_PORTS) {
        let s = sim.process::<Server>(r).ok_or("a replica is gone")?;
        if s.repl_offset() != repl_offset || s.dbsize(0) != keys || s.dataset_digest() != digest {
            return Err(format!(
                "redis-replication: replica {port} at offset {} with {} keys (digest {:x}), master at {repl_offset} with {keys} (digest {digest:x})",
                s.repl_offset(),
                s.dbsize(0),
                s.dataset_digest()
            ));
        }
    }
    if master_commands == 0 {
        return Err("redis-replication: the master executed no command".into());
    }
    let outcome = Outcome {
        fill,
        virtual_secs,
        wall_secs,
        master_commands,
        events,
        sent,
        repl_offset,
        keys,
        trace_hash: sim.trace().hash_hex(),
    };
    Ok((outcome, extra))
}
