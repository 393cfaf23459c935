//! DUMP, RESTORE (and RESTORE-ASKING) and MIGRATE, as Redis 7.0's cluster.c
//! has them.
//!
//! A DUMP payload is the value's RDB encoding ([`crate::rdb::encode_object`]),
//! the RDB version (10) in two little-endian bytes and Redis's CRC-64 of all
//! that, little-endian.
//!
//! MIGRATE is synchronous in Redis: the server connects to the target, writes
//! AUTH/SELECT/RESTORE and reads the replies with blocking calls bounded by the
//! command's timeout, and serves nothing else meanwhile. Here the server opens a
//! real connection through the kernel and, until the last reply arrives or the
//! timeout fires, reports itself busy exactly as during DEBUG SLEEP: other
//! clients' commands, the master link and the cron wait, and the round trip
//! takes whatever the simulated network makes it take. Connections are cached
//! per `host:port` with the database last selected, and closed after 10 s idle
//! (`MIGRATE_SOCKET_CACHE_TTL`, checked once a second), as Redis does.

use crate::dispatch::Timer;
use crate::keyspace::{Data, Exec};
use crate::notify;
use crate::server::Server;
use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, TimerId};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// The tag of the MIGRATE timeout timer.
/// `MIGRATE_SOCKET_CACHE_TTL`: cached sockets idle longer than this are closed.
const CACHE_TTL_MS: i64 = 10_000;

/// The DUMP payload of a value (`converted`: see [`crate::rdb::object_type`]).
pub fn dump_payload(value: &Data, converted: bool) -> Vec<u8> {
    let mut out = crate::rdb::encode_object(value, converted);
    out.extend_from_slice(&crate::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::rdb::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `verifyDumpPayload`: the version must be one we read and the checksum must
/// match; a zero checksum is no exception (7.0.15 refuses it, measured).
pub(crate) fn verify_payload(p: &[u8]) -> Option<&[u8]> {
    let body_len = p.len().checked_sub(10)?;
    let version = u16::from_le_bytes([p[body_len], p[body_len + 1]]);
    if version > crate::rdb::RDB_VERSION {
        return None;
    }
    let stored = u64::from_le_bytes(p[p.len() - 8..].try_into().ok()?);
    (stored == crate::rdb::crc64(0, &p[..p.len() - 8])).then_some(&p[..body_len])
}

/// DUMP key.
pub(crate) fn dump(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    if x.read(&args[1]).is_none() {
        return Value::Nil;
    }
    let db = x.db();
    match db.keys.get(&args[1]) {
        Some(value) => Value::Bulk(dump_payload(value, db.big.contains(&args[1]))),
        None => Value::Nil,
    }
}

/// RESTORE / RESTORE-ASKING key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub(crate) fn restore(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None::<i64>, None::<i64>);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let opt = args[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"replace" => replace = true,
            b"absttl" => absttl = true,
            b"idletime" if more >= 1 && freq.is_none() => {
                let Some(v) = crate::commands::parse_int(&args[j + 1]) else { return not_an_integer() };
                if v < 0 {
                    return Value::error("ERR Invalid IDLETIME value, must be >= 0");
                }
                idle = Some(v);
                j += 1;
            }
            b"freq" if more >= 1 && idle.is_none() => {
                let Some(v) = crate::commands::parse_int(&args[j + 1]) else { return not_an_integer() };
                if !(0..=255).contains(&v) {
                    return Value::error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                }
                freq = Some(v);
                j += 1;
            }
            _ => return Value::error("ERR syntax error"),
        }
        j += 1;
    }
    let key = &args[1];
    let exists = x.lookup(key).is_some();
    if exists && !replace {
        return Value::error("BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = crate::commands::parse_int(&args[2]) else { return not_an_integer() };
    if ttl < 0 {
        return Value::error("ERR Invalid TTL value, must be >= 0");
    }
    let Some(body) = verify_payload(&args[3]) else {
        return Value::error("ERR DUMP payload version or checksum are wrong");
    };
    let Ok(value) = crate::rdb::decode_object(body, &x.db().limits) else { return Value::error("ERR Bad data format") };
    let deleted = replace && x.db().remove(key);
    let expire_at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(x.now_ms)),
    };
    // A key born expired is not created (`checkAlreadyExpired`; a replica keeps it for its master's DEL).
    if let Some(at) = expire_at
        && at <= x.now_ms
        && x.is_master
    {
        if deleted {
            x.dirty += 1;
            x.propagate(&[b"DEL".as_slice(), key]);
            x.notify(notify::GENERIC, "del", key);
        }
        return Value::ok();
    }
    x.db().insert(key.clone(), value);
    if let Some(at) = expire_at {
        x.db().expires.insert(key.clone(), at);
    }
    x.dirty += 1;
    if let Some(at) = expire_at.filter(|_| !absttl) {
        // Replicas and the AOF get the absolute time, as Redis rewrites it.
        let mut argv: Vec<Vec<u8>> = args.to_vec();
        argv[2] = at.to_string().into_bytes();
        argv.push(b"ABSTTL".to_vec());
        x.propagate(&argv);
    } else {
        x.propagate(args);
    }
    x.notify(notify::GENERIC, "restore", key);
    Value::ok()
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// A connection MIGRATE keeps to a target.
#[derive(Debug)]
struct CachedSocket {
    conn: ConnId,
    connected: bool,
    /// The database the target connection has selected; `None` forces a SELECT.
    last_db: Option<i64>,
    last_use_ms: i64,
}

