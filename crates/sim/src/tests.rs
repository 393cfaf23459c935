//! Kernel tests: ordering, connection semantics under each fault, pause, disks,
//! clocks and determinism. They use `Probe`, a test-only process that records
//! every input it sees and optionally echoes data back.

use crate::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

#[derive(Default)]
struct Probe {
    listen: Option<u16>,
    echo: bool,
    /// "t=<ms> <event>" lines.
    seen: Vec<String>,
    conns: Vec<ConnId>,
}

impl Probe {
    fn seen_at(&mut self, ctx: &Ctx<'_>, what: String) {
        let t = ctx.now().as_nanos() as f64 / 1e6;
        self.seen.push(format!("t={t} {what}"));
    }
}

impl Process for Probe {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => {
                if let Some(port) = self.listen {
                    ctx.listen(port).expect("port free");
                }
                self.seen_at(ctx, "start".into());
            }
            Input::Shutdown => {
                ctx.disk().append("log", b"shutdown\n");
                ctx.disk().fsync("log");
                self.seen_at(ctx, "shutdown".into());
            }
            Input::Accepted { conn, .. } => {
                self.conns.push(conn);
                self.seen_at(ctx, "accepted".into());
            }
            Input::Connected { conn } => {
                self.conns.push(conn);
                self.seen_at(ctx, "connected".into());
            }
            Input::ConnectFailed { error, .. } => self.seen_at(ctx, format!("connect-failed {error:?}")),
            Input::Data { conn, bytes } => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                self.seen_at(ctx, format!("data {text}"));
                if self.echo {
                    ctx.send(conn, bytes);
                }
            }
            Input::Closed { reason, .. } => self.seen_at(ctx, format!("closed {reason:?}")),
            Input::Timer { tag, .. } => self.seen_at(ctx, format!("timer {tag}")),
        }
    }
}

fn sim(seed: u64) -> Sim {
    Sim::new(SimConfig { seed, record_trace: true, ..SimConfig::default() })
}

fn probe(listen: Option<u16>, echo: bool) -> Factory {
    Box::new(move || Box::new(Probe { listen, echo, ..Probe::default() }))
}

/// A server echoing on 6379 and a client, both on one host, started.
fn pair(s: &mut Sim) -> (ProcId, ProcId) {
    let h = s.add_host("localhost", LOCALHOST);
    let server = s.add_process(h, "server", probe(Some(6379), true));
    let client = s.add_process(h, "client", probe(None, false));
    s.apply(Fault::Start(server)).unwrap();
    s.apply(Fault::Start(client)).unwrap();
    (server, client)
}

fn connect(s: &mut Sim, client: ProcId, port: u16) -> ConnId {
    s.with_process::<Probe, _>(client, |_, ctx| ctx.connect(SocketAddrV4::new(LOCALHOST, port))).unwrap()
}

fn send(s: &mut Sim, from: ProcId, conn: ConnId, text: &str) {
    s.with_process::<Probe, _>(from, |_, ctx| ctx.send(conn, text.as_bytes())).unwrap();
}

fn seen(s: &Sim, p: ProcId) -> Vec<String> {
    s.process::<Probe>(p).unwrap().seen.clone()
}

fn last(s: &Sim, p: ProcId) -> String {
    seen(s, p).last().cloned().unwrap_or_default()
}

#[test]
fn simultaneous_events_run_in_insertion_order() {
    let mut s = sim(1);
    let (_, client) = pair(&mut s);
    s.with_process::<Probe, _>(client, |_, ctx| {
        for tag in [3, 1, 2] {
            ctx.set_timer(Duration::from_millis(10), tag);
        }
        ctx.set_timer(Duration::from_millis(5), 0);
    });
    s.run_for(Duration::from_secs(1));
    assert_eq!(seen(&s, client)[1..], ["t=5 timer 0", "t=10 timer 3", "t=10 timer 1", "t=10 timer 2"]);
}

#[test]
fn cancelled_timer_does_not_fire() {
    let mut s = sim(1);
    let (_, client) = pair(&mut s);
    s.with_process::<Probe, _>(client, |_, ctx| {
        let id = ctx.set_timer(Duration::from_millis(10), 1);
        ctx.set_timer(Duration::from_millis(20), 2);
        ctx.cancel_timer(id);
    });
    s.run_for(Duration::from_secs(1));
    assert_eq!(seen(&s, client)[1..], ["t=20 timer 2"]);
}

