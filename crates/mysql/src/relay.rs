//! The replica's relay log and its two info files, as MariaDB 10.11 keeps
//! them on disk (measured against a real 10.11.19, see the README's MySQL
//! section):
//!
//! - `<relay_log>.000001`... each start with the replica's own Format
//!   description event (256 bytes with the magic); the IO thread appends
//!   every event it receives, as received (the master's Rotate and Format
//!   description included, a Stop event left out); each Rotate a dump sends
//!   (first on every connection, then at each file switch) ends the file
//!   with the replica's own Rotate event and opens the next one; each start
//!   of the server opens a new file; `<relay_log>.index` lists them.
//! - the SQL thread's position (`Relay_Log_File`, `Relay_Log_Pos`) is the end
//!   of the last group it executed; when it moves into a later file the files
//!   before the one it left are purged (`relay_log_purge=1`).
//! - `relay-log.info` (the SQL thread's relay and master positions, rewritten
//!   after each group) and `master.info` (the IO thread's read position and
//!   connection settings, rewritten after each received event) are rewritten
//!   in place without truncation, as MariaDB does.
//!
//! Every write goes to the kernel's page cache; the relay log is fsynced
//! every `sync_relay_log` events, relay-log.info every `sync_relay_log_info`
//! writes and master.info every `sync_master_info` writes (MariaDB's
//! defaults: 10000 each), so what a host crash leaves is what MariaDB's would.

use super::{Queued, Server, shared};
use crate::binlog::{self, Binlog, Body, kind};
use crate::engine::{RowChange, Value};
use sim::Ctx;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;

/// The SQL thread's positions.
pub(super) const RELAY_INFO: &str = "relay-log.info";
/// The IO thread's position and connection settings.
pub(super) const MASTER_INFO: &str = "master.info";

/// The relay log files and the SQL thread's place in them.
#[derive(Clone, Debug, Default)]
pub struct Relay {
    /// The files of the index, with their sizes, oldest first.
    files: Vec<(String, u64)>,
    /// The active file's name as queued events share it.
    active_name: Rc<str>,
    /// `Relay_Log_File`, `Relay_Log_Pos`.
    pub exec: (String, u64),
    /// Writes since the last fsync: relay log, relay-log.info, master.info.
    unsynced: [u32; 3],
    /// master.info is behind the IO thread's state (see [`Server::master_info_moved`]).
    master_info_behind: bool,
    /// Received events not yet appended to the active file (see [`Server::relay_append`]).
    unwritten: Vec<u8>,
    /// Scratch: the info file being written.
    text: Vec<u8>,
}

impl Relay {
    /// `Relay_Log_Space`: the sizes of the relay log files.
    pub fn space(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }

    /// The relay log files, oldest first.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(f, _)| f.as_str())
    }

    fn active(&self) -> Option<&(String, u64)> {
        self.files.last()
    }
}

/// What relay-log.info says: relay file, relay position, master file, master position.
pub(super) type RelayInfo = (String, u64, String, u64);

/// What master.info says: master file, read position, host, user, password, port, retry.
pub(super) type MasterInfo = (String, u64, String, String, String, u16, u64);

impl Server {
    fn relay_base(&self, ctx: &Ctx<'_>) -> String {
        self.config.relay_log.clone().unwrap_or_else(|| format!("{}-relay-bin", ctx.name()))
    }

    fn relay_index(&self, ctx: &Ctx<'_>) -> String {
        format!("{}.index", self.relay_base(ctx))
    }

    /// Reads the relay log index (at start).
    pub(super) fn relay_load(&mut self, ctx: &mut Ctx<'_>) {
        let index = self.relay_index(ctx);
        let names: Vec<String> = ctx
            .disk()
            .read(&index)
            .map(|b| String::from_utf8_lossy(b).lines().map(|l| l.trim_start_matches("./").to_owned()).collect())
            .unwrap_or_default();
        let disk = ctx.disk();
        self.relay.files = names.into_iter().filter_map(|f| disk.len(&f).map(|n| (f, n as u64))).collect();
        self.relay.exec = (String::new(), 4);
    }

