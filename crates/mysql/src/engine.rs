//! Databases, tables and rows, and the execution of data and schema
//! statements against them with MariaDB's errors. Rows of a table with a
//! primary key are kept in key order (InnoDB's clustered index); without one,
//! in insertion order (InnoDB's hidden row id).

use crate::sql::{ColumnDecl, Expr, OnDup, SelectItem, SqlError, Stmt, TableRef};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::rc::Rc;

/// A column type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `INT` (32-bit).
    Int,
    /// `BIGINT`.
    BigInt,
    /// `VARCHAR(n)`.
    Varchar(u32),
}

/// A value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

impl Value {
    /// As the text protocol sends it (`None` for NULL).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Str(s) => Some(s.clone()),
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => Some(leading_int(s)),
            Value::Null => None,
        }
    }

    fn truthy(&self) -> bool {
        self.as_int().is_some_and(|i| i != 0)
    }
}

/// MySQL's string-to-number conversion: the leading integer, 0 if none.
fn leading_int(s: &str) -> i64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0)
}

/// A row's key: the primary key's values, or a hidden row id. Ordered as
/// the list of its values; a one-integer key (the common case: an integer
/// primary key, the hidden row id) is kept without a list and two of them
/// compare as two integers, the B-tree's inner loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(KeyRepr);

/// A key's values; one integer is always `Int` (so derived equality is the
/// lists' equality).
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyRepr {
    /// Exactly one value, an integer.
    Int(i64),
    /// Any other list: none, one other value, two and more.
    Values(Vec<Value>),
}

impl Key {
    /// The key of these values.
    pub fn new(values: Vec<Value>) -> Key {
        match values.as_slice() {
            [Value::Int(i)] => Key(KeyRepr::Int(*i)),
            _ => Key(KeyRepr::Values(values)),
        }
    }

    /// The key of one value.
    fn one(value: &Value) -> Key {
        match value {
            Value::Int(i) => Key(KeyRepr::Int(*i)),
            v => Key(KeyRepr::Values(vec![v.clone()])),
        }
    }

    /// Runs `f` on its values, in key order.
    fn with_values<R>(&self, f: impl FnOnce(&[Value]) -> R) -> R {
        match &self.0 {
            KeyRepr::Int(i) => f(&[Value::Int(*i)]),
            KeyRepr::Values(vs) => f(vs),
        }
    }

    /// Whether it has no values (a table without a primary key).
    fn is_empty(&self) -> bool {
        matches!(&self.0, KeyRepr::Values(vs) if vs.is_empty())
    }

    /// As a duplicate-key error shows it: the values joined by `-`.
    fn shown(&self) -> String {
        self.with_values(|vs| vs.iter().map(|v| v.text().unwrap_or_default()).collect::<Vec<_>>().join("-"))
    }

    /// The order of two keys that are not both one integer: as lists.
    #[cold]
    #[inline(never)]
    fn cmp_lists(&self, other: &Key) -> std::cmp::Ordering {
        self.with_values(|a| other.with_values(|b| a.cmp(b)))
    }
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (KeyRepr::Int(a), KeyRepr::Int(b)) => a.cmp(b),
            _ => self.cmp_lists(other),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its columns.
    pub columns: Vec<ColumnDecl>,
    /// Rows by key (the primary key's values, or a hidden row id).
    pub rows: BTreeMap<Key, Vec<Value>>,
    next_hidden: i64,
    /// The next AUTO_INCREMENT value.
    pub auto_increment: i64,
}

impl Table {
    /// The key of the row equal to `row` (by primary key when there is one).
    fn find(&self, row: &[Value]) -> Option<Key> {
        if self.has_pk() {
            let pk = self.pk(row);
            return self.rows.contains_key(&pk).then_some(pk);
        }
        self.rows.iter().find(|(_, r)| r.as_slice() == row).map(|(k, _)| k.clone())
    }

    /// The primary key's values of `row` (an empty key without one).
    fn pk(&self, row: &[Value]) -> Key {
        let mut primary = self.columns.iter().zip(row).filter(|(c, _)| c.primary).map(|(_, v)| v);
        match (primary.next(), primary.next()) {
            (None, _) => Key::new(Vec::new()),
            (Some(v), None) => Key::one(v),
            (Some(a), Some(b)) => Key::new([a, b].into_iter().chain(primary).cloned().collect()),
        }
    }

    fn key(&mut self, row: &[Value]) -> Key {
        let pk = self.pk(row);
        if !pk.is_empty() {
            return pk;
        }
        self.next_hidden += 1;
        Key(KeyRepr::Int(self.next_hidden))
    }

    /// Whether a row has `key`. A key past the last one (the common
    /// ascending insert) is told from the last key alone, without a search.
    fn holds(&self, key: &Key) -> bool {
        self.rows.last_key_value().is_some_and(|(last, _)| key <= last) && self.rows.contains_key(key)
    }

    fn has_pk(&self) -> bool {
        self.columns.iter().any(|c| c.primary)
    }

    fn column(&self, name: &str, clause: &str) -> Result<usize, SqlError> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| SqlError::new(1054, "42S22", format!("Unknown column '{name}' in '{clause}'")))
    }
}

/// What a statement returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are named as the protocol and the statements name them
pub enum Outcome {
    /// OK: rows affected, last insert id, the info line.
    Ok { affected: u64, insert_id: u64, info: String },
    /// A result set: (column name, numeric), rows, and which columns can
    /// hold NULL (empty: none can; the client pads those to fit `NULL`).
    Rows { columns: Vec<(String, bool)>, rows: Vec<Vec<Option<String>>>, nullable: Vec<bool> },
}

