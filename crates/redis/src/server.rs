//! The Redis server as a sans-IO process: clients, the keyspace, commands, the
//! 100 ms server cron, and Redis-format logs. This slice is a standalone server
//! with string keys and expiry; replication and persistence come next.

use crate::config::Config;
use crate::keyspace::{Db, Exec, Feed};
use resp::{RequestParser, Value};
use sim::{CloseReason, ConnId, Ctx, Input, Process};
use std::collections::BTreeMap;
use std::time::Duration;

/// `hz 10`: serverCron runs every 100 ms.
const CRON_PERIOD: Duration = Duration::from_millis(100);
const VERSION: &str = "7.0.15";

#[derive(Debug)]
struct Client {
    parser: RequestParser,
    db: usize,
    authenticated: bool,
    closing: bool,
}

/// A running redis-server.
#[derive(Debug)]
pub struct Server {
    config: Config,
    pid: u32,
    run_id: String,
    dbs: Vec<Db>,
    clients: BTreeMap<ConnId, Client>,
    started_ms: i64,
    commands_processed: u64,
    connections_received: u64,
}

/// Outcome of looking a command up before running it.
enum Dispatch {
    Run,
    Reply(Value),
}

impl Server {
    /// A server that has not started yet.
    pub fn new(config: Config) -> Server {
        Server {
            dbs: (0..config.databases).map(|_| Db::default()).collect(),
            config,
            pid: 0,
            run_id: String::new(),
            clients: BTreeMap::new(),
            started_ms: 0,
            commands_processed: 0,
            connections_received: 0,
        }
    }

    /// Number of keys in database `db` (expired keys not yet reclaimed included, as in Redis).
    pub fn dbsize(&self, db: usize) -> usize {
        self.dbs.get(db).map_or(0, |d| d.keys.len())
    }

    /// The value of a string key in database 0, ignoring expiry that has not been reclaimed.
    pub fn peek(&self, key: &[u8]) -> Option<&crate::keyspace::Data> {
        self.dbs.first()?.keys.get(key)
    }

    /// The 40-hex-digit run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Logs at `level` (`.` debug, `-` verbose, `*` notice, `#` warning) if
    /// `loglevel` lets it through, as `serverLog` does.
    fn log(&self, ctx: &mut Ctx<'_>, level: char, message: &str) {
        let rank = |c: char| ".-*#".find(c).unwrap_or(3);
        let threshold = match self.config.loglevel.as_str() {
            "debug" => 0,
            "verbose" => 1,
            "notice" => 2,
            _ => 3,
        };
        if rank(level) < threshold {
            return;
        }
        let line = crate::log::line(self.pid, 'M', ctx.wall_clock_ms(), level, message);
        ctx.log(line);
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.pid = 1000 + ctx.rng().below(60_000) as u32;
        let mut id = [0u8; 20];
        ctx.rng().fill(&mut id);
        self.run_id = id.iter().map(|b| format!("{b:02x}")).collect();
        self.started_ms = ctx.wall_clock_ms();
        let wall = ctx.wall_clock_ms();
        let early = |msg: &str| crate::log::line(self.pid, 'C', wall, '#', msg);
        ctx.log(early("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"));
        ctx.log(early(&format!(
            "Redis version={VERSION}, bits=64, commit=00000000, modified=0, pid={}, just started",
            self.pid
        )));
        ctx.log(early("Configuration loaded"));
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
        self.log(ctx, '*', &format!("Running mode=standalone, port={}.", self.config.port));
        self.log(ctx, '#', "Server initialized");
        self.log(ctx, '*', "Ready to accept connections");
        ctx.note("role", "master");
        ctx.set_timer(CRON_PERIOD, 0);
    }

    fn cron(&mut self, ctx: &mut Ctx<'_>) {
        // Active expiry: reclaim every key whose time has come.
        let now = ctx.wall_clock_ms();
        for db in &mut self.dbs {
            let due: Vec<Vec<u8>> = db.expires.iter().filter(|&(_, &at)| at <= now).map(|(k, _)| k.clone()).collect();
            for key in due {
                db.remove(&key);
            }
        }
        ctx.set_timer(CRON_PERIOD, 0);
    }

    fn on_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        let Some(mut client) = self.clients.remove(&conn) else { return };
        client.parser.feed(bytes);
        loop {
            match client.parser.next_command(!client.authenticated) {
                Ok(true) => {
                    let args: Vec<Vec<u8>> = client.parser.args().to_vec();
                    if let Some(reply) = self.execute(ctx, &mut client, &args) {
                        ctx.send_with(conn, |buf| reply.encode(buf));
                    }
                    if client.closing {
                        ctx.close(conn);
                        return;
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    ctx.send_with(conn, |buf| Value::error(e.reply_text()).encode(buf));
                    ctx.close(conn);
                    return;
                }
            }
        }
        self.clients.insert(conn, client);
    }

    fn check(&self, client: &Client, args: &[Vec<u8>]) -> Dispatch {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let Some(spec) = crate::commands::spec(&name) else {
            let mut tail = String::new();
            for a in &args[1..] {
                if tail.len() >= 128 {
                    break;
                }
                let room = 128 - tail.len();
                let text = String::from_utf8_lossy(a);
                let shown: String = text.chars().take(room).collect();
                tail.push_str(&format!("'{shown}' "));
            }
            let shown: String = String::from_utf8_lossy(&args[0]).chars().take(128).collect();
            return Dispatch::Reply(Value::error(format!(
                "ERR unknown command '{shown}', with args beginning with: {tail}"
            )));
        };
        let (argc, arity) = (args.len() as i32, spec.arity);
        if (arity > 0 && argc != arity) || argc < -arity {
            return Dispatch::Reply(Value::error(format!("ERR wrong number of arguments for '{name}' command")));
        }
        if !client.authenticated && !matches!(name.as_str(), "auth" | "hello" | "quit") {
            return Dispatch::Reply(Value::error("NOAUTH Authentication required."));
        }
        Dispatch::Run
    }

