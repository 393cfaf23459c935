//! `workloads:`: the users of the system under test. Each named workload is
//! a set of simulated clients a node kind provides (through a
//! [`WorkloadDriver`] registered with the [`Registry`](crate::Registry)); it
//! starts at a virtual time (`start: 2s`) or by a step (`workload: {start:
//! name}`), and stops by a step (`workload: {stop: name}`) or at the run's
//! end. Stopping ends its operations, waits a quiet period, then reads every
//! key once (the final reads the loss checkers judge against).
//!
//! At the run's end every workload's operations form one history
//! (`history.jsonl`, timed in virtual nanoseconds), the `check` crate's
//! checkers judge it, and their verdicts go into the report; a checker that
//! says `invalid` fails the run unless the workload's `expect:` says so.

use crate::diag::{Diagnostic, Diagnostics};
use crate::error::RunError;
use crate::kind::{ParseCx, Step, Syntax, quoted};
use crate::runner::Runtime;
use crate::yaml::{MapReader, Node, Span, did_you_mean, format_duration};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Checker names a workload's `expect:` may name.
pub const CHECKERS: &[&str] =
    &["acked-write-loss", "linearizable-registers", "register-reads", "counters", "sets", "lists"];
/// The keys every workload has, whatever its client; the driver reads the rest.
pub const COMMON_KEYS: &[&str] = &["start", "quiet", "final-read-within", "expect"];
const DEFAULT_QUIET: Duration = Duration::from_secs(1);
const DEFAULT_READ_WITHIN: Duration = Duration::from_secs(10);

/// What a node kind provides to run workloads.
pub trait WorkloadDriver {
    /// The keys it reads from a workload's mapping (besides [`COMMON_KEYS`]).
    fn keys(&self) -> &'static [&'static str];
    /// The JSON Schema properties of those keys.
    fn schema(&self) -> serde_json::Value;
    /// Reads the driver's keys of workload `name` at `span`.
    fn parse(&self, m: &mut MapReader<'_>, span: Span, cx: &ParseCx<'_>) -> Result<Box<dyn WorkloadPlan>, Diagnostic>;
}

/// A workload as parsed, ready to start.
pub trait WorkloadPlan {
    /// Its client kind and clients, in words (`sentinel, 4 clients`).
    fn describe(&self) -> String;
    /// Starts its clients now, numbered from `first_process` in the history.
    fn start(&self, rt: &mut Runtime, name: &str, first_process: u64) -> Result<Box<dyn WorkloadRun>, RunError>;
    /// How many history processes it uses (its clients and final reader).
    fn processes(&self) -> u64;
}

/// A started workload.
pub trait WorkloadRun {
    /// Its clients start no new operation from now on.
    fn stop(&mut self);
    /// Operations still waiting for their reply.
    fn outstanding(&self) -> u32;
    /// Starts the final reader.
    fn start_final_read(&mut self, rt: &mut Runtime) -> Result<(), RunError>;
    /// Whether the final reader has read every key (or given up on it).
    fn final_read_done(&self) -> bool;
    /// Open-loop ticks skipped because the client was still busy.
    fn skipped(&self) -> u64;
    /// The whole history, taken out at the run's end (so it is not copied),
    /// as the ops its clients wrote.
    fn take_log(&mut self) -> check::OpLog;
    /// The events from position `from` on (a continuous invariant reads only
    /// what is new since its last look).
    fn events_from(&self, from: usize) -> Vec<check::Event>;
}

/// A workload as declared.
pub struct WorkloadDecl {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// Start at this virtual time (else a step starts it).
    pub start: Option<Duration>,
    /// Pause between its last operation and the final reads.
    pub quiet: Duration,
    /// How long the final reads may take.
    pub read_within: Duration,
    /// The verdict each named checker must give (`invalid`: the loss is the point).
    pub expect: BTreeMap<String, check::Verdict>,
    /// What it runs.
    pub plan: Box<dyn WorkloadPlan>,
}

