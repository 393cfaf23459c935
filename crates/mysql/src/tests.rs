//! The node driven in a simulator: a master on 3307 and a replica on 3308 on
//! one host, one `mysql` client process per input, as a shell would run them.
//! Expected texts were measured on MariaDB 10.11.19 (Debian 12) with the
//! same my.cnf lines and statements.

use crate::cli::MysqlCli;
use crate::server::Server;
use sim::{Fault, HostId, ProcId, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

pub(crate) const MASTER_CNF: &str = "[mysqld]\nserver_id=101\nport=3307\nbinlog-ignore-db=mysql\nlog-bin=mall-mysql-bin\nbinlog_cache_size=1M\nbinlog_format=mixed\nexpire_logs_days=7\nslave_skip_errors=1062\n";
pub(crate) const REPLICA_CNF: &str = "[mysqld]\nserver_id=102\nport=3308\nbinlog-ignore-db=mysql\nlog-bin=mall-mysql-slave1-bin\nbinlog_cache_size=1M\nbinlog_format=mixed\nexpire_logs_days=7\nrelay_log=mall-mysql-relay-bin\nlog_slave_updates=1\nread_only=1\n";

pub(crate) struct Lab {
    pub(crate) sim: Sim,
    host: HostId,
    clients: u32,
    pub(crate) flavor: crate::flavor::Flavor,
}

impl Lab {
    pub(crate) fn new() -> Lab {
        let mut sim = Sim::new(SimConfig { seed: 1, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        Lab { sim, host, clients: 0, flavor: crate::flavor::Flavor::Mariadb1011 }
    }

    pub(crate) fn server(&mut self, port: u16, cnf: &str) -> ProcId {
        let config = crate::config::parse_for(cnf, port, self.flavor).expect("valid my.cnf");
        let factory: sim::Factory = Box::new(move || Box::new(Server::new(config.clone())));
        let p = self.sim.add_process(self.host, &port.to_string(), factory);
        self.sim.apply(Fault::Start(p)).unwrap();
        p
    }

    pub(crate) fn mysql(&mut self, port: u16, user: &str, password: &str, input: &str) -> String {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        self.clients += 1;
        let (user, password, text) = (user.to_owned(), password.to_owned(), input.to_owned());
        let factory: sim::Factory = Box::new(move || Box::new(MysqlCli::new(addr, &user, &password, None, &text)));
        let p = self.sim.add_process(self.host, &format!("mysql{}", self.clients), factory);
        self.sim.apply(Fault::Start(p)).unwrap();
        for _ in 0..2000 {
            self.sim.run_for(Duration::from_millis(1));
            if let Some(out) = self.sim.process::<MysqlCli>(p).and_then(|c| c.output.clone()) {
                return out;
            }
        }
        panic!("no output for {input}")
    }

    pub(crate) fn root(&mut self, port: u16, input: &str) -> String {
        self.mysql(port, "root", "root", input)
    }
}

pub(crate) fn field<'a>(status: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    status
        .lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

/// M1: positions as MariaDB 10.11 measured them (333 fresh, 667 after the
/// seed's CREATE USER and GRANT), the replica's threads up, data replicated.
#[test]
fn m1_master_and_replica() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    let fresh = lab.root(3307, "show master status");
    assert!(fresh.contains("| mall-mysql-bin.000001 |      333 |              | mysql            |"), "{fresh}");
    let out = lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'; show master status");
    assert!(out.starts_with("Query OK, 0 rows affected (0.0"), "{out}");
    assert!(out.contains("| mall-mysql-bin.000001 |      667 |"), "{out}");
    let out = lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=667, master_connect_retry=30; start slave");
    assert!(!out.contains("ERROR"), "{out}");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Yes", "{status}");
    assert_eq!(field(&status, "Slave_SQL_Running"), "Yes");
    assert_eq!(field(&status, "Slave_IO_State"), "Waiting for master to send event");
    assert_eq!(field(&status, "Master_Server_Id"), "101");
    assert_eq!(field(&status, "Seconds_Behind_Master"), "0");
    let out = lab.root(3307, "create database db1; use db1; create table t1(id int primary key, name varchar(20)); insert into t1 values(1,'a'); show master status");
    assert!(out.contains("| mall-mysql-bin.000001 |     1131 |"), "positions as MariaDB measured: {out}");
    lab.sim.run_for(Duration::from_millis(100));
    let rows = lab.root(3308, "select * from db1.t1");
    assert!(
        rows.starts_with(
            "+----+------+\n| id | name |\n+----+------+\n|  1 | a    |\n+----+------+\n1 row in set (0.0"
        ),
        "{rows}"
    );
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Exec_Master_Log_Pos"), "1131");
    assert_eq!(field(&status, "Read_Master_Log_Pos"), "1131");
}

/// M2: a row written on the replica by root (read_only exempts it), the same
/// key on the master: the SQL thread stops with MariaDB's Last_SQL_Error.
#[test]
fn m2_duplicate_key_stops_the_sql_thread() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=667, master_connect_retry=30; start slave");
    lab.root(3307, "create database db1; create table db1.t1(id int primary key, name varchar(20))");
    lab.sim.run_for(Duration::from_millis(100));
    let out = lab.root(3308, "insert into db1.t1 values(7,'r')");
    assert!(out.starts_with("Query OK, 1 row affected"), "{out}");
    let out = lab.mysql(3308, "slave", "123456", "insert into db1.t1 values(8,'r')");
    // the replica never saw CREATE USER (it started after it), as on MariaDB
    assert_eq!(out, "ERROR 1045 (28000): Access denied for user 'slave'@'localhost' (using password: YES)");
    let out = lab.mysql(3307, "slave", "123456", "insert into db1.t1 values(8,'r')");
    assert_eq!(out, "ERROR 1142 (42000): INSERT command denied to user 'slave'@'localhost' for table `db1`.`t1`");
    lab.root(3307, "insert into db1.t1 values(7,'m')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Yes");
    assert_eq!(field(&status, "Slave_SQL_Running"), "No");
    assert_eq!(field(&status, "Last_SQL_Errno"), "1062");
    assert_eq!(
        field(&status, "Last_SQL_Error"),
        "Error 'Duplicate entry '7' for key 'PRIMARY'' on query. Default database: ''. Query: 'insert into db1.t1 values(7,'m')'"
    );
    assert_eq!(field(&status, "Seconds_Behind_Master"), "NULL");
    let dup = lab.root(3307, "insert into db1.t1 values(7,'x')");
    assert_eq!(dup, "ERROR 1062 (23000): Duplicate entry '7' for key 'PRIMARY'");
    // skip the group and go on
    let out = lab.root(3308, "set global sql_slave_skip_counter=1; start slave");
    assert!(!out.contains("ERROR"), "{out}");
    lab.root(3307, "insert into db1.t1 values(9,'m')");
    lab.sim.run_for(Duration::from_millis(100));
    let rows = lab.root(3308, "select id, name from db1.t1 order by id desc");
    assert!(rows.contains("|  9 | m    |\n|  7 | r    |"), "{rows}");
}

/// With slave_skip_errors=1062 on the replica, the duplicate is skipped.
#[test]
fn slave_skip_errors_skips_1062() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, &format!("{REPLICA_CNF}slave_skip_errors=1062\n"));
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%'");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4; start slave");
    lab.root(3307, "create database db1; create table db1.t1(id int primary key, name varchar(20))");
    lab.sim.run_for(Duration::from_millis(100));
    lab.root(3308, "insert into db1.t1 values(7,'r')");
    lab.root(3307, "insert into db1.t1 values(7,'m'); insert into db1.t1 values(8,'m')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_SQL_Running"), "Yes", "{status}");
    let rows = lab.root(3308, "select * from db1.t1");
    assert!(rows.contains("|  7 | r    |\n|  8 | m    |"), "{rows}");
}

