//! Cluster tests on simulated hosts: a six-node cluster built as the course
//! does it by hand (MEET, ADDSLOTSRANGE, REPLICATE), then failures.

use super::Machinery;
use crate::server::Server;
pub(crate) use crate::tests_repl::Cluster as Lab;
use std::time::Duration;

const PORTS: [u16; 6] = [6381, 6382, 6383, 6384, 6385, 6386];

pub(crate) fn conf(node_timeout: u64) -> String {
    format!("cluster-enabled yes\ncluster-node-timeout {node_timeout}\nappendonly yes\n")
}

pub(crate) fn node_id(lab: &Lab, port: u16) -> String {
    let p = lab.sim.proc_by_name(&port.to_string()).unwrap();
    lab.sim.process::<Server>(p).unwrap().clr().me().name().to_string()
}

/// Adds and starts a cluster node on `port` (as [`Lab::server`] does) whose
/// table runs `machinery`.
pub(crate) fn start_node(lab: &mut Lab, port: u16, node_timeout: u64, machinery: Machinery) -> sim::ProcId {
    let mut config = crate::config::parse(&conf(node_timeout), port).expect("valid test config");
    config.cluster.plain_tables = machinery == Machinery::Plain;
    let host = lab.sim.host_by_name("localhost").expect("the lab's host");
    let p = lab.sim.add_process(host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone()))));
    lab.sim.apply(sim::Fault::Start(p)).unwrap();
    lab.sim.run_for(crate::tests::STARTED);
    p
}

/// Three masters with 0-5460 / 5461-10922 / 10923-16383, each with one replica
/// (6384 → 6381, 6385 → 6382, 6386 → 6383).
pub(crate) fn build(seed: u64, node_timeout: u64) -> Lab {
    build_with(seed, node_timeout, Machinery::Fast)
}

