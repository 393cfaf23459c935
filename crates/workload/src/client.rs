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
//!
//! A cluster client follows redis-py 5.x's `RedisCluster`: a refresh of the
//! slot map (`NodesManager.initialize`) asks the startup nodes in turn until
//! a `CLUSTER SLOTS` reply covers every slot, merging partial ones, and
//! disconnects from the node it asked (5.1 and later); a connection error or
//! timeout drops the node from the startup nodes and refreshes the map before
//! the retry; every fifth MOVED refreshes it, the others patch the slot; a
//! CLUSTERDOWN waits 0.25 s and refreshes before the retry.

use crate::spec::{Model, Pace, Spec, Target};
use check::{Elem, F, OpId, OpLog, Type};
use redis_client::cluster::{Route, Router, SlotMap};
use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Instant, Process};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

const TICK: u64 = 1;
const TIMEOUT: u64 = 2;
const CLUSTER_DOWN_SLEEP: u64 = 3;
/// redis-py's pause after a CLUSTERDOWN reply, before it refreshes the map
/// and retries (`time.sleep(0.25)`).
const CLUSTER_DOWN_PAUSE: Duration = Duration::from_millis(250);
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
    /// Invocations and completions of every client, kept as ops: a client
    /// writes its op at the invocation and says how it ended at the
    /// completion ([`OpLog`]).
    pub log: OpLog,
    /// No new operations from now on.
    pub stopping: bool,
    /// Clients with an operation outstanding.
    pub outstanding: u32,
    /// Open-loop ticks that found their client still busy.
    pub skipped: u64,
    /// Final readers that have read every key (or given up on it).
    pub readers_done: u32,
    /// Per key, the last set or list read any client took whole
    /// ([`Client::take_read`]). The workload's clients read the same keys:
    /// a reply with the same bytes shares its reading, and one that begins
    /// with them reads only its tail.
    reads: BTreeMap<Arc<str>, LastRead>,
}

/// A key's last read taken whole: its elements' bytes in the reply, and the
/// reading the history got (the next read of a list mostly adds a tail: its
/// reading shares this one's parts, [`check::Elems::extended`]).
#[derive(Debug, Default)]
struct LastRead {
    bytes: Vec<u8>,
    reading: check::Elems,
}

impl Shared {
    /// An empty history with room for [`MAX_EVENTS`] events from the start,
    /// so it never moves as it grows: a doubling `Vec` of a long run's
    /// 100,000s of ops copied them all again at each doubling, and each copy
    /// wrote pages the kernel had to find and clear. The room is address
    /// space only: the kernel backs a page of it when an op is first written
    /// there, as it would for a list grown to that length.
    pub fn with_room() -> Shared {
        Shared { log: OpLog::with_capacity(MAX_EVENTS / 2), ..Shared::default() }
    }
}

/// The shared history, one per workload.
pub type Log = Rc<RefCell<Shared>>;

/// Whether a client draws operations or reads every key at the end.
#[derive(Debug)]
enum Role {
    Generator,
    Reader { keys: Vec<Arc<str>>, next: usize, tries: u32 },
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
    /// Where it is in the history.
    id: OpId,
    f: F,
    key: Arc<str>,
    value: check::Value,
    attempts: u32,
    /// The command went out at least once: it may have been applied.
    sent: bool,
    /// An attempt that went out ended without a reply (a timeout or a lost
    /// connection): it may have been applied, whatever later attempts get.
    lost_after_send: bool,
    asking: bool,
    /// Where the cluster router sends it next (`None`: route by the slot map).
    redirect: Option<SocketAddrV4>,
    main_reply: Option<Value>,
}

/// A refresh of the slot map under way (redis-py's `NodesManager.initialize`):
/// the startup nodes asked in turn until the map covers every slot.
#[derive(Debug)]
struct Refresh {
    nodes: Vec<SocketAddrV4>,
    next: usize,
    /// What the nodes asked so far said, merged (the first answer per slot).
    merged: Option<SlotMap>,
    /// Why the last node asked did not answer.
    error: String,
    then: After,
}

