//! Reply values, their encoding, and an incremental decoder for clients.

use std::borrow::Cow;
use std::sync::Arc;

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
    /// `+OK`: a fixed status (`OK`, `PONG`, `QUEUED`) without an
    /// allocation, or a text made for the reply.
    Simple(Cow<'static, str>),
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
    /// A value encoded once for both protocols and shared: a server that
    /// gives many clients the same large reply (CLUSTER SLOTS while the
    /// cluster's configuration holds still) writes the kept bytes instead of
    /// building and encoding the value again. The decoder never makes one.
    Encoded(Arc<Encoded>),
}

/// A reply value with its RESP2 and RESP3 encodings, made once ([`Value::Encoded`]).
/// Two are equal when their encodings are.
#[derive(Debug)]
pub struct Encoded {
    /// The value; decoded from `resp2` when first asked for, for one made
    /// from its bytes ([`Encoded::bulk_array`]).
    value: std::sync::OnceLock<Value>,
    resp2: Vec<u8>,
    /// `None` when RESP3's bytes are RESP2's.
    resp3: Option<Vec<u8>>,
}

impl PartialEq for Encoded {
    fn eq(&self, other: &Encoded) -> bool {
        self.resp2 == other.resp2 && self.resp3_bytes() == other.resp3_bytes()
    }
}

impl Encoded {
    /// Encodes `value` for both protocols.
    pub fn new(value: Value) -> Encoded {
        let (mut resp2, mut resp3) = (Vec::new(), Vec::new());
        value.encode_for(Protocol::Resp2, &mut resp2);
        value.encode_for(Protocol::Resp3, &mut resp3);
        Encoded { value: std::sync::OnceLock::from(value), resp2, resp3: Some(resp3) }
    }

    /// An array of bulk strings (an LRANGE's reply) written straight from its
    /// items: the same bytes in both protocols, and no value per item unless
    /// someone asks for [`Encoded::value`].
    /// The items are walked twice: once for their lengths, so the bytes go
    /// into one buffer of exact size (a long list's reply is never copied
    /// to grow), then to write each in place.
    pub fn bulk_array<'a>(items: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Encoded {
        let body: usize = items.clone().map(|item| bulk_len(item.len())).sum();
        let mut resp2 = Vec::with_capacity(HEADER_MAX + body);
        push_header(&mut resp2, b'*', false, items.len() as u64);
        let mut at = resp2.len();
        resp2.resize(at + body, 0);
        for item in items {
            at = put_bulk(&mut resp2, at, item);
        }
        Encoded { value: std::sync::OnceLock::new(), resp2, resp3: None }
    }

    /// An array of bulk strings made by [`Encoded::bulk_array`] from `old`
    /// items, grown by `more` after them: the old items' bytes are copied as
    /// they are and only the new ones written, into one buffer of exact size
    /// (a list read again after appends).
    pub fn bulk_array_grown<'a>(&self, old: usize, more: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Encoded {
        debug_assert!(self.resp3.is_none() && self.resp2.first() == Some(&b'*'), "a bulk_array's bytes");
        let header = self.resp2.iter().position(|&b| b == b'\n').map_or(self.resp2.len(), |i| i + 1);
        let old_body = &self.resp2[header..];
        let body: usize = more.clone().map(|item| bulk_len(item.len())).sum();
        let mut resp2 = Vec::with_capacity(HEADER_MAX + old_body.len() + body);
        push_header(&mut resp2, b'*', false, (old + more.len()) as u64);
        resp2.extend_from_slice(old_body);
        let mut at = resp2.len();
        resp2.resize(at + body, 0);
        for item in more {
            at = put_bulk(&mut resp2, at, item);
        }
        Encoded { value: std::sync::OnceLock::new(), resp2, resp3: None }
    }

    /// A reply given by its two encodings, for a RESP3 type [`Value`] has no
    /// variant for (a big number, a verbatim string of another format than
    /// `txt`): `resp2` must be one whole reply, which [`Encoded::value`] decodes.
    pub fn from_parts(resp2: Vec<u8>, resp3: Vec<u8>) -> Encoded {
        Encoded { value: std::sync::OnceLock::new(), resp2, resp3: Some(resp3) }
    }

    /// The value encoded.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            let mut decoder = ReplyDecoder::default();
            decoder.feed(&self.resp2);
            match decoder.next_value() {
                Decoded::Value(v) => v,
                _ => unreachable!("an Encoded holds one whole reply it encoded itself"),
            }
        })
    }

    fn resp3_bytes(&self) -> &[u8] {
        self.resp3.as_deref().unwrap_or(&self.resp2)
    }
}

