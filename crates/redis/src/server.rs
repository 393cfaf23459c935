//! The Redis server as a sans-IO process: clients, command gating and dispatch,
//! the 100 ms server cron, INFO/CONFIG/ROLE, and Redis-format logs. Replication
//! lives in [`crate::replication`], persistence in [`crate::persistence`].

use crate::call::{Dispatch, check};
use crate::cluster::commands::ClientFlags;
use crate::command_table::Handler;
use crate::config::{self, Config};
use crate::dispatch::Timer;
use crate::keyspace::{Db, Exec, Feed};
use crate::persistence::Persistence;
use crate::replication::{ReplicaPeer, Replication};
use resp::{Protocol, RequestParser, Value};
use sim::{ConnId, Ctx, Input, Instant, Observation, Process, Role, TimerId};
use std::fmt::Write as _;
use std::net::SocketAddrV4;
use std::time::Duration;

/// The version this node reproduces.
pub use common::VERSION;

/// A client blocked in WAIT.
#[derive(Debug)]
pub(crate) struct WaitState {
    pub(crate) replicas: u64,
    pub(crate) offset: i64,
    pub(crate) timer: Option<TimerId>,
    pub(crate) deadline: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) parser: RequestParser,
    pub(crate) db: usize,
    pub(crate) authenticated: bool,
    /// The ACL user its commands run as.
    pub(crate) user: String,
    pub(crate) closing: bool,
    pub(crate) peer: SocketAddrV4,
    pub(crate) local_port: u16,
    pub(crate) created_ms: i64,
    pub(crate) last_cmd_ms: i64,
    /// The replication offset after this client's last write (for WAIT).
    pub(crate) woff: i64,
    pub(crate) wait: Option<WaitState>,
    /// Set once the client became a replica of this node (after SYNC/PSYNC).
    pub(crate) replica: Option<ReplicaPeer>,
    /// `REPLCONF listening-port` announced before PSYNC.
    pub(crate) listening_port: u16,
    /// ASKING / READONLY (cluster mode).
    pub(crate) cluster_flags: ClientFlags,
    /// A write parsed while a manual failover paused writes, run when it ends.
    pub(crate) held: Option<Vec<Vec<u8>>>,
    /// Between MULTI and EXEC.
    pub(crate) multi: Option<crate::multi::Transaction>,
    /// `CLIENT SETNAME` (empty: none).
    pub(crate) name: Vec<u8>,
    /// RESP2 until `HELLO 3`: how this client's replies are encoded.
    pub(crate) proto: Protocol,
    /// What CLIENT REPLY, NO-EVICT and TRACKING set.
    pub(crate) ctl: crate::client_control::Controls,
    /// Blocked on keys (BLPOP...).
    pub(crate) blocked: Option<crate::blocking::Blocked>,
    /// May not block (`CLIENT_DENY_BLOCKING`): a script's client, whose
    /// blocking commands answer as if they timed out.
    pub(crate) deny_blocking: bool,
}

impl Client {
    /// A client no connection stands behind (Redis's fake clients: the one a
    /// script's commands run as), on database `db`.
    pub(crate) fn fake(peer: SocketAddrV4, db: usize) -> Client {
        Client {
            id: 0,
            parser: RequestParser::default(),
            db,
            authenticated: true,
            user: "default".to_owned(),
            closing: false,
            peer,
            local_port: 0,
            created_ms: 0,
            last_cmd_ms: 0,
            woff: 0,
            wait: None,
            replica: None,
            listening_port: 0,
            cluster_flags: Default::default(),
            held: None,
            multi: None,
            name: Vec::new(),
            proto: Protocol::Resp2,
            ctl: Default::default(),
            blocked: None,
            deny_blocking: true,
        }
    }
}

/// A running redis-server.
#[derive(Debug)]
pub struct Server {
    pub(crate) file_config: Config,
    pub(crate) config: Config,
    pub(crate) pid: u32,
    pub(crate) run_id: String,
    pub(crate) dbs: Vec<Db>,
    pub(crate) clients: crate::client_table::ClientTable,
    next_client_id: u64,
    pub(crate) started_ms: i64,
    pub(crate) commands_processed: u64,
    /// Error replies, in all and by code (INFO stats and errorstats).
    pub(crate) errors: crate::errorstats::ErrorStats,
    connections_received: u64,
    pub(crate) cron_loops: u64,
    /// serverCron's calls a second (`server.hz`): `hz`, raised by `dynamic-hz`.
    pub(crate) hz: u32,
    pub(crate) feed: Feed,
    pub(crate) repl: Replication,
    pub(crate) persist: Persistence,
    /// DEBUG SLEEP: the event loop is blocked until then.
    pub(crate) busy_until: Option<Instant>,
    /// What its work costs in CPU time.
    pub(crate) costs: crate::costs::Costs,
    /// Its start-up time is over and it has initialized ([`Server::boot`]).
    pub(crate) booted: bool,
    /// The client whose DEBUG SLEEP gets its reply when the sleep ends.
    pub(crate) busy_reply: Option<ConnId>,
    pub(crate) post: PostCommand,
    args: Vec<Vec<u8>>,
    /// Replies to one client's batch of commands, sent together when the batch
    /// is done, as Redis writes a client's buffered replies once per event loop.
    reply_out: Vec<u8>,
    /// Clients with input that arrived while busy.
    pub(crate) stalled: Vec<ConnId>,
    /// MIGRATE's socket cache and the command blocking the server, if any.
    pub(crate) migrate: crate::migrate::Migrate,
    /// Redis Cluster state, when `cluster-enabled yes`.
    pub(crate) cluster: Option<Box<crate::cluster::Cluster>>,
    pub(crate) pubsub: common::pubsub::PubSub,
    /// A shutdown asked for or under way.
    pub(crate) shutdown: crate::shutdown::Shutdown,
    /// What clients' sockets did not take yet.
    pub(crate) outputs: crate::output::Outputs,
    /// What this node last published as observations that are compared
    /// before publishing again.
    published: Published,
    /// Lua scripts: the interpreter, the script cache, the running script.
    pub(crate) scripting: crate::scripting::Scripting,
    /// CLIENT PAUSE in force, if any.
    pub(crate) client_pause: Option<crate::client_control::ClientPause>,
    /// A FAILOVER under way.
    pub(crate) failover: crate::failover::Failover,
    /// SLOWLOG's entries and the per-command calls LATENCY HISTOGRAM shows.
    pub(crate) slowlog: crate::slowlog::SlowLog,
    /// The ACL users and log.
    pub(crate) acl: crate::acl::Acl,
    /// LATENCY's events (`latency-monitor-threshold`).
    pub(crate) latency: crate::latency::LatencyMonitor,
    /// Clients in MONITOR mode, in the order they asked.
    pub(crate) monitors: Vec<ConnId>,
    /// Clients blocked on keys.
    pub(crate) blocking: crate::blocking::Blocking,
    /// The eviction pool, `evicted_keys` and the memory peak.
    pub(crate) memory: crate::memory::Memory,
    /// `maxclients` and `timeout`.
    pub(crate) client_limits: crate::client_limits::ClientLimits,
}

