//! The `maxmemory` directives: the limit, the eviction policy and the
//! sampling and LFU knobs, parsed and printed as Redis 7.0 does.

use super::access::Clock;

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Refuse writes (`-OOM`) instead of evicting.
    NoEviction,
    /// Approximated LRU among all keys.
    AllKeysLru,
    /// Approximated LRU among keys with an expire.
    VolatileLru,
    /// Approximated LFU among all keys.
    AllKeysLfu,
    /// Approximated LFU among keys with an expire.
    VolatileLfu,
    /// A random key.
    AllKeysRandom,
    /// A random key with an expire.
    VolatileRandom,
    /// The key with the nearest expire time.
    VolatileTtl,
}

/// The names in the order Redis lists them in its error.
const NAMES: [(&str, Policy); 8] = [
    ("volatile-lru", Policy::VolatileLru),
    ("volatile-lfu", Policy::VolatileLfu),
    ("volatile-random", Policy::VolatileRandom),
    ("volatile-ttl", Policy::VolatileTtl),
    ("allkeys-lru", Policy::AllKeysLru),
    ("allkeys-lfu", Policy::AllKeysLfu),
    ("allkeys-random", Policy::AllKeysRandom),
    ("noeviction", Policy::NoEviction),
];

impl Policy {
    /// Its config name.
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, p)| *p == self).map_or("noeviction", |(n, _)| n)
    }

    /// Samples only keys with an expire (`MAXMEMORY_FLAG_ALLKEYS` unset).
    pub(crate) fn volatile(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }

    /// An LFU policy (`MAXMEMORY_FLAG_LFU`).
    pub(crate) fn lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// An LRU or LFU policy: integers are not shared, each key needs its own
    /// access field (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`).
    pub(crate) fn no_shared_integers(self) -> bool {
        self.lfu() || matches!(self, Policy::AllKeysLru | Policy::VolatileLru)
    }
}

/// The `maxmemory` family of directives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxMemory {
    /// `maxmemory` in bytes (0: no limit).
    pub limit: u64,
    /// `maxmemory-policy`.
    pub policy: Policy,
    /// `maxmemory-samples`.
    pub samples: u64,
    /// `maxmemory-eviction-tenacity` (0..100).
    pub tenacity: u64,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u64,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_time: u64,
    /// `replica-ignore-maxmemory`.
    pub replica_ignore: bool,
}

impl Default for MaxMemory {
    fn default() -> MaxMemory {
        MaxMemory {
            limit: 0,
            policy: Policy::NoEviction,
            samples: 5,
            tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            replica_ignore: true,
        }
    }
}

/// The directives, in the order CONFIG GET lists them, with their old alias.
pub(crate) const DIRECTIVES: [(&str, Option<&str>); 7] = [
    ("maxmemory", None),
    ("maxmemory-policy", None),
    ("maxmemory-samples", None),
    ("maxmemory-eviction-tenacity", None),
    ("lfu-log-factor", None),
    ("lfu-decay-time", None),
    ("replica-ignore-maxmemory", Some("slave-ignore-maxmemory")),
];

impl MaxMemory {
    /// Sets a directive of [`DIRECTIVES`] from its one argument; the error is Redis's.
    pub(crate) fn apply(&mut self, name: &str, arg: &str) -> Result<(), String> {
        let int = |min: u64, max: u64| -> Result<u64, String> {
            let n: i64 = arg.parse().map_err(|_| "argument couldn't be parsed into an integer".to_owned())?;
            if n < min as i64 || n as u64 > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(n as u64)
        };
        match name {
            "maxmemory" => self.limit = crate::config::memory(arg)?,
            "maxmemory-policy" => {
                self.policy =
                    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(arg)).map(|(_, p)| *p).ok_or_else(|| {
                        let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                        format!("argument(s) must be one of the following: {}", names.join(", "))
                    })?;
            }
            "maxmemory-samples" => self.samples = int(1, i32::MAX as u64)?,
            "maxmemory-eviction-tenacity" => self.tenacity = int(0, 100)?,
            "lfu-log-factor" => self.lfu_log_factor = int(0, i32::MAX as u64)?,
            "lfu-decay-time" => self.lfu_decay_time = int(0, i32::MAX as u64)?,
            "replica-ignore-maxmemory" => {
                self.replica_ignore = match arg.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err("argument must be 'yes' or 'no'".to_owned()),
                }
            }
            _ => unreachable!("redis: {name} is no maxmemory directive"),
        }
        Ok(())
    }

    /// CONFIG GET's value of a directive of [`DIRECTIVES`].
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "maxmemory" => self.limit.to_string(),
            "maxmemory-policy" => self.policy.name().to_owned(),
            "maxmemory-samples" => self.samples.to_string(),
            "maxmemory-eviction-tenacity" => self.tenacity.to_string(),
            "lfu-log-factor" => self.lfu_log_factor.to_string(),
            "lfu-decay-time" => self.lfu_decay_time.to_string(),
            "replica-ignore-maxmemory" => if self.replica_ignore { "yes" } else { "no" }.to_owned(),
            _ => return None,
        })
    }

    /// The clock lookups keep under the current policy.
    pub(crate) fn clock(&self) -> Clock {
        if self.policy.lfu() {
            Clock::Lfu { log_factor: self.lfu_log_factor, decay_time: self.lfu_decay_time }
        } else {
            Clock::Lru
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_redis_texts() {
        let mut m = MaxMemory::default();
        assert_eq!(
            m.apply("maxmemory-policy", "foo"),
            Err("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".to_owned())
        );
        assert_eq!(
            m.apply("maxmemory-samples", "0"),
            Err("argument must be between 1 and 2147483647 inclusive".to_owned())
        );
        assert_eq!(
            m.apply("maxmemory-eviction-tenacity", "101"),
            Err("argument must be between 0 and 100 inclusive".to_owned())
        );
        assert_eq!(m.apply("maxmemory", "10xb"), Err("argument must be a memory value".to_owned()));
        assert_eq!(m.apply("maxmemory", "1gb"), Ok(()));
        assert_eq!(m.get("maxmemory").as_deref(), Some("1073741824"));
        assert_eq!(m.apply("maxmemory-policy", "ALLKEYS-LFU"), Ok(()));
        assert_eq!(m.get("maxmemory-policy").as_deref(), Some("allkeys-lfu"));
        assert!(matches!(m.clock(), Clock::Lfu { log_factor: 10, decay_time: 1 }));
    }
}
