//! Graceful shutdown (issue 21, item 2): SIGTERM and SHUTDOWN wait for the
//! replicas' acknowledgement, up to `shutdown-timeout`, with Redis 7.0.15's
//! replies and log lines (checked against the real server on 2026-12-06).

use crate::tests_repl::Cluster;
use redis_client::cli::RedisCli;
use sim::{Fault, ProcState};
use std::time::Duration;

const NO_SAVE: &str = "save \"\"\n";

/// A master on 6379 and its replica on 6380, synced, one write replicated
/// but not yet acknowledged (the replica acks once a second, at x.001 s).
fn pair(master_conf: &str) -> (Cluster, sim::ProcId, sim::ProcId) {
    let mut c = Cluster::new(21);
    let master = c.server(6379, &format!("{NO_SAVE}{master_conf}"));
    let replica = c.server(6380, &format!("{NO_SAVE}replicaof 127.0.0.1 6379\n"));
    c.sim.run_for(Duration::from_millis(7300));
    assert_eq!(c.cli(6379, "set a 1"), "OK");
    (c, master, replica)
}

/// The master's log from its first shutdown line on.
fn shutdown_lines(c: &Cluster) -> Vec<String> {
    let log = c.log(6379);
    let first = log.iter().position(|l| l == "User requested shutdown...").expect("a shutdown began");
    log[first..].to_vec()
}

/// Starts a redis-cli that may block; its printed output once it has one.
fn cli_in_background(c: &mut Cluster, line: &str) -> sim::ProcId {
    let before = c.sim.procs().count();
    assert_eq!(c.try_cli(6379, None, line), None, "{line} blocks");
    c.sim.procs().nth(before).expect("the client just added")
}

fn output(c: &Cluster, cli: sim::ProcId) -> Option<String> {
    c.sim.process::<RedisCli>(cli).and_then(|p| p.output.clone())
}

#[test]
fn sigterm_waits_for_the_replica_to_acknowledge_then_exits() {
    let (mut c, master, replica) = pair("");
    c.sim.apply(Fault::Stop(master)).unwrap();
    let stopped = c.sim.now();
    assert_eq!(c.sim.proc_state(master), ProcState::Running, "it shuts down from its next cron");
    c.sim.run_for(Duration::from_millis(150));
    assert_eq!(c.sim.proc_state(master), ProcState::Running, "waiting for the replica's ACK");
    assert_eq!(c.log(6379).last().unwrap(), "Waiting for replicas before shutting down.");
    let mut waited = Duration::ZERO;
    while c.sim.proc_state(master) != ProcState::Down && waited < Duration::from_secs(3) {
        c.sim.run_for(Duration::from_millis(10));
        waited += Duration::from_millis(10);
    }
    let took = c.sim.now() - stopped;
    // The GETACK's own ACK leaves out the GETACK; the replica's next 1 s ACK covers it.
    assert!(took > Duration::from_millis(100) && took <= Duration::from_millis(1300), "exited after {took:?}");
    assert_eq!(
        shutdown_lines(&c),
        [
            "User requested shutdown...",
            "Waiting for replicas before shutting down.",
            "1 of 1 replicas are in sync when shutting down.",
            "Redis is now ready to exit, bye bye...",
        ]
    );
    let replica_offset = c.sim.process::<crate::server::Server>(replica).unwrap().repl_offset();
    assert!(replica_offset > 0);
    assert_eq!(c.cli(6380, "get a"), "\"1\"");
}

#[test]
fn writes_are_held_while_waiting_and_a_lagging_replica_is_left_after_the_timeout() {
    let (mut c, master, replica) = pair("shutdown-timeout 2\n");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    c.sim.apply(Fault::Stop(master)).unwrap();
    c.sim.run_for(Duration::from_millis(200));
    let held = cli_in_background(&mut c, "set b 2");
    assert_eq!(c.cli(6379, "get a"), "\"1\"", "reads are served while writes wait");
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.sim.proc_state(master), ProcState::Down);
    assert_eq!(output(&c, held).as_deref(), Some("Error: Server closed the connection"), "never run");
    // 87 bytes: the SELECT and SET it never acknowledged, and the GETACK.
    assert_eq!(
        shutdown_lines(&c)[2..],
        [
            "Lagging replica 127.0.0.1:6380 reported offset 87 behind master, lag=2, state=online.",
            "0 of 1 replicas are in sync when shutting down.",
            "Redis is now ready to exit, bye bye...",
        ]
    );
}

