//! Argument checks of Lua's C API (`luaL_checknumber`, `luaL_checklstring`,
//! `luaL_optinteger`, ...) for the libraries Redis loads into scripts, with
//! the texts Lua 5.1 fails with. Arguments count from 1, as in Lua.

use lua_slice::CError;
use mlua::{Lua, LuaString, MultiValue, Value as Lv};

/// Lua 5.1's name for a value's type (`lua_typename`).
pub(crate) fn type_name(v: &Lv) -> &'static str {
    match v {
        Lv::Nil => "nil",
        Lv::Boolean(_) => "boolean",
        Lv::LightUserData(_) | Lv::UserData(_) => "userdata",
        Lv::Integer(_) | Lv::Number(_) => "number",
        Lv::String(_) => "string",
        Lv::Table(_) => "table",
        Lv::Function(_) => "function",
        Lv::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// A number as Lua holds it.
pub(crate) fn as_number(v: &Lv) -> Option<f64> {
    match v {
        Lv::Integer(i) => Some(*i as f64),
        Lv::Number(f) => Some(*f),
        _ => None,
    }
}

/// `luaL_typerror`: "number expected, got string" ("no value" past the end).
pub(crate) fn type_error(args: &MultiValue, i: usize, expected: &str) -> CError {
    let got = args.get(i - 1).map_or("no value", type_name);
    CError::Arg(i as i32, format!("{expected} expected, got {got}"))
}

/// `luaL_checknumber`: a number, or a string Lua converts to one.
pub(crate) fn check_number(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<f64, CError>> {
    let Some(v) = args.get(i - 1) else { return Ok(Err(type_error(args, i, "number"))) };
    if let Some(n) = as_number(v) {
        return Ok(Ok(n));
    }
    if !matches!(v, Lv::String(_)) {
        return Ok(Err(type_error(args, i, "number")));
    }
    Ok(lua.coerce_number(v.clone())?.ok_or_else(|| type_error(args, i, "number")))
}

/// `luaL_checkinteger`: [`check_number`] truncated toward zero.
pub(crate) fn check_integer(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<i64, CError>> {
    Ok(check_number(lua, args, i)?.map(|n| n as i64))
}

/// `luaL_optinteger`: `default` when the argument is absent or nil.
pub(crate) fn opt_integer(lua: &Lua, args: &MultiValue, i: usize, default: i64) -> mlua::Result<Result<i64, CError>> {
    match args.get(i - 1) {
        None | Some(Lv::Nil) => Ok(Ok(default)),
        Some(_) => check_integer(lua, args, i),
    }
}

/// `luaL_checklstring`: a string, or a number as Lua prints it.
pub(crate) fn check_string(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<LuaString, CError>> {
    match args.get(i - 1) {
        Some(Lv::String(s)) => Ok(Ok(s.clone())),
        Some(v @ (Lv::Integer(_) | Lv::Number(_))) => {
            Ok(lua.coerce_string(v.clone())?.ok_or_else(|| type_error(args, i, "string")))
        }
        _ => Ok(Err(type_error(args, i, "string"))),
    }
}

/// Unwraps the `Ok` of a check, returning its [`CError`] from the caller.
macro_rules! check {
    ($e:expr) => {
        match $e? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        }
    };
}
pub(crate) use check;

/// Values kept for a walk through nested tables, held in one Lua table:
/// mlua keeps each value Rust holds in a stack of Lua's own (8000 slots at
/// most), so a walk 8000 levels deep cannot hold one value per level.
pub(crate) struct Levels {
    t: mlua::Table,
}

impl Levels {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Levels> {
        Ok(Levels { t: lua.create_table()? })
    }

    pub(crate) fn set(&self, level: usize, v: Lv) -> mlua::Result<()> {
        self.t.raw_set(level, v)
    }

    pub(crate) fn get(&self, level: usize) -> mlua::Result<Lv> {
        self.t.raw_get(level)
    }

    pub(crate) fn table(&self, level: usize) -> mlua::Result<mlua::Table> {
        self.t.raw_get(level)
    }
}

/// Lua's `next`, as the interpreter was created with it (a script may
/// replace the global).
pub(crate) fn raw_next(lua: &Lua) -> mlua::Result<mlua::Function> {
    const KEY: &str = "chaoslab.lualib.next";
    if let Some(f) = lua.named_registry_value::<Option<mlua::Function>>(KEY)? {
        return Ok(f);
    }
    let f: mlua::Function = lua.globals().raw_get("next")?;
    lua.set_named_registry_value(KEY, f.clone())?;
    Ok(f)
}
