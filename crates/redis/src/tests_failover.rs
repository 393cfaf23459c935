//! FAILOVER (Redis 7.0's coordinated failover) on a simulated master and
//! replica, against what a real 7.0.15 pair answered and logged on
//! 2026-12-06: its errors, the wait for the replica's ACK with writes held,
//! the PSYNC ... FAILOVER that swaps the roles, TIMEOUT, FORCE and ABORT.

use crate::tests_repl::Cluster;
use redis_client::cli::RedisCli;
use sim::Fault;
use std::time::Duration;

/// A master on 6379 with a replica on 6380, synced, and one key.
fn pair() -> Cluster {
    let mut c = Cluster::new(24);
    c.server(6379, "save \"\"\n");
    c.server(6380, "save \"\"\nreplicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_millis(7300));
    assert_eq!(c.cli(6379, "set a 1"), "OK");
    c
}

fn background(c: &mut Cluster, port: u16, line: &str) -> sim::ProcId {
    let before = c.sim.procs().count();
    let _ = c.try_cli_within(port, None, line, Duration::from_millis(2));
    c.sim.procs().nth(before).expect("the client just added")
}

fn output(c: &Cluster, cli: sim::ProcId) -> Option<String> {
    c.sim.process::<RedisCli>(cli).and_then(|p| p.output.clone())
}

fn failover_state(c: &mut Cluster, port: u16) -> String {
    c.info_field(port, "master_failover_state")
}

/// The log from the last line starting with `first` on.
fn log_from(c: &Cluster, port: u16, first: &str) -> Vec<String> {
    let log = c.log(port);
    let at = log.iter().rposition(|l| l.starts_with(first)).unwrap_or_else(|| panic!("no {first} in {log:?}"));
    log[at..].to_vec()
}

#[test]
fn errors_match_the_real_server() {
    let mut c = Cluster::new(24);
    c.server(6381, "save \"\"\n");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6381, "FAILOVER"), "(error) ERR FAILOVER requires connected replicas.");
    let mut c = pair();
    for (line, want) in [
        ("FAILOVER ABORT", "ERR No failover in progress."),
        ("FAILOVER x", "ERR syntax error"),
        ("FAILOVER TIMEOUT 0", "ERR FAILOVER timeout must be greater than 0"),
        ("FAILOVER TIMEOUT -5", "ERR FAILOVER timeout must be greater than 0"),
        ("FAILOVER TIMEOUT abc", "ERR value is not an integer or out of range"),
        ("FAILOVER TO 127.0.0.1 abc", "ERR value is not an integer or out of range"),
        ("FAILOVER TO 127.0.0.1", "ERR syntax error"),
        ("FAILOVER FORCE", "ERR FAILOVER with force option requires both a timeout and target HOST and IP."),
        (
            "FAILOVER FORCE TIMEOUT 100",
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ),
        ("FAILOVER TO 127.0.0.1 7809", "ERR FAILOVER target HOST and PORT is not a replica."),
        ("FAILOVER TIMEOUT 10 TIMEOUT 20", "ERR syntax error"),
        ("FAILOVER FORCE FORCE", "ERR syntax error"),
        ("FAILOVER ABORT x", "ERR syntax error"),
        ("FAILOVER TO 127.0.0.1 6380 TO 1 2", "ERR syntax error"),
    ] {
        assert_eq!(c.cli(6379, line), format!("(error) {want}"), "{line}");
    }
    assert_eq!(c.cli(6380, "FAILOVER"), "(error) ERR FAILOVER is not valid when server is a replica.");
    assert_eq!(failover_state(&mut c, 6379), "no-failover");
}

