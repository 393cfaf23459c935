//! The `mysql-5.7` flavor (the default, the seed's server) against what the
//! seed recorded and MySQL 5.7's documented binlog format, and the
//! differences from `mariadb-10.11` a user sees: positions, columns, texts.

use crate::config::{self, ConfigErrors};
use crate::flavor::Flavor;
use crate::tests::{Lab, MASTER_CNF, REPLICA_CNF, field};
use std::time::Duration;

const SEED_USER: &str =
    "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'";

fn lab57() -> Lab {
    let mut lab = Lab::new();
    lab.flavor = Flavor::Mysql57;
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab
}

/// (Event_type, size) of each SHOW BINLOG EVENTS row.
fn event_sizes(events: &str) -> Vec<(String, u64)> {
    events
        .lines()
        .filter(|l| l.starts_with("| mall"))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            (f[3].to_owned(), f[5].parse::<u64>().unwrap() - f[2].parse::<u64>().unwrap())
        })
        .collect()
}

fn named(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}

/// The seed's one data point: after CREATE USER and GRANT on a fresh 5.7
/// master, SHOW MASTER STATUS printed Position 617 (154 when fresh), with
/// 5.7's Executed_Gtid_Set column and its client's two-decimal timing.
#[test]
fn seed_position_617_comes_out_of_the_5_7_layout() {
    let mut lab = lab57();
    let fresh = lab.root(3307, "show master status");
    assert_eq!(
        fresh,
        "+-----------------------+----------+--------------+------------------+-------------------+\n\
         | File                  | Position | Binlog_Do_DB | Binlog_Ignore_DB | Executed_Gtid_Set |\n\
         +-----------------------+----------+--------------+------------------+-------------------+\n\
         | mall-mysql-bin.000001 |      154 |              | mysql            |                   |\n\
         +-----------------------+----------+--------------+------------------+-------------------+\n\
         1 row in set (0.00 sec)"
    );
    let out = lab.root(3307, SEED_USER);
    assert_eq!(out, "Query OK, 0 rows affected (0.00 sec)\n\nQuery OK, 0 rows affected (0.00 sec)");
    assert!(lab.root(3307, "show master status").contains("| mall-mysql-bin.000001 |      617 |"));
    let events = lab.root(3307, "show binlog events");
    let expected = [
        ("Format_desc", 119),
        ("Previous_gtids", 31),
        ("Anonymous_Gtid", 65),
        ("Query", 189),
        ("Anonymous_Gtid", 65),
        ("Query", 144),
    ];
    assert_eq!(event_sizes(&events), named(&expected), "{events}");
    assert!(events.contains("| Server ver: 5.7.38-log, Binlog ver: 4 "), "{events}");
    assert!(events.contains("| SET @@SESSION.GTID_NEXT= 'ANONYMOUS' "), "{events}");
    assert!(events.contains("| CREATE USER 'slave'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9' |"), "{events}");
    assert!(events.contains("| GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'slave'@'%' "), "{events}");
}

/// A transaction on 5.7 is Anonymous_Gtid, Query BEGIN, the statement, Xid;
/// in row format Table_map and a v2 Write_rows instead of the statement.
#[test]
fn transactions_in_statement_and_row_format() {
    let mut lab = lab57();
    lab.root(3307, "create database db1; use db1; create table t1(id int primary key, name varchar(20))");
    // CREATE DATABASE: 19 + 13 + 26 status + Q_UPDATED_DB_NAMES (6) + "db1\0" + 19 + 4 = 91;
    // CREATE TABLE after USE db1: the same with its 53-character text, 125
    let start = 154 + 65 + 91 + 65 + 125;
    assert!(lab.root(3307, "show master status").contains(&format!("|      {start} |")));
    lab.root(3307, "use db1; insert into t1 values(1,'z3')");
    let events = lab.root(3307, &format!("show binlog events from {start}"));
    assert_eq!(event_sizes(&events), named(&[("Anonymous_Gtid", 65), ("Query", 71), ("Query", 101), ("Xid", 31)]));
    assert!(events.contains("| BEGIN "), "{events}");
    assert!(events.contains("| use `db1`; insert into t1 values(1,'z3') "), "{events}");

    let mut lab = Lab::new();
    lab.flavor = Flavor::Mysql57;
    lab.server(3307, &MASTER_CNF.replace("binlog_format=mixed", "binlog_format=row"));
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create database db1; create table db1.t1(id int, name varchar(20))");
    let start = 154 + 65 + 91 + 65 + 108;
    lab.root(3307, "insert into db1.t1 values(20,'row'); update db1.t1 set name='upd' where id=20");
    let events = lab.root(3307, &format!("show binlog events from {start}"));
    let expected = [
        ("Anonymous_Gtid", 65),
        ("Query", 68),
        ("Table_map", 47),
        ("Write_rows", 44),
        ("Xid", 31),
        ("Anonymous_Gtid", 65),
        ("Query", 68),
        ("Table_map", 47),
        ("Update_rows", 54),
        ("Xid", 31),
    ];
    assert_eq!(event_sizes(&events), named(&expected), "{events}");
}

