//! The node table's performance machinery against its plain reference (see
//! [`super::machinery`]): the same clusters, run once with the caches, notes
//! and shared registries and once without, must leave the same trace,
//! record for record. A note the cron fails to reset, a stale bitmap or
//! block mask, a name looked up wrong: each shows here as the first record
//! where the two runs part (in release builds too, where the debug checks
//! of the scan and the slot table are off).

use super::Machinery;
use super::tests_cluster::{Lab, build_with, start_node};
use super::tests_prop_cluster::run_schedule;
use crate::server::Server;
use sim::Fault;
use std::time::Duration;

/// Asserts that two runs left the same trace: the same records, in order,
/// and the same hash.
fn same_trace(fast: &Lab, plain: &Lab, what: &str) {
    let (f, p) = (fast.sim.trace(), plain.sim.trace());
    let (fr, pr) = (f.records(), p.records());
    assert!(!fr.is_empty(), "{what}: the lab records its trace");
    if let Some(k) = (0..fr.len().min(pr.len())).find(|&k| fr[k] != pr[k]) {
        let around = |r: &[sim::TraceRecord]| format!("{:#?}", &r[k.saturating_sub(2)..(k + 1).min(r.len())]);
        panic!(
            "{what}: the fast and plain tables part at record {k} of {}/{}\nfast:\n{}\nplain:\n{}",
            fr.len(),
            pr.len(),
            around(fr),
            around(pr)
        );
    }
    assert_eq!(fr.len(), pr.len(), "{what}: one trace is a prefix of the other");
    assert_eq!(f.hash_hex(), p.hash_hex(), "{what}: same records, different hashes");
}

fn proc(lab: &Lab, port: u16) -> sim::ProcId {
    lab.sim.proc_by_name(&port.to_string()).expect("a node of the build")
}

/// The six-node build, writes, CLUSTER NODES, a master stopped until its
/// replica takes over and started again, a replica killed and restarted
/// from its nodes.conf, and a seventh node that meets the cluster and takes
/// slots.
fn build_and_fail_over(machinery: Machinery) -> Lab {
    let mut lab = build_with(3, 2000, machinery);
    for k in ["k1", "k2", "k3", "k4"] {
        for port in [6381, 6382, 6383] {
            lab.cli(port, &format!("set {k} v-{k}"));
        }
    }
    lab.cli(6382, "cluster nodes");
    lab.sim.apply(Fault::Stop(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(8));
    lab.cli(6383, "cluster nodes");
    lab.sim.apply(Fault::Start(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(6));
    lab.sim.apply(Fault::Kill(proc(&lab, 6385))).unwrap();
    lab.sim.run_for(Duration::from_secs(5));
    lab.sim.apply(Fault::Start(proc(&lab, 6385))).unwrap();
    lab.sim.run_for(Duration::from_secs(5));
    start_node(&mut lab, 6387, 2000, machinery);
    lab.sim.run_for(Duration::from_millis(100));
    lab.cli(6387, "cluster meet 127.0.0.1 6382");
    lab.sim.run_for(Duration::from_secs(3));
    lab.cli(6382, "cluster delslots 10000 10001");
    lab.cli(6387, "cluster addslots 10000 10001");
    lab.sim.run_for(Duration::from_secs(5));
    for port in [6381, 6384, 6387] {
        lab.cli(port, "cluster nodes");
        lab.cli(port, "cluster slots");
    }
    for port in [6381, 6382, 6383, 6384, 6385, 6386, 6387] {
        let server = lab.sim.process::<Server>(proc(&lab, port)).expect("every node runs");
        assert_eq!(server.clr().machinery(), machinery, "{port}, restarted or not");
    }
    lab
}

#[test]
fn a_build_and_a_failover_leave_the_same_trace_with_plain_tables() {
    let (fast, plain) = (build_and_fail_over(Machinery::Fast), build_and_fail_over(Machinery::Plain));
    same_trace(&fast, &plain, "build and failover");
}

#[test]
fn a_seed_with_faults_leaves_the_same_trace_with_plain_tables() {
    let seed = 2;
    let (fast, _, fast_verdict) = run_schedule(seed, Machinery::Fast);
    let (plain, _, plain_verdict) = run_schedule(seed, Machinery::Plain);
    same_trace(&fast, &plain, &format!("seed {seed}"));
    assert_eq!(fast_verdict, plain_verdict);
}
