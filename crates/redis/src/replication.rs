//! Master/replica replication as Redis 7.0 does it (replication.c): replication
//! ids and offsets, the backlog, PSYNC's partial-or-full rule, diskless full
//! sync, the replica's handshake state machine, REPLCONF ACK, timeouts,
//! promotion with a secondary id, chains, WAIT and min-replicas-to-write.
//!
//! Its size follows replication.c on purpose: functions keep the C names in
//! their docs (`syncCommand`, `replicaofCommand`, `readSyncBulkPayload`,
//! `replicationCron`, ...) so the file can be read side by side with upstream.

use crate::dispatch::Timer;
use crate::keyspace::{Db, Exec};
use crate::output::Outputs;
use crate::server::{Client, Server};
use resp::{RequestParser, Value};
use sim::{ConnId, ConnectError, Ctx, Instant, Observation, Role};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

const ZERO_ID: &str = "0000000000000000000000000000000000000000";
/// The clock a replica applies its master's stream under: none of its keys
/// has expired by it. Redis never considers a key expired while executing
/// the master's commands (`expireIfNeeded` returns 0 for the master client):
/// the master's DEL, later in the stream, is what removes it. Masters send
/// expiry times only in absolute form (PEXPIREAT, SET ... PXAT), so nothing
/// in the stream reads the clock otherwise.
const STREAM_CLOCK_MS: i64 = i64::MIN;
/// The backlog's floor (`CONFIG_REPL_BACKLOG_MIN_SIZE`).
const BACKLOG_MIN: u64 = 16 * 1024;

/// The circular buffer of the most recent replication stream.
#[derive(Debug)]
pub(crate) struct Backlog {
    data: Blocks,
    size: usize,
    /// Offset of `data[0]`.
    first: i64,
}

impl Backlog {
    fn new(size: u64, next_offset: i64) -> Backlog {
        Backlog { data: Blocks::default(), size: size.max(BACKLOG_MIN) as usize, first: next_offset }
    }

    fn append(&mut self, bytes: &[u8]) {
        self.data.extend(bytes);
        let excess = self.data.len().saturating_sub(self.size);
        if excess > 0 {
            self.data.drop_front(excess);
            self.first += excess as i64;
        }
    }

    /// The bytes from `offset` on, if the backlog still holds them.
    fn from(&self, offset: i64) -> Option<Vec<u8>> {
        let end = self.first + self.data.len() as i64;
        if offset < self.first || offset > end {
            return None;
        }
        Some(self.data.from((offset - self.first) as usize))
    }
}

/// A block of the backlog (Redis 7.0 keeps its replication buffer in 16 KiB blocks).
const BACKLOG_BLOCK: usize = 16 * 1024;

/// The backlog's bytes as a queue of full blocks and a tail being filled.
/// Appending never moves what is held (a `VecDeque` doubled up to twice the
/// backlog's size, copying everything at each step, and each new buffer was
/// fresh memory), and a block emptied at the front is reused at the back.
/// The same bytes as a plain queue (`tests_backlog` compares them).
///
/// Appends go to `tail`, one buffer for as long as the backlog lives, so the
/// lines they write are in the cache; a full tail is copied into a block in
/// one copy of 16 KiB. Writing each command's few dozen bytes straight into
/// a block wrote lines the backlog last held a megabyte of stream earlier,
/// long gone from the cache: each write waited for its line to come from
/// memory, once per command on every node of a replication group (the
/// 1,000,000-key replication bench ran 20 % slower so). The copy of a whole
/// block writes whole lines, which a large copy need not read first.
#[derive(Debug, Default)]
struct Blocks {
    /// Full blocks, oldest first; bytes before `head` in the first are gone.
    blocks: VecDeque<Vec<u8>>,
    head: usize,
    /// The newest bytes, fewer than a block's worth.
    tail: Vec<u8>,
    len: usize,
    /// An emptied block, kept for the next one needed.
    spare: Option<Vec<u8>>,
}

impl Blocks {
    fn len(&self) -> usize {
        self.len
    }

    fn extend(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while !bytes.is_empty() {
            if self.tail.capacity() == 0 {
                self.tail.reserve_exact(BACKLOG_BLOCK);
            }
            let n = (BACKLOG_BLOCK - self.tail.len()).min(bytes.len());
            self.tail.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.tail.len() == BACKLOG_BLOCK {
                let mut block = self.spare.take().unwrap_or_else(|| Vec::with_capacity(BACKLOG_BLOCK));
                block.extend_from_slice(&self.tail);
                self.tail.clear();
                self.blocks.push_back(block);
            }
        }
    }

    /// Drops the first `n` bytes (`n <= len`).
    fn drop_front(&mut self, mut n: usize) {
        debug_assert!(n <= self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.blocks.front() else {
                // No full block: the bytes go from the tail's front (never in a
                // backlog, which keeps at least a block's worth after a drop).
                self.tail.drain(..n);
                return;
            };
            let first = front.len() - self.head;
            if n < first {
                self.head += n;
                return;
            }
            n -= first;
            self.head = 0;
            let mut block = self.blocks.pop_front().expect("n <= len");
            block.clear();
            self.spare = Some(block);
        }
    }

    /// The bytes from position `at` on (`at <= len`).
    fn from(&self, at: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len - at);
        let mut skip = self.head + at;
        for block in self.blocks.iter().chain([&self.tail]) {
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            out.extend_from_slice(&block[skip..]);
            skip = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests_backlog {
    use super::{BACKLOG_BLOCK, Backlog};
    use std::collections::VecDeque;

    /// The backlog as it was: one queue of bytes.
    struct Plain {
        data: VecDeque<u8>,
        size: usize,
        first: i64,
    }

    impl Plain {
        fn append(&mut self, bytes: &[u8]) {
            self.data.extend(bytes);
            let excess = self.data.len().saturating_sub(self.size);
            if excess > 0 {
                self.data.drain(..excess);
                self.first += excess as i64;
            }
        }

        fn from(&self, offset: i64) -> Option<Vec<u8>> {
            let end = self.first + self.data.len() as i64;
            if offset < self.first || offset > end {
                return None;
            }
            Some(self.data.range((offset - self.first) as usize..).copied().collect())
        }
    }

    #[test]
    fn blocks_hold_what_a_plain_queue_holds() {
        let mut rng = sim::Rng::stream(7, "backlog-blocks");
        let mut next = move || rng.next_u64();
        for round in 0..12 {
            let size = [16 * 1024, 20_000, 40_000, 100_000][round % 4];
            let mut fast = Backlog::new(size as u64, 1 + round as i64);
            let mut plain = Plain { data: VecDeque::new(), size, first: 1 + round as i64 };
            let mut byte = 0u8;
            for step in 0..300 {
                let n = match next() % 10 {
                    0 => 0,
                    1 => BACKLOG_BLOCK + (next() % 3) as usize - 1,
                    2 => size + (next() % 5_000) as usize,
                    3 => (next() % 60_000) as usize,
                    _ => (next() % 300) as usize,
                };
                let bytes: Vec<u8> = (0..n)
                    .map(|_| {
                        byte = byte.wrapping_add(1);
                        byte
                    })
                    .collect();
                if step % 97 == 96 {
                    // CONFIG SET repl-backlog-size, as `resize_backlog` does it.
                    let size = [16 * 1024, 30_000, 70_000][(next() % 3) as usize];
                    fast.size = size;
                    plain.size = size;
                }
                fast.append(&bytes);
                plain.append(&bytes);
                assert_eq!((fast.first, fast.data.len()), (plain.first, plain.data.len()));
                let end = plain.first + plain.data.len() as i64;
                for offset in
                    [plain.first - 1, plain.first, end - 1, end, end + 1, plain.first + (next() % 70_000) as i64]
                {
                    assert_eq!(fast.from(offset), plain.from(offset), "offset {offset}");
                }
            }
        }
    }
}

/// Where a replica stands, as the master sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerState {
    /// Waiting for the snapshot child to start.
    WaitBgsave,
    /// The snapshot is on its way.
    SendBulk,
    /// Streaming.
    Online,
}

/// A replica connected to this node.
#[derive(Debug)]
pub(crate) struct ReplicaPeer {
    pub(crate) state: PeerState,
    pub(crate) port: u16,
    pub(crate) ack_offset: i64,
    pub(crate) ack_ms: i64,
    asked_ms: i64,
    psync: bool,
    /// Diskless sync: the stream starts only once the replica's first ACK says it loaded the snapshot.
    wait_ack: bool,
    /// Stream produced since the snapshot, not yet sent.
    pending: Vec<u8>,
    /// Stream for an online replica, sent in one write at the end of the
    /// current input (Redis writes replica buffers once per event loop).
    out: Vec<u8>,
}

impl ReplicaPeer {
    pub(crate) fn online(&self) -> bool {
        self.state == PeerState::Online
    }
}

/// The master this node replicates from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MasterAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// What the replica expects next from its master during the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Pong,
    Auth,
    Port,
    Capa,
    Psync,
    Sync,
}

