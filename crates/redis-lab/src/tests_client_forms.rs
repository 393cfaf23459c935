//! The client forms of issue 20 run as a scenario would run them: raw bytes
//! (`redis-raw`), redis-cli writing to a pipe (`stdout: pipe`), background
//! clients (`redis-cli-background`, `await`, `stop-client`), and what the
//! report keeps of them (captures, notes, unchecked error replies); and the
//! diagnostics each new form gives for bad input.

use report::{Outcome, RunReport, Verdict};
use scenario::Registry;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(crate::RedisKind));
    registry
}

/// A scenario with a master 6379 and its replica 6380, then `steps`.
fn source(steps: &str) -> String {
    format!(
        "name: t\nseed: 1\ntopology:\n  nodes:\n    - {{name: \"6379\", kind: redis, port: 6379, config: \"port 6379\"}}\n    - {{name: \"6380\", kind: redis, port: 6380, config: \"port 6380\\nreplicaof 127.0.0.1 6379\"}}\nsteps:\n{steps}"
    )
}

/// The first step line is line 8 of [`source`].
const FIRST_STEP_LINE: usize = 8;

fn errors(steps: &str) -> String {
    let source = source(steps);
    match scenario::parse_scenario("s.yaml", &source, &registry()) {
        Ok(_) => String::new(),
        Err(d) => d.render("s.yaml", &source),
    }
}

fn run(steps: &str) -> RunReport {
    let source = source(steps);
    let registry = registry();
    let s = scenario::parse_scenario("s.yaml", &source, &registry)
        .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", &source)));
    scenario::run(s, None, &registry, String::new()).0
}

