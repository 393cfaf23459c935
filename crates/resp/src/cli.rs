//! Replies rendered the way `redis-cli` prints them on a terminal
//! (`cliFormatReplyTTY`): `OK`, `"v1"`, `(integer) 1`, `(nil)`, `(error) ...`,
//! and arrays numbered `1)`, `2)` with nested arrays indented under their index;
//! and the way it prints them when its stdout is not a terminal (piped to a
//! file, `--raw`: `cliFormatReplyRaw`), [`render_piped`]: bytes as they are,
//! no quotes, no `(integer)`, nested arrays flattened one element a line.

use crate::Value;

/// Renders a reply; lines are joined with `\n`, without a trailing newline.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    format(v, "", &mut out);
    out.truncate(out.trim_end_matches('\n').len());
    out
}

/// A byte string in double quotes with Redis's escapes (`sdscatrepr`).
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn format(v: &Value, prefix: &str, out: &mut String) {
    match v {
        Value::Encoded(e) => format(e.value(), prefix, out),
        Value::Simple(s) => out.push_str(s),
        Value::Error(e) => {
            out.push_str("(error) ");
            out.push_str(e);
        }
        Value::Integer(n) => out.push_str(&format!("(integer) {n}")),
        Value::Double(d) => out.push_str(&format!("(double) {d}")),
        Value::Boolean(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Value::Bulk(b) => out.push_str(&quote(b)),
        // redis-cli prints a verbatim string's text as is.
        Value::Verbatim(t) => out.push_str(&String::from_utf8_lossy(t)),
        Value::Nil | Value::NilArray | Value::Null => out.push_str("(nil)"),
        Value::Array(items) | Value::Push(items) | Value::Set(items) => {
            let (marker, empty) = match v {
                Value::Set(_) => ('~', "(empty set)"),
                Value::Push(_) => (')', "(empty push)"),
                _ => (')', "(empty array)"),
            };
            if items.is_empty() {
                out.push_str(empty);
                out.push('\n');
                return;
            }
            let width = items.len().to_string().len();
            let nested = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                // The parent already wrote our first index line's prefix.
                out.push_str(if i == 0 { "" } else { prefix });
                out.push_str(&format!("{:>width$}{marker} ", i + 1));
                format(item, &nested, out);
            }
            return;
        }
        Value::Map(pairs) => {
            if pairs.is_empty() {
                out.push_str("(empty hash)\n");
                return;
            }
            let width = pairs.len().to_string().len();
            let nested = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, (k, val)) in pairs.iter().enumerate() {
                out.push_str(if i == 0 { "" } else { prefix });
                out.push_str(&format!("{:>width$}# ", i + 1));
                let mut key = String::new();
                format(k, &nested, &mut key);
                out.push_str(key.trim_end_matches('\n'));
                out.push_str(" => ");
                format(val, &nested, out);
            }
            return;
        }
    }
    out.push('\n');
}

