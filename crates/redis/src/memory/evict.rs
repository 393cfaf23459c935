//! `performEvictions` (evict.c): before a command, while `used_memory`
//! (less what is not counted for eviction) is above `maxmemory`, the
//! server deletes the key the policy picks here and propagates a DEL. LRU, LFU and TTL pick
//! through Redis's eviction pool of 16 candidates kept best-last across
//! calls, filled with `maxmemory-samples` keys a database from a random
//! position (`dictGetSomeKeys`); the random policies draw one key. Every
//! draw comes from the process's seeded stream.

use super::access::{idle_ms, lfu_decayed};
use super::policy::{MaxMemory, Policy};
use crate::keyspace::{Db, Exec, Feed};

/// `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// One candidate: the higher `idle`, the better to evict.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    idle: u64,
    key: Vec<u8>,
    db: usize,
}

/// The eviction state that lives across commands.
#[derive(Clone, Debug, Default)]
pub(crate) struct Evictor {
    /// `EvictionPoolLRU`, ascending idle.
    pool: Vec<Candidate>,
    /// The random policies' round-robin database (`next_db`).
    next_db: usize,
    /// `stat_evictedkeys` (INFO's `evicted_keys`).
    pub(crate) evicted_keys: u64,
}

/// Eviction could not bring memory under the limit: deny-oom commands get `-OOM`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OutOfMemory;

/// What an eviction run needs besides the databases and the pool.
pub(crate) struct Run<'a> {
    pub(crate) config: &'a MaxMemory,
    /// Masters propagate each eviction as a DEL.
    pub(crate) is_master: bool,
    pub(crate) now_ms: i64,
    /// The process's seeded stream.
    pub(crate) draw: &'a mut dyn FnMut() -> u64,
}

impl Evictor {
    /// Evicts the one key the policy picks and propagates its DEL (the
    /// caller flushes it, then calls again while memory is over the limit);
    /// the bytes freed, or `OutOfMemory` under noeviction or with no key to pick.
    pub(crate) fn evict_one(&mut self, dbs: &mut [Db], feed: &mut Feed, mut run: Run<'_>) -> Result<u64, OutOfMemory> {
        let picked = match run.config.policy {
            Policy::NoEviction => None,
            Policy::AllKeysRandom | Policy::VolatileRandom => self.pick_random(dbs, run.config.policy, run.draw),
            _ => self.pick_from_pool(dbs, &mut run),
        };
        let Some((db, key)) = picked else { return Err(OutOfMemory) };
        let freed = dbs[db].bytes_of(&key).max(1);
        let mut x = Exec::new(dbs, feed, run.is_master, db, run.now_ms);
        x.dbs[db].remove(&key);
        x.propagate(&[b"DEL".as_slice(), &key]);
        x.notify(crate::notify::EVICTED, "evicted", &key);
        self.evicted_keys += 1;
        Ok(freed)
    }

    /// `dictGetRandomKey` on the next non-empty database, round robin.
    fn pick_random(&mut self, dbs: &[Db], policy: Policy, draw: &mut dyn FnMut() -> u64) -> Option<(usize, Vec<u8>)> {
        for _ in 0..dbs.len() {
            self.next_db = (self.next_db + 1) % dbs.len();
            let db = &dbs[self.next_db];
            let len = if policy.volatile() { db.expires.len() } else { db.keys.len() };
            if len == 0 {
                continue;
            }
            let at = (draw() % len as u64) as usize;
            let key = if policy.volatile() { db.expires.keys().nth(at) } else { db.keys.keys().nth(at) };
            return key.map(|k| (self.next_db, k.clone()));
        }
        None
    }

    /// Fills the pool from every database, then takes the best candidate
    /// still present; `None` when no database has a key to sample.
    fn pick_from_pool(&mut self, dbs: &[Db], run: &mut Run<'_>) -> Option<(usize, Vec<u8>)> {
        let volatile = run.config.policy.volatile();
        loop {
            let mut total = 0;
            for (i, db) in dbs.iter().enumerate() {
                let len = if volatile { db.expires.len() } else { db.keys.len() };
                if len > 0 {
                    let start = (*run.draw)() as usize % len;
                    self.populate(i, db, start, run);
                    total += len;
                }
            }
            if total == 0 {
                return None;
            }
            while let Some(best) = self.pool.pop() {
                let db = &dbs[best.db];
                let present =
                    if volatile { db.expires.contains_key(&best.key) } else { db.keys.contains_key(&best.key) };
                if present {
                    return Some((best.db, best.key));
                }
            }
        }
    }

