//! The history checkers' benchmarks and the workload benchmark.
//!
//! `linear-100k`: the linearizability checker on a 100,000-op register
//! history over 100 keys from 50 clients (generated linearizable by
//! `check::testgen`, so every key is searched to the end); budget ≤ 1 s wall.
//! `linear-10k-one-key`: 10,000 ops on one key from 20 concurrent clients:
//! the search must give a verdict or `unknown` within its step budget, never
//! run past it; the wall time is reported.
//!
//! `workload-cluster`: a 3+3 cluster, 50 `RedisCluster` clients at 40
//! operations per second each (2,000 in all) for 60 virtual seconds, one
//! master killed at 20 s, run as `chaoslab run` would (without trace
//! records, as `explore` does), the checkers included; budget ≥ 500× real
//! time. It reports simulated client operations per wall second.

use serde_json::{Value, json};
use std::time::Instant;

/// Wall seconds the 100,000-op check may take.
pub const LINEAR_100K_WALL_MAX: f64 = 1.0;
/// Virtual seconds per wall second the workload benchmark must reach.
pub const WORKLOAD_VIRTUAL_PER_WALL_MIN: f64 = 500.0;

/// The 100k-op and 10k-op single-key linearizability checks.
pub fn linear(quick: bool) -> Result<Value, String> {
    let big = one_check("linear-100k", 100_000, 50, 100, check::linear::DEFAULT_BUDGET_STEPS)?;
    let ops = if quick { 2_000 } else { 10_000 };
    let hot = one_check("linear-10k-one-key", ops, 20, 1, check::linear::DEFAULT_BUDGET_STEPS)?;
    if big["wall_secs"].as_f64().unwrap_or(f64::MAX) > LINEAR_100K_WALL_MAX {
        println!("  linear-100k: over its budget of {LINEAR_100K_WALL_MAX} s");
    }
    Ok(json!({ "linear_100k": big, "linear_one_key": hot }))
}

fn one_check(label: &str, ops: usize, clients: u64, keys: i64, budget: u64) -> Result<Value, String> {
    let history = check::testgen::linearizable_registers(7, clients, ops, keys);
    let paired = history.ops().map_err(|e| format!("{label}: {e}"))?;
    #[allow(clippy::disallowed_methods)] // a benchmark times itself from outside the simulation
    let started = Instant::now();
    let result = check::linear::check(&paired, &history.faults, budget);
    let wall = started.elapsed().as_secs_f64();
    let steps = result.counts.iter().find(|(k, _)| **k == "steps").map_or(0, |(_, v)| *v);
    println!(
        "{label}: {ops} ops, {keys} keys, {clients} clients: {} in {wall:.3} s wall ({steps} search steps, budget {budget})",
        result.verdict.name()
    );
    if result.verdict == check::Verdict::Invalid {
        return Err(format!("{label}: a linearizable-by-construction history judged invalid"));
    }
    Ok(json!({
        "ops": ops, "keys": keys, "clients": clients, "budget_steps": budget,
        "verdict": result.verdict.name(), "steps": steps, "wall_secs": wall,
    }))
}

/// The workload scenario: 3+3 cluster, 50 clients, one master killed.
fn workload_scenario(secs: u64) -> String {
    let kill_at = secs / 3;
    format!(
        "name: bench-workload-cluster
topology:
  cluster: {{masters: 3, replicas: 1, ports: 7001, config: cluster-node-timeout 5000, build: create}}
workloads:
  users:
    client: cluster
    nodes: [\"7001\", \"7002\", \"7003\"]
    model: register
    keys: {{count: 100}}
    read-fraction: 0.5
    clients: 50
    rate: 40/s
    socket-timeout: 1s
    socket-connect-timeout: 1s
    quiet: 1s
steps:
  - workload: {{start: users}}
  - sleep: {kill_at}s
  - kill: \"7001\"
  - sleep: {}s
  - workload: {{stop: users}}
",
        secs - kill_at
    )
}

/// The workload benchmark: 60 virtual seconds of load (10 with `quick`).
pub fn workload(quick: bool) -> Result<Value, String> {
    workload_run(if quick { 10 } else { 60 })
}

/// Runs the workload scenario for `secs` virtual seconds of load
/// (`xtask bench-workload-child SECS` runs it alone, for profiling).
pub fn workload_run(secs: u64) -> Result<Value, String> {
    let source = workload_scenario(secs);
    let mut registry = scenario::Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    let parsed = scenario::parse_scenario("bench-workload-cluster.yaml", &source, &registry)
        .map_err(|d| d.render("bench-workload-cluster.yaml", &source))?;
    let options = scenario::RunOptions { no_trace_records: true, ..Default::default() };
    #[allow(clippy::disallowed_methods)] // a benchmark times itself from outside the simulation
    let started = Instant::now();
    let (report, _sim) = scenario::run_with(parsed, None, &registry, String::new(), options);
    let wall = started.elapsed().as_secs_f64();
    let history = report.history.as_ref().ok_or("the workload left no history")?;
    let virtual_secs = report.virtual_time_ns as f64 / 1e9;
    let ops_per_wall = history.ops as f64 / wall;
    let verdicts: Vec<String> = history.checkers.iter().map(|c| format!("{} {}", c.checker, c.verdict)).collect();
    println!(
        "workload-cluster: 3+3 cluster, 50 clients at 2000 ops/s for {secs} virtual s, 7001 killed: {} ops ({} ok, {} fail, {} info), {:.1} virtual s in {wall:.3} s wall = {:.0}x real time (budget >= {WORKLOAD_VIRTUAL_PER_WALL_MIN}x), {:.0} client ops per wall s; run {}; {}",
        history.ops,
        history.ok,
        history.fail,
        history.info,
        virtual_secs,
        virtual_secs / wall,
        ops_per_wall,
        format!("{:?}", report.result).to_lowercase(),
        verdicts.join(", ")
    );
    Ok(json!({
        "load_secs": secs, "clients": 50, "ops_per_sec": 2000,
        "ops": history.ops, "ok": history.ok, "fail": history.fail, "info": history.info,
        "events": report.events_processed, "virtual_secs": virtual_secs, "wall_secs": wall,
        "virtual_per_wall": (virtual_secs / wall).round(), "client_ops_per_wall_sec": ops_per_wall.round(),
        "result": format!("{:?}", report.result).to_lowercase(), "checkers": verdicts,
    }))
}
