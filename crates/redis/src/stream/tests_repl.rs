//! What stream commands propagate (measured with MONITOR on a real 7.0.15
//! replica), auto IDs from the virtual clock, and replicas that end up with
//! the master's streams, groups and pending entries, by the command stream
//! and by full sync (the RDB).

use crate::keyspace::{Data, Db, Exec, Feed};
use crate::server::Server;
use crate::tests_repl::{Cluster, replica_conf};
use resp::RequestParser;
use std::time::Duration;

/// Runs `line` at `clock_ms` on a master; what it propagates, one command a string.
fn run(dbs: &mut [Db], clock_ms: i64, line: &str) -> (String, Vec<String>) {
    let args = resp::split_args(line.as_bytes()).unwrap();
    let mut feed = Feed::default();
    let mut x = Exec::new(dbs, &mut feed, true, 0, clock_ms);
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let reply = resp::render(&crate::commands::keyspace_named(&name, &args, &mut x));
    let mut parser = RequestParser::default();
    parser.feed(&feed.bytes);
    let mut out = Vec::new();
    while parser.next_command(false).unwrap() {
        out.push(parser.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "));
    }
    (reply, out)
}

#[test]
fn auto_ids_come_from_the_virtual_clock_and_never_go_back() {
    let mut dbs = vec![Db::default()];
    assert_eq!(run(&mut dbs, 1000, "XADD s * a 1"), ("\"1000-0\"".into(), vec!["XADD s 1000-0 a 1".into()]));
    assert_eq!(run(&mut dbs, 1000, "XADD s * a 2").1, ["XADD s 1000-1 a 2"]);
    // A clock that went back (a wall-clock step) continues the sequence.
    assert_eq!(run(&mut dbs, 900, "XADD s * a 3").1, ["XADD s 1000-2 a 3"]);
    assert_eq!(run(&mut dbs, 2000, "XADD s 1000-* a 4").1, ["XADD s 1000-3 a 4"]);
    assert_eq!(run(&mut dbs, 2000, "XADD s 1500-* a 5").1, ["XADD s 1500-0 a 5"]);
    assert_eq!(run(&mut dbs, 2500, "XADD s * a 6").0, "\"2500-0\"");
}

/// The forms MONITOR showed on a real replica.
#[test]
fn propagation_is_what_redis_propagates() {
    let mut dbs = vec![Db::default()];
    let p = |dbs: &mut Vec<Db>, clock, line| run(dbs, clock, line).1;
    assert_eq!(p(&mut dbs, 10, "XADD r * a 1"), ["XADD r 10-0 a 1"]);
    assert_eq!(p(&mut dbs, 11, "XADD r MAXLEN ~ 1 * b 2"), ["XADD r MAXLEN = 2 11-0 b 2"]);
    assert_eq!(p(&mut dbs, 12, "XADD r MAXLEN ~ 1 LIMIT 0 * d 4"), ["XADD r MAXLEN = 3 LIMIT 0 12-0 d 4"]);
    assert_eq!(p(&mut dbs, 13, "XADD r MINID ~ 0 * d 4"), ["XADD r MINID = 10-0 13-0 d 4"]);
    assert_eq!(
        p(&mut dbs, 14, "XTRIM r MINID ~ 99999999999999"),
        ["XTRIM r MINID = 18446744073709551615-18446744073709551615"]
    );
    assert_eq!(p(&mut dbs, 15, "XTRIM r MAXLEN 0"), Vec::<String>::new(), "nothing trimmed, nothing propagated");
    p(&mut dbs, 16, "XADD r 5000-0 c 3");
    p(&mut dbs, 16, "XADD r 5000-1 e 5");
    p(&mut dbs, 16, "XADD r 5000-2 e 6");
    assert_eq!(p(&mut dbs, 17, "XGROUP CREATE r g 0"), ["XGROUP CREATE r g 0"]);
    assert_eq!(
        p(&mut dbs, 18, "XREADGROUP GROUP g alice COUNT 1 STREAMS r >"),
        ["XCLAIM r g alice 0 5000-0 TIME 18 RETRYCOUNT 1 FORCE JUSTID LASTID 5000-0"]
    );
    assert_eq!(
        p(&mut dbs, 19, "XREADGROUP GROUP g bob NOACK STREAMS r >"),
        ["MULTI", "XGROUP CREATECONSUMER r g bob", "XGROUP SETID r g 5000-2 ENTRIESREAD 7", "EXEC"]
    );
    assert_eq!(p(&mut dbs, 20, "XREADGROUP GROUP g carol STREAMS r >"), Vec::<String>::new());
    assert_eq!(p(&mut dbs, 21, "XREADGROUP GROUP g alice STREAMS r 0"), Vec::<String>::new(), "history");
    assert_eq!(
        p(&mut dbs, 22, "XCLAIM r g carol 0 5000-1 LASTID 99999999999999-0"),
        ["XGROUP SETID r g 99999999999999-0 ENTRIESREAD 7"]
    );
    assert_eq!(
        p(&mut dbs, 23, "XAUTOCLAIM r g dave 0 0"),
        ["XCLAIM r g dave 0 5000-0 TIME 23 RETRYCOUNT 3 FORCE JUSTID LASTID 99999999999999-0"]
    );
    assert_eq!(p(&mut dbs, 24, "XACK r g 5000-1"), Vec::<String>::new(), "not pending");
    assert_eq!(p(&mut dbs, 25, "XDEL r 5000-1 1-1"), ["XDEL r 5000-1 1-1"]);
    assert_eq!(p(&mut dbs, 26, "XGROUP DELCONSUMER r g zed"), Vec::<String>::new(), "no such consumer");
    // A pending entry whose message is gone is dropped, and that propagates.
    p(&mut dbs, 27, "XCLAIM r g erin 0 5000-2 FORCE");
    p(&mut dbs, 28, "XDEL r 5000-2");
    assert_eq!(
        p(&mut dbs, 29, "XCLAIM r g erin 0 5000-2"),
        ["XCLAIM r g erin 0 5000-2 TIME 27 RETRYCOUNT 1 FORCE JUSTID LASTID 99999999999999-0"]
    );
}

/// Idle times are the virtual clock's: XPENDING's idle and XINFO CONSUMERS' idle.
#[test]
fn idle_times_follow_the_virtual_clock() {
    let mut dbs = vec![Db::default()];
    run(&mut dbs, 1, "XADD s 1-0 a 1");
    run(&mut dbs, 1, "XGROUP CREATE s g 0");
    run(&mut dbs, 1000, "XREADGROUP GROUP g c STREAMS s >");
    let (reply, _) = run(&mut dbs, 3500, "XPENDING s g - + 10");
    assert_eq!(reply, "1) 1) \"1-0\"\n   2) \"c\"\n   3) (integer) 2500\n   4) (integer) 1");
    assert_eq!(run(&mut dbs, 3500, "XPENDING s g IDLE 2501 - + 10").0, "(empty array)");
    assert!(run(&mut dbs, 4000, "XINFO CONSUMERS s g").0.ends_with("(integer) 3000"));
    assert_eq!(run(&mut dbs, 4000, "XCLAIM s g d 3001 1-0 JUSTID").0, "(empty array)", "idle 3000 < 3001");
    assert_eq!(run(&mut dbs, 4000, "XCLAIM s g d 3000 1-0 JUSTID IDLE 500").0, "1) \"1-0\"");
    assert!(run(&mut dbs, 4000, "XPENDING s g - + 10").0.contains("(integer) 500"));
}

fn stream_of(c: &Cluster, port: u16, key: &[u8]) -> crate::stream::Stream {
    let p = c.sim.proc_by_name(&port.to_string()).unwrap();
    match c.sim.process::<Server>(p).unwrap().dbs[0].keys.get(key) {
        Some(Data::Stream(s)) => (**s).clone(),
        other => panic!("{port}: {other:?}"),
    }
}

/// Everything but the consumers' seen times, which are each node's own
/// clock, and the groups' read counters, which Redis 7.0 does not keep in
/// step (see [`a_replicas_read_counter_lags_as_in_redis`]).
fn comparable(mut s: crate::stream::Stream) -> crate::stream::Stream {
    for g in s.groups.values_mut() {
        g.consumers.values_mut().for_each(|c| c.seen_time = 0);
        g.entries_read = None;
    }
    s
}

/// XREADGROUP propagates XCLAIM ... LASTID, which moves a replica's group but
/// not its read counter; only NOACK's XGROUP SETID ... ENTRIESREAD sets it.
/// Measured on a real 7.0.15 pair with this very sequence: the master says
/// entries-read 9 lag 11, its replica entries-read 5 lag 15.
#[test]
fn a_replicas_read_counter_lags_as_in_redis() {
    let mut c = Cluster::new(3);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    for i in 1..=20 {
        c.cli(6379, &format!("XADD q {i}-0 f v"));
    }
    c.cli(6379, "XGROUP CREATE q g 0");
    c.cli(6379, "XREADGROUP GROUP g alice COUNT 3 STREAMS q >");
    c.cli(6379, "XREADGROUP GROUP g bob NOACK COUNT 2 STREAMS q >");
    c.cli(6379, "XREADGROUP GROUP g carol COUNT 4 STREAMS q >");
    c.sim.run_for(Duration::from_millis(100));
    let groups = |c: &mut Cluster, port| c.cli(port, "XINFO GROUPS q").replace('\n', " ");
    let line = |read, lag| {
        format!(
            "1)  1) \"name\"     2) \"g\"     3) \"consumers\"     4) (integer) 3     5) \"pending\"     6) (integer) 7     7) \"last-delivered-id\"     8) \"9-0\"     9) \"entries-read\"    10) (integer) {read}    11) \"lag\"    12) (integer) {lag}"
        )
    };
    assert_eq!(groups(&mut c, 6379), line(9, 11));
    assert_eq!(groups(&mut c, 6380), line(5, 15));
}

const WORKLOAD: &[&str] = &[
    "XADD s MAXLEN ~ 150 * f v",
    "XGROUP CREATE s g 0",
    "XGROUP CREATE s h $ MKSTREAM",
    "XREADGROUP GROUP g alice COUNT 30 STREAMS s >",
    "XREADGROUP GROUP g bob NOACK COUNT 10 STREAMS s >",
    "XREADGROUP GROUP g carol COUNT 5 STREAMS s >",
    "XAUTOCLAIM s g dave 0 0 COUNT 3",
    "XTRIM s MAXLEN 140",
];

fn apply_workload(c: &mut Cluster) {
    for line in WORKLOAD {
        let n = if line.starts_with("XADD") { 300 } else { 1 };
        for _ in 0..n {
            let out = c.cli(6379, line);
            assert!(!out.starts_with("(error)"), "{line}: {out}");
        }
    }
}

#[test]
fn a_replica_keeps_the_masters_streams_by_the_command_stream_and_by_full_sync() {
    let mut c = Cluster::new(7);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    apply_workload(&mut c);
    c.sim.run_for(Duration::from_secs(1));
    let master = stream_of(&c, 6379, b"s");
    assert!(master.groups[b"g".as_slice()].pel.len() > 20 && master.nodes.len() > 1, "{master:?}");
    let replica = comparable(stream_of(&c, 6380, b"s"));
    assert_eq!(replica, comparable(master.clone()), "by the command stream");
    // A replica that joins later loads it all from the master's RDB.
    c.server(6381, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6381, "master_link_status"), "up");
    assert_eq!(stream_of(&c, 6381, b"s"), master, "by full sync, seen times included");
    assert_eq!(c.cli(6381, "TYPE s"), "stream");
}

