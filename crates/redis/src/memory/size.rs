//! What a key and its value cost, as Redis 7.0.15 built with jemalloc 5.3
//! counts it: `MEMORY USAGE` (`objectComputeSize` plus the key's sds and its
//! `dictEntry`) and the allocations `used_memory` adds up.
//!
//! Per kind (robj 16 bytes, `dictEntry` 24, `dict` 56, sds header 1/3/5/9
//! bytes by length, every allocation rounded to its jemalloc class):
//! - string `int`: the robj; `embstr`: robj, sds header and bytes in one
//!   allocation; `raw`: robj plus the sds (APPEND grew it greedily: twice
//!   the length below 1 MB, as `sdsMakeRoomFor` does).
//! - list (quicklist): robj, the 40-byte quicklist, per node 40 bytes plus
//!   its listpack; nodes filled to `list-max-listpack-size -2` (8 KB) from
//!   the head, as RPUSH fills them.
//! - set: `intset` robj plus 8 + n × width; `hashtable` robj, dict, buckets,
//!   per member a `dictEntry` and its sds.
//! - hash: `listpack` robj plus the listpack of fields and values;
//!   `hashtable` as a set with a value sds per field.
//! - zset: `listpack` members and `d2string` scores; `skiplist` robj, zset,
//!   zskiplist, dict, buckets, the 32-level header and per member a node
//!   (its level drawn from the member's bytes, p = 1/4 per level as Redis
//!   draws it) and a `dictEntry`.
//! - stream: robj, the stream struct, the radix tree's estimate, every
//!   node's listpack (the open one preallocated to 4 KB), consumer groups'
//!   structs and PELs.
//!
//! Measured against a real 7.0.15 (`tests_memory_transcript.txt`): strings,
//! intsets, listpack hashes and zsets and single-node lists match to the
//! byte; hashtables and skiplists match when their members have sizes in
//! the same allocation class (Redis samples them in dict order, this node
//! in member order), skiplists within the spread of their random levels.

use super::List;
use crate::keyspace::Data;
use crate::stream::Stream;
use std::collections::BTreeSet;

/// `sizeof(robj)`.
const ROBJ: u64 = 16;
/// `sizeof(dictEntry)`.
const DICT_ENTRY: u64 = 24;
/// `sizeof(dict)`.
const DICT: u64 = 56;
/// `sizeof(quicklist)`.
const QUICKLIST: u64 = 40;
/// `sizeof(quicklistNode)`.
const QUICKLIST_NODE: u64 = 40;
/// A listpack's header and end byte.
const LISTPACK_EMPTY: u64 = 7;
/// `optimization_level[]`: a node's bytes under `list-max-listpack-size` -1 to -5.
const LIST_SIZE_LEVELS: [u64; 5] = [4096, 8192, 16384, 32768, 65536];
/// `SIZE_SAFETY_LIMIT`: a node's bytes under a positive (count) fill.
const LIST_SAFETY_LIMIT: u64 = 8192;
/// `SIZE_ESTIMATE_OVERHEAD` added to an element before the node limit check.
const LIST_ESTIMATE_OVERHEAD: u64 = 8;
/// `sizeof(zset)` + `sizeof(zskiplist)`.
const ZSET_STRUCTS: u64 = 16 + 32;
/// A skiplist node without levels (`ele`, `score`, `backward`).
const ZSKIPLIST_NODE: u64 = 24;
/// One skiplist level (`forward`, `span`).
const ZSKIPLIST_LEVEL: u64 = 16;
/// `ZSKIPLIST_MAXLEVEL`: the header node has every level.
const ZSKIPLIST_MAXLEVEL: u64 = 32;
/// `sizeof(stream)`.
const STREAM: u64 = 80;
/// `sizeof(streamCG)`, `sizeof(streamNACK)`, `sizeof(streamConsumer)`.
const STREAM_CG: u64 = 40;
const STREAM_NACK: u64 = 24;
const STREAM_CONSUMER: u64 = 24;
/// The samples `MEMORY USAGE` takes without `SAMPLES` (`OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
pub(crate) const DEFAULT_SAMPLES: usize = 5;

/// jemalloc's size class for a request of `n` bytes: what `zmalloc_size`
/// reports. 8, then multiples of 16 up to 128, then four classes per doubling.
pub(crate) fn alloc(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let spacing = 1u64 << (63 - (n - 1).leading_zeros() - 2);
    n.div_ceil(spacing) * spacing
}