/// [`build`] with tables that run `machinery`.
pub(crate) fn build_with(seed: u64, node_timeout: u64, machinery: Machinery) -> Lab {
    let mut lab = Lab::new(seed);
    for p in PORTS {
        start_node(&mut lab, p, node_timeout, machinery);
        // Servers started one after another, as a script would: their crons are not in phase.
        lab.sim.run_for(Duration::from_millis(3 + (seed * u64::from(p)) % 37));
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
    c.lookup_str(about).map(|i| c.node(i).flag_names()).unwrap_or_default()
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
    assert_eq!(c.node(c.me().slaveof.unwrap()).name(), new);
    assert_eq!(lab.cli(6381, "role").lines().next().unwrap(), "1) \"slave\"");
    assert!(flags_seen(&lab, 6382, &old) == "slave", "{}", flags_seen(&lab, 6382, &old));
    println!("pfail {pfail} fail {fail} promoted {promoted}");
}

#[test]
fn a_master_cut_off_alone_refuses_keys_and_returns_as_replica() {
    let mut lab = build(5, 2000);
    assert_eq!(lab.cli(6381, "set k2 before"), "OK");
    lab.sim.run_for(Duration::from_millis(200));
    let cut = sim::Endpoint::Process(proc(&lab, 6381));
    lab.sim.apply(sim::Fault::Partition(vec![vec![cut]])).unwrap();
    // Reachable from its own host's clients, it keeps taking writes until it sees the others PFAIL.
    lab.sim.run_for(Duration::from_millis(1500));
    assert!(server(&lab, 6381).clr().state_ok);
    lab.sim.run_for(Duration::from_secs(4));
    let me = server(&lab, 6381);
    assert!(!me.clr().state_ok && me.clr().me().is_master(), "{}", me.clr().nodes_text(false));
    assert!(server(&lab, 6384).clr().me().is_master());
    assert!(lab.log(6381).iter().any(|l| l == "Cluster state changed: fail"));
    lab.sim.apply(sim::Fault::Heal).unwrap();
    lab.sim.run_for(Duration::from_secs(8));
    let c = server(&lab, 6381).clr();
    assert!(c.me().is_slave() && c.node(c.me().slaveof.unwrap()).name() == node_id(&lab, 6384));
    assert_eq!(lab.cli(6384, "get k2"), "\"before\"");
    assert_eq!(lab.cli(6381, "get k2"), "(error) MOVED 449 127.0.0.1:6384");
}

#[test]
fn count_failure_reports_and_fail_clearing_for_a_paused_replica() {
    let mut lab = build(6, 2000);
    let replica = node_id(&lab, 6386);
    lab.sim.apply(sim::Fault::Pause(proc(&lab, 6386))).unwrap();
    // Both other masters' reports reach 6382 by gossip some seconds after
    // the PFAIL (node timeout 2 s, pings every second): within 8 s.
    let count = |lab: &mut Lab| lab.cli(6382, &format!("cluster count-failure-reports {replica}"));
    lab.sim.run_for(Duration::from_secs(3));
    for _ in 0..50 {
        if count(&mut lab) == "(integer) 2" {
            break;
        }
        lab.sim.run_for(Duration::from_millis(100));
    }
    assert_eq!(count(&mut lab), "(integer) 2");
    assert_eq!(flags_seen(&lab, 6381, &replica), "slave,fail");
    assert!(server(&lab, 6381).clr().state_ok, "a failed replica leaves the cluster ok");
    lab.sim.apply(sim::Fault::Resume(proc(&lab, 6386))).unwrap();
    lab.sim.run_for(Duration::from_secs(3));
    assert_eq!(flags_seen(&lab, 6381, &replica), "slave");
    let cleared = format!("Clear FAIL state for node {replica}: replica is reachable again.");
    assert!(lab.log(6381).contains(&cleared), "{:#?}", lab.log(6381));
}

#[test]
fn takeover_needs_no_votes_and_bumps_the_epoch() {
    // Seed 1's layout leaves 6385 an epoch below the greatest, seed 2's makes
    // its epoch the greatest already: both of the bump rule's cases.
    let mut bumped = Vec::new();
    for seed in [1, 2] {
        let mut lab = build(seed, 2000);
        lab.sim.apply(sim::Fault::Pause(proc(&lab, 6381))).unwrap();
        lab.sim.apply(sim::Fault::Pause(proc(&lab, 6383))).unwrap();
        // Past its longest form a subcommand gets clusterCommand's generic reply, named as typed.
        for (line, sub) in [("cluster FAILOVER force takeover", "FAILOVER"), ("cluster reset hard x", "reset")] {
            assert_eq!(
                lab.cli(6385, line),
                format!("(error) ERR unknown subcommand or wrong number of arguments for '{sub}'. Try CLUSTER HELP.")
            );
        }
        assert_eq!(lab.cli(6385, "cluster failover nosuchoption"), "(error) ERR syntax error");
        // Two of three masters are unreachable: no election could win, but TAKEOVER needs none.
        // clusterBumpConfigEpochWithoutConsensus: a new epoch unless ours is
        // already the greatest (the layout's epochs depend on the seed).
        let c = server(&lab, 6385).clr();
        let (before, mine) = (c.current_epoch, c.me().config_epoch);
        let must_bump = mine == 0 || mine != c.max_epoch();
        assert_eq!(lab.cli(6385, "cluster failover takeover"), "OK");
        lab.sim.run_for(Duration::from_millis(500));
        let c = server(&lab, 6385).clr();
        let expected = if must_bump { before + 1 } else { mine };
        assert!(c.me().is_master() && c.me().config_epoch == expected, "{}", c.nodes_text(false));
        let others = c.indices().into_iter().filter(|&i| i != c.myself && c.node(i).is_master());
        assert!(others.map(|i| c.node(i).config_epoch).all(|e| e < expected), "{}", c.nodes_text(false));
        assert!(lab.log(6385).iter().any(|l| l == "Taking over the master (user request)."));
        lab.sim.run_for(Duration::from_secs(2));
        assert!(server(&lab, 6382).clr().me().is_slave());
        bumped.push(must_bump);
    }
    assert_eq!(bumped, [true, false]);
}

#[test]
fn a_replica_migrates_to_an_orphaned_master() {
    let mut lab = build(8, 2000);
    lab.server(6387, &conf(2000));
    lab.sim.run_for(Duration::from_millis(100));
    assert_eq!(lab.cli(6381, "cluster meet 127.0.0.1 6387"), "OK");
    lab.sim.run_for(Duration::from_secs(2));
    let id = node_id(&lab, 6381);
    assert_eq!(lab.cli(6387, &format!("cluster replicate {id}")), "OK");
    lab.sim.run_for(Duration::from_secs(8));
    lab.sim.apply(sim::Fault::Kill(proc(&lab, 6386))).unwrap();
    lab.sim.run_for(Duration::from_secs(15));
    let orphan = node_id(&lab, 6383);
    let movers: Vec<u16> = [6384, 6387]
        .into_iter()
        .filter(|&p| {
            let c = server(&lab, p).clr();
            c.me().slaveof.is_some_and(|m| c.node(m).name() == orphan)
        })
        .collect();
    assert_eq!(movers.len(), 1, "exactly one of 6381's replicas moves");
    let line = format!("Migrating to orphaned master {orphan}");
    assert!(lab.log(movers[0]).contains(&line));
}

#[test]
fn open_slots_redirect_with_ask_tryagain_and_asking() {
    use super::commands::{ClientFlags, route};
    let mut lab = build(4, 15000);
    let (a, b) = (node_id(&lab, 6381), node_id(&lab, 6382));
    assert_eq!(lab.cli(6381, "set k2 v"), "OK");
    assert_eq!(lab.cli(6381, &format!("cluster setslot 449 migrating {b}")), "OK");
    assert_eq!(lab.cli(6382, &format!("cluster setslot 449 importing {a}")), "OK");
    assert_eq!(
        lab.cli(6382, &format!("cluster setslot 449 migrating {a}")),
        "(error) ERR I'm not the owner of hash slot 449"
    );
    assert_eq!(
        lab.cli(6381, &format!("cluster setslot 449 importing {b}")),
        "(error) ERR I'm already the owner of hash slot 449"
    );
    assert!(lab.cli(6381, "cluster nodes").contains(&format!(" [449->-{b}]")));
    assert!(lab.cli(6382, "cluster nodes").contains(&format!(" [449-<-{a}]")));
    assert_eq!(lab.cli(6381, "get k2"), "\"v\"");
    assert_eq!(lab.cli(6381, "get {k2}.new"), "(error) ASK 449 127.0.0.1:6382");
    assert_eq!(lab.cli(6381, "mget k2 {k2}.new"), "(error) TRYAGAIN Multiple keys request during rehashing of slot");
    assert_eq!(lab.cli(6382, "get {k2}.new"), "(error) MOVED 449 127.0.0.1:6381");
    let s = server(&lab, 6382);
    let flags = |asking| ClientFlags { asking, ..ClientFlags::default() };
    let args = |line: &str| resp::split_args(line.as_bytes()).unwrap();
    let cmd = |name: &str| crate::command_table::lookup(name).unwrap();
    assert_eq!(route(s.clr(), &s.dbs()[0], flags(true), &args("get {k2}.new"), cmd("get")), None);
    assert!(route(s.clr(), &s.dbs()[0], flags(true), &args("mget {k2}.a {k2}.b"), cmd("mget")).is_some());
    assert_eq!(
        lab.cli(6381, &format!("cluster setslot 449 node {b}")),
        "(error) ERR Can't assign hashslot 449 to a different node while I still hold keys for this hash slot."
    );
    assert_eq!(lab.cli(6381, "cluster getkeysinslot 449 10"), "1) \"k2\"");
    assert_eq!(lab.cli(6381, "cluster countkeysinslot 449"), "(integer) 1");
    // A replica serves reads of its master's slots to READONLY clients only.
    let r = server(&lab, 6384);
    let readonly = ClientFlags { readonly: true, ..ClientFlags::default() };
    assert_eq!(route(r.clr(), &r.dbs()[0], readonly, &args("get k3"), cmd("get")), None);
    assert!(route(r.clr(), &r.dbs()[0], readonly, &args("set k3 x"), cmd("set")).is_some());
    assert_eq!(lab.cli(6381, "cluster setslot 449 stable"), "OK");
    assert_eq!(lab.cli(6381, "get {k2}.new"), "(nil)");
}

#[test]
fn getkeysinslot_lists_a_slots_keys_newest_first() {
    let mut lab = build(13, 15000);
    for k in ["{k2}c", "{k2}a", "{k2}b"] {
        assert_eq!(lab.cli(6381, &format!("set {k} 1")), "OK");
    }
    // As redis-server 7.0.15 answers after the same three SETs.
    assert_eq!(lab.cli(6381, "cluster getkeysinslot 449 10"), "1) \"{k2}b\"\n2) \"{k2}a\"\n3) \"{k2}c\"");
    assert_eq!(lab.cli(6381, "cluster getkeysinslot 449 1"), "1) \"{k2}b\"");
    assert_eq!(lab.cli(6381, "del {k2}a"), "(integer) 1");
    assert_eq!(lab.cli(6381, "cluster countkeysinslot 449"), "(integer) 2");
    assert_eq!(lab.cli(6381, "set {k2}a 2"), "OK");
    assert_eq!(lab.cli(6381, "cluster getkeysinslot 449 10"), "1) \"{k2}a\"\n2) \"{k2}b\"\n3) \"{k2}c\"");
    assert_eq!(lab.cli(6381, "flushall"), "OK");
    assert_eq!(lab.cli(6381, "cluster countkeysinslot 449"), "(integer) 0");
}

#[test]
fn writes_wait_out_a_manual_failover_and_are_then_redirected() {
    let mut lab = build(10, 15000);
    assert_eq!(lab.cli(6381, "set k2 before"), "OK");
    lab.sim.run_for(Duration::from_millis(50));
    // Partition 6384 from the other masters: 6381 pauses but the election cannot finish.
    let others: Vec<sim::Endpoint> = [6382, 6383].iter().map(|&p| sim::Endpoint::Process(proc(&lab, p))).collect();
    lab.sim
        .apply(sim::Fault::PartitionOneWay { from: vec![sim::Endpoint::Process(proc(&lab, 6384))], to: others })
        .unwrap();
    assert_eq!(lab.cli(6384, "cluster failover"), "OK");
    lab.sim.run_for(Duration::from_millis(20));
    let now = lab.sim.wall_clock_ms(proc(&lab, 6381));
    assert!(server(&lab, 6381).writes_paused(now), "MFSTART paused the master");
    assert_eq!(lab.cli(6381, "get k2"), "\"before\"", "reads are not paused");
    assert_eq!(lab.try_cli(6381, None, "set k2 during"), None, "a write waits while paused");
    // The election cannot reach a majority: after 5 s both sides give up and the write runs.
    lab.sim.run_for(Duration::from_secs(6));
    assert!(lab.log(6381).iter().any(|l| l == "Manual failover timed out."), "{:#?}", lab.log(6381));
    assert_eq!(lab.cli(6381, "get k2"), "\"during\"");
    assert!(server(&lab, 6381).clr().me().is_master());
}

/// Three masters without replicas, with extra directives.
fn build_masters(seed: u64, extra: &str) -> Lab {
    let mut lab = Lab::new(seed);
    for p in [6381, 6382, 6383] {
        lab.server(p, &format!("{}{extra}", conf(2000)));
        lab.sim.run_for(Duration::from_millis(5));
    }
    for p in [6382, 6383] {
        assert_eq!(lab.cli(6381, &format!("cluster meet 127.0.0.1 {p}")), "OK");
    }
    assert_eq!(lab.cli(6381, "cluster addslotsrange 0 5460"), "OK");
    assert_eq!(lab.cli(6382, "cluster addslotsrange 5461 10922"), "OK");
    assert_eq!(lab.cli(6383, "cluster addslotsrange 10923 16383"), "OK");
    lab.sim.run_for(Duration::from_secs(4));
    lab
}

#[test]
fn reads_when_down_and_partial_coverage_follow_their_directives() {
    let mut lab = build_masters(11, "cluster-allow-reads-when-down yes\n");
    assert_eq!(lab.cli(6381, "set healthy:1 x"), "OK");
    lab.sim.apply(sim::Fault::Kill(proc(&lab, 6383))).unwrap();
    lab.sim.run_for(Duration::from_secs(5));
    assert!(!server(&lab, 6381).clr().state_ok);
    assert_eq!(lab.cli(6381, "get healthy:1"), "\"x\"");
    assert_eq!(
        lab.cli(6381, "set healthy:1 y"),
        "(error) CLUSTERDOWN The cluster is down and only accepts read commands"
    );
    // Keys of the dead master's slots are still redirected to it.
    assert_eq!(lab.cli(6381, "get lost:1"), "(error) MOVED 14739 127.0.0.1:6383");

    let mut lab = build_masters(12, "cluster-require-full-coverage no\n");
    let dead = node_id(&lab, 6383);
    lab.sim.apply(sim::Fault::Kill(proc(&lab, 6383))).unwrap();
    lab.sim.run_for(Duration::from_secs(5));
    assert_eq!(flags_seen(&lab, 6381, &dead), "master,fail");
    assert!(server(&lab, 6381).clr().state_ok, "two of three masters still form a majority");
    assert_eq!(lab.cli(6381, "set healthy:1 y"), "OK");
    let info = lab.cli(6381, "cluster info");
    assert!(info.contains("cluster_slots_ok:10923\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:5461\r\n"), "{info}");
}

#[test]
fn a_replica_that_never_synced_cannot_fail_over() {
    // Seed 003's story: requirepass everywhere, but the replica has no masterauth.
    let mut lab = Lab::new(14);
    for p in [6381, 6382, 6383, 6384] {
        lab.server(p, &format!("{}requirepass pw\n", conf(2000)));
        lab.sim.run_for(Duration::from_millis(7));
    }
    let auth = Some("pw");
    for p in [6382, 6383, 6384] {
        assert_eq!(lab.cli_auth(6381, auth, &format!("cluster meet 127.0.0.1 {p}")), "OK");
    }
    for (p, range) in [(6381, "0 5460"), (6382, "5461 10922"), (6383, "10923 16383")] {
        assert_eq!(lab.cli_auth(p, auth, &format!("cluster addslotsrange {range}")), "OK");
    }
    lab.sim.run_for(Duration::from_secs(3));
    let master = node_id(&lab, 6381);
    assert_eq!(lab.cli_auth(6384, auth, &format!("cluster replicate {master}")), "OK");
    lab.sim.run_for(Duration::from_secs(3));
    assert!(!server(&lab, 6384).master_link_up(), "without masterauth the sync is refused");
    lab.sim.apply(sim::Fault::Kill(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(15));
    let c = server(&lab, 6384).clr();
    assert!(c.me().is_slave(), "{}", c.nodes_text(false));
    assert!(!server(&lab, 6382).clr().state_ok);
    let why = "Currently unable to failover: Disconnected from master for longer than allowed. \
               Please check the 'cluster-replica-validity-factor' configuration option.";
    assert!(lab.log(6384).iter().any(|l| l == why), "{:#?}", lab.log(6384));
}

#[test]
fn a_replica_with_no_failover_stays_a_replica_and_says_so() {
    let mut lab = build(15, 2000);
    assert_eq!(lab.cli(6384, "config set cluster-replica-no-failover yes"), "OK");
    lab.sim.run_for(Duration::from_secs(2));
    let id = node_id(&lab, 6384);
    assert_eq!(flags_seen(&lab, 6382, &id), "slave,nofailover");
    lab.sim.apply(sim::Fault::Kill(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(10));
    assert!(server(&lab, 6384).clr().me().is_slave());
    assert!(!server(&lab, 6382).clr().state_ok, "nobody took the slots");
    // A manual failover is still allowed.
    assert_eq!(lab.cli(6384, "cluster failover force"), "OK");
    lab.sim.run_for(Duration::from_secs(1));
    assert!(server(&lab, 6384).clr().me().is_master());
}

#[test]
fn forget_blacklists_for_a_minute_and_reset_hard_renames() {
    let mut lab = build(16, 15000);
    let gone = node_id(&lab, 6386);
    // Every other node forgets 6386 and resets it, as del-node does.
    for p in [6381, 6382, 6383, 6384, 6385] {
        assert_eq!(lab.cli(p, &format!("cluster forget {gone}")), "OK");
    }
    assert_eq!(
        lab.cli(6386, &format!("cluster forget {gone}")),
        "(error) ERR I tried hard but I can't forget myself..."
    );
    let master = node_id(&lab, 6383);
    assert_eq!(lab.cli(6386, &format!("cluster forget {master}")), "(error) ERR Can't forget my master!");
    assert_eq!(lab.cli(6381, &format!("cluster forget {gone}")), format!("(error) ERR Unknown node {gone}"));
    // 6386 still gossips about itself, but the ban keeps it out.
    lab.sim.run_for(Duration::from_secs(30));
    assert_eq!(lab.cli(6381, "cluster info").lines().nth(5), Some("cluster_known_nodes:5"));
    assert_eq!(lab.cli(6386, "cluster reset hard"), "OK");
    let renamed = node_id(&lab, 6386);
    assert_ne!(renamed, gone);
    assert!(lab.log(6386).contains(&format!("Node hard reset, now I'm {renamed}")));
    assert_eq!(lab.cli(6386, "cluster info").lines().nth(5), Some("cluster_known_nodes:1"));
    assert!(lab.cli(6386, "cluster info").contains("cluster_current_epoch:0\r\ncluster_my_epoch:0\r\n"));
    assert_eq!(lab.cli(6386, "dbsize"), "(integer) 0", "a replica flushes its data on reset");
    assert_eq!(lab.cli(6381, "set k2 x"), "OK");
    assert_eq!(
        lab.cli(6381, "cluster reset"),
        "(error) ERR CLUSTER RESET can't be called with master nodes containing keys"
    );
}

#[test]
fn publish_reaches_subscribers_on_every_node_through_the_bus() {
    use crate::tests_pubsub::Wire;
    let mut lab = build(17, 15000);
    let host = lab.sim.host_by_name("localhost").unwrap();
    let sub = lab.sim.add_process(
        host,
        "subscriber",
        Box::new(|| Box::new(Wire { port: 6385, conn: None, received: Vec::new(), closed: false })),
    );
    lab.sim.apply(sim::Fault::Start(sub)).unwrap();
    lab.sim.run_for(Duration::from_millis(5));
    let mut bytes = Vec::new();
    resp::encode_command(&[b"SUBSCRIBE".as_slice(), b"news"], &mut bytes);
    lab.sim.with_process::<Wire, _>(sub, |w, ctx| ctx.send(w.conn.unwrap(), &bytes));
    lab.sim.run_for(Duration::from_millis(5));
    let before = lab.cli(6382, "cluster info");
    assert!(!before.contains("publish_received"));
    // Only the local subscribers count in the reply; the bus carries it to the others.
    assert_eq!(lab.cli(6381, "publish news hello"), "(integer) 0");
    lab.sim.run_for(Duration::from_millis(5));
    let got = lab.sim.process::<Wire>(sub).unwrap().received.clone();
    assert!(
        String::from_utf8_lossy(&got).ends_with("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(lab.cli(6382, "cluster info").contains("cluster_stats_messages_publish_received:1\r\n"));
    assert!(lab.cli(6381, "cluster info").contains("cluster_stats_messages_publish_sent:5\r\n"));
}

#[test]
fn resp3_clients_get_cluster_maps_and_verbatim_text() {
    use crate::tests_pubsub::Wire;
    let mut lab = build_masters(5, "");
    let host = lab.sim.host_by_name("localhost").unwrap();
    let wire = lab.sim.add_process(
        host,
        "resp3",
        Box::new(|| Box::new(Wire { port: 6381, conn: None, received: Vec::new(), closed: false })),
    );
    lab.sim.apply(sim::Fault::Start(wire)).unwrap();
    lab.sim.run_for(Duration::from_millis(5));
    let send = |lab: &mut Lab, line: &str| {
        let mut bytes = Vec::new();
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut bytes);
        lab.sim.with_process::<Wire, _>(wire, |w, ctx| ctx.send(w.conn.unwrap(), &bytes));
        lab.sim.run_for(Duration::from_millis(5));
        let got = lab.sim.with_process::<Wire, _>(wire, |w, _| std::mem::take(&mut w.received)).unwrap();
        String::from_utf8(got).unwrap()
    };
    // Shapes as redis-server 7.0.15 in cluster mode sent them after HELLO 3.
    let hello = send(&mut lab, "HELLO 3");
    assert!(hello.starts_with("%7\r\n") && hello.contains("$4\r\nmode\r\n$7\r\ncluster\r\n"), "{hello}");
    let shards = send(&mut lab, "CLUSTER SHARDS");
    assert!(shards.starts_with("*3\r\n%2\r\n$5\r\nslots\r\n*2\r\n"), "{shards}");
    assert!(shards.contains("$5\r\nnodes\r\n*1\r\n%7\r\n$2\r\nid\r\n$40\r\n"), "{shards}");
    let slots = send(&mut lab, "CLUSTER SLOTS");
    assert!(slots.starts_with("*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:6381\r\n$40\r\n"), "{slots}");
    assert!(slots.contains("\r\n%0\r\n"), "{slots}");
    let info = send(&mut lab, "CLUSTER INFO");
    let (head, text) = info.split_once("\r\ntxt:cluster_state:ok\r\n").expect("verbatim CLUSTER INFO");
    assert_eq!(head, format!("={}", text.len() - 2 + 4 + "cluster_state:ok\r\n".len()));
    // The same commands over RESP2 stay flat arrays and bulk strings.
    send(&mut lab, "HELLO 2");
    assert!(send(&mut lab, "CLUSTER SHARDS").starts_with("*3\r\n*4\r\n$5\r\nslots\r\n"));
    assert!(send(&mut lab, "CLUSTER INFO").starts_with("$"));
}

#[test]
fn peer_addresses_are_written_as_their_dotted_text() {
    let every_octet = (0..=255u8).flat_map(|o| [[o, 0, 0, 1], [10, o, 3, 17], [127, 0, o, 1], [255, 9, 99, o]]);
    for ip in [[0, 0, 0, 0], [255, 255, 255, 255]].into_iter().chain(every_octet) {
        let ip = std::net::Ipv4Addr::from(ip);
        assert_eq!(super::NodeIp::from_v4(ip), super::NodeIp::new(&ip.to_string()));
        assert_eq!(super::NodeIp::from_v4(ip).as_str(), ip.to_string());
    }
}

#[test]
fn a_new_node_takes_the_lowest_free_table_entry() {
    use super::{Cluster, NodeName};
    let name = |k: usize| NodeName::parse(&format!("{k:040x}")).expect("40 hex digits");
    let mut c = Cluster::new(name(0), 0);
    let entries: Vec<usize> = (1..=6).map(|k| c.create_node(name(k), 0, 0)).collect();
    assert_eq!(entries, [1, 2, 3, 4, 5, 6], "entry 0 is myself");
    for i in [4, 2, 5] {
        c.del_node(i);
    }
    assert_eq!(c.create_node(name(7), 0, 0), 2);
    assert_eq!(c.create_node(name(8), 0, 0), 4);
    assert_eq!(c.create_node(name(9), 0, 0), 5);
    assert_eq!(c.create_node(name(10), 0, 0), 7, "full: the table grows");
    assert_eq!(c.lookup(&name(8)), Some(4));
    assert_eq!(c.lookup(&name(4)), None);
}

/// `port`'s view of slot ownership, replayed from its `SlotRange` observations
/// up to `until` ns.
fn observed_owners(lab: &Lab, port: u16, until: u64) -> Vec<Option<String>> {
    let mut owners = vec![None; super::SLOTS];
    for (at, who, obs) in lab.sim.observations() {
        if let sim::Observation::SlotRange { first, last, owner } = obs
            && who == proc(lab, port)
            && at.as_nanos() <= until
        {
            owners[*first as usize..=*last as usize].fill(owner.clone());
        }
    }
    owners
}

#[test]
fn observations_show_a_failover_replica_taking_its_masters_slots() {
    use sim::{Health, Observation, Role};
    let mut lab = build(3, 2000);
    let (old, new) = (node_id(&lab, 6381), node_id(&lab, 6384));
    let killed_at = lab.sim.now().as_nanos();
    for port in [6384, 6382] {
        let owners = observed_owners(&lab, port, killed_at);
        assert!(owners[..=5460].iter().all(|o| o.as_deref() == Some(&*old)), "{port}");
        assert!(owners[5461..].iter().all(|o| o.is_some() && o.as_deref() != Some(&*old)), "{port}");
    }
    lab.sim.apply(sim::Fault::Stop(proc(&lab, 6381))).unwrap();
    lab.sim.run_for(Duration::from_secs(8));
    assert!(server(&lab, 6384).clr().me().is_master());
    for port in [6384, 6382, 6383] {
        let owners = observed_owners(&lab, port, u64::MAX);
        assert!(owners[..=5460].iter().all(|o| o.as_deref() == Some(&*new)), "{port} sees the replica own them");
        assert!(owners[5461..].iter().all(|o| o.is_some() && o.as_deref() != Some(&*new)), "{port}");
    }
    // Replayed, every survivor's observations give exactly its table.
    for port in [6382, 6383, 6384, 6385, 6386] {
        let c = server(&lab, port).clr();
        let table: Vec<Option<String>> =
            (0..super::SLOTS).map(|s| c.owner(s).map(|i| c.node(i).name().to_string())).collect();
        assert!(observed_owners(&lab, port, u64::MAX) == table, "{port}");
    }
    let promoted: Vec<(u64, Observation)> = lab
        .sim
        .observations()
        .filter(|(at, who, _)| *who == proc(&lab, 6384) && at.as_nanos() > killed_at)
        .map(|(at, _, o)| (at.as_nanos(), o.clone()))
        .collect();
    let role_at = promoted.iter().find(|(_, o)| *o == Observation::Role { role: Role::Master, master: None });
    let epoch = server(&lab, 6384).clr().me().config_epoch;
    let epoch_at = promoted.iter().find(|(_, o)| matches!(o, Observation::Epoch { config, .. } if *config == epoch));
    let (role_at, epoch_at) = (role_at.expect("a role").0, epoch_at.expect("its new epoch").0);
    assert!(epoch_at >= role_at, "the epoch is taken with the promotion");
    // The survivors suspected the old master, then agreed it failed.
    let health: Vec<Health> = lab
        .sim
        .observations()
        .filter_map(|(_, who, o)| match o {
            Observation::Peer { peer, health } if who == proc(&lab, 6382) && *peer == old => Some(*health),
            _ => None,
        })
        .collect();
    assert_eq!(health.first(), Some(&Health::Suspect), "{health:?}");
    assert!(health.contains(&Health::Failed), "{health:?}");
}

/// CLUSTER SLOTS as the server built it for every call before it kept its
/// reply: each run, its master, then its replicas neither failed nor
/// without a replication offset.
fn cluster_slots_afresh(s: &Server) -> resp::Value {
    use resp::Value;
    let c = s.clr();
    let entry = |i: usize| {
        let n = c.node(i);
        let (ip, name) = (n.ip().to_string(), n.name().to_string());
        Value::Array(vec![Value::bulk(ip), Value::Integer(i64::from(n.port())), Value::bulk(name), Value::Map(vec![])])
    };
    let runs = c.owner_runs().into_iter().map(|(start, end, o)| {
        let replicas = c.node(o).replicas.iter().filter(|&&r| !c.node(r).failed() && s.node_offset(r) != 0);
        let head = [Value::Integer(start as i64), Value::Integer(end as i64), entry(o)];
        Value::Array(head.into_iter().chain(replicas.map(|&r| entry(r))).collect())
    });
    Value::Array(runs.collect())
}

#[test]
fn cluster_slots_keeps_its_reply_only_while_what_it_shows_holds_still() {
    let mut lab = build(7, 2000);
    let mut seen = std::collections::BTreeSet::new();
    let mut check = |lab: &mut Lab| {
        for p in PORTS {
            // A stopped node has no server to ask.
            let Some(s) = lab.sim.process::<Server>(proc(lab, p)) else { continue };
            // As a RESP2 client (redis-cli) reads it.
            let mut decoder = resp::ReplyDecoder::default();
            let mut bytes = Vec::new();
            cluster_slots_afresh(s).encode_for(resp::Protocol::Resp2, &mut bytes);
            decoder.feed(&bytes);
            let resp::Decoded::Value(reply) = decoder.next_value() else { panic!("a whole reply") };
            let want = resp::render(&reply);
            assert_eq!(lab.cli(p, "cluster slots"), want, "CLUSTER SLOTS of {p}");
            seen.insert(want);
        }
    };
    check(&mut lab);
    // The master of 0-5460 dies, its replica takes over, and it comes back
    // as a replica that syncs: the reply changes at each step.
    lab.sim.apply(sim::Fault::Stop(proc(&lab, 6381))).unwrap();
    for _ in 0..80 {
        lab.sim.run_for(Duration::from_millis(100));
        check(&mut lab);
    }
    lab.sim.apply(sim::Fault::Start(proc(&lab, 6381))).unwrap();
    for _ in 0..60 {
        lab.sim.run_for(Duration::from_millis(100));
        check(&mut lab);
    }
    // A manual failover swaps master and replica: a reply of the same shape.
    assert_eq!(lab.cli(6381, "cluster failover"), "OK");
    for _ in 0..30 {
        lab.sim.run_for(Duration::from_millis(100));
        check(&mut lab);
    }
    assert!(server(&lab, 6381).clr().me().is_master());
    // Before, without 6384 (failed), 6384 as master (6381 failed, then back), 6381 master again.
    assert!(seen.len() >= 4, "{seen:#?}");
}

/// Every field the `cluster-info` condition reads one at a time is the value
/// of that line in CLUSTER INFO's text, through a failover (slots moving to
/// pfail, fail and back to ok, epochs rising, counters growing).
#[test]
fn each_cluster_info_field_is_the_texts_value() {
    let mut lab = build(7, 2000);
    lab.sim.apply(sim::Fault::Stop(proc(&lab, 6381))).unwrap();
    let mut states = std::collections::BTreeSet::new();
    for _ in 0..80 {
        lab.sim.run_for(Duration::from_millis(100));
        for p in [6382, 6383, 6384, 6385, 6386] {
            let s = server(&lab, p);
            let text = s.cluster_info_text().expect("cluster mode");
            for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                let (name, value) = line.split_once(':').expect("name:value");
                assert_eq!(s.cluster_info_field(name).as_deref(), Some(value), "{p}: {name}");
            }
            states.insert(s.cluster_info_field("cluster_slots_pfail").unwrap_or_default() != "0");
            assert_eq!(s.cluster_info_field("cluster_stat"), None);
            assert_eq!(s.cluster_info_field("cluster_state:ok"), None);
        }
    }
    assert_eq!(states.len(), 2, "the run should show slots in pfail and none");
}

#[test]
fn addslots_and_delslots_report_the_first_fault_in_the_order_given() {
    let mut lab = Lab::new(3);
    start_node(&mut lab, 6381, 5000, Machinery::Fast);
    assert_eq!(lab.cli(6381, "cluster addslots 5 9 10 99 100"), "OK");
    // Each slot is checked as it comes: the busy one before the repeat.
    assert_eq!(lab.cli(6381, "cluster addslots 1 2 9 1"), "(error) ERR Slot 9 is already busy");
    assert_eq!(lab.cli(6381, "cluster addslots 1 2 1 9"), "(error) ERR Slot 1 specified multiple times");
    assert_eq!(lab.cli(6381, "cluster addslotsrange 20 30 25 40"), "(error) ERR Slot 25 specified multiple times");
    assert_eq!(lab.cli(6381, "cluster addslotsrange 20 30 8 12"), "(error) ERR Slot 9 is already busy");
    assert_eq!(lab.cli(6381, "cluster delslots 5 6 5"), "(error) ERR Slot 6 is already unassigned");
    assert_eq!(lab.cli(6381, "cluster delslots 5 9 5"), "(error) ERR Slot 5 specified multiple times");
    assert_eq!(lab.cli(6381, "cluster delslotsrange 9 10 99 100"), "OK");
    // A refused command changed nothing; the accepted ones did.
    let info = lab.cli(6381, "cluster info");
    assert!(info.contains("cluster_slots_assigned:1\r\n") || info.contains("cluster_slots_assigned:1\n"), "{info}");
    assert_eq!(lab.cli(6381, "cluster countkeysinslot 5"), "(integer) 0");
    assert_eq!(lab.cli(6381, "cluster addslotsrange 0 16383"), "(error) ERR Slot 5 is already busy");
}
