//! Redis Cluster benchmarks.
//!
//! `cluster-c3`: the shipped scenario `scenarios/cluster-c3-failover-and-return.yaml`
//! (six nodes, default `cluster-node-timeout 15000`: the master of the first
//! shard is stopped, its replica is promoted, the old master comes back as a
//! replica, then the roles are swapped back), run through the scenario runner
//! as `chaoslab run` does, trace recording included. Measured as virtual time
//! per wall time over several runs; every run must pass and end with the
//! replica's election logged and every node's `cluster_state` ok.
//!
//! `cluster-failover-N`: N nodes, N/2 masters with the slots split evenly and
//! one replica each, each node on its own host. The cluster is formed the way
//! a restarted cluster is: each node finds its nodes.conf on its disk (every
//! node known, roles, slots, epochs), so there is no MEET/handshake phase;
//! links, the first PINGs and the replicas' full syncs happen in the run. The
//! nodes start within the first 100 ms, one after the other. The wall time of
//! the first virtual second is reported apart: as in a real restart, every
//! node opens a link to every other and each new link carries a PING and its
//! PONG, N² messages of N/10 gossip entries each within that second.
//! After 10 virtual s the first master is killed; the run lasts 60 virtual s.
//! The first master's replica must own its slots in every live node's view.
//! Each size runs in a child process (`xtask bench-cluster-child N`) so that its
//! peak RSS (`VmHWM`) is its own. The bus messages counted are those the nodes
//! alive at the end received (the killed master's are lost with it).
//! Each size's trace hash must be the one pinned in `reports/trace-pins.json`
//! (a change of behaviour fails the benchmark); `CHAOSLAB_BLESS=1` rewrites
//! the pins after a deliberate change.

use redis::server::Server;
use serde_json::{Value, json};
use sim::{Ctx, Fault, Input, Instant, Process, Sim, SimConfig};
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

const C3_SCENARIO: &str = "scenarios/cluster-c3-failover-and-return.yaml";
const PORT: u16 = 6379;
pub const RUN_SECS: u64 = 60;
const KILL_AT_SECS: u64 = 10;
const START_SPREAD: Duration = Duration::from_millis(100);

fn workspace_root() -> Result<std::path::PathBuf, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    Ok(root.to_path_buf())
}

/// One run of the C3 scenario.
struct C3Run {
    virtual_ns: u64,
    wall_secs: f64,
    /// Writing every report file of the run.
    reports_secs: f64,
    events: u64,
    trace_hash: String,
}

fn c3_once(source: &str, file: &str) -> Result<C3Run, String> {
    let mut registry = scenario::Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    let parsed = crate::reports::parse_shipped(file, source, &registry)?;
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let (report, sim) = scenario::run(parsed, None, &registry, String::new());
    let wall_secs = wall.elapsed().as_secs_f64();
    if let Some(failure) = report.failure {
        return Err(format!("cluster-c3: the scenario failed: {failure}"));
    }
    let promoted = sim.proc_by_name("6384").ok_or("cluster-c3: no node 6384")?;
    if !sim.log_lines(promoted).iter().any(|l| l.ends_with("Failover election won: I'm the new master.")) {
        return Err("cluster-c3: 6384 never won an election".into());
    }
    for port in 6381..=6386 {
        let p = sim.proc_by_name(&port.to_string()).ok_or_else(|| format!("cluster-c3: no node {port}"))?;
        let state = sim.process::<Server>(p).and_then(Server::cluster_view).map(|c| c.summary().state_ok);
        if state != Some(true) {
            return Err(format!("cluster-c3: node {port} ends with cluster_state {state:?}"));
        }
    }
    // Everything `chaoslab run` writes: report.json, trace.jsonl, logs,
    // timeline.json and the documents (report.html, summary.md, junit.xml).
    let dir = workspace_root()?.join("target/bench-reports/c3");
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    report::prepare_dir(&dir).map_err(|e| e.to_string())?;
    report::write_run(&dir, &report, &sim).map_err(|e| e.to_string())?;
    report::write_documents(&dir, &report, report::Documents::ALL).map_err(|e| e.to_string())?;
    let reports_secs = wall.elapsed().as_secs_f64();
    Ok(C3Run {
        virtual_ns: report.virtual_time_ns,
        wall_secs,
        reports_secs,
        events: report.events_processed,
        trace_hash: report.trace_hash,
    })
}

