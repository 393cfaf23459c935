//! Property test of Redis Cluster over many seeds. Per seed: the six-node
//! cluster of [`super::tests_cluster::build`] (three masters, three replicas,
//! node timeout 2 s), then a seeded schedule of faults — SIGKILL or SIGTERM of
//! any node with a later start, SIGSTOP with a later SIGCONT, partitions that
//! cut one to three nodes off the rest, and one-way partitions between two
//! nodes — with writes in between. Then
//! every fault is undone and the cluster is left alone.
//!
//! Checked once quiet, on every node:
//! - every one of the 16384 slots has exactly one owner, and all nodes agree
//!   on it (so the slots of a failed master were taken over or given back);
//! - the owners are masters in everybody's table, and no two of them share a
//!   configEpoch;
//! - every node reports `cluster_state:ok`, and every replica's link is up;
//! - the same seed gives the same trace.
//!
//! `PROP_SEEDS=1,2,3` runs other seeds (e.g. `$(seq -s, 1 200)`).

use super::tests_cluster::{build, node_id};
use crate::server::Server;
use sim::{Endpoint, Fault, ProcId, Rng};
use std::collections::BTreeMap;
use std::time::Duration;

const PORTS: [u16; 6] = [6381, 6382, 6383, 6384, 6385, 6386];
const TICKS: usize = 10;

fn proc(lab: &super::tests_cluster::Lab, port: u16) -> ProcId {
    lab.sim.proc_by_name(&port.to_string()).unwrap()
}

/// What one seed did: its trace hash, whether a replica ended up owning slots,
/// and, if the cluster did not converge, why.
fn run_seed(seed: u64) -> (String, bool, Result<(), String>) {
    let mut lab = build(seed, 2000);
    let first_masters: Vec<String> = [6381, 6382, 6383].iter().map(|&p| node_id(&lab, p)).collect();
    let mut rng = Rng::stream(seed, "cluster-prop-schedule");
    let mut down: Vec<u16> = Vec::new();
    let mut paused: Vec<u16> = Vec::new();
    let mut history = Vec::new();
    for tick in 0..TICKS {
        let port = PORTS[rng.below(6) as usize];
        let p = proc(&lab, port);
        let fault = match rng.below(7) {
            0 if !down.contains(&port) && !paused.contains(&port) => {
                down.push(port);
                Some(Fault::Kill(p))
            }
            1 if !down.contains(&port) && !paused.contains(&port) => {
                down.push(port);
                Some(Fault::Stop(p))
            }
            2 if !down.contains(&port) && !paused.contains(&port) => {
                paused.push(port);
                Some(Fault::Pause(p))
            }
            3 => {
                let size = 1 + rng.below(3) as usize;
                let mut cut: Vec<u16> = PORTS.to_vec();
                while cut.len() > size {
                    cut.remove(rng.below(cut.len() as u64) as usize);
                }
                Some(Fault::Partition(vec![cut.iter().map(|&q| Endpoint::Process(proc(&lab, q))).collect()]))
            }
            6 => {
                // One node stops hearing another (or sending to it): an asymmetric partition.
                let other = PORTS[rng.below(6) as usize];
                Some(Fault::PartitionOneWay {
                    from: vec![Endpoint::Process(proc(&lab, port))],
                    to: vec![Endpoint::Process(proc(&lab, other))],
                })
            }
            4 if !down.is_empty() => Some(Fault::Start(proc(&lab, down.remove(0)))),
            5 if !paused.is_empty() => Some(Fault::Resume(proc(&lab, paused.remove(0)))),
            _ => Some(Fault::Heal),
        };
        if let Some(f) = fault {
            history.push(format!("tick {tick}: {f:?}"));
            lab.sim.apply(f).unwrap();
        }
        let writer = PORTS[rng.below(3) as usize];
        if !down.contains(&writer) && !paused.contains(&writer) {
            // The reply (OK, MOVED, CLUSTERDOWN, none behind a partition) is not the point here.
            let _ = lab.try_cli(writer, None, &format!("set key{tick} v{tick}"));
        }
        lab.sim.run_for(Duration::from_millis(500 + rng.below(6000)));
    }
    lab.sim.apply(Fault::Heal).unwrap();
    for port in down.drain(..) {
        lab.sim.apply(Fault::Start(proc(&lab, port))).unwrap();
    }
    for port in paused.drain(..) {
        lab.sim.apply(Fault::Resume(proc(&lab, port))).unwrap();
    }
    lab.sim.run_for(Duration::from_secs(40));
    let verdict = check(&lab).map_err(|e| format!("seed {seed}: {e}\nschedule:\n{}", history.join("\n")));
    let c = lab.sim.process::<Server>(proc(&lab, 6381)).expect("6381 runs").clr();
    let failed_over =
        (0..super::SLOTS).any(|s| c.owner(s).is_some_and(|o| !first_masters.contains(&c.node(o).name().to_string())));
    (lab.sim.trace().hash_hex(), failed_over, verdict)
}

