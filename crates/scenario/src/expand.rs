//! Topology templates: `cluster:`, `replication:`, `sentinels:` (each a
//! [`TopologyTemplate`] a node kind registers), `defaults:` and per-node
//! overrides, expanded into the explicit node list (and the steps a template
//! adds, such as a cluster's manual build) before the scenario is validated.
//! The expansion is an ordinary document: `chaoslab check --expand` prints it,
//! and a file written that way runs exactly as its templated form does.
//!
//! A node's config file is its template's lines, then `defaults:` for its
//! kind, then its template's `config:`, then its own override's `config:`;
//! later lines win, as in a real config file.

use crate::diag::{Diagnostic, Diagnostics};
use crate::kind::{Registry, Syntax, quoted};
use crate::yaml::{self, Document, Entry, Node, Span, Value, did_you_mean};
use std::collections::BTreeMap;

/// One config line and where it came from (a template key, or the line of a
/// `config:`/`defaults:` block), so a kind's config errors point there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigLine {
    /// The directive, without its newline.
    pub text: String,
    /// Where it was written (or the template that wrote it).
    pub span: Span,
}

/// A node a template declares.
#[derive(Clone, Debug)]
pub struct GenNode {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// Its port.
    pub port: u16,
    /// Its config file, line by line.
    pub config: Vec<ConfigLine>,
    /// Whether it starts at time zero.
    pub start: bool,
}

/// What a template expands to.
#[derive(Default)]
pub struct Expansion {
    /// Nodes, in order.
    pub nodes: Vec<GenNode>,
    /// Steps to run before the file's own (e.g. a cluster's build), as YAML.
    pub steps: Vec<Node>,
}

/// A topology form a node kind contributes: a key under `topology:` that
/// stands for several nodes (and perhaps the steps that wire them up).
pub trait TopologyTemplate {
    /// Its key, documentation and schema.
    fn syntax(&self) -> Syntax;
    /// Expands the value written under the key.
    fn expand(&self, value: &Node, cx: &TemplateCx<'_>) -> Result<Expansion, Diagnostic>;
}

/// What a template can consult while expanding.
pub struct TemplateCx<'a> {
    doc: &'a Document,
    /// Ports of the nodes declared so far (explicit ones and earlier templates'), by name.
    ports: BTreeMap<String, u16>,
}

impl TemplateCx<'_> {
    /// The lines of a config text written at `n` (`config: |` or a string),
    /// each with the span of its line.
    pub fn config_lines(&self, n: &Node, what: &str) -> Result<Vec<ConfigLine>, Diagnostic> {
        let text = n.str(what)?;
        let spans = crate::parse::config_lines(n, self.doc);
        Ok(text
            .lines()
            .enumerate()
            .map(|(i, l)| ConfigLine { text: l.to_owned(), span: spans.get(i).copied().unwrap_or(n.span) })
            .collect())
    }

    /// The port of a node declared by name (explicitly or by an earlier template).
    pub fn port_of(&self, n: &Node, what: &str) -> Result<u16, Diagnostic> {
        let name = n.as_text().ok_or_else(|| {
            Diagnostic::new(n.span, format!("expected a node name for {what}, found {}", n.kind_phrase()))
        })?;
        self.ports.get(&name).copied().ok_or_else(|| {
            let names: Vec<&str> = self.ports.keys().map(String::as_str).collect();
            let d = Diagnostic::new(n.span, format!("unknown node `{name}` in {what}")).with_label("not a node");
            match did_you_mean(&name, &names) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint("name a node declared under `nodes:` or by a template before this one"),
            }
        })
    }

    /// Steps written as YAML text, every span set to `at` (the template), so a
    /// problem in them points at the template that wrote them.
    pub fn steps(&self, text: &str, at: Span) -> Vec<Node> {
        match yaml::parse(&self.doc.file, text) {
            Ok(doc) => match doc.root.value {
                Value::Seq(items) => items.into_iter().map(|n| respan(n, at)).collect(),
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        }
    }
}

/// A line of config a template writes itself, located at the template.
pub fn line(text: impl Into<String>, span: Span) -> ConfigLine {
    ConfigLine { text: text.into(), span }
}

