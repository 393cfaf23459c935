//! Replies rendered the way `redis-cli` prints them on a terminal
//! (`cliFormatReplyTTY`): `OK`, `"v1"`, `(integer) 1`, `(nil)`, `(error) ...`,
//! and arrays numbered `1)`, `2)` with nested arrays indented under their index.

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
}
