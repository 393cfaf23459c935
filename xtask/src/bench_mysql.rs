//! MySQL replication benchmark.
//!
//! `mysql-replication`: a MySQL 5.7 master (3307, `binlog_format=row`) and
//! one replica (3308) on one host; the replica is set up as in the seed
//! (replication user, CHANGE MASTER TO the master's position, START SLAVE)
//! through the `mysql` client. Then a closed-loop writer, speaking the wire
//! protocol itself, runs 10-row transactions on the master for a fixed
//! virtual time: `BEGIN`, ten single-row INSERTs, `COMMIT`, each statement
//! waiting for its OK. Its rows are numbered, so a run is deterministic.
//!
//! After the window the writer stops; the replica must reach the master's
//! binlog position with the same number of rows. The figure is replicated
//! INSERT statements per wall second.

use mysql::cli::MysqlCli;
use mysql::packet::{self, Frame, Framer, Reply};
use mysql::server::Server;
use sim::{ConnId, Ctx, Fault, HostId, Input, ProcId, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const MASTER_PORT: u16 = 3307;
const REPLICA_PORT: u16 = 3308;
/// Rows per transaction.
pub const ROWS_PER_TXN: u64 = 10;

const MASTER_CNF: &str =
    "[mysqld]\nserver_id=101\nport=3307\nlog-bin=mall-mysql-bin\nbinlog_format=row\nbinlog_cache_size=1M\n";
const REPLICA_CNF: &str = "[mysqld]\nserver_id=102\nport=3308\nlog-bin=mall-mysql-slave1-bin\nbinlog_format=row\nrelay_log=mall-mysql-relay-bin\nread_only=1\n";

/// Where the writer is in its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Greeting,
    Auth,
    /// Waiting for the reply to statement `n` of the transaction (0 BEGIN, 1..=10 INSERTs, 11 COMMIT).
    Statement(u64),
    Stopped,
}

/// The closed-loop writer: one connection, one statement in flight.
struct Writer {
    master: SocketAddrV4,
    conn: Option<ConnId>,
    framer: Framer,
    phase: Phase,
    /// Stop after the transaction in flight (set from outside).
    stopping: bool,
    next_id: u64,
    committed_rows: u64,
    errors: u64,
    out: Vec<u8>,
    query: Vec<u8>,
}

impl Writer {
    fn new(master: SocketAddrV4) -> Writer {
        Writer {
            master,
            conn: None,
            framer: Framer::default(),
            phase: Phase::Connecting,
            stopping: false,
            next_id: 1,
            committed_rows: 0,
            errors: 0,
            out: Vec::new(),
            query: Vec::new(),
        }
    }

    fn send(&mut self, ctx: &mut Ctx<'_>, step: u64) {
        let Some(conn) = self.conn else { return };
        self.query.clear();
        self.query.push(0x03);
        match step {
            0 => self.query.extend_from_slice(b"BEGIN"),
            s if s <= ROWS_PER_TXN => {
                // insert into t1 values(ID,'row ID'), without format machinery (the writer is measured too)
                let mut digits = [0u8; 20];
                let id = mysql::output::decimal(self.next_id, &mut digits);
                self.next_id += 1;
                for part in [&b"insert into t1 values("[..], id, b",'row ", id, b"')"] {
                    self.query.extend_from_slice(part);
                }
            }
            _ => self.query.extend_from_slice(b"COMMIT"),
        }
        self.out.clear();
        packet::frame(0, &self.query, &mut self.out);
        ctx.send(conn, &self.out);
        self.phase = Phase::Statement(step);
    }

