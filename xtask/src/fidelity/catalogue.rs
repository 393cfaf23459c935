//! The reply catalogue: commands and bad inputs, run in order on one connection
//! per mode (so state carries: a string set earlier makes a later LPUSH a
//! WRONGTYPE), on the real server and on the simulated one. Replies must be
//! identical byte for byte unless a mask or a known gap is given, with its reason.

use super::observe::{Expect, Mask, Obs};
use super::target::{Conn, Target, args, info_field, wait_until};
use std::time::Duration;

/// One catalogue line. A line starting with `master> ` goes to the master in
/// replica mode.
pub struct Entry {
    line: &'static str,
    expect: Expect,
    mask: Mask,
}

const fn e(line: &'static str) -> Entry {
    Entry { line, expect: Expect::Same, mask: Mask::None }
}

const fn masked(line: &'static str) -> Entry {
    Entry { line, expect: Expect::Same, mask: Mask::Numbers }
}

const fn unordered(line: &'static str) -> Entry {
    Entry { line, expect: Expect::Same, mask: Mask::Unordered }
}

const fn pairs(line: &'static str) -> Entry {
    Entry { line, expect: Expect::Same, mask: Mask::UnorderedPairs }
}

const fn gap(line: &'static str, why: &'static str) -> Entry {
    Entry { line, expect: Expect::Gap(why), mask: Mask::None }
}

const NOT_IMPLEMENTED: &str = "command not implemented by the simulated node (unknown command there)";

/// A mode: its servers, and the port the catalogue talks to.
pub struct Mode {
    /// Report group suffix.
    pub name: &'static str,
    /// `(port, redis.conf)` in start order; the last one is where lines go.
    pub servers: &'static [(u16, &'static str)],
    /// The lines.
    pub entries: &'static [Entry],
}

