//! What a Sentinel serves on its port (sentinel.c's command table): PING, INFO,
//! ROLE, CLIENT, pub/sub for its event channels, PUBLISH of hello messages, and
//! the SENTINEL subcommands, with replies as redis-sentinel 7.0.15 gives them.

use crate::instance::{Instance, Master, Role, Who};
use crate::sentinel::{Client, HELLO_CHANNEL, Sentinel};
use resp::{RequestParser, Value};
use sim::{ConnId, Ctx};
use std::fmt::Write as _;

fn bulk(s: impl AsRef<[u8]>) -> Value {
    Value::bulk(s)
}

fn arity_error(name: &str) -> Value {
    Value::error(format!("ERR wrong number of arguments for '{name}' command"))
}

/// Arity as in Redis's command table (negative: at least).
fn arity(name: &str) -> Option<i32> {
    Some(match name {
        "ping" | "info" | "unsubscribe" | "punsubscribe" | "quit" | "command" | "shutdown" => -1,
        "sentinel" | "subscribe" | "psubscribe" | "client" | "auth" | "hello" => -2,
        "publish" => 3,
        "role" => 1,
        _ => return None,
    })
}

impl Sentinel {
    pub(crate) fn accept(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) {
        self.connections_received += 1;
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.clients.insert(conn, Client { id, parser: RequestParser::default(), name: Vec::new(), closing: false });
    }