#[test]
fn echo_round_trip_takes_two_loopback_latencies_per_leg() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    send(&mut s, client, conn, "PING");
    s.run_for(Duration::from_millis(1));
    // SYN 50µs, SYN-ACK 50µs; data sent at 1ms arrives at 1.05ms and returns at 1.1ms,
    // each leg 2 ns later for 4 bytes at loopback's 2 GB/s.
    assert_eq!(seen(&s, server)[1..], ["t=0.05 accepted", "t=1.050002 data PING"]);
    assert_eq!(seen(&s, client)[1..], ["t=0.1 connected", "t=1.100004 data PING"]);
}

#[test]
fn a_connection_tag_belongs_to_one_end_and_goes_with_the_connection() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    let tag = |s: &mut Sim, p: ProcId| s.with_process::<Probe, _>(p, |_, ctx| ctx.conn_tag(conn)).unwrap();
    assert_eq!(tag(&mut s, client), 0, "untagged");
    s.with_process::<Probe, _>(client, |_, ctx| ctx.tag_conn(conn, 7));
    s.with_process::<Probe, _>(server, |_, ctx| ctx.tag_conn(conn, 9));
    assert_eq!((tag(&mut s, client), tag(&mut s, server)), (7, 9));
    let stranger = s.add_process(s.host_of(client), "stranger", probe(None, false));
    s.apply(Fault::Start(stranger)).unwrap();
    s.with_process::<Probe, _>(stranger, |_, ctx| ctx.tag_conn(conn, 5));
    assert_eq!(tag(&mut s, stranger), 0, "not its connection");
    assert_eq!(tag(&mut s, client), 7, "a stranger's tag changes nothing");
    s.apply(Fault::Kill(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    assert_eq!(tag(&mut s, client), 0, "the connection is gone");
}

#[test]
fn connect_to_a_port_nobody_listens_on_is_refused() {
    let mut s = sim(1);
    let (_, client) = pair(&mut s);
    connect(&mut s, client, 7000);
    s.run_for(Duration::from_millis(1));
    assert_eq!(last(&s, client), "t=0.1 connect-failed Refused");
}

#[test]
fn connect_to_an_unknown_address_is_unreachable_after_arp_gives_up() {
    let mut s = sim(1);
    let (_, client) = pair(&mut s);
    s.with_process::<Probe, _>(client, |_, ctx| ctx.connect(SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 6379)));
    s.run_for(Duration::from_secs(10));
    assert_eq!(last(&s, client), "t=3000 connect-failed Unreachable");
}

#[test]
fn killed_peer_on_a_live_host_resets_the_connection_at_once() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::Kill(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    assert_eq!(last(&s, client), "t=1.05 closed Reset");
}

#[test]
fn stopped_peer_runs_its_shutdown_path_and_closes_gracefully() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::Stop(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    assert_eq!(last(&s, client), "t=1.05 closed PeerClosed");
    assert_eq!(s.disk(server).read("log"), Some(&b"shutdown\n"[..]));
    assert_eq!(s.proc_state(server), ProcState::Down);
}

#[test]
fn partition_is_silent_and_traffic_resumes_in_order_after_heal() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::Partition(vec![vec![Endpoint::Process(server)]])).unwrap();
    send(&mut s, client, conn, "a");
    send(&mut s, client, conn, "b");
    s.run_for(Duration::from_secs(5));
    assert_eq!(seen(&s, server).len(), 2, "nothing crosses the partition and nobody is told");
    assert_eq!(seen(&s, client).len(), 2);
    s.apply(Fault::Heal).unwrap();
    s.run_for(Duration::from_secs(10));
    // Retransmissions at 0.2, 0.6, 1.4, 3.0, 6.2 s after the send: the one after the heal gets through.
    assert_eq!(seen(&s, server)[2..], ["t=6201.050001 data a", "t=6201.050001 data b"]);
    assert_eq!(seen(&s, client)[2..], ["t=6201.100002 data a", "t=6201.100003 data b"]);
}

#[test]
fn data_retransmission_gives_up_after_tcp_retries2() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::Partition(vec![vec![Endpoint::Process(server)]])).unwrap();
    send(&mut s, client, conn, "lost");
    s.run_for(Duration::from_secs(3600));
    let last = last(&s, client);
    assert!(last.ends_with("closed TimedOut"), "{last}");
    // 0.2+0.4+...+102.4 then eight retries capped at 120 s: about 924.6 s, as Linux.
    let t: f64 = last[2..last.find(' ').unwrap()].parse().unwrap();
    assert!((924_000.0..926_000.0).contains(&t), "{t}");
}

#[test]
fn connect_across_a_partition_times_out_after_127_seconds() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    s.apply(Fault::Partition(vec![vec![Endpoint::Process(server)]])).unwrap();
    connect(&mut s, client, 6379);
    s.run_for(Duration::from_secs(300));
    assert_eq!(last(&s, client), "t=127000.05 connect-failed TimedOut");
}