/// The syntax of `workloads:` for `chaoslab schema`.
pub fn section_schema(driver: Option<&dyn WorkloadDriver>) -> serde_json::Value {
    let mut props = json!({
        "start": {"type": "string", "examples": ["2s"], "description": "start at this virtual time (else a `workload: {start: name}` step starts it)"},
        "quiet": {"type": "string", "default": "1s", "description": "after it stops: wait this long, then read every key"},
        "final-read-within": {"type": "string", "default": "10s"},
        "expect": {"type": "object", "description": "the verdict a checker must give: valid, invalid or unknown (a checker says invalid and nothing expects it: the run fails)",
            "propertyNames": {"enum": CHECKERS}, "additionalProperties": {"enum": ["valid", "invalid", "unknown"]}},
    });
    if let (Some(d), Some(map)) = (driver, props.as_object_mut())
        && let Some(extra) = d.schema().as_object()
    {
        map.extend(extra.clone());
    }
    json!({"type": "object", "description": "named workloads: simulated users whose operations form history.jsonl and are judged by the checkers",
        "additionalProperties": {"type": "object", "additionalProperties": false, "properties": props}})
}

/// Parses `workloads:`; the names go into `cx` for the `workload` step.
pub(crate) fn parse_section(n: &Node, cx: &ParseCx<'_>, diags: &mut Diagnostics) -> Vec<WorkloadDecl> {
    let Some(driver) = cx.registry.workload_driver() else {
        diags.push(
            Diagnostic::new(n.span, "no node kind of this chaoslab runs workloads")
                .with_hint("workloads need the `redis` node kind"),
        );
        return Vec::new();
    };
    let Ok(m) = n.map("workloads").map_err(|d| {
        diags.push(d.with_hint("e.g. `workloads: {w: {client: redis, node: \"6379\", model: register}}`"))
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in m.keys() {
        match parse_one(driver, &entry.key, &entry.value, entry.key_span, cx) {
            Ok(decl) => {
                cx.workloads.borrow_mut().insert(decl.name.clone());
                out.push(decl);
            }
            Err(d) => diags.push(d),
        }
    }
    out
}

fn parse_one(
    driver: &dyn WorkloadDriver,
    name: &str,
    value: &Node,
    key_span: Span,
    cx: &ParseCx<'_>,
) -> Result<WorkloadDecl, Diagnostic> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(Diagnostic::new(key_span, format!("`{name}` is not a workload name"))
            .with_hint("letters, digits, `-`, `_` and `.`, e.g. `writers`"));
    }
    let mut m = value.map(&format!("workloads.{name}"))?;
    let start = m.get("start").map(|n| n.duration("start")).transpose()?;
    let quiet = m.get("quiet").map(|n| n.duration("quiet")).transpose()?.unwrap_or(DEFAULT_QUIET);
    let read_within = m.get("final-read-within").map(|n| n.duration("final-read-within")).transpose()?;
    let expect = match m.get("expect") {
        Some(n) => parse_expect(n)?,
        None => BTreeMap::new(),
    };
    let plan = driver.parse(&mut m, value.span, cx)?;
    let known: Vec<&str> = COMMON_KEYS.iter().chain(driver.keys()).copied().collect();
    m.finish(&known)?;
    Ok(WorkloadDecl {
        name: name.to_owned(),
        span: value.span,
        start,
        quiet,
        read_within: read_within.unwrap_or(DEFAULT_READ_WITHIN),
        expect,
        plan,
    })
}

fn parse_expect(n: &Node) -> Result<BTreeMap<String, check::Verdict>, Diagnostic> {
    let m = n.map("expect")?;
    let mut out = BTreeMap::new();
    for e in m.keys() {
        let checker = e.key.clone();
        if !CHECKERS.contains(&checker.as_str()) {
            let d = Diagnostic::new(e.key_span, format!("unknown checker `{checker}`")).with_label("not a checker");
            return Err(match did_you_mean(&checker, CHECKERS) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint(format!("checkers are: {}", quoted(CHECKERS))),
            });
        }
        let verdict = match e.value.str("expect")?.as_str() {
            "valid" => check::Verdict::Valid,
            "invalid" => check::Verdict::Invalid,
            "unknown" => check::Verdict::Unknown,
            other => {
                return Err(Diagnostic::new(e.value.span, format!("`{other}` is not a verdict"))
                    .with_hint("valid, invalid or unknown"));
            }
        };
        out.insert(checker, verdict);
    }
    Ok(out)
}

/// A workload with `start:` becomes a timed action at that time.
pub(crate) fn timed_starts(workloads: &[WorkloadDecl], timed: &mut Vec<crate::model::TimedFault>) {
    for w in workloads {
        if let Some(at) = w.start {
            let step = Box::new(WorkloadStep { name: w.name.clone(), start: true });
            timed.push(crate::model::TimedFault {
                at,
                span: w.span,
                step,
                text: format!("workload {} starts", w.name),
            });
        }
    }
    timed.sort_by_key(|f| f.at);
}

