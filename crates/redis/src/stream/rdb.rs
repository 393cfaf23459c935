//! A stream in RDB (`RDB_TYPE_STREAM_LISTPACKS_2`, type 19), as Redis 7.0
//! writes it: the radix tree's nodes (16-byte big-endian master ID, then the
//! node's listpack), the length, last/first/max-deleted IDs, entries-added,
//! then each group: name, last ID, entries-read, its PEL (raw ID, delivery
//! time little-endian, delivery count), its consumers (name, seen time, raw
//! IDs of their pending entries).

use super::{Consumer, Group, Nack, Stream, StreamId, listpack};
use crate::rdb::{RdbError, Reader, length, string};

/// The RDB type byte.
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;

fn id(out: &mut Vec<u8>, id: StreamId) {
    length(out, id.ms);
    length(out, id.seq);
}

/// The stream's body after its type byte.
pub fn write(out: &mut Vec<u8>, s: &Stream) {
    length(out, s.nodes.len() as u64);
    for (master, node) in &s.nodes {
        string(out, &master.encode());
        string(out, &listpack::encode(node));
    }
    length(out, s.length);
    id(out, s.last_id);
    id(out, s.first_id);
    id(out, s.max_deleted);
    length(out, s.entries_added);
    length(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        string(out, name);
        id(out, g.last_id);
        length(out, g.entries_read.unwrap_or(u64::MAX));
        length(out, g.pel.len() as u64);
        for (i, nack) in &g.pel {
            out.extend_from_slice(&i.encode());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            length(out, nack.delivery_count);
        }
        length(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            length(out, c.pel.len() as u64);
            for i in &c.pel {
                out.extend_from_slice(&i.encode());
            }
        }
    }
}

fn read_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId { ms: r.length()?, seq: r.length()? })
}

fn raw_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    let b: [u8; 16] = r.bytes(16)?.try_into().map_err(|_| RdbError::ShortRead)?;
    Ok(StreamId::decode(&b))
}

fn ms(r: &mut Reader<'_>) -> Result<i64, RdbError> {
    Ok(i64::from_le_bytes(r.bytes(8)?.try_into().map_err(|_| RdbError::ShortRead)?))
}

/// Reads a stream body written by [`write`] (or by Redis 7.0).
pub fn read(r: &mut Reader<'_>) -> Result<Stream, RdbError> {
    let mut s = Stream::default();
    for _ in 0..r.count()? {
        let key = r.string()?;
        let key: [u8; 16] = key.as_slice().try_into().map_err(|_| RdbError::BadStream)?;
        let node = listpack::decode(&r.string()?, StreamId::decode(&key))?;
        s.nodes.insert(StreamId::decode(&key), node);
    }
    s.length = r.length()?;
    s.last_id = read_id(r)?;
    s.first_id = read_id(r)?;
    s.max_deleted = read_id(r)?;
    s.entries_added = r.length()?;
    if s.nodes.values().map(|n| n.live as u64).sum::<u64>() != s.length {
        return Err(RdbError::BadStream);
    }
    for _ in 0..r.count()? {
        let name = r.string()?;
        let g = read_group(r)?;
        s.groups.insert(name, g);
    }
    Ok(s)
}

fn read_group(r: &mut Reader<'_>) -> Result<Group, RdbError> {
    let last_id = read_id(r)?;
    let read = r.length()?;
    let mut g = Group {
        last_id,
        entries_read: (read != u64::MAX).then_some(read),
        pel: Default::default(),
        consumers: Default::default(),
    };
    for _ in 0..r.count()? {
        let i = raw_id(r)?;
        let delivery_time = ms(r)?;
        let delivery_count = r.length()?;
        g.pel.insert(i, Nack { consumer: Vec::new(), delivery_time, delivery_count });
    }
    let mut owned = std::collections::BTreeSet::new();
    for _ in 0..r.count()? {
        let name = r.string()?;
        let mut c = Consumer { seen_time: ms(r)?, ..Consumer::default() };
        for _ in 0..r.count()? {
            let i = raw_id(r)?;
            // Every consumer's pending entry is one of the group's, owned once.
            let nack = g.pel.get_mut(&i).filter(|_| owned.insert(i)).ok_or(RdbError::BadStream)?;
            nack.consumer = name.clone();
            c.pel.insert(i);
        }
        g.consumers.insert(name, c);
    }
    if owned.len() != g.pel.len() {
        return Err(RdbError::BadStream);
    }
    Ok(g)
}
