//! Statement text to typed [`Stmt`]s. Data and schema statements go through
//! `sqlparser`'s MySQL dialect; the replication and account statements it does
//! not parse (`SHOW MASTER STATUS`, `CHANGE MASTER TO`, `START SLAVE`,
//! `CREATE USER`, `GRANT`, ...) are read by [`admin`]'s small keyword reader.
//! A statement the parser accepts but this model does not execute is
//! MariaDB's error 1235 (not supported yet), never a silent success.

use crate::engine::{ColumnType, Value};
use sqlparser::ast;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

/// An error as the server sends it: code, SQLSTATE, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// The error code (1062, ...).
    pub code: u16,
    /// The SQLSTATE ("23000").
    pub state: &'static str,
    /// The message.
    pub message: String,
}

impl SqlError {
    /// An error.
    pub fn new(code: u16, state: &'static str, message: impl Into<String>) -> SqlError {
        SqlError { code, state, message: message.into() }
    }

    /// 1064, MariaDB's syntax error, quoting the text from where parsing failed.
    pub fn syntax(near: &str) -> SqlError {
        let near: String = near.chars().take(80).collect();
        SqlError::new(
            1064,
            "42000",
            format!(
                "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '{near}' at line 1"
            ),
        )
    }

    /// 1235, for statements this model does not execute.
    pub fn unsupported(what: &str) -> SqlError {
        SqlError::new(1235, "42000", format!("This version of MariaDB doesn't yet support '{what}'"))
    }
}

/// A table name, optionally qualified by its database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRef {
    /// The database, when written.
    pub db: Option<String>,
    /// The table.
    pub name: String,
}

/// A column as `CREATE TABLE` declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDecl {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// `NOT NULL` (implied by PRIMARY KEY).
    pub not_null: bool,
    /// `AUTO_INCREMENT`.
    pub auto_increment: bool,
    /// Part of the primary key.
    pub primary: bool,
    /// `DEFAULT v`: what an INSERT that leaves the column out stores
    /// (`None`: no DEFAULT clause, NULL for a nullable column).
    pub default: Option<Value>,
}

/// An expression in WHERE, SET, VALUES or a select list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A column.
    Col(String),
    /// A binary operation: `=`, `<>`, `<`, `<=`, `>`, `>=`, `AND`, `OR`, `+`, `-`, `*`.
    Bin(&'static str, Box<Expr>, Box<Expr>),
    /// `NOT e`.
    Not(Box<Expr>),
    /// `e IS [NOT] NULL`: the bool is "IS NULL".
    IsNull(Box<Expr>, bool),
    /// `@@name`, `@@global.name`, `@@session.name`: a system variable (the
    /// name lower-cased; the server puts its value in before executing).
    Var(String),
    /// `DATABASE()` / `SCHEMA()`: the session's database (the server puts it in).
    Database,
    /// A function of the session the server answers: `version`, `user`
    /// (also SESSION_USER, SYSTEM_USER), `current_user`, `connection_id`,
    /// `now` (also CURRENT_TIMESTAMP, LOCALTIMESTAMP, SYSDATE).
    Session(&'static str),
    /// `COUNT(*)` (`None`) or `COUNT(e)`: an aggregate over the rows picked.
    Count(Option<Box<Expr>>),
    /// `VALUES(c)` in ON DUPLICATE KEY UPDATE: the value the row to insert has.
    Values(String),
}

/// One item of a select list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectItem {
    /// `*`.
    Star,
    /// An expression and the heading the client shows for it.
    Expr(Expr, String),
}

/// What an INSERT does with a row whose primary key is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnDup {
    /// Error 1062 (a plain INSERT).
    Fail,
    /// `INSERT IGNORE`: skip it, with warning 1062.
    Ignore,
    /// `REPLACE`: the new row takes the old one's place.
    Replace,
    /// `ON DUPLICATE KEY UPDATE c = e, ...`: the old row is updated; `e`
    /// may read the old row's columns and `VALUES(c)`, the new row's.
    Update(Vec<(String, Expr)>),
}

/// Which replication threads `START SLAVE` / `STOP SLAVE` name (both when
/// the statement names none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads {
    /// The IO thread.
    pub io: bool,
    /// The SQL thread.
    pub sql: bool,
}