impl Value {
    /// `+OK`.
    pub fn ok() -> Value {
        Value::Simple(Cow::Borrowed("OK"))
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
            Value::Encoded(e) => match proto {
                Some(Protocol::Resp2) => out.extend_from_slice(&e.resp2),
                Some(Protocol::Resp3) => out.extend_from_slice(e.resp3_bytes()),
                None => e.value().encode_as(None, out),
            },
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
    // A header of one or two digits (the usual element) is a store of a
    // few fixed bytes, with no division and no copy of a variable length.
    match bytes.len() {
        n @ 0..10 => out.extend_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']),
        n @ 10..100 => out.extend_from_slice(&[b'$', b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, b'\r', b'\n']),
        n => push_header(out, b'$', false, n as u64),
    }
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Writes what [`bulk`] appends over `out[at..]`, which has room for it
/// ([`bulk_len`]); gives where it ends.
fn put_bulk(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let n = bytes.len();
    let at = match n {
        0..10 => {
            out[at..at + 4].copy_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']);
            at + 4
        }
        10..100 => {
            out[at..at + 5].copy_from_slice(&[b'$', b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, b'\r', b'\n']);
            at + 5
        }
        _ => {
            let mut header = Vec::with_capacity(HEADER_MAX);
            push_header(&mut header, b'$', false, n as u64);
            out[at..at + header.len()].copy_from_slice(&header);
            at + header.len()
        }
    };
    put_bytes(&mut out[at..at + n], bytes);
    out[at + n..at + n + 2].copy_from_slice(b"\r\n");
    at + n + 2
}

/// Copies `src` over `dst` (of its length): one of 8 to 16 bytes (a
/// workload's list element) as two overlapping moves of 8 written inline,
/// not a call of the copy of any length.
fn put_bytes(dst: &mut [u8], src: &[u8]) {
    if !(8..=16).contains(&src.len()) || dst.len() != src.len() {
        return dst.copy_from_slice(src);
    }
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<8>(), src.first_chunk::<8>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<8>(), src.last_chunk::<8>()) {
        *d = *s;
    }
}

/// The bytes [`bulk`] writes for a string of `len` bytes.
fn bulk_len(len: usize) -> usize {
    let digits = match len {
        0..10 => 1,
        10..100 => 2,
        _ => len.ilog10() as usize + 1,
    };
    1 + digits + 2 + len + 2
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
    /// Where the strings of the last array [`ReplyDecoder::take_bulks`] took are.
    spans: Vec<(usize, usize)>,
}

impl ReplyDecoder {
    /// Forgets every byte received, as a new decoder would start, keeping
    /// the room its buffers have grown to (a client that moves between
    /// connections decodes each one's replies in the same buffers).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.spans.clear();
    }

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

    /// Takes the next value if it has all arrived and is an array (`*`) or a
    /// set (`~`) of bulk strings only (`$`, or `=` read as one, as
    /// [`ReplyDecoder::next_value`] reads it), each header in its usual form
    /// (a length of 1 to 9 digits, then CRLF), and gives its strings' bytes
    /// in order: an `LRANGE` or `SMEMBERS` reply, read in one pass with no
    /// [`Value`] built. Anything else (another type, a nil or a null among
    /// the elements, a value not all here, an unusual header, bytes that are
    /// not RESP) is left where it is for [`ReplyDecoder::next_value`].
    pub fn take_bulks(&mut self) -> Option<impl ExactSizeIterator<Item = &[u8]> + '_> {
        self.take_bulks_after(Known::default()).map(|taken| taken.2)
    }

    /// [`ReplyDecoder::take_bulks`], for a reply that may begin with the
    /// elements of one taken before (a list read again after appends):
    /// when the elements' bytes begin with `known`'s, those are not read
    /// again. Gives whether they were skipped (and so are not among the
    /// strings given), the bytes of all the elements (for the next
    /// [`Known`]) and the strings of the others.
    pub fn take_bulks_after(
        &mut self,
        known: Known<'_>,
    ) -> Option<(bool, &[u8], impl ExactSizeIterator<Item = &[u8]> + '_)> {
        self.compact();
        self.spans.clear();
        let (body, skipped, end) = bulk_spans(&self.buf, self.pos, known, &mut self.spans)?;
        self.pos = end;
        let buf = &self.buf;
        Some((skipped, &buf[body..end], self.spans.iter().map(move |&(from, len)| &buf[from..from + len])))
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

/// The elements of an array [`ReplyDecoder::take_bulks_after`] took
/// before: their bytes as it gave them, and how many they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Known<'a> {
    /// The bytes of the elements, headers included.
    pub bytes: &'a [u8],
    /// How many elements they hold.
    pub count: usize,
}

