//! From a YAML document to a validated [`Scenario`]. Errors are collected, not
//! stopped at, so one `chaoslab check` shows every problem in a file at once.

use crate::builtin;
use crate::compose::{ComposeOptions, Sources};
use crate::diag::{Diagnostic, Diagnostics};
use crate::kind::{ParseCx, Registry, Step, quoted};
use crate::model::{HostDecl, Invariant, NodeDecl, Scenario, StepDecl, TimedFault};
use crate::yaml::{self, Document, Node, Span, Value, did_you_mean};
use sim::{Factory, Latency, LinkConfig, NetConfig};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Top-level keys.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "start-time",
    "poll",
    "topology",
    "network",
    "costs",
    "faults",
    "invariants",
    "steps",
    "workloads",
    "nemesis",
];
const TOPOLOGY_KEYS: &[&str] = &["network", "hosts", "nodes"];
const HOST_KEYS: &[&str] = &["name", "ip"];
const NODE_KEYS: &[&str] = &["name", "kind", "port", "host", "config", "start", "flavor", "costs"];
const NETWORK_KEYS: &[&str] = &["latency", "loss", "bandwidth", "cross-host", "tcp-rmem", "tcp-wmem"];
const LINK_KEYS: &[&str] = &["latency", "loss", "bandwidth"];
/// Keys every step may carry besides its action.
pub const STEP_MODIFIERS: &[&str] = &["at", "note"];

/// The default `poll`: how often waits and invariants look at the world.
pub const DEFAULT_POLL: Duration = Duration::from_millis(10);
/// How to write `start-time:`.
const START_TIME_HINT: &str = "write UTC as YYYY-MM-DDTHH:MM:SSZ, e.g. `2026-11-21T10:00:00Z`";
/// Wall clock at virtual time zero unless `start-time` says otherwise.
pub const DEFAULT_START_TIME: &str = "2026-01-01T00:00:00Z";

/// Parses and validates a scenario file (no `include:`/`extends:`, no `--set`).
pub fn parse_scenario(file: &str, source: &str, registry: &Registry) -> Result<Scenario, Diagnostics> {
    parse_composed(file, source, registry, &ComposeOptions::default()).map_err(|(diags, _)| diags)
}

/// Composes (includes, `extends:`, parameters), expands and validates a scenario file.
fn parse_composed(
    file: &str,
    source: &str,
    registry: &Registry,
    options: &ComposeOptions<'_>,
) -> Result<Scenario, (Diagnostics, Sources)> {
    let (doc, sources, diags) = compose_document(file, source, options)?;
    make_scenario(doc, &sources, diags, registry)
}

/// The file's text read as YAML with its includes, `extends:` and
/// parameters, and what composing it found wrong that does not stop it (a
/// `--set` of no parameter, say): the scenario is refused for those too.
fn compose_document(
    file: &str,
    source: &str,
    options: &ComposeOptions<'_>,
) -> Result<(Document, Sources, Diagnostics), (Diagnostics, Sources)> {
    let mut diags = Diagnostics::new();
    match crate::compose::compose(file, source, options, &mut diags) {
        Some((doc, sources)) => Ok((doc, sources, diags)),
        None => {
            let segment = crate::compose::Segment { base: 0, file: file.into(), source: source.into() };
            Err((diags, Sources { segments: vec![segment] }))
        }
    }
}

/// A composed document expanded and validated into a scenario; `diags`
/// holds what composing it found.
fn make_scenario(
    doc: Document,
    sources: &Sources,
    mut diags: Diagnostics,
    registry: &Registry,
) -> Result<Scenario, (Diagnostics, Sources)> {
    match parse_document(doc, registry, &mut diags) {
        Some(mut s) if diags.is_empty() => {
            name_included_steps(&mut s, sources);
            Ok(s)
        }
        _ => Err((diags, sources.clone())),
    }
}

/// A scenario file composed (its text read as YAML, its includes, `extends:`
/// and parameters filled in) and not yet made into a [`Scenario`]. A run
/// consumes its scenario, so an exploration makes one for every seed; this
/// is the part of a parse that is the same for all of them (most of it: the
/// YAML is read once, and included files once), and
/// [`Composed::scenario`] the rest.
#[derive(Clone, Debug)]
pub struct Composed {
    doc: Document,
    sources: Sources,
    /// What composing it found wrong, short of stopping (given again with
    /// every scenario made from it).
    diags: Diagnostics,
    /// The file's own text, for diagnostics.
    source: String,
}

/// [`parse_scenario_with`]'s first half: the file composed, or its diagnostics.
pub fn compose_scenario(file: &str, bytes: Vec<u8>, options: &ComposeOptions<'_>) -> Result<Composed, Box<Rejected>> {
    let source = match crate::diag::decode_utf8(bytes) {
        Ok(source) => source,
        Err(e) => {
            return Err(Box::new(Rejected {
                diagnostics: e.diagnostic.into(),
                source: e.lossy,
                sources: Sources::default(),
            }));
        }
    };
    match compose_document(file, &source, options) {
        Ok((doc, sources, diags)) => Ok(Composed { doc, sources, diags, source }),
        Err((diagnostics, sources)) => Err(Box::new(Rejected { diagnostics, source, sources })),
    }
}

