//! The elements of a set or list reading, shared part by part.
//!
//! A workload reads the same few lists again and again while they grow: the
//! next reading of a list is mostly the last one and a short new tail. Kept
//! as one array each, a run's readings of lists of hundreds of elements
//! were copies of the same elements, made and compared element by element at
//! every read. [`Elems`] keeps a reading as a few shared parts instead:
//! [`Elems::extended`] makes the next reading from the last one and the
//! tail, sharing the last one's parts, and merges the smallest parts so that
//! each is at least twice the next (a reading of `n` elements has at most
//! about `log2 n` parts, and an element is copied at most about `log2 n`
//! times over all readings). Two readings that share their first parts begin
//! with the same elements, which [`ElemsRef::common_prefix`] counts without
//! comparing them.
//!
//! Everything a user sees (equality, order, hashes, text) goes by the
//! elements alone, never by how they are split into parts.

use crate::history::Elem;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A reading's elements, in shared parts. One pointer (none when empty),
/// so that a [`crate::history::Value`] is 24 bytes: an op holds two, and a
/// workload's history an op per operation.
#[derive(Clone, Default)]
pub struct Elems {
    shared: Option<Arc<Parts>>,
}

/// A non-empty reading's parts (none of them empty) and their total length.
struct Parts {
    len: usize,
    parts: Box<[Arc<[Elem]>]>,
}

/// A borrowed run of elements: a value's one element, or a reading's parts.
#[derive(Clone, Copy)]
pub struct ElemsRef<'a> {
    first: &'a [Elem],
    parts: &'a [Arc<[Elem]>],
    len: usize,
}

impl Elems {
    /// Elements in these parts, none of them empty.
    fn new(parts: Vec<Arc<[Elem]>>) -> Elems {
        debug_assert!(parts.iter().all(|p| !p.is_empty()), "no empty part");
        let len = parts.iter().map(|p| p.len()).sum();
        Elems { shared: (len > 0).then(|| Arc::new(Parts { len, parts: parts.into() })) }
    }

    fn parts(&self) -> &[Arc<[Elem]>] {
        self.shared.as_ref().map_or(&[], |s| &s.parts)
    }

    /// The elements as a borrowed run.
    pub fn as_ref(&self) -> ElemsRef<'_> {
        ElemsRef { first: &[], parts: self.parts(), len: self.len() }
    }

    /// How many elements.
    pub fn len(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.len)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shared.is_none()
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &Elem> + Clone {
        self.parts().iter().flat_map(|p| p.iter())
    }

    /// The element at `i`.
    pub fn get(&self, i: usize) -> Option<&Elem> {
        self.as_ref().get(i)
    }

    /// These elements followed by `tail`, sharing these parts: the tail
    /// becomes a part of its own, merged with the last parts while they are
    /// less than twice its size.
    pub fn extended(&self, tail: &[Elem]) -> Elems {
        if tail.is_empty() {
            return self.clone();
        }
        let mut parts: Vec<Arc<[Elem]>> = self.parts().to_vec();
        let mut merged = tail.len();
        let mut keep = parts.len();
        while keep > 0 && parts[keep - 1].len() < 2 * merged {
            keep -= 1;
            merged += parts[keep].len();
        }
        let mut last: Vec<Elem> = Vec::with_capacity(merged);
        for p in parts.drain(keep..) {
            last.extend(p.iter().cloned());
        }
        last.extend_from_slice(tail);
        parts.push(last.into());
        Elems::new(parts)
    }

    /// The parts, for tests of their sizes.
    #[cfg(test)]
    fn part_lens(&self) -> Vec<usize> {
        self.parts().iter().map(|p| p.len()).collect()
    }
}

impl<'a> ElemsRef<'a> {
    /// No elements.
    pub const EMPTY: ElemsRef<'static> = ElemsRef { first: &[], parts: &[], len: 0 };