/// Runs C3 `runs` times; the ratio is total virtual over total wall time.
pub fn c3(runs: usize) -> Result<Value, String> {
    let path = workspace_root()?.join(C3_SCENARIO);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let warm = c3_once(&source, C3_SCENARIO)?;
    let (mut virtual_ns, mut wall_secs, mut reports_secs) = (0u64, 0f64, 0f64);
    let mut best = f64::MAX;
    for _ in 0..runs {
        let r = c3_once(&source, C3_SCENARIO)?;
        if r.trace_hash != warm.trace_hash {
            return Err(format!("cluster-c3 nondeterminism: {} vs {}", r.trace_hash, warm.trace_hash));
        }
        virtual_ns += r.virtual_ns;
        wall_secs += r.wall_secs;
        reports_secs += r.reports_secs;
        best = best.min(r.wall_secs);
    }
    let ratio = virtual_ns as f64 / 1e9 / wall_secs;
    println!(
        "cluster-c3: {C3_SCENARIO}, {:.3} virtual s, {} events, x{runs} runs: {:.2} ms wall each (best {:.2} ms) = {:.0}x real time (budget >= 5000x)",
        warm.virtual_ns as f64 / 1e9,
        warm.events,
        wall_secs * 1e3 / runs as f64,
        best * 1e3,
        ratio
    );
    let reports_ms = reports_secs * 1e3 / runs as f64;
    println!(
        "cluster-c3 reports: every file chaoslab run writes (json, trace, logs, timeline, html, md, junit) in {reports_ms:.1} ms wall each, {:.2}x the run itself (budgets <= 50 ms, <= 1x: a run with its outputs within 2x of one without)",
        reports_secs / wall_secs
    );
    Ok(json!({
        "reports_ms_mean": reports_ms,
        "scenario": C3_SCENARIO,
        "runs": runs,
        "virtual_secs": warm.virtual_ns as f64 / 1e9,
        "events": warm.events,
        "wall_secs_mean": wall_secs / runs as f64,
        "wall_secs_best": best,
        "virtual_per_wall": ratio.round(),
        "trace_hash": warm.trace_hash,
    }))
}

/// The planned cluster: who is who, before anything runs.
struct Layout {
    names: Vec<String>,
    masters: usize,
    /// Each node's nodes.conf line, split where `myself,` goes in the one
    /// node that is itself: every node's file is the same lines but for that
    /// word, so they are formatted once rather than once per node (a million
    /// lines at 1,000 nodes, a quarter of a second of the first wall second).
    lines: Vec<(String, String)>,
}

impl Layout {
    fn new(nodes: usize) -> Layout {
        // splitmix64: fixed, well-spread 40-hex names, as random node ids are.
        let mut state = 0x005e_edc1_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let names =
            (0..nodes).map(|_| format!("{:016x}{:016x}{:016x}", next(), next(), next())[..40].to_owned()).collect();
        let mut layout = Layout { names, masters: nodes / 2, lines: Vec::new() };
        layout.lines = (0..nodes).map(|i| layout.line(i)).collect();
        layout
    }

    fn ip(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 1) as u8)
    }

    /// Slots of master `m`: an even split, as `redis-cli --cluster create` makes it.
    fn slots(&self, m: usize) -> (usize, usize) {
        let per = 16384 / self.masters;
        let extra = 16384 % self.masters;
        let first = m * per + m.min(extra);
        (first, first + per + usize::from(m < extra) - 1)
    }

    /// nodes.conf as node `me` would have saved it with the cluster formed:
    /// no ping pending, and a last PONG from every node (Redis writes the
    /// times; loading one that is not 0 takes it as "now", so a restarted
    /// node does not ping every peer a second time from its first cron tick
    /// while the link's own first PING is under way).
    fn nodes_conf(&self, me: usize) -> String {
        let mut text = String::with_capacity(self.lines.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>() + 64);
        for (i, (before, after)) in self.lines.iter().enumerate() {
            text.push_str(before);
            if i == me {
                text.push_str("myself,");
            }
            text.push_str(after);
        }
        text.push_str(&format!("vars currentEpoch {} lastVoteEpoch 0\n", self.masters));
        text
    }

    /// Node `i`'s line of nodes.conf, split where its flags begin.
    fn line(&self, i: usize) -> (String, String) {
        // The ms time of the last PONG, as a formed cluster's save holds it.
        const PONG: u64 = 1_795_253_874_000;
        let (name, ip, bus) = (&self.names[i], Layout::ip(i), PORT + 10000);
        let before = format!("{name} {ip}:{PORT}@{bus} ");
        let after = if i < self.masters {
            let (a, b) = self.slots(i);
            format!("master - 0 {PONG} {} connected {a}-{b}\n", i + 1)
        } else {
            let m = i - self.masters;
            format!("slave {} 0 {PONG} {} connected\n", self.names[m], m + 1)
        };
        (before, after)
    }
}