/// A 5.7 replica: SHOW SLAVE STATUS has 5.7's 57 columns (Master_UUID,
/// Auto_Position, Channel_Name; no Using_Gtid), replication works, and a
/// duplicate key on a row-format master stops the SQL thread with 5.7's
/// v2 event name in Last_SQL_Error.
#[test]
fn replica_columns_and_row_errors() {
    let mut lab = Lab::new();
    lab.flavor = Flavor::Mysql57;
    lab.server(3307, &MASTER_CNF.replace("binlog_format=mixed", "binlog_format=row"));
    lab.server(3308, &REPLICA_CNF.replace("read_only=1", "read_only=1\nslave_skip_errors=OFF"));
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, SEED_USER);
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=617, master_connect_retry=30; start slave");
    lab.root(3307, "create database db1; create table db1.t1(id int primary key, name varchar(20)); insert into db1.t1 values(1,'z3')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(status.lines().filter(|l| l.contains(": ") || l.ends_with(':')).count(), 57, "{status}");
    assert!(!status.contains("Using_Gtid"), "{status}");
    assert_eq!(field(&status, "Slave_SQL_Running"), "Yes");
    assert_eq!(field(&status, "Auto_Position"), "0");
    assert_eq!(field(&status, "Master_Info_File"), "/var/lib/mysql/master.info");
    assert!(lab.root(3308, "select * from db1.t1").contains("|  1 | z3   |"));
    lab.root(3308, "insert into db1.t1 values(2,'r')");
    lab.root(3307, "insert into db1.t1 values(2,'m')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    let end = lab
        .root(3307, "show master status")
        .lines()
        .nth(3)
        .unwrap()
        .split('|')
        .nth(2)
        .unwrap()
        .trim()
        .parse::<u64>()
        .unwrap()
        - 31;
    assert_eq!(
        field(&status, "Last_SQL_Error"),
        format!(
            "Could not execute Write_rows event on table db1.t1; Duplicate entry '2' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mall-mysql-bin.000001, end_log_pos {end}"
        )
    );
    let processlist = lab.root(3308, "show processlist");
    assert!(!processlist.contains("Progress") && !processlist.contains("Slave_IO"), "{processlist}");
}

/// Error texts that name the product say MySQL on 5.7, MariaDB on 10.11.
#[test]
fn error_texts_name_the_product() {
    let mut lab = lab57();
    assert_eq!(
        lab.root(3307, "selec 1"),
        "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'selec 1' at line 1"
    );
    assert_eq!(
        lab.root(3307, "flush tables"),
        "ERROR 1235 (42000): This version of MySQL doesn't yet support 'flush tables'"
    );
    let mut maria = Lab::new();
    maria.server(3307, MASTER_CNF);
    maria.sim.run_for(Duration::from_millis(10));
    assert!(maria.root(3307, "selec 1").contains("your MariaDB server version"));
    assert!(maria.root(3307, "show master status").ends_with("1 row in set (0.000 sec)"));
}

/// What MySQL 5.7 words its own way in the everyday statements (from its
/// manual and source, not measured here): the unknown column's clause as
/// `'field list'` / `'where clause'` / `'order clause'`, every default
/// quoted in SHOW CREATE TABLE and no COLLATE for a charset's default one,
/// SHOW GRANTS with `'` quotes, REPLICATION CLIENT by that name and no hash.
#[test]
fn everyday_texts_of_5_7() {
    let mut lab = lab57();
    lab.root(
        3307,
        "create database db1; create table db1.t (id int primary key auto_increment, qty int default 0, v varchar(5))",
    );
    let err = |lab: &mut Lab, q: &str| lab.root(3307, q);
    assert_eq!(err(&mut lab, "select nope from db1.t"), "ERROR 1054 (42S22): Unknown column 'nope' in 'field list'");
    assert_eq!(
        err(&mut lab, "select id from db1.t where nope = 1"),
        "ERROR 1054 (42S22): Unknown column 'nope' in 'where clause'"
    );
    assert_eq!(
        err(&mut lab, "select id from db1.t order by nope"),
        "ERROR 1054 (42S22): Unknown column 'nope' in 'order clause'"
    );
    assert_eq!(
        err(&mut lab, "insert into db1.t (nope) values (1)"),
        "ERROR 1054 (42S22): Unknown column 'nope' in 'field list'"
    );
    let create = lab.root(3307, "show create table db1.t\\G");
    assert!(create.contains("  `qty` int(11) DEFAULT '0',\n  `v` varchar(5) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=latin1\n"), "{create}");
    assert!(lab.root(3307, "show databases").contains("| information_schema |\n| db1                |"));
    lab.root(3307, SEED_USER);
    let grants = lab.root(3307, "show grants for 'slave'@'%'");
    assert!(grants.contains("| GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'slave'@'%' |"), "{grants}");
}

/// super_read_only is MySQL's: 5.7 honours it (even root is refused), MariaDB rejects the line.
#[test]
fn super_read_only_is_mysql_only() {
    let cnf = "[mysqld]\nport=3307\nsuper_read_only=1\n";
    let errors: ConfigErrors = config::parse_for(cnf, 3307, Flavor::Mariadb1011).unwrap_err();
    assert_eq!(errors, vec![(2, "unknown variable 'super_read_only=1'".to_owned())]);
    assert!(config::parse(cnf, 3307).is_ok_and(|c| c.super_read_only));
    let mut lab = Lab::new();
    lab.flavor = Flavor::Mysql57;
    lab.server(3307, cnf);
    lab.sim.run_for(Duration::from_millis(10));
    assert_eq!(
        lab.root(3307, "create database x"),
        "ERROR 1290 (HY000): The MySQL server is running with the --super-read-only option so it cannot execute this statement"
    );
}

#[test]
fn flavor_names_round_trip() {
    for f in Flavor::ALL {
        assert_eq!(Flavor::parse(f.name()), Some(f));
        assert_eq!(Flavor::from_greeting(&f.greeting_version()), f);
    }
    assert_eq!(Flavor::default().name(), "mysql-5.7");
    assert_eq!(Flavor::parse("mysql-8.0"), None);
}