const STANDALONE: &[Entry] = &[
    e("PING"),
    e("PING hello"),
    e("PING a b"),
    e("ECHO hi"),
    e("ECHO"),
    e("FOOBAR"),
    e("foobar x y"),
    e("SET k v"),
    e("GET k"),
    e("GET a b"),
    e("SET"),
    e("SET k v EX 0"),
    e("SET k v EX -5"),
    e("SET k v EX abc"),
    e("SET k v EX 1.5"),
    e("SET k v NX XX"),
    e("SET k v EX 10 PX 100"),
    e("SET k v BADOPT"),
    e("SET k v PX 9223372036854775807"),
    e("SET k v GET"),
    e("SET k v2 NX"),
    e("SET k v3 XX"),
    e("SET k v KEEPTTL"),
    e("GET nosuchkey"),
    e("GETSET k v4"),
    e("GETSET k"),
    e("APPEND k xy"),
    e("STRLEN k"),
    e("STRLEN nosuchkey"),
    e("SET num 10"),
    e("INCR num"),
    e("INCRBY num 5"),
    e("DECR num"),
    e("DECRBY num 3"),
    e("INCRBY num abc"),
    e("INCRBY num 1.5"),
    e("INCR k"),
    e("SET big 9223372036854775807"),
    e("INCR big"),
    e("DECRBY num -9223372036854775808"),
    e("SET small -9223372036854775808"),
    e("DECR small"),
    e("INCRBY num 99999999999999999999"),
    gap("INCRBYFLOAT num 1.5", NOT_IMPLEMENTED),
    e("MSET a 1 b 2"),
    e("MSET a"),
    e("MSET a 1 b"),
    e("MGET a b nosuchkey"),
    e("EXISTS a b nosuchkey a"),
    e("DEL a nosuchkey"),
    e("TYPE k"),
    e("TYPE nosuchkey"),
    e("RPUSH l a b c"),
    e("LPUSH l z"),
    e("LRANGE l 0 -1"),
    e("LRANGE l 0 x"),
    e("LRANGE l 0 99999999999999999999"),
    e("LLEN l"),
    e("LPOP l"),
    e("RPOP l 2"),
    e("LPOP l -1"),
    e("LPOP nosuchkey"),
    e("LPUSH k x"),
    e("LLEN k"),
    e("TYPE l"),
    e("LINDEX l 0"),
    e("LINDEX l -1"),
    e("LINDEX l 99"),
    e("LINDEX l x"),
    e("LINDEX nosuchkey x"),
    e("LINDEX k 0"),
    e("HSET h f v f2 v2"),
    e("HSET h f"),
    e("HGET h f"),
    e("HGET h nosuchfield"),
    e("HGETALL h"),
    e("HDEL h f nosuchfield"),
    e("HGET k f"),
    e("TYPE h"),
    e("HLEN h"),
    e("HLEN nosuchkey"),
    e("HLEN k"),
    e("SADD s a b a"),
    e("SCARD s"),
    unordered("SMEMBERS s"),
    e("SREM s a nosuchmember"),
    e("SADD k x"),
    e("TYPE s"),
    e("APPEND l x"),
    e("STRLEN l"),
    e("INCR l"),
    e("GETSET l x"),
    e("SMEMBERS k"),
    e("SCARD k"),
    e("SREM k a"),
    e("HGETALL k"),
    e("HDEL k f"),
    e("LRANGE k 0 1"),
    e("RPOP k"),
    e("SET \"\" empty"),
    e("GET \"\""),
    e("SET \"\\x00\\xffbin\" \"\\x01\\x02\""),
    e("GET \"\\x00\\xffbin\""),
    e("ECHO \"\\xe4\\xb8\\xad\""),
    e("MGET"),
    e("EXISTS"),
    e("KEYS"),
    e("DBSIZE x"),
    e("INFO nosuchsection"),
    e("SAVE"),
    e("SISMEMBER s b"),
    e("SISMEMBER s nosuchmember"),
    e("SISMEMBER k b"),
    e("EXPIRE k 100"),
    e("TTL k"),
    masked("PTTL k"),
    e("EXPIRE k 100 NX"),
    e("EXPIRE k 200 XX"),
    e("EXPIRE k 50 GT"),
    e("EXPIRE k 50 LT"),
    e("EXPIRE k 10 NX XX"),
    e("EXPIRE k 10 GT LT"),
    e("EXPIRE k 10 NX GT"),
    e("EXPIRE k abc"),
    e("EXPIRE k 10 BADOPT"),
    e("EXPIRE k 9223372036854775807"),
    e("PEXPIRE k 9223372036854775807"),
    e("EXPIRE nosuchkey 10"),
    e("EXPIRE k"),
    e("PERSIST k"),
    e("PERSIST k"),
    e("TTL k"),
    e("TTL nosuchkey"),
    e("PTTL nosuchkey"),
    e("PEXPIRE num 100000 XX"),
    e("EXPIREAT num 1"),
    e("EXISTS num"),
    e("SET gone v"),
    e("PEXPIREAT gone 1000"),
    e("GET gone"),
    e("SCAN 0 MATCH nomatch* COUNT 1000"),
    e("SCAN 0 MATCH big COUNT 1000"),
    e("SCAN 0 TYPE list COUNT 1000"),
    e("SCAN abc"),
    e("SCAN 0 COUNT 0"),
    e("SCAN 0 COUNT abc"),
    e("SCAN 0 BADOPT x"),
    e("KEYS big"),
    e("SELECT 16"),
    e("SELECT -1"),
    e("SELECT abc"),
    e("SELECT 1"),
    e("GET k"),
    e("SET k db1"),
    e("DBSIZE"),
    e("SELECT 0"),
    e("CONFIG"),
    e("CONFIG FOO"),
    e("CONFIG GET port"),
    e("CONFIG GET repl-backlog-size"),
    pairs("CONFIG GET *read-only*"),
    e("CONFIG GET nosuchparameter"),
    gap("CONFIG GET maxmemory", "CONFIG GET knows only the directives the simulator honours"),
    e("CONFIG SET repl-backlog-size abc"),
    e("CONFIG SET repl-timeout -1"),
    e("CONFIG SET replica-read-only maybe"),
    e("CONFIG SET nosuchparameter 1"),
    e("CONFIG SET daemonize yes"),
    e("CONFIG SET repl-timeout"),
    e("CONFIG SET repl-timeout 30"),
    e("CONFIG GET repl-timeout"),
    e("AUTH x"),
    e("AUTH default x"),
    e("AUTH a b c"),
    e("DEBUG SLEEP 0"),
    e("DEBUG SLEEP abc"),
    e("WAIT 0 0"),
    e("WAIT 1 10"),
    e("WAIT abc 0"),
    e("WAIT 1 -1"),
    e("ROLE"),
    e("ROLE x"),
    e("REPLICAOF 127.0.0.1"),
    e("REPLICAOF 127.0.0.1 abc"),
    e("REPLICAOF NO ONE"),
    masked("LASTSAVE"),
    masked("CLIENT ID"),
    e("CLIENT SETNAME fidelity"),
    e("CLIENT GETNAME"),
    e("CLIENT SETNAME \"with space\""),
    e("CLIENT NOSUCHSUB"),
    e("PUBLISH chan msg"),
    e("OBJECT ENCODING k"),
    e("SETNX k v"),
    e("SETNX newkey v"),
    e("SETNX l v"),
    e("SETNX k"),
    e("EXPIRE newkey 100"),
    e("EXPIRETIME nosuchkey"),
    e("PEXPIREAT newkey 1999999999500"),
    e("EXPIRETIME newkey"),
    e("PEXPIRETIME newkey"),
    e("UNLINK k"),
    e("UNLINK newkey nosuchkey l"),
    e("UNLINK"),
    e("RENAME k k2"),
    e("SET r1 v"),
    e("EXPIRE r1 100"),
    e("RENAME r1 r1"),
    e("RENAMENX r1 r1"),
    e("SET r2 w"),
    e("RENAMENX r1 r2"),
    e("RENAME r1 r2"),
    e("TTL r2"),
    e("EXISTS r1"),
    e("RENAMENX r2 r3"),
    e("RENAME r2"),
    e("EXPIRETIME k"),
    // The client id in the map depends on how many connections the harness made first.
    masked("HELLO 3"),
    gap("COMMAND COUNT", "the simulated node has only some of Redis 7.0.15's 240 commands; it counts its own"),
    e("COMMAND COUNT x"),
    e("COMMAND NOSUCH"),
    e("COMMAND HELP"),
    e("COMMAND INFO get set mset migrate nosuchcommand"),
    e("COMMAND INFO GET client|list client|nosuch"),
    e("COMMAND GETKEYS mset a 1 b 2"),
    e("COMMAND GETKEYS mset a 1 b"),
    e("COMMAND GETKEYS rename a b"),
    e("COMMAND GETKEYS object encoding k"),
    e("COMMAND GETKEYS migrate h p \"\" 0 5 KEYS a b"),
    e("COMMAND GETKEYS nosuch a"),
    e("COMMAND GETKEYS ping x"),
    e("COMMAND GETKEYS get a b"),
    e("COMMAND GETKEYS get"),
    e("COMMAND GETKEYS object nosuch k"),
    unordered("COMMAND LIST FILTERBY PATTERN renam*"),
    unordered("COMMAND LIST FILTERBY PATTERN CLIENT|S*"),
    unordered("COMMAND LIST FILTERBY PATTERN s*store"),
    e("COMMAND LIST FILTERBY MODULE x"),
    e("COMMAND LIST FILTERBY"),
    e("COMMAND LIST FILTERBY BAD x"),
    e("COMMAND LIST x y"),
    e("FLUSHDB"),
    e("DBSIZE"),
    e("SELECT 1"),
    e("DBSIZE"),
    e("FLUSHALL"),
    e("DBSIZE"),
    e("SELECT 0"),
];