#[test]
fn one_way_partition_blocks_one_direction_only() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::PartitionOneWay { from: vec![Endpoint::Process(server)], to: vec![Endpoint::Process(client)] })
        .unwrap();
    send(&mut s, client, conn, "x");
    s.run_for(Duration::from_millis(100));
    assert_eq!(last(&s, server), "t=1.050001 data x", "client -> server still works");
    assert_eq!(seen(&s, client).len(), 2, "the echo is held");
}

#[test]
fn crashed_host_tells_nobody_until_a_peer_writes_after_it_reboots() {
    let mut s = sim(1);
    let h1 = s.add_host("a", Ipv4Addr::new(172, 17, 0, 2));
    let h2 = s.add_host("b", Ipv4Addr::new(172, 17, 0, 3));
    let server = s.add_process(h1, "server", probe(Some(6379), true));
    let client = s.add_process(h2, "client", probe(None, false));
    s.apply(Fault::Start(server)).unwrap();
    s.apply(Fault::Start(client)).unwrap();
    let conn = s
        .with_process::<Probe, _>(client, |_, ctx| ctx.connect(SocketAddrV4::new(Ipv4Addr::new(172, 17, 0, 2), 6379)))
        .unwrap();
    s.run_for(Duration::from_millis(1));
    s.apply(Fault::CrashHost(h1)).unwrap();
    s.run_for(Duration::from_secs(60));
    assert_eq!(seen(&s, client).len(), 2, "no FIN, no RST from a dead host");
    send(&mut s, client, conn, "hello?");
    s.run_for(Duration::from_secs(1));
    s.apply(Fault::Start(server)).unwrap();
    s.run_for(Duration::from_secs(5));
    let last = last(&s, client);
    assert!(last.ends_with("closed Reset"), "the rebooted host has no such connection: {last}");
}