fn respan(mut n: Node, at: Span) -> Node {
    n.span = at;
    n.value = match n.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(|i| respan(i, at)).collect()),
        Value::Map(entries) => Value::Map(
            entries.into_iter().map(|e| Entry { key: e.key, key_span: at, value: respan(e.value, at) }).collect(),
        ),
        v => v,
    };
    n
}

/// The document with its topology templates expanded.
pub struct Expanded {
    /// The explicit document.
    pub root: Node,
    /// Per node of `topology.nodes`, the spans of its config lines when the
    /// expansion wrote its config (they point into `defaults:`, a template's
    /// `config:` or the template itself).
    pub config_spans: Vec<Option<Vec<Span>>>,
    /// Steps the templates added before the file's own, with their texts.
    pub added_steps: Vec<String>,
}

/// Keys of `topology:` that are not templates.
const PLAIN_KEYS: &[&str] = &["network", "hosts", "nodes", "defaults"];
/// Keys a node override (a `nodes:` entry without `kind:` naming a template's node) may set.
const OVERRIDE_KEYS: &[&str] = &["name", "config", "start"];

/// Whether `root`'s topology has anything to expand (templates, `defaults:`,
/// or a key that is neither, for [`expand`] to report).
pub fn is_templated(root: &Node) -> bool {
    match entry(root, "topology").map(|t| &t.value.value) {
        Some(Value::Map(entries)) => entries.iter().any(|e| !["network", "hosts", "nodes"].contains(&e.key.as_str())),
        _ => false,
    }
}

/// Expands `doc`'s topology templates. A document without any comes back as it was.
pub fn expand(doc: &Document, registry: &Registry, diags: &mut Diagnostics) -> Expanded {
    let unchanged = || Expanded { root: doc.root.clone(), config_spans: Vec::new(), added_steps: Vec::new() };
    let Some(topology) = entry(&doc.root, "topology") else { return unchanged() };
    let Value::Map(t_entries) = &topology.value.value else { return unchanged() };
    let templated = t_entries.iter().any(|e| !["network", "hosts", "nodes"].contains(&e.key.as_str()));
    if !templated {
        return unchanged();
    }
    let explicit: &[Node] = match entry(&topology.value, "nodes").map(|e| &e.value.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    };
    let mut cx = TemplateCx { doc, ports: explicit_ports(explicit) };
    let defaults = parse_defaults(&topology.value, &cx, registry, diags);
    let mut generated: Vec<GenNode> = Vec::new();
    let mut steps = Vec::new();
    for e in t_entries {
        if PLAIN_KEYS.contains(&e.key.as_str()) {
            continue;
        }
        let Some(template) = registry.template(&e.key) else {
            diags.push(unknown_topology_key(e, registry));
            continue;
        };
        match template.expand(&e.value, &cx) {
            Ok(x) => {
                for n in &x.nodes {
                    cx.ports.insert(n.name.clone(), n.port);
                }
                generated.extend(x.nodes.into_iter().map(|mut n| {
                    insert_defaults(&mut n, &defaults);
                    n
                }));
                steps.extend(x.steps);
            }
            Err(d) => diags.push(d),
        }
    }
    let (nodes, config_spans) = merge_nodes(generated, explicit, &cx, &defaults, diags);
    let added_steps: Vec<String> = steps.iter().map(step_text).collect();
    let root = rebuild(doc, topology, nodes, steps);
    Expanded { root, config_spans, added_steps }
}

fn entry<'n>(n: &'n Node, key: &str) -> Option<&'n Entry> {
    match &n.value {
        Value::Map(entries) => entries.iter().find(|e| e.key == key),
        _ => None,
    }
}

fn unknown_topology_key(e: &Entry, registry: &Registry) -> Diagnostic {
    let mut known: Vec<&str> = PLAIN_KEYS.to_vec();
    known.extend(registry.template_names());
    let d = Diagnostic::new(e.key_span, format!("unknown key `{}` in topology", e.key)).with_label("unknown key");
    match did_you_mean(&e.key, &known) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => d.with_hint(format!("topology takes {}", quoted(&known))),
    }
}

