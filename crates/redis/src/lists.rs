//! More list commands (t_list.c): LPUSHX, RPUSHX, LREM, LTRIM, and the
//! multi-key pops LMPOP and ZMPOP (t_zset.c), which share their argument
//! parsing (`lmpopGenericCommand`, `zmpopGenericCommand`) and propagate as
//! the LPOP/RPOP or ZPOPMIN/ZPOPMAX with a count they amount to.

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::collections::VecDeque;

/// Runs `name` if it is one of this module's; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "lpushx" | "rpushx" => pushx(name == "lpushx", args, x),
        "lrem" => lrem(args, x),
        "ltrim" => ltrim(args, x),
        "lmpop" => mpop(args, x, Kind::List),
        "zmpop" => mpop(args, x, Kind::ZSet),
        _ => return None,
    })
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// LPUSHX/RPUSHX key element...: pushes only onto an existing list.
fn pushx(front: bool, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let len = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::List(list)) => {
            for e in &args[2..] {
                if front {
                    list.push_front(e.clone());
                } else {
                    list.push_back(e.clone());
                }
            }
            list.len()
        }
        Some(_) => return wrong_type(),
    };
    x.dirty += args.len() as u64 - 2;
    x.propagate(args);
    x.notify(notify::LIST, if front { "lpush" } else { "rpush" }, &args[1]);
    Value::Integer(len as i64)
}

/// LREM key count element: up to `count` matches from the head (from the
/// tail for a negative count, all of them for 0).
fn lrem(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(count) = parse_int(&args[2]) else { return not_an_integer() };
    let (removed, emptied) = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::List(list)) => {
            let removed = remove_matches(list, &args[3], count);
            (removed, list.is_empty())
        }
        Some(_) => return wrong_type(),
    };
    if emptied {
        x.db().remove(&args[1]);
    }
    if removed > 0 {
        x.dirty += removed as u64;
        x.propagate(args);
        x.notify(notify::LIST, "lrem", &args[1]);
    }
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Integer(removed as i64)
}

fn remove_matches(list: &mut VecDeque<Vec<u8>>, element: &[u8], count: i64) -> usize {
    let limit = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
    let mut hits: Vec<usize> =
        list.iter().enumerate().filter(|(_, e)| e.as_slice() == element).map(|(i, _)| i).collect();
    if count < 0 {
        hits.reverse();
    }
    hits.truncate(limit);
    hits.sort_unstable();
    for &i in hits.iter().rev() {
        list.remove(i);
    }
    hits.len()
}

/// LTRIM key start stop: keeps the range (`ltrimCommand`'s index rules); a
/// trim that removes nothing is no change and is not propagated.
fn ltrim(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (Some(start), Some(end)) = (parse_int(&args[2]), parse_int(&args[3])) else { return not_an_integer() };
    let (removed, emptied) = match x.lookup_mut(&args[1]) {
        None => return Value::ok(),
        Some(Data::List(list)) => {
            let len = list.len() as i128;
            let (mut start, mut end) = (i128::from(start), i128::from(end));
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            let start = start.max(0);
            let (left, right) =
                if start > end || start >= len { (len, 0) } else { (start, len - end.min(len - 1) - 1) };
            list.drain(..left as usize);
            let kept = list.len() - right as usize;
            list.truncate(kept);
            ((left + right) as u64, list.is_empty())
        }
        Some(_) => return wrong_type(),
    };
    if emptied {
        x.db().remove(&args[1]);
    }
    if removed > 0 {
        x.dirty += removed;
        x.propagate(args);
    }
    // `ltrimCommand` tells of a trim that removed nothing too.
    x.notify(notify::LIST, "ltrim", &args[1]);
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::ok()
}

/// What an *MPOP pops from.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    ZSet,
}

