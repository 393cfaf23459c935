//! The `mysql` group: Debian's MariaDB 10.11 (`mariadbd`, set up with
//! `mariadb-install-db`, talked to with the `mariadb` client in batch mode)
//! against the simulator's `mysql` node, a master on 3407 and a replica on
//! 3408, the same statements on both sides, one statement per client call.
//!
//! What is compared for a statement is what the client prints that a user
//! reads: the `\G` rows of a query, or its `ERROR ...` line (the batch
//! client's ` at line 1` removed: the interactive client, which the
//! simulator's `mysql` plays, does not print it); statements that print
//! only `Query OK` compare as empty. Real processes are started and stopped
//! by PID, in their own directory under the system temp dir, with every wait
//! bounded; they are killed on drop, also when a case fails.

use super::observe::{Expect, Obs, Row};
use super::real::temp_dir;
use ::mysql::cli::MysqlCli;
use ::mysql::server::Server;
use sim::{Fault, ProcId, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The master's and the replica's ports, the same on both sides.
const PORTS: [u16; 2] = [3407, 3408];
const POLL: Duration = Duration::from_millis(50);

/// The my.cnf lines both sides read.
fn shared_cnf(node: usize) -> String {
    let port = PORTS[node];
    match node {
        0 => format!("[mysqld]\nserver_id=101\nport={port}\nlog-bin=mall-mysql-bin\nbinlog_format=row\n"),
        _ => format!(
            "[mysqld]\nserver_id=102\nport={port}\nlog-bin=mall-mysql-slave1-bin\nrelay_log=mall-mysql-relay-bin\nbinlog_format=row\nlog_slave_updates=1\nread_only=1\n"
        ),
    }
}

/// One side: two servers and a client.
pub trait Side {
    /// Starts node 0 (master) or 1 (replica), as a fresh or an existing data directory.
    fn start(&mut self, node: usize) -> Result<(), String>;
    /// SIGTERM (`graceful`) or SIGKILL, waiting for the exit.
    fn stop(&mut self, node: usize, graceful: bool) -> Result<(), String>;
    /// What the client prints for one statement, normalized (see the module doc).
    fn sql(&mut self, node: usize, user: &str, password: &str, statement: &str) -> Result<String, String>;
    /// Lets time pass (real: sleep; simulated: virtual time).
    fn pause(&mut self, d: Duration);
}

/// Runs the group on both sides and compares.
pub fn run(_opts: &super::Options) -> Vec<Row> {
    let side = |s: &mut dyn Side| cases(s).unwrap_or_else(|e| vec![Obs::error("(group)", &e)]);
    let real = match RealSide::new() {
        Ok(mut r) => side(&mut r),
        Err(e) => vec![Obs::error("(group)", &e)],
    };
    let simulated = side(&mut SimSide::new());
    super::observe::compare("mysql", &real, &simulated)
}

fn root(s: &mut dyn Side, node: usize, statement: &str) -> Result<String, String> {
    s.sql(node, "root", "root", statement)
}

/// A field of a `\G` row.
fn field(rows: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    rows.lines().map(str::trim_start).find_map(|l| l.strip_prefix(&prefix)).unwrap_or("").to_owned()
}

/// Waits (bounded) until the replica executed everything the master logged.
fn caught_up(s: &mut dyn Side) -> Result<(), String> {
    for _ in 0..200 {
        let m = root(s, 0, "show master status\\G")?;
        let r = root(s, 1, "show slave status\\G")?;
        let done = field(&r, "Relay_Master_Log_File") == field(&m, "File")
            && field(&r, "Exec_Master_Log_Pos") == field(&m, "Position");
        if done || field(&r, "Slave_SQL_Running") == "No" {
            return Ok(());
        }
        s.pause(POLL);
    }
    Err("the replica did not catch up within 10 s".into())
}

/// Waits (bounded) until a SHOW SLAVE STATUS field has a value.
fn slave_field_is(s: &mut dyn Side, name: &str, value: &str) -> Result<(), String> {
    for _ in 0..200 {
        if field(&root(s, 1, "show slave status\\G")?, name) == value {
            return Ok(());
        }
        s.pause(POLL);
    }
    Err(format!("{name} did not become {value} within 10 s"))
}

/// SHOW SLAVE STATUS with what depends on timing masked: Seconds_Behind_Master
/// is dropped, and a reading that catches the IO thread in the middle of an
/// event (a heartbeat, say) is taken again, so the IO state compared is the
/// one it rests in.
fn slave_status(s: &mut dyn Side) -> Result<String, String> {
    let mut text = root(s, 1, "show slave status\\G")?;
    for _ in 0..20 {
        if field(&text, "Slave_IO_State") != "Queueing master event to the relay log" {
            break;
        }
        s.pause(POLL);
        text = root(s, 1, "show slave status\\G")?;
    }
    Ok(text.lines().filter(|l| !l.contains("Seconds_Behind_Master:")).collect::<Vec<_>>().join("\n"))
}

/// The cases, in order; each observation is compared with the other side's.
fn cases(s: &mut dyn Side) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    let mut obs = |case: &str, value: String| out.push(Obs::fact(case, value, Expect::Same));
    s.start(0)?;
    s.start(1)?;
    obs("fresh master: SHOW MASTER STATUS", root(s, 0, "show master status\\G")?);
    root(s, 0, "create user 'slave'@'%' identified by '123456'")?;
    root(s, 0, "grant replication slave, replication client on *.* to 'slave'@'%'")?;
    let m = root(s, 0, "show master status\\G")?;
    obs("after CREATE USER and GRANT: SHOW MASTER STATUS", m.clone());
    let change = format!(
        "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port={}, master_log_file='{}', master_log_pos={}, master_connect_retry=1",
        PORTS[0],
        field(&m, "File"),
        field(&m, "Position")
    );
    obs("CHANGE MASTER TO", root(s, 1, &change)?);
    obs("START SLAVE", root(s, 1, "start slave")?);
    slave_field_is(s, "Slave_IO_State", "Waiting for master to send event")?;
    obs("replica connected: SHOW SLAVE STATUS", slave_status(s)?);
    for q in [
        "create database mall",
        "create table mall.t (id int primary key, v varchar(20))",
        "insert into mall.t values (1,'a'),(2,'b')",
    ] {
        obs(&format!("master: {q}"), root(s, 0, q)?);
    }
    obs("after DDL and an insert: SHOW MASTER STATUS", root(s, 0, "show master status\\G")?);
    caught_up(s)?;
    obs("replica caught up: SHOW SLAVE STATUS", slave_status(s)?);
    obs("replica rows", root(s, 1, "select * from mall.t order by id\\G")?);
    errors(s, &mut obs)?;
    everyday(s, &mut obs)?;
    skipped_1062(s, &mut obs)?;
    stopped_1032(s, &mut obs)?;
    let mut gaps = Vec::new();
    restarts(s, &mut obs, &mut gaps)?;
    out.extend(gaps);
    Ok(out)
}

