//! GETDEL, GETRANGE, SETRANGE, LSET, LINSERT, LMOVE, SMOVE, S*STORE, TOUCH and
//! COPY: replies as a real Redis 7.0.15 gave them (redis-cli), and what the
//! writes propagate.

use crate::keyspace::{Db, Exec, Feed};
use crate::tests::lab;

/// Runs `lines` on a fresh master dataset; the propagated commands of the last one.
fn propagated(lines: &[&str]) -> Vec<u8> {
    let mut dbs = vec![Db::default(); 16];
    let mut out = Vec::new();
    for line in lines {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut feed = Feed::default();
        let mut x = Exec::new(&mut dbs, &mut feed, true, 0, 1000);
        crate::commands::keyspace_named(&String::from_utf8_lossy(&args[0]).to_ascii_lowercase(), &args, &mut x);
        out = feed.bytes;
    }
    out
}

#[test]
fn strings_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("set s hello"), "OK");
    assert_eq!(l.cmd("getrange s x 1"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("getrange nokey 0 1"), "\"\"");
    assert_eq!(l.cmd("getrange s -3 -1"), "\"llo\"");
    assert_eq!(l.cmd("getrange s 3 1"), "\"\"");
    assert_eq!(l.cmd("getrange s 0 100"), "\"hello\"");
    assert_eq!(l.cmd("setrange s -1 x"), "(error) ERR offset is out of range");
    assert_eq!(l.cmd("setrange s x y"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("setrange s 536870912 x"), "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(l.cmd("setrange s 536870911 \"\""), "(integer) 5", "an empty value only reports the length");
    assert_eq!(l.cmd("setrange nokey 2 \"\""), "(integer) 0");
    assert_eq!(l.cmd("exists nokey"), "(integer) 0");
    assert_eq!(l.cmd("setrange new 3 ab"), "(integer) 5");
    assert_eq!(l.cmd("get new"), "\"\\x00\\x00\\x00ab\"");
    assert_eq!(l.cmd("setrange s 1 EL"), "(integer) 5");
    assert_eq!(l.cmd("getdel s"), "\"hELlo\"");
    assert_eq!(l.cmd("getdel s"), "(nil)");
    assert_eq!(l.cmd("rpush l a"), "(integer) 1");
    assert_eq!(l.cmd("getdel l"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("getrange l 0 1"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("setrange l 0 a"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
}

#[test]
fn lists_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("set s hello"), "OK");
    assert_eq!(l.cmd("lset nokey x v"), "(error) ERR no such key");
    assert_eq!(l.cmd("lset s x v"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("rpush l a b c"), "(integer) 3");
    assert_eq!(l.cmd("lset l x v"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("lset l 5 v"), "(error) ERR index out of range");
    assert_eq!(l.cmd("lset l -1 z"), "OK");
    assert_eq!(l.cmd("linsert l middle a x"), "(error) ERR syntax error");
    assert_eq!(l.cmd("linsert nokey before a x"), "(integer) 0");
    assert_eq!(l.cmd("linsert l BEFORE zz x"), "(integer) -1");
    assert_eq!(l.cmd("linsert l after a x"), "(integer) 4");
    assert_eq!(l.cmd("lrange l 0 -1"), "1) \"a\"\n2) \"x\"\n3) \"b\"\n4) \"z\"");
    assert_eq!(l.cmd("lmove l l2 up left"), "(error) ERR syntax error");
    assert_eq!(l.cmd("lmove nokey l2 left left"), "(nil)");
    assert_eq!(
        l.cmd("lmove l s left left"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(l.cmd("lmove l l2 right left"), "\"z\"");
    assert_eq!(l.cmd("lmove l l right left"), "\"b\"", "one list rotates");
    assert_eq!(l.cmd("lrange l 0 -1"), "1) \"b\"\n2) \"a\"\n3) \"x\"");
    for _ in 0..3 {
        l.cmd("lmove l l2 left right");
    }
    assert_eq!(l.cmd("exists l"), "(integer) 0", "the emptied source is deleted");
    assert_eq!(l.cmd("lrange l2 0 -1"), "1) \"z\"\n2) \"b\"\n3) \"a\"\n4) \"x\"");
}

#[test]
fn sets_and_keyspace_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("smove nosrc dst m"), "(integer) 0");
    assert_eq!(l.cmd("sadd a 1 2"), "(integer) 2");
    assert_eq!(l.cmd("rpush l x"), "(integer) 1");
    assert_eq!(l.cmd("smove a l 1"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("smove a a 3"), "(integer) 0");
    assert_eq!(l.cmd("smove a a 1"), "(integer) 1");
    assert_eq!(l.cmd("copy a b db x"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("copy a b db 99"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("copy a a"), "(error) ERR source and destination objects are the same");
    assert_eq!(l.cmd("copy a b bad"), "(error) ERR syntax error");
    assert_eq!(l.cmd("copy a b"), "(integer) 1");
    assert_eq!(l.cmd("copy a b"), "(integer) 0");
    assert_eq!(l.cmd("copy a b replace"), "(integer) 1");
    assert_eq!(l.cmd("copy nokey b"), "(integer) 0");
    assert_eq!(l.cmd("touch a b nokey"), "(integer) 2");
    assert_eq!(l.cmd("sinterstore d a nokey"), "(integer) 0");
    assert_eq!(
        l.cmd("sinter nokey l"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
        "every key is type-checked, even after a missing one"
    );
    assert_eq!(l.cmd("sunion nokey l"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("sadd c 2 3"), "(integer) 2");
    assert_eq!(l.cmd("sunionstore d a c"), "(integer) 3");
    assert_eq!(l.cmd("smembers d"), "1) \"1\"\n2) \"2\"\n3) \"3\"");
    assert_eq!(l.cmd("sdiff a c"), "1) \"1\"");
    assert_eq!(l.cmd("sinter a c"), "1) \"2\"");
    assert_eq!(l.cmd("sdiffstore d a l"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(l.cmd("expire a 100"), "(integer) 1");
    assert_eq!(l.cmd("copy a e db 1"), "(integer) 1");
    assert_eq!(l.cmd("select 1"), "OK");
    assert_eq!(l.cmd("ttl e"), "(integer) 100", "COPY keeps the TTL");
}

#[test]
fn writes_propagate_as_redis_propagates_them() {
    let enc = |line: &str| {
        let mut out = Vec::new();
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut out);
        out
    };
    assert_eq!(propagated(&["set s v", "getdel s"]), enc("DEL s"));
    assert_eq!(propagated(&["getdel s"]), b"".to_vec());
    assert_eq!(propagated(&["setrange s 2 ab"]), enc("setrange s 2 ab"));
    assert_eq!(propagated(&["setrange s 2 \"\""]), b"".to_vec());
    assert_eq!(propagated(&["rpush l a", "lmove l m left right"]), enc("lmove l m left right"));
    assert_eq!(propagated(&["rpush l a", "linsert l before zz x"]), b"".to_vec());
    assert_eq!(propagated(&["sinterstore d a b"]), b"".to_vec(), "nothing to store, nothing deleted");
    assert_eq!(propagated(&["sunionstore d a b"]), enc("sunionstore d a b"), "SUNIONSTORE always counts a change");
    assert_eq!(propagated(&["sadd a 1", "smove a b 1"]), enc("smove a b 1"));
    assert_eq!(propagated(&["touch a"]), b"".to_vec());
}

#[test]
fn move_swapdb_and_randomkey_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("set mk v"), "OK");
    assert_eq!(l.cmd("move mk x"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("move mk 99"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("move mk 0"), "(error) ERR source and destination objects are the same");
    assert_eq!(
        l.cmd("move mk 9999999999"),
        "(error) ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(l.cmd("move nosuchkey 1"), "(integer) 0");
    assert_eq!(l.cmd("expire mk 100"), "(integer) 1");
    assert_eq!(l.cmd("move mk 1"), "(integer) 1");
    assert_eq!(l.cmd("exists mk"), "(integer) 0");
    assert_eq!(l.cmd("set mk w"), "OK");
    assert_eq!(l.cmd("move mk 1"), "(integer) 0", "taken there");
    assert_eq!(l.cmd("swapdb 0 x"), "(error) ERR invalid second DB index");
    assert_eq!(l.cmd("swapdb x 0"), "(error) ERR invalid first DB index");
    assert_eq!(l.cmd("swapdb 0 99"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("swapdb -1 0"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("swapdb 0 1"), "OK");
    assert_eq!(l.cmd("get mk"), "\"v\"");
    assert_eq!(l.cmd("ttl mk"), "(integer) 100", "MOVE carried the TTL");
    assert_eq!(l.cmd("randomkey"), "\"mk\"");
    assert_eq!(l.cmd("flushall"), "OK");
    assert_eq!(l.cmd("randomkey"), "(nil)");
    for i in 0..20 {
        l.cmd(&format!("set k{i} v"));
    }
    let picks: std::collections::BTreeSet<String> = (0..40).map(|_| l.cmd("randomkey")).collect();
    assert!(picks.len() > 5, "RANDOMKEY spreads over the keys: {picks:?}");
}

#[test]
fn getex_and_lpos_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("set gk v"), "OK");
    assert_eq!(l.cmd("getex gk"), "\"v\"");
    assert_eq!(l.cmd("getex gk ex"), "(error) ERR syntax error");
    assert_eq!(l.cmd("getex gk ex 0"), "(error) ERR invalid expire time in 'getex' command");
    assert_eq!(l.cmd("getex gk ex x"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("getex gk ex 10 px 10"), "(error) ERR syntax error");
    assert_eq!(l.cmd("getex gk persist ex 10"), "(error) ERR syntax error");
    assert_eq!(l.cmd("getex gk ex 10 ex 100"), "\"v\"", "the same option twice: the last counts");
    assert_eq!(l.cmd("ttl gk"), "(integer) 100");
    assert_eq!(l.cmd("getex gk persist"), "\"v\"");
    assert_eq!(l.cmd("ttl gk"), "(integer) -1");
    assert_eq!(l.cmd("getex gk ex 9223372036854775807"), "(error) ERR invalid expire time in 'getex' command");
    assert_eq!(l.cmd("getex gk pxat 1"), "\"v\"");
    assert_eq!(l.cmd("exists gk"), "(integer) 0");
    assert_eq!(l.cmd("rpush lp a b c 1 2 3 c c"), "(integer) 8");
    assert_eq!(l.cmd("lpos lp c"), "(integer) 2");
    assert_eq!(l.cmd("lpos lp c rank 2"), "(integer) 6");
    assert_eq!(l.cmd("lpos lp c rank -1"), "(integer) 7");
    assert_eq!(l.cmd("lpos lp c count 0"), "1) (integer) 2\n2) (integer) 6\n3) (integer) 7");
    assert_eq!(l.cmd("lpos lp c count 2 rank -1"), "1) (integer) 7\n2) (integer) 6");
    assert_eq!(l.cmd("lpos lp c maxlen 3 count 0"), "1) (integer) 2");
    assert_eq!(l.cmd("lpos lp c rank -1 maxlen 2 count 0"), "1) (integer) 7\n2) (integer) 6");
    assert_eq!(l.cmd("lpos lp x count 1"), "(empty array)");
    assert_eq!(l.cmd("lpos lp c rank -9223372036854775808"), "(integer) 7");
    assert_eq!(l.cmd("lpos lp c count -1"), "(error) ERR COUNT can't be negative");
    assert_eq!(l.cmd("lpos lp c rank"), "(error) ERR syntax error");
}

#[test]
fn getex_propagates_what_it_did() {
    let enc = |line: &str| {
        let mut out = Vec::new();
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut out);
        out
    };
    // The fresh dataset's clock is 1000 ms.
    assert_eq!(propagated(&["set k v", "getex k ex 10"]), enc("PEXPIREAT k 11000"));
    assert_eq!(propagated(&["set k v", "getex k pxat 500"]), enc("DEL k"));
    assert_eq!(propagated(&["set k v", "getex k persist"]), b"".to_vec());
    assert_eq!(propagated(&["set k v ex 5", "getex k persist"]), enc("PERSIST k"));
}

#[test]
fn value_scans_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in include_str!("tests_scan_transcript.txt").lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
    }
}
