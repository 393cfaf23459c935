//! The CLIENT family against a transcript of a real Redis 7.0.15 (one
//! redis-cli connection, `--no-raw`; CLIENT LIST's and INFO's errors read off
//! the wire, as redis-cli prints those raw), and what the subcommands do to
//! other clients: PAUSE holding writes until a serverCron after its end,
//! REPLY dropping replies, KILL TYPE master making a replica reconnect.

use crate::tests::lab;
use crate::tests_repl::Cluster;
use redis_client::cli::RedisCli;
use std::time::Duration;

const TRANSCRIPT: &str = include_str!("tests_client_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        let want = want.replace("\\n", "\n");
        let got = l.cmd(cmd);
        let normalise = |s: &str| s.lines().map(|l| l.trim_start()).collect::<Vec<_>>().join("\n");
        assert_eq!(normalise(&got), normalise(&want), "{cmd}");
    }
}

/// The fields of a CLIENT INFO line, in order, as 7.0.15 prints them.
const FIELDS: &str = "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem \
                      rbs rbp obl oll omem tot-mem events cmd user redir resp";

#[test]
fn client_info_shows_the_switches_in_redis_flag_order() {
    let mut l = lab();
    for cmd in ["CLIENT SETNAME me", "CLIENT NO-EVICT on", "CLIENT TRACKING on BCAST", "SELECT 2"] {
        assert_eq!(l.cmd(cmd), "OK");
    }
    let info = l.cmd("CLIENT INFO");
    let fields: Vec<(&str, &str)> =
        info.trim_matches('"').trim_end_matches("\\n").split(' ').map(|f| f.split_once('=').unwrap()).collect();
    assert_eq!(
        fields.iter().map(|f| f.0).collect::<Vec<_>>().join(" "),
        FIELDS.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let get = |k: &str| fields.iter().find(|f| f.0 == k).unwrap().1;
    // Measured on 7.0.15 with the same four commands: flags=tBe db=2 cmd=client|info redir=0.
    assert_eq!(
        (get("name"), get("flags"), get("db"), get("cmd"), get("redir")),
        ("me", "tBe", "2", "client|info", "0")
    );
    assert_eq!(l.cmd("CLIENT TRACKING off"), "OK");
    assert_eq!(l.cmd("CLIENT NO-EVICT off"), "OK");
    assert!(l.cmd("CLIENT LIST ID 3").contains(" flags=N db=2 "), "the switches are off again");
    assert_eq!(l.cmd("CLIENT LIST ID 4"), "\"\"", "no such client");
}

#[test]
fn reply_off_and_skip_drop_replies_as_redis_does() {
    let mut l = lab();
    let mut pipeline = Vec::new();
    for line in ["CLIENT REPLY SKIP", "PING a", "PING b", "CLIENT REPLY OFF", "PING c", "CLIENT REPLY SKIP", "PING d"] {
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut pipeline);
    }
    for line in ["CLIENT REPLY ON", "PING e", "SET k v"] {
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut pipeline);
    }
    // Measured: SKIP drops its own reply and the next one; OFF drops all until ON, which answers.
    assert_eq!(l.raw(&pipeline), ["\"b\"", "OK", "\"e\"", "OK"]);
}

/// A master on 6379 with a replica on 6380, synced, and one key.
fn pair() -> Cluster {
    let mut c = Cluster::new(24);
    c.server(6379, "save \"\"\n");
    c.server(6380, "save \"\"\nreplicaof 127.0.0.1 6379\n");
    c.sim.run_for(Duration::from_millis(7300));
    assert_eq!(c.cli(6379, "set a 1"), "OK");
    c
}

/// Starts a redis-cli; its process, to read its output later.
fn background(c: &mut Cluster, port: u16, line: &str) -> sim::ProcId {
    let before = c.sim.procs().count();
    let _ = c.try_cli_within(port, None, line, Duration::from_millis(5));
    c.sim.procs().nth(before).expect("the client just added")
}

fn output(c: &Cluster, cli: sim::ProcId) -> Option<String> {
    c.sim.process::<RedisCli>(cli).and_then(|p| p.output.clone())
}

