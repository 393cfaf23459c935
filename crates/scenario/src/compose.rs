//! Composition, before anything else reads the document: `extends:` (a base
//! scenario whose top-level keys this file's replace, `params:` merged key by
//! key), `include:` (a mapping whose only key is `include:` becomes the named
//! file's content; in a list, a file holding a list is spliced in), and
//! parameters (`params:` with defaults, `${param:name}` anywhere in a string,
//! overridden by `--set name=value`).
//!
//! Every file read keeps its own lines and columns: its spans are moved past
//! the text of the files read before it, so one composed source holds them
//! all and [`Sources::render`] shows each diagnostic in the file it is about.

use crate::diag::{Diagnostic, Diagnostics};
use crate::yaml::{self, Document, Entry, Node, Span, Value, did_you_mean};
use std::collections::BTreeMap;

/// Files nested at most this deep through `include:`/`extends:`.
const MAX_DEPTH: usize = 16;

/// Reads a file named in `include:`/`extends:`, relative to the including
/// file's directory as the caller resolves it: `(the path to show, its bytes)`.
pub type Loader<'a> = &'a dyn Fn(&str, &str) -> Result<(String, Vec<u8>), String>;

/// How composition is driven: the values of `--set` and the file loader.
#[derive(Default)]
pub struct ComposeOptions<'a> {
    /// `--set name=value`, in the order given.
    pub sets: Vec<(String, String)>,
    /// Reads included files; `None` refuses `include:`/`extends:`.
    pub loader: Option<Loader<'a>>,
    /// The scenario file as the loader names files (to find cycles back to it).
    pub main: Option<String>,
}

/// One file of the composed source.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Where its text starts in the composed source.
    pub base: usize,
    /// Its path as shown.
    pub file: String,
    /// Its text.
    pub source: String,
}

/// The files a composed document came from.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The scenario file first, then every file it read, in order.
    pub segments: Vec<Segment>,
}