fn errors(s: &mut dyn Side, obs: &mut dyn FnMut(&str, String)) -> Result<(), String> {
    obs("1062 on the master", root(s, 0, "insert into mall.t values (1,'x')")?);
    obs("1045 wrong password", s.sql(0, "root", "wrong", "select 1")?);
    obs("1046 no database", root(s, 0, "create table t2 (id int)")?);
    obs("1064 syntax", root(s, 0, "selec 1")?);
    obs("1146 no table", root(s, 0, "select * from mall.nope")?);
    root(s, 1, "create user 'app'@'%' identified by 'app'")?;
    root(s, 1, "grant select, insert on *.* to 'app'@'%'")?;
    obs("1290 read-only replica", s.sql(1, "app", "app", "insert into mall.t values (9,'r')")?);
    Ok(())
}

/// The statements a lab types to look around, on the master, then on the
/// replica once the schema and rows have replicated.
fn everyday(s: &mut dyn Side, obs: &mut dyn FnMut(&str, String)) -> Result<(), String> {
    for q in [
        "create database shop",
        "create table shop.items (id int primary key auto_increment, name varchar(20) not null, qty int default 0, note varchar(10) null)",
        "insert into shop.items (name, qty) values ('apple', 3), ('pear', 5)",
        "insert into shop.items (name) values ('fig')",
        "show databases\\G",
        "show databases like 's%'\\G",
        "show tables from shop\\G",
        "show tables from nope",
        "describe shop.items\\G",
        "show columns from items from shop\\G",
        "describe shop.nope",
        "show create table shop.items\\G",
        "select count(*), count(note), count(*) + 1 from shop.items\\G",
        "select id, qty * 2 from shop.items where qty > 0 order by qty desc\\G",
        "select @@server_id, @@read_only, @@log_bin, @@binlog_format, @@global.log_slave_updates\\G",
        "select @@nope",
        "show variables like 'server_id'\\G",
        "show global variables like 'binlog_format'\\G",
        "select database()\\G",
        "select version(), user(), current_user(), current_user\\G",
        "show slave hosts\\G",
        "flush privileges",
        "show grants for 'slave'@'%'\\G",
        "show grants\\G",
        "show grants for 'nope'@'%'",
        "drop user if exists 'nope'@'%'; show warnings\\G",
        "select nope from shop.items",
        "select * from shop.items where nope = 1",
        "select * from shop.items order by nope",
        "update shop.items set qty = nope",
        "insert into shop.items (qty) values (1)",
        "create database if not exists shop; show warnings\\G",
        "insert ignore into shop.items (id, name) values (1, 'dup'), (9, 'kiwi'); show warnings\\G",
        "replace into shop.items (id, name, qty) values (1, 'apple', 3), (2, 'PEAR', 5), (30, 'plum', 1)",
        "insert into shop.items (id, name) values (2, 'x'), (31, 'lime') on duplicate key update name = values(name), qty = 9",
        "insert into shop.items (id, name) values (1, 'x') on duplicate key update name = 'apple'",
        "select * from shop.items order by id\\G",
    ] {
        obs(&format!("master: {}", q.trim_end_matches("\\G")), root(s, 0, q)?);
    }
    caught_up(s)?;
    for q in [
        "show databases\\G",
        "describe shop.items\\G",
        "select * from shop.items order by id\\G",
        "select @@read_only, @@server_id, @@log_slave_updates\\G",
    ] {
        obs(&format!("replica: {}", q.trim_end_matches("\\G")), root(s, 1, q)?);
    }
    // statements MariaDB logs in its own words, or not at all
    for q in [
        "create table if not exists shop.items (id int)",
        "drop table if exists shop.nope, shop.nope2",
        "truncate table shop.items",
    ] {
        obs(&format!("master: {q}"), root(s, 0, q)?);
    }
    obs("after IF [NOT] EXISTS and TRUNCATE: SHOW MASTER STATUS", root(s, 0, "show master status\\G")?);
    caught_up(s)?;
    obs("replica after TRUNCATE: select count(*)", root(s, 1, "select count(*) from shop.items\\G")?);
    Ok(())
}

