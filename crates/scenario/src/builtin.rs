//! Built-in steps and conditions: faults, `sleep`, `wait-until`, `assert`,
//! `capture`, and conditions on process state and log lines. They use the same
//! traits as node kinds do, and lookup goes built-ins first, then each kind.

use crate::diag::Diagnostic;
use crate::error::RunError;
use crate::kind::{Condition, Observation, ParseCx, Step, Syntax, quoted, quoted_some};
use crate::parse::link_config;
use crate::runner::Runtime;
use crate::template::{NodeRef, Template};
use crate::yaml::{Node, Value, did_you_mean, format_duration, parse_duration};
use serde_json::json;
use sim::{Fault, LinkConfig, ProcId, ProcState};
use std::time::Duration;

/// Steps allowed under `faults:` (applied at fixed times).
pub const FAULT_STEPS: &[&str] = &[
    "start",
    "stop",
    "kill",
    "restart",
    "pause",
    "resume",
    "wipe",
    "crash-host",
    "start-host",
    "partition",
    "partition-one-way",
    "heal",
    "link",
    "clock",
];

fn node_schema() -> serde_json::Value {
    json!({"type": ["string", "integer"], "description": "a node name, or ${capture}"})
}

fn endpoints_schema() -> serde_json::Value {
    json!({"type": "array", "items": node_schema()})
}

