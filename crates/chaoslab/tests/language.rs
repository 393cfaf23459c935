//! The scenario language of issue 20: topology templates and their
//! expansion, selectors, node quantifiers, `include:`/`extends:` and
//! parameters. Each mistake is a diagnostic at file:line:col with a hint;
//! each form means what its expansion says.

use scenario::compose::ComposeOptions;
use scenario::parse::{expanded_text, parse_scenario_with};
use scenario::{Registry, Scenario};
use std::collections::BTreeMap;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry.register(Box::new(mysql_lab::MysqlKind));
    registry.register_workloads(Box::new(redis_lab::workloads::RedisWorkloads));
    registry
}

/// Files an in-memory loader serves, by name.
fn loader(files: &BTreeMap<&'static str, &'static str>) -> impl Fn(&str, &str) -> Result<(String, Vec<u8>), String> {
    let files = files.clone();
    move |_from: &str, name: &str| match files.get(name) {
        Some(text) => Ok((name.to_owned(), text.as_bytes().to_vec())),
        None => Err("No such file or directory (os error 2)".to_owned()),
    }
}

fn parse_with(
    text: &str,
    files: &BTreeMap<&'static str, &'static str>,
    sets: &[(&str, &str)],
) -> Result<Scenario, String> {
    let load = loader(files);
    let options = ComposeOptions {
        sets: sets.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
        loader: Some(&load),
        main: None,
    };
    parse_scenario_with("s.yaml", text.as_bytes().to_vec(), &registry(), &options).map_err(|r| r.render("s.yaml"))
}

fn parse(text: &str) -> Result<Scenario, String> {
    parse_with(text, &BTreeMap::new(), &[])
}

/// A file that must be accepted.
fn ok(text: &str) -> Scenario {
    parse(text).unwrap_or_else(|e| panic!("rejected:\n{e}"))
}

/// The rendered error of a file that must be rejected.
fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn assert_diag(rendered: &str, at: &str, message: &str, hint: &str) {
    assert!(rendered.contains(&format!("--> {at}\n")), "not at {at}:\n{rendered}");
    assert!(rendered.contains(message), "no `{message}`:\n{rendered}");
    assert!(rendered.contains(&format!("= hint: {hint}")), "no hint `{hint}`:\n{rendered}");
}

const CLUSTER: &str = "name: t
topology:
  cluster: {masters: 3, replicas: 1, ports: 6381, config: appendonly yes}
steps:
";

#[test]
fn a_cluster_template_is_the_node_list_it_stands_for() {
    let s = ok(&format!("{CLUSTER}  - sleep: 1s\n"));
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["6381", "6382", "6383", "6384", "6385", "6386"]);
    assert_eq!(s.nodes[4].port, 6385);
    assert_eq!(
        s.nodes[4].config,
        "port 6385\ncluster-enabled yes\ncluster-config-file nodes-6385.conf\nappendonly yes\n"
    );
    // The expansion, written out, is a file that declares the same nodes.
    let text = expanded_text(&s);
    assert!(
        text.contains("    - name: \"6386\"\n      kind: \"redis\"\n      port: 6386\n      config: |\n"),
        "{text}"
    );
    let again = ok(&text);
    assert_eq!(
        again.nodes.iter().map(|n| (&n.name, &n.config)).collect::<Vec<_>>(),
        s.nodes.iter().map(|n| (&n.name, &n.config)).collect::<Vec<_>>()
    );
}