impl Outcome {
    fn ok(affected: u64) -> Outcome {
        Outcome::Ok { affected, insert_id: 0, info: String::new() }
    }
}

/// All databases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Engine {
    /// Databases by name, each its tables by name.
    pub dbs: BTreeMap<String, BTreeMap<String, Table>>,
    /// The rows the last INSERT, UPDATE or DELETE changed (for row events).
    pub changes: Vec<RowChange>,
    /// The notes and warnings of the last statement: level, code, message
    /// (what SHOW WARNINGS lists and the OK packet counts).
    pub warnings: Vec<(&'static str, u16, String)>,
}

/// One row changed by a statement: the before and after images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowChange {
    /// The row before (UPDATE, DELETE).
    pub before: Option<Vec<Value>>,
    /// The row after (INSERT, UPDATE).
    pub after: Option<Vec<Value>>,
}

/// Why a row event could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowError {
    /// The table does not exist.
    NoTable,
    /// The key exists: its text.
    Duplicate(String),
    /// The row to change is not there.
    NotFound,
}

fn no_db() -> SqlError {
    SqlError::new(1046, "3D000", "No database selected")
}

impl Engine {
    /// An engine with the system database `mysql`.
    pub fn new() -> Engine {
        let mut dbs = BTreeMap::new();
        dbs.insert("mysql".to_owned(), BTreeMap::new());
        Engine { dbs, changes: Vec::new(), warnings: Vec::new() }
    }

    /// The table `db.name`.
    pub fn get_table(&self, db: &str, name: &str) -> Option<&Table> {
        self.dbs.get(db).and_then(|d| d.get(name))
    }

    /// Applies one row of a row event: insert `after`, delete `before`, or
    /// replace `before` by `after`, finding `before` by its primary key (or the
    /// whole row in a table without one).
    pub fn apply_row(&mut self, db: &str, name: &str, change: &RowChange) -> Result<(), RowError> {
        let table = self.dbs.get_mut(db).and_then(|d| d.get_mut(name)).ok_or(RowError::NoTable)?;
        let old_key = match &change.before {
            Some(before) => Some(table.find(before).ok_or(RowError::NotFound)?),
            None => None,
        };
        if let Some(k) = &old_key {
            table.rows.remove(k);
        }
        if let Some(after) = &change.after {
            let key = table.key(after);
            let mut auto_increment = table.auto_increment;
            for (c, v) in table.columns.iter().zip(after) {
                if let (true, Value::Int(i)) = (c.auto_increment, v) {
                    auto_increment = auto_increment.max(i + 1);
                }
            }
            match table.rows.entry(key) {
                Entry::Occupied(o) => return Err(RowError::Duplicate(o.key().shown())),
                Entry::Vacant(v) => v.insert(after.clone()),
            };
            table.auto_increment = auto_increment;
        }
        Ok(())
    }

    fn table(&self, t: &TableRef, db: Option<&str>) -> Result<(String, &Table), SqlError> {
        let db = t.db.as_deref().or(db).ok_or_else(no_db)?;
        let table = self.dbs.get(db).and_then(|d| d.get(&t.name));
        table
            .map(|tb| (db.to_owned(), tb))
            .ok_or_else(|| SqlError::new(1146, "42S02", format!("Table '{db}.{}' doesn't exist", t.name)))
    }

    fn table_mut(&mut self, t: &TableRef, db: Option<&str>) -> Result<&mut Table, SqlError> {
        let db = t.db.as_deref().or(db).ok_or_else(no_db)?;
        self.dbs
            .get_mut(db)
            .and_then(|d| d.get_mut(&t.name))
            .ok_or_else(|| SqlError::new(1146, "42S02", format!("Table '{db}.{}' doesn't exist", t.name)))
    }

    /// Executes a data or schema statement with default database `db`.
    /// `insert_id` is the AUTO_INCREMENT value a replica must use (from the
    /// master's INSERT_ID event). Other statements are the server's business.
    pub fn execute(&mut self, stmt: &Stmt, db: Option<&str>, insert_id: Option<i64>) -> Result<Outcome, SqlError> {
        self.warnings.clear();
        match stmt {
            Stmt::CreateDatabase { name, if_not_exists } => self.create_database(name, *if_not_exists),
            Stmt::DropDatabase { name, if_exists } => match self.dbs.remove(name) {
                Some(tables) => Ok(Outcome::ok(tables.len() as u64)),
                None if *if_exists => {
                    let message = format!("Can't drop database '{name}'; database doesn't exist");
                    self.warnings.push(("Note", 1008, message));
                    Ok(Outcome::ok(0))
                }
                None => {
                    Err(SqlError::new(1008, "HY000", format!("Can't drop database '{name}'; database doesn't exist")))
                }
            },
            Stmt::CreateTable { table, columns, if_not_exists } => {
                self.create_table(table, columns, *if_not_exists, db)
            }
            Stmt::DropTable { tables, if_exists } => self.drop_tables(tables, *if_exists, db),
            Stmt::Insert { table, columns, rows, on_dup: on_dup @ (OnDup::Replace | OnDup::Update(_)) } => {
                self.upsert(table, columns, rows, on_dup, db, insert_id)
            }
            Stmt::Insert { table, columns, rows, on_dup } => {
                self.insert(table, columns, rows, *on_dup == OnDup::Ignore, db, insert_id)
            }
            Stmt::Truncate { table } => {
                let t = self.table_mut(table, db)?;
                (t.rows, t.auto_increment, t.next_hidden) = (BTreeMap::new(), 1, 0);
                self.changes.clear();
                Ok(Outcome::ok(0))
            }
            Stmt::Update { table, sets, filter } => self.update(table, sets, filter.as_ref(), db),
            Stmt::Delete { table, filter } => self.delete(table, filter.as_ref(), db),
            Stmt::Select { table, items, filter, order, limit } => {
                self.select(table.as_ref(), items, filter.as_ref(), order, *limit, db)
            }
            _ => Err(SqlError::unsupported("this statement in the storage engine")),
        }
    }

