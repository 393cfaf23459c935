//! `sim`: the deterministic discrete-event simulation kernel every chaoslab run
//! stands on. It owns virtual time, the event queue, seeded randomness, hosts,
//! processes, TCP-like connections, per-node disks, faults, the trace and the
//! observations nodes publish into it.
//!
//! It must not depend on any node kind (Redis, Sentinel, MySQL), on the scenario
//! format, or on anything that reaches the outside world: no `std::time` clocks,
//! threads, sockets, files, environment, or unordered-map iteration. Given the same
//! seed and the same calls, it produces the same trace, byte for byte.
//!
//! Node logic implements [`Process`] and talks to the world only through [`Ctx`].
//!
//! Must not depend on: `resp`, `common`, `redis`, `sentinel`, `redis-client`,
//! `redis-lab`, `sentinel-lab`, `scenario`, `report`, `chaoslab`, `serde`,
//! `serde_json`.

mod disk;
mod fault;
mod fifo;
mod hash;
mod kernel;
mod net;
mod observe;
mod payload;
mod process;
mod queue;
mod rng;
mod time;
mod trace;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_busy;
#[cfg(test)]
mod tests_flow;
#[cfg(test)]
mod tests_frame;
#[cfg(test)]
mod tests_shutdown;

pub use disk::{DIRTY_EXPIRE, Disk, DiskStats};
pub use fault::{Fault, FaultError};
pub use hash::{StableHasher, digest, packet_digest};
pub use kernel::{DEFAULT_MAX_EVENTS_PER_INSTANT, Factory, ProcState, Sim, SimBug, SimConfig};
pub use net::{
    DATA_RETRIES, Endpoint, Latency, LinkConfig, NetConfig, RTO_MAX, RTO_MIN, SYN_RETRIES, SYN_RTO, SocketBuffers,
};
pub use observe::{Health, Observation, Role};
pub use payload::Frame;
pub use process::{AddrInUse, CloseReason, ConnectError, Ctx, Input, Process};
pub use rng::Rng;
pub use time::Instant;
pub use trace::{PacketKind, Trace, TraceEvent, TraceRecord, json_str, to_json_line};

/// A host (a machine or container with one IP address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// A process slot (a node or a client); it keeps its id across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId(pub u32);

/// A connection. Ids of closed connections are not confused with later ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// A timer set by a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

impl HostId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl ProcId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl ConnId {
    pub(crate) fn new(slot: u32, generation: u32) -> ConnId {
        ConnId(((generation as u64) << 32) | slot as u64)
    }
    /// Its place in the kernel's table of connections: a small number, at
    /// most the most connections open at once, and used again by a later
    /// connection once this one is gone (the id then differs by its
    /// generation). What a per-connection table can be indexed by.
    pub fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}
