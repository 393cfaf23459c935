//! `redis-cli --cluster` end to end on simulated nodes: what it prints and
//! what it leaves behind, against redis-cli 7.0.15's output on a real loopback
//! cluster.

use crate::cluster_tool::{ToolClient, parse_command, run};
use crate::tests_repl::Cluster;
use sim::Fault;
use std::time::Duration;

/// Runs `--cluster <command>` from the servers' host; the printed lines and success.
pub(crate) fn tool(c: &mut Cluster, command: &str) -> (Vec<String>, bool) {
    let command = parse_command(command).unwrap();
    let host = c.sim.host_of(c.sim.procs().next().unwrap());
    let name = format!("tool{}", c.sim.procs().count());
    let p = c.sim.add_process(host, &name, Box::new(|| Box::new(ToolClient::default())));
    c.sim.apply(Fault::Start(p)).unwrap();
    let out = run(&mut c.sim, p, &command, None, Duration::from_secs(120));
    c.sim.apply(Fault::Kill(p)).unwrap();
    out
}

#[test]
fn command_lines_parse_like_redis_cli_and_bad_ones_say_why() {
    let c = parse_command("create 127.0.0.1:6381 127.0.0.1:6382 --cluster-replicas 1 --cluster-yes").unwrap();
    assert!(format!("{c:?}").contains("replicas: 1"));
    for (bad, why) in [
        ("", "the command is empty"),
        ("explode 1.2.3.4:5", "Unknown --cluster subcommand 'explode'"),
        ("check", "[ERR] Wrong number of arguments for specified --cluster sub command"),
        ("reshard 127.0.0.1:1 --cluster-slots many", "--cluster-slots: 'many' is not a number"),
        ("reshard 127.0.0.1:1 --cluster-colour red", "Unrecognized option: --cluster-colour"),
        ("rebalance 127.0.0.1:1 --cluster-weight", "--cluster-weight needs node=weight pairs"),
    ] {
        assert_eq!(parse_command(bad).unwrap_err(), why, "{bad}");
    }
}

#[test]
fn non_cluster_or_unreachable_nodes_are_refused() {
    let mut c = Cluster::new(41);
    c.server(6379, "");
    c.sim.run_for(Duration::from_millis(10));
    let (out, ok) = tool(&mut c, "check 127.0.0.1:6379");
    assert!(!ok);
    assert_eq!(out, ["[ERR] Node 127.0.0.1:6379 is not configured as a cluster node."]);
    let (out, ok) = tool(&mut c, "create 127.0.0.1:6399 127.0.0.1:6379 127.0.0.1:6379");
    assert!(!ok);
    assert_eq!(out, ["Could not connect to Redis at 127.0.0.1:6399: Connection refused"]);
    let (out, ok) = tool(&mut c, "info 127.0.0.1:x");
    assert!(!ok);
    assert_eq!(out, ["Invalid address format: 127.0.0.1:x"]);
}
