//! Shard channels in a six-node cluster, against what a 3-master/3-replica
//! redis-server 7.0.15 cluster (built with `redis-cli --cluster create`) did
//! for the same steps: routing, SPUBLISH over the bus to the shard only, and
//! subscribers dropped when their shard loses the slot (migration, failover).

use super::tests_cluster::{Lab, build, node_id};
use crate::tests_pubsub::Wire;
use std::time::Duration;

/// Opens a raw connection to `port`.
fn wire(lab: &mut Lab, name: &str, port: u16) -> sim::ProcId {
    let host = lab.sim.host_by_name("localhost").unwrap();
    let w = lab.sim.add_process(
        host,
        name,
        Box::new(move || Box::new(Wire { port, conn: None, received: Vec::new(), closed: false })),
    );
    lab.sim.apply(sim::Fault::Start(w)).unwrap();
    lab.sim.run_for(Duration::from_millis(5));
    w
}

/// Sends `line` on `w`, lets 5 ms pass and returns what `w` received.
fn send(lab: &mut Lab, w: sim::ProcId, line: &str) -> String {
    let mut bytes = Vec::new();
    resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut bytes);
    lab.sim.with_process::<Wire, _>(w, |w, ctx| ctx.send(w.conn.unwrap(), &bytes));
    lab.sim.run_for(Duration::from_millis(5));
    take(lab, w)
}

fn take(lab: &mut Lab, w: sim::ProcId) -> String {
    let got = lab.sim.with_process::<Wire, _>(w, |w, _| std::mem::take(&mut w.received)).unwrap();
    String::from_utf8(got).unwrap()
}

fn stat(lab: &mut Lab, port: u16, name: &str) -> Option<String> {
    let info = lab.cli(port, "cluster info");
    info.lines().find_map(|l| l.strip_prefix(&format!("cluster_stats_messages_{name}:")).map(str::to_owned))
}

const SMESSAGE_HELLO: &str = "*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";