impl Composed {
    /// The scenario, expanded and validated: what [`parse_scenario_with`]
    /// gives for the same file and options.
    pub fn scenario(&self, registry: &Registry) -> Result<Scenario, Box<Rejected>> {
        make_scenario(self.doc.clone(), &self.sources, self.diags.clone(), registry)
            .map_err(|(diagnostics, sources)| Box::new(Rejected { diagnostics, source: self.source.clone(), sources }))
    }
}

/// A step that came from an included file says which, since its line is that file's.
fn name_included_steps(s: &mut Scenario, sources: &Sources) {
    let Some(first_other) = sources.segments.get(1).map(|seg| seg.base) else { return };
    for step in s.steps.iter_mut().filter(|st| st.span.offset >= first_other) {
        if let Some(seg) = sources.segments.iter().rev().find(|seg| step.span.offset >= seg.base) {
            step.text = format!("{} ({}:{})", step.text, seg.file, step.span.line);
        }
    }
}

/// A scenario file that did not validate: its diagnostics and the text they
/// point into.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// Every problem found.
    pub diagnostics: Diagnostics,
    /// The file's text; bytes that are not UTF-8 appear as U+FFFD.
    pub source: String,
    /// The files it read (`include:`, `extends:`), the scenario file first.
    pub sources: Sources,
}

impl Rejected {
    /// Renders every diagnostic against the text of the file it is about.
    pub fn render(&self, file: &str) -> String {
        if self.sources.segments.len() > 1 {
            return self.sources.render(&self.diagnostics);
        }
        self.diagnostics.render(file, &self.source)
    }
}

/// Parses and validates a scenario file from its bytes, as read from disk. A
/// file that is not UTF-8 is rejected with a diagnostic at its first bad byte.
pub fn parse_scenario_bytes(file: &str, bytes: Vec<u8>, registry: &Registry) -> Result<Scenario, Box<Rejected>> {
    parse_scenario_with(file, bytes, registry, &ComposeOptions::default())
}

/// [`parse_scenario_bytes`] with `--set` values and a loader for `include:`/`extends:`.
pub fn parse_scenario_with(
    file: &str,
    bytes: Vec<u8>,
    registry: &Registry,
    options: &ComposeOptions<'_>,
) -> Result<Scenario, Box<Rejected>> {
    compose_scenario(file, bytes, options)?.scenario(registry)
}

/// The scenario as one explicit document, in YAML: includes and parameters
/// filled in, topology templates expanded (`chaoslab check --expand`).
pub fn expanded_text(scenario: &Scenario) -> String {
    crate::expand::to_yaml(&scenario.expanded)
}