    /// One element.
    pub fn one(e: &'a Elem) -> ElemsRef<'a> {
        ElemsRef { first: std::slice::from_ref(e), parts: &[], len: 1 }
    }

    /// How many elements.
    pub fn len(self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The elements in order.
    pub fn iter(self) -> impl Iterator<Item = &'a Elem> + Clone {
        self.first.iter().chain(self.parts.iter().flat_map(|p| p.iter()))
    }

    /// The elements from position `from` on, whole parts before it skipped
    /// without a look.
    pub fn iter_from(self, from: usize) -> impl Iterator<Item = &'a Elem> + Clone {
        let mut skip = from;
        let first = self.first.get(skip.min(self.first.len())..).unwrap_or_default();
        skip = skip.saturating_sub(self.first.len());
        let mut start = 0;
        while start < self.parts.len() && skip >= self.parts[start].len() {
            skip -= self.parts[start].len();
            start += 1;
        }
        let parts = &self.parts[start..];
        first.iter().chain(parts.iter().enumerate().flat_map(move |(i, p)| {
            let from = if i == 0 { skip.min(p.len()) } else { 0 };
            p[from..].iter()
        }))
    }

    /// The element at `i`.
    pub fn get(self, i: usize) -> Option<&'a Elem> {
        self.iter_from(i).next()
    }

    /// The elements as one vector.
    pub fn to_vec(self) -> Vec<Elem> {
        self.iter().cloned().collect()
    }

    /// Whether these are the very same parts in memory (so the same elements).
    pub fn same(self, other: ElemsRef<'_>) -> bool {
        self.len == other.len
            && std::ptr::eq(self.first, other.first)
            && self.parts.len() == other.parts.len()
            && self.parts.iter().zip(other.parts).all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// How many elements `self` and `other` both begin with, from position
    /// `from` on (the first `from` are known to agree): parts the two share
    /// at the same position are counted whole, the rest compared.
    pub fn common_prefix(self, other: ElemsRef<'_>, from: usize) -> usize {
        let mut at = 0;
        if self.first.is_empty() && other.first.is_empty() {
            for (a, b) in self.parts.iter().zip(other.parts) {
                if !Arc::ptr_eq(a, b) {
                    break;
                }
                at += a.len();
            }
        }
        let at = at.max(from.min(self.len).min(other.len));
        at + self.iter_from(at).zip(other.iter_from(at)).take_while(|(a, b)| a == b).count()
    }
}

impl std::ops::Index<usize> for Elems {
    type Output = Elem;

    /// The element at `i`; panics past the end, as a slice does.
    fn index(&self, i: usize) -> &Elem {
        self.get(i).unwrap_or_else(|| panic!("index {i} out of range for {} elements", self.len()))
    }
}

impl From<Vec<Elem>> for Elems {
    fn from(v: Vec<Elem>) -> Elems {
        if v.is_empty() { Elems::default() } else { Elems::new(vec![v.into()]) }
    }
}

impl<const N: usize> From<[Elem; N]> for Elems {
    fn from(a: [Elem; N]) -> Elems {
        Elems::from(Vec::from(a))
    }
}

impl From<&[Elem]> for Elems {
    fn from(s: &[Elem]) -> Elems {
        Elems::from(s.to_vec())
    }
}

impl FromIterator<Elem> for Elems {
    fn from_iter<I: IntoIterator<Item = Elem>>(iter: I) -> Elems {
        Elems::from(iter.into_iter().collect::<Vec<Elem>>())
    }
}

impl PartialEq for ElemsRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && (self.same(*other) || self.iter().eq(other.iter()))
    }
}

impl Eq for ElemsRef<'_> {}

impl PartialOrd for ElemsRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ElemsRef<'_> {
    /// As slices of the elements compare.
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl Hash for ElemsRef<'_> {
    /// As a slice of the elements hashes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len);
        for e in self.iter() {
            e.hash(state);
        }
    }
}

