//! Sorted sets (t_zset.c): the value type, Redis's score parsing and
//! printing, and the commands, with Redis 7.0's replies and errors.

use crate::commands::{parse_int, wrong_type};
use crate::encoding::Limits;
use crate::keyspace::{Data, Exec};
use crate::notify;
use resp::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// A score: never NaN (every path that could make one refuses), so ordered.
#[derive(Clone, Copy, Debug)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// A sorted set: members by score then bytes, as Redis's skiplist orders them.
#[derive(Clone, Debug, Default)]
pub struct ZSet {
    scores: BTreeMap<Vec<u8>, Score>,
    order: BTreeSet<(Score, Vec<u8>)>,
    /// Whether Redis holds it as a skiplist by now, which keeps a score of -0
    /// where a listpack stores 0: `zsetAdd` converts before adding a member past
    /// `zset-max-listpack-entries` or longer than `zset-max-listpack-value`,
    /// SORT converts, and nothing converts back but [`ZSet::stored`].
    skiplist: bool,
}

/// Two sorted sets are equal when they hold the same members and scores,
/// whatever their encodings.
impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.scores == other.scores
    }
}
impl Eq for ZSet {}

impl ZSet {
    /// How many members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).map(|s| s.0)
    }

    /// A result built as a skiplist and converted to a listpack when small
    /// (`zsetConvertToListpackIfNeeded`): what ZUNIONSTORE, ZRANGESTORE and an
    /// RDB's skiplist sorted set make, so a -0 score stays only in a big one.
    pub(crate) fn stored(members: impl IntoIterator<Item = (Vec<u8>, f64)>, limits: &Limits) -> ZSet {
        let mut z = ZSet { skiplist: true, ..ZSet::default() };
        let mut longest = 0;
        for (m, s) in members {
            longest = longest.max(m.len());
            z.insert(m, s, limits);
        }
        if limits.small_zset(z.len(), longest) {
            z.skiplist = false;
            let negative_zero: Vec<Vec<u8>> =
                z.iter().filter(|(_, s)| *s == 0.0 && s.is_sign_negative()).map(|(m, _)| m.to_vec()).collect();
            for m in negative_zero {
                z.remove(&m);
                z.insert(m, 0.0, limits);
            }
        }
        z
    }

    /// A listpack sorted set as an RDB file or DUMP payload holds it: it
    /// stays one unless it has more members than `zset-max-listpack-entries`
    /// (`rdbLoadObject` looks at nothing else).
    pub(crate) fn loaded_listpack(members: impl IntoIterator<Item = (Vec<u8>, f64)>, limits: &Limits) -> ZSet {
        let mut z = ZSet::default();
        for (m, s) in members {
            z.insert_member(m, Score(if s == 0.0 { 0.0 } else { s }));
        }
        z.skiplist = z.len() > limits.zset_entries;
        z
    }

    /// Whether Redis holds it as a skiplist.
    pub(crate) fn is_skiplist(&self) -> bool {
        self.skiplist
    }

    /// Converts it to a skiplist for good (SORT does).
    pub(crate) fn convert_to_skiplist(&mut self) {
        self.skiplist = true;
    }

    /// Adds or moves `member` to `score`. A listpack keeps a score of -0 as 0
    /// (`d2string` writes "-0", which it stores as the integer 0); a skiplist
    /// keeps it.
    /// A new member converts a listpack first if it would hold more than
    /// `zset-max-listpack-entries` or the member is longer than
    /// `zset-max-listpack-value` (`zsetAdd`).
    pub fn insert(&mut self, member: Vec<u8>, score: f64, limits: &Limits) {
        if !self.skiplist && !self.scores.contains_key(member.as_slice()) {
            self.skiplist = self.len() + 1 > limits.zset_entries || member.len() > limits.zset_value;
        }
        let score = Score(if score == 0.0 && !self.skiplist { 0.0 } else { score });
        self.insert_member(member, score);
    }

    fn insert_member(&mut self, member: Vec<u8>, score: Score) {
        match self.scores.get_mut(member.as_slice()) {
            Some(old) if *old == score => {}
            Some(old) => {
                // The member moves in the order: taken out under its old score, put back under the new.
                let mut ranked = (std::mem::replace(old, score), member);
                self.order.remove(&ranked);
                ranked.0 = score;
                self.order.insert(ranked);
            }
            None => {
                self.scores.insert(member.clone(), score);
                self.order.insert((score, member));
            }
        }
    }

    /// Removes `member`; whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Some(old) = self.scores.remove(member) else { return false };
        self.order.remove(&(old, member.to_vec()))
    }

    /// Members with their scores, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + ExactSizeIterator {
        self.order.iter().map(|(s, m)| (m.as_slice(), s.0))
    }

    /// Members from the first whose score is at least `min` on, in order.
    pub(crate) fn scores_from(&self, min: f64) -> impl Iterator<Item = (&[u8], f64)> {
        self.order.range((Score(min), Vec::new())..).map(|(s, m)| (m.as_slice(), s.0))
    }

    /// The 0-based rank of `member`, lowest score first.
    fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = *self.scores.get(member)?;
        Some(self.order.range(..(score, member.to_vec())).count())
    }
}