    fn packet(&mut self, ctx: &mut Ctx<'_>, seq: u8, p: &[u8]) {
        match self.phase {
            Phase::Greeting => {
                let Some(g) = packet::parse_handshake(p) else { return self.phase = Phase::Stopped };
                let response = packet::handshake_response("root", "root", &g.scramble, Some("db1"));
                self.out.clear();
                packet::frame(seq.wrapping_add(1), &response, &mut self.out);
                if let Some(conn) = self.conn {
                    ctx.send(conn, &self.out);
                }
                self.phase = Phase::Auth;
            }
            Phase::Auth => match packet::parse_reply(p) {
                Some(Reply::Ok { .. }) => self.send(ctx, 0),
                _ => self.phase = Phase::Stopped,
            },
            Phase::Statement(step) => {
                if !matches!(packet::parse_reply(p), Some(Reply::Ok { .. })) {
                    self.errors += 1;
                }
                match step {
                    s if s <= ROWS_PER_TXN => self.send(ctx, s + 1),
                    _ => {
                        self.committed_rows += ROWS_PER_TXN;
                        if self.stopping { self.phase = Phase::Stopped } else { self.send(ctx, 0) }
                    }
                }
            }
            Phase::Connecting | Phase::Stopped => {}
        }
    }
}

impl Process for Writer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.conn = Some(ctx.connect(self.master)),
            Input::Connected { .. } => self.phase = Phase::Greeting,
            Input::Data { bytes, .. } => {
                // out of the writer while its packets are read (they borrow its buffer)
                let mut framer = std::mem::take(&mut self.framer);
                framer.push(bytes);
                while let Some(frame) = framer.next_frame() {
                    match frame {
                        Frame::Packet(seq, p) => self.packet(ctx, seq, p),
                        Frame::TooLarge => self.phase = Phase::Stopped,
                    }
                }
                self.framer = framer;
            }
            Input::Closed { .. } | Input::ConnectFailed { .. } => self.phase = Phase::Stopped,
            _ => {}
        }
    }
}

/// What one run measured.
pub struct Run {
    /// INSERT statements committed on the master (and applied on the replica).
    pub statements: u64,
    /// Transactions.
    pub transactions: u64,
    /// Kernel events.
    pub events: u64,
    /// Virtual seconds of load.
    pub virtual_secs: u64,
    /// Wall seconds the measured window took (load and drain).
    pub wall_secs: f64,
    /// The master's binlog position at the end, which the replica reached.
    pub position: u64,
    /// The run's trace hash.
    pub trace_hash: String,
}

fn start(sim: &mut Sim, host: HostId, name: &str, factory: sim::Factory) -> ProcId {
    let p = sim.add_process(host, name, factory);
    sim.apply(Fault::Start(p)).expect("fresh process starts");
    p
}

/// Runs `sql` with the mysql client on `port` and returns what it printed.
fn client(sim: &mut Sim, host: HostId, port: u16, sql: &str) -> Result<String, String> {
    let addr = SocketAddrV4::new(LOCALHOST, port);
    let text = sql.to_owned();
    let name = format!("mysql{}", sim.events_processed());
    let p = start(sim, host, &name, Box::new(move || Box::new(MysqlCli::new(addr, "root", "root", None, &text))));
    for _ in 0..1000 {
        sim.run_for(Duration::from_millis(1));
        if let Some(out) = sim.process::<MysqlCli>(p).and_then(|c| c.output.clone()) {
            if out.contains("ERROR") {
                return Err(format!("bench setup `{sql}`: {out}"));
            }
            return Ok(out);
        }
    }
    Err(format!("bench setup `{sql}`: no reply"))
}

fn server(sim: &mut Sim, host: HostId, cnf: &str, port: u16) -> Result<ProcId, String> {
    let config = mysql::config::parse(cnf, port).map_err(|e| format!("bench my.cnf: {e:?}"))?;
    Ok(start(sim, host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone())))))
}

