//! Lists, hashes, sets, SCAN and EXPIREAT/PEXPIREAT: replies as redis-cli prints them, compared with a real Redis
//! 7.0.15 (`redis-cli --no-raw`), and what each write propagates, compared with the stream a real 7.0.15 master
//! sent to `redis-cli --replica`.

use crate::command_table::lookup;
use crate::commands::keyspace_named;
use crate::keyspace::{Data, Db, Exec, Feed};
use crate::tests::lab;
use resp::{RequestParser, Value};
use std::collections::BTreeSet;

/// The fixed wall clock of [`Direct`]: 2001-09-09T01:46:40Z.
const NOW: i64 = 1_000_000_000_000;

/// Commands run straight against an [`Exec`] with a fixed clock and propagation enabled, as a master's would be.
struct Direct {
    dbs: Vec<Db>,
    now_ms: i64,
    is_master: bool,
}

/// What one command did.
struct Outcome {
    reply: Value,
    /// The propagated commands, each as its arguments joined by spaces.
    propagated: Vec<String>,
    dirty: u64,
}

fn direct() -> Direct {
    Direct { dbs: vec![Db::default(); 16], now_ms: NOW, is_master: true }
}

impl Direct {
    fn exec(&mut self, args: &[Vec<u8>]) -> Outcome {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let arity = lookup(&name).unwrap_or_else(|| panic!("unknown command {name}")).arity;
        let argc = args.len() as i32;
        assert!(if arity > 0 { argc == arity } else { argc >= -arity }, "the server refuses {args:?} on arity");
        let mut feed = Feed { enabled: true, ..Feed::default() };
        let mut x = Exec {
            dbs: &mut self.dbs,
            db: 0,
            now_ms: self.now_ms,
            is_master: self.is_master,
            dirty: 0,
            feed: &mut feed,
            resp3: false,
            cluster: false,
            random: 0,
            clock_ms: self.now_ms,
            obey: false,
            access: Default::default(),
            shared_integers: true,
            request: None,
        };
        let reply = keyspace_named(&name, args, &mut x);
        let dirty = x.dirty;
        Outcome { reply, propagated: decode_commands(&feed.bytes), dirty }
    }

    fn run(&mut self, line: &str) -> Outcome {
        self.exec(&resp::split_args(line.as_bytes()).unwrap())
    }

    /// The reply as redis-cli prints it.
    fn cmd(&mut self, line: &str) -> String {
        resp::render(&self.run(line).reply)
    }

    fn db(&self) -> &Db {
        &self.dbs[0]
    }
}

/// Decodes propagated bytes the way a replica reads its master's stream.
fn decode_commands(bytes: &[u8]) -> Vec<String> {
    let mut parser = RequestParser::default();
    parser.feed(bytes);
    let mut commands = Vec::new();
    while parser.next_command(false).expect("propagation is valid RESP") {
        let args: Vec<String> = parser.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        commands.push(args.join(" "));
    }
    assert_eq!(parser.buffered(), 0, "no partial command left over");
    commands
}

#[test]
fn lists_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("rpush l a b c d e"), "(integer) 5");
    assert_eq!(l.cmd("lpop l"), "\"a\"");
    assert_eq!(l.cmd("lpop l 2"), "1) \"b\"\n2) \"c\"");
    assert_eq!(l.cmd("rpop l 2"), "1) \"e\"\n2) \"d\"", "RPOP with a count replies tail first");
    assert_eq!(l.cmd("exists l"), "(integer) 0", "the emptied list is deleted");
    assert_eq!(l.cmd("lpop l 0"), "(nil)", "a missing key is a nil array, whatever the count");
    assert_eq!(l.cmd("lpop nosuch"), "(nil)");
    assert_eq!(l.cmd("rpop nosuch 3"), "(nil)");
    assert_eq!(l.cmd("lpop nosuch -1"), "(error) ERR value is out of range, must be positive");
    assert_eq!(l.cmd("lpop nosuch abc"), "(error) ERR value is out of range, must be positive");
    assert_eq!(l.cmd("lpop nosuch 9223372036854775808"), "(error) ERR value is out of range, must be positive");
    assert_eq!(l.cmd("lpop l 1 2"), "(error) ERR wrong number of arguments for 'lpop' command");
    assert_eq!(l.cmd("rpop l 1 2"), "(error) ERR wrong number of arguments for 'rpop' command");
    assert_eq!(l.cmd("rpush l x"), "(integer) 1");
    assert_eq!(l.cmd("lpop l 0"), "(empty array)");
    assert_eq!(l.cmd("lpop l 9223372036854775807"), "1) \"x\"");
    assert_eq!(l.cmd("lpush l3 a b c"), "(integer) 3");
    assert_eq!(l.cmd("lrange l3 0 -1"), "1) \"c\"\n2) \"b\"\n3) \"a\"", "LPUSH inserts one element at a time");
    assert_eq!(l.cmd("type l3"), "list");
    assert_eq!(l.cmd("rpush l2 1 2 3 4 5"), "(integer) 5");
    let all = "1) \"1\"\n2) \"2\"\n3) \"3\"\n4) \"4\"\n5) \"5\"";
    assert_eq!(l.cmd("lrange l2 -100 100"), all);
    assert_eq!(l.cmd("lrange l2 -9223372036854775808 9223372036854775807"), all);
    assert_eq!(l.cmd("lrange l2 -2 -1"), "1) \"4\"\n2) \"5\"");
    assert_eq!(l.cmd("lrange l2 1 1"), "1) \"2\"");
    assert_eq!(l.cmd("lrange l2 3 1"), "(empty array)");
    assert_eq!(l.cmd("lrange l2 5 10"), "(empty array)");
    assert_eq!(l.cmd("lrange l2 -9223372036854775808 -6"), "(empty array)");
    assert_eq!(l.cmd("lrange l2 0 9223372036854775808"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("lrange nosuch a b"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("lrange nosuch 0 -1"), "(empty array)");
    assert_eq!(l.cmd("llen l2"), "(integer) 5");
    assert_eq!(l.cmd("llen nosuch"), "(integer) 0");
    assert_eq!(l.cmd("lrange l2"), "(error) ERR wrong number of arguments for 'lrange' command");
    assert_eq!(l.cmd("lpush l2"), "(error) ERR wrong number of arguments for 'lpush' command");
    assert_eq!(l.cmd("lpop"), "(error) ERR wrong number of arguments for 'lpop' command");
}

#[test]
fn hashes_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("hset h f1 v1 f2 v2"), "(integer) 2");
    assert_eq!(l.cmd("hset h f1 x f3 v3"), "(integer) 1");
    assert_eq!(l.cmd("hset h f4 a f4 b"), "(integer) 1", "a field repeated in one HSET is created once");
    assert_eq!(
        l.cmd("hgetall h"),
        "1) \"f1\"\n2) \"x\"\n3) \"f2\"\n4) \"v2\"\n5) \"f3\"\n6) \"v3\"\n7) \"f4\"\n8) \"b\"",
        "insertion order; an overwritten field keeps its place"
    );
    assert_eq!(l.cmd("hset h f"), "(error) ERR wrong number of arguments for 'hset' command");
    assert_eq!(l.cmd("hset h f v g"), "(error) ERR wrong number of arguments for 'hset' command");
    assert_eq!(l.cmd("hget h f1"), "\"x\"");
    assert_eq!(l.cmd("hget h nosuch"), "(nil)");
    assert_eq!(l.cmd("hget nosuch f"), "(nil)");
    assert_eq!(l.cmd("hdel h nosuch"), "(integer) 0");
    assert_eq!(l.cmd("hdel h f1 f1 f2"), "(integer) 2");
    assert_eq!(l.cmd("hgetall h"), "1) \"f3\"\n2) \"v3\"\n3) \"f4\"\n4) \"b\"");
    assert_eq!(l.cmd("hdel nosuch f"), "(integer) 0");
    assert_eq!(l.cmd("hgetall nosuch"), "(empty array)");
    assert_eq!(l.cmd("type h"), "hash");
    assert_eq!(l.cmd("hdel h f3 f4 zz"), "(integer) 2");
    assert_eq!(l.cmd("exists h"), "(integer) 0", "the emptied hash is deleted");
    assert_eq!(l.cmd("type h"), "none");
}

