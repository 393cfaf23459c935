//! The bus links of one node, by connection.
//!
//! Every packet looks its link up two or three times. A 1,000-node cluster
//! has two thousand links per node, and a B-tree of them is a walk through
//! several tree nodes, each a cache miss, per lookup. Here a lookup is one
//! probe into a small index and the link's own entry.

use sim::ConnId;
use std::cell::Cell;
use std::net::Ipv4Addr;

/// A bus connection: inbound ones learn their node from the first packet.
///
/// Small, as a node holds two per known node (two million in a 1,000-node
/// cluster) and every packet reads its link first.
#[derive(Debug)]
pub(crate) struct Link {
    /// The node's slab entry, [`Link::NO_NODE`] until known.
    node: u32,
    /// The peer's address as the socket reports it (`nodeIp2String`'s fallback).
    pub(crate) peer_ip: Ipv4Addr,
    pub(crate) ctime: i64,
    pub(crate) inbound: bool,
    pub(crate) connected: bool,
    /// Until the connect completes, bytes queued to send; after, the start
    /// of a frame still arriving. A link cannot receive before it is connected.
    pub(crate) held: Vec<u8>,
}

const _: () = assert!(std::mem::size_of::<Link>() <= 48);

impl Link {
    const NO_NODE: u32 = u32::MAX;

    /// An inbound link is an accepted connection, so it starts connected; an
    /// outbound one waits for its connect to complete.
    pub(crate) fn new(node: Option<usize>, peer_ip: Ipv4Addr, ctime: i64, inbound: bool) -> Link {
        let mut link = Link { node: Link::NO_NODE, peer_ip, ctime, inbound, connected: inbound, held: Vec::new() };
        link.set_node(node);
        link
    }

    pub(crate) fn node(&self) -> Option<usize> {
        (self.node != Link::NO_NODE).then_some(self.node as usize)
    }

    pub(crate) fn set_node(&mut self, node: Option<usize>) {
        // Slab entries are table positions: far below u32::MAX.
        self.node = node.map_or(Link::NO_NODE, |i| i as u32);
    }
}

const EMPTY: u32 = u32::MAX;

/// Links in a slab, found through an open-addressing index of their
/// connection ids (linear probing, at most half full). Each index slot holds
/// the connection's hash beside the entry number, so that walking a probe
/// run reads the index alone: a new connection's insert walks one to its
/// end, and reading the entries it passes was a cache miss each (a node of
/// a 1,000-node cluster makes two thousand links in its first second).
/// Iteration is in slab order, which follows the history of inserts and
/// removals: callers that show links in some order sort them.
#[derive(Debug, Default)]
pub(crate) struct Links {
    entries: Vec<(ConnId, Link)>,
    /// (hash of the connection, entry number), `EMPTY` numbers free slots.
    index: Vec<(u32, u32)>,
    /// The entry last looked up or hinted at, tried before the index: a
    /// packet's handling looks its link up several times, and its first
    /// lookup can start from the kernel's tag (see [`Links::hint`]). An
    /// entry is right when it names the connection, so a stale one is
    /// simply missed.
    recent: Cell<Option<(ConnId, u32)>>,
}

