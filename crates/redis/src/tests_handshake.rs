//! The replica's handshake timing (issue 21, item 3), as replication.c 7.0
//! has it: after a diskless full sync the replica acks at once and the
//! master, reaping its sync child on that ACK if need be, starts the stream;
//! after +CONTINUE the first ACK is the periodic one (checked against the
//! real server: INFO shows `offset=0` for the replica until then).

use crate::tests_repl::Cluster;
use sim::Fault;
use std::time::Duration;

const NO_SAVE: &str = "save \"\"\n";

/// Runs until the master logs the end of the full sync; false if it never did.
fn until_synced(c: &mut Cluster) -> bool {
    for _ in 0..10_000 {
        c.sim.run_for(Duration::from_millis(1));
        if c.log(6379).iter().any(|l| l.starts_with("Synchronization with replica")) {
            return true;
        }
    }
    false
}

#[test]
fn writes_acked_right_after_a_full_sync_reach_the_replica_before_a_kill() {
    let mut c = Cluster::new(21);
    let master = c.server(6379, NO_SAVE);
    c.server(6380, &format!("{NO_SAVE}replicaof 127.0.0.1 6379\n"));
    assert!(until_synced(&mut c));
    for i in 0..20 {
        assert_eq!(c.cli(6379, &format!("set k{i} v")), "OK");
    }
    c.sim.apply(Fault::Kill(master)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6380, "dbsize"), "(integer) 20", "the stream started on the replica's first ACK");
    let log = c.log(6379);
    let streamed = log.iter().position(|l| l.starts_with("Streamed RDB transfer")).unwrap();
    assert_eq!(log[streamed - 1], "Background RDB transfer terminated with success", "reaped on the ACK");
}

#[test]
fn after_a_partial_resync_the_master_waits_for_the_periodic_ack() {
    let mut c = Cluster::new(21);
    c.server(6379, NO_SAVE);
    // Save points on the replica: its final save keeps the replication id and offset.
    let replica = c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_millis(7300));
    assert_eq!(c.cli(6379, "set a 1"), "OK");
    c.sim.run_for(Duration::from_millis(800));
    let slave0 = |c: &mut Cluster| c.cli(6379, "info replication").lines().nth(3).unwrap_or_default().to_owned();
    assert_eq!(slave0(&mut c), "slave0:ip=127.0.0.1,port=6380,state=online,offset=50,lag=0");
    assert_eq!(c.sim.stop_within(replica, Duration::from_secs(10)), Ok(true));
    c.sim.apply(Fault::Start(replica)).unwrap();
    for _ in 0..100 {
        if c.log(6380).iter().any(|l| l.starts_with("MASTER <-> REPLICA sync: Master accepted")) {
            break;
        }
        c.sim.run_for(Duration::from_millis(1));
    }
    assert!(c.log(6380).iter().any(|l| l == "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
    assert_eq!(slave0(&mut c), "slave0:ip=127.0.0.1,port=6380,state=online,offset=0,lag=0", "no ACK yet");
    // The ACK comes with the replica's replicationCron, every tenth serverCron
    // (each up to 1 ms late): about a second later.
    c.sim.run_for(Duration::from_millis(1100));
    assert_eq!(slave0(&mut c), "slave0:ip=127.0.0.1,port=6380,state=online,offset=50,lag=0");
}
