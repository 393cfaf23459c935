//! `sentinel-lab`: the scenario vocabulary of the node kind `sentinel`. It owns
//! [`SentinelKind`] (sentinel.conf validation and the process factory), the
//! conditions on Sentinels ([`conditions`]) and the `sentinel-client` step
//! ([`client_step`]).
//!
//! It reads Sentinels only through their public read-only accessors. It must not
//! depend on `redis` or `redis-lab` or the CLI, and node
//! logic must never depend on it.
//!
//! Must not depend on: `redis`, `redis-lab`, `chaoslab`.

pub mod client_step;
pub mod conditions;
pub mod selectors;
pub mod templates;

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
        let config = sentinel::config::parse(&node.config, node.port).map_err(|errors| {
            node.config_errors(errors, "see the sentinel.conf directives chaoslab honours in the README")
        })?;
        Ok(Box::new(move || Box::new(sentinel::sentinel::Sentinel::new(config.clone()))))
    }

    fn steps(&self) -> Vec<Syntax> {
        vec![client_step::syntax()]
    }

    fn parse_step(&self, _: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        client_step::parse_step(value, cx)
    }

    fn templates(&self) -> Vec<Box<dyn scenario::expand::TopologyTemplate>> {
        vec![Box::new(templates::SentinelsTemplate)]
    }

    fn selectors(&self) -> Vec<Box<dyn scenario::kind::Selector>> {
        vec![Box::new(selectors::SentinelMaster)]
    }

    fn conditions(&self) -> Vec<Syntax> {
        conditions::syntax()
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        conditions::parse(name, value, cx)
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        match sim.process::<sentinel::sentinel::Sentinel>(proc) {
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
