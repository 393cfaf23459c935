//! `sentinel`: Redis Sentinel 7.0 as the chaoslab node kind `sentinel`. It owns
//! the sans-IO Sentinel process ([`sentinel::Sentinel`]): monitoring of masters
//! and replicas over two RESP links each (commands, and pub/sub on
//! `__sentinel__:hello`), discovery of replicas from INFO and of other Sentinels
//! from hello messages, SDOWN/ODOWN, the leader vote per epoch, the failover
//! state machine, TILT, the SENTINEL commands ([`commands`]) including runtime
//! reconfiguration (MONITOR/SET/REMOVE/CONFIG, `reconfig.rs`), its event log in
//! redis-sentinel's format, its sentinel.conf and the rewrite of it on every
//! state change ([`config`]); the scenario conditions on Sentinels
//! ([`conditions`]); and a Sentinel-aware client ([`client`]) behind the
//! `sentinel-client` step.
//!
//! It must not depend on the CLI or the report format, nor reach the outside
//! world: it sees the network, clock and disk only through `sim::Ctx`. It uses
//! the `redis` crate for what a Sentinel shares with redis-server (log line
//! format, pub/sub bookkeeping, ids) and must not reach into a Redis node's
//! state: it learns about Redis nodes only over the network, as Sentinel does.

pub mod client;
pub mod commands;
pub mod conditions;
pub mod config;
pub mod instance;
mod reconfig;
pub mod sentinel;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;

use scenario::diag::{Diagnostic, Diagnostics};
use scenario::yaml::Node;
use scenario::{Condition, NodeDecl, NodeKind, ParseCx, Step, Syntax};
use serde_json::json;
use sim::{Factory, ProcId, Sim};

/// The `sentinel` node kind.
pub struct SentinelKind;

impl NodeKind for SentinelKind {
    fn name(&self) -> &'static str {
        "sentinel"
    }

    fn build(&self, node: &NodeDecl) -> Result<Factory, Diagnostics> {
        let config = config::parse(&node.config, node.port).map_err(|errors| {
            node.config_errors(errors, "see the sentinel.conf directives chaoslab honours in the README")
        })?;
        Ok(Box::new(move || Box::new(sentinel::Sentinel::new(config.clone()))))
    }

    fn steps(&self) -> Vec<Syntax> {
        vec![client::syntax()]
    }

    fn parse_step(&self, _: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        client::parse_step(value, cx)
    }

    fn conditions(&self) -> Vec<Syntax> {
        conditions::syntax()
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        conditions::parse(name, value, cx)
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        match sim.process::<sentinel::Sentinel>(proc) {
            Some(s) => {
                let masters: serde_json::Map<String, serde_json::Value> = s
                    .master_names()
                    .into_iter()
                    .filter_map(|n| s.master_addr(&n).map(|(ip, port)| (n, json!(format!("{ip}:{port}")))))
                    .collect();
                json!({"myid": s.myid(), "current_epoch": s.current_epoch(), "tilt": s.in_tilt(), "masters": masters})
            }
            None => serde_json::Value::Null,
        }
    }
}
