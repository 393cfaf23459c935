//! Client output buffers: what a client's socket did not take, kept and
//! written when the kernel says it is writable again, and
//! `client-output-buffer-limit` enforced on it as networking.c does
//! (`checkClientOutputBufferLimits`, `closeClientOnOutputBufferLimitReached`).
//!
//! Every write of the server to a client or replica connection goes through
//! [`Outputs::write`], so bytes leave in the order they were produced. While
//! no socket is full (the common case) a write costs one emptiness check
//! before the kernel's.
//!
//! What is counted is the bytes waiting, where Redis counts its reply blocks
//! (16 KB chunks and their list nodes; for a replica the shared replication
//! buffer from the replica's first unsent block): the same to within a block.

use crate::server::{Client, Server};
use sim::{ConnId, Ctx};
use std::collections::BTreeMap;

/// One class's limits: `<hard> <soft> <soft seconds>` (0 disables a limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimit {
    /// Disconnect as soon as the buffer holds this many bytes.
    pub hard: u64,
    /// Disconnect once the buffer held this many bytes for longer than `soft_seconds`.
    pub soft: u64,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// `client-output-buffer-limit`: normal, replica, pubsub, in Redis's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits(pub [BufferLimit; 3]);

/// The classes, as `getClientTypeName` names them in CONFIG GET.
const CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];
const NORMAL: usize = 0;
const REPLICA: usize = 1;
const PUBSUB: usize = 2;

impl Default for OutputLimits {
    /// Redis 7.0's defaults: `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`.
    fn default() -> Self {
        let limit = |hard, soft, soft_seconds| BufferLimit { hard, soft, soft_seconds };
        OutputLimits([limit(0, 0, 0), limit(256 << 20, 64 << 20, 60), limit(32 << 20, 8 << 20, 60)])
    }
}

impl OutputLimits {
    /// Applies `<class> <hard> <soft> <seconds>` groups as
    /// `updateClientOutputBufferLimit` does: all of them or, on an error, none.
    pub fn apply(&mut self, words: &[&str]) -> Result<(), String> {
        if !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".to_owned());
        }
        let mut next = *self;
        for group in words.chunks(4) {
            let class = match group[0].to_ascii_lowercase().as_str() {
                "normal" => NORMAL,
                "slave" | "replica" => REPLICA,
                "pubsub" => PUBSUB,
                _ => return Err("Invalid client class specified in buffer limit configuration.".to_owned()),
            };
            let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_owned();
            let hard = crate::config::memory(group[1]).map_err(|_| bad())?;
            let soft = crate::config::memory(group[2]).map_err(|_| bad())?;
            let soft_seconds = group[3].parse::<u64>().map_err(|_| bad())?;
            next.0[class] = BufferLimit { hard, soft, soft_seconds };
        }
        *self = next;
        Ok(())
    }

    /// CONFIG GET's value: every class, `<name> <hard> <soft> <seconds>`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = (self.0.iter().zip(CLASS_NAMES))
            .map(|(l, name)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
            .collect();
        parts.join(" ")
    }
}

/// Bytes a client's socket did not take yet.
#[derive(Debug, Default)]
struct Held {
    bytes: Vec<u8>,
    /// Already written: `bytes[..start]`.
    start: usize,
    /// When (unix seconds) the soft limit was first seen exceeded, if it still is.
    soft_since: Option<i64>,
}

impl Held {
    fn len(&self) -> usize {
        self.bytes.len() - self.start
    }
}

/// Every client's held output.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    held: BTreeMap<ConnId, Held>,
    /// A reply is encoded here before it is written.
    scratch: Vec<u8>,
    /// CPU per MiB written ([`crate::costs::Costs::per_mib`]).
    pub(crate) per_mib: std::time::Duration,
    /// Connections of replicas (clients that sent SYNC or PSYNC): what they
    /// are written counts as replication output.
    replicas: std::collections::BTreeSet<ConnId>,
    /// The traffic counters INFO stats shows.
    pub(crate) traffic: crate::traffic::Traffic,
}

