//! Clients that run in the background: a kind's step starts one under a name
//! ([`Runtime::start_background`]) and returns at once; later steps wait for
//! it to finish (`await`) or stop it (`stop-client`) by that name; a run that
//! ends with one still running stops it and says so. Whatever the client,
//! the runner sees it through a [`Snapshot`] of its requests and replies,
//! which `report.json` keeps as a [`report::ClientReport`].
//!
//! Names are checked when the scenario is read: a name is started once, and
//! `await` / `stop-client` must name a client an earlier step started
//! (`await` one that ends by itself, having a `count`).

use crate::client_step::regex;
use crate::diag::Diagnostic;
use crate::error::RunError;
use crate::kind::{ParseCx, Step, Syntax, quoted};
use crate::runner::Runtime;
use crate::template::Template;
use crate::yaml::{Node, did_you_mean, format_duration};
pub use report::Exchange;
use serde_json::json;
use sim::{Fault, ProcId, Sim};
use std::time::Duration;

/// A background client's requests and replies so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Requests sent.
    pub sent: u64,
    /// Replies received.
    pub replied: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// The requests and replies kept.
    pub exchanges: Vec<Exchange>,
    /// Whether it has sent everything it will and has every reply.
    pub done: bool,
}

/// Reads a client's [`Snapshot`] from its process; `None` when the process is
/// gone or of another type.
pub type Reader = fn(&Sim, ProcId) -> Option<Snapshot>;

/// A client running (or once run) in the background.
pub struct Background {
    /// Its process.
    pub proc: ProcId,
    /// What it sends, as written.
    pub command: String,
    /// How its snapshot is read.
    pub read: Reader,
    pub(crate) started_by: usize,
    pub(crate) started_ns: u64,
    /// When and how it ended, with what it had done by then.
    pub(crate) ended: Option<(u64, String, Snapshot)>,
}

impl Background {
    /// A client of process `proc` sending `command`, read by `read`.
    pub fn new(proc: ProcId, command: String, read: Reader) -> Background {
        Background { proc, command, read, started_by: 0, started_ns: 0, ended: None }
    }
}

impl Runtime {
    /// Registers a client a step has started under `name`.
    pub fn start_background(&mut self, name: &str, mut client: Background) {
        client.started_by = self.step_index();
        client.started_ns = self.sim.now().as_nanos();
        self.clients.insert(name.to_owned(), client);
    }

    /// Its snapshot now (the last one, once it has ended).
    fn snapshot(&self, name: &str) -> Result<Snapshot, RunError> {
        let c = self.clients.get(name).ok_or_else(|| RunError::Check(format!("no client `{name}` was started")))?;
        match &c.ended {
            Some((_, _, s)) => Ok(s.clone()),
            None => {
                (c.read)(&self.sim, c.proc).ok_or_else(|| RunError::Check(format!("client `{name}`'s process is gone")))
            }
        }
    }

    /// Ends client `name`: keeps its last snapshot, and kills its process
    /// unless it finished by itself.
    fn end_background(&mut self, name: &str, how: String) -> Result<Snapshot, RunError> {
        let snapshot = self.snapshot(name)?;
        let c = self.clients.get(name).expect("snapshot found it");
        if c.ended.is_some() {
            return Err(RunError::Check(format!("client `{name}` has already ended")));
        }
        let proc = c.proc;
        if !snapshot.done && self.sim.proc_state(proc) != sim::ProcState::Down {
            self.apply(Fault::Kill(proc))?;
        }
        let now = self.sim.now().as_nanos();
        self.clients.get_mut(name).expect("found above").ended = Some((now, how, snapshot.clone()));
        Ok(snapshot)
    }

