//! `timeout` and `maxclients` on a simulated server with several
//! connections, as measured on a real 7.0.15 (`redis-server --loglevel
//! verbose`, raw sockets): an idle normal client is closed by the cron once
//! more than `timeout` whole seconds passed since it last sent or received,
//! with `- Closing idle client`; subscribed and blocked clients stay; past
//! `maxclients` a connection gets the error and is closed, and counts in
//! `rejected_connections`, not in `total_connections_received`.

use crate::tests_pubsub::Bench;
use std::time::Duration;

fn closing_lines(b: &Bench) -> usize {
    let p = b.sim.proc_by_name("6390").unwrap();
    b.sim.log_lines(p).iter().filter(|l| l.ends_with(" - Closing idle client")).count()
}

#[test]
fn idle_normal_clients_are_closed_after_timeout_whole_seconds() {
    let mut b = Bench::new();
    b.server(6390, "save \"\"\nloglevel verbose\n");
    let admin = b.connect(6390);
    assert_eq!(b.send(admin, &["CONFIG SET timeout 2"]), "+OK\r\n");
    let idle = b.connect(6390);
    let sub = b.connect(6390);
    let blocked = b.connect(6390);
    assert_eq!(b.send(idle, &["PING"]), "+PONG\r\n");
    b.send(sub, &["SUBSCRIBE ch"]);
    b.send(blocked, &["BLPOP q 0"]);
    // Not before 2 whole seconds have passed since the last interaction...
    b.run_for(Duration::from_millis(1900));
    assert!(!b.closed(idle));
    // ...and by the first cron once they have (at most 3 s after it).
    b.run_for(Duration::from_millis(1300));
    assert!(b.closed(idle) && b.closed(admin), "idle normal clients are closed");
    assert_eq!(closing_lines(&b), 2, "one verbose line per client");
    assert!(!b.closed(sub) && !b.closed(blocked), "subscribed and blocked clients stay");
    assert_eq!(b.send(sub, &["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    let pusher = b.connect(6390);
    assert_eq!(b.send(pusher, &["LPUSH q x"]), ":1\r\n");
    assert_eq!(b.take(blocked), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    // Unblocked, it was written to just now: it stays as long as a fresh client.
    b.run_for(Duration::from_millis(1900));
    assert!(!b.closed(blocked));
    b.run_for(Duration::from_millis(1300));
    assert!(b.closed(blocked) && b.closed(pusher));
    assert!(!b.closed(sub));
}

#[test]
fn no_timeout_keeps_idle_clients() {
    let mut b = Bench::new();
    b.server(6390, "save \"\"\nloglevel verbose\ntimeout 0\n");
    let idle = b.connect(6390);
    b.run_for(Duration::from_secs(30));
    assert!(!b.closed(idle));
    assert_eq!(closing_lines(&b), 0);
}

#[test]
fn connections_past_maxclients_get_the_error_and_are_counted() {
    let mut b = Bench::new();
    b.server(6390, "save \"\"\nmaxclients 2\n");
    let admin = b.connect(6390);
    assert_eq!(b.send(admin, &["CONFIG RESETSTAT"]), "+OK\r\n");
    let second = b.connect(6390);
    assert_eq!(b.send(second, &["PING"]), "+PONG\r\n");
    let third = b.connect(6390);
    assert_eq!(b.take(third), "-ERR max number of clients reached\r\n");
    assert!(b.closed(third));
    let info = b.send(admin, &["INFO stats"]);
    assert!(info.contains("\r\ntotal_connections_received:1\r\n"), "{info}");
    assert!(info.contains("\r\nrejected_connections:1\r\n"), "{info}");
    // Lowered below the clients connected, it closes none; raised, it admits.
    assert_eq!(b.send(admin, &["CONFIG SET maxclients 1"]), "+OK\r\n");
    assert_eq!(b.send(second, &["PING"]), "+PONG\r\n");
    assert_eq!(
        b.send(admin, &["CONFIG SET maxclients 0"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n"
    );
    assert_eq!(
        b.send(admin, &["CONFIG SET maxclients 3", "CONFIG GET maxclients"]),
        "+OK\r\n*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n"
    );
    let fourth = b.connect(6390);
    assert_eq!(b.send(fourth, &["PING"]), "+PONG\r\n");
    assert!(b.send(admin, &["INFO stats"]).contains("\r\nrejected_connections:1\r\n"));
}

/// The directives' CONFIG SET/GET replies against a real 7.0.15 transcript.
#[test]
fn config_replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(include_str!("tests_client_limits_transcript.txt"));
}
