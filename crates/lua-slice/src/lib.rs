//! `lua-slice`: runs a Lua 5.1 coroutine in slices of VM instructions, so a
//! single-threaded host can run a long script a slice at a time and serve
//! other work (on a virtual clock) between slices.
//!
//! [`install`] sets a count hook on a coroutine created with mlua. Every
//! `every` instructions the hook counts one slice and, when it can, yields the
//! coroutine: `Thread::resume` then returns with no values and the coroutine
//! stays resumable where it stopped. Lua 5.1's VM supports a yield from a
//! count hook (`luaV_execute` checks "did hook yield?"), but only when no C
//! function is on the coroutine's stack (`pcall`, `table.sort`, `string.gsub`
//! callbacks, a `redis.call` in progress); mlua refuses hook yields on 5.1
//! altogether, hence this crate's raw hook, one of the workspace's two uses of
//! `unsafe` (both here).
//!
//! A slice that cannot yield is counted as *stuck*; past [`Limits::stuck`]
//! stuck slices in a row the hook raises [`Limits::stuck_error`], so a loop
//! inside `pcall` can never hang the host. [`kill`] makes the hook raise an
//! error on every line from then on (as Redis 7.0 does after SCRIPT KILL, so
//! that `pcall` cannot swallow it). Metamethods run by the VM (a Lua `__index`)
//! are not visible as C frames: a slice ending inside one yields and Lua
//! reports "attempt to yield across metamethod/C-call boundary" to the script.
//!
//! It must not know about Redis or the simulator, nor keep any state outside
//! the Lua registry of the interpreter it is given.
//!
//! [`c_function`] makes a Rust function a Lua C function whose errors read as
//! those of Lua's C libraries (`luaL_error`, `luaL_argerror`): the other raw
//! C API use, for libraries such as the ones Redis loads into scripts.
//!
//! Must not depend on: `sim`, `resp`, `common`, `redis`, `sentinel`, `scenario`,
//! `report`, `chaoslab`.

#![allow(unsafe_code)]

mod c_function;

pub use c_function::{CError, CResult, c_function};
use mlua::{Lua, Thread, ffi};
use std::ffi::{CStr, c_int};

const SLICES: &CStr = c"lua_slice.slices";
const STUCK: &CStr = c"lua_slice.stuck";
const STUCK_LIMIT: &CStr = c"lua_slice.stuck_limit";
const STUCK_ERROR: &CStr = c"lua_slice.stuck_error";
const KILL: &CStr = c"lua_slice.kill";
const THREAD: &CStr = c"lua_slice.thread";
const EVERY: &CStr = c"lua_slice.every";
const FINE: &CStr = c"lua_slice.fine";

/// What the hook does when it cannot yield.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Slices' worth of instructions in a row that could not yield before the
    /// hook gives up.
    pub stuck: u32,
    /// The error it raises then.
    pub stuck_error: String,
}

/// Sets the slicing hook on `thread` (a coroutine not yet started or
/// suspended), every `every` VM instructions, and resets the counters.
pub fn install(lua: &Lua, thread: &Thread, every: u32, limits: &Limits) -> mlua::Result<()> {
    lua.set_named_registry_value(SLICES.to_str().unwrap_or_default(), 0)?;
    lua.set_named_registry_value(STUCK.to_str().unwrap_or_default(), 0)?;
    lua.set_named_registry_value(STUCK_LIMIT.to_str().unwrap_or_default(), limits.stuck)?;
    lua.set_named_registry_value(STUCK_ERROR.to_str().unwrap_or_default(), limits.stuck_error.as_str())?;
    lua.set_named_registry_value(KILL.to_str().unwrap_or_default(), mlua::Nil)?;
    lua.set_named_registry_value(EVERY.to_str().unwrap_or_default(), every.max(1))?;
    lua.set_named_registry_value(FINE.to_str().unwrap_or_default(), 0)?;
    let state = thread.to_pointer() as *mut ffi::lua_State;
    lua.set_named_registry_value(THREAD.to_str().unwrap_or_default(), mlua::LightUserData(state.cast()))?;
    // SAFETY: `to_pointer` of a thread is its `lua_State` (lua_topointer), alive
    // while `thread` is; the hook only touches that state's own stack.
    unsafe { ffi::lua_sethook(state, Some(hook), ffi::LUA_MASKCOUNT, every.max(1) as c_int) };
    Ok(())
}