#[derive(Debug)]
enum Link {
    /// No master, or waiting for the cron to connect.
    Connect,
    Connecting(ConnId),
    Handshake(ConnId, VecDeque<Expect>),
    Transfer {
        conn: ConnId,
        replid: String,
        offset: i64,
        mark: Option<Vec<u8>>,
        len: Option<usize>,
        payload: Vec<u8>,
    },
    Connected {
        conn: ConnId,
        parser: RequestParser,
        db: usize,
        /// The stream offset just past the last byte handed to `parser`:
        /// the offset never goes beyond it (a replica applies only what it
        /// has received).
        fed: i64,
    },
}

/// Full/partial sync counters for INFO stats.
#[derive(Debug, Default)]
pub(crate) struct SyncStats {
    pub(crate) full: u64,
    pub(crate) partial_ok: u64,
    pub(crate) partial_err: u64,
}

/// Replication state of one server.
#[derive(Debug)]
pub(crate) struct Replication {
    pub(crate) replid: String,
    pub(crate) replid2: String,
    pub(crate) offset: i64,
    pub(crate) second_offset: i64,
    backlog: Option<Backlog>,
    selected_db: Option<usize>,
    pub(crate) master: Option<MasterAddr>,
    link: Link,
    inbuf: Vec<u8>,
    cached: Option<(String, i64)>,
    /// The database the cached master's stream was in, as the cached master
    /// client keeps its selected db: a partial resync continues in it.
    cached_db: usize,
    link_down_since_ms: Option<i64>,
    last_io_ms: i64,
    link_started_ms: i64,
    pub(crate) good_replicas: u64,
    no_replicas_since_ms: i64,
    pub(crate) stats: SyncStats,
    pub(crate) my_ip: Ipv4Addr,
    pub(crate) cron_loops: u64,
    scratch: Vec<u8>,
    /// Some replica's `out` holds stream not yet sent.
    out_pending: bool,
    /// The replication id and offset [`Replication::check_offset`] last
    /// saw: while the id stays, the offset may not go down.
    history_floor: ([u8; 40], i64),
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            replid: ZERO_ID.to_owned(),
            replid2: ZERO_ID.to_owned(),
            offset: 0,
            second_offset: -1,
            backlog: None,
            selected_db: None,
            master: None,
            link: Link::Connect,
            inbuf: Vec::new(),
            cached: None,
            cached_db: 0,
            link_down_since_ms: None,
            last_io_ms: 0,
            link_started_ms: 0,
            good_replicas: 0,
            no_replicas_since_ms: 0,
            stats: SyncStats::default(),
            my_ip: Ipv4Addr::UNSPECIFIED,
            cron_loops: 0,
            scratch: Vec::new(),
            out_pending: false,
            history_floor: ([b'0'; 40], 0),
        }
    }
}

impl Replication {
    /// Bytes the replication backlog holds (`mem_replication_backlog`).
    pub(crate) fn backlog_bytes(&self) -> u64 {
        self.backlog.as_ref().map_or(0, |b| b.data.len() as u64)
    }

    /// Asserts that the replication offset has not gone down since the
    /// last call unless the replication id changed, and remembers both. A
    /// (replid, offset) pair names a point of one history, which only
    /// grows: every lower offset comes with another id (a full sync adopts
    /// the master's, a promotion or a new backlog makes a new one), and a
    /// partial resync resumes the cached history where it was cached.
    /// Called after every input; one 40-byte comparison.
    pub(crate) fn check_offset(&mut self) {
        let (floor_id, floor_offset) = &mut self.history_floor;
        if self.replid.as_bytes() == floor_id.as_slice() {
            assert!(
                self.offset >= *floor_offset,
                "the replication offset went down from {floor_offset} to {} within replication id {}",
                self.offset,
                self.replid
            );
        } else if let Ok(id) = <[u8; 40]>::try_from(self.replid.as_bytes()) {
            *floor_id = id;
        }
        *floor_offset = self.offset;
    }

    pub(crate) fn init(&mut self, ctx: &mut Ctx<'_>) {
        self.replid = common::ids::random_hex40(ctx);
        self.my_ip = ctx.ip();
        self.no_replicas_since_ms = ctx.wall_clock_ms();
    }

    pub(crate) fn set_master_from_config(&mut self, host: &str, port: u16) {
        self.master = Some(MasterAddr { host: host.to_owned(), port });
        self.link = Link::Connect;
    }

    pub(crate) fn is_master_link(&self, conn: ConnId) -> bool {
        self.master.is_some() && self.link_conn() == Some(conn)
    }

    /// The connection of an established link to the master (the master client).
    pub(crate) fn master_conn(&self) -> Option<ConnId> {
        if self.link_up() { self.link_conn() } else { None }
    }

    fn link_conn(&self) -> Option<ConnId> {
        match &self.link {
            Link::Connect => None,
            Link::Connecting(c) | Link::Handshake(c, _) => Some(*c),
            Link::Transfer { conn, .. } | Link::Connected { conn, .. } => Some(*conn),
        }
    }

    /// The database the master's stream is in (`repl-stream-db` of an RDB).
    pub(crate) fn stream_db(&self) -> usize {
        match &self.link {
            Link::Connected { db, .. } => *db,
            _ if self.cached.is_some() => self.cached_db,
            _ => 0,
        }
    }

    /// When the connected master last sent anything (`master->lastinteraction`).
    pub(crate) fn master_last_interaction_ms(&self) -> Option<i64> {
        self.link_up().then_some(self.last_io_ms)
    }

    /// When the link to the master went down, if it was ever up (`repl_down_since`).
    pub(crate) fn down_since_ms(&self) -> Option<i64> {
        self.link_down_since_ms
    }

    pub(crate) fn link_up(&self) -> bool {
        matches!(self.link, Link::Connected { .. })
    }

    /// ROLE's name for the link state.
    pub(crate) fn link_state_name(&self) -> &'static str {
        match self.link {
            Link::Connect => "connect",
            Link::Connecting(_) => "connecting",
            Link::Handshake(..) => "handshake",
            Link::Transfer { .. } => "sync",
            Link::Connected { .. } => "connected",
        }
    }

    /// The offsets a PSYNC may ask for, `(first, last)` with `last` one past
    /// the newest byte: `None` without a backlog.
    #[cfg(test)]
    pub(crate) fn backlog_range(&self) -> Option<(i64, i64)> {
        self.backlog.as_ref().map(|b| (b.first, b.first + b.data.len() as i64))
    }

    pub(crate) fn resize_backlog(&mut self, size: u64) {
        if let Some(b) = &mut self.backlog {
            b.size = size.max(BACKLOG_MIN) as usize;
            b.append(&[]);
        }
    }

    fn create_backlog(&mut self, size: u64) {
        self.backlog = Some(Backlog::new(size, self.offset + 1));
    }

    /// `shiftReplicationId`: the current history becomes the secondary one.
    fn shift_replid(&mut self, ctx: &mut Ctx<'_>) -> String {
        self.replid2 = std::mem::replace(&mut self.replid, common::ids::random_hex40(ctx));
        self.second_offset = self.offset + 1;
        format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2, self.second_offset, self.replid
        )
    }
}

/// Gives `part` of the stream to every replica: online ones get it in `out`,
/// sent at the end of the input; those still syncing keep it in `pending`.
/// True if some `out` got bytes. The replicas are found through the output
/// table's set of replica connections (every client that sent SYNC or
/// PSYNC), not by reading all the clients.
fn buffer_for_replicas(clients: &mut crate::client_table::ClientTable, outputs: &Outputs, part: &[u8]) -> bool {
    let mut buffered = false;
    let mut found = 0;
    // Once per command on a master: the set is walked in place, not sought
    // from each connection again (it does not change here).
    for conn in outputs.replicas() {
        let Some(peer) = clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else { continue };
        found += 1;
        match peer.state {
            PeerState::WaitBgsave => {}
            PeerState::Online if !peer.wait_ack => {
                peer.out.extend_from_slice(part);
                buffered = true;
            }
            _ => peer.pending.extend_from_slice(part),
        }
    }
    debug_assert_eq!(found, clients.values().filter(|c| c.replica.is_some()).count(), "a replica the set misses");
    buffered
}

