//! The system variables the model knows, as `SELECT @@name` and `SHOW
//! VARIABLES` give them: the replication and binlog settings a lab checks
//! after editing my.cnf, read from the node's [`Config`] and its state.
//! Both servers have hundreds more; a name not listed here is not known to
//! the model (1193 for `@@`, no row in `SHOW VARIABLES`).

use crate::config::{BinlogFormat, Config};
use crate::engine::{Value, like_match};
use crate::flavor::Flavor;

/// A variable's value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    /// `ON`/`OFF` in SHOW VARIABLES, `1`/`0` as `@@`.
    Bool(bool),
    Int(u64),
    Text(String),
}

/// The variables, by name (sorted, as SHOW VARIABLES lists them).
fn settings(config: &Config, read_only: bool) -> Vec<(&'static str, Setting)> {
    use Setting::{Bool, Int, Text};
    let format = match config.binlog_format {
        BinlogFormat::Statement => "STATEMENT",
        BinlogFormat::Row => "ROW",
        BinlogFormat::Mixed => "MIXED",
    };
    let mut list = vec![
        ("binlog_cache_size", Int(config.binlog_cache_size)),
        ("binlog_format", Text(format.to_owned())),
        // MariaDB keeps days as a decimal (fractions of a day allowed); 5.7 as an integer
        (
            "expire_logs_days",
            Text(match config.flavor {
                Flavor::Mariadb1011 => format!("{}.000000", config.expire_logs_days),
                Flavor::Mysql57 => config.expire_logs_days.to_string(),
            }),
        ),
        ("innodb_flush_log_at_trx_commit", Int(u64::from(config.innodb_flush_log_at_trx_commit))),
        ("log_bin", Bool(config.log_bin.is_some())),
        ("log_slave_updates", Bool(config.log_slave_updates)),
        ("max_binlog_size", Int(config.max_binlog_size)),
        ("port", Int(u64::from(config.port))),
        ("read_only", Bool(read_only)),
        ("relay_log", Text(config.relay_log.clone().unwrap_or_default())),
        ("relay_log_recovery", Bool(config.relay_log_recovery)),
        ("server_id", Int(u64::from(config.server_id))),
        ("slave_skip_errors", Text(config.slave_skip_errors.text())),
        ("sync_binlog", Int(u64::from(config.sync_binlog))),
        ("sync_master_info", Int(u64::from(config.sync_master_info))),
        ("sync_relay_log", Int(u64::from(config.sync_relay_log))),
        ("sync_relay_log_info", Int(u64::from(config.sync_relay_log_info))),
        ("version", Text(config.flavor.version().to_owned())),
    ];
    if config.flavor == Flavor::Mysql57 {
        list.push(("super_read_only", Bool(config.super_read_only)));
        list.sort_by_key(|(name, _)| *name);
    }
    list
}

/// `@@name`'s value (`name` lower-cased), `None` for a name the model does not know.
pub fn get(config: &Config, read_only: bool, name: &str) -> Option<Value> {
    let (_, setting) = settings(config, read_only).into_iter().find(|(n, _)| *n == name)?;
    Some(match setting {
        Setting::Bool(b) => Value::Int(i64::from(b)),
        Setting::Int(i) => Value::Int(i as i64),
        Setting::Text(t) => Value::Str(t),
    })
}

/// SHOW VARIABLES' rows (name, value), those `like` matches.
pub fn show(config: &Config, read_only: bool, like: Option<&str>) -> Vec<(String, String)> {
    settings(config, read_only)
        .into_iter()
        .filter(|(name, _)| like.is_none_or(|p| like_match(p, name)))
        .map(|(name, setting)| {
            let value = match setting {
                Setting::Bool(b) => (if b { "ON" } else { "OFF" }).to_owned(),
                Setting::Int(i) => i.to_string(),
                Setting::Text(t) => t,
            };
            (name.to_owned(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_and_values_read_as_the_servers_print_them() {
        let cnf =
            "[mysqld]\nserver_id=101\nport=3307\nlog-bin=mall-mysql-bin\nbinlog_format=mixed\nslave_skip_errors=1062\n";
        let config = crate::config::parse_for(cnf, 3307, Flavor::Mariadb1011).expect("valid my.cnf");
        let row = |p: &str| show(&config, false, Some(p));
        assert_eq!(row("server_id"), [("server_id".to_owned(), "101".to_owned())]);
        assert_eq!(row("READ_ONLY"), [("read_only".to_owned(), "OFF".to_owned())]);
        assert_eq!(row("slave_skip_errors")[0].1, "1062");
        assert_eq!(row("expire_logs_days")[0].1, "0.000000");
        let names: Vec<String> = row("sync%").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["sync_binlog", "sync_master_info", "sync_relay_log", "sync_relay_log_info"]);
        assert!(row("nope").is_empty());
        assert_eq!(get(&config, true, "read_only"), Some(Value::Int(1)));
        assert_eq!(get(&config, false, "binlog_format"), Some(Value::Str("MIXED".into())));
        assert_eq!(get(&config, false, "nope"), None);
    }

    #[test]
    fn like_matches_runs_single_characters_and_escapes() {
        assert!(like_match("s%", "shop") && like_match("S%", "sys") && !like_match("s%", "mysql"));
        assert!(like_match("%log_bin%", "log_bin") && like_match("%log_bin%", "sql_log_bin"));
        assert!(like_match("sh_p", "shop") && !like_match("sh_p", "shoop"));
        assert!(like_match("a\\_b", "a_b") && !like_match("a\\_b", "axb"));
        assert!(like_match("%", "") && !like_match("_", ""));
    }
}
