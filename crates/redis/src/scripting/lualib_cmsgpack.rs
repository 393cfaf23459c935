//! `cmsgpack`, lua-cmsgpack 0.4.0 as Redis 7.0 loads it: `pack` (each
//! argument one MessagePack value: integral numbers as the smallest integer
//! encoding, others as a float when a float holds them exactly, else a
//! double; a table whose keys are exactly 1..n as an array, any other as a
//! map; tables nested past 16 levels, functions and other values as nil),
//! `unpack`, `unpack_one` and `unpack_limit`. Decoding is bounded as in C by
//! Lua's C stack (8000 slots), with the same "stack overflow" texts.

use super::lualib_args::{Levels, as_number, check, check_integer, check_string, opt_integer};
use lua_slice::{CError, CResult, c_function};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value as Lv};

/// Tables deeper than this pack as nil (so self-references end).
const MAX_NESTING: usize = 16;
/// Lua's limit on the C stack slots a C function may use (`LUAI_MAXCSTACK`).
const MAX_C_STACK: usize = 8000;

/// The `cmsgpack` table.
pub(crate) fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", c_function(lua, pack)?)?;
    t.raw_set("unpack", c_function(lua, |lua, args| unpack(lua, &args, 0, 0))?)?;
    t.raw_set("unpack_one", c_function(lua, unpack_one)?)?;
    t.raw_set("unpack_limit", c_function(lua, unpack_limit)?)?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

// ===== Packing =====

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    if args.is_empty() {
        return Ok(Err(CError::Arg(0, "MessagePack pack needs input.".into())));
    }
    if 2 * args.len() > MAX_C_STACK {
        return Ok(Err(CError::Arg(0, "Too many arguments for MessagePack pack.".into())));
    }
    let mut out = Vec::new();
    for v in args.iter() {
        encode(v, 0, &mut out)?;
    }
    Ok(Ok(lua.create_string(out)?.into_lua_multi(lua)?))
}

/// Appends one value, `level` tables deep.
pub(crate) fn encode(v: &Lv, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Lv::String(s) => encode_bytes(&s.as_bytes(), out),
        Lv::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Lv::Integer(_) | Lv::Number(_) => encode_number(as_number(v).unwrap_or(0.0), out),
        Lv::Table(t) if level < MAX_NESTING => encode_table(t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len();
    match n {
        0..32 => out.push(0xa0 | n as u8),
        32..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s);
}

/// 2^63, the first double past `int64_t`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Whether a double is an `int64_t` exactly (C's cast compared back).
fn int64_equivalent(n: f64) -> bool {
    n.is_finite() && (-TWO_POW_63..TWO_POW_63).contains(&n) && (n as i64) as f64 == n
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if int64_equivalent(n) {
        return encode_int(n as i64, out);
    }
    let f = n as f32;
    if f64::from(f) == n {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => with_tag(0xcd, &(n as u16).to_be_bytes(), out),
        0x1_0000..=0xffff_ffff => with_tag(0xce, &(n as u32).to_be_bytes(), out),
        0x1_0000_0000.. => with_tag(0xcf, &(n as u64).to_be_bytes(), out),
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => with_tag(0xd1, &(n as i16).to_be_bytes(), out),
        -2_147_483_648..=-32769 => with_tag(0xd2, &(n as i32).to_be_bytes(), out),
        _ => with_tag(0xd3, &n.to_be_bytes(), out),
    }
}

fn with_tag(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    out.extend_from_slice(bytes);
}

fn encode_len(n: usize, fix: u8, tags: [u8; 2], out: &mut Vec<u8>) {
    match n {
        0..=15 => out.push(fix | n as u8),
        16..=0xffff => with_tag(tags[0], &(n as u16).to_be_bytes(), out),
        _ => with_tag(tags[1], &(n as u32).to_be_bytes(), out),
    }
}

/// An array when the keys are exactly 1..n (as C `int`s), else a map; keys
/// and values in Lua's `next` order.
fn encode_table(t: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    let mut pairs = Vec::new();
    for pair in t.pairs::<Lv, Lv>() {
        pairs.push(pair?);
    }
    let array = pairs.iter().try_fold(0i64, |max, (k, _)| match as_number(k) {
        Some(n) if n > 0.0 && n <= f64::from(i32::MAX) && n.fract() == 0.0 => Some(max.max(n as i64)),
        _ => None,
    });
    if array == Some(pairs.len() as i64) {
        encode_len(pairs.len(), 0x90, [0xdc, 0xdd], out);
        for i in 1..=pairs.len() {
            encode(&t.raw_get::<Lv>(i)?, level + 1, out)?;
        }
        return Ok(());
    }
    encode_len(pairs.len(), 0x80, [0xde, 0xdf], out);
    for (k, v) in &pairs {
        encode(k, level + 1, out)?;
        encode(v, level + 1, out)?;
    }
    Ok(())
}

// ===== Unpacking =====

fn unpack_one(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let offset = check!(opt_integer(lua, &args, 2, 0));
    unpack(lua, &args, 1, offset)
}

fn unpack_limit(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let limit = check!(check_integer(lua, &args, 2));
    let offset = check!(opt_integer(lua, &args, 3, 0));
    unpack(lua, &args, limit, offset)
}

/// `mp_unpack_full`: up to `limit` values from `offset` (all when both are
/// 0), after the next offset (-1 at the end) unless all were asked for.
fn unpack(lua: &Lua, args: &MultiValue, limit: i64, offset: i64) -> mlua::Result<CResult> {
    let s = check!(check_string(lua, args, 1));
    let data = s.as_bytes();
    let len = data.len() as i64;
    if offset < 0 || limit < 0 {
        let text = format!("Invalid request to unpack with offset of {offset} and limit of {len}.");
        return Ok(Err(CError::Where(text)));
    }
    if offset > len {
        return Ok(Err(CError::Where(format!("Start offset {offset} greater than input length {len}."))));
    }
    let all = limit == 0 && offset == 0;
    let limit = if all { i64::from(i32::MAX) } else { limit };
    let mut cur = Cursor { lua, data: &data, pos: offset as usize };
    let mut values = Vec::new();
    while cur.pos < data.len() && (values.len() as i64) < limit {
        values.push(check!(cur.value(1 + values.len())));
    }
    if !all {
        let next = if cur.pos == data.len() { -1.0 } else { cur.pos as f64 };
        values.insert(0, Lv::Number(next));
    }
    Ok(Ok(MultiValue::from_vec(values)))
}

struct Cursor<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
}

