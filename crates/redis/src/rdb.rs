//! Snapshots in the RDB file format (version 10, as Redis 7.0 writes). Values
//! use the plain encodings every Redis still loads (string, linked list, set,
//! hash), no compression, and a zero checksum, which Redis accepts as "checksum
//! disabled" — so a `dump.rdb` written here loads in a real redis-server. The
//! aux fields carry the replication id and offset, which is what lets a
//! restarted replica ask for a partial resync.

use crate::keyspace::{Data, Db};

const MAGIC: &[u8] = b"REDIS0010";
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;

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
}

/// Encodes the dataset. `now_ms` is the creation time.
pub fn encode(dbs: &[Db], now_ms: i64, repl: Option<&ReplInfo>) -> Vec<u8> {
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
    for (i, db) in dbs.iter().enumerate().filter(|(_, db)| !db.keys.is_empty()) {
        out.push(OP_SELECTDB);
        length(&mut out, i as u64);
        out.push(OP_RESIZEDB);
        length(&mut out, db.keys.len() as u64);
        length(&mut out, db.expires.len() as u64);
        for (key, value) in &db.keys {
            if let Some(at) = db.expires.get(key) {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            match value {
                Data::Str(v) => {
                    out.push(TYPE_STRING);
                    string(&mut out, key);
                    string(&mut out, v);
                }
                Data::List(items) => {
                    out.push(TYPE_LIST);
                    string(&mut out, key);
                    length(&mut out, items.len() as u64);
                    items.iter().for_each(|i| string(&mut out, i));
                }
                Data::Set(members) => {
                    out.push(TYPE_SET);
                    string(&mut out, key);
                    length(&mut out, members.len() as u64);
                    members.iter().for_each(|m| string(&mut out, m));
                }
                Data::Hash(fields) => {
                    out.push(TYPE_HASH);
                    string(&mut out, key);
                    length(&mut out, fields.len() as u64);
                    for (f, v) in fields {
                        string(&mut out, f);
                        string(&mut out, v);
                    }
                }
            }
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
        for (k, v) in &db.keys {
            bytes += k.len() as u64 + 56;
            bytes += match v {
                Data::Str(s) => s.len() as u64 + 16,
                Data::List(l) => l.iter().map(|i| i.len() as u64 + 11).sum::<u64>() + 32,
                Data::Set(s) => s.iter().map(|m| m.len() as u64 + 40).sum::<u64>() + 32,
                Data::Hash(h) => h.iter().map(|(f, v)| (f.len() + v.len()) as u64 + 4).sum::<u64>() + 32,
            };
        }
    }
    985_000 + bytes
}

fn length(out: &mut Vec<u8>, n: u64) {
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

fn string(out: &mut Vec<u8>, s: &[u8]) {
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.buf.get(self.at).ok_or("Short read or OOM loading DB. Unrecoverable error, aborting now.")?;
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or("Short read or OOM loading DB. Unrecoverable error, aborting now.")?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn length(&mut self) -> Result<u64, String> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => u64::from(first & 0x3F),
            1 => (u64::from(first & 0x3F) << 8) | u64::from(self.byte()?),
            _ if first == 0x80 => u64::from(u32::from_be_bytes(self.bytes(4)?.try_into().unwrap_or_default())),
            _ if first == 0x81 => u64::from_be_bytes(self.bytes(8)?.try_into().unwrap_or_default()),
            _ => return Err("Unknown length encoding in rdbLoadLen()".to_owned()),
        })
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let n = self.length()?;
        Ok(self.bytes(usize::try_from(n).map_err(|_| "length out of range")?)?.to_vec())
    }

    fn count(&mut self) -> Result<usize, String> {
        let n = self.length()?;
        // Each element needs at least one byte, which bounds hostile counts.
        usize::try_from(n).ok().filter(|&n| n <= self.buf.len()).ok_or_else(|| "length out of range".to_owned())
    }
}

/// Decodes a snapshot written by [`encode`] (the subset of RDB it uses).
pub fn decode(buf: &[u8]) -> Result<Loaded, String> {
    if buf.len() < 9 || &buf[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".to_owned());
    }
    let mut r = Reader { buf, at: 9 };
    let mut loaded = Loaded { dbs: Vec::new(), ctime: 0, used_mem: 0, repl: None };
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
            OP_SELECTDB => {
                let n = r.length()? as usize;
                loaded.dbs.push((n, Db::default()));
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OP_EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(r.bytes(8)?.try_into().unwrap_or_default()));
            }
            TYPE_STRING | TYPE_LIST | TYPE_SET | TYPE_HASH => {
                let key = r.string()?;
                let value = match op {
                    TYPE_STRING => Data::Str(r.string()?),
                    TYPE_LIST => {
                        let n = r.count()?;
                        Data::List((0..n).map(|_| r.string()).collect::<Result<_, _>>()?)
                    }
                    TYPE_SET => {
                        let n = r.count()?;
                        Data::Set((0..n).map(|_| r.string()).collect::<Result<_, _>>()?)
                    }
                    _ => {
                        let n = r.count()?;
                        Data::Hash((0..n).map(|_| Ok((r.string()?, r.string()?))).collect::<Result<_, String>>()?)
                    }
                };
                if loaded.dbs.is_empty() {
                    loaded.dbs.push((0, Db::default()));
                }
                let db = &mut loaded.dbs.last_mut().expect("a db was just ensured").1;
                if let Some(at) = expire.take() {
                    db.expires.insert(key.clone(), at);
                }
                db.keys.insert(key, value);
            }
            other => return Err(format!("Unknown RDB encoding type {other}")),
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

    #[test]
    fn round_trip_keeps_types_expiry_and_replication_info() {
        let mut dbs = vec![Db::default(), Db::default(), Db::default()];
        dbs[0].keys.insert(b"s".to_vec(), Data::Str(vec![7; 20_000]));
        dbs[0].keys.insert(b"l".to_vec(), Data::List([b"a".to_vec(), b"b".to_vec()].into()));
        dbs[0].expires.insert(b"l".to_vec(), 1_700_000_000_123);
        dbs[2].keys.insert(b"h".to_vec(), Data::Hash(vec![(b"f".to_vec(), b"v".to_vec())]));
        dbs[2].keys.insert(b"t".to_vec(), Data::Set([b"x".to_vec()].into()));
        let repl = ReplInfo { replid: "ab".repeat(20), offset: 12345, stream_db: 2 };
        let bytes = encode(&dbs, 1_000_000, Some(&repl));
        assert_eq!(&bytes[..9], b"REDIS0010");
        let loaded = decode(&bytes).unwrap();
        assert_eq!(loaded.repl, Some(repl));
        assert_eq!(loaded.ctime, 1000);
        assert_eq!(loaded.dbs.len(), 2);
        assert_eq!(loaded.dbs[0], (0, dbs[0].clone()));
        assert_eq!(loaded.dbs[1], (2, dbs[2].clone()));
    }

    #[test]
    fn truncated_or_foreign_files_are_errors_not_panics() {
        let dbs = vec![Db { keys: [(b"k".to_vec(), Data::Str(b"v".to_vec()))].into(), ..Db::default() }];
        let bytes = encode(&dbs, 0, None);
        for cut in 0..bytes.len() - 9 {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(b"NOTREDIS0010").is_err());
        assert!(decode(b"REDIS0010\x01\xff\xff\xff\xff").is_err());
    }
}