fn parse_document(doc: Document, registry: &Registry, diags: &mut Diagnostics) -> Option<Scenario> {
    let (owned, config_spans, added_steps) = if crate::expand::is_templated(&doc.root) {
        let x = crate::expand::expand(&doc, registry, diags);
        (Document { root: x.root, ..doc }, x.config_spans, x.added_steps)
    } else {
        (doc, Vec::new(), Vec::new())
    };
    let doc = &owned;
    let mut top = keep(doc.root.map("the scenario"), diags)?;
    let name = keep(top.required("name").and_then(scenario_name), diags);
    let description = top.get("description").and_then(|n| keep(n.str("description"), diags)).unwrap_or_default();
    let seed = top.get("seed").and_then(|n| keep(n.u64("seed"), diags)).unwrap_or(1);
    let epoch_ms = match top.get("start-time") {
        Some(n) => keep(
            n.str("start-time")
                .and_then(|t| parse_start_time(&t).map_err(|e| Diagnostic::new(n.span, e).with_hint(START_TIME_HINT))),
            diags,
        ),
        None => parse_start_time(DEFAULT_START_TIME).ok(),
    };
    let poll = top.get("poll").and_then(|n| keep(poll_duration(n, "poll"), diags)).unwrap_or(DEFAULT_POLL);
    let costs = top.get("costs").and_then(|n| keep(crate::costs::parse(n), diags)).unwrap_or_default();
    let topology = top.required("topology");
    let (hosts, nodes, factories) = match keep(topology, diags) {
        Some(t) => parse_topology(t, doc, &config_spans, registry, costs, diags),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let net = top.get("network").map(|n| parse_network(n, diags)).unwrap_or_default();
    let host_names: Vec<String> = hosts.iter().map(|h: &HostDecl| h.name.clone()).collect();
    let cx = ParseCx {
        registry,
        nodes: &nodes,
        hosts: &host_names,
        node_index: nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect(),
        host_index: host_names.iter().map(String::as_str).collect(),
        captures: RefCell::new(BTreeSet::new()),
        clients: RefCell::new(std::collections::BTreeMap::new()),
        workloads: RefCell::new(BTreeSet::new()),
    };
    let workloads = top.get("workloads").map(|n| crate::workload::parse_section(n, &cx, diags)).unwrap_or_default();
    let mut timed_faults = top.get("faults").map(|n| parse_timed_faults(n, doc, &cx, diags)).unwrap_or_default();
    crate::workload::timed_starts(&workloads, &mut timed_faults);
    let nemesis = top.get("nemesis").and_then(|n| crate::nemesis::parse(n, &cx, diags));
    let invariants = top.get("invariants").map(|n| parse_invariants(n, &cx, poll, diags)).unwrap_or_default();
    let steps = match top.required("steps") {
        Ok(n) => parse_steps(n, doc, &added_steps, &cx, diags),
        Err(d) => {
            diags.push(d.with_hint("a scenario needs at least one step, e.g. `steps: [{sleep: 1s}]`"));
            Vec::new()
        }
    };
    keep(top.finish(TOP_KEYS), diags);
    Some(Scenario {
        file: doc.file.clone(),
        source: doc.source.clone(),
        name: name?,
        description,
        seed,
        epoch_ms: epoch_ms?,
        poll,
        hosts,
        nodes,
        factories,
        net,
        timed_faults,
        nemesis,
        invariants,
        steps,
        workloads,
        selectors: registry.selectors(),
        expanded: owned.root,
        sets: Vec::new(),
        max_events_per_instant: sim::DEFAULT_MAX_EVENTS_PER_INSTANT,
    })
}

/// Keeps the value, or records the error and yields `None`.
fn keep<T>(r: Result<T, Diagnostic>, diags: &mut Diagnostics) -> Option<T> {
    r.map_err(|d| diags.push(d)).ok()
}

fn scenario_name(n: &Node) -> Result<String, Diagnostic> {
    let name = n.str("name")?;
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !ok {
        return Err(Diagnostic::new(n.span, format!("bad scenario name `{name}`"))
            .with_hint("use letters, digits, `-`, `_` and `.`: it names the report directory"));
    }
    Ok(name)
}

/// The shortest `poll`: each poll evaluates every condition and invariant, so
/// a nanosecond poll would spend minutes of wall time per virtual second
/// looking at a world that changes at most every millisecond or so.
pub const MIN_POLL: Duration = Duration::from_millis(1);

/// A `poll:` value: a duration no shorter than [`MIN_POLL`].
pub(crate) fn poll_duration(n: &Node, what: &str) -> Result<Duration, Diagnostic> {
    let d = n.duration(what)?;
    if d < MIN_POLL {
        return Err(Diagnostic::new(n.span, format!("{what} {} is shorter than 1ms", crate::yaml::format_duration(d)))
            .with_hint(
                "nothing in a node changes faster than its timers; 1ms is the finest poll (10ms is the default)",
            ));
    }
    Ok(d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) to ms since the Unix epoch.
pub fn parse_start_time(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid start-time `{text}`: expected UTC like `2026-11-21T10:00:00Z`");
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| text[r].parse::<i64>().map_err(|_| bad());
    let (y, m, d, hh, mm, ss) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(bad());
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    // Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2 / 400;
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000)
}

fn parse_topology(
    t: &Node,
    doc: &Document,
    config_spans: &[Option<Vec<Span>>],
    registry: &Registry,
    costs: crate::costs::Costs,
    diags: &mut Diagnostics,
) -> (Vec<HostDecl>, Vec<NodeDecl>, Vec<Factory>) {
    let Some(mut m) = keep(t.map("topology"), diags) else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let bridge = match m.get("network") {
        None => false,
        Some(n) => match keep(n.str("topology.network"), diags).as_deref() {
            Some("host") => false,
            Some("bridge") => true,
            Some(other) => {
                diags.push(Diagnostic::new(n.span, format!("unknown network mode `{other}`")).with_hint(
                    "`host` (every node on 127.0.0.1, like --net host) or `bridge` (a host per node on 172.17.0.x)",
                ));
                false
            }
            None => false,
        },
    };
    let mut declared = Declared::default();
    if let Some(list) = m.get("hosts").and_then(|n| keep(n.seq("topology.hosts"), diags)) {
        for h in list {
            if let Some(host) = keep(parse_host(h, &declared), diags) {
                declared.add_host(host);
            }
        }
    }
    let mut nodes: Vec<NodeDecl> = Vec::new();
    let mut factories = Vec::new();
    let mut fixed_memory = 0u64;
    let node_list = m.required("nodes").and_then(|n| n.seq("topology.nodes"));
    for (i, n) in keep(node_list, diags).unwrap_or(&[]).iter().enumerate() {
        let Some(mut node) = keep(parse_node(n, i, bridge, doc, registry, &mut declared, &nodes), diags) else {
            continue;
        };
        if registry.kind(&node.kind).is_some_and(|k| k.models_costs()) {
            node.costs = node.costs.over(costs);
        }
        if let Some(Some(spans)) = config_spans.get(i) {
            node.config_lines.clone_from(spans);
        }
        let kind = registry.kind(&node.kind).expect("parse_node checked the kind");
        match kind.build(&node) {
            Ok(f) => {
                factories.push(f);
                fixed_memory = fixed_memory.saturating_add(kind.fixed_memory(&node));
            }
            Err(ds) => diags.extend(ds),
        }
        declared.node_by_name.insert(node.name.clone(), nodes.len());
        declared.node_by_addr.insert((node.host.clone(), node.port), nodes.len());
        nodes.push(node);
    }
    if let Some(list) = m.get("nodes") {
        keep(check_memory(list, fixed_memory), diags);
    }
    keep(m.finish(TOPOLOGY_KEYS), diags);
    (declared.hosts, nodes, factories)
}

/// The nodes' fixed memory (`need` bytes) against [`crate::RUN_MEMORY_BUDGET`].
fn check_memory(list: &Node, need: u64) -> Result<(), Diagnostic> {
    if need <= crate::RUN_MEMORY_BUDGET {
        return Ok(());
    }
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30));
    Err(Diagnostic::new(
        list.span,
        format!(
            "the nodes would allocate {} before holding any data, over the run's memory budget of {}",
            gib(need),
            gib(crate::RUN_MEMORY_BUDGET)
        ),
    )
    .with_hint(
        "every node runs in one process: lower what the configs preallocate (e.g. `databases`) or use fewer nodes",
    ))
}

