//! BITFIELD and BITFIELD_RO (`bitfieldGeneric`, bitops.c): signed fields up
//! to i64 and unsigned up to u63 at any bit offset (`#N` counts in field
//! widths), GET, SET and INCRBY with OVERFLOW WRAP, SAT or FAIL. Every
//! argument is checked before anything runs; a write grows the string with
//! zeros to the farthest field written, and propagates only if a field
//! changed (as in Redis, a key created by writes that all FAIL is not).

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;

/// `proto-max-bulk-len`'s default: offsets stay below this many bytes.
const MAX_BYTES: i64 = 512 * 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Set(i64),
    Incrby(i64),
}

/// One field operation, parsed.
#[derive(Clone, Copy)]
struct Field {
    op: Op,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

fn error(text: &str) -> Value {
    Value::error(format!("ERR {text}"))
}

/// `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), Value> {
    let bad = || error("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    match parse_int(&arg[1..]) {
        Some(n @ 1..=64) if signed || n <= 63 => Ok((signed, n as u32)),
        _ => Err(bad()),
    }
}

/// `getBitOffsetFromArgument` with `#N` allowed.
fn field_offset(arg: &[u8], bits: u32) -> Result<u64, Value> {
    let bad = || error("bit offset is not an integer or out of range");
    let hash = arg.first() == Some(&b'#');
    let n = parse_int(&arg[usize::from(hash)..]).ok_or_else(bad)?;
    let n = if hash { n.wrapping_mul(i64::from(bits)) } else { n };
    if n < 0 || (n >> 3) >= MAX_BYTES {
        return Err(bad());
    }
    Ok(n as u64)
}

/// The subcommands, parsed and checked in order.
fn parse(args: &[Vec<u8>]) -> Result<Vec<Field>, Value> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let sub = args[j].to_ascii_lowercase();
        let (op_word, needs) = match sub.as_slice() {
            b"get" if left >= 2 => (0, 2),
            b"set" if left >= 3 => (1, 3),
            b"incrby" if left >= 3 => (2, 3),
            b"overflow" if left >= 1 => {
                overflow = match args[j + 1].to_ascii_lowercase().as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => return Err(error("Invalid OVERFLOW type specified")),
                };
                j += 2;
                continue;
            }
            _ => return Err(error("syntax error")),
        };
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = field_offset(&args[j + 2], bits)?;
        let op = match op_word {
            0 => Op::Get,
            _ => {
                let v = parse_int(&args[j + 3]).ok_or_else(|| error("value is not an integer or out of range"))?;
                if op_word == 1 { Op::Set(v) } else { Op::Incrby(v) }
            }
        };
        fields.push(Field { op, signed, bits, offset, overflow });
        j += 1 + needs;
    }
    Ok(fields)
}

/// Runs BITFIELD (`read_only`: BITFIELD_RO).
pub(crate) fn bitfield(args: &[Vec<u8>], x: &mut Exec<'_>, read_only: bool) -> Value {
    let fields = match parse(args) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let writes = fields.iter().filter(|f| f.op != Op::Get);
    let Some(highest) = writes.map(|f| f.offset + u64::from(f.bits) - 1).max() else {
        return match x.read(&args[1]) {
            None => Value::Array(fields.iter().map(|f| Value::Integer(get(&[], f))).collect()),
            Some(Data::Str(s)) => Value::Array(fields.iter().map(|f| Value::Integer(get(s, f))).collect()),
            Some(_) => wrong_type(),
        };
    };
    if read_only {
        return error("BITFIELD_RO only supports the GET subcommand");
    }
    let key = &args[1];
    let (s, grown) = match x.lookup_mut(key) {
        None => {
            x.db().insert(key.clone(), Data::Str(crate::keyspace::Str::new()));
            (string_mut(x, key), true)
        }
        Some(Data::Str(_)) => (string_mut(x, key), false),
        Some(_) => return wrong_type(),
    };
    let need = (highest >> 3) as usize + 1;
    let grown = grown || s.len() < need;
    if s.len() < need {
        s.resize(need, 0);
    }
    let mut changes = 0;
    let replies = fields.iter().map(|f| apply(s, f, grown, &mut changes)).collect();
    x.db().note_growth(key);
    if changes > 0 {
        x.dirty += changes;
        x.propagate(args);
        x.notify(notify::STRING, "setbit", key);
    }
    Value::Array(replies)
}

