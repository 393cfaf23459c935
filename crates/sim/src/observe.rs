//! Observations: a typed channel through which node logic publishes, as it
//! happens, what reports and checkers need to follow a run over time (a node's
//! role, its link to its master, offsets, epochs, who owns which slots, which
//! peers it believes failed, the events it logs), instead of reading node
//! internals once the run is over.
//!
//! A node publishes with [`Ctx::observe`](crate::Ctx::observe), only when a
//! value changed (it keeps the last value it published where that needs
//! remembering). The kernel records each observation with its virtual time
//! and process among the trace records, so `trace.jsonl` carries them in
//! order with everything else, and [`Sim::observations`](crate::Sim::observations)
//! iterates them.
//!
//! **Observations and the trace hash.** An observation is a pure function of
//! events the trace already hashes (the same seed and scenario give the same
//! deliveries, timers and faults, hence the same node states), so folding it
//! in would add nothing to the fingerprint. Only [`Observation::Role`] is
//! hashed, exactly as the note `role` it replaces was (kind 5, the process,
//! `"role"`, and [`Role::hashed_word`]), so that every pinned hash stays what
//! it was; every other kind is neither hashed nor counted in
//! [`Trace::len`](crate::Trace::len), and when the trace does not keep records
//! it is dropped at once: publishing then costs a call and a branch.
//!
//! The vocabulary is that of replicated systems in general, not of one node
//! kind: `sim` must not know Redis from Sentinel.

use std::fmt::Write as _;

/// A node's role in a replicated system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts writes and feeds replicas.
    Master,
    /// Follows a master's stream.
    Replica,
}

impl Role {
    /// The word `trace.jsonl` shows.
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "replica",
        }
    }

    /// The word the trace hash folds in. Redis nodes published their role as
    /// the note `role` with `master` or `slave` before observations existed,
    /// and the hashes pinned since then carry those bytes.
    pub fn hashed_word(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "slave",
        }
    }
}

/// What a node believes about a peer's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Reachable (a suspicion or failure was cleared).
    Ok,
    /// Suspected by this node alone (Redis Cluster's PFAIL, `fail?`).
    Suspect,
    /// Agreed failed (Redis Cluster's FAIL).
    Failed,
}

impl Health {
    /// The word `trace.jsonl` shows.
    pub fn name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Suspect => "suspect",
            Health::Failed => "failed",
        }
    }
}

/// One fact a node published about itself or its view of the system, with
/// [`Ctx::observe`](crate::Ctx::observe), when it changed.
///
/// The kernel keeps observations among the trace records (so `trace.jsonl`
/// has them, in order) only while the trace is recording;
/// [`Sim::observations`](crate::Sim::observations) iterates them.
///
/// **The trace hash.** An observation is a pure function of events the trace
/// already hashes (the same seed and scenario give the same deliveries,
/// timers and faults, hence the same node states), so folding it in would add
/// nothing to the fingerprint. Only [`Observation::Role`] is hashed, exactly
/// as the note `role` it replaced was (kind 5, the process, `"role"`,
/// [`Role::hashed_word`]), so every pinned hash stays what it was. The other
/// kinds are neither hashed nor counted in [`Trace::len`](crate::Trace::len),
/// and without recording they are dropped at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The node's role changed, or was stated at start. The only hashed
    /// kind (see the module's documentation); published where the role is
    /// set, even when it is the same as before, as the note it replaces was.
    Role {
        /// The new role.
        role: Role,
        /// The master it follows, as it was told (`host:port`), for a replica.
        master: Option<String>,
    },
    /// A replica's link to its master came up (streaming) or went down.
    MasterLink {
        /// Whether the link is up.
        up: bool,
    },
    /// The node's replication offset: a master's offset of the stream it
    /// produced, a replica's offset of the stream it processed.
    ReplOffset {
        /// The offset in bytes.
        offset: u64,
    },
    /// The node's epochs (Redis Cluster's currentEpoch and configEpoch).
    Epoch {
        /// The highest epoch the node knows.
        current: u64,
        /// The epoch of its own (or its shard's) configuration.
        config: u64,
    },
    /// In the node's own table, the slots `first..=last` changed owner.
    SlotRange {
        /// First slot of the range.
        first: u16,
        /// Last slot of the range, inclusive.
        last: u16,
        /// The owner as the node names it (a node id), or none.
        owner: Option<String>,
    },
    /// The node changed what it believes about a peer's health.
    Peer {
        /// The peer as the node names it (a node id).
        peer: String,
        /// What it now believes.
        health: Health,
    },
    /// The node logged an event (a Sentinel's `+sdown`, `+odown`,
    /// `+switch-master`, ...).
    Event {
        /// The event's name.
        name: String,
        /// Its text after the name.
        detail: String,
    },
    /// The address the node believes serves as master of a replicated group
    /// it monitors (a Sentinel's view of a monitored master).
    GroupMaster {
        /// The group's name.
        group: String,
        /// The master's address (`ip:port`).
        addr: String,
    },
}

impl Observation {
    /// The kind's name in `trace.jsonl` (`"what"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Observation::Role { .. } => "role",
            Observation::MasterLink { .. } => "master-link",
            Observation::ReplOffset { .. } => "repl-offset",
            Observation::Epoch { .. } => "epoch",
            Observation::SlotRange { .. } => "slot-range",
            Observation::Peer { .. } => "peer",
            Observation::Event { .. } => "event",
            Observation::GroupMaster { .. } => "group-master",
        }
    }

    /// Whether the trace hash folds this observation in (roles only).
    pub fn is_hashed(&self) -> bool {
        matches!(self, Observation::Role { .. })
    }

    /// Appends the kind's fields to a JSON object being written (after a comma).
    pub(crate) fn write_json_fields(&self, s: &mut String) {
        use crate::trace::json_str;
        let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "null".to_owned(), json_str);
        let _ = write!(s, "\"what\":\"{}\"", self.kind());
        let _ = match self {
            Observation::Role { role, master } => write!(s, ",\"role\":\"{}\",\"master\":{}", role.name(), opt(master)),
            Observation::MasterLink { up } => write!(s, ",\"up\":{up}"),
            Observation::ReplOffset { offset } => write!(s, ",\"offset\":{offset}"),
            Observation::Epoch { current, config } => write!(s, ",\"current\":{current},\"config\":{config}"),
            Observation::SlotRange { first, last, owner } => {
                write!(s, ",\"first\":{first},\"last\":{last},\"owner\":{}", opt(owner))
            }
            Observation::Peer { peer, health } => {
                write!(s, ",\"peer\":{},\"health\":\"{}\"", json_str(peer), health.name())
            }
            Observation::Event { name, detail } => {
                write!(s, ",\"name\":{},\"detail\":{}", json_str(name), json_str(detail))
            }
            Observation::GroupMaster { group, addr } => {
                write!(s, ",\"group\":{},\"addr\":{}", json_str(group), json_str(addr))
            }
        };
    }
}