/// C's `strtod` over the whole of `text` (nothing may follow the number):
/// the value, and whether it overflowed or underflowed (`ERANGE` with
/// ±HUGE_VAL or zero). Leading whitespace is the caller's business.
pub(crate) fn strtod(text: &str) -> Option<(f64, bool)> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    let lower = body.to_ascii_lowercase();
    let (v, nonzero) = match lower.as_str() {
        "inf" | "infinity" => return Some((if negative { f64::NEG_INFINITY } else { f64::INFINITY }, false)),
        "nan" => return Some((f64::NAN, false)),
        _ if lower.starts_with("0x") => hex(&lower[2..])?,
        _ => {
            let mantissa = lower.split('e').next().unwrap_or("");
            if !mantissa.bytes().any(|b| b.is_ascii_digit())
                || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            {
                return None;
            }
            (body.parse::<f64>().ok()?, mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)))
        }
    };
    let v = if negative { -v } else { v };
    Some((v, v.is_infinite() || (v == 0.0 && nonzero)))
}

/// A hexadecimal float's digits after `0x`: `h[.h][p[±]d]`; the value and
/// whether the mantissa has a nonzero digit.
fn hex(s: &str) -> Option<(f64, bool)> {
    let (mantissa, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let nonzero = mantissa.chars().any(|c| c != '0' && c != '.');
    Some((v * 2f64.powi(exp), nonzero))
}

/// `getDoubleFromObject`: a whole number as strtod reads it, no leading
/// space, not NaN, not out of the double range.
pub(crate) fn parse_score(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    match strtod(text)? {
        (v, false) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// C's `%.17g`.
pub(crate) fn format_g17(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, digits) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m.replace('.', "")),
        None => ("", mantissa.replace('.', "")),
    };
    if !(-4..17).contains(&exp) {
        let m = format!("{}.{}", &digits[..1], &digits[1..]);
        let m = trim_fraction(&m);
        return format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let body = if exp >= 0 {
        let int_len = exp as usize + 1;
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    } else {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    };
    format!("{sign}{}", trim_fraction(&body))
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

/// `d2string`: integers up to 2^52 as integers, else `%.17g` (listpack
/// scores and RDB text).
pub(crate) fn d2string(v: f64) -> String {
    match d2int(v) {
        Some(n) => n.to_string(),
        None => format_g17(v),
    }
}

/// The integer [`d2string`] prints `v` as, when it prints one without `%.17g`.
pub(crate) fn d2int(v: f64) -> Option<i64> {
    let exact = v.is_finite() && v != 0.0 && v > -4_503_599_627_370_495.0 && v < 4_503_599_627_370_496.0;
    (exact && v == v.trunc()).then_some(v as i64)
}

/// `addReplyDouble`.
fn double(v: f64) -> Value {
    Value::Double(format_g17(v))
}

fn not_a_float() -> Value {
    Value::error("ERR value is not a valid float")
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// A score bound of ZRANGEBYSCORE and friends (`zslParseRange`).
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let bound = |a: &[u8]| match a.strip_prefix(b"(") {
            Some(rest) => parse_bound(rest).map(|v| (v, true)),
            None => parse_bound(a).map(|v| (v, false)),
        };
        let ((min, minex), (max, maxex)) = (bound(min)?, bound(max)?);
        Some(ScoreRange { min, max, minex, maxex })
    }

    fn contains(&self, s: f64) -> bool {
        let above = if self.minex { s > self.min } else { s >= self.min };
        let below = if self.maxex { s < self.max } else { s <= self.max };
        above && below
    }
}

/// strtod as `zslParseRange` uses it: leading space skipped, nothing at all
/// is 0, out of range is ±inf or 0, only NaN refused.
fn parse_bound(a: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(a).ok()?.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if text.is_empty() {
        return Some(0.0);
    }
    strtod(text).map(|(v, _)| v).filter(|v| !v.is_nan())
}

/// A lex bound (`zslParseLexRangeItem`).
#[derive(Clone)]
enum Lex {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex(a: &[u8]) -> Option<Lex> {
    match a.first()? {
        b'+' if a.len() == 1 => Some(Lex::Max),
        b'-' if a.len() == 1 => Some(Lex::Min),
        b'[' => Some(Lex::Incl(a[1..].to_vec())),
        b'(' => Some(Lex::Excl(a[1..].to_vec())),
        _ => None,
    }
}

fn lex_above(m: &[u8], min: &Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(v) => m >= v.as_slice(),
        Lex::Excl(v) => m > v.as_slice(),
    }
}

fn lex_below(m: &[u8], max: &Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(v) => m <= v.as_slice(),
        Lex::Excl(v) => m < v.as_slice(),
    }
}

