//! `mysql`: sans-IO MySQL binlog replication, modelled on MariaDB 10.11 (the
//! server this crate's texts, event layouts and positions were measured
//! against; see the README's MySQL section for where MySQL 5.7 differs).
//!
//! [`config`] reads a `my.cnf` `[mysqld]` section; [`packet`] is the wire
//! protocol (packets, handshake v10, `mysql_native_password`, OK/ERR/EOF,
//! text result sets); [`sql`] turns statement text into typed statements
//! (DML and DDL through `sqlparser`'s MySQL dialect, the replication
//! statements it does not know by a small keyword reader); [`engine`] holds
//! databases, tables and rows and executes statements; [`binlog`] encodes and
//! decodes binlog events and keeps the binlog files and their index on the
//! node's disk; [`server`] is the node, a [`sim::Process`]: clients, the
//! master's binlog dump, and the replica's IO and SQL threads; [`cli`] is the
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
pub mod output;
pub mod packet;
pub mod server;
pub mod sql;

#[cfg(test)]
mod tests;

/// What the server reports as its version (handshake, `SELECT VERSION()`, the
/// binlog's format description event), as Debian's mariadb-server 10.11 does
/// when binary logging is on.
pub const SERVER_VERSION: &str = "10.11.19-MariaDB-0+deb12u1-log";
