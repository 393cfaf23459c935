//! The node: a MariaDB 10.11 server as a [`sim::Process`]. It serves the
//! client protocol (handshake, `mysql_native_password`, COM_QUERY), writes
//! the binlog, serves COM_REGISTER_SLAVE and COM_BINLOG_DUMP, and as a
//! replica runs the IO thread (a connection to its master, retried every
//! `master_connect_retry` seconds) and the SQL thread (applying what the IO
//! thread received, stopping on an error unless `slave_skip_errors` names it).
//!
//! Data survives a restart through a redo log (`ib_logfile0`: every committed
//! write statement, replayed on start), written through the kernel's page
//! cache and fsynced when `innodb_flush_log_at_trx_commit=1`.

use crate::binlog::{Binlog, Body, Logged, RowsImage, TableDesc};
use crate::config::{BinlogFormat, Config};
use crate::engine::{Engine, Outcome, RowChange, Value};
use crate::packet::{self, Frame, Framer};
use crate::shapes::Shapes;
use crate::sql::{self, Expr, SqlError, Stmt};
use sim::{ConnId, Ctx, Input, Process};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;

/// `cache`, made to hold `name` if it did not: names that change seldom
/// (binlog and relay log files) are shared by every event that carries them.
fn shared(cache: &mut Rc<str>, name: &str) -> Rc<str> {
    if **cache != *name {
        *cache = Rc::from(name);
    }
    cache.clone()
}

/// The redo log replayed at start.
const REDO: &str = "ib_logfile0";
/// Timer tag: the IO thread's next connection attempt.
const RETRY: u64 = 1;

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    hash: Option<[u8; 20]>,
    /// Granted privileges, upper-cased (`ALL PRIVILEGES` for root).
    pub privileges: BTreeSet<String>,
}

impl Account {
    fn has(&self, p: &str) -> bool {
        self.privileges.contains("ALL PRIVILEGES") || self.privileges.contains("ALL") || self.privileges.contains(p)
    }
}

#[derive(Debug)]
enum Phase {
    Greeting([u8; 20]),
    Ready { user: String, db: Option<Rc<str>> },
    Dump { file: usize, pos: u64 },
}

#[derive(Debug)]
struct Client {
    framer: Framer,
    phase: Phase,
    thread_id: u32,
    host: String,
    /// The peer's port (SHOW PROCESSLIST's `Host` is `host:port`).
    port: u16,
    /// The account it logged in as.
    user: String,
    /// Host wall-clock ms when its current command (or idle time) began.
    since_ms: i64,
    /// What its last statement left for SHOW WARNINGS.
    last_warnings: Vec<Warning>,
    /// A replica's registration (COM_REGISTER_SLAVE) as SHOW SLAVE HOSTS
    /// lists it: server id, host, port, its master's id.
    slave_host: Option<(u32, String, u16, u32)>,
}

/// A SHOW WARNINGS row: level (`Note`, `Warning`, `Error`), code, message.
type Warning = (&'static str, u16, String);

/// The IO thread's state, as `Slave_IO_Running` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoState {
    /// `No`.
    Stopped,
    /// `Connecting`.
    Connecting,
    /// `Yes`.
    Running,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Greeting,
    Auth,
    Register,
    Streaming,
}

/// A replica's replication state (CHANGE MASTER TO and what the threads did).
#[derive(Clone, Debug)]
pub struct Replica {
    /// `master_host`.
    pub host: String,
    /// `master_port`.
    pub port: u16,
    /// `master_user`.
    pub user: String,
    password: String,
    /// `master_connect_retry` in seconds.
    pub connect_retry: u64,
    /// `Master_Log_File`.
    pub master_log_file: String,
    /// `Read_Master_Log_Pos`.
    pub read_pos: u64,
    /// `Relay_Master_Log_File`.
    pub exec_file: String,
    /// `Exec_Master_Log_Pos`.
    pub exec_pos: u64,
    /// `Slave_IO_Running`.
    pub io: IoState,
    /// `Slave_SQL_Running`.
    pub sql_running: bool,
    /// `Last_IO_Errno`, `Last_IO_Error`.
    pub last_io_error: (u16, String),
    /// `Last_SQL_Errno`, `Last_SQL_Error`.
    pub last_sql_error: (u16, String),
    /// `Master_Server_Id`.
    pub master_server_id: u32,
    /// `Skip_Counter`.
    pub skip_counter: u64,
    conn: Option<ConnId>,
    link: Link,
    framer: Framer,
    /// Received and not yet applied.
    queue: VecDeque<Queued>,
    /// `master_log_file` as the queued events share it.
    queued_file: Rc<str>,
    /// Timestamp of the event being applied, for Seconds_Behind_Master.
    last_master_ts: u32,
    insert_id: Option<u64>,
    in_group: bool,
    /// The events of the group being applied (put back on an error).
    group: Vec<Queued>,
    /// Skipping the current group (sql_slave_skip_counter).
    skipping: bool,
    /// The last Annotate_rows statement.
    annotate: String,
    /// The IO thread lost a working connection and is reconnecting.
    reconnecting: bool,
    /// Table maps by id.
    table_maps: BTreeMap<u64, Rc<crate::binlog::TableMap>>,
    /// Decodes what the IO thread receives.
    decoder: crate::binlog::Decoder,
    /// `Slave_DDL_Groups`, `Slave_Non_Transactional_Groups`,
    /// `Slave_Transactional_Groups`: groups the SQL thread began since the
    /// server started (counted at their Gtid event by its flags, not when
    /// skipped; measured).
    pub groups: (u64, u64, u64),
    /// The IO thread's id and the host wall-clock ms it started at.
    io_thread: (u32, i64),
    /// The IO thread registered on its master since it started.
    io_registered: bool,
    /// The SQL thread's id and the ms its SHOW PROCESSLIST time counts
    /// from: its start, then the master timestamp of the last applied event.
    sql_thread: (u32, i64),
}

/// An event the IO thread wrote to the relay log, waiting for the SQL thread.
#[derive(Clone, Debug)]
pub(crate) struct Queued {
    /// The master's binlog file it came from.
    file: Rc<str>,
    /// Its end position there (`End_log_pos`).
    end: u64,
    /// The event, decoded (shared with the group being applied).
    event: Rc<(crate::binlog::Header, Body)>,
    /// Its relay log file and end position there.
    relay: (Rc<str>, u64),
    /// Whether the SQL thread executes it (not the master's Rotate or a
    /// Format description sent with position 0: those only move its
    /// relay position).
    apply: bool,
}

/// What a group of statements leaves to write when it commits: its binlog
/// statements and its redo log lines.
#[derive(Clone, Debug, Default)]
struct Group {
    logged: Vec<Logged>,
    redo: Vec<u8>,
}

/// Row changes to undo, oldest first: (database, table, the rows one statement changed).
type Undo = Vec<(Rc<str>, Rc<str>, Rc<Vec<RowChange>>)>;

/// An open transaction (BEGIN ... COMMIT/ROLLBACK) of a connection. ROLLBACK
/// undoes its own row changes, newest first (no row locks or MVCC are
/// modelled; DDL is not undone, as in MySQL where it commits).
#[derive(Debug, Default)]
struct Txn {
    undo: Undo,
    group: Group,
}