/// Values last published through [`Ctx::observe`], so that a node publishes
/// only changes (tracked only while the trace keeps observations).
#[derive(Debug, Default)]
struct Published {
    master_link_up: bool,
    offset: Option<i64>,
}

/// Follow-ups of a command that must run once its client is back in the map.
#[derive(Debug, Default)]
pub(crate) struct PostCommand {
    pub(crate) start_sync_child: bool,
    /// A replica acknowledged a diskless sync before the child was reaped.
    pub(crate) synced_early: Option<ConnId>,
    pub(crate) acks_changed: bool,
}

impl Server {
    /// A server that has not started yet, configured by its file.
    pub fn new(config: Config) -> Server {
        let mut slowlog = crate::slowlog::SlowLog::default();
        slowlog.untracked = !config.latency_tracking;
        let file_notify = config.notify;
        let hz = config.hz;
        let acl = crate::acl::Acl::new(config.requirepass.as_deref());
        Server {
            slowlog,
            acl,
            latency: Default::default(),
            dbs: (0..config.databases).map(|_| Db { limits: config.encodings, ..Db::default() }).collect(),
            file_config: config.clone(),
            config,
            pid: 0,
            run_id: String::new(),
            clients: crate::client_table::ClientTable::default(),
            next_client_id: 3,
            started_ms: 0,
            commands_processed: 0,
            errors: crate::errorstats::ErrorStats::default(),
            connections_received: 0,
            cron_loops: 0,
            hz,
            feed: Feed { notify: file_notify, ..Feed::default() },
            repl: Replication::default(),
            persist: Persistence::default(),
            busy_until: None,
            costs: crate::costs::Costs::default(),
            booted: false,
            busy_reply: None,
            post: PostCommand::default(),
            args: Vec::new(),
            reply_out: Vec::new(),
            stalled: Vec::new(),
            migrate: crate::migrate::Migrate::default(),
            cluster: None,
            pubsub: common::pubsub::PubSub::default(),
            shutdown: crate::shutdown::Shutdown::default(),
            outputs: crate::output::Outputs::default(),
            published: Published::default(),
            scripting: crate::scripting::Scripting::default(),
            client_pause: None,
            failover: Default::default(),
            monitors: Vec::new(),
            blocking: crate::blocking::Blocking::default(),
            memory: crate::memory::Memory::default(),
            client_limits: crate::client_limits::ClientLimits::default(),
        }
    }

    /// Number of keys in database `db` (expired keys not yet reclaimed included, as in Redis).
    pub fn dbsize(&self, db: usize) -> usize {
        self.dbs.get(db).map_or(0, |d| d.keys.len())
    }

    /// Commands executed since start or the last CONFIG RESETSTAT
    /// (INFO's `total_commands_processed`).
    pub fn commands_processed(&self) -> u64 {
        self.commands_processed
    }

    /// The value of a key in database 0, ignoring expiry that has not been reclaimed.
    pub fn peek(&self, key: &[u8]) -> Option<&crate::keyspace::Data> {
        self.dbs.first()?.keys.get(key)
    }

    /// All databases.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// The 40-hex-digit run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Whether its start-up time is over: it listens and has loaded its data.
    /// Before that it answers nothing, so there is no role or dataset to see.
    pub fn is_up(&self) -> bool {
        self.booted
    }

