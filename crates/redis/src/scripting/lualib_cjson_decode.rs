//! `cjson.decode`'s parser (Lua CJSON 2.1.0): its tokens, error texts and
//! character positions, `strtod`'s number syntax (hex, `inf`, `nan` when
//! invalid numbers are allowed, as they are by default), `\u` escapes with
//! surrogate pairs, and the nesting limits.

use super::lualib_args::Levels;
use lua_slice::CError;
use mlua::{LightUserData, Lua, Value as Lv};

/// Lua's limit on the C stack slots a C function may use (`LUAI_MAXCSTACK`).
const MAX_C_STACK: usize = 8000;

/// The settings the parser reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_depth: i64,
    /// Numbers JSON does not allow (`+1`, `0x10`, `Infinity`, `NaN`, `007`).
    pub(crate) invalid_numbers: bool,
}

#[derive(Debug, PartialEq)]
enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    String(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

/// A container being read (its table is in [`Levels`]).
struct Open {
    array: bool,
    /// The next array index.
    index: i64,
    /// The key of the object member being read.
    key: Option<Vec<u8>>,
}

struct Token {
    kind: Kind,
    index: usize,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::String(_) => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(e) => e,
        }
    }
}

/// One `decode` call.
pub(crate) struct Parser<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    ptr: usize,
    limits: Limits,
    depth: i64,
    /// Lua C stack slots in use (the argument, then the open tables and keys).
    slots: usize,
}

type Parsed<T> = mlua::Result<Result<T, CError>>;

