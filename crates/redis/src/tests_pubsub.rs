//! Pub/sub, transactions and CLIENT KILL, compared byte for byte with what
//! redis-server 7.0.15 sent for the same requests on loopback (RESP2).

use crate::config;
use crate::server::Server;
use sim::{ConnId, Ctx, Fault, HostId, Input, ProcId, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// A connection that records the raw bytes it receives.
pub(crate) struct Wire {
    pub(crate) port: u16,
    pub(crate) conn: Option<ConnId>,
    pub(crate) received: Vec<u8>,
    pub(crate) closed: bool,
}

impl Process for Wire {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.conn = Some(ctx.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))),
            Input::Data { bytes, .. } => self.received.extend_from_slice(bytes),
            Input::Closed { .. } => self.closed = true,
            _ => {}
        }
    }
}

pub(crate) struct Bench {
    pub(crate) sim: Sim,
    host: HostId,
    wires: Vec<ProcId>,
}

impl Bench {
    pub(crate) fn new() -> Bench {
        let mut sim = Sim::new(SimConfig { seed: 3, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        Bench { sim, host, wires: Vec::new() }
    }

    pub(crate) fn server(&mut self, port: u16, conf: &str) {
        let config = config::parse(conf, port).unwrap();
        let p =
            self.sim.add_process(self.host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone()))));
        self.sim.apply(Fault::Start(p)).unwrap();
        self.sim.run_for(crate::tests::STARTED);
    }

    /// Opens a connection to `port`; returns its index.
    pub(crate) fn connect(&mut self, port: u16) -> usize {
        let name = format!("wire{}", self.wires.len());
        let p = self.sim.add_process(
            self.host,
            &name,
            Box::new(move || Box::new(Wire { port, conn: None, received: Vec::new(), closed: false })),
        );
        self.sim.apply(Fault::Start(p)).unwrap();
        self.sim.run_for(Duration::from_millis(2));
        self.wires.push(p);
        self.wires.len() - 1
    }

    /// Sends inline commands, one per line, and returns everything received meanwhile.
    pub(crate) fn send(&mut self, wire: usize, lines: &[&str]) -> String {
        let p = self.wires[wire];
        for line in lines {
            let args = resp::split_args(line.as_bytes()).unwrap();
            let mut bytes = Vec::new();
            resp::encode_command(&args, &mut bytes);
            self.sim.with_process::<Wire, _>(p, |w, ctx| ctx.send(w.conn.unwrap(), &bytes));
            self.sim.run_for(Duration::from_millis(2));
        }
        self.take(wire)
    }

    pub(crate) fn take(&mut self, wire: usize) -> String {
        let p = self.wires[wire];
        self.sim
            .with_process::<Wire, _>(p, |w, _| String::from_utf8_lossy(&std::mem::take(&mut w.received)).into_owned())
            .unwrap()
    }

    /// Lets `d` of virtual time pass.
    pub(crate) fn run_for(&mut self, d: Duration) {
        self.sim.run_for(d);
    }

    pub(crate) fn closed(&self, wire: usize) -> bool {
        self.sim.process::<Wire>(self.wires[wire]).unwrap().closed
    }
}

#[test]
fn subscribe_replies_and_the_subscribed_context() {
    let mut b = Bench::new();
    b.server(6379, "");
    let c = b.connect(6379);
    let got = b.send(
        c,
        &[
            "SUBSCRIBE a b",
            "GET x",
            "PING",
            "PING hi",
            "UNSUBSCRIBE b a",
            "PSUBSCRIBE p*",
            "PUNSUBSCRIBE",
            "UNSUBSCRIBE",
            "PING",
            "UNSUBSCRIBE x",
        ],
    );
    let want = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n\
*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$2\r\nhi\r\n\
*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n\
*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n\
*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n+PONG\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n";
    assert_eq!(got, want);
    let got = b.send(c, &["PUBSUB NUMSUB a", "PUBSUB CHANNELS", "PUBSUB NUMPAT", "PUBSUB foo", "SUBSCRIBE"]);
    assert_eq!(
        got,
        "*2\r\n$1\r\na\r\n:0\r\n*0\r\n:0\r\n-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n\
-ERR wrong number of arguments for 'subscribe' command\r\n"
    );
}