/// Where the elements of the array or set of bulk strings at `start` begin,
/// whether they begin with `known`'s (then skipped), and where the array
/// ends, if one has all arrived there with every header in its usual form;
/// the places of its strings (all but those skipped) pushed on `spans`
/// (`(start, length)`).
fn bulk_spans(
    buf: &[u8],
    start: usize,
    known: Known<'_>,
    spans: &mut Vec<(usize, usize)>,
) -> Option<(usize, bool, usize)> {
    if !matches!(buf.get(start), Some(b'*' | b'~')) {
        return None;
    }
    let (count, body) = usual_len(buf, start + 1)?;
    let skipped = known.count > 0 && count >= known.count && buf[body..].starts_with(known.bytes);
    let (mut at, first) = if skipped { (body + known.bytes.len(), known.count) } else { (body, 0) };
    spans.reserve((count - first).min(1024));
    for _ in first..count {
        if !matches!(buf.get(at), Some(b'$' | b'=')) {
            return None;
        }
        let (n, from) = usual_len(buf, at + 1)?;
        if n > crate::PROTO_MAX_BULK_LEN || buf.get(from + n..from + n + 2)? != b"\r\n" {
            return None;
        }
        spans.push((from, n));
        at = from + n + 2;
    }
    Some((body, skipped, at))
}

