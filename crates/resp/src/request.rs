//! Server-side request parsing as Redis 7.0 does it (`networking.c`): a request
//! starting with `*` is multibulk, anything else is an inline command split like
//! `sdssplitargs`. Limits and error texts are Redis's; after a protocol error the
//! server replies `-ERR <text>` and closes the connection.

/// Largest inline request, and largest unterminated count line (`PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE: usize = 64 * 1024;
/// Largest multibulk count Redis accepts (`INT_MAX`).
pub const MAX_MULTIBULK: usize = i32::MAX as usize;
/// Default `proto-max-bulk-len` (512 MB).
pub const PROTO_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Before AUTH, Redis refuses requests with more arguments than this...
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// ... or arguments longer than this.
const UNAUTH_MAX_BULK: i64 = 16384;

/// A protocol error; its text is what follows `ERR ` in the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

impl ProtocolError {
    /// The full error reply text, e.g. `ERR Protocol error: invalid multibulk length`.
    pub fn reply_text(&self) -> String {
        format!("ERR {}", self.0)
    }
}

/// Incremental parser of client requests. Argument buffers are reused between
/// commands, so a steady stream of requests does not allocate.
#[derive(Debug, Default)]
pub struct RequestParser {
    buf: Vec<u8>,
    pos: usize,
    /// Arguments of the command being read or just read.
    args: Vec<Vec<u8>>,
    argc: usize,
    /// Bulk arguments still to read in the current multibulk request.
    pending: Option<usize>,
    /// Where in `buf` the command being read or just read starts.
    start: usize,
    /// That command's bytes are still in `buf` and are exactly what
    /// [`crate::encode_command`] makes of its arguments.
    canonical: bool,
}

impl RequestParser {
    /// Adds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() || self.pos > 16 * 1024 {
            // The bytes before `pos` go, and the last command's start with them.
            self.canonical = false;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 16 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet parsed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Parses the next complete command. `Ok(true)`: [`RequestParser::args`]
    /// holds it. `Ok(false)`: more bytes are needed. Empty requests are skipped.
    pub fn next_command(&mut self, auth_required: bool) -> Result<bool, ProtocolError> {
        if self.pending.is_none() && self.usual_request() {
            return Ok(true);
        }
        self.next_command_general(auth_required)
    }

    /// [`RequestParser::next_command`] for any bytes.
    fn next_command_general(&mut self, auth_required: bool) -> Result<bool, ProtocolError> {
        loop {
            if self.pending.is_none() {
                if self.pos >= self.buf.len() {
                    return Ok(false);
                }
                self.argc = 0;
                self.start = self.pos;
                self.canonical = false;
                let started =
                    if self.buf[self.pos] == b'*' { self.start_multibulk(auth_required)? } else { self.inline()? };
                match started {
                    Step::Incomplete => return Ok(false),
                    Step::Empty => continue,
                    Step::Done => return Ok(true),
                    Step::Continue => {}
                }
            }
            match self.read_bulks(auth_required)? {
                Step::Done => return Ok(true),
                _ => return Ok(false),
            }
        }
    }

