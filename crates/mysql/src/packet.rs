//! The MySQL client/server protocol as bytes: packet framing (3-byte length,
//! sequence id), length-encoded integers and strings, the server's initial
//! handshake (protocol 10) and the client's response, `mysql_native_password`,
//! OK, ERR and EOF packets, and text result sets. Decoding never panics: short
//! or malformed input is `None`.

use sha1::{Digest, Sha1};

/// The largest packet the server accepts (`max_allowed_packet`, 16 MiB in MariaDB 10.11).
pub const MAX_ALLOWED_PACKET: usize = 16 << 20;

/// Capability flags this model speaks (a subset of `CLIENT_*`).
pub mod caps {
    /// `CLIENT_LONG_PASSWORD`.
    pub const LONG_PASSWORD: u32 = 1;
    /// `CLIENT_CONNECT_WITH_DB`.
    pub const CONNECT_WITH_DB: u32 = 8;
    /// `CLIENT_PROTOCOL_41`.
    pub const PROTOCOL_41: u32 = 512;
    /// `CLIENT_TRANSACTIONS`.
    pub const TRANSACTIONS: u32 = 8192;
    /// `CLIENT_SECURE_CONNECTION`.
    pub const SECURE_CONNECTION: u32 = 32768;
    /// `CLIENT_PLUGIN_AUTH`.
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    /// What the server offers and the client asks for.
    pub const SPOKEN: u32 =
        LONG_PASSWORD | CONNECT_WITH_DB | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION | PLUGIN_AUTH;
}

/// `SERVER_STATUS_AUTOCOMMIT`.
pub const STATUS_AUTOCOMMIT: u16 = 2;

/// Splits complete packets off the front of a byte stream.
#[derive(Clone, Default, Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` begin (packets are taken off the
    /// front without moving the rest; `push` compacts).
    start: usize,
}

/// A packet read by [`Framer::next_frame`], or why reading stopped. A frame of
/// 0xffffff bytes (the start of a statement split across packets, over 16 MiB)
/// is refused as `max_allowed_packet` (16 MiB) refuses it.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole packet: sequence id and payload (in the framer's buffer).
    Packet(u8, &'a [u8]),
    /// The length header announces more than [`MAX_ALLOWED_PACKET`].
    TooLarge,
}

impl Framer {
    /// Appends bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete packet, if one has arrived.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        let buf = &self.buf[self.start..];
        if buf.len() < 4 {
            return None;
        }
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], 0]) as usize;
        if len >= 0xff_ffff {
            return Some(Frame::TooLarge);
        }
        if buf.len() < 4 + len {
            return None;
        }
        let start = self.start;
        self.start += 4 + len;
        Some(Frame::Packet(buf[3], &self.buf[start + 4..start + 4 + len]))
    }
}

/// `bytes` as text, invalid UTF-8 replaced as `String::from_utf8_lossy`
/// does; valid text (all of it, in practice) is checked by the faster
/// `str::from_utf8` and borrowed.
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Frames the payload `write` appends to `out` as one packet with sequence
/// id `seq` (as [`frame`] does, without a buffer of its own).
pub fn frame_with(seq: u8, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, seq]);
    write(out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 3].copy_from_slice(&len.to_le_bytes()[..3]);
}

/// Frames `payload` as one packet with sequence id `seq`.
pub fn frame(seq: u8, payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_le_bytes()[..3]);
    out.push(seq);
    out.extend_from_slice(payload);
}