/// The hosts and nodes declared so far, indexed so that checking a new one
/// against them costs a lookup, not a scan: `check` stays linear in the size
/// of the topology (49,000 nodes took 17.5 s when each scanned the others).
#[derive(Default)]
struct Declared {
    hosts: Vec<HostDecl>,
    host_by_name: BTreeMap<String, usize>,
    host_by_ip: BTreeMap<Ipv4Addr, usize>,
    /// Index into the node list, by name.
    node_by_name: BTreeMap<String, usize>,
    /// Index into the node list, by host and port.
    node_by_addr: BTreeMap<(String, u16), usize>,
}

impl Declared {
    fn add_host(&mut self, host: HostDecl) {
        self.host_by_name.insert(host.name.clone(), self.hosts.len());
        self.host_by_ip.insert(host.ip, self.hosts.len());
        self.hosts.push(host);
    }

    fn host(&self, name: &str) -> Option<&HostDecl> {
        self.host_by_name.get(name).map(|&i| &self.hosts[i])
    }
}

fn parse_host(n: &Node, earlier: &Declared) -> Result<HostDecl, Diagnostic> {
    let mut m = n.map("host")?;
    let name_node = m.required("name")?;
    let name = name_node.str("host name")?;
    let ip_node = m.required("ip")?;
    let ip_text = ip_node.str("host ip")?;
    let ip: Ipv4Addr = ip_text.parse().map_err(|_| {
        Diagnostic::new(ip_node.span, format!("invalid IPv4 address `{ip_text}`")).with_hint("e.g. 172.17.0.2")
    })?;
    m.finish(HOST_KEYS)?;
    if earlier.host(&name).is_some() {
        return Err(Diagnostic::new(name_node.span, format!("host `{name}` is declared twice"))
            .with_hint("give each host a distinct `name:`"));
    }
    if let Some(h) = earlier.host_by_ip.get(&ip).map(|&i| &earlier.hosts[i]) {
        return Err(Diagnostic::new(ip_node.span, format!("address {ip} is already used by host `{}`", h.name))
            .with_hint("give each host its own `ip:`, e.g. 172.17.0.3"));
    }
    Ok(HostDecl { name, ip })
}

fn parse_node(
    n: &Node,
    index: usize,
    bridge: bool,
    doc: &Document,
    registry: &Registry,
    declared: &mut Declared,
    earlier: &[NodeDecl],
) -> Result<NodeDecl, Diagnostic> {
    let mut m = n.map("node")?;
    let kind_node = m.required("kind")?;
    let kind = kind_node.str("kind")?;
    if registry.kind(&kind).is_none() {
        let names: Vec<&str> = registry.kinds().map(|k| k.name()).collect();
        let d = Diagnostic::new(kind_node.span, format!("unknown node kind `{kind}`")).with_label("unknown kind");
        return Err(match (did_you_mean(&kind, &names), names.is_empty()) {
            (Some(best), _) => d.with_hint(format!("did you mean `{best}`?")),
            (None, true) => d.with_hint("this chaoslab build has no node kinds registered"),
            (None, false) => d.with_hint(format!("known kinds: {}", quoted(&names))),
        });
    }
    let port_node = m.required("port")?;
    let port = port_node.u64("port")?;
    let port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
        Diagnostic::new(port_node.span, format!("port {port} is out of range")).with_hint("ports go from 1 to 65535")
    })?;
    let (name, name_span) = match m.get("name") {
        Some(v) => (v.str("node name")?, v.span),
        None => (port.to_string(), port_node.span),
    };
    if name.is_empty() || name.contains("${") || name.chars().any(char::is_whitespace) {
        return Err(Diagnostic::new(name_span, format!("bad node name `{name}`")).with_hint("no spaces and no `${`"));
    }
    if declared.node_by_name.contains_key(&name) {
        return Err(Diagnostic::new(name_span, format!("node `{name}` is declared twice"))
            .with_hint("give each node a distinct `name:`"));
    }
    let host = match m.get("host") {
        Some(h) => {
            let host = h.str("host")?;
            if declared.host(&host).is_none() {
                let names: Vec<&str> = declared.hosts.iter().map(|d| d.name.as_str()).collect();
                let d = Diagnostic::new(h.span, format!("unknown host `{host}`"));
                return Err(match did_you_mean(&host, &names) {
                    Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                    None => d.with_hint("declare it under `topology.hosts`"),
                });
            }
            host
        }
        None if bridge => {
            // Docker's default bridge hands out 172.17.0.2, .3, ... in start order.
            let Some(last) = u8::try_from(index + 2).ok().filter(|b| *b < 255) else {
                return Err(Diagnostic::new(n.span, "the bridge network 172.17.0.0/24 has room for 253 nodes")
                    .with_hint("declare `topology.hosts` with your own addresses and give nodes `host:`"));
            };
            let ip = Ipv4Addr::new(172, 17, 0, last);
            if declared.host_by_ip.contains_key(&ip) || declared.host(&name).is_some() {
                return Err(Diagnostic::new(n.span, format!("cannot give node `{name}` its own host {ip}"))
                    .with_hint("that name or address is already a declared host; set `host:` explicitly"));
            }
            declared.add_host(HostDecl { name: name.clone(), ip });
            name.clone()
        }
        None => {
            if declared.host("localhost").is_none() {
                declared.add_host(HostDecl { name: "localhost".to_owned(), ip: Ipv4Addr::LOCALHOST });
            }
            "localhost".to_owned()
        }
    };
    let ip = declared.host(&host).map(|h| h.ip).expect("host resolved above");
    if let Some(other) = declared.node_by_addr.get(&(host.clone(), port)).map(|&i| &earlier[i]) {
        return Err(Diagnostic::new(
            port_node.span,
            format!("port {port} on host {host} is already taken by node `{}`", other.name),
        )
        .with_hint("give the node another `port:`, or another host with `host:`"));
    }
    let (config, config_lines) = match m.get("config") {
        Some(c) => (c.str("config")?, config_lines(c, doc)),
        None => (String::new(), Vec::new()),
    };
    let start = match m.get("start") {
        Some(s) => s.bool("start")?,
        None => true,
    };
    let flavor = match m.get("flavor") {
        Some(f) => Some(parse_flavor(f, &kind, registry)?),
        None => None,
    };
    let costs = match m.get("costs") {
        Some(c) if !registry.kind(&kind).is_some_and(|k| k.models_costs()) => {
            return Err(Diagnostic::new(c.span, format!("a `{kind}` node takes no `costs:`"))
                .with_hint("time costs are modelled for redis nodes; remove it, or set it on a redis node"));
        }
        Some(c) => crate::costs::parse(c)?,
        None => crate::costs::Costs::default(),
    };
    m.finish(NODE_KEYS)?;
    Ok(NodeDecl { name, kind, host, ip, port, config, config_lines, start, flavor, costs, span: n.span })
}