#[test]
fn sets_reply_like_redis() {
    let mut l = lab();
    assert_eq!(l.cmd("sadd st 3 1 2 10 -5"), "(integer) 5");
    // An all-integer set is an intset in Redis: numeric order, which is what Redis printed.
    assert_eq!(l.cmd("smembers st"), "1) \"-5\"\n2) \"1\"\n3) \"2\"\n4) \"3\"\n5) \"10\"");
    assert_eq!(l.cmd("sadd st 1"), "(integer) 0");
    assert_eq!(l.cmd("sadd st a"), "(integer) 1");
    assert_eq!(l.cmd("scard st"), "(integer) 6");
    assert_eq!(l.cmd("srem st a"), "(integer) 1");
    assert_eq!(l.cmd("srem st zz"), "(integer) 0");
    assert_eq!(l.cmd("srem nosuch a"), "(integer) 0");
    assert_eq!(l.cmd("scard nosuch"), "(integer) 0");
    assert_eq!(l.cmd("smembers nosuch"), "(empty array)");
    assert_eq!(l.cmd("type st"), "set");
    assert_eq!(l.cmd("srem st 3 1 2 10 -5 zz"), "(integer) 5");
    assert_eq!(l.cmd("exists st"), "(integer) 0", "the emptied set is deleted");
    // Hashtable sets: Redis's order is unspecified (it printed c a b); ours is byte order.
    assert_eq!(l.cmd("sadd t b a c"), "(integer) 3");
    assert_eq!(l.cmd("smembers t"), "1) \"a\"\n2) \"b\"\n3) \"c\"");
    // Only canonical integers fit an intset: these four make a hashtable.
    assert_eq!(l.cmd("sadd u 007 7 -0 +1"), "(integer) 4");
    assert_eq!(l.cmd("smembers u"), "1) \"+1\"\n2) \"-0\"\n3) \"007\"\n4) \"7\"");
}

#[test]
fn smembers_orders_intsets_numerically_up_to_512_members() {
    let mut d = direct();
    let members: Vec<String> = (0..512).rev().map(|i| (i * 7 - 1000).to_string()).collect();
    d.run(&format!("sadd s {}", members.join(" ")));
    let Value::Set(items) = d.run("smembers s").reply else { panic!() };
    let got: Vec<i64> = items.iter().map(|v| resp::render(v).trim_matches('"').parse().unwrap()).collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "numeric order");
    assert_eq!(got.len(), 512);
    // The 513th integer makes it a hashtable, whose order we give as byte order.
    d.run("sadd s 5000");
    let Value::Set(items) = d.run("smembers s").reply else { panic!() };
    let got: Vec<String> = items.iter().map(resp::render).collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "byte order");
}

#[test]
fn wrong_types_are_refused_everywhere() {
    let mut l = lab();
    l.cmd("set s v");
    l.cmd("rpush l x");
    l.cmd("hset h f v");
    l.cmd("sadd st m");
    let wrongtype = "(error) WRONGTYPE Operation against a key holding the wrong kind of value";
    let refused = [
        // List commands on a string, a hash and a set.
        "lpush s x",
        "rpush h x",
        "lpop st",
        "rpop s 1",
        "lpop s 0",
        "lrange h 0 -1",
        "llen st",
        // Hash commands on the others.
        "hset s f v",
        "hset l f v f2 v2",
        "hget st f",
        "hdel l f",
        "hgetall s",
        // Set commands on the others.
        "sadd l m",
        "srem h m",
        "smembers s",
        "scard l",
        // String commands on a list, a hash and a set.
        "get l",
        "getset h v",
        "append st v",
        "strlen l",
        "incr h",
        "incrby st 2",
        "decr l",
        "set l v GET",
    ];
    for command in refused {
        assert_eq!(l.cmd(command), wrongtype, "{command}");
    }
    // Nothing was changed by the refusals.
    assert_eq!(l.cmd("get s"), "\"v\"");
    assert_eq!(l.cmd("lrange l 0 -1"), "1) \"x\"");
    assert_eq!(l.cmd("hgetall h"), "1) \"f\"\n2) \"v\"");
    assert_eq!(l.cmd("smembers st"), "1) \"m\"");
    // MGET reads non-strings as nil, and SET replaces any type.
    assert_eq!(l.cmd("mget s l h"), "1) \"v\"\n2) (nil)\n3) (nil)");
    assert_eq!(l.cmd("set l v"), "OK");
    assert_eq!(l.cmd("type l"), "string");
}

