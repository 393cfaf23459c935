//! Functions against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line), and what a transcript cannot show: the load
//! timeout, the busy function, replication and persistence.

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("../../tests_functions_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    let mut differ = Vec::new();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        // Library code holds newlines, which redis-cli prints as `\n` inside a
        // quoted bulk: the reply's own line breaks are escaped the same way.
        let got = l.cmd(cmd).replace('\n', "\\n");
        if got != want {
            differ.push(format!("{cmd}\n  real: {want}\n  here: {got}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

use crate::scripting::tests::Lab;
use std::time::Duration;

const SPIN: &str = "#!lua name=busy\n\
    redis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)\n\
    redis.register_function('wspin', function(k) redis.call('set', k[1], 'x') local i = 0 while true do i = i + 1 end end)";
const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
const BUSY_EVAL: &str = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

/// Measured on a real 7.0.15 with `busy-reply-threshold 100` (raw replies).
#[test]
fn a_busy_function_answers_busy_shows_in_stats_and_only_function_kill_stops_it() {
    let mut l = Lab::new(2);
    assert_eq!(l.call(&["config", "set", "busy-reply-threshold", "100"]), "+OK\r\n");
    assert_eq!(l.call(&["function", "load", SPIN]), "$4\r\nbusy\r\n");
    l.send(0, &["fcall", "spin", "0"]);
    l.sim.run_for(Duration::from_millis(300));
    l.send(1, &["get", "x"]);
    l.send(1, &["script", "kill"]);
    l.send(1, &["function", "list"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), BUSY_FUNCTION.repeat(3));
    l.send(1, &["function", "stats"]);
    l.sim.run_for(Duration::from_millis(5));
    let stats = l.take(1);
    let head = "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nfcall\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:";
    let tail = "\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n";
    let ms = stats.strip_prefix(head).and_then(|s| s.strip_suffix(tail)).expect(&stats);
    assert!((300..=310).contains(&ms.parse::<u64>().unwrap()), "{ms}");
    let slow = "Slow script detected: still in execution after 100 milliseconds. You can try killing the script using the FUNCTION KILL command. Script name is: spin.";
    assert!(l.log().iter().any(|line| line == slow), "{:?}", l.log());
    l.send(1, &["function", "kill"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), "+OK\r\n");
    assert_eq!(l.take(0), "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n");
    assert!(l.log().iter().any(|line| line == "Lua script killed by user with SCRIPT KILL."));
    assert_eq!(l.call(&["function", "kill"]), "-NOTBUSY No scripts in execution right now.\r\n");
    l.send(0, &["fcall", "wspin", "1", "kk"]);
    l.sim.run_for(Duration::from_millis(300));
    l.send(1, &["function", "kill"]);
    l.sim.run_for(Duration::from_millis(5));
    assert!(l.take(1).starts_with("-UNKILLABLE Sorry the script already executed write commands"));
}

#[test]
fn a_busy_eval_refuses_function_kill_and_stats_with_its_own_busy_text() {
    let mut l = Lab::new(2);
    assert_eq!(l.call(&["config", "set", "busy-reply-threshold", "100"]), "+OK\r\n");
    l.send(0, &["eval", "local i = 0 while true do i = i + 1 end", "0"]);
    l.sim.run_for(Duration::from_millis(300));
    for args in [&["function", "kill"][..], &["function", "stats"], &["function", "restore", "x"], &["fcall", "x", "0"]]
    {
        l.send(1, args);
    }
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), BUSY_EVAL.repeat(4));
    l.send(1, &["script", "kill"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), "+OK\r\n");
}

#[test]
fn an_endless_load_times_out_after_500_ms_of_virtual_cpu_and_registers_nothing() {
    let mut l = Lab::new(1);
    assert_eq!(
        l.call(&["function", "load", "#!lua name=x8\nredis.register_function('f', function() end) while true do end"]),
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
    assert_eq!(l.call(&["function", "list"]), "*0\r\n");
    assert_eq!(l.call(&["ping"]), "+PONG\r\n");
}

#[test]
fn script_flush_keeps_functions_and_function_flush_keeps_scripts() {
    let mut l = Lab::new(1);
    assert_eq!(
        l.call(&["function", "load", "#!lua name=a\nredis.register_function('f', function() return 1 end)"]),
        "$1\r\na\r\n"
    );
    assert_eq!(l.call(&["script", "load", "return 2"]), "$40\r\n7f923f79fe76194c868d7e1d0820de36700eb649\r\n");
    assert_eq!(l.call(&["script", "flush"]), "+OK\r\n");
    assert_eq!(l.call(&["fcall", "f", "0"]), ":1\r\n");
    assert_eq!(l.call(&["script", "load", "return 2"]), "$40\r\n7f923f79fe76194c868d7e1d0820de36700eb649\r\n");
    assert_eq!(l.call(&["function", "flush", "async"]), "+OK\r\n");
    assert_eq!(l.call(&["evalsha", "7f923f79fe76194c868d7e1d0820de36700eb649", "0"]), ":2\r\n");
    assert_eq!(l.call(&["fcall", "f", "0"]), "-ERR Function not found\r\n");
}

/// Redis orders a library's functions by a hash seeded at random per
/// process; here they are in name order, and so are the libraries.
#[test]
fn list_and_dump_order_libraries_and_functions_by_name() {
    let mut l = lab();
    for (lib, f) in [("zeta", "b"), ("alpha", "a")] {
        let code = format!(
            "#!lua name={lib}\\nredis.register_function('{f}2', function() end)\\nredis.register_function('{f}1', function() end)"
        );
        assert_eq!(l.cmd(&format!("function load \"{code}\"")), format!("\"{lib}\""));
    }
    let list = l.cmd("function list");
    let names: Vec<&str> = list
        .lines()
        .filter_map(|line| line.trim().split_once(") \"").map(|(_, v)| v.trim_end_matches('"')))
        .filter(|v| !["library_name", "engine", "functions", "name", "description", "flags"].contains(v))
        .collect();
    assert_eq!(names, ["alpha", "LUA", "a1", "a2", "zeta", "LUA", "b1", "b2"]);
    let dump = l.cmd("function dump");
    assert!(dump.find("name=alpha").unwrap() < dump.find("name=zeta").unwrap());
}

fn repl_pair() -> crate::tests_repl::Cluster {
    let mut c = crate::tests_repl::Cluster::new(3);
    c.server(6379, "");
    c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_secs(8));
    c
}

const REP: &str = "\"#!lua name=rep\\nredis.register_function('w', function(k, a) redis.call('set', k[1], a[1]) redis.call('incr', 'cnt') return 1 end)\\nredis.register_function{function_name='r', callback=function(k) return redis.call('get', k[1]) end, flags={'no-writes'}}\"";

/// As measured on a real master and replica: FUNCTION LOAD travels as
/// itself, FCALL as its effects, and a read-only replica refuses both the
/// write subcommands and a function without `no-writes`, even by FCALL_RO.
#[test]
fn function_commands_replicate_as_themselves_and_fcall_as_its_effects() {
    let mut c = repl_pair();
    let offset = |c: &mut crate::tests_repl::Cluster| c.info_field(6379, "master_repl_offset").parse::<i64>().unwrap();
    let before = offset(&mut c);
    assert_eq!(c.cli(6379, &format!("function load {REP}")), "\"rep\"");
    let code = resp::split_args(REP.as_bytes()).unwrap().remove(0);
    let mut stream = Vec::new();
    resp::encode_command(&[b"select".as_slice(), b"0"], &mut stream);
    resp::encode_command(&[b"function".as_slice(), b"load", &code], &mut stream);
    assert_eq!(offset(&mut c) - before, stream.len() as i64, "SELECT, then FUNCTION LOAD as sent");
    let before = offset(&mut c);
    assert_eq!(c.cli(6379, "fcall w 1 key val"), "(integer) 1");
    let mut stream = Vec::new();
    for args in [&["MULTI"][..], &["set", "key", "val"], &["incr", "cnt"], &["EXEC"]] {
        resp::encode_command(args, &mut stream);
    }
    assert_eq!(offset(&mut c) - before, stream.len() as i64, "MULTI, both writes, EXEC");
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6380, "fcall r 1 key"), "\"val\"");
    assert_eq!(c.cli(6380, "fcall_ro r 1 key"), "\"val\"");
    let readonly = "(error) READONLY You can't write against a read only replica.";
    for line in [
        "fcall w 1 key v2",
        "fcall_ro w 1 key v2",
        "function delete rep",
        "function flush",
        &format!("function load {REP}"),
    ] {
        assert_eq!(c.cli(6380, line), readonly, "{line}");
    }
    assert_eq!(c.cli(6379, "function delete rep"), "OK");
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6380, "function list"), "(empty array)");
}

