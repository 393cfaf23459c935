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
/// Answers from the process's seeded random stream (RANDOMKEY): the caller
/// draws for it, and only for it, so other commands leave the stream alone.
pub(crate) const RANDOM: u16 = 1 << 5;
/// May propagate without being a write (`may_replicate`: EVAL, EVALSHA,
/// PUBLISH, ...): held by a pause of writes.
pub(crate) const MAY_REPLICATE: u16 = 1 << 6;
/// Allowed to a RESP2 client in subscribed mode (processCommand's list of
/// procs: the (un)subscribe commands, PING, QUIT, RESET).
pub(crate) const SUBSCRIBED_OK: u16 = 1 << 3;
/// A shard-channel command (`pubsub` with key specs: SPUBLISH, SSUBSCRIBE,
/// SUNSUBSCRIBE): its channels route like keys, but a replica of the owner
/// serves it without READONLY and a migrating slot never asks it elsewhere.
pub(crate) const SHARD_PUBSUB: u16 = 1 << 7;

/// The part of the server that runs a command; each has its own `match` on
/// the names it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handler {
    /// [`crate::commands::keyspace`], run with the client left in place (the fast path).
    Keyspace,
    /// DUMP, RESTORE, MIGRATE ([`crate::migrate`]).
    Migrate,
    /// The client's own connection: QUIT, AUTH, HELLO, SELECT, CLIENT, MONITOR, RESET.
    Connection,
    /// The server as a whole: INFO, CONFIG, ROLE, DEBUG, COMMAND, SHUTDOWN,
    /// ACL, MODULE, SLOWLOG, LATENCY, TIME, LOLWUT.
    Server,
    /// SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF ([`crate::persistence`]).
    Persistence,
    /// REPLICAOF, REPLCONF, PSYNC, SYNC, WAIT ([`crate::replication`]), FAILOVER ([`crate::failover`]).
    Replication,
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH ([`crate::multi`]).
    Transaction,
    /// (S)PUBLISH, (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBSUB ([`crate::pubsub`]).
    PubSub,
    /// CLUSTER, ASKING, READONLY, READWRITE ([`crate::cluster::commands`]).
    Cluster,
    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO ([`crate::scripting`]).
    Scripting,
    /// BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP,
    /// XREAD, XREADGROUP ([`crate::blocking`]).
    Blocking,
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
    /// `[destination] numkeys key [key ...]` (`genericGetKeys`: ZUNION,
    /// ZINTERSTORE, SINTERCARD, ...); `store`: a destination comes first.
    Numkeys { store: bool },
    /// EVAL script numkeys key [key ...] arg [arg ...] (`evalGetKeys`): the
    /// count is the third argument, the keys follow it.
    Script,
    /// BLMPOP/BZMPOP timeout numkeys key [key ...] ... (`blmpopGetKeys`):
    /// the count is the third argument, the keys follow it, as for EVAL.
    AfterTimeout,
    /// SORT key [... STORE destination ...] (`sortGetKeys`: the key, then the
    /// last STORE's destination, skipping LIMIT's, GET's and BY's arguments).
    Sort,
    /// GEORADIUS[BYMEMBER] key ... [STORE|STOREDIST destination]
    /// (`georadiusGetKeys`: the key, then the last STORE's or STOREDIST's
    /// destination, looked for from the fifth argument on).
    Georadius,
    /// XREAD/XREADGROUP ... STREAMS key [key ...] id [id ...] (`xreadGetKeys`):
    /// the first half of what follows STREAMS.
    XRead,
}