fn explicit_ports(explicit: &[Node]) -> BTreeMap<String, u16> {
    let mut ports = BTreeMap::new();
    for n in explicit {
        let port = entry(n, "port").and_then(|e| e.value.as_text()).and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else { continue };
        let name = entry(n, "name").and_then(|e| e.value.as_text()).unwrap_or_else(|| port.to_string());
        ports.insert(name, port);
    }
    ports
}

/// `defaults: {redis: "...", sentinel: "..."}`: config lines per kind.
fn parse_defaults(
    topology: &Node,
    cx: &TemplateCx<'_>,
    registry: &Registry,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Vec<ConfigLine>> {
    let mut out = BTreeMap::new();
    let Some(d) = entry(topology, "defaults") else { return out };
    let Value::Map(entries) = &d.value.value else {
        diags.push(
            Diagnostic::new(d.value.span, format!("expected a mapping for defaults, found {}", d.value.kind_phrase()))
                .with_hint("config lines per node kind, e.g. `defaults: {redis: \"appendonly yes\"}`"),
        );
        return out;
    };
    for e in entries {
        if registry.kind(&e.key).is_none() {
            let names: Vec<&str> = registry.kinds().map(|k| k.name()).collect();
            let d = Diagnostic::new(e.key_span, format!("unknown node kind `{}` in defaults", e.key));
            diags.push(match did_you_mean(&e.key, &names) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint(format!("`defaults:` is keyed by node kind: {}", quoted(&names))),
            });
            continue;
        }
        match cx.config_lines(&e.value, "defaults") {
            Ok(lines) => {
                out.insert(e.key.clone(), lines);
            }
            Err(d) => diags.push(d),
        }
    }
    out
}

/// A template node's lines are its generated ones (the template puts its own
/// `config:` after them) with the kind's defaults in between: templates mark
/// where theirs begin by placing `defaults` at [`DEFAULTS_AT`].
fn insert_defaults(n: &mut GenNode, defaults: &BTreeMap<String, Vec<ConfigLine>>) {
    let at = n.config.iter().position(|l| l.text == DEFAULTS_AT).unwrap_or(n.config.len());
    n.config.retain(|l| l.text != DEFAULTS_AT);
    if let Some(lines) = defaults.get(n.kind) {
        n.config.splice(at..at, lines.iter().cloned());
    }
}

/// The marker line a template places where `defaults:` go (removed on expansion).
pub const DEFAULTS_AT: &str = "\u{0}defaults";

fn str_node(span: Span, text: impl Into<String>) -> Node {
    Node { span, value: Value::Str(text.into()), raw: None }
}

fn map_node(span: Span, entries: Vec<(&str, Node)>) -> Node {
    let entries = entries.into_iter().map(|(k, v)| Entry { key: k.to_owned(), key_span: span, value: v }).collect();
    Node { span, value: Value::Map(entries), raw: None }
}

fn config_text(lines: &[ConfigLine]) -> String {
    lines.iter().map(|l| format!("{}\n", l.text)).collect()
}

/// The generated nodes (with their overrides applied) then the explicit
/// ones, as `nodes:` entries, with the spans of the configs written here.
fn merge_nodes(
    mut generated: Vec<GenNode>,
    explicit: &[Node],
    cx: &TemplateCx<'_>,
    defaults: &BTreeMap<String, Vec<ConfigLine>>,
    diags: &mut Diagnostics,
) -> (Vec<Node>, Vec<Option<Vec<Span>>>) {
    let mut spans: Vec<Span> = vec![Span { line: 0, column: 0, offset: 0, len: 0 }; generated.len()];
    let mut rest = Vec::new();
    for n in explicit {
        if entry(n, "kind").is_some() {
            rest.push(n);
            continue;
        }
        if let Err(d) = apply_override(n, &mut generated, &mut spans, cx) {
            diags.push(d);
        }
    }
    let mut nodes = Vec::new();
    let mut config_spans = Vec::new();
    for (g, span) in generated.iter().zip(&spans) {
        let at = if span.line == 0 { g.config.first().map_or(*span, |l| l.span) } else { *span };
        let mut entries = vec![
            ("name", str_node(at, g.name.clone())),
            ("kind", str_node(at, g.kind)),
            ("port", Node { span: at, value: Value::Int(i64::from(g.port)), raw: Some(g.port.to_string()) }),
            ("config", str_node(at, config_text(&g.config))),
        ];
        if !g.start {
            entries.push(("start", Node { span: at, value: Value::Bool(false), raw: Some("false".into()) }));
        }
        nodes.push(map_node(at, entries));
        config_spans.push(Some(g.config.iter().map(|l| l.span).collect()));
    }
    for n in rest {
        let (node, spans) = with_defaults(n, cx, defaults);
        nodes.push(node);
        config_spans.push(spans);
    }
    (nodes, config_spans)
}

