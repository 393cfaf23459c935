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
    /// The slot of the entry the last lookup found or the last insert made:
    /// the bookkeeping after a command ([`KeyMap::update_meta`]) looks up the
    /// key the command just did and starts there, without hashing or probing
    /// again. Only a hint: the key in that slot is compared first.
    last: Cell<usize>,
}

/// One key: its value and its memory bookkeeping ([`crate::memory::KeyMeta`],
/// `None` until measured) side by side, so that a command's key costs one
/// lookup and, in a big keyspace, the fewest cache misses.
///
/// In C's order, so that [`KeyMap::warm`] knows its ends: `digest` is its
/// first 8 bytes and `meta.bytes` its last 8 (the table lays its entries out
/// one after another, so those are the bytes beside the neighbours' lines).
#[derive(Clone)]
#[repr(C)]
struct Entry {
    /// The value's digest as [`KeyMap::digests_unordered`] last computed it,
    /// 0 when not known: a write to the value forgets it, so a dataset digest
    /// rehashes only the values written since the last one.
    digest: Cell<u64>,
    key: Key,
    value: Data,
    meta: Bookkeeping,
}

/// An `Option<Meta>` in 16 bytes rather than 24, so that an entry fits in
/// 80 bytes (its lines are what a lookup in a big keyspace waits for);
/// `bytes` last, as the last 8 bytes of an [`Entry`].
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Bookkeeping {
    field: u32,
    measured: bool,
    bytes: u64,
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
// ... and know where its first and last 8 bytes are.
const _: () = assert!(std::mem::offset_of!(Entry, digest) == 0);
const _: () = assert!(
    std::mem::offset_of!(Entry, meta) + std::mem::offset_of!(Bookkeeping, bytes) + 8 == std::mem::size_of::<Entry>()
);

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

    /// Whether this is `key` (every lookup compares one key).
    fn is(&self, key: &[u8]) -> bool {
        same_bytes(self.as_slice(), key)
    }
}

/// Whether `a` and `b` are the same bytes. Keys and command names are
/// compared on every command, most of them short: up to 16 bytes they are
/// compared in line, as two overlapping words (or three bytes), where a
/// call to `memcmp` cost more than the bytes; longer ones as slices.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    match n {
        _ if n != b.len() => false,
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

/// The `N` bytes of `bytes` from `at`.
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut w = [0u8; N];
    w.copy_from_slice(&bytes[at..at + N]);
    w
}

