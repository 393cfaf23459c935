//! The thresholds of the compact encodings (`hash-max-listpack-*`,
//! `set-max-intset-entries`, `zset-max-listpack-*`, `list-max-listpack-size`,
//! `stream-node-max-*`) as one small copy ([`Limits`]) that every database
//! keeps, so a write reads a field rather than looking a directive up. The
//! server refreshes the copies when CONFIG SET changes a threshold; a value
//! already stored keeps its encoding until a later write converts it, as in
//! Redis, where only writes (and loading) look at the thresholds.

use crate::keyspace::Data;

/// The encodings' thresholds, as Redis 7.0.15's `server` struct holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `hash-max-listpack-entries`.
    pub hash_entries: usize,
    /// `hash-max-listpack-value`.
    pub hash_value: usize,
    /// `set-max-intset-entries` (Redis caps it at 2^30: `setTypeAdd`).
    pub intset_entries: usize,
    /// `zset-max-listpack-entries`.
    pub zset_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_value: usize,
    /// `list-max-listpack-size`: a node's entries when positive, its size
    /// class (-1 4 KB ... -5 64 KB) when negative.
    pub list_fill: i32,
    /// `stream-node-max-bytes` (0: no limit).
    pub stream_node_bytes: usize,
    /// `stream-node-max-entries` (0: no limit).
    pub stream_node_entries: usize,
    /// `hll-sparse-max-bytes`: the longest sparse HyperLogLog before it turns dense.
    pub hll_sparse_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            list_fill: -2,
            stream_node_bytes: 4096,
            stream_node_entries: 100,
            hll_sparse_bytes: crate::hll::SPARSE_MAX_BYTES,
        }
    }
}

/// The directives [`Limits`] is read from.
pub(crate) const DIRECTIVES: [&str; 9] = [
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "list-max-listpack-size",
    "stream-node-max-bytes",
    "stream-node-max-entries",
    "hll-sparse-max-bytes",
];

impl Limits {
    /// The thresholds `value_of` gives for [`DIRECTIVES`] (values the
    /// configuration table has checked; anything unreadable keeps the default).
    pub(crate) fn read(value_of: impl Fn(&str) -> Option<String>) -> Limits {
        let d = Limits::default();
        let size = |name: &str, default: usize| {
            value_of(name)
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        Limits {
            hash_entries: size(DIRECTIVES[0], d.hash_entries),
            hash_value: size(DIRECTIVES[1], d.hash_value),
            intset_entries: size(DIRECTIVES[2], d.intset_entries).min(1 << 30),
            zset_entries: size(DIRECTIVES[3], d.zset_entries),
            zset_value: size(DIRECTIVES[4], d.zset_value),
            list_fill: value_of(DIRECTIVES[5]).and_then(|v| v.parse().ok()).unwrap_or(d.list_fill),
            stream_node_bytes: size(DIRECTIVES[6], d.stream_node_bytes),
            stream_node_entries: size(DIRECTIVES[7], d.stream_node_entries),
            hll_sparse_bytes: size(DIRECTIVES[8], d.hll_sparse_bytes),
        }
    }

    /// Whether a value Redis creates or loads whole is held in its big
    /// encoding (hashtable, skiplist): `createXXXObject` and `rdbLoadObject`
    /// look at its shape. Strings, lists and streams have no such step.
    pub(crate) fn big_when_created(&self, value: &Data) -> bool {
        match value {
            Data::Hash(fields) => !self.small_hash(fields),
            Data::Set(members) => !self.intset(members),
            Data::ZSet(z) => z.is_skiplist(),
            Data::Str(_) | Data::List(_) | Data::Stream(_) => false,
        }
    }

    /// A hash within both listpack limits.
    pub(crate) fn small_hash(&self, fields: &[(Vec<u8>, Vec<u8>)]) -> bool {
        fields.len() <= self.hash_entries
            && fields.iter().all(|(f, v)| f.len() <= self.hash_value && v.len() <= self.hash_value)
    }

    /// A set an intset holds: few enough members, each a canonical integer.
    pub(crate) fn intset(&self, members: &std::collections::BTreeSet<Vec<u8>>) -> bool {
        members.len() <= self.intset_entries && members.iter().all(|m| crate::rdb::as_int(m).is_some())
    }

    /// A sorted set of `len` members, the longest `max_member` bytes, within
    /// the listpack limits (`zsetConvertToListpackIfNeeded`).
    pub(crate) fn small_zset(&self, len: usize, max_member: usize) -> bool {
        len <= self.zset_entries && max_member <= self.zset_value
    }

    /// Whether a write that leaves an existing compact value `value` this
    /// way converts it: a hash or an intset past its entries limit (the
    /// arguments' lengths are the command's to check), a sorted set as
    /// `zsetAdd` decided it.
    pub(crate) fn outgrown(&self, value: &Data) -> bool {
        match value {
            Data::Hash(fields) => fields.len() > self.hash_entries,
            Data::Set(members) => !self.intset(members),
            Data::ZSet(z) => z.is_skiplist(),
            Data::Str(_) => true,
            Data::List(_) | Data::Stream(_) => false,
        }
    }
}
