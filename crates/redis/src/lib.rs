//! `redis`: Redis 7.0 as a chaoslab node kind. It owns the sans-IO server
//! ([`server::Server`]), the `redis.conf` directives it honours ([`config`]), the
//! dataset ([`keyspace`]) and its commands ([`commands`]), pub/sub
//! ([`pubsub`]), MULTI/EXEC and CLIENT KILL ([`multi`]), master/replica
//! replication, RDB/AOF persistence, its log format ([`log`]) and redis-cli as a
//! simulated client with the `redis-cli` scenario step ([`cli`]).
//!
//! It must not depend on the CLI or the report format, and must not reach the
//! outside world: it sees the network, clock and disk only through `sim::Ctx`,
//! so the same server can later run behind real sockets.
//!
//! Replication ([`replication`]) and persistence ([`persistence`], [`rdb`]) run
//! on the same kernel inputs: the master link is a connection, fsync is the
//! simulated disk's, forks are timers.

pub mod cli;
pub mod cluster;
pub mod cluster_client;
pub mod cluster_tool;
pub mod commands;
pub mod conditions;
pub mod config;
pub mod keyspace;
pub mod log;
pub mod lzf;
pub mod migrate;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod server;
pub mod slot;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cluster_client;
#[cfg(test)]
mod tests_cluster_tool;
#[cfg(test)]
mod tests_hello;
#[cfg(test)]
mod tests_migrate;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_pubsub;
#[cfg(test)]
mod tests_repl;
#[cfg(test)]
mod tests_types;

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
        let config = config::parse(&node.config, node.port).map_err(|errors| {
            node.config_errors(errors, "see the redis.conf directives chaoslab honours in the README")
        })?;
        Ok(Box::new(move || Box::new(server::Server::new(config.clone()))))
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
            "redis-cli-cluster" => cluster_tool::parse_step(value, cx),
            _ => cli::parse_step(value, cx),
        }
    }

    fn conditions(&self) -> Vec<Syntax> {
        conditions::syntax()
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        conditions::parse(name, value, cx)
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        match sim.process::<server::Server>(proc) {
            Some(s) => {
                let mut state = json!({
                    "role": s.role_name(),
                    "run_id": s.run_id(),
                    "master_repl_offset": s.repl_offset(),
                    "db0_keys": s.dbsize(0)
                });
                if let Some(c) = s.cluster_summary() {
                    state["cluster"] = c;
                }
                state
            }
            None => serde_json::Value::Null,
        }
    }
}