fn check(lab: &super::tests_cluster::Lab) -> Result<(), String> {
    let servers: Vec<(u16, &Server)> =
        PORTS.iter().map(|&p| (p, lab.sim.process::<Server>(proc(lab, p)).expect("every node runs"))).collect();
    let view = |s: &Server| -> Vec<Option<String>> {
        let c = s.clr();
        (0..super::SLOTS).map(|slot| c.owner(slot).map(|o| c.node(o).name().to_string())).collect()
    };
    let (first_port, first) = servers[0];
    let reference = view(first);
    if let Some(slot) = reference.iter().position(Option::is_none) {
        return Err(format!("slot {slot} has no owner as {first_port} sees it"));
    }
    for &(port, s) in &servers[1..] {
        let v = view(s);
        if let Some(slot) = (0..super::SLOTS).find(|&slot| v[slot] != reference[slot]) {
            return Err(format!(
                "{port} sees slot {slot} owned by {:?}, {first_port} by {:?}",
                v[slot], reference[slot]
            ));
        }
    }
    let owners: std::collections::BTreeSet<&String> = reference.iter().flatten().collect();
    let mut epochs: BTreeMap<u64, &String> = BTreeMap::new();
    for owner in owners {
        let (port, s) = servers.iter().find(|(_, s)| &s.clr().me().name() == owner).ok_or("owner is no node")?;
        let me = s.clr().me();
        if !me.is_master() {
            return Err(format!("{port} owns slots but is {}", me.flag_names()));
        }
        if let Some(other) = epochs.insert(me.config_epoch, owner) {
            return Err(format!("masters {owner} and {other} share configEpoch {}", me.config_epoch));
        }
        for &(viewer, v) in &servers {
            let c = v.clr();
            let i = c.lookup_str(owner).ok_or(format!("{viewer} does not know {owner}"))?;
            if !c.node(i).is_master() {
                return Err(format!("{viewer} sees owner {port} as {}", c.node(i).flag_names()));
            }
        }
    }
    for &(port, s) in &servers {
        if !s.clr().state_ok {
            return Err(format!("{port} has cluster_state:fail\n{}", s.clr().nodes_text(false)));
        }
        if s.clr().me().is_slave() && !s.master_link_up() {
            return Err(format!("replica {port} has its master link down"));
        }
    }
    Ok(())
}

#[test]
fn slots_converge_to_one_owner_with_distinct_epochs_after_faults() {
    let seeds: Vec<u64> = match std::env::var("PROP_SEEDS") {
        Ok(v) => v.split(',').map(|s| s.parse().expect("PROP_SEEDS: seed numbers")).collect(),
        Err(_) => (1..=6).collect(),
    };
    let mut failures = Vec::new();
    let mut failovers = 0;
    for &seed in &seeds {
        let (hash, failed_over, verdict) = run_seed(seed);
        failovers += usize::from(failed_over);
        if let Err(e) = verdict {
            failures.push(e);
        }
        if seed == seeds[0] {
            assert_eq!(run_seed(seed).0, hash, "seed {seed} replays differently");
        }
    }
    assert!(failures.is_empty(), "{} of {} seeds failed:\n{}", failures.len(), seeds.len(), failures.join("\n\n"));
    eprintln!("{failovers} of {} seeds ended with a promoted replica", seeds.len());
    // The schedules must actually move slots, or the checks above prove little.
    assert!(seeds.len() < 6 || failovers > 0, "no seed of {seeds:?} ended with a promoted replica");
}

#[test]
fn a_build_is_identified_the_same_way_twice() {
    let a = build(9, 2000);
    let b = build(9, 2000);
    assert_eq!(node_id(&a, 6381), node_id(&b, 6381));
    assert_eq!(a.sim.trace().hash_hex(), b.sim.trace().hash_hex());
}
