//! Keyspace notifications against a multi-client transcript of a real Redis
//! 7.0.15 (recorded by `xtask/measure/multi_client.py`): a subscriber on
//! every `__keyspace@*` and `__keyevent@*` channel sees each command family's
//! events in Redis's order, only for the classes enabled, and nothing with the
//! default `notify-keyspace-events ""`.

use crate::config::Config;

#[test]
fn events_match_a_real_redis_transcript() {
    crate::tests_blocking::replay(include_str!("tests_notify_transcript.txt"), Config::defaults(6379));
}

/// The directive in a configuration file: checked and normalised as CONFIG
/// SET does, with redis-server's texts for a bad letter and a wrong count.
#[test]
fn the_config_file_sets_and_checks_the_classes() {
    let mut config = Config::defaults(6379);
    config.apply("notify-keyspace-events", &["KEA".to_owned()], true).unwrap();
    assert_eq!(config.get("notify-keyspace-events").as_deref(), Some("AKE"));
    let bad = config.apply("notify-keyspace-events", &["Q".to_owned()], true);
    assert_eq!(bad, Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()));
    let two = config.apply("notify-keyspace-events", &["K".to_owned(), "E".to_owned()], true);
    assert_eq!(two, Err("wrong number of arguments".to_owned()));
    assert_eq!(config.get("notify-keyspace-events").as_deref(), Some("AKE"), "a refused value changes nothing");
}

/// A server started with the classes in its file publishes from the start.
#[test]
fn a_server_configured_by_file_publishes_from_the_start() {
    let mut config = Config::defaults(6379);
    config.apply("notify-keyspace-events", &["E$".to_owned()], true).unwrap();
    let mut c = crate::tests_blocking::replay("", config);
    c.step("A: SUBSCRIBE __keyevent@0__:set");
    assert_eq!(c.step("B: SET k v"), r#"A: 1) "message"\n2) "__keyevent@0__:set"\n3) "k" | B: OK"#);
    assert_eq!(c.step("B: DEL k"), "B: (integer) 1", "g is off");
}

/// A key read after its time has come, before active expiry reaches it, is
/// deleted by the read (lazy expiry), which raises `expired` on a master; a
/// replica hides the key and waits for its master's DEL, raising nothing.
#[test]
fn lazy_expiry_raises_expired_on_masters_only() {
    use crate::keyspace::{Data, Db, Exec, Feed};
    for is_master in [true, false] {
        let mut dbs = vec![Db::default()];
        dbs[0].insert(b"k".to_vec(), Data::Str(b"v"[..].into()));
        dbs[0].expires.insert(b"k".to_vec(), 1_000);
        let mut feed = Feed { notify: crate::notify::parse("Ex").unwrap(), ..Feed::default() };
        let mut x = Exec::new(&mut dbs, &mut feed, is_master, 0, 2_000);
        let reply = crate::commands::keyspace_named("get", &[b"get".to_vec(), b"k".to_vec()], &mut x);
        assert_eq!(reply, resp::Value::Nil);
        let names: Vec<&str> = feed.events.iter().map(|e| e.name).collect();
        assert_eq!(names, if is_master { vec!["expired"] } else { vec![] }, "master: {is_master}");
    }
}

/// SPOP with a count below the set's size tells of one `spop`, and no `del`.
#[test]
fn spop_of_part_of_a_set_raises_one_spop() {
    use crate::keyspace::{Db, Exec, Feed};
    let mut dbs = vec![Db::default()];
    let mut feed = Feed { notify: crate::notify::parse("KEA").unwrap(), ..Feed::default() };
    let mut x = Exec::new(&mut dbs, &mut feed, true, 0, 0);
    let run = |x: &mut Exec<'_>, line: &str| {
        let args = resp::split_args(line.as_bytes()).unwrap();
        crate::commands::keyspace_named(&line.split(' ').next().unwrap().to_ascii_lowercase(), &args, x)
    };
    run(&mut x, "SADD s a b c");
    run(&mut x, "SPOP s 2");
    let names: Vec<&str> = feed.events.iter().map(|e| e.name).collect();
    assert_eq!(names, ["sadd", "spop"]);
}

