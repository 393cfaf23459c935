//! `redis-lab`: the scenario vocabulary of the node kind `redis`. It owns
//! [`RedisKind`] (config validation and the process factory), the `redis-cli`
//! step ([`cli_step`]), `redis-cli-session` ([`session_step`]), the raw-bytes
//! `redis-raw` ([`raw_step`]), `redis-cli-background` ([`background_step`]),
//! the `redis-cli-cluster` step and the `redis-cli --cluster` manager behind
//! it ([`cluster_tool`]), `stdout: pipe` ([`stdout`]), the conditions on
//! Redis nodes ([`conditions`], [`cluster_conditions`]), the ready-made
//! continuous invariants over a deployment ([`invariants`], `acked`), and the driver of
//! `workloads:` ([`workloads`]: redis-py-like clients of the `workload` crate).
//!
//! It reads nodes only through the read-only views the `redis` crate exports
//! ([`redis::view`]); it must not depend on `sentinel` or the CLI, and node logic
//! must never depend on it.
//!
//! Must not depend on: `sentinel`, `sentinel-lab`, `chaoslab`.

mod acked;
pub mod background_step;
pub mod cli_step;
pub mod cluster_conditions;
pub mod cluster_tool;
pub mod conditions;
pub mod invariants;
pub mod raw_step;
pub mod selectors;
pub mod session_step;
pub mod stdout;
pub mod templates;
pub mod workloads;

#[cfg(test)]
mod tests_client_forms;
#[cfg(test)]
mod tests_cluster_client;
#[cfg(test)]
mod tests_cluster_tool;
#[cfg(test)]
mod tests_harness;
#[cfg(test)]
mod tests_invariants;
#[cfg(test)]
mod tests_workloads;

use scenario::diag::{Diagnostic, Diagnostics};
use scenario::yaml::Node;
use scenario::{Condition, NodeDecl, NodeKind, ParseCx, Step, Syntax};
use serde_json::json;
use sim::{Factory, ProcId, Sim};

/// The `redis` node kind.
pub struct RedisKind;

impl NodeKind for RedisKind {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn build(&self, node: &NodeDecl) -> Result<Factory, Diagnostics> {
        let config = redis::config::parse(&node.config, node.port).map_err(|errors| {
            node.config_errors(errors, "see the redis.conf directives chaoslab honours in the README")
        })?;
        let databases_bytes = database_bytes(config.databases);
        if databases_bytes > scenario::RUN_MEMORY_BUDGET {
            let line = node.config.lines().position(|l| l.trim_start().to_ascii_lowercase().starts_with("databases"));
            let message = format!(
                "node {}: databases {} would take {} GiB before the first key (the run's memory budget is {} GiB)",
                node.name,
                config.databases,
                databases_bytes >> 30,
                scenario::RUN_MEMORY_BUDGET >> 30
            );
            let hint = "real Redis defaults to 16 databases; a few hundred is already unusual";
            return Err(node.config_errors(vec![(line.unwrap_or(0), message)], hint));
        }
        let costs = redis_costs(node.costs);
        Ok(Box::new(move || Box::new(redis::server::Server::new(config.clone()).with_costs(costs))))
    }

    fn models_costs(&self) -> bool {
        true
    }

    fn fixed_memory(&self, node: &NodeDecl) -> u64 {
        redis::config::parse(&node.config, node.port).map_or(0, |c| database_bytes(c.databases))
    }

    fn steps(&self) -> Vec<Syntax> {
        vec![
            Syntax {
                name: "redis-cli",
                doc: "run one command as redis-cli would, from a client on a host; check or capture the printed reply",
                schema: json!({"type": "object", "required": ["node", "command"], "additionalProperties": false, "properties": {
                "node": {"type": "string"}, "command": {"type": "string", "examples": ["set k1 v1"]},
                "from": {"type": "string", "description": "host (or node whose host) to run on; default: the node's"},
                "auth": {"type": "string", "description": "like redis-cli -a"},
                "expect": {"type": "string", "description": "exact reply as redis-cli prints it, e.g. OK, \"v1\", (integer) 1"},
                "expect-match": {"type": "string", "description": "regex the printed reply must match"},
                "capture": {"type": "string"}, "timeout": {"type": "string", "default": "10s"},
                "repeat": {"type": "integer", "minimum": 1, "description": "like redis-cli -r: run the command this many times; the output is every reply"},
                "cluster": {"type": "boolean", "default": false, "description": "like redis-cli -c: follow MOVED and ASK redirections"},
                "interactive": {"type": "boolean", "default": false, "description": "with cluster: as typed at the redis-cli prompt, so each redirection prints '-> Redirected to slot [s] located at ip:port'"},
                "stdout": stdout::schema()}}),
            },
            Syntax {
                name: "redis-cli-cluster",
                doc: "run `redis-cli --cluster <command>` (create, check, info, add-node, del-node, reshard, rebalance, fix) from a client on a host; check or capture what it printed",
                schema: json!({"type": "object", "required": ["command"], "additionalProperties": false, "properties": {
                "command": {"type": "string", "examples": ["create 127.0.0.1:6381 127.0.0.1:6382 127.0.0.1:6383 127.0.0.1:6384 127.0.0.1:6385 127.0.0.1:6386 --cluster-replicas 1 --cluster-yes"]},
                "from": {"type": "string", "description": "host (or node whose host) to run on; default: the host of the first address"},
                "auth": {"type": "string", "description": "like redis-cli -a"},
                "expect-lines": {"type": "array", "items": {"type": "string"}, "description": "lines that must each appear in the output, exactly"},
                "expect-match": {"type": "string", "description": "regex the whole output must match"},
                "expect-exit": {"type": "integer", "enum": [0, 1], "default": 0, "description": "redis-cli's exit status: 1 when the command failed"},
                "capture": {"type": "string"}, "timeout": {"type": "string", "default": "120s"}}}),
            },
            session_step::syntax(),
            raw_step::syntax(),
            background_step::syntax(),
        ]
    }

