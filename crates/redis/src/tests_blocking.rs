//! Blocking commands against a multi-client transcript of a real Redis
//! 7.0.15 (recorded by `xtask/measure/multi_client.py`): each step sends a
//! command on one of several connections (or sleeps, or closes one), and
//! lists every reply each client received before the next step.

use crate::config::Config;
use crate::server::Server;
use crate::tests::Raw;
use sim::{Fault, ProcId, Sim, SimConfig};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// `step => replies`, in order, on one fresh server.
const TRANSCRIPT: &str = include_str!("tests_blocking_transcript.txt");

/// What the recorder waits after a command for its replies.
const SETTLE: Duration = Duration::from_millis(50);

/// A server and named clients, each on its own connection, opened on first use.
struct Clients {
    sim: Sim,
    server: ProcId,
    host: sim::HostId,
    clients: BTreeMap<String, (ProcId, usize)>,
}

impl Clients {
    fn new(config: Config) -> Clients {
        let mut sim = Sim::new(SimConfig { seed: 1, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        let server = sim.add_process(host, "6379", Box::new(move || Box::new(Server::new(config.clone()))));
        sim.apply(Fault::Start(server)).unwrap();
        sim.run_for(Duration::from_millis(1));
        Clients { sim, server, host, clients: BTreeMap::new() }
    }

    fn client(&mut self, name: &str) -> ProcId {
        if let Some(&(id, _)) = self.clients.get(name) {
            return id;
        }
        let id = self.sim.add_process(self.host, name, Box::new(|| Box::new(Raw::default())));
        self.sim.apply(Fault::Start(id)).unwrap();
        self.sim.run_for(Duration::from_millis(1));
        self.clients.insert(name.to_owned(), (id, 0));
        id
    }

    fn send(&mut self, name: &str, line: &str) {
        let id = self.client(name);
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        resp::encode_command(&args, &mut bytes);
        let conn = self.sim.process::<Raw>(id).unwrap().conn.unwrap();
        self.sim.with_process::<Raw, _>(id, |_, ctx| ctx.send(conn, &bytes));
    }

    fn close(&mut self, name: &str) {
        let (id, _) = self.clients.remove(name).expect("an open client");
        let conn = self.sim.process::<Raw>(id).unwrap().conn.unwrap();
        self.sim.with_process::<Raw, _>(id, |_, ctx| ctx.close(conn));
    }

    /// Runs `step` and renders what each client received, as the recorder does.
    fn step(&mut self, step: &str) -> String {
        let wait = if let Some(ms) = step.strip_prefix("sleep ") {
            Duration::from_millis(ms.parse().unwrap())
        } else if let Some(name) = step.strip_prefix("close ") {
            self.close(name);
            SETTLE
        } else {
            let (name, line) = step.split_once(": ").expect("client: command");
            self.send(name, line);
            SETTLE
        };
        self.sim.run_for(wait);
        let mut got = Vec::new();
        for (name, (id, seen)) in &mut self.clients {
            let raw = self.sim.process::<Raw>(*id).unwrap();
            for reply in &raw.replies[*seen..] {
                got.push(format!("{name}: {}", reply.replace('\n', "\\n")));
            }
            *seen = raw.replies.len();
        }
        got.join(" | ")
    }
}

/// Replays a transcript; blank and `#` lines are comments.
fn replay(transcript: &str, config: Config) -> Clients {
    let mut c = Clients::new(config);
    for line in transcript.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (step, want) = line.split_once(" =>").expect("step => replies");
        let got = c.step(step);
        assert_eq!(got, want.trim_start(), "{step}");
    }
    c
}

#[test]
fn replies_match_a_real_redis_multi_client_transcript() {
    replay(TRANSCRIPT, Config::defaults(6379));
}

#[test]
fn info_counts_blocked_clients_and_disconnects_free_them() {
    let mut c = Clients::new(Config::defaults(6379));
    let blocked = |c: &mut Clients| {
        let info = c.sim.process::<Server>(c.server).unwrap().info(0, &[b"clients".to_vec()]);
        info.lines().find_map(|l| l.strip_prefix("blocked_clients:").map(str::to_owned)).unwrap()
    };
    c.step("A: BLPOP k 0");
    c.step("B: BZPOPMIN z 10");
    assert_eq!(blocked(&mut c), "2");
    c.step("close A");
    assert_eq!(blocked(&mut c), "1");
    assert_eq!(c.step("C: RPUSH k x"), "C: (integer) 1");
    assert_eq!(c.step("C: LLEN k"), "C: (integer) 1", "nobody was left to pop it");
    assert_eq!(c.step("sleep 10100"), "B: (nil)");
    assert_eq!(blocked(&mut c), "0");
}

/// Commands a client sent while blocked run once it is served, in order.
#[test]
fn pipelined_commands_run_after_the_unblock() {
    let mut c = Clients::new(Config::defaults(6379));
    c.client("A");
    let id = c.clients["A"].0;
    let mut bytes = Vec::new();
    for line in ["BLPOP k 0", "LLEN k", "PING"] {
        resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut bytes);
    }
    let conn = c.sim.process::<Raw>(id).unwrap().conn.unwrap();
    c.sim.with_process::<Raw, _>(id, |_, ctx| ctx.send(conn, &bytes));
    assert_eq!(c.step("sleep 50"), "");
    assert_eq!(c.step("B: RPUSH k a b"), "A: 1) \"k\"\\n2) \"a\" | A: (integer) 1 | A: PONG | B: (integer) 2");
}