const CONF_FILE: &str = "nodes.conf";

/// A Redis node whose disk holds the formed cluster's nodes.conf before its first start.
struct Preloaded {
    layout: Rc<Layout>,
    me: usize,
    server: Server,
}

impl Process for Preloaded {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        if let Input::Start = input
            && !ctx.disk().exists(CONF_FILE)
        {
            let text = self.layout.nodes_conf(self.me);
            let disk = ctx.disk();
            disk.write(CONF_FILE, text.as_bytes());
            disk.fsync(CONF_FILE);
        }
        self.server.handle(ctx, input);
    }
}

/// What one N-node run measured.
struct FailoverRun {
    wall_secs: f64,
    /// Wall time of the first virtual second: every node links to every
    /// other and each new link carries a PING and its PONG (N² messages).
    first_second_wall_secs: f64,
    first_second_bus_messages: u64,
    events: u64,
    /// Bus messages the nodes alive at the end received.
    bus_messages: u64,
    /// The most events at one virtual instant (the kernel stops past
    /// [`sim::SimConfig::max_events_per_instant`]).
    busiest_instant_events: u64,
    trace_hash: String,
}

/// Bus messages the running ones of `procs` have received so far.
fn bus_messages_received(sim: &Sim, procs: &[sim::ProcId]) -> u64 {
    let views = procs.iter().filter_map(|&p| sim.process::<Preloaded>(p)?.server.cluster_view());
    views.map(|c| c.summary().bus_messages_received).sum()
}

/// The N-node failover world before it starts; `record` keeps the trace's
/// records (and the observations) as `chaoslab run` does.
fn failover_sim(nodes: usize, seed: u64, record: bool) -> Result<(Sim, Vec<sim::ProcId>, Rc<Layout>), String> {
    let layout = Rc::new(Layout::new(nodes));
    let mut sim = Sim::new(SimConfig { seed, record_trace: record, ..SimConfig::default() });
    let conf = format!("port {PORT}\ncluster-enabled yes\ncluster-config-file {CONF_FILE}\n");
    let config = redis::config::parse(&conf, PORT).map_err(|e| format!("bench config: {e:?}"))?;
    let mut procs = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let host = sim.add_host(&format!("h{i}"), Layout::ip(i));
        let (layout, config) = (Rc::clone(&layout), config.clone());
        let factory: sim::Factory = Box::new(move || {
            Box::new(Preloaded { layout: Rc::clone(&layout), me: i, server: Server::new(config.clone()) })
        });
        procs.push(sim.add_process(host, &format!("n{i}"), factory));
    }
    Ok((sim, procs, layout))
}