    fn create_database(&mut self, name: &str, if_not_exists: bool) -> Result<Outcome, SqlError> {
        if self.dbs.contains_key(name) {
            return if if_not_exists {
                self.warnings.push(("Note", 1007, format!("Can't create database '{name}'; database exists")));
                Ok(Outcome::ok(0))
            } else {
                Err(SqlError::new(1007, "HY000", format!("Can't create database '{name}'; database exists")))
            };
        }
        self.dbs.insert(name.to_owned(), BTreeMap::new());
        Ok(Outcome::ok(1))
    }

    fn create_table(
        &mut self,
        t: &TableRef,
        columns: &[ColumnDecl],
        if_not_exists: bool,
        db: Option<&str>,
    ) -> Result<Outcome, SqlError> {
        let db = t.db.as_deref().or(db).ok_or_else(no_db)?;
        let tables =
            self.dbs.get_mut(db).ok_or_else(|| SqlError::new(1049, "42000", format!("Unknown database '{db}'")))?;
        if tables.contains_key(&t.name) {
            return if if_not_exists {
                self.warnings.push(("Note", 1050, format!("Table '{}' already exists", t.name)));
                Ok(Outcome::ok(0))
            } else {
                Err(SqlError::new(1050, "42S01", format!("Table '{}' already exists", t.name)))
            };
        }
        let auto = columns.iter().filter(|c| c.auto_increment).count();
        if auto > 1 || columns.iter().any(|c| c.auto_increment && !c.primary) {
            return Err(SqlError::new(
                1075,
                "42000",
                "Incorrect table definition; there can be only one auto column and it must be defined as a key",
            ));
        }
        let table = Table { columns: columns.to_vec(), rows: BTreeMap::new(), next_hidden: 0, auto_increment: 1 };
        tables.insert(t.name.clone(), table);
        Ok(Outcome::ok(0))
    }

    fn drop_tables(&mut self, tables: &[TableRef], if_exists: bool, db: Option<&str>) -> Result<Outcome, SqlError> {
        let mut missing = Vec::new();
        for t in tables {
            let d = t.db.as_deref().or(db).ok_or_else(no_db)?;
            if self.dbs.get_mut(d).and_then(|ts| ts.remove(&t.name)).is_none() {
                missing.push(format!("{d}.{}", t.name));
            }
        }
        if missing.is_empty() {
            return Ok(Outcome::ok(0));
        }
        if if_exists {
            self.warnings.push(("Note", 1051, format!("Unknown table '{}'", missing.join(","))));
            return Ok(Outcome::ok(0));
        }
        Err(SqlError::new(1051, "42S02", format!("Unknown table '{}'", missing.join(","))))
    }

    fn insert(
        &mut self,
        t: &TableRef,
        cols: &[String],
        rows: &[Vec<Expr>],
        ignore: bool,
        db: Option<&str>,
        insert_id: Option<i64>,
    ) -> Result<Outcome, SqlError> {
        let mut duplicates = Vec::new();
        let table = self.table_mut(t, db)?;
        let positions = insert_positions(table, cols)?;
        // the rows are staged beside the table (not in a copy of it: a
        // statement costs its rows, not the table's size) and the counters
        // restored if one fails
        let counters = (table.auto_increment, table.next_hidden);
        let skip = if ignore { Some(&mut duplicates) } else { None };
        let staged = Self::stage_rows(table, &positions, rows, insert_id, skip);
        let (staged, first_id) = match staged {
            Ok(s) => s,
            Err(e) => {
                (table.auto_increment, table.next_hidden) = counters;
                return Err(e);
            }
        };
        let mut changes = Vec::with_capacity(staged.len());
        let affected = staged.len() as u64;
        for (key, row) in staged {
            changes.push(RowChange { before: None, after: Some(row.clone()) });
            table.rows.insert(key, row);
        }
        self.changes = changes;
        let skipped = duplicates.len();
        // INSERT IGNORE: each duplicate skipped is a warning
        for key in duplicates {
            self.warnings.push(("Warning", 1062, format!("Duplicate entry '{key}' for key 'PRIMARY'")));
        }
        let info = if rows.len() > 1 {
            format!("Records: {}  Duplicates: {skipped}  Warnings: {skipped}", rows.len())
        } else {
            String::new()
        };
        Ok(Outcome::Ok { affected, insert_id: first_id as u64, info })
    }

