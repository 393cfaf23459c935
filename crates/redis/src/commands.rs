//! Keyspace commands: arity as Redis declares it (positive: exact, negative:
//! at least), argument parsing and the exact reply and error texts.

use crate::command_table::Command;
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::collections::BTreeSet;

/// The longest command name in [`crate::command_table`] fits in this many bytes.
pub(crate) const NAME_MAX: usize = 20;

/// A command name lowercased into `buf` without allocating, for dispatch. A
/// name that is too long or not UTF-8 comes back empty: no command has either.
pub(crate) fn lowercase_name<'a>(arg: &[u8], buf: &'a mut [u8; NAME_MAX]) -> &'a str {
    let Some(out) = buf.get_mut(..arg.len()) else { return "" };
    for (o, &b) in out.iter_mut().zip(arg) {
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).unwrap_or("")
}

/// The decimal form of `n`, as `n.to_string()` would write it, in `buf`
/// (without allocating).
pub(crate) fn int_text(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Redis's `string2ll`, as every integer argument is parsed.
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    resp::parse_ll(bytes)
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// Runs a keyspace command whose arity has been checked, then updates
/// what its keys cost and their access fields ([`crate::memory::after_command`]).
pub(crate) fn keyspace(command: &'static Command, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let reply = run(command.name, args, x);
    crate::memory::after_command(command, args, x);
    reply
}

/// [`keyspace`] by name, for tests: a name the table lacks is answered as
/// an unknown command.
#[cfg(test)]
pub(crate) fn keyspace_named(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    match crate::command_table::lookup(name) {
        Some(command) => keyspace(command, args, x),
        None => run(name, args, x),
    }
}

fn run(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    // Arms are tried in order: SET, the commonest, comes first.
    match name {
        "set" => set(args, x),
        "ping" => match args.len() {
            1 => Value::Simple("PONG".into()),
            2 => Value::Bulk(args[1].clone()),
            _ => Value::error("ERR wrong number of arguments for 'ping' command"),
        },
        "echo" => Value::Bulk(args[1].clone()),
        "dump" => crate::migrate::dump(args, x),
        "object" => object(args, x),
        "restore" | "restore-asking" => crate::migrate::restore(args, x),
        "get" => match x.read(&args[1]) {
            None => Value::Nil,
            Some(Data::Str(v)) => Value::Bulk(v.to_vec()),
            Some(_) => wrong_type(),
        },
        "getset" => {
            let old = match x.read(&args[1]) {
                None => None,
                Some(Data::Str(v)) => Some(v.to_vec()),
                Some(_) => return wrong_type(),
            };
            let db = x.db();
            db.insert(args[1].clone(), Data::Str(crate::keyspace::Str::from_slice(&args[2])));
            db.expires.remove(&args[1]);
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::STRING, "set", &args[1]);
            old.map_or(Value::Nil, Value::Bulk)
        }
        "mset" => {
            if args.len().is_multiple_of(2) {
                return Value::error("ERR wrong number of arguments for 'mset' command");
            }
            for pair in args[1..].chunks(2) {
                x.lookup_mut(&pair[0]);
                let db = x.db();
                db.insert(pair[0].clone(), Data::Str(crate::keyspace::Str::from_slice(&pair[1])));
                db.expires.remove(&pair[0]);
                x.notify(notify::STRING, "set", &pair[0]);
            }
            x.dirty += (args.len() as u64 - 1) / 2;
            x.propagate(args);
            Value::ok()
        }
        "mget" => Value::Array(
            args[1..]
                .iter()
                .map(|k| match x.read(k) {
                    Some(Data::Str(v)) => Value::Bulk(v.to_vec()),
                    _ => Value::Nil,
                })
                .collect(),
        ),
        // UNLINK frees in the background in Redis; the reply and what propagates are DEL's.
        "del" | "unlink" => {
            let mut n = 0;
            for k in &args[1..] {
                if x.lookup(k).is_some() {
                    x.db().remove(k);
                    x.notify(notify::GENERIC, "del", k);
                    n += 1;
                }
            }
            if n > 0 {
                x.dirty += n as u64;
                x.propagate(args);
            }
            Value::Integer(n)
        }
        "exists" => Value::Integer(args[1..].iter().filter(|k| x.read(k).is_some()).count() as i64),
        "rename" | "renamenx" => rename(name == "renamenx", args, x),
        // Any existing key blocks SETNX, whatever its type.
        "setnx" => {
            if x.lookup(&args[1]).is_some() {
                return Value::Integer(0);
            }
            x.db().keys.insert(args[1].clone(), Data::Str(crate::keyspace::Str::from_slice(&args[2])));
            x.db().note_added(&args[1]);
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::STRING, "set", &args[1]);
            Value::Integer(1)
        }
        "incr" | "decr" | "incrby" | "decrby" => {
            let delta = match name {
                "incr" => 1,
                "decr" => -1,
                _ => match parse_int(&args[2]) {
                    Some(d) if name == "incrby" => d,
                    Some(d) if d != i64::MIN => -d,
                    Some(_) => return Value::error("ERR decrement would overflow"),
                    None => return not_an_integer(),
                },
            };
            let db_index = x.db;
            let slot = x.lookup_mut(&args[1]);
            let current = match &slot {
                None => 0,
                Some(Data::Str(v)) => match parse_int(v) {
                    Some(n) => n,
                    None => return not_an_integer(),
                },
                Some(_) => return wrong_type(),
            };
            match current.checked_add(delta) {
                Some(n) => {
                    match slot {
                        // Rewritten in place: one lookup, no allocation for the key or the digits.
                        Some(Data::Str(v)) => {
                            v.clear();
                            v.extend_from_slice(int_text(n, &mut [0; 20]));
                            x.dbs[db_index].forget_encoding(&args[1]);
                        }
                        _ => {
                            let digits = crate::keyspace::Str::from_slice(int_text(n, &mut [0; 20]));
                            x.dbs[db_index].insert(args[1].clone(), Data::Str(digits));
                        }
                    }
                    x.dirty += 1;
                    x.propagate(args);
                    x.notify(notify::STRING, "incrby", &args[1]);
                    Value::Integer(n)
                }
                None => Value::error("ERR increment or decrement would overflow"),
            }
        }
        "append" => {
            let len = match x.lookup_mut(&args[1]) {
                Some(Data::Str(v)) => {
                    v.extend_from_slice(&args[2]);
                    let len = v.len();
                    x.db().note_growth(&args[1]);
                    len
                }
                Some(_) => return wrong_type(),
                None => {
                    x.db().insert(args[1].clone(), Data::Str(crate::keyspace::Str::from_slice(&args[2])));
                    args[2].len()
                }
            };
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::STRING, "append", &args[1]);
            Value::Integer(len as i64)
        }
        "strlen" => match x.read(&args[1]) {
            None => Value::Integer(0),
            Some(Data::Str(v)) => Value::Integer(v.len() as i64),
            Some(_) => wrong_type(),
        },
        "type" => Value::Simple(x.read(&args[1]).map_or("none", Data::type_name).into()),
        "keys" => {
            let matching: Vec<Vec<u8>> =
                x.db().keys.keys().filter(|k| common::glob::glob_match(&args[1], k)).cloned().collect();
            let live = matching.into_iter().filter(|k| x.lookup(k).is_some());
            Value::Array(live.map(Value::Bulk).collect())
        }
        "dbsize" => Value::Integer(x.db().keys.len() as i64),
        "flushdb" | "flushall" => {
            match args.get(1).map(|a| a.to_ascii_lowercase()) {
                None => {}
                Some(mode) if args.len() == 2 && (mode == b"async" || mode == b"sync") => {}
                Some(_) => return Value::error("ERR syntax error"),
            }
            let which = if name == "flushall" { 0..x.dbs.len() } else { x.db..x.db + 1 };
            let mut removed = 0;
            for i in which {
                x.feed.watch.flushing(i, &x.dbs[i]);
                removed += x.dbs[i].keys.len() as u64;
                x.dbs[i].clear();
            }
            // FLUSHALL counts as a change even on an empty dataset, so it always propagates.
            x.dirty += removed.max(1);
            x.propagate(args);
            Value::ok()
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => expire(name, args, x),
        "ttl" | "pttl" => {
            if x.read(&args[1]).is_none() {
                return Value::Integer(-2);
            }
            match x.db().expires.get(&args[1]).copied() {
                None => Value::Integer(-1),
                Some(at) => {
                    let left = at - x.now_ms;
                    Value::Integer(if name == "ttl" { (left + 500) / 1000 } else { left })
                }
            }
        }
        "expiretime" | "pexpiretime" => {
            if x.read(&args[1]).is_none() {
                return Value::Integer(-2);
            }
            match x.db().expires.get(&args[1]).copied() {
                None => Value::Integer(-1),
                Some(at) => Value::Integer(if name == "expiretime" { (at + 500) / 1000 } else { at }),
            }
        }
        "persist" => {
            if x.lookup(&args[1]).is_none() {
                return Value::Integer(0);
            }
            if x.db().expires.remove(&args[1]).is_none() {
                return Value::Integer(0);
            }
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::GENERIC, "persist", &args[1]);
            Value::Integer(1)
        }
        "lpush" | "rpush" => push(name == "lpush", args, x),
        "lpop" | "rpop" => pop(name, args, x),
        "lrange" => lrange(args, x),
        "llen" => match x.read(&args[1]) {
            None => Value::Integer(0),
            Some(Data::List(list)) => Value::Integer(list.len() as i64),
            Some(_) => wrong_type(),
        },
        // Redis looks the key up before it parses the index: a missing key is nil even for a bad index.
        "lindex" => match x.read(&args[1]) {
            None => Value::Nil,
            Some(Data::List(list)) => match parse_int(&args[2]) {
                None => not_an_integer(),
                Some(i) => {
                    let len = i64::try_from(list.len()).unwrap_or(i64::MAX);
                    let at = if i < 0 { len.saturating_add(i) } else { i };
                    usize::try_from(at).ok().and_then(|at| list.get(at)).map_or(Value::Nil, |v| Value::Bulk(v.clone()))
                }
            },
            Some(_) => wrong_type(),
        },
        "hset" => hset("hset", args, x),
        "hlen" => match x.read(&args[1]) {
            None => Value::Integer(0),
            Some(Data::Hash(fields)) => Value::Integer(fields.len() as i64),
            Some(_) => wrong_type(),
        },
        "hget" => match x.read(&args[1]) {
            None => Value::Nil,
            Some(Data::Hash(fields)) => {
                fields.iter().find(|(f, _)| *f == args[2]).map_or(Value::Nil, |(_, v)| Value::Bulk(v.clone()))
            }
            Some(_) => wrong_type(),
        },
        "hdel" => hdel(args, x),
        "hgetall" => match x.read(&args[1]) {
            None => Value::Map(Vec::new()),
            // RESP2 flattens the pairs into field, value, field, value...; they come in insertion order, which is what Redis gives
            // for a listpack hash (up to 128 fields of values up to 64 bytes); a bigger hash is a hashtable there,
            // whose order is unspecified, and we keep insertion order for it too.
            Some(Data::Hash(fields)) => {
                Value::Map(fields.iter().map(|(f, v)| (Value::Bulk(f.clone()), Value::Bulk(v.clone()))).collect())
            }
            Some(_) => wrong_type(),
        },
        "sadd" => sadd(args, x),
        "srem" => srem(args, x),
        "smembers" => match (x.is_intset(&args[1]), x.read(&args[1])) {
            (_, None) => Value::Set(Vec::new()),
            (intset, Some(Data::Set(members))) => smembers(members, intset),
            (_, Some(_)) => wrong_type(),
        },
        "scard" => match x.read(&args[1]) {
            None => Value::Integer(0),
            Some(Data::Set(members)) => Value::Integer(members.len() as i64),
            Some(_) => wrong_type(),
        },
        "sismember" => match x.read(&args[1]) {
            None => Value::Integer(0),
            Some(Data::Set(members)) => Value::Integer(i64::from(members.contains(&args[2]))),
            Some(_) => wrong_type(),
        },
        "scan" => scan(args, x),
        other => crate::commands_more::keyspace(other, args, x)
            .unwrap_or_else(|| Value::error(format!("ERR unknown command '{other}', with args beginning with: "))),
    }
}

