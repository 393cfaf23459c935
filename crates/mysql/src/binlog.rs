//! Binlog events in MariaDB 10.11's layout (measured with `xxd` on files
//! written by mariadbd 10.11.19: every event has a 19-byte header and a CRC32
//! checksum), and the binlog itself: `<log-bin>.000001`, ... plus
//! `<log-bin>.index` on the node's disk.
//!
//! A fresh file is the magic `\xfebin`, a Format_description event (252
//! bytes), an empty Gtid_list (29) and a Binlog_checkpoint (48 with a
//! 21-character name): 333 bytes, as `SHOW MASTER STATUS` shows on a fresh
//! MariaDB 10.11. A statement is a Gtid event (42) and a Query event; a
//! transactional one ends with an Xid event (31).

use crate::packet::Reader;

/// `\xfebin`.
pub const MAGIC: &[u8] = b"\xfebin";
/// Event type codes.
pub mod kind {
    /// QUERY_EVENT.
    pub const QUERY: u8 = 2;
    /// STOP_EVENT.
    pub const STOP: u8 = 3;
    /// ROTATE_EVENT.
    pub const ROTATE: u8 = 4;
    /// INTVAR_EVENT.
    pub const INTVAR: u8 = 5;
    /// FORMAT_DESCRIPTION_EVENT.
    pub const FORMAT_DESCRIPTION: u8 = 15;
    /// XID_EVENT.
    pub const XID: u8 = 16;
    /// BINLOG_CHECKPOINT_EVENT.
    pub const BINLOG_CHECKPOINT: u8 = 161;
    /// GTID_EVENT.
    pub const GTID: u8 = 162;
    /// GTID_LIST_EVENT.
    pub const GTID_LIST: u8 = 163;
}

/// The Format_description event's body after the server version and
/// timestamp: header length 19, the post-header lengths of every event type,
/// and the checksum algorithm (1, CRC32), copied from a MariaDB 10.11 binlog.
const FDE_TAIL: &str = "13380d000800120004040404120000e400041a08000000080808020000000a0a0a0000000000000a0a0a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000041304000d0808080a0a0a01";

/// The status variables of a Query event from a client on MariaDB 10.11's
/// defaults: flags2 0, sql_mode (STRICT_TRANS_TABLES, ERROR_FOR_DIVISION_BY_ZERO,
/// NO_AUTO_CREATE_USER, NO_ENGINE_SUBSTITUTION), catalog "std", charsets
/// latin1 client/connection 33 (utf8) and server 8.
const QUERY_STATUS: [u8; 26] =
    [0, 0, 0, 0, 0, 1, 0, 0, 0x20, 0x54, 0, 0, 0, 0, 6, 3, b's', b't', b'd', 4, 0x21, 0, 0x21, 0, 8, 0];

/// `LOG_EVENT_BINLOG_IN_USE_F`.
const IN_USE: u16 = 1;
/// `LOG_EVENT_SUPPRESS_USE_F`.
const SUPPRESS_USE: u16 = 8;

/// What an event's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Seconds since the epoch on the writing server.
    pub timestamp: u32,
    /// Event type.
    pub kind: u8,
    /// The server that wrote it first.
    pub server_id: u32,
    /// Where the event ends in its file.
    pub log_pos: u32,
}

/// An event with its body, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are named as the protocol and the statements name them
pub enum Body {
    /// A statement: the connection's thread id, default database, text.
    Query { thread_id: u32, db: String, query: String },
    /// A transaction's commit.
    Xid(u64),
    /// A group's GTID: sequence number and whether it is a standalone (DDL) group.
    Gtid { seq: u64, standalone: bool },
    /// INSERT_ID for the next statement.
    InsertId(u64),
    /// The next events come from `file`, at `pos`.
    Rotate { pos: u64, file: String },
    /// Any other event (format description, gtid list, checkpoint, stop).
    Other,
}