    /// `evictionPoolPopulate`: `maxmemory-samples` keys from `start` on
    /// (wrapping), each scored and inserted in idle order.
    fn populate(&mut self, dbid: usize, db: &Db, start: usize, run: &Run<'_>) {
        let samples = run.config.samples as usize;
        let sampled: Vec<&Vec<u8>> = if run.config.policy.volatile() {
            db.expires.keys().skip(start).chain(db.expires.keys()).take(samples.min(db.expires.len())).collect()
        } else {
            db.keys.keys().skip(start).chain(db.keys.keys()).take(samples.min(db.keys.len())).collect()
        };
        for key in sampled {
            let idle = score(db, key, run);
            self.insert(Candidate { idle, key: key.clone(), db: dbid });
        }
    }

    /// Inserts in ascending idle order; when full, a candidate better than
    /// the worst pushes the worst out, a worse one is dropped.
    fn insert(&mut self, c: Candidate) {
        let at = self.pool.iter().position(|p| p.idle >= c.idle).unwrap_or(self.pool.len());
        if self.pool.len() < POOL_SIZE {
            self.pool.insert(at, c);
        } else if at > 0 {
            self.pool.remove(0);
            self.pool.insert(at - 1, c);
        }
    }
}

/// A key's eviction score: idle ms (LRU), 255 less its decayed counter
/// (LFU), or how far its expire is from the end of time (TTL).
fn score(db: &Db, key: &[u8], run: &Run<'_>) -> u64 {
    let field = db.access_field(key).unwrap_or(0);
    match run.config.policy {
        Policy::AllKeysLfu | Policy::VolatileLfu => {
            255 - u64::from(lfu_decayed(field, run.now_ms, run.config.lfu_decay_time))
        }
        Policy::VolatileTtl => u64::MAX - db.expires.get(key).map_or(0, |&at| at.max(0) as u64),
        _ => idle_ms(field, run.now_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Data;

    fn db_with(keys: &[(&str, Option<i64>)]) -> Vec<Db> {
        let mut db = Db::default();
        for (k, ttl) in keys {
            db.insert(k.as_bytes().to_vec(), Data::Str(b"value"[..].into()));
            if let Some(at) = ttl {
                db.expires.insert(k.as_bytes().to_vec(), *at);
            }
        }
        super::super::keys::resync(&mut db, &Default::default(), 0);
        vec![db]
    }

    #[test]
    fn volatile_ttl_evicts_the_nearest_expire_first_and_propagates_del() {
        let mut dbs = db_with(&[("a", Some(9000)), ("b", Some(1000)), ("c", None), ("d", Some(5000))]);
        let mut feed = Feed { notify: crate::notify::parse("Ee").unwrap(), ..Feed::default() };
        let config = MaxMemory { policy: Policy::VolatileTtl, samples: 10, ..MaxMemory::default() };
        let mut n = 0u64;
        let mut draw = || {
            n += 1;
            n
        };
        let mut ev = Evictor::default();
        let mut evict = |dbs: &mut Vec<Db>, feed: &mut Feed| {
            let run = Run { config: &config, is_master: true, now_ms: 0, draw: &mut draw };
            ev.evict_one(dbs, feed, run)
        };
        assert!(evict(&mut dbs, &mut feed).is_ok());
        assert!(!dbs[0].keys.contains_key(b"b".as_slice()));
        assert_eq!(feed.bytes, b"*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n");
        // `notify-keyspace-events Ee`: the key is told of as evicted.
        let evicted: Vec<(&str, &[u8])> = feed.events.iter().map(|e| (e.name, e.key.as_slice())).collect();
        assert_eq!(evicted, [("evicted", b"b".as_slice())]);
        assert!(evict(&mut dbs, &mut feed).is_ok());
        assert!(evict(&mut dbs, &mut feed).is_ok());
        assert_eq!(evict(&mut dbs, &mut feed), Err(OutOfMemory), "c has no expire: nothing left");
        assert_eq!(dbs[0].keys.keys().collect::<Vec<_>>(), [b"c"]);
        assert_eq!(ev.evicted_keys, 3);
    }

    #[test]
    fn noeviction_refuses_and_the_pool_keeps_the_best_sixteen() {
        let mut dbs = db_with(&[("a", None)]);
        let config = MaxMemory::default();
        let mut draw = || 0;
        let run = Run { config: &config, is_master: true, now_ms: 0, draw: &mut draw };
        assert_eq!(Evictor::default().evict_one(&mut dbs, &mut Feed::default(), run), Err(OutOfMemory));
        let mut ev = Evictor::default();
        for idle in [5, 40, 1, 30, 2, 8, 13, 21, 34, 55, 89, 3, 7, 11, 17, 19, 23, 29] {
            ev.insert(Candidate { idle, key: Vec::new(), db: 0 });
        }
        let idles: Vec<u64> = ev.pool.iter().map(|c| c.idle).collect();
        assert_eq!(idles, [3, 5, 7, 8, 11, 13, 17, 19, 21, 23, 29, 30, 34, 40, 55, 89]);
    }
}
