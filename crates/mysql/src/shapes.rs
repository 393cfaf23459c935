//! A cache of parsed statement shapes, so that a workload repeating one
//! statement with other values (`insert into t1 values(7,'row 7')`) is parsed
//! by `sqlparser` once, not once per statement.
//!
//! A statement's *shape* is its text with every number and quoted string
//! literal replaced by a marker. The first time a shape is seen the text goes
//! through [`sql::parse`]; when the result is a DML or transaction statement
//! whose literals are exactly the text's literals, in order and with the same
//! values, the statement is kept as the shape's template. A later text of the
//! same shape is the template with its own literals put in. Anything the
//! scanner is not sure about (escapes, comments, non-decimal numbers, double
//! quotes, several statements) is never cached and always parsed in full;
//! and a template is kept only when the shape filled with other values (a
//! probe) parses as the template filled with them, which catches literals
//! the parse transforms (a sign before a number). So a cached answer is the
//! answer `sql::parse` would give.

use crate::engine::Value;
use crate::sql::{self, Expr, SqlError, Stmt};
use std::collections::BTreeMap;

/// At most this many shapes are kept (the first ones seen).
const CAPACITY: usize = 1024;

/// Marks a number literal in a shape.
const NUMBER: char = '\u{0}';
/// Marks a string literal in a shape.
const STRING: char = '\u{1}';

/// One literal of a statement's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lit<'a> {
    /// Decimal digits.
    Number(&'a str),
    /// A single-quoted string's contents (no escapes in it).
    Str(&'a str),
}

impl Lit<'_> {
    /// The value `sql::parse` gives the literal; `None` when it would fail.
    fn value(self) -> Option<Value> {
        match self {
            Lit::Number(n) => n.parse().ok().map(Value::Int),
            Lit::Str(s) => Some(Value::Str(s.to_owned())),
        }
    }
}

/// Parsed statements by shape.
#[derive(Debug, Default)]
pub struct Shapes {
    templates: BTreeMap<String, Stmt>,
    /// Scratch: the shape of the statement being parsed.
    key: String,
}

impl Shapes {
    /// [`sql::parse`], from the cache when the text's shape is known.
    pub fn parse(&mut self, text: &str) -> Result<Stmt, SqlError> {
        let trimmed = text.trim().trim_end_matches(';').trim();
        let mut lits = Vec::new();
        let shaped = shape(trimmed, &mut self.key, &mut lits);
        if shaped
            && let Some(template) = self.templates.get(self.key.as_str())
            && let Some(stmt) = filled(template, &mut lits.iter().map(|l| l.value()))
        {
            return Ok(stmt);
        }
        let stmt = sql::parse(text)?;
        if shaped
            && self.templates.len() < CAPACITY
            && cacheable(&stmt)
            && literals_match(&stmt, &lits)
            && probe_matches(&self.key, &stmt)
        {
            self.templates.insert(self.key.clone(), stmt.clone());
        }
        Ok(stmt)
    }
}

/// The statements whose parse depends on their literals only through the
/// literal values (no heading, limit or type written from their text).
fn cacheable(stmt: &Stmt) -> bool {
    matches!(
        stmt,
        Stmt::Insert { .. } | Stmt::Update { .. } | Stmt::Delete { .. } | Stmt::Begin | Stmt::Commit | Stmt::Rollback
    )
}

