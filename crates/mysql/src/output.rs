//! What the `mysql` command-line client (MariaDB 10.11's, interactive) prints
//! for a reply: tables with `+---+` borders (numbers right-aligned), `\G`'s
//! vertical rows, `Query OK, N rows affected (T sec)` with the info line,
//! `N rows in set`, `Empty set`, and `ERROR code (state): message`. Times are
//! the virtual time the statement took, with three decimals as MariaDB's
//! client prints them.

/// A reply as the client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Printed {
    /// OK with rows affected, warnings and info.
    Ok {
        /// Rows affected.
        affected: u64,
        /// Warnings.
        warnings: u16,
        /// The info line (`Records: 2  Duplicates: 0  Warnings: 0`).
        info: String,
    },
    /// A result set: column names with "numeric", and rows.
    Rows {
        /// (name, numeric).
        columns: Vec<(String, bool)>,
        /// Values, `None` for NULL.
        rows: Vec<Vec<Option<String>>>,
        /// Which columns can hold NULL (empty: none can).
        nullable: Vec<bool>,
    },
    /// An ERR packet.
    Error {
        /// Code.
        code: u16,
        /// SQLSTATE.
        state: String,
        /// Message.
        message: String,
    },
    /// `USE db` succeeded.
    DatabaseChanged,
    /// An empty statement (`;` after `\G`): the client's own complaint.
    NoQuery,
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// `(0.000 sec)` with `decimals` (2 or 3) digits, truncated as the clients do.
fn secs(micros: u64, decimals: usize) -> String {
    let frac = (micros % 1_000_000) / 10u64.pow(6 - decimals as u32);
    format!("({}.{:0width$} sec)", micros / 1_000_000, frac, width = decimals)
}

/// Renders `p`, which took `micros` of virtual time; `vertical` for `\G`;
/// times with three decimals, as MariaDB's client prints them.
pub fn render(p: &Printed, vertical: bool, micros: u64) -> String {
    render_as(p, vertical, micros, 3)
}

/// [`render`] with times to `decimals` places (MySQL 5.7's client prints two).
pub fn render_as(p: &Printed, vertical: bool, micros: u64, decimals: usize) -> String {
    let secs = |m| secs(m, decimals);
    match p {
        Printed::Ok { affected, warnings, info } => {
            let mut s = format!("Query OK, {}", plural(*affected, "row"));
            s.push_str(" affected");
            if *warnings > 0 {
                s.push_str(&format!(", {}", plural(*warnings as u64, "warning")));
            }
            s.push_str(&format!(" {}", secs(micros)));
            if !info.is_empty() {
                s.push('\n');
                s.push_str(info);
            }
            s
        }
        Printed::Rows { rows, .. } if rows.is_empty() => format!("Empty set {}", secs(micros)),
        Printed::Rows { columns, rows, nullable } => {
            let body = if vertical { vertical_rows(columns, rows) } else { table(columns, rows, nullable) };
            format!("{body}\n{} in set {}", plural(rows.len() as u64, "row"), secs(micros))
        }
        Printed::Error { code, state, message } => format!("ERROR {code} ({state}): {message}"),
        Printed::DatabaseChanged => "Database changed".to_owned(),
        Printed::NoQuery => "ERROR: No query specified".to_owned(),
    }
}

fn cell(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("NULL")
}

/// The boxed table.
pub fn table(columns: &[(String, bool)], rows: &[Vec<Option<String>>], nullable: &[bool]) -> String {
    // a column that can hold NULL is at least as wide as `NULL`
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let null = if nullable.get(i).copied().unwrap_or(false) { 4 } else { 0 };
            rows.iter().map(|r| cell(&r[i]).chars().count()).chain([name.chars().count(), null]).max().unwrap_or(0)
        })
        .collect();
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+";
    let line = |values: Vec<(&str, bool)>| -> String {
        let cells: String = values
            .iter()
            .zip(&widths)
            .map(|((v, right), w)| if *right { format!("| {v:>w$} ") } else { format!("| {v:<w$} ") })
            .collect();
        cells + "|"
    };
    let mut out = vec![rule.clone(), line(columns.iter().map(|(n, _)| (n.as_str(), false)).collect()), rule.clone()];
    for r in rows {
        out.push(line(r.iter().zip(columns).map(|(v, (_, num))| (cell(v), *num && v.is_some())).collect()));
    }
    out.push(rule);
    out.join("\n")
}

/// `\G`'s rows.
pub fn vertical_rows(columns: &[(String, bool)], rows: &[Vec<Option<String>>]) -> String {
    let w = columns.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        out.push(format!("*************************** {}. row ***************************", i + 1));
        for ((name, _), v) in columns.iter().zip(r) {
            out.push(format!("{name:>w$}: {}", cell(v)));
        }
    }
    out.join("\n")
}

/// Splits client input into statements, each with whether it ended in `\G`.
/// Quotes are respected; a trailing statement without terminator counts.
pub fn split(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"' | '`') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, ';') => out.push((std::mem::take(&mut cur), false)),
            (None, '\\') if matches!(chars.peek(), Some('G' | 'g')) => {
                let vertical = chars.next() == Some('G');
                out.push((std::mem::take(&mut cur), vertical));
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push((cur, false));
    }
    out.into_iter().map(|(s, v)| (s.trim().to_owned(), v)).collect()
}

/// `n` in decimal, written at the end of `digits` (what `format!` would
/// give, without its machinery: info files and redo lines are written for
/// every event).
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[start..]
}

#[cfg(test)]
mod tests {
    /// The hand-written decimal is `to_string`'s, at every digit count and the ends.
    #[test]
    fn decimal_is_to_string() {
        let mut n = 1u64;
        let mut cases = vec![0, u64::MAX];
        while let Some(next) = n.checked_mul(10) {
            cases.extend([n - 1, n, n + 1]);
            n = next;
        }
        for n in cases {
            assert_eq!(super::decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }
}
