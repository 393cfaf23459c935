//! A set of hash slots as a bitmap ([`SlotSet`]).

use super::SLOTS;

/// A set of hash slots, a bit each: a failover hands thousands of slots
/// to another owner at once, and a bit costs a store where a tree costs a
/// search and a node.
#[derive(Clone, Debug, Default)]
pub(crate) struct SlotSet {
    /// Bit `slot % 64` of word `slot / 64`; no words until the first insert.
    words: Vec<u64>,
}

impl SlotSet {
    pub(crate) fn insert(&mut self, slot: u16) {
        if self.words.is_empty() {
            self.words = vec![0; SLOTS / 64];
        }
        self.words[usize::from(slot) / 64] |= 1 << (slot % 64);
    }

    pub(crate) fn contains(&self, slot: &u16) -> bool {
        self.word(usize::from(*slot) / 64) & (1 << (slot % 64)) != 0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    fn word(&self, k: usize) -> u64 {
        self.words.get(k).copied().unwrap_or(0)
    }
}

impl PartialEq for SlotSet {
    fn eq(&self, other: &SlotSet) -> bool {
        (0..SLOTS / 64).all(|k| self.word(k) == other.word(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The set against a `BTreeSet` of the same slots, drawn at random.
    #[test]
    fn a_slot_set_holds_what_a_tree_of_the_same_slots_holds() {
        let mut rng = sim::Rng::stream(9, "slot-set");
        for _ in 0..20 {
            let (mut set, mut tree) = (SlotSet::default(), BTreeSet::new());
            assert!(set.is_empty());
            let n = rng.below(50);
            for _ in 0..n {
                let slot = rng.below(SLOTS as u64) as u16;
                set.insert(slot);
                tree.insert(slot);
            }
            assert_eq!(set.is_empty(), tree.is_empty());
            for slot in 0..SLOTS as u16 {
                assert_eq!(set.contains(&slot), tree.contains(&slot), "slot {slot}");
            }
            let mut same = SlotSet::default();
            tree.iter().for_each(|&s| same.insert(s));
            assert_eq!(set, same);
            if let Some(&first) = tree.first() {
                let mut fewer = SlotSet::default();
                tree.iter().filter(|&&s| s != first).for_each(|&s| fewer.insert(s));
                assert_ne!(set, fewer);
            }
        }
    }
}
