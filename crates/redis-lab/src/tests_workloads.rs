//! `workloads:` end to end: bad input is a located diagnostic with a hint;
//! a workload against one node writes a history the checkers judge, with
//! `info` for what a killed master never answered; the same seed gives the
//! same history byte for byte.

use scenario::Registry;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(crate::RedisKind));
    registry.register_workloads(Box::new(crate::workloads::RedisWorkloads));
    registry
}

/// A scenario with one Redis node on host `a`, a client host `b`, workload
/// `w` given by `workload` (keys indented by 4) and `steps` (list items).
fn scenario(workload: &str, steps: &str) -> String {
    format!(
        "name: t
topology:
  hosts: [{{name: a, ip: 10.0.0.1}}, {{name: b, ip: 10.0.0.2}}]
  nodes:
    - {{kind: redis, host: a, port: 6379}}
workloads:
  w:
{workload}steps:
{steps}"
    )
}

const GOOD: &str = "    client: redis\n    node: \"6379\"\n";

/// The rendered diagnostics of a scenario that must not parse.
fn error(source: &str) -> String {
    match scenario::parse_scenario("s.yaml", source, &registry()) {
        Ok(_) => panic!("parsed:\n{source}"),
        Err(d) => d.render("s.yaml", source),
    }
}

#[test]
fn bad_workloads_are_located_with_a_hint() {
    let step = "  - sleep: 1s\n";
    let cases = [
        (
            "    client: redis-py\n    node: \"6379\"\n",
            "s.yaml:8:13",
            "unknown client `redis-py`",
            "client kinds: redis, cluster, sentinel",
        ),
        ("    client: redis\n    node: \"6378\"\n", "s.yaml:9:11", "unknown node `6378`", "did you mean `6379`?"),
        ("    client: redis\n", "s.yaml:8:5", "a `redis` workload needs `node`", "e.g. `node: \"6379\"`"),
        (&format!("{GOOD}    model: queue\n"), "s.yaml:10:12", "unknown model `queue`", "models: register"),
        (
            &format!("{GOOD}    keys: {{distribution: zipfian}}\n"),
            "s.yaml:10:26",
            "unknown distribution `zipfian`",
            "distributions: uniform, zipf",
        ),
        (&format!("{GOOD}    rate: 0/s\n"), "s.yaml:10:11", "a rate of zero", "at least one operation per second"),
        (&format!("{GOOD}    rate: 5\n"), "s.yaml:10:11", "`5` is not a rate", "`rate: 50/s`"),
        (&format!("{GOOD}    hosts: [nowhere]\n"), "s.yaml:10:13", "unknown host `nowhere`", "hosts are: a, b"),
        (
            &format!("{GOOD}    read-fraction: 2\n"),
            "s.yaml:10:20",
            "read-fraction 2 is not between 0 and 1",
            "one read in five",
        ),
        (
            &format!("{GOOD}    expect: {{acked-write-los: invalid}}\n"),
            "s.yaml:10:14",
            "unknown checker `acked-write-los`",
            "did you mean `acked-write-loss`?",
        ),
        (
            &format!("{GOOD}    expect: {{lists: broken}}\n"),
            "s.yaml:10:21",
            "`broken` is not a verdict",
            "valid, invalid or unknown",
        ),
        (&format!("{GOOD}    socket-timeout: 0s\n"), "s.yaml:10:21", "a socket-timeout of zero", "redis-py's default"),
        (&format!("{GOOD}    clinets: 2\n"), "s.yaml:10:5", "unknown key `clinets`", "did you mean `clients`?"),
    ];
    let mut wrong = Vec::new();
    for (workload, at, message, hint) in cases {
        let out = error(&scenario(workload, step));
        if !(out.contains(at) && out.contains(message) && out.contains("= hint:") && out.contains(hint)) {
            wrong.push(format!("want {at} {message:?} hint {hint:?} in:\n{out}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let out = error(&scenario(GOOD, "  - workload: {start: v}\n"));
    assert!(out.contains("s.yaml:11:23") && out.contains("no workload named `v`"), "{out}");
    assert!(out.contains("did you mean `w`?"), "{out}");
}

/// Runs a scenario; its report.
fn run(source: &str) -> report::RunReport {
    let parsed = scenario::parse_scenario("s.yaml", source, &registry())
        .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", source)));
    scenario::run(parsed, None, &registry(), String::new()).0
}

#[test]
fn a_killed_master_leaves_info_ops_and_the_history_repeats_with_the_seed() {
    let workload = format!(
        "{GOOD}    model: counter\n    clients: 2\n    hosts: [b]\n    think: 5ms\n    socket-timeout: 200ms\n    socket-connect-timeout: 200ms\n    expect: {{counters: invalid, acked-write-loss: invalid}}\n"
    );
    let steps = "  - workload: {start: w}\n  - sleep: 1s\n  - kill: \"6379\"\n  - sleep: 1s\n  - start: \"6379\"\n  - sleep: 1s\n  - workload: {stop: w}\n";
    let source = scenario(&workload, steps);
    let report = run(&source);
    let h = report.history.as_ref().expect("a history");
    assert!(h.ok > 100, "{h:?}");
    assert!(h.fail > 0, "connections refused while 6379 is down are fails: {h:?}");
    // Without appendonly the restarted node is empty: every acked INCR before the kill is lost.
    let counters = h.checkers.iter().find(|c| c.checker == "counters").expect("counters checker");
    assert_eq!(counters.verdict, "invalid", "{counters:?}");
    assert_eq!(report.result, report::Verdict::Pass, "the loss is expected: {:?}", report.failure);
    assert!(h.workloads[0].final_read == "every key read", "{:?}", h.workloads);
    let again = run(&source);
    assert_eq!(report.history_jsonl.text(), again.history_jsonl.text(), "same seed, same history");
    assert_eq!(report.trace_hash, again.trace_hash);
    assert!(report.history_jsonl.text().lines().any(|l| l.contains("\"type\":\"fault\"") && l.contains("kill 6379")));
}

#[test]
fn an_unexpected_invalid_verdict_fails_the_run() {
    let workload = format!("{GOOD}    model: set\n    hosts: [b]\n    think: 5ms\n    socket-timeout: 200ms\n");
    let steps = "  - workload: {start: w}\n  - sleep: 500ms\n  - kill: \"6379\"\n  - start: \"6379\"\n  - sleep: 1s\n  - workload: {stop: w}\n";
    let report = run(&scenario(&workload, steps));
    let failure = report.failure.expect("the lost adds fail the run");
    assert!(failure.contains("checker acked-write-loss says invalid (expected not invalid)"), "{failure}");
    assert_eq!(report.result, report::Verdict::Fail);
}

#[test]
fn a_timed_start_runs_to_the_end_and_wait_without_replicas_makes_writes_info() {
    let workload = format!(
        "{GOOD}    start: 500ms\n    model: register\n    read-fraction: 0\n    think: 10ms\n    wait: {{replicas: 1, timeout: 20ms}}\n"
    );
    let report = run(&scenario(&workload, "  - sleep: 2s\n"));
    let h = report.history.as_ref().expect("a history");
    let w = &h.workloads[0];
    assert_eq!(w.started_ns, 500_000_000, "started by its `start:` time");
    assert!(w.stopped_ns.is_some_and(|t| t >= 2_000_000_000), "stopped at the run's end: {w:?}");
    assert_eq!(w.final_read, "every key read");
    // One node, no replica: WAIT 1 20 answers 0 after 20ms, so no write counts as acknowledged.
    let text = report.history_jsonl.text();
    let writes = text.lines().filter(|l| l.contains("\"f\":\"write\"") && !l.contains("invoke"));
    let (mut info, mut all) = (0, 0);
    for l in writes {
        all += 1;
        if l.contains("\"type\":\"info\"") && l.contains("WAIT 1 20: 0 replicas acknowledged") {
            info += 1;
        }
    }
    assert!(all > 20 && info == all, "{info} of {all} writes are info");
    assert_eq!(report.result, report::Verdict::Pass, "{:?}", report.failure);
}

/// `total_connections_received` of a node at the end of a run.
fn connections_received(sim: &sim::Sim, node: &str) -> u64 {
    let p = sim.proc_by_name(node).expect("a node");
    let server = sim.process::<redis::server::Server>(p).expect("a running redis");
    let info = server.info((sim.now().as_nanos() / 1_000_000) as i64, &[b"stats".to_vec()]);
    let line = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).expect("the field");
    line.parse().expect("a count")
}

#[test]
fn cluster_clients_keep_one_connection_per_node_across_operations() {
    let source = "name: t
topology:
  cluster: {masters: 3, replicas: 0, ports: 7001, build: create}
workloads:
  w:
    client: cluster
    nodes: [\"7001\", \"7002\", \"7003\"]
    model: register
    keys: {count: 30}
    clients: 4
    rate: 100/s
steps:
  - workload: {start: w}
  - sleep: 3s
  - workload: {stop: w}
";
    let parsed = scenario::parse_scenario("s.yaml", source, &registry())
        .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", source)));
    let (report, sim) = scenario::run(parsed, None, &registry(), String::new());
    assert_eq!(report.result, report::Verdict::Pass, "{:?}", report.failure);
    let h = report.history.as_ref().expect("a history");
    assert!(h.ok > 1000, "{h:?}");
    // Keys spread over three masters: with one connection at a time, most
    // operations would reconnect. redis-py keeps one per node per client.
    for node in ["7001", "7002", "7003"] {
        let n = connections_received(&sim, node);
        assert!(n <= 12, "{node} accepted {n} connections for {} operations", h.ops);
    }
}