/// The built-in steps.
pub fn steps() -> Vec<Syntax> {
    let node = |name, doc| Syntax { name, doc, schema: node_schema() };
    let condition = json!({"$ref": "#/$defs/condition"});
    vec![
        Syntax {
            name: "sleep",
            doc: "let virtual time pass",
            schema: json!({"type": "string", "examples": ["500ms", "15s"]}),
        },
        Syntax {
            name: "wait-until",
            doc: "wait until a condition holds; fails after `within`, saying what was last observed",
            schema: json!({"allOf": [condition, {"type": "object", "required": ["within"], "properties": {
                "within": {"type": "string"}, "poll": {"type": "string"}, "capture": {"type": "string"}}}]}),
        },
        Syntax { name: "assert", doc: "fail unless a condition holds now", schema: condition.clone() },
        Syntax {
            name: "capture",
            doc: "store what a condition observes under `name`, for `${name}` in later steps",
            schema: json!({"allOf": [condition, {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]}),
        },
        node("start", "start a stopped node on its disk (docker start); waits until it listens (its start-up time)"),
        node(
            "stop",
            "SIGTERM, then wait until the node has exited, SIGKILL after 10 s (docker stop): a Redis master waits for its replicas (shutdown-timeout) and saves",
        ),
        node("kill", "SIGKILL: no shutdown path; unsynced writes survive in the page cache"),
        node("restart", "stop (as `stop` waits), then start (docker restart), waiting until it listens"),
        node("pause", "SIGSTOP (docker pause): inputs queue, timers fire late"),
        node("resume", "SIGCONT (docker unpause)"),
        node("wipe", "kill if running and replace the disk by an empty one (docker rm + new volume)"),
        Syntax {
            name: "crash-host",
            doc: "power loss of a host (or a node's host): unsynced writes lost, peers not told",
            schema: node_schema(),
        },
        Syntax { name: "start-host", doc: "power a crashed host back on", schema: node_schema() },
        Syntax {
            name: "partition",
            doc: "symmetric partition into groups; nodes in no group form one more group",
            schema: json!({"type": "array", "items": endpoints_schema()}),
        },
        Syntax {
            name: "partition-one-way",
            doc: "drop packets from `from` to `to` only",
            schema: json!({"type": "object", "required": ["from", "to"], "additionalProperties": false,
                "properties": {"from": endpoints_schema(), "to": endpoints_schema()}}),
        },
        Syntax { name: "heal", doc: "remove every partition", schema: json!({"type": "null"}) },
        Syntax {
            name: "link",
            doc: "set latency, loss and bandwidth between two nodes or hosts",
            schema: json!({"type": "object", "required": ["between"], "additionalProperties": false, "properties": {
                "between": {"type": "array", "items": node_schema(), "minItems": 2, "maxItems": 2},
                "latency": {"$ref": "#/$defs/latency"}, "loss": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                "bandwidth": {"$ref": "#/$defs/bandwidth"}}}),
        },
        Syntax {
            name: "clock",
            doc: "skew (`offset`) or step (`jump`) a node's wall clock; monotonic time is untouched",
            schema: json!({"type": "object", "required": ["node"], "additionalProperties": false, "properties": {
                "node": node_schema(), "offset": {"type": "string", "examples": ["-5s"]}, "jump": {"type": "string", "examples": ["30s"]}}}),
        },
    ]
    .into_iter()
    .chain(std::iter::once(crate::liveness::syntax()))
    .chain(crate::background::steps())
    .chain(crate::workload::steps())
    .collect()
}

/// The built-in conditions.
pub fn conditions() -> Vec<Syntax> {
    let condition = json!({"$ref": "#/$defs/condition"});
    vec![
        Syntax {
            name: "state",
            doc: "a node is running, paused or down",
            schema: json!({"type": "object", "required": ["node", "is"], "additionalProperties": false, "properties": {
                "node": node_schema(), "is": {"enum": ["running", "paused", "down"]}}}),
        },
        Syntax {
            name: "log",
            doc: "a line of a node's log matches a regex; observes the last match (its first group, if any)",
            schema: json!({"type": "object", "required": ["node", "matches"], "additionalProperties": false, "properties": {
                "node": node_schema(), "matches": {"type": "string"}}}),
        },
        Syntax { name: "all", doc: "every condition holds", schema: json!({"type": "array", "items": condition}) },
        Syntax {
            name: "any",
            doc: "at least one condition holds",
            schema: json!({"type": "array", "items": condition}),
        },
        Syntax {
            name: "at-most-one",
            doc: "no two of the conditions hold at once (e.g. at most one master in a replication group)",
            schema: json!({"type": "array", "minItems": 2, "items": condition}),
        },
        Syntax { name: "not", doc: "the condition does not hold", schema: condition },
    ]
}

/// Parses step `name` (built-in or from a kind).
pub(crate) fn parse_step(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let fault = |f: fn(NodeRef) -> FaultStep| -> Result<Box<dyn Step>, Diagnostic> {
        Ok(Box::new(f(cx.node_ref(value, name)?)))
    };
    match name {
        "await" | "stop-client" => crate::background::parse_step(name, value, cx),
        "workload" => crate::workload::parse_step(value, cx),
        "liveness" => crate::liveness::parse_step(value, cx),
        "sleep" => Ok(Box::new(Sleep(value.duration("sleep")?))),
        "wait-until" => parse_wait(value, cx),
        "assert" => Ok(Box::new(Assert(cx.condition(value, "assert")?))),
        "capture" => {
            let mut m = value.map("capture")?;
            let name_node = m.required("name")?;
            let var = name_node.str("capture name")?;
            Template::parse(&format!("${{{var}}}"))
                .map_err(|e| Diagnostic::new(name_node.span, e).with_hint("e.g. `name: pid`"))?;
            let (condition, _) = parse_condition_map(value, "capture", &["name"], cx)?;
            cx.declare_capture(&var);
            Ok(Box::new(Capture { var, condition }))
        }
        "start" => fault(FaultStep::Start),
        "stop" => fault(FaultStep::Stop),
        "kill" => fault(FaultStep::Kill),
        "restart" => fault(FaultStep::Restart),
        "pause" => fault(FaultStep::Pause),
        "resume" => fault(FaultStep::Resume),
        "wipe" => fault(FaultStep::Wipe),
        "crash-host" => Ok(Box::new(FaultStep::CrashHost(endpoint_ref(value, cx, name)?))),
        "start-host" => Ok(Box::new(FaultStep::StartHost(endpoint_ref(value, cx, name)?))),
        "partition" => {
            let groups = value.seq("partition")?;
            if groups.is_empty() {
                return Err(Diagnostic::new(value.span, "a partition needs at least one group")
                    .with_hint("e.g. `partition: [[\"6381\"], [\"6382\", \"6383\"]]`"));
            }
            let groups = groups.iter().map(|g| endpoint_list(g, cx, "partition group")).collect::<Result<_, _>>()?;
            Ok(Box::new(FaultStep::Partition(groups)))
        }
        "partition-one-way" => {
            let mut m = value.map("partition-one-way")?;
            let from = endpoint_list(m.required("from")?, cx, "from")?;
            let to = endpoint_list(m.required("to")?, cx, "to")?;
            m.finish(&["from", "to"])?;
            Ok(Box::new(FaultStep::OneWay { from, to }))
        }
        "heal" => {
            if !value.is_null() && !matches!(&value.value, Value::Map(e) if e.is_empty()) {
                return Err(
                    Diagnostic::new(value.span, "`heal` takes no value").with_hint("write `- heal` (or `- heal:`)")
                );
            }
            Ok(Box::new(FaultStep::Heal))
        }
        "link" => {
            let mut m = value.map("link")?;
            let between_node = m.required("between")?;
            let between = between_node.seq("link.between")?;
            let [a, b] = between else {
                return Err(Diagnostic::new(between_node.span, "`between` takes exactly two nodes or hosts")
                    .with_hint("e.g. `between: [\"6379\", \"6380\"]`"));
            };
            let config = link_config(value, LinkConfig::LOOPBACK, &["between"])?;
            Ok(Box::new(FaultStep::Link {
                a: endpoint_ref(a, cx, "link")?,
                b: endpoint_ref(b, cx, "link")?,
                config: (m.get("latency").is_some(), m.get("loss").is_some(), m.get("bandwidth").is_some(), config),
            }))
        }
        "clock" => {
            let mut m = value.map("clock")?;
            let node = cx.node_ref(m.required("node")?, "clock")?;
            let offset = m.get("offset").map(|n| signed_ms(n, "clock.offset")).transpose()?;
            let jump = m.get("jump").map(|n| signed_ms(n, "clock.jump")).transpose()?;
            m.finish(&["node", "offset", "jump"])?;
            if offset.is_none() && jump.is_none() {
                return Err(Diagnostic::new(value.span, "`clock` needs `offset` or `jump`")
                    .with_hint("e.g. `clock: {node: \"26379\", jump: 30s}`"));
            }
            Ok(Box::new(FaultStep::Clock { node, offset, jump }))
        }
        _ => {
            let kind = cx.registry.step_kind(name);
            match kind {
                Some(kind) => kind.parse_step(name, value, cx),
                None => Err(Diagnostic::new(value.span, format!("unknown step `{name}`"))
                    .with_hint(format!("steps are: {}", quoted(cx.registry.step_names())))),
            }
        }
    }
}

/// `-5s`, `30s`, `1m30s` as signed milliseconds.
fn signed_ms(n: &Node, what: &str) -> Result<i64, Diagnostic> {
    let text = n.str(what)?;
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let d = parse_duration(body)
        .map_err(|hint| Diagnostic::new(n.span, format!("invalid duration `{text}` for {what}")).with_hint(hint))?;
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    Ok(if negative { -ms } else { ms })
}

/// A node name, a host name or a capture.
fn endpoint_ref(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<NodeRef, Diagnostic> {
    let template = cx.template(n, what)?;
    if let Some(name) = template.literal()
        && cx.host_index.contains(name)
    {
        return Ok(NodeRef { template, span: n.span });
    }
    cx.node_ref(n, what).map_err(|d| {
        if d.hint.as_deref().is_some_and(|h| h.starts_with("did you mean")) || cx.hosts.is_empty() {
            d
        } else {
            let hosts: Vec<&str> = cx.hosts.iter().map(String::as_str).collect();
            Diagnostic {
                hint: Some(format!("{}; hosts are: {}", d.hint.unwrap_or_default(), quoted_some(&hosts))),
                ..d
            }
        }
    })
}

fn endpoint_list(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<Vec<NodeRef>, Diagnostic> {
    match &n.value {
        Value::Seq(items) => items.iter().map(|i| endpoint_ref(i, cx, what)).collect(),
        _ => Ok(vec![endpoint_ref(n, cx, what)?]),
    }
}

fn parse_wait(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("wait-until")?;
    let within = m.get("within").ok_or_else(|| {
        Diagnostic::new(value.span, "`wait-until` needs `within`")
            .with_hint("say how long to wait at most, e.g. `within: 30s`")
    })?;
    let within = within.duration("within")?;
    let poll = m.get("poll").map(|p| crate::parse::poll_duration(p, "poll")).transpose()?;
    let capture = m.get("capture").map(|c| c.str("capture")).transpose()?;
    let (condition, _) = parse_condition_map(value, "wait-until", &["within", "poll", "capture"], cx)?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(WaitUntil { condition, within, poll, capture }))
}

/// Parses the condition keys of a mapping (all but `reserved`); several keys mean all must hold.
pub(crate) fn parse_condition_map(
    value: &Node,
    what: &str,
    reserved: &[&str],
    cx: &ParseCx<'_>,
) -> Result<(Box<dyn Condition>, usize), Diagnostic> {
    let Value::Map(entries) = &value.value else {
        return Err(Diagnostic::new(
            value.span,
            format!("expected a condition for {what}, found {}", value.kind_phrase()),
        )
        .with_hint("a condition is a mapping, e.g. `state: {node: \"6379\", is: down}`"));
    };
    let known = cx.registry.condition_names();
    let mut parsed: Vec<Box<dyn Condition>> = Vec::new();
    for e in entries {
        if reserved.contains(&e.key.as_str()) {
            continue;
        }
        if !known.contains(&e.key.as_str()) {
            let mut candidates = known.to_vec();
            candidates.extend_from_slice(reserved);
            let d = Diagnostic::new(e.key_span, format!("unknown condition `{}` in {what}", e.key))
                .with_label("unknown condition");
            return Err(match did_you_mean(&e.key, &candidates) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint(format!("conditions are: {}", quoted(known))),
            });
        }
        parsed.push(parse_condition(&e.key, &e.value, cx)?);
    }
    let count = parsed.len();
    match count {
        0 => Err(Diagnostic::new(value.span, format!("{what} has no condition"))
            .with_hint(format!("conditions are: {}", quoted(known)))),
        1 => Ok((parsed.pop().expect("one condition"), 1)),
        _ => Ok((Box::new(All(parsed)), count)),
    }
}

fn parse_condition(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    if let Some(quantified) = crate::quantify::parse(name, value, cx) {
        return quantified;
    }
    parse_one_condition(name, value, cx)
}

/// Parses condition `name` as written, for one node.
pub(crate) fn parse_one_condition(
    name: &str,
    value: &Node,
    cx: &ParseCx<'_>,
) -> Result<Box<dyn Condition>, Diagnostic> {
    match name {
        "state" => {
            let mut m = value.map("state")?;
            let node = cx.node_ref(m.required("node")?, "state")?;
            let is_node = m.required("is")?;
            let is = match is_node.str("state.is")?.as_str() {
                "running" => ProcState::Running,
                "paused" => ProcState::Paused,
                "down" => ProcState::Down,
                other => {
                    return Err(Diagnostic::new(is_node.span, format!("unknown state `{other}`"))
                        .with_hint("`running`, `paused` or `down`"));
                }
            };
            m.finish(&["node", "is"])?;
            Ok(Box::new(StateIs { node, is }))
        }
        "log" => {
            let mut m = value.map("log")?;
            let node = cx.node_ref(m.required("node")?, "log")?;
            let pattern_node = m.required("matches")?;
            let pattern = cx.template(pattern_node, "log.matches")?;
            let compiled = match pattern.literal() {
                Some(literal) => Some(regex::Regex::new(literal).map_err(|e| {
                    Diagnostic::new(pattern_node.span, "invalid regular expression")
                        .with_hint(e.to_string().replace('\n', " "))
                })?),
                None => None,
            };
            m.finish(&["node", "matches"])?;
            Ok(Box::new(LogMatches { node, pattern, compiled }))
        }
        "all" | "any" => {
            let items = value.seq(name)?;
            if items.is_empty() {
                return Err(Diagnostic::new(value.span, format!("`{name}` needs at least one condition"))
                    .with_hint(format!("e.g. `{name}: [{{state: {{node: \"6379\", is: running}}}}]`")));
            }
            let parsed = items.iter().map(|i| cx.condition(i, name)).collect::<Result<Vec<_>, _>>()?;
            Ok(if name == "all" { Box::new(All(parsed)) } else { Box::new(Any(parsed)) })
        }
        "at-most-one" => {
            let items = value.seq(name)?;
            if items.len() < 2 {
                return Err(Diagnostic::new(value.span, "`at-most-one` needs at least two conditions").with_hint(
                    "list what must not hold together, e.g. `at-most-one: [{role: {node: \"6379\", is: master}}, {role: {node: \"6380\", is: master}}]`",
                ));
            }
            let parsed = items.iter().map(|i| cx.condition(i, name)).collect::<Result<Vec<_>, _>>()?;
            Ok(Box::new(AtMostOne(parsed)))
        }
        "not" => Ok(Box::new(Not(cx.condition(value, "not")?))),
        _ => {
            let kind = cx.registry.condition_kind(name);
            match kind {
                Some(kind) => kind.parse_condition(name, value, cx),
                None => Err(Diagnostic::new(value.span, format!("unknown condition `{name}`"))
                    .with_hint(format!("conditions are: {}", quoted(cx.registry.condition_names())))),
            }
        }
    }
}

struct Sleep(Duration);

impl Step for Sleep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        rt.advance(self.0)?;
        Ok(String::new())
    }
}

