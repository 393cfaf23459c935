//! The `redis-raw` step: exact bytes on a new connection to a node, as `nc`
//! or `telnet` would send them (an inline command, a malformed multibulk,
//! half a request), and the raw bytes the node sends back within `read-for`,
//! shown with escapes (`+PONG\r\n`). Not redis-cli: nothing is parsed.

use redis_client::raw::{RawClient, escape, unescape};
use scenario::client_step::{self, regex};
use scenario::diag::Diagnostic;
use scenario::yaml::{Node, format_duration};
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Syntax, Template};
use serde_json::json;
use std::time::Duration;

/// How long the step reads after sending, unless told.
const DEFAULT_READ_FOR: Duration = Duration::from_millis(100);
/// The longest read.
const MAX_READ_FOR: Duration = Duration::from_secs(3600);

/// The step's syntax.
pub fn syntax() -> Syntax {
    Syntax {
        name: "redis-raw",
        doc: "send exact bytes (escapes: \\r \\n \\t \\0 \\\\ \\\" \\xHH) on a new connection to a node, like nc; show and check the raw bytes it replies within `read-for`",
        schema: json!({"type": "object", "required": ["node", "send"], "additionalProperties": false, "properties": {
            "node": {"type": "string"},
            "from": {"type": "string", "description": "host (or node whose host) to connect from; default: the node's"},
            "send": {"type": "string", "examples": ["PING\\r\\n", "*1\\r\\n$4\\r\\nPING\\r\\n"], "description": "the bytes, with escapes; write it in single quotes or plain so YAML leaves the backslashes to chaoslab"},
            "read-for": {"type": "string", "default": "100ms", "description": "how long to read after sending (less if the node closes the connection)"},
            "expect": {"type": "string", "description": "the exact bytes received, with the same escapes"},
            "expect-match": {"type": "string", "description": "regex the received bytes, shown with escapes, must match"},
            "expect-closed": {"type": "boolean", "description": "whether the node must have closed the connection"},
            "capture": {"type": "string", "description": "the received bytes, shown with escapes"}}}),
    }
}

struct RawStep {
    node: NodeRef,
    from: Option<NodeRef>,
    send: Template,
    read_for: Duration,
    expect: Option<Template>,
    expect_match: Option<regex::Regex>,
    expect_closed: Option<bool>,
    capture: Option<String>,
}

const KEYS: &[&str] = &["node", "from", "send", "read-for", "expect", "expect-match", "expect-closed", "capture"];

/// A template whose literal text must unescape; a bad escape points at the value.
fn escaped(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<Template, Diagnostic> {
    let t = cx.template(n, what)?;
    if let Some(text) = t.literal()
        && let Err((at, why)) = unescape(text)
    {
        return Err(Diagnostic::new(n.span, format!("{what}: {why} (at character {})", at + 1))
            .with_hint("escapes are \\r \\n \\t \\0 \\\\ \\\" and \\xHH (two hex digits)"));
    }
    Ok(t)
}

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-raw")?;
    let node = cx.node_ref(m.required("node")?, "redis-raw.node")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-raw.from")).transpose()?;
    let send = escaped(m.required("send")?, cx, "redis-raw.send")?;
    let read_for = match m.get("read-for") {
        Some(n) => match n.duration("redis-raw.read-for")? {
            d if d.is_zero() || d > MAX_READ_FOR => {
                return Err(Diagnostic::new(n.span, format!("read-for {} is out of range", format_duration(d)))
                    .with_hint("more than 0 and at most 1h, e.g. `read-for: 200ms`"));
            }
            d => d,
        },
        None => DEFAULT_READ_FOR,
    };
    let expect = m.get("expect").map(|e| escaped(e, cx, "redis-raw.expect")).transpose()?;
    let expect_match = m.get("expect-match").map(|e| regex(e, "redis-raw.expect-match")).transpose()?;
    let expect_closed = m.get("expect-closed").map(|e| e.bool("redis-raw.expect-closed")).transpose()?;
    let capture = m.get("capture").map(|c| c.str("redis-raw.capture")).transpose()?;
    m.finish(KEYS)?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(RawStep { node, from, send, read_for, expect, expect_match, expect_closed, capture }))
}

/// Bytes from a rendered template (checked again: a capture may bring a bad escape).
fn bytes(rt: &Runtime, t: &Template) -> Result<Vec<u8>, RunError> {
    let text = rt.render(t)?;
    unescape(&text).map_err(|(_, why)| RunError::Check(format!("`{text}`: {why}")))
}

impl RawStep {
    fn check(&self, rt: &Runtime, got: &[u8], shown: &str, closed: bool) -> Result<(), RunError> {
        if let Some(e) = &self.expect {
            let want = bytes(rt, e)?;
            if got != want {
                return Err(RunError::Check(format!("received \"{shown}\", expected \"{}\"", escape(&want))));
            }
        }
        if let Some(re) = &self.expect_match
            && !re.is_match(shown)
        {
            return Err(RunError::Check(format!("received \"{shown}\", which does not match /{re}/")));
        }
        match self.expect_closed {
            Some(want) if want != closed => Err(RunError::Check(format!(
                "the node {} the connection",
                if closed { "closed" } else { "did not close" }
            ))),
            _ => Ok(()),
        }
    }
}

impl Step for RawStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let (addr, host) = rt.client_endpoints(&self.node, self.from.as_ref())?;
        let send = bytes(rt, &self.send)?;
        let detail = format!(" -> {addr}: \"{}\"", escape(&send));
        let read_for = self.read_for;
        let factory: sim::Factory = Box::new(move || Box::new(RawClient::new(addr, send.clone(), read_for)));
        let client = client_step::start(rt, host, "raw", &detail, factory)?;
        // The connection, then the read: the connect timeout bounds the first.
        let done = client_step::wait(rt, client, Duration::from_secs(10) + read_for, |c: &RawClient| c.done)?;
        let c = rt.sim.process::<RawClient>(client).ok_or("the raw client's process is gone")?;
        if let Some(e) = &c.error {
            return Err(RunError::Check(e.clone()));
        }
        if !done {
            return Err(RunError::Check(format!("no connection to {addr} within 10s")));
        }
        let (got, closed, dropped) = (c.received.clone(), c.closed_by_server, c.dropped);
        let shown = escape(&got);
        rt.sim.record("reply", format!("\"{shown}\""));
        self.check(rt, &got, &shown, closed)?;
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), shown.clone());
        }
        let mut detail = format!("\"{shown}\"");
        if dropped > 0 {
            detail.push_str(&format!(" (and {dropped} more bytes)"));
        }
        if closed {
            detail.push_str(" (closed by the node)");
        }
        Ok(detail)
    }
}