/// Encodes one event whose header says `kind` and that ends at `end` once
/// written (the caller knows where it starts), with its checksum.
pub fn event(h: Header, flags: u16, body: &[u8]) -> Vec<u8> {
    let size = (19 + body.len() + 4) as u32;
    let mut e = Vec::with_capacity(size as usize);
    e.extend_from_slice(&h.timestamp.to_le_bytes());
    e.push(h.kind);
    e.extend_from_slice(&h.server_id.to_le_bytes());
    e.extend_from_slice(&size.to_le_bytes());
    e.extend_from_slice(&h.log_pos.to_le_bytes());
    e.extend_from_slice(&flags.to_le_bytes());
    e.extend_from_slice(body);
    let crc = crc32fast::hash(&e);
    e.extend_from_slice(&crc.to_le_bytes());
    e
}

/// The size an event with a body of `body` bytes takes.
pub fn size(body: usize) -> u32 {
    (19 + body + 4) as u32
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// The Format_description event's body.
pub fn fde_body(timestamp: u32) -> Vec<u8> {
    let mut b = 4u16.to_le_bytes().to_vec();
    let mut version = crate::SERVER_VERSION.as_bytes().to_vec();
    version.resize(50, 0);
    b.extend_from_slice(&version);
    b.extend_from_slice(&timestamp.to_le_bytes());
    b.extend_from_slice(&hex(FDE_TAIL));
    b
}

/// A Query event's body.
/// `invoker` is the account a GRANT ran as: MariaDB adds it as Q_INVOKER
/// (code 11, length-prefixed user and host).
/// `xid`, for DDL MariaDB 10.11 makes crash-safe (CREATE/DROP TABLE), is Q_XID (code 129).
pub fn query_body(
    thread_id: u32,
    db: &str,
    query: &str,
    invoker: Option<&(String, String)>,
    xid: Option<u64>,
) -> Vec<u8> {
    let mut status = QUERY_STATUS.to_vec();
    if let Some(xid) = xid {
        status.push(129);
        status.extend_from_slice(&xid.to_le_bytes());
    }
    if let Some((user, host)) = invoker {
        status.push(11);
        status.push(user.len() as u8);
        status.extend_from_slice(user.as_bytes());
        status.push(host.len() as u8);
        status.extend_from_slice(host.as_bytes());
    }
    let mut b = thread_id.to_le_bytes().to_vec();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(db.len() as u8);
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(status.len() as u16).to_le_bytes());
    b.extend_from_slice(&status);
    b.extend_from_slice(db.as_bytes());
    b.push(0);
    b.extend_from_slice(query.as_bytes());
    b
}

/// A Gtid event's body (domain 0): standalone DDL groups carry flags
/// STANDALONE|ALLOW_PARALLEL|DDL (0x29), transactions TRANSACTIONAL|ALLOW_PARALLEL (0x0c).
pub fn gtid_body(seq: u64, standalone: bool) -> Vec<u8> {
    let mut b = seq.to_le_bytes().to_vec();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(if standalone { 0x29 } else { 0x0c });
    b.extend_from_slice(&[0; 6]);
    b
}

/// Decodes an event (with its checksum); `None` if malformed.
pub fn decode(e: &[u8]) -> Option<(Header, Body)> {
    let mut r = Reader::new(e);
    let timestamp = r.u32()?;
    let kind = r.u8()?;
    let server_id = r.u32()?;
    let size = r.u32()? as usize;
    let log_pos = r.u32()?;
    r.u16()?;
    if size != e.len() || size < 23 {
        return None;
    }
    let mut body = Reader::new(&e[19..size - 4]);
    let decoded = match kind {
        kind::QUERY => {
            let thread_id = body.u32()?;
            body.u32()?;
            let db_len = body.u8()? as usize;
            body.u16()?;
            let status_len = body.u16()? as usize;
            body.take(status_len)?;
            let db = String::from_utf8_lossy(body.take(db_len)?).into_owned();
            body.u8()?;
            Body::Query { thread_id, db, query: String::from_utf8_lossy(body.rest()).into_owned() }
        }
        kind::XID => Body::Xid(body.u64()?),
        kind::GTID => {
            let seq = body.u64()?;
            body.u32()?;
            Body::Gtid { seq, standalone: body.u8()? & 1 != 0 }
        }
        kind::INTVAR => {
            body.u8()?;
            Body::InsertId(body.u64()?)
        }
        kind::ROTATE => Body::Rotate { pos: body.u64()?, file: String::from_utf8_lossy(body.rest()).into_owned() },
        _ => Body::Other,
    };
    Some((Header { timestamp, kind, server_id, log_pos }, decoded))
}

