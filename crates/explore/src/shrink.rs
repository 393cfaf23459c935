//! `chaoslab shrink`: from a seed that fails under a `nemesis:`, the smallest
//! scenario that still fails the same way. It runs the seed once and reads
//! the schedule the nemesis drew (report.json's `nemesis`: each applied fault
//! as the fault steps it ran, with their times), then tests candidate
//! scenarios that replay an explicit subset of it as timed `faults:` (no
//! nemesis): delta debugging (Zeller's ddmin) over the faults, then shorter
//! and later faults, then fewer workload clients and an earlier liveness
//! phase. A candidate is kept only when it fails with the same failure kind
//! and the same check (invariant, checker or step). Every candidate is a
//! standalone scenario text, so the one it ends with is the file it writes,
//! already known to fail. Runs are single-threaded and deterministic; a run
//! budget bounds the search and progress goes to a callback.

use report::{FailureKind, RunReport, Verdict};
use scenario::yaml::{self, Entry, Node, Value};
use scenario::{Registry, Scenario};
use std::time::Duration;

/// Why shrinking could not start or finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario has no `nemesis:` to shrink.
    #[error("the scenario has no `nemesis:`: there is no drawn schedule to shrink")]
    NoNemesis,
    /// A candidate scenario did not load (a bug in the shrinker).
    #[error("a candidate scenario did not load: {0}")]
    Candidate(String),
    /// The explicit replay of the whole drawn schedule does not fail the same way.
    #[error("the drawn schedule replayed as explicit faults does not fail the same way ({0})")]
    NotReproduced(String),
}

/// One fault of the schedule as explicit steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// When it starts.
    pub at: Duration,
    /// How long until its end steps (zero: none).
    pub duration: Duration,
    /// Its nemesis kind, for the summary.
    pub kind: String,
    /// The steps that apply it (`kill: "6380"`).
    pub apply: Vec<String>,
    /// The steps that end it.
    pub undo: Vec<String>,
}

impl Fault {
    fn describe(&self) -> String {
        let what = self.apply.first().cloned().unwrap_or_default();
        let more = if self.apply.len() > 1 { format!(" (+{} more)", self.apply.len() - 1) } else { String::new() };
        format!("{} at {} for {}: {what}{more}", self.kind, ms(self.at), ms(self.duration))
    }
}

/// What a failure is, for "fails the same way": its kind and which check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// check, invariant, liveness, ...
    pub kind: FailureKind,
    /// The invariant, the workload checkers, or the failing step's action.
    pub check: String,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = serde_json::to_value(self.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        write!(f, "{kind} failure of {}", self.check)
    }
}

/// The signature of a failed run; `None` when it passed.
pub fn signature(report: &RunReport) -> Option<Signature> {
    if report.result == Verdict::Pass {
        return None;
    }
    let kind = report.failure_kind.unwrap_or(FailureKind::Check);
    let failed_invariants: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.outcome == report::Outcome::Fail)
        .map(|c| if c.name.is_empty() { c.description.clone() } else { c.name.clone() })
        .collect();
    let checkers: Vec<String> = report
        .history
        .iter()
        .flat_map(|h| h.checkers.iter())
        .filter(|c| !c.as_expected)
        .map(|c| format!("checker {}", c.checker))
        .collect();
    let step = report.steps.iter().find(|s| s.outcome == report::Outcome::Fail).map(|s| format!("step `{}`", s.action));
    let check = if kind == FailureKind::Invariant && !failed_invariants.is_empty() {
        format!("invariant {}", failed_invariants.join(", "))
    } else if report.failure.as_deref().is_some_and(|f| f.starts_with("workloads:")) && !checkers.is_empty() {
        checkers.join(", ")
    } else {
        step.unwrap_or_else(|| report.failure.clone().unwrap_or_default())
    };
    Some(Signature { kind, check })
}

/// How far shrinking has got, for a progress line.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// Runs so far.
    pub runs: usize,
    /// The budget.
    pub budget: usize,
    /// `faults`, `times`, `workload`.
    pub phase: &'a str,
    /// Faults in the smallest failing schedule so far.
    pub faults: usize,
}

/// What shrinking found.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The seed passes: nothing to shrink.
    Passes,
    /// The smallest failing scenario found.
    Shrunk(Shrunk),
}

/// A shrunk scenario and how it was reached.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The standalone scenario, with a comment header.
    pub yaml: String,
    /// How it fails (as the seed did).
    pub signature: Signature,
    /// Faults the nemesis applied in the seed's run.
    pub drawn: usize,
    /// The faults left.
    pub faults: Vec<Fault>,
    /// Runs used (the first run of the seed included).
    pub runs: usize,
    /// Whether the budget ran out before every phase finished.
    pub exhausted: bool,
    /// What the workload phase removed, in words.
    pub workload: Vec<String>,
}

