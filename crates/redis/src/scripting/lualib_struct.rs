//! `struct`, Roberto Ierusalimschy's lua-struct 0.2 as Redis 7.0 loads it:
//! `pack`, `unpack` and `size` over a format of `>` `<` (big, little
//! endian; little by default, as on the x86-64 Redis runs on), `!n`
//! (alignment, 8 without n), `b B h H l L T i I in In` (integers of 1, 2, 8,
//! 8, 4 or n bytes, n up to 32), `f d` (float, double), `s` (zero-terminated
//! string), `cn` (n chars; `c0` the whole string, or when unpacking the
//! previous result as the length), `x` (a zero byte) and spaces.

use super::lualib_args::{check, check_number, check_string, opt_integer};
use lua_slice::{CError, CResult, c_function};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value as Lv};

/// The widest integer format.
const MAX_INT_SIZE: usize = 32;
/// The largest alignment `!` sets by default (that of a double).
const MAX_ALIGN: usize = 8;

/// The `struct` table.
pub(crate) fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", c_function(lua, pack)?)?;
    t.raw_set("unpack", c_function(lua, unpack)?)?;
    t.raw_set("size", c_function(lua, size)?)?;
    Ok(t)
}

/// The header of a format as it is read: byte order and alignment.
struct Header {
    big: bool,
    align: usize,
}

/// Reads a format one option at a time.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
    h: Header,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Format<'a> {
        Format { fmt, pos: 0, h: Header { big: false, align: 1 } }
    }

    /// The next option (up to the format's first NUL, as C reads it).
    fn next_opt(&mut self) -> Option<u8> {
        let c = *self.fmt.get(self.pos).filter(|c| **c != 0)?;
        self.pos += 1;
        Some(c)
    }

    /// `getnum`: the number after an option, `default` without one.
    fn number(&mut self, default: usize) -> Result<usize, CError> {
        let mut n: usize = 0;
        let mut any = false;
        while let Some(d) = self.fmt.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = usize::from(d - b'0');
            if n > (i32::MAX as usize) / 10 || n * 10 > i32::MAX as usize - d {
                return Err(CError::Where("integral size overflow".into()));
            }
            n = n * 10 + d;
            any = true;
            self.pos += 1;
        }
        Ok(if any { n } else { default })
    }

    /// `optsize`: the bytes an option takes (0 for `s`, `c0` and controls).
    fn size(&mut self, opt: u8) -> Result<usize, CError> {
        Ok(match opt {
            b'b' | b'B' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let n = self.number(4)?;
                if n > MAX_INT_SIZE {
                    return Err(CError::Where(format!("integral size {n} is larger than limit of {MAX_INT_SIZE}")));
                }
                n
            }
            _ => 0,
        })
    }

    /// `gettoalign`: padding before an option of `size` at offset `len`.
    fn padding(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.h.align);
        (size - (len & (size - 1))) & (size - 1)
    }

    /// `controloptions`: spaces, byte order and alignment; anything else is
    /// an invalid option.
    fn control(&mut self, opt: u8) -> Result<(), CError> {
        match opt {
            b' ' => {}
            b'>' => self.h.big = true,
            b'<' => self.h.big = false,
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(CError::Where(format!("alignment {a} is not a power of 2")));
                }
                self.h.align = a;
            }
            _ => return Err(CError::Arg(1, format!("invalid format option '{}'", opt as char))),
        }
        Ok(())
    }
}

