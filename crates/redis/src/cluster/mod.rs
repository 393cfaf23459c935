//! Redis Cluster (cluster.c of Redis 7.0): the node table with flags, epochs and
//! slot ownership, nodes.conf, the bus ([`bus`] encodes, [`gossip`] runs the
//! cron, links and packet processing), failure detection and elections
//! ([`failover`]), and the CLUSTER command with key routing ([`commands`]).
//!
//! Everything here runs only when `cluster-enabled yes`: the server holds the
//! state as `Option<Box<Cluster>>`, so standalone nodes pay one `None` check.

/// Deref to `str`, Display, Debug (quoted) and `String::from` for an inline
/// text type with an `as_str` method ([`NodeName`], [`NodeIp`]).
macro_rules! text_traits {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:?}", self.as_str())
            }
        }

        impl From<$t> for String {
            fn from(text: $t) -> String {
                text.as_str().to_owned()
            }
        }
    };
}

pub(crate) mod bus;
pub(crate) mod commands;
pub(crate) mod failover;
mod frame;
pub(crate) mod gossip;
pub(crate) mod links;
pub(crate) mod machinery;
mod names;
mod node;
mod nodes_conf;
mod slot_set;
mod slots_reply;

pub(crate) use links::Link;
pub(crate) use node::Node;
use nodes_conf::push_range;

#[cfg(test)]
mod tests_cluster;
#[cfg(test)]
mod tests_machinery;
#[cfg(test)]
pub(crate) mod tests_prop_cluster;
#[cfg(test)]
mod tests_routing;
#[cfg(test)]
mod tests_shard_pubsub;
#[cfg(test)]
mod tests_table;

pub(crate) use bus::NodeName;
use bus::SlotBits;
pub(crate) use machinery::Machinery;
use machinery::{CronNotes, SlotBitsCache};
use sim::ConnId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::rc::{Rc, Weak};

pub(crate) use common::slot::SLOTS;
/// `slots[]` value of an unassigned slot.
const NO_OWNER: u32 = u32::MAX;
/// Slots `first..=last` served by one node: `(first, last, node)`.
pub(crate) type OwnerRun = (usize, usize, usize);

pub(crate) const MYSELF: u16 = 1;
pub(crate) const MASTER: u16 = 2;
pub(crate) const SLAVE: u16 = 4;
pub(crate) const PFAIL: u16 = 8;
pub(crate) const FAIL: u16 = 16;
pub(crate) const HANDSHAKE: u16 = 32;
pub(crate) const NOADDR: u16 = 64;
pub(crate) const MEET: u16 = 128;
pub(crate) const MIGRATE_TO: u16 = 256;
pub(crate) const NOFAILOVER: u16 = 512;

/// `CLUSTER_BLACKLIST_TTL`: a forgotten node cannot come back by gossip for 60 s.
const BLACKLIST_TTL_MS: i64 = 60_000;

/// What `clusterBeforeSleep` must do once the current input is handled.
pub(crate) const TODO_HANDLE_FAILOVER: u8 = 1;
pub(crate) const TODO_UPDATE_STATE: u8 = 2;
pub(crate) const TODO_SAVE_CONFIG: u8 = 4;
pub(crate) const TODO_FSYNC_CONFIG: u8 = 8;
pub(crate) const TODO_HANDLE_MANUALFAILOVER: u8 = 16;

/// A node's announced address as text, kept inline and NUL-padded (at most
/// 46 bytes, as the bus carries it), so that an [`Identity`] is one
/// allocation and writing a gossip entry reads no other.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NodeIp([u8; bus::IP_LEN]);

impl Default for NodeIp {
    fn default() -> NodeIp {
        NodeIp([0; bus::IP_LEN])
    }
}

impl NodeIp {
    /// `text` up to its first NUL, cut at 46 bytes (on a character boundary)
    /// as the bus would cut it.
    pub(crate) fn new(text: &str) -> NodeIp {
        let mut len = text.find('\0').unwrap_or(text.len()).min(bus::IP_LEN);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; bus::IP_LEN];
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        NodeIp(bytes)
    }

    /// `ip` in dotted form, written digit by digit: every accepted bus
    /// connection records its peer's address (a million of them as a
    /// 1,000-node cluster starts) and every PING's sender address is checked
    /// against the one known, where the formatting machinery cost more than
    /// the rest of the check.
    pub(crate) fn from_v4(ip: Ipv4Addr) -> NodeIp {
        let mut bytes = [0; bus::IP_LEN];
        let mut at = 0;
        let mut put = |b: u8| {
            bytes[at] = b;
            at += 1;
        };
        for (k, octet) in ip.octets().into_iter().enumerate() {
            if k > 0 {
                put(b'.');
            }
            if octet >= 100 {
                put(b'0' + octet / 100);
            }
            if octet >= 10 {
                put(b'0' + octet / 10 % 10);
            }
            put(b'0' + octet % 10);
        }
        NodeIp(bytes)
    }

    /// No address (yet); checked on every PING, without decoding the text.
    pub(crate) fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    pub(crate) fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(bus::IP_LEN);
        // Built from a `&str` cut on a boundary, so always text.
        std::str::from_utf8(&self.0[..len]).unwrap_or_default()
    }

    /// The address as the wire carries it, NUL-padded.
    pub(crate) fn padded(&self) -> &[u8; bus::IP_LEN] {
        &self.0
    }
}

text_traits!(NodeIp);

/// Who a node is and where it listens: the part of a node that every table
/// knowing it holds alike. A 1,000-node cluster holds a million nodes across
/// its processes' tables, but only a thousand identities: the tables share
/// them (see [`Identity::intern`]), which keeps a node to one cache line and
/// the tables to a third of their size with names and addresses inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Identity {
    pub(crate) name: NodeName,
    pub(crate) ip: NodeIp,
    pub(crate) port: u16,
    pub(crate) cport: u16,
}

thread_local! {
    /// Every identity in use on this thread, to share. A cache of values only:
    /// which copy a node holds never shows in its behaviour, so sharing one
    /// between simulated processes is invisible to them, and nothing iterates
    /// it in an order that could reach an event.
    static IDENTITIES: RefCell<Identities> = const { RefCell::new(Identities { by_value: BTreeMap::new(), purge_at: 64 }) };
}