/// A node's `flavor:`: one of its kind's flavors.
fn parse_flavor(f: &Node, kind: &str, registry: &Registry) -> Result<String, Diagnostic> {
    let value = f.str("flavor")?;
    let flavors = registry.kind(kind).map(|k| k.flavors()).unwrap_or_default();
    if flavors.is_empty() {
        return Err(Diagnostic::new(f.span, format!("kind `{kind}` has no flavors"))
            .with_hint("remove `flavor:`; only kinds that model several servers (mysql) have one"));
    }
    if flavors.contains(&value.as_str()) {
        return Ok(value);
    }
    let d = Diagnostic::new(f.span, format!("unknown {kind} flavor `{value}`")).with_label("unknown flavor");
    let listing = format!("flavors: {} (the first is the default)", quoted(flavors));
    Err(match did_you_mean(&value, flavors) {
        Some(best) => d.with_hint(format!("did you mean `{best}`? {listing}")),
        None => d.with_hint(listing),
    })
}

/// Spans of each line of a multi-line config (`config: |`), so kinds can point
/// at the directive that is wrong. The scalar's span starts at its first content
/// line (or, with some parsers, at the `|` indicator, the line before).
pub(crate) fn config_lines(c: &Node, doc: &Document) -> Vec<Span> {
    let src = &doc.source;
    let text = c.as_text().unwrap_or_default();
    let Some(at) = src.get(c.span.offset..) else { return vec![c.span] };
    let (mut offset, mut line) = if at.starts_with('|') || at.starts_with('>') {
        match at.find('\n') {
            Some(i) => (c.span.offset + i + 1, c.span.line + 1),
            None => return vec![c.span],
        }
    } else if text.contains('\n') {
        (src[..c.span.offset].rfind('\n').map_or(0, |i| i + 1), c.span.line)
    } else {
        return vec![c.span];
    };
    let mut spans = Vec::new();
    for content in text.lines() {
        if offset >= src.len() {
            break;
        }
        let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        let raw = &src[offset..line_end];
        let indent = raw.len() - raw.trim_start().len();
        spans.push(Span {
            line,
            column: indent as u32 + 1,
            offset: offset + indent,
            len: content.trim_end().len().max(1),
        });
        offset = line_end + 1;
        line += 1;
    }
    spans
}

fn latency(n: &Node) -> Result<Latency, Diagnostic> {
    if let Value::Map(_) = n.value {
        let mut m = n.map("latency")?;
        let min = m.required("min")?.duration("latency.min")?;
        let max_node = m.required("max")?;
        let max = max_node.duration("latency.max")?;
        m.finish(&["min", "max"])?;
        if max < min {
            return Err(Diagnostic::new(max_node.span, "latency max is below min")
                .with_hint("`max` must be at least `min`, e.g. `{min: 20us, max: 200us}`"));
        }
        return Ok(Latency::Uniform { min, max });
    }
    Ok(Latency::Fixed(n.duration("latency")?))
}

