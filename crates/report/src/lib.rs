//! `report`: what a run leaves behind. It owns the `report.json` schema (written
//! after a run, read back by `chaoslab replay`), `trace.jsonl`, the per-node
//! `logs/<node>.log` files, and the documents built from `report.json`:
//! `summary.md` ([`markdown`]) and `junit.xml` ([`junit`]).
//!
//! It depends on `sim` only to read a finished run's trace and logs, and on
//! `check` for the history it writes as `history.jsonl`. It must not
//! depend on the scenario format or on any node kind, and must not decide an exit
//! code (the binary does).
//!
//! Must not depend on: `scenario`, `resp`, `common`, `redis`, `sentinel`,
//! `redis-client`, `redis-lab`, `sentinel-lab`, `chaoslab`.

pub mod history;
pub mod html;
pub mod junit;
pub mod markdown;
mod results;
pub mod story;
pub mod timeline;

use serde::{Deserialize, Serialize};
use sim::Sim;
use std::io::Write as _;
use std::path::Path;

/// Bumped when `report.json` changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every step succeeded and every check held.
    Pass,
    /// A step or a check failed.
    Fail,
    /// Stopped before the end (Ctrl-C, a time limit): the report is partial.
    Interrupted,
}

/// What kind of failure ended a failed run; the binary's exit code follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A step's check failed (a reply, an assertion, a refused fault).
    Check,
    /// An invariant was broken.
    Invariant,
    /// Something awaited never happened in time (a `wait-until`).
    Liveness,
    /// The simulator misbehaved: a bug in chaoslab, not in the system under test.
    SimulatorBug,
    /// Stopped from outside before the end (Ctrl-C, a time limit): the report is partial.
    Interrupted,
}

/// How one step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did what it should.
    Pass,
    /// It failed; the run stopped here.
    Fail,
    /// Not run because an earlier step failed.
    Skipped,
}

/// The whole report of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// `report.json` format version.
    pub format: u32,
    /// chaoslab's version.
    pub chaoslab_version: String,
    /// Which scenario.
    pub scenario: ScenarioInfo,
    /// The seed the run used.
    pub seed: u64,
    /// Pass or fail.
    pub result: Verdict,
    /// The first failure, in words.
    pub failure: Option<String>,
    /// What kind of failure it was, when the run failed (absent in reports
    /// written before kinds were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_kind: Option<FailureKind>,
    /// Every step in order.
    pub steps: Vec<StepReport>,
    /// What each `capture` held at the end of the run, by name (empty in
    /// reports written before captures were kept).
    #[serde(default)]
    pub captures: std::collections::BTreeMap<String, String>,
    /// The background clients the steps started, with every request and reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientReport>,
    /// The workloads' history and the checkers' verdicts on it (none without `workloads:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryReport>,
    /// The history itself, written beside report.json as `history.jsonl`.
    #[serde(skip)]
    pub history_jsonl: HistoryText,
    /// Invariants checked throughout the run.
    pub checks: Vec<CheckReport>,
    /// The invariants violated, those the scenario expected (`expect:
    /// violated`) apart from those it did not; left out when none was.
    #[serde(default, skip_serializing_if = "Violations::is_none")]
    pub violations: Violations,
    /// The faults a `nemesis:` drew for this seed, in order, and what became
    /// of each (empty without a nemesis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nemesis: Vec<NemesisFault>,
    /// Every node's final state.
    pub nodes: Vec<NodeReport>,
    /// Scheduled faults that could not be applied.
    pub fault_errors: Vec<String>,
    /// Kernel events processed.
    pub events_processed: u64,
    /// Virtual time simulated, in ns.
    pub virtual_time_ns: u64,
    /// Virtual time simulated, readable.
    pub virtual_time: String,
    /// Wall-clock time the run took, in ms (the only non-deterministic field).
    pub wall_time_ms: f64,
    /// Number of trace records.
    pub trace_events: u64,
    /// Fingerprint of the trace: same scenario + same seed ⇒ same hash.
    pub trace_hash: String,
    /// The command that reproduces this run.
    pub reproduce: String,
}

