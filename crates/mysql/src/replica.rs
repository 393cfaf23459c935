//! The replica side of [`Server`]: the replication statements, the IO thread
//! and the SQL thread.

use super::relay::{MASTER_INFO, RELAY_INFO};
use super::{IoState, Link, Queued, RETRY, Replica, Server, shared};
use crate::binlog::{self, Binlog, Body};
use crate::engine::{Outcome, RowError};
use crate::packet::{self, Frame, Framer};
use crate::sql::{SqlError, Stmt, Threads};
use sim::{CloseReason, Ctx};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

/// SHOW SLAVE STATUS's columns in MariaDB 10.11, in order.
pub const SLAVE_STATUS_COLUMNS: [&str; 54] = [
    "Slave_IO_State",
    "Master_Host",
    "Master_User",
    "Master_Port",
    "Connect_Retry",
    "Master_Log_File",
    "Read_Master_Log_Pos",
    "Relay_Log_File",
    "Relay_Log_Pos",
    "Relay_Master_Log_File",
    "Slave_IO_Running",
    "Slave_SQL_Running",
    "Replicate_Do_DB",
    "Replicate_Ignore_DB",
    "Replicate_Do_Table",
    "Replicate_Ignore_Table",
    "Replicate_Wild_Do_Table",
    "Replicate_Wild_Ignore_Table",
    "Last_Errno",
    "Last_Error",
    "Skip_Counter",
    "Exec_Master_Log_Pos",
    "Relay_Log_Space",
    "Until_Condition",
    "Until_Log_File",
    "Until_Log_Pos",
    "Master_SSL_Allowed",
    "Master_SSL_CA_File",
    "Master_SSL_CA_Path",
    "Master_SSL_Cert",
    "Master_SSL_Cipher",
    "Master_SSL_Key",
    "Seconds_Behind_Master",
    "Master_SSL_Verify_Server_Cert",
    "Last_IO_Errno",
    "Last_IO_Error",
    "Last_SQL_Errno",
    "Last_SQL_Error",
    "Replicate_Ignore_Server_Ids",
    "Master_Server_Id",
    "Master_SSL_Crl",
    "Master_SSL_Crlpath",
    "Using_Gtid",
    "Gtid_IO_Pos",
    "Replicate_Do_Domain_Ids",
    "Replicate_Ignore_Domain_Ids",
    "Parallel_Mode",
    "SQL_Delay",
    "SQL_Remaining_Delay",
    "Slave_SQL_Running_State",
    "Slave_DDL_Groups",
    "Slave_Non_Transactional_Groups",
    "Slave_Transactional_Groups",
    "Replicate_Rewrite_DB",
];

fn ok() -> Outcome {
    Outcome::Ok { affected: 0, insert_id: 0, info: String::new() }
}

impl Server {
    /// Replication and server statements.
    pub(super) fn admin(&mut self, ctx: &mut Ctx<'_>, stmt: &Stmt) -> Result<Outcome, SqlError> {
        match stmt {
            Stmt::ShowMasterStatus => Ok(self.show_master_status()),
            Stmt::ShowSlaveStatus => {
                let columns =
                    self.config.flavor.slave_status_columns().iter().map(|c| (c.to_string(), false)).collect();
                let rows = self
                    .slave_status(ctx.wall_clock_ms())
                    .map(|f| f.into_iter().map(|(_, v)| v).collect())
                    .into_iter()
                    .collect();
                Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
            }
            Stmt::ShowBinaryLogs => self.show_binary_logs(ctx),
            Stmt::ShowProcesslist { full } => Ok(self.show_processlist(ctx.wall_clock_ms(), *full)),
            Stmt::ShowBinlogEvents { file, from } => self.show_binlog_events(ctx, file.as_deref(), *from),
            Stmt::ResetMaster => self.reset_master(ctx),
            Stmt::ChangeMaster(pairs) => self.change_master(ctx, pairs),
            Stmt::StartSlave(threads) => self.start_slave(ctx, *threads),
            Stmt::StopSlave(threads) => {
                self.stop_slave(ctx, *threads);
                Ok(ok())
            }
            Stmt::ResetSlave { all } => self.reset_slave(ctx, *all),
            Stmt::FlushLogs => {
                self.flush_logs(ctx);
                Ok(ok())
            }
            Stmt::SetGlobal(name, value) => self.set_global(name, value),
            _ => Err(SqlError::unsupported("this statement")),
        }
    }

    fn show_master_status(&self) -> Outcome {
        let columns =
            self.config.flavor.master_status_columns().iter().map(|c| (c.to_string(), *c == "Position")).collect();
        let rows = match &self.binlog {
            Some(b) => vec![
                vec![
                    Some(b.file().to_owned()),
                    Some(b.position().to_string()),
                    Some(self.config.binlog_do_db.join(",")),
                    Some(self.config.binlog_ignore_db.join(",")),
                    Some(String::new()),
                ]
                .into_iter()
                .take(self.config.flavor.master_status_columns().len())
                .collect(),
            ],
            None => Vec::new(),
        };
        Outcome::Rows { columns, rows, nullable: Vec::new() }
    }

