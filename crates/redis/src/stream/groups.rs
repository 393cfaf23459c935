//! XREAD and the consumer groups: XGROUP, XREADGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM. A group read propagates as what it did, never as
//! itself: one `XCLAIM ... FORCE JUSTID LASTID` per entry it delivered, an
//! `XGROUP SETID ... ENTRIESREAD` when NOACK moved the group, an `XGROUP
//! CREATECONSUMER` for a consumer NOACK created.

use super::commands::{not_an_integer, stream, stream_mut, stream_to_change};
use super::{Consumer, Group, Nack, Stream, StreamId, entry_reply, range_end, range_start, strict_id};
use crate::commands::parse_int;
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;

/// Checks a container's subcommand and its arity as processCommand does;
/// the subcommand, lowercase.
pub(crate) fn subcommand(args: &[Vec<u8>], container: &str, subs: &[(&str, i32)]) -> Result<String, Value> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let Some(&(_, arity)) = subs.iter().find(|(n, _)| *n == sub) else {
        return Err(Value::error(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            String::from_utf8_lossy(&args[1]),
            container.to_ascii_uppercase()
        )));
    };
    let n = args.len() as i32;
    if (arity > 0 && n != arity) || n < -arity {
        return Err(Value::error(format!("ERR wrong number of arguments for '{container}|{sub}' command")));
    }
    Ok(sub)
}

/// `addReplySubcommandSyntaxError`.
pub(crate) fn subcommand_syntax(args: &[Vec<u8>], container: &str) -> Value {
    Value::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1]),
        container.to_ascii_uppercase()
    ))
}

