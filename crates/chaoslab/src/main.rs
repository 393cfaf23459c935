//! `chaoslab`: the command line. It is the only crate that prints, reads the wall
//! clock (to report how long a run took, never to drive it) or picks an exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | the run passed (or the files are valid, or the replay matched) |
//! | 1 | a check failed: a step's expectation, an assertion, an invariant, or a workload checker's verdict its `expect:` does not allow (without `expect:`, `invalid`) (or a replay's trace differs; `explore`/`merge`: some seed failed) |
//! | 2 | bad input or usage: unreadable file, invalid scenario, bad flag |
//! | 3 | a liveness failure: something awaited (`wait-until`) never happened in time |
//! | 4 | a simulator bug: a node's or the kernel's assertion failed; please report it with the reproduce line (`explore`: a seed's rerun hashed differently) |
//! | 5 | stopped early: `--max-wall` or `--max-virtual` reached; the report is partial (`history check`: the search's budget ran out) |
//! | 130 | stopped by Ctrl-C or SIGTERM; the report is partial |
//!
//! It knows every node kind, and registers them in [`registry`].
//!
//! Must not depend on: `xtask`.

mod explore_cmd;
mod history_cmd;
mod monitor;
mod output;
mod shrink_cmd;

/// Prints a line to stdout (see [`output::line`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        output::line(&format!($($arg)*));
    }};
}

use clap::{CommandFactory, Parser, Subcommand};
use monitor::{StopFlag, Watch};
use output::Style;
use report::{FailureKind, RunReport, Verdict};
use scenario::{Registry, Scenario};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit code: the run passed.
const EXIT_PASS: u8 = 0;
/// Exit code: a check or assertion failed.
const EXIT_FAIL: u8 = 1;
/// Exit code: bad input or usage.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: something awaited never happened in time.
const EXIT_LIVENESS: u8 = 3;
/// Exit code: the simulator itself failed (an assertion in a node or the kernel).
const EXIT_SIMULATOR_BUG: u8 = 4;
/// Exit code: a time limit stopped the run.
const EXIT_LIMIT: u8 = 5;
/// Exit code: a signal stopped the run (128 + SIGINT, as shells report it).
const EXIT_SIGNAL: u8 = 130;

/// `chaoslab --version`: the release and the git revision it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CHAOSLAB_GIT_REV"), ")");

/// The exit code of a finished run.
fn exit_code(report: &RunReport) -> u8 {
    match (report.result, report.failure_kind) {
        (Verdict::Pass, _) => EXIT_PASS,
        (Verdict::Fail, Some(FailureKind::Liveness)) => EXIT_LIVENESS,
        (Verdict::Fail, Some(FailureKind::SimulatorBug)) => EXIT_SIMULATOR_BUG,
        (Verdict::Fail, _) => EXIT_FAIL,
        (Verdict::Interrupted, _) => EXIT_LIMIT,
    }
}

/// Deterministic cluster simulator and chaos lab.
#[derive(Parser)]
#[command(name = "chaoslab", version = VERSION, about, long_about = None)]
struct Cli {
    /// Print one JSON document on stdout instead of lines.
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing on stdout; the exit code tells (errors still go to stderr).
    #[arg(long, short, global = true, conflicts_with = "json")]
    quiet: bool,
    /// Override a scenario parameter (`params:`), e.g. `--set node-timeout=5000`; repeatable.
    #[arg(long = "set", global = true, value_name = "NAME=VALUE", value_parser = set_arg)]
    sets: Vec<(String, String)>,
    #[command(subcommand)]
    command: Command,
}

/// `md,junit`, `md`, `none`, ...
fn documents_arg(text: &str) -> Result<report::Documents, String> {
    let mut docs = report::Documents::NONE;
    for word in text.split(',').map(str::trim) {
        match word {
            "md" | "markdown" => docs.markdown = true,
            "junit" => docs.junit = true,
            "html" => docs.html = true,
            "none" => {}
            other => return Err(format!("unknown document `{other}`: choose from html, md, junit, none")),
        }
    }
    Ok(docs)
}

/// `name=value` of `--set`.
fn set_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE, e.g. `--set node-timeout=5000`")),
    }
}