    pub(crate) fn on_client_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        let Some(client) = self.clients.get_mut(&conn) else { return };
        client.parser.feed(bytes);
        loop {
            let Some(client) = self.clients.get_mut(&conn) else { return };
            match client.parser.next_command(false) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    ctx.send_with(conn, |b| Value::error(e.reply_text()).encode(b));
                    ctx.close(conn);
                    self.clients.remove(&conn);
                    self.pubsub.remove_client(conn);
                    return;
                }
            }
            let args: Vec<Vec<u8>> = client.parser.args().to_vec();
            let reply = self.command(ctx, conn, &args);
            if let Some(reply) = reply {
                ctx.send_with(conn, |b| reply.encode(b));
            }
            if self.clients.get(&conn).is_some_and(|c| c.closing) {
                ctx.close(conn);
                self.clients.remove(&conn);
                self.pubsub.remove_client(conn);
                return;
            }
        }
    }

    fn command(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, args: &[Vec<u8>]) -> Option<Value> {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let Some(n) = arity(&name) else { return Some(common::unknown_command(args)) };
        let argc = args.len() as i32;
        if (n > 0 && argc != n) || argc < -n {
            return Some(arity_error(&name));
        }
        self.commands_processed += 1;
        let subscribed = self.pubsub.is_subscribed(conn);
        if subscribed && !common::pubsub::allowed_when_subscribed(&name) {
            return Some(common::pubsub::subscribed_error(&name));
        }
        let mut out = Vec::new();
        Some(match name.as_str() {
            "ping" if subscribed => common::pubsub::subscribed_ping(args),
            "ping" => match args.get(1) {
                Some(m) if args.len() == 2 => Value::Bulk(m.clone()),
                Some(_) => arity_error("ping"),
                None => Value::Simple("PONG".to_owned()),
            },
            "quit" => {
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.closing = true;
                }
                Value::ok()
            }
            "info" => Value::Bulk(self.info(ctx.wall_clock_ms(), &args[1..]).into_bytes()),
            "role" => Value::Array(vec![bulk("sentinel"), Value::Array(self.masters.keys().map(bulk).collect())]),
            "client" => self.client_command(conn, args),
            "auth" => Value::error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ),
            "hello" => Value::error("NOPROTO unsupported protocol version"),
            "command" => Value::Array(Vec::new()),
            "shutdown" => return self.shutdown_command(ctx, args),
            "publish" => {
                if args[1] != HELLO_CHANNEL.as_bytes() {
                    return Some(Value::error("ERR Only HELLO messages are accepted by Sentinel instances."));
                }
                self.process_hello(ctx, &String::from_utf8_lossy(&args[2]));
                Value::Integer(1)
            }
            "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" => {
                match name.as_str() {
                    "subscribe" => self.pubsub.subscribe(conn, &args[1..], &mut out),
                    "psubscribe" => self.pubsub.psubscribe(conn, &args[1..], &mut out),
                    "unsubscribe" => self.pubsub.unsubscribe(conn, &args[1..], &mut out),
                    _ => self.pubsub.punsubscribe(conn, &args[1..], &mut out),
                }
                ctx.send(conn, &out);
                return None;
            }
            _ => self.sentinel_command(ctx, args),
        })
    }

    fn client_command(&mut self, conn: ConnId, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let Some(client) = self.clients.get_mut(&conn) else { return Value::Nil };
        match sub.as_str() {
            "id" if args.len() == 2 => Value::Integer(client.id as i64),
            "setname" if args.len() == 3 => {
                client.name = args[2].clone();
                Value::ok()
            }
            "getname" if args.len() == 2 => {
                if client.name.is_empty() {
                    Value::Nil
                } else {
                    Value::Bulk(client.name.clone())
                }
            }
            _ => Value::error(format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[1])
            )),
        }
    }

    fn sentinel_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let text = |i: usize| String::from_utf8_lossy(&args[i]).into_owned();
        let wrong = || Value::error(format!("ERR wrong number of arguments for 'sentinel|{sub}' command"));
        let no_master = || Value::error("ERR No such master with that name");
        let now = ctx.wall_clock_ms();
        let n = args.len();
        match sub.as_str() {
            "masters" if n == 2 => {
                Value::Array(self.masters.values().map(|m| self.describe_instance(m, &Who::Master, now)).collect())
            }
            "master" if n == 3 => match self.masters.get(&text(2)) {
                Some(m) => self.describe_instance(m, &Who::Master, now),
                None => no_master(),
            },
            "replicas" | "slaves" if n == 3 => match self.masters.get(&text(2)) {
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
            "sentinels" if n == 3 => match self.masters.get(&text(2)) {
                Some(m) => Value::Array(
                    m.sentinels.keys().map(|k| self.describe_instance(m, &Who::Sentinel(k.clone()), now)).collect(),
                ),
                None => no_master(),
            },
            "get-master-addr-by-name" if n == 3 => match self.master_addr(&text(2)) {
                Some((ip, port)) => Value::Array(vec![bulk(ip), bulk(port.to_string())]),
                None => Value::NilArray,
            },
            "myid" if n == 2 => bulk(&self.myid),
            "reset" if n == 3 => {
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
            "failover" if n == 3 => {
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
            "ckquorum" if n == 3 => {
                let Some(m) = self.masters.get(&text(2)) else { return no_master() };
                let usable = 1 + m.sentinels.values().filter(|s| !s.s_down && !s.o_down).count();
                let voters = m.sentinels.len() + 1;
                let no_quorum = usable < m.quorum;
                let no_auth = usable < voters / 2 + 1;
                if !no_quorum && !no_auth {
                    return Value::Simple(format!(
                        "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
                    ));
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
            "is-master-down-by-addr" if n == 6 => {
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
            "monitor" if n == 6 => self.monitor_command(ctx, args),
            "remove" if n == 3 => self.remove_command(ctx, &text(2)),
            "set" if n >= 5 => self.set_command(ctx, args),
            "config" if n >= 3 => self.config_command(ctx, args),
            "flushconfig" if n == 2 => {
                self.flush_config(ctx);
                Value::ok()
            }
            "masters"
            | "monitor"
            | "remove"
            | "set"
            | "flushconfig"
            | "config"
            | "master"
            | "replicas"
            | "slaves"
            | "sentinels"
            | "get-master-addr-by-name"
            | "myid"
            | "reset"
            | "failover"
            | "ckquorum"
            | "is-master-down-by-addr" => wrong(),
            _ => Value::error(format!("ERR unknown subcommand '{}'. Try SENTINEL HELP.", text(1))),
        }
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
        Value::Array(f.into_iter().flat_map(|(k, v)| [bulk(k), bulk(v)]).collect())
    }

    /// INFO: the sections redis-sentinel has (CPU left out: its numbers are the host's).
    pub(crate) fn info(&self, now_ms: i64, args: &[Vec<u8>]) -> String {
        let wanted: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        let all = wanted.is_empty() || wanted.iter().any(|w| matches!(w.as_str(), "all" | "default" | "everything"));
        let show = |s: &str| all || wanted.iter().any(|w| w == s);
        let uptime = (now_ms - self.started_ms).max(0) / 1000;
        let mut sections = Vec::new();
        if show("server") {
            sections.push(format!(
                "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:sentinel\r\n\
                 arch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\n",
                common::VERSION,
                self.pid,
                self.run_id,
                self.port,
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
        if show("sentinel") {
            let mut s = format!(
                "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\n\
                 sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\n",
                self.masters.len(),
                u8::from(self.tilt),
                if self.tilt { (now_ms - self.tilt_start_time) / 1000 } else { -1 }
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
