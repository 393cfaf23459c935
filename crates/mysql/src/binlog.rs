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
//!
//! MySQL 5.7 (the `mysql-5.7` flavor) lays out the same header and checksum
//! but other events, as its documented binlog format (libbinlogevents) has
//! them: a fresh file is the magic, a Format_description event of 119 bytes
//! (its table of post-header lengths covers 38 event types) and an empty
//! Previous_gtids (31): 154. Every group starts with an Anonymous_Gtid (65:
//! flags, a zero SID and GNO, the logical clock's last_committed and
//! sequence_number); a transaction continues with a Query `BEGIN`, its
//! statements (or Table_map and v2 rows events) and an Xid. Query events
//! carry Q_UPDATED_DB_NAMES for the database a statement touches, and
//! Q_INVOKER for account statements (CREATE USER, GRANT): with the seed's
//! CREATE USER and GRANT on a fresh master that makes 617.

use crate::engine::{ColumnType, RowChange, Value};
use crate::flavor::Flavor;
use crate::packet::{self, Reader};
use std::rc::Rc;

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
    /// ANNOTATE_ROWS_EVENT.
    pub const ANNOTATE_ROWS: u8 = 160;
    /// TABLE_MAP_EVENT.
    pub const TABLE_MAP: u8 = 19;
    /// WRITE_ROWS_EVENT_V1.
    pub const WRITE_ROWS: u8 = 23;
    /// UPDATE_ROWS_EVENT_V1.
    pub const UPDATE_ROWS: u8 = 24;
    /// DELETE_ROWS_EVENT_V1.
    pub const DELETE_ROWS: u8 = 25;
    /// WRITE_ROWS_EVENT (v2, MySQL 5.7).
    pub const WRITE_ROWS_V2: u8 = 30;
    /// UPDATE_ROWS_EVENT (v2, MySQL 5.7).
    pub const UPDATE_ROWS_V2: u8 = 31;
    /// DELETE_ROWS_EVENT (v2, MySQL 5.7).
    pub const DELETE_ROWS_V2: u8 = 32;
    /// GTID_LOG_EVENT (MySQL 5.7).
    pub const MYSQL_GTID: u8 = 33;
    /// ANONYMOUS_GTID_LOG_EVENT (MySQL 5.7).
    pub const ANONYMOUS_GTID: u8 = 34;
    /// PREVIOUS_GTIDS_LOG_EVENT (MySQL 5.7).
    pub const PREVIOUS_GTIDS: u8 = 35;

    /// A rows event's v1 code (v2 codes map to theirs).
    pub fn v1(kind: u8) -> u8 {
        if (WRITE_ROWS_V2..=DELETE_ROWS_V2).contains(&kind) { kind - 7 } else { kind }
    }

    /// A rows event's v2 code (v1 codes map to theirs).
    pub fn v2(kind: u8) -> u8 {
        if (WRITE_ROWS..=DELETE_ROWS).contains(&kind) { kind + 7 } else { kind }
    }
}

/// A table as Table_map and rows events describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDesc {
    /// The table's id in Table_map and rows events.
    pub table_id: u64,
    /// Its database.
    pub db: String,
    /// Its name.
    pub table: String,
    /// Its column types and whether each is nullable.
    pub columns: Vec<(ColumnType, bool)>,
    /// Its Table_map event's body (written once, logged before each rows event).
    map_body: Vec<u8>,
}

impl TableDesc {
    /// The table `db.table` with id `table_id` and these columns.
    pub fn new(table_id: u64, db: String, table: String, columns: Vec<(ColumnType, bool)>) -> TableDesc {
        let mut desc = TableDesc { table_id, db, table, columns, map_body: Vec::new() };
        let mut body = Vec::new();
        table_map_body(&desc, &mut body);
        desc.map_body = body;
        desc
    }
}

/// The row images of one statement on one table, for row-based logging:
/// each change is written, updated or deleted by its shape (no before: a
/// write; both: an update; no after: a delete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowsImage {
    /// The table (shared by the images of its statements).
    pub table: Rc<TableDesc>,
    /// The rows.
    pub changes: Rc<Vec<RowChange>>,
}

/// A Table_map event's contents: what decoding rows events needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMap {
    /// The table id.
    pub table_id: u64,
    /// Database.
    pub db: String,
    /// Table.
    pub table: String,
    /// Column type codes (3 LONG, 8 LONGLONG, 15 VARCHAR).
    pub types: Vec<u8>,
    /// Per column: VARCHAR's maximum length in bytes, else 0.
    pub max_len: Vec<u16>,
}