/// The header of an sds of `len` bytes (`sdsReqType`; an empty one is type 8).
fn sds_header(len: u64) -> u64 {
    match len {
        0 => 3,
        1..=31 => 1,
        32..=255 => 3,
        256..=65_535 => 5,
        _ if len <= u64::from(u32::MAX) => 9,
        _ => 17,
    }
}

/// `sdsZmallocSize` of a fresh sds holding `len` bytes.
pub(crate) fn sds(len: usize) -> u64 {
    let len = len as u64;
    alloc(sds_header(len) + len + 1)
}

/// Buckets of a dict holding `n` entries grown one insert at a time
/// (`_dictExpandIfNeeded`: 4, then the power of two at or above `n`).
pub(crate) fn dict_slots(n: usize) -> u64 {
    if n == 0 { 0 } else { (n as u64).next_power_of_two().max(4) }
}

/// How an estimate counts structures: as `objectComputeSize` does (C sizes)
/// or as allocated (`used_memory`: every struct rounded to its class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Count {
    /// `MEMORY USAGE`.
    Usage,
    /// `used_memory`.
    Allocated,
}

impl Count {
    fn of(self, size: u64) -> u64 {
        match self {
            Count::Usage => size,
            Count::Allocated => alloc(size),
        }
    }
}

/// What a value costs, `samples` elements of an aggregate averaged over all
/// of them (0: every element), `big` when Redis holds it in its big encoding
/// ([`crate::keyspace::Db::encoding`]).
pub(crate) fn value(data: &Data, big: bool, samples: usize, count: Count) -> u64 {
    let samples = if samples == 0 { usize::MAX } else { samples };
    match data {
        Data::Str(s) => string(s, big, count),
        Data::List(items) => list(items, samples, count),
        Data::Set(members) if big => hashtable(members.len(), members.iter().map(|m| sds(m.len())), samples, count),
        Data::Set(members) => ROBJ + alloc(8 + members.len() as u64 * intset_width(members)),
        Data::Hash(fields) if big => {
            hashtable(fields.len(), fields.iter().map(|(f, v)| sds(f.len()) + sds(v.len())), samples, count)
        }
        Data::Hash(fields) => ROBJ + listpack(fields.iter().flat_map(|(f, v)| [f.as_slice(), v.as_slice()])),
        Data::ZSet(z) if big => skiplist(z, samples, count),
        Data::ZSet(z) => {
            let entries = z.iter().map(|(m, s)| crate::stream::entry_bytes(m) as u64 + score_entry_bytes(s));
            ROBJ + alloc(LISTPACK_EMPTY + entries.sum::<u64>())
        }
        Data::Stream(s) => stream(s, samples, count),
    }
}

/// `MEMORY USAGE key`: the value, the key's sds and a `dictEntry`.
pub(crate) fn usage(key: &[u8], data: &Data, big: bool, samples: usize) -> u64 {
    value(data, big, samples, Count::Usage) + sds(key.len()) + DICT_ENTRY
}

/// What a key adds to `used_memory`: its `dictEntry`, its sds and its value
/// (aggregates estimated from `samples` elements).
pub(crate) fn allocated(key: &[u8], data: &Data, big: bool, samples: usize) -> u64 {
    value(data, big, samples, Count::Allocated) + sds(key.len()) + alloc(DICT_ENTRY)
}

fn string(s: &[u8], big: bool, count: Count) -> u64 {
    let len = s.len() as u64;
    match crate::rdb::string_encoding(s) {
        _ if big => {
            // APPEND's `sdsMakeRoomFor` doubles below 1 MB and adds 1 MB above.
            let room = if len < 1 << 20 { 2 * len } else { len + (1 << 20) };
            ROBJ + alloc(sds_header(room).max(3) + room + 1)
        }
        "int" => count.of(ROBJ),
        "embstr" => alloc(ROBJ + 3 + len + 1),
        _ => ROBJ + sds(s.len()),
    }
}

/// A listpack of these entries, as allocated (`zmalloc_size` of `lpBytes`).
fn listpack<'a>(entries: impl Iterator<Item = &'a [u8]>) -> u64 {
    alloc(listpack_bytes(entries))
}

