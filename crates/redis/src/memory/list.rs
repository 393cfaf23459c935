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
//!
//! While it keeps them, a list also has a run id ([`List::appends`]):
//! new whenever what is kept is made afresh, at a `pop_back` and in a
//! clone, and the same while the list only grows at its tail, so an
//! observer that saw the list at one length knows, from the same id later,
//! that those elements are still its head, without comparing them.

use super::size;
use resp::Encoded;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A list's elements, head first, with what is kept about them.
pub struct List {
    items: VecDeque<Vec<u8>>,
    /// `None` when not known (boxed, so that a list value is no bigger than
    /// the other kinds of [`crate::keyspace::Data`]).
    kept: Option<Box<Kept>>,
    /// The quicklist's fill: `list-max-listpack-size` when the list was
    /// created (or loaded), clamped to -5..=32767 as `quicklistSetFill` does.
    fill: i32,
}

/// The fill a new list takes by default (`list-max-listpack-size -2`).
const DEFAULT_FILL: i32 = -2;

/// What a list keeps about its elements.
#[derive(Clone)]
struct Kept {
    /// Each node's `lpBytes`, head first ([`size::list_nodes`]).
    nodes: Vec<u64>,
    /// Each node's entries, head first.
    counts: Vec<u32>,
    /// The elements, head first, fed to a hasher ([`List::fingerprint`]), when known.
    hasher: Option<sim::StableHasher>,
    /// The last reply to a read of the whole list ([`List::whole_reply`])
    /// and how many elements it holds: a push at the tail keeps it (the
    /// reply for a head of the list, which the next read extends), any
    /// other change forgets it with the rest.
    reply: RefCell<Option<(usize, Arc<Encoded>)>>,
    /// The run of tail appends this is part of ([`List::appends`]).
    run: u64,
}

/// The last run id given out. Ids are only ever compared for equality
/// (never shown, hashed or ordered), so which thread took which number
/// cannot reach a run: what matters is that no two runs share one.
static RUNS: AtomicU64 = AtomicU64::new(0);

fn next_run() -> u64 {
    RUNS.fetch_add(1, Ordering::Relaxed) + 1
}

impl Kept {
    fn new(nodes: Vec<u64>, counts: Vec<u32>, hasher: Option<sim::StableHasher>) -> Box<Kept> {
        Box::new(Kept { nodes, counts, hasher, reply: RefCell::default(), run: next_run() })
    }
}

/// A clone starts a run of its own: the two lists may grow apart.
impl Clone for List {
    fn clone(&self) -> List {
        let kept = self.kept.as_ref().map(|k| {
            let mut kept = Kept::new(k.nodes.clone(), k.counts.clone(), k.hasher.clone());
            kept.reply = k.reply.clone();
            kept
        });
        List { items: self.items.clone(), kept, fill: self.fill }
    }
}

impl List {
    /// An empty list whose nodes fill under `list-max-listpack-size` `fill`.
    pub fn with_fill(fill: i32) -> List {
        let mut list = List::default();
        list.set_fill(fill);
        list
    }

    /// A list loaded whole from quicklist nodes (RDB, RESTORE): Redis keeps
    /// the nodes as they were written (empty ones skipped), whatever the
    /// fill, and later pushes fill under `fill`.
    pub(crate) fn from_nodes(nodes: Vec<Vec<Vec<u8>>>, fill: i32) -> List {
        let mut list = List::with_fill(fill);
        let mut kept = Kept::new(Vec::new(), Vec::new(), None);
        let mut hasher = sim::StableHasher::default();
        for node in nodes.into_iter().filter(|n| !n.is_empty()) {
            kept.nodes.push(size::list_node(&node));
            kept.counts.push(u32::try_from(node.len()).unwrap_or(u32::MAX));
            node.iter().for_each(|i| hasher.bytes(i));
            list.items.extend(node);
        }
        kept.hasher = Some(hasher);
        list.kept = Some(kept);
        list
    }

    /// Each node's entries, head first, when kept ([`List::from_nodes`],
    /// pushes and pops at the tail), else `None`: the nodes are as RPUSH fills them.
    pub(crate) fn node_counts(&self) -> Option<&[u32]> {
        self.kept.as_ref().map(|k| k.counts.as_slice())
    }

    /// Its nodes fill under `fill` from now on (a list loaded whole).
    pub(crate) fn set_fill(&mut self, fill: i32) {
        self.fill = fill.clamp(-5, 32767);
        if !self.items.is_empty() {
            self.kept = None;
        }
    }

    /// Appends `item` at the tail (RPUSH), its node's size and the
    /// fingerprint updated with it.
    pub fn push_back(&mut self, item: Vec<u8>) {
        let Some(kept) = &mut self.kept else {
            self.items.push_back(item);
            let (nodes, counts) = self.measure();
            self.kept = Some(Kept::new(nodes, counts, Some(self.hash())));
            return;
        };
        size::push_list_entry(&mut kept.nodes, &mut kept.counts, &item, self.fill);
        match &mut kept.hasher {
            Some(h) => h.bytes(&item),
            None => {
                let mut h = sim::StableHasher::default();
                self.items.iter().chain([&item]).for_each(|i| h.bytes(i));
                kept.hasher = Some(h);
            }
        }
        self.items.push_back(item);
    }