/// M3: the master restarts; the replica retries every master_connect_retry
/// seconds and resumes where it was (the master is now on its .000002).
#[test]
fn m3_master_restart_replica_reconnects() {
    let mut lab = Lab::new();
    let master = lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%'; create database db1; create table db1.t1(id int, name varchar(20))");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4, master_connect_retry=30; start slave");
    lab.sim.run_for(Duration::from_millis(100));
    lab.sim.apply(Fault::Kill(master)).unwrap();
    lab.sim.run_for(Duration::from_secs(1));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Connecting", "{status}");
    assert_eq!(field(&status, "Last_IO_Errno"), "2003");
    // as MariaDB 10.11 reports a master that went away (measured)
    assert_eq!(field(&status, "Slave_IO_State"), "Reconnecting after a failed master event read");
    assert_eq!(
        field(&status, "Last_IO_Error"),
        "error reconnecting to master 'slave@127.0.0.1:3307' - retry-time: 30  maximum-retries: 100000  message: Can't connect to server on '127.0.0.1' (111 \"Connection refused\")"
    );
    lab.sim.apply(Fault::Start(master)).unwrap();
    lab.sim.run_for(Duration::from_secs(10));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Connecting", "still waiting for the 30 s retry: {status}");
    lab.sim.run_for(Duration::from_secs(25));
    lab.root(3307, "insert into db1.t1 values(2,'after')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Yes", "{status}");
    assert_eq!(field(&status, "Master_Log_File"), "mall-mysql-bin.000002");
    // measured on MariaDB 10.11: after a restart the new file starts with a
    // Gtid_list naming the last GTID (43 bytes): 347 before any statement
    let out = lab.root(3307, "show binary logs");
    assert!(out.contains("| mall-mysql-bin.000002 |"), "{out}");
    let rows = lab.root(3308, "select * from db1.t1");
    assert!(rows.contains("|    2 | after |") || rows.contains("|  2 | after |"), "{rows}");
}

