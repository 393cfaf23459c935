//! Small numbers for node names, shared by every node table on the thread.
//!
//! A gossip section names a hundred nodes, and the receiver looks each one
//! up in its own table. With a hash index per table, each lookup missed the
//! cache twice, once on the index and once on the node, and the index of a
//! 1,000-node table is 16 KiB, a different one in every process. Here the
//! name is looked up once in one index that all tables share, so it stays in
//! cache, and its number picks the entry of a table's [`NameSlots`] array:
//! 2 bytes per name, an eighth of what the index took.
//!
//! The numbers never reach behaviour: a table answers a lookup with the same
//! node whatever number its name got, and nothing iterates the registry. A
//! name keeps its number while at least one table holds it; then the number
//! is free for the next new name.

use super::NodeName;
use super::bus::NAME_LEN;
use super::machinery::Machinery;
use std::cell::RefCell;
use std::collections::BTreeMap;

const EMPTY: u32 = u32::MAX;

thread_local! {
    static NAMES: RefCell<Names> = const { RefCell::new(Names { index: Vec::new(), entries: Vec::new(), free: Vec::new() }) };
}

struct Entry {
    name: [u8; NAME_LEN],
    /// How many tables hold the name.
    holders: u32,
}

struct Names {
    /// (hash, number) pairs, open addressing with linear probing, at most half full.
    index: Vec<(u32, u32)>,
    /// By number; a free number's entry has no holders.
    entries: Vec<Entry>,
    free: Vec<u32>,
}

impl Names {
    // Inlined into the loops that look a whole gossip section up: a call per
    // name cost a fifth of the lookup's instructions in saving registers.
    #[inline(always)]
    fn find(&self, name: &[u8; NAME_LEN]) -> Option<u32> {
        if self.index.is_empty() {
            return None;
        }
        let tag = name_tag(name);
        let mask = self.index.len() - 1;
        let mut at = tag as usize & mask;
        loop {
            let (t, id) = self.index[at];
            if id == EMPTY {
                return None;
            }
            if t == tag && same_name(&self.entries[id as usize].name, name) {
                return Some(id);
            }
            at = (at + 1) & mask;
        }
    }

    fn acquire(&mut self, name: &[u8; NAME_LEN]) -> u32 {
        if let Some(id) = self.find(name) {
            self.entries[id as usize].holders += 1;
            return id;
        }
        let entry = Entry { name: *name, holders: 1 };
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = entry;
                id
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        let used = self.entries.len() - self.free.len();
        if used * 2 > self.index.len() {
            let old = std::mem::replace(&mut self.index, vec![(0, EMPTY); (used * 2).next_power_of_two().max(16)]);
            for (tag, id) in old.into_iter().filter(|e| e.1 != EMPTY) {
                self.place(tag, id);
            }
        }
        self.place(name_tag(name), id);
        id
    }

    fn place(&mut self, tag: u32, id: u32) {
        let mask = self.index.len() - 1;
        let mut at = tag as usize & mask;
        while self.index[at].1 != EMPTY {
            at = (at + 1) & mask;
        }
        self.index[at] = (tag, id);
    }

    fn release(&mut self, id: u32) {
        let entry = &mut self.entries[id as usize];
        entry.holders -= 1;
        if entry.holders > 0 {
            return;
        }
        let tag = name_tag(&entry.name);
        self.free.push(id);
        // Take the pair out, shifting later pairs of its probe run back so
        // that no lookup stops early at the hole.
        let mask = self.index.len() - 1;
        let mut hole = tag as usize & mask;
        while self.index[hole].1 != id {
            hole = (hole + 1) & mask;
        }
        self.index[hole] = (0, EMPTY);
        let mut at = hole;
        loop {
            at = (at + 1) & mask;
            let (tag, id) = self.index[at];
            if id == EMPTY {
                return;
            }
            let home = tag as usize & mask;
            let stays = if hole <= at { hole < home && home <= at } else { hole < home || home <= at };
            if !stays {
                self.index[hole] = (tag, id);
                self.index[at] = (0, EMPTY);
                hole = at;
            }
        }
    }
}

/// A table's map from names to its slab entries: through the thread's
/// shared numbers ([`NameSlots`]) or, plain, a map of its own.
#[derive(Debug)]
pub(crate) enum NameIndex {
    /// Through the shared numbers.
    Shared(NameSlots),
    /// A map of names, without the registry.
    Plain(BTreeMap<NodeName, usize>),
}