    /// Runs one command; `None` means no reply is sent (a successful SHUTDOWN).
    fn execute(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Option<Value> {
        if let Dispatch::Reply(v) = self.check(client, args) {
            return Some(v);
        }
        self.commands_processed += 1;
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let now_ms = ctx.wall_clock_ms();
        let reply = match name.as_str() {
            "quit" => {
                client.closing = true;
                Value::ok()
            }
            "auth" => self.auth(client, &args[1..]),
            "select" => match crate::commands::parse_int(&args[1]) {
                Some(db) if db >= 0 && (db as usize) < self.dbs.len() => {
                    client.db = db as usize;
                    Value::ok()
                }
                Some(_) => Value::error("ERR DB index is out of range"),
                None => Value::error("ERR value is not an integer or out of range"),
            },
            "info" => Value::Bulk(self.info(ctx, &args[1..]).into_bytes()),
            "shutdown" => {
                self.log(ctx, '#', "User requested shutdown...");
                self.log(ctx, '#', "Redis is now ready to exit, bye bye...");
                // The server exits without replying; the client sees the connection close.
                ctx.exit();
                client.closing = true;
                return None;
            }
            _ => {
                let mut feed = Feed::default();
                let mut x =
                    Exec { dbs: &mut self.dbs, db: client.db, now_ms, is_master: true, dirty: 0, feed: &mut feed };
                crate::commands::keyspace(&name, args, &mut x)
            }
        };
        Some(reply)
    }

    fn auth(&self, client: &mut Client, args: &[Vec<u8>]) -> Value {
        let (user, pass) = match args {
            [pass] => (b"default".as_slice(), pass.as_slice()),
            [user, pass] => (user.as_slice(), pass.as_slice()),
            _ => return Value::error("ERR syntax error"),
        };
        match &self.config.requirepass {
            None if args.len() == 1 => Value::error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ),
            None if user == b"default" => {
                client.authenticated = true;
                Value::ok()
            }
            Some(p) if user == b"default" && p.as_bytes() == pass => {
                client.authenticated = true;
                Value::ok()
            }
            _ => Value::error("WRONGPASS invalid username-password pair or user is disabled."),
        }
    }

    fn info(&self, ctx: &Ctx<'_>, args: &[Vec<u8>]) -> String {
        let wanted: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        let all = wanted.is_empty() || wanted.iter().any(|w| w == "all" || w == "default" || w == "everything");
        let show = |s: &str| all || wanted.iter().any(|w| w == s);
        let now_ms = ctx.wall_clock_ms();
        let uptime = (now_ms - self.started_ms).max(0) / 1000;
        let mut sections = Vec::new();
        if show("server") {
            sections.push(format!(
                "# Server\r\nredis_version:{VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\n\
                 arch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\n",
                self.pid,
                self.run_id,
                self.config.port,
                now_ms * 1000,
                uptime / 86_400
            ));
        }
        if show("clients") {
            sections.push(format!("# Clients\r\nconnected_clients:{}\r\n", self.clients.len()));
        }
        if show("stats") {
            sections.push(format!(
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n",
                self.connections_received, self.commands_processed
            ));
        }
        if show("replication") {
            sections.push(format!(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
                 master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n\
                 master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n\
                 repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                self.run_id
            ));
        }
        if show("keyspace") {
            let mut s = "# Keyspace\r\n".to_owned();
            for (i, db) in self.dbs.iter().enumerate().filter(|(_, d)| !d.keys.is_empty()) {
                let ttls: Vec<i64> = db.expires.values().map(|at| (at - now_ms).max(0)).collect();
                let avg = if ttls.is_empty() { 0 } else { ttls.iter().sum::<i64>() / ttls.len() as i64 };
                s.push_str(&format!("db{i}:keys={},expires={},avg_ttl={avg}\r\n", db.keys.len(), db.expires.len()));
            }
            sections.push(s);
        }
        sections.join("\r\n")
    }
}

impl Process for Server {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.start(ctx),
            Input::Shutdown => {
                self.log(ctx, '#', "Received SIGTERM scheduling shutdown...");
                self.log(ctx, '#', "User requested shutdown...");
                self.log(ctx, '#', "Redis is now ready to exit, bye bye...");
            }
            Input::Accepted { conn, .. } => {
                self.connections_received += 1;
                let authenticated = self.config.requirepass.is_none();
                self.clients
                    .insert(conn, Client { parser: RequestParser::default(), db: 0, authenticated, closing: false });
            }
            Input::Data { conn, bytes } => self.on_data(ctx, conn, bytes),
            Input::Closed { conn, reason } => {
                self.clients.remove(&conn);
                // readQueryFromClient logs read errors at verbose level with strerror's text.
                match reason {
                    CloseReason::TimedOut => self.log(ctx, '-', "Reading from client: Connection timed out"),
                    CloseReason::Reset => self.log(ctx, '-', "Reading from client: Connection reset by peer"),
                    CloseReason::PeerClosed => {}
                }
            }
            Input::Timer { .. } => self.cron(ctx),
            Input::Connected { .. } | Input::ConnectFailed { .. } => {}
        }
    }
}