#[test]
fn client_errors_as_mariadb_prints_them() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    assert_eq!(
        lab.mysql(3307, "slave2", "", "select 1"),
        "ERROR 1045 (28000): Access denied for user 'slave2'@'localhost' (using password: NO)"
    );
    let out = lab.root(3307, "selec 1; insert into t1 values(1); create database db1; create database db1; insert into db1.t9 values(1); use nodb; drop database db9");
    let expected = [
        "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'selec 1' at line 1",
        "ERROR 1046 (3D000): No database selected",
        "ERROR 1007 (HY000): Can't create database 'db1'; database exists",
        "ERROR 1146 (42S02): Table 'db1.t9' doesn't exist",
        "ERROR 1049 (42000): Unknown database 'nodb'",
        "ERROR 1008 (HY000): Can't drop database 'db9'; database doesn't exist",
    ];
    for e in expected {
        assert!(out.contains(e), "missing {e} in {out}");
    }
    let out = lab.root(3307, "create table db1.t1(id int primary key, name varchar(20)); insert into db1.t1 values(1); insert into db1.t1 values(10, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'); insert into db1.t1(nope) values(10); insert into db1.t1 values (2,'b'),(3,'c'); update db1.t1 set name='z' where id>5");
    for e in [
        "ERROR 1136 (21S01): Column count doesn't match value count at row 1",
        "ERROR 1406 (22001): Data too long for column 'name' at row 1",
        "ERROR 1054 (42S22): Unknown column 'nope' in 'INSERT INTO'",
        "Query OK, 2 rows affected (0.000 sec)\nRecords: 2  Duplicates: 0  Warnings: 0",
        "Query OK, 0 rows affected (0.000 sec)\nRows matched: 0  Changed: 0  Warnings: 0",
    ] {
        assert!(out.contains(e), "missing {e} in {out}");
    }
    let out = lab.root(3307, "select * from db1.t1\\G;");
    assert_eq!(
        out,
        "*************************** 1. row ***************************\n  id: 2\nname: b\n*************************** 2. row ***************************\n  id: 3\nname: c\n2 rows in set (0.000 sec)\n\nERROR: No query specified"
    );
}

#[test]
fn config_errors_name_their_line() {
    let errors =
        crate::config::parse("[mysqld]\nserver_id=101\nport=3307\nbogus=1\nbinlog_format=rows\n", 3307).unwrap_err();
    assert_eq!(errors[0], (3, "unknown variable 'bogus=1'".to_owned()));
    assert_eq!(errors[1].0, 4);
    assert!(errors[1].1.contains("binlog_format"), "{errors:?}");
    let errors = crate::config::parse("server_id=1\n", 3306).unwrap_err();
    assert_eq!(errors[0].0, 0);
}

