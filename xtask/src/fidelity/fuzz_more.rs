//! The fuzz group's generators for sorted sets, streams, geo, HyperLogLog and
//! the keyspace commands (expiry, COPY, SORT, OBJECT ENCODING); the simpler
//! families are in [`super::fuzz_families`].

use super::fuzz::{Cmd, Gen, words};
use super::fuzz_families::{cmd, key, keys, some_keys, some_of};
use super::observe::Mask;

/// A score bound for ZRANGEBYSCORE and friends: a number, exclusive, or infinite.
fn score_bound(g: &mut Gen) -> String {
    match g.below(8) {
        0..=3 => g.range(-1, 4).to_string(),
        4 => format!("({}", g.range(-1, 4)),
        5 => g.pick(&["-inf", "+inf", "inf", "(-inf", "(+inf"]).to_owned(),
        6 => format!("{}.5", g.range(-1, 3)),
        _ => g.pick(&["(", "abc", "nan", "1e", "((1", ""]).to_owned(),
    }
}

/// A lex bound: inclusive, exclusive, open, or malformed.
fn lex_bound(g: &mut Gen) -> String {
    match g.below(8) {
        0..=2 => format!("[{}", g.pick(&["a", "b", "c", "d", "e", ""])),
        3..=4 => format!("({}", g.pick(&["a", "b", "c", "d", "e", ""])),
        5 => "-".to_owned(),
        6 => "+".to_owned(),
        _ => g.pick(&["a", "", "[", "-a", "+b"]).to_owned(),
    }
}

/// The key a lex range reads: `lx`, whose members all score 0, mostly. Lex
/// ranges over mixed scores are undefined: on a skiplist their answer
/// follows its random levels.
fn lex_key(g: &mut Gen) -> String {
    g.pick(&["lx", "lx", "lx", "lx", "w", "nokey"]).to_owned()
}

/// ZUNION/ZINTER/ZDIFF's tail: keys, weights, aggregate, scores.
fn zset_algebra(g: &mut Gen, verb: &str) -> Vec<String> {
    let n = g.range(0, 3);
    let mut c = vec![n.to_string()];
    c.extend(keys(g, usize::try_from(n).unwrap_or(1)));
    if verb != "ZDIFF" && g.chance(40) {
        c.push("WEIGHTS".to_owned());
        for _ in 0..n.max(1) {
            c.push(g.float());
        }
    }
    if verb != "ZDIFF" && g.chance(40) {
        c.extend(["AGGREGATE".to_owned(), g.pick(&["SUM", "MIN", "MAX", "AVG"]).to_owned()]);
    }
    c
}

/// ZRANGE's unified form: indexes, scores or lex, with REV, LIMIT and WITHSCORES.
fn zrange(g: &mut Gen, verb: &str) -> Vec<String> {
    let mut c = vec![verb.to_owned()];
    if verb == "ZRANGESTORE" {
        c.push(key(g));
    }
    let by = g.pick(&["", "", "BYSCORE", "BYLEX"]);
    c.push(if by == "BYLEX" { lex_key(g) } else { key(g) });
    let (start, stop) = match by {
        "BYSCORE" => (score_bound(g), score_bound(g)),
        "BYLEX" => (lex_bound(g), lex_bound(g)),
        _ => (g.index(), g.index()),
    };
    c.extend([start, stop]);
    if !by.is_empty() {
        c.push(by.to_owned());
    }
    if g.chance(30) {
        c.push("REV".to_owned());
    }
    if g.chance(30) {
        c.extend(["LIMIT".to_owned(), g.index(), g.index()]);
    }
    if verb == "ZRANGE" && g.chance(40) {
        c.push("WITHSCORES".to_owned());
    }
    c
}