/// A typed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are named as the protocol and the statements name them
pub enum Stmt {
    /// `CREATE DATABASE [IF NOT EXISTS] name`.
    CreateDatabase { name: String, if_not_exists: bool },
    /// `DROP DATABASE [IF EXISTS] name`.
    DropDatabase { name: String, if_exists: bool },
    /// `USE name`.
    Use(String),
    /// `CREATE TABLE`.
    CreateTable { table: TableRef, columns: Vec<ColumnDecl>, if_not_exists: bool },
    /// `DROP TABLE`.
    DropTable { tables: Vec<TableRef>, if_exists: bool },
    /// `INSERT [IGNORE] INTO t [(cols)] VALUES (...), ... [ON DUPLICATE KEY
    /// UPDATE ...]`, `REPLACE INTO ...`: what a row whose key is taken does.
    Insert { table: TableRef, columns: Vec<String>, rows: Vec<Vec<Expr>>, on_dup: OnDup },
    /// `TRUNCATE [TABLE] t`.
    Truncate { table: TableRef },
    /// `UPDATE t SET c = e, ... [WHERE]`.
    Update { table: TableRef, sets: Vec<(String, Expr)>, filter: Option<Expr> },
    /// `DELETE FROM t [WHERE]`.
    Delete { table: TableRef, filter: Option<Expr> },
    /// `SELECT`.
    Select {
        table: Option<TableRef>,
        items: Vec<SelectItem>,
        filter: Option<Expr>,
        order: Vec<(String, bool)>,
        limit: Option<u64>,
    },
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `SHOW DATABASES [LIKE 'p']`.
    ShowDatabases { like: Option<String> },
    /// `SHOW TABLES [FROM db] [LIKE 'p']`.
    ShowTables { db: Option<String>, like: Option<String> },
    /// `DESCRIBE t` / `SHOW COLUMNS FROM t [FROM db]`.
    ShowColumns { table: TableRef },
    /// `SHOW CREATE TABLE t`.
    ShowCreateTable { table: TableRef },
    /// `SHOW [GLOBAL | SESSION] VARIABLES [LIKE 'p']`.
    ShowVariables { like: Option<String> },
    /// `SHOW MASTER STATUS`.
    ShowMasterStatus,
    /// `SHOW SLAVE STATUS`.
    ShowSlaveStatus,
    /// `SHOW WARNINGS`.
    ShowWarnings,
    /// `SHOW [FULL] PROCESSLIST`.
    ShowProcesslist { full: bool },
    /// `SHOW BINARY LOGS` / `SHOW MASTER LOGS`.
    ShowBinaryLogs,
    /// `SHOW BINLOG EVENTS [IN 'file'] [FROM pos]`.
    ShowBinlogEvents { file: Option<String>, from: u64 },
    /// `RESET MASTER`.
    ResetMaster,
    /// `CHANGE MASTER TO k=v, ...` (keys lower-cased).
    ChangeMaster(Vec<(String, String)>),
    /// `START SLAVE [IO_THREAD | SQL_THREAD]`.
    StartSlave(Threads),
    /// `STOP SLAVE [IO_THREAD | SQL_THREAD]`.
    StopSlave(Threads),
    /// `RESET SLAVE [ALL]`.
    ResetSlave { all: bool },
    /// `FLUSH [BINARY] LOGS`.
    FlushLogs,
    /// `SET GLOBAL name = value` (name lower-cased).
    SetGlobal(String, String),
    /// `CREATE USER 'u'@'h' [IDENTIFIED BY 'p']`; `hashed` when the text
    /// gave the password's hash instead (`IDENTIFIED BY PASSWORD '*...'`,
    /// or MySQL 5.7's binlogged `IDENTIFIED WITH 'mysql_native_password' AS '*...'`).
    CreateUser { user: String, host: String, password: String, hashed: bool },
    /// `GRANT privs ON *.* TO 'u'@'h'` (privileges upper-cased).
    Grant { privileges: Vec<String>, user: String, host: String },
    /// `DROP USER [IF EXISTS] 'u'@'h', ...`.
    DropUser { accounts: Vec<(String, String)>, if_exists: bool },
    /// `FLUSH PRIVILEGES` (the grant tables are the accounts themselves: nothing to reload).
    FlushPrivileges,
    /// `SHOW SLAVE HOSTS` / `SHOW REPLICA HOSTS`.
    ShowSlaveHosts,
    /// `SHOW GRANTS [FOR 'u'@'h']` (`None`: the session's account).
    ShowGrants(Option<(String, String)>),
}

impl Stmt {
    /// Whether the statement opens tables (it then clears the connection's
    /// SHOW WARNINGS list even when it raises nothing).
    pub fn uses_tables(&self) -> bool {
        matches!(
            self,
            Stmt::Select { table: Some(_), .. }
                | Stmt::ShowColumns { .. }
                | Stmt::ShowCreateTable { .. }
                | Stmt::CreateTable { .. }
                | Stmt::DropTable { .. }
                | Stmt::Insert { .. }
                | Stmt::Update { .. }
                | Stmt::Delete { .. }
                | Stmt::Truncate { .. }
        )
    }

    /// Whether executing it changes data or schema (what `read_only` refuses).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Stmt::CreateDatabase { .. }
                | Stmt::DropDatabase { .. }
                | Stmt::CreateTable { .. }
                | Stmt::DropTable { .. }
                | Stmt::Insert { .. }
                | Stmt::Update { .. }
                | Stmt::Delete { .. }
                | Stmt::Truncate { .. }
                | Stmt::CreateUser { .. }
                | Stmt::Grant { .. }
                | Stmt::DropUser { .. }
                | Stmt::FlushPrivileges
        )
    }
}

/// Parses one statement (no trailing `;`).
pub fn parse(text: &str) -> Result<Stmt, SqlError> {
    let trimmed = text.trim().trim_end_matches(';').trim();
    if trimmed.is_empty() {
        return Err(SqlError::new(1065, "42000", "Query was empty"));
    }
    if let Some(stmt) = admin::parse(trimmed)? {
        return Ok(stmt);
    }
    let parsed = Parser::parse_sql(&MySqlDialect {}, trimmed).map_err(|e| syntax_error(trimmed, &e.to_string()))?;
    match parsed.as_slice() {
        [one] => convert(one, trimmed),
        _ => Err(SqlError::syntax(trimmed)),
    }
}