    /// At the end of a run: clients still running are stopped, and every
    /// client's record goes into the report.
    pub(crate) fn finish_background(&mut self) -> Vec<report::ClientReport> {
        let running: Vec<String> =
            self.clients.iter().filter(|(_, c)| c.ended.is_none()).map(|(n, _)| n.clone()).collect();
        for name in running {
            self.sim.record("client", format!("{name}: still running at the end of the run, stopped"));
            let how = "still running at the end of the run, stopped".to_owned();
            if self.end_background(&name, how.clone()).is_err() {
                let now = self.sim.now().as_nanos();
                self.clients.get_mut(&name).expect("listed").ended = Some((now, how, Snapshot::default()));
            }
        }
        let mut clients: Vec<_> = std::mem::take(&mut self.clients).into_iter().collect();
        clients.sort_by_key(|(_, c)| (c.started_ns, c.started_by));
        clients
            .into_iter()
            .map(|(name, c)| {
                let process = self.sim.proc_name(c.proc).to_owned();
                client_report(name, process, c)
            })
            .collect()
    }
}

fn client_report(name: String, process: String, c: Background) -> report::ClientReport {
    let (ended_ns, end, s) = c.ended.expect("every client ended");
    let mut exchanges = s.exchanges;
    exchanges.truncate(report::MAX_EXCHANGES);
    report::ClientReport {
        name,
        process,
        command: c.command,
        started_by: c.started_by,
        started_ns: c.started_ns,
        ended_ns,
        end,
        sent: s.sent,
        replied: s.replied,
        errors: s.errors,
        exchanges,
    }
}

/// A snapshot in words, for a step's detail.
fn counts(name: &str, s: &Snapshot) -> String {
    format!("{name}: {} sent, {} replied, {} errors", s.sent, s.replied, s.errors)
}

/// The syntax of `await` and `stop-client`.
pub fn steps() -> Vec<Syntax> {
    vec![
        Syntax {
            name: "await",
            doc: "wait for a background client (started with a `count`) to get every reply; check them",
            schema: json!({"oneOf": [{"type": "string"}, {"type": "object", "required": ["client"], "additionalProperties": false, "properties": {
                "client": {"type": "string"}, "within": {"type": "string", "default": "10s"},
                "expect": {"type": "string", "description": "what every reply must be, as redis-cli prints it"},
                "expect-match": {"type": "string", "description": "regex every reply must match"},
                "max-errors": {"type": "integer", "minimum": 0, "description": "at most this many replies may be errors"},
                "capture": {"type": "string", "description": "every reply, one a line"}}}]}),
        },
        Syntax {
            name: "stop-client",
            doc: "stop a background client now (Ctrl-C); its requests and replies so far stay in the report",
            schema: json!({"type": "string"}),
        },
    ]
}

/// Parses `await` or `stop-client`.
pub(crate) fn parse_step(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    match name {
        "stop-client" => Ok(Box::new(StopClient(client_name(value, cx, "stop-client", false)?))),
        _ => parse_await(value, cx),
    }
}

/// What the parser knows of a background client an earlier step started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Declared {
    /// It ends by itself (it has a `count`), so it can be awaited.
    finite: bool,
    /// The line of the `await` or `stop-client` that ended it.
    ended_at: Option<u32>,
}

/// A name a background client was started under, which this step (at `n`)
/// ends; `finite`: it must end by itself.
fn client_name(n: &Node, cx: &ParseCx<'_>, what: &str, finite: bool) -> Result<String, Diagnostic> {
    let name = n.str(what)?;
    let mut clients = cx.clients.borrow_mut();
    match clients.get_mut(&name) {
        Some(Declared { ended_at: Some(line), .. }) => {
            Err(Diagnostic::new(n.span, format!("client `{name}` has already ended, at line {line}"))
                .with_label("ended before")
                .with_hint("a client is awaited or stopped once; start another under a new name"))
        }
        Some(Declared { finite: false, .. }) if finite => {
            Err(Diagnostic::new(n.span, format!("client `{name}` runs until it is stopped"))
                .with_label("never finishes")
                .with_hint(format!("give its step a `count`, or write `- stop-client: {name}`")))
        }
        Some(declared) => {
            declared.ended_at = Some(n.span.line);
            Ok(name)
        }
        None => {
            let known: Vec<&str> = clients.keys().map(String::as_str).collect();
            let d = Diagnostic::new(n.span, format!("no earlier step starts a client named `{name}`"))
                .with_label("unknown client");
            Err(match did_you_mean(&name, &known) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None if known.is_empty() => d.with_hint(
                    "start one first, e.g. `- redis-cli-background: {name: writer, node: \"6379\", command: \"set k${i} ${i}\", every: 2ms}`",
                ),
                None => d.with_hint(format!("clients are: {}", quoted(&known))),
            })
        }
    }
}