impl Keys {
    /// The positions of `args`' keys in the order routing reads them
    /// (`getKeysFromCommand`), without allocating.
    pub(crate) fn indexes(self, args: &[Vec<u8>]) -> KeyIndexes {
        let none = KeyIndexes { next: 1, last: 0, step: 1, then: None };
        let range = |first: usize, last: i64, step: usize| {
            let last = if last < 0 { args.len() as i64 + last } else { last };
            // A variadic command given too few arguments has no keys (its handler answers).
            let last = usize::try_from(last).map_or(0, |l| l.min(args.len().saturating_sub(1)));
            KeyIndexes { next: first, last, step, then: None }
        };
        match self {
            Keys::None => none,
            Keys::Range { first, last, step } => range(first.into(), last.into(), step.into()),
            Keys::Subcommand if args.len() >= 3 => range(2, 2, 1),
            Keys::Subcommand => none,
            Keys::Migrate => match args.get(3) {
                Some(k) if k.is_empty() => match args.iter().position(|a| a.eq_ignore_ascii_case(b"keys")) {
                    Some(at) => range(at + 1, -1, 1),
                    None => none,
                },
                _ => range(3, 3, 1),
            },
            Keys::Sort => {
                let mut keys = range(1, 1, 1);
                keys.then = sort_store(args);
                keys
            }
            Keys::Georadius => {
                let mut keys = range(1, 1, 1);
                keys.then = georadius_store(args);
                keys
            }
            Keys::XRead => match xread_streams(args) {
                Some((first, n)) => range(first, (first + n - 1) as i64, 1),
                None => none,
            },
            Keys::Script | Keys::AfterTimeout | Keys::Numkeys { .. } => {
                let store = self == Keys::Numkeys { store: true };
                let (count_at, first) = match self {
                    Keys::Script | Keys::AfterTimeout => (2, 3),
                    _ if store => (2, 3),
                    _ => (1, 2),
                };
                let n = args.get(count_at).map_or(0, |a| atoi(a));
                if n < 1 || n > (args.len() as i64 - first as i64) {
                    return none;
                }
                let mut keys = range(first, first as i64 + n - 1, 1);
                keys.then = store.then_some(1);
                keys
            }
        }
    }
}

/// Where `sortGetKeys` finds SORT's destination: after the last STORE.
fn sort_store(args: &[Vec<u8>]) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < args.len() {
        let a = args[i].to_ascii_lowercase();
        match a.as_slice() {
            b"limit" => i += 2,
            b"get" | b"by" => i += 1,
            b"store" if i + 1 < args.len() => found = Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    found
}

/// Where `georadiusGetKeys` finds the destination: after the last STORE or
/// STOREDIST from the fifth argument on.
fn georadius_store(args: &[Vec<u8>]) -> Option<usize> {
    let mut found = None;
    let mut i = 5;
    while i < args.len() {
        let a = &args[i];
        if (a.eq_ignore_ascii_case(b"store") || a.eq_ignore_ascii_case(b"storedist")) && i + 1 < args.len() {
            found = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    found
}

/// Where XREAD's keys start and how many there are (`xreadGetKeys`): the
/// options before STREAMS are skipped with their arguments.
fn xread_streams(args: &[Vec<u8>]) -> Option<(usize, usize)> {
    let mut i = 1;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"block" | b"count" => i += 1,
            b"group" => i += 2,
            b"noack" => {}
            b"streams" => {
                let n = args.len() - i - 1;
                return (n > 0 && n.is_multiple_of(2)).then_some((i + 1, n / 2));
            }
            _ => return None,
        }
        i += 1;
    }
    None
}

/// C's `atoi`: leading digits after an optional sign; anything else is 0.
fn atoi(a: &[u8]) -> i64 {
    let (negative, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if negative { -n } else { n }
}

/// Key positions: `next..=last` by `step`, then `then` (a destination key
/// that `genericGetKeys` lists after the sources).
pub(crate) struct KeyIndexes {
    next: usize,
    last: usize,
    step: usize,
    then: Option<usize>,
}

impl Iterator for KeyIndexes {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.next <= self.last {
            let k = self.next;
            self.next += self.step;
            return Some(k);
        }
        self.then.take()
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
    /// Where its keys are, for routing (`getKeysFromCommand`: the legacy
    /// range, or the command's own key finder).
    pub(crate) keys: Keys,
    /// Who runs it.
    pub(crate) handler: Handler,
    /// What COMMAND INFO and COMMAND DOCS say of it, as Redis 7.0.15 says it.
    pub(crate) doc: &'static Doc,
}

/// A command's (or subcommand's) COMMAND INFO, measured from Redis 7.0.15
/// ([`crate::command_docs`]).
#[derive(Debug)]
pub(crate) struct Doc {
    /// `get`, or `client|list` for a subcommand.
    pub(crate) name: &'static str,
    pub(crate) arity: i32,
    /// Redis's command flags, as COMMAND INFO names them.
    pub(crate) flags: &'static [&'static str],
    /// The legacy (first key, last key, step).
    pub(crate) range: (i32, i32, i32),
    /// ACL categories, `@`-prefixed.
    pub(crate) acl: &'static [&'static str],
    /// Command tips (`nondeterministic_output`, `request_policy:...`).
    pub(crate) tips: &'static [&'static str],
    pub(crate) specs: &'static [KeySpec],
    /// COMMAND DOCS' map for it, as 7.0.15 sends it in RESP3 (empty for a
    /// subcommand: its docs are in its container's).
    pub(crate) docs: &'static [u8],
    /// Only the ones the simulator implements.
    pub(crate) subcommands: &'static [Doc],
}

