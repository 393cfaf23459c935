//! Streams (t_stream.c): the value type as Redis 7.0 lays it out (entries in
//! listpack nodes of at most `stream-node-max-entries` 100 entries and
//! `stream-node-max-bytes` 4096 bytes, keyed by their first ID, tombstones
//! kept until a node's last live entry goes), consumer groups with their
//! pending entries, and the commands ([`commands`], [`groups`], [`info`]).
//! The node layout matters to users: approximate trimming (`~`) removes only
//! whole nodes, and XINFO reports the radix tree's size.

pub(crate) mod commands;
pub(crate) mod groups;
pub(crate) mod info;
mod listpack;
pub(crate) use listpack::{entry_bytes, int_entry_bytes, node_bytes};
pub(crate) mod rdb;

use std::collections::{BTreeMap, BTreeSet};

/// `STREAM_LISTPACK_MAX_SIZE`: a node's bytes when `stream-node-max-bytes` is 0 or above it.
const NODE_MAX_SIZE: usize = 1 << 30;
/// `STREAM_LISTPACK_MAX_PRE_ALLOCATE`: a new node's listpack is allocated this big.
pub(crate) const NODE_PREALLOC: usize = 4096;

/// A stream entry ID: milliseconds and sequence, ordered as Redis compares them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The milliseconds part.
    pub ms: u64,
    /// The sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The greatest ID (`+`).
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };
    /// The smallest ID (`-`, and `0-0`).
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };

    /// `streamIncrID`: the next ID, or `None` past the greatest.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId { ms: ms + 1, seq: 0 }),
            (ms, seq) => Some(StreamId { ms, seq: seq + 1 }),
        }
    }

    /// `streamDecrID`: the previous ID, or `None` before the smallest.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId { ms: ms - 1, seq: u64::MAX }),
            (ms, seq) => Some(StreamId { ms, seq: seq - 1 }),
        }
    }

    /// `<ms>-<seq>`, as replies and propagation print it.
    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }

    /// The 16-byte big-endian radix tree key (`streamEncodeID`).
    pub fn encode(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    /// The inverse of [`StreamId::encode`].
    pub fn decode(b: &[u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        StreamId {
            ms: u64::from_be_bytes(ms.try_into().unwrap_or_default()),
            seq: u64::from_be_bytes(seq.try_into().unwrap_or_default()),
        }
    }
}

/// One entry of a node: live or a tombstone (XDEL and exact trimming only mark).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its ID.
    pub id: StreamId,
    /// Field-value pairs, in the order given.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// Marked deleted.
    pub deleted: bool,
}

/// One listpack node of the radix tree: its master entry's fields and its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The fields of the first entry added, which later entries may share.
    pub master_fields: Vec<Vec<u8>>,
    /// Entries in ID order, tombstones included.
    pub entries: Vec<Entry>,
    /// Live entries (the master entry's `count`).
    pub live: usize,
    /// The listpack bytes of `entries` ([`listpack::entry_size`]), summed
    /// as they come ([`Node::new`], [`Node::push`]): a write measures the
    /// node without walking it. Entries are only ever added or marked deleted.
    entries_bytes: usize,
    /// The bytes its listpack was created with (`stream-node-max-bytes` when
    /// below 4096, as XADD found it), which the tail node keeps allocated.
    pub(crate) prealloc: usize,
}

impl Node {
    /// A node holding `first`, whose fields become the master entry's.
    fn new(first: Entry, prealloc: usize) -> Node {
        let master_fields: Vec<Vec<u8>> = first.fields.iter().map(|(f, _)| f.clone()).collect();
        let entries_bytes = listpack::entry_size(&first, &master_fields, first.id);
        let live = usize::from(!first.deleted);
        Node { master_fields, entries: vec![first], live, entries_bytes, prealloc }
    }

    /// Appends a live entry.
    fn push(&mut self, entry: Entry) {
        self.entries_bytes += listpack::entry_size(&entry, &self.master_fields, self.master_id());
        self.entries.push(entry);
        self.live += 1;
    }

    /// The node's key: the ID of its first entry, live or not.
    fn master_id(&self) -> StreamId {
        self.entries.first().map_or(StreamId::MIN, |e| e.id)
    }

    /// `lpBytes` of the node's listpack.
    fn bytes(&self) -> usize {
        listpack::node_bytes(self)
    }
}

/// A pending entry of a group (`streamNACK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// Its owner.
    pub consumer: Vec<u8>,
    /// Last delivery, ms of the node's clock.
    pub delivery_time: i64,
    /// Deliveries so far.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Last time it read or claimed, ms.
    pub seen_time: i64,
    /// The IDs it owns in the group's PEL.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group (`streamCG`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Last delivered ID.
    pub last_id: StreamId,
    /// The logical read counter; `None` when unknown (SCG_INVALID_ENTRIES_READ).
    pub entries_read: Option<u64>,
    /// Pending entries by ID.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name.
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