/// Whether the statement's literals (NULL aside: it is a keyword, part of
/// the shape) are the text's, one for one and in order.
fn literals_match(stmt: &Stmt, lits: &[Lit<'_>]) -> bool {
    let mut copy = stmt.clone();
    let mut expected = lits.iter().map(|l| l.value());
    let mut same = true;
    each_literal(&mut copy, &mut |v| same &= expected.next().flatten().as_ref() == Some(v));
    same && expected.next().is_none()
}

/// Whether the shape with other values (distinct, non-zero) parses as the
/// template with those values put in: a literal the parse transforms (a sign
/// before it, say) is caught here.
fn probe_matches(key: &str, template: &Stmt) -> bool {
    let mut text = String::with_capacity(key.len() + 16);
    let mut values = Vec::new();
    for c in key.chars() {
        let n = 1_000_003 * (values.len() as i64 + 1);
        match c {
            NUMBER => {
                text.push_str(&n.to_string());
                values.push(Value::Int(n));
            }
            STRING => {
                text.push_str(&format!("'probe {n}'"));
                values.push(Value::Str(format!("probe {n}")));
            }
            c => text.push(c),
        }
    }
    let mut expected = template.clone();
    let mut values = values.into_iter();
    each_literal(&mut expected, &mut |v| *v = values.next().unwrap_or(Value::Null));
    values.next().is_none() && sql::parse(&text).is_ok_and(|probe| probe == expected)
}

/// `template` with `values` for its literals, in text order (as
/// [`each_literal`] visits them); `None` when one is missing. An INSERT's
/// rows are built with the new values in place, not copied and overwritten.
fn filled(template: &Stmt, values: &mut impl Iterator<Item = Option<Value>>) -> Option<Stmt> {
    let mut complete = true;
    let mut next = |old: &Value| match values.next().flatten() {
        Some(new) => new,
        None => {
            complete = false;
            old.clone()
        }
    };
    let stmt = match template {
        Stmt::Insert { table, columns, rows, on_dup } => Stmt::Insert {
            table: table.clone(),
            columns: columns.clone(),
            on_dup: on_dup.clone(),
            rows: rows.iter().map(|row| row.iter().map(|e| filled_expr(e, &mut next)).collect()).collect(),
        },
        other => {
            let mut stmt = other.clone();
            each_literal(&mut stmt, &mut |v| *v = next(v));
            stmt
        }
    };
    complete.then_some(stmt)
}

/// `e` with `next`'s values for its non-NULL literals, in [`expr_literals`]'s order.
fn filled_expr(e: &Expr, next: &mut impl FnMut(&Value) -> Value) -> Expr {
    match e {
        Expr::Lit(Value::Null)
        | Expr::Col(_)
        | Expr::Var(_)
        | Expr::Database
        | Expr::Session(_)
        | Expr::Values(_)
        | Expr::Count(None) => e.clone(),
        Expr::Lit(v) => Expr::Lit(next(v)),
        Expr::Count(Some(inner)) => Expr::Count(Some(Box::new(filled_expr(inner, next)))),
        Expr::Bin(op, a, b) => {
            let a = filled_expr(a, next);
            Expr::Bin(op, Box::new(a), Box::new(filled_expr(b, next)))
        }
        Expr::Not(inner) => Expr::Not(Box::new(filled_expr(inner, next))),
        Expr::IsNull(inner, is_null) => Expr::IsNull(Box::new(filled_expr(inner, next)), *is_null),
    }
}

/// Calls `f` on every non-NULL literal of a DML statement, in text order.
fn each_literal(stmt: &mut Stmt, f: &mut impl FnMut(&mut Value)) {
    match stmt {
        Stmt::Insert { rows, .. } => rows.iter_mut().flatten().for_each(|e| expr_literals(e, f)),
        Stmt::Update { sets, filter, .. } => {
            sets.iter_mut().for_each(|(_, e)| expr_literals(e, f));
            filter.iter_mut().for_each(|e| expr_literals(e, f));
        }
        Stmt::Delete { filter, .. } => filter.iter_mut().for_each(|e| expr_literals(e, f)),
        _ => {}
    }
}

fn expr_literals(e: &mut Expr, f: &mut impl FnMut(&mut Value)) {
    match e {
        Expr::Lit(Value::Null)
        | Expr::Col(_)
        | Expr::Var(_)
        | Expr::Database
        | Expr::Session(_)
        | Expr::Values(_)
        | Expr::Count(None) => {}
        Expr::Lit(v) => f(v),
        Expr::Count(Some(inner)) => expr_literals(inner, f),
        Expr::Bin(_, a, b) => {
            expr_literals(a, f);
            expr_literals(b, f);
        }
        Expr::Not(inner) | Expr::IsNull(inner, _) => expr_literals(inner, f),
    }
}

/// Writes `text`'s shape into `key` and its literals into `lits`; false when
/// the text holds something the scanner does not read with certainty.
/// The ASCII bytes `shape` copies as they are, whatever surrounds them.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut b = 0;
    while b < 128 {
        plain[b] = true;
        b += 1;
    }
    let special = b"\\\";#\x00\x01-/`'0123456789";
    let mut i = 0;
    while i < special.len() {
        plain[special[i] as usize] = false;
        i += 1;
    }
    plain
};