    fn show_binary_logs(&self, ctx: &mut Ctx<'_>) -> Result<Outcome, SqlError> {
        let Some(b) = &self.binlog else {
            return Err(SqlError::new(1381, "HY000", "You are not using binary logging"));
        };
        let columns = vec![("Log_name".to_owned(), false), ("File_size".to_owned(), true)];
        let mut rows = Vec::new();
        for (i, f) in b.files.iter().enumerate() {
            let size = if i + 1 == b.files.len() { b.current.len() } else { ctx.disk().len(f).unwrap_or(0) };
            rows.push(vec![Some(f.clone()), Some(size.to_string())]);
        }
        Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
    }

    fn show_binlog_events(&self, ctx: &mut Ctx<'_>, file: Option<&str>, from: u64) -> Result<Outcome, SqlError> {
        let Some(b) = &self.binlog else {
            return Ok(Outcome::Rows { columns: Vec::new(), rows: Vec::new(), nullable: Vec::new() });
        };
        let name = file.unwrap_or_else(|| b.files.first().map_or("", String::as_str)).to_owned();
        let bytes = if name == b.file() {
            b.current.clone()
        } else if b.files.contains(&name) {
            ctx.disk().read(&name).map(<[u8]>::to_vec).unwrap_or_default()
        } else {
            return Err(SqlError::new(
                1220,
                "HY000",
                "Error when executing command SHOW BINLOG EVENTS: Could not find target log",
            ));
        };
        let view = Binlog { current: bytes, ..Binlog::default() };
        let columns = ["Log_name", "Pos", "Event_type", "Server_id", "End_log_pos", "Info"]
            .iter()
            .map(|c| (c.to_string(), matches!(*c, "Pos" | "Server_id" | "End_log_pos")))
            .collect();
        let mut rows = Vec::new();
        let mut pos = from;
        for e in view.events_from(from) {
            let Some((h, body)) = binlog::decode(&e) else { break };
            let (kind, info) = binlog::describe(&e, &h, &body);
            rows.push(vec![
                Some(name.clone()),
                Some(pos.to_string()),
                Some(kind.to_owned()),
                Some(h.server_id.to_string()),
                Some(h.log_pos.to_string()),
                Some(info),
            ]);
            pos += e.len() as u64;
        }
        Ok(Outcome::Rows { columns, rows, nullable: Vec::new() })
    }

    fn reset_master(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome, SqlError> {
        let Some(b) = self.binlog.take() else {
            return Err(SqlError::new(1186, "HY000", "Binlog closed, cannot RESET MASTER"));
        };
        for f in &b.files {
            ctx.disk().remove(f);
        }
        ctx.disk().remove(&format!("{}.index", b.base));
        self.open_binlog(ctx, b.base);
        Ok(ok())
    }

    /// SHOW SLAVE STATUS's fields (None for NULL), on a host whose clock
    /// reads `wall_ms`; `None` before CHANGE MASTER TO.
    pub fn slave_status(&self, wall_ms: i64) -> Option<Vec<(&'static str, Option<String>)>> {
        let r = self.replica.as_ref()?;
        let io = match r.io {
            IoState::Stopped => "No",
            IoState::Connecting => "Connecting",
            IoState::Running => "Yes",
        };
        let io_state = self.io_state_text();
        let behind = if r.sql_running && r.io == IoState::Running {
            if r.queue.is_empty() {
                "0".to_owned()
            } else {
                ((wall_ms.max(0) / 1000) as u32).saturating_sub(r.last_master_ts).to_string()
            }
        } else {
            "NULL".to_owned()
        };
        let sql_state = if r.sql_running { "Slave has read all relay log; waiting for more updates" } else { "" };
        let values: Vec<String> = vec![
            io_state.into(),
            r.host.clone(),
            r.user.clone(),
            r.port.to_string(),
            r.connect_retry.to_string(),
            r.master_log_file.clone(),
            r.read_pos.to_string(),
            self.relay.exec.0.clone(),
            self.relay.exec.1.to_string(),
            r.exec_file.clone(),
            io.into(),
            if r.sql_running { "Yes" } else { "No" }.into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            r.last_sql_error.0.to_string(),
            r.last_sql_error.1.clone(),
            r.skip_counter.to_string(),
            r.exec_pos.to_string(),
            self.relay.space().to_string(),
            "None".into(),
            String::new(),
            "0".into(),
            "No".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            behind,
            "No".into(),
            r.last_io_error.0.to_string(),
            r.last_io_error.1.clone(),
            r.last_sql_error.0.to_string(),
            r.last_sql_error.1.clone(),
            String::new(),
            r.master_server_id.to_string(),
            String::new(),
            String::new(),
            "No".into(),
            String::new(),
            String::new(),
            String::new(),
            "optimistic".into(),
            "0".into(),
            "NULL".into(),
            sql_state.into(),
            r.groups.0.to_string(),
            r.groups.1.to_string(),
            r.groups.2.to_string(),
            String::new(),
        ];
        let fields = SLAVE_STATUS_COLUMNS
            .iter()
            .copied()
            .zip(values.into_iter().map(|v| if v == "NULL" { None } else { Some(v) }))
            .collect();
        // the replica does not ask its master for @@server_uuid: Master_UUID stays empty
        Some(self.config.flavor.slave_status(fields, ""))
    }

    /// `Slave_IO_State` (also the IO thread's SHOW PROCESSLIST state).
    pub(super) fn io_state_text(&self) -> &'static str {
        let Some(r) = &self.replica else { return "" };
        match (r.io, r.link) {
            (IoState::Stopped, _) => "",
            (IoState::Connecting, _) if r.reconnecting => "Reconnecting after a failed master event read",
            (IoState::Connecting, _) => "Connecting to master",
            (IoState::Running, Link::Streaming) => "Waiting for master to send event",
            (IoState::Running, _) => "Registering slave on master",
        }
    }