#[test]
fn a_full_sync_carries_the_libraries() {
    let mut c = crate::tests_repl::Cluster::new(3);
    c.server(6379, "");
    c.sim.run_for(Duration::from_secs(1));
    assert_eq!(c.cli(6379, &format!("function load {REP}")), "\"rep\"");
    assert_eq!(c.cli(6379, "set key val"), "OK");
    c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_secs(8));
    assert_eq!(c.cli(6380, "fcall r 1 key"), "\"val\"");
    assert_eq!(c.cli(6380, "function dump"), c.cli(6379, "function dump"));
}

/// The function record of a real 7.0.15 RDB file (`SAVE` with one library
/// and no keys): Redis writes it after the aux fields, as this node does.
#[test]
fn the_rdb_function_record_is_real_redis_bytes() {
    let code = b"#!lua name=lib1\nredis.register_function('f1', function() return 1 end)";
    let real = "f5404623216c7561206e616d653d6c6962310a72656469732e72656769737465725f66756e6374696f6e28276631272c2066756e6374696f6e28292072657475726e203120656e6429ff";
    let ours = crate::rdb::encode(&[], &[code.to_vec()], 0, None);
    let hex: String = ours.iter().map(|b| format!("{b:02x}")).collect();
    let aof_base = "fa08616f662d62617365c000";
    assert!(hex.contains(&format!("{aof_base}{real}")), "{hex}");
    let loaded = crate::rdb::decode(&ours, &Default::default()).unwrap();
    assert_eq!(loaded.functions, vec![code.to_vec()]);
}