    /// The arguments of the last command parsed.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args[..self.argc]
    }

    /// Hands the arguments of the last command parsed over, without copying
    /// them: they become the first slots of `with`, whose own slots the
    /// parser keeps to read later commands into. Gives how many slots are
    /// the arguments; [`RequestParser::args`] is empty until the next command.
    pub fn swap_args(&mut self, with: &mut Vec<Vec<u8>>) -> usize {
        debug_assert!(self.pending.is_none(), "a whole command was parsed");
        std::mem::swap(&mut self.args, with);
        std::mem::take(&mut self.argc)
    }

    /// The name and first argument of each complete request buffered from
    /// the one [`RequestParser::next_command`] parses next on (none while it
    /// is inside a request): see [`crate::Ahead`].
    pub fn ahead(&self) -> crate::Ahead<'_> {
        let rest = if self.pending.is_none() { &self.buf[self.pos..] } else { &[] };
        crate::Ahead::new(rest)
    }

    /// The bytes the last command parsed came in, when they are exactly what
    /// [`crate::encode_command`] makes of [`RequestParser::args`] (a
    /// multibulk request in the canonical form, read without its start
    /// leaving the buffer), so a replica can forward its master's stream
    /// without encoding it again. `None` otherwise.
    pub fn raw_command(&self) -> Option<&[u8]> {
        self.canonical.then(|| &self.buf[self.start..self.pos])
    }

    /// The usual request, whole at `pos`, read in one pass: `*N` (1 to 9)
    /// and N arguments of at most 9,999 bytes, every count without a leading
    /// zero and every line ending in CRLF. The general path makes the same of
    /// those bytes (the same arguments, a canonical command), and no limit
    /// refuses them, even before AUTH. Anything else: false, nothing read.
    fn usual_request(&mut self) -> bool {
        let buf = &self.buf[self.pos..];
        let [b'*', n @ b'1'..=b'9', b'\r', b'\n', ..] = *buf else { return false };
        let n = usize::from(n - b'0');
        let mut spans = [(0, 0); 9];
        let mut at = 4;
        for span in &mut spans[..n] {
            let Some((start, end)) = short_bulk(buf, at) else { return false };
            *span = (start, end);
            at = end + 2;
        }
        if self.args.len() < n {
            self.args.resize_with(n, Vec::new);
        }
        for (slot, &(start, end)) in self.args.iter_mut().zip(&spans[..n]) {
            slot.clear();
            slot.extend_from_slice(&buf[start..end]);
        }
        self.argc = n;
        self.start = self.pos;
        self.pos += at;
        self.canonical = true;
        true
    }

    fn push_arg(&mut self, bytes: &[u8]) {
        if self.argc == self.args.len() {
            self.args.push(Vec::with_capacity(bytes.len()));
        }
        let slot = &mut self.args[self.argc];
        slot.clear();
        slot.extend_from_slice(bytes);
        self.argc += 1;
    }

    fn find_cr(&self) -> Option<usize> {
        self.buf[self.pos..].iter().position(|&b| b == b'\r').map(|i| self.pos + i)
    }

    /// The count line at `pos` (a type byte, then a number): its first CR
    /// and the number ([`parse_ll`] of what lies between, `None` if not
    /// one), or `None` before a CR arrives. The usual line, a few digits
    /// and CR, is read in one pass.
    fn count_line(&self) -> Option<(usize, Option<i64>)> {
        let line = &self.buf[self.pos..];
        if line.first().is_some_and(|&b| b != b'\r') {
            // Up to 18 digits (no overflow) without a leading zero, then CR.
            let mut n = 0i64;
            for (i, &b) in line.iter().enumerate().skip(1).take(19) {
                match b {
                    b'0'..=b'9' if i <= 18 && (i != 2 || line[1] != b'0') => n = n * 10 + i64::from(b - b'0'),
                    b'\r' if i > 1 => return Some((self.pos + i, Some(n))),
                    _ => break,
                }
            }
        }
        let cr = self.find_cr()?;
        Some((cr, (cr > self.pos).then(|| parse_ll(&self.buf[self.pos + 1..cr])).flatten()))
    }

    fn start_multibulk(&mut self, auth_required: bool) -> Result<Step, ProtocolError> {
        let Some((cr, n)) = self.count_line() else {
            if self.buffered() > MAX_INLINE {
                return Err(ProtocolError("Protocol error: too big mbulk count string"));
            }
            return Ok(Step::Incomplete);
        };
        if cr + 1 >= self.buf.len() {
            return Ok(Step::Incomplete);
        }
        let n = match n {
            Some(n) if n <= MAX_MULTIBULK as i64 => n,
            _ => return Err(ProtocolError("Protocol error: invalid multibulk length")),
        };
        if n > UNAUTH_MAX_MULTIBULK && auth_required {
            return Err(ProtocolError("Protocol error: unauthenticated multibulk length"));
        }
        self.pos = cr + 2;
        if n <= 0 {
            return Ok(Step::Empty);
        }
        self.canonical = self.buf[cr + 1] == b'\n';
        self.pending = Some(n as usize);
        Ok(Step::Continue)
    }

    fn read_bulks(&mut self, auth_required: bool) -> Result<Step, ProtocolError> {
        while let Some(left) = self.pending {
            if left == 0 {
                self.pending = None;
                return Ok(Step::Done);
            }
            let Some((cr, len)) = self.count_line() else {
                if self.buffered() > MAX_INLINE {
                    return Err(ProtocolError("Protocol error: too big bulk count string"));
                }
                return Ok(Step::Incomplete);
            };
            if cr + 1 >= self.buf.len() {
                return Ok(Step::Incomplete);
            }
            if self.buf[self.pos] != b'$' {
                return Err(ProtocolError(expected_dollar(self.buf[self.pos])));
            }
            let len = match len {
                Some(n) if n >= 0 && n <= PROTO_MAX_BULK_LEN as i64 => n,
                _ => return Err(ProtocolError("Protocol error: invalid bulk length")),
            };
            if len > UNAUTH_MAX_BULK && auth_required {
                return Err(ProtocolError("Protocol error: unauthenticated bulk length"));
            }
            let start = cr + 2;
            let end = start + len as usize;
            if self.buf.len() < end + 2 {
                return Ok(Step::Incomplete);
            }
            // Straight from the read buffer into the reused argument slot (a
            // new one allocated at its size at once, not grown from empty).
            if self.argc == self.args.len() {
                // Room at once for as many of the arguments still to come as
                // the buffered bytes can hold (each takes at least
                // `$0\r\n\r\n`), not grown by doubling through thousands.
                let fit = (self.buf.len() - self.pos) / 6 + 1;
                self.args.reserve(left.min(fit));
                self.args.push(Vec::with_capacity(len as usize));
            }
            let slot = &mut self.args[self.argc];
            slot.clear();
            slot.extend_from_slice(&self.buf[start..end]);
            // `-0` reads as 0, and any two bytes end the argument, as in Redis.
            self.canonical &=
                self.buf[self.pos + 1] != b'-' && self.buf[cr + 1] == b'\n' && self.buf[end..end + 2] == *b"\r\n";
            self.argc += 1;
            self.pos = end + 2;
            self.pending = Some(left - 1);
        }
        Ok(Step::Incomplete)
    }

    fn inline(&mut self) -> Result<Step, ProtocolError> {
        let Some(nl) = self.buf[self.pos..].iter().position(|&b| b == b'\n').map(|i| self.pos + i) else {
            if self.buffered() > MAX_INLINE {
                return Err(ProtocolError("Protocol error: too big inline request"));
            }
            return Ok(Step::Incomplete);
        };
        let mut line_end = nl;
        if line_end > self.pos && self.buf[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = self.buf[self.pos..line_end].to_vec();
        self.pos = nl + 1;
        let args = split_args(&line).ok_or(ProtocolError("Protocol error: unbalanced quotes in request"))?;
        if args.is_empty() {
            return Ok(Step::Empty);
        }
        for a in &args {
            self.push_arg(a);
        }
        Ok(Step::Done)
    }
}

