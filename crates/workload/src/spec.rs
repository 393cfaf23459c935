//! What a workload does, as plain data: which client kind talks to which
//! nodes, the operations and their keys, the pace, and the client's timeouts
//! and retries (named, with their defaults, after redis-py's).

use sim::Rng;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

/// How the clients find the node that serves a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One node, as redis-py's `Redis(host, port)`.
    Redis(SocketAddrV4),
    /// A cluster, as redis-py's `RedisCluster(startup_nodes=...)`: the slot map
    /// from `CLUSTER SLOTS` of the first seed that answers, refreshed after a
    /// MOVED or a connection error; ASK followed with ASKING.
    Cluster(Vec<SocketAddrV4>),
    /// A monitored group, as redis-py's `Sentinel(sentinels).master_for(name)`:
    /// the master's address from the first Sentinel that knows it, asked again
    /// after a connection error or a READONLY reply.
    Sentinel {
        /// The Sentinels, asked in order.
        sentinels: Vec<SocketAddrV4>,
        /// The master's name (`sentinel monitor <name> ...`).
        master: String,
    },
}

/// The data type the workload exercises, and so its operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `SET k v` (every value unique) and `GET k`.
    Register,
    /// `INCR k` and `GET k`.
    Counter,
    /// `SADD k e` (every element unique) and `SMEMBERS k`.
    Set,
    /// `RPUSH k e` (every element unique) and `LRANGE k 0 -1`.
    List,
}

impl Model {
    /// The history's read and write operations of this model.
    pub fn fs(self) -> (check::F, check::F) {
        use check::F;
        match self {
            Model::Register => (F::Read, F::Write),
            Model::Counter => (F::ReadCounter, F::Incr),
            Model::Set => (F::ReadSet, F::Add),
            Model::List => (F::ReadList, F::Append),
        }
    }
}

/// How keys are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Keys {
    /// Each of the keys equally likely. (Keys are shared: a history names
    /// one in each of its events.)
    Uniform(Vec<Arc<str>>),
    /// Key `i` (0-based) drawn with weight `1/(i+1)^s`: a few hot keys.
    Zipf {
        /// The keys, hottest first.
        keys: Vec<Arc<str>>,
        /// Cumulative weights, normalised to end at 1.
        cdf: Vec<f64>,
    },
}

impl Keys {
    /// Zipf-distributed keys with exponent `s`.
    pub fn zipf(keys: Vec<Arc<str>>, s: f64) -> Keys {
        let weights: Vec<f64> = (0..keys.len()).map(|i| 1.0 / ((i + 1) as f64).powf(s)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Keys::Zipf { keys, cdf }
    }

    /// Every key, for the final reads.
    pub fn all(&self) -> &[Arc<str>] {
        match self {
            Keys::Uniform(k) | Keys::Zipf { keys: k, .. } => k,
        }
    }

    /// Draws one key.
    pub fn draw(&self, rng: &mut Rng) -> &Arc<str> {
        match self {
            Keys::Uniform(k) => &k[rng.below(k.len() as u64) as usize],
            Keys::Zipf { keys, cdf } => {
                let u = rng.unit();
                let i = cdf.iter().position(|&c| u < c).unwrap_or(keys.len() - 1);
                &keys[i]
            }
        }
    }
}

/// When a client starts its next operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Open loop: one operation every interval whatever the replies; a tick
    /// that finds the previous operation still waiting is skipped (and
    /// counted), since a client has one operation outstanding, as a
    /// synchronous redis-py client does.
    Every(Duration),
    /// Closed loop: the next operation this long after the previous one ended.
    Think(Duration),
}

/// `WAIT numreplicas timeout` after every write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Replicas that must acknowledge.
    pub replicas: u32,
    /// WAIT's timeout in milliseconds (0: forever).
    pub timeout_ms: u64,
}

/// redis-py 4.x's `Redis()`: `retry_on_timeout=False` gives `Retry(NoBackoff(), 0)`.
pub const REDIS_PY_RETRIES: u32 = 0;
/// redis-py's `RedisCluster(cluster_error_retry_attempts=3)`.
pub const REDIS_PY_CLUSTER_RETRIES: u32 = 3;

/// A whole workload's plan, shared by its clients.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The workload's name (for the trace).
    pub name: String,
    /// Where the commands go.
    pub target: Target,
    /// The operations.
    pub model: Model,
    /// The share of operations that are reads, 0 to 1.
    pub read_fraction: f64,
    /// The keys.
    pub keys: Keys,
    /// The pace of each client.
    pub pace: Pace,
    /// redis-py's `socket_connect_timeout` (default `None`: the kernel's own).
    pub connect_timeout: Option<Duration>,
    /// redis-py's `socket_timeout` (default `None`: wait for ever).
    pub socket_timeout: Option<Duration>,
    /// How many times a command is sent again after a connection error or a
    /// timeout ([`REDIS_PY_RETRIES`], [`REDIS_PY_CLUSTER_RETRIES`]).
    pub retries: u32,
    /// `WAIT` after each write.
    pub wait: Option<Wait>,
    /// How many times the final reader tries a key before giving up on it.
    pub final_read_attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<Arc<str>> {
        (0..n).map(|i| format!("k{i}").into()).collect()
    }

    #[test]
    fn zipf_keys_favour_the_first_and_repeat_with_the_seed() {
        let z = Keys::zipf(keys(10), 1.0);
        let mut counts = [0u32; 10];
        let mut rng = Rng::stream(7, "proc:w#0");
        let drawn: Vec<Arc<str>> = (0..20_000).map(|_| Arc::clone(z.draw(&mut rng))).collect();
        for k in &drawn {
            counts[k[1..].parse::<usize>().unwrap()] += 1;
        }
        // Weight 1/(i+1) over H(10) = 2.929: k0 about 34 %, k9 about 3.4 %.
        assert!((6_200..7_400).contains(&counts[0]), "{counts:?}");
        assert!((500..900).contains(&counts[9]), "{counts:?}");
        assert!(counts.windows(2).filter(|w| w[0] < w[1]).count() <= 2, "mostly decreasing: {counts:?}");
        let mut again = Rng::stream(7, "proc:w#0");
        assert!(drawn.iter().all(|k| z.draw(&mut again) == k), "same stream, same keys");
    }

    #[test]
    fn uniform_keys_cover_every_key() {
        let u = Keys::Uniform(keys(4));
        let mut rng = Rng::stream(1, "x");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(u.draw(&mut rng).to_owned());
        }
        assert_eq!(seen.len(), 4);
        assert_eq!(u.all(), keys(4).as_slice());
    }
}
