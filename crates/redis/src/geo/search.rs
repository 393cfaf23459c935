//! The searches (`georadiusGeneric`): GEORADIUS, GEORADIUSBYMEMBER, their
//! `_RO` forms, GEOSEARCH and GEOSEARCHSTORE, parsed in Redis's order (the
//! centre and shape first, then the options, then the checks between them),
//! searched cell by cell as Redis walks the sorted set, then sorted, cut to
//! COUNT and replied or stored.

use super::hash::{self, Kind, Shape};
use super::{distance_reply, double, long_lat, position, unit, zset};
use crate::commands::parse_int;
use crate::keyspace::{Data, Exec};
use crate::notify;
use crate::zset::ZSet;
use resp::Value;

/// Which command: where the centre comes from, and whether it may store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    /// GEORADIUS[_RO] key longitude latitude radius unit.
    Radius { store: bool },
    /// GEORADIUSBYMEMBER[_RO] key member radius unit.
    ByMember { store: bool },
    /// GEOSEARCH key, or GEOSEARCHSTORE destination key (`store`).
    Search { store: bool },
}

/// What the options asked for.
#[derive(Default)]
struct Options {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    /// 1 ascending, -1 descending, 0 as found.
    sort: i8,
    count: i64,
    store: Option<Vec<u8>>,
    storedist: bool,
    frommember: bool,
    fromloc: bool,
    shape: Option<Shape>,
}

/// One point found.
struct Found {
    member: Vec<u8>,
    score: f64,
    dist: f64,
    at: (f64, f64),
}

/// `extractDistanceOrReply`.
fn radius(args: &[Vec<u8>]) -> Result<Shape, Value> {
    let r = double(&args[0], "need numeric radius")?;
    if r < 0.0 {
        return Err(Value::error("ERR radius cannot be negative"));
    }
    Ok(Shape { kind: Kind::Radius(r), to_meters: unit(&args[1])? })
}

/// `extractBoxOrReply`.
fn bbox(args: &[Vec<u8>]) -> Result<Shape, Value> {
    let width = double(&args[0], "need numeric width")?;
    let height = double(&args[1], "need numeric height")?;
    if height < 0.0 || width < 0.0 {
        return Err(Value::error("ERR height or width cannot be negative"));
    }
    Ok(Shape { kind: Kind::Box { width, height }, to_meters: unit(&args[2])? })
}

fn member_position(z: &ZSet, member: &[u8]) -> Result<(f64, f64), Value> {
    z.score(member).map(hash::decode).ok_or_else(|| Value::error("ERR could not decode requested zset member"))
}

/// Runs a search command.
pub(super) fn run(args: &[Vec<u8>], x: &mut Exec<'_>, variant: Variant) -> Value {
    let src = if variant == (Variant::Search { store: true }) { 2 } else { 1 };
    match parse(args, x, variant, src) {
        Ok((centre, o)) => search(args, x, src, centre, o),
        Err(e) => e,
    }
}

/// Everything up to the search: the centre and the options, or the error
/// Redis gives first.
fn parse(args: &[Vec<u8>], x: &mut Exec<'_>, variant: Variant, src: usize) -> Result<((f64, f64), Options), Value> {
    let z = zset(x, &args[src])?;
    let mut o = Options::default();
    let mut centre = (0.0, 0.0);
    let base = match variant {
        Variant::Radius { .. } => {
            centre = long_lat(&args[2..4])?;
            o.shape = Some(radius(&args[4..6])?);
            6
        }
        // Without the key Redis parses on only to pick the reply.
        Variant::ByMember { .. } if z.is_none() => 5,
        Variant::ByMember { .. } => {
            centre = member_position(z.expect("checked"), &args[2])?;
            o.shape = Some(radius(&args[3..5])?);
            5
        }
        Variant::Search { store } => {
            if store {
                o.store = Some(args[1].clone());
            }
            src + 1
        }
    };
    options(&args[base..], z, variant, &mut o, &mut centre)?;
    check(&args[0], variant, &o)?;
    Ok((centre, o))
}

/// The options loop of `georadiusGeneric`.
fn options(
    rest: &[Vec<u8>],
    z: Option<&ZSet>,
    variant: Variant,
    o: &mut Options,
    centre: &mut (f64, f64),
) -> Result<(), Value> {
    let (search, may_store) = match variant {
        Variant::Search { store } => (true, store),
        Variant::Radius { store } | Variant::ByMember { store } => (false, store),
    };
    let mut i = 0;
    while i < rest.len() {
        let left = rest.len() - i - 1;
        let arg = rest[i].to_ascii_lowercase();
        match arg.as_slice() {
            b"withdist" => o.withdist = true,
            b"withhash" => o.withhash = true,
            b"withcoord" => o.withcoord = true,
            b"any" => o.any = true,
            b"asc" => o.sort = 1,
            b"desc" => o.sort = -1,
            b"count" if left >= 1 => {
                o.count = parse_int(&rest[i + 1])
                    .ok_or_else(|| Value::error("ERR value is not an integer or out of range"))?;
                if o.count <= 0 {
                    return Err(Value::error("ERR COUNT must be > 0"));
                }
                i += 1;
            }
            b"store" | b"storedist" if left >= 1 && may_store && !search => {
                o.store = Some(rest[i + 1].clone());
                o.storedist = arg == b"storedist";
                i += 1;
            }
            b"storedist" if search && may_store => o.storedist = true,
            b"frommember" if left >= 1 && search && !o.fromloc => {
                if let Some(z) = z {
                    *centre = member_position(z, &rest[i + 1])?;
                }
                o.frommember = true;
                i += 1;
            }
            b"fromlonlat" if left >= 2 && search && !o.frommember => {
                *centre = long_lat(&rest[i + 1..i + 3])?;
                o.fromloc = true;
                i += 2;
            }
            b"byradius" if left >= 2 && search && !matches!(o.shape, Some(Shape { kind: Kind::Box { .. }, .. })) => {
                o.shape = Some(radius(&rest[i + 1..i + 3])?);
                i += 2;
            }
            b"bybox" if left >= 3 && search && !matches!(o.shape, Some(Shape { kind: Kind::Radius(_), .. })) => {
                o.shape = Some(bbox(&rest[i + 1..i + 4])?);
                i += 3;
            }
            _ => return Err(Value::error("ERR syntax error")),
        }
        i += 1;
    }
    Ok(())
}

