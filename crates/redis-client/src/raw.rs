//! A raw TCP client, as `nc` or `telnet` would be: it sends exact bytes (an
//! inline command, a malformed multibulk, half a request) and keeps every
//! byte the server sends back, unparsed, for a given time after sending or
//! until the server closes the connection.

use sim::{ConnId, ConnectError, Ctx, Input, Process};
use std::net::SocketAddrV4;
use std::time::Duration;

/// Bytes kept of the reply; more are counted, not kept.
pub const MAX_READ: usize = 1 << 20;

/// The raw client.
#[derive(Debug)]
pub struct RawClient {
    target: SocketAddrV4,
    send: Vec<u8>,
    read_for: Duration,
    conn: Option<ConnId>,
    /// The bytes received, the first [`MAX_READ`].
    pub received: Vec<u8>,
    /// Bytes received past [`MAX_READ`].
    pub dropped: usize,
    /// Whether the server closed the connection.
    pub closed_by_server: bool,
    /// Why no connection was made, if none was.
    pub error: Option<String>,
    /// Whether it is over: the read time passed, or the connection is gone.
    pub done: bool,
}

impl RawClient {
    /// A client that sends `send` to `target` and reads for `read_for` after.
    pub fn new(target: SocketAddrV4, send: Vec<u8>, read_for: Duration) -> RawClient {
        RawClient {
            target,
            send,
            read_for,
            conn: None,
            received: Vec::new(),
            dropped: 0,
            closed_by_server: false,
            error: None,
            done: false,
        }
    }

    fn end(&mut self, ctx: &mut Ctx<'_>) {
        self.done = true;
        if let Some(conn) = self.conn.take() {
            ctx.close(conn);
        }
    }
}

impl Process for RawClient {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.conn = Some(ctx.connect(self.target)),
            Input::Connected { conn } => {
                if !self.send.is_empty() {
                    ctx.send(conn, &self.send);
                }
                ctx.set_timer(self.read_for, 0);
            }
            Input::ConnectFailed { error, .. } => {
                let why = match error {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::Unreachable => "No route to host",
                };
                self.error = Some(format!("could not connect to {}: {why}", self.target));
                self.done = true;
            }
            Input::Data { bytes, .. } if !self.done => {
                let room = MAX_READ - self.received.len();
                self.received.extend_from_slice(&bytes[..bytes.len().min(room)]);
                self.dropped += bytes.len().saturating_sub(room);
            }
            Input::Timer { .. } if !self.done => self.end(ctx),
            Input::Closed { conn, .. } if Some(conn) == self.conn => {
                self.conn = None;
                self.closed_by_server = !self.done;
                self.done = true;
            }
            // It writes with `send`, never short: no `Writable` comes.
            Input::Data { .. }
            | Input::Timer { .. }
            | Input::Closed { .. }
            | Input::Accepted { .. }
            | Input::Writable { .. }
            | Input::Shutdown => {}
        }
    }
}

/// Bytes from text written with escapes: `\r`, `\n`, `\t`, `\0`, `\\`, `\"`,
/// `\xHH`; any other character stands for its UTF-8 bytes. `Err` says what
/// is wrong and where (a character offset).
pub fn unescape(text: &str) -> Result<Vec<u8>, (usize, String)> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next().map(|(_, e)| e) {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).map(|(_, h)| h).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) if hex.len() == 2 => out.push(b),
                    _ => return Err((at, format!("`\\x{hex}` is not two hex digits"))),
                }
            }
            Some(other) => return Err((at, format!("unknown escape `\\{other}`"))),
            None => return Err((at, "a lone `\\` at the end".to_owned())),
        }
    }
    Ok(out)
}

/// Bytes as text with the escapes [`unescape`] reads: printable ASCII as is,
/// `\r`, `\n`, `\t`, `\\`, `\"` and `\xHH` for the rest.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_read_back_to_the_same_bytes() {
        assert_eq!(unescape("PING\\r\\n").unwrap(), b"PING\r\n");
        assert_eq!(unescape("*1\\r\\n$4\\r\\nPING\\r\\n").unwrap(), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(unescape("a\\x00\\xffb\\\\\\\"").unwrap(), b"a\x00\xffb\\\"");
        assert_eq!(unescape("\\0").unwrap(), b"\0");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
        assert_eq!(escape(b"+PONG\r\n"), "+PONG\\r\\n");
    }

    #[test]
    fn bad_escapes_say_what_and_where() {
        assert_eq!(unescape("ab\\q").unwrap_err(), (2, "unknown escape `\\q`".to_owned()));
        assert_eq!(unescape("\\x4").unwrap_err(), (0, "`\\x4` is not two hex digits".to_owned()));
        assert_eq!(unescape("x\\").unwrap_err(), (1, "a lone `\\` at the end".to_owned()));
    }
}
