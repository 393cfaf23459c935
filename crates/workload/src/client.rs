//! One simulated user: a kernel process that behaves like a synchronous
//! redis-py client (one operation outstanding; like redis-py's connection
//! pools, one connection per node, kept open and reused across operations) and
//! writes every operation into the workload's shared history as an `invoke`
//! and then `ok`, `fail` (definitely not applied: an error reply, or nothing
//! was ever sent) or `info` (sent, and then a timeout or a lost connection:
//! it may or may not have been applied).
//!
//! A generator draws operations from the [`Spec`]; a final reader reads each
//! key once (again on failure) after the workload stopped.

use crate::spec::{Model, Pace, Spec, Target};
use check::{Elem, Event, F, Type};
use redis_client::cluster::{Route, Router, SlotMap};
use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Process, TimerId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

const TICK: u64 = 1;
const TIMEOUT: u64 = 2;
/// Events one workload's history may hold; past it, generators start no new
/// operation (each tick is counted as skipped), so a long fast run cannot
/// take all memory (an event is about 100 bytes in memory and in history.jsonl).
pub const MAX_EVENTS: usize = 5_000_000;
/// Pause before the final reader tries a key again.
const REREAD: Duration = Duration::from_millis(100);

/// What a workload's clients share: the history they write, in the order
/// things happened, and the runner's word to stop.
#[derive(Debug, Default)]
pub struct Shared {
    /// Invocations and completions of every client.
    pub events: Vec<Event>,
    /// No new operations from now on.
    pub stopping: bool,
    /// Clients with an operation outstanding.
    pub outstanding: u32,
    /// Open-loop ticks that found their client still busy.
    pub skipped: u64,
    /// Final readers that have read every key (or given up on it).
    pub readers_done: u32,
}

/// The shared history, one per workload.
pub type Log = Rc<RefCell<Shared>>;

/// Whether a client draws operations or reads every key at the end.
#[derive(Debug)]
enum Role {
    Generator,
    Reader { keys: Vec<String>, next: usize, tries: u32 },
}

/// What a reply on the connection answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Asking,
    Main,
    Wait,
    Slots,
    MasterAddr,
}

#[derive(Debug)]
struct Op {
    f: F,
    key: String,
    value: check::Value,
    args: Vec<Vec<u8>>,
    attempts: u32,
    /// The command went out at least once: it may have been applied.
    sent: bool,
    asking: bool,
    /// Where the cluster router sends it next (`None`: route by the slot map).
    redirect: Option<SocketAddrV4>,
    main_reply: Option<Value>,
}

/// The client process.
#[derive(Debug)]
pub struct Client {
    spec: Rc<Spec>,
    id: u64,
    log: Log,
    role: Role,
    /// The connection in use: its address, and whether it is open yet.
    conn: Option<(ConnId, SocketAddrV4, bool)>,
    /// Open connections to other nodes, each idle with nothing due, to
    /// reuse when an operation goes there (redis-py's pool per node).
    idle: Vec<(SocketAddrV4, ConnId)>,
    /// What to send once the connection opens.
    pending: Option<Expect>,
    decoder: ReplyDecoder,
    expect: VecDeque<Expect>,
    router: Option<Router>,
    /// The next seed to ask for the slot map, while it needs a refresh.
    refresh: Option<usize>,
    /// The bytes of the last CLUSTER SLOTS reply that gave a map, and the map.
    slots_seen: Option<(Vec<u8>, SlotMap)>,
    master: Option<SocketAddrV4>,
    sentinel_index: usize,
    op: Option<Op>,
    seq: u64,
    timeout: Option<TimerId>,
}

impl Client {
    /// Client `id` (its process number in the history) drawing operations.
    pub fn generator(spec: Rc<Spec>, id: u64, log: Log) -> Client {
        Client::new(spec, id, log, Role::Generator)
    }