struct Identities {
    by_value: BTreeMap<Identity, Weak<Identity>>,
    /// Dropped identities are swept out once the map reaches this size.
    purge_at: usize,
}

impl Identity {
    /// The shared copy of `self`, made if no node holds one.
    pub(crate) fn intern(self) -> Rc<Identity> {
        IDENTITIES.with(|ids| {
            let mut ids = ids.borrow_mut();
            if let Some(shared) = ids.by_value.get(&self).and_then(Weak::upgrade) {
                return shared;
            }
            if ids.by_value.len() >= ids.purge_at {
                ids.by_value.retain(|_, id| id.strong_count() > 0);
                ids.purge_at = (ids.by_value.len() * 2).max(64);
            }
            let shared = Rc::new(self);
            ids.by_value.insert(self, Rc::downgrade(&shared));
            shared
        })
    }
}

/// The times a cron tick judges nodes by (ms of the node's wall clock).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CronTimes {
    pub(crate) now: i64,
    pub(crate) node_timeout: i64,
    pub(crate) handshake_timeout: i64,
}

/// The cron's first pass at slab entry `i`: notes it as a candidate for the
/// second pass and what to do to it, and returns 1 if it counts as PFAIL.
fn cron_visit(
    n: &Node,
    i: usize,
    t: CronTimes,
    candidates: &mut Vec<u32>,
    actions: &mut Vec<(u32, CronAction)>,
) -> usize {
    let (now, nt) = (t.now, t.node_timeout);
    if !n.live || n.flags & (MYSELF | NOADDR) != 0 {
        return 0;
    }
    let handshake = n.flags & HANDSHAKE != 0;
    let expired = handshake && now - n.ctime > t.handshake_timeout;
    let due = n.ping_sent != 0 || (n.linked && now - n.pong_received > nt / 2);
    if (due && !handshake) || expired || !n.linked {
        candidates.push(i as u32);
    }
    if expired {
        actions.push((i as u32, CronAction::Delete));
    } else if !n.linked {
        actions.push((i as u32, CronAction::Connect));
    }
    usize::from(n.flags & PFAIL != 0)
}

/// What the cron's first pass does to a node after looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CronAction {
    /// Its handshake timed out: forget it.
    Delete,
    /// It has no link: open one.
    Connect,
}

/// What drawing a slab entry does to the gossip section being built, as
/// Redis's pick loop decides it (see [`Cluster::pick_kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PickKind {
    /// A free entry, ourselves, or a node in PFAIL (those go in a section
    /// of their own): the draw is spent, nothing else changes.
    Skip,
    /// In handshake, without an address, or neither owning slots nor
    /// linked: not gossiped, and one fewer fresh node to hope for.
    Stale,
    /// Gossiped, unless already picked.
    Fresh,
}

/// Why a replica is not failing over (`CLUSTER_CANT_FAILOVER_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CantFailover {
    None,
    DataAge,
    WaitingDelay,
    Expired,
    WaitingVotes,
}