/// A bulk string at `at` in `buf` with a count of 1 to 4 digits (no leading
/// zero), CRLF after the count and after the bytes, all there: where its
/// bytes start and end.
fn short_bulk(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let line = buf.get(at..)?;
    let [b'$', first @ b'0'..=b'9', rest @ ..] = line else { return None };
    let mut len = usize::from(first - b'0');
    let mut rest = rest;
    loop {
        match rest {
            [b'\r', b'\n', ..] => break,
            [d @ b'0'..=b'9', after @ ..] if len != 0 && len < 1000 => {
                len = len * 10 + usize::from(d - b'0');
                rest = after;
            }
            _ => return None,
        }
    }
    let start = buf.len() - rest.len() + 2;
    let end = start + len;
    (buf.get(end..end + 2)? == b"\r\n").then_some((start, end))
}

enum Step {
    Incomplete,
    Empty,
    Continue,
    Done,
}

fn expected_dollar(got: u8) -> &'static str {
    // The text embeds the offending byte; keep the common ones static.
    match got {
        b'*' => "Protocol error: expected '$', got '*'",
        b':' => "Protocol error: expected '$', got ':'",
        b'+' => "Protocol error: expected '$', got '+'",
        b'-' => "Protocol error: expected '$', got '-'",
        b'\r' => "Protocol error: expected '$', got '\r'",
        _ => "Protocol error: expected '$', got something else",
    }
}

/// Redis's `string2ll`: optional `-`, digits, no leading zeros or spaces.
pub fn parse_ll(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    // string2ll: a lone "0" is zero; otherwise the first digit is 1-9, so
    // "-0" and "007" are not integers (7.0.15: `INCRBY k -0` is refused).
    if digits.is_empty() || (digits[0] == b'0' && (negative || digits.len() > 1)) {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // Down to i64::MIN, whose magnitude has no positive i64.
        (n <= i64::MIN.unsigned_abs()).then(|| 0i64.wrapping_sub_unsigned(n))
    } else {
        i64::try_from(n).ok()
    }
}

