//! The selectors of the node kind `redis`: `${node-id:6381}` (its cluster id),
//! `${replica-of:6381}`, `${master-of:6384}` ("whoever 6384 follows now, or
//! 6384 if it is a master") and `${master-of-slot:449}`, each resolved from
//! the nodes' views ([`redis::view`]) when the step or condition uses it, and
//! `${role:6381}` (`master` or `slave`, as INFO says), which `with-role:` on
//! a condition over `nodes:` also asks.

use redis::server::Server;
use scenario::kind::{Selector, SelectorArg};
use scenario::runner::Runtime;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Every selector of the kind.
pub fn all() -> Vec<Box<dyn Selector>> {
    vec![Box::new(NodeId), Box::new(ReplicaOf), Box::new(MasterOf), Box::new(MasterOfSlot), Box::new(Role)]
}

/// The running (or paused) server called `name`.
fn server<'a>(rt: &'a Runtime, name: &str) -> Result<&'a Server, String> {
    let p = rt.sim.proc_by_name(name).ok_or_else(|| format!("`{name}` is not a node"))?;
    match rt.sim.proc_state(p) {
        sim::ProcState::Down => Err(format!("{name} is down")),
        _ => rt.sim.process::<Server>(p).ok_or_else(|| format!("{name} is not a redis node")),
    }
}

/// The redis nodes that are up, in declaration order, with their names and addresses.
fn running(rt: &Runtime) -> impl Iterator<Item = (String, SocketAddrV4, &Server)> {
    rt.nodes().filter(|(_, kind)| *kind == "redis").filter_map(move |(p, _)| {
        let addr = rt.node_addr(p)?;
        (rt.sim.proc_state(p) != sim::ProcState::Down)
            .then(|| rt.sim.process::<Server>(p))
            .flatten()
            .map(|s| (rt.sim.proc_name(p).to_owned(), addr, s))
    })
}

/// The node serving on `ip:port`.
fn node_at(rt: &Runtime, ip: &str, port: u16) -> Result<String, String> {
    let ip: Ipv4Addr = ip.parse().map_err(|_| format!("{ip}:{port} is not an address of a node"))?;
    let want = SocketAddrV4::new(ip, port);
    rt.nodes()
        .find(|(p, _)| rt.node_addr(*p) == Some(want))
        .map(|(p, _)| rt.sim.proc_name(p).to_owned())
        .ok_or_else(|| format!("no node serves on {want}"))
}

struct NodeId;

impl Selector for NodeId {
    fn name(&self) -> &'static str {
        "node-id"
    }
    fn doc(&self) -> &'static str {
        "the node's cluster id (40 hex digits), as CLUSTER MYID prints it"
    }
    fn example(&self) -> &'static str {
        "cluster replicate ${node-id:6381}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Node
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        let c = server(rt, arg)?.cluster_view().ok_or_else(|| format!("{arg} is not in cluster mode"))?;
        Ok(c.my_id())
    }
}

struct ReplicaOf;

impl Selector for ReplicaOf {
    fn name(&self) -> &'static str {
        "replica-of"
    }
    fn doc(&self) -> &'static str {
        "the first node (in declaration order) that replicates from the node now (its master_host:master_port)"
    }
    fn example(&self) -> &'static str {
        "${replica-of:6381}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Node
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        let p = rt.sim.proc_by_name(arg).ok_or_else(|| format!("`{arg}` is not a node"))?;
        let addr = rt.node_addr(p).ok_or_else(|| format!("`{arg}` is not a node"))?;
        running(rt)
            .find(|(_, _, s)| {
                s.master_address().is_some_and(|(ip, port)| ip == addr.ip().to_string() && port == addr.port())
            })
            .map(|(name, _, _)| name)
            .ok_or_else(|| format!("no running node replicates from {arg} now"))
    }
}

struct MasterOf;

impl Selector for MasterOf {
    fn name(&self) -> &'static str {
        "master-of"
    }
    fn doc(&self) -> &'static str {
        "whoever is master now as the node sees it: the node it replicates from, or itself if it is a master"
    }
    fn example(&self) -> &'static str {
        "${master-of:6380}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Node
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        match server(rt, arg)?.master_address() {
            Some((ip, port)) => node_at(rt, &ip, port),
            None => Ok(arg.to_owned()),
        }
    }
}

struct MasterOfSlot;

impl Selector for MasterOfSlot {
    fn name(&self) -> &'static str {
        "master-of-slot"
    }
    fn doc(&self) -> &'static str {
        "the node that serves the hash slot as most running cluster nodes see it (the first such view on a tie)"
    }
    fn example(&self) -> &'static str {
        "${master-of-slot:449}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Slot
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        let slot: usize = arg.parse().map_err(|_| format!("`{arg}` is not a hash slot"))?;
        // Votes per owner, and the order owners were first seen in, so a tie is decided by declaration order.
        let mut votes: BTreeMap<(String, u16), (usize, usize)> = BTreeMap::new();
        for (i, (_, _, s)) in running(rt).enumerate() {
            if let Some(owner) = s.cluster_view().and_then(|c| c.slot_owner(slot)) {
                votes.entry((owner.ip, owner.port)).or_insert((0, i)).0 += 1;
            }
        }
        let best = votes.iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)));
        let ((ip, port), _) = best.ok_or_else(|| format!("no running cluster node knows who serves slot {slot}"))?;
        node_at(rt, ip, *port)
    }
}

struct Role;

impl Selector for Role {
    fn name(&self) -> &'static str {
        "role"
    }
    fn doc(&self) -> &'static str {
        "the node's role now, `master` or `slave` as INFO says"
    }
    fn example(&self) -> &'static str {
        "${role:6381}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Node
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        Ok(server(rt, arg)?.role_name().to_owned())
    }
}