fn type_code(t: ColumnType) -> (u8, Option<u16>) {
    match t {
        ColumnType::Int => (3, None),
        ColumnType::BigInt => (8, None),
        ColumnType::Varchar(n) => (15, Some(n.min(65535) as u16)),
    }
}

/// Writes a Table_map event's body.
fn table_map_body(img: &TableDesc, b: &mut Vec<u8>) {
    b.extend_from_slice(&img.table_id.to_le_bytes()[..6]);
    b.extend_from_slice(&1u16.to_le_bytes());
    for name in [&img.db, &img.table] {
        b.push(name.len() as u8);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    }
    crate::packet::put_lenenc(b, img.columns.len() as u64);
    let mut meta_len = 0;
    for (t, _) in &img.columns {
        let (code, m) = type_code(*t);
        b.push(code);
        meta_len += m.map_or(0, |_| 2);
    }
    crate::packet::put_lenenc(b, meta_len);
    for (t, _) in &img.columns {
        if let (_, Some(m)) = type_code(*t) {
            b.extend_from_slice(&m.to_le_bytes());
        }
    }
    put_bitmap(b, img.columns.iter().map(|(_, n)| *n), false);
}

/// Appends a bitmap of `bits`; `pad` sets the unused high bits (as row images' null bitmaps have them).
fn put_bitmap(out: &mut Vec<u8>, bits: impl ExactSizeIterator<Item = bool>, pad: bool) {
    let (start, n) = (out.len(), bits.len());
    out.resize(start + n.div_ceil(8), 0);
    for (i, b) in bits.enumerate() {
        if b {
            out[start + i / 8] |= 1 << (i % 8);
        }
    }
    if pad && !n.is_multiple_of(8) {
        let last = out.len() - 1;
        out[last] |= 0xffu8 << (n % 8);
    }
}

fn row_image(columns: &[(ColumnType, bool)], row: &[Value], out: &mut Vec<u8>) {
    put_bitmap(out, row.iter().map(|v| *v == Value::Null), true);
    for ((t, _), v) in columns.iter().zip(row) {
        match (t, v) {
            (_, Value::Null) => {}
            (ColumnType::Int, Value::Int(i)) => out.extend_from_slice(&(*i as i32).to_le_bytes()),
            (ColumnType::BigInt, Value::Int(i)) => out.extend_from_slice(&i.to_le_bytes()),
            (ColumnType::Varchar(n), v) => {
                let text = match v {
                    Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                    other => std::borrow::Cow::Owned(other.text().unwrap_or_default()),
                };
                if *n < 256 {
                    out.push(text.len() as u8);
                } else {
                    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
                }
                out.extend_from_slice(text.as_bytes());
            }
            (_, v) => {
                out.extend_from_slice(&(v.text().unwrap_or_default().parse::<i64>().unwrap_or(0)).to_le_bytes()[..4])
            }
        }
    }
}

/// Writes a rows event's body.
/// The body of one rows event: `run`, changes of one kind (`kind`), with
/// STMT_END_F when it is the statement's last event.
fn rows_body(img: &RowsImage, run: &[RowChange], kind: u8, last: bool, flavor: Flavor, b: &mut Vec<u8>) {
    let columns = &img.table.columns;
    b.extend_from_slice(&img.table.table_id.to_le_bytes()[..6]);
    b.extend_from_slice(&u16::from(last).to_le_bytes()); // STMT_END_F
    if flavor == Flavor::Mysql57 {
        b.extend_from_slice(&2u16.to_le_bytes()); // v2: extra data, its length counting itself: none
    }
    crate::packet::put_lenenc(b, columns.len() as u64);
    let sets = if kind == kind::UPDATE_ROWS { 2 } else { 1 };
    for _ in 0..sets {
        put_bitmap(b, columns.iter().map(|_| true), false);
    }
    for c in run {
        for image in [&c.before, &c.after].into_iter().flatten() {
            row_image(columns, image, b);
        }
    }
}

/// A change's rows event kind: an insert writes, a change updates, a removal deletes.
fn change_kind(c: &RowChange) -> u8 {
    match (&c.before, &c.after) {
        (None, _) => kind::WRITE_ROWS,
        (Some(_), Some(_)) => kind::UPDATE_ROWS,
        (Some(_), None) => kind::DELETE_ROWS,
    }
}

