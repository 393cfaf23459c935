//! Keyspace notifications (issue 24): `notify-keyspace-events` set and read
//! back, then a subscriber on every `__keyspace@*`/`__keyevent@*` channel
//! while another connection runs each command family's writes; what the
//! subscriber received after each command is compared byte for byte, the
//! classes outside `A` (new keys, key misses) and a class filter too. Two
//! connections and waits, which the one-connection catalogue cannot do.

use super::observe::{Expect, Mask, Obs};
use super::target::{Conn, Target, args};
use std::time::Duration;

const PORT: u16 = 7729;

/// The writes, family by family: each one's events (or none) are a case.
const WRITES: &[&str] = &[
    "SET s v EX 100",
    "SET s w GET",
    "SET s x NX",
    "SETEX s2 100 v",
    "MSET m1 a m2 b",
    "MSETNX m1 a m3 c",
    "SETRANGE s 1 ab",
    "INCRBY n 5",
    "INCRBYFLOAT n 1.5",
    "APPEND s more",
    "GETEX m1 EX 100",
    "GETEX m1 PERSIST",
    "GETDEL m2",
    "SETBIT b 7 1",
    "SETBIT b 7 1",
    "BITOP NOT b2 b",
    "PFADD p a b",
    "PFMERGE p3 p",
    "DEL s nosuch",
    "EXPIRE n 100",
    "PERSIST n",
    "EXPIRE n -1",
    "RENAME m1 r1",
    "MOVE r1 1",
    "COPY b b3",
    "SORT nosuch STORE b3",
    "RPUSH l a b c",
    "LPUSHX l z",
    "LINSERT l BEFORE a y",
    "LSET l 0 x",
    "LREM l 1 x",
    "LTRIM l 0 -1",
    "LMOVE l l2 LEFT RIGHT",
    "LMPOP 1 l RIGHT COUNT 5",
    "HSET h f v g w",
    "HINCRBY h n 2",
    "HINCRBYFLOAT h x 1.5",
    "HDEL h f g n x",
    "SADD st 1 2 3",
    "SREM st 1",
    "SMOVE st st2 2",
    "SPOP st 5",
    "SUNIONSTORE su st2 nosuch",
    "SINTERSTORE su st2 nosuch",
    "ZADD z 1 a 2 b 3 c",
    "ZINCRBY z 1 a",
    "ZREM z a",
    "ZREMRANGEBYSCORE z 3 3",
    "ZPOPMIN z 5",
    "ZADD z2 1 a",
    "ZUNIONSTORE zu 1 z2",
    "ZRANGESTORE zr z2 0 -1",
    "GEOADD g 13.361389 38.115556 Palermo",
    "GEOSEARCHSTORE gs g FROMLONLAT 13 38 BYRADIUS 200 km",
    "XADD x 1-1 f v",
    "XADD x MAXLEN 1 2-1 f v",
    "XGROUP CREATE x g 0",
    "XREADGROUP GROUP g c COUNT 1 STREAMS x >",
    "XGROUP DELCONSUMER x g c",
    "XDEL x 2-1",
    "XSETID x 5-1",
    "XGROUP DESTROY x g",
    "FLUSHDB",
];

/// One command on `conn`, its reply observed.
fn call(t: &mut dyn Target, conn: Conn, line: &str) -> Result<Obs, String> {
    Ok(Obs::reply(line.to_owned(), &t.call(conn, &args(line))?, Expect::Same, Mask::None))
}

/// What the subscriber received since the last look.
fn received(t: &mut dyn Target, sub: Conn, after: &str) -> Obs {
    t.sleep(Duration::from_millis(20));
    let seen = match t.received(sub) {
        Ok(bytes) => super::target::escape(&bytes),
        Err(_) => "closed".to_owned(),
    };
    Obs::fact(format!("subscriber after {after}"), seen, Expect::Same)
}

/// The directive's checks and normalised form, then the events.
pub fn catalogue(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    t.start(PORT, "save \"\"\n")?;
    let admin = t.connect(PORT)?;
    let mut out = Vec::new();
    for value in ["AKE", "Ex", "g$lshzxetmdn", "Kn", "\"\"", "Q", "kea"] {
        out.push(call(t, admin, &format!("CONFIG SET notify-keyspace-events {value}"))?);
        out.push(call(t, admin, "CONFIG GET notify-keyspace-events")?);
    }
    out.push(call(t, admin, "CONFIG SET notify-keyspace-events KEA")?);
    let sub = t.connect(PORT)?;
    t.send(sub, &args("PSUBSCRIBE __key*__:*"))?;
    out.push(received(t, sub, "PSUBSCRIBE"));
    for line in WRITES {
        out.push(call(t, admin, line)?);
        out.push(received(t, sub, line));
    }
    // Active expiry: the cron deletes the key within a few hundred ms.
    out.push(call(t, admin, "SET e v PX 100")?);
    out.push(received(t, sub, "SET e v PX 100"));
    t.sleep(Duration::from_millis(500));
    out.push(received(t, sub, "the key's time"));
    // The classes outside A: new keys and key misses.
    out.push(call(t, admin, "CONFIG SET notify-keyspace-events AKEmn")?);
    out.push(call(t, admin, "CONFIG GET notify-keyspace-events")?);
    for line in [
        "SET fresh v",
        "SET fresh w",
        "RENAME fresh fresh2",
        "GET nosuch",
        "MGET fresh2 nosuch",
        "OBJECT ENCODING nosuch",
    ] {
        out.push(call(t, admin, line)?);
        out.push(received(t, sub, &format!("{line} (AKEmn)")));
    }
    // Only the classes enabled: lists on the keyevent channels.
    out.push(call(t, admin, "CONFIG SET notify-keyspace-events El")?);
    for line in ["SET s v", "RPUSH q a", "DEL q"] {
        out.push(call(t, admin, line)?);
        out.push(received(t, sub, &format!("{line} (El)")));
    }
    Ok(out)
}
