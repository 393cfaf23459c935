//! The ready-made invariants: each breaks on a story that breaks it (and the
//! report gives the time and what was seen), holds on the same story without
//! the fault, and refuses bad input at its line and column with a hint.

use report::{CheckReport, Outcome, RunReport, Verdict};
use scenario::Registry;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(crate::RedisKind));
    registry.register_workloads(Box::new(crate::workloads::RedisWorkloads));
    registry
}

/// A scenario with `nodes` (topology lines), an optional `workloads` block,
/// one invariant `inv` (its lines, indented by 4) and `steps`.
fn scenario(nodes: &str, workloads: &str, inv: &str, steps: &str) -> String {
    format!(
        "name: t\ntopology:\n  hosts: [{{name: a, ip: 10.0.0.1}}, {{name: b, ip: 10.0.0.2}}]\n  nodes:\n{nodes}{workloads}invariants:\n  - name: it\n    expect: violated\n{inv}steps:\n{steps}"
    )
}

const REPLICATION: &str = "    - {name: m, kind: redis, host: a, port: 6379}\n    - {name: r, kind: redis, host: b, port: 6380, config: \"replicaof 10.0.0.1 6379\\nreplica-read-only no\\n\"}\n";
const CLUSTER: &str = "    - {name: c1, kind: redis, host: a, port: 7001, config: \"cluster-enabled yes\\n\"}\n    - {name: c2, kind: redis, host: b, port: 7002, config: \"cluster-enabled yes\\n\"}\n";

fn run(source: &str) -> RunReport {
    let parsed = scenario::parse_scenario("s.yaml", source, &registry())
        .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", source)));
    scenario::run(parsed, None, &registry(), String::new()).0
}

/// The invariant's report: `Some` with its first violation's detail when
/// it broke, `None` when it held throughout. (It is declared
/// `expect: violated`, so the run passes only when it broke.)
fn verdict(source: &str) -> (Option<String>, CheckReport) {
    let report = run(source);
    let check = report.checks[0].clone();
    let broke = check.violated_ns.map(|_| check.detail.clone());
    assert_eq!(report.result == Verdict::Pass, broke.is_some(), "{:?}", report.failure);
    assert_eq!(check.outcome == Outcome::Pass, broke.is_some());
    // report.json counts the expected violation apart from unexpected ones.
    assert_eq!((report.violations.expected, report.violations.unexpected), (usize::from(broke.is_some()), 0));
    let json = serde_json::to_string(&report).expect("a report serialises");
    assert_eq!(json.contains("\"violations\":{\"expected\":1,\"unexpected\":0}"), broke.is_some(), "{json}");
    (broke, check)
}

fn cli(node: &str, command: &str) -> String {
    format!("  - redis-cli: {{node: {node}, command: \"{command}\"}}\n")
}

#[test]
fn one_owner_per_epoch_breaks_when_two_masters_claim_a_slot_at_epoch_0() {
    let inv = "    cluster-one-owner-per-epoch:\n";
    let clash = format!("{}{}  - sleep: 100ms\n", cli("c1", "cluster addslots 0 1"), cli("c2", "cluster addslots 1 2"));
    let (broke, check) = verdict(&scenario(CLUSTER, "", inv, &clash));
    let detail = broke.expect("slot 1 claimed by both at configEpoch 0");
    assert!(detail.starts_with("slot 1 at configEpoch 0: c1 sees it served by "), "{detail}");
    assert_eq!(check.step, "#2: redis-cli: {node: c2, command: \"cluster addslots 1 2\"}");
    let apart = format!("{}{}  - sleep: 100ms\n", cli("c1", "cluster addslots 0 1"), cli("c2", "cluster addslots 2 3"));
    assert_eq!(verdict(&scenario(CLUSTER, "", inv, &apart)).0, None);
}

#[test]
fn slots_covered_and_cluster_agrees_need_every_slot_and_one_map() {
    let half = format!("{}  - sleep: 100ms\n", cli("c1", "cluster addslotsrange 0 8191"));
    let covered = "    cluster-slots-covered:\n";
    let detail = verdict(&scenario(CLUSTER, "", covered, &half)).0.expect("no slot assigned at first");
    assert_eq!(detail, "c1 sees 16384 slots unassigned (from slot 0)");
    let all = format!(
        "{}{}{}  - sleep: 3s\n",
        cli("c1", "cluster addslotsrange 0 8191"),
        cli("c2", "cluster addslotsrange 8192 16383"),
        cli("c1", "cluster meet 10.0.0.2 7002")
    );
    // Within 3s of the start every table holds every slot, and agrees with the other.
    let forgiven = |inv: &str| scenario(CLUSTER, "", &format!("    within: 3s\n{inv}"), &all);
    assert_eq!(verdict(&forgiven(covered)).0, None);
    assert_eq!(verdict(&forgiven("    cluster-agrees:\n")).0, None);
    // Never met, each table knows only its own half.
    let alone = format!(
        "{}{}  - sleep: 3s\n",
        cli("c1", "cluster addslotsrange 0 8191"),
        cli("c2", "cluster addslotsrange 8192 16383")
    );
    let (broke, check) = verdict(&scenario(CLUSTER, "", "    within: 1s\n    cluster-agrees:\n", &alone));
    let detail = broke.expect("two maps");
    assert!(detail.starts_with("slot 0: c1 sees ") && detail.contains(", c2 sees unassigned"), "{detail}");
    assert!(check.false_since_ns.is_some());
}