/// SAVE keeps the libraries in the RDB file, and an AOF replays FUNCTION
/// LOAD and DELETE: a restart finds what was there.
#[test]
fn a_restart_finds_the_libraries_in_the_rdb_and_in_the_aof() {
    let mut c = crate::tests_repl::Cluster::new(3);
    let rdb = c.server(6379, "");
    let aof = c.server(6380, "appendonly yes\n");
    c.sim.run_for(Duration::from_secs(1));
    for port in [6379, 6380] {
        assert_eq!(c.cli(port, &format!("function load {REP}")), "\"rep\"");
        assert_eq!(
            c.cli(port, "function load \"#!lua name=gone\\nredis.register_function('g', function() end)\""),
            "\"gone\""
        );
        assert_eq!(c.cli(port, "function delete gone"), "OK");
        assert_eq!(c.cli(port, "set key val"), "OK");
    }
    assert_eq!(c.cli(6379, "save"), "OK");
    c.sim.run_for(Duration::from_secs(2));
    c.sim.apply(sim::Fault::Restart(rdb)).unwrap();
    c.sim.apply(sim::Fault::Restart(aof)).unwrap();
    c.sim.run_for(Duration::from_secs(1));
    for port in [6379, 6380] {
        assert_eq!(c.cli(port, "get key"), "\"val\"", "{port}");
        assert_eq!(c.cli(port, "fcall r 1 key"), "\"val\"", "{port}");
        assert_eq!(c.cli(port, "function stats").matches("(integer) 1").count(), 1, "{port}: one library");
    }
}