#[test]
fn writes_propagate_what_redis_propagates() {
    // The sequence and the expected stream are what a real 7.0.15 master sent to `redis-cli --replica`.
    let mut d = direct();
    let expected: &[(&str, &[&str])] = &[
        ("rpush l a b c", &["rpush l a b c"]),
        ("lpush l z", &["lpush l z"]),
        ("lpop l", &["lpop l"]),
        ("lpop l 0", &[]),
        ("lpop l 1", &["lpop l 1"]),
        ("rpop l 5", &["rpop l 5"]),
        ("lpop l", &[]),
        ("lpop nosuch 2", &[]),
        ("hset h f v f v", &["hset h f v f v"]),
        ("hset h f v", &["hset h f v"]),
        ("hdel h nosuch", &[]),
        ("hdel h f nosuch", &["hdel h f nosuch"]),
        ("sadd s a b", &["sadd s a b"]),
        ("sadd s a", &[]),
        ("srem s zz", &[]),
        ("srem s a zz", &["srem s a zz"]),
        ("expireat s 4000000000", &["PEXPIREAT s 4000000000000"]),
        ("expireat s 4000000000 lt", &[]),
        ("pexpireat s 4000000000001", &["pexpireat s 4000000000001"]),
        ("Expireat s 4000000002 gt", &["PEXPIREAT s 4000000002000 gt"]),
        ("pExpireAt s 4000000003 gt", &[]),
        ("expireat s 100", &["DEL s"]),
        ("expireat nosuch 100", &[]),
        ("set e v", &["set e v"]),
        ("pexpireat e 1", &["DEL e"]),
        // Not in the capture, but the same rules.
        ("expire k 100", &[]),
        ("sadd k x", &["sadd k x"]),
        ("expire k 100 NX", &["PEXPIREAT k 1000000100000 NX"]),
        ("pexpire k 5", &["PEXPIREAT k 1000000000005"]),
        ("scard k", &[]),
        ("smembers k", &[]),
        ("hgetall h", &[]),
        ("lrange l 0 -1", &[]),
        ("hset h2 f v", &["hset h2 f v"]),
        ("hdel h2 f", &["hdel h2 f"]),
        ("sadd t x y", &["sadd t x y"]),
        ("srem t y", &["srem t y"]),
    ];
    for (command, stream) in expected {
        assert_eq!(d.run(command).propagated, *stream, "{command}");
    }
    // Dirty counts what changed, as `server.dirty` does.
    assert_eq!(d.run("rpush m a b c").dirty, 3);
    assert_eq!(d.run("lpop m 5").dirty, 3);
    assert_eq!(d.run("hset h3 f 1 g 2 f 3").dirty, 3);
    assert_eq!(d.run("hdel h3 f g zz").dirty, 2);
    assert_eq!(d.run("sadd s2 a b a").dirty, 2);
    assert_eq!(d.run("sadd s2 a").dirty, 0);
    assert_eq!(d.run("srem s2 zz").dirty, 0);
    assert_eq!(d.run("lpop m 0").dirty, 0);
}

#[test]
fn a_write_to_an_expired_key_first_propagates_its_delete() {
    let mut d = direct();
    d.run("rpush l old");
    d.run(&format!("pexpireat l {}", NOW + 10));
    d.now_ms += 10;
    let out = d.run("lpush l new");
    assert_eq!(resp::render(&out.reply), "(integer) 1", "the expired list was replaced");
    assert_eq!(out.propagated, ["DEL l", "lpush l new"]);
    assert!(!d.db().expires.contains_key(b"l".as_slice()), "the new list does not inherit the old TTL");
    d.run("hset h f v");
    d.run(&format!("pexpireat h {}", NOW + 20));
    d.now_ms += 10;
    let out = d.run("hget h f");
    assert_eq!((resp::render(&out.reply), out.propagated), ("(nil)".to_owned(), vec!["DEL h".to_owned()]));
}