    fn change_master(&mut self, ctx: &mut Ctx<'_>, pairs: &[(String, String)]) -> Result<Outcome, SqlError> {
        if self.replica.as_ref().is_some_and(|r| r.io != IoState::Stopped || r.sql_running) {
            return Err(SqlError::new(
                1198,
                "HY000",
                "This operation cannot be performed as you have a running slave ''; run STOP SLAVE '' first",
            ));
        }
        let mut r = self.replica.take().unwrap_or_else(Replica::new);
        Self::apply_pairs(&mut r, pairs)?;
        r.exec_file = r.master_log_file.clone();
        r.exec_pos = r.read_pos;
        r.queue.clear();
        self.replica = Some(r);
        self.relay_reset(ctx);
        self.sync_infos(ctx);
        Ok(ok())
    }

    fn apply_pairs(r: &mut Replica, pairs: &[(String, String)]) -> Result<(), SqlError> {
        for (k, v) in pairs {
            let num = || v.parse::<u64>().map_err(|_| SqlError::syntax(v));
            match k.as_str() {
                "master_host" => r.host = v.clone(),
                "master_user" => r.user = v.clone(),
                "master_password" => r.password = v.clone(),
                "master_port" => r.port = u16::try_from(num()?).map_err(|_| SqlError::syntax(v))?,
                "master_connect_retry" => r.connect_retry = num()?.max(1),
                "master_log_file" => r.master_log_file = v.clone(),
                "master_log_pos" => r.read_pos = num()?.max(4),
                _ => return Err(SqlError::unsupported(&format!("CHANGE MASTER TO {k}"))),
            }
        }
        Ok(())
    }
}

impl Replica {
    fn new() -> Replica {
        Replica {
            host: String::new(),
            port: 3306,
            user: String::new(),
            password: String::new(),
            connect_retry: 60,
            master_log_file: String::new(),
            read_pos: 4,
            exec_file: String::new(),
            exec_pos: 4,
            io: IoState::Stopped,
            sql_running: false,
            last_io_error: (0, String::new()),
            last_sql_error: (0, String::new()),
            master_server_id: 0,
            skip_counter: 0,
            conn: None,
            link: Link::Greeting,
            framer: Framer::default(),
            queue: VecDeque::new(),
            queued_file: Rc::from(""),
            last_master_ts: 0,
            insert_id: None,
            in_group: false,
            group: Vec::new(),
            skipping: false,
            annotate: String::new(),
            reconnecting: false,
            table_maps: BTreeMap::new(),
            decoder: binlog::Decoder::default(),
            groups: (0, 0, 0),
            io_thread: (0, 0),
            io_registered: false,
            sql_thread: (0, 0),
        }
    }
}

impl Server {
    /// At start: a replica configured before the restart comes back from
    /// its info files (what the page cache or the disk kept of them). A new
    /// relay log file opens. Without `relay_log_recovery` the IO thread goes
    /// on from master.info's read position and the SQL thread from
    /// relay-log.info's, executing what the relay log holds from there; with
    /// it the old relay logs are dropped and the IO thread fetches again from
    /// the SQL thread's position (MariaDB's `[Warning] Recovery from master
    /// pos ...`, measured).
    pub(super) fn restore_replica(&mut self, ctx: &mut Ctx<'_>) {
        let Some((file, pos, host, user, password, port, retry)) = Self::read_master_info(ctx) else { return };
        let mut r = Replica::new();
        (r.master_log_file, r.read_pos, r.host, r.user, r.password, r.port, r.connect_retry) =
            (file, pos, host, user, password, port, retry);
        let info = Self::read_relay_info(ctx);
        let new_file = self.relay_open_new(ctx);
        (r.exec_file, r.exec_pos) =
            info.as_ref().map_or((r.master_log_file.clone(), r.read_pos), |i| (i.2.clone(), i.3));
        self.relay.exec = info.as_ref().map_or((new_file, 4), |i| (i.0.clone(), i.1));
        self.replica = Some(r);
        if self.config.relay_log_recovery {
            self.relay_discard_old(ctx);
            let Some(r) = self.replica.as_mut() else { return };
            crate::log(ctx, format!("[Warning] Recovery from master pos {} and file {}.", r.exec_pos, r.exec_file));
            (r.master_log_file, r.read_pos) = (r.exec_file.clone(), r.exec_pos);
            self.sync_infos(ctx);
        } else {
            let master_file = self.replica.as_ref().map(|r| r.exec_file.clone()).unwrap_or_default();
            let queued = self.relay_requeue(ctx, &master_file);
            if let Some(r) = self.replica.as_mut() {
                r.queue = queued;
            }
        }
        let _ = self.start_slave(ctx, Threads { io: true, sql: true });
    }