#[test]
fn publish_reaches_channel_then_pattern_subscribers_and_counts_them() {
    let mut b = Bench::new();
    b.server(6379, "");
    let (s1, s2, p) = (b.connect(6379), b.connect(6379), b.connect(6379));
    b.send(s1, &["SUBSCRIBE news"]);
    b.send(s2, &["PSUBSCRIBE n*"]);
    assert_eq!(b.send(p, &["PUBLISH news hello", "PUBLISH other x"]), ":2\r\n:0\r\n");
    assert_eq!(b.take(s1), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    assert_eq!(b.take(s2), "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    assert_eq!(
        b.send(p, &["PUBSUB CHANNELS", "PUBSUB NUMSUB news nope", "PUBSUB NUMPAT"]),
        "*1\r\n$4\r\nnews\r\n*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnope\r\n:0\r\n:1\r\n"
    );
    // A subscriber that goes away is no longer counted.
    b.send(s1, &["QUIT"]);
    assert_eq!(b.send(p, &["PUBLISH news again"]), ":1\r\n");
}

#[test]
fn transactions_queue_abort_and_exec_like_redis() {
    let mut b = Bench::new();
    b.server(6379, "");
    let c = b.connect(6379);
    let got = b.send(c, &["MULTI", "SET a 1", "FOO", "SET b", "MULTI", "EXEC", "EXEC", "DISCARD"]);
    assert_eq!(
        got,
        "+OK\r\n+QUEUED\r\n-ERR unknown command 'FOO', with args beginning with: \r\n\
-ERR wrong number of arguments for 'set' command\r\n-ERR MULTI calls can not be nested\r\n\
-EXECABORT Transaction discarded because of previous errors.\r\n-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n"
    );
    let got = b.send(c, &["MULTI", "SET a 1", "INCR a", "LPUSH a x", "PING", "EXEC", "MULTI", "DISCARD", "GET a"]);
    assert_eq!(
        got,
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n:2\r\n\
-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n+OK\r\n+OK\r\n$1\r\n2\r\n"
    );
}

#[test]
fn sentinels_reconfiguration_transaction_and_client_kill() {
    let mut b = Bench::new();
    b.server(6379, "");
    b.server(6380, "replicaof 127.0.0.1 6379\n");
    b.sim.run_for(Duration::from_secs(7));
    let (normal, sub, me) = (b.connect(6380), b.connect(6380), b.connect(6380));
    b.send(normal, &["CLIENT SETNAME bystander"]);
    b.send(sub, &["SUBSCRIBE __sentinel__:hello"]);
    let got = b.send(
        me,
        &["MULTI", "SLAVEOF NO ONE", "CONFIG REWRITE", "CLIENT KILL TYPE normal", "CLIENT KILL TYPE pubsub", "EXEC"],
    );
    assert_eq!(got, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n+OK\r\n:1\r\n:1\r\n");
    assert!(b.closed(normal) && b.closed(sub) && !b.closed(me));
    assert_eq!(b.send(me, &["ROLE"]), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    let log = b.sim.log_lines(b.sim.proc_by_name("6380").unwrap()).join("\n");
    assert!(log.contains("MASTER MODE enabled (user request from 'id="), "{log}");
    // As the oracle shows it for Sentinel's transaction: MULTI's flag, 4 queued, EXEC running.
    assert!(
        log.contains(" flags=x db=0 sub=0 psub=0 ssub=0 multi=4 ") && log.contains(" cmd=exec user=default "),
        "{log}"
    );
    assert!(log.contains("# CONFIG REWRITE executed with success."), "{log}");
    assert_eq!(
        b.send(me, &["CLIENT KILL TYPE foo", "CLIENT KILL", "CLIENT GETNAME"]),
        "-ERR Unknown client type 'foo'\r\n-ERR wrong number of arguments for 'client|kill' command\r\n$-1\r\n"
    );
}

#[test]
fn a_transaction_reaches_replicas_wrapped_and_publish_reaches_their_subscribers() {
    let mut b = Bench::new();
    b.server(6379, "");
    b.server(6380, "replicaof 127.0.0.1 6379\n");
    b.sim.run_for(Duration::from_secs(7));
    let (m, r, sub) = (b.connect(6379), b.connect(6380), b.connect(6380));
    let before: i64 = b
        .send(r, &["INFO replication"])
        .split("master_repl_offset:")
        .nth(1)
        .unwrap()
        .split('\r')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    b.send(m, &["MULTI", "SET k 1", "INCR k", "EXEC"]);
    assert_eq!(b.send(r, &["GET k"]), "$1\r\n2\r\n");
    let after: i64 = b
        .send(r, &["INFO replication"])
        .split("master_repl_offset:")
        .nth(1)
        .unwrap()
        .split('\r')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut stream = Vec::new();
    for cmd in [&["MULTI"][..], &["SET", "k", "1"], &["INCR", "k"], &["EXEC"]] {
        resp::encode_command(cmd, &mut stream);
    }
    // SELECT 0 precedes the first write a replica is sent.
    let select = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".len() as i64;
    assert_eq!(after - before, select + stream.len() as i64);
    b.send(sub, &["SUBSCRIBE ch"]);
    assert_eq!(b.send(m, &["PUBLISH ch hi"]), ":0\r\n");
    b.sim.run_for(Duration::from_millis(5));
    assert_eq!(b.take(sub), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
}

/// Shard channels on a standalone node, replayed against what a real
/// 7.0.15 answered (`xtask/measure/multi_client.py`): the separate counts,
/// `smessage`, PUBSUB SHARDCHANNELS/SHARDNUMSUB/HELP, the MULTI and script
/// refusals, and a closed client leaving its channels.
#[test]
fn shard_channels_match_a_real_redis_transcript() {
    let transcript = include_str!("tests_pubsub_shard_transcript.txt");
    crate::tests_blocking::replay(transcript, crate::config::Config::defaults(6379));
}

/// RESP3 subscribers get shard confirmations and messages as pushes, a null
/// channel as `_` (bytes as redis-server 7.0.15 sent them).
#[test]
fn resp3_shard_subscribers_get_pushes() {
    let mut b = Bench::new();
    b.server(6379, "");
    let sub = b.connect(6379);
    let publisher = b.connect(6379);
    b.send(sub, &["HELLO 3"]);
    assert_eq!(b.send(sub, &["SSUBSCRIBE news"]), ">3\r\n$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n");
    assert_eq!(b.send(publisher, &["SPUBLISH news r3"]), ":1\r\n");
    assert_eq!(b.take(sub), ">3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$2\r\nr3\r\n");
    assert_eq!(b.send(sub, &["SUNSUBSCRIBE"]), ">3\r\n$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    assert_eq!(b.send(sub, &["SUNSUBSCRIBE"]), ">3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n");
}
