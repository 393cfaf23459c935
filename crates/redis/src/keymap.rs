//! [`KeyMap`]: a database's keys and values, found by hashing and listed in
//! key order.
//!
//! A command touches one key at a time, and in a keyspace of a million keys
//! every line a lookup reads is likely a cache miss. So the keys sit in a
//! Swiss table ([`hashbrown::HashTable`]) whose slots hold the entries
//! themselves, short keys inline: a lookup reads a group of one-byte hash tags
//! (a small array that stays cached) and then the entry, whose first bytes
//! are the key it compares. The order SCAN, KEYS, RANDOMKEY and the RDB walk
//! is a sorted set of the keys built by the first walk and kept up to date
//! from then on, so a node nobody walks pays nothing for it. Hash values
//! never decide anything a user sees: the walks go by key order, the
//! unordered walks only feed sums, and the table only finds keys.

use crate::keyspace::Data;
use crate::memory::Meta;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as Slot;
use std::cell::{Cell, OnceCell};
use std::collections::BTreeSet;

/// Keys and their values; walks go in key order, as a `BTreeMap`'s would.
#[derive(Clone, Default)]
pub struct KeyMap {
    /// Keys, values and their bookkeeping, each in its slot of the table.
    table: HashTable<Entry>,
    /// Every key, sorted: built by the first walk, then kept up to date.
    order: OnceCell<BTreeSet<Vec<u8>>>,
}

/// One key: its value and its memory bookkeeping ([`crate::memory::KeyMeta`],
/// `None` until measured) side by side, so that a command's key costs one
/// lookup and, in a big keyspace, the fewest cache misses.
#[derive(Clone)]
struct Entry {
    key: Key,
    value: Data,
    meta: Bookkeeping,
    /// The value's digest as [`KeyMap::digests_unordered`] last computed it,
    /// 0 when not known: a write to the value forgets it, so a dataset digest
    /// rehashes only the values written since the last one.
    digest: Cell<u64>,
}

/// An `Option<Meta>` in 16 bytes rather than 24, so that an entry fits in
/// 80 bytes (its lines are what a lookup in a big keyspace waits for).
#[derive(Clone, Copy, Default)]
struct Bookkeeping {
    bytes: u64,
    field: u32,
    measured: bool,
}

impl Bookkeeping {
    fn get(self) -> Option<Meta> {
        self.measured.then_some(Meta { field: self.field, bytes: self.bytes })
    }

    fn set(&mut self, meta: Meta) {
        *self = Bookkeeping { bytes: meta.bytes, field: meta.field, measured: true };
    }
}

// A lookup in a big keyspace waits for the lines of one entry: keep it at 80 bytes.
const _: () = assert!(std::mem::size_of::<Entry>() <= 80);

/// The longest key kept inside its entry.
const INLINE: usize = 22;

/// A key's bytes: inside the entry when short (most keys are), so that the
/// line that holds the entry holds the key; on the heap otherwise.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: Vec<u8>) -> Key {
        if key.len() > INLINE {
            return Key::Heap(key.into_boxed_slice());
        }
        let mut bytes = [0; INLINE];
        bytes[..key.len()].copy_from_slice(&key);
        Key::Inline { len: key.len() as u8, bytes }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }
}

/// At most this many keys are warmed at once ([`KeyMap::warm`]).
pub const WARM_MAX: usize = 64;

/// A key's hash, for [`KeyMap::warm`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHash(u64);

impl KeyHash {
    /// The hash of `key`.
    pub fn of(key: &[u8]) -> KeyHash {
        KeyHash(hash(key))
    }
}

fn hash(key: &[u8]) -> u64 {
    // XXH3-64, a frozen function: the same hashes on every machine.
    twox_hash::XxHash3_64::oneshot(key)
}

/// The table's hasher: an entry's hash from its key (read when the table grows).
fn rehash(entry: &Entry) -> u64 {
    hash(entry.key.as_slice())
}