    /// REPLACE and INSERT ... ON DUPLICATE KEY UPDATE, row by row on a copy
    /// of the table that replaces it only if every row went in. A row whose
    /// key is free is inserted (1 affected). REPLACE puts a different row in
    /// the old one's place (2, a duplicate; InnoDB updates it in place) and
    /// leaves an equal one (1). ON DUPLICATE KEY UPDATE applies its
    /// assignments to the old row, each seeing the ones before (2 and a
    /// duplicate if that changed it, else 0). Changed rows are the row
    /// events' updates, new ones their writes.
    fn upsert(
        &mut self,
        t: &TableRef,
        cols: &[String],
        rows: &[Vec<Expr>],
        on_dup: &OnDup,
        db: Option<&str>,
        insert_id: Option<i64>,
    ) -> Result<Outcome, SqlError> {
        let table = self.table_mut(t, db)?;
        let positions = insert_positions(table, cols)?;
        let sets: &[(String, Expr)] = match on_dup {
            OnDup::Update(sets) => sets,
            _ => &[],
        };
        let targets: Vec<usize> = sets.iter().map(|(c, _)| table.column(c, "UPDATE")).collect::<Result<_, _>>()?;
        for (_, e) in sets {
            resolve(table, e, "SELECT")?;
        }
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut staged = table.clone();
        let (mut affected, mut duplicates, mut first_id) = (0u64, 0usize, 0);
        let mut next_id = insert_id;
        let mut changes = Vec::new();
        for (n, exprs) in rows.iter().enumerate() {
            let mut row = new_row(&staged, &positions, exprs, n)?;
            let generated = fill_row(&mut staged, &mut row, n + 1, &mut next_id)?;
            if first_id == 0 {
                first_id = generated;
            }
            let key = staged.key(&row);
            let Some(old) = staged.rows.get(&key).cloned() else {
                changes.push(RowChange { before: None, after: Some(row.clone()) });
                staged.rows.insert(key, row);
                affected += 1;
                continue;
            };
            let new = match on_dup {
                OnDup::Replace => row,
                _ => {
                    let mut new = old.clone();
                    for (&p, (_, e)) in targets.iter().zip(sets) {
                        new[p] = eval(&put_values(e, &|v| inserted(v, &names, &row)), &names, &new)?;
                        check_value(&staged.columns[p], &new[p], n + 1)?;
                    }
                    new
                }
            };
            if new == old {
                affected += u64::from(*on_dup == OnDup::Replace);
                continue;
            }
            let new_key = staged.key(&new);
            if new_key != key && staged.rows.contains_key(&new_key) {
                let shown = new_key.shown();
                return Err(SqlError::new(1062, "23000", format!("Duplicate entry '{shown}' for key 'PRIMARY'")));
            }
            staged.rows.remove(&key);
            staged.rows.insert(new_key, new.clone());
            changes.push(RowChange { before: Some(old), after: Some(new) });
            affected += 2;
            duplicates += 1;
        }
        *table = staged;
        self.changes = changes;
        let info = if rows.len() > 1 {
            format!("Records: {}  Duplicates: {duplicates}  Warnings: 0", rows.len())
        } else {
            String::new()
        };
        Ok(Outcome::Ok { affected, insert_id: first_id as u64, info })
    }

    /// INSERT's rows with their keys, checked against the table and each
    /// other, and the first AUTO_INCREMENT value generated (0 if none).
    /// With `skipped` (INSERT IGNORE) a row whose key is taken is left out
    /// and its key's text put there instead of failing the statement.
    #[allow(clippy::type_complexity)] // (key, row) pairs and the first id
    fn stage_rows(
        staged: &mut Table,
        positions: &[usize],
        rows: &[Vec<Expr>],
        insert_id: Option<i64>,
        mut skipped: Option<&mut Vec<String>>,
    ) -> Result<(Vec<(Key, Vec<Value>)>, i64), SqlError> {
        // strict mode (both servers' default sql_mode): a NOT NULL column
        // left out needs a default
        let missing = staged
            .columns
            .iter()
            .enumerate()
            .find(|&(i, c)| c.not_null && c.default.is_none() && !c.auto_increment && !positions.contains(&i));
        if let (Some((_, c)), false) = (missing, rows.is_empty()) {
            return Err(SqlError::new(1364, "HY000", format!("Field '{}' doesn't have a default value", c.name)));
        }
        let mut out: Vec<(Key, Vec<Value>)> = Vec::with_capacity(rows.len());
        let mut first_id = 0;
        let mut next_id = insert_id;
        for (n, exprs) in rows.iter().enumerate() {
            let mut row = new_row(staged, positions, exprs, n)?;
            let generated = fill_row(staged, &mut row, n + 1, &mut next_id)?;
            if first_id == 0 {
                first_id = generated;
            }
            let key = staged.key(&row);
            let taken = staged.holds(&key) || out.iter().any(|(k, _)| *k == key);
            if let (true, Some(list)) = (taken, skipped.as_deref_mut()) {
                list.push(key.shown());
                continue;
            }
            if taken {
                return Err(SqlError::new(
                    1062,
                    "23000",
                    format!("Duplicate entry '{}' for key 'PRIMARY'", key.shown()),
                ));
            }
            out.push((key, row));
        }
        Ok((out, first_id))
    }

    /// Undoes row changes (the newest last in `undo`): each change's inverse,
    /// newest first. What ROLLBACK and a failed replicated transaction do.
    pub fn undo<S: AsRef<str>>(&mut self, undo: Vec<(S, S, Rc<Vec<RowChange>>)>) {
        for (db, table, changes) in undo.into_iter().rev() {
            for c in changes.iter().rev() {
                let change = RowChange { before: c.after.clone(), after: c.before.clone() };
                let _ = self.apply_row(db.as_ref(), table.as_ref(), &change);
            }
        }
    }

