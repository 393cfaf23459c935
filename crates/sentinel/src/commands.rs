//! What a Sentinel serves on its port (its command table, measured in
//! [`crate::command_table`]): PING, INFO, ROLE, pub/sub for its event channels,
//! PUBLISH of hello messages, COMMAND, and the SENTINEL subcommands, with
//! replies as redis-sentinel 7.0.15 gives them; CLIENT, HELLO, AUTH and ACL
//! are in [`crate::clients`].

use crate::clients::{Client, ReplyMode};
use crate::command_table::{self, Lookup, Table};
use crate::instance::{Instance, Master, Role, Who};
use crate::sentinel::{HELLO_CHANNEL, SIMFAILURE_CRASH_AFTER_ELECTION, SIMFAILURE_CRASH_AFTER_PROMOTION, Sentinel};
use resp::Value;
use sim::{ConnId, Ctx};
use std::fmt::Write as _;
use std::net::SocketAddrV4;

fn bulk(s: impl AsRef<[u8]>) -> Value {
    Value::bulk(s)
}

fn arity_error(name: &str) -> Value {
    Value::error(format!("ERR wrong number of arguments for '{name}' command"))
}

/// SENTINEL HELP, as redis-sentinel 7.0.15 answers it.
const SENTINEL_HELP: &[&str] = &[
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
    "HELP",
    "    Prints this help.",
];

impl Sentinel {
    pub(crate) fn accept(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, local_port: u16, peer: SocketAddrV4) {
        self.connections_received += 1;
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.clients.insert(conn, Client::new(id, peer, local_port, ctx.wall_clock_ms()));
    }

