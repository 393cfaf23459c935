//! The sans-IO process interface. A node is a state machine: the kernel feeds it
//! one [`Input`] at a time together with a [`Ctx`], and everything the node does to
//! the outside world (connect, send, close, timers, disk, logs) goes through that
//! context. No clock, socket, thread or global is reachable from node code, which
//! is what lets the same node run under the simulator and later behind real sockets.

use crate::disk::Disk;
use crate::kernel::World;
use crate::observe::Observation;
use crate::rng::Rng;
use crate::time::Instant;
use crate::{ConnId, ProcId, TimerId};
use std::any::Any;
use std::net::SocketAddrV4;
use std::time::Duration;

/// A simulated program: a Redis server, a sentinel, a client.
pub trait Process: Any {
    /// Reacts to one input. Called only while the process is running and not paused.
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>);
}

/// What happens to a process.
#[derive(Debug)]
pub enum Input<'a> {
    /// The process was started (first boot or restart); its disk holds whatever
    /// survived. Listening sockets and timers start empty.
    Start,
    /// SIGTERM (`docker stop`): run the shutdown path. The kernel ends the process
    /// when this handler returns, unless it calls [`Ctx::defer_exit`]; it may
    /// come again while the process is still shutting down.
    Shutdown,
    /// A peer connected to one of our listening ports.
    Accepted {
        /// The new connection.
        conn: ConnId,
        /// Our port it arrived on.
        local_port: u16,
        /// The peer's address.
        peer: SocketAddrV4,
    },
    /// A connection we opened is established.
    Connected {
        /// The connection from [`Ctx::connect`].
        conn: ConnId,
    },
    /// A connection we opened could not be established.
    ConnectFailed {
        /// The connection from [`Ctx::connect`].
        conn: ConnId,
        /// Why.
        error: ConnectError,
    },
    /// Bytes arrived, in order, on a connection.
    Data {
        /// The connection.
        conn: ConnId,
        /// The bytes of one send by the peer.
        bytes: &'a [u8],
    },
    /// The connection is gone; sends on it are ignored from now on.
    Closed {
        /// The connection.
        conn: ConnId,
        /// How the kernel learnt it.
        reason: CloseReason,
    },
    /// A connection whose last [`Ctx::write`] was short has room again
    /// (`EPOLLOUT`): write what is left.
    Writable {
        /// The connection.
        conn: ConnId,
    },
    /// A timer set with [`Ctx::set_timer`] expired.
    Timer {
        /// The id `set_timer` returned.
        id: TimerId,
        /// The tag passed to `set_timer`.
        tag: u64,
    },
}

/// Why `connect` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing listens on that port (`ECONNREFUSED`).
    Refused,
    /// No answer to any SYN (`ETIMEDOUT`, 127 s on Linux).
    TimedOut,
    /// No host has that address (`EHOSTUNREACH`).
    Unreachable,
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed it (read returned 0).
    PeerClosed,
    /// The peer's OS answered with a reset (`ECONNRESET`).
    Reset,
    /// Retransmissions were never acknowledged (`ETIMEDOUT`).
    TimedOut,
}

/// Why `listen` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrInUse;

/// The process's window onto the world for the duration of one input.
pub struct Ctx<'a> {
    pub(crate) world: &'a mut World,
    pub(crate) me: ProcId,
}