#[test]
fn defaults_and_overrides_merge_into_each_config_in_order() {
    let s = ok("name: t
topology:
  defaults: {redis: \"save \\\"\\\"\", sentinel: sentinel resolve-hostnames no}
  replication: {master: 6379, replicas: [6380], config: repl-backlog-size 1mb}
  sentinels: {names: [s1, s2], ports: 26379, monitor: {name: m, master: \"6379\", quorum: 2, down-after: 5000}}
  nodes:
    - {name: \"6380\", config: replica-priority 0}
    - {name: extra, kind: redis, port: 7000, config: port 7000}
steps:
  - sleep: 1s
");
    let configs: Vec<(&str, &str)> = s.nodes.iter().map(|n| (n.name.as_str(), n.config.as_str())).collect();
    assert_eq!(
        configs,
        [
            ("6379", "port 6379\nsave \"\"\nrepl-backlog-size 1mb\n"),
            ("6380", "port 6380\nslaveof 127.0.0.1 6379\nsave \"\"\nrepl-backlog-size 1mb\nreplica-priority 0\n"),
            (
                "s1",
                "port 26379\nsentinel monitor m 127.0.0.1 6379 2\nsentinel down-after-milliseconds m 5000\nsentinel resolve-hostnames no\n"
            ),
            (
                "s2",
                "port 26380\nsentinel monitor m 127.0.0.1 6379 2\nsentinel down-after-milliseconds m 5000\nsentinel resolve-hostnames no\n"
            ),
            ("extra", "save \"\"\nport 7000\n"),
        ]
    );
}

#[test]
fn a_bad_config_line_from_a_template_points_at_the_line_it_came_from() {
    let e = error(
        "name: t\ntopology:\n  cluster:\n    masters: 1\n    ports: 7000\n    config: |\n      appendonly yes\n      maxmemory lots\nsteps:\n  - sleep: 1s\n",
    );
    assert!(e.contains("--> s.yaml:8:7\n"), "{e}");
}

#[test]
fn the_manual_build_is_the_lecture_s_commands() {
    let s = ok(
        "name: t\ntopology:\n  cluster: {masters: 3, replicas: 1, ports: 6381, build: meet}\nsteps:\n  - sleep: 1s\n",
    );
    let texts: Vec<&str> = s.steps.iter().map(|st| st.text.as_str()).collect();
    assert_eq!(texts.len(), 15, "{texts:#?}");
    assert!(texts[1].contains("cluster meet 127.0.0.1 6382"), "{}", texts[1]);
    assert!(texts[6].contains("cluster addslotsrange 0 5460"), "{}", texts[6]);
    assert!(texts[8].contains("cluster addslotsrange 10923 16383"), "{}", texts[8]);
    assert!(texts[10].contains("{node: \"6384\", command: \"cluster replicate ${node-id:6381}\""), "{}", texts[10]);
    assert_eq!(texts[14], "sleep: 1s", "the file's own steps follow the build");
}

#[test]
fn template_mistakes_are_diagnostics_with_hints() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "name: t\ntopology:\n  clustr: {masters: 3, ports: 6381}\nsteps: [sleep: 1s]\n",
            "s.yaml:3:3",
            "unknown key `clustr` in topology",
            "did you mean `cluster`?",
        ),
        (
            "name: t\ntopology:\n  cluster: {masters: 3, ports: 6381, build: by-hand}\nsteps: [sleep: 1s]\n",
            "s.yaml:3:45",
            "unknown cluster build `by-hand`",
            "`none` (the nodes start empty",
        ),
        (
            "name: t\ntopology:\n  cluster: {masters: 3, replicas: 1, ports: \"6381-6385\"}\nsteps: [sleep: 1s]\n",
            "s.yaml:3:45",
            "ports 6381-6385 are not the 6 nodes' ports",
            "6 nodes need 6 ports, e.g. `6381-6386`",
        ),
        (
            "name: t\ntopology:\n  cluster: {masters: 1, ports: 7000}\n  nodes:\n    - {name: \"7001\", config: x}\nsteps: [sleep: 1s]\n",
            "s.yaml:5:14",
            "no template declares a node `7001` to change",
            "did you mean `7000`?",
        ),
        (
            "name: t\ntopology:\n  defaults: {rediss: appendonly yes}\n  nodes: [{kind: redis, port: 1}]\nsteps: [sleep: 1s]\n",
            "s.yaml:3:14",
            "unknown node kind `rediss` in defaults",
            "did you mean `redis`?",
        ),
        (
            "name: t\ntopology:\n  replication: {master: 6379}\n  sentinels: {ports: 26379, monitor: {name: m, master: \"6397\", quorum: 1}}\nsteps: [sleep: 1s]\n",
            "s.yaml:4:56",
            "unknown node `6397` in monitor.master",
            "did you mean `6379`?",
        ),
    ];
    for (text, at, message, hint) in cases {
        assert_diag(&error(text), at, message, hint);
    }
}

#[test]
fn selector_and_quantifier_mistakes_are_diagnostics_with_hints() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "  - redis-cli: {node: \"${replica:6381}\", command: ping}\n",
            "s.yaml:5:23",
            "unknown selector `${replica:6381}`",
            "did you mean `${replica-of:6381}`?",
        ),
        (
            "  - redis-cli: {node: \"${replica-of:6318}\", command: ping}\n",
            "s.yaml:5:23",
            "unknown node `6318` in `${replica-of:6318}`",
            "did you mean `${replica-of:6381}`?",
        ),
        (
            "  - redis-cli: {node: \"6381\", command: \"get ${master-of-slot:16384}\"}\n",
            "s.yaml:5:40",
            "`16384` in `${master-of-slot:16384}` is not a hash slot",
            "slots go from 0 to 16383",
        ),
        (
            "  - wait-until: {cluster-info: {nodes: most, field: cluster_state, equals: ok}, within: 1s}\n",
            "s.yaml:5:40",
            "unknown quantifier `most` for nodes",
            "`all`, `any` or `majority`",
        ),
        (
            "  - wait-until: {cluster-info: {nodes: majorty, field: cluster_state, equals: ok}, within: 1s}\n",
            "s.yaml:5:40",
            "unknown quantifier `majorty` for nodes",
            "did you mean `majority`?",
        ),
        (
            "  - assert: {role: {node: \"6381\", nodes: all, is: master}}\n",
            "s.yaml:5:21",
            "`role` has both `node` and `nodes`",
            "`node:` names one node",
        ),
        (
            "  - assert: {role: {nodes: [\"6381\", \"6390\"], is: master}}\n",
            "s.yaml:5:37",
            "unknown node `6390` in nodes",
            "nodes are:",
        ),
    ];
    for (step, at, message, hint) in cases {
        assert_diag(&error(&format!("{CLUSTER}{step}")), at, message, hint);
    }
}