struct WaitUntil {
    condition: Box<dyn Condition>,
    within: Duration,
    poll: Option<Duration>,
    capture: Option<String>,
}

impl Step for WaitUntil {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let started = rt.sim.now();
        let seen = rt.wait_for(self.condition.as_ref(), self.within, self.poll)?;
        let waited = format_duration(rt.sim.now() - started);
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), seen.observed.clone());
            return Ok(format!("after {waited}: {} (captured as ${{{var}}})", seen.observed));
        }
        Ok(format!("after {waited}: {}", seen.observed))
    }
}

struct Assert(Box<dyn Condition>);

impl Step for Assert {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let seen = self.0.observe(rt)?;
        if seen.holds {
            Ok(seen.observed)
        } else {
            Err(RunError::Check(format!("expected {}, observed: {}", self.0.describe(), seen.observed)))
        }
    }
}

struct Capture {
    var: String,
    condition: Box<dyn Condition>,
}

impl Step for Capture {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let seen = self.condition.observe(rt)?;
        if !seen.holds {
            return Err(RunError::Check(format!(
                "nothing to capture: expected {}, observed: {}",
                self.condition.describe(),
                seen.observed
            )));
        }
        rt.captures.insert(self.var.clone(), seen.observed.clone());
        Ok(format!("${{{}}} = {}", self.var, seen.observed))
    }
}