/// A duration as scenarios write them (`90s`, `5m`, `1h`).
fn duration_arg(text: &str) -> Result<Duration, String> {
    scenario::yaml::parse_duration(text)
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its report.
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Seed for every random choice (default: the scenario's `seed:`).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write report.json, trace.jsonl and logs/ (default:
        /// reports/<scenario name>/seed-<seed>/); emptied of an earlier run's files first.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop after this much wall time (e.g. 30s, 5m); the report is partial, exit 5.
        #[arg(long, value_parser = duration_arg)]
        max_wall: Option<Duration>,
        /// Stop when virtual time would pass this (e.g. 1h); the report is partial, exit 5.
        #[arg(long, value_parser = duration_arg)]
        max_virtual: Option<Duration>,
        /// Documents to write besides report.json, trace.jsonl and logs: a
        /// comma-separated list of html (report.html), md (summary.md), junit (junit.xml), or none.
        #[arg(long, default_value = "html,md,junit", value_parser = documents_arg)]
        report: report::Documents,
    },
    /// Rebuild a run's documents (report.html, summary.md, junit.xml) from its report.json and timeline.json.
    Report {
        /// The report directory (or its report.json).
        dir: PathBuf,
        /// Which documents: html, md, junit (comma-separated).
        #[arg(long = "report", default_value = "html,md,junit", value_parser = documents_arg)]
        documents: report::Documents,
    },
    /// Validate scenario files without running them.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Print each file with its topology templates expanded: the explicit
        /// node list (and the steps templates add) that runs the same.
        #[arg(long)]
        expand: bool,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Re-run a recorded run with its seed and verify the trace hash.
    Replay {
        /// A report directory or the report.json in it, from anywhere.
        report: PathBuf,
        /// Also write the replay's files here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a scenario over many seeds in parallel and report which fail (exit 1 if any).
    Explore(explore_cmd::ExploreArgs),
    /// Join shards' explore.json files into one, refusing different scenarios or binaries.
    Merge(explore_cmd::MergeArgs),
    /// Shrink a failing seed of a scenario with a `nemesis:` to a minimal scenario with explicit timed faults.
    Shrink(shrink_cmd::ShrinkArgs),
    /// Check a history of client operations (history.jsonl or Jepsen EDN), or export it as EDN.
    History {
        #[command(subcommand)]
        command: history_cmd::HistoryCommand,
    },
    /// Print a completion script for a shell (e.g. `chaoslab completions bash > /etc/bash_completion.d/chaoslab`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Every node kind this build knows.
fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry.register(Box::new(mysql_lab::MysqlKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    registry
}

/// jemalloc rather than the system allocator: see the workspace manifest.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = Style::new(cli.json, cli.quiet);
    let registry = registry();
    let sets = cli.sets;
    let code = match cli.command {
        Command::Run { scenario, seed, out, max_wall, max_virtual, report } => {
            let limits = Limits { max_wall, max_virtual };
            run(&registry, style, (&scenario, &sets), seed, out, limits, report)
        }
        Command::Report { dir, documents } => rebuild(style, &dir, documents),
        Command::Check { scenarios, expand } => check(&registry, style, &scenarios, expand, &sets),
        Command::Schema => {
            let schema = scenario::schema::scenario_schema(&registry);
            out!("{}", serde_json::to_string_pretty(&schema).expect("a schema serializes"));
            EXIT_PASS
        }
        Command::Replay { report, out } => replay(&registry, style, &report, out, &sets),
        Command::Explore(args) => explore_cmd::explore(style, args, &sets),
        Command::Merge(args) => explore_cmd::merge(style, args),
        Command::Shrink(args) => shrink_cmd::shrink(style, args, &sets),
        Command::History { command } => history_cmd::run(style, command),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "chaoslab", &mut std::io::stdout());
            EXIT_PASS
        }
    };
    ExitCode::from(code)
}

/// Limits on one run, from the command line.
#[derive(Clone, Copy, Default)]
struct Limits {
    max_wall: Option<Duration>,
    max_virtual: Option<Duration>,
}

/// Reads and validates a scenario, printing diagnostics on failure. The
/// scenario's `file` becomes its absolute path, so the report's reproduce line
/// and `replay` work from any directory.
/// A file named by `include:`/`extends:` in `from`: its path relative to the
/// current directory when it is below it (how errors show it), and its bytes.
fn load_included(from: &str, name: &str) -> Result<(String, Vec<u8>), String> {
    let dir = Path::new(from).parent().unwrap_or(Path::new("."));
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    Ok((shown_path(&path), bytes))
}