    /// Client `id` that reads every key of the spec once it starts.
    pub fn reader(spec: Rc<Spec>, id: u64, log: Log) -> Client {
        let keys = spec.keys.all().to_vec();
        Client::new(spec, id, log, Role::Reader { keys, next: 0, tries: 0 })
    }

    fn new(spec: Rc<Spec>, id: u64, log: Log, role: Role) -> Client {
        let router = match &spec.target {
            Target::Cluster(seeds) => Some(Router::new(seeds[0])),
            _ => None,
        };
        let refresh = router.as_ref().map(|_| 0);
        Client {
            spec,
            id,
            log,
            role,
            conn: None,
            idle: Vec::new(),
            pending: None,
            decoder: ReplyDecoder::default(),
            expect: VecDeque::new(),
            router,
            refresh,
            slots_seen: None,
            master: None,
            sentinel_index: 0,
            op: None,
            seq: 0,
            timeout: None,
        }
    }

    fn event(&self, ctx: &Ctx<'_>, kind: Type, op: &Op, value: check::Value, error: Option<String>) {
        let e = Event {
            kind,
            process: self.id,
            f: op.f,
            key: Elem::Str(op.key.clone()),
            value,
            time: ctx.now().as_nanos(),
            error,
        };
        self.log.borrow_mut().events.push(e);
    }

    /// Draws the next operation of a generator.
    fn draw(&mut self, ctx: &mut Ctx<'_>) -> (F, String, check::Value) {
        let (read, write) = self.spec.model.fs();
        let is_read = ctx.rng().unit() < self.spec.read_fraction;
        let key = self.spec.keys.draw(ctx.rng()).to_owned();
        if is_read {
            return (read, key, check::Value::Nil);
        }
        self.seq += 1;
        let unique = (self.id * 1_000_000_000 + self.seq) as i64;
        let value = if self.spec.model == Model::Counter { 1 } else { unique };
        (write, key, check::Value::One(Elem::Int(value)))
    }

    fn begin(&mut self, ctx: &mut Ctx<'_>, f: F, key: String, value: check::Value) {
        let args = command(f, &key, &value);
        let op = Op { f, key, value, args, attempts: 0, sent: false, asking: false, redirect: None, main_reply: None };
        self.event(ctx, Type::Invoke, &op, op.value.clone(), None);
        self.log.borrow_mut().outstanding += 1;
        self.op = Some(op);
        self.dispatch(ctx);
    }

    /// Takes the operation one step further: learn where to send it, or send it.
    fn dispatch(&mut self, ctx: &mut Ctx<'_>) {
        let Some(op) = &self.op else { return };
        match &self.spec.target {
            Target::Redis(addr) => {
                let addr = *addr;
                self.go(ctx, addr, Expect::Main);
            }
            Target::Cluster(seeds) => {
                if let Some(i) = self.refresh {
                    if let Some(&seed) = seeds.get(i) {
                        return self.go(ctx, seed, Expect::Slots);
                    }
                    self.refresh = None;
                }
                let router = self.router.as_mut().expect("cluster clients route");
                let addr = match op.redirect {
                    Some(addr) => addr,
                    None => match router.start(&op.args) {
                        Route::Send { addr, .. } => addr,
                        Route::Done(_) => router.seed,
                    },
                };
                self.go(ctx, addr, Expect::Main);
            }
            Target::Sentinel { sentinels, .. } => {
                if let Some(master) = self.master {
                    return self.go(ctx, master, Expect::Main);
                }
                match sentinels.get(self.sentinel_index) {
                    Some(&s) => self.go(ctx, s, Expect::MasterAddr),
                    None => {
                        self.sentinel_index = 0;
                        let name = self.master_name().to_owned();
                        self.finish_failed(ctx, format!("MasterNotFoundError: No master found for '{name}'"));
                    }
                }
            }
        }
    }

    fn master_name(&self) -> &str {
        match &self.spec.target {
            Target::Sentinel { master, .. } => master,
            _ => "",
        }
    }

