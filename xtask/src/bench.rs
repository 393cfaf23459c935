//! Benchmarks: the kernel's microbenchmarks below, the Redis replication
//! benchmark in [`crate::bench_redis`] and its mixed workload in
//! [`crate::bench_redis_mixed`], the Redis Cluster benchmarks in
//! [`crate::bench_cluster`], the MySQL replication benchmark in
//! [`crate::bench_mysql`], the history checkers and a cluster workload
//! in [`crate::bench_checkers`], and the explore benchmark in
//! [`crate::bench_explore`].
//!
//! `ping-ring`: N processes on one host, each connected to its successor; every
//! process sends a 32-byte ping every 10 ms and answers each ping with a pong.
//! One round is a timer plus two deliveries, so the kernel's whole hot path
//! (queue, wires, dispatch, trace hashing, buffer pool) is exercised.
//!
//! `idle-memory`: many started processes that listen and hold one timer; the
//! resident-set growth divided by their number is the cost of an idle process.

use crate::{bench_checkers, bench_cluster, bench_explore, bench_mysql, bench_redis, bench_redis_mixed};
use serde_json::{Value, json};
use sim::{Ctx, Fault, Input, Instant, ProcId, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const BASE_PORT: u16 = 20000;
const PING: &[u8; 32] = b"*1\r\n$4\r\nPING\r\n..................";
const PONG: &[u8] = b"+PONG\r\n";

struct Pinger {
    port: u16,
    next: u16,
    out: Option<sim::ConnId>,
    period: Duration,
}

impl Process for Pinger {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                ctx.listen(self.port).expect("bench ports are distinct");
                self.out = Some(ctx.connect(SocketAddrV4::new(LOCALHOST, self.next)));
                // Spread the first pings so the processes do not tick in lockstep.
                let phase = Duration::from_micros(ctx.rng().below(10_000));
                ctx.set_timer(phase, 0);
            }
            Input::Timer { .. } => {
                if let Some(conn) = self.out {
                    ctx.send(conn, PING);
                }
                ctx.set_timer(self.period, 0);
            }
            Input::Data { conn, bytes } if bytes.len() == PING.len() => ctx.send(conn, PONG),
            _ => {}
        }
    }
}

struct Idle;

impl Process for Idle {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        if let Input::Start = input {
            let port = BASE_PORT + (ctx.id().0 % 40000) as u16;
            let _ = ctx.listen(port);
            ctx.set_timer(Duration::from_secs(3600), 0);
        }
    }
}

fn ring(processes: u16, seed: u64) -> Sim {
    let mut sim = Sim::new(SimConfig { seed, ..SimConfig::default() });
    let host = sim.add_host("localhost", LOCALHOST);
    let ids: Vec<ProcId> = (0..processes)
        .map(|i| {
            let port = BASE_PORT + i;
            let next = BASE_PORT + (i + 1) % processes;
            let factory: sim::Factory =
                Box::new(move || Box::new(Pinger { port, next, out: None, period: Duration::from_millis(10) }));
            sim.add_process(host, &format!("p{i}"), factory)
        })
        .collect();
    for id in ids {
        sim.apply(Fault::Start(id)).expect("fresh process starts");
    }
    sim
}

struct RingResult {
    events: u64,
    virtual_secs: f64,
    wall_secs: f64,
    trace_hash: String,
}

fn ping_ring(processes: u16, virtual_secs: u64) -> RingResult {
    let mut sim = ring(processes, 1);
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    sim.run_until(Instant::ZERO + Duration::from_secs(virtual_secs));
    let wall_secs = wall.elapsed().as_secs_f64();
    RingResult {
        events: sim.events_processed(),
        virtual_secs: virtual_secs as f64,
        wall_secs,
        trace_hash: sim.trace().hash_hex(),
    }
}

fn rss_bytes() -> Result<u64, String> {
    let statm = std::fs::read_to_string("/proc/self/statm").map_err(|e| format!("reading /proc/self/statm: {e}"))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| "unexpected /proc/self/statm format".to_owned())?;
    Ok(pages * 4096)
}

fn idle_memory(processes: u32) -> Result<f64, String> {
    let before = rss_bytes()?;
    let mut sim = Sim::new(SimConfig::default());
    let host = sim.add_host("localhost", LOCALHOST);
    for i in 0..processes {
        let id = sim.add_process(host, &format!("idle-{i}"), Box::new(|| Box::new(Idle)));
        sim.apply(Fault::Start(id)).map_err(|e| e.to_string())?;
    }
    sim.run_for(Duration::from_secs(1));
    let after = rss_bytes()?;
    let per = after.saturating_sub(before) as f64 / processes as f64;
    drop(sim);
    Ok(per)
}

fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Which benchmarks to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// Everything.
    All,
    /// The kernel microbenchmarks.
    Kernel,
    /// The Redis replication benchmark.
    Redis,
    /// The Redis Cluster benchmarks.
    Cluster,
    /// The MySQL replication benchmark.
    Mysql,
    /// The history checkers and the cluster workload.
    Checkers,
    /// The explore benchmark.
    Explore,
    /// `chaoslab shrink` of a 20-fault failing schedule.
    Shrink,
}

pub fn run(quick: bool, only: Only) -> Result<(), String> {
    let mut entry = json!({ "revision": git_revision(), "quick": quick });
    let mut budgets = serde_json::Map::new();
    if only == Only::All || only == Only::Kernel {
        entry["kernel"] = kernel(quick)?;
        budgets.insert("events_per_sec_min".into(), json!(5_000_000));
        budgets.insert("bytes_per_idle_process_max".into(), json!(65536));
    }
    if only == Only::All || only == Only::Redis {
        entry["redis"] = redis(quick)?;
        budgets.insert("redis_commands_per_sec_min".into(), json!(REDIS_COMMANDS_PER_SEC_MIN));
    }
    if only == Only::All || only == Only::Cluster {
        entry["cluster"] = cluster(quick)?;
        budgets.insert("cluster_c3_virtual_per_wall_min".into(), json!(bench_cluster::C3_VIRTUAL_PER_WALL_MIN));
        budgets.insert("cluster_1000_wall_secs_max".into(), json!(bench_cluster::WALL_SECS_MAX_1000));
        budgets.insert("cluster_1000_peak_rss_bytes_max".into(), json!(bench_cluster::PEAK_RSS_MAX));
    }
    if only == Only::All || only == Only::Mysql {
        entry["mysql"] = mysql(quick)?;
        budgets.insert("mysql_statements_per_sec_min".into(), json!(MYSQL_STATEMENTS_PER_SEC_MIN));
    }
    if only == Only::All || only == Only::Checkers {
        entry["checkers"] = bench_checkers::linear(quick)?;
        entry["workload"] = workload_median(quick)?;
        budgets.insert("linear_100k_wall_secs_max".into(), json!(bench_checkers::LINEAR_100K_WALL_MAX));
        budgets.insert("workload_virtual_per_wall_min".into(), json!(bench_checkers::WORKLOAD_VIRTUAL_PER_WALL_MIN));
    }
    if only == Only::All || only == Only::Explore {
        entry["explore"] = in_child("explore", quick)?;
        budgets.insert("explore_seeds_per_sec_2_jobs_min".into(), json!(bench_explore::SEEDS_PER_SEC_MIN_2_JOBS));
    }
    if only == Only::All || only == Only::Shrink {
        entry["shrink"] = crate::bench_shrink::shrink()?;
        budgets.insert("shrink_wall_secs_max".into(), json!(crate::bench_shrink::WALL_SECS_MAX));
    }
    entry["budgets"] = Value::Object(budgets);
    append(entry)
}

/// `xtask bench-child GROUP [--quick]`: the workload or the explore
/// benchmark alone, its figures printed as they are, then as one JSON line.
pub fn child(group: &str, quick: bool) -> Result<(), String> {
    let figures = match group {
        "workload" => bench_checkers::workload(quick)?,
        "explore" => bench_explore::explore(quick)?,
        _ => return Err(format!("no benchmark group {group:?} runs in a child (workload, explore)")),
    };
    println!("{figures}");
    Ok(())
}