impl KeyMap {
    /// How many keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Data> {
        Some(&self.find(key)?.value)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Data> {
        let entry = self.find_mut(key)?;
        entry.digest.set(0);
        Some(&mut entry.value)
    }

    /// Brings the slots of keys about to be looked up into the cache, so
    /// that their lookups do not wait for memory. A lookup in a big keyspace
    /// waits twice (for the group of tags, then for the entry), and one
    /// lookup per command, with a command's work between, waits for each in
    /// turn. Here the groups of every key are read in one short pass, then
    /// the entries their first matching tags point to in another: each pass's
    /// reads are independent, so the processor has them all in flight at
    /// once. Nothing is changed and nothing is returned.
    pub fn warm(&self, keys: &[KeyHash]) {
        let mut slots = [usize::MAX; WARM_MAX];
        for (slot, key) in slots.iter_mut().zip(keys) {
            // The first slot whose tag matches: the key's own, barring a 1-in-128 tag clash.
            *slot = self.table.find_bucket_index(key.0, |_| true).unwrap_or(usize::MAX);
        }
        for &slot in &slots[..keys.len().min(WARM_MAX)] {
            if let Some(e) = self.table.get_bucket(slot) {
                // Fields from both ends of the 80 bytes: the entry's two lines.
                std::hint::black_box((e.key.as_slice().len(), e.meta.bytes, e.digest.get()));
            }
        }
    }

    /// The memory bookkeeping of `key`, if it is there and measured.
    pub(crate) fn meta(&self, key: &[u8]) -> Option<Meta> {
        self.find(key)?.meta.get()
    }

    /// Sets the bookkeeping of `key` (if it is there); what it replaces.
    pub(crate) fn set_meta(&mut self, key: &[u8], meta: Meta) -> Option<Option<Meta>> {
        let entry = self.find_mut(key)?;
        let old = entry.meta.get();
        entry.meta.set(meta);
        Some(old)
    }

    /// Sets the bookkeeping of `key` (if it is there) to what `measure` makes
    /// of its value and its bookkeeping so far, in one lookup: (old, new).
    pub(crate) fn update_meta(
        &mut self,
        key: &[u8],
        measure: impl FnOnce(&Data, Option<Meta>) -> Meta,
    ) -> Option<(Option<Meta>, Meta)> {
        let entry = self.find_mut(key)?;
        let old = entry.meta.get();
        let new = measure(&entry.value, old);
        entry.meta.set(new);
        Some((old, new))
    }

