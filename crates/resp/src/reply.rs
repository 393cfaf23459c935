//! Reply values, their encoding, and an incremental decoder for clients.

/// The protocol a connection speaks; `HELLO 3` switches a client to RESP3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// What every connection starts with.
    #[default]
    Resp2,
    /// Maps, sets, doubles, `_` nulls and out-of-band pushes.
    Resp3,
}

impl Protocol {
    /// The version number HELLO and CLIENT LIST (`resp=`) show.
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// A RESP value (RESP2 plus the RESP3 types that are cheap to support).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `+OK`
    Simple(String),
    /// `-ERR ...` (the text after `-`).
    Error(String),
    /// `:1`
    Integer(i64),
    /// `$2\r\nv1`
    Bulk(Vec<u8>),
    /// `$-1`: a missing value.
    Nil,
    /// `*N`
    Array(Vec<Value>),
    /// `*-1`: a missing array.
    NilArray,
    /// RESP3 `_`.
    Null,
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `,` (kept as text, as sent).
    Double(String),
    /// RESP3 `%`: key-value pairs.
    Map(Vec<(Value, Value)>),
    /// RESP3 `~`.
    Set(Vec<Value>),
    /// RESP3 `>`: out-of-band data such as pub/sub messages.
    Push(Vec<Value>),
    /// RESP3 `=` with format `txt` (INFO, CLIENT LIST): a bulk string for RESP2.
    /// The decoder gives it back as a [`Value::Bulk`] that starts with `txt:`.
    Verbatim(Vec<u8>),
}

impl Value {
    /// `+OK`.
    pub fn ok() -> Value {
        Value::Simple("OK".to_owned())
    }