#[test]
fn single_master_breaks_when_a_replica_is_promoted_beside_its_master() {
    let inv = "    single-master: {among: [m, r]}\n";
    let wait = "  - wait-until: {master-link: {node: r, is: up}, within: 10s}\n";
    let (broke, _) = verdict(&scenario(REPLICATION, "", inv, &format!("{wait}{}", cli("r", "replicaof no one"))));
    assert_eq!(broke.as_deref(), Some("2 masters: m, r"));
    assert_eq!(verdict(&scenario(REPLICATION, "", inv, &format!("{wait}{}", cli("m", "set k v")))).0, None);
}

#[test]
fn replicas_converged_sees_a_diverged_replica_and_lag_sees_a_cut_one() {
    let wait = "  - wait-until: {master-link: {node: r, is: up}, within: 10s}\n";
    // The first full sync waits for the replica's first replicationCron (up to
    // 1 s after its start-up) and repl-diskless-sync-delay (5 s): `within` forgives it.
    let inv = "    within: 7s\n    replicas-converged:\n";
    // A write straight to the (writable) replica: same offset, another dataset.
    let diverge = format!("{wait}{}  - sleep: 8s\n", cli("r", "set only-here 1"));
    let detail = verdict(&scenario(REPLICATION, "", inv, &diverge)).0.expect("diverged");
    assert!(detail.ends_with("same offset, different datasets"), "{detail}");
    let writes = format!("{wait}{}{}  - sleep: 1s\n", cli("m", "set k v"), cli("m", "rpush l a b c"));
    assert_eq!(verdict(&scenario(REPLICATION, "", inv, &writes)).0, None);

    let lag = "    replication-lag: {max-bytes: 100}\n";
    let cut = format!(
        "{wait}  - partition: [[a], [b]]\n{}{}  - sleep: 100ms\n",
        cli("m", "set k1 0123456789012345678901234567890123456789"),
        cli("m", "set k2 0123456789012345678901234567890123456789")
    );
    let detail = verdict(&scenario(REPLICATION, "", lag, &cut)).0.expect("the replica is cut off");
    assert!(detail.starts_with("r is ") && detail.ends_with(" bytes behind m"), "{detail}");
    assert_eq!(verdict(&scenario(REPLICATION, "", lag, &writes)).0, None);
}

#[test]
fn no_acked_write_lost_sees_acknowledged_appends_vanish_from_every_master() {
    let node = "    - {name: \"6379\", kind: redis, host: a, port: 6379}\n";
    let workloads = "workloads:\n  w:\n    client: redis\n    node: \"6379\"\n    model: list\n    hosts: [b]\n    think: 10ms\n    expect: {acked-write-loss: invalid, lists: invalid}\n";
    let inv = "    no-acked-write-lost: {workload: w}\n";
    let flush = format!(
        "  - workload: {{start: w}}\n  - sleep: 500ms\n{}  - sleep: 200ms\n  - workload: {{stop: w}}\n",
        cli("\"6379\"", "flushall")
    );
    let (broke, check) = verdict(&scenario(node, workloads, inv, &flush));
    let detail = broke.expect("FLUSHALL drops the acknowledged appends");
    assert!(detail.contains(" acknowledged writes held by no master (6379): "), "{detail}");
    assert!(check.step.contains("flushall"), "{}", check.step);
    let quiet =
        "workloads:\n  w:\n    client: redis\n    node: \"6379\"\n    model: list\n    hosts: [b]\n    think: 10ms\n";
    let keep = "  - workload: {start: w}\n  - sleep: 700ms\n  - workload: {stop: w}\n";
    assert_eq!(verdict(&scenario(node, quiet, inv, keep)).0, None);
}

/// The rendered diagnostics of a scenario that must not parse.
fn error(source: &str) -> String {
    match scenario::parse_scenario("s.yaml", source, &registry()) {
        Ok(_) => panic!("parsed:\n{source}"),
        Err(d) => d.render("s.yaml", source),
    }
}

#[test]
fn bad_invariants_are_located_with_a_hint() {
    let workloads = "workloads:\n  writers:\n    client: redis\n    node: m\n";
    let step = "  - sleep: 1s\n";
    let cases = [
        (
            "    cluster-slots-coverd:\n",
            "s.yaml:14:5",
            "unknown condition `cluster-slots-coverd`",
            "did you mean `cluster-slots-covered`?",
        ),
        (
            "    single-master: {among: [m]}\n",
            "s.yaml:14:20",
            "`single-master` needs `among:` with at least two nodes",
            "name the replication group",
        ),
        ("    single-master: {among: [m, q]}\n", "s.yaml:14:32", "unknown node `q`", "did you mean `m`?"),
        (
            "    replication-lag: {}\n",
            "s.yaml:14:22",
            "missing key `max-bytes` in replication-lag",
            "add `max-bytes: ...`",
        ),
        (
            "    no-acked-write-lost: {workload: writer}\n",
            "s.yaml:14:37",
            "no workload named `writer`",
            "did you mean `writers`?",
        ),
        (
            "    cluster-agrees: {nodes: all}\n",
            "s.yaml:14:29",
            "`cluster-agrees` looks at every redis node",
            "`among: [...]`",
        ),
        (
            "    within: 1ms\n    replicas-converged:\n",
            "s.yaml:14:13",
            "`within: 1ms` is shorter than the poll (10ms)",
            "make `within` at least 10ms",
        ),
    ];
    let mut wrong = Vec::new();
    for (inv, at, message, hint) in cases {
        let out = error(&scenario(REPLICATION, workloads, inv, step));
        if !(out.contains(at) && out.contains(message) && out.contains("= hint:") && out.contains(hint)) {
            wrong.push(format!("want {at} {message:?} hint {hint:?} in:\n{out}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_schema_lists_every_ready_made_invariant() {
    let names: Vec<&str> = crate::conditions::syntax().iter().map(|s| s.name).collect();
    for n in crate::invariants::NAMES {
        assert!(names.contains(n), "{n} missing from the schema");
    }
}
