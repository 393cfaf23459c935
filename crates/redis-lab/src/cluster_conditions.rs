//! Scenario conditions on cluster nodes, each as one node sees the cluster:
//! a CLUSTER INFO field (state, epochs, sizes), this node's id (to capture),
//! the owner of a slot, another node's flags, and whom a node replicates.
//! They read state only, so polling them never changes the trace.

use crate::conditions::{InfoField, InfoSource};
use redis::server::Server;
use redis::view::{ClusterView, PeerView};
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime, Syntax};
use serde_json::json;

pub(crate) fn syntax() -> Vec<Syntax> {
    let node = json!({"type": "string"});
    vec![
        Syntax {
            name: "cluster-info",
            doc: "a CLUSTER INFO field of a node (cluster_state, cluster_current_epoch, cluster_my_epoch, cluster_known_nodes, ...) equals a value or matches a regex",
            schema: json!({"type": "object", "required": ["node", "field"], "additionalProperties": false, "properties": {
                "node": node, "field": {"type": "string", "examples": ["cluster_state"]},
                "equals": {"type": "string"}, "matches": {"type": "string"}}}),
        },
        Syntax {
            name: "cluster-node-id",
            doc: "a cluster node's own id (CLUSTER MYID); observes it, so `capture` can keep it",
            schema: json!({"type": "object", "required": ["node"], "additionalProperties": false, "properties": {"node": node}}),
        },
        Syntax {
            name: "cluster-slot-owner",
            doc: "as `node` sees it, hash slot `slot` is served by the node `is`",
            schema: json!({"type": "object", "required": ["node", "slot", "is"], "additionalProperties": false, "properties": {
                "node": node, "slot": {"type": "integer", "minimum": 0, "maximum": 16383}, "is": node}}),
        },
        Syntax {
            name: "cluster-flags",
            doc: "as `node` sees it, node `about` has every flag in `has` (CLUSTER NODES flags: master, slave, fail?, fail, handshake, noaddr, nofailover, myself), and none in `lacks`",
            schema: json!({"type": "object", "required": ["node", "about"], "additionalProperties": false, "properties": {
                "node": node, "about": node, "has": {"type": "string", "examples": ["master,fail"]}, "lacks": {"type": "string"}}}),
        },
        Syntax {
            name: "cluster-replica-of",
            doc: "in its own table, `node` is a replica of `master`",
            schema: json!({"type": "object", "required": ["node", "master"], "additionalProperties": false, "properties": {
                "node": node, "master": node}}),
        },
    ]
}

pub(crate) fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    let mut m = value.map(name)?;
    let node = cx.node_ref(m.required("node")?, name)?;
    Ok(match name {
        "cluster-info" => Box::new(InfoField::parse(m, cx, node, InfoSource::ClusterInfo)?),
        "cluster-node-id" => {
            m.finish(&["node"])?;
            Box::new(NodeId { node })
        }
        "cluster-slot-owner" => {
            let slot_node = m.required("slot")?;
            let slot = slot_node.u64("cluster-slot-owner.slot")?;
            if slot >= common::slot::SLOTS as u64 {
                return Err(Diagnostic::new(slot_node.span, format!("slot {slot} is out of range"))
                    .with_hint("hash slots are 0..16383"));
            }
            let is = cx.node_ref(m.required("is")?, "cluster-slot-owner.is")?;
            m.finish(&["node", "slot", "is"])?;
            Box::new(SlotOwner { node, slot: slot as usize, is })
        }
        "cluster-flags" => {
            let about = cx.node_ref(m.required("about")?, "cluster-flags.about")?;
            let mut list = |key: &str| -> Result<Vec<String>, Diagnostic> {
                Ok(match m.get(key) {
                    Some(n) => n.str(&format!("cluster-flags.{key}"))?.split(',').map(str::to_owned).collect(),
                    None => Vec::new(),
                })
            };
            let (has, lacks) = (list("has")?, list("lacks")?);
            m.finish(&["node", "about", "has", "lacks"])?;
            Box::new(Flags { node, about, has, lacks })
        }
        _ => {
            let master = cx.node_ref(m.required("master")?, "cluster-replica-of.master")?;
            m.finish(&["node", "master"])?;
            Box::new(ReplicaOf { node, master })
        }
    })
}