/// The 1064 for a parser error: `near` starts at the column sqlparser names.
fn syntax_error(text: &str, message: &str) -> SqlError {
    let column = message
        .rsplit("Column: ")
        .next()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|_| message.contains("Column: "));
    let near = match column {
        Some(c) => text.chars().skip(c.saturating_sub(1)).collect::<String>(),
        None => text.to_owned(),
    };
    SqlError::syntax(&near)
}

fn convert(stmt: &ast::Statement, text: &str) -> Result<Stmt, SqlError> {
    use ast::Statement as S;
    Ok(match stmt {
        S::CreateDatabase { db_name, if_not_exists, .. } => {
            Stmt::CreateDatabase { name: last(db_name), if_not_exists: *if_not_exists }
        }
        S::Drop { object_type, if_exists, names, .. } => match object_type {
            ast::ObjectType::Table => {
                Stmt::DropTable { tables: names.iter().map(table_ref).collect(), if_exists: *if_exists }
            }
            ast::ObjectType::Database | ast::ObjectType::Schema => {
                Stmt::DropDatabase { name: names.first().map(last).unwrap_or_default(), if_exists: *if_exists }
            }
            _ => return Err(SqlError::unsupported(text)),
        },
        S::Use(ast::Use::Object(name) | ast::Use::Database(name) | ast::Use::Schema(name)) => Stmt::Use(last(name)),
        S::CreateTable(ct) => create_table(ct, text)?,
        S::Insert(ins) => insert(ins, text)?,
        S::Update(up) => update(up, text)?,
        S::Delete(del) => delete(del, text)?,
        S::Query(q) => select(q, text)?,
        S::StartTransaction { .. } => Stmt::Begin,
        S::Commit { .. } => Stmt::Commit,
        S::Rollback { .. } => Stmt::Rollback,
        _ => return Err(SqlError::unsupported(text)),
    })
}

fn ident(i: &ast::Ident) -> String {
    i.value.clone()
}

fn last(name: &ast::ObjectName) -> String {
    name.0.last().and_then(|p| p.as_ident()).map(ident).unwrap_or_default()
}

fn table_ref(name: &ast::ObjectName) -> TableRef {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(ident).collect();
    match parts.as_slice() {
        [db, t] => TableRef { db: Some(db.clone()), name: t.clone() },
        _ => TableRef { db: None, name: parts.last().cloned().unwrap_or_default() },
    }
}

fn column_type(dt: &ast::DataType, text: &str) -> Result<ColumnType, SqlError> {
    use ast::DataType as D;
    Ok(match dt {
        D::Int(_) | D::Integer(_) => ColumnType::Int,
        D::BigInt(_) => ColumnType::BigInt,
        D::Varchar(Some(ast::CharacterLength::IntegerLength { length, .. })) => ColumnType::Varchar(*length as u32),
        D::Varchar(None) => return Err(SqlError::syntax(text)),
        _ => return Err(SqlError::unsupported(&format!("column type {dt}"))),
    })
}

fn create_table(ct: &ast::CreateTable, text: &str) -> Result<Stmt, SqlError> {
    let mut columns = Vec::new();
    for c in &ct.columns {
        let mut decl = ColumnDecl {
            name: ident(&c.name),
            ty: column_type(&c.data_type, text)?,
            not_null: false,
            auto_increment: false,
            primary: false,
            default: None,
        };
        for o in &c.options {
            match &o.option {
                ast::ColumnOption::NotNull => decl.not_null = true,
                ast::ColumnOption::Default(e) => match expr(e)? {
                    Expr::Lit(v) => decl.default = Some(v),
                    _ => return Err(SqlError::unsupported(&format!("column option DEFAULT {e}"))),
                },
                ast::ColumnOption::Null => {}
                ast::ColumnOption::PrimaryKey(_) => decl.primary = true,
                ast::ColumnOption::DialectSpecific(tokens)
                    if tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
                {
                    decl.auto_increment = true
                }
                other => return Err(SqlError::unsupported(&format!("column option {other}"))),
            }
        }
        columns.push(decl);
    }
    for constraint in &ct.constraints {
        let ast::TableConstraint::PrimaryKey(pk) = constraint else {
            return Err(SqlError::unsupported(&format!("{constraint}")));
        };
        for ic in &pk.columns {
            let name = match &ic.column.expr {
                ast::Expr::Identifier(i) => ident(i),
                other => return Err(SqlError::unsupported(&format!("key part {other}"))),
            };
            let Some(c) = columns.iter_mut().find(|c| c.name.eq_ignore_ascii_case(&name)) else {
                return Err(SqlError::new(1072, "42000", format!("Key column '{name}' doesn't exist in table")));
            };
            c.primary = true;
        }
    }
    for c in columns.iter_mut().filter(|c| c.primary) {
        c.not_null = true;
    }
    Ok(Stmt::CreateTable { table: table_ref(&ct.name), columns, if_not_exists: ct.if_not_exists })
}