impl Sources {
    /// The composed source: every file's text, one after the other.
    pub fn composed(&self) -> String {
        self.segments.iter().map(|s| s.source.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// Renders each diagnostic against the file its span is in.
    pub fn render(&self, diags: &Diagnostics) -> String {
        diags
            .0
            .iter()
            .map(|d| match self.segments.iter().rev().find(|s| d.span.offset >= s.base) {
                Some(s) => d.render(&s.file, &s.source),
                None => d.render("?", ""),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn add(&mut self, file: &str, source: &str) -> usize {
        let base = self.segments.last().map_or(0, |s| s.base + s.source.len() + 1);
        self.segments.push(Segment { base, file: file.to_owned(), source: source.to_owned() });
        base
    }
}

struct Composer<'a> {
    options: &'a ComposeOptions<'a>,
    sources: Sources,
    /// The files being read, outermost first, for cycles.
    stack: Vec<String>,
}

/// Composes `source` (the scenario file `file`): the document every later
/// stage reads, with its sources.
pub fn compose(
    file: &str,
    source: &str,
    options: &ComposeOptions<'_>,
    diags: &mut Diagnostics,
) -> Option<(Document, Sources)> {
    let main = options.main.clone().unwrap_or_else(|| file.to_owned());
    let mut c = Composer { options, sources: Sources::default(), stack: vec![main] };
    c.sources.add(file, source);
    let doc = match yaml::parse(file, source) {
        Ok(doc) => doc,
        Err(ds) => {
            diags.extend(ds);
            return None;
        }
    };
    let root = c.document(doc.root, file, diags);
    let root = apply_params(root, &options.sets, diags);
    Some((Document { file: file.to_owned(), source: c.sources.composed(), root }, c.sources))
}

impl Composer<'_> {
    /// A document's root with its `extends:` and `include:`s resolved.
    fn document(&mut self, root: Node, file: &str, diags: &mut Diagnostics) -> Node {
        let root = self.includes(root, file, diags);
        let Value::Map(entries) = &root.value else { return root };
        let Some(ext) = entries.iter().find(|e| e.key == "extends") else { return root };
        let base = match self.load(&ext.value, file, diags) {
            Some(base) => base,
            None => return strip(&root, "extends"),
        };
        merge(base, &root)
    }

    /// Reads and composes the file a `include:`/`extends:` value names.
    fn load(&mut self, at: &Node, from: &str, diags: &mut Diagnostics) -> Option<Node> {
        let name = match at.str("file name") {
            Ok(n) => n,
            Err(d) => {
                diags.push(d.with_hint("name a YAML file, relative to this one, e.g. `include: fragments/x.yaml`"));
                return None;
            }
        };
        let Some(loader) = self.options.loader else {
            diags.push(
                Diagnostic::new(at.span, format!("cannot read `{name}` here"))
                    .with_hint("`include:` and `extends:` read files: run the scenario with `chaoslab run`/`check`"),
            );
            return None;
        };
        let (path, bytes) = match loader(from, &name) {
            Ok(x) => x,
            Err(why) => {
                diags.push(
                    Diagnostic::new(at.span, format!("cannot read `{name}`: {why}"))
                        .with_label("missing file")
                        .with_hint("paths are relative to the file that names them"),
                );
                return None;
            }
        };
        if let Some(i) = self.stack.iter().position(|f| *f == path) {
            let cycle: Vec<&str> = self.stack[i..].iter().map(String::as_str).chain([path.as_str()]).collect();
            diags.push(
                Diagnostic::new(at.span, format!("`{name}` includes itself: {}", cycle.join(" -> ")))
                    .with_label("include cycle")
                    .with_hint("a fragment may not include a file that includes it"),
            );
            return None;
        }
        if self.stack.len() >= MAX_DEPTH {
            diags.push(
                Diagnostic::new(at.span, format!("`{name}` is nested more than {MAX_DEPTH} files deep"))
                    .with_hint("flatten the fragments"),
            );
            return None;
        }
        let source = match crate::diag::decode_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                let base = self.sources.add(&path, &e.lossy);
                diags.push(shift_diag(e.diagnostic, base));
                return None;
            }
        };
        let base = self.sources.add(&path, &source);
        let doc = match yaml::parse(&path, &source) {
            Ok(doc) => doc,
            Err(ds) => {
                diags.extend(ds.into_iter().map(|d| shift_diag(d, base)));
                return None;
            }
        };
        self.stack.push(path.clone());
        let root = self.document(shift(doc.root, base), &path, diags);
        self.stack.pop();
        Some(root)
    }

    /// Replaces every `{include: file}` in the tree.
    fn includes(&mut self, n: Node, file: &str, diags: &mut Diagnostics) -> Node {
        match n.value {
            Value::Map(entries) => {
                if let [only] = entries.as_slice()
                    && only.key == "include"
                {
                    return self.load(&only.value, file, diags).unwrap_or(Node {
                        span: n.span,
                        value: Value::Null,
                        raw: None,
                    });
                }
                let entries =
                    entries.into_iter().map(|e| Entry { value: self.includes(e.value, file, diags), ..e }).collect();
                Node { value: Value::Map(entries), ..n }
            }
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    let spliced = is_include(&item);
                    let item = self.includes(item, file, diags);
                    match item.value {
                        Value::Seq(inner) if spliced => out.extend(inner),
                        Value::Null if spliced => {}
                        _ => out.push(item),
                    }
                }
                Node { value: Value::Seq(out), ..n }
            }
            v => Node { value: v, ..n },
        }
    }
}

fn is_include(n: &Node) -> bool {
    matches!(&n.value, Value::Map(e) if e.len() == 1 && e[0].key == "include")
}

fn strip(root: &Node, key: &str) -> Node {
    match &root.value {
        Value::Map(entries) => {
            Node { value: Value::Map(entries.iter().filter(|e| e.key != key).cloned().collect()), ..root.clone() }
        }
        _ => root.clone(),
    }
}

/// `base` with `child`'s top-level keys replacing its own; `params:` merged key by key.
fn merge(base: Node, child: &Node) -> Node {
    let (Value::Map(mut out), Value::Map(mine)) = (base.value, &child.value) else { return strip(child, "extends") };
    for e in mine.iter().filter(|e| e.key != "extends") {
        match out.iter_mut().find(|b| b.key == e.key) {
            Some(b) if e.key == "params" => {
                if let (Value::Map(bp), Value::Map(cp)) = (&mut b.value.value, &e.value.value) {
                    for p in cp {
                        match bp.iter_mut().find(|x| x.key == p.key) {
                            Some(x) => *x = p.clone(),
                            None => bp.push(p.clone()),
                        }
                    }
                } else {
                    *b = e.clone();
                }
            }
            Some(b) => *b = e.clone(),
            None => out.push(e.clone()),
        }
    }
    Node { span: child.span, value: Value::Map(out), raw: None }
}

fn shift(n: Node, base: usize) -> Node {
    let span = Span { offset: n.span.offset + base, ..n.span };
    let value = match n.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(|i| shift(i, base)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|e| Entry {
                    key: e.key,
                    key_span: Span { offset: e.key_span.offset + base, ..e.key_span },
                    value: shift(e.value, base),
                })
                .collect(),
        ),
        v => v,
    };
    Node { span, value, raw: n.raw }
}

