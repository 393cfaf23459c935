//! The `redis-cli-cluster` step: runs `redis-cli --cluster <command>` from a
//! client process on a host and checks or captures what it printed.

use super::ToolClient;
use super::command::parse_command;
use super::manager::{parse_addr, run};
use super::session::Driver;
use scenario::client_step::{self, Expectations};
use scenario::diag::Diagnostic;
use scenario::yaml::Node as Yaml;
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Template};
use sim::{Fault, Instant, Sim};
use std::time::Duration;

struct RuntimeDriver<'a>(&'a mut Runtime);

impl Driver for RuntimeDriver<'_> {
    fn sim(&mut self) -> &mut Sim {
        &mut self.0.sim
    }

    fn run_to(&mut self, until: Instant) -> Result<(), RunError> {
        let now = self.0.sim.now();
        if until <= now {
            // Events due now (a just-started process, say): no time passes, so no
            // timed fault or invariant poll is due either.
            self.0.sim.run_until(now);
            return Ok(());
        }
        self.0.advance(until.saturating_since(now))
    }
}

/// How long a `redis-cli-cluster` step may run by default (create waits for the join).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// `- redis-cli-cluster: {command: "create 127.0.0.1:6381 ... --cluster-replicas 1", expect-lines: [...]}`.
pub(crate) struct ClusterStep {
    from: Option<NodeRef>,
    command: Template,
    auth: Option<Template>,
    expect_lines: Vec<Template>,
    expectations: Expectations,
    expect_exit: u8,
    timeout: Duration,
}

pub(crate) const STEP_KEYS: &[&str] =
    &["from", "command", "auth", "expect-lines", "expect-match", "expect-exit", "capture", "timeout"];

pub(crate) fn parse_step(value: &Yaml, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-cli-cluster")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-cli-cluster.from")).transpose()?;
    let command_node = m.required("command")?;
    let command = cx.template(command_node, "redis-cli-cluster.command")?;
    if let Some(text) = command.literal() {
        parse_command(text).map_err(|e| {
            Diagnostic::new(command_node.span, e).with_hint(
                "what follows `redis-cli --cluster`: create|check|info|add-node|del-node|reshard|rebalance|fix <args> [--cluster-<opt> ...]",
            )
        })?;
    }
    let auth = m.get("auth").map(|a| cx.template(a, "redis-cli-cluster.auth")).transpose()?;
    let mut expect_lines = Vec::new();
    if let Some(lines) = m.get("expect-lines") {
        for l in lines.seq("redis-cli-cluster.expect-lines")? {
            expect_lines.push(cx.template(l, "redis-cli-cluster.expect-lines")?);
        }
    }
    let expect_exit = match m.get("expect-exit") {
        Some(n) => match n.u64("redis-cli-cluster.expect-exit")? {
            code @ 0..=1 => code as u8,
            other => {
                return Err(Diagnostic::new(n.span, format!("exit code {other} is not one redis-cli --cluster uses"))
                    .with_hint("0 (success) or 1 (failure)"));
            }
        },
        None => 0,
    };
    if let Some(e) = m.get("expect") {
        return Err(Diagnostic::new(e.span, "`expect` is not a key of redis-cli-cluster")
            .with_hint("the output has many lines: use `expect-lines` or `expect-match`"));
    }
    let expectations = Expectations::parse(&mut m, cx, "redis-cli-cluster")?;
    let timeout =
        m.get("timeout").map(|t| t.duration("redis-cli-cluster.timeout")).transpose()?.unwrap_or(DEFAULT_TIMEOUT);
    m.finish(STEP_KEYS)?;
    Ok(Box::new(ClusterStep { from, command, auth, expect_lines, expectations, expect_exit, timeout }))
}

impl Step for ClusterStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let text = rt.render(&self.command)?;
        let command = parse_command(&text)?;
        let host = match &self.from {
            Some(f) => rt.host(f)?,
            None => {
                // By default the tool runs on the host of the first address it names.
                let ip = command.args.first().and_then(|a| parse_addr(a)).map(|a| *a.ip());
                rt.sim
                    .hosts()
                    .find(|&h| Some(rt.sim.host_ip(h)) == ip)
                    .ok_or("no host has the first address's IP: say `from:`")?
            }
        };
        let password = self.auth.as_ref().map(|a| rt.render(a)).transpose()?;
        let factory: sim::Factory = Box::new(|| Box::new(ToolClient::default()));
        let tool = client_step::start(rt, host, "redis-cli-cluster", &format!(": --cluster {text}"), factory)?;
        let started = rt.sim.now();
        let outcome = run(&mut RuntimeDriver(rt), tool, &command, password, self.timeout);
        // The process ends with the program: its connections close.
        if rt.sim.proc_state(tool) == sim::ProcState::Running {
            rt.apply(Fault::Kill(tool))?;
        }
        let output = outcome.lines.join("\n");
        rt.sim.record("reply", output.clone());
        if let Some(e) = outcome.interrupted {
            return Err(e);
        }
        if rt.sim.now() - started > self.timeout {
            return Err(RunError::Check(format!("`--cluster {text}` took longer than {:?}", self.timeout)));
        }
        let code = u8::from(!outcome.ok);
        if code != self.expect_exit {
            let expected = self.expect_exit;
            return Err(RunError::Check(format!(
                "`--cluster {text}` exited with {code}, expected {expected}:\n{output}"
            )));
        }
        for l in &self.expect_lines {
            let want = rt.render(l)?;
            if !outcome.lines.contains(&want) {
                return Err(RunError::Check(format!("`--cluster {text}` printed no line {want:?}:\n{output}")));
            }
        }
        self.expectations.check(rt, &format!("--cluster {text}"), &output)?;
        Ok(output)
    }
}