    fn relay_write_index(&self, ctx: &mut Ctx<'_>) {
        let listing: String = self.relay.files.iter().map(|(f, _)| format!("./{f}\n")).collect();
        let index = self.relay_index(ctx);
        ctx.disk().write(&index, listing.as_bytes());
    }

    /// Opens the next relay log file: the magic and the replica's own Format
    /// description event. Numbering goes on from the last file of the index.
    pub(super) fn relay_open_new(&mut self, ctx: &mut Ctx<'_>) -> String {
        self.flush_relay(ctx);
        let base = self.relay_base(ctx);
        let last = self.relay.active().and_then(|(f, _)| f.rsplit('.').next()?.parse::<u32>().ok()).unwrap_or(0);
        let name = format!("{base}.{:06}", last + 1);
        let ts = self.timestamp(ctx);
        // the replica's own Format description, in its flavor's layout (256
        // bytes on MariaDB 10.11, as measured)
        let body = binlog::fde_body(self.config.flavor, ts);
        let end = (binlog::MAGIC.len() + 19 + body.len() + 4) as u32;
        let h = binlog::Header {
            timestamp: ts,
            kind: kind::FORMAT_DESCRIPTION,
            server_id: self.config.server_id,
            log_pos: end,
        };
        let bytes = [binlog::MAGIC.to_vec(), binlog::event(h, 0, &body)].concat();
        ctx.disk().write(&name, &bytes);
        self.relay.files.push((name.clone(), bytes.len() as u64));
        self.relay_write_index(ctx);
        name
    }

    /// Deletes every relay log file (CHANGE MASTER TO, RESET SLAVE) and starts at `.000001`.
    pub(super) fn relay_reset(&mut self, ctx: &mut Ctx<'_>) {
        self.flush_relay(ctx);
        for (f, _) in std::mem::take(&mut self.relay.files) {
            ctx.disk().remove(&f);
        }
        let name = self.relay_open_new(ctx);
        self.relay.exec = (name, 4);
    }

    /// A dump's Rotate arrives (first on each connection, then at each file
    /// switch of the master): the active file ends with the replica's own
    /// Rotate event (58 bytes for a 27-character name) and the next one opens.
    pub(super) fn relay_rotate(&mut self, ctx: &mut Ctx<'_>) {
        let Some((active, len)) = self.relay.active().cloned() else {
            self.relay_reset(ctx);
            return;
        };
        self.flush_relay(ctx);
        let last = active.rsplit('.').next().and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        let next = format!("{}.{:06}", self.relay_base(ctx), last + 1);
        let mut body = 4u64.to_le_bytes().to_vec();
        body.extend_from_slice(next.as_bytes());
        let log_pos = len as u32 + binlog::size(body.len());
        let ts = self.timestamp(ctx);
        let h = binlog::Header { timestamp: ts, kind: kind::ROTATE, server_id: self.config.server_id, log_pos };
        let e = binlog::event(h, 0, &body);
        ctx.disk().append(&active, &e);
        if let Some(f) = self.relay.files.last_mut() {
            f.1 += e.len() as u64;
        }
        self.relay_open_new(ctx);
    }

    /// The IO thread writes a received event; returns its relay file and end.
    /// The events of one input go to the file in one append
    /// ([`Self::flush_relay`] at the end of the input, before the file
    /// changes and before an fsync that is due), which leaves the same
    /// bytes in the page cache and on disk at every moment a crash or a
    /// reader can see.
    pub(super) fn relay_append(&mut self, ctx: &mut Ctx<'_>, event: &[u8]) -> (Rc<str>, u64) {
        if self.relay.files.is_empty() {
            self.relay_reset(ctx);
        }
        let Some((name, len)) = self.relay.files.last_mut() else { return (Rc::from(""), 4) };
        *len += event.len() as u64;
        let end = (shared(&mut self.relay.active_name, name), *len);
        self.relay.unwritten.extend_from_slice(event);
        if Self::due(&mut self.relay.unsynced[0], self.config.sync_relay_log) {
            self.flush_relay(ctx);
            ctx.disk().fsync(&end.0);
        }
        end
    }

