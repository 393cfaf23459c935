//! Clients blocked on keys (Redis 7.0's blocked.c and the blocking halves of
//! t_list.c, t_zset.c and t_stream.c): BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
//! BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, XREAD and XREADGROUP with BLOCK, and
//! CLIENT UNBLOCK.
//!
//! A command that finds none of its keys ready blocks its client: the client
//! is listed, per key, behind the clients that blocked on that key before it,
//! and in the timeout table when it has a deadline. A key made ready (created
//! as a list or a sorted set while someone waits on it: [`Db::signal_ready`],
//! Redis's `signalKeyAsReady` from `dbAdd`) is served after the command, the
//! transaction or the script that made it ready ([`Server::handle_ready_keys`]):
//! its clients first-come first-served, each popping as the non-blocking
//! command would and propagating that command. Deadlines are checked before
//! the node sleeps, after every input (`handleBlockedClientsTimeout` in
//! beforeSleep), so an idle node notices them at its next cron tick.
//!
//! A stream serves its blocked readers differently ([`Op::XRead`]): every
//! reader whose stream now ends past the ID it waits after is served (they
//! all see the same entries, a group's readers one after another), and a
//! group reader whose stream or group went away gets its error
//! ([`crate::stream::groups::serve_blocked`]). XADD and XGROUP DESTROY make a
//! stream ready; so does a stream deleted, overwritten or flushed
//! ([`Db::signal_deleted`]).
//!
//! Another kind of blocking adds a variant to [`Op`], the value [`Kind`]
//! that serves it, and its arm in [`run_op`].
//!
//! [`Db::signal_ready`]: crate::keyspace::Db::signal_ready
//! [`Db::signal_deleted`]: crate::keyspace::Db::signal_deleted

use crate::keyspace::{Data, Exec};
use crate::server::{Client, Server};
use resp::Value;
use sim::{ConnId, Ctx};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a blocked client does once one of its keys is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// BLPOP/BRPOP (`count: None`) and BLMPOP (`Some`).
    Pop { front: bool, count: Option<u64> },
    /// BLMOVE and BRPOPLPUSH.
    Move { dst: Vec<u8>, from_front: bool, to_front: bool, rpoplpush: bool },
    /// BZPOPMIN/BZPOPMAX (`count: None`) and BZMPOP (`Some`).
    ZPop { max: bool, count: Option<u64> },
    /// XREAD and XREADGROUP with BLOCK.
    XRead(Box<crate::stream::groups::StreamWait>),
}

/// The type of value that serves an [`Op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    List,
    ZSet,
    Stream,
}

impl Kind {
    /// The kind a value serves, if any.
    pub(crate) fn of(value: &Data) -> Option<Kind> {
        match value {
            Data::List(_) => Some(Kind::List),
            Data::ZSet(_) => Some(Kind::ZSet),
            Data::Stream(_) => Some(Kind::Stream),
            _ => None,
        }
    }
}

impl Op {
    fn kind(&self) -> Kind {
        match self {
            Op::Pop { .. } | Op::Move { .. } => Kind::List,
            Op::ZPop { .. } => Kind::ZSet,
            Op::XRead(_) => Kind::Stream,
        }
    }

    /// The reply when the command may not block (inside MULTI or a script).
    fn denied(&self) -> Value {
        match self {
            Op::Move { .. } => Value::Nil,
            _ => Value::NilArray,
        }
    }
}

/// A client blocked on keys.
#[derive(Debug)]
pub(crate) struct Blocked {
    db: usize,
    /// Its keys, each once, in argument order.
    keys: Vec<Vec<u8>>,
    /// The wall-clock ms after which it times out, 0 for never (Redis's
    /// unsigned order: a deadline that overflowed never comes).
    deadline: u64,
    op: Op,
}

/// The server's side of blocked clients.
#[derive(Debug, Default)]
pub(crate) struct Blocking {
    /// Per (db, key), the clients blocked on it, first blocked first.
    waiting: BTreeMap<(usize, Vec<u8>), VecDeque<ConnId>>,
    /// (deadline, client id, connection) of clients with a deadline.
    timeouts: BTreeSet<(u64, u64, ConnId)>,
    /// Clients unblocked since the node last slept: their pipelined input runs then.
    unblocked: Vec<ConnId>,
    /// Clients blocked on keys.
    count: usize,
}