/// A length of 1 to 9 decimal digits at `at` and its CRLF (what Redis
/// writes), and where the line after it starts.
fn usual_len(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut n = 0usize;
    let mut end = at;
    loop {
        let digit = buf.get(end)?.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        n = n * 10 + usize::from(digit);
        end += 1;
        if end - at > 9 {
            return None;
        }
    }
    if end == at || buf.get(end..end + 2)? != b"\r\n" {
        return None;
    }
    Some((n, end + 2))
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
        b'+' => Value::Simple(Cow::Owned(text())),
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

    /// An array of bulks written from its items is the array of bulk values
    /// in bytes (both protocols, the exact form too), in value once asked,
    /// and equal to the same array encoded from its value.
    #[test]
    fn a_bulk_array_written_from_its_items_is_the_array_of_bulks() {
        let long = [b'x'; 100_001];
        let edges = [0, 1, 7, 8, 9, 10, 15, 16, 17, 99, 100, 999, 1000, 100_001].map(|n| &long[..n]);
        let digits: Vec<Vec<u8>> = (0..20).map(|n| (0..n).map(|i| b'0' + (i * 7 + n) as u8 % 10).collect()).collect();
        let short = digits.iter().map(Vec::as_slice).collect();
        for items in
            [vec![], vec![&b"a"[..]], vec![&b""[..], &b"12345678901"[..], &b"x\r\ny"[..]], edges.to_vec(), short]
        {
            let fast = Encoded::bulk_array(items.iter().copied());
            let value = Value::Array(items.iter().map(Value::bulk).collect());
            for proto in [Some(Protocol::Resp2), Some(Protocol::Resp3), None] {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                Value::Encoded(Arc::new(Encoded::bulk_array(items.iter().copied()))).encode_as(proto, &mut got);
                value.encode_as(proto, &mut want);
                assert_eq!(got, want, "{items:?} {proto:?}");
            }
            assert_eq!(fast.value(), &value);
            let header = format!("*{}\r\n", items.len()).len();
            assert_eq!(fast.resp2.capacity(), HEADER_MAX + fast.resp2.len() - header, "exact capacity: {items:?}");
            assert_eq!(fast, Encoded::new(value.clone()));
            // Grown from any head of the items, it is the whole array.
            for old in 0..=items.len() {
                let head = Encoded::bulk_array(items[..old].iter().copied());
                let grown = head.bulk_array_grown(old, items[old..].iter().copied());
                assert_eq!(grown, fast, "grown from {old} of {items:?}");
                assert_eq!(grown.value(), &value);
            }
        }
    }

    /// A cleared decoder forgets a reply cut off halfway (the old
    /// connection's) and reads the next connection's replies as a new one.
    #[test]
    fn a_cleared_decoder_reads_as_a_new_one() {
        let mut used = ReplyDecoder::default();
        used.feed(b"*2\r\n$3\r\nabc\r\n$5\r\nde");
        assert!(matches!(used.next_value(), Decoded::Incomplete));
        used.clear();
        let mut fresh = ReplyDecoder::default();
        for bytes in [&b"+OK\r\n:12"[..], b"\r\n$1\r\nx\r\n"] {
            used.feed(bytes);
            fresh.feed(bytes);
        }
        let got: Vec<Decoded> = (0..4).map(|_| used.next_value()).collect();
        assert_eq!(got, (0..4).map(|_| fresh.next_value()).collect::<Vec<_>>());
        assert!(got[..3].iter().all(|d| matches!(d, Decoded::Value(_))), "{got:?}");
        assert_eq!(got[3], Decoded::Incomplete);
    }

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
    fn an_encoded_value_writes_what_its_value_encodes_to_in_each_protocol() {
        let value = Value::Array(vec![
            Value::Integer(0),
            Value::Array(vec![Value::bulk("10.0.0.1"), Value::Map(Vec::new()), Value::Nil]),
        ]);
        let shared = Value::Encoded(Arc::new(Encoded::new(value.clone())));
        let encoded = |v: &Value, p| {
            let mut out = Vec::new();
            v.encode_for(p, &mut out);
            String::from_utf8(out).unwrap()
        };
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            assert_eq!(encoded(&shared, proto), encoded(&value, proto));
            // Inside another reply (EXEC's array) too.
            let exec = |v: &Value| encoded(&Value::Array(vec![Value::ok(), v.clone()]), proto);
            assert_eq!(exec(&shared), exec(&value));
        }
        assert_eq!(encoded(&shared, Protocol::Resp3), "*2\r\n:0\r\n*3\r\n$8\r\n10.0.0.1\r\n%0\r\n_\r\n");
        assert_eq!(shared.to_bytes(), value.to_bytes());
        assert_eq!(crate::render(&shared), crate::render(&value));
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

    /// What the general decoder makes of the next value, as `take_bulks`
    /// would hand it over: the bulk strings of an array or set of them only.
    fn bulks_of(v: &Decoded) -> Option<Vec<Vec<u8>>> {
        let Decoded::Value(Value::Array(items) | Value::Set(items)) = v else { return None };
        items.iter().map(|i| if let Value::Bulk(b) = i { Some(b.clone()) } else { None }).collect()
    }

    #[test]
    fn bulks_are_taken_exactly_when_the_general_decoder_reads_an_array_of_bulks() {
        let base: &[&[u8]] = &[
            b"*3\r\n$1\r\n7\r\n$0\r\n\r\n$3\r\na\rb\r\n",
            b"~2\r\n$2\r\n10\r\n$2\r\n11\r\n",
            b"*0\r\n",
            b"*-1\r\n",
            b"*2\r\n$1\r\n1\r\n$-1\r\n",
            b"*2\r\n$1\r\n1\r\n:5\r\n",
            b"*1\r\n*1\r\n$1\r\nx\r\n",
            b"-MOVED 3999 10.0.0.1:6379\r\n",
            b"$3\r\nabc\r\n",
            b"*1\r\n$2\r\nabX\r\n",
            b"*1\r\n=5\r\ntxt:a\r\n",
            b"*99999999999\r\n",
        ];
        let mut rng = crate::test_rng::Xorshift(0x6a09_e667_f3bc_c908u64);
        let mut cases: Vec<Vec<u8>> = base.iter().map(|b| b.to_vec()).collect();
        for _ in 0..3000 {
            let mut bytes = base[rng.below(base.len() as u64)].to_vec();
            bytes.extend_from_slice(base[rng.below(base.len() as u64)]);
            match rng.below(4) {
                0 => bytes.truncate(rng.below(bytes.len() as u64 + 1)),
                1 => {
                    let i = rng.below(bytes.len() as u64);
                    bytes[i] = b"*$~-:\r\n01x"[rng.below(10)];
                }
                2 => {
                    let i = rng.below(bytes.len() as u64);
                    bytes.remove(i);
                }
                _ => {}
            }
            cases.push(bytes);
        }
        let mut taken = 0;
        let mut last: (Vec<u8>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
        for bytes in cases {
            let mut general = ReplyDecoder::default();
            general.feed(&bytes);
            let (want, raw) = general.next_value_and_bytes();
            let (want, raw) = (bulks_of(&want), raw.len());
            let mut fast = ReplyDecoder::default();
            fast.feed(&bytes);
            match fast.take_bulks().map(|bulks| bulks.map(<[u8]>::to_vec).collect::<Vec<_>>()) {
                Some(got) => {
                    taken += 1;
                    assert_eq!(Some(&got), want.as_ref(), "{bytes:?}");
                    assert_eq!(fast.pos, raw, "{bytes:?}: the same bytes taken");
                    // Again, knowing the elements of the last array taken.
                    let mut again = ReplyDecoder::default();
                    again.feed(&bytes);
                    let (known_bytes, known_elems) = &last;
                    let known = Known { bytes: known_bytes, count: known_elems.len() };
                    let (skipped, body, rest) = again.take_bulks_after(known).expect("taken above");
                    let mut all = if skipped { known_elems.clone() } else { Vec::new() };
                    let next = (body.to_vec(), got.clone());
                    all.extend(rest.map(<[u8]>::to_vec));
                    assert_eq!(all, got, "{bytes:?} after {known_bytes:?}");
                    assert_eq!(again.pos, raw);
                    last = next;
                }
                None => {
                    assert_eq!(fast.pos, 0, "{bytes:?}: left as it was");
                    let canonical = want.as_ref().map(|w| {
                        let mut out = Vec::new();
                        Value::Array(w.iter().map(Value::bulk).collect()).encode(&mut out);
                        out
                    });
                    assert_ne!(
                        canonical.as_deref(),
                        Some(&bytes[..raw]),
                        "{bytes:?}: as Redis writes it, yet not taken"
                    );
                }
            }
        }
        assert!(taken > 500, "the damage leaves many whole arrays: {taken}");
    }

    #[test]
    fn elements_known_from_an_earlier_array_are_skipped_only_when_they_begin_it() {
        let array = |items: &[&str]| {
            let mut out = Vec::new();
            Value::Array(items.iter().map(Value::bulk).collect()).encode(&mut out);
            out
        };
        let taken = |d: &mut ReplyDecoder, known: Known<'_>| {
            let (skipped, body, rest) = d.take_bulks_after(known).expect("an array of bulks");
            let rest: Vec<String> = rest.map(|b| String::from_utf8(b.to_vec()).unwrap()).collect();
            (skipped, body.to_vec(), rest)
        };
        let mut d = ReplyDecoder::default();
        d.feed(&array(&["1", "22", "333"]));
        let (skipped, first, rest) = taken(&mut d, Known::default());
        assert!(!skipped);
        assert_eq!(rest, ["1", "22", "333"]);
        assert_eq!(first, b"$1\r\n1\r\n$2\r\n22\r\n$3\r\n333\r\n");
        let known = Known { bytes: &first, count: 3 };
        // Grown by appends: only the new elements are read.
        d.feed(&array(&["1", "22", "333", "4444", "5"]));
        let (skipped, body, rest) = taken(&mut d, known);
        assert!(skipped);
        assert_eq!(rest, ["4444", "5"]);
        assert_eq!(body, array(&["1", "22", "333", "4444", "5"])[4..]);
        // The same again: nothing new.
        d.feed(&array(&["1", "22", "333"]));
        assert_eq!(taken(&mut d, known), (true, first.clone(), vec![]));
        // Not a prefix (a lost element, another order, a changed one): read in full.
        for other in [&["1", "333"][..], &["22", "1", "333", "4"], &["1", "22", "334"], &["1", "22"]] {
            d.feed(&array(other));
            let (skipped, _, rest) = taken(&mut d, known);
            assert!(!skipped, "{other:?}");
            assert_eq!(rest, other, "{other:?}");
        }
        // Fewer elements than known, though the bytes that follow begin
        // like them: the next reply's bytes are not taken for elements.
        let mut bytes = array(&["1", "22"]);
        bytes.extend_from_slice(b"$3\r\n333\r\n");
        d.feed(&bytes);
        let (skipped, _, rest) = taken(&mut d, known);
        assert!(!skipped);
        assert_eq!(rest, ["1", "22"]);
        assert_eq!(d.next_value(), Decoded::Value(Value::bulk("333")), "left for the next reply");
        // A known prefix whose array has not all arrived: nothing taken.
        let whole = array(&["1", "22", "333", "4444"]);
        d.feed(&whole[..whole.len() - 3]);
        assert!(d.take_bulks_after(known).is_none());
        d.feed(&whole[whole.len() - 3..]);
        assert_eq!(taken(&mut d, known).2, ["4444"]);
    }
}
