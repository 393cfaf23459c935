//! HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG,
//! PFSELFTEST on string values laid out as Redis lays them out ([`repr`]),
//! with Redis 7.0's replies, errors and propagation (PFCOUNT propagates as
//! typed when it refreshes a stale cached cardinality; PFDEBUG when it turns
//! a sparse HLL dense).

mod repr;
mod selftest;

/// `hll-sparse-max-bytes`'s default.
pub(crate) use repr::SPARSE_MAX_BYTES;

use crate::commands::wrong_type;
use crate::keyspace::{Data, Exec};
use crate::notify;
use repr::{Corrupt, REGISTERS};
use resp::Value;

/// Runs `name` if it is a HyperLogLog command; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "pfadd" => pfadd(args, x),
        "pfcount" => pfcount(args, x),
        "pfmerge" => pfmerge(args, x),
        "pfdebug" => pfdebug(args, x),
        "pfselftest" => selftest::run(x.random, x.db().limits.hll_sparse_bytes),
        _ => return crate::geo::keyspace(name, args, x),
    })
}

fn corrupt(_: Corrupt) -> Value {
    Value::error("INVALIDOBJ Corrupted HLL object detected")
}

fn not_an_hll() -> Value {
    Value::error("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

/// `isHLLObjectOrReply` on `key`'s value: `Ok(None)` if there is none.
/// PFCOUNT's and PFMERGE's sources are read lookups (`lookupKeyRead`, a
/// keyspace hit or miss); PFADD's and PFDEBUG's are writes.
fn hll<'x>(x: &'x mut Exec<'_>, key: &[u8], read: bool) -> Result<Option<&'x [u8]>, Value> {
    let value = if read { x.read(key) } else { x.lookup(key) };
    match value {
        None => Ok(None),
        Some(Data::Str(s)) if repr::is_valid(s) => Ok(Some(s)),
        Some(Data::Str(_)) => Err(not_an_hll()),
        Some(_) => Err(wrong_type()),
    }
}

/// The HLL at `key` to change in place, created empty when missing (whether
/// it was is the second value). Redis unshares the string first, so it is
/// `raw` from then on.
fn hll_mut<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<(&'x mut crate::keyspace::Str, bool), Value> {
    let created = hll(x, key, false)?.is_none();
    if created {
        x.db().insert(key.to_vec(), Data::Str(repr::new_sparse()));
    }
    x.db().note_growth(key);
    match x.db().keys.get_mut(key) {
        Some(Data::Str(s)) => Ok((s, created)),
        _ => unreachable!("an HLL string is at the key"),
    }
}

/// PFADD key [element ...]: 1 if a register changed or the key was created.
fn pfadd(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let max_sparse = x.db().limits.hll_sparse_bytes;
    let (s, created) = match hll_mut(x, &args[1]) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let mut updated = u64::from(created);
    for ele in &args[2..] {
        match repr::add(s, ele, max_sparse) {
            Ok(changed) => updated += u64::from(changed),
            // What was added so far stays, unpropagated, as in Redis.
            Err(e) => return corrupt(e),
        }
    }
    if updated == 0 {
        return Value::Integer(0);
    }
    repr::invalidate(s);
    x.dirty += updated;
    x.propagate(args);
    x.notify(notify::STRING, "pfadd", &args[1]);
    Value::Integer(1)
}

/// PFCOUNT key [key ...]: the cached cardinality of one key (refreshed, and
/// propagated, when stale), or the cardinality of several keys' union.
fn pfcount(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if args.len() > 2 {
        return match union(&args[1..], x) {
            Ok((max, _)) => Value::Integer(repr::count_registers(&max) as i64),
            Err(e) => e,
        };
    }
    match hll(x, &args[1], true) {
        Ok(None) => return Value::Integer(0),
        Ok(Some(_)) => {}
        Err(e) => return e,
    }
    let Ok((s, _)) = hll_mut(x, &args[1]) else { unreachable!("checked above") };
    if let Some(card) = repr::cached(s) {
        return Value::Integer(card as i64);
    }
    let card = match repr::count(s) {
        Ok(card) => card,
        Err(e) => return corrupt(e),
    };
    repr::set_cache(s, card);
    x.dirty += 1;
    x.propagate(args);
    Value::Integer(card as i64)
}

/// Every key's registers raised into one set (missing keys are empty), and
/// whether one of them was dense.
fn union(keys: &[Vec<u8>], x: &mut Exec<'_>) -> Result<(Box<[u8; REGISTERS]>, bool), Value> {
    let mut max = Box::new([0u8; REGISTERS]);
    let mut dense = false;
    for key in keys {
        if let Some(s) = hll(x, key, true)? {
            dense |= repr::is_dense(s);
            repr::merge_into(&mut max, s).map_err(corrupt)?;
        }
    }
    Ok((max, dense))
}

/// PFMERGE destkey [sourcekey ...]: the destination (itself a source) takes
/// the max of every register, dense if any input was.
fn pfmerge(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (max, dense) = match union(&args[1..], x) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let max_sparse = x.db().limits.hll_sparse_bytes;
    let Ok((s, _)) = hll_mut(x, &args[1]) else { unreachable!("checked by the union") };
    if dense && let Err(e) = repr::to_dense(s) {
        return corrupt(e);
    }
    for (i, &v) in max.iter().enumerate().filter(|(_, v)| **v > 0) {
        // Redis ignores a corrupt destination here: its registers were read above.
        let _ = repr::set(s, i, v, max_sparse);
    }
    repr::invalidate(s);
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::STRING, "pfadd", &args[1]);
    Value::ok()
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
fn pfdebug(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    match hll(x, &args[2], false) {
        Ok(None) => return Value::error("ERR The specified key does not exist"),
        Ok(Some(_)) => {}
        Err(e) => return e,
    }
    let Ok((s, _)) = hll_mut(x, &args[2]) else { unreachable!("checked above") };
    let sparse = !repr::is_dense(s);
    let sub = args[1].to_ascii_lowercase();
    let reply = match sub.as_slice() {
        b"getreg" | b"todense" => match repr::to_dense(s) {
            Err(e) => return corrupt(e),
            Ok(()) if sub == b"todense" => Value::Integer(i64::from(sparse)),
            Ok(()) => Value::Array(repr::registers(s).into_iter().map(|r| Value::Integer(r.into())).collect()),
        },
        b"decode" if sparse => return Value::Bulk(repr::decode(s).into_bytes()),
        b"decode" => return Value::error("ERR HLL encoding is not sparse"),
        b"encoding" => return Value::Simple(if sparse { "sparse" } else { "dense" }.into()),
        _ => {
            let sub = String::from_utf8_lossy(&args[1]);
            return Value::error(format!("ERR Unknown PFDEBUG subcommand '{sub}'"));
        }
    };
    // Turning the HLL dense is a change replicas must make too.
    if sparse {
        x.dirty += 1;
        x.propagate(args);
    }
    reply
}

#[cfg(test)]
#[path = "../tests_hll.rs"]
mod tests;
