//! The `redis-cli-session` step: several commands on one connection
//! ([`Session`]), in order or pipelined, each reply checked against its own
//! `expect`, then optionally the messages pushed while it listens.

use redis_client::session::Session;
use scenario::client_step::{self, regex};
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Syntax, Template};
use serde_json::json;
use std::time::Duration;

/// Commands one session may hold.
const MAX_COMMANDS: usize = 10_000;

/// The step's syntax.
pub fn syntax() -> Syntax {
    let command = json!({"oneOf": [
        {"type": "string"},
        {"type": "object", "required": ["command"], "additionalProperties": false, "properties": {
            "command": {"type": "string"}, "expect": {"type": "string"}, "expect-match": {"type": "string"}}}]});
    Syntax {
        name: "redis-cli-session",
        doc: "several commands on one redis-cli connection (MULTI/EXEC, WATCH, READONLY, SUBSCRIBE), each with its own expect; pipelined if asked; then the messages pushed while it listens",
        schema: json!({"type": "object", "required": ["node", "commands"], "additionalProperties": false, "properties": {
            "node": {"type": "string"}, "from": {"type": "string"}, "auth": {"type": "string"},
            "commands": {"type": "array", "items": command, "minItems": 1},
            "pipeline": {"type": "boolean", "default": false, "description": "send every command before reading any reply"},
            "listen": {"type": "string", "description": "after the last reply, read pushed messages for this long"},
            "expect-messages": {"type": "array", "items": {"type": "string"}, "description": "the messages pushed while listening, each as redis-cli prints it"},
            "capture": {"type": "string"}, "timeout": {"type": "string", "default": "10s"},
            "stdout": crate::stdout::schema()}}),
    }
}

/// One command of the session and what its reply must be.
struct Line {
    command: Template,
    expect: Option<Template>,
    expect_match: Option<regex::Regex>,
}

struct SessionStep {
    node: NodeRef,
    from: Option<NodeRef>,
    auth: Option<Template>,
    lines: Vec<Line>,
    pipeline: bool,
    listen: Duration,
    expect_messages: Option<Vec<Template>>,
    capture: Option<String>,
    timeout: Duration,
    piped: bool,
}

const KEYS: &[&str] =
    &["node", "from", "auth", "commands", "pipeline", "listen", "expect-messages", "capture", "timeout", "stdout"];

fn parse_line(n: &Node, cx: &ParseCx<'_>) -> Result<Line, Diagnostic> {
    let what = "redis-cli-session.commands";
    let (command_node, expect, expect_match) = match n.map(what) {
        Ok(mut m) => {
            let command = m.required("command")?;
            let expect = m.get("expect").map(|e| cx.template(e, &format!("{what}.expect"))).transpose()?;
            let expect_match = m.get("expect-match").map(|e| regex(e, &format!("{what}.expect-match"))).transpose()?;
            m.finish(&["command", "expect", "expect-match"])?;
            (command, expect, expect_match)
        }
        Err(_) => (n, None, None),
    };
    let command = cx.template(command_node, what)?;
    if let Some(text) = command.literal()
        && resp::split_args(text.as_bytes()).is_none_or(|a| a.is_empty())
    {
        return Err(Diagnostic::new(command_node.span, "Invalid argument(s)")
            .with_hint("unbalanced quotes or an empty command"));
    }
    Ok(Line { command, expect, expect_match })
}

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-cli-session")?;
    let node = cx.node_ref(m.required("node")?, "redis-cli-session.node")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-cli-session.from")).transpose()?;
    let auth = m.get("auth").map(|a| cx.template(a, "redis-cli-session.auth")).transpose()?;
    let list = m.required("commands")?;
    let items = list.seq("redis-cli-session.commands")?;
    if items.is_empty() || items.len() > MAX_COMMANDS {
        return Err(Diagnostic::new(
            list.span,
            format!("a session holds 1 to {MAX_COMMANDS} commands, not {}", items.len()),
        )
        .with_hint("list the commands typed at the prompt, e.g. [multi, \"set k v\", exec]"));
    }
    let lines = items.iter().map(|n| parse_line(n, cx)).collect::<Result<Vec<_>, _>>()?;
    let pipeline = m.get("pipeline").map(|p| p.bool("redis-cli-session.pipeline")).transpose()?.unwrap_or(false);
    let listen = m.get("listen").map(|l| l.duration("redis-cli-session.listen")).transpose()?.unwrap_or(Duration::ZERO);
    let expect_messages = match m.get("expect-messages") {
        Some(n) => {
            let list = n.seq("redis-cli-session.expect-messages")?;
            Some(
                list.iter()
                    .map(|e| cx.template(e, "redis-cli-session.expect-messages"))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
        None => None,
    };
    if expect_messages.is_some() && listen.is_zero() {
        let at = m.get("expect-messages").map_or(value.span, |n| n.span);
        return Err(Diagnostic::new(at, "`expect-messages` needs `listen`")
            .with_hint("say how long the session reads pushed messages, e.g. `listen: 1s`"));
    }
    let capture = m.get("capture").map(|c| c.str("redis-cli-session.capture")).transpose()?;
    let timeout = m
        .get("timeout")
        .map(|t| t.duration("redis-cli-session.timeout"))
        .transpose()?
        .unwrap_or(Duration::from_secs(10));
    let piped = crate::stdout::piped(&mut m, "redis-cli-session")?;
    m.finish(KEYS)?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(SessionStep { node, from, auth, lines, pipeline, listen, expect_messages, capture, timeout, piped }))
}