fn insert(ins: &ast::Insert, text: &str) -> Result<Stmt, SqlError> {
    let ast::TableObject::TableName(name) = &ins.table else { return Err(SqlError::unsupported(text)) };
    // INSERT ... SET and other dialects' forms are not modelled: refused,
    // not run as a plain INSERT
    if !ins.assignments.is_empty() || ins.or.is_some() {
        return Err(SqlError::unsupported(text));
    }
    let on_dup = match &ins.on {
        _ if ins.replace_into => OnDup::Replace,
        Some(ast::OnInsert::DuplicateKeyUpdate(sets)) => {
            let mut list = Vec::new();
            for a in sets {
                let ast::AssignmentTarget::ColumnName(c) = &a.target else { return Err(SqlError::unsupported(text)) };
                list.push((last(c), expr(&a.value)?));
            }
            OnDup::Update(list)
        }
        Some(_) => return Err(SqlError::unsupported(text)),
        None if ins.ignore => OnDup::Ignore,
        None => OnDup::Fail,
    };
    let columns = ins.columns.iter().map(last).collect();
    let Some(source) = &ins.source else { return Err(SqlError::unsupported(text)) };
    let ast::SetExpr::Values(values) = source.body.as_ref() else { return Err(SqlError::unsupported(text)) };
    let rows =
        values.rows.iter().map(|r| r.iter().map(expr).collect::<Result<Vec<_>, _>>()).collect::<Result<Vec<_>, _>>()?;
    Ok(Stmt::Insert { table: table_ref(name), columns, rows, on_dup })
}

fn single_table(t: &ast::TableWithJoins, text: &str) -> Result<TableRef, SqlError> {
    match &t.relation {
        ast::TableFactor::Table { name, .. } if t.joins.is_empty() => Ok(table_ref(name)),
        _ => Err(SqlError::unsupported(text)),
    }
}

fn update(up: &ast::Update, text: &str) -> Result<Stmt, SqlError> {
    let table = single_table(&up.table, text)?;
    let mut sets = Vec::new();
    for a in &up.assignments {
        let ast::AssignmentTarget::ColumnName(c) = &a.target else { return Err(SqlError::unsupported(text)) };
        sets.push((last(c), expr(&a.value)?));
    }
    let filter = up.selection.as_ref().map(expr).transpose()?;
    Ok(Stmt::Update { table, sets, filter })
}

fn delete(del: &ast::Delete, text: &str) -> Result<Stmt, SqlError> {
    let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &del.from;
    let [t] = from.as_slice() else { return Err(SqlError::unsupported(text)) };
    let filter = del.selection.as_ref().map(expr).transpose()?;
    Ok(Stmt::Delete { table: single_table(t, text)?, filter })
}

fn select(q: &ast::Query, text: &str) -> Result<Stmt, SqlError> {
    let ast::SetExpr::Select(s) = q.body.as_ref() else { return Err(SqlError::unsupported(text)) };
    let table = match s.from.as_slice() {
        [] => None,
        [t] => Some(single_table(t, text)?),
        _ => return Err(SqlError::unsupported(text)),
    };
    let mut items = Vec::new();
    for item in &s.projection {
        items.push(match item {
            ast::SelectItem::Wildcard(_) => SelectItem::Star,
            ast::SelectItem::UnnamedExpr(e) => SelectItem::Expr(expr(e)?, heading(e, text)),
            ast::SelectItem::ExprWithAlias { expr: e, alias } => SelectItem::Expr(expr(e)?, ident(alias)),
            _ => return Err(SqlError::unsupported(text)),
        });
    }
    let filter = s.selection.as_ref().map(expr).transpose()?;
    let mut order = Vec::new();
    if let Some(ob) = &q.order_by {
        let ast::OrderByKind::Expressions(list) = &ob.kind else { return Err(SqlError::unsupported(text)) };
        for o in list {
            let ast::Expr::Identifier(i) = &o.expr else { return Err(SqlError::unsupported(text)) };
            order.push((ident(i), !matches!(o.options.sort, Some(ast::OrderBySort::Desc))));
        }
    }
    let limit = match &q.limit_clause {
        None => None,
        Some(ast::LimitClause::LimitOffset { limit: Some(e), offset: None, .. }) => match expr(e)? {
            Expr::Lit(Value::Int(n)) if n >= 0 => Some(n as u64),
            _ => return Err(SqlError::unsupported(text)),
        },
        Some(_) => return Err(SqlError::unsupported(text)),
    };
    Ok(Stmt::Select { table, items, filter, order, limit })
}

/// A select item's heading: its text as written (MariaDB names an unaliased
/// column after the expression's source text, spaces and case kept), or
/// sqlparser's rendering when the span cannot be mapped back.
fn heading(e: &ast::Expr, text: &str) -> String {
    use sqlparser::ast::Spanned;
    let span = e.span();
    let offset = |l: sqlparser::tokenizer::Location| -> Option<usize> {
        let line_start: usize =
            text.split_inclusive('\n').take(usize::try_from(l.line).ok()?.checked_sub(1)?).map(str::len).sum();
        let column = usize::try_from(l.column).ok()?.checked_sub(1)?;
        let rest = text.get(line_start..)?;
        Some(line_start + rest.char_indices().nth(column).map_or(rest.len(), |(i, _)| i))
    };
    match (offset(span.start), offset(span.end)) {
        (Some(a), Some(b)) if a < b => text.get(a..closed(text, a, b)).map_or_else(|| e.to_string(), str::to_owned),
        _ => e.to_string(),
    }
}