#[test]
fn truncated_and_huge_packets_never_panic() {
    let mut f = crate::packet::Framer::default();
    f.push(&[0xff, 0xff, 0xff, 0]);
    assert_eq!(f.next_frame(), Some(crate::packet::Frame::TooLarge));
    for n in 0..40 {
        let bytes: Vec<u8> = (0..n).map(|i| (i * 37 % 251) as u8).collect();
        let _ = crate::packet::parse_handshake(&bytes);
        let _ = crate::packet::parse_handshake_response(&bytes);
        let _ = crate::packet::parse_reply(&bytes);
        let _ = crate::binlog::decode(&bytes);
        let _ = crate::packet::parse_row(&bytes, 3);
    }
}

/// SHOW BINLOG EVENTS lists what MariaDB 10.11 listed for the same statements
/// (positions, types and Info texts as measured); RESET MASTER starts over at 333.
#[test]
fn binlog_events_and_reset_master() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'; create database db1; use db1; create table t1(id int primary key, name varchar(20)); insert into t1 values(1,'a')");
    let out = lab.root(3307, "show binlog events in 'mall-mysql-bin.000001'");
    for line in [
        "| mall-mysql-bin.000001 |    4 | Format_desc       |       101 |         256 | Server ver: 10.11.19-MariaDB-0+deb12u1-log, Binlog ver: 4        |",
        "| mall-mysql-bin.000001 |  256 | Gtid_list         |       101 |         285 | []                                                               |",
        "| mall-mysql-bin.000001 |  285 | Binlog_checkpoint |       101 |         333 | mall-mysql-bin.000001                                            |",
        "| mall-mysql-bin.000001 |  333 | Gtid              |       101 |         375 | GTID 0-101-1                                                     |",
        "| mall-mysql-bin.000001 |  375 | Query             |       101 |         484 | create user 'slave'@'%' identified by '123456'                   |",
        "| mall-mysql-bin.000001 |  526 | Query             |       101 |         667 | grant replication slave,replication client on *.*to'slave'@'%'   |",
        "| mall-mysql-bin.000001 |  709 | Query             |       101 |         794 | create database db1                                              |",
        "| mall-mysql-bin.000001 |  836 | Query             |       101 |         964 | use `db1`; create table t1(id int primary key, name varchar(20)) |",
        "| mall-mysql-bin.000001 |  964 | Gtid              |       101 |        1006 | BEGIN GTID 0-101-5                                               |",
        "| mall-mysql-bin.000001 | 1006 | Query             |       101 |        1100 | use `db1`; insert into t1 values(1,'a')                          |",
    ] {
        assert!(out.contains(line), "missing\n{line}\nin\n{out}");
    }
    assert!(out.contains("| Xid               |       101 |        1131 | COMMIT /* xid="), "{out}");
    let out = lab.root(3307, "reset master; show master status");
    assert!(out.contains("| mall-mysql-bin.000001 |      333 |"), "{out}");
}

/// BEGIN ... COMMIT is one binlog group (Gtid, the statements, Xid) applied
/// on the replica as one; ROLLBACK leaves neither data nor binlog behind.
#[test]
fn transactions_commit_as_one_group_and_roll_back() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%'; create database db1; create table db1.t1(id int primary key, name varchar(20))");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4; start slave");
    lab.sim.run_for(Duration::from_millis(100));
    let before = lab.root(3307, "show master status");
    lab.root(3307, "begin; insert into db1.t1 values(1,'a'); insert into db1.t1 values(2,'b'); rollback");
    assert_eq!(lab.root(3307, "show master status"), before, "a rolled back transaction writes no binlog");
    assert_eq!(lab.root(3307, "select * from db1.t1"), "Empty set (0.000 sec)");
    lab.root(3307, "begin; insert into db1.t1 values(1,'a'); insert into db1.t1 values(2,'b'); commit");
    let events = lab.root(3307, "show binlog events");
    let tail: Vec<&str> = events.lines().rev().skip(2).take(4).collect();
    assert!(tail[3].contains("| Gtid ") && tail[3].contains("BEGIN GTID 0-101-5"), "{events}");
    assert!(tail[2].contains("| insert into db1.t1 values(1,'a')"), "{events}");
    assert!(tail[1].contains("| insert into db1.t1 values(2,'b')"), "{events}");
    assert!(tail[0].contains("| Xid ") && tail[0].contains("COMMIT /* xid="), "{events}");
    lab.sim.run_for(Duration::from_millis(100));
    let rows = lab.root(3308, "select * from db1.t1");
    assert!(rows.contains("|  1 | a    |\n|  2 | b    |"), "{rows}");
    // the replica logs the transaction as one group too (log_slave_updates)
    let events = lab.root(3308, "show binlog events");
    assert!(events.contains("BEGIN GTID 0-101-5"), "{events}");
    assert_eq!(events.matches("| Xid ").count(), 1, "{events}");
}

