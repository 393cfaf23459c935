//! WATCH's bookkeeping (multi.c's `watched_keys`, `touchWatchedKey`,
//! `touchAllWatchedKeysInDb`, `isWatchedKeyExpired`): which client watches
//! which key, and which clients' EXEC must fail (`CLIENT_DIRTY_CAS`).
//!
//! Every change to the dataset is propagated ([`crate::keyspace::Exec::propagate`],
//! on a replica too, where the feed is off): the keys of each propagated
//! command are the keys a write touched, so that one place catches a
//! client's writes, EXEC's, a script's, expiry's DELs and a replica's applied
//! stream. A flush or SWAPDB touches whole databases and says so before it
//! empties them ([`Watches::flushing`], [`Watches::swapping`]).

use crate::keyspace::Db;
use std::collections::{BTreeMap, BTreeSet};

/// One watcher of a key: its client, and whether the key had already
/// expired when it was watched (then its deletion is no change).
#[derive(Clone, Copy, Debug)]
struct Watcher {
    client: u64,
    expired: bool,
}

/// What became of a touched key.
#[derive(Clone, Copy, Debug)]
struct Touch {
    /// It was there before (only a SWAPDB can say no).
    existed: bool,
    /// It is there after.
    exists: bool,
    /// What is there after has expired (a SWAPDB can bring an expired key in).
    expired: bool,
}

/// Every client's watched keys.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    /// Per (database, key), its watchers in the order they watched.
    keys: BTreeMap<(usize, Vec<u8>), Vec<Watcher>>,
    /// Per client, the keys it watches.
    clients: BTreeMap<u64, Vec<(usize, Vec<u8>)>>,
    /// Clients one of whose watched keys was touched (they watch nothing since).
    dirty: BTreeSet<u64>,
}

impl Watches {
    /// Whether no client watches anything: writes need not look.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// WATCH of `key` in `db` by `client`; `expired`: its time has passed.
    pub(crate) fn watch(&mut self, client: u64, db: usize, key: &[u8], expired: bool) {
        let mine = self.clients.entry(client).or_default();
        if mine.iter().any(|(d, k)| *d == db && k == key) {
            return;
        }
        mine.push((db, key.to_vec()));
        self.keys.entry((db, key.to_vec())).or_default().push(Watcher { client, expired });
    }

    /// Whether `client`'s EXEC must fail: a watched key was touched, or has
    /// expired since it was watched (`isWatchedKeyExpired`).
    pub(crate) fn dirty(&self, client: u64, dbs: &[Db], now_ms: i64) -> bool {
        if self.dirty.contains(&client) {
            return true;
        }
        let Some(mine) = self.clients.get(&client) else { return false };
        mine.iter().any(|(db, key)| {
            let expired_then =
                self.keys.get(&(*db, key.clone())).into_iter().flatten().any(|w| w.client == client && w.expired);
            !expired_then && dbs.get(*db).is_some_and(|d| d.keys.contains_key(key) && d.is_expired(key, now_ms))
        })
    }

    /// UNWATCH, and what EXEC, DISCARD, RESET and a closed connection do:
    /// nothing watched, not dirty.
    pub(crate) fn forget(&mut self, client: u64) {
        self.dirty.remove(&client);
        self.unwatch(client);
    }

    fn unwatch(&mut self, client: u64) {
        for key in self.clients.remove(&client).unwrap_or_default() {
            if let Some(watchers) = self.keys.get_mut(&key) {
                watchers.retain(|w| w.client != client);
                if watchers.is_empty() {
                    self.keys.remove(&key);
                }
            }
        }
    }

    /// A write touched `key` in `db` (`touchWatchedKey`); `exists`: it is there now.
    pub(crate) fn touched(&mut self, db: usize, key: &[u8], exists: bool) {
        self.apply(db, key, Touch { existed: true, exists, expired: false });
    }

    /// `db` is about to be emptied (FLUSHDB, FLUSHALL, a replica's full sync):
    /// its watched keys that exist are touched.
    pub(crate) fn flushing(&mut self, db: usize, before: &Db) {
        for key in self.watched_in(db) {
            if before.keys.contains_key(&key) {
                self.apply(db, &key, Touch { existed: true, exists: false, expired: false });
            }
        }
    }