/// Where the text from `a` has closed its parentheses, looking from `b` on:
/// a function call's span ends at its last argument (`count(qty` for
/// `count(qty)`), or at its name when the argument has no span (`count`
/// for `count(*)`), so the heading is extended over what is still open.
fn closed(text: &str, a: usize, b: usize) -> usize {
    let depth = |s: &str| s.matches('(').count().saturating_sub(s.matches(')').count());
    let mut open = depth(&text[a..b]);
    let mut end = b;
    let rest = &text[b..];
    let gap = rest.len() - rest.trim_start().len();
    if open == 0
        && text[a..b].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && rest[gap..].starts_with('(')
    {
        end = b + gap + 1;
        open = 1;
    }
    let from = end;
    for (i, c) in text[from..].char_indices() {
        if open == 0 {
            break;
        }
        match c {
            '(' => open += 1,
            ')' => open -= 1,
            _ => {}
        }
        end = from + i + c.len_utf8();
    }
    end
}

fn expr(e: &ast::Expr) -> Result<Expr, SqlError> {
    use ast::Expr as E;
    Ok(match e {
        E::Identifier(i) => match i.value.strip_prefix("@@") {
            Some(name) => Expr::Var(name.to_ascii_lowercase()),
            // CURRENT_USER without parentheses is the function
            None if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("current_user") => {
                Expr::Session("current_user")
            }
            None if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("current_timestamp") => {
                Expr::Session("now")
            }
            None => Expr::Col(ident(i)),
        },
        E::CompoundIdentifier(parts) => match parts.as_slice() {
            [scope, name]
                if ["@@global", "@@session", "@@local"].iter().any(|s| scope.value.eq_ignore_ascii_case(s)) =>
            {
                Expr::Var(name.value.to_ascii_lowercase())
            }
            _ => Expr::Col(parts.last().map(ident).unwrap_or_default()),
        },
        E::Function(f) => function(f)?,
        E::Value(v) => Expr::Lit(literal(&v.value)?),
        E::Nested(inner) => expr(inner)?,
        E::UnaryOp { op: ast::UnaryOperator::Minus, expr: inner } => match expr(inner)? {
            Expr::Lit(Value::Int(n)) => Expr::Lit(Value::Int(-n)),
            other => Expr::Bin("-", Box::new(Expr::Lit(Value::Int(0))), Box::new(other)),
        },
        E::UnaryOp { op: ast::UnaryOperator::Not, expr: inner } => Expr::Not(Box::new(expr(inner)?)),
        E::IsNull(inner) => Expr::IsNull(Box::new(expr(inner)?), true),
        E::IsNotNull(inner) => Expr::IsNull(Box::new(expr(inner)?), false),
        E::BinaryOp { left, op, right } => {
            use ast::BinaryOperator as B;
            let op = match op {
                B::Eq => "=",
                B::NotEq => "<>",
                B::Lt => "<",
                B::LtEq => "<=",
                B::Gt => ">",
                B::GtEq => ">=",
                B::And => "AND",
                B::Or => "OR",
                B::Plus => "+",
                B::Minus => "-",
                B::Multiply => "*",
                other => return Err(SqlError::unsupported(&format!("operator {other}"))),
            };
            Expr::Bin(op, Box::new(expr(left)?), Box::new(expr(right)?))
        }
        other => return Err(SqlError::unsupported(&format!("expression {other}"))),
    })
}

/// The functions the model evaluates: `COUNT(*)`, `COUNT(e)`, `DATABASE()`.
fn function(f: &ast::Function) -> Result<Expr, SqlError> {
    let name = f.name.to_string().to_ascii_lowercase();
    let unsupported = || SqlError::unsupported(&format!("expression {f}"));
    let args: Vec<&ast::FunctionArg> = match &f.args {
        ast::FunctionArguments::List(list) if list.duplicate_treatment.is_none() && list.clauses.is_empty() => {
            list.args.iter().collect()
        }
        ast::FunctionArguments::None => Vec::new(),
        _ => return Err(unsupported()),
    };
    Ok(match (name.as_str(), args.as_slice()) {
        ("database" | "schema", []) => Expr::Database,
        ("version", []) => Expr::Session("version"),
        ("user" | "session_user" | "system_user", []) => Expr::Session("user"),
        ("current_user", []) => Expr::Session("current_user"),
        ("connection_id", []) => Expr::Session("connection_id"),
        ("now" | "current_timestamp" | "localtimestamp" | "sysdate", []) => Expr::Session("now"),
        ("values" | "value", [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(c)))]) => {
            Expr::Values(ident(c))
        }
        ("count", [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]) => Expr::Count(None),
        ("count", [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))]) => Expr::Count(Some(Box::new(expr(e)?))),
        _ => return Err(unsupported()),
    })
}

fn literal(v: &ast::Value) -> Result<Value, SqlError> {
    Ok(match v {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => return Err(SqlError::unsupported(&format!("number {n}"))),
        },
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Value::Str(s.clone()),
        ast::Value::Null => Value::Null,
        ast::Value::Boolean(b) => Value::Int(*b as i64),
        other => return Err(SqlError::unsupported(&format!("value {other}"))),
    })
}