/// binlog_format=ROW: Annotate_rows, Table_map and a rows event per DML, sized
/// as MariaDB 10.11 wrote them (58/47/42 for the insert, 63/47/52 for the
/// update, 53/47/42 for the delete); the replica applies them, and a missing
/// row stops it with MariaDB's 1032 text.
#[test]
fn row_events_and_1032() {
    let mut lab = Lab::new();
    let row_master = MASTER_CNF.replace("binlog_format=mixed", "binlog_format=row");
    lab.server(3307, &row_master);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%'; create database db1; create table db1.t1(id int, name varchar(20))");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4; start slave");
    let start: u64 =
        lab.root(3307, "show master status").lines().nth(3).unwrap().split('|').nth(2).unwrap().trim().parse().unwrap();
    lab.root(
        3307,
        "insert into db1.t1 values(20,'row'); update db1.t1 set name='upd' where id=20; delete from db1.t1 where id=20",
    );
    let events = lab.root(3307, &format!("show binlog events from {start}"));
    let sizes: Vec<(String, u64)> = events
        .lines()
        .filter(|l| l.starts_with("| mall"))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            (f[3].to_owned(), f[5].parse::<u64>().unwrap() - f[2].parse::<u64>().unwrap())
        })
        .collect();
    let expected = [
        ("Gtid", 42),
        ("Annotate_rows", 58),
        ("Table_map", 47),
        ("Write_rows_v1", 42),
        ("Xid", 31),
        ("Gtid", 42),
        ("Annotate_rows", 63),
        ("Table_map", 47),
        ("Update_rows_v1", 52),
        ("Xid", 31),
        ("Gtid", 42),
        ("Annotate_rows", 53),
        ("Table_map", 47),
        ("Delete_rows_v1", 42),
        ("Xid", 31),
    ];
    let expected: Vec<(String, u64)> = expected.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert_eq!(sizes, expected, "{events}");
    assert!(events.contains("| table_id: 18 (db1.t1)"), "{events}");
    lab.sim.run_for(Duration::from_millis(100));
    assert_eq!(
        lab.root(3308, "show slave status\\G").lines().find(|l| l.contains("Last_SQL_Errno")).unwrap().trim(),
        "Last_SQL_Errno: 0"
    );
    // a row the replica never had: 1032
    lab.root(3307, "insert into db1.t1 values(30,'m')");
    lab.sim.run_for(Duration::from_millis(100));
    lab.root(3308, "delete from db1.t1 where id=30");
    lab.root(3307, "delete from db1.t1 where id=30");
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
    assert_eq!(field(&status, "Last_SQL_Errno"), "1032", "{status}");
    assert_eq!(
        field(&status, "Last_SQL_Error"),
        format!(
            "Could not execute Delete_rows_v1 event on table db1.t1; Can't find record in 't1', Error_code: 1032; handler error HA_ERR_END_OF_FILE; the event's master log mall-mysql-bin.000001, end_log_pos {end}"
        )
    );
}

#[test]
fn log_dates_are_civil_dates() {
    assert_eq!(super::civil_from_days(0), (1970, 1, 1));
    assert_eq!(super::civil_from_days(19_159), (2022, 6, 16));
    assert_eq!(super::civil_from_days(20_793), (2026, 12, 6));
}

