//! `cjson`, Lua CJSON 2.1.0 as Redis 7.0 loads it: `encode`, `decode`,
//! `null`, `new` and the settings (`encode_max_depth`, `decode_max_depth`,
//! `encode_number_precision`, `encode_sparse_array`, `encode_invalid_numbers`,
//! `decode_invalid_numbers`, `encode_keep_buffer`). Each table from `new`
//! has its own settings; they last as long as the interpreter, as Redis's do.
//!
//! Tables are read with Lua's own `next`, so keys come out in the order Redis
//! writes them. Nesting is bounded as in C: by the max depth settings and by
//! Lua's C stack (8000 slots), the error texts naming the depth reached.

use super::lua::fmt_g;
use super::lualib_args::{Levels, check, check_integer, check_string, raw_next, type_error, type_name};
use super::lualib_cjson_decode::{Limits, Parser};
use lua_slice::{CError, CResult, c_function};
use mlua::{IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Value as Lv};
use std::cell::RefCell;
use std::rc::Rc;

/// Lua's limit on the C stack slots a C function may use (`LUAI_MAXCSTACK`).
const MAX_C_STACK: usize = 8000;
/// The longest JSON text `encode` writes here (Redis has no limit: a sparse
/// array allowed by `encode_sparse_array` could ask for gigabytes of `null`).
const MAX_TEXT: usize = 512 << 20;

/// One `cjson` table's settings.
#[derive(Clone, Debug)]
struct Config {
    sparse_convert: i64,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    /// 0 refuses NaN and infinities, 1 writes them, 2 writes `null`.
    encode_invalid_numbers: i64,
    encode_number_precision: i64,
    encode_keep_buffer: i64,
    decode_invalid_numbers: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
            decode_invalid_numbers: 1,
        }
    }
}

type Shared = Rc<RefCell<Config>>;
type Body = fn(&Lua, &MultiValue, &Shared) -> mlua::Result<CResult>;

const FUNCTIONS: &[(&str, Body)] = &[
    ("encode", encode),
    ("decode", decode),
    ("encode_sparse_array", cfg_sparse_array),
    ("encode_max_depth", |lua, a, c| int_setting(lua, a, c, 1, i64::from(i32::MAX), |c| &mut c.encode_max_depth)),
    ("decode_max_depth", |lua, a, c| int_setting(lua, a, c, 1, i64::from(i32::MAX), |c| &mut c.decode_max_depth)),
    ("encode_number_precision", |lua, a, c| int_setting(lua, a, c, 1, 14, |c| &mut c.encode_number_precision)),
    ("encode_keep_buffer", |lua, a, c| enum_setting(lua, a, c, &["off", "on"], |c| &mut c.encode_keep_buffer)),
    ("encode_invalid_numbers", |lua, a, c| {
        enum_setting(lua, a, c, &["off", "on", "null"], |c| &mut c.encode_invalid_numbers)
    }),
    ("decode_invalid_numbers", |lua, a, c| enum_setting(lua, a, c, &["off", "on"], |c| &mut c.decode_invalid_numbers)),
];

/// A `cjson` table with fresh settings (`cjson.new()`).
pub(crate) fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    // Captured before any script runs: objects are written in `next`'s order.
    raw_next(lua)?;
    let cfg: Shared = Rc::default();
    for &(name, body) in FUNCTIONS {
        let cfg = cfg.clone();
        t.raw_set(name, c_function(lua, move |lua, args| body(lua, &args, &cfg))?)?;
    }
    t.raw_set("new", c_function(lua, |lua, _| Ok(Ok(table(lua)?.into_lua_multi(lua)?)))?)?;
    t.raw_set("null", LightUserData(std::ptr::null_mut()))?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// `json_arg_init`: at most `n` arguments.
fn arg_init(args: &MultiValue, n: usize) -> Result<(), CError> {
    if args.len() > n {
        return Err(CError::Arg(n as i32 + 1, "found too many arguments".into()));
    }
    Ok(())
}

fn arg(args: &MultiValue, i: usize) -> Lv {
    args.get(i - 1).cloned().unwrap_or(Lv::Nil)
}

fn int_setting(
    lua: &Lua,
    args: &MultiValue,
    cfg: &Shared,
    min: i64,
    max: i64,
    field: fn(&mut Config) -> &mut i64,
) -> mlua::Result<CResult> {
    if let Err(e) = arg_init(args, 1) {
        return Ok(Err(e));
    }
    let v = check!(int_option(lua, args, 1, cfg, min, max, field));
    Ok(Ok(v.into_lua_multi(lua)?))
}

/// `json_integer_option`; a value out of range always blames argument 1.
fn int_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    cfg: &Shared,
    min: i64,
    max: i64,
    field: fn(&mut Config) -> &mut i64,
) -> mlua::Result<Result<mlua::Value, CError>> {
    let mut c = cfg.borrow_mut();
    if !matches!(arg(args, i), Lv::Nil) {
        let v = check!(check_integer(lua, args, i));
        if !(min..=max).contains(&v) {
            return Ok(Err(CError::Arg(1, format!("expected integer between {min} and {max}"))));
        }
        *field(&mut c) = v;
    }
    Ok(Ok(Lv::Number(*field(&mut c) as f64)))
}

