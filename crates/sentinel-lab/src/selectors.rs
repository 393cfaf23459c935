//! The selector of the node kind `sentinel`: `${sentinel-master:mymaster}`,
//! "whoever is master now" of a monitored group, as the Sentinels say.

use scenario::kind::{Selector, SelectorArg};
use scenario::runner::Runtime;
use sentinel::sentinel::Sentinel;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

/// `${sentinel-master:<group>}`.
pub struct SentinelMaster;

impl Selector for SentinelMaster {
    fn name(&self) -> &'static str {
        "sentinel-master"
    }
    fn doc(&self) -> &'static str {
        "the node at the address most running Sentinels give for the group (SENTINEL GET-MASTER-ADDR-BY-NAME), \
         the first such answer on a tie"
    }
    fn example(&self) -> &'static str {
        "${sentinel-master:mymaster}"
    }
    fn arg(&self) -> SelectorArg {
        SelectorArg::Name
    }
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String> {
        // Answers by address, with their count and the order they were first given in.
        let mut votes: BTreeMap<(String, u16), (usize, usize)> = BTreeMap::new();
        let sentinels =
            rt.nodes().filter(|(p, kind)| *kind == "sentinel" && rt.sim.proc_state(*p) != sim::ProcState::Down);
        for (i, (p, _)) in sentinels.enumerate() {
            if let Some(addr) = rt.sim.process::<Sentinel>(p).and_then(|s| s.master_addr(arg)) {
                votes.entry(addr).or_insert((0, i)).0 += 1;
            }
        }
        let best = votes.iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)));
        let ((ip, port), _) = best.ok_or_else(|| format!("no running Sentinel monitors `{arg}`"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| format!("the Sentinels give {ip}:{port}, not a node's address"))?;
        let want = SocketAddrV4::new(ip, *port);
        rt.nodes()
            .find(|(p, _)| rt.node_addr(*p) == Some(want))
            .map(|(p, _)| rt.sim.proc_name(p).to_owned())
            .ok_or_else(|| format!("the Sentinels give {want} for `{arg}`, where no node serves"))
    }
}
