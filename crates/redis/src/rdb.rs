//! Snapshots in the RDB file format (version 10, as Redis 7.0 writes), and the
//! object encoding shared with DUMP/RESTORE ([`write_object`], [`read_object`]).
//! Values use Redis 7.0's own encodings for our value types: integer-encoded
//! and LZF-compressed strings, intsets, listpack hashes, quicklist (listpack
//! nodes) lists, with the same size thresholds, so a DUMP payload is
//! byte-identical to Redis's (apart from hashtable order, which Redis leaves to
//! its hash seed). Files end with a zero checksum, which Redis accepts as
//! "checksum disabled", so a `dump.rdb` written here loads in a real
//! redis-server. The aux fields carry the replication id and offset, which is
//! what lets a restarted replica ask for a partial resync.

use crate::encoding::Limits;
use crate::keyspace::{Data, Db};

const MAGIC: &[u8] = b"REDIS0010";
const OP_FUNCTION2: u8 = crate::scripting::functions::RDB_OPCODE_FUNCTION2;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// `rdb.h`'s `RDB_VERSION`, also the version a DUMP payload carries.
pub const RDB_VERSION: u16 = 10;
/// A quicklist node holding a listpack (`QUICKLIST_NODE_CONTAINER_PACKED`).
const QUICKLIST_PACKED: u64 = 2;

/// Replication state stored with a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplInfo {
    /// `repl-id`.
    pub replid: String,
    /// `repl-offset`.
    pub offset: i64,
    /// `repl-stream-db`.
    pub stream_db: usize,
}

/// A loaded snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The databases (as many as the file names, padded by the caller).
    pub dbs: Vec<(usize, Db)>,
    /// The creation time (`ctime` aux, unix seconds).
    pub ctime: i64,
    /// The `used-mem` aux field.
    pub used_mem: u64,
    /// Replication info, if the file has it.
    pub repl: Option<ReplInfo>,
    /// The function libraries' code (`RDB_OPCODE_FUNCTION2` records).
    pub functions: Vec<Vec<u8>>,
}