    /// Database `db`'s contents are about to be replaced by `after`'s (SWAPDB,
    /// once for each side): a watched key in either is touched.
    pub(crate) fn swapping(&mut self, db: usize, before: &Db, after: &Db, now_ms: i64) {
        for key in self.watched_in(db) {
            let (existed, exists) = (before.keys.contains_key(&key), after.keys.contains_key(&key));
            if existed || exists {
                let expired = exists && after.is_expired(&key, now_ms);
                self.apply(db, &key, Touch { existed, exists, expired });
            }
        }
    }

    fn watched_in(&self, db: usize) -> Vec<Vec<u8>> {
        self.keys.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect()
    }

    /// `touchWatchedKey` and `touchAllWatchedKeysInDb` for each watcher of the key.
    fn apply(&mut self, db: usize, key: &[u8], touch: Touch) {
        let Some(watchers) = self.keys.get_mut(&(db, key.to_vec())) else { return };
        let mut dirtied = Vec::new();
        for w in watchers.iter_mut() {
            match (w.expired, touch) {
                // An expired key now gone: logically no change.
                (true, Touch { exists: false, .. }) => w.expired = false,
                // Still expired after a swap.
                (true, Touch { expired: true, .. }) => {}
                // A missing key replaced by an expired one: still logically missing.
                (false, Touch { existed: false, expired: true, .. }) => w.expired = true,
                _ => dirtied.push(w.client),
            }
        }
        for client in dirtied {
            self.dirty.insert(client);
            self.unwatch(client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Watches;
    use crate::keyspace::{Data, Db};

    fn db_with(keys: &[(&str, Option<i64>)]) -> Db {
        let mut db = Db::default();
        for (k, at) in keys {
            db.insert(k.as_bytes().to_vec(), Data::Str(b"v"[..].into()));
            if let Some(at) = at {
                db.expires.insert(k.as_bytes().to_vec(), *at);
            }
        }
        db
    }

    #[test]
    fn a_touch_dirties_every_watcher_of_that_key_only() {
        let mut w = Watches::default();
        w.watch(1, 0, b"k", false);
        w.watch(2, 0, b"k", false);
        w.watch(3, 1, b"k", false);
        w.touched(0, b"k", true);
        let dbs = [Db::default(), Db::default()];
        assert!(w.dirty(1, &dbs, 0) && w.dirty(2, &dbs, 0));
        assert!(!w.dirty(3, &dbs, 0), "another database's key");
        w.forget(1);
        assert!(!w.dirty(1, &dbs, 0));
        w.forget(3);
        assert!(w.is_empty(), "a dirtied client watches nothing more");
        assert!(w.dirty(2, &dbs, 0), "until it forgets, it stays dirty");
    }

    #[test]
    fn an_expired_key_is_dirty_unless_it_had_expired_when_watched() {
        let dbs = [db_with(&[("k", Some(100))])];
        let mut w = Watches::default();
        w.watch(1, 0, b"k", false);
        w.watch(2, 0, b"k", true);
        assert!(!w.dirty(1, &dbs, 99));
        assert!(w.dirty(1, &dbs, 100) && !w.dirty(2, &dbs, 100));
        // Its deletion by expiry is no change for the one that watched it expired.
        w.touched(0, b"k", false);
        assert!(w.dirty(1, &dbs, 0) && !w.dirty(2, &dbs, 0));
        // After which it counts as missing: a new value is a change.
        w.touched(0, b"k", true);
        assert!(w.dirty(2, &dbs, 0));
    }

    #[test]
    fn flushes_and_swaps_touch_what_exists() {
        let full = db_with(&[("a", None), ("gone", Some(5))]);
        let mut w = Watches::default();
        w.watch(1, 0, b"a", false);
        w.watch(2, 0, b"missing", false);
        w.watch(3, 0, b"gone", true);
        w.flushing(0, &full);
        let dbs = [Db::default()];
        assert!(w.dirty(1, &dbs, 0) && !w.dirty(2, &dbs, 0) && !w.dirty(3, &dbs, 0));
        let mut w = Watches::default();
        w.watch(1, 0, b"missing", false);
        w.watch(2, 0, b"x", false);
        let other = db_with(&[("missing", Some(5)), ("x", None)]);
        w.swapping(0, &Db::default(), &other, 10);
        assert!(!w.dirty(1, &dbs, 10), "an expired key swapped in is still missing");
        assert!(w.dirty(2, &dbs, 10));
    }
}