/// The search's state: the scenario, the best candidate so far, the budget.
struct Search<'a> {
    registry: &'a Registry,
    file: String,
    base: Node,
    seed: u64,
    window_end: Duration,
    want: Signature,
    runs: usize,
    budget: usize,
    on_progress: &'a mut dyn FnMut(&Progress<'_>),
    phase: &'static str,
    best: Candidate,
}

/// A candidate: explicit faults, workload cuts, when the liveness phase starts.
#[derive(Clone, Debug)]
struct Candidate {
    faults: Vec<Fault>,
    /// (workload, clients) cuts.
    clients: Vec<(String, u64)>,
    liveness_at: Duration,
}

/// Shrinks `scenario` (as loaded from `file`) under `seed` within `budget` runs.
pub fn shrink(
    registry: &Registry,
    scenario: Scenario,
    seed: u64,
    budget: usize,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Outcome, ShrinkError> {
    let window_end = scenario.nemesis.as_ref().ok_or(ShrinkError::NoNemesis)?.window.1;
    let (file, base) = (scenario.file.clone(), scenario.expanded.clone());
    let first = run_report(registry, scenario, seed);
    let Some(want) = first.as_ref().and_then(signature) else { return Ok(Outcome::Passes) };
    let faults = first.as_ref().map(drawn_faults).unwrap_or_default();
    let drawn = faults.len();
    let best = Candidate { faults, clients: Vec::new(), liveness_at: window_end };
    let mut s =
        Search { registry, file, base, seed, window_end, want, runs: 1, budget, on_progress, phase: "replay", best };
    let full = s.best.clone();
    if !s.fails(&full)? {
        return Err(ShrinkError::NotReproduced(format!("seed {seed} fails as a {}", s.want)));
    }
    s.phase = "faults";
    let finished = s.ddmin() && s.times() && s.workload();
    Ok(Outcome::Shrunk(s.finish(drawn, !finished)))
}

/// Runs one seed without trace records or the history's text; `None` if a node or the kernel
/// panicked (a simulator bug, which `chaoslab run` reports; shrinking one is
/// not what this does).
fn run_report(registry: &Registry, scenario: Scenario, seed: u64) -> Option<RunReport> {
    let options =
        scenario::RunOptions { no_trace_records: true, no_history_text: true, ..scenario::RunOptions::default() };
    let run =
        std::panic::AssertUnwindSafe(|| scenario::run_with(scenario, Some(seed), registry, String::new(), options));
    std::panic::catch_unwind(run).ok().map(|(report, _sim)| report)
}

/// The applied faults of a run's drawn schedule.
fn drawn_faults(report: &RunReport) -> Vec<Fault> {
    report
        .nemesis
        .iter()
        .filter(|f| f.outcome == "applied")
        .map(|f| Fault {
            at: Duration::from_nanos(f.at_ns),
            duration: Duration::from_nanos(f.duration_ns),
            kind: f.kind.clone(),
            apply: f.apply.clone(),
            undo: f.undo.clone(),
        })
        .collect()
}

impl Search<'_> {
    /// Runs `c` if the budget allows; whether it fails the same way. A
    /// candidate that is not run (budget spent) counts as not failing.
    fn fails(&mut self, c: &Candidate) -> Result<bool, ShrinkError> {
        if self.runs >= self.budget {
            return Ok(false);
        }
        self.runs += 1;
        let text = self.text(c);
        let scenario = scenario::parse_scenario(&self.file, &text, self.registry).map_err(|d| {
            ShrinkError::Candidate(d.render(&self.file, &text).lines().take(6).collect::<Vec<_>>().join("\n"))
        })?;
        let report = run_report(self.registry, scenario, self.seed);
        let same = report.as_ref().and_then(signature).as_ref() == Some(&self.want);
        if same {
            self.best = c.clone();
        }
        let progress =
            Progress { runs: self.runs, budget: self.budget, phase: self.phase, faults: self.best.faults.len() };
        (self.on_progress)(&progress);
        Ok(same)
    }

    fn spent(&self) -> bool {
        self.runs >= self.budget
    }

    /// ddmin over the faults; false when the budget ran out.
    fn ddmin(&mut self) -> bool {
        let mut n = 2;
        while self.best.faults.len() >= 2 && !self.spent() {
            let faults = self.best.faults.clone();
            let chunks = split(&faults, n);
            let mut reduced = false;
            for (i, chunk) in chunks.iter().enumerate() {
                let complement: Vec<Fault> =
                    chunks.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, c)| c.clone()).collect();
                // Try the chunk alone first, then everything but it.
                for subset in [chunk.clone(), complement] {
                    if subset.len() < faults.len() && self.try_faults(subset) {
                        reduced = true;
                        break;
                    }
                }
                if reduced {
                    break;
                }
            }
            if reduced {
                n = 2.max(n - 1).min(self.best.faults.len().max(2));
            } else if n >= faults.len() {
                break;
            } else {
                n = (n * 2).min(faults.len());
            }
        }
        if self.best.faults.len() == 1 && !self.spent() {
            self.try_faults(Vec::new());
        }
        !self.spent()
    }

    fn try_faults(&mut self, faults: Vec<Fault>) -> bool {
        let c = Candidate { faults, ..self.best.clone() };
        self.fails(&c).unwrap_or(false)
    }

    /// Each fault shorter (halved from its end), then later (its start moved
    /// halfway to its end); false when the budget ran out.
    fn times(&mut self) -> bool {
        self.phase = "times";
        for i in 0..self.best.faults.len() {
            while !self.spent() && self.best.faults[i].duration >= MIN_STEP * 2 {
                let mut c = self.best.clone();
                c.faults[i].duration /= 2;
                if !self.fails(&c).unwrap_or(false) {
                    break;
                }
            }
            while !self.spent() && self.best.faults[i].duration >= MIN_STEP * 2 {
                let mut c = self.best.clone();
                let half = c.faults[i].duration / 2;
                c.faults[i].at += half;
                c.faults[i].duration -= half;
                if !self.fails(&c).unwrap_or(false) {
                    break;
                }
            }
        }
        !self.spent()
    }

    /// Fewer clients per workload (one first), then the liveness phase right
    /// after the last fault; false when the budget ran out.
    fn workload(&mut self) -> bool {
        self.phase = "workload";
        for (name, clients) in workload_clients(&self.base) {
            for fewer in 1..clients {
                let mut c = self.best.clone();
                c.clients.retain(|(w, _)| *w != name);
                c.clients.push((name.clone(), fewer));
                if self.spent() || self.fails(&c).unwrap_or(false) {
                    break;
                }
            }
        }
        let last_end = self.best.faults.iter().map(|f| f.at + f.duration).max().unwrap_or_default();
        let earlier = Duration::from_secs(last_end.as_secs() + 1);
        if earlier < self.best.liveness_at && !self.spent() {
            let c = Candidate { liveness_at: earlier, ..self.best.clone() };
            let _ = self.fails(&c);
        }
        !self.spent()
    }

    fn finish(self, drawn: usize, exhausted: bool) -> Shrunk {
        let workload =
            self.best
                .clients
                .iter()
                .map(|(w, n)| format!("workload {w}: {n} client(s)"))
                .chain((self.best.liveness_at < self.window_end).then(|| {
                    format!("liveness phase at {} instead of {}", ms(self.best.liveness_at), ms(self.window_end))
                }))
                .collect();
        let mut shrunk = Shrunk {
            yaml: String::new(),
            signature: self.want.clone(),
            drawn,
            faults: self.best.faults.clone(),
            runs: self.runs,
            exhausted,
            workload,
        };
        let from =
            std::path::Path::new(&self.file).file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        shrunk.yaml = format!("{}{}", header(&shrunk, &from, self.seed), self.text(&self.best));
        shrunk
    }

    /// The candidate as a standalone scenario.
    fn text(&self, c: &Candidate) -> String {
        let mut root = self.base.clone();
        let Value::Map(entries) = &mut root.value else { return scenario::expand::to_yaml(&root) };
        entries.retain(|e| e.key != "nemesis" && e.key != "seed");
        let at = entries.iter().position(|e| e.key == "name").map_or(0, |i| i + 1);
        entries.insert(at, parsed_entry(&format!("seed: {}", self.seed)));
        set_faults(entries, &c.faults);
        for e in entries.iter_mut() {
            match e.key.as_str() {
                "steps" => time_liveness(&mut e.value, c.liveness_at),
                "workloads" => cut_clients(&mut e.value, &c.clients),
                _ => {}
            }
        }
        scenario::expand::to_yaml(&root)
    }
}

