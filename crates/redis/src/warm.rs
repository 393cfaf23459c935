//! Looking a batch's keys up before running it.
//!
//! A pipeline from a client, and above all a chunk of a master's replication
//! stream, holds several commands. In a keyspace too big for the cache each
//! command's first lookup waits for memory, and with a command's work between
//! two lookups the waits come one after another. Looking every key of the
//! batch up first ([`crate::keymap::KeyMap::warm`]) lets the waits overlap;
//! the commands then find their entries in the cache. Nothing a command does
//! or replies changes: the look only reads.

use crate::command_table::{Keys, lookup};
use crate::commands::{NAME_MAX, lowercase_name};
use crate::keymap::{KeyHash, WARM_MAX};
use crate::keyspace::Db;

/// Below this many keys the table stays in the cache on its own (a few
/// megabytes): looking ahead would cost instructions and save nothing.
const MIN_KEYS: usize = 1 << 16;

/// Looks up, in `db`, the first key of each command `ahead` gives, when the
/// command's first argument is its first key: their hashes first (work on
/// the request bytes, already in the cache), then the table's reads, all
/// together ([`crate::keymap::KeyMap::warm`]).
pub(crate) fn warm_keys(db: &Db, ahead: resp::Ahead<'_>) {
    if db.keys.len() < MIN_KEYS {
        return;
    }
    let mut hashes = [KeyHash::default(); WARM_MAX];
    let mut n = 0;
    // A pipeline repeats a few names: the last one's answer is kept.
    let mut last: (&[u8], bool) = (&[], false);
    for (name, first) in ahead.take(WARM_MAX) {
        if name != last.0 {
            last = (name, first_key_is_first_argument(name));
        }
        if last.1 {
            hashes[n] = KeyHash::of(first);
            n += 1;
        }
    }
    db.keys.warm(&hashes[..n]);
}

/// Whether the command named `name` (as sent) has its first key as its first argument.
fn first_key_is_first_argument(name: &[u8]) -> bool {
    let mut buf = [0u8; NAME_MAX];
    let name = lowercase_name(name, &mut buf);
    lookup(name).is_some_and(|c| matches!(c.keys, Keys::Range { first: 1, .. }))
}