/// `RENAME`/`RENAMENX src dst` (Redis's renameGenericCommand): the value moves with
/// its TTL, an existing `dst` is replaced (or blocks RENAMENX), and the command
/// propagates as it came.
fn rename(nx: bool, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (src, dst) = (&args[1], &args[2]);
    if x.lookup(src).is_none() {
        return Value::error("ERR no such key");
    }
    let done = if nx { Value::Integer(1) } else { Value::ok() };
    if src == dst {
        return if nx { Value::Integer(0) } else { done };
    }
    if x.lookup(dst).is_some() {
        if nx {
            return Value::Integer(0);
        }
        x.db().remove(dst);
    }
    let db = x.db();
    let expire = db.expires.remove(src);
    let Some(value) = db.take_value(src) else { return Value::error("ERR no such key") };
    // The value object moves as it is, encoding included.
    if db.big.remove(src) {
        db.big.insert(dst.clone());
    }
    if db.plain.remove(src) {
        db.plain.insert(dst.clone());
    }
    if !db.blocking.is_empty() {
        db.signal_ready(dst, &value);
    }
    db.keys.insert(dst.clone(), value);
    db.note_added(dst);
    if let Some(at) = expire {
        db.expires.insert(dst.clone(), at);
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::GENERIC, "rename_from", src);
    x.notify(notify::GENERIC, "rename_to", dst);
    done
}