impl<'a> Parser<'a> {
    pub(crate) fn new(lua: &'a Lua, data: &'a [u8], limits: Limits) -> Parser<'a> {
        Parser { lua, data, ptr: 0, limits, depth: 0, slots: 1 }
    }

    /// The byte at `i`, 0 past the end (the C string's terminator).
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    /// One JSON value and nothing after it.
    pub(crate) fn document(&mut self) -> Parsed<Lv> {
        let token = self.next_token();
        let v = match self.value(token)? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let token = self.next_token();
        if token.kind != Kind::End {
            return Ok(Err(expected("the end", &token)));
        }
        Ok(Ok(v))
    }

    /// The value that starts with `token`, without recursion: nesting is
    /// bounded by the settings, not by the native stack.
    fn value(&mut self, token: Token) -> Parsed<Lv> {
        let mut open: Vec<Open> = Vec::new();
        let tables = Levels::new(self.lua)?;
        let mut token = token;
        loop {
            let mut v = match token.kind {
                Kind::String(s) => Lv::String(self.lua.create_string(s)?),
                Kind::Number(n) => Lv::Number(n),
                Kind::Boolean(b) => Lv::Boolean(b),
                Kind::Null => Lv::LightUserData(LightUserData(std::ptr::null_mut())),
                Kind::ObjBegin | Kind::ArrBegin => {
                    let array = token.kind == Kind::ArrBegin;
                    if let Err(e) = self.descend(if array { 2 } else { 3 }) {
                        return Ok(Err(e));
                    }
                    let table = self.lua.create_table()?;
                    self.slots += 1;
                    let next = self.next_token();
                    if next.kind == if array { Kind::ArrEnd } else { Kind::ObjEnd } {
                        self.ascend();
                        Lv::Table(table)
                    } else {
                        let mut o = Open { array, index: 1, key: None };
                        token = if array {
                            next
                        } else {
                            match self.member(&mut o, next) {
                                Ok(t) => t,
                                Err(e) => return Ok(Err(e)),
                            }
                        };
                        open.push(o);
                        tables.set(open.len(), Lv::Table(table))?;
                        continue;
                    }
                }
                _ => return Ok(Err(expected("value", &token))),
            };
            // Store the value in its container; close the containers that end.
            loop {
                let level = open.len();
                let Some(o) = open.last_mut() else { return Ok(Ok(v)) };
                let end = if o.array { Kind::ArrEnd } else { Kind::ObjEnd };
                let table = tables.table(level)?;
                match o.key.take() {
                    Some(k) => {
                        table.raw_set(self.lua.create_string(k)?, v)?;
                        self.slots -= 1;
                    }
                    None => {
                        table.raw_set(o.index, v)?;
                        o.index += 1;
                    }
                }
                let next = self.next_token();
                if next.kind == end {
                    self.ascend();
                    open.pop();
                    v = Lv::Table(table);
                    continue;
                }
                if next.kind != Kind::Comma {
                    let what = if o.array { "comma or array end" } else { "comma or object end" };
                    return Ok(Err(expected(what, &next)));
                }
                let next = self.next_token();
                token = if o.array {
                    next
                } else {
                    match self.member(o, next) {
                        Ok(t) => t,
                        Err(e) => return Ok(Err(e)),
                    }
                };
                break;
            }
        }
    }

    /// An object member's key and colon: the token of its value.
    fn member(&mut self, o: &mut Open, token: Token) -> Result<Token, CError> {
        let Kind::String(key) = token.kind else { return Err(expected("object key string", &token)) };
        let colon = self.next_token();
        if colon.kind != Kind::Colon {
            return Err(expected("colon", &colon));
        }
        o.key = Some(key);
        self.slots += 1;
        Ok(self.next_token())
    }

    fn descend(&mut self, slots: usize) -> Result<(), CError> {
        self.depth += 1;
        if self.depth <= self.limits.max_depth && self.slots + slots <= MAX_C_STACK {
            return Ok(());
        }
        Err(CError::Where(format!("Found too many nested data structures ({}) at character {}", self.depth, self.ptr)))
    }

    /// A container ended: its table is now a value of its parent.
    fn ascend(&mut self) {
        self.depth -= 1;
        self.slots -= 1;
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let index = self.ptr;
        let single = match self.at(index) {
            0 => return Token { kind: Kind::End, index },
            b'{' => Some(Kind::ObjBegin),
            b'}' => Some(Kind::ObjEnd),
            b'[' => Some(Kind::ArrBegin),
            b']' => Some(Kind::ArrEnd),
            b',' => Some(Kind::Comma),
            b':' => Some(Kind::Colon),
            _ => None,
        };
        if let Some(kind) = single {
            self.ptr += 1;
            return Token { kind, index };
        }
        let kind = self.word();
        let index = if matches!(kind, Kind::Error(_)) { self.ptr } else { index };
        Token { kind, index }
    }

    /// A string, number or literal at `ptr`.
    fn word(&mut self) -> Kind {
        let ch = self.at(self.ptr);
        let rest = &self.data[self.ptr.min(self.data.len())..];
        if ch == b'"' {
            return self.string();
        }
        if ch == b'-' || ch.is_ascii_digit() {
            if !self.limits.invalid_numbers && self.is_invalid_number() {
                return Kind::Error("invalid number");
            }
            return self.number();
        }
        for (word, kind) in
            [(&b"true"[..], Kind::Boolean(true)), (b"false", Kind::Boolean(false)), (b"null", Kind::Null)]
        {
            if rest.starts_with(word) {
                self.ptr += word.len();
                return kind;
            }
        }
        let unknown = matches!(ch, b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+');
        if unknown && self.limits.invalid_numbers && self.is_invalid_number() {
            return self.number();
        }
        Kind::Error("invalid token")
    }

    /// `json_is_invalid_number`: a leading `+`, hex, leading zeros, inf, nan.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let word: Vec<u8> = (0..3).map(|i| self.at(p + i).to_ascii_lowercase()).collect();
        word == b"inf" || word == b"nan"
    }

    fn number(&mut self) -> Kind {
        let (n, used) = strtod(&self.data[self.ptr.min(self.data.len())..]);
        if used == 0 {
            return Kind::Error("invalid number");
        }
        self.ptr += used;
        Kind::Number(n)
    }

    fn string(&mut self) -> Kind {
        self.ptr += 1;
        let mut out = Vec::new();
        loop {
            let ch = self.at(self.ptr);
            match ch {
                b'"' => break,
                0 => return Kind::Error("unexpected end of string"),
                b'\\' => {
                    let esc = self.at(self.ptr + 1);
                    if esc == b'u' {
                        if !self.unicode_escape(&mut out) {
                            return Kind::Error("invalid unicode escape code");
                        }
                        continue;
                    }
                    let Some(c) = unescape(esc) else { return Kind::Error("invalid escape code") };
                    out.push(c);
                    self.ptr += 2;
                }
                _ => {
                    out.push(ch);
                    self.ptr += 1;
                }
            }
        }
        self.ptr += 1;
        Kind::String(out)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |n, i| Some(n << 4 | (self.at(at + i) as char).to_digit(16)?))
    }

    /// `\uXXXX` (or a surrogate pair) at `ptr` as UTF-8.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        utf8(cp, out);
        self.ptr += len;
        true
    }
}

fn expected(what: &str, token: &Token) -> CError {
    CError::Where(format!("Expected {what} but found {} at character {}", token.kind.name(), token.index + 1))
}

fn unescape(c: u8) -> Option<u8> {
    Some(match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b't' => b'\t',
        b'n' => b'\n',
        b'f' => 0x0c,
        b'r' => b'\r',
        _ => return None,
    })
}

/// A code point (at most 0x10FFFF here) as UTF-8, surrogates included as they are.
fn utf8(cp: u32, out: &mut Vec<u8>) {
    match cp {
        0..=0x7F => out.push(cp as u8),
        0x80..=0x7FF => out.extend_from_slice(&[(cp >> 6) as u8 | 0xC0, (cp & 0x3F) as u8 | 0x80]),
        0x800..=0xFFFF => {
            out.extend_from_slice(&[(cp >> 12) as u8 | 0xE0, ((cp >> 6) & 0x3F) as u8 | 0x80, (cp & 0x3F) as u8 | 0x80])
        }
        _ => out.extend_from_slice(&[
            (cp >> 18) as u8 | 0xF0,
            ((cp >> 12) & 0x3F) as u8 | 0x80,
            ((cp >> 6) & 0x3F) as u8 | 0x80,
            (cp & 0x3F) as u8 | 0x80,
        ]),
    }
}

