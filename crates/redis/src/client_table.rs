//! The server's clients by connection.
//!
//! Every command a client sends looks its client up several times (the
//! parser, the checks, the write offset, the next command), and a server
//! walks its clients now and then (INFO, CLIENT LIST, replicas). A
//! `BTreeMap` did both, each lookup a walk down its nodes comparing ids; a
//! server's clients are tens, rarely thousands, and they connect and leave
//! far less often than they send. So they are one array sorted by
//! connection id: a lookup is a binary search over ids side by side, a walk
//! goes in connection order as the map's did, and a connect or a leave moves
//! the entries after it. Beside the array, each connection's place in it
//! by the kernel's connection slot ([`ConnId::slot`], a small number reused
//! by later connections): a lookup reads that place and checks the id
//! there. Only when the id there differs (a client whose connection the
//! kernel has freed and given to another, not yet told to the server) is
//! the array searched, or when the slot is past what the index covers: a
//! slot is a kernel-wide number, and in a 1,000-node cluster, whose bus
//! holds two million connections, a client's slot is in the millions, an
//! index up to it megabytes per server for a handful of clients.

use crate::server::Client;
use sim::ConnId;

/// Clients by connection, in connection order.
#[derive(Debug, Default)]
pub(crate) struct ClientTable {
    entries: Vec<(ConnId, Box<Client>)>,
    /// By connection slot: the place in `entries` of a client whose
    /// connection has that slot (checked at each use: two clients can share
    /// a slot for a while, and a place can be stale).
    at: Vec<u32>,
}

impl ClientTable {
    /// Where `conn`'s client is.
    fn find(&self, conn: ConnId) -> Option<usize> {
        let at = self.at.get(conn.slot()).map_or(usize::MAX, |&at| at as usize);
        if self.entries.get(at).is_some_and(|(c, _)| *c == conn) {
            debug_assert_eq!(self.search(conn), Ok(at), "the slot index agrees with the order");
            return Some(at);
        }
        self.search(conn).ok()
    }

    /// Where `conn`'s client is, or where it would go, by search.
    fn search(&self, conn: ConnId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(c, _)| c.cmp(&conn))
    }

    /// The slots the index covers: a few per client, so that the index
    /// stays within some bytes per client whatever the kernel's slot
    /// numbers (the clients beyond are found by search).
    fn indexed_slots(&self) -> usize {
        256 + 16 * self.entries.len()
    }

    /// Writes the places of the entries from `from` on into the slot index.
    fn index_from(&mut self, from: usize) {
        let covered = self.indexed_slots();
        for (k, (conn, _)) in self.entries.iter().enumerate().skip(from) {
            let slot = conn.slot();
            if slot >= covered {
                continue;
            }
            if self.at.len() <= slot {
                self.at.resize(slot + 1, u32::MAX);
            }
            self.at[slot] = u32::try_from(k).expect("fewer than 2^32 clients");
        }
    }

    pub(crate) fn get(&self, conn: &ConnId) -> Option<&Client> {
        self.find(*conn).map(|at| &*self.entries[at].1)
    }

    pub(crate) fn get_mut(&mut self, conn: &ConnId) -> Option<&mut Client> {
        self.find(*conn).map(|at| &mut *self.entries[at].1)
    }

    pub(crate) fn contains_key(&self, conn: &ConnId) -> bool {
        self.find(*conn).is_some()
    }

    /// Adds or replaces `conn`'s client, returning the one it replaced.
    pub(crate) fn insert(&mut self, conn: ConnId, client: Box<Client>) -> Option<Box<Client>> {
        match self.search(conn) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, client)),
            Err(at) => {
                self.entries.insert(at, (conn, client));
                self.index_from(at);
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, conn: &ConnId) -> Option<Box<Client>> {
        let at = self.find(*conn)?;
        let (_, client) = self.entries.remove(at);
        self.index_from(at);
        Some(client)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The clients in connection order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Client> {
        self.entries.iter().map(|(_, c)| &**c)
    }

    /// The connections and their clients, in connection order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&ConnId, &Client)> {
        self.entries.iter().map(|(conn, c)| (conn, &**c))
    }

    /// [`ClientTable::iter`], the clients mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&ConnId, &mut Client)> {
        self.entries.iter_mut().map(|(conn, c)| (&*conn, &mut **c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn client(tag: u64) -> Box<Client> {
        let mut c = Box::new(Client::fake(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 1), 0));
        c.id = tag;
        c
    }

    /// Random inserts, replacements, removes and lookups give what a
    /// `BTreeMap` gives, and walks go in the same order.
    #[test]
    fn behaves_as_an_ordered_map() {
        let mut table = ClientTable::default();
        let mut model: BTreeMap<ConnId, u64> = BTreeMap::new();
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few ids, with generations in the high bits as the kernel makes them.
            let conn = ConnId((((x >> 8) % 4) << 32) | ((x >> 16) % 64));
            match x % 5 {
                0 | 1 => assert_eq!(table.insert(conn, client(step)).map(|c| c.id), model.insert(conn, step)),
                2 => assert_eq!(table.remove(&conn).map(|c| c.id), model.remove(&conn)),
                3 => {
                    if let (Some(c), Some(m)) = (table.get_mut(&conn), model.get_mut(&conn)) {
                        c.id += 1;
                        *m += 1;
                    }
                    assert_eq!(table.contains_key(&conn), model.contains_key(&conn));
                }
                _ => assert_eq!(table.get(&conn).map(|c| c.id), model.get(&conn).copied()),
            }
            assert_eq!(table.len(), model.len());
        }
        let walked: Vec<(ConnId, u64)> = table.iter().map(|(k, c)| (*k, c.id)).collect();
        assert_eq!(walked, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
        for (_, c) in table.iter_mut() {
            c.id *= 2;
        }
        assert!(table.values().map(|c| c.id).eq(model.values().map(|v| v * 2)));
    }

    /// A client whose connection slot is in the millions (a 1,000-node
    /// cluster's bus holds two million connections) is found by search,
    /// not by an index of millions of slots in every server.
    #[test]
    fn a_client_on_a_far_slot_costs_no_index() {
        let mut table = ClientTable::default();
        let near = ConnId((1 << 32) | 7);
        let far = ConnId((1 << 32) | 2_000_000);
        table.insert(near, client(1));
        table.insert(far, client(2));
        assert_eq!(table.get(&far).map(|c| c.id), Some(2));
        assert_eq!(table.get(&near).map(|c| c.id), Some(1));
        assert!(table.at.len() <= table.indexed_slots(), "{} slots indexed", table.at.len());
        assert_eq!(table.remove(&far).map(|c| c.id), Some(2));
        assert!(table.get(&far).is_none() && table.get(&near).is_some());
    }
}