/// `addReplyHelp`.
pub(crate) fn help(container: &str, lines: &[&'static str]) -> Value {
    let first = format!("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", container.to_ascii_uppercase());
    let mut out = vec![Value::Simple(first.into())];
    out.extend(lines.iter().map(|l| Value::Simple((*l).into())));
    out.push(Value::Simple("HELP".into()));
    out.push(Value::Simple("    Prints this help.".into()));
    Value::Array(out)
}

fn no_group(key: &[u8], group: &[u8], tail: &str) -> Value {
    Value::error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{tail}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// Commands a group command propagates instead of itself, wrapped in
/// MULTI/EXEC when there are several (and no EXEC wraps them already).
fn propagate_all(x: &mut Exec<'_>, cmds: &[Vec<Vec<u8>>]) {
    let wrap = cmds.len() > 1 && !x.feed.in_multi;
    if wrap {
        x.propagate(&[b"MULTI"]);
    }
    for c in cmds {
        x.propagate(c);
    }
    if wrap {
        x.propagate(&[b"EXEC"]);
    }
    if x.feed.in_multi {
        x.feed.also += cmds.len().saturating_sub(1);
    }
}

/// `streamPropagateXCLAIM`: an idempotent XCLAIM recreating `id`'s pending entry.
fn xclaim_cmd(key: &[u8], group_name: &[u8], group: &Group, id: StreamId, nack: &Nack) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![b"XCLAIM".to_vec(), key.to_vec(), group_name.to_vec(), nack.consumer.clone()];
    out.extend([b"0".to_vec(), id.to_bytes(), b"TIME".to_vec(), nack.delivery_time.to_string().into_bytes()]);
    out.extend([b"RETRYCOUNT".to_vec(), nack.delivery_count.to_string().into_bytes(), b"FORCE".to_vec()]);
    out.extend([b"JUSTID".to_vec(), b"LASTID".to_vec(), group.last_id.to_bytes()]);
    out
}

/// `streamPropagateGroupID`.
fn setid_cmd(key: &[u8], group_name: &[u8], group: &Group) -> Vec<Vec<u8>> {
    let read = group.entries_read.map_or("-1".to_owned(), |n| n.to_string());
    let mut out: Vec<Vec<u8>> = vec![b"XGROUP".to_vec(), b"SETID".to_vec(), key.to_vec(), group_name.to_vec()];
    out.extend([group.last_id.to_bytes(), b"ENTRIESREAD".to_vec(), read.into_bytes()]);
    out
}

/// The stream at `key` and its group `name`, mutably.
fn group_mut<'x>(x: &'x mut Exec<'_>, key: &[u8], name: &[u8]) -> Result<Option<(&'x mut Stream, Group)>, Value> {
    let Some(s) = stream_mut(x, key)? else { return Ok(None) };
    // Taken out while it is worked on (a group reads the stream it belongs to); put back by the caller.
    Ok(s.groups.remove(name).map(|g| (s, g)))
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key... id..., and XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS ...
pub(crate) fn xread(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let req = match parse_read(name == "xreadgroup", args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let starts = match read_starts(&req, args, x) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut served = Vec::new();
    let mut cmds = Vec::new();
    for (i, gt) in starts.into_iter().enumerate() {
        let key = &args[req.streams + i];
        let found = match &req.group {
            Some((g, c)) => {
                // Redis looks each stream up again to serve it: a second read lookup.
                x.read(key);
                read_group(x, key, g, c, gt, &req, &mut cmds)
            }
            None => read_plain(x, key, gt, req.count),
        };
        if let Some(entries) = found {
            served.push((Value::Bulk(key.clone()), entries));
        }
    }
    // Redis also counts a change for a history read, which propagates nothing;
    // here a change is what propagates, so save points see the same writes as replicas.
    x.dirty += cmds.len() as u64;
    propagate_all(x, &cmds);
    if served.is_empty() {
        // With BLOCK, the caller blocks the client ([`wait_of`]) unless it may not block.
        return Value::NilArray;
    }
    streams_reply(x.resp3, served)
}

/// `[[key, entries], ...]`, a map for RESP3.
fn streams_reply(resp3: bool, served: Vec<(Value, Value)>) -> Value {
    if resp3 {
        Value::Map(served)
    } else {
        Value::Array(served.into_iter().map(|(k, v)| Value::Array(vec![k, v])).collect())
    }
}

/// What a blocked XREAD or XREADGROUP waits for (`bpop`'s stream fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamWait {
    /// Each stream, first occurrence first, with the ID its entries must follow
    /// (`$` resolved at block time; for a group, the group's last ID is read when served).
    pub(crate) after: Vec<(Vec<u8>, StreamId)>,
    group: Option<(Vec<u8>, Vec<u8>)>,
    count: usize,
    noack: bool,
}

/// For an XREAD/XREADGROUP that served nothing: its BLOCK timeout in ms (0:
/// none) and what it waits for, or `None` without BLOCK. Called after
/// [`xread`] answered, so the arguments are known to be valid.
pub(crate) fn wait_of(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<(i64, StreamWait)> {
    let req = parse_read(name == "xreadgroup", args).ok()?;
    let timeout_ms = req.block?;
    let starts = read_starts(&req, args, x).ok()?;
    let mut after: Vec<(Vec<u8>, StreamId)> = Vec::with_capacity(starts.len());
    for (i, gt) in starts.into_iter().enumerate() {
        let key = &args[req.streams + i];
        if !after.iter().any(|(k, _)| k == key) {
            after.push((key.clone(), gt.unwrap_or(StreamId::MAX)));
        }
    }
    Some((timeout_ms, StreamWait { after, group: req.group, count: req.count, noack: req.noack }))
}

/// `serveClientsBlockedOnStreamKey` for one client blocked on `key`: its
/// reply when the stream now has entries past what it waits after (or its
/// group or stream went away), `None` while it stays blocked.
pub(crate) fn serve_blocked(x: &mut Exec<'_>, key: &[u8], wait: &StreamWait) -> Option<Value> {
    let Ok(Some(s)) = stream_mut(x, key) else {
        return wait.group.as_ref().map(|_| Value::error("UNBLOCKED the stream key no longer exists"));
    };
    let entries = match &wait.group {
        None => {
            let gt = wait.after.iter().find(|(k, _)| k == key)?.1;
            if s.last_id <= gt {
                return None;
            }
            let start = gt.next().unwrap_or(StreamId::MAX);
            let take = if wait.count == 0 { usize::MAX } else { wait.count };
            Value::Array(s.range(start, StreamId::MAX, false).take(take).map(entry_reply).collect())
        }
        Some((group, consumer)) => {
            let Some(g) = s.groups.get(group.as_slice()) else {
                return Some(Value::error("NOGROUP the consumer group this client was blocked on no longer exists"));
            };
            if s.last_id <= g.last_id {
                return None;
            }
            let r = ReadReq {
                count: wait.count,
                block: None,
                woken: true,
                noack: wait.noack,
                group: None,
                streams: 0,
                n: 0,
            };
            let mut cmds = Vec::new();
            let entries = read_group(x, key, group, consumer, None, &r, &mut cmds)?;
            x.dirty += cmds.len() as u64;
            propagate_all(x, &cmds);
            entries
        }
    };
    Some(streams_reply(x.resp3, vec![(Value::Bulk(key.to_vec()), entries)]))
}

/// XREAD's parsed options.
struct ReadReq {
    count: usize,
    /// BLOCK's timeout in ms.
    block: Option<i64>,
    /// Served to a blocked client: `>` reads when the stream's last ID (not
    /// its last valid one) is past the group's, as `serveClientsBlockedOnStreamKey` does.
    woken: bool,
    noack: bool,
    group: Option<(Vec<u8>, Vec<u8>)>,
    /// Where the keys start.
    streams: usize,
    /// How many keys.
    n: usize,
}

fn parse_read(grouped: bool, args: &[Vec<u8>]) -> Result<ReadReq, Value> {
    let mut r = ReadReq { count: 0, block: None, woken: false, noack: false, group: None, streams: 0, n: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = args[i].to_ascii_lowercase();
        match o.as_slice() {
            b"block" if more > 0 => {
                i += 1;
                match parse_int(&args[i]) {
                    None => return Err(Value::error("ERR timeout is not an integer or out of range")),
                    Some(n) if n < 0 => return Err(Value::error("ERR timeout is negative")),
                    Some(ms) => r.block = Some(ms),
                }
            }
            b"count" if more > 0 => {
                i += 1;
                let n = parse_int(&args[i]).ok_or_else(not_an_integer)?;
                r.count = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
            }
            b"streams" if more > 0 => {
                r.streams = i + 1;
                if !(args.len() - r.streams).is_multiple_of(2) {
                    return Err(Value::error(
                        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                    ));
                }
                r.n = (args.len() - r.streams) / 2;
                break;
            }
            b"group" if more >= 2 => {
                if !grouped {
                    return Err(Value::error(
                        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 2;
            }
            b"noack" => {
                if !grouped {
                    return Err(Value::error(
                        "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                r.noack = true;
            }
            _ => return Err(Value::error("ERR syntax error")),
        }
        i += 1;
    }
    if r.streams == 0 {
        return Err(Value::error("ERR syntax error"));
    }
    if grouped && r.group.is_none() {
        return Err(Value::error("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// Where each stream's read starts (exclusive): `None` for `>`.
fn read_starts(r: &ReadReq, args: &[Vec<u8>], x: &mut Exec<'_>) -> Result<Vec<Option<StreamId>>, Value> {
    let mut out = Vec::with_capacity(r.n);
    for i in 0..r.n {
        let key = &args[r.streams + i];
        let arg = &args[r.streams + r.n + i];
        let s = stream(x, key)?;
        if let Some((g, _)) = &r.group
            && s.is_none_or(|s| !s.groups.contains_key(g))
        {
            return Err(no_group(key, g, " in XREADGROUP with GROUP option"));
        }
        out.push(match arg.as_slice() {
            b"$" if r.group.is_some() => return Err(Value::error(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            )),
            b"$" => Some(s.map_or(StreamId::MIN, |s| s.last_id)),
            b">" if r.group.is_none() => return Err(Value::error(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            )),
            b">" => None,
            _ => Some(strict_id(arg)?),
        });
    }
    Ok(out)
}

/// XREAD of one stream: entries after `gt`, if there are any.
fn read_plain(x: &mut Exec<'_>, key: &[u8], gt: Option<StreamId>, count: usize) -> Option<Value> {
    let s = stream(x, key).ok()??;
    let gt = gt?;
    if s.length == 0 || s.last_valid_id() <= gt {
        return None;
    }
    let start = gt.next().unwrap_or(StreamId::MAX);
    let take = if count == 0 { usize::MAX } else { count };
    Some(Value::Array(s.range(start, StreamId::MAX, false).take(take).map(entry_reply).collect()))
}

/// XREADGROUP of one stream: new entries for `>` (`gt` = `None`), else the consumer's history.
fn read_group(
    x: &mut Exec<'_>,
    key: &[u8],
    group_name: &[u8],
    consumer: &[u8],
    gt: Option<StreamId>,
    r: &ReadReq,
    cmds: &mut Vec<Vec<Vec<u8>>>,
) -> Option<Value> {
    let now = x.clock_ms;
    let (s, mut g) = group_mut(x, key, group_name).ok()??;
    let start = match gt {
        Some(gt) => gt,
        None if r.woken && s.last_id > g.last_id => g.last_id,
        None if s.length > 0 && s.last_valid_id() > g.last_id => g.last_id,
        None => {
            s.groups.insert(group_name.to_vec(), g);
            return None;
        }
    };
    let start = start.next().unwrap_or(StreamId::MAX);
    if !g.consumers.contains_key(consumer) && r.noack {
        cmds.push(vec![
            b"XGROUP".to_vec(),
            b"CREATECONSUMER".to_vec(),
            key.to_vec(),
            group_name.to_vec(),
            consumer.to_vec(),
        ]);
    }
    let created = !g.consumers.contains_key(consumer);
    g.consumers.entry(consumer.to_vec()).or_default().seen_time = now;
    let reply = match gt {
        Some(_) => history(s, &mut g, consumer, start, r.count, now),
        None => deliver(s, &mut g, (key, group_name, consumer), start, r, now, cmds),
    };
    s.groups.insert(group_name.to_vec(), g);
    if created {
        x.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    Some(reply)
}

/// New entries from `start` for `consumer` (`streamReplyWithRange` with a group).
fn deliver(
    s: &Stream,
    g: &mut Group,
    (key, group_name, consumer): (&[u8], &[u8], &[u8]),
    start: StreamId,
    r: &ReadReq,
    now: i64,
    cmds: &mut Vec<Vec<Vec<u8>>>,
) -> Value {
    let take = if r.count == 0 { usize::MAX } else { r.count };
    let entries: Vec<&super::Entry> = s.range(start, StreamId::MAX, false).take(take).collect();
    let mut moved = false;
    for e in &entries {
        moved |= e.id > g.last_id;
        s.advance_group(g, e.id);
        if r.noack {
            continue;
        }
        let nack = Nack { consumer: consumer.to_vec(), delivery_time: now, delivery_count: 1 };
        if let Some(old) = g.pel.insert(e.id, nack.clone())
            && let Some(c) = g.consumers.get_mut(&old.consumer)
        {
            c.pel.remove(&e.id);
        }
        g.consumers.entry(consumer.to_vec()).or_default().pel.insert(e.id);
        cmds.push(xclaim_cmd(key, group_name, g, e.id, &nack));
    }
    if r.noack && moved {
        cmds.push(setid_cmd(key, group_name, g));
    }
    Value::Array(entries.into_iter().map(entry_reply).collect())
}

/// The consumer's own pending entries from `start` (`streamReplyWithRangeFromConsumerPEL`):
/// a deleted entry comes back as its ID and a nil.
fn history(s: &Stream, g: &mut Group, consumer: &[u8], start: StreamId, count: usize, now: i64) -> Value {
    let take = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> =
        g.consumers.get(consumer).map(|c| c.pel.range(start..).take(take).copied().collect()).unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                out.push(entry_reply(e));
                if let Some(n) = g.pel.get_mut(&id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                }
            }
            None => out.push(Value::Array(vec![Value::Bulk(id.to_bytes()), Value::NilArray])),
        }
    }
    Value::Array(out)
}

const XGROUP_SUBS: &[(&str, i32)] =
    &[("create", -5), ("setid", -5), ("destroy", 4), ("createconsumer", 5), ("delconsumer", 5), ("help", 2)];

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP.
pub(crate) fn xgroup(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let sub = match subcommand(args, "xgroup", XGROUP_SUBS) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if sub == "help" {
        return help("xgroup", XGROUP_HELP);
    }
    let (mkstream, entries_read) = match xgroup_options(&sub, args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (key, name) = (&args[2], &args[3]);
    let exists = match stream_to_change(x, key) {
        Err(e) => return e,
        Ok(s) => s.map(|s| s.groups.contains_key(name.as_slice())),
    };
    if !mkstream {
        match exists {
            None => {
                return Value::error(
                    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
                );
            }
            Some(false) if matches!(sub.as_str(), "setid" | "createconsumer" | "delconsumer") => {
                return Value::error(format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(key)
                ));
            }
            _ => {}
        }
    }
    match sub.as_str() {
        "create" if args.len() <= 8 => create(args, x, entries_read),
        "setid" if args.len() == 5 || args.len() == 7 => setid(args, x, entries_read),
        "destroy" => {
            let Ok(Some(s)) = stream_mut(x, key) else { return Value::Integer(0) };
            if s.groups.remove(name.as_slice()).is_none() {
                return Value::Integer(0);
            }
            x.dirty += 1;
            x.propagate(args);
            // Its blocked readers learn it is gone (`signalKeyAsReady`).
            x.db().signal_stream(key);
            x.notify(notify::STREAM, "xgroup-destroy", key);
            Value::Integer(1)
        }
        "createconsumer" => {
            let now = x.clock_ms;
            let Ok(Some(s)) = stream_mut(x, key) else { return Value::Integer(0) };
            let Some(g) = s.groups.get_mut(name.as_slice()) else { return Value::Integer(0) };
            if g.consumers.contains_key(&args[4]) {
                return Value::Integer(0);
            }
            g.consumers.insert(args[4].clone(), Consumer { seen_time: now, ..Consumer::default() });
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::STREAM, "xgroup-createconsumer", key);
            Value::Integer(1)
        }
        "delconsumer" => {
            let Ok(Some(s)) = stream_mut(x, key) else { return Value::Integer(0) };
            let Some(g) = s.groups.get_mut(name.as_slice()) else { return Value::Integer(0) };
            let Some(c) = g.consumers.remove(&args[4]) else { return Value::Integer(0) };
            for id in &c.pel {
                g.pel.remove(id);
            }
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::STREAM, "xgroup-delconsumer", key);
            Value::Integer(c.pel.len() as i64)
        }
        _ => subcommand_syntax(args, "xgroup"),
    }
}

/// CREATE's MKSTREAM and CREATE's and SETID's ENTRIESREAD (`None`: -1, unknown).
fn xgroup_options(sub: &str, args: &[Vec<u8>]) -> Result<(bool, Option<u64>), Value> {
    let (mut mkstream, mut read) = (false, None);
    let mut i = 5;
    while i < args.len() {
        let a = &args[i];
        if sub == "create" && a.eq_ignore_ascii_case(b"mkstream") {
            mkstream = true;
            i += 1;
        } else if matches!(sub, "create" | "setid") && a.eq_ignore_ascii_case(b"entriesread") && i + 1 < args.len() {
            match parse_int(&args[i + 1]) {
                None => return Err(not_an_integer()),
                Some(-1) => read = None,
                Some(n) if n < 0 => return Err(Value::error("ERR value for ENTRIESREAD must be positive or -1")),
                Some(n) => read = Some(n as u64),
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(args, "xgroup"));
        }
    }
    Ok((mkstream, read))
}

fn create(args: &[Vec<u8>], x: &mut Exec<'_>, entries_read: Option<u64>) -> Value {
    let key = &args[2];
    let last = match stream_to_change(x, key) {
        Err(e) => return e,
        Ok(s) => s.map(|s| s.last_id),
    };
    let id = match args[4].as_slice() {
        b"$" => last.unwrap_or(StreamId::MIN),
        arg => match strict_id(arg) {
            Ok(id) => id,
            Err(e) => return e,
        },
    };
    if last.is_none() {
        x.db().insert(key.clone(), Data::Stream(Box::default()));
    }
    let Ok(Some(s)) = stream_mut(x, key) else { return Value::Nil };
    if s.groups.contains_key(&args[3]) {
        return Value::error("BUSYGROUP Consumer Group name already exists");
    }
    let group = Group { last_id: id, entries_read, pel: Default::default(), consumers: Default::default() };
    s.groups.insert(args[3].clone(), group);
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::STREAM, "xgroup-create", key);
    Value::ok()
}

fn setid(args: &[Vec<u8>], x: &mut Exec<'_>, entries_read: Option<u64>) -> Value {
    let Ok(Some(s)) = stream_mut(x, &args[2]) else { return Value::Nil };
    let id = match args[4].as_slice() {
        b"$" => s.last_id,
        arg => match super::parse_id(arg, 0, false, false) {
            Some(p) => p.id,
            None => return super::invalid_id(),
        },
    };
    let Some(g) = s.groups.get_mut(args[3].as_slice()) else { return Value::Nil };
    g.last_id = id;
    g.entries_read = entries_read;
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::STREAM, "xgroup-setid", &args[2]);
    Value::ok()
}

/// XACK key group id [id ...].
pub(crate) fn xack(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let group = match stream(x, &args[1]) {
        Err(e) => return e,
        Ok(s) => s.and_then(|s| s.groups.get(args[2].as_slice())).is_some(),
    };
    if !group {
        return Value::Integer(0);
    }
    let ids = match args[3..].iter().map(|a| strict_id(a)).collect::<Result<Vec<_>, _>>() {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let Ok(Some(s)) = stream_mut(x, &args[1]) else { return Value::Integer(0) };
    let Some(g) = s.groups.get_mut(args[2].as_slice()) else { return Value::Integer(0) };
    let mut acked = 0;
    for id in ids {
        if let Some(n) = g.pel.remove(&id) {
            if let Some(c) = g.consumers.get_mut(&n.consumer) {
                c.pel.remove(&id);
            }
            acked += 1;
        }
    }
    if acked > 0 {
        x.dirty += acked as u64;
        x.propagate(args);
    }
    Value::Integer(acked)
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]].
pub(crate) fn xpending(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let n = args.len();
    if n != 3 && !(6..=9).contains(&n) {
        return Value::error("ERR syntax error");
    }
    let range = match pending_range(args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let now = x.clock_ms;
    let s = match stream(x, &args[1]) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(args[2].as_slice())) else {
        return no_group(&args[1], &args[2], "");
    };
    let Some(r) = range else { return pending_summary(g) };
    let pel: Box<dyn Iterator<Item = StreamId>> = match &r.consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => Box::new(c.pel.range(r.start..).copied()),
            None => return Value::Array(Vec::new()),
        },
        None => Box::new(g.pel.range(r.start..).map(|(id, _)| *id)),
    };
    let mut out = Vec::new();
    for id in pel.take_while(|id| *id <= r.end) {
        if out.len() as u64 >= r.count {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        let idle = now - nack.delivery_time;
        if r.min_idle != 0 && idle < r.min_idle {
            continue;
        }
        out.push(Value::Array(vec![
            Value::Bulk(id.to_bytes()),
            Value::Bulk(nack.consumer.clone()),
            Value::Integer(idle.max(0)),
            Value::Integer(nack.delivery_count as i64),
        ]));
    }
    Value::Array(out)
}

struct PendingRange {
    min_idle: i64,
    start: StreamId,
    end: StreamId,
    count: u64,
    consumer: Option<Vec<u8>>,
}

fn pending_range(args: &[Vec<u8>]) -> Result<Option<PendingRange>, Value> {
    if args.len() < 6 {
        return Ok(None);
    }
    let mut at = 3;
    let mut min_idle = 0;
    if args[3].eq_ignore_ascii_case(b"idle") {
        min_idle = parse_int(&args[4]).ok_or_else(not_an_integer)?;
        if args.len() < 8 {
            return Err(Value::error("ERR syntax error"));
        }
        at += 2;
    }
    let count = parse_int(&args[at + 2]).ok_or_else(not_an_integer)?.max(0) as u64;
    let start = range_start(&args[at])?;
    let end = range_end(&args[at + 1])?;
    let consumer = args.get(at + 3).cloned();
    Ok(Some(PendingRange { min_idle, start, end, count, consumer }))
}

fn pending_summary(g: &Group) -> Value {
    let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value()) else {
        return Value::Array(vec![Value::Integer(0), Value::Nil, Value::Nil, Value::NilArray]);
    };
    let owners = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).map(|(name, c)| {
        Value::Array(vec![Value::Bulk(name.clone()), Value::Bulk(c.pel.len().to_string().into_bytes())])
    });
    Value::Array(vec![
        Value::Integer(g.pel.len() as i64),
        Value::Bulk(first.to_bytes()),
        Value::Bulk(last.to_bytes()),
        Value::Array(owners.collect()),
    ])
}

/// XCLAIM's options.
struct ClaimOpts {
    force: bool,
    justid: bool,
    /// Delivery time to set; `None`: now.
    time: Option<i64>,
    retry: Option<u64>,
    last_id: StreamId,
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id].
pub(crate) fn xclaim(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let now = x.clock_ms;
    let exists = match stream(x, &args[1]) {
        Err(e) => return e,
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(args[2].as_slice())),
    };
    if !exists {
        return no_group(&args[1], &args[2], "");
    }
    let min_idle = match parse_int(&args[4]) {
        Some(n) => n.max(0),
        None => return Value::error("ERR Invalid min-idle-time argument for XCLAIM"),
    };
    let ids: Vec<StreamId> = args[5..].iter().map_while(|a| strict_id(a).ok()).collect();
    let opts = match claim_options(&args[5 + ids.len()..], now) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let Ok(Some((s, mut g))) = group_mut(x, &args[1], &args[2]) else { return Value::Nil };
    let had_consumer = g.consumers.contains_key(&args[3]);
    let mut cmds = Vec::new();
    let mut moved = false;
    if opts.last_id > g.last_id {
        g.last_id = opts.last_id;
        moved = true;
    }
    let time = opts.time.map_or(now, |t| if t < 0 || t > now { now } else { t });
    let mut out = Vec::new();
    for id in ids {
        let Some(entry) = s.get(id) else {
            if let Some(nack) = g.pel.remove(&id) {
                cmds.push(xclaim_cmd(&args[1], &args[2], &g, id, &nack));
                moved = false;
                if let Some(c) = g.consumers.get_mut(&nack.consumer) {
                    c.pel.remove(&id);
                }
            }
            continue;
        };
        if opts.force && !g.pel.contains_key(&id) {
            g.pel.insert(id, Nack { consumer: Vec::new(), delivery_time: 0, delivery_count: 0 });
        } else if let Some(nack) = g.pel.get(&id) {
            // A FORCE-made entry has no owner yet and no idle time to respect.
            if min_idle != 0 && !nack.consumer.is_empty() && now - nack.delivery_time < min_idle {
                continue;
            }
        } else {
            continue;
        }
        let nack = claim(&mut g, id, &args[3], now, time, opts.retry, opts.justid);
        out.push(if opts.justid { Value::Bulk(id.to_bytes()) } else { entry_reply(entry) });
        cmds.push(xclaim_cmd(&args[1], &args[2], &g, id, &nack));
        moved = false;
    }
    if moved {
        cmds.push(setid_cmd(&args[1], &args[2], &g));
    }
    let created = !had_consumer && g.consumers.contains_key(&args[3]);
    s.groups.insert(args[2].clone(), g);
    x.dirty += cmds.len() as u64;
    propagate_all(x, &cmds);
    if created {
        x.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    Value::Array(out)
}

/// Gives pending entry `id` to `consumer` (created if new, seen now).
fn claim(g: &mut Group, id: StreamId, consumer: &[u8], now: i64, time: i64, retry: Option<u64>, justid: bool) -> Nack {
    g.consumers.entry(consumer.to_vec()).or_default().seen_time = now;
    let nack = g.pel.get_mut(&id).expect("the caller found or made it");
    if nack.consumer != consumer {
        if let Some(old) = g.consumers.get_mut(&nack.consumer) {
            old.pel.remove(&id);
        }
        nack.consumer = consumer.to_vec();
    }
    nack.delivery_time = time;
    match retry {
        Some(n) => nack.delivery_count = n,
        None if !justid => nack.delivery_count += 1,
        None => {}
    }
    let nack = nack.clone();
    g.consumers.get_mut(consumer).expect("made above").pel.insert(id);
    nack
}

fn claim_options(opts: &[Vec<u8>], now: i64) -> Result<ClaimOpts, Value> {
    let mut o = ClaimOpts { force: false, justid: false, time: None, retry: None, last_id: StreamId::MIN };
    let mut j = 0;
    let int = |a: &[u8], what: &str| {
        parse_int(a).ok_or_else(|| Value::error(format!("ERR Invalid {what} option argument for XCLAIM")))
    };
    while j < opts.len() {
        let more = j + 1 < opts.len();
        let opt = opts[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"force" => o.force = true,
            b"justid" => o.justid = true,
            b"idle" if more => {
                j += 1;
                o.time = Some(now - int(&opts[j], "IDLE")?);
            }
            b"time" if more => {
                j += 1;
                o.time = Some(int(&opts[j], "TIME")?);
            }
            b"retrycount" if more => {
                j += 1;
                o.retry = Some(int(&opts[j], "RETRYCOUNT")? as u64);
            }
            b"lastid" if more => {
                j += 1;
                o.last_id = strict_id(&opts[j])?;
            }
            _ => {
                return Err(Value::error(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(&opts[j])
                )));
            }
        }
        j += 1;
    }
    Ok(o)
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID].
pub(crate) fn xautoclaim(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    // Redis looks the key up before it parses the arguments (a read lookup,
    // counted even when an argument is then refused).
    x.read(&args[1]);
    let now = x.clock_ms;
    let min_idle = match parse_int(&args[4]) {
        Some(n) => n.max(0),
        None => return Value::error("ERR Invalid min-idle-time argument for XAUTOCLAIM"),
    };
    let start = match range_start(&args[5]) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (mut count, mut justid) = (100i64, false);
    let mut j = 6;
    while j < args.len() {
        if args[j].eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            match parse_int(&args[j + 1]) {
                Some(n) if (1..=i64::MAX / 16).contains(&n) => count = n,
                _ => return Value::error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if args[j].eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Value::error("ERR syntax error");
        }
        j += 1;
    }
    let exists = match stream_to_change(x, &args[1]) {
        Err(e) => return e,
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(args[2].as_slice())),
    };
    if !exists {
        return no_group(&args[1], &args[2], "");
    }
    let Ok(Some((s, mut g))) = group_mut(x, &args[1], &args[2]) else { return Value::Nil };
    let had_consumer = g.consumers.contains_key(&args[3]);
    let (mut claimed, mut deleted, mut cmds) = (Vec::new(), Vec::new(), Vec::new());
    let mut attempts = count.saturating_mul(10);
    let mut cursor = g.pel.range(start..).map(|(id, _)| *id).next();
    while let Some(id) = cursor {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        cursor = g.pel.range(id..).map(|(id, _)| *id).find(|n| *n > id);
        let Some(entry) = s.get(id) else {
            let nack = g.pel.remove(&id).expect("in the PEL");
            cmds.push(xclaim_cmd(&args[1], &args[2], &g, id, &nack));
            if let Some(c) = g.consumers.get_mut(&nack.consumer) {
                c.pel.remove(&id);
            }
            deleted.push(Value::Bulk(id.to_bytes()));
            count -= 1;
            continue;
        };
        if min_idle != 0 && now - g.pel[&id].delivery_time < min_idle {
            continue;
        }
        let nack = claim(&mut g, id, &args[3], now, now, None, justid);
        claimed.push(if justid { Value::Bulk(id.to_bytes()) } else { entry_reply(entry) });
        count -= 1;
        cmds.push(xclaim_cmd(&args[1], &args[2], &g, id, &nack));
    }
    let created = !had_consumer && g.consumers.contains_key(&args[3]);
    s.groups.insert(args[2].clone(), g);
    x.dirty += cmds.len() as u64;
    propagate_all(x, &cmds);
    if created {
        x.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    let next = cursor.unwrap_or(StreamId::MIN);
    Value::Array(vec![Value::Bulk(next.to_bytes()), Value::Array(claimed), Value::Array(deleted)])
}