fn string_mut<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> &'x mut crate::keyspace::Str {
    match x.db().keys.get_mut(key) {
        Some(Data::Str(s)) => s,
        _ => unreachable!("a string is at the key"),
    }
}

/// One field on the grown string: its reply, counting a change when the
/// field was written and differs (or the string is new or grew).
fn apply(s: &mut [u8], f: &Field, grown: bool, changes: &mut u64) -> Value {
    let (incr, new_value) = match f.op {
        Op::Get => return Value::Integer(get(s, f)),
        Op::Set(v) => (0, v),
        Op::Incrby(v) => (v, v),
    };
    let old = read(s, f.offset, f.bits);
    let old = if f.signed { sign_extend(old, f.bits) } else { old };
    let (overflowed, limit) = if f.signed {
        let base = if matches!(f.op, Op::Set(_)) { new_value } else { old as i64 };
        check_signed(base, incr, f.bits, f.overflow)
    } else if matches!(f.op, Op::Set(_)) {
        check_unsigned(new_value as u64, 0, f.bits, f.overflow)
    } else {
        check_unsigned(old, incr, f.bits, f.overflow)
    };
    if overflowed && f.overflow == Overflow::Fail {
        return Value::Nil;
    }
    let written = match (f.op, limit) {
        (_, Some(l)) if overflowed => l,
        (Op::Set(v), _) => v as u64,
        _ => old.wrapping_add(incr as u64),
    };
    write(s, f.offset, f.bits, written);
    let written_value = if f.signed { sign_extend(written, f.bits) } else { written };
    if grown || old != written_value {
        *changes += 1;
    }
    let reply = if matches!(f.op, Op::Set(_)) { old } else { written_value };
    Value::Integer(reply as i64)
}

/// GET: the field read from the string as if zero-padded past its end.
fn get(s: &[u8], f: &Field) -> i64 {
    let v = read(s, f.offset, f.bits);
    if f.signed { sign_extend(v, f.bits) as i64 } else { v as i64 }
}

/// `getUnsignedBitfield`, bits past the end reading as zero.
fn read(s: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |v, at| {
        let byte = s.get((at >> 3) as usize).copied().unwrap_or(0);
        (v << 1) | u64::from((byte >> (7 - (at & 7))) & 1)
    })
}

/// `setUnsignedBitfield`: the low `bits` bits of `value`, most significant first.
fn write(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let bit = (value >> (u64::from(bits) - 1 - j)) & 1;
        let at = offset + j;
        let byte = &mut s[(at >> 3) as usize];
        let mask = 1u8 << (7 - (at & 7));
        *byte = if bit == 1 { *byte | mask } else { *byte & !mask };
    }
}

/// The field's top bit copied into the bits above it (two's complement).
fn sign_extend(v: u64, bits: u32) -> u64 {
    if bits < 64 && v & (1 << (bits - 1)) != 0 { v | (u64::MAX << bits) } else { v }
}

/// `checkUnsignedBitfieldOverflow`: whether `value + incr` leaves the
/// field's range, and what to write instead (WRAP, SAT).
fn check_unsigned(value: u64, incr: i64, bits: u32, how: Overflow) -> (bool, Option<u64>) {
    let max = (1u64 << bits) - 1;
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || Some(value.wrapping_add(incr as u64) & max);
    if value > max || (incr > 0 && incr > maxincr) {
        return (true, if how == Overflow::Wrap { wrap() } else { Some(max) });
    }
    if incr < 0 && incr < minincr {
        return (true, if how == Overflow::Wrap { wrap() } else { Some(0) });
    }
    (false, None)
}

/// `checkSignedBitfieldOverflow`; the value to write comes back as the
/// field's two's-complement bits sign-extended to 64.
fn check_signed(value: i64, incr: i64, bits: u32, how: Overflow) -> (bool, Option<u64>) {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        Some(if bits < 64 { sign_extend(c & ((1u64 << bits) - 1), bits) } else { c })
    };
    let wide = bits != 64;
    if value > max || (wide && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        return (true, if how == Overflow::Wrap { wrap() } else { Some(max as u64) });
    }
    if value < min || (wide && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        return (true, if how == Overflow::Wrap { wrap() } else { Some(min as u64) });
    }
    (false, None)
}

#[cfg(test)]
#[path = "tests_bitfield.rs"]
mod tests;