/// A statement as the binlog records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// The server that executed it first.
    pub server_id: u32,
    /// Its timestamp (seconds).
    pub timestamp: u32,
    /// The connection's thread id.
    pub thread_id: u32,
    /// Default database.
    pub db: String,
    /// Statement text.
    pub query: String,
    /// INSERT_ID to log before it, if AUTO_INCREMENT generated one.
    pub insert_id: Option<u64>,
    /// The account a GRANT ran as (user, host), logged as Q_INVOKER.
    pub invoker: Option<(String, String)>,
    /// CREATE/DROP DATABASE: MariaDB flags these LOG_EVENT_SUPPRESS_USE_F
    /// (their `db` is the database itself, not a `USE`).
    pub suppress_use: bool,
    /// DDL logged with Q_XID (CREATE TABLE, DROP TABLE).
    pub ddl_xid: bool,
    /// Whether it is transactional (DML: Gtid, [Intvar], Query, Xid) or a standalone DDL group.
    pub transactional: bool,
}

/// The binary log: its files and the current position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binlog {
    /// The base name (`log-bin`).
    pub base: String,
    /// File names in order, as the index lists them.
    pub files: Vec<String>,
    /// The current file's bytes (also on disk).
    pub current: Vec<u8>,
    /// The last GTID sequence number written.
    pub gtid_seq: u64,
    /// The server id of the last GTID written.
    pub gtid_server: u32,
    /// The next Xid.
    pub xid: u64,
}

impl Binlog {
    /// The current file's name.
    pub fn file(&self) -> &str {
        self.files.last().map_or("", String::as_str)
    }

    /// Where the next event will start.
    pub fn position(&self) -> u64 {
        self.current.len() as u64
    }

    /// Starts file number `files.len() + 1`: magic, format description,
    /// gtid list, checkpoint. Returns the new file's name and bytes written.
    pub fn open_next(&mut self, server_id: u32, timestamp: u32) -> String {
        let name = format!("{}.{:06}", self.base, self.files.len() + 1);
        self.files.push(name.clone());
        self.current = MAGIC.to_vec();
        let fde = fde_body(timestamp);
        self.push(Header { timestamp, kind: kind::FORMAT_DESCRIPTION, server_id, log_pos: 0 }, IN_USE, &fde);
        self.push(Header { timestamp, kind: kind::GTID_LIST, server_id, log_pos: 0 }, 0, &self.gtid_list());
        let mut cp = (name.len() as u32).to_le_bytes().to_vec();
        cp.extend_from_slice(name.as_bytes());
        self.push(Header { timestamp, kind: kind::BINLOG_CHECKPOINT, server_id, log_pos: 0 }, 0, &cp);
        name
    }