/// What a real 7.0.15 replica with `notify-keyspace-events KEA` published
/// while its master (notifications off) ran these commands: the events of
/// the commands as replicated (INCRBYFLOAT arrives as SET, SPOP as SREMs, a
/// key's expiry as the master's DEL).
#[test]
fn a_replica_publishes_the_events_of_its_masters_stream() {
    use crate::tests_pubsub::Wire;
    use crate::tests_repl::{Cluster, replica_conf};
    use std::time::Duration;
    let mut c = Cluster::new(1);
    c.server(6379, "");
    c.server(6380, &format!("{}notify-keyspace-events KEA\n", replica_conf(6379)));
    // The diskless sync waits repl-diskless-sync-delay (5 s) for more replicas.
    c.sim.run_for(Duration::from_secs(7));
    let wire = Wire { port: 6380, conn: None, received: Vec::new(), closed: false };
    let w = c.sim.add_process(c.host, "sub", Box::new(move || Box::new(Wire { received: Vec::new(), ..wire })));
    c.sim.apply(sim::Fault::Start(w)).unwrap();
    c.sim.run_for(Duration::from_millis(10));
    let mut bytes = Vec::new();
    resp::encode_command(&[b"PSUBSCRIBE".as_slice(), b"__keyevent@*"], &mut bytes);
    c.sim.with_process::<Wire, _>(w, |wire, ctx| ctx.send(wire.conn.unwrap(), &bytes));
    c.sim.run_for(Duration::from_millis(10));
    for line in ["INCRBYFLOAT f 1.5", "SADD s 1 2 3", "SPOP s 2", "LPUSH l a", "BLPOP l 0", "SET e v PX 100"] {
        c.cli(6379, line);
    }
    c.sim.run_for(Duration::from_secs(1));
    let received = String::from_utf8_lossy(&c.sim.process::<Wire>(w).unwrap().received).into_owned();
    let events: Vec<&str> = received.split("\r\n").filter_map(|l| l.strip_prefix("__keyevent@0__:")).collect();
    assert_eq!(events, ["set", "sadd", "srem", "srem", "lpush", "lpop", "del", "set", "expire", "del"]);
    assert_eq!(c.cli(6379, "CONFIG GET notify-keyspace-events"), "1) \"notify-keyspace-events\"\n2) \"\"");
}

/// MIGRATE as a real 7.0.15 pair told of it: `del` on the source for a key
/// moved (none with COPY), `restore` on the target for each key.
#[test]
fn migrate_tells_del_on_the_source_and_restore_on_the_target() {
    use crate::tests_pubsub::Wire;
    use crate::tests_repl::Cluster;
    use std::time::Duration;
    let mut c = Cluster::new(1);
    c.server(6379, "notify-keyspace-events KEA\n");
    c.server(6380, "notify-keyspace-events KEA\n");
    c.sim.run_for(Duration::from_millis(10));
    let mut subs = Vec::new();
    for port in [6379, 6380] {
        let wire = Wire { port, conn: None, received: Vec::new(), closed: false };
        let w = c.sim.add_process(
            c.host,
            &format!("sub{port}"),
            Box::new(move || Box::new(Wire { received: Vec::new(), ..wire })),
        );
        c.sim.apply(sim::Fault::Start(w)).unwrap();
        c.sim.run_for(Duration::from_millis(10));
        let mut bytes = Vec::new();
        resp::encode_command(&[b"PSUBSCRIBE".as_slice(), b"__keyevent@*"], &mut bytes);
        c.sim.with_process::<Wire, _>(w, |wire, ctx| ctx.send(wire.conn.unwrap(), &bytes));
        subs.push(w);
    }
    c.cli(6379, "SET k v");
    c.cli(6379, "SET k2 v");
    assert_eq!(c.cli(6379, "MIGRATE 127.0.0.1 6380 k 0 1000"), "OK");
    assert_eq!(c.cli(6379, "MIGRATE 127.0.0.1 6380 k2 0 1000 COPY"), "OK");
    c.sim.run_for(Duration::from_millis(100));
    let events = |c: &Cluster, w: sim::ProcId| -> Vec<String> {
        let received = String::from_utf8_lossy(&c.sim.process::<Wire>(w).unwrap().received).into_owned();
        received.split("\r\n").filter_map(|l| l.strip_prefix("__keyevent@0__:")).map(str::to_owned).collect()
    };
    assert_eq!(events(&c, subs[0]), ["set", "set", "del"]);
    assert_eq!(events(&c, subs[1]), ["restore", "restore"]);
}