type Decoded = mlua::Result<Result<Lv, CError>>;

fn missing() -> CError {
    CError::Where("Missing bytes in input.".into())
}

fn overflow(why: &str) -> CError {
    CError::Where(format!("stack overflow ({why})"))
}

impl Cursor<'_> {
    /// The next `n` bytes, consumed.
    fn take(&mut self, n: usize) -> Result<&[u8], CError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or_else(missing)?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> Result<u64, CError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }

    /// One value, with `slots` of Lua's C stack in use below it, without
    /// recursion: nesting is bounded by the C stack limit, not the native one.
    fn value(&mut self, slots: usize) -> Decoded {
        let mut open: Vec<Open> = Vec::new();
        let (tables, keys) = (Levels::new(self.lua)?, Levels::new(self.lua)?);
        loop {
            let at = open.last().map_or(slots, Open::child_slots);
            let mut done = match check!(self.item(at)) {
                Item::Value(v) => Some(v),
                Item::Array(_) if at + 2 > MAX_C_STACK => {
                    return Ok(Err(overflow("in function mp_decode_to_lua_array")));
                }
                item @ (Item::Array(n) | Item::Map(n)) => {
                    let array = matches!(item, Item::Array(_));
                    open.push(Open { array, left: n, index: 1, key: false, slots: at });
                    tables.set(open.len(), Lv::Table(self.lua.create_table()?))?;
                    None
                }
            };
            // Store what is done in its container; close the containers that are full.
            loop {
                let level = open.len();
                let Some(o) = open.last_mut() else { break };
                if let Some(v) = done.take()
                    && let Err(e) = o.store(&tables, &keys, level, v)?
                {
                    return Ok(Err(e));
                }
                if o.left > 0 || o.key {
                    break;
                }
                open.pop();
                done = Some(tables.get(level)?);
            }
            if open.is_empty() {
                return Ok(Ok(done.unwrap_or(Lv::Nil)));
            }
        }
    }

    /// The next value, or the length of the array or map that starts there.
    fn item(&mut self, slots: usize) -> mlua::Result<Result<Item, CError>> {
        if self.pos >= self.data.len() {
            return Ok(Err(missing()));
        }
        if slots + 1 > MAX_C_STACK {
            return Ok(Err(overflow("too many return values at once; use unpack_one or unpack_limit instead.")));
        }
        let tag = self.data[self.pos];
        self.pos += 1;
        let n = |v: f64| Ok(Ok(Item::Value(Lv::Number(v))));
        let r = match tag {
            0x00..=0x7f => return n(f64::from(tag)),
            0xe0..=0xff => return n(f64::from(tag as i8)),
            0xa0..=0xbf => return self.string(usize::from(tag & 0x1f)),
            0x90..=0x9f => return Ok(Ok(Item::Array(usize::from(tag & 0xf)))),
            0x80..=0x8f => return Ok(Ok(Item::Map(usize::from(tag & 0xf)))),
            0xc0 => return Ok(Ok(Item::Value(Lv::Nil))),
            0xc2 | 0xc3 => return Ok(Ok(Item::Value(Lv::Boolean(tag == 0xc3)))),
            0xcc => self.uint(1).map(|v| v as f64),
            0xcd => self.uint(2).map(|v| v as f64),
            0xce => self.uint(4).map(|v| v as f64),
            0xcf | 0xd3 => self.uint(8).map(|v| v as i64 as f64),
            0xd0 => self.uint(1).map(|v| f64::from(v as u8 as i8)),
            0xd1 => self.uint(2).map(|v| f64::from(v as u16 as i16)),
            0xd2 => self.uint(4).map(|v| f64::from(v as u32 as i32)),
            0xca => self.uint(4).map(|v| f64::from(f32::from_bits(v as u32))),
            0xcb => self.uint(8).map(f64::from_bits),
            0xd9..=0xdf => return self.sized(tag),
            _ => return Ok(Err(CError::Where("Bad data format in input.".into()))),
        };
        Ok(r.map(|v| Item::Value(Lv::Number(v))))
    }

    /// The string, array and map types with a length after the tag.
    fn sized(&mut self, tag: u8) -> mlua::Result<Result<Item, CError>> {
        let width = match tag {
            0xd9 => 1,
            0xda | 0xdc | 0xde => 2,
            _ => 4,
        };
        let n = match self.uint(width) {
            Ok(n) => n as usize,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(match tag {
            0xd9..=0xdb => return self.string(n),
            0xdc | 0xdd => Item::Array(n),
            _ => Item::Map(n),
        }))
    }

    fn string(&mut self, n: usize) -> mlua::Result<Result<Item, CError>> {
        let lua = self.lua;
        match self.take(n) {
            Ok(bytes) => Ok(Ok(Item::Value(Lv::String(lua.create_string(bytes)?)))),
            Err(e) => Ok(Err(e)),
        }
    }
}

