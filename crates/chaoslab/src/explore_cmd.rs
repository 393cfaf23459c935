//! `chaoslab explore` and `chaoslab merge`: the command-line side of the
//! `explore` crate. It picks the seeds (drawing `--count` of them from the OS),
//! draws progress, writes explore.json, reruns each failing seed with full
//! output into its own report directory, and prints the summary.

use crate::output::{self, Style};
use crate::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS, EXIT_SIMULATOR_BUG, Limits, VERSION};
use explore::{ExploreReport, Plan, SeedRange, SeedResult, Shard, Target};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prints a line to stdout (see [`output::line`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        output::line(&format!($($arg)*));
    }};
}

/// `chaoslab explore`'s arguments.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["seeds", "count"])))]
pub struct ExploreArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// The seeds: `A..B` (B excluded) or `A..=B`.
    #[arg(long)]
    seeds: Option<String>,
    /// Instead of a range: N random 64-bit seeds from the OS (printed and recorded).
    #[arg(long)]
    count: Option<u64>,
    /// OS threads running seeds (each simulation stays single-threaded).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Take the I-th of N slices of the seeds (every N-th from position I, I from 0);
    /// `env` reads I and N from JOB_COMPLETION_INDEX and JOB_COMPLETIONS (a Kubernetes Indexed Job).
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Stop starting seeds after this many failures.
    #[arg(long, value_name = "K")]
    stop_after: Option<usize>,
    /// Stop starting seeds once this much wall time has passed (e.g. 90s, 10m); the seeds
    /// running then finish, and explore.json and the summary say how many ran.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration_arg)]
    time_budget: Option<std::time::Duration>,
    /// Rerun at most this many failing seeds (the lowest) with full output into seed-<n>/.
    #[arg(long, value_name = "K", default_value_t = 20)]
    rerun_limit: usize,
    /// Where to write explore.json and seed-<n>/ of each failing seed
    /// (default: reports/<scenario name>/explore/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Rerun a sample of the seeds (failing ones first) and fail on any trace-hash difference.
    #[arg(long)]
    check_determinism: bool,
}

/// `chaoslab merge`'s arguments.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// Shards' output directories (or their explore.json files).
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// Write the merged explore.json into this directory (else only print the summary).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Failing seeds the summary lists at most (all are in explore.json).
const SUMMARY_FAILURES: usize = 10;

/// `chaoslab explore`.
pub fn explore(style: Style, args: ExploreArgs, sets: &[(String, String)]) -> u8 {
    match explore_inner(style, args, sets) {
        Ok(code) => code,
        Err(code) => code,
    }
}

fn bad(text: impl std::fmt::Display) -> u8 {
    eprintln!("error: {text}");
    EXIT_BAD_INPUT
}