/// Where a write's binlog and redo records go.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// Its own group, written at once (autocommit, DDL).
    Now,
    /// The open transaction of a connection.
    Txn(ConnId),
    /// The group the SQL thread is applying.
    Replica,
}

/// A MariaDB 10.11 server.
pub struct Server {
    config: Config,
    /// Databases and rows.
    pub engine: Engine,
    accounts: BTreeMap<(String, String), Account>,
    binlog: Option<Binlog>,
    clients: BTreeMap<ConnId, Client>,
    next_thread: u32,
    /// `@@global.read_only`.
    pub read_only: bool,
    /// The replica side, once CHANGE MASTER TO ran.
    pub replica: Option<Replica>,
    /// The relay log and the SQL thread's place in it.
    pub relay: relay::Relay,
    txns: BTreeMap<ConnId, Txn>,
    /// Table ids by database and table, and how many were given.
    table_ids: (BTreeMap<String, BTreeMap<String, Rc<TableDesc>>>, u64),
    /// The SQL thread's group: its records and the engine before it.
    applying: Group,
    /// The row changes of the group the SQL thread is applying, to undo if it fails.
    applying_undo: Undo,
    /// Notes and warnings of the statement being answered: level, code,
    /// message (the OK packet's count, and what SHOW WARNINGS lists next).
    warnings: Vec<Warning>,
    /// The statement being answered is SHOW WARNINGS (it keeps the list).
    keep_warnings: bool,
    /// The connection whose statement is being answered, and its text.
    current: Option<(ConnId, String)>,
    /// Parsed statement shapes (clients', the redo log's and the SQL thread's).
    shapes: Shapes,
    /// Emptied buffers of a committed transaction, for the next one.
    spare: Txn,
    /// The names of the last undo log entry (see [`Server::undo_names`]).
    undo_names: (Rc<str>, Rc<str>),
}

impl Server {
    /// A server with `config`; it starts with the kernel's `Start` input.
    pub fn new(config: Config) -> Server {
        let read_only = config.read_only || config.super_read_only;
        Server {
            config,
            engine: Engine::new(),
            accounts: BTreeMap::new(),
            binlog: None,
            clients: BTreeMap::new(),
            next_thread: 0,
            read_only,
            replica: None,
            relay: relay::Relay::default(),
            txns: BTreeMap::new(),
            table_ids: (BTreeMap::new(), 0),
            applying: Group::default(),
            applying_undo: Undo::new(),
            warnings: Vec::new(),
            keep_warnings: false,
            current: None,
            shapes: Shapes::default(),
            spare: Txn::default(),
            undo_names: (Rc::from(""), Rc::from("")),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `SHOW MASTER STATUS`'s File and Position, when binary logging is on.
    pub fn master_status(&self) -> Option<(String, u64)> {
        self.binlog.as_ref().map(|b| (b.file().to_owned(), b.position()))
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.accounts.clear();
        let root =
            Account { hash: packet::password_hash("root"), privileges: BTreeSet::from(["ALL PRIVILEGES".to_owned()]) };
        self.accounts.insert(("root".into(), "%".into()), root.clone());
        self.accounts.insert(("root".into(), "localhost".into()), root);
        self.engine = Engine::new();
        self.replay_redo(ctx);
        self.read_only = self.config.read_only || self.config.super_read_only;
        self.relay_load(ctx);
        if let Some(base) = self.config.log_bin.clone() {
            self.open_binlog(ctx, base);
        }
        if ctx.listen(self.config.port).is_err() {
            crate::log(ctx, "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use");
            ctx.exit();
            return;
        }
        self.restore_replica(ctx);
        crate::log(
            ctx,
            format!(
                "[Note] {}: ready for connections.\nVersion: '{}'  port: {}",
                self.config.flavor.daemon(),
                self.config.flavor.version(),
                self.config.port
            ),
        );
    }

    pub(super) fn open_binlog(&mut self, ctx: &mut Ctx<'_>, base: String) {
        let index = format!("{base}.index");
        let files: Vec<String> = ctx
            .disk()
            .read(&index)
            .map(|b| String::from_utf8_lossy(b).lines().map(|l| l.trim_start_matches("./").to_owned()).collect())
            .unwrap_or_default();
        let mut binlog = Binlog { base, files, flavor: self.config.flavor, ..Binlog::default() };
        for f in &binlog.files {
            let bytes = ctx.disk().read(f).map(<[u8]>::to_vec).unwrap_or_default();
            let old = Binlog { current: bytes, ..Binlog::default() };
            for e in old.events_from(4) {
                match crate::binlog::decode(&e) {
                    Some((h, Body::Gtid { seq, .. })) if seq >= binlog.gtid_seq => {
                        (binlog.gtid_seq, binlog.gtid_server) = (seq, h.server_id)
                    }
                    Some((_, Body::Xid(x))) => binlog.xid = binlog.xid.max(x),
                    _ => {}
                }
            }
        }
        let ts = self.timestamp(ctx);
        let name = binlog.open_next(self.config.server_id, ts, false);
        let listing: String = binlog.files.iter().map(|f| format!("./{f}\n")).collect();
        let disk = ctx.disk();
        disk.write(&name, &binlog.current);
        disk.write(&index, listing.as_bytes());
        disk.fsync(&name);
        disk.fsync(&index);
        self.binlog = Some(binlog);
    }

    fn timestamp(&self, ctx: &Ctx<'_>) -> u32 {
        (ctx.wall_clock_ms().max(0) / 1000) as u32
    }

    fn replay_redo(&mut self, ctx: &mut Ctx<'_>) {
        let Some(bytes) = ctx.disk().read(REDO).map(<[u8]>::to_vec) else { return };
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Some((db, table, change)) = relay::parse_row_redo(line) {
                let _ = self.engine.apply_row(&db, &table, &change);
                continue;
            }
            let Some((db, query)) = line.split_once('\t') else { continue };
            let query = query.replace("\\n", "\n").replace("\\\\", "\\");
            let db = (!db.is_empty()).then_some(db);
            if let Ok(stmt) = self.shapes.parse(&query) {
                let _ = self.apply_write(&stmt, db, None);
            }
        }
    }

    /// Appends a statement's redo line: its database, a tab, its text with
    /// backslashes and newlines escaped.
    fn redo_line(db: Option<&str>, query: &str, out: &mut Vec<u8>) {
        let db = db.unwrap_or("");
        out.reserve(db.len() + query.len() + 2);
        out.extend_from_slice(db.as_bytes());
        out.push(b'\t');
        if !query.bytes().any(|b| b == b'\\' || b == b'\n') {
            out.extend_from_slice(query.as_bytes());
        } else {
            for b in query.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b => out.push(b),
                }
            }
        }
        out.push(b'\n');
    }

    /// Writes a committed group: its redo lines, then its binlog events.
    fn commit_group(&mut self, ctx: &mut Ctx<'_>, mut group: Group) {
        if !group.redo.is_empty() {
            let disk = ctx.disk();
            disk.append(REDO, &group.redo);
            if self.config.innodb_flush_log_at_trx_commit == 1 {
                disk.fsync(REDO);
            }
        }
        if !group.logged.is_empty() {
            self.append_binlog(ctx, &group.logged);
        }
        // its buffers serve the next group (a transaction's grow as its statements come)
        if group.redo.capacity() >= self.spare.group.redo.capacity() {
            group.logged.clear();
            group.redo.clear();
            self.spare.group = group;
        }
    }

    /// An empty group, with the buffers of an earlier one.
    fn fresh_group(&mut self) -> Group {
        std::mem::take(&mut self.spare.group)
    }

    fn group_mut(&mut self, sink: Sink) -> Option<&mut Group> {
        match sink {
            Sink::Now => None,
            Sink::Txn(conn) => self.txns.get_mut(&conn).map(|t| &mut t.group),
            Sink::Replica => Some(&mut self.applying),
        }
    }

    /// A CREATE USER's stored hash: of the password, or the hash given.
    fn account_hash(password: &str, hashed: bool) -> Option<[u8; 20]> {
        if hashed { packet::parse_password_hash(password) } else { packet::password_hash(password) }
    }

    /// Executes a write on the engine or the accounts (no binlog, no checks).
    fn apply_write(&mut self, stmt: &Stmt, db: Option<&str>, insert_id: Option<i64>) -> Result<Outcome, SqlError> {
        match stmt {
            Stmt::CreateUser { user, host, password, hashed } => {
                let key = (user.clone(), host.clone());
                if self.accounts.contains_key(&key) {
                    return Err(SqlError::new(
                        1396,
                        "HY000",
                        format!("Operation CREATE USER failed for '{user}'@'{host}'"),
                    ));
                }
                self.accounts
                    .insert(key, Account { hash: Self::account_hash(password, *hashed), privileges: BTreeSet::new() });
                Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() })
            }
            Stmt::Grant { privileges, user, host } => {
                let Some(a) = self.accounts.get_mut(&(user.clone(), host.clone())) else {
                    return Err(SqlError::new(1133, "28000", "Can't find any matching row in the user table"));
                };
                a.privileges.extend(privileges.iter().cloned());
                Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() })
            }
            Stmt::DropUser { accounts, if_exists } => {
                let mut failed = Vec::new();
                for (user, host) in accounts {
                    if self.accounts.remove(&(user.clone(), host.clone())).is_some() {
                        continue;
                    }
                    if *if_exists {
                        self.note(1974, &format!("Can't drop user '{user}'@'{host}'; it doesn't exist"));
                    } else {
                        failed.push(format!("'{user}'@'{host}'"));
                    }
                }
                if !failed.is_empty() {
                    let message = format!("Operation DROP USER failed for {}", failed.join(","));
                    return Err(SqlError::new(1396, "HY000", message));
                }
                Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() })
            }
            Stmt::FlushPrivileges => Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() }),
            _ => self.engine.execute(stmt, db, insert_id),
        }
    }

    /// A note for the statement being answered (SHOW WARNINGS's `Note`).
    fn note(&mut self, code: u16, message: &str) {
        self.warnings.push(("Note", code, message.to_owned()));
    }

    /// The account `user` logs in as: `user@%`, else `user@localhost`.
    fn account(&self, user: &str) -> Option<&Account> {
        let find = |host: &str| self.accounts.iter().find(|((u, h), _)| u == user && h == host).map(|(_, a)| a);
        find("%").or_else(|| find("localhost"))
    }

    fn host_name(&self, ip: Ipv4Addr) -> String {
        if ip.is_loopback() && !self.config.skip_name_resolve { "localhost".into() } else { ip.to_string() }
    }
}

