//! SORT and SORT_RO (sort.c): lists, sets and sorted sets, numerically or
//! ALPHA, BY a weight pattern (or `nosort`), LIMIT, GET patterns (`#`,
//! `key_*`, `hash_*->field`), DESC, and SORT's STORE, with Redis 7.0's replies.

use crate::commands::{parse_int, wrong_type};
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::cmp::Ordering;

/// What SORT was asked, parsed (`sortCommandGeneric`'s options loop).
struct Query {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<Vec<u8>>,
    dontsort: bool,
    get: Vec<Vec<u8>>,
    store: Option<Vec<u8>>,
}

fn parse(args: &[Vec<u8>], readonly: bool) -> Result<Query, Value> {
    let mut q =
        Query { desc: false, alpha: false, limit: None, by: None, dontsort: false, get: Vec::new(), store: None };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        match args[j].to_ascii_lowercase().as_slice() {
            b"asc" => q.desc = false,
            b"desc" => q.desc = true,
            b"alpha" => q.alpha = true,
            b"limit" if left >= 2 => {
                let (Some(start), Some(count)) = (parse_int(&args[j + 1]), parse_int(&args[j + 2])) else {
                    return Err(Value::error("ERR value is not an integer or out of range"));
                };
                q.limit = Some((start, count));
                j += 2;
            }
            b"store" if left >= 1 && !readonly => {
                q.store = Some(args[j + 1].clone());
                j += 1;
            }
            b"by" if left >= 1 => {
                let pattern = args[j + 1].clone();
                // A pattern without `*` cannot name a weight per element: no sorting at all.
                q.dontsort = !pattern.contains(&b'*');
                q.by = Some(pattern);
                j += 1;
            }
            b"get" if left >= 1 => {
                q.get.push(args[j + 1].clone());
                j += 1;
            }
            _ => return Err(Value::error("ERR syntax error")),
        }
        j += 1;
    }
    Ok(q)
}

/// `lookupKeyByPattern`: `#` is the element; otherwise the first `*` is
/// replaced by it and the string at that key read, or with `->field` the
/// field of the hash there. `None` where nothing is found.
fn by_pattern(x: &mut Exec<'_>, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let arrow = pattern[star + 1..].windows(2).position(|w| w == b"->").map(|i| i + star + 1);
    let (key_pattern, field) = match arrow {
        Some(a) if a + 2 < pattern.len() => (&pattern[..a], Some(&pattern[a + 2..])),
        _ => (pattern, None),
    };
    let mut key = key_pattern[..star].to_vec();
    key.extend_from_slice(element);
    key.extend_from_slice(&key_pattern[star + 1..]);
    match (x.read(&key)?, field) {
        (Data::Str(v), None) => Some(v.to_vec()),
        (Data::Hash(fields), Some(f)) => fields.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()),
        _ => None,
    }
}