/// Sorted sets: every reader and writer, score spellings and bounds, encodings.
pub fn zsets(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(30) {
        0..=3 => {
            let mut c = vec!["ZADD".to_owned(), k];
            c.extend(some_of(g, &["NX", "XX", "GT", "LT", "CH", "INCR"], 12));
            for _ in 0..g.range(1, 3) {
                c.extend([g.float(), g.member()]);
            }
            cmd(c)
        }
        4 => {
            let mut c = vec!["ZADD".to_owned(), k];
            for i in 0..130 {
                c.extend([(i % 7).to_string(), format!("m{i}")]);
            }
            cmd(c)
        }
        5 => words!("ZINCRBY", k, g.float(), g.member()),
        6 => cmd([vec!["ZREM".to_owned(), k], (0..g.range(1, 3)).map(|_| g.member()).collect()].concat()),
        7 => words!("ZSCORE", k, g.member()),
        8 => cmd([vec!["ZMSCORE".to_owned(), k], (0..g.range(1, 3)).map(|_| g.member()).collect()].concat()),
        9 if g.chance(50) => words!("ZCARD", &k),
        // `lx`'s writer: members at score 0, a few or past the listpack's 128
        9 => {
            let n = if g.chance(10) { 130 } else { g.range(1, 3) };
            let mut c = vec!["ZADD".to_owned(), "lx".to_owned()];
            for i in 0..n {
                c.extend(["0".to_owned(), if n > 3 { format!("m{i}") } else { g.member() }]);
            }
            cmd(c)
        }
        10 => words!("ZCOUNT", k, score_bound(g), score_bound(g)),
        11 => words!("ZLEXCOUNT", lex_key(g), lex_bound(g), lex_bound(g)),
        12..=14 => cmd(zrange(g, "ZRANGE")),
        15 => cmd(zrange(g, "ZRANGESTORE")),
        16 => {
            let verb = g.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]).to_owned();
            let mut c = vec![verb, k, score_bound(g), score_bound(g)];
            c.extend(some_of(g, &["WITHSCORES"], 40));
            if g.chance(30) {
                c.extend(["LIMIT".to_owned(), g.index(), g.index()]);
            }
            cmd(c)
        }
        17 => {
            let verb = g.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]).to_owned();
            let mut c = vec![verb, lex_key(g), lex_bound(g), lex_bound(g)];
            if g.chance(30) {
                c.extend(["LIMIT".to_owned(), g.index(), g.index()]);
            }
            cmd(c)
        }
        18 => {
            let mut c = vec![g.pick(&["ZRANK", "ZREVRANK"]).to_owned(), k, g.member()];
            c.extend(some_of(g, &["WITHSCORE"], 10));
            cmd(c)
        }
        19 => words!("ZREMRANGEBYRANK", k, g.index(), g.index()),
        20 => words!("ZREMRANGEBYSCORE", k, score_bound(g), score_bound(g)),
        21 => words!("ZREMRANGEBYLEX", lex_key(g), lex_bound(g), lex_bound(g)),
        22 => {
            let mut c = vec![g.pick(&["ZPOPMIN", "ZPOPMAX"]).to_owned(), k];
            if g.chance(50) {
                c.push(g.int());
            }
            cmd(c)
        }
        23 => {
            let n = g.range(0, 3);
            let mut c = vec!["ZMPOP".to_owned(), n.to_string()];
            c.extend(keys(g, usize::try_from(n).unwrap_or(1)));
            c.push(g.pick(&["MIN", "MAX", "MIDDLE"]).to_owned());
            if g.chance(50) {
                c.extend(["COUNT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        24 | 25 => {
            let verb = g.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
            let mut c = vec![verb.to_owned()];
            c.extend(zset_algebra(g, verb));
            c.extend(some_of(g, &["WITHSCORES"], 50));
            cmd(c)
        }
        26 => {
            let verb = g.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let mut c = vec![verb.to_owned(), key(g)];
            c.extend(zset_algebra(g, verb.trim_end_matches("STORE")));
            cmd(c)
        }
        27 => {
            let n = g.range(0, 3);
            let mut c = vec!["ZINTERCARD".to_owned(), n.to_string()];
            c.extend(keys(g, usize::try_from(n).unwrap_or(1)));
            if g.chance(40) {
                c.extend(["LIMIT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        28 => {
            let mut c = vec!["ZRANDMEMBER".to_owned(), k];
            if g.chance(70) {
                c.push(g.pick(&["1", "3", "-3", "0", "10000", "-100", "abc"]).to_owned());
                c.extend(some_of(g, &["WITHSCORES"], 50));
            }
            cmd(c).masked(Mask::Shape)
        }
        _ => words!("OBJECT", "ENCODING", &k),
    }
}

/// A stream id as XADD/XRANGE take it: explicit mostly, `ms-*`, special or malformed.
fn stream_id(g: &mut Gen) -> String {
    match g.below(12) {
        0..=5 => format!("{}-{}", g.range(0, 6), g.range(0, 3)),
        6 | 7 => g.range(0, 8).to_string(),
        8 => format!("{}-*", g.range(1, 8)),
        9 => g.pick(&["0-0", "18446744073709551615-18446744073709551615", "18446744073709551616"]).to_owned(),
        // never a bare `*`: its id is the wall clock's
        10 => g.pick(&["-", "+", "$", ">"]).to_owned(),
        _ => g.pick(&["abc", "1-", "-1", "1-x", ""]).to_owned(),
    }
}

/// A range end for XRANGE: an id, `-`/`+`, or exclusive.
fn range_id(g: &mut Gen) -> String {
    match g.below(6) {
        0 => "-".to_owned(),
        1 => "+".to_owned(),
        2 => format!("({}-{}", g.range(0, 6), g.range(0, 2)),
        _ => stream_id(g).replace('*', "0"),
    }
}

/// XADD's or XTRIM's trimming clause.
fn trim(g: &mut Gen) -> Vec<String> {
    let mut c = vec![g.pick(&["MAXLEN", "MINID", "MAXLEN", "LEN"]).to_owned()];
    if g.chance(50) {
        c.push(g.pick(&["=", "~"]).to_owned());
    }
    c.push(if c[0] == "MINID" { stream_id(g) } else { g.pick(&["0", "1", "2", "5", "-1", "abc", "100"]).to_owned() });
    if g.chance(20) {
        c.extend(["LIMIT".to_owned(), g.pick(&["0", "1", "10", "-1"]).to_owned()]);
    }
    c
}

/// Streams: XADD with explicit ids, trimming, ranges, groups and their claims, XINFO.
pub fn streams(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(26) {
        0..=5 => {
            let mut c = vec!["XADD".to_owned(), k];
            if g.chance(10) {
                c.push("NOMKSTREAM".to_owned());
            }
            if g.chance(20) {
                c.extend(trim(g));
            }
            c.push(stream_id(g));
            for _ in 0..g.range(1, 2) {
                c.extend([g.member(), g.value()]);
            }
            if g.chance(5) {
                c.pop();
            }
            cmd(c)
        }
        6 => {
            let base = g.range(10, 20);
            let ids: Vec<String> = (0..g.range(1, 3)).map(|i| format!("{}-{i}", base)).collect();
            words!("XADD".to_owned(), k, ids[ids.len() - 1].clone(), "f".to_owned(), "v".to_owned())
        }
        7 | 8 => {
            let verb = g.pick(&["XRANGE", "XREVRANGE"]).to_owned();
            let mut c = vec![verb, k, range_id(g), range_id(g)];
            if g.chance(40) {
                c.extend(["COUNT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        9 => cmd([vec!["XTRIM".to_owned(), k], trim(g)].concat()),
        10 => cmd([vec!["XDEL".to_owned(), k], (0..g.range(1, 3)).map(|_| stream_id(g)).collect()].concat()),
        11 => words!("XLEN", &k),
        12 => {
            let mut c = vec!["XREAD".to_owned()];
            if g.chance(40) {
                c.extend(["COUNT".to_owned(), g.int()]);
            }
            c.extend(["STREAMS".to_owned(), k, stream_id(g)]);
            cmd(c)
        }
        13 => {
            let start = g.pick(&["0", "$", "1-1", "abc", "-"]).to_owned();
            let mut c = vec!["XGROUP".to_owned(), "CREATE".to_owned(), k, g.pick(&["g", "g2"]).to_owned(), start];
            c.extend(some_of(g, &["MKSTREAM"], 40));
            if g.chance(20) {
                c.extend(["ENTRIESREAD".to_owned(), g.int()]);
            }
            cmd(c)
        }
        14 => {
            let mut c = vec!["XGROUP".to_owned(), "SETID".to_owned(), k, g.pick(&["g", "g2"]).to_owned()];
            c.push(g.pick(&["0", "$", "1-1", "2-1"]).to_owned());
            cmd(c)
        }
        15 | 16 => {
            let group = g.pick(&["g", "g2", "nogroup"]).to_owned();
            let mut c = vec!["XREADGROUP".to_owned(), "GROUP".to_owned(), group, g.pick(&["c1", "c2"]).to_owned()];
            if g.chance(50) {
                c.extend(["COUNT".to_owned(), g.pick(&["1", "2", "0", "-1"]).to_owned()]);
            }
            c.extend(some_of(g, &["NOACK"], 10));
            c.extend(["STREAMS".to_owned(), k, g.pick(&[">", ">", "0", "1-1"]).to_owned()]);
            cmd(c)
        }
        17 => {
            cmd([vec!["XACK".to_owned(), k, "g".to_owned()], (0..g.range(1, 2)).map(|_| stream_id(g)).collect()]
                .concat())
        }
        18 => words!("XPENDING", &k, g.pick(&["g", "g2", "nogroup"])),
        19 => {
            let mut c = vec!["XCLAIM".to_owned(), k, "g".to_owned(), g.pick(&["c1", "c2"]).to_owned(), "0".to_owned()];
            c.extend((0..g.range(1, 2)).map(|_| stream_id(g)));
            c.extend(some_of(g, &["JUSTID", "FORCE"], 30));
            if g.chance(20) {
                c.extend(["RETRYCOUNT".to_owned(), g.int()]);
            }
            cmd(c)
        }
        20 => {
            let consumer = g.pick(&["c1", "c2"]).to_owned();
            let mut c = vec!["XAUTOCLAIM".to_owned(), k, "g".to_owned(), consumer, "0".to_owned(), range_id(g)];
            if g.chance(50) {
                c.extend(["COUNT".to_owned(), g.pick(&["1", "2", "0", "100", "-1"]).to_owned()]);
            }
            c.extend(some_of(g, &["JUSTID"], 30));
            cmd(c)
        }
        21 => words!("XINFO", "STREAM", &k),
        22 => words!("XINFO", "GROUPS", &k),
        23 => words!("XINFO", "CONSUMERS", &k, "g").masked(Mask::Numbers),
        24 => {
            let mut c = vec!["XSETID".to_owned(), k, stream_id(g)];
            if g.chance(30) {
                c.extend(["ENTRIESADDED".to_owned(), g.int()]);
            }
            if g.chance(30) {
                c.extend(["MAXDELETEDID".to_owned(), stream_id(g)]);
            }
            cmd(c)
        }
        _ => words!("XGROUP", "DELCONSUMER", &k, "g", g.pick(&["c1", "c2"])),
    }
}

/// A longitude near the fixtures (Sicily), at the edges, or out of range.
fn lon(g: &mut Gen) -> String {
    match g.below(8) {
        0..=5 => format!("{}.{:04}", g.range(12, 16), g.range(0, 9999)),
        _ => g.pick(&["180", "-180", "180.1", "0", "abc", "nan"]).to_owned(),
    }
}

/// A latitude near the fixtures, at the edges, or out of range.
fn lat(g: &mut Gen) -> String {
    match g.below(8) {
        0..=5 => format!("{}.{:04}", g.range(36, 39), g.range(0, 9999)),
        _ => g.pick(&["85.05112878", "-85.05112878", "85.06", "0", "abc"]).to_owned(),
    }
}

fn place(g: &mut Gen) -> String {
    g.pick(&["Palermo", "Catania", "p1", "p2", "p3", "nowhere"]).to_owned()
}

fn unit(g: &mut Gen) -> String {
    g.pick(&["m", "km", "mi", "ft", "km", "yd"]).to_owned()
}

/// GEOSEARCH's FROM, BY, order, COUNT and WITH options.
fn geo_search(g: &mut Gen, store: bool) -> Vec<String> {
    let mut c = Vec::new();
    if g.chance(50) {
        c.extend(["FROMMEMBER".to_owned(), place(g)]);
    } else {
        c.extend(["FROMLONLAT".to_owned(), lon(g), lat(g)]);
    }
    let size = || ["10", "100", "200", "0", "-1", "500"];
    if g.chance(50) {
        c.extend(["BYRADIUS".to_owned(), g.pick(&size()).to_owned(), unit(g)]);
    } else {
        c.extend(["BYBOX".to_owned(), g.pick(&size()).to_owned(), g.pick(&size()).to_owned(), unit(g)]);
    }
    let order = g.pick(&["ASC", "DESC"]);
    c.extend(some_of(g, &[order], 50));
    if g.chance(30) {
        c.extend(["COUNT".to_owned(), g.pick(&["1", "2", "0", "-1"]).to_owned()]);
        c.extend(some_of(g, &["ANY"], 30));
    }
    if store {
        c.extend(some_of(g, &["STOREDIST"], 40));
    } else {
        c.extend(some_of(g, &["WITHCOORD", "WITHDIST", "WITHHASH"], 40));
    }
    c
}

/// Geo: GEOADD with options and bad coordinates, distances, positions, hashes, searches.
pub fn geo(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(14) {
        0..=3 => {
            let mut c = vec!["GEOADD".to_owned(), k];
            c.extend(some_of(g, &["NX", "XX", "CH"], 12));
            for _ in 0..g.range(1, 3) {
                c.extend([lon(g), lat(g), place(g)]);
            }
            cmd(c)
        }
        4 => {
            let mut c = vec!["GEODIST".to_owned(), k, place(g), place(g)];
            if g.chance(60) {
                c.push(unit(g));
            }
            cmd(c)
        }
        5 => cmd([vec!["GEOPOS".to_owned(), k], (0..g.range(1, 3)).map(|_| place(g)).collect()].concat()),
        6 => cmd([vec!["GEOHASH".to_owned(), k], (0..g.range(1, 3)).map(|_| place(g)).collect()].concat()),
        7..=9 => cmd([vec!["GEOSEARCH".to_owned(), k], geo_search(g, false)].concat()),
        10 => cmd([vec!["GEOSEARCHSTORE".to_owned(), key(g), k], geo_search(g, true)].concat()),
        11 => {
            let mut c =
                vec!["GEORADIUS".to_owned(), k, lon(g), lat(g), g.pick(&["100", "200", "-1"]).to_owned(), unit(g)];
            c.extend(some_of(g, &["WITHDIST", "WITHCOORD", "ASC"], 40));
            cmd(c)
        }
        12 => {
            let mut c = vec!["GEORADIUSBYMEMBER".to_owned(), k, place(g), g.pick(&["100", "200"]).to_owned(), unit(g)];
            c.extend(some_of(g, &["WITHDIST", "WITHHASH", "DESC"], 40));
            cmd(c)
        }
        _ => words!("ZRANGE", &k, "0", "-1", "WITHSCORES"),
    }
}

/// HyperLogLog: PFADD (sparse, then dense past its limit), PFCOUNT, PFMERGE, the raw string.
pub fn hll(g: &mut Gen) -> Cmd {
    let k = key(g);
    match g.below(12) {
        0..=3 => cmd([vec!["PFADD".to_owned(), k], (0..g.range(0, 4)).map(|_| g.member()).collect()].concat()),
        4 => {
            let from = g.range(0, 5000);
            cmd([
                vec!["PFADD".to_owned(), k],
                (from..from + g.pick(&["50", "400", "1500"]).parse().unwrap_or(1)).map(|i| i.to_string()).collect(),
            ]
            .concat())
        }
        5 | 6 => cmd(std::iter::once("PFCOUNT".to_owned()).chain(some_keys(g))),
        7 => cmd([vec!["PFMERGE".to_owned(), k], {
            let n = g.below(3);
            keys(g, n)
        }]
        .concat()),
        8 | 9 => words!("GET", &k),
        10 => words!("APPEND", &k, g.pick(&["x", "HYLL"])),
        _ => words!("SET", &k, g.pick(&["HYLL", "x", ""])),
    }
}

/// Keyspace: types, expiry with its NX/XX/GT/LT options, renames, COPY, SORT, OBJECT ENCODING.
pub fn keyspace(g: &mut Gen) -> Cmd {
    let pool = ["k1", "k2", "k3", "z", "w", "nokey", "ht_a"];
    let k = g.pick(&pool).to_owned();
    match g.below(24) {
        0 | 1 => {
            let verb = g.pick(&["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]);
            let n = match verb {
                "EXPIRE" => g.pick(&["100", "1000", "0", "-1", "9223372036854775807", "abc", "200"]),
                "PEXPIRE" => g.pick(&["150000", "250000", "-5", "9223372036854775807"]),
                "EXPIREAT" => g.pick(&["4102444800", "4102444900", "1", "9223372036854775807"]),
                _ => g.pick(&["4102444800000", "4102444900000", "1"]),
            };
            let mut c = vec![verb.to_owned(), k, n.to_owned()];
            // GT/LT only with absolute times: comparing two relative ones
            // races the clock (the same TTL twice is equal only within a ms)
            let options: &[&str] = if verb.ends_with("AT") { &["NX", "XX", "GT", "LT"] } else { &["NX", "XX"] };
            c.extend(some_of(g, options, 15));
            cmd(c)
        }
        2 => words!("TTL", &k).masked(Mask::Remaining),
        3 => words!("PTTL", &k).masked(Mask::Remaining),
        4 => words!(g.pick(&["EXPIRETIME", "PEXPIRETIME"]), &k).masked(Mask::Remaining),
        5 => words!("PERSIST", &k),
        6 => words!("TYPE", &k),
        7 => cmd(std::iter::once(g.pick(&["EXISTS", "DEL", "UNLINK", "TOUCH"]).to_owned())
            .chain((0..g.range(1, 3)).map(|_| g.pick(&pool).to_owned()))),
        8 => words!(g.pick(&["RENAME", "RENAMENX"]), &k, g.pick(&pool)),
        9 => {
            let mut c = vec!["COPY".to_owned(), k, g.pick(&pool).to_owned()];
            if g.chance(30) {
                c.extend(["DB".to_owned(), g.pick(&["0", "1", "16", "-1", "abc"]).to_owned()]);
            }
            c.extend(some_of(g, &["REPLACE"], 40));
            cmd(c)
        }
        10 => words!("MOVE", &k, g.pick(&["1", "0", "16", "abc"])),
        11 => words!("OBJECT", "ENCODING", &k),
        12..=15 => sort(g, &k),
        16 => words!("DBSIZE"),
        17 => words!("KEYS", g.pick(&["*", "k*", "?1", "[kz]*", "wt_*", "h[^x]*"])).masked(Mask::Unordered),
        18 => words!("SET", &k, g.pick(&["1", "abc", "2.5", "-3"])),
        19 => cmd([
            vec!["RPUSH".to_owned(), k],
            (0..g.range(1, 3)).map(|_| g.pick(&["3", "1", "a", "10", "2.5", "-1"]).to_owned()).collect(),
        ]
        .concat()),
        20 => words!("ZADD", &k, g.pick(&["1", "-1", "0"]), g.pick(&["x", "a", "q"])),
        21 => words!("SADD", &k, g.pick(&["1", "b", "77", "-5"])),
        22 => words!("RANDOMKEY").masked(Mask::Shape),
        _ => words!("SET", g.pick(&["wt_a", "wt_b", "wt_c", "wt_x"]), g.pick(&["3", "1", "z", "-2"])),
    }
}

/// SORT or SORT_RO with BY, LIMIT, GET, order, ALPHA and STORE, and its mask.
/// Two orders are the real server's own: a set's members BY nosort (its
/// dict's), and ties of an ALPHA sort BY a pattern (the sorted set's or set's
/// dict order, kept by a stable sort). Those are compared unordered, or by
/// shape under LIMIT (which members is random), and never stored.
fn sort(g: &mut Gen, k: &str) -> Cmd {
    let ro = g.chance(20);
    let mut c = vec![if ro { "SORT_RO" } else { "SORT" }.to_owned(), k.to_owned()];
    let by = if g.chance(30) { Some(g.pick(&["wt_*", "nosort", "ht_*->f", "missing_*"])) } else { None };
    if let Some(pattern) = by {
        c.extend(["BY".to_owned(), pattern.to_owned()]);
    }
    let limited = g.chance(25);
    if limited {
        c.extend(["LIMIT".to_owned(), g.index(), g.index()]);
    }
    for _ in 0..g.below(3) {
        c.extend(["GET".to_owned(), g.pick(&["#", "wt_*", "ht_*->f", "nothing"]).to_owned()]);
    }
    let order = g.pick(&["ASC", "DESC"]);
    let options = some_of(g, &[order, "ALPHA"], 35);
    let alpha = options.iter().any(|o| o == "ALPHA");
    c.extend(options);
    let random = by == Some("nosort") || (alpha && by.is_some());
    if !ro && !random && g.chance(20) {
        c.extend(["STORE".to_owned(), g.pick(&["k3", "dst", "w"]).to_owned()]);
    }
    let mask = match (random, limited) {
        (false, _) => Mask::None,
        (true, false) => Mask::Unordered,
        (true, true) => Mask::Shape,
    };
    cmd(c).masked(mask)
}
