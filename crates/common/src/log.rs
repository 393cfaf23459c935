//! redis-server's log line: `<pid>:<role> <dd> <Mon> <YYYY> <HH>:<MM>:<SS>.<mmm> <level> <message>`
//! (`serverLogRaw`), with the time taken from the node's own, skewable, wall clock.

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// One log line. `role` is `M`, `S`, `C` or `X`; `level` is `.`, `-`, `*` or `#`.
pub fn line(pid: u32, role: char, wall_ms: i64, level: char, message: &str) -> String {
    let (date, ms) = civil(wall_ms);
    format!("{pid}:{role} {date}.{ms:03} {level} {message}")
}

/// `21 Nov 2026 10:00:00` (UTC) and the milliseconds, from ms since the epoch.
fn civil(wall_ms: i64) -> (String, i64) {
    let secs = wall_ms.div_euclid(1000);
    let ms = wall_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}",
        MONTHS[(month - 1) as usize],
        tod / 3600,
        (tod / 60) % 60,
        tod % 60
    );
    (date, ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_redis() {
        // 2026-11-21T08:55:11.079Z
        let ms = 1_795_251_311_079;
        assert_eq!(
            line(8807, 'M', ms, '*', "Ready to accept connections"),
            "8807:M 21 Nov 2026 08:55:11.079 * Ready to accept connections"
        );
        assert_eq!(line(1, 'C', 0, '#', "x"), "1:C 01 Jan 1970 00:00:00.000 # x");
        assert_eq!(line(1, 'S', 951_782_400_000, '*', "leap"), "1:S 29 Feb 2000 00:00:00.000 * leap");
    }
}
