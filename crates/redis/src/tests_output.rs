//! Output buffers under flow control: a stopped replica's stream fills the
//! sockets, then waits in the master's output buffer for that replica
//! (CLIENT LIST's `omem`), drains when the replica runs again, and
//! `client-output-buffer-limit` closes the replica with Redis's log line
//! when the hard limit is reached or the soft one lasts too long.

use crate::tests_repl::Cluster;
use sim::{Fault, ProcId, SocketBuffers};
use std::time::Duration;

const VALUE_BYTES: usize = 1 << 20;

/// A master on 6379 (with `master_conf`) and a replica on 6380, in sync.
fn pair(master_conf: &str) -> (Cluster, ProcId) {
    let mut c = Cluster::new(7);
    c.server(6379, &format!("repl-diskless-sync-delay 0\n{master_conf}"));
    let replica = c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    (c, replica)
}

/// `n` SETs of a 1 MB value each, acknowledged.
fn write_mb(c: &mut Cluster, n: usize) {
    let value = "v".repeat(VALUE_BYTES);
    for i in 0..n {
        assert_eq!(c.cli(6379, &format!("set k{i} {value}")), "OK");
    }
}

/// The master's CLIENT LIST line for its replica, if it still has one.
fn replica_line(c: &mut Cluster) -> Option<String> {
    let list = c.cli(6379, "client list");
    list.lines().find(|l| l.contains(" flags=S ")).map(str::to_owned)
}

fn field(line: &str, name: &str) -> u64 {
    let value = line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap();
    value.parse().unwrap()
}

fn master_logged(c: &Cluster, text: &str) -> bool {
    c.log(6379).iter().any(|l| l.contains(text))
}

#[test]
fn a_stopped_replica_s_stream_waits_in_the_master_s_output_buffer_and_drains_on_resume() {
    let (mut c, replica) = pair("");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    write_mb(&mut c, 12);
    let line = replica_line(&mut c).expect("the replica is still connected");
    let omem = field(&line, "omem");
    assert!(line.contains(" events=rw "), "{line}");
    // The sockets hold the send buffer (autotuned to its max) and the
    // receive buffer (its default); the rest waits in the master.
    let b = SocketBuffers::LINUX;
    let in_sockets = u64::from(b.wmem[2]) + u64::from(b.rmem[1]);
    let offset: u64 = c.info_field(6379, "master_repl_offset").parse().unwrap();
    let replica_offset: u64 = c.info_field(6380, "master_repl_offset").parse().unwrap();
    assert_eq!(omem + in_sockets, offset - replica_offset, "{line}");
    assert!(omem > 7 * VALUE_BYTES as u64);
    c.sim.apply(Fault::Resume(replica)).unwrap();
    c.sim.run_for(Duration::from_secs(1));
    let line = replica_line(&mut c).unwrap();
    assert_eq!(field(&line, "omem"), 0, "{line}");
    assert_eq!(c.info_field(6380, "master_repl_offset"), c.info_field(6379, "master_repl_offset"));
    assert_eq!(c.cli(6380, "dbsize"), "(integer) 12");
    assert!(!master_logged(&c, "overcoming of output buffer limits"));
}

#[test]
fn a_replica_over_its_hard_limit_is_closed_with_redis_s_log_line() {
    let (mut c, replica) = pair("client-output-buffer-limit replica 3mb 1mb 60\n");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    write_mb(&mut c, 9);
    assert_eq!(replica_line(&mut c), None, "closed");
    let log = c.log(6379);
    let closed =
        log.iter().find(|l| l.ends_with("scheduled to be closed ASAP for overcoming of output buffer limits."));
    let closed = closed.unwrap_or_else(|| panic!("no output buffer line in {log:#?}"));
    assert!(closed.starts_with("Client id="), "{closed}");
    assert!(closed.contains(" flags=S "), "{closed}");
    assert!(field(closed, "omem") >= 3 << 20, "{closed}");
    assert!(log.iter().any(|l| l == "Connection with replica 127.0.0.1:6380 lost."));
    // Back on its feet, the replica syncs again from scratch: what it missed
    // is beyond the backlog.
    c.sim.apply(Fault::Resume(replica)).unwrap();
    c.sim.run_for(Duration::from_secs(8));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    assert_eq!(c.cli(6380, "dbsize"), "(integer) 9");
}

#[test]
fn the_soft_limit_closes_a_replica_only_once_it_lasted_longer_than_its_seconds() {
    let (mut c, replica) = pair("client-output-buffer-limit replica 0 2mb 3\n");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    write_mb(&mut c, 8);
    c.sim.run_for(Duration::from_secs(2));
    assert!(replica_line(&mut c).is_some(), "2 s over the soft limit: still connected");
    c.sim.run_for(Duration::from_secs(3));
    assert_eq!(replica_line(&mut c), None, "more than 3 s over it: closed");
    assert!(master_logged(&c, "scheduled to be closed ASAP for overcoming of output buffer limits."));
}

#[test]
fn client_output_buffer_limit_is_read_and_set_as_redis_does() {
    let (mut c, _) = pair("client-output-buffer-limit normal 1mb 0 0\nclient-output-buffer-limit pubsub 0 0 0\n");
    let get = "1) \"client-output-buffer-limit\"\n2) \"normal 1048576 0 0 slave 268435456 67108864 60 pubsub 0 0 0\"";
    assert_eq!(c.cli(6379, "config get client-output-buffer-limit"), get);
    assert_eq!(c.cli(6379, "config set client-output-buffer-limit \"slave 1mb 512kb 10\""), "OK");
    let get = "1) \"client-output-buffer-limit\"\n2) \"normal 1048576 0 0 slave 1048576 524288 10 pubsub 0 0 0\"";
    assert_eq!(c.cli(6379, "config get client-output-buffer-limit"), get);
    assert_eq!(
        c.cli(6379, "config set client-output-buffer-limit \"master 1 1 1\""),
        "(error) ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - \
         Invalid client class specified in buffer limit configuration."
    );
}
