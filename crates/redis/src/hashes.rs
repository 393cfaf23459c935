//! The hash commands beyond HSET/HGET/HDEL/HLEN/HGETALL (t_hash.c): HEXISTS,
//! HSTRLEN, HKEYS, HVALS, HMGET, HMSET, HSETNX, HINCRBY, HINCRBYFLOAT, with
//! Redis 7.0's replies, errors and propagation (HINCRBYFLOAT as the HSET of
//! its result). HRANDFIELD draws from the seeded stream in [`crate::random`].

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::longdouble::{LongDouble, Parsed};
use crate::notify;
use resp::Value;

/// Runs `name` if it is one of this module's; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "hexists" => read(args, x, |fields| Value::Integer(i64::from(field(fields, &args[2]).is_some()))),
        "hstrlen" => read(args, x, |fields| Value::Integer(field(fields, &args[2]).map_or(0, |v| v.len() as i64))),
        "hkeys" => read(args, x, |fields| Value::Array(fields.iter().map(|(f, _)| Value::Bulk(f.clone())).collect())),
        "hvals" => read(args, x, |fields| Value::Array(fields.iter().map(|(_, v)| Value::Bulk(v.clone())).collect())),
        "hmget" => read(args, x, |fields| {
            Value::Array(
                args[2..].iter().map(|f| field(fields, f).map_or(Value::Nil, |v| Value::Bulk(v.to_vec()))).collect(),
            )
        }),
        "hmset" => match crate::commands::hset("hmset", args, x) {
            Value::Integer(_) => Value::ok(),
            error => error,
        },
        "hsetnx" => hsetnx(args, x),
        "hincrby" => hincrby(args, x),
        "hincrbyfloat" => hincrbyfloat(args, x),
        _ => return crate::strings::keyspace(name, args, x),
    })
}

/// A read of `args[1]`'s fields; a missing key reads as an empty hash.
fn read(args: &[Vec<u8>], x: &mut Exec<'_>, f: impl FnOnce(&[(Vec<u8>, Vec<u8>)]) -> Value) -> Value {
    match x.read(&args[1]) {
        None => f(&[]),
        Some(Data::Hash(fields)) => f(fields),
        Some(_) => wrong_type(),
    }
}

fn field<'a>(fields: &'a [(Vec<u8>, Vec<u8>)], name: &[u8]) -> Option<&'a [u8]> {
    fields.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_slice())
}

/// Sets field `args[2]` of hash `args[1]` to what `new` makes of its current
/// value (`None`: no such field), creating the hash if need be; the new
/// value, or `new`'s error (then nothing changed).
fn update(
    args: &[Vec<u8>],
    x: &mut Exec<'_>,
    new: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>, Value>,
) -> Result<Vec<u8>, Value> {
    let value = match x.lookup_mut(&args[1]) {
        None => {
            let value = new(None)?;
            x.db().insert(args[1].clone(), Data::Hash(vec![(args[2].clone(), value.clone())]));
            return Ok(value);
        }
        Some(Data::Hash(fields)) => match fields.iter_mut().find(|(f, _)| *f == args[2]) {
            Some((_, old)) => {
                let value = new(Some(old))?;
                old.clone_from(&value);
                value
            }
            None => {
                let value = new(None)?;
                fields.push((args[2].clone(), value.clone()));
                value
            }
        },
        Some(_) => return Err(wrong_type()),
    };
    let db = x.db();
    db.note_growth(&args[1]);
    // `hashTypeSet` converts a listpack given a field or value past `hash-max-listpack-value`.
    if args[2].len() > db.limits.hash_value || value.len() > db.limits.hash_value {
        db.convert(&args[1]);
    }
    Ok(value)
}

/// HSETNX key field value: 1 if the field was new and is set.
fn hsetnx(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    match x.lookup(&args[1]) {
        Some(Data::Hash(fields)) if field(fields, &args[2]).is_some() => return Value::Integer(0),
        None | Some(Data::Hash(_)) => {}
        Some(_) => return wrong_type(),
    }
    if let Err(e) = update(args, x, |_| Ok(args[3].clone())) {
        return e;
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::HASH, "hset", &args[1]);
    Value::Integer(1)
}

/// HINCRBY key field increment (`hincrbyCommand`): the increment is parsed
/// first, then the key's type, then the field's value.
fn hincrby(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(incr) = parse_int(&args[3]) else {
        return Value::error("ERR value is not an integer or out of range");
    };
    let result = update(args, x, |old| {
        let current = match old {
            None => 0,
            Some(v) => parse_int(v).ok_or_else(|| Value::error("ERR hash value is not an integer"))?,
        };
        let n = current.checked_add(incr).ok_or_else(|| Value::error("ERR increment or decrement would overflow"))?;
        Ok(n.to_string().into_bytes())
    });
    match result {
        Ok(value) => {
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::HASH, "hincrby", &args[1]);
            Value::Integer(parse_int(&value).unwrap_or_default())
        }
        Err(e) => e,
    }
}

/// HINCRBYFLOAT key field increment (`hincrbyfloatCommand`): in `long
/// double`, printed as Redis prints it, propagated as the HSET of the result.
fn hincrbyfloat(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let incr = match LongDouble::parse(&args[3]) {
        None => return Value::error("ERR value is not a valid float"),
        Some(Parsed::Infinite) => return Value::error("ERR value is NaN or Infinity"),
        Some(Parsed::Finite(v)) => v,
    };
    let result = update(args, x, |old| {
        let current = match old.map(LongDouble::parse) {
            None => LongDouble::from_i64(0),
            Some(None) => return Err(Value::error("ERR hash value is not a float")),
            Some(Some(Parsed::Infinite)) => return Err(not_finite()),
            Some(Some(Parsed::Finite(v))) => v,
        };
        current.add(incr).map(|v| v.to_human().into_bytes()).ok_or_else(not_finite)
    });
    match result {
        Ok(value) => {
            x.dirty += 1;
            x.propagate(&[b"HSET".as_slice(), &args[1], &args[2], &value]);
            x.notify(notify::HASH, "hincrbyfloat", &args[1]);
            Value::Bulk(value)
        }
        Err(e) => e,
    }
}

pub(crate) fn not_finite() -> Value {
    Value::error("ERR increment would produce NaN or Infinity")
}