impl Blocking {
    /// How many clients are blocked on keys.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// One blocking command, parsed: its keys' positions, its timeout in ms (0:
/// none) and what it does.
struct Parsed {
    keys: Vec<usize>,
    timeout_ms: i64,
    op: Op,
}

fn syntax_error() -> Value {
    Value::error("ERR syntax error")
}

/// `getListPositionFromObjectOrReply`: LEFT is the front.
fn position(arg: &[u8]) -> Result<bool, Value> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(false)
    } else {
        Err(syntax_error())
    }
}

/// `getRangeLongFromObjectOrReply(.., 1, LONG_MAX, msg)`: any failure is `msg`.
fn positive(arg: &[u8], msg: &str) -> Result<u64, Value> {
    match crate::commands::parse_int(arg) {
        Some(n) if n >= 1 => Ok(n as u64),
        _ => Err(Value::error(format!("ERR {msg}"))),
    }
}

/// Parses a blocking command's arguments in the order Redis checks them.
fn parse(name: &str, args: &[Vec<u8>]) -> Result<Parsed, Value> {
    let last = args.len() - 1;
    match name {
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let timeout_ms = parse_timeout(&args[last])?;
            let op = match name {
                "blpop" | "brpop" => Op::Pop { front: name == "blpop", count: None },
                _ => Op::ZPop { max: name == "bzpopmax", count: None },
            };
            Ok(Parsed { keys: (1..last).collect(), timeout_ms, op })
        }
        "brpoplpush" => {
            let timeout_ms = parse_timeout(&args[3])?;
            let op = Op::Move { dst: args[2].clone(), from_front: false, to_front: true, rpoplpush: true };
            Ok(Parsed { keys: vec![1], timeout_ms, op })
        }
        "blmove" => {
            let from_front = position(&args[3])?;
            let to_front = position(&args[4])?;
            let timeout_ms = parse_timeout(&args[5])?;
            let op = Op::Move { dst: args[2].clone(), from_front, to_front, rpoplpush: false };
            Ok(Parsed { keys: vec![1], timeout_ms, op })
        }
        _ => parse_mpop(name == "bzmpop", args),
    }
}

/// BLMPOP/BZMPOP timeout numkeys key [key ...] LEFT|RIGHT|MIN|MAX [COUNT count]
/// (`lmpopGenericCommand`/`zmpopGenericCommand`): the timeout is read last.
fn parse_mpop(zset: bool, args: &[Vec<u8>]) -> Result<Parsed, Value> {
    let numkeys = positive(&args[2], "numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(3)).filter(|&at| at < args.len());
    let Some(where_at) = where_at else { return Err(syntax_error()) };
    let front = match (zset, args[where_at].to_ascii_lowercase().as_slice()) {
        (false, b"left") | (true, b"min") => true,
        (false, b"right") | (true, b"max") => false,
        _ => return Err(syntax_error()),
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && args[j].eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            count = Some(positive(&args[j + 1], "count should be greater than 0")?);
            j += 2;
        } else {
            return Err(syntax_error());
        }
    }
    let count = Some(count.unwrap_or(1));
    let timeout_ms = parse_timeout(&args[1])?;
    let op = if zset { Op::ZPop { max: !front, count } } else { Op::Pop { front, count } };
    Ok(Parsed { keys: (3..where_at).collect(), timeout_ms, op })
}

/// `getTimeoutFromObjectOrReply(.., UNIT_SECONDS)`: seconds as a long double
/// (`string2ld`), turned into ms by `(long long) ceill(t * 1000)`. The value
/// is computed in a double; the long double's wider range is kept (1e400 is
/// a number whose ms overflow into a negative timeout, 1e5000 is not a number).
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<i64, Value> {
    let not_float = || Value::error("ERR timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    if text.is_empty() || text.len() >= 5 * 1024 || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(not_float());
    }
    let (v, range_error) = crate::zset::strtod(text).ok_or_else(not_float)?;
    if v.is_nan() {
        return Err(not_float());
    }
    let ms = if range_error {
        // Out of a double's range: in a long double's?
        match decimal_exponent(text) {
            Some(e) if (-4951..=4932).contains(&e) => {
                if v == 0.0 {
                    // ceill of a tiny product: 1 ms if positive, -0 if negative.
                    i64::from(!text.starts_with('-'))
                } else {
                    i64::MIN
                }
            }
            _ => return Err(not_float()),
        }
    } else {
        c_cast((v * 1000.0).ceil())
    };
    if ms < 0 {
        return Err(Value::error("ERR timeout is negative"));
    }
    Ok(ms)
}

