//! MULTI/EXEC/DISCARD and WATCH/UNWATCH (multi.c; what WATCH keeps is in
//! [`crate::watch`]), the per-client gate that runs before every
//! command (subscribed-mode restriction, queueing inside MULTI), and the CLIENT
//! subcommands that act on other clients (KILL, LIST), as Sentinel's
//! reconfiguration transaction `MULTI; SLAVEOF; CONFIG REWRITE; CLIENT KILL TYPE
//! normal; CLIENT KILL TYPE pubsub; EXEC` needs them.

use crate::server::{Client, Server};
use resp::Value;
use sim::{ConnId, Ctx};

/// A client between MULTI and EXEC.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    queued: Vec<Vec<Vec<u8>>>,
    /// A command was rejected while queueing: EXEC will answer EXECABORT.
    aborted: bool,
    /// Set while EXEC runs the queue: how many commands it holds.
    executing: Option<usize>,
}

impl Transaction {
    /// CLIENT LIST's view: the `multi=` count, and whether EXEC is running.
    pub(crate) fn info(&self) -> (usize, bool) {
        (self.executing.unwrap_or(self.queued.len()), self.executing.is_some())
    }
}

impl Server {
    /// What runs before a command of a client that is in MULTI or in
    /// subscribed mode: `Some(reply)` means the command does not run now
    /// (rejected, or queued).
    pub(crate) fn gate_session(&mut self, conn: ConnId, name: &str) -> Option<Value> {
        let subscribed = self.pubsub.is_subscribed(conn);
        let client = self.clients.get_mut(&conn)?;
        if client.multi.is_none() && !subscribed {
            return None;
        }
        let args = client.parser.args();
        // In cluster mode a queued command is routed too: a redirect aborts the transaction.
        let route = self.cluster.as_deref().map(|c| {
            let flags = crate::cluster::commands::ClientFlags {
                reads_when_down: self.config.cluster.allow_reads_when_down,
                ..client.cluster_flags
            };
            (c, &self.dbs[0], flags)
        });
        if let crate::call::Dispatch::Reply(v) = crate::call::check(
            &self.config,
            &self.repl,
            route,
            client.authenticated,
            args,
            name,
            crate::command_table::lookup(name),
        ) {
            if let Some(tx) = &mut client.multi {
                tx.aborted = true;
            }
            return Some(v);
        }
        // Only RESP2 restricts a subscribed client: RESP3 keeps messages apart as pushes.
        let resp2_subscribed = subscribed && client.proto == resp::Protocol::Resp2;
        let allowed = crate::command_table::lookup(name).is_some_and(|c| c.has(crate::command_table::SUBSCRIBED_OK));
        if resp2_subscribed && !allowed {
            return Some(common::pubsub::subscribed_error(name));
        }
        if resp2_subscribed && name == "ping" && client.multi.is_none() {
            return Some(common::pubsub::subscribed_ping(args));
        }
        let tx = client.multi.as_mut()?;
        match name {
            "exec" | "discard" | "quit" | "reset" => None,
            "multi" => Some(Value::error("ERR MULTI calls can not be nested")),
            "watch" => Some(Value::error("ERR WATCH inside MULTI is not allowed")),
            _ => {
                tx.queued.push(args.to_vec());
                Some(Value::Simple("QUEUED".to_owned()))
            }
        }
    }

    /// MULTI, EXEC, DISCARD, WATCH and UNWATCH themselves.
    pub(crate) fn transaction_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Value {
        match (name, client.multi.take()) {
            ("multi", None) => {
                client.multi = Some(Transaction::default());
                Value::ok()
            }
            ("watch", None) => self.watch(ctx, client, args),
            ("unwatch", tx) => {
                client.multi = tx;
                self.feed.watch.forget(client.id);
                Value::ok()
            }
            ("exec", None) => Value::error("ERR EXEC without MULTI"),
            ("discard", None) => Value::error("ERR DISCARD without MULTI"),
            ("discard", Some(_)) => {
                self.feed.watch.forget(client.id);
                Value::ok()
            }
            ("exec", Some(tx)) => {
                // A watched key touched, or expired since WATCH (`isWatchedKeyExpired`).
                let touched = self.feed.watch.dirty(client.id, &self.dbs, ctx.wall_clock_ms());
                self.feed.watch.forget(client.id);
                if tx.aborted {
                    Value::error("EXECABORT Transaction discarded because of previous errors.")
                } else if touched {
                    Value::NilArray
                } else {
                    self.exec(ctx, client, conn, tx)
                }
            }
            (_, tx) => {
                client.multi = tx;
                Value::error("ERR MULTI calls can not be nested")
            }
        }
    }

    /// WATCH key...: each key with whether its time has passed; nothing more
    /// once a watched key was touched (EXEC fails anyway).
    fn watch(&mut self, ctx: &mut Ctx<'_>, client: &Client, args: &[Vec<u8>]) -> Value {
        let now = ctx.wall_clock_ms();
        if self.feed.watch.dirty(client.id, &self.dbs, now) {
            return Value::ok();
        }
        let db = &self.dbs[client.db];
        for key in &args[1..] {
            let expired = db.keys.contains_key(key) && db.is_expired(key, now);
            self.feed.watch.watch(client.id, client.db, key, expired);
        }
        Value::ok()
    }

