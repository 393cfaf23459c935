//! A cluster client against scripted nodes: how often it reads the slot map,
//! whom it asks, and the connections that costs, as redis-py 5.x's
//! `RedisCluster` does (every fifth MOVED refreshes, the node asked is
//! disconnected after CLUSTER SLOTS, a node whose command failed is not asked).

use crate::client::{Client, Log};
use crate::spec::{Keys, Model, Pace, Spec, Target};
use resp::{RequestParser, Value};
use sim::{Ctx, Fault, Input, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

fn addr(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
}

/// How a scripted node answers a command other than CLUSTER SLOTS.
type Reply = fn(&[Vec<u8>]) -> Value;

/// A scripted cluster node: CLUSTER SLOTS gives every slot to 7001 (7002
/// its replica); other commands get `reply`; `hang_up` closes every
/// connection as soon as it is accepted.
struct Node {
    port: u16,
    reply: Reply,
    hang_up: bool,
    parser: RequestParser,
    accepted: u32,
    slots_asked: u32,
    commands: u32,
}

fn node_entry(port: u16) -> Value {
    Value::Array(vec![Value::Bulk(b"127.0.0.1".to_vec()), Value::Integer(i64::from(port)), Value::Bulk(vec![b'a'; 40])])
}

impl Process for Node {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(self.port).expect("a free port"),
            Input::Accepted { conn, .. } => {
                self.accepted += 1;
                if self.hang_up {
                    ctx.close(conn);
                }
            }
            Input::Data { conn, bytes } => {
                self.parser.feed(bytes);
                while let Ok(true) = self.parser.next_command(false) {
                    let args = self.parser.args().to_vec();
                    let reply = if args[0].eq_ignore_ascii_case(b"cluster") {
                        self.slots_asked += 1;
                        let range = vec![Value::Integer(0), Value::Integer(16383), node_entry(7001), node_entry(7002)];
                        Value::Array(vec![Value::Array(range)])
                    } else {
                        self.commands += 1;
                        (self.reply)(&args)
                    };
                    ctx.send_with(conn, |b| reply.encode(b));
                }
            }
            _ => {}
        }
    }
}

fn moved_to_7002(args: &[Vec<u8>]) -> Value {
    Value::error(format!("MOVED {} 127.0.0.1:7002", common::slot::key_slot(&args[1])))
}

fn nil(_: &[Vec<u8>]) -> Value {
    Value::Nil
}

fn spec(seeds: Vec<SocketAddrV4>, keys: usize) -> Spec {
    Spec {
        name: "w".into(),
        target: Target::Cluster(seeds),
        model: Model::Register,
        read_fraction: 1.0,
        keys: Keys::Uniform((0..keys).map(|i| format!("k{i}").into()).collect()),
        pace: Pace::Think(Duration::from_millis(1)),
        connect_timeout: Some(Duration::from_secs(1)),
        socket_timeout: Some(Duration::from_secs(1)),
        retries: crate::spec::REDIS_PY_CLUSTER_RETRIES,
        wait: None,
        final_read_attempts: 1,
    }
}

/// Starts nodes `(port, reply, hang_up)` and a final reader of `keys` keys
/// that knows `seeds`; runs three seconds; the nodes and the history.
fn run(nodes: &[(u16, Reply, bool)], seeds: Vec<SocketAddrV4>, keys: usize) -> (Sim, Vec<sim::ProcId>, Log) {
    let mut sim = Sim::new(SimConfig::default());
    let host = sim.add_host("h", Ipv4Addr::LOCALHOST);
    let mut ids = Vec::new();
    for &(port, reply, hang_up) in nodes {
        let factory = move || -> Box<dyn Process> {
            let parser = RequestParser::default();
            Box::new(Node { port, reply, hang_up, parser, accepted: 0, slots_asked: 0, commands: 0 })
        };
        let p = sim.add_process(host, &format!("n{port}"), Box::new(factory));
        sim.apply(Fault::Start(p)).unwrap();
        ids.push(p);
    }
    let log = Log::default();
    let spec = Rc::new(spec(seeds, keys));
    let shared = log.clone();
    let reader =
        sim.add_process(host, "reader", Box::new(move || Box::new(Client::reader(spec.clone(), 1, shared.clone()))));
    sim.apply(Fault::Start(reader)).unwrap();
    sim.run_for(Duration::from_secs(3));
    (sim, ids, log)
}

fn node(sim: &Sim, p: sim::ProcId) -> &Node {
    sim.process::<Node>(p).expect("running")
}

