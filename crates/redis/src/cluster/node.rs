//! One node as a table knows it: the 64-byte hot part that gossip, the cron
//! and every header read ([`Node`]), and the rest behind a pointer
//! ([`NodeCold`]), with the flag and state accessors (`clusterNode` in
//! cluster.h).

use super::*;

/// One node of the table (`clusterNode`). Times are ms of the node's wall clock.
///
/// Laid out by how often each field is read. A 1,000-node cluster gossips a
/// hundred entries per packet, each a lookup of a node in the receiver's
/// table, and every node's cron visits every node ten times a second, so the
/// tables are far bigger than any cache and nearly every visit is a miss.
/// What those visits read fits in one aligned cache line: flags, whether it
/// has a link or failure reports, slot count, ping and pong times, a pointer
/// to its shared [`Identity`], and what every packet's header updates of its
/// sender (data time, configEpoch, replication offset). Everything else is in
/// [`NodeCold`], behind a pointer, and reads through `Deref`.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Node {
    pub(crate) flags: u16,
    /// `link.is_some()` ([`Node::set_link`] keeps it so).
    pub(super) linked: bool,
    /// Whether `fail_reports` has any (the methods that change it keep it so).
    pub(super) reported: bool,
    /// At most 16,384.
    pub(crate) numslots: u16,
    /// Whether this slab entry holds a node (see [`Cluster::get`]).
    pub(super) live: bool,
    pub(crate) ping_sent: i64,
    pub(crate) pong_received: i64,
    pub(super) id: Rc<Identity>,
    pub(super) cold: Box<NodeCold>,
    /// Set from the header of every packet it sends.
    pub(crate) data_received: i64,
    pub(crate) config_epoch: u64,
    pub(crate) repl_offset: i64,
}

// One cache line per node: growing it costs every gossip entry a second line.
const _: () = assert!(std::mem::size_of::<Node>() == 64);

/// The fields of a node that no per-entry or per-tick loop reads.
#[derive(Debug)]
pub(crate) struct NodeCold {
    /// Masters that reported it PFAIL/FAIL, with when.
    pub(super) fail_reports: Vec<(usize, i64)>,
    /// Our outbound link to it.
    pub(super) link: Option<ConnId>,
    /// Where that link sat in the link table when made: a hint for
    /// [`Links::hint`](links::Links::hint) when pinging it.
    pub(crate) link_slot: u32,
    pub(crate) slaveof: Option<usize>,
    pub(crate) replicas: Vec<usize>,
    pub(crate) ctime: i64,
    pub(crate) fail_time: i64,
    pub(crate) voted_time: i64,
    pub(crate) orphaned_time: i64,
    /// Its link to us, once its first packet named it.
    pub(crate) inbound: Option<ConnId>,
    /// ` 0-5460 7000` as CLUSTER NODES prints the slots, built when first needed
    /// after a change: nodes.conf is rewritten on every change and big
    /// clusters would otherwise rescan every bitmap each time (not kept
    /// with [`Machinery::Plain`]).
    pub(super) slots_text: RefCell<Option<String>>,
    /// How its identity is held ([`Identity::share`]).
    pub(super) machinery: Machinery,
}

impl std::ops::Deref for Node {
    type Target = NodeCold;
    fn deref(&self) -> &NodeCold {
        &self.cold
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut NodeCold {
        &mut self.cold
    }
}

impl Node {
    pub(super) fn new(name: NodeName, flags: u16, now: i64, machinery: Machinery) -> Node {
        Node::new_at(Identity { name, ip: NodeIp::default(), port: 0, cport: 0 }, flags, now, machinery)
    }

    /// A node known by name and address from the start.
    pub(super) fn new_at(id: Identity, flags: u16, now: i64, machinery: Machinery) -> Node {
        Node {
            flags,
            linked: false,
            reported: false,
            numslots: 0,
            live: true,
            ping_sent: 0,
            pong_received: 0,
            id: id.share(machinery),
            data_received: 0,
            config_epoch: 0,
            repl_offset: 0,
            cold: Box::new(NodeCold {
                fail_reports: Vec::new(),
                link: None,
                link_slot: 0,
                slaveof: None,
                replicas: Vec::new(),
                ctime: now,
                fail_time: 0,
                voted_time: 0,
                orphaned_time: 0,
                inbound: None,
                slots_text: RefCell::new(None),
                machinery,
            }),
        }
    }