#[test]
fn a_resumed_process_reads_each_socket_whole_in_the_order_they_became_ready_then_its_timers() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let a = connect(&mut s, client, 6379);
    let b = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.with_process::<Probe, _>(server, |_, ctx| ctx.set_timer(Duration::from_millis(5), 7));
    s.apply(Fault::Pause(server)).unwrap();
    send(&mut s, client, a, "a1");
    s.run_for(Duration::from_millis(1));
    send(&mut s, client, b, "b1");
    s.run_for(Duration::from_millis(10));
    send(&mut s, client, a, "a2");
    s.run_for(Duration::from_secs(1));
    let before = seen(&s, server).len();
    s.apply(Fault::Resume(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    // Arrival order was a1, b1, the timer, a2: the socket that became ready
    // first is read whole, then the other, then the timer.
    assert_eq!(seen(&s, server)[before..], ["t=1012 data a1a2", "t=1012 data b1", "t=1012 timer 7"]);
}

#[test]
fn paused_process_gets_queued_inputs_and_late_timers_on_resume() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(1));
    s.with_process::<Probe, _>(server, |_, ctx| ctx.set_timer(Duration::from_millis(500), 7));
    s.apply(Fault::Pause(server)).unwrap();
    send(&mut s, client, conn, "one");
    send(&mut s, client, conn, "two");
    s.run_for(Duration::from_secs(2));
    assert_eq!(seen(&s, server).len(), 2, "a paused process sees nothing");
    s.apply(Fault::Resume(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    // As one turn of an event loop: everything the socket holds in one
    // read, then the timer that fell due meanwhile.
    assert_eq!(seen(&s, server)[2..], ["t=2001 data onetwo", "t=2001 timer 7"]);
    // One echo of the six bytes: 3 ns at 2 GB/s.
    assert_eq!(seen(&s, client)[2..], ["t=2001.050003 data onetwo"]);
}

#[test]
fn restart_gives_a_fresh_process_on_the_same_disk() {
    let mut s = sim(1);
    let (server, _) = pair(&mut s);
    s.with_process::<Probe, _>(server, |_, ctx| ctx.disk().write("dump.rdb", b"v1"));
    s.apply(Fault::Restart(server)).unwrap();
    assert_eq!(seen(&s, server), ["t=0 start"], "memory does not survive");
    assert_eq!(s.disk(server).read("dump.rdb"), Some(&b"v1"[..]));
    assert_eq!(s.incarnation(server), 2);
}

#[test]
fn unsynced_writes_survive_kill_but_not_host_crash() {
    for (fault, survives) in [("kill", true), ("crash", false), ("stop", true)] {
        let mut s = sim(1);
        let (server, _) = pair(&mut s);
        s.with_process::<Probe, _>(server, |_, ctx| {
            ctx.disk().append("appendonly.aof", b"synced;");
            ctx.disk().fsync("appendonly.aof");
            ctx.disk().append("appendonly.aof", b"unsynced;");
        });
        s.run_for(Duration::from_secs(1));
        match fault {
            "kill" => s.apply(Fault::Kill(server)).unwrap(),
            "stop" => s.apply(Fault::Stop(server)).unwrap(),
            _ => s.apply(Fault::CrashHost(s.host_of(server))).unwrap(),
        }
        s.apply(Fault::Start(server)).unwrap();
        let aof = s.disk(server).read("appendonly.aof").unwrap();
        let expected: &[u8] = if survives { b"synced;unsynced;" } else { b"synced;" };
        assert_eq!(aof, expected, "after {fault}");
    }
}

#[test]
fn os_writeback_saves_unsynced_writes_older_than_30_seconds_from_a_crash() {
    let mut s = sim(1);
    let (server, _) = pair(&mut s);
    s.with_process::<Probe, _>(server, |_, ctx| ctx.disk().append("appendonly.aof", b"old;"));
    s.run_for(Duration::from_secs(31));
    s.with_process::<Probe, _>(server, |_, ctx| ctx.disk().append("appendonly.aof", b"new;"));
    s.run_for(Duration::from_secs(1));
    s.apply(Fault::CrashHost(s.host_of(server))).unwrap();
    assert_eq!(s.disk(server).read("appendonly.aof"), Some(&b"old;"[..]));
}

#[test]
fn wipe_kills_and_empties_the_disk() {
    let mut s = sim(1);
    let (server, _) = pair(&mut s);
    s.with_process::<Probe, _>(server, |_, ctx| ctx.disk().write("nodes.conf", b"x"));
    s.apply(Fault::Wipe(server)).unwrap();
    assert_eq!(s.proc_state(server), ProcState::Down);
    assert!(s.disk(server).is_empty());
}

#[test]
fn faults_on_the_wrong_state_are_refused_with_a_reason() {
    let mut s = sim(1);
    let (server, _) = pair(&mut s);
    assert_eq!(s.apply(Fault::Resume(server)).unwrap_err().to_string(), "node server is running");
    s.apply(Fault::Kill(server)).unwrap();
    assert_eq!(s.apply(Fault::Kill(server)).unwrap_err().to_string(), "node server is down");
    s.schedule(Instant::ZERO + Duration::from_secs(1), Fault::Stop(server));
    s.run_for(Duration::from_secs(2));
    assert_eq!(s.fault_errors(), [(Instant::ZERO + Duration::from_secs(1), "node server is down".to_owned())]);
}

#[test]
fn listening_twice_on_a_port_fails() {
    let mut s = sim(1);
    let (_, client) = pair(&mut s);
    let r = s.with_process::<Probe, _>(client, |_, ctx| ctx.listen(6379)).unwrap();
    assert_eq!(r, Err(AddrInUse));
}

#[test]
fn clock_skew_and_jumps_move_wall_time_only() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    let base = s.wall_clock_ms(client);
    s.apply(Fault::ClockSet { proc: server, offset_ms: 5_000 }).unwrap();
    s.apply(Fault::ClockJump { proc: server, delta_ms: -60_000 }).unwrap();
    assert_eq!(s.wall_clock_ms(server), base - 55_000);
    assert_eq!(s.wall_clock_ms(client), base);
    s.with_process::<Probe, _>(server, |_, ctx| ctx.set_timer(Duration::from_millis(100), 1));
    s.run_for(Duration::from_secs(1));
    assert_eq!(last(&s, server), "t=100 timer 1", "timers follow monotonic time");
}

/// A ring of processes passing tokens over connections with random latency.
fn ring(seed: u64, nodes: usize) -> Sim {
    let mut s = Sim::new(SimConfig {
        seed,
        net: NetConfig {
            same_host: LinkConfig {
                latency: Latency::Uniform { min: Duration::from_micros(20), max: Duration::from_micros(400) },
                loss: 0.01,
                ..LinkConfig::LOOPBACK
            },
            ..NetConfig::default()
        },
        ..SimConfig::default()
    });
    let h = s.add_host("localhost", LOCALHOST);
    let ps: Vec<ProcId> =
        (0..nodes).map(|i| s.add_process(h, &format!("n{i}"), probe(Some(7000 + i as u16), true))).collect();
    for p in &ps {
        s.apply(Fault::Start(*p)).unwrap();
    }
    for (i, p) in ps.iter().enumerate() {
        let next = 7000 + ((i + 1) % nodes) as u16;
        let conn = connect(&mut s, *p, next);
        s.run_for(Duration::from_millis(5));
        for k in 0..3 {
            send(&mut s, *p, conn, &format!("token {i}.{k}"));
        }
    }
    s.run_for(Duration::from_secs(2));
    s
}