/// The `workload` step's syntax.
pub fn steps() -> Vec<Syntax> {
    vec![Syntax {
        name: "workload",
        doc: "start a workload of `workloads:` now, or stop it (its clients stop, a quiet period passes, every key is read once)",
        schema: json!({"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
            "properties": {"start": {"type": "string"}, "stop": {"type": "string"}}}),
    }]
}

/// Parses `workload: {start: name}` or `{stop: name}`.
pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("workload")?;
    let (start, stop) = (m.get("start"), m.get("stop"));
    m.finish(&["start", "stop"])?;
    let (node, starting) = match (start, stop) {
        (Some(n), None) => (n, true),
        (None, Some(n)) => (n, false),
        _ => {
            return Err(Diagnostic::new(value.span, "`workload` takes one of `start` or `stop`")
                .with_hint("e.g. `- workload: {start: writers}`"));
        }
    };
    let name = node.str("workload")?;
    let known = cx.workloads.borrow();
    if !known.contains(&name) {
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let d = Diagnostic::new(node.span, format!("no workload named `{name}`")).with_label("unknown workload");
        return Err(match did_you_mean(&name, &names) {
            Some(best) => d.with_hint(format!("did you mean `{best}`?")),
            None if names.is_empty() => d.with_hint("declare it under `workloads:` first"),
            None => d.with_hint(format!("workloads are: {}", quoted(&names))),
        });
    }
    Ok(Box::new(WorkloadStep { name, start: starting }))
}

/// Starts or stops a workload; also what a workload's `start:` time runs.
pub(crate) struct WorkloadStep {
    pub(crate) name: String,
    pub(crate) start: bool,
}

impl Step for WorkloadStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        if self.start { rt.start_workload(&self.name) } else { rt.stop_workload(&self.name) }
    }
}

/// A workload's state in a run.
pub(crate) struct Slot {
    decl: WorkloadDecl,
    run: Option<Box<dyn WorkloadRun>>,
    started_ns: Option<u64>,
    stopped_ns: Option<u64>,
    final_read: String,
}

/// Every workload of a run.
#[derive(Default)]
pub(crate) struct Workloads {
    slots: BTreeMap<String, Slot>,
    /// Names in the order they started, with their first history process.
    started: Vec<String>,
    next_process: u64,
}

impl Workloads {
    pub(crate) fn new(decls: Vec<WorkloadDecl>) -> Workloads {
        let slots = decls
            .into_iter()
            .map(|d| {
                let slot = Slot { decl: d, run: None, started_ns: None, stopped_ns: None, final_read: String::new() };
                (slot.decl.name.clone(), slot)
            })
            .collect();
        Workloads { slots, started: Vec::new(), next_process: 0 }
    }
}

impl Runtime {
    /// Workload `name`'s history from event `from` on, as its clients wrote it
    /// so far; `None` before it has started (or when there is no such workload).
    pub fn workload_events_from(&self, name: &str, from: usize) -> Option<Vec<check::Event>> {
        self.workloads.slots.get(name)?.run.as_ref().map(|r| r.events_from(from))
    }

    fn start_workload(&mut self, name: &str) -> Result<String, RunError> {
        let started = self.workloads.slots.get(name).map(|s| s.started_ns.is_some());
        match started {
            None => return Err(RunError::Check(format!("no workload `{name}`"))),
            Some(true) => return Err(RunError::Check(format!("workload `{name}` has already started"))),
            Some(false) => {}
        }
        // The plan starts processes on the runtime, so it leaves its slot meanwhile.
        let mut slot = self.workloads.slots.remove(name).expect("looked up above");
        let first = self.workloads.next_process;
        let result = slot.decl.plan.start(self, name, first);
        let detail = format!("{name} started: {}", slot.decl.plan.describe());
        let out = match result {
            Ok(run) => {
                self.workloads.next_process += slot.decl.plan.processes();
                slot.started_ns = Some(self.sim.now().as_nanos());
                slot.run = Some(run);
                self.workloads.started.push(name.to_owned());
                self.sim.record("workload", detail.clone());
                Ok(detail)
            }
            Err(e) => Err(e),
        };
        self.workloads.slots.insert(name.to_owned(), slot);
        out
    }