/// A score's entry in a listpack: as its `d2string` text is stored (an
/// integer one as an integer), without printing the common integer scores.
fn score_entry_bytes(score: f64) -> u64 {
    let bytes = match crate::zset::d2int(score) {
        Some(n) => crate::stream::int_entry_bytes(n),
        None => crate::stream::entry_bytes(crate::zset::d2string(score).as_bytes()),
    };
    bytes as u64
}

/// `lpBytes` of a listpack of these entries.
fn listpack_bytes<'a>(entries: impl Iterator<Item = &'a [u8]>) -> u64 {
    LISTPACK_EMPTY + entries.map(|e| crate::stream::entry_bytes(e) as u64).sum::<u64>()
}

/// A quicklist: its nodes' listpacks ([`List::node_bytes`]), the first
/// `samples` nodes averaged over all (`objectComputeSize`).
fn list(items: &List, samples: usize, count: Count) -> u64 {
    let nodes = items.node_bytes();
    let node = |lp: &u64| count.of(QUICKLIST_NODE) + alloc(*lp);
    ROBJ + count.of(QUICKLIST) + average(nodes.iter().map(node), nodes.len(), samples)
}

/// `_quicklistNodeAllowInsert`'s limits on a node under a list's fill
/// (`list-max-listpack-size`, clamped to -5..=32767 as quicklists keep it):
/// a size class, or a count of entries within `SIZE_SAFETY_LIMIT`.
#[derive(Clone, Copy)]
pub(crate) struct NodeLimit {
    bytes: u64,
    entries: u64,
}

impl NodeLimit {
    pub(crate) fn of(fill: i32) -> NodeLimit {
        match usize::try_from(-i64::from(fill) - 1) {
            Ok(level) => {
                NodeLimit { bytes: LIST_SIZE_LEVELS[level.min(LIST_SIZE_LEVELS.len() - 1)], entries: u64::MAX }
            }
            Err(_) => NodeLimit { bytes: LIST_SAFETY_LIMIT, entries: u64::try_from(fill).unwrap_or(0) },
        }
    }

    /// Whether a node of `lp` bytes and `count` entries takes another of `len` bytes.
    pub(crate) fn allows(self, lp: u64, count: u64, len: u64) -> bool {
        lp + len + LIST_ESTIMATE_OVERHEAD <= self.bytes && count < self.entries
    }
}

/// The `lpBytes` and entries of a quicklist's nodes, head first, filled
/// from the head under `fill` as RPUSH fills them.
pub(crate) fn list_nodes<'a>(items: impl Iterator<Item = &'a [u8]>, fill: i32) -> (Vec<u64>, Vec<u32>) {
    let (mut nodes, mut counts) = (Vec::new(), Vec::new());
    split_list(items, fill, |lp, n| {
        nodes.push(lp);
        counts.push(n);
    });
    (nodes, counts)
}

/// [`list_nodes`]' `lpBytes` alone.
pub(crate) fn list_node_bytes<'a>(items: impl Iterator<Item = &'a [u8]>, fill: i32) -> Vec<u64> {
    let mut nodes = Vec::new();
    split_list(items, fill, |lp, _| nodes.push(lp));
    nodes
}

/// Splits `items` into nodes as RPUSH fills them under `fill`, each node's
/// `lpBytes` and entries given to `node`, head first.
fn split_list<'a>(items: impl Iterator<Item = &'a [u8]>, fill: i32, mut node: impl FnMut(u64, u32)) {
    let limit = NodeLimit::of(fill);
    let (mut lp, mut n) = (LISTPACK_EMPTY, 0u32);
    for item in items {
        if n > 0 && !limit.allows(lp, u64::from(n), item.len() as u64) {
            node(lp, n);
            (lp, n) = (LISTPACK_EMPTY, 0);
        }
        lp += crate::stream::entry_bytes(item) as u64;
        n += 1;
    }
    if n > 0 {
        node(lp, n);
    }
}

/// The `lpBytes` of a quicklist node holding `items`.
pub(crate) fn list_node(items: &[Vec<u8>]) -> u64 {
    LISTPACK_EMPTY + items.iter().map(|i| crate::stream::entry_bytes(i) as u64).sum::<u64>()
}