impl Outputs {
    /// Writes `bytes` to `conn` after anything held for it; keeps what the
    /// socket does not take.
    pub(crate) fn write(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        self.write_after_direct(ctx, conn, bytes, 0);
    }

    /// Writes `bytes` as [`Outputs::write`], the first `direct` of them
    /// outside the statistics: the `+FULLRESYNC` / `+CONTINUE` line Redis
    /// writes straight to a replica's socket (an empty one: it takes them)
    /// before the buffered output that follows.
    pub(crate) fn write_after_direct(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8], direct: usize) {
        if bytes.is_empty() {
            // An empty packet, as the server always sent for an empty write
            // (a real write of nothing sends nothing); kept so that traces
            // pinned before flow control do not move.
            if self.held(conn) == 0 {
                ctx.send(conn, bytes);
            }
            return;
        }
        crate::costs::spend(ctx, crate::costs::Costs::bytes(self.per_mib, bytes.len()));
        if !self.held.is_empty()
            && let Some(h) = self.held.get_mut(&conn)
        {
            h.bytes.extend_from_slice(bytes);
            return;
        }
        let n = ctx.write(conn, bytes);
        self.count(conn, n.saturating_sub(direct));
        if n < bytes.len() {
            self.held.insert(conn, Held { bytes: bytes[n..].to_vec(), ..Held::default() });
        }
    }

    /// A replica's REPLCONF ACK to its master: sent as it always was, and
    /// counted as Redis counts what it writes to its master client (client
    /// output, not replication output).
    pub(crate) fn send_to_master(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        ctx.send(conn, bytes);
        self.traffic.output += bytes.len() as u64;
        self.traffic.writes += 1;
    }

    /// `conn` is a replica's from now on (it sent SYNC or PSYNC).
    pub(crate) fn mark_replica(&mut self, conn: ConnId) {
        self.replicas.insert(conn);
    }

    /// The first replica's connection after `after` (the first of all for
    /// `None`), in id order: the order of the client table, walked without
    /// reading the clients that are not replicas.
    pub(crate) fn next_replica(&self, after: Option<ConnId>) -> Option<ConnId> {
        use std::ops::Bound::{Excluded, Unbounded};
        match after {
            None => self.replicas.first().copied(),
            Some(c) => self.replicas.range((Excluded(c), Unbounded)).next().copied(),
        }
    }

    /// The replicas' connections in id order, as [`Outputs::next_replica`]
    /// walks them, for a walk that writes nothing here meanwhile.
    pub(crate) fn replicas(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.replicas.iter().copied()
    }

    /// Counts `n` bytes the socket took (`_writeToClient`).
    fn count(&mut self, conn: ConnId, n: usize) {
        if n == 0 {
            return;
        }
        self.traffic.writes += 1;
        if !self.replicas.is_empty() && self.replicas.contains(&conn) {
            self.traffic.repl_output += n as u64;
        } else {
            self.traffic.output += n as u64;
        }
    }

    /// Writes what `fill` encodes, as [`Outputs::write`].
    pub(crate) fn write_with(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, fill: impl FnOnce(&mut Vec<u8>)) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        fill(&mut scratch);
        self.write(ctx, conn, &scratch);
        self.scratch = scratch;
    }

    /// The socket has room again: writes what it takes of what is held.
    pub(crate) fn writable(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(h) = self.held.get_mut(&conn) else { return };
        let n = ctx.write(conn, &h.bytes[h.start..]);
        h.start += n;
        self.count(conn, n);
        let Some(h) = self.held.get_mut(&conn) else { return };
        if h.len() == 0 {
            self.held.remove(&conn);
        } else if h.start > h.bytes.len() / 2 {
            h.bytes.drain(..h.start);
            h.start = 0;
        }
    }

    /// Bytes held for `conn`.
    pub(crate) fn held(&self, conn: ConnId) -> usize {
        self.held.get(&conn).map_or(0, Held::len)
    }

    /// Drops what is held for a connection that is gone.
    pub(crate) fn forget(&mut self, conn: ConnId) {
        if !self.held.is_empty() {
            self.held.remove(&conn);
        }
        if !self.replicas.is_empty() {
            self.replicas.remove(&conn);
        }
    }

    /// The connections holding output, in id order.
    fn holding(&self) -> Vec<ConnId> {
        self.held.keys().copied().collect()
    }
}