    /// Removes the tail element (RPOP), its node's size updated with it.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let item = self.items.pop_back()?;
        if let Some(kept) = &mut self.kept {
            size::pop_list_entry(&mut kept.nodes, &mut kept.counts, &item);
            kept.hasher = None;
            *kept.reply.get_mut() = None;
            kept.run = next_run();
        }
        Some(item)
    }

    /// Inserts `item` at the head (LPUSH).
    pub fn push_front(&mut self, item: Vec<u8>) {
        self.kept = None;
        self.items.push_front(item);
    }

    /// Removes the head element (LPOP).
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.kept = None;
        self.items.pop_front()
    }

    /// The model's nodes' `lpBytes`, head first: kept, or measured now.
    pub(crate) fn node_bytes(&self) -> Cow<'_, [u64]> {
        match &self.kept {
            Some(kept) => Cow::Borrowed(&kept.nodes),
            None => Cow::Owned(size::list_node_bytes(self.items.iter().map(Vec::as_slice), self.fill)),
        }
    }

    /// A fingerprint of the elements in order: equal lists, equal
    /// fingerprints, however they were built. Kept, or computed now.
    pub(crate) fn fingerprint(&self) -> u64 {
        match self.kept.as_ref().and_then(|k| k.hasher.as_ref()) {
            Some(h) => h.finish(),
            None => self.hash().finish(),
        }
    }

    /// The reply to a read of the whole list (`LRANGE key 0 -1`): its
    /// elements as an array of bulk strings, the bytes
    /// [`Encoded::bulk_array`] writes. Kept while the list only grows at the
    /// tail (the explore benchmark's clients read whole lists that appends
    /// grow, hundreds of elements each time): read again unchanged, it is
    /// the same reply; grown, it is the last reply's elements' bytes copied
    /// and only the new elements written. Checked against a fresh encoding
    /// in debug builds.
    pub(crate) fn whole_reply(&self) -> Arc<Encoded> {
        let fresh = || Arc::new(Encoded::bulk_array(self.items.iter().map(Vec::as_slice)));
        let Some(kept) = &self.kept else { return fresh() };
        let mut last = kept.reply.borrow_mut();
        let len = self.items.len();
        let reply = match last.take() {
            Some((n, reply)) if n == len => reply,
            Some((n, reply)) if n < len => {
                Arc::new(reply.bulk_array_grown(n, self.items.range(n..).map(Vec::as_slice)))
            }
            _ => fresh(),
        };
        debug_assert!(*reply == *fresh(), "the kept reply is the list's");
        *last = Some((len, Arc::clone(&reply)));
        reply
    }

    /// The run of appends the list is in and its length now: the id stays
    /// the same while the list only grows at its tail (RPUSH), and any
    /// other change (or a clone) gives a new one. So a look that finds the
    /// id an earlier look found, at length `n` then, finds that look's `n`
    /// elements, unchanged, at the head. `None` while the list keeps nothing
    /// (after a change elsewhere than the tail, until its next push there).
    pub fn appends(&self) -> Option<(u64, usize)> {
        self.kept.as_ref().map(|k| (k.run, self.items.len()))
    }

    /// The list's quicklist fill.
    pub(crate) fn fill(&self) -> i32 {
        self.fill
    }

    fn measure(&self) -> (Vec<u64>, Vec<u32>) {
        size::list_nodes(self.items.iter().map(Vec::as_slice), self.fill)
    }

    /// A hasher fed every element, head first.
    fn hash(&self) -> sim::StableHasher {
        let mut h = sim::StableHasher::default();
        self.items.iter().for_each(|i| h.bytes(i));
        h
    }
}

impl Default for List {
    fn default() -> List {
        let kept = Kept::new(Vec::new(), Vec::new(), Some(sim::StableHasher::default()));
        List { items: VecDeque::new(), kept: Some(kept), fill: DEFAULT_FILL }
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
        self.kept = None;
        &mut self.items
    }
}

