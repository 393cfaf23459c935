//! A spanned YAML tree and a strict reader API on top of it.
//!
//! Scenario files are parsed in two stages. First [`parse`] turns the text into
//! a generic [`Node`] tree where every value remembers its [`Span`]; then each
//! part of the program (and each node-kind plugin) reads the bits it owns using
//! the accessors on [`Node`] and [`MapReader`]. Keeping the tree generic lets
//! plugins define their own syntax, and keeping spans on every node lets any
//! of them report an error that points at the exact line and column.
//!
//! The reader is deliberately strict: wrong types, missing keys and unknown
//! keys are all errors, with a "did you mean" when a key looks like a typo.
//! Silently ignoring a misspelt `sleeep:` would make a scenario test nothing.
//!
//! YAML scalars are typed YAML-1.1 style by the parser (`yes` is a boolean,
//! `6379` an integer, `007` a number). Users write things like `kill: 6381` or
//! `config: appendonly yes` and mean text, so every scalar also keeps the text
//! exactly as written; [`Node::str`] and [`Node::as_text`] return that.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

use crate::diag::{Diagnostic, Diagnostics};

/// A region of the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters (not bytes).
    pub column: u32,
    /// Byte offset of the start into the source.
    pub offset: usize,
    /// Length in bytes; may be 0 (e.g. an empty value).
    pub len: usize,
}

/// A YAML value together with where it was written.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the value is in the source. For aliases (`*name`) this is the
    /// alias, since that is where the user used it.
    pub span: Span,
    /// The typed value.
    pub value: Value,
    /// For booleans and numbers: the text exactly as written (`yes`, `007`,
    /// `0x1F`), because the typed value loses it. `None` for everything else.
    pub raw: Option<String>,
}

