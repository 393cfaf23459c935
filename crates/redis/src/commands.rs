//! Keyspace commands: arity as Redis declares it (positive: exact, negative:
//! at least), argument parsing and the exact reply and error texts.

use crate::keyspace::{Data, Db, Exec};
use resp::Value;

/// What the server needs to know about a command before running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Redis's arity: positive means exactly, negative means at least.
    pub arity: i32,
    /// Modifies the dataset: refused on read-only replicas and without enough
    /// good replicas (`min-replicas-to-write`), propagated when it changed something.
    pub write: bool,
}

/// The commands this node knows, with Redis 7.0's arity; `None` if unknown.
pub fn spec(name: &str) -> Option<Spec> {
    let read = |arity| Some(Spec { arity, write: false });
    let write = |arity| Some(Spec { arity, write: true });
    match name {
        "ping" | "info" | "shutdown" | "quit" | "hello" | "bgsave" | "command" | "replconf" => read(-1),
        "dbsize" | "role" | "save" | "lastsave" | "sync" => read(1),
        "echo" | "get" | "strlen" | "keys" | "select" | "type" | "ttl" | "pttl" | "llen" | "hgetall" | "smembers"
        | "scard" => read(2),
        "wait" | "replicaof" | "slaveof" | "hget" | "publish" => read(3),
        "lrange" => read(4),
        "exists" | "mget" | "auth" | "scan" | "config" | "debug" | "client" | "subscribe" => read(-2),
        "psync" => read(-3),
        "incr" | "decr" | "persist" => write(2),
        "getset" | "incrby" | "decrby" | "append" => write(3),
        "flushall" | "flushdb" => write(-1),
        "del" | "lpop" | "rpop" => write(-2),
        "set" | "mset" | "expire" | "pexpire" | "expireat" | "pexpireat" | "lpush" | "rpush" | "hdel" | "sadd"
        | "srem" => write(-3),
        "hset" => write(-4),
        _ => None,
    }
}

/// Redis's `string2ll`, as every integer argument is parsed.
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    resp::parse_ll(bytes)
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// Runs a keyspace command whose arity has been checked.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    match name {
        "ping" => match args.len() {
            1 => Value::Simple("PONG".to_owned()),
            2 => Value::Bulk(args[1].clone()),
            _ => Value::error("ERR wrong number of arguments for 'ping' command"),
        },
        "echo" => Value::Bulk(args[1].clone()),
        "get" => match x.lookup(&args[1]) {
            None => Value::Nil,
            Some(Data::Str(v)) => Value::Bulk(v.clone()),
            Some(_) => wrong_type(),
        },
        "set" => set(args, x),
        "getset" => {
            let old = match x.lookup(&args[1]) {
                None => None,
                Some(Data::Str(v)) => Some(v.clone()),
                Some(_) => return wrong_type(),
            };
            let db = x.db();
            db.keys.insert(args[1].clone(), Data::Str(args[2].clone()));
            db.expires.remove(&args[1]);
            x.dirty += 1;
            x.propagate(args);
            old.map_or(Value::Nil, Value::Bulk)
        }
        "mset" => {
            if args.len().is_multiple_of(2) {
                return Value::error("ERR wrong number of arguments for 'mset' command");
            }
            for pair in args[1..].chunks(2) {
                x.lookup_mut(&pair[0]);
                let db = x.db();
                db.keys.insert(pair[0].clone(), Data::Str(pair[1].clone()));
                db.expires.remove(&pair[0]);
            }
            x.dirty += (args.len() as u64 - 1) / 2;
            x.propagate(args);
            Value::ok()
        }
        "mget" => Value::Array(
            args[1..]
                .iter()
                .map(|k| match x.lookup(k) {
                    Some(Data::Str(v)) => Value::Bulk(v.clone()),
                    _ => Value::Nil,
                })
                .collect(),
        ),
        "del" => {
            let mut n = 0;
            for k in &args[1..] {
                if x.lookup(k).is_some() {
                    x.db().remove(k);
                    n += 1;
                }
            }
            if n > 0 {
                x.dirty += n as u64;
                x.propagate(args);
            }
            Value::Integer(n)
        }
        "exists" => Value::Integer(args[1..].iter().filter(|k| x.lookup(k).is_some()).count() as i64),
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
            let current = match x.lookup_mut(&args[1]) {
                None => 0,
                Some(Data::Str(v)) => match parse_int(v) {
                    Some(n) => n,
                    None => return not_an_integer(),
                },
                Some(_) => return wrong_type(),
            };
            match current.checked_add(delta) {
                Some(n) => {
                    x.db().keys.insert(args[1].clone(), Data::Str(n.to_string().into_bytes()));
                    x.dirty += 1;
                    x.propagate(args);
                    Value::Integer(n)
                }
                None => Value::error("ERR increment or decrement would overflow"),
            }
        }
        "append" => {
            let len = match x.lookup_mut(&args[1]) {
                Some(Data::Str(v)) => {
                    v.extend_from_slice(&args[2]);
                    v.len()
                }
                Some(_) => return wrong_type(),
                None => {
                    x.db().keys.insert(args[1].clone(), Data::Str(args[2].clone()));
                    args[2].len()
                }
            };
            x.dirty += 1;
            x.propagate(args);
            Value::Integer(len as i64)
        }
        "strlen" => match x.lookup(&args[1]) {
            None => Value::Integer(0),
            Some(Data::Str(v)) => Value::Integer(v.len() as i64),
            Some(_) => wrong_type(),
        },
        "type" => Value::Simple(x.lookup(&args[1]).map_or("none", Data::type_name).to_owned()),
        "keys" => {
            let matching: Vec<Vec<u8>> = x.db().keys.keys().filter(|k| glob_match(&args[1], k)).cloned().collect();
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
            let dbs: &mut [Db] = if name == "flushall" { x.dbs } else { std::slice::from_mut(&mut x.dbs[x.db]) };
            let mut removed = 0;
            for db in dbs {
                removed += db.keys.len() as u64;
                db.keys.clear();
                db.expires.clear();
            }
            // FLUSHALL counts as a change even on an empty dataset, so it always propagates.
            x.dirty += removed.max(1);
            x.propagate(args);
            Value::ok()
        }
        "expire" | "pexpire" => {
            let Some(n) = parse_int(&args[2]) else { return not_an_integer() };
            if args.len() > 3 {
                return Value::error(format!("ERR Unsupported option {}", String::from_utf8_lossy(&args[3])));
            }
            let ms = if name == "expire" { n.checked_mul(1000) } else { Some(n) };
            let Some(at) = ms.and_then(|ms| ms.checked_add(x.now_ms)) else {
                return Value::error(format!("ERR invalid expire time in '{name}' command"));
            };
            if x.lookup(&args[1]).is_none() {
                return Value::Integer(0);
            }
            x.dirty += 1;
            if at <= x.now_ms && x.is_master {
                x.db().remove(&args[1]);
                x.propagate(&[b"DEL".as_slice(), &args[1]]);
            } else {
                x.db().expires.insert(args[1].clone(), at);
                // Relative times become absolute so replicas and the AOF expire the key at the same instant.
                x.propagate(&[b"PEXPIREAT".as_slice(), &args[1], at.to_string().as_bytes()]);
            }
            Value::Integer(1)
        }
        "ttl" | "pttl" => {
            if x.lookup(&args[1]).is_none() {
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
        "persist" => {
            if x.lookup(&args[1]).is_none() {
                return Value::Integer(0);
            }
            if x.db().expires.remove(&args[1]).is_none() {
                return Value::Integer(0);
            }
            x.dirty += 1;
            x.propagate(args);
            Value::Integer(1)
        }
        other => Value::error(format!("ERR unknown command '{other}', with args beginning with: ")),
    }
}

