//! More keyspace commands on the existing types, with Redis 7.0's replies and
//! errors: GETDEL, GETRANGE/SUBSTR, SETRANGE (t_string.c), LSET, LINSERT,
//! LMOVE, RPOPLPUSH (t_list.c), SMOVE, SMISMEMBER, SUNION/SINTER/SDIFF[STORE] (t_set.c), TOUCH, COPY (db.c).
//! [`crate::commands::keyspace`] hands them over by name.

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::collections::BTreeSet;

/// `proto-max-bulk-len`'s default: the longest string SETRANGE may make.
const MAX_STRING: i64 = 512 * 1024 * 1024;

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// Runs `name` if it is one of this module's; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "getdel" => getdel(args, x),
        "getex" => getex(args, x),
        "lpos" => lpos(args, x),
        "getrange" | "substr" => getrange(args, x),
        "setrange" => setrange(args, x),
        "lset" => lset(args, x),
        "linsert" => linsert(args, x),
        "lmove" => match (side(&args[3]), side(&args[4])) {
            (Some(from_left), Some(to_left)) => move_element(args, from_left, to_left, x),
            _ => Value::error("ERR syntax error"),
        },
        "rpoplpush" => move_element(args, false, true, x),
        "smove" => smove(args, x),
        "smismember" => match x.read(&args[1]) {
            None => Value::Array(args[2..].iter().map(|_| Value::Integer(0)).collect()),
            Some(Data::Set(members)) => {
                Value::Array(args[2..].iter().map(|m| Value::Integer(i64::from(members.contains(m)))).collect())
            }
            Some(_) => wrong_type(),
        },
        "sunion" | "sinter" | "sdiff" => match set_op(name, &args[1..], x) {
            // `sunionDiffGenericCommand` builds the result as a new set, an intset if it fits.
            Ok(set) => crate::commands::smembers(&set, x.db().limits.intset(&set)),
            Err(e) => e,
        },
        "sunionstore" | "sinterstore" | "sdiffstore" => set_op_store(&name[..name.len() - 5], args, x),
        "touch" => Value::Integer(args[1..].iter().filter(|k| x.read(k).is_some()).count() as i64),
        "copy" => copy(args, x),
        "move" => move_key(args, x),
        "sscan" | "hscan" | "zscan" => value_scan(args, x),
        "sort" => crate::sort::sort(args, x, false),
        "sort_ro" => crate::sort::sort(args, x, true),
        "swapdb" => swapdb(args, x),
        "randomkey" => randomkey(x),
        _ => match crate::stream::commands::keyspace(name, args, x) {
            Some(v) => v,
            None => return crate::zset::keyspace(name, args, x),
        },
    })
}

fn getdel(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let value = match x.read(&args[1]) {
        None => return Value::Nil,
        Some(Data::Str(v)) => v.to_vec(),
        Some(_) => return wrong_type(),
    };
    x.db().remove(&args[1]);
    x.dirty += 1;
    // Propagated as the DEL it amounts to.
    x.propagate(&[b"DEL".as_slice(), &args[1]]);
    x.notify(notify::GENERIC, "del", &args[1]);
    Value::Bulk(value)
}

/// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] (`getexCommand`): options
/// first, then the time, then the key; never propagated as itself but as
/// PEXPIREAT, DEL or PERSIST.
fn getex(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let mut unit: Option<(Vec<u8>, &[u8])> = None;
    let mut persist = false;
    let mut j = 2;
    while j < args.len() {
        let opt = args[j].to_ascii_uppercase();
        let next = args.get(j + 1);
        match (opt.as_slice(), next) {
            // The same option again is taken (the last one counts); another one is not.
            (b"EX" | b"PX" | b"EXAT" | b"PXAT", Some(n))
                if unit.as_ref().is_none_or(|(o, _)| *o == opt) && !persist =>
            {
                unit = Some((opt, n.as_slice()));
                j += 1;
            }
            (b"PERSIST", _) if unit.is_none() => persist = true,
            _ => return Value::error("ERR syntax error"),
        }
        j += 1;
    }
    // getexCommand: the key and its type before the expire value (a missing
    // key answers nil whatever `EX` says)
    let value = match x.read(&args[1]) {
        None => return Value::Nil,
        Some(Data::Str(v)) => v.to_vec(),
        Some(_) => return wrong_type(),
    };
    let at = match &unit {
        None => None,
        Some((opt, n)) => {
            let Some(n) = parse_int(n) else { return not_an_integer() };
            let seconds = opt == b"EX" || opt == b"EXAT";
            let relative = opt == b"EX" || opt == b"PX";
            let ms = if seconds { n.checked_mul(1000) } else { Some(n) };
            let at = ms.filter(|_| n > 0).and_then(|ms| if relative { ms.checked_add(x.now_ms) } else { Some(ms) });
            match at {
                Some(at) => Some((at, !relative)),
                None => return Value::error("ERR invalid expire time in 'getex' command"),
            }
        }
    };
    let key = &args[1];
    match at {
        Some((at, true)) if at <= x.now_ms => {
            x.db().remove(key);
            x.dirty += 1;
            x.propagate(&[b"DEL".as_slice(), key]);
            x.notify(notify::GENERIC, "del", key);
        }
        Some((at, _)) => {
            x.db().expires.insert(key.clone(), at);
            x.dirty += 1;
            x.propagate(&[b"PEXPIREAT".as_slice(), key, at.to_string().as_bytes()]);
            x.notify(notify::GENERIC, "expire", key);
        }
        None if persist && x.db().expires.remove(key).is_some() => {
            x.dirty += 1;
            x.propagate(&[b"PERSIST".as_slice(), key]);
            x.notify(notify::GENERIC, "persist", key);
        }
        None => {}
    }
    Value::Bulk(value)
}