/// One fault a nemesis drew, and what became of it when its time came.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NemesisFault {
    /// When it started, virtual ns.
    pub at_ns: u64,
    /// Its kind (`kill`, `isolate-with-clients`, ...).
    pub kind: String,
    /// Whom it could pick (`masters`, `any`, a group).
    pub target: String,
    /// How long it lasted, ns (0: instant).
    pub duration_ns: u64,
    /// The nodes or hosts it picked when it fired.
    pub targets: Vec<String>,
    /// `applied`, `skipped: <why>` (a limit, no candidate) or `not reached`.
    pub outcome: String,
    /// The fault steps it applied, as a scenario writes them.
    pub apply: Vec<String>,
    /// The fault steps that ended it.
    pub undo: Vec<String>,
}

/// The scenario a report is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Its `name:`.
    pub name: String,
    /// The file it was read from.
    pub file: String,
    /// Its `description:`.
    pub description: String,
    /// Fingerprint of the file's bytes, so replay can tell the file changed.
    pub source_hash: String,
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based position in `steps:`.
    pub index: usize,
    /// Line in the scenario file.
    pub line: u32,
    /// The step's key (`kill`, `wait-until`, ...).
    pub action: String,
    /// The step as written.
    pub text: String,
    /// Virtual time it started, ns.
    pub started_ns: u64,
    /// Virtual time it ended, ns.
    pub finished_ns: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// What it observed, received or why it failed.
    pub detail: String,
    /// The step's `note:`, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// An error reply the step received and no `expect` checked: the step
    /// passed, but the reply is worth a look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchecked_error: Option<String>,
}

impl RunReport {
    /// The steps that passed with an error reply no `expect` checked.
    pub fn unchecked_errors(&self) -> impl Iterator<Item = (&StepReport, &str)> {
        self.steps.iter().filter_map(|s| s.unchecked_error.as_deref().map(|e| (s, e)))
    }
}

/// What the workloads did and what the checkers said of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryReport {
    /// The history's file beside report.json.
    pub file: String,
    /// Each workload.
    pub workloads: Vec<WorkloadReport>,
    /// Events (invocations and completions).
    pub events: usize,
    /// Operations, and how they ended.
    pub ops: usize,
    /// Took effect.
    pub ok: usize,
    /// Definitely did not take effect.
    pub fail: usize,
    /// May or may not have taken effect (timeouts, lost connections).
    pub info: usize,
    /// The faults active during the history.
    #[serde(default)]
    pub faults: Vec<String>,
    /// `valid`, `invalid` or `unknown`: every checker's verdict together.
    pub verdict: String,
    /// Each checker's verdict, counts and evidence.
    pub checkers: Vec<CheckerReport>,
    /// Availability per second and latency of ok operations.
    #[serde(default)]
    pub stats: serde_json::Value,
}

/// One workload of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadReport {
    /// Its name.
    pub name: String,
    /// Its client kind and clients, in words.
    pub clients: String,
    /// When it started (virtual ns).
    pub started_ns: u64,
    /// When it stopped, final reads done.
    pub stopped_ns: Option<u64>,
    /// Open-loop ticks skipped because the client was still waiting.
    #[serde(default)]
    pub skipped: u64,
    /// How its final reads went.
    pub final_read: String,
}

/// One checker's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerReport {
    /// Its name (`acked-write-loss`, ...).
    pub checker: String,
    /// `valid`, `invalid` or `unknown`.
    pub verdict: String,
    /// The verdict the scenario expects, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Whether the verdict is what the scenario expects (without `expect`: not invalid).
    pub as_expected: bool,
    /// What it counted.
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Its findings, the most telling first.
    #[serde(default)]
    pub evidence: Vec<EvidenceReport>,
}

/// One finding of a checker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceReport {
    /// What is wrong.
    pub what: String,
    /// The operations involved.
    pub ops: Vec<String>,
    /// Faults active while the first ran.
    #[serde(default)]
    pub faults: Vec<String>,
}