/// How far ahead of the entry it hands out a walk in key order reads
/// ([`KeyMap::entries_in_order`]).
const WALK_AHEAD: usize = 8;

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
    /// the entries their first matching tags point to in another, then the
    /// first bytes of the strings those entries hold (a SET writes its value
    /// there, a GET or an INCR reads it): each pass's reads are independent,
    /// so the processor has them all in flight at once. Nothing is changed
    /// and nothing is returned.
    pub fn warm(&self, keys: &[KeyHash]) {
        let mut slots = [usize::MAX; WARM_MAX];
        let mut vacant = [usize::MAX; WARM_MAX];
        for ((slot, free), key) in slots.iter_mut().zip(vacant.iter_mut()).zip(keys) {
            // The first slot whose tag matches: the key's own, barring a 1-in-128 tag clash.
            match self.table.find_bucket_index(key.0, |_| true) {
                Some(found) => *slot = found,
                None => *free = self.insert_slot(key.0),
            }
        }
        let n = keys.len().min(WARM_MAX);
        let slots = &slots[..n];
        for (&slot, &free) in slots.iter().zip(&vacant[..n]) {
            if let Some(e) = self.table.get_bucket(slot) {
                // Fields from both ends of the entry: its two lines.
                std::hint::black_box((e.key.as_slice().len(), e.meta.bytes, e.digest.get()));
            } else if free != usize::MAX {
                // A key not there, which a write will insert into `free`: an
                // empty slot cannot be read, but its lines are mostly its
                // neighbours' (the entry above ends where its first line
                // starts, the one below begins where it ends), and its page
                // is theirs. Without this, the insert's writes wait for memory.
                let mask = self.table.num_buckets() - 1;
                let above = self.table.get_bucket(free.wrapping_sub(1) & mask);
                let below = self.table.get_bucket((free + 1) & mask);
                std::hint::black_box((above.map(|e| e.digest.get()), below.map(|e| e.meta.bytes)));
            }
        }
        for &slot in slots {
            // A short string is inside its entry, already read above.
            if let Some(Entry { value: Data::Str(v), .. }) = self.table.get_bucket(slot)
                && v.spilled()
            {
                std::hint::black_box(v.first().copied());
            }
        }
    }

    /// The slot an insert of a key hashed `hash`, not in the table, would
    /// take (unless the table grows first), if it is in the first group of
    /// 16 the key's probe reads: hashbrown starts the probe at the hash's low
    /// bits and takes its first slot that holds no entry. Only a guess for
    /// [`KeyMap::warm`]: nothing depends on it but which lines are warmed.
    fn insert_slot(&self, hash: u64) -> usize {
        let buckets = self.table.num_buckets();
        if buckets == 0 {
            return usize::MAX;
        }
        let mask = buckets - 1;
        let start = hash as usize & mask;
        (0..16).map(|i| (start + i) & mask).find(|&i| self.table.get_bucket(i).is_none()).unwrap_or(usize::MAX)
    }

    /// The memory bookkeeping of `key`, if it is there and measured.
    pub(crate) fn meta(&self, key: &[u8]) -> Option<Meta> {
        self.find(key)?.meta.get()
    }

    /// Sets the bookkeeping of `key` (if it is there); what it replaces.
    pub(crate) fn set_meta(&mut self, key: &[u8], meta: Meta) -> Option<Option<Meta>> {
        let entry = self.find_mut_from_last(key)?;
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
        let entry = self.find_mut_from_last(key)?;
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
        match self.table.entry(hash(&key), |e| e.key.is(&key), rehash) {
            Slot::Occupied(mut slot) => {
                self.last.set(slot.bucket_index());
                let entry = slot.get_mut();
                entry.digest.set(0);
                Some(std::mem::replace(&mut entry.value, value))
            }
            Slot::Vacant(slot) => {
                if let Some(order) = self.order.get_mut() {
                    order.insert(key.clone());
                }
                let entry = Entry { key: Key::new(key), value, meta: Bookkeeping::default(), digest: Cell::new(0) };
                self.last.set(slot.insert(entry).bucket_index());
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
        let slot = self.table.find_entry(hash(key), |e| e.key.is(key)).ok()?;
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

    /// Keys and values in key order, as [`KeyMap::iter`] walks them, sorted
    /// from the table for this one walk: no lookup per key, and the kept
    /// order is neither built nor read (an RDB or AOF snapshot of a big
    /// keyspace, which nothing walks again soon).
    ///
    /// In key order the entries are scattered over the table, and in a big
    /// keyspace each is a wait for memory: each step first reads the entry
    /// [`WALK_AHEAD`] places on, so that its wait overlaps the work on the
    /// entries before it.
    pub fn entries_in_order(&self) -> impl ExactSizeIterator<Item = (&[u8], &Data)> + '_ {
        let sorted = self.sorted_entries();
        (0..sorted.len()).map(move |i| {
            if let Some((_, ahead)) = sorted.get(i + WALK_AHEAD) {
                // Both lines of the entry: the key's first bytes and the value's last.
                std::hint::black_box((ahead.digest.get(), ahead.meta.bytes));
            }
            let e = sorted[i].1;
            (e.key.as_slice(), &e.value)
        })
    }

    /// The entries sorted by key, each beside its key's first 16 bytes as
    /// two numbers ([`prefix`]): sorted by those first (compared without
    /// reading the entry again), then by the whole key where they are equal.
    /// One list, walked as it is: a snapshot of a million keys made two more
    /// of its size, each fresh memory.
    fn sorted_entries(&self) -> Vec<((u64, u64), &Entry)> {
        let mut entries: Vec<_> = self.table.iter().map(|e| (prefix(e.key.as_slice()), e)).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.key.as_slice().cmp(b.1.key.as_slice())));
        entries
    }

    /// The sorted keys, built by the first walk that finds keys (a walk of
    /// an empty map, such as the RDB of a full sync at start, builds nothing).
    fn sorted(&self) -> &BTreeSet<Vec<u8>> {
        static NONE: BTreeSet<Vec<u8>> = BTreeSet::new();
        if self.table.is_empty() && self.order.get().is_none() {
            return &NONE;
        }
        self.order.get_or_init(|| self.sorted_entries().into_iter().map(|(_, e)| e.key.as_slice().to_vec()).collect())
    }

    /// The entry of `key`.
    fn find(&self, key: &[u8]) -> Option<&Entry> {
        let slot = self.table.find_bucket_index(hash(key), |e| e.key.is(key))?;
        self.last.set(slot);
        self.table.get_bucket(slot)
    }

    /// The entry of `key`, mutably.
    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let slot = self.table.find_bucket_index(hash(key), |e| e.key.is(key))?;
        self.last.set(slot);
        self.table.get_bucket_mut(slot)
    }

    /// [`KeyMap::find_mut`], from the slot the last lookup found if `key` is there.
    fn find_mut_from_last(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let slot = self.last.get();
        if self.table.get_bucket(slot).is_some_and(|e| e.key.is(key)) {
            return self.table.get_bucket_mut(slot);
        }
        self.find_mut(key)
    }
}

