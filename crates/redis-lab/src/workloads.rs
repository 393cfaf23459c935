//! The `workloads:` of Redis deployments: reads a workload's keys into a
//! [`workload::Spec`] (client kind, operations, keys, pace, redis-py's
//! timeouts and retries) and starts its clients as processes on the given
//! hosts, so a partition that cuts a host off cuts its clients off too.

use scenario::diag::Diagnostic;
use scenario::error::RunError;
use scenario::workload::{WorkloadDriver, WorkloadPlan, WorkloadRun};
use scenario::yaml::{MapReader, Node, Span, did_you_mean};
use scenario::{ParseCx, Runtime};
use serde_json::json;
use sim::Fault;
use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;
use std::time::Duration;
use workload::spec::{REDIS_PY_CLUSTER_RETRIES, REDIS_PY_RETRIES};
use workload::{Client, Keys, Log, Model, Pace, Spec, Target, Wait};

const KEYS: &[&str] = &[
    "client",
    "node",
    "nodes",
    "sentinels",
    "master",
    "model",
    "read-fraction",
    "keys",
    "rate",
    "think",
    "clients",
    "hosts",
    "socket-timeout",
    "socket-connect-timeout",
    "retries",
    "wait",
    "final-read-attempts",
];
const CLIENTS: &[&str] = &["redis", "cluster", "sentinel"];
const MODELS: &[&str] = &["register", "counter", "set", "list"];
const DISTRIBUTIONS: &[&str] = &["uniform", "zipf"];
/// The most clients one workload may run.
const MAX_CLIENTS: u64 = 10_000;
/// The most keys one workload may draw from.
const MAX_KEYS: u64 = 100_000;
/// The fastest pace of one client.
const MAX_RATE: f64 = 100_000.0;

/// The driver the `redis` kind registers.
pub struct RedisWorkloads;

impl WorkloadDriver for RedisWorkloads {
    fn keys(&self) -> &'static [&'static str] {
        KEYS
    }

    fn schema(&self) -> serde_json::Value {
        let nodes = json!({"type": "array", "items": {"type": "string"}, "minItems": 1});
        json!({
            "client": {"enum": CLIENTS, "description": "redis: one node (redis-py `Redis`); cluster: `RedisCluster` (CLUSTER SLOTS, MOVED, ASK); sentinel: `Sentinel.master_for`"},
            "node": {"type": "string", "description": "client: redis — the node"},
            "nodes": nodes.clone(), "sentinels": nodes.clone(),
            "master": {"type": "string", "default": "mymaster", "description": "client: sentinel — the monitored master's name"},
            "model": {"enum": MODELS, "default": "register", "description": "register SET/GET, counter INCR/GET, set SADD/SMEMBERS, list RPUSH/LRANGE (unique elements)"},
            "read-fraction": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
            "keys": {"oneOf": [{"type": "array", "items": {"type": "string"}, "minItems": 1},
                {"type": "object", "additionalProperties": false, "properties": {
                    "count": {"type": "integer", "minimum": 1, "default": 10}, "prefix": {"type": "string"},
                    "distribution": {"enum": DISTRIBUTIONS, "default": "uniform"}, "exponent": {"type": "number", "default": 1.0}}}]},
            "rate": {"type": "string", "examples": ["50/s"], "description": "open loop: operations per second per client"},
            "think": {"type": "string", "default": "10ms", "description": "closed loop: pause after each reply"},
            "clients": {"type": "integer", "minimum": 1, "default": 1},
            "hosts": {"type": "array", "items": {"type": "string"}, "description": "hosts (or nodes, for their host) the clients run on, in turn"},
            "socket-timeout": {"type": "string", "description": "redis-py socket_timeout (default None: wait for ever)"},
            "socket-connect-timeout": {"type": "string", "description": "redis-py socket_connect_timeout (default None)"},
            "retries": {"type": "integer", "minimum": 0, "description": "resends after a connection error or timeout (redis-py: 0 for Redis, 3 for RedisCluster's cluster_error_retry_attempts)"},
            "wait": {"type": "object", "required": ["replicas"], "additionalProperties": false, "properties": {
                "replicas": {"type": "integer", "minimum": 0}, "timeout": {"type": "string", "default": "100ms"}}},
            "final-read-attempts": {"type": "integer", "minimum": 1, "default": 5},
        })
    }

    fn parse(&self, m: &mut MapReader<'_>, span: Span, cx: &ParseCx<'_>) -> Result<Box<dyn WorkloadPlan>, Diagnostic> {
        let client_node = m.required("client")?;
        let client = one_of(client_node, "client", CLIENTS, "client kinds")?;
        let target = target(m, span, cx, client)?;
        let model = match m.get("model") {
            Some(n) => match one_of(n, "model", MODELS, "models")? {
                "counter" => Model::Counter,
                "set" => Model::Set,
                "list" => Model::List,
                _ => Model::Register,
            },
            None => Model::Register,
        };
        let read_fraction = match m.get("read-fraction") {
            Some(n) => fraction(n)?,
            None => 0.5,
        };
        let keys = keys(m.get("keys"), model)?;
        let pace = pace(m, span)?;
        let clients = bounded(m.get("clients"), "clients", 1, MAX_CLIENTS)?.unwrap_or(1);
        let hosts = hosts(m.get("hosts"), cx, &target, cx.nodes)?;
        let default_retries = if client == "cluster" { REDIS_PY_CLUSTER_RETRIES } else { REDIS_PY_RETRIES };
        let retries = bounded(m.get("retries"), "retries", 0, 100)?.map_or(default_retries, |r| r as u32);
        let spec = Spec {
            name: String::new(),
            target,
            model,
            read_fraction,
            keys,
            pace,
            connect_timeout: m
                .get("socket-connect-timeout")
                .map(|n| positive(n, "socket-connect-timeout"))
                .transpose()?,
            socket_timeout: m.get("socket-timeout").map(|n| positive(n, "socket-timeout")).transpose()?,
            retries,
            wait: m.get("wait").map(wait).transpose()?,
            final_read_attempts: bounded(m.get("final-read-attempts"), "final-read-attempts", 1, 1000)?
                .map_or(5, |n| n as u32),
        };
        Ok(Box::new(Plan { spec, client, clients, hosts }))
    }
}

