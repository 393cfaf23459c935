//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP,
//! with Redis 7.0's fields (entries-added, max-deleted-entry-id,
//! recorded-first-entry-id, entries-read, lag).

use super::commands::stream;
use super::groups::{help, subcommand, subcommand_syntax};
use super::{Group, Stream, StreamId, entry_reply};
use crate::commands::parse_int;
use crate::keyspace::Exec;
use resp::Value;

const XINFO_SUBS: &[(&str, i32)] = &[("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)];

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn field(name: &str, v: Value) -> (Value, Value) {
    (Value::bulk(name), v)
}

fn id(id: StreamId) -> Value {
    Value::Bulk(id.to_bytes())
}

/// XINFO CONSUMERS|GROUPS|STREAM|HELP.
pub(crate) fn xinfo(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let sub = match subcommand(args, "xinfo", XINFO_SUBS) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if sub == "help" {
        return help("xinfo", XINFO_HELP);
    }
    let now = x.clock_ms;
    let s = match stream(x, &args[2]) {
        Err(e) => return e,
        Ok(None) => return Value::error("ERR no such key"),
        Ok(Some(s)) => s,
    };
    match sub.as_str() {
        "consumers" => match s.groups.get(args[3].as_slice()) {
            Some(g) => consumers(g, now),
            None => Value::error(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(&args[3]),
                String::from_utf8_lossy(&args[2])
            )),
        },
        "groups" => Value::Array(s.groups.iter().map(|(name, g)| group_info(s, name, g)).collect()),
        _ => stream_info(s, args),
    }
}

fn consumers(g: &Group, now: i64) -> Value {
    Value::Array(
        g.consumers
            .iter()
            .map(|(name, c)| {
                Value::Map(vec![
                    field("name", Value::Bulk(name.clone())),
                    field("pending", Value::Integer(c.pel.len() as i64)),
                    field("idle", Value::Integer((now - c.seen_time).max(0))),
                ])
            })
            .collect(),
    )
}

fn entries_read(g: &Group) -> Value {
    g.entries_read.map_or(Value::Nil, |n| Value::Integer(n as i64))
}

fn lag(s: &Stream, g: &Group) -> Value {
    s.lag(g).map_or(Value::Nil, |n| Value::Integer(n as i64))
}

fn group_info(s: &Stream, name: &[u8], g: &Group) -> Value {
    Value::Map(vec![
        field("name", Value::Bulk(name.to_vec())),
        field("consumers", Value::Integer(g.consumers.len() as i64)),
        field("pending", Value::Integer(g.pel.len() as i64)),
        field("last-delivered-id", id(g.last_id)),
        field("entries-read", entries_read(g)),
        field("lag", lag(s, g)),
    ])
}

/// XINFO STREAM key [FULL [COUNT n]] (`xinfoReplyWithStreamInfo`).
fn stream_info(s: &Stream, args: &[Vec<u8>]) -> Value {
    let opts = &args[3..];
    let full = !opts.is_empty();
    let mut count = 10usize;
    if full {
        if !(opts.len() == 1 || opts.len() == 3)
            || !opts[0].eq_ignore_ascii_case(b"full")
            || (opts.len() == 3 && !opts[1].eq_ignore_ascii_case(b"count"))
        {
            return subcommand_syntax(args, "xinfo");
        }
        if opts.len() == 3 {
            match parse_int(&opts[2]) {
                None => return Value::error("ERR value is not an integer or out of range"),
                Some(n) if n < 0 => count = 10,
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        }
    }
    let mut out = vec![
        field("length", Value::Integer(s.length as i64)),
        field("radix-tree-keys", Value::Integer(s.rax_keys() as i64)),
        field("radix-tree-nodes", Value::Integer(s.rax_nodes() as i64)),
        field("last-generated-id", id(s.last_id)),
        field("max-deleted-entry-id", id(s.max_deleted)),
        field("entries-added", Value::Integer(s.entries_added as i64)),
        field("recorded-first-entry-id", id(s.first_id)),
    ];
    if !full {
        let edge = |rev| s.range(StreamId::MIN, StreamId::MAX, rev).next().map_or(Value::Nil, entry_reply);
        out.push(field("groups", Value::Integer(s.groups.len() as i64)));
        out.push(field("first-entry", edge(false)));
        out.push(field("last-entry", edge(true)));
        return Value::Map(out);
    }
    let limit = if count == 0 { usize::MAX } else { count };
    let entries = s.range(StreamId::MIN, StreamId::MAX, false).take(limit).map(entry_reply).collect();
    out.push(field("entries", Value::Array(entries)));
    let groups = s.groups.iter().map(|(name, g)| full_group(s, name, g, limit)).collect();
    out.push(field("groups", Value::Array(groups)));
    Value::Map(out)
}

fn full_group(s: &Stream, name: &[u8], g: &Group, limit: usize) -> Value {
    let pending = g.pel.iter().take(limit).map(|(i, n)| {
        Value::Array(vec![
            id(*i),
            Value::Bulk(n.consumer.clone()),
            Value::Integer(n.delivery_time),
            Value::Integer(n.delivery_count as i64),
        ])
    });
    let consumers = g.consumers.iter().map(|(cname, c)| {
        let pel = c.pel.iter().take(limit).filter_map(|i| {
            let n = g.pel.get(i)?;
            Some(Value::Array(vec![id(*i), Value::Integer(n.delivery_time), Value::Integer(n.delivery_count as i64)]))
        });
        Value::Map(vec![
            field("name", Value::Bulk(cname.clone())),
            field("seen-time", Value::Integer(c.seen_time)),
            field("pel-count", Value::Integer(c.pel.len() as i64)),
            field("pending", Value::Array(pel.collect())),
        ])
    });
    Value::Map(vec![
        field("name", Value::Bulk(name.to_vec())),
        field("last-delivered-id", id(g.last_id)),
        field("entries-read", entries_read(g)),
        field("lag", lag(s, g)),
        field("pel-count", Value::Integer(g.pel.len() as i64)),
        field("pending", Value::Array(pending.collect())),
        field("consumers", Value::Array(consumers.collect())),
    ])
}