    pub(crate) fn name(&self) -> NodeName {
        self.id.name
    }
    pub(crate) fn ip(&self) -> NodeIp {
        self.id.ip
    }
    pub(crate) fn port(&self) -> u16 {
        self.id.port
    }
    pub(crate) fn cport(&self) -> u16 {
        self.id.cport
    }

    /// Moves it to another address (the name stays).
    pub(crate) fn set_address(&mut self, ip: NodeIp, port: u16, cport: u16) {
        if (self.id.ip, self.id.port, self.id.cport) != (ip, port, cport) {
            self.id = Identity { ip, port, cport, ..*self.id }.share(self.cold.machinery);
        }
    }

    pub(super) fn set_name(&mut self, name: NodeName) {
        self.id = Identity { name, ..*self.id }.share(self.cold.machinery);
    }

    /// Our outbound link to it.
    pub(crate) fn link(&self) -> Option<ConnId> {
        self.cold.link
    }

    pub(crate) fn linked(&self) -> bool {
        self.linked
    }

    pub(crate) fn set_link(&mut self, link: Option<ConnId>) {
        self.cold.link = link;
        self.linked = link.is_some();
    }

    /// How many failure reports are recorded (valid or not yet pruned).
    pub(crate) fn fail_report_count(&self) -> usize {
        if self.reported { self.cold.fail_reports.len() } else { 0 }
    }

    /// Records (or refreshes) `who`'s report; true if it is new.
    pub(crate) fn report_failure(&mut self, who: usize, now: i64) -> bool {
        self.reported = true;
        let reports = &mut self.cold.fail_reports;
        match reports.iter_mut().find(|(w, _)| *w == who) {
            Some(r) => {
                r.1 = now;
                false
            }
            None => {
                reports.push((who, now));
                true
            }
        }
    }

    /// Keeps the failure reports `keep` accepts; returns how many are left.
    pub(crate) fn retain_fail_reports(&mut self, keep: impl FnMut(&(usize, i64)) -> bool) -> usize {
        if !self.reported {
            return 0;
        }
        self.cold.fail_reports.retain(keep);
        let left = self.cold.fail_reports.len();
        self.reported = left > 0;
        left
    }

    pub(crate) fn is_master(&self) -> bool {
        self.flags & MASTER != 0
    }
    pub(crate) fn is_slave(&self) -> bool {
        self.flags & SLAVE != 0
    }
    pub(crate) fn failed(&self) -> bool {
        self.flags & FAIL != 0
    }
    pub(crate) fn timed_out(&self) -> bool {
        self.flags & PFAIL != 0
    }
    pub(crate) fn in_handshake(&self) -> bool {
        self.flags & HANDSHAKE != 0
    }

    /// `representClusterNodeFlags`: the fixed order CLUSTER NODES prints.
    pub(crate) fn flag_names(&self) -> String {
        let mut out = String::new();
        self.write_flag_names(&mut out);
        out
    }

    /// Appends the flag names (nodes.conf is rewritten with one line per node
    /// on every change, so no list is built per line).
    pub(super) fn write_flag_names(&self, out: &mut String) {
        const TABLE: [(u16, &str); 8] = [
            (MYSELF, "myself"),
            (MASTER, "master"),
            (SLAVE, "slave"),
            (PFAIL, "fail?"),
            (FAIL, "fail"),
            (HANDSHAKE, "handshake"),
            (NOADDR, "noaddr"),
            (NOFAILOVER, "nofailover"),
        ];
        let start = out.len();
        for (flag, name) in TABLE {
            if self.flags & flag != 0 {
                if out.len() > start {
                    out.push(',');
                }
                out.push_str(name);
            }
        }
        if out.len() == start {
            out.push_str("noflags");
        }
    }
}