/// Opens a raw connection to `port` and sends `line` on it (a client that blocks).
fn blocked_client(c: &mut Cluster, port: u16, name: &str, line: &str) -> sim::ProcId {
    use crate::tests_pubsub::Wire;
    let host = c.sim.host_by_name("localhost").unwrap();
    let w = c.sim.add_process(
        host,
        name,
        Box::new(move || Box::new(Wire { port, conn: None, received: Vec::new(), closed: false })),
    );
    c.sim.apply(sim::Fault::Start(w)).unwrap();
    c.sim.run_for(Duration::from_millis(5));
    let mut bytes = Vec::new();
    resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut bytes);
    c.sim.with_process::<Wire, _>(w, |w, ctx| ctx.send(w.conn.unwrap(), &bytes));
    c.sim.run_for(Duration::from_millis(5));
    w
}

fn received(c: &mut Cluster, w: sim::ProcId) -> String {
    let got = c.sim.with_process::<crate::tests_pubsub::Wire, _>(w, |w, _| std::mem::take(&mut w.received)).unwrap();
    String::from_utf8(got).unwrap()
}

/// As a real 7.0.15 pair did: an XREAD BLOCK on the replica is served by the
/// master's XADD coming down the stream, and a blocked XREADGROUP served on
/// the master propagates its XCLAIM, so the replica has the pending entry
/// (but not the read counter: entries-read stays nil there).
#[test]
fn blocked_reads_are_served_on_replicas_and_propagate_as_the_plain_ones() {
    let mut c = Cluster::new(5);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    let on_replica = blocked_client(&mut c, 6380, "replica-reader", "XREAD BLOCK 0 STREAMS rep $");
    assert_eq!(c.cli(6379, "XGROUP CREATE rg grp $ MKSTREAM"), "OK");
    let on_master = blocked_client(&mut c, 6379, "group-reader", "XREADGROUP GROUP grp c1 BLOCK 0 STREAMS rg >");
    assert_eq!(received(&mut c, on_replica), "");
    assert_eq!(received(&mut c, on_master), "");
    assert_eq!(c.cli(6379, "XADD rep 1-1 f v"), "\"1-1\"");
    assert_eq!(c.cli(6379, "XADD rg 1-1 f v"), "\"1-1\"");
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(
        received(&mut c, on_replica),
        "*1\r\n*2\r\n$3\r\nrep\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(
        received(&mut c, on_master),
        "*1\r\n*2\r\n$2\r\nrg\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(
        c.cli(6380, "XPENDING rg grp"),
        "1) (integer) 1\n2) \"1-1\"\n3) \"1-1\"\n4) 1) 1) \"c1\"\n      2) \"1\""
    );
    let groups = c.cli(6380, "XINFO GROUPS rg").replace('\n', " ");
    assert!(groups.contains("\"last-delivered-id\"     8) \"1-1\"     9) \"entries-read\"    10) (nil)"), "{groups}");
}