/// LPOS key element [RANK rank] [COUNT num] [MAXLEN len] (`lposCommand`).
fn lpos(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut j = 3;
    while j < args.len() {
        let Some(arg) = args.get(j + 1) else { return Value::error("ERR syntax error") };
        match args[j].to_ascii_lowercase().as_slice() {
            b"rank" => match parse_int(arg) {
                None => return not_an_integer(),
                Some(0) => {
                    return Value::error(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    );
                }
                // 7.0 negates the rank: the most negative one wraps and acts as -1.
                Some(i64::MIN) => rank = -1,
                Some(r) => rank = r,
            },
            // getRangeLongFromObjectOrReply with a message: a non-integer
            // gets the range's message too (`COUNT abc`: "can't be negative")
            b"count" => match parse_int(arg) {
                Some(c) if c >= 0 => count = Some(c),
                _ => return Value::error("ERR COUNT can't be negative"),
            },
            b"maxlen" => match parse_int(arg) {
                Some(m) if m >= 0 => maxlen = m,
                _ => return Value::error("ERR MAXLEN can't be negative"),
            },
            _ => return Value::error("ERR syntax error"),
        }
        j += 2;
    }
    let list = match x.read(&args[1]) {
        None => return if count.is_some() { Value::Array(Vec::new()) } else { Value::Nil },
        Some(Data::List(list)) => list,
        Some(_) => return wrong_type(),
    };
    let len = list.len();
    let scan = if maxlen == 0 { len } else { (maxlen as usize).min(len) };
    let positions: Box<dyn Iterator<Item = usize>> =
        if rank > 0 { Box::new(0..scan) } else { Box::new((len - scan..len).rev()) };
    let mut skip = rank.unsigned_abs() - 1;
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let mut found = Vec::new();
    for i in positions {
        if list[i] != args[2] {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        found.push(Value::Integer(i as i64));
        if found.len() >= want {
            break;
        }
    }
    match count {
        Some(_) => Value::Array(found),
        None => found.pop().unwrap_or(Value::Nil),
    }
}

/// GETRANGE key start end: the indexes are parsed before the key is looked up.
fn getrange(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (Some(mut start), Some(mut end)) = (parse_int(&args[2]), parse_int(&args[3])) else {
        return not_an_integer();
    };
    let s = match x.read(&args[1]) {
        None => return Value::Bulk(Vec::new()),
        Some(Data::Str(s)) => s,
        Some(_) => return wrong_type(),
    };
    let len = s.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return Value::Bulk(Vec::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    let (start, end) = (start.max(0), end.max(0).min(len - 1));
    if start > end {
        return Value::Bulk(Vec::new());
    }
    Value::Bulk(s[start as usize..=end as usize].to_vec())
}

/// SETRANGE key offset value: zero-padded, at most `proto-max-bulk-len` long.
fn setrange(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(offset) = parse_int(&args[2]) else { return not_an_integer() };
    if offset < 0 {
        return Value::error("ERR offset is out of range");
    }
    let value = &args[3];
    let too_long = || offset.saturating_add(value.len() as i64) > MAX_STRING;
    let old_len = match x.lookup(&args[1]) {
        None if value.is_empty() => return Value::Integer(0),
        None => None,
        Some(Data::Str(s)) => Some(s.len()),
        Some(_) => return wrong_type(),
    };
    if value.is_empty() {
        return Value::Integer(old_len.unwrap_or(0) as i64);
    }
    if too_long() {
        return Value::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    if old_len.is_none() {
        x.db().insert(args[1].clone(), Data::Str(crate::keyspace::Str::new()));
    }
    let Some(Data::Str(s)) = x.db().keys.get_mut(&args[1]) else { unreachable!("a string was put there") };
    let (at, end) = (offset as usize, offset as usize + value.len());
    if s.len() < end {
        s.resize(end, 0);
    }
    s[at..end].copy_from_slice(value);
    let len = s.len();
    x.db().note_growth(&args[1]);
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::STRING, "setrange", &args[1]);
    Value::Integer(len as i64)
}

/// LSET key index element: the key is looked up before the index is parsed.
fn lset(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let list = match x.lookup_mut(&args[1]) {
        None => return Value::error("ERR no such key"),
        Some(Data::List(list)) => list,
        Some(_) => return wrong_type(),
    };
    let Some(index) = parse_int(&args[2]) else { return not_an_integer() };
    let len = list.len() as i64;
    let at = if index < 0 { len.saturating_add(index) } else { index };
    match usize::try_from(at).ok().and_then(|at| list.get_mut(at)) {
        None => Value::error("ERR index out of range"),
        Some(slot) => {
            slot.clone_from(&args[3]);
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::LIST, "lset", &args[1]);
            Value::ok()
        }
    }
}

/// LINSERT key BEFORE|AFTER pivot element: -1 without the pivot.
fn linsert(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let after = match args[2].to_ascii_lowercase().as_slice() {
        b"before" => false,
        b"after" => true,
        _ => return Value::error("ERR syntax error"),
    };
    let list = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::List(list)) => list,
        Some(_) => return wrong_type(),
    };
    let Some(at) = list.iter().position(|e| *e == args[3]) else { return Value::Integer(-1) };
    list.insert(at + usize::from(after), args[4].clone());
    let len = list.len();
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::LIST, "linsert", &args[1]);
    Value::Integer(len as i64)
}