fn loss(n: &Node) -> Result<f64, Diagnostic> {
    let p = n.f64("loss")?;
    if !(0.0..1.0).contains(&p) {
        return Err(Diagnostic::new(n.span, format!("loss {p} is not a probability below 1"))
            .with_hint("e.g. 0.01 for 1% of transmissions lost (and retransmitted)"));
    }
    Ok(p)
}

/// Every way to write `bandwidth:`, for hints.
const BANDWIDTH_FORMS: &str = "write bytes per second (`125000000`), a rate such as `1gbit`, `100mbit`, `10mb` \
     (megabytes/s), `512kb` or `1gb`, or `unlimited`";

/// `bandwidth:` as bytes per second, 0 for `unlimited`. Units are decimal, as
/// link speeds are quoted: `kbit`/`mbit`/`gbit` count bits, `kb`/`mb`/`gb` bytes.
/// The error is the message; the caller adds where it is and the accepted forms.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "unlimited" {
        return Ok(0);
    }
    let digits = lower.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let (number, unit) = lower.split_at(digits);
    let (multiplier, bits) = match unit.trim_start() {
        "" => (1, false),
        "kb" => (1_000, false),
        "mb" => (1_000_000, false),
        "gb" => (1_000_000_000, false),
        "kbit" => (1_000, true),
        "mbit" => (1_000_000, true),
        "gbit" => (1_000_000_000, true),
        _ if number.is_empty() => return Err(format!("invalid bandwidth `{text}`")),
        other => return Err(format!("unknown bandwidth unit `{other}` in `{text}`")),
    };
    // Exact decimal arithmetic, so `1.5gbit` is 187500000 and not a float's guess.
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.contains('.') || number.ends_with('.') {
        return Err(format!("invalid bandwidth `{text}`"));
    }
    let too_large = || format!("bandwidth `{text}` is too large");
    let numerator = format!("{whole}{fraction}")
        .parse::<u128>()
        .ok()
        .and_then(|m| m.checked_mul(multiplier))
        .ok_or_else(too_large)?;
    let denominator = u32::try_from(fraction.len())
        .ok()
        .and_then(|len| 10u128.checked_pow(len))
        .and_then(|scale| scale.checked_mul(if bits { 8 } else { 1 }))
        .ok_or_else(too_large)?;
    if numerator % denominator != 0 {
        return Err(format!("bandwidth `{text}` is not a whole number of bytes per second"));
    }
    match u64::try_from(numerator / denominator) {
        Ok(0) => Err(format!("bandwidth `{text}` would carry nothing")),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(too_large()),
    }
}

fn bandwidth(n: &Node) -> Result<u64, Diagnostic> {
    let parsed = match n.value {
        // YAML integers in any spelling (`1_000_000`, `0x10`) are bytes per second.
        Value::Int(_) | Value::Float(_) => n.u64("bandwidth").and_then(|b| {
            if b == 0 { Err(Diagnostic::new(n.span, "bandwidth `0` would carry nothing")) } else { Ok(b) }
        }),
        Value::Str(ref text) => parse_bandwidth(text).map_err(|message| Diagnostic::new(n.span, message)),
        _ => Err(Diagnostic::new(n.span, format!("expected a bandwidth, found {}", n.kind_phrase()))),
    };
    parsed.map_err(|d| d.with_hint(BANDWIDTH_FORMS))
}

/// A link config from `{latency, loss, bandwidth}`, starting from `base`.
pub(crate) fn link_config(n: &Node, base: LinkConfig, extra: &[&str]) -> Result<LinkConfig, Diagnostic> {
    let mut m = n.map("link")?;
    let mut c = base;
    if let Some(l) = m.get("latency") {
        c.latency = latency(l)?;
    }
    if let Some(l) = m.get("loss") {
        c.loss = loss(l)?;
    }
    if let Some(b) = m.get("bandwidth") {
        c.bandwidth = bandwidth(b)?;
    }
    for k in extra {
        m.get(k);
    }
    let known: Vec<&str> = LINK_KEYS.iter().chain(extra).copied().collect();
    m.finish(&known)?;
    Ok(c)
}

fn parse_network(n: &Node, diags: &mut Diagnostics) -> NetConfig {
    let mut net = NetConfig::default();
    let Some(mut m) = keep(n.map("network"), diags) else { return net };
    if let Some(l) = m.get("latency").and_then(|l| keep(latency(l), diags)) {
        net.same_host.latency = l;
        net.cross_host.latency = l;
    }
    if let Some(p) = m.get("loss").and_then(|l| keep(loss(l), diags)) {
        net.same_host.loss = p;
        net.cross_host.loss = p;
    }
    if let Some(b) = m.get("bandwidth").and_then(|b| keep(bandwidth(b), diags)) {
        net.same_host.bandwidth = b;
        net.cross_host.bandwidth = b;
    }
    if let Some(c) = m.get("cross-host").and_then(|c| keep(link_config(c, net.cross_host, &[]), diags)) {
        net.cross_host = c;
    }
    for d in crate::socket_buffers::read(&mut m, &mut net) {
        diags.push(d);
    }
    keep(m.finish(NETWORK_KEYS), diags);
    net
}