impl NameIndex {
    /// An empty index of the given kind.
    pub(crate) fn new(machinery: Machinery) -> NameIndex {
        match machinery {
            Machinery::Fast => NameIndex::Shared(NameSlots::default()),
            Machinery::Plain => NameIndex::Plain(BTreeMap::new()),
        }
    }

    /// Maps `name` to slab entry `i`, replacing what it mapped to.
    pub(crate) fn insert(&mut self, name: &NodeName, i: usize) {
        match self {
            NameIndex::Shared(slots) => slots.insert(name, i),
            NameIndex::Plain(map) => {
                map.insert(*name, i);
            }
        }
    }

    /// Unmaps `name` if it maps to slab entry `i`.
    pub(crate) fn remove(&mut self, name: &NodeName, i: usize) {
        match self {
            NameIndex::Shared(slots) => slots.remove(name, i),
            NameIndex::Plain(map) => {
                if map.get(name) == Some(&i) {
                    map.remove(name);
                }
            }
        }
    }

    /// The slab entry `name` maps to.
    #[inline(always)]
    pub(crate) fn get(&self, name: &[u8; NAME_LEN]) -> Option<usize> {
        match self {
            NameIndex::Shared(slots) => slots.get(name),
            NameIndex::Plain(map) => map.get(&NodeName::from_wire(name)?).copied(),
        }
    }

    /// The slab entries of `names` into `out`, `u32::MAX` for a name not
    /// in the table. Plain, nothing is looked up ahead: every entry is
    /// `u32::MAX`, so that the caller looks each name up when it gets to it.
    pub(crate) fn get_all<'n>(&self, names: impl Iterator<Item = &'n [u8; NAME_LEN]>, out: &mut Vec<u32>) {
        match self {
            NameIndex::Shared(slots) => slots.get_all(names, out),
            NameIndex::Plain(_) => {
                out.clear();
                out.extend(names.map(|_| EMPTY));
            }
        }
    }
}

/// A table's map from names to its slab entries, through the shared numbers.
///
/// It holds each name it maps (the registry keeps the name's number while
/// it does) and lets go of them all when dropped.
#[derive(Debug, Default)]
pub(crate) struct NameSlots {
    slot_of: SlotArray,
}

impl NameSlots {
    /// Maps `name` to slab entry `i`, replacing what it mapped to.
    pub(crate) fn insert(&mut self, name: &NodeName, i: usize) {
        let id = NAMES.with(|names| {
            let mut names = names.borrow_mut();
            let id = names.acquire(name.bytes());
            if self.slot_of.get(id as usize).is_some() {
                // Already held: the count stays one per table.
                names.release(id);
            }
            id
        });
        self.slot_of.set(id as usize, Some(i));
    }

    /// Unmaps `name` if it maps to slab entry `i`.
    pub(crate) fn remove(&mut self, name: &NodeName, i: usize) {
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            let Some(id) = names.find(name.bytes()) else { return };
            if self.slot_of.get(id as usize) == Some(i) {
                self.slot_of.set(id as usize, None);
                names.release(id);
            }
        });
    }

    /// The slab entry `name` maps to.
    pub(crate) fn get(&self, name: &[u8; NAME_LEN]) -> Option<usize> {
        NAMES.with(|names| self.get_in(&names.borrow(), name))
    }

    fn get_in(&self, names: &Names, name: &[u8; NAME_LEN]) -> Option<usize> {
        self.slot_of.get(names.find(name)? as usize)
    }

    /// The slab entries of `names` (`u32::MAX` for a name not in the table),
    /// into `out`, all looked up under one borrow of the registry.
    pub(crate) fn get_all<'n>(&self, names: impl Iterator<Item = &'n [u8; NAME_LEN]>, out: &mut Vec<u32>) {
        NAMES.with(|registry| {
            let registry = registry.borrow();
            out.clear();
            // Numbers first (the registry is shared and warm), then this
            // table's entries for them in a loop of loads alone: its array
            // is cold, and loads with nothing between them overlap best.
            out.extend(names.map(|name| registry.find(name).unwrap_or(EMPTY)));
            for id in out.iter_mut() {
                *id = self.slot_of.get(*id as usize).map_or(EMPTY, |i| i as u32);
            }
        });
    }
}

impl Drop for NameSlots {
    fn drop(&mut self) {
        // A table dropped while the thread's storage is torn down has no registry left to tell.
        let _ = NAMES.try_with(|names| {
            let mut names = names.borrow_mut();
            for id in self.slot_of.held() {
                names.release(id as u32);
            }
        });
    }
}

