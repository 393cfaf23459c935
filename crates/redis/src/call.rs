//! A client's command from its name to its handler: the gates every command
//! passes ([`check`], mirroring processCommand() in server.c) and the call of
//! the handler the command table names ([`Server::execute`], mirroring call()).

use crate::cluster::commands::ClientFlags;
use crate::command_table::{Command, Handler, NO_AUTH, RANDOM, STALE};
use crate::config::Config;
use crate::keyspace::Exec;
use crate::replication::Replication;
use crate::server::{Client, Server};
use resp::Value;
use sim::{ConnId, Ctx};

/// Outcome of looking a command up before running it.
pub(crate) enum Dispatch {
    /// Passed the gates: run by the part of the server its table entry names.
    Run {
        command: &'static Command,
    },
    Reply(Value),
}

impl Server {
    fn check(&self, client: &Client, args: &[Vec<u8>], name: &str, now_ms: i64) -> Dispatch {
        let route = route(&self.config, self.cluster.as_deref(), &self.dbs, client, now_ms);
        let command = crate::command_table::lookup(name);
        check(&self.config, &self.repl, route, Caller::of(client, &self.acl), args, name, command)
    }

    /// Runs one command; `None` means no reply is sent (SHUTDOWN, a blocked WAIT,
    /// REPLCONF ACK). Mirrors call() in server.c: the command table entry's
    /// handler runs it. The client is out of the map meanwhile, so the
    /// memory model counts it apart.
    pub(crate) fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let outer = std::mem::replace(&mut self.memory.detached_caller, client.replica.is_none());
        let reply = self.execute_detached(ctx, client, conn, args);
        self.memory.detached_caller = outer;
        reply
    }

    fn execute_detached(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let mut name_buf = [0u8; crate::commands::NAME_MAX];
        let name = crate::commands::lowercase_name(&args[0], &mut name_buf);
        let checked = self.check(client, args, name, ctx.wall_clock_ms());
        // ASKING lasts for one command (`resetClient`).
        client.cluster_flags.asking = false;
        let command = match checked {
            Dispatch::Reply(v) => {
                self.log_acl_refusal(client, args, ctx.wall_clock_ms());
                if let Some(command) = crate::command_table::lookup(name) {
                    self.slowlog.count_error(command, args, &v, false);
                }
                if name == "exec" {
                    // execCommandAbort discards the transaction: its watches go too.
                    self.feed.watch.forget(client.id);
                }
                return Some(v);
            }
            Dispatch::Run { command } => command,
        };
        if self.config.maxmemory.limit > 0
            && !self.scripting.in_call
            && let Some(oom) = self.maxmemory_gate(ctx, command, args, client.multi.is_some())
        {
            self.slowlog.count_error(command, args, &oom, false);
            return Some(oom);
        }
        self.commands_processed += 1;
        crate::costs::spend(ctx, self.costs.command);
        let now_ms = ctx.wall_clock_ms();
        client.last_cmd_ms = now_ms;
        let reply = self.run_handler(ctx, client, conn, command, args);
        if let Some(r) = &reply {
            self.slowlog.count_error(command, args, r, true);
        }
        // Commands take no virtual time, but DEBUG SLEEP blocks the server for its sleep.
        let duration_us = match self.busy_until {
            Some(t) if name == "debug" && t > ctx.now() => (t - ctx.now()).as_micros() as u64,
            _ => 0,
        };
        self.slowlog.count(command, args, duration_us);
        let threshold = self.config.latency_monitor_threshold;
        if threshold > 0 && duration_us / 1000 >= threshold {
            // Only a spike pays for finding the event's name.
            let ended_s = (now_ms + (duration_us / 1000) as i64).div_euclid(1000);
            let fast = command.flags_for(args).contains(&"fast");
            self.latency.command_ran(threshold, fast, duration_us / 1000, ended_s);
        }
        if !self.monitors.is_empty() {
            self.feed_monitors(ctx, (client.db, client.peer), command, args);
        }
        self.slowlog.push(&self.config, client, args, now_ms, duration_us);
        reply
    }

    /// Runs the handler the table names for a command that passed the gates.
    fn run_handler(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        command: &'static Command,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let now_ms = ctx.wall_clock_ms();
        let name = command.name;
        match command.handler {
            Handler::Keyspace => {
                let random = self.draw_random(ctx, name);
                let access = self.access(ctx);
                let reply = self.run_keyspace(client, command, args, now_ms, (random, access));
                self.after_keyspace(ctx, command, &reply);
                Some(reply)
            }
            Handler::Migrate if name == "migrate" => {
                self.migrate_command(ctx, conn, client.db, client.multi.is_some(), args)
            }
            Handler::Migrate => {
                let access = self.access(ctx);
                Some(self.run_keyspace(client, command, args, now_ms, (0, access)))
            }
            Handler::Connection if name == "monitor" => self.monitor_command(client, conn),
            Handler::Connection => Some(self.connection_command(ctx, client, conn, name, args)),
            Handler::Server => self.server_command(ctx, client, conn, name, args),
            Handler::Persistence if name == "bgrewriteaof" => Some(self.bgrewriteaof(ctx, client.multi.is_some())),
            Handler::Persistence => Some(self.save_command(ctx, name, args, client.multi.is_some())),
            Handler::Replication => self.replication_command(ctx, client, conn, name, args),
            Handler::Transaction => Some(self.transaction_command(ctx, client, conn, name, args)),
            Handler::PubSub => self.pubsub_dispatch(ctx, client, conn, name, args),
            Handler::Cluster => Some(self.cluster_client_command(ctx, client, name, args)),
            Handler::Scripting => self.scripting_command(ctx, client, conn, name, args),
            Handler::Blocking => self.blocking_command(ctx, client, conn, name, args),
        }
    }

    /// A keyspace command run outside the fast path (inside EXEC, DUMP, RESTORE).
    /// `draws`: the RANDOM command's draw and how lookups touch keys.
    fn run_keyspace(
        &mut self,
        client: &Client,
        command: &'static Command,
        args: &[Vec<u8>],
        now_ms: i64,
        draws: (u64, crate::memory::Access),
    ) -> Value {
        self.feed.in_multi = client.multi.is_some();
        let shared_integers = self.shared_integers();
        let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), client.db, now_ms);
        (x.random, x.access, x.shared_integers) = (draws.0, draws.1, shared_integers);
        x.resp3 = client.proto == resp::Protocol::Resp3;
        x.cluster = self.cluster.is_some();
        let reply = crate::commands::keyspace(command, args, &mut x);
        self.persist.dirty += x.dirty;
        self.feed.in_multi = false;
        reply
    }

    /// A draw from the process's seeded stream for a command the table marks
    /// [`RANDOM`] (RANDOMKEY), 0 for any other: only those commands move the stream.
    pub(crate) fn draw_random(&self, ctx: &mut Ctx<'_>, name: &str) -> u64 {
        match crate::command_table::lookup(name) {
            Some(c) if c.has(RANDOM) => ctx.rng().next_u64(),
            _ => 0,
        }
    }

    /// QUIT, AUTH, HELLO, SELECT, CLIENT, RESET.
    fn connection_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Value {
        match name {
            "quit" => {
                client.closing = true;
                Value::ok()
            }
            "auth" if args.len() > 3 => Value::error("ERR syntax error"),
            "auth" => self.auth(client, args, ctx.wall_clock_ms()),
            "hello" => self.hello(client, conn, args, ctx.wall_clock_ms()),
            "select" => self.select(client, args),
            "client" => self.client_command(ctx, client, args),
            "reset" => self.reset(client, conn),
            _ => unreachable!("redis: {name} is no connection command"),
        }
    }

    /// RESET (`clearClientConnectionState`): out of MULTI, WATCH, pub/sub
    /// (without unsubscribe messages), back to database 0, RESP2, no name, no
    /// ASKING or READONLY, and authenticated only if the default user needs no
    /// password.
    fn reset(&mut self, client: &mut Client, conn: ConnId) -> Value {
        client.multi = None;
        self.feed.watch.forget(client.id);
        self.pubsub.remove_client(conn);
        client.db = 0;
        client.proto = resp::Protocol::Resp2;
        client.name.clear();
        client.cluster_flags.asking = false;
        client.cluster_flags.readonly = false;
        // CLIENT REPLY back on, NO-EVICT off, tracking off (clearClientConnectionState).
        client.ctl = crate::client_control::Controls::default();
        client.authenticated = self.acl.default_needs_no_auth();
        client.user = "default".to_owned();
        Value::Simple("RESET".into())
    }

    /// SELECT: only database 0 in cluster mode.
    fn select(&self, client: &mut Client, args: &[Vec<u8>]) -> Value {
        match crate::commands::parse_int(&args[1]) {
            Some(db) if self.cluster.is_some() && db != 0 => Value::error("ERR SELECT is not allowed in cluster mode"),
            Some(db) if db >= 0 && (db as usize) < self.dbs.len() => {
                client.db = db as usize;
                Value::ok()
            }
            Some(_) => Value::error("ERR DB index is out of range"),
            None => Value::error("ERR value is not an integer or out of range"),
        }
    }

    /// INFO, CONFIG, ROLE, DEBUG, COMMAND, SHUTDOWN, TIME, LOLWUT.
    fn server_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        Some(match name {
            "info" => {
                self.refresh_memory(ctx.wall_clock_ms());
                Value::Verbatim(self.info(ctx.wall_clock_ms(), &args[1..]).into_bytes())
            }
            "memory" => self.memory_command(client.db, args, ctx.wall_clock_ms()),
            "config" => self.config_command(ctx, args, client.multi.is_some()),
            "role" => self.role(),
            "debug" => {
                let reply = self.debug(ctx, args);
                if self.busy(ctx) {
                    // The reply comes when the sleep is over.
                    self.busy_reply = Some(conn);
                    return None;
                }
                reply
            }
            "command" => crate::command_info::command(args),
            "acl" | "module" | "slowlog" | "latency" => {
                let command = crate::command_table::lookup(name).expect("a command of the table");
                if let Some(e) = crate::command_table::check_subcommand(command, args) {
                    return Some(e);
                }
                match name {
                    "acl" => self.acl_command(ctx, client, args),
                    "module" => self.module_command(ctx, args),
                    "slowlog" => self.slowlog_command(args),
                    _ => self.latency_command(args, ctx.wall_clock_ms()),
                }
            }
            "time" => {
                // The virtual clock: the node's wall clock in ms and the kernel's time below that.
                let micros = ctx.wall_clock_ms() * 1000 + (ctx.now().since_start().as_micros() % 1000) as i64;
                let part = |n: i64| Value::Bulk(n.to_string().into_bytes());
                Value::Array(vec![part(micros.div_euclid(1_000_000)), part(micros.rem_euclid(1_000_000))])
            }
            "lolwut" => crate::lolwut::lolwut(args),
            "shutdown" => return self.shutdown_command(ctx, conn, args),
            _ => unreachable!("redis: {name} is no server command"),
        })
    }

    /// REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, WAIT, FAILOVER.
    fn replication_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        match name {
            "replicaof" | "slaveof" if self.cluster.is_some() => {
                Some(Value::error("ERR REPLICAOF not allowed in cluster mode."))
            }
            "replicaof" | "slaveof" => Some(self.replicaof_command(ctx, client, args)),
            "replconf" => self.replconf(ctx, client, conn, args),
            "psync" | "sync" => self.sync_command(ctx, client, conn, args),
            "wait" => self.wait_command(ctx, client, args),
            "failover" => Some(self.failover_command(ctx, args)),
            _ => unreachable!("redis: {name} is no replication command"),
        }
    }

    /// CLUSTER, and the client flags ASKING, READONLY, READWRITE.
    fn cluster_client_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        name: &str,
        args: &[Vec<u8>],
    ) -> Value {
        match name {
            "cluster" => self.cluster_command(ctx, args),
            _ if self.cluster.is_none() => Value::error("ERR This instance has cluster support disabled"),
            "asking" => {
                client.cluster_flags.asking = true;
                Value::ok()
            }
            "readonly" | "readwrite" => {
                client.cluster_flags.readonly = name == "readonly";
                Value::ok()
            }
            _ => unreachable!("redis: {name} is no cluster command"),
        }
    }
}