/// A row written on the replica, the same key on the master: 1062 stops the
/// SQL thread; sql_slave_skip_counter=1 skips the group.
fn skipped_1062(s: &mut dyn Side, obs: &mut dyn FnMut(&str, String)) -> Result<(), String> {
    root(s, 1, "insert into mall.t values (7,'replica')")?;
    root(s, 0, "insert into mall.t values (7,'master')")?;
    slave_field_is(s, "Slave_SQL_Running", "No")?;
    obs("1062 stops the SQL thread: SHOW SLAVE STATUS", slave_status(s)?);
    obs("SET GLOBAL sql_slave_skip_counter", root(s, 1, "set global sql_slave_skip_counter=1")?);
    obs("START SLAVE after 1062", root(s, 1, "start slave")?);
    root(s, 0, "insert into mall.t values (8,'after')")?;
    caught_up(s)?;
    obs("1062 skipped: SHOW SLAVE STATUS", slave_status(s)?);
    obs("1062 skipped: replica rows", root(s, 1, "select * from mall.t order by id\\G")?);
    Ok(())
}

/// A row deleted on the replica, updated on the master: 1032.
fn stopped_1032(s: &mut dyn Side, obs: &mut dyn FnMut(&str, String)) -> Result<(), String> {
    root(s, 1, "delete from mall.t where id=2")?;
    root(s, 0, "update mall.t set v='bb' where id=2")?;
    slave_field_is(s, "Slave_SQL_Running", "No")?;
    obs("1032 stops the SQL thread: SHOW SLAVE STATUS", slave_status(s)?);
    root(s, 1, "set global sql_slave_skip_counter=1")?;
    root(s, 1, "start slave")?;
    caught_up(s)?;
    obs("1032 skipped: SHOW SLAVE STATUS", slave_status(s)?);
    Ok(())
}

