//! Redis mixed-workload benchmark.
//!
//! The replication benchmark's setup (one master, two replicas, a closed-loop
//! pipelining client; see [`crate::bench_redis`]), with commands over every
//! value type: strings, lists, hashes, sets, sorted sets, streams,
//! HyperLogLogs, geo sets and bitmaps, reads and writes. Each family runs
//! alone once, which gives its commands per wall second, and then all of
//! them interleaved. Keys, members and values come from the client's own
//! random stream, so each run is deterministic; every reply must come back
//! without error and both replicas must end with the master's dataset.

use crate::bench_redis::{self, Client, Outcome, Tally};
use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, Ctx, Input, Process, Rng};

/// A family of commands: the value type they work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// SET, GET, INCRBY.
    Strings,
    /// LPUSH, RPOP, LRANGE.
    Lists,
    /// HSET, HGET, HINCRBY.
    Hashes,
    /// SADD, SREM, SISMEMBER.
    Sets,
    /// ZADD, ZINCRBY, ZRANGE WITHSCORES.
    ZSets,
    /// XADD with MAXLEN, XLEN, XRANGE with COUNT.
    Streams,
    /// PFADD, PFCOUNT.
    Hll,
    /// GEOADD, GEODIST, GEOPOS.
    Geo,
    /// SETBIT, GETBIT, BITCOUNT.
    Bits,
}

/// Every family, in the order they are reported.
pub const FAMILIES: [Family; 9] = [
    Family::Strings,
    Family::Lists,
    Family::Hashes,
    Family::Sets,
    Family::ZSets,
    Family::Streams,
    Family::Hll,
    Family::Geo,
    Family::Bits,
];

/// Keys per family: small enough that every key sees many commands.
const KEYS: u64 = 1_000;
/// Fields or members per hash, set, sorted set and geo set.
const MEMBERS: u64 = 50;

impl Family {
    /// The family's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Family::Strings => "strings",
            Family::Lists => "lists",
            Family::Hashes => "hashes",
            Family::Sets => "sets",
            Family::ZSets => "zsets",
            Family::Streams => "streams",
            Family::Hll => "hll",
            Family::Geo => "geo",
            Family::Bits => "bits",
        }
    }

    /// One command of the family, its arguments drawn from `rng`.
    fn command(self, rng: &mut Rng) -> Vec<String> {
        let (pick, n, m) = (rng.below(100), rng.below(KEYS), rng.below(MEMBERS));
        let v = |s: &[&str]| s.iter().map(|a| (*a).to_owned()).collect::<Vec<String>>();
        let key = |prefix: &str| format!("{prefix}:{n}");
        let member = format!("m{m}");
        match self {
            Family::Strings if pick < 50 => v(&["SET", &key("s"), &format!("{:016x}", rng.next_u64())]),
            Family::Strings if pick < 80 => v(&["GET", &key("s")]),
            Family::Strings => v(&["INCRBY", &key("n"), "3"]),
            Family::Lists if pick < 40 => v(&["LPUSH", &key("l"), &format!("{:x}", rng.next_u64())]),
            Family::Lists if pick < 80 => v(&["RPOP", &key("l")]),
            Family::Lists => v(&["LRANGE", &key("l"), "0", "9"]),
            Family::Hashes if pick < 50 => v(&["HSET", &key("h"), &member, &format!("{:x}", rng.next_u64())]),
            Family::Hashes if pick < 80 => v(&["HGET", &key("h"), &member]),
            Family::Hashes => v(&["HINCRBY", &key("h"), "count", "1"]),
            Family::Sets if pick < 40 => v(&["SADD", &key("t"), &member]),
            Family::Sets if pick < 70 => v(&["SREM", &key("t"), &member]),
            Family::Sets => v(&["SISMEMBER", &key("t"), &member]),
            Family::ZSets if pick < 40 => v(&["ZADD", &key("z"), &rng.below(1_000).to_string(), &member]),
            Family::ZSets if pick < 70 => v(&["ZINCRBY", &key("z"), "1", &member]),
            Family::ZSets => v(&["ZRANGE", &key("z"), "0", "4", "WITHSCORES"]),
            Family::Streams if pick < 60 => v(&["XADD", &key("x"), "MAXLEN", "100", "*", "f", &member]),
            Family::Streams if pick < 80 => v(&["XLEN", &key("x")]),
            Family::Streams => v(&["XRANGE", &key("x"), "-", "+", "COUNT", "5"]),
            Family::Hll if pick < 70 => v(&["PFADD", &key("p"), &format!("e{}", rng.below(10_000))]),
            Family::Hll => v(&["PFCOUNT", &key("p")]),
            Family::Geo if pick < 50 => {
                // Longitudes and latitudes in thousandths of a degree, within Redis's limits.
                let (lon, lat) = (rng.below(360_000) as f64 / 1e3 - 180.0, rng.below(170_000) as f64 / 1e3 - 85.0);
                v(&["GEOADD", &key("g"), &format!("{lon:.3}"), &format!("{lat:.3}"), &member])
            }
            Family::Geo if pick < 75 => v(&["GEODIST", &key("g"), &member, &format!("m{}", rng.below(MEMBERS))]),
            Family::Geo => v(&["GEOPOS", &key("g"), &member]),
            Family::Bits if pick < 50 => {
                v(&["SETBIT", &key("b"), &rng.below(8_192).to_string(), &rng.below(2).to_string()])
            }
            Family::Bits if pick < 75 => v(&["GETBIT", &key("b"), &rng.below(8_192).to_string()]),
            Family::Bits => v(&["BITCOUNT", &key("b")]),
        }
    }
}