    /// Every entry's bookkeeping, in no particular order (for sums).
    pub(crate) fn metas_unordered(&self) -> impl Iterator<Item = (&[u8], &Data, Option<Meta>)> + '_ {
        self.table.iter().map(|e| (e.key.as_slice(), &e.value, e.meta.get()))
    }

    /// Whether `key` is there.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Sets `key` to `value`; the value it replaces, if any.
    pub fn insert(&mut self, key: Vec<u8>, value: Data) -> Option<Data> {
        match self.table.entry(hash(&key), |e| e.key.as_slice() == key, rehash) {
            Slot::Occupied(mut slot) => {
                let entry = slot.get_mut();
                entry.digest.set(0);
                Some(std::mem::replace(&mut entry.value, value))
            }
            Slot::Vacant(slot) => {
                if let Some(order) = self.order.get_mut() {
                    order.insert(key.clone());
                }
                slot.insert(Entry { key: Key::new(key), value, meta: Bookkeeping::default(), digest: Cell::new(0) });
                None
            }
        }
    }

    /// Removes `key`; its value, if it was there.
    pub fn remove(&mut self, key: &[u8]) -> Option<Data> {
        self.remove_with_meta(key).map(|(value, _)| value)
    }

    /// Removes `key`; its value and bookkeeping, if it was there.
    pub(crate) fn remove_with_meta(&mut self, key: &[u8]) -> Option<(Data, Option<Meta>)> {
        let slot = self.table.find_entry(hash(key), |e| e.key.as_slice() == key).ok()?;
        let (Entry { value, meta, .. }, _) = slot.remove();
        let meta = meta.get();
        if let Some(order) = self.order.get_mut() {
            order.remove(key);
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

    /// Keys and values in no particular order (the table's), for sums that
    /// do not depend on it.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&[u8], &Data)> + '_ {
        self.table.iter().map(|e| (e.key.as_slice(), &e.value))
    }

    /// Keys with their values' digests ([`crate::view::value_digest`]), in no
    /// particular order, for digests that do not depend on it. A value's
    /// digest is computed once and kept until the value is written (a digest
    /// of 0 is computed again each time).
    pub(crate) fn digests_unordered(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.table.iter().map(|entry| (entry.key.as_slice(), digest_of(entry)))
    }

    /// The digest of `key`'s value, as [`KeyMap::digests_unordered`] gives it.
    pub(crate) fn digest(&self, key: &[u8]) -> Option<u64> {
        Some(digest_of(self.find(key)?))
    }

    /// The sorted keys, built by the first walk that finds keys (a walk of
    /// an empty map, such as the RDB of a full sync at start, builds nothing).
    fn sorted(&self) -> &BTreeSet<Vec<u8>> {
        static NONE: BTreeSet<Vec<u8>> = BTreeSet::new();
        if self.table.is_empty() && self.order.get().is_none() {
            return &NONE;
        }
        self.order.get_or_init(|| self.table.iter().map(|e| e.key.as_slice().to_vec()).collect())
    }

    /// The entry of `key`.
    fn find(&self, key: &[u8]) -> Option<&Entry> {
        self.table.find(hash(key), |e| e.key.as_slice() == key)
    }

    /// The entry of `key`, mutably.
    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.table.find_mut(hash(key), |e| e.key.as_slice() == key)
    }
}

/// An entry's value digest, computed if not known.
fn digest_of(entry: &Entry) -> u64 {
    let d = &entry.digest;
    if d.get() == 0 {
        d.set(crate::view::value_digest(&entry.value));
    }
    d.get()
}

/// Two maps are equal when they hold the same keys with the same values.
impl PartialEq for KeyMap {
    fn eq(&self, other: &KeyMap) -> bool {
        self.len() == other.len() && self.table.iter().all(|e| other.get(e.key.as_slice()) == Some(&e.value))
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

    /// Key `n` of a test keyspace: the empty key, and keys of every length
    /// from 2 to 28 bytes, short enough to sit in their entry or not.
    fn key_of(n: u64) -> Vec<u8> {
        if n == 0 {
            return Vec::new();
        }
        let mut key = format!("k{n}").into_bytes();
        key.resize(key.len() + (n % 9) as usize * 3, b'.');
        key
    }

    /// Random inserts, overwrites and removes over a small keyspace (so the
    /// table grows and fills groups), with walks both before and after the
    /// order is built: every answer is the ordered map's.
    #[test]
    fn behaves_as_an_ordered_map() {
        for seed in 0..20 {
            let mut next = stream(seed);
            let (mut map, mut model) = (KeyMap::default(), BTreeMap::new());
            for step in 0..3_000 {
                let key = key_of(next() % 300);
                match next() % 10 {
                    0..=4 => {
                        let value = s(&step.to_string());
                        assert_eq!(map.insert(key.clone(), value.clone()), model.insert(key, value));
                    }
                    5..=7 => assert_eq!(map.remove(&key), model.remove(&key)),
                    8 => assert_eq!(map.get(&key), model.get(&key)),
                    _ if step > 1_500 || seed % 2 == 0 => {
                        assert!(map.iter().eq(model.iter()), "seed {seed} step {step}");
                        let from = key_of(next() % 300);
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
