//! Keyspace commands: arity as Redis declares it (positive: exact, negative:
//! at least), argument parsing and the exact reply and error texts.

use crate::server::DbView;
use resp::Value;

/// Redis's arity for the commands this node knows, `None` if unknown.
pub fn arity(name: &str) -> Option<i32> {
    Some(match name {
        "ping" | "flushall" | "flushdb" | "info" | "shutdown" | "quit" => -1,
        "dbsize" => 1,
        "echo" | "get" | "incr" | "decr" | "strlen" | "keys" | "select" | "type" | "ttl" | "pttl" | "persist" => 2,
        "getset" | "incrby" | "decrby" | "append" => 3,
        "set" | "mset" | "expire" | "pexpire" => -3,
        "del" | "exists" | "mget" | "auth" => -2,
        _ => return None,
    })
}

/// Redis's `string2ll`, as every integer argument is parsed.
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    resp::parse_ll(bytes)
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// Runs a keyspace command whose arity has been checked.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], mut db: DbView<'_>, now_ms: i64) -> Value {
    match name {
        "ping" => match args.len() {
            1 => Value::Simple("PONG".to_owned()),
            2 => Value::Bulk(args[1].clone()),
            _ => Value::error("ERR wrong number of arguments for 'ping' command"),
        },
        "echo" => Value::Bulk(args[1].clone()),
        "get" => db.get(&args[1], now_ms).map_or(Value::Nil, |v| Value::Bulk(v.clone())),
        "set" => set(args, &mut db, now_ms),
        "getset" => {
            let old = db.get(&args[1], now_ms).cloned();
            db.strings.insert(args[1].clone(), args[2].clone());
            db.expires.remove(&args[1]);
            old.map_or(Value::Nil, Value::Bulk)
        }
        "mset" => {
            if args.len().is_multiple_of(2) {
                return Value::error("ERR wrong number of arguments for 'mset' command");
            }
            for pair in args[1..].chunks(2) {
                db.strings.insert(pair[0].clone(), pair[1].clone());
                db.expires.remove(&pair[0]);
            }
            Value::ok()
        }
        "mget" => Value::Array(
            args[1..].iter().map(|k| db.get(k, now_ms).map_or(Value::Nil, |v| Value::Bulk(v.clone()))).collect(),
        ),
        "del" => {
            let mut n = 0;
            for k in &args[1..] {
                if db.get(k, now_ms).is_some() {
                    db.strings.remove(k);
                    db.expires.remove(k);
                    n += 1;
                }
            }
            Value::Integer(n)
        }
        "exists" => Value::Integer(args[1..].iter().filter(|k| db.get(k, now_ms).is_some()).count() as i64),
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
            let current = match db.get(&args[1], now_ms) {
                None => 0,
                Some(v) => match parse_int(v) {
                    Some(n) => n,
                    None => return not_an_integer(),
                },
            };
            match current.checked_add(delta) {
                Some(n) => {
                    db.strings.insert(args[1].clone(), n.to_string().into_bytes());
                    Value::Integer(n)
                }
                None => Value::error("ERR increment or decrement would overflow"),
            }
        }
        "append" => {
            let mut v = db.get(&args[1], now_ms).cloned().unwrap_or_default();
            v.extend_from_slice(&args[2]);
            let len = v.len() as i64;
            db.strings.insert(args[1].clone(), v);
            Value::Integer(len)
        }
        "strlen" => Value::Integer(db.get(&args[1], now_ms).map_or(0, |v| v.len() as i64)),
        "type" => Value::Simple(if db.get(&args[1], now_ms).is_some() { "string" } else { "none" }.to_owned()),
        "keys" => {
            let keys: Vec<Vec<u8>> = db.strings.keys().cloned().collect();
            let live = keys.into_iter().filter(|k| glob_match(&args[1], k) && db.get(k, now_ms).is_some());
            Value::Array(live.map(Value::Bulk).collect())
        }
        "dbsize" => Value::Integer(db.strings.len() as i64),
        "flushdb" | "flushall" => match args.get(1).map(|a| a.to_ascii_lowercase()) {
            None => flush(db),
            Some(mode) if args.len() == 2 && (mode == b"async" || mode == b"sync") => flush(db),
            Some(_) => Value::error("ERR syntax error"),
        },
        "expire" | "pexpire" => {
            let Some(n) = parse_int(&args[2]) else { return not_an_integer() };
            if args.len() > 3 {
                return Value::error(format!("ERR Unsupported option {}", String::from_utf8_lossy(&args[3])));
            }
            let ms = if name == "expire" { n.checked_mul(1000) } else { Some(n) };
            let Some(at) = ms.and_then(|ms| ms.checked_add(now_ms)) else {
                return Value::error(format!("ERR invalid expire time in '{name}' command"));
            };
            if db.get(&args[1], now_ms).is_none() {
                return Value::Integer(0);
            }
            if at <= now_ms {
                db.strings.remove(&args[1]);
                db.expires.remove(&args[1]);
            } else {
                db.expires.insert(args[1].clone(), at);
            }
            Value::Integer(1)
        }
        "ttl" | "pttl" => {
            if db.get(&args[1], now_ms).is_none() {
                return Value::Integer(-2);
            }
            match db.expires.get(&args[1]) {
                None => Value::Integer(-1),
                Some(at) => {
                    let left = at - now_ms;
                    Value::Integer(if name == "ttl" { (left + 500) / 1000 } else { left })
                }
            }
        }
        "persist" => {
            if db.get(&args[1], now_ms).is_none() {
                return Value::Integer(0);
            }
            Value::Integer(i64::from(db.expires.remove(&args[1]).is_some()))
        }
        other => Value::error(format!("ERR unknown command '{other}', with args beginning with: ")),
    }
}

fn flush(db: DbView<'_>) -> Value {
    db.strings.clear();
    db.expires.clear();
    Value::ok()
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`.
fn set(args: &[Vec<u8>], db: &mut DbView<'_>, now_ms: i64) -> Value {
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
                    b"EX" if n > 0 => n.checked_mul(1000).and_then(|ms| ms.checked_add(now_ms)),
                    b"PX" if n > 0 => n.checked_add(now_ms),
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
    let old = db.get(&args[1], now_ms).cloned();
    let reply_old = || old.clone().map_or(Value::Nil, Value::Bulk);
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return if get { reply_old() } else { Value::Nil };
    }
    db.strings.insert(args[1].clone(), args[2].clone());
    match expire_at {
        Some(at) => {
            db.expires.insert(args[1].clone(), at);
        }
        None if !keepttl => {
            db.expires.remove(&args[1]);
        }
        None => {}
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