    /// Appends what [`Self::relay_append`] kept to the active file.
    pub(super) fn flush_relay(&mut self, ctx: &mut Ctx<'_>) {
        if let Some((name, _)) = self.relay.files.last()
            && !self.relay.unwritten.is_empty()
        {
            ctx.disk().append(name, &self.relay.unwritten);
        }
        self.relay.unwritten.clear();
    }

    /// Counts a write; true when it is the one to fsync.
    fn due(count: &mut u32, every: u32) -> bool {
        *count += 1;
        if every > 0 && *count >= every {
            *count = 0;
            return true;
        }
        false
    }

    /// The SQL thread finished a group (or an event outside one) ending at
    /// `at`: its relay position moves, files before the one it leaves are
    /// purged, and relay-log.info is rewritten.
    pub(super) fn relay_executed(&mut self, ctx: &mut Ctx<'_>, (file, pos): (Rc<str>, u64)) {
        if *file != *self.relay.exec.0 {
            if let Some(i) = self.relay.files.iter().position(|(f, _)| **f == *file)
                && i >= 2
            {
                for (f, _) in self.relay.files.drain(..i - 1) {
                    ctx.disk().remove(&f);
                }
                self.relay_write_index(ctx);
            }
            self.relay.exec.0 = file.to_string();
        }
        self.relay.exec.1 = pos;
        self.save_relay_info(ctx);
    }

    pub(super) fn save_relay_info(&mut self, ctx: &mut Ctx<'_>) {
        let Some(r) = &self.replica else { return };
        let (file, pos) = &self.relay.exec;
        let mut text = std::mem::take(&mut self.relay.text);
        text.clear();
        let _ = write!(text, "5\n./{file}\n{pos}\n{}\n{}\n0\n", r.exec_file, r.exec_pos);
        ctx.disk().overwrite(RELAY_INFO, &text);
        self.relay.text = text;
        if Self::due(&mut self.relay.unsynced[1], self.config.sync_relay_log_info) {
            ctx.disk().fsync(RELAY_INFO);
        }
    }

    /// The IO thread's position moved past a received event: MariaDB
    /// rewrites master.info after each one. Rewrites while one input is
    /// handled are coalesced into the last one ([`Self::flush_master_info`]
    /// at the end of the input), which leaves the same bytes in the page
    /// cache and on disk at every moment a crash or a reader can see:
    /// nothing runs between two events of one input; a rewrite that is due
    /// for an fsync is written at once; and each skipped text is no longer
    /// than the one after it (`shrinks`: flushed before a change that could
    /// shorten it), so no longer tail of it would have stayed behind.
    pub(super) fn master_info_moved(&mut self, ctx: &mut Ctx<'_>) {
        if Self::due(&mut self.relay.unsynced[2], self.config.sync_master_info) {
            self.write_master_info(ctx);
            ctx.disk().fsync(MASTER_INFO);
        } else {
            self.relay.master_info_behind = true;
        }
    }

    /// Writes master.info if [`Self::master_info_moved`] left it behind.
    pub(super) fn flush_master_info(&mut self, ctx: &mut Ctx<'_>) {
        if self.relay.master_info_behind {
            self.write_master_info(ctx);
        }
    }

    /// master.info rewritten now, counted towards `sync_master_info`.
    pub(super) fn save_master_info(&mut self, ctx: &mut Ctx<'_>) {
        self.write_master_info(ctx);
        if Self::due(&mut self.relay.unsynced[2], self.config.sync_master_info) {
            ctx.disk().fsync(MASTER_INFO);
        }
    }

    /// master.info in MariaDB 10.11's 33-line layout (measured).
    fn write_master_info(&mut self, ctx: &mut Ctx<'_>) {
        self.relay.master_info_behind = false;
        let Some(r) = &self.replica else { return };
        let mut text = std::mem::take(&mut self.relay.text);
        text.clear();
        // rewritten after every received event: pieces, not a format string
        text.extend_from_slice(b"33\n");
        push_line(&mut text, r.master_log_file.as_bytes());
        push_decimal(&mut text, r.read_pos);
        text.push(b'\n');
        for field in [&r.host, &r.user, &r.password] {
            push_line(&mut text, field.as_bytes());
        }
        push_decimal(&mut text, u64::from(r.port));
        text.push(b'\n');
        push_decimal(&mut text, r.connect_retry);
        text.extend_from_slice(MASTER_INFO_TAIL.as_bytes());
        ctx.disk().overwrite(MASTER_INFO, &text);
        self.relay.text = text;
    }