/// The statements `sqlparser` does not read, by keywords.
pub mod admin {
    use super::{SqlError, Stmt, Threads};

    /// A token: a word (upper-cased), a quoted string, or one punctuation character.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Tok {
        Word(String),
        Quoted(String),
        Punct(char),
    }

    fn tokens(text: &str) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                let mut w = String::new();
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '$') {
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            } else if matches!(c, '\'' | '"' | '`') {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\\' => s.push(chars.next()?),
                        q if q == c => break,
                        other => s.push(other),
                    }
                }
                out.push(Tok::Quoted(s));
            } else {
                out.push(Tok::Punct(c));
                chars.next();
            }
        }
        Some(out)
    }

    fn is(t: Option<&Tok>, word: &str) -> bool {
        matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn words(t: &[Tok], expected: &[&str]) -> bool {
        t.len() == expected.len() && t.iter().zip(expected).all(|(t, w)| is(Some(t), w))
    }

    /// `Ok(None)` when the statement is not one of these.
    pub fn parse(text: &str) -> Result<Option<Stmt>, SqlError> {
        let Some(t) = tokens(text) else { return Err(SqlError::syntax(text)) };
        let first = t.first().map(|t| match t {
            Tok::Word(w) => w.to_ascii_uppercase(),
            _ => String::new(),
        });
        let stmt = match first.as_deref() {
            Some("SHOW") if words(&t, &["SHOW", "MASTER", "STATUS"]) => Stmt::ShowMasterStatus,
            Some("SHOW") if words(&t, &["SHOW", "SLAVE", "STATUS"]) || words(&t, &["SHOW", "REPLICA", "STATUS"]) => {
                Stmt::ShowSlaveStatus
            }
            Some("SHOW") if words(&t, &["SHOW", "BINARY", "LOGS"]) || words(&t, &["SHOW", "MASTER", "LOGS"]) => {
                Stmt::ShowBinaryLogs
            }
            Some("SHOW") if words(&t, &["SHOW", "WARNINGS"]) => Stmt::ShowWarnings,
            Some("SHOW") if is(t.get(1), "DATABASES") || is(t.get(1), "SCHEMAS") => {
                Stmt::ShowDatabases { like: like(&t[2..], text)? }
            }
            Some("SHOW") if is(t.get(1), "TABLES") => show_tables(&t[2..], text)?,
            Some("SHOW") if is(t.get(1), "COLUMNS") || is(t.get(1), "FIELDS") => show_columns(&t[2..], text)?,
            Some("DESCRIBE" | "DESC") => {
                Stmt::ShowColumns { table: table_name(&t[1..]).ok_or_else(|| SqlError::syntax(text))? }
            }
            Some("TRUNCATE") => {
                let name = if is(t.get(1), "TABLE") { &t[2..] } else { &t[1..] };
                Stmt::Truncate { table: table_name(name).ok_or_else(|| SqlError::syntax(text))? }
            }
            Some("SHOW") if is(t.get(1), "CREATE") && is(t.get(2), "TABLE") => {
                Stmt::ShowCreateTable { table: table_name(&t[3..]).ok_or_else(|| SqlError::syntax(text))? }
            }
            Some("SHOW") if is(t.get(1), "VARIABLES") => Stmt::ShowVariables { like: like(&t[2..], text)? },
            Some("SHOW") if (is(t.get(1), "GLOBAL") || is(t.get(1), "SESSION")) && is(t.get(2), "VARIABLES") => {
                Stmt::ShowVariables { like: like(&t[3..], text)? }
            }
            Some("SHOW") if words(&t, &["SHOW", "PROCESSLIST"]) => Stmt::ShowProcesslist { full: false },
            Some("SHOW") if words(&t, &["SHOW", "FULL", "PROCESSLIST"]) => Stmt::ShowProcesslist { full: true },
            Some("SHOW") if is(t.get(1), "BINLOG") && is(t.get(2), "EVENTS") => binlog_events(&t[3..], text)?,
            Some("RESET") if words(&t, &["RESET", "MASTER"]) => Stmt::ResetMaster,
            Some("CHANGE") => change_master(&t, text)?,
            Some("START") if is(t.get(1), "SLAVE") || is(t.get(1), "REPLICA") => {
                Stmt::StartSlave(threads(&t[2..]).map_err(|bad| near_token(text, &bad))?)
            }
            Some("STOP") if is(t.get(1), "SLAVE") || is(t.get(1), "REPLICA") => {
                Stmt::StopSlave(threads(&t[2..]).map_err(|bad| near_token(text, &bad))?)
            }
            Some("RESET") if words(&t, &["RESET", "SLAVE"]) || words(&t, &["RESET", "REPLICA"]) => {
                Stmt::ResetSlave { all: false }
            }
            Some("RESET") if words(&t, &["RESET", "SLAVE", "ALL"]) || words(&t, &["RESET", "REPLICA", "ALL"]) => {
                Stmt::ResetSlave { all: true }
            }
            Some("FLUSH") if words(&t, &["FLUSH", "LOGS"]) || words(&t, &["FLUSH", "BINARY", "LOGS"]) => {
                Stmt::FlushLogs
            }
            Some("SET") if is(t.get(1), "GLOBAL") => set_global(&t, text)?,
            Some("CREATE") if is(t.get(1), "USER") => create_user(&t, text)?,
            Some("DROP") if is(t.get(1), "USER") => drop_user(&t[2..], text)?,
            Some("FLUSH") if words(&t, &["FLUSH", "PRIVILEGES"]) => Stmt::FlushPrivileges,
            Some("SHOW") if words(&t, &["SHOW", "GRANTS"]) => Stmt::ShowGrants(None),
            Some("SHOW") if words(&t, &["SHOW", "SLAVE", "HOSTS"]) || words(&t, &["SHOW", "REPLICA", "HOSTS"]) => {
                Stmt::ShowSlaveHosts
            }
            Some("SHOW") if is(t.get(1), "GRANTS") && is(t.get(2), "FOR") => match account(&t[3..]) {
                Some((user, host, [])) => Stmt::ShowGrants(Some((user, host))),
                _ => return Err(SqlError::syntax(text)),
            },
            Some("GRANT") => grant(&t, text)?,
            Some("BEGIN") if t.len() == 1 => Stmt::Begin,
            _ => return Ok(None),
        };
        Ok(Some(stmt))
    }

    /// Nothing, or `LIKE 'pattern'`.
    fn like(t: &[Tok], text: &str) -> Result<Option<String>, SqlError> {
        match t {
            [] => Ok(None),
            [Tok::Word(w), Tok::Quoted(p)] if w.eq_ignore_ascii_case("LIKE") => Ok(Some(p.clone())),
            [Tok::Word(w), ..] if w.eq_ignore_ascii_case("LIKE") || w.eq_ignore_ascii_case("WHERE") => {
                Err(SqlError::unsupported(text))
            }
            [first, ..] => Err(near_token(text, &value(first).unwrap_or_default())),
        }
    }

    /// `db`, `` `db` ``.
    fn name(t: &Tok) -> Option<String> {
        match t {
            Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
            Tok::Punct(_) => None,
        }
    }

    /// `t` or `db.t`, and nothing after.
    fn table_name(t: &[Tok]) -> Option<super::TableRef> {
        match t {
            [n] => Some(super::TableRef { db: None, name: name(n)? }),
            [d, Tok::Punct('.'), n] => Some(super::TableRef { db: Some(name(d)?), name: name(n)? }),
            _ => None,
        }
    }

    fn from_or_in(t: Option<&Tok>) -> bool {
        is(t, "FROM") || is(t, "IN")
    }

    /// After `SHOW TABLES`: `[FROM | IN db] [LIKE 'p']`.
    fn show_tables(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        if from_or_in(t.first()) {
            let db = t.get(1).and_then(name).ok_or_else(|| SqlError::syntax(text))?;
            return Ok(Stmt::ShowTables { db: Some(db), like: like(&t[2..], text)? });
        }
        Ok(Stmt::ShowTables { db: None, like: like(t, text)? })
    }

    /// After `SHOW COLUMNS`: `FROM | IN t [FROM | IN db]` (a db here wins over `db.t`).
    fn show_columns(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        if !from_or_in(t.first()) {
            return Err(SqlError::syntax(text));
        }
        let rest = &t[1..];
        let split = rest.iter().position(|x| is(Some(x), "FROM") || is(Some(x), "IN")).unwrap_or(rest.len());
        let mut table = table_name(&rest[..split]).ok_or_else(|| SqlError::syntax(text))?;
        match &rest[split..] {
            [] => {}
            [_, db] => table.db = Some(name(db).ok_or_else(|| SqlError::syntax(text))?),
            _ => return Err(SqlError::unsupported(text)),
        }
        Ok(Stmt::ShowColumns { table })
    }

    /// The thread list after `START SLAVE` / `STOP SLAVE`: none (both),
    /// `IO_THREAD`, `SQL_THREAD`, or both separated by a comma.
    /// On an error, the text of the token the syntax error is near.
    fn threads(t: &[Tok]) -> Result<Threads, String> {
        let (mut io, mut sql) = (false, false);
        for (i, tok) in t.iter().enumerate() {
            match tok {
                Tok::Punct(',') if i % 2 == 1 && i + 1 < t.len() => {}
                Tok::Word(w) if i % 2 == 0 && w.eq_ignore_ascii_case("IO_THREAD") => io = true,
                Tok::Word(w) if i % 2 == 0 && w.eq_ignore_ascii_case("SQL_THREAD") => sql = true,
                Tok::Word(w) | Tok::Quoted(w) => return Err(w.clone()),
                Tok::Punct(c) => return Err(c.to_string()),
            }
        }
        Ok(Threads { io: io || !sql, sql: sql || !io })
    }

    /// 1064 near the last occurrence of `token` in `text` (the rest of the
    /// statement from there, as MariaDB quotes it).
    fn near_token(text: &str, token: &str) -> SqlError {
        let at = text.to_ascii_lowercase().rfind(&token.to_ascii_lowercase()).unwrap_or(0);
        SqlError::syntax(text.get(at..).unwrap_or(text))
    }

    fn value(t: &Tok) -> Option<String> {
        match t {
            Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
            Tok::Punct(_) => None,
        }
    }

    fn change_master(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        if !is(t.get(1), "MASTER") || !is(t.get(2), "TO") {
            return Err(SqlError::syntax(text));
        }
        let mut pairs = Vec::new();
        let mut rest = &t[3..];
        loop {
            match rest {
                [Tok::Word(k), Tok::Punct('='), v, tail @ ..] => {
                    let v = value(v).ok_or_else(|| SqlError::syntax(text))?;
                    pairs.push((k.to_ascii_lowercase(), v));
                    rest = match tail {
                        [Tok::Punct(','), more @ ..] if !more.is_empty() => more,
                        [] => break,
                        _ => return Err(SqlError::syntax(text)),
                    };
                }
                _ => return Err(SqlError::syntax(text)),
            }
        }
        Ok(Stmt::ChangeMaster(pairs))
    }

    fn binlog_events(mut t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        let mut file = None;
        let mut from = 4;
        if let [Tok::Word(i), Tok::Quoted(f), rest @ ..] = t
            && i.eq_ignore_ascii_case("IN")
        {
            file = Some(f.clone());
            t = rest;
        }
        if let [Tok::Word(w), Tok::Word(n), rest @ ..] = t
            && w.eq_ignore_ascii_case("FROM")
        {
            from = n.parse().map_err(|_| SqlError::syntax(n))?;
            t = rest;
        }
        if !t.is_empty() {
            return Err(SqlError::unsupported(text));
        }
        Ok(Stmt::ShowBinlogEvents { file, from })
    }

    fn set_global(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        match &t[2..] {
            [Tok::Word(k), Tok::Punct('='), v] => {
                Ok(Stmt::SetGlobal(k.to_ascii_lowercase(), value(v).ok_or_else(|| SqlError::syntax(text))?))
            }
            _ => Err(SqlError::syntax(text)),
        }
    }

    /// `'user'@'host'` at the start of `t`, and what follows.
    fn account(t: &[Tok]) -> Option<(String, String, &[Tok])> {
        match t {
            [u, Tok::Punct('@'), h, rest @ ..] => Some((value(u)?, value(h)?, rest)),
            [u, rest @ ..] => Some((value(u)?, "%".into(), rest)),
            [] => None,
        }
    }

    fn create_user(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        let (user, host, rest) = account(&t[2..]).ok_or_else(|| SqlError::syntax(text))?;
        let word = |t: &Tok, w: &str| matches!(t, Tok::Word(x) if x.eq_ignore_ascii_case(w));
        let (password, hashed) = match rest {
            [] => (String::new(), false),
            [i, b, Tok::Quoted(p)] if word(i, "IDENTIFIED") && word(b, "BY") => (p.clone(), false),
            [i, b, pw, Tok::Quoted(p)] if word(i, "IDENTIFIED") && word(b, "BY") && word(pw, "PASSWORD") => {
                (p.clone(), true)
            }
            [i, w, Tok::Quoted(plugin), a, Tok::Quoted(p)]
                if word(i, "IDENTIFIED")
                    && word(w, "WITH")
                    && plugin.eq_ignore_ascii_case("mysql_native_password")
                    && word(a, "AS") =>
            {
                (p.clone(), true)
            }
            _ => return Err(SqlError::syntax(text)),
        };
        if hashed && crate::packet::parse_password_hash(&password).is_none() && !password.is_empty() {
            return Err(SqlError::new(
                1827,
                "HY000",
                "The password hash doesn't have the expected format. Check if the correct password algorithm is being used with the PASSWORD() function.",
            ));
        }
        Ok(Stmt::CreateUser { user, host, password, hashed })
    }

    /// After `DROP USER`: `[IF EXISTS] 'u'@'h' [, ...]`.
    fn drop_user(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        let if_exists = is(t.first(), "IF") && is(t.get(1), "EXISTS");
        let mut rest = if if_exists { &t[2..] } else { t };
        let mut accounts = Vec::new();
        loop {
            let (user, host, after) = account(rest).ok_or_else(|| SqlError::syntax(text))?;
            accounts.push((user, host));
            match after {
                [] => break,
                [Tok::Punct(','), more @ ..] => rest = more,
                _ => return Err(SqlError::syntax(text)),
            }
        }
        Ok(Stmt::DropUser { accounts, if_exists })
    }

    fn grant(t: &[Tok], text: &str) -> Result<Stmt, SqlError> {
        let on = t.iter().position(|w| is(Some(w), "ON")).ok_or_else(|| SqlError::syntax(text))?;
        let mut privileges = Vec::new();
        for part in t[1..on].split(|w| *w == Tok::Punct(',')) {
            let words: Vec<String> = part.iter().filter_map(value).map(|w| w.to_ascii_uppercase()).collect();
            if words.is_empty() {
                return Err(SqlError::syntax(text));
            }
            privileges.push(words.join(" "));
        }
        let to = t.iter().position(|w| is(Some(w), "TO")).ok_or_else(|| SqlError::syntax(text))?;
        if t[on + 1..to] != [Tok::Punct('*'), Tok::Punct('.'), Tok::Punct('*')] {
            return Err(SqlError::unsupported("GRANT on anything but *.*"));
        }
        let (user, host, rest) = account(&t[to + 1..]).ok_or_else(|| SqlError::syntax(text))?;
        if !rest.is_empty() {
            return Err(SqlError::syntax(text));
        }
        Ok(Stmt::Grant { privileges, user, host })
    }
}