    fn update(
        &mut self,
        t: &TableRef,
        sets: &[(String, Expr)],
        filter: Option<&Expr>,
        db: Option<&str>,
    ) -> Result<Outcome, SqlError> {
        let table = self.table_mut(t, db)?;
        if let Some(f) = filter {
            resolve(table, f, "WHERE")?;
        }
        let targets: Vec<usize> = sets.iter().map(|(c, _)| table.column(c, "SET")).collect::<Result<_, _>>()?;
        for (_, e) in sets {
            resolve(table, e, "SET")?;
        }
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut staged = table.clone();
        let (mut matched, mut changed) = (0u64, 0u64);
        let mut changes = Vec::new();
        let mut rewritten = BTreeMap::new();
        for (key, row) in &table.rows {
            if let Some(f) = filter
                && !eval(f, &names, row)?.truthy()
            {
                rewritten.insert(key.clone(), row.clone());
                continue;
            }
            matched += 1;
            let mut new = row.clone();
            for (&p, (_, e)) in targets.iter().zip(sets) {
                new[p] = eval(e, &names, row)?;
                check_value(&staged.columns[p], &new[p], 1)?;
            }
            if new != *row {
                changed += 1;
                changes.push(RowChange { before: Some(row.clone()), after: Some(new.clone()) });
            }
            let new_key = if staged.has_pk() { staged.key(&new) } else { key.clone() };
            if rewritten.contains_key(&new_key) {
                return Err(SqlError::new(
                    1062,
                    "23000",
                    format!("Duplicate entry '{}' for key 'PRIMARY'", new_key.shown()),
                ));
            }
            rewritten.insert(new_key, new);
        }
        staged.rows = rewritten;
        *table = staged;
        self.changes = changes;
        Ok(Outcome::Ok {
            affected: changed,
            insert_id: 0,
            info: format!("Rows matched: {matched}  Changed: {changed}  Warnings: 0"),
        })
    }

    fn delete(&mut self, t: &TableRef, filter: Option<&Expr>, db: Option<&str>) -> Result<Outcome, SqlError> {
        let table = self.table_mut(t, db)?;
        if let Some(f) = filter {
            resolve(table, f, "WHERE")?;
        }
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut doomed = Vec::new();
        for (key, row) in &table.rows {
            if filter.map(|f| eval(f, &names, row)).transpose()?.is_none_or(|v| v.truthy()) {
                doomed.push(key.clone());
            }
        }
        let mut changes = Vec::new();
        for k in &doomed {
            changes.extend(table.rows.remove(k).map(|r| RowChange { before: Some(r), after: None }));
        }
        self.changes = changes;
        Ok(Outcome::ok(doomed.len() as u64))
    }

