//! `redis-lab`: the scenario vocabulary of the node kind `redis`. It owns
//! [`RedisKind`] (config validation and the process factory), the `redis-cli`
//! step ([`cli_step`]), the `redis-cli-cluster` step and the `redis-cli
//! --cluster` manager behind it ([`cluster_tool`]), and the conditions on
//! Redis nodes ([`conditions`], [`cluster_conditions`]).
//!
//! It reads nodes only through the read-only views the `redis` crate exports
//! ([`redis::view`]); it must not depend on `sentinel` or the CLI, and node logic
//! must never depend on it.
//!
//! Must not depend on: `sentinel`, `sentinel-lab`, `chaoslab`.

pub mod cli_step;
pub mod cluster_conditions;
pub mod cluster_tool;
pub mod conditions;

#[cfg(test)]
mod tests_cluster_client;
#[cfg(test)]
mod tests_cluster_tool;
#[cfg(test)]
mod tests_harness;

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
        Ok(Box::new(move || Box::new(redis::server::Server::new(config.clone()))))
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
                "interactive": {"type": "boolean", "default": false, "description": "with cluster: as typed at the redis-cli prompt, so each redirection prints '-> Redirected to slot [s] located at ip:port'"}}}),
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
        ]
    }

    fn parse_step(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        match name {
            "redis-cli-cluster" => cluster_tool::step::parse_step(value, cx),
            _ => cli_step::parse_step(value, cx),
        }
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