    /// An error reply from its full text (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(text: impl Into<String>) -> Value {
        Value::Error(text.into())
    }

    /// A bulk string.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Value {
        Value::Bulk(bytes.as_ref().to_vec())
    }

    /// Appends the wire encoding of this value to `out`, each type as itself
    /// (`$-1` and `*-1` for the RESP2 nils, `%` for a map): what a test or a
    /// fake server writes when it wants exact bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_as(None, out);
    }

    /// Appends this reply as a client speaking `proto` receives it, as Redis's
    /// `addReply*` functions do: RESP2 flattens maps, sets and pushes into
    /// arrays, sends doubles as bulk strings, booleans as 1/0 and nulls as
    /// `$-1`; RESP3 sends both RESP2 nils as `_`.
    pub fn encode_for(&self, proto: Protocol, out: &mut Vec<u8>) {
        self.encode_as(Some(proto), out);
    }

    fn encode_as(&self, proto: Option<Protocol>, out: &mut Vec<u8>) {
        fn header(out: &mut Vec<u8>, tag: u8, n: i64) {
            push_header(out, tag, n < 0, n.unsigned_abs());
        }
        let resp2 = proto == Some(Protocol::Resp2);
        let resp3 = proto == Some(Protocol::Resp3);
        match self {
            Value::Simple(s) => line(out, b'+', s.as_bytes()),
            Value::Error(s) => line(out, b'-', s.as_bytes()),
            Value::Integer(n) => header(out, b':', *n),
            Value::Bulk(b) => bulk(out, b),
            Value::Verbatim(text) if resp2 => bulk(out, text),
            Value::Verbatim(text) => {
                header(out, b'=', text.len() as i64 + 4);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Value::Nil | Value::NilArray | Value::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Value::Nil => out.extend_from_slice(b"$-1\r\n"),
            Value::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Value::Null if resp2 => out.extend_from_slice(b"$-1\r\n"),
            Value::Null => out.extend_from_slice(b"_\r\n"),
            Value::Boolean(b) if resp2 => header(out, b':', i64::from(*b)),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Value::Double(d) if resp2 => bulk(out, d.as_bytes()),
            Value::Double(d) => line(out, b',', d.as_bytes()),
            Value::Array(items) | Value::Set(items) | Value::Push(items) => {
                let tag = match self {
                    _ if resp2 => b'*',
                    Value::Array(_) => b'*',
                    Value::Set(_) => b'~',
                    _ => b'>',
                };
                header(out, tag, items.len() as i64);
                for item in items {
                    item.encode_as(proto, out);
                }
            }
            Value::Map(pairs) => {
                if resp2 {
                    header(out, b'*', 2 * pairs.len() as i64);
                } else {
                    header(out, b'%', pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode_as(proto, out);
                    v.encode_as(proto, out);
                }
            }
        }
    }

    /// The encoding as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    push_header(out, b'$', false, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn line(out: &mut Vec<u8>, tag: u8, text: &[u8]) {
    out.push(tag);
    // A simple string or error cannot carry CR or LF; Redis replaces them with spaces.
    out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// Appends a command as a multibulk request, as clients send it.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    // One reservation for the whole command: a header line is at most HEADER_MAX bytes.
    let bytes: usize = args.iter().map(|a| a.as_ref().len() + HEADER_MAX + 2).sum();
    out.reserve(HEADER_MAX + bytes);
    push_header(out, b'*', false, args.len() as u64);
    for a in args {
        bulk(out, a.as_ref());
    }
}

/// The longest header line: a tag, a sign, 20 digits, CR and LF.
const HEADER_MAX: usize = 24;

/// Appends a header line (`tag`, `-` if `negative`, `n` in decimal, CRLF)
/// in one copy: commands and replies are encoded per command.
fn push_header(out: &mut Vec<u8>, tag: u8, negative: bool, mut n: u64) {
    let mut line = [0u8; HEADER_MAX];
    let mut i = HEADER_MAX - 2;
    line[i..].copy_from_slice(b"\r\n");
    loop {
        i -= 1;
        line[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        line[i] = b'-';
    }
    i -= 1;
    line[i] = tag;
    out.extend_from_slice(&line[i..]);
}

/// What the decoder produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A whole value.
    Value(Value),
    /// More bytes are needed.
    Incomplete,
    /// The stream is not RESP; the connection should be dropped.
    Invalid(String),
}

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Incremental reply decoder: feed bytes, take values.
#[derive(Debug, Default)]
pub struct ReplyDecoder {
    buf: Vec<u8>,
    pos: usize,
}

impl ReplyDecoder {
    /// Adds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole value, if one has arrived.
    pub fn next_value(&mut self) -> Decoded {
        self.next_value_and_bytes().0
    }

    /// The next whole value, if one has arrived, and the bytes it came in
    /// (empty unless it is a value), so a client can tell the same reply
    /// again without decoding it ([`ReplyDecoder::skip_if_next`]).
    pub fn next_value_and_bytes(&mut self) -> (Decoded, &[u8]) {
        self.compact();
        let start = self.pos;
        let mut at = start;
        match parse(&self.buf, &mut at, 0) {
            Ok(Some(v)) => {
                self.pos = at;
                (Decoded::Value(v), &self.buf[start..at])
            }
            Ok(None) => (Decoded::Incomplete, &[]),
            Err(e) => (Decoded::Invalid(e), &[]),
        }
    }

    /// Takes the next value without decoding it if its bytes are exactly
    /// `bytes`, the bytes of a whole value seen before (a value's encoding
    /// ends where it says, so no other value starts with it); says whether it did.
    pub fn skip_if_next(&mut self, bytes: &[u8]) -> bool {
        self.compact();
        let next = !bytes.is_empty() && self.buf[self.pos..].starts_with(bytes);
        if next {
            self.pos += bytes.len();
        }
        next
    }

    /// Drops the bytes already taken once they are most of a large buffer.
    fn compact(&mut self) {
        if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

fn read_line<'a>(buf: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*at..)?;
    // The first CR that a LF follows (a lone CR is part of the line).
    let mut from = 0;
    let end = loop {
        let cr = from + rest[from..].iter().position(|&b| b == b'\r')?;
        if rest.get(cr + 1) == Some(&b'\n') {
            break cr;
        }
        from = cr + 1;
    };
    *at += end + 2;
    Some(&rest[..end])
}

fn parse_int(bytes: &[u8]) -> Result<i64, String> {
    // Up to 18 digits cannot overflow: read them directly (lengths, counts,
    // ports); anything else the way it always was, as `str::parse` reads it.
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
        return Ok(if digits.len() < bytes.len() { -n } else { n });
    }
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("invalid integer {:?}", String::from_utf8_lossy(bytes)))
}

