//! `my.cnf`: the `[mysqld]` (and `[server]`, `[mariadb]`) groups of an option
//! file, as mysqld reads them. Other groups (`[client]`, `[mysql]`) belong to
//! other programs and are skipped. Dashes and underscores in names are the
//! same; `loose-` prefixes are not modelled.

/// `binlog_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinlogFormat {
    /// `STATEMENT`.
    Statement,
    /// `ROW`.
    Row,
    /// `MIXED` (MariaDB 10.11's default).
    Mixed,
}

use crate::flavor::Flavor;

/// `slave_skip_errors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SkipErrors {
    /// `OFF` (the default).
    #[default]
    Off,
    /// `ALL`.
    All,
    /// A list of error codes.
    Codes(Vec<u16>),
}

impl SkipErrors {
    /// Whether the SQL thread ignores error `code`.
    pub fn skips(&self, code: u16) -> bool {
        match self {
            SkipErrors::Off => false,
            SkipErrors::All => true,
            SkipErrors::Codes(c) => c.contains(&code),
        }
    }

    /// As `SHOW VARIABLES LIKE 'slave_skip_errors'` prints it.
    pub fn text(&self) -> String {
        match self {
            SkipErrors::Off => "OFF".into(),
            SkipErrors::All => "ALL".into(),
            SkipErrors::Codes(c) => c.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
        }
    }
}

/// A node's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `server_id` (default 1 in MariaDB 10.11).
    pub server_id: u32,
    /// `port`.
    pub port: u16,
    /// `log-bin`: the binlog's base name, or `None` when binary logging is off.
    pub log_bin: Option<String>,
    /// `binlog_format`.
    pub binlog_format: BinlogFormat,
    /// `binlog-do-db`, in order.
    pub binlog_do_db: Vec<String>,
    /// `binlog-ignore-db`, in order.
    pub binlog_ignore_db: Vec<String>,
    /// `binlog_cache_size` in bytes.
    pub binlog_cache_size: u64,
    /// `max_binlog_size` in bytes.
    pub max_binlog_size: u64,
    /// `expire_logs_days`.
    pub expire_logs_days: u32,
    /// `relay_log`: the relay log's base name (default `<host>-relay-bin`).
    pub relay_log: Option<String>,
    /// `log_slave_updates`.
    pub log_slave_updates: bool,
    /// `read_only`.
    pub read_only: bool,
    /// `super_read_only` (MySQL 5.7 only): read-only for SUPER too.
    pub super_read_only: bool,
    /// `slave_skip_errors`.
    pub slave_skip_errors: SkipErrors,
    /// `sync_binlog`.
    pub sync_binlog: u32,
    /// `innodb_flush_log_at_trx_commit`.
    pub innodb_flush_log_at_trx_commit: u8,
    /// `relay_log_recovery`.
    pub relay_log_recovery: bool,
    /// `sync_relay_log`: fsync the relay log after this many events (0: never).
    pub sync_relay_log: u32,
    /// `sync_relay_log_info`: fsync relay-log.info after this many writes (0: never).
    pub sync_relay_log_info: u32,
    /// `sync_master_info`: fsync master.info after this many writes (0: never).
    pub sync_master_info: u32,
    /// `skip-name-resolve`.
    pub skip_name_resolve: bool,
    /// `character_set_server`.
    pub character_set_server: String,
    /// `collation_server`.
    pub collation_server: String,
    /// Which server this is (not a my.cnf directive: the scenario's `flavor:`).
    pub flavor: Flavor,
}

impl Config {
    /// MariaDB 10.11's defaults, serving on `port`.
    pub fn new(port: u16) -> Config {
        Config {
            server_id: 1,
            port,
            log_bin: None,
            binlog_format: BinlogFormat::Mixed,
            binlog_do_db: Vec::new(),
            binlog_ignore_db: Vec::new(),
            binlog_cache_size: 32768,
            max_binlog_size: 1 << 30,
            expire_logs_days: 0,
            relay_log: None,
            log_slave_updates: false,
            read_only: false,
            super_read_only: false,
            slave_skip_errors: SkipErrors::Off,
            sync_binlog: 0,
            innodb_flush_log_at_trx_commit: 1,
            relay_log_recovery: false,
            sync_relay_log: 10_000,
            sync_relay_log_info: 10_000,
            sync_master_info: 10_000,
            skip_name_resolve: false,
            character_set_server: "latin1".into(),
            collation_server: "latin1_swedish_ci".into(),
            flavor: Flavor::default(),
        }
    }
}

/// Errors: (0-based line, message).
pub type ConfigErrors = Vec<(usize, String)>;

/// Parses `text` for a node of the default flavor whose scenario port is `port`.
pub fn parse(text: &str, port: u16) -> Result<Config, ConfigErrors> {
    parse_for(text, port, Flavor::default())
}

