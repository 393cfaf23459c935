//! ZRANDMEMBER, SRANDMEMBER and HRANDFIELD (t_zset.c, t_set.c, t_hash.c): members drawn from the
//! process's seeded random stream (one draw per command, [`Exec::random`],
//! stretched with splitmix64), so a run is reproducible. Which members come
//! is random in Redis too; what is not random matches it: the whole set when
//! the count covers it, the errors, the shapes. SPOP too: what it
//! propagates (SREMs, a DEL when it takes the whole set) follows Redis.

use crate::commands::{parse_int, smembers, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::collections::BTreeSet;

/// A stream of numbers from one seeded draw.
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    /// `count` indexes below `n`: distinct when `unique` (then `count < n`).
    fn pick(&mut self, n: usize, count: usize, unique: bool) -> Vec<usize> {
        if !unique {
            return (0..count).map(|_| self.below(n)).collect();
        }
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    }
}

/// Runs `name` if it is one of these; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "zrandmember" => zrandmember(args, x),
        "srandmember" => srandmember(args, x),
        "spop" => spop(args, x),
        "hrandfield" => hrandfield(args, x),
        _ => return crate::lcs::keyspace(name, args, x),
    })
}

/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`.
fn count(arg: &[u8]) -> Result<i64, Value> {
    match parse_int(arg) {
        None => Err(Value::error("ERR value is not an integer or out of range")),
        Some(i64::MIN) => Err(Value::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        Some(n) => Ok(n),
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]].
fn zrandmember(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let mut draws = Draws(x.random);
    let Some(arg) = args.get(2) else {
        return match x.read(&args[1]) {
            None => Value::Nil,
            Some(Data::ZSet(z)) => {
                let at = draws.below(z.len());
                z.iter().nth(at).map_or(Value::Nil, |(m, _)| Value::bulk(m))
            }
            Some(_) => wrong_type(),
        };
    };
    let n = match count(arg) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if args.len() > 4 || (args.len() == 4 && !args[3].eq_ignore_ascii_case(b"withscores")) {
        return Value::error("ERR syntax error");
    }
    let withscores = args.len() == 4;
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
        return Value::error("ERR value is out of range");
    }
    let z = match x.read(&args[1]) {
        None => return Value::Array(Vec::new()),
        Some(Data::ZSet(z)) => z,
        Some(_) => return wrong_type(),
    };
    let members: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    let (wanted, unique) = (n.unsigned_abs() as usize, n >= 0);
    let picked: Vec<(Vec<u8>, f64)> = if unique && wanted >= members.len() {
        // The whole set, as 7.0 walks its listpack: highest score first.
        members.into_iter().rev().collect()
    } else {
        draws.pick(members.len(), wanted, unique).into_iter().map(|i| members[i].clone()).collect()
    };
    if !withscores {
        return Value::Array(picked.into_iter().map(|(m, _)| Value::Bulk(m)).collect());
    }
    let double = |s: f64| Value::Double(crate::zset::format_g17(s));
    if x.resp3 {
        return Value::Array(picked.into_iter().map(|(m, s)| Value::Array(vec![Value::Bulk(m), double(s)])).collect());
    }
    Value::Array(picked.into_iter().flat_map(|(m, s)| [Value::Bulk(m), double(s)]).collect())
}

/// HRANDFIELD key [count [WITHVALUES]] (`hrandfieldCommand`): checked as
/// ZRANDMEMBER is; the whole hash comes in its own (insertion) order.
fn hrandfield(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let mut draws = Draws(x.random);
    let Some(arg) = args.get(2) else {
        return match x.read(&args[1]) {
            None => Value::Nil,
            Some(Data::Hash(fields)) => Value::Bulk(fields[draws.below(fields.len())].0.clone()),
            Some(_) => wrong_type(),
        };
    };
    let n = match count(arg) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if args.len() > 4 || (args.len() == 4 && !args[3].eq_ignore_ascii_case(b"withvalues")) {
        return Value::error("ERR syntax error");
    }
    let withvalues = args.len() == 4;
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
        return Value::error("ERR value is out of range");
    }
    let resp3 = x.resp3;
    let fields = match x.read(&args[1]) {
        None => return Value::Array(Vec::new()),
        Some(Data::Hash(fields)) => fields,
        Some(_) => return wrong_type(),
    };
    let (wanted, unique) = (n.unsigned_abs() as usize, n >= 0);
    let picked: Vec<&(Vec<u8>, Vec<u8>)> = if unique && wanted >= fields.len() {
        fields.iter().collect()
    } else {
        draws.pick(fields.len(), wanted, unique).into_iter().map(|i| &fields[i]).collect()
    };
    let pair = |(f, v): &(Vec<u8>, Vec<u8>)| [Value::Bulk(f.clone()), Value::Bulk(v.clone())];
    Value::Array(match (withvalues, resp3) {
        (false, _) => picked.into_iter().map(|(f, _)| Value::Bulk(f.clone())).collect(),
        (true, true) => picked.into_iter().map(|p| Value::Array(pair(p).to_vec())).collect(),
        (true, false) => picked.into_iter().flat_map(pair).collect(),
    })
}

/// SRANDMEMBER key [count].
fn srandmember(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let mut draws = Draws(x.random);
    if args.len() > 3 {
        return Value::error("ERR syntax error");
    }
    let n = match args.get(2).map(|a| count(a)) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return e,
    };
    let intset = x.is_intset(&args[1]);
    let members = match x.read(&args[1]) {
        None => return if n.is_some() { Value::Array(Vec::new()) } else { Value::Nil },
        Some(Data::Set(members)) => members,
        Some(_) => return wrong_type(),
    };
    // SMEMBERS' order, which is the set's own for an intset.
    let Value::Set(ordered) = smembers(members, intset) else { unreachable!("smembers replies a set") };
    let Some(n) = n else { return ordered[draws.below(ordered.len())].clone() };
    let (wanted, unique) = (n.unsigned_abs() as usize, n >= 0);
    if unique && wanted >= ordered.len() {
        return Value::Array(ordered);
    }
    Value::Array(draws.pick(ordered.len(), wanted, unique).into_iter().map(|i| ordered[i].clone()).collect())
}

/// SPOP key [count] (`spopCommand`, `spopWithCountCommand`).
fn spop(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let mut draws = Draws(x.random);
    match args.len() {
        2 => {}
        3 => return spop_count(args, x, &mut draws),
        _ => return Value::error("ERR syntax error"),
    }
    let intset = x.is_intset(&args[1]);
    let member = match x.lookup_mut(&args[1]) {
        None => return Value::Nil,
        Some(Data::Set(members)) => {
            let Value::Set(ordered) = smembers(members, intset) else { unreachable!("smembers replies a set") };
            let Value::Bulk(m) = &ordered[draws.below(ordered.len())] else { unreachable!("members are bulk") };
            members.remove(m);
            m.clone()
        }
        Some(_) => return wrong_type(),
    };
    let emptied = remove_if_empty(x, &args[1]);
    x.dirty += 1;
    // Propagated as the SREM it amounts to; emptying the set propagates no DEL.
    x.propagate(&[b"SREM".as_slice(), &args[1], &member]);
    x.notify(notify::SET, "spop", &args[1]);
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Bulk(member)
}

/// Deletes the set at `key` if it is empty; true if it did.
fn remove_if_empty(x: &mut Exec<'_>, key: &[u8]) -> bool {
    let empty = matches!(x.db().keys.get(key), Some(Data::Set(m)) if m.is_empty());
    if empty {
        x.db().remove(key);
    }
    empty
}

/// Redis's `SPOP_MOVE_STRATEGY_MUL`: when fewer than count/5 members stay,
/// Redis draws the ones that stay and replies the rest in the set's order.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// SPOP key count: the whole set (propagated as DEL) when count covers it,
/// otherwise count members, each propagated as an SREM, the SREMs wrapped in
/// MULTI/EXEC as 7.0 wraps a command's several propagated commands.
fn spop_count(args: &[Vec<u8>], x: &mut Exec<'_>, draws: &mut Draws) -> Value {
    let count = match parse_int(&args[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => return Value::error("ERR value is out of range, must be positive"),
    };
    let intset = x.is_intset(&args[1]);
    let members = match x.lookup_mut(&args[1]) {
        None => return Value::Set(Vec::new()),
        Some(Data::Set(members)) => members,
        Some(_) => return wrong_type(),
    };
    if count == 0 {
        return Value::Set(Vec::new());
    }
    let Value::Set(ordered) = smembers(members, intset) else { unreachable!("smembers replies a set") };
    let size = ordered.len();
    if count >= size as u64 {
        // Redis answers the whole set with SUNION's code, a read lookup.
        x.read(&args[1]);
        // Redis adds the requested count and one; bounded here by the size.
        x.dirty += size as u64 + 1;
        x.db().remove(&args[1]);
        x.propagate(&[b"DEL".as_slice(), &args[1]]);
        x.notify(notify::SET, "spop", &args[1]);
        x.notify(notify::GENERIC, "del", &args[1]);
        return Value::Set(ordered);
    }
    // Below the set's size, so it fits.
    let count = count as usize;
    let remaining = size - count;
    let popped: Vec<Value> = if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        draws.pick(size, count, true).into_iter().map(|i| ordered[i].clone()).collect()
    } else {
        let kept: BTreeSet<usize> = draws.pick(size, remaining, true).into_iter().collect();
        ordered.into_iter().enumerate().filter(|(i, _)| !kept.contains(i)).map(|(_, m)| m).collect()
    };
    for m in &popped {
        if let Value::Bulk(m) = m {
            members.remove(m);
        }
    }
    // Redis adds the requested count and one to `dirty`.
    x.dirty += count as u64 + 1;
    propagate_srems(x, &args[1], &popped);
    x.notify(notify::SET, "spop", &args[1]);
    Value::Set(popped)
}

/// One SREM per popped member, in MULTI/EXEC when there are several (and the
/// command is not already inside EXEC, which wraps the whole transaction).
fn propagate_srems(x: &mut Exec<'_>, key: &[u8], popped: &[Value]) {
    let wrap = popped.len() > 1 && !x.feed.in_multi;
    if wrap {
        x.propagate(&[b"MULTI"]);
    }
    for m in popped {
        if let Value::Bulk(m) = m {
            x.propagate(&[b"SREM".as_slice(), key, m]);
        }
    }
    if wrap {
        x.propagate(&[b"EXEC"]);
    }
    if x.feed.in_multi {
        x.feed.also += popped.len().saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::lab;

    /// Replies of a real 7.0.15 where they are not random.
    #[test]
    fn replies_match_redis_where_they_are_not_random() {
        let mut l = lab();
        for line in include_str!("tests_random_transcript.txt").lines().filter(|l| !l.is_empty()) {
            let (cmd, want) = line.split_once(" => ").expect("command => reply");
            assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
        }
    }

    #[test]
    fn draws_are_members_and_distinct_when_asked() {
        let mut l = lab();
        l.cmd("zadd z 1 a 2 b 3 c 4 d 5 e");
        l.cmd("sadd s a b c d e");
        for _ in 0..20 {
            let picked = l.cmd("zrandmember z 3");
            let lines: std::collections::BTreeSet<&str> = picked.lines().collect();
            assert_eq!(lines.len(), 3, "distinct: {picked}");
            let one = l.cmd("srandmember s");
            assert!(["\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""].contains(&one.as_str()), "{one}");
        }
        assert_eq!(l.cmd("srandmember s -7").lines().count(), 7, "a negative count may repeat");
    }
}
