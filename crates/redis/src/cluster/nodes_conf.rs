//! nodes.conf and CLUSTER NODES: the table as text (`clusterGenNodesDescription`)
//! and back (`clusterLoadConfig`).

use super::*;

impl Cluster {
    /// CLUSTER NODES, or nodes.conf's node lines when `skip_handshake`.
    pub(crate) fn nodes_text(&self, skip_handshake: bool) -> String {
        self.fill_slots_texts();
        let mut out = String::with_capacity(self.by_name.len() * 128);
        for &i in self.by_name.values() {
            if skip_handshake && self.node(i).in_handshake() {
                continue;
            }
            self.describe_into(i, self.saved_once || !skip_handshake, &mut out);
            out.push('\n');
        }
        out
    }

    /// The whole nodes.conf text.
    pub(crate) fn config_text(&self) -> String {
        let mut text = self.nodes_text(true);
        let _ = writeln!(text, "vars currentEpoch {} lastVoteEpoch {}", self.current_epoch, self.last_vote_epoch);
        text
    }

    /// `clusterLoadConfig`: the table as a nodes.conf describes it.
    pub(crate) fn load(text: &str, now: i64, machinery: Machinery) -> Result<Cluster, String> {
        let mut lines: Vec<Vec<&str>> = Vec::new();
        let mut vars = (0, 0);
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                continue;
            }
            if words[0] == "vars" {
                let mut it = words[1..].chunks(2);
                for pair in it.by_ref() {
                    match pair {
                        ["currentEpoch", v] => vars.0 = v.parse().map_err(|_| "bad currentEpoch")?,
                        ["lastVoteEpoch", v] => vars.1 = v.parse().map_err(|_| "bad lastVoteEpoch")?,
                        _ => {}
                    }
                }
                continue;
            }
            if words.len() < 8 {
                return Err("Unrecoverable error: corrupted cluster config file.".to_owned());
            }
            lines.push(words);
        }
        let me_line =
            lines.iter().find(|w| w[2].split(',').any(|f| f == "myself")).ok_or("no myself line in nodes.conf")?;
        let corrupted = || "Unrecoverable error: corrupted cluster config file.".to_owned();
        let mut c = Cluster::new_with(NodeName::parse(me_line[0]).ok_or_else(corrupted)?, now, machinery);
        c.current_epoch = vars.0;
        c.last_vote_epoch = vars.1;
        // First create every node, then link masters, so order does not matter.
        for words in &lines {
            let name = NodeName::parse(words[0]).ok_or_else(corrupted)?;
            let (ip, ports) = words[1].rsplit_once(':').ok_or("bad address in nodes.conf")?;
            let ports = ports.split(',').next().unwrap_or(ports);
            let (port, cport) = match ports.split_once('@') {
                Some((p, cp)) => (p.parse().unwrap_or(0), cp.parse().unwrap_or(0)),
                None => {
                    let p: u16 = ports.parse().unwrap_or(0);
                    (p, p.wrapping_add(10000))
                }
            };
            let i = match c.lookup(&name) {
                Some(i) => i,
                // Made with its address: a table shares identities through
                // a thread-wide map, and a million lookups in it are most of
                // what loading a 1,000-node cluster's tables costs.
                None => {
                    c.add_node(Node::new_at(Identity { name, ip: NodeIp::new(ip), port, cport }, 0, now, machinery))
                }
            };
            let mut flags = 0;
            for f in words[2].split(',') {
                flags |= match f {
                    "myself" => MYSELF,
                    "master" => MASTER,
                    "slave" => SLAVE,
                    "fail?" => PFAIL,
                    "fail" => FAIL,
                    "handshake" => HANDSHAKE,
                    "noaddr" => NOADDR,
                    "nofailover" => NOFAILOVER,
                    _ => 0,
                };
            }
            let n = c.node_mut(i);
            n.set_address(NodeIp::new(ip), port, cport);
            n.flags = flags;
            if flags & FAIL != 0 {
                n.fail_time = now;
            }
            if words[4] != "0" {
                n.ping_sent = now;
            }
            if words[5] != "0" {
                n.pong_received = now;
            }
            n.config_epoch = words[6].parse().map_err(|_| "bad configEpoch in nodes.conf")?;
            for range in &words[8..] {
                if range.starts_with('[') {
                    continue;
                }
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                let (a, b): (usize, usize) = (a.parse().map_err(|_| "bad slot")?, b.parse().map_err(|_| "bad slot")?);
                for s in a..=b.min(SLOTS - 1) {
                    c.add_slot(i, s);
                }
            }
        }
        for words in &lines {
            let i = c.lookup_str(words[0]).expect("created above");
            if words[3] != "-" {
                let master = NodeName::parse(words[3]).ok_or_else(corrupted)?;
                let m = match c.lookup(&master) {
                    Some(m) => m,
                    None => c.create_node(master, 0, now),
                };
                c.node_mut(i).slaveof = Some(m);
                c.add_replica(m, i);
                // A replica keeps the epoch its line shows (its master's), as
                // clusterLoadConfig does: the first PING from it then changes
                // nothing, so a restarted node does not rewrite nodes.conf once
                // per replica it knows.
            }
        }
        Ok(c)
    }
}

/// ` 7000` or ` 0-5460`, as CLUSTER NODES lists a run of slots.
pub(super) fn push_range(text: &mut String, first: usize, last: usize) {
    if first == last {
        let _ = write!(text, " {first}");
    } else {
        let _ = write!(text, " {first}-{last}");
    }
}