/// `clusterState` plus this node's bus bookkeeping.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) myself: usize,
    /// The node table, a slab: a deleted node's entry is reused by the next
    /// new one, and says it holds none in its own line ([`Node::live`]): a
    /// random pick reads the picked node's line anyway, so a separate array
    /// of flags would be one more cache miss per pick.
    nodes: Vec<Node>,
    /// Which caches and indexes below are kept (see [`machinery`]).
    machinery: Machinery,
    /// Which slab entries the cron's scan must read (see
    /// [`Cluster::cron_scan`]). Every mutable access to a node notes it
    /// changed, except the few that cannot end a quiet spell (gossip raising
    /// a PONG time, [`Cluster::node_mut_keeping_cron_note`]).
    cron: CronNotes,
    /// Every entry below this one is live: where the search for a free entry
    /// starts, so that loading a table of N nodes is not N² steps.
    first_free: usize,
    pub(crate) by_name: BTreeMap<NodeName, usize>,
    /// The same nodes by name through the thread's shared name numbers (see
    /// [`names`]): a gossip section names a hundred nodes per packet, and a
    /// small array plus the node's cache line is far cheaper than walking the
    /// map. Only looked up, never iterated, so its layout cannot leak into any order.
    names: names::NameIndex,
    /// Owner of each slot. The one record of ownership: a node's bitmap is
    /// derived from it when a message needs one, since a bitmap per known node
    /// costs 2 KiB × nodes² (1 GB over a 1,000-node cluster's processes).
    slots: Vec<u32>,
    /// The last bitmap built, for a node (its own or its master's goes into every header).
    bits_cache: SlotBitsCache,
    pub(crate) migrating: BTreeMap<u16, usize>,
    pub(crate) importing: BTreeMap<u16, usize>,
    pub(crate) current_epoch: u64,
    pub(crate) last_vote_epoch: u64,
    pub(crate) state_ok: bool,
    pub(crate) size: usize,
    pub(crate) failover_auth_time: i64,
    pub(crate) failover_auth_count: usize,
    pub(crate) failover_auth_sent: bool,
    pub(crate) failover_auth_rank: usize,
    pub(crate) failover_auth_epoch: u64,
    pub(crate) cant_failover_reason: CantFailover,
    pub(crate) cant_failover_logged_ms: i64,
    pub(crate) mf_end: i64,
    pub(crate) mf_slave: Option<usize>,
    pub(crate) mf_master_offset: i64,
    pub(crate) mf_can_start: bool,
    /// Writes are held back until then (a master in a manual failover).
    pub(crate) paused_until: Option<i64>,
    pub(crate) todo: u8,
    pub(crate) stats_sent: [u64; 11],
    pub(crate) stats_received: [u64; 11],
    pub(crate) stats_pfail_nodes: usize,
    pub(crate) blacklist: BTreeMap<NodeName, i64>,
    pub(crate) first_update_state_ms: i64,
    pub(crate) among_minority_ms: i64,
    pub(crate) iteration: u64,
    pub(crate) links: links::Links,
    /// Which slab entries the gossip section being built has picked (a bit
    /// each, Redis's `last_in_ping_gossip`): a few cache lines, cleared per
    /// section, where a mark per node would be a miss per pick.
    pub(crate) gossip_taken: Vec<u64>,
    /// The nodes picked for the gossip section being built, and the draws
    /// they were picked from (slab entry, the entry's facts), kept to reuse
    /// their allocations.
    pub(crate) gossip_scratch: Vec<u32>,
    /// Table entries a received gossip section's names hash to (see [`Cluster::touch_lookups`]).
    pub(crate) lookup_scratch: Vec<u32>,
    pub(crate) draws_scratch: Vec<(u32, PickKind)>,
    /// The last PING, PONG and MEET headers sent, for the next to share.
    pub(crate) headers: frame::Headers,
    /// The nodes the cron's second pass visits, kept to reuse the allocation.
    pub(crate) cron_scratch: Vec<u32>,
    pub(crate) cron_actions: Vec<(u32, CronAction)>,
    /// The bus port this node listens on.
    pub(crate) bus_port: u16,
    /// Saved at least once since start (the first save predates the ports).
    pub(crate) saved_once: bool,
    /// `currentEpoch` and myself's `configEpoch` when
    /// [`Cluster::check_epochs`] last looked: neither may be lower the next
    /// time, except after [`Cluster::reset_epochs`].
    epoch_floor: (u64, u64),
    /// A slot changed owner since the cron last checked the slot table
    /// ([`Cluster::slot_table_problem`]; debug builds only).
    #[cfg(debug_assertions)]
    pub(crate) slots_changed: bool,
    /// The epochs (current, own config) last published as an observation.
    pub(crate) published_epochs: Option<(u64, u64)>,
    /// Slot ownership as last published (see [`Cluster::slot_changes`]):
    /// runs covering every slot, with their owner's name. Kept only while
    /// the trace records observations.
    published_slots: Vec<(u16, u16, Option<NodeName>)>,
    /// Ownership or an owner's name changed since `published_slots`.
    slots_unpublished: bool,
    /// Bumped whenever a slot's owner or an owner's name changes, so lab
    /// tooling can tell an unchanged table without reading 16384 slots.
    pub(crate) slots_version: u64,
    /// Bumped by every mutable access to an entry of the node table (every
    /// path to a `&mut Node` and every entry added or deleted), so lab
    /// tooling can tell that no node's flags, epochs or master changed
    /// without reading them (invariants look at every 10 ms poll).
    pub(crate) entries_version: u64,
    /// Slots this node's shard (myself, or the master myself replicates)
    /// stopped owning since the server last took them: their shard channels go.
    lost_shard_slots: slot_set::SlotSet,
    /// [`Cluster::owner_runs`] as of the `slots_version` beside it: CLUSTER
    /// SLOTS is asked far more often than a slot changes owner.
    runs_cache: std::cell::RefCell<(u64, Vec<OwnerRun>)>,
    /// What lab invariants read of the table, in one number
    /// ([`crate::view::ClusterView::view_generation`]).
    pub(crate) view_words: std::cell::RefCell<ViewWords>,
    /// CLUSTER SLOTS's last reply, encoded, and what it showed.
    pub(crate) slots_reply: std::cell::RefCell<slots_reply::SlotsReply>,
}

/// The words [`crate::view::ClusterView::view_generation`] last read, the
/// versions it read them at, and the generation number standing for them.
#[derive(Debug, Default)]
pub(crate) struct ViewWords {
    pub(crate) at: Option<(u64, u64, u64)>,
    pub(crate) words: Vec<u64>,
    pub(crate) scratch: Vec<u64>,
    pub(crate) generation: u64,
}

impl Cluster {
    /// A table knowing only itself, a master without slots.
    #[cfg(test)]
    pub(crate) fn new(myself_name: NodeName, now: i64) -> Cluster {
        Cluster::new_with(myself_name, now, Machinery::Fast)
    }

    /// A table knowing only itself, a master without slots, whose caches
    /// and indexes are `machinery`'s.
    pub(crate) fn new_with(myself_name: NodeName, now: i64, machinery: Machinery) -> Cluster {
        let mut c = Cluster {
            myself: 0,
            nodes: Vec::new(),
            machinery,
            first_free: 0,
            cron: CronNotes::new(machinery),
            by_name: BTreeMap::new(),
            names: names::NameIndex::new(machinery),
            slots: vec![NO_OWNER; SLOTS],
            bits_cache: SlotBitsCache::new(machinery),
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            size: 1,
            failover_auth_time: 0,
            failover_auth_count: 0,
            failover_auth_sent: false,
            failover_auth_rank: 0,
            failover_auth_epoch: 0,
            cant_failover_reason: CantFailover::None,
            cant_failover_logged_ms: 0,
            mf_end: 0,
            mf_slave: None,
            mf_master_offset: -1,
            mf_can_start: false,
            paused_until: None,
            todo: 0,
            stats_sent: [0; 11],
            stats_received: [0; 11],
            stats_pfail_nodes: 0,
            blacklist: BTreeMap::new(),
            first_update_state_ms: 0,
            among_minority_ms: 0,
            iteration: 0,
            links: links::Links::default(),
            gossip_taken: Vec::new(),
            gossip_scratch: Vec::new(),
            lookup_scratch: Vec::new(),
            draws_scratch: Vec::new(),
            headers: frame::Headers::default(),
            cron_scratch: Vec::new(),
            cron_actions: Vec::new(),
            bus_port: 0,
            saved_once: false,
            epoch_floor: (0, 0),
            #[cfg(debug_assertions)]
            slots_changed: true,
            published_epochs: None,
            published_slots: vec![(0, (SLOTS - 1) as u16, None)],
            slots_unpublished: true,
            slots_version: 0,
            entries_version: 0,
            lost_shard_slots: slot_set::SlotSet::default(),
            runs_cache: std::cell::RefCell::new((u64::MAX, Vec::new())),
            view_words: std::cell::RefCell::default(),
            slots_reply: std::cell::RefCell::default(),
        };
        c.myself = c.add_node(Node::new(myself_name, MYSELF | MASTER, now, machinery));
        c
    }