/// The replica restarts (SIGTERM) and catches up with what the master wrote
/// meanwhile; then the master restarts and the replica follows it into its
/// next binlog file.
fn restarts(s: &mut dyn Side, obs: &mut dyn FnMut(&str, String), gaps: &mut Vec<Obs>) -> Result<(), String> {
    let mut split = |case: &str, status: String, obs: &mut dyn FnMut(&str, String)| {
        let (rest, relay) = split_relay(&status);
        obs(&format!("{case}: SHOW SLAVE STATUS but the relay log fields"), rest);
        gaps.push(Obs::fact(format!("{case}: Relay_Log_File/Pos/Space"), relay, Expect::Gap(RELAY_GAP)));
    };
    s.stop(1, true)?;
    root(s, 0, "insert into mall.t values (10,'while the replica was down')")?;
    s.start(1)?;
    slave_field_is(s, "Slave_IO_State", "Waiting for master to send event")?;
    caught_up(s)?;
    split("replica restarted and caught up", slave_status(s)?, obs);
    s.stop(0, true)?;
    s.start(0)?;
    obs("master restarted: SHOW MASTER STATUS", root(s, 0, "show master status\\G")?);
    root(s, 0, "insert into mall.t values (11,'after the master restarted')")?;
    slave_field_is(s, "Master_Log_File", "mall-mysql-bin.000002")?;
    caught_up(s)?;
    split("master restarted, replica caught up", slave_status(s)?, obs);
    obs("final replica rows", root(s, 1, "select * from mall.t order by id\\G")?);
    s.stop(1, false)?;
    root(s, 0, "insert into mall.t values (12,'while the replica was killed')")?;
    s.start(1)?;
    slave_field_is(s, "Slave_IO_State", "Waiting for master to send event")?;
    caught_up(s)?;
    // the real IO thread reports "Waiting for master to send event" a moment
    // before it has written the dump's first events to the relay log
    s.pause(Duration::from_millis(500));
    split("replica killed (SIGKILL) and caught up", slave_status(s)?, obs);
    Ok(())
}

const RELAY_GAP: &str = "after a restart of either side the real replica's relay log fields depend on timing: one full run matched the model on all three, the next showed the SQL thread at position 4 of a new file before the IO thread's first dump events were written (Relay_Log_Space 256); the model writes them at once";