    /// CHANGE MASTER TO, RESET SLAVE: both info files written and synced.
    pub(super) fn sync_infos(&mut self, ctx: &mut Ctx<'_>) {
        self.flush_relay(ctx);
        self.save_master_info(ctx);
        self.save_relay_info(ctx);
        let disk = ctx.disk();
        disk.fsync(MASTER_INFO);
        disk.fsync(RELAY_INFO);
        let index = self.relay_index(ctx);
        let disk = ctx.disk();
        disk.fsync(&index);
        if let Some((f, _)) = self.relay.files.last() {
            disk.fsync(f);
        }
    }

    pub(super) fn read_master_info(ctx: &mut Ctx<'_>) -> Option<MasterInfo> {
        let text = String::from_utf8_lossy(ctx.disk().read(MASTER_INFO)?).into_owned();
        let l: Vec<&str> = text.lines().collect();
        if l.len() < 8 {
            return None;
        }
        Some((
            l[1].to_owned(),
            l[2].parse().ok()?,
            l[3].to_owned(),
            l[4].to_owned(),
            l[5].to_owned(),
            l[6].parse().ok()?,
            l[7].parse().ok()?,
        ))
    }

    pub(super) fn read_relay_info(ctx: &mut Ctx<'_>) -> Option<RelayInfo> {
        let text = String::from_utf8_lossy(ctx.disk().read(RELAY_INFO)?).into_owned();
        let l: Vec<&str> = text.lines().collect();
        if l.len() < 5 {
            return None;
        }
        Some((l[1].trim_start_matches("./").to_owned(), l[2].parse().ok()?, l[3].to_owned(), l[4].parse().ok()?))
    }

    /// Without relay_log_recovery, at start: what the relay log holds from the
    /// SQL thread's position on, queued again for the SQL thread (the
    /// replica's own Format description and Rotate events are its own
    /// bookkeeping and are skipped; a master Rotate names the file the
    /// following events come from).
    pub(super) fn relay_requeue(&mut self, ctx: &mut Ctx<'_>, master_file: &str) -> VecDeque<Queued> {
        let mut master_file: Rc<str> = Rc::from(master_file);
        let own = self.config.server_id;
        let (start_file, start_pos) = self.relay.exec.clone();
        let Some(first) = self.relay.files.iter().position(|(f, _)| *f == start_file) else { return VecDeque::new() };
        let mut out = VecDeque::new();
        for (i, (name, _)) in self.relay.files[first..].iter().enumerate() {
            let shared_name: Rc<str> = Rc::from(name.as_str());
            let bytes = ctx.disk().read(name).map(<[u8]>::to_vec).unwrap_or_default();
            let from = if i == 0 { start_pos } else { 4 };
            let view = Binlog { current: bytes, ..Binlog::default() };
            let mut end = from;
            for event in view.events_from(from) {
                end += event.len() as u64;
                let Some((h, body)) = binlog::decode(&event) else { break };
                let mine = h.server_id == own && matches!(h.kind, kind::FORMAT_DESCRIPTION | kind::ROTATE);
                if mine {
                    continue;
                }
                let apply = match &body {
                    Body::Rotate { file, .. } => {
                        master_file = Rc::from(file.as_str());
                        false
                    }
                    _ => h.log_pos != 0,
                };
                let relay = (shared_name.clone(), end);
                let (file, end) = (master_file.clone(), u64::from(h.log_pos));
                out.push_back(Queued { file, end, event: Rc::new((h, body)), relay, apply });
            }
        }
        out
    }

