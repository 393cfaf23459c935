//! CPU-time tests ([`Ctx::spend`]): a server that spends per request answers
//! a burst of pipelined requests one cost apart, not all at once; a paused
//! one works through its queue after SIGCONT in the time the queue costs;
//! its timers fire late while it is busy; and a process that spends nothing
//! is served as before.

use crate::*;
use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const PORT: u16 = 7100;
const COST: Duration = Duration::from_micros(100);

#[derive(Default)]
struct Seen {
    /// When each reply byte reached the client.
    replies: Vec<Instant>,
    /// When the server's timer fired.
    timer_at: Option<Instant>,
}

/// Answers each byte it reads with one byte, spending `cost` per byte first.
struct Server {
    cost: Duration,
    seen: Rc<RefCell<Seen>>,
}

impl Process for Server {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(PORT).expect("free port"),
            Input::Data { conn, bytes } => {
                for b in bytes {
                    ctx.spend(self.cost);
                    ctx.send(conn, &[*b]);
                }
            }
            Input::Timer { .. } => self.seen.borrow_mut().timer_at = Some(ctx.now()),
            _ => {}
        }
    }
}

/// Sends `n` one-byte requests, one packet each, as soon as it is connected.
struct Client {
    n: usize,
    seen: Rc<RefCell<Seen>>,
}

impl Process for Client {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                ctx.connect(SocketAddrV4::new(LOCALHOST, PORT));
            }
            Input::Connected { conn } => {
                for i in 0..self.n {
                    ctx.send(conn, &[i as u8]);
                }
            }
            Input::Data { bytes, .. } => {
                let now = ctx.now();
                self.seen.borrow_mut().replies.extend(bytes.iter().map(|_| now));
            }
            _ => {}
        }
    }
}

fn world(cost: Duration, n: usize) -> (Sim, ProcId, ProcId, Rc<RefCell<Seen>>) {
    let mut sim = Sim::new(SimConfig { seed: 7, ..SimConfig::default() });
    let host = sim.add_host("h", LOCALHOST);
    let seen = Rc::new(RefCell::new(Seen::default()));
    let s = seen.clone();
    let server = sim.add_process(host, "server", Box::new(move || Box::new(Server { cost, seen: s.clone() })));
    let s = seen.clone();
    let client = sim.add_process(host, "client", Box::new(move || Box::new(Client { n, seen: s.clone() })));
    sim.apply(Fault::Start(server)).unwrap();
    (sim, server, client, seen)
}

fn gaps(replies: &[Instant]) -> Vec<Duration> {
    replies.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn a_burst_of_requests_is_answered_one_cost_apart() {
    let (mut sim, _, client, seen) = world(COST, 20);
    sim.apply(Fault::Start(client)).unwrap();
    sim.run_for(Duration::from_secs(1));
    let replies = seen.borrow().replies.clone();
    assert_eq!(replies.len(), 20);
    // The whole burst takes 20 costs of the server's CPU, not zero time.
    assert!(replies[19] - replies[0] >= COST * 19, "burst answered in {:?}", replies[19] - replies[0]);
    assert!(gaps(&replies).iter().all(|g| *g >= COST - Duration::from_micros(1)), "{:?}", gaps(&replies));
}

#[test]
fn without_costs_the_burst_takes_no_server_time() {
    let (mut sim, _, client, seen) = world(Duration::ZERO, 20);
    sim.apply(Fault::Start(client)).unwrap();
    sim.run_for(Duration::from_secs(1));
    let replies = seen.borrow().replies.clone();
    assert_eq!(replies.len(), 20);
    assert!(replies[19] - replies[0] < COST, "burst spread over {:?}", replies[19] - replies[0]);
}

#[test]
fn a_resumed_server_works_through_its_queue_in_the_time_it_costs() {
    let (mut sim, server, client, seen) = world(COST, 30);
    sim.apply(Fault::Pause(server)).unwrap();
    sim.apply(Fault::Start(client)).unwrap();
    sim.run_for(Duration::from_millis(100));
    assert!(seen.borrow().replies.is_empty(), "a paused server answered");
    let resumed = sim.now();
    sim.apply(Fault::Resume(server)).unwrap();
    sim.run_for(Duration::from_millis(100));
    let replies = seen.borrow().replies.clone();
    assert_eq!(replies.len(), 30);
    let last = *replies.last().unwrap() - resumed;
    assert!(last >= COST * 30, "the queue of 30 was worked through in {last:?}");
    assert!(last < COST * 30 + Duration::from_millis(1), "took {last:?}");
}

#[test]
fn a_timer_due_while_the_cpu_is_taken_fires_when_it_is_free() {
    let (mut sim, server, _, seen) = world(COST, 0);
    let start = sim.now();
    sim.with_process::<Server, _>(server, |_, ctx| {
        ctx.set_timer(Duration::from_micros(10), 0);
        ctx.spend(Duration::from_millis(5));
    });
    sim.run_for(Duration::from_millis(50));
    let fired = seen.borrow().timer_at.expect("timer fired") - start;
    assert_eq!(fired, Duration::from_millis(5), "a timer armed before the spend fires once the CPU is free");
    let start = sim.now();
    sim.with_process::<Server, _>(server, |_, ctx| {
        ctx.spend(Duration::from_millis(5));
        ctx.set_timer(Duration::from_millis(1), 0);
    });
    sim.run_for(Duration::from_millis(50));
    let fired = seen.borrow().timer_at.expect("timer fired") - start;
    assert_eq!(fired, Duration::from_millis(6), "a timer armed after the spend counts from its end");
}

#[test]
fn costs_keep_the_run_deterministic() {
    let run = || {
        let (mut sim, server, client, _) = world(COST, 50);
        sim.apply(Fault::Start(client)).unwrap();
        sim.run_for(Duration::from_millis(2));
        sim.apply(Fault::Pause(server)).unwrap();
        sim.run_for(Duration::from_millis(2));
        sim.apply(Fault::Resume(server)).unwrap();
        sim.run_for(Duration::from_millis(50));
        sim.trace().hash_hex()
    };
    assert_eq!(run(), run());
}
