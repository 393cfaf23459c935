//! The node table's performance machinery behind one small interface, each
//! part with the plain reference it must agree with.
//!
//! A table chooses its [`Machinery`] when made ([`Cluster::new_with`](super::Cluster::new_with),
//! [`Cluster::load`](super::Cluster::load); a server takes it from
//! [`ClusterConfig::plain_tables`](crate::config::ClusterConfig::plain_tables)):
//!
//! | part | fast | plain |
//! |---|---|---|
//! | [`CronNotes`] | the cron's first pass reads only the nodes whose note says they may have something to do | it reads every node every tick |
//! | [`SlotBitsCache`] | a node's bitmap and its non-zero 64-byte blocks, kept until a slot changes owner | rebuilt from the owner table on every use, every block copied |
//! | [`names::NameIndex`](super::names::NameIndex) | the thread's shared name numbers, a gossip section looked up ahead | a `BTreeMap` of names, each looked up when reached |
//! | [`Identity::share`] | one copy per identity on the thread, through a thread-local cache | a copy of its own per node |
//! | a node's slots text | kept until its slots change | built on every use |
//!
//! None of it may change behaviour: `tests_machinery.rs` runs the same
//! clusters (a build, a failover, a seeded run with faults) with both and
//! asserts the same trace, record for record. Debug builds also check each
//! cron scan against reading every node, and the slot table against the
//! cached bitmap.

use super::bus::{self, SLOT_BYTES, SlotBits};
use super::{CronTimes, HANDSHAKE, Identity, MYSELF, NOADDR, Node, PFAIL};
use std::cell::{Ref, RefCell};
use std::rc::Rc;

/// Which implementation of the table's caches and indexes a table runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Machinery {
    /// The caches, notes and shared registries, as every run uses them.
    #[default]
    Fast,
    /// No cache, note or shared registry: the reference the fast one is compared with.
    Plain,
}

/// A note: the cron's scan must read the node each time.
const ALWAYS: i64 = i64::MIN;
/// A note: the scan has nothing to do with the entry (free, myself, or no
/// address) until it changes.
const NEVER: i64 = i64::MAX;

/// The note the cron's scan leaves on a node it has read: until when, if
/// nothing changes it, the scan can pass it by.
fn note_of(n: &Node, nt: i64) -> i64 {
    if !n.live || n.flags & (MYSELF | NOADDR) != 0 {
        NEVER
    } else if n.flags & (HANDSHAKE | PFAIL) == 0 && n.linked && n.ping_sent == 0 {
        // Due once `now - pong_received > nt / 2`.
        n.pong_received.saturating_add(nt / 2)
    } else {
        ALWAYS
    }
}

/// Which slab entries the cron's first pass must read (see
/// [`Cluster::cron_scan`](super::Cluster::cron_scan)).
///
/// Fast: for each slab entry, a time up to which the scan can pass the
/// entry by without reading its node; [`NEVER`] for an entry the scan
/// ignores, [`ALWAYS`] for one it must read. Every change to a node that
/// could end a quiet spell calls [`CronNotes::note_changed`] (the table's
/// `node_mut` does); gossip raising a PONG time and
/// `node_mut_keeping_cron_note` do not. Plain: every entry, every tick (the
/// notes are still kept, and ignored).
#[derive(Debug)]
pub(crate) struct CronNotes {
    notes: Vec<i64>,
    /// The node timeout the notes were worked out with.
    timeout: i64,
    machinery: Machinery,
}

impl CronNotes {
    /// No entries yet.
    pub(crate) fn new(machinery: Machinery) -> CronNotes {
        CronNotes { notes: Vec::new(), timeout: 0, machinery }
    }

    /// Whether scans read every node (and need no checking against doing so).
    #[cfg(debug_assertions)]
    pub(crate) fn plain(&self) -> bool {
        self.machinery == Machinery::Plain
    }

    /// A new slab entry at the end, to read at the next scan.
    pub(crate) fn push(&mut self) {
        self.notes.push(ALWAYS);
    }

    /// Entry `i` changed (or now holds another node): the next scan reads it.
    #[inline(always)]
    pub(crate) fn note_changed(&mut self, i: usize) {
        self.notes[i] = ALWAYS;
    }

    /// Calls `visit` on every entry the scan at `t` must read, in slab
    /// order, and notes when each needs reading next.
    ///
    /// Eight notes at a time without a branch, then the due ones one by
    /// one: the loop runs over a thousand entries ten times a second on
    /// each node of a big cluster, and nearly every group has none due.
    #[inline(always)]
    pub(crate) fn scan(&mut self, nodes: &[Node], t: CronTimes, mut visit: impl FnMut(usize, &Node)) {
        let (now, nt) = (t.now, t.node_timeout);
        if self.machinery == Machinery::Plain {
            return scan_every(nodes, &mut visit);
        }
        if nt != self.timeout {
            self.notes.fill(ALWAYS);
            self.timeout = nt;
        }
        const GROUP: usize = 8;
        for (g, group) in self.notes.chunks_mut(GROUP).enumerate() {
            if !group.iter().fold(false, |due, &note| due | (now > note)) {
                continue;
            }
            for (k, note) in group.iter_mut().enumerate() {
                if now <= *note {
                    continue;
                }
                let i = g * GROUP + k;
                let n = &nodes[i];
                *note = note_of(n, nt);
                visit(i, n);
            }
        }
    }
}