/// C's `strtod` on the front of `s` (which ends at its first NUL): the value
/// and the bytes it used, 0 when there is no number.
pub(crate) fn strtod(s: &[u8]) -> (f64, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let signed = |n: f64| if negative { -n } else { n };
    let lower = |i: usize, n: usize| (0..n).map(|k| at(i + k).to_ascii_lowercase()).collect::<Vec<u8>>();
    if lower(i, 3) == b"inf" {
        let used = if lower(i, 8) == b"infinity" { i + 8 } else { i + 3 };
        return (signed(f64::INFINITY), used);
    }
    if lower(i, 3) == b"nan" {
        let mut used = i + 3;
        if at(used) == b'(' {
            let mut j = used + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                used = j + 1;
            }
        }
        return (signed(f64::NAN), used);
    }
    if at(i) == b'0' && (at(i + 1) | 0x20) == b'x' {
        if let Some((n, used)) = hex_float(s, i + 2) {
            return (signed(n), used);
        }
        return (signed(0.0), i + 1);
    }
    match decimal(s, i) {
        Some((n, used)) => (signed(n), used),
        None => (0.0, 0),
    }
}

fn digits(s: &[u8], mut i: usize, radix: u32) -> usize {
    while s.get(i).is_some_and(|c| (*c as char).is_digit(radix)) {
        i += 1;
    }
    i
}

/// Digits, an optional fraction and exponent from `i`: the value, correctly rounded.
fn decimal(s: &[u8], i: usize) -> Option<(f64, usize)> {
    let int_end = digits(s, i, 10);
    let (mut frac, mut end) = (int_end, int_end);
    if s.get(int_end) == Some(&b'.') {
        frac = int_end + 1;
        end = digits(s, frac, 10);
    }
    let mantissa = int_end - i + end.saturating_sub(frac);
    if mantissa == 0 {
        return None;
    }
    let mut text = String::from_utf8_lossy(&s[i..int_end]).into_owned();
    text.push('.');
    text.push_str(&String::from_utf8_lossy(&s[frac.min(end)..end]));
    text.insert(0, '0');
    text.push('0');
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(s, j, 10);
        if exp_end > j {
            text.push('e');
            text.push_str(&String::from_utf8_lossy(&s[end + 1..exp_end]));
            end = exp_end;
        }
    }
    Some((text.parse::<f64>().unwrap_or(0.0), end))
}

/// A hex float's digits after `0x`: the value and the end, `None` without digits.
fn hex_float(s: &[u8], i: usize) -> Option<(f64, usize)> {
    let int_end = digits(s, i, 16);
    let (mut frac, mut end) = (int_end, int_end);
    if s.get(int_end) == Some(&b'.') {
        frac = int_end + 1;
        end = digits(s, frac, 16);
    }
    if int_end == i && end == frac {
        return None;
    }
    let value = |from: usize, to: usize| {
        s[from..to].iter().fold(0.0, |n, c| n * 16.0 + f64::from((*c as char).to_digit(16).unwrap_or(0)))
    };
    let mut n = value(i, int_end) + value(frac.min(end), end) / 16f64.powi((end - frac.min(end)) as i32);
    if matches!(s.get(end), Some(b'p' | b'P')) {
        let mut j = end + 1;
        let negative = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(s, j, 10);
        if exp_end > j {
            let e: i32 = String::from_utf8_lossy(&s[j..exp_end]).parse().unwrap_or(i32::MAX);
            n *= 2f64.powi(if negative { -e } else { e });
            end = exp_end;
        }
    }
    Some((n, end))
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn strtod_reads_what_c_reads() {
        for (text, value, used) in [
            ("12", 12.0, 2),
            ("-0.25,", -0.25, 5),
            ("1.5e3]", 1500.0, 5),
            ("1e", 1.0, 1),
            ("1e+", 1.0, 1),
            ("1.", 1.0, 2),
            (".5", 0.5, 2),
            ("0x10", 16.0, 4),
            ("0x", 0.0, 1),
            ("0x1p4", 16.0, 5),
            ("+5", 5.0, 2),
            ("007", 7.0, 3),
            ("1e400", f64::INFINITY, 5),
            ("-Infinity", f64::NEG_INFINITY, 9),
            ("inf", f64::INFINITY, 3),
        ] {
            assert_eq!(strtod(text.as_bytes()), (value, used), "{text}");
        }
        assert_eq!(strtod(b"-").1, 0);
        assert_eq!(strtod(b"x").1, 0);
        assert_eq!(strtod(b"-.").1, 0);
        let (n, used) = strtod(b"nan(abc)x");
        assert!(n.is_nan() && used == 8);
    }
}
