//! The shrink benchmark: `chaoslab shrink` of a 20-fault failing schedule.
//!
//! `xtask/data/shrink-bench.yaml` is a Sentinel group without
//! `min-replicas-to-write` under a nemesis; under seed 9 the nemesis applies
//! 20 faults and the group loses acknowledged appends (the `acked-write-loss`
//! checker says invalid). The benchmark shrinks that seed as the binary does
//! (`explore::shrink`, budget 200 runs) and measures the wall time to the
//! minimal scenario (budget: 30 s). The minimal scenario must keep exactly one
//! fault, the isolation of dc1 (the old master's host), and, run again from
//! its text, fail the same way: a benchmark that measured a wrong answer
//! would be worse than none.

use serde_json::{Value, json};
use std::time::Instant;

/// The seed whose schedule has 20 applied faults and fails.
const SEED: u64 = 9;
/// Runs the shrinker may use.
const RUN_BUDGET: usize = 200;
/// Wall seconds the shrink may take.
pub const WALL_SECS_MAX: f64 = 30.0;

fn registry() -> scenario::Registry {
    let mut registry = scenario::Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    registry
}

/// Shrinks the benchmark's seed and checks the result.
pub fn shrink() -> Result<Value, String> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/data/shrink-bench.yaml");
    let source = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let registry = registry();
    let parse = |text: &str| scenario::parse_scenario(file, text, &registry).map_err(|d| d.render(file, text));
    #[allow(clippy::disallowed_methods)] // a benchmark measures wall time from outside the run
    let started = Instant::now();
    let outcome = explore::shrink::shrink(&registry, parse(&source)?, SEED, RUN_BUDGET, &mut |_| {})
        .map_err(|e| e.to_string())?;
    let wall_secs = started.elapsed().as_secs_f64();
    let explore::shrink::Outcome::Shrunk(s) = outcome else { return Err(format!("seed {SEED} passes")) };
    if s.drawn != 20 {
        return Err(format!("seed {SEED} applied {} faults, not 20: the benchmark measures something else", s.drawn));
    }
    let kept: Vec<String> = s.faults.iter().flat_map(|f| f.apply.clone()).collect();
    if kept != [r#"partition: [["dc1"]]"#] {
        return Err(format!("shrunk to {kept:?}, not the isolation of dc1"));
    }
    let (again, _) = scenario::run(parse(&s.yaml)?, None, &registry, String::new());
    if explore::shrink::signature(&again).as_ref() != Some(&s.signature) {
        return Err(format!("the shrunk scenario fails as {:?}, not as {}", again.failure, s.signature));
    }
    println!(
        "shrink: seed {SEED}, 20 applied faults -> {} fault ({}) in {} runs, {wall_secs:.2} s wall (budget <= {WALL_SECS_MAX} s); fails as a {}",
        s.faults.len(),
        kept.join("; "),
        s.runs,
        s.signature
    );
    if wall_secs > WALL_SECS_MAX {
        return Err(format!("shrink took {wall_secs:.2} s wall, over the {WALL_SECS_MAX} s budget"));
    }
    Ok(json!({
        "seed": SEED,
        "faults_drawn": s.drawn,
        "faults_kept": s.faults.len(),
        "runs": s.runs,
        "run_budget": RUN_BUDGET,
        "exhausted": s.exhausted,
        "wall_secs": wall_secs,
        "signature": s.signature.to_string(),
    }))
}