/// Renders a reply as redis-cli 7.0 prints it when stdout is not a terminal:
/// strings, statuses and errors as their bytes (an error followed by a
/// newline of its own), integers bare, nil as nothing, every array element
/// on its own line however deep (an empty array is an empty line), a map's
/// key and value on one line separated by a space. Trailing newlines are
/// dropped, as [`render`] drops them.
pub fn render_piped(v: &Value) -> String {
    let mut out = Vec::new();
    format_piped(v, &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.truncate(text.trim_end_matches('\n').len());
    text
}

fn format_piped(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Encoded(e) => format_piped(e.value(), out),
        Value::Nil | Value::NilArray | Value::Null => {}
        Value::Error(e) => {
            out.extend_from_slice(e.as_bytes());
            out.push(b'\n');
        }
        Value::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bulk(b) | Value::Verbatim(b) => out.extend_from_slice(b),
        Value::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Double(d) => out.extend_from_slice(d.as_bytes()),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Value::Array(items) | Value::Push(items) | Value::Set(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_piped(item, out);
            }
        }
        Value::Map(pairs) => {
            for (i, (k, val)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_piped(k, out);
                out.push(b' ');
                format_piped(val, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_render_like_redis_cli() {
        assert_eq!(render(&Value::ok()), "OK");
        assert_eq!(render(&Value::bulk("v1")), "\"v1\"");
        assert_eq!(render(&Value::Integer(1)), "(integer) 1");
        assert_eq!(render(&Value::Nil), "(nil)");
        assert_eq!(render(&Value::error("MOVED 12706 127.0.0.1:6383")), "(error) MOVED 12706 127.0.0.1:6383");
        assert_eq!(render(&Value::bulk(b"a\"b\\\n\x01\xff")), r#""a\"b\\\n\x01\xff""#);
        assert_eq!(render(&Value::Array(vec![])), "(empty array)");
    }

    #[test]
    fn nested_arrays_are_indented_under_their_index() {
        // The shape of CLUSTER SLOTS output.
        let slots = Value::Array(vec![Value::Array(vec![
            Value::Integer(0),
            Value::Integer(5460),
            Value::Array(vec![Value::bulk("127.0.0.1"), Value::Integer(6381), Value::bulk("id")]),
        ])]);
        assert_eq!(
            render(&slots),
            "1) 1) (integer) 0\n   2) (integer) 5460\n   3) 1) \"127.0.0.1\"\n      2) (integer) 6381\n      3) \"id\""
        );
        let ten = Value::Array((1..=10).map(Value::Integer).collect());
        let text = render(&ten);
        assert!(text.starts_with(" 1) (integer) 1\n 2) (integer) 2\n"), "{text}");
        assert!(text.ends_with("\n10) (integer) 10"), "{text}");
    }

    /// Each case is what real redis-cli 7.0.15 wrote to a file (`redis-cli
    /// ... > out`) against redis-server 7.0.15, with the final newline
    /// dropped.
    #[test]
    fn piped_output_is_what_real_redis_cli_writes_to_a_file() {
        assert_eq!(render_piped(&Value::ok()), "OK");
        assert_eq!(render_piped(&Value::bulk("v")), "v");
        assert_eq!(render_piped(&Value::bulk("x\ny")), "x\ny", "bytes as they are, no quotes or escapes");
        assert_eq!(render_piped(&Value::Nil), "", "GET of a missing key prints an empty line");
        assert_eq!(render_piped(&Value::Integer(1)), "1");
        assert_eq!(render_piped(&Value::Array(vec![])), "", "an empty LRANGE prints an empty line");
        assert_eq!(render_piped(&Value::Array(vec![Value::bulk("a"), Value::bulk("b")])), "a\nb");
        let unknown = "ERR unknown command 'foo', with args beginning with: ";
        assert_eq!(render_piped(&Value::error(unknown)), unknown, "no `(error)` prefix");
        // EVAL "return {1,{2,'x'},{},'y'}": flattened, the empty array an empty line.
        let nested = Value::Array(vec![
            Value::Integer(1),
            Value::Array(vec![Value::Integer(2), Value::bulk("x")]),
            Value::Array(vec![]),
            Value::bulk("y"),
        ]);
        assert_eq!(render_piped(&nested), "1\n2\nx\n\ny");
        // EVAL "return {1, redis.error_reply('E1 bad'), 2}": an error brings its own newline.
        let with_error = Value::Array(vec![Value::Integer(1), Value::error("E1 bad"), Value::Integer(2)]);
        assert_eq!(render_piped(&with_error), "1\nE1 bad\n\n2");
        // MULTI; SET a 1; INCR a; LPUSH a x; EXEC.
        let exec = Value::Array(vec![
            Value::ok(),
            Value::Integer(2),
            Value::error("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ]);
        assert_eq!(render_piped(&exec), "OK\n2\nWRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(render_piped(&Value::Simple("QUEUED".into())), "QUEUED");
        // HGETALL over RESP3 (redis-cli -3): key and value on one line.
        assert_eq!(render_piped(&Value::Map(vec![(Value::bulk("f"), Value::bulk("v"))])), "f v");
    }
}