/// A statement's changes as its rows events: each run of one kind is one
/// event (REPLACE's replaced rows update, its new rows write), in order,
/// with whether it is the last.
fn rows_runs(changes: &[RowChange]) -> impl Iterator<Item = (u8, &[RowChange], bool)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let kind = change_kind(changes.get(start)?);
        let end = start + changes[start..].iter().take_while(|c| change_kind(c) == kind).count();
        let run = &changes[start..end];
        start = end;
        Some((kind, run, end == changes.len()))
    })
}

/// Decodes a rows event's rows with the table map it refers to.
pub fn decode_rows(kind: u8, body: &[u8], map: &TableMap) -> Option<Vec<RowChange>> {
    let mut r = Reader::new(body);
    r.take(6 + 2)?;
    let n = usize::try_from(r.lenenc()?).ok()?;
    if n != map.types.len() {
        return None;
    }
    r.take(n.div_ceil(8))?;
    let kind = kind::v1(kind);
    if kind == kind::UPDATE_ROWS {
        r.take(n.div_ceil(8))?;
    }
    let mut changes = Vec::new();
    while !r.is_empty() {
        let first = read_image(&mut r, map)?;
        changes.push(match kind {
            kind::WRITE_ROWS => RowChange { before: None, after: Some(first) },
            kind::DELETE_ROWS => RowChange { before: Some(first), after: None },
            _ => RowChange { before: Some(first), after: Some(read_image(&mut r, map)?) },
        });
    }
    Some(changes)
}

fn read_image(r: &mut Reader<'_>, map: &TableMap) -> Option<Vec<Value>> {
    let n = map.types.len();
    let nulls = r.take(n.div_ceil(8))?;
    let mut row = Vec::with_capacity(n);
    for i in 0..n {
        if nulls[i / 8] & (1 << (i % 8)) != 0 {
            row.push(Value::Null);
            continue;
        }
        row.push(match map.types[i] {
            3 => Value::Int(r.u32()? as i32 as i64),
            8 => Value::Int(r.u64()? as i64),
            15 => {
                let len = if map.max_len[i] < 256 { r.u8()? as usize } else { r.u16()? as usize };
                Value::Str(packet::text(r.take(len)?).into_owned())
            }
            _ => return None,
        });
    }
    Some(row)
}

fn decode_table_map(body: &mut Reader<'_>) -> Option<TableMap> {
    let id = body.take(6)?;
    let table_id = u64::from_le_bytes([id[0], id[1], id[2], id[3], id[4], id[5], 0, 0]);
    body.u16()?;
    let mut names = Vec::new();
    for _ in 0..2 {
        let len = body.u8()? as usize;
        names.push(String::from_utf8_lossy(body.take(len)?).into_owned());
        body.u8()?;
    }
    let n = usize::try_from(body.lenenc()?).ok()?;
    let types = body.take(n)?.to_vec();
    let meta_len = usize::try_from(body.lenenc()?).ok()?;
    let mut meta = Reader::new(body.take(meta_len)?);
    let mut max_len = Vec::with_capacity(n);
    for t in &types {
        max_len.push(if *t == 15 { meta.u16()? } else { 0 });
    }
    let table = names.pop()?;
    let db = names.pop()?;
    Some(TableMap { table_id, db, table, types, max_len })
}

/// MySQL 5.7's Format_description body after the server version and
/// timestamp: header length 19, the post-header lengths of its 38 event
/// types (START_V3 56, QUERY 13, ROTATE 8, LOAD 18, ..., FORMAT_DESCRIPTION
/// 95, ..., TABLE_MAP 8, rows v1 8, INCIDENT 2, rows v2 10, GTID and
/// ANONYMOUS_GTID 42, TRANSACTION_CONTEXT 18, VIEW_CHANGE 52), and the
/// checksum algorithm (1, CRC32).
const FDE_TAIL_57: [u8; 40] = [
    19, 56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 95, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0, 0, 10, 10, 10, 42,
    42, 0, 18, 52, 0, 1,
];

