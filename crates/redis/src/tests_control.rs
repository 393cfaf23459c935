//! MODULE, ACL, SLOWLOG, LATENCY and BGREWRITEAOF against a transcript of a
//! real Redis 7.0.15 (one redis-cli connection, `--no-raw`; LATENCY GRAPH's
//! error read off the wire, as redis-cli prints it raw), and what the slow
//! log and the latency histogram record on the virtual clock.

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_control_transcript.txt");

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

#[test]
fn latency_doctor_says_monitoring_is_off_as_7_0_15_does() {
    let mut l = lab();
    // The bytes 7.0.15 sent: `$288`, this text and a newline.
    let want = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
    assert_eq!(want.len(), 288);
    assert_eq!(l.cmd("LATENCY DOCTOR"), resp::quote(want.as_bytes()));
}

/// The latency monitor as a real 7.0.15 keeps it (measured with redis-cli,
/// `enable-debug-command yes`): DEBUG SLEEP past `latency-monitor-threshold`
/// is a `command` sample stamped when it ends, one per second (its worst);
/// LATEST, HISTORY, GRAPH, DOCTOR, RESET.
#[test]
fn the_latency_monitor_records_slow_commands() {
    let mut config = crate::config::Config::defaults(6379);
    config.enable_debug_command = "yes".to_owned();
    let mut l = crate::tests::Lab::new(config);
    // DEBUG SLEEP answers once the sleep is over.
    let sleep = |l: &mut crate::tests::Lab, secs: &str| {
        assert_eq!(l.raw(format!("DEBUG SLEEP {secs}\r\n").as_bytes()), Vec::<String>::new());
        l.advance_ms(300);
    };
    assert_eq!(l.cmd("LATENCY GRAPH command"), "(error) ERR No samples available for event 'command'");
    sleep(&mut l, "0.2");
    assert_eq!(l.cmd("LATENCY LATEST"), "(empty array)", "the monitor is off (threshold 0)");
    assert_eq!(l.cmd("CONFIG SET latency-monitor-threshold 100"), "OK");
    assert!(l.cmd("LATENCY DOCTOR").starts_with("\"Dave, no latency spike was observed"));
    sleep(&mut l, "0.05");
    sleep(&mut l, "0.2");
    l.advance_ms(1000);
    sleep(&mut l, "0.15");
    let latest = l.cmd("LATENCY LATEST");
    let lines: Vec<&str> = latest.lines().map(str::trim_start).collect();
    assert_eq!(
        (lines[0], lines[2], lines[3]),
        ("1) 1) \"command\"", "3) (integer) 150", "4) (integer) 200"),
        "{latest}"
    );
    let history = l.cmd("LATENCY HISTORY command");
    assert_eq!(history.matches("(integer) 200").count() + history.matches("(integer) 150").count(), 2, "{history}");
    assert!(
        l.cmd("LATENCY GRAPH command").starts_with("\"command - high 200 ms, low 150 ms (all time high 200 ms)\\n----")
    );
    let doctor = l.cmd("LATENCY DOCTOR");
    assert!(doctor.contains("1. command: 2 latency spikes (average 175ms, mean deviation 25ms"), "{doctor}");
    assert_eq!(l.cmd("LATENCY RESET"), "(integer) 1");
    assert_eq!(l.cmd("LATENCY HISTORY command"), "(empty array)");
}