/// Encodes the dataset and the function libraries' code. `now_ms` is the creation time.
pub fn encode(dbs: &[Db], functions: &[Vec<u8>], now_ms: i64, repl: Option<&ReplInfo>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(MAGIC);
    let used_mem = approx_memory(dbs);
    let mut aux = |k: &str, v: &str| {
        out.push(OP_AUX);
        string(&mut out, k.as_bytes());
        string(&mut out, v.as_bytes());
    };
    aux("redis-ver", crate::server::VERSION);
    aux("redis-bits", "64");
    aux("ctime", &(now_ms / 1000).to_string());
    aux("used-mem", &used_mem.to_string());
    if let Some(r) = repl {
        aux("repl-stream-db", &r.stream_db.to_string());
        aux("repl-id", &r.replid);
        aux("repl-offset", &r.offset.to_string());
    }
    aux("aof-base", "0");
    for code in functions {
        out.push(OP_FUNCTION2);
        string(&mut out, code);
    }
    for (i, db) in dbs.iter().enumerate().filter(|(_, db)| !db.keys.is_empty()) {
        out.push(OP_SELECTDB);
        length(&mut out, i as u64);
        out.push(OP_RESIZEDB);
        length(&mut out, db.keys.len() as u64);
        length(&mut out, db.expires.len() as u64);
        for (key, value) in db.keys.entries_in_order() {
            if let Some(at) = db.expires.get(key) {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            let converted = db.big.contains(key);
            out.push(object_type(value, converted));
            string(&mut out, key);
            write_object(&mut out, value, converted);
        }
    }
    out.push(OP_EOF);
    // A zero checksum tells Redis the checksum is disabled.
    out.extend_from_slice(&[0; 8]);
    out
}

/// A rough `used_memory` for the dataset, as INFO and the RDB's `used-mem` report
/// it: Redis's baseline of about 0.9 MB plus the bytes held.
pub fn approx_memory(dbs: &[Db]) -> u64 {
    let mut bytes = 0u64;
    for db in dbs {
        for (k, v) in db.keys.iter_unordered() {
            bytes += k.len() as u64 + 56;
            bytes += match v {
                Data::Str(s) => s.len() as u64 + 16,
                Data::List(l) => l.iter().map(|i| i.len() as u64 + 11).sum::<u64>() + 32,
                Data::Set(s) => s.iter().map(|m| m.len() as u64 + 40).sum::<u64>() + 32,
                Data::Hash(h) => h.iter().map(|(f, v)| (f.len() + v.len()) as u64 + 4).sum::<u64>() + 32,
                Data::ZSet(z) => z.iter().map(|(m, _)| m.len() as u64 + 48).sum::<u64>() + 32,
                Data::Stream(s) => s.nodes.values().map(|n| crate::stream::node_bytes(n) as u64 + 32).sum::<u64>() + 64,
            };
        }
    }
    985_000 + bytes
}

pub(crate) fn length(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbSaveRawString`: a short decimal that fits 32 bits as an integer, a
/// string longer than 20 bytes LZF-compressed if that saves 4 bytes or more
/// (`rdbcompression yes`), anything else as length and bytes.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11
        && let Some(n) = crate::commands::parse_int(s).filter(|n| n.to_string().as_bytes() == s)
    {
        if let Ok(n) = i8::try_from(n) {
            out.extend_from_slice(&[ENC_INT8, n as u8]);
            return;
        }
        if let Ok(n) = i16::try_from(n) {
            out.push(ENC_INT16);
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
        if let Ok(n) = i32::try_from(n) {
            out.push(ENC_INT32);
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
    }
    if s.len() > 20
        && let Some(packed) = crate::lzf::compress(s, s.len() - 4)
    {
        out.push(ENC_LZF);
        length(out, packed.len() as u64);
        length(out, s.len() as u64);
        out.extend_from_slice(&packed);
        return;
    }
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

const ENC_INT8: u8 = 0xC0;
const ENC_INT16: u8 = 0xC1;
const ENC_INT32: u8 = 0xC2;
const ENC_LZF: u8 = 0xC3;

/// The canonical decimal an intset or a listpack stores as an integer (`string2ll` round trip).
pub(crate) fn as_int(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    // `string2ll` takes no sign but `-`, no leading zero, no "-0" and nothing
    // around the digits, so what it reads prints back the same.
    crate::commands::parse_int(s)
}

/// OBJECT ENCODING of a string as SET stores it (`tryObjectEncoding`): `int`
/// for a canonical 64-bit integer, `embstr` up to 44 bytes, else `raw`.
#[inline]
pub(crate) fn string_encoding(s: &[u8]) -> &'static str {
    if as_int(s).is_some() {
        "int"
    } else if s.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

/// An intset's members, sorted.
fn intset_members(members: &std::collections::BTreeSet<Vec<u8>>) -> Vec<i64> {
    let mut ints: Vec<i64> = members.iter().filter_map(|m| as_int(m)).collect();
    ints.sort_unstable();
    ints
}

/// The RDB type byte Redis 7.0 writes for this value's encoding; `big`:
/// Redis holds it in its big encoding ([`crate::keyspace::Db::encoding`]).
pub fn object_type(value: &Data, big: bool) -> u8 {
    match value {
        Data::Str(_) => TYPE_STRING,
        Data::List(_) => TYPE_LIST_QUICKLIST_2,
        Data::Set(_) if !big => TYPE_SET_INTSET,
        Data::Set(_) => TYPE_SET,
        Data::Hash(_) if !big => TYPE_HASH_LISTPACK,
        Data::Hash(_) => TYPE_HASH,
        Data::ZSet(_) if !big => TYPE_ZSET_LISTPACK,
        Data::ZSet(_) => TYPE_ZSET_2,
        Data::Stream(_) => crate::stream::rdb::TYPE_STREAM_LISTPACKS_2,
    }
}

/// The value's body as `rdbSaveObject` writes it (after the [`object_type`] byte).
pub fn write_object(out: &mut Vec<u8>, value: &Data, big: bool) {
    match value {
        Data::Str(v) => string(out, v),
        Data::List(items) => {
            let nodes = quicklist_nodes(items);
            length(out, nodes.len() as u64);
            for node in nodes {
                length(out, QUICKLIST_PACKED);
                string(out, &node);
            }
        }
        Data::Set(members) if !big => string(out, &intset(&intset_members(members))),
        Data::Set(members) => {
            length(out, members.len() as u64);
            members.iter().for_each(|m| string(out, m));
        }
        Data::Hash(fields) if !big => {
            let flat: Vec<&[u8]> = fields.iter().flat_map(|(f, v)| [f.as_slice(), v.as_slice()]).collect();
            string(out, &listpack(&flat));
        }
        Data::Hash(fields) => {
            length(out, fields.len() as u64);
            for (f, v) in fields {
                string(out, f);
                string(out, v);
            }
        }
        // Members then scores as `d2string` prints them, lowest score first.
        Data::ZSet(z) if !big => {
            let scores: Vec<Vec<u8>> = z.iter().map(|(_, s)| crate::zset::d2string(s).into_bytes()).collect();
            let flat: Vec<&[u8]> = z.iter().zip(&scores).flat_map(|((m, _), s)| [m, s.as_slice()]).collect();
            string(out, &listpack(&flat));
        }
        // The skiplist from the greatest to the smallest, as `rdbSaveObject` writes it.
        Data::ZSet(z) => {
            length(out, z.len() as u64);
            for (m, s) in z.iter().rev() {
                string(out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Data::Stream(s) => crate::stream::rdb::write(out, s),
    }
}

/// A list's quicklist nodes as listpacks: those it keeps, else as RPUSH
/// fills them under the list's fill (`_quicklistNodeAllowInsert`,
/// [`crate::memory::size::NodeLimit`]). Lists shaped by LPUSH,
/// LINSERT or deletions can be split differently in Redis.
fn quicklist_nodes(list: &crate::memory::List) -> Vec<Vec<u8>> {
    let Some(counts) = list.node_counts() else { return quicklist_split(list) };
    let mut items = list.iter().map(Vec::as_slice);
    counts.iter().map(|&n| listpack(&items.by_ref().take(n as usize).collect::<Vec<_>>())).collect()
}

/// [`quicklist_nodes`] of a list whose nodes are not kept.
fn quicklist_split(list: &crate::memory::List) -> Vec<Vec<u8>> {
    let mut nodes = Vec::new();
    let mut current: Vec<&[u8]> = Vec::new();
    let mut node_bytes = LISTPACK_EMPTY_LEN;
    let mut scratch = Vec::new();
    let limit = crate::memory::size::NodeLimit::of(list.fill());
    for item in list.iter() {
        let (lp, count) = (node_bytes as u64, current.len() as u64);
        if !current.is_empty() && !limit.allows(lp, count, item.len() as u64) {
            nodes.push(listpack(&current));
            current.clear();
            node_bytes = LISTPACK_EMPTY_LEN;
        }
        current.push(item);
        scratch.clear();
        listpack_entry(&mut scratch, item);
        node_bytes += scratch.len();
    }
    if !current.is_empty() {
        nodes.push(listpack(&current));
    }
    nodes
}

/// Header (total bytes, count) and end marker.
const LISTPACK_EMPTY_LEN: usize = 7;

/// A listpack: total bytes and element count, then each entry, then 0xFF.
pub(crate) fn listpack(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0; 6];
    for e in entries {
        listpack_entry(&mut out, e);
    }
    out.push(0xFF);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let count = entries.len().min(65535) as u16;
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// One listpack entry (integer or string encoding) followed by its back-length.
pub(crate) fn listpack_entry(out: &mut Vec<u8>, e: &[u8]) {
    let start = out.len();
    match as_int(e) {
        Some(n @ 0..=127) => out.push(n as u8),
        Some(n @ -4096..=4095) => {
            let v = (n as u16) & 0x1FFF;
            out.extend_from_slice(&[0xC0 | (v >> 8) as u8, v as u8]);
        }
        Some(n) if i16::try_from(n).is_ok() => {
            out.push(0xF1);
            out.extend_from_slice(&(n as i16).to_le_bytes());
        }
        Some(n @ -8_388_608..=8_388_607) => {
            out.push(0xF2);
            out.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
        }
        Some(n) if i32::try_from(n).is_ok() => {
            out.push(0xF3);
            out.extend_from_slice(&(n as i32).to_le_bytes());
        }
        Some(n) => {
            out.push(0xF4);
            out.extend_from_slice(&n.to_le_bytes());
        }
        None if e.len() < 64 => {
            out.push(0x80 | e.len() as u8);
            out.extend_from_slice(e);
        }
        None if e.len() < 4096 => {
            out.extend_from_slice(&[0xE0 | (e.len() >> 8) as u8, e.len() as u8]);
            out.extend_from_slice(e);
        }
        None => {
            out.push(0xF0);
            out.extend_from_slice(&(e.len() as u32).to_le_bytes());
            out.extend_from_slice(e);
        }
    }
    let entry_len = out.len() - start;
    backlen(out, entry_len);
}

/// `lpEncodeBacklen`: the entry's length in 7-bit groups, most significant first,
/// every byte but the first with the high bit set.
fn backlen(out: &mut Vec<u8>, len: usize) {
    let groups = match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    for i in (0..groups).rev() {
        let bits = ((len >> (7 * i)) & 127) as u8;
        out.push(if i == groups - 1 { bits } else { bits | 128 });
    }
}

/// An intset: encoding width, count, then the sorted values little-endian.
fn intset(ints: &[i64]) -> Vec<u8> {
    let width: usize = if ints.iter().all(|&n| i16::try_from(n).is_ok()) {
        2
    } else if ints.iter().all(|&n| i32::try_from(n).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * ints.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for &n in ints {
        out.extend_from_slice(&n.to_le_bytes()[..width]);
    }
    out
}

/// Why a snapshot or a DUMP payload could not be read. The texts are Redis's
/// own (rdb.c), as they appear in its log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    /// The data ended inside an object.
    #[error("Short read or OOM loading DB. Unrecoverable error, aborting now.")]
    ShortRead,
    /// A length prefix of a kind RDB does not have.
    #[error("Unknown length encoding in rdbLoadLen()")]
    UnknownLength,
    /// A length that cannot fit in what was given.
    #[error("length out of range")]
    LengthOutOfRange,
    /// An LZF string that does not decompress to its stated length.
    #[error("Invalid LZF compressed string")]
    BadLzf,
    /// A special string encoding RDB does not have.
    #[error("Unknown RDB string encoding type {0}")]
    UnknownStringEncoding(u8),
    /// A hash listpack with a field and no value.
    #[error("Hash listpack with an odd number of entries")]
    OddHashListpack,
    /// A sorted-set score that is NaN or not a number.
    #[error("Zset with an invalid score")]
    BadZsetScore,
    /// A quicklist node container that is neither plain nor packed.
    #[error("Unknown quicklist container {0}")]
    UnknownContainer(u64),
    /// An object type this node does not have.
    #[error("Unknown RDB encoding type {0}")]
    UnknownType(u8),
    /// A malformed intset blob.
    #[error("Intset integrity check failed.")]
    Intset,
    /// A malformed listpack blob.
    #[error("Listpack integrity check failed.")]
    Listpack,
    /// A stream whose parts do not agree (a node key that is not an ID, a
    /// length that is not its live entries, a pending entry owned by no
    /// consumer or by two).
    #[error("Stream integrity check failed.")]
    BadStream,
    /// A DUMP payload with bytes after its object.
    #[error("trailing bytes after the object")]
    TrailingBytes,
    /// Not an RDB file.
    #[error("Wrong signature trying to load DB from file")]
    WrongSignature,
}

/// A cursor over RDB bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, at: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.at >= self.buf.len()
    }
}

impl Reader<'_> {
    pub(crate) fn byte(&mut self) -> Result<u8, RdbError> {
        let b = *self.buf.get(self.at).ok_or(RdbError::ShortRead)?;
        self.at += 1;
        Ok(b)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&[u8], RdbError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(RdbError::ShortRead)?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    pub(crate) fn length(&mut self) -> Result<u64, RdbError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => u64::from(first & 0x3F),
            1 => (u64::from(first & 0x3F) << 8) | u64::from(self.byte()?),
            _ if first == 0x80 => u64::from(u32::from_be_bytes(self.bytes(4)?.try_into().unwrap_or_default())),
            _ if first == 0x81 => u64::from_be_bytes(self.bytes(8)?.try_into().unwrap_or_default()),
            _ => return Err(RdbError::UnknownLength),
        })
    }

    /// `rdbGenericLoadStringObject`: plain, integer-encoded or LZF-compressed.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let first = *self.buf.get(self.at).ok_or(RdbError::ShortRead)?;
        if first >> 6 != 3 {
            let n = self.length()?;
            return Ok(self.bytes(usize::try_from(n).map_err(|_| RdbError::LengthOutOfRange)?)?.to_vec());
        }
        self.at += 1;
        let int = |b: &[u8]| -> i64 {
            match b.len() {
                1 => i64::from(b[0] as i8),
                2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
                _ => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            }
        };
        match first {
            ENC_INT8 => Ok(int(self.bytes(1)?).to_string().into_bytes()),
            ENC_INT16 => Ok(int(self.bytes(2)?).to_string().into_bytes()),
            ENC_INT32 => Ok(int(self.bytes(4)?).to_string().into_bytes()),
            ENC_LZF => {
                let packed = self.count()?;
                let plain = usize::try_from(self.length()?).map_err(|_| RdbError::LengthOutOfRange)?;
                // LZF expands at most ~256× per reference; anything larger is hostile.
                if plain > packed.saturating_mul(300) + 64 {
                    return Err(RdbError::BadLzf);
                }
                let bytes = self.bytes(packed)?;
                crate::lzf::decompress(bytes, plain).ok_or(RdbError::BadLzf)
            }
            _ => Err(RdbError::UnknownStringEncoding(first & 0x3F)),
        }
    }

    pub(crate) fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.length()?;
        // Each element needs at least one byte, which bounds hostile counts.
        usize::try_from(n).ok().filter(|&n| n <= self.buf.len()).ok_or(RdbError::LengthOutOfRange)
    }
}

/// Decodes one object body of type `kind` (`rdbLoadObject` for the types this
/// node has); what follows it is left unread.
fn read_object(r: &mut Reader<'_>, kind: u8, limits: &Limits) -> Result<Data, RdbError> {
    Ok(match kind {
        TYPE_STRING => Data::Str(crate::keyspace::str_from_vec(r.string()?)),
        TYPE_LIST => {
            let n = r.count()?;
            let mut list: crate::memory::List = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
            list.set_fill(limits.list_fill);
            Data::List(Box::new(list))
        }
        TYPE_SET => {
            let n = r.count()?;
            Data::Set((0..n).map(|_| r.string()).collect::<Result<_, _>>()?)
        }
        TYPE_HASH => {
            let n = r.count()?;
            Data::Hash((0..n).map(|_| Ok((r.string()?, r.string()?))).collect::<Result<_, RdbError>>()?)
        }
        TYPE_SET_INTSET => {
            Data::Set(read_intset(&r.string()?)?.into_iter().map(|n| n.to_string().into_bytes()).collect())
        }
        TYPE_HASH_LISTPACK => {
            let flat = read_listpack(&r.string()?)?;
            if flat.len() % 2 != 0 {
                return Err(RdbError::OddHashListpack);
            }
            let mut it = flat.into_iter();
            let mut fields = Vec::new();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                fields.push((f, v));
            }
            Data::Hash(fields)
        }
        TYPE_ZSET_2 => {
            let n = r.count()?;
            let mut members = Vec::new();
            for _ in 0..n {
                let member = r.string()?;
                let score = f64::from_le_bytes(r.bytes(8)?.try_into().map_err(|_| RdbError::ShortRead)?);
                if score.is_nan() {
                    return Err(RdbError::BadZsetScore);
                }
                members.push((member, score));
            }
            Data::ZSet(Box::new(crate::zset::ZSet::stored(members, limits)))
        }
        TYPE_ZSET_LISTPACK => {
            let flat = read_listpack(&r.string()?)?;
            if flat.len() % 2 != 0 {
                return Err(RdbError::OddHashListpack);
            }
            let mut members = Vec::with_capacity(flat.len() / 2);
            for pair in flat.chunks(2) {
                let score = crate::zset::parse_score(&pair[1]).ok_or(RdbError::BadZsetScore)?;
                members.push((pair[0].clone(), score));
            }
            Data::ZSet(Box::new(crate::zset::ZSet::loaded_listpack(members, limits)))
        }
        TYPE_LIST_QUICKLIST_2 => {
            let count = r.count()?;
            let mut nodes = Vec::new();
            for _ in 0..count {
                let container = r.length()?;
                let blob = r.string()?;
                nodes.push(match container {
                    QUICKLIST_PACKED => read_listpack(&blob)?,
                    1 => vec![blob],
                    other => return Err(RdbError::UnknownContainer(other)),
                });
            }
            Data::List(Box::new(crate::memory::List::from_nodes(nodes, limits.list_fill)))
        }
        crate::stream::rdb::TYPE_STREAM_LISTPACKS_2 => Data::Stream(Box::new(crate::stream::rdb::read(r)?)),
        other => return Err(RdbError::UnknownType(other)),
    })
}

fn read_intset(blob: &[u8]) -> Result<Vec<i64>, RdbError> {
    let bad = || RdbError::Intset;
    let header = blob.get(..8).ok_or_else(bad)?;
    let width = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || blob.len() != 8 + width.checked_mul(count).ok_or_else(bad)? {
        return Err(bad());
    }
    Ok(blob[8..]
        .chunks(width)
        .map(|c| match width {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes(c.try_into().unwrap_or_default()),
        })
        .collect())
}

/// The entries of a listpack, integers as their decimal strings.
pub(crate) fn read_listpack(blob: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    let bad = || RdbError::Listpack;
    if blob.len() < LISTPACK_EMPTY_LEN
        || u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize != blob.len()
    {
        return Err(bad());
    }
    let mut at = 6;
    let mut out = Vec::new();
    let take = |at: &mut usize, n: usize| -> Result<&[u8], RdbError> {
        let s = blob.get(*at..*at + n).ok_or_else(bad)?;
        *at += n;
        Ok(s)
    };
    loop {
        let start = at;
        let b = *blob.get(at).ok_or_else(bad)?;
        if b == 0xFF {
            break;
        }
        at += 1;
        let sign =
            |v: u64, bits: u32| -> i64 { if v >> (bits - 1) & 1 == 1 { v as i64 - (1i64 << bits) } else { v as i64 } };
        let le = |s: &[u8]| s.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        let entry = match b {
            0x00..=0x7F => i64::from(b).to_string().into_bytes(),
            0x80..=0xBF => take(&mut at, usize::from(b & 0x3F))?.to_vec(),
            0xC0..=0xDF => {
                let lo = take(&mut at, 1)?[0];
                sign((u64::from(b & 0x1F) << 8) | u64::from(lo), 13).to_string().into_bytes()
            }
            0xE0..=0xEF => {
                let lo = take(&mut at, 1)?[0];
                take(&mut at, (usize::from(b & 0x0F) << 8) | usize::from(lo))?.to_vec()
            }
            0xF0 => {
                let n = le(take(&mut at, 4)?) as usize;
                take(&mut at, n)?.to_vec()
            }
            0xF1 => sign(le(take(&mut at, 2)?), 16).to_string().into_bytes(),
            0xF2 => sign(le(take(&mut at, 3)?), 24).to_string().into_bytes(),
            0xF3 => sign(le(take(&mut at, 4)?), 32).to_string().into_bytes(),
            0xF4 => (le(take(&mut at, 8)?) as i64).to_string().into_bytes(),
            _ => return Err(bad()),
        };
        let mut expected = Vec::new();
        backlen(&mut expected, at - start);
        if take(&mut at, expected.len())? != expected.as_slice() {
            return Err(bad());
        }
        out.push(entry);
    }
    if at + 1 != blob.len() {
        return Err(bad());
    }
    Ok(out)
}

/// The type byte and body of one value, as a DUMP payload carries it.
pub fn encode_object(value: &Data, converted: bool) -> Vec<u8> {
    let mut out = vec![object_type(value, converted)];
    write_object(&mut out, value, converted);
    out
}

/// Reads a type byte and one object body (a DUMP payload without its footer);
/// trailing bytes are an error. `limits`: the encodings' thresholds it loads under.
pub fn decode_object(bytes: &[u8], limits: &Limits) -> Result<Data, RdbError> {
    let mut r = Reader { buf: bytes, at: 0 };
    let kind = r.byte()?;
    let value = read_object(&mut r, kind, limits)?;
    if r.at != bytes.len() {
        return Err(RdbError::TrailingBytes);
    }
    Ok(value)
}

/// Redis's CRC-64 (Jones polynomial, reflected, no final xor), as DUMP
/// payloads and RDB files are checksummed.
pub fn crc64(mut crc: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        crc = CRC64_TABLE[((crc ^ u64::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// The reflected Jones polynomial 0xad93d23594c935a9, one entry per byte value.
const CRC64_TABLE: [u64; 256] = {
    const POLY: u64 = 0x95AC_9329_AC4B_C9B5;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Decodes a snapshot written by [`encode`] (the subset of RDB it uses),
/// its values in the encodings `limits` give them.
pub fn decode(buf: &[u8], limits: &Limits) -> Result<Loaded, RdbError> {
    if buf.len() < 9 || &buf[..5] != b"REDIS" {
        return Err(RdbError::WrongSignature);
    }
    let mut r = Reader { buf, at: 9 };
    let mut loaded = Loaded { dbs: Vec::new(), ctime: 0, used_mem: 0, repl: None, functions: Vec::new() };
    let (mut replid, mut offset, mut stream_db) = (None, None, 0);
    let mut expire: Option<i64> = None;
    loop {
        let op = r.byte()?;
        match op {
            OP_EOF => break,
            OP_AUX => {
                let k = r.string()?;
                let v = String::from_utf8_lossy(&r.string()?).into_owned();
                match k.as_slice() {
                    b"ctime" => loaded.ctime = v.parse().unwrap_or(0),
                    b"used-mem" => loaded.used_mem = v.parse().unwrap_or(0),
                    b"repl-id" => replid = Some(v),
                    b"repl-offset" => offset = v.parse::<i64>().ok(),
                    b"repl-stream-db" => stream_db = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            OP_FUNCTION2 => loaded.functions.push(r.string()?),
            OP_SELECTDB => {
                let n = r.length()? as usize;
                loaded.dbs.push((n, Db { limits: *limits, ..Db::default() }));
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OP_EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(r.bytes(8)?.try_into().unwrap_or_default()));
            }
            TYPE_STRING
            | TYPE_LIST
            | TYPE_SET
            | TYPE_HASH
            | TYPE_ZSET_2
            | TYPE_ZSET_LISTPACK
            | TYPE_SET_INTSET
            | TYPE_HASH_LISTPACK
            | TYPE_LIST_QUICKLIST_2
            | crate::stream::rdb::TYPE_STREAM_LISTPACKS_2 => {
                let key = r.string()?;
                let value = read_object(&mut r, op, limits)?;
                if loaded.dbs.is_empty() {
                    loaded.dbs.push((0, Db { limits: *limits, ..Db::default() }));
                }
                let db = &mut loaded.dbs.last_mut().expect("a db was just ensured").1;
                if let Some(at) = expire.take() {
                    db.expires.insert(key.clone(), at);
                }
                db.insert(key, value);
            }
            other => return Err(RdbError::UnknownType(other)),
        }
    }
    if let (Some(replid), Some(offset)) = (replid, offset) {
        loaded.repl = Some(ReplInfo { replid, offset, stream_db });
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without printing the number back: the same answers as the round trip
    /// through `to_string`, on signs, zeros, lengths and stray bytes.
    #[test]
    fn as_int_is_the_decimal_round_trip() {
        let reference = |s: &[u8]| {
            if s.len() > 20 {
                return None;
            }
            crate::commands::parse_int(s).filter(|n| n.to_string().as_bytes() == s)
        };
        let mut rng = sim::Rng::stream(4, "as-int");
        for _ in 0..50_000 {
            let alphabet: &[u8] = if rng.chance(0.5) { b"0123456789" } else { b"-+0123456789 x" };
            let mut s: Vec<u8> = if rng.chance(0.3) { b"-".to_vec() } else { Vec::new() };
            s.extend((0..rng.below(23)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]));
            assert_eq!(as_int(&s), reference(&s), "{:?}", String::from_utf8_lossy(&s));
        }
        for s in ["-0", "0", "-9223372036854775808", "9223372036854775807", "9223372036854775808", "007", "-"] {
            assert_eq!(as_int(s.as_bytes()), reference(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn round_trip_keeps_types_expiry_and_replication_info() {
        let mut dbs = vec![Db::default(), Db::default(), Db::default()];
        dbs[0].keys.insert(b"s".to_vec(), Data::Str(vec![7; 20_000].into()));
        dbs[0].keys.insert(b"l".to_vec(), Data::List(Box::new([b"a".to_vec(), b"b".to_vec()].into())));
        dbs[0].expires.insert(b"l".to_vec(), 1_700_000_000_123);
        dbs[2].insert(b"h".to_vec(), Data::Hash(vec![(b"f".to_vec(), b"v".to_vec())]));
        dbs[2].insert(b"t".to_vec(), Data::Set([b"x".to_vec()].into()));
        let repl = ReplInfo { replid: "ab".repeat(20), offset: 12345, stream_db: 2 };
        let bytes = encode(&dbs, &[], 1_000_000, Some(&repl));
        assert_eq!(&bytes[..9], b"REDIS0010");
        let loaded = decode(&bytes, &Default::default()).unwrap();
        assert_eq!(loaded.repl, Some(repl));
        assert_eq!(loaded.ctime, 1000);
        assert_eq!(loaded.dbs.len(), 2);
        assert_eq!(loaded.dbs[0], (0, dbs[0].clone()));
        assert_eq!(loaded.dbs[1], (2, dbs[2].clone()));
    }

    #[test]
    fn crc64_is_redis_jones_variant() {
        // crc64.c's self-test: "123456789" gives 0xe9c6d914c4b8d9ca.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(crc64(0, b"1234"), b"56789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn truncated_or_foreign_files_are_errors_not_panics() {
        let dbs =
            vec![Db { keys: [(b"k".to_vec(), Data::Str(b"v"[..].into()))].into_iter().collect(), ..Db::default() }];
        let bytes = encode(&dbs, &[], 0, None);
        for cut in 0..bytes.len() - 9 {
            assert!(decode(&bytes[..cut], &Default::default()).is_err(), "cut at {cut}");
        }
        assert!(decode(b"NOTREDIS0010", &Default::default()).is_err());
        assert!(decode(b"REDIS0010\x01\xff\xff\xff\xff", &Default::default()).is_err());
    }
}
