//! The topology templates of the node kind `redis`: `cluster:` (M masters ×
//! R replicas on consecutive ports, built by hand with CLUSTER MEET /
//! ADDSLOTSRANGE / REPLICATE, by `redis-cli --cluster create`, or left empty)
//! and `replication:` (a master and its replicas, `replicaof` in their config
//! files). Each expands to the explicit node list `chaoslab check --expand` shows.

use crate::cluster_tool::plan::slot_ranges;
use scenario::Syntax;
use scenario::diag::Diagnostic;
use scenario::expand::{ConfigLine, DEFAULTS_AT, Expansion, GenNode, TemplateCx, TopologyTemplate, line};
use scenario::yaml::{Node, Span, Value};
use serde_json::json;
use std::fmt::Write as _;

/// `cluster:`.
pub struct ClusterTemplate;

const CLUSTER_KEYS: &[&str] = &["masters", "replicas", "ports", "config", "build"];
const BUILDS: &str = "`none` (the nodes start empty: build it in your steps), `meet` (CLUSTER MEET, \
                      ADDSLOTSRANGE and REPLICATE, then wait until every node is ok) or `create` \
                      (`redis-cli --cluster create`, then wait until every node is ok)";

impl TopologyTemplate for ClusterTemplate {
    fn syntax(&self) -> Syntax {
        Syntax {
            name: "cluster",
            doc: "a Redis Cluster of `masters` × (1 + `replicas`) nodes on consecutive ports from `ports`, \
                  each with `cluster-enabled yes`, `cluster-config-file nodes-<port>.conf` and `config`; \
                  `build` says how it is put together",
            schema: json!({"type": "object", "required": ["masters", "ports"], "additionalProperties": false,
                "properties": {
                    "masters": {"type": "integer", "minimum": 1},
                    "replicas": {"type": "integer", "minimum": 0, "default": 0, "description": "replicas per master"},
                    "ports": {"type": ["integer", "string"], "examples": [6381, "6381-6386"],
                              "description": "the first port, or the whole range"},
                    "config": {"type": "string", "description": "config lines added to every node of the cluster"},
                    "build": {"enum": ["none", "meet", "create"], "default": "none"}}}),
        }
    }

    fn expand(&self, value: &Node, cx: &TemplateCx<'_>) -> Result<Expansion, Diagnostic> {
        let mut m = value.map("cluster")?;
        let masters_node = m.required("masters")?;
        let masters = usize::try_from(masters_node.u64("cluster.masters")?).unwrap_or(usize::MAX);
        if masters == 0 || masters > 16384 {
            return Err(Diagnostic::new(masters_node.span, format!("a cluster of {masters} masters"))
                .with_hint("between 1 and 16384 masters: every master serves at least one slot"));
        }
        let replicas = match m.get("replicas") {
            Some(r) => usize::try_from(r.u64("cluster.replicas")?).unwrap_or(usize::MAX),
            None => 0,
        };
        let total = masters.saturating_mul(replicas.saturating_add(1));
        let ports = port_range(m.required("ports")?, total, "cluster.ports")?;
        let extra = m.get("config").map(|c| cx.config_lines(c, "cluster.config")).transpose()?.unwrap_or_default();
        let build = match m.get("build") {
            Some(b) => Some((b.str("cluster.build")?, b.span)),
            None => None,
        };
        m.finish(CLUSTER_KEYS)?;
        let at = value.span;
        let nodes: Vec<GenNode> = ports
            .iter()
            .map(|&port| GenNode {
                name: port.to_string(),
                kind: "redis",
                port,
                config: [
                    line(format!("port {port}"), at),
                    line("cluster-enabled yes", at),
                    line(format!("cluster-config-file nodes-{port}.conf"), at),
                    line(DEFAULTS_AT, at),
                ]
                .into_iter()
                .chain(extra.iter().cloned())
                .collect(),
                start: true,
            })
            .collect();
        let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let steps = match build.as_ref().map(|(b, span)| (b.as_str(), *span)) {
            None | Some(("none", _)) => String::new(),
            Some(("meet", _)) => meet_steps(&names, &ports, masters),
            Some(("create", _)) => create_steps(&names, &ports, replicas),
            Some((other, span)) => {
                return Err(Diagnostic::new(span, format!("unknown cluster build `{other}`")).with_hint(BUILDS));
            }
        };
        Ok(Expansion { nodes, steps: cx.steps(&steps, at) })
    }
}

/// `6381` (the first of `count` ports) or `"6381-6386"` (exactly `count`).
fn port_range(n: &Node, count: usize, what: &str) -> Result<Vec<u16>, Diagnostic> {
    let (first, last) = match &n.value {
        Value::Str(s) => {
            let bad = || {
                Diagnostic::new(n.span, format!("invalid port range `{s}`"))
                    .with_hint("the first port (`6381`) or the whole range (`\"6381-6386\"`)")
            };
            let (a, b) = s.split_once('-').ok_or_else(bad)?;
            let a: u16 = a.trim().parse().map_err(|_| bad())?;
            let b: u16 = b.trim().parse().map_err(|_| bad())?;
            if usize::from(b) + 1 != usize::from(a) + count {
                return Err(Diagnostic::new(n.span, format!("ports {a}-{b} are not the {count} nodes' ports"))
                    .with_hint(format!(
                        "{count} nodes need {count} ports, e.g. `{a}-{}`",
                        usize::from(a) + count - 1
                    )));
            }
            (a, b)
        }
        _ => {
            let a = n.u64(what)?;
            let last = a.saturating_add(count as u64).saturating_sub(1);
            if a == 0 || last > 65535 {
                return Err(Diagnostic::new(n.span, format!("ports {a}-{last} are out of range"))
                    .with_hint("ports go from 1 to 65535"));
            }
            (a as u16, last as u16)
        }
    };
    Ok((first..=last).collect())
}