/// A fault as a step (also what the nemesis applies, with literal names).
pub(crate) enum FaultStep {
    Start(NodeRef),
    Stop(NodeRef),
    Kill(NodeRef),
    Restart(NodeRef),
    Pause(NodeRef),
    Resume(NodeRef),
    Wipe(NodeRef),
    CrashHost(NodeRef),
    StartHost(NodeRef),
    Partition(Vec<Vec<NodeRef>>),
    OneWay {
        from: Vec<NodeRef>,
        to: Vec<NodeRef>,
    },
    Heal,
    /// (latency given, loss given, bandwidth given, config) — what is not given keeps the link's default.
    Link {
        a: NodeRef,
        b: NodeRef,
        config: (bool, bool, bool, LinkConfig),
    },
    Clock {
        node: NodeRef,
        offset: Option<i64>,
        jump: Option<i64>,
    },
}

impl Step for FaultStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let endpoints =
            |rt: &Runtime, refs: &[NodeRef]| refs.iter().map(|r| rt.endpoint(r)).collect::<Result<Vec<_>, _>>();
        let fault = match self {
            FaultStep::Start(n) => {
                let p = rt.proc(n)?;
                rt.apply(Fault::Start(p))?;
                rt.await_listening(&[p])?;
                return Ok(String::new());
            }
            FaultStep::Stop(n) => return docker_stop(rt, rt.proc(n)?),
            FaultStep::Kill(n) => Fault::Kill(rt.proc(n)?),
            FaultStep::Restart(n) => {
                let p = rt.proc(n)?;
                let stopped = match rt.sim.proc_state(p) {
                    ProcState::Down => String::new(),
                    _ => docker_stop(rt, p)?,
                };
                rt.apply(Fault::Start(p))?;
                rt.await_listening(&[p])?;
                return Ok(stopped);
            }
            FaultStep::Pause(n) => Fault::Pause(rt.proc(n)?),
            FaultStep::Resume(n) => Fault::Resume(rt.proc(n)?),
            FaultStep::Wipe(n) => Fault::Wipe(rt.proc(n)?),
            FaultStep::CrashHost(n) => Fault::CrashHost(rt.host(n)?),
            FaultStep::StartHost(n) => Fault::StartHost(rt.host(n)?),
            FaultStep::Partition(groups) => {
                Fault::Partition(groups.iter().map(|g| endpoints(rt, g)).collect::<Result<_, _>>()?)
            }
            FaultStep::OneWay { from, to } => {
                Fault::PartitionOneWay { from: endpoints(rt, from)?, to: endpoints(rt, to)? }
            }
            FaultStep::Heal => Fault::Heal,
            FaultStep::Link { a, b, config: (has_latency, has_loss, has_bandwidth, config) } => {
                let (a, b) = (rt.endpoint(a)?, rt.endpoint(b)?);
                let base = rt.default_link(a, b);
                let config = LinkConfig {
                    latency: if *has_latency { config.latency } else { base.latency },
                    loss: if *has_loss { config.loss } else { base.loss },
                    bandwidth: if *has_bandwidth { config.bandwidth } else { base.bandwidth },
                };
                Fault::Link { a, b, config }
            }
            FaultStep::Clock { node, offset, jump } => {
                let proc = rt.proc(node)?;
                if let Some(offset_ms) = offset {
                    rt.apply(Fault::ClockSet { proc, offset_ms: *offset_ms })?;
                }
                match jump {
                    Some(delta_ms) => Fault::ClockJump { proc, delta_ms: *delta_ms },
                    None => return Ok(String::new()),
                }
            }
        };
        rt.apply(fault)?;
        Ok(String::new())
    }
}

