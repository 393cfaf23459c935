//! [`Ahead`]: a look at the requests a parser holds beyond the one it is
//! about to parse, so that a server can start loading what a pipeline's
//! commands will touch before it runs the first of them.
//!
//! It only reads: it never moves the parser, allocates or fails. A request it
//! cannot read at a glance (inline, incomplete, malformed, or with fewer than
//! two arguments) ends the look; the parser proper will judge it.

/// The command name and first argument of each complete multibulk request,
/// in order, from a [`crate::RequestParser`]'s unparsed bytes.
#[derive(Clone, Debug)]
pub struct Ahead<'a> {
    rest: &'a [u8],
}

/// Requests with more arguments than this end the look after they are
/// given: skipping a long MSET to reach the next request costs more than the
/// look can save.
const MAX_SKIPPED_ARGS: usize = 64;

impl<'a> Ahead<'a> {
    pub(crate) fn new(rest: &'a [u8]) -> Ahead<'a> {
        Ahead { rest }
    }
}

impl<'a> Iterator for Ahead<'a> {
    /// (command name, first argument), as sent.
    type Item = Request<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some((item, rest)) = request(self.rest) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        Some(item)
    }
}

/// A request's name and first argument.
type Request<'a> = (&'a [u8], &'a [u8]);

/// The first request of `bytes`: its name and first argument, and the bytes
/// after it (none when it has too many arguments to skip).
fn request(bytes: &[u8]) -> Option<(Request<'_>, &[u8])> {
    let (argc, rest) = count(bytes, b'*')?;
    if argc < 2 {
        return None;
    }
    let (name, rest) = bulk(rest)?;
    let (first, mut rest) = bulk(rest)?;
    if argc - 2 > MAX_SKIPPED_ARGS {
        return Some(((name, first), &[]));
    }
    for _ in 2..argc {
        rest = bulk(rest)?.1;
    }
    Some(((name, first), rest))
}

/// A bulk string at the start of `bytes`, and the bytes after it.
fn bulk(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = count(bytes, b'$')?;
    let (data, rest) = rest.split_at_checked(len)?;
    Some((data, rest.strip_prefix(b"\r\n")?))
}

/// A count line (`kind`, up to 9 digits without a leading zero, CRLF) at
/// the start of `bytes`, and the bytes after it.
fn count(bytes: &[u8], kind: u8) -> Option<(usize, &[u8])> {
    let [k, first @ b'0'..=b'9', rest @ ..] = bytes else { return None };
    if *k != kind {
        return None;
    }
    let mut n = usize::from(first - b'0');
    let mut rest = rest;
    loop {
        match rest {
            [b'\r', b'\n', after @ ..] => return Some((n, after)),
            [d @ b'0'..=b'9', after @ ..] if n != 0 && n < 100_000_000 => {
                n = n * 10 + usize::from(d - b'0');
                rest = after;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{RequestParser, encode_command};

    fn looked(parser: &RequestParser) -> Vec<(Vec<u8>, Vec<u8>)> {
        parser.ahead().map(|(n, k)| (n.to_vec(), k.to_vec())).collect()
    }

    fn pair(name: &str, key: &str) -> (Vec<u8>, Vec<u8>) {
        (name.as_bytes().to_vec(), key.as_bytes().to_vec())
    }

    /// A pipeline seen ahead gives each request's name and key, from the one
    /// the parser parses next; what it has parsed is no longer ahead.
    #[test]
    fn gives_each_requests_name_and_first_argument() {
        let mut bytes = Vec::new();
        encode_command(&[b"SET".as_slice(), b"key:1", b"v"], &mut bytes);
        encode_command(&[b"INCR".as_slice(), b"counter:2"], &mut bytes);
        encode_command(&[b"MSET".as_slice(), b"a", b"1", b"b", b"2"], &mut bytes);
        let mut parser = RequestParser::default();
        parser.feed(&bytes);
        let all = vec![pair("SET", "key:1"), pair("INCR", "counter:2"), pair("MSET", "a")];
        assert_eq!(looked(&parser), all);
        assert!(parser.next_command(false).unwrap());
        assert_eq!(looked(&parser), all[1..]);
        while parser.next_command(false).unwrap() {}
        assert!(looked(&parser).is_empty());
    }

    /// The look stops at what it cannot read at a glance, and gives nothing
    /// while a request is only partly read (the parser is inside it).
    #[test]
    fn stops_at_what_it_cannot_read() {
        let mut set = Vec::new();
        encode_command(&[b"SET".as_slice(), b"k", b"v"], &mut set);
        for tail in [
            &b"PING\r\n"[..],
            b"*1\r\n$4\r\nPING\r\n",
            b"*2\r\n$3\r\nGET\r\n$5\r\nab",
            b"*2\r\n$x\r\n",
            b"*2\r\n$3\r\nGETxx",
        ] {
            let mut parser = RequestParser::default();
            parser.feed(&[set.as_slice(), tail, &set].concat());
            assert_eq!(looked(&parser), vec![pair("SET", "k")], "{:?}", String::from_utf8_lossy(tail));
        }
        let mut parser = RequestParser::default();
        parser.feed(&set[..set.len() - 3]);
        assert!(!parser.next_command(false).unwrap());
        parser.feed(&set[set.len() - 3..]);
        parser.feed(&set);
        assert!(looked(&parser).is_empty(), "the parser is inside a request");
        assert!(parser.next_command(false).unwrap());
        assert_eq!(looked(&parser), vec![pair("SET", "k")]);
    }

    /// A request with many arguments is given, and ends the look.
    #[test]
    fn a_long_request_ends_the_look() {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in 0..50 {
            args.extend([format!("k{i}").into_bytes(), b"v".to_vec()]);
        }
        let mut bytes = Vec::new();
        encode_command(&args, &mut bytes);
        encode_command(&[b"GET".as_slice(), b"k"], &mut bytes);
        let mut parser = RequestParser::default();
        parser.feed(&bytes);
        assert_eq!(looked(&parser), vec![pair("MSET", "k0")]);
    }

    /// Pipelines with random damage (a byte changed, dropped or cut off):
    /// the look never panics, and what it gives is what the parser then
    /// parses, in order.
    #[test]
    fn agrees_with_the_parser_on_damaged_pipelines() {
        let mut rng = crate::test_rng::Xorshift(0x2545_f491_4f6c_dd1du64);
        let mut next = |bound: u64| rng.below(bound);
        let alphabet = b"*$0123\r\n-xk";
        let mut given = 0;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            for _ in 0..1 + next(4) {
                let args: Vec<Vec<u8>> = (0..next(4)).map(|i| vec![b'a' + i as u8; next(12)]).collect();
                encode_command(&args, &mut bytes);
            }
            for _ in 0..next(3) {
                if bytes.is_empty() {
                    break;
                }
                let at = next(bytes.len() as u64);
                match next(3) {
                    0 => bytes[at] = alphabet[next(alphabet.len() as u64)],
                    1 => drop(bytes.remove(at)),
                    _ => bytes.truncate(at),
                }
            }
            let mut parser = RequestParser::default();
            parser.feed(&bytes);
            for (name, key) in looked(&parser) {
                given += 1;
                assert_eq!(parser.next_command(false), Ok(true), "{bytes:?}");
                assert_eq!(parser.args()[..2], [name, key], "{bytes:?}");
            }
        }
        assert!(given > 5_000, "many requests are given: {given}");
    }
}