#[test]
fn the_slow_log_keeps_the_newest_entries_with_args_peer_and_name() {
    let mut l = lab();
    for cmd in
        ["CONFIG SET slowlog-log-slower-than 0", "CONFIG SET slowlog-max-len 3", "CLIENT SETNAME slowpoke", "SET a 1"]
    {
        assert_eq!(l.cmd(cmd), "OK");
    }
    // Measured: after these four, with max-len 3, LEN is 3 and GET 2 shows SLOWLOG LEN, then SET.
    assert_eq!(l.cmd("SLOWLOG LEN"), "(integer) 3");
    let got = l.cmd("SLOWLOG GET 2");
    let lines: Vec<&str> = got.lines().map(str::trim_start).collect();
    assert_eq!(lines[0], "1) 1) (integer) 4");
    assert_eq!(lines[2], "3) (integer) 0", "no virtual time passes in a command");
    assert_eq!(&lines[3..5], ["4) 1) \"SLOWLOG\"", "2) \"LEN\""]);
    assert!(lines[5].starts_with("5) \"127.0.0.1:") && lines[6] == "6) \"slowpoke\"", "{got}");
    assert_eq!(lines[7], "2) 1) (integer) 3");
    assert_eq!(&lines[10..13], ["4) 1) \"SET\"", "2) \"a\"", "3) \"1\""]);
    let long = format!("SET {} {}", "k".repeat(130), (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(" "));
    l.cmd(&long);
    let entry = l.cmd("SLOWLOG GET 1");
    assert!(entry.contains(&format!("\"{}... (2 more bytes)\"", "k".repeat(128))), "{entry}");
    assert!(entry.contains("32) \"... (11 more arguments)\""), "{entry}");
    assert_eq!(l.cmd("SLOWLOG RESET"), "OK");
    assert_eq!(l.cmd("SLOWLOG LEN"), "(integer) 1", "SLOWLOG RESET itself is logged after it ran");
}

#[test]
fn latency_histogram_counts_calls_per_command_and_subcommand() {
    let mut l = lab();
    for _ in 0..3 {
        l.cmd("PING");
    }
    l.cmd("CLIENT ID");
    l.cmd("SET a 1");
    assert_eq!(
        l.cmd("LATENCY HISTOGRAM ping nosuch client"),
        "1) \"ping\"\n2) 1) \"calls\"\n   2) (integer) 3\n   3) \"histogram_usec\"\n   4) 1) (integer) 1\n      2) (integer) 3\n\
         3) \"client|id\"\n4) 1) \"calls\"\n   2) (integer) 1\n   3) \"histogram_usec\"\n   4) 1) (integer) 1\n      2) (integer) 1"
    );
    assert!(l.cmd("LATENCY HISTOGRAM").contains("\"set\""));
}

#[test]
fn bgrewriteaof_with_aof_off_answers_as_7_0_15() {
    let mut l = lab();
    l.cmd("SET a 1");
    // Measured with appendonly no: the reply, then a base file and a manifest
    // naming it; a second one while the first one's child runs is refused.
    assert_eq!(l.cmd("BGREWRITEAOF"), "Background append only file rewriting started");
    assert_eq!(l.cmd("BGREWRITEAOF"), "(error) ERR Background append only file rewriting already in progress");
    assert_eq!(l.cmd("CONFIG GET appendonly"), "1) \"appendonly\"\n2) \"no\"");
    l.advance_ms(300);
    assert_eq!(l.cmd("BGREWRITEAOF"), "Background append only file rewriting started");
}

/// A server on 6379 and two raw connections to it.
fn two_clients() -> (sim::Sim, sim::ProcId, sim::ProcId) {
    use crate::tests::Raw;
    use sim::{Fault, Sim, SimConfig};
    use std::net::Ipv4Addr;
    let mut sim = Sim::new(SimConfig { seed: 3, ..SimConfig::default() });
    let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
    let config = crate::config::Config::defaults(6379);
    let server = sim.add_process(host, "6379", Box::new(move || Box::new(crate::server::Server::new(config.clone()))));
    let a = sim.add_process(host, "a", Box::new(|| Box::new(Raw::default())));
    let b = sim.add_process(host, "b", Box::new(|| Box::new(Raw::default())));
    sim.apply(Fault::Start(server)).unwrap();
    // The clients connect once the server listens (its start-up time is over).
    sim.run_for(crate::tests::STARTED);
    for p in [a, b] {
        sim.apply(Fault::Start(p)).unwrap();
    }
    sim.run_for(std::time::Duration::from_millis(1));
    (sim, a, b)
}

fn send(sim: &mut sim::Sim, p: sim::ProcId, line: &str) -> Vec<String> {
    use crate::tests::Raw;
    let mut bytes = Vec::new();
    resp::encode_command(&resp::split_args(line.as_bytes()).unwrap(), &mut bytes);
    let conn = sim.process::<Raw>(p).unwrap().conn.unwrap();
    let before = sim.process::<Raw>(p).unwrap().replies.len();
    sim.with_process::<Raw, _>(p, |_, ctx| ctx.send(conn, &bytes));
    sim.run_for(std::time::Duration::from_millis(1));
    sim.process::<Raw>(p).unwrap().replies[before..].to_vec()
}

#[test]
fn monitor_shows_what_ran_in_redis_line_format() {
    let (mut sim, mon, other) = two_clients();
    assert_eq!(send(&mut sim, mon, "MONITOR"), ["OK"]);
    for line in ["SET \"a b\" \"x\\\"y\"", "SELECT 3", "GET k", "NOSUCH x", "CONFIG GET port", "AUTH foo"] {
        send(&mut sim, other, line);
    }
    let shown = sim.process::<crate::tests::Raw>(mon).unwrap().replies[1..].to_vec();
    // Measured on 7.0.15: `<s>.<µs> [db ip:port] "arg" ...`; refused and admin commands not shown.
    let tail: Vec<&str> = shown.iter().map(|l| l.split_once(" [").unwrap().1).collect();
    let port = tail[0].split(['[', ':', ']']).nth(1).unwrap().to_owned();
    assert_eq!(
        tail,
        [
            format!("0 127.0.0.1:{port}] \"SET\" \"a b\" \"x\\\"y\""),
            format!("3 127.0.0.1:{port}] \"SELECT\" \"3\""),
            format!("3 127.0.0.1:{port}] \"GET\" \"k\""),
            format!("3 127.0.0.1:{port}] \"AUTH\" \"(redacted)\""),
        ]
    );
    let stamp = shown[0].split_once(' ').unwrap().0;
    let (secs, micros) = stamp.split_once('.').unwrap();
    assert!(secs.parse::<i64>().unwrap() > 1_700_000_000 && micros.len() == 6, "{stamp}");
    assert_eq!(send(&mut sim, other, "MULTI"), ["OK"]);
    send(&mut sim, other, "MONITOR");
    let replies = send(&mut sim, other, "EXEC");
    assert_eq!(replies.last().unwrap(), "1) (error) ERR MONITOR isn't allowed for DENY BLOCKING client");
}

/// Where 7.0.15 sends a RESP3 set or double, as redis-cli -3 --no-raw printed
/// the real server's replies: CLIENT TRACKINGINFO's flags and COMMAND
/// GETKEYSANDFLAGS's flags are sets, MEMORY STATS's ratios doubles.
#[test]
fn resp3_sets_and_doubles_where_redis_sends_them() {
    let mut l = lab();
    assert!(l.cmd("HELLO 3").starts_with("1# \"server\" => \"redis\""));
    assert_eq!(
        l.cmd("CLIENT TRACKINGINFO"),
        "1# \"flags\" => 1~ \"off\"\n2# \"redirect\" => (integer) -1\n3# \"prefixes\" => (empty array)"
    );
    assert_eq!(l.cmd("COMMAND GETKEYSANDFLAGS SET a b"), "1) 1) \"a\"\n   2) 1~ OW\n      2~ update");
    let stats = l.cmd("MEMORY STATS");
    for field in ["dataset.percentage", "peak.percentage", "fragmentation"] {
        let line = stats.lines().find(|l| l.contains(&format!("\"{field}\" => "))).expect(field);
        assert!(line.contains(" => (double) "), "{line}");
    }
}