/// Declares a client name a step starts; a name already taken is an error.
pub fn declare_client(cx: &ParseCx<'_>, n: &Node, finite: bool) -> Result<String, Diagnostic> {
    let name = n.str("name")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(Diagnostic::new(n.span, format!("`{name}` is not a client name"))
            .with_hint("letters, digits, `-`, `_` and `.`, e.g. `writer`"));
    }
    if cx.clients.borrow_mut().insert(name.clone(), Declared { finite, ended_at: None }).is_some() {
        return Err(Diagnostic::new(n.span, format!("a client named `{name}` is already started by an earlier step"))
            .with_hint("give each background client its own name"));
    }
    Ok(name)
}

struct StopClient(String);

impl Step for StopClient {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let how = format!("stopped by step {}", rt.step_index());
        let s = rt.end_background(&self.0, how)?;
        rt.sim.record("client", counts(&self.0, &s));
        Ok(counts(&self.0, &s))
    }
}

struct Await {
    client: String,
    within: Duration,
    expect: Option<Template>,
    expect_match: Option<regex::Regex>,
    max_errors: Option<u64>,
    capture: Option<String>,
}

fn parse_await(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    if value.map("await").is_err() {
        let client = client_name(value, cx, "await", true)?;
        let within = Duration::from_secs(10);
        return Ok(Box::new(Await {
            client,
            within,
            expect: None,
            expect_match: None,
            max_errors: None,
            capture: None,
        }));
    }
    let mut m = value.map("await")?;
    let client = client_name(m.required("client")?, cx, "await.client", true)?;
    let within = m.get("within").map(|w| w.duration("await.within")).transpose()?.unwrap_or(Duration::from_secs(10));
    let expect = m.get("expect").map(|e| cx.template(e, "await.expect")).transpose()?;
    let expect_match = m.get("expect-match").map(|e| regex(e, "await.expect-match")).transpose()?;
    let max_errors = m.get("max-errors").map(|e| e.u64("await.max-errors")).transpose()?;
    let capture = m.get("capture").map(|c| c.str("await.capture")).transpose()?;
    m.finish(&["client", "within", "expect", "expect-match", "max-errors", "capture"])?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(Await { client, within, expect, expect_match, max_errors, capture }))
}

impl Await {
    fn check(&self, rt: &Runtime, s: &Snapshot) -> Result<(), RunError> {
        let want = self.expect.as_ref().map(|e| rt.render(e)).transpose()?;
        for e in &s.exchanges {
            let got = e.reply.as_deref().unwrap_or("");
            if let Some(want) = &want
                && got != want
            {
                return Err(RunError::Check(format!("`{}` replied {got:?}, expected {want:?}", e.request)));
            }
            if let Some(re) = &self.expect_match
                && !re.is_match(got)
            {
                return Err(RunError::Check(format!("`{}` replied {got:?}, which does not match /{re}/", e.request)));
            }
        }
        match self.max_errors {
            Some(max) if s.errors > max => Err(RunError::Check(format!(
                "client `{}` got {} error replies, more than {max}",
                self.client, s.errors
            ))),
            _ => Ok(()),
        }
    }
}

impl Step for Await {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let deadline = rt.sim.now() + self.within;
        let name = &self.client;
        let finished = rt.advance_until(deadline, |rt| Ok(rt.snapshot(name)?.done))?;
        if !finished {
            let s = rt.snapshot(name)?;
            return Err(RunError::Liveness(format!(
                "client `{name}` did not finish within {} ({} sent, {} replied)",
                format_duration(self.within),
                s.sent,
                s.replied
            )));
        }
        let s = rt.end_background(name, "finished".to_owned())?;
        rt.sim.record("client", counts(name, &s));
        self.check(rt, &s)?;
        if let Some(var) = &self.capture {
            let replies: Vec<&str> = s.exchanges.iter().map(|e| e.reply.as_deref().unwrap_or("")).collect();
            rt.captures.insert(var.clone(), replies.join("\n"));
        }
        Ok(counts(name, &s))
    }
}