/// `value` as one of `options`, or a diagnostic with a did-you-mean.
fn one_of(n: &Node, what: &str, options: &[&'static str], plural: &str) -> Result<&'static str, Diagnostic> {
    let text = n.str(what)?;
    if let Some(o) = options.iter().find(|o| **o == text) {
        return Ok(o);
    }
    let d = Diagnostic::new(n.span, format!("unknown {what} `{text}`")).with_label(format!("not a {what}"));
    Err(match did_you_mean(&text, options) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => d.with_hint(format!("{plural}: {}", options.join(", "))),
    })
}

/// A node named in a workload, as its address.
fn node_addr(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<SocketAddrV4, Diagnostic> {
    let r = cx.node_ref(n, what)?;
    let name = r.template.literal().map(str::to_owned).ok_or_else(|| {
        Diagnostic::new(n.span, "a workload names its nodes literally")
            .with_hint("write the node's name, not a capture")
    })?;
    let node = cx.nodes.iter().find(|d| d.name == name).expect("node_ref checked it");
    Ok(SocketAddrV4::new(node.ip, node.port))
}

fn node_list(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<Vec<SocketAddrV4>, Diagnostic> {
    let items = n.seq(what)?;
    if items.is_empty() {
        return Err(Diagnostic::new(n.span, format!("`{what}` is empty")).with_hint("name at least one node"));
    }
    items.iter().map(|i| node_addr(i, cx, what)).collect()
}

fn target(m: &mut MapReader<'_>, span: Span, cx: &ParseCx<'_>, client: &str) -> Result<Target, Diagnostic> {
    let missing = |key: &str, example: &str| {
        Diagnostic::new(span, format!("a `{client}` workload needs `{key}`"))
            .with_hint(format!("e.g. `{key}: {example}`"))
    };
    match client {
        "redis" => {
            let n = m.get("node").ok_or_else(|| missing("node", "\"6379\""))?;
            Ok(Target::Redis(node_addr(n, cx, "node")?))
        }
        "cluster" => {
            let n = m.get("nodes").ok_or_else(|| missing("nodes", "[\"7000\", \"7001\"]"))?;
            Ok(Target::Cluster(node_list(n, cx, "nodes")?))
        }
        _ => {
            let n = m.get("sentinels").ok_or_else(|| missing("sentinels", "[\"26379\", \"26380\"]"))?;
            let sentinels = node_list(n, cx, "sentinels")?;
            let master = m.get("master").map(|n| n.str("master")).transpose()?.unwrap_or_else(|| "mymaster".into());
            Ok(Target::Sentinel { sentinels, master })
        }
    }
}

fn fraction(n: &Node) -> Result<f64, Diagnostic> {
    match n.f64("read-fraction")? {
        f if (0.0..=1.0).contains(&f) => Ok(f),
        f => Err(Diagnostic::new(n.span, format!("read-fraction {f} is not between 0 and 1"))
            .with_hint("0 writes only, 1 reads only, 0.2 one read in five")),
    }
}

fn bounded(n: Option<&Node>, what: &str, min: u64, max: u64) -> Result<Option<u64>, Diagnostic> {
    let Some(n) = n else { return Ok(None) };
    match n.u64(what)? {
        v if (min..=max).contains(&v) => Ok(Some(v)),
        v => Err(Diagnostic::new(n.span, format!("{what} {v} is out of range"))
            .with_hint(format!("between {min} and {max}"))),
    }
}

fn positive(n: &Node, what: &str) -> Result<Duration, Diagnostic> {
    match n.duration(what)? {
        d if d.is_zero() => Err(Diagnostic::new(n.span, format!("a {what} of zero"))
            .with_hint("leave it out for redis-py's default (None: no timeout), or give e.g. `1s`")),
        d => Ok(d),
    }
}

fn keys(n: Option<&Node>, model: Model) -> Result<Keys, Diagnostic> {
    let prefix = match model {
        Model::Register => "r",
        Model::Counter => "c",
        Model::Set => "s",
        Model::List => "l",
    };
    let Some(n) = n else { return Ok(Keys::Uniform((0..10).map(|i| format!("{prefix}{i}").into()).collect())) };
    if let Ok(items) = n.seq("keys") {
        if items.is_empty() {
            return Err(Diagnostic::new(n.span, "`keys` is empty").with_hint("name at least one key"));
        }
        return Ok(Keys::Uniform(items.iter().map(|i| i.str("keys").map(Into::into)).collect::<Result<_, _>>()?));
    }
    let mut m = n.map("keys").map_err(|d| d.with_hint("a list of keys, or `{count: 10, distribution: zipf}`"))?;
    let count = bounded(m.get("count"), "keys.count", 1, MAX_KEYS)?.unwrap_or(10);
    let prefix = m.get("prefix").map(|p| p.str("keys.prefix")).transpose()?.unwrap_or_else(|| prefix.to_owned());
    let names: Vec<std::sync::Arc<str>> = (0..count).map(|i| format!("{prefix}{i}").into()).collect();
    let distribution = match m.get("distribution") {
        Some(d) => one_of(d, "distribution", DISTRIBUTIONS, "distributions")?,
        None => "uniform",
    };
    let exponent = match m.get("exponent") {
        Some(e) => match e.f64("keys.exponent")? {
            s if s > 0.0 && s <= 10.0 => s,
            s => {
                return Err(Diagnostic::new(e.span, format!("zipf exponent {s} is out of range"))
                    .with_hint("above 0 and at most 10; 1 is the classic zipf"));
            }
        },
        None => 1.0,
    };
    m.finish(&["count", "prefix", "distribution", "exponent"])?;
    Ok(if distribution == "zipf" { Keys::zipf(names, exponent) } else { Keys::Uniform(names) })
}

/// `rate: 50/s` (open loop) or `think: 10ms` (closed loop, the default).
fn pace(m: &mut MapReader<'_>, span: Span) -> Result<Pace, Diagnostic> {
    match (m.get("rate"), m.get("think")) {
        (Some(_), Some(_)) => Err(Diagnostic::new(span, "a workload has `rate` or `think`, not both")
            .with_hint("`rate: 50/s` for an open loop, `think: 10ms` for a closed loop")),
        (Some(r), None) => {
            let text = r.as_text().unwrap_or_default();
            let per_second = text.strip_suffix("/s").and_then(|n| n.trim().parse::<f64>().ok());
            match per_second {
                Some(v) if v > 0.0 && v <= MAX_RATE => Ok(Pace::Every(Duration::from_secs_f64(1.0 / v))),
                Some(v) if v <= 0.0 => Err(Diagnostic::new(r.span, "a rate of zero")
                    .with_hint("at least one operation per second, e.g. `rate: 50/s`")),
                Some(v) => Err(Diagnostic::new(r.span, format!("rate {v}/s is too fast"))
                    .with_hint(format!("at most {MAX_RATE}/s per client; add clients instead"))),
                None => Err(Diagnostic::new(r.span, format!("`{text}` is not a rate"))
                    .with_hint("operations per second per client, e.g. `rate: 50/s`")),
            }
        }
        (None, Some(t)) => Ok(Pace::Think(t.duration("think")?)),
        (None, None) => Ok(Pace::Think(Duration::from_millis(10))),
    }
}

fn wait(n: &Node) -> Result<Wait, Diagnostic> {
    let mut m = n.map("wait")?;
    let replicas = bounded(Some(m.required("replicas")?), "wait.replicas", 0, 1000)?.unwrap_or(0) as u32;
    let timeout = m.get("timeout").map(|t| t.duration("wait.timeout")).transpose()?;
    m.finish(&["replicas", "timeout"])?;
    let timeout_ms = timeout.map_or(100, |t| t.as_millis() as u64);
    Ok(Wait { replicas, timeout_ms })
}

/// Where the clients run: named hosts or nodes' hosts; by default the first
/// target node's host.
fn hosts(
    n: Option<&Node>,
    cx: &ParseCx<'_>,
    target: &Target,
    nodes: &[scenario::NodeDecl],
) -> Result<Vec<String>, Diagnostic> {
    let Some(n) = n else {
        let addr = match target {
            Target::Redis(a) => *a,
            Target::Cluster(s) | Target::Sentinel { sentinels: s, .. } => s[0],
        };
        let node = nodes.iter().find(|d| d.ip == *addr.ip() && d.port == addr.port()).expect("a declared node");
        return Ok(vec![node.host.clone()]);
    };
    let items = n.seq("hosts")?;
    if items.is_empty() {
        return Err(Diagnostic::new(n.span, "`hosts` is empty").with_hint("name at least one host"));
    }
    let mut out = Vec::new();
    for i in items {
        let name = i.str("hosts")?;
        if let Some(node) = nodes.iter().find(|d| d.name == name) {
            out.push(node.host.clone());
        } else if cx.has_host(&name) {
            out.push(name);
        } else {
            let known: Vec<&str> = cx.hosts.iter().map(String::as_str).collect();
            let d = Diagnostic::new(i.span, format!("unknown host `{name}`")).with_label("not a host or node");
            return Err(match did_you_mean(&name, &known) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint(format!(
                    "hosts are: {}; a node's name also places clients on its host",
                    known.join(", ")
                )),
            });
        }
    }
    Ok(out)
}

struct Plan {
    spec: Spec,
    client: &'static str,
    clients: u64,
    hosts: Vec<String>,
}

impl WorkloadPlan for Plan {
    fn describe(&self) -> String {
        let model = match self.spec.model {
            Model::Register => "register",
            Model::Counter => "counter",
            Model::Set => "set",
            Model::List => "list",
        };
        format!("{} {model}, {} clients on {}", self.client, self.clients, self.hosts.join(", "))
    }

    fn processes(&self) -> u64 {
        self.clients + 1
    }

    fn start(&self, rt: &mut Runtime, name: &str, first: u64) -> Result<Box<dyn WorkloadRun>, RunError> {
        let log: Log = Rc::new(RefCell::new(workload::Shared::with_room()));
        let spec = Rc::new(Spec { name: name.to_owned(), ..self.spec.clone() });
        for i in 0..self.clients {
            let host = &self.hosts[i as usize % self.hosts.len()];
            let (spec, log) = (spec.clone(), log.clone());
            let factory: sim::Factory =
                Box::new(move || Box::new(Client::generator(spec.clone(), first + i, log.clone())));
            spawn(rt, host, &format!("{name}#{i}"), factory)?;
        }
        let reader = Reader { host: self.hosts[0].clone(), id: first + self.clients, name: name.to_owned() };
        Ok(Box::new(Run { spec, log, reader }))
    }
}

/// Adds and starts a client process on `host`.
fn spawn(rt: &mut Runtime, host: &str, name: &str, factory: sim::Factory) -> Result<(), RunError> {
    let h = rt.sim.host_by_name(host).ok_or_else(|| RunError::Check(format!("no host `{host}`")))?;
    let p = rt.sim.add_process(h, name, factory);
    rt.apply(Fault::Start(p))
}

struct Reader {
    host: String,
    id: u64,
    name: String,
}

struct Run {
    spec: Rc<Spec>,
    log: Log,
    reader: Reader,
}

impl WorkloadRun for Run {
    fn stop(&mut self) {
        self.log.borrow_mut().stopping = true;
    }

    fn outstanding(&self) -> u32 {
        self.log.borrow().outstanding
    }

    fn start_final_read(&mut self, rt: &mut Runtime) -> Result<(), RunError> {
        let (spec, log, id) = (self.spec.clone(), self.log.clone(), self.reader.id);
        let factory: sim::Factory = Box::new(move || Box::new(Client::reader(spec.clone(), id, log.clone())));
        spawn(rt, &self.reader.host, &format!("{}#final-read", self.reader.name), factory)
    }

    fn final_read_done(&self) -> bool {
        self.log.borrow().readers_done > 0
    }

    fn skipped(&self) -> u64 {
        self.log.borrow().skipped
    }

    fn take_log(&mut self) -> check::OpLog {
        std::mem::take(&mut self.log.borrow_mut().log)
    }

    fn events_from(&self, from: usize) -> Vec<check::Event> {
        self.log.borrow().log.events_from(from)
    }
}