/// One MIGRATE in progress: the server is blocked until it ends.
#[derive(Debug)]
struct Op {
    client: ConnId,
    target: String,
    addr: SocketAddrV4,
    /// The encoded AUTH, if any, and RESTOREs, kept to resend once on a fresh connection.
    auth: Option<Vec<u8>>,
    restores: Vec<u8>,
    /// Whether the request sent a SELECT (decided when it is sent).
    select: bool,
    dbid: i64,
    /// The keys sent, in order; each gets one RESTORE reply.
    keys: Vec<Vec<u8>>,
    db: usize,
    copy: bool,
    replies: Vec<Value>,
    decoder: ReplyDecoder,
    timeout: Duration,
    timer: TimerId,
    may_retry: bool,
}

/// MIGRATE's state in the server: the socket cache and the running command.
#[derive(Debug, Default)]
pub(crate) struct Migrate {
    cache: BTreeMap<String, CachedSocket>,
    op: Option<Op>,
}

impl Migrate {
    /// Whether a MIGRATE is waiting on its target (the event loop is blocked).
    pub(crate) fn blocking(&self) -> bool {
        self.op.is_some()
    }

    /// Whether `conn` is one of MIGRATE's cached or in-flight connections.
    pub(crate) fn holds(&self, conn: ConnId) -> bool {
        self.cache.values().any(|s| s.conn == conn)
    }

    /// Whether `id` is the running MIGRATE's timer.
    pub(crate) fn is_op_timer(&self, id: sim::TimerId) -> bool {
        self.op.as_ref().is_some_and(|o| o.timer == id)
    }
}

/// The parsed command, before anything is sent.
struct Plan {
    copy: bool,
    replace: bool,
    auth: Option<(Option<Vec<u8>>, Vec<u8>)>,
    keys: Vec<Vec<u8>>,
}

fn parse_migrate(args: &[Vec<u8>]) -> Result<Plan, Value> {
    let mut plan = Plan { copy: false, replace: false, auth: None, keys: vec![args[3].clone()] };
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        match args[j].to_ascii_lowercase().as_slice() {
            b"copy" => plan.copy = true,
            b"replace" => plan.replace = true,
            b"auth" if more >= 1 => {
                plan.auth = Some((None, args[j + 1].clone()));
                j += 1;
            }
            b"auth2" if more >= 2 => {
                plan.auth = Some((Some(args[j + 1].clone()), args[j + 2].clone()));
                j += 2;
            }
            b"keys" => {
                if !args[3].is_empty() {
                    return Err(Value::error(
                        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                    ));
                }
                plan.keys = args[j + 1..].to_vec();
                break;
            }
            _ => return Err(Value::error("ERR syntax error")),
        }
        j += 1;
    }
    Ok(plan)
}