    /// `master` or `slave`, as INFO says.
    pub fn role_name(&self) -> &'static str {
        if self.repl.master.is_some() { "slave" } else { "master" }
    }

    /// Whether the link to the master is up (`master_link_status:up`).
    pub fn master_link_up(&self) -> bool {
        self.repl.link_up()
    }

    /// `master_repl_offset`.
    pub fn repl_offset(&self) -> i64 {
        self.repl.offset
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Logs at `level` (`.` debug, `-` verbose, `*` notice, `#` warning) if
    /// `loglevel` lets it through, as `serverLog` does.
    pub(crate) fn log(&self, ctx: &mut Ctx<'_>, level: char, message: &str) {
        if !self.logs(level) {
            return;
        }
        let role = if self.repl.master.is_some() { 'S' } else { 'M' };
        let line = common::log::line(self.pid, role, ctx.wall_clock_ms(), level, message);
        ctx.log(line);
    }

    /// A line a forked child (`pid`) logs, as a notice.
    pub(crate) fn log_child(&self, ctx: &mut Ctx<'_>, pid: u32, message: &str) {
        if self.logs('*') {
            ctx.log(common::log::line(pid, 'C', ctx.wall_clock_ms(), '*', message));
        }
    }

    /// Whether `loglevel` lets lines of `level` through.
    pub(crate) fn logs(&self, level: char) -> bool {
        let rank = |c: char| ".-*#".find(c).unwrap_or(3);
        let threshold = match self.config.loglevel.as_str() {
            "debug" => 0,
            "verbose" => 1,
            "notice" => 2,
            _ => 3,
        };
        rank(level) >= threshold
    }

    /// [`Server::log`] for a line worth formatting only when it is logged:
    /// after a node dies, every other node fails to reconnect to it ten times
    /// a second, and Redis logs that at the verbose level.
    pub(crate) fn log_with(&self, ctx: &mut Ctx<'_>, level: char, message: impl FnOnce() -> String) {
        if self.logs(level) {
            self.log(ctx, level, &message());
        }
    }

    pub(crate) fn new_pid(&self, ctx: &mut Ctx<'_>) -> u32 {
        self.pid + 1 + ctx.rng().below(5000) as u32
    }

    /// The server with `costs` instead of the measured defaults.
    pub fn with_costs(mut self, costs: crate::costs::Costs) -> Server {
        self.costs = costs;
        self.outputs.per_mib = costs.per_mib;
        self
    }

    /// The process started: it logs and reads its config at once, then
    /// initializes once its start-up time is over ([`Server::boot`]).
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.outputs.per_mib = self.costs.per_mib;
        self.pid = 1000 + ctx.rng().below(60_000) as u32;
        self.run_id = common::ids::random_hex40(ctx);
        self.started_ms = ctx.wall_clock_ms();
        let wall = ctx.wall_clock_ms();
        let early = |msg: &str| common::log::line(self.pid, 'C', wall, '#', msg);
        ctx.log(early("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"));
        ctx.log(early(&format!(
            "Redis version={VERSION}, bits=64, commit=00000000, modified=0, pid={}, just started",
            self.pid
        )));
        // A CONFIG REWRITE left a file on the node's disk; it wins over the original.
        if let Some(text) = ctx.disk().read(crate::persistence::CONFIG_FILE).map(|b| b.to_vec()) {
            match crate::config::parse(&String::from_utf8_lossy(&text), self.file_config.port) {
                Ok(c) => self.file_config = c,
                Err(errors) => {
                    let (line, e) = &errors[0];
                    ctx.log(format!(
                        "\n*** FATAL CONFIG FILE ERROR (Redis {VERSION}) ***\nReading the configuration file, at line {}\n{e}",
                        line + 1
                    ));
                    ctx.exit();
                    return;
                }
            }
        }
        self.config = self.file_config.clone();
        ctx.log(early("Configuration loaded"));
        let startup = self.costs.draw_startup(ctx);
        if startup.is_zero() {
            self.boot(ctx);
        } else {
            ctx.set_timer(startup, Timer::Boot.tag());
        }
    }

    /// Start-up proper, once the start-up time is over: listening socket,
    /// data loaded from disk, cron.
    pub(crate) fn boot(&mut self, ctx: &mut Ctx<'_>) {
        self.booted = true;
        self.log(ctx, '*', "monotonic clock: POSIX clock_gettime");
        if ctx.listen(self.config.port).is_err() {
            let msg = format!(
                "Warning: Could not create server TCP listening socket *:{}: bind: Address already in use",
                self.config.port
            );
            self.log(ctx, '#', &msg);
            self.log(ctx, '#', &format!("Failed listening on port {} (TCP), aborting.", self.config.port));
            ctx.exit();
            return;
        }
        if self.config.cluster.enabled && !self.cluster_init(ctx) {
            return;
        }
        let mode = if self.cluster.is_some() { "cluster" } else { "standalone" };
        self.log(ctx, '*', &format!("Running mode={mode}, port={}.", self.config.port));
        self.log(ctx, '#', "Server initialized");
        self.repl.init(ctx);
        if let Some((host, port)) = self.config.replicaof.clone() {
            self.repl.set_master_from_config(&host, port);
        }
        self.persist.lastsave_ms = ctx.wall_clock_ms();
        let loaded = self.data_files_len(ctx);
        self.load_data(ctx);
        crate::costs::spend(ctx, crate::costs::Costs::bytes(self.costs.load_per_mib, loaded));
        if self.cluster.is_some() {
            self.dbs[0].track_slots();
        }
        self.log(ctx, '*', "Ready to accept connections");
        let master = self.repl.master.as_ref().map(|m| format!("{}:{}", m.host, m.port));
        let role = if master.is_some() { Role::Replica } else { Role::Master };
        ctx.observe(Observation::Role { role, master });
        // serverCron first runs 1 ms after start, then every 100 ms.
        ctx.set_timer(Duration::from_millis(1), Timer::Cron.tag());
    }

    pub(crate) fn cron(&mut self, ctx: &mut Ctx<'_>) {
        if self.busy(ctx) {
            // A blocked event loop runs its timers late.
            ctx.set_timer(self.busy_until.map_or(self.cron_period(), |t| t - ctx.now()), Timer::Cron.tag());
            return;
        }
        self.hz = self.current_hz();
        if self.shutdown_cron(ctx) {
            return;
        }
        // clientsCron.
        self.close_idle_clients(ctx);
        let unpaused = self.client_pause_expired(ctx.wall_clock_ms());
        // A master's offset of its stream, a replica's of what it processed:
        // published at most once per cron, when it moved.
        if ctx.observing() && self.published.offset != Some(self.repl.offset) {
            self.published.offset = Some(self.repl.offset);
            ctx.observe(Observation::ReplOffset { offset: self.repl.offset.max(0) as u64 });
        }
        // Active expiry on masters: reclaim every key whose time has come, and
        // tell replicas; not while writes are paused (`activeExpireCycle`).
        if self.repl.master.is_none() && !self.pause_in_force(ctx.wall_clock_ms()).writes {
            let now = ctx.wall_clock_ms();
            for i in 0..self.dbs.len() {
                // A database without expiry times, with nothing in the feed to
                // flush, has nothing to do here (ten times a second, sixteen
                // databases on every master): its pass would change nothing.
                if self.dbs[i].expires.is_empty()
                    && self.feed.bytes.is_empty()
                    && self.feed.events.is_empty()
                    && self.feed.notify & crate::notify::NEW == 0
                {
                    continue;
                }
                let due: Vec<Vec<u8>> =
                    self.dbs[i].expires.iter().filter(|&(_, &at)| at <= now).map(|(k, _)| k.clone()).collect();
                for key in due {
                    let mut x = Exec::new(&mut self.dbs, &mut self.feed, true, i, now);
                    x.expire_if_needed(&key);
                    self.persist.dirty += x.dirty;
                }
                // The feed carries one database: each one's DELs go out behind its own SELECT.
                self.flush_feed(ctx);
            }
        }
        // Children, save points (`checkChildrenDone`), before replicationCron.
        self.persistence_cron(ctx);
        // replicationCron runs once a second, every 100 ms while a FAILOVER is under way.
        if self.run_with_period(if self.failover.active() { 100 } else { 1000 }) {
            self.replication_cron(ctx);
            self.migrate_close_idle(ctx);
        }
        if self.cluster.is_some() {
            if self.run_with_period(100) {
                self.cluster_cron(ctx);
            }
            // clientsCron: clients blocked on a slot that moved away.
            self.redirect_blocked_clients(ctx);
        }
        self.scheduled_bgsave_cron(ctx);
        if unpaused {
            // Clients a CLIENT PAUSE held run again (`unblockPostponedClients`).
            self.resume_paused_clients(ctx);
        }
        // The instantaneous rates' samples.
        if self.run_with_period(100) {
            self.outputs.traffic.sample(ctx.wall_clock_ms(), self.commands_processed);
        }
        self.cron_loops += 1;
        // aeProcessEvents sleeps in epoll_wait for the time to the next timer
        // rounded up to a whole millisecond, so each tick fires up to 1 ms
        // late and the next counts from then: crons drift, each its own way.
        let late = Duration::from_micros(ctx.rng().below(1000));
        ctx.set_timer(self.cron_period() + late, Timer::Cron.tag());
    }

    /// `server.hz` for this call (see [`config::effective_hz`]). Under 200
    /// clients a call `dynamic-hz` changes nothing, so its setting is only
    /// looked up past that.
    fn current_hz(&self) -> u32 {
        let (hz, clients) = (self.config.hz, self.clients.len());
        if clients / hz as usize <= config::MAX_CLIENTS_PER_CLOCK_TICK {
            return hz;
        }
        config::effective_hz(hz, self.config.dynamic_hz(), clients)
    }

    /// The time from one serverCron to the next (`1000/server.hz` ms).
    pub(crate) fn cron_period(&self) -> Duration {
        Duration::from_millis(u64::from(1000 / self.hz))
    }

    /// `run_with_period(ms)`: whether this call runs what is due every `ms`.
    fn run_with_period(&self, ms: u32) -> bool {
        let period = 1000 / self.hz;
        ms <= period || self.cron_loops.is_multiple_of(u64::from(ms / period))
    }

    pub(crate) fn busy(&self, ctx: &Ctx<'_>) -> bool {
        self.busy_until.is_some_and(|t| ctx.now() < t) || self.migrate.blocking() || self.scripting.blocks()
    }

    /// Bytes from a client: parsed, then run as far as they go.
    pub(crate) fn on_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        self.costs.spend_read(ctx, bytes.len());
        let Some(client) = self.clients.get_mut(&conn) else { return };
        // `lastinteraction`: a read counts, whether or not a command is complete.
        client.last_cmd_ms = ctx.wall_clock_ms();
        self.outputs.traffic.client_read(bytes.len());
        client.parser.feed(bytes);
        if let Some(db) = self.dbs.get(client.db) {
            crate::warm::warm_keys(db, client.parser.ahead());
        }
        self.process_client(ctx, conn);
    }

    /// Runs every complete command a client has sent, unless it is blocked.
    ///
    /// Keyspace commands run with the client left in the map and its parsed
    /// arguments borrowed; their replies are collected and sent in one write when
    /// the batch ends or before any other command runs. Other commands run as
    /// before: earlier replies and the replication stream are sent first, the
    /// client is taken out of the map while the command runs.
    pub(crate) fn process_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        // A timed-out script first runs up to now: it may have ended.
        self.script_catch_up(ctx);
        let mut out = std::mem::take(&mut self.reply_out);
        out.clear();
        // One argument vector for every command, whose slots are exchanged
        // with the parser's (`swap_args`): no argument is copied. Its first
        // `argc` slots are the command's.
        let mut args = std::mem::take(&mut self.args);
        let mut argc;
        loop {
            if self.busy(ctx) {
                if !self.stalled.contains(&conn) {
                    self.stalled.push(conn);
                }
                break;
            }
            let pause = self.pause_in_force(ctx.wall_clock_ms());
            if self.shutdown_blocks(conn) {
                // Blocked in SHUTDOWN: the rest of its input waits for an ABORT (or the exit).
                if !self.stalled.contains(&conn) {
                    self.stalled.push(conn);
                }
                break;
            }
            let Some(client) = self.clients.get_mut(&conn) else { break };
            if client.wait.is_some() || client.blocked.is_some() {
                break;
            }
            let proto = client.proto;
            // A write held back by a pause (a manual failover's, a shutdown's) runs first once it ends.
            let held = client.held.take();
            if let Some(held) = held {
                let mut name_buf = [0u8; crate::commands::NAME_MAX];
                let name = crate::commands::lowercase_name(&held[0], &mut name_buf);
                if pause.holds(client, &held, name, crate::command_table::lookup(name)) {
                    client.held = Some(held);
                    if !self.stalled.contains(&conn) {
                        self.stalled.push(conn);
                    }
                    break;
                }
                args = held;
                argc = args.len();
            } else {
                match client.parser.next_command(!client.authenticated) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        let reply = Value::error(e.reply_text());
                        self.errors.count(&reply, || false);
                        reply.encode(&mut out);
                        send_pending(ctx, &mut self.outputs, conn, &mut out);
                        self.flush_replica_output(ctx);
                        ctx.close(conn);
                        if let Some(client) = self.clients.remove(&conn) {
                            self.client_gone(ctx, conn, client);
                        }
                        break;
                    }
                }
                let mut name_buf = [0u8; crate::commands::NAME_MAX];
                let name = crate::commands::lowercase_name(&client.parser.args()[0], &mut name_buf);
                // Clients in MULTI or subscribed mode go through their gate first.
                let client = if client.multi.is_some() || self.pubsub.is_subscribed(conn) {
                    if let Some(reply) = self.gate_session(ctx, conn, name) {
                        self.errors.count(&reply, || name == "exec");
                        self.count_gated(conn, name, &reply);
                        if self.clients.get_mut(&conn).is_some_and(|c| c.ctl.after_command(name == "client")) {
                            reply.encode_for(proto, &mut out);
                        }
                        continue;
                    }
                    let Some(client) = self.clients.get_mut(&conn) else { break };
                    client
                } else {
                    client
                };
                if self.scripting.timed_out() && !crate::scripting::allowed_when_busy(name, client.parser.args()) {
                    if client.ctl.after_command(name == "client") {
                        let busy = self.scripting.busy_reply();
                        self.errors.count(&busy, || false);
                        busy.encode_for(proto, &mut out);
                    }
                    continue;
                }
                let command = crate::command_table::lookup(name);
                if pause.holds(client, client.parser.args(), name, command) {
                    client.held = Some(client.parser.args().to_vec());
                    if !self.stalled.contains(&conn) {
                        self.stalled.push(conn);
                    }
                    break;
                }
                if let Some(command) = command.filter(|c| c.handler == Handler::Keyspace) {
                    // CLIENT REPLY's state moves the same before or after a keyspace command.
                    let send = client.ctl.after_command(false);
                    let ran = self.commands_processed;
                    let reply = self.keyspace_command(ctx, conn, command);
                    if !self.monitors.is_empty()
                        && self.commands_processed > ran
                        && let Some(c) = self.clients.get(&conn)
                    {
                        let args = c.parser.args().to_vec();
                        self.feed_monitors(ctx, (c.db, c.peer), command, &args);
                    }
                    let propagated = !self.feed.bytes.is_empty();
                    self.flush_feed(ctx);
                    if propagated && let Some(c) = self.clients.get_mut(&conn) {
                        c.woff = self.repl.offset;
                    }
                    self.persist.before_reply(ctx, &self.config);
                    self.errors.count(&reply, || false);
                    if send {
                        reply.encode_for(proto, &mut out);
                    }
                    self.post_command(ctx);
                    self.handle_ready_keys(ctx);
                    continue;
                }
                argc = client.parser.swap_args(&mut args);
            }
            let args = &args[..argc];
            send_pending(ctx, &mut self.outputs, conn, &mut out);
            self.flush_replica_output(ctx);
            let Some(mut client) = self.clients.remove(&conn) else { break };
            let reply = self.execute(ctx, &mut client, conn, args);
            if let Some(r) = &reply {
                self.errors.count(r, || args[0].eq_ignore_ascii_case(b"exec"));
            }
            let reply = reply.filter(|_| client.ctl.after_command(args[0].eq_ignore_ascii_case(b"client")));
            let closing = client.closing;
            // HELLO answers in the protocol it switched to.
            let proto = client.proto;
            let propagated = !self.feed.bytes.is_empty();
            self.clients.insert(conn, client);
            self.flush_feed(ctx);
            if propagated && let Some(c) = self.clients.get_mut(&conn) {
                c.woff = self.repl.offset;
            }
            if let Some(reply) = reply {
                self.persist.before_reply(ctx, &self.config);
                self.outputs.write_with(ctx, conn, |buf| reply.encode_for(proto, buf));
            }
            self.post_command(ctx);
            self.handle_ready_keys(ctx);
            if closing {
                self.flush_replica_output(ctx);
                ctx.close(conn);
                if let Some(client) = self.clients.remove(&conn) {
                    self.client_gone(ctx, conn, client);
                }
                break;
            }
        }
        send_pending(ctx, &mut self.outputs, conn, &mut out);
        self.args = args;
        self.reply_out = out;
    }

    /// Runs the keyspace command the client's parser holds, with the client in
    /// place: the same checks and effects as [`Server::execute`].
    fn keyspace_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        conn: ConnId,
        command: &'static crate::command_table::Command,
    ) -> Value {
        let Some(client) = self.clients.get_mut(&conn) else { return Value::Nil };
        let args = client.parser.args();
        let now_ms = ctx.wall_clock_ms();
        let route = crate::call::route(&self.config, self.cluster.as_deref(), &self.dbs, client, now_ms);
        let checked = check(
            &self.config,
            &self.repl,
            route,
            crate::call::Caller::of(client, &self.acl),
            args,
            command.name,
            Some(command),
        );
        client.cluster_flags.asking = false;
        if let Dispatch::Reply(v) = checked {
            if let Some(client) = self.clients.get(&conn) {
                let args = client.parser.args();
                if let Some(entry) = self.acl_refusal(client, args, now_ms) {
                    self.acl.push(entry);
                }
                self.slowlog.count_error(command, args, &v, false);
            }
            return v;
        }
        if self.config.maxmemory.limit > 0
            && let Some(oom) = self.maxmemory_gate(ctx, command, &[], false)
        {
            if let Some(client) = self.clients.get(&conn) {
                self.slowlog.count_error(command, client.parser.args(), &oom, false);
            }
            return oom;
        }
        let access = self.access(ctx);
        let shared_integers = self.shared_integers();
        let Some(client) = self.clients.get_mut(&conn) else { return Value::Nil };
        let args = client.parser.args();
        self.commands_processed += 1;
        let now_ms = ctx.wall_clock_ms();
        client.last_cmd_ms = now_ms;
        let random = if command.has(crate::command_table::RANDOM) { ctx.rng().next_u64() } else { 0 };
        let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), client.db, now_ms);
        x.random = random;
        x.resp3 = client.proto == resp::Protocol::Resp3;
        x.cluster = self.cluster.is_some();
        (x.access, x.shared_integers) = (access, shared_integers);
        x.request = client.parser.raw_command().map(|raw| (args, raw));
        let reply = crate::commands::keyspace(command, args, &mut x);
        self.persist.dirty += x.dirty;
        self.after_keyspace(ctx, command, &reply);
        let Some(client) = self.clients.get_mut(&conn) else { return reply };
        let args = client.parser.args();
        self.slowlog.count(command, args, 0);
        self.slowlog.count_error(command, args, &reply, true);
        self.slowlog.push(&self.config, client, args, now_ms, 0);
        reply
    }

    /// A command the transaction or subscribe gate answered: queued (counted
    /// when EXEC runs it), refused with an error, or run there (a subscribed
    /// client's PING; MULTI and WATCH inside a transaction, which Redis calls
    /// and which fail).
    fn count_gated(&mut self, conn: ConnId, name: &str, reply: &Value) {
        let Some(command) = crate::command_table::lookup(name) else { return };
        let Some(client) = self.clients.get(&conn) else { return };
        if matches!(reply, Value::Simple(s) if s == "QUEUED") {
            return;
        }
        let ran = matches!(name, "multi" | "watch") || !matches!(reply, Value::Error(_));
        if ran {
            self.slowlog.count(command, client.parser.args(), 0);
        }
        self.slowlog.count_error(command, client.parser.args(), reply, ran);
    }

    /// Work a command asked for that needs every client in the map.
    fn post_command(&mut self, ctx: &mut Ctx<'_>) {
        if std::mem::take(&mut self.post.start_sync_child) && !self.persist.child_running() {
            self.start_sync_child(ctx);
        }
        if let Some(conn) = self.post.synced_early.take() {
            self.sync_acked_early(ctx, conn);
        }
        // An ACK does not refresh the count of good replicas (replconfCommand
        // only stamps repl_ack_time): the next replicationCron does.
        if std::mem::take(&mut self.post.acks_changed) {
            self.unblock_waiters(ctx);
        }
        // beforeSleep's `updateFailoverStatus`: an ACK may have completed the sync it waits for.
        self.update_failover_status(ctx);
    }

    pub(crate) fn client_gone(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, mut client: Box<Client>) {
        self.monitors.retain(|&m| m != conn);
        self.blocked_client_gone(conn, &mut client);
        self.pubsub.remove_client(conn);
        self.feed.watch.forget(client.id);
        self.shutdown_client_gone(conn);
        self.outputs.forget(conn);
        if let Some(peer) = &client.replica {
            let addr = format!("{}:{}", client.peer.ip(), peer.port);
            self.log(ctx, '*', &format!("Connection with replica {addr} lost."));
            // freeClient refreshes it as it unlinks a replica.
            self.refresh_good_replicas(ctx.wall_clock_ms());
        }
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]], checked in helloCommand's
    /// order: version, option syntax, credentials, then the NOAUTH gate, then the name.
    pub(crate) fn hello(&mut self, client: &mut Client, conn: ConnId, args: &[Vec<u8>], now_ms: i64) -> Value {
        let proto = match args.get(1) {
            None => client.proto,
            Some(v) => match crate::commands::parse_int(v) {
                None => return Value::error("ERR Protocol version is not an integer or out of range"),
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                Some(_) => return Value::error("NOPROTO unsupported protocol version"),
            },
        };
        let mut credentials = None;
        let mut name = None;
        let mut j = 2;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if args[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
                credentials = Some(&args[j + 1..j + 3]);
                j += 3;
            } else if args[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
                name = Some(&args[j + 1]);
                j += 2;
            } else {
                return Value::error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&args[j])
                ));
            }
        }
        if let Some(credentials) = credentials
            && !self.authenticate(client, &args[0], &credentials[0], &credentials[1], now_ms)
        {
            return Value::error("WRONGPASS invalid username-password pair or user is disabled.");
        }
        if !client.authenticated {
            return Value::error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
            );
        }
        if let Some(name) = name {
            if let Err(e) = validate_client_name(name) {
                return e;
            }
            client.name = name.clone();
        }
        client.proto = proto;
        self.pubsub.set_protocol(conn, proto);
        let mode = if self.cluster.is_some() { "cluster" } else { "standalone" };
        let role = if self.repl.master.is_some() { "replica" } else { "master" };
        Value::Map(vec![
            (Value::bulk("server"), Value::bulk("redis")),
            (Value::bulk("version"), Value::bulk(VERSION)),
            (Value::bulk("proto"), Value::Integer(proto.version())),
            (Value::bulk("id"), Value::Integer(client.id as i64)),
            (Value::bulk("mode"), Value::bulk(mode)),
            (Value::bulk("role"), Value::bulk(role)),
            (Value::bulk("modules"), Value::Array(Vec::new())),
        ])
    }

    /// `ACLAuthenticateUser`: the user, if `pass` opens it; a refusal is logged.
    fn authenticate(&mut self, client: &mut Client, command: &[u8], user: &[u8], pass: &[u8], now_ms: i64) -> bool {
        let name = String::from_utf8_lossy(user).into_owned();
        if self.acl.users.get(&name).is_some_and(|u| u.accepts(pass)) {
            client.authenticated = true;
            client.user = name;
            return true;
        }
        let context = if client.multi.is_some() { crate::acl::Context::Multi } else { crate::acl::Context::Toplevel };
        let info = self.client_info(client, now_ms, &String::from_utf8_lossy(command).to_ascii_lowercase());
        self.acl.log("auth", context, command.to_vec(), &name, now_ms, info);
        false
    }

    pub(crate) fn auth(&mut self, client: &mut Client, args: &[Vec<u8>], now_ms: i64) -> Value {
        let (user, pass) = match &args[1..] {
            [pass] => {
                if self.acl.users.get("default").is_some_and(|u| u.nopass) {
                    return Value::error(
                        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                    );
                }
                (b"default".as_slice(), pass.as_slice())
            }
            [user, pass] => (user.as_slice(), pass.as_slice()),
            _ => return Value::error("ERR syntax error"),
        };
        if self.authenticate(client, &args[0], user, pass, now_ms) {
            Value::ok()
        } else {
            Value::error("WRONGPASS invalid username-password pair or user is disabled.")
        }
    }

    pub(crate) fn config_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>], in_exec: bool) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let text = |a: &Vec<u8>| String::from_utf8_lossy(a).into_owned();
        match sub.as_str() {
            "get" if args.len() >= 3 => {
                let mut out = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                for pattern in &args[2..] {
                    for (name, value) in self.config.matching(pattern) {
                        if seen.insert(name.clone()) {
                            out.push((Value::Bulk(name.into_bytes()), Value::Bulk(value.into_bytes())));
                        }
                    }
                }
                Value::Map(out)
            }
            "set" if args.len() >= 4 && args.len().is_multiple_of(2) => {
                let mut next = self.config.clone();
                for pair in args[2..].chunks(2) {
                    let name = text(&pair[0]);
                    if name.eq_ignore_ascii_case("port") {
                        return Value::error(
                            "ERR CONFIG SET failed (possibly related to argument 'port') - changing the port at runtime is not simulated by chaoslab (the topology fixes it)",
                        );
                    }
                    if crate::config::canonical(&name).is_none() {
                        return Value::error(format!(
                            "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                        ));
                    }
                    if let Err(e) = next.apply(&name, &[text(&pair[1])], false) {
                        return Value::error(format!(
                            "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                        ));
                    }
                }
                let backlog_changed = next.repl_backlog_size != self.config.repl_backlog_size;
                let aof_changed = next.appendonly != self.config.appendonly;
                let limit_set = next.maxmemory.limit != self.config.maxmemory.limit && next.maxmemory.limit > 0;
                // `updateRequirePass`: the default user's password is requirepass.
                let password_changed = next.requirepass != self.config.requirepass;
                self.config = next;
                if password_changed {
                    self.acl.set_default_password(self.config.requirepass.as_deref());
                }
                self.slowlog.untracked = !self.config.latency_tracking;
                // Later writes go by the new thresholds; stored values keep their encodings.
                for db in &mut self.dbs {
                    db.limits = self.config.encodings;
                }
                self.feed.notify = self.config.notify;
                if self.feed.notify & crate::notify::NEW == 0 {
                    for db in &mut self.dbs {
                        db.track_added = false;
                        db.added.clear();
                    }
                }
                if limit_set {
                    self.warn_maxmemory_below_usage(ctx);
                }
                if backlog_changed {
                    self.repl.resize_backlog(self.config.repl_backlog_size);
                }
                if aof_changed {
                    self.appendonly_changed(ctx, in_exec);
                }
                Value::ok()
            }
            "resetstat" if args.len() == 2 => {
                self.commands_processed = 0;
                self.errors.reset();
                self.memory.evictor.evicted_keys = 0;
                self.connections_received = 0;
                self.feed.expired = 0;
                self.slowlog.reset_stats();
                self.feed.hits = 0;
                self.feed.misses = 0;
                self.persist.reset_stats();
                self.repl.stats = Default::default();
                self.client_limits.rejected = 0;
                self.outputs.traffic.reset(ctx.wall_clock_ms());
                Value::ok()
            }
            "rewrite" if args.len() == 2 => {
                self.rewrite_config(ctx);
                self.log(ctx, '#', "CONFIG REWRITE executed with success.");
                Value::ok()
            }
            "help" if args.len() == 2 => Value::Array(CONFIG_HELP.iter().map(|l| Value::Simple((*l).into())).collect()),
            "get" | "set" | "resetstat" | "rewrite" | "help" => {
                Value::error(format!("ERR wrong number of arguments for 'config|{sub}' command"))
            }
            _ => Value::error(format!("ERR unknown subcommand '{}'. Try CONFIG HELP.", text(&args[1]))),
        }
    }

    /// CONFIG REWRITE: the running configuration, with the current replication
    /// role, becomes the node's config file, so it survives a restart.
    fn rewrite_config(&mut self, ctx: &mut Ctx<'_>) {
        let defaults = Config::defaults(self.config.port);
        let mut running = self.config.clone();
        running.replicaof = self.repl.master.as_ref().map(|m| (m.host.clone(), m.port));
        let mut text = String::from("# Generated by CONFIG REWRITE\n");
        for (name, _) in running.matching(b"*").into_iter().filter(|(n, _)| crate::config::canonical(n).is_some()) {
            let (Some(now), Some(default)) = (running.get(&name), defaults.get(&name)) else { continue };
            if name == "port" || now != default || name == "replicaof" && !now.is_empty() {
                if name.starts_with("slave") || name.starts_with("min-slaves") || name.starts_with("cluster-slave") {
                    continue;
                }
                let value = if now.is_empty() { "\"\"".to_owned() } else { now };
                let _ = writeln!(text, "{name} {value}");
            }
        }
        let disk = ctx.disk();
        disk.write(crate::persistence::CONFIG_FILE, text.as_bytes());
        disk.fsync(crate::persistence::CONFIG_FILE);
        self.file_config = running;
    }

    pub(crate) fn role(&self) -> Value {
        let bulk = |s: String| Value::Bulk(s.into_bytes());
        match &self.repl.master {
            None => {
                let replicas = self
                    .clients
                    .values()
                    .filter_map(|c| c.replica.as_ref().filter(|r| r.online()).map(|r| (c, r)))
                    .map(|(c, r)| {
                        Value::Array(vec![
                            bulk(c.peer.ip().to_string()),
                            bulk(r.port.to_string()),
                            bulk(r.ack_offset.to_string()),
                        ])
                    })
                    .collect();
                Value::Array(vec![bulk("master".into()), Value::Integer(self.repl.offset), Value::Array(replicas)])
            }
            Some(m) => Value::Array(vec![
                bulk("slave".into()),
                bulk(m.host.clone()),
                Value::Integer(i64::from(m.port)),
                bulk(self.repl.link_state_name().into()),
                Value::Integer(if self.repl.link_up() { self.repl.offset } else { -1 }),
            ]),
        }
    }

    pub(crate) fn debug(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match sub.as_str() {
            "sleep" if args.len() == 3 => {
                // Redis reads the seconds with strtod and no check: junk is 0 s.
                let secs = strtod_prefix(&args[2]);
                // The event loop blocks: nothing else is served until it ends.
                // Virtual time is u64 nanoseconds: a sleep beyond ~136 years is as good as forever.
                let forever = Duration::from_secs(u64::from(u32::MAX));
                let d = Duration::try_from_secs_f64(secs.max(0.0)).map_or(forever, |d| d.min(forever));
                self.busy_until = Some(ctx.now() + d);
                ctx.set_timer(d, Timer::BusyEnd.tag());
                Value::ok()
            }
            _ => {
                Value::error(format!("ERR unknown subcommand '{}'. Try DEBUG HELP.", String::from_utf8_lossy(&args[1])))
            }
        }
    }

    pub(crate) fn busy_end(&mut self, ctx: &mut Ctx<'_>) {
        if self.busy(ctx) {
            return;
        }
        self.busy_until = None;
        if let Some(conn) = self.busy_reply.take() {
            self.outputs.write(ctx, conn, b"+OK\r\n");
        }
        self.resume_stalled(ctx);
    }

    /// Serves what arrived while the event loop was blocked.
    pub(crate) fn resume_stalled(&mut self, ctx: &mut Ctx<'_>) {
        for conn in std::mem::take(&mut self.stalled) {
            if self.repl.is_master_link(conn) {
                self.on_master_data(ctx, conn, &[]);
            } else {
                self.process_client(ctx, conn);
            }
        }
    }

    pub(crate) fn client_command(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Value {
        if let Some(e) =
            crate::command_table::lookup("client").and_then(|c| crate::command_table::check_subcommand(c, args))
        {
            return e;
        }
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match sub.as_str() {
            "id" => Value::Integer(client.id as i64),
            "setname" => {
                if let Err(e) = validate_client_name(&args[2]) {
                    return e;
                }
                client.name = args[2].clone();
                Value::ok()
            }
            "getname" => {
                if client.name.is_empty() {
                    Value::Nil
                } else {
                    Value::Bulk(client.name.clone())
                }
            }
            "kill" => self.client_kill(ctx, client, args),
            "unblock" if args.len() <= 4 => self.client_unblock(ctx, args),
            "unblock" => {
                Value::error("ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.")
            }
            _ => self.client_control(ctx, client, args),
        }
    }

    /// CLIENT LIST's line for a client, as Redis logs it with REPLICAOF.
    pub(crate) fn client_info(&self, client: &Client, now_ms: i64, cmd: &str) -> String {
        self.client_line(None, client, now_ms, cmd)
    }

    /// `catClientInfoString` for the client on `conn` (when known, its
    /// subscriptions and held output show): flags `S` for a replica, `P`
    /// for a subscriber, `omem` the bytes held, `oll` their 16 KB blocks and
    /// `events=rw` while output waits.
    pub(crate) fn client_line(&self, conn: Option<ConnId>, client: &Client, now_ms: i64, cmd: &str) -> String {
        let age = (now_ms - client.created_ms).max(0) / 1000;
        let idle = (now_ms - client.last_cmd_ms).max(0) / 1000;
        let held = conn.map_or(0, |c| self.outputs.held(c));
        let subscribed = conn.is_some_and(|c| self.pubsub.is_subscribed(c));
        let (sub, psub, ssub) = conn.map_or((0, 0, 0), |c| self.pubsub.counts(c));
        let (multi_flag, multi, cmd) = match client.multi.as_ref().map(|t| t.info()) {
            Some((n, true)) => ("x", n as i64, "exec"),
            Some((n, false)) => ("x", n as i64, cmd),
            None => ("", -1, cmd),
        };
        let mut flags = String::new();
        if client.replica.is_some() {
            flags.push('S');
        }
        if subscribed {
            flags.push('P');
        }
        flags.push_str(multi_flag);
        if client.held.is_some() {
            // Held by a pause (`BLOCKED_POSTPONE`).
            flags.push('b');
        }
        flags.push_str(client.ctl.tracking_flags());
        if client.cluster_flags.readonly {
            flags.push('r');
        }
        if client.ctl.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let (oll, events) = if held > 0 { (held.div_ceil(16 * 1024), "rw") } else { (0, "r") };
        format!(
            "id={} addr={} laddr={}:{} fd={} name={} age={age} idle={idle} flags={flags} db={} sub={sub} psub={psub} ssub={ssub} multi={multi} \
             qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=16384 obl=0 oll={oll} omem={held} tot-mem={} events={events} \
             cmd={cmd} user={} redir={} resp={}",
            client.id,
            client.peer,
            self.repl.my_ip,
            client.local_port,
            client.id + 4,
            String::from_utf8_lossy(&client.name),
            client.db,
            20496 + held,
            client.user,
            client.ctl.redir(),
            client.proto.version()
        )
    }

    /// INFO with the given section arguments, at the node's wall-clock time `now_ms`.
    pub fn info(&self, now_ms: i64, args: &[Vec<u8>]) -> String {
        let wanted: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        let all = wanted.is_empty() || wanted.iter().any(|w| w == "all" || w == "default" || w == "everything");
        let show = |s: &str| all || wanted.iter().any(|w| w == s);
        // The per-command sections are in `all` and `everything`, not in the default INFO.
        let every = wanted.iter().any(|w| w == "all" || w == "everything");
        let show_per_command = |s: &str| every || wanted.iter().any(|w| w == s);
        let mut sections = Vec::new();
        if show("server") {
            sections.push(common::info::server(&common::info::Server {
                mode: if self.cluster.is_some() { "cluster" } else { "standalone" },
                pid: self.pid,
                run_id: &self.run_id,
                tcp_port: self.config.port,
                now_ms,
                started_ms: self.started_ms,
                hz: self.hz.into(),
                configured_hz: self.config.hz.into(),
                executable: "/usr/bin/redis-server",
                config_file: "",
            }));
        }
        if show("clients") {
            let normal = self.clients.values().filter(|c| c.replica.is_none()).count();
            let blocked =
                self.clients.values().filter(|c| c.wait.is_some() || c.held.is_some() || c.blocked.is_some()).count();
            sections.push(common::info::clients(&common::info::Clients {
                connected: normal,
                cluster_connections: self.cluster.as_ref().map_or(0, |c| c.links.len()),
                maxclients: 10_000,
                blocked,
                ..common::info::Clients::default()
            }));
        }
        if show("memory") {
            sections.push(self.info_memory());
        }
        if show("persistence") {
            sections.push(self.persist.info(&self.config, now_ms));
        }
        if show("stats") {
            let (channels, patterns, shard) = self.pubsub.totals();
            let traffic = &self.outputs.traffic;
            let rates = traffic.rates();
            sections.push(common::info::stats(&common::info::Stats {
                connections_received: self.connections_received,
                commands_processed: self.commands_processed,
                evicted_keys: self.memory.evictor.evicted_keys,
                expired_keys: self.feed.expired,
                keyspace_hits: self.feed.hits,
                keyspace_misses: self.feed.misses,
                total_forks: self.persist.forks,
                sync_full: self.repl.stats.full,
                sync_partial_ok: self.repl.stats.partial_ok,
                sync_partial_err: self.repl.stats.partial_err,
                pubsub_channels: channels,
                pubsub_patterns: patterns,
                pubsubshard_channels: shard,
                error_replies: self.errors.total,
                rejected_connections: self.client_limits.rejected,
                net_input_bytes: traffic.input + traffic.repl_input,
                net_output_bytes: traffic.output + traffic.repl_output,
                net_repl_input_bytes: traffic.repl_input,
                net_repl_output_bytes: traffic.repl_output,
                instantaneous_ops_per_sec: rates.ops_per_sec,
                instantaneous_kbps: [
                    rates.input_kbps,
                    rates.output_kbps,
                    rates.repl_input_kbps,
                    rates.repl_output_kbps,
                ],
                reads_processed: traffic.reads,
                writes_processed: traffic.writes,
            }));
        }
        if show("replication") {
            sections.push(self.info_replication(now_ms));
        }
        if show("cpu") {
            sections.push(common::info::cpu(0.0));
        }
        if show("modules") {
            sections.push("# Modules\r\n".to_owned());
        }
        if show_per_command("commandstats") {
            sections.push(self.slowlog.commandstats());
        }
        if show("errorstats") {
            sections.push(self.errors.section());
        }
        if show_per_command("latencystats") {
            sections.push(self.slowlog.latencystats(&self.config.latency_percentiles()));
        }
        if show("cluster") {
            sections.push(format!("# Cluster\r\ncluster_enabled:{}\r\n", u8::from(self.cluster.is_some())));
        }
        if show("keyspace") {
            let mut s = "# Keyspace\r\n".to_owned();
            for (i, db) in self.dbs.iter().enumerate().filter(|(_, d)| !d.keys.is_empty()) {
                let ttls: Vec<i64> = db.expires.values().map(|at| (at - now_ms).max(0)).collect();
                let avg = if ttls.is_empty() { 0 } else { ttls.iter().sum::<i64>() / ttls.len() as i64 };
                let _ = write!(s, "db{i}:keys={},expires={},avg_ttl={avg}\r\n", db.keys.len(), db.expires.len());
            }
            sections.push(s);
        }
        sections.join("\r\n")
    }

    /// Moves what the last command propagated to the replication stream and the AOF.
    /// Publishes the keyspace events it raised first, as Redis does while the command runs.
    pub(crate) fn flush_feed(&mut self, ctx: &mut Ctx<'_>) {
        if self.feed.notify & crate::notify::NEW != 0 {
            crate::keyspace::take_added(&mut self.dbs, &mut self.feed.events);
        }
        if !self.feed.events.is_empty() {
            self.publish_events(ctx);
        }
        if self.feed.bytes.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.feed.bytes);
        let db = self.feed.db;
        self.persist.feed_aof(ctx, &self.config, db, &bytes);
        if self.config.appendonly && self.config.appendfsync == crate::config::Fsync::Always {
            crate::costs::spend(ctx, self.costs.fsync);
        }
        self.feed_replicas(Some(db), &bytes);
        let mut bytes = bytes;
        bytes.clear();
        self.feed.bytes = bytes;
    }

    pub(crate) fn on_accept(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, local_port: u16, peer: SocketAddrV4) {
        if !self.admit_client(ctx, conn) {
            return;
        }
        self.connections_received += 1;
        let authenticated = self.acl.default_needs_no_auth();
        let now = ctx.wall_clock_ms();
        let id = self.next_client_id;
        self.next_client_id += 1;
        let client = Client {
            id,
            authenticated,
            user: "default".to_owned(),
            local_port,
            created_ms: now,
            last_cmd_ms: now,
            deny_blocking: false,
            ..Client::fake(peer, 0)
        };
        self.clients.insert(conn, Box::new(client));
    }
}

/// Redis's validateClientName: printable ASCII without spaces.
fn validate_client_name(name: &[u8]) -> Result<(), Value> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Value::error("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    Ok(())
}

/// Sends the replies collected in `out`, if any, in one write.
fn send_pending(ctx: &mut Ctx<'_>, outputs: &mut crate::output::Outputs, conn: ConnId, out: &mut Vec<u8>) {
    if !out.is_empty() {
        outputs.write(ctx, conn, out);
        out.clear();
    }
}

impl Process for Server {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        self.handle_input(ctx, input);
        // beforeSleep: blocked clients' deadlines, then what unblocked clients sent meanwhile.
        if self.blocking.count() > 0 {
            self.blocked_timeouts(ctx);
            self.handle_ready_keys(ctx);
        }
        self.process_unblocked(ctx);
        if self.cluster.is_some() {
            self.cluster_before_sleep(ctx);
            self.drop_lost_shard_channels(ctx);
        }
        // As beforeSleep does: what replicas were given during this input goes out now.
        self.flush_replica_output(ctx);
        self.enforce_output_limits(ctx);
        // Protocol facts that must hold after every input (see each check).
        self.repl.check_offset();
        if let Some(c) = &mut self.cluster {
            c.check_epochs();
        }
        if ctx.observing() {
            self.publish_observations(ctx);
        }
    }
}

impl Server {
    /// Publishes what changed during this input: the master link and, in
    /// cluster mode, the epochs and this node's slot table by owner. Called
    /// only while the trace keeps observations (none of these is hashed).
    #[inline(never)]
    fn publish_observations(&mut self, ctx: &mut Ctx<'_>) {
        let up = self.repl.link_up();
        if up != self.published.master_link_up {
            self.published.master_link_up = up;
            ctx.observe(Observation::MasterLink { up });
        }
        let Some(c) = self.cluster.as_deref_mut() else { return };
        let epochs = (c.current_epoch, c.epoch_of(c.myself));
        if c.published_epochs != Some(epochs) {
            c.published_epochs = Some(epochs);
            ctx.observe(Observation::Epoch { current: epochs.0, config: epochs.1 });
        }
        for (first, last, owner) in c.slot_changes() {
            ctx.observe(Observation::SlotRange { first, last, owner: owner.map(String::from) });
        }
    }
}

/// C's `strtod` without an end pointer: the longest leading number (after
/// blanks), 0 when there is none.
fn strtod_prefix(bytes: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let ends = text.char_indices().map(|(i, _)| i).skip(1).chain(std::iter::once(text.len()));
    ends.filter_map(|i| text[..i].parse::<f64>().ok()).last().unwrap_or(0.0)
}

/// CONFIG HELP, as Redis 7.0.15 prints it.
const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];
