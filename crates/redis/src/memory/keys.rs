//! Per database, what each key adds to `used_memory` and its access field:
//! a [`Meta`] kept in the key's own [`crate::keymap::KeyMap`] entry (one
//! lookup finds both), set by the keys a command names (its key positions)
//! after it runs, dropped with the key by [`crate::keyspace::Db::remove`],
//! and the totals resynchronised whole when keys came or went behind its
//! back (the counts differ), as the slot index is.

use super::access::Access;
use crate::keyspace::{Data, Db};

/// How many elements of an aggregate the running total samples per change
/// (a write costs this much, never the aggregate's length).
pub(crate) const TRACK_SAMPLES: usize = 64;

/// One key's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Redis's `robj.lru` ([`super::access`]).
    pub(crate) field: u32,
    /// What the key adds to `used_memory` ([`super::size::allocated`]).
    pub(crate) bytes: u64,
}

/// The totals of one database's measured keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMeta {
    /// How many keys carry a [`Meta`] (as far as this count saw them come and go).
    tracked: usize,
    bytes: u64,
}

impl KeyMeta {
    /// Forgets a removed key's bookkeeping.
    pub(crate) fn removed(&mut self, meta: Option<Meta>) {
        if let Some(m) = meta {
            self.tracked -= 1;
            self.bytes -= m.bytes;
        }
    }

    /// Forgets every key (FLUSHDB).
    pub(crate) fn clear(&mut self) {
        *self = KeyMeta::default();
    }

    /// The keys' values and entries, in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Db {
    /// A key's access field, if it is tracked.
    pub(crate) fn access_field(&self, key: &[u8]) -> Option<u32> {
        self.keys.meta(key).map(|m| m.field)
    }

    /// What a tracked key adds to `used_memory` (0 if untracked).
    pub(crate) fn bytes_of(&self, key: &[u8]) -> u64 {
        self.keys.meta(key).map_or(0, |m| m.bytes)
    }

    fn set_meta(&mut self, key: &[u8], meta: Meta) {
        match self.keys.set_meta(key, meta) {
            Some(Some(old)) => self.meta.bytes = self.meta.bytes - old.bytes + meta.bytes,
            Some(None) => {
                self.meta.tracked += 1;
                self.meta.bytes += meta.bytes;
            }
            None => {}
        }
    }
}

/// After a command ran on `db`: each key it names is looked up (`touch`:
/// its access field updated, or created for a new key) and, after a
/// `write`, measured again; a key that is gone is forgotten.
pub(crate) fn after_command<'k>(
    db: &mut Db,
    keys: impl Iterator<Item = &'k [u8]>,
    touch: bool,
    write: bool,
    access: &mut Access,
    now_ms: i64,
) {
    for key in keys {
        let big = &db.big;
        let measure = |data: &Data, old: Option<Meta>| {
            let field = match old {
                None => access.created(now_ms),
                Some(m) if touch => access.touched(m.field, now_ms),
                Some(m) => m.field,
            };
            let bytes = match old {
                Some(m) if !write => m.bytes,
                _ => super::size::allocated(key, data, big.contains(key), TRACK_SAMPLES),
            };
            Meta { field, bytes }
        };
        let Some((old, Meta { bytes, .. })) = db.keys.update_meta(key, measure) else { continue };
        match old {
            Some(m) => db.meta.bytes = db.meta.bytes - m.bytes + bytes,
            None => {
                db.meta.tracked += 1;
                db.meta.bytes += bytes;
            }
        }
    }
}

/// Brings `db`'s totals in line with its keys if the counts differ (keys
/// came or went without [`Db::remove`]): summed again, and keys without
/// bookkeeping measured with a fresh field. O(keys), rare.
pub(crate) fn resync(db: &mut Db, access: &Access, now_ms: i64) {
    if db.meta.tracked == db.keys.len() {
        return;
    }
    let mut totals = KeyMeta::default();
    let mut fresh: Vec<(Vec<u8>, u64)> = Vec::new();
    for (key, data, meta) in db.keys.metas_unordered() {
        match meta {
            Some(m) => {
                totals.tracked += 1;
                totals.bytes += m.bytes;
            }
            None => fresh.push((key.to_vec(), super::size::allocated(key, data, db.big.contains(key), TRACK_SAMPLES))),
        }
    }
    db.meta = totals;
    for (key, bytes) in fresh {
        db.set_meta(&key, Meta { field: access.created(now_ms), bytes });
    }
}