fn failover_run(nodes: usize, seed: u64, run_secs: u64) -> Result<FailoverRun, String> {
    let (mut sim, procs, layout) = failover_sim(nodes, seed, false)?;
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    // Started together as a script starts them, spread over one cron period
    // rather than all in the same nanosecond: every node's first burst of N
    // PINGs would otherwise be in flight at once.
    for (i, &p) in procs.iter().enumerate() {
        sim.schedule(Instant::ZERO + START_SPREAD * i as u32 / nodes as u32, Fault::Start(p));
    }
    sim.run_until(Instant::ZERO + Duration::from_secs(1));
    let first_second_wall_secs = wall.elapsed().as_secs_f64();
    let first_second_bus_messages = bus_messages_received(&sim, &procs);
    sim.run_until(Instant::ZERO + Duration::from_secs(KILL_AT_SECS));
    sim.apply(Fault::Kill(procs[0])).map_err(|e| e.to_string())?;
    sim.run_until(Instant::ZERO + Duration::from_secs(run_secs));
    let wall_secs = wall.elapsed().as_secs_f64();
    if let Some(bug) = sim.bug() {
        return Err(format!("cluster-failover-{nodes}: {bug}"));
    }

    let bus_messages = bus_messages_received(&sim, &procs[1..]);
    let replica = &layout.names[layout.masters];
    let (first_slot, last_slot) = layout.slots(0);
    // A shortened profiling run may end before the failover.
    let checked = if run_secs >= RUN_SECS { &procs[1..] } else { &[] };
    for &p in checked {
        let s = sim.process::<Preloaded>(p).ok_or_else(|| format!("node {} is down", sim.proc_name(p)))?;
        for slot in [first_slot, last_slot] {
            let owner = s.server.cluster_view().and_then(|c| c.slot_owner(slot)).map(|o| o.id);
            if owner.as_deref() != Some(replica.as_str()) {
                return Err(format!(
                    "cluster-failover-{nodes}: node {} sees slot {slot} owned by {owner:?}, not by the promoted replica {replica}",
                    sim.proc_name(p)
                ));
            }
        }
    }
    Ok(FailoverRun {
        wall_secs,
        first_second_wall_secs,
        first_second_bus_messages,
        events: sim.events_processed(),
        bus_messages,
        busiest_instant_events: sim.busiest_instant().1,
        trace_hash: sim.trace().hash_hex(),
    })
}

/// `bench-cluster-child N --reports`: the N-node failover recorded as
/// `chaoslab run` records it, then every report file written; prints the
/// wall time of each part as one JSON line.
pub fn reports_child(nodes: usize) -> Result<(), String> {
    let (mut sim, procs, _) = failover_sim(nodes, 1, true)?;
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    for (i, &p) in procs.iter().enumerate() {
        sim.schedule(Instant::ZERO + START_SPREAD * i as u32 / nodes as u32, Fault::Start(p));
    }
    sim.run_until(Instant::ZERO + Duration::from_secs(KILL_AT_SECS));
    sim.apply(Fault::Kill(procs[0])).map_err(|e| e.to_string())?;
    sim.run_until(Instant::ZERO + Duration::from_secs(RUN_SECS));
    let run_secs = wall.elapsed().as_secs_f64();
    let report = failover_report(&sim, &procs);
    let dir = workspace_root()?.join(format!("target/bench-reports/failover-{nodes}"));
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    report::prepare_dir(&dir).map_err(|e| e.to_string())?;
    report::write_run(&dir, &report, &sim).map_err(|e| e.to_string())?;
    let files_secs = wall.elapsed().as_secs_f64();
    report::write_documents(&dir, &report, report::Documents::ALL).map_err(|e| e.to_string())?;
    let all_secs = wall.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"run_secs": run_secs, "reports_secs": all_secs, "files_secs": files_secs, "trace_records": sim.trace().records().len()})
    );
    Ok(())
}

/// A report for the benchmark's run, as the runner would fill it.
fn failover_report(sim: &Sim, procs: &[sim::ProcId]) -> report::RunReport {
    let nodes = procs
        .iter()
        .map(|&p| {
            let id = sim.process::<Preloaded>(p).and_then(|n| n.server.cluster_view()).map(|c| c.my_id());
            report::NodeReport {
                name: sim.proc_name(p).to_owned(),
                kind: "redis".to_owned(),
                host: sim.host_name(sim.host_of(p)).to_owned(),
                address: format!("{}:{PORT}", sim.host_ip(sim.host_of(p))),
                state: format!("{:?}", sim.proc_state(p)).to_lowercase(),
                starts: sim.incarnation(p),
                log_lines: sim.log_lines(p).len(),
                detail: json!({"cluster": {"id": id}}),
            }
        })
        .collect();
    report::RunReport {
        format: report::FORMAT_VERSION,
        chaoslab_version: String::new(),
        scenario: report::ScenarioInfo {
            name: format!("cluster-failover-{}", procs.len()),
            file: String::new(),
            description: "The benchmark's failover: master 0 killed at 10 s.".to_owned(),
            source_hash: String::new(),
        },
        seed: 1,
        result: report::Verdict::Pass,
        failure: None,
        failure_kind: None,
        steps: Vec::new(),
        captures: Default::default(),
        clients: Vec::new(),
        history: None,
        history_jsonl: report::HistoryText::default(),
        checks: Vec::new(),
        violations: report::Violations::default(),
        nemesis: Vec::new(),
        nodes,
        fault_errors: Vec::new(),
        events_processed: sim.events_processed(),
        virtual_time_ns: sim.now().as_nanos(),
        virtual_time: report::seconds(sim.now().as_nanos()),
        wall_time_ms: 0.0,
        trace_events: sim.trace().len(),
        trace_hash: sim.trace().hash_hex(),
        reproduce: String::new(),
    }
}

