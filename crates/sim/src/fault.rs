//! Faults: what an operator, an orchestrator or bad luck does to a cluster.
//! Each can be applied now or scheduled at a virtual time.

use crate::kernel::ProcState;
use crate::net::{Endpoint, LinkConfig};
use crate::{HostId, ProcId};
use std::fmt;

/// One fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Start a stopped process on the same disk (`docker start`); boots its host if down.
    Start(ProcId),
    /// SIGTERM: the process runs its shutdown path, then exits, at once or,
    /// if its handler deferred the exit, when it says so (`Sim::stop_within`
    /// waits for that, as `docker stop` does).
    Stop(ProcId),
    /// SIGKILL: no shutdown path; the page cache survives, so unsynced writes are kept.
    Kill(ProcId),
    /// Stop then start (`docker restart`); a deferred exit is waited for.
    Restart(ProcId),
    /// Power loss of a host: every process on it dies, unsynced writes are lost,
    /// no peer is told.
    CrashHost(HostId),
    /// Power a crashed host back on (its processes stay down until started).
    StartHost(HostId),
    /// SIGSTOP / `docker pause`: inputs queue, timers fire late.
    Pause(ProcId),
    /// SIGCONT / `docker unpause`: the process handles what queued as one
    /// turn of an event loop (each connection's bytes in one read, in the
    /// order the connections became ready, then the timers that fell due).
    Resume(ProcId),
    /// The disk is replaced by an empty one (`docker rm` + new volume); kills the
    /// process first if it runs.
    Wipe(ProcId),
    /// Symmetric partition: endpoints in different groups cannot reach each other;
    /// endpoints in no group form one more group together. Replaces any earlier one.
    Partition(Vec<Vec<Endpoint>>),
    /// Packets from `from` to `to` are dropped; the other direction still works.
    PartitionOneWay {
        /// Senders whose packets are dropped.
        from: Vec<Endpoint>,
        /// Receivers they would have reached.
        to: Vec<Endpoint>,
    },
    /// Removes every partition.
    Heal,
    /// Sets latency, loss and bandwidth between two endpoints (both directions).
    Link {
        /// One side.
        a: Endpoint,
        /// The other side.
        b: Endpoint,
        /// The new behaviour.
        config: LinkConfig,
    },
    /// Sets a process's wall-clock offset from true time.
    ClockSet {
        /// Whose clock.
        proc: ProcId,
        /// Offset in ms (negative: behind).
        offset_ms: i64,
    },
    /// Moves a process's wall clock by `delta_ms` at once (NTP step, VM resume).
    ClockJump {
        /// Whose clock.
        proc: ProcId,
        /// Step in ms (negative: backwards).
        delta_ms: i64,
    },
}

/// Why a fault could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// The process is not in a state the fault applies to.
    WrongState {
        /// Process name.
        node: String,
        /// Its state.
        state: ProcState,
    },
    /// The host is already down.
    HostDown(String),
    /// The host is already up.
    HostUp(String),
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::WrongState { node, state } => {
                let state = match state {
                    ProcState::Down => "down",
                    ProcState::Running => "running",
                    ProcState::Paused => "paused",
                };
                write!(f, "node {node} is {state}")
            }
            FaultError::HostDown(h) => write!(f, "host {h} is already down"),
            FaultError::HostUp(h) => write!(f, "host {h} is already up"),
        }
    }
}

impl std::error::Error for FaultError {}

impl Fault {
    /// A one-line description with scenario names, for traces and reports.
    pub fn describe(&self, proc: &dyn Fn(ProcId) -> String, host: &dyn Fn(HostId) -> String) -> String {
        let ep = |e: &Endpoint| match *e {
            Endpoint::Host(h) => format!("host {}", host(h)),
            Endpoint::Process(p) => proc(p),
        };
        let group = |g: &[Endpoint]| g.iter().map(ep).collect::<Vec<_>>().join(",");
        match self {
            Fault::Start(p) => format!("start {}", proc(*p)),
            Fault::Stop(p) => format!("stop {}", proc(*p)),
            Fault::Kill(p) => format!("kill {}", proc(*p)),
            Fault::Restart(p) => format!("restart {}", proc(*p)),
            Fault::CrashHost(h) => format!("crash-host {}", host(*h)),
            Fault::StartHost(h) => format!("start-host {}", host(*h)),
            Fault::Pause(p) => format!("pause {}", proc(*p)),
            Fault::Resume(p) => format!("resume {}", proc(*p)),
            Fault::Wipe(p) => format!("wipe {}", proc(*p)),
            Fault::Partition(groups) => {
                format!(
                    "partition {}",
                    groups.iter().map(|g| format!("[{}]", group(g))).collect::<Vec<_>>().join(" | ")
                )
            }
            Fault::PartitionOneWay { from, to } => format!("partition-one-way [{}] -> [{}]", group(from), group(to)),
            Fault::Heal => "heal".to_owned(),
            Fault::Link { a, b, config } => {
                format!("link {} <-> {}: latency {:?}, loss {}", ep(a), ep(b), config.latency, config.loss)
            }
            Fault::ClockSet { proc: p, offset_ms } => format!("clock {} offset {offset_ms}ms", proc(*p)),
            Fault::ClockJump { proc: p, delta_ms } => format!("clock {} jump {delta_ms}ms", proc(*p)),
        }
    }
}