impl Server {
    /// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS k...].
    /// `None`: the reply comes when the target has answered (or the timeout fired).
    /// `in_exec`: running inside EXEC, whose reply cannot wait for the target.
    pub(crate) fn migrate_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        conn: ConnId,
        db: usize,
        in_exec: bool,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let plan = match parse_migrate(args) {
            Ok(p) => p,
            Err(e) => return Some(e),
        };
        let (Some(timeout), Some(dbid)) = (crate::commands::parse_int(&args[5]), crate::commands::parse_int(&args[4]))
        else {
            return Some(not_an_integer());
        };
        let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
        let now_ms = ctx.wall_clock_ms();
        let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), db, now_ms);
        let mut present = Vec::new();
        for key in plan.keys {
            // migrateCommand reads its keys (read lookups: hits and misses).
            if x.read(&key).is_some()
                && let db = x.db()
                && let Some(value) = db.keys.get(&key)
            {
                let payload = dump_payload(value, db.big.contains(&key));
                let ttl = x.db().expires.get(&key).map(|&at| (at - now_ms).max(1));
                present.push((key, payload, ttl));
            }
        }
        self.persist.dirty += x.dirty;
        self.flush_feed(ctx);
        if present.is_empty() {
            return Some(Value::Simple("NOKEY".into()));
        }
        if in_exec {
            // Redis runs it inside the transaction with blocking I/O; here EXEC's
            // reply would have to wait for the target, which this node does not model.
            return Some(Value::error("ERR MIGRATE inside MULTI/EXEC is not simulated by chaoslab's redis node"));
        }
        let target = format!("{}:{}", String::from_utf8_lossy(&args[1]), String::from_utf8_lossy(&args[2]));
        let port = std::str::from_utf8(&args[2]).ok().and_then(|p| p.parse::<u16>().ok());
        let ip = std::str::from_utf8(&args[1]).ok().and_then(|h| h.parse::<Ipv4Addr>().ok());
        let (Some(ip), Some(port)) = (ip, port) else {
            return Some(Value::error("IOERR error or timeout connecting to the client"));
        };
        let auth = plan.auth.map(|(user, pass)| {
            let mut cmd = Vec::new();
            match user {
                Some(u) => resp::encode_command(&[b"AUTH".as_slice(), &u, &pass], &mut cmd),
                None => resp::encode_command(&[b"AUTH".as_slice(), &pass], &mut cmd),
            }
            cmd
        });
        let mut request = Vec::new();
        let name: &[u8] = if self.restore_asks() { b"RESTORE-ASKING" } else { b"RESTORE" };
        let mut keys = Vec::new();
        for (key, payload, ttl) in present {
            let ttl = ttl.unwrap_or(0).to_string().into_bytes();
            if plan.replace {
                resp::encode_command(&[name, &key, &ttl, &payload, b"REPLACE"], &mut request);
            } else {
                resp::encode_command(&[name, &key, &ttl, &payload], &mut request);
            }
            keys.push(key);
        }
        let timer = ctx.set_timer(timeout, Timer::Migrate.tag());
        self.migrate.op = Some(Op {
            client: conn,
            target,
            addr: SocketAddrV4::new(ip, port),
            auth,
            restores: request,
            select: false,
            dbid,
            keys,
            db,
            copy: plan.copy,
            replies: Vec::new(),
            decoder: ReplyDecoder::default(),
            timeout,
            timer,
            may_retry: true,
        });
        self.migrate_send(ctx);
        None
    }

    /// In cluster mode the target gets RESTORE-ASKING, so an importing slot accepts it.
    fn restore_asks(&self) -> bool {
        self.cluster.is_some()
    }

    /// Sends the request on the cached connection, or opens one first.
    fn migrate_send(&mut self, ctx: &mut Ctx<'_>) {
        let Some(op) = &mut self.migrate.op else { return };
        let now_ms = ctx.wall_clock_ms();
        match self.migrate.cache.get_mut(&op.target) {
            Some(s) if s.connected => {
                s.last_use_ms = now_ms;
                op.select = s.last_db != Some(op.dbid);
                let (auth, select, restores, dbid) = (&op.auth, op.select, &op.restores, op.dbid);
                ctx.send_with(s.conn, |buf| {
                    buf.extend_from_slice(auth.as_deref().unwrap_or_default());
                    if select {
                        resp::encode_command(&[b"SELECT".to_vec(), dbid.to_string().into_bytes()], buf);
                    }
                    buf.extend_from_slice(restores);
                });
            }
            Some(_) => {}
            None => {
                let conn = ctx.connect(op.addr);
                crate::dispatch::tag_conn(ctx, conn, crate::dispatch::ConnOwner::Migrate);
                let socket = CachedSocket { conn, connected: false, last_db: None, last_use_ms: now_ms };
                self.migrate.cache.insert(op.target.clone(), socket);
            }
        }
    }

    /// Kernel inputs for MIGRATE's connections and timer (see [`Migrate::holds`]).
    pub(crate) fn migrate_input(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        let in_op = |m: &Migrate, conn: ConnId| {
            m.op.as_ref().and_then(|o| m.cache.get(&o.target)).is_some_and(|s| s.conn == conn)
        };
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Connected { conn } => {
                if let Some(s) = self.migrate.cache.values_mut().find(|s| s.conn == conn) {
                    s.connected = true;
                }
                if in_op(&self.migrate, conn) {
                    self.migrate_send(ctx);
                }
            }
            Input::ConnectFailed { conn, error } => {
                let current = in_op(&self.migrate, conn);
                self.migrate.cache.retain(|_, s| s.conn != conn);
                if current {
                    // A refused connect shows up in Redis as a failed write; only a connect
                    // that never completes is reported as a connect error.
                    let text = match error {
                        ConnectError::TimedOut => "IOERR error or timeout connecting to the client",
                        ConnectError::Refused | ConnectError::Unreachable => {
                            "IOERR error or timeout writing to target instance"
                        }
                    };
                    self.migrate_socket_error(ctx, text, error != ConnectError::TimedOut);
                }
            }
            Input::Data { conn, bytes } => {
                if !in_op(&self.migrate, conn) {
                    return;
                }
                let Some(op) = &mut self.migrate.op else { return };
                op.decoder.feed(bytes);
                while let Decoded::Value(v) = op.decoder.next_value() {
                    op.replies.push(v);
                }
                let expected = usize::from(op.auth.is_some()) + usize::from(op.select) + op.keys.len();
                if op.replies.len() >= expected {
                    self.migrate_finish(ctx, None);
                } else {
                    // Each blocking read has the whole timeout.
                    ctx.cancel_timer(op.timer);
                    op.timer = ctx.set_timer(op.timeout, Timer::Migrate.tag());
                }
            }
            Input::Closed { conn, .. } => {
                let current = in_op(&self.migrate, conn);
                self.migrate.cache.retain(|_, s| s.conn != conn);
                if current {
                    self.migrate_socket_error(ctx, "IOERR error or timeout reading to target instance", true);
                }
            }
            Input::Timer { .. } => {
                let Some(op) = &self.migrate.op else { return };
                let connecting = self.migrate.cache.get(&op.target).is_some_and(|s| !s.connected);
                if let Some(s) = self.migrate.cache.remove(&op.target) {
                    ctx.close(s.conn);
                }
                let text = if connecting {
                    "IOERR error or timeout connecting to the client"
                } else {
                    "IOERR error or timeout reading to target instance"
                };
                // A timeout is never retried.
                self.migrate_socket_error(ctx, text, false);
            }
            Input::Start | Input::Shutdown | Input::Accepted { .. } => {}
        }
    }

    /// The connection failed mid-command. Redis retries once on a fresh connection
    /// if no reply was read yet and it was not a timeout; otherwise the keys
    /// already acknowledged count as moved and the client gets `text`.
    fn migrate_socket_error(&mut self, ctx: &mut Ctx<'_>, text: &str, retryable: bool) {
        let Some(op) = &mut self.migrate.op else { return };
        if retryable && op.may_retry && op.replies.is_empty() {
            op.may_retry = false;
            op.decoder = ReplyDecoder::default();
            if let Some(s) = self.migrate.cache.remove(&op.target) {
                ctx.close(s.conn);
            }
            self.migrate_send(ctx);
            return;
        }
        self.migrate_finish(ctx, Some(text));
    }

    /// Applies the replies read so far and answers the client.
    fn migrate_finish(&mut self, ctx: &mut Ctx<'_>, socket_error: Option<&str>) {
        let Some(op) = self.migrate.op.take() else { return };
        ctx.cancel_timer(op.timer);
        let mut replies = op.replies.into_iter();
        let auth_error = if op.auth.is_some() { replies.next().and_then(error_text) } else { None };
        let select_error = if op.select { replies.next().and_then(error_text) } else { None };
        let mut first_error = None;
        let mut moved = Vec::new();
        for (key, reply) in op.keys.iter().zip(replies) {
            let err = auth_error.clone().or_else(|| select_error.clone()).or_else(|| error_text(reply));
            match err {
                Some(e) => {
                    first_error.get_or_insert(e);
                }
                None if !op.copy => moved.push(key.clone()),
                None => {}
            }
        }
        if !moved.is_empty() {
            let now_ms = ctx.wall_clock_ms();
            let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), op.db, now_ms);
            for key in &moved {
                x.db().remove(key);
                x.dirty += 1;
                x.notify(notify::GENERIC, "del", key);
            }
            let mut argv = vec![b"DEL".to_vec()];
            argv.extend(moved);
            x.propagate(&argv);
            self.persist.dirty += x.dirty;
            self.flush_feed(ctx);
        }
        let reply = if let Some(e) = first_error {
            if let Some(s) = self.migrate.cache.get_mut(&op.target) {
                s.last_db = None;
            }
            Value::error(format!("ERR Target instance replied with error: {e}"))
        } else if let Some(text) = socket_error {
            if let Some(s) = self.migrate.cache.remove(&op.target) {
                ctx.close(s.conn);
            }
            Value::error(text)
        } else {
            if let Some(s) = self.migrate.cache.get_mut(&op.target) {
                s.last_db = Some(op.dbid);
            }
            Value::ok()
        };
        self.outputs.write_with(ctx, op.client, |buf| reply.encode(buf));
        self.resume_stalled(ctx);
    }

    /// `migrateCloseTimedoutSockets`, from the cron once a second.
    pub(crate) fn migrate_close_idle(&mut self, ctx: &mut Ctx<'_>) {
        let now_ms = ctx.wall_clock_ms();
        let busy_target = self.migrate.op.as_ref().map(|o| o.target.clone());
        let idle: Vec<String> = self
            .migrate
            .cache
            .iter()
            .filter(|(t, s)| Some(*t) != busy_target.as_ref() && (now_ms - s.last_use_ms) / 1000 > CACHE_TTL_MS / 1000)
            .map(|(t, _)| t.clone())
            .collect();
        for t in idle {
            if let Some(s) = self.migrate.cache.remove(&t) {
                ctx.close(s.conn);
            }
        }
    }
}

fn error_text(v: Value) -> Option<String> {
    match v {
        Value::Error(e) => Some(e),
        _ => None,
    }
}