fn enum_setting(
    lua: &Lua,
    args: &MultiValue,
    cfg: &Shared,
    options: &[&str],
    field: fn(&mut Config) -> &mut i64,
) -> mlua::Result<CResult> {
    if let Err(e) = arg_init(args, 1) {
        return Ok(Err(e));
    }
    let v = check!(enum_option(lua, args, 1, cfg, options, field));
    Ok(Ok(v.into_lua_multi(lua)?))
}

/// `json_enum_option` with `true` meaning option 1.
fn enum_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    cfg: &Shared,
    options: &[&str],
    field: fn(&mut Config) -> &mut i64,
) -> mlua::Result<Result<mlua::Value, CError>> {
    let mut c = cfg.borrow_mut();
    match arg(args, i) {
        Lv::Nil => {}
        Lv::Boolean(b) => *field(&mut c) = i64::from(b),
        v => {
            let name = match &v {
                Lv::String(s) => s.as_bytes().to_vec(),
                Lv::Integer(_) | Lv::Number(_) => {
                    lua.coerce_string(v.clone())?.map(|s| s.as_bytes().to_vec()).unwrap_or_default()
                }
                _ => return Ok(Err(type_error(args, i, "string"))),
            };
            match options.iter().position(|o| o.as_bytes() == name.as_slice()) {
                Some(n) => *field(&mut c) = n as i64,
                None => {
                    let name = String::from_utf8_lossy(&name);
                    return Ok(Err(CError::Arg(i as i32, format!("invalid option '{name}'"))));
                }
            }
        }
    }
    let v = *field(&mut c);
    Ok(Ok(if v <= 1 { Lv::Boolean(v == 1) } else { Lv::String(lua.create_string(options[v as usize])?) }))
}

fn cfg_sparse_array(lua: &Lua, args: &MultiValue, cfg: &Shared) -> mlua::Result<CResult> {
    if let Err(e) = arg_init(args, 3) {
        return Ok(Err(e));
    }
    let max = i64::from(i32::MAX);
    let convert = check!(enum_option(lua, args, 1, cfg, &["off", "on"], |c| &mut c.sparse_convert));
    let ratio = check!(int_option(lua, args, 2, cfg, 0, max, |c| &mut c.sparse_ratio));
    let safe = check!(int_option(lua, args, 3, cfg, 0, max, |c| &mut c.sparse_safe));
    Ok(Ok(MultiValue::from_vec(vec![convert, ratio, safe])))
}

// ===== Encoding =====

fn encode(lua: &Lua, args: &MultiValue, cfg: &Shared) -> mlua::Result<CResult> {
    if args.len() != 1 {
        return Ok(Err(CError::Arg(1, "expected 1 argument".into())));
    }
    let cfg = cfg.borrow().clone();
    let mut out = Vec::new();
    check!(Encoder { lua, cfg: &cfg, next: raw_next(lua)? }.value(&args[0], &mut out));
    Ok(Ok(lua.create_string(out)?.into_lua_multi(lua)?))
}

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    /// Lua's `next`: objects are written in its order.
    next: mlua::Function,
}

fn cannot(v: &Lv, reason: &str) -> CError {
    CError::Where(format!("Cannot serialise {}: {reason}", type_name(v)))
}

/// A table being written (the table itself and its last key are in
/// [`Levels`]): an array's next index and length, or an object.
struct Open {
    array: Option<(i64, i64)>,
    first: bool,
    /// The Lua C stack slots each of its values takes (1 in an array, 2 in
    /// an object: the key too).
    slots: usize,
}