/// 5.7's Query status variables before the per-statement ones: flags2 0,
/// sql_mode (5.7's default ONLY_FULL_GROUP_BY, STRICT_TRANS_TABLES,
/// NO_ZERO_IN_DATE, NO_ZERO_DATE, ERROR_FOR_DIVISION_BY_ZERO,
/// NO_AUTO_CREATE_USER, NO_ENGINE_SUBSTITUTION), catalog "std", charsets
/// latin1 (8) client, connection and server.
const QUERY_STATUS_57: [u8; 26] =
    [0, 0, 0, 0, 0, 1, 0x20, 0, 0xa0, 0x55, 0, 0, 0, 0, 6, 3, b's', b't', b'd', 4, 8, 0, 8, 0, 8, 0];

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
    /// A group's GTID: sequence number and whether it is a standalone (DDL)
    /// group. MySQL 5.7's Anonymous_Gtid reads as a standalone group of
    /// sequence 0 that a `BEGIN` turns into a transaction.
    Gtid { seq: u64, standalone: bool, ddl: bool },
    /// MySQL 5.7's Query `BEGIN`: the group is a transaction.
    Begin,
    /// INSERT_ID for the next statement.
    InsertId(u64),
    /// The next events come from `file`, at `pos`.
    Rotate { pos: u64, file: String },
    /// The statement that produced the next rows events.
    Annotate(String),
    /// A table map.
    TableMap(Rc<TableMap>),
    /// A rows event: its type and body (decoded against its table map).
    Rows(u8, Vec<u8>),
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
pub fn fde_body(flavor: Flavor, timestamp: u32) -> Vec<u8> {
    let mut b = 4u16.to_le_bytes().to_vec();
    let mut version = flavor.version().as_bytes().to_vec();
    version.resize(50, 0);
    b.extend_from_slice(&version);
    b.extend_from_slice(&timestamp.to_le_bytes());
    match flavor {
        Flavor::Mysql57 => b.extend_from_slice(&FDE_TAIL_57),
        Flavor::Mariadb1011 => b.extend_from_slice(&hex(FDE_TAIL)),
    }
    b
}

/// Writes a MySQL 5.7 Query event's body: `updated_db` is the database the
/// statement touches (Q_UPDATED_DB_NAMES, one name), `invoker` the account
/// an account statement ran as (Q_INVOKER).
pub fn query_body_57(
    b: &mut Vec<u8>,
    (thread_id, db, query): (u32, &str, &str),
    invoker: Option<&(String, String)>,
    updated_db: Option<&str>,
) {
    let at = query_head(b, thread_id, db);
    b.extend_from_slice(&QUERY_STATUS_57);
    put_invoker(b, invoker);
    if let Some(name) = updated_db {
        b.extend_from_slice(&[12, 1]);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    }
    query_tail(b, at, db, query);
}