    /// START SLAVE [IO_THREAD | SQL_THREAD]: starts the named threads that
    /// are stopped; when all of them already run, MariaDB's note 1254.
    fn start_slave(&mut self, ctx: &mut Ctx<'_>, threads: Threads) -> Result<Outcome, SqlError> {
        let Some(r) = self.replica.as_mut().filter(|r| !r.host.is_empty()) else {
            return Err(SqlError::new(
                1200,
                "HY000",
                "Misconfigured slave: MASTER_HOST was not set; Fix in config file or with CHANGE MASTER TO",
            ));
        };
        let start_sql = threads.sql && !r.sql_running;
        let start_io = threads.io && r.io == IoState::Stopped;
        if !start_sql && !start_io {
            self.note(1254, "Slave is already running");
            return Ok(ok());
        }
        let now = ctx.wall_clock_ms();
        if start_io {
            self.next_thread += 1;
            r.io_thread = (self.next_thread, now);
            r.io_registered = false;
        }
        if start_sql {
            self.next_thread += 1;
            r.sql_thread = (self.next_thread, now);
            r.sql_running = true;
            r.last_sql_error = (0, String::new());
        }
        let (user, host, port) = (r.user.clone(), r.host.clone(), r.port);
        let (read, exec) = ((r.master_log_file.clone(), r.read_pos), (r.exec_file.clone(), r.exec_pos));
        if start_io {
            r.io = IoState::Connecting;
            crate::log(
                ctx,
                format!(
                    "[Note] Slave I/O thread: Start asynchronous replication to master '{user}@{host}:{port}' in log '{}' at position {}",
                    read.0, read.1
                ),
            );
            self.io_connect(ctx);
        }
        if start_sql {
            let (rf, rp) = &self.relay.exec;
            crate::log(
                ctx,
                format!(
                    "[Note] Slave SQL thread initialized, starting replication in log '{}' at position {}, relay log './{rf}' position: {rp}",
                    exec.0, exec.1
                ),
            );
        }
        self.sql_thread(ctx);
        Ok(ok())
    }

    /// STOP SLAVE [IO_THREAD | SQL_THREAD]: stops the named threads; the
    /// other goes on (the SQL thread applies what was already received, the
    /// IO thread keeps receiving). When none of them runs, note 1255.
    fn stop_slave(&mut self, ctx: &mut Ctx<'_>, threads: Threads) {
        let Some(r) = self.replica.as_mut() else {
            self.note(1255, "Slave already has been stopped");
            return;
        };
        let stop_io = threads.io && r.io != IoState::Stopped;
        let stop_sql = threads.sql && r.sql_running;
        if !stop_io && !stop_sql {
            self.note(1255, "Slave already has been stopped");
            return;
        }
        if stop_sql {
            r.sql_running = false;
        }
        if stop_io {
            r.io = IoState::Stopped;
            r.reconnecting = false;
            if let Some(c) = r.conn.take() {
                ctx.close(c);
            }
        }
    }

    fn reset_slave(&mut self, ctx: &mut Ctx<'_>, all: bool) -> Result<Outcome, SqlError> {
        if self.replica.as_ref().is_some_and(|r| r.io != IoState::Stopped || r.sql_running) {
            return Err(SqlError::new(
                1198,
                "HY000",
                "This operation cannot be performed as you have a running slave ''; run STOP SLAVE '' first",
            ));
        }
        // the relay logs go and a new `.000001` starts (RESET SLAVE ALL too)
        self.relay_reset(ctx);
        ctx.disk().remove(RELAY_INFO);
        if all {
            self.replica = None;
            ctx.disk().remove(MASTER_INFO);
        } else if let Some(r) = self.replica.as_mut() {
            r.last_io_error = (0, String::new());
            r.last_sql_error = (0, String::new());
            r.queue.clear();
        }
        Ok(ok())
    }