    fn stop_workload(&mut self, name: &str) -> Result<String, RunError> {
        let slot =
            self.workloads.slots.get_mut(name).ok_or_else(|| RunError::Check(format!("no workload `{name}`")))?;
        if slot.stopped_ns.is_some() {
            return Err(RunError::Check(format!("workload `{name}` has already stopped")));
        }
        let Some(run) = slot.run.as_mut() else {
            return Err(RunError::Check(format!("workload `{name}` has not started")));
        };
        run.stop();
        let (quiet, within) = (slot.decl.quiet, slot.decl.read_within);
        self.sim.record("workload", format!("{name} stopped"));
        self.advance(quiet)?;
        let mut run = self.workloads.slots.get_mut(name).and_then(|s| s.run.take()).expect("started above");
        run.start_final_read(self)?;
        let deadline = self.sim.now() + within;
        let read = {
            let run_ref = &run;
            self.advance_until(deadline, |_| Ok(run_ref.final_read_done()))?
        };
        let slot = self.workloads.slots.get_mut(name).expect("found above");
        slot.final_read = if read {
            "every key read".to_owned()
        } else {
            format!("final reads unfinished after {}", format_duration(within))
        };
        slot.run = Some(run);
        slot.stopped_ns = Some(self.sim.now().as_nanos());
        let outstanding = slot.run.as_ref().map_or(0, |r| r.outstanding());
        self.sim.record("workload", format!("{name}: {}", slot.final_read));
        Ok(format!("{name} stopped; {}; {outstanding} operations still unanswered", slot.final_read))
    }
}

/// Ends every running workload, judges the history, and says what the report
/// keeps (the history itself, for history.jsonl, only when `history_text`).
pub(crate) fn finish(
    rt: &mut Runtime,
    history_text: bool,
    first_evidence_only: bool,
) -> (Option<report::HistoryReport>, report::HistoryText, Option<RunError>) {
    if rt.workloads.started.is_empty() {
        return (None, report::HistoryText::default(), None);
    }
    let mut failure = None;
    for name in rt.workloads.started.clone() {
        if rt.workloads.slots.get(&name).is_some_and(|s| s.stopped_ns.is_none())
            && let Err(e) = rt.stop_workload(&name)
        {
            failure.get_or_insert(e);
        }
    }
    let mut logs = Vec::new();
    let mut workloads = Vec::new();
    for name in &rt.workloads.started {
        let slot = rt.workloads.slots.get_mut(name).expect("started");
        let run = slot.run.as_mut().expect("started");
        logs.push(run.take_log());
        workloads.push(report::WorkloadReport {
            name: name.clone(),
            clients: slot.decl.plan.describe(),
            started_ns: slot.started_ns.unwrap_or(0),
            stopped_ns: slot.stopped_ns,
            skipped: run.skipped(),
            final_read: slot.final_read.clone(),
        });
    }
    // The workloads' ops as their clients wrote them, merged by time (ties
    // in start order); their events are built only if the history is written.
    let log = check::OpLog::merge(logs);
    let faults = fault_windows(&rt.fault_log);
    let (summary, failure_judged) = judge(rt, &log, &faults, workloads, first_evidence_only);
    let text = if history_text { report::HistoryText::new(log, faults) } else { report::HistoryText::default() };
    (Some(summary), text, failure.or(failure_judged))
}