/// What cluster routing needs of a client's command: the table, db 0 and the
/// client's flags as of `now_ms`; `None` outside cluster mode.
pub(crate) fn route<'a>(
    config: &Config,
    cluster: Option<&'a crate::cluster::Cluster>,
    dbs: &'a [crate::keyspace::Db],
    client: &Client,
    now_ms: i64,
) -> Option<(&'a crate::cluster::Cluster, &'a crate::keyspace::Db, ClientFlags)> {
    let reads_when_down = config.cluster.allow_reads_when_down;
    cluster.map(|c| (c, &dbs[0], ClientFlags { reads_when_down, now_ms, ..client.cluster_flags }))
}

/// What the gates need to know of the client.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'a> {
    /// Past AUTH, or no password needed (`authRequired`: the default user
    /// may be set to need none after the connection came).
    pub(crate) authenticated: bool,
    /// Connected from a loopback address (`enable-*-command local`).
    pub(crate) local: bool,
    /// The ACL and the client's user, when that user's commands are checked.
    pub(crate) acl: Option<(&'a crate::acl::Acl, &'a crate::acl_users::User)>,
}

impl<'a> Caller<'a> {
    pub(crate) fn of(client: &Client, acl: &'a crate::acl::Acl) -> Caller<'a> {
        Caller {
            authenticated: client.authenticated || acl.default_needs_no_auth(),
            local: client.peer.ip().is_loopback(),
            acl: acl.restricted(&client.user).map(|u| (acl, u)),
        }
    }
}

/// The protected commands (DEBUG; MODULE LOAD, LOADEX, UNLOAD) refused by
/// their `enable-*-command` setting, before AUTH is asked for.
fn protected(config: &Config, local: bool, name: &str, args: &[Vec<u8>]) -> Option<Value> {
    let (what, option, setting) = match name {
        "debug" => ("DEBUG", "enable-debug-command", &config.enable_debug_command),
        "module" if [&b"load"[..], b"loadex", b"unload"].iter().any(|s| args[1].eq_ignore_ascii_case(s)) => {
            ("MODULE", "enable-module-command", &config.enable_module_command)
        }
        _ => return None,
    };
    let allowed = setting == "yes" || (setting == "local" && local);
    (!allowed).then(|| {
        Value::error(format!(
            "ERR {what} command not allowed. If the {option} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
        ))
    })
}

/// Gates `command` (the table's entry for `name`, looked up by the caller,
/// which has usually needed it already) before it runs: unknown, arity, AUTH,
/// cluster routing, read-only replica, stale data, min-replicas, in the order
/// processCommand() in server.c does (the protected commands' settings before
/// AUTH). A refused EXEC answers EXECABORT with
/// the refusal (`rejectCommand` → `execCommandAbort`), in MULTI or not.
pub(crate) fn check(
    config: &Config,
    repl: &Replication,
    cluster: Option<(&crate::cluster::Cluster, &crate::keyspace::Db, ClientFlags)>,
    who: Caller<'_>,
    args: &[Vec<u8>],
    name: &str,
    command: Option<&'static crate::command_table::Command>,
) -> Dispatch {
    match gates(config, repl, cluster, who, args, name, command) {
        Dispatch::Reply(Value::Error(e)) if name == "exec" => {
            let why = e.strip_prefix("ERR ").unwrap_or(&e);
            Dispatch::Reply(Value::error(format!("EXECABORT Transaction discarded because of: {why}")))
        }
        checked => checked,
    }
}

/// [`check`]'s gates, in processCommand's order.
fn gates(
    config: &Config,
    repl: &Replication,
    cluster: Option<(&crate::cluster::Cluster, &crate::keyspace::Db, ClientFlags)>,
    who: Caller<'_>,
    args: &[Vec<u8>],
    name: &str,
    command: Option<&'static crate::command_table::Command>,
) -> Dispatch {
    let Some(command) = command else {
        return Dispatch::Reply(common::unknown_command(args));
    };
    let (argc, arity) = (args.len() as i32, command.arity);
    if (arity > 0 && argc != arity) || argc < -arity {
        return Dispatch::Reply(Value::error(format!("ERR wrong number of arguments for '{name}' command")));
    }
    // A container's subcommand is the command from here on: known, its arity, its write flag.
    let mut writes = command.write();
    if !command.doc.subcommands.is_empty() && args.len() > 1 {
        match crate::command_table::subcommand(command, args) {
            Ok(sub) => writes = sub.flags.contains(&"write"),
            Err(e) => return Dispatch::Reply(e),
        }
    }
    if let Some(refused) = protected(config, who.local, name, args) {
        return Dispatch::Reply(refused);
    }
    if !who.authenticated && !command.has(NO_AUTH) {
        return Dispatch::Reply(Value::error("NOAUTH Authentication required."));
    }
    if let Some((acl, user)) = who.acl {
        let sub = match command.doc.subcommands.is_empty() || args.len() < 2 {
            true => None,
            false => crate::command_table::subcommand_position(command, &args[1]),
        };
        if let Err(refused) = acl.check(user, command, sub, args) {
            return Dispatch::Reply(refused);
        }
    }
    if let Some((c, db0, flags)) = cluster
        && let Some(redirect) = crate::cluster::commands::route(c, db0, flags, args, command)
    {
        return Dispatch::Reply(redirect);
    }
    if repl.master.is_some() {
        if writes && config.replica_read_only {
            return Dispatch::Reply(Value::error("READONLY You can't write against a read only replica."));
        }
        if !config.replica_serve_stale_data && !repl.link_up() && !command.has(STALE) {
            return Dispatch::Reply(Value::error(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
    } else if writes && config.min_replicas_to_write > 0 && repl.good_replicas < config.min_replicas_to_write {
        return Dispatch::Reply(Value::error("NOREPLICAS Not enough good replicas to write."));
    }
    Dispatch::Run { command }
}
