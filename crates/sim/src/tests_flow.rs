//! Flow-control tests: a writer that writes faster than its reader reads (or
//! while the reader is paused) gets short writes and a `Writable` when room
//! opens; every byte arrives once, in order; and what a direction holds
//! unread never exceeds its buffers. `FLOW_SEEDS=1,2,3` runs other seeds.

use crate::*;
use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const PORT: u16 = 7000;

/// What the test reads back from the processes while the kernel runs.
#[derive(Default)]
struct Shared {
    conn: Option<ConnId>,
    /// Bytes the writer's `write` accepted, and calls that came back short.
    accepted: u64,
    short_writes: u64,
    writables: u64,
    /// Bytes the reader got, and whether each was the next of the stream.
    read: u64,
    out_of_order: bool,
}

/// The stream's byte at `offset`.
fn byte_at(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// Writes `total` bytes of the stream in chunks of up to `chunk`, every
/// `every` (or as fast as the socket takes them), keeping what the socket
/// refuses as a real non-blocking writer does.
struct Writer {
    total: u64,
    chunk: u64,
    every: Duration,
    /// Produced but not accepted yet.
    held: Vec<u8>,
    produced: u64,
    shared: Rc<RefCell<Shared>>,
}

impl Writer {
    fn produce(&mut self) {
        let n = self.chunk.min(self.total - self.produced);
        self.held.extend((self.produced..self.produced + n).map(byte_at));
        self.produced += n;
    }

    fn flush(&mut self, ctx: &mut Ctx<'_>) {
        let Some(conn) = self.shared.borrow().conn else { return };
        if self.held.is_empty() {
            return;
        }
        let n = ctx.write(conn, &self.held);
        let mut s = self.shared.borrow_mut();
        s.accepted += n as u64;
        if n < self.held.len() {
            s.short_writes += 1;
        }
        self.held.drain(..n);
    }
}

impl Process for Writer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                ctx.connect(SocketAddrV4::new(LOCALHOST, PORT));
            }
            Input::Connected { conn } => {
                self.shared.borrow_mut().conn = Some(conn);
                ctx.set_timer(Duration::ZERO, 0);
            }
            Input::Timer { .. } => {
                if self.produced < self.total {
                    self.produce();
                    ctx.set_timer(self.every, 0);
                }
                self.flush(ctx);
            }
            Input::Writable { .. } => {
                self.shared.borrow_mut().writables += 1;
                self.flush(ctx);
            }
            _ => {}
        }
    }
}

/// Reads everything that arrives and checks it is the stream, in order.
struct Reader {
    shared: Rc<RefCell<Shared>>,
}

impl Process for Reader {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(PORT).expect("free port"),
            Input::Data { bytes, .. } => {
                let mut s = self.shared.borrow_mut();
                let from = s.read;
                if bytes.iter().zip(from..).any(|(b, at)| *b != byte_at(at)) {
                    s.out_of_order = true;
                }
                s.read += bytes.len() as u64;
            }
            _ => {}
        }
    }
}

struct Run {
    sim: Sim,
    writer: ProcId,
    reader: ProcId,
    shared: Rc<RefCell<Shared>>,
}

fn run_with(seed: u64, net: NetConfig, total: u64, chunk: u64, every: Duration) -> Run {
    let mut sim = Sim::new(SimConfig { seed, net, ..SimConfig::default() });
    let host = sim.add_host("h", LOCALHOST);
    let shared = Rc::new(RefCell::new(Shared::default()));
    let s = shared.clone();
    let reader = sim.add_process(host, "reader", Box::new(move || Box::new(Reader { shared: s.clone() })));
    let s = shared.clone();
    let writer = sim.add_process(
        host,
        "writer",
        Box::new(move || {
            let shared = s.clone();
            Box::new(Writer { total, chunk, every, held: Vec::new(), produced: 0, shared })
        }),
    );
    sim.apply(Fault::Start(reader)).unwrap();
    sim.apply(Fault::Start(writer)).unwrap();
    Run { sim, writer, reader, shared }
}

impl Run {
    /// Bytes unread on the writer's direction and the buffers' capacity.
    fn unread(&self) -> (u64, u64) {
        let conn = self.shared.borrow().conn.expect("connected");
        self.sim.unread(self.writer, conn).expect("connection open")
    }

    /// Runs to `until`, checking after every event that the unread bytes
    /// stay within the buffers and what arrived is the stream in order.
    fn run_checked(&mut self, until: Instant) {
        while self.sim.next_event_at().is_some_and(|t| t <= until) {
            self.sim.step();
            let s = self.shared.borrow();
            assert!(!s.out_of_order, "a byte arrived out of order or twice");
            assert!(s.read <= s.accepted, "read {} of {} accepted", s.read, s.accepted);
            drop(s);
            if self.shared.borrow().conn.is_some() {
                let (unread, capacity) = self.unread();
                assert!(unread <= capacity, "{unread} unread over the buffers' {capacity}");
                assert_eq!(unread, self.shared.borrow().accepted - self.shared.borrow().read);
            }
        }
        self.sim.run_until(until);
    }
}

