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
        dbs[0].insert(b"k".to_vec(), Data::Str(b"v".to_vec()));
        dbs[0].expires.insert(b"k".to_vec(), 1_000);
        let mut feed = Feed { notify: crate::notify::parse("Ex").unwrap(), ..Feed::default() };
        let mut x = Exec::new(&mut dbs, &mut feed, is_master, 0, 2_000);
        let reply = crate::commands::keyspace_named("get", &[b"get".to_vec(), b"k".to_vec()], &mut x);
        assert_eq!(reply, resp::Value::Nil);
        let names: Vec<&str> = feed.events.iter().map(|e| e.name).collect();
        assert_eq!(names, if is_master { vec!["expired"] } else { vec![] }, "master: {is_master}");
    }
}