#[test]
fn spublish_reaches_the_shard_only_and_replicas_serve_shard_channels() {
    let mut lab = build(17, 15000);
    // "news" hashes to 5161: 6381's, replicated by 6384.
    let master = wire(&mut lab, "master-sub", 6381);
    let replica = wire(&mut lab, "replica-sub", 6384);
    let other = wire(&mut lab, "other-sub", 6382);
    let confirm = "*3\r\n$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n";
    assert_eq!(send(&mut lab, master, "SSUBSCRIBE news"), confirm);
    // A replica serves its master's shard channels without READONLY.
    assert_eq!(send(&mut lab, replica, "SSUBSCRIBE news"), confirm);
    assert_eq!(send(&mut lab, other, "SSUBSCRIBE news"), "-MOVED 5161 127.0.0.1:6381\r\n");
    assert_eq!(
        send(&mut lab, other, "SSUBSCRIBE news b"),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(send(&mut lab, other, "SUNSUBSCRIBE x"), "-MOVED 16287 127.0.0.1:6383\r\n");
    assert_eq!(send(&mut lab, other, "SUBSCRIBE news"), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    assert_eq!(stat(&mut lab, 6381, "publishshard_sent"), None);
    // Only the local subscribers count; the bus carries it to the shard's replica.
    assert_eq!(lab.cli(6381, "spublish news hello"), "(integer) 1");
    lab.sim.run_for(Duration::from_millis(5));
    assert_eq!(take(&mut lab, master), SMESSAGE_HELLO);
    assert_eq!(take(&mut lab, replica), SMESSAGE_HELLO);
    assert_eq!(take(&mut lab, other), "", "a plain subscriber of another shard gets nothing");
    assert_eq!(stat(&mut lab, 6381, "publishshard_sent").as_deref(), Some("1"));
    assert_eq!(stat(&mut lab, 6384, "publishshard_received").as_deref(), Some("1"));
    assert_eq!(stat(&mut lab, 6382, "publishshard_received"), None);
    // From the replica, it reaches the master's subscribers.
    assert_eq!(lab.cli(6384, "spublish news hello"), "(integer) 1");
    lab.sim.run_for(Duration::from_millis(5));
    assert_eq!(take(&mut lab, master), SMESSAGE_HELLO);
    assert_eq!(take(&mut lab, replica), SMESSAGE_HELLO);
    assert_eq!(lab.cli(6382, "spublish news hello"), "(error) MOVED 5161 127.0.0.1:6381");
    assert_eq!(lab.cli(6384, "pubsub shardnumsub news"), "1) \"news\"\n2) (integer) 1");
    assert_eq!(lab.cli(6382, "pubsub shardnumsub news"), "1) \"news\"\n2) (integer) 0");
}

#[test]
fn a_migrated_slot_takes_its_shard_channels_away_from_master_and_replica() {
    let mut lab = build(4, 15000);
    let (a, b) = (node_id(&lab, 6381), node_id(&lab, 6382));
    let master = wire(&mut lab, "master-sub", 6381);
    let replica = wire(&mut lab, "replica-sub", 6384);
    send(&mut lab, master, "SSUBSCRIBE news {news}x");
    send(&mut lab, replica, "SSUBSCRIBE news");
    assert_eq!(lab.cli(6382, &format!("cluster setslot 5161 importing {a}")), "OK");
    assert_eq!(lab.cli(6381, &format!("cluster setslot 5161 migrating {b}")), "OK");
    // No key lives in a shard channel: a migrating slot still serves it here.
    assert_eq!(lab.cli(6381, "spublish news during"), "(integer) 1");
    lab.sim.run_for(Duration::from_millis(5));
    assert_eq!(take(&mut lab, master), "*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$6\r\nduring\r\n");
    assert_eq!(take(&mut lab, replica), "*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$6\r\nduring\r\n");
    assert_eq!(lab.cli(6382, &format!("cluster setslot 5161 node {b}")), "OK");
    assert_eq!(lab.cli(6381, &format!("cluster setslot 5161 node {b}")), "OK");
    lab.sim.run_for(Duration::from_secs(1));
    assert_eq!(
        take(&mut lab, master),
        "*3\r\n$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$12\r\nsunsubscribe\r\n$7\r\n{news}x\r\n:0\r\n"
    );
    assert_eq!(take(&mut lab, replica), "*3\r\n$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    // Unsubscribed of everything, the client left subscribed mode.
    assert_eq!(send(&mut lab, master, "PING"), "+PONG\r\n");
    assert_eq!(lab.cli(6381, "spublish news after"), "(error) MOVED 5161 127.0.0.1:6382");
    assert_eq!(lab.cli(6382, "spublish news after"), "(integer) 0");
    assert_eq!(lab.cli(6381, "pubsub shardchannels"), "(empty array)");
}

#[test]
fn a_failover_drops_the_old_masters_shard_subscribers_only() {
    let mut lab = build(5, 15000);
    let master = wire(&mut lab, "master-sub", 6381);
    let replica = wire(&mut lab, "replica-sub", 6384);
    let plain = wire(&mut lab, "plain-sub", 6384);
    send(&mut lab, master, "SSUBSCRIBE b");
    send(&mut lab, replica, "SSUBSCRIBE b");
    send(&mut lab, plain, "SUBSCRIBE b");
    assert_eq!(lab.cli(6384, "cluster failover"), "OK");
    lab.sim.run_for(Duration::from_secs(3));
    assert!(lab.cli(6384, "role").starts_with("1) \"master\""));
    assert_eq!(take(&mut lab, master), "*3\r\n$12\r\nsunsubscribe\r\n$1\r\nb\r\n:0\r\n");
    assert_eq!(take(&mut lab, replica), "");
    assert_eq!(take(&mut lab, plain), "");
    assert_eq!(lab.cli(6384, "spublish b x"), "(integer) 1");
    assert_eq!(lab.cli(6381, "spublish b y"), "(integer) 0");
    lab.sim.run_for(Duration::from_millis(5));
    assert_eq!(
        take(&mut lab, replica),
        "*3\r\n$8\r\nsmessage\r\n$1\r\nb\r\n$1\r\nx\r\n*3\r\n$8\r\nsmessage\r\n$1\r\nb\r\n$1\r\ny\r\n"
    );
}

/// Keyspace notifications stay on the node that applied the write: on a real
/// 7.0.15 cluster with `notify-keyspace-events KEA` on every node only the
/// slot's owner published a SET's events (PUBLISH, unlike them, goes over the
/// bus). A replica tells of the writes of its master's stream itself.
#[test]
fn keyspace_events_stay_on_the_node_that_applied_the_write() {
    let mut lab = build(17, 15000);
    for port in 6381..=6386 {
        assert_eq!(lab.cli(port, "config set notify-keyspace-events KEA"), "OK");
    }
    // "news" hashes to 5161: 6381's, replicated by 6384.
    let owner = wire(&mut lab, "owner-sub", 6381);
    let other = wire(&mut lab, "other-sub", 6382);
    let replica = wire(&mut lab, "replica-sub", 6384);
    for w in [owner, other, replica] {
        send(&mut lab, w, "PSUBSCRIBE __keyevent@*");
    }
    assert_eq!(lab.cli(6381, "set news v"), "OK");
    lab.sim.run_for(Duration::from_millis(100));
    let set = "*4\r\n$8\r\npmessage\r\n$12\r\n__keyevent@*\r\n$18\r\n__keyevent@0__:set\r\n$4\r\nnews\r\n";
    assert_eq!(take(&mut lab, owner), set);
    assert_eq!(take(&mut lab, other), "");
    assert_eq!(take(&mut lab, replica), set);
}