/// A master and a replica replicating db1.t1, ready for load.
fn setup(seed: u64) -> Result<(Sim, HostId, ProcId, ProcId), String> {
    let mut sim = Sim::new(SimConfig { seed, ..SimConfig::default() });
    let host = sim.add_host("localhost", LOCALHOST);
    let master = server(&mut sim, host, MASTER_CNF, MASTER_PORT)?;
    let replica = server(&mut sim, host, REPLICA_CNF, REPLICA_PORT)?;
    sim.run_for(Duration::from_millis(10));
    client(
        &mut sim,
        host,
        MASTER_PORT,
        "create user 'slave'@'%' identified by '123456'; grant replication slave, replication client on *.* to 'slave'@'%'",
    )?;
    client(
        &mut sim,
        host,
        REPLICA_PORT,
        "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4; start slave",
    )?;
    client(
        &mut sim,
        host,
        MASTER_PORT,
        "create database db1; create table db1.t1(id int primary key, name varchar(20))",
    )?;
    sim.run_for(Duration::from_millis(100));
    Ok((sim, host, master, replica))
}

/// The replica's Exec_Master_Log_Pos.
fn executed(sim: &Sim, replica: ProcId) -> Option<u64> {
    let s = sim.process::<Server>(replica)?;
    let fields = s.slave_status(0)?;
    fields.iter().find(|(n, _)| *n == "Exec_Master_Log_Pos").and_then(|(_, v)| v.as_deref()?.parse().ok())
}

fn rows(sim: &Sim, proc: ProcId) -> usize {
    sim.process::<Server>(proc).and_then(|s| s.engine.get_table("db1", "t1").map(|t| t.rows.len())).unwrap_or(0)
}

/// Runs the load for `virtual_secs` and drains; checks the replica caught up.
pub fn replication(virtual_secs: u64, seed: u64) -> Result<Run, String> {
    let (mut sim, host, master, replica) = setup(seed)?;
    let addr = SocketAddrV4::new(LOCALHOST, MASTER_PORT);
    // The benchmark measures the simulator from outside; nothing flows back in.
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let writer = start(&mut sim, host, "writer", Box::new(move || Box::new(Writer::new(addr))));
    sim.run_for(Duration::from_secs(virtual_secs));
    sim.with_process::<Writer, _>(writer, |w, _| w.stopping = true);
    let mut drained = false;
    for _ in 0..10_000 {
        sim.run_for(Duration::from_millis(1));
        let position = sim.process::<Server>(master).and_then(|s| s.master_status()).map(|(_, p)| p);
        let stopped = sim.process::<Writer>(writer).is_some_and(|w| w.phase == Phase::Stopped);
        if stopped && position.is_some() && executed(&sim, replica) == position {
            drained = true;
            break;
        }
    }
    let wall_secs = wall.elapsed().as_secs_f64();
    let w = sim.process::<Writer>(writer).ok_or("the writer is gone")?;
    let (statements, errors) = (w.committed_rows, w.errors);
    if !drained || errors > 0 {
        return Err(format!("the replica did not catch up (drained {drained}, {errors} errors)"));
    }
    let (on_master, on_replica) = (rows(&sim, master), rows(&sim, replica));
    if on_master as u64 != statements || on_replica != on_master {
        return Err(format!("rows: {statements} committed, master {on_master}, replica {on_replica}"));
    }
    let position = sim.process::<Server>(master).and_then(|s| s.master_status()).map_or(0, |(_, p)| p);
    Ok(Run {
        statements,
        transactions: statements / ROWS_PER_TXN,
        events: sim.events_processed(),
        virtual_secs,
        wall_secs,
        position,
        trace_hash: sim.trace().hash_hex(),
    })
}

#[cfg(test)]
mod tests {
    /// A short run commits whole transactions, the replica reaches the
    /// master's position with every row, and the same seed replays the same trace.
    #[test]
    fn a_short_run_replicates_every_row_deterministically() {
        let a = super::replication(1, 7).expect("the run drains");
        let b = super::replication(1, 7).expect("the run drains");
        assert!(a.statements > 1000 && a.statements.is_multiple_of(super::ROWS_PER_TXN), "{}", a.statements);
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.statements, b.statements);
    }
}
