//! WATCH/UNWATCH, RESET and TIME, compared byte for byte with what
//! redis-server 7.0.15 sent to two connections doing the same (RESP2 unless
//! said), and WATCH against writes that come from elsewhere: expiry, a
//! flush, SWAPDB, a replica's master.

use crate::tests_pubsub::Bench;
use std::time::Duration;

fn two() -> (Bench, usize, usize) {
    let mut b = Bench::new();
    b.server(6379, "");
    let (a, c) = (b.connect(6379), b.connect(6379));
    (b, a, c)
}

#[test]
fn a_touched_watched_key_fails_exec_with_a_nil_array() {
    let (mut b, a, c) = two();
    // Another client's write, even of the same value.
    assert_eq!(b.send(a, &["WATCH k"]), "+OK\r\n");
    assert_eq!(b.send(c, &["SET k 1"]), "+OK\r\n");
    assert_eq!(b.send(a, &["MULTI", "GET k", "EXEC"]), "+OK\r\n+QUEUED\r\n*-1\r\n");
    assert_eq!(b.send(a, &["WATCH k", "MULTI", "SET k 2", "EXEC"]), "+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    // The client's own write before MULTI.
    assert_eq!(b.send(a, &["WATCH k", "SET k 3", "MULTI", "EXEC"]), "+OK\r\n+OK\r\n+OK\r\n*-1\r\n");
    b.send(a, &["WATCH k"]);
    b.send(c, &["SET k 3"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n", "same value");
    // A write that changes nothing (and propagates nothing) is no touch.
    assert_eq!(b.send(a, &["WATCH s"]), "+OK\r\n");
    assert_eq!(b.send(c, &["SADD s x"]), ":1\r\n");
    assert_eq!(b.send(a, &["UNWATCH", "WATCH s"]), "+OK\r\n+OK\r\n");
    assert_eq!(b.send(c, &["SADD s x"]), ":0\r\n");
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*0\r\n");
    // The same key in another database is another key.
    b.send(a, &["WATCH k"]);
    b.send(c, &["SELECT 1", "SET k 1", "SELECT 0"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*0\r\n");
    // Watching more after a touch changes nothing; EXEC clears it all.
    assert_eq!(b.send(a, &["WATCH k"]), "+OK\r\n");
    b.send(c, &["SET k 1"]);
    assert_eq!(b.send(a, &["WATCH j", "MULTI", "EXEC"]), "+OK\r\n+OK\r\n*-1\r\n");
    assert_eq!(b.send(a, &["WATCH k", "MULTI", "INCR k", "EXEC"]), "+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n");
    // RESP3's nil.
    b.send(a, &["HELLO 3"]);
    b.send(a, &["WATCH k"]);
    b.send(c, &["SET k 1"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n_\r\n");
}

#[test]
fn unwatch_discard_and_errors_as_redis_answers_them() {
    let (mut b, a, c) = two();
    // UNWATCH inside MULTI is queued: EXEC has already checked by then.
    b.send(a, &["WATCH k", "MULTI", "UNWATCH"]);
    b.send(c, &["SET k 9"]);
    assert_eq!(b.send(a, &["EXEC"]), "*-1\r\n");
    // DISCARD forgets the watched keys.
    b.send(a, &["WATCH k"]);
    b.send(c, &["SET k 9"]);
    assert_eq!(b.send(a, &["MULTI", "DISCARD", "MULTI", "EXEC"]), "+OK\r\n+OK\r\n+OK\r\n*0\r\n");
    assert_eq!(
        b.send(a, &["MULTI", "WATCH x", "EXEC"]),
        "+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n*0\r\n",
        "refused without aborting"
    );
    assert_eq!(
        b.send(a, &["WATCH", "UNWATCH x", "EXEC", "UNWATCH"]),
        "-ERR wrong number of arguments for 'watch' command\r\n\
-ERR wrong number of arguments for 'unwatch' command\r\n-ERR EXEC without MULTI\r\n+OK\r\n"
    );
    // A queueing error wins over a touched key.
    b.send(a, &["WATCH k"]);
    b.send(c, &["SET k 1"]);
    assert_eq!(
        b.send(a, &["MULTI", "NOSUCH", "EXEC"]),
        "+OK\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n\
-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}

#[test]
fn flushes_swaps_and_expiry_touch_watched_keys() {
    let (mut b, a, c) = two();
    b.send(c, &["SET k v"]);
    b.send(a, &["WATCH k"]);
    b.send(c, &["FLUSHALL"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n");
    // A flush touches only the watched keys that were there.
    b.send(a, &["WATCH nokey"]);
    b.send(c, &["SET other 1", "FLUSHALL"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*0\r\n");
    b.send(c, &["SET k 1", "SELECT 1", "SET k 1", "SELECT 0"]);
    b.send(a, &["WATCH k"]);
    b.send(c, &["SWAPDB 0 1"]);
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n");
    // A key that expires after WATCH, deleted or not yet.
    b.send(a, &["SET e 1 PX 100", "WATCH e"]);
    b.run_for(Duration::from_millis(300));
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n");
    b.send(a, &["SET e 1 PX 100", "WATCH e"]);
    b.run_for(Duration::from_millis(101));
    assert_eq!(b.send(a, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n", "logically expired, not reclaimed yet");
}

#[test]
fn a_replicas_applied_stream_touches_its_watchers() {
    let mut b = Bench::new();
    b.server(6379, "repl-diskless-sync-delay 0");
    b.server(6380, "replicaof 127.0.0.1 6379");
    b.run_for(Duration::from_secs(3));
    let (m, r) = (b.connect(6379), b.connect(6380));
    b.send(m, &["SET k 1"]);
    b.run_for(Duration::from_millis(50));
    assert_eq!(b.send(r, &["WATCH k", "MULTI", "GET k"]), "+OK\r\n+OK\r\n+QUEUED\r\n");
    b.send(m, &["SET k 2"]);
    b.run_for(Duration::from_millis(50));
    assert_eq!(b.send(r, &["EXEC"]), "*-1\r\n");
    assert_eq!(b.send(r, &["WATCH k", "MULTI", "GET k", "EXEC"]), "+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n$1\r\n2\r\n");
    // The full sync after a restart of the link empties the dataset: a touch too.
    b.send(r, &["WATCH k"]);
    b.send(r, &["REPLICAOF NO ONE", "REPLICAOF 127.0.0.1 6379"]);
    b.run_for(Duration::from_secs(3));
    assert_eq!(b.send(r, &["MULTI", "EXEC"]), "+OK\r\n*-1\r\n");
}

#[test]
fn reset_clears_the_connection_state() {
    let (mut b, a, _) = two();
    assert_eq!(
        b.send(a, &["SELECT 3", "CLIENT SETNAME nm", "WATCH k", "MULTI", "RESET", "CLIENT GETNAME", "EXEC", "RESET x"]),
        "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+RESET\r\n$-1\r\n-ERR EXEC without MULTI\r\n\
-ERR wrong number of arguments for 'reset' command\r\n"
    );
    assert_eq!(b.send(a, &["SET k v", "SELECT 0", "GET k"]), "+OK\r\n+OK\r\n$1\r\nv\r\n", "back in database 0");
    // Out of subscribed mode and RESP3, without unsubscribe messages.
    b.send(a, &["HELLO 3", "SUBSCRIBE ch"]);
    assert_eq!(b.send(a, &["RESET", "PING"]), "+RESET\r\n+PONG\r\n");
    let mut b = Bench::new();
    b.server(6379, "requirepass pw");
    let a = b.connect(6379);
    assert_eq!(b.send(a, &["AUTH pw", "RESET", "GET k"]), "+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n");
}

#[test]
fn time_is_the_virtual_clock() {
    let (mut b, a, _) = two();
    let parse = |reply: &str| -> i64 {
        let parts: Vec<i64> = reply.split("\r\n").filter_map(|l| l.parse().ok()).collect();
        assert_eq!(parts.len(), 2, "{reply}");
        assert!((0..1_000_000).contains(&parts[1]), "{reply}");
        parts[0] * 1_000_000 + parts[1]
    };
    let first = parse(&b.send(a, &["TIME"]));
    b.run_for(Duration::from_millis(1500));
    let second = parse(&b.send(a, &["TIME"]));
    // The send itself lets 2 ms pass.
    assert_eq!(second - first, 1_502_000);
    assert_eq!(b.send(a, &["TIME x"]), "-ERR wrong number of arguments for 'time' command\r\n");
}