/// Runs benchmark `group` in a fresh process (`xtask bench-child`), as
/// `chaoslab run` and `chaoslab explore` run: not in this one, whose heap
/// the benchmarks before it left behind (the 1,000,000-key replication
/// leaves gigabytes that the allocator keeps; a workload run right after
/// it ran at 340x real time, 470x in a fresh process, alternated, same
/// minutes). Its lines are shown; its last line is its figures.
fn in_child(group: &str, quick: bool) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = std::process::Command::new(exe);
    command.args(["bench-child", group]);
    if quick {
        command.arg("--quick");
    }
    let out = command.output().map_err(|e| format!("starting the {group} benchmark's child: {e}"))?;
    if !out.status.success() {
        return Err(format!("{group}: child failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.pop().ok_or_else(|| format!("{group}: the child printed nothing"))?;
    for line in lines {
        println!("{line}");
    }
    serde_json::from_str(last).map_err(|e| format!("{group}: child output {last:?}: {e}"))
}

/// Fresh-process runs of the workload benchmark in a full bench.
const WORKLOAD_RUNS: usize = 5;

/// The workload benchmark in [`WORKLOAD_RUNS`] fresh processes (one with
/// `quick`), the run of median speed kept, with every run's speed beside
/// it. One run is a sixth of a second: on this machine, whose speed swings
/// within a session, single runs minutes apart measured 353x to 504x, and a
/// median is what the house quotes (`farm-bench`). The explore benchmark
/// needs no such care: its figures are 200 seeds' worth each.
fn workload_median(quick: bool) -> Result<Value, String> {
    let runs = if quick { 1 } else { WORKLOAD_RUNS };
    let mut all = (0..runs).map(|_| in_child("workload", quick)).collect::<Result<Vec<Value>, String>>()?;
    let speed = |v: &Value| v["virtual_per_wall"].as_f64().unwrap_or(0.0);
    all.sort_by(|a, b| speed(a).total_cmp(&speed(b)));
    let speeds: Vec<f64> = all.iter().map(speed).collect();
    let mut median = all.swap_remove(runs / 2);
    if runs > 1 {
        println!(
            "workload-cluster: median of {runs} fresh processes {:.0}x real time (runs {})",
            speed(&median),
            speeds.iter().map(|s| format!("{s:.0}x")).collect::<Vec<_>>().join(", ")
        );
    }
    median["runs"] = json!(runs);
    median["virtual_per_wall_runs"] = json!(speeds);
    Ok(median)
}

fn kernel(quick: bool) -> Result<Value, String> {
    let (processes, secs, idle) = if quick { (100, 10, 2_000) } else { (1000, 60, 20_000) };
    // Warm up allocator and caches, and check determinism while at it.
    let warm_a = ping_ring(50, 2);
    let warm_b = ping_ring(50, 2);
    if warm_a.trace_hash != warm_b.trace_hash {
        return Err(format!("nondeterminism: {} vs {}", warm_a.trace_hash, warm_b.trace_hash));
    }
    let r = ping_ring(processes, secs);
    let events_per_sec = r.events as f64 / r.wall_secs;
    let speedup = r.virtual_secs / r.wall_secs;
    println!(
        "ping-ring: {processes} processes, {secs} virtual s: {} events in {:.3} s wall = {:.2} M events/s, {:.0}x real time (budget >= 5 M events/s)",
        r.events,
        r.wall_secs,
        events_per_sec / 1e6,
        speedup
    );
    let per_process = idle_memory(idle)?;
    println!("idle-memory: {idle} idle processes: {:.1} KiB each (budget <= 64 KiB)", per_process / 1024.0);
    Ok(json!({
        "ping_ring": {
            "processes": processes,
            "virtual_secs": secs,
            "events": r.events,
            "wall_secs": r.wall_secs,
            "events_per_sec": events_per_sec.round(),
            "virtual_per_wall": speedup.round(),
            "trace_hash": r.trace_hash,
        },
        "idle_memory": { "processes": idle, "bytes_per_process": per_process.round() },
    }))
}

/// Master commands per wall second the replication benchmark must reach on one core.
const REDIS_COMMANDS_PER_SEC_MIN: u64 = 1_000_000;

/// The replication benchmark's load: a couple of connections, each pipelining
/// SETs and INCRs 8 at a time (`redis-benchmark -c 2 -P 8`), over a keyspace of
/// 1,000 keys and 1,000 counters, about 160k commands per virtual second.
const REDIS_LOAD: bench_redis::Load =
    bench_redis::Load { connections: 2, pipeline: 8, keys: 1_000, counters: 1_000, set_percent: 80 };

/// The same load over 1,000,000 keys, under the same budget (#24): the
/// keyspace finds a key by its hash whatever its size, so what grows with the
/// keyspace is the cache misses of reaching a key and its value, not the
/// number of keys compared. The writer fills the keyspace first (every key
/// SET once, in order, timed and reported apart), so the measured window
/// runs with the 1,000,000 keys there.
const REDIS_LOAD_LARGE: bench_redis::Load = bench_redis::Load { keys: 1_000_000, ..REDIS_LOAD };

fn redis(quick: bool) -> Result<Value, String> {
    let (secs, large_secs, mixed_secs) = if quick { (10, 5, 1) } else { (600, 60, 10) };
    // Warm up, and check determinism while at it.
    let warm_a = bench_redis::replication(REDIS_LOAD, 1, 7)?;
    let warm_b = bench_redis::replication(REDIS_LOAD, 1, 7)?;
    if warm_a.trace_hash != warm_b.trace_hash {
        return Err(format!("redis nondeterminism: {} vs {}", warm_a.trace_hash, warm_b.trace_hash));
    }
    let budget = " (budget >= 1 M commands/s)";
    Ok(json!({
        "replication": replication("redis-replication", REDIS_LOAD, secs, budget)?,
        "replication_large_keyspace": replication("redis-replication-1m-keys", REDIS_LOAD_LARGE, large_secs, budget)?,
        "mixed": mixed(mixed_secs)?,
    }))
}

/// The mixed workload: each family alone, then all of them interleaved.
fn mixed(secs: u64) -> Result<Value, String> {
    use bench_redis_mixed::{FAMILIES, run};
    let mut families = serde_json::Map::new();
    for family in FAMILIES {
        let (r, _) = run(&[family], secs, 1)?;
        let per_sec = r.master_commands as f64 / r.wall_secs;
        println!(
            "redis-mixed {}: {secs} virtual s: {} master commands in {:.3} s wall = {:.2} M commands/s",
            family.name(),
            r.master_commands,
            r.wall_secs,
            per_sec / 1e6
        );
        families.insert(family.name().into(), mixed_record(&r, per_sec));
    }
    let (r, sent) = run(&FAMILIES, secs, 1)?;
    let per_sec = r.master_commands as f64 / r.wall_secs;
    println!(
        "redis-mixed all {} families interleaved: {secs} virtual s: {} master commands in {:.3} s wall = {:.2} M commands/s; {} keys",
        FAMILIES.len(),
        r.master_commands,
        r.wall_secs,
        per_sec / 1e6,
        r.keys
    );
    let mut all = mixed_record(&r, per_sec);
    all["commands_sent_per_family"] = FAMILIES.iter().zip(sent).map(|(f, n)| (f.name().to_owned(), json!(n))).collect();
    Ok(json!({ "connections": 2, "pipeline": 8, "replicas": 2, "families": families, "all": all }))
}

fn mixed_record(r: &bench_redis::Outcome, per_sec: f64) -> Value {
    json!({
        "virtual_secs": r.virtual_secs,
        "wall_secs": r.wall_secs,
        "master_commands": r.master_commands,
        "commands_per_sec": per_sec.round(),
        "events": r.events,
        "db0_keys": r.keys,
        "repl_offset": r.repl_offset,
        "trace_hash": r.trace_hash,
    })
}

/// `bench-redis-child KEYS SECS`: one replication run of the benchmark's load
/// over `keys` keys, printed, not recorded (for profiling and for comparing
/// binaries side by side).
pub fn redis_child(keys: u64, secs: u64) -> Result<(), String> {
    let load = bench_redis::Load { keys, ..REDIS_LOAD };
    let r = replication("redis-replication-child", load, secs, "")?;
    println!("trace hash {}", r["trace_hash"].as_str().unwrap_or("?"));
    Ok(())
}

/// `bench-redis-mixed-child FAMILY SECS`: one run of the mixed workload's
/// `family` (or `all` of them interleaved), printed, not recorded.
pub fn redis_mixed_child(family: &str, secs: u64) -> Result<(), String> {
    use bench_redis_mixed::FAMILIES;
    let families = match FAMILIES.iter().find(|f| f.name() == family) {
        Some(&f) => vec![f],
        None if family == "all" => FAMILIES.to_vec(),
        None => return Err(format!("no family {family}: one of {}, or all", FAMILIES.map(|f| f.name()).join(", "))),
    };
    let (r, _) = bench_redis_mixed::run(&families, secs, 1)?;
    println!(
        "redis-mixed {family}: {secs} virtual s: {} master commands in {:.3} s wall = {:.2} M commands/s; trace hash {}",
        r.master_commands,
        r.wall_secs,
        r.master_commands as f64 / r.wall_secs / 1e6,
        r.trace_hash
    );
    Ok(())
}

/// One measured replication run, printed and as its JSON record.
fn replication(label: &str, load: bench_redis::Load, secs: u64, budget: &str) -> Result<Value, String> {
    let r = bench_redis::replication(load, secs, 1)?;
    let commands_per_sec = r.master_commands as f64 / r.wall_secs;
    let events_per_sec = r.events as f64 / r.wall_secs;
    let speedup = r.virtual_secs as f64 / r.wall_secs;
    println!(
        "{label}: 1 master + 2 replicas, {} conns x pipeline {}, {} keys + {} counters, {secs} virtual s: {} master commands, {} events in {:.3} s wall = {:.2} M commands/s{budget}, {:.2} M events/s, {:.2} virtual s per wall s; replicas at offset {} with {} keys",
        load.connections,
        load.pipeline,
        load.keys,
        load.counters,
        r.master_commands,
        r.events,
        r.wall_secs,
        commands_per_sec / 1e6,
        events_per_sec / 1e6,
        speedup,
        r.repl_offset,
        r.keys
    );
    let fill_per_sec = r.fill.master_commands as f64 / r.fill.wall_secs.max(1e-9);
    println!(
        "{label}: before it, the fill of the {} keys: {} master commands in {:.1} virtual s, {:.3} s wall = {:.2} M commands/s",
        load.keys,
        r.fill.master_commands,
        r.fill.virtual_secs,
        r.fill.wall_secs,
        fill_per_sec / 1e6
    );
    Ok(json!({
        "replicas": 2,
        "fill": {
            "master_commands": r.fill.master_commands,
            "virtual_secs": r.fill.virtual_secs,
            "wall_secs": r.fill.wall_secs,
            "commands_per_sec": fill_per_sec.round(),
        },
        "connections": load.connections,
        "pipeline": load.pipeline,
        "keys": load.keys,
        "counters": load.counters,
        "set_percent": load.set_percent,
        "virtual_secs": secs,
        "wall_secs": r.wall_secs,
        "master_commands": r.master_commands,
        "commands_sent": r.sent,
        "events": r.events,
        "commands_per_sec": commands_per_sec.round(),
        "events_per_sec": events_per_sec.round(),
        "virtual_per_wall": (speedup * 1000.0).round() / 1000.0,
        "repl_offset": r.repl_offset,
        "db0_keys": r.keys,
        "trace_hash": r.trace_hash,
    }))
}

fn cluster(quick: bool) -> Result<Value, String> {
    // --quick (CI) runs 300 nodes too, about 2 s: its trace hash is pinned.
    let (c3_runs, sizes): (usize, &[usize]) = if quick { (3, &[6, 60, 300]) } else { (50, &[6, 60, 300, 1000]) };
    Ok(json!({
        "c3": bench_cluster::c3(c3_runs)?,
        "failover": bench_cluster::failover(sizes)?,
        "reports_300": bench_cluster::reports(300)?,
    }))
}

fn append(entry: Value) -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    let path = root.join("reports/bench.json");
    let mut all: Vec<Value> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => Vec::new(),
    };
    all.push(entry);
    std::fs::create_dir_all(root.join("reports")).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!("appended to {}", path.display());
    Ok(())
}