/// SHOW SLAVE STATUS without and with only its three relay log lines.
fn split_relay(status: &str) -> (String, String) {
    let is_relay =
        |l: &&str| l.contains("Relay_Log_File:") || l.contains("Relay_Log_Pos:") || l.contains("Relay_Log_Space:");
    let rest: Vec<&str> = status.lines().filter(|l| !is_relay(l)).collect();
    let relay: Vec<&str> = status.lines().filter(is_relay).collect();
    (rest.join("\n"), relay.join("\n"))
}

// ---- the simulated side ----

struct SimSide {
    sim: Sim,
    procs: [Option<ProcId>; 2],
    clients: u32,
}

impl SimSide {
    fn new() -> SimSide {
        let mut sim = Sim::new(SimConfig { seed: 1, ..SimConfig::default() });
        sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        SimSide { sim, procs: [None, None], clients: 0 }
    }
}

impl Side for SimSide {
    fn start(&mut self, node: usize) -> Result<(), String> {
        let p = match self.procs[node] {
            Some(p) => p,
            None => {
                let config =
                    ::mysql::config::parse_for(&shared_cnf(node), PORTS[node], ::mysql::flavor::Flavor::Mariadb1011)
                        .map_err(|e| format!("my.cnf: {e:?}"))?;
                let factory: sim::Factory = Box::new(move || Box::new(Server::new(config.clone())));
                let host = self.sim.host_by_name("localhost").ok_or("no host")?;
                let p = self.sim.add_process(host, &format!("mysql{node}"), factory);
                self.procs[node] = Some(p);
                p
            }
        };
        self.sim.apply(Fault::Start(p)).map_err(|e| format!("{e:?}"))?;
        self.sim.run_for(Duration::from_millis(10));
        Ok(())
    }

    fn stop(&mut self, node: usize, graceful: bool) -> Result<(), String> {
        let p = self.procs[node].ok_or("not started")?;
        let fault = if graceful { Fault::Stop(p) } else { Fault::Kill(p) };
        self.sim.apply(fault).map_err(|e| format!("{e:?}"))?;
        self.sim.run_for(Duration::from_millis(10));
        Ok(())
    }

    fn sql(&mut self, node: usize, user: &str, password: &str, statement: &str) -> Result<String, String> {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, PORTS[node]);
        self.clients += 1;
        let (user, password) = (user.to_owned(), password.to_owned());
        let text = if statement.ends_with("\\G") { statement.to_owned() } else { format!("{statement};") };
        let factory: sim::Factory = Box::new(move || Box::new(MysqlCli::new(addr, &user, &password, None, &text)));
        let host = self.sim.host_by_name("localhost").ok_or("no host")?;
        let p = self.sim.add_process(host, &format!("client{}", self.clients), factory);
        self.sim.apply(Fault::Start(p)).map_err(|e| format!("{e:?}"))?;
        for _ in 0..5000 {
            self.sim.run_for(Duration::from_millis(1));
            if let Some(out) = self.sim.process::<MysqlCli>(p).and_then(|c| c.output.clone()) {
                return Ok(normalize_interactive(&out));
            }
        }
        Err(format!("no answer to {statement} within 5 virtual seconds"))
    }

    fn pause(&mut self, d: Duration) {
        self.sim.run_for(d);
    }
}

/// The interactive client's output reduced to what the batch client prints:
/// `\G` rows and ERROR lines (no `Query OK`, `N rows in set`, `Empty set`).
fn normalize_interactive(out: &str) -> String {
    let keep = |l: &&str| {
        !(l.starts_with("Query OK")
            || l.contains(" in set (")
            || l.starts_with("Empty set")
            || l.starts_with("Records: ")
            || l.starts_with("Rows matched: ")
            || l.is_empty())
    };
    out.lines().filter(keep).collect::<Vec<_>>().join("\n")
}

// ---- the real side ----

struct RealSide {
    dir: PathBuf,
    children: [Option<Child>; 2],
    user: String,
}