fn side(arg: &[u8]) -> Option<bool> {
    match arg.to_ascii_lowercase().as_slice() {
        b"left" => Some(true),
        b"right" => Some(false),
        _ => None,
    }
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH source
/// destination (RIGHT LEFT): both propagate as they came.
fn move_element(args: &[Vec<u8>], from_left: bool, to_left: bool, x: &mut Exec<'_>) -> Value {
    let (src, dst) = (&args[1], &args[2]);
    match x.lookup(src) {
        None => return Value::Nil,
        Some(Data::List(_)) => {}
        Some(_) => return wrong_type(),
    }
    if !matches!(x.lookup(dst), None | Some(Data::List(_))) {
        return wrong_type();
    }
    let db = x.db();
    let Some(Data::List(list)) = db.keys.get_mut(src) else { unreachable!("checked above") };
    let element = if from_left { list.pop_front() } else { list.pop_back() }.expect("lists are never empty");
    let emptied = list.is_empty();
    if emptied {
        db.remove(src);
    }
    if !db.keys.contains_key(dst) {
        let list = crate::memory::List::with_fill(db.limits.list_fill);
        db.insert(dst.clone(), Data::List(Box::new(list)));
    }
    let Some(Data::List(list)) = db.keys.get_mut(dst) else { unreachable!("a list is there") };
    if to_left {
        list.push_front(element.clone());
    } else {
        list.push_back(element.clone());
    }
    x.dirty += 1;
    x.propagate(args);
    // `lmoveHandlePush` tells of the push before the pop.
    x.notify(notify::LIST, if to_left { "lpush" } else { "rpush" }, dst);
    x.notify(notify::LIST, if from_left { "lpop" } else { "rpop" }, src);
    if emptied {
        x.notify(notify::GENERIC, "del", src);
    }
    Value::Bulk(element)
}

/// SMOVE source destination member.
fn smove(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let has = match x.lookup(src) {
        None => return Value::Integer(0),
        Some(Data::Set(members)) => members.contains(member),
        Some(_) => return wrong_type(),
    };
    if !matches!(x.lookup(dst), None | Some(Data::Set(_))) {
        return wrong_type();
    }
    if src == dst || !has {
        return Value::Integer(i64::from(has));
    }
    let db = x.db();
    let Some(Data::Set(members)) = db.keys.get_mut(src) else { unreachable!("checked above") };
    members.remove(member);
    let emptied = members.is_empty();
    if emptied {
        db.remove(src);
    }
    // `smoveCommand` tells of the removal before it makes the destination.
    x.notify(notify::SET, "srem", src);
    if emptied {
        x.notify(notify::GENERIC, "del", src);
    }
    let db = x.db();
    let added = match db.keys.get_mut(dst) {
        Some(Data::Set(members)) => {
            let added = members.insert(member.clone());
            if added {
                db.note_growth(dst);
            }
            added
        }
        _ => {
            db.insert(dst.clone(), Data::Set(BTreeSet::from([member.clone()])));
            true
        }
    };
    x.dirty += 1;
    x.propagate(args);
    if added {
        x.notify(notify::SET, "sadd", dst);
    }
    Value::Integer(1)
}

/// The union, intersection or difference of the sets at `keys`; a missing key
/// is the empty set, any other type is WRONGTYPE.
fn set_op(name: &str, keys: &[Vec<u8>], x: &mut Exec<'_>) -> Result<BTreeSet<Vec<u8>>, Value> {
    // Expired keys go first (and type errors are found), then the sets are read in place.
    for k in keys {
        match x.read(k) {
            None | Some(Data::Set(_)) => {}
            Some(_) => return Err(wrong_type()),
        }
    }
    let db = x.db();
    let empty = BTreeSet::new();
    let mut sets = keys.iter().map(|k| match db.keys.get(k) {
        Some(Data::Set(members)) => members,
        _ => &empty,
    });
    let first = sets.next().cloned().unwrap_or_default();
    Ok(match name {
        "sunion" => sets.fold(first, |acc, s| &acc | s),
        "sinter" => sets.fold(first, |acc, s| &acc & s),
        _ => sets.fold(first, |acc, s| &acc - s),
    })
}

/// S(UNION|INTER|DIFF)STORE destination key [key ...]: the destination is
/// replaced, or deleted when the result is empty.
fn set_op_store(op: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let set = match set_op(op, &args[2..], x) {
        Ok(set) => set,
        Err(e) => return e,
    };
    let n = set.len() as i64;
    let dst = &args[1];
    let existed = x.lookup(dst).is_some();
    let db = x.db();
    if set.is_empty() {
        db.remove(dst);
        // SINTERSTORE changes nothing then; SUNIONSTORE and SDIFFSTORE count a change regardless.
        if !existed && op == "sinter" {
            return Value::Integer(0);
        }
    } else {
        db.expires.remove(dst);
        db.insert(dst.clone(), Data::Set(set));
    }
    x.dirty += 1;
    x.propagate(args);
    match op {
        _ if n == 0 => {
            if existed {
                x.notify(notify::GENERIC, "del", dst);
            }
        }
        "sunion" => x.notify(notify::SET, "sunionstore", dst),
        "sinter" => x.notify(notify::SET, "sinterstore", dst),
        _ => x.notify(notify::SET, "sdiffstore", dst),
    }
    Value::Integer(n)
}

/// COPY source destination [DB destination-db] [REPLACE].
fn copy(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut to_db, mut replace) = (x.db, false);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        match args[i].to_ascii_lowercase().as_slice() {
            b"replace" => replace = true,
            b"db" if more => {
                match get_int(&args[i + 1], None).and_then(|d| in_range(d, x.dbs.len())) {
                    Ok(d) => to_db = d,
                    Err(e) => return e,
                }
                i += 1;
            }
            _ => return Value::error("ERR syntax error"),
        }
        i += 1;
    }
    if x.cluster && (x.db != 0 || to_db != 0) {
        return Value::error("ERR Copying to another database is not allowed in cluster mode");
    }
    let (src, dst) = (&args[1], &args[2]);
    if src == dst && to_db == x.db {
        return Value::error("ERR source and destination objects are the same");
    }
    let Some(value) = x.read(src).cloned() else { return Value::Integer(0) };
    let expires = x.db().expires.get(src).copied();
    let from_db = x.db;
    x.db = to_db;
    let exists = x.lookup(dst).is_some();
    x.db = from_db;
    if exists && !replace {
        return Value::Integer(0);
    }
    // dupStringObject and the other dup functions keep the encoding
    let marks = x.db().encoding_marks(src);
    let target = &mut x.dbs[to_db];
    target.remove(dst);
    target.insert(dst.clone(), value);
    target.set_encoding_marks(dst, marks);
    if let Some(at) = expires {
        target.expires.insert(dst.clone(), at);
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify_in(to_db, notify::GENERIC, "copy_to", dst);
    Value::Integer(1)
}