/// One connection of the client.
struct Link {
    conn: ConnId,
    replies: ReplyDecoder,
    /// Replies still expected for the pipeline in flight.
    outstanding: u32,
}

/// The closed-loop client: on each connection a pipeline of commands, each of
/// a family drawn from `families`, then the next once every reply is in.
struct Mixed {
    families: Vec<Family>,
    connections: usize,
    pipeline: u32,
    links: Vec<Link>,
    out: Vec<u8>,
    stopping: bool,
    /// Commands sent per family, by position in [`FAMILIES`].
    per_family: [u64; FAMILIES.len()],
    tally: Tally,
}

impl Mixed {
    fn new(families: Vec<Family>) -> Mixed {
        Mixed {
            families,
            connections: 2,
            pipeline: 8,
            links: Vec::new(),
            out: Vec::new(),
            stopping: false,
            per_family: [0; FAMILIES.len()],
            tally: Tally { sent: 0, replies: 0, errors: 0, failures: 0 },
        }
    }

    fn send_pipeline(&mut self, ctx: &mut Ctx<'_>, i: usize) {
        if self.stopping {
            return;
        }
        self.out.clear();
        for _ in 0..self.pipeline {
            let rng = ctx.rng();
            let family = self.families[rng.below(self.families.len() as u64) as usize];
            let args = family.command(rng);
            resp::encode_command(&args, &mut self.out);
            let at = FAMILIES.iter().position(|f| *f == family).expect("every family is listed");
            self.per_family[at] += 1;
        }
        let link = &mut self.links[i];
        link.outstanding = self.pipeline;
        ctx.send(link.conn, &self.out);
        self.tally.sent += u64::from(self.pipeline);
    }

    fn on_replies(&mut self, ctx: &mut Ctx<'_>, i: usize, bytes: &[u8]) {
        let link = &mut self.links[i];
        link.replies.feed(bytes);
        loop {
            match link.replies.next_value() {
                Decoded::Value(value) => {
                    self.tally.replies += 1;
                    self.tally.errors += u64::from(matches!(value, Value::Error(_)));
                    link.outstanding = link.outstanding.saturating_sub(1);
                }
                Decoded::Incomplete => break,
                Decoded::Invalid(_) => {
                    self.tally.failures += 1;
                    return;
                }
            }
        }
        if link.outstanding == 0 {
            self.send_pipeline(ctx, i);
        }
    }
}

impl Process for Mixed {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                for _ in 0..self.connections {
                    let conn = ctx.connect(bench_redis::MASTER);
                    self.links.push(Link { conn, replies: ReplyDecoder::default(), outstanding: 0 });
                }
            }
            Input::Connected { conn } => {
                if let Some(i) = self.links.iter().position(|l| l.conn == conn) {
                    self.send_pipeline(ctx, i);
                }
            }
            Input::Data { conn, bytes } => {
                if let Some(i) = self.links.iter().position(|l| l.conn == conn) {
                    self.on_replies(ctx, i, bytes);
                }
            }
            Input::ConnectFailed { .. } | Input::Closed { .. } => self.tally.failures += 1,
            _ => {}
        }
    }
}

impl Client for Mixed {
    fn stop(&mut self) {
        self.stopping = true;
    }

    fn tally(&self) -> Tally {
        let t = &self.tally;
        Tally { sent: t.sent, replies: t.replies, errors: t.errors, failures: t.failures }
    }
}

/// One measured run of `families` interleaved (one family: that family alone);
/// with the commands sent per family.
pub fn run(families: &[Family], virtual_secs: u64, seed: u64) -> Result<(Outcome, [u64; FAMILIES.len()]), String> {
    let families = families.to_vec();
    bench_redis::measured(virtual_secs, seed, move || Mixed::new(families.clone()), |m| m.per_family)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short run of every family together: all replies come back without
    /// error, the replicas end with the master's dataset (checked by
    /// [`bench_redis::measured`]), every family was sent, and the same seed
    /// gives the same trace.
    #[test]
    fn every_family_replicates_without_error_and_deterministically() {
        let (a, sent) = run(&FAMILIES, 1, 3).expect("the mixed load runs clean");
        assert!(sent.iter().all(|&n| n > 1_000), "every family gets its share: {sent:?}");
        assert_eq!(sent.iter().sum::<u64>(), a.sent);
        assert!(a.keys > 5_000, "keys of every family are there: {}", a.keys);
        let (b, _) = run(&FAMILIES, 1, 3).expect("the mixed load runs clean");
        assert_eq!(a.trace_hash, b.trace_hash);
    }
}
