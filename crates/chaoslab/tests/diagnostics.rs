//! Every error a scenario file can produce tells the user what to write
//! instead: one bad file per kind of error, each rendered, each with a
//! `= hint:`. And every YAML example in the README is valid.

use scenario::{Registry, parse_scenario_bytes};
use std::path::Path;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    registry
}

/// A valid scenario around `steps` (already indented as list items), with
/// two Redis nodes, a Sentinel and a Redis Cluster node.
fn with_steps(steps: &str) -> String {
    format!(
        "name: t
topology:
  nodes:
    - {{kind: redis, port: 6379}}
    - {{kind: redis, port: 6380}}
    - {{kind: redis, port: 7000, config: cluster-enabled yes}}
    - {{kind: sentinel, port: 26379, config: sentinel monitor m 127.0.0.1 6379 1}}
steps:
{steps}"
    )
}

/// A scenario whose topology is `nodes` (list items, indented by 4).
fn with_nodes(nodes: &str) -> String {
    format!("name: t\ntopology:\n  nodes:\n{nodes}steps:\n  - sleep: 1s\n")
}

fn step(s: &str) -> String {
    with_steps(&format!("  - {s}\n"))
}

/// One bad file per kind of error the parser, the built-in vocabulary and the
/// Redis and Sentinel kinds can report.
fn bad_files() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("name: {}{}\n", "[".repeat(40), "]".repeat(40));
    let many_nodes = format!("name: t\nx: [{}]\n", vec!["0"; 250_001].join(","));
    let aliases = format!("name: t\na: &x 1\nb: [{}]\n", vec!["*x"; 200].join(","));
    let bridge: String = (0..254).map(|i| format!("    - {{kind: redis, port: {}}}\n", 7000 + i)).collect();
    let text: Vec<(&str, String)> = vec![
        // The YAML layer.
        ("syntax", "name: a: b\n".into()),
        ("tab indentation", "name: t\ntopology:\n\tnodes: []\n".into()),
        ("duplicate key", "name: a\nname: b\n".into()),
        ("unclosed list", "name: t\nsteps:\n  - kill: [a, b\n  - sleep: 1s\n".into()),
        ("unclosed mapping", "name: t\nsteps:\n  - {sleep: 1s\n".into()),
        ("unterminated quote", "name: \"t\n".into()),
        ("two documents", "name: a\n---\nname: b\n".into()),
        ("unknown anchor", "name: *x\n".into()),
        ("nesting limit", deep),
        ("node limit", many_nodes),
        ("alias ratio limit", aliases),
        // Top level.
        ("not a mapping", "- a\n".into()),
        ("missing name", "topology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("bad name", "name: a/b\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("missing topology", "name: t\nsteps: [{sleep: 1s}]\n".into()),
        ("missing steps", "name: t\ntopology: {nodes: []}\n".into()),
        ("empty steps", "name: t\ntopology: {nodes: []}\nsteps: []\n".into()),
        ("steps not a list", "name: t\ntopology: {nodes: []}\nsteps: {sleep: 1s}\n".into()),
        ("unknown top key", "name: t\ntopolgy: {nodes: []}\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("negative seed", "name: t\nseed: -1\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("text seed", "name: t\nseed: abc\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("start-time", "name: t\nstart-time: yesterday\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("description list", "name: t\ndescription: [a]\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        // Topology.
        ("topology not a mapping", "name: t\ntopology: [a]\nsteps: [{sleep: 1s}]\n".into()),
        ("network mode", "name: t\ntopology: {network: overlay, nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("missing nodes", "name: t\ntopology: {}\nsteps: [{sleep: 1s}]\n".into()),
        ("host ip", "name: t\ntopology: {hosts: [{name: h, ip: 300.1.1.1}], nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        ("host missing ip", "name: t\ntopology: {hosts: [{name: h}], nodes: []}\nsteps: [{sleep: 1s}]\n".into()),
        (
            "host twice",
            "name: t\ntopology: {hosts: [{name: h, ip: 10.0.0.1}, {name: h, ip: 10.0.0.2}], nodes: []}\nsteps: [{sleep: 1s}]\n"
                .into(),
        ),
        (
            "ip twice",
            "name: t\ntopology: {hosts: [{name: h, ip: 10.0.0.1}, {name: g, ip: 10.0.0.1}], nodes: []}\nsteps: [{sleep: 1s}]\n"
                .into(),
        ),
        ("node not a mapping", with_nodes("    - redis\n")),
        ("missing kind", with_nodes("    - {port: 6379}\n")),
        ("unknown kind", with_nodes("    - {kind: mysql, port: 3306}\n")),
        ("kind typo", with_nodes("    - {kind: rediss, port: 6379}\n")),
        ("flavor on a kind without flavors", with_nodes("    - {kind: redis, port: 6379, flavor: mysql-5.7}\n")),
        ("port zero", with_nodes("    - {kind: redis, port: 0}\n")),
        ("port too big", with_nodes("    - {kind: redis, port: 70000}\n")),
        ("port text", with_nodes("    - {kind: redis, port: six}\n")),
        ("node name", with_nodes("    - {name: a b, kind: redis, port: 6379}\n")),
        ("node twice", with_nodes("    - {name: a, kind: redis, port: 6379}\n    - {name: a, kind: redis, port: 6380}\n")),
        ("unknown host", with_nodes("    - {kind: redis, port: 6379, host: nowhere}\n")),
        ("port taken", with_nodes("    - {name: a, kind: redis, port: 6379}\n    - {name: b, kind: redis, port: 6379}\n")),
        ("config list", with_nodes("    - {kind: redis, port: 6379, config: [a]}\n")),
        ("start quoted", with_nodes("    - {kind: redis, port: 6379, start: \"yes\"}\n")),
        ("start number", with_nodes("    - {kind: redis, port: 6379, start: 1}\n")),
        ("unknown node key", with_nodes("    - {kind: redis, port: 6379, prot: 1}\n")),
        ("redis config", with_nodes("    - {kind: redis, port: 6379, config: \"maxmemroy 1mb\"}\n")),
        ("sentinel config", with_nodes("    - {kind: sentinel, port: 26379, config: \"sentinel bogus\"}\n")),
        ("bridge is full", format!("name: t\ntopology:\n  network: bridge\n  nodes:\n{bridge}steps:\n  - sleep: 1s\n")),
        (
            "bridge host taken",
            "name: t\ntopology:\n  network: bridge\n  hosts: [{name: x, ip: 172.17.0.2}]\n  nodes: [{kind: redis, port: 6379}]\nsteps: [{sleep: 1s}]\n"
                .into(),
        ),
        // Network.
        ("latency", "name: t\ntopology: {nodes: []}\nnetwork: {latency: fast}\nsteps: [{sleep: 1s}]\n".into()),
        (
            "latency range",
            "name: t\ntopology: {nodes: []}\nnetwork: {latency: {min: 2ms, max: 1ms}}\nsteps: [{sleep: 1s}]\n".into(),
        ),
        ("loss", "name: t\ntopology: {nodes: []}\nnetwork: {loss: 2}\nsteps: [{sleep: 1s}]\n".into()),
        ("loss nan", "name: t\ntopology: {nodes: []}\nnetwork: {loss: .nan}\nsteps: [{sleep: 1s}]\n".into()),
        ("bandwidth", "name: t\ntopology: {nodes: []}\nnetwork: {bandwidth: fast}\nsteps: [{sleep: 1s}]\n".into()),
        ("bandwidth zero", "name: t\ntopology: {nodes: []}\nnetwork: {bandwidth: 0}\nsteps: [{sleep: 1s}]\n".into()),
        ("bandwidth list", "name: t\ntopology: {nodes: []}\nnetwork: {bandwidth: [1]}\nsteps: [{sleep: 1s}]\n".into()),
        ("cross-host key", "name: t\ntopology: {nodes: []}\nnetwork: {cross-host: {jitter: 1ms}}\nsteps: [{sleep: 1s}]\n".into()),
        // Steps.
        ("step not a mapping", step("[a]")),
        ("unknown step", step("kil: \"6379\"")),
        ("bare unknown step", step("kil")),
        ("bare step that needs a value", step("kill")),
        ("two actions", step("{kill: \"6379\", stop: \"6380\"}")),
        ("no action", step("{at: 1s}")),
        ("at", step("{at: soon, sleep: 1s}")),
        ("note", step("{note: [a], sleep: 1s}")),
        ("duration without unit", step("sleep: 5")),
        ("unknown node", step("kill: \"6381\"")),
        ("node typo", step("kill: \"6397\"")),
        ("capture unknown", step("kill: ${x}")),
        ("bad template", step("kill: ${a b}")),
        ("wait without within", step("wait-until: {state: {node: \"6379\", is: down}}")),
        ("wait without condition", step("wait-until: {within: 1s}")),
        ("a poll finer than 1ms", step("wait-until: {within: 1s, poll: 0s, state: {node: \"6379\", is: running}}")),
        ("a scenario poll of 0s", with_steps("  - sleep: 1s\n").replacen("steps:", "poll: 0s\nsteps:", 1)),
        ("condition not a mapping", step("assert: 3")),
        ("unknown condition", step("assert: {stat: {node: \"6379\", is: down}}")),
        ("empty all", step("assert: {all: []}")),
        ("state", step("assert: {state: {node: \"6379\", is: sleeping}}")),
        ("state missing node", step("assert: {state: {is: down}}")),
        ("log regex", step("assert: {log: {node: \"6379\", matches: \"(\"}}")),
        ("capture name", step("capture: {name: \"a b\", state: {node: \"6379\", is: down}}")),
        ("one-way missing to", step("partition-one-way: {from: [\"6379\"]}")),
        ("partition not a list", step("partition: 3")),
        ("heal with a value", step("heal: \"6379\"")),
        ("link between three", step("link: {between: [\"6379\", \"6380\", \"7000\"]}")),
        ("link unknown key", step("link: {between: [\"6379\", \"6380\"], jitter: 1ms}")),
        ("clock without change", step("clock: {node: \"6379\"}")),
        ("clock offset", step("clock: {node: \"6379\", offset: later}")),
        // Faults and invariants.
        ("not a fault", "name: t\ntopology: {nodes: []}\nfaults: [{at: 1s, sleep: 1s}]\nsteps: [{sleep: 1s}]\n".into()),
        ("fault without at", "name: t\ntopology: {nodes: []}\nfaults: [heal]\nsteps: [{sleep: 1s}]\n".into()),
        ("invariant", "name: t\ntopology: {nodes: []}\ninvariants: [{nope: 1}]\nsteps: [{sleep: 1s}]\n".into()),
        ("invariant within under the poll", format!("poll: 50ms\ninvariants: [{{within: 20ms, role: {{node: \"6379\", is: master}}}}]\n{}", step("sleep: 1s"))),
        ("at-most-one of one", step("assert: {at-most-one: [{role: {node: \"6379\", is: master}}]}")),
        ("invariant expect", format!("invariants: [{{expect: sometimes, role: {{node: \"6379\", is: master}}}}]\n{}", step("sleep: 1s"))),
        // The redis kind's vocabulary.
        ("redis-cli empty command", step("redis-cli: {node: \"6379\", command: \"\"}")),
        ("redis-cli quotes", step("redis-cli: {node: \"6379\", command: \"set \\\"a b\"}")),
        ("redis-cli repeat", step("redis-cli: {node: \"6379\", command: ping, repeat: 0}")),
        ("redis-cli interactive", step("redis-cli: {node: \"6379\", command: ping, interactive: true}")),
        ("redis-cli unknown key", step("redis-cli: {node: \"6379\", comand: ping}")),
        ("cluster tool command", step("redis-cli-cluster: {command: explode}")),
        ("cluster tool exit", step("redis-cli-cluster: {command: \"check 127.0.0.1:7000\", expect-exit: 2}")),
        ("cluster tool expect", step("redis-cli-cluster: {command: \"check 127.0.0.1:7000\", expect: OK}")),
        ("role", step("assert: {role: {node: \"6379\", is: leader}}")),
        ("slot", step("assert: {cluster-slot-owner: {node: \"7000\", slot: 20000, is: \"7000\"}}")),
        ("info regex", step("assert: {info: {node: \"6379\", field: role, matches: \"[\"}}")),
        // The sentinel kind's vocabulary.
        ("event order empty", step("assert: {sentinel-event-order: {node: \"26379\", events: []}}")),
        ("event regex", step("assert: {sentinel-event: {node: \"26379\", event: +sdown, match: \"(\"}}")),
        ("sentinel-client none", step("sentinel-client: {sentinels: [], master: m, command: ping}")),
        ("sentinel-client quotes", step("sentinel-client: {sentinels: [\"26379\"], master: m, command: \"a \\\"b\"}")),
    ];
    let mut files: Vec<(&str, Vec<u8>)> = text.into_iter().map(|(name, s)| (name, s.into_bytes())).collect();
    files.push(("latin-1", b"name: caf\xe9\ntopology: {nodes: []}\nsteps: [{sleep: 1s}]\n".to_vec()));
    files
}

#[test]
fn the_base_scenario_is_valid() {
    let registry = registry();
    let ok = parse_scenario_bytes("t.yaml", step("sleep: 1s").into_bytes(), &registry);
    assert!(ok.is_ok(), "{}", ok.err().map(|r| r.render("t.yaml")).unwrap_or_default());
}

#[test]
fn every_diagnostic_has_a_hint() {
    let registry = registry();
    let mut missing = Vec::new();
    for (name, bytes) in bad_files() {
        match parse_scenario_bytes("bad.yaml", bytes, &registry) {
            Ok(_) => missing.push(format!("{name}: accepted, but it is a bad file")),
            Err(rejected) => {
                for d in &rejected.diagnostics {
                    let rendered = d.render("bad.yaml", &rejected.source);
                    if !rendered.contains("\n  = hint: ") && !rendered.contains(" = hint: ") {
                        missing.push(format!("{name}:\n{rendered}"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "diagnostics without a hint:\n\n{}", missing.join("\n"));
}

/// Renders the only diagnostic of `bytes`.
fn only_error(bytes: &[u8]) -> String {
    let rejected = parse_scenario_bytes("f.yaml", bytes.to_vec(), &registry()).err().expect("a bad file");
    assert_eq!(rejected.diagnostics.len(), 1, "{}", rejected.render("f.yaml"));
    rejected.render("f.yaml")
}

#[test]
fn invalid_utf8_is_located_at_its_first_bad_byte() {
    let err = only_error(b"name: t\ntopology: {nodes: []}\nsteps:\n  - sleep: 1s # caf\xe9\xff\n");
    assert_eq!(
        err,
        "error: the file is not valid UTF-8: byte 0xE9 at offset 56
 --> f.yaml:4:20
  |
4 |   - sleep: 1s # caf\u{FFFD}\u{FFFD}
  |                    ^ not UTF-8
  = hint: save the file as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8 old.yaml > new.yaml` (the bad byte is shown as \u{FFFD} above)
"
    );
}

#[test]
fn an_unclosed_bracket_is_reported_where_it_opens() {
    let err = only_error(b"name: t\ntopology: {nodes: []}\nsteps:\n  - partition: [[a, b], [c]\n  - heal\n");
    assert!(err.starts_with("error: unclosed `[`: this list is never closed\n --> f.yaml:4:16\n"), "{err}");
    assert!(err.contains("  |                ^ opened here\n"), "{err}");
    let err = only_error(b"name: t\ntopology: {nodes: []}\nsteps:\n  - {sleep: 1s\n  - heal\n");
    assert!(err.starts_with("error: unclosed `{`: this mapping is never closed\n --> f.yaml:4:5\n"), "{err}");
}

#[test]
fn parser_limits_are_named_with_their_value() {
    let many = format!("name: t\nx: [{}]\n", vec!["0"; 250_001].join(","));
    let err = only_error(many.as_bytes());
    assert!(err.starts_with("error: the file has more than 250,000 YAML nodes (chaoslab's limit)\n"), "{err}");
    assert!(!err.contains("Nodes {"), "no debug text: {err}");
    let deep = format!("name: {}{}\n", "[".repeat(40), "]".repeat(40));
    assert!(only_error(deep.as_bytes()).starts_with("error: nesting is too deep (more than 32 levels)\n"));
}

#[test]
fn steps_without_a_value_may_be_written_bare() {
    let registry = registry();
    let s = parse_scenario_bytes("t.yaml", step("heal").into_bytes(), &registry).map_err(|r| r.render("t.yaml"));
    assert_eq!(s.unwrap().steps[0].action, "heal");
    let s = "name: t\ntopology: {nodes: []}\nfaults:\n  - {at: 1s, heal}\nsteps:\n  - heal\n  - heal:\n";
    let s = parse_scenario_bytes("t.yaml", s.as_bytes().to_vec(), &registry).map_err(|r| r.render("t.yaml"));
    assert_eq!(s.unwrap().steps.len(), 2);
    let err = only_error(step("kill").as_bytes());
    assert!(err.contains("= hint: `kill` takes a value: write `- kill: ...`"), "{err}");
}

/// Every ```yaml block of the README: whole scenarios as they are, fragments
/// (a list of steps, a mapping of top-level keys) inside a minimal scenario.
/// Also the step examples written inline in the "Built-in steps" paragraph.
#[test]
fn every_yaml_example_in_the_readme_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let registry = registry();
    let nodes = "    - {name: a, kind: redis, port: 6379}\n    - {name: b, kind: redis, port: 6380}\n    - {name: c, kind: redis, port: 6381}\n";
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut check = |what: String, source: String| {
        checked += 1;
        if let Err(r) = parse_scenario_bytes("README.md", source.into_bytes(), &registry) {
            failures.push(format!("{what}:\n{}", r.render("README.md")));
        }
    };
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let body_start = start + "```yaml\n".len();
        let end = body_start + rest[body_start..].find("```").expect("a closed block");
        let block = &rest[body_start..end];
        let line = readme[..readme.len() - rest.len() + start].lines().count() + 1;
        let first = block.lines().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).unwrap_or("");
        let source = if first.starts_with("- ") {
            let steps: String = block.lines().map(|l| format!("  {l}\n")).collect();
            format!("name: t\ntopology:\n  nodes:\n{nodes}steps:\n{steps}")
        } else {
            let has = |key: &str| block.lines().any(|l| l.starts_with(&format!("{key}:")));
            let mut s = block.to_owned();
            if !has("name") {
                s.push_str("\nname: t\n");
            }
            if !has("topology") {
                s.push_str(&format!("\ntopology:\n  nodes:\n{nodes}"));
            }
            if !has("steps") {
                s.push_str("\nsteps:\n  - sleep: 1s\n");
            }
            s
        };
        check(format!("README.md:{line}"), source);
        rest = &rest[end..];
    }
    // Inline examples: `name: value` spans (and bare `heal`) in the paragraph on built-in steps.
    let para_start = readme.find("**Built-in steps.**").expect("the paragraph on built-in steps");
    let para = &readme[para_start..para_start + readme[para_start..].find("\n\n").unwrap()];
    let step_names = registry.step_names();
    for span in para.split('`').skip(1).step_by(2) {
        let name = span.split(':').next().unwrap_or("");
        let bare_ok = span == "heal";
        if step_names.contains(&name) && (span.contains(": ") || bare_ok) {
            check(
                format!("README.md inline `{span}`"),
                format!("name: t\ntopology:\n  nodes:\n{nodes}steps:\n  - {span}\n"),
            );
        }
    }
    assert!(checked >= 6, "found only {checked} examples");
    assert!(failures.is_empty(), "README examples that do not parse:\n\n{}", failures.join("\n"));
}
