//! XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD and XSETID, with Redis
//! 7.0's replies, errors and propagation (XADD with its generated ID, an
//! approximate trim as the exact one it turned out to be).

use super::{ParsedId, Stream, StreamId, Trim, entry_reply, invalid_id, parse_id, range_end, range_start, strict_id};
use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;

/// Runs a stream command; `None` if `name` is not one.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "xadd" => xadd(args, x),
        "xrange" => xrange(args, x, false),
        "xrevrange" => xrange(args, x, true),
        "xlen" => match stream(x, &args[1]) {
            Ok(s) => Value::Integer(s.map_or(0, |s| s.length as i64)),
            Err(e) => e,
        },
        "xdel" => xdel(args, x),
        "xtrim" => xtrim(args, x),
        "xread" | "xreadgroup" => super::groups::xread(name, args, x),
        "xsetid" => xsetid(args, x),
        "xgroup" => super::groups::xgroup(args, x),
        "xack" => super::groups::xack(args, x),
        "xpending" => super::groups::xpending(args, x),
        "xclaim" => super::groups::xclaim(args, x),
        "xautoclaim" => super::groups::xautoclaim(args, x),
        "xinfo" => super::info::xinfo(args, x),
        _ => return None,
    })
}

/// The stream at `key`, if any; another type is WRONGTYPE. A read lookup
/// (a keyspace hit or miss), as XLEN, XRANGE, XREAD, XINFO, XPENDING, XACK
/// and the claims make it.
pub(crate) fn stream<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x Stream>, Value> {
    typed(x.read(key))
}

/// [`stream`] for XGROUP, whose lookups are writes' (not counted).
pub(crate) fn stream_to_change<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x Stream>, Value> {
    typed(x.lookup(key))
}

fn typed(value: Option<&Data>) -> Result<Option<&Stream>, Value> {
    match value {
        None => Ok(None),
        Some(Data::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type()),
    }
}

/// The stream at `key`, mutably.
pub(crate) fn stream_mut<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x mut Stream>, Value> {
    match x.lookup_mut(key) {
        None => Ok(None),
        Some(Data::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type()),
    }
}

pub(crate) fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

fn syntax_error() -> Value {
    Value::error("ERR syntax error")
}

/// XADD's and XTRIM's options (`streamAddTrimArgs`).
#[derive(Default)]
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Entries an approximate trim may remove (0: no cap).
    limit: u64,
    /// Where the threshold argument is (the `~` or `=` before it, if any, is at `at - 1`).
    at: usize,
    nomkstream: bool,
    id: Option<ParsedId>,
    /// XADD: where the ID is.
    id_at: usize,
}