    /// The Gtid_list body: as measured, six zero bytes when no GTID was ever
    /// written; else a count of 1 and the last GTID (domain 0, server, seq).
    fn gtid_list(&self) -> Vec<u8> {
        if self.gtid_seq == 0 {
            return vec![0; 6];
        }
        let mut b = 1u32.to_le_bytes().to_vec();
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&self.gtid_server.to_le_bytes());
        b.extend_from_slice(&self.gtid_seq.to_le_bytes());
        b
    }

    /// Appends one event (its log_pos computed here); returns its bytes.
    fn push(&mut self, mut h: Header, flags: u16, body: &[u8]) -> Vec<u8> {
        h.log_pos = (self.current.len() as u32) + size(body.len());
        let e = event(h, flags, body);
        self.current.extend_from_slice(&e);
        e
    }

    /// Writes one group (a DDL statement alone, or a transaction's
    /// statements): Gtid, then each statement's Intvar and Query, then an Xid
    /// if the group is transactional. Returns the events' bytes in order.
    pub fn log(&mut self, group: &[Logged]) -> Vec<Vec<u8>> {
        let Some(first) = group.first() else { return Vec::new() };
        self.gtid_seq += 1;
        self.gtid_server = first.server_id;
        let h = |kind, s: &Logged| Header { timestamp: s.timestamp, kind, server_id: s.server_id, log_pos: 0 };
        let mut out =
            vec![self.push(h(kind::GTID, first), SUPPRESS_USE, &gtid_body(self.gtid_seq, !first.transactional))];
        for s in group {
            if let Some(id) = s.insert_id {
                let mut b = vec![2u8];
                b.extend_from_slice(&id.to_le_bytes());
                out.push(self.push(h(kind::INTVAR, s), 0, &b));
            }
            let flags = if s.suppress_use { SUPPRESS_USE } else { 0 };
            let xid = s.ddl_xid.then(|| {
                self.xid += 1;
                self.xid
            });
            out.push(self.push(
                h(kind::QUERY, s),
                flags,
                &query_body(s.thread_id, &s.db, &s.query, s.invoker.as_ref(), xid),
            ));
        }
        if first.transactional {
            self.xid += 1;
            out.push(self.push(h(kind::XID, first), 0, &self.xid.to_le_bytes()));
        }
        out
    }

    /// Events of the current file from `pos` on (whole events only).
    pub fn events_from(&self, pos: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = pos as usize;
        while at + 19 <= self.current.len() {
            let size = u32::from_le_bytes([
                self.current[at + 9],
                self.current[at + 10],
                self.current[at + 11],
                self.current[at + 12],
            ]) as usize;
            if size < 19 || at + size > self.current.len() {
                break;
            }
            out.push(self.current[at..at + size].to_vec());
            at += size;
        }
        out
    }

    /// A Rotate event as the master sends it first in a dump (timestamp 0, log_pos 0).
    pub fn fake_rotate(server_id: u32, file: &str, pos: u64) -> Vec<u8> {
        let mut b = pos.to_le_bytes().to_vec();
        b.extend_from_slice(file.as_bytes());
        event(Header { timestamp: 0, kind: kind::ROTATE, server_id, log_pos: 0 }, 0x20, &b)
    }

    /// The format description event of the current file.
    pub fn fde(&self) -> Vec<u8> {
        self.events_from(4).into_iter().next().unwrap_or_default()
    }
}

/// Whether the event's header has LOG_EVENT_SUPPRESS_USE_F.
fn suppress_use(e: &[u8]) -> bool {
    e.get(17..19).is_some_and(|f| u16::from_le_bytes([f[0], f[1]]) & SUPPRESS_USE != 0)
}

/// SHOW BINLOG EVENTS' Event_type and Info for an event, as MariaDB 10.11 prints them.
pub fn describe(e: &[u8], h: &Header, body: &Body) -> (&'static str, String) {
    match (h.kind, body) {
        (kind::FORMAT_DESCRIPTION, _) => {
            ("Format_desc", format!("Server ver: {}, Binlog ver: 4", crate::SERVER_VERSION))
        }
        (kind::GTID_LIST, _) => {
            let mut r = Reader::new(e.get(19..).unwrap_or_default());
            let count = r.u32().unwrap_or(0) & 0x0fff_ffff;
            let mut list = Vec::new();
            for _ in 0..count {
                let (Some(domain), Some(server), Some(seq)) = (r.u32(), r.u32(), r.u64()) else { break };
                list.push(format!("{domain}-{server}-{seq}"));
            }
            ("Gtid_list", format!("[{}]", list.join(",")))
        }
        (kind::BINLOG_CHECKPOINT, _) => {
            let name = e.get(23..e.len().saturating_sub(4)).unwrap_or_default();
            ("Binlog_checkpoint", String::from_utf8_lossy(name).into_owned())
        }
        (_, Body::Gtid { seq, standalone }) => {
            ("Gtid", format!("{}GTID 0-{}-{seq}", if *standalone { "" } else { "BEGIN " }, h.server_id))
        }
        (_, Body::Query { db, query, .. }) if db.is_empty() || suppress_use(e) => ("Query", query.clone()),
        (_, Body::Query { db, query, .. }) => ("Query", format!("use `{db}`; {query}")),
        (_, Body::Xid(x)) => ("Xid", format!("COMMIT /* xid={x} */")),
        (_, Body::InsertId(id)) => ("Intvar", format!("INSERT_ID={id}")),
        (_, Body::Rotate { pos, file }) => ("Rotate", format!("{file};pos={pos}")),
        (kind::STOP, _) => ("Stop", String::new()),
        _ => ("Unknown", String::new()),
    }
}
