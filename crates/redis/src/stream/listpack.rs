//! A stream node as the listpack Redis keeps it in (t_stream.c's layout): the
//! master entry `count, deleted, num-fields, field..., 0`, then per entry
//! `flags, ms-diff, seq-diff, [num-fields, field, value... | value...], lp-count`,
//! the fields left out (SAMEFIELDS) when they are the master entry's.

use super::{Entry, Node, StreamId};
use crate::rdb::RdbError;
use std::borrow::Cow;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// One listpack element.
enum Elem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

fn count(n: usize) -> Elem<'static> {
    Elem::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Visits the listpack elements of `node` in order.
fn elements<'n>(node: &'n Node, mut visit: impl FnMut(Elem<'n>)) {
    master_elements(node, &mut visit);
    let master = node.master_id();
    for e in &node.entries {
        entry_elements(e, &node.master_fields, master, &mut visit);
    }
}

/// The master entry's elements: counts of live and deleted entries, the fields.
fn master_elements<'n>(node: &'n Node, mut visit: impl FnMut(Elem<'n>)) {
    visit(count(node.live));
    visit(count(node.entries.len() - node.live));
    visit(count(node.master_fields.len()));
    node.master_fields.iter().for_each(|f| visit(Elem::Bytes(f)));
    visit(Elem::Int(0));
}

/// One entry's elements in a node whose master entry has `master_fields`
/// and the ID `master`.
fn entry_elements<'n>(e: &'n Entry, master_fields: &[Vec<u8>], master: StreamId, mut visit: impl FnMut(Elem<'n>)) {
    let same = e.fields.len() == master_fields.len() && e.fields.iter().zip(master_fields).all(|((f, _), m)| f == m);
    let flags = if e.deleted { FLAG_DELETED } else { 0 } | if same { FLAG_SAMEFIELDS } else { 0 };
    visit(Elem::Int(flags));
    visit(Elem::Int(e.id.ms.wrapping_sub(master.ms) as i64));
    visit(Elem::Int(e.id.seq.wrapping_sub(master.seq) as i64));
    let n = e.fields.len();
    if same {
        e.fields.iter().for_each(|(_, v)| visit(Elem::Bytes(v)));
        visit(count(n + 3));
    } else {
        visit(count(n));
        e.fields.iter().for_each(|(f, v)| {
            visit(Elem::Bytes(f));
            visit(Elem::Bytes(v));
        });
        visit(count(2 * n + 4));
    }
}

/// An element's bytes in a listpack, its back-length included.
fn elem_bytes(e: Elem<'_>) -> usize {
    match e {
        Elem::Int(n) => with_backlen(int_len(n)),
        Elem::Bytes(b) => entry_bytes(b),
    }
}

/// The bytes entry `e` takes in a node whose master entry has
/// `master_fields` and the ID `master`: the same once it is deleted (its
/// flags stay a one-byte integer), so a node keeps its entries' sum.
pub(super) fn entry_size(e: &Entry, master_fields: &[Vec<u8>], master: StreamId) -> usize {
    let mut total = 0;
    entry_elements(e, master_fields, master, |x| total += elem_bytes(x));
    total
}

/// The node's listpack bytes.
pub(crate) fn encode(node: &Node) -> Vec<u8> {
    let mut owned: Vec<Cow<'_, [u8]>> = Vec::new();
    elements(node, |e| {
        owned.push(match e {
            Elem::Int(n) => Cow::Owned(n.to_string().into_bytes()),
            Elem::Bytes(b) => Cow::Borrowed(b),
        })
    });
    let refs: Vec<&[u8]> = owned.iter().map(|c| c.as_ref()).collect();
    crate::rdb::listpack(&refs)
}

/// `lpBytes` of the node's listpack, counted without building it: the
/// master entry's elements, and the entries' sum the node keeps.
pub(crate) fn node_bytes(node: &Node) -> usize {
    let mut total = 7 + node.entries_bytes; // header and end marker
    master_elements(node, |e| total += elem_bytes(e));
    debug_assert_eq!(total, node_bytes_walked(node), "a node's entries changed behind its back");
    total
}

/// [`node_bytes`] from every element of the node.
fn node_bytes_walked(node: &Node) -> usize {
    let mut total = 7;
    elements(node, |e| total += elem_bytes(e));
    total
}

/// One string entry's bytes in a listpack with its back-length: an integer
/// if it reads as one (`lpStringToInt64`), else a 1, 2 or 5 byte header.
pub(crate) fn entry_bytes(b: &[u8]) -> usize {
    with_backlen(match crate::rdb::as_int(b) {
        Some(n) => int_len(n),
        None if b.len() < 64 => 1 + b.len(),
        None if b.len() < 4096 => 2 + b.len(),
        None => 5 + b.len(),
    })
}

/// An integer entry's bytes in a listpack with its back-length (what
/// [`entry_bytes`] gives for its decimal text).
pub(crate) fn int_entry_bytes(n: i64) -> usize {
    with_backlen(int_len(n))
}

/// An integer entry's encoding and body size (`lpEncodeIntegerGetType`).
fn int_len(n: i64) -> usize {
    match n {
        0..=127 => 1,
        -4096..=4095 => 2,
        _ if i16::try_from(n).is_ok() => 3,
        -8_388_608..=8_388_607 => 4,
        _ if i32::try_from(n).is_ok() => 5,
        _ => 9,
    }
}

/// An entry's size with its back-length (`lpEncodeBacklen`).
fn with_backlen(len: usize) -> usize {
    len + match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
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
    let first = entries.first().map_or(StreamId::MIN, |e| e.id);
    let entries_bytes = entries.iter().map(|e| entry_size(e, &master_fields, first)).sum();
    Ok(Node { master_fields, entries, live, entries_bytes, prealloc: super::NODE_PREALLOC })
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
