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
        // and cap the rest, stated here (and in the README) rather than
        // inherited from serde-saphyr's defaults, so the limits are ours.
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
            max_total_scalar_bytes: MAX_SCALAR_BYTES,
            max_merge_keys: MAX_MERGE_KEYS,
            max_documents: MAX_DOCUMENTS,
            simple_key_max_lookahead: MAX_KEY_CHARS,
            alias_anchor_min_aliases: ALIAS_RATIO_FROM,
            alias_anchor_ratio_multiplier: MAX_ALIASES_PER_ANCHOR,
        },
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
pub const MAX_DEPTH: usize = 32;
/// Most YAML nodes (every mapping, list and scalar, keys included) in one
/// file: a node written `{kind: redis, port: 7000}` counts 5.
pub const MAX_NODES: usize = 250_000;
/// Most parser events (nodes plus the ends of mappings and lists).
pub const MAX_EVENTS: usize = 1_000_000;
/// Most aliases (`*name`) in one file.
pub const MAX_ALIASES: usize = 50_000;
/// Most anchors (`&name`) in one file.
pub const MAX_ANCHORS: usize = 50_000;
/// Once a file has this many aliases, they may not outnumber anchors by more
/// than [`MAX_ALIASES_PER_ANCHOR`] to one (a guard against alias bombs).
pub const ALIAS_RATIO_FROM: usize = 100;
/// See [`ALIAS_RATIO_FROM`].
pub const MAX_ALIASES_PER_ANCHOR: usize = 10;
/// Most bytes of text in all scalars together (64 MiB).
pub const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;
/// Most merge keys (`<<: *base`) in one file.
pub const MAX_MERGE_KEYS: usize = 10_000;
/// Longest plain key, in characters (YAML's own limit for a simple key).
pub const MAX_KEY_CHARS: usize = 1_024;
/// Most YAML documents (`---`) the parser reads; a scenario is one.
pub const MAX_DOCUMENTS: usize = 1_024;

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

/// `250000` as `250,000`, for limits in messages.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A breached parser limit as a sentence naming the limit, and a hint.
fn budget_message(breach: &BudgetBreach) -> (String, Cow<'static, str>) {
    const SPLIT: &str = "split the scenario into several files";
    let limit = |what: String| format!("{what} (chaoslab's limit)");
    match breach {
        BudgetBreach::Depth { .. } => (
            format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
            "scenarios need a handful of levels; look for a list or mapping nested in itself".into(),
        ),
        BudgetBreach::Nodes { .. } => (
            limit(format!("the file has more than {} YAML nodes", thousands(MAX_NODES))),
            format!(
                "every mapping, list, key and value counts (`{{kind: redis, port: 7000}}` is 5); {SPLIT}, \
                 or leave out keys that have defaults"
            )
            .into(),
        ),
        BudgetBreach::Events { .. } => {
            (limit(format!("the file has more than {} YAML events", thousands(MAX_EVENTS))), SPLIT.into())
        }
        BudgetBreach::Aliases { .. } => (
            limit(format!("the file uses more than {} aliases (`*name`)", thousands(MAX_ALIASES))),
            format!("write the values out, or {SPLIT}").into(),
        ),
        BudgetBreach::Anchors { .. } => {
            (limit(format!("the file defines more than {} anchors (`&name`)", thousands(MAX_ANCHORS))), SPLIT.into())
        }
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => (
            limit(format!(
                "the file uses {} aliases for {} anchor(s), more than {MAX_ALIASES_PER_ANCHOR} per anchor",
                thousands(*aliases),
                thousands(*anchors)
            )),
            format!(
                "past {ALIAS_RATIO_FROM} aliases each anchor may be used at most {MAX_ALIASES_PER_ANCHOR} times \
                 (a guard against alias bombs); write some values out or define more anchors"
            )
            .into(),
        ),
        BudgetBreach::ScalarBytes { .. } => {
            (limit(format!("the file's text values add up to more than {} MiB", MAX_SCALAR_BYTES >> 20)), SPLIT.into())
        }
        BudgetBreach::MergeKeys { .. } => (
            limit(format!("the file has more than {} merge keys (`<<`)", thousands(MAX_MERGE_KEYS))),
            format!("write the values out, or {SPLIT}").into(),
        ),
        BudgetBreach::Documents { .. } => (
            limit(format!("the file has more than {} YAML documents", thousands(MAX_DOCUMENTS))),
            "a scenario is one document: remove the `---` lines".into(),
        ),
        other => {
            // Limits chaoslab does not set and scenarios cannot reach in
            // practice; name the breach in words rather than debug text.
            let name = format!("{other:?}");
            let name = name.split([' ', '{']).next().unwrap_or("a limit").to_owned();
            (
                format!("the YAML parser's `{name}` limit was reached"),
                format!("the file is larger or more complex than a scenario needs to be; {SPLIT}").into(),
            )
        }
    }
}