/// A path as included files are named: canonical, relative to the current directory when below it.
fn shown_path(path: &Path) -> String {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|c| canonical.strip_prefix(c).ok()) {
        Some(rel) => rel.display().to_string(),
        None => canonical.display().to_string(),
    }
}

fn load(registry: &Registry, path: &Path, sets: &[(String, String)]) -> Result<Scenario, u8> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read {file}: {e}");
        EXIT_BAD_INPUT
    })?;
    parse(registry, path, bytes, sets).map_err(|rejected| {
        eprintln!("{}", rejected.render(&file));
        let n = rejected.diagnostics.len();
        eprintln!("{file}: {n} error{}", if n == 1 { "" } else { "s" });
        EXIT_BAD_INPUT
    })
}

/// Parses a scenario file's bytes as `run` does (its `file` made absolute,
/// the `--set`s recorded), printing nothing.
fn parse(
    registry: &Registry,
    path: &Path,
    bytes: Vec<u8>,
    sets: &[(String, String)],
) -> Result<Scenario, Box<scenario::parse::Rejected>> {
    let composed = compose(path, bytes, sets)?;
    scenario_of(&composed, registry, path, sets)
}

/// The first half of [`parse`]: the file read as YAML with its includes,
/// `extends:` and `--set` values (the same for every seed of an exploration).
fn compose(
    path: &Path,
    bytes: Vec<u8>,
    sets: &[(String, String)],
) -> Result<scenario::parse::Composed, Box<scenario::parse::Rejected>> {
    let file = path.display().to_string();
    let options = scenario::compose::ComposeOptions {
        sets: sets.to_vec(),
        loader: Some(&load_included),
        main: Some(shown_path(path)),
    };
    scenario::parse::compose_scenario(&file, bytes, &options)
}

/// The second half of [`parse`]: the composed file made into a scenario.
fn scenario_of(
    composed: &scenario::parse::Composed,
    registry: &Registry,
    path: &Path,
    sets: &[(String, String)],
) -> Result<Scenario, Box<scenario::parse::Rejected>> {
    let mut scenario = composed.scenario(registry)?;
    if let Ok(absolute) = std::fs::canonicalize(path) {
        scenario.file = absolute.display().to_string();
    }
    // The overrides are part of what ran: replay must be given the same ones.
    for (name, value) in sets {
        scenario.source.push_str(&format!("\n# --set {name}={value}"));
    }
    scenario.sets = sets.to_vec();
    Ok(scenario)
}

/// The command that runs the same scenario with the same seed, from anywhere.
fn reproduce_command(file: &str, seed: u64, sets: &[(String, String)]) -> String {
    let sets: String = sets.iter().map(|(n, v)| format!(" --set '{n}={}'", v.replace('\'', "'\\''"))).collect();
    format!("chaoslab run {} --seed {seed}{sets}", shell_word(file))
}

/// `text` as one shell word: as it is, or single-quoted when it holds a space or quote.
fn shell_word(text: &str) -> String {
    if text.contains([' ', '\'', '"', '$', '\\']) {
        format!("'{}'", text.replace('\'', "'\\''"))
    } else {
        text.to_owned()
    }
}

/// Runs a loaded scenario and measures its wall time. A panic inside (an
/// assertion in a node or the kernel) is a simulator bug: the panic message is
/// already on stderr; this adds how to reproduce it and exits with its code.
fn execute(
    registry: &Registry,
    style: Style,
    scenario: Scenario,
    seed: Option<u64>,
    limits: Limits,
) -> Result<(RunReport, sim::Sim), u8> {
    let seed_used = seed.unwrap_or(scenario.seed);
    let reproduce = reproduce_command(&scenario.file, seed_used, &scenario.sets);
    let stop = StopFlag::install();
    let progress = style.lines() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let options = scenario::RunOptions {
        max_virtual: limits.max_virtual,
        monitor: Some(Box::new(Watch::new(stop.clone(), limits.max_wall, progress))),
        no_trace_records: false,
        no_history_text: false,
        first_evidence_only: false,
    };
    // Wall time is reported, never fed into the run.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let run = std::panic::AssertUnwindSafe(|| scenario::run_with(scenario, seed, registry, reproduce.clone(), options));
    let (mut report, sim) = std::panic::catch_unwind(run).map_err(|_| {
        eprintln!("error: simulator bug: the run stopped on a failed assertion (above); nothing was written");
        eprintln!("reproduce: {reproduce}");
        EXIT_SIMULATOR_BUG
    })?;
    report.wall_time_ms = (wall.elapsed().as_secs_f64() * 1e3 * 1000.0).round() / 1000.0;
    Ok((report, sim))
}

