//! `bit`, LuaBitOp 1.0 as Redis 7.0 loads it: bitwise operations on 32-bit
//! integers held in Lua's doubles. An argument becomes 32 bits as LuaBitOp's
//! `barg` makes it: the double plus 2^52 + 2^51, whose low 32 bits are the
//! argument rounded to the nearest integer (ties to even), modulo 2^32; NaN
//! and infinities become 0. Results are signed (`-1`, not `4294967295`).

use super::lualib_args::{check, check_number};
use lua_slice::{CError, CResult, c_function};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table};

/// LuaBitOp's conversion of a double to 32 bits.
pub(crate) fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

/// `bit.tohex(x, n)`: the low `n` hex digits (8 at most), uppercase when `n`
/// is negative.
pub(crate) fn tohex(x: i32, n: i32) -> String {
    let upper = n < 0;
    let width = n.unsigned_abs().min(8) as usize;
    let hex = if upper { format!("{:08X}", x as u32) } else { format!("{:08x}", x as u32) };
    hex[8 - width..].to_owned()
}

type Op = fn(i32, i32) -> i32;
type Unary = fn(i32) -> i32;

/// The shifts and rotations: the count is taken modulo 32.
const SHIFTS: &[(&str, Op)] = &[
    ("lshift", |x, n| ((x as u32) << (n & 31)) as i32),
    ("rshift", |x, n| ((x as u32) >> (n & 31)) as i32),
    ("arshift", |x, n| x >> (n & 31)),
    ("rol", |x, n| (x as u32).rotate_left((n & 31) as u32) as i32),
    ("ror", |x, n| (x as u32).rotate_right((n & 31) as u32) as i32),
];

/// The folds over all their arguments.
const FOLDS: &[(&str, Op)] = &[("band", |a, b| a & b), ("bor", |a, b| a | b), ("bxor", |a, b| a ^ b)];

/// The functions of one argument.
const UNARY: &[(&str, Unary)] = &[("tobit", |x| x), ("bnot", |x| !x), ("bswap", i32::swap_bytes)];

/// The `bit` table.
pub(crate) fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for &(name, f) in UNARY {
        t.raw_set(name, c_function(lua, move |lua, args| unary(lua, &args, f))?)?;
    }
    for &(name, f) in FOLDS {
        t.raw_set(name, c_function(lua, move |lua, args| fold(lua, &args, f))?)?;
    }
    for &(name, f) in SHIFTS {
        t.raw_set(name, c_function(lua, move |lua, args| shift(lua, &args, f))?)?;
    }
    t.raw_set("tohex", c_function(lua, hex)?)?;
    Ok(t)
}

fn barg(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<i32, CError>> {
    Ok(check_number(lua, args, i)?.map(tobit))
}

fn result(lua: &Lua, x: i32) -> mlua::Result<CResult> {
    Ok(Ok(f64::from(x).into_lua_multi(lua)?))
}

fn unary(lua: &Lua, args: &MultiValue, f: Unary) -> mlua::Result<CResult> {
    let x = check!(barg(lua, args, 1));
    result(lua, f(x))
}

fn fold(lua: &Lua, args: &MultiValue, f: Op) -> mlua::Result<CResult> {
    let mut acc = check!(barg(lua, args, 1));
    for i in 2..=args.len() {
        acc = f(acc, check!(barg(lua, args, i)));
    }
    result(lua, acc)
}

fn shift(lua: &Lua, args: &MultiValue, f: Op) -> mlua::Result<CResult> {
    let x = check!(barg(lua, args, 1));
    let n = check!(barg(lua, args, 2));
    result(lua, f(x, n))
}

fn hex(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let x = check!(barg(lua, &args, 1));
    let n = if args.len() < 2 { 8 } else { check!(barg(lua, &args, 2)) };
    Ok(Ok(tohex(x, n).into_lua_multi(lua)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic stream of doubles: integers across the 32-bit
    /// range and beyond, halves, negatives.
    fn samples() -> Vec<f64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut out = vec![0.0, -0.0, 0.5, 1.5, 2.5, -1.5, 2147483648.0, -2147483649.0, 4294967295.0];
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = [1.0, 65536.0, 4294967296.0, 0.5][(x % 4) as usize];
            out.push(((x >> 11) as i64 - (1 << 52)) as f64 / (1u64 << 20) as f64 * scale);
        }
        out
    }

    #[test]
    fn tobit_is_the_nearest_integer_modulo_2_pow_32() {
        for n in samples() {
            if n.abs() >= 2f64.powi(51) {
                continue;
            }
            let r = n.round_ties_even();
            let want = (r.rem_euclid(4294967296.0) as u64) as u32 as i32;
            assert_eq!(tobit(n), want, "{n}");
        }
        assert_eq!(tobit(f64::NAN), 0);
        assert_eq!(tobit(f64::INFINITY), 0);
    }

    #[test]
    fn operations_agree_with_i32_arithmetic() {
        let xs: Vec<i32> = samples().into_iter().map(tobit).collect();
        for w in xs.windows(2) {
            let (a, b) = (w[0], w[1]);
            let n = b.rem_euclid(32);
            assert_eq!(SHIFTS[0].1(a, b), a.wrapping_shl(n as u32));
            assert_eq!(SHIFTS[1].1(a, b), (a as u32 >> n) as i32);
            assert_eq!(SHIFTS[2].1(a, b), a >> n);
            assert_eq!(SHIFTS[3].1(a, b), SHIFTS[4].1(a, 32 - n));
            assert_eq!(FOLDS[2].1(FOLDS[2].1(a, b), b), a);
            assert_eq!(FOLDS[0].1(a, b) | FOLDS[2].1(a, b), FOLDS[1].1(a, b));
            assert_eq!(i32::from_str_radix(&tohex(a, 8), 16).ok(), (a >= 0).then_some(a));
            assert_eq!(u32::from_str_radix(&tohex(a, -8), 16).unwrap(), a as u32);
        }
    }
}
