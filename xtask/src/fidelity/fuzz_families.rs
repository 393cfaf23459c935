//! The fuzz group's command generators, one per data-type family
//! ([`super::fuzz`]): each draws one command over a small key space (`k1`,
//! `k2`, `k3`, a missing key, and `w`, a key of another type), with the
//! options and argument shapes the real server parses, wrong ones included.

use super::fuzz::{Cmd, Gen, words};
use super::observe::Mask;

/// One family: its group name, the keys every episode starts with, and its generator.
pub struct Family {
    /// `fuzz/<name>` in the report.
    pub name: &'static str,
    /// Commands run after each `FLUSHALL` (space-separated words).
    pub fixtures: &'static [&'static str],
    /// Draws one command.
    pub draw: fn(&mut Gen) -> Cmd,
}

/// Every family, in the order they run (family `i` on port 7750 + `i`).
pub const FAMILIES: &[Family] = &[
    Family { name: "strings", fixtures: &["RPUSH w x", "SET k1 10"], draw: strings },
    Family { name: "bits", fixtures: &["RPUSH w x", "SET k1 foobar"], draw: bits },
    Family { name: "lists", fixtures: &["SET w x", "RPUSH k1 a b c 1 2 3"], draw: lists },
    Family { name: "hashes", fixtures: &["SET w x", "HSET k1 a 1 b 2 c x"], draw: hashes },
    Family { name: "sets", fixtures: &["SET w x", "SADD k1 1 2 3", "SADD k2 a b 3"], draw: sets },
    Family {
        name: "zsets",
        fixtures: &["SET w x", "ZADD k1 1 a 2 b 2 c 3 d", "ZADD k2 0 a 0 b 0 e", "ZADD lx 0 a 0 b 0 c 0 d 0 e"],
        draw: super::fuzz_more::zsets,
    },
    Family {
        name: "streams",
        fixtures: &["SET w x", "XADD k1 1-1 f v", "XADD k1 2-1 f w", "XGROUP CREATE k1 g 0"],
        draw: super::fuzz_more::streams,
    },
    Family {
        name: "geo",
        fixtures: &["SET w x", "GEOADD k1 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"],
        draw: super::fuzz_more::geo,
    },
    Family { name: "hll", fixtures: &["RPUSH w x", "PFADD k1 a b c"], draw: super::fuzz_more::hll },
    Family {
        name: "keyspace",
        fixtures: &[
            "SET k1 5",
            "RPUSH k2 3 1 2 10",
            "SADD k3 b a c",
            "ZADD z 1 a 2 b",
            "SET wt_a 3",
            "SET wt_b 1",
            "SET wt_c 2",
            "HSET ht_a f x",
            "SET w x",
        ],
        draw: super::fuzz_more::keyspace,
    },
];

/// A command from words.
pub fn cmd<S: Into<String>>(words: impl IntoIterator<Item = S>) -> Cmd {
    Cmd::new(words.into_iter().map(Into::into).collect())
}

/// A key of the family's space: mostly existing ones, sometimes missing or of the wrong type.
pub fn key(g: &mut Gen) -> String {
    match g.below(100) {
        0..=34 => "k1",
        35..=59 => "k2",
        60..=79 => "k3",
        80..=91 => "w",
        _ => "nokey",
    }
    .to_owned()
}

/// `n` keys of the family's space.
pub fn keys(g: &mut Gen, n: usize) -> Vec<String> {
    (0..n).map(|_| key(g)).collect()
}

/// One to three keys of the family's space.
pub fn some_keys(g: &mut Gen) -> Vec<String> {
    let n = g.below(3) + 1;
    keys(g, n)
}

