//! The relay log and the info files: positions and files as a real MariaDB
//! 10.11.19 showed them (master and replica with binlog_format=row, the same
//! statements), and what a kill or a host crash leaves with and without
//! `relay_log_recovery`.

use crate::cli::MysqlCli;
use crate::server::Server;
use sim::{Fault, HostId, ProcId, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const MASTER: &str = "[mysqld]\nserver_id=101\nport=3307\nlog-bin=mall-mysql-bin\nbinlog_format=row\n";
const REPLICA: &str = "[mysqld]\nserver_id=102\nport=3308\nlog-bin=mall-mysql-slave1-bin\nrelay_log=mall-mysql-relay-bin\nbinlog_format=row\nlog_slave_updates=1\n";
const MASTER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const REPLICA_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

struct Lab {
    sim: Sim,
    hosts: [HostId; 2],
    replica: ProcId,
    clients: u32,
}

impl Lab {
    /// A master and a replica (with `extra` my.cnf lines) on two hosts.
    fn new(extra: &str) -> Lab {
        let mut sim = Sim::new(SimConfig { seed: 1, record_trace: true, ..SimConfig::default() });
        let hosts = [sim.add_host("master", MASTER_IP), sim.add_host("replica", REPLICA_IP)];
        let mut start = |host: HostId, port: u16, cnf: String| {
            // measured on MariaDB 10.11
            let config =
                crate::config::parse_for(&cnf, port, crate::flavor::Flavor::Mariadb1011).expect("valid my.cnf");
            let factory: sim::Factory = Box::new(move || Box::new(Server::new(config.clone())));
            let p = sim.add_process(host, &port.to_string(), factory);
            sim.apply(Fault::Start(p)).unwrap();
            p
        };
        start(hosts[0], 3307, MASTER.to_owned());
        let replica = start(hosts[1], 3308, format!("{REPLICA}{extra}"));
        let mut lab = Lab { sim, hosts, replica, clients: 0 };
        lab.sim.run_for(Duration::from_millis(10));
        lab
    }

    fn sql(&mut self, ip: Ipv4Addr, port: u16, input: &str) -> String {
        let addr = SocketAddrV4::new(ip, port);
        self.clients += 1;
        let text = input.to_owned();
        let factory: sim::Factory = Box::new(move || Box::new(MysqlCli::new(addr, "root", "root", None, &text)));
        let p = self.sim.add_process(self.hosts[0], &format!("mysql{}", self.clients), factory);
        self.sim.apply(Fault::Start(p)).unwrap();
        for _ in 0..2000 {
            self.sim.run_for(Duration::from_millis(1));
            if let Some(out) = self.sim.process::<MysqlCli>(p).and_then(|c| c.output.clone()) {
                return out;
            }
        }
        panic!("no output for {input}")
    }

    fn master(&mut self, input: &str) -> String {
        let out = self.sql(MASTER_IP, 3307, input);
        self.sim.run_for(Duration::from_millis(50));
        out
    }

    fn replica(&mut self, input: &str) -> String {
        self.sql(REPLICA_IP, 3308, input)
    }

    /// (Relay_Log_File, Relay_Log_Pos, Relay_Log_Space, Exec_Master_Log_Pos).
    fn relay(&mut self) -> (String, String, String, String) {
        let s = self.replica("show slave status\\G");
        let f = |n: &str| crate::tests::field(&s, n).to_owned();
        (f("Relay_Log_File"), f("Relay_Log_Pos"), f("Relay_Log_Space"), f("Exec_Master_Log_Pos"))
    }

    fn file(&self, name: &str) -> String {
        let disk = self.sim.disk(self.replica);
        String::from_utf8_lossy(disk.read(name).unwrap_or_default()).into_owned()
    }

    /// The measured setup: the replication account, CHANGE MASTER TO from
    /// the start of the master's first binlog, START SLAVE, a table.
    fn replicating(&mut self) {
        self.master("create user 'slave'@'%' identified by '123456'; grant replication slave, replication client on *.* to 'slave'@'%'");
        self.replica("change master to master_host='10.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4, master_connect_retry=30");
        self.replica("start slave");
        self.sim.run_for(Duration::from_millis(100));
        self.master("create database mall; create table mall.t (id int primary key, v varchar(20)); insert into mall.t values (1,'a')");
    }

    fn rows(&mut self) -> String {
        self.replica("select id from mall.t order by id")
    }
}

fn ids(out: &str) -> Vec<u32> {
    out.lines().filter_map(|l| l.trim_matches(|c| c == '|' || c == ' ').parse().ok()).collect()
}

/// Relay_Log_File/Pos/Space through CHANGE MASTER, START SLAVE, STOP/START,
/// STOP/START IO_THREAD and a restart, as MariaDB 10.11.19 showed them.
#[test]
fn relay_positions_and_files_as_measured() {
    let mut lab = Lab::new("");
    lab.master("create user 'slave'@'%' identified by '123456'; grant replication slave, replication client on *.* to 'slave'@'%'");
    lab.replica("change master to master_host='10.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4, master_connect_retry=30");
    assert_eq!(lab.file("mall-mysql-relay-bin.index"), "./mall-mysql-relay-bin.000001\n");
    assert_eq!(lab.file("relay-log.info"), "5\n./mall-mysql-relay-bin.000001\n4\nmall-mysql-bin.000001\n4\n0\n");
    let info = lab.file("master.info");
    assert!(info.starts_with("33\nmall-mysql-bin.000001\n4\n10.0.0.1\nslave\n123456\n3307\n30\n0\n"), "{info}");
    assert!(info.ends_with("\nusing_gtid=0\ndo_domain_ids=0\nignore_domain_ids=0\nEND_MARKER\n"), "{info}");
    assert_eq!(info.lines().count(), 37, "{info}");
    lab.replica("start slave");
    lab.sim.run_for(Duration::from_millis(100));
    let s = lab.replica("show master status");
    assert!(s.contains("| mall-mysql-slave1-bin.000001 |"), "{s}");
    let m = lab.master("show master status");
    assert!(m.contains("| mall-mysql-bin.000001 |      662 |"), "as measured: {m}");
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000002".into(), "966".into(), "1280".into(), "662".into()));
    lab.master("create database mall; create table mall.t (id int primary key, v varchar(20)); insert into mall.t values (1,'a')");
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000002".into(), "1480".into(), "1794".into(), "1176".into()));
    assert_eq!(lab.file("relay-log.info"), "5\n./mall-mysql-relay-bin.000002\n1480\nmall-mysql-bin.000001\n1176\n0\n");
    lab.replica("stop slave; start slave");
    lab.sim.run_for(Duration::from_millis(100));
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000003".into(), "560".into(), "2098".into(), "1176".into()));
    assert_eq!(
        lab.file("mall-mysql-relay-bin.index"),
        "./mall-mysql-relay-bin.000002\n./mall-mysql-relay-bin.000003\n"
    );
    lab.replica("stop slave io_thread");
    lab.master("insert into mall.t values (2,'b')");
    lab.replica("start slave io_thread");
    lab.sim.run_for(Duration::from_millis(100));
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000004".into(), "776".into(), "1394".into(), "1392".into()));
    lab.sim.apply(Fault::Restart(lab.replica)).unwrap();
    lab.sim.run_for(Duration::from_millis(100));
    lab.master("insert into mall.t values (3,'c')");
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000006".into(), "776".into(), "1090".into(), "1608".into()));
    assert_eq!(
        lab.file("mall-mysql-relay-bin.index"),
        "./mall-mysql-relay-bin.000005\n./mall-mysql-relay-bin.000006\n"
    );
    let log = lab.sim.log_lines(lab.replica).join("\n");
    assert!(log.contains("[Note] Slave SQL thread initialized, starting replication in log 'mall-mysql-bin.000001' at position 1392, relay log './mall-mysql-relay-bin.000004' position: 776"), "{log}");
    assert!(log.contains("[Note] Slave I/O thread: Start asynchronous replication to master 'slave@10.0.0.1:3307' in log 'mall-mysql-bin.000001' at position 1392"), "{log}");
}

/// relay_log_recovery=1 after a kill: the relay logs go, numbering goes on,
/// the SQL thread starts at the new file's position 4 (measured: .000007 at
/// 4 after .000006, then .000008 at 776).
#[test]
fn relay_log_recovery_after_a_kill_starts_a_new_relay_log() {
    let mut lab = Lab::new("relay_log_recovery=1\n");
    lab.replicating();
    lab.sim.apply(Fault::Kill(lab.replica)).unwrap();
    lab.master("insert into mall.t values (2,'b')");
    lab.sim.apply(Fault::Start(lab.replica)).unwrap();
    lab.sim.run_for(Duration::from_millis(200));
    assert_eq!(lab.relay(), ("mall-mysql-relay-bin.000004".into(), "776".into(), "1090".into(), "1392".into()));
    assert_eq!(
        lab.file("mall-mysql-relay-bin.index"),
        "./mall-mysql-relay-bin.000003\n./mall-mysql-relay-bin.000004\n"
    );
    let log = lab.sim.log_lines(lab.replica).join("\n");
    assert!(log.contains("[Warning] Recovery from master pos 1176 and file mall-mysql-bin.000001."), "{log}");
    assert!(log.contains("relay log './mall-mysql-relay-bin.000003' position: 4"), "{log}");
    assert_eq!(ids(&lab.rows()), [1, 2]);
}

/// A host crash while the SQL thread is stopped: the received events were in
/// the page cache only. With the info files synced at every write, without
/// relay_log_recovery the IO thread goes on after them and they are never
/// executed; with it they are fetched again.
#[test]
fn host_crash_loses_the_relay_log_tail_unless_relay_log_recovery() {
    for (recovery, expected) in [(0, vec![1, 5]), (1, vec![1, 2, 3, 4, 5])] {
        let extra = format!("sync_master_info=1\nsync_relay_log_info=1\nrelay_log_recovery={recovery}\n");
        let mut lab = Lab::new(&extra);
        lab.replicating();
        lab.sim.run_for(Duration::from_secs(40)); // the OS writes dirty pages back
        lab.replica("stop slave sql_thread");
        lab.master("insert into mall.t values (2,'b'),(3,'c'); insert into mall.t values (4,'d')");
        lab.sim.apply(Fault::CrashHost(lab.hosts[1])).unwrap();
        lab.sim.apply(Fault::Start(lab.replica)).unwrap();
        lab.sim.run_for(Duration::from_millis(200));
        lab.master("insert into mall.t values (5,'e')");
        let s = lab.replica("show slave status\\G");
        assert_eq!(crate::tests::field(&s, "Slave_SQL_Running"), "Yes", "{s}");
        assert_eq!(ids(&lab.rows()), expected, "relay_log_recovery={recovery}");
    }
}

/// A host crash while the SQL thread applies: InnoDB's redo log is synced
/// at each commit, relay-log.info (sync_relay_log_info=10000) is not, so
/// the replica executes the same events again and stops on 1062, with or
/// without relay_log_recovery (file-and-position replication is not crash
/// safe in MariaDB).
#[test]
fn host_crash_with_unsynced_relay_log_info_reapplies() {
    for recovery in [0, 1] {
        let mut lab = Lab::new(&format!("relay_log_recovery={recovery}\n"));
        lab.replicating();
        lab.sim.run_for(Duration::from_secs(40));
        lab.master("insert into mall.t values (2,'b')");
        lab.sim.apply(Fault::CrashHost(lab.hosts[1])).unwrap();
        lab.sim.apply(Fault::Start(lab.replica)).unwrap();
        lab.sim.run_for(Duration::from_millis(200));
        let s = lab.replica("show slave status\\G");
        assert_eq!(crate::tests::field(&s, "Slave_SQL_Running"), "No", "{s}");
        assert_eq!(crate::tests::field(&s, "Last_SQL_Errno"), "1062", "{s}");
        assert!(crate::tests::field(&s, "Last_SQL_Error").contains("Duplicate entry '2' for key 'PRIMARY'"), "{s}");
        assert_eq!(ids(&lab.rows()), [1, 2]);
    }
}

/// The three fsync settings: MariaDB's defaults, values, and a bad value at its line.
#[test]
fn sync_settings_parse_with_defaults_and_errors() {
    let c = crate::config::parse("[mysqld]\nport=3308\n", 3308).expect("valid");
    assert_eq!((c.sync_relay_log, c.sync_relay_log_info, c.sync_master_info), (10_000, 10_000, 10_000));
    let c = crate::config::parse(
        "[mysqld]\nport=3308\nsync_relay_log=0\nsync_relay_log_info=1\nsync_master_info=1\n",
        3308,
    )
    .expect("valid");
    assert_eq!((c.sync_relay_log, c.sync_relay_log_info, c.sync_master_info), (0, 1, 1));
    let errors = crate::config::parse("[mysqld]\nport=3308\nsync_master_info=often\n", 3308).unwrap_err();
    assert_eq!(
        errors,
        vec![(2, "option 'sync_master_info': value 'often' is not an integer between 0 and 4294967295".to_owned())]
    );
}

/// master.info is rewritten once per input (one dump burst), but an fsync
/// that `sync_master_info` makes due inside the burst still makes that
/// event's position durable: after a host crash master.info names an event
/// of the burst past the position before it, and holds no stale tail.
#[test]
fn an_fsync_due_inside_a_burst_keeps_that_events_master_info() {
    let mut lab = Lab::new("sync_master_info=3\nsync_relay_log=1\n");
    lab.replicating();
    lab.sim.run_for(Duration::from_secs(40)); // the OS writes dirty pages back
    let before = crate::tests::field(&lab.replica("show slave status\\G"), "Read_Master_Log_Pos").parse::<u64>();
    let before = before.expect("a position");
    // one transaction: Gtid, Annotate_rows, Table_map, Write_rows, Xid in one burst
    lab.master("insert into mall.t values (2,'b'),(3,'c')");
    lab.sim.apply(Fault::CrashHost(lab.hosts[1])).unwrap();
    let info = lab.file("master.info");
    let lines: Vec<&str> = info.lines().collect();
    let durable: u64 = lines[2].parse().expect("master.info's position");
    assert!(durable > before, "an fsync fell inside the burst of five events: {durable} vs {before}");
    // the relay log (synced at every event) lists the burst's end positions
    let index = lab.file("mall-mysql-relay-bin.index");
    let active = index.lines().last().expect("a relay log").trim_start_matches("./");
    let relay = lab.sim.disk(lab.replica).read(active).expect("the relay log").to_vec();
    let ends: Vec<u64> = crate::binlog::events_in(&relay, 4)
        .filter_map(|r| crate::binlog::decode_header(&relay[r]))
        .map(|h| u64::from(h.log_pos))
        .collect();
    assert!(ends.contains(&durable), "{durable} is an event's end: {ends:?}");
    assert_eq!(lines.last(), Some(&"END_MARKER"), "no stale tail: {info}");
}