pub(crate) fn wrong_type() -> Value {
    Value::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

/// The arity error, for the argument counts that `Spec::arity` cannot express.
pub(crate) fn wrong_args(name: &str) -> Value {
    Value::error(format!("ERR wrong number of arguments for '{name}' command"))
}

/// `EXPIRE`/`PEXPIRE key n` and `EXPIREAT`/`PEXPIREAT key at`, each with `[NX|XX|GT|LT]...`, in the order
/// `expireGenericCommand` checks things: options first (so `EXPIREAT k abc foo` is an option error), then the
/// time, then the key.
fn expire(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => return Value::error(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt))),
        }
    }
    if nx && (xx || gt || lt) {
        return Value::error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return Value::error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(n) = parse_int(&args[2]) else { return not_an_integer() };
    let seconds = name == "expire" || name == "expireat";
    let base = if name == "expire" || name == "pexpire" { x.now_ms } else { 0 };
    // Redis refuses only what overflows a 64-bit millisecond time; past times are allowed and delete the key.
    let ms = if seconds { n.checked_mul(1000) } else { Some(n) };
    let Some(at) = ms.and_then(|ms| ms.checked_add(base)) else {
        return Value::error(format!("ERR invalid expire time in '{name}' command"));
    };
    if x.lookup_mut(&args[1]).is_none() {
        return Value::Integer(0);
    }
    let current = x.db().expires.get(&args[1]).copied();
    // A key without a TTL counts as living forever: GT never beats it, LT always does.
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| at <= c))
        || (lt && current.is_some_and(|c| at >= c));
    if refused {
        return Value::Integer(0);
    }
    x.dirty += 1;
    if at <= x.now_ms && x.is_master {
        x.db().remove(&args[1]);
        // A time in the past is a delete, and replicas see it as one.
        x.propagate(&[b"DEL".as_slice(), &args[1]]);
        x.notify(notify::GENERIC, "del", &args[1]);
    } else {
        // A replica (writable) keeps the key with a past time and waits for its master's DEL.
        x.db().expires.insert(args[1].clone(), at);
        if name == "pexpireat" {
            x.propagate(args);
        } else {
            // Everything else becomes `PEXPIREAT key <absolute ms> [options]` so replicas and the AOF expire the
            // key at the same instant; Redis rewrites only the name and the time, so the options stay as typed.
            let at = at.to_string().into_bytes();
            let mut argv: Vec<&[u8]> = vec![b"PEXPIREAT", &args[1], &at];
            argv.extend(args[3..].iter().map(Vec::as_slice));
            x.propagate(&argv);
        }
        x.notify(notify::GENERIC, "expire", &args[1]);
    }
    Value::Integer(1)
}

