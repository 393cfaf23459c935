//! Cluster tests on simulated hosts: a six-node cluster built as the course
//! does it by hand (MEET, ADDSLOTSRANGE, REPLICATE), then failures.

use crate::server::Server;
use crate::tests_repl::Cluster as Lab;
use std::time::Duration;

const PORTS: [u16; 6] = [6381, 6382, 6383, 6384, 6385, 6386];

pub(crate) fn conf(node_timeout: u64) -> String {
    format!("cluster-enabled yes\ncluster-node-timeout {node_timeout}\nappendonly yes\n")
}

pub(crate) fn node_id(lab: &Lab, port: u16) -> String {
    let p = lab.sim.proc_by_name(&port.to_string()).unwrap();
    lab.sim.process::<Server>(p).unwrap().clr().me().name.clone()
}

/// Three masters with 0-5460 / 5461-10922 / 10923-16383, each with one replica
/// (6384 → 6381, 6385 → 6382, 6386 → 6383).
pub(crate) fn build(seed: u64, node_timeout: u64) -> Lab {
    let mut lab = Lab::new(seed);
    for p in PORTS {
        lab.server(p, &conf(node_timeout));
    }
    lab.sim.run_for(Duration::from_millis(100));
    for p in &PORTS[1..] {
        assert_eq!(lab.cli(6381, &format!("cluster meet 127.0.0.1 {p}")), "OK");
    }
    assert_eq!(lab.cli(6381, "cluster addslotsrange 0 5460"), "OK");
    assert_eq!(lab.cli(6382, "cluster addslotsrange 5461 10922"), "OK");
    assert_eq!(lab.cli(6383, "cluster addslotsrange 10923 16383"), "OK");
    lab.sim.run_for(Duration::from_secs(3));
    for (replica, master) in [(6384, 6381), (6385, 6382), (6386, 6383)] {
        let id = node_id(&lab, master);
        assert_eq!(lab.cli(replica, &format!("cluster replicate {id}")), "OK");
    }
    lab.sim.run_for(Duration::from_secs(8));
    lab
}

#[test]
fn manual_build_reaches_ok_and_routes_keys() {
    let mut lab = build(1, 15000);
    for p in PORTS {
        assert!(lab.cli(p, "cluster info").starts_with("cluster_state:ok"), "{p}: {}", lab.cli(p, "cluster info"));
    }
    let nodes = lab.cli(6382, "cluster nodes");
    assert_eq!(nodes.lines().count(), 6, "{nodes}");
    assert_eq!(lab.cli(6381, "set k2 v"), "OK");
    assert_eq!(lab.cli(6381, "set k1 v"), "(error) MOVED 12706 127.0.0.1:6383");
    assert_eq!(lab.cli(6384, "get k2"), "(error) MOVED 449 127.0.0.1:6381");
    assert_eq!(lab.cli(6381, "mget k1 k2"), "(error) CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(lab.cli(6381, "select 1"), "(error) ERR SELECT is not allowed in cluster mode");
    assert_eq!(lab.cli(6381, "cluster keyslot k1"), "(integer) 12706");
    assert_eq!(lab.cli(6381, "cluster countkeysinslot 449"), "(integer) 1");
    assert_eq!(lab.cli(6381, "cluster replicate x"), "(error) ERR Unknown node x");
    let id = node_id(&lab, 6382);
    assert_eq!(
        lab.cli(6381, &format!("cluster replicate {id}")),
        "(error) ERR To set a master the node must be empty and without assigned slots."
    );
}

fn proc(lab: &Lab, port: u16) -> sim::ProcId {
    lab.sim.proc_by_name(&port.to_string()).unwrap()
}

fn server(lab: &Lab, port: u16) -> &Server {
    lab.sim.process::<Server>(proc(lab, port)).unwrap()
}

/// The flags `from` shows for `about` in its CLUSTER NODES.
fn flags_seen(lab: &Lab, from: u16, about: &str) -> String {
    let c = server(lab, from).clr();
    c.lookup(about).map(|i| c.node(i).flag_names()).unwrap_or_default()
}

#[test]
fn killed_master_is_replaced_by_its_replica_and_returns_as_replica() {
    let mut lab = build(3, 2000);
    for k in ["k1", "k2", "k3", "k4"] {
        let port = [6381, 6382, 6383]
            .into_iter()
            .find(|&p| !lab.cli(p, &format!("set {k} v-{k}")).starts_with("(error) MOVED"));
        assert!(port.is_some(), "no master took {k}");
    }
    lab.sim.run_for(Duration::from_secs(1));
    let old = node_id(&lab, 6381);
    let new = node_id(&lab, 6384);
    lab.sim.apply(sim::Fault::Stop(proc(&lab, 6381))).unwrap();
    let mut pfail_at = None;
    let mut fail_at = None;
    let mut promoted_at = None;
    for ms in (10..20_000).step_by(10) {
        lab.sim.run_for(Duration::from_millis(10));
        if pfail_at.is_none()
            && [6382, 6383, 6384, 6385, 6386].iter().any(|&p| flags_seen(&lab, p, &old).contains("fail?"))
        {
            pfail_at = Some(ms);
        }
        if fail_at.is_none()
            && flags_seen(&lab, 6382, &old).contains("fail")
            && !flags_seen(&lab, 6382, &old).contains("fail?")
        {
            fail_at = Some(ms);
        }
        if promoted_at.is_none() && server(&lab, 6384).clr().me().is_master() {
            promoted_at = Some(ms);
        }
        if promoted_at.is_some() && [6382, 6383, 6384, 6385, 6386].iter().all(|&p| server(&lab, p).clr().state_ok) {
            break;
        }
    }
    let (pfail, fail, promoted) = (pfail_at.unwrap(), fail_at.unwrap(), promoted_at.unwrap());
    assert!((2000..3200).contains(&pfail), "PFAIL at {pfail} ms");
    assert!(fail >= pfail && fail < 4000, "FAIL at {fail} ms");
    assert!(promoted > fail && promoted < 6000, "promoted at {promoted} ms");
    for p in [6382, 6383, 6384, 6385, 6386] {
        assert!(server(&lab, p).clr().state_ok, "{p} not ok");
    }
    assert_eq!(lab.cli(6384, "get k2"), "\"v-k2\"");
    let log = lab.log(6384);
    for line in ["Failover election won: I'm the new master.", "Cluster state changed: ok"] {
        assert!(log.iter().any(|l| l == line), "missing {line:?} in {log:#?}");
    }
    assert!(log.iter().any(|l| l.starts_with("Start of election delayed for ")), "{log:#?}");
    lab.sim.apply(sim::Fault::Start(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(10));
    let c = server(&lab, 6381).clr();
    assert!(c.me().is_slave(), "{}", c.nodes_text(false));
    assert_eq!(c.node(c.me().slaveof.unwrap()).name, new);
    assert_eq!(lab.cli(6381, "role").lines().next().unwrap(), "1) \"slave\"");
    assert!(flags_seen(&lab, 6382, &old) == "slave", "{}", flags_seen(&lab, 6382, &old));
    println!("pfail {pfail} fail {fail} promoted {promoted}");
}