/// `getIntFromObjectOrReply`: an int, or its error (`msg` replaces both texts when given).
fn get_int(arg: &[u8], msg: Option<&str>) -> Result<i32, Value> {
    let Some(n) = parse_int(arg) else {
        return Err(Value::error(format!("ERR {}", msg.unwrap_or("value is not an integer or out of range"))));
    };
    i32::try_from(n).map_err(|_| {
        Value::error(format!(
            "ERR {}",
            msg.unwrap_or("value is out of range, value must between -2147483648 and 2147483647")
        ))
    })
}

/// `selectDb`'s bounds.
fn in_range(db: i32, dbs: usize) -> Result<usize, Value> {
    usize::try_from(db).ok().filter(|&d| d < dbs).ok_or_else(|| Value::error("ERR DB index is out of range"))
}

/// MOVE key db.
fn move_key(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if x.cluster {
        return Value::error("ERR MOVE is not allowed in cluster mode");
    }
    let to = match get_int(&args[2], None).and_then(|d| in_range(d, x.dbs.len())) {
        Ok(to) => to,
        Err(e) => return e,
    };
    if to == x.db {
        return Value::error("ERR source and destination objects are the same");
    }
    let key = &args[1];
    let Some(value) = x.lookup(key).cloned() else { return Value::Integer(0) };
    let from = x.db;
    x.db = to;
    let taken = x.lookup(key).is_some();
    x.db = from;
    if taken {
        return Value::Integer(0);
    }
    let expires = x.db().expires.get(key).copied();
    // the value object moves, encoding included
    let marks = x.db().encoding_marks(key);
    x.db().remove(key);
    let target = &mut x.dbs[to];
    target.insert(key.clone(), value);
    target.set_encoding_marks(key, marks);
    if let Some(at) = expires {
        target.expires.insert(key.clone(), at);
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::GENERIC, "move_from", key);
    x.notify_in(to, notify::GENERIC, "move_to", key);
    Value::Integer(1)
}

