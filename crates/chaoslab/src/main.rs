//! `chaoslab`: the command line. It is the only crate that prints, reads the wall
//! clock (to report how long a run took, never to drive it) or picks an exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | the run passed (or the files are valid, or the replay matched) |
//! | 1 | a check failed: a step's expectation, an assertion or an invariant (or a replay's trace differs) |
//! | 2 | bad input or usage: unreadable file, invalid scenario, bad flag |
//! | 3 | a liveness failure: something awaited (`wait-until`) never happened in time |
//! | 4 | a simulator bug: a node's or the kernel's assertion failed; please report it with the reproduce line |
//!
//! It knows every node kind, and registers them in [`registry`].
//!
//! Must not depend on: `xtask`.

/// Prints a line to stdout; a closed pipe (`chaoslab run ... | head`) is not an
/// error worth a panic, so write errors are ignored.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use clap::{Parser, Subcommand};
use report::{FailureKind, Outcome, RunReport, Verdict};
use scenario::{Registry, Scenario};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// The exit code of a finished run.
fn exit_code(report: &RunReport) -> u8 {
    match (report.result, report.failure_kind) {
        (Verdict::Pass, _) => EXIT_PASS,
        (Verdict::Fail, Some(FailureKind::Liveness)) => EXIT_LIVENESS,
        (Verdict::Fail, Some(FailureKind::SimulatorBug)) => EXIT_SIMULATOR_BUG,
        (Verdict::Fail, _) => EXIT_FAIL,
    }
}

/// Deterministic cluster simulator and chaos lab.
#[derive(Parser)]
#[command(name = "chaoslab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// Where to write report.json, trace.jsonl and logs/ (default: reports/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate scenario files without running them.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Re-run a recorded run with its seed and verify the trace hash.
    Replay {
        /// A report.json written by `chaoslab run`.
        report: PathBuf,
        /// Also write the replay's files here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Every node kind this build knows.
fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry
}

/// jemalloc rather than the system allocator: see the workspace manifest.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = registry();
    let code = match cli.command {
        Command::Run { scenario, seed, out } => run(&registry, &scenario, seed, out),
        Command::Check { scenarios } => check(&registry, &scenarios),
        Command::Schema => {
            let schema = scenario::schema::scenario_schema(&registry);
            out!("{}", serde_json::to_string_pretty(&schema).expect("a schema serializes"));
            EXIT_PASS
        }
        Command::Replay { report, out } => replay(&registry, &report, out),
    };
    ExitCode::from(code)
}

/// Reads and validates a scenario, printing diagnostics on failure.
fn load(registry: &Registry, path: &Path) -> Result<Scenario, u8> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read {file}: {e}");
        EXIT_BAD_INPUT
    })?;
    scenario::parse_scenario(&file, &source, registry).map_err(|diags| {
        eprintln!("{}", diags.render(&file, &source));
        let n = diags.len();
        eprintln!("{file}: {n} error{}", if n == 1 { "" } else { "s" });
        EXIT_BAD_INPUT
    })
}

fn reproduce_command(path: &Path, seed: u64) -> String {
    format!("chaoslab run {} --seed {seed}", path.display())
}

/// Runs a loaded scenario and measures its wall time. A panic inside (an
/// assertion in a node or the kernel) is a simulator bug: the panic message is
/// already on stderr; this adds how to reproduce it and exits with its code.
fn execute(
    registry: &Registry,
    scenario: Scenario,
    path: &Path,
    seed: Option<u64>,
) -> Result<(RunReport, sim::Sim), u8> {
    let seed_used = seed.unwrap_or(scenario.seed);
    let reproduce = reproduce_command(path, seed_used);
    // Wall time is reported, never fed into the run.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let run = std::panic::AssertUnwindSafe(|| scenario::run(scenario, seed, registry, reproduce.clone()));
    let (mut report, sim) = std::panic::catch_unwind(run).map_err(|_| {
        eprintln!("error: simulator bug: the run stopped on a failed assertion (above); nothing was written");
        eprintln!("reproduce: {reproduce}");
        EXIT_SIMULATOR_BUG
    })?;
    report.wall_time_ms = (wall.elapsed().as_secs_f64() * 1e3 * 1000.0).round() / 1000.0;
    Ok((report, sim))
}

