//! The explore benchmark: `chaoslab explore`'s exploration of the 3+3 cluster
//! chaos scenario `xtask/bench/explore-cluster-60s.yaml` (six cluster nodes on
//! six hosts, four list-appending `RedisCluster` clients, h1 cut off with its
//! master for 10 s, 62 virtual seconds a seed), as the binary runs it:
//! `explore::run_seeds` with each seed's scenario parsed afresh and run
//! without trace records. Measured as seeds per wall second with 1 and with 2
//! jobs (OS threads) over the same seeds; the two must give the same result
//! for every seed. `xtask bench-explore-child SEEDS JOBS` runs one such
//! exploration alone, to time or profile it as a whole process.

use explore::{Plan, SeedResult, Target};
use serde_json::{Value, json};

/// The scenario, relative to the workspace root.
pub const SCENARIO: &str = "xtask/bench/explore-cluster-60s.yaml";

/// Seeds per wall second the exploration must reach with 2 jobs on a 2-core machine.
pub const SEEDS_PER_SEC_MIN_2_JOBS: u64 = 200;

fn registry() -> scenario::Registry {
    let mut registry = scenario::Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    registry
}

/// One exploration of `seeds` on `jobs` threads: its results and wall seconds.
fn explore_once(source: &str, seeds: &[u64], jobs: usize) -> Result<(Vec<SeedResult>, f64), String> {
    // Composed once, as `chaoslab explore` does; each seed makes its scenario from that.
    let composed = crate::reports::compose_shipped(SCENARIO, source)?;
    let load = |r: &scenario::Registry| composed.scenario(r).map_err(|e| e.render(SCENARIO));
    let target = Target { registry, load: &load };
    // The benchmark measures the explorer from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let results = explore::run_seeds(&target, seeds, Plan { jobs, stop_after: None }, &|_| {})
        .map_err(|e| format!("explore: {e}"))?;
    Ok((results, wall.elapsed().as_secs_f64()))
}

fn source() -> Result<String, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    std::fs::read_to_string(root.join(SCENARIO)).map_err(|e| format!("{SCENARIO}: {e}"))
}

/// Every seed's verdict and hash, folded into one hash (equal results, equal hash).
fn results_hash(results: &[SeedResult]) -> String {
    let text: String = results.iter().map(|r| format!("{} {:?} {}\n", r.seed, r.verdict, r.trace_hash)).collect();
    format!("{:016x}", sim::digest(text.as_bytes()))
}

/// `xtask bench-explore-child SEEDS JOBS`: seeds 1..=SEEDS on JOBS threads, printed.
pub fn child(seeds: u64, jobs: usize) -> Result<(), String> {
    let seeds: Vec<u64> = (1..=seeds).collect();
    let (results, secs) = explore_once(&source()?, &seeds, jobs)?;
    let failing = results.iter().filter(|r| r.failed()).count();
    println!(
        "explore-cluster-60s: {} seeds on {jobs} jobs in {secs:.3} s = {:.1} seeds/s; {failing} failing; results {}",
        results.len(),
        results.len() as f64 / secs,
        results_hash(&results)
    );
    Ok(())
}

/// The benchmark: the same seeds with 1 job and with 2.
pub fn explore(quick: bool) -> Result<Value, String> {
    let source = source()?;
    let count = if quick { 6 } else { 200 };
    let seeds: Vec<u64> = (1..=count).collect();
    explore_once(&source, &seeds[..2], 1)?; // warm up
    let (one, one_secs) = explore_once(&source, &seeds, 1)?;
    let (two, two_secs) = explore_once(&source, &seeds, 2)?;
    if one != two {
        return Err(format!(
            "explore: --jobs 1 and --jobs 2 gave different results ({} vs {})",
            results_hash(&one),
            results_hash(&two)
        ));
    }
    let failing = one.iter().filter(|r| r.failed()).count();
    let events = one.iter().map(|r| r.events).sum::<u64>() / count;
    let virtual_secs = one.iter().map(|r| r.virtual_time_ns).sum::<u64>() as f64 / 1e9 / count as f64;
    let (per_sec_1, per_sec_2) = (count as f64 / one_secs, count as f64 / two_secs);
    println!(
        "explore-cluster-60s: {count} seeds of {virtual_secs:.1} virtual s ({events} hashed events each; {failing} failing): \
         {per_sec_1:.1} seeds/s on 1 job, {per_sec_2:.1} seeds/s on 2 jobs (budget >= {SEEDS_PER_SEC_MIN_2_JOBS} seeds/s on 2 jobs)"
    );
    Ok(json!({
        "scenario": SCENARIO,
        "seeds": count,
        "virtual_secs_mean": virtual_secs,
        "trace_events_mean": events,
        "failing": failing,
        "jobs_1": { "wall_secs": one_secs, "seeds_per_sec": (per_sec_1 * 10.0).round() / 10.0 },
        "jobs_2": { "wall_secs": two_secs, "seeds_per_sec": (per_sec_2 * 10.0).round() / 10.0 },
        "results_hash": results_hash(&one),
    }))
}