/// An expiry option for SET/GETEX: relative times long enough to outlast the run, absolute ones past or far off.
fn expiry(g: &mut Gen) -> Vec<String> {
    let (opt, value) = match g.below(6) {
        0 => ("EX", g.pick(&["100", "0", "-1", "abc", "9223372036854775807", "1000"])),
        1 => ("PX", g.pick(&["100000", "0", "-5", "9223372036854775807"])),
        2 => ("EXAT", g.pick(&["4102444800", "1", "0"])),
        3 => ("PXAT", g.pick(&["4102444800000", "1"])),
        4 => ("KEEPTTL", ""),
        _ => ("PERSIST", ""),
    };
    [opt, value].into_iter().filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// Words from `options`, each kept with probability `percent`, in a shuffled order sometimes.
pub fn some_of(g: &mut Gen, options: &[&str], percent: usize) -> Vec<String> {
    let mut out: Vec<String> = options.iter().filter(|_| g.chance(percent)).map(|s| (*s).to_owned()).collect();
    if out.len() > 1 && g.chance(20) {
        out.reverse();
    }
    out
}

fn strings(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(24) {
        0..=2 => {
            let mut c = vec!["SET".to_owned(), k, g.value()];
            if g.chance(40) {
                c.extend(expiry(g));
            }
            c.extend(some_of(g, &["NX", "XX", "GET"], 20));
            cmd(c)
        }
        3 => words!("GET", &k),
        4 => words!("INCR", &k),
        5 => words!("DECR", &k),
        6 => words!("INCRBY", k, g.int()),
        7 => words!("DECRBY", k, g.int()),
        8 => words!("INCRBYFLOAT", k, g.float()),
        9 => words!("APPEND", k, g.value()),
        10 => words!("STRLEN", &k),
        11 => {
            let offset = g.pick(&["0", "1", "3", "10", "100", "-1", "536870912", "abc"]).to_owned();
            words!("SETRANGE", k, offset, g.value())
        }
        12 => words!(g.pick(&["GETRANGE", "SUBSTR"]).to_owned(), k, g.index(), g.index()),
        13 => words!("GETSET", k, g.value()),
        14 => words!("GETDEL", &k),
        15 => {
            let mut c = vec!["GETEX".to_owned(), k];
            if g.chance(70) {
                c.extend(expiry(g));
            }
            cmd(c)
        }
        16 => {
            let mut c = vec![g.pick(&["MSET", "MSETNX"]).to_owned()];
            for _ in 0..g.range(1, 3) {
                c.extend([key(g), g.value()]);
            }
            if g.chance(10) {
                c.pop();
            }
            cmd(c)
        }
        17 => cmd(std::iter::once("MGET".to_owned()).chain(some_keys(g))),
        18 => words!("SETNX", k, g.value()),
        19 => words!(
            g.pick(&["SETEX", "PSETEX"]).to_owned(),
            k,
            g.pick(&["100000", "0", "-1", "abc"]).to_owned(),
            g.value()
        ),
        20 => {
            let mut c = vec!["LCS".to_owned(), k, key(g)];
            c.extend(some_of(g, &["LEN", "IDX", "WITHMATCHLEN"], 30));
            if g.chance(30) {
                c.extend(["MINMATCHLEN".to_owned(), g.int()]);
            }
            cmd(c)
        }
        21 => words!("OBJECT", "ENCODING", &k),
        22 => words!("SET", &k, &"x".repeat(g.pick(&["44", "45", "20"]).parse().unwrap_or(1))),
        _ => words!("SET", k, g.pick(&["123", "-0", "9223372036854775807", "01", "1e3", "10000"]).to_owned()),
    }
}

/// A bit offset: small mostly, past a byte boundary, or refused.
fn bit_offset(g: &mut Gen) -> String {
    match g.below(8) {
        0..=5 => g.range(0, 70).to_string(),
        _ => g.pick(&["-1", "abc", "4294967296", "1.5", "100"]).to_owned(),
    }
}

/// A BITFIELD type: the valid widths and some that are not.
fn bitfield_type(g: &mut Gen) -> String {
    match g.below(8) {
        0..=5 => format!("{}{}", g.pick(&["i", "u"]), g.range(1, 64)),
        _ => g.pick(&["u64", "i0", "i65", "x8", "u"]).to_owned(),
    }
}

fn bitfield_ops(g: &mut Gen, read_only: bool) -> Vec<String> {
    let mut c = Vec::new();
    for _ in 0..g.range(1, 3) {
        let offset = if g.chance(20) { format!("#{}", g.range(0, 5)) } else { bit_offset(g) };
        match if read_only { 0 } else { g.below(4) } {
            0 => c.extend(["GET".to_owned(), bitfield_type(g), offset]),
            1 => c.extend(["SET".to_owned(), bitfield_type(g), offset, g.int()]),
            2 => c.extend(["INCRBY".to_owned(), bitfield_type(g), offset, g.int()]),
            _ => c.extend(["OVERFLOW".to_owned(), g.pick(&["WRAP", "SAT", "FAIL", "NONE"]).to_owned()]),
        }
    }
    c
}

fn bits(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(14) {
        0..=2 => words!("SETBIT", k, bit_offset(g), g.pick(&["0", "1", "1", "2", "-1"]).to_owned()),
        3 | 4 => words!("GETBIT", k, bit_offset(g)),
        5 => {
            let mut c = vec!["BITCOUNT".to_owned(), k];
            if g.chance(70) {
                c.extend([g.index(), g.index()]);
                let unit = g.pick(&["BYTE", "BIT", "bit", "WORD"]);
                c.extend(some_of(g, &[unit], 50));
            }
            cmd(c)
        }
        6 => {
            let mut c = vec!["BITPOS".to_owned(), k, g.pick(&["0", "1", "2"]).to_owned()];
            for _ in 0..g.below(3) {
                c.push(g.index());
            }
            if c.len() == 5 && g.chance(50) {
                c.push(g.pick(&["BYTE", "BIT"]).to_owned());
            }
            cmd(c)
        }
        7 => {
            let op = g.pick(&["AND", "OR", "XOR", "NOT", "not", "NAND"]).to_owned();
            let mut c = vec!["BITOP".to_owned(), op, key(g)];
            c.extend(some_keys(g));
            cmd(c)
        }
        8 | 9 => cmd([vec!["BITFIELD".to_owned(), k], bitfield_ops(g, false)].concat()),
        10 => cmd([vec!["BITFIELD_RO".to_owned(), k], {
            let read_only = g.chance(90);
            bitfield_ops(g, read_only)
        }]
        .concat()),
        11 => words!("SET", k, g.value()),
        12 => words!("APPEND", k, g.value()),
        _ => words!("GET", &k),
    }
}

fn lists(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(24) {
        0..=2 => {
            let verb = g.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]).to_owned();
            let mut c = vec![verb, k];
            for _ in 0..g.range(1, 4) {
                c.push(g.member());
            }
            cmd(c)
        }
        3 => cmd([vec!["RPUSH".to_owned(), k], (0..130).map(|i| format!("e{i}")).collect()].concat()),
        4 | 5 => {
            let mut c = vec![g.pick(&["LPOP", "RPOP"]).to_owned(), k];
            if g.chance(50) {
                c.push(g.int());
            }
            cmd(c)
        }
        6..=8 => words!("LRANGE", k, g.index(), g.index()),
        9 => words!("LINDEX", k, g.index()),
        10 => words!("LSET", k, g.index(), g.member()),
        11 => {
            let side = g.pick(&["BEFORE", "AFTER", "MIDDLE"]).to_owned();
            words!("LINSERT", k, side, g.member(), g.member())
        }
        12 => words!("LREM", k, g.index(), g.member()),
        13 => words!("LTRIM", k, g.index(), g.index()),
        14 => {
            let mut c = vec!["LPOS".to_owned(), k, g.member()];
            for opt in some_of(g, &["RANK", "COUNT", "MAXLEN"], 40) {
                let n = if opt == "RANK" { g.index() } else { g.int() };
                c.extend([opt, n]);
            }
            cmd(c)
        }
        15 => {
            let (from, to) = (g.pick(&["LEFT", "RIGHT", "UP"]).to_owned(), g.pick(&["LEFT", "RIGHT"]).to_owned());
            words!("LMOVE", k, key(g), from, to)
        }
        16 => words!("RPOPLPUSH", k, key(g)),
        17 => {
            let n = g.range(0, 3);
            let mut c = vec!["LMPOP".to_owned(), n.to_string()];
            c.extend(keys(g, usize::try_from(n).unwrap_or(1)));
            c.push(g.pick(&["LEFT", "RIGHT", "MIDDLE"]).to_owned());
            if g.chance(50) {
                c.extend(["COUNT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        18 => words!("LLEN", &k),
        19 => words!("OBJECT", "ENCODING", &k),
        20 => words!(g.pick(&["BLPOP", "BRPOP"]).to_owned(), k, g.pick(&["0.01", "-1", "abc", "0.001"]).to_owned()),
        21 => words!("LPUSH", k, "x".repeat(70)),
        _ => words!("LRANGE", &k, "0", "-1"),
    }
}

fn hashes(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(20) {
        0..=3 => {
            let mut c = vec![g.pick(&["HSET", "HSET", "HMSET"]).to_owned(), k];
            for _ in 0..g.range(1, 3) {
                c.extend([g.member(), g.value()]);
            }
            if g.chance(8) {
                c.pop();
            }
            cmd(c)
        }
        4 => {
            let mut c = vec!["HSET".to_owned(), k];
            for i in 0..130 {
                c.extend([format!("f{i}"), i.to_string()]);
            }
            cmd(c)
        }
        5 => words!("HSETNX", k, g.member(), g.value()),
        6 | 7 => words!("HGET", k, g.member()),
        8 => cmd([vec!["HMGET".to_owned(), k], (0..g.range(1, 3)).map(|_| g.member()).collect()].concat()),
        9 => cmd([vec!["HDEL".to_owned(), k], (0..g.range(1, 3)).map(|_| g.member()).collect()].concat()),
        10 => words!(g.pick(&["HLEN", "HKEYS", "HVALS"]), &k).masked(Mask::Unordered),
        11 => words!("HGETALL", &k).masked(Mask::UnorderedPairs),
        12 => words!("HSTRLEN", k, g.member()),
        13 => words!("HEXISTS", k, g.member()),
        14 => words!("HINCRBY", k, g.member(), g.int()),
        15 => words!("HINCRBYFLOAT", k, g.member(), g.float()),
        16 => {
            let mut c = vec!["HRANDFIELD".to_owned(), k];
            if g.chance(70) {
                c.push(g.pick(&["1", "3", "-3", "0", "100", "-100", "abc"]).to_owned());
                if g.chance(50) {
                    c.push("WITHVALUES".to_owned());
                }
            }
            cmd(c).masked(Mask::Shape)
        }
        17 => words!("HSET", k, g.member(), "y".repeat(65)),
        _ => words!("OBJECT", "ENCODING", &k),
    }
}

fn sets(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(20) {
        0..=3 => cmd([
            vec![g.pick(&["SADD", "SADD", "SREM"]).to_owned(), k],
            (0..g.range(1, 4)).map(|_| g.member()).collect(),
        ]
        .concat()),
        4 => {
            let n = g.pick(&["510", "513", "130"]).parse().unwrap_or(1);
            cmd([vec!["SADD".to_owned(), k], (0..n).map(|i: i64| i.to_string()).collect()].concat())
        }
        5 => words!("SISMEMBER", k, g.member()),
        6 => cmd([vec!["SMISMEMBER".to_owned(), k], (0..g.range(1, 3)).map(|_| g.member()).collect()].concat()),
        7 => words!("SCARD", &k),
        8 => words!("SMEMBERS", &k).masked(Mask::Unordered),
        9 | 10 => {
            let verb = g.pick(&["SINTER", "SUNION", "SDIFF"]).to_owned();
            cmd(std::iter::once(verb).chain(some_keys(g))).masked(Mask::Unordered)
        }
        11 => {
            let verb = g.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]).to_owned();
            cmd([vec![verb, key(g)], some_keys(g)].concat())
        }
        12 => {
            let n = g.range(0, 3);
            let mut c = vec!["SINTERCARD".to_owned(), n.to_string()];
            c.extend(keys(g, usize::try_from(n).unwrap_or(1)));
            if g.chance(50) {
                c.extend(["LIMIT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        13 => words!("SMOVE", k, key(g), g.member()),
        14 => words!("SPOP", k, g.pick(&["10000", "0", "-1", "abc"]).to_owned()).masked(Mask::Unordered),
        15 => {
            let mut c = vec!["SRANDMEMBER".to_owned(), k];
            if g.chance(70) {
                c.push(g.pick(&["1", "3", "-3", "0", "10000", "-100", "abc", "-9223372036854775808"]).to_owned());
            }
            cmd(c).masked(Mask::Shape)
        }
        16 => words!("SADD", k, "x".repeat(70)),
        _ => words!("OBJECT", "ENCODING", &k),
    }
}