#[test]
fn same_seed_gives_the_same_trace_hash_and_another_seed_does_not() {
    let a = ring(42, 5);
    let b = ring(42, 5);
    let c = ring(43, 5);
    assert_eq!(a.trace().hash_hex(), b.trace().hash_hex());
    assert_eq!(a.trace().records(), b.trace().records());
    assert_ne!(a.trace().hash_hex(), c.trace().hash_hex());
    assert!(a.events_processed() > 50);
}

#[test]
fn adding_a_node_does_not_change_what_the_others_draw() {
    let draws = |extra: bool| {
        let mut s = sim(9);
        let h = s.add_host("localhost", LOCALHOST);
        let a = s.add_process(h, "a", probe(None, false));
        if extra {
            let x = s.add_process(h, "extra", probe(None, false));
            s.apply(Fault::Start(x)).unwrap();
            s.with_process::<Probe, _>(x, |_, ctx| ctx.rng().next_u64());
        }
        let b = s.add_process(h, "b", probe(None, false));
        s.apply(Fault::Start(a)).unwrap();
        s.apply(Fault::Start(b)).unwrap();
        let da = s.with_process::<Probe, _>(a, |_, ctx| ctx.rng().next_u64()).unwrap();
        let db = s.with_process::<Probe, _>(b, |_, ctx| ctx.rng().next_u64()).unwrap();
        (da, db)
    };
    assert_eq!(draws(false), draws(true));
}

#[test]
fn latency_and_loss_per_link_apply_both_ways() {
    let mut s = sim(1);
    let (server, client) = pair(&mut s);
    s.apply(Fault::Link {
        a: Endpoint::Process(client),
        b: Endpoint::Process(server),
        config: LinkConfig { latency: Latency::Fixed(Duration::from_millis(10)), loss: 0.0, bandwidth: 0 },
    })
    .unwrap();
    let conn = connect(&mut s, client, 6379);
    s.run_for(Duration::from_millis(30));
    send(&mut s, client, conn, "x");
    s.run_for(Duration::from_millis(30));
    assert_eq!(seen(&s, server)[1..], ["t=10 accepted", "t=40 data x"]);
    assert_eq!(seen(&s, client)[1..], ["t=20 connected", "t=50 data x"]);
}

/// Listens on 6379 and records when each connection was accepted and each
/// arrival's size, without keeping the (possibly many MB of) bytes.
#[derive(Default)]
struct Meter {
    accepted: Vec<u64>,
    /// (nanoseconds, connection, bytes)
    arrivals: Vec<(u64, ConnId, usize)>,
}

impl Process for Meter {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(6379).expect("port free"),
            Input::Accepted { .. } => self.accepted.push(ctx.now().as_nanos()),
            Input::Data { conn, bytes } => self.arrivals.push((ctx.now().as_nanos(), conn, bytes.len())),
            _ => {}
        }
    }
}

const MB: usize = 1_000_000;

/// A `Meter` server and a `Probe` client on one host, joined by a link of 1 ms and
/// 10 MB/s, with `conns` connections established by t=10ms.
fn metered(conns: usize) -> (Sim, ProcId, ProcId, Vec<ConnId>) {
    let mut s = sim(1);
    let h = s.add_host("localhost", LOCALHOST);
    let server = s.add_process(h, "server", Box::new(|| Box::new(Meter::default())));
    let client = s.add_process(h, "client", probe(None, false));
    s.apply(Fault::Start(server)).unwrap();
    s.apply(Fault::Start(client)).unwrap();
    s.apply(Fault::Link {
        a: Endpoint::Process(client),
        b: Endpoint::Process(server),
        config: LinkConfig { latency: Latency::Fixed(Duration::from_millis(1)), loss: 0.0, bandwidth: 10 * MB as u64 },
    })
    .unwrap();
    let ids = (0..conns).map(|_| connect(&mut s, client, 6379)).collect();
    s.run_for(Duration::from_millis(10));
    (s, server, client, ids)
}

fn send_zeros(s: &mut Sim, from: ProcId, conn: ConnId, len: usize) {
    s.with_process::<Probe, _>(from, |_, ctx| ctx.send_with(conn, |b| b.resize(len, 0))).unwrap();
}

fn arrivals(s: &Sim, server: ProcId) -> Vec<(u64, ConnId, usize)> {
    s.process::<Meter>(server).unwrap().arrivals.clone()
}