fn all(names: &[String], cond: impl Fn(&str) -> String) -> String {
    names.iter().map(|n| cond(n)).collect::<Vec<_>>().join(", ")
}

/// The lecture's manual build: every node meets the first, each master takes
/// its slots as `redis-cli --cluster create` would split them, and once all
/// know each other the replicas (master `i % masters`) replicate.
fn meet_steps(names: &[String], ports: &[u16], masters: usize) -> String {
    let mut s = ready(names);
    for p in &ports[1..] {
        let _ =
            writeln!(s, "- redis-cli: {{node: \"{}\", command: \"cluster meet 127.0.0.1 {p}\", expect: OK}}", names[0]);
    }
    for (i, (a, b)) in slot_ranges(masters).into_iter().enumerate() {
        let _ = writeln!(
            s,
            "- redis-cli: {{node: \"{}\", command: \"cluster addslotsrange {a} {b}\", expect: OK}}",
            names[i]
        );
    }
    let n = names.len();
    let known =
        all(names, |x| format!("{{cluster-info: {{node: \"{x}\", field: cluster_known_nodes, equals: \"{n}\"}}}}"));
    let _ = writeln!(s, "- wait-until: {{all: [{known}], within: 10s}}");
    for (i, r) in names.iter().enumerate().skip(masters) {
        let m = &names[i % masters];
        let _ =
            writeln!(s, "- redis-cli: {{node: \"{r}\", command: \"cluster replicate ${{node-id:{m}}}\", expect: OK}}");
    }
    s + &all_ok(names, masters)
}

/// `redis-cli --cluster create` with the replicas per master, then all ok.
fn create_steps(names: &[String], ports: &[u16], replicas: usize) -> String {
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut s = ready(names);
    let _ = writeln!(
        s,
        "- redis-cli-cluster: {{command: \"create {} --cluster-replicas {replicas} --cluster-yes\"}}",
        addrs.join(" ")
    );
    s + &all_ok(names, names.len() / (replicas + 1))
}

fn ready(names: &[String]) -> String {
    let logs = all(names, |x| format!("{{log: {{node: \"{x}\", matches: \"Ready to accept connections\"}}}}"));
    format!("- wait-until: {{all: [{logs}], within: 2s}}\n")
}

fn all_ok(names: &[String], masters: usize) -> String {
    let mut conds: Vec<String> = names
        .iter()
        .map(|x| format!("{{cluster-info: {{node: \"{x}\", field: cluster_state, equals: ok}}}}"))
        .collect();
    conds.extend(names[masters..].iter().map(|x| format!("{{master-link: {{node: \"{x}\", is: up}}}}")));
    format!("- wait-until: {{all: [{}], within: 30s}}\n", conds.join(", "))
}

/// `replication:`.
pub struct ReplicationTemplate;

const REPLICATION_KEYS: &[&str] = &["master", "replicas", "config"];

impl TopologyTemplate for ReplicationTemplate {
    fn syntax(&self) -> Syntax {
        let set = json!({"type": "object", "required": ["master"], "additionalProperties": false,
            "properties": {
                "master": {"type": "integer", "examples": [6379]},
                "replicas": {"type": "array", "items": {"type": "integer"}, "examples": [[6380, 6381]]},
                "config": {"type": "string", "description": "config lines added to every node of the set"}}});
        Syntax {
            name: "replication",
            doc: "a master and its replicas (or a list of such sets), named by their ports; each replica's \
                  config says `slaveof 127.0.0.1 <master port>`, then `config` follows",
            schema: json!({"oneOf": [set.clone(), {"type": "array", "items": set}]}),
        }
    }

    fn expand(&self, value: &Node, cx: &TemplateCx<'_>) -> Result<Expansion, Diagnostic> {
        let sets: Vec<&Node> = match &value.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut nodes = Vec::new();
        for set in sets {
            nodes.extend(replication_set(set, cx)?);
        }
        Ok(Expansion { nodes, steps: Vec::new() })
    }
}

fn port(n: &Node, what: &str) -> Result<u16, Diagnostic> {
    let p = n.u64(what)?;
    u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
        Diagnostic::new(n.span, format!("port {p} is out of range")).with_hint("ports go from 1 to 65535")
    })
}

fn replication_set(set: &Node, cx: &TemplateCx<'_>) -> Result<Vec<GenNode>, Diagnostic> {
    let mut m = set.map("replication")?;
    let master = port(m.required("master")?, "replication.master")?;
    let replicas = match m.get("replicas") {
        Some(r) => r.seq("replication.replicas")?.iter().map(|p| port(p, "replica port")).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let extra = m.get("config").map(|c| cx.config_lines(c, "replication.config")).transpose()?.unwrap_or_default();
    m.finish(REPLICATION_KEYS)?;
    let at: Span = set.span;
    let node = |port: u16, follows: Option<u16>| {
        let mut config: Vec<ConfigLine> = vec![line(format!("port {port}"), at)];
        if let Some(m) = follows {
            config.push(line(format!("slaveof 127.0.0.1 {m}"), at));
        }
        config.push(line(DEFAULTS_AT, at));
        config.extend(extra.iter().cloned());
        GenNode { name: port.to_string(), kind: "redis", port, config, start: true }
    };
    Ok(std::iter::once(node(master, None)).chain(replicas.into_iter().map(|r| node(r, Some(master)))).collect())
}
