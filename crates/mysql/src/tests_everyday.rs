//! The statements a lab types to look around — SHOW DATABASES, SHOW TABLES,
//! DESCRIBE, SHOW VARIABLES, `@@` variables, COUNT, DATABASE(), a column's
//! DEFAULT and the unknown-column errors — against a transcript of MariaDB
//! 10.11.19 (Debian 12) printing them as the interactive client does
//! (`mariadb -t -vvv`, one statement per call, with the seed's my.cnf
//! lines), then the same looks on a replica after the schema replicated.

use crate::tests::{Lab, MASTER_CNF};
use std::time::Duration;

/// `statement => output`, in order, on one fresh master; `\n` in outputs.
const TRANSCRIPT: &str = include_str!("tests_everyday_transcript.txt");

#[test]
fn everyday_statements_print_as_mariadb_printed_them() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (statement, want) = line.split_once(" => ").expect("statement => output");
        let got = lab.root(3307, statement);
        let got: Vec<&str> = got.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(got.join("\n"), want.replace("\\n", "\n"), "{statement}");
    }
}

/// What a student checks on the replica once the master's schema and rows
/// arrived: the same databases, tables, columns and rows.
#[test]
fn a_replica_shows_the_replicated_schema() {
    let mut lab = crate::tests::replicating();
    lab.root(3307, "create table db1.t2 (id int primary key auto_increment, name varchar(20) not null default 'x', n int default 7)");
    lab.root(3307, "insert into db1.t2 (n) values (1), (2); insert into db1.t2 (name) values ('y')");
    lab.sim.run_for(Duration::from_millis(200));
    for statement in [
        "show databases",
        "show tables from db1",
        "describe db1.t2",
        "select * from db1.t2",
        "select count(*) from db1.t2",
    ] {
        assert_eq!(lab.root(3308, statement), lab.root(3307, statement), "{statement}");
    }
    let rows = lab.root(3308, "select * from db1.t2");
    assert!(rows.contains("|  3 | y    |    7 |"), "defaults filled on the master replicate as values: {rows}");
    assert!(lab.root(3308, "show databases").contains("| db1                |"));
    assert!(lab.root(3308, "select @@read_only, @@server_id").contains("|           1 |         102 |"));
}

/// A row image carries the AUTO_INCREMENT values it generated: with
/// `binlog_format=row` MariaDB 10.11 wrote Gtid, Annotate_rows, Table_map,
/// Write_rows_v1 and Xid for such an insert (the Write_rows ending at 953
/// after the CREATE TABLE above), no INSERT_ID; a statement needs one.
#[test]
fn insert_id_is_logged_only_for_statements() {
    for (format, intvar) in [("row", false), ("statement", true)] {
        let mut lab = Lab::new();
        let cnf = format!("[mysqld]\nserver_id=101\nport=3307\nlog-bin=mall-mysql-bin\nbinlog_format={format}\n");
        lab.server(3307, &cnf);
        lab.sim.run_for(Duration::from_millis(10));
        lab.root(3307, "create database shop");
        lab.root(3307, "create table shop.items (id int primary key auto_increment, name varchar(20) not null, qty int default 0, note varchar(10) null)");
        lab.root(3307, "insert into shop.items (name, qty) values ('apple', 3), ('pear', 5)");
        let events = lab.root(3307, "show binlog events");
        assert_eq!(events.contains("INSERT_ID=1"), intvar, "{format}: {events}");
        if !intvar {
            assert!(events.contains("| 891 | Write_rows_v1     |       101 |         953 |"), "{events}");
        }
    }
}