/// A master and a replica replicating from 667, with db1.t1 created.
pub(crate) fn replicating() -> Lab {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=667, master_connect_retry=30; start slave");
    lab.sim.run_for(Duration::from_millis(100));
    lab.root(3307, "create database db1; use db1; create table t1(id int primary key, name varchar(20))");
    lab.sim.run_for(Duration::from_millis(100));
    lab
}

/// STOP SLAVE IO_THREAD leaves the SQL thread running (and the reverse), as
/// MariaDB 10.11 showed: the stopped thread's `No`, an empty
/// Slave_IO_State or Slave_SQL_Running_State, Seconds_Behind_Master NULL;
/// the started thread catches up from where it stopped.
#[test]
fn io_and_sql_threads_stop_and_start_alone() {
    let mut lab = replicating();
    assert!(!lab.root(3308, "stop slave io_thread").contains("warning"));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "No", "{status}");
    assert_eq!(field(&status, "Slave_SQL_Running"), "Yes");
    assert_eq!(field(&status, "Slave_IO_State"), "");
    assert_eq!(field(&status, "Seconds_Behind_Master"), "NULL");
    assert_eq!(field(&status, "Slave_SQL_Running_State"), "Slave has read all relay log; waiting for more updates");
    lab.root(3307, "insert into db1.t1 values(1,'a')");
    lab.sim.run_for(Duration::from_millis(100));
    assert!(lab.root(3308, "select * from db1.t1").starts_with("Empty set"), "the IO thread is stopped");
    lab.root(3308, "start slave io_thread");
    lab.sim.run_for(Duration::from_millis(100));
    assert!(lab.root(3308, "select * from db1.t1").contains("|  1 | a    |"));

    lab.root(3308, "stop slave sql_thread");
    lab.root(3307, "insert into db1.t1 values(2,'b')");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Slave_IO_Running"), "Yes", "{status}");
    assert_eq!(field(&status, "Slave_SQL_Running"), "No");
    assert_eq!(field(&status, "Slave_IO_State"), "Waiting for master to send event");
    assert_eq!(field(&status, "Slave_SQL_Running_State"), "");
    assert_eq!(field(&status, "Seconds_Behind_Master"), "NULL");
    assert_ne!(field(&status, "Read_Master_Log_Pos"), field(&status, "Exec_Master_Log_Pos"), "received, not applied");
    assert!(!lab.root(3308, "select * from db1.t1").contains("|  2 | b    |"));
    lab.root(3308, "start slave sql_thread");
    lab.sim.run_for(Duration::from_millis(100));
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Read_Master_Log_Pos"), field(&status, "Exec_Master_Log_Pos"), "{status}");
    assert!(lab.root(3308, "select * from db1.t1").contains("|  2 | b    |"));
}

/// Starting threads that run, or stopping threads that are stopped, is OK
/// with MariaDB's one note (1254 / 1255), as its client prints it; an
/// unknown thread name is 1064 near it.
#[test]
fn start_or_stop_with_nothing_to_do_warns() {
    let mut lab = replicating();
    let out = lab.root(3308, "start slave; start slave io_thread, sql_thread");
    assert!(out.starts_with("Query OK, 0 rows affected, 1 warning (0.0"), "{out}");
    let out = lab.root(3308, "stop slave sql_thread; stop slave sql_thread");
    let (first, second) = out.split_once("\n\n").expect("two replies");
    assert!(first.starts_with("Query OK, 0 rows affected (0.0"), "{out}");
    assert!(second.starts_with("Query OK, 0 rows affected, 1 warning (0.0"), "{out}");
    let out = lab.root(3308, "start slave; stop slave; stop slave");
    assert_eq!(out.matches("1 warning").count(), 1, "{out}");
    let out = lab.root(3307, "stop slave");
    assert!(out.starts_with("Query OK, 0 rows affected, 1 warning (0.0"), "never configured: {out}");
    let out = lab.root(3308, "start slave foo");
    assert_eq!(
        out,
        "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'foo' at line 1"
    );
}

