//! A list value ([`crate::keyspace::Data::List`]) that keeps the sizes of
//! its quicklist model's nodes ([`super::size`]) and a fingerprint of its
//! elements as it changes, so that measuring a list after a push at its
//! tail costs the nodes it has, not its length, and so does its digest
//! ([`crate::view`]'s dataset digest, which the replicas-converged and
//! no-acked-write-lost invariants compare after every write).
//!
//! The elements read as a `VecDeque` (the list derefs to one). `push_back`
//! updates the last node's size and the fingerprint; `pop_back` the last
//! node's size and forgets the fingerprint (a hash cannot be undone); any
//! other change (through `push_front`, `pop_front` or the `VecDeque`
//! borrowed mutably) forgets both, and what is forgotten is measured whole
//! again by the next `push_back` (or, uncached, by each measurement until
//! then). Nodes fill from the head, so a change at the head moves every
//! node boundary: those keep the whole measure.

use super::size;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};

/// A list's elements, head first, with its model nodes' sizes.
#[derive(Clone)]
pub struct List {
    items: VecDeque<Vec<u8>>,
    /// Each node's `lpBytes`, head first, when known ([`size::list_nodes`]).
    nodes: Option<Vec<u64>>,
    /// The elements, head first, fed to a hasher ([`List::fingerprint`]), when known.
    hasher: Option<sim::StableHasher>,
}

impl List {
    /// Appends `item` at the tail (RPUSH), its node's size updated with it.
    pub fn push_back(&mut self, item: Vec<u8>) {
        if let Some(nodes) = &mut self.nodes {
            size::push_list_entry(nodes, &item);
        }
        if let Some(h) = &mut self.hasher {
            h.bytes(&item);
        }
        self.items.push_back(item);
        if self.nodes.is_none() {
            self.nodes = Some(size::list_nodes(self.items.iter().map(Vec::as_slice)));
        }
        if self.hasher.is_none() {
            self.hasher = Some(hash(&self.items));
        }
    }

    /// Removes the tail element (RPOP), its node's size updated with it.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let item = self.items.pop_back()?;
        self.hasher = None;
        if let Some(nodes) = &mut self.nodes {
            size::pop_list_entry(nodes, &item);
        }
        Some(item)
    }

    /// Inserts `item` at the head (LPUSH).
    pub fn push_front(&mut self, item: Vec<u8>) {
        self.forget();
        self.items.push_front(item);
    }

    /// Removes the head element (LPOP).
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.forget();
        self.items.pop_front()
    }

    /// The model's nodes' `lpBytes`, head first: kept, or measured now.
    pub(crate) fn node_bytes(&self) -> Cow<'_, [u64]> {
        match &self.nodes {
            Some(nodes) => Cow::Borrowed(nodes),
            None => Cow::Owned(size::list_nodes(self.items.iter().map(Vec::as_slice))),
        }
    }

    /// A fingerprint of the elements in order: equal lists, equal
    /// fingerprints, however they were built. Kept, or computed now.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.hasher.as_ref().map_or_else(|| hash(&self.items).finish(), sim::StableHasher::finish)
    }

    fn forget(&mut self) {
        self.nodes = None;
        self.hasher = None;
    }
}

/// A hasher fed every element, head first.
fn hash(items: &VecDeque<Vec<u8>>) -> sim::StableHasher {
    let mut h = sim::StableHasher::default();
    items.iter().for_each(|i| h.bytes(i));
    h
}

impl Default for List {
    fn default() -> List {
        List { items: VecDeque::new(), nodes: Some(Vec::new()), hasher: Some(sim::StableHasher::default()) }
    }
}

impl Deref for List {
    type Target = VecDeque<Vec<u8>>;

    fn deref(&self) -> &VecDeque<Vec<u8>> {
        &self.items
    }
}

/// Any change made through the `VecDeque` forgets the node sizes and the fingerprint.
impl DerefMut for List {
    fn deref_mut(&mut self) -> &mut VecDeque<Vec<u8>> {
        self.forget();
        &mut self.items
    }
}

