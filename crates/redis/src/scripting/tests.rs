//! Scripting against the replies real Redis 7.0.15 gave (measured with a raw
//! socket on 127.0.0.1, byte for byte): conversions, error texts, the busy
//! script and SCRIPT KILL, read-only scripts, effects replication, determinism.

use crate::config::Config;
use crate::server::Server;
use sim::{ConnId, Ctx, Fault, Input, ProcId, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// A connection that keeps every byte the server sent.
#[derive(Default)]
struct Conn {
    conn: Option<ConnId>,
    got: Vec<u8>,
}

impl Process for Conn {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.conn = Some(ctx.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 6379))),
            Input::Data { bytes, .. } => self.got.extend_from_slice(bytes),
            _ => {}
        }
    }
}

pub(super) struct Lab {
    pub(super) sim: Sim,
    pub(super) server: ProcId,
    clients: Vec<ProcId>,
}

impl Lab {
    pub(super) fn new(clients: usize) -> Lab {
        let mut sim = Sim::new(SimConfig { seed: 7, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        let config = Config::defaults(6379);
        let server = sim.add_process(host, "6379", Box::new(move || Box::new(Server::new(config.clone()))));
        sim.apply(Fault::Start(server)).unwrap();
        // The clients connect once the server listens (its start-up time is over).
        sim.run_for(crate::tests::STARTED);
        let clients = (0..clients)
            .map(|i| {
                let p = sim.add_process(host, &format!("c{i}"), Box::new(|| Box::new(Conn::default())));
                sim.apply(Fault::Start(p)).unwrap();
                p
            })
            .collect();
        sim.run_for(Duration::from_millis(1));
        Lab { sim, server, clients }
    }

    /// Sends `args` from client `i` without waiting.
    pub(super) fn send(&mut self, i: usize, args: &[&str]) {
        let mut bytes = Vec::new();
        resp::encode_command(args, &mut bytes);
        let conn = self.sim.process::<Conn>(self.clients[i]).unwrap().conn.unwrap();
        self.sim.with_process::<Conn, _>(self.clients[i], |_, ctx| ctx.send(conn, &bytes));
    }

    /// Sends binary `args` from client `i` and returns every byte received a millisecond later.
    pub(super) fn call_bytes(&mut self, i: usize, args: &[&[u8]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        resp::encode_command(args, &mut bytes);
        let conn = self.sim.process::<Conn>(self.clients[i]).unwrap().conn.unwrap();
        self.sim.with_process::<Conn, _>(self.clients[i], |_, ctx| ctx.send(conn, &bytes));
        self.sim.run_for(Duration::from_millis(1));
        self.sim.with_process::<Conn, _>(self.clients[i], |c, _| std::mem::take(&mut c.got)).unwrap_or_default()
    }

    /// What client `i` received since the last call.
    pub(super) fn take(&mut self, i: usize) -> String {
        let got =
            self.sim.with_process::<Conn, _>(self.clients[i], |c, _| std::mem::take(&mut c.got)).unwrap_or_default();
        String::from_utf8_lossy(&got).into_owned()
    }

    /// One command from client 0 and its raw reply a millisecond later.
    pub(super) fn call(&mut self, args: &[&str]) -> String {
        self.send(0, args);
        self.sim.run_for(Duration::from_millis(1));
        self.take(0)
    }

    pub(super) fn log(&self) -> Vec<String> {
        self.sim.log_lines(self.server).iter().map(|l| l.splitn(7, ' ').nth(6).unwrap_or("").to_owned()).collect()
    }
}

fn eval(l: &mut Lab, script: &str) -> String {
    l.call(&["eval", script, "0"])
}

#[test]
fn lua_values_become_replies_as_redis_converts_them() {
    let mut l = Lab::new(1);
    assert_eq!(eval(&mut l, "return {1,2,3,'a',false,4}"), "*6\r\n:1\r\n:2\r\n:3\r\n$1\r\na\r\n$-1\r\n:4\r\n");
    assert_eq!(eval(&mut l, "return {1,2,3,'a',nil,4}"), "*4\r\n:1\r\n:2\r\n:3\r\n$1\r\na\r\n");
    assert_eq!(eval(&mut l, "return 3.99"), ":3\r\n");
    assert_eq!(eval(&mut l, "return -3.99"), ":-3\r\n");
    assert_eq!(eval(&mut l, "return true"), ":1\r\n");
    assert_eq!(eval(&mut l, "return false"), "$-1\r\n");
    assert_eq!(eval(&mut l, "return {ok='x'}"), "+x\r\n");
    assert_eq!(eval(&mut l, "return {err='x'}"), "-x\r\n");
    assert_eq!(eval(&mut l, "return {1.5, 'x', {ok='st'}, {err='e1'}}"), "*4\r\n:1\r\n$1\r\nx\r\n+st\r\n-e1\r\n");
    assert_eq!(eval(&mut l, "return redis.error_reply('My Error')"), "-My Error\r\n");
    assert_eq!(eval(&mut l, "return redis.status_reply('FINE')"), "+FINE\r\n");
    assert_eq!(eval(&mut l, "return redis.call('ping')"), "+PONG\r\n");
    assert_eq!(eval(&mut l, "return redis.call('hgetall','nokey')"), "*0\r\n");
    assert_eq!(eval(&mut l, "return type(redis.call('get','nokey'))"), "$7\r\nboolean\r\n");
    assert_eq!(eval(&mut l, "return redis.sha1hex('')"), "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
    assert_eq!(l.call(&["eval", "return {KEYS[1],ARGV[1]}", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(eval(&mut l, "return redis.call('set','x',1.5)"), "+OK\r\n");
    assert_eq!(l.call(&["get", "x"]), "$3\r\n1.5\r\n");
    assert_eq!(eval(&mut l, "return redis.REDIS_VERSION_NUM"), ":458767\r\n");
}

/// `redis.setresp(3)` and the RESP3-typed tables, for a RESP2 caller: a
/// transcript of real 7.0.15 (redis-cli's rendering; map order is Lua's
/// `lua_next` order, the same interpreter's).
#[test]
fn resp3_inside_scripts_as_a_resp2_caller_sees_it() {
    crate::tests::replay_transcript(include_str!("tests_resp3_transcript.txt"));
}

/// The same tables for a RESP3 caller (`HELLO 3`), byte for byte as real
/// 7.0.15 sent them: booleans after `redis.setresp(3)`, doubles as `%.17g`,
/// big numbers and verbatim strings (format cut or padded to three bytes),
/// maps and sets, newlines of a big number made spaces.
#[test]
fn resp3_tables_reach_a_resp3_caller_as_their_types() {
    let mut l = Lab::new(1);
    assert!(l.call(&["hello", "3"]).starts_with("%7\r\n"));
    let cases = [
        ("redis.setresp(3) return true", "#t\r\n"),
        ("redis.setresp(3) return false", "#f\r\n"),
        ("return true", ":1\r\n"),
        ("return false", "_\r\n"),
        ("return {double=3.14}", ",3.1400000000000001\r\n"),
        ("return {double=0/0}", ",-nan\r\n"),
        ("return {big_number='12345678901234567890'}", "(12345678901234567890\r\n"),
        ("return {big_number='1\\r\\n2'}", "(1  2\r\n"),
        ("return {verbatim_string={format='mkd',string='# hi'}}", "=8\r\nmkd:# hi\r\n"),
        ("return {verbatim_string={format='markdown',string='x'}}", "=5\r\nmar:x\r\n"),
        ("return {verbatim_string={format='m',string='x'}}", "=5\r\nm  :x\r\n"),
        ("return {map={a=1,b={double=0.5}}}", "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n,0.5\r\n"),
        ("return {set={x=true}}", "~1\r\n$1\r\nx\r\n"),
        ("redis.setresp(3) return redis.call('hgetall','nokey')", "%0\r\n"),
    ];
    for (script, want) in cases {
        assert_eq!(eval(&mut l, script), want, "{script}");
    }
}

#[test]
fn errors_read_as_redis_7_0_writes_them() {
    let mut l = Lab::new(1);
    let cases = [
        (
            "return redis.call('nosuch')",
            "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('get')",
            "-ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1.\r\n",
        ),
        (
            "error('boom')",
            "-ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.\r\n",
        ),
        ("error({err='MY boom'})", "-MY boom script: 4c2ee35ef37c857625d6ec6d812eab72377cfa97, on @user_script:1.\r\n"),
        (
            "return x",
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 03c387736bb5cc009ff35151572cee04677aa374, on @user_script:1.\r\n",
        ),
        (
            "x = 1",
            "-ERR user_script:1: Attempt to modify a readonly table script: 34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1.\r\n",
        ),
        ("return redis.pcall('nosuch')", "-ERR Unknown Redis command called from script\r\n"),
        (
            "syntax error here",
            "-ERR Error compiling script (new function): user_script:1: '=' expected near 'error'\r\n",
        ),
        (
            "return 'a'..nil",
            "-ERR user_script:1: attempt to concatenate a nil value script: bad78e871dc70caae12e06df72017df3c5f79a6b, on @user_script:1.\r\n",
        ),
        (
            "return redis.call()",
            "-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('get',{})",
            "-ERR Lua redis lib command arguments must be strings or integers script: 4deb073a545207f215b56dcef5ca825f9f406808, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('eval','return 1','0')",
            "-ERR This Redis command is not allowed from script script: 1e5046f3a9119d3dc9cf5824428b6d9fedd305d2, on @user_script:1.\r\n",
        ),
        (
            "return type(print)",
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: 296aa29e565df267b5e30e498f3872c9f9e8e8cc, on @user_script:1.\r\n",
        ),
    ];
    for (script, want) in cases {
        assert_eq!(eval(&mut l, script), want, "{script}");
    }
    assert_eq!(l.call(&["set", "a", "b"]), "+OK\r\n");
    assert_eq!(
        eval(&mut l, "return redis.call('incr','a')"),
        "-ERR value is not an integer or out of range script: c9f3dee5d73c1008119b4067129338abc98620f3, on @user_script:1.\r\n"
    );
    assert_eq!(l.call(&["eval", "return 1", "2", "a"]), "-ERR Number of keys can't be greater than number of args\r\n");
    assert_eq!(l.call(&["eval", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(l.call(&["eval", "return 1", "abc"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(l.call(&["evalsha", "abc", "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    assert_eq!(l.call(&["eval", "return 1"]), "-ERR wrong number of arguments for 'eval' command\r\n");
}

#[test]
fn script_cache_and_read_only_scripts() {
    let mut l = Lab::new(1);
    assert_eq!(l.call(&["script", "load", "return 1"]), "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n");
    assert_eq!(l.call(&["evalsha", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"]), ":1\r\n");
    assert_eq!(l.call(&["script", "exists", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"]), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(l.call(&["script", "flush", "x"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    assert_eq!(l.call(&["script", "flush"]), "+OK\r\n");
    assert_eq!(
        l.call(&["evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(l.call(&["script", "exists"]), "-ERR wrong number of arguments for 'script|exists' command\r\n");
    assert_eq!(l.call(&["script", "nosuch"]), "-ERR unknown subcommand 'nosuch'. Try SCRIPT HELP.\r\n");
    assert_eq!(
        l.call(&["script", "load", "return +"]),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'\r\n"
    );
    assert_eq!(
        l.call(&["eval_ro", "return redis.call('set','a','b')", "0"]),
        "-ERR Write commands are not allowed from read-only scripts. script: ff967d0ae0e68b4f9e360fa91c54598bc25ad9b6, on @user_script:1.\r\n"
    );
    assert_eq!(l.call(&["get", "a"]), "$-1\r\n", "the refused write did not happen");
    let shebang = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
    assert!(l.call(&["eval", shebang, "0"]).starts_with("-ERR Write commands are not allowed from read-only scripts."));
    assert_eq!(l.call(&["eval", "#!lua flags=no-writes\nreturn redis.call('get','a')", "0"]), "$-1\r\n");
    assert_eq!(
        l.call(&["eval", "#!lua flags=bogus\nreturn 1", "0"]),
        "-ERR Unexpected flag in script shebang: bogus\r\n"
    );
    assert_eq!(l.call(&["eval", "#!luax\nreturn 1", "0"]), "-ERR Unexpected engine in script shebang: #!luax\r\n");
    assert_eq!(l.call(&["eval", "#!lua foo=bar\nreturn 1", "0"]), "-ERR Unknown lua shebang option: foo=bar\r\n");
    // The shebang line counts: errors name the script's own line numbers.
    assert_eq!(
        l.call(&["eval", "#!lua\nreturn x", "0"]),
        "-ERR user_script:2: Script attempted to access nonexistent global variable 'x' script: 58b72ca6d006e3bafbb8cc006de4820497ce9cf8, on @user_script:2.\r\n"
    );
}

#[test]
fn math_random_is_redis_lrand48_seeded_once_per_process() {
    let mut l = Lab::new(1);
    // The first draws of a fresh redis-server 7.0.15, then the next EVAL continues the sequence.
    assert_eq!(
        eval(&mut l, "return {math.random(1000), math.random(1000), tostring(math.random())}"),
        "*3\r\n:397\r\n:841\r\n$16\r\n0.35333609737146\r\n"
    );
    assert_eq!(eval(&mut l, "return math.random(1000)"), ":447\r\n");
    assert_eq!(eval(&mut l, "math.randomseed(7) return math.random(1000)"), ":267\r\n");
    // The generator is the process's, not the interpreter's: SCRIPT FLUSH does not reset it.
    let mut l = Lab::new(1);
    assert_eq!(eval(&mut l, "return math.random(1000)"), ":397\r\n");
    assert_eq!(l.call(&["script", "flush"]), "+OK\r\n");
    assert_eq!(eval(&mut l, "return math.random(1000)"), ":841\r\n");
}

#[test]
fn an_endless_script_is_busy_then_killed_and_the_server_serves_again() {
    let mut l = Lab::new(2);
    assert_eq!(l.call(&["config", "set", "busy-reply-threshold", "300"]), "+OK\r\n");
    l.send(0, &["eval", "local i = 0 while true do i = i + 1 end", "0"]);
    l.sim.run_for(Duration::from_millis(10));
    // Before the threshold the event loop is blocked: no reply at all.
    l.send(1, &["ping"]);
    l.sim.run_for(Duration::from_millis(100));
    assert_eq!(l.take(1), "");
    l.sim.run_for(Duration::from_millis(300));
    let busy = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    assert_eq!(l.take(1), busy, "the held PING is answered once the script is past the threshold");
    l.send(1, &["get", "a"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), busy);
    assert!(l.log().iter().any(|line| line.starts_with("Slow script detected: still in execution after 30")));
    l.send(1, &["script", "kill"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), "+OK\r\n");
    assert_eq!(
        l.take(0),
        "-ERR Script killed by user with SCRIPT KILL... script: 3fcf51a9b854b8f66cb8685600b0d7df968f4398, on @user_script:1.\r\n"
    );
    assert!(l.log().iter().any(|line| line == "Lua script killed by user with SCRIPT KILL."));
    l.send(1, &["ping"]);
    l.send(1, &["script", "kill"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(l.take(1), "+PONG\r\n-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn a_script_that_wrote_is_unkillable_and_shutdown_nosave_ends_it() {
    let mut l = Lab::new(2);
    assert_eq!(l.call(&["config", "set", "lua-time-limit", "100"]), "+OK\r\n");
    l.send(0, &["eval", "redis.call('set','w','1') local i = 0 while true do i = i + 1 end", "0"]);
    l.sim.run_for(Duration::from_millis(200));
    l.send(1, &["script", "kill"]);
    l.send(1, &["shutdown"]);
    l.sim.run_for(Duration::from_millis(5));
    assert_eq!(
        l.take(1),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n\
         -BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    l.send(1, &["shutdown", "nosave"]);
    l.sim.run_for(Duration::from_millis(50));
    assert!(l.sim.process::<Server>(l.server).is_none(), "the server exited");
}

#[test]
fn a_long_script_blocks_for_its_virtual_time_and_then_answers() {
    let mut l = Lab::new(2);
    // 2 million iterations: tens of millions of instructions, seconds of virtual CPU.
    l.send(0, &["eval", "local n = 0 for i = 1, 2000000 do n = n + 1 end return n", "0"]);
    l.sim.run_for(Duration::from_millis(5));
    l.send(1, &["ping"]);
    l.sim.run_for(Duration::from_millis(100));
    assert_eq!((l.take(0), l.take(1)), (String::new(), String::new()), "blocked while it runs");
    l.sim.run_for(Duration::from_secs(10));
    assert_eq!(l.take(0), ":2000000\r\n");
    assert_eq!(l.take(1), "+PONG\r\n");
}

#[test]
fn same_seed_same_trace() {
    let run = || {
        let mut l = Lab::new(1);
        eval(&mut l, "redis.call('set', 'r', math.random(100)) return redis.call('get', 'r')");
        l.sim.trace().hash_hex()
    };
    assert_eq!(run(), run());
}

#[test]
fn effects_replicate_as_multi_exec_and_replicas_refuse_writes() {
    let mut c = crate::tests_repl::Cluster::new(3);
    c.server(6379, "");
    c.server(6380, "replicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_secs(8));
    assert_eq!(c.cli(6379, "set warm up"), "OK");
    c.sim.run_for(Duration::from_millis(100));
    let before: i64 = c.info_field(6379, "master_repl_offset").parse().unwrap();
    assert_eq!(c.cli(6379, "eval \"redis.call('set','a','1') redis.call('incr','a') return 1\" 0"), "(integer) 1");
    let after: i64 = c.info_field(6379, "master_repl_offset").parse().unwrap();
    let mut stream = Vec::new();
    for args in [&["MULTI"][..], &["set", "a", "1"], &["incr", "a"], &["EXEC"]] {
        resp::encode_command(args, &mut stream);
    }
    assert_eq!(after - before, stream.len() as i64, "MULTI, both writes, EXEC");
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6380, "get a"), "\"2\"");
    assert_eq!(c.cli(6380, "eval_ro \"return redis.call('get','a')\" 0"), "\"2\"");
    assert_eq!(
        c.cli(6380, "eval \"#!lua\nreturn redis.call('set','a','3')\" 0"),
        "(error) READONLY You can't write against a read only replica."
    );
    assert_eq!(
        c.cli(6380, "eval \"return redis.call('set','a','3')\" 0"),
        "(error) READONLY You can't write against a read only replica. script: 6c70d580a00cef549a4b05e895bb6356275b6d0d, on @user_script:1."
    );
}

#[test]
fn an_endless_script_inside_exec_is_stopped_at_the_threshold() {
    let mut l = Lab::new(1);
    assert_eq!(l.call(&["config", "set", "busy-reply-threshold", "50"]), "+OK\r\n");
    assert_eq!(l.call(&["multi"]), "+OK\r\n");
    assert_eq!(l.call(&["eval", "while true do end", "0"]), "+QUEUED\r\n");
    assert_eq!(l.call(&["eval", "return 2", "0"]), "+QUEUED\r\n");
    assert_eq!(
        l.call(&["exec"]),
        "*2\r\n-ERR the simulator stopped this script: inside MULTI/EXEC it cannot run past busy-reply-threshold script: \
         694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.\r\n:2\r\n"
    );
    assert_eq!(l.call(&["ping"]), "+PONG\r\n");
}