/// Splits an inline request like `sdssplitargs`: whitespace separates words;
/// "double quotes" take `\n \r \t \b \a \\ \" \xHH` escapes; 'single quotes'
/// take `\'`. A closing quote must be followed by a space or the end. `None`
/// means unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        // A NUL outside quotes ends the line, as it ends sdssplitargs' C
        // string; without this it ended the token and was never consumed.
        if i == line.len() || line[i] == 0 {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && hex(line.get(i + 2)).zip(hex(line.get(i + 3))).is_some() =>
                    {
                        let (hi, lo) = hex(line.get(i + 2)).zip(hex(line.get(i + 3))).expect("checked");
                        current.push(hi * 16 + lo);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        current.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        in_double = false;
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        in_single = false;
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => current.push(other),
                }
            }
            i += 1;
        }
        let _ = (in_double, in_single);
        args.push(current);
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_outside_quotes_ends_the_line() {
        let v = |a: &[&str]| Some(a.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(split_args(b"port 6379 \0"), v(&["port", "6379"]));
        assert_eq!(split_args(b"port\x006379"), v(&["port"]));
        assert_eq!(split_args(b"\"a\0b\" c"), v(&["a\0b", "c"]), "inside quotes it is a byte like any other");
    }

    fn parse_all(input: &[u8], auth: bool) -> Result<Vec<Vec<String>>, ProtocolError> {
        let mut p = RequestParser::default();
        p.feed(input);
        let mut out = Vec::new();
        while p.next_command(auth)? {
            out.push(p.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect());
        }
        Ok(out)
    }

    /// Arguments handed over with `swap_args` are the command's, in the
    /// caller's vector's first slots whatever it held before; the parser
    /// then reads later commands (a long one, a short one, one fed in two
    /// parts) into the slots it was given, as if nothing had been swapped.
    #[test]
    fn swapped_arguments_are_the_commands_and_the_parser_reads_on() {
        let mut input = resp_command(&["SET", "k", "v"]);
        let long: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        let mut addslots = vec!["CLUSTER", "ADDSLOTS"];
        addslots.extend(long.iter().map(String::as_str));
        input.extend(resp_command(&addslots));
        input.extend(resp_command(&["GET", "k"]));
        input.extend(resp_command(&["PING"]));
        let want = parse_all(&input, false).expect("well-formed");
        let (head, tail) = input.split_at(input.len() - 5);
        let mut p = RequestParser::default();
        p.feed(head);
        let mut mine: Vec<Vec<u8>> = vec![b"left over".to_vec(); 7];
        let mut got = Vec::new();
        for fed_tail in [false, true] {
            while p.next_command(false).expect("well-formed") {
                let n = p.swap_args(&mut mine);
                assert!(p.args().is_empty(), "handed over");
                got.push(mine[..n].iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>());
            }
            if !fed_tail {
                p.feed(tail);
            }
        }
        assert_eq!(got, want);
    }

    fn resp_command(args: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::encode_command(args, &mut out);
        out
    }

    /// Everything a parse leaves that anyone can see.
    fn state(p: &RequestParser) -> (Vec<Vec<u8>>, Option<Vec<u8>>, usize) {
        (p.args().to_vec(), p.raw_command().map(<[u8]>::to_vec), p.buffered())
    }

    /// The one-pass reading of the usual request agrees with the general
    /// path on pipelines with random damage (a byte changed, dropped, or the
    /// end cut off, one added), before and after AUTH, fed whole or in two parts.
    #[test]
    fn the_usual_request_is_read_as_the_general_path_reads_it() {
        let mut rng = crate::test_rng::Xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut next = |bound: u64| rng.below(bound);
        let alphabet = b"*$01239\r\n-x";
        let mut parsed = 0;
        for _ in 0..10_000 {
            let mut bytes = Vec::new();
            for _ in 0..1 + next(4) {
                let lens = [0, 1, 2, 3, 5, 9, 10, 12, 16, 99, 100, 999, 1000, 9999, 10_000, 16_385];
                let args: Vec<Vec<u8>> = (0..next(12)).map(|_| vec![b'v'; lens[next(16)]]).collect();
                crate::encode_command(&args, &mut bytes);
            }
            for _ in 0..next(3) {
                // Often among the first counts, where long arguments leave few bytes.
                let span = if next(2) == 0 { bytes.len().min(48) } else { bytes.len() };
                let at = next(span as u64 + 1).min(bytes.len().saturating_sub(1));
                match next(4) {
                    _ if bytes.is_empty() => {}
                    0 => bytes[at] = alphabet[next(alphabet.len() as u64)],
                    1 => bytes.insert(at, alphabet[next(alphabet.len() as u64)]),
                    2 => drop(bytes.remove(at)),
                    _ => bytes.truncate(at),
                }
            }
            let auth = next(2) == 0;
            let cut = next(bytes.len() as u64 + 1);
            let (mut fast, mut general) = (RequestParser::default(), RequestParser::default());
            for part in [&bytes[..cut], &bytes[cut..]] {
                fast.feed(part);
                general.feed(part);
                loop {
                    let got = fast.next_command(auth);
                    assert_eq!(got, general.next_command_general(auth), "{bytes:?}");
                    assert_eq!(state(&fast), state(&general), "{bytes:?}");
                    if got != Ok(true) {
                        break;
                    }
                    parsed += 1;
                }
            }
        }
        assert!(parsed > 10_000, "most requests are read: {parsed}");
    }

    #[test]
    fn multibulk_and_inline_requests() {
        assert_eq!(
            parse_all(b"*2\r\n$3\r\nGET\r\n$2\r\nk1\r\nPING\r\n\r\n", false).unwrap(),
            vec![vec!["GET", "k1"], vec!["PING"]]
        );
        assert_eq!(
            parse_all(b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n", false).unwrap(),
            vec![vec!["set", "a b", "c'd", "A\n"]]
        );
        assert_eq!(parse_all(b"*0\r\n*-1\r\nPING\n", false).unwrap(), vec![vec!["PING"]]);
    }

    #[test]
    fn split_across_reads_in_every_place() {
        let input = b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n";
        for cut in 0..input.len() {
            let mut p = RequestParser::default();
            p.feed(&input[..cut]);
            assert!(!p.next_command(false).unwrap(), "complete after {cut} bytes");
            p.feed(&input[cut..]);
            assert!(p.next_command(false).unwrap());
            assert_eq!(p.args(), [b"SET".to_vec(), b"k1".to_vec(), b"v1".to_vec()]);
        }
    }

    #[test]
    fn protocol_errors_use_redis_text() {
        let err = |input: &[u8], auth| parse_all(input, auth).unwrap_err().reply_text();
        assert_eq!(err(b"*abc\r\n", false), "ERR Protocol error: invalid multibulk length");
        assert_eq!(err(b"SET \"a b\r\n", false), "ERR Protocol error: unbalanced quotes in request");
        assert_eq!(err(b"SET \"a\"b\r\n", false), "ERR Protocol error: unbalanced quotes in request");
        assert_eq!(err(b"*1\r\n+x\r\n", false), "ERR Protocol error: expected '$', got '+'");
        assert_eq!(err(b"*1\r\n$-5\r\n", false), "ERR Protocol error: invalid bulk length");
        // string2ll refuses "-0" (measured on 7.0.15)
        assert_eq!(err(b"*-0\r\n", false), "ERR Protocol error: invalid multibulk length");
        assert_eq!(err(b"*1\r\n$-0\r\n", false), "ERR Protocol error: invalid bulk length");
        assert_eq!(err(b"*1\r\n$600000000\r\n", false), "ERR Protocol error: invalid bulk length");
        assert_eq!(err(b"*11\r\n", true), "ERR Protocol error: unauthenticated multibulk length");
        assert_eq!(err(b"*1\r\n$16385\r\n", true), "ERR Protocol error: unauthenticated bulk length");
        assert_eq!(err(&vec![b'a'; MAX_INLINE + 1], false), "ERR Protocol error: too big inline request");
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; MAX_INLINE + 1]);
        assert_eq!(err(&big, false), "ERR Protocol error: too big mbulk count string");
    }

    #[test]
    fn parse_ll_agrees_with_the_string_parser_it_replaced() {
        // The former implementation (UTF-8, optional '-', digits without a
        // leading zero, str::parse), with string2ll's refusal of "-0".
        fn reference(bytes: &[u8]) -> Option<i64> {
            let s = std::str::from_utf8(bytes).ok()?;
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || (digits.len() > 1 && digits.starts_with('0'))
                || s == "-0"
            {
                return None;
            }
            s.parse().ok()
        }
        let fixed: [&[u8]; 16] = [
            b"0",
            b"-0",
            b"007",
            b"-",
            b"",
            b"+1",
            b" 1",
            b"1a",
            b"--1",
            b"9223372036854775807",
            b"9223372036854775808",
            b"-9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"\xff1",
            b"18446744073709551616",
        ];
        for input in fixed {
            assert_eq!(parse_ll(input), reference(input), "{:?}", String::from_utf8_lossy(input));
        }
        // measured on 7.0.15: `*-0` is an invalid multibulk length, `INCRBY k -0` not an integer
        assert_eq!(parse_ll(b"-0"), None);
        assert_eq!(parse_ll(b"0"), Some(0));
        let mut rng = sim::Rng::stream(5, "parse-ll");
        let alphabet = b"-0123456789+ a";
        for _ in 0..50_000 {
            let len = rng.below(22) as usize;
            let input: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            assert_eq!(parse_ll(&input), reference(&input), "{:?}", String::from_utf8_lossy(&input));
        }
    }

    /// Requests in every form Redis reads, split at random: whenever the
    /// parser offers a command's raw bytes they are its canonical encoding,
    /// and a canonical request read in one piece always offers them.
    #[test]
    fn raw_commands_are_the_canonical_encoding() {
        let canonical: &[u8] = b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$0\r\n\r\n";
        let mut p = RequestParser::default();
        p.feed(canonical);
        assert!(p.next_command(false).unwrap());
        assert_eq!(p.raw_command(), Some(canonical));
        let forms: [&[u8]; 8] = [
            b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
            b"*1\r\n$4\r\nPING\r\n",
            b"PING\r\n",
            b"ECHO x\n",
            b"*1\r\n$4\r\nPINGxy",
            b"*1\r\n$4\rxPING\r\n",
            b"*1\rx$4\r\nPING\r\n",
            b"*0\r\n*-1\r\n",
        ];
        for (i, form) in forms.iter().enumerate() {
            let mut p = RequestParser::default();
            p.feed(form);
            let read = p.next_command(false).unwrap();
            assert_eq!(p.raw_command().is_some(), i < 2, "form {i}");
            assert_eq!(read, i < 7, "form {i}");
        }
        let mut rng = sim::Rng::stream(9, "raw-command");
        for _ in 0..2_000 {
            let mut input = Vec::new();
            for _ in 0..1 + rng.below(6) {
                input.extend_from_slice(forms[rng.below(forms.len() as u64) as usize]);
            }
            let mut p = RequestParser::default();
            let (mut offered, mut commands) = (0, 0);
            for chunk in input.chunks(1 + rng.below(30) as usize) {
                p.feed(chunk);
                while p.next_command(false).unwrap() {
                    commands += 1;
                    if let Some(raw) = p.raw_command() {
                        let mut encoded = Vec::new();
                        crate::encode_command(p.args(), &mut encoded);
                        assert_eq!(raw, encoded.as_slice());
                        offered += 1;
                    }
                }
            }
            assert!(offered <= commands);
        }
    }

    /// The one-pass count line reads what finding the CR and parsing what
    /// precedes it read: type bytes, signs, leading zeros, runs of digits
    /// past what fits, stray bytes, lines cut short.
    #[test]
    fn count_lines_read_as_find_cr_then_parse_ll() {
        let mut rng = sim::Rng::stream(11, "count-line");
        let pick = |rng: &mut sim::Rng, from: &[u8]| from[rng.below(from.len() as u64) as usize];
        for _ in 0..50_000 {
            let mut line = vec![pick(&mut rng, b"$*\r-")];
            if rng.chance(0.3) {
                line.push(pick(&mut rng, b"-0\r+"));
            }
            for _ in 0..rng.below(23) {
                line.push(pick(&mut rng, b"0123456789"));
            }
            for _ in 0..rng.below(3) {
                line.push(pick(&mut rng, b"\r\n x9"));
            }
            let p = RequestParser { buf: line.clone(), ..RequestParser::default() };
            let expected = p.find_cr().map(|cr| (cr, (cr > 0).then(|| parse_ll(&line[1..cr])).flatten()));
            assert_eq!(p.count_line(), expected, "{:?}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = sim::Rng::stream(3, "resp-fuzz");
        let alphabet = b"*$\r\n0123456789-+:\"' \\xabcSETGET";
        for _ in 0..20_000 {
            let len = rng.below(40) as usize;
            let input: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            let mut p = RequestParser::default();
            for chunk in input.chunks(1 + rng.below(5) as usize) {
                p.feed(chunk);
                while let Ok(true) = p.next_command(rng.chance(0.5)) {}
            }
            let mut d = crate::ReplyDecoder::default();
            d.feed(&input);
            let _ = d.next_value();
        }
    }
}
