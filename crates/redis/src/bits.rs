//! Bit operations on strings (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, with Redis 7.0's argument order, errors and BYTE/BIT ranges. Bit 0
//! is the most significant bit of the first byte.

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;

/// `proto-max-bulk-len`'s default, in bytes: the largest string a bit offset may reach.
const MAX_BYTES: i64 = 512 * 1024 * 1024;

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// Runs `name` if it is a bit command; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "setbit" => setbit(args, x),
        "getbit" => getbit(args, x),
        "bitcount" => bitcount(args, x),
        "bitpos" => bitpos(args, x),
        "bitop" => bitop(args, x),
        "bitfield" => crate::bitfield::bitfield(args, x, false),
        "bitfield_ro" => crate::bitfield::bitfield(args, x, true),
        _ => return crate::hll::keyspace(name, args, x),
    })
}

/// `getBitOffsetFromArgument`.
fn offset(arg: &[u8]) -> Result<u64, Value> {
    match parse_int(arg) {
        Some(o) if o >= 0 && (o >> 3) < MAX_BYTES => Ok(o as u64),
        _ => Err(Value::error("ERR bit offset is not an integer or out of range")),
    }
}

fn bit_at(s: &[u8], i: u64) -> bool {
    s.get((i >> 3) as usize).is_some_and(|b| b & (0x80 >> (i & 7)) != 0)
}

/// The string at `key`: `Ok(None)` if missing.
fn string<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x [u8]>, Value> {
    match x.read(key) {
        None => Ok(None),
        Some(Data::Str(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type()),
    }
}

/// SETBIT key offset 0|1: the old bit; the string grows zero-padded.
fn setbit(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let at = match offset(&args[2]) {
        Ok(at) => at,
        Err(e) => return e,
    };
    let on = match parse_int(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Value::error("ERR bit is not an integer or out of range"),
    };
    let key = &args[1];
    let created = match x.lookup_mut(key) {
        None => {
            x.db().insert(key.clone(), Data::Str(crate::keyspace::Str::new()));
            true
        }
        Some(Data::Str(_)) => false,
        Some(_) => return wrong_type(),
    };
    let Some(Data::Str(s)) = x.db().keys.get_mut(key) else { unreachable!("a string is there") };
    let byte = (at >> 3) as usize;
    let grown = created || s.len() <= byte;
    if s.len() <= byte {
        s.resize(byte + 1, 0);
    }
    let mask = 0x80 >> (at & 7);
    let old = s[byte] & mask != 0;
    if on {
        s[byte] |= mask;
    } else {
        s[byte] &= !mask;
    }
    // The bytes were changed in place: the value is a raw string from now on.
    x.db().note_growth(key);
    x.dirty += 1;
    x.propagate(args);
    // Only a string made, grown or with its bit flipped tells of it.
    if grown || old != on {
        x.notify(notify::STRING, "setbit", key);
    }
    Value::Integer(i64::from(old))
}

fn getbit(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let at = match offset(&args[2]) {
        Ok(at) => at,
        Err(e) => return e,
    };
    match string(x, &args[1]) {
        Ok(s) => Value::Integer(i64::from(s.is_some_and(|s| bit_at(s, at)))),
        Err(e) => e,
    }
}

/// BYTE or BIT at `args[at]`, if given; true for BIT.
fn unit(args: &[Vec<u8>], at: usize) -> Result<bool, Value> {
    match args.get(at).map(|a| a.to_ascii_lowercase()) {
        None => Ok(false),
        Some(u) if u == b"bit" => Ok(true),
        Some(u) if u == b"byte" => Ok(false),
        Some(_) => Err(Value::error("ERR syntax error")),
    }
}

/// A start/end pair resolved against a string of `len` bytes as bitops.c
/// does (negative from the end, clamped), as an inclusive bit range;
/// `None` when it is empty.
fn bit_range(start: i64, end: i64, len: usize, bits: bool) -> Option<(u64, u64)> {
    let total = if bits { len as i64 * 8 } else { len as i64 };
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    let start = start.max(0);
    let end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    Some(if bits { (start as u64, end as u64) } else { (start as u64 * 8, end as u64 * 8 + 7) })
}

/// BITCOUNT key [start end [BYTE|BIT]]: the key is looked up first.
fn bitcount(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let s = match string(x, &args[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return Value::Integer(0),
        Err(e) => return e,
    };
    let range = match args.len() {
        2 => bit_range(0, -1, s.len(), false),
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_int(&args[2]), parse_int(&args[3])) else { return not_an_integer() };
            // 7.0.15 answers an empty negative range before it reads the unit:
            // `BITCOUNT k -1 -2 WORD` is 0, `BITCOUNT k 1 0 WORD` a syntax error
            if start < 0 && end < 0 && start > end {
                return Value::Integer(0);
            }
            let bits = match unit(args, 4) {
                Ok(b) => b,
                Err(e) => return e,
            };
            bit_range(start, end, s.len(), bits)
        }
        _ => return Value::error("ERR syntax error"),
    };
    Value::Integer(range.map_or(0, |(a, b)| (a..=b).filter(|&i| bit_at(s, i)).count() as i64))
}

