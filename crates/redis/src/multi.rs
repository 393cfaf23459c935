//! MULTI/EXEC/DISCARD and WATCH/UNWATCH (multi.c; what WATCH keeps is in
//! [`crate::watch`]), the per-client gate that runs before every
//! command (subscribed-mode restriction, queueing inside MULTI), and the CLIENT
//! subcommands that act on other clients (KILL, LIST), as Sentinel's
//! reconfiguration transaction `MULTI; SLAVEOF; CONFIG REWRITE; CLIENT KILL TYPE
//! normal; CLIENT KILL TYPE pubsub; EXEC` needs them.

use crate::client_control::ClientType;
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

impl Transaction {
    /// Whether EXEC will run a command that may replicate (`mstate.cmd_flags`).
    pub(crate) fn may_replicate(&self) -> bool {
        self.queued.iter().any(|args| {
            let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
            crate::command_table::lookup(&name).is_some_and(|c| c.write() || c.has(crate::command_table::MAY_REPLICATE))
        })
    }
}

impl Server {
    /// What runs before a command of a client that is in MULTI or in
    /// subscribed mode: `Some(reply)` means the command does not run now
    /// (rejected, or queued).
    pub(crate) fn gate_session(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, name: &str) -> Option<Value> {
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
            crate::call::Caller::of(client, &self.acl),
            args,
            name,
            crate::command_table::lookup(name),
        ) {
            let now_ms = ctx.wall_clock_ms();
            if let Some(client) = self.clients.get(&conn)
                && let Some(entry) = self.acl_refusal(client, client.parser.args(), now_ms)
            {
                self.acl.push(entry);
            }
            let client = self.clients.get_mut(&conn)?;
            if name == "exec" {
                // execCommandAbort: the transaction is discarded, its watches dropped.
                if client.multi.take().is_some() {
                    self.feed.watch.forget(client.id);
                }
            } else if let Some(tx) = &mut client.multi {
                tx.aborted = true;
            }
            return Some(v);
        }
        // Queueing may not grow memory past maxmemory (processCommand's MULTI rule).
        let queueing = client.multi.is_some() && !matches!(name, "exec" | "discard" | "quit" | "reset");
        if queueing && self.config.maxmemory.limit > 0 && self.multi_out_of_memory(ctx, conn, name) {
            return Some(Value::error("OOM command not allowed when used memory > 'maxmemory'."));
        }
        let client = self.clients.get_mut(&conn)?;
        let args = client.parser.args();
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
                Some(Value::Simple("QUEUED".into()))
            }
        }
    }

    /// The maxmemory gate for a command about to be queued: evictions, and
    /// whether it is refused (which aborts the transaction, as any refusal).
    fn multi_out_of_memory(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, name: &str) -> bool {
        let Some(command) = crate::command_table::lookup(name) else { return false };
        let refused = self.maxmemory_gate(ctx, command, &[], true).is_some();
        if refused && let Some(tx) = self.clients.get_mut(&conn).and_then(|c| c.multi.as_mut()) {
            tx.aborted = true;
        }
        refused
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
            let reply = match self.exec_acl_refusal(client, args, ctx.wall_clock_ms()) {
                Some(refused) => refused,
                None => self.execute(ctx, client, conn, args).unwrap_or(Value::Nil),
            };
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

    /// CLIENT KILL in its filter form (`ID`, `TYPE normal|master|replica|slave|pubsub`,
    /// `USER`, `ADDR`, `LADDR`, `SKIPME`), which answers how many it killed,
    /// and its old `CLIENT KILL <addr>` form. Killing a replica's master link
    /// makes it reconnect.
    pub(crate) fn client_kill(&mut self, ctx: &mut Ctx<'_>, me: &mut Client, args: &[Vec<u8>]) -> Value {
        if args.len() == 3 {
            return self.client_kill_addr(ctx, me, &args[2]);
        }
        let filter = match KillFilter::parse(&args[2..], |u| self.acl.users.contains_key(u)) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let my_ip = self.repl.my_ip;
        let matches = |s: &Server, conn: Option<ConnId>, c: &Client| {
            filter.kind.is_none_or(|k| k == s.client_type(conn, c))
                && filter.id.is_none_or(|i| i == c.id)
                && filter.addr.as_deref().is_none_or(|a| a == c.peer.to_string())
                && filter.laddr.as_deref().is_none_or(|a| a == format!("{my_ip}:{}", c.local_port))
                && filter.user.as_deref().is_none_or(|u| u == c.user)
        };
        let victims: Vec<ConnId> =
            self.clients.iter().filter(|&(&conn, c)| matches(self, Some(conn), c)).map(|(&conn, _)| conn).collect();
        let mut killed = victims.len() as i64;
        for conn in victims {
            self.kill_client(ctx, conn);
        }
        // The master link is a client too (`CLIENT_MASTER`): only TYPE master names it here.
        if filter.kind == Some(ClientType::Master)
            && filter.addr.is_none()
            && filter.id.is_none()
            && self.repl.link_up()
        {
            self.kill_master_link(ctx);
            killed += 1;
        }
        // The caller is out of the map while its command runs; it matches like any other.
        if !filter.skipme && matches(self, None, me) {
            me.closing = true;
            killed += 1;
        }
        Value::Integer(killed)
    }

    /// CLIENT KILL ip:port: OK, or no such client.
    fn client_kill_addr(&mut self, ctx: &mut Ctx<'_>, me: &mut Client, addr: &[u8]) -> Value {
        let addr = String::from_utf8_lossy(addr);
        if me.peer.to_string() == addr {
            // Killing oneself: Redis closes after the reply.
            me.closing = true;
            return Value::ok();
        }
        let found = self.clients.iter().find(|(_, c)| c.peer.to_string() == addr).map(|(&k, _)| k);
        match found {
            Some(conn) => {
                self.kill_client(ctx, conn);
                Value::ok()
            }
            None => Value::error("ERR No such client"),
        }
    }

    /// `freeClient` of the master client: the replica caches it and reconnects.
    fn kill_master_link(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.repl.master_conn() {
            ctx.close(conn);
        }
        self.master_link_closed(ctx);
    }

    pub(crate) fn kill_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        ctx.close(conn);
        if let Some(client) = self.clients.remove(&conn) {
            self.client_gone(ctx, conn, client);
        }
    }
}