/// The first 16 bytes of `key` as two big-endian numbers, zeros past its
/// end: keys whose prefixes differ are in the prefixes' order (a key that
/// ends within them shares its prefix with its extensions by zeros, which
/// the whole keys then order). Two `u64`s rather than a `u128`, so that a
/// sorted entry is 24 bytes, not 32 (a `u128` is aligned to 16).
fn prefix(key: &[u8]) -> (u64, u64) {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key[..n]);
    let (high, low) = bytes.split_at(8);
    (u64::from_be_bytes(high.try_into().expect("8 bytes")), u64::from_be_bytes(low.try_into().expect("8 bytes")))
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
        Data::Str(v.as_bytes().into())
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
                        assert!(map.entries_in_order().eq(model.iter().map(|(k, v)| (k.as_slice(), v))));
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

    /// Keys of zero bytes, ones and letters, 0 to 20 bytes long: prefixes
    /// that tie, keys that end inside the 16 bytes the walk sorts by first,
    /// and keys that differ from another only by trailing zeros. The walk
    /// sorted from the table is the ordered map's, before and after the kept
    /// order exists.
    #[test]
    fn the_sorted_walk_orders_ties_and_zeros_as_bytes_do() {
        for seed in 0..10 {
            let mut next = stream(seed);
            let (mut map, mut model) = (KeyMap::default(), BTreeMap::new());
            for step in 0..2_000 {
                let len = (next() % 21) as usize;
                let key: Vec<u8> = (0..len).map(|_| [0, 1, b'a'][(next() % 3) as usize]).collect();
                map.insert(key.clone(), s(&step.to_string()));
                model.insert(key, s(&step.to_string()));
            }
            let want: Vec<(&[u8], &Data)> = model.iter().map(|(k, v)| (k.as_slice(), v)).collect();
            assert_eq!(map.entries_in_order().collect::<Vec<_>>(), want, "seed {seed}");
            assert!(map.keys().eq(model.keys()), "seed {seed}: the kept order");
            assert_eq!(map.entries_in_order().collect::<Vec<_>>(), want, "seed {seed}: with the kept order built");
        }
    }

    /// Bookkeeping set after every kind of lookup, insert and remove (which
    /// leave the last slot pointing at another key, an empty slot, or a
    /// table that has grown since) lands on its own key, as in a model.
    #[test]
    fn bookkeeping_follows_its_key_whatever_was_looked_up_last() {
        for seed in 0..10 {
            let mut next = stream(seed);
            let (mut map, mut model) = (KeyMap::default(), BTreeMap::<Vec<u8>, Option<Meta>>::new());
            for step in 0..4_000u64 {
                let key = key_of(next() % 200);
                match next() % 6 {
                    0 => {
                        // An overwrite keeps the bookkeeping; a new key has none.
                        let existed = model.contains_key(&key);
                        assert_eq!(map.insert(key.clone(), s("v")).is_some(), existed);
                        model.entry(key).or_insert(None);
                    }
                    1 => assert_eq!(map.remove_with_meta(&key).map(|(_, m)| m), model.remove(&key)),
                    2 => drop(map.get(&key_of(next() % 200))),
                    3 => drop(map.get_mut(&key_of(next() % 200))),
                    _ => {}
                }
                let meta = Meta { field: step as u32, bytes: step };
                let probe = key_of(next() % 200);
                let got = if step % 2 == 0 {
                    map.set_meta(&probe, meta)
                } else {
                    map.update_meta(&probe, |_, _| meta).map(|(old, _)| old)
                };
                let want = model.get_mut(&probe).map(|m| m.replace(meta));
                assert_eq!(got, want, "seed {seed} step {step}");
            }
            for (key, meta) in &model {
                assert_eq!(map.meta(key), *meta, "seed {seed}");
            }
        }
    }

    /// The slot [`KeyMap::warm`] reads around for a key not there is the one
    /// an insert then takes, whenever the table does not grow meanwhile and
    /// the key's first group has room (the guess reads hashbrown's layout;
    /// a rare miss is a table rehashed in place to clear its tombstones).
    #[test]
    fn the_warmed_insert_slot_is_where_the_insert_lands() {
        let mut next = stream(11);
        let mut map = KeyMap::default();
        let (mut checked, mut missed) = (0, 0);
        for _ in 0..20_000 {
            let key = key_of(next() % 50_000);
            if next().is_multiple_of(4) {
                map.remove(&key);
                continue;
            }
            let (buckets, guess) = (map.table.num_buckets(), map.insert_slot(hash(&key)));
            let new = !map.contains_key(&key);
            map.insert(key, s("v"));
            if new && map.table.num_buckets() == buckets && guess != usize::MAX {
                checked += 1;
                missed += usize::from(guess != map.last.get());
            }
        }
        assert!(checked > 5_000, "{checked}");
        assert!(missed * 100 <= checked, "{missed} of {checked}");
    }

    /// A key is exactly the keys of its bytes, whatever their lengths (each
    /// way of comparing) and wherever two keys differ.
    #[test]
    fn a_key_is_only_its_own_bytes() {
        let mut next = stream(3);
        for _ in 0..40_000 {
            let len = (next() % 30) as usize;
            let a: Vec<u8> = (0..len).map(|_| (next() % 3) as u8).collect();
            let mut b = a.clone();
            match next() % 3 {
                0 if len > 0 => b[(next() % len as u64) as usize] ^= 1,
                1 => b.push(0),
                _ => {}
            }
            assert_eq!(Key::new(a.clone()).is(&b), a == b, "{a:?} {b:?}");
            assert_eq!(Key::new(b.clone()).is(&a), a == b, "{b:?} {a:?}");
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