    fn select(
        &self,
        t: Option<&TableRef>,
        items: &[SelectItem],
        filter: Option<&Expr>,
        order: &[(String, bool)],
        limit: Option<u64>,
        db: Option<&str>,
    ) -> Result<Outcome, SqlError> {
        let empty = Table {
            columns: Vec::new(),
            rows: BTreeMap::from([(Key::new(Vec::new()), Vec::new())]),
            next_hidden: 0,
            auto_increment: 1,
        };
        let table = match t {
            Some(t) => self.table(t, db)?.1,
            None => &empty,
        };
        // names resolve before any row is read, clause by clause
        for item in items {
            if let SelectItem::Expr(e, _) = item {
                resolve(table, e, "SELECT")?;
            }
        }
        if let Some(f) = filter {
            resolve(table, f, "WHERE")?;
        }
        // DATABASE() in WHERE is the session's database, as a value
        let database = db.map_or(Value::Null, |d| Value::Str(d.to_owned()));
        let session = |e: &Expr| matches!(e, Expr::Database).then(|| database.clone());
        let in_filter = filter.filter(|f| mentions_database(f)).map(|f| put_values(f, &session));
        let filter = in_filter.as_ref().or(filter);
        let keys: Vec<(usize, bool)> =
            order.iter().map(|(c, asc)| table.column(c, "ORDER BY").map(|p| (p, *asc))).collect::<Result<_, _>>()?;
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut picked = Vec::new();
        for row in table.rows.values() {
            if filter.map(|f| eval(f, &names, row)).transpose()?.is_none_or(|v| v.truthy()) {
                picked.push(row);
            }
        }
        picked.sort_by(|a, b| {
            keys.iter()
                .map(|&(p, asc)| if asc { a[p].cmp(&b[p]) } else { b[p].cmp(&a[p]) })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let database = Expr::Lit(database);
        let mut columns = Vec::new();
        let mut exprs = Vec::new();
        for item in items {
            match item {
                SelectItem::Star => {
                    for c in &table.columns {
                        columns.push((c.name.clone(), !matches!(c.ty, ColumnType::Varchar(_))));
                        exprs.push(Expr::Col(c.name.clone()));
                    }
                }
                SelectItem::Expr(e, heading) => {
                    let numeric = match e {
                        Expr::Col(c) => table
                            .columns
                            .iter()
                            .any(|col| col.name.eq_ignore_ascii_case(c) && !matches!(col.ty, ColumnType::Varchar(_))),
                        Expr::Lit(Value::Str(_)) | Expr::Database => false,
                        _ => true,
                    };
                    columns.push((heading.clone(), numeric));
                    exprs.push(if matches!(e, Expr::Database) { database.clone() } else { e.clone() });
                }
            }
        }
        let limit = limit.map_or(usize::MAX, |l| l as usize);
        let mut rows = Vec::new();
        let grouped = exprs.iter().any(aggregates);
        let nullable = exprs.iter().map(|e| can_be_null(e, table, grouped)).collect();
        if grouped {
            // one row over every row picked; a plain column takes the first's value
            if limit > 0 {
                rows.push(
                    exprs.iter().map(|e| aggregate(e, &names, &picked).map(|v| v.text())).collect::<Result<_, _>>()?,
                );
            }
            return Ok(Outcome::Rows { columns, rows, nullable });
        }
        picked.truncate(limit);
        for row in picked {
            rows.push(exprs.iter().map(|e| eval(e, &names, row).map(|v| v.text())).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(Outcome::Rows { columns, rows, nullable })
    }

    /// DESCRIBE's rows: Field, Type, Null, Key, Default, Extra.
    pub fn show_columns(&self, t: &TableRef, db: Option<&str>) -> Result<Outcome, SqlError> {
        let (_, table) = self.table(t, db)?;
        let headings = ["Field", "Type", "Null", "Key", "Default", "Extra"];
        let columns = headings.iter().map(|h| ((*h).to_owned(), false)).collect();
        let rows = table
            .columns
            .iter()
            .map(|c| {
                let ty = match c.ty {
                    ColumnType::Int => "int(11)".to_owned(),
                    ColumnType::BigInt => "bigint(20)".to_owned(),
                    ColumnType::Varchar(n) => format!("varchar({n})"),
                };
                vec![
                    Some(c.name.clone()),
                    Some(ty),
                    Some(if c.not_null { "NO" } else { "YES" }.to_owned()),
                    Some(if c.primary { "PRI" } else { "" }.to_owned()),
                    c.default.as_ref().and_then(Value::text),
                    Some(if c.auto_increment { "auto_increment" } else { "" }.to_owned()),
                ]
            })
            .collect();
        Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
    }

    /// SHOW CREATE TABLE's text: each column with its type, NOT NULL,
    /// DEFAULT (NULL for a nullable column without one) and AUTO_INCREMENT,
    /// the primary key, and the table options: `AUTO_INCREMENT=n` once a
    /// value was generated, the charset of `collation`. MariaDB 10.11 prints
    /// a numeric default bare and always names the collation; MySQL 5.7
    /// quotes every default and names a charset's default collation not at all.
    pub fn create_table_text(
        &self,
        t: &TableRef,
        db: Option<&str>,
        flavor: crate::flavor::Flavor,
        collation: &str,
    ) -> Result<String, SqlError> {
        let (_, table) = self.table(t, db)?;
        let mysql57 = flavor == crate::flavor::Flavor::Mysql57;
        let mut lines = Vec::new();
        for c in &table.columns {
            let ty = match c.ty {
                ColumnType::Int => "int(11)".to_owned(),
                ColumnType::BigInt => "bigint(20)".to_owned(),
                ColumnType::Varchar(n) => format!("varchar({n})"),
            };
            let mut line = format!("  `{}` {ty}", c.name);
            if c.not_null {
                line.push_str(" NOT NULL");
            }
            match &c.default {
                Some(Value::Int(i)) if !mysql57 => line.push_str(&format!(" DEFAULT {i}")),
                Some(Value::Null) | None if !c.not_null => line.push_str(" DEFAULT NULL"),
                Some(v) => line.push_str(&format!(" DEFAULT '{}'", v.text().unwrap_or_default().replace('\'', "''"))),
                None => {}
            }
            if c.auto_increment {
                line.push_str(" AUTO_INCREMENT");
            }
            lines.push(line);
        }
        let key: Vec<String> = table.columns.iter().filter(|c| c.primary).map(|c| format!("`{}`", c.name)).collect();
        if !key.is_empty() {
            lines.push(format!("  PRIMARY KEY ({})", key.join(",")));
        }
        let charset = collation.split('_').next().unwrap_or(collation);
        let mut options = String::from("ENGINE=InnoDB");
        if table.auto_increment > 1 {
            options.push_str(&format!(" AUTO_INCREMENT={}", table.auto_increment));
        }
        options.push_str(&format!(" DEFAULT CHARSET={charset}"));
        if !mysql57 {
            options.push_str(&format!(" COLLATE={collation}"));
        }
        Ok(format!("CREATE TABLE `{}` (\n{}\n) {options}", t.name, lines.join(",\n")))
    }

    /// SHOW TABLES' rows: `db`'s tables by name, those `like` matches.
    pub fn show_tables(&self, db: Option<&str>, like: Option<&str>) -> Result<Outcome, SqlError> {
        let db = db.ok_or_else(no_db)?;
        let tables =
            self.dbs.get(db).ok_or_else(|| SqlError::new(1049, "42000", format!("Unknown database '{db}'")))?;
        let heading = match like {
            Some(p) => format!("Tables_in_{db} ({p})"),
            None => format!("Tables_in_{db}"),
        };
        let rows = tables.keys().filter(|t| like.is_none_or(|p| like_match(p, t))).map(|t| vec![Some(t.clone())]);
        Ok(Outcome::Rows { columns: vec![(heading, false)], rows: rows.collect(), nullable: Vec::new() })
    }
}

/// Checks that every column `e` names is the table's: MariaDB resolves names
/// before it reads a row, and its 1054 names the clause.
fn resolve(table: &Table, e: &Expr, clause: &str) -> Result<(), SqlError> {
    match e {
        Expr::Col(c) => table.column(c, clause).map(|_| ()),
        Expr::Bin(_, a, b) => resolve(table, a, clause).and_then(|()| resolve(table, b, clause)),
        Expr::Not(inner) | Expr::IsNull(inner, _) => resolve(table, inner, clause),
        Expr::Count(Some(inner)) => resolve(table, inner, clause),
        Expr::Values(c) => table.column(c, clause).map(|_| ()),
        Expr::Lit(_) | Expr::Var(_) | Expr::Database | Expr::Session(_) | Expr::Count(None) => Ok(()),
    }
}

/// Whether a select item can be NULL, as the column definition tells the
/// client: a nullable column; in a grouped select any column (no row may
/// be picked); NULL itself; an operation on something that can be.
fn can_be_null(e: &Expr, table: &Table, grouped: bool) -> bool {
    match e {
        Expr::Col(c) => grouped || table.columns.iter().any(|col| col.name.eq_ignore_ascii_case(c) && !col.not_null),
        Expr::Lit(v) => *v == Value::Null,
        Expr::Bin(_, a, b) => can_be_null(a, table, grouped) || can_be_null(b, table, grouped),
        Expr::Not(inner) => can_be_null(inner, table, grouped),
        Expr::IsNull(..) | Expr::Count(_) | Expr::Var(_) | Expr::Session(_) => false,
        Expr::Values(_) => true,
        Expr::Database => true,
    }
}

/// Whether `e` holds an aggregate (`COUNT`).
fn aggregates(e: &Expr) -> bool {
    match e {
        Expr::Count(_) => true,
        Expr::Bin(_, a, b) => aggregates(a) || aggregates(b),
        Expr::Not(inner) | Expr::IsNull(inner, _) => aggregates(inner),
        Expr::Lit(_) | Expr::Col(_) | Expr::Var(_) | Expr::Database | Expr::Session(_) | Expr::Values(_) => false,
    }
}

/// `e` over all `rows` at once: COUNT counts, a column is the first row's
/// (NULL with no row), as MariaDB answers without ONLY_FULL_GROUP_BY.
fn aggregate(e: &Expr, names: &[String], rows: &[&Vec<Value>]) -> Result<Value, SqlError> {
    Ok(match e {
        Expr::Count(None) => Value::Int(rows.len() as i64),
        Expr::Count(Some(inner)) => {
            let mut n = 0;
            for r in rows {
                n += i64::from(eval(inner, names, r)? != Value::Null);
            }
            Value::Int(n)
        }
        Expr::Bin(op, a, b) => binary(op, aggregate(a, names, rows)?, aggregate(b, names, rows)?),
        Expr::Not(inner) => match aggregate(inner, names, rows)? {
            Value::Null => Value::Null,
            v => Value::Int(!v.truthy() as i64),
        },
        Expr::IsNull(inner, is_null) => {
            Value::Int(((aggregate(inner, names, rows)? == Value::Null) == *is_null) as i64)
        }
        other => match rows.first() {
            Some(r) => eval(other, names, r)?,
            None if matches!(other, Expr::Col(_)) => Value::Null,
            None => eval(other, names, &[])?,
        },
    })
}

/// SQL `LIKE` on a name, as SHOW's filters match (case-insensitive): `%` any
/// run, `_` one character, `\\` escapes.
pub fn like_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let s: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    // dynamic programming over (pattern position, text position)
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    let mut i = 0;
    while i < p.len() {
        let (c, escaped) = if p[i] == '\\' && i + 1 < p.len() { (p[i + 1], true) } else { (p[i], false) };
        i += if escaped { 2 } else { 1 };
        let mut next = vec![false; s.len() + 1];
        match (c, escaped) {
            ('%', false) => {
                let mut any = false;
                for (j, slot) in next.iter_mut().enumerate() {
                    any |= reach[j];
                    *slot = any;
                }
            }
            _ => {
                for j in 0..s.len() {
                    next[j + 1] = reach[j] && ((c == '_' && !escaped) || s[j] == c);
                }
            }
        }
        reach = next;
    }
    reach[s.len()]
}

/// Where an INSERT's values go: every column in order without a column
/// list, else the listed ones (1054 for an unknown one, 1110 for one
/// listed twice).
fn insert_positions(table: &Table, cols: &[String]) -> Result<Vec<usize>, SqlError> {
    if cols.is_empty() {
        return Ok((0..table.columns.len()).collect());
    }
    let mut positions = Vec::with_capacity(cols.len());
    for c in cols {
        let p = table.column(c, "INSERT INTO")?;
        if positions.contains(&p) {
            return Err(SqlError::new(1110, "42000", format!("Column '{c}' specified twice")));
        }
        positions.push(p);
    }
    Ok(positions)
}

/// A row to insert: the columns' defaults, then the values given at
/// `positions` (the `n`-th row of the statement, counted from 0).
fn new_row(table: &Table, positions: &[usize], exprs: &[Expr], n: usize) -> Result<Vec<Value>, SqlError> {
    if exprs.len() != positions.len() {
        return Err(SqlError::new(1136, "21S01", format!("Column count doesn't match value count at row {}", n + 1)));
    }
    let mut row: Vec<Value> = if positions.len() == table.columns.len() {
        vec![Value::Null; positions.len()] // every column is given
    } else {
        table.columns.iter().map(|c| c.default.clone().unwrap_or(Value::Null)).collect()
    };
    for (&p, e) in positions.iter().zip(exprs) {
        row[p] = eval(e, &[], &[])?;
    }
    Ok(row)
}

/// Whether `e` reads DATABASE().
fn mentions_database(e: &Expr) -> bool {
    match e {
        Expr::Database => true,
        Expr::Bin(_, a, b) => mentions_database(a) || mentions_database(b),
        Expr::Not(inner) | Expr::IsNull(inner, _) => mentions_database(inner),
        Expr::Count(Some(inner)) => mentions_database(inner),
        _ => false,
    }
}

/// `e` with each leaf `put` gives a value for replaced by that value:
/// DATABASE() by the session's database, `VALUES(c)` by the row that was
/// to be inserted.
fn put_values(e: &Expr, put: &impl Fn(&Expr) -> Option<Value>) -> Expr {
    if let Some(v) = put(e) {
        return Expr::Lit(v);
    }
    match e {
        Expr::Bin(op, a, b) => Expr::Bin(op, Box::new(put_values(a, put)), Box::new(put_values(b, put))),
        Expr::Not(inner) => Expr::Not(Box::new(put_values(inner, put))),
        Expr::IsNull(inner, is_null) => Expr::IsNull(Box::new(put_values(inner, put)), *is_null),
        other => other.clone(),
    }
}

/// `VALUES(c)`'s value: `c` of `row` (the row that was to be inserted).
fn inserted(e: &Expr, names: &[String], row: &[Value]) -> Option<Value> {
    let Expr::Values(c) = e else { return None };
    let p = names.iter().position(|n| n.eq_ignore_ascii_case(c));
    Some(p.and_then(|p| row.get(p)).cloned().unwrap_or(Value::Null))
}

/// Fills AUTO_INCREMENT and checks types; returns the id generated (0 if none).
fn fill_row(table: &mut Table, row: &mut [Value], n: usize, next_id: &mut Option<i64>) -> Result<i64, SqlError> {
    let mut generated = 0;
    for (i, c) in table.columns.iter().enumerate() {
        if c.auto_increment && matches!(row[i], Value::Null | Value::Int(0)) {
            let id = next_id.take().unwrap_or(table.auto_increment);
            row[i] = Value::Int(id);
            generated = id;
        }
        if c.auto_increment
            && let Value::Int(v) = row[i]
        {
            table.auto_increment = table.auto_increment.max(v + 1);
        }
        if let (ColumnType::Int | ColumnType::BigInt, Value::Str(s)) = (c.ty, &row[i]) {
            row[i] = Value::Int(leading_int(s));
        }
        if let (ColumnType::Varchar(_), Value::Int(v)) = (c.ty, &row[i]) {
            row[i] = Value::Str(v.to_string());
        }
        check_value(c, &row[i], n)?;
    }
    Ok(generated)
}

fn check_value(c: &ColumnDecl, v: &Value, n: usize) -> Result<(), SqlError> {
    match (c.ty, v) {
        (_, Value::Null) if c.not_null => {
            Err(SqlError::new(1048, "23000", format!("Column '{}' cannot be null", c.name)))
        }
        (ColumnType::Varchar(len), Value::Str(s)) if s.chars().count() > len as usize => {
            Err(SqlError::new(1406, "22001", format!("Data too long for column '{}' at row {n}", c.name)))
        }
        (ColumnType::Int, Value::Int(i)) if i32::try_from(*i).is_err() => {
            Err(SqlError::new(1264, "22003", format!("Out of range value for column '{}' at row {n}", c.name)))
        }
        _ => Ok(()),
    }
}

/// Evaluates `e` over `row`, whose columns are `names`.
pub fn eval(e: &Expr, names: &[String], row: &[Value]) -> Result<Value, SqlError> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Col(c) => {
            let p = names.iter().position(|n| n.eq_ignore_ascii_case(c));
            p.and_then(|p| row.get(p))
                .cloned()
                .ok_or_else(|| SqlError::new(1054, "42S22", format!("Unknown column '{c}' in 'WHERE'")))?
        }
        Expr::Not(inner) => match eval(inner, names, row)? {
            Value::Null => Value::Null,
            v => Value::Int(!v.truthy() as i64),
        },
        Expr::IsNull(inner, is_null) => Value::Int(((eval(inner, names, row)? == Value::Null) == *is_null) as i64),
        Expr::Bin(op, a, b) => binary(op, eval(a, names, row)?, eval(b, names, row)?),
        // the server puts variables in, and SELECT evaluates these itself
        Expr::Var(name) => return Err(SqlError::new(1193, "HY000", format!("Unknown system variable '{name}'"))),
        Expr::Database | Expr::Count(_) => return Err(SqlError::new(1111, "HY000", "Invalid use of group function")),
        Expr::Session(name) => return Err(SqlError::unsupported(&format!("{name}() here"))),
        // outside ON DUPLICATE KEY UPDATE, VALUES(c) is NULL
        Expr::Values(_) => Value::Null,
    })
}