    /// FLUSH LOGS, and what a group that takes the binlog to
    /// `max_binlog_size` or past it does: a Rotate event ends the file and
    /// the next one starts.
    pub(super) fn flush_logs(&mut self, ctx: &mut Ctx<'_>) {
        let ts = self.timestamp(ctx);
        let server_id = self.config.server_id;
        let Some(b) = self.binlog.as_mut() else { return };
        let next = format!("{}.{:06}", b.base, b.files.len() + 1);
        let mut body = 4u64.to_le_bytes().to_vec();
        body.extend_from_slice(next.as_bytes());
        let h = binlog::Header { timestamp: ts, kind: binlog::kind::ROTATE, server_id, log_pos: 0 };
        let e =
            binlog::event(binlog::Header { log_pos: (b.position() as u32) + binlog::size(body.len()), ..h }, 0, &body);
        let old = b.file().to_owned();
        ctx.disk().append(&old, &e);
        let name = b.open_next(server_id, ts, true);
        let listing: String = b.files.iter().map(|f| format!("./{f}\n")).collect();
        let index = format!("{}.index", b.base);
        let current = b.current.clone();
        let disk = ctx.disk();
        disk.write(&name, &current);
        disk.write(&index, listing.as_bytes());
        self.pump_dumps(ctx);
    }

    fn set_global(&mut self, name: &str, value: &str) -> Result<Outcome, SqlError> {
        let flag = |v: &str| match v.to_ascii_uppercase().as_str() {
            "1" | "ON" | "TRUE" => Ok(true),
            "0" | "OFF" | "FALSE" => Ok(false),
            _ => Err(SqlError::new(1231, "42000", format!("Variable '{name}' can't be set to the value of '{v}'"))),
        };
        match name {
            "read_only" => self.read_only = flag(value)?,
            "sql_slave_skip_counter" => {
                let n = value.parse::<u64>().map_err(|_| {
                    SqlError::new(1232, "42000", format!("Incorrect argument type to variable '{name}'"))
                })?;
                if let Some(r) = self.replica.as_mut() {
                    r.skip_counter = n;
                }
            }
            _ => return Err(SqlError::new(1193, "HY000", format!("Unknown system variable '{name}'"))),
        }
        Ok(ok())
    }

    // ---- the IO thread ----

    pub(super) fn io_connect(&mut self, ctx: &mut Ctx<'_>) {
        let Some(r) = self.replica.as_mut() else { return };
        if r.io == IoState::Stopped || r.conn.is_some() {
            return;
        }
        let ip: Ipv4Addr = match r.host.as_str() {
            "localhost" => Ipv4Addr::LOCALHOST,
            h => h.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        r.framer = Framer::default();
        r.link = Link::Greeting;
        r.conn = Some(ctx.connect(SocketAddrV4::new(ip, r.port)));
    }

    fn io_error(&mut self, ctx: &mut Ctx<'_>, errno: u16, message: &str) {
        let Some(r) = self.replica.as_mut() else { return };
        let verb = if r.reconnecting { "reconnecting" } else { "connecting" };
        let text = format!(
            "error {verb} to master '{}@{}:{}' - retry-time: {}  maximum-retries: 100000  message: {message}",
            r.user, r.host, r.port, r.connect_retry
        );
        crate::log(ctx, format!("[ERROR] Slave I/O: {text}, Internal MariaDB error code: {errno}"));
        r.last_io_error = (errno, text);
        r.io = IoState::Connecting;
        r.conn = None;
        let retry = Duration::from_secs(r.connect_retry);
        ctx.set_timer(retry, RETRY);
    }

    pub(super) fn io_connect_failed(&mut self, ctx: &mut Ctx<'_>) {
        let host = self.replica.as_ref().map(|r| r.host.clone()).unwrap_or_default();
        self.io_error(ctx, 2003, &format!("Can't connect to server on '{host}' (111 \"Connection refused\")"));
    }

    pub(super) fn io_lost(&mut self, ctx: &mut Ctx<'_>, _reason: CloseReason) {
        let Some(r) = self.replica.as_mut() else { return };
        r.conn = None;
        if r.io == IoState::Stopped {
            return;
        }
        let was_streaming = r.link == Link::Streaming;
        r.io = IoState::Connecting;
        if was_streaming {
            r.reconnecting = true;
            crate::log(
                ctx,
                format!(
                    "[Note] Slave I/O thread: Failed reading log event, reconnecting to retry, log '{}' at position {}",
                    r.master_log_file, r.read_pos
                ),
            );
            self.io_connect(ctx);
        } else {
            self.io_error(
                ctx,
                2013,
                "Lost connection to server at 'handshake: reading initial communication packet', system error: 0",
            );
        }
    }

    pub(super) fn io_data(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]) {
        let Some(r) = self.replica.as_mut() else { return };
        // out of the replica while its packets are handled (they borrow its
        // buffer); it goes back only to the connection it came from
        let (mut framer, conn) = (std::mem::take(&mut r.framer), r.conn);
        framer.push(bytes);
        loop {
            match framer.next_frame() {
                None => break,
                Some(Frame::TooLarge) => {
                    if let Some(c) = self.replica.as_mut().and_then(|r| r.conn.take()) {
                        ctx.close(c);
                    }
                    self.io_error(ctx, 1153, "Got a packet bigger than 'max_allowed_packet' bytes");
                    break;
                }
                Some(Frame::Packet(seq, p)) => self.io_packet(ctx, seq, p),
            }
        }
        if let Some(r) = self.replica.as_mut().filter(|r| r.conn.is_some() && r.conn == conn) {
            r.framer = framer;
        }
        self.flush_relay(ctx);
        self.flush_master_info(ctx);
        self.sql_thread(ctx);
    }

