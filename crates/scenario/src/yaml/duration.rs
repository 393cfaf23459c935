//! Durations as scenarios write them (`500ms`, `15s`, `1m30s`, `2d`) and as
//! reports print them.

use std::time::Duration;

/// Units from largest to smallest, with their length in nanoseconds. Parts of
/// a duration must follow this order, which is also the order we format in.
const UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

const ADD_A_UNIT: &str = "add a unit: 500ms, 15s, 2m";
const NO_SPACES: &str = "remove the spaces: write durations like 15s or 1m30s";

/// Parses a duration: one or more `<number><unit>` parts, largest unit first
/// (`500ms`, `1.5s`, `1m30s`), units `d h m s ms us ns`. A bare `0` is
/// allowed. The result is exact: decimals are scaled as digits, not floats,
/// and a value that is not a whole number of nanoseconds is rejected.
///
/// The error is a hint for the user, e.g. "add a unit: 500ms, 15s, 2m".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("write a number and a unit; {ADD_A_UNIT}"));
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    if text.starts_with('-') {
        return Err("a duration cannot be negative".to_string());
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(ADD_A_UNIT.to_string());
    }

    let mut total: u128 = 0;
    let mut rest = text;
    // Index into UNITS of the previous part's unit; each part must be smaller.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        if rest.starts_with(char::is_whitespace) {
            return Err(NO_SPACES.to_string());
        }
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return Err(match rest.chars().next() {
                Some('.') => "write a digit before the `.`, like 0.5s".to_string(),
                Some(c) if c.is_alphabetic() => {
                    format!("expected a number before `{rest}`, like 15s")
                }
                Some(c) => format!("unexpected `{c}` in `{text}`; write durations like 1m30s"),
                None => ADD_A_UNIT.to_string(),
            });
        }
        let (int_digits, after) = rest.split_at(int_len);
        let (frac_digits, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return Err(format!("expected digits after the `.` in `{text}`"));
                }
                f.split_at(n)
            }
            None => ("", after),
        };
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(match after.chars().next() {
                None => ADD_A_UNIT.to_string(),
                Some(c) if c.is_whitespace() => NO_SPACES.to_string(),
                Some(c) => format!("unexpected `{c}` in `{text}`; write durations like 1m30s"),
            });
        }
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("unknown unit `{unit}`; use one of ns, us, ms, s, m, h, d"));
        };
        if last_unit.is_some_and(|last| idx <= last) {
            return Err("put units from largest to smallest, each once, like 1h30m".to_string());
        }
        last_unit = Some(idx);
        let unit_ns = UNITS[idx].1;

        let too_large = || "duration is too large".to_string();
        let int: u128 = int_digits.parse().map_err(|_| too_large())?;
        let mut part = int.checked_mul(unit_ns).ok_or_else(too_large)?;
        let frac_digits = frac_digits.trim_end_matches('0');
        if !frac_digits.is_empty() {
            // 18 significant decimals is far below a nanosecond for every unit
            // (a day is < 10^14 ns), and keeps the u128 product from overflowing.
            let not_whole = || format!("`{text}` is not a whole number of nanoseconds");
            if frac_digits.len() > 18 {
                return Err(not_whole());
            }
            let frac: u128 = frac_digits.parse().map_err(|_| not_whole())?;
            let scale = 10u128.pow(frac_digits.len() as u32);
            let scaled = frac * unit_ns;
            if !scaled.is_multiple_of(scale) {
                return Err(not_whole());
            }
            part = part.checked_add(scaled / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(part).ok_or_else(too_large)?;
        rest = after;
    }

    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "duration is too large")?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// Formats a duration in the shortest exact form [`parse_duration`] accepts:
/// largest units first, zero parts left out (`1m30s`, `1s500ms`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let n = ns / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            ns %= size;
        }
    }
    out
}