fn peer_addr(client: &Client, peer: &ReplicaPeer) -> String {
    format!("{}:{}", client.peer.ip(), peer.port)
}

/// How long the snapshot child works: a fork plus serialisation at about 500 MB/s.
fn child_duration(bytes: usize) -> std::time::Duration {
    std::time::Duration::from_micros(1000 + bytes as u64 / 500)
}

impl Server {
    /// Appends to the replication stream: backlog, offset, and every attached replica.
    pub(crate) fn feed_replicas(&mut self, db: Option<usize>, bytes: &[u8]) {
        if self.repl.backlog.is_none() && !self.clients.values().any(|c| c.replica.is_some()) {
            return;
        }
        let mut select = Vec::new();
        if let Some(db) = db
            && self.repl.selected_db != Some(db)
        {
            resp::encode_command(&[b"SELECT".as_slice(), db.to_string().as_bytes()], &mut select);
            self.repl.selected_db = Some(db);
        }
        for part in [select.as_slice(), bytes] {
            if part.is_empty() {
                continue;
            }
            if let Some(b) = &mut self.repl.backlog {
                b.append(part);
            }
            self.repl.offset += part.len() as i64;
            self.repl.out_pending |= buffer_for_replicas(&mut self.clients, &self.outputs, part);
        }
    }

