//! The Lua 5.1 interpreter as Redis 7.0 sets it up for EVAL (script_lua.c):
//! the libraries (with cjson, cmsgpack, bit and struct), the `redis` table, the globals scripts may not see, and
//! the conversions between RESP2 replies and Lua values.

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as Lv};
use resp::Value;
use std::cell::Cell;
use std::rc::Rc;

/// The registry names of the function a run installs for its duration
/// (it borrows the server): the body of `redis.call`, `redis.pcall` and `redis.log`.
pub(crate) const RAW_CALL: &str = "chaoslab.raw_call";
/// The last table given to `error()`, for the reply (mlua keeps only strings).
pub(crate) const LAST_ERROR: &str = "chaoslab.last_error";

/// Globals Redis 7.0 leaves out of a script's reach.
const REMOVED: &[&str] =
    &["print", "os", "io", "require", "dofile", "loadfile", "module", "setfenv", "getfenv", "newproxy", "debug"];

/// Runs in the fresh interpreter: `error()` keeping a table it raises (for
/// the reply: mlua keeps only an error's text).
const PRELUDE: &str = r#"
local raw_error, rawget, type, reg = error, rawget, type, ...
local function raw(name) return rawget(reg, name) end
error = function(e, level)
  if type(e) == 'table' then raw('chaoslab.keep_error')(e) end
  if level == 0 then raw_error(e, 0) end
  raw_error(e, (level or 1) + 1)
end
"#;

const PROTECT: &str = r#"
local error, tostring = error, tostring
setmetatable(_G, {
  __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
})
"#;

/// A fresh interpreter with Redis's libraries and `redis` table; `rand` is
/// the state of `math.random` (Redis's `redisLrand48`).
pub(crate) fn new_vm(rand: Rc<Cell<u64>>) -> mlua::Result<Lua> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
    let g = lua.globals();
    for name in REMOVED {
        g.raw_set(*name, Lv::Nil)?;
    }
    install_math(&lua, &g, rand)?;
    g.raw_set("cjson", super::lualib_cjson::table(&lua)?)?;
    g.raw_set("cmsgpack", super::lualib_cmsgpack::table(&lua)?)?;
    g.raw_set("bit", super::lualib_bit::table(&lua)?)?;
    g.raw_set("struct", super::lualib_struct::table(&lua)?)?;
    let redis = lua.create_table()?;
    redis.set("sha1hex", lua.create_function(|_, s: mlua::LuaString| Ok(sha1_hex(&s.as_bytes())))?)?;
    redis.set("error_reply", lua.create_function(|lua, s: mlua::LuaString| reply_table(lua, "err", s))?)?;
    redis.set("status_reply", lua.create_function(|lua, s: mlua::LuaString| reply_table(lua, "ok", s))?)?;
    redis.set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    redis.set("setresp", lua.create_function(setresp)?)?;
    redis.set("set_repl", lua.create_function(set_repl)?)?;
    for (name, n) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        redis.set(name, n)?;
    }
    for (name, n) in [("REPL_NONE", 0), ("REPL_AOF", 1), ("REPL_SLAVE", 2), ("REPL_REPLICA", 2), ("REPL_ALL", 3)] {
        redis.set(name, n)?;
    }
    redis.set("REDIS_VERSION", common::VERSION)?;
    redis.set("REDIS_VERSION_NUM", version_num(common::VERSION))?;
    g.raw_set("redis", redis.clone())?;
    let reg = lua.create_table()?;
    let keep = lua.create_function(|lua, e: Table| lua.set_named_registry_value(LAST_ERROR, e))?;
    reg.set("chaoslab.keep_error", keep)?;
    // C functions, as Redis's are: `return redis.call(...)` is then no real
    // tail call, and the script's frame stays on the stack to say where it failed.
    for (name, first) in [("call", Lv::Boolean(true)), ("pcall", Lv::Boolean(false)), ("log", Lv::Nil)] {
        let f = lua.create_function(move |lua, args: MultiValue| {
            let mut args = args;
            args.push_front(first.clone());
            lua.named_registry_value::<Function>(RAW_CALL)?.call::<MultiValue>(args)
        })?;
        redis.set(name, f)?;
    }
    lua.load(PRELUDE).set_name("=prelude").call::<()>(reg)?;
    lua.load(PROTECT).set_name("=prelude").call::<()>(())?;
    Ok(lua)
}