/// `docker stop`'s grace period (its `--time` default) before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// `docker stop`: SIGTERM, the node's shutdown runs in virtual time (a Redis
/// master waits for its replicas), SIGKILL if it has not exited after
/// [`STOP_GRACE`]. Says how long it took.
pub(crate) fn docker_stop(rt: &mut Runtime, p: ProcId) -> Result<String, RunError> {
    let from = rt.sim.now();
    rt.apply(Fault::Stop(p))?;
    let exited = rt.advance_until(from + STOP_GRACE, |rt| Ok(rt.sim.proc_state(p) == ProcState::Down))?;
    let took = format_duration(rt.sim.now() - from);
    if exited {
        return Ok(format!("exited after {took}"));
    }
    rt.apply(Fault::Kill(p))?;
    Ok(format!("still running after {took}: killed (SIGKILL)"))
}

struct StateIs {
    node: NodeRef,
    is: ProcState,
}

fn state_name(s: ProcState) -> &'static str {
    match s {
        ProcState::Running => "running",
        ProcState::Paused => "paused",
        ProcState::Down => "down",
    }
}

impl Condition for StateIs {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let p = rt.proc(&self.node)?;
        let state = rt.sim.proc_state(p);
        Ok(Observation {
            holds: state == self.is,
            observed: format!("{} is {}", rt.sim.proc_name(p), state_name(state)),
        })
    }
    fn describe(&self) -> String {
        format!("{} is {}", self.node, state_name(self.is))
    }
}