/// The action of a step (its key, where the key is, its value) and its modifiers.
struct StepParts<'a> {
    key: &'a str,
    key_span: Span,
    value: Cow<'a, Node>,
    /// Written as a bare name (`- heal`), so the value is an empty one.
    bare: bool,
    at: Option<Duration>,
    note: Option<String>,
}

fn unknown_step(key: &str, span: Span, known: &[&str]) -> Diagnostic {
    let mut candidates = known.to_vec();
    candidates.extend_from_slice(STEP_MODIFIERS);
    let d = Diagnostic::new(span, format!("unknown step `{key}`")).with_label("unknown step");
    match did_you_mean(key, &candidates) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => d.with_hint(format!("steps are: {}", quoted(known))),
    }
}

fn step_parts<'a>(n: &'a Node, cx: &ParseCx<'_>, what: &str) -> Result<StepParts<'a>, Diagnostic> {
    let known = cx.registry.step_names();
    let entries = match &n.value {
        Value::Map(entries) => entries,
        // `- heal`: a step that takes no value may be written as its bare name.
        Value::Str(key) if known.contains(&key.as_str()) => {
            let value = Node { span: n.span, value: Value::Null, raw: None };
            return Ok(StepParts { key, key_span: n.span, value: Cow::Owned(value), bare: true, at: None, note: None });
        }
        Value::Str(key) => return Err(unknown_step(key, n.span, known)),
        _ => {
            return Err(Diagnostic::new(n.span, format!("expected a mapping for {what}, found {}", n.kind_phrase()))
                .with_hint("a step is one key, e.g. `- sleep: 2s` or `- kill: \"6381\"`"));
        }
    };
    let mut action: Option<&yaml::Entry> = None;
    let mut at = None;
    let mut note = None;
    for e in entries {
        match e.key.as_str() {
            "at" => at = Some(e.value.duration("at")?),
            "note" => note = Some(e.value.str("note")?),
            key if known.contains(&key) => {
                if let Some(first) = action {
                    return Err(Diagnostic::new(
                        e.key_span,
                        format!("a {what} has one action, found `{}` and `{key}`", first.key),
                    )
                    .with_hint("split them into two steps"));
                }
                action = Some(e);
            }
            key => return Err(unknown_step(key, e.key_span, known)),
        }
    }
    let action = action.ok_or_else(|| {
        Diagnostic::new(n.span, format!("this {what} has no action")).with_hint(format!("steps are: {}", quoted(known)))
    })?;
    Ok(StepParts {
        key: &action.key,
        key_span: action.key_span,
        value: Cow::Borrowed(&action.value),
        bare: false,
        at,
        note,
    })
}

/// Parses the action of a step. A bare name (`- kill`) of a step that needs a
/// value gets a hint saying so.
fn parse_action(parts: &StepParts<'_>, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    builtin::parse_step(parts.key, &parts.value, cx).map_err(|d| {
        if parts.bare {
            d.with_hint(format!(
                "`{key}` takes a value: write `- {key}: ...` (`chaoslab schema` says what); \
                 only steps without one, like `heal`, may be written bare",
                key = parts.key
            ))
        } else {
            d
        }
    })
}

/// The step's text as written, from its start to the end of its line.
fn first_line(doc: &Document, span: Span) -> String {
    // Find the line from the span's byte offset, not by counting lines from
    // the top: that made `check` quadratic in the number of steps.
    let src = &doc.source;
    let mut at = span.offset.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = src[at..].find('\n').map_or(src.len(), |i| at + i);
    // `lines()` drops a trailing '\r'; so does this.
    let line = src[start..end].strip_suffix('\r').unwrap_or(&src[start..end]);
    let from = (span.column.saturating_sub(1) as usize).min(line.len());
    line.get(from..).unwrap_or(line).trim().trim_start_matches("- ").to_owned()
}

fn parse_steps(n: &Node, doc: &Document, added: &[String], cx: &ParseCx<'_>, diags: &mut Diagnostics) -> Vec<StepDecl> {
    let Some(list) = keep(n.seq("steps"), diags) else { return Vec::new() };
    if list.is_empty() {
        diags.push(Diagnostic::new(n.span, "`steps` is empty").with_hint("add at least one step, e.g. `- sleep: 1s`"));
    }
    let mut steps = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Some(parts) = keep(step_parts(item, cx, "step"), diags) else { continue };
        let step = parse_action(&parts, cx);
        // A template's step is told as the template wrote it, not as the line it came from.
        let text = added.get(i).cloned().unwrap_or_else(|| first_line(doc, item.span));
        if let Some(step) = keep(step, diags) {
            steps.push(StepDecl {
                span: item.span,
                action: parts.key.to_owned(),
                text,
                at: parts.at,
                note: parts.note,
                step,
            });
        }
    }
    steps
}