/// Empties (or creates) the report directory before a run, so a bad `--out`
/// is found before the run rather than after it.
fn prepare(dir: &Path) -> Result<(), u8> {
    report::prepare_dir(dir).map_err(|e| {
        eprintln!("error: cannot use {} for the report: {e}", dir.display());
        EXIT_BAD_INPUT
    })
}

fn write(dir: &Path, report: &RunReport, sim: &sim::Sim) -> Result<(), u8> {
    report::write_run(dir, report, sim).map_err(|e| {
        eprintln!("error: cannot write the report to {}: {e}", dir.display());
        EXIT_BAD_INPUT
    })
}

/// Faults and role changes the terminal summary tells at most.
const STORY_LINES: usize = 12;

fn write_documents(dir: &Path, report: &RunReport, documents: report::Documents) -> Result<(), u8> {
    report::write_documents(dir, report, documents).map_err(|e| {
        eprintln!("error: cannot write the documents to {}: {e}", dir.display());
        EXIT_BAD_INPUT
    })
}

/// `chaoslab report DIR`: the documents again, from report.json alone.
fn rebuild(style: Style, dir: &Path, documents: report::Documents) -> u8 {
    let file = report_file(dir);
    let recorded = match report::read_report(&file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    if let Err(code) = write_documents(dir, &recorded, documents) {
        return code;
    }
    let written: Vec<PathBuf> =
        [(documents.html, "report.html"), (documents.markdown, "summary.md"), (documents.junit, "junit.xml")]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| dir.join(name))
            .collect();
    style.document(&json!({"written": written}));
    if style.lines() {
        for w in &written {
            out!("wrote {}", w.display());
        }
    }
    EXIT_PASS
}

/// `reports/<scenario>/seed-<seed>/`: one directory per scenario and seed.
fn default_dir(scenario: &Scenario, seed: u64) -> PathBuf {
    Path::new("reports").join(report::file_safe(&scenario.name)).join(format!("seed-{seed}"))
}

fn run(
    registry: &Registry,
    style: Style,
    (path, sets): (&Path, &[(String, String)]),
    seed: Option<u64>,
    out: Option<PathBuf>,
    limits: Limits,
    documents: report::Documents,
) -> u8 {
    let scenario = match load(registry, path, sets) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let dir = out.unwrap_or_else(|| default_dir(&scenario, seed.unwrap_or(scenario.seed)));
    if let Err(code) = prepare(&dir) {
        return code;
    }
    let (report, sim) = match execute(registry, style, scenario, seed, limits) {
        Ok(done) => done,
        Err(code) => return code,
    };
    if let Err(code) = write(&dir, &report, &sim).and_then(|()| write_documents(&dir, &report, documents)) {
        return code;
    }
    output::run_summary(style, &report, &dir, &report::story::beats(&sim, &report, STORY_LINES));
    let interrupted_by_signal = report.result == Verdict::Interrupted
        && report.failure.as_deref().is_some_and(|f| f.contains("stopped by a signal"));
    if interrupted_by_signal { EXIT_SIGNAL } else { exit_code(&report) }
}

fn check(registry: &Registry, style: Style, paths: &[PathBuf], expand: bool, sets: &[(String, String)]) -> u8 {
    let mut code = EXIT_PASS;
    let mut results = Vec::new();
    for path in paths {
        match load(registry, path, sets) {
            Ok(s) if expand => {
                let text = scenario::parse::expanded_text(&s);
                if style.lines() {
                    out!("{text}");
                }
                results.push(json!({"file": path, "ok": true, "name": s.name, "expanded": text}));
            }
            Ok(s) => {
                if style.lines() {
                    out!("ok {} ({}: {} nodes, {} steps)", path.display(), s.name, s.nodes.len(), s.steps.len());
                }
                let entry =
                    json!({"file": path, "ok": true, "name": s.name, "nodes": s.nodes.len(), "steps": s.steps.len()});
                results.push(entry);
            }
            Err(c) => {
                code = code.max(c);
                results.push(json!({"file": path, "ok": false}));
            }
        }
    }
    style.document(&json!(results));
    code
}

