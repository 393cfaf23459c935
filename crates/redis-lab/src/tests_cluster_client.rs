//! redis-cli -c against nodes that redirect: what it prints (one-shot and at
//! the prompt, as redis-cli 7.0.15 does on a real loopback cluster), ASKING
//! before a command retried after ASK, re-authentication on the new node, and
//! the bound on redirections.

use crate::tests_harness::Cluster;
use redis_client::cli::RedisCli;
use resp::{RequestParser, Value};
use sim::{Ctx, Fault, Input, Process};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// A node that answers every command with one fixed error and records what it got.
struct Redirector {
    port: u16,
    error: String,
    parser: RequestParser,
    seen: Vec<String>,
}

impl Process for Redirector {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(self.port).unwrap(),
            Input::Data { conn, bytes } => {
                self.parser.feed(bytes);
                while let Ok(true) = self.parser.next_command(false) {
                    let line: Vec<String> =
                        self.parser.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                    self.seen.push(line.join(" "));
                    let reply = Value::error(self.error.clone());
                    ctx.send_with(conn, |b| reply.encode(b));
                }
            }
            _ => {}
        }
    }
}

fn redirector(c: &mut Cluster, port: u16, error: &str) -> sim::ProcId {
    let host = c.sim.host_of(c.sim.proc_by_name("6380").unwrap());
    let error = error.to_owned();
    let p = c.sim.add_process(
        host,
        &format!("redirector{port}"),
        Box::new(move || {
            Box::new(Redirector { port, error: error.clone(), parser: RequestParser::default(), seen: Vec::new() })
        }),
    );
    c.sim.apply(Fault::Start(p)).unwrap();
    p
}

fn run(c: &mut Cluster, port: u16, line: &str, interactive: bool, auth: Option<&str>) -> String {
    let args = resp::split_args(line.as_bytes()).unwrap();
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let host = c.sim.host_of(c.sim.proc_by_name("6380").unwrap());
    let auth = auth.map(str::to_owned);
    let name = format!("cli-c{}", c.sim.procs().count());
    let p = c.sim.add_process(
        host,
        &name,
        Box::new(move || Box::new(RedisCli::new(addr, auth.clone(), args.clone()).cluster_mode(interactive))),
    );
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    c.sim.process::<RedisCli>(p).and_then(|cli| cli.output.clone()).expect("redis-cli finished")
}

#[test]
fn moved_is_followed_and_printed_only_at_the_prompt() {
    let mut c = Cluster::new(31);
    c.server(6380, "");
    // Its start-up time (8 to 16 ms) is over.
    c.sim.run_for(Duration::from_millis(20));
    redirector(&mut c, 6379, "MOVED 12706 127.0.0.1:6380");
    // `redis-cli -c -p 7210 set k1 v1` on a real cluster printed just OK; piped to
    // its stdin it printed the redirection first.
    assert_eq!(run(&mut c, 6379, "set k1 v1", false, None), "OK");
    assert_eq!(
        run(&mut c, 6379, "get k1", true, None),
        "-> Redirected to slot [12706] located at 127.0.0.1:6380\n\"v1\""
    );
    // Without -c the error is the reply.
    assert_eq!(c.cli(6379, "get k1"), "(error) MOVED 12706 127.0.0.1:6380");
}

#[test]
fn ask_sends_asking_first_and_auth_is_repeated_on_the_new_node() {
    let mut c = Cluster::new(32);
    c.server(6380, "");
    c.sim.run_for(Duration::from_millis(10));
    let asker = redirector(&mut c, 6379, "ASK 449 127.0.0.1:6381");
    let importer = redirector(&mut c, 6381, "ERR the importing node was reached");
    let out = run(&mut c, 6379, "get k2", true, Some("pw"));
    assert_eq!(
        out,
        "-> Redirected to slot [449] located at 127.0.0.1:6381\n(error) ERR the importing node was reached"
    );
    assert_eq!(c.sim.process::<Redirector>(asker).unwrap().seen, ["AUTH pw", "get k2"]);
    assert_eq!(c.sim.process::<Redirector>(importer).unwrap().seen, ["AUTH pw", "ASKING", "get k2"]);
}

#[test]
fn a_redirection_loop_ends_with_the_last_error() {
    let mut c = Cluster::new(33);
    c.server(6380, "");
    c.sim.run_for(Duration::from_millis(10));
    let looping = redirector(&mut c, 6379, "MOVED 7638 127.0.0.1:6379");
    let out = run(&mut c, 6379, "get abc", false, None);
    assert_eq!(out, "(error) MOVED 7638 127.0.0.1:6379");
    let seen = c.sim.process::<Redirector>(looping).unwrap().seen.len() as u32;
    assert_eq!(seen, redis_client::cluster::MAX_REDIRECTIONS + 1);
}