/// The child's side: one size, printed as one JSON line.
pub fn child(nodes: usize, run_secs: u64) -> Result<(), String> {
    let r = failover_run(nodes, 1, run_secs)?;
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    let kib = |field: &str| -> Option<u64> {
        status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
    };
    let hwm = kib("VmHWM:").ok_or("no VmHWM in /proc/self/status")?;
    println!(
        "{}",
        json!({"wall_secs": r.wall_secs, "first_second_wall_secs": r.first_second_wall_secs, "first_second_bus_messages": r.first_second_bus_messages, "events": r.events, "bus_messages": r.bus_messages, "busiest_instant_events": r.busiest_instant_events, "trace_hash": r.trace_hash, "peak_rss_bytes": hwm * 1024})
    );
    Ok(())
}

/// Every report file of a recorded N-node failover, in a child process.
pub fn reports(nodes: usize) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["bench-cluster-child", &nodes.to_string(), "--reports"])
        .output()
        .map_err(|e| format!("starting the reports child for {nodes} nodes: {e}"))?;
    if !out.status.success() {
        return Err(format!("cluster-failover-{nodes} reports: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(line.trim()).map_err(|e| format!("reports child output {line:?}: {e}"))?;
    println!(
        "cluster-failover-{nodes} reports: recorded run {:.2} s, then every file (json, {} trace records, logs, timeline, html, md, junit) in {:.2} s wall (budget <= 2 s)",
        r["run_secs"].as_f64().unwrap_or(0.0),
        r["trace_records"],
        r["reports_secs"].as_f64().unwrap_or(0.0)
    );
    Ok(r)
}

fn run_child(nodes: usize) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["bench-cluster-child", &nodes.to_string()])
        .output()
        .map_err(|e| format!("starting the child for {nodes} nodes: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cluster-failover-{nodes}: child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).map_err(|e| format!("cluster-failover-{nodes}: child output {line:?}: {e}"))
}

/// Virtual seconds per wall second the C3 scenario must reach.
pub const C3_VIRTUAL_PER_WALL_MIN: u64 = 5000;

/// Peak RSS a 1,000-node run may reach, and the wall time it may take.
pub const PEAK_RSS_MAX: u64 = 2 << 30;
pub const WALL_SECS_MAX_1000: u64 = 60;

/// The pinned trace hashes of the failover runs, relative to the workspace root.
const PINS: &str = "reports/trace-pins.json";

/// The pin file's key for an N-node failover run.
fn pin_key(nodes: usize) -> String {
    format!("cluster-failover-{nodes}")
}

/// Each run's trace hash against its pin: one line per run whose hash
/// differs or that has no pin. Sizes that did not run are not judged.
fn compare_pins(pins: &serde_json::Map<String, Value>, hashes: &[(usize, String)]) -> Vec<String> {
    hashes
        .iter()
        .filter_map(|(nodes, hash)| match pins.get(&pin_key(*nodes)).and_then(Value::as_str) {
            Some(pin) if pin == hash => None,
            Some(pin) => Some(format!("{}: trace hash {hash}, pinned {pin}", pin_key(*nodes))),
            None => Some(format!("{}: trace hash {hash}, not pinned", pin_key(*nodes))),
        })
        .collect()
}

/// Checks the runs' hashes against [`PINS`], or, under `CHAOSLAB_BLESS=1`,
/// writes them there (keeping the pins of sizes that did not run).
fn check_pins(hashes: &[(usize, String)]) -> Result<(), String> {
    let path = workspace_root()?.join(PINS);
    let mut pins: serde_json::Map<String, Value> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{PINS}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(format!("{PINS}: {e}")),
    };
    if std::env::var_os("CHAOSLAB_BLESS").is_some_and(|v| v == "1") {
        for (nodes, hash) in hashes {
            pins.insert(pin_key(*nodes), json!(hash));
        }
        pins.sort_keys();
        let text = serde_json::to_string_pretty(&pins).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{PINS}: {e}"))?;
        println!("CHAOSLAB_BLESS=1: wrote the failover runs' trace hashes to {PINS}");
        return Ok(());
    }
    let problems = compare_pins(&pins, hashes);
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the cluster failover runs' traces differ from {PINS}, so behaviour changed:\n  {}\n\
         If the change is deliberate, refresh the pins with\n  \
         CHAOSLAB_BLESS=1 cargo xtask bench --only cluster [--quick]\n\
         (--quick runs 6, 60 and 300 nodes; without it 1,000 too) and say in the commit why the traces moved.",
        problems.join("\n  ")
    ))
}