/// One key spec (Redis 7.0's `keySpec`).
#[derive(Debug)]
pub(crate) struct KeySpec {
    pub(crate) notes: Option<&'static str>,
    pub(crate) flags: &'static [&'static str],
    pub(crate) begin: Begin,
    pub(crate) find: Find,
}

/// Where a key spec's search begins.
#[derive(Debug)]
pub(crate) enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword(&'static str, i32),
    /// Not expressible (SORT's BY/GET and STORE): the command's own key finder says.
    Unknown,
}

/// How a key spec finds its keys once begun.
#[derive(Debug)]
pub(crate) enum Find {
    /// `lastkey` relative to the first (negative: from the end), every `step`.
    Range { lastkey: i32, step: i32, limit: i32 },
    /// The count is at `index` (relative), the keys start at `first` (relative).
    Keynum { index: i32, first: i32, step: i32 },
    /// Not expressible.
    Unknown,
}

impl Command {
    /// Redis's flags of the command `args` name: a container's subcommand's
    /// own when it names one this table has (`lookupCommand`), else the command's.
    pub(crate) fn flags_for(&self, args: &[Vec<u8>]) -> &'static [&'static str] {
        let sub = args.get(1).and_then(|s| {
            self.doc
                .subcommands
                .iter()
                .find(|d| d.name.split_once('|').is_some_and(|(_, n)| n.as_bytes().eq_ignore_ascii_case(s)))
        });
        sub.unwrap_or(self.doc).flags
    }

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

const fn cmd(doc: &'static Doc, flags: u16, keys: Keys, handler: Handler) -> Command {
    Command { name: doc.name, arity: doc.arity, flags, keys, handler, doc }
}

use crate::command_docs as doc;
use Handler as H;