/// Appends a length-encoded integer.
pub fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x10000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over a payload.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    /// A NUL-terminated string (without the NUL).
    pub fn cstr(&mut self) -> Option<&'a [u8]> {
        let end = self.bytes.iter().position(|&b| b == 0)?;
        let s = self.take(end)?;
        self.take(1)?;
        Some(s)
    }

    /// A length-encoded integer; `None` for the NULL marker 0xfb.
    pub fn lenenc(&mut self) -> Option<u64> {
        match self.u8()? {
            n @ 0..=250 => Some(n as u64),
            0xfc => self.u16().map(u64::from),
            0xfd => self.take(3).map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64),
            0xfe => self.u64(),
            _ => None,
        }
    }

    /// A length-encoded string.
    pub fn lenenc_str(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.lenenc()?).ok()?;
        self.take(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The server's first packet (Protocol::HandshakeV10).
pub fn handshake(version: &str, conn_id: u32, scramble: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&conn_id.to_le_bytes());
    p.extend_from_slice(&scramble[..8]);
    p.push(0);
    p.extend_from_slice(&(caps::SPOKEN as u16).to_le_bytes());
    p.push(8); // latin1_swedish_ci
    p.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
    p.extend_from_slice(&((caps::SPOKEN >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&scramble[8..]);
    p.push(0);
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// What a client learns from the server's handshake.
#[derive(Debug, PartialEq, Eq)]
pub struct Greeting {
    /// The version string.
    pub version: String,
    /// The connection id.
    pub conn_id: u32,
    /// The 20-byte scramble.
    pub scramble: Vec<u8>,
}

/// Parses the server's handshake.
pub fn parse_handshake(p: &[u8]) -> Option<Greeting> {
    let mut r = Reader::new(p);
    if r.u8()? != 10 {
        return None;
    }
    let version = String::from_utf8_lossy(r.cstr()?).into_owned();
    let conn_id = r.u32()?;
    let mut scramble = r.take(8)?.to_vec();
    r.take(1 + 2 + 1 + 2 + 2 + 1 + 10)?;
    scramble.extend_from_slice(r.take(12)?);
    Some(Greeting { version, conn_id, scramble })
}

/// The client's HandshakeResponse41.
pub fn handshake_response(user: &str, password: &str, scramble: &[u8], db: Option<&str>) -> Vec<u8> {
    let mut flags = caps::SPOKEN;
    if db.is_none() {
        flags &= !caps::CONNECT_WITH_DB;
    }
    let mut p = flags.to_le_bytes().to_vec();
    p.extend_from_slice(&(MAX_ALLOWED_PACKET as u32).to_le_bytes());
    p.push(8);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    let token = scramble_password(password, scramble);
    p.push(token.len() as u8);
    p.extend_from_slice(&token);
    if let Some(db) = db {
        p.extend_from_slice(db.as_bytes());
        p.push(0);
    }
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// What the server reads from a handshake response.
#[derive(Debug, PartialEq, Eq)]
pub struct Login {
    /// User name.
    pub user: String,
    /// The auth response (20 bytes, or empty for no password).
    pub token: Vec<u8>,
    /// The database to use, if any.
    pub db: Option<String>,
}

/// Parses a HandshakeResponse41.
pub fn parse_handshake_response(p: &[u8]) -> Option<Login> {
    let mut r = Reader::new(p);
    let flags = r.u32()?;
    if flags & caps::PROTOCOL_41 == 0 {
        return None;
    }
    r.take(4 + 1 + 23)?;
    let user = String::from_utf8_lossy(r.cstr()?).into_owned();
    let n = r.u8()? as usize;
    let token = r.take(n)?.to_vec();
    let db =
        if flags & caps::CONNECT_WITH_DB != 0 { Some(String::from_utf8_lossy(r.cstr()?).into_owned()) } else { None };
    Some(Login { user, token, db: db.filter(|d| !d.is_empty()) })
}

/// `mysql_native_password`'s token: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
pub fn scramble_password(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mix = h.finalize();
    stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect()
}

/// The stored hash of a password: SHA1(SHA1(pw)), as `PASSWORD()` shows it after a `*`.
pub fn password_hash(password: &str) -> Option<[u8; 20]> {
    if password.is_empty() {
        return None;
    }
    Some(Sha1::digest(Sha1::digest(password.as_bytes())).into())
}

/// The hash in `*` and 40 hex digits, as `IDENTIFIED BY PASSWORD` takes it.
pub fn parse_password_hash(text: &str) -> Option<[u8; 20]> {
    let hex = text.strip_prefix('*').filter(|h| h.len() == 40 && h.is_ascii())?;
    let mut out = [0u8; 20];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Whether `token` proves knowledge of the password whose hash is `stored`.
pub fn check_token(stored: Option<&[u8; 20]>, scramble: &[u8], token: &[u8]) -> bool {
    let Some(stored) = stored else { return token.is_empty() };
    if token.len() != 20 {
        return false;
    }
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stored);
    let mix = h.finalize();
    let stage1: Vec<u8> = token.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect();
    Sha1::digest(&stage1).as_slice() == stored
}

/// An OK packet.
pub fn ok(affected: u64, insert_id: u64, warnings: u16, info: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(23 + info.len());
    put_ok(&mut p, affected, insert_id, warnings, info);
    p
}

/// Appends an OK packet's payload to `p`.
pub fn put_ok(p: &mut Vec<u8>, affected: u64, insert_id: u64, warnings: u16, info: &str) {
    p.push(0);
    put_lenenc(p, affected);
    put_lenenc(p, insert_id);
    p.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
    p.extend_from_slice(&warnings.to_le_bytes());
    p.extend_from_slice(info.as_bytes());
}

/// An ERR packet.
pub fn err(code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    p
}

/// An EOF packet.
pub fn eof() -> Vec<u8> {
    let mut p = vec![0xfe, 0, 0];
    p.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
    p
}

/// A decoded server reply packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are named as the protocol and the statements name them
pub enum Reply {
    /// OK: affected rows, last insert id, warnings, info.
    Ok { affected: u64, insert_id: u64, warnings: u16, info: String },
    /// ERR: code, SQLSTATE, message.
    Err { code: u16, state: String, message: String },
    /// A result set's column count (the first packet of one).
    Columns(u64),
}

/// Decodes the first packet of a reply to COM_QUERY.
pub fn parse_reply(p: &[u8]) -> Option<Reply> {
    let mut r = Reader::new(p);
    match *p.first()? {
        0x00 => {
            r.u8()?;
            let affected = r.lenenc()?;
            let insert_id = r.lenenc()?;
            r.u16()?;
            let warnings = r.u16()?;
            Some(Reply::Ok { affected, insert_id, warnings, info: text(r.rest()).into_owned() })
        }
        0xff => {
            r.u8()?;
            let code = r.u16()?;
            let state =
                if r.take(1)? == b"#" { String::from_utf8_lossy(r.take(5)?).into_owned() } else { "HY000".into() };
            Some(Reply::Err { code, state, message: String::from_utf8_lossy(r.rest()).into_owned() })
        }
        _ => r.lenenc().map(Reply::Columns),
    }
}

/// Column types used in result sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `MYSQL_TYPE_LONG`.
    Long = 3,
    /// `MYSQL_TYPE_LONGLONG`.
    LongLong = 8,
    /// `MYSQL_TYPE_VAR_STRING`.
    VarString = 253,
}

/// A column definition (Protocol::ColumnDefinition41).
pub fn column_def(schema: &str, table: &str, name: &str, ty: ColumnType, length: u32, nullable: bool) -> Vec<u8> {
    let mut p = Vec::new();
    for s in ["def", schema, table, table, name, name] {
        put_lenenc_str(&mut p, s.as_bytes());
    }
    p.push(0x0c);
    let charset: u16 = if ty == ColumnType::VarString { 8 } else { 63 };
    p.extend_from_slice(&charset.to_le_bytes());
    p.extend_from_slice(&length.to_le_bytes());
    p.push(ty as u8);
    let numeric: u16 = if ty == ColumnType::VarString { 0 } else { 32768 }; // NUM_FLAG
    let flags = numeric | u16::from(!nullable); // NOT_NULL_FLAG
    p.extend_from_slice(&flags.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p
}

/// What a client reads from a column definition: the name, whether it is
/// numeric and whether it can hold NULL.
pub fn parse_column_def(p: &[u8]) -> Option<(String, bool, bool)> {
    let mut r = Reader::new(p);
    for _ in 0..4 {
        r.lenenc_str()?;
    }
    let name = String::from_utf8_lossy(r.lenenc_str()?).into_owned();
    r.lenenc_str()?;
    r.take(1 + 2 + 4)?;
    let ty = r.u8()?;
    let flags = u16::from(r.u8()?) | u16::from(r.u8()?) << 8;
    Some((name, matches!(ty, 1 | 2 | 3 | 8 | 9 | 4 | 5 | 246), flags & 1 == 0))
}

/// A text result set row.
pub fn row(values: &[Option<String>]) -> Vec<u8> {
    let mut p = Vec::new();
    for v in values {
        match v {
            Some(s) => put_lenenc_str(&mut p, s.as_bytes()),
            None => p.push(0xfb),
        }
    }
    p
}

/// Decodes a text row of `n` values.
pub fn parse_row(p: &[u8], n: usize) -> Option<Vec<Option<String>>> {
    let mut r = Reader::new(p);
    let mut values = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        if p.get(p.len() - r.bytes.len()) == Some(&0xfb) {
            r.u8()?;
            values.push(None);
        } else {
            values.push(Some(String::from_utf8_lossy(r.lenenc_str()?).into_owned()));
        }
    }
    Some(values)
}

/// Whether `p` is an EOF packet (0xfe and shorter than 9 bytes).
pub fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

#[cfg(test)]
mod tests {
    /// An OK packet framed in place is byte for byte the OK packet framed
    /// from its own buffer, for lengths that need 1, 3, 4 and 9 bytes.
    #[test]
    fn ok_framed_in_place_is_ok_framed() {
        for n in [0, 250, 251, 65_535, 65_536, 1 << 24, u64::MAX] {
            let (mut framed, mut in_place) = (vec![9], vec![9]);
            super::frame(1, &super::ok(n, n / 3, 2, "Rows matched: 1"), &mut framed);
            super::frame_with(1, &mut in_place, |p| super::put_ok(p, n, n / 3, 2, "Rows matched: 1"));
            assert_eq!(in_place, framed, "{n}");
        }
    }

    /// Text is what `String::from_utf8_lossy` makes of the bytes, valid or not.
    #[test]
    fn text_is_lossy_utf8() {
        let cases: [&[u8]; 6] =
            [b"", b"insert into t1 values(1,'a')", "é€😀".as_bytes(), b"a\xffb", b"\xe2\x82", b"x\xc3"];
        for bytes in cases {
            assert_eq!(super::text(bytes), String::from_utf8_lossy(bytes), "{bytes:?}");
        }
    }
}