/// RESP3 replies of a real 7.0.15 (raw bytes): maps, a set of flags, a null description.
#[test]
fn resp3_list_and_stats_are_maps_and_sets() {
    let mut l = Lab::new(1);
    l.call(&["hello", "3"]);
    let code = "#!lua name=one\nredis.register_function{function_name='r1', callback=function(k) return 1 end, flags={'no-writes', 'allow-stale'}, description='d'}\nredis.register_function('w', function() end)";
    assert_eq!(l.call(&["function", "load", code]), "$3\r\none\r\n");
    assert_eq!(
        l.call(&["function", "list", "withcode"]),
        format!(
            "*1\r\n%4\r\n$12\r\nlibrary_name\r\n$3\r\none\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n\
             %3\r\n$4\r\nname\r\n$2\r\nr1\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-stale\r\n\
             %3\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n\
             $12\r\nlibrary_code\r\n$191\r\n{code}\r\n"
        )
    );
    assert_eq!(
        l.call(&["function", "stats"]),
        "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"
    );
}

#[test]
fn fcall_inside_multi_answers_in_exec_and_propagates_once() {
    let mut l = lab();
    assert_eq!(l.cmd("function load \"#!lua name=m\\nredis.register_function('inc', function(k) return redis.call('incr', k[1]) end)\""), "\"m\"");
    assert_eq!(l.cmd("multi"), "OK");
    assert_eq!(l.cmd("fcall inc 1 n"), "QUEUED");
    assert_eq!(l.cmd("fcall inc 1 n"), "QUEUED");
    assert_eq!(l.cmd("exec"), "1) (integer) 1\n2) (integer) 2");
}

/// FUNCTION FLUSH keeps the interpreter (Redis's engine outlives its
/// libraries) and min-replicas-to-write gates the write subcommands
/// (measured on a real 7.0.15 without replicas).
#[test]
fn flush_keeps_the_interpreter_and_writes_need_good_replicas() {
    let mut l = lab();
    let load = "function load \"#!lua name=a\\nredis.register_function('f', function() return 1 end)\"";
    assert_eq!(l.cmd(load), "\"a\"");
    assert_eq!(l.cmd("function flush"), "OK");
    assert_eq!(l.cmd(load), "\"a\"");
    assert_eq!(l.cmd("fcall f 0"), "(integer) 1");
    assert_eq!(l.cmd("config set min-replicas-to-write 1"), "OK");
    assert_eq!(l.cmd("function delete a"), "(error) NOREPLICAS Not enough good replicas to write.");
    assert_eq!(l.cmd("fcall f 0"), "(error) NOREPLICAS Not enough good replicas to write.");
    assert_eq!(l.cmd("function list libraryname a").lines().nth(1), Some("   2) \"a\""));
}

/// As measured: CLIENT PAUSE WRITE holds FUNCTION LOAD until it ends, not FUNCTION LIST.
#[test]
fn a_write_pause_holds_function_load_but_not_list() {
    let mut l = Lab::new(2);
    assert_eq!(l.call(&["client", "pause", "300", "write"]), "+OK\r\n");
    l.send(1, &["function", "list"]);
    l.send(1, &["function", "load", "#!lua name=p\nredis.register_function('f', function() return 1 end)"]);
    l.sim.run_for(Duration::from_millis(100));
    assert_eq!(l.take(1), "*0\r\n");
    l.sim.run_for(Duration::from_millis(400));
    assert_eq!(l.take(1), "$1\r\np\r\n");
}