/// A report.json, given it or the directory that holds it.
fn report_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join("report.json") } else { path.to_owned() }
}

fn replay(
    registry: &Registry,
    style: Style,
    report_path: &Path,
    out: Option<PathBuf>,
    sets: &[(String, String)],
) -> u8 {
    let recorded = match report::read_report(&report_file(report_path)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let path = PathBuf::from(&recorded.scenario.file);
    let scenario = match load(registry, &path, sets) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let source_hash = format!("{:016x}", sim::digest(scenario.source.as_bytes()));
    if source_hash != recorded.scenario.source_hash {
        eprintln!(
            "error: {} changed since the recorded run (source hash {} now, {} then); a replay would not be comparable",
            path.display(),
            source_hash,
            recorded.scenario.source_hash
        );
        return EXIT_BAD_INPUT;
    }
    if let Some(dir) = &out
        && let Err(code) = prepare(dir)
    {
        return code;
    }
    let (report, sim) = match execute(registry, style, scenario, Some(recorded.seed), Limits::default()) {
        Ok(done) => done,
        Err(code) => return code,
    };
    if let Some(dir) = out
        && let Err(code) = write(&dir, &report, &sim)
    {
        return code;
    }
    let matches = report.trace_hash == recorded.trace_hash && report.result == recorded.result;
    style.document(&json!({
        "scenario": recorded.scenario.name,
        "seed": recorded.seed,
        "matches": matches,
        "trace_hash": report.trace_hash,
        "recorded_trace_hash": recorded.trace_hash,
        "result": report.result,
        "recorded_result": recorded.result,
        "events": report.trace_events,
    }));
    if style.lines() && matches {
        out!(
            "replay OK: {} seed {}: trace hash {} matches ({} events)",
            recorded.scenario.name,
            recorded.seed,
            report.trace_hash,
            report.trace_events
        );
    } else if style.lines() {
        out!(
            "replay MISMATCH: {} seed {}: trace hash {} now, {} recorded; result {:?} now, {:?} recorded",
            recorded.scenario.name,
            recorded.seed,
            report.trace_hash,
            recorded.trace_hash,
            report.result,
            recorded.result
        );
    }
    if matches { EXIT_PASS } else { EXIT_FAIL }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_kind_has_its_documented_exit_code() {
        let mut report: RunReport = serde_json::from_value(serde_json::json!({
            "format": 1, "chaoslab_version": "0", "scenario": {"name": "x", "file": "x.yaml", "description": "", "source_hash": "0"},
            "seed": 1, "result": "pass", "failure": null, "steps": [], "checks": [], "nodes": [], "fault_errors": [],
            "events_processed": 0, "virtual_time_ns": 0, "virtual_time": "0s", "wall_time_ms": 0.0,
            "trace_events": 0, "trace_hash": "0", "reproduce": ""
        }))
        .expect("a minimal report");
        assert_eq!(exit_code(&report), EXIT_PASS);
        report.result = Verdict::Fail;
        for (kind, code) in [
            (FailureKind::Check, EXIT_FAIL),
            (FailureKind::Invariant, EXIT_FAIL),
            (FailureKind::Liveness, EXIT_LIVENESS),
            (FailureKind::SimulatorBug, EXIT_SIMULATOR_BUG),
        ] {
            report.failure_kind = Some(kind);
            assert_eq!(exit_code(&report), code, "{kind:?}");
        }
        report.result = Verdict::Interrupted;
        report.failure_kind = Some(FailureKind::Interrupted);
        assert_eq!(exit_code(&report), EXIT_LIMIT);
        assert_eq!(
            (EXIT_FAIL, EXIT_BAD_INPUT, EXIT_LIVENESS, EXIT_SIMULATOR_BUG, EXIT_LIMIT, EXIT_SIGNAL),
            (1, 2, 3, 4, 5, 130),
            "as the README says"
        );
    }
}
