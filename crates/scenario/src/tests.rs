//! Parser and runner tests. `probe` is a test-only node kind: it listens on its
//! port, optionally dials a `peer` and sends its `greeting`, logs what happens,
//! and redials every second while the link is down (with `spin`, it also
//! re-arms a 0 ms timer forever: a zero-delay loop). It adds one condition,
//! `probe-linked`, so the tests exercise the kind extension points too.

use crate::RunError;
use crate::diag::{Diagnostic, Diagnostics};
use crate::kind::{Condition, NodeKind, Observation, ParseCx, Registry, Syntax};
use crate::model::NodeDecl;
use crate::runner::Runtime;
use crate::template::NodeRef;
use crate::yaml::Node;
use report::{Outcome, RunReport, Verdict};
use serde_json::json;
use sim::{ConnId, Ctx, Factory, Input, ProcId, Process, Sim};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

struct Probe {
    port: u16,
    peer: Option<SocketAddrV4>,
    greeting: String,
    link: Option<ConnId>,
    linked: bool,
    spin: bool,
}

impl Probe {
    fn log(&self, ctx: &mut Ctx<'_>, text: &str) {
        let line = format!("{} {text}", ctx.now());
        ctx.log(line);
    }

    fn dial(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(peer) = self.peer {
            self.link = Some(ctx.connect(peer));
        }
    }
}

impl Process for Probe {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => {
                ctx.listen(self.port).expect("the parser keeps ports distinct");
                self.log(ctx, "Ready to accept connections");
                self.dial(ctx);
                if self.spin {
                    ctx.set_timer(Duration::ZERO, 1);
                }
            }
            Input::Shutdown => self.log(ctx, "shutting down"),
            Input::Connected { conn } => {
                self.linked = true;
                ctx.note("link", "up");
                self.log(ctx, "link up");
                ctx.send(conn, self.greeting.as_bytes());
            }
            Input::Data { bytes, .. } => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                self.log(ctx, &format!("got {text}"));
            }
            Input::ConnectFailed { error, .. } => {
                self.log(ctx, &format!("connect failed: {error:?}"));
                ctx.set_timer(Duration::from_secs(1), 0);
            }
            Input::Closed { conn, reason } => {
                if Some(conn) == self.link {
                    self.linked = false;
                    ctx.note("link", "down");
                    self.log(ctx, &format!("link down: {reason:?}"));
                    ctx.set_timer(Duration::from_secs(1), 0);
                }
            }
            Input::Timer { tag: 1, .. } => {
                ctx.set_timer(Duration::ZERO, 1);
            }
            Input::Timer { .. } => self.dial(ctx),
            Input::Accepted { .. } => {}
        }
    }
}

struct ProbeKind;

impl NodeKind for ProbeKind {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn build(&self, node: &NodeDecl) -> Result<Factory, Diagnostics> {
        let mut peer = None;
        let mut greeting = "hello".to_owned();
        let mut spin = false;
        let mut diags = Diagnostics::new();
        for (i, line) in node.config.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["greeting", word] => greeting = (*word).to_owned(),
                ["spin"] => spin = true,
                ["peer", ip, port] => match (ip.parse::<Ipv4Addr>(), port.parse::<u16>()) {
                    (Ok(ip), Ok(port)) => peer = Some(SocketAddrV4::new(ip, port)),
                    _ => diags.push(Diagnostic::new(node.config_line_span(i), "bad peer address")),
                },
                _ => diags.push(
                    Diagnostic::new(node.config_line_span(i), format!("unknown directive `{}`", words[0]))
                        .with_hint("probe knows `greeting <word>` and `peer <ip> <port>`"),
                ),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        let port = node.port;
        Ok(Box::new(move || {
            Box::new(Probe { port, peer, greeting: greeting.clone(), link: None, linked: false, spin })
                as Box<dyn Process>
        }))
    }