/// strtod as SORT uses it: leading space skipped, nothing is 0, the rest as
/// a score (no NaN, nothing out of range).
fn weight(v: &[u8]) -> Option<f64> {
    let start = v.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(v.len());
    if start == v.len() {
        return Some(0.0);
    }
    crate::zset::parse_score(&v[start..])
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
/// [ALPHA] [STORE destination], and SORT_RO without STORE.
pub(crate) fn sort(args: &[Vec<u8>], x: &mut Exec<'_>, readonly: bool) -> Value {
    let mut q = match parse(args, readonly) {
        Ok(q) => q,
        Err(e) => return e,
    };
    // BY nosort DESC reverses a list or a sorted set, not a set.
    let mut ordered = true;
    let intset = x.is_intset(&args[1]);
    let elements: Vec<Vec<u8>> = match x.read(&args[1]) {
        None => Vec::new(),
        Some(Data::List(items)) => items.iter().cloned().collect(),
        Some(Data::Set(members)) => {
            // A set's own order is not deterministic: sorted when stored.
            if q.dontsort && q.store.is_some() {
                (q.dontsort, q.alpha, q.by) = (false, true, None);
            }
            ordered = false;
            match crate::commands::smembers(members, intset) {
                Value::Set(v) => {
                    v.into_iter().filter_map(|m| if let Value::Bulk(b) = m { Some(b) } else { None }).collect()
                }
                _ => Vec::new(),
            }
        }
        Some(Data::ZSet(z)) => z.iter().map(|(m, _)| m.to_vec()).collect(),
        Some(_) => return wrong_type(),
    };
    if let Some(Data::ZSet(z)) = x.db().keys.get_mut(&args[1]) {
        // sortCommand converts a sorted set to a skiplist for good, whatever
        // the options (SORT_RO too), once they parse (measured on 7.0.15)
        z.convert_to_skiplist();
        x.db().convert(&args[1]);
    }
    let mut sorted = match order(&q, elements, x) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if q.dontsort && q.desc && ordered {
        sorted.reverse();
    }
    let picked = limit(sorted, q.limit);
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for e in picked {
        if q.get.is_empty() {
            out.push(Some(e));
            continue;
        }
        for g in &q.get {
            out.push(by_pattern(x, g, &e));
        }
    }
    match q.store {
        None => Value::Array(out.into_iter().map(|v| v.map_or(Value::Nil, Value::Bulk)).collect()),
        Some(dst) => store(args, x, &dst, out),
    }
}

/// The elements in SORT's order (unchanged with BY nosort).
fn order(q: &Query, elements: Vec<Vec<u8>>, x: &mut Exec<'_>) -> Result<Vec<Vec<u8>>, Value> {
    if q.dontsort {
        return Ok(elements);
    }
    let not_double = || Value::error("ERR One or more scores can't be converted into double");
    let mut keyed: Vec<(Vec<u8>, Option<Vec<u8>>, f64)> = Vec::with_capacity(elements.len());
    // Every element's weight is looked up before a bad one is reported, as
    // Redis does (each lookup is a keyspace hit or miss).
    let mut convertible = true;
    for e in elements {
        let by = match &q.by {
            Some(p) => by_pattern(x, p, &e),
            None => Some(e.clone()),
        };
        let score = match (&by, q.alpha) {
            (Some(v), false) => weight(v).unwrap_or_else(|| {
                convertible = false;
                0.0
            }),
            _ => 0.0,
        };
        keyed.push((e, by, score));
    }
    if !convertible {
        return Err(not_double());
    }
    keyed.sort_by(|a, b| {
        let cmp = if q.alpha {
            // A missing weight sorts first; ties stay as they are.
            match (&a.1, &b.1) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(y),
            }
        } else {
            a.2.partial_cmp(&b.2).unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(&b.0))
        };
        if q.desc { cmp.reverse() } else { cmp }
    });
    Ok(keyed.into_iter().map(|(e, _, _)| e).collect())
}

/// LIMIT as sort.c clamps it.
fn limit(v: Vec<Vec<u8>>, limit: Option<(i64, i64)>) -> Vec<Vec<u8>> {
    let Some((start, count)) = limit else { return v };
    let len = v.len() as i64;
    let start = start.max(0);
    let mut end = if count < 0 { len - 1 } else { start.saturating_add(count) - 1 };
    let (start, end) = if start >= len {
        (len - 1, len - 2)
    } else {
        end = end.min(len - 1);
        (start, end)
    };
    if start < 0 || end < start {
        return Vec::new();
    }
    v.into_iter().skip(start as usize).take((end - start + 1) as usize).collect()
}

/// STORE: the result as a list (a missing GET as an empty string); an empty
/// result deletes the destination.
fn store(args: &[Vec<u8>], x: &mut Exec<'_>, dst: &[u8], out: Vec<Option<Vec<u8>>>) -> Value {
    let n = out.len() as i64;
    let event = if out.is_empty() { "del" } else { "sortstore" };
    if out.is_empty() {
        if x.lookup(dst).is_none() || !x.db().remove(dst) {
            return Value::Integer(0);
        }
    } else {
        x.lookup(dst);
        x.db().replace(dst.to_vec(), Data::List(Box::new(out.into_iter().map(Option::unwrap_or_default).collect())));
    }
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::GENERIC, event, dst);
    Value::Integer(n)
}

#[cfg(test)]
#[path = "tests_sort.rs"]
mod tests;