#[test]
fn a_big_send_takes_its_size_over_the_bandwidth_plus_latency() {
    let (mut s, server, client, conns) = metered(1);
    // SYNs carry no bytes, so they take the latency alone.
    assert_eq!(s.process::<Meter>(server).unwrap().accepted, [1_000_000]);
    send_zeros(&mut s, client, conns[0], 10 * MB);
    s.run_for(Duration::from_secs(2));
    // Sent at 10 ms, on the wire for 10 MB / 10 MB/s = 1 s, then 1 ms of latency.
    assert_eq!(arrivals(&s, server), [(1_011_000_000, conns[0], 10 * MB)]);
}

#[test]
fn back_to_back_sends_on_one_connection_queue_behind_each_other() {
    let (mut s, server, client, conns) = metered(1);
    send_zeros(&mut s, client, conns[0], 10 * MB);
    send_zeros(&mut s, client, conns[0], 10 * MB);
    send_zeros(&mut s, client, conns[0], 1);
    s.run_for(Duration::from_secs(3));
    let at: Vec<u64> = arrivals(&s, server).iter().map(|a| a.0).collect();
    // The second waits for the first to leave; one byte takes 100 ns at 10 MB/s.
    assert_eq!(at, [1_011_000_000, 2_011_000_000, 2_011_000_100]);
}

#[test]
fn connections_on_one_link_do_not_share_bandwidth() {
    let (mut s, server, client, conns) = metered(2);
    for &conn in &conns {
        send_zeros(&mut s, client, conn, 10 * MB);
    }
    s.run_for(Duration::from_secs(3));
    // Each direction of each connection is its own pipe, so both finish after 1 s.
    assert_eq!(arrivals(&s, server), [(1_011_000_000, conns[0], 10 * MB), (1_011_000_000, conns[1], 10 * MB)]);
}

/// Sends numbered messages on every connection it opens and checks that what it
/// receives on each connection is exactly 0, 1, 2, ... with no gap or reordering.
#[derive(Default)]
struct Counter {
    port: u16,
    peers: Vec<u16>,
    sent: std::collections::BTreeMap<ConnId, u64>,
    seen: std::collections::BTreeMap<ConnId, u64>,
    violations: Vec<String>,
    received: u64,
}

impl Process for Counter {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => {
                ctx.listen(self.port).expect("distinct ports");
                ctx.set_timer(Duration::from_millis(20), 0);
            }
            Input::Timer { .. } => {
                if self.sent.len() < 3 && !self.peers.is_empty() {
                    let peer = self.peers[ctx.rng().below(self.peers.len() as u64) as usize];
                    let conn = ctx.connect(SocketAddrV4::new(LOCALHOST, peer));
                    self.sent.insert(conn, 0);
                }
                let conns: Vec<ConnId> = self.sent.keys().copied().collect();
                for conn in conns {
                    let n = self.sent[&conn];
                    ctx.send(conn, &n.to_le_bytes());
                    self.sent.insert(conn, n + 1);
                }
                ctx.set_timer(Duration::from_millis(20), 0);
            }
            Input::Data { conn, bytes } => {
                // A read holds whole 8-byte messages (one or several: a
                // paused or busy reader reads what piled up at once).
                assert_eq!(bytes.len() % 8, 0, "8-byte messages, never split");
                for message in bytes.chunks(8) {
                    self.received += 1;
                    let n = u64::from_le_bytes(message.try_into().expect("8 bytes"));
                    let expected = self.seen.get(&conn).copied().unwrap_or(0);
                    if n != expected {
                        self.violations.push(format!("conn {conn:?}: got {n}, expected {expected}"));
                    }
                    self.seen.insert(conn, n + 1);
                }
            }
            Input::Closed { conn, .. } | Input::ConnectFailed { conn, .. } => {
                self.sent.remove(&conn);
            }
            Input::Accepted { .. } | Input::Connected { .. } | Input::Shutdown => {}
        }
    }
}