/// A client started in the background by one step and awaited, stopped, or
/// left running until the end of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReport {
    /// The name the scenario gave it.
    pub name: String,
    /// The client process (`redis-cli#12`).
    pub process: String,
    /// What it sends, as written (`set k${i} ${i}`).
    pub command: String,
    /// The step that started it (1-based).
    pub started_by: usize,
    /// Virtual time it started, ns.
    pub started_ns: u64,
    /// Virtual time it ended, ns (awaited, stopped, or the run's end).
    pub ended_ns: u64,
    /// How it ended: `finished`, `stopped by step N`, `still running at the
    /// end of the run (stopped)`.
    pub end: String,
    /// Requests sent.
    pub sent: u64,
    /// Replies received (a failed connection counts as an error reply).
    pub replied: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// Every request and its reply, in order (at most the first
    /// [`MAX_EXCHANGES`]).
    pub exchanges: Vec<Exchange>,
}

/// Exchanges a [`ClientReport`] keeps; the counts go on past it.
pub const MAX_EXCHANGES: usize = 100_000;

/// One request of a background client and its reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The command as sent.
    pub request: String,
    /// Virtual time it was sent, ns.
    pub sent_ns: u64,
    /// The reply as redis-cli prints it; none if it never came.
    pub reply: Option<String>,
    /// Virtual time the reply arrived, ns.
    pub replied_ns: Option<u64>,
    /// Whether the reply was an error (or the connection failed).
    #[serde(default)]
    pub error: bool,
}

/// One invariant's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Line in the scenario file.
    pub line: u32,
    /// The invariant in words.
    pub description: String,
    /// Pass or fail.
    pub outcome: Outcome,
    /// How many times it was evaluated.
    pub evaluations: u64,
    /// When it first failed, ns.
    pub violated_ns: Option<u64>,
    /// What was observed when it failed.
    pub detail: String,
    /// Its `name:` (empty when unnamed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `expect: violated`: a violation is the expected verdict (e.g. Redis
    /// losing acknowledged writes in a partition) and holding fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expect_violated: bool,
    /// `within:`, ns: how long it may stay false before that is a violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ns: Option<u64>,
    /// With `within`: when the violation began (it stayed false from here
    /// until `violated_ns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_since_ns: Option<u64>,
    /// Faults in force at the first violation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// The step running at the first violation (`#n: text`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub step: String,
}

impl CheckReport {
    /// Its name, or the condition in words.
    pub fn title(&self) -> &str {
        if self.name.is_empty() { &self.description } else { &self.name }
    }

    /// Whether it was violated although the scenario expected it to hold.
    pub fn unexpected_violation(&self) -> bool {
        self.violated_ns.is_some() && !self.expect_violated
    }
}

/// How many invariants were violated, as expected and not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violations {
    /// Violated, and declared `expect: violated`.
    pub expected: usize,
    /// Violated although expected to hold.
    pub unexpected: usize,
}

impl Violations {
    /// The counts over a run's invariants.
    pub fn of(checks: &[CheckReport]) -> Violations {
        Violations {
            expected: checks.iter().filter(|c| c.expect_violated && c.violated_ns.is_some()).count(),
            unexpected: checks.iter().filter(|c| c.unexpected_violation()).count(),
        }
    }

    fn is_none(&self) -> bool {
        self.expected == 0 && self.unexpected == 0
    }
}

/// One node at the end of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its host's name.
    pub host: String,
    /// `ip:port`.
    pub address: String,
    /// running, paused or down.
    pub state: String,
    /// How many times it was started.
    pub starts: u32,
    /// Lines in its log.
    pub log_lines: usize,
    /// Kind-specific final state (role, offsets, ...).
    pub detail: serde_json::Value,
}

/// The files a run writes into its directory, besides `logs/`.
const RUN_FILES: [&str; 7] =
    ["report.json", "trace.jsonl", "timeline.json", "summary.md", "junit.xml", "report.html", "history.jsonl"];

/// Which documents [`write_documents`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Documents {
    /// `summary.md`.
    pub markdown: bool,
    /// `junit.xml`.
    pub junit: bool,
    /// `report.html`.
    pub html: bool,
}

