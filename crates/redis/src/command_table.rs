//! The one command table (Redis's `redisCommandTable`, generated there from
//! `src/commands/*.json`): each command's name, arity, the flags the gating
//! reads, where its keys are for cluster routing, and the part of the server
//! that runs it. Dispatch, the gates ([`crate::server::check`], MULTI and
//! subscribed mode) and cluster routing all read it.
//!
//! The arities are Redis 7.0's. The flags are the subset of Redis's command
//! flags this node's gates use, set as this node has always gated (see
//! [`STALE`] for where that is narrower than Redis 7.0).

/// Modifies the dataset (`write`): refused on read-only replicas and without
/// enough good replicas, held during a manual failover's pause.
pub(crate) const WRITE: u16 = 1 << 0;
/// Runs before authentication (`no_auth`).
pub(crate) const NO_AUTH: u16 = 1 << 1;
/// Runs on a replica whose master link is down while
/// `replica-serve-stale-data no` (`stale`). Redis 7.0 sets `stale` on more
/// commands (HELLO, COMMAND, READONLY, most CLUSTER subcommands, ...); this
/// node has always let only these through, so traces keep that.
pub(crate) const STALE: u16 = 1 << 2;
/// Runs on an importing slot without ASKING (`asking`: RESTORE-ASKING).
pub(crate) const ASKING: u16 = 1 << 4;
/// Allowed to a RESP2 client in subscribed mode (processCommand's list of
/// procs: the (un)subscribe commands, PING, QUIT, RESET).
pub(crate) const SUBSCRIBED_OK: u16 = 1 << 3;

/// The part of the server that runs a command; each has its own `match` on
/// the names it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handler {
    /// [`crate::commands::keyspace`], run with the client left in place (the fast path).
    Keyspace,
    /// DUMP, RESTORE, MIGRATE ([`crate::migrate`]).
    Migrate,
    /// The client's own connection: QUIT, AUTH, HELLO, SELECT, CLIENT.
    Connection,
    /// The server as a whole: INFO, CONFIG, ROLE, DEBUG, COMMAND, SHUTDOWN.
    Server,
    /// SAVE, BGSAVE, LASTSAVE ([`crate::persistence`]).
    Persistence,
    /// REPLICAOF, REPLCONF, PSYNC, SYNC, WAIT ([`crate::replication`]).
    Replication,
    /// MULTI, EXEC, DISCARD ([`crate::multi`]).
    Transaction,
    /// PUBLISH, (P)SUBSCRIBE, (P)UNSUBSCRIBE, PUBSUB ([`crate::pubsub`]).
    PubSub,
    /// CLUSTER, ASKING, READONLY, READWRITE ([`crate::cluster::commands`]).
    Cluster,
}

/// Where a command's keys are, Redis 7.0's key specs reduced to what
/// routing needs (`getKeysFromCommand`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keys {
    /// No keys (or none this node routes by).
    None,
    /// Keys from `first` to `last` (negative counts from the end) by `step`.
    Range { first: u8, last: i8, step: u8 },
    /// OBJECT <subcommand> key: the key is the third argument, when there is one.
    Subcommand,
    /// MIGRATE host port key|"" db timeout [... KEYS k1 k2 ...].
    Migrate,
}

impl Keys {
    /// (first, last, step) of `args`' keys, `last < 0` counting from the end;
    /// `None` when the command has no keys.
    pub(crate) fn positions(self, args: &[Vec<u8>]) -> Option<(usize, i64, usize)> {
        match self {
            Keys::None => None,
            Keys::Range { first, last, step } => Some((first.into(), last.into(), step.into())),
            Keys::Subcommand => (args.len() >= 3).then_some((2, 2, 1)),
            Keys::Migrate => match args.get(3) {
                Some(k) if k.is_empty() => {
                    let at = args.iter().position(|a| a.eq_ignore_ascii_case(b"keys"))?;
                    Some((at + 1, -1, 1))
                }
                _ => Some((3, 3, 1)),
            },
        }
    }
}

/// One command: `redisCommand`'s fields this node reads.
#[derive(Debug)]
pub(crate) struct Command {
    /// Lowercase, as looked up.
    pub(crate) name: &'static str,
    /// Redis's arity: positive means exactly, negative means at least.
    pub(crate) arity: i32,
    /// [`WRITE`], [`NO_AUTH`], [`STALE`], [`SUBSCRIBED_OK`], [`ASKING`].
    pub(crate) flags: u16,
    /// Where its keys are.
    pub(crate) keys: Keys,
    /// Who runs it.
    pub(crate) handler: Handler,
}

impl Command {
    /// Whether it has `flag`.
    pub(crate) const fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// Whether it modifies the dataset.
    pub(crate) const fn write(&self) -> bool {
        self.has(WRITE)
    }
}

const KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const ALL_KEYS: Keys = Keys::Range { first: 1, last: -1, step: 1 };

const fn cmd(name: &'static str, arity: i32, flags: u16, keys: Keys, handler: Handler) -> Command {
    Command { name, arity, flags, keys, handler }
}

use Handler as H;

/// Every command this node knows, in name order.
const COMMANDS: &[Command] = &[
    cmd("append", 3, WRITE, KEY, H::Keyspace),
    cmd("asking", 1, 0, Keys::None, H::Cluster),
    cmd("auth", -2, NO_AUTH | STALE, Keys::None, H::Connection),
    cmd("bgsave", -1, 0, Keys::None, H::Persistence),
    cmd("client", -2, 0, Keys::None, H::Connection),
    cmd("cluster", -2, 0, Keys::None, H::Cluster),
    cmd("command", -1, 0, Keys::None, H::Server),
    cmd("config", -2, STALE, Keys::None, H::Server),
    cmd("dbsize", 1, 0, Keys::None, H::Keyspace),
    cmd("debug", -2, 0, Keys::None, H::Server),
    cmd("decr", 2, WRITE, KEY, H::Keyspace),
    cmd("decrby", 3, WRITE, KEY, H::Keyspace),
    cmd("del", -2, WRITE, ALL_KEYS, H::Keyspace),
    cmd("discard", 1, 0, Keys::None, H::Transaction),
    cmd("dump", 2, 0, KEY, H::Migrate),
    cmd("echo", 2, 0, Keys::None, H::Keyspace),
    cmd("exec", 1, 0, Keys::None, H::Transaction),
    cmd("exists", -2, 0, ALL_KEYS, H::Keyspace),
    cmd("expire", -3, WRITE, KEY, H::Keyspace),
    cmd("expireat", -3, WRITE, KEY, H::Keyspace),
    // Not routed yet, though Redis routes them (key at 1).
    cmd("expiretime", 2, 0, Keys::None, H::Keyspace),
    cmd("flushall", -1, WRITE, Keys::None, H::Keyspace),
    cmd("flushdb", -1, WRITE, Keys::None, H::Keyspace),
    cmd("get", 2, 0, KEY, H::Keyspace),
    cmd("getset", 3, WRITE, KEY, H::Keyspace),
    cmd("hdel", -3, WRITE, KEY, H::Keyspace),
    cmd("hello", -1, NO_AUTH, Keys::None, H::Connection),
    cmd("hget", 3, 0, KEY, H::Keyspace),
    cmd("hgetall", 2, 0, KEY, H::Keyspace),
    cmd("hlen", 2, 0, Keys::None, H::Keyspace),
    cmd("hset", -4, WRITE, KEY, H::Keyspace),
    cmd("incr", 2, WRITE, KEY, H::Keyspace),
    cmd("incrby", 3, WRITE, KEY, H::Keyspace),
    cmd("info", -1, STALE, Keys::None, H::Server),
    cmd("keys", 2, 0, Keys::None, H::Keyspace),
    cmd("lastsave", 1, 0, Keys::None, H::Persistence),
    cmd("lindex", 3, 0, Keys::None, H::Keyspace),
    cmd("llen", 2, 0, KEY, H::Keyspace),
    cmd("lpop", -2, WRITE, KEY, H::Keyspace),
    cmd("lpush", -3, WRITE, KEY, H::Keyspace),
    cmd("lrange", 4, 0, KEY, H::Keyspace),
    cmd("mget", -2, 0, ALL_KEYS, H::Keyspace),
    cmd("migrate", -6, WRITE, Keys::Migrate, H::Migrate),
    cmd("mset", -3, WRITE, Keys::Range { first: 1, last: -1, step: 2 }, H::Keyspace),
    cmd("multi", 1, 0, Keys::None, H::Transaction),
    cmd("object", -2, 0, Keys::Subcommand, H::Keyspace),
    cmd("persist", 2, WRITE, KEY, H::Keyspace),
    cmd("pexpire", -3, WRITE, KEY, H::Keyspace),
    cmd("pexpireat", -3, WRITE, KEY, H::Keyspace),
    cmd("pexpiretime", 2, 0, Keys::None, H::Keyspace),
    cmd("ping", -1, SUBSCRIBED_OK, Keys::None, H::Keyspace),
    cmd("psubscribe", -2, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd("psync", -3, 0, Keys::None, H::Replication),
    cmd("pttl", 2, 0, KEY, H::Keyspace),
    cmd("publish", 3, 0, Keys::None, H::PubSub),
    cmd("pubsub", -2, 0, Keys::None, H::PubSub),
    cmd("punsubscribe", -1, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd("quit", -1, NO_AUTH | STALE | SUBSCRIBED_OK, Keys::None, H::Connection),
    cmd("readonly", 1, 0, Keys::None, H::Cluster),
    cmd("readwrite", 1, 0, Keys::None, H::Cluster),
    // Not routed yet, though Redis routes them (keys at 1 and 2).
    cmd("rename", 3, WRITE, Keys::None, H::Keyspace),
    cmd("renamenx", 3, WRITE, Keys::None, H::Keyspace),
    cmd("replconf", -1, STALE, Keys::None, H::Replication),
    cmd("replicaof", 3, STALE, Keys::None, H::Replication),
    cmd("restore", -4, WRITE, KEY, H::Migrate),
    cmd("restore-asking", -4, WRITE | ASKING, KEY, H::Migrate),
    cmd("role", 1, STALE, Keys::None, H::Server),
    cmd("rpop", -2, WRITE, KEY, H::Keyspace),
    cmd("rpush", -3, WRITE, KEY, H::Keyspace),
    cmd("sadd", -3, WRITE, KEY, H::Keyspace),
    cmd("save", 1, 0, Keys::None, H::Persistence),
    cmd("scan", -2, 0, Keys::None, H::Keyspace),
    cmd("scard", 2, 0, KEY, H::Keyspace),
    cmd("select", 2, 0, Keys::None, H::Connection),
    cmd("set", -3, WRITE, KEY, H::Keyspace),
    cmd("setnx", 3, WRITE, Keys::None, H::Keyspace),
    cmd("shutdown", -1, STALE, Keys::None, H::Server),
    cmd("sismember", 3, 0, Keys::None, H::Keyspace),
    cmd("slaveof", 3, STALE, Keys::None, H::Replication),
    cmd("smembers", 2, 0, KEY, H::Keyspace),
    cmd("srem", -3, WRITE, KEY, H::Keyspace),
    cmd("strlen", 2, 0, KEY, H::Keyspace),
    cmd("subscribe", -2, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd("sync", 1, 0, Keys::None, H::Replication),
    cmd("ttl", 2, 0, KEY, H::Keyspace),
    cmd("type", 2, 0, KEY, H::Keyspace),
    // Not routed yet, though Redis routes it (all keys).
    cmd("unlink", -2, WRITE, Keys::None, H::Keyspace),
    cmd("unsubscribe", -1, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd("wait", 3, 0, Keys::None, H::Replication),
];

/// Slots of [`INDEX`]: a power of two, well above twice the commands.
const INDEX_SIZE: usize = 256;
const EMPTY: u8 = u8::MAX;

/// FNV-1a of a name, reduced to a slot of [`INDEX`].
const fn slot_of(name: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < name.len() {
        h ^= name[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h as usize & (INDEX_SIZE - 1)
}

/// An open-addressing hash index of [`COMMANDS`], built at compile time: a
/// lookup hashes the name and compares it with one entry, rarely two (the
/// dispatch is on the hot path; a binary search cost a third of the
/// replication benchmark's speed).
static INDEX: [u8; INDEX_SIZE] = {
    assert!(COMMANDS.len() * 2 < INDEX_SIZE && COMMANDS.len() < EMPTY as usize);
    let mut index = [EMPTY; INDEX_SIZE];
    let mut i = 0;
    while i < COMMANDS.len() {
        let mut h = slot_of(COMMANDS[i].name.as_bytes());
        while index[h] != EMPTY {
            h = (h + 1) & (INDEX_SIZE - 1);
        }
        index[h] = i as u8;
        i += 1;
    }
    index
};

/// The command named `name` (lowercase).
pub(crate) fn lookup(name: &str) -> Option<&'static Command> {
    let mut h = slot_of(name.as_bytes());
    loop {
        let i = INDEX[h];
        if i == EMPTY {
            return None;
        }
        let c = &COMMANDS[i as usize];
        if c.name == name {
            return Some(c);
        }
        h = (h + 1) & (INDEX_SIZE - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_names_fit() {
        for w in COMMANDS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        for c in COMMANDS {
            assert!(c.name.len() <= crate::commands::NAME_MAX, "{}", c.name);
            assert_eq!(lookup(c.name).map(|f| f.name), Some(c.name));
            assert_eq!(c.name, c.name.to_ascii_lowercase());
        }
        assert!(lookup("nosuch").is_none() && lookup("").is_none());
    }

    #[test]
    fn subscribed_flag_agrees_with_the_shared_list() {
        for c in COMMANDS {
            assert_eq!(c.has(SUBSCRIBED_OK), common::pubsub::allowed_when_subscribed(c.name), "{}", c.name);
        }
    }
}