#[test]
fn every_fifth_moved_reads_the_map_again_and_disconnects_from_the_node_asked() {
    let (sim, ids, log) = run(&[(7001, moved_to_7002, false), (7002, nil, false)], vec![addr(7001)], 12);
    let (a, b) = (node(&sim, ids[0]), node(&sim, ids[1]));
    // 12 keys in 12 slots, each read once: each MOVED from 7001 first. The
    // 5th and 10th MOVED refresh instead of patching, and the read goes to
    // 7001 again by the new map (one more MOVED each).
    assert_eq!(a.commands, 14);
    assert_eq!(b.commands, 12);
    assert_eq!(a.slots_asked, 3, "at start, after the 5th and the 10th MOVED");
    assert_eq!(b.slots_asked, 0, "7001 is the first startup node and answers");
    assert_eq!(a.accepted, 4, "a new connection after each CLUSTER SLOTS");
    assert_eq!(b.accepted, 1, "kept across operations");
    let events = &log.borrow().log.events();
    assert_eq!(events.iter().filter(|e| e.kind == check::Type::Ok).count(), 12, "{events:?}");
}

#[test]
fn a_node_whose_command_failed_is_not_asked_for_the_map() {
    let (sim, ids, log) = run(&[(7001, nil, true), (7002, nil, false)], vec![addr(7001), addr(7002)], 1);
    let (a, b) = (node(&sim, ids[0]), node(&sim, ids[1]));
    // 7001 hangs up at once. The first refresh asks it (closed), then 7002.
    // Each of the four attempts (redis-py's 3 retries) loses its
    // connection to 7001, drops 7001 from the startup nodes and reads the
    // map from 7002, whose map names 7001 again.
    assert_eq!(a.accepted, 1 + 4, "{} connections", a.accepted);
    assert_eq!(b.slots_asked, 1 + 4);
    assert_eq!(a.slots_asked + a.commands, 0, "7001 read nothing before hanging up");
    let events = &log.borrow().log.events();
    let last = events.last().expect("the read ended");
    assert_eq!(last.kind, check::Type::Info, "sent, then the connection closed: {last:?}");
    assert_eq!(last.error.as_deref(), Some("ConnectionError: Connection closed by server."));
}

fn cluster_down(_: &[Vec<u8>]) -> Value {
    Value::error("CLUSTERDOWN The cluster is down")
}

#[test]
fn clusterdown_pauses_reads_the_map_and_retries_then_fails() {
    let (sim, ids, log) = run(&[(7001, cluster_down, false)], vec![addr(7001)], 1);
    let a = node(&sim, ids[0]);
    // redis-py: each CLUSTERDOWN sleeps 0.25 s and reads the map again, the
    // last one too; the command is tried once and retried three times.
    assert_eq!(a.commands, 4);
    assert_eq!(a.slots_asked, 1 + 4);
    let events = &log.borrow().log.events();
    let last = events.last().expect("the read ended");
    assert_eq!(last.kind, check::Type::Fail, "refused every time, so not applied: {last:?}");
    assert_eq!(last.error.as_deref(), Some("CLUSTERDOWN The cluster is down"));
    assert!(last.time >= 1_000_000_000, "four pauses of 0.25 s: ended at {} ns", last.time);
}

fn three_elements(_: &[Vec<u8>]) -> Value {
    Value::Array([&b"1"[..], b"2", b"30"].iter().map(|e| Value::Bulk(e.to_vec())).collect())
}

/// Two final readers of one list get the same reply: the second takes the
/// first's reading (one `Arc`, the same elements), as the workload's
/// clients share a key's last read.
#[test]
fn clients_share_a_reading_of_the_same_reply() {
    let mut sim = Sim::new(SimConfig::default());
    let host = sim.add_host("h", Ipv4Addr::LOCALHOST);
    let factory = move || -> Box<dyn Process> {
        let parser = RequestParser::default();
        Box::new(Node {
            port: 7001,
            reply: three_elements,
            hang_up: false,
            parser,
            accepted: 0,
            slots_asked: 0,
            commands: 0,
        })
    };
    let p = sim.add_process(host, "n7001", Box::new(factory));
    sim.apply(Fault::Start(p)).unwrap();
    let log = Log::default();
    let spec = Rc::new(Spec { model: Model::List, ..spec(vec![addr(7001)], 1) });
    for id in [1, 2] {
        let (spec, shared) = (spec.clone(), log.clone());
        let reader = sim.add_process(
            host,
            &format!("reader{id}"),
            Box::new(move || Box::new(Client::reader(spec.clone(), id, shared.clone()))),
        );
        sim.apply(Fault::Start(reader)).unwrap();
    }
    sim.run_for(Duration::from_secs(3));
    let events = &log.borrow().log.events();
    let reads: Vec<&check::Value> = events.iter().filter(|e| e.kind == check::Type::Ok).map(|e| &e.value).collect();
    let [check::Value::Many(a), check::Value::Many(b)] = reads[..] else { panic!("two list reads: {events:?}") };
    let want = [check::Elem::Int(1), check::Elem::Int(2), check::Elem::Int(30)];
    assert_eq!(a.as_ref().to_vec(), want);
    assert!(a.as_ref().same(b.as_ref()), "one reading shared");
}