/// `7.0.15` as `0x07000f`.
fn version_num(v: &str) -> i64 {
    v.split('.').take(3).fold(0, |n, p| n * 256 + p.parse::<i64>().unwrap_or(0))
}

fn reply_table(lua: &Lua, field: &str, s: mlua::LuaString) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(field, s)?;
    Ok(t)
}

/// The registry key of the protocol the running script's commands reply in.
pub(crate) const RESP: &str = "chaoslab.resp";

/// `redis.setresp(2|3)`: the protocol `redis.call` replies come in for the
/// rest of this run (`luaSetResp`; a string is taken as `lua_tonumber` takes it).
fn setresp(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let [arg] = &args.into_iter().collect::<Vec<_>>()[..] else {
        return Err(mlua::Error::runtime("redis.setresp() requires one argument."));
    };
    let n = match arg {
        Lv::Integer(n) => *n as f64,
        Lv::Number(f) => *f,
        Lv::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(0.0),
        _ => 0.0,
    };
    match n as i64 {
        resp @ (2 | 3) => lua.set_named_registry_value(RESP, resp),
        _ => Err(mlua::Error::runtime("RESP version must be 2 or 3.")),
    }
}

/// Whether the running script asked for RESP3 replies (`redis.setresp(3)`).
pub(crate) fn resp3(lua: &Lua) -> bool {
    lua.named_registry_value::<Option<i64>>(RESP).ok().flatten() == Some(3)
}

/// `redis.set_repl(flags)`: checked as Redis checks it; kept in the registry.
fn set_repl(lua: &Lua, flags: i64) -> mlua::Result<()> {
    if !(0..=3).contains(&flags) {
        return Err(mlua::Error::runtime(
            "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ));
    }
    lua.set_named_registry_value("chaoslab.repl", flags)
}

/// The replication flags the running script set (`REPL_ALL` by default).
pub(crate) fn repl_flags(lua: &Lua) -> i64 {
    lua.named_registry_value::<Option<i64>>("chaoslab.repl").ok().flatten().unwrap_or(3)
}

/// `math.random` and `math.randomseed` as Redis replaces them: `redisLrand48`,
/// a 48-bit linear congruential generator, one state for the process.
fn install_math(lua: &Lua, g: &Table, rand: Rc<Cell<u64>>) -> mlua::Result<()> {
    let math: Table = g.raw_get("math")?;
    let state = rand.clone();
    let random = lua.create_function(move |_, args: MultiValue| {
        let r = (lrand48(&state) % 0x7fff_ffff) as f64 / 0x7fff_ffff as f64;
        let int = |v: &Lv| v.as_f64().map(|f| f as i64).or_else(|| v.as_i64());
        let bad = |n: usize| mlua::Error::runtime(format!("bad argument #{n} to 'random' (interval is empty)"));
        match args.len() {
            0 => Ok(r),
            1 => {
                let u = int(&args[0]).unwrap_or(0);
                if u < 1 {
                    return Err(bad(1));
                }
                Ok((r * u as f64).floor() + 1.0)
            }
            2 => {
                let (l, u) = (int(&args[0]).unwrap_or(0), int(&args[1]).unwrap_or(0));
                if l > u {
                    return Err(bad(2));
                }
                Ok((r * (u - l + 1) as f64).floor() + l as f64)
            }
            _ => Err(mlua::Error::runtime("wrong number of arguments")),
        }
    })?;
    math.raw_set("random", random)?;
    let seed = lua.create_function(move |_, n: f64| {
        rand.set(srand48(n as i64 as i32));
        Ok(())
    })?;
    math.raw_set("randomseed", seed)
}

/// `redisLrand48`'s state before any seed (`X2:X1:X0` of rand.c).
pub(crate) const LRAND48_INITIAL: u64 = 0x1234_abcd_330e;

/// `redisSrand48(seed)`'s state.
pub(crate) fn srand48(seed: i32) -> u64 {
    ((u64::from(seed as u32)) << 16) | 0x330e
}

/// `redisLrand48()`: the next 31-bit draw.
fn lrand48(state: &Cell<u64>) -> u64 {
    let x = state.get().wrapping_mul(0x5_deec_e66d).wrapping_add(0xb) & ((1 << 48) - 1);
    state.set(x);
    x >> 17
}

/// SHA-1 in lowercase hex, as `redis.sha1hex` and script names print it.
pub(crate) fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A command's reply as `redis.call` gives it to Lua (`redisProtocolToLuaType`,
/// RESP2): integers are numbers, bulks strings, nil is `false`, arrays tables,
/// a status `{ok=...}` and an error `{err=...}`.
pub(crate) fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<Lv> {
    Ok(match v {
        Value::Integer(n) => Lv::Integer(*n),
        Value::Bulk(b) | Value::Verbatim(b) => Lv::String(lua.create_string(b)?),
        Value::Double(d) => Lv::String(lua.create_string(d)?),
        Value::Nil | Value::NilArray | Value::Null => Lv::Boolean(false),
        Value::Boolean(b) => Lv::Integer(mlua::Integer::from(*b)),
        Value::Simple(s) => Lv::Table(reply_table(lua, "ok", lua.create_string(s.as_bytes())?)?),
        Value::Error(e) => Lv::Table(reply_table(lua, "err", lua.create_string(e)?)?),
        Value::Encoded(e) => to_lua(lua, e.value())?,
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            Lv::Table(t)
        }
        Value::Map(pairs) => {
            let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (k, v)) in pairs.iter().enumerate() {
                t.raw_set(2 * i + 1, to_lua(lua, k)?)?;
                t.raw_set(2 * i + 2, to_lua(lua, v)?)?;
            }
            Lv::Table(t)
        }
    })
}