/// A stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stream {
    /// Nodes by their master ID.
    pub nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    pub length: u64,
    /// The last ID generated or set.
    pub last_id: StreamId,
    /// The first live entry's ID when it was recorded (0-0 when empty).
    pub first_id: StreamId,
    /// The greatest ID XDEL removed.
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// How XADD/XTRIM trim (`streamAddTrimArgs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Down to this many entries.
    MaxLen(u64),
    /// Entries below this ID.
    MinId(StreamId),
}

impl Stream {
    /// Appends an entry with `id` (checked by the caller to be above `last_id`),
    /// in the tail node if it has room under the `stream-node-max-*` limits,
    /// else in a new node (`streamAppendItem`).
    pub fn append(&mut self, id: StreamId, fields: Vec<(Vec<u8>, Vec<u8>)>, limits: &crate::encoding::Limits) {
        let payload: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let max_bytes = match limits.stream_node_bytes {
            0 => NODE_MAX_SIZE,
            n => n.min(NODE_MAX_SIZE),
        };
        let max_entries = limits.stream_node_entries;
        let tail = self
            .nodes
            .values_mut()
            .next_back()
            .filter(|n| n.bytes() + payload < max_bytes && (max_entries == 0 || n.entries.len() < max_entries));
        let entry = Entry { id, fields, deleted: false };
        match tail {
            Some(node) => node.push(entry),
            None => {
                let prealloc = match limits.stream_node_bytes {
                    n @ 1..NODE_PREALLOC => n,
                    _ => NODE_PREALLOC,
                };
                self.nodes.insert(id, Node::new(entry, prealloc));
            }
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Live entries from `start` to `end` inclusive, in order or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Box<dyn Iterator<Item = &Entry> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        // The node holding `start` begins at or before it.
        let from = self.nodes.range(..=start).next_back().map_or(StreamId::MIN, |(k, _)| *k);
        let nodes = self.nodes.range(from..=end).map(|(_, n)| n);
        let keep = move |e: &&Entry| !e.deleted && e.id >= start && e.id <= end;
        if rev {
            Box::new(nodes.rev().flat_map(|n| n.entries.iter().rev()).filter(keep))
        } else {
            Box::new(nodes.flat_map(|n| n.entries.iter()).filter(keep))
        }
    }

    /// The live entry `id`, if there is one.
    pub fn get(&self, id: StreamId) -> Option<&Entry> {
        self.range(id, id, false).next()
    }

    /// The first (or last) entry's ID, tombstones skipped or not
    /// (`streamGetEdgeID`); without one, the greatest (or smallest) ID.
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut all = self.nodes.values().flat_map(|n| n.entries.iter());
        let found = if first {
            all.find(|e| !skip_tombstones || !e.deleted)
        } else {
            all.rev().find(|e| !skip_tombstones || !e.deleted)
        };
        found.map_or(if first { StreamId::MAX } else { StreamId::MIN }, |e| e.id)
    }

    /// The last live ID (`streamLastValidID`), 0-0 when empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, true).next().map_or(StreamId::MIN, |e| e.id)
    }

    /// Marks `id` deleted, dropping its node with its last live entry
    /// (`streamDeleteItem`); whether it was there.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else { return false };
        let Some(entry) = node.entries.iter_mut().find(|e| e.id == id && !e.deleted) else { return false };
        entry.deleted = true;
        node.live -= 1;
        if node.live == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        true
    }

    /// `streamTrim`: whole nodes first; past the first node that cannot go
    /// whole, an exact trim marks entries in it and stops, an approximate one
    /// stops at once. `limit` (0: none) caps the entries removed, by node.
    /// Returns how many entries went.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&key, node)) = self.nodes.iter_mut().next() {
            if let Trim::MaxLen(max) = how
                && self.length <= max
            {
                break;
            }
            let live = node.live as u64;
            if limit != 0 && deleted + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => self.length - live >= max,
                Trim::MinId(min) => node.entries.last().is_some_and(|e| e.id < min),
            };
            if whole {
                self.nodes.remove(&key);
                self.length -= live;
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            for e in &mut node.entries {
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted {
                    e.deleted = true;
                    node.live -= 1;
                    self.length -= 1;
                    deleted += 1;
                }
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Whether a tombstone may lie between `start` and the end
    /// (`streamRangeHasTombstones` with no end).
    fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted == StreamId::MIN || self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// `streamEstimateDistanceFromFirstEverEntry`: `id`'s logical read counter, if known.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag (`streamReplyWithCGLag`), if it can be known.
    pub fn lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read
            && !self.has_tombstones_from(group.last_id)
        {
            return Some(self.entries_added.wrapping_sub(read));
        }
        self.estimate_distance(group.last_id).map(|read| self.entries_added - read)
    }

    /// Moves a group's last ID past an entry it delivers (the counter part
    /// of `streamReplyWithRange`).
    pub(crate) fn advance_group(&self, group: &mut Group, id: StreamId) {
        if id <= group.last_id {
            return;
        }
        match group.entries_read {
            Some(n) if !self.has_tombstones_from(id) => group.entries_read = Some(n + 1),
            _ if self.entries_added > 0 => group.entries_read = self.estimate_distance(id),
            _ => {}
        }
        group.last_id = id;
    }

    /// `raxSize` of the nodes.
    pub fn rax_keys(&self) -> usize {
        self.nodes.len()
    }

    /// `rax->numnodes`: the radix tree over the nodes' 16-byte keys as rax
    /// builds it, chains of single-child non-key nodes compressed into one.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.encode()).collect();
        rax_node_count(&keys)
    }
}