/// Replicated INSERT statements per wall second the MySQL benchmark must reach on one core.
const MYSQL_STATEMENTS_PER_SEC_MIN: u64 = 200_000;

fn mysql(quick: bool) -> Result<Value, String> {
    let secs = if quick { 10 } else { 60 };
    // Warm up, and check determinism while at it.
    let warm_a = bench_mysql::replication(1, 7)?;
    let warm_b = bench_mysql::replication(1, 7)?;
    if warm_a.trace_hash != warm_b.trace_hash {
        return Err(format!("mysql nondeterminism: {} vs {}", warm_a.trace_hash, warm_b.trace_hash));
    }
    let r = bench_mysql::replication(secs, 1)?;
    let per_sec = r.statements as f64 / r.wall_secs;
    let speedup = r.virtual_secs as f64 / r.wall_secs;
    println!(
        "mysql-replication: MySQL 5.7 master + 1 replica, binlog_format=row, {}-row transactions, {secs} virtual s: {} INSERTs in {} transactions, {} events in {:.3} s wall = {:.0} replicated statements/s (budget >= {MYSQL_STATEMENTS_PER_SEC_MIN}), {:.2} virtual s per wall s; replica at the master's position {}",
        bench_mysql::ROWS_PER_TXN,
        r.statements,
        r.transactions,
        r.events,
        r.wall_secs,
        per_sec,
        speedup,
        r.position
    );
    Ok(json!({
        "replication": {
            "flavor": "mysql-5.7",
            "replicas": 1,
            "binlog_format": "row",
            "rows_per_transaction": bench_mysql::ROWS_PER_TXN,
            "virtual_secs": secs,
            "statements": r.statements,
            "transactions": r.transactions,
            "events": r.events,
            "wall_secs": r.wall_secs,
            "statements_per_sec": per_sec.round(),
            "virtual_per_wall": (speedup * 100.0).round() / 100.0,
            "binlog_position": r.position,
            "trace_hash": r.trace_hash,
        }
    }))
}