/// BITPOS key 0|1 [start [end [BYTE|BIT]]]: the bit is parsed first, then the
/// key looked up, then the range.
fn bitpos(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let bit = match parse_int(&args[2]) {
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return Value::error("ERR The bit argument must be 1 or 0."),
        None => return not_an_integer(),
    };
    let s = match string(x, &args[1]) {
        Ok(Some(s)) => s,
        // A missing key is an endless run of zeros.
        Ok(None) => return Value::Integer(if bit { -1 } else { 0 }),
        Err(e) => return e,
    };
    let (range, end_given) = match args.len() {
        3 => (bit_range(0, -1, s.len(), false), false),
        4..=6 => {
            let Some(start) = parse_int(&args[3]) else { return not_an_integer() };
            let bits = match unit(args, 5) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let end = match args.get(4) {
                None => -1,
                Some(e) => match parse_int(e) {
                    Some(e) => e,
                    None => return not_an_integer(),
                },
            };
            (bit_range(start, end, s.len(), bits), args.len() >= 5)
        }
        _ => return Value::error("ERR syntax error"),
    };
    let Some((first, last)) = range else { return Value::Integer(-1) };
    match (first..=last).find(|&i| bit_at(s, i) == bit) {
        Some(i) => Value::Integer(i as i64),
        // Past an open end, the string continues with zeros.
        None if !bit && !end_given => Value::Integer(last as i64 + 1),
        None => Value::Integer(-1),
    }
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: missing keys are empty
/// strings; an empty result deletes the destination.
fn bitop(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let op = args[1].to_ascii_lowercase();
    if !matches!(op.as_slice(), b"and" | b"or" | b"xor" | b"not") {
        return Value::error("ERR syntax error");
    }
    if op == b"not" && args.len() != 4 {
        return Value::error("ERR BITOP NOT must be called with a single source key.");
    }
    let mut sources = Vec::with_capacity(args.len() - 3);
    for k in &args[3..] {
        match string(x, k) {
            Ok(s) => sources.push(s.map(<[u8]>::to_vec).unwrap_or_default()),
            Err(e) => return e,
        }
    }
    let max = sources.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |s: &Vec<u8>, i: usize| s.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..max)
        .map(|i| {
            let mut out = byte(&sources[0], i);
            if op == b"not" {
                out = !out;
            }
            for s in &sources[1..] {
                match op.as_slice() {
                    b"and" => out &= byte(s, i),
                    b"or" => out |= byte(s, i),
                    _ => out ^= byte(s, i),
                }
            }
            out
        })
        .collect();
    let dst = &args[2];
    let event = if result.is_empty() { "del" } else { "set" };
    let class = if result.is_empty() { notify::GENERIC } else { notify::STRING };
    if result.is_empty() {
        if x.lookup(dst).is_none() || !x.db().remove(dst) {
            return Value::Integer(0);
        }
    } else {
        x.lookup(dst);
        x.db().replace(dst.clone(), Data::Str(crate::keyspace::str_from_vec(result)));
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(class, event, dst);
    Value::Integer(max as i64)
}

#[cfg(test)]
#[path = "tests_bits.rs"]
mod tests;