/// What the operation does once the map is read again.
#[derive(Debug)]
enum After {
    /// Goes on.
    Dispatch,
    /// Its attempt failed with `why`: retry it, or end it.
    Retry { why: String, definitely_not: bool },
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
    /// The slot map being read again, while it is.
    refresh: Option<Refresh>,
    /// A CLUSTERDOWN reply's pause, and what follows it.
    cluster_down: Option<After>,
    /// The bytes of the last CLUSTER SLOTS reply that gave a map, and the map.
    slots_seen: Option<(Vec<u8>, SlotMap)>,
    master: Option<SocketAddrV4>,
    sentinel_index: usize,
    op: Option<Op>,
    seq: u64,
    /// When the connect or read under way times out.
    deadline: Option<Instant>,
    /// When the one timeout timer armed fires. It is never cancelled: a
    /// reply only clears the deadline, and a timer that fires early arms the
    /// next (one timer a timeout instead of one set and one cancel an op).
    timer_at: Option<Instant>,
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
            Target::Cluster(seeds) => Some(Router::with_startup(seeds.clone())),
            _ => None,
        };
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
            refresh: None,
            cluster_down: None,
            slots_seen: None,
            master: None,
            sentinel_index: 0,
            op: None,
            seq: 0,
            deadline: None,
            timer_at: None,
        }
    }

    /// The completion of `op`, which ends here, in the workload's history:
    /// `result` is what an `ok` read returned.
    fn end_event(&self, ctx: &Ctx<'_>, kind: Type, op: Op, result: Option<check::Value>, error: Option<String>) {
        let result = result.unwrap_or_default();
        self.log.borrow_mut().log.complete(op.id, kind, result, ctx.now().as_nanos(), error);
    }

    /// Draws the next operation of a generator.
    fn draw(&mut self, ctx: &mut Ctx<'_>) -> (F, Arc<str>, check::Value) {
        let (read, write) = self.spec.model.fs();
        let is_read = ctx.rng().unit() < self.spec.read_fraction;
        let key = Arc::clone(self.spec.keys.draw(ctx.rng()));
        if is_read {
            return (read, key, check::Value::Nil);
        }
        self.seq += 1;
        let unique = (self.id * 1_000_000_000 + self.seq) as i64;
        let value = if self.spec.model == Model::Counter { 1 } else { unique };
        (write, key, check::Value::One(Elem::Int(value)))
    }

    fn begin(&mut self, ctx: &mut Ctx<'_>, f: F, key: Arc<str>, value: check::Value) {
        let id = {
            let mut shared = self.log.borrow_mut();
            shared.outstanding += 1;
            shared.log.invoke(self.id, f, Elem::Str(Arc::clone(&key)), value.clone(), ctx.now().as_nanos())
        };
        let op = Op {
            id,
            f,
            key,
            value,
            attempts: 0,
            sent: false,
            lost_after_send: false,
            asking: false,
            redirect: None,
            main_reply: None,
        };
        self.op = Some(op);
        if let Some(router) = &mut self.router {
            router.new_command();
        }
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
            Target::Cluster(_) => {
                if let Some(r) = &self.refresh {
                    return match r.nodes.get(r.next) {
                        Some(&node) => self.go(ctx, node, Expect::Slots),
                        None => self.end_refresh(ctx),
                    };
                }
                let router = self.router.as_ref().expect("cluster clients route");
                if router.needs_refresh() {
                    self.start_refresh(After::Dispatch);
                    return self.dispatch(ctx);
                }
                match op.redirect.or_else(|| router.route_key(op.key.as_bytes())) {
                    Some(addr) => self.go(ctx, addr, Expect::Main),
                    None => {
                        let slot = common::slot::key_slot(op.key.as_bytes());
                        let why = format!(
                            "SlotNotCoveredError: Slot \"{slot}\" not covered by the cluster. \"require_full_coverage=False\""
                        );
                        self.finish_failed(ctx, why);
                    }
                }
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
                self.decoder.clear();
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
        self.reset_conn();
    }

    fn reset_conn(&mut self) {
        self.conn = None;
        self.decoder.clear();
        self.expect.clear();
        self.pending = None;
    }

    /// The connect or read under way times out `after` from now.
    fn arm(&mut self, ctx: &mut Ctx<'_>, after: Duration) {
        let at = ctx.now() + after;
        self.deadline = Some(at);
        if self.timer_at.is_none_or(|t| t > at) {
            ctx.set_timer(after, TIMEOUT);
            self.timer_at = Some(at);
        }
    }

    fn disarm(&mut self, _ctx: &mut Ctx<'_>) {
        self.deadline = None;
    }

    /// The timeout timer fired: the deadline has come, or it moved on and
    /// the timer is armed again for it.
    fn on_timeout_timer(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        if self.timer_at == Some(now) {
            self.timer_at = None;
        }
        match self.deadline {
            Some(d) if d <= now => {
                self.deadline = None;
                let (why, addr) = match self.conn {
                    Some((_, a, false)) => ("TimeoutError: Timeout connecting to server", Some(a)),
                    c => ("TimeoutError: Timeout reading from socket", c.map(|c| c.1)),
                };
                self.lost(ctx, why.to_owned(), addr);
            }
            Some(d) if self.timer_at.is_none() => {
                ctx.set_timer(d.saturating_since(now), TIMEOUT);
                self.timer_at = Some(d);
            }
            _ => {}
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
                command(op.f, &op.key, &op.value, buf);
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
            Expect::Slots => self.on_slots(ctx, slot_map(&v)),
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

    /// CLUSTER SLOTS answered: merge the map, and stop once it covers every
    /// slot; or an error (ask the next startup node).
    fn on_slots(&mut self, ctx: &mut Ctx<'_>, map: Result<SlotMap, String>) {
        self.disarm(ctx);
        if map.is_ok()
            && let Some((conn, _, _)) = self.conn
        {
            // redis-py 5.1+: `r.connection_pool.disconnect()` after CLUSTER SLOTS.
            self.drop_conn(ctx, conn);
        }
        let Some(r) = &mut self.refresh else { return };
        match map {
            Ok(map) => {
                let merged = match &mut r.merged {
                    Some(merged) => {
                        merged.merge_missing(&map);
                        merged
                    }
                    None => r.merged.insert(map),
                };
                r.next = if merged.covered() == redis_client::cluster::SLOTS { r.nodes.len() } else { r.next + 1 };
            }
            Err(e) => {
                r.error = e;
                r.next += 1;
            }
        }
        self.dispatch(ctx);
    }

    /// Reads the slot map again before the operation goes on (`then`).
    fn start_refresh(&mut self, then: After) {
        let router = self.router.as_mut().expect("cluster clients route");
        router.refresh_started();
        let nodes = router.startup().to_vec();
        self.refresh = Some(Refresh { nodes, next: 0, merged: None, error: "None".to_owned(), then });
    }

    /// Every startup node was asked, or one covered every slot: install the
    /// map and go on, or end the operation as redis-py raises.
    fn end_refresh(&mut self, ctx: &mut Ctx<'_>) {
        let Some(r) = self.refresh.take() else { return };
        let router = self.router.as_mut().expect("cluster clients route");
        match r.merged {
            Some(map) if map.owns_any() => router.refreshed(map),
            // No node named: `get_nodes_by_server_type(PRIMARY)[0]`.
            Some(_) => return self.finish_failed(ctx, "IndexError: list index out of range".to_owned()),
            None => {
                let why = format!(
                    "RedisClusterException: Redis Cluster cannot be connected. Please provide at least one reachable node: {}",
                    r.error
                );
                return self.finish_failed(ctx, why);
            }
        }
        match r.then {
            After::Dispatch => self.dispatch(ctx),
            After::Retry { why, definitely_not } => self.retry_now(ctx, why, definitely_not),
        }
    }

    /// The command's reply (and WAIT's count): follow a redirection, or end the op.
    fn on_main(&mut self, ctx: &mut Ctx<'_>, v: Value, acked: Option<i64>) {
        if let Some(router) = &mut self.router {
            match router.reply(v) {
                Route::Send { addr, asking } => {
                    let refresh = !asking && router.needs_refresh();
                    if let Some(op) = &mut self.op {
                        // After a refresh the op goes where the new map says.
                        op.redirect = if refresh { None } else { Some(addr) };
                        op.asking = asking;
                    }
                    if refresh {
                        self.start_refresh(After::Dispatch);
                    }
                    return self.dispatch(ctx);
                }
                Route::Done(Value::Error(e)) if e.starts_with("CLUSTERDOWN") || e.starts_with("MASTERDOWN") => {
                    if let Some(op) = &mut self.op {
                        // Refused, so not applied: it may have been only if
                        // an earlier attempt was lost after it went out.
                        op.sent = op.lost_after_send;
                    }
                    self.cluster_down = Some(After::Retry { why: e, definitely_not: true });
                    ctx.set_timer(CLUSTER_DOWN_PAUSE, CLUSTER_DOWN_SLEEP);
                    return;
                }
                Route::Done(v) => return self.complete(ctx, v, acked),
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
            Value::Error(e) => (Type::Fail, None, Some(e.clone())),
            _ if op.f.is_read() => (Type::Ok, Some(read_value(op.f, &v)), None),
            _ => match (wait, acked) {
                (Some(w), Some(n)) if n < i64::from(w.replicas) => {
                    let why = format!("WAIT {} {}: {n} replicas acknowledged", w.replicas, w.timeout_ms);
                    (Type::Info, None, Some(why))
                }
                _ => (Type::Ok, None, None),
            },
        };
        self.end_event(ctx, kind, op, value, error);
        self.ended(ctx, kind == Type::Ok);
    }

    /// Whether the next reply answers a set or list read alone (no ASKING
    /// or WAIT reply due with it), so an array of bulk strings can go
    /// straight into the history ([`Client::take_read`]).
    fn read_due(&self) -> bool {
        self.expect.len() == 1
            && self.expect.front() == Some(&Expect::Main)
            && self.op.as_ref().is_some_and(|op| matches!(op.f, F::ReadList | F::ReadSet))
    }

    /// Takes the next reply if it is an array (or set) of bulk strings, the
    /// elements read, with no [`Value`] built: the same `ok` the general path
    /// records for it (no redirection, no error, nothing to retry); says
    /// whether it did. The elements the key's last such reply (by any of
    /// the workload's clients: [`Shared`]) began with are not read again
    /// when this one begins with the same bytes, and a reply of exactly
    /// those bytes shares that reply's reading (the same elements; a list
    /// read again with no append in between, about a third of the reads of
    /// the explore benchmark).
    fn take_read(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(op) = &self.op else { return false };
        let read = {
            let mut log = self.log.borrow_mut();
            let last = log.reads.get(&*op.key);
            let known =
                last.map_or_else(resp::Known::default, |l| resp::Known { bytes: &l.bytes, count: l.reading.len() });
            let Some((skipped, body, rest)) = self.decoder.take_bulks_after(known) else { return false };
            let last = match log.reads.get_mut(&*op.key) {
                Some(last) => last,
                None => log.reads.entry(op.key.clone()).or_default(),
            };
            // Skipped and nothing after: the reply's elements are the last ones.
            if !(skipped && rest.len() == 0) {
                if skipped {
                    // `body` begins with the known bytes.
                    last.bytes.extend_from_slice(&body[last.bytes.len()..]);
                    let tail: Vec<Elem> = rest.map(elem).collect();
                    last.reading = last.reading.extended(&tail);
                } else {
                    last.bytes.clear();
                    last.bytes.extend_from_slice(body);
                    last.reading = rest.map(elem).collect();
                }
            }
            debug_assert_eq!(last.bytes, body, "the known bytes are the reply's");
            check::Value::Many(last.reading.clone())
        };
        self.expect.pop_front();
        self.disarm(ctx);
        if let Some(op) = self.op.take() {
            self.end_event(ctx, Type::Ok, op, Some(read), None);
            self.ended(ctx, true);
        }
        true
    }

    /// A connection error, timeout or READONLY: send again while retries
    /// remain, else end the op as `info` (it was sent) or `fail` (never sent,
    /// or `definitely_not` applied). A cluster client reads the slot map
    /// again first.
    fn retry_or(&mut self, ctx: &mut Ctx<'_>, why: String, definitely_not: bool) {
        if let Some((conn, _, _)) = self.conn {
            self.drop_conn(ctx, conn);
        }
        self.disarm(ctx);
        if self.router.is_some() {
            self.start_refresh(After::Retry { why, definitely_not });
            return self.dispatch(ctx);
        }
        self.retry_now(ctx, why, definitely_not);
    }

    fn retry_now(&mut self, ctx: &mut Ctx<'_>, why: String, definitely_not: bool) {
        let Some(op) = &mut self.op else { return };
        if op.attempts < self.spec.retries {
            op.attempts += 1;
            op.redirect = None;
            op.asking = false;
            if let Some(router) = &mut self.router {
                router.new_command();
            }
            return self.dispatch(ctx);
        }
        if op.sent && !definitely_not {
            let op = self.op.take().expect("checked");
            self.end_event(ctx, Type::Info, op, None, Some(why));
            self.ended(ctx, false);
        } else {
            self.finish_failed(ctx, why);
        }
    }

    fn finish_failed(&mut self, ctx: &mut Ctx<'_>, why: String) {
        let Some(op) = self.op.take() else { return };
        let kind = if op.sent { Type::Info } else { Type::Fail };
        self.end_event(ctx, kind, op, None, Some(why));
        self.ended(ctx, false);
    }

    /// The connection to `addr` broke while `what` was due.
    fn lost(&mut self, ctx: &mut Ctx<'_>, why: String, addr: Option<SocketAddrV4>) {
        let what = self.expect.front().copied().or(self.pending);
        match self.conn {
            Some((conn, _, _)) => self.drop_conn(ctx, conn),
            // Closed by the peer, or never opened: nothing is due on it any more.
            None => self.reset_conn(),
        }
        self.disarm(ctx);
        match what {
            Some(Expect::Slots) => {
                if let Some(r) = &mut self.refresh {
                    r.error = why.split_once(": ").map_or(why.as_str(), |(_, text)| text).to_owned();
                    r.next += 1;
                }
                self.dispatch(ctx);
            }
            Some(Expect::MasterAddr) => {
                self.sentinel_index += 1;
                self.dispatch(ctx);
            }
            // Asleep after CLUSTERDOWN, redis-py finds the broken
            // connection only when it next uses it.
            _ if self.cluster_down.is_some() => {}
            _ if self.op.is_some() => {
                self.master = None;
                if let Some(op) = &mut self.op {
                    op.lost_after_send |= op.sent;
                }
                if let (Some(router), Some(addr)) = (&mut self.router, addr) {
                    // redis-py: the node leaves the startup nodes, and its
                    // pool (idle connections too) is dropped.
                    router.forget(addr);
                    self.idle.retain(|&(a, c)| {
                        if a == addr {
                            ctx.close(c);
                        }
                        a != addr
                    });
                }
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
                if self.log.borrow().log.events_len() >= MAX_EVENTS {
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
                self.on_slots(ctx, Ok(map));
            } else if self.read_due() && self.take_read(ctx) {
                // A set or list read ended.
            } else {
                let (decoded, raw) = self.decoder.next_value_and_bytes();
                match decoded {
                    Decoded::Value(v) if slots_due => {
                        let map = slot_map(&v);
                        if let Ok(map) = &map {
                            self.slots_seen = Some((raw.to_vec(), map.clone()));
                        }
                        self.expect.pop_front();
                        self.on_slots(ctx, map);
                    }
                    Decoded::Value(v) => self.on_reply(ctx, v),
                    Decoded::Incomplete => return,
                    Decoded::Invalid(e) => {
                        let addr = self.conn.map(|c| c.1);
                        return self.lost(ctx, format!("Protocol Error: {e}"), addr);
                    }
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
            Input::Timer { tag: TIMEOUT, .. } => self.on_timeout_timer(ctx),
            Input::Timer { tag: CLUSTER_DOWN_SLEEP, .. } => {
                if let Some(then) = self.cluster_down.take() {
                    self.start_refresh(then);
                    self.dispatch(ctx);
                }
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
                self.conn = None;
                self.lost(ctx, connect_error(addr, error), Some(addr));
            }
            Input::Data { conn, bytes } if Some(conn) == current => self.on_data(ctx, conn, bytes),
            Input::Closed { conn, .. } if Some(conn) == current => {
                let addr = self.conn.take().map(|c| c.1);
                self.lost(ctx, "ConnectionError: Connection closed by server.".to_owned(), addr);
            }
            other => self.on_idle(ctx, &other),
        }
    }
}

/// redis-py's message for a connection that could not be made, written
/// piece by piece: while a master is down every operation on its slots
/// fails to connect four times, and `format!` of the address cost more than
/// the rest of handling the failure.
fn connect_error(addr: SocketAddrV4, error: ConnectError) -> String {
    let why = match error {
        ConnectError::Refused => "Connection refused.",
        ConnectError::TimedOut => "Connection timed out.",
        ConnectError::Unreachable => "No route to host.",
    };
    let mut text = String::with_capacity(80);
    text.push_str("ConnectionError: Error connecting to ");
    for (i, octet) in addr.ip().octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(check::decimal(octet.into(), &mut [0; 20]));
    }
    text.push(':');
    text.push_str(check::decimal(addr.port().into(), &mut [0; 20]));
    text.push_str(". ");
    text.push_str(why);
    text
}

/// A CLUSTER SLOTS reply as a map, or why redis-py would not take it.
fn slot_map(v: &Value) -> Result<SlotMap, String> {
    match v {
        Value::Error(_) => Err("Cluster mode is not enabled on this node".to_owned()),
        _ => SlotMap::from_cluster_slots(v).map_err(|e| e.to_string()),
    }
}

/// Appends the command of an operation, encoded as redis-py sends it,
/// straight into the connection's buffer (no argument list is built).
fn command(f: F, key: &str, value: &check::Value, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let arg: &[u8] = match value {
        // Twenty bytes hold any i64; written without the `fmt` machinery.
        check::Value::One(Elem::Int(n)) => check::decimal_bytes(*n, &mut digits),
        check::Value::One(Elem::Str(s)) => s.as_bytes(),
        _ => b"",
    };
    let key = key.as_bytes();
    match f {
        F::Write => resp::encode_command(&[&b"SET"[..], key, arg], out),
        F::Read | F::ReadCounter | F::Cas => resp::encode_command(&[&b"GET"[..], key], out),
        F::Incr => resp::encode_command(&[&b"INCR"[..], key], out),
        F::Add => resp::encode_command(&[&b"SADD"[..], key, arg], out),
        F::ReadSet => resp::encode_command(&[&b"SMEMBERS"[..], key], out),
        F::Append => resp::encode_command(&[&b"RPUSH"[..], key, arg], out),
        F::ReadList => resp::encode_command(&[&b"LRANGE"[..], key, b"0", b"-1"], out),
    }
}

/// An element as stored: an integer when it reads as one (as `i64`'s
/// `FromStr` reads it), else its text (invalid UTF-8 replaced).
fn elem(bytes: &[u8]) -> Elem {
    if let Some(n) = short_int(bytes) {
        return Elem::Int(n);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.parse::<i64>().map_or_else(|_| Elem::Str(text.into()), Elem::Int),
        Err(_) => Elem::Str(String::from_utf8_lossy(bytes).into()),
    }
}

/// An optional sign and 1 to 18 decimal digits (which cannot overflow), read
/// straight from the bytes, eight digits at a time: the elements a workload
/// writes (ten digits or more), read by the hundred thousand in a run.
fn short_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n = 0i64;
    let mut chunks = digits.chunks_exact(8);
    for chunk in &mut chunks {
        n = n * 100_000_000 + eight_digits(chunk)?;
    }
    for &d in chunks.remainder() {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + i64::from(digit);
    }
    Some(if negative { -n } else { n })
}

/// Eight ASCII digits (the first the most significant) as their value, or
/// `None` if one is not a digit; the digits are read as one 64-bit word.
fn eight_digits(chunk: &[u8]) -> Option<i64> {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let x = u64::from_le_bytes(chunk.try_into().ok()?);
    // A byte is a digit when its high half is 3, and still is with 6 added.
    if x & HIGH != ZEROS || x.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    // Byte k holds digit k (0-9); fold pairs of lanes into lanes twice as wide.
    let x = x - ZEROS;
    let x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    let x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    let x = (x * 10_000 + (x >> 32)) & 0xFFFF_FFFF;
    Some(x as i64)
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
        _ if matches!(f, F::ReadSet | F::ReadList) => check::Value::Many(check::Elems::default()),
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

    /// The words of the command an operation sends, as a server parses them.
    fn words(f: F, key: &str, value: &check::Value) -> Vec<String> {
        let mut bytes = Vec::new();
        command(f, key, value, &mut bytes);
        let mut parser = resp::RequestParser::default();
        parser.feed(&bytes);
        assert_eq!(parser.next_command(false), Ok(true), "one whole command");
        parser.args().iter().map(|a| String::from_utf8(a.clone()).unwrap()).collect()
    }

    #[test]
    fn a_read_element_is_an_integer_when_it_reads_as_one_else_its_text() {
        let cases: [(&[u8], Elem); 9] = [
            (b"42", Elem::Int(42)),
            (b"-7", Elem::Int(-7)),
            (b"+3", Elem::Int(3)),
            (b"9223372036854775807", Elem::Int(i64::MAX)),
            (b"9223372036854775808", Elem::Str("9223372036854775808".into())),
            (b" 1", Elem::Str(" 1".into())),
            (b"", Elem::Str("".into())),
            (b"p1-12", Elem::Str("p1-12".into())),
            (b"4\xff2", Elem::Str("4\u{fffd}2".into())),
        ];
        for (bytes, want) in cases {
            assert_eq!(elem(bytes), want, "{bytes:?}");
        }
        // Against i64's own reading, over drawn texts of every length the
        // short path reads (eight digits at a time and one at a time).
        let alphabet = b"0123456789+- x/:";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 21) as usize;
            let text: String = (0..len)
                .map(|i| {
                    let pick = (state >> (i % 16 * 4)) as usize % if state.is_multiple_of(7) { 16 } else { 10 };
                    char::from(alphabet[pick])
                })
                .collect();
            let want = text.parse::<i64>().map_or_else(|_| Elem::Str(text.as_str().into()), Elem::Int);
            assert_eq!(elem(text.as_bytes()), want, "{text:?}");
        }
        // Around the lengths where the short path stops.
        for text in ["-", "+", "-0", "007", "123456789012345678", "-123456789012345678", "1234567890123456789"] {
            let want = text.parse::<i64>().map_or_else(|_| Elem::Str(text.into()), Elem::Int);
            assert_eq!(elem(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn operations_become_the_commands_redis_py_sends() {
        let v = check::Value::One(Elem::Int(1_000_000_007));
        assert_eq!(words(F::Write, "r1", &v), ["SET", "r1", "1000000007"]);
        assert_eq!(words(F::Append, "l1", &v), ["RPUSH", "l1", "1000000007"]);
        assert_eq!(words(F::Add, "s1", &v), ["SADD", "s1", "1000000007"]);
        assert_eq!(words(F::Incr, "c1", &v), ["INCR", "c1"]);
        assert_eq!(words(F::ReadList, "l1", &check::Value::Nil), ["LRANGE", "l1", "0", "-1"]);
        assert_eq!(words(F::ReadSet, "s1", &check::Value::Nil), ["SMEMBERS", "s1"]);
        assert_eq!(words(F::ReadCounter, "c1", &check::Value::Nil), ["GET", "c1"]);
        assert_eq!(words(F::Read, "r1", &check::Value::Nil), ["GET", "r1"]);
        let s = check::Value::One(Elem::Str("x y".into()));
        assert_eq!(words(F::Write, "r1", &s), ["SET", "r1", "x y"]);
        let min = check::Value::One(Elem::Int(i64::MIN));
        assert_eq!(words(F::Append, "l1", &min), ["RPUSH", "l1", "-9223372036854775808"]);
        for n in [0, 7, -7, 10, i64::MAX] {
            assert_eq!(words(F::Write, "r1", &check::Value::One(Elem::Int(n))), ["SET", "r1", n.to_string().as_str()]);
        }
    }

    #[test]
    fn connect_errors_read_as_redis_py_words_them() {
        let errors = [ConnectError::Refused, ConnectError::TimedOut, ConnectError::Unreachable];
        let reasons = ["Connection refused.", "Connection timed out.", "No route to host."];
        for (ip, port) in
            [([127, 0, 0, 1], 7001), ([0, 0, 0, 0], 0), ([255, 255, 255, 255], 65535), ([10, 9, 100, 2], 6380)]
        {
            let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
            for (error, reason) in errors.into_iter().zip(reasons) {
                assert_eq!(
                    connect_error(addr, error),
                    format!("ConnectionError: Error connecting to {addr}. {reason}")
                );
            }
        }
    }

    #[test]
    fn replies_become_history_values() {
        let one = |n| check::Value::One(Elem::Int(n));
        assert_eq!(read_value(F::Read, &Value::Bulk(b"42".to_vec())), one(42));
        assert_eq!(read_value(F::Read, &Value::Bulk(b"x".to_vec())), check::Value::One(Elem::Str("x".into())));
        assert_eq!(read_value(F::Read, &Value::Nil), check::Value::Nil);
        let list = Value::Array(vec![Value::Bulk(b"3".to_vec()), Value::Bulk(b"1".to_vec())]);
        assert_eq!(read_value(F::ReadList, &list), check::Value::Many([Elem::Int(3), Elem::Int(1)].into()));
        assert_eq!(read_value(F::ReadSet, &Value::NilArray), check::Value::Many(check::Elems::default()));
        let addr = Value::Array(vec![Value::Bulk(b"10.0.0.2".to_vec()), Value::Bulk(b"6380".to_vec())]);
        assert_eq!(master_addr(&addr), Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 6380)));
        assert_eq!(master_addr(&Value::NilArray), None, "an unknown master name");
    }
}
