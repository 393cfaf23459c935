//! A fast hasher for the checkers' lookup-only hash tables (grouping 100,000s
//! of operations by key, numbering values, the linearizability memo), where
//! std's SipHash cost more than the search itself. It is unseeded, so every
//! run hashes alike; and no table hashed with it is ever iterated in hash
//! order into a verdict, a count or evidence (groups are sorted first).

use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Multiply-rotate hashing of words (as rustc's `FxHasher`).
#[derive(Clone, Copy, Default)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last));
        self.add(bytes.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A lookup-only hash map (never iterated in hash order into a result).
#[allow(clippy::disallowed_types)]
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A membership-only hash set.
#[allow(clippy::disallowed_types)]
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

/// `items` grouped by `key`, groups in key order, items in their order.
///
/// Two passes over `items`: the first numbers each item's group and counts
/// the groups' sizes, the second fills each group's `Vec`, made at its size.
/// Grown by doubling instead, the groups of a long history (a few large
/// ones) were reallocated and copied into fresh memory again and again, and
/// memory touched for the first time is the dearest thing a run does.
pub(crate) fn group_by<K: Ord + Hash + Copy, T>(
    items: impl Iterator<Item = T> + Clone,
    key: impl Fn(&T) -> K,
) -> Vec<(K, Vec<T>)> {
    let mut index: FastMap<K, u32> = FastMap::default();
    let mut keys: Vec<(K, usize)> = Vec::new();
    let mut of_item: Vec<u32> = Vec::with_capacity(items.size_hint().0);
    for item in items.clone() {
        let k = key(&item);
        let i = *index.entry(k).or_insert_with(|| {
            keys.push((k, 0));
            u32::try_from(keys.len() - 1).expect("fewer than 2^32 groups")
        });
        keys[i as usize].1 += 1;
        of_item.push(i);
    }
    let mut groups: Vec<(K, Vec<T>)> = keys.iter().map(|&(k, n)| (k, Vec::with_capacity(n))).collect();
    let mut seen = 0;
    for (item, i) in items.zip(&of_item) {
        groups[*i as usize].1.push(item);
        seen += 1;
    }
    assert_eq!(seen, of_item.len(), "the same items twice");
    debug_assert!(groups.iter().zip(&keys).all(|(g, (k, n))| g.0 == *k && g.1.len() == *n));
    groups.sort_by_key(|g| g.0);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_in_key_order_with_items_in_their_order() {
        let words = ["b1", "a1", "b2", "c1", "a2", "b3"];
        let groups = group_by(words.iter(), |w| &w[..1]);
        let got: Vec<(&str, Vec<&str>)> = groups.iter().map(|(k, v)| (*k, v.iter().map(|w| **w).collect())).collect();
        assert_eq!(got, vec![("a", vec!["a1", "a2"]), ("b", vec!["b1", "b2", "b3"]), ("c", vec!["c1"])]);
    }

    #[test]
    fn the_hash_tells_order_and_trailing_zeros_apart() {
        let hash = |b: &[u8]| {
            let mut h = FastHasher::default();
            h.write(b);
            h.finish()
        };
        assert_ne!(hash(b"key:17"), hash(b"key:71"));
        assert_ne!(hash(b"12345678"), hash(b"12345678\0"), "a zero-padded tail is not the same bytes");
        let mut a = FastHasher::default();
        "ab".hash(&mut a);
        let mut b = FastHasher::default();
        "ab\0".hash(&mut b);
        assert_ne!(a.finish(), b.finish(), "str hashing ends with a marker");
    }
}