    /// Sends `what` to `addr`, connecting (or reconnecting) first if needed.
    fn go(&mut self, ctx: &mut Ctx<'_>, addr: SocketAddrV4, what: Expect) {
        match self.conn {
            Some((conn, a, true)) if a == addr => return self.send(ctx, conn, what),
            Some((_, a, false)) if a == addr => {
                self.pending = Some(what);
                return;
            }
            Some((conn, a, true)) if self.expect.is_empty() => {
                self.conn = None;
                self.decoder = ReplyDecoder::default();
                self.idle.push((a, conn));
            }
            Some((conn, _, _)) => self.drop_conn(ctx, conn),
            None => {}
        }
        if let Some(i) = self.idle.iter().position(|&(a, _)| a == addr) {
            let (_, conn) = self.idle.remove(i);
            self.conn = Some((conn, addr, true));
            return self.send(ctx, conn, what);
        }
        let conn = ctx.connect(addr);
        self.conn = Some((conn, addr, false));
        self.pending = Some(what);
        if let Some(t) = self.spec.connect_timeout {
            self.arm(ctx, t);
        }
    }

    fn drop_conn(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        ctx.close(conn);
        self.conn = None;
        self.decoder = ReplyDecoder::default();
        self.expect.clear();
        self.pending = None;
    }

    fn arm(&mut self, ctx: &mut Ctx<'_>, after: Duration) {
        self.disarm(ctx);
        self.timeout = Some(ctx.set_timer(after, TIMEOUT));
    }

    fn disarm(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
    }