#[test]
fn shutdown_blocks_its_client_and_abort_releases_it_and_the_held_writes() {
    let (mut c, master, replica) = pair("");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    let shutdown = cli_in_background(&mut c, "shutdown");
    let held = cli_in_background(&mut c, "set b 2");
    assert_eq!(c.cli(6379, "shutdown abort now"), "(error) ERR syntax error");
    assert_eq!(c.cli(6379, "shutdown abort"), "OK");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(output(&c, shutdown).as_deref(), Some("(error) ERR Errors trying to SHUTDOWN. Check logs."));
    assert_eq!(output(&c, held).as_deref(), Some("OK"), "the held write runs once the pause ends");
    assert_eq!(c.cli(6379, "shutdown abort"), "(error) ERR No shutdown in progress.");
    assert_eq!(c.sim.proc_state(master), ProcState::Running);
    assert_eq!(
        shutdown_lines(&c),
        ["User requested shutdown...", "Waiting for replicas before shutting down.", "Shutdown manually aborted."]
    );
}

#[test]
fn shutdown_now_and_shutdown_on_sigterm_now_do_not_wait() {
    let (mut c, master, replica) = pair("");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    assert_eq!(c.cli(6379, "shutdown save nosave"), "(error) ERR syntax error");
    assert_eq!(c.cli(6379, "shutdown nosave please"), "(error) ERR syntax error");
    assert_eq!(c.cli(6379, "config set shutdown-on-sigterm \"now save\""), "OK");
    c.sim.apply(Fault::Stop(master)).unwrap();
    c.sim.run_for(Duration::from_millis(101));
    assert_eq!(c.sim.proc_state(master), ProcState::Down);
    let lines = shutdown_lines(&c);
    assert!(lines[1].starts_with("Lagging replica 127.0.0.1:6380 reported offset "), "{lines:?}");
    assert_eq!(
        lines[2..],
        [
            "0 of 1 replicas are in sync when shutting down.",
            "Saving the final RDB snapshot before exiting.",
            "DB saved on disk",
            "Redis is now ready to exit, bye bye...",
        ],
        "SAVE from shutdown-on-sigterm saves without save points"
    );
}

#[test]
fn a_server_without_replicas_exits_on_its_next_cron() {
    let mut c = Cluster::new(3);
    let p = c.server(6379, NO_SAVE);
    c.sim.run_for(Duration::from_millis(50));
    assert_eq!(c.sim.stop_within(p, Duration::from_secs(10)), Ok(true));
    assert!(c.sim.now() <= sim::Instant::ZERO + Duration::from_millis(151), "one cron period at most");
    assert_eq!(shutdown_lines(&c), ["User requested shutdown...", "Redis is now ready to exit, bye bye..."]);
    let signal = c.sim.log_lines(p).iter().rev().nth(2).unwrap().clone();
    assert!(signal.ends_with(":signal-handler (1767225600) Received SIGTERM scheduling shutdown..."), "{signal}");
}

#[test]
fn a_client_blocked_in_shutdown_runs_nothing_more_until_abort() {
    let (mut c, master, replica) = pair("");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    let host = c.sim.host_of(master);
    let raw = c.sim.add_process(host, "raw", Box::new(|| Box::new(crate::tests::Raw::default())));
    c.sim.apply(Fault::Start(raw)).unwrap();
    c.sim.run_for(Duration::from_millis(1));
    let conn = c.sim.process::<crate::tests::Raw>(raw).unwrap().conn.unwrap();
    let pipeline = b"*1\r\n$8\r\nSHUTDOWN\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n";
    c.sim.with_process::<crate::tests::Raw, _>(raw, |_, ctx| ctx.send(conn, pipeline));
    c.sim.run_for(Duration::from_millis(50));
    assert_eq!(c.cli(6379, "exists x"), "(integer) 0", "the SET behind the SHUTDOWN waits");
    assert_eq!(c.cli(6379, "shutdown abort"), "OK");
    c.sim.run_for(Duration::from_millis(1));
    let replies = c.sim.process::<crate::tests::Raw>(raw).unwrap().replies.clone();
    assert_eq!(replies, ["(error) ERR Errors trying to SHUTDOWN. Check logs.", "OK"]);
    assert_eq!(c.cli(6379, "exists x"), "(integer) 1");
}
