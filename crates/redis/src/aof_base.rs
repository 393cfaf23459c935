//! The AOF base file without an RDB preamble (`aof-use-rdb-preamble no`):
//! the dataset written as the commands that rebuild it, as Redis 7.0's
//! `rewriteAppendOnlyFileRio` writes them (checked against the base files a
//! real 7.0.15 wrote for the same data).
//!
//! Functions first (`FUNCTION LOAD`), then each non-empty database after its
//! `SELECT`, each key as one command per type, collections in batches of 64
//! items (`AOF_REWRITE_ITEMS_PER_CMD`), then `PEXPIREAT` for a key with a time
//! to live. A stream is its entries as `XADD`s (an empty one as `XADD ...
//! MAXLEN 0` of a placeholder), its `XSETID`, and each group's `XGROUP CREATE`
//! with each consumer's pending entries as `XCLAIM ... JUSTID FORCE` (or
//! `XGROUP CREATECONSUMER` for one with none). Keys come in the simulator's
//! key order where Redis walks its dict.

use crate::keyspace::{Data, Db};
use crate::stream::{Stream, StreamId};

/// Items per command (`AOF_REWRITE_ITEMS_PER_CMD`).
const ITEMS_PER_CMD: usize = 64;

/// The base file's bytes.
pub(crate) fn encode(dbs: &[Db], functions: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in functions {
        command(&mut out, &[b"FUNCTION", b"LOAD", code]);
    }
    for (i, db) in dbs.iter().enumerate().filter(|(_, db)| !db.keys.is_empty()) {
        command(&mut out, &[b"SELECT", i.to_string().as_bytes()]);
        for (key, value) in &db.keys {
            write_key(&mut out, key, value);
            if let Some(at) = db.expires.get(key) {
                command(&mut out, &[b"PEXPIREAT", key, at.to_string().as_bytes()]);
            }
        }
    }
    out
}

fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    resp::encode_command(args, out);
}

fn write_key(out: &mut Vec<u8>, key: &[u8], value: &Data) {
    match value {
        Data::Str(v) => command(out, &[b"SET", key, v]),
        Data::List(items) => batched(out, b"RPUSH", key, (&**items).into_iter().map(|i| vec![i.as_slice()])),
        Data::Set(members) => batched(out, b"SADD", key, members.iter().map(|m| vec![m.as_slice()])),
        Data::Hash(fields) => batched(out, b"HMSET", key, fields.iter().map(|(f, v)| vec![f.as_slice(), v.as_slice()])),
        Data::ZSet(z) => {
            let scores: Vec<String> = z.iter().map(|(_, s)| crate::zset::d2string(s)).collect();
            let pairs = z.iter().zip(&scores).map(|((m, _), s)| vec![s.as_bytes(), m]);
            batched(out, b"ZADD", key, pairs);
        }
        Data::Stream(s) => write_stream(out, key, s),
    }
}

/// `name key item...` commands, at most [`ITEMS_PER_CMD`] items (each one or
/// more arguments) in each.
fn batched<'a>(out: &mut Vec<u8>, name: &[u8], key: &'a [u8], items: impl Iterator<Item = Vec<&'a [u8]>>) {
    let items: Vec<Vec<&[u8]>> = items.collect();
    for chunk in items.chunks(ITEMS_PER_CMD) {
        let mut args = vec![name, key];
        args.extend(chunk.iter().flatten());
        command(out, &args);
    }
}

fn write_stream(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    let id = |id: StreamId| id.to_bytes();
    if s.length == 0 {
        let placeholder = id(StreamId { ms: 0, seq: 1 });
        command(out, &[b"XADD", key, b"MAXLEN", b"0", &placeholder, b"x", b"y"]);
    }
    for entry in s.range(StreamId::MIN, StreamId::MAX, false) {
        let entry_id = id(entry.id);
        let mut args: Vec<&[u8]> = vec![b"XADD".as_slice(), key, &entry_id];
        args.extend(entry.fields.iter().flat_map(|(f, v)| [f.as_slice(), v]));
        command(out, &args);
    }
    let added = s.entries_added.to_string();
    let (last, max_deleted) = (id(s.last_id), id(s.max_deleted));
    command(out, &[b"XSETID", key, &last, b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", &max_deleted]);
    for (name, group) in &s.groups {
        let read = group.entries_read.map_or("-1".to_owned(), |n| n.to_string());
        command(out, &[b"XGROUP", b"CREATE", key, name, &id(group.last_id), b"ENTRIESREAD", read.as_bytes()]);
        for (consumer, c) in &group.consumers {
            if c.pel.is_empty() {
                command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, consumer]);
            }
            for pending in &c.pel {
                let Some(nack) = group.pel.get(pending) else { continue };
                let (time, count) = (nack.delivery_time.to_string(), nack.delivery_count.to_string());
                let args: [&[u8]; 12] = [
                    b"XCLAIM",
                    key,
                    name,
                    consumer,
                    b"0",
                    &id(*pending),
                    b"TIME",
                    time.as_bytes(),
                    b"RETRYCOUNT",
                    count.as_bytes(),
                    b"JUSTID",
                    b"FORCE",
                ];
                command(out, &args);
            }
        }
    }
}