/// A Query body's fixed part, up to its status variables' length (written
/// as 0: [`query_tail`] patches it). Returns where the status begins.
fn query_head(b: &mut Vec<u8>, thread_id: u32, db: &str) -> usize {
    b.extend_from_slice(&thread_id.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(db.len() as u8);
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.len()
}

/// The status variables' length, then the database and the statement text.
fn query_tail(b: &mut Vec<u8>, status_at: usize, db: &str, query: &str) {
    let len = (b.len() - status_at) as u16;
    b[status_at - 2..status_at].copy_from_slice(&len.to_le_bytes());
    b.extend_from_slice(db.as_bytes());
    b.push(0);
    b.extend_from_slice(query.as_bytes());
}

/// Q_INVOKER (code 11, length-prefixed user and host).
fn put_invoker(b: &mut Vec<u8>, invoker: Option<&(String, String)>) {
    if let Some((user, host)) = invoker {
        b.push(11);
        b.push(user.len() as u8);
        b.extend_from_slice(user.as_bytes());
        b.push(host.len() as u8);
        b.extend_from_slice(host.as_bytes());
    }
}

/// Writes a MySQL 5.7 Anonymous_Gtid event's body: flags (1: may be committed
/// alone), SID and GNO zero, the logical clock type 2 and its timestamps.
pub fn anonymous_gtid_body(b: &mut Vec<u8>, last_committed: u64, sequence_number: u64) {
    b.push(1u8);
    b.extend_from_slice(&[0; 24]);
    b.push(2);
    b.extend_from_slice(&last_committed.to_le_bytes());
    b.extend_from_slice(&sequence_number.to_le_bytes());
}

/// Writes a Query event's body.
/// `invoker` is the account a GRANT ran as: MariaDB adds it as Q_INVOKER
/// (code 11, length-prefixed user and host).
/// `xid`, for DDL MariaDB 10.11 makes crash-safe (CREATE/DROP TABLE), is Q_XID (code 129).
pub fn query_body(
    b: &mut Vec<u8>,
    (thread_id, db, query): (u32, &str, &str),
    invoker: Option<&(String, String)>,
    xid: Option<u64>,
) {
    let at = query_head(b, thread_id, db);
    b.extend_from_slice(&QUERY_STATUS);
    if let Some(xid) = xid {
        b.push(129);
        b.extend_from_slice(&xid.to_le_bytes());
    }
    put_invoker(b, invoker);
    query_tail(b, at, db, query);
}

/// Writes a Gtid event's body (domain 0): standalone DDL groups carry flags
/// STANDALONE|ALLOW_PARALLEL|DDL (0x29), transactions TRANSACTIONAL|ALLOW_PARALLEL (0x0c).
pub fn gtid_body(b: &mut Vec<u8>, seq: u64, standalone: bool, ddl: bool) {
    b.extend_from_slice(&seq.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    // FL_STANDALONE | FL_ALLOW_PARALLEL, with FL_DDL but for FLUSH; a
    // transaction: FL_TRANSACTIONAL | FL_ALLOW_PARALLEL
    b.push(match (standalone, ddl) {
        (true, true) => 0x29,
        (true, false) => 0x09,
        (false, _) => 0x0c,
    });
    b.extend_from_slice(&[0; 6]);
}

/// Decodes an event's header, if the event is whole (its size is its length).
pub fn decode_header(e: &[u8]) -> Option<Header> {
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
    Some(Header { timestamp, kind, server_id, log_pos })
}

/// Decodes an event (with its checksum); `None` if malformed.
pub fn decode(e: &[u8]) -> Option<(Header, Body)> {
    let Header { timestamp, kind, server_id, log_pos } = decode_header(e)?;
    let size = e.len();
    let mut body = Reader::new(&e[19..size - 4]);
    let decoded = match kind {
        kind::QUERY => {
            let thread_id = body.u32()?;
            body.u32()?;
            let db_len = body.u8()? as usize;
            body.u16()?;
            let status_len = body.u16()? as usize;
            body.take(status_len)?;
            let db = body.take(db_len)?;
            body.u8()?;
            match body.rest() {
                b"BEGIN" => Body::Begin,
                q => Body::Query { thread_id, db: packet::text(db).into_owned(), query: packet::text(q).into_owned() },
            }
        }
        kind::ANONYMOUS_GTID | kind::MYSQL_GTID => Body::Gtid { seq: 0, standalone: true, ddl: true },
        kind::WRITE_ROWS_V2 | kind::UPDATE_ROWS_V2 | kind::DELETE_ROWS_V2 => {
            let head = body.take(8)?;
            let extra = body.u16()? as usize;
            body.take(extra.checked_sub(2)?)?;
            let rest = body.rest();
            let mut raw = Vec::with_capacity(head.len() + rest.len());
            raw.extend_from_slice(head);
            raw.extend_from_slice(rest);
            Body::Rows(kind, raw)
        }
        kind::XID => Body::Xid(body.u64()?),
        kind::GTID => {
            let seq = body.u64()?;
            body.u32()?;
            let flags = body.u8()?;
            Body::Gtid { seq, standalone: flags & 1 != 0, ddl: flags & 0x20 != 0 }
        }
        kind::INTVAR => {
            body.u8()?;
            Body::InsertId(body.u64()?)
        }
        kind::ROTATE => Body::Rotate { pos: body.u64()?, file: String::from_utf8_lossy(body.rest()).into_owned() },
        kind::ANNOTATE_ROWS => Body::Annotate(packet::text(body.rest()).into_owned()),
        kind::TABLE_MAP => Body::TableMap(Rc::new(decode_table_map(&mut body)?)),
        kind::WRITE_ROWS | kind::UPDATE_ROWS | kind::DELETE_ROWS => Body::Rows(kind, body.rest().to_vec()),
        _ => Body::Other,
    };
    Some((Header { timestamp, kind, server_id, log_pos }, decoded))
}

/// Decodes a stream of events as [`decode`] does, decoding a Table_map
/// once for a run of identical ones (a transaction maps its table again
/// before each rows event): they share the first one's map.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    /// The last Table_map's body and its map.
    last_map: Option<(Vec<u8>, Rc<TableMap>)>,
}

impl Decoder {
    /// [`decode`], with the last Table_map's map when this one is the same.
    pub fn decode(&mut self, e: &[u8]) -> Option<(Header, Body)> {
        let h = decode_header(e)?;
        if h.kind != kind::TABLE_MAP {
            return decode(e);
        }
        let body = &e[19..e.len() - 4];
        if let Some((last, map)) = &self.last_map
            && last.as_slice() == body
        {
            return Some((h, Body::TableMap(map.clone())));
        }
        let decoded = decode(e)?;
        if let Body::TableMap(map) = &decoded.1 {
            self.last_map = Some((body.to_vec(), map.clone()));
        }
        Some(decoded)
    }
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
    /// Statement text (empty for rows its flavor logs without it).
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
    /// A standalone group that is DDL (its Gtid's FL_DDL): every one but
    /// FLUSH PRIVILEGES, which a replica counts as non-transactional.
    pub ddl: bool,
    /// Row images to log instead of the statement (binlog_format=ROW): the
    /// group then holds Annotate_rows (the statement), Table_map and a rows event.
    pub rows: Option<RowsImage>,
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
    /// Which server writes it.
    pub flavor: Flavor,
    /// MySQL 5.7's logical clock: the last sequence_number given in the
    /// current file (it restarts at 1 in each file).
    pub sequence: u64,
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
    /// gtid list, checkpoint. Returns the new file's name. After a rotation
    /// (`rotated`: FLUSH LOGS or max_binlog_size) the new file first names
    /// the previous file in a checkpoint, then itself (measured: a rotated
    /// file's first transaction is at 395, a file opened at start at 347).
    pub fn open_next(&mut self, server_id: u32, timestamp: u32, rotated: bool) -> String {
        let previous = self.files.last().cloned().filter(|_| rotated);
        let name = format!("{}.{:06}", self.base, self.files.len() + 1);
        self.files.push(name.clone());
        self.current = MAGIC.to_vec();
        let fde = fde_body(self.flavor, timestamp);
        self.push(Header { timestamp, kind: kind::FORMAT_DESCRIPTION, server_id, log_pos: 0 }, IN_USE, &fde);
        if self.flavor == Flavor::Mysql57 {
            self.sequence = 0;
            // an empty Previous_gtids: no GTID set (n_sids 0)
            self.push(Header { timestamp, kind: kind::PREVIOUS_GTIDS, server_id, log_pos: 0 }, 0, &[0; 8]);
            return name;
        }
        self.push(Header { timestamp, kind: kind::GTID_LIST, server_id, log_pos: 0 }, 0, &self.gtid_list());
        for file in previous.iter().chain(std::iter::once(&name)) {
            let mut cp = (file.len() as u32).to_le_bytes().to_vec();
            cp.extend_from_slice(file.as_bytes());
            self.push(Header { timestamp, kind: kind::BINLOG_CHECKPOINT, server_id, log_pos: 0 }, 0, &cp);
        }
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

    /// Appends one event (its log_pos computed here).
    fn push(&mut self, h: Header, flags: u16, body: &[u8]) {
        self.emit(h, flags, |b| b.extend_from_slice(body));
    }

    /// Appends one event whose body `body` writes in place: its size,
    /// log_pos and checksum are filled in around it.
    fn emit(&mut self, h: Header, flags: u16, body: impl FnOnce(&mut Vec<u8>)) {
        let c = &mut self.current;
        let start = c.len();
        c.extend_from_slice(&h.timestamp.to_le_bytes());
        c.push(h.kind);
        c.extend_from_slice(&h.server_id.to_le_bytes());
        c.extend_from_slice(&[0; 8]); // size and log_pos, below
        c.extend_from_slice(&flags.to_le_bytes());
        body(c);
        let size = (c.len() - start + 4) as u32;
        c[start + 9..start + 13].copy_from_slice(&size.to_le_bytes());
        c[start + 13..start + 17].copy_from_slice(&(start as u32 + size).to_le_bytes());
        let crc = crc32fast::hash(&c[start..]);
        c.extend_from_slice(&crc.to_le_bytes());
    }

    /// Writes one group (a DDL statement alone, or a transaction's
    /// statements) at the end of the current file: Gtid, then each
    /// statement's Intvar and Query, then an Xid if the group is
    /// transactional. The new events are `current[position before..]`.
    pub fn log(&mut self, group: &[Logged]) {
        if self.flavor == Flavor::Mysql57 {
            return self.log_57(group);
        }
        let Some(first) = group.first() else { return };
        self.gtid_seq += 1;
        self.gtid_server = first.server_id;
        let h = |kind, s: &Logged| Header { timestamp: s.timestamp, kind, server_id: s.server_id, log_pos: 0 };
        let (seq, flavor) = (self.gtid_seq, self.flavor);
        let ddl = first.ddl;
        self.emit(h(kind::GTID, first), SUPPRESS_USE, |b| gtid_body(b, seq, !first.transactional, ddl));
        for s in group {
            if let Some(id) = s.insert_id {
                self.emit(h(kind::INTVAR, s), 0, |b| {
                    b.push(2u8);
                    b.extend_from_slice(&id.to_le_bytes());
                });
            }
            if let Some(img) = &s.rows {
                self.push(h(kind::ANNOTATE_ROWS, s), 0, s.query.as_bytes());
                self.push(h(kind::TABLE_MAP, s), 0, &img.table.map_body);
                for (k, run, last) in rows_runs(&img.changes) {
                    self.emit(h(kind::v1(k), s), 0, |b| rows_body(img, run, k, last, flavor, b));
                }
                continue;
            }
            let flags = if s.suppress_use { SUPPRESS_USE } else { 0 };
            let xid = s.ddl_xid.then(|| {
                self.xid += 1;
                self.xid
            });
            let text = (s.thread_id, s.db.as_str(), s.query.as_str());
            self.emit(h(kind::QUERY, s), flags, |b| query_body(b, text, s.invoker.as_ref(), xid));
        }
        if first.transactional {
            self.xid += 1;
            let xid = self.xid;
            self.push(h(kind::XID, first), 0, &xid.to_le_bytes());
        }
    }

    /// [`Binlog::log`] as MySQL 5.7 writes a group: Anonymous_Gtid; for a
    /// transaction a Query `BEGIN`, each statement's Intvar and Query (or
    /// Table_map and a v2 rows event) and an Xid; else the one Query.
    fn log_57(&mut self, group: &[Logged]) {
        let Some(first) = group.first() else { return };
        self.sequence += 1;
        let h = |kind, s: &Logged| Header { timestamp: s.timestamp, kind, server_id: s.server_id, log_pos: 0 };
        let (sequence, flavor) = (self.sequence, self.flavor);
        self.emit(h(kind::ANONYMOUS_GTID, first), 0, |b| anonymous_gtid_body(b, sequence - 1, sequence));
        if first.transactional {
            let text = (first.thread_id, first.db.as_str(), "BEGIN");
            self.emit(h(kind::QUERY, first), 0, |b| query_body_57(b, text, None, None));
        }
        for s in group {
            if let Some(id) = s.insert_id {
                self.emit(h(kind::INTVAR, s), 0, |b| {
                    b.push(2u8);
                    b.extend_from_slice(&id.to_le_bytes());
                });
            }
            if let Some(img) = &s.rows {
                self.push(h(kind::TABLE_MAP, s), 0, &img.table.map_body);
                for (k, run, last) in rows_runs(&img.changes) {
                    self.emit(h(kind::v2(k), s), 0, |b| rows_body(img, run, k, last, flavor, b));
                }
                continue;
            }
            let flags = if s.suppress_use { SUPPRESS_USE } else { 0 };
            let updated = Some(s.db.as_str()).filter(|d| !d.is_empty() && s.invoker.is_none());
            let text = (s.thread_id, s.db.as_str(), s.query.as_str());
            self.emit(h(kind::QUERY, s), flags, |b| query_body_57(b, text, s.invoker.as_ref(), updated));
        }
        if first.transactional {
            self.xid += 1;
            let xid = self.xid;
            self.push(h(kind::XID, first), 0, &xid.to_le_bytes());
        }
    }

    /// Events of the current file from `pos` on (whole events only).
    pub fn events_from(&self, pos: u64) -> Vec<Vec<u8>> {
        events_in(&self.current, pos as usize).map(|r| self.current[r].to_vec()).collect()
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

/// Where the whole events of a binlog file's `bytes` from `pos` on lie.
pub fn events_in(bytes: &[u8], pos: usize) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = pos;
    std::iter::from_fn(move || {
        let size = bytes.get(at + 9..at + 13)?;
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
        if at + 19 > bytes.len() || size < 19 || at + size > bytes.len() {
            return None;
        }
        at += size;
        Some(at - size..at)
    })
}

/// Whether the event's header has LOG_EVENT_SUPPRESS_USE_F.
fn suppress_use(e: &[u8]) -> bool {
    e.get(17..19).is_some_and(|f| u16::from_le_bytes([f[0], f[1]]) & SUPPRESS_USE != 0)
}

/// SHOW BINLOG EVENTS' Event_type and Info for an event, as MariaDB 10.11 prints them.
pub fn describe(e: &[u8], h: &Header, body: &Body) -> (&'static str, String) {
    match (h.kind, body) {
        (kind::FORMAT_DESCRIPTION, _) => {
            let version = e.get(21..71).unwrap_or_default();
            let version = String::from_utf8_lossy(version.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
            ("Format_desc", format!("Server ver: {version}, Binlog ver: 4"))
        }
        (kind::PREVIOUS_GTIDS, _) => ("Previous_gtids", String::new()),
        (kind::ANONYMOUS_GTID, _) => ("Anonymous_Gtid", "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'".to_owned()),
        (_, Body::Begin) => ("Query", "BEGIN".to_owned()),
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
        (_, Body::Gtid { seq, standalone, .. }) => {
            ("Gtid", format!("{}GTID 0-{}-{seq}", if *standalone { "" } else { "BEGIN " }, h.server_id))
        }
        (_, Body::Query { db, query, .. }) if db.is_empty() || suppress_use(e) => ("Query", query.clone()),
        (_, Body::Query { db, query, .. }) => ("Query", format!("use `{db}`; {query}")),
        (_, Body::Annotate(q)) => ("Annotate_rows", q.clone()),
        (_, Body::TableMap(m)) => ("Table_map", format!("table_id: {} ({}.{})", m.table_id, m.db, m.table)),
        (_, Body::Rows(k, raw)) => {
            let id = raw.get(..6).map_or(0, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0]));
            // the flags follow the table id; only STMT_END_F is ever set here
            let end = raw.get(6..8).is_some_and(|f| f[0] & 1 == 1);
            (rows_name(*k), if end { format!("table_id: {id} flags: STMT_END_F") } else { format!("table_id: {id}") })
        }
        (_, Body::Xid(x)) => ("Xid", format!("COMMIT /* xid={x} */")),
        (_, Body::InsertId(id)) => ("Intvar", format!("INSERT_ID={id}")),
        (_, Body::Rotate { pos, file }) => ("Rotate", format!("{file};pos={pos}")),
        (kind::STOP, _) => ("Stop", String::new()),
        _ => ("Unknown", String::new()),
    }
}

/// A rows event's name in SHOW BINLOG EVENTS and in the SQL thread's errors.
/// MySQL 5.7's v2 events are `Write_rows`, `Update_rows`, `Delete_rows`.
pub fn rows_name(kind: u8) -> &'static str {
    match kind {
        kind::WRITE_ROWS => "Write_rows_v1",
        kind::UPDATE_ROWS => "Update_rows_v1",
        kind::DELETE_ROWS => "Delete_rows_v1",
        kind::WRITE_ROWS_V2 => "Write_rows",
        kind::UPDATE_ROWS_V2 => "Update_rows",
        _ => "Delete_rows",
    }
}

#[cfg(test)]
mod tests {
    use super::{Binlog, Decoder, Logged, RowsImage, TableDesc};
    use crate::engine::{ColumnType, RowChange, Value};
    use crate::flavor::Flavor;
    use std::rc::Rc;

    /// A transaction inserting one row into each of `tables` in turn.
    fn group(tables: &[&Rc<TableDesc>]) -> Vec<Logged> {
        let row = |n: i64| RowChange { before: None, after: Some(vec![Value::Int(n), Value::Str(format!("row {n}"))]) };
        let statement = |(n, table): (usize, &&Rc<TableDesc>)| Logged {
            server_id: 1,
            timestamp: 7,
            thread_id: 3,
            db: "db1".into(),
            query: format!("insert into {} values({n},'row {n}')", table.table),
            insert_id: None,
            invoker: None,
            suppress_use: false,
            ddl_xid: false,
            ddl: false,
            rows: Some(RowsImage { table: Rc::clone(table), changes: Rc::new(vec![row(n as i64)]) }),
            transactional: true,
        };
        tables.iter().enumerate().map(statement).collect()
    }

    /// The decoder gives what `decode` gives for every event of both
    /// flavors' binlogs, where a table is mapped again before each rows
    /// event and another table's map comes between two of them.
    #[test]
    fn decoder_decodes_as_decode() {
        let columns = vec![(ColumnType::Int, false), (ColumnType::Varchar(20), true)];
        let t1 = Rc::new(TableDesc::new(18, "db1".into(), "t1".into(), columns.clone()));
        let t2 = Rc::new(TableDesc::new(19, "db1".into(), "t2".into(), columns));
        for flavor in [Flavor::Mysql57, Flavor::Mariadb1011] {
            let mut binlog = Binlog { base: "b".into(), flavor, ..Binlog::default() };
            binlog.open_next(1, 7, false);
            binlog.log(&group(&[&t1, &t1, &t2, &t1, &t1]));
            let (mut decoder, mut maps) = (Decoder::default(), 0);
            for event in binlog.events_from(4) {
                let (shared, own) = (decoder.decode(&event), super::decode(&event));
                maps += usize::from(matches!(&own, Some((_, super::Body::TableMap(_)))));
                assert_eq!(shared, own, "{flavor:?}");
            }
            assert_eq!(maps, 5, "{flavor:?}");
        }
    }
}