fn is_int(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let fmt = check!(check_string(lua, &args, 1));
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut out = Vec::new();
    let mut arg = 2;
    while let Some(opt) = f.next_opt() {
        let size = match f.size(opt) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let pad = f.padding(out.len(), opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_int(opt) => {
                let n = check!(pack_number(lua, &args, arg));
                arg += 1;
                put_integer(n, f.h.big, size, &mut out);
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let n = check!(pack_number(lua, &args, arg));
                arg += 1;
                let mut bytes = if opt == b'f' { (n as f32).to_le_bytes().to_vec() } else { n.to_le_bytes().to_vec() };
                if f.h.big {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'c' | b's' => {
                let s = check!(pack_string(lua, &args, arg));
                arg += 1;
                let s = s.as_bytes();
                let n = if size == 0 { s.len() } else { size };
                if s.len() < n {
                    return Ok(Err(CError::Arg(arg as i32, "string too short".into())));
                }
                out.extend_from_slice(&s[..n]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => {
                if let Err(e) = f.control(opt) {
                    return Ok(Err(e));
                }
            }
        }
    }
    Ok(Ok(lua.create_string(out)?.into_lua_multi(lua)?))
}

/// `pack` pushes a nil after its arguments: the first missing one reads nil.
fn with_mark(args: &MultiValue, i: usize) -> MultiValue {
    let mut args = args.clone();
    if args.len() < i {
        args.push_back(Lv::Nil);
    }
    args
}

fn pack_number(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<f64, CError>> {
    check_number(lua, &with_mark(args, i), i)
}

fn pack_string(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<Result<mlua::LuaString, CError>> {
    check_string(lua, &with_mark(args, i), i)
}

/// `putinteger`: a C `long` (or `unsigned long` past `LONG_MAX`), its low
/// bytes in order; bytes past the eighth are 0.
fn put_integer(n: f64, big: bool, size: usize, out: &mut Vec<u8>) {
    let value = if n < i64::MAX as f64 { n as i64 as u64 } else { n as u64 };
    let byte = |i: usize| if i < 8 { (value >> (8 * i)) as u8 } else { 0 };
    if big {
        out.extend((0..size).rev().map(byte));
    } else {
        out.extend((0..size).map(byte));
    }
}

/// `getinteger`: as C computes it on x86-64 (shifts taken modulo 64).
fn get_integer(bytes: &[u8], big: bool, signed: bool) -> f64 {
    let size = bytes.len();
    let mut l: u64 = 0;
    for i in 0..size {
        let b = if big { bytes[size - i - 1] } else { bytes[i] };
        l |= u64::from(b).wrapping_shl((i * 8) as u32);
    }
    if !signed {
        return l as f64;
    }
    let mask = (!0u64).wrapping_shl((size * 8).wrapping_sub(1) as u32);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let fmt = check!(check_string(lua, &args, 1));
    let data = check!(check_string(lua, &args, 2));
    let (fmt, data) = (fmt.as_bytes(), data.as_bytes());
    let start = check!(opt_integer(lua, &args, 3, 1));
    let mut pos = (start - 1) as usize;
    if start < 1 || pos > data.len() {
        return Ok(Err(CError::Arg(3, "offset must be 1 or greater".into())));
    }
    let mut f = Format::new(&fmt);
    let mut out: Vec<Lv> = Vec::new();
    let short = || CError::Arg(2, "data string too short".into());
    while let Some(opt) = f.next_opt() {
        let mut size = match f.size(opt) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        pos += f.padding(pos, opt, size);
        if pos + size > data.len() {
            return Ok(Err(short()));
        }
        let field = &data[pos..pos + size];
        match opt {
            _ if is_int(opt) => out.push(Lv::Number(get_integer(field, f.h.big, opt.is_ascii_lowercase()))),
            b'x' => {}
            b'f' | b'd' => {
                let mut bytes = field.to_vec();
                if f.h.big {
                    bytes.reverse();
                }
                let mut b8 = [0u8; 8];
                b8[..bytes.len()].copy_from_slice(&bytes);
                let n = if opt == b'f' {
                    f64::from(f32::from_le_bytes([b8[0], b8[1], b8[2], b8[3]]))
                } else {
                    f64::from_le_bytes(b8)
                };
                out.push(Lv::Number(n));
            }
            b'c' => {
                if size == 0 {
                    let previous = match out.last() {
                        Some(v) => lua.coerce_number(v.clone())?,
                        None => None,
                    };
                    let Some(n) = previous else {
                        return Ok(Err(CError::Where("format 'c0' needs a previous size".into())));
                    };
                    out.pop();
                    size = n as usize;
                    if size > data.len() || pos > data.len() - size {
                        return Ok(Err(short()));
                    }
                }
                out.push(Lv::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|b| *b == 0) else {
                    return Ok(Err(CError::Where("unfinished string in data".into())));
                };
                out.push(Lv::String(lua.create_string(&data[pos..pos + len])?));
                size = len + 1;
            }
            _ => {
                if let Err(e) = f.control(opt) {
                    return Ok(Err(e));
                }
            }
        }
        pos += size;
    }
    out.push(Lv::Number((pos + 1) as f64));
    Ok(Ok(MultiValue::from_vec(out)))
}

fn size(lua: &Lua, args: MultiValue) -> mlua::Result<CResult> {
    let fmt = check!(check_string(lua, &args, 1));
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut pos = 0;
    while let Some(opt) = f.next_opt() {
        let size = match f.size(opt) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        pos += f.padding(pos, opt, size);
        if opt == b's' {
            return Ok(Err(CError::Arg(1, "option 's' has no fixed size".into())));
        }
        if opt == b'c' && size == 0 {
            return Ok(Err(CError::Arg(1, "option 'c0' has no fixed size".into())));
        }
        if !opt.is_ascii_alphanumeric()
            && let Err(e) = f.control(opt)
        {
            return Ok(Err(e));
        }
        pos += size;
    }
    Ok(Ok((pos as f64).into_lua_multi(lua)?))
}