pub fn failover(sizes: &[usize]) -> Result<Value, String> {
    let mut runs = Vec::new();
    let mut hashes = Vec::new();
    let mut previous: Option<(usize, f64)> = None;
    for &nodes in sizes {
        let r = run_child(nodes)?;
        let busiest = r["busiest_instant_events"].as_u64().unwrap_or(0);
        hashes.push((nodes, r["trace_hash"].as_str().unwrap_or_default().to_owned()));
        let wall = r["wall_secs"].as_f64().ok_or("child: no wall_secs")?;
        let first = r["first_second_wall_secs"].as_f64().unwrap_or(0.0);
        let first_messages = r["first_second_bus_messages"].as_u64().unwrap_or(0);
        let events = r["events"].as_u64().unwrap_or(0);
        let messages = r["bus_messages"].as_u64().unwrap_or(0);
        let rss = r["peak_rss_bytes"].as_u64().unwrap_or(0);
        let growth =
            previous.map(|(n, w)| format!(", x{:.1} wall for x{:.1} nodes", wall / w, nodes as f64 / n as f64));
        let budget = if nodes == 1000 { " (budget <= 60 s, <= 2 GiB)" } else { "" };
        println!(
            "cluster-failover-{nodes}: {} masters + {} replicas, {RUN_SECS} virtual s, master 0 killed at {KILL_AT_SECS} s, its replica owns its slots everywhere: {wall:.3} s wall = {:.2} virtual s per wall s (first virtual second, every link's first PING and PONG: {first:.3} s for {first_messages} bus messages; the other {} s: {:.3} s), {events} events ({:.2} M events/s), {messages} bus messages ({:.1} us wall each), peak RSS {:.1} MiB{budget}, at most {busiest} events at one virtual instant, trace {}{}",
            nodes / 2,
            nodes / 2,
            RUN_SECS as f64 / wall,
            RUN_SECS - 1,
            wall - first,
            events as f64 / wall / 1e6,
            wall * 1e6 / messages.max(1) as f64,
            rss as f64 / (1 << 20) as f64,
            r["trace_hash"].as_str().unwrap_or_default(),
            growth.unwrap_or_default()
        );
        previous = Some((nodes, wall));
        runs.push(json!({
            "nodes": nodes,
            "masters": nodes / 2,
            "virtual_secs": RUN_SECS,
            "kill_at_secs": KILL_AT_SECS,
            "wall_secs": wall,
            "first_second_wall_secs": first,
            "first_second_bus_messages": first_messages,
            "virtual_per_wall": (RUN_SECS as f64 / wall * 1000.0).round() / 1000.0,
            "events": events,
            "events_per_sec": (events as f64 / wall).round(),
            "bus_messages": messages,
            "peak_rss_bytes": rss,
            "busiest_instant_events": busiest,
            "trace_hash": r["trace_hash"],
        }));
    }
    check_pins(&hashes)?;
    Ok(Value::Array(runs))
}

#[cfg(test)]
mod tests {
    use super::compare_pins;
    use serde_json::json;

    #[test]
    fn a_failover_run_whose_hash_moved_or_has_no_pin_fails_the_pin_check() {
        let pins = json!({"cluster-failover-6": "aaaa", "cluster-failover-300": "27325fc130e345ec"});
        let pins = pins.as_object().unwrap();
        let ok = [(300, "27325fc130e345ec".to_owned())];
        assert!(compare_pins(pins, &ok).is_empty());
        let moved = [(6, "bbbb".to_owned()), (300, "27325fc130e345ec".to_owned()), (60, "cccc".to_owned())];
        assert_eq!(
            compare_pins(pins, &moved),
            ["cluster-failover-6: trace hash bbbb, pinned aaaa", "cluster-failover-60: trace hash cccc, not pinned"]
        );
    }
}