    /// relay_log_recovery=1 at start: every relay log file but the new one
    /// is deleted; the SQL thread starts at the new file's position 4.
    pub(super) fn relay_discard_old(&mut self, ctx: &mut Ctx<'_>) {
        let keep = self.relay.files.len().saturating_sub(1);
        for (f, _) in self.relay.files.drain(..keep) {
            ctx.disk().remove(&f);
        }
        self.relay_write_index(ctx);
        self.relay.exec = (self.relay.files.last().map(|(f, _)| f.clone()).unwrap_or_default(), 4);
    }
}

/// master.info after the connect retry: the lines MariaDB 10.11 writes
/// with SSL, heartbeat and GTID settings at their defaults (measured).
const MASTER_INFO_TAIL: &str = "\n0\n\n\n\n\n\n0\n30.000\n\n0\n\n0\n\n\n\n\n\n\n\n\n\n\n\n\n\nusing_gtid=0\ndo_domain_ids=0\nignore_domain_ids=0\nEND_MARKER\n";

/// Appends `line` and a newline.
fn push_line(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(line);
    out.push(b'\n');
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(crate::output::decimal(n, &mut [0; 20]));
}

/// A row change the SQL thread applied, as a redo log line (row events carry
/// no statement to replay): `\x01row`, database, table, before, after.
/// The line is appended to `out`.
pub(super) fn row_redo_line(db: &str, table: &str, change: &RowChange, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let image = |row: &Option<Vec<Value>>, out: &mut Vec<u8>| {
        let Some(values) = row else { return out.push(b'-') };
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match v {
                Value::Null => out.push(b'n'),
                Value::Int(n) => {
                    out.extend_from_slice(if *n < 0 { b"i-" } else { b"i" });
                    out.extend_from_slice(crate::output::decimal(n.unsigned_abs(), &mut [0; 20]));
                }
                Value::Str(s) => {
                    out.reserve(1 + 2 * s.len());
                    out.push(b's');
                    for b in s.bytes() {
                        out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                    }
                }
            }
        }
    };
    for part in ["\u{1}row\t", db, "\t", table, "\t"] {
        out.extend_from_slice(part.as_bytes());
    }
    image(&change.before, out);
    out.push(b'\t');
    image(&change.after, out);
    out.push(b'\n');
}

/// A redo line written by [`row_redo_line`]: (database, table, change).
pub(super) fn parse_row_redo(line: &str) -> Option<(String, String, RowChange)> {
    let mut parts = line.strip_prefix("\u{1}row\t")?.split('\t');
    let (db, table, before, after) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let image = |text: &str| -> Option<Option<Vec<Value>>> {
        if text == "-" {
            return Some(None);
        }
        let value = |v: &str| match (v.get(..1)?, v.get(1..)?) {
            ("n", _) => Some(Value::Null),
            ("i", n) => n.parse().ok().map(Value::Int),
            ("s", hex) => {
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                    .collect();
                Some(Value::Str(String::from_utf8_lossy(&bytes?).into_owned()))
            }
            _ => None,
        };
        if text.is_empty() {
            return Some(Some(Vec::new()));
        }
        text.split(',').map(value).collect::<Option<Vec<_>>>().map(Some)
    };
    Some((db.to_owned(), table.to_owned(), RowChange { before: image(before)?, after: image(after)? }))
}

#[cfg(test)]
mod tests {
    /// A redo line with negative, zero and large integers reads back as written.
    #[test]
    fn row_redo_lines_round_trip_integers() {
        use crate::engine::{RowChange, Value};
        let before = vec![Value::Int(i64::MIN), Value::Int(0), Value::Str("x\ty".into()), Value::Null];
        let after = vec![Value::Int(-12), Value::Int(i64::MAX), Value::Str(String::new()), Value::Int(5)];
        let change = RowChange { before: Some(before), after: Some(after) };
        let mut line = Vec::new();
        super::row_redo_line("db1", "t1", &change, &mut line);
        let line = String::from_utf8(line).expect("a redo line is text");
        let parsed = super::parse_row_redo(line.trim_end_matches('\n'));
        assert_eq!(parsed, Some(("db1".to_owned(), "t1".to_owned(), change)));
    }
}