fn explore_inner(style: Style, args: ExploreArgs, sets: &[(String, String)]) -> Result<u8, u8> {
    let registry = crate::registry();
    let path = args.scenario.as_path();
    let first = crate::load(&registry, path, sets)?;
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let (all, seeds_text) = pick_seeds(&args)?;
    if args.time_budget.is_some_and(|b| b.is_zero()) {
        return Err(bad("bad --time-budget 0: give the wall time seeds may start in, e.g. 10m"));
    }
    let shard = args.shard.as_deref().map(shard_arg).transpose()?;
    let seeds = shard.map_or(all.clone(), |s| s.take(&all));
    if seeds.is_empty() {
        return Err(bad(format!(
            "shard {} of {} seeds holds no seed",
            shard.expect("only a shard empties"),
            all.len()
        )));
    }
    let dir =
        args.out.clone().unwrap_or_else(|| Path::new("reports").join(report::file_safe(&first.name)).join("explore"));
    prepare_dir(&dir)?;
    if args.count.is_some() && style.lines() {
        out!("drew {} seeds from the OS: {}", all.len(), shown_seeds(&all));
    }
    let file = path.display().to_string();
    // Read and composed once; each seed makes its scenario from that.
    let composed = crate::compose(path, bytes.clone(), sets).map_err(|e| e.render(&file));
    let load = |r: &scenario::Registry| match &composed {
        Ok(c) => crate::scenario_of(c, r, path, sets).map_err(|e| e.render(&file)),
        Err(e) => Err(e.clone()),
    };
    let target = Target { registry: crate::registry, load: &load };
    let plan = Plan { jobs: usize::from(args.jobs), stop_after: args.stop_after };
    #[allow(clippy::disallowed_methods)] // wall time only measures, never feeds a run
    let wall = std::time::Instant::now();
    let progress = Progress::new(style, seeds.len() as u64);
    // The first seed always runs: a budget gone before any seed started says nothing.
    let started = std::sync::atomic::AtomicBool::new(false);
    let go_on =
        || !started.swap(true, Ordering::SeqCst) || args.time_budget.is_none_or(|budget| wall.elapsed() < budget);
    let results = explore::run_seeds_while(&target, &seeds, plan, &|r| progress.done(r), &go_on).map_err(bad)?;
    progress.finish();
    let elapsed = wall.elapsed().as_secs_f64();
    let cut = explore::cut(seeds.len(), &results, plan);
    let header = ExploreReport {
        format: explore::FORMAT,
        scenario: first.name.clone(),
        scenario_file: first.file.clone(),
        scenario_hash: format!("{:016x}", sim::digest(first.source.as_bytes())),
        sets: sets.to_vec(),
        binary: VERSION.to_owned(),
        seeds: seeds_text,
        shards: shard.into_iter().collect(),
        seeds_run: 0,
        failures: 0,
        determinism_checked: vec![],
        determinism_mismatches: vec![],
        rerun: vec![],
        seeds_planned: seeds.len() as u64,
        time_budget_secs: args.time_budget.map(|b| b.as_secs_f64()),
        cut,
        results: vec![],
    };
    let mut report = explore::report(header, results);
    if args.check_determinism {
        let sample = explore::determinism_sample(&report.results);
        report.determinism_mismatches =
            explore::check_determinism(&target, &report.results, &sample, plan).map_err(bad)?;
        report.determinism_checked = sample;
    }
    rerun_failing(style, &registry, (path, sets), (&dir, args.rerun_limit), &mut report);
    write_report(&dir.join("explore.json"), &report)?;
    let rerun_dirs: Vec<(u64, PathBuf)> = report.rerun.iter().map(|&s| (s, dir.clone())).collect();
    summary(style, &report, Some(&dir), Some((elapsed, plan.jobs)), &rerun_dirs);
    Ok(verdict(&report))
}

/// Makes the output directory ready before any seed runs: an earlier
/// exploration's explore.json and seed-<n>/ directories removed (so none is
/// mistaken for this one's), anything else refused, as `run` refuses it.
fn prepare_dir(dir: &Path) -> Result<(), u8> {
    let cannot = |e: &dyn std::fmt::Display| bad(format!("cannot use {} for the exploration: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| cannot(&e))?;
    let entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| cannot(&e))?.filter_map(Result::ok).collect();
    for e in &entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let seed_dir = name.strip_prefix("seed-").is_some_and(|n| n.parse::<u64>().is_ok()) && e.path().is_dir();
        if name != "explore.json" && !seed_dir {
            return Err(cannot(&format!("it holds `{name}`, which an exploration did not write")));
        }
    }
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            report::prepare_dir(&path).map_err(|e| cannot(&e))?;
            std::fs::remove_dir(&path).map_err(|e| cannot(&e))?;
        } else {
            std::fs::remove_file(&path).map_err(|e| cannot(&e))?;
        }
    }
    Ok(())
}

/// `--shard I/N`, or `--shard env` from a Kubernetes Indexed Job's variables.
fn shard_arg(text: &str) -> Result<Shard, u8> {
    if text != "env" {
        return Shard::parse(text).map_err(bad);
    }
    let var = |name: &str| {
        std::env::var(name)
            .map_err(|_| bad(format!("--shard env: {name} is not set (a Kubernetes Indexed Job sets it)")))
    };
    let (index, count) = (var("JOB_COMPLETION_INDEX")?, var("JOB_COMPLETIONS")?);
    Shard::parse(&format!("{index}/{count}")).map_err(bad)
}