/// An unclosed `[` or `{` before a syntax error, reported at the bracket:
/// the parser only notices at the next line or the end of the file.
fn unclosed_flow(err: &serde_saphyr::Error, at: Option<&Location>, source: &str) -> Option<Diagnostic> {
    if matches!(err, serde_saphyr::Error::Budget { .. } | serde_saphyr::Error::DuplicateMappingKey { .. }) {
        return None;
    }
    let opener = flow::unclosed(source)?;
    // Only when the parser stopped at or after the bracket.
    if at.is_some_and(|loc| loc.line() != 0 && loc.line() < u64::from(opener.span.line)) {
        return None;
    }
    let (what, example) = if opener.ch == '[' { ("list", "[a, b]") } else { ("mapping", "{node: a, is: down}") };
    Some(
        Diagnostic::new(opener.span, format!("unclosed `{}`: this {what} is never closed", opener.ch))
            .with_label("opened here")
            .with_hint(format!(
                "close it with `{}` before the next key or item, e.g. `{example}`; it may span lines",
                opener.closer()
            )),
    )
}

/// A hint for a YAML error that has none of its own: what usually causes it.
fn syntax_hint(err: &serde_saphyr::Error) -> Cow<'static, str> {
    match err {
        serde_saphyr::Error::MultipleDocuments { .. } => "a scenario is one document: remove the `---` lines".into(),
        serde_saphyr::Error::UnknownAnchor { .. } => "define the anchor with `&name` before using it as `*name`".into(),
        serde_saphyr::Error::Eof { .. } => "the file ends inside a value: close every quote, `[` and `{`".into(),
        _ => "check the indentation (spaces, not tabs) here and on the line before, and quote values that contain \
              `: `, ` #` or start with `[`, `{`, `*`, `&`, `!`, `%` or `@`"
            .into(),
    }
}

/// Turns a serde-saphyr error into a diagnostic. Its own rendering adds
/// "at line X, column Y" and a snippet; we only want the core message since
/// our renderer supplies the location and the snippet.
fn error_to_diagnostic(err: &serde_saphyr::Error, source: &str) -> Diagnostic {
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let (message, hint): (Cow<'_, str>, Option<Cow<'_, str>>) = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("duplicate key `{k}`").into(),
                None => "duplicate key".into(),
            },
            Some("each key may appear only once in a mapping: remove or rename one of them".into()),
        ),
        serde_saphyr::Error::Budget { breach, .. } => {
            let (message, hint) = budget_message(breach);
            (message.into(), Some(hint))
        }
        // The user-facing formatter drops developer advice such as "set
        // DuplicateKeyPolicy in Options", which means nothing to our users.
        other => (UserMessageFormatter.format_message(other), None),
    };
    if let Some(d) = unclosed_flow(inner, err.location().as_ref(), source) {
        return d;
    }
    // `format_message` output is not sanitised; `Diagnostic::render` escapes
    // control characters, which covers user text quoted in the message.
    let message = message.into_owned();
    let span = match err.location() {
        Some(loc) => span_from_location(&loc, source),
        None => Span { line: 1, column: 1, offset: 0, len: 1 },
    };
    Diagnostic::new(span, message).with_hint(hint.unwrap_or_else(|| syntax_hint(inner)))
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
    pub fn kind_phrase(&self) -> &'static str {
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
            .with_hint(how_to_write(expected))
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
            .with_hint(how_to_write(expected))
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

/// `step` as "the step"; "the scenario" stays as it is.
fn the(what: &str) -> Cow<'_, str> {
    if what.starts_with("the ") { what.into() } else { format!("the {what}").into() }
}

/// How to write a value of the kind `expected` names, for hints.
fn how_to_write(expected: &str) -> &'static str {
    match expected {
        "a string" => {
            "write one value, e.g. `\"6381\"` or `set k1 v1`; quote text that contains `: ` or starts with `[` or `{`"
        }
        "a non-negative integer" => "write a whole number of 0 or more, digits only, e.g. `6379`",
        "a number" | "a finite number" => "write a number, e.g. `0.5` or `3`",
        "true or false" => "write `true` or `false` (also `yes` or `no`)",
        "a duration" => "write a number with a unit, e.g. `500ms`, `15s` or `1m30s`",
        "a list" => "write `[a, b]`, or one `- item` per line indented under the key",
        "a mapping" => "write `key: value` lines indented under it, or `{key: value}` on one line",
        _ => "see `chaoslab schema` for what each key takes",
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
        self.get(key).ok_or_else(|| {
            Diagnostic::new(self.span, format!("missing key `{key}` in {}", self.what))
                .with_hint(format!("add `{key}: ...` to {}; `chaoslab schema` says what it takes", the(&self.what)))
        })
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
            None if known.is_empty() => format!("{} takes no keys: remove `{}`", self.what, entry.key),
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

mod duration;
mod flow;
#[cfg(test)]
mod tests;

pub use duration::{format_duration, parse_duration};
