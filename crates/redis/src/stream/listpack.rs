//! A stream node as the listpack Redis keeps it in (t_stream.c's layout): the
//! master entry `count, deleted, num-fields, field..., 0`, then per entry
//! `flags, ms-diff, seq-diff, [num-fields, field, value... | value...], lp-count`,
//! the fields left out (SAMEFIELDS) when they are the master entry's.

use super::{Entry, Node, StreamId};
use crate::rdb::RdbError;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// The listpack elements of `node`, integers as their decimals (a listpack
/// stores a canonical decimal as an integer either way).
fn elements(node: &Node) -> Vec<Vec<u8>> {
    let int = |n: i64| n.to_string().into_bytes();
    let mut out = vec![int(node.live as i64), int((node.entries.len() - node.live) as i64)];
    out.push(int(node.master_fields.len() as i64));
    out.extend(node.master_fields.iter().cloned());
    out.push(int(0));
    let master = node.master_id();
    for e in &node.entries {
        let same = e.fields.len() == node.master_fields.len()
            && e.fields.iter().zip(&node.master_fields).all(|((f, _), m)| f == m);
        let flags = if e.deleted { FLAG_DELETED } else { 0 } | if same { FLAG_SAMEFIELDS } else { 0 };
        out.push(int(flags));
        out.push(int(e.id.ms.wrapping_sub(master.ms) as i64));
        out.push(int(e.id.seq.wrapping_sub(master.seq) as i64));
        let n = e.fields.len();
        if same {
            out.extend(e.fields.iter().map(|(_, v)| v.clone()));
            out.push(int(n as i64 + 3));
        } else {
            out.push(int(n as i64));
            out.extend(e.fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()]));
            out.push(int(2 * n as i64 + 4));
        }
    }
    out
}

/// The node's listpack bytes.
pub(crate) fn encode(node: &Node) -> Vec<u8> {
    let elements = elements(node);
    let refs: Vec<&[u8]> = elements.iter().map(Vec::as_slice).collect();
    crate::rdb::listpack(&refs)
}

/// `lpBytes` of the node's listpack.
pub(crate) fn node_bytes(node: &Node) -> usize {
    let mut scratch = Vec::new();
    let mut total = 7;
    for e in elements(node) {
        scratch.clear();
        crate::rdb::listpack_entry(&mut scratch, &e);
        total += scratch.len();
    }
    total
}

/// Reads a node's listpack back, its entries' IDs relative to `master`.
pub(crate) fn decode(blob: &[u8], master: StreamId) -> Result<Node, RdbError> {
    let items = crate::rdb::read_listpack(blob)?;
    let mut c = Cursor { items: &items, at: 0 };
    let live = c.count()?;
    c.int()?; // deleted
    let nfields = c.count()?;
    let master_fields = (0..nfields).map(|_| c.bytes()).collect::<Result<Vec<_>, _>>()?;
    if c.int()? != 0 {
        return Err(RdbError::Listpack);
    }
    let mut entries = Vec::new();
    while c.at < items.len() {
        let flags = c.int()?;
        let ms = master.ms.wrapping_add(c.int()? as u64);
        let seq = master.seq.wrapping_add(c.int()? as u64);
        let fields = if flags & FLAG_SAMEFIELDS != 0 {
            master_fields.iter().map(|f| Ok((f.clone(), c.bytes()?))).collect::<Result<Vec<_>, RdbError>>()?
        } else {
            let n = c.count()?;
            (0..n).map(|_| Ok((c.bytes()?, c.bytes()?))).collect::<Result<Vec<_>, RdbError>>()?
        };
        c.int()?; // lp-count
        entries.push(Entry { id: StreamId { ms, seq }, fields, deleted: flags & FLAG_DELETED != 0 });
    }
    if entries.iter().filter(|e| !e.deleted).count() != live || entries.is_empty() {
        return Err(RdbError::Listpack);
    }
    Ok(Node { master_fields, entries, live })
}

/// Reads a listpack's elements in turn; running out is a malformed listpack.
struct Cursor<'a> {
    items: &'a [Vec<u8>],
    at: usize,
}

impl Cursor<'_> {
    fn bytes(&mut self) -> Result<Vec<u8>, RdbError> {
        let b = self.items.get(self.at).ok_or(RdbError::Listpack)?;
        self.at += 1;
        Ok(b.clone())
    }

    fn int(&mut self) -> Result<i64, RdbError> {
        crate::commands::parse_int(&self.bytes()?).ok_or(RdbError::Listpack)
    }

    /// A count, bounded by the elements left (so a hostile one allocates nothing).
    fn count(&mut self) -> Result<usize, RdbError> {
        usize::try_from(self.int()?).ok().filter(|&n| n <= self.items.len()).ok_or(RdbError::Listpack)
    }
}
