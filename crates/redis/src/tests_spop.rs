//! SPOP: replies compared with a real Redis 7.0.15 (`redis-cli --no-raw`,
//! `*` where the members are random), and what it propagates compared with the
//! AOF a real 7.0.15 wrote (`appendonlydir/*.incr.aof`).

use crate::commands::keyspace_named;
use crate::keyspace::{Data, Db, Exec, Feed};
use crate::tests::lab;
use resp::{RequestParser, Value};

#[test]
fn replies_match_redis_where_they_are_not_random() {
    let mut l = lab();
    for line in include_str!("tests_spop_transcript.txt").lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        let got = l.cmd(cmd);
        if want != "*" {
            assert_eq!(got, want.replace("\\n", "\n"), "{cmd}");
        }
    }
}

/// Runs `line` on a master's database with `random` as the command's draw;
/// returns the reply and the propagated commands.
fn run(db: &mut [Db], line: &str, random: u64, in_multi: bool) -> (Value, Vec<String>) {
    let args = resp::split_args(line.as_bytes()).unwrap();
    let mut feed = Feed { enabled: true, in_multi, ..Feed::default() };
    let mut x = Exec::new(db, &mut feed, true, 0, 0);
    x.random = random;
    let reply = keyspace_named("spop", &args, &mut x);
    let mut parser = RequestParser::default();
    parser.feed(&feed.bytes);
    let mut out = Vec::new();
    while parser.next_command(false).unwrap() {
        out.push(parser.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "));
    }
    (reply, out)
}

fn members(reply: &Value) -> Vec<String> {
    match reply {
        Value::Set(v) | Value::Array(v) => v.iter().map(|m| resp::render(m).trim_matches('"').to_owned()).collect(),
        Value::Bulk(b) => vec![String::from_utf8_lossy(b).into_owned()],
        other => panic!("not members: {other:?}"),
    }
}

fn set_of(db: &[Db], key: &str) -> Vec<String> {
    match db[0].keys.get(key.as_bytes()) {
        Some(Data::Set(m)) => m.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect(),
        None => Vec::new(),
        other => panic!("{other:?}"),
    }
}

/// As the 7.0.15 AOF shows: `SPOP s 3` of 10 members is three SREMs in
/// MULTI/EXEC, a single pop is one bare SREM (no DEL when it empties the
/// set), and a count covering the set is one DEL.
#[test]
fn propagates_srems_in_multi_exec_and_a_del_for_the_whole_set() {
    let mut db = vec![Db::default()];
    db[0].keys.insert(b"s".to_vec(), Data::Set((1..=10).map(|i| i.to_string().into_bytes()).collect()));
    for seed in [1u64, 7, 99] {
        let mut db = db.clone();
        let (reply, stream) = run(&mut db, "spop s 3", seed, false);
        let popped = members(&reply);
        assert_eq!(popped.len(), 3);
        let mut want = vec!["MULTI".to_owned()];
        want.extend(popped.iter().map(|m| format!("SREM s {m}")));
        want.push("EXEC".to_owned());
        assert_eq!(stream, want);
        assert_eq!(set_of(&db, "s").len(), 7);
        assert!(popped.iter().all(|m| !set_of(&db, "s").contains(m)), "popped members are gone");
        // Inside EXEC the transaction's own MULTI/EXEC wraps them.
        let mut db = db.clone();
        let (_, stream) = run(&mut db, "spop s 2", seed, true);
        assert_eq!(stream.len(), 2, "{stream:?}");
        assert!(stream.iter().all(|c| c.starts_with("SREM s ")));
    }
    // 9 of 10: the strategy that draws the member that stays; the rest come in the set's order.
    let mut nine = db.clone();
    let (reply, stream) = run(&mut nine, "spop s 9", 5, false);
    let popped = members(&reply);
    let mut sorted = popped.clone();
    sorted.sort_by_key(|m| m.parse::<i64>().unwrap());
    assert_eq!(popped, sorted, "an intset's order");
    assert_eq!(stream.len(), 11);
    let left = set_of(&nine, "s");
    assert_eq!(left.len(), 1);
    let (reply, stream) = run(&mut nine, "spop s", 3, false);
    assert_eq!(members(&reply), left);
    assert_eq!(stream, [format!("SREM s {}", left[0])]);
    assert!(nine[0].keys.is_empty(), "the emptied set is deleted");
    let (reply, stream) = run(&mut db, "spop s 10", 3, false);
    assert_eq!(members(&reply).len(), 10);
    assert_eq!(stream, ["DEL s"]);
    let (_, stream) = run(&mut db, "spop s 0", 3, false);
    assert!(stream.is_empty(), "nothing happened, nothing propagates");
}

#[test]
fn the_same_draw_pops_the_same_members() {
    let mut a = vec![Db::default()];
    a[0].keys
        .insert(b"s".to_vec(), Data::Set(["a", "b", "c", "d", "e"].iter().map(|m| m.as_bytes().to_vec()).collect()));
    let fresh = a.clone();
    let mut b = a.clone();
    assert_eq!(run(&mut a, "spop s 2", 42, false).0, run(&mut b, "spop s 2", 42, false).0);
    assert_eq!(a, b);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut c = fresh.clone();
        seen.extend(members(&run(&mut c, "spop s", seed, false).0));
    }
    assert_eq!(seen.len(), 5, "draws spread over the members: {seen:?}");
}

/// Through a real master and replica: the stream grows by exactly
/// MULTI, three SREMs and EXEC, and the replica ends with the master's set.
#[test]
fn a_replica_receives_the_wrapped_srems() {
    let mut c = crate::tests_repl::Cluster::new(3);
    c.server(6379, "");
    c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(std::time::Duration::from_secs(7));
    assert_eq!(c.cli(6379, "sadd m 1 2 3 4 5 6 7 8 9"), "(integer) 9");
    let before: u64 = c.info_field(6379, "master_repl_offset").parse().unwrap();
    assert_eq!(c.cli(6379, "spop m 3").lines().count(), 3);
    let after: u64 = c.info_field(6379, "master_repl_offset").parse().unwrap();
    let srem = b"*3\r\n$4\r\nSREM\r\n$1\r\nm\r\n$1\r\n1\r\n".len() as u64;
    let wrap = (b"*1\r\n$5\r\nMULTI\r\n".len() + b"*1\r\n$4\r\nEXEC\r\n".len()) as u64;
    assert_eq!(after - before, wrap + 3 * srem);
    assert_eq!(c.cli(6379, "wait 1 1000"), "(integer) 1");
    assert_eq!(c.cli(6380, "smembers m"), c.cli(6379, "smembers m"));
    assert_eq!(c.cli(6380, "scard m"), "(integer) 6");
}