/// The checks between options, after the loop.
fn check(name: &[u8], variant: Variant, o: &Options) -> Result<(), Value> {
    if o.store.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let what =
            if variant == (Variant::Search { store: true }) { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(Value::error(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(name);
    if matches!(variant, Variant::Search { .. }) {
        if !(o.frommember || o.fromloc) {
            return Err(Value::error(format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
            )));
        }
        if o.shape.is_none() {
            return Err(Value::error(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")));
        }
    }
    if o.any && o.count == 0 {
        return Err(Value::error("ERR the ANY argument requires COUNT argument"));
    }
    Ok(())
}

/// The search proper, then the reply or the store.
fn search(args: &[Vec<u8>], x: &mut Exec<'_>, src: usize, centre: (f64, f64), mut o: Options) -> Value {
    // The source was looked up (and counted) by `parse`.
    let Ok(Some(z)) = super::zset_again(x, &args[src]) else {
        return match o.store {
            Some(dest) => {
                if x.lookup(&dest).is_some() {
                    x.db().remove(&dest);
                    x.dirty += 1;
                    x.propagate(args);
                    x.notify(notify::GENERIC, "del", &dest);
                }
                Value::Integer(0)
            }
            None => Value::Array(Vec::new()),
        };
    };
    if o.count != 0 && o.sort == 0 && !o.any {
        o.sort = 1;
    }
    let shape = o.shape.expect("checked: every search has a shape");
    let limit = if o.any { o.count as usize } else { 0 };
    let mut found = points(z, centre, shape, limit);
    if found.is_empty() && o.store.is_none() {
        return Value::Array(Vec::new());
    }
    // Redis's qsort is glibc's merge sort: equal distances keep their order.
    match o.sort {
        1 => found.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        -1 => found.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        _ => {}
    }
    if o.count > 0 {
        found.truncate(o.count as usize);
    }
    for f in &mut found {
        f.dist /= shape.to_meters;
    }
    match o.store.take() {
        None => reply(found, &o),
        Some(dest) => store(args, x, &dest, found, o.storedist),
    }
}

/// `membersOfAllNeighbors`: the points of the nine cells (skipping those
/// left out, and a cell equal to the one searched before it), in cell
/// order then score order, stopping at `limit` (ANY) when it is not 0.
fn points(z: &ZSet, centre: (f64, f64), shape: Shape, limit: usize) -> Vec<Found> {
    let cells = hash::search_cells(centre.0, centre.1, shape);
    let mut found = Vec::new();
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        let off = cell.bits == 0 && cell.step == 0;
        if off || (last != 0 && *cell == cells[last]) {
            continue;
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
        let min = hash::align52(*cell) as f64;
        let max = hash::align52(hash::Cell { bits: cell.bits + 1, step: cell.step }) as f64;
        for (member, score) in z.scores_from(min).take_while(|&(_, s)| s < max) {
            let at = hash::decode(score);
            if let Some(dist) = hash::within(centre, at, shape) {
                found.push(Found { member: member.to_vec(), score, dist, at });
            }
            if limit != 0 && found.len() >= limit {
                break;
            }
        }
        last = i;
    }
    found
}

fn reply(found: Vec<Found>, o: &Options) -> Value {
    let plain = !(o.withdist || o.withhash || o.withcoord);
    let one = |f: Found| {
        if plain {
            return Value::Bulk(f.member);
        }
        let mut item = vec![Value::Bulk(f.member)];
        if o.withdist {
            item.push(distance_reply(f.dist));
        }
        if o.withhash {
            item.push(Value::Integer(f.score as i64));
        }
        if o.withcoord {
            item.push(position(f.at));
        }
        Value::Array(item)
    };
    Value::Array(found.into_iter().map(one).collect())
}

/// STORE / STOREDIST / GEOSEARCHSTORE: the points as a sorted set (scores
/// the geohashes, or the distances), replacing `dest`; none deletes it.
fn store(args: &[Vec<u8>], x: &mut Exec<'_>, dest: &[u8], found: Vec<Found>, storedist: bool) -> Value {
    let n = found.len();
    if n == 0 {
        if x.lookup(dest).is_some() {
            x.db().remove(dest);
            x.dirty += 1;
            x.propagate(args);
            x.notify(notify::GENERIC, "del", dest);
        }
        return Value::Integer(0);
    }
    // `georadiusGeneric` fills a skiplist, then `zsetConvertToListpackIfNeeded`.
    let members = found.into_iter().map(|f| (f.member, if storedist { f.dist } else { f.score }));
    let z = ZSet::stored(members, &x.db().limits);
    x.lookup_mut(dest);
    let db = x.db();
    db.insert(dest.to_vec(), Data::ZSet(Box::new(z)));
    db.expires.remove(dest);
    x.dirty += n as u64;
    x.propagate(args);
    let search = args[0].eq_ignore_ascii_case(b"geosearchstore");
    x.notify(notify::ZSET, if search { "geosearchstore" } else { "georadiusstore" }, dest);
    Value::Integer(n as i64)
}