/// [`list_nodes`] after `item` is appended at the tail: into the last node
/// if it takes it, else in a new one.
pub(crate) fn push_list_entry(nodes: &mut Vec<u64>, counts: &mut Vec<u32>, item: &[u8], fill: i32) {
    let entry = crate::stream::entry_bytes(item) as u64;
    match (nodes.last_mut(), counts.last_mut()) {
        (Some(lp), Some(n)) if NodeLimit::of(fill).allows(*lp, u64::from(*n), item.len() as u64) => {
            *lp += entry;
            *n += 1;
        }
        _ => {
            nodes.push(LISTPACK_EMPTY + entry);
            counts.push(1);
        }
    }
}

/// [`list_nodes`] after `item` left the tail: the last node shrinks, and
/// goes when it is empty.
pub(crate) fn pop_list_entry(nodes: &mut Vec<u64>, counts: &mut Vec<u32>, item: &[u8]) {
    if let (Some(lp), Some(n)) = (nodes.last_mut(), counts.last_mut()) {
        *lp -= crate::stream::entry_bytes(item) as u64;
        *n -= 1;
        if *n == 0 {
            nodes.pop();
            counts.pop();
        }
    }
}

/// `elements`' sizes, the first `samples` averaged over `n` as Redis does
/// (a double, truncated when added to the total).
fn average(elements: impl Iterator<Item = u64>, n: usize, samples: usize) -> u64 {
    let (mut sum, mut seen) = (0u64, 0u64);
    for size in elements.take(samples) {
        sum += size;
        seen += 1;
    }
    if seen == 0 { 0 } else { (sum as f64 / seen as f64 * n as f64) as u64 }
}

/// A hashtable set or hash: the dict and its buckets, per element a
/// `dictEntry` and what `element` says it holds.
fn hashtable(n: usize, elements: impl Iterator<Item = u64>, samples: usize, count: Count) -> u64 {
    let entry = count.of(DICT_ENTRY);
    ROBJ + count.of(DICT) + 8 * dict_slots(n) + average(elements.map(|e| e + entry), n, samples)
}

/// An intset's width: 2, 4 or 8 bytes per member, by the widest.
fn intset_width(members: &BTreeSet<Vec<u8>>) -> u64 {
    let widest = members.iter().filter_map(|m| crate::rdb::as_int(m)).map(|n| n.unsigned_abs()).max().unwrap_or(0);
    match widest {
        0..=32_768 => 2,
        32_769..=2_147_483_648 => 4,
        _ => 8,
    }
}

/// A skiplist zset (`objectComputeSize`'s OBJ_ENCODING_SKIPLIST).
fn skiplist(z: &crate::zset::ZSet, samples: usize, count: Count) -> u64 {
    let header = alloc(ZSKIPLIST_NODE + ZSKIPLIST_MAXLEVEL * ZSKIPLIST_LEVEL);
    let entry = count.of(DICT_ENTRY);
    let node = |m: &[u8]| sds(m.len()) + entry + alloc(ZSKIPLIST_NODE + level(m) * ZSKIPLIST_LEVEL);
    let fixed = ROBJ + count.of(ZSET_STRUCTS) + count.of(DICT) + 8 * dict_slots(z.len()) + header;
    fixed + average(z.iter().map(|(m, _)| node(m)), z.len(), samples)
}

/// A skiplist node's level (`zslRandomLevel`: one more with probability
/// 1/4, up to 32), drawn from the member's bytes so it is the same on every
/// run and replica.
fn level(member: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut level = 1;
    while level < ZSKIPLIST_MAXLEVEL && h & 3 == 0 {
        level += 1;
        h >>= 2;
    }
    level
}