/// CLIENT KILL's filters, parsed in `clientKillCommand`'s order.
struct KillFilter {
    kind: Option<ClientType>,
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    user: Option<String>,
    skipme: bool,
}

impl KillFilter {
    fn parse(args: &[Vec<u8>], user_exists: impl Fn(&str) -> bool) -> Result<KillFilter, Value> {
        let mut f = KillFilter { kind: None, id: None, addr: None, laddr: None, user: None, skipme: true };
        let syntax = || Value::error("ERR syntax error");
        let mut i = 0;
        while i < args.len() {
            let Some(value) = args.get(i + 1) else { return Err(syntax()) };
            let text = String::from_utf8_lossy(value).into_owned();
            match args[i].to_ascii_lowercase().as_slice() {
                b"id" => match crate::commands::parse_int(value) {
                    Some(n) if n > 0 => f.id = Some(n as u64),
                    _ => return Err(Value::error("ERR client-id should be greater than 0")),
                },
                b"type" => match ClientType::parse(value) {
                    Some(k) => f.kind = Some(k),
                    None => return Err(Value::error(format!("ERR Unknown client type '{text}'"))),
                },
                b"addr" => f.addr = Some(text),
                b"laddr" => f.laddr = Some(text),
                b"user" if user_exists(&text) => f.user = Some(text),
                b"user" => return Err(Value::error(format!("ERR No such user '{text}'"))),
                b"skipme" if value.eq_ignore_ascii_case(b"yes") => f.skipme = true,
                b"skipme" if value.eq_ignore_ascii_case(b"no") => f.skipme = false,
                _ => return Err(syntax()),
            }
            i += 2;
        }
        Ok(f)
    }
}