const REPLICA: &[Entry] = &[
    e("master> SET rk v"),
    e("master> WAIT 1 2000"),
    e("master> WAIT 1 abc"),
    masked("master> ROLE"),
    e("GET rk"),
    e("GET nosuchkey"),
    e("TYPE rk"),
    e("SET x y"),
    e("DEL rk"),
    e("INCR counter"),
    e("EXPIRE rk 10"),
    e("LPUSH l a"),
    e("HSET h f v"),
    e("SADD s a"),
    e("FLUSHALL"),
    e("MSET a 1"),
    e("GETSET rk v2"),
    e("SETNX fresh v"),
    e("RENAME rk rk2"),
    e("UNLINK rk"),
    e("EXPIRETIME rk"),
    e("WAIT 0 0"),
    masked("ROLE"),
    e("REPLICAOF 127.0.0.1"),
    e("REPLICAOF 127.0.0.1 abc"),
    e("REPLICAOF 127.0.0.1 7601"),
    e("CONFIG GET replica-read-only"),
    e("CONFIG SET replica-read-only no"),
    e("SET local 1"),
    e("GET local"),
    e("CONFIG SET replica-read-only yes"),
    e("SET local 2"),
    e("DBSIZE"),
    e("FOOBAR"),
    e("GET"),
];

