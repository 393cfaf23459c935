//! [`KeyMap`]: a database's keys and values, found by hashing and listed in
//! key order.
//!
//! A command touches one key at a time, and in an ordered tree of a million
//! keys each of the twenty-odd comparisons on the way down reads another key's
//! heap buffer, a cache miss each. Here a key is found through an
//! open-addressing index of its hash (linear probing, at most half full), so a
//! lookup reads one index slot, one entry and the key's bytes. The order SCAN,
//! KEYS, RANDOMKEY and the RDB walk is a sorted set of the keys built by the
//! first walk and kept up to date from then on, so a node nobody walks pays
//! nothing for it. Hash values never decide anything a user sees: the walks go
//! by key order, and the index only finds keys.

use crate::keyspace::Data;
use crate::memory::Meta;
use std::cell::{Cell, OnceCell};
use std::collections::BTreeSet;

/// Marks a free index slot.
const EMPTY: u32 = u32::MAX;

/// Keys and their values; walks go in key order, as a `BTreeMap`'s would.
#[derive(Clone, Default)]
pub struct KeyMap {
    /// Keys, values and their bookkeeping, in the order their history of
    /// inserts and removals left them.
    entries: Vec<Entry>,
    /// (hash of the key, entry number); `EMPTY` numbers a free slot. Its length is
    /// zero or a power of two at least twice the number of entries.
    index: Vec<(u32, u32)>,
    /// Every key, sorted: built by the first walk, then kept up to date.
    order: OnceCell<BTreeSet<Vec<u8>>>,
}

/// One key: its value and its memory bookkeeping ([`crate::memory::KeyMeta`],
/// `None` until measured) side by side, so that a command's key costs one
/// lookup and, in a big keyspace, the fewest cache misses.
#[derive(Clone)]
struct Entry {
    key: Vec<u8>,
    value: Data,
    meta: Option<Meta>,
    /// The value's digest as [`KeyMap::digests_unordered`] last computed it,
    /// 0 when not known: a write to the value forgets it, so a dataset digest
    /// rehashes only the values written since the last one.
    digest: Cell<u64>,
}

fn hash(key: &[u8]) -> u32 {
    // The low half of XXH3-64, a frozen function: the same slots on every machine.
    twox_hash::XxHash3_64::oneshot(key) as u32
}

impl KeyMap {
    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Data> {
        let e = self.find(key)?.1;
        Some(&self.entries[e].value)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Data> {
        let e = self.find(key)?.1;
        let entry = &mut self.entries[e];
        entry.digest.set(0);
        Some(&mut entry.value)
    }

    /// The memory bookkeeping of `key`, if it is there and measured.
    pub(crate) fn meta(&self, key: &[u8]) -> Option<Meta> {
        self.entries[self.find(key)?.1].meta
    }

    /// Sets the bookkeeping of `key` (if it is there); what it replaces.
    pub(crate) fn set_meta(&mut self, key: &[u8], meta: Meta) -> Option<Option<Meta>> {
        let e = self.find(key)?.1;
        Some(self.entries[e].meta.replace(meta))
    }

    /// The value of `key` and its bookkeeping, in one lookup.
    pub(crate) fn with_meta_mut(&mut self, key: &[u8]) -> Option<(&Data, &mut Option<Meta>)> {
        let e = self.find(key)?.1;
        let entry = &mut self.entries[e];
        Some((&entry.value, &mut entry.meta))
    }

    /// Every entry's bookkeeping, in no particular order (for sums).
    pub(crate) fn metas_unordered(&self) -> impl Iterator<Item = (&Vec<u8>, &Data, Option<Meta>)> + '_ {
        self.entries.iter().map(|e| (&e.key, &e.value, e.meta))
    }

    /// Whether `key` is there.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Sets `key` to `value`; the value it replaces, if any.
    pub fn insert(&mut self, key: Vec<u8>, value: Data) -> Option<Data> {
        if let Some((_, e)) = self.find(&key) {
            let entry = &mut self.entries[e];
            entry.digest.set(0);
            return Some(std::mem::replace(&mut entry.value, value));
        }
        if (self.entries.len() + 1) * 2 > self.index.len() {
            self.grow();
        }
        let h = hash(&key);
        let mut at = self.home(h);
        while self.index[at].1 != EMPTY {
            at = (at + 1) & (self.index.len() - 1);
        }
        self.index[at] = (h, self.entries.len() as u32);
        if let Some(order) = self.order.get_mut() {
            order.insert(key.clone());
        }
        self.entries.push(Entry { key, value, meta: None, digest: Cell::new(0) });
        None
    }

    /// Removes `key`; its value, if it was there.
    pub fn remove(&mut self, key: &[u8]) -> Option<Data> {
        self.remove_with_meta(key).map(|(value, _)| value)
    }