/// `sdscmplex` on bounds: `-` below everything, `+` above.
fn lex_cmp(a: &Lex, b: &Lex) -> Ordering {
    let rank = |l: &Lex| match l {
        Lex::Min => 0,
        Lex::Max => 2,
        _ => 1,
    };
    match (a, b) {
        (Lex::Incl(x) | Lex::Excl(x), Lex::Incl(y) | Lex::Excl(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Whether a lex range can hold anything (`zslIsInLexRange`, `zzlIsInLexRange`):
/// bounds in order, the last member at least `min` and the first at most
/// `max`. Both encodings check this before a range or a count.
fn lex_in_range(items: &[(&[u8], f64)], min: &Lex, max: &Lex) -> bool {
    let cmp = lex_cmp(min, max);
    if cmp == Ordering::Greater
        || (cmp == Ordering::Equal && (matches!(min, Lex::Excl(_)) || matches!(max, Lex::Excl(_))))
    {
        return false;
    }
    match (items.first(), items.last()) {
        (Some(first), Some(last)) => lex_above(last.0, min) && lex_below(first.0, max),
        _ => false,
    }
}

/// Where the first member of a lex range is: the first member at least
/// `min`, walking from the head (`zzlFirstInLexRange`; a skiplist's descent
/// to it finds the same member when its nodes' levels do not skip past it,
/// which is how it mostly goes), if that one is at most `max`.
fn lex_first(items: &[(&[u8], f64)], min: &Lex, max: &Lex) -> Option<usize> {
    let at = items.iter().position(|(m, _)| lex_above(m, min))?;
    lex_below(items[at].0, max).then_some(at)
}

/// Where the last member of a lex range is. A listpack walks back from the
/// tail to the first member at most `max` (`zzlLastInLexRange`); a skiplist
/// descends from the head while the next member is at most `max`
/// (`zslLastInLexRange`): on mixed scores the two differ. Either way that
/// member must be at least `min`.
fn lex_last(items: &[(&[u8], f64)], min: &Lex, max: &Lex, skiplist: bool) -> Option<usize> {
    let at = if skiplist {
        items.iter().position(|(m, _)| !lex_below(m, max)).unwrap_or(items.len()).checked_sub(1)?
    } else {
        items.iter().rposition(|(m, _)| lex_below(m, max))?
    };
    lex_above(items[at].0, min).then_some(at)
}

/// The members a lex range covers, as Redis walks them
/// (`genericZrangebylexCommand`): from the first in range, `offset` members
/// skipped unchecked, then forward while `<= max`; reversed, from the last in
/// range back while `>= min`; at most `limit` (negative: all). On members of
/// one score that is the plain range; on mixed scores it is what Redis gives,
/// not a filter.
fn lex_walk(z: &ZSet, min: &Lex, max: &Lex, rev: bool, offset: i64, limit: i64) -> Vec<(Vec<u8>, f64)> {
    let items: Vec<(&[u8], f64)> = z.iter().collect();
    if offset < 0 || !lex_in_range(&items, min, max) {
        return Vec::new();
    }
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let skip = offset as usize;
    if rev {
        let Some(start) = lex_last(&items, min, max, z.is_skiplist()) else { return Vec::new() };
        let from = items[..=start].iter().rev().skip(skip);
        return from.take_while(|(m, _)| lex_above(m, min)).take(take).map(|(m, s)| (m.to_vec(), *s)).collect();
    }
    let Some(start) = lex_first(&items, min, max) else { return Vec::new() };
    let from = items[start..].iter().skip(skip);
    from.take_while(|(m, _)| lex_below(m, max)).take(take).map(|(m, s)| (m.to_vec(), *s)).collect()
}

/// ZLEXCOUNT: a listpack counts the walk; a skiplist subtracts the first and
/// last members' ranks, which on mixed scores counts the members between
/// them whatever they are.
fn lex_count(z: &ZSet, min: &Lex, max: &Lex) -> usize {
    if !z.is_skiplist() {
        return lex_walk(z, min, max, false, 0, -1).len();
    }
    let items: Vec<(&[u8], f64)> = z.iter().collect();
    if !lex_in_range(&items, min, max) {
        return 0;
    }
    match (lex_first(&items, min, max), lex_last(&items, min, max, true)) {
        (None, _) => 0,
        (Some(first), None) => items.len() - first,
        (Some(first), Some(last)) => (last + 1).saturating_sub(first),
    }
}

/// ZREMRANGEBYLEX's members. A listpack removes [`lex_walk`]'s; a skiplist
/// (`zslDeleteRangeByLex`) skips the range check and removes from the first
/// member at least `min` while members are at most `max`.
fn lex_removed(z: &ZSet, min: &Lex, max: &Lex) -> Vec<(Vec<u8>, f64)> {
    if !z.is_skiplist() {
        return lex_walk(z, min, max, false, 0, -1);
    }
    let items: Vec<(&[u8], f64)> = z.iter().collect();
    let Some(start) = items.iter().position(|(m, _)| lex_above(m, min)) else { return Vec::new() };
    items[start..].iter().take_while(|(m, _)| lex_below(m, max)).map(|(m, s)| (m.to_vec(), *s)).collect()
}

/// Runs `name` if it is a sorted-set command; `None` otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    Some(match name {
        "zadd" => zadd(args, x, false),
        "zincrby" => zadd(args, x, true),
        "zscore" => match zset(x, &args[1]) {
            Ok(z) => z.and_then(|z| z.score(&args[2])).map_or(Value::Nil, double),
            Err(e) => e,
        },
        "zmscore" => match zset(x, &args[1]) {
            Ok(z) => {
                Value::Array(args[2..].iter().map(|m| z.and_then(|z| z.score(m)).map_or(Value::Nil, double)).collect())
            }
            Err(e) => e,
        },
        "zcard" => match zset(x, &args[1]) {
            Ok(z) => Value::Integer(z.map_or(0, |z| z.len() as i64)),
            Err(e) => e,
        },
        "zrank" | "zrevrank" => match zset(x, &args[1]) {
            Ok(z) => match z.and_then(|z| Some((z.rank(&args[2])?, z.len()))) {
                Some((r, len)) => Value::Integer(if name == "zrank" { r } else { len - 1 - r } as i64),
                None => Value::Nil,
            },
            Err(e) => e,
        },
        "zcount" => zcount(args, x),
        "zlexcount" => zlexcount(args, x),
        "zrange" => zrange(args, x, Kind::Auto, false, 1),
        "zrevrange" => zrange(args, x, Kind::Rank, true, 1),
        "zrangebyscore" => zrange(args, x, Kind::Score, false, 1),
        "zrevrangebyscore" => zrange(args, x, Kind::Score, true, 1),
        "zrangebylex" => zrange(args, x, Kind::Lex, false, 1),
        "zrevrangebylex" => zrange(args, x, Kind::Lex, true, 1),
        "zrangestore" => zrange(args, x, Kind::Auto, false, 2),
        "zrem" => zrem(args, x),
        "zremrangebyrank" | "zremrangebyscore" | "zremrangebylex" => zremrange(name, args, x),
        "zpopmin" | "zpopmax" => zpop(name == "zpopmax", args, x),
        "zunion" | "zinter" | "zdiff" | "zintercard" => combine(name, args, x, false),
        "zunionstore" | "zinterstore" | "zdiffstore" => combine(&name[..name.len() - 5], args, x, true),
        "sintercard" => sintercard(args, x),
        _ => return crate::bits::keyspace(name, args, x),
    })
}

/// The sorted set at `key`, `None` if missing, WRONGTYPE for another type.
fn zset<'x>(x: &'x mut Exec<'_>, key: &[u8]) -> Result<Option<&'x ZSet>, Value> {
    match x.read(key) {
        None => Ok(None),
        Some(Data::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(wrong_type()),
    }
}

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ... and ZINCRBY key
/// increment member (`zaddGenericCommand`).
pub(crate) fn zadd(args: &[Vec<u8>], x: &mut Exec<'_>, zincrby: bool) -> Value {
    let mut f = AddFlags { incr: zincrby, ..AddFlags::default() };
    let mut at = 2;
    while !zincrby && at < args.len() {
        match args[at].to_ascii_lowercase().as_slice() {
            b"nx" => f.nx = true,
            b"xx" => f.xx = true,
            b"gt" => f.gt = true,
            b"lt" => f.lt = true,
            b"ch" => f.ch = true,
            b"incr" => f.incr = true,
            _ => break,
        }
        at += 1;
    }
    let rest = &args[at..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Value::error("ERR syntax error");
    }
    if f.nx && f.xx {
        return Value::error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Value::error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest.len() > 2 {
        return Value::error("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks(2) {
        let Some(score) = parse_score(&p[0]) else { return not_a_float() };
        pairs.push((score, &p[1]));
    }
    let exists = match x.lookup(&args[1]) {
        None => false,
        Some(Data::ZSet(_)) => true,
        Some(_) => return wrong_type(),
    };
    let nothing = || if f.incr { Value::Nil } else { Value::Integer(0) };
    if !exists && f.xx {
        return nothing();
    }
    if !exists {
        x.db().insert(args[1].clone(), Data::ZSet(Box::default()));
    }
    let limits = x.db().limits;
    let Some(Data::ZSet(z)) = x.db().keys.get_mut(&args[1]) else { unreachable!("a sorted set is there") };
    let (mut added, mut updated, mut processed, mut last) = (0, 0, 0, 0.0);
    let mut error = None;
    for (score, member) in pairs {
        match add_one(z, score, member, &f, &limits) {
            Err(e) => {
                error = Some(e);
                break;
            }
            Ok(Added::Nop) => {}
            Ok(outcome) => {
                processed += 1;
                match outcome {
                    Added::New(s) | Added::Same(s) => last = s,
                    Added::Updated(s) => {
                        updated += 1;
                        last = s;
                    }
                    Added::Nop => {}
                }
                if matches!(outcome, Added::New(_)) {
                    added += 1;
                }
            }
        }
    }
    let empty = z.is_empty();
    if empty {
        x.db().remove(&args[1]);
    } else {
        x.db().note_growth(&args[1]);
    }
    if added + updated > 0 {
        x.dirty += added + updated;
        x.propagate(args);
        x.notify(notify::ZSET, if f.incr { "zincr" } else { "zadd" }, &args[1]);
    }
    if let Some(e) = error {
        return e;
    }
    match (f.incr, processed > 0) {
        (true, true) => double(last),
        (true, false) => Value::Nil,
        (false, _) => Value::Integer((if f.ch { added + updated } else { added }) as i64),
    }
}

enum Added {
    Nop,
    New(f64),
    Updated(f64),
    Same(f64),
}

/// `zsetAdd` for one member.
fn add_one(z: &mut ZSet, score: f64, member: &[u8], f: &AddFlags, limits: &Limits) -> Result<Added, Value> {
    match z.score(member) {
        Some(_) if f.nx => Ok(Added::Nop),
        Some(cur) => {
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(Value::error("ERR resulting score is not a number (NaN)"));
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok(Added::Nop);
            }
            if new == cur {
                return Ok(Added::Same(new));
            }
            z.insert(member.to_vec(), new, limits);
            Ok(Added::Updated(new))
        }
        None if f.xx => Ok(Added::Nop),
        None => {
            z.insert(member.to_vec(), score, limits);
            Ok(Added::New(score))
        }
    }
}

/// ZCOUNT key min max: the range is parsed before the key is looked up.
fn zcount(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let Some(range) = ScoreRange::parse(&args[2], &args[3]) else {
        return Value::error("ERR min or max is not a float");
    };
    match zset(x, &args[1]) {
        Ok(z) => Value::Integer(z.map_or(0, |z| z.iter().filter(|(_, s)| range.contains(*s)).count()) as i64),
        Err(e) => e,
    }
}

fn zlexcount(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (Some(min), Some(max)) = (parse_lex(&args[2]), parse_lex(&args[3])) else {
        return Value::error("ERR min or max not valid string range item");
    };
    match zset(x, &args[1]) {
        Ok(z) => Value::Integer(z.map_or(0, |z| lex_count(z, &min, &max)) as i64),
        Err(e) => e,
    }
}

/// Picks a range's members (with scores) out of a sorted set.
type Picker = Box<dyn Fn(&ZSet) -> Vec<(Vec<u8>, f64)>>;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// What a range command asked for, parsed.
struct RangeQuery {
    kind: Kind,
    rev: bool,
    offset: i64,
    limit: i64,
    withscores: bool,
}

/// ZRANGE and its older forms, and ZRANGESTORE (`zrangeGenericCommand`);
/// `at` is where the source key is (2 for ZRANGESTORE).
fn zrange(args: &[Vec<u8>], x: &mut Exec<'_>, kind: Kind, rev: bool, at: usize) -> Value {
    let store = at == 2;
    let legacy = kind != Kind::Auto;
    let mut q = RangeQuery { kind, rev, offset: 0, limit: -1, withscores: false };
    let mut j = at + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        match args[j].to_ascii_lowercase().as_slice() {
            b"withscores" if !store => q.withscores = true,
            b"limit" if left >= 2 => {
                let (Some(o), Some(l)) = (parse_int(&args[j + 1]), parse_int(&args[j + 2])) else {
                    return not_an_integer();
                };
                (q.offset, q.limit) = (o, l);
                j += 2;
            }
            b"rev" if !legacy && !q.rev => q.rev = true,
            b"bylex" if q.kind == Kind::Auto => q.kind = Kind::Lex,
            b"byscore" if q.kind == Kind::Auto => q.kind = Kind::Score,
            _ => return Value::error("ERR syntax error"),
        }
        j += 1;
    }
    if q.kind == Kind::Auto {
        q.kind = Kind::Rank;
    }
    if q.limit != -1 && q.kind == Kind::Rank {
        return Value::error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if q.withscores && q.kind == Kind::Lex {
        return Value::error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let (mut lo, mut hi) = (&args[at + 1], &args[at + 2]);
    if q.rev && q.kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let pick: Picker = match q.kind {
        Kind::Score => {
            let Some(range) = ScoreRange::parse(lo, hi) else {
                return Value::error("ERR min or max is not a float");
            };
            Box::new(move |z| limited(z, q.rev, q.offset, q.limit, |_, s| range.contains(s)))
        }
        Kind::Lex => {
            let (Some(min), Some(max)) = (parse_lex(lo), parse_lex(hi)) else {
                return Value::error("ERR min or max not valid string range item");
            };
            Box::new(move |z| lex_walk(z, &min, &max, q.rev, q.offset, q.limit))
        }
        _ => {
            let (Some(start), Some(end)) = (parse_int(lo), parse_int(hi)) else { return not_an_integer() };
            Box::new(move |z| by_rank(z, q.rev, start, end))
        }
    };
    let found = match zset(x, &args[at]) {
        Ok(z) => z.map(pick),
        Err(e) => return e,
    };
    if store {
        return store_range(args, x, found.unwrap_or_default(), "zrangestore");
    }
    let found = found.unwrap_or_default();
    if q.withscores {
        return with_scores(found, x.resp3);
    }
    Value::Array(found.into_iter().map(|(m, _)| Value::Bulk(m)).collect())
}

/// Members with their scores: flat (member, score, ...) for RESP2, pairs for RESP3.
fn with_scores(found: Vec<(Vec<u8>, f64)>, resp3: bool) -> Value {
    if resp3 {
        return Value::Array(found.into_iter().map(|(m, s)| Value::Array(vec![Value::Bulk(m), double(s)])).collect());
    }
    Value::Array(found.into_iter().flat_map(|(m, s)| [Value::Bulk(m), double(s)]).collect())
}

fn by_rank(z: &ZSet, rev: bool, start: i64, end: i64) -> Vec<(Vec<u8>, f64)> {
    let len = z.len() as i64;
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    if start > end || start >= len {
        return Vec::new();
    }
    end = end.min(len - 1);
    let n = (end - start + 1) as usize;
    let items: Box<dyn Iterator<Item = (&[u8], f64)>> = if rev { Box::new(z.iter().rev()) } else { Box::new(z.iter()) };
    items.skip(start as usize).take(n).map(|(m, s)| (m.to_vec(), s)).collect()
}

/// The members in a score or lex range, after `offset`, at most `limit`
/// (negative: all); a negative offset gives none.
fn limited(z: &ZSet, rev: bool, offset: i64, limit: i64, keep: impl Fn(&[u8], f64) -> bool) -> Vec<(Vec<u8>, f64)> {
    if offset < 0 {
        return Vec::new();
    }
    let items: Box<dyn Iterator<Item = (&[u8], f64)>> = if rev { Box::new(z.iter().rev()) } else { Box::new(z.iter()) };
    let take = if limit < 0 { usize::MAX } else { limit as usize };
    items.filter(|(m, s)| keep(m, *s)).skip(offset as usize).take(take).map(|(m, s)| (m.to_vec(), s)).collect()
}

/// ZRANGESTORE's end: the destination holds the range, or is deleted when it is empty.
/// Stores `found` at the destination (`event` tells of it), or deletes it when empty.
fn store_range(args: &[Vec<u8>], x: &mut Exec<'_>, found: Vec<(Vec<u8>, f64)>, event: &'static str) -> Value {
    let n = found.len() as i64;
    let dst = &args[1];
    if found.is_empty() {
        if x.lookup(dst).is_none() || !x.db().remove(dst) {
            return Value::Integer(0);
        }
        x.dirty += 1;
        x.propagate(args);
        x.notify(notify::GENERIC, "del", dst);
        return Value::Integer(0);
    }
    let z = ZSet::stored(found, &x.db().limits);
    x.lookup(dst);
    x.db().replace(dst.clone(), Data::ZSet(Box::new(z)));
    x.dirty += 1;
    x.propagate(args);
    x.notify(notify::ZSET, event, dst);
    Value::Integer(n)
}

fn zrem(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let z = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::ZSet(z)) => z,
        Some(_) => return wrong_type(),
    };
    let removed = args[2..].iter().filter(|m| z.remove(m)).count();
    let empty = z.is_empty();
    if empty {
        x.db().remove(&args[1]);
    }
    if removed > 0 {
        x.dirty += removed as u64;
        x.propagate(args);
        x.notify(notify::ZSET, "zrem", &args[1]);
    }
    if empty {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Integer(removed as i64)
}

/// ZREMRANGEBYRANK|BYSCORE|BYLEX key a b: the range is parsed before the key is looked up.
fn zremrange(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let pick: Picker = match name {
        "zremrangebyrank" => {
            let (Some(start), Some(end)) = (parse_int(&args[2]), parse_int(&args[3])) else {
                return not_an_integer();
            };
            Box::new(move |z| by_rank(z, false, start, end))
        }
        "zremrangebyscore" => {
            let Some(range) = ScoreRange::parse(&args[2], &args[3]) else {
                return Value::error("ERR min or max is not a float");
            };
            Box::new(move |z| limited(z, false, 0, -1, |_, s| range.contains(s)))
        }
        _ => {
            let (Some(min), Some(max)) = (parse_lex(&args[2]), parse_lex(&args[3])) else {
                return Value::error("ERR min or max not valid string range item");
            };
            Box::new(move |z| lex_removed(z, &min, &max))
        }
    };
    let z = match x.lookup_mut(&args[1]) {
        None => return Value::Integer(0),
        Some(Data::ZSet(z)) => z,
        Some(_) => return wrong_type(),
    };
    let gone = pick(z);
    for (m, _) in &gone {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        x.db().remove(&args[1]);
    }
    if !gone.is_empty() {
        x.dirty += gone.len() as u64;
        x.propagate(args);
        let event = match name {
            "zremrangebyrank" => "zremrangebyrank",
            "zremrangebyscore" => "zremrangebyscore",
            _ => "zremrangebylex",
        };
        x.notify(notify::ZSET, event, &args[1]);
    }
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    Value::Integer(gone.len() as i64)
}

/// ZPOPMIN|ZPOPMAX key [count].
fn zpop(max: bool, args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if args.len() > 3 {
        return Value::error("ERR syntax error");
    }
    let count = match args.get(2) {
        None => 1,
        Some(a) => match parse_int(a) {
            Some(n) if n >= 0 => n,
            _ => return Value::error("ERR value is out of range, must be positive"),
        },
    };
    let z = match x.lookup_mut(&args[1]) {
        None => return Value::Array(Vec::new()),
        Some(Data::ZSet(z)) => z,
        Some(_) => return wrong_type(),
    };
    // a count of 0 pops nothing, but only after the type check (`ZPOPMIN str 0`
    // is WRONGTYPE on 7.0.15)
    if count == 0 {
        return Value::Array(Vec::new());
    }
    let n = (count as usize).min(z.len());
    let picked: Vec<(Vec<u8>, f64)> = if max {
        z.iter().rev().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    } else {
        z.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        x.db().remove(&args[1]);
    }
    x.dirty += picked.len() as u64;
    x.propagate(args);
    x.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, &args[1]);
    if emptied {
        x.notify(notify::GENERIC, "del", &args[1]);
    }
    // RESP3 pairs them up only when a count was given.
    with_scores(picked, x.resp3 && args.len() == 3)
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// `zunionInterAggregate`: a sum that is NaN (inf + -inf) is 0.
fn aggregate(into: &mut f64, v: f64, how: Aggregate) {
    *into = match how {
        Aggregate::Sum if (*into + v).is_nan() => 0.0,
        Aggregate::Sum => *into + v,
        Aggregate::Min => into.min(v),
        Aggregate::Max => into.max(v),
    };
}

/// ZUNION, ZINTER, ZDIFF, ZINTERCARD and their STORE forms
/// (`zunionInterDiffGenericCommand`): the inputs are sorted sets or sets
/// (whose members score 1), keys are read before the options are parsed.
fn combine(op: &str, args: &[Vec<u8>], x: &mut Exec<'_>, store: bool) -> Value {
    let count_at = if store { 2 } else { 1 };
    let Some(n) = parse_int(&args[count_at]) else { return not_an_integer() };
    if n < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Value::error(format!("ERR at least 1 input key is needed for '{name}' command"));
    }
    let first = count_at + 1;
    if n > (args.len() - first) as i64 {
        return Value::error("ERR syntax error");
    }
    let keys = &args[first..first + n as usize];
    let mut inputs: Vec<Vec<(Vec<u8>, f64)>> = Vec::with_capacity(keys.len());
    for k in keys {
        inputs.push(match x.read(k) {
            None => Vec::new(),
            Some(Data::ZSet(z)) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
            Some(Data::Set(members)) => members.iter().map(|m| (m.clone(), 1.0)).collect(),
            Some(_) => return wrong_type(),
        });
    }
    let cardinality = op == "zintercard";
    let (mut weights, mut how, mut withscores, mut limit) = (vec![1.0; keys.len()], Aggregate::Sum, false, 0);
    let mut j = first + keys.len();
    while j < args.len() {
        let left = args.len() - j - 1;
        match args[j].to_ascii_lowercase().as_slice() {
            b"weights" if op != "zdiff" && !cardinality && left >= keys.len() => {
                for (w, a) in weights.iter_mut().zip(&args[j + 1..]) {
                    let Some(v) = parse_score(a) else { return Value::error("ERR weight value is not a float") };
                    *w = v;
                }
                j += keys.len();
            }
            b"aggregate" if op != "zdiff" && !cardinality && left >= 1 => {
                how = match args[j + 1].to_ascii_lowercase().as_slice() {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => return Value::error("ERR syntax error"),
                };
                j += 1;
            }
            b"limit" if cardinality && left >= 1 => {
                match parse_int(&args[j + 1]) {
                    Some(l) if l >= 0 => limit = l,
                    _ => return Value::error("ERR LIMIT can't be negative"),
                }
                j += 1;
            }
            b"withscores" if !store && !cardinality => withscores = true,
            _ => return Value::error("ERR syntax error"),
        }
        j += 1;
    }
    let result = combined(op, inputs, &weights, how);
    if cardinality {
        let n = result.len() as i64;
        return Value::Integer(if limit > 0 { n.min(limit) } else { n });
    }
    if store {
        let event = match op {
            "zunion" => "zunionstore",
            "zinter" => "zinterstore",
            _ => "zdiffstore",
        };
        return store_range(args, x, result, event);
    }
    if withscores {
        return with_scores(result, x.resp3);
    }
    Value::Array(result.into_iter().map(|(m, _)| Value::Bulk(m)).collect())
}

/// The members of the union, intersection or difference with their
/// aggregated scores, lowest first. Union and intersection take the inputs
/// smallest first, as Redis sorts them (which decides a sum's rounding).
fn combined(op: &str, inputs: Vec<Vec<(Vec<u8>, f64)>>, weights: &[f64], how: Aggregate) -> Vec<(Vec<u8>, f64)> {
    let weighted = |w: f64, s: f64| if (w * s).is_nan() { 0.0 } else { w * s };
    let mut sets: Vec<(f64, BTreeMap<Vec<u8>, f64>)> =
        inputs.into_iter().zip(weights).map(|(members, &w)| (w, members.into_iter().collect())).collect();
    let mut acc: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    if op == "zdiff" {
        let (base, rest) = sets.split_first().expect("at least one input");
        for (m, &s) in &base.1 {
            if rest.iter().all(|(_, other)| !other.contains_key(m)) {
                acc.insert(m.clone(), s);
            }
        }
    } else {
        sets.sort_by_key(|(_, s)| s.len());
        if op == "zunion" {
            for (w, members) in &sets {
                for (m, &s) in members {
                    let v = weighted(*w, s);
                    acc.entry(m.clone()).and_modify(|into| aggregate(into, v, how)).or_insert(v);
                }
            }
        } else if let Some(((w0, smallest), rest)) = sets.split_first() {
            for (m, &s) in smallest {
                let mut v = weighted(*w0, s);
                let mut everywhere = true;
                for (w, other) in rest {
                    match other.get(m) {
                        // unlike a union's, these products are not zeroed
                        // when NaN (0 * inf): a NaN sum then becomes 0
                        Some(&s) => aggregate(&mut v, *w * s, how),
                        None => {
                            everywhere = false;
                            break;
                        }
                    }
                }
                if everywhere {
                    acc.insert(m.clone(), v);
                }
            }
        }
    }
    // The result is a skiplist, which keeps a score of -0 (`ZUNION 1 k
    // WEIGHTS -1 WITHSCORES` answers "-0"); a STORE form's small result
    // goes to a listpack, where it becomes 0 ([`ZSet::insert`]).
    let mut out: Vec<(Vec<u8>, f64)> = acc.into_iter().collect();
    out.sort_by(|a, b| Score(a.1).cmp(&Score(b.1)).then_with(|| a.0.cmp(&b.0)));
    out
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit] (t_set.c).
fn sintercard(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let n = match parse_int(&args[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Value::error("ERR numkeys should be greater than 0"),
    };
    if n > args.len() - 2 {
        return Value::error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0;
    let mut j = 2 + n;
    while j < args.len() {
        match args[j].to_ascii_lowercase().as_slice() {
            b"limit" if j + 1 < args.len() => match parse_int(&args[j + 1]) {
                Some(l) if l >= 0 => limit = l,
                _ => return Value::error("ERR LIMIT can't be negative"),
            },
            _ => return Value::error("ERR syntax error"),
        }
        j += 2;
    }
    let mut sets = Vec::with_capacity(n);
    for k in &args[2..2 + n] {
        match x.read(k) {
            // An empty set, but the keys after it are still type-checked.
            None => sets.push(BTreeSet::new()),
            Some(Data::Set(members)) => sets.push(members.clone()),
            Some(_) => return wrong_type(),
        }
    }
    sets.sort_by_key(BTreeSet::len);
    let (smallest, rest) = sets.split_first().expect("numkeys >= 1");
    let mut count = 0i64;
    for m in smallest {
        if rest.iter().all(|s| s.contains(m)) {
            count += 1;
            if count == limit {
                break;
            }
        }
    }
    Value::Integer(count)
}

#[cfg(test)]
#[path = "tests_zset.rs"]
mod tests;
