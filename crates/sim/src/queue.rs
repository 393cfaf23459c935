//! The kernel's event queue: earliest time first, and among events due at the
//! same time, the one scheduled first.
//!
//! A 1,000-node cluster keeps a million events queued in its first second (a
//! PING per link), and a binary heap of them is tens of megabytes: every pop
//! sifts down through levels that are each a cache miss. Event times never go
//! below the clock, which only moves forward, so this is a radix heap: events
//! sit in buckets by the highest bit in which their time differs from the
//! last time taken out, a push appends to one bucket, and a bucket is sorted
//! out into lower ones only when everything below it is empty. Each event
//! moves down a few buckets in its life, reading and writing memory in order.

use std::collections::VecDeque;

const BUCKETS: usize = 65;

struct Entry<T> {
    at: u64,
    /// The push order, kept in debug builds only to check that events of
    /// one time come out in it (the queue keeps that order without it).
    #[cfg(debug_assertions)]
    seq: u64,
    item: T,
}

/// Items keyed by a time (`u64`) that is never below the time of the last
/// item taken out, popped by (time, order of pushing).
pub(crate) struct EventQueue<T> {
    /// Every queued time is at least this; bucket `b > 0` holds the times
    /// whose highest bit differing from it is bit `b - 1`.
    base: u64,
    /// Times equal to `base`, in the order they were pushed.
    due: VecDeque<Entry<T>>,
    buckets: Vec<Vec<Entry<T>>>,
    /// Bit `b` set when bucket `b` has entries.
    occupied: u64,
    #[cfg(debug_assertions)]
    seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> EventQueue<T> {
        EventQueue {
            base: 0,
            due: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            #[cfg(debug_assertions)]
            seq: 0,
        }
    }
}

fn bucket_of(base: u64, at: u64) -> usize {
    (u64::BITS - (at ^ base).leading_zeros()) as usize
}

/// Puts `e` in `due` if it is at `base`, else in its bucket relative to
/// `base` (which `buckets` must reach).
#[inline(always)]
fn place<T>(base: u64, due: &mut VecDeque<Entry<T>>, buckets: &mut [Vec<Entry<T>>], occupied: &mut u64, e: Entry<T>) {
    let b = bucket_of(base, e.at);
    if b == 0 {
        // Pushed entries come in order; sorted-out ones are ordered below.
        due.push_back(e);
    } else {
        buckets[b].push(e);
        *occupied |= 1 << b;
    }
}

impl<T> EventQueue<T> {
    /// Queues `item` at `at`, after everything already queued at `at`.
    pub(crate) fn push(&mut self, at: u64, item: T) {
        if at < self.base {
            // Only after a peek moved the base up to the next time and the
            // caller then scheduled something earlier: start over from `at`.
            self.rebase(at);
        }
        #[cfg(debug_assertions)]
        {
            self.seq += 1;
            self.place(Entry { at, seq: self.seq, item });
        }
        #[cfg(not(debug_assertions))]
        self.place(Entry { at, item });
    }

    /// The earliest time queued.
    pub(crate) fn peek(&mut self) -> Option<u64> {
        self.fill_due();
        self.due.front().map(|e| e.at)
    }

    /// Takes out the earliest item, with its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        self.fill_due();
        let e = self.due.pop_front()?;
        Some((e.at, e.item))
    }

    #[inline(always)]
    fn place(&mut self, e: Entry<T>) {
        place(self.base, &mut self.due, &mut self.buckets, &mut self.occupied, e);
    }

    /// When nothing is due at the base time, moves the base to the earliest
    /// time of the lowest non-empty bucket and sorts that bucket out: its
    /// entries all fall into lower buckets relative to the new base.
    #[inline(always)]
    fn fill_due(&mut self) {
        if self.due.is_empty() && self.occupied != 0 {
            self.sort_out_lowest();
        }
    }

    /// Most sort-outs move one or two entries (the next event is usually
    /// alone in its bucket), so this works in place: no vector taken out and
    /// put back, and the entries go straight into the lower buckets.
    #[inline(never)]
    fn sort_out_lowest(&mut self) {
        let b = self.occupied.trailing_zeros() as usize;
        self.occupied &= !(1 << b);
        let (lower, rest) = self.buckets.split_at_mut(b);
        let entries = &mut rest[0];
        if entries.len() == 1 {
            // Alone in its bucket: it is the next event.
            if let Some(e) = entries.pop() {
                self.base = e.at;
                self.due.push_back(e);
            }
            return;
        }
        let Some(base) = entries.iter().map(|e| e.at).min() else { return };
        self.base = base;
        for e in entries.drain(..) {
            // Every entry differs from the new base below bit `b - 1`.
            place(base, &mut self.due, lower, &mut self.occupied, e);
        }
        self.check_due_order();
    }

    /// Events of one time are due in the order they were pushed, with no
    /// sort: they always share a bucket (a later push at the same time finds
    /// the same highest bit differing from the base, which moved only within
    /// lower buckets), every move keeps a bucket's order, and `due` is filled
    /// only when empty or by pushes at the base time, which come last.
    fn check_due_order(&self) {
        #[cfg(debug_assertions)]
        debug_assert!(self.due.iter().is_sorted_by_key(|e| e.seq), "due events out of push order");
    }

    fn rebase(&mut self, base: u64) {
        let mut all: Vec<Entry<T>> = self.due.drain(..).collect();
        for bucket in &mut self.buckets {
            all.append(bucket);
        }
        self.occupied = 0;
        self.base = base;
        for e in all {
            self.place(e);
        }
        self.check_due_order();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_in_time_then_push_order_like_a_heap() {
        // A fixed pseudo-random mix of pushes (often at equal times, now and
        // then earlier than the last peek), peeks and pops, checked against a
        // binary heap of (time, push number).
        let mut queue = EventQueue::default();
        let mut model = BinaryHeap::new();
        let mut now = 0u64;
        let mut pushed = 0u64;
        let mut x = 0x9e37_79b9_u32;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x % 8 {
                0..=3 => {
                    let at = match (x >> 4) % 4 {
                        0 => now,
                        1 => now + u64::from((x >> 8) % 4),
                        2 => now + u64::from(x >> 8),
                        _ => now + (u64::from(x) << 20),
                    };
                    pushed += 1;
                    queue.push(at, pushed);
                    model.push(Reverse((at, pushed)));
                }
                4 => assert_eq!(queue.peek(), model.peek().map(|Reverse((at, _))| *at)),
                _ => {
                    let got = queue.pop();
                    let want = model.pop().map(|Reverse(pair)| pair);
                    assert_eq!(got, want);
                    if let Some((at, _)) = got {
                        now = at;
                    }
                }
            }
        }
        while let Some(Reverse(want)) = model.pop() {
            assert_eq!(queue.pop(), Some(want));
        }
        assert_eq!(queue.pop(), None);
    }
}