/// Runs the checkers; a verdict no `expect:` allows is the run's failure.
fn judge(
    rt: &Runtime,
    log: &check::OpLog,
    faults: &[check::FaultWindow],
    workloads: Vec<report::WorkloadReport>,
    first_evidence_only: bool,
) -> (report::HistoryReport, Option<RunError>) {
    let ops = log.ops();
    let mut options = check::Options::default();
    if first_evidence_only {
        options.evidence = 1;
    }
    let (results, stats) = check::check_ops_and_stats(ops, faults, options);
    let mut expect: BTreeMap<&str, check::Verdict> = BTreeMap::new();
    for name in &rt.workloads.started {
        for (c, v) in &rt.workloads.slots[name].decl.expect {
            expect.insert(c.as_str(), *v);
        }
    }
    let mut failure = None;
    let checkers = results
        .iter()
        .map(|r| {
            let expected = expect.get(r.checker).copied();
            let as_expected = match expected {
                Some(v) => v == r.verdict,
                None => r.verdict != check::Verdict::Invalid,
            };
            if !as_expected {
                let want = expected.map_or("not invalid", |v| v.name());
                failure.get_or_insert(RunError::Check(format!(
                    "checker {} says {} (expected {want}){}",
                    r.checker,
                    r.verdict.name(),
                    r.evidence.first().map(|e| format!(": {}", clip(&e.what))).unwrap_or_default()
                )));
            }
            checker_report(r, expected, as_expected)
        })
        .collect();
    // One pass over the ops (100,000s of them, 176 bytes each) for the three counts.
    let mut outcomes = [0usize; 3];
    for op in ops {
        outcomes[match op.outcome {
            check::Outcome::Ok => 0,
            check::Outcome::Fail => 1,
            check::Outcome::Info => 2,
        }] += 1;
    }
    let [ok, fail, info] = outcomes;
    let summary = report::HistoryReport {
        file: "history.jsonl".to_owned(),
        workloads,
        events: log.events_len(),
        ops: ops.len(),
        ok,
        fail,
        info,
        faults: faults.iter().map(|f| f.name.clone()).collect(),
        verdict: check::overall(&results).name().to_owned(),
        checkers,
        stats: serde_json::to_value(stats).unwrap_or_default(),
    };
    (summary, failure)
}

/// At most 200 characters of `text` (the report keeps it whole).
fn clip(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn checker_report(
    r: &check::CheckResult,
    expected: Option<check::Verdict>,
    as_expected: bool,
) -> report::CheckerReport {
    report::CheckerReport {
        checker: r.checker.to_owned(),
        verdict: r.verdict.name().to_owned(),
        expected: expected.map(|v| v.name().to_owned()),
        as_expected,
        counts: r.counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        evidence: r
            .evidence
            .iter()
            .map(|e| report::EvidenceReport { what: e.what.clone(), ops: e.ops.clone(), faults: e.faults.clone() })
            .collect(),
    }
}

/// The faults applied to nodes, as intervals: a partition until `heal` (or
/// the next partition), a pause until `resume`, a kill or stop until the
/// node starts again, a crashed host until it starts.
pub(crate) fn fault_windows(log: &[(u64, String)]) -> Vec<check::FaultWindow> {
    let mut windows: Vec<check::FaultWindow> = Vec::new();
    let close = |windows: &mut Vec<check::FaultWindow>, t: u64, matches: &dyn Fn(&str) -> bool| {
        for w in windows.iter_mut().filter(|w| w.end.is_none() && matches(&w.name)) {
            w.end = Some(t);
        }
    };
    for (t, text) in log {
        let (verb, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        match verb {
            "heal" => close(&mut windows, *t, &|n| n.starts_with("partition")),
            "partition" | "partition-one-way" => {
                close(&mut windows, *t, &|n| n.starts_with("partition"));
            }
            "resume" => close(&mut windows, *t, &|n| n == format!("pause {rest}")),
            "start" | "restart" => {
                close(&mut windows, *t, &|n| [format!("kill {rest}"), format!("stop {rest}")].contains(&n.to_owned()))
            }
            "start-host" => close(&mut windows, *t, &|n| n == format!("crash-host {rest}")),
            _ => {}
        }
        if !matches!(verb, "heal" | "resume" | "start" | "start-host") {
            windows.push(check::FaultWindow { name: text.clone(), start: *t, end: None });
        }
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_windows_close_on_heal_resume_and_start() {
        let s = 1_000_000_000;
        let log: Vec<(u64, String)> = [
            (s, "partition [6379] | [6380,6381]"),
            (2 * s, "pause 6381"),
            (3 * s, "kill 6380"),
            (4 * s, "heal"),
            (5 * s, "resume 6381"),
            (6 * s, "start 6380"),
        ]
        .into_iter()
        .map(|(t, x)| (t, x.to_owned()))
        .collect();
        let w = fault_windows(&log);
        let spans: Vec<(&str, u64, Option<u64>)> = w.iter().map(|w| (w.name.as_str(), w.start, w.end)).collect();
        assert_eq!(
            spans,
            vec![
                ("partition [6379] | [6380,6381]", s, Some(4 * s)),
                ("pause 6381", 2 * s, Some(5 * s)),
                ("kill 6380", 3 * s, Some(6 * s)),
            ]
        );
    }
}