fn shift_diag(d: Diagnostic, base: usize) -> Diagnostic {
    Diagnostic { span: Span { offset: d.span.offset + base, ..d.span }, ..d }
}

/// The `params:` values, `--set` applied, substituted for `${param:name}`.
fn apply_params(root: Node, sets: &[(String, String)], diags: &mut Diagnostics) -> Node {
    let Value::Map(entries) = &root.value else { return root };
    let mut params: BTreeMap<String, Node> = BTreeMap::new();
    let params_node = entries.iter().find(|e| e.key == "params");
    if let Some(p) = params_node {
        match &p.value.value {
            Value::Map(ps) => {
                for e in ps {
                    params.insert(e.key.clone(), e.value.clone());
                }
            }
            _ => diags.push(
                Diagnostic::new(
                    p.value.span,
                    format!("expected a mapping for params, found {}", p.value.kind_phrase()),
                )
                .with_hint("name each parameter with its default, e.g. `params: {node-timeout: 15000}`"),
            ),
        }
    }
    let at = params_node.map_or(root.span, |p| p.key_span);
    for (name, value) in sets {
        let Some(slot) = params.get_mut(name) else {
            let names: Vec<&str> = params.keys().map(String::as_str).collect();
            let d = Diagnostic::new(at, format!("`--set {name}=...`: the scenario has no parameter `{name}`"));
            diags.push(match did_you_mean(name, &names) {
                Some(best) => d.with_hint(format!("did you mean `--set {best}=...`?")),
                None if names.is_empty() => d.with_hint("declare it under `params:` with its default"),
                None => d.with_hint(format!("parameters are: {}", crate::kind::quoted(&names))),
            });
            continue;
        };
        *slot = set_value(value, slot.span);
    }
    let root = match root.value {
        Value::Map(entries) => {
            Node { value: Value::Map(entries.into_iter().filter(|e| e.key != "params").collect()), ..root }
        }
        _ => root,
    };
    substitute(root, &params, diags)
}

/// A `--set` value as YAML would read it: an integer, a boolean or a string.
fn set_value(text: &str, span: Span) -> Node {
    let value = if let Ok(i) = text.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(b) = text.parse::<bool>() {
        Value::Bool(b)
    } else {
        Value::Str(text.to_owned())
    };
    let raw = (!matches!(value, Value::Str(_))).then(|| text.to_owned());
    Node { span, value, raw }
}

const PARAM: &str = "${param:";

fn substitute(n: Node, params: &BTreeMap<String, Node>, diags: &mut Diagnostics) -> Node {
    match n.value {
        Value::Str(ref s) if s.contains(PARAM) => {
            // A whole scalar that is one parameter takes its value with its type (a port, a count).
            if let Some(name) = s.strip_prefix(PARAM).and_then(|r| r.strip_suffix('}'))
                && !name.contains('}')
            {
                return match lookup(name, params, n.span, diags) {
                    Some(v) => Node { span: n.span, ..v.clone() },
                    None => n,
                };
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find(PARAM) {
                out.push_str(&rest[..i]);
                let after = &rest[i + PARAM.len()..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[i..]);
                    rest = "";
                    break;
                };
                match lookup(&after[..end], params, n.span, diags) {
                    Some(v) => out.push_str(&v.as_text().unwrap_or_default()),
                    None => out.push_str(&rest[i..i + PARAM.len() + end + 1]),
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Node { value: Value::Str(out), ..n }
        }
        Value::Seq(items) => {
            Node { value: Value::Seq(items.into_iter().map(|i| substitute(i, params, diags)).collect()), ..n }
        }
        Value::Map(entries) => Node {
            value: Value::Map(
                entries.into_iter().map(|e| Entry { value: substitute(e.value, params, diags), ..e }).collect(),
            ),
            ..n
        },
        _ => n,
    }
}

fn lookup<'p>(name: &str, params: &'p BTreeMap<String, Node>, at: Span, diags: &mut Diagnostics) -> Option<&'p Node> {
    let found = params.get(name);
    if found.is_none() {
        let names: Vec<&str> = params.keys().map(String::as_str).collect();
        let d = Diagnostic::new(at, format!("unknown parameter `${{param:{name}}}`")).with_label("not a parameter");
        diags.push(match did_you_mean(name, &names) {
            Some(best) => d.with_hint(format!("did you mean `${{param:{best}}}`?")),
            None => d.with_hint("declare it under `params:` with its default, e.g. `params: {node-timeout: 15000}`"),
        });
    }
    found
}