/// A RESP3 reply as `redis.call` gives it to a script after
/// `redis.setresp(3)` (`redisProtocolToLuaType` over the reply's RESP3
/// bytes): maps `{map={k=v}}`, sets `{set={k=true}}`, doubles
/// `{double=n}`, big numbers `{big_number=s}`, verbatim strings
/// `{verbatim_string={format=f, string=s}}`, booleans as booleans, null
/// as nil; attributes are skipped; the rest as in RESP2 ([`to_lua`]).
pub(crate) fn resp3_to_lua(lua: &Lua, bytes: &[u8]) -> mlua::Result<Lv> {
    let mut at = 0;
    Resp3 { lua, bytes }.parse(&mut at)
}

/// A cursor-less reader of one RESP3 reply the server itself encoded.
struct Resp3<'a> {
    lua: &'a Lua,
    bytes: &'a [u8],
}

impl Resp3<'_> {
    /// The line at `at` after its type byte, `at` moved past its CRLF.
    fn line(&self, at: &mut usize) -> &[u8] {
        let start = *at + 1;
        let len = self.bytes[start..].windows(2).position(|w| w == b"\r\n").unwrap_or(self.bytes.len() - start);
        *at = start + len + 2;
        &self.bytes[start..start + len]
    }

    fn count(&self, at: &mut usize) -> i64 {
        std::str::from_utf8(self.line(at)).ok().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// A table `{field = value}`.
    fn wrap(&self, field: &str, value: impl mlua::IntoLua) -> mlua::Result<Lv> {
        let t = self.lua.create_table()?;
        t.raw_set(field, value)?;
        Ok(Lv::Table(t))
    }

    fn parse(&self, at: &mut usize) -> mlua::Result<Lv> {
        let lua = self.lua;
        Ok(match self.bytes[*at] {
            b'+' => Lv::Table(reply_table(lua, "ok", lua.create_string(self.line(at))?)?),
            b'-' => Lv::Table(reply_table(lua, "err", lua.create_string(self.line(at))?)?),
            b':' => Lv::Integer(self.count(at)),
            b'_' => {
                self.line(at);
                Lv::Nil
            }
            b'#' => Lv::Boolean(self.line(at) == b"t"),
            b',' => {
                let text = String::from_utf8_lossy(self.line(at)).into_owned();
                self.wrap("double", parse_double(&text))?
            }
            b'(' => self.wrap("big_number", lua.create_string(self.line(at))?)?,
            b'$' | b'=' => {
                let verbatim = self.bytes[*at] == b'=';
                let n = self.count(at);
                if n < 0 {
                    return Ok(Lv::Boolean(false));
                }
                let body = &self.bytes[*at..*at + n as usize];
                *at += n as usize + 2;
                if !verbatim {
                    return Ok(Lv::String(lua.create_string(body)?));
                }
                let inner = lua.create_table()?;
                inner.raw_set("string", lua.create_string(&body[4.min(body.len())..])?)?;
                inner.raw_set("format", lua.create_string(&body[..3.min(body.len())])?)?;
                self.wrap("verbatim_string", inner)?
            }
            b'*' | b'>' => {
                let n = self.count(at);
                if n < 0 {
                    return Ok(Lv::Boolean(false));
                }
                let t = lua.create_table()?;
                for i in 0..n {
                    t.raw_set(i + 1, self.parse(at)?)?;
                }
                Lv::Table(t)
            }
            b'%' => {
                let n = self.count(at);
                let t = lua.create_table()?;
                for _ in 0..n {
                    let k = self.parse(at)?;
                    let v = self.parse(at)?;
                    t.raw_set(k, v)?;
                }
                self.wrap("map", t)?
            }
            b'~' => {
                let n = self.count(at);
                let t = lua.create_table()?;
                for _ in 0..n {
                    let k = self.parse(at)?;
                    t.raw_set(k, true)?;
                }
                self.wrap("set", t)?
            }
            b'|' => {
                // Attributes are not shown to scripts: skipped, then the reply.
                let n = self.count(at);
                for _ in 0..2 * n {
                    self.parse(at)?;
                }
                self.parse(at)?
            }
            other => return Err(mlua::Error::runtime(format!("unexpected reply type {:?}", other as char))),
        })
    }
}