impl From<VecDeque<Vec<u8>>> for List {
    fn from(items: VecDeque<Vec<u8>>) -> List {
        List { items, kept: None, fill: DEFAULT_FILL }
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
    use resp::Protocol;
    use size::Count;

    /// An element of 1 to 3,000 bytes, sometimes an integer (stored as one in a listpack).
    fn element(rng: &mut sim::Rng) -> Vec<u8> {
        match rng.below(4) {
            0 => (rng.next_u64() as i64 >> rng.below(64)).to_string().into_bytes(),
            1 => vec![b'x'; 1 + rng.below(3000) as usize],
            _ => vec![b'y'; 1 + rng.below(40) as usize],
        }
    }

    /// Whenever a look finds the run id an earlier look found, the earlier
    /// look's elements are the head of the list, whatever happened between
    /// (pushes and pops at either end, elements changed in place, clones
    /// that go on growing in the list's place); and a list that only grew
    /// at its tail keeps its id.
    #[test]
    fn a_run_id_seen_again_means_the_elements_seen_are_still_the_head() {
        let mut rng = sim::Rng::stream(29, "list-runs");
        for round in 0..200 {
            let mut list = List::default();
            let mut looks: Vec<(u64, Vec<Vec<u8>>)> = Vec::new();
            for step in 0..200 {
                match rng.below(12) {
                    0..=5 => list.push_back(vec![b'a' + rng.below(3) as u8]),
                    6 => drop(list.pop_back()),
                    7 => list.push_front(vec![b'z']),
                    8 => drop(list.pop_front()),
                    9 if !list.is_empty() => {
                        let at = rng.below(list.len() as u64) as usize;
                        list[at] = vec![b'q'];
                    }
                    // A clone takes the list's place and grows apart from it.
                    10 => {
                        let mut copy = list.clone();
                        copy.push_back(vec![b'c']);
                        let original = std::mem::replace(&mut list, copy);
                        assert_ne!(list.appends().map(|a| a.0), original.appends().map(|a| a.0), "a clone runs apart");
                    }
                    _ => {}
                }
                let Some((run, len)) = list.appends() else { continue };
                assert_eq!(len, list.len());
                for (seen, items) in looks.iter().filter(|(seen, _)| *seen == run) {
                    assert!(
                        list.len() >= items.len() && list.iter().zip(items).all(|(a, b)| a == b),
                        "round {round} step {step}: run {seen} no longer begins with what was seen"
                    );
                }
                looks.push((run, list.iter().cloned().collect()));
            }
        }
        // Appends alone keep one run.
        let mut list = List::default();
        let run = list.appends().map(|a| a.0);
        for i in 0..100u8 {
            list.push_back(vec![i]);
        }
        assert_eq!(list.appends(), run.map(|r| (r, 100)));
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
                    let kept = size::value(&Data::List(Box::new(list.clone())), false, samples, count);
                    let measured = size::value(&Data::List(Box::new(whole.clone())), false, samples, count);
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
        assert!(list.kept.as_ref().is_some_and(|k| k.hasher.is_some()), "a push at the tail hashes the list again");
        list.pop_back();
        assert!(matches!(list.node_bytes(), Cow::Borrowed(_)), "a push at the tail measures the list again");
        list[0] = b"other".to_vec();
        assert!(matches!(list.node_bytes(), Cow::Owned(_)), "a change through the VecDeque forgets the sizes");
        let other: List = [b"other".to_vec()].into();
        assert_eq!(list.fingerprint(), other.fingerprint());
        list.push_back(b"more".to_vec());
        assert_ne!(list.fingerprint(), other.fingerprint(), "an element more");
    }

    /// The kept whole-list reply, read after random changes (pushes and
    /// pops at both ends, a change through the `VecDeque`, a new fill),
    /// is the reply written fresh from the elements; read twice with no
    /// change in between, it is the same reply; grown by pushes at the
    /// tail, it is still kept.
    #[test]
    fn the_kept_whole_reply_is_the_list_written_afresh() {
        let mut rng = sim::Rng::stream(29, "list-reply");
        let mut shared = 0;
        for round in 0..40 {
            let mut list = List::default();
            for step in 0..200 {
                match rng.below(12) {
                    0..=5 => list.push_back(element(&mut rng)),
                    6 => drop(list.pop_back()),
                    7 if rng.chance(0.3) => list.push_front(element(&mut rng)),
                    7 => drop(list.pop_front()),
                    8 if !list.is_empty() => {
                        let at = rng.below(list.len() as u64) as usize;
                        list[at] = element(&mut rng);
                    }
                    9 => list.set_fill(if rng.chance(0.5) { -2 } else { 4 }),
                    _ => {}
                }
                if rng.chance(0.5) {
                    continue;
                }
                let fresh = Encoded::bulk_array(list.iter().map(Vec::as_slice));
                let reply = list.whole_reply();
                assert!(*reply == fresh, "round {round} step {step}");
                let mut bytes = (Vec::new(), Vec::new());
                resp::Value::Encoded(Arc::clone(&reply)).encode_for(Protocol::Resp3, &mut bytes.0);
                resp::Value::Encoded(Arc::new(fresh)).encode_for(Protocol::Resp3, &mut bytes.1);
                assert_eq!(bytes.0, bytes.1, "round {round} step {step}: RESP3");
                if Arc::ptr_eq(&reply, &list.whole_reply()) {
                    shared += 1;
                }
            }
        }
        assert!(shared > 1000, "an unchanged list gives its kept reply ({shared} times)");
        let mut list = List::default();
        list.push_back(b"a".to_vec());
        let first = list.whole_reply();
        list.push_back(b"bc".to_vec());
        let second = list.whole_reply();
        assert_eq!(resp::Value::Encoded(second).to_bytes(), b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
        assert!(!Arc::ptr_eq(&first, &list.whole_reply()), "grown, a new reply");
    }

    #[test]
    fn a_list_value_is_no_bigger_than_a_sorted_set() {
        assert!(std::mem::size_of::<List>() <= std::mem::size_of::<crate::zset::ZSet>());
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