impl From<VecDeque<Vec<u8>>> for List {
    fn from(items: VecDeque<Vec<u8>>) -> List {
        List { items, nodes: None, hasher: None }
    }
}

impl<const N: usize> From<[Vec<u8>; N]> for List {
    fn from(items: [Vec<u8>; N]) -> List {
        VecDeque::from(items).into()
    }
}

impl FromIterator<Vec<u8>> for List {
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(iter: I) -> List {
        iter.into_iter().collect::<VecDeque<_>>().into()
    }
}

impl<'a> IntoIterator for &'a List {
    type Item = &'a Vec<u8>;
    type IntoIter = std::collections::vec_deque::Iter<'a, Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl IntoIterator for List {
    type Item = Vec<u8>;
    type IntoIter = std::collections::vec_deque::IntoIter<Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Two lists are equal when their elements are.
impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.items == other.items
    }
}

impl Eq for List {}

/// Shown as its elements, as the `VecDeque` it derefs to.
impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.items.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Data;
    use size::Count;

    /// An element of 1 to 3,000 bytes, sometimes an integer (stored as one in a listpack).
    fn element(rng: &mut sim::Rng) -> Vec<u8> {
        match rng.below(4) {
            0 => (rng.next_u64() as i64 >> rng.below(64)).to_string().into_bytes(),
            1 => vec![b'x'; 1 + rng.below(3000) as usize],
            _ => vec![b'y'; 1 + rng.below(40) as usize],
        }
    }

    #[test]
    fn kept_sizes_and_fingerprint_equal_a_whole_measure_after_random_changes() {
        let mut rng = sim::Rng::stream(23, "list-nodes");
        for round in 0..60 {
            let mut list = List::default();
            for step in 0..300 {
                match rng.below(10) {
                    0..=5 => list.push_back(element(&mut rng)),
                    6 | 7 => drop(list.pop_back()),
                    8 if rng.chance(0.2) => list.push_front(element(&mut rng)),
                    8 => drop(list.pop_front()),
                    _ if !list.is_empty() && rng.chance(0.1) => {
                        let at = rng.below(list.len() as u64) as usize;
                        list[at] = element(&mut rng);
                    }
                    _ => {}
                }
                let whole: List = list.iter().cloned().collect();
                for (samples, count) in [(0, Count::Usage), (5, Count::Usage), (64, Count::Allocated)] {
                    let kept = size::value(&Data::List(list.clone()), false, samples, count);
                    let measured = size::value(&Data::List(whole.clone()), false, samples, count);
                    assert_eq!(kept, measured, "round {round} step {step}");
                }
                assert_eq!(list.fingerprint(), whole.fingerprint(), "round {round} step {step}");
            }
        }
    }

    #[test]
    fn pushes_and_pops_at_the_tail_keep_the_sizes() {
        let mut list = List::default();
        list.push_front(b"head".to_vec());
        list.push_back(b"tail".to_vec());
        assert!(list.hasher.is_some(), "a push at the tail hashes the list again");
        list.pop_back();
        assert!(matches!(list.node_bytes(), Cow::Borrowed(_)), "a push at the tail measures the list again");
        list[0] = b"other".to_vec();
        assert!(matches!(list.node_bytes(), Cow::Owned(_)), "a change through the VecDeque forgets the sizes");
        let other: List = [b"other".to_vec()].into();
        assert_eq!(list.fingerprint(), other.fingerprint());
        list.push_back(b"more".to_vec());
        assert_ne!(list.fingerprint(), other.fingerprint(), "an element more");
    }

    #[test]
    fn equality_and_debug_see_only_the_elements() {
        let kept: List = [b"a".to_vec(), b"b".to_vec()].into();
        let mut changed = List::default();
        changed.push_back(b"b".to_vec());
        changed.push_front(b"a".to_vec());
        assert_eq!(kept, changed);
        assert_eq!(format!("{changed:?}"), "[[97], [98]]");
    }
}