    fn conditions(&self) -> Vec<Syntax> {
        vec![
            Syntax {
                name: "probe-linked",
                doc: "the probe's link to its peer is up",
                schema: json!({"type": "string"}),
            },
            Syntax {
                name: "probe-linked-polled",
                doc: "probe-linked, polled through idle time as if it read a clock",
                schema: json!({"type": "string"}),
            },
            Syntax {
                name: "probe-linked-words",
                doc: "probe-linked, telling its inputs (the probe's state, incarnation and inputs handled)",
                schema: json!({"type": "string"}),
            },
            Syntax {
                name: "probe-linked-shared",
                doc: "probe-linked-words, its words read once a moment for every such condition (all must name one node)",
                schema: json!({"type": "string"}),
            },
            Syntax {
                name: "probe-linked-lying",
                doc: "probe-linked, telling the same inputs whatever happens (a broken condition)",
                schema: json!({"type": "string"}),
            },
        ]
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        let words = match name {
            "probe-linked-words" => Words::Honest,
            "probe-linked-shared" => Words::Shared,
            "probe-linked-lying" => Words::Lying,
            _ => Words::None,
        };
        Ok(Box::new(Linked(cx.node_ref(value, name)?, name != "probe-linked-polled", words)))
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        json!({ "linked": sim.process::<Probe>(proc).is_some_and(|p| p.linked) })
    }
}

/// The probe's link; the flag says whether waits may skip idle time.
struct Linked(NodeRef, bool, Words);

/// What [`Linked`] tells of its inputs.
#[derive(Clone, Copy, PartialEq)]
enum Words {
    None,
    /// The probe's state, incarnation and inputs handled: all a look reads.
    Honest,
    /// The honest words, through [`Runtime::shared_words`].
    Shared,
    /// Always the same.
    Lying,
}

thread_local! {
    /// How many times `probe-linked-shared` conditions asked for their
    /// words, and how many times the words were read, on this thread (a
    /// test's run is on its own).
    pub(crate) static SHARED_WORDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

impl Linked {
    /// What a look reads: the probe's state, incarnation and inputs handled.
    fn honest_words(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        let Ok(p) = rt.proc(&self.0) else { return false };
        let state = match rt.sim.proc_state(p) {
            sim::ProcState::Running => 0,
            sim::ProcState::Paused => 1,
            sim::ProcState::Down => 2,
        };
        out.extend([state, u64::from(rt.sim.incarnation(p)), rt.sim.inputs_handled(p)]);
        true
    }
}

impl Condition for Linked {
    fn changes_only_with_events(&self) -> bool {
        self.1
    }
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        match self.2 {
            Words::None => false,
            Words::Lying => {
                out.push(7);
                true
            }
            Words::Honest => self.honest_words(rt, out),
            Words::Shared => {
                SHARED_WORDS.with(|c| c.set((c.get().0 + 1, c.get().1)));
                rt.shared_words("probe-linked", out, |words| {
                    SHARED_WORDS.with(|c| c.set((c.get().0, c.get().1 + 1)));
                    if !self.honest_words(rt, words) {
                        // No such node: words no node gives.
                        words.push(u64::MAX);
                    }
                });
                true
            }
        }
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let p = rt.proc(&self.0)?;
        let linked = rt.sim.process::<Probe>(p).is_some_and(|p| p.linked);
        Ok(Observation { holds: linked, observed: format!("{} link {}", self.0, if linked { "up" } else { "down" }) })
    }
    fn describe(&self) -> String {
        format!("{} linked", self.0)
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Box::new(ProbeKind));
    r
}

const TOPOLOGY: &str = "topology:
  nodes:
    - kind: probe
      port: 7001
    - kind: probe
      port: 7002
      config: |
        greeting hi
        peer 127.0.0.1 7001
";

fn scenario(steps: &str) -> String {
    format!("name: t\nseed: 5\n{TOPOLOGY}steps:\n{steps}")
}

