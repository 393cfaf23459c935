//! `chaoslab shrink`: the command-line side of `explore::shrink`. It loads
//! the scenario, shows progress on stderr, writes the shrunk scenario and
//! prints what was kept and how to run it.

use crate::output::{self, Style};
use crate::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use explore::shrink::{self, Outcome, Progress, ShrinkError};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Prints a line to stdout (see [`output::line`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        output::line(&format!($($arg)*));
    }};
}

/// `chaoslab shrink`'s arguments.
#[derive(clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file (YAML), with a `nemesis:`.
    scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// At most this many runs of the simulation (the first run of the seed included).
    #[arg(long, value_name = "RUNS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(2..))]
    budget: u64,
    /// Where to write the shrunk scenario (default: <scenario name>-seed-<N>.shrunk.yaml).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `chaoslab shrink`.
pub fn shrink(style: Style, args: ShrinkArgs, sets: &[(String, String)]) -> u8 {
    let registry = crate::registry();
    let scenario = match crate::load(&registry, &args.scenario, sets) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let out =
        args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}-seed-{}.shrunk.yaml", scenario.name, args.seed)));
    let terminal = std::io::stderr().is_terminal();
    let mut on_progress = |p: &Progress<'_>| {
        if style.quiet {
            return;
        }
        let line = format!("shrink: run {}/{} ({}), {} fault(s) left", p.runs, p.budget, p.phase, p.faults);
        if terminal { eprint!("\r{line}\x1b[K") } else { eprintln!("{line}") }
    };
    let budget = usize::try_from(args.budget).unwrap_or(usize::MAX);
    let result = shrink::shrink(&registry, scenario, args.seed, budget, &mut on_progress);
    if terminal && !style.quiet {
        eprintln!();
    }
    match result {
        Err(e @ ShrinkError::NoNemesis) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAIL
        }
        Ok(Outcome::Passes) => {
            out!("seed {} passes: nothing to shrink", args.seed);
            EXIT_PASS
        }
        Ok(Outcome::Shrunk(s)) => {
            if let Err(e) = std::fs::write(&out, &s.yaml) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return EXIT_BAD_INPUT;
            }
            out!("seed {} fails as a {}", args.seed, s.signature);
            out!(
                "kept {} of {} applied faults in {} runs{}",
                s.faults.len(),
                s.drawn,
                s.runs,
                if s.exhausted { " (budget spent: a smaller schedule may exist)" } else { "" }
            );
            for line in s.yaml.lines().filter(|l| l.starts_with("#   ")) {
                out!("  {}", line.trim_start_matches("#   "));
            }
            out!("wrote {}; reproduce: chaoslab run {}", out.display(), out.display());
            EXIT_PASS
        }
    }
}
