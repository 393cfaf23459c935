//! A small EDN reader and writer for the subset Jepsen histories use: maps,
//! vectors, lists, sets, keywords, symbols (`nil`, `true`, `false`),
//! integers (with an optional `N`), floats, strings, comments (`;`), discards
//! (`#_`) and tagged values (`#jepsen.history.Op{...}`, read as the value).
//! Errors carry line and column; input never panics the reader, and nesting
//! is bounded.

use std::fmt::Write as _;

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// `:name` (without the colon).
    Keyword(String),
    /// Any other symbol.
    Symbol(String),
    /// `[...]`.
    Vector(Vec<Edn>),
    /// `(...)`.
    List(Vec<Edn>),
    /// `#{...}`, in the order written.
    Set(Vec<Edn>),
    /// `{...}`, in the order written.
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// A keyword.
    pub fn kw(name: &str) -> Edn {
        Edn::Keyword(name.to_owned())
    }

    /// The value of `:key` in a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries.iter().find(|(k, _)| matches!(k, Edn::Keyword(n) if n == key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The items of a vector, list or set.
    pub fn items(&self) -> Option<&[Edn]> {
        match self {
            Edn::Vector(v) | Edn::List(v) | Edn::Set(v) => Some(v),
            _ => None,
        }
    }
}

/// Why EDN text cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct EdnError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// How deep collections may nest.
pub const MAX_DEPTH: usize = 128;

/// A value read, with the line it began on.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// The value.
    pub value: Edn,
    /// 1-based line of its first character.
    pub line: usize,
}

/// Reads every top-level value of `text`.
pub fn read_all(text: &str) -> Result<Vec<Located>, EdnError> {
    let mut r = Reader { chars: text.chars().collect(), at: 0, line: 1, column: 1 };
    let mut out = Vec::new();
    loop {
        r.skip_space()?;
        if r.peek().is_none() {
            return Ok(out);
        }
        let line = r.line;
        if let Some(value) = r.value(0)? {
            out.push(Located { value, line });
        }
    }
}