impl Process for Server {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.start(ctx),
            Input::Shutdown => self.shutdown(ctx),
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Accepted { conn, peer, .. } => self.accept(ctx, conn, peer),
            Input::Data { conn, bytes } => {
                if self.replica.as_ref().is_some_and(|r| r.conn == Some(conn)) {
                    self.io_data(ctx, bytes);
                } else {
                    self.client_data(ctx, conn, bytes);
                }
            }
            Input::Closed { conn, reason } => {
                if self.replica.as_ref().is_some_and(|r| r.conn == Some(conn)) {
                    self.io_lost(ctx, reason);
                } else {
                    self.clients.remove(&conn);
                    self.abandon(conn);
                }
            }
            Input::Connected { conn } => {
                if let Some(r) = self.replica.as_mut().filter(|r| r.conn == Some(conn)) {
                    r.link = Link::Greeting;
                }
            }
            Input::ConnectFailed { conn, .. } => {
                if self.replica.as_ref().is_some_and(|r| r.conn == Some(conn)) {
                    self.io_connect_failed(ctx);
                }
            }
            Input::Timer { tag: RETRY, .. } => self.io_connect(ctx),
            Input::Timer { .. } => {}
        }
    }
}

impl Server {
    fn shutdown(&mut self, ctx: &mut Ctx<'_>) {
        // dump connections get an end packet: replicas log "apparent master shutdown"
        let dumps: Vec<ConnId> =
            self.clients.iter().filter(|(_, c)| matches!(c.phase, Phase::Dump { .. })).map(|(id, _)| *id).collect();
        for conn in dumps {
            Self::reply(ctx, conn, 0, &[packet::eof()]);
        }
        if let Some(b) = self.binlog.as_mut() {
            let ts = (ctx.wall_clock_ms().max(0) / 1000) as u32;
            let h = crate::binlog::Header {
                timestamp: ts,
                kind: crate::binlog::kind::STOP,
                server_id: self.config.server_id,
                log_pos: b.position() as u32 + 23,
            };
            let e = crate::binlog::event(h, 0, &[]);
            b.current.extend_from_slice(&e);
            let file = b.file().to_owned();
            ctx.disk().append(&file, &e);
            ctx.disk().fsync(&file);
        }
        crate::log(ctx, "[Note] mariadbd: Shutdown complete");
    }

    fn accept(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, peer: std::net::SocketAddrV4) {
        self.next_thread += 1;
        let mut scramble = [0u8; 20];
        for b in scramble.iter_mut() {
            *b = 33 + (ctx.rng().next_u64() % 94) as u8;
        }
        let mut out = Vec::new();
        let version = self.config.flavor.greeting_version();
        packet::frame(0, &packet::handshake(&version, self.next_thread, &scramble), &mut out);
        ctx.send(conn, &out);
        let host = self.host_name(*peer.ip());
        let client = Client {
            framer: Framer::default(),
            phase: Phase::Greeting(scramble),
            thread_id: self.next_thread,
            host,
            port: peer.port(),
            user: String::new(),
            since_ms: ctx.wall_clock_ms(),
            last_warnings: Vec::new(),
            slave_host: None,
        };
        self.clients.insert(conn, client);
    }

    fn client_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.clients.get_mut(&conn) else { return };
        // out of the client while its packets are served (they borrow its buffer)
        let mut framer = std::mem::take(&mut c.framer);
        framer.push(bytes);
        loop {
            if !self.clients.contains_key(&conn) {
                return; // closed by its last packet: the rest is dropped with it
            }
            match framer.next_frame() {
                None => break,
                Some(Frame::TooLarge) => {
                    let mut out = Vec::new();
                    packet::frame(
                        1,
                        &packet::err(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"),
                        &mut out,
                    );
                    ctx.send(conn, &out);
                    ctx.close(conn);
                    self.clients.remove(&conn);
                    return;
                }
                Some(Frame::Packet(seq, payload)) => self.client_packet(ctx, conn, seq, payload),
            }
        }
        if let Some(c) = self.clients.get_mut(&conn) {
            c.framer = framer;
        }
    }