#[test]
fn expireat_and_pexpireat_reply_like_redis() {
    let mut d = direct();
    d.run("set k v");
    assert_eq!(d.cmd("expireat k abc"), "(error) ERR value is not an integer or out of range");
    assert_eq!(d.cmd("expireat k 100 foo"), "(error) ERR Unsupported option foo");
    assert_eq!(d.cmd("expireat k abc foo"), "(error) ERR Unsupported option foo", "options are checked first");
    let nx_error = "(error) ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(d.cmd("expireat k 100 nx xx"), nx_error);
    assert_eq!(d.cmd("expireat k 100 NX gt"), nx_error);
    assert_eq!(d.cmd("expire k 100 nx lt"), nx_error);
    assert_eq!(d.cmd("expireat k 100 gt lt"), "(error) ERR GT and LT options at the same time are not compatible");
    assert_eq!(d.cmd("expireat nosuch 2000000000"), "(integer) 0");
    let invalid = "(error) ERR invalid expire time in 'expireat' command";
    assert_eq!(d.cmd("expireat k 9223372036854775807"), invalid);
    assert_eq!(d.cmd("expireat k 9223372036854776"), invalid);
    assert_eq!(d.cmd("expireat k -9223372036854776"), invalid);
    assert_eq!(d.cmd("expire k -9223372036854776"), "(error) ERR invalid expire time in 'expire' command");
    assert_eq!(d.cmd("pexpire k 9223372036854775807"), "(error) ERR invalid expire time in 'pexpire' command");
    assert_eq!(d.cmd("pexpireat k 9223372036854775807"), "(integer) 1");
    assert_eq!(d.cmd("pttl k"), format!("(integer) {}", i64::MAX - NOW));
    // GT and LT: a key without a TTL lives forever, so GT never beats it and LT always does.
    assert_eq!(d.cmd("expireat k 4000000000 gt"), "(integer) 0");
    assert_eq!(d.cmd("expireat k 4000000000 lt"), "(integer) 1");
    assert_eq!(d.cmd("expireat k 4000000000 nx"), "(integer) 0");
    assert_eq!(d.cmd("expireat k 4000000000 lt"), "(integer) 0", "LT is strict");
    assert_eq!(d.cmd("expireat k 4000000001 gt"), "(integer) 1");
    assert_eq!(d.cmd("ttl k"), format!("(integer) {}", 4_000_000_001 - NOW / 1000));
    assert_eq!(d.cmd("persist k"), "(integer) 1");
    assert_eq!(d.cmd("expireat k 4000000000 xx"), "(integer) 0");
    assert_eq!(d.cmd("expireat k 4000000000 gt"), "(integer) 0");
    assert_eq!(d.cmd("pexpireat k 4000000000000 lt"), "(integer) 1");
    assert_eq!(d.cmd("pexpireat k 4000000000000 xx"), "(integer) 1");
    assert_eq!(d.cmd("pttl k"), format!("(integer) {}", 4_000_000_000_000 - NOW));
    // A time in the past deletes the key, even one far in the past.
    assert_eq!(d.cmd("expireat k -9223372036854775"), "(integer) 1");
    assert_eq!(d.cmd("exists k"), "(integer) 0");
    d.run("set k v");
    assert_eq!(d.cmd(&format!("pexpireat k {NOW}")), "(integer) 1", "now is already past");
    assert_eq!(d.cmd("exists k"), "(integer) 0");
    // A (writable) replica keeps the key with its past time and waits for the master's DEL.
    let mut r = direct();
    r.is_master = false;
    r.run("set k v");
    assert_eq!(r.cmd("expireat k 100"), "(integer) 1");
    assert_eq!(r.db().expires.get(b"k".as_slice()), Some(&100_000));
    assert_eq!(r.cmd("get k"), "(nil)", "hidden, not deleted");
    assert!(r.db().keys.contains_key(b"k".as_slice()));
}

#[test]
fn expireat_through_the_server() {
    let mut l = lab();
    l.cmd("rpush l x");
    assert_eq!(l.cmd("expireat l 4102444800"), "(integer) 1");
    assert_eq!(l.cmd("pexpireat l 4102444800000 gt"), "(integer) 0");
    assert_eq!(l.cmd("expireat l 0"), "(integer) 1");
    assert_eq!(l.cmd("type l"), "none");
    assert_eq!(l.cmd("expireat l"), "(error) ERR wrong number of arguments for 'expireat' command");
    assert_eq!(l.cmd("pexpireat l"), "(error) ERR wrong number of arguments for 'pexpireat' command");
}

/// One SCAN call: the cursor to continue with and the keys returned.
fn scan_once(d: &mut Direct, cursor: &str, options: &str) -> (String, Vec<String>) {
    let reply = d.run(&format!("scan {cursor} {options}")).reply;
    let Value::Array(parts) = reply else { panic!("{reply:?}") };
    let [Value::Bulk(next), Value::Array(keys)] = parts.as_slice() else { panic!("{parts:?}") };
    let keys = keys
        .iter()
        .map(|k| match k {
            Value::Bulk(k) => String::from_utf8(k.clone()).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    (String::from_utf8(next.clone()).unwrap(), keys)
}

/// Walks a whole SCAN, calling `between` after each call with the keys returned so far; returns the keys in the
/// order returned and the number of calls.
fn scan_all(d: &mut Direct, options: &str, mut between: impl FnMut(&mut Direct, &[String])) -> (Vec<String>, usize) {
    let (mut cursor, mut seen, mut calls) = ("0".to_owned(), Vec::new(), 0);
    loop {
        let (next, keys) = scan_once(d, &cursor, options);
        calls += 1;
        assert!(calls < 10_000, "the walk ends");
        seen.extend(keys);
        if next == "0" {
            return (seen, calls);
        }
        between(d, &seen);
        cursor = next;
    }
}

#[test]
fn scan_returns_every_key_exactly_once() {
    let mut d = direct();
    let keys: Vec<String> = (0..25).map(|i| format!("key:{i:02}")).collect();
    for k in &keys {
        d.run(&format!("set {k} v"));
    }
    let (seen, calls) = scan_all(&mut d, "COUNT 2", |_, _| {});
    assert_eq!(seen, keys, "each key once, in key order");
    assert_eq!(calls, 13);
    let (seen, calls) = scan_all(&mut d, "", |_, _| {});
    assert_eq!((seen.len(), calls), (25, 3), "COUNT defaults to 10");
    assert_eq!(scan_once(&mut d, "0", "COUNT 100"), ("0".to_owned(), keys.clone()));
    // An empty database, and an empty key, which sorts first and has cursor 0 itself.
    assert_eq!(scan_once(&mut direct(), "0", ""), ("0".to_owned(), vec![]));
    d.run("set \"\" v");
    d.run("set \"\\x00\" v");
    let (seen, _) = scan_all(&mut d, "COUNT 1", |_, _| {});
    assert_eq!(seen.len(), 27);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 27);
}

#[test]
fn scan_survives_deletes_and_inserts_between_calls() {
    let mut d = direct();
    let keys: Vec<String> = (0..40).map(|i| format!("key:{i:02}")).collect();
    for k in &keys {
        d.run(&format!("rpush {k} v"));
    }
    // Keys deleted after being returned, and keys deleted before the walk reached them.
    let (mut returned_then_deleted, mut never_returned) = (BTreeSet::new(), BTreeSet::new());
    let mut calls = 0;
    let (seen, _) = scan_all(&mut d, "COUNT 2", |d, seen| {
        calls += 1;
        // Delete a key already returned (a cursor counting keys passed would then skip a survivor) and, every other
        // call, the key the cursor resumes at; add keys behind and ahead of the cursor.
        let returned = seen.iter().find(|k| k.starts_with("key:") && !returned_then_deleted.contains(*k)).cloned();
        let resume = keys.iter().find(|k| !seen.contains(k) && !never_returned.contains(*k)).cloned();
        if let Some(k) = returned {
            assert_eq!(d.cmd(&format!("del {k}")), "(integer) 1");
            returned_then_deleted.insert(k);
        }
        if let Some(k) = resume.filter(|_| calls % 2 == 0) {
            assert_eq!(d.cmd(&format!("del {k}")), "(integer) 1");
            never_returned.insert(k);
        }
        d.run(&format!("set a:{calls} v"));
        d.run(&format!("set zz:{calls} v"));
    });
    assert!(returned_then_deleted.len() > 5 && never_returned.len() > 5, "the test deleted keys both sides");
    for k in &keys {
        let expected = usize::from(!never_returned.contains(k));
        assert_eq!(seen.iter().filter(|s| *s == k).count(), expected, "{k}: {seen:?}");
    }
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len(), "no key twice: {seen:?}");
    assert!(seen.iter().all(|k| !k.starts_with("a:")), "keys added behind the cursor are not returned");
    assert!(seen.iter().any(|k| k.starts_with("zz:")), "keys added ahead of it are");
}