    pub(crate) fn on_client_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        self.net_input_bytes += bytes.len() as u64;
        let Some(client) = self.clients.get_mut(&conn) else { return };
        client.parser.feed(bytes);
        loop {
            let Some(client) = self.clients.get_mut(&conn) else { return };
            match client.parser.next_command(false) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    ctx.send_with(conn, |b| Value::error(e.reply_text()).encode(b));
                    self.drop_client(ctx, conn);
                    return;
                }
            }
            let args: Vec<Vec<u8>> = client.parser.args().to_vec();
            let reply = self.command(ctx, conn, &args);
            self.reply(ctx, conn, reply);
            if self.clients.get(&conn).is_some_and(|c| c.closing) {
                self.drop_client(ctx, conn);
                return;
            }
            // CLIENT KILL may have marked other clients.
            if args[0].eq_ignore_ascii_case(b"client") {
                let killed: Vec<ConnId> = self.clients.iter().filter(|(_, c)| c.closing).map(|(&k, _)| k).collect();
                for other in killed {
                    self.drop_client(ctx, other);
                }
            }
        }
    }

    fn drop_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        ctx.close(conn);
        self.clients.remove(&conn);
        self.pubsub.remove_client(conn);
    }

    /// Sends a command's reply in the client's protocol, unless CLIENT REPLY
    /// OFF or SKIP holds it back.
    fn reply(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reply: Option<Value>) {
        let Some(client) = self.clients.get_mut(&conn) else { return };
        let silent = match client.reply {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::SkipNext => {
                client.reply = ReplyMode::Skipping;
                false
            }
            ReplyMode::Skipping => {
                client.reply = ReplyMode::On;
                true
            }
        };
        if let Some(reply) = reply.filter(|_| !silent) {
            if matches!(reply, Value::Error(_)) {
                self.error_replies += 1;
            }
            let proto = client.proto;
            let mut out = Vec::new();
            reply.encode_for(proto, &mut out);
            self.net_output_bytes += out.len() as u64;
            ctx.send(conn, &out);
        }
    }

    fn command(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, args: &[Vec<u8>]) -> Option<Value> {
        let (name, info) = match command_table::table().lookup(args) {
            Lookup::Found(name, info) => (name, info),
            Lookup::UnknownCommand => return Some(common::unknown_command(args)),
            Lookup::UnknownSubcommand => {
                return Some(Value::error(format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    String::from_utf8_lossy(&args[1]),
                    String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
                )));
            }
        };
        if !Table::arity_ok(info, args.len()) {
            return Some(arity_error(&name));
        }
        self.commands_processed += 1;
        let now = ctx.wall_clock_ms();
        if let Some(c) = self.clients.get_mut(&conn) {
            c.last_cmd_ms = now;
            c.last_cmd.clone_from(&name);
        }
        let top = name.split('|').next().unwrap_or_default().to_owned();
        let subscribed = self.pubsub.is_subscribed(conn);
        if subscribed && !common::pubsub::allowed_when_subscribed(&top) {
            return Some(common::pubsub::subscribed_error(&top));
        }
        let mut out = Vec::new();
        Some(match top.as_str() {
            "ping" if subscribed => common::pubsub::subscribed_ping(args),
            "ping" => match args.get(1) {
                Some(m) if args.len() == 2 => Value::Bulk(m.clone()),
                Some(_) => arity_error("ping"),
                None => Value::Simple("PONG".into()),
            },
            "info" => Value::Bulk(self.info(now, &args[1..]).into_bytes()),
            "role" => Value::Array(vec![bulk("sentinel"), Value::Array(self.masters.keys().map(bulk).collect())]),
            "client" => self.client_command(ctx, conn, args),
            "auth" => Sentinel::auth_command(args),
            "hello" => self.hello_command(conn, args),
            "acl" => self.acl_command(args),
            "command" => command_table::table().command(args),
            "shutdown" => return self.shutdown_command(ctx, args),
            "publish" => {
                if args[1] != HELLO_CHANNEL.as_bytes() {
                    return Some(Value::error("ERR Only HELLO messages are accepted by Sentinel instances."));
                }
                self.process_hello(ctx, &String::from_utf8_lossy(&args[2]));
                Value::Integer(1)
            }
            "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" => {
                match top.as_str() {
                    "subscribe" => self.pubsub.subscribe(conn, &args[1..], &mut out),
                    "psubscribe" => self.pubsub.psubscribe(conn, &args[1..], &mut out),
                    "unsubscribe" => self.pubsub.unsubscribe(conn, &args[1..], &mut out),
                    _ => self.pubsub.punsubscribe(conn, &args[1..], &mut out),
                }
                self.net_output_bytes += out.len() as u64;
                ctx.send(conn, &out);
                return None;
            }
            _ => self.sentinel_command(ctx, args),
        })
    }

    fn sentinel_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let text = |i: usize| String::from_utf8_lossy(&args[i]).into_owned();
        let no_master = || Value::error("ERR No such master with that name");
        let now = ctx.wall_clock_ms();
        match sub.as_str() {
            "masters" => {
                Value::Array(self.masters.values().map(|m| self.describe_instance(m, &Who::Master, now)).collect())
            }
            "master" => match self.masters.get(&text(2)) {
                Some(m) => self.describe_instance(m, &Who::Master, now),
                None => no_master(),
            },
            "replicas" | "slaves" => match self.masters.get(&text(2)) {
                // `replica-announced no` hides a replica from this listing only.
                Some(m) => Value::Array(
                    m.slaves
                        .iter()
                        .filter(|(_, r)| r.replica_announced)
                        .map(|(k, _)| self.describe_instance(m, &Who::Slave(k.clone()), now))
                        .collect(),
                ),
                None => no_master(),
            },
            "sentinels" => match self.masters.get(&text(2)) {
                Some(m) => Value::Array(
                    m.sentinels.keys().map(|k| self.describe_instance(m, &Who::Sentinel(k.clone()), now)).collect(),
                ),
                None => no_master(),
            },
            "get-master-addr-by-name" => match self.master_addr(&text(2)) {
                Some((ip, port)) => Value::Array(vec![bulk(ip), bulk(port.to_string())]),
                None => Value::NilArray,
            },
            "myid" => bulk(&self.myid),
            "reset" => {
                let pattern = args[2].clone();
                let matching: Vec<String> = self
                    .masters
                    .keys()
                    .filter(|name| common::glob::glob_match(&pattern, name.as_bytes()))
                    .cloned()
                    .collect();
                for name in &matching {
                    self.reset_master(ctx, name, false);
                    self.event(ctx, '#', "+reset-master", Some((name, &Who::Master)), "");
                }
                if !matching.is_empty() {
                    self.flush_config(ctx);
                }
                Value::Integer(matching.len() as i64)
            }
            "failover" => {
                let name = text(2);
                let Some(m) = self.masters.get(&name) else { return no_master() };
                if m.failover_in_progress {
                    return Value::error("INPROG Failover already in progress");
                }
                if self.select_slave(&name, now).is_none() {
                    return Value::error("NOGOODSLAVE No suitable replica to promote");
                }
                self.log(ctx, '#', &format!("Executing user requested FAILOVER of '{name}'"));
                self.start_failover(ctx, &name);
                if let Some(m) = self.masters.get_mut(&name) {
                    m.force_failover = true;
                }
                Value::ok()
            }
            "ckquorum" => {
                let Some(m) = self.masters.get(&text(2)) else { return no_master() };
                let usable = 1 + m.sentinels.values().filter(|s| !s.s_down && !s.o_down).count();
                let voters = m.sentinels.len() + 1;
                let no_quorum = usable < m.quorum;
                let no_auth = usable < voters / 2 + 1;
                if !no_quorum && !no_auth {
                    return Value::Simple(
                        format!("OK {usable} usable Sentinels. Quorum and failover authorization can be reached")
                            .into(),
                    );
                }
                let mut e = format!("NOQUORUM {usable} usable Sentinels. ");
                if no_quorum {
                    e.push_str("Not enough available Sentinels to reach the specified quorum for this master");
                }
                if no_auth {
                    if no_quorum {
                        e.push_str(". ");
                    }
                    e.push_str("Not enough available Sentinels to reach the majority and authorize a failover");
                }
                Value::error(e)
            }
            "is-master-down-by-addr" => {
                let (Ok(port), Ok(epoch)) = (text(3).parse::<u16>(), text(4).parse::<u64>()) else {
                    return Value::error("ERR value is not an integer or out of range");
                };
                let (ip, runid) = (text(2), text(5));
                let found =
                    self.masters.iter().find(|(_, m)| m.inst.ip == ip && m.inst.port == port).map(|(k, _)| k.clone());
                let mut down = 0;
                let mut leader = None;
                let mut leader_epoch = 0;
                if let Some(name) = found {
                    if !self.tilt && self.masters[&name].inst.s_down {
                        down = 1;
                    }
                    if runid != "*" {
                        (leader, leader_epoch) = self.vote_leader(ctx, &name, epoch, &runid);
                    }
                }
                Value::Array(vec![
                    Value::Integer(down),
                    bulk(leader.unwrap_or_else(|| "*".to_owned())),
                    Value::Integer(leader_epoch as i64),
                ])
            }
            "monitor" => self.monitor_command(ctx, args),
            "remove" => self.remove_command(ctx, &text(2)),
            "set" => self.set_command(ctx, args),
            "config" => self.config_command(ctx, args),
            "flushconfig" => {
                self.flush_config(ctx);
                Value::ok()
            }
            "help" => common::help_reply(SENTINEL_HELP),
            "pending-scripts" => Value::Array(Vec::new()),
            "info-cache" => self.info_cache(&args[2..], now),
            "simulate-failure" => self.simulate_failure(ctx, &args[2..]),
            "debug" => self.timing.debug_command(&args[2..]),
            _ => Value::error(format!("ERR unknown subcommand '{}'. Try SENTINEL HELP.", text(1))),
        }
    }

    /// SENTINEL INFO-CACHE <name> ...: for each known master, its name and the
    /// last INFO of it and of each replica, with that INFO's age in ms.
    fn info_cache(&self, names: &[Vec<u8>], now: i64) -> Value {
        let cached = |i: &Instance| Value::Array(vec![Value::Integer(now - i.info_refresh), bulk(&i.info)]);
        let mut out = Vec::new();
        for name in names {
            let Some(m) = self.masters.get(String::from_utf8_lossy(name).as_ref()) else { continue };
            let instances = std::iter::once(&m.inst).chain(m.slaves.values()).map(cached).collect();
            out.extend([bulk(&m.inst.name), Value::Array(instances)]);
        }
        Value::Array(out)
    }

    /// SENTINEL SIMULATE-FAILURE <flag> ...: the flags start from none and are
    /// set one by one; HELP lists them, an unknown one stops the rest.
    fn simulate_failure(&mut self, ctx: &mut Ctx<'_>, flags: &[Vec<u8>]) -> Value {
        self.simfailure_flags = 0;
        for flag in flags {
            match flag.to_ascii_lowercase().as_slice() {
                b"crash-after-election" => {
                    self.simfailure_flags |= SIMFAILURE_CRASH_AFTER_ELECTION;
                    self.log(
                        ctx,
                        '#',
                        "Failure simulation: this Sentinel will crash after being successfully elected as failover leader",
                    );
                }
                b"crash-after-promotion" => {
                    self.simfailure_flags |= SIMFAILURE_CRASH_AFTER_PROMOTION;
                    self.log(
                        ctx,
                        '#',
                        "Failure simulation: this Sentinel will crash after promoting the selected replica to master",
                    );
                }
                b"help" => return Value::Array(vec![bulk("crash-after-election"), bulk("crash-after-promotion")]),
                _ => return Value::error("ERR Unknown failure simulation specified"),
            }
        }
        Value::ok()
    }

    /// `addReplySentinelRedisInstance`: field names and order as Sentinel 7.0.
    fn describe_instance(&self, m: &Master, who: &Who, now: i64) -> Value {
        let Some(i) = m.get(who) else { return Value::Nil };
        let mut f: Vec<(&str, String)> = vec![
            ("name", i.name.clone()),
            ("ip", i.ip.clone()),
            ("port", i.port.to_string()),
            ("runid", i.runid.clone().unwrap_or_default()),
            ("flags", i.flags(*who == Who::Master && m.failover_in_progress)),
            ("link-pending-commands", i.link.cc_pending.len().to_string()),
            ("link-refcount", "1".to_owned()),
        ];
        if *who == Who::Master && m.failover_in_progress {
            f.push(("failover-state", m.failover_state.name().to_owned()));
        }
        let since = |t: i64| if t == 0 { 0 } else { now - t };
        f.push(("last-ping-sent", since(i.link.act_ping_time).to_string()));
        f.push(("last-ok-ping-reply", (now - i.link.last_avail_time).to_string()));
        f.push(("last-ping-reply", (now - i.link.last_pong_time).to_string()));
        if i.s_down {
            f.push(("s-down-time", (now - i.s_down_since).to_string()));
        }
        if i.o_down {
            f.push(("o-down-time", (now - i.o_down_since).to_string()));
        }
        f.push(("down-after-milliseconds", m.down_after.to_string()));
        if i.role != Role::Sentinel {
            f.push(("info-refresh", since(i.info_refresh).to_string()));
            let reported = if i.role_reported == Role::Master { "master" } else { "slave" };
            f.push(("role-reported", reported.to_owned()));
            f.push(("role-reported-time", (now - i.role_reported_time).to_string()));
        }
        match i.role {
            Role::Master => {
                f.push(("config-epoch", m.config_epoch.to_string()));
                f.push(("num-slaves", m.slaves.len().to_string()));
                f.push(("num-other-sentinels", m.sentinels.len().to_string()));
                f.push(("quorum", m.quorum.to_string()));
                f.push(("failover-timeout", m.failover_timeout.to_string()));
                f.push(("parallel-syncs", m.parallel_syncs.to_string()));
            }
            Role::Slave => replica_fields(i, &mut f),
            Role::Sentinel => {
                f.push(("last-hello-message", (now - i.last_hello_time).to_string()));
                f.push(("voted-leader", i.leader.clone().unwrap_or_else(|| "?".to_owned())));
                f.push(("voted-leader-epoch", i.leader_epoch.to_string()));
            }
        }
        Value::Map(f.into_iter().map(|(k, v)| (bulk(k), bulk(v))).collect())
    }

    /// INFO: the sections redis-sentinel has, in its order.
    pub(crate) fn info(&self, now_ms: i64, args: &[Vec<u8>]) -> String {
        let wanted: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        let all = wanted.is_empty() || wanted.iter().any(|w| matches!(w.as_str(), "all" | "default" | "everything"));
        let show = |s: &str| all || wanted.iter().any(|w| w == s);
        let mut sections = Vec::new();
        if show("server") {
            sections.push(common::info::server(&common::info::Server {
                mode: "sentinel",
                pid: self.pid,
                run_id: &self.run_id,
                tcp_port: self.port,
                now_ms,
                started_ms: self.started_ms,
                hz: self.hz,
                configured_hz: 10,
                executable: "/usr/bin/redis-sentinel",
                config_file: crate::config::CONFIG_FILE,
            }));
        }
        if show("clients") {
            sections.push(common::info::clients(&common::info::Clients {
                connected: self.clients.len(),
                maxclients: 10_000,
                ..common::info::Clients::default()
            }));
        }
        if show("stats") {
            let (channels, patterns, shard) = self.pubsub.totals();
            sections.push(common::info::stats(&common::info::Stats {
                connections_received: self.connections_received,
                commands_processed: self.commands_processed,
                net_input_bytes: self.net_input_bytes,
                net_output_bytes: self.net_output_bytes,
                pubsub_channels: channels,
                pubsub_patterns: patterns,
                pubsubshard_channels: shard,
                error_replies: self.error_replies,
                ..common::info::Stats::default()
            }));
        }
        if show("cpu") {
            sections.push(common::info::cpu(0.0));
        }
        if show("sentinel") {
            let mut s = format!(
                "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\n\
                 sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:{}\r\n",
                self.masters.len(),
                u8::from(self.tilt),
                if self.tilt { (now_ms - self.tilt_start_time) / 1000 } else { -1 },
                self.simfailure_flags
            );
            for (i, m) in self.masters.values().enumerate() {
                let status = if m.inst.o_down {
                    "odown"
                } else if m.inst.s_down {
                    "sdown"
                } else {
                    "ok"
                };
                let (ip, port) = m.current_addr();
                let _ = write!(
                    s,
                    "master{i}:name={},status={status},address={ip}:{port},slaves={},sentinels={}\r\n",
                    m.inst.name,
                    m.slaves.len(),
                    m.sentinels.len() + 1
                );
            }
            sections.push(s);
        }
        sections.join("\r\n")
    }
}

fn replica_fields(i: &Instance, f: &mut Vec<(&str, String)>) {
    f.push(("master-link-down-time", i.master_link_down_time.to_string()));
    f.push(("master-link-status", if i.slave_master_link_up { "ok" } else { "err" }.to_owned()));
    f.push(("master-host", i.slave_master_host.clone().unwrap_or_else(|| "?".to_owned())));
    f.push(("master-port", i.slave_master_port.to_string()));
    f.push(("slave-priority", i.slave_priority.to_string()));
    f.push(("slave-repl-offset", i.slave_repl_offset.to_string()));
    f.push(("replica-announced", u8::from(i.replica_announced).to_string()));
}