    /// Which caches and indexes the table keeps.
    #[cfg(test)]
    pub(crate) fn machinery(&self) -> Machinery {
        self.machinery
    }

    pub(crate) fn node(&self, i: usize) -> &Node {
        debug_assert!(self.nodes[i].live, "node {i} is deleted");
        &self.nodes[i]
    }
    pub(crate) fn node_mut(&mut self, i: usize) -> &mut Node {
        debug_assert!(self.nodes[i].live, "node {i} is deleted");
        self.cron.note_changed(i);
        self.entries_version = self.entries_version.wrapping_add(1);
        &mut self.nodes[i]
    }
    /// Node `i`, to change only in ways that cannot end a quiet spell in
    /// the cron's eyes (see [`Cluster::cron_scan`]): what a packet's header
    /// tells of its sender (data time, epochs, offset, `nofailover`), a newer
    /// PONG answering the pending ping and clearing PFAIL. Its note stays;
    /// [`Cluster::node_mut`] is for everything else. Every packet changes
    /// its sender so, and resetting the note made the next scan read the
    /// sender again, a cache miss per packet.
    pub(crate) fn node_mut_keeping_cron_note(&mut self, i: usize) -> &mut Node {
        debug_assert!(self.nodes[i].live, "node {i} is deleted");
        self.entries_version = self.entries_version.wrapping_add(1);
        &mut self.nodes[i]
    }