impl Documents {
    /// Every document.
    pub const ALL: Documents = Documents { markdown: true, junit: true, html: true };
    /// None.
    pub const NONE: Documents = Documents { markdown: false, junit: false, html: false };
}

/// Writes the chosen documents into `dir`, built from `report` and, for the
/// page, the run's `timeline.json` and `logs/` found there. Each file is
/// written beside its final name and renamed into place, so a failure never
/// leaves half a document.
pub fn write_documents(dir: &Path, report: &RunReport, which: Documents) -> std::io::Result<()> {
    if which.html {
        let text = std::fs::read_to_string(dir.join("timeline.json"))?;
        let timeline: timeline::Timeline = serde_json::from_str(&text).map_err(std::io::Error::other)?;
        let logs = read_logs(dir, report);
        write_atomically(&dir.join("report.html"), html::page(report, &timeline, &logs).as_bytes())?;
    }
    if which.markdown {
        write_atomically(&dir.join("summary.md"), markdown::summary(report).as_bytes())?;
    }
    if which.junit {
        let xml = junit::junit(report).map_err(std::io::Error::other)?;
        write_atomically(&dir.join("junit.xml"), xml.as_bytes())?;
    }
    Ok(())
}

/// Each node's log lines, as the run wrote them under `logs/`.
fn read_logs(dir: &Path, report: &RunReport) -> Vec<(String, Vec<String>)> {
    let mut taken = std::collections::BTreeSet::new();
    report
        .nodes
        .iter()
        .map(|n| {
            let name = unique_name(&mut taken, &n.name);
            let text = std::fs::read_to_string(dir.join("logs").join(format!("{name}.log"))).unwrap_or_default();
            (n.name.clone(), text.lines().map(str::to_owned).collect())
        })
        .collect()
}

/// Writes `path` by way of a temporary file in the same directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Why a report directory cannot take a run.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// It could not be created, cleaned or written to.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// It holds files chaoslab did not write; they are left alone.
    #[error("{path} holds {found}, which chaoslab did not write; choose an empty directory or one of chaoslab's")]
    Foreign {
        /// The directory.
        path: String,
        /// The first foreign entry.
        found: String,
    },
}

/// Makes `dir` ready for a run before it starts: created if missing, the files
/// of an earlier run (report, trace, node logs) removed so none of them can be
/// mistaken for this run's, and refused if it holds anything else.
pub fn prepare_dir(dir: &Path) -> Result<(), DirError> {
    let shown = || dir.display().to_string();
    let io = |source| DirError::Io { path: shown(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in &entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = RUN_FILES.contains(&name.as_str()) || (name == "logs" && only_logs(&e.path()));
        if !ours {
            return Err(DirError::Foreign { path: shown(), found: name });
        }
    }
    for e in entries {
        let path = e.path();
        if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }.map_err(io)?;
    }
    // Found unwritable now, not after a long run.
    let probe = dir.join("report.json");
    std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)).map_err(io)
}

/// Whether `dir` holds nothing but `*.log` files.
fn only_logs(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(Result::ok).all(|e| e.path().is_file() && e.file_name().to_string_lossy().ends_with(".log"))
    })
}

/// Log file names for the processes, in order: file-safe, and unique even when
/// two names differ only in characters a file name cannot hold (`a/b`, `a_b`).
fn log_names(sim: &Sim) -> Vec<(sim::ProcId, String)> {
    let mut taken = std::collections::BTreeSet::new();
    sim.procs().map(|p| (p, unique_name(&mut taken, sim.proc_name(p)))).collect()
}

/// `name` made file-safe, with `~2`, `~3`... when an earlier one took it.
fn unique_name(taken: &mut std::collections::BTreeSet<String>, name: &str) -> String {
    let base = file_safe(name);
    let mut unique = base.clone();
    let mut n = 2;
    while !taken.insert(unique.clone()) {
        unique = format!("{base}~{n}");
        n += 1;
    }
    unique
}

/// A run's history as `history.jsonl`: kept as the ops the workload's
/// clients wrote, with the faults, and turned into events and text only when
/// asked for ([`HistoryText::text`], when the report is written), so a run
/// whose report stays in memory (a benchmark, a test) never builds the
/// events, nor text of some 100 bytes an event, it does not use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryText(Option<(check::OpLog, Vec<check::FaultWindow>)>);