/// The exit code: 4 when a rerun hashed differently, 1 when a seed failed, else 0
/// (a run that `--time-budget` or `--stop-after` cut short included: the code
/// is about the seeds that ran).
fn verdict(report: &ExploreReport) -> u8 {
    if !report.determinism_mismatches.is_empty() {
        EXIT_SIMULATOR_BUG
    } else if report.failures > 0 {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

/// The seeds of `--seeds` or `--count`, and how to say which.
fn pick_seeds(args: &ExploreArgs) -> Result<(Vec<u64>, String), u8> {
    if let Some(text) = &args.seeds {
        let range = SeedRange::parse(text).map_err(bad)?;
        return Ok((range.seeds(), format!("--seeds {text}")));
    }
    let n = args.count.expect("clap requires --seeds or --count");
    if n == 0 || n > explore::seeds::MAX_SEEDS {
        return Err(bad(format!("bad --count {n}: choose 1 to {}", explore::seeds::MAX_SEEDS)));
    }
    Ok((os_seeds(n)?, format!("--count {n}")))
}

/// `n` random 64-bit seeds from the OS (the only randomness not from a seed;
/// the seeds are recorded, so every run they start can be rerun).
fn os_seeds(n: u64) -> Result<Vec<u64>, u8> {
    use std::io::Read;
    let mut bytes = vec![0u8; n as usize * 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| bad(format!("cannot draw random seeds from /dev/urandom: {e}")))?;
    Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

fn shown_seeds(seeds: &[u64]) -> String {
    let shown: Vec<String> = seeds.iter().take(20).map(u64::to_string).collect();
    let more = seeds.len().saturating_sub(20);
    if more > 0 { format!("{} ... ({more} more in explore.json)", shown.join(" ")) } else { shown.join(" ") }
}

/// Reruns each failing seed with full output into `dir/seed-<n>/`, as
/// `chaoslab run` writes it; a rerun that hashes differently is a determinism
/// mismatch.
fn rerun_failing(
    style: Style,
    registry: &scenario::Registry,
    (path, sets): (&Path, &[(String, String)]),
    (dir, limit): (&Path, usize),
    report: &mut ExploreReport,
) {
    let failing: Vec<SeedResult> = report.failing().take(limit).cloned().collect();
    for r in failing {
        report.rerun.push(r.seed);
        let seed_dir = dir.join(format!("seed-{}", r.seed));
        let Ok(scenario) = crate::load(registry, path, sets) else { return };
        if crate::prepare(&seed_dir).is_err() {
            continue;
        }
        let quiet = Style::new(false, true);
        let Ok((run, sim)) = crate::execute(registry, quiet, scenario, Some(r.seed), Limits::default()) else {
            continue;
        };
        let written = crate::write(&seed_dir, &run, &sim)
            .and_then(|()| crate::write_documents(&seed_dir, &run, report::Documents::ALL));
        if written.is_err() && style.lines() {
            out!("(could not write the rerun of seed {} to {})", r.seed, seed_dir.display());
        }
        if run.trace_hash != r.trace_hash {
            report.determinism_mismatches.push(explore::Mismatch {
                seed: r.seed,
                first: r.trace_hash.clone(),
                rerun: run.trace_hash.clone(),
            });
        }
    }
}

fn write_report(file: &Path, report: &ExploreReport) -> Result<(), u8> {
    let json = serde_json::to_string_pretty(report).expect("an explore report serializes");
    std::fs::write(file, json + "\n").map_err(|e| bad(format!("cannot write {}: {e}", file.display())))
}

/// The one-screen summary (or the JSON document with `--json`). `rerun_dirs`
/// says which exploration directory holds each rerun seed's `seed-<n>/`.
fn summary(
    style: Style,
    report: &ExploreReport,
    dir: Option<&Path>,
    timing: Option<(f64, usize)>,
    rerun_dirs: &[(u64, PathBuf)],
) {
    style.document(&serde_json::to_value(report).expect("an explore report serializes"));
    if !style.lines() {
        return;
    }
    let shards: Vec<String> = report.shards.iter().map(Shard::to_string).collect();
    let shards = if shards.is_empty() { String::new() } else { format!(", shard {}", shards.join(" ")) };
    out!(
        "{} {}: {} seeds ({}{shards}), {} failing",
        if report.failures == 0 { style.verdict(report::Verdict::Pass) } else { style.verdict(report::Verdict::Fail) },
        report.scenario,
        report.seeds_run,
        report.seeds,
        report.failures
    );
    if let Some(cut) = report.cut {
        out!("{}: {} of {} seeds ran", cut_words(cut, report), report.seeds_run, report.seeds_planned);
    }
    if let Some((secs, jobs)) = timing {
        out!(
            "{:.1} s wall, {:.1} seeds/s on {jobs} job{}",
            secs,
            report.seeds_run as f64 / secs.max(1e-6),
            plural(jobs)
        );
    }
    for r in report.failing().take(SUMMARY_FAILURES) {
        let kind = r.failure_kind.map_or("fail".to_owned(), |k| format!("{k:?}").to_lowercase());
        let text: String = r.failure.as_deref().unwrap_or("").chars().take(160).collect();
        out!("seed {} ({kind}): {}", r.seed, style.paint_failure(&text));
        out!("  reproduce: {}", crate::reproduce_command(&report.scenario_file, r.seed, &report.sets));
        if let Some(line) = replay_line(report, r.seed, rerun_dirs) {
            out!("  replay:    {line}");
        }
    }
    let more = report.failures as usize - report.failing().take(SUMMARY_FAILURES).count();
    if more > 0 {
        out!("... {more} more failing seeds in explore.json");
    }
    if !report.determinism_checked.is_empty() {
        out!("determinism: reran {} seeds", report.determinism_checked.len());
    }
    for m in &report.determinism_mismatches {
        out!("NONDETERMINISTIC seed {}: trace hash {} first, {} when rerun", m.seed, m.first, m.rerun);
    }
    if let Some(dir) = dir {
        out!("wrote {}", dir.join("explore.json").display());
    }
    let mut dirs: Vec<String> = rerun_dirs.iter().map(|(_, d)| format!("{}/seed-<n>/", d.display())).collect();
    dirs.dedup();
    if !dirs.is_empty() {
        let n = report.rerun.len();
        out!("full output of {n} failing seed{} in {}", plural(n), dirs.join(", "));
    }
}

/// What cut the run short, in words.
fn cut_words(cut: explore::Cut, report: &ExploreReport) -> String {
    match (cut, report.time_budget_secs) {
        (explore::Cut::TimeBudget, Some(secs)) => format!("the time budget ({secs}s) cut the run"),
        (explore::Cut::TimeBudget, None) => "a time budget cut the run".to_owned(),
        (explore::Cut::StopAfter, _) => format!("stopped after {} failing seeds (--stop-after)", report.failures),
    }
}

/// `chaoslab replay DIR/seed-<n>/report.json` for a seed rerun with full output
/// whose report is there.
fn replay_line(report: &ExploreReport, seed: u64, rerun_dirs: &[(u64, PathBuf)]) -> Option<String> {
    let (_, dir) = rerun_dirs.iter().find(|(s, _)| *s == seed)?;
    let file = dir.join(format!("seed-{seed}")).join("report.json");
    file.is_file().then(|| {
        let sets: String =
            report.sets.iter().map(|(n, v)| format!(" --set {}", crate::shell_word(&format!("{n}={v}")))).collect();
        format!("chaoslab replay {}{sets}", crate::shell_word(&file.display().to_string()))
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `chaoslab merge`.
pub fn merge(style: Style, args: MergeArgs) -> u8 {
    let mut parts = Vec::new();
    let mut rerun_dirs = Vec::new();
    for part in &args.parts {
        let file = if part.is_dir() { part.join("explore.json") } else { part.clone() };
        let dir = file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => return bad(format!("cannot read {}: {e}", file.display())),
        };
        match serde_json::from_str::<ExploreReport>(&text) {
            Ok(r) => {
                rerun_dirs.extend(r.rerun.iter().map(|&s| (s, dir.clone())));
                parts.push((file.display().to_string(), r));
            }
            Err(e) => return bad(format!("{} is not an explore.json: {e}", file.display())),
        }
    }
    let merged = match explore::merge(parts) {
        Ok(m) => m,
        Err(e) => return bad(e),
    };
    if let Some(out) = &args.out {
        if let Err(e) = std::fs::create_dir_all(out) {
            return bad(format!("cannot use {}: {e}", out.display()));
        }
        if let Err(code) = write_report(&out.join("explore.json"), &merged) {
            return code;
        }
    }
    summary(style, &merged, args.out.as_deref(), None, &rerun_dirs);
    verdict(&merged)
}

/// The progress bar: seeds/s, failures so far, ETA; plain lines every tenth
/// of the seeds when stderr is not a terminal; nothing with `--quiet`/`--json`.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    fn new(style: Style, total: u64) -> Progress {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let bar = (style.lines() && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
            let template = if color {
                "{bar:30.cyan/blue} {pos}/{len} seeds, {per_sec}, {msg}, ETA {eta}"
            } else {
                "{bar:30} {pos}/{len} seeds, {per_sec}, {msg}, ETA {eta}"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
            bar.set_message("0 failing");
            bar
        });
        let plain = style.lines() && !terminal;
        Progress { bar, plain, total, done: AtomicUsize::new(0), failed: AtomicUsize::new(0) }
    }

    fn done(&self, r: &SeedResult) {
        let failed = self.failed.fetch_add(usize::from(r.failed()), Ordering::SeqCst) + usize::from(r.failed());
        let done = self.done.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{failed} failing"));
            bar.inc(1);
        } else if self.plain && (done == self.total || done.is_multiple_of(self.total.div_ceil(10).max(1))) {
            eprintln!("explore: {done}/{} seeds, {failed} failing", self.total);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