struct LogMatches {
    node: NodeRef,
    pattern: Template,
    /// Compiled once when the pattern has no `${capture}`.
    compiled: Option<regex::Regex>,
}

impl Condition for LogMatches {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let p = rt.proc(&self.node)?;
        let rendered;
        let re = match &self.compiled {
            Some(re) => re,
            None => {
                let pattern = rt.render(&self.pattern)?;
                rendered =
                    regex::Regex::new(&pattern).map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))?;
                &rendered
            }
        };
        let lines = rt.sim.log_lines(p);
        let hit = lines.iter().rev().find_map(|line| {
            re.captures(line).map(|c| c.get(1).map_or_else(|| line.clone(), |g| g.as_str().to_owned()))
        });
        Ok(match hit {
            Some(observed) => Observation { holds: true, observed },
            None => Observation {
                holds: false,
                observed: match lines.last() {
                    Some(last) => format!("no match in {} lines; last: {last}", lines.len()),
                    None => "the log is empty".to_owned(),
                },
            },
        })
    }
    fn describe(&self) -> String {
        format!("log of {} matches /{}/", self.node, self.pattern)
    }
}

pub(crate) struct All(pub(crate) Vec<Box<dyn Condition>>);

impl Condition for All {
    fn changes_only_with_events(&self) -> bool {
        self.0.iter().all(|c| c.changes_only_with_events())
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut observed = Vec::new();
        for c in &self.0 {
            let o = c.observe(rt)?;
            if !o.holds {
                return Ok(Observation { holds: false, observed: o.observed });
            }
            observed.push(o.observed);
        }
        Ok(Observation { holds: true, observed: observed.join("; ") })
    }
    fn describe(&self) -> String {
        self.0.iter().map(|c| c.describe()).collect::<Vec<_>>().join(" and ")
    }
}