/// LMPOP numkeys key... LEFT|RIGHT [COUNT n], ZMPOP numkeys key... MIN|MAX
/// [COUNT n]: from the first key holding a non-empty value of the kind; a key
/// of another type met before it is WRONGTYPE.
fn mpop(args: &[Vec<u8>], x: &mut Exec<'_>, kind: Kind) -> Value {
    let (keys, first_end, count) = match mpop_args(args, kind) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    for key in keys {
        match (x.lookup(key), kind) {
            (None, _) => continue,
            (Some(Data::List(_)), Kind::List) => return lpop_n(key, first_end, count, x),
            (Some(Data::ZSet(_)), Kind::ZSet) => return zpop_n(key, first_end, count, x),
            (Some(_), _) => return wrong_type(),
        }
    }
    Value::NilArray
}

/// The keys, whether the pop is from the head (LEFT, MIN), and the count.
fn mpop_args(args: &[Vec<u8>], kind: Kind) -> Result<(&[Vec<u8>], bool, usize), Value> {
    let positive = |arg: &[u8], what: &str| match parse_int(arg) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(Value::error(format!("ERR {what} should be greater than 0"))),
    };
    let syntax = || Value::error("ERR syntax error");
    let numkeys = positive(&args[1], "numkeys")?;
    let at = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(2)).filter(|&at| at < args.len());
    let at = at.ok_or_else(syntax)?;
    let (head, tail): (&[u8], &[u8]) = if kind == Kind::List { (b"left", b"right") } else { (b"min", b"max") };
    let first_end = match &args[at] {
        w if w.eq_ignore_ascii_case(head) => true,
        w if w.eq_ignore_ascii_case(tail) => false,
        _ => return Err(syntax()),
    };
    let count = match &args[at + 1..] {
        [] => 1,
        [opt, n] if opt.eq_ignore_ascii_case(b"count") => positive(n, "count")?,
        [opt, n, ..] if opt.eq_ignore_ascii_case(b"count") => {
            positive(n, "count")?;
            return Err(syntax());
        }
        _ => return Err(syntax()),
    };
    Ok((&args[2..at], first_end, usize::try_from(count).unwrap_or(usize::MAX)))
}

/// Pops up to `count` from the list at `key` (there, non-empty): `[key, [elements]]`.
fn lpop_n(key: &[u8], left: bool, count: usize, x: &mut Exec<'_>) -> Value {
    let Some(Data::List(list)) = x.lookup_mut(key) else { return Value::NilArray };
    let n = count.min(list.len());
    let popped: Vec<Value> =
        (0..n).filter_map(|_| if left { list.pop_front() } else { list.pop_back() }).map(Value::Bulk).collect();
    let emptied = list.is_empty();
    if emptied {
        x.db().remove(key);
    }
    x.dirty += n as u64;
    let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
    x.propagate(&[name, key, n.to_string().as_bytes()]);
    x.notify(notify::LIST, if left { "lpop" } else { "rpop" }, key);
    if emptied {
        x.notify(notify::GENERIC, "del", key);
    }
    Value::Array(vec![Value::Bulk(key.to_vec()), Value::Array(popped)])
}

/// Pops up to `count` from the sorted set at `key` (there, non-empty):
/// `[key, [[member, score], ...]]`.
fn zpop_n(key: &[u8], min: bool, count: usize, x: &mut Exec<'_>) -> Value {
    let Some(Data::ZSet(z)) = x.lookup_mut(key) else { return Value::NilArray };
    let n = count.min(z.len());
    let picked: Vec<(Vec<u8>, f64)> = if min {
        z.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    } else {
        z.iter().rev().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        x.db().remove(key);
    }
    x.dirty += n as u64;
    let name: &[u8] = if min { b"ZPOPMIN" } else { b"ZPOPMAX" };
    x.propagate(&[name, key, n.to_string().as_bytes()]);
    x.notify(notify::ZSET, if min { "zpopmin" } else { "zpopmax" }, key);
    if emptied {
        x.notify(notify::GENERIC, "del", key);
    }
    let pairs = picked
        .into_iter()
        .map(|(m, s)| Value::Array(vec![Value::Bulk(m), Value::Double(crate::zset::format_g17(s))]))
        .collect();
    Value::Array(vec![Value::Bulk(key.to_vec()), Value::Array(pairs)])
}