/// The typed content of a [`Node`].
#[derive(Clone, Debug)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true`/`false`, and the YAML 1.1 forms (`yes`, `no`, `on`, `off`).
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number, including integers too large for `i64` (their exact
    /// text is kept in [`Node::raw`]) and `.inf`/`.nan`.
    Float(f64),
    /// A string scalar (quoted or plain).
    Str(String),
    /// A sequence, `[a, b]` or `- a` lines.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key text.
    pub key: String,
    /// Where the key is; unknown-key errors point here.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

/// A parsed scenario file: the tree plus what is needed to render errors.
#[derive(Clone, Debug)]
pub struct Document {
    /// The path as the user gave it, used in error headers.
    pub file: String,
    /// The whole source text.
    pub source: String,
    /// The top-level value; [`Value::Null`] for an empty file.
    pub root: Node,
}

impl Document {
    /// Renders a diagnostic about this document.
    pub fn render(&self, diag: &Diagnostic) -> String {
        diag.render(&self.file, &self.source)
    }
}

/// Parses YAML source into a spanned tree.
///
/// Never panics: syntax errors, duplicate keys and inputs that blow the
/// parser's resource budget (e.g. nesting deeper than 32 levels) all come back
/// as a diagnostic pointing into `source`.
pub fn parse(file: &str, source: &str) -> Result<Document, Diagnostics> {
    let options = serde_saphyr::options! {
        // Bound nesting so hostile input cannot overflow the stack.
        budget: serde_saphyr::budget! { max_depth: MAX_DEPTH },
        // `.inf`/`.nan` are legal YAML; keep them as numbers and let the
        // accessors decide whether they make sense.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        // We render our own snippets.
        with_snippet: false,
    };
    match serde_saphyr::from_str_with_options::<Spanned<Tree>>(source, options) {
        Ok(tree) => Ok(Document { file: file.to_string(), source: source.to_string(), root: convert(tree, source) }),
        Err(err) => Err(error_to_diagnostic(&err, source).into()),
    }
}

/// Deepest nesting of lists/mappings accepted. Scenario files need a handful
/// of levels; the cap exists because deserialization recurses once per level
/// and unoptimised builds spend ~40 KiB of stack per level, so 32 levels stay
/// well inside a 2 MiB thread stack (the default for spawned and test threads).
const MAX_DEPTH: usize = 32;

// ---------------------------------------------------------------------------
// Parsing: serde-saphyr -> raw tree -> our Node.

/// What serde-saphyr hands us. Kept separate from [`Value`] because it holds
/// serde-saphyr's span type and the `u64` case, and converting afterwards lets
/// us attach byte spans and raw text with access to the source.
enum Tree {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Tree>>),
    Map(Vec<(Spanned<String>, Spanned<Tree>)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::UInt(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Tree, E> {
        Ok(Tree::Float(v as f64))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Tree, E> {
        Ok(Tree::Float(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = a.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

fn convert(tree: Spanned<Tree>, source: &str) -> Node {
    let span = span_from_location(&tree.referenced, source);
    let value = match tree.value {
        Tree::Null => Value::Null,
        Tree::Str(s) => Value::Str(s),
        Tree::Bool(b) => Value::Bool(b),
        Tree::Int(i) => Value::Int(i),
        // Too big for Int; the exact digits survive in `raw`, which is what
        // `Node::u64` reads, so e.g. a full-range u64 seed still works.
        Tree::UInt(u) => i64::try_from(u).map_or(Value::Float(u as f64), Value::Int),
        Tree::Float(f) => Value::Float(f),
        Tree::Seq(items) => Value::Seq(items.into_iter().map(|t| convert(t, source)).collect()),
        Tree::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key_span: span_from_location(&k.referenced, source),
                    key: k.value,
                    value: convert(v, source),
                })
                .collect(),
        ),
    };
    let raw = match value {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => Some(
            // For an alias the referenced span covers `*name`; the text we
            // want is at the anchor's definition.
            raw_text(&tree.defined, source)
                .or_else(|| raw_text(&tree.referenced, source))
                .unwrap_or_else(|| display_scalar(&value)),
        ),
        _ => None,
    };
    Node { span, value, raw }
}

/// The source text under a scalar's location, if it looks like a real scalar.
fn raw_text(loc: &Location, source: &str) -> Option<String> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let text = source.get(start..start.checked_add(len)?)?;
    (!text.is_empty() && !text.starts_with('*')).then(|| text.to_string())
}

fn display_scalar(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        _ => String::new(),
    }
}

/// Converts serde-saphyr's location into our span. Its offsets are in chars
/// with byte offsets only sometimes present (scanner errors lack them), so
/// fall back to counting chars in the source; clamp everything so a bad
/// location can never make slicing or rendering panic.
fn span_from_location(loc: &Location, source: &str) -> Span {
    if loc.line() == 0 {
        return Span { line: 1, column: 1, offset: 0, len: 1 };
    }
    let line = u32::try_from(loc.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(loc.column()).unwrap_or(u32::MAX).max(1);
    let s = loc.span();
    let (offset, len) = match (s.byte_offset(), s.byte_len()) {
        (Some(off), Some(len)) => (off as usize, len as usize),
        _ => {
            let start = char_to_byte(source, s.offset() as usize);
            let end = char_to_byte(source, (s.offset() as usize).saturating_add(s.len() as usize));
            (start, end - start)
        }
    };
    let offset = offset.min(source.len());
    let len = len.min(source.len() - offset);
    Span { line, column, offset, len }
}

fn char_to_byte(source: &str, chars: usize) -> usize {
    source.char_indices().nth(chars).map_or(source.len(), |(i, _)| i)
}

/// Turns a serde-saphyr error into a diagnostic. Its own rendering adds
/// "at line X, column Y" and a snippet; we only want the core message since
/// our renderer supplies the location and the snippet.
fn error_to_diagnostic(err: &serde_saphyr::Error, source: &str) -> Diagnostic {
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let (message, hint): (Cow<'_, str>, Option<&str>) = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("duplicate key `{k}`").into(),
                None => "duplicate key".into(),
            },
            Some("each key may appear only once in a mapping"),
        ),
        serde_saphyr::Error::Budget { breach: BudgetBreach::Depth { .. }, .. } => {
            (format!("nesting is too deep (more than {MAX_DEPTH} levels)").into(), None)
        }
        // The user-facing formatter drops developer advice such as "set
        // DuplicateKeyPolicy in Options", which means nothing to our users.
        other => (UserMessageFormatter.format_message(other), None),
    };
    // `format_message` output is not sanitised; `Diagnostic::render` escapes
    // control characters, which covers user text quoted in the message.
    let message = message.into_owned();
    let span = match err.location() {
        Some(loc) => span_from_location(&loc, source),
        None => Span { line: 1, column: 1, offset: 0, len: 1 },
    };
    let d = Diagnostic::new(span, message);
    match hint {
        Some(h) => d.with_hint(h),
        None => d,
    }
}

// ---------------------------------------------------------------------------
// Accessors.

impl Node {
    /// The kind of value, as a word for messages: "null", "boolean",
    /// "integer", "number", "string", "list" or "mapping".
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The kind with an article, for "found ..." in messages. Null is called
    /// "an empty value" because users mostly meet it as `key:` with nothing
    /// after it.
    fn kind_phrase(&self) -> &'static str {
        match self.value {
            Value::Null => "an empty value",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// True for `~`, `null` and empty values.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A scalar as text: the string itself, or for booleans and numbers the
    /// exact text as written (`yes`, `007`, `6381`). `None` for null, lists
    /// and mappings.
    pub fn as_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                Some(self.raw.clone().unwrap_or_else(|| display_scalar(&self.value)))
            }
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    fn type_error(&self, expected: &str, what: &str) -> Diagnostic {
        Diagnostic::new(self.span, format!("expected {expected} for {what}, found {}", self.kind_phrase()))
    }

    /// Any scalar as text (see [`Node::as_text`]).
    pub fn str(&self, what: &str) -> Result<String, Diagnostic> {
        self.as_text().ok_or_else(|| self.type_error("a string", what))
    }

    /// A non-negative integer. Accepts any integer YAML spelling the parser
    /// does (`1_000`, `0x1F`) and the full `u64` range.
    pub fn u64(&self, what: &str) -> Result<u64, Diagnostic> {
        const EXPECTED: &str = "a non-negative integer";
        match &self.value {
            Value::Int(i) => u64::try_from(*i).map_err(|_| self.value_error(EXPECTED, what)),
            // Integers beyond i64 and zero-padded ones like `007` arrive as
            // floats; their written digits are still an exact integer.
            Value::Float(_) => self
                .raw
                .as_deref()
                .and_then(|raw| {
                    let digits = raw.strip_prefix('+').unwrap_or(raw).replace('_', "");
                    digits.parse::<u64>().ok()
                })
                .ok_or_else(|| self.value_error(EXPECTED, what)),
            _ => Err(self.type_error(EXPECTED, what)),
        }
    }

    /// "expected X for W, found `text`" — for scalars of the right kind but
    /// the wrong value, quoting what was written is clearer than its kind.
    fn value_error(&self, expected: &str, what: &str) -> Diagnostic {
        let text = self.as_text().unwrap_or_default();
        Diagnostic::new(self.span, format!("expected {expected} for {what}, found `{text}`"))
    }

    /// A finite number; integers are accepted.
    pub fn f64(&self, what: &str) -> Result<f64, Diagnostic> {
        match self.value {
            Value::Int(i) => Ok(i as f64),
            Value::Float(f) if f.is_finite() => Ok(f),
            Value::Float(_) => Err(self.value_error("a finite number", what)),
            _ => Err(self.type_error("a number", what)),
        }
    }

    /// A boolean: `true`/`false`, or `yes`/`no` (also `on`/`off`, which YAML
    /// 1.1 treats the same). Quoted strings are not booleans.
    pub fn bool(&self, what: &str) -> Result<bool, Diagnostic> {
        match self.value {
            Value::Bool(b) => Ok(b),
            // A quoted "yes" is a string; say so, since it looks like a boolean.
            Value::Str(_) => {
                Err(self.type_error("true or false", what).with_hint("write true, false, yes or no without quotes"))
            }
            _ => Err(self.type_error("true or false", what)),
        }
    }

    /// A duration such as `500ms`, `1.5s` or `1m30s` (see [`parse_duration`]).
    pub fn duration(&self, what: &str) -> Result<Duration, Diagnostic> {
        let text = self.as_text().ok_or_else(|| self.type_error("a duration", what))?;
        parse_duration(&text)
            .map_err(|hint| Diagnostic::new(self.span, format!("invalid duration `{text}` for {what}")).with_hint(hint))
    }

    /// A list. An empty value (`steps:` with nothing after it) is an empty
    /// list, so optional lists need no special casing.
    pub fn seq(&self, what: &str) -> Result<&[Node], Diagnostic> {
        match &self.value {
            Value::Seq(items) => Ok(items),
            Value::Null => Ok(&[]),
            _ => Err(self.type_error("a list", what)),
        }
    }

    /// A mapping, opened for strict reading. An empty value counts as an empty
    /// mapping, so `required` then reports the missing key rather than a type.
    pub fn map(&self, what: &str) -> Result<MapReader<'_>, Diagnostic> {
        let entries: &[Entry] = match &self.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => return Err(self.type_error("a mapping", what)),
        };
        Ok(MapReader { span: self.span, entries, what: what.to_string(), consumed: vec![false; entries.len()] })
    }
}