#[test]
fn scan_returns_keys_sharing_their_first_8_bytes_together() {
    let mut d = direct();
    for k in ["a", "session:1", "session:2", "session:3", "session:4", "z"] {
        d.run(&format!("set {k} v"));
    }
    // They share one cursor value, so the call that reaches them returns them all, beyond COUNT.
    let (next, keys) = scan_once(&mut d, "0", "COUNT 2");
    assert_eq!(keys, ["a", "session:1", "session:2", "session:3", "session:4"]);
    assert_eq!(scan_once(&mut d, &next, "COUNT 2"), ("0".to_owned(), vec!["z".to_owned()]));
}

#[test]
fn scan_filters_by_match_and_type() {
    let mut d = direct();
    d.run("mset a 1 b 2 c 3");
    d.run("rpush l x");
    d.run("hset h f v");
    d.run("sadd s m");
    let all = |d: &mut Direct, options: &str| scan_all(d, options, |_, _| {}).0;
    assert_eq!(all(&mut d, "TYPE LIST"), ["l"], "type names are case-insensitive");
    assert_eq!(all(&mut d, "type hash"), ["h"]);
    assert_eq!(all(&mut d, "type set count 1"), ["s"]);
    assert_eq!(all(&mut d, "TYPE string match a COUNT 100"), ["a"]);
    assert_eq!(all(&mut d, "type nosuchtype"), Vec::<String>::new());
    assert_eq!(all(&mut d, "match [ab]"), ["a", "b"]);
    assert_eq!(all(&mut d, "match a match b"), ["b"], "the last MATCH wins");
    assert_eq!(all(&mut d, "match *"), ["a", "b", "c", "h", "l", "s"]);
    // A filtered call can return no keys yet go on.
    let (next, keys) = scan_once(&mut d, "0", "count 1 match zzz");
    assert!(keys.is_empty() && next != "0");
}

#[test]
fn scan_skips_expired_keys_except_for_type_none() {
    let mut d = direct();
    d.run("mset k v j v m v");
    d.run(&format!("pexpireat k {}", NOW + 5));
    d.run(&format!("pexpireat j {}", NOW + 5));
    d.now_ms += 5;
    let mut replica = Direct { dbs: d.dbs.clone(), now_ms: d.now_ms, is_master: false };
    let out = d.run("scan 0");
    assert_eq!(resp::render(&out.reply), "1) \"0\"\n2) 1) \"m\"");
    assert_eq!(out.propagated, ["DEL j", "DEL k"], "the master deletes what it finds expired");
    // Redis 7.0 checks TYPE with a lookup that already deletes an expired key, so its own expiry check no longer
    // sees it and `TYPE none` returns it: `SCAN 0 TYPE none` gave `k` and `j` on a real 7.0.15.
    d.run("mset k v j v");
    d.run(&format!("pexpireat k {}", NOW + 10));
    d.run(&format!("pexpireat j {}", NOW + 10));
    d.now_ms += 5;
    let out = d.run("scan 0 type none");
    assert_eq!(resp::render(&out.reply), "1) \"0\"\n2) 1) \"j\"\n   2) \"k\"");
    assert_eq!(out.propagated, ["DEL j", "DEL k"]);
    assert_eq!(d.cmd("scan 0 TYPE NONE"), "1) \"0\"\n2) (empty array)");
    // A replica hides expired keys and deletes nothing.
    let out = replica.run("scan 0 type none");
    assert_eq!((resp::render(&out.reply), out.propagated.len()), ("1) \"0\"\n2) (empty array)".to_owned(), 0));
    assert_eq!(replica.cmd("scan 0"), "1) \"0\"\n2) 1) \"m\"");
    assert_eq!(replica.db().keys.len(), 3);
}