fn wrong_type() -> Value {
    Value::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`.
fn set(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire_at: Option<i64> = None;
    let mut i = 3;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        let has_next = i + 1 < args.len();
        match opt.as_slice() {
            b"NX" if !xx => nx = true,
            b"XX" if !nx => xx = true,
            b"GET" => get = true,
            b"KEEPTTL" if expire_at.is_none() => keepttl = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if has_next && expire_at.is_none() && !keepttl => {
                let Some(n) = parse_int(&args[i + 1]) else { return not_an_integer() };
                let at = match opt.as_slice() {
                    b"EX" if n > 0 => n.checked_mul(1000).and_then(|ms| ms.checked_add(x.now_ms)),
                    b"PX" if n > 0 => n.checked_add(x.now_ms),
                    b"EXAT" if n > 0 => n.checked_mul(1000),
                    b"PXAT" if n > 0 => Some(n),
                    _ => None,
                };
                match at {
                    Some(at) => expire_at = Some(at),
                    None => return Value::error("ERR invalid expire time in 'set' command"),
                }
                i += 1;
            }
            _ => return Value::error("ERR syntax error"),
        }
        i += 1;
    }
    let old = match x.lookup_mut(&args[1]) {
        None => None,
        Some(Data::Str(v)) => Some(v.clone()),
        Some(_) if get => return wrong_type(),
        Some(_) => Some(Vec::new()),
    };
    let reply_old = || old.clone().map_or(Value::Nil, Value::Bulk);
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return if get { reply_old() } else { Value::Nil };
    }
    let db = x.db();
    db.keys.insert(args[1].clone(), Data::Str(args[2].clone()));
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
    if get { reply_old() } else { Value::ok() }
}

/// Redis's `stringmatchlen` subset: `*`, `?`, `[...]` (with `^` and ranges), `\` escapes.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&pattern[1..], text) || (!text.is_empty() && glob_match(pattern, &text[1..])),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &text[1..]),
        (Some(b'['), Some(&c)) => {
            let Some(end) = pattern[1..].iter().position(|&b| b == b']').map(|i| i + 1) else {
                return pattern[0] == c && glob_match(&pattern[1..], &text[1..]);
            };
            let class = &pattern[1..end];
            let (negate, class) = match class.first() {
                Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut j = 0;
            while j < class.len() {
                if j + 2 < class.len() && class[j + 1] == b'-' {
                    let (lo, hi) = (class[j].min(class[j + 2]), class[j].max(class[j + 2]));
                    hit |= (lo..=hi).contains(&c);
                    j += 3;
                } else {
                    hit |= class[j] == c;
                    j += 1;
                }
            }
            hit != negate && glob_match(&pattern[end + 1..], &text[1..])
        }
        (Some(b'\\'), Some(&c)) if pattern.len() > 1 => pattern[1] == c && glob_match(&pattern[2..], &text[1..]),
        (Some(&p), Some(&c)) => p == c && glob_match(&pattern[1..], &text[1..]),
    }
}