fn binary(op: &str, a: Value, b: Value) -> Value {
    if op == "AND" {
        return Value::Int((a.truthy() && b.truthy()) as i64);
    }
    if op == "OR" {
        return Value::Int((a.truthy() || b.truthy()) as i64);
    }
    if a == Value::Null || b == Value::Null {
        return Value::Null;
    }
    let ord = match (&a, &b) {
        (Value::Str(x), Value::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        _ => a.as_int().cmp(&b.as_int()),
    };
    let (x, y) = (a.as_int().unwrap_or(0), b.as_int().unwrap_or(0));
    Value::Int(match op {
        "=" => ord.is_eq() as i64,
        "<>" => ord.is_ne() as i64,
        "<" => ord.is_lt() as i64,
        "<=" => ord.is_le() as i64,
        ">" => ord.is_gt() as i64,
        ">=" => ord.is_ge() as i64,
        "+" => x.wrapping_add(y),
        "-" => x.wrapping_sub(y),
        _ => x.wrapping_mul(y),
    })
}

#[cfg(test)]
mod tests {
    use super::{Key, Value};

    /// Every list of up to three values from a small alphabet (NULL, ints
    /// around zero and the i64 ends, strings), so both key forms and each
    /// pair of value kinds meet.
    fn lists() -> Vec<Vec<Value>> {
        let alphabet = [
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Int(0),
            Value::Int(7),
            Value::Int(i64::MAX),
            Value::Str(String::new()),
            Value::Str("7".into()),
            Value::Str("a".into()),
        ];
        let mut lists = vec![Vec::new()];
        for len in 1..=3u32 {
            for mut n in 0..alphabet.len().pow(len) {
                let mut list = Vec::new();
                for _ in 0..len {
                    list.push(alphabet[n % alphabet.len()].clone());
                    n /= alphabet.len();
                }
                lists.push(list);
            }
        }
        lists
    }

    /// Keys order and compare exactly as the lists of their values, so rows
    /// keep the order (and SELECT without ORDER BY the output) they had.
    #[test]
    fn keys_order_as_their_value_lists() {
        let lists = lists();
        for a in &lists {
            for b in &lists {
                let (ka, kb) = (Key::new(a.clone()), Key::new(b.clone()));
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ka == kb, a == b, "{a:?} vs {b:?}");
                ka.with_values(|values| assert_eq!(values, a.as_slice()));
            }
        }
    }
}