#[test]
fn a_paused_reader_fills_the_buffers_and_the_writer_gets_short_writes() {
    let mut r = run_with(1, NetConfig::default(), 20 << 20, 1 << 20, Duration::from_millis(10));
    // Connected, and the first megabyte still on the wire: the reader has
    // read nothing, so its receive buffer keeps its default.
    r.sim.run_for(Duration::from_micros(300));
    assert!(r.shared.borrow().conn.is_some());
    r.sim.apply(Fault::Pause(r.reader)).unwrap();
    r.run_checked(Instant::from_nanos(2_000_000_000));
    let buffers = SocketBuffers::LINUX;
    // Send buffer autotuned to its max, receive buffer still at its default.
    let held = u64::from(buffers.wmem[2]) + u64::from(buffers.rmem[1]);
    let (unread, capacity) = r.unread();
    assert_eq!(capacity, held);
    assert_eq!(unread, held, "the paused reader's direction is full");
    {
        let s = r.shared.borrow();
        assert!(s.short_writes > 0);
        assert_eq!(s.accepted, held + s.read);
        assert_eq!(s.writables, 0, "nothing was read, so no room opened");
    }
    r.sim.apply(Fault::Resume(r.reader)).unwrap();
    r.run_checked(Instant::from_nanos(4_000_000_000));
    let s = r.shared.borrow();
    assert!(s.writables > 0);
    assert_eq!(s.read, 20 << 20, "everything arrives once the reader reads again");
    assert!(!s.out_of_order);
}

#[test]
fn a_fast_reader_never_blocks_a_slow_writer() {
    let mut r = run_with(2, NetConfig::default(), 1 << 20, 16 << 10, Duration::from_millis(1));
    r.run_checked(Instant::from_nanos(1_000_000_000));
    let s = r.shared.borrow();
    assert_eq!((s.short_writes, s.writables), (0, 0));
    assert_eq!(s.read, 1 << 20);
}

#[test]
fn a_reader_that_keeps_up_with_a_fast_stream_grows_its_receive_buffer() {
    let mut r = run_with(3, NetConfig::default(), 64 << 20, 4 << 20, Duration::from_millis(2));
    r.run_checked(Instant::from_nanos(200_000_000));
    let (_, capacity) = r.unread();
    let b = SocketBuffers::LINUX;
    assert!(capacity > u64::from(b.wmem[2]) + u64::from(b.rmem[1]), "receive autotuning grew the buffer");
    assert!(capacity <= u64::from(b.wmem[2]) + u64::from(b.rmem[2]));
}

#[test]
fn buffer_sizes_come_from_the_config() {
    let buffers = SocketBuffers { rmem: [4096, 8192, 8192], wmem: [4096, 4096, 16384] };
    let net = NetConfig { buffers, ..NetConfig::default() };
    let mut r = run_with(4, net, 1 << 20, 64 << 10, Duration::from_millis(1));
    r.sim.run_for(Duration::from_micros(10));
    r.sim.apply(Fault::Pause(r.reader)).unwrap();
    r.run_checked(Instant::from_nanos(100_000_000));
    assert_eq!(r.unread(), (16384 + 8192, 16384 + 8192));
}

/// Seeded schedules of pauses, resumes and write patterns over jittery
/// links: the invariants hold after every event and everything arrives.
#[test]
fn flow_control_keeps_every_byte_once_in_order_within_the_buffers() {
    let seeds: Vec<u64> = match std::env::var("FLOW_SEEDS") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => (1..=12).collect(),
    };
    let mut exercised = 0;
    for &seed in &seeds {
        let mut rng = Rng::stream(seed, "test:flow");
        let rmem = 4096 << rng.below(6);
        let wmem = 4096 << rng.below(6);
        let buffers = SocketBuffers { rmem: [4096, rmem, rmem << rng.below(3)], wmem: [4096, wmem, wmem << 2] };
        let same_host = LinkConfig {
            latency: Latency::Uniform { min: Duration::from_micros(10), max: Duration::from_micros(900) },
            ..LinkConfig::LOOPBACK
        };
        let net = NetConfig { same_host, buffers, ..NetConfig::default() };
        let total = 1 + rng.below(4 << 20);
        let chunk = 1 + rng.below(256 << 10);
        let every = Duration::from_micros(1 + rng.below(3000));
        let mut r = run_with(seed, net, total, chunk, every);
        let mut at = 0u64;
        for _ in 0..8 {
            at += 1 + rng.below(300_000_000);
            r.run_checked(Instant::from_nanos(at));
            let paused = r.sim.proc_state(r.reader) == ProcState::Paused;
            let fault = if paused { Fault::Resume(r.reader) } else { Fault::Pause(r.reader) };
            r.sim.apply(fault).unwrap();
        }
        if r.sim.proc_state(r.reader) == ProcState::Paused {
            r.sim.apply(Fault::Resume(r.reader)).unwrap();
        }
        r.run_checked(Instant::from_nanos(at + 60_000_000_000));
        let s = r.shared.borrow();
        assert_eq!(s.read, total, "seed {seed}: every byte arrives");
        exercised += usize::from(s.short_writes > 0 && s.writables > 0);
    }
    assert!(exercised * 3 >= seeds.len(), "only {exercised} of {} seeds filled the buffers", seeds.len());
}