/// `LPUSH`/`RPUSH key element...`: the new length. LPUSH inserts one at a time, so `LPUSH l a b` leaves `b a`.
fn push(front: bool, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let elements = &args[2..];
    let fill = |list: &mut crate::memory::List| {
        for e in elements {
            if front {
                list.push_front(e.clone());
            } else {
                list.push_back(e.clone());
            }
        }
        list.len()
    };
    let len = match x.lookup_mut(&args[1]) {
        Some(Data::List(list)) => fill(list),
        Some(_) => return wrong_type(),
        None => {
            let mut list = crate::memory::List::with_fill(x.db().limits.list_fill);
            let len = fill(&mut list);
            x.db().insert(args[1].clone(), Data::List(Box::new(list)));
            len
        }
    };
    x.dirty += elements.len() as u64;
    x.propagate(args);
    x.notify(notify::LIST, if front { "lpush" } else { "rpush" }, &args[1]);
    Value::Integer(len as i64)
}

/// `LPOP`/`RPOP key [count]` as Redis 7.0's `popGenericCommand`: without a count, one element or nil; with one,
/// an array (empty for a count of 0), or a nil array when the key is missing. The count is parsed before the key
/// is looked up, and any unparsable or negative count gets the same "must be positive" error.
fn pop(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if args.len() > 3 {
        return wrong_args(name);
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_int(arg) {
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Value::error("ERR value is out of range, must be positive"),
        },
    };
    let front = name == "lpop";
    let (reply, popped, emptied) = match x.lookup_mut(&args[1]) {
        None => return if count.is_some() { Value::NilArray } else { Value::Nil },
        Some(Data::List(list)) => {
            let mut take = || if front { list.pop_front() } else { list.pop_back() };
            let (reply, popped) = match count {
                // Redis's fast path: nothing changes, nothing is propagated.
                Some(0) => return Value::Array(Vec::new()),
                None => match take() {
                    Some(v) => (Value::Bulk(v), 1),
                    // Lists are never stored empty; if one were, it reads as missing.
                    None => (Value::Nil, 0),
                },
                Some(n) => {
                    // RPOP with a count replies tail first, in the order the elements leave the list.
                    let items: Vec<Value> = std::iter::from_fn(take).take(n).map(Value::Bulk).collect();
                    let popped = items.len() as u64;
                    (Value::Array(items), popped)
                }
            };
            (reply, popped, list.is_empty())
        }
        Some(_) => return wrong_type(),
    };
    if emptied {
        x.db().remove(&args[1]);
    }
    if popped > 0 {
        x.dirty += popped;
        // Redis 7.0 propagates LPOP/RPOP verbatim (count included); only the blocking variants are rewritten.
        x.propagate(args);
        x.notify(notify::LIST, if front { "lpop" } else { "rpop" }, &args[1]);
    }
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    reply
}