/// SHOW PROCESSLIST on both sides of a working replication, laid out as
/// MariaDB 10.11.19 printed it: the replica's two `system user` threads,
/// the master's `Binlog Dump` for the replica's account, the asking client
/// in `Query` / `starting`; Time counts whole seconds of the host's clock.
/// Ids come from the connection counter (the threads take the next two at
/// START SLAVE); the model's first connection is 1 where MariaDB's is 4.
#[test]
fn processlist_shows_the_replication_threads() {
    let mut lab = replicating();
    lab.sim.run_for(Duration::from_secs(5));
    let out = lab.root(3308, "show processlist");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1],
        "| Id | User        | Host            | db   | Command   | Time | State                                                  | Info             | Progress |",
        "{out}"
    );
    assert!(lines[3].starts_with("|  2 | system user |                 | NULL | Slave_IO  |    5 | Waiting for master to send event                       | NULL             |    0.000 |"), "{out}");
    assert!(lines[4].starts_with("|  3 | system user |                 | NULL | Slave_SQL |    5 | Slave has read all relay log; waiting for more updates | NULL             |    0.000 |"), "{out}");
    assert!(lines[5].contains("| root        | localhost:") && lines[5].contains("| Query     |    0 | starting                                               | show processlist |    0.000 |"), "{out}");
    assert!(out.contains("3 rows in set"), "{out}");
    let out = lab.root(3307, "show processlist");
    assert!(out.contains("| slave | localhost:") && out.contains("| NULL | Binlog Dump |    5 | Master has sent all binlog to slave; waiting for more updates | NULL             |    0.000 |"), "{out}");

    lab.root(3308, "stop slave io_thread");
    let out = lab.root(3308, "show processlist");
    assert!(!out.contains("Slave_IO") && out.contains("Slave_SQL"), "{out}");
    lab.root(3308, "start slave io_thread; stop slave sql_thread");
    let out = lab.root(3308, "show processlist");
    assert!(
        out.contains("| system user |                 | NULL | Slave_IO |    0 | Waiting for master to send event |")
            && !out.contains("Slave_SQL"),
        "{out}"
    );
    lab.sim.run_for(Duration::from_millis(200));
    let out = lab.root(3307, "show processlist");
    assert_eq!(out.matches("Binlog Dump").count(), 1, "the old dump connection is gone: {out}");
}

/// A replica that cannot log in stays in `Connect` / `Connecting to
/// master`, as MariaDB showed it while its account was refused; an account
/// without PROCESS sees only its own connections.
#[test]
fn processlist_while_connecting_and_without_process() {
    let mut lab = Lab::new();
    lab.server(3307, MASTER_CNF);
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='nope', master_port=3307, master_connect_retry=30; start slave");
    lab.sim.run_for(Duration::from_secs(2));
    let out = lab.root(3308, "show processlist");
    assert!(
        out.contains("|  2 | system user |                 | NULL | Connect   |    2 | Connecting to master "),
        "{out}"
    );
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%'");
    let out = lab.mysql(3307, "slave", "123456", "show processlist");
    assert!(out.contains("| slave | localhost:") && out.contains("1 row in set"), "{out}");
}

