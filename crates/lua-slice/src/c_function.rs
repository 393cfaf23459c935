//! Library functions written in Rust that fail as Lua's C libraries fail.
//!
//! A Rust callback made with mlua raises its error as a userdata, without the
//! position of the caller and without the name the caller used for it. Lua's
//! own C libraries raise strings: `luaL_error` prefixes the position of the
//! calling Lua function (`user_script:1: `), and `luaL_argerror` names the
//! function as the caller called it (`bad argument #1 to 'band'`, `'?'` when
//! `pcall` called it). [`c_function`] gives a Rust function exactly those
//! errors: a C function (so `return f(x)` stays no real tail call) calls the
//! Rust body, and raises the [`CError`] it returns with Lua's own calls.

use mlua::{Function, IntoLua, LightUserData, Lua, MultiValue, Value, ffi};
use std::ffi::{c_int, c_void};

/// How a library function fails.
#[derive(Clone, Debug, PartialEq)]
pub enum CError {
    /// `luaL_error`: the message after the position of the calling Lua
    /// function, if a Lua function called it.
    Where(String),
    /// `luaL_argerror(n, message)`: "bad argument #n to 'name' (message)".
    Arg(i32, String),
    /// `lua_error` with the message as it is (errors of Lua's core, such as
    /// "table index is nil").
    Raw(String),
}

/// What the Rust body of a [`c_function`] returns.
pub type CResult = Result<MultiValue, CError>;

/// The marker that tells the C function its body failed: an address no
/// script can make a light userdata of.
static MARK: u8 = 0;
const WHERE: i64 = -1;
const RAW: i64 = -2;
/// Results passed in a table: mlua checks the results of a callback against
/// the stack its arguments already use, C only against Lua's C stack limit.
const MANY: i64 = -3;
/// Results above this many go through a table.
const MANY_RESULTS: usize = 64;

fn mark() -> *mut c_void {
    std::ptr::addr_of!(MARK) as *mut c_void
}

/// A Lua C function running `body`, raising the [`CError`] it returns as
/// Lua's C libraries raise theirs. Errors of mlua itself pass through.
pub fn c_function<F>(lua: &Lua, body: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<CResult> + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let (kind, message) = match body(lua, args)? {
            Ok(values) if values.len() > MANY_RESULTS => {
                let n = values.len();
                let t = lua.create_sequence_from(values)?;
                let mark = Value::LightUserData(LightUserData(mark()));
                return Ok(MultiValue::from_vec(vec![mark, MANY.into_lua(lua)?, Value::Table(t), n.into_lua(lua)?]));
            }
            Ok(values) => return Ok(values),
            Err(CError::Where(m)) => (WHERE, m),
            Err(CError::Raw(m)) => (RAW, m),
            Err(CError::Arg(n, m)) => (i64::from(n.max(0)), m),
        };
        let message = lua.create_string(message)?;
        Ok(MultiValue::from_vec(vec![
            Value::LightUserData(LightUserData(mark())),
            kind.into_lua(lua)?,
            Value::String(message),
        ]))
    })?;
    // SAFETY: pushes a C closure over the one value exec_raw pushed.
    unsafe { lua.exec_raw::<Function>(inner, |state| ffi::lua_pushcclosure(state, trampoline, 1)) }
}

/// Calls its upvalue with its arguments; raises what a marked result asks for.
/// Its frame holds only plain values, so Lua's longjmp may cross it.
unsafe extern "C-unwind" fn trampoline(l: *mut ffi::lua_State) -> c_int {
    unsafe {
        let nargs = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_call(l, nargs, ffi::LUA_MULTRET);
        let n = ffi::lua_gettop(l);
        if !(3..=4).contains(&n)
            || ffi::lua_type(l, 1) != ffi::LUA_TLIGHTUSERDATA
            || ffi::lua_touserdata(l, 1) != mark()
        {
            return n;
        }
        match ffi::lua_tointeger(l, 2) as i64 {
            MANY => {
                let count = ffi::lua_tointeger(l, 4) as c_int;
                // Only the table stays below the results.
                ffi::lua_settop(l, 3);
                ffi::lua_replace(l, 1);
                ffi::lua_settop(l, 1);
                if ffi::lua_checkstack(l, count) == 0 {
                    return ffi::luaL_error(l, c"too many results".as_ptr());
                }
                for i in 1..=count {
                    ffi::lua_rawgeti(l, 1, ffi::lua_Integer::from(i));
                }
                count
            }
            WHERE => {
                ffi::luaL_where(l, 1);
                ffi::lua_pushvalue(l, 3);
                ffi::lua_concat(l, 2);
                ffi::lua_error(l)
            }
            RAW => {
                ffi::lua_pushvalue(l, 3);
                ffi::lua_error(l)
            }
            arg => ffi::luaL_argerror(l, arg as c_int, ffi::lua_tostring(l, 3)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(lua: &Lua, e: CError) -> Function {
        c_function(lua, move |_, _| Ok(Err(e.clone()))).unwrap()
    }

    fn run(lua: &Lua, f: Function, code: &str) -> String {
        lua.globals().set("f", f).unwrap();
        lua.load(code).set_name("@user_script").eval::<String>().unwrap()
    }

    #[test]
    fn errors_name_the_caller_position_and_the_function_as_called() {
        let lua = Lua::new();
        let f = failing(&lua, CError::Where("boom".into()));
        let code = "local ok, e = pcall(function() return f() end) return e";
        assert_eq!(run(&lua, f.clone(), code), "user_script:1: boom");
        assert_eq!(run(&lua, f, "local ok, e = pcall(f) return e"), "boom");
        let g = failing(&lua, CError::Arg(2, "number expected, got string".into()));
        let code = "local ok, e = pcall(function() local t = {g = f} return t.g() end) return e";
        assert_eq!(run(&lua, g.clone(), code), "user_script:1: bad argument #2 to 'g' (number expected, got string)");
        assert_eq!(
            run(&lua, g, "local ok, e = pcall(f) return e"),
            "bad argument #2 to '?' (number expected, got string)"
        );
        let r = failing(&lua, CError::Raw("table index is nil".into()));
        assert_eq!(run(&lua, r, "local ok, e = pcall(function() return f() end) return e"), "table index is nil");
    }

    #[test]
    fn results_pass_through() {
        let lua = Lua::new();
        let f = c_function(&lua, |lua, args: MultiValue| {
            let n = args.len() as i64;
            Ok(Ok(MultiValue::from_vec(vec![n.into_lua(lua)?, Value::Nil, "x".into_lua(lua)?])))
        })
        .unwrap();
        lua.globals().set("f", f).unwrap();
        let got: String = lua.load("local a, b, c = f(1, 2) return a .. tostring(b) .. c").eval().unwrap();
        assert_eq!(got, "2nilx");
    }

    #[test]
    fn as_many_results_as_lua_allows_a_c_function() {
        let lua = Lua::new();
        let f = c_function(&lua, |lua, args: MultiValue| {
            let n: usize = lua.unpack(args[0].clone())?;
            Ok(Ok((1..=n).map(|i| Value::Integer(i as i64)).collect()))
        })
        .unwrap();
        lua.globals().set("f", f).unwrap();
        let got: Vec<i64> = lua.load("return {select('#', f(7990)), select(7990, f(7990)), f(3)}").eval().unwrap();
        assert_eq!(got, vec![7990, 7990, 1, 2, 3]);
    }
}