/// `LRANGE key start stop`: both indices are parsed before the key is looked up.
fn lrange(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (Some(start), Some(stop)) = (parse_int(&args[2]), parse_int(&args[3])) else { return not_an_integer() };
    match x.read(&args[1]) {
        None => Value::Array(Vec::new()),
        Some(Data::List(list)) => match list_range(list.len(), start, stop) {
            // The whole list: its kept reply, grown by what was appended since.
            Some((0, to)) if to + 1 == list.len() => Value::Encoded(list.whole_reply()),
            // Written straight from the list: a big list's range is not copied item by item.
            Some((from, to)) => {
                let items = list.range(from..=to).map(Vec::as_slice);
                Value::Encoded(std::sync::Arc::new(resp::Encoded::bulk_array(items)))
            }
            None => Value::Array(Vec::new()),
        },
        Some(_) => wrong_type(),
    }
}

/// Redis's `addListRangeReply` index arithmetic: negative indices count from the tail, out-of-range ones are
/// clamped, an empty range is `None`. Saturating so that `i64::MIN` cannot overflow.
fn list_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let from_tail = |i: i64| if i < 0 { len.saturating_add(i) } else { i };
    let (start, stop) = (from_tail(start).max(0), from_tail(stop));
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// `HSET key field value [field value ...]` (and HMSET, `name`): the number of fields created. Every pair counts
/// as a change, even one that rewrites the same value, so HSET always propagates.
pub(crate) fn hset(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    // Arity (-4) lets an odd pair count through; Redis answers it with the arity error text.
    if !args.len().is_multiple_of(2) {
        return wrong_args(name);
    }
    let set_all = |fields: &mut Vec<(Vec<u8>, Vec<u8>)>| {
        let mut created = 0;
        for pair in args[2..].chunks_exact(2) {
            // A linear search, as in a listpack: `Data::Hash` is a Vec to keep insertion order.
            match fields.iter_mut().find(|(f, _)| *f == pair[0]) {
                // An overwritten field keeps its place, as in a listpack.
                Some(slot) => slot.1 = pair[1].clone(),
                None => {
                    fields.push((pair[0].clone(), pair[1].clone()));
                    created += 1;
                }
            }
        }
        created
    };
    let created = match x.lookup_mut(&args[1]) {
        Some(Data::Hash(fields)) => {
            let created = set_all(fields);
            x.db().note_growth(&args[1]);
            created
        }
        Some(_) => return wrong_type(),
        None => {
            let mut fields = Vec::new();
            let created = set_all(&mut fields);
            x.db().insert(args[1].clone(), Data::Hash(fields));
            created
        }
    };
    // hashTypeTryConversion looks at the arguments before any is set: a long
    // one converts the hash even if a later pair overwrites it with a short one
    if args[2..].iter().any(|a| a.len() > x.db().limits.hash_value) {
        x.db().convert(&args[1]);
    }
    x.dirty += (args.len() as u64 - 2) / 2;
    x.propagate(args);
    x.notify(notify::HASH, "hset", &args[1]);
    Value::Integer(created)
}

/// `HDEL key field...`: the number of fields removed. Deleting the last field deletes the key.
fn hdel(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (deleted, emptied) = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::Hash(fields)) => {
            let mut deleted = 0;
            for name in &args[2..] {
                if let Some(i) = fields.iter().position(|(f, _)| f == name) {
                    // `remove`, not `swap_remove`: the survivors keep their order for HGETALL.
                    fields.remove(i);
                    deleted += 1;
                    if fields.is_empty() {
                        break;
                    }
                }
            }
            (deleted, fields.is_empty())
        }
        Some(_) => return wrong_type(),
    };
    if emptied {
        x.db().remove(&args[1]);
    }
    if deleted > 0 {
        x.dirty += deleted as u64;
        x.propagate(args);
        x.notify(notify::HASH, "hdel", &args[1]);
    }
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Integer(deleted)
}

/// Redis's `OBJ_SHARED_REFCOUNT` (INT_MAX): what OBJECT REFCOUNT says of a shared integer.
const SHARED_REFCOUNT: i64 = 2_147_483_647;

/// OBJECT ENCODING | REFCOUNT | FREQ | HELP for the encodings the node keeps
/// track of (see [`crate::keyspace::Db::encoding`]).
fn object(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let arity = match sub.as_str() {
        "help" => 2,
        "encoding" | "refcount" | "freq" | "idletime" => 3,
        _ => {
            return Value::error(format!(
                "ERR unknown subcommand '{}'. Try OBJECT HELP.",
                String::from_utf8_lossy(&args[1])
            ));
        }
    };
    if args.len() != arity {
        return Value::error(format!("ERR wrong number of arguments for 'object|{sub}' command"));
    }
    if sub == "help" {
        return Value::Array(OBJECT_HELP.iter().map(|l| Value::Simple((*l).into())).collect());
    }
    if x.read_untold(&args[2]).is_none() {
        return Value::Nil;
    }
    let shared_integers = x.shared_integers;
    let db = x.db();
    let Some(encoding) = db.encoding(&args[2]) else { return Value::Nil };
    match sub.as_str() {
        "encoding" => Value::bulk(encoding),
        // Integers 0..9999 stored as `int` are Redis's shared objects unless an LRU/LFU policy is set.
        "refcount" => match db.keys.get(&args[2]) {
            Some(Data::Str(s))
                if shared_integers && encoding == "int" && parse_int(s).is_some_and(|n| (0..10_000).contains(&n)) =>
            {
                Value::Integer(SHARED_REFCOUNT)
            }
            _ => Value::Integer(1),
        },
        _ => object_access(&sub, &args[2], x),
    }
}