    /// Node `i`, if entry `i` of the slab holds one.
    pub(crate) fn get(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i).filter(|n| n.live)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
        let n = self.nodes.get_mut(i).filter(|n| n.live)?;
        self.cron.note_changed(i);
        self.entries_version = self.entries_version.wrapping_add(1);
        Some(n)
    }

    /// The first pass of `clusterCron` over the table, in slab order: counts
    /// the nodes in PFAIL, fills `candidates` with the nodes the second pass
    /// can act on (a ping pending, or linked with the last PONG older than
    /// half the timeout, or acted on here) and `actions` with the nodes to
    /// delete (handshake expired) or connect (no link), in the order Redis
    /// meets them. Nothing it reads depends on those actions, so doing them
    /// after the walk is doing them during it.
    ///
    /// It runs ten times a second on every node, and reading every node each
    /// time streamed whole tables through the cache (7 % of a 1,000-node
    /// run). Most nodes give it nothing to do most of the time: linked, no
    /// ping pending, not in handshake or PFAIL, and their last PONG newer
    /// than half the timeout. Such a node stays so until that PONG ages or
    /// the node changes, so the scan notes when it ages ([`CronNotes`]) and
    /// passes it by until then or until the node is changed (a mutable
    /// access resets the note, but for changes that can only start a quiet
    /// spell). A PONG time only ever grows, so gossip that raises one leaves
    /// the note an underestimate, which is safe. Debug builds check every
    /// scan against reading every node.
    pub(crate) fn cron_scan(
        &mut self,
        t: CronTimes,
        candidates: &mut Vec<u32>,
        actions: &mut Vec<(u32, CronAction)>,
    ) -> usize {
        #[cfg(debug_assertions)]
        let (first_candidate, first_action) = (candidates.len(), actions.len());
        let mut pfail_nodes = 0;
        self.cron.scan(&self.nodes, t, |i, n| pfail_nodes += cron_visit(n, i, t, candidates, actions));
        #[cfg(debug_assertions)]
        if !self.cron.plain() {
            let (mut all_candidates, mut all_actions) = (Vec::new(), Vec::new());
            let all_pfail = self.cron_scan_every_node(t, &mut all_candidates, &mut all_actions);
            assert_eq!(
                (pfail_nodes, &candidates[first_candidate..], &actions[first_action..]),
                (all_pfail, &all_candidates[..], &all_actions[..]),
                "the cron's scan passed by a node it had to read"
            );
        }
        pfail_nodes
    }

    /// [`Cluster::cron_scan`] reading every node, to check it against.
    #[cfg(debug_assertions)]
    fn cron_scan_every_node(
        &self,
        t: CronTimes,
        candidates: &mut Vec<u32>,
        actions: &mut Vec<(u32, CronAction)>,
    ) -> usize {
        self.nodes.iter().enumerate().map(|(i, n)| cron_visit(n, i, t, candidates, actions)).sum()
    }

    /// Entries of the slab, deleted ones included: the range random picks draw from.
    pub(crate) fn slab_len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn me(&self) -> &Node {
        self.node(self.myself)
    }
    pub(crate) fn me_mut(&mut self) -> &mut Node {
        let i = self.myself;
        self.node_mut(i)
    }
    pub(crate) fn lookup(&self, name: &NodeName) -> Option<usize> {
        self.lookup_bytes(name.bytes())
    }

    /// A name typed by a user: 40 bytes or no node (`clusterLookupNode`).
    pub(crate) fn lookup_str(&self, name: &str) -> Option<usize> {
        NodeName::parse(name).and_then(|n| self.lookup(&n))
    }

    /// A name as a message carries it.
    pub(crate) fn lookup_bytes(&self, name: &[u8; bus::NAME_LEN]) -> Option<usize> {
        self.names.get(name)
    }

    /// Reads what looking up `names` will read, without using it: the nodes
    /// they name (their identities are read only for a failing node, which
    /// is rare enough to wait for). A gossip section's lookups are
    /// independent, so reading each level for all of them before the next
    /// lets the processor fetch a level's lines in parallel, where one lookup
    /// after the other would wait for memory at each. `found` is scratch space
    /// for the slab entries. Returns a value only so that the reads are not
    /// optimised away.
    pub(crate) fn touch_lookups<'n>(
        &self,
        names: impl Iterator<Item = &'n [u8; bus::NAME_LEN]>,
        found: &mut Vec<u32>,
    ) -> u64 {
        self.names.get_all(names, found);
        u64::from(self.touch_entries(found.iter().copied()))
    }

    /// Most of what a gossip entry about known node `i` does, in one read of
    /// the node: when neither the entry nor our view of it is failing and
    /// nobody reported it, reports cannot change and its address is not
    /// looked at, and all that is left is taking a newer PONG time (Redis
    /// 7.0's `clusterProcessGossipSection`). Returns false, changing
    /// nothing, for the other entries, which take the full path.
    pub(crate) fn gossip_about_healthy(&mut self, i: usize, flags: u16, pong_secs: u32, now: i64) -> bool {
        // Not `node_mut`: all this changes is a PONG time, upwards, which
        // leaves the node's cron note safe (see `cron_scan`).
        self.entries_version = self.entries_version.wrapping_add(1);
        let n = &mut self.nodes[i];
        debug_assert!(n.live, "node {i} is deleted");
        if (flags | n.flags) & (FAIL | PFAIL) != 0 || n.reported {
            return false;
        }
        let pong = i64::from(pong_secs) * 1000;
        if n.ping_sent == 0 && pong <= now + 500 && pong > n.pong_received {
            n.pong_received = pong;
        }
        true
    }

    /// Reads the line of each slab entry in `entries`, free ones too, in a
    /// loop that does nothing else: few instructions per load let the
    /// processor have many of them in flight, where a loop that also
    /// decides something per entry keeps fewer loads waiting at once.
    pub(crate) fn touch_entries(&self, entries: impl Iterator<Item = u32>) -> u16 {
        entries.fold(0, |seen, i| seen ^ self.nodes.get(i as usize).map_or(0, |n| n.flags))
    }

    /// Reads the identities of slab entries `picked` (see [`Cluster::touch_lookups`]).
    pub(crate) fn touch_identities(&self, picked: &[u32]) -> u64 {
        picked.iter().fold(0, |seen, &i| seen ^ self.get(i as usize).map_or(0, |n| u64::from(n.id.port)))
    }

    /// What a random pick of entry `i` for a gossip section does. Decided
    /// here, in the pass that reads the picked nodes (each a cache miss),
    /// the work overlaps the waits for memory.
    pub(crate) fn pick_kind(&self, i: usize) -> PickKind {
        match self.get(i) {
            None => PickKind::Skip,
            Some(_) if i == self.myself => PickKind::Skip,
            Some(n) if n.flags & PFAIL != 0 => PickKind::Skip,
            Some(n) if n.flags & (HANDSHAKE | NOADDR) != 0 || (n.numslots == 0 && !n.linked) => PickKind::Stale,
            Some(_) => PickKind::Fresh,
        }
    }

    fn index_name(&mut self, name: &NodeName, i: usize) {
        self.names.insert(name, i);
    }

    /// Removes `name`'s entry if it is node `i`'s.
    fn unindex_name(&mut self, name: &NodeName, i: usize) {
        self.names.remove(name, i);
    }

    /// Live nodes in slab order: for walks whose result does not depend on the order.
    pub(crate) fn live_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.live)
    }

    /// Live node indices in table order (by name).
    pub(crate) fn indices(&self) -> Vec<usize> {
        self.by_name.values().copied().collect()
    }
    pub(crate) fn known_nodes(&self) -> usize {
        self.by_name.len()
    }

    pub(crate) fn add_node(&mut self, node: Node) -> usize {
        let free = self.nodes[self.first_free..].iter().position(|n| !n.live).map(|k| self.first_free + k);
        let i = free.unwrap_or(self.nodes.len());
        if let Some(old) = self.by_name.insert(node.name(), i) {
            self.unindex_name(&node.name(), old);
        }
        self.index_name(&node.name(), i);
        self.entries_version = self.entries_version.wrapping_add(1);
        if free.is_some() {
            self.nodes[i] = node;
            self.cron.note_changed(i);
        } else {
            self.nodes.push(node);
            self.cron.push();
            self.gossip_taken.resize(self.nodes.len().div_ceil(64), 0);
        }
        self.first_free = i + 1;
        i
    }

    pub(crate) fn create_node(&mut self, name: NodeName, flags: u16, now: i64) -> usize {
        self.add_node(Node::new(name, flags, now, self.machinery))
    }

    /// `clusterDelNode`: unassigns its slots, drops reports it made, unlinks
    /// replicas; returns the links the caller must close.
    pub(crate) fn del_node(&mut self, i: usize) -> Vec<ConnId> {
        for s in 0..SLOTS {
            if self.slots[s] == i as u32 {
                self.del_slot(s);
            }
        }
        self.importing.retain(|_, n| *n != i);
        self.migrating.retain(|_, n| *n != i);
        for j in self.indices() {
            let n = self.node_mut(j);
            n.retain_fail_reports(|(who, _)| *who != i);
            if n.slaveof == Some(i) {
                n.slaveof = None;
            }
            n.replicas.retain(|r| *r != i);
        }
        if self.mf_slave == Some(i) {
            self.mf_slave = None;
        }
        let mut free = Node::new(NodeName::NONE, 0, 0, self.machinery);
        free.live = false;
        let node = std::mem::replace(&mut self.nodes[i], free);
        self.cron.note_changed(i);
        self.entries_version = self.entries_version.wrapping_add(1);
        self.first_free = self.first_free.min(i);
        self.by_name.remove(&node.name());
        self.unindex_name(&node.name(), i);
        let mut conns = Vec::new();
        for conn in [node.link(), node.inbound].into_iter().flatten() {
            self.links.remove(&conn);
            conns.push(conn);
        }
        for l in self.links.values_mut() {
            if l.node() == Some(i) {
                l.set_node(None);
            }
        }
        conns
    }

    pub(crate) fn rename(&mut self, i: usize, name: &NodeName) {
        let old = self.node(i).name();
        self.node_mut(i).set_name(*name);
        self.slots_unpublished = true;
        self.slots_version += 1;
        self.by_name.remove(&old);
        self.unindex_name(&old, i);
        if let Some(other) = self.by_name.insert(*name, i) {
            self.unindex_name(name, other);
        }
        self.index_name(name, i);
    }

    pub(crate) fn owner(&self, slot: usize) -> Option<usize> {
        let o = self.slots[slot];
        (o != NO_OWNER).then_some(o as usize)
    }

    /// The owned runs of slots, in order: `(first, last, owner)` for each
    /// longest stretch of one owner (what CLUSTER SLOTS lists). Cluster
    /// clients ask after every connection error: the runs are kept until a
    /// slot changes owner, and found a block of 16 owners at a time.
    pub(crate) fn owner_runs(&self) -> Vec<OwnerRun> {
        self.with_owner_runs(<[OwnerRun]>::to_vec)
    }

    /// `f` of [`Cluster::owner_runs`], read in place.
    pub(crate) fn with_owner_runs<R>(&self, f: impl FnOnce(&[OwnerRun]) -> R) -> R {
        let mut cache = self.runs_cache.borrow_mut();
        if cache.0 != self.slots_version {
            *cache = (self.slots_version, self.scan_owner_runs());
        }
        debug_assert_eq!(cache.1, self.scan_owner_runs(), "owner runs cached at version {}", cache.0);
        f(&cache.1)
    }

    fn scan_owner_runs(&self) -> Vec<OwnerRun> {
        let mut runs = Vec::new();
        let mut s = 0;
        while s < SLOTS {
            let end = run_end(&self.slots, s);
            if let Some(o) = self.owner(s) {
                runs.push((s, end - 1, o));
            }
            s = end;
        }
        runs
    }

    /// After slots changed owner: the slot map is unpublished, the caches
    /// keyed by it (owner runs, the bitmaps) are out of date.
    fn owners_changed(&mut self) {
        self.slots_unpublished = true;
        self.slots_version += 1;
        self.bits_cache.invalidate();
        #[cfg(debug_assertions)]
        {
            self.slots_changed = true;
        }
    }

    pub(crate) fn add_slot(&mut self, i: usize, slot: usize) -> bool {
        if self.slots[slot] != NO_OWNER {
            return false;
        }
        self.slots[slot] = i as u32;
        self.owners_changed();
        let n = self.node_mut(i);
        n.numslots += 1;
        n.slots_text.replace(None);
        true
    }

    /// [`Cluster::add_slot`] to `i` of each of `slots`, all free: the
    /// bookkeeping of a change done once rather than once per slot.
    pub(crate) fn add_slots(&mut self, i: usize, slots: &[u16]) {
        if slots.is_empty() {
            return;
        }
        for &slot in slots {
            debug_assert_eq!(self.slots[usize::from(slot)], NO_OWNER, "slot {slot} is not free");
            self.slots[usize::from(slot)] = i as u32;
        }
        self.owners_changed();
        let n = self.node_mut(i);
        n.numslots += slots.len() as u16;
        n.slots_text.replace(None);
    }

    /// `clusterDelSlot`: the slot loses its owner; when that was this node's
    /// shard, it is remembered for [`Cluster::take_lost_shard_slots`].
    pub(crate) fn del_slot(&mut self, slot: usize) -> bool {
        let Some(i) = self.owner(slot) else { return false };
        if i == self.myself || self.me().slaveof == Some(i) {
            self.lost_shard_slots.insert(slot as u16);
        }
        self.slots[slot] = NO_OWNER;
        self.owners_changed();
        let n = self.node_mut(i);
        n.numslots -= 1;
        n.slots_text.replace(None);
        true
    }

    /// [`Cluster::del_slot`] then [`Cluster::add_slot`] to `to` for each of
    /// `slots`: what a newer claim does to the slots it wins (thousands at a
    /// time as a cluster forms or fails over), with the bookkeeping of a
    /// change done once per owner rather than once per slot.
    pub(crate) fn rebind_slots(&mut self, slots: &[u16], to: usize) {
        if slots.is_empty() {
            return;
        }
        let my_master = self.me().slaveof;
        let mut last_owner = None;
        for &slot in slots {
            let slot = usize::from(slot);
            if let Some(i) = self.owner(slot) {
                if i == self.myself || my_master == Some(i) {
                    self.lost_shard_slots.insert(slot as u16);
                }
                let n = self.node_mut(i);
                n.numslots -= 1;
                if last_owner != Some(i) {
                    n.slots_text.replace(None);
                    last_owner = Some(i);
                }
            }
            self.slots[slot] = to as u32;
        }
        self.owners_changed();
        let n = self.node_mut(to);
        n.numslots += slots.len() as u16;
        n.slots_text.replace(None);
    }

    /// Asserts that `currentEpoch` and myself's `configEpoch` have not gone
    /// down since the last call, and remembers them. Epochs only grow in
    /// Redis (a vote, a failover, a collision, gossip from a newer node all
    /// raise them), but for `CLUSTER RESET HARD`, which
    /// [`Cluster::reset_epochs`] announces. Called after every input; two
    /// comparisons, so release builds check too.
    pub(crate) fn check_epochs(&mut self) {
        let (current, config) = (self.current_epoch, self.me().config_epoch);
        let (floor_current, floor_config) = self.epoch_floor;
        assert!(current >= floor_current, "currentEpoch went down from {floor_current} to {current}");
        assert!(config >= floor_config, "myself's configEpoch went down from {floor_config} to {config}");
        self.epoch_floor = (current, config);
    }

    /// `CLUSTER RESET HARD` set the epochs to 0, as `clusterReset` does: the
    /// one place Redis lowers them.
    pub(crate) fn reset_epochs(&mut self) {
        self.current_epoch = 0;
        self.last_vote_epoch = 0;
        self.me_mut().config_epoch = 0;
        self.epoch_floor = (0, 0);
    }

    /// What is wrong with the slot table, if anything: a slot owned by a
    /// deleted node, a node whose `numslots` is not the number of slots the
    /// owner table gives it, or a cached bitmap (or its block mask) that is
    /// not the owner table's slots of its node. The owner table holds one
    /// owner per slot by construction; these are what is derived from it.
    /// Reads all 16384 slots: debug builds check it at the cron tick after
    /// a slot changed owner, and the property tests every 500 virtual ms.
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn slot_table_problem(&self) -> Option<String> {
        let mut counts = vec![0u32; self.nodes.len()];
        for (slot, &owner) in self.slots.iter().enumerate() {
            if owner == NO_OWNER {
                continue;
            }
            match self.nodes.get(owner as usize) {
                Some(n) if n.live => counts[owner as usize] += 1,
                _ => return Some(format!("slot {slot} is owned by node entry {owner}, which is not a live node")),
            }
        }
        for (i, n) in self.nodes.iter().enumerate().filter(|(_, n)| n.live) {
            if u32::from(n.numslots) != counts[i] {
                return Some(format!(
                    "node {} has numslots {} but owns {} slots in the owner table",
                    n.name(),
                    n.numslots,
                    counts[i]
                ));
            }
        }
        self.bits_cache.problem(&self.slots)
    }

    /// Node `i`'s slots as the bus carries them, from a cache: every header
    /// carries its sender's (or its master's) bitmap, which rarely changes.
    pub(crate) fn slot_bits(&self, i: usize) -> std::cell::Ref<'_, SlotBits> {
        self.bits_cache.bits(i, &self.slots)
    }

    /// Which 64-byte blocks of `bits` have a slot set (see
    /// [`bus::Header::slot_blocks`]), when `bits` is the bitmap
    /// [`Cluster::slot_bits`] last built; every block otherwise.
    pub(crate) fn slot_blocks(&self, bits: &SlotBits) -> u32 {
        self.bits_cache.blocks(bits)
    }

    /// Whether `bits` is exactly node `i`'s slots. Every PING is checked,
    /// and a master's carries thousands of slots: the bitmap `i`'s owner
    /// runs make is built a byte run at a time (a run's whole bytes filled
    /// at once, its two edge bytes masked) and compared with it as bytes
    /// (a `memcmp`), instead of looking each set bit's owner up.
    pub(crate) fn owns_exactly(&self, i: usize, bits: &SlotBits) -> bool {
        let mut want = [0u8; bus::SLOT_BYTES];
        self.with_owner_runs(|runs| {
            for &(start, end, _) in runs.iter().filter(|r| r.2 == i) {
                // Slot `s` is bit `s % 8` of byte `s / 8`.
                let (first, last) = (start / 8, end / 8);
                let (lo, hi) = (0xffu8 << (start % 8), 0xffu8 >> (7 - end % 8));
                if first == last {
                    want[first] |= lo & hi;
                } else {
                    want[first] |= lo;
                    want[first + 1..last].fill(0xff);
                    want[last] |= hi;
                }
            }
        });
        want[..] == bits[..]
    }

    /// Maximal runs of slots node `i` owns, as (first, last).
    pub(crate) fn owned_ranges(&self, i: usize) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (slot, &owner) in self.slots.iter().enumerate() {
            if owner != i as u32 {
                continue;
            }
            match out.last_mut() {
                Some((_, last)) if *last + 1 == slot => *last = slot,
                _ => out.push((slot, slot)),
            }
        }
        out
    }

    /// The runs of slots whose owner, by name, changed in this table since
    /// the last call, with the new owner; the first call gives every owned
    /// run. For the `SlotRange` observations: it reads the whole table, so
    /// it is called only while the trace keeps observations.
    pub(crate) fn slot_changes(&mut self) -> Vec<(u16, u16, Option<NodeName>)> {
        if !std::mem::take(&mut self.slots_unpublished) {
            return Vec::new();
        }
        // Runs by owner entry (a name is unique in the table), then named.
        let mut runs: Vec<(u16, u16, u32)> = Vec::new();
        for (slot, &owner) in self.slots.iter().enumerate() {
            match runs.last_mut() {
                Some((_, last, o)) if *o == owner => *last = slot as u16,
                _ => runs.push((slot as u16, slot as u16, owner)),
            }
        }
        let now: Vec<(u16, u16, Option<NodeName>)> = runs
            .into_iter()
            .map(|(first, last, o)| (first, last, (o != NO_OWNER).then(|| self.nodes[o as usize].name())))
            .collect();
        // Both lists cover every slot in order: walk their common pieces.
        let mut changes: Vec<(u16, u16, Option<NodeName>)> = Vec::new();
        let (old, mut i, mut j, mut first) = (&self.published_slots, 0, 0, 0u16);
        while i < old.len() && j < now.len() {
            let last = old[i].1.min(now[j].1);
            if old[i].2 != now[j].2 {
                match changes.last_mut() {
                    Some((_, l, o)) if *o == now[j].2 && *l + 1 == first => *l = last,
                    _ => changes.push((first, last, now[j].2)),
                }
            }
            i += usize::from(old[i].1 == last);
            j += usize::from(now[j].1 == last);
            first = last.wrapping_add(1);
        }
        self.published_slots = now;
        changes
    }

    /// The slots this node's shard lost since the last call.
    pub(crate) fn take_lost_shard_slots(&mut self) -> slot_set::SlotSet {
        std::mem::take(&mut self.lost_shard_slots)
    }

    pub(crate) fn del_node_slots(&mut self, i: usize) {
        // `numslots` is how many slots the owner table gives `i` (debug
        // builds check it at every cron, `slot_table_problem`): the scan
        // stops at the last of them, and a node without slots (a node just
        // met turning replica, as every replica does when a cluster forms)
        // costs no scan of 16384 slots. The same slots, in the same order.
        let mut left = self.node(i).numslots;
        let mut s = 0;
        while left > 0 && s < SLOTS {
            if self.slots[s] == i as u32 {
                self.del_slot(s);
                left -= 1;
            }
            s += 1;
        }
        debug_assert!(!self.slots.contains(&(i as u32)), "node {i} kept slots its numslots did not count");
    }

    pub(crate) fn add_replica(&mut self, master: usize, replica: usize) {
        let m = self.node_mut(master);
        if !m.replicas.contains(&replica) {
            m.replicas.push(replica);
        }
        m.flags |= MIGRATE_TO;
    }

    pub(crate) fn remove_replica(&mut self, master: usize, replica: usize) {
        let m = self.node_mut(master);
        m.replicas.retain(|r| *r != replica);
        if m.replicas.is_empty() {
            m.flags &= !MIGRATE_TO;
        }
    }

    /// `clusterSetNodeAsMaster`.
    pub(crate) fn set_node_as_master(&mut self, i: usize) {
        if self.node(i).is_master() {
            return;
        }
        if let Some(m) = self.node(i).slaveof {
            self.remove_replica(m, i);
            if i != self.myself {
                self.node_mut(i).flags |= MIGRATE_TO;
            }
        }
        let n = self.node_mut(i);
        n.flags = (n.flags & !SLAVE) | MASTER;
        n.slaveof = None;
        self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
    }

    /// The node's configEpoch, or its master's for a replica (`nodeEpoch`).
    pub(crate) fn epoch_of(&self, i: usize) -> u64 {
        let n = self.node(i);
        // The flag first: a master's answer needs no read of its cold part.
        match n.is_slave().then_some(n.slaveof).flatten() {
            Some(m) => self.node(m).config_epoch,
            None => n.config_epoch,
        }
    }

    pub(crate) fn max_epoch(&self) -> u64 {
        self.by_name.values().map(|&i| self.node(i).config_epoch).max().unwrap_or(0).max(self.current_epoch)
    }

    pub(crate) fn count_non_failing_replicas(&self, i: usize) -> usize {
        self.node(i).replicas.iter().filter(|&&r| !self.node(r).failed()).count()
    }

    /// The number of valid failure reports, after dropping expired ones.
    pub(crate) fn failure_reports(&mut self, i: usize, now: i64, node_timeout: i64) -> usize {
        let validity = node_timeout * 2;
        let n = self.node_mut(i);
        n.retain_fail_reports(|(_, t)| now - t <= validity)
    }

    pub(crate) fn blacklisted(&mut self, name: &NodeName, now: i64) -> bool {
        self.blacklist.retain(|_, expire| *expire > now);
        self.blacklist.contains_key(name)
    }

    pub(crate) fn blacklist_add(&mut self, name: &NodeName, now: i64) {
        self.blacklist.insert(*name, now + BLACKLIST_TTL_MS);
    }

    /// One CLUSTER NODES line without the newline (`clusterGenNodeDescription`).
    pub(crate) fn describe(&self, i: usize, my_ports_known: bool) -> String {
        let mut s = String::with_capacity(128);
        self.describe_into(i, my_ports_known, &mut s);
        s
    }

    /// Appends node `i`'s line (without the newline) to `s`.
    fn describe_into(&self, i: usize, my_ports_known: bool, s: &mut String) {
        let n = self.node(i);
        let (port, cport) = if my_ports_known || i != self.myself { (n.port(), n.cport()) } else { (0, 0) };
        s.push_str(&n.name());
        s.push(' ');
        s.push_str(&n.ip());
        let _ = write!(s, ":{port}@{cport} ");
        n.write_flag_names(s);
        s.push(' ');
        match n.slaveof {
            Some(m) => s.push_str(&self.node(m).name()),
            None => s.push('-'),
        }
        // A link still connecting shows as connected, as in Redis.
        let connected = n.linked() || i == self.myself;
        let _ = write!(
            s,
            " {} {} {} {}",
            n.ping_sent,
            n.pong_received,
            self.epoch_of(i),
            if connected { "connected" } else { "disconnected" }
        );
        let build = || {
            let mut text = String::new();
            for (a, b) in self.owned_ranges(i) {
                push_range(&mut text, a, b);
            }
            text
        };
        match self.machinery {
            Machinery::Fast => s.push_str(n.slots_text.borrow_mut().get_or_insert_with(build)),
            Machinery::Plain => s.push_str(&build()),
        }
        if i == self.myself {
            for (slot, to) in &self.migrating {
                let _ = write!(s, " [{slot}->-{}]", self.node(*to).name());
            }
            for (slot, from) in &self.importing {
                let _ = write!(s, " [{slot}-<-{}]", self.node(*from).name());
            }
        }
    }

    /// Builds every missing slots text in one pass over the slot table: a
    /// node started from nodes.conf has none cached, and building each on its
    /// own would scan all 16384 slots once per node (a billion checks across
    /// a 1,000-node cluster's first saves).
    fn fill_slots_texts(&self) {
        if self.machinery == Machinery::Plain {
            return;
        }
        let missing: Vec<bool> =
            (0..self.nodes.len()).map(|i| self.nodes[i].live && self.nodes[i].slots_text.borrow().is_none()).collect();
        if !missing.contains(&true) {
            return;
        }
        let mut texts: Vec<String> = vec![String::new(); self.nodes.len()];
        let mut slot = 0;
        while slot < SLOTS {
            let owner = self.slots[slot];
            let last = run_end(&self.slots, slot) - 1;
            if owner != NO_OWNER && missing.get(owner as usize) == Some(&true) {
                push_range(&mut texts[owner as usize], slot, last);
            }
            slot = last + 1;
        }
        for (i, text) in texts.into_iter().enumerate() {
            if missing[i] {
                *self.nodes[i].slots_text.borrow_mut() = Some(text);
            }
        }
    }
}

/// Maximal runs of slots for which `has` holds, as (first, last): the plain
/// definition [`Cluster::owned_ranges`] is checked against.
#[cfg(test)]
pub(crate) fn slot_ranges(has: impl Fn(usize) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for s in 0..=SLOTS {
        let on = s < SLOTS && has(s);
        match (on, start) {
            (true, None) => start = Some(s),
            (false, Some(a)) => {
                out.push((a, s - 1));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The first index from `s` on whose owner differs from `slots[s]`'s (or the end).
fn run_end(slots: &[u32], s: usize) -> usize {
    const BLOCK: usize = 16;
    let o = slots[s];
    let mut e = s + 1;
    // Branch-free over a block, so it compiles to vector compares.
    while slots.get(e..e + BLOCK).is_some_and(|b| b.iter().fold(0, |acc, &x| acc | (x ^ o)) == 0) {
        e += BLOCK;
    }
    while slots.get(e) == Some(&o) {
        e += 1;
    }
    e
}