/// Durations are not shortened below this.
const MIN_STEP: Duration = Duration::from_millis(100);

fn split(faults: &[Fault], n: usize) -> Vec<Vec<Fault>> {
    let size = faults.len().div_ceil(n.max(1)).max(1);
    faults.chunks(size).map(<[Fault]>::to_vec).collect()
}

fn ms(d: Duration) -> String {
    yaml::format_duration(Duration::from_millis(d.as_millis() as u64))
}

/// One `key: value` entry from its text.
fn parsed_entry(text: &str) -> Entry {
    let doc = yaml::parse("shrink", text).expect("the shrinker writes valid YAML");
    match doc.root.value {
        Value::Map(mut entries) => entries.remove(0),
        _ => unreachable!("a `key: value` line is a mapping"),
    }
}

/// `faults:`: the scenario's own, then the candidate's start and end steps,
/// in the order the nemesis ran them (each fault's start, then its end,
/// sorted stably by time).
fn set_faults(entries: &mut Vec<Entry>, faults: &[Fault]) {
    let mut timed: Vec<(Duration, String)> = Vec::new();
    for f in faults {
        timed.extend(f.apply.iter().map(|a| (f.at, a.clone())));
        if !f.duration.is_zero() {
            timed.extend(f.undo.iter().map(|u| (f.at + f.duration, u.clone())));
        }
    }
    timed.sort_by_key(|t| t.0);
    let mut text = String::from("faults:\n");
    for (at, step) in &timed {
        text.push_str(&format!("  - {{at: {}, {step}}}\n", yaml::format_duration(*at)));
    }
    let own: Vec<Node> = match entries.iter().find(|e| e.key == "faults").map(|e| &e.value.value) {
        Some(Value::Seq(items)) => items.clone(),
        _ => Vec::new(),
    };
    entries.retain(|e| e.key != "faults");
    if own.is_empty() && timed.is_empty() {
        return;
    }
    let mut entry = if timed.is_empty() { parsed_entry("faults: []") } else { parsed_entry(&text) };
    if let Value::Seq(items) = &mut entry.value.value {
        items.splice(0..0, own);
    }
    let at = entries.iter().position(|e| e.key == "steps").unwrap_or(entries.len());
    entries.insert(at, entry);
}