impl HistoryText {
    /// The history of `log` and `faults`, to be written as its JSON lines.
    pub fn new(log: check::OpLog, faults: Vec<check::FaultWindow>) -> HistoryText {
        HistoryText(Some((log, faults)))
    }

    /// The history, if the run kept one, as its events.
    pub fn history(&self) -> Option<check::History> {
        self.0.as_ref().map(|(log, faults)| check::History { faults: faults.clone(), ..log.history() })
    }

    /// `history.jsonl`'s text (`check::jsonl::write`); empty without a history.
    pub fn text(&self) -> String {
        self.history().map(|h| check::jsonl::write(&h)).unwrap_or_default()
    }
}

/// Writes `report.json`, `trace.jsonl` and `logs/<node>.log` into `dir`
/// (prepared by [`prepare_dir`]).
pub fn write_run(dir: &Path, report: &RunReport, sim: &Sim) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("logs"))?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json + "\n")?;
    if report.history.is_some() {
        std::fs::write(dir.join("history.jsonl"), report.history_jsonl.text())?;
    }

    let nodes: Vec<String> = report.nodes.iter().map(|n| n.name.clone()).collect();
    let addrs: Vec<String> = report.nodes.iter().map(|n| n.address.clone()).collect();
    let timeline = timeline::build(sim, &nodes, &addrs);
    let json = serde_json::to_string(&timeline).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("timeline.json"), json + "\n")?;

    let mut trace = std::io::BufWriter::new(std::fs::File::create(dir.join("trace.jsonl"))?);
    let name = |p| sim.proc_name(p).to_owned();
    for rec in sim.trace().records() {
        writeln!(trace, "{}", sim::to_json_line(rec, &name))?;
    }
    trace.flush()?;

    for (p, name) in log_names(sim) {
        let lines = sim.log_lines(p);
        if lines.is_empty() {
            continue;
        }
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(dir.join("logs").join(format!("{name}.log")), text)?;
    }
    Ok(())
}

/// Why a `report.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a report this chaoslab wrote.
    #[error("{path}: not a chaoslab report: {source}")]
    NotAReport {
        /// The file.
        path: String,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A report of another format version.
    #[error("{path}: report format {found} is not supported (this chaoslab writes format {FORMAT_VERSION})")]
    Format {
        /// The file.
        path: String,
        /// Its format version.
        found: u32,
    },
}

/// Reads a `report.json`.
pub fn read_report(path: &Path) -> Result<RunReport, ReadError> {
    let shown = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io { path: shown(), source })?;
    let report: RunReport =
        serde_json::from_str(&text).map_err(|source| ReadError::NotAReport { path: shown(), source })?;
    if report.format != FORMAT_VERSION {
        return Err(ReadError::Format { path: shown(), found: report.format });
    }
    Ok(report)
}

/// A name usable as one path component: anything but `[A-Za-z0-9._-]` becomes
/// `_`, and a name of dots only (`.`, `..`) or nothing at all becomes
/// underscores, so it can never climb out of its directory.
pub fn file_safe(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if safe.chars().all(|c| c == '.') { "_".repeat(safe.len().max(1)) } else { safe }
}