impl std::fmt::Debug for ElemsRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Elems {
    fn eq(&self, other: &Self) -> bool {
        self.as_ref() == other.as_ref()
    }
}

impl Eq for Elems {}

impl PartialOrd for Elems {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Elems {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_ref().cmp(&other.as_ref())
    }
}

impl Hash for Elems {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

impl std::fmt::Debug for Elems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_ref().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Elems, ElemsRef};
    use crate::history::Elem;
    use crate::testgen::Rng;

    fn ints(v: &[i64]) -> Vec<Elem> {
        v.iter().map(|&n| Elem::Int(n)).collect()
    }

    /// A reading grown tail by tail holds the elements in order, in few
    /// parts each at least twice the next, and reads like a slice from any
    /// position.
    #[test]
    fn a_reading_grown_by_tails_is_its_elements_in_few_parts() {
        for seed in 0..50u64 {
            let mut g = Rng::new(seed);
            let mut reading = Elems::default();
            let mut all: Vec<Elem> = Vec::new();
            for _ in 0..200 {
                let tail = ints(&(0..g.below(6)).map(|_| g.below(1000) as i64).collect::<Vec<_>>());
                let next = reading.extended(&tail);
                assert_eq!(reading.iter().cloned().collect::<Vec<_>>(), all, "extending leaves the last reading be");
                all.extend(tail);
                reading = next;
                assert_eq!(reading.len(), all.len());
                assert_eq!(reading.as_ref().to_vec(), all);
                let lens = reading.part_lens();
                assert!(lens.windows(2).all(|w| w[0] >= 2 * w[1]), "each part twice the next: {lens:?}");
                let from = g.below(all.len() as u64 + 2) as usize;
                let want: Vec<&Elem> = all.get(from..).unwrap_or_default().iter().collect();
                assert_eq!(reading.as_ref().iter_from(from).collect::<Vec<_>>(), want, "from {from}");
                assert_eq!(reading.get(from), all.get(from));
            }
            assert!(reading.part_lens().len() <= 12, "{:?}", reading.part_lens());
        }
    }

    /// The common prefix of two readings is the slices' common prefix,
    /// whether they share parts or not; equality, order and hash go by the
    /// elements alone.
    #[test]
    fn readings_compare_by_their_elements_alone() {
        for seed in 0..200u64 {
            let mut g = Rng::new(seed);
            let base = ints(&(0..g.below(40)).map(|_| g.below(4) as i64).collect::<Vec<_>>());
            let a = Elems::from(base.clone()).extended(&ints(&[g.below(4) as i64, 1]));
            let mut grown = Elems::default();
            for chunk in base.chunks(1 + g.below(5) as usize) {
                grown = grown.extended(chunk);
            }
            let b = grown.extended(&ints(&(0..g.below(3)).map(|_| g.below(4) as i64).collect::<Vec<_>>()));
            let (va, vb) = (a.as_ref().to_vec(), b.as_ref().to_vec());
            let want = va.iter().zip(&vb).take_while(|(x, y)| x == y).count();
            let from = g.below(want as u64 + 1) as usize;
            assert_eq!(a.as_ref().common_prefix(b.as_ref(), from), want, "seed {seed}");
            let c = b.extended(&[]);
            assert_eq!(b.as_ref().common_prefix(c.as_ref(), 0), b.len());
            assert_eq!(a == b, va == vb);
            assert_eq!(a.cmp(&b), va.cmp(&vb));
            let hash = |e: &Elems| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                e.hash(&mut h);
                h.finish()
            };
            assert_eq!(hash(&Elems::from(vb.clone())), hash(&b), "the same elements hash the same however split");
        }
        let one = Elem::Int(7);
        assert_eq!(ElemsRef::one(&one).to_vec(), ints(&[7]));
        assert!(ElemsRef::EMPTY.is_empty());
    }
}