impl SessionStep {
    /// Each command's replies against its `expect`.
    fn check(&self, rt: &Runtime, texts: &[String], replies: &[Vec<String>]) -> Result<(), RunError> {
        for ((line, text), got) in self.lines.iter().zip(texts).zip(replies) {
            let got = got.join("\n");
            if let Some(e) = &line.expect {
                let want = rt.render(e)?;
                if got != want {
                    return Err(RunError::Check(format!("`{text}` replied {got:?}, expected {want:?}")));
                }
            }
            if let Some(re) = &line.expect_match
                && !re.is_match(&got)
            {
                return Err(RunError::Check(format!("`{text}` replied {got:?}, which does not match /{re}/")));
            }
        }
        Ok(())
    }
}

impl Step for SessionStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let (addr, host) = rt.client_endpoints(&self.node, self.from.as_ref())?;
        let mut texts = Vec::with_capacity(self.lines.len());
        let mut commands = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let text = rt.render(&line.command)?;
            commands.push(resp::split_args(text.as_bytes()).ok_or("Invalid argument(s)")?);
            texts.push(text);
        }
        let password = self.auth.as_ref().map(|a| rt.render(a)).transpose()?;
        let (pipeline, listen, piped) = (self.pipeline, self.listen, self.piped);
        let factory: sim::Factory = Box::new(move || {
            let mut s = Session::new(addr, password.clone(), commands.clone()).listen_for(listen);
            if piped {
                s = s.piped();
            }
            Box::new(if pipeline { s.pipelined() } else { s })
        });
        let detail = format!(" -> {addr}: {}", texts.join("; "));
        let client = client_step::start(rt, host, "redis-cli", &detail, factory)?;
        let done = client_step::wait(rt, client, self.timeout + self.listen, |s: &Session| s.done)?;
        let s = rt.sim.process::<Session>(client).ok_or("the session's process is gone")?;
        let (replies, messages, error) = (s.replies.clone(), s.messages.clone(), s.error.clone());
        let errors = s.error_replies.clone();
        let output = replies.iter().flatten().chain(&messages).cloned().collect::<Vec<_>>().join("\n");
        rt.sim.record("reply", output.clone());
        if !done {
            return Err(RunError::Check(format!("no end to the session with {addr} within {:?}", self.timeout)));
        }
        if let Some(e) = error {
            return Err(RunError::Check(format!("the session with {addr} ended early: {e}")));
        }
        self.check(rt, &texts, &replies)?;
        let unchecked = self
            .lines
            .iter()
            .zip(&errors)
            .zip(&replies)
            .find(|((line, error), _)| **error && line.expect.is_none() && line.expect_match.is_none());
        if let Some((_, reply)) = unchecked {
            rt.flag_unchecked_error(&reply.join("\n"));
        }
        if let Some(expected) = &self.expect_messages {
            let want = expected.iter().map(|e| rt.render(e)).collect::<Result<Vec<_>, _>>()?;
            if messages != want {
                return Err(RunError::Check(format!("the session received {messages:?}, expected {want:?}")));
            }
        }
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), output.clone());
        }
        Ok(output)
    }
}
