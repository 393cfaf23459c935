//! CLUSTER KEYSLOT for named edge cases and ≥ 10,000 generated keys (seeded
//! ChaCha: ASCII, binary, non-ASCII UTF-8, and hash-tag shapes). The real side
//! is a cluster-enabled redis-server, the simulated side a cluster-enabled
//! simulated node; both answer CLUSTER KEYSLOT ([`SlotSource::Node`]).

use super::Options;
use super::observe::{Expect, Obs, Row, compare};
use super::real::Real;
use super::target::{Reply, Target};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

const PORT: u16 = 7604;
const KEY_SEED: u64 = 6;

/// Where slots come from.
pub enum SlotSource<'a> {
    /// CLUSTER KEYSLOT sent to a (real or simulated) cluster-enabled node.
    Node(&'a mut dyn Target, u16),
}

impl SlotSource<'_> {
    /// The raw reply for each key, in order.
    fn replies(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Reply>, String> {
        match self {
            SlotSource::Node(t, port) => {
                let conn = t.connect(*port)?;
                keys.iter().map(|k| t.call(conn, &[b"CLUSTER".to_vec(), b"KEYSLOT".to_vec(), k.clone()])).collect()
            }
        }
    }
}

/// Named keys: the course's, and every hash-tag shape Redis's rule distinguishes.
const NAMED: &[&[u8]] = &[
    b"k1",
    b"k2",
    b"k3",
    b"k4",
    b"abc",
    b"hello",
    b"number",
    b"",
    b"{",
    b"}",
    b"{}",
    b"{}{a}",
    b"{a}{b}",
    b"a{b}c",
    b"{{a}}",
    b"{a{b}}",
    b"a{}b{c}",
    b"}{a}",
    b"{a",
    b"a}",
    b"foo{}{bar}",
    b"foo{{bar}}zap",
    b"foo{bar}{zap}",
    b"{user1000}.following",
    b"{user1000}.followers",
    b"\x00",
    b"\xff\xfe\xfd",
    b"{\x00}x",
    "中文{键}".as_bytes(),
    "ключ".as_bytes(),
    "😀{😀}".as_bytes(),
];

/// Kinds of generated keys.
const KINDS: [&str; 5] = ["ascii", "binary", "utf8", "hash tag", "braces"];

fn generated(count: usize) -> Vec<(usize, Vec<u8>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(KEY_SEED);
    let mut below = |n: u64| rng.next_u64() % n;
    let mut keys = Vec::with_capacity(count);
    for i in 0..count {
        let kind = i % KINDS.len();
        let len = below(24) as usize;
        let mut key = Vec::new();
        match kind {
            0 => key.extend((0..len + 1).map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789:_-."[below(40) as usize])),
            1 => key.extend((0..len).map(|_| below(256) as u8)),
            2 => {
                for _ in 0..len / 2 + 1 {
                    // Latin-1 accents, Cyrillic, CJK, emoji.
                    let base = [0xC0u32, 0x400, 0x4E00, 0x1F600][below(4) as usize];
                    let c = char::from_u32(base + below(0x50) as u32).unwrap_or('?');
                    let mut buf = [0u8; 4];
                    key.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            3 => {
                key.extend(format!("user:{}", below(100_000)).bytes());
                key.push(b'{');
                key.extend((0..below(6)).map(|_| b"ab{}xy"[below(6) as usize]));
                key.push(b'}');
                key.extend(format!(":{}", below(1000)).bytes());
            }
            _ => key.extend((0..len + 1).map(|_| b"{}ab"[below(4) as usize])),
        }
        keys.push((kind, key));
    }
    keys
}

fn digest(replies: &[Reply]) -> String {
    // FNV-1a over the raw replies: equal digests mean equal bytes for every key.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in replies {
        for &b in &r.raw {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Observations for one source: one per named key, one per generated kind.
fn observe(source: &mut SlotSource<'_>, keys: &[(usize, Vec<u8>)]) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    let named: Vec<Vec<u8>> = NAMED.iter().map(|k| k.to_vec()).collect();
    for (key, reply) in named.iter().zip(source.replies(&named)?) {
        out.push(Obs::reply(format!("KEYSLOT {}", resp::quote(key)), &reply, Expect::Same, super::observe::Mask::None));
    }
    for (kind, name) in KINDS.iter().enumerate() {
        let of_kind: Vec<Vec<u8>> = keys.iter().filter(|(k, _)| *k == kind).map(|(_, key)| key.clone()).collect();
        let replies = source.replies(&of_kind)?;
        out.push(Obs::fact(
            format!("{} generated {name} keys", of_kind.len()),
            format!("fnv1a of replies {}", digest(&replies)),
            Expect::Same,
        ));
        // Kept per key, so a difference can name the keys.
        for (key, reply) in of_kind.iter().zip(&replies) {
            out.push(Obs::fact(
                format!("{name} key {}", resp::quote(key)),
                super::target::escape(&reply.raw),
                Expect::Same,
            ));
        }
    }
    Ok(out)
}

/// Runs the keyslot group: rows for named keys and per kind; per-key rows only where they differ.
pub fn run(opts: &Options) -> Result<Vec<Row>, String> {
    let keys = generated(10_000);
    let real = {
        let mut t = Real::new(opts);
        t.start(PORT, "save \"\"\ncluster-enabled yes\ncluster-config-file nodes.conf\n")?;
        observe(&mut SlotSource::Node(&mut t, PORT), &keys)?
    };
    let simulated = {
        let mut t = super::simulated::Simulated::new(opts.seed);
        t.start(PORT, "save \"\"\ncluster-enabled yes\ncluster-config-file nodes.conf\n")?;
        observe(&mut SlotSource::Node(&mut t, PORT), &keys)?
    };
    let rows = compare("keyslot", &real, &simulated);
    Ok(rows.into_iter().filter(|r| !r.case.contains(" key ") || r.real != r.simulated).collect())
}