/// SWAPDB index1 index2.
fn swapdb(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if x.cluster {
        return Value::error("ERR SWAPDB is not allowed in cluster mode");
    }
    let first = get_int(&args[1], Some("invalid first DB index"));
    let second = get_int(&args[2], Some("invalid second DB index"));
    let (a, b) = match (first, second) {
        (Err(e), _) | (_, Err(e)) => return e,
        (Ok(a), Ok(b)) => match (in_range(a, x.dbs.len()), in_range(b, x.dbs.len())) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return e,
        },
    };
    x.feed.watch.swapping(a, &x.dbs[a], &x.dbs[b], x.now_ms);
    x.feed.watch.swapping(b, &x.dbs[b], &x.dbs[a], x.now_ms);
    crate::keyspace::swap_dbs(x.dbs, a, b);
    x.dirty += 1;
    x.propagate(args);
    Value::ok()
}

/// RANDOMKEY (`dbRandomKey`): a key drawn from the seeded stream; an expired
/// one is deleted on a master and another drawn; a replica, which keeps them,
/// gives one back after 100 tries.
fn randomkey(x: &mut Exec<'_>) -> Value {
    let mut seed = x.random;
    for tries in 1.. {
        let len = x.db().keys.len();
        if len == 0 {
            return Value::Nil;
        }
        // splitmix64 steps from the one draw, so retries stay on the seeded stream.
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let at = ((z ^ (z >> 31)) % len as u64) as usize;
        let key = x.db().keys.keys().nth(at).expect("at < len").clone();
        let now = x.now_ms;
        if !x.db().is_expired(&key, now) || (!x.is_master && tries >= 100) {
            return Value::Bulk(key);
        }
        if x.is_master {
            x.expire_if_needed(&key);
        }
    }
    unreachable!("the loop returns")
}

/// SSCAN, HSCAN, ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor
/// first, then the key, then the options (`scanGenericCommand`). Every
/// element comes in one reply with cursor 0, as Redis answers for a value in
/// its compact encoding (intset, listpack); for a big one Redis would page
/// through its hashtable instead, which COUNT being a hint allows either way.
fn value_scan(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if crate::commands::parse_scan_cursor(&args[2]).is_none() {
        return Value::error("ERR invalid cursor");
    }
    let intset = x.is_intset(&args[1]);
    let flat: Vec<Vec<u8>> = match (args[0].to_ascii_lowercase().as_slice(), x.read(&args[1])) {
        // A missing key answers before the options are read.
        (_, None) => return Value::Array(vec![Value::bulk("0"), Value::Array(Vec::new())]),
        (b"sscan", Some(Data::Set(members))) => match crate::commands::smembers(members, intset) {
            Value::Set(v) => {
                v.into_iter().filter_map(|m| if let Value::Bulk(b) = m { Some(b) } else { None }).collect()
            }
            _ => Vec::new(),
        },
        (b"hscan", Some(Data::Hash(fields))) => fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
        (b"zscan", Some(Data::ZSet(z))) => {
            z.iter().flat_map(|(m, s)| [m.to_vec(), crate::zset::d2string(s).into_bytes()]).collect()
        }
        _ => return wrong_type(),
    };
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else { return Value::error("ERR syntax error") };
        match args[i].to_ascii_lowercase().as_slice() {
            b"count" => match parse_int(value) {
                None => return not_an_integer(),
                Some(n) if n < 1 => return Value::error("ERR syntax error"),
                Some(_) => {}
            },
            b"match" => pattern = Some(value.as_slice()).filter(|p| *p != b"*"),
            _ => return Value::error("ERR syntax error"),
        }
        i += 2;
    }
    let pairs = !args[0].eq_ignore_ascii_case(b"sscan");
    let step = if pairs { 2 } else { 1 };
    let mut out = Vec::with_capacity(flat.len());
    for chunk in flat.chunks(step) {
        if pattern.is_some_and(|p| !common::glob::glob_match(p, &chunk[0])) {
            continue;
        }
        out.extend(chunk.iter().cloned().map(Value::Bulk));
    }
    Value::Array(vec![Value::bulk("0"), Value::Array(out)])
}

#[cfg(test)]
#[path = "tests_commands_more.rs"]
mod tests;