/// OBJECT FREQ and IDLETIME: the key's access field read by the policy's clock.
fn object_access(sub: &str, key: &[u8], x: &mut Exec<'_>) -> Value {
    let now = x.clock_ms;
    let field = x.dbs[x.db].access_field(key).unwrap_or_else(|| x.access.created(now));
    match (sub, x.access.clock) {
        ("freq", crate::memory::Clock::Lfu { decay_time, .. }) => {
            Value::Integer(i64::from(crate::memory::lfu_decayed(field, now, decay_time)))
        }
        ("freq", _) => Value::error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ),
        (_, crate::memory::Clock::Lfu { .. }) => Value::error(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ),
        _ => Value::Integer((crate::memory::idle_ms(field, now) / 1000) as i64),
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// `SADD key member...`: the number of members that were new. Adding only existing members changes nothing and
/// is not propagated.
fn sadd(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let add_all = |members: &mut BTreeSet<Vec<u8>>| args[2..].iter().filter(|m| members.insert(m.to_vec())).count();
    let added = match x.lookup_mut(&args[1]) {
        Some(Data::Set(members)) => {
            // `setTypeAdd` converts only on a member it adds.
            let added = add_all(members);
            if added > 0 {
                x.db().note_growth(&args[1]);
            }
            added
        }
        Some(_) => return wrong_type(),
        None => {
            let mut members = BTreeSet::new();
            let added = add_all(&mut members);
            x.db().insert(args[1].clone(), Data::Set(members));
            added
        }
    };
    if added > 0 {
        x.dirty += added as u64;
        x.propagate(args);
        x.notify(notify::SET, "sadd", &args[1]);
    }
    Value::Integer(added as i64)
}

/// `SREM key member...`: the number removed. Removing the last member deletes the key.
fn srem(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (removed, emptied) = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::Set(members)) => {
            let mut removed = 0;
            for m in &args[2..] {
                if members.remove(m) {
                    removed += 1;
                    if members.is_empty() {
                        break;
                    }
                }
            }
            (removed, members.is_empty())
        }
        Some(_) => return wrong_type(),
    };
    if emptied {
        x.db().remove(&args[1]);
    }
    if removed > 0 {
        x.dirty += removed as u64;
        x.propagate(args);
        x.notify(notify::SET, "srem", &args[1]);
    }
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Integer(removed)
}

/// A member as an intset stores it: only the canonical decimal form of an i64 (`string2ll` refuses `-0`, `+1`,
/// `007` and spaces, so those make a set a hashtable).
fn intset_value(member: &[u8]) -> Option<i64> {
    parse_int(member).filter(|n| n.to_string().as_bytes() == member)
}

/// SMEMBERS order. An intset (`intset`: the set's encoding, [`crate::keyspace::Db::encoding`]) replies sorted
/// numerically in Redis, and so do we. Any other set is a hashtable, whose order Redis leaves unspecified (it depends
/// on the hash seed and the table's history); we reply in byte order, which is deterministic. Clients and tests must
/// not rely on that order.
pub(crate) fn smembers(members: &BTreeSet<Vec<u8>>, intset: bool) -> Value {
    let ints: Option<Vec<i64>> = if intset { members.iter().map(|m| intset_value(m)).collect() } else { None };
    match ints {
        Some(mut ints) => {
            ints.sort_unstable();
            Value::Set(ints.into_iter().map(|n| Value::Bulk(n.to_string().into_bytes())).collect())
        }
        None => Value::Set(members.iter().cloned().map(Value::Bulk).collect()),
    }
}

/// The cursor SCAN starts from and returns when the walk is over.
const SCAN_DONE: u64 = 0;

/// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`.
///
/// Redis's cursor is a reverse-binary bucket index; ours walks the keys in their `BTreeMap` order and encodes
/// *where to resume*, not how many keys were passed, so that keys deleted between calls cannot make survivors
/// slide back past the cursor. The cursor of a key is its first 8 bytes, zero-padded, read as a big-endian u64
/// ([`scan_cursor_of`]); that is monotone in key order, so "resume at the first key whose cursor is >= c" never
/// skips a key that was present throughout. Keys sharing a cursor (the same first 8 bytes) are always returned in
/// the same call, so no key is returned twice and every call makes progress; a call can therefore return more than
/// COUNT keys when many keys share 8 leading bytes, which COUNT (a hint in Redis too) allows. Keys added during
/// the walk are returned if they sort after the cursor, as Redis allows either way.
fn scan(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(cursor) = parse_scan_cursor(&args[1]) else { return Value::error("ERR invalid cursor") };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    // Options are read left to right, each needing a value; a later MATCH or TYPE replaces an earlier one.
    while i < args.len() {
        let Some(value) = args.get(i + 1) else { return Value::error("ERR syntax error") };
        match args[i].to_ascii_lowercase().as_slice() {
            b"count" => match parse_int(value) {
                None => return not_an_integer(),
                Some(n) if n < 1 => return Value::error("ERR syntax error"),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            },
            // `*` matches everything; Redis skips the match for it.
            b"match" => pattern = Some(value.as_slice()).filter(|p| *p != b"*"),
            b"type" => type_name = Some(value.as_slice()),
            _ => return Value::error("ERR syntax error"),
        }
        i += 2;
    }
    let resume = scan_resume_key(cursor);
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut next = SCAN_DONE;
    let db = &x.dbs[x.db];
    for key in db.keys.keys_from(&resume) {
        // Stop only between two keys with different cursors, so a cursor never points into the batch just sent.
        if batch.len() >= count && batch.last().is_none_or(|last| scan_cursor_of(last) != scan_cursor_of(key)) {
            next = scan_cursor_of(key);
            break;
        }
        batch.push(key.clone());
    }
    // The filters in Redis's order: pattern, then type (a lookup, which expires the key first, so an expired key
    // reads as type "none"), then expiry. On a master that lookup already deleted an expired key, so the expiry
    // filter no longer sees it and `TYPE none` returns expired keys, as Redis 7.0 does.
    let mut keys = Vec::new();
    for key in batch {
        if pattern.is_some_and(|p| !common::glob::glob_match(p, &key)) {
            continue;
        }
        if let Some(wanted) = type_name {
            let actual = x.lookup(&key).map_or("none", Data::type_name);
            if !wanted.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        if x.expire_if_needed(&key) {
            continue;
        }
        keys.push(Value::Bulk(key));
    }
    Value::Array(vec![Value::Bulk(next.to_string().into_bytes()), Value::Array(keys)])
}

/// Redis's `parseScanCursorOrReply`: `strtoul` in base 10, refusing a leading space, trailing bytes and overflow.
/// `strtoul` also takes a sign (`-1` is `u64::MAX`, wrapped as C does) and reads the empty string as 0.
pub(crate) fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // With no digits strtoul parses nothing, which is accepted only if there was nothing to parse.
        return arg.is_empty().then_some(0);
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { n.wrapping_neg() } else { n })
}

/// The cursor that resumes a SCAN at `key`: its first 8 bytes, zero-padded, big-endian. Never 0 for a key that
/// follows a returned key with a different cursor, so 0 keeps meaning "done".
fn scan_cursor_of(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(bytes)
}