#[test]
fn nodes_all_means_every_node_of_the_condition_s_kind() {
    let s = ok("name: t
topology:
  replication: {master: 6379, replicas: [6380]}
  sentinels: {ports: 26379, monitor: {name: m, master: \"6379\", quorum: 1}}
steps:
  - wait-until: {role: {nodes: all, except: [\"6379\"], is: slave}, log: {nodes: all, matches: Ready}, within: 1s}
");
    assert_eq!(s.steps.len(), 1);
    let e = error(
        "name: t\ntopology:\n  replication: {master: 6379}\nsteps:\n  - assert: {role: {nodes: all, except: [\"6379\"], is: slave}}\n",
    );
    assert_diag(
        &e,
        "s.yaml:5:28",
        "`role` applies to no node",
        "every node it could apply to is left out by `except:`",
    );
}

const FRAGMENT_STEPS: &str = "# two steps\n- sleep: 1s\n- sleeep: 2s\n";

#[test]
fn includes_splice_files_and_their_errors_point_into_them() {
    let files = BTreeMap::from([("frag.yaml", FRAGMENT_STEPS)]);
    let text = format!("{CLUSTER}  - sleep: 5ms\n  - include: frag.yaml\n");
    let e = parse_with(&text, &files, &[]).err().expect("the fragment has a bad step");
    assert_diag(&e, "frag.yaml:3:3", "unknown step `sleeep`", "did you mean `sleep`?");
    assert!(e.contains("3 | - sleeep: 2s"), "the fragment's own line is shown:\n{e}");
    let files = BTreeMap::from([("frag.yaml", "- sleep: 1s\n- sleep: 2s\n")]);
    let s = parse_with(&text, &files, &[]).unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<&str> = s.steps.iter().map(|st| st.text.as_str()).collect();
    assert_eq!(
        texts,
        ["sleep: 5ms", "sleep: 1s (frag.yaml:1)", "sleep: 2s (frag.yaml:2)"],
        "steps say where they came from"
    );
}

#[test]
fn missing_files_and_cycles_are_errors() {
    let text = format!("{CLUSTER}  - include: nope.yaml\n");
    assert_diag(
        &parse_with(&text, &BTreeMap::new(), &[]).err().expect("rejected"),
        "s.yaml:5:14",
        "cannot read `nope.yaml`",
        "paths are relative",
    );
    let files = BTreeMap::from([("a.yaml", "- include: b.yaml\n"), ("b.yaml", "- include: a.yaml\n")]);
    let text = format!("{CLUSTER}  - include: a.yaml\n");
    let e = parse_with(&text, &files, &[]).err().expect("rejected");
    assert_diag(
        &e,
        "b.yaml:1:12",
        "`a.yaml` includes itself: a.yaml -> b.yaml -> a.yaml",
        "a fragment may not include a file",
    );
    // Without a loader (a library caller), including is refused, not attempted.
    let e = scenario::parse_scenario("s.yaml", &text, &registry()).err().expect("rejected").render("s.yaml", &text);
    assert!(e.contains("cannot read `a.yaml` here"), "{e}");
}

#[test]
fn extends_and_params_make_one_file_a_family_of_runs() {
    let base = "params: {timeout: 15000, masters: 3}
seed: 7
topology:
  cluster: {masters: \"${param:masters}\", ports: 7000, config: \"cluster-node-timeout ${param:timeout}\"}
steps: [sleep: 1s]
";
    let files = BTreeMap::from([("base.yaml", base)]);
    let child = "extends: base.yaml\nname: child\nparams: {timeout: 2000}\n";
    let s = parse_with(child, &files, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.name.as_str(), s.seed, s.nodes.len()), ("child", 7, 3));
    assert!(
        s.nodes[0].config.ends_with("cluster-node-timeout 2000\n"),
        "the child's default wins: {}",
        s.nodes[0].config
    );
    let s = parse_with(child, &files, &[("timeout", "5000"), ("masters", "2")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.nodes.len(), 2, "a whole-scalar parameter keeps its type");
    assert!(s.nodes[1].config.ends_with("cluster-node-timeout 5000\n"), "{}", s.nodes[1].config);
    let e = parse_with(child, &files, &[("timeuot", "1")]).err().expect("rejected");
    assert_diag(
        &e,
        "base.yaml:1:1",
        "`--set timeuot=...`: the scenario has no parameter `timeuot`",
        "did you mean `--set timeout=...`?",
    );
    let e = error(&format!("{CLUSTER}  - sleep: \"${{param:pause}}\"\n"));
    assert_diag(&e, "s.yaml:5:12", "unknown parameter `${param:pause}`", "declare it under `params:`");
}

#[test]
fn selectors_follow_the_nodes_as_the_step_runs() {
    let s = ok("name: t
topology:
  replication: {master: 6379, replicas: [6380]}
steps:
  - wait-until: {master-link: {node: \"${replica-of:6379}\", is: up}, within: 10s}
  - redis-cli: {node: \"${master-of:6380}\", command: \"set k v\", expect: OK}
  - redis-cli: {node: \"${master-of:6379}\", command: \"get k\", expect: '\"v\"'}
  - wait-until: {caught-up: {node: \"${replica-of:6379}\", with: \"${master-of:6380}\"}, within: 2s}
  - redis-cli: {node: \"6380\", command: \"replicaof no one\", expect: OK}
  - assert: {role: {node: \"${replica-of:6379}\", is: slave}}
");
    let (report, _) = scenario::run(s, None, &registry(), String::new());
    let outcomes: Vec<String> = report.steps.iter().map(|st| format!("{:?}", st.outcome)).collect();
    assert_eq!(outcomes, ["Pass", "Pass", "Pass", "Pass", "Pass", "Fail"], "{report:#?}");
    let failure = report.failure.unwrap_or_default();
    assert!(failure.contains("`${replica-of:6379}`: no running node replicates from 6379 now"), "{failure}");
}

#[test]
fn cluster_selectors_name_the_ids_and_owners_of_now() {
    let s = ok("name: t
topology:
  cluster: {masters: 3, replicas: 1, ports: 6381, build: meet}
steps:
  - redis-cli: {node: \"${master-of-slot:449}\", command: \"cluster myid\", expect: '\"${node-id:6381}\"'}
  - redis-cli: {node: \"${replica-of:6382}\", command: \"cluster myid\", expect: '\"${node-id:6385}\"'}
  - assert: {cluster-slot-owner: {nodes: all, slot: 12706, is: \"${master-of-slot:12706}\"}, role: {node: \"${master-of-slot:12706}\", is: master}}
  - assert: {cluster-info: {nodes: majority, field: cluster_state, equals: ok}}
");
    let (report, _) = scenario::run(s, None, &registry(), String::new());
    assert_eq!(report.failure, None, "{:#?}", report.steps);
    assert_eq!(report.steps.len(), 18);
}

#[test]
fn with_role_counts_the_nodes_that_have_the_role_at_each_look() {
    let s = ok("name: t
topology:
  replication: {master: 6379, replicas: [6380, 6381]}
steps:
  - wait-until: {master-link: {nodes: all, with-role: replica, is: up}, role: {nodes: all, except: [\"6379\"], is: slave}, within: 10s}
  - assert: {role: {nodes: majority, with-role: slave, is: slave}, info: {nodes: all, with-role: master, field: connected_slaves, equals: \"2\"}}
  - stop: \"6379\"
  - wait-until: {master-link: {nodes: all, with-role: slave, is: down}, within: 2s}
  - redis-cli: {node: \"6380\", command: \"replicaof no one\", expect: OK}
  - redis-cli: {node: \"6381\", command: \"replicaof no one\", expect: OK}
  - assert: {master-link: {nodes: any, with-role: slave, is: down}}
");
    let (report, _) = scenario::run(s, None, &registry(), String::new());
    let failure = report.failure.unwrap_or_default();
    assert!(failure.starts_with("step 7 "), "every step before the last passes: {failure}");
    assert!(failure.contains("no node is slave now"), "{failure}");
    let e = error(&format!("{CLUSTER}  - assert: {{role: {{nodes: all, with-role: leader, is: master}}}}\n"));
    assert_diag(&e, "s.yaml:5:44", "unknown role `leader` for with-role", "`master` or `slave` (or `replica`)");
}

/// Every shipped scenario's expansion is a file without templates, includes
/// or parameters that declares the same nodes and the same steps.
#[test]
fn every_shipped_expansion_declares_the_same_scenario() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let disk = |from: &str, name: &str| -> Result<(String, Vec<u8>), String> {
        let path = std::path::Path::new(from).parent().unwrap().join(name);
        std::fs::read(&path).map(|b| (path.display().to_string(), b)).map_err(|e| e.to_string())
    };
    let options = ComposeOptions { loader: Some(&disk), ..Default::default() };
    let mut files: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    assert!(files.len() >= 20);
    for path in files {
        let file = path.display().to_string();
        let s = parse_scenario_with(&file, std::fs::read(&path).unwrap(), &registry(), &options)
            .unwrap_or_else(|r| panic!("{}", r.render(&file)));
        let text = expanded_text(&s);
        assert!(!text.contains("include:") && !text.contains("${param:"), "{file}: {text}");
        let e = scenario::parse_scenario("expanded.yaml", &text, &registry())
            .unwrap_or_else(|d| panic!("{file} expanded:\n{}", d.render("expanded.yaml", &text)));
        let nodes = |s: &Scenario| -> Vec<_> {
            s.nodes
                .iter()
                .map(|n| (n.name.clone(), n.kind.clone(), n.host.clone(), n.port, n.config.clone(), n.start))
                .collect()
        };
        assert_eq!(nodes(&e), nodes(&s), "{file}");
        let steps = |s: &Scenario| -> Vec<String> { s.steps.iter().map(|st| st.action.clone()).collect() };
        assert_eq!(steps(&e), steps(&s), "{file}");
        assert_eq!((e.seed, e.epoch_ms, e.poll), (s.seed, s.epoch_ms, s.poll), "{file}");
    }
}

/// `chaoslab schema` shows every form of the language to an editor.
#[test]
fn the_schema_shows_templates_selectors_quantifiers_and_composition() {
    let schema = serde_json::to_value(scenario::schema::scenario_schema(&registry())).unwrap();
    let topology = &schema["properties"]["topology"]["properties"];
    for key in ["cluster", "replication", "sentinels", "defaults", "nodes"] {
        assert!(topology.get(key).is_some(), "topology.{key} missing");
    }
    assert_eq!(
        topology["cluster"]["allOf"][0]["properties"]["build"]["enum"],
        serde_json::json!(["none", "meet", "create"])
    );
    for key in ["params", "extends"] {
        assert!(schema["properties"].get(key).is_some(), "{key} missing");
    }
    let selectors = &schema["$defs"]["selectors"]["properties"];
    for name in ["node-id", "replica-of", "master-of", "master-of-slot", "role", "sentinel-master"] {
        assert!(selectors[name]["examples"][0].as_str().is_some_and(|e| e.contains(&format!("${{{name}:"))), "{name}");
    }
    let master_link = &schema["$defs"]["condition"]["properties"]["master-link"]["properties"];
    assert_eq!(master_link["nodes"]["oneOf"][0]["enum"], serde_json::json!(["all", "any", "majority"]));
    assert!(master_link.get("except").is_some() && master_link.get("with-role").is_some());
    let steps = schema["$defs"]["step"]["oneOf"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["$ref"] == "#/$defs/include"), "a step may be an include");
}