    /// Removes `key`; its value and bookkeeping, if it was there.
    pub(crate) fn remove_with_meta(&mut self, key: &[u8]) -> Option<(Data, Option<Meta>)> {
        let (at, e) = self.find(key)?;
        self.unlink(at);
        let last = self.entries.len() - 1;
        if e != last {
            // The last entry moves into the hole: its index slot follows it.
            let moved = self.slot_of_entry(last);
            self.index[moved].1 = e as u32;
        }
        let Entry { key, value, meta, .. } = self.entries.swap_remove(e);
        if let Some(order) = self.order.get_mut() {
            order.remove(&key);
        }
        Some((value, meta))
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        *self = KeyMap::default();
    }

    /// Keys and values in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Vec<u8>, &Data)> + '_ {
        self.sorted().iter().map(|k| (k, self.get(k).expect("the order lists only present keys")))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Vec<u8>> + '_ {
        self.sorted().iter()
    }

    /// The keys from `from` on (inclusive), in order.
    pub fn keys_from<'a>(&'a self, from: &[u8]) -> impl Iterator<Item = &'a Vec<u8>> + 'a {
        self.sorted().range::<[u8], _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded))
    }

    /// Keys and values in no particular order (the history of inserts and
    /// removals decides it), for sums that do not depend on it.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&Vec<u8>, &Data)> + '_ {
        self.entries.iter().map(|e| (&e.key, &e.value))
    }

    /// Keys with their values' digests ([`crate::view::value_digest`]), in no
    /// particular order, for digests that do not depend on it. A value's
    /// digest is computed once and kept until the value is written (a digest
    /// of 0 is computed again each time).
    pub(crate) fn digests_unordered(&self) -> impl Iterator<Item = (&Vec<u8>, u64)> + '_ {
        self.entries.iter().enumerate().map(|(e, entry)| (&entry.key, self.digest_of(e)))
    }

    /// The digest of `key`'s value, as [`KeyMap::digests_unordered`] gives it.
    pub(crate) fn digest(&self, key: &[u8]) -> Option<u64> {
        Some(self.digest_of(self.find(key)?.1))
    }

    /// Entry `e`'s value digest, computed if not known.
    fn digest_of(&self, e: usize) -> u64 {
        let entry = &self.entries[e];
        let d = &entry.digest;
        if d.get() == 0 {
            d.set(crate::view::value_digest(&entry.value));
        }
        d.get()
    }

    /// The sorted keys, built by the first walk that finds keys (a walk of
    /// an empty map, such as the RDB of a full sync at start, builds nothing).
    fn sorted(&self) -> &BTreeSet<Vec<u8>> {
        static NONE: BTreeSet<Vec<u8>> = BTreeSet::new();
        if self.entries.is_empty() && self.order.get().is_none() {
            return &NONE;
        }
        self.order.get_or_init(|| self.entries.iter().map(|e| e.key.clone()).collect())
    }

    fn home(&self, h: u32) -> usize {
        h as usize & (self.index.len() - 1)
    }

    /// (index slot, entry number) of `key`.
    fn find(&self, key: &[u8]) -> Option<(usize, usize)> {
        if self.index.is_empty() {
            return None;
        }
        let h = hash(key);
        let mut at = self.home(h);
        loop {
            let (slot_hash, e) = self.index[at];
            if e == EMPTY {
                return None;
            }
            if slot_hash == h && self.entries[e as usize].key == key {
                return Some((at, e as usize));
            }
            at = (at + 1) & (self.index.len() - 1);
        }
    }

    /// The index slot naming entry `e`.
    fn slot_of_entry(&self, e: usize) -> usize {
        let mut at = self.home(hash(&self.entries[e].key));
        while self.index[at].1 as usize != e {
            at = (at + 1) & (self.index.len() - 1);
        }
        at
    }

    /// Frees index slot `at`, moving back the later slots of its probe run that
    /// may fill it (backward-shift deletion: no tombstones).
    fn unlink(&mut self, mut hole: usize) {
        let mask = self.index.len() - 1;
        let mut at = hole;
        loop {
            at = (at + 1) & mask;
            let (h, e) = self.index[at];
            if e == EMPTY {
                break;
            }
            // The slot may move back if its home is not in (hole, at], cyclically.
            let home = self.home(h);
            if (at.wrapping_sub(home) & mask) >= (at.wrapping_sub(hole) & mask) {
                self.index[hole] = (h, e);
                hole = at;
            }
        }
        self.index[hole] = (0, EMPTY);
    }

    /// Doubles the index (from 16 slots) and places every entry again.
    fn grow(&mut self) {
        let size = (self.index.len() * 2).max(16);
        let mut index = vec![(0, EMPTY); size];
        for &(h, e) in self.index.iter().filter(|(_, e)| *e != EMPTY) {
            let mut at = h as usize & (size - 1);
            while index[at].1 != EMPTY {
                at = (at + 1) & (size - 1);
            }
            index[at] = (h, e);
        }
        self.index = index;
    }
}

