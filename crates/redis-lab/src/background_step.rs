//! The `redis-cli-background` step: redis-cli left running under a name
//! ([`Background`]): a paced stream of commands numbered by `${i}` (`set
//! k${i} ${i}` every 2 ms), or a single command that may stay blocked (on a
//! paused node). The step returns at once; `await: <name>` or `stop-client:
//! <name>` ends it later, and the report keeps every request and reply.

use redis_client::background::{self as bg, Background, Plan};
use scenario::background::{self as sbg, Exchange, Snapshot};
use scenario::diag::Diagnostic;
use scenario::yaml::{Node, Value, format_duration};
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Syntax, Template};
use serde_json::json;
use sim::{ProcId, Sim};
use std::time::Duration;

/// The most commands one background client may send.
const MAX_COUNT: u64 = 10_000_000;
/// The shortest pace.
const MIN_EVERY: Duration = Duration::from_micros(100);

/// The step's syntax.
pub fn syntax() -> Syntax {
    Syntax {
        name: "redis-cli-background",
        doc: "start redis-cli in the background under a name and go on at once: a command every `every` (numbered by ${i}), `count` times or until `stop-client`; end it with `await` or `stop-client`",
        schema: json!({"type": "object", "required": ["name", "node", "command"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "description": "what `await` and `stop-client` call it"},
            "node": {"type": "string"}, "from": {"type": "string"}, "auth": {"type": "string"},
            "command": {"type": "string", "examples": ["set k${i} ${i}", "blpop q 0"], "description": "${i} is the command's number: 1, 2, 3..."},
            "every": {"type": "string", "examples": ["2ms"], "description": "send one command this often, whatever the replies; without it, each command once the previous has its reply"},
            "count": {"type": "integer", "minimum": 1, "description": "how many commands; without it the client runs until `stop-client` (or the run's end)"},
            "stdout": crate::stdout::schema()}}),
    }
}

struct BackgroundStep {
    name: String,
    node: NodeRef,
    from: Option<NodeRef>,
    auth: Option<Template>,
    command: Template,
    every: Option<Duration>,
    count: Option<u64>,
    piped: bool,
}

const KEYS: &[&str] = &["name", "node", "from", "auth", "command", "every", "count", "stdout"];

/// The command as a template, `${i}` kept as text for the client to number.
fn command(n: &Node, cx: &ParseCx<'_>) -> Result<Template, Diagnostic> {
    let text = n.str("redis-cli-background.command")?;
    let escaped = Node { span: n.span, value: Value::Str(text.replace(bg::COUNTER, "$${i}")), raw: None };
    let t = cx.template(&escaped, "redis-cli-background.command").map_err(|d| {
        d.with_hint("`${i}` numbers the commands (1, 2, 3...); any other `${name}` is a capture of an earlier step")
    })?;
    if let Some(literal) = t.literal()
        && resp::split_args(literal.replace(bg::COUNTER, "1").as_bytes()).is_none_or(|a| a.is_empty())
    {
        return Err(Diagnostic::new(n.span, "Invalid argument(s)")
            .with_hint("unbalanced quotes or an empty command; e.g. `command: set k${i} ${i}`"));
    }
    Ok(t)
}

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-cli-background")?;
    let name_node = m.required("name")?;
    let node = cx.node_ref(m.required("node")?, "redis-cli-background.node")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-cli-background.from")).transpose()?;
    let auth = m.get("auth").map(|a| cx.template(a, "redis-cli-background.auth")).transpose()?;
    let command = command(m.required("command")?, cx)?;
    let every = match m.get("every") {
        Some(n) => match n.duration("redis-cli-background.every")? {
            d if d < MIN_EVERY => {
                return Err(Diagnostic::new(n.span, format!("every {} is too fast", format_duration(d)))
                    .with_hint("at least 100us between two commands"));
            }
            d => Some(d),
        },
        None => None,
    };
    let count = match m.get("count") {
        Some(n) => match n.u64("redis-cli-background.count")? {
            c @ 1..=MAX_COUNT => Some(c),
            c => {
                return Err(Diagnostic::new(n.span, format!("count {c} is out of range"))
                    .with_hint(format!("between 1 and {MAX_COUNT}")));
            }
        },
        None => None,
    };
    if every.is_none() && count.is_none() {
        return Err(Diagnostic::new(value.span, "a background client needs `every`, `count` or both")
            .with_hint("`every: 2ms` for a paced stream, `count: 1` for a single command"));
    }
    let piped = crate::stdout::piped(&mut m, "redis-cli-background")?;
    m.finish(KEYS)?;
    let name = sbg::declare_client(cx, name_node, count.is_some())?;
    Ok(Box::new(BackgroundStep { name, node, from, auth, command, every, count, piped }))
}

/// The client's snapshot, as the runner reads it.
fn read(sim: &Sim, p: ProcId) -> Option<Snapshot> {
    let c = sim.process::<Background>(p)?;
    let exchanges = c
        .exchanges
        .iter()
        .map(|e| Exchange {
            request: e.request.clone(),
            sent_ns: e.sent_at.as_nanos(),
            reply: e.reply.as_ref().map(|(_, r)| r.clone()),
            replied_ns: e.reply.as_ref().map(|(t, _)| t.as_nanos()),
            error: e.error,
        })
        .collect();
    Some(Snapshot { sent: c.made, replied: c.replied, errors: c.errors, exchanges, done: c.done() })
}

impl Step for BackgroundStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let (addr, host) = rt.client_endpoints(&self.node, self.from.as_ref())?;
        let text = rt.render(&self.command)?;
        let plan = Plan {
            target: addr,
            password: self.auth.as_ref().map(|a| rt.render(a)).transpose()?,
            command: text.clone(),
            every: self.every,
            count: self.count,
            piped: self.piped,
        };
        let pace = match (self.every, self.count) {
            (Some(e), Some(c)) => format!(" every {}, {c} times", format_duration(e)),
            (Some(e), None) => format!(" every {} until stopped", format_duration(e)),
            (None, c) => format!(", {} after another", c.unwrap_or(1)),
        };
        let detail = format!(" -> {addr}: {text} ({}{pace}, in the background)", self.name);
        let factory: sim::Factory = Box::new(move || Box::new(Background::new(plan.clone())));
        let client = scenario::client_step::start(rt, host, "redis-cli", &detail, factory)?;
        rt.start_background(&self.name, sbg::Background::new(client, text.clone(), read));
        Ok(format!("{} started: {}{pace}", self.name, text))
    }
}