fn shape<'a>(text: &'a str, key: &mut String, lits: &mut Vec<Lit<'a>>) -> bool {
    key.clear();
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut i = 0;
    while i < bytes.len() {
        // bytes no arm below looks at are copied a run at a time
        let run = bytes[i..].iter().take_while(|b| PLAIN[usize::from(**b)]).count();
        if run > 0 {
            key.push_str(&text[i..i + run]);
            i += run;
            continue;
        }
        let b = bytes[i];
        let before = i.checked_sub(1).map(|p| bytes[p]);
        match b {
            b'\\' | b'"' | b';' | b'#' | 0 | 1 => return false,
            b'-' if bytes.get(i + 1) == Some(&b'-') => return false,
            b'/' if bytes.get(i + 1) == Some(&b'*') => return false,
            b'`' => {
                let Some(len) = bytes[i + 1..].iter().position(|c| *c == b'`') else { return false };
                key.push_str(&text[i..i + len + 2]);
                i += len + 2;
                continue;
            }
            b'\'' => {
                if before.is_some_and(word) {
                    return false; // an introducer or hex/bit literal: _utf8'x', X'0a'
                }
                let Some(len) = bytes[i + 1..].iter().position(|c| *c == b'\'') else { return false };
                if bytes[i + 1..i + 1 + len].contains(&b'\\') {
                    return false; // an escape: the value is not the text between the quotes
                }
                let end = i + len + 2;
                if bytes.get(end) == Some(&b'\'') || bytes.get(end).is_some_and(|c| word(*c)) {
                    return false; // a doubled quote inside, or something glued after
                }
                lits.push(Lit::Str(&text[i + 1..i + 1 + len]));
                key.push(STRING);
                i = end;
                continue;
            }
            b'0'..=b'9' if !before.is_some_and(|c| word(c) || c == b'.') => {
                let len = bytes[i..].iter().position(|c| !c.is_ascii_digit()).unwrap_or(bytes.len() - i);
                let end = i + len;
                if bytes.get(end).is_some_and(|c| word(*c) || *c == b'.' || *c == b'\'') {
                    return false; // 1e5, 0x1f, 1.5, 2abc
                }
                lits.push(Lit::Number(&text[i..end]));
                key.push(NUMBER);
                i = end;
                continue;
            }
            _ => {}
        }
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        key.push_str(&text[i..i + len]);
        i += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{Shapes, shape};
    use crate::sql;

    /// Every text parses through the cache exactly as `sql::parse` parses
    /// it, whether its shape was seen before or not.
    #[test]
    fn a_cached_parse_is_the_full_parse() {
        let texts = [
            "insert into t1 values(1,'row 1')",
            "insert into t1 values(2,'row 2')",
            "insert into t1 values(3,'')",
            "insert into t1 values(99999999999999999999,'big')",
            "insert into t1 values(-5,'neg')",
            "insert into t1 values(-0,'neg zero')",
            "insert into t1 values(- 0,'spaced neg zero')",
            "insert into t1 values(- 7,'spaced neg')",
            "update t1 set id = id - 0 where id = 1",
            "update t1 set id = id - 2 where id = 3",
            "insert into t1 values(5,'it''s')",
            "insert into t1 values(6,'back\\'slash')",
            "insert into t1 values(13,'ends in a backslash\\\\')",
            "insert into t1 values(14,'tab\\there')",
            "insert into t1 values(15,'new\\nline')",
            "insert into t1 values(7,NULL)",
            "insert into t1 values(0x10,'hex')",
            "insert into t1 values(1.5,'dec')",
            "insert into t1 (id, name) values (8, 'a'), (9, 'b');",
            "insert into t1 (id, name) values (10, 'c'), (11, 'd')",
            "update t1 set name = 'x' where id = 3",
            "update t1 set name = 'y' where id = 4 and name <> 'q'",
            "update t1 set id = id + 1 where id > 1",
            "delete from t1 where id = 2",
            "delete from t1 where id = 12345",
            "delete from t1 where name is not null",
            "delete from t1 where id = 1 limit 1",
            "delete from t1 where id = 2 limit 1",
            "insert into `t``1` values(1,'a')",
            "insert into t1 values(1,'a') -- 5",
            "insert into t1 values(1,'a') /* 5 */",
            "insert into t1 values(1,'é')",
            "insert into t1 values(2,'日本')",
            "insert into t1 values(3,_utf8'x')",
            "insert into t1 values(4,'a' 'b')",
            "insert into t1 values(5,'c' 'd')",
            "insert into t1 values(6, true)",
            "insert into t1 values(7, \"dq\")",
            "BEGIN",
            "begin",
            "COMMIT",
            "commit;",
            "ROLLBACK",
            "start transaction",
            "select 1",
            "select 2",
            "select * from t1 where id = 1 limit 2",
            "insert into t1 values(1,'a'); insert into t1 values(2,'b')",
            "insert into t1 values(",
            "insert into t1 values('unterminated",
            "insert into t1 values(1,'x')x",
            "insert into t1 values(12,'y')'z'",
            "update t1 set name='q' where id=t1.5",
        ];
        let mut shapes = Shapes::default();
        for round in 0..2 {
            for text in texts {
                assert_eq!(shapes.parse(text), sql::parse(text), "round {round}: {text}");
            }
        }
        assert!(shapes.templates.len() >= 5, "the plain DML texts are cached: {}", shapes.templates.len());
    }

    /// Two texts differing only in their literals share one shape; the
    /// literals come out in order.
    #[test]
    fn literals_are_cut_out_of_the_shape() {
        let (mut a, mut b) = (String::new(), String::new());
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        assert!(shape("insert into t1 values(1,'row 1')", &mut a, &mut la));
        assert!(shape("insert into t1 values(20,'row 20')", &mut b, &mut lb));
        assert_eq!(a, b);
        assert_eq!(lb, [super::Lit::Number("20"), super::Lit::Str("row 20")]);
        assert!(!shape("insert into t1 values(1,'a\\'b')", &mut a, &mut la));
    }
}