fn chaos_run(seed: u64) -> (String, u64, Vec<String>) {
    let mut s = Sim::new(SimConfig {
        seed,
        net: NetConfig {
            same_host: LinkConfig {
                latency: Latency::Uniform { min: Duration::from_micros(10), max: Duration::from_millis(3) },
                loss: 0.05,
                ..LinkConfig::LOOPBACK
            },
            cross_host: LinkConfig {
                latency: Latency::Uniform { min: Duration::from_micros(100), max: Duration::from_millis(5) },
                loss: 0.05,
                ..LinkConfig::BRIDGE
            },
            ..NetConfig::default()
        },
        ..SimConfig::default()
    });
    let hosts: Vec<HostId> = (0..2).map(|i| s.add_host(&format!("h{i}"), Ipv4Addr::new(127, 0, 0, 1 + i))).collect();
    let ports: Vec<u16> = (0..5).map(|i| 7000 + i).collect();
    let procs: Vec<ProcId> = ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            // Every node dials peers on its own host, so host crashes and partitions both bite.
            let host = hosts[i % 2];
            let peers: Vec<u16> =
                ports.iter().enumerate().filter(|(j, _)| j % 2 == i % 2 && *j != i).map(|(_, p)| *p).collect();
            s.add_process(
                host,
                &format!("n{i}"),
                Box::new(move || Box::new(Counter { port, peers: peers.clone(), ..Counter::default() })),
            )
        })
        .collect();
    for p in &procs {
        s.apply(Fault::Start(*p)).unwrap();
    }
    let mut chaos = Rng::stream(seed, "test:chaos");
    let mut violations = Vec::new();
    for _ in 0..40 {
        s.run_for(Duration::from_millis(chaos.below(2000)));
        let p = procs[chaos.below(procs.len() as u64) as usize];
        let fault = match chaos.below(9) {
            0 => Fault::Kill(p),
            1 => Fault::Stop(p),
            2 => Fault::Start(p),
            3 => Fault::Pause(p),
            4 => Fault::Resume(p),
            5 => Fault::CrashHost(hosts[chaos.below(2) as usize]),
            6 => Fault::Partition(vec![vec![Endpoint::Process(p)]]),
            7 => Fault::Heal,
            _ => Fault::Restart(p),
        };
        // Collect before the fault: a killed process takes its findings with it.
        for q in &procs {
            if let Some(c) = s.process::<Counter>(*q) {
                violations.extend(c.violations.iter().cloned());
            }
        }
        // Refused faults (kill a dead node, ...) are part of the chaos.
        let _ = s.apply(fault);
    }
    let received: u64 = procs.iter().filter_map(|p| s.process::<Counter>(*p)).map(|c| c.received).sum();
    (s.trace().hash_hex(), received, violations)
}

#[test]
fn under_random_faults_connections_stay_ordered_and_runs_stay_reproducible() {
    let mut delivered = 0;
    for seed in 0..60 {
        let (hash_a, received, violations) = chaos_run(seed);
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        let (hash_b, ..) = chaos_run(seed);
        assert_eq!(hash_a, hash_b, "seed {seed} is not reproducible");
        delivered += received;
    }
    assert!(delivered > 1000, "the chaos must leave traffic flowing: {delivered}");
}

/// Re-arms a timer every time one fires: `burst` timers 0 ms apart, then one
/// `gap` later, forever (`burst` = `u64::MAX`: a zero-delay loop).
struct Spinner {
    burst: u64,
    gap: Duration,
    fired: u64,
}

impl Process for Spinner {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        if let Input::Start | Input::Timer { .. } = input {
            self.fired += 1;
            let after = if self.fired.is_multiple_of(self.burst) { self.gap } else { Duration::ZERO };
            ctx.set_timer(after, 0);
        }
    }
}

fn spinner(burst: u64, gap: Duration, cap: u64) -> (Sim, ProcId) {
    let mut s =
        Sim::new(SimConfig { seed: 1, record_trace: true, max_events_per_instant: cap, ..SimConfig::default() });
    let h = s.add_host("localhost", LOCALHOST);
    let p = s.add_process(h, "spin", Box::new(move || Box::new(Spinner { burst, gap, fired: 0 })));
    s.schedule(Instant::ZERO + Duration::from_millis(5), Fault::Start(p));
    (s, p)
}

#[test]
fn a_zero_delay_loop_stops_the_kernel_with_a_bug_instead_of_hanging() {
    let (mut s, _) = spinner(u64::MAX, Duration::ZERO, 1_000);
    s.run_for(Duration::from_secs(1));
    let at = Instant::ZERO + Duration::from_millis(5);
    // The start (a fault event) and 999 timers ran at 5 ms; the 1,000th timer crossed the limit.
    assert_eq!(s.bug(), Some(&SimBug::EventStorm { at, events: 1_001 }));
    assert_eq!(s.events_processed(), 1_000);
    assert_eq!(
        s.bug().unwrap().to_string(),
        "simulator bug: 1001 events at virtual time 0.005000s without time advancing (a zero-delay loop?)"
    );
    let last = s.trace().records().last().unwrap();
    assert_eq!((last.at, to_json_line(last, &|_| String::new()).contains("simulator bug: 1001 events")), (at, true));
    // Frozen: nothing runs again, but time can pass so deadline-driven drivers end.
    assert_eq!(s.next_event_at(), None);
    assert!(!s.step());
    assert_eq!(s.now(), Instant::ZERO + Duration::from_secs(1));
    s.run_for(Duration::from_secs(1));
    assert_eq!(s.events_processed(), 1_000);
    assert_eq!(s.busiest_instant(), (at, 1_001), "the dropped event counts");
}