impl Server {
    /// Closes every client over its output buffer limit, as
    /// `closeClientOnOutputBufferLimitReached` does, with its log line. Runs
    /// after every input while some client has output held (Redis checks
    /// when a reply block is added and from `clientsCron`).
    pub(crate) fn enforce_output_limits(&mut self, ctx: &mut Ctx<'_>) {
        if self.outputs.held.is_empty() {
            return;
        }
        let now_s = ctx.wall_clock_ms() / 1000;
        for conn in self.outputs.holding() {
            let Some(client) = self.clients.get(&conn) else {
                self.outputs.forget(conn);
                continue;
            };
            let class = self.output_class(conn, client);
            let used = self.outputs.held(conn) as u64;
            if self.over_limit(conn, class, used, now_s) {
                self.close_for_output(ctx, conn);
            }
        }
    }

    fn output_class(&self, conn: ConnId, client: &Client) -> usize {
        if client.replica.is_some() {
            REPLICA
        } else if self.pubsub.is_subscribed(conn) {
            PUBSUB
        } else {
            NORMAL
        }
    }

    /// `checkClientOutputBufferLimits`, soft-limit clock included.
    fn over_limit(&mut self, conn: ConnId, class: usize, used: u64, now_s: i64) -> bool {
        let limit = self.config.output_limits.0[class];
        let mut hard_bytes = limit.hard;
        // A replica's hard limit below the backlog size is raised to it.
        if class == REPLICA && hard_bytes != 0 && hard_bytes < self.config.repl_backlog_size {
            hard_bytes = self.config.repl_backlog_size;
        }
        let hard = limit.hard != 0 && used >= hard_bytes;
        let mut soft = limit.soft != 0 && used >= limit.soft;
        let Some(h) = self.outputs.held.get_mut(&conn) else { return false };
        if soft {
            match h.soft_since {
                None => {
                    h.soft_since = Some(now_s);
                    soft = false;
                }
                Some(since) => soft = now_s - since > limit.soft_seconds as i64,
            }
        } else {
            h.soft_since = None;
        }
        hard || soft
    }

    fn close_for_output(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(client) = self.clients.remove(&conn) else { return };
        let cmd = if client.replica.is_some() { "replconf" } else { "NULL" };
        let info = self.client_line(Some(conn), &client, ctx.wall_clock_ms(), cmd);
        let msg = format!("Client {info} scheduled to be closed ASAP for overcoming of output buffer limits.");
        self.log(ctx, '#', &msg);
        self.outputs.forget(conn);
        ctx.close(conn);
        self.client_gone(ctx, conn, client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print_as_redis_does() {
        let mut l = OutputLimits::default();
        assert_eq!(l.describe(), "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
        l.apply(&["replica", "1mb", "512kb", "10"]).unwrap();
        assert_eq!(l.describe(), "normal 0 0 0 slave 1048576 524288 10 pubsub 33554432 8388608 60");
        let wrong = l.apply(&["replica", "1mb", "512kb"]).unwrap_err();
        assert_eq!(wrong, "Wrong number of arguments in buffer limit configuration.");
        let class = l.apply(&["master", "1", "1", "1"]).unwrap_err();
        assert_eq!(class, "Invalid client class specified in buffer limit configuration.");
        let value = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        assert_eq!(l.apply(&["slave", "1x", "1", "1"]).unwrap_err(), value);
        assert_eq!(l.apply(&["pubsub", "1", "1", "-1"]).unwrap_err(), value);
        // One bad group refuses the whole value.
        assert!(l.apply(&["normal", "5", "5", "5", "pubsub", "1", "1", "x"]).is_err());
        assert_eq!(l.describe(), "normal 0 0 0 slave 1048576 524288 10 pubsub 33554432 8388608 60");
    }
}
