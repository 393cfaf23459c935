//! First-in first-out queues that share one slab of entries.
//!
//! The kernel keeps a queue per direction of every connection, and a
//! 1,000-node cluster holds a million connections of which only a few
//! hundred have anything in flight at a time. A `VecDeque` per direction
//! kept its buffer after draining (about 400 MB of mostly empty buffers
//! there, each a separate allocation to miss on); here an idle queue is two
//! integers and the entries in flight live together in one small, warm slab.

const NONE: u32 = u32::MAX;

/// One queue: where its entries start and end in the [`Slab`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fifo {
    head: u32,
    tail: u32,
}

impl Default for Fifo {
    fn default() -> Fifo {
        Fifo { head: NONE, tail: NONE }
    }
}

impl Fifo {
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NONE
    }
}

#[derive(Debug)]
struct Entry<T> {
    item: Option<T>,
    next: u32,
}

/// The entries of every [`Fifo`] that uses it. A freed entry is reused by
/// the next push (last freed first), so which entry holds what depends only
/// on the order of pushes and pops.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab { entries: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    pub(crate) fn push_back(&mut self, queue: &mut Fifo, item: T) {
        let entry = Entry { item: Some(item), next: NONE };
        let at = match self.free.pop() {
            Some(at) => {
                self.entries[at as usize] = entry;
                at
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        match queue.tail {
            NONE => queue.head = at,
            tail => self.entries[tail as usize].next = at,
        }
        queue.tail = at;
    }

    pub(crate) fn front<'a>(&'a self, queue: &Fifo) -> Option<&'a T> {
        self.entries.get(queue.head as usize)?.item.as_ref()
    }

    pub(crate) fn pop_front(&mut self, queue: &mut Fifo) -> Option<T> {
        let at = queue.head;
        let entry = self.entries.get_mut(at as usize)?;
        let item = entry.item.take();
        queue.head = entry.next;
        if queue.head == NONE {
            queue.tail = NONE;
        }
        self.free.push(at);
        item
    }

    /// Empties `queue`, oldest first.
    pub(crate) fn drain(&mut self, queue: &mut Fifo) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(item) = self.pop_front(queue) {
            out.push(item);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn queues_sharing_a_slab_behave_as_separate_deques() {
        // A fixed pseudo-random mix of pushes, pops and drains over five
        // queues, checked against one VecDeque each.
        let mut slab = Slab::default();
        let mut queues = [Fifo::default(); 5];
        let mut models: Vec<VecDeque<u32>> = vec![VecDeque::new(); 5];
        let mut x = 0x2545_f491_u32;
        for n in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let q = (x % 5) as usize;
            match (x >> 8) % 16 {
                0..=7 => {
                    slab.push_back(&mut queues[q], n);
                    models[q].push_back(n);
                }
                8..=14 => assert_eq!(slab.pop_front(&mut queues[q]), models[q].pop_front()),
                _ => assert_eq!(slab.drain(&mut queues[q]), models[q].drain(..).collect::<Vec<_>>()),
            }
            assert_eq!(slab.front(&queues[q]), models[q].front());
            assert_eq!(queues[q].is_empty(), models[q].is_empty());
        }
        let held: usize = models.iter().map(VecDeque::len).sum();
        assert_eq!(slab.entries.len() - slab.free.len(), held, "every popped entry is free for reuse");
    }
}