    /// Sends `what` (with ASKING before, WAIT after, as the op needs),
    /// encoded straight into the connection's buffer.
    fn send(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, what: Expect) {
        let mut wait = None;
        if matches!(what, Expect::Slots | Expect::MasterAddr) {
            self.expect.push_back(what);
        } else {
            let Some(op) = &mut self.op else { return };
            op.sent = true;
            op.main_reply = None;
            if op.asking {
                self.expect.push_back(Expect::Asking);
            }
            self.expect.push_back(Expect::Main);
            if let (Some(w), false) = (self.spec.wait, op.f.is_read()) {
                wait = Some((w.replicas.to_string(), w.timeout_ms.to_string()));
                self.expect.push_back(Expect::Wait);
            }
        }
        let (op, master) = (self.op.as_ref(), self.master_name());
        ctx.send_with(conn, |buf| match (what, op) {
            (Expect::Slots, _) => resp::encode_command(&[&b"CLUSTER"[..], b"SLOTS"], buf),
            (Expect::MasterAddr, _) => {
                resp::encode_command(&[&b"SENTINEL"[..], b"get-master-addr-by-name", master.as_bytes()], buf)
            }
            (_, Some(op)) => {
                if op.asking {
                    resp::encode_command(&[b"ASKING"], buf);
                }
                resp::encode_command(&op.args, buf);
                if let Some((n, t)) = &wait {
                    resp::encode_command(&[&b"WAIT"[..], n.as_bytes(), t.as_bytes()], buf);
                }
            }
            (_, None) => {}
        });
        match self.spec.socket_timeout {
            Some(t) => self.arm(ctx, t),
            None => self.disarm(ctx),
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_>, v: Value) {
        let Some(what) = self.expect.pop_front() else { return };
        match what {
            Expect::Asking => {}
            Expect::Slots => self.on_slots(ctx, SlotMap::from_cluster_slots(&v).ok().filter(SlotMap::owns_any)),
            Expect::MasterAddr => {
                self.disarm(ctx);
                match master_addr(&v) {
                    Some(addr) => self.master = Some(addr),
                    None => self.sentinel_index += 1,
                }
                self.dispatch(ctx);
            }
            Expect::Main if self.expect.front() == Some(&Expect::Wait) => {
                if let Some(op) = &mut self.op {
                    op.main_reply = Some(v);
                }
            }
            Expect::Main => {
                self.disarm(ctx);
                self.on_main(ctx, v, None);
            }
            Expect::Wait => {
                self.disarm(ctx);
                let main = self.op.as_mut().and_then(|op| op.main_reply.take()).unwrap_or(Value::Nil);
                let acked = match v {
                    Value::Integer(n) => Some(n),
                    _ => None,
                };
                self.on_main(ctx, main, acked);
            }
        }
    }

    /// CLUSTER SLOTS answered: a map that owns slots, or nothing (ask the next seed).
    fn on_slots(&mut self, ctx: &mut Ctx<'_>, map: Option<SlotMap>) {
        self.disarm(ctx);
        match map {
            Some(map) => {
                self.router.as_mut().expect("cluster clients route").refreshed(map);
                self.refresh = None;
            }
            None => self.refresh = self.refresh.map(|i| i + 1),
        }
        self.dispatch(ctx);
    }

    /// The command's reply (and WAIT's count): follow a redirection, or end the op.
    fn on_main(&mut self, ctx: &mut Ctx<'_>, v: Value, acked: Option<i64>) {
        if let Some(router) = &mut self.router {
            match router.reply(v) {
                Route::Send { addr, asking } => {
                    if let Some(op) = &mut self.op {
                        op.redirect = Some(addr);
                        op.asking = asking;
                    }
                    return self.dispatch(ctx);
                }
                Route::Done(v) => {
                    if router.needs_refresh() {
                        self.refresh = Some(0);
                    }
                    return self.complete(ctx, v, acked);
                }
            }
        }
        if let (Target::Sentinel { .. }, Value::Error(e)) = (&self.spec.target, &v)
            && e.starts_with("READONLY")
        {
            // redis-py's SentinelManagedConnection: the old master was demoted;
            // disconnect, and the next connection asks the Sentinels again.
            self.master = None;
            let why = "ConnectionError: The previous master is now a slave".to_owned();
            let first = self.op.as_ref().is_some_and(|op| op.attempts == 0);
            return self.retry_or(ctx, why, first);
        }
        self.complete(ctx, v, acked)
    }

    fn complete(&mut self, ctx: &mut Ctx<'_>, v: Value, acked: Option<i64>) {
        let Some(op) = self.op.take() else { return };
        let wait = self.spec.wait;
        let (kind, value, error) = match &v {
            Value::Error(e) => (Type::Fail, op.value.clone(), Some(e.clone())),
            _ if op.f.is_read() => (Type::Ok, read_value(op.f, &v), None),
            _ => match (wait, acked) {
                (Some(w), Some(n)) if n < i64::from(w.replicas) => {
                    let why = format!("WAIT {} {}: {n} replicas acknowledged", w.replicas, w.timeout_ms);
                    (Type::Info, op.value.clone(), Some(why))
                }
                _ => (Type::Ok, op.value.clone(), None),
            },
        };
        self.event(ctx, kind, &op, value, error);
        self.ended(ctx, kind == Type::Ok);
    }

    /// A connection error, timeout or READONLY: send again while retries
    /// remain, else end the op as `info` (it was sent) or `fail` (never sent,
    /// or `definitely_not` applied).
    fn retry_or(&mut self, ctx: &mut Ctx<'_>, why: String, definitely_not: bool) {
        if let Some((conn, _, _)) = self.conn {
            self.drop_conn(ctx, conn);
        }
        self.disarm(ctx);
        if self.router.is_some() {
            self.refresh = Some(0);
        }
        let Some(op) = &mut self.op else { return };
        if op.attempts < self.spec.retries {
            op.attempts += 1;
            op.redirect = None;
            op.asking = false;
            return self.dispatch(ctx);
        }
        if op.sent && !definitely_not {
            let op = self.op.take().expect("checked");
            self.event(ctx, Type::Info, &op, op.value.clone(), Some(why));
            self.ended(ctx, false);
        } else {
            self.finish_failed(ctx, why);
        }
    }

    fn finish_failed(&mut self, ctx: &mut Ctx<'_>, why: String) {
        let Some(op) = self.op.take() else { return };
        let kind = if op.sent { Type::Info } else { Type::Fail };
        self.event(ctx, kind, &op, op.value.clone(), Some(why));
        self.ended(ctx, false);
    }

    /// The connection broke while `what` was due.
    fn lost(&mut self, ctx: &mut Ctx<'_>, why: String) {
        let what = self.expect.front().copied().or(self.pending);
        if let Some((conn, _, _)) = self.conn {
            self.drop_conn(ctx, conn);
        }
        self.disarm(ctx);
        match what {
            Some(Expect::Slots) => {
                self.refresh = self.refresh.map(|i| i + 1);
                self.dispatch(ctx);
            }
            Some(Expect::MasterAddr) => {
                self.sentinel_index += 1;
                self.dispatch(ctx);
            }
            _ if self.op.is_some() => {
                self.master = None;
                self.retry_or(ctx, why, false);
            }
            _ => {}
        }
    }

    /// The op has ended: plan the next one.
    fn ended(&mut self, ctx: &mut Ctx<'_>, ok: bool) {
        self.log.borrow_mut().outstanding -= 1;
        match &mut self.role {
            Role::Generator => {
                if let Pace::Think(think) = self.spec.pace
                    && !self.log.borrow().stopping
                {
                    ctx.set_timer(think, TICK);
                }
            }
            Role::Reader { keys, next, tries } => {
                *tries += 1;
                if ok || *tries >= self.spec.final_read_attempts {
                    *next += 1;
                    *tries = 0;
                }
                if *next >= keys.len() {
                    self.log.borrow_mut().readers_done += 1;
                    if let Some((conn, _, _)) = self.conn {
                        self.drop_conn(ctx, conn);
                    }
                    for (_, conn) in std::mem::take(&mut self.idle) {
                        ctx.close(conn);
                    }
                } else {
                    let after = if ok { Duration::ZERO } else { REREAD };
                    ctx.set_timer(after, TICK);
                }
            }
        }
    }

    fn tick(&mut self, ctx: &mut Ctx<'_>) {
        match &self.role {
            Role::Generator => {
                if self.log.borrow().stopping {
                    return;
                }
                if let Pace::Every(every) = self.spec.pace {
                    ctx.set_timer(every, TICK);
                    if self.op.is_some() {
                        self.log.borrow_mut().skipped += 1;
                        return;
                    }
                }
                if self.log.borrow().events.len() >= MAX_EVENTS {
                    self.log.borrow_mut().skipped += 1;
                    return;
                }
                if self.op.is_none() {
                    let (f, key, value) = self.draw(ctx);
                    self.begin(ctx, f, key, value);
                }
            }
            Role::Reader { keys, next, .. } => {
                if let Some(key) = keys.get(*next).cloned() {
                    let (read, _) = self.spec.model.fs();
                    self.begin(ctx, read, key, check::Value::Nil);
                }
            }
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let first = match (&self.role, self.spec.pace) {
            (Role::Reader { .. }, _) => Duration::ZERO,
            (_, Pace::Every(d) | Pace::Think(d)) if d > Duration::ZERO => {
                // Clients start spread over one interval, not in lockstep.
                Duration::from_nanos(ctx.rng().below(d.as_nanos() as u64))
            }
            _ => Duration::ZERO,
        };
        ctx.set_timer(first, TICK);
    }

    /// Something happened on an idle pooled connection: it closed or failed,
    /// or data came with nothing asked (redis-py's pool finds either when it
    /// hands the connection out, and connects afresh). Either way it leaves
    /// the pool, and the next operation to that node connects again.
    fn on_idle(&mut self, ctx: &mut Ctx<'_>, input: &Input<'_>) {
        let (conn, open) = match input {
            Input::Data { conn, .. } => (*conn, true),
            Input::Closed { conn, .. } => (*conn, false),
            _ => return,
        };
        if let Some(i) = self.idle.iter().position(|&(_, c)| c == conn) {
            self.idle.remove(i);
            if open {
                ctx.close(conn);
            }
        }
    }

    fn on_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        self.decoder.feed(bytes);
        loop {
            let slots_due = self.expect.front() == Some(&Expect::Slots);
            if slots_due
                && let Some((seen, map)) = &self.slots_seen
                && self.decoder.skip_if_next(seen)
            {
                // The same reply as last time (a refresh storm while a master
                // is down reads it thousands of times): the same map.
                let map = map.clone();
                self.expect.pop_front();
                self.on_slots(ctx, Some(map));
            } else {
                let (decoded, raw) = self.decoder.next_value_and_bytes();
                match decoded {
                    Decoded::Value(v) if slots_due => {
                        let map = SlotMap::from_cluster_slots(&v).ok().filter(SlotMap::owns_any);
                        if let Some(map) = &map {
                            self.slots_seen = Some((raw.to_vec(), map.clone()));
                        }
                        self.expect.pop_front();
                        self.on_slots(ctx, map);
                    }
                    Decoded::Value(v) => self.on_reply(ctx, v),
                    Decoded::Incomplete => return,
                    Decoded::Invalid(e) => return self.lost(ctx, format!("Protocol Error: {e}")),
                }
            }
            if self.conn.map(|c| c.0) != Some(conn) {
                return;
            }
        }
    }
}

impl Process for Client {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        let current = self.conn.map(|c| c.0);
        match input {
            Input::Start => self.start(ctx),
            Input::Timer { tag: TICK, .. } => self.tick(ctx),
            Input::Timer { tag: TIMEOUT, .. } => {
                self.timeout = None;
                let why = match self.conn {
                    Some((_, _, false)) => "TimeoutError: Timeout connecting to server",
                    _ => "TimeoutError: Timeout reading from socket",
                };
                self.lost(ctx, why.to_owned());
            }
            Input::Connected { conn } if Some(conn) == current => {
                self.disarm(ctx);
                if let Some((c, a, _)) = self.conn {
                    self.conn = Some((c, a, true));
                }
                if let Some(what) = self.pending.take() {
                    self.send(ctx, conn, what);
                }
            }
            Input::ConnectFailed { conn, error } if Some(conn) == current => {
                let addr = self.conn.map(|c| c.1).expect("current");
                let why = match error {
                    ConnectError::Refused => "Connection refused.",
                    ConnectError::TimedOut => "Connection timed out.",
                    ConnectError::Unreachable => "No route to host.",
                };
                self.conn = None;
                self.lost(ctx, format!("ConnectionError: Error connecting to {addr}. {why}"));
            }
            Input::Data { conn, bytes } if Some(conn) == current => self.on_data(ctx, conn, bytes),
            Input::Closed { conn, .. } if Some(conn) == current => {
                self.conn = None;
                self.lost(ctx, "ConnectionError: Connection closed by server.".to_owned());
            }
            other => self.on_idle(ctx, &other),
        }
    }
}