// ---------------------------------------------------------------------------
// Strict mapping reader.

/// Reads a mapping key by key and, in [`MapReader::finish`], rejects any key
/// nobody asked for. That is what turns a typo into an error instead of a
/// silently ignored setting.
#[derive(Debug)]
pub struct MapReader<'a> {
    span: Span,
    entries: &'a [Entry],
    what: String,
    consumed: Vec<bool>,
}

impl<'a> MapReader<'a> {
    /// The span of the mapping itself (where "missing key" errors point).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The value for `key`, if present, marking it as consumed.
    pub fn get(&mut self, key: &str) -> Option<&'a Node> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.consumed[i] = true;
        Some(&self.entries[i].value)
    }

    /// The value for `key`, or a "missing key" error pointing at the mapping.
    pub fn required(&mut self, key: &str) -> Result<&'a Node, Diagnostic> {
        self.get(key).ok_or_else(|| Diagnostic::new(self.span, format!("missing key `{key}` in {}", self.what)))
    }

    /// All entries in document order, consumed or not; for mappings whose
    /// keys are data (e.g. node names) rather than a fixed set of options.
    pub fn keys(&self) -> impl Iterator<Item = &'a Entry> + use<'a> {
        self.entries.iter()
    }

    /// Checks that every key was consumed. `known` lists the keys this
    /// mapping accepts and is only used to word the hint.
    pub fn finish(self, known: &[&str]) -> Result<(), Diagnostic> {
        let Some(i) = self.consumed.iter().position(|c| !c) else {
            return Ok(());
        };
        let entry = &self.entries[i];
        let d = Diagnostic::new(entry.key_span, format!("unknown key `{}` in {}", entry.key, self.what))
            .with_label("unknown key");
        // Don't suggest a key that is already in the mapping: `{name: a, nmae: b}`
        // is not fixed by renaming `nmae` to `name`.
        let unused: Vec<&str> = known.iter().copied().filter(|k| !self.entries.iter().any(|e| e.key == *k)).collect();
        let hint = match did_you_mean(&entry.key, &unused) {
            Some(best) => format!("did you mean `{best}`?"),
            None if known.is_empty() => return Err(d),
            None => {
                format!("expected one of: {}", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))
            }
        };
        Err(d.with_hint(hint))
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// within Damerau-Levenshtein distance `max(1, len/3)` where `len` is the
/// length of `word` in characters. Ties go to the earlier candidate.
pub fn did_you_mean<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'k str)> = None;
    for &c in candidates {
        let d = edit_distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent swaps, so
/// `nmae` is one edit from `name`, like the typo it is.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back is needed for transpositions.
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------
// Durations.

/// Units from largest to smallest, with their length in nanoseconds. Parts of
/// a duration must follow this order, which is also the order we format in.
const UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

const ADD_A_UNIT: &str = "add a unit: 500ms, 15s, 2m";
const NO_SPACES: &str = "remove the spaces: write durations like 15s or 1m30s";

/// Parses a duration: one or more `<number><unit>` parts, largest unit first
/// (`500ms`, `1.5s`, `1m30s`), units `d h m s ms us ns`. A bare `0` is
/// allowed. The result is exact: decimals are scaled as digits, not floats,
/// and a value that is not a whole number of nanoseconds is rejected.
///
/// The error is a hint for the user, e.g. "add a unit: 500ms, 15s, 2m".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("write a number and a unit; {ADD_A_UNIT}"));
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    if text.starts_with('-') {
        return Err("a duration cannot be negative".to_string());
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(ADD_A_UNIT.to_string());
    }

    let mut total: u128 = 0;
    let mut rest = text;
    // Index into UNITS of the previous part's unit; each part must be smaller.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        if rest.starts_with(char::is_whitespace) {
            return Err(NO_SPACES.to_string());
        }
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return Err(match rest.chars().next() {
                Some('.') => "write a digit before the `.`, like 0.5s".to_string(),
                Some(c) if c.is_alphabetic() => {
                    format!("expected a number before `{rest}`, like 15s")
                }
                Some(c) => format!("unexpected `{c}` in `{text}`; write durations like 1m30s"),
                None => ADD_A_UNIT.to_string(),
            });
        }
        let (int_digits, after) = rest.split_at(int_len);
        let (frac_digits, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return Err(format!("expected digits after the `.` in `{text}`"));
                }
                f.split_at(n)
            }
            None => ("", after),
        };
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(match after.chars().next() {
                None => ADD_A_UNIT.to_string(),
                Some(c) if c.is_whitespace() => NO_SPACES.to_string(),
                Some(c) => format!("unexpected `{c}` in `{text}`; write durations like 1m30s"),
            });
        }
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("unknown unit `{unit}`; use one of ns, us, ms, s, m, h, d"));
        };
        if last_unit.is_some_and(|last| idx <= last) {
            return Err("put units from largest to smallest, each once, like 1h30m".to_string());
        }
        last_unit = Some(idx);
        let unit_ns = UNITS[idx].1;

        let too_large = || "duration is too large".to_string();
        let int: u128 = int_digits.parse().map_err(|_| too_large())?;
        let mut part = int.checked_mul(unit_ns).ok_or_else(too_large)?;
        let frac_digits = frac_digits.trim_end_matches('0');
        if !frac_digits.is_empty() {
            // 18 significant decimals is far below a nanosecond for every unit
            // (a day is < 10^14 ns), and keeps the u128 product from overflowing.
            let not_whole = || format!("`{text}` is not a whole number of nanoseconds");
            if frac_digits.len() > 18 {
                return Err(not_whole());
            }
            let frac: u128 = frac_digits.parse().map_err(|_| not_whole())?;
            let scale = 10u128.pow(frac_digits.len() as u32);
            let scaled = frac * unit_ns;
            if !scaled.is_multiple_of(scale) {
                return Err(not_whole());
            }
            part = part.checked_add(scaled / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(part).ok_or_else(too_large)?;
        rest = after;
    }

    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "duration is too large")?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// Formats a duration in the shortest exact form [`parse_duration`] accepts:
/// largest units first, zero parts left out (`1m30s`, `1s500ms`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let n = ns / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            ns %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(source: &str) -> Document {
        match parse("t.yaml", source) {
            Ok(doc) => doc,
            Err(e) => panic!("parse failed:\n{}", e.render("t.yaml", source)),
        }
    }

    fn parse_err(source: &str) -> String {
        match parse("t.yaml", source) {
            Ok(_) => panic!("expected an error for {source:?}"),
            Err(e) => e.render("t.yaml", source),
        }
    }

    /// Renders a reader error against its document.
    fn render_err<T: fmt::Debug>(doc: &Document, r: Result<T, Diagnostic>) -> String {
        doc.render(&r.expect_err("expected an error"))
    }

    fn root_map(doc: &Document) -> MapReader<'_> {
        doc.root.map("scenario").unwrap()
    }

    #[test]
    fn unknown_key_renders_with_did_you_mean() {
        let source = "name: x\nsteps:\n  - sleeep: 2s\n";
        let doc = parse_ok(source);
        let mut top = root_map(&doc);
        top.required("name").unwrap();
        let steps = top.required("steps").unwrap().seq("steps").unwrap();
        top.finish(&["name", "steps"]).unwrap();
        let mut step = steps[0].map("step").unwrap();
        step.get("kill");
        let err = step.finish(&["kill", "sleep", "restart"]);
        assert_eq!(
            render_err(&doc, err),
            "error: unknown key `sleeep` in step
 --> t.yaml:3:5
  |
3 |   - sleeep: 2s
  |     ^^^^^^ unknown key
  = hint: did you mean `sleep`?
"
        );
    }

    #[test]
    fn unknown_key_without_close_match_lists_known_keys() {
        let doc = parse_ok("wibble: 1\n");
        let err = root_map(&doc).finish(&["kill", "sleep"]).unwrap_err();
        assert_eq!(err.message, "unknown key `wibble` in scenario");
        assert_eq!(err.hint.as_deref(), Some("expected one of: `kill`, `sleep`"));
        // No known keys at all: no hint rather than an empty list.
        let err = root_map(&doc).finish(&[]).unwrap_err();
        assert_eq!(err.hint, None);
    }

    #[test]
    fn present_keys_are_not_suggested() {
        let doc = parse_ok("name: a\nnmae: b\n");
        let mut m = root_map(&doc);
        m.get("name");
        let err = m.finish(&["name", "seed"]).unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("expected one of: `name`, `seed`"));
    }

    #[test]
    fn consumed_keys_pass_finish() {
        let doc = parse_ok("a: 1\nb: 2\n");
        let mut m = root_map(&doc);
        assert_eq!(m.get("a").unwrap().u64("a").unwrap(), 1);
        assert!(m.get("zzz").is_none());
        assert_eq!(m.required("b").unwrap().u64("b").unwrap(), 2);
        assert_eq!(m.keys().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        m.finish(&["a", "b"]).unwrap();
    }

    #[test]
    fn did_you_mean_picks_closest_then_first() {
        assert_eq!(did_you_mean("sleeep", &["kill", "sleep"]), Some("sleep"));
        assert_eq!(did_you_mean("nmae", &["name"]), Some("name")); // transposition
        assert_eq!(did_you_mean("kil", &["kill", "fill"]), Some("kill"));
        // Tie at distance 1: the earlier candidate wins.
        assert_eq!(did_you_mean("bat", &["cat", "bag"]), Some("cat"));
        // Closer beats earlier.
        assert_eq!(did_you_mean("restrat", &["restore", "restart"]), Some("restart"));
        assert_eq!(did_you_mean("xyz", &["kill", "sleep"]), None);
        // Short words still allow one edit.
        assert_eq!(did_you_mean("m", &["ms"]), Some("ms"));
        assert_eq!(did_you_mean("anything", &[]), None);
        assert_eq!(did_you_mean("ñame", &["name"]), Some("name"));
    }

    #[test]
    fn missing_key_points_at_the_mapping() {
        let source = "steps:\n  - kill: a\n    after: 2s\n";
        let doc = parse_ok(source);
        let mut top = root_map(&doc);
        let steps = top.required("steps").unwrap().seq("steps").unwrap();
        let mut step = steps[0].map("step").unwrap();
        let err = step.required("node");
        assert_eq!(
            render_err(&doc, err),
            "error: missing key `node` in step
 --> t.yaml:2:5
  |
2 |   - kill: a
  |     ^
"
        );
    }

    #[test]
    fn wrong_type_messages() {
        let doc = parse_ok("a: [1]\nb: x\nc:\nd: {k: v}\ne: -3\nf: 1.5\ng: \"yes\"\n");
        let mut m = root_map(&doc);
        let a = m.get("a").unwrap();
        let err = a.str("name").unwrap_err();
        assert_eq!(err.message, "expected a string for name, found a list");
        assert_eq!((err.span.line, err.span.column), (1, 4));
        assert_eq!(
            render_err(&doc, a.map("node")),
            "error: expected a mapping for node, found a list
 --> t.yaml:1:4
  |
1 | a: [1]
  |    ^
"
        );
        let b = m.get("b").unwrap();
        assert_eq!(b.u64("port").unwrap_err().message, "expected a non-negative integer for port, found a string");
        assert_eq!(b.f64("rate").unwrap_err().message, "expected a number for rate, found a string");
        assert_eq!(b.seq("steps").unwrap_err().message, "expected a list for steps, found a string");
        let err = b.bool("enabled").unwrap_err();
        assert_eq!(err.message, "expected true or false for enabled, found a string");
        let c = m.get("c").unwrap();
        assert_eq!(c.str("name").unwrap_err().message, "expected a string for name, found an empty value");
        assert_eq!(c.duration("after").unwrap_err().message, "expected a duration for after, found an empty value");
        let d = m.get("d").unwrap();
        assert_eq!(d.str("name").unwrap_err().message, "expected a string for name, found a mapping");
        let e = m.get("e").unwrap();
        assert_eq!(e.u64("count").unwrap_err().message, "expected a non-negative integer for count, found `-3`");
        let f = m.get("f").unwrap();
        assert_eq!(f.u64("count").unwrap_err().message, "expected a non-negative integer for count, found `1.5`");
        assert_eq!(f.bool("x").unwrap_err().message, "expected true or false for x, found a number");
        let g = m.get("g").unwrap();
        let err = g.bool("x").unwrap_err();
        assert_eq!(err.message, "expected true or false for x, found a string");
        assert_eq!(err.hint.as_deref(), Some("write true, false, yes or no without quotes"));
        assert_eq!(m.get("c").unwrap().kind_name(), "null");
    }

    #[test]
    fn empty_value_is_an_empty_list_or_mapping() {
        let doc = parse_ok("steps:\nconfig:\n");
        let mut m = root_map(&doc);
        assert!(m.get("steps").unwrap().seq("steps").unwrap().is_empty());
        let config = m.get("config").unwrap();
        assert!(config.is_null());
        let mut c = config.map("config").unwrap();
        assert_eq!(c.required("x").unwrap_err().message, "missing key `x` in config");
        c.finish(&[]).unwrap();
    }

    #[test]
    fn scalars_keep_their_written_text() {
        let doc = parse_ok("kill: 6381\nb: yes\nc: 007\nd: \"x\"\ne: appendonly yes\nf: 0x1F\ng: 1.50\nh: 'q'\ni: ~\n");
        let mut m = root_map(&doc);
        let mut text = |k: &str| m.get(k).unwrap().as_text();
        assert_eq!(text("kill").as_deref(), Some("6381"));
        assert_eq!(text("b").as_deref(), Some("yes"));
        assert_eq!(text("c").as_deref(), Some("007"));
        assert_eq!(text("d").as_deref(), Some("x"));
        assert_eq!(text("e").as_deref(), Some("appendonly yes"));
        assert_eq!(text("f").as_deref(), Some("0x1F"));
        assert_eq!(text("g").as_deref(), Some("1.50"));
        assert_eq!(text("h").as_deref(), Some("q"));
        assert_eq!(text("i"), None);

        let kill = m.get("kill").unwrap();
        assert!(matches!(kill.value, Value::Int(6381)));
        assert_eq!(kill.str("node").unwrap(), "6381");
        assert!(m.get("b").unwrap().bool("b").unwrap());
        assert_eq!(m.get("c").unwrap().u64("c").unwrap(), 7);
        assert_eq!(m.get("f").unwrap().u64("f").unwrap(), 31);
        assert_eq!(m.get("g").unwrap().f64("g").unwrap(), 1.5);
        assert_eq!(m.get("kill").unwrap().f64("g").unwrap(), 6381.0);
    }

    #[test]
    fn aliases_take_text_from_the_anchor() {
        let doc = parse_ok("a: &port 6379\nb: *port\n");
        let mut m = root_map(&doc);
        let b = m.get("b").unwrap();
        assert_eq!(b.as_text().as_deref(), Some("6379"));
        // ...but point at the alias, where it was used.
        assert_eq!((b.span.line, b.span.column), (2, 4));
    }

    #[test]
    fn big_and_negative_integers() {
        let doc = parse_ok("seed: 18446744073709551615\nneg: -5\nhuge: 99999999999999999999999\n");
        let mut m = root_map(&doc);
        let seed = m.get("seed").unwrap();
        assert!(matches!(seed.value, Value::Float(_)));
        assert_eq!(seed.u64("seed").unwrap(), u64::MAX);
        assert_eq!(seed.as_text().as_deref(), Some("18446744073709551615"));
        assert!(matches!(m.get("neg").unwrap().value, Value::Int(-5)));
        let huge = m.get("huge").unwrap();
        assert_eq!(
            huge.u64("seed").unwrap_err().message,
            "expected a non-negative integer for seed, found `99999999999999999999999`"
        );
    }

    #[test]
    fn non_finite_numbers_parse_but_are_not_f64() {
        let doc = parse_ok("x: .inf\n");
        let x = root_map(&doc).get("x").unwrap();
        assert_eq!(x.as_text().as_deref(), Some(".inf"));
        assert_eq!(x.f64("rate").unwrap_err().message, "expected a finite number for rate, found `.inf`");
    }

    #[test]
    fn spans_are_bytes_and_columns_are_chars() {
        let source = "ñé: wörld\n";
        let doc = parse_ok(source);
        let Value::Map(entries) = &doc.root.value else { panic!() };
        let e = &entries[0];
        assert_eq!(e.key_span, Span { line: 1, column: 1, offset: 0, len: 4 });
        assert_eq!(e.value.span, Span { line: 1, column: 5, offset: 6, len: 6 });
        assert_eq!(&source[e.value.span.offset..][..e.value.span.len], "wörld");
        let err = e.value.u64("port");
        assert_eq!(
            render_err(&doc, err),
            "error: expected a non-negative integer for port, found a string
 --> t.yaml:1:5
  |
1 | ñé: wörld
  |     ^^^^^
"
        );
    }

    #[test]
    fn empty_documents_are_null() {
        for source in ["", "\n", "# just a comment\n", "---\n"] {
            let doc = parse_ok(source);
            assert!(doc.root.is_null(), "{source:?}");
            assert!(doc.root.map("scenario").unwrap().finish(&[]).is_ok());
        }
    }

    #[test]
    fn syntax_error_unclosed_bracket() {
        assert_eq!(
            parse_err("name: x\nsteps:\n  - kill: [\n"),
            "error: unclosed bracket '['
 --> t.yaml:3:11
  |
3 |   - kill: [
  |           ^
"
        );
    }

    #[test]
    fn duplicate_key_is_an_error() {
        assert_eq!(
            parse_err("name: a\nseed: 1\nname: b\n"),
            "error: duplicate key `name`
 --> t.yaml:3:1
  |
3 | name: b
  | ^^^^
  = hint: each key may appear only once in a mapping
"
        );
    }

    #[test]
    fn error_past_end_of_input() {
        let out = parse_err("key: \"unterminated\n");
        assert!(out.starts_with("error: "), "{out}");
        assert!(out.contains("1 | key: \"unterminated\n"), "{out}");
    }

    #[test]
    fn multiple_documents_are_rejected() {
        let out = parse_err("a: 1\n---\nb: 2\n");
        assert!(out.contains(" --> t.yaml:3:1\n"), "{out}");
    }

    #[test]
    fn too_deep_nesting_is_an_error() {
        let source = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let out = parse_err(&source);
        assert!(out.starts_with("error: nesting is too deep (more than 32 levels)\n"), "{out}");
        // Block style is bounded the same way.
        let source: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        let out = parse_err(&source);
        assert!(out.starts_with("error: nesting is too deep"), "{out}");
        // Right at the limit still works, including dropping the tree.
        let source = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        parse_ok(&source);
        let source: String = (0..MAX_DEPTH).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        parse_ok(&source);
    }

    #[test]
    fn durations() {
        let ok = [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("500ms", Duration::from_millis(500)),
            ("15s", Duration::from_secs(15)),
            ("2m", Duration::from_secs(120)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5s", Duration::from_millis(1500)),
            ("0.5ms", Duration::from_micros(500)),
            ("1h", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86_400)),
            ("250us", Duration::from_micros(250)),
            ("7ns", Duration::from_nanos(7)),
            ("1.000000001s", Duration::from_nanos(1_000_000_001)),
            ("0.1s", Duration::from_millis(100)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            (" 3s ", Duration::from_secs(3)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        let bad = [
            ("500", "add a unit: 500ms, 15s, 2m"),
            ("1.5", "add a unit: 500ms, 15s, 2m"),
            ("1m30", "add a unit: 500ms, 15s, 2m"),
            ("", "write a number and a unit; add a unit: 500ms, 15s, 2m"),
            ("5x", "unknown unit `x`; use one of ns, us, ms, s, m, h, d"),
            ("5sec", "unknown unit `sec`; use one of ns, us, ms, s, m, h, d"),
            ("-1s", "a duration cannot be negative"),
            ("30s1m", "put units from largest to smallest, each once, like 1h30m"),
            ("1s1s", "put units from largest to smallest, each once, like 1h30m"),
            ("0.5ns", "`0.5ns` is not a whole number of nanoseconds"),
            ("1.s", "expected digits after the `.` in `1.s`"),
            ("s", "expected a number before `s`, like 15s"),
            ("1mms", "unknown unit `mms`; use one of ns, us, ms, s, m, h, d"),
            (".5s", "write a digit before the `.`, like 0.5s"),
            ("1s 2ms", "remove the spaces: write durations like 15s or 1m30s"),
            ("1 s", "remove the spaces: write durations like 15s or 1m30s"),
            ("1.5.5s", "unexpected `.` in `1.5.5s`; write durations like 1m30s"),
            ("1s,", "unexpected `,` in `1s,`; write durations like 1m30s"),
            ("99999999999999999999999999999999999999999d", "duration is too large"),
            ("999999999999999d", "duration is too large"),
        ];
        for (text, hint) in bad {
            assert_eq!(parse_duration(text), Err(hint.to_string()), "{text}");
        }
    }

    #[test]
    fn duration_accessor_errors_carry_a_hint() {
        let source = "after: 500\nwait: 2s\nzero: 0\n";
        let doc = parse_ok(source);
        let mut m = root_map(&doc);
        assert_eq!(
            render_err(&doc, m.get("after").unwrap().duration("step")),
            "error: invalid duration `500` for step
 --> t.yaml:1:8
  |
1 | after: 500
  |        ^^^
  = hint: add a unit: 500ms, 15s, 2m
"
        );
        assert_eq!(m.get("wait").unwrap().duration("wait").unwrap(), Duration::from_secs(2));
        assert_eq!(m.get("zero").unwrap().duration("zero").unwrap(), Duration::ZERO);
    }

    #[test]
    fn format_duration_is_shortest_exact() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_secs(15), "15s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_secs(86_400 + 3600), "1d1h"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want);
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        // A deterministic spread of values across every unit, plus the edges.
        let mut values = vec![Duration::ZERO, Duration::MAX, Duration::from_nanos(u64::MAX)];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..2000u32 {
            // xorshift: cheap, reproducible pseudo-random bits.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = x >> (i % 64);
            let nanos = (x % 1_000_000_000) as u32;
            values.push(Duration::new(secs, nanos));
            values.push(Duration::from_nanos(x >> (i % 64)));
            values.push(Duration::from_millis(u64::from(i) * 250));
        }
        for d in values {
            let text = format_duration(d);
            assert_eq!(parse_duration(&text), Ok(d), "{text}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut inputs: Vec<String> = vec![
            "[".repeat(10_000),
            "{".repeat(10_000),
            "- ".repeat(10_000),
            "a: ".repeat(10_000),
            "&a [*a]".to_string(),
            "a: &a\n  b: *a\n".to_string(),
            "*unknown".to_string(),
            "? [1, 2]\n: x\n".to_string(),
            "~: 1\n".to_string(),
            "<<: 5\n".to_string(),
            "!!binary x".to_string(),
            "\u{feff}a: 1".to_string(),
            "a:\t1\n\tb: 2".to_string(),
            "\"\\u".to_string(),
            "%YAML 9.9\n---\na".to_string(),
            "a: |\n x\n  y\n z".to_string(),
            "\0\u{1}\u{7f}".to_string(),
            "x: 1e999999".to_string(),
            "x: -0x8000000000000001".to_string(),
        ];
        // Laughing-at-you alias bomb: must hit a budget, not run out of memory.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..20 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        inputs.push(bomb);
        // Random bytes, biased towards YAML punctuation so the parser gets past
        // the first character.
        let alphabet = b"ab01 :-[]{},&*!|>'\"#?\n\t\\%@`~.";
        let mut x: u64 = 12345;
        for _ in 0..3000 {
            let mut bytes = Vec::new();
            let len = (x % 60) as usize;
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(7) {
                    bytes.push((x >> 8) as u8);
                } else {
                    bytes.push(alphabet[(x >> 16) as usize % alphabet.len()]);
                }
            }
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        }
        for source in &inputs {
            match parse("g.yaml", source) {
                Ok(doc) => {
                    exercise(&doc.root);
                }
                Err(e) => {
                    assert!(!e.is_empty());
                    let text = e.render("g.yaml", source);
                    assert!(text.starts_with("error: "), "{text}");
                }
            }
        }
    }

    /// Calls every accessor on every node and renders every error, to shake
    /// out panics in span handling.
    fn exercise(node: &Node) {
        let source = "";
        let _ = node.kind_name();
        let _ = node.as_text();
        for r in [
            node.str("x").err(),
            node.u64("x").err(),
            node.f64("x").err(),
            node.bool("x").err(),
            node.duration("x").err(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = r.render("f", source);
        }
        if let Ok(items) = node.seq("x") {
            items.iter().for_each(exercise);
        }
        if let Ok(mut m) = node.map("x") {
            let _ = m.required("missing").map_err(|d| d.render("f", source));
            for e in m.keys() {
                exercise(&e.value);
            }
            let _ = m.finish(&["a", "b"]).map_err(|d| d.render("f", source));
        }
    }
}