    fn parse_step(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        match name {
            "redis-cli-session" => session_step::parse_step(value, cx),
            "redis-raw" => raw_step::parse_step(value, cx),
            "redis-cli-background" => background_step::parse_step(value, cx),
            "redis-cli-cluster" => cluster_tool::step::parse_step(value, cx),
            _ => cli_step::parse_step(value, cx),
        }
    }

    fn selectors(&self) -> Vec<Box<dyn scenario::kind::Selector>> {
        selectors::all()
    }

    fn templates(&self) -> Vec<Box<dyn scenario::expand::TopologyTemplate>> {
        vec![Box::new(templates::ClusterTemplate), Box::new(templates::ReplicationTemplate)]
    }

    fn conditions(&self) -> Vec<Syntax> {
        conditions::syntax()
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        conditions::parse(name, value, cx)
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        match sim.process::<redis::server::Server>(proc) {
            Some(s) => {
                let mut state = json!({
                    "role": s.role_name(),
                    "run_id": s.run_id(),
                    "master_repl_offset": s.repl_offset(),
                    "db0_keys": s.dbsize(0)
                });
                if let Some(c) = s.cluster_view() {
                    state["cluster"] = cluster_summary(&c.summary());
                }
                state
            }
            None => serde_json::Value::Null,
        }
    }
}

/// What `databases` empty databases take in the simulator.
fn database_bytes(databases: usize) -> u64 {
    (databases as u64).saturating_mul(std::mem::size_of::<redis::keyspace::Db>() as u64)
}

/// A cluster node's final state as the report keeps it.
fn cluster_summary(s: &redis::view::ClusterSummary) -> serde_json::Value {
    json!({
        "id": s.id,
        "state": if s.state_ok { "ok" } else { "fail" },
        "flags": s.flags,
        "master": s.master,
        "slots": s.slots,
        "current_epoch": s.current_epoch,
        "config_epoch": s.config_epoch,
        "known_nodes": s.known_nodes,
        "bus_messages_sent": s.bus_messages_sent,
        "bus_messages_received": s.bus_messages_received,
    })
}

/// A scenario's `costs:` over the measured defaults of [`redis::costs::Costs`].
pub fn redis_costs(set: scenario::costs::Costs) -> redis::costs::Costs {
    let d = redis::costs::Costs::default();
    redis::costs::Costs {
        command: set.command.unwrap_or(d.command),
        read: set.read.unwrap_or(d.read),
        per_mib: set.per_mib.unwrap_or(d.per_mib),
        bus_message: set.bus_message.unwrap_or(d.bus_message),
        startup: set.startup.unwrap_or(d.startup),
        load_per_mib: set.load_per_mib.unwrap_or(d.load_per_mib),
        fsync: set.fsync.unwrap_or(d.fsync),
    }
}

#[cfg(test)]
mod tests {
    use scenario::Registry;

    fn errors(nodes: &str) -> String {
        let source = format!("name: t\ntopology:\n  nodes:\n{nodes}steps:\n  - sleep: 1s\n");
        let mut registry = Registry::new();
        registry.register(Box::new(super::RedisKind));
        match scenario::parse_scenario("s.yaml", &source, &registry) {
            Ok(_) => String::new(),
            Err(d) => d.render("s.yaml", &source),
        }
    }

    fn node(port: u16, databases: u64) -> String {
        format!(
            "    - {{name: \"{port}\", kind: redis, port: {port}, config: \"port {port}\\ndatabases {databases}\"}}\n"
        )
    }

    #[test]
    fn a_config_that_cannot_fit_is_refused_by_check_at_its_directive() {
        let text = errors(&node(6379, 2_000_000_000));
        assert!(text.starts_with("error: node 6379: databases 2000000000 would take "), "{text}");
        assert!(text.contains("= hint: real Redis defaults to 16 databases"), "{text}");
        assert_eq!(text.matches("error:").count(), 1, "one cause, one error: {text}");
        // Each node fits, together they do not.
        let many: String = (0..20).map(|i| node(6379 + i, 3_000_000)).collect();
        let text = errors(&many);
        assert!(text.contains("over the run's memory budget of 4.0 GiB"), "{text}");
        assert_eq!(errors(&node(6379, 16)), "", "the default fits");
    }
}