impl RealSide {
    fn new() -> Result<RealSide, String> {
        for tool in ["mariadbd", "mariadb", "mariadb-install-db"] {
            if which(tool).is_none() {
                return Err(format!("{tool} not found: install mariadb-server and mariadb-client"));
            }
        }
        let dir = temp_dir("mysql")?;
        let user = bounded(Command::new("id").arg("-un"), Duration::from_secs(5))?.0.trim().to_owned();
        Ok(RealSide { dir, children: [None, None], user })
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.dir.join(format!("n{node}"))
    }

    fn socket(&self, node: usize) -> PathBuf {
        self.node_dir(node).join("sock")
    }

    /// mariadb-install-db, then root's password `root` for `root@'%'` and
    /// `root@localhost` (the simulator's accounts), other root rows dropped,
    /// and RESET MASTER so the binlog starts fresh.
    fn install(&mut self, node: usize) -> Result<(), String> {
        let d = self.node_dir(node);
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        let data = d.join("data");
        let mut cmd = Command::new("mariadb-install-db");
        cmd.args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={}", self.user));
        bounded(&mut cmd, Duration::from_secs(120))?;
        let cnf = format!(
            "{}datadir={}\nsocket={}\npid-file={}\nbind-address=127.0.0.1\nlog-error={}\n",
            shared_cnf(node),
            data.display(),
            self.socket(node).display(),
            d.join("pid").display(),
            d.join("error.log").display()
        );
        std::fs::write(d.join("my.cnf"), cnf).map_err(|e| e.to_string())?;
        self.launch(node)?;
        let setup = "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('root'); \
             CREATE USER 'root'@'%' IDENTIFIED BY 'root'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION; \
             DELETE FROM mysql.global_priv WHERE User='root' AND Host NOT IN ('localhost','%'); FLUSH PRIVILEGES; RESET MASTER";
        let mut cmd = Command::new("mariadb");
        cmd.args(["--no-defaults", "-uroot"])
            .arg(format!("--socket={}", self.socket(node).display()))
            .args(["-e", setup]);
        let (_, err, ok) = bounded(&mut cmd, Duration::from_secs(20))?;
        if !ok {
            return Err(format!("setting up node {node}: {err}"));
        }
        Ok(())
    }