#[test]
fn scan_arguments_are_parsed_like_redis() {
    let mut l = lab();
    l.cmd("mset a 1 b 2");
    assert_eq!(l.cmd("scan 0"), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    let invalid = "(error) ERR invalid cursor";
    for cursor in ["abc", "\" 0\"", "\"0 \"", "-", "+", "0x10", "1.5", "18446744073709551616", "-18446744073709551616"]
    {
        assert_eq!(l.cmd(&format!("scan {cursor}")), invalid, "{cursor}");
    }
    assert_eq!(l.cmd("scan abc count 0"), invalid, "the cursor is checked first");
    // strtoul takes a sign and reads "" as 0; any cursor in range is valid.
    assert_eq!(l.cmd("scan \"\""), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    assert_eq!(l.cmd("scan +0"), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    assert_eq!(l.cmd("scan 007"), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    assert_eq!(l.cmd("scan -1"), "1) \"0\"\n2) (empty array)");
    assert_eq!(l.cmd("scan 18446744073709551615"), "1) \"0\"\n2) (empty array)");
    assert_eq!(l.cmd("scan -18446744073709551615"), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    let syntax = "(error) ERR syntax error";
    for options in
        ["count 0", "count -1", "COUNT", "match", "type", "foo bar", "count 0 foo", "foo count 0", "count 1 x"]
    {
        assert_eq!(l.cmd(&format!("scan 0 {options}")), syntax, "{options}");
    }
    assert_eq!(l.cmd("scan 0 count abc"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("scan 0 count 9223372036854775807"), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\"");
    assert_eq!(l.cmd("scan"), "(error) ERR wrong number of arguments for 'scan' command");
}

#[test]
fn scan_cursors_follow_key_order() {
    // A cursor resumes at the first key at or after its bytes: check on keys around the 8-byte boundary.
    let mut d = direct();
    let keys = ["", "\\x00", "\\x00\\x01", "a", "a\\x00", "abcdefgh", "abcdefgh\\x00", "abcdefghi", "abcdefgi", "b"];
    for k in keys {
        d.run(&format!("set \"{k}\" v"));
    }
    for count in 1..=4 {
        let (seen, _) = scan_all(&mut d, &format!("count {count}"), |_, _| {});
        let sorted: Vec<&Vec<u8>> = d.db().keys.keys().collect();
        let seen_bytes: Vec<Vec<u8>> = seen.iter().map(|s| s.as_bytes().to_vec()).collect();
        assert_eq!(seen_bytes.iter().collect::<Vec<_>>(), sorted, "count {count}");
    }
}

/// Random commands with hostile arguments: nothing panics, and the keyspace keeps its invariants (no empty
/// containers, no TTL without a key, no duplicate hash fields).
#[test]
fn random_commands_never_panic_and_keep_the_keyspace_sound() {
    let names = [
        "lpush",
        "rpush",
        "lpop",
        "rpop",
        "lrange",
        "llen",
        "hset",
        "hget",
        "hdel",
        "hgetall",
        "sadd",
        "srem",
        "smembers",
        "scard",
        "scan",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "type",
        "get",
        "set",
        "del",
        "ttl",
        "persist",
        "append",
        "incr",
        "getdel",
        "getrange",
        "setrange",
        "lset",
        "linsert",
        "lmove",
        "smove",
        "sunionstore",
        "sinterstore",
        "sdiffstore",
        "copy",
        "zadd",
        "zincrby",
        "zrem",
        "zrange",
        "zrangestore",
        "zremrangebyscore",
        "zremrangebylex",
        "zremrangebyrank",
        "zpopmin",
        "zpopmax",
        "zcount",
        "zlexcount",
        "xadd",
        "xdel",
        "xtrim",
        "xrange",
        "xrevrange",
        "xlen",
        "xread",
        "xreadgroup",
        "xgroup",
        "xack",
        "xpending",
        "xclaim",
        "xautoclaim",
        "xsetid",
        "xinfo",
        "hexists",
        "hincrby",
        "hincrbyfloat",
        "hkeys",
        "hvals",
        "hmget",
        "hmset",
        "hsetnx",
        "hstrlen",
        "hrandfield",
        "setex",
        "psetex",
        "msetnx",
        "substr",
        "incrbyfloat",
        "lpushx",
        "rpushx",
        "lrem",
        "ltrim",
        "rpoplpush",
        "lmpop",
        "zmpop",
        "smismember",
    ];
    let pool = [
        "maxlen",
        "minid",
        "~",
        "=",
        "1-1",
        "2",
        "streams",
        "group",
        "create",
        "setid",
        "mkstream",
        "noack",
        "justid",
        "force",
        ">",
        "$",
        "z",
        "incr",
        "ch",
        "byscore",
        "bylex",
        "rev",
        "limit",
        "withscores",
        "(1",
        "[a",
        "-",
        "+",
        "-inf",
        "+inf",
        "nan",
        "before",
        "left",
        "right",
        "replace",
        "k",
        "l",
        "h",
        "s",
        "x",
        "0",
        "1",
        "-1",
        "2",
        "-2",
        "3",
        "abc",
        "",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551615",
        "-18446744073709551615",
        "count",
        "match",
        "type",
        "*",
        "k*",
        "nx",
        "xx",
        "gt",
        "lt",
        "string",
        "list",
        "none",
        "-0",
        "+1",
        "\u{0}",
        "min",
        "max",
        "withvalues",
        "1.5",
        "-0.1",
        "1e400",
        "1e4932",
        "inf",
        "0x10",
    ];
    let mut d = direct();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..30_000 {
        let name = names[next(names.len())];
        let arity = lookup(name).unwrap().arity;
        let argc = if arity > 0 { arity as usize } else { -arity as usize + next(5) };
        let mut args = vec![name.as_bytes().to_vec()];
        args.extend((1..argc).map(|_| pool[next(pool.len())].as_bytes().to_vec()));
        d.now_ms += next(3000) as i64;
        let out = d.exec(&args);
        assert_eq!(out.dirty > 0, !out.propagated.is_empty(), "step {step}: {args:?} dirty iff propagated");
        let db = d.db();
        for (key, value) in &db.keys {
            let empty = match value {
                Data::Str(_) => false,
                Data::List(l) => l.is_empty(),
                Data::Hash(h) => h.is_empty() || h.iter().map(|(f, _)| f).collect::<BTreeSet<_>>().len() != h.len(),
                Data::Set(s) => s.is_empty(),
                Data::ZSet(z) => z.is_empty(),
                // XDEL and XTRIM may empty a stream; it stays, as in Redis.
                Data::Stream(_) => false,
            };
            assert!(!empty, "step {step}: {args:?} left {key:?} = {value:?}");
        }
        assert!(db.expires.keys().all(|k| db.keys.contains_key(k)), "step {step}: {args:?} left a TTL without a key");
    }
}

#[test]
fn more_writes_propagate_what_redis_propagates() {
    // The sequence and the expected stream are what a real 7.0.15 master sent to `redis-cli --replica`.
    let mut d = direct();
    let expected: &[(&str, &[&str])] = &[
        ("RPUSH m1 a b c", &["RPUSH m1 a b c"]),
        ("LMPOP 1 m1 LEFT COUNT 10", &["LPOP m1 3"]),
        ("RPUSH m1 a b c", &["RPUSH m1 a b c"]),
        ("LMPOP 1 m1 RIGHT", &["RPOP m1 1"]),
        ("ZADD z 1 a 2 b 3 c", &["ZADD z 1 a 2 b 3 c"]),
        ("ZMPOP 1 z MAX COUNT 2", &["ZPOPMAX z 2"]),
        ("ZMPOP 1 z MIN COUNT 5", &["ZPOPMIN z 1"]),
        ("INCRBYFLOAT f 1.5", &["SET f 1.5 KEEPTTL"]),
        ("HINCRBYFLOAT h f 2.5", &["HSET h f 2.5"]),
        ("HINCRBY h g 3", &["HINCRBY h g 3"]),
        ("SETEX s 100 v", &["SET s v PXAT 1000000100000"]),
        ("PSETEX p 100000 v", &["SET p v PXAT 1000000100000"]),
        ("MSETNX a 1 b 2", &["MSETNX a 1 b 2"]),
        ("MSETNX a 1 c 2", &[]),
        ("RPUSH l a b c", &["RPUSH l a b c"]),
        ("LTRIM l 0 -1", &[]),
        ("LTRIM nosuch 0 1", &[]),
        ("LREM l 0 nosuch", &[]),
        ("LREM l 0 a", &["LREM l 0 a"]),
        ("RPOPLPUSH l l2", &["RPOPLPUSH l l2"]),
        ("HMSET h2 a 1", &["HMSET h2 a 1"]),
        ("HSETNX h2 a 2", &[]),
        ("HSETNX h2 b 2", &["HSETNX h2 b 2"]),
        ("LPUSHX l x", &["LPUSHX l x"]),
        ("LPUSHX nosuch x", &[]),
        ("RPUSHX l y z", &["RPUSHX l y z"]),
        // Not in the capture, but the same rules.
        ("LTRIM l 1 -1", &["LTRIM l 1 -1"]),
        ("LMPOP 1 nosuch LEFT", &[]),
        ("INCRBYFLOAT f x", &[]),
    ];
    for (command, stream) in expected {
        assert_eq!(d.run(command).propagated, *stream, "{command}");
    }
    // INCRBYFLOAT keeps the key's TTL (KEEPTTL), SETEX sets one.
    d.run("SET t 1 PX 5000");
    d.run("INCRBYFLOAT t 1");
    assert_eq!(d.db().expires.get(b"t".as_slice()), Some(&(NOW + 5000)));
    assert_eq!(d.db().keys.get(b"t".as_slice()), Some(&Data::Str(b"2"[..].into())));
}

/// LINDEX, HLEN and SISMEMBER, as redis-server 7.0.15 answers them (the fidelity
/// harness's catalogue listed them as missing).
#[test]
fn lindex_hlen_sismember_reply_like_redis() {
    let mut d = direct();
    d.run("rpush l a b c");
    d.run("hset h f v");
    d.run("sadd s a");
    let cases = [
        ("lindex l 0", "\"a\""),
        ("lindex l -1", "\"c\""),
        ("lindex l 3", "(nil)"),
        ("lindex l -4", "(nil)"),
        ("lindex l -9223372036854775808", "(nil)"),
        ("lindex l x", "(error) ERR value is not an integer or out of range"),
        // The key is looked up before the index is parsed.
        ("lindex nosuch x", "(nil)"),
        ("lindex h 0", "(error) WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("hlen h", "(integer) 1"),
        ("hlen nosuch", "(integer) 0"),
        ("hlen l", "(error) WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("sismember s a", "(integer) 1"),
        ("sismember s b", "(integer) 0"),
        ("sismember nosuch a", "(integer) 0"),
        ("sismember l a", "(error) WRONGTYPE Operation against a key holding the wrong kind of value"),
    ];
    for (line, want) in cases {
        assert_eq!(d.cmd(line), want, "{line}");
        assert!(d.run(line).propagated.is_empty(), "{line} is a read");
    }
}

/// SETNX, UNLINK, EXPIRETIME and PEXPIRETIME, as redis-server 7.0.15 answers and
/// propagates them (missing from the node until the fidelity harness listed them).
#[test]
fn setnx_unlink_expiretime_reply_and_propagate_like_redis() {
    let mut d = direct();
    let setnx = d.run("setnx k v");
    assert_eq!(
        (resp::render(&setnx.reply), setnx.propagated),
        ("(integer) 1".to_owned(), vec!["setnx k v".to_owned()])
    );
    let again = d.run("setnx k w");
    assert_eq!((resp::render(&again.reply), again.propagated.len()), ("(integer) 0".to_owned(), 0));
    assert_eq!(d.cmd("get k"), "\"v\"");
    d.run("rpush l a");
    assert_eq!(d.cmd("setnx l x"), "(integer) 0", "any type blocks SETNX");
    assert_eq!(d.cmd("expiretime nosuch"), "(integer) -2");
    assert_eq!(d.cmd("expiretime k"), "(integer) -1");
    d.run("pexpireat k 1999999999499");
    assert_eq!(d.cmd("expiretime k"), "(integer) 1999999999");
    assert_eq!(d.cmd("pexpiretime k"), "(integer) 1999999999499");
    d.run("pexpireat k 1999999999500");
    assert_eq!(d.cmd("expiretime k"), "(integer) 2000000000", "rounded to the nearest second");
    let unlink = d.run("unlink k nosuch l");
    assert_eq!(resp::render(&unlink.reply), "(integer) 2");
    assert_eq!(unlink.propagated, vec!["unlink k nosuch l".to_owned()]);
    assert_eq!(d.db().keys.len(), 0);
}

/// RENAME and RENAMENX as redis-server 7.0.15 answers them: the TTL moves with
/// the value, the destination is replaced whatever its type, the command
/// propagates verbatim.
#[test]
fn rename_and_renamenx_reply_and_propagate_like_redis() {
    let mut d = direct();
    assert_eq!(d.cmd("rename nosuch x"), "(error) ERR no such key");
    assert_eq!(d.cmd("renamenx nosuch x"), "(error) ERR no such key");
    d.run("set a 1");
    let same = d.run("rename a a");
    assert_eq!((resp::render(&same.reply), same.propagated.len()), ("OK".to_owned(), 0));
    assert_eq!(d.cmd("renamenx a a"), "(integer) 0");
    d.run("set c 3");
    d.run("pexpireat c 1999999999499");
    let moved = d.run("rename c a");
    assert_eq!((resp::render(&moved.reply), moved.propagated), ("OK".to_owned(), vec!["rename c a".to_owned()]));
    assert_eq!(d.cmd("get a"), "\"3\"");
    assert_eq!(d.cmd("exists c"), "(integer) 0");
    assert_eq!(d.cmd("pexpiretime a"), "(integer) 1999999999499", "the TTL moves with the value");
    d.run("set d 4");
    assert_eq!(d.cmd("renamenx a d"), "(integer) 0");
    assert_eq!(d.cmd("renamenx a e"), "(integer) 1");
    d.run("rpush l x");
    assert_eq!(d.cmd("rename l e"), "OK");
    assert_eq!(d.cmd("type e"), "list");
    assert_eq!(d.cmd("pttl e"), "(integer) -1", "the replaced key's TTL goes with it");
}

/// OBJECT as redis-server 7.0.15 answered the same requests on loopback: string
/// encodings by how the value was made, and conversions that never go back.
#[test]
fn object_encoding_and_refcount_follow_redis() {
    let mut b = crate::tests_pubsub::Bench::new();
    b.server(7850, "");
    let c = b.connect(7850);
    let (s44, s45, y65) = ("x".repeat(44), "x".repeat(45), "y".repeat(65));
    let lines: Vec<String> = [
        "SET i 123",
        "OBJECT ENCODING i",
        "OBJECT REFCOUNT i",
        "SET big 12345",
        "OBJECT REFCOUNT big",
        "OBJECT ENCODING big",
        "SET e 'hello world'",
        "OBJECT ENCODING e",
        "SET n 007",
        "OBJECT ENCODING n",
        &format!("SET s44 {s44}"),
        "OBJECT ENCODING s44",
        &format!("SET s45 {s45}"),
        "OBJECT ENCODING s45",
        "SET m -9223372036854775808",
        "OBJECT ENCODING m",
        "SET o 9223372036854775808",
        "OBJECT ENCODING o",
        "APPEND a 1",
        "OBJECT ENCODING a",
        "APPEND a 2",
        "OBJECT ENCODING a",
        "OBJECT REFCOUNT a",
        "INCR a",
        "OBJECT ENCODING a",
        "OBJECT REFCOUNT a",
        "APPEND a x",
        "INCR c",
        "OBJECT ENCODING c",
        "OBJECT REFCOUNT c",
        "INCRBY c 20000",
        "OBJECT REFCOUNT c",
        "RPUSH l a",
        "OBJECT ENCODING l",
        "HSET h f v",
        "OBJECT ENCODING h",
        &format!("HSET h g {y65}"),
        "OBJECT ENCODING h",
        "HDEL h g",
        "OBJECT ENCODING h",
        "SADD st 1 2",
        "OBJECT ENCODING st",
        "SADD st x",
        "OBJECT ENCODING st",
        "SREM st x",
        "OBJECT ENCODING st",
        "OBJECT REFCOUNT st",
        "RENAME st st2",
        "OBJECT ENCODING st2",
        "OBJECT ENCODING nokey",
        "OBJECT REFCOUNT nokey",
        "OBJECT FREQ i",
        "OBJECT FOO i",
        "OBJECT",
        "OBJECT ENCODING",
        "OBJECT ENCODING i j",
        "OBJECT HELP x",
        "OBJECT help",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let got = b.send(c, &lines);
    let want = EXPECTED_OBJECT;
    assert_eq!(got, want);
}

const EXPECTED_OBJECT: &str = "+OK\r\n$3\r\nint\r\n:2147483647\r\n+OK\r\n:1\r\n$3\r\nint\r\n+OK\r\n$6\r\nembstr\r\n+OK\r\n$6\r\nembstr\r\n+OK\r\n$6\r\nembstr\r\n+OK\r\n$3\r\nraw\r\n+OK\r\n$3\r\nint\r\n+OK\r\n$6\r\nembstr\r\n:1\r\n$3\r\nint\r\n:2\r\n$3\r\nraw\r\n:1\r\n:13\r\n$3\r\nint\r\n:2147483647\r\n:3\r\n:1\r\n$3\r\nint\r\n:2147483647\r\n:20001\r\n:1\r\n:1\r\n$9\r\nquicklist\r\n:1\r\n$8\r\nlistpack\r\n:1\r\n$9\r\nhashtable\r\n:1\r\n$9\r\nhashtable\r\n:2\r\n$6\r\nintset\r\n:1\r\n$9\r\nhashtable\r\n:1\r\n$9\r\nhashtable\r\n:1\r\n+OK\r\n$9\r\nhashtable\r\n$-1\r\n$-1\r\n-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n-ERR wrong number of arguments for 'object' command\r\n-ERR wrong number of arguments for 'object|encoding' command\r\n-ERR wrong number of arguments for 'object|encoding' command\r\n-ERR wrong number of arguments for 'object|help' command\r\n*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+    Return the kind of internal representation used in order to store the value\r\n+    associated with a <key>.\r\n+FREQ <key>\r\n+    Return the access frequency index of the <key>. The returned integer is\r\n+    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n+    Return the idle time of the <key>, that is the approximated number of\r\n+    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n";

/// A set or hash that was converted to a hashtable and shrank back is still
/// DUMPed as one, as redis-server 7.0.15 did (bytes captured on loopback).
#[test]
fn dump_keeps_a_one_way_conversion() {
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
    let mut d = direct();
    d.run("sadd cs 1 x");
    d.run("srem cs x");
    assert_eq!(d.run("dump cs").reply, Value::Bulk(hex("0201c0010a00fb10e1531ae57625")));
    d.run(&format!("hset ch f {}", "v".repeat(65)));
    d.run("hset ch f v");
    assert_eq!(d.run("dump ch").reply, Value::Bulk(hex("0401016601760a00adf24356b1860efc")));
    // A fresh key of the same shape is compact again.
    d.run("del cs");
    d.run("sadd cs 1");
    assert_eq!(d.run("dump cs").reply.to_bytes()[5], 11, "intset type byte");
}