impl Links {
    fn hash(conn: ConnId) -> u32 {
        (conn.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
    }

    fn home(&self, conn: ConnId) -> usize {
        Links::hash(conn) as usize & (self.index.len() - 1)
    }

    /// The index position naming `conn`'s entry.
    fn position(&self, conn: ConnId) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.index.len() - 1;
        let hash = Links::hash(conn);
        let mut at = hash as usize & mask;
        loop {
            let (h, e) = self.index[at];
            if e == EMPTY {
                return None;
            }
            if h == hash && self.entries[e as usize].0 == conn {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// The entry holding `conn`'s link.
    fn entry(&self, conn: ConnId) -> Option<usize> {
        if let Some((last, e)) = self.recent.get()
            && last == conn
            && self.names(e, conn)
        {
            return Some(e as usize);
        }
        let e = self.index[self.position(conn)?].1;
        self.recent.set(Some((conn, e)));
        Some(e as usize)
    }

    fn names(&self, e: u32, conn: ConnId) -> bool {
        self.entries.get(e as usize).is_some_and(|(c, _)| *c == conn)
    }

    /// Where `conn`'s link is now, to hand to [`Links::hint`] later.
    pub(crate) fn slot(&self, conn: &ConnId) -> Option<u32> {
        self.entry(*conn).map(|e| e as u32)
    }

    /// Says that `conn`'s link may be at `slot` (from [`Links::slot`],
    /// possibly long ago): the next lookup of `conn` tries there first.
    pub(crate) fn hint(&self, conn: &ConnId, slot: u32) {
        if self.names(slot, *conn) {
            self.recent.set(Some((*conn, slot)));
        }
    }

    pub(crate) fn get(&self, conn: &ConnId) -> Option<&Link> {
        self.entry(*conn).map(|e| &self.entries[e].1)
    }

    pub(crate) fn get_mut(&mut self, conn: &ConnId) -> Option<&mut Link> {
        self.entry(*conn).map(|e| &mut self.entries[e].1)
    }

    pub(crate) fn contains_key(&self, conn: &ConnId) -> bool {
        self.entry(*conn).is_some()
    }

    /// How many bus links there are, both ways (INFO's `cluster_connections`).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Makes room for `n` links in all without growing.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.entries.reserve(n.saturating_sub(self.entries.len()));
        let wanted = (n * 2).next_power_of_two().max(16);
        if wanted > self.index.len() {
            self.index = vec![(0, EMPTY); wanted];
            for e in 0..self.entries.len() {
                self.place(e);
            }
        }
    }

    /// Adds or replaces `conn`'s link; returns the one replaced.
    pub(crate) fn insert(&mut self, conn: ConnId, link: Link) -> Option<Link> {
        if let Some(at) = self.position(conn) {
            return Some(std::mem::replace(&mut self.entries[self.index[at].1 as usize].1, link));
        }
        if (self.entries.len() + 1) * 2 > self.index.len() {
            self.index = vec![(0, EMPTY); ((self.entries.len() + 1) * 2).next_power_of_two().max(16)];
            for e in 0..self.entries.len() {
                self.place(e);
            }
        }
        self.entries.push((conn, link));
        self.place(self.entries.len() - 1);
        None
    }

    fn place(&mut self, e: usize) {
        let mask = self.index.len() - 1;
        let hash = Links::hash(self.entries[e].0);
        let mut at = hash as usize & mask;
        while self.index[at].1 != EMPTY {
            at = (at + 1) & mask;
        }
        self.index[at] = (hash, e as u32);
    }

    pub(crate) fn remove(&mut self, conn: &ConnId) -> Option<Link> {
        let at = self.position(*conn)?;
        let e = self.index[at].1 as usize;
        // Close the hole: later entries of the probe run whose home is not
        // after the hole move back, so that no lookup stops early.
        let mask = self.index.len() - 1;
        let mut hole = at;
        let mut next = at;
        loop {
            next = (next + 1) & mask;
            let moved = self.index[next];
            if moved.1 == EMPTY {
                break;
            }
            let home = moved.0 as usize & mask;
            // Distances from the home: the entry may fill the hole if the hole
            // is no further from its home than where it sits.
            if (hole.wrapping_sub(home) & mask) <= (next.wrapping_sub(home) & mask) {
                self.index[hole] = moved;
                hole = next;
            }
        }
        self.index[hole] = (0, EMPTY);
        let (_, link) = self.entries.swap_remove(e);
        if e < self.entries.len() {
            // The last entry moved into `e`: repoint its index slot.
            let last = self.entries.len() as u32;
            let at = self.position_of_entry(self.entries[e].0, last);
            self.index[at].1 = e as u32;
        }
        Some(link)
    }

    /// Where the index names entry number `e` for `conn`.
    fn position_of_entry(&self, conn: ConnId, e: u32) -> usize {
        let mask = self.index.len() - 1;
        let mut at = self.home(conn);
        while self.index[at].1 != e {
            at = (at + 1) & mask;
        }
        at
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Link> {
        self.entries.iter_mut().map(|(_, l)| l)
    }

    /// (connection, link) in connection order.
    pub(crate) fn sorted(&self) -> Vec<(ConnId, &Link)> {
        let mut all: Vec<(ConnId, &Link)> = self.entries.iter().map(|(c, l)| (*c, l)).collect();
        all.sort_by_key(|(c, _)| *c);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn link(ctime: i64) -> Link {
        Link::new(None, std::net::Ipv4Addr::LOCALHOST, ctime, false)
    }

    /// Random inserts and removals agree with a BTreeMap at every step,
    /// including ids that collide in the index, removals mid-run, and
    /// lookups after hints that are right, stale or wrong.
    #[test]
    fn matches_a_btreemap_through_inserts_and_removals() {
        let mut rng = sim::Rng::stream(7, "links");
        let mut links = Links::default();
        let mut model: BTreeMap<ConnId, i64> = BTreeMap::new();
        for step in 0..20_000i64 {
            // Few distinct ids, so that the same id comes back and runs form.
            let conn = ConnId(rng.below(300) << (rng.below(2) * 32));
            if step % 5_000 == 2_500 {
                // Room made mid-run re-places what is there.
                links.reserve(links.len() + 400);
            }
            if rng.below(3) == 0 {
                assert_eq!(links.remove(&conn).map(|l| l.ctime), model.remove(&conn), "step {step}");
            } else {
                assert_eq!(links.insert(conn, link(step)).map(|l| l.ctime), model.insert(conn, step), "step {step}");
            }
            assert_eq!(links.len(), model.len());
            // Hints, right or stale or wrong (the slot of another link, or
            // none at all), never change what a lookup finds.
            let other = ConnId(rng.below(300));
            let slot = links.slot(&other).unwrap_or(rng.below(400) as u32);
            links.hint(&conn, slot);
            assert_eq!(links.get(&conn).map(|l| l.ctime), model.get(&conn).copied(), "step {step}");
            if let Some(slot) = links.slot(&conn) {
                links.hint(&other, slot);
                assert!(links.contains_key(&conn));
                assert_eq!(links.get(&other).map(|l| l.ctime), model.get(&other).copied(), "step {step}");
            }
            if step % 97 == 0 {
                for probe in 0..300 {
                    let conn = ConnId(probe);
                    assert_eq!(links.get(&conn).map(|l| l.ctime), model.get(&conn).copied(), "step {step}");
                }
                let sorted: Vec<(ConnId, i64)> = links.sorted().into_iter().map(|(c, l)| (c, l.ctime)).collect();
                assert_eq!(sorted, model.iter().map(|(c, t)| (*c, *t)).collect::<Vec<_>>());
            }
        }
    }
}