    fn exec(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, conn: ConnId, tx: Transaction) -> Value {
        let mut replies = Vec::with_capacity(tx.queued.len());
        // While the queue runs the client still shows MULTI's flag and EXEC as its command.
        client.multi = Some(Transaction { executing: Some(tx.queued.len()), ..Transaction::default() });
        let mut propagated = 0;
        let start = self.feed.bytes.len();
        self.feed.also = 0;
        for args in &tx.queued {
            let before = self.feed.bytes.len();
            let reply = self.execute(ctx, client, conn, args).unwrap_or(Value::Nil);
            if self.feed.bytes.len() > before {
                propagated += 1;
            }
            replies.push(reply);
        }
        client.multi = None;
        // Redis 7.0 wraps what a transaction propagates in MULTI/EXEC unless it
        // is a single command, which is atomic anyway.
        if propagated + std::mem::take(&mut self.feed.also) > 1 {
            let body = self.feed.bytes.split_off(start);
            resp::encode_command(&[b"MULTI".as_slice()], &mut self.feed.bytes);
            self.feed.bytes.extend_from_slice(&body);
            resp::encode_command(&[b"EXEC".as_slice()], &mut self.feed.bytes);
        }
        Value::Array(replies)
    }

    /// CLIENT KILL in its filter form (`TYPE normal|master|replica|slave|pubsub`,
    /// `ID`, `ADDR`, `LADDR`, `SKIPME`) and its old `CLIENT KILL <addr>` form.
    pub(crate) fn client_kill(&mut self, ctx: &mut Ctx<'_>, me: &mut Client, args: &[Vec<u8>]) -> Value {
        let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
        if args.len() == 3 {
            let addr = text(&args[2]);
            let target = self.clients.iter().find(|(_, c)| c.peer.to_string() == addr).map(|(&k, _)| k);
            if me.peer.to_string() == addr {
                // Killing oneself: Redis closes after the reply.
                me.closing = true;
                return Value::ok();
            }
            return match target {
                Some(conn) => {
                    self.kill_client(ctx, conn);
                    Value::ok()
                }
                None => Value::error("ERR No such client"),
            };
        }
        if args.len() < 4 || !args.len().is_multiple_of(2) {
            return Value::error("ERR syntax error");
        }
        let mut kind: Option<String> = None;
        let mut id: Option<u64> = None;
        let mut addr: Option<String> = None;
        let mut laddr: Option<String> = None;
        let mut skipme = true;
        for pair in args[2..].chunks(2) {
            let value = text(&pair[1]);
            match text(&pair[0]).to_ascii_lowercase().as_str() {
                "type" => {
                    let v = value.to_ascii_lowercase();
                    if !matches!(v.as_str(), "normal" | "master" | "replica" | "slave" | "pubsub") {
                        return Value::error(format!("ERR Unknown client type '{value}'"));
                    }
                    kind = Some(if v == "slave" { "replica".to_owned() } else { v });
                }
                "id" => match value.parse::<u64>() {
                    Ok(n) if n > 0 => id = Some(n),
                    _ => return Value::error("ERR client-id should be greater than 0"),
                },
                "addr" => addr = Some(value),
                "laddr" => laddr = Some(value),
                "skipme" => match value.to_ascii_lowercase().as_str() {
                    "yes" => skipme = true,
                    "no" => skipme = false,
                    _ => return Value::error("ERR syntax error"),
                },
                _ => return Value::error("ERR syntax error"),
            }
        }
        let my_ip = self.repl.my_ip;
        let victims: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|&(&conn, c)| {
                let class = if c.replica.is_some() {
                    "replica"
                } else if self.pubsub.is_subscribed(conn) {
                    "pubsub"
                } else {
                    "normal"
                };
                kind.as_deref().is_none_or(|k| k == class)
                    && id.is_none_or(|i| i == c.id)
                    && addr.as_deref().is_none_or(|a| a == c.peer.to_string())
                    && laddr.as_deref().is_none_or(|a| a == format!("{my_ip}:{}", c.local_port))
            })
            .map(|(&conn, _)| conn)
            .collect();
        let mut killed = victims.len() as i64;
        for conn in victims {
            self.kill_client(ctx, conn);
        }
        // The caller is out of the map while its command runs; it matches like any other.
        let me_matches = kind.as_deref().is_none_or(|k| k == "normal")
            && id.is_none_or(|i| i == me.id)
            && addr.as_deref().is_none_or(|a| a == me.peer.to_string());
        if !skipme && me_matches {
            me.closing = true;
            killed += 1;
        }
        Value::Integer(killed)
    }

    fn kill_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        ctx.close(conn);
        if let Some(client) = self.clients.remove(&conn) {
            self.client_gone(ctx, conn, client);
        }
    }

    /// CLIENT LIST: one line per client, the caller included.
    pub(crate) fn client_list(&self, now_ms: i64, me: &Client) -> Value {
        let mut text = String::new();
        let mut all: Vec<(Option<ConnId>, &Client)> = self.clients.iter().map(|(k, c)| (Some(*k), c)).collect();
        all.push((None, me));
        all.sort_by_key(|(_, c)| c.id);
        for (conn, c) in all {
            let cmd = if c.id == me.id { "client|list" } else { "NULL" };
            text.push_str(&self.client_line(conn, c, now_ms, cmd));
            text.push('\n');
        }
        Value::Verbatim(text.into_bytes())
    }
}
