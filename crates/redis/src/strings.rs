//! More string commands (t_string.c): SETEX, PSETEX, MSETNX and INCRBYFLOAT,
//! with Redis 7.0's replies, errors and propagation (SETEX and PSETEX as
//! `SET key value PXAT <ms>`, INCRBYFLOAT as `SET key <result> KEEPTTL`).

use crate::commands::{parse_int, wrong_args, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::longdouble::{LongDouble, Parsed};
use crate::notify;
use resp::Value;

/// Runs `name` if it is one of this module's; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "setex" | "psetex" => setex(name, args, x),
        "msetnx" => msetnx(args, x),
        "incrbyfloat" => incrbyfloat(args, x),
        _ => return crate::lists::keyspace(name, args, x),
    })
}

/// SETEX key seconds value, PSETEX key milliseconds value (`setGenericCommand`
/// with EX or PX): a time that is not positive or overflows is refused.
fn setex(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(n) = parse_int(&args[2]) else {
        return Value::error("ERR value is not an integer or out of range");
    };
    let ms = if name == "setex" { n.checked_mul(1000) } else { Some(n) };
    let Some(at) = ms.filter(|_| n > 0).and_then(|ms| ms.checked_add(x.now_ms)) else {
        return Value::error(format!("ERR invalid expire time in '{name}' command"));
    };
    let (key, value) = (&args[1], &args[3]);
    match x.lookup_mut(key) {
        Some(slot) => {
            let stream_gone = matches!(slot, Data::Stream(_));
            *slot = Data::Str(crate::keyspace::Str::from_slice(value));
            if stream_gone {
                x.db().signal_stream(key);
            }
        }
        None => x.db().insert(key.clone(), Data::Str(crate::keyspace::Str::from_slice(value))),
    }
    x.db().forget_encoding(key);
    x.db().expires.insert(key.clone(), at);
    x.dirty += 1;
    x.propagate(&[b"SET".as_slice(), key, value, b"PXAT", at.to_string().as_bytes()]);
    x.notify(notify::STRING, "set", key);
    x.notify(notify::GENERIC, "expire", key);
    Value::ok()
}

/// MSETNX key value [key value ...]: all set, or none if any key exists.
fn msetnx(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if args.len().is_multiple_of(2) {
        return wrong_args("msetnx");
    }
    // Every key is looked up (expiring the ones whose time has come) before any is set.
    let mut exists = false;
    for pair in args[1..].chunks(2) {
        exists |= x.lookup(&pair[0]).is_some();
    }
    if exists {
        return Value::Integer(0);
    }
    for pair in args[1..].chunks(2) {
        let db = x.db();
        db.insert(pair[0].clone(), Data::Str(crate::keyspace::Str::from_slice(&pair[1])));
        db.expires.remove(&pair[0]);
        x.notify(notify::STRING, "set", &pair[0]);
    }
    x.dirty += (args.len() as u64 - 1) / 2;
    x.propagate(args);
    Value::Integer(1)
}

/// INCRBYFLOAT key increment (`incrbyfloatCommand`): the key's type, then its
/// value, then the increment; the sum in `long double`; the key keeps its TTL.
fn incrbyfloat(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let invalid = || Value::error("ERR value is not a valid float");
    let current = match x.lookup(&args[1]) {
        None => Some(Parsed::Finite(LongDouble::from_i64(0))),
        Some(Data::Str(v)) => LongDouble::parse(v),
        Some(_) => return wrong_type(),
    };
    let (Some(current), Some(incr)) = (current, LongDouble::parse(&args[2])) else { return invalid() };
    let (Parsed::Finite(current), Parsed::Finite(incr)) = (current, incr) else {
        return crate::hashes::not_finite();
    };
    let Some(sum) = current.add(incr) else { return crate::hashes::not_finite() };
    let value = sum.to_human().into_bytes();
    let key = &args[1];
    match x.lookup_mut(key) {
        Some(slot) => *slot = Data::Str(crate::keyspace::Str::from_slice(&value)),
        None => x.db().insert(key.clone(), Data::Str(crate::keyspace::Str::from_slice(&value))),
    }
    x.db().forget_encoding(key);
    if crate::rdb::string_encoding(&value) == "int" {
        // a new string object, never int-encoded (INCRBYFLOAT k 4 is embstr)
        x.db().plain.insert(key.clone());
    }
    x.dirty += 1;
    x.propagate(&[b"SET".as_slice(), key, &value, b"KEEPTTL"]);
    x.notify(notify::STRING, "incrbyfloat", key);
    Value::Bulk(value)
}