fn write(dir: &Path, report: &RunReport, sim: &sim::Sim) -> Result<(), u8> {
    report::write_run(dir, report, sim).map_err(|e| {
        eprintln!("error: cannot write the report to {}: {e}", dir.display());
        EXIT_BAD_INPUT
    })
}

fn run(registry: &Registry, path: &Path, seed: Option<u64>, out: Option<PathBuf>) -> u8 {
    let scenario = match load(registry, path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let dir = out.unwrap_or_else(|| Path::new("reports").join(report::file_safe(&scenario.name)));
    let (report, sim) = match execute(registry, scenario, path, seed) {
        Ok(done) => done,
        Err(code) => return code,
    };
    if let Err(code) = write(&dir, &report, &sim) {
        return code;
    }
    summarize(&report, &dir);
    exit_code(&report)
}

fn summarize(report: &RunReport, dir: &Path) {
    let verdict = match report.result {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    let passed = report.steps.iter().filter(|s| s.outcome == Outcome::Pass).count();
    let speed = if report.wall_time_ms > 0.0 { report.virtual_time_ns as f64 / 1e6 / report.wall_time_ms } else { 0.0 };
    out!("{verdict} {} (seed {})", report.scenario.name, report.seed);
    out!(
        "  steps {passed}/{} passed, {} invariant{}; {} virtual in {:.1} ms wall ({speed:.0}x); {} events",
        report.steps.len(),
        report.checks.len(),
        if report.checks.len() == 1 { "" } else { "s" },
        report.virtual_time,
        report.wall_time_ms,
        report.events_processed
    );
    if let Some(failure) = &report.failure {
        out!("  {failure}");
    }
    for e in &report.fault_errors {
        out!("  timed fault not applied: {e}");
    }
    out!("  trace {}  report {}", report.trace_hash, dir.join("report.json").display());
    out!("reproduce: {}", report.reproduce);
}

fn check(registry: &Registry, paths: &[PathBuf]) -> u8 {
    let mut code = EXIT_PASS;
    for path in paths {
        match load(registry, path) {
            Ok(s) => out!("ok {} ({}: {} nodes, {} steps)", path.display(), s.name, s.nodes.len(), s.steps.len()),
            Err(c) => code = code.max(c),
        }
    }
    code
}

fn replay(registry: &Registry, report_path: &Path, out: Option<PathBuf>) -> u8 {
    let recorded = match report::read_report(report_path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let path = PathBuf::from(&recorded.scenario.file);
    let scenario = match load(registry, &path) {
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
    let (report, sim) = match execute(registry, scenario, &path, Some(recorded.seed)) {
        Ok(done) => done,
        Err(code) => return code,
    };
    if let Some(dir) = out
        && let Err(code) = write(&dir, &report, &sim)
    {
        return code;
    }
    if report.trace_hash == recorded.trace_hash && report.result == recorded.result {
        out!(
            "replay OK: {} seed {}: trace hash {} matches ({} events)",
            recorded.scenario.name,
            recorded.seed,
            report.trace_hash,
            report.trace_events
        );
        EXIT_PASS
    } else {
        out!(
            "replay MISMATCH: {} seed {}: trace hash {} now, {} recorded; result {:?} now, {:?} recorded",
            recorded.scenario.name,
            recorded.seed,
            report.trace_hash,
            recorded.trace_hash,
            report.result,
            recorded.result
        );
        EXIT_FAIL
    }
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
        assert_eq!((EXIT_FAIL, EXIT_BAD_INPUT, EXIT_LIVENESS, EXIT_SIMULATOR_BUG), (1, 2, 3, 4), "as the README says");
    }
}
