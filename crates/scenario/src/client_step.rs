//! What every client step shares, whatever the client (redis-cli, a
//! Sentinel-aware client, `redis-cli --cluster`, later the mysql client): the
//! client is a new process on a host, as a command typed in a shell is; the
//! step runs the kernel until the client has answered or its timeout passes;
//! then it checks what the client printed against `expect` / `expect-match`
//! and stores it under `capture`.
//!
//! A kind's step parses its own keys, takes these three through
//! [`Expectations::parse`], starts its process with [`start`] and waits with
//! [`wait`].

use crate::diag::Diagnostic;
use crate::error::RunError;
use crate::kind::ParseCx;
use crate::runner::Runtime;
use crate::template::Template;
use crate::yaml::{MapReader, Node};
use sim::{Fault, HostId, ProcId, Process};
use std::time::Duration;

/// The keys [`Expectations::parse`] reads, for a step's list of known keys.
pub const EXPECTATION_KEYS: [&str; 3] = ["expect", "expect-match", "capture"];

/// `expect`, `expect-match` and `capture` of a client step.
#[derive(Default)]
pub struct Expectations {
    /// The exact text the client must print.
    pub expect: Option<Template>,
    /// A regex the printed text must match.
    pub expect_match: Option<regex::Regex>,
    /// The capture that receives the printed text.
    pub capture: Option<String>,
}

impl Expectations {
    /// Reads the three keys from step `step`'s mapping and declares the capture.
    pub fn parse(m: &mut MapReader<'_>, cx: &ParseCx<'_>, step: &str) -> Result<Expectations, Diagnostic> {
        let expect = m.get("expect").map(|e| cx.template(e, &format!("{step}.expect"))).transpose()?;
        let expect_match = m.get("expect-match").map(|n| regex(n, &format!("{step}.expect-match"))).transpose()?;
        let capture = m.get("capture").map(|c| c.str(&format!("{step}.capture"))).transpose()?;
        if let Some(var) = &capture {
            cx.declare_capture(var);
        }
        Ok(Expectations { expect, expect_match, capture })
    }

    /// Checks `output`, what the client printed for `what`, and captures it.
    pub fn check(&self, rt: &mut Runtime, what: &str, output: &str) -> Result<(), RunError> {
        if let Some(expect) = &self.expect {
            let expected = rt.render(expect)?;
            if output != expected {
                return Err(RunError::Check(format!("`{what}` replied {output:?}, expected {expected:?}")));
            }
        }
        if let Some(re) = &self.expect_match
            && !re.is_match(output)
        {
            return Err(RunError::Check(format!("`{what}` replied {output:?}, which does not match /{re}/")));
        }
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), output.to_owned());
        }
        Ok(())
    }
}

/// A regular expression written at `node`; a bad one is a diagnostic with the
/// regex crate's explanation as the hint.
pub fn regex(node: &Node, what: &str) -> Result<regex::Regex, Diagnostic> {
    let text = node.str(what)?;
    regex::Regex::new(&text).map_err(|e| {
        Diagnostic::new(node.span, "invalid regular expression").with_hint(e.to_string().replace('\n', " "))
    })
}

/// Adds a client process called `<program>#<n>` on `host`, records
/// `<program>#<n><detail>` under `program` in the trace and starts it.
pub fn start(
    rt: &mut Runtime,
    host: HostId,
    program: &'static str,
    detail: &str,
    factory: sim::Factory,
) -> Result<ProcId, RunError> {
    let name = format!("{program}#{}", rt.sim.procs().count());
    let client = rt.sim.add_process(host, &name, factory);
    rt.sim.record(program, format!("{name}{detail}"));
    rt.apply(Fault::Start(client))?;
    Ok(client)
}

/// Runs the kernel until the client `P` says it is `done` or `timeout` has
/// passed; whether it finished. A client that is gone (killed by a fault) is
/// not done.
pub fn wait<P: Process>(
    rt: &mut Runtime,
    client: ProcId,
    timeout: Duration,
    done: impl Fn(&P) -> bool,
) -> Result<bool, RunError> {
    let deadline = rt.sim.now() + timeout;
    rt.advance_until(deadline, |rt| Ok(rt.sim.process::<P>(client).is_some_and(&done)))
}