/// The command of an operation.
fn command(f: F, key: &str, value: &check::Value) -> Vec<Vec<u8>> {
    let arg = || match value {
        check::Value::One(Elem::Int(n)) => n.to_string().into_bytes(),
        check::Value::One(Elem::Str(s)) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    let (name, with_arg): (&[u8], bool) = match f {
        F::Write => (b"SET", true),
        F::Read | F::ReadCounter | F::Cas => (b"GET", false),
        F::Incr => (b"INCR", false),
        F::Add => (b"SADD", true),
        F::ReadSet => (b"SMEMBERS", false),
        F::Append => (b"RPUSH", true),
        F::ReadList => return vec![b"LRANGE".to_vec(), key.as_bytes().to_vec(), b"0".to_vec(), b"-1".to_vec()],
    };
    let mut args = Vec::with_capacity(3);
    args.push(name.to_vec());
    args.push(key.as_bytes().to_vec());
    if with_arg {
        args.push(arg());
    }
    args
}

/// An element as stored: an integer when it reads as one.
fn elem(bytes: &[u8]) -> Elem {
    let text = String::from_utf8_lossy(bytes);
    text.parse::<i64>().map(Elem::Int).unwrap_or_else(|_| Elem::Str(text.into_owned()))
}

/// What a read returned, as the history holds it.
fn read_value(f: F, v: &Value) -> check::Value {
    match v {
        Value::Bulk(b) => check::Value::One(elem(b)),
        Value::Integer(n) => check::Value::One(Elem::Int(*n)),
        Value::Array(items) | Value::Set(items) => check::Value::Many(
            items
                .iter()
                .filter_map(|i| match i {
                    Value::Bulk(b) => Some(elem(b)),
                    _ => None,
                })
                .collect(),
        ),
        _ if matches!(f, F::ReadSet | F::ReadList) => check::Value::Many(Vec::new()),
        _ => check::Value::Nil,
    }
}

/// `SENTINEL get-master-addr-by-name`'s `[ip, port]`.
fn master_addr(v: &Value) -> Option<SocketAddrV4> {
    let Value::Array(parts) = v else { return None };
    let [Value::Bulk(ip), Value::Bulk(port)] = parts.as_slice() else { return None };
    let ip: Ipv4Addr = std::str::from_utf8(ip).ok()?.parse().ok()?;
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    Some(SocketAddrV4::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: Vec<Vec<u8>>) -> Vec<String> {
        args.into_iter().map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn operations_become_the_commands_redis_py_sends() {
        let v = check::Value::One(Elem::Int(1_000_000_007));
        assert_eq!(words(command(F::Write, "r1", &v)), ["SET", "r1", "1000000007"]);
        assert_eq!(words(command(F::Append, "l1", &v)), ["RPUSH", "l1", "1000000007"]);
        assert_eq!(words(command(F::Add, "s1", &v)), ["SADD", "s1", "1000000007"]);
        assert_eq!(words(command(F::Incr, "c1", &v)), ["INCR", "c1"]);
        assert_eq!(words(command(F::ReadList, "l1", &check::Value::Nil)), ["LRANGE", "l1", "0", "-1"]);
        assert_eq!(words(command(F::ReadSet, "s1", &check::Value::Nil)), ["SMEMBERS", "s1"]);
        assert_eq!(words(command(F::ReadCounter, "c1", &check::Value::Nil)), ["GET", "c1"]);
        assert_eq!(words(command(F::Read, "r1", &check::Value::Nil)), ["GET", "r1"]);
        let s = check::Value::One(Elem::Str("x y".into()));
        assert_eq!(words(command(F::Write, "r1", &s)), ["SET", "r1", "x y"]);
    }

    #[test]
    fn replies_become_history_values() {
        let one = |n| check::Value::One(Elem::Int(n));
        assert_eq!(read_value(F::Read, &Value::Bulk(b"42".to_vec())), one(42));
        assert_eq!(read_value(F::Read, &Value::Bulk(b"x".to_vec())), check::Value::One(Elem::Str("x".into())));
        assert_eq!(read_value(F::Read, &Value::Nil), check::Value::Nil);
        let list = Value::Array(vec![Value::Bulk(b"3".to_vec()), Value::Bulk(b"1".to_vec())]);
        assert_eq!(read_value(F::ReadList, &list), check::Value::Many(vec![Elem::Int(3), Elem::Int(1)]));
        assert_eq!(read_value(F::ReadSet, &Value::NilArray), check::Value::Many(vec![]));
        let addr = Value::Array(vec![Value::Bulk(b"10.0.0.2".to_vec()), Value::Bulk(b"6380".to_vec())]);
        assert_eq!(master_addr(&addr), Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 6380)));
        assert_eq!(master_addr(&Value::NilArray), None, "an unknown master name");
    }
}