fn errors(source: &str) -> String {
    let registry = registry();
    match crate::parse_scenario("s.yaml", source, &registry) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.render("s.yaml", source),
    }
}

fn run_with_seed(source: &str, seed: Option<u64>) -> (RunReport, Sim) {
    let registry = registry();
    let scenario = match crate::parse_scenario("s.yaml", source, &registry) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render("s.yaml", source)),
    };
    crate::run(scenario, seed, &registry, "chaoslab run s.yaml".into())
}

fn run(source: &str) -> RunReport {
    run_with_seed(source, None).0
}

#[test]
fn unknown_top_level_key_points_at_it_with_a_suggestion() {
    let source = format!("name: t\nseeds: 3\n{TOPOLOGY}steps:\n  - sleep: 1s\n");
    assert_eq!(
        errors(&source),
        "error: unknown key `seeds` in the scenario
 --> s.yaml:2:1
  |
2 | seeds: 3
  | ^^^^^ unknown key
  = hint: did you mean `seed`?
"
    );
}

#[test]
fn unknown_kind_is_reported_with_did_you_mean() {
    let source = "name: t\ntopology:\n  nodes:\n    - kind: prob\n      port: 1\nsteps:\n  - sleep: 1s\n";
    let text = errors(source);
    assert!(text.starts_with("error: unknown node kind `prob`\n --> s.yaml:4:13\n"), "{text}");
    assert!(text.ends_with("  = hint: did you mean `probe`?\n"), "{text}");
}

#[test]
fn a_kind_reports_a_bad_config_directive_at_its_line() {
    let source = "name: t\ntopology:\n  nodes:\n    - kind: probe\n      port: 1\n      config: |\n        greeting x\n        bogus 1 2\nsteps:\n  - sleep: 1s\n";
    assert_eq!(
        errors(source),
        "error: unknown directive `bogus`
 --> s.yaml:8:9
  |
8 |         bogus 1 2
  |         ^^^^^^^^^
  = hint: probe knows `greeting <word>` and `peer <ip> <port>`
"
    );
}

#[test]
fn every_error_in_a_file_is_reported_at_once() {
    let source = scenario(
        "  - sleep: 1\n  - kill: \"7003\"\n  - wait-until: {state: {node: \"7001\", is: down}}\n  - stop: ${who}\n",
    );
    let text = errors(&source);
    let count = text.matches("error: ").count();
    assert_eq!(count, 4, "{text}");
    assert!(text.contains("error: invalid duration `1` for sleep"), "{text}");
    assert!(text.contains("error: unknown node `7003` in kill"), "{text}");
    assert!(text.contains("hint: did you mean `7001`?"), "{text}");
    assert!(text.contains("error: `wait-until` needs `within`"), "{text}");
    assert!(text.contains("error: `${who}` is not captured by an earlier step"), "{text}");
}

#[test]
fn duplicate_ports_and_steps_with_two_actions_are_rejected() {
    let source = "name: t\ntopology:\n  nodes:\n    - {kind: probe, port: 7001}\n    - {kind: probe, port: 7001, name: other}\nsteps:\n  - {sleep: 1s, kill: other}\n";
    let text = errors(source);
    assert!(text.contains("error: port 7001 on host localhost is already taken by node `7001`"), "{text}");
    assert!(text.contains("error: a step has one action, found `sleep` and `kill`"), "{text}");
}

