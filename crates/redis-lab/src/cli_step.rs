//! The `redis-cli` scenario step: one redis-cli invocation ([`RedisCli`]) as a
//! new client process on a host, its printed reply checked or captured.

use redis_client::cli::RedisCli;
use scenario::client_step::{self, Expectations};
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Template};
use std::time::Duration;

/// How long a redis-cli step waits for its reply before failing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `- redis-cli: {node: "6379", command: "set k1 v1", expect: "OK"}`.
pub(crate) struct CliStep {
    node: NodeRef,
    from: Option<NodeRef>,
    command: Template,
    auth: Option<Template>,
    expectations: Expectations,
    timeout: Duration,
    repeat: u32,
    cluster: bool,
    interactive: bool,
    piped: bool,
}

pub(crate) const CLI_KEYS: &[&str] = &[
    "node",
    "command",
    "from",
    "auth",
    "expect",
    "expect-match",
    "capture",
    "timeout",
    "repeat",
    "cluster",
    "interactive",
    crate::stdout::KEY,
];

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-cli")?;
    let node = cx.node_ref(m.required("node")?, "redis-cli.node")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-cli.from")).transpose()?;
    let command_node = m.required("command")?;
    let command = cx.template(command_node, "redis-cli.command")?;
    if let Some(text) = command.literal() {
        match resp::split_args(text.as_bytes()) {
            None => {
                return Err(Diagnostic::new(command_node.span, "Invalid argument(s)")
                    .with_hint("unbalanced quotes in the command"));
            }
            Some(a) if a.is_empty() => {
                return Err(Diagnostic::new(command_node.span, "the command is empty")
                    .with_hint("write the command as typed at redis-cli, e.g. `command: set k1 v1`"));
            }
            Some(_) => {}
        }
    }
    let auth = m.get("auth").map(|a| cx.template(a, "redis-cli.auth")).transpose()?;
    let expectations = Expectations::parse(&mut m, cx, "redis-cli")?;
    let timeout = m.get("timeout").map(|t| t.duration("redis-cli.timeout")).transpose()?.unwrap_or(DEFAULT_TIMEOUT);
    let repeat = match m.get("repeat") {
        Some(r) => match r.u64("redis-cli.repeat")? {
            n @ 1..=1_000_000 => n as u32,
            n => {
                return Err(Diagnostic::new(r.span, format!("repeat {n} is out of range"))
                    .with_hint("like redis-cli -r: between 1 and 1000000"));
            }
        },
        None => 1,
    };
    let cluster = m.get("cluster").map(|c| c.bool("redis-cli.cluster")).transpose()?.unwrap_or(false);
    let interactive = match m.get("interactive") {
        Some(i) if !cluster => {
            return Err(Diagnostic::new(i.span, "`interactive` only changes what cluster mode prints")
                .with_hint("add `cluster: true` (redis-cli -c)"));
        }
        Some(i) => i.bool("redis-cli.interactive")?,
        None => false,
    };
    let piped = crate::stdout::piped(&mut m, "redis-cli")?;
    m.finish(CLI_KEYS)?;
    Ok(Box::new(CliStep { node, from, command, auth, expectations, timeout, repeat, cluster, interactive, piped }))
}

impl Step for CliStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let (addr, host) = rt.client_endpoints(&self.node, self.from.as_ref())?;
        let text = rt.render(&self.command)?;
        let args = resp::split_args(text.as_bytes()).ok_or("Invalid argument(s)")?;
        let password = self.auth.as_ref().map(|a| rt.render(a)).transpose()?;
        let (repeat, cluster, interactive, piped) = (self.repeat, self.cluster, self.interactive, self.piped);
        let factory: sim::Factory = Box::new(move || {
            let mut cli = RedisCli::new(addr, password.clone(), args.clone()).repeat(repeat);
            if piped {
                cli = cli.piped();
            }
            Box::new(if cluster { cli.cluster_mode(interactive) } else { cli })
        });
        let client = client_step::start(rt, host, "redis-cli", &format!(" -> {addr}: {text}"), factory)?;
        let done = client_step::wait(rt, client, self.timeout, |c: &RedisCli| c.output.is_some())?;
        let reply = rt.sim.process::<RedisCli>(client).and_then(|c| c.output.clone().map(|o| (o, c.error_reply)));
        let (output, error_reply) = match reply {
            Some(out) if done => out,
            _ => return Err(RunError::Check(format!("no reply from {addr} within {:?} to `{text}`", self.timeout))),
        };
        rt.sim.record("reply", output.clone());
        self.expectations.check(rt, &text, &output)?;
        if error_reply && self.expectations.expect.is_none() && self.expectations.expect_match.is_none() {
            rt.flag_unchecked_error(&output);
        }
        Ok(output)
    }
}
