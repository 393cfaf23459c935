//! Deferred exit: a process whose SIGTERM handler calls `Ctx::defer_exit`
//! runs on (a Redis master waiting for its replicas) until it exits by itself;
//! SIGKILL stays immediate and a restart waits for the exit.

use crate::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const LINGER: u64 = 1;

/// Echoes data if it listens; on SIGTERM it lingers 300 ms before exiting.
#[derive(Default)]
struct Lingerer {
    listen: Option<u16>,
    seen: Vec<String>,
}

impl Process for Lingerer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        let t = ctx.now().as_nanos() as f64 / 1e6;
        match input {
            Input::Start => {
                if let Some(port) = self.listen {
                    ctx.listen(port).expect("port free");
                }
                self.seen.push(format!("t={t} start"));
            }
            Input::Shutdown => {
                ctx.defer_exit();
                ctx.set_timer(Duration::from_millis(300), LINGER);
                self.seen.push(format!("t={t} sigterm"));
            }
            Input::Timer { tag: LINGER, .. } => {
                self.seen.push(format!("t={t} exit"));
                ctx.exit();
            }
            Input::Data { conn, bytes } => {
                self.seen.push(format!("t={t} data {}", String::from_utf8_lossy(bytes)));
                if self.listen.is_some() {
                    ctx.send(conn, bytes);
                }
            }
            Input::Closed { reason, .. } => self.seen.push(format!("t={t} closed {reason:?}")),
            Input::Accepted { .. }
            | Input::Connected { .. }
            | Input::ConnectFailed { .. }
            | Input::Timer { .. }
            | Input::Writable { .. } => {}
        }
    }
}

fn lingerer(listen: Option<u16>) -> Factory {
    Box::new(move || Box::new(Lingerer { listen, ..Lingerer::default() }))
}

/// A lingering echo server on 6379 and a connected client, 1 ms in.
fn setup() -> (Sim, ProcId, ProcId, ConnId) {
    let mut s = Sim::new(SimConfig { seed: 1, record_trace: true, ..SimConfig::default() });
    let h = s.add_host("localhost", LOCALHOST);
    let server = s.add_process(h, "server", lingerer(Some(6379)));
    let client = s.add_process(h, "client", lingerer(None));
    s.apply(Fault::Start(server)).unwrap();
    s.apply(Fault::Start(client)).unwrap();
    let to = SocketAddrV4::new(LOCALHOST, 6379);
    let conn = s.with_process::<Lingerer, _>(client, |_, ctx| ctx.connect(to)).unwrap();
    s.run_for(Duration::from_millis(1));
    (s, server, client, conn)
}

fn seen(s: &Sim, p: ProcId) -> Vec<String> {
    s.process::<Lingerer>(p).map(|l| l.seen.clone()).unwrap_or_default()
}

fn send(s: &mut Sim, from: ProcId, conn: ConnId, text: &str) {
    s.with_process::<Lingerer, _>(from, |_, ctx| ctx.send(conn, text.as_bytes())).unwrap();
}

#[test]
fn a_deferred_exit_keeps_the_process_serving_until_it_exits_by_itself() {
    let (mut s, server, client, conn) = setup();
    s.apply(Fault::Stop(server)).unwrap();
    assert_eq!(s.proc_state(server), ProcState::Running, "SIGTERM alone does not end it");
    send(&mut s, client, conn, "still there?");
    s.run_for(Duration::from_millis(200));
    assert_eq!(seen(&s, server)[1..], ["t=1 sigterm", "t=1.050006 data still there?"]);
    assert_eq!(seen(&s, client).last().unwrap(), "t=1.100012 data still there?");
    s.run_for(Duration::from_millis(200));
    assert_eq!(s.proc_state(server), ProcState::Down);
    assert_eq!(seen(&s, client).last().unwrap(), "t=301.05 closed PeerClosed", "FIN when it exits");
}

#[test]
fn sigkill_ends_a_process_that_is_finishing_its_shutdown_at_once() {
    let (mut s, server, client, _) = setup();
    s.apply(Fault::Stop(server)).unwrap();
    s.run_for(Duration::from_millis(100));
    s.apply(Fault::Kill(server)).unwrap();
    assert_eq!(s.proc_state(server), ProcState::Down);
    s.run_for(Duration::from_millis(1));
    assert_eq!(seen(&s, client).last().unwrap(), "t=101.05 closed Reset");
}

#[test]
fn a_second_sigterm_reaches_a_process_already_shutting_down() {
    let (mut s, server, _, _) = setup();
    s.apply(Fault::Stop(server)).unwrap();
    s.run_for(Duration::from_millis(100));
    s.apply(Fault::Stop(server)).unwrap();
    s.run_for(Duration::from_millis(150));
    assert_eq!(seen(&s, server)[1..], ["t=1 sigterm", "t=101 sigterm"]);
    s.run_for(Duration::from_millis(100));
    assert_eq!(s.proc_state(server), ProcState::Down, "the first shutdown's exit ends it");
}

#[test]
fn a_restart_waits_for_the_exit_then_starts_the_process_again() {
    let (mut s, server, _, _) = setup();
    s.apply(Fault::Restart(server)).unwrap();
    assert_eq!(s.incarnation(server), 1, "still the first process while it shuts down");
    s.run_for(Duration::from_millis(310));
    assert_eq!(s.proc_state(server), ProcState::Running);
    assert_eq!(s.incarnation(server), 2);
    assert_eq!(seen(&s, server), ["t=301 start"], "a fresh process");
}

#[test]
fn sigterm_continues_a_stopped_process_that_lingers_with_its_queued_input() {
    let (mut s, server, client, conn) = setup();
    s.apply(Fault::Pause(server)).unwrap();
    send(&mut s, client, conn, "queued");
    s.run_for(Duration::from_millis(50));
    s.apply(Fault::Stop(server)).unwrap();
    s.run_for(Duration::from_millis(1));
    assert_eq!(seen(&s, server)[1..], ["t=51 sigterm", "t=51 data queued"]);
}

#[test]
fn stop_within_waits_for_the_exit_and_kills_after_the_grace_period() {
    let (mut s, server, _, _) = setup();
    assert_eq!(s.stop_within(server, Duration::from_secs(10)), Ok(true));
    assert_eq!(s.now().as_nanos(), 301_000_000, "the clock stops at the exit, not the deadline");
    let (mut s, server, client, _) = setup();
    assert_eq!(s.stop_within(server, Duration::from_millis(100)), Ok(false));
    assert_eq!(s.proc_state(server), ProcState::Down);
    s.run_for(Duration::from_millis(1));
    assert_eq!(seen(&s, client).last().unwrap(), "t=101.05 closed Reset", "SIGKILL after the grace period");
}