    fn launch(&mut self, node: usize) -> Result<(), String> {
        let d = self.node_dir(node);
        let child = Command::new("mariadbd")
            .arg(format!("--defaults-file={}", d.join("my.cnf").display()))
            .arg(format!("--user={}", self.user))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run mariadbd: {e}"))?;
        self.children[node] = Some(child);
        // 30 s in polls: the harness counts its waits, it reads no clock
        for _ in 0..600 {
            if let Some(c) = self.children[node].as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.children[node] = None;
                let log = std::fs::read_to_string(d.join("error.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("mariadbd on {} exited ({status}): {tail:?}", PORTS[node]));
            }
            let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, PORTS[node]);
            if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok()
                && self.socket(node).exists()
            {
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
        Err(format!("mariadbd on {} did not accept connections within 30 s", PORTS[node]))
    }
}

impl Side for RealSide {
    fn start(&mut self, node: usize) -> Result<(), String> {
        if self.node_dir(node).join("my.cnf").exists() { self.launch(node) } else { self.install(node) }
    }

    fn stop(&mut self, node: usize, graceful: bool) -> Result<(), String> {
        let Some(mut child) = self.children[node].take() else { return Err(format!("node {node} is not running")) };
        let signal = if graceful { "-TERM" } else { "-KILL" };
        let _ = Command::new("kill").args([signal, &child.id().to_string()]).status();
        // 30 s in polls: the harness counts its waits, it reads no clock
        for _ in 0..600 {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("mariadbd on {} did not exit within 30 s of {signal}", PORTS[node]))
    }

    fn sql(&mut self, node: usize, user: &str, password: &str, statement: &str) -> Result<String, String> {
        let mut cmd = Command::new("mariadb");
        cmd.args(["--no-defaults", "--protocol=tcp", "-h127.0.0.1"])
            .arg(format!("-P{}", PORTS[node]))
            .arg(format!("-u{user}"))
            .arg(format!("-p{password}"))
            .args(["-e", statement]);
        let (out, err, _) = bounded(&mut cmd, Duration::from_secs(20))?;
        // on an error the batch client prints the statement between dashed
        // lines, then `ERROR n (state) at line 1: message`
        let err: Vec<&str> = err.lines().filter(|l| l.starts_with("ERROR ")).collect();
        let at_line = regex::Regex::new(r"^(ERROR \d+ \([0-9A-Z]+\)) at line \d+:").map_err(|e| e.to_string())?;
        let err: Vec<String> = err.iter().map(|l| at_line.replace(l, "$1:").into_owned()).collect();
        let text = format!("{out}{}", err.join("\n"));
        Ok(text.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n"))
    }

    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

impl Drop for RealSide {
    fn drop(&mut self) {
        for child in self.children.iter_mut().filter_map(Option::take) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("CHAOSLAB_FIDELITY_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(tool))
        .find(|p| Path::new(p).exists())
}

/// Runs `cmd` with a time limit: (stdout, stderr, success).
fn bounded(cmd: &mut Command, limit: Duration) -> Result<(String, String, bool), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    for _ in 0..limit.as_millis() / 10 {
        if let Ok(Some(status)) = child.try_wait() {
            let (mut out, mut err) = (String::new(), String::new());
            if let Some(mut s) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut out);
            }
            if let Some(mut s) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut err);
            }
            return Ok((out, err, status.success()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{cmd:?} did not finish within {limit:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simulated side runs every case without a harness error, with the
    /// values the real MariaDB 10.11.19 gave (fidelity runs of 2026-12-06
    /// and, for the everyday statements, 2026-12-08).
    #[test]
    fn simulated_side_runs_every_case() {
        let obs = cases(&mut SimSide::new()).expect("the simulated side runs");
        assert_eq!(obs.len(), 78);
        assert!(obs.iter().all(|o| !o.compared.starts_with("harness error")));
        let get = |case: &str| obs.iter().find(|o| o.case == case).map(|o| o.compared.clone()).unwrap_or_default();
        assert_eq!(field(&get("fresh master: SHOW MASTER STATUS"), "Position"), "333");
        assert_eq!(field(&get("after CREATE USER and GRANT: SHOW MASTER STATUS"), "Position"), "670");
        assert_eq!(
            get("1290 read-only replica"),
            "ERROR 1290 (HY000): The MariaDB server is running with the --read-only option so it cannot execute this statement"
        );
        let stopped = get("1062 stops the SQL thread: SHOW SLAVE STATUS");
        assert_eq!(field(&stopped, "Last_SQL_Errno"), "1062");
        assert_eq!(field(&stopped, "Slave_Transactional_Groups"), "7");
        assert_eq!(get("master: show tables from nope"), "ERROR 1049 (42000): Unknown database 'nope'");
        let counts = get("master: select count(*), count(note), count(*) + 1 from shop.items");
        assert_eq!((field(&counts, "count(*)"), field(&counts, "count(*) + 1")), ("3".into(), "4".into()));
        let described = get("replica: describe shop.items");
        assert!(described.contains("  Field: qty\n   Type: int(11)\n   Null: YES\n    Key: \nDefault: 0\n"));
        let status = get("after IF [NOT] EXISTS and TRUNCATE: SHOW MASTER STATUS");
        assert_eq!(field(&status, "Position"), "3806");
    }

    #[test]
    fn interactive_output_reduces_to_what_batch_prints() {
        let out = "Query OK, 1 row affected (0.001 sec)\n\n*************************** 1. row ***************************\nid: 1\n1 row in set (0.000 sec)";
        assert_eq!(normalize_interactive(out), "*************************** 1. row ***************************\nid: 1");
    }
}