/// An explicit node with its kind's `defaults:` before its own config.
fn with_defaults(
    n: &Node,
    cx: &TemplateCx<'_>,
    defaults: &BTreeMap<String, Vec<ConfigLine>>,
) -> (Node, Option<Vec<Span>>) {
    let kind = entry(n, "kind").and_then(|e| e.value.as_text()).unwrap_or_default();
    let Some(lines) = defaults.get(&kind) else { return (n.clone(), None) };
    let Value::Map(entries) = &n.value else { return (n.clone(), None) };
    let own = match entry(n, "config") {
        Some(c) => cx.config_lines(&c.value, "config").unwrap_or_default(),
        None => Vec::new(),
    };
    let all: Vec<ConfigLine> = lines.iter().cloned().chain(own).collect();
    let mut entries: Vec<Entry> = entries.iter().filter(|e| e.key != "config").cloned().collect();
    entries.push(Entry { key: "config".into(), key_span: n.span, value: str_node(n.span, config_text(&all)) });
    (Node { span: n.span, value: Value::Map(entries), raw: None }, Some(all.iter().map(|l| l.span).collect()))
}

/// A `nodes:` entry without `kind:` changes a template's node of that name:
/// its `config:` lines are added after the template's, `start:` replaces.
fn apply_override(
    n: &Node,
    generated: &mut [GenNode],
    spans: &mut [Span],
    cx: &TemplateCx<'_>,
) -> Result<(), Diagnostic> {
    let mut m = n.map("node")?;
    let name_node = m.get("name").ok_or_else(|| {
        Diagnostic::new(n.span, "a node needs `kind:`, or `name:` to change a node a template declares")
            .with_hint("e.g. `- {name: \"6384\", config: \"replica-priority 0\"}`")
    })?;
    let name = name_node.as_text().unwrap_or_default();
    let Some(i) = generated.iter().position(|g| g.name == name) else {
        let names: Vec<&str> = generated.iter().map(|g| g.name.as_str()).collect();
        let d = Diagnostic::new(name_node.span, format!("no template declares a node `{name}` to change"))
            .with_label("not a template's node");
        return Err(match did_you_mean(&name, &names) {
            Some(best) => d.with_hint(format!("did you mean `{best}`?")),
            None => d.with_hint("a new node needs `kind:` and `port:`"),
        });
    };
    if let Some(c) = m.get("config") {
        generated[i].config.extend(cx.config_lines(c, "config")?);
    }
    if let Some(s) = m.get("start") {
        generated[i].start = s.bool("start")?;
    }
    spans[i] = n.span;
    m.finish(OVERRIDE_KEYS).map_err(|d| {
        d.with_hint("a node a template declares takes `config:` (added after the template's) and `start:`")
    })
}