#[test]
fn failover_to_waits_for_the_ack_then_swaps_roles() {
    let mut c = pair();
    assert_eq!(c.cli(6379, "set b 2"), "OK");
    assert_eq!(c.cli(6379, "FAILOVER TO 127.0.0.1 6380"), "OK");
    assert_eq!(failover_state(&mut c, 6379), "waiting-for-sync", "the replica has not acked `set b` yet");
    assert_eq!(c.cli(6379, "FAILOVER"), "(error) ERR FAILOVER already in progress.");
    assert_eq!(c.cli(6379, "REPLICAOF 1.2.3.4 5"), "(error) ERR REPLICAOF not allowed while failing over.");
    let held = background(&mut c, 6379, "set c 3");
    assert_eq!(c.cli(6379, "get b"), "\"2\"", "reads go on");
    // The replica acks once a second; the master fails over on that ACK.
    c.sim.run_for(Duration::from_millis(1100));
    assert_eq!(output(&c, held).as_deref(), Some("(error) READONLY You can't write against a read only replica."));
    assert_eq!(c.cli(6379, "ROLE").lines().next(), Some("1) \"slave\""));
    assert_eq!(c.cli(6380, "ROLE").lines().next(), Some("1) \"master\""));
    assert_eq!(
        (failover_state(&mut c, 6379), failover_state(&mut c, 6380)),
        ("no-failover".into(), "no-failover".into())
    );
    let old = log_from(&c, 6379, "FAILOVER requested");
    assert_eq!(
        old[..4],
        [
            "FAILOVER requested to 127.0.0.1:6380.",
            "Failover target 127.0.0.1:6380 is synced, failing over.",
            "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
            "Connecting to MASTER 127.0.0.1:6380",
        ]
    );
    assert!(old.iter().any(|l| l == "Successful partial resynchronization with master."), "{old:?}");
    let new = log_from(&c, 6380, "Failover request received for replid ");
    assert_eq!(
        new[1..4],
        [
            "Connection with master lost.",
            "Caching the disconnected master state.",
            "Discarding previously cached master state."
        ]
    );
    assert!(new[4].starts_with("Setting secondary replication ID to "), "{new:?}");
    assert!(new[5].starts_with("MASTER MODE enabled (failover request from 'id=") && new[5].contains(" cmd=psync "));
    assert_eq!(new[6], "Replica 127.0.0.1:6379 asks for synchronization");
    // The new master's writes reach the old one.
    assert_eq!(c.cli(6380, "set c 3"), "OK");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "get c"), "\"3\"");
    assert_eq!(c.cli(6379, "get b"), "\"2\"");
}

#[test]
fn a_failover_without_pending_writes_happens_at_once() {
    let mut c = pair();
    c.sim.run_for(Duration::from_millis(1100));
    // Measured: a SET sent right after FAILOVER, with the replica caught up, was already refused.
    assert_eq!(c.cli(6379, "FAILOVER"), "OK");
    assert_eq!(c.cli(6379, "set x 1"), "(error) READONLY You can't write against a read only replica.");
    assert_eq!(
        log_from(&c, 6379, "FAILOVER requested")[..2],
        ["FAILOVER requested to any replica.", "Failover target 127.0.0.1:6380 is synced, failing over."]
    );
}

#[test]
fn timeout_aborts_force_fails_over_and_abort_resumes_writes() {
    let mut c = pair();
    let replica = c.sim.proc_by_name("6380").unwrap();
    c.sim.apply(Fault::Pause(replica)).unwrap();
    assert_eq!(c.cli(6379, "set b 2"), "OK");
    assert_eq!(c.cli(6379, "FAILOVER TIMEOUT 300"), "OK");
    let held = background(&mut c, 6379, "set c 3");
    c.sim.run_for(Duration::from_millis(450));
    assert_eq!(
        log_from(&c, 6379, "FAILOVER to")[0],
        "FAILOVER to any replica aborted: Replica never caught up before timeout"
    );
    assert_eq!(output(&c, held).as_deref(), Some("OK"), "the held write ran once the failover ended");
    assert_eq!(c.cli(6379, "FAILOVER"), "OK");
    assert_eq!(c.cli(6379, "FAILOVER ABORT"), "OK");
    assert_eq!(log_from(&c, 6379, "FAILOVER to")[0], "FAILOVER to any replica aborted: Failover manually aborted");
    assert_eq!(c.cli(6379, "set d 4"), "OK");
    assert_eq!(c.cli(6379, "FAILOVER TO 127.0.0.1 6380 FORCE TIMEOUT 200"), "OK");
    c.sim.run_for(Duration::from_millis(350));
    assert_eq!(log_from(&c, 6379, "FAILOVER to")[0], "FAILOVER to 127.0.0.1:6380 time out exceeded, failing over.");
    assert_eq!(failover_state(&mut c, 6379), "failover-in-progress", "the target is paused: its PSYNC is unanswered");
    c.sim.apply(Fault::Resume(replica)).unwrap();
    c.sim.run_for(Duration::from_millis(500));
    assert_eq!(failover_state(&mut c, 6379), "no-failover");
    assert_eq!(c.cli(6380, "ROLE").lines().next(), Some("1) \"master\""));
    assert_eq!(c.cli(6380, "get d"), "\"4\"", "the replica had the writes in its socket");
}