/// max_binlog_size: the group that takes the binlog to the size or past it
/// is followed by a Rotate event (52 bytes with this name) and a new file;
/// a rotated file starts with checkpoints for the previous file and itself,
/// so its first transaction is at 395 (FLUSH LOGS too), as MariaDB 10.11.19
/// wrote them with max_binlog_size=4096. The replica follows across files.
#[test]
fn binlog_rotates_at_max_binlog_size() {
    let mut lab = Lab::new();
    lab.server(3307, &MASTER_CNF.replace("binlog_format=mixed", "binlog_format=row\nmax_binlog_size=4096"));
    lab.server(3308, REPLICA_CNF);
    lab.sim.run_for(Duration::from_millis(10));
    lab.root(3307, "create user 'slave'@'%' identified by '123456'; grant replication slave,replication client on *.*to'slave'@'%'");
    lab.root(3308, "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=667, master_connect_retry=30; start slave");
    lab.root(3307, "create database db1; create table db1.t(id int primary key)");
    let mut ends = Vec::new();
    for i in 1..=20 {
        let out = lab.root(3307, &format!("insert into db1.t values ({i}); show master status"));
        let file_pos: Vec<&str> = out.lines().nth(5).expect("a status row").split('|').map(str::trim).collect();
        ends.push((file_pos[1].to_owned(), file_pos[2].parse::<u64>().unwrap()));
        if file_pos[1] == "mall-mysql-bin.000002" {
            break;
        }
    }
    let (last_file, last_pos) = ends.last().cloned().unwrap();
    assert_eq!(last_file, "mall-mysql-bin.000002", "{ends:?}");
    assert_eq!(last_pos, 395, "rotated at once: {ends:?}");
    let before = ends[ends.len() - 2].1;
    assert!(before < 4096, "the file grows until a group reaches 4096: {ends:?}");
    let logs = lab.root(3307, "show binary logs");
    let events = lab.root(3307, "show binlog events in 'mall-mysql-bin.000001'");
    let rotate = events.lines().rev().nth(2).expect("the last event");
    let cells: Vec<&str> = rotate.split('|').map(str::trim).collect();
    assert_eq!((cells[3], cells[4], cells[6]), ("Rotate", "101", "mall-mysql-bin.000002;pos=4"), "{events}");
    let (pos, end): (u64, u64) = (cells[2].parse().unwrap(), cells[5].parse().unwrap());
    assert!(pos >= 4096 && pos - before < 400, "the rotating group ends at {pos}: {events}");
    assert_eq!(end, pos + 52, "{events}");
    assert!(logs.contains(&format!("| mall-mysql-bin.000001 | {end:>9} |")), "{logs}");
    let events = lab.root(3307, "show binlog events in 'mall-mysql-bin.000002'");
    assert!(
        events.contains("| 299 | Binlog_checkpoint |       101 |         347 | mall-mysql-bin.000001 "),
        "{events}"
    );
    assert!(
        events.contains("| 347 | Binlog_checkpoint |       101 |         395 | mall-mysql-bin.000002 "),
        "{events}"
    );
    let out = lab.root(3307, "flush logs; show master status");
    assert!(out.contains("| mall-mysql-bin.000003 |      395 |"), "{out}");
    lab.sim.run_for(Duration::from_millis(100));
    let rows = lab.root(3308, "select * from db1.t");
    assert!(rows.contains(&format!("{} rows in set", ends.len())), "{rows}");
    let status = lab.root(3308, "show slave status\\G");
    assert_eq!(field(&status, "Master_Log_File"), "mall-mysql-bin.000003", "{status}");
    assert_eq!(field(&status, "Read_Master_Log_Pos"), "395", "{status}");
    assert_eq!(field(&status, "Relay_Master_Log_File"), "mall-mysql-bin.000003", "{status}");
    assert_eq!(field(&status, "Exec_Master_Log_Pos"), "395", "as MariaDB showed after FLUSH LOGS: {status}");
}

/// SHOW WARNINGS as MariaDB 10.11.19 answered it: the error of the last
/// failed statement (SELECT 1 uses no table and keeps it), the note of a
/// second STOP SLAVE SQL_THREAD, listed again by a second SHOW WARNINGS.
#[test]
fn show_warnings_lists_the_last_statements_conditions() {
    let mut lab = replicating();
    let out = lab.root(3308, "selec 1; show warnings; select 1; show warnings");
    let parts: Vec<&str> = out.split("\n\n").collect();
    assert!(parts[1].contains("| Error | 1064 | You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'selec 1' at line 1 |"), "{out}");
    assert_eq!(parts[1], parts[3], "{out}");
    let out = lab.root(3308, "stop slave sql_thread; stop slave sql_thread; show warnings; show warnings; select * from db1.t1; show warnings");
    let note = "+-------+------+--------------------------------+\n| Level | Code | Message                        |\n+-------+------+--------------------------------+\n| Note  | 1255 | Slave already has been stopped |\n+-------+------+--------------------------------+\n1 row in set (0.000 sec)";
    let parts: Vec<&str> = out.split("\n\n").collect();
    assert_eq!((parts[2], parts[3]), (note, note), "{out}");
    assert!(parts[5].starts_with("Empty set"), "a statement on a table clears the list: {out}");
}