fn parse_timed_faults(n: &Node, doc: &Document, cx: &ParseCx<'_>, diags: &mut Diagnostics) -> Vec<TimedFault> {
    let Some(list) = keep(n.seq("faults"), diags) else { return Vec::new() };
    let mut faults = Vec::new();
    for item in list {
        let Some(parts) = keep(step_parts(item, cx, "fault"), diags) else { continue };
        let key = parts.key;
        if !builtin::FAULT_STEPS.contains(&key) {
            diags.push(Diagnostic::new(parts.key_span, format!("`{key}` is not a fault")).with_hint(format!(
                "`faults:` takes {}; put other actions under `steps:`",
                quoted(builtin::FAULT_STEPS)
            )));
            continue;
        }
        let Some(at) = parts.at else {
            diags.push(
                Diagnostic::new(item.span, "a timed fault needs `at:`").with_hint("e.g. `- {at: 30s, kill: \"6381\"}`"),
            );
            continue;
        };
        if let Some(step) = keep(parse_action(&parts, cx), diags) {
            faults.push(TimedFault { at, span: item.span, step, text: first_line(doc, item.span) });
        }
    }
    faults.sort_by_key(|f| f.at);
    faults
}

fn parse_invariants(n: &Node, cx: &ParseCx<'_>, poll: Duration, diags: &mut Diagnostics) -> Vec<Invariant> {
    let Some(list) = keep(n.seq("invariants"), diags) else { return Vec::new() };
    list.iter().filter_map(|item| keep(parse_invariant(item, cx, poll), diags)).collect()
}

/// Keys of an invariant that are not conditions.
const INVARIANT_KEYS: [&str; 3] = ["name", "expect", "within"];

/// One `invariants:` item: a condition, with an optional `name`, `expect`
/// (`hold` or `violated`) and `within` (how long it may stay false).
fn parse_invariant(item: &Node, cx: &ParseCx<'_>, poll: Duration) -> Result<Invariant, Diagnostic> {
    let (condition, _) = builtin::parse_condition_map(item, "invariant", &INVARIANT_KEYS, cx)?;
    let field = |key: &str| match &item.value {
        Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
        _ => None,
    };
    let name = field("name").map(|n| n.str("invariant name")).transpose()?;
    let expect_violated = match field("expect") {
        None => false,
        Some(e) => match e.str("expect")?.as_str() {
            "hold" => false,
            "violated" => true,
            other => {
                return Err(Diagnostic::new(e.span, format!("unknown expectation `{other}` for an invariant"))
                    .with_label("expected `hold` or `violated`")
                    .with_hint("`expect: hold` (the default) fails the run when it breaks; `expect: violated` fails it when it never does"));
            }
        },
    };
    let within = field("within").map(|w| invariant_within(w, poll)).transpose()?;
    Ok(Invariant { span: item.span, condition, name, expect_violated, within })
}

/// An invariant's `within`: no shorter than the poll, or no poll could see
/// the condition false for that long and then true again in time.
fn invariant_within(n: &Node, poll: Duration) -> Result<Duration, Diagnostic> {
    let within = n.duration("within")?;
    if within < poll {
        return Err(Diagnostic::new(
            n.span,
            format!(
                "`within: {}` is shorter than the poll ({})",
                yaml::format_duration(within),
                yaml::format_duration(poll)
            ),
        )
        .with_label("shorter than the poll")
        .with_hint(format!(
            "invariants are looked at once per poll: make `within` at least {} or set a shorter top-level `poll:`",
            yaml::format_duration(poll)
        )));
    }
    Ok(within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_utc_epoch_ms() {
        assert_eq!(parse_start_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_start_time("2026-01-01T00:00:00Z"), Ok(1_767_225_600_000));
        assert_eq!(parse_start_time("2024-02-29T12:34:56Z"), Ok(1_709_210_096_000));
        assert!(parse_start_time("2023-02-29T00:00:00Z").is_err());
        assert!(parse_start_time("2026-01-01 00:00:00").is_err());
    }

    #[test]
    fn bandwidth_units_are_decimal_bits_or_bytes_per_second() {
        assert_eq!(parse_bandwidth("1gbit"), Ok(125_000_000));
        assert_eq!(parse_bandwidth("100mbit"), Ok(12_500_000));
        assert_eq!(parse_bandwidth("10mb"), Ok(10_000_000));
        assert_eq!(parse_bandwidth("512kb"), Ok(512_000));
        assert_eq!(parse_bandwidth("1gb"), Ok(1_000_000_000));
        assert_eq!(parse_bandwidth("1.5Gbit"), Ok(187_500_000));
        assert_eq!(parse_bandwidth("2 MB"), Ok(2_000_000));
        assert_eq!(parse_bandwidth("125000000"), Ok(125_000_000));
        assert_eq!(parse_bandwidth("unlimited"), Ok(0));
        assert_eq!(parse_bandwidth("10mbps"), Err("unknown bandwidth unit `mbps` in `10mbps`".to_owned()));
        assert_eq!(parse_bandwidth("fast"), Err("invalid bandwidth `fast`".to_owned()));
        assert_eq!(parse_bandwidth("1.kb"), Err("invalid bandwidth `1.kb`".to_owned()));
        assert_eq!(parse_bandwidth("0mbit"), Err("bandwidth `0mbit` would carry nothing".to_owned()));
        assert_eq!(
            parse_bandwidth("1.0001kbit"),
            Err("bandwidth `1.0001kbit` is not a whole number of bytes per second".to_owned())
        );
        assert_eq!(parse_bandwidth("99999999999gb"), Err("bandwidth `99999999999gb` is too large".to_owned()));
        assert_eq!(parse_bandwidth("1.2.3mb"), Err("invalid bandwidth `1.2.3mb`".to_owned()));
    }
}