/// Parses `text` for a `flavor` node whose scenario port is `port`: the
/// flavors know the same directives except `super_read_only` (MySQL 5.7's).
pub fn parse_for(text: &str, port: u16, flavor: Flavor) -> Result<Config, ConfigErrors> {
    let mut config = Config { flavor, ..Config::new(port) };
    let mut errors = Vec::new();
    let mut in_mysqld = false;
    let mut saw_group = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            let Some(name) = group.strip_suffix(']') else {
                errors.push((i, format!("Found invalid line '{line}': a group name must end with ']'")));
                continue;
            };
            saw_group = true;
            in_mysqld = matches!(name.trim().to_ascii_lowercase().as_str(), "mysqld" | "server" | "mariadb");
            continue;
        }
        if !saw_group {
            errors.push((i, format!("Found option without preceding group in config file: '{line}'")));
            continue;
        }
        if !in_mysqld {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
            None => (line, None),
        };
        if let Err(e) = apply(&mut config, &name.replace('-', "_").to_ascii_lowercase(), value, line) {
            errors.push((i, e));
        }
    }
    if config.port != port {
        errors.push((0, format!("port={} differs from the node's port {port}", config.port)));
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

fn unquote(v: &str) -> &str {
    let v = v.split(" #").next().unwrap_or(v).trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
}

fn apply(c: &mut Config, name: &str, value: Option<&str>, line: &str) -> Result<(), String> {
    let need = || value.ok_or_else(|| format!("option '--{name}' requires an argument"));
    match name {
        "server_id" => c.server_id = number(name, need()?, 0, u32::MAX as u64)? as u32,
        "port" => c.port = number(name, need()?, 1, 65535)? as u16,
        "log_bin" => c.log_bin = Some(value.filter(|v| !v.is_empty()).unwrap_or("mysql-bin").to_owned()),
        "binlog_format" => {
            c.binlog_format = match need()?.to_ascii_uppercase().as_str() {
                "STATEMENT" => BinlogFormat::Statement,
                "ROW" => BinlogFormat::Row,
                "MIXED" => BinlogFormat::Mixed,
                other => return Err(format!("Invalid value '{other}' for binlog_format: use STATEMENT, ROW or MIXED")),
            }
        }
        "binlog_do_db" => c.binlog_do_db.push(need()?.to_owned()),
        "binlog_ignore_db" => c.binlog_ignore_db.push(need()?.to_owned()),
        "binlog_cache_size" => c.binlog_cache_size = size(name, need()?, 4096, u64::MAX)?,
        "max_binlog_size" => c.max_binlog_size = size(name, need()?, 4096, 1 << 30)?,
        "expire_logs_days" => c.expire_logs_days = number(name, need()?, 0, 99)? as u32,
        "relay_log" => c.relay_log = Some(need()?.to_owned()),
        "log_slave_updates" => c.log_slave_updates = boolean(name, value)?,
        "read_only" => c.read_only = boolean(name, value)?,
        "super_read_only" if c.flavor == Flavor::Mariadb1011 => return Err(unknown(line)),
        "super_read_only" => c.super_read_only = boolean(name, value)?,
        "slave_skip_errors" => c.slave_skip_errors = skip_errors(need()?)?,
        "sync_binlog" => c.sync_binlog = number(name, need()?, 0, u32::MAX as u64)? as u32,
        "innodb_flush_log_at_trx_commit" => c.innodb_flush_log_at_trx_commit = number(name, need()?, 0, 3)? as u8,
        "relay_log_recovery" => c.relay_log_recovery = boolean(name, value)?,
        "sync_relay_log" => c.sync_relay_log = number(name, need()?, 0, u32::MAX as u64)? as u32,
        "sync_relay_log_info" => c.sync_relay_log_info = number(name, need()?, 0, u32::MAX as u64)? as u32,
        "sync_master_info" => c.sync_master_info = number(name, need()?, 0, u32::MAX as u64)? as u32,
        "skip_name_resolve" => c.skip_name_resolve = boolean(name, value)?,
        "character_set_server" => c.character_set_server = need()?.to_owned(),
        "collation_server" => c.collation_server = need()?.to_owned(),
        _ => return Err(unknown(line)),
    }
    Ok(())
}

/// mysqld's words for a directive it does not know (MariaDB's `super_read_only`
/// does not exist: it is MySQL's).
fn unknown(line: &str) -> String {
    format!("unknown variable '{line}'")
}

fn number(name: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("option '{name}': value '{v}' is not an integer between {min} and {max}")),
    }
}

/// A size with an optional K/M/G suffix (`1M`).
fn size(name: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    let (digits, mult) = match v.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&v[..v.len() - 1], 1u64 << 10),
        Some('M') => (&v[..v.len() - 1], 1 << 20),
        Some('G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(mult));
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("option '{name}': value '{v}' is not a size between {min} and {max} bytes")),
    }
}

fn boolean(name: &str, v: Option<&str>) -> Result<bool, String> {
    match v.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("1" | "on" | "true") => Ok(true),
        Some("0" | "off" | "false") => Ok(false),
        Some(other) => Err(format!("option '{name}': boolean value '{other}' was not recognized: use 0, 1, ON or OFF")),
    }
}

fn skip_errors(v: &str) -> Result<SkipErrors, String> {
    match v.to_ascii_uppercase().as_str() {
        "OFF" => return Ok(SkipErrors::Off),
        "ALL" => return Ok(SkipErrors::All),
        _ => {}
    }
    let mut codes = Vec::new();
    for part in v.split(',') {
        let code = part.trim().parse::<u16>().map_err(|_| {
            format!("slave_skip_errors: '{part}' is not an error code (a list like 1062,1032, or OFF, or ALL)")
        })?;
        codes.push(code);
    }
    Ok(SkipErrors::Codes(codes))
}
