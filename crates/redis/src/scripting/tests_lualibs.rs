//! cjson, cmsgpack, bit and struct against a transcript of a real Redis
//! 7.0.15 (`redis-cli --no-raw`, one EVAL a line, in one server: cjson's
//! settings carry from one script to the next, as in Redis), and round trips
//! of generated values through the interpreter EVAL runs scripts in.

use super::lua::{LRAND48_INITIAL, new_vm};
use crate::tests::lab;
use mlua::{Function, Lua, Value as Lv};
use std::cell::Cell;
use std::rc::Rc;

const TRANSCRIPT: &str = include_str!("tests_lualibs_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        // Line breaks are written `\n`, as redis-cli writes a newline byte.
        assert_eq!(l.cmd(cmd).replace('\n', "\\n"), want, "{cmd}");
    }
}

/// xorshift64: a fixed stream, so every run checks the same values.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = [0, 1, 5, 31, 32, 300][self.below(6) as usize];
        (0..len)
            .map(|_| [b'"', b'\\', b'/', b'\n', 0, 0x7f, 0xe9, b'a'][self.below(8) as usize] ^ (self.below(2) as u8))
            .collect()
    }

    /// A number `%.14g` writes exactly, or any double when `exact` is false.
    fn number(&mut self, any: bool) -> f64 {
        match self.below(4) {
            0 if any => (self.next() as i64 >> self.below(64)) as f64,
            0 => (self.next() as i64 >> (21 + self.below(43))) as f64,
            1 if any => f64::from_bits(self.next()),
            1 => (self.below(1 << 30) as f64 - (1u64 << 29) as f64) / 8.0,
            2 => (self.below(2000) as f64 - 1000.0) / 4.0,
            _ => self.below(1 << 12) as f64 / 1000.0,
        }
    }

    /// Lua source for a value: strings, numbers, booleans, arrays and maps.
    fn value(&mut self, depth: u32, any_number: bool) -> String {
        let kind = if depth == 0 { self.below(3) } else { self.below(5) };
        match kind {
            0 => lua_string(&self.bytes()),
            1 => {
                let n = self.number(any_number);
                if n.is_finite() { format!("{n:e}") } else { "0".into() }
            }
            2 => ["true", "false"][self.below(2) as usize].into(),
            3 => {
                let items: Vec<String> = (0..1 + self.below(5)).map(|_| self.value(depth - 1, any_number)).collect();
                format!("{{{}}}", items.join(","))
            }
            _ => {
                let items: Vec<String> = (0..self.below(5))
                    .map(|_| format!("[{}]={}", lua_string(&self.bytes()), self.value(depth - 1, any_number)))
                    .collect();
                format!("{{{}}}", items.join(","))
            }
        }
    }
}

fn lua_string(b: &[u8]) -> String {
    let inner: String = b.iter().map(|c| format!("\\{c}")).collect();
    format!("\"{inner}\"")
}

const DEEP_EQUAL: &str = r#"
local function eq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
return eq
"#;

fn vm() -> Lua {
    new_vm(Rc::new(Cell::new(LRAND48_INITIAL))).unwrap()
}

fn round_trips(lua: &Lua, there_and_back: &str, any_number: bool) {
    let eq: Function = lua.load(DEEP_EQUAL).eval().unwrap();
    let f: Function = lua.load(there_and_back).eval().unwrap();
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    for _ in 0..300 {
        let src = g.value(4, any_number);
        let v: Lv = lua.load(format!("return {src}")).eval().unwrap();
        let back: Lv = f.call(v.clone()).unwrap();
        assert!(eq.call::<bool>((v, back)).unwrap(), "{src}");
    }
}

#[test]
fn cjson_decode_undoes_encode() {
    let lua = vm();
    round_trips(&lua, "return function(v) return cjson.decode(cjson.encode(v)) end", false);
}

#[test]
fn cmsgpack_unpack_undoes_pack() {
    let lua = vm();
    round_trips(&lua, "return function(v) return cmsgpack.unpack(cmsgpack.pack(v)) end", true);
    round_trips(&lua, "return function(v) local n, w = cmsgpack.unpack_one(cmsgpack.pack(v, 1)) return w end", true);
}

#[test]
fn struct_unpack_undoes_pack() {
    let lua = vm();
    let check: Function = lua
        .load(
            r#"return function(a, b, c, d, s)
                 local p = struct.pack('>!4 b i h d s I3 B c0', a, b, c, d, s, a % 256, #s, s)
                 local a2, b2, c2, d2, s2, e2, f2, next = struct.unpack('>!4 b i h d s I3 B c0', p .. '', 1)
                 return a2 == a and b2 == b and c2 == c and d2 == d and s2 == s and e2 == a % 256 and f2 == s and next == #p + 1
               end"#,
        )
        .eval()
        .unwrap();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..500 {
        let a = g.below(256) as i64 - 128;
        let b = (g.next() as u32 as i32) as i64;
        let c = (g.next() as u16 as i16) as i64;
        let d = g.number(true);
        let s: Vec<u8> = g.bytes().into_iter().filter(|b| *b != 0).take(255).collect();
        let s = lua.create_string(&s).unwrap();
        let ok: bool = check.call((a, b, c, if d.is_nan() { 0.0 } else { d }, s)).unwrap();
        assert!(ok, "{a} {b} {c} {d}");
    }
}

#[test]
fn library_state_stays_inside_one_interpreter() {
    // A script's cjson setting lasts (as in Redis) but a fresh interpreter,
    // as after SCRIPT FLUSH, starts from the defaults.
    let lua = vm();
    lua.load("cjson.encode_max_depth(1)").exec().unwrap();
    let err = lua.load("return cjson.encode({{}})").eval::<String>().unwrap_err().to_string();
    assert!(err.contains("Cannot serialise, excessive nesting (2)"), "{err}");
    assert_eq!(vm().load("return cjson.encode({{}})").eval::<String>().unwrap(), "[{}]");
}

#[test]
fn objects_encode_in_the_same_order_in_every_interpreter() {
    // Keys are written in Lua's `next` order: for string and number keys it
    // depends on the keys and their insertion order only, not on the run.
    let script = "local t = {} for i = 1, 60 do t['k' .. (i * 7919 % 61)] = i; t[i + 0.5] = i end \
                  return cjson.encode(t) .. cmsgpack.pack(t)";
    let run = || vm().load(script).eval::<mlua::LuaString>().unwrap().as_bytes().to_vec();
    let first = run();
    for _ in 0..3 {
        assert_eq!(run(), first);
    }
    let text = String::from_utf8_lossy(&first);
    assert!(text.starts_with('{') && text.contains("\"k1\":"), "{text}");
}