/// A RESP3 double's text as Lua's number (`inf`, `-inf`, `nan` included).
fn parse_double(text: &str) -> f64 {
    match text {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "-nan" => f64::NAN,
        t => t.parse().unwrap_or(0.0),
    }
}

/// A script's return value as its reply (`luaReplyToRedisReply`): strings
/// are bulks, numbers integers (truncated), booleans `1`/nil after
/// `redis.setresp(2)` and booleans after `redis.setresp(3)`; a table with a
/// string `err` an error, with a string `ok` a status, with a number
/// `double` a double, with a string `big_number` a big number, with
/// `verbatim_string` a verbatim string, with a table `map` or `set` one of
/// those, any other table an array of its items `1..` up to the first nil.
/// The caller's protocol then decides how each is sent.
pub(crate) fn to_reply(v: &Lv, resp3: bool) -> Value {
    match v {
        Lv::String(s) => Value::Bulk(s.as_bytes().to_vec()),
        Lv::Integer(n) => Value::Integer(*n),
        Lv::Number(f) => Value::Integer(*f as i64),
        Lv::Boolean(b) if resp3 => Value::Boolean(*b),
        Lv::Boolean(true) => Value::Integer(1),
        Lv::Table(t) => table_reply(t, resp3),
        _ => Value::Nil,
    }
}

