//! The `sentinel-client` step: a Sentinel-aware client
//! ([`redis_client::sentinel::SentinelClient`]) runs a list of commands against
//! whoever the Sentinels say is master, each reply checked or captured.

use redis_client::sentinel::SentinelClient;
use scenario::client_step;
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Syntax, Template};
use serde_json::json;
use sim::Fault;
use std::time::Duration;

/// The `sentinel-client` step's syntax.
pub fn syntax() -> Syntax {
    Syntax {
        name: "sentinel-client",
        doc: "a Sentinel-aware client: asks the sentinels for the master's address, runs the command there (`{i}` is the run number with `repeat`), follows +switch-master; observes the replies",
        schema: json!({"type": "object", "required": ["sentinels", "master", "command"], "additionalProperties": false, "properties": {
            "sentinels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "master": {"type": "string"}, "command": {"type": "string", "examples": ["set k{i} v{i}"]},
            "from": {"type": "string", "description": "host (or node whose host) to run on; default: the first sentinel's"},
            "repeat": {"type": "integer", "minimum": 1}, "interval": {"type": "string", "default": "0s"},
            "expect": {"type": "string", "description": "every reply, as redis-cli prints it"},
            "expect-master": {"type": "string", "description": "ip:port that served the last command"},
            "capture": {"type": "string"}, "timeout": {"type": "string", "default": "10s"}}}),
    }
}

struct ClientStep {
    sentinels: Vec<NodeRef>,
    from: Option<NodeRef>,
    master: String,
    command: Template,
    repeat: u32,
    interval: Duration,
    expect: Option<Template>,
    expect_master: Option<Template>,
    capture: Option<String>,
    timeout: Duration,
}

const KEYS: &[&str] =
    &["sentinels", "master", "command", "from", "repeat", "interval", "expect", "expect-master", "capture", "timeout"];

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("sentinel-client")?;
    let list = m.required("sentinels")?;
    let sentinels = list
        .seq("sentinel-client.sentinels")?
        .iter()
        .map(|n| cx.node_ref(n, "sentinel-client.sentinels"))
        .collect::<Result<Vec<_>, _>>()?;
    if sentinels.is_empty() {
        return Err(Diagnostic::new(list.span, "no sentinels listed").with_hint("name at least one sentinel node"));
    }
    let from = m.get("from").map(|f| cx.node_ref(f, "sentinel-client.from")).transpose()?;
    let master = m.required("master")?.str("sentinel-client.master")?;
    let command_node = m.required("command")?;
    let command = cx.template(command_node, "sentinel-client.command")?;
    if let Some(text) = command.literal()
        && resp::split_args(text.as_bytes()).is_none_or(|a| a.is_empty())
    {
        return Err(Diagnostic::new(command_node.span, "Invalid argument(s)")
            .with_hint("unbalanced quotes or an empty command"));
    }
    let repeat =
        m.get("repeat").map(|r| r.u64("sentinel-client.repeat")).transpose()?.unwrap_or(1).clamp(1, 100_000) as u32;
    let interval =
        m.get("interval").map(|d| d.duration("sentinel-client.interval")).transpose()?.unwrap_or(Duration::ZERO);
    let expect = m.get("expect").map(|e| cx.template(e, "sentinel-client.expect")).transpose()?;
    let expect_master = m.get("expect-master").map(|e| cx.template(e, "sentinel-client.expect-master")).transpose()?;
    let capture = m.get("capture").map(|c| c.str("sentinel-client.capture")).transpose()?;
    let timeout =
        m.get("timeout").map(|t| t.duration("sentinel-client.timeout")).transpose()?.unwrap_or(Duration::from_secs(10));
    m.finish(KEYS)?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(ClientStep {
        sentinels,
        from,
        master,
        command,
        repeat,
        interval,
        expect,
        expect_master,
        capture,
        timeout,
    }))
}

impl Step for ClientStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let mut addrs = Vec::new();
        for s in &self.sentinels {
            let p = rt.proc(s)?;
            addrs.push(rt.node_addr(p).ok_or_else(|| format!("{s} has no address"))?);
        }
        let host = match &self.from {
            Some(f) => rt.host(f)?,
            None => rt.host(&self.sentinels[0])?,
        };
        let text = rt.render(&self.command)?;
        let mut commands = Vec::new();
        for i in 1..=self.repeat {
            let line = text.replace("{i}", &i.to_string());
            commands.push(resp::split_args(line.as_bytes()).ok_or("Invalid argument(s)")?);
        }
        let (master, interval) = (self.master.clone(), self.interval);
        let factory: sim::Factory =
            Box::new(move || Box::new(SentinelClient::new(addrs.clone(), master.clone(), commands.clone(), interval)));
        let detail = format!(" -> {}: {text}", self.master);
        let client = client_step::start(rt, host, "sentinel-client", &detail, factory)?;
        let done = client_step::wait(rt, client, self.timeout, SentinelClient::done)?;
        let c = rt.sim.process::<SentinelClient>(client).ok_or("the client is gone")?;
        if !done {
            return Err(RunError::Check(format!(
                "`{text}` got {} of {} replies within {:?} (the sentinels gave {} addresses)",
                c.served.len(),
                self.repeat,
                self.timeout,
                c.resolutions
            )));
        }
        let served = c.served.clone();
        rt.apply(Fault::Kill(client))?;
        let output = served.iter().map(|s| s.reply.as_str()).collect::<Vec<_>>().join("\n");
        let last = served.last().map(|s| s.master.clone()).unwrap_or_default();
        rt.sim.record("reply", format!("{last}: {output}"));
        if let Some(expect) = &self.expect {
            let expected = rt.render(expect)?;
            if let Some(bad) = served.iter().find(|s| s.reply != expected) {
                let (reply, from) = (&bad.reply, &bad.master);
                return Err(RunError::Check(format!("`{text}` replied {reply:?} from {from}, expected {expected:?}")));
            }
        }
        if let Some(expect) = &self.expect_master {
            let expected = rt.render(expect)?;
            if last != expected {
                return Err(RunError::Check(format!("`{text}` was served by {last}, expected {expected}")));
            }
        }
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), output.clone());
        }
        Ok(format!("{last}: {output}"))
    }
}