#[test]
fn raw_bytes_get_the_raw_reply_and_a_protocol_error_closes_the_connection() {
    let r = run(r#"  - redis-raw: {node: "6379", send: 'PING\r\n', expect: '+PONG\r\n', capture: pong}
  - redis-raw: {node: "6379", send: '*1\r\n$x\r\n', expect-closed: true}
  - redis-raw: {node: "6379", send: 'set a "b\r\n', expect: '-ERR Protocol error: unbalanced quotes in request\r\n'}
  - redis-raw: {node: "6379", send: '*1\r\n$4\r\nPI', read-for: 1s, expect: '', expect-closed: false}
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    assert_eq!(r.steps[0].detail, "\"+PONG\\r\\n\"");
    assert_eq!(r.captures["pong"], "+PONG\\r\\n", "captured as shown, with escapes");
    assert_eq!(r.steps[1].detail, "\"-ERR Protocol error: invalid bulk length\\r\\n\" (closed by the node)");
    // Half a request: no reply, no close; the step reads its whole second
    // (and ends at the next 10 ms poll).
    assert_eq!(r.steps[3].finished_ns - r.steps[3].started_ns, 1_010_000_000, "read for 1 s");
    let wrong = run("  - redis-raw: {node: \"6379\", send: 'PING\\r\\n', expect: '+PONG'}\n");
    assert_eq!(
        wrong.failure.as_deref(),
        Some(
            "step 1 (line 8: redis-raw: {node: \"6379\", send: 'PING\\r\\n', expect: '+PONG'}) failed: received \"+PONG\\r\\n\", expected \"+PONG\""
        )
    );
}

#[test]
fn piped_stdout_prints_as_redis_cli_does_into_a_file() {
    let r = run(r#"  - redis-cli: {node: "6379", command: "incr n", stdout: pipe, expect: "1"}
  - redis-cli: {node: "6379", command: "get missing", stdout: pipe, expect: ""}
  - redis-cli: {node: "6379", command: "foo", stdout: pipe, expect: "ERR unknown command 'foo', with args beginning with: "}
  - redis-cli-session: {node: "6379", stdout: pipe, commands: ["rpush l a b", {command: "lrange l 0 -1", expect: "a\nb"}]}
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    assert_eq!(r.steps[3].detail, "2\na\nb");
}

#[test]
fn a_piped_subscriber_gets_what_a_background_publisher_sends_while_it_listens() {
    // Real redis-cli 7.0.15 `subscribe ch1 ch2 > file` wrote, with one PUBLISH:
    // "subscribe\nch1\n1\nsubscribe\nch2\n2\nmessage\nch1\nhello\n".
    let r =
        run(r#"  - redis-cli-background: {name: p, node: "6379", command: "publish ch1 m${i}", every: 300ms, count: 3}
  - redis-cli-session:
      node: "6379"
      stdout: pipe
      commands: [{command: "subscribe ch1 ch2", expect: "subscribe\nch1\n1\nsubscribe\nch2\n2"}]
      listen: 1s
      expect-messages: ["message\nch1\nm2", "message\nch1\nm3"]
  - await: {client: p, expect-match: "^\\(integer\\) [01]$"}
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    let replies: Vec<_> = r.clients[0].exchanges.iter().map(|e| e.reply.clone().unwrap()).collect();
    assert_eq!(replies, ["(integer) 0", "(integer) 1", "(integer) 1"], "m1 went out before anyone subscribed");
}

#[test]
fn a_paced_writer_keeps_writing_through_a_stopped_master_and_every_reply_is_kept() {
    // `kill`, so the master is down for exactly the 100 ms sleep: `stop` is a
    // graceful shutdown that first waits for the replica's ACK (about a second).
    let r =
        run(r#"  - redis-cli-background: {name: w, node: "6379", command: "set k${i} ${i}", every: 2ms, count: 300}
  - sleep: 200ms
  - kill: "6379"
  - sleep: 100ms
  - start: "6379"
  - await: {client: w, within: 5s, max-errors: 60}
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    let w = &r.clients[0];
    assert_eq!((w.name.as_str(), w.sent, w.replied, w.end.as_str()), ("w", 300, 300, "finished"));
    assert_eq!(w.exchanges[0].request, "set k1 1");
    assert_eq!(w.exchanges[299].request, "set k300 300");
    // The first goes out once connected; the others every 2 ms from the start.
    assert_eq!(w.exchanges[2].sent_ns - w.exchanges[1].sent_ns, 2_000_000, "one every 2 ms");
    let refused = "Could not connect to Redis at 127.0.0.1:6379: Connection refused";
    let count = |text: &str| w.exchanges.iter().filter(|e| e.reply.as_deref() == Some(text)).count() as u64;
    let closed = count("Error: Server closed the connection");
    // Down for the 100 ms sleep and then its start-up time (8 to 16 ms, drawn
    // per start): one write every 2 ms fails meanwhile.
    let failed = count(refused) + closed;
    assert!((54..=58).contains(&failed), "{failed} writes failed");
    assert_eq!(closed, 1, "the write in flight when the master stopped");
    assert_eq!(count("OK"), 300 - failed);
    assert_eq!(w.errors, 300 - count("OK"));
    assert!(w.exchanges.iter().all(|e| e.error == (e.reply.as_deref() != Some("OK"))));
    // The same run with a tighter bound fails, and says how many.
    let strict =
        run(r#"  - redis-cli-background: {name: w, node: "6379", command: "set k${i} ${i}", every: 2ms, count: 300}
  - sleep: 200ms
  - kill: "6379"
  - sleep: 100ms
  - start: "6379"
  - await: {client: w, within: 5s, expect: OK}
"#);
    let failure = strict.failure.unwrap();
    assert!(failure.contains("replied \"Error: Server closed the connection\", expected \"OK\""), "{failure}");
}

#[test]
fn a_command_sent_to_a_paused_node_waits_until_it_resumes_and_await_can_time_out() {
    let r = run(r#"  - pause: "6379"
  - redis-cli-background: {name: b, node: "6379", command: "ping", count: 1}
  - sleep: 3s
  - resume: "6379"
  - await: {client: b, within: 1s, expect: PONG}
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    let reply_at = r.clients[0].exchanges[0].replied_ns.unwrap();
    assert!(reply_at >= 3_000_000_000, "answered only after the resume, at {reply_at}");
    let r = run(r#"  - pause: "6379"
  - redis-cli-background: {name: b, node: "6379", command: "ping", count: 1}
  - await: {client: b, within: 1s}
"#);
    assert_eq!(r.failure_kind, Some(report::FailureKind::Liveness));
    assert!(r.failure.unwrap().contains("client `b` did not finish within 1s (1 sent, 0 replied)"));
    assert_eq!(r.clients[0].end, "still running at the end of the run, stopped", "a failed run stops it too");
}

#[test]
fn stopped_clients_and_clients_left_running_say_how_they_ended() {
    let r = run(r#"  - redis-cli-background: {name: a, node: "6379", command: "incr a", every: 10ms}
  - redis-cli-background: {name: b, node: "6379", command: "incr b", every: 10ms}
  - sleep: 95ms
  - stop-client: a
  - sleep: 50ms
"#);
    assert_eq!(r.result, Verdict::Pass, "{:?}", r.failure);
    let (a, b) = (&r.clients[0], &r.clients[1]);
    assert_eq!((a.end.as_str(), a.sent, a.replied), ("stopped by step 4", 10, 10));
    assert_eq!(a.exchanges[9].reply.as_deref(), Some("(integer) 10"));
    assert_eq!((b.end.as_str(), b.sent), ("still running at the end of the run, stopped", 15));
    assert_eq!(b.ended_ns, r.virtual_time_ns);
}

#[test]
fn an_error_reply_without_expect_is_flagged_and_notes_reach_the_report_but_not_the_hash() {
    let steps = |note: &str| {
        format!(
            "  - redis-cli: {{node: \"6380\", command: \"set x 1\"}}\n    note: {note}\n  - redis-cli: {{node: \"6380\", command: \"set x 1\", expect-match: READONLY}}\n  - redis-cli: {{node: \"6380\", command: \"get x\"}}\n"
        )
    };
    let r = run(&steps("the replica refuses writes"));
    assert_eq!(r.result, Verdict::Pass);
    assert_eq!(
        r.steps[0].unchecked_error.as_deref(),
        Some("(error) READONLY You can't write against a read only replica.")
    );
    assert_eq!(r.steps[1].unchecked_error, None, "expect-match checked it");
    assert_eq!(r.steps[2].unchecked_error, None, "(nil) is no error");
    assert_eq!(r.steps[0].note.as_deref(), Some("the replica refuses writes"));
    let md = report::markdown::summary(&r);
    assert!(md.contains("**1 step passed with an error reply no `expect` checked:**"), "{md}");
    assert!(md.contains("— *the replica refuses writes* ⚠ unchecked error reply"), "{md}");
    let other = run(&steps("another note entirely"));
    assert_eq!(r.trace_hash, other.trace_hash, "a note never changes the trace hash");
    assert_eq!(r.steps[0].outcome, Outcome::Pass);
}

/// `errors(steps)` expecting one error at step line `line` (1 = the first),
/// column `col`, with `message` and `hint`.
fn assert_error(steps: &str, line: usize, col: usize, message: &str, hint: &str) {
    let text = errors(steps);
    let at = format!("--> s.yaml:{}:{col}", FIRST_STEP_LINE + line - 1);
    assert!(text.starts_with(&format!("error: {message}\n")), "{text}");
    assert!(text.contains(&at), "want {at}: {text}");
    assert!(text.contains(&format!("= hint: {hint}")), "{text}");
    assert!(text.contains('^'), "a caret under the value: {text}");
}

#[test]
fn bad_client_forms_are_diagnosed_where_they_are_written() {
    assert_error(
        "  - redis-raw: {node: \"6379\", send: 'PING\\q'}\n",
        1,
        37,
        "redis-raw.send: unknown escape `\\q` (at character 5)",
        "escapes are \\r \\n \\t \\0 \\\\ \\\" and \\xHH (two hex digits)",
    );
    assert_error(
        "  - redis-raw: {node: \"6379\", send: 'x', read-for: 0s}\n",
        1,
        52,
        "read-for 0s is out of range",
        "more than 0 and at most 1h",
    );
    assert_error(
        "  - redis-cli: {node: \"6379\", command: ping, stdout: pip}\n",
        1,
        54,
        "`pip` is not a kind of stdout",
        "did you mean `pipe`?",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: ping}\n",
        1,
        27,
        "a background client needs `every`, `count` or both",
        "`every: 2ms` for a paced stream",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: ping, every: 1ms}\n  - await: writer\n",
        2,
        12,
        "no earlier step starts a client named `writer`",
        "clients are: `w`",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: ping, every: 1ms}\n  - await: w\n",
        2,
        12,
        "client `w` runs until it is stopped",
        "give its step a `count`, or write `- stop-client: w`",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: ping, count: 1}\n  - redis-cli-background: {name: w, node: \"6379\", command: ping, count: 1}\n",
        2,
        34,
        "a client named `w` is already started by an earlier step",
        "give each background client its own name",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: ping, count: 1}\n  - await: w\n  - stop-client: w\n",
        3,
        18,
        "client `w` has already ended, at line 9",
        "a client is awaited or stopped once; start another under a new name",
    );
    assert_error(
        "  - stop-client: writr\n  - redis-cli-background: {name: writer, node: \"6379\", command: ping, count: 1}\n",
        1,
        18,
        "no earlier step starts a client named `writr`",
        "start one first",
    );
    assert_error(
        "  - redis-cli-background: {name: w, node: \"6379\", command: \"set k${j} 1\", count: 1}\n",
        1,
        60,
        "`${j}` is not captured by an earlier step",
        "`${i}` numbers the commands (1, 2, 3...); any other `${name}` is a capture of an earlier step",
    );
}

#[test]
fn a_report_without_the_new_fields_still_reads() {
    let r = run("  - redis-cli: {node: \"6379\", command: ping, expect: PONG}\n");
    let mut json: serde_json::Value = serde_json::to_value(&r).unwrap();
    let object = json.as_object_mut().unwrap();
    object.remove("captures");
    object.remove("clients");
    let old: RunReport = serde_json::from_value(json).unwrap();
    assert!(old.captures.is_empty() && old.clients.is_empty());
    assert_eq!(old.steps[0].note, None);
}