/// A stream: the struct, the radix tree's estimate, the nodes' listpacks
/// (the open last node preallocated to 4 KB, the others shrunk to fit; the
/// first `samples` averaged over all but the last, as Redis does), and per
/// consumer group its struct, PEL and consumers.
fn stream(s: &Stream, samples: usize, count: Count) -> u64 {
    let lps: Vec<u64> = s.nodes.values().map(|n| crate::stream::node_bytes(n) as u64).collect();
    let prealloc = s.nodes.values().next_back().map_or(0, |n| n.prealloc as u64);
    let last = lps.last().map_or(0, |&b| alloc(b.max(prealloc)));
    let full = &lps[..lps.len().saturating_sub(1)];
    let listpacks = if lps.len() <= samples {
        full.iter().map(|&b| alloc(b)).sum::<u64>() + last
    } else {
        average(full.iter().map(|&b| alloc(b)), lps.len() - 1, samples) + last
    };
    let mut groups = 0;
    for g in s.groups.values() {
        let pel = g.pel.len() as u64;
        groups += STREAM_CG + rax(pel) + STREAM_NACK * pel;
        let consumer = |(name, c): (&Vec<u8>, &crate::stream::Consumer)| {
            STREAM_CONSUMER + name.len() as u64 + rax(c.pel.len() as u64)
        };
        groups += g.consumers.iter().map(consumer).sum::<u64>();
    }
    // MEMORY USAGE counts the tree's real nodes (as XINFO STREAM shows them);
    // `used_memory`, updated on every write, takes the estimate.
    let tree = match count {
        Count::Usage => lps.len() as u64 * 16 + s.rax_nodes() as u64 * RAX_NODE,
        Count::Allocated => rax(lps.len() as u64),
    };
    ROBJ + count.of(STREAM) + tree + listpacks + groups
}

/// What `streamRadixTreeMemoryUsage` counts per tree node: 4 + 30 words.
const RAX_NODE: u64 = 4 + 8 * 30;

/// `streamRadixTreeMemoryUsage` of a tree of `elements` 16-byte IDs: 16
/// bytes per ID and 4 + 30 words per tree node. The nodes, measured on
/// 7.0.15 (MEMORY USAGE of streams of 1, 2, 3 nodes and of PELs of 10): one
/// for an empty tree, two for one ID, 2n + 2 for more.
fn rax(elements: u64) -> u64 {
    let nodes = match elements {
        0 => 1,
        1 => 2,
        n => 2 * n + 2,
    };
    elements * 16 + nodes * RAX_NODE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_round_to_jemalloc_classes() {
        let classes: Vec<u64> = [1, 8, 9, 17, 24, 48, 49, 128, 129, 161, 257, 513, 4097, 14_337, 16_385]
            .iter()
            .map(|&n| alloc(n))
            .collect();
        assert_eq!(classes, [8, 8, 16, 32, 32, 48, 64, 128, 160, 192, 320, 640, 5120, 16_384, 20_480]);
    }

    #[test]
    fn strings_cost_what_memory_usage_says_on_a_real_server() {
        let usage_of = |v: &[u8], big| usage(b"k", &Data::Str(v.into()), big, DEFAULT_SAMPLES);
        // `SET k 1` 48, `SET k hello` 64, 44 and 45 bytes, 100 bytes, `APPEND` to hello.
        assert_eq!(usage_of(b"1", false), 48);
        assert_eq!(usage_of(b"hello", false), 64);
        assert_eq!(usage_of(&[b'x'; 44], false), 96);
        assert_eq!(usage_of(&[b'x'; 45], false), 112);
        assert_eq!(usage_of(&[b'x'; 100], false), 160);
        assert_eq!(usage_of(b"helloxyz", true), 80);
    }

    #[test]
    fn scores_cost_what_their_printed_form_costs() {
        let mut rng = sim::Rng::stream(6, "score-entry");
        let fixed =
            [0.0, -0.0, 1.0, -1.0, 127.0, 128.0, -4096.0, 1.5, 1e17, -1e17, 4_503_599_627_370_495.0, f64::INFINITY];
        let drawn = (0..20_000).map(|_| {
            let magnitude = 10f64.powi(rng.below(20) as i32);
            let v = (rng.next_u64() % 2_000_001) as f64 / 1_000_000.0 - 1.0;
            if rng.chance(0.5) { (v * magnitude).trunc() } else { v * magnitude }
        });
        for score in fixed.into_iter().chain(drawn) {
            let printed = crate::zset::d2string(score);
            assert_eq!(score_entry_bytes(score), crate::stream::entry_bytes(printed.as_bytes()) as u64, "{printed}");
        }
    }

    #[test]
    fn dict_buckets_double_when_full() {
        let slots: Vec<u64> = [0, 1, 4, 5, 8, 9, 1000].iter().map(|&n| dict_slots(n)).collect();
        assert_eq!(slots, [0, 4, 4, 8, 8, 16, 1024]);
    }
}