    /// Sends what online replicas were given during this input, one write each.
    /// Runs at the end of every input, and before anything that writes to or
    /// closes a replica's connection directly, so the stream keeps its order.
    pub(crate) fn flush_replica_output(&mut self, ctx: &mut Ctx<'_>) {
        if !std::mem::take(&mut self.repl.out_pending) {
            return;
        }
        let mut next = self.outputs.next_replica(None);
        while let Some(conn) = next {
            if let Some(peer) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut())
                && !peer.out.is_empty()
            {
                self.outputs.write(ctx, conn, &peer.out);
                peer.out.clear();
            }
            next = self.outputs.next_replica(Some(conn));
        }
    }

    /// PSYNC and SYNC from a would-be replica.
    pub(crate) fn sync_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        if client.replica.is_some() {
            return None;
        }
        let psync = args[0].eq_ignore_ascii_case(b"psync");
        if psync
            && args.get(3).is_some_and(|a| a.eq_ignore_ascii_case(b"failover"))
            && let Some(refused) = self.psync_failover(ctx, client, &args[1])
        {
            return Some(refused);
        }
        if self.failover.active() {
            return Some(Value::error("NOMASTERLINK Can't SYNC while failing over"));
        }
        if self.repl.master.is_some() && !self.repl.link_up() {
            return Some(Value::error("NOMASTERLINK Can't SYNC while not connected with my master"));
        }
        let now = ctx.wall_clock_ms();
        let addr = format!("{}:{}", client.peer.ip(), client.listening_port);
        self.log(ctx, '*', &format!("Replica {addr} asks for synchronization"));
        if psync {
            let asked = String::from_utf8_lossy(&args[1]).into_owned();
            let offset = crate::commands::parse_int(&args[2]).unwrap_or(-1);
            match self.try_partial(&asked, offset) {
                Ok(()) => {
                    let backlog = self.repl.backlog.as_ref().and_then(|b| b.from(offset))?;
                    let mut out = format!("+CONTINUE {}\r\n", self.repl.replid).into_bytes();
                    let direct = out.len();
                    out.extend_from_slice(&backlog);
                    self.outputs.mark_replica(conn);
                    self.outputs.write_after_direct(ctx, conn, &out, direct);
                    client.replica = Some(ReplicaPeer {
                        state: PeerState::Online,
                        port: client.listening_port,
                        // A new client: nothing acknowledged until its first ACK
                        // (INFO shows offset=0 until replicationCron's ACK).
                        ack_offset: 0,
                        ack_ms: now,
                        asked_ms: now,
                        psync,
                        wait_ack: false,
                        pending: Vec::new(),
                        out: Vec::new(),
                    });
                    self.repl.stats.partial_ok += 1;
                    let msg = format!(
                        "Partial resynchronization request from {addr} accepted. Sending {} bytes of backlog starting from offset {offset}.",
                        backlog.len()
                    );
                    self.log(ctx, '*', &msg);
                    self.refresh_good_replicas(now);
                    return None;
                }
                Err(why) => {
                    if asked != "?" {
                        self.repl.stats.partial_err += 1;
                    }
                    let why = why.replace("<addr>", &addr);
                    self.log(ctx, '*', &why);
                }
            }
        }
        self.repl.stats.full += 1;
        self.outputs.mark_replica(conn);
        client.replica = Some(ReplicaPeer {
            state: PeerState::WaitBgsave,
            port: client.listening_port,
            ack_offset: 0,
            ack_ms: now,
            asked_ms: now,
            psync,
            wait_ack: false,
            pending: Vec::new(),
            out: Vec::new(),
        });
        if self.repl.backlog.is_none() {
            // A backlog created from scratch starts a new history.
            self.repl.replid = common::ids::random_hex40(ctx);
            self.repl.replid2 = ZERO_ID.to_owned();
            self.repl.second_offset = -1;
            self.repl.create_backlog(self.config.repl_backlog_size);
            let msg = format!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.repl.replid, self.repl.replid2
            );
            self.log(ctx, '*', &msg);
        }
        if self.persist.child_running() {
            // The next child serves it.
        } else if self.config.repl_diskless_sync && self.config.repl_diskless_sync_delay > 0 {
            self.log(ctx, '*', "Delay next BGSAVE for diskless SYNC");
        } else {
            // The client is out of the map while its command runs; fork right after.
            self.post.start_sync_child = true;
        }
        None
    }

    /// `masterTryPartialResynchronization`'s rule; the error is the log line.
    fn try_partial(&self, asked: &str, offset: i64) -> Result<(), String> {
        let r = &self.repl;
        if asked != r.replid && (asked != r.replid2 || offset > r.second_offset) {
            return Err(if asked == "?" {
                "Full resync requested by replica <addr>".to_owned()
            } else if asked != r.replid2 || r.replid2 == ZERO_ID {
                format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{}' and '{}')",
                    r.replid, r.replid2
                )
            } else {
                format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}",
                    r.second_offset
                )
            });
        }
        match &r.backlog {
            Some(b) if b.from(offset).is_some() => Ok(()),
            _ => Err(format!(
                "Unable to partial resync with replica <addr> for lack of backlog (Replica request was: {offset})."
            )),
        }
    }

    /// The fork of a full sync: every waiting replica gets the same snapshot.
    pub(crate) fn start_sync_child(&mut self, ctx: &mut Ctx<'_>) {
        let diskless = self.config.repl_diskless_sync;
        let pid = self.new_pid(ctx);
        if diskless {
            self.log(ctx, '*', "Starting BGSAVE for SYNC with target: replicas sockets");
            self.log(ctx, '*', &format!("Background RDB transfer started by pid {pid}"));
        } else {
            self.log(ctx, '*', "Starting BGSAVE for SYNC with target: disk");
            self.persist.saves += 1;
            self.log(ctx, '*', &format!("Background saving started by pid {pid}"));
        }
        // Replicas joining now need a SELECT before the first command they see.
        self.repl.selected_db = None;
        let info = crate::rdb::ReplInfo {
            replid: self.repl.replid.clone(),
            offset: self.repl.offset,
            stream_db: self.repl.stream_db(),
        };
        let snapshot =
            crate::rdb::encode(&self.dbs, &self.scripting.functions.codes(), ctx.wall_clock_ms(), Some(&info));
        let mut mark = [0u8; 20];
        ctx.rng().fill(&mut mark);
        let mark: String = mark.iter().map(|b| format!("{b:02x}")).collect();
        for (conn, client) in self.clients.iter_mut() {
            let Some(peer) = &mut client.replica else { continue };
            if peer.state != PeerState::WaitBgsave {
                continue;
            }
            peer.state = PeerState::SendBulk;
            let mut out = Vec::new();
            if peer.psync {
                out.extend_from_slice(format!("+FULLRESYNC {} {}\r\n", self.repl.replid, self.repl.offset).as_bytes());
            }
            let direct = out.len();
            if diskless {
                out.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
                out.extend_from_slice(&snapshot);
                out.extend_from_slice(mark.as_bytes());
            }
            self.outputs.write_after_direct(ctx, *conn, &out, direct);
        }
        let dirty = self.persist.dirty;
        let duration =
            if diskless { child_duration(snapshot.len()) } else { crate::persistence::save_child_time(snapshot.len()) };
        let child = (pid, crate::persistence::ChildKind::Sync { diskless, snapshot });
        self.persist.start_child(ctx, child, dirty, duration);
    }

    /// The sync child finished: replicas go online.
    pub(crate) fn sync_child_done(&mut self, ctx: &mut Ctx<'_>, diskless: bool, snapshot: &[u8]) {
        let now = ctx.wall_clock_ms();
        let sending =
            self.clients.values().filter(|c| c.replica.as_ref().is_some_and(|r| r.state == PeerState::SendBulk));
        let n = sending.count();
        if diskless {
            self.log(ctx, '#', &format!("Diskless rdb transfer, done reading from pipe, {n} replicas still up."));
            self.log(ctx, '*', "Background RDB transfer terminated with success");
        } else {
            self.log(ctx, '*', "Background saving terminated with success");
        }
        let mut lines = Vec::new();
        for (conn, client) in self.clients.iter_mut() {
            let Some(peer) = &mut client.replica else { continue };
            if peer.state != PeerState::SendBulk {
                continue;
            }
            let addr = format!("{}:{}", client.peer.ip(), peer.port);
            peer.state = PeerState::Online;
            peer.ack_ms = now;
            if diskless {
                peer.wait_ack = true;
                lines.push(format!(
                    "Streamed RDB transfer with replica {addr} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"
                ));
            } else {
                let mut out = format!("${}\r\n", snapshot.len()).into_bytes();
                out.extend_from_slice(snapshot);
                out.append(&mut peer.pending);
                self.outputs.write(ctx, *conn, &out);
            }
            lines.push(format!("Synchronization with replica {addr} succeeded"));
        }
        for line in lines {
            self.log(ctx, '*', &line);
        }
        self.refresh_good_replicas(now);
    }

    /// `checkChildrenDone` then `replicaStartCommandStream` from REPLCONF
    /// ACK: a replica that loaded the whole snapshot and acknowledged it
    /// before the sync child was reaped gets its stream at once, not after
    /// its next ACK a second later.
    pub(crate) fn sync_acked_early(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        if self.persist.sync_child_running() {
            self.child_done(ctx);
        }
        let Some(peer) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else { return };
        if peer.online() && peer.wait_ack {
            peer.wait_ack = false;
            let pending = std::mem::take(&mut peer.pending);
            self.outputs.write(ctx, conn, &pending);
        }
    }

    /// REPLCONF from a replica (or a would-be one).
    pub(crate) fn replconf(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        if !(args.len() - 1).is_multiple_of(2) {
            return Some(Value::error("ERR syntax error"));
        }
        let mut i = 1;
        while i < args.len() {
            let opt = args[i].to_ascii_lowercase();
            let value = &args[i + 1];
            match opt.as_slice() {
                b"listening-port" => match crate::commands::parse_int(value) {
                    Some(p) if (0..=65535).contains(&p) => client.listening_port = p as u16,
                    _ => return Some(Value::error("ERR value is not an integer or out of range")),
                },
                b"ack" => {
                    let now = ctx.wall_clock_ms();
                    let Some(peer) = &mut client.replica else { return None };
                    if let Some(off) = crate::commands::parse_int(value) {
                        peer.ack_offset = peer.ack_offset.max(off);
                    }
                    peer.ack_ms = now;
                    if peer.wait_ack {
                        peer.wait_ack = false;
                        let pending = std::mem::take(&mut peer.pending);
                        self.outputs.write(ctx, conn, &pending);
                    } else if peer.state == PeerState::SendBulk && self.persist.sync_child_running() {
                        // The ACK beat the child's exit: reap it now, then stream.
                        self.post.synced_early = Some(conn);
                    }
                    self.post.acks_changed = true;
                    return None;
                }
                b"getack" => return None,
                b"capa" | b"ip-address" | b"rdb-only" | b"rdb-filter-only" => {}
                _ => {
                    return Some(Value::error(format!(
                        "ERR Unrecognized REPLCONF option: {}",
                        String::from_utf8_lossy(&args[i])
                    )));
                }
            }
            i += 2;
        }
        Some(Value::ok())
    }

    pub(crate) fn refresh_good_replicas(&mut self, now_ms: i64) {
        let max_lag = self.config.min_replicas_max_lag as i64 * 1000;
        self.repl.good_replicas = self
            .clients
            .values()
            .filter_map(|c| c.replica.as_ref())
            .filter(|r| r.online() && now_ms - r.ack_ms <= max_lag)
            .count() as u64;
    }

    /// WAIT numreplicas timeout.
    pub(crate) fn wait_command(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Option<Value> {
        if self.repl.master.is_some() {
            return Some(Value::error(
                "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
            ));
        }
        let Some(wanted) = crate::commands::parse_int(&args[1]) else {
            return Some(Value::error("ERR value is not an integer or out of range"));
        };
        let timeout = match crate::commands::parse_int(&args[2]) {
            None => return Some(Value::error("ERR timeout is not an integer or out of range")),
            Some(t) if t < 0 => return Some(Value::error("ERR timeout is negative")),
            Some(t) => t,
        };
        let acked = self.acked_replicas(client.woff);
        if acked >= wanted.max(0) as u64 {
            return Some(Value::Integer(acked as i64));
        }
        let timer = (timeout > 0)
            .then(|| ctx.set_timer(std::time::Duration::from_millis(timeout as u64), Timer::WaitTimeout.tag()));
        let deadline = (timeout > 0).then(|| ctx.now() + std::time::Duration::from_millis(timeout as u64));
        client.wait = Some(crate::server::WaitState { replicas: wanted as u64, offset: client.woff, timer, deadline });
        let mut getack = Vec::new();
        resp::encode_command(&[b"REPLCONF".as_slice(), b"GETACK", b"*"], &mut getack);
        self.feed_replicas(None, &getack);
        None
    }

    fn acked_replicas(&self, offset: i64) -> u64 {
        self.clients
            .values()
            .filter_map(|c| c.replica.as_ref())
            .filter(|r| r.online() && r.ack_offset >= offset)
            .count() as u64
    }

    /// Replies to WAITs that are satisfied.
    pub(crate) fn unblock_waiters(&mut self, ctx: &mut Ctx<'_>) {
        let ready: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.wait.as_ref().is_some_and(|w| self.acked_replicas(w.offset) >= w.replicas))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in ready {
            self.finish_wait(ctx, conn);
        }
    }

    fn finish_wait(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(wait) = self.take_wait(ctx, conn) else { return };
        if let Some(t) = wait.timer {
            ctx.cancel_timer(t);
        }
        let n = self.acked_replicas(wait.offset);
        self.outputs.write_with(ctx, conn, |buf| Value::Integer(n as i64).encode(buf));
        self.process_client(ctx, conn);
    }

    /// CLIENT UNBLOCK of a client in WAIT: the count so far (`error: None`) or the error.
    pub(crate) fn unblock_wait(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, error: Option<Value>) {
        let Some(error) = error else { return self.finish_wait(ctx, conn) };
        let Some(wait) = self.take_wait(ctx, conn) else { return };
        if let Some(t) = wait.timer {
            ctx.cancel_timer(t);
        }
        self.outputs.write_with(ctx, conn, |buf| error.encode(buf));
        self.process_client(ctx, conn);
    }

    /// Ends `conn`'s WAIT, whose reply is about to be written (`lastinteraction`).
    fn take_wait(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> Option<crate::server::WaitState> {
        let client = self.clients.get_mut(&conn)?;
        client.last_cmd_ms = ctx.wall_clock_ms();
        client.wait.take()
    }

    pub(crate) fn wait_timeouts(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let due: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.wait.as_ref().and_then(|w| w.deadline).is_some_and(|d: Instant| d <= now))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in due {
            self.finish_wait(ctx, conn);
        }
    }

    /// REPLICAOF / SLAVEOF.
    pub(crate) fn replicaof_command(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Value {
        if self.failover.active() {
            return Value::error("ERR REPLICAOF not allowed while failing over.");
        }
        if client.replica.is_some() {
            return Value::error("ERR Command is not valid when client is a replica.");
        }
        let now = ctx.wall_clock_ms();
        let info = self.client_info(client, now, &String::from_utf8_lossy(&args[0]).to_ascii_lowercase());
        if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
            if self.repl.master.is_some() {
                self.unset_master(ctx);
                self.log(ctx, '*', &format!("MASTER MODE enabled (user request from '{info}')"));
            }
            return Value::ok();
        }
        let port = match crate::commands::parse_int(&args[2]) {
            Some(p) if (0..=65535).contains(&p) => p as u16,
            _ => return Value::error("ERR Invalid master port"),
        };
        let host = String::from_utf8_lossy(&args[1]).into_owned();
        if self.repl.master.as_ref().is_some_and(|m| m.host.eq_ignore_ascii_case(&host) && m.port == port) {
            self.log(ctx, '*', "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Value::Simple("OK Already connected to specified master".into());
        }
        self.set_master(ctx, host.clone(), port);
        self.log(ctx, '*', &format!("REPLICAOF {host}:{port} enabled (user request from '{info}')"));
        Value::ok()
    }

    /// `replicationSetMaster`.
    pub(crate) fn set_master(&mut self, ctx: &mut Ctx<'_>, host: String, port: u16) {
        self.disconnect_blocked_clients(ctx);
        let was_master = self.repl.master.is_none();
        self.drop_link(ctx, !was_master);
        self.repl.master = Some(MasterAddr { host, port });
        if was_master {
            self.repl.cached = None;
            self.log(ctx, '*', "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
            self.repl.cached = Some((self.repl.replid.clone(), self.repl.offset));
            // A new master that shares this history was promoted from one of our
            // replicas, and a promotion starts the stream with a SELECT.
            self.repl.cached_db = 0;
        }
        let m = self.repl.master.clone().expect("just set");
        ctx.observe(Observation::Role { role: Role::Replica, master: Some(format!("{}:{}", m.host, m.port)) });
        self.repl.link_down_since_ms = None;
        self.log(ctx, '*', &format!("Connecting to MASTER {}:{}", m.host, m.port));
        self.connect_to_master(ctx);
    }

    /// `replicationUnsetMaster`: this node becomes a master, keeping its history as the secondary id.
    pub(crate) fn unset_master(&mut self, ctx: &mut Ctx<'_>) {
        let line = self.repl.shift_replid(ctx);
        self.drop_link(ctx, false);
        self.repl.master = None;
        if self.repl.cached.take().is_some() {
            self.log(ctx, '*', "Discarding previously cached master state.");
        }
        self.log(ctx, '#', &line);
        // Sub-replicas reconnect and PSYNC with the old id, accepted through replid2.
        self.disconnect_replicas(ctx);
        self.repl.selected_db = None;
        self.repl.link = Link::Connect;
        self.repl.no_replicas_since_ms = ctx.wall_clock_ms();
        ctx.observe(Observation::Role { role: Role::Master, master: None });
    }

    /// Closes the link to the master, caching it for a later PSYNC (`freeClient` of the master client).
    pub(crate) fn drop_master_link(&mut self, ctx: &mut Ctx<'_>) {
        self.drop_link(ctx, true);
    }

    /// Closes the link to the master; a connected link is cached for a later PSYNC when `cache`.
    fn drop_link(&mut self, ctx: &mut Ctx<'_>, cache: bool) {
        let was_connected = self.repl.link_up();
        let db = self.repl.stream_db();
        if let Some(conn) = self.repl.link_conn() {
            ctx.close(conn);
        }
        self.repl.link = Link::Connect;
        self.repl.inbuf.clear();
        if was_connected && cache {
            self.log(ctx, '*', "Caching the disconnected master state.");
            self.repl.cached = Some((self.repl.replid.clone(), self.repl.offset));
            self.repl.cached_db = db;
        }
    }

    fn disconnect_replicas(&mut self, ctx: &mut Ctx<'_>) {
        self.flush_replica_output(ctx);
        let conns: Vec<ConnId> = self.clients.iter().filter(|(_, c)| c.replica.is_some()).map(|(k, _)| *k).collect();
        for conn in conns {
            ctx.close(conn);
            self.clients.remove(&conn);
        }
    }

    fn connect_to_master(&mut self, ctx: &mut Ctx<'_>) {
        let Some(m) = self.repl.master.clone() else { return };
        let Ok(ip) = m.host.parse::<Ipv4Addr>() else {
            self.log(ctx, '#', &format!("Unable to connect to MASTER: can't resolve '{}'", m.host));
            self.repl.link = Link::Connect;
            return;
        };
        let conn = ctx.connect(SocketAddrV4::new(ip, m.port));
        crate::dispatch::tag_conn(ctx, conn, crate::dispatch::ConnOwner::MasterLink);
        self.repl.link = Link::Connecting(conn);
        self.repl.link_started_ms = ctx.wall_clock_ms();
        self.repl.last_io_ms = ctx.wall_clock_ms();
        self.log(ctx, '*', "MASTER <-> REPLICA sync started");
    }

    pub(crate) fn master_connected(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        if !matches!(self.repl.link, Link::Connecting(c) if c == conn) {
            ctx.close(conn);
            return;
        }
        self.log(ctx, '*', "Non blocking connect for SYNC fired the event.");
        ctx.send(conn, b"*1\r\n$4\r\nPING\r\n");
        self.repl.link = Link::Handshake(conn, VecDeque::from([Expect::Pong]));
    }

    pub(crate) fn master_connect_failed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, error: ConnectError) {
        if !matches!(self.repl.link, Link::Connecting(c) if c == conn) {
            return;
        }
        let why = match error {
            ConnectError::Refused => "Connection refused",
            ConnectError::TimedOut => "Connection timed out",
            ConnectError::Unreachable => "No route to host",
        };
        self.log(ctx, '#', &format!("Error condition on socket for SYNC: {why}"));
        self.repl.link = Link::Connect;
    }

    /// The master (or a would-be master mid-handshake) closed the link.
    pub(crate) fn master_link_closed(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.wall_clock_ms();
        if self.repl.link_up() {
            self.log(ctx, '#', "Connection with master lost.");
            self.log(ctx, '*', "Caching the disconnected master state.");
            self.repl.cached_db = self.repl.stream_db();
            self.repl.cached = Some((self.repl.replid.clone(), self.repl.offset));
            self.repl.link = Link::Connect;
            self.repl.link_down_since_ms = Some(now);
            let m = self.repl.master.clone().expect("a link implies a master");
            self.log(ctx, '*', &format!("Reconnecting to MASTER {}:{}", m.host, m.port));
            self.connect_to_master(ctx);
        } else {
            if matches!(self.repl.link, Link::Transfer { .. }) {
                self.log(ctx, '#', "I/O error trying to sync with MASTER: connection lost");
            }
            self.repl.link = Link::Connect;
            self.repl.inbuf.clear();
        }
    }

    /// Aborts the handshake; `reconnect` retries at once, as `cancelReplicationHandshake(1)` does.
    fn handshake_failed(&mut self, ctx: &mut Ctx<'_>, reconnect: bool) {
        if let Some(conn) = self.repl.link_conn() {
            ctx.close(conn);
        }
        self.repl.link = Link::Connect;
        self.repl.inbuf.clear();
        if reconnect && let Some(m) = self.repl.master.clone() {
            self.log(ctx, '*', &format!("Reconnecting to MASTER {}:{} after failure", m.host, m.port));
            self.connect_to_master(ctx);
        }
    }

    /// Bytes from the master: handshake replies, the snapshot, then the stream.
    pub(crate) fn on_master_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.costs.spend_read(ctx, bytes.len());
        }
        self.repl.last_io_ms = ctx.wall_clock_ms();
        if self.busy(ctx) {
            // A blocked event loop reads nothing; the bytes wait in the socket.
            self.repl.inbuf.extend_from_slice(bytes);
            if !self.stalled.contains(&conn) {
                self.stalled.push(conn);
            }
            return;
        }
        if let Link::Connected { parser, fed, .. } = &mut self.repl.link {
            let traffic = &mut self.outputs.traffic;
            traffic.reads += 1;
            traffic.repl_input += (self.repl.inbuf.len() + bytes.len()) as u64;
            if !self.repl.inbuf.is_empty() {
                parser.feed(&self.repl.inbuf);
                *fed += self.repl.inbuf.len() as i64;
                self.repl.inbuf.clear();
            }
            parser.feed(bytes);
            *fed += bytes.len() as i64;
            self.apply_master_stream(ctx);
            return;
        }
        self.repl.inbuf.extend_from_slice(bytes);
        loop {
            match &mut self.repl.link {
                Link::Handshake(..) => {
                    let Some(line) = take_line(&mut self.repl.inbuf) else { return };
                    if line.is_empty() {
                        continue; // keepalive newline while the master prepares the snapshot
                    }
                    if !self.handshake_reply(ctx, &line) {
                        return;
                    }
                }
                Link::Transfer { mark, len, payload, .. } => {
                    if mark.is_none() && len.is_none() {
                        let Some(line) = take_line(&mut self.repl.inbuf) else { return };
                        if line.is_empty() {
                            continue; // the master's keepalive newline, written and read outside the statistics
                        }
                        // The snapshot's first line counts as the snapshot does.
                        self.outputs.traffic.repl_input += line.len() as u64 + 2;
                        if let Some(m) = line.strip_prefix("$EOF:") {
                            *mark = Some(m.as_bytes().to_vec());
                            self.log(
                                ctx,
                                '*',
                                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
                            );
                        } else if let Some(n) = line.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                            *len = Some(n);
                            self.log(
                                ctx,
                                '*',
                                &format!("MASTER <-> REPLICA sync: receiving {n} bytes from master to disk"),
                            );
                        } else {
                            self.log(ctx, '#', &format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"));
                            self.handshake_failed(ctx, false);
                            return;
                        }
                        continue;
                    }
                    self.outputs.traffic.repl_input += self.repl.inbuf.len() as u64;
                    payload.append(&mut self.repl.inbuf);
                    let len = *len;
                    let complete = match (mark.as_ref(), len) {
                        (Some(m), _) => payload.ends_with(m) || payload.windows(m.len()).any(|w| w == m.as_slice()),
                        (None, Some(n)) => payload.len() >= n,
                        _ => false,
                    };
                    if !complete {
                        return;
                    }
                    let (rdb_len, rest) = match (mark.as_ref(), len) {
                        (Some(m), _) => {
                            let at = payload.windows(m.len()).position(|w| w == m.as_slice()).unwrap_or(0);
                            (at, at + m.len())
                        }
                        (None, Some(n)) => (n, n),
                        _ => return,
                    };
                    let mut payload = std::mem::take(payload);
                    let tail = payload.split_off(rest);
                    payload.truncate(rdb_len);
                    self.finish_full_sync(ctx, payload);
                    if let Link::Connected { parser, fed, .. } = &mut self.repl.link {
                        parser.feed(&tail);
                        *fed += tail.len() as i64;
                        self.apply_master_stream(ctx);
                    }
                    return;
                }
                Link::Connected { parser, fed, .. } => {
                    // A partial resync's backlog can arrive in the same packet as +CONTINUE.
                    self.outputs.traffic.repl_input += self.repl.inbuf.len() as u64;
                    parser.feed(&self.repl.inbuf);
                    *fed += self.repl.inbuf.len() as i64;
                    self.repl.inbuf.clear();
                    self.apply_master_stream(ctx);
                    return;
                }
                _ => return,
            }
        }
    }

    /// One reply during the handshake; false stops reading (the link changed).
    fn handshake_reply(&mut self, ctx: &mut Ctx<'_>, line: &str) -> bool {
        let Link::Handshake(conn, expect) = &mut self.repl.link else { return false };
        let conn = *conn;
        let Some(step) = expect.pop_front() else { return false };
        let err = line.starts_with('-');
        match step {
            Expect::Pong => {
                let accepted = !err
                    || line.starts_with("-NOAUTH")
                    || line.starts_with("-NOPERM")
                    || line.starts_with("-ERR operation not permitted");
                if !accepted {
                    self.log(ctx, '#', &format!("Error reply to PING from master: '{line}'"));
                    self.handshake_failed(ctx, false);
                    return false;
                }
                self.log(ctx, '*', "Master replied to PING, replication can continue...");
                let mut out = Vec::new();
                let mut next = VecDeque::new();
                if let Some(pass) = &self.config.masterauth {
                    match &self.config.masteruser {
                        Some(user) => {
                            resp::encode_command(&[b"AUTH".as_slice(), user.as_bytes(), pass.as_bytes()], &mut out)
                        }
                        None => resp::encode_command(&[b"AUTH".as_slice(), pass.as_bytes()], &mut out),
                    }
                    next.push_back(Expect::Auth);
                }
                let port = self.config.port.to_string();
                resp::encode_command(&[b"REPLCONF".as_slice(), b"listening-port", port.as_bytes()], &mut out);
                resp::encode_command(&[b"REPLCONF".as_slice(), b"capa", b"eof", b"capa", b"psync2"], &mut out);
                next.push_back(Expect::Port);
                next.push_back(Expect::Capa);
                ctx.send(conn, &out);
                self.repl.link = Link::Handshake(conn, next);
            }
            Expect::Auth => {
                if err {
                    self.log(ctx, '#', &format!("Unable to AUTH to MASTER: {line}"));
                    self.handshake_failed(ctx, false);
                    return false;
                }
            }
            Expect::Port => {
                if err {
                    self.log(
                        ctx,
                        '*',
                        &format!("(Non critical) Master does not understand REPLCONF listening-port: {line}"),
                    );
                }
            }
            Expect::Capa => {
                if err {
                    self.log(ctx, '*', &format!("(Non critical) Master does not understand REPLCONF capa: {line}"));
                }
                let (id, offset) = match &self.repl.cached {
                    Some((id, off)) => {
                        let msg = format!("Trying a partial resynchronization (request {id}:{}).", off + 1);
                        self.log(ctx, '*', &msg);
                        (id.clone(), (off + 1).to_string())
                    }
                    None => {
                        self.log(ctx, '*', "Partial resynchronization not possible (no cached master)");
                        ("?".to_owned(), "-1".to_owned())
                    }
                };
                let mut out = Vec::new();
                // A master failing over to this one asks it to take over.
                if self.failover.in_progress() {
                    resp::encode_command(
                        &[b"PSYNC".as_slice(), id.as_bytes(), offset.as_bytes(), b"FAILOVER"],
                        &mut out,
                    );
                } else {
                    resp::encode_command(&[b"PSYNC".as_slice(), id.as_bytes(), offset.as_bytes()], &mut out);
                }
                ctx.send(conn, &out);
                self.repl.link = Link::Handshake(conn, VecDeque::from([Expect::Psync]));
            }
            Expect::Psync => return self.psync_reply(ctx, conn, line),
            Expect::Sync => {
                if err {
                    self.log(ctx, '#', &format!("MASTER aborted replication with an error: {}", &line[1..]));
                    self.handshake_failed(ctx, true);
                    return false;
                }
                // A bare SYNC answers with the snapshot directly.
                self.repl.inbuf.splice(0..0, format!("{line}\r\n").into_bytes());
                self.repl.link = Link::Transfer {
                    conn,
                    replid: ZERO_ID.to_owned(),
                    offset: 0,
                    mark: None,
                    len: None,
                    payload: Vec::new(),
                };
            }
        }
        true
    }

    fn psync_reply(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &str) -> bool {
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let replid = parts.next().unwrap_or(ZERO_ID).to_owned();
            let offset = parts.next().and_then(|o| o.parse::<i64>().ok()).unwrap_or(0);
            self.log(ctx, '*', &format!("Full resync from master: {replid}:{offset}"));
            self.repl.link = Link::Transfer { conn, replid, offset, mark: None, len: None, payload: Vec::new() };
            if self.failover.in_progress() {
                self.clear_failover_state(ctx);
            }
            return true;
        }
        if let Some(rest) = line.strip_prefix("+CONTINUE") {
            self.log(ctx, '*', "Successful partial resynchronization with master.");
            let db = if self.repl.cached.is_some() { self.repl.cached_db } else { 0 };
            let (cached_id, cached_off) =
                self.repl.cached.take().unwrap_or((self.repl.replid.clone(), self.repl.offset));
            self.repl.replid = cached_id.clone();
            self.repl.offset = cached_off;
            let new_id = rest.trim();
            if !new_id.is_empty() && new_id != cached_id {
                self.repl.replid2 = cached_id;
                self.repl.second_offset = cached_off + 1;
                self.repl.replid = new_id.to_owned();
                self.log(ctx, '#', &format!("Master replication ID changed to {new_id}"));
                // Sub-replicas must learn the new id.
                self.disconnect_replicas(ctx);
            }
            if self.repl.backlog.is_none() {
                self.repl.create_backlog(self.config.repl_backlog_size);
            }
            self.log(ctx, '*', "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            self.link_established(ctx, conn, db, false);
            if self.failover.in_progress() {
                self.clear_failover_state(ctx);
            }
            return true;
        }
        let try_later = line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING");
        if try_later {
            self.log(ctx, '*', &format!("Master is currently unable to PSYNC but should be in the future: {line}"));
        } else {
            self.log(ctx, '#', &format!("Unexpected reply to PSYNC from master: {line}"));
        }
        if self.failover.in_progress() {
            self.abort_failover(ctx, "Failover target rejected psync request");
            return false;
        }
        if try_later {
            self.handshake_failed(ctx, false);
            return false;
        }
        self.log(ctx, '*', "Retrying with SYNC...");
        ctx.send(conn, b"*1\r\n$4\r\nSYNC\r\n");
        self.repl.link = Link::Handshake(conn, VecDeque::from([Expect::Sync]));
        true
    }

    /// The stream flows; it is in database `db` until its next SELECT.
    /// Redis 7.0 acks at once only after a diskless (EOF-marked) full sync,
    /// so that its master starts the stream (`readSyncBulkPayload`); after
    /// a `$<len>` transfer or +CONTINUE the first ACK is replicationCron's.
    fn link_established(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, db: usize, ack_now: bool) {
        let fed = self.repl.offset;
        self.repl.link = Link::Connected { conn, parser: RequestParser::default(), db, fed };
        self.repl.link_down_since_ms = None;
        self.repl.last_io_ms = ctx.wall_clock_ms();
        if ack_now {
            let mut ack = Vec::new();
            resp::encode_command(&[b"REPLCONF".as_slice(), b"ACK", self.repl.offset.to_string().as_bytes()], &mut ack);
            self.outputs.send_to_master(ctx, conn, &ack);
        }
    }

    /// The snapshot has arrived: replace the dataset and adopt the master's history.
    fn finish_full_sync(&mut self, ctx: &mut Ctx<'_>, payload: Vec<u8>) {
        let Link::Transfer { conn, replid, offset, mark, .. } = std::mem::replace(&mut self.repl.link, Link::Connect)
        else {
            return;
        };
        if self.repl.cached.take().is_some() {
            self.log(ctx, '*', "Discarding previously cached master state.");
        }
        // A new history: sub-replicas must resync, the old backlog is meaningless.
        self.disconnect_replicas(ctx);
        self.repl.backlog = None;
        self.log(ctx, '*', "MASTER <-> REPLICA sync: Flushing old data");
        self.log(ctx, '*', "MASTER <-> REPLICA sync: Loading DB in memory");
        let loaded = match crate::rdb::decode(&payload, &self.config.encodings) {
            Ok(l) => l,
            Err(e) => {
                self.log(ctx, '#', &format!("Failed trying to load the MASTER synchronization DB from socket: {e}"));
                ctx.close(conn);
                self.repl.link = Link::Connect;
                return;
            }
        };
        self.persist.store_received_rdb(ctx, &self.config, &payload);
        // The stream goes on in the database the snapshot says (a chained
        // replica's stream has no SELECT at the snapshot's offset).
        let db = loaded.repl.as_ref().map_or(0, |r| r.stream_db.min(self.dbs.len() - 1));
        let keys = self.install_snapshot(ctx, loaded, false);
        self.persist.last_load = (keys, 0);
        self.log(ctx, '*', &format!("Done loading RDB, keys loaded: {keys}, keys expired: 0."));
        self.repl.replid = replid;
        self.repl.replid2 = ZERO_ID.to_owned();
        self.repl.second_offset = -1;
        self.repl.offset = offset;
        self.repl.create_backlog(self.config.repl_backlog_size);
        self.log(ctx, '*', "MASTER <-> REPLICA sync: Finished with success");
        self.persist.dirty = 0;
        self.link_established(ctx, conn, db, mark.is_some());
        if self.config.appendonly {
            self.start_aof(ctx, false);
        }
    }

    /// Loads a decoded snapshot into the dataset; returns the keys loaded. Logs
    /// the RDB header lines as rdbLoad does.
    pub(crate) fn install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_>,
        loaded: crate::rdb::Loaded,
        drop_expired: bool,
    ) -> u64 {
        let now = ctx.wall_clock_ms();
        self.log(ctx, '*', &format!("Loading RDB produced by version {}", crate::server::VERSION));
        self.log(ctx, '*', &format!("RDB age {} seconds", (now / 1000 - loaded.ctime).max(0)));
        self.log(ctx, '*', &format!("RDB memory usage when created {:.2} Mb", loaded.used_mem as f64 / 1048576.0));
        self.load_rdb_functions(ctx, &loaded.functions);
        for (i, db) in self.dbs.iter().enumerate() {
            self.feed.watch.flushing(i, db);
        }
        // The clients blocked on each database's keys stay blocked on them.
        let blocking: Vec<_> = self.dbs.iter_mut().map(|d| std::mem::take(&mut d.blocking)).collect();
        let limits = self.config.encodings;
        self.dbs = (0..self.config.databases).map(|_| Db { limits, ..Db::default() }).collect();
        let mut keys = 0u64;
        for (i, mut db) in loaded.dbs {
            if i >= self.dbs.len() {
                continue;
            }
            if drop_expired {
                let expired: Vec<Vec<u8>> =
                    db.expires.iter().filter(|&(_, &at)| at < now).map(|(k, _)| k.clone()).collect();
                for k in expired {
                    db.remove(&k);
                }
            }
            keys += db.keys.len() as u64;
            self.dbs[i] = db;
        }
        for (db, blocking) in self.dbs.iter_mut().zip(blocking) {
            db.blocking = blocking;
        }
        keys
    }

    /// Applies every complete command of the master's stream, forwarding it verbatim to sub-replicas.
    fn apply_master_stream(&mut self, ctx: &mut Ctx<'_>) {
        let Link::Connected { conn, parser, .. } = &mut self.repl.link else { return };
        let conn = *conn;
        // The parser is taken out of the link while its commands run, so they
        // can borrow their arguments from it instead of copying them.
        let mut parser = std::mem::take(parser);
        if let Link::Connected { db, .. } = &self.repl.link
            && let Some(db) = self.dbs.get(*db)
        {
            crate::warm::warm_keys(db, parser.ahead());
        }
        loop {
            match parser.next_command(false) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.log(ctx, '#', &format!("Protocol error from master: {}", e.reply_text()));
                    self.master_link_closed(ctx);
                    return;
                }
            }
            let Link::Connected { db, .. } = &self.repl.link else { return };
            let mut db_now = *db;
            let args = parser.args();
            let mut name_buf = [0u8; crate::commands::NAME_MAX];
            let name = crate::commands::lowercase_name(&args[0], &mut name_buf);
            // The master's commands are calls on the replica (total_commands_processed,
            // commandstats), all but its REPLCONF GETACKs (measured on 7.0.15).
            let command = crate::command_table::lookup(name);
            if name != "replconf"
                && let Some(command) = command
            {
                self.commands_processed += 1;
                self.slowlog.count(command, args, 0);
            }
            match name {
                "ping" | "multi" | "exec" => {}
                "publish" if args.len() == 3 => {
                    self.pubsub.publish_to(ctx, &args[1], &args[2], |ctx, c, b| self.outputs.write(ctx, c, b));
                }
                "select" => {
                    if let Some(n) = crate::commands::parse_int(args.get(1).map_or(&[][..], |a| a)) {
                        db_now = (n.max(0) as usize).min(self.dbs.len() - 1);
                    }
                }
                "function" => {
                    self.function_from_master(ctx, args);
                    self.persist.feed_aof_command(ctx, &self.config, db_now, args);
                }
                "replconf" => {
                    if args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"getack")) {
                        let mut ack = Vec::new();
                        let off = self.repl.offset.to_string();
                        resp::encode_command(&[b"REPLCONF".as_slice(), b"ACK", off.as_bytes()], &mut ack);
                        self.outputs.send_to_master(ctx, conn, &ack);
                    }
                }
                _ => {
                    if let Some(command) = command {
                        let mut x = Exec::new(&mut self.dbs, &mut self.feed, false, db_now, STREAM_CLOCK_MS);
                        x.clock_ms = ctx.wall_clock_ms();
                        x.obey = true;
                        crate::commands::keyspace(command, args, &mut x);
                        self.persist.dirty += x.dirty;
                        self.persist.feed_aof_command(ctx, &self.config, db_now, args);
                        if !self.feed.events.is_empty() {
                            self.publish_events(ctx);
                        }
                    }
                }
            }
            if let Link::Connected { db, .. } = &mut self.repl.link {
                *db = db_now;
            }
            // The stream is forwarded byte for byte: sub-replicas share this node's offsets.
            if let Some(raw) = parser.raw_command() {
                self.proxy_stream(raw);
            } else {
                let mut bytes = std::mem::take(&mut self.repl.scratch);
                bytes.clear();
                resp::encode_command(args, &mut bytes);
                self.proxy_stream(&bytes);
                self.repl.scratch = bytes;
            }
            if let Link::Connected { fed, .. } = &self.repl.link {
                assert!(
                    self.repl.offset <= *fed,
                    "a replica applied its master's stream up to offset {}, beyond the {fed} it received",
                    self.repl.offset
                );
            }
        }
        if let Link::Connected { conn: c, parser: slot, .. } = &mut self.repl.link
            && *c == conn
        {
            *slot = parser;
        }
    }

    fn proxy_stream(&mut self, bytes: &[u8]) {
        if self.repl.backlog.is_none() {
            self.repl.create_backlog(self.config.repl_backlog_size);
        }
        if let Some(b) = &mut self.repl.backlog {
            b.append(bytes);
        }
        self.repl.offset += bytes.len() as i64;
        self.repl.out_pending |= buffer_for_replicas(&mut self.clients, &self.outputs, bytes);
    }

    /// `replicationCron`, every second.
    pub(crate) fn replication_cron(&mut self, ctx: &mut Ctx<'_>) {
        self.update_failover_status(ctx);
        let now = ctx.wall_clock_ms();
        let timeout = self.config.repl_timeout as i64 * 1000;
        if let Some(m) = self.repl.master.clone() {
            match &self.repl.link {
                Link::Connect => {
                    self.log(ctx, '*', &format!("Connecting to MASTER {}:{}", m.host, m.port));
                    self.connect_to_master(ctx);
                }
                Link::Connecting(_) | Link::Handshake(..) if now - self.repl.link_started_ms > timeout => {
                    self.log(ctx, '#', "Timeout connecting to the MASTER...");
                    self.handshake_failed(ctx, false);
                }
                Link::Transfer { .. } if now - self.repl.last_io_ms > timeout => {
                    self.log(ctx, '#', "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                    self.handshake_failed(ctx, false);
                }
                Link::Connected { conn, .. } => {
                    let conn = *conn;
                    if now - self.repl.last_io_ms > timeout {
                        self.log(ctx, '#', "MASTER timeout: no data nor PING received...");
                        ctx.close(conn);
                        self.master_link_closed(ctx);
                    } else {
                        let mut ack = Vec::new();
                        let off = self.repl.offset.to_string();
                        resp::encode_command(&[b"REPLCONF".as_slice(), b"ACK", off.as_bytes()], &mut ack);
                        self.outputs.send_to_master(ctx, conn, &ack);
                    }
                }
                _ => {}
            }
        }
        let has_replicas = self.clients.values().any(|c| c.replica.is_some());
        let period = self.config.repl_ping_replica_period.max(1);
        // A master paused for a manual failover (or a FAILOVER with a TIMEOUT) keeps its offset still.
        let paused = self.writes_paused(now) || self.failover.stops_pings();
        if self.repl.master.is_none() && has_replicas && self.repl.cron_loops.is_multiple_of(period) && !paused {
            self.feed_replicas(None, b"*1\r\n$4\r\nPING\r\n");
        }
        let timed_out: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.replica.as_ref().is_some_and(|r| r.online() && now - r.ack_ms > timeout))
            .map(|(k, _)| *k)
            .collect();
        if !timed_out.is_empty() {
            self.flush_replica_output(ctx);
        }
        for conn in timed_out {
            if let Some(c) = self.clients.remove(&conn) {
                let addr = c.replica.as_ref().map(|r| peer_addr(&c, r)).unwrap_or_default();
                self.log(ctx, '#', &format!("Disconnecting timedout replica (streaming sync): {addr}"));
                ctx.close(conn);
            }
        }
        if self.clients.values().any(|c| c.replica.is_some()) {
            self.repl.no_replicas_since_ms = now;
        } else if self.repl.master.is_none()
            && self.repl.backlog.is_some()
            && now - self.repl.no_replicas_since_ms > self.config.repl_backlog_ttl as i64 * 1000
            && self.config.repl_backlog_ttl > 0
        {
            self.repl.replid = common::ids::random_hex40(ctx);
            self.repl.replid2 = ZERO_ID.to_owned();
            self.repl.second_offset = -1;
            self.repl.backlog = None;
            let msg = format!(
                "Replication backlog freed after {} seconds without connected replicas.",
                self.config.repl_backlog_ttl
            );
            self.log(ctx, '*', &msg);
        }
        if !self.persist.child_running() {
            let waiting: Vec<i64> = self
                .clients
                .values()
                .filter_map(|c| c.replica.as_ref())
                .filter(|r| r.state == PeerState::WaitBgsave)
                .map(|r| r.asked_ms)
                .collect();
            let delay = self.config.repl_diskless_sync_delay as i64 * 1000;
            let max = self.config.repl_diskless_sync_max_replicas;
            let oldest = waiting.iter().min().copied();
            if let Some(oldest) = oldest
                && (!self.config.repl_diskless_sync
                    || now - oldest >= delay
                    || (max > 0 && waiting.len() as u64 >= max))
            {
                self.start_sync_child(ctx);
            }
        }
        self.refresh_good_replicas(now);
        self.repl.cron_loops += 1;
    }

    /// INFO replication, fields in Redis's order.
    pub(crate) fn info_replication(&self, now_ms: i64) -> String {
        use std::fmt::Write as _;
        let r = &self.repl;
        let mut s = String::from("# Replication\r\n");
        match &r.master {
            None => s.push_str("role:master\r\n"),
            Some(m) => {
                let up = r.link_up();
                let _ = write!(s, "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\n", m.host, m.port);
                let _ = write!(s, "master_link_status:{}\r\n", if up { "up" } else { "down" });
                let last_io = if up { (now_ms - r.last_io_ms).max(0) / 1000 } else { -1 };
                let _ = write!(s, "master_last_io_seconds_ago:{last_io}\r\n");
                let syncing = matches!(r.link, Link::Transfer { .. });
                let _ = write!(s, "master_sync_in_progress:{}\r\n", u8::from(syncing));
                let off = if up { r.offset } else { r.cached.as_ref().map_or(1, |(_, o)| *o) };
                let _ = write!(s, "slave_read_repl_offset:{off}\r\nslave_repl_offset:{off}\r\n");
                if let Link::Transfer { payload, len, .. } = &r.link {
                    let total = len.map_or(-1, |n| n as i64);
                    let read = payload.len() as i64;
                    let perc = if total > 0 { read as f64 * 100.0 / total as f64 } else { 0.0 };
                    let _ = write!(
                        s,
                        "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\n\
                         master_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                        total - read,
                        (now_ms - r.last_io_ms).max(0) / 1000
                    );
                }
                if !up {
                    let since = r.link_down_since_ms.map_or(-1, |t| (now_ms - t).max(0) / 1000);
                    let _ = write!(s, "master_link_down_since_seconds:{since}\r\n");
                }
                let _ = write!(
                    s,
                    "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                    self.config.replica_priority,
                    u8::from(self.config.replica_read_only),
                    u8::from(self.config.replica_announced)
                );
            }
        }
        let replicas: Vec<(&Client, &ReplicaPeer)> =
            self.clients.values().filter_map(|c| c.replica.as_ref().map(|r| (c, r))).collect();
        let _ = write!(s, "connected_slaves:{}\r\n", replicas.len());
        if self.config.min_replicas_to_write > 0 && r.master.is_none() {
            let _ = write!(s, "min_slaves_good_slaves:{}\r\n", r.good_replicas);
        }
        for (i, (c, peer)) in replicas.iter().enumerate() {
            let state = match peer.state {
                PeerState::WaitBgsave => "wait_bgsave",
                PeerState::SendBulk => "send_bulk",
                PeerState::Online => "online",
            };
            let _ = write!(
                s,
                "slave{i}:ip={},port={},state={state},offset={},lag={}\r\n",
                c.peer.ip(),
                peer.port,
                peer.ack_offset,
                (now_ms - peer.ack_ms).max(0) / 1000
            );
        }
        let (active, size, first, histlen) = match &r.backlog {
            Some(b) => (1, b.size, b.first, b.data.len()),
            None => (0, self.config.repl_backlog_size.max(BACKLOG_MIN) as usize, 0, 0),
        };
        let _ = write!(
            s,
            "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\n\
             second_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{size}\r\n\
             repl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
            self.failover.state_name(),
            r.replid,
            r.replid2,
            r.offset,
            r.second_offset
        );
        s
    }

    /// After loading an RDB at start: a replica synthesizes a cached master from
    /// it; a master keeps the old history as its secondary id.
    pub(crate) fn restore_replication_info(&mut self, ctx: &mut Ctx<'_>, info: &crate::rdb::ReplInfo) {
        if self.repl.master.is_some() {
            self.repl.replid = info.replid.clone();
            self.repl.offset = info.offset;
            self.log(ctx, '*', "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
            self.repl.cached = Some((info.replid.clone(), info.offset));
            self.repl.cached_db = info.stream_db.min(self.dbs.len() - 1);
        } else {
            self.repl.replid2 = info.replid.clone();
            self.repl.second_offset = info.offset + 1;
            self.repl.offset = info.offset;
            self.repl.create_backlog(self.config.repl_backlog_size);
        }
    }
}

fn take_line(buf: &mut Vec<u8>) -> Option<String> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let mut line: Vec<u8> = buf.drain(..=nl).collect();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}