fn parse(buf: &[u8], at: &mut usize, depth: usize) -> Result<Option<Value>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".to_owned());
    }
    let Some(&tag) = buf.get(*at) else { return Ok(None) };
    let start = *at;
    *at += 1;
    let Some(line) = read_line(buf, at) else {
        *at = start;
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(line).into_owned();
    let count = |line: &[u8]| -> Result<i64, String> {
        let n = parse_int(line)?;
        if n > crate::MAX_MULTIBULK as i64 { Err(format!("aggregate of {n} elements is too large")) } else { Ok(n) }
    };
    let value = match tag {
        b'+' => Value::Simple(text()),
        b'-' => Value::Error(text()),
        b':' => Value::Integer(parse_int(line)?),
        b',' => Value::Double(text()),
        b'#' => match line {
            b"t" => Value::Boolean(true),
            b"f" => Value::Boolean(false),
            _ => return Err(format!("invalid boolean {:?}", text())),
        },
        b'_' => Value::Null,
        b'$' | b'=' => {
            let n = parse_int(line)?;
            if n < 0 {
                Value::Nil
            } else {
                if n > crate::PROTO_MAX_BULK_LEN as i64 {
                    return Err(format!("bulk of {n} bytes is too large"));
                }
                let n = n as usize;
                let Some(data) = buf.get(*at..*at + n + 2) else {
                    *at = start;
                    return Ok(None);
                };
                if &data[n..] != b"\r\n" {
                    return Err("bulk string not terminated by CRLF".to_owned());
                }
                *at += n + 2;
                Value::Bulk(data[..n].to_vec())
            }
        }
        b'*' | b'~' | b'>' => {
            let n = count(line)?;
            if n < 0 {
                Value::NilArray
            } else {
                let mut items = Vec::with_capacity((n as usize).min(1024));
                for _ in 0..n {
                    match parse(buf, at, depth + 1)? {
                        Some(v) => items.push(v),
                        None => {
                            *at = start;
                            return Ok(None);
                        }
                    }
                }
                match tag {
                    b'*' => Value::Array(items),
                    b'~' => Value::Set(items),
                    _ => Value::Push(items),
                }
            }
        }
        b'%' => {
            let n = count(line)?.max(0);
            let mut pairs = Vec::with_capacity((n as usize).min(1024));
            for _ in 0..n {
                let k = parse(buf, at, depth + 1)?;
                let v = if k.is_some() { parse(buf, at, depth + 1)? } else { None };
                match (k, v) {
                    (Some(k), Some(v)) => pairs.push((k, v)),
                    _ => {
                        *at = start;
                        return Ok(None);
                    }
                }
            }
            Value::Map(pairs)
        }
        other => return Err(format!("unexpected byte {other:#04x} where a reply should start")),
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HGETALL/SMEMBERS/MGET-shaped replies, as redis-server 7.0.15 sent them to a
    /// RESP2 and to a RESP3 (`HELLO 3`) connection.
    #[test]
    fn replies_follow_the_client_protocol() {
        let map = Value::Map(vec![(Value::bulk("f"), Value::bulk("v")), (Value::bulk("f2"), Value::bulk("v2"))]);
        let encoded = |v: &Value, p| {
            let mut out = Vec::new();
            v.encode_for(p, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(encoded(&map, Protocol::Resp3), "%2\r\n$1\r\nf\r\n$1\r\nv\r\n$2\r\nf2\r\n$2\r\nv2\r\n");
        assert_eq!(encoded(&map, Protocol::Resp2), "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$2\r\nf2\r\n$2\r\nv2\r\n");
        let set = Value::Set(vec![Value::bulk("y"), Value::bulk("x")]);
        assert_eq!(encoded(&set, Protocol::Resp3), "~2\r\n$1\r\ny\r\n$1\r\nx\r\n");
        assert_eq!(encoded(&set, Protocol::Resp2), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
        let mget = Value::Array(vec![Value::bulk("1"), Value::Nil]);
        assert_eq!(encoded(&mget, Protocol::Resp3), "*2\r\n$1\r\n1\r\n_\r\n");
        assert_eq!(encoded(&mget, Protocol::Resp2), "*2\r\n$1\r\n1\r\n$-1\r\n");
        assert_eq!(encoded(&Value::NilArray, Protocol::Resp3), "_\r\n");
        assert_eq!(encoded(&Value::NilArray, Protocol::Resp2), "*-1\r\n");
        let push = Value::Push(vec![Value::bulk("unsubscribe"), Value::Nil, Value::Integer(0)]);
        assert_eq!(encoded(&push, Protocol::Resp3), ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
        assert_eq!(encoded(&push, Protocol::Resp2), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(encoded(&Value::Double("1.5".into()), Protocol::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(encoded(&Value::Boolean(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(encoded(&Value::Verbatim(b"a:1\n".to_vec()), Protocol::Resp3), "=8\r\ntxt:a:1\n\r\n");
        assert_eq!(encoded(&Value::Verbatim(b"a:1\n".to_vec()), Protocol::Resp2), "$4\r\na:1\n\r\n");
    }

    #[test]
    fn round_trips_every_type_even_one_byte_at_a_time() {
        let v = Value::Array(vec![
            Value::ok(),
            Value::error("ERR x"),
            Value::Integer(-3),
            Value::bulk("a\r\nb"),
            Value::Nil,
            Value::NilArray,
            Value::Array(vec![]),
            Value::Null,
            Value::Boolean(true),
            Value::Double("1.5".into()),
            Value::Map(vec![(Value::bulk("k"), Value::Integer(1))]),
            Value::Set(vec![Value::bulk("m")]),
            Value::Push(vec![Value::bulk("message")]),
        ]);
        let bytes = v.to_bytes();
        let mut d = ReplyDecoder::default();
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(d.next_value(), Decoded::Incomplete, "complete too early at byte {i}");
            d.feed(&[*b]);
        }
        assert_eq!(d.next_value(), Decoded::Value(v));
        assert_eq!(d.next_value(), Decoded::Incomplete);
    }

    #[test]
    fn integers_and_lengths_are_written_in_decimal() {
        for n in [0, 7, -7, 10, 1_000_000, i64::MAX, i64::MIN] {
            assert_eq!(Value::Integer(n).to_bytes(), format!(":{n}\r\n").into_bytes());
        }
        let mut out = Vec::new();
        let long = vec![b'x'; 12_345];
        encode_command(&[b"SET".as_slice(), b"k", &long], &mut out);
        let mut expected = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12345\r\n".to_vec();
        expected.extend_from_slice(&long);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn simple_strings_cannot_smuggle_newlines() {
        assert_eq!(Value::error("ERR a\r\nb").to_bytes(), b"-ERR a  b\r\n");
    }

    #[test]
    fn garbage_is_invalid_not_a_panic() {
        let mut d = ReplyDecoder::default();
        d.feed(b"?what\r\n");
        assert!(matches!(d.next_value(), Decoded::Invalid(_)));
        let mut d = ReplyDecoder::default();
        d.feed(&b"*1\r\n".repeat(200));
        d.feed(b":1\r\n");
        assert_eq!(d.next_value(), Decoded::Invalid("reply nested too deeply".into()));
    }

    #[test]
    fn commands_encode_as_multibulk() {
        let mut out = Vec::new();
        encode_command(&["SET", "k1", "v1"], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n");
    }

    /// The direct integer reading against `str::parse`, on digit strings of
    /// every length around the 18-digit cut, signs, and junk.
    #[test]
    fn integers_read_as_str_parse_reads_them() {
        let mut cases: Vec<String> = ["", "-", "+", "+7", "-0", "007", "1 ", " 1", "1a", "--1", "9223372036854775807"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        cases.extend(["-9223372036854775808", "9223372036854775808", "-9223372036854775809"].map(str::to_owned));
        for len in 1..=20 {
            for lead in ['1', '9'] {
                let n: String = std::iter::once(lead).chain(std::iter::repeat_n('7', len - 1)).collect();
                cases.push(format!("-{n}"));
                cases.push(n);
            }
        }
        for case in cases {
            let want = case.parse::<i64>().ok();
            assert_eq!(parse_int(case.as_bytes()).ok(), want, "{case:?}");
        }
    }

    #[test]
    fn a_line_ends_at_the_first_crlf_not_at_a_lone_cr() {
        let buf = b"+a\rb\r\r\n:5\r\n";
        let mut at = 1;
        assert_eq!(read_line(buf, &mut at), Some(&b"a\rb\r"[..]));
        assert_eq!(&buf[at..], b":5\r\n");
        let mut end = 0;
        assert_eq!(read_line(b"+ok\r", &mut end), None, "no LF yet");
    }

    /// A reply seen before is taken whole without decoding; anything else
    /// (another reply, a prefix of it, nothing yet) is left for `next_value`.
    #[test]
    fn a_reply_seen_before_is_skipped_by_its_bytes() {
        let slots = b"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n";
        let mut d = ReplyDecoder::default();
        d.feed(slots);
        d.feed(b":1\r\n");
        let (value, bytes) = d.next_value_and_bytes();
        assert!(matches!(value, Decoded::Value(Value::Array(_))));
        assert_eq!(bytes, &slots[..]);
        assert_eq!(d.next_value(), Decoded::Value(Value::Integer(1)));
        assert!(!d.skip_if_next(slots), "nothing buffered");
        d.feed(&slots[..10]);
        assert!(!d.skip_if_next(slots), "only a prefix arrived");
        d.feed(&slots[10..]);
        assert!(d.skip_if_next(slots));
        assert_eq!(d.next_value(), Decoded::Incomplete);
        d.feed(b"+OK\r\n");
        assert!(!d.skip_if_next(slots) && !d.skip_if_next(b""));
        assert_eq!(d.next_value(), Decoded::Value(Value::ok()));
    }
}