/// `streamParseAddOrTrimArgsOrReply`.
fn parse_trim_args(args: &[Vec<u8>], xadd: bool, obey: bool, node_entries: usize) -> Result<TrimArgs, Value> {
    let mut t = TrimArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args[i].to_ascii_lowercase();
        match opt.as_slice() {
            b"*" if xadd => break,
            b"maxlen" | b"minid" if more > 0 => {
                if t.trim.is_some() {
                    return Err(Value::error(
                        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                    ));
                }
                t.approx = false;
                if more >= 2 && (args[i + 1] == b"~" || args[i + 1] == b"=") {
                    t.approx = args[i + 1] == b"~";
                    i += 1;
                }
                let arg = &args[i + 1];
                t.trim = Some(if opt == b"maxlen" {
                    let n = parse_int(arg).ok_or_else(not_an_integer)?;
                    Trim::MaxLen(u64::try_from(n).map_err(|_| Value::error("ERR The MAXLEN argument must be >= 0."))?)
                } else {
                    Trim::MinId(strict_id(arg)?)
                });
                i += 1;
                t.at = i;
            }
            b"limit" if more > 0 => {
                let n = parse_int(&args[i + 1]).ok_or_else(not_an_integer)?;
                t.limit = u64::try_from(n).map_err(|_| Value::error("ERR The LIMIT argument must be >= 0."))?;
                limit_given = true;
                i += 1;
            }
            b"nomkstream" if xadd => t.nomkstream = true,
            _ if xadd => {
                t.id = Some(parse_id(&args[i], 0, true, true).ok_or_else(invalid_id)?);
                break;
            }
            _ => return Err(syntax_error()),
        }
        i += 1;
    }
    t.id_at = i;
    if t.limit != 0 && t.trim.is_none() {
        return Err(Value::error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && t.trim.is_none() {
        return Err(Value::error("ERR syntax error, XTRIM must be called with a trimming strategy"));
    }
    if obey {
        t.limit = 0;
    } else if limit_given && !t.approx {
        return Err(Value::error("ERR syntax error, LIMIT cannot be used without the special ~ option"));
    } else if !limit_given {
        // 100 × stream-node-max-entries for `~`, within 1..=1000000 (10000 for 0); no cap for an exact trim.
        t.limit = if t.approx { approx_trim_limit(node_entries) } else { 0 };
    }
    Ok(t)
}

/// The LIMIT an approximate trim gets by default: 100 nodes of
/// `stream-node-max-entries`, 10000 when that is 0, at most a million.
fn approx_trim_limit(node_entries: usize) -> u64 {
    match (node_entries as u64).saturating_mul(100) {
        0 => 10_000,
        n => n.min(1_000_000),
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
fn xadd(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let limits = x.db().limits;
    let t = match parse_trim_args(args, true, x.obey, limits.stream_node_entries) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let fields_at = t.id_at + 1;
    if args.len() < fields_at + 2 || !(args.len() - fields_at).is_multiple_of(2) {
        return Value::error("ERR wrong number of arguments for 'xadd' command");
    }
    if t.id.is_some_and(|p| p.seq_given && p.id == StreamId::MIN) {
        return Value::error("ERR The ID specified in XADD must be greater than 0-0");
    }
    let now = u64::try_from(x.clock_ms).unwrap_or(0);
    let key = &args[1];
    let s = match stream_mut(x, key) {
        Err(e) => return e,
        Ok(Some(s)) => s,
        Ok(None) if t.nomkstream => return Value::Nil,
        Ok(None) => {
            x.db().insert(key.clone(), Data::Stream(Box::default()));
            match x.db().keys.get_mut(key) {
                Some(Data::Stream(s)) => s,
                _ => unreachable!("inserted above"),
            }
        }
    };
    if s.last_id == StreamId::MAX {
        return Value::error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let id = match next_id(s, t.id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let fields = args[fields_at..].chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    s.append(id, fields, &limits);
    let mut out = args.to_vec();
    let mut trimmed = 0;
    if let Some(how) = t.trim {
        trimmed = s.trim(how, t.approx, t.limit);
        if t.approx {
            rewrite_trim(&mut out, &t, s);
        }
    }
    if t.id.is_none_or(|p| !p.seq_given) {
        out[t.id_at] = id.to_bytes();
    }
    x.dirty += 1;
    x.propagate(&out);
    x.db().signal_stream(key);
    x.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        x.notify(notify::STREAM, "xtrim", key);
    }
    Value::Bulk(id.to_bytes())
}

/// The ID XADD adds with (`streamAppendItem`'s checks).
fn next_id(s: &Stream, given: Option<ParsedId>, now_ms: u64) -> Result<StreamId, Value> {
    let last = s.last_id;
    let id = match given {
        Some(p) if p.seq_given => p.id,
        Some(p) if p.id.ms == last.ms => match last.seq.checked_add(1) {
            Some(seq) => StreamId { ms: last.ms, seq },
            None => return Err(Value::error("ERR Elements are too large to be stored")),
        },
        Some(p) => p.id,
        None if now_ms > last.ms => StreamId { ms: now_ms, seq: 0 },
        None => last.next().unwrap_or(StreamId::MIN),
    };
    if id <= last {
        return Err(Value::error("ERR The ID specified in XADD is equal or smaller than the target stream top item"));
    }
    Ok(id)
}

/// An approximate trim propagates as the exact one it amounted to
/// (`streamRewriteApproxSpecifier`, `streamRewriteTrimArgument`).
fn rewrite_trim(out: &mut [Vec<u8>], t: &TrimArgs, s: &Stream) {
    out[t.at - 1] = b"=".to_vec();
    out[t.at] = match t.trim {
        Some(Trim::MaxLen(_)) => s.length.to_string().into_bytes(),
        _ => s.edge_id(true, false).to_bytes(),
    };
}

/// XRANGE key start end [COUNT n], XREVRANGE key end start [COUNT n].
fn xrange(args: &[Vec<u8>], x: &mut Exec<'_>, rev: bool) -> Value {
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let (start, end) = match (range_start(start_arg), range_end(end_arg)) {
        (Err(e), _) | (Ok(_), Err(e)) => return e,
        (Ok(s), Ok(e)) => (s, e),
    };
    let mut count: Option<usize> = None;
    let mut j = 4;
    while j < args.len() {
        if !args[j].eq_ignore_ascii_case(b"count") || j + 1 >= args.len() {
            return syntax_error();
        }
        match parse_int(&args[j + 1]) {
            Some(n) => count = Some(usize::try_from(n.max(0)).unwrap_or(usize::MAX)),
            None => return not_an_integer(),
        }
        j += 2;
    }
    let s = match stream(x, &args[1]) {
        Err(e) => return e,
        Ok(None) => return Value::Array(Vec::new()),
        Ok(Some(s)) => s,
    };
    if count == Some(0) {
        return Value::NilArray;
    }
    let found = s.range(start, end, rev).take(count.unwrap_or(usize::MAX));
    Value::Array(found.map(entry_reply).collect())
}

/// XDEL key id [id ...].
fn xdel(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let s = match stream_mut(x, &args[1]) {
        Err(e) => return e,
        Ok(None) => return Value::Integer(0),
        Ok(Some(s)) => s,
    };
    let ids = match args[2..].iter().map(|a| strict_id(a)).collect::<Result<Vec<_>, _>>() {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            first |= id == s.first_id;
            s.max_deleted = s.max_deleted.max(id);
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.length == 0 {
            s.first_id = StreamId::MIN;
        } else if first {
            s.first_id = s.edge_id(true, true);
        }
        x.dirty += deleted;
        x.propagate(args);
        x.notify(notify::STREAM, "xdel", &args[1]);
    }
    Value::Integer(deleted as i64)
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count].
fn xtrim(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let t = match parse_trim_args(args, false, x.obey, x.db().limits.stream_node_entries) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let s = match stream_mut(x, &args[1]) {
        Err(e) => return e,
        Ok(None) => return Value::Integer(0),
        Ok(Some(s)) => s,
    };
    let Some(how) = t.trim else { return Value::Integer(0) };
    let deleted = s.trim(how, t.approx, t.limit);
    if deleted > 0 {
        let mut out = args.to_vec();
        if t.approx {
            rewrite_trim(&mut out, &t, s);
        }
        x.dirty += deleted;
        x.propagate(&out);
        x.notify(notify::STREAM, "xtrim", &args[1]);
    }
    Value::Integer(deleted as i64)
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
fn xsetid(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let id = match strict_id(&args[2]) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let (mut added, mut max_deleted) = (None, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if args[i].eq_ignore_ascii_case(b"entriesadded") && more {
            match parse_int(&args[i + 1]) {
                None => return not_an_integer(),
                Some(n) if n < 0 => return Value::error("ERR entries_added must be positive"),
                Some(n) => added = Some(n as u64),
            }
        } else if args[i].eq_ignore_ascii_case(b"maxdeletedid") && more {
            match strict_id(&args[i + 1]) {
                Err(e) => return e,
                Ok(m) if id < m => {
                    return Value::error(
                        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                    );
                }
                Ok(m) => max_deleted = m,
            }
        } else {
            return syntax_error();
        }
        i += 2;
    }
    let s = match stream_mut(x, &args[1]) {
        Err(e) => return e,
        Ok(None) => return Value::error("ERR no such key"),
        Ok(Some(s)) => s,
    };
    if s.length > 0 {
        if id < s.last_valid_id() {
            return Value::error("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if added.is_some_and(|a| s.length > a) {
            return Value::error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if let Some(a) = added {
        s.entries_added = a;
    }
    if max_deleted != StreamId::MIN {
        s.max_deleted = max_deleted;
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::STREAM, "xsetid", &args[1]);
    Value::ok()
}