/// Gives the `liveness` step `at:` (the nemesis's window end stood for it).
fn time_liveness(steps: &mut Node, at: Duration) {
    let Value::Seq(items) = &mut steps.value else { return };
    for item in items {
        if let Value::Map(entries) = &mut item.value
            && entries.iter().any(|e| e.key == "liveness")
        {
            entries.retain(|e| e.key != "at");
            entries.insert(0, parsed_entry(&format!("at: {}", yaml::format_duration(at))));
        }
    }
}

/// Each workload's `clients:`, by name.
fn workload_clients(base: &Node) -> Vec<(String, u64)> {
    let Value::Map(top) = &base.value else { return Vec::new() };
    let Some(Value::Map(workloads)) = top.iter().find(|e| e.key == "workloads").map(|e| &e.value.value) else {
        return Vec::new();
    };
    workloads
        .iter()
        .filter_map(|w| match &w.value.value {
            Value::Map(keys) => keys.iter().find(|k| k.key == "clients").and_then(|k| match k.value.value {
                Value::Int(n) if n > 1 => Some((w.key.clone(), n as u64)),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// Sets `clients:` (and cuts `hosts:` to as many) of the named workloads.
fn cut_clients(workloads: &mut Node, cuts: &[(String, u64)]) {
    let Value::Map(ws) = &mut workloads.value else { return };
    for w in ws.iter_mut() {
        let Some((_, n)) = cuts.iter().find(|(name, _)| *name == w.key) else { continue };
        let Value::Map(keys) = &mut w.value.value else { continue };
        for k in keys.iter_mut() {
            match (k.key.as_str(), &mut k.value.value) {
                ("clients", _) => k.value = parsed_entry(&format!("clients: {n}")).value,
                ("hosts", Value::Seq(hosts)) => hosts.truncate(*n as usize),
                _ => {}
            }
        }
    }
}

/// The comment at the top of the written file.
fn header(s: &Shrunk, from: &str, seed: u64) -> String {
    let mut lines = vec![
        format!("Shrunk by `chaoslab shrink` from seed {seed} of {from}: fails as a {}.", s.signature),
        format!(
            "Kept {} of the {} faults the nemesis applied, as explicit timed faults (no nemesis);",
            s.faults.len(),
            s.drawn
        ),
        format!("removed {}.", s.drawn - s.faults.len()),
    ];
    lines.extend(s.faults.iter().map(|f| format!("  kept: {}", f.describe())));
    lines.extend(s.workload.iter().map(|w| format!("  smaller: {w}")));
    lines.push(match s.exhausted {
        true => format!("The run budget ran out after {} runs: a smaller schedule may exist.", s.runs),
        false => format!("Finished in {} runs.", s.runs),
    });
    lines.iter().map(|l| format!("# {l}\n")).collect()
}

#[cfg(test)]
#[path = "tests_shrink.rs"]
mod tests;