/// A random library: a name from a small alphabet (so some collide), one to
/// four functions with random flags and descriptions, and a comment of
/// repeated text so that some codes compress (LZF) in the payload.
fn random_library(rng: &mut sim::Rng) -> String {
    let name = format!("lib{}", rng.below(6));
    let mut code = format!("#!lua name={name}\n-- {}\n", "pad ".repeat(rng.below(40) as usize));
    for _ in 0..1 + rng.below(4) {
        let f = format!("f{}", rng.below(12));
        let flags: Vec<String> = super::FLAGS.iter().filter(|_| rng.chance(0.3)).map(|f| format!("'{f}'")).collect();
        code += &format!(
            "redis.register_function{{function_name='{f}', callback=function() return '{f}' end, flags={{{}}}, description='{}'}}\n",
            flags.join(", "),
            rng.below(100)
        );
    }
    code
}

/// Over many seeds: whatever libraries loaded, DUMP then FLUSH then RESTORE
/// gives back the same libraries (LIST WITHCODE and DUMP unchanged), the RDB
/// keeps the same codes, APPEND refuses the existing libraries and REPLACE
/// takes them, and a payload with one byte changed is refused, never a panic.
#[test]
fn dump_restore_and_rdb_round_trip_whatever_was_loaded() {
    for seed in 0..40 {
        let mut rng = sim::Rng::stream(seed, "functions");
        let mut l = Lab::new(1);
        for _ in 0..1 + rng.below(6) {
            l.call(&["function", "load", "replace", &random_library(&mut rng)]);
        }
        let list = l.call_bytes(0, &[b"function", b"list", b"withcode"]);
        let dump = l.call_bytes(0, &[b"function", b"dump"]);
        let header = dump.iter().position(|&b| b == b'\n').unwrap() + 1;
        let payload = &dump[header..dump.len() - 2];
        let codes = l.sim.process::<crate::server::Server>(l.server).unwrap().scripting.functions.codes();
        assert_eq!(
            crate::rdb::decode(&crate::rdb::encode(&[], &codes, 0, None), &Default::default()).unwrap().functions,
            codes
        );
        assert_eq!(l.call(&["function", "flush"]), "+OK\r\n");
        assert_eq!(l.call_bytes(0, &[b"function", b"restore", payload]), b"+OK\r\n", "seed {seed}");
        assert_eq!(l.call_bytes(0, &[b"function", b"list", b"withcode"]), list);
        assert_eq!(l.call_bytes(0, &[b"function", b"dump"]), dump);
        let append = String::from_utf8(l.call_bytes(0, &[b"function", b"restore", payload, b"append"])).unwrap();
        assert!(append.starts_with("-ERR Library lib") && append.ends_with(" already exists\r\n"), "{append}");
        assert_eq!(l.call_bytes(0, &[b"function", b"restore", payload, b"replace"]), b"+OK\r\n");
        assert_eq!(l.call_bytes(0, &[b"function", b"list", b"withcode"]), list);
        let mut broken = payload.to_vec();
        let at = rng.below(broken.len() as u64) as usize;
        broken[at] ^= 1 << rng.below(8);
        let reply = l.call_bytes(0, &[b"function", b"restore", &broken, b"flush"]);
        assert_eq!(reply, b"-ERR DUMP payload version or checksum are wrong\r\n", "seed {seed}, byte {at}");
    }
}

/// Measured with `pairs(redis)`: a function's `redis` table has no
/// `replicate_commands`, `breakpoint` or `debug` (a script's has).
#[test]
fn a_function_sees_the_redis_table_without_the_script_only_fields() {
    let mut l = lab();
    let code = "#!lua name=t\\nredis.register_function('t', function() return {type(redis.replicate_commands), type(redis.breakpoint), type(redis.debug), type(redis.call), type(redis.setresp)} end)";
    assert_eq!(l.cmd(&format!("function load \"{code}\"")), "\"t\"");
    assert_eq!(l.cmd("fcall t 0"), "1) \"nil\"\n2) \"nil\"\n3) \"nil\"\n4) \"function\"\n5) \"function\"");
    assert_eq!(l.cmd("eval \"return type(redis.replicate_commands)\" 0"), "\"function\"");
}
