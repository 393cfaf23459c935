//! Geo commands (geo.c) on sorted sets whose scores are 52-bit geohashes
//! ([`hash`]): GEOADD (a ZADD, and propagated as one), GEODIST, GEOHASH,
//! GEOPOS, and the searches GEORADIUS[BYMEMBER][_RO], GEOSEARCH and
//! GEOSEARCHSTORE over the nine cells around the centre, with Redis 7.0's
//! argument order, errors and number formats (coordinates as `%.17Lf`
//! trimmed, distances with four decimals).

mod hash;
mod search;

use crate::commands::wrong_type;
use crate::keyspace::{Data, Exec};
use crate::zset::{ZSet, parse_score};
use resp::Value;

/// Runs `name` if it is a geo command; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    use search::Variant as V;
    Some(match name {
        "geoadd" => geoadd(args, x),
        "geodist" => geodist(args, x),
        "geohash" => geohash(args, x),
        "geopos" => geopos(args, x),
        "georadius" => search::run(args, x, V::Radius { store: true }),
        "georadius_ro" => search::run(args, x, V::Radius { store: false }),
        "georadiusbymember" => search::run(args, x, V::ByMember { store: true }),
        "georadiusbymember_ro" => search::run(args, x, V::ByMember { store: false }),
        "geosearch" => search::run(args, x, V::Search { store: false }),
        "geosearchstore" => search::run(args, x, V::Search { store: true }),
        _ => return crate::random::keyspace(name, args, x),
    })
}

/// The sorted set at `key`, `None` if missing, WRONGTYPE for another type:
/// the command's read lookup (a keyspace hit or miss).
fn zset<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x ZSet>, Value> {
    typed(x.read(key))
}

/// [`zset`] again for a key the command has already looked up: not counted.
fn zset_again<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x ZSet>, Value> {
    typed(x.lookup(key))
}

fn typed(value: Option<&Data>) -> Result<Option<&ZSet>, Value> {
    match value {
        None => Ok(None),
        Some(Data::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(wrong_type()),
    }
}

/// `getDoubleFromObjectOrReply` with `msg` as its error.
fn double(arg: &[u8], msg: &str) -> Result<f64, Value> {
    parse_score(arg).ok_or_else(|| Value::error(format!("ERR {msg}")))
}

/// `extractLongLatOrReply`.
fn long_lat(args: &[Vec<u8>]) -> Result<(f64, f64), Value> {
    let long = double(&args[0], "value is not a valid float")?;
    let lat = double(&args[1], "value is not a valid float")?;
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&long) || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&lat) {
        return Err(Value::error(format!("ERR invalid longitude,latitude pair {long:.6},{lat:.6}")));
    }
    Ok((long, lat))
}

/// `extractUnitOrReply`: meters per unit.
fn unit(arg: &[u8]) -> Result<f64, Value> {
    match arg.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(Value::error("ERR unsupported unit provided. please use M, KM, FT, MI")),
    }
}

/// `addReplyDoubleDistance` (`fixedpoint_d2string` with four decimals:
/// `llrint` of ten thousand times the value).
fn distance_reply(d: f64) -> Value {
    let scaled = (d * 10_000.0).round_ties_even() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let v = scaled.unsigned_abs();
    Value::Bulk(format!("{sign}{}.{:04}", v / 10_000, v % 10_000).into_bytes())
}

/// `addReplyHumanLongDouble`: `%.17Lf` without trailing zeros.
fn coordinate(v: f64) -> Value {
    let text = format!("{v:.17}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    Value::Double(if text == "-0" { "0".to_owned() } else { text.to_owned() })
}

fn position((long, lat): (f64, f64)) -> Value {
    Value::Array(vec![coordinate(long), coordinate(lat)])
}

/// GEOADD key [NX|XX] [CH] longitude latitude member ...: run as the ZADD it
/// becomes, which is also what replicas see.
fn geoadd(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut nx, mut xx, mut at) = (false, false, 2);
    while at < args.len() {
        match args[at].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => {}
            _ => break,
        }
        at += 1;
    }
    if !(args.len() - at).is_multiple_of(3) || (nx && xx) {
        return Value::error("ERR syntax error");
    }
    let mut zadd: Vec<Vec<u8>> = vec![b"zadd".to_vec()];
    zadd.extend_from_slice(&args[1..at]);
    for point in args[at..].chunks(3) {
        let (long, lat) = match long_lat(point) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let score = hash::score_of(long, lat).expect("checked in range");
        zadd.push(score.to_string().into_bytes());
        zadd.push(point[2].clone());
    }
    crate::zset::zadd(&zadd, x, false)
}

/// GEODIST key member1 member2 [unit].
fn geodist(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => match unit(&args[4]) {
            Ok(u) => u,
            Err(e) => return e,
        },
        _ => return Value::error("ERR syntax error"),
    };
    let z = match zset(x, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return Value::Nil,
        Err(e) => return e,
    };
    match (z.score(&args[2]), z.score(&args[3])) {
        (Some(a), Some(b)) => {
            let ((lon1, lat1), (lon2, lat2)) = (hash::decode(a), hash::decode(b));
            distance_reply(hash::distance(lon1, lat1, lon2, lat2) / to_meters)
        }
        _ => Value::Nil,
    }
}

/// GEOHASH key [member ...]: standard 11-character geohashes.
fn geohash(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let z = match zset(x, &args[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    let one = |m: &Vec<u8>| match z.and_then(|z| z.score(m)) {
        Some(s) => Value::Bulk(hash::standard_geohash(s).into_bytes()),
        None => Value::Nil,
    };
    Value::Array(args[2..].iter().map(one).collect())
}

/// GEOPOS key [member ...].
fn geopos(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let z = match zset(x, &args[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    let one = |m: &Vec<u8>| z.and_then(|z| z.score(m)).map_or(Value::NilArray, |s| position(hash::decode(s)));
    Value::Array(args[2..].iter().map(one).collect())
}

#[cfg(test)]
#[path = "../tests_geo.rs"]
mod tests;