#[test]
fn client_pause_write_holds_writes_until_the_cron_after_its_end() {
    let mut c = pair();
    assert_eq!(c.cli(6379, "CLIENT PAUSE 250 WRITE"), "OK");
    let paused_at = c.sim.now();
    let held = background(&mut c, 6379, "set b 2");
    let eval = background(&mut c, 6379, "EVAL \"return 1\" 0");
    assert_eq!(output(&c, held), None, "a write waits");
    assert_eq!(output(&c, eval), None, "EVAL may replicate: it waits too");
    assert_eq!(c.cli(6379, "get a"), "\"1\"", "reads are served");
    assert!(c.cli(6379, "INFO clients").contains("blocked_clients:2"));
    assert!(c.cli(6379, "CLIENT LIST").contains(" flags=b "));
    let mut waited = Duration::ZERO;
    while output(&c, held).is_none() && waited < Duration::from_secs(1) {
        c.sim.run_for(Duration::from_millis(1));
        waited += Duration::from_millis(1);
    }
    let took = c.sim.now() - paused_at;
    // Real 7.0.15 answered a 150 ms pause's write after 200 ms, a 230 ms one's after 301 ms (hz 10).
    assert!(took > Duration::from_millis(250) && took <= Duration::from_millis(360), "ran after {took:?}");
    assert_eq!(output(&c, held).as_deref(), Some("OK"));
    assert_eq!(output(&c, eval).as_deref(), Some("(integer) 1"));
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6380, "get b"), "\"2\"", "the replica got the held write");
}

#[test]
fn client_pause_all_holds_every_normal_client_even_unpause() {
    let mut c = pair();
    assert_eq!(c.cli(6379, "CLIENT PAUSE 500 ALL"), "OK");
    let read = background(&mut c, 6379, "get a");
    // Measured: under ALL, CLIENT UNPAUSE from another client waits for the pause's end too.
    let unpause = background(&mut c, 6379, "CLIENT UNPAUSE");
    c.sim.run_for(Duration::from_millis(400));
    assert_eq!((output(&c, read), output(&c, unpause)), (None, None), "every command of a normal client waits");
    assert_eq!(c.cli(6380, "get a"), "\"1\"", "the replica serves");
    c.sim.run_for(Duration::from_millis(200));
    assert_eq!(output(&c, read).as_deref(), Some("\"1\""));
    assert_eq!(output(&c, unpause).as_deref(), Some("OK"));
}

#[test]
fn client_unpause_releases_held_writes_at_once() {
    let mut c = pair();
    assert_eq!(c.cli(6379, "CLIENT PAUSE 100000 WRITE"), "OK");
    let held = background(&mut c, 6379, "set b 2");
    c.sim.run_for(Duration::from_secs(1));
    assert_eq!(output(&c, held), None);
    assert_eq!(c.cli(6379, "CLIENT UNPAUSE"), "OK");
    assert_eq!(output(&c, held).as_deref(), Some("OK"));
}

#[test]
fn killing_the_master_client_makes_the_replica_resync_partially() {
    let mut c = pair();
    assert_eq!(c.cli(6380, "CLIENT KILL TYPE master"), "(integer) 1");
    c.sim.run_for(Duration::from_millis(50));
    let log = c.log(6380);
    let lost = log.iter().rposition(|l| l == "Connection with master lost.").expect("the link was freed");
    assert_eq!(
        log[lost..lost + 4],
        [
            "Connection with master lost.",
            "Caching the disconnected master state.",
            "Reconnecting to MASTER 127.0.0.1:6379",
            "MASTER <-> REPLICA sync started",
        ]
    );
    assert!(log[lost..].iter().any(|l| l == "Successful partial resynchronization with master."), "{log:?}");
    assert_eq!(c.cli(6379, "set a 2"), "OK");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6380, "get a"), "\"2\"");
    assert_eq!(c.cli(6380, "CLIENT KILL TYPE master SKIPME yes ADDR 1.2.3.4:5"), "(integer) 0");
}