/// Slab entries by name number: two bytes each while every entry fits, so
/// that a 1,000-node table's array is 2 KiB (32 cache lines, most of which a
/// gossip section's hundred lookups touch), four bytes once one does not.
#[derive(Debug)]
enum SlotArray {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for SlotArray {
    fn default() -> SlotArray {
        SlotArray::Narrow(Vec::new())
    }
}

impl SlotArray {
    const NARROW_EMPTY: u16 = u16::MAX;

    fn get(&self, id: usize) -> Option<usize> {
        match self {
            SlotArray::Narrow(v) => v.get(id).filter(|&&s| s != Self::NARROW_EMPTY).map(|&s| usize::from(s)),
            SlotArray::Wide(v) => v.get(id).filter(|&&s| s != EMPTY).map(|&s| s as usize),
        }
    }

    fn set(&mut self, id: usize, slot: Option<usize>) {
        if let (SlotArray::Narrow(v), Some(i)) = (&*self, slot)
            && i >= usize::from(Self::NARROW_EMPTY)
        {
            let wide = v.iter().map(|&s| if s == Self::NARROW_EMPTY { EMPTY } else { u32::from(s) }).collect();
            *self = SlotArray::Wide(wide);
        }
        match self {
            SlotArray::Narrow(v) => {
                if id >= v.len() {
                    v.resize(id + 1, Self::NARROW_EMPTY);
                }
                v[id] = slot.map_or(Self::NARROW_EMPTY, |i| i as u16);
            }
            SlotArray::Wide(v) => {
                if id >= v.len() {
                    v.resize(id + 1, EMPTY);
                }
                v[id] = slot.map_or(EMPTY, |i| i as u32);
            }
        }
    }

    /// The numbers that map to an entry.
    fn held(&self) -> Vec<usize> {
        let len = match self {
            SlotArray::Narrow(v) => v.len(),
            SlotArray::Wide(v) => v.len(),
        };
        (0..len).filter(|&id| self.get(id).is_some()).collect()
    }
}

fn same_name(a: &[u8; NAME_LEN], b: &[u8; NAME_LEN]) -> bool {
    a.chunks_exact(8).zip(b.chunks_exact(8)).fold(true, |same, (x, y)| same & (x == y))
}

/// A name's hash: its low bits pick the home entry, all of it is the entry's
/// tag. Names are random hex, so 16 of their bytes carry 64 bits; the
/// multiply spreads them (Fibonacci hashing), the top half is the hash.
fn name_tag(name: &[u8; NAME_LEN]) -> u32 {
    let word = |k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&name[k..k + 8]);
        u64::from_le_bytes(w)
    };
    let mixed = (word(0) ^ word(8).rotate_left(32) ^ word(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn name(k: u32) -> NodeName {
        // Few distinct hashes, so that probe runs collide and shift.
        NodeName::parse(&format!("{:040x}", u128::from(k % 4) << 64 | u128::from(k))).expect("40 hex digits")
    }

    fn holders() -> usize {
        NAMES.with(|n| n.borrow().entries.iter().map(|e| e.holders as usize).sum())
    }

    #[test]
    fn tables_map_names_like_maps_and_give_numbers_back() {
        let before = holders();
        {
            let mut tables: Vec<(NameSlots, BTreeMap<NodeName, usize>)> =
                (0..3).map(|_| (NameSlots::default(), BTreeMap::new())).collect();
            let mut x = 0x9e37_79b9_u32;
            for step in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let (slots, model) = &mut tables[(x % 3) as usize];
                let n = name((x >> 4) % 64);
                // Now and then an entry past two bytes, which widens the table's array.
                let i = if step % 50 == 49 { 65_534 + (x >> 12) as usize % 3 } else { ((x >> 12) % 8) as usize };
                if (x >> 20).is_multiple_of(3) {
                    slots.remove(&n, i);
                    if model.get(&n) == Some(&i) {
                        model.remove(&n);
                    }
                } else {
                    slots.insert(&n, i);
                    model.insert(n, i);
                }
                for probe in [n, name(step % 64)] {
                    assert_eq!(slots.get(probe.bytes()), model.get(&probe).copied(), "step {step}");
                }
            }
            assert!(tables.iter().all(|(slots, _)| matches!(slots.slot_of, SlotArray::Wide(_))), "every table widened");
            let held: usize = tables.iter().map(|(_, model)| model.len()).sum();
            assert_eq!(holders() - before, held, "one hold per name a table maps");
        }
        assert_eq!(holders(), before, "dropped tables hold nothing");
    }
}