/// Two maps are equal when they hold the same keys with the same values.
impl PartialEq for KeyMap {
    fn eq(&self, other: &KeyMap) -> bool {
        self.len() == other.len() && self.entries.iter().all(|e| other.get(&e.key) == Some(&e.value))
    }
}

impl Eq for KeyMap {}

impl std::fmt::Debug for KeyMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a KeyMap {
    type Item = (&'a Vec<u8>, &'a Data);
    type IntoIter = Box<dyn DoubleEndedIterator<Item = (&'a Vec<u8>, &'a Data)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(Vec<u8>, Data)> for KeyMap {
    fn from_iter<I: IntoIterator<Item = (Vec<u8>, Data)>>(iter: I) -> KeyMap {
        let mut map = KeyMap::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn s(v: &str) -> Data {
        Data::Str(v.as_bytes().to_vec())
    }

    /// A splitmix64 stream: the test's operations, reproducible.
    fn stream(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    /// Random inserts, overwrites and removes over a small keyspace (so probe
    /// runs collide and wrap), with walks both before and after the order is
    /// built: every answer is the ordered map's.
    #[test]
    fn behaves_as_an_ordered_map() {
        for seed in 0..20 {
            let mut next = stream(seed);
            let (mut map, mut model) = (KeyMap::default(), BTreeMap::new());
            for step in 0..3_000 {
                let key = format!("k{}", next() % 300).into_bytes();
                match next() % 10 {
                    0..=4 => {
                        let value = s(&step.to_string());
                        assert_eq!(map.insert(key.clone(), value.clone()), model.insert(key, value));
                    }
                    5..=7 => assert_eq!(map.remove(&key), model.remove(&key)),
                    8 => assert_eq!(map.get(&key), model.get(&key)),
                    _ if step > 1_500 || seed % 2 == 0 => {
                        assert!(map.iter().eq(model.iter()), "seed {seed} step {step}");
                        let from = format!("k{}", next() % 300).into_bytes();
                        assert!(map.keys_from(&from).eq(model.range(from.clone()..).map(|(k, _)| k)));
                    }
                    _ => {}
                }
                assert_eq!(map.len(), model.len());
            }
            assert!(map.iter().eq(model.iter()), "seed {seed}: the final walk");
            assert!(map.keys().rev().eq(model.keys().rev()));
        }
    }

    #[test]
    fn equality_ignores_history_and_clear_empties() {
        let mut a: KeyMap = [(b"x".to_vec(), s("1")), (b"y".to_vec(), s("2"))].into_iter().collect();
        let b: KeyMap = [(b"y".to_vec(), s("2")), (b"x".to_vec(), s("1"))].into_iter().collect();
        assert_eq!(a, b);
        a.insert(b"y".to_vec(), s("3"));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), r#"{[120]: Str([49]), [121]: Str([51])}"#);
        let _ = a.keys().count();
        a.clear();
        assert!(a.is_empty() && a.iter().next().is_none() && a.get(b"x").is_none());
        // A walk of the empty map builds nothing; the next one sees the new keys.
        assert!(a.iter().next().is_none());
        a.insert(b"z".to_vec(), s("4"));
        a.insert(b"w".to_vec(), s("5"));
        assert_eq!(a.keys().collect::<Vec<_>>(), vec![&b"w".to_vec(), &b"z".to_vec()]);
        assert_eq!(a.iter_unordered().count(), 2);
    }

    /// Digests kept across random writes (in place, overwrites, inserts and
    /// removes that move entries) are always the values' digests now.
    #[test]
    fn kept_digests_follow_every_write() {
        let mut next = stream(7);
        let mut map = KeyMap::default();
        for step in 0..3_000 {
            let key = format!("k{}", next() % 40).into_bytes();
            match next() % 4 {
                0 => drop(map.insert(key, s(&step.to_string()))),
                1 => drop(map.remove(&key)),
                _ => {
                    if let Some(Data::Str(v)) = map.get_mut(&key) {
                        v.push(b'+');
                    }
                }
            }
            if next().is_multiple_of(3) {
                for (k, d) in map.digests_unordered() {
                    assert_eq!(d, crate::view::value_digest(map.get(k).unwrap()), "step {step}");
                }
            }
            let probe = format!("k{}", next() % 40).into_bytes();
            assert_eq!(map.digest(&probe), map.get(&probe).map(crate::view::value_digest));
        }
    }
}