/// The smallest key whose cursor is `cursor`: its bytes without the zero padding. Every key at or after it in
/// byte order has a cursor >= `cursor`, and every key before it a smaller one.
fn scan_resume_key(cursor: u64) -> Vec<u8> {
    let bytes = cursor.to_be_bytes();
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes[..len].to_vec()
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`.
fn set(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    // parseExtendedStringArgumentsOrReply: every option parses before the
    // expire value is read, and the same unit again replaces it
    // (`SET k v EX abc EX 1` is OK; `SET k v PX 0 NX XX` a syntax error)
    let mut expire: Option<(Vec<u8>, &[u8])> = None;
    let mut i = 3;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        let has_next = i + 1 < args.len();
        match opt.as_slice() {
            b"NX" if !xx => nx = true,
            b"XX" if !nx => xx = true,
            b"GET" => get = true,
            b"KEEPTTL" if expire.is_none() => keepttl = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT"
                if has_next && !keepttl && expire.as_ref().is_none_or(|(unit, _)| *unit == opt) =>
            {
                expire = Some((opt, &args[i + 1]));
                i += 1;
            }
            _ => return Value::error("ERR syntax error"),
        }
        i += 1;
    }
    let expire_at = match expire {
        None => None,
        Some((unit, n)) => {
            let Some(n) = parse_int(n) else { return not_an_integer() };
            let at = match unit.as_slice() {
                b"EX" if n > 0 => n.checked_mul(1000).and_then(|ms| ms.checked_add(x.now_ms)),
                b"PX" if n > 0 => n.checked_add(x.now_ms),
                b"EXAT" if n > 0 => n.checked_mul(1000),
                b"PXAT" if n > 0 => Some(n),
                _ => None,
            };
            match at {
                Some(at) => Some(at),
                None => return Value::error("ERR invalid expire time in 'set' command"),
            }
        }
    };
    let db_index = x.db;
    if get {
        // GET reads the old value first (`getGenericCommand`: a read lookup).
        x.read(&args[1]);
    }
    let slot = x.lookup_mut(&args[1]);
    let exists = slot.is_some();
    // The old value is copied only when GET needs it for the reply.
    let old = match &slot {
        Some(Data::Str(v)) if get => Some(v.to_vec()),
        Some(_) if get => return wrong_type(),
        _ => None,
    };
    let reply_old = || old.clone().map_or(Value::Nil, Value::Bulk);
    if (nx && exists) || (xx && !exists) {
        return if get { reply_old() } else { Value::Nil };
    }
    match slot {
        // A short string is overwritten where it is, inside its entry or in
        // its own buffer (one lookup, no allocation): a new buffer would be
        // the one the last write freed, not in the cache, while this one was
        // warmed with its key ([`crate::keymap::KeyMap::warm`]).
        Some(Data::Str(v)) if reuses_buffer(v.capacity(), &args[2]) => {
            v.clear();
            v.extend_from_slice(&args[2]);
            x.dbs[db_index].forget_encoding(&args[1]);
        }
        Some(other) => {
            let stream_gone = matches!(other, Data::Stream(_));
            *other = Data::Str(crate::keyspace::Str::from_slice(&args[2]));
            x.dbs[db_index].forget_encoding(&args[1]);
            if stream_gone {
                x.dbs[db_index].signal_stream(&args[1]);
            }
        }
        None => {
            x.dbs[db_index].insert(args[1].clone(), Data::Str(crate::keyspace::Str::from_slice(&args[2])));
        }
    }
    let db = x.db();
    match expire_at {
        Some(at) => {
            db.expires.insert(args[1].clone(), at);
        }
        None if !keepttl => {
            db.expires.remove(&args[1]);
        }
        None => {}
    }
    x.dirty += 1;
    match expire_at {
        // Redis 7.0 propagates any expiring SET as `SET key value PXAT <ms>`.
        Some(at) => x.propagate(&[b"SET".as_slice(), &args[1], &args[2], b"PXAT", at.to_string().as_bytes()]),
        None => x.propagate(args),
    }
    x.notify(notify::STRING, "set", &args[1]);
    if expire_at.is_some() {
        x.notify(notify::GENERIC, "expire", &args[1]);
    }
    if get { reply_old() } else { Value::ok() }
}

/// Whether SET writes `value` into the string buffer of `capacity` bytes it
/// replaces rather than into a new one: when it fits and the buffer is short
/// (a long one is let go, not kept for a short value).
fn reuses_buffer(capacity: usize, value: &[u8]) -> bool {
    value.len() <= capacity && capacity <= 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Db, Feed};

    /// INCR's digits (written in place, inside a short string) are `to_string`'s,
    /// at every length and both ends of i64.
    #[test]
    fn int_text_is_to_string() {
        let mut n: i64 = 1;
        let mut cases = vec![0, i64::MIN, i64::MAX, i64::MIN + 1];
        for _ in 0..19 {
            cases.extend([n, -n, n - 1, 1 - n, n + 1]);
            n = n.saturating_mul(10);
        }
        for n in cases {
            assert_eq!(int_text(n, &mut [0; 20]), n.to_string().as_bytes(), "{n}");
        }
    }

    #[test]
    fn every_fast_path_command_is_known_and_run_by_keyspace() {
        let names = [
            "set",
            "get",
            "incr",
            "ping",
            "echo",
            "getset",
            "mset",
            "mget",
            "del",
            "exists",
            "decr",
            "incrby",
            "decrby",
            "append",
            "strlen",
            "type",
            "keys",
            "dbsize",
            "flushdb",
            "flushall",
            "expire",
            "pexpire",
            "expireat",
            "pexpireat",
            "ttl",
            "pttl",
            "persist",
            "lpush",
            "rpush",
            "lpop",
            "rpop",
            "lrange",
            "llen",
            "hset",
            "hget",
            "hdel",
            "hgetall",
            "sadd",
            "srem",
            "smembers",
            "scard",
            "scan",
        ];
        for name in names {
            let command = crate::command_table::lookup(name).unwrap_or_else(|| panic!("{name} is not in the table"));
            assert_eq!(command.handler, crate::command_table::Handler::Keyspace, "{name}");
            let args: Vec<Vec<u8>> = [name, "k", "1", "2", "3"].iter().map(|a| a.as_bytes().to_vec()).collect();
            let mut dbs = vec![Db::default()];
            let mut feed = Feed::default();
            let mut x = Exec {
                dbs: &mut dbs,
                db: 0,
                now_ms: 0,
                is_master: true,
                dirty: 0,
                feed: &mut feed,
                resp3: false,
                cluster: false,
                random: 0,
                clock_ms: 0,
                obey: false,
                access: Default::default(),
                shared_integers: true,
                request: None,
            };
            let reply = keyspace_named(name, &args, &mut x);
            assert!(!matches!(&reply, Value::Error(e) if e.starts_with("ERR unknown command")), "{name}: {reply:?}");
        }
        for name in ["info", "replconf", "psync", "wait", "debug", "shutdown", "quit", "select", "nosuch", ""] {
            let handler = crate::command_table::lookup(name).map(|c| c.handler);
            assert_ne!(handler, Some(crate::command_table::Handler::Keyspace), "{name}");
        }
    }
}