const REQUIREPASS: &[Entry] = &[
    e("PING"),
    e("GET k"),
    e("SET k v"),
    e("INFO replication"),
    e("CONFIG GET requirepass"),
    e("FOOBAR"),
    e("GET"),
    e("AUTH"),
    e("AUTH wrong"),
    e("AUTH default wrong"),
    e("AUTH nosuchuser 123456"),
    e("AUTH a b c"),
    e("HELLO"),
    e("AUTH 123456"),
    e("PING"),
    e("AUTH default 123456"),
    e("SET k v"),
    e("GET k"),
    e("CONFIG GET requirepass"),
    e("DEBUG SLEEP 0"),
    e("AUTH wrong"),
    e("GET k"),
];

/// Every catalogue mode. Ports are from the harness's range.
pub const MODES: &[Mode] = &[
    Mode { name: "standalone", servers: &[(7600, "save \"\"\nenable-debug-command yes\n")], entries: STANDALONE },
    Mode {
        name: "replica",
        servers: &[(7601, "save \"\"\nrepl-diskless-sync-delay 0\n"), (7602, "save \"\"\nreplicaof 127.0.0.1 7601\n")],
        entries: REPLICA,
    },
    Mode { name: "requirepass", servers: &[(7603, "save \"\"\nrequirepass 123456\n")], entries: REQUIREPASS },
];

/// Runs one mode on one side.
pub fn run(t: &mut dyn Target, mode: &Mode) -> Result<Vec<Obs>, String> {
    for &(port, conf) in mode.servers {
        t.start(port, conf)?;
    }
    let (port, _) = *mode.servers.last().expect("a mode has a server");
    if mode.servers.len() > 1 {
        let up = wait_until(t, Duration::from_millis(20), Duration::from_secs(10), |t| {
            Ok(info_field(t, port, "replication", "master_link_status")? == "up")
        })?;
        if !up {
            return Err(format!("the replica on {port} did not sync within 10 s"));
        }
    }
    let main = t.connect(port)?;
    let master: Option<Conn> = match mode.servers.first() {
        Some(&(p, _)) if mode.servers.len() > 1 => Some(t.connect(p)?),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, entry) in mode.entries.iter().enumerate() {
        let (conn, line) = match entry.line.strip_prefix("master> ") {
            Some(rest) => (master.ok_or("`master>` line in a mode without a master")?, rest),
            None => (main, entry.line),
        };
        let case = format!("{:03} {}", i + 1, entry.line);
        match t.call(conn, &args(line)) {
            Ok(reply) => out.push(Obs::reply(case, &reply, entry.expect, entry.mask)),
            Err(e) => out.push(Obs::error(case, &e)),
        }
    }
    Ok(out)
}