    fn io_packet(&mut self, ctx: &mut Ctx<'_>, seq: u8, p: &[u8]) {
        let Some(r) = self.replica.as_mut() else { return };
        let Some(conn) = r.conn else { return };
        let mut out = Vec::new();
        match r.link {
            Link::Greeting => {
                let Some(g) = packet::parse_handshake(p) else { return };
                packet::frame(
                    seq.wrapping_add(1),
                    &packet::handshake_response(&r.user, &r.password, &g.scramble, None),
                    &mut out,
                );
                r.link = Link::Auth;
            }
            Link::Auth | Link::Register => match packet::parse_reply(p) {
                Some(packet::Reply::Err { code, message, .. }) => {
                    ctx.close(conn);
                    self.io_error(ctx, code, &message);
                    return;
                }
                Some(packet::Reply::Ok { .. }) if r.link == Link::Auth => {
                    r.io = IoState::Running;
                    r.io_registered = true;
                    r.reconnecting = false;
                    r.last_io_error = (0, String::new());
                    let mut reg = vec![0x15];
                    reg.extend_from_slice(&self.config.server_id.to_le_bytes());
                    reg.extend_from_slice(&[0, 0, 0]);
                    reg.extend_from_slice(&self.config.port.to_le_bytes());
                    reg.extend_from_slice(&[0; 8]);
                    packet::frame(0, &reg, &mut out);
                    r.link = Link::Register;
                }
                Some(packet::Reply::Ok { .. }) => {
                    let mut dump = vec![0x12];
                    dump.extend_from_slice(&(r.read_pos as u32).to_le_bytes());
                    dump.extend_from_slice(&0u16.to_le_bytes());
                    dump.extend_from_slice(&self.config.server_id.to_le_bytes());
                    dump.extend_from_slice(r.master_log_file.as_bytes());
                    packet::frame(0, &dump, &mut out);
                    r.link = Link::Streaming;
                    crate::log(
                        ctx,
                        format!(
                            "[Note] Slave I/O thread: connected to master '{}@{}:{}',replication started in log '{}' at position {}",
                            r.user, r.host, r.port, r.master_log_file, r.read_pos
                        ),
                    );
                }
                _ => {}
            },
            Link::Streaming => {
                self.io_event(ctx, p);
                return;
            }
        }
        ctx.send(conn, &out);
    }

    /// One packet of the dump: 0x00 and an event, or an error.
    fn io_event(&mut self, ctx: &mut Ctx<'_>, p: &[u8]) {
        let Some(r) = self.replica.as_mut() else { return };
        if p.first() == Some(&0xff)
            && let Some(packet::Reply::Err { code, message, .. }) = packet::parse_reply(p)
        {
            let text = format!("Got fatal error {code} from master when reading data from binary log: '{message}'");
            r.last_io_error = (1236, text);
            r.io = IoState::Stopped;
            if let Some(c) = r.conn.take() {
                ctx.close(c);
            }
            return;
        }
        if packet::is_eof(p) {
            crate::log(ctx, "[Note] Slave: received end packet from server, apparent master shutdown: ");
            return;
        }
        let Some(event) = p.get(1..) else { return };
        let Some((h, body)) = r.decoder.decode(event) else { return };
        if h.kind == binlog::kind::STOP {
            // MariaDB neither relay-logs a Stop event nor moves its read
            // position past it (measured: no Stop in the relay log)
            return;
        }
        if matches!(body, Body::Rotate { .. }) && h.log_pos == 0 {
            // the Rotate a dump sends first and at each file switch rotates
            // the relay log (measured: two more relay files across a master
            // restart, one per new dump and one per file switch)
            self.relay_rotate(ctx);
        }
        let relay = self.relay_append(ctx, event);
        // a new file or an earlier position could shorten master.info's text
        let shrinks = match &body {
            Body::Rotate { .. } => true,
            _ => h.log_pos != 0 && self.replica.as_ref().is_some_and(|r| u64::from(h.log_pos) < r.read_pos),
        };
        if shrinks {
            self.flush_master_info(ctx);
        }
        let Some(r) = self.replica.as_mut() else { return };
        let (file, end, apply) = match &body {
            Body::Rotate { pos, file } => {
                let pos = *pos;
                r.master_log_file.clone_from(file);
                r.read_pos = pos;
                if r.queue.is_empty() && !r.in_group {
                    r.exec_file = r.master_log_file.clone();
                    r.exec_pos = pos.max(r.exec_pos.min(pos));
                }
                r.master_server_id = h.server_id;
                (shared(&mut r.queued_file, file), 0, false)
            }
            _ if h.log_pos == 0 => (shared(&mut r.queued_file, &r.master_log_file), 0, false),
            _ => {
                r.read_pos = h.log_pos as u64;
                r.master_server_id =
                    r.master_server_id.max(1).max(h.server_id.min(r.master_server_id.max(h.server_id)));
                (shared(&mut r.queued_file, &r.master_log_file), h.log_pos as u64, true)
            }
        };
        r.queue.push_back(Queued { file, end, event: Rc::new((h, body)), relay, apply });
        self.master_info_moved(ctx);
    }