struct Reader {
    chars: Vec<char>,
    at: usize,
    line: usize,
    column: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError { line: self.line, column: self.column, message: message.into() })
    }

    fn skip_space(&mut self) -> Result<(), EdnError> {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c.is_whitespace() || c == ',' {
                self.bump();
            } else {
                break;
            }
        }
        Ok(())
    }

    /// One value, or `None` for a discarded one (`#_ x`).
    fn value(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        if depth > MAX_DEPTH {
            return self.error(format!("nested more than {MAX_DEPTH} deep"));
        }
        self.skip_space()?;
        let Some(c) = self.peek() else { return self.error("unexpected end of input: a value was expected") };
        let value = match c {
            '[' => Edn::Vector(self.seq(']', depth)?),
            '(' => Edn::List(self.seq(')', depth)?),
            '{' => self.map(depth)?,
            '"' => Edn::Str(self.string()?),
            ':' => {
                self.bump();
                let name = self.token();
                if name.is_empty() {
                    return self.error("a keyword needs a name after `:`");
                }
                Edn::Keyword(name)
            }
            '#' => return self.dispatch(depth),
            ']' | ')' | '}' => return self.error(format!("unexpected `{c}`: nothing is open here")),
            _ => self.atom()?,
        };
        Ok(Some(value))
    }

    fn dispatch(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        self.bump();
        match self.peek() {
            Some('{') => Ok(Some(Edn::Set(self.seq('}', depth)?))),
            Some('_') => {
                self.bump();
                self.required(depth)?;
                Ok(None)
            }
            Some(c) if c.is_alphabetic() => {
                // A tagged value: the tag is dropped, the value kept.
                let _tag = self.token();
                self.required(depth).map(Some)
            }
            _ => self.error("unsupported `#` form: expected `#{`, `#_` or a tag"),
        }
    }

    /// A value that must be there (discards skipped).
    fn required(&mut self, depth: usize) -> Result<Edn, EdnError> {
        loop {
            self.skip_space()?;
            if self.peek().is_none() {
                return self.error("unexpected end of input: a value was expected");
            }
            if let Some(v) = self.value(depth + 1)? {
                return Ok(v);
            }
        }
    }

    fn seq(&mut self, close: char, depth: usize) -> Result<Vec<Edn>, EdnError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_space()?;
            match self.peek() {
                None => {
                    return Err(EdnError {
                        line,
                        column,
                        message: format!("unclosed collection: `{close}` expected before the end of input"),
                    });
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(v) = self.value(depth + 1)? {
                        items.push(v);
                    }
                }
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Edn, EdnError> {
        let (line, column) = (self.line, self.column);
        let items = self.seq('}', depth)?;
        if items.len() % 2 != 0 {
            return Err(EdnError { line, column, message: "a map needs an even number of forms".into() });
        }
        let mut entries = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            entries.push((k, v));
        }
        Ok(Edn::Map(entries))
    }

    fn string(&mut self) -> Result<String, EdnError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(EdnError { line, column, message: "unterminated string".into() });
            };
            match c {
                '"' => return Ok(s),
                '\\' => s.push(self.escape()?),
                c => s.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, EdnError> {
        match self.bump() {
            Some('n') => Ok('\n'),
            Some('t') => Ok('\t'),
            Some('r') => Ok('\r'),
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some('u') => {
                let mut code = 0u32;
                for _ in 0..4 {
                    let Some(d) = self.bump().and_then(|c| c.to_digit(16)) else {
                        return self.error("`\\u` needs four hex digits");
                    };
                    code = code * 16 + d;
                }
                char::from_u32(code).map_or_else(|| self.error("`\\u` names no character"), Ok)
            }
            _ => self.error("unknown escape in a string"),
        }
    }

    /// The characters of a symbol, number or keyword name.
    fn token(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';') {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn atom(&mut self) -> Result<Edn, EdnError> {
        let (line, column) = (self.line, self.column);
        let token = self.token();
        let at = |message: String| Err(EdnError { line, column, message });
        let first = token.chars().next();
        let numeric = first.is_some_and(|c| c.is_ascii_digit())
            || (matches!(first, Some('-' | '+')) && token.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
        if token.is_empty() {
            return at(format!("unexpected `{}`", self.peek().unwrap_or(' ')));
        }
        if !numeric {
            return Ok(match token.as_str() {
                "nil" => Edn::Nil,
                "true" => Edn::Bool(true),
                "false" => Edn::Bool(false),
                _ => Edn::Symbol(token),
            });
        }
        let digits = token.strip_suffix('N').unwrap_or(&token);
        if let Ok(n) = digits.parse::<i64>() {
            return Ok(Edn::Int(n));
        }
        let float = token.ends_with('M') || token.contains(['.', 'e', 'E']);
        match token.strip_suffix('M').unwrap_or(&token).parse::<f64>() {
            Ok(x) if float && x.is_finite() => Ok(Edn::Float(x)),
            _ => at(format!("`{token}` is not a number this reader takes (a 64-bit integer or a float)")),
        }
    }
}

/// Writes a value as EDN text.
pub fn write(value: &Edn, out: &mut String) {
    match value {
        Edn::Nil => out.push_str("nil"),
        Edn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Edn::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Edn::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Edn::Str(s) => write_string(s, out),
        Edn::Keyword(k) => {
            out.push(':');
            out.push_str(k);
        }
        Edn::Symbol(s) => out.push_str(s),
        Edn::Vector(v) => write_seq("[", v, "]", out),
        Edn::List(v) => write_seq("(", v, ")", out),
        Edn::Set(v) => write_seq("#{", v, "}", out),
        Edn::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(k, out);
                out.push(' ');
                write(v, out);
            }
            out.push('}');
        }
    }
}

fn write_seq(open: &str, items: &[Edn], close: &str, out: &mut String) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write(item, out);
    }
    out.push_str(close);
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A value as EDN text.
pub fn to_string(value: &Edn) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}