#[test]
fn the_event_limit_counts_one_instant_at_a_time() {
    // 600 events per instant, then 1 ms on: 600 is under the limit of 1,000,
    // and the count starts again at every instant.
    let (mut s, _) = spinner(600, Duration::from_millis(1), 1_000);
    s.run_for(Duration::from_millis(100));
    assert_eq!(s.bug(), None);
    assert!(s.events_processed() > 50_000, "{}", s.events_processed());
    assert_eq!(s.busiest_instant().1, 600);
    assert_eq!(SimConfig::default().max_events_per_instant, DEFAULT_MAX_EVENTS_PER_INSTANT);
}

#[test]
fn running_in_slices_gives_the_same_trace_as_running_at_once() {
    let (mut a, mut b) = (ring(42, 5), ring(42, 5));
    let until = a.now() + Duration::from_secs(30);
    a.run_until(until);
    let mut slices = 0;
    while !b.run_until_or(until, 7) {
        slices += 1;
    }
    assert!(slices >= 2, "{slices} slices: the test must cut the run somewhere");
    assert_eq!((a.now(), a.events_processed()), (b.now(), b.events_processed()));
    assert_eq!(a.trace().records(), b.trace().records());
}

/// A probe that publishes `publish` 5 ms after start, in a sim that records or not.
fn observed(record_trace: bool, publish: impl FnOnce(&mut Ctx<'_>)) -> Sim {
    let mut s = Sim::new(SimConfig { seed: 3, record_trace, ..SimConfig::default() });
    let h = s.add_host("localhost", LOCALHOST);
    let p = s.add_process(h, "node", probe(None, false));
    s.apply(Fault::Start(p)).unwrap();
    s.run_for(Duration::from_millis(5));
    s.with_process::<Probe, _>(p, |_, ctx| publish(ctx)).unwrap();
    s.run_for(Duration::from_millis(5));
    s
}

#[test]
fn observations_are_kept_with_time_and_process_and_only_roles_are_hashed() {
    let quiet = observed(true, |_| {});
    let epoch = Observation::Epoch { current: 7, config: 3 };
    let events = Observation::Event { name: "+sdown".into(), detail: "master m 10.0.0.1 6379".into() };
    let published = observed(true, |ctx| {
        ctx.observe(epoch.clone());
        ctx.observe(events.clone());
    });
    let p = published.proc_by_name("node").unwrap();
    let seen: Vec<_> = published.observations().collect();
    let at = Instant::from_nanos(5_000_000);
    assert_eq!(seen, vec![(at, p, &epoch), (at, p, &events)]);
    assert_eq!(published.trace().hash_hex(), quiet.trace().hash_hex(), "observations are not hashed");
    assert_eq!(published.trace().len(), quiet.trace().len(), "nor counted");
    let lines: Vec<String> =
        published.trace().records().iter().map(|r| to_json_line(r, &|p| published.proc_name(p).to_owned())).collect();
    assert!(
        lines.contains(
            &r#"{"t_ns":5000000,"ev":"observe","node":"node","what":"epoch","current":7,"config":3}"#.to_owned()
        ),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains(r#""what":"event","name":"+sdown","detail":"master m 10.0.0.1 6379""#)));

    // Without recording nothing is kept, and the hash is the same.
    let unrecorded = observed(false, |ctx| ctx.observe(epoch.clone()));
    assert_eq!(unrecorded.observations().count(), 0);
    assert_eq!(unrecorded.trace().hash_hex(), quiet.trace().hash_hex());

    // A role hashes exactly as the `role` note it replaced, recorded or not.
    let note = observed(false, |ctx| ctx.note("role", "slave"));
    let role = || Observation::Role { role: Role::Replica, master: Some("10.0.0.1:6379".into()) };
    for record in [false, true] {
        let s = observed(record, |ctx| ctx.observe(role()));
        assert_eq!(s.trace().hash_hex(), note.trace().hash_hex());
        assert_eq!(s.trace().len(), note.trace().len());
        assert_ne!(s.trace().hash_hex(), quiet.trace().hash_hex());
    }
    let master = observed(false, |ctx| ctx.observe(Observation::Role { role: Role::Master, master: None }));
    assert_eq!(master.trace().hash_hex(), observed(false, |ctx| ctx.note("role", "master")).trace().hash_hex());
}