/// The cluster state of a running cluster node, or why there is none.
fn cluster<'a>(rt: &'a Runtime, node: &NodeRef) -> Result<Result<ClusterView<'a>, String>, RunError> {
    let p = rt.proc(node)?;
    let name = rt.sim.proc_name(p);
    Ok(match rt.sim.proc_state(p) {
        sim::ProcState::Running | sim::ProcState::Paused => match rt.sim.process::<Server>(p) {
            Some(s) => match s.cluster_view() {
                Some(c) => Ok(c),
                None => Err(format!("{name} is not in cluster mode")),
            },
            None => Err(format!("{name} is not a redis node")),
        },
        sim::ProcState::Down => Err(format!("{name} is down")),
    })
}

fn unknown(why: String) -> Result<Observation, RunError> {
    Ok(Observation { holds: false, observed: why })
}

struct NodeId {
    node: NodeRef,
}

impl Condition for NodeId {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        Ok(match cluster(rt, &self.node)? {
            Ok(c) => Observation { holds: true, observed: c.my_id() },
            Err(why) => Observation { holds: false, observed: why },
        })
    }
    fn describe(&self) -> String {
        format!("cluster node id of {}", self.node)
    }
}

/// The id of the cluster node a reference names, when it is up.
fn id_of(rt: &Runtime, node: &NodeRef) -> Result<Result<String, String>, RunError> {
    Ok(cluster(rt, node)?.map(|c| c.my_id()))
}

struct SlotOwner {
    node: NodeRef,
    slot: usize,
    is: NodeRef,
}

impl Condition for SlotOwner {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let c = match cluster(rt, &self.node)? {
            Ok(x) => x,
            Err(why) => return unknown(why),
        };
        let owner = c.slot_owner(self.slot);
        let observed = owner.as_ref().map_or_else(|| "unassigned".to_owned(), describe_peer);
        let want = match id_of(rt, &self.is)? {
            Ok(id) => id,
            Err(why) => return unknown(format!("{observed}; {why}")),
        };
        let holds = owner.is_some_and(|o| o.id == want);
        Ok(Observation { holds, observed })
    }
    fn describe(&self) -> String {
        format!("{} sees slot {} served by {}", self.node, self.slot, self.is)
    }
}

struct Flags {
    node: NodeRef,
    about: NodeRef,
    has: Vec<String>,
    lacks: Vec<String>,
}

impl Condition for Flags {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let c = match cluster(rt, &self.node)? {
            Ok(x) => x,
            Err(why) => return unknown(why),
        };
        // The node may be down: find it by the port its topology entry has.
        let p = rt.proc(&self.about)?;
        let port: Option<u16> = rt.sim.proc_name(p).parse().ok();
        let found = match id_of(rt, &self.about)? {
            Ok(id) => c.peer_by_id(&id),
            Err(_) => port.and_then(|port| c.peer_by_port(port)),
        };
        let Some(peer) = found else { return unknown(format!("{} does not know {}", self.node, self.about)) };
        let flags = peer.flags;
        let set: Vec<&str> = flags.split(',').collect();
        let holds =
            self.has.iter().all(|f| set.contains(&f.as_str())) && !self.lacks.iter().any(|f| set.contains(&f.as_str()));
        Ok(Observation { holds, observed: flags })
    }
    fn describe(&self) -> String {
        let mut s = format!("{} sees {}", self.node, self.about);
        if !self.has.is_empty() {
            s.push_str(&format!(" with {}", self.has.join(",")));
        }
        if !self.lacks.is_empty() {
            s.push_str(&format!(" without {}", self.lacks.join(",")));
        }
        s
    }
}

struct ReplicaOf {
    node: NodeRef,
    master: NodeRef,
}

impl Condition for ReplicaOf {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let c = match cluster(rt, &self.node)? {
            Ok(x) => x,
            Err(why) => return unknown(why),
        };
        let master = c.my_master();
        let observed =
            master.as_ref().map_or_else(|| "master".to_owned(), |m| format!("replica of {}", describe_peer(m)));
        let want = match id_of(rt, &self.master)? {
            Ok(id) => id,
            Err(why) => return unknown(format!("{observed}; {why}")),
        };
        let holds = master.is_some_and(|m| m.id == want);
        Ok(Observation { holds, observed })
    }
    fn describe(&self) -> String {
        format!("{} replicates {}", self.node, self.master)
    }
}

/// `<id> (<ip>:<port>)`, as conditions report a node.
fn describe_peer(p: &PeerView) -> String {
    format!("{} ({}:{})", p.id, p.ip, p.port)
}