/// x86-64's float to `long long` conversion: out of range is `i64::MIN`.
fn c_cast(v: f64) -> i64 {
    // 2^63: the first double past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&v) { v as i64 } else { i64::MIN }
}

/// The power of ten of a decimal number's first significant digit (`None`
/// for a hexadecimal or digitless one).
fn decimal_exponent(text: &str) -> Option<i64> {
    let body = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if body.starts_with("0x") {
        return None;
    }
    let (mantissa, exp) = match body.split_once('e') {
        Some((m, e)) => {
            (m.to_owned(), e.parse::<i64>().unwrap_or(if e.starts_with('-') { i64::MIN / 2 } else { i64::MAX / 2 }))
        }
        None => (body.clone(), 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
    let lead = if let Some(i) = int.find(|c: char| c != '0') {
        (int.len() - i - 1) as i64
    } else {
        -(frac.find(|c: char| c != '0')? as i64) - 1
    };
    Some(lead.saturating_add(exp))
}

/// The table's entry of a command this file runs by name (the blocking
/// commands' non-blocking counterparts, XREAD and XREADGROUP).
fn table(name: &str) -> &'static crate::command_table::Command {
    crate::command_table::lookup(name).expect("the command is in the table")
}

/// Runs `op` on `key` (which holds a non-empty value of the op's kind),
/// replying as the blocking command and propagating the non-blocking one
/// Redis propagates. `positions`: BLMOVE's LEFT/RIGHT as the client wrote
/// them (run at once), `None` when served later (Redis then writes them lowercase).
fn run_op(x: &mut Exec<'_>, op: &Op, key: &[u8], positions: Option<[&[u8]; 2]>) -> Value {
    let enabled = x.feed.enabled;
    x.feed.enabled = false;
    let before = x.dirty;
    let (reply, propagate) = match op {
        Op::Pop { front, count } => {
            let name: &[u8] = if *front { b"LPOP" } else { b"RPOP" };
            let mut argv = vec![name.to_vec(), key.to_vec()];
            if let Some(n) = count {
                argv.push(n.min(&length(x, key)).to_string().into_bytes());
            }
            let popped = crate::commands::keyspace(table(if *front { "lpop" } else { "rpop" }), &argv, x);
            (Value::Array(vec![Value::Bulk(key.to_vec()), popped]), argv)
        }
        Op::Move { dst, from_front, to_front, rpoplpush } => {
            let side = |front: bool| if front { b"left".to_vec() } else { b"right".to_vec() };
            let (from, to) = match positions {
                Some([f, t]) => (f.to_vec(), t.to_vec()),
                None => (side(*from_front), side(*to_front)),
            };
            let argv = vec![b"LMOVE".to_vec(), key.to_vec(), dst.clone(), from, to];
            let moved = crate::commands::keyspace(table("lmove"), &argv, x);
            let argv = if *rpoplpush { vec![b"RPOPLPUSH".to_vec(), key.to_vec(), dst.clone()] } else { argv };
            (moved, argv)
        }
        Op::ZPop { max, count } => {
            let name: &[u8] = if *max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            let mut argv = vec![name.to_vec(), key.to_vec()];
            if let Some(n) = count {
                argv.push(n.min(&length(x, key)).to_string().into_bytes());
            }
            let popped = crate::commands::keyspace(table(if *max { "zpopmax" } else { "zpopmin" }), &argv, x);
            (zpop_reply(key, popped, count.is_some()), argv)
        }
        Op::XRead(_) => unreachable!("a stream read is served by serve_blocked"),
    };
    x.feed.enabled = enabled;
    if x.dirty > before {
        x.propagate(&propagate);
    }
    reply
}

/// The length of the list or sorted set at `key`.
fn length(x: &mut Exec<'_>, key: &[u8]) -> u64 {
    match x.lookup(key) {
        Some(Data::List(l)) => l.len() as u64,
        Some(Data::ZSet(z)) => z.len() as u64,
        _ => 0,
    }
}

/// BZPOPMIN's `key member score`, or BZMPOP's `key [[member score] ...]`,
/// from ZPOPMIN's reply.
fn zpop_reply(key: &[u8], popped: Value, nested: bool) -> Value {
    let Value::Array(items) = popped else { return popped };
    let flat = items.into_iter().flat_map(|v| match v {
        Value::Array(pair) => pair,
        v => vec![v],
    });
    let key = Value::Bulk(key.to_vec());
    if !nested {
        return Value::Array(std::iter::once(key).chain(flat).collect());
    }
    let flat: Vec<Value> = flat.collect();
    let pairs = flat.chunks(2).map(|p| Value::Array(p.to_vec())).collect();
    Value::Array(vec![key, Value::Array(pairs)])
}

/// What a key holds for a blocked client: ready (non-empty, of its kind),
/// WRONGTYPE, or nothing yet.
enum Found {
    Ready,
    WrongType,
    Empty,
}

fn find(x: &mut Exec<'_>, key: &[u8], kind: Kind) -> Found {
    match x.lookup(key) {
        None => Found::Empty,
        Some(v) if Kind::of(v) == Some(kind) => Found::Ready,
        Some(_) => Found::WrongType,
    }
}

impl Server {
    /// A blocking command: answered at once when a key is ready (or inside
    /// MULTI or a script, which may not block), `None` when the client blocks.
    pub(crate) fn blocking_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        if matches!(name, "xread" | "xreadgroup") {
            return self.xread_command(ctx, client, conn, name, args);
        }
        let parsed = match parse(name, args) {
            Ok(p) => p,
            Err(e) => return Some(e),
        };
        let now_ms = ctx.wall_clock_ms();
        self.feed.in_multi = client.multi.is_some();
        let access = self.access(ctx);
        let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), client.db, now_ms);
        (x.resp3, x.access) = (client.proto == resp::Protocol::Resp3, access);
        let kind = parsed.op.kind();
        let mut answer = None;
        for &at in &parsed.keys {
            match find(&mut x, &args[at], kind) {
                Found::Empty => continue,
                Found::WrongType => answer = Some(crate::commands::wrong_type()),
                Found::Ready => {
                    let positions = (name == "blmove").then(|| [args[3].as_slice(), args[4].as_slice()]);
                    answer = Some(run_op(&mut x, &parsed.op, &args[at], positions));
                }
            }
            break;
        }
        self.persist.dirty += x.dirty;
        self.feed.in_multi = false;
        if answer.is_some() {
            return answer;
        }
        if client.multi.is_some() || client.deny_blocking {
            return Some(parsed.op.denied());
        }
        let deadline = if parsed.timeout_ms > 0 { parsed.timeout_ms.wrapping_add(now_ms) as u64 } else { 0 };
        let keys = parsed.keys.iter().map(|&at| args[at].clone()).collect();
        self.block(client, conn, Blocked { db: client.db, keys, deadline, op: parsed.op });
        None
    }

    /// XREAD/XREADGROUP: answered as without BLOCK when something is there
    /// (or BLOCK was not given, or the client may not block), else blocked
    /// until its streams grow past what it waits after.
    fn xread_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &mut Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        self.feed.in_multi = client.multi.is_some();
        let now_ms = ctx.wall_clock_ms();
        let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), client.db, now_ms);
        x.resp3 = client.proto == resp::Protocol::Resp3;
        x.cluster = self.cluster.is_some();
        let reply = crate::commands::keyspace(table(name), args, &mut x);
        let blocking = client.multi.is_none() && !client.deny_blocking && reply == Value::NilArray;
        let wait = if blocking { crate::stream::groups::wait_of(name, args, &mut x) } else { None };
        self.persist.dirty += x.dirty;
        self.feed.in_multi = false;
        let Some((timeout_ms, wait)) = wait else { return Some(reply) };
        let deadline = if timeout_ms > 0 { timeout_ms.wrapping_add(now_ms) as u64 } else { 0 };
        let keys = wait.after.iter().map(|(k, _)| k.clone()).collect();
        self.block(client, conn, Blocked { db: client.db, keys, deadline, op: Op::XRead(Box::new(wait)) });
        None
    }

    /// `blockForKeys`: lists the client behind each of its keys.
    fn block(&mut self, client: &mut Client, conn: ConnId, mut blocked: Blocked) {
        let mut seen = BTreeSet::new();
        blocked.keys.retain(|k| seen.insert(k.clone()));
        for key in &blocked.keys {
            self.blocking.waiting.entry((blocked.db, key.clone())).or_default().push_back(conn);
            self.dbs[blocked.db].blocking.insert(key.clone());
        }
        if blocked.deadline != 0 {
            self.blocking.timeouts.insert((blocked.deadline, client.id, conn));
        }
        self.blocking.count += 1;
        client.blocked = Some(blocked);
    }

    /// Forgets that `client` (on `conn`) is blocked, without replying.
    fn forget_blocked(&mut self, client: &mut Client, conn: ConnId) -> Option<Blocked> {
        let blocked = client.blocked.take()?;
        for key in &blocked.keys {
            let entry = (blocked.db, key.clone());
            if let Some(queue) = self.blocking.waiting.get_mut(&entry) {
                queue.retain(|&c| c != conn);
                if queue.is_empty() {
                    self.blocking.waiting.remove(&entry);
                    self.dbs[blocked.db].blocking.remove(key);
                }
            }
        }
        if blocked.deadline != 0 {
            self.blocking.timeouts.remove(&(blocked.deadline, client.id, conn));
        }
        self.blocking.count -= 1;
        Some(blocked)
    }

    /// `unblockClient` with a reply: the client's pipelined input runs before the node sleeps.
    fn unblock_with(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reply: Value) {
        let Some(mut client) = self.clients.remove(&conn) else { return };
        let blocked = self.forget_blocked(&mut client, conn);
        let proto = client.proto;
        // The reply is written: `lastinteraction`.
        client.last_cmd_ms = ctx.wall_clock_ms();
        self.clients.insert(conn, client);
        if blocked.is_some() {
            self.outputs.write_with(ctx, conn, |buf| reply.encode_for(proto, buf));
            if !self.blocking.unblocked.contains(&conn) {
                self.blocking.unblocked.push(conn);
            }
        }
    }

    /// A client that went away while blocked leaves its queues.
    pub(crate) fn blocked_client_gone(&mut self, conn: ConnId, client: &mut Client) {
        self.forget_blocked(client, conn);
        self.blocking.unblocked.retain(|&c| c != conn);
    }

    /// `handleClientsBlockedOnKeys`: serves the clients blocked on the keys
    /// made ready, key by key in the order they became ready, until serving
    /// (BLMOVE's push) makes no more keys ready.
    pub(crate) fn handle_ready_keys(&mut self, ctx: &mut Ctx<'_>) {
        if self.blocking.count == 0 {
            return;
        }
        loop {
            let mut served_any = false;
            for db in 0..self.dbs.len() {
                for key in std::mem::take(&mut self.dbs[db].ready) {
                    served_any = true;
                    self.serve_key(ctx, db, &key);
                }
            }
            if !served_any {
                return;
            }
        }
    }

    /// Serves the clients blocked on `key`, first blocked first, while it holds
    /// something for them (`serveClientsBlockedOnListKey` and its zset twin).
    fn serve_key(&mut self, ctx: &mut Ctx<'_>, db: usize, key: &[u8]) {
        let Some(queue) = self.blocking.waiting.get(&(db, key.to_vec())) else { return };
        let now_ms = ctx.wall_clock_ms();
        for conn in queue.clone() {
            let Some(op) = self.clients.get(&conn).and_then(|c| c.blocked.as_ref()).map(|b| b.op.clone()) else {
                continue;
            };
            let resp3 = self.clients.get(&conn).is_some_and(|c| c.proto == resp::Protocol::Resp3);
            let access = self.access(ctx);
            let mut x = Exec::new(&mut self.dbs, &mut self.feed, self.repl.master.is_none(), db, now_ms);
            (x.resp3, x.access) = (resp3, access);
            let reply = match (&op, find(&mut x, key, op.kind())) {
                (Op::XRead(wait), _) => crate::stream::groups::serve_blocked(&mut x, key, wait),
                (_, Found::Ready) => Some(run_op(&mut x, &op, key, None)),
                // A client of another kind on the same key (or a key of neither kind): not its turn.
                (_, Found::WrongType) => None,
                (_, Found::Empty) => {
                    self.persist.dirty += x.dirty;
                    self.flush_feed(ctx);
                    return;
                }
            };
            self.persist.dirty += x.dirty;
            let Some(reply) = reply else { continue };
            self.flush_feed(ctx);
            if let Some(c) = self.clients.get_mut(&conn) {
                c.woff = self.repl.offset;
            }
            self.unblock_with(ctx, conn, reply);
        }
    }

    /// `handleBlockedClientsTimeout`: clients whose deadline has passed get a nil.
    pub(crate) fn blocked_timeouts(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.wall_clock_ms() as u64;
        while let Some(&(deadline, id, conn)) = self.blocking.timeouts.first() {
            if deadline >= now {
                break;
            }
            self.blocking.timeouts.remove(&(deadline, id, conn));
            self.unblock_with(ctx, conn, Value::NilArray);
        }
    }

    /// `processUnblockedClients`: the input clients sent while blocked runs now.
    pub(crate) fn process_unblocked(&mut self, ctx: &mut Ctx<'_>) {
        // Each round runs commands clients already sent: it ends when their buffers do.
        while !self.blocking.unblocked.is_empty() {
            for conn in std::mem::take(&mut self.blocking.unblocked) {
                self.process_client(ctx, conn);
                self.handle_ready_keys(ctx);
            }
        }
    }

    /// `disconnectAllBlockedClients`: a master turning replica drops its
    /// blocked clients, WAIT's included.
    pub(crate) fn disconnect_blocked_clients(&mut self, ctx: &mut Ctx<'_>) {
        let blocked: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.blocked.is_some() || c.wait.is_some())
            .map(|(&conn, _)| conn)
            .collect();
        for conn in blocked {
            let reply = Value::error(
                "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
            );
            match self.clients.get_mut(&conn).and_then(|c| c.wait.take()) {
                Some(wait) => {
                    if let Some(t) = wait.timer {
                        ctx.cancel_timer(t);
                    }
                    self.outputs.write_with(ctx, conn, |buf| reply.encode(buf));
                }
                None => self.unblock_with(ctx, conn, reply),
            }
            self.blocking.unblocked.retain(|&c| c != conn);
            ctx.close(conn);
            if let Some(client) = self.clients.remove(&conn) {
                self.client_gone(ctx, conn, client);
            }
        }
    }

    /// `clusterRedirectBlockedClientIfNeeded`, from the cron: a client blocked
    /// on a slot this node no longer serves is redirected.
    pub(crate) fn redirect_blocked_clients(&mut self, ctx: &mut Ctx<'_>) {
        let Some(c) = self.cluster.as_deref() else { return };
        if self.blocking.count == 0 {
            return;
        }
        let mut redirects = Vec::new();
        for (&conn, client) in self.clients.iter() {
            let Some(first) = client.blocked.as_ref().and_then(|b| b.keys.first()) else { continue };
            let slot = common::slot::key_slot(first) as usize;
            let reply = if !c.state_ok {
                Value::error("CLUSTERDOWN The cluster is down")
            } else {
                match c.owner(slot) {
                    _ if c.importing.contains_key(&(slot as u16)) => continue,
                    Some(o) if o == c.myself => continue,
                    None => Value::error("CLUSTERDOWN Hash slot not served"),
                    Some(o) => Value::error(format!("MOVED {slot} {}:{}", c.node(o).ip(), c.node(o).port())),
                }
            };
            redirects.push((conn, reply));
        }
        for (conn, reply) in redirects {
            self.unblock_with(ctx, conn, reply);
        }
    }

    /// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked (on keys or in WAIT).
    pub(crate) fn client_unblock(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let error = match args.get(3) {
            None => false,
            Some(a) if a.eq_ignore_ascii_case(b"timeout") => false,
            Some(a) if a.eq_ignore_ascii_case(b"error") => true,
            Some(_) => return Value::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        };
        let Some(id) = crate::commands::parse_int(&args[2]) else {
            return Value::error("ERR value is not an integer or out of range");
        };
        let Some((&conn, target)) = self.clients.iter().find(|(_, c)| c.id as i64 == id) else {
            return Value::Integer(0);
        };
        let unblocked = Value::error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        if target.blocked.is_some() {
            self.unblock_with(ctx, conn, if error { unblocked } else { Value::NilArray });
        } else if target.wait.is_some() {
            self.unblock_wait(ctx, conn, error.then_some(unblocked));
        } else {
            return Value::Integer(0);
        }
        Value::Integer(1)
    }
}