/// The document with `topology.nodes` replaced, the templates and
/// `defaults:` gone, and the added steps before the file's own.
fn rebuild(doc: &Document, topology: &Entry, nodes: Vec<Node>, steps: Vec<Node>) -> Node {
    let Value::Map(top) = &doc.root.value else { return doc.root.clone() };
    let Value::Map(t_entries) = &topology.value.value else { return doc.root.clone() };
    let mut t_new: Vec<Entry> = t_entries.iter().filter(|e| e.key == "network" || e.key == "hosts").cloned().collect();
    let nodes_span = entry(&topology.value, "nodes").map_or(topology.value.span, |e| e.value.span);
    t_new.push(Entry {
        key: "nodes".into(),
        key_span: nodes_span,
        value: Node { span: nodes_span, value: Value::Seq(nodes), raw: None },
    });
    let mut out = Vec::new();
    let mut saw_steps = false;
    for e in top {
        let mut e = e.clone();
        if e.key == "topology" {
            e.value = Node { span: e.value.span, value: Value::Map(std::mem::take(&mut t_new)), raw: None };
        } else if e.key == "steps" {
            saw_steps = true;
            if let Value::Seq(items) = &e.value.value {
                let all: Vec<Node> = steps.iter().cloned().chain(items.iter().cloned()).collect();
                e.value = Node { span: e.value.span, value: Value::Seq(all), raw: None };
            }
        }
        out.push(e);
    }
    if !saw_steps && !steps.is_empty() {
        let span = doc.root.span;
        out.push(Entry {
            key: "steps".into(),
            key_span: span,
            value: Node { span, value: Value::Seq(steps), raw: None },
        });
    }
    Node { span: doc.root.span, value: Value::Map(out), raw: None }
}

/// A step as the report tells it: `redis-cli: {node: "6381", ...}`, as a file would write it.
fn step_text(n: &Node) -> String {
    match &n.value {
        Value::Map(entries) if entries.len() == 1 => format!("{}: {}", key(&entries[0].key), flow(&entries[0].value)),
        _ => flow(n),
    }
}

/// A node as one line of flow YAML: `{redis-cli: {node: "6381", command: "..."}}`.
pub fn flow(n: &Node) -> String {
    match &n.value {
        Value::Null => "~".into(),
        Value::Bool(b) => n.raw.clone().unwrap_or_else(|| b.to_string()),
        Value::Int(i) => n.raw.clone().unwrap_or_else(|| i.to_string()),
        Value::Float(f) => n.raw.clone().unwrap_or_else(|| f.to_string()),
        Value::Str(s) => quote(s),
        Value::Seq(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries.iter().map(|e| format!("{}: {}", key(&e.key), flow(&e.value))).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn key(k: &str) -> String {
    if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') && !k.is_empty() {
        k.to_owned()
    } else {
        quote(k)
    }
}

/// A string as a YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The document as block YAML: what `chaoslab check --expand` prints. Nodes
/// are one flow line each, their configs `|` blocks; steps are one flow line each.
pub fn to_yaml(root: &Node) -> String {
    let mut out = String::new();
    let Value::Map(top) = &root.value else { return flow(root) + "\n" };
    for e in top {
        match (e.key.as_str(), &e.value.value) {
            ("topology", Value::Map(t)) => {
                out.push_str("topology:\n");
                for te in t {
                    match (&te.key[..], &te.value.value) {
                        ("nodes", Value::Seq(nodes)) => {
                            out.push_str("  nodes:\n");
                            for n in nodes {
                                node_yaml(n, &mut out);
                            }
                        }
                        _ => out.push_str(&format!("  {}: {}\n", key(&te.key), flow(&te.value))),
                    }
                }
            }
            (_, Value::Seq(items)) => {
                out.push_str(&format!("{}:\n", key(&e.key)));
                for i in items {
                    out.push_str(&format!("  - {}\n", flow(i)));
                }
            }
            _ => out.push_str(&format!("{}: {}\n", key(&e.key), flow(&e.value))),
        }
    }
    out
}

fn node_yaml(n: &Node, out: &mut String) {
    let Value::Map(entries) = &n.value else {
        out.push_str(&format!("    - {}\n", flow(n)));
        return;
    };
    let mut first = true;
    for e in entries {
        let lead = if first { "    - " } else { "      " };
        first = false;
        match &e.value.value {
            Value::Str(s) if e.key == "config" && s.ends_with('\n') && !s.contains("\n\n") && !s.starts_with(' ') => {
                out.push_str(&format!("{lead}config: |\n"));
                for l in s.lines() {
                    out.push_str(&format!("        {l}\n"));
                }
            }
            _ => out.push_str(&format!("{lead}{}: {}\n", key(&e.key), flow(&e.value))),
        }
    }
}