/// What one tag starts.
enum Item {
    Value(Lv),
    Array(usize),
    Map(usize),
}

/// An array or map being filled (its table, and a key read, are in [`Levels`]).
struct Open {
    array: bool,
    /// Items (pairs for a map) still to read.
    left: usize,
    /// The next array index.
    index: i64,
    /// A map key was read, its value not yet.
    key: bool,
    /// The C stack slots in use where the container's own value was read.
    slots: usize,
}

impl Open {
    /// Where its next item is read: above the table and the array index, or
    /// above the table (a key) and the key (a value).
    fn child_slots(&self) -> usize {
        if self.array || self.key { self.slots + 2 } else { self.slots + 1 }
    }

    fn store(&mut self, tables: &Levels, keys: &Levels, level: usize, v: Lv) -> mlua::Result<Result<(), CError>> {
        let table = tables.table(level)?;
        if self.array {
            table.raw_set(self.index, v)?;
            self.index += 1;
            self.left -= 1;
            return Ok(Ok(()));
        }
        if !self.key {
            self.key = true;
            keys.set(level, v)?;
            return Ok(Ok(()));
        }
        self.key = false;
        let k = keys.get(level)?;
        match &k {
            Lv::Nil => return Ok(Err(CError::Raw("table index is nil".into()))),
            Lv::Number(f) if f.is_nan() => return Ok(Err(CError::Raw("table index is NaN".into()))),
            _ => table.raw_set(k, v)?,
        }
        self.left -= 1;
        Ok(Ok(()))
    }
}