impl Ctx<'_> {
    /// Monotonic virtual time.
    pub fn now(&self) -> Instant {
        self.world.now
    }

    /// This host's wall clock in milliseconds since the Unix epoch; skewed or
    /// jumped by clock faults, so it may go backwards, unlike [`Ctx::now`].
    pub fn wall_clock_ms(&self) -> i64 {
        self.world.wall_clock_ms(self.me)
    }

    /// This process's own random stream.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.world.procs[self.me.index()].rng
    }

    /// This process's disk.
    pub fn disk(&mut self) -> &mut Disk {
        let slot = &mut self.world.procs[self.me.index()];
        slot.disk_used = true;
        &mut slot.disk
    }

    /// This process's id, stable across restarts.
    pub fn id(&self) -> ProcId {
        self.me
    }

    /// The name the scenario gave this process.
    pub fn name(&self) -> &str {
        &self.world.procs[self.me.index()].name
    }

    /// The IPv4 address of this process's host.
    pub fn ip(&self) -> std::net::Ipv4Addr {
        self.world.hosts[self.world.procs[self.me.index()].host.index()].ip
    }

    /// Starts listening on `port` of this host.
    pub fn listen(&mut self, port: u16) -> Result<(), AddrInUse> {
        self.world.listen(self.me, port)
    }

    /// Opens a connection; the outcome arrives later as `Connected` or `ConnectFailed`.
    pub fn connect(&mut self, to: SocketAddrV4) -> ConnId {
        self.world.connect(self.me, to)
    }

    /// Attaches `tag` to this process's end of `conn`, for [`Ctx::conn_tag`].
    /// The kernel reads a connection's record for every packet it delivers,
    /// so the tag comes back without a lookup of the process's own (a bus
    /// link's place in its table, say).
    pub fn tag_conn(&mut self, conn: ConnId, tag: u32) {
        self.world.tag_conn(self.me, conn, tag);
    }

    /// The tag last attached to this process's end of `conn`; 0 if none was
    /// or the connection is gone.
    pub fn conn_tag(&self, conn: ConnId) -> u32 {
        self.world.conn_tag(self.me, conn)
    }

    /// Writes `bytes` on `conn` as a non-blocking socket does: takes what its
    /// send and receive buffers have room for (TCP flow control; see
    /// [`crate::SocketBuffers`]) and returns how many bytes that was. The
    /// rest is the caller's to keep; after a short write an
    /// [`Input::Writable`] says when to try again. A write on a closed or
    /// unknown connection is dropped whole and counts as written, as with
    /// [`Ctx::send`].
    pub fn write(&mut self, conn: ConnId, bytes: &[u8]) -> usize {
        self.world.write(self.me, conn, bytes)
    }

    /// Sends `bytes` on `conn`, all of them, whatever the buffers hold: for
    /// processes that keep no output buffer of their own and send little
    /// (requests, gossip), as a blocking write that never waits long.
    /// Flow-controlled writers use [`Ctx::write`]. Sends on closed or unknown
    /// connections are dropped, as writes to a dead socket are once the error
    /// has been reported.
    pub fn send(&mut self, conn: ConnId, bytes: &[u8]) {
        let mut buf = self.world.take_buffer();
        buf.extend_from_slice(bytes);
        self.world.send(self.me, conn, buf);
    }

    /// Sends what `fill` writes into a pooled buffer, saving a copy.
    pub fn send_with(&mut self, conn: ConnId, fill: impl FnOnce(&mut Vec<u8>)) {
        let mut buf = self.world.take_buffer();
        fill(&mut buf);
        self.world.send(self.me, conn, buf);
    }

    /// Sends `frame`'s bytes as [`Ctx::send`] sends bytes, holding the frame
    /// rather than its bytes until the peer reads it: for a big message
    /// whose structure is much smaller than its bytes (a cluster PING).
    /// The peer and the trace see exactly the bytes [`Frame::write`] writes.
    pub fn send_frame(&mut self, conn: ConnId, frame: Box<dyn crate::Frame>) {
        self.world.send(self.me, conn, crate::payload::Payload::frame(frame));
    }

    /// Closes `conn` gracefully (FIN after anything already sent).
    pub fn close(&mut self, conn: ConnId) {
        self.world.close(self.me, conn);
    }

    /// Arms a one-shot timer that fires after `after` with `tag`.
    pub fn set_timer(&mut self, after: Duration, tag: u64) -> TimerId {
        self.world.set_timer(self.me, after, tag)
    }

    /// Disarms a timer; harmless if it already fired.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.world.cancelled_timers.insert(id);
    }

    /// Appends a line to this process's log file (the caller formats it).
    pub fn log(&mut self, line: impl Into<String>) {
        self.world.log(self.me, line.into());
    }

    /// Records an externally visible state change in the trace as free text,
    /// hashed (`topic` "link", `detail` "up"). Node kinds publish what reports
    /// and checkers read through [`Ctx::observe`] instead.
    pub fn note(&mut self, topic: &'static str, detail: impl Into<String>) {
        self.world.note(self.me, topic, detail.into());
    }

    /// Publishes an observation (see [`Observation`]) with the current time
    /// and this process. Publish when the value changed; when the trace does
    /// not keep records, every kind but a role is dropped here.
    pub fn observe(&mut self, obs: Observation) {
        self.world.observe(self.me, obs);
    }

    /// Whether observations are kept (the trace is recording): a node may
    /// skip building one that allocates, or tracking what it last published,
    /// when not. A role must be published either way: it is hashed.
    pub fn observing(&self) -> bool {
        self.world.observing()
    }

    /// Ends the process after this input, as `exit()` would (no shutdown input).
    pub fn exit(&mut self) {
        self.world.procs[self.me.index()].exit_requested = true;
    }

    /// The handling of this input kept the CPU for `d` more (a command run,
    /// a file loaded, an fsync waited for). Until that time has passed the
    /// process is handed no input: data, accepts and timers queue up as they
    /// do for a busy real process, and its receive windows close once they
    /// fill. What it sends and the timers it arms from now on count from the
    /// end of that time. Calls add up.
    pub fn spend(&mut self, d: Duration) {
        self.world.spend(self.me, d);
    }

    /// This process's own time: [`Ctx::now`] plus the CPU time it has spent
    /// in this input so far ([`Ctx::spend`]).
    pub fn cpu_now(&self) -> Instant {
        self.world.procs[self.me.index()].busy_until.max(self.world.now)
    }

    /// From [`Input::Shutdown`]: the process is not ended when the handler
    /// returns; it finishes its shutdown on later inputs (a server waiting for
    /// its replicas) and calls [`Ctx::exit`] itself. SIGKILL still ends it at once.
    pub fn defer_exit(&mut self) {
        self.world.procs[self.me.index()].exit_deferred = true;
    }
}