impl Encoder<'_> {
    /// Appends `v`, without recursion: nesting is bounded by the settings,
    /// not by the native stack.
    fn value(&self, v: &Lv, out: &mut Vec<u8>) -> mlua::Result<Result<(), CError>> {
        let (tables, keys) = (Levels::new(self.lua)?, Levels::new(self.lua)?);
        let mut open: Vec<Open> = Vec::new();
        let mut slots = 1;
        let mut next = Some(v.clone());
        loop {
            if let Some(v) = next.take() {
                if let Lv::Table(t) = &v {
                    let depth = open.len() as i64 + 1;
                    if depth > self.cfg.encode_max_depth || slots + 3 > MAX_C_STACK {
                        return Ok(Err(CError::Where(format!("Cannot serialise, excessive nesting ({depth})"))));
                    }
                    let array = check!(self.array_length(&v, t)).map(|len| (1, len));
                    out.push(if array.is_some() { b'[' } else { b'{' });
                    let table = Open { array, first: true, slots: if array.is_some() { 1 } else { 2 } };
                    slots += table.slots;
                    open.push(table);
                    tables.set(open.len(), v.clone())?;
                    keys.set(open.len(), Lv::Nil)?;
                } else if let Err(e) = self.scalar(&v, out) {
                    return Ok(Err(e));
                }
            }
            let level = open.len();
            let Some(top) = open.last_mut() else { return Ok(Ok(())) };
            let t = tables.table(level)?;
            let item = match &mut top.array {
                Some((i, len)) if *i <= *len => {
                    *i += 1;
                    Some((None, t.raw_get::<Lv>(*i - 1)?))
                }
                Some(_) => None,
                None => {
                    let (k, v): (Lv, Lv) = self.next.call((t, keys.get(level)?))?;
                    keys.set(level, k.clone())?;
                    (!matches!(k, Lv::Nil)).then_some((Some(k), v))
                }
            };
            if out.len() > MAX_TEXT {
                return Ok(Err(CError::Where(format!(
                    "Cannot serialise: JSON text over {MAX_TEXT} bytes (simulator limit)"
                ))));
            }
            let Some((key, v)) = item else {
                out.push(if top.array.is_some() { b']' } else { b'}' });
                slots -= top.slots;
                open.pop();
                continue;
            };
            if !std::mem::replace(&mut top.first, false) {
                out.push(b',');
            }
            if let Some(k) = key
                && let Err(e) = self.key(&k, out)
            {
                return Ok(Err(e));
            }
            next = Some(v);
        }
    }

    fn scalar(&self, v: &Lv, out: &mut Vec<u8>) -> Result<(), CError> {
        match v {
            Lv::String(s) => escape(&s.as_bytes(), out),
            Lv::Integer(_) | Lv::Number(_) => self.number(v, out)?,
            Lv::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Lv::Nil => out.extend_from_slice(b"null"),
            Lv::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
            other => return Err(cannot(other, "type not supported")),
        }
        Ok(())
    }

    fn key(&self, k: &Lv, out: &mut Vec<u8>) -> Result<(), CError> {
        match k {
            Lv::Integer(_) | Lv::Number(_) => {
                out.push(b'"');
                self.number(k, out)?;
                out.extend_from_slice(b"\":");
            }
            Lv::String(s) => {
                escape(&s.as_bytes(), out);
                out.push(b':');
            }
            other => return Err(cannot(other, "table key must be a number or string")),
        }
        Ok(())
    }

    fn number(&self, v: &Lv, out: &mut Vec<u8>) -> Result<(), CError> {
        let n = super::lualib_args::as_number(v).unwrap_or(0.0);
        if !n.is_finite() {
            match self.cfg.encode_invalid_numbers {
                0 => return Err(cannot(v, "must not be NaN or Inf")),
                1 if n.is_nan() => {
                    out.extend_from_slice(b"nan");
                    return Ok(());
                }
                1 => {}
                _ => {
                    out.extend_from_slice(b"null");
                    return Ok(());
                }
            }
        }
        out.extend_from_slice(fmt_g(n, self.cfg.encode_number_precision as usize).as_bytes());
        Ok(())
    }

    /// `lua_array_length`: `Some(n)` for a table of positive integer keys
    /// (n the largest) that is not too sparse, `None` for an object.
    fn array_length(&self, v: &Lv, t: &Table) -> mlua::Result<Result<Option<i64>, CError>> {
        let (mut max, mut items) = (0i64, 0i64);
        for pair in t.pairs::<Lv, Lv>() {
            let (k, _) = pair?;
            match super::lualib_args::as_number(&k) {
                Some(k) if k != 0.0 && k.floor() == k && k >= 1.0 => {
                    // C's `int max = k`: past INT_MAX (infinity too) it is INT_MIN.
                    if k > max as f64 {
                        max = if k < 2_147_483_648.0 { k as i64 } else { i64::from(i32::MIN) };
                    }
                    items += 1;
                }
                _ => return Ok(Ok(None)),
            }
        }
        let c = self.cfg;
        if c.sparse_ratio > 0 && max > items * c.sparse_ratio && max > c.sparse_safe {
            if c.sparse_convert == 0 {
                return Ok(Err(cannot(v, "excessively sparse array")));
            }
            return Ok(Ok(None));
        }
        Ok(Ok((max > 0).then_some(max)))
    }
}

/// A JSON string: `"`, `\`, `/` and control characters escaped, other bytes as they are.
fn escape(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..0x20 | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

// ===== Decoding =====

fn decode(lua: &Lua, args: &MultiValue, cfg: &Shared) -> mlua::Result<CResult> {
    if args.len() != 1 {
        return Ok(Err(CError::Arg(1, "expected 1 argument".into())));
    }
    let s = check!(check_string(lua, args, 1));
    let data = s.as_bytes();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Ok(Err(CError::Where("JSON parser does not support UTF-16 or UTF-32".into())));
    }
    let c = cfg.borrow();
    let limits = Limits { max_depth: c.decode_max_depth, invalid_numbers: c.decode_invalid_numbers != 0 };
    drop(c);
    let v = check!(Parser::new(lua, &data, limits).document());
    Ok(Ok(v.into_lua_multi(lua)?))
}
