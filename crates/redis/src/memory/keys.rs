//! Per database, what each key adds to `used_memory` and its access field,
//! kept beside the keyspace: set by the keys a command names (its key
//! positions) after it runs, dropped by [`crate::keyspace::Db::remove`], and
//! resynchronised whole when keys came or went behind its back (the count
//! differs), as the slot index is.

use super::access::Access;
use crate::keyspace::Db;
use std::collections::BTreeMap;

/// How many elements of an aggregate the running total samples per change
/// (a write costs this much, never the aggregate's length).
pub(crate) const TRACK_SAMPLES: usize = 64;

/// One key's entry.
#[derive(Clone, Copy, Debug)]
struct Meta {
    /// Redis's `robj.lru` ([`super::access`]).
    field: u32,
    /// What the key adds to `used_memory` ([`super::size::allocated`]).
    bytes: u64,
}

/// The entries of one database and their total.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMeta {
    entries: BTreeMap<Vec<u8>, Meta>,
    bytes: u64,
}

impl KeyMeta {
    /// Forgets a removed key.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        if let Some(m) = self.entries.remove(key) {
            self.bytes -= m.bytes;
        }
    }

    /// Forgets every key (FLUSHDB).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// A key's access field, if it is tracked.
    pub(crate) fn field(&self, key: &[u8]) -> Option<u32> {
        self.entries.get(key).map(|m| m.field)
    }

    /// What a tracked key adds to `used_memory` (0 if untracked).
    pub(crate) fn bytes_of(&self, key: &[u8]) -> u64 {
        self.entries.get(key).map_or(0, |m| m.bytes)
    }

    /// The keys' values and entries, in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    fn set(&mut self, key: &[u8], field: u32, bytes: u64) {
        match self.entries.get_mut(key) {
            Some(m) => {
                self.bytes = self.bytes - m.bytes + bytes;
                *m = Meta { field, bytes };
            }
            None => {
                self.bytes += bytes;
                self.entries.insert(key.to_vec(), Meta { field, bytes });
            }
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
        let Some(data) = db.keys.get(key) else {
            db.meta.remove(key);
            continue;
        };
        let old = db.meta.entries.get(key).copied();
        let field = match old {
            None => access.created(now_ms),
            Some(m) if touch => access.touched(m.field, now_ms),
            Some(m) => m.field,
        };
        let bytes = match old {
            Some(m) if !write => m.bytes,
            _ => super::size::allocated(key, data, db.big.contains(key), TRACK_SAMPLES),
        };
        db.meta.set(key, field, bytes);
    }
}

/// Brings `db`'s entries in line with its keys if the counts differ: gone
/// keys forgotten, new ones measured with a fresh field. O(keys), rare.
pub(crate) fn resync(db: &mut Db, access: &Access, now_ms: i64) {
    if db.meta.entries.len() == db.keys.len() {
        return;
    }
    let gone: Vec<Vec<u8>> = db.meta.entries.keys().filter(|k| !db.keys.contains_key(k)).cloned().collect();
    for key in gone {
        db.meta.remove(&key);
    }
    let fresh: Vec<(Vec<u8>, u64)> = db
        .keys
        .iter()
        .filter(|(k, _)| !db.meta.entries.contains_key(*k))
        .map(|(k, v)| (k.clone(), super::size::allocated(k, v, db.big.contains(k), TRACK_SAMPLES)))
        .collect();
    for (key, bytes) in fresh {
        db.meta.set(&key, access.created(now_ms), bytes);
    }
}