/// Slices counted since [`install`] (yielded or stuck).
pub fn slices(lua: &Lua) -> u64 {
    lua.named_registry_value::<Option<u64>>(SLICES.to_str().unwrap_or_default()).ok().flatten().unwrap_or(0)
}

/// From the next instruction on, the coroutine raises `message` on every line.
pub fn kill(lua: &Lua, thread: &Thread, message: &str) -> mlua::Result<()> {
    lua.set_named_registry_value(KILL.to_str().unwrap_or_default(), message)?;
    let state = thread.to_pointer() as *mut ffi::lua_State;
    // SAFETY: as in `install`.
    unsafe { ffi::lua_sethook(state, Some(hook), ffi::LUA_MASKCOUNT | ffi::LUA_MASKLINE, 1) };
    Ok(())
}

/// The line a coroutine stopped at (by an error, or a yield) in the innermost
/// function whose chunk is named `source` (`@user_script`), looking from the
/// top of its stack down: what Redis's error handler reads with
/// `debug.getinfo` to say where a script failed.
pub fn line_in(thread: &Thread, source: &str) -> Option<i32> {
    let state = thread.to_pointer() as *mut ffi::lua_State;
    // SAFETY: as in `install`; the coroutine is not running (an error left its
    // call frames in place, which is how `debug.traceback(co)` reads them).
    unsafe {
        for level in 0..200 {
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            if ffi::lua_getstack(state, level, &mut ar) == 0 {
                return None;
            }
            ffi::lua_getinfo(state, c"Sl".as_ptr(), &mut ar);
            if !ar.source.is_null() && CStr::from_ptr(ar.source).to_bytes() == source.as_bytes() {
                return Some(ar.currentline);
            }
        }
    }
    None
}

/// Reads the integer at registry `key` (0 when unset).
unsafe fn get_int(l: *mut ffi::lua_State, key: &CStr) -> i64 {
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, key.as_ptr());
        let n = ffi::lua_tointeger(l, -1) as i64;
        ffi::lua_settop(l, -2);
        n
    }
}

unsafe fn set_int(l: *mut ffi::lua_State, key: &CStr, n: i64) {
    unsafe {
        ffi::lua_pushinteger(l, n as ffi::lua_Integer);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    }
}

/// Raises the string at registry `key`: never returns.
unsafe fn raise(l: *mut ffi::lua_State, key: &CStr) {
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, key.as_ptr());
        ffi::lua_error(l);
    }
}

/// Whether `l` is the sliced coroutine and only Lua functions are on its stack.
unsafe fn can_yield(l: *mut ffi::lua_State) -> bool {
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, THREAD.as_ptr());
        let ours = ffi::lua_touserdata(l, -1) == l.cast();
        ffi::lua_settop(l, -2);
        if !ours {
            return false;
        }
        let mut level = 0;
        loop {
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            if ffi::lua_getstack(l, level, &mut ar) == 0 {
                return true;
            }
            ffi::lua_getinfo(l, c"S".as_ptr(), &mut ar);
            if !ar.what.is_null() && CStr::from_ptr(ar.what) == c"C" {
                return false;
            }
            level += 1;
        }
    }
}

unsafe extern "C-unwind" fn hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, KILL.as_ptr());
        let killed = ffi::lua_isstring(l, -1) != 0;
        ffi::lua_settop(l, -2);
        if killed {
            raise(l, KILL);
        }
        // After a slice ended where it could not yield, the hook runs on every
        // instruction until the first point that can (a loop whose length
        // divides `every` would otherwise end every slice at the same spot).
        let fine = get_int(l, FINE) != 0;
        let every = get_int(l, EVERY);
        if !fine {
            set_int(l, SLICES, get_int(l, SLICES) + 1);
        }
        if can_yield(l) {
            if fine {
                set_int(l, FINE, 0);
                ffi::lua_sethook(l, Some(hook), ffi::LUA_MASKCOUNT, every as c_int);
            }
            set_int(l, STUCK, 0);
            ffi::lua_yield(l, 0);
            return;
        }
        let stuck = get_int(l, STUCK) + if fine { 1 } else { every };
        set_int(l, STUCK, stuck);
        if stuck > get_int(l, STUCK_LIMIT).saturating_mul(every) {
            raise(l, STUCK_ERROR);
        }
        if !fine {
            set_int(l, FINE, 1);
            ffi::lua_sethook(l, Some(hook), ffi::LUA_MASKCOUNT, 1);
        }
    }
}

#[cfg(test)]
mod tests;