/// The nodes of a compressed radix tree over sorted, equal-length keys: the
/// root, every branching point, every child of a branching point, and every key.
fn rax_node_count(keys: &[[u8; 16]]) -> usize {
    // Children per prefix (by length and bytes).
    let mut children: BTreeMap<&[u8], BTreeSet<u8>> = BTreeMap::new();
    for k in keys {
        for len in 0..16 {
            children.entry(&k[..len]).or_default().insert(k[len]);
        }
    }
    let mut nodes = 1; // the root
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    for k in keys {
        for len in 1..=16 {
            let prefix = &k[..len];
            let branching_parent = children.get(&k[..len - 1]).is_some_and(|c| c.len() > 1);
            let here = len == 16 || branching_parent || children.get(prefix).is_some_and(|c| c.len() > 1);
            if here && seen.insert(prefix) {
                nodes += 1;
            }
        }
    }
    nodes
}

/// "Invalid stream ID specified as stream command argument".
pub(crate) fn invalid_id() -> resp::Value {
    resp::Value::error("ERR Invalid stream ID specified as stream command argument")
}

/// `string2ull`: digits only, no sign, no overflow.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// How an ID argument was written (`streamGenericParseIDOrReply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParsedId {
    pub(crate) id: StreamId,
    /// False for `<ms>-*`.
    pub(crate) seq_given: bool,
}

/// Parses `<ms>[-<seq>]`, `-` and `+` (unless `strict`), and `<ms>-*` when
/// `allow_star`; a missing sequence is `missing_seq`.
pub(crate) fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, allow_star: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // C reads up to the first NUL.
    let arg = arg.split(|&b| b == 0).next().unwrap_or(arg);
    let given = |id| Some(ParsedId { id, seq_given: true });
    match arg {
        b"-" if !strict => return given(StreamId::MIN),
        b"+" if !strict => return given(StreamId::MAX),
        b"-" | b"+" => return None,
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
        Some(at) => (&arg[..at], Some(&arg[at + 1..])),
        None => (arg, None),
    };
    let ms = parse_u64(ms)?;
    match seq {
        Some(b"*") if allow_star => Some(ParsedId { id: StreamId { ms, seq: 0 }, seq_given: false }),
        Some(seq) => given(StreamId { ms, seq: parse_u64(seq)? }),
        None => given(StreamId { ms, seq: missing_seq }),
    }
}

/// An ID that is not `-` or `+`.
pub(crate) fn strict_id(arg: &[u8]) -> Result<StreamId, resp::Value> {
    parse_id(arg, 0, true, false).map(|p| p.id).ok_or_else(invalid_id)
}

/// A range bound (`streamParseIntervalIDOrReply`): `(` makes it exclusive.
pub(crate) fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), resp::Value> {
    match arg.strip_prefix(b"(") {
        Some(rest) if arg.len() > 1 => {
            parse_id(rest, missing_seq, true, false).map(|p| (p.id, true)).ok_or_else(invalid_id)
        }
        _ => parse_id(arg, missing_seq, false, false).map(|p| (p.id, false)).ok_or_else(invalid_id),
    }
}

/// A range's start: exclusive moves to the next ID.
pub(crate) fn range_start(arg: &[u8]) -> Result<StreamId, resp::Value> {
    let (id, ex) = interval_id(arg, 0)?;
    if ex {
        return id.next().ok_or_else(|| resp::Value::error("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

/// A range's end: exclusive moves to the previous ID.
pub(crate) fn range_end(arg: &[u8]) -> Result<StreamId, resp::Value> {
    let (id, ex) = interval_id(arg, u64::MAX)?;
    if ex {
        return id.prev().ok_or_else(|| resp::Value::error("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

/// An entry as replies carry it: its ID and its flat fields.
pub(crate) fn entry_reply(e: &Entry) -> resp::Value {
    let flat = e.fields.iter().flat_map(|(f, v)| [resp::Value::Bulk(f.clone()), resp::Value::Bulk(v.clone())]);
    resp::Value::Array(vec![resp::Value::Bulk(e.id.to_bytes()), resp::Value::Array(flat.collect())])
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_repl;