/// The plain scan: every entry. Out of line, so that the fast scan's loop
/// is compiled as it was alone.
#[cold]
#[inline(never)]
fn scan_every(nodes: &[Node], visit: &mut dyn FnMut(usize, &Node)) {
    for (i, n) in nodes.iter().enumerate() {
        visit(i, n);
    }
}

static EMPTY_BITS: SlotBits = [0; SLOT_BYTES];

/// A node's slots as the bus carries them, derived from the owner table.
///
/// Fast: the last bitmap built, for one node (its own or its master's goes
/// into every header), with which 64-byte blocks have a slot set, kept
/// until [`SlotBitsCache::invalidate`] (any slot changing owner). Plain:
/// rebuilt on every [`SlotBitsCache::bits`], and no block mask. (The plain
/// cache files its last bitmap under [`SlotBitsCache::NOBODY`] with every
/// block, so that the fast path tests nothing more than it did alone.)
#[derive(Debug)]
pub(crate) struct SlotBitsCache {
    /// (node entry, bitmap, blocks with a slot set).
    cached: RefCell<Option<(usize, Box<SlotBits>, u32)>>,
    machinery: Machinery,
}

impl SlotBitsCache {
    /// Nothing cached.
    pub(crate) fn new(machinery: Machinery) -> SlotBitsCache {
        SlotBitsCache { cached: RefCell::new(None), machinery }
    }

    /// A slot changed owner.
    pub(crate) fn invalidate(&self) {
        self.cached.replace(None);
    }

    /// The node entry a plain cache files its bitmap under: none's.
    const NOBODY: usize = usize::MAX;

    /// Node `i`'s slots in the owner table `slots`.
    pub(crate) fn bits(&self, i: usize, slots: &[u32]) -> Ref<'_, SlotBits> {
        let fresh = matches!(&*self.cached.borrow(), Some((node, _, _)) if *node == i);
        if !fresh {
            let mut bits = Box::new([0; SLOT_BYTES]);
            let mut blocks = 0u32;
            let mut first = 0;
            while first < slots.len() {
                let end = super::run_end(slots, first);
                if slots[first] == i as u32 {
                    bus::set_range(&mut bits, first, end - 1);
                    // The 512-slot blocks from the run's first to its last.
                    blocks |= (u32::MAX >> (31 - (end - 1) / 512)) & (u32::MAX << (first / 512));
                }
                first = end;
            }
            *self.cached.borrow_mut() = Some(match self.machinery {
                Machinery::Fast => (i, bits, blocks),
                Machinery::Plain => (SlotBitsCache::NOBODY, bits, u32::MAX),
            });
        }
        Ref::map(self.cached.borrow(), |cache| match cache {
            Some((_, bits, _)) => &**bits,
            None => &EMPTY_BITS,
        })
    }

    /// Which 64-byte blocks of `bits` have a slot set (see
    /// [`bus::Header::slot_blocks`]), when `bits` is the bitmap
    /// [`SlotBitsCache::bits`] last built; every block otherwise, and always
    /// when plain.
    pub(crate) fn blocks(&self, bits: &SlotBits) -> u32 {
        match &*self.cached.borrow() {
            Some((_, cached, blocks)) if std::ptr::eq(&**cached, bits) => *blocks,
            _ => u32::MAX,
        }
    }

    /// What is wrong with the cached bitmap (or its block mask), if it is
    /// not the slots the owner table `slots` gives its node.
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn problem(&self, slots: &[u32]) -> Option<String> {
        let cached = self.cached.borrow();
        let (i, bits, blocks) = cached.as_ref().filter(|(i, _, _)| *i != SlotBitsCache::NOBODY)?;
        let mut want_blocks = 0u32;
        for (slot, &owner) in slots.iter().enumerate() {
            let owned = owner == *i as u32;
            if owned {
                want_blocks |= 1 << (slot / 512);
            }
            if bus::bit(bits, slot) != owned {
                return Some(format!(
                    "the cached bitmap of node entry {i} says slot {slot} is {}its, the owner table says {}",
                    if owned { "not " } else { "" },
                    if owned { "it is" } else { "it is not" }
                ));
            }
        }
        (*blocks != want_blocks).then(|| {
            format!("the cached bitmap of node entry {i} has blocks {blocks:#x}, its slots are in {want_blocks:#x}")
        })
    }
}

impl Identity {
    /// The copy of `self` a node holds: the thread's shared one
    /// ([`Identity::intern`]) or, plain, a copy of its own.
    pub(crate) fn share(self, machinery: Machinery) -> Rc<Identity> {
        match machinery {
            Machinery::Fast => self.intern(),
            Machinery::Plain => Rc::new(self),
        }
    }
}