/// Every command this node knows, in name order.
const COMMANDS: &[Command] = &[
    cmd(&doc::ACL, 0, Keys::None, H::Server),
    cmd(&doc::APPEND, WRITE, KEY, H::Keyspace),
    cmd(&doc::ASKING, 0, Keys::None, H::Cluster),
    cmd(&doc::AUTH, NO_AUTH | STALE, Keys::None, H::Connection),
    cmd(&doc::BGREWRITEAOF, 0, Keys::None, H::Persistence),
    cmd(&doc::BGSAVE, 0, Keys::None, H::Persistence),
    cmd(&doc::BITCOUNT, 0, KEY, H::Keyspace),
    cmd(&doc::BITFIELD, WRITE, KEY, H::Keyspace),
    cmd(&doc::BITFIELD_RO, 0, KEY, H::Keyspace),
    cmd(&doc::BITOP, WRITE, Keys::Range { first: 2, last: -1, step: 1 }, H::Keyspace),
    cmd(&doc::BITPOS, 0, KEY, H::Keyspace),
    cmd(&doc::BLMOVE, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Blocking),
    cmd(&doc::BLMPOP, WRITE, Keys::AfterTimeout, H::Blocking),
    cmd(&doc::BLPOP, WRITE, Keys::Range { first: 1, last: -2, step: 1 }, H::Blocking),
    cmd(&doc::BRPOP, WRITE, Keys::Range { first: 1, last: -2, step: 1 }, H::Blocking),
    cmd(&doc::BRPOPLPUSH, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Blocking),
    cmd(&doc::BZMPOP, WRITE, Keys::AfterTimeout, H::Blocking),
    cmd(&doc::BZPOPMAX, WRITE, Keys::Range { first: 1, last: -2, step: 1 }, H::Blocking),
    cmd(&doc::BZPOPMIN, WRITE, Keys::Range { first: 1, last: -2, step: 1 }, H::Blocking),
    cmd(&doc::CLIENT, 0, Keys::None, H::Connection),
    cmd(&doc::CLUSTER, 0, Keys::None, H::Cluster),
    cmd(&doc::COMMAND, 0, Keys::None, H::Server),
    cmd(&doc::CONFIG, STALE, Keys::None, H::Server),
    cmd(&doc::COPY, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::DBSIZE, 0, Keys::None, H::Keyspace),
    cmd(&doc::DEBUG, 0, Keys::None, H::Server),
    cmd(&doc::DECR, WRITE, KEY, H::Keyspace),
    cmd(&doc::DECRBY, WRITE, KEY, H::Keyspace),
    cmd(&doc::DEL, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::DISCARD, 0, Keys::None, H::Transaction),
    cmd(&doc::DUMP, 0, KEY, H::Migrate),
    cmd(&doc::ECHO, 0, Keys::None, H::Keyspace),
    cmd(&doc::EVAL, STALE | MAY_REPLICATE, Keys::Script, H::Scripting),
    cmd(&doc::EVAL_RO, STALE, Keys::Script, H::Scripting),
    cmd(&doc::EVALSHA, STALE | MAY_REPLICATE, Keys::Script, H::Scripting),
    cmd(&doc::EVALSHA_RO, STALE, Keys::Script, H::Scripting),
    cmd(&doc::EXEC, 0, Keys::None, H::Transaction),
    cmd(&doc::EXISTS, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::EXPIRE, WRITE, KEY, H::Keyspace),
    cmd(&doc::EXPIREAT, WRITE, KEY, H::Keyspace),
    cmd(&doc::EXPIRETIME, 0, KEY, H::Keyspace),
    cmd(&doc::FAILOVER, STALE, Keys::None, H::Replication),
    cmd(&doc::FCALL, STALE | MAY_REPLICATE, Keys::Script, H::Scripting),
    cmd(&doc::FCALL_RO, STALE, Keys::Script, H::Scripting),
    cmd(&doc::FLUSHALL, WRITE, Keys::None, H::Keyspace),
    cmd(&doc::FLUSHDB, WRITE, Keys::None, H::Keyspace),
    cmd(&doc::FUNCTION, 0, Keys::None, H::Scripting),
    cmd(&doc::GEOADD, WRITE, KEY, H::Keyspace),
    cmd(&doc::GEODIST, 0, KEY, H::Keyspace),
    cmd(&doc::GEOHASH, 0, KEY, H::Keyspace),
    cmd(&doc::GEOPOS, 0, KEY, H::Keyspace),
    cmd(&doc::GEORADIUS, WRITE, Keys::Georadius, H::Keyspace),
    cmd(&doc::GEORADIUS_RO, 0, KEY, H::Keyspace),
    cmd(&doc::GEORADIUSBYMEMBER, WRITE, Keys::Georadius, H::Keyspace),
    cmd(&doc::GEORADIUSBYMEMBER_RO, 0, KEY, H::Keyspace),
    cmd(&doc::GEOSEARCH, 0, KEY, H::Keyspace),
    cmd(&doc::GEOSEARCHSTORE, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::GET, 0, KEY, H::Keyspace),
    cmd(&doc::GETBIT, 0, KEY, H::Keyspace),
    cmd(&doc::GETDEL, WRITE, KEY, H::Keyspace),
    cmd(&doc::GETEX, WRITE, KEY, H::Keyspace),
    cmd(&doc::GETRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::GETSET, WRITE, KEY, H::Keyspace),
    cmd(&doc::HDEL, WRITE, KEY, H::Keyspace),
    cmd(&doc::HELLO, NO_AUTH, Keys::None, H::Connection),
    cmd(&doc::HEXISTS, 0, KEY, H::Keyspace),
    cmd(&doc::HGET, 0, KEY, H::Keyspace),
    cmd(&doc::HGETALL, 0, KEY, H::Keyspace),
    cmd(&doc::HINCRBY, WRITE, KEY, H::Keyspace),
    cmd(&doc::HINCRBYFLOAT, WRITE, KEY, H::Keyspace),
    cmd(&doc::HKEYS, 0, KEY, H::Keyspace),
    cmd(&doc::HLEN, 0, KEY, H::Keyspace),
    cmd(&doc::HMGET, 0, KEY, H::Keyspace),
    cmd(&doc::HMSET, WRITE, KEY, H::Keyspace),
    cmd(&doc::HRANDFIELD, RANDOM, KEY, H::Keyspace),
    cmd(&doc::HSCAN, 0, KEY, H::Keyspace),
    cmd(&doc::HSET, WRITE, KEY, H::Keyspace),
    cmd(&doc::HSETNX, WRITE, KEY, H::Keyspace),
    cmd(&doc::HSTRLEN, 0, KEY, H::Keyspace),
    cmd(&doc::HVALS, 0, KEY, H::Keyspace),
    cmd(&doc::INCR, WRITE, KEY, H::Keyspace),
    cmd(&doc::INCRBY, WRITE, KEY, H::Keyspace),
    cmd(&doc::INCRBYFLOAT, WRITE, KEY, H::Keyspace),
    cmd(&doc::INFO, STALE, Keys::None, H::Server),
    cmd(&doc::KEYS, 0, Keys::None, H::Keyspace),
    cmd(&doc::LASTSAVE, 0, Keys::None, H::Persistence),
    cmd(&doc::LATENCY, 0, Keys::None, H::Server),
    cmd(&doc::LCS, 0, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::LINDEX, 0, KEY, H::Keyspace),
    cmd(&doc::LINSERT, WRITE, KEY, H::Keyspace),
    cmd(&doc::LLEN, 0, KEY, H::Keyspace),
    cmd(&doc::LMOVE, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::LMPOP, WRITE, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::LOLWUT, 0, Keys::None, H::Server),
    cmd(&doc::LPOP, WRITE, KEY, H::Keyspace),
    cmd(&doc::LPOS, 0, KEY, H::Keyspace),
    cmd(&doc::LPUSH, WRITE, KEY, H::Keyspace),
    cmd(&doc::LPUSHX, WRITE, KEY, H::Keyspace),
    cmd(&doc::LRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::LREM, WRITE, KEY, H::Keyspace),
    cmd(&doc::LSET, WRITE, KEY, H::Keyspace),
    cmd(&doc::LTRIM, WRITE, KEY, H::Keyspace),
    cmd(&doc::MEMORY, 0, Keys::Subcommand, H::Server),
    cmd(&doc::MGET, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::MIGRATE, WRITE, Keys::Migrate, H::Migrate),
    cmd(&doc::MODULE, 0, Keys::None, H::Server),
    cmd(&doc::MONITOR, 0, Keys::None, H::Connection),
    cmd(&doc::MOVE, WRITE, KEY, H::Keyspace),
    cmd(&doc::MSET, WRITE, Keys::Range { first: 1, last: -1, step: 2 }, H::Keyspace),
    cmd(&doc::MSETNX, WRITE, Keys::Range { first: 1, last: -1, step: 2 }, H::Keyspace),
    cmd(&doc::MULTI, 0, Keys::None, H::Transaction),
    cmd(&doc::OBJECT, 0, Keys::Subcommand, H::Keyspace),
    cmd(&doc::PERSIST, WRITE, KEY, H::Keyspace),
    cmd(&doc::PEXPIRE, WRITE, KEY, H::Keyspace),
    cmd(&doc::PEXPIREAT, WRITE, KEY, H::Keyspace),
    cmd(&doc::PEXPIRETIME, 0, KEY, H::Keyspace),
    cmd(&doc::PFADD, WRITE, KEY, H::Keyspace),
    cmd(&doc::PFCOUNT, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::PFDEBUG, WRITE, Keys::Range { first: 2, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::PFMERGE, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::PFSELFTEST, RANDOM, Keys::None, H::Keyspace),
    cmd(&doc::PING, SUBSCRIBED_OK, Keys::None, H::Keyspace),
    cmd(&doc::PSETEX, WRITE, KEY, H::Keyspace),
    cmd(&doc::PSUBSCRIBE, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd(&doc::PSYNC, 0, Keys::None, H::Replication),
    cmd(&doc::PTTL, 0, KEY, H::Keyspace),
    cmd(&doc::PUBLISH, MAY_REPLICATE, Keys::None, H::PubSub),
    cmd(&doc::PUBSUB, 0, Keys::None, H::PubSub),
    cmd(&doc::PUNSUBSCRIBE, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd(&doc::QUIT, NO_AUTH | STALE | SUBSCRIBED_OK, Keys::None, H::Connection),
    cmd(&doc::RANDOMKEY, RANDOM, Keys::None, H::Keyspace),
    cmd(&doc::READONLY, 0, Keys::None, H::Cluster),
    cmd(&doc::READWRITE, 0, Keys::None, H::Cluster),
    cmd(&doc::RENAME, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::RENAMENX, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::REPLCONF, STALE, Keys::None, H::Replication),
    cmd(&doc::REPLICAOF, STALE, Keys::None, H::Replication),
    cmd(&doc::RESET, NO_AUTH | STALE | SUBSCRIBED_OK, Keys::None, H::Connection),
    cmd(&doc::RESTORE, WRITE, KEY, H::Migrate),
    cmd(&doc::RESTORE_ASKING, WRITE | ASKING, KEY, H::Migrate),
    cmd(&doc::ROLE, STALE, Keys::None, H::Server),
    cmd(&doc::RPOP, WRITE, KEY, H::Keyspace),
    cmd(&doc::RPOPLPUSH, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::RPUSH, WRITE, KEY, H::Keyspace),
    cmd(&doc::RPUSHX, WRITE, KEY, H::Keyspace),
    cmd(&doc::SADD, WRITE, KEY, H::Keyspace),
    cmd(&doc::SAVE, 0, Keys::None, H::Persistence),
    cmd(&doc::SCAN, 0, Keys::None, H::Keyspace),
    cmd(&doc::SCARD, 0, KEY, H::Keyspace),
    cmd(&doc::SCRIPT, 0, Keys::None, H::Scripting),
    cmd(&doc::SDIFF, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::SDIFFSTORE, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::SELECT, 0, Keys::None, H::Connection),
    cmd(&doc::SET, WRITE, KEY, H::Keyspace),
    cmd(&doc::SETBIT, WRITE, KEY, H::Keyspace),
    cmd(&doc::SETEX, WRITE, KEY, H::Keyspace),
    cmd(&doc::SETNX, WRITE, KEY, H::Keyspace),
    cmd(&doc::SETRANGE, WRITE, KEY, H::Keyspace),
    cmd(&doc::SHUTDOWN, STALE, Keys::None, H::Server),
    cmd(&doc::SINTER, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::SINTERCARD, 0, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::SINTERSTORE, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::SISMEMBER, 0, KEY, H::Keyspace),
    cmd(&doc::SLAVEOF, STALE, Keys::None, H::Replication),
    cmd(&doc::SLOWLOG, 0, Keys::None, H::Server),
    cmd(&doc::SMEMBERS, 0, KEY, H::Keyspace),
    cmd(&doc::SMISMEMBER, 0, KEY, H::Keyspace),
    cmd(&doc::SMOVE, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::SORT, WRITE, Keys::Sort, H::Keyspace),
    cmd(&doc::SORT_RO, 0, KEY, H::Keyspace),
    cmd(&doc::SPOP, WRITE | RANDOM, KEY, H::Keyspace),
    cmd(&doc::SPUBLISH, SHARD_PUBSUB | STALE, KEY, H::PubSub),
    cmd(&doc::SRANDMEMBER, RANDOM, KEY, H::Keyspace),
    cmd(&doc::SREM, WRITE, KEY, H::Keyspace),
    cmd(&doc::SSCAN, 0, KEY, H::Keyspace),
    cmd(&doc::SSUBSCRIBE, SHARD_PUBSUB | STALE | SUBSCRIBED_OK, ALL_KEYS, H::PubSub),
    cmd(&doc::STRLEN, 0, KEY, H::Keyspace),
    cmd(&doc::SUBSCRIBE, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd(&doc::SUBSTR, 0, KEY, H::Keyspace),
    cmd(&doc::SUNION, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::SUNIONSTORE, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::SUNSUBSCRIBE, SHARD_PUBSUB | STALE | SUBSCRIBED_OK, ALL_KEYS, H::PubSub),
    cmd(&doc::SWAPDB, WRITE, Keys::None, H::Keyspace),
    cmd(&doc::SYNC, 0, Keys::None, H::Replication),
    cmd(&doc::TIME, STALE, Keys::None, H::Server),
    cmd(&doc::TOUCH, 0, ALL_KEYS, H::Keyspace),
    cmd(&doc::TTL, 0, KEY, H::Keyspace),
    cmd(&doc::TYPE, 0, KEY, H::Keyspace),
    cmd(&doc::UNLINK, WRITE, ALL_KEYS, H::Keyspace),
    cmd(&doc::UNSUBSCRIBE, SUBSCRIBED_OK, Keys::None, H::PubSub),
    cmd(&doc::UNWATCH, STALE, Keys::None, H::Transaction),
    cmd(&doc::WAIT, 0, Keys::None, H::Replication),
    cmd(&doc::WATCH, STALE, ALL_KEYS, H::Transaction),
    cmd(&doc::XACK, WRITE, KEY, H::Keyspace),
    cmd(&doc::XADD, WRITE, KEY, H::Keyspace),
    cmd(&doc::XAUTOCLAIM, WRITE, KEY, H::Keyspace),
    cmd(&doc::XCLAIM, WRITE, KEY, H::Keyspace),
    cmd(&doc::XDEL, WRITE, KEY, H::Keyspace),
    cmd(&doc::XGROUP, WRITE, Keys::Subcommand, H::Keyspace),
    cmd(&doc::XINFO, 0, Keys::Subcommand, H::Keyspace),
    cmd(&doc::XLEN, 0, KEY, H::Keyspace),
    cmd(&doc::XPENDING, 0, KEY, H::Keyspace),
    cmd(&doc::XRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::XREAD, 0, Keys::XRead, H::Blocking),
    cmd(&doc::XREADGROUP, WRITE, Keys::XRead, H::Blocking),
    cmd(&doc::XREVRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::XSETID, WRITE, KEY, H::Keyspace),
    cmd(&doc::XTRIM, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZADD, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZCARD, 0, KEY, H::Keyspace),
    cmd(&doc::ZCOUNT, 0, KEY, H::Keyspace),
    cmd(&doc::ZDIFF, 0, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::ZDIFFSTORE, WRITE, Keys::Numkeys { store: true }, H::Keyspace),
    cmd(&doc::ZINCRBY, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZINTER, 0, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::ZINTERCARD, 0, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::ZINTERSTORE, WRITE, Keys::Numkeys { store: true }, H::Keyspace),
    cmd(&doc::ZLEXCOUNT, 0, KEY, H::Keyspace),
    cmd(&doc::ZMPOP, WRITE, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::ZMSCORE, 0, KEY, H::Keyspace),
    cmd(&doc::ZPOPMAX, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZPOPMIN, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZRANDMEMBER, RANDOM, KEY, H::Keyspace),
    cmd(&doc::ZRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::ZRANGEBYLEX, 0, KEY, H::Keyspace),
    cmd(&doc::ZRANGEBYSCORE, 0, KEY, H::Keyspace),
    cmd(&doc::ZRANGESTORE, WRITE, Keys::Range { first: 1, last: 2, step: 1 }, H::Keyspace),
    cmd(&doc::ZRANK, 0, KEY, H::Keyspace),
    cmd(&doc::ZREM, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZREMRANGEBYLEX, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZREMRANGEBYRANK, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZREMRANGEBYSCORE, WRITE, KEY, H::Keyspace),
    cmd(&doc::ZREVRANGE, 0, KEY, H::Keyspace),
    cmd(&doc::ZREVRANGEBYLEX, 0, KEY, H::Keyspace),
    cmd(&doc::ZREVRANGEBYSCORE, 0, KEY, H::Keyspace),
    cmd(&doc::ZREVRANK, 0, KEY, H::Keyspace),
    cmd(&doc::ZSCAN, 0, KEY, H::Keyspace),
    cmd(&doc::ZSCORE, 0, KEY, H::Keyspace),
    cmd(&doc::ZUNION, 0, Keys::Numkeys { store: false }, H::Keyspace),
    cmd(&doc::ZUNIONSTORE, WRITE, Keys::Numkeys { store: true }, H::Keyspace),
];

/// Slots of [`INDEX`]: a power of two, well above twice the commands.
const INDEX_SIZE: usize = 512;
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

/// The position of `command` in the table (an index for per-command counters).
pub(crate) fn index(command: &'static Command) -> usize {
    let offset = command as *const Command as usize - COMMANDS.as_ptr() as usize;
    offset / std::mem::size_of::<Command>()
}

/// processCommand's gate for a container command's subcommand (`client|list`):
/// unknown, or the wrong number of arguments for the subcommand's own arity.
pub(crate) fn check_subcommand(command: &Command, args: &[Vec<u8>]) -> Option<resp::Value> {
    subcommand(command, args).err()
}

/// The docs of the subcommand `args[1]` of the container `command`, or the
/// error processCommand answers: unknown, or the wrong number of arguments.
pub(crate) fn subcommand(command: &Command, args: &[Vec<u8>]) -> Result<&'static Doc, resp::Value> {
    let Some(doc) = find_subcommand(command, &args[1]) else {
        return Err(resp::Value::error(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            String::from_utf8_lossy(&args[1]),
            command.name.to_ascii_uppercase()
        )));
    };
    let argc = args.len() as i32;
    if (doc.arity > 0 && argc != doc.arity) || argc < -doc.arity {
        return Err(resp::Value::error(format!("ERR wrong number of arguments for '{}' command", doc.name)));
    }
    Ok(doc)
}

/// The docs of `command`'s subcommand `name` (any case), if it has one:
/// `cluster|slots` for `cluster` and `SLOTS`. Every call of a container
/// command looks its subcommand up twice (the arity check, the latency
/// histogram), so the names are compared as bytes past the `cluster|`
/// prefix every subcommand's name has, with no text searched or copied.
pub(crate) fn find_subcommand(command: &Command, name: &[u8]) -> Option<&'static Doc> {
    let own = command.name.len() + 1;
    command.doc.subcommands.iter().find(|d| d.name.as_bytes().get(own..).is_some_and(|s| s.eq_ignore_ascii_case(name)))
}

/// Every command, in name order (COMMAND COUNT is its length).
pub(crate) fn all() -> &'static [Command] {
    COMMANDS
}

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
    fn subcommands_are_found_by_their_own_name_in_any_case() {
        for c in COMMANDS {
            for d in c.doc.subcommands {
                let own = d.name.strip_prefix(c.name).and_then(|s| s.strip_prefix('|'));
                let own = own.unwrap_or_else(|| panic!("{} is not named {}|...", d.name, c.name));
                for name in [own.to_owned(), own.to_ascii_uppercase()] {
                    assert_eq!(find_subcommand(c, name.as_bytes()).map(|f| f.name), Some(d.name));
                }
            }
        }
        let cluster = lookup("cluster").expect("CLUSTER");
        for unknown in [&b"slot"[..], b"slotss", b"", b"cluster|slots", b"|slots", b"sl\xffots"] {
            assert!(find_subcommand(cluster, unknown).is_none(), "{}", String::from_utf8_lossy(unknown));
        }
    }

    #[test]
    fn subscribed_flag_agrees_with_the_shared_list() {
        for c in COMMANDS {
            assert_eq!(c.has(SUBSCRIBED_OK), common::pubsub::allowed_when_subscribed(c.name), "{}", c.name);
        }
    }
}