#[test]
fn kill_is_seen_by_the_peer_and_the_report_says_when() {
    let report = run(&scenario(
        "  - wait-until: {probe-linked: \"7002\", within: 1s}
  - kill: \"7001\"
  - wait-until:
      log: {node: \"7002\", matches: \"link down: (\\\\w+)\"}
      within: 1s
      capture: reason
  - assert: {state: {node: \"7001\", is: down}}
",
    ));
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    assert_eq!(report.steps[0].detail, "after 10ms: 7002 link up");
    assert_eq!(report.steps[2].detail, "after 10ms: Reset (captured as ${reason})");
    assert_eq!(report.steps[3].detail, "7001 is down");
    assert_eq!(report.nodes[1].detail, json!({"linked": false}));
    assert_eq!(report.nodes[0].state, "down");
}

#[test]
fn a_timeout_says_what_was_last_seen_and_skips_the_rest() {
    let report =
        run(&scenario("  - wait-until: {state: {node: \"7001\", is: down}, within: 2s}\n  - kill: \"7001\"\n"));
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.steps[0].outcome, Outcome::Fail);
    assert_eq!(report.steps[0].detail, "timed out after 2s waiting for 7001 is down; last observed: 7001 is running");
    assert_eq!(report.steps[0].finished_ns, 2_000_000_000);
    assert_eq!(report.steps[1].outcome, Outcome::Skipped);
    assert_eq!(
        report.failure.as_deref(),
        Some(
            "step 1 (line 13: wait-until: {state: {node: \"7001\", is: down}, within: 2s}) failed: timed out after 2s waiting for 7001 is down; last observed: 7001 is running"
        )
    );
}

#[test]
fn captured_node_names_drive_later_faults() {
    let report = run(&scenario(
        "  - sleep: 10ms
  - capture: {name: victim, log: {node: \"7001\", matches: \"got (\\\\w+)\"}}
  - capture: {name: talker, log: {node: \"7002\", matches: \"Ready\"}}
  - kill: \"700${victim}\"
",
    ));
    assert_eq!(report.result, Verdict::Fail, "7001 got `hi`, so `700hi` is no node");
    assert_eq!(report.steps[1].detail, "${victim} = hi");
    assert_eq!(report.steps[3].detail, "`700hi` (from 700${victim}) is not a node");
}

#[test]
fn invariants_are_checked_while_time_passes_and_report_when_they_broke() {
    let source = format!(
        "name: t\n{TOPOLOGY}invariants:\n  - state: {{node: \"7001\", is: running}}\nfaults:\n  - {{at: 1500ms, stop: \"7001\"}}\nsteps:\n  - sleep: 5s\n"
    );
    let report = run(&source);
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.checks[0].outcome, Outcome::Fail);
    assert_eq!(report.checks[0].violated_ns, Some(1_500_000_000));
    assert_eq!(report.checks[0].detail, "7001 is down");
    assert_eq!(report.steps[0].outcome, Outcome::Fail);
}

#[test]
fn partition_hides_a_dead_link_until_the_peer_redials_after_heal() {
    let report = run(&scenario(
        "  - wait-until: {probe-linked: \"7002\", within: 1s}
  - partition: [[\"7001\"]]
  - restart: \"7001\"
  - sleep: 30s
  - assert: {probe-linked: \"7002\"}
  - heal:
  - wait-until: {not: {probe-linked: \"7002\"}, within: 30s}
  - wait-until: {probe-linked: \"7002\", within: 5s}
",
    ));
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    // 7002 believes in its link all through the partition (nothing arrives). The
    // FIN of the restart is retransmitted with TCP's backoff (0.2 s, 0.4 s, ...),
    // so it gets through on the first retransmission after the heal, at ~51 s.
    assert_eq!(report.steps[6].detail, "after 21s10ms: 7002 link down");
}

#[test]
fn same_seed_same_trace_and_seed_flag_changes_it() {
    let source = scenario(
        "  - wait-until: {probe-linked: \"7002\", within: 1s}
  - link: {between: [\"7001\", \"7002\"], latency: {min: 1ms, max: 9ms}}
  - restart: \"7001\"
  - sleep: 3s
",
    );
    let (a, _) = run_with_seed(&source, None);
    let (b, _) = run_with_seed(&source, None);
    let (c, _) = run_with_seed(&source, Some(6));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.seed, 5);
    assert_eq!(c.seed, 6);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn schema_lists_kind_conditions_and_builtin_steps() {
    let schema = serde_json::to_value(crate::schema::scenario_schema(&registry())).unwrap();
    assert_eq!(schema["$defs"]["condition"]["properties"]["probe-linked"], json!({"type": "string"}));
    let steps = schema["$defs"]["step"]["oneOf"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["required"] == json!(["wait-until"])));
    assert_eq!(
        schema["properties"]["topology"]["properties"]["nodes"]["items"]["anyOf"][2]["properties"]["kind"],
        json!({"enum": ["probe"]})
    );
}

#[test]
fn an_invalid_regex_is_a_diagnostic_at_the_pattern() {
    let text = errors(&scenario("  - assert: {log: {node: \"7001\", matches: \"(unclosed\"}}\n"));
    assert!(text.starts_with("error: invalid regular expression\n  --> s.yaml:13:43\n"), "{text}");
    assert!(text.contains("= hint: regex parse error:"), "{text}");
}

#[test]
fn bridge_mode_gives_each_node_a_host_and_refuses_the_254th() {
    let nodes: String = (0..254).map(|i| format!("    - {{kind: probe, port: {}}}\n", 7000 + i)).collect();
    let source = format!("name: t\ntopology:\n  network: bridge\n  nodes:\n{nodes}steps:\n  - sleep: 1s\n");
    let text = errors(&source);
    assert_eq!(text.matches("error: ").count(), 1, "{text}");
    assert!(
        text.starts_with("error: the bridge network 172.17.0.0/24 has room for 253 nodes\n   --> s.yaml:258:7\n"),
        "{text}"
    );
    let ok = source.replace("    - {kind: probe, port: 7253}\n", "");
    let registry = registry();
    let s = crate::parse_scenario("s.yaml", &ok, &registry).unwrap_or_else(|d| panic!("{}", d.render("s.yaml", &ok)));
    assert_eq!(s.nodes[0].ip, Ipv4Addr::new(172, 17, 0, 2));
    assert_eq!(s.nodes[252].ip, Ipv4Addr::new(172, 17, 0, 254));
    assert_eq!(s.hosts.len(), 253);
}

#[test]
fn bandwidth_takes_rates_in_bits_or_bytes_and_keeps_what_cross_host_does_not_set() {
    let registry = registry();
    let net = |network: &str| {
        let source = format!("name: t\n{TOPOLOGY}network:\n{network}steps:\n  - sleep: 1s\n");
        let s = crate::parse_scenario("s.yaml", &source, &registry)
            .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", &source)));
        (s.net.same_host.bandwidth, s.net.cross_host.bandwidth)
    };
    assert_eq!(net("  bandwidth: 100mbit\n"), (12_500_000, 12_500_000));
    assert_eq!(net("  bandwidth: 1_000_000\n  cross-host: {bandwidth: 1Gbit}\n"), (1_000_000, 125_000_000));
    assert_eq!(net("  bandwidth: 10mb\n  cross-host: {latency: 1ms}\n"), (10_000_000, 10_000_000));
    assert_eq!(net("  cross-host: {bandwidth: unlimited}\n"), (2_000_000_000, 0));
    assert_eq!(net("  latency: 1ms\n"), (2_000_000_000, 125_000_000), "defaults: loopback 2 GB/s, bridge 1 Gbit/s");
}

#[test]
fn a_bad_bandwidth_points_at_the_value_and_lists_the_forms() {
    let source = format!("name: t\n{TOPOLOGY}network:\n  bandwidth: 10mbps\nsteps:\n  - sleep: 1s\n");
    assert_eq!(
        errors(&source),
        "error: unknown bandwidth unit `mbps` in `10mbps`
  --> s.yaml:12:14
   |
12 |   bandwidth: 10mbps
   |              ^^^^^^
   = hint: write bytes per second (`125000000`), a rate such as `1gbit`, `100mbit`, `10mb` (megabytes/s), `512kb` or `1gb`, or `unlimited`
"
    );
    let text = errors(&scenario("  - link: {between: [\"7001\", \"7002\"], bandwidth: 0}\n"));
    assert!(text.starts_with("error: bandwidth `0` would carry nothing\n"), "{text}");
}

#[test]
fn a_link_step_bandwidth_delays_big_sends_and_keeps_the_default_latency() {
    // 1 byte/s: the two-byte greeting takes 2 s on the wire, plus loopback's 50 µs.
    let report = run(&scenario(
        "  - link: {between: [\"7001\", \"7002\"], bandwidth: 1}
  - wait-until: {log: {node: \"7001\", matches: \"got hi\"}, within: 5s}
  - capture: {name: when, log: {node: \"7001\", matches: \"(\\\\S+) got hi\"}}
",
    ));
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    assert_eq!(report.steps[2].detail, "${when} = 2.000150s");
}

#[test]
fn a_zero_delay_loop_fails_the_run_as_a_simulator_bug_instead_of_hanging() {
    let source = "name: t\nseed: 5\ntopology:\n  nodes:\n    - kind: probe\n      port: 7001\n    - kind: probe\n      port: 7002\n      start: false\n      config: spin\nsteps:\n  - sleep: 1s\n  - start: \"7002\"\n  - wait-until: {probe-linked: \"7002\", within: 10s}\n  - sleep: 1s\n";
    let registry = registry();
    let mut scenario = match crate::parse_scenario("s.yaml", source, &registry) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render("s.yaml", source)),
    };
    scenario.max_events_per_instant = 1_000;
    let (report, sim) = crate::run(scenario, None, &registry, String::new());
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.failure_kind, Some(crate::FailureKind::SimulatorBug), "exit code 4, not a failed check");
    let failure = report.failure.expect("the run failed");
    assert!(
        failure.contains(
            "simulator bug: 1001 events at virtual time 1.000000s without time advancing (a zero-delay loop?)"
        ),
        "{failure}"
    );
    assert_eq!(report.steps[2].outcome, Outcome::Fail, "{:?}", report.steps[2]);
    assert_eq!(report.steps[3].outcome, Outcome::Skipped);
    assert!(sim.bug().is_some());
    assert!(sim.events_processed() < 10_000, "{}", sim.events_processed());
}

#[test]
fn a_poll_finer_than_a_millisecond_is_refused_where_it_is_written() {
    let text = errors(&scenario("  - wait-until: {state: {node: \"7001\", is: running}, within: 1s, poll: 1ns}\n"));
    assert!(text.starts_with("error: poll 1ns is shorter than 1ms\n"), "{text}");
    assert!(text.contains("= hint: nothing in a node changes faster than its timers"), "{text}");
    let top = "name: t\npoll: 500us\ntopology:\n  nodes: []\nsteps:\n  - sleep: 1s\n";
    let text = errors(top);
    assert!(text.starts_with("error: poll 500us is shorter than 1ms\n --> s.yaml:2:7\n"), "{text}");
}

#[test]
fn waits_that_skip_idle_time_end_where_polling_through_it_ends() {
    let steps = "  - wait-until: {probe-linked: \"7002\", within: 1s}
  - partition: [[\"7001\"]]
  - restart: \"7001\"
  - sleep: 20s
  - heal:
  - wait-until: {not: {probe-linked: \"7002\"}, within: 30s, poll: 3ms}
  - wait-until: {probe-linked: \"7002\", within: 5s, poll: 7ms}
  - wait-until: {not: {probe-linked: \"7002\"}, within: 10s}
";
    let run_one = |condition: &str| {
        let source = scenario(&steps.replace("probe-linked", condition));
        let registry = registry();
        let scenario = crate::parse_scenario("s.yaml", &source, &registry).expect("valid");
        crate::run(scenario, None, &registry, String::new())
    };
    let (skipping, a) = run_one("probe-linked");
    let (polling, b) = run_one("probe-linked-polled");
    let outcomes: Vec<Outcome> = skipping.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes[5..], [Outcome::Pass, Outcome::Pass, Outcome::Fail], "{:?}", skipping.steps);
    assert_eq!(skipping.failure_kind, Some(crate::FailureKind::Liveness));
    let timeline = |r: &RunReport| -> Vec<_> {
        r.steps.iter().map(|s| (s.started_ns, s.finished_ns, s.outcome, s.detail.clone())).collect()
    };
    assert_eq!(timeline(&skipping), timeline(&polling));
    let kernel = |sim: &Sim| -> Vec<_> {
        sim.trace().records().iter().filter(|r| !matches!(r.event, sim::TraceEvent::Runner { .. })).cloned().collect()
    };
    assert_eq!((a.events_processed(), kernel(&a)), (b.events_processed(), kernel(&b)));
}

#[test]
fn tcp_buffer_sizes_are_read_as_a_list_or_as_proc_prints_them() {
    let registry = registry();
    let net = |network: &str| {
        let source = format!("name: t\n{TOPOLOGY}network:\n{network}steps:\n  - sleep: 1s\n");
        let s = crate::parse_scenario("s.yaml", &source, &registry)
            .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", &source)));
        s.net.buffers
    };
    assert_eq!(net("  latency: 1ms\n"), sim::SocketBuffers::LINUX, "Linux's defaults");
    let b = net("  tcp-rmem: [4096, 87380, 6291456]\n  tcp-wmem: \"4096\t16384 4194304\"\n");
    assert_eq!((b.rmem, b.wmem), ([4096, 87380, 6_291_456], [4096, 16384, 4_194_304]));
}

#[test]
fn a_bad_tcp_buffer_size_points_at_the_value_and_shows_the_forms() {
    let source = format!("name: t\n{TOPOLOGY}network:\n  tcp-rmem: [4096, 131072, 65536]\nsteps:\n  - sleep: 1s\n");
    assert_eq!(
        errors(&source),
        "error: `tcp-rmem` must have min <= default <= max, found 4096 131072 65536
  --> s.yaml:12:13
   |
12 |   tcp-rmem: [4096, 131072, 65536]
   |             ^
   = hint: write three byte counts, min default max, as `[4096, 131072, 33554432]` or `\"4096 131072 33554432\"` (what /proc/sys/net/ipv4/tcp_rmem prints), with min <= default <= max
"
    );
    let two = format!("name: t\n{TOPOLOGY}network:\n  tcp-wmem: 4096 16384\nsteps:\n  - sleep: 1s\n");
    assert!(errors(&two).starts_with("error: `tcp-wmem` takes three byte counts (min default max), found 2\n"));
    let word = format!("name: t\n{TOPOLOGY}network:\n  tcp-wmem: big\nsteps:\n  - sleep: 1s\n");
    assert!(errors(&word).starts_with("error: `tcp-wmem` must be three byte counts, found `big`\n"));
}

#[path = "tests_invariants.rs"]
mod invariants;

#[path = "tests_nemesis.rs"]
mod tests_nemesis;
#[test]
fn bad_costs_point_at_the_value_with_a_hint() {
    let bad = format!("name: t\n{TOPOLOGY}costs:\n  command: 3\nsteps:\n  - sleep: 1s\n");
    let e = errors(&bad);
    assert!(e.starts_with("error: invalid duration `3` for costs.command\n  --> s.yaml:12:12\n"), "{e}");
    assert!(e.contains("= hint: add a unit"), "{e}");
    let range = format!("name: t\n{TOPOLOGY}costs:\n  startup: [16ms, 8ms]\nsteps:\n  - sleep: 1s\n");
    let e = errors(&range);
    assert!(e.starts_with("error: `costs.startup`'s least is more than its most\n  --> s.yaml:12:12\n"), "{e}");
    assert!(e.contains("= hint: write one duration (`startup: 10ms`) or the range"), "{e}");
    let three = format!("name: t\n{TOPOLOGY}costs:\n  startup: [1ms, 2ms, 3ms]\nsteps:\n  - sleep: 1s\n");
    assert!(errors(&three).starts_with("error: `costs.startup` takes two durations (least, most), found 3\n"));
    let typo = format!("name: t\n{TOPOLOGY}costs:\n  fsyn: 1ms\nsteps:\n  - sleep: 1s\n");
    let e = errors(&typo);
    assert!(e.contains("fsyn") && e.contains("s.yaml:12:3") && e.contains("fsync"), "{e}");
}

#[test]
fn a_node_of_a_kind_without_costs_refuses_its_own() {
    let source = "name: t\ntopology:\n  nodes:\n    - kind: probe\n      port: 7001\n      costs: {command: 1us}\nsteps:\n  - sleep: 1s\n";
    let e = errors(source);
    assert!(e.starts_with("error: a `probe` node takes no `costs:`\n --> s.yaml:6:14\n"), "{e}");
    assert!(e.contains("= hint: time costs are modelled for redis nodes"), "{e}");
    // The scenario's own `costs:` passes such nodes by.
    let top = format!("name: t\n{TOPOLOGY}costs: {{command: 1us}}\nsteps:\n  - sleep: 1s\n");
    let s = crate::parse_scenario("s.yaml", &top, &registry()).expect("valid");
    assert!(s.nodes.iter().all(|n| !n.costs.is_set()));
}

/// A file composed once makes, again and again, the scenario a parse makes
/// (each run consumes one: an exploration makes one a seed), and a
/// composed file whose scenario does not validate gives a parse's diagnostics.
#[test]
fn a_composed_file_makes_the_scenario_a_parse_makes_every_time() {
    let registry = registry();
    let options = crate::compose::ComposeOptions::default();
    let source = scenario("  - sleep: 2s\n  - kill: \"7001\"\n");
    let composed = crate::parse::compose_scenario("s.yaml", source.clone().into_bytes(), &options).expect("composes");
    let parsed = crate::parse_scenario("s.yaml", &source, &registry).expect("parses");
    for _ in 0..2 {
        let made = composed.scenario(&registry).expect("valid");
        assert_eq!(crate::parse::expanded_text(&made), crate::parse::expanded_text(&parsed));
        let texts = |s: &crate::Scenario| s.steps.iter().map(|st| st.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&made), texts(&parsed));
        let (a, b) = (crate::run(made, Some(3), &registry, String::new()).0, run_with_seed(&source, Some(3)).0);
        assert_eq!(a.trace_hash, b.trace_hash, "the same run");
    }
    let bad = "name: t\ntopology:\n  nodes:\n    - kind: prob\n      port: 1\nsteps:\n  - sleep: 1s\n";
    let composed = crate::parse::compose_scenario("s.yaml", bad.as_bytes().to_vec(), &options).expect("YAML is fine");
    let Err(rejected) = composed.scenario(&registry) else { panic!("an unknown kind is rejected") };
    assert_eq!(rejected.render("s.yaml"), errors(bad));
    // What composing finds short of stopping (a `--set` of no parameter)
    // refuses every scenario made, as it refuses the parse.
    let sets = crate::compose::ComposeOptions { sets: vec![("nope".into(), "1".into())], ..Default::default() };
    let composed = crate::parse::compose_scenario("s.yaml", source.clone().into_bytes(), &sets).expect("composes");
    let Err(rejected) = composed.scenario(&registry) else { panic!("an unknown --set is refused") };
    let parsed = crate::parse::parse_scenario_with("s.yaml", source.into_bytes(), &registry, &sets);
    let Err(parsed) = parsed else { panic!("the parse refuses it too") };
    assert_eq!(rejected.render("s.yaml"), parsed.render("s.yaml"));
    assert!(!rejected.diagnostics.is_empty());
}
