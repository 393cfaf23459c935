//! `mysql`: sans-IO MySQL binlog replication, modelled on MariaDB 10.11 (the
//! server this crate's texts, event layouts and positions were measured
//! against) and MySQL 5.7 (the seed's server, derived from its documented
//! binlog format): [`flavor`] says which, and what differs between them.
//!
//! [`config`] reads a `my.cnf` `[mysqld]` section; [`packet`] is the wire
//! protocol (packets, handshake v10, `mysql_native_password`, OK/ERR/EOF,
//! text result sets); [`sql`] turns statement text into typed statements
//! (DML and DDL through `sqlparser`'s MySQL dialect, the replication
//! statements it does not know by a small keyword reader; [`shapes`] keeps
//! the parses of repeated statement shapes); [`engine`] holds
//! databases, tables and rows and executes statements; [`variables`] are the
//! system variables `@@name` and SHOW VARIABLES read; [`binlog`] encodes and
//! decodes binlog events and keeps the binlog files and their index on the
//! node's disk; [`server`] is the node, a [`sim::Process`]: clients, the
//! master's binlog dump, the replica's IO and SQL threads, and SHOW
//! PROCESSLIST; [`cli`] is the
//! `mysql` command-line client as a process, and [`output`] renders what it
//! prints.
//!
//! It knows nothing of scenarios, reports or the CLI: lab tooling reads a
//! server through its public accessors (`Server::master_status`,
//! `Server::slave_status`, `Server::engine`), and it must not depend on the
//! Redis crates either.
//!
//! Must not depend on: `scenario`, `report`, `redis`, `redis-lab`, `mysql-lab`, `chaoslab`.

pub mod binlog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod flavor;
pub mod output;
pub mod packet;
pub mod server;
pub mod shapes;
pub mod sql;
pub mod variables;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_everyday;
#[cfg(test)]
mod tests_flavor;
#[cfg(test)]
mod tests_relay;

/// What the server reports as its version (handshake, `SELECT VERSION()`, the
/// binlog's format description event), as Debian's mariadb-server 10.11 does
/// when binary logging is on.
pub const SERVER_VERSION: &str = "10.11.19-MariaDB-0+deb12u1-log";

/// Appends `line` (`[Note] ...`) to the node's error log with MariaDB's
/// prefix: the host's wall-clock date and time (the hour space-padded, as
/// mariadbd prints it) and a thread id (0 here: the model has no threads).
pub fn log(ctx: &mut sim::Ctx<'_>, line: impl AsRef<str>) {
    let ms = ctx.wall_clock_ms().max(0);
    let (secs, days) = (ms / 1000 % 86_400, ms / 86_400_000);
    let (y, m, d) = civil_from_days(days);
    let stamp = format!("{y:04}-{m:02}-{d:02} {:2}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    ctx.log(format!("{stamp} 0 {}", line.as_ref()));
}

/// `YYYY-MM-DD HH:MM:SS` of the wall-clock `ms` (UTC, the server's time
/// zone in the seed's containers): what NOW() gives.
pub fn datetime(ms: i64) -> String {
    let (secs, days) = (ms.max(0) / 1000 % 86_400, ms.max(0) / 86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The proleptic Gregorian date of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