    fn reply(ctx: &mut Ctx<'_>, conn: ConnId, seq: u8, payloads: &[Vec<u8>]) {
        ctx.send(conn, &Self::framed(seq, payloads));
    }

    /// `payloads` as packets numbered from `seq`.
    fn framed(seq: u8, payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payloads.iter().map(|p| 4 + p.len()).sum());
        for (i, p) in payloads.iter().enumerate() {
            packet::frame(seq.wrapping_add(i as u8), p, &mut out);
        }
        out
    }

    fn client_packet(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, seq: u8, payload: &[u8]) {
        let Some(c) = self.clients.get(&conn) else { return };
        match &c.phase {
            Phase::Greeting(scramble) => self.login(ctx, conn, seq, payload, *scramble),
            Phase::Ready { .. } => self.command(ctx, conn, payload),
            Phase::Dump { .. } => {}
        }
    }

    fn login(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, seq: u8, payload: &[u8], scramble: [u8; 20]) {
        let host = self.clients.get(&conn).map(|c| c.host.clone()).unwrap_or_default();
        let Some(login) = packet::parse_handshake_response(payload) else {
            Self::reply(ctx, conn, seq.wrapping_add(1), &[packet::err(1043, "08S01", "Bad handshake")]);
            ctx.close(conn);
            self.clients.remove(&conn);
            return;
        };
        let ok =
            self.account(&login.user).is_some_and(|a| packet::check_token(a.hash.as_ref(), &scramble, &login.token));
        if !ok {
            let using = if login.token.is_empty() { "NO" } else { "YES" };
            let message = format!("Access denied for user '{}'@'{host}' (using password: {using})", login.user);
            Self::reply(ctx, conn, seq.wrapping_add(1), &[packet::err(1045, "28000", &message)]);
            ctx.close(conn);
            self.clients.remove(&conn);
            return;
        }
        if let Some(db) = &login.db
            && !self.engine.dbs.contains_key(db)
        {
            Self::reply(
                ctx,
                conn,
                seq.wrapping_add(1),
                &[packet::err(1049, "42000", &format!("Unknown database '{db}'"))],
            );
            ctx.close(conn);
            self.clients.remove(&conn);
            return;
        }
        if let Some(c) = self.clients.get_mut(&conn) {
            c.user = login.user.clone();
            c.since_ms = ctx.wall_clock_ms();
            c.phase = Phase::Ready { user: login.user, db: login.db.map(Rc::from) };
        }
        Self::reply(ctx, conn, seq.wrapping_add(1), &[packet::ok(0, 0, 0, "")]);
    }

    fn command(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, payload: &[u8]) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.since_ms = ctx.wall_clock_ms();
        }
        match payload.first() {
            Some(0x01) => {
                ctx.close(conn);
                self.clients.remove(&conn);
                self.abandon(conn);
            }
            Some(0x03) => {
                let text = packet::text(&payload[1..]);
                self.warnings.clear();
                self.keep_warnings = false;
                // the statement's text for SHOW PROCESSLIST, in the last one's buffer
                let mut info = self.current.take().map(|(_, info)| info).unwrap_or_default();
                info.clear();
                info.push_str(&text);
                self.current = Some((conn, info));
                self.engine.warnings.clear();
                let result = self.query(ctx, conn, &text);
                // the engine's notes and warnings (IF [NOT] EXISTS, INSERT IGNORE)
                self.warnings.append(&mut self.engine.warnings);
                let out = match result {
                    Ok(Outcome::Ok { affected, insert_id, info }) => {
                        // the common reply, framed where it is written
                        let warnings = self.warnings.len() as u16;
                        let mut out = Vec::with_capacity(27 + info.len());
                        packet::frame_with(1, &mut out, |p| packet::put_ok(p, affected, insert_id, warnings, &info));
                        out
                    }
                    Ok(o) => Self::framed(1, &outcome_packets(o, self.warnings.len() as u16)),
                    Err(e) => {
                        let message = self.config.flavor.message(e.code, &e.message);
                        self.warnings = vec![("Error", e.code, message.clone())];
                        Self::framed(1, &[packet::err(e.code, e.state, &message)])
                    }
                };
                // the list is replaced by a statement that raises a condition
                // or uses tables (measured: SELECT 1 keeps the last error)
                let replace = !self.keep_warnings || !self.warnings.is_empty();
                if let Some(c) = self.clients.get_mut(&conn).filter(|_| replace) {
                    c.last_warnings = std::mem::take(&mut self.warnings);
                }
                ctx.send(conn, &out);
            }
            Some(0x0e) => Self::reply(ctx, conn, 1, &[packet::ok(0, 0, 0, "")]),
            Some(0x15) => self.register_slave(ctx, conn, &payload[1..]),
            Some(0x12) => self.binlog_dump(ctx, conn, &payload[1..]),
            _ => Self::reply(ctx, conn, 1, &[packet::err(1047, "08S01", "Unknown command")]),
        }
    }

    /// A connection's user, host, default database and thread id.
    fn session(&self, conn: ConnId) -> (&str, &str, Option<&Rc<str>>, u32) {
        match self.clients.get(&conn) {
            Some(Client { phase: Phase::Ready { user, db }, host, thread_id, .. }) => {
                (user, host, db.as_ref(), *thread_id)
            }
            _ => ("", "", None, 0),
        }
    }

    /// Whether the session may run `stmt` (privileges, read_only). Returns
    /// its default database, its thread id and, for a statement logged with
    /// its invoker, `user@host`.
    fn admit(&self, conn: ConnId, stmt: &Stmt) -> Result<(Option<Rc<str>>, u32, String), SqlError> {
        let (user, host, db, thread_id) = self.session(conn);
        let nobody = Account { hash: None, privileges: BTreeSet::new() };
        let account = self.account(user).unwrap_or(&nobody);
        self.check_privileges(stmt, account, user, host, db.map(|d| &**d))?;
        let privileged = account.has("SUPER") || account.has("ALL PRIVILEGES");
        if stmt.writes() && self.read_only && self.config.super_read_only {
            return Err(SqlError::new(
                1290,
                "HY000",
                "The MySQL server is running with the --super-read-only option so it cannot execute this statement",
            ));
        }
        if stmt.writes() && self.read_only && !privileged {
            return Err(SqlError::new(
                1290,
                "HY000",
                "The MariaDB server is running with the --read-only option so it cannot execute this statement",
            ));
        }
        // the session's account matters only to statements logged with their invoker
        let who = if self.config.flavor.logs_invoker(stmt) { format!("{user}@{host}") } else { String::new() };
        Ok((db.cloned(), thread_id, who))
    }

    fn query(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, text: &str) -> Result<Outcome, SqlError> {
        let stmt = self.shapes.parse(text)?;
        self.keep_warnings = !stmt.uses_tables();
        let (db, thread_id, who) = self.admit(conn, &stmt)?;
        let db = db.as_deref();
        match &stmt {
            Stmt::Use(name) => {
                if !self.engine.dbs.contains_key(name) {
                    return Err(SqlError::new(1049, "42000", format!("Unknown database '{name}'")));
                }
                if let Some(Client { phase: Phase::Ready { db, .. }, .. }) = self.clients.get_mut(&conn) {
                    *db = Some(Rc::from(name.as_str()));
                }
                Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() })
            }
            Stmt::Begin | Stmt::Commit | Stmt::Rollback => {
                self.transaction(ctx, conn, &stmt);
                Ok(Outcome::Ok { affected: 0, insert_id: 0, info: String::new() })
            }
            Stmt::Select { .. } => {
                let stmt = self.with_variables(stmt, conn, ctx.wall_clock_ms())?;
                self.engine.execute(&stmt, db, None)
            }
            Stmt::ShowDatabases { like } => Ok(self.show_databases(like.as_deref())),
            Stmt::ShowTables { db: named, like } => self.engine.show_tables(named.as_deref().or(db), like.as_deref()),
            Stmt::ShowColumns { table } => self.engine.show_columns(table, db),
            Stmt::ShowGrants(of) => self.show_grants(conn, of.as_ref()),
            Stmt::ShowSlaveHosts => {
                let mut hosts: Vec<&(u32, String, u16, u32)> =
                    self.clients.values().filter_map(|c| c.slave_host.as_ref()).collect();
                hosts.sort_by_key(|h| h.0);
                let columns = ["Server_id", "Host", "Port", "Master_id"];
                let columns = columns.iter().enumerate().map(|(i, c)| ((*c).to_owned(), i != 1)).collect();
                let rows = hosts
                    .into_iter()
                    .map(|(id, host, port, m)| {
                        vec![Some(id.to_string()), Some(host.clone()), Some(port.to_string()), Some(m.to_string())]
                    })
                    .collect();
                Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
            }
            Stmt::ShowCreateTable { table } => {
                let text =
                    self.engine.create_table_text(table, db, self.config.flavor, &self.config.collation_server)?;
                let columns = vec![("Table".into(), false), ("Create Table".into(), false)];
                Ok(Outcome::Rows {
                    columns,
                    rows: vec![vec![Some(table.name.clone()), Some(text)]],
                    nullable: Vec::new(),
                })
            }
            Stmt::ShowVariables { like } => {
                let columns = vec![("Variable_name".into(), false), ("Value".into(), false)];
                let listed = crate::variables::show(&self.config, self.read_only, like.as_deref());
                Ok(Outcome::Rows {
                    columns,
                    rows: listed.into_iter().map(|(n, v)| vec![Some(n), Some(v)]).collect(),
                    nullable: Vec::new(),
                })
            }
            Stmt::ShowWarnings => {
                let columns = vec![("Level".into(), false), ("Code".into(), true), ("Message".into(), false)];
                let listed = self.clients.get(&conn).map(|c| c.last_warnings.clone()).unwrap_or_default();
                let rows = listed
                    .into_iter()
                    .map(|(level, code, message)| vec![Some(level.into()), Some(code.to_string()), Some(message)])
                    .collect();
                Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
            }
            s if s.writes() => {
                let dml = matches!(s, Stmt::Insert { .. } | Stmt::Update { .. } | Stmt::Delete { .. });
                if !dml && let Some(t) = self.txns.remove(&conn) {
                    self.commit_group(ctx, t.group); // DDL commits an open transaction first
                }
                let sink = if self.txns.contains_key(&conn) { Sink::Txn(conn) } else { Sink::Now };
                let origin = self.config.server_id;
                self.write(ctx, &stmt, db, text, (thread_id, &who), origin, sink)
            }
            _ => self.admin(ctx, &stmt),
        }
    }

    /// A SELECT with each `@@name` replaced by the variable's value (1193
    /// for a name the model does not know).
    fn with_variables(&self, stmt: Stmt, conn: ConnId, now_ms: i64) -> Result<Stmt, SqlError> {
        let Stmt::Select { table, mut items, mut filter, order, limit } = stmt else { return Ok(stmt) };
        let mut exprs: Vec<&mut Expr> = items
            .iter_mut()
            .filter_map(|i| match i {
                sql::SelectItem::Expr(e, _) => Some(e),
                sql::SelectItem::Star => None,
            })
            .collect();
        exprs.extend(filter.as_mut());
        for e in exprs {
            self.put_variables(e, conn, now_ms)?;
        }
        Ok(Stmt::Select { table, items, filter, order, limit })
    }

    fn put_variables(&self, e: &mut Expr, conn: ConnId, now_ms: i64) -> Result<(), SqlError> {
        match e {
            Expr::Session(name) => {
                let (user, host, _, thread_id) = self.session(conn);
                let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
                *e = Expr::Lit(match *name {
                    "version" => Value::Str(self.config.flavor.version().to_owned()),
                    "current_user" => {
                        let (u, h) = self.invoker(&format!("{user}@{host}")).unwrap_or_default();
                        Value::Str(format!("{u}@{h}"))
                    }
                    "connection_id" => Value::Int(i64::from(thread_id)),
                    "now" => Value::Str(crate::datetime(now_ms)),
                    _ => Value::Str(format!("{user}@{host}")),
                });
                Ok(())
            }
            Expr::Var(name) => {
                *e = Expr::Lit(
                    crate::variables::get(&self.config, self.read_only, name)
                        .ok_or_else(|| SqlError::new(1193, "HY000", format!("Unknown system variable '{name}'")))?,
                );
                Ok(())
            }
            Expr::Bin(_, a, b) => {
                self.put_variables(a, conn, now_ms).and_then(|()| self.put_variables(b, conn, now_ms))
            }
            Expr::Not(inner) | Expr::IsNull(inner, _) => self.put_variables(inner, conn, now_ms),
            Expr::Count(Some(inner)) => self.put_variables(inner, conn, now_ms),
            Expr::Lit(_) | Expr::Col(_) | Expr::Database | Expr::Values(_) | Expr::Count(None) => Ok(()),
        }
    }

    /// SHOW GRANTS: the account's global privileges in the server's order
    /// and words (MariaDB names REPLICATION CLIENT `BINLOG MONITOR` and shows
    /// the password hash; 5.7 quotes with `'` and shows none), then for
    /// root@localhost the PROXY grant its installation gives it.
    fn show_grants(&self, conn: ConnId, of: Option<&(String, String)>) -> Result<Outcome, SqlError> {
        let (user, host) = match of {
            Some((u, h)) => (u.clone(), h.clone()),
            None => {
                let (u, h, _, _) = self.session(conn);
                let h = h.rsplit_once(':').map_or(h, |(h, _)| h);
                self.invoker(&format!("{u}@{h}")).unwrap_or_default()
            }
        };
        let Some(account) = self.accounts.get(&(user.clone(), host.clone())) else {
            let message = format!("There is no such grant defined for user '{user}' on host '{host}'");
            return Err(SqlError::new(1141, "42000", message));
        };
        let mariadb = self.config.flavor == crate::flavor::Flavor::Mariadb1011;
        let q = |s: &str| if mariadb { format!("`{s}`") } else { format!("'{s}'") };
        let to = format!("{}@{}", q(&user), q(&host));
        let all = account.privileges.contains("ALL PRIVILEGES") || account.privileges.contains("ALL");
        let privileges = if all {
            "ALL PRIVILEGES".to_owned()
        } else {
            crate::flavor::privilege_list(self.config.flavor, &account.privileges).unwrap_or_else(|| "USAGE".into())
        };
        let mut line = format!("GRANT {privileges} ON *.* TO {to}");
        if let (true, Some(hash)) = (mariadb, account.hash) {
            let hex: String = hash.iter().map(|b| format!("{b:02X}")).collect();
            line.push_str(&format!(" IDENTIFIED BY PASSWORD '*{hex}'"));
        }
        if all && user == "root" {
            line.push_str(" WITH GRANT OPTION");
        }
        let mut rows = vec![vec![Some(line)]];
        if user == "root" && host == "localhost" {
            let anyone = if mariadb { "``@`%`" } else { "''@''" };
            rows.push(vec![Some(format!("GRANT PROXY ON {anyone} TO {to} WITH GRANT OPTION"))]);
        }
        let heading = format!("Grants for {user}@{host}");
        Ok(Outcome::Rows { columns: vec![(heading, false)], rows, nullable: Vec::new() })
    }

    /// SHOW DATABASES: the engine's and the server's own schemas, sorted
    /// (MySQL 5.7 lists information_schema first).
    fn show_databases(&self, like: Option<&str>) -> Outcome {
        let mut names: Vec<&str> = self.engine.dbs.keys().map(String::as_str).collect();
        names.extend(["information_schema", "performance_schema", "sys"]);
        names.sort_unstable();
        if self.config.flavor == crate::flavor::Flavor::Mysql57 {
            names.sort_by_key(|n| *n != "information_schema");
        }
        let heading = like.map_or_else(|| "Database".to_owned(), |p| format!("Database ({p})"));
        let rows = names.into_iter().filter(|n| like.is_none_or(|p| crate::engine::like_match(p, n)));
        Outcome::Rows {
            columns: vec![(heading, false)],
            rows: rows.map(|n| vec![Some(n.to_owned())]).collect(),
            nullable: Vec::new(),
        }
    }

    fn check_privileges(
        &self,
        stmt: &Stmt,
        a: &Account,
        user: &str,
        host: &str,
        db: Option<&str>,
    ) -> Result<(), SqlError> {
        if a.has("ALL PRIVILEGES") {
            return Ok(());
        }
        let denied_table = |cmd: &str, t: &sql::TableRef| {
            let d = t.db.as_deref().or(db).unwrap_or("");
            Err(SqlError::new(
                1142,
                "42000",
                format!("{cmd} command denied to user '{user}'@'{host}' for table `{d}`.`{}`", t.name),
            ))
        };
        match stmt {
            // a global grant of the statement's privilege (GRANT ... ON *.*) allows it
            Stmt::Select { table: Some(_), .. } if a.has("SELECT") => Ok(()),
            Stmt::Insert { .. } if a.has("INSERT") => Ok(()),
            Stmt::Update { .. } if a.has("UPDATE") => Ok(()),
            Stmt::Delete { .. } if a.has("DELETE") => Ok(()),
            Stmt::Select { table: Some(t), .. } => denied_table("SELECT", t),
            Stmt::Insert { table, .. } => denied_table("INSERT", table),
            Stmt::Update { table, .. } => denied_table("UPDATE", table),
            Stmt::Delete { table, .. } => denied_table("DELETE", table),
            Stmt::Truncate { .. } if a.has("DROP") => Ok(()),
            Stmt::Truncate { table } => denied_table("DROP", table),
            Stmt::CreateDatabase { name, .. } | Stmt::DropDatabase { name, .. } => {
                Err(SqlError::new(1044, "42000", format!("Access denied for user '{user}'@'%' to database '{name}'")))
            }
            Stmt::ShowMasterStatus | Stmt::ShowSlaveStatus | Stmt::ShowBinaryLogs | Stmt::ShowBinlogEvents { .. }
                if a.has("REPLICATION CLIENT") || a.has("BINLOG MONITOR") =>
            {
                Ok(())
            }
            Stmt::Select { table: None, .. }
            | Stmt::Use(_)
            | Stmt::Begin
            | Stmt::Commit
            | Stmt::Rollback
            | Stmt::ShowProcesslist { .. }
            | Stmt::ShowDatabases { .. }
            | Stmt::ShowTables { .. }
            | Stmt::ShowColumns { .. }
            | Stmt::ShowCreateTable { .. }
            | Stmt::ShowVariables { .. }
            | Stmt::ShowGrants(None)
            | Stmt::ShowWarnings => Ok(()),
            _ => Err(SqlError::new(
                1227,
                "42000",
                "Access denied; you need (at least one of) the SUPER privilege(s) for this operation",
            )),
        }
    }

    /// BEGIN (committing an open transaction first), COMMIT, ROLLBACK.
    fn transaction(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, stmt: &Stmt) {
        if let Some(Txn { mut undo, group }) = self.txns.remove(&conn) {
            if matches!(stmt, Stmt::Rollback) {
                self.engine.undo(undo);
            } else {
                self.commit_group(ctx, group);
                undo.clear();
                self.spare.undo = undo;
            }
        }
        if matches!(stmt, Stmt::Begin) {
            let txn = Txn { undo: std::mem::take(&mut self.spare.undo), group: self.fresh_group() };
            self.txns.insert(conn, txn);
        }
    }

    /// A connection closed with a transaction open: it is rolled back.
    fn abandon(&mut self, conn: ConnId) {
        if let Some(t) = self.txns.remove(&conn) {
            self.engine.undo(t.undo);
        }
    }

    /// Executes a write and records it for the redo log and, when the binlog
    /// filter lets it through, the binlog: at once, or when `sink`'s group commits.
    #[allow(clippy::too_many_arguments)] // the statement, its session and where it goes
    fn write(
        &mut self,
        ctx: &mut Ctx<'_>,
        stmt: &Stmt,
        db: Option<&str>,
        text: &str,
        session: (u32, &str),
        origin: u32,
        sink: Sink,
    ) -> Result<Outcome, SqlError> {
        let (thread_id, conn_host) = session;
        let insert_id =
            self.replica.as_mut().and_then(|r| r.insert_id.take()).filter(|_| origin != self.config.server_id);
        let outcome = self.apply_write(stmt, db, insert_id.map(|i| i as i64))?;
        // the changed rows, shared by the undo log and the binlog's row image
        let changes = Rc::new(std::mem::take(&mut self.engine.changes));
        self.note_undo(stmt, db, sink, &changes);
        let mut logged = None;
        let logged_db = match stmt {
            Stmt::CreateDatabase { name, .. } | Stmt::DropDatabase { name, .. } => Some(name.as_str()),
            _ => db,
        };
        let generated = match (&outcome, stmt) {
            (Outcome::Ok { insert_id, .. }, Stmt::Insert { .. }) if *insert_id > 0 && self.generated_id(stmt, db) => {
                Some(*insert_id)
            }
            _ => None,
        };
        let from_replica = origin != self.config.server_id;
        // MariaDB does not log CREATE TABLE IF NOT EXISTS of a table that exists
        let no_op = matches!(stmt, Stmt::CreateTable { if_not_exists: true, .. })
            && self.config.flavor == crate::flavor::Flavor::Mariadb1011
            && self.engine.warnings.iter().any(|w| w.1 == 1050);
        if self.binlog.is_some() && !no_op && (!from_replica || self.config.log_slave_updates) && self.binlog_filter(db)
        {
            let transactional = matches!(stmt, Stmt::Insert { .. } | Stmt::Update { .. } | Stmt::Delete { .. });
            let rows = self.rows_image(stmt, db, changes);
            let flavor = self.config.flavor;
            let query =
                if rows.is_some() && !flavor.annotates_rows() { String::new() } else { flavor.logged_text(stmt, text) };
            let l = Logged {
                server_id: origin,
                timestamp: self.timestamp(ctx),
                thread_id,
                db: logged_db.unwrap_or("").to_owned(),
                query,
                // a row image carries the generated values: only a statement needs INSERT_ID
                insert_id: generated.filter(|_| rows.is_none()),
                invoker: self.config.flavor.logs_invoker(stmt).then(|| self.invoker(conn_host)).flatten(),
                suppress_use: matches!(stmt, Stmt::CreateDatabase { .. } | Stmt::DropDatabase { .. }),
                ddl_xid: matches!(stmt, Stmt::CreateTable { .. } | Stmt::DropTable { .. } | Stmt::DropDatabase { .. }),
                ddl: !matches!(stmt, Stmt::FlushPrivileges),
                rows,
                transactional,
            };
            if transactional && l.rows.is_none() && self.config.binlog_format == BinlogFormat::Row {
                return Ok(outcome); // no row changed: nothing to log
            }
            logged = Some(l);
        }
        match self.group_mut(sink) {
            Some(group) => {
                Self::redo_line(db, text, &mut group.redo);
                group.logged.extend(logged);
            }
            None => {
                let mut now = Group { logged: logged.into_iter().collect(), redo: Vec::new() };
                Self::redo_line(db, text, &mut now.redo);
                self.commit_group(ctx, now);
            }
        }
        Ok(outcome)
    }

    /// Keeps the rows a DML statement just changed to undo them if `sink`'s
    /// transaction rolls back (autocommit statements need none).
    fn note_undo(&mut self, stmt: &Stmt, db: Option<&str>, sink: Sink, changes: &Rc<Vec<RowChange>>) {
        let (Stmt::Insert { table, .. } | Stmt::Update { table, .. } | Stmt::Delete { table, .. }) = stmt else {
            return;
        };
        if matches!(sink, Sink::Now) {
            return;
        }
        let (d, t) = self.undo_names(table.db.as_deref().or(db).unwrap_or(""), &table.name);
        let undo = match sink {
            Sink::Now => return,
            Sink::Txn(conn) => match self.txns.get_mut(&conn) {
                Some(t) => &mut t.undo,
                None => return,
            },
            Sink::Replica => &mut self.applying_undo,
        };
        undo.push((d, t, changes.clone()));
    }

    /// A database and table name for the undo log, shared with the last
    /// entry's when they are the same (a transaction's statements mostly are).
    pub(super) fn undo_names(&mut self, db: &str, table: &str) -> (Rc<str>, Rc<str>) {
        let (d, t) = &mut self.undo_names;
        (shared(d, db), shared(t, table))
    }

    /// The row images of a DML statement just executed, under binlog_format=ROW.
    fn rows_image(&mut self, stmt: &Stmt, db: Option<&str>, changes: Rc<Vec<RowChange>>) -> Option<RowsImage> {
        if self.config.binlog_format != BinlogFormat::Row || changes.is_empty() {
            return None;
        }
        // each change's kind (write, update, delete) is its shape: see `binlog::rows_runs`
        let table = match stmt {
            Stmt::Insert { table, .. } | Stmt::Update { table, .. } | Stmt::Delete { table, .. } => table,
            _ => return None,
        };
        self.image(table.db.as_deref().or(db)?, &table.name, changes)
    }

    /// A rows image of `changes` on `db.table`, with the table's id (ids are
    /// given in first-use order from 18, the id a freshly started MariaDB
    /// 10.11 gave its first user table). The table's description is kept
    /// with its id and made again only when its columns changed.
    pub(super) fn image(&mut self, db: &str, table: &str, changes: Rc<Vec<RowChange>>) -> Option<RowsImage> {
        let columns = &self.engine.get_table(db, table)?.columns;
        let (ids, given) = &mut self.table_ids;
        let known = ids.get(db).and_then(|t| t.get(table));
        let same = |d: &TableDesc| {
            d.columns.len() == columns.len()
                && d.columns.iter().zip(columns).all(|(&(ty, nullable), c)| ty == c.ty && nullable != c.not_null)
        };
        let desc = match known {
            Some(d) if same(d) => d.clone(),
            _ => {
                let table_id = match known {
                    Some(d) => d.table_id,
                    None => {
                        *given += 1;
                        17 + *given
                    }
                };
                let columns = columns.iter().map(|c| (c.ty, !c.not_null)).collect();
                let desc = Rc::new(TableDesc::new(table_id, db.to_owned(), table.to_owned(), columns));
                ids.entry(db.to_owned()).or_default().insert(table.to_owned(), desc.clone());
                desc
            }
        };
        Some(RowsImage { table: desc, changes })
    }

    /// The account `user@host` logged in as: (user, the account's host).
    fn invoker(&self, session: &str) -> Option<(String, String)> {
        let (user, host) = session.split_once('@')?;
        let exact = (user.to_owned(), host.to_owned());
        if self.accounts.contains_key(&exact) { Some(exact) } else { Some((user.to_owned(), "%".to_owned())) }
    }

    fn generated_id(&self, stmt: &Stmt, db: Option<&str>) -> bool {
        let Stmt::Insert { table, .. } = stmt else { return false };
        let d = table.db.as_deref().or(db).unwrap_or("");
        self.engine
            .dbs
            .get(d)
            .and_then(|t| t.get(&table.name))
            .is_some_and(|t| t.columns.iter().any(|c| c.auto_increment))
    }

    /// binlog-do-db / binlog-ignore-db for statement events: the default database decides.
    fn binlog_filter(&self, db: Option<&str>) -> bool {
        let c = &self.config;
        match db {
            _ if c.binlog_do_db.is_empty() && c.binlog_ignore_db.is_empty() => true,
            None => c.binlog_do_db.is_empty(),
            Some(d) if !c.binlog_do_db.is_empty() => c.binlog_do_db.iter().any(|x| x == d),
            Some(d) => !c.binlog_ignore_db.iter().any(|x| x == d),
        }
    }

    fn append_binlog(&mut self, ctx: &mut Ctx<'_>, logged: &[Logged]) {
        let Some(b) = self.binlog.as_mut() else { return };
        let start = b.current.len();
        b.log(logged);
        let disk = ctx.disk();
        disk.append(b.file(), &b.current[start..]);
        if self.config.sync_binlog == 1 {
            disk.fsync(b.file());
        }
        if b.position() >= self.config.max_binlog_size {
            self.flush_logs(ctx); // it sends the dumps what is new
        } else {
            self.pump_dumps(ctx);
        }
    }

    /// Sends every dump connection what the binlog has that it has not.
    fn pump_dumps(&mut self, ctx: &mut Ctx<'_>) {
        let dumps: Vec<ConnId> =
            self.clients.iter().filter(|(_, c)| matches!(c.phase, Phase::Dump { .. })).map(|(id, _)| *id).collect();
        for conn in dumps {
            self.pump(ctx, conn);
        }
    }

    fn register_slave(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, body: &[u8]) {
        let (user, _, _, _) = self.session(conn);
        let allowed = self.account(user).is_some_and(|a| a.has("REPLICATION SLAVE"));
        let reply = if allowed {
            // server id, report host, user, password, port, rank, master id;
            // MariaDB shows the connection's host for an empty report host
            // and its own id for master id 0
            let mut r = packet::Reader::new(body);
            let short = |r: &mut packet::Reader<'_>| {
                let n = usize::from(r.u8()?);
                r.take(n).map(|b| String::from_utf8_lossy(b).into_owned())
            };
            let server_id = r.u32();
            let (host, _, _) = (short(&mut r), short(&mut r), short(&mut r));
            let (port, _, master_id) = (r.u16(), r.u32(), r.u32());
            let own = self.config.server_id;
            if let (Some(c), Some(id), Some(host), Some(port), Some(m)) =
                (self.clients.get_mut(&conn), server_id, host, port, master_id)
            {
                let host = if host.is_empty() { c.host.clone() } else { host };
                c.slave_host = Some((id, host, port, if m == 0 { own } else { m }));
            }
            packet::ok(0, 0, 0, "")
        } else {
            packet::err(
                1227,
                "42000",
                "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation",
            )
        };
        Self::reply(ctx, conn, 1, &[reply]);
    }

    fn binlog_dump(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, body: &[u8]) {
        let mut r = packet::Reader::new(body);
        let (Some(pos), Some(_), Some(_)) = (r.u32(), r.u16(), r.u32()) else { return };
        let file = String::from_utf8_lossy(r.rest()).into_owned();
        let (user, _, _, _) = self.session(conn);
        if !self.account(user).is_some_and(|a| a.has("REPLICATION SLAVE")) {
            Self::reply(
                ctx,
                conn,
                1,
                &[packet::err(
                    1227,
                    "42000",
                    "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation",
                )],
            );
            return;
        }
        let Some(index) = self.binlog.as_ref().and_then(|b| b.files.iter().position(|f| *f == file)) else {
            let msg = "Could not find first log file name in binary log index file";
            Self::reply(ctx, conn, 1, &[packet::err(1236, "HY000", msg)]);
            return;
        };
        let server_id = self.config.server_id;
        let mut first = vec![0u8];
        first.extend_from_slice(&Binlog::fake_rotate(server_id, &file, pos as u64));
        let mut packets = vec![first];
        if pos > 4 {
            // from inside a file, the file's Format description follows with
            // position 0 (measured: the relay log holds it after the Rotate)
            packets.push([vec![0u8], self.dump_fde(ctx, index)].concat());
        }
        Self::reply(ctx, conn, 1, &packets);
        if let Some(c) = self.clients.get_mut(&conn) {
            c.phase = Phase::Dump { file: index, pos: pos as u64 };
            c.since_ms = ctx.wall_clock_ms();
        }
        self.pump(ctx, conn);
    }

    /// The Format description event of the binlog file at `index`, with
    /// position 0, as a dump starting inside the file sends it.
    fn dump_fde(&self, ctx: &mut Ctx<'_>, index: usize) -> Vec<u8> {
        let Some(b) = self.binlog.as_ref() else { return Vec::new() };
        let last = index + 1 == b.files.len();
        let bytes = if last {
            b.current.clone()
        } else {
            b.files.get(index).and_then(|f| ctx.disk().read(f)).map(<[u8]>::to_vec).unwrap_or_default()
        };
        let view = Binlog { current: bytes, ..Binlog::default() };
        let Some(mut e) = view.events_from(4).into_iter().next() else { return Vec::new() };
        if e.len() < 23 {
            return e;
        }
        e[13..17].fill(0);
        let n = e.len() - 4;
        let crc = crc32fast::hash(&e[..n]);
        e[n..].copy_from_slice(&crc.to_le_bytes());
        e
    }

    /// Sends a dump connection every event from its position on, across files.
    fn pump(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        loop {
            let Some(Client { phase: Phase::Dump { file, pos }, .. }) = self.clients.get(&conn) else { return };
            let (file, pos) = (*file, *pos);
            let Some(b) = self.binlog.as_ref() else { return };
            let Some(name) = b.files.get(file) else { return };
            let last = file + 1 == b.files.len();
            // the current file is read in place: a dump's cost is its new events, not the file
            let older;
            let bytes = if last {
                &b.current
            } else {
                older = ctx.disk().read(name).map(<[u8]>::to_vec).unwrap_or_default();
                &older
            };
            // each event is a packet: 0x00 and the event, numbered from 2
            let (mut out, mut end, mut seq) =
                (Vec::with_capacity(bytes.len().saturating_sub(pos as usize) * 9 / 8), pos, 2u8);
            for r in crate::binlog::events_in(bytes, pos as usize) {
                end += r.len() as u64;
                out.extend_from_slice(&(r.len() as u32 + 1).to_le_bytes()[..3]);
                out.extend_from_slice(&[seq, 0]);
                out.extend_from_slice(&bytes[r]);
                seq = seq.wrapping_add(1);
            }
            if !out.is_empty() {
                ctx.send(conn, &out);
            }
            let next = if last { None } else { b.files.get(file + 1).cloned() };
            if let Some(Client { phase: Phase::Dump { file: f, pos: p }, .. }) = self.clients.get_mut(&conn) {
                match &next {
                    Some(n) => {
                        (*f, *p) = (file + 1, 4);
                        let mut rot = vec![0u8];
                        rot.extend_from_slice(&Binlog::fake_rotate(self.config.server_id, n, 4));
                        Self::reply(ctx, conn, 2, &[rot]);
                    }
                    None => *p = end,
                }
            }
            if next.is_none() {
                return;
            }
        }
    }
}

/// The packets of a statement's reply.
fn outcome_packets(o: Outcome, warnings: u16) -> Vec<Vec<u8>> {
    match o {
        Outcome::Ok { affected, insert_id, info } => vec![packet::ok(affected, insert_id, warnings, &info)],
        Outcome::Rows { columns, rows, nullable } => {
            let mut out = Vec::new();
            let mut count = Vec::new();
            packet::put_lenenc(&mut count, columns.len() as u64);
            out.push(count);
            for (i, (name, numeric)) in columns.iter().enumerate() {
                let ty = if *numeric { packet::ColumnType::LongLong } else { packet::ColumnType::VarString };
                out.push(packet::column_def("", "", name, ty, 20, nullable.get(i).copied().unwrap_or(false)));
            }
            out.push(packet::eof());
            for r in &rows {
                out.push(packet::row(r));
            }
            out.push(packet::eof());
            out
        }
    }
}

// The replica side lives in its own file.
#[path = "replica.rs"]
mod replica;
// The relay log and the info files.
#[path = "relay.rs"]
mod relay;
// SHOW PROCESSLIST.
#[path = "processlist.rs"]
mod processlist;
pub use replica::SLAVE_STATUS_COLUMNS;