    // ---- the SQL thread ----

    /// Applies queued events until the queue is empty or an error stops the thread.
    pub(super) fn sql_thread(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let Some(r) = self.replica.as_mut() else { return };
            if !r.sql_running || r.queue.is_empty() {
                return;
            }
            let Some(item) = r.queue.pop_front() else { return };
            if !item.apply {
                // the master's Rotate, a Format description with position 0
                if !r.in_group {
                    self.relay_executed(ctx, item.relay);
                }
                continue;
            }
            let (event, file, end, relay) = (item.event.clone(), item.file.clone(), item.end, item.relay.clone());
            r.group.push(item);
            let (h, body) = &*event;
            r.last_master_ts = h.timestamp;
            r.sql_thread.1 = i64::from(h.timestamp) * 1000;
            match self.apply_event(ctx, *h, body, &file, end) {
                Err(e) => {
                    self.sql_error(ctx, e);
                    return;
                }
                Ok(true) => self.relay_executed(ctx, relay),
                Ok(false) => {}
            }
        }
    }

    fn apply_event(
        &mut self,
        ctx: &mut Ctx<'_>,
        h: binlog::Header,
        body: &Body,
        file: &str,
        end: u64,
    ) -> Result<bool, (SqlError, String)> {
        let own = h.server_id == self.config.server_id;
        let Some(r) = self.replica.as_mut() else { return Ok(false) };
        let mut moved = false;
        let group_done = match body {
            Body::Gtid { standalone, ddl, .. } => {
                r.in_group = !*standalone;
                r.group.truncate(1);
                r.skipping = r.skip_counter > 0;
                if !r.skipping {
                    match (*standalone, *ddl) {
                        (true, true) => r.groups.0 += 1,
                        (true, false) => r.groups.1 += 1,
                        (false, _) => r.groups.2 += 1,
                    }
                }
                self.applying = self.fresh_group();
                self.applying_undo.clear();
                false
            }
            Body::Begin => {
                // MySQL 5.7: the Anonymous_Gtid's group is a transaction
                r.in_group = true;
                self.applying_undo.clear();
                false
            }
            Body::InsertId(id) => {
                r.insert_id = Some(*id);
                false
            }
            Body::Xid(_) => true,
            Body::Query { thread_id, db, query } => {
                if !own && !r.skipping {
                    let db_opt = (!db.is_empty()).then_some(db.as_str());
                    let on_query = |e: SqlError| {
                        let text =
                            format!("Error '{}' on query. Default database: '{db}'. Query: '{query}'", e.message);
                        (e, text)
                    };
                    let stmt = self.shapes.parse(query).map_err(on_query)?;
                    if let Err(e) =
                        self.write(ctx, &stmt, db_opt, query, (*thread_id, ""), h.server_id, super::Sink::Replica)
                        && !self.config.slave_skip_errors.skips(e.code)
                    {
                        return Err(on_query(e));
                    }
                }
                self.replica.as_ref().is_some_and(|r| !r.in_group)
            }
            Body::Annotate(q) => {
                r.annotate.clone_from(q);
                false
            }
            Body::TableMap(map) => {
                // a transaction maps its table again for each statement: the same map
                if r.table_maps.get(&map.table_id).is_none_or(|known| !Rc::ptr_eq(known, map) && **known != **map) {
                    r.table_maps.insert(map.table_id, map.clone());
                }
                false
            }
            Body::Rows(kind, raw) => {
                if !own && !r.skipping {
                    self.apply_rows(h, *kind, raw, file, end)?;
                }
                false
            }
            Body::Rotate { .. } | Body::Other => {
                // outside a group (a new file's format description, gtid
                // list, checkpoints) the executed position moves on, as
                // MariaDB's does: Exec_Master_Log_Pos = Read_Master_Log_Pos
                // after a rotation (measured: 395 after FLUSH LOGS)
                if !r.in_group {
                    r.group.clear();
                    r.exec_file = file.to_owned();
                    r.exec_pos = end;
                    moved = true;
                }
                false
            }
        };
        if group_done && let Some(r) = self.replica.as_mut() {
            if r.skipping {
                r.skip_counter -= 1;
                r.skipping = false;
            }
            r.in_group = false;
            r.group.clear();
            r.exec_file = file.to_owned();
            r.exec_pos = end;
            let group = std::mem::take(&mut self.applying);
            self.applying_undo.clear();
            self.commit_group(ctx, group);
            moved = true;
        }
        Ok(moved)
    }

    /// Applies a rows event; logs it again as rows with log_slave_updates.
    fn apply_rows(
        &mut self,
        h: binlog::Header,
        kind: u8,
        raw: &[u8],
        file: &str,
        end: u64,
    ) -> Result<(), (SqlError, String)> {
        let Some(r) = self.replica.as_ref() else { return Ok(()) };
        let id = raw.get(..6).map_or(0, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0]));
        let Some(map) = r.table_maps.get(&id).cloned() else { return Ok(()) };
        let annotate = r.annotate.clone();
        let changes = binlog::decode_rows(kind, raw, &map).unwrap_or_default();
        let event = binlog::rows_name(kind);
        let relogged =
            self.config.log_slave_updates && self.binlog.is_some() && self.binlog_filter(Some(map.db.as_str()));
        let logged_changes = relogged.then(|| Rc::new(changes.clone()));
        // the rows applied, to undo if the group fails
        let mut applied = Vec::with_capacity(changes.len());
        for change in changes {
            let failure = match self.engine.apply_row(&map.db, &map.table, &change) {
                Ok(()) => {
                    super::relay::row_redo_line(&map.db, &map.table, &change, &mut self.applying.redo);
                    applied.push(change);
                    continue;
                }
                Err(RowError::Duplicate(key)) => {
                    (1062, format!("Duplicate entry '{key}' for key 'PRIMARY'"), "HA_ERR_FOUND_DUPP_KEY")
                }
                Err(RowError::NotFound) => {
                    let handler = if self
                        .engine
                        .get_table(&map.db, &map.table)
                        .is_some_and(|t| t.columns.iter().any(|c| c.primary))
                    {
                        "HA_ERR_KEY_NOT_FOUND"
                    } else {
                        "HA_ERR_END_OF_FILE"
                    };
                    (1032, format!("Can't find record in '{}'", map.table), handler)
                }
                Err(RowError::NoTable) => {
                    (1146, format!("Table '{}.{}' doesn't exist", map.db, map.table), "HA_ERR_NO_SUCH_TABLE")
                }
            };
            let (code, message, handler) = failure;
            if self.config.slave_skip_errors.skips(code) {
                continue;
            }
            let text = format!(
                "Could not execute {event} event on table {}.{}; {message}, Error_code: {code}; handler error {handler}; the event's master log {file}, end_log_pos {end}",
                map.db, map.table
            );
            let state = if code == 1062 { "23000" } else { "HY000" };
            let (d, t) = self.undo_names(&map.db, &map.table);
            self.applying_undo.push((d, t, Rc::new(applied)));
            return Err((SqlError::new(code, state, message), text));
        }
        let (d, t) = self.undo_names(&map.db, &map.table);
        self.applying_undo.push((d, t, Rc::new(applied)));
        if let Some(changes) = logged_changes
            && let Some(img) = self.image(&map.db, &map.table, changes)
        {
            let logged = binlog::Logged {
                server_id: h.server_id,
                timestamp: h.timestamp,
                thread_id: 0,
                db: map.db.clone(),
                query: annotate,
                insert_id: None,
                invoker: None,
                suppress_use: false,
                ddl_xid: false,
                ddl: false,
                rows: Some(img),
                transactional: true,
            };
            self.applying.logged.push(logged);
        }
        Ok(())
    }

    /// Stops the SQL thread as MariaDB does: the failed group stays to be
    /// applied again at the next START SLAVE; the IO thread goes on.
    fn sql_error(&mut self, ctx: &mut Ctx<'_>, (e, text): (SqlError, String)) {
        let Some(r) = self.replica.as_mut() else { return };
        crate::log(ctx, format!("[ERROR] Slave SQL: {text}, Internal MariaDB error code: {}", e.code));
        crate::log(
            ctx,
            format!(
                "[ERROR] Error running query, slave SQL thread aborted. Fix the problem, and restart the slave SQL thread with \"SLAVE START\". We stopped at log '{}' position {}",
                r.exec_file, r.exec_pos
            ),
        );
        r.last_sql_error = (e.code, text);
        r.sql_running = false;
        // the failed transaction is rolled back
        let undo = std::mem::take(&mut self.applying_undo);
        self.engine.undo(undo);
        self.applying = super::Group::default();
        let Some(r) = self.replica.as_mut() else { return };
        r.in_group = false;
        r.insert_id = None;
        for item in std::mem::take(&mut r.group).into_iter().rev() {
            r.queue.push_front(item);
        }
    }
}