pub(crate) struct Any(pub(crate) Vec<Box<dyn Condition>>);

impl Condition for Any {
    fn changes_only_with_events(&self) -> bool {
        self.0.iter().all(|c| c.changes_only_with_events())
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut observed = Vec::new();
        for c in &self.0 {
            let o = c.observe(rt)?;
            if o.holds {
                return Ok(o);
            }
            observed.push(o.observed);
        }
        Ok(Observation { holds: false, observed: observed.join("; ") })
    }
    fn describe(&self) -> String {
        self.0.iter().map(|c| c.describe()).collect::<Vec<_>>().join(" or ")
    }
}

/// No two of the conditions hold at once.
struct AtMostOne(Vec<Box<dyn Condition>>);

impl Condition for AtMostOne {
    fn changes_only_with_events(&self) -> bool {
        self.0.iter().all(|c| c.changes_only_with_events())
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut holding = Vec::new();
        for c in &self.0 {
            if c.observe(rt)?.holds {
                holding.push(c.describe());
            }
        }
        let observed = match holding.len() {
            0 => "none holds".to_owned(),
            1 => format!("only {} holds", holding[0]),
            n => format!("{n} hold at once: {}", holding.join(", ")),
        };
        Ok(Observation { holds: holding.len() <= 1, observed })
    }
    fn describe(&self) -> String {
        format!("at most one of: {}", self.0.iter().map(|c| c.describe()).collect::<Vec<_>>().join(", "))
    }
}

struct Not(Box<dyn Condition>);

impl Condition for Not {
    fn changes_only_with_events(&self) -> bool {
        self.0.changes_only_with_events()
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let o = self.0.observe(rt)?;
        Ok(Observation { holds: !o.holds, observed: o.observed })
    }
    fn describe(&self) -> String {
        format!("not ({})", self.0.describe())
    }
}