fn table_reply(t: &Table, resp3: bool) -> Value {
    // Redis turns the newlines of an error, a status and a big number into spaces.
    let flat = |s: &mlua::LuaString| s.to_string_lossy().replace(['\r', '\n'], " ");
    if let Ok(Lv::String(e)) = t.raw_get::<Lv>("err") {
        return Value::Error(flat(&e));
    }
    if let Ok(Lv::String(s)) = t.raw_get::<Lv>("ok") {
        return Value::Simple(flat(&s).into());
    }
    match t.raw_get::<Lv>("double") {
        Ok(Lv::Number(d)) => return Value::Double(fmt_g(d, 17)),
        Ok(Lv::Integer(n)) => return Value::Double(fmt_g(n as f64, 17)),
        _ => {}
    }
    if let Ok(Lv::String(n)) = t.raw_get::<Lv>("big_number") {
        return typed_reply(b'(', flat(&n).as_bytes(), None);
    }
    if let Ok(Lv::Table(v)) = t.raw_get::<Lv>("verbatim_string")
        && let (Ok(Lv::String(format)), Ok(Lv::String(text))) = (v.raw_get::<Lv>("format"), v.raw_get::<Lv>("string"))
    {
        return typed_reply(b'=', &text.as_bytes(), Some(&format.as_bytes()));
    }
    if let Ok(Lv::Table(m)) = t.raw_get::<Lv>("map") {
        let pairs = m.pairs::<Lv, Lv>().filter_map(Result::ok);
        return Value::Map(pairs.map(|(k, v)| (to_reply(&k, resp3), to_reply(&v, resp3))).collect());
    }
    if let Ok(Lv::Table(set)) = t.raw_get::<Lv>("set") {
        let keys = set.pairs::<Lv, Lv>().filter_map(Result::ok);
        return Value::Set(keys.map(|(k, _)| to_reply(&k, resp3)).collect());
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Lv>(i) {
            Ok(Lv::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp3)),
        }
    }
    Value::Array(items)
}

/// A big number (`(`) or a verbatim string (`=`, with its format cut or
/// padded to three bytes as `addReplyVerbatim` does): a bulk string for a
/// RESP2 caller, the RESP3 type for a RESP3 one.
fn typed_reply(tag: u8, text: &[u8], format: Option<&[u8]>) -> Value {
    let mut resp2 = Vec::new();
    Value::Bulk(text.to_vec()).encode(&mut resp2);
    let mut resp3 = Vec::new();
    match format {
        None => {
            resp3.push(tag);
            resp3.extend_from_slice(text);
        }
        Some(format) => {
            resp3.extend_from_slice(format!("={}\r\n", text.len() + 4).as_bytes());
            let mut ext = [b' '; 3];
            for (slot, b) in ext.iter_mut().zip(format.iter().take_while(|b| **b != 0)) {
                *slot = *b;
            }
            resp3.extend_from_slice(&ext);
            resp3.push(b':');
            resp3.extend_from_slice(text);
        }
    }
    resp3.extend_from_slice(b"\r\n");
    Value::Encoded(std::sync::Arc::new(resp::Encoded::from_parts(resp2, resp3)))
}

/// A Lua argument of `redis.call` as the bytes of a command argument: strings
/// as they are, numbers as Lua prints them (`%.14g`); `None` for anything else.
pub(crate) fn arg_bytes(v: &Lv) -> Option<Vec<u8>> {
    match v {
        Lv::String(s) => Some(s.as_bytes().to_vec()),
        Lv::Integer(n) => Some(n.to_string().into_bytes()),
        Lv::Number(f) => Some(fmt_g14(*f).into_bytes()),
        _ => None,
    }
}

/// C's `%.14g` for the numbers Lua 5.1 prints.
pub(crate) fn fmt_g14(f: f64) -> String {
    fmt_g(f, 14)
}

/// C's `%.<precision>g` (precision 1 to 17).
pub(crate) fn fmt_g(f: f64, precision: usize) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.to_owned();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let p = precision.clamp(1, 17);
    let sci = format!("{:.*e}", p - 1, f);
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    if e < -4 || e >= p as i32 {
        let m = trim_zeros(mantissa);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (p as i32 - 1 - e).max(0) as usize;
    trim_zeros(&format!("{f:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}