/// Formats ns of virtual time as seconds with millisecond precision, e.g. `12.345s`.
pub fn seconds(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed run of three steps and one invariant, as the runner writes it.
    pub(crate) fn failed_run() -> RunReport {
        let step = |index: usize, outcome: Outcome, detail: &str| StepReport {
            index,
            line: 6 + index as u32,
            action: "redis-cli".to_owned(),
            text: format!("redis-cli: {{node: \"6379\", command: \"get k{index}\"}}"),
            started_ns: index as u64 * 1_000_000_000,
            finished_ns: index as u64 * 1_000_000_000 + 2_000_000,
            note: None,
            unchecked_error: None,
            outcome,
            detail: detail.to_owned(),
        };
        RunReport {
            format: FORMAT_VERSION,
            chaoslab_version: "0.0.0".to_owned(),
            scenario: ScenarioInfo {
                name: "lost-write".to_owned(),
                file: "/s/lost.yaml".to_owned(),
                description: "A write | acked, then lost.\nMore text.".to_owned(),
                source_hash: "0".to_owned(),
            },
            seed: 3,
            result: Verdict::Fail,
            failure: Some("step 2 (line 8: get k2) failed: `get k2` replied \"(nil)\", expected \"v\"".to_owned()),
            failure_kind: Some(FailureKind::Check),
            steps: vec![
                step(1, Outcome::Pass, "OK"),
                step(2, Outcome::Fail, "replied \"(nil)\""),
                step(3, Outcome::Skipped, ""),
            ],
            captures: Default::default(),
            clients: vec![],
            history: None,
            history_jsonl: HistoryText::default(),
            checks: vec![CheckReport {
                line: 4,
                description: "6379 is master".to_owned(),
                outcome: Outcome::Pass,
                evaluations: 12,
                violated_ns: None,
                detail: String::new(),
                name: String::new(),
                expect_violated: false,
                within_ns: None,
                false_since_ns: None,
                faults: vec![],
                step: String::new(),
            }],
            violations: Violations::default(),
            nemesis: vec![],
            nodes: vec![],
            fault_errors: vec![],
            events_processed: 77,
            virtual_time_ns: 2_002_000_000,
            virtual_time: "2.002s".to_owned(),
            wall_time_ms: 1.5,
            trace_events: 9,
            trace_hash: "00ff00ff00ff00ff".to_owned(),
            reproduce: "chaoslab run /s/lost.yaml --seed 3".to_owned(),
        }
    }

    #[test]
    fn the_markdown_summary_tells_verdict_failure_timeline_and_reproduce() {
        let md = markdown::summary(&failed_run());
        assert!(md.starts_with("## FAIL: lost-write (seed 3)\n\nA write | acked, then lost.\n"), "{md}");
        assert!(md.contains("3 steps, 1 invariant; 2.002s virtual, 77 events"), "{md}");
        assert!(md.contains("**Failed (check):** step 2 (line 8: get k2) failed"), "{md}");
        assert!(md.contains("| 2 | 8 | 2.000s | 0.002s | `redis-cli: {node: \"6379\", command: \"get k2\"}` | **FAIL** | replied \"(nil)\" |"), "{md}");
        assert!(md.contains("| 3 | 9 | 3.000s | 0.002s |"), "skipped steps are listed too: {md}");
        assert!(md.contains("| 4 | 6379 is master | 12 | pass |  |"), "{md}");
        assert!(md.ends_with("### Reproduce\n\n```sh\nchaoslab run /s/lost.yaml --seed 3\n```\n"), "{md}");
        assert!(!md.contains("1.5"), "no wall-clock figure, so every machine writes the same file");
    }

    /// A run whose named `expect: violated` invariant broke during a partition.
    fn expected_violation_run() -> RunReport {
        let mut r = failed_run();
        r.checks.push(CheckReport {
            line: 9,
            description: "every acked write is in the final state".to_owned(),
            outcome: Outcome::Pass,
            evaluations: 40,
            violated_ns: Some(7_250_000_000),
            detail: "2 acked writes missing".to_owned(),
            name: "no-lost-writes".to_owned(),
            expect_violated: true,
            within_ns: Some(1_000_000_000),
            false_since_ns: Some(6_250_000_000),
            faults: vec!["partition [6379] | [6380,6381]".to_owned()],
            step: "#3: sleep: 5s".to_owned(),
        });
        r.checks[0].violated_ns = Some(3_000_000_000);
        r.checks[0].detail = "6379 is replica".to_owned();
        r
    }

    #[test]
    fn first_violations_show_time_faults_and_step_and_are_counted_expected_or_not() {
        let r = expected_violation_run();
        let md = crate::markdown::summary(&r);
        assert!(
            md.contains(
                "| 9 | no-lost-writes: every acked write is in the final state (within 1.000s) [expect: violated] | 40 | pass | 7.250s: 2 acked writes missing (false since 6.250s); faults: partition [6379] \\| [6380,6381]; during step #3: sleep: 5s |"
            ),
            "{md}"
        );
        assert!(md.contains("Violations: 1 unexpected, 1 expected (`expect: violated`)."), "{md}");
        let html = crate::html::page(&r, &crate::timeline::Timeline::default(), &[]);
        assert!(
            html.contains("no-lost-writes: every acked write is in the final state (within 1.000s) [expect: violated]"),
            "{html}"
        );
        assert!(html.contains("faults: partition [6379] | [6380,6381]; during step #3: sleep: 5s"), "{html}");
    }

    #[test]
    fn report_json_round_trips_invariant_fields_and_reads_reports_without_them() {
        let r = expected_violation_run();
        let json = serde_json::to_string(&r).expect("serializes");
        let back: RunReport = serde_json::from_str(&json).expect("parses");
        assert_eq!(back.checks, r.checks);
        let old = serde_json::to_value(failed_run()).expect("serializes");
        let check = &old["checks"][0];
        for absent in ["name", "expect_violated", "within_ns", "false_since_ns", "faults", "step"] {
            assert!(check.get(absent).is_none(), "{absent} written for a plain invariant: {check}");
        }
        let back: RunReport = serde_json::from_value(old).expect("an older report parses");
        assert_eq!(back.checks[0].title(), "6379 is master");
        assert!(!back.checks[0].unexpected_violation());
    }

    #[test]
    fn junit_has_a_case_per_step_and_invariant_and_the_failure_says_how_to_reproduce() {
        let xml = junit::junit(&failed_run()).unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert!(xml.contains(r#"tests="4" failures="1""#) || xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains("<failure message=\"replied &quot;(nil)&quot;\" type=\"check\">"), "{xml}");
        assert!(xml.contains("reproduce: chaoslab run /s/lost.yaml --seed 3"), "{xml}");
        assert!(xml.contains("<skipped message=\"not run: an earlier step failed\"/>"), "{xml}");
        assert!(xml.contains(r#"time="2.002""#), "virtual time: {xml}");
    }

    #[test]
    fn documents_are_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("chaoslab-docs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The page needs the run's timeline.json: without it, no page, and nothing half-written.
        assert!(write_documents(&dir, &failed_run(), Documents { html: true, ..Documents::NONE }).is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        write_documents(&dir, &failed_run(), Documents { html: false, ..Documents::ALL }).unwrap();
        let names: Vec<String> = {
            let mut n: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names, ["junit.xml", "summary.md"], "no temporary file is left");
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = dir.join("gone");
        assert!(write_documents(&missing, &failed_run(), Documents::ALL).is_err());
        assert!(!missing.exists());
    }

    #[test]
    fn file_safe_names() {
        assert_eq!(file_safe("redis-6379"), "redis-6379");
        assert_eq!(file_safe("a/b c"), "a_b_c");
        assert_eq!(file_safe(".."), "__");
        assert_eq!(file_safe("."), "_");
        assert_eq!(file_safe(""), "_");
        assert_eq!(file_safe("../x"), ".._x");
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("chaoslab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_prepared_dir_keeps_nothing_of_an_earlier_run_and_refuses_foreign_files() {
        let dir = scratch("prepare");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        std::fs::write(dir.join("report.json"), "{}").unwrap();
        std::fs::write(dir.join("logs/old-node.log"), "x").unwrap();
        prepare_dir(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the earlier run's files are gone");
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = prepare_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("holds notes.txt, which chaoslab did not write"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine", "left alone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_names_are_unique_when_file_safe_names_collide() {
        let mut sim = Sim::new(sim::SimConfig::default());
        let h = sim.add_host("h", std::net::Ipv4Addr::LOCALHOST);
        for name in ["a/b", "a_b", "a?b"] {
            sim.add_process(h, name, Box::new(|| unreachable!("never started")));
        }
        let names: Vec<String> = log_names(&sim).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["a_b", "a_b~2", "a_b~3"]);
    }

    #[test]
    fn seconds_format() {
        assert_eq!(seconds(12_345_678_901), "12.345s");
        assert_eq!(seconds(0), "0.000s");
    }
}
