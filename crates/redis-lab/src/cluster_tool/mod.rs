//! `redis-cli --cluster` (create, check, info, add-node, del-node, reshard,
//! rebalance, fix) as a simulated client and the `redis-cli-cluster` scenario
//! step.
//!
//! redis-cli's cluster manager is a synchronous program: it sends one command
//! to one node and blocks for the reply. Here the connections belong to a
//! [`ToolClient`] process on a simulated host (so partitions and crashes apply
//! to it), and the manager's logic runs as straight-line code in the step that
//! drives the kernel from one event to the next until each reply arrives. The
//! decisions that need no I/O are in [`plan`]. Output is the text redis-cli
//! prints, without its colours; its confirmation questions are answered "yes"
//! (printed as if typed, unless `--cluster-yes` was given); `sleep(1)` is one
//! virtual second; C's `rand()` draws from the tool process's own stream.
//!
//! Differences from redis-cli 7.0.15, all because of what the simulated node
//! lacks or what Redis leaves to hash order: add-node prints its function-copy
//! lines but sends no FUNCTION commands (the node has no functions);
//! "slots are open" lists slots in the order they were found rather than dict
//! order; `fix` handles open slots (cases 1–4 and a missing owner) and
//! uncovered slots with no or one holder, and refuses slots with several
//! owners or holders.

pub mod plan;

use redis_client::cluster::SLOTS;
use resp::{Decoded, ReplyDecoder, Value};
use scenario::diag::Diagnostic;
use scenario::yaml::Node as Yaml;
use scenario::{NodeRef, ParseCx, Runtime, Step, Template};
use sim::{ConnId, ConnectError, Ctx, Fault, Input, Instant, ProcId, Process, Sim};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// `CLUSTER_MANAGER_MIGRATE_TIMEOUT` and `CLUSTER_MANAGER_MIGRATE_PIPELINE`.
const MIGRATE_TIMEOUT_MS: u64 = 60_000;
const MIGRATE_PIPELINE: usize = 10;
/// `CLUSTER_MANAGER_REBALANCE_THRESHOLD`.
const REBALANCE_THRESHOLD: f32 = 2.0;

#[derive(Debug)]
enum LinkState {
    Connecting,
    Up,
    Down(String),
}

#[derive(Debug)]
struct Link {
    conn: ConnId,
    state: LinkState,
    decoder: ReplyDecoder,
    replies: VecDeque<Value>,
}

/// The process holding redis-cli's connections, one per node, as hiredis contexts.
#[derive(Debug, Default)]
pub struct ToolClient {
    links: BTreeMap<SocketAddrV4, Link>,
    by_conn: BTreeMap<ConnId, SocketAddrV4>,
}

impl ToolClient {
    fn open(&mut self, ctx: &mut Ctx<'_>, addr: SocketAddrV4) {
        if let Some(old) = self.links.remove(&addr) {
            self.by_conn.remove(&old.conn);
            ctx.close(old.conn);
        }
        let conn = ctx.connect(addr);
        self.by_conn.insert(conn, addr);
        let link =
            Link { conn, state: LinkState::Connecting, decoder: ReplyDecoder::default(), replies: VecDeque::new() };
        self.links.insert(addr, link);
    }

    fn link(&mut self, conn: ConnId) -> Option<&mut Link> {
        let addr = self.by_conn.get(&conn)?;
        self.links.get_mut(addr)
    }
}

impl Process for ToolClient {
    fn handle(&mut self, _ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Connected { conn } => {
                if let Some(l) = self.link(conn) {
                    l.state = LinkState::Up;
                }
            }
            Input::ConnectFailed { conn, error } => {
                if let Some(l) = self.link(conn) {
                    let why = match error {
                        ConnectError::Refused => "Connection refused",
                        ConnectError::TimedOut => "Connection timed out",
                        ConnectError::Unreachable => "No route to host",
                    };
                    l.state = LinkState::Down(why.to_owned());
                }
            }
            Input::Data { conn, bytes } => {
                if let Some(l) = self.link(conn) {
                    l.decoder.feed(bytes);
                    while let Decoded::Value(v) = l.decoder.next_value() {
                        l.replies.push_back(v);
                    }
                }
            }
            Input::Closed { conn, .. } => {
                if let Some(l) = self.link(conn) {
                    l.state = LinkState::Down("Server closed the connection".to_owned());
                }
            }
            Input::Start | Input::Shutdown | Input::Accepted { .. } | Input::Timer { .. } => {}
        }
    }
}

/// What lets the manager's synchronous code make time pass.
pub trait Driver {
    /// The world.
    fn sim(&mut self) -> &mut Sim;
    /// Runs the world up to `until`, with whatever else must happen meanwhile
    /// (a scenario's timed faults and invariants).
    fn run_to(&mut self, until: Instant) -> Result<(), String>;
}

impl Driver for Sim {
    fn sim(&mut self) -> &mut Sim {
        self
    }

    fn run_to(&mut self, until: Instant) -> Result<(), String> {
        self.run_until(until);
        Ok(())
    }
}

struct RuntimeDriver<'a>(&'a mut Runtime);

impl Driver for RuntimeDriver<'_> {
    fn sim(&mut self) -> &mut Sim {
        &mut self.0.sim
    }

    fn run_to(&mut self, until: Instant) -> Result<(), String> {
        let now = self.0.sim.now();
        if until <= now {
            // Events due now (a just-started process, say): no time passes, so no
            // timed fault or invariant poll is due either.
            self.0.sim.run_until(now);
            return Ok(());
        }
        self.0.advance(until.saturating_since(now))
    }
}

/// A failed command: what redis-cli printed is already in the output.
#[derive(Debug)]
struct Failed;

type Res<T> = Result<T, Failed>;

/// One node as the cluster manager knows it (`clusterManagerNode`).
#[derive(Clone, Debug)]
struct Node {
    ip: String,
    port: u16,
    addr: SocketAddrV4,
    name: String,
    flags: Vec<String>,
    slave: bool,
    excluded: bool,
    replicate: Option<String>,
    slots: Vec<bool>,
    slots_count: usize,
    migrating: Vec<(String, String)>,
    importing: Vec<(String, String)>,
    replicas_count: usize,
    dirty: bool,
    weight: f32,
}

impl Node {
    fn new(addr: SocketAddrV4) -> Node {
        Node {
            ip: addr.ip().to_string(),
            port: addr.port(),
            addr,
            name: String::new(),
            flags: Vec::new(),
            slave: false,
            excluded: false,
            replicate: None,
            slots: vec![false; SLOTS],
            slots_count: 0,
            migrating: Vec::new(),
            importing: Vec::new(),
            replicas_count: 0,
            dirty: false,
            weight: 1.0,
        }
    }

    fn endpoint(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    fn owned_slots(&self) -> Vec<usize> {
        (0..SLOTS).filter(|&s| self.slots[s]).collect()
    }

    fn is_master(&self) -> bool {
        !self.slave && self.replicate.is_none()
    }
}

/// Options of `redis-cli --cluster <cmd>` (`--cluster-*`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    replicas: usize,
    yes: bool,
    from: Option<String>,
    to: Option<String>,
    slots: usize,
    timeout_ms: Option<u64>,
    pipeline: Option<usize>,
    weights: Vec<(String, f32)>,
    use_empty_masters: bool,
    threshold: Option<f32>,
    simulate: bool,
    replace: bool,
    slave: bool,
    master_id: Option<String>,
}

/// A parsed `--cluster` command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    name: String,
    args: Vec<String>,
    opts: Options,
}

/// Parses `create 127.0.0.1:6381 ... --cluster-replicas 1` (what follows `--cluster`).
pub fn parse_command(text: &str) -> Result<Command, String> {
    let words = resp::split_args(text.as_bytes()).ok_or("Invalid argument(s)")?;
    let words: Vec<String> = words.into_iter().map(|w| String::from_utf8_lossy(&w).into_owned()).collect();
    let (name, rest) = words.split_first().ok_or("the command is empty")?;
    let name = name.to_ascii_lowercase();
    let arity = match name.as_str() {
        "create" => (1, usize::MAX),
        "check" | "info" | "reshard" | "rebalance" | "fix" => (1, 1),
        "add-node" | "del-node" => (2, 2),
        other => return Err(format!("Unknown --cluster subcommand '{other}'")),
    };
    let mut opts = Options::default();
    let mut args = Vec::new();
    let mut it = rest.iter();
    let value = |it: &mut std::slice::Iter<'_, String>, opt: &str| {
        it.next().cloned().ok_or_else(|| format!("{opt} needs a value"))
    };
    let number = |v: String, opt: &str| v.parse::<u64>().map_err(|_| format!("{opt}: '{v}' is not a number"));
    while let Some(w) = it.next() {
        let Some(opt) = w.strip_prefix("--cluster-") else {
            args.push(w.clone());
            continue;
        };
        let flag = format!("--cluster-{opt}");
        match opt {
            "replicas" => opts.replicas = number(value(&mut it, &flag)?, &flag)? as usize,
            "yes" => opts.yes = true,
            "from" => opts.from = Some(value(&mut it, &flag)?),
            "to" => opts.to = Some(value(&mut it, &flag)?),
            "slots" => opts.slots = number(value(&mut it, &flag)?, &flag)? as usize,
            "timeout" => opts.timeout_ms = Some(number(value(&mut it, &flag)?, &flag)?),
            "pipeline" => opts.pipeline = Some(number(value(&mut it, &flag)?, &flag)?.max(1) as usize),
            "weight" => {
                // Every following word without a leading -- is one name=weight.
                let mut more = it.clone().take_while(|w| !w.starts_with("--")).count();
                if more == 0 {
                    return Err(format!("{flag} needs node=weight pairs"));
                }
                while more > 0 {
                    let pair = value(&mut it, &flag)?;
                    let (n, w) = pair.split_once('=').ok_or_else(|| format!("{flag}: '{pair}' is not name=weight"))?;
                    let w: f32 = w.parse().map_err(|_| format!("{flag}: bad weight in '{pair}'"))?;
                    opts.weights.push((n.to_owned(), w));
                    more -= 1;
                }
            }
            "use-empty-masters" => opts.use_empty_masters = true,
            "threshold" => {
                let v = value(&mut it, &flag)?;
                opts.threshold = Some(v.parse().map_err(|_| format!("{flag}: '{v}' is not a number"))?);
            }
            "simulate" => opts.simulate = true,
            "replace" => opts.replace = true,
            "slave" | "replica" => opts.slave = true,
            "master-id" => opts.master_id = Some(value(&mut it, &flag)?),
            _ => return Err(format!("Unrecognized option: {flag}")),
        }
    }
    if args.len() < arity.0 || args.len() > arity.1 {
        return Err("[ERR] Wrong number of arguments for specified --cluster sub command".to_owned());
    }
    Ok(Command { name, args, opts })
}

/// Where redis-cli's output goes, with the connections it uses.
struct Session<'d> {
    driver: &'d mut dyn Driver,
    tool: ProcId,
    out: Vec<String>,
    partial: Option<String>,
    /// How long one reply may take before redis-cli gives up on the node.
    io_timeout: Duration,
    /// When the whole program is given up (the step's timeout).
    deadline: Instant,
    password: Option<String>,
}

impl Session<'_> {
    fn print(&mut self, line: impl Into<String>) {
        let line = line.into();
        match self.partial.take() {
            Some(p) => self.out.push(p + &line),
            None => self.out.push(line),
        }
    }

    /// Text without a newline yet (`printf` without `\n`).
    fn print_partial(&mut self, text: &str) {
        self.partial.get_or_insert_with(String::new).push_str(text);
    }

    fn newline(&mut self) {
        let p = self.partial.take().unwrap_or_default();
        self.out.push(p);
    }

    fn rand(&mut self) -> u32 {
        self.driver
            .sim()
            .with_process::<ToolClient, _>(self.tool, |_, ctx| ctx.rng().below(1 << 31) as u32)
            .unwrap_or(0)
    }

    fn sleep(&mut self, d: Duration) -> Res<()> {
        let until = self.driver.sim().now() + d;
        if until > self.deadline {
            return Err(self.abort("the step's timeout passed".to_owned()));
        }
        self.driver.run_to(until).map_err(|e| self.abort(e))
    }

    fn abort(&mut self, e: String) -> Failed {
        self.print(format!("Error: {e}"));
        Failed
    }

    /// Runs the world until `ready` holds for the client, or the I/O timeout.
    fn wait(&mut self, mut ready: impl FnMut(&ToolClient) -> bool) -> Result<bool, String> {
        let deadline = (self.driver.sim().now() + self.io_timeout).min(self.deadline);
        loop {
            let sim = self.driver.sim();
            match sim.process::<ToolClient>(self.tool) {
                Some(t) if ready(t) => return Ok(true),
                Some(_) => {}
                None => return Err("redis-cli is not running".to_owned()),
            }
            let now = sim.now();
            if now >= deadline {
                return Ok(false);
            }
            let next = sim.next_event_at().map_or(deadline, |t| t.min(deadline)).max(now);
            // Nothing scheduled before the deadline: jump there.
            let next = if next == now && sim.next_event_at().is_none() { deadline } else { next };
            self.driver.run_to(next)?;
        }
    }

    /// `clusterManagerNodeConnect`: a connection to `addr`, authenticated with `-a`.
    fn connect(&mut self, addr: SocketAddrV4) -> Res<()> {
        let up = |t: &ToolClient| t.links.get(&addr).is_some_and(|l| matches!(l.state, LinkState::Up));
        if self.driver.sim().process::<ToolClient>(self.tool).is_some_and(up) {
            return Ok(());
        }
        self.driver.sim().with_process::<ToolClient, _>(self.tool, |t, ctx| t.open(ctx, addr));
        let settled = |t: &ToolClient| t.links.get(&addr).is_none_or(|l| !matches!(l.state, LinkState::Connecting));
        let done = self.wait(settled).map_err(|e| self.abort(e))?;
        let state = self.driver.sim().process::<ToolClient>(self.tool).and_then(|t| {
            t.links.get(&addr).map(|l| match &l.state {
                LinkState::Up => None,
                LinkState::Down(why) => Some(why.clone()),
                LinkState::Connecting => Some("Connection timed out".to_owned()),
            })
        });
        match (done, state.flatten()) {
            (true, None) => {}
            (_, why) => {
                let why = why.unwrap_or_else(|| "Connection timed out".to_owned());
                self.print(format!("Could not connect to Redis at {}:{}: {why}", addr.ip(), addr.port()));
                return Err(Failed);
            }
        }
        if let Some(pass) = self.password.clone() {
            // redis-cli warns and carries on when AUTH fails.
            if let Ok(Value::Error(e)) = self.call(addr, &["AUTH", &pass]) {
                self.print(format!("Warning: AUTH failed: {e}"));
            }
        }
        Ok(())
    }

    /// One command and its reply; `Err` if the connection failed (printed as hiredis reports it).
    fn call<A: AsRef<[u8]>>(&mut self, addr: SocketAddrV4, args: &[A]) -> Result<Value, Failed> {
        let connected = self
            .driver
            .sim()
            .process::<ToolClient>(self.tool)
            .is_some_and(|t| t.links.get(&addr).is_some_and(|l| matches!(l.state, LinkState::Up)));
        if !connected {
            self.connect(addr)?;
        }
        self.driver.sim().with_process::<ToolClient, _>(self.tool, |t, ctx| {
            if let Some(l) = t.links.get(&addr) {
                ctx.send_with(l.conn, |buf| resp::encode_command(args, buf));
            }
        });
        let arrived = |t: &ToolClient| {
            t.links.get(&addr).is_none_or(|l| !l.replies.is_empty() || matches!(l.state, LinkState::Down(_)))
        };
        let done = self.wait(arrived).map_err(|e| self.abort(e))?;
        let reply = self
            .driver
            .sim()
            .with_process::<ToolClient, _>(self.tool, |t, _| t.links.get_mut(&addr).and_then(|l| l.replies.pop_front()))
            .flatten();
        match reply {
            Some(v) => Ok(v),
            None => {
                let why = if done { "Server closed the connection" } else { "I/O error" };
                self.print(format!("Error: {why} ({}:{})", addr.ip(), addr.port()));
                Err(Failed)
            }
        }
    }
}

/// Runs one `--cluster` command; the printed lines and whether it succeeded (exit code 0).
pub fn run(
    driver: &mut dyn Driver,
    tool: ProcId,
    command: &Command,
    password: Option<String>,
    limit: Duration,
) -> (Vec<String>, bool) {
    let io_timeout = Duration::from_secs(10);
    let deadline = driver.sim().now() + limit;
    let mut m = Manager {
        s: Session { driver, tool, out: Vec::new(), partial: None, io_timeout, deadline, password },
        nodes: Vec::new(),
        errors: Vec::new(),
        opts: command.opts.clone(),
        fix: false,
    };
    let ok = m.dispatch(command).unwrap_or(false);
    if let Some(p) = m.s.partial.take() {
        m.s.out.push(p);
    }
    (m.s.out, ok)
}

fn parse_addr(text: &str) -> Option<SocketAddrV4> {
    let text = text.rsplit_once('@').map_or(text, |(a, _)| a);
    let (ip, port) = text.rsplit_once(':')?;
    Some(SocketAddrV4::new(ip.parse::<Ipv4Addr>().ok()?, port.parse().ok()?))
}

fn info_field(text: &str, field: &str) -> Option<i64> {
    text.lines().find_map(|l| l.trim_end().strip_prefix(field)?.strip_prefix(':')?.parse().ok())
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Simple(s) | Value::Error(s) => s.clone(),
        other => resp::render(other),
    }
}

struct Manager<'d> {
    s: Session<'d>,
    nodes: Vec<Node>,
    errors: Vec<String>,
    opts: Options,
    fix: bool,
}

impl Manager<'_> {
    fn dispatch(&mut self, c: &Command) -> Res<bool> {
        let addr = |m: &mut Manager<'_>, text: &str| match parse_addr(text) {
            Some(a) => Ok(a),
            None => {
                m.s.print(format!("Invalid address format: {text}"));
                Err(Failed)
            }
        };
        match c.name.as_str() {
            "create" => {
                let mut addrs = Vec::new();
                for a in &c.args {
                    addrs.push(addr(self, a)?);
                }
                self.create(&addrs)
            }
            "check" => {
                let a = addr(self, &c.args[0])?;
                self.load_from(a)?;
                self.show_cluster_info()?;
                self.check(false)
            }
            "info" => {
                let a = addr(self, &c.args[0])?;
                self.load_from(a)?;
                self.show_cluster_info()?;
                Ok(true)
            }
            "fix" => {
                self.fix = true;
                let a = addr(self, &c.args[0])?;
                self.load_from(a)?;
                self.show_cluster_info()?;
                self.check(false)
            }
            "add-node" => {
                let new = addr(self, &c.args[0])?;
                let existing = addr(self, &c.args[1])?;
                self.add_node(new, existing)
            }
            "del-node" => {
                let a = addr(self, &c.args[0])?;
                self.del_node(a, &c.args[1])
            }
            "reshard" => {
                let a = addr(self, &c.args[0])?;
                self.reshard(a)
            }
            "rebalance" => {
                let a = addr(self, &c.args[0])?;
                self.rebalance(a)
            }
            _ => Ok(false),
        }
    }

    fn reply_error(&mut self, node: &Node, err: &str) {
        self.s.print(format!("Node {} replied with error:", node.endpoint()));
        self.s.print(err.to_owned());
    }

    /// `CLUSTER_MANAGER_COMMAND` plus `clusterManagerCheckRedisReply`: an error reply is printed.
    fn command(&mut self, i: usize, args: &[&str]) -> Res<Value> {
        let addr = self.nodes[i].addr;
        let v = self.s.call(addr, args)?;
        if let Value::Error(e) = &v {
            let node = self.nodes[i].clone();
            self.reply_error(&node, e);
            return Err(Failed);
        }
        Ok(v)
    }

    fn is_cluster(&mut self, node: &Node) -> Res<bool> {
        let info = self.s.call(node.addr, &["INFO"])?;
        if let Value::Error(e) = &info {
            // `clusterManagerPrintNotClusterNodeError` with the error as its message.
            self.s.print(format!("[ERR] Node {} {e}", node.endpoint()));
            return Err(Failed);
        }
        Ok(info_field(&text_of(&info), "cluster_enabled") == Some(1))
    }

    fn is_empty(&mut self, node: &Node) -> Res<bool> {
        let info = text_of(&self.s.call(node.addr, &["INFO"])?);
        if info.contains("db0:") {
            return Ok(false);
        }
        let ci = self.s.call(node.addr, &["CLUSTER", "INFO"])?;
        if let Value::Error(e) = &ci {
            self.reply_error(node, e);
            return Ok(false);
        }
        Ok(info_field(&text_of(&ci), "cluster_known_nodes") == Some(1))
    }

    /// `clusterManagerNodeLoadInfo`: my own line of CLUSTER NODES, and the
    /// others as friends when `friends` is set.
    fn load_info(&mut self, node: &mut Node, friends: bool) -> Res<Vec<Node>> {
        let reply = self.s.call(node.addr, &["CLUSTER", "NODES"])?;
        if let Value::Error(e) = &reply {
            self.reply_error(node, e);
            return Err(Failed);
        }
        let text = text_of(&reply);
        let mut others = Vec::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.len() < 8 {
                continue;
            }
            let myself = fields[2].split(',').any(|f| f == "myself");
            let mut current = if myself {
                node.slots = vec![false; SLOTS];
                node.slots_count = 0;
                node.migrating.clear();
                node.importing.clear();
                for def in &fields[8..] {
                    parse_slot_def(node, def);
                }
                node.dirty = false;
                std::mem::replace(node, Node::new(node.addr))
            } else if !friends {
                continue;
            } else {
                match parse_addr(fields[1]) {
                    Some(a) => Node::new(a),
                    None => {
                        self.s.print("Error: invalid CLUSTER NODES reply");
                        return Err(Failed);
                    }
                }
            };
            current.name = fields[0].to_owned();
            current.flags = fields[2].split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect();
            for f in &current.flags {
                match f.as_str() {
                    "noaddr" | "disconnected" | "fail" => current.excluded = true,
                    "slave" => {
                        current.slave = true;
                        current.replicate = Some(fields[3].to_owned()).filter(|m| m != "-");
                    }
                    _ => {}
                }
            }
            if myself {
                *node = current;
                if !friends {
                    break;
                }
            } else {
                others.push(current);
            }
        }
        Ok(others)
    }

    /// `clusterManagerLoadInfoFromNode`: the cluster as `addr` sees it, every
    /// reachable, healthy friend loaded from its own view.
    fn load_from(&mut self, addr: SocketAddrV4) -> Res<()> {
        let mut node = Node::new(addr);
        self.s.connect(addr)?;
        if !self.is_cluster(&node)? {
            self.s.print(format!("[ERR] Node {} is not configured as a cluster node.", node.endpoint()));
            return Err(Failed);
        }
        let friends = self.load_info(&mut node, true)?;
        self.nodes = vec![node];
        for mut f in friends {
            if f.excluded || self.s.connect(f.addr).is_err() {
                continue;
            }
            let (slave, replicate, excluded) = (f.slave, f.replicate.clone(), f.excluded);
            match self.load_info(&mut f, false) {
                Ok(_) => {
                    // Flags seen by the entry node stay (redis-cli ORs them in).
                    f.slave |= slave;
                    f.excluded |= excluded;
                    if f.replicate.is_none() {
                        f.replicate = replicate;
                    }
                    if !f.excluded {
                        self.nodes.push(f);
                    }
                }
                Err(Failed) => self.s.print(format!("[ERR] Unable to load info for node {}", f.endpoint())),
            }
        }
        for i in 0..self.nodes.len() {
            let Some(master) = self.nodes[i].replicate.clone() else { continue };
            match self.nodes.iter().position(|n| n.name == master) {
                Some(m) => self.nodes[m].replicas_count += 1,
                None => {
                    let n = &self.nodes[i];
                    let line =
                        format!("*** WARNING: {}:{} claims to be slave of unknown node ID {master}.", n.ip, n.port);
                    self.s.print(line);
                }
            }
        }
        Ok(())
    }

    fn slots_string(node: &Node) -> String {
        let mut out = String::new();
        let mut s = 0;
        while s < SLOTS {
            if !node.slots[s] {
                s += 1;
                continue;
            }
            let start = s;
            while s + 1 < SLOTS && node.slots[s + 1] {
                s += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if start == s {
                out.push_str(&format!("[{start}]"));
            } else {
                out.push_str(&format!("[{start}-{s}]"));
            }
            s += 1;
        }
        out
    }

    /// `clusterManagerNodeInfo`.
    fn node_info(node: &Node, indent: usize) -> String {
        let sp = " ".repeat(indent);
        let mut info = sp.clone();
        if node.dirty && node.replicate.is_some() {
            info += &format!("S: {} {}", node.name, node.endpoint());
        } else {
            let role = if node.slave { "S" } else { "M" };
            let flags: Vec<&str> = node.flags.iter().map(String::as_str).filter(|f| *f != "myself").collect();
            info += &format!(
                "{role}: {} {}\n{sp}   slots:{} ({} slots) {}",
                node.name,
                node.endpoint(),
                Self::slots_string(node),
                node.slots_count,
                flags.join(",")
            );
        }
        if let Some(m) = &node.replicate {
            info += &format!("\n{sp}   replicates {m}");
        } else if node.replicas_count > 0 {
            info += &format!("\n{sp}   {} additional replica(s)", node.replicas_count);
        }
        info
    }

    fn show_nodes(&mut self) {
        for i in 0..self.nodes.len() {
            let info = Self::node_info(&self.nodes[i], 0);
            for line in info.split('\n') {
                self.s.print(line);
            }
        }
    }

    fn show_cluster_info(&mut self) -> Res<()> {
        let (mut masters, mut keys) = (0, 0i64);
        for i in 0..self.nodes.len() {
            if self.nodes[i].slave || self.nodes[i].name.is_empty() {
                continue;
            }
            let name = self.nodes[i].name.clone();
            let replicas = self.nodes.iter().filter(|n| n.slave && n.replicate.as_deref() == Some(&name)).count();
            let dbsize = match self.s.call(self.nodes[i].addr, &["DBSIZE"])? {
                Value::Integer(n) => n,
                other => {
                    let node = self.nodes[i].clone();
                    self.reply_error(&node, &text_of(&other));
                    return Err(Failed);
                }
            };
            let n = &self.nodes[i];
            let line = format!(
                "{} ({}...) -> {dbsize} keys | {} slots | {replicas} slaves.",
                n.endpoint(),
                &n.name[..n.name.len().min(8)],
                n.slots_count
            );
            self.s.print(line);
            masters += 1;
            keys += dbsize;
        }
        self.s.print(format!("[OK] {keys} keys in {masters} masters."));
        self.s.print(format!("{:.2} keys per slot on average.", keys as f32 / SLOTS as f32));
        Ok(())
    }

    /// `clusterManagerGetConfigSignature`: each slot-owning node's id and its
    /// slot ranges, sorted, as one node's CLUSTER NODES says.
    fn signature(&mut self, i: usize) -> Option<String> {
        let reply = self.s.call(self.nodes[i].addr, &["CLUSTER", "NODES"]).ok()?;
        if matches!(reply, Value::Error(_)) {
            return None;
        }
        let mut configs: Vec<String> = text_of(&reply)
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let mut slots: Vec<&str> =
                    fields.get(8..)?.iter().copied().filter(|s| !s.is_empty() && !s.starts_with('[')).collect();
                if slots.is_empty() {
                    return None;
                }
                slots.sort_unstable();
                Some(format!("{}:{}", fields[0], slots.join(",")))
            })
            .collect();
        if configs.is_empty() {
            return None;
        }
        configs.sort_unstable();
        Some(configs.join("|"))
    }

    fn consistent(&mut self) -> bool {
        if self.nodes.len() <= 1 {
            return true;
        }
        let mut first = None;
        for i in 0..self.nodes.len() {
            let Some(sig) = self.signature(i) else { return false };
            match &first {
                None => first = Some(sig),
                Some(f) if *f != sig => return false,
                Some(_) => {}
            }
        }
        true
    }

    fn wait_for_join(&mut self) -> Res<()> {
        self.s.print("Waiting for the cluster to join");
        while !self.consistent() {
            self.s.print_partial(".");
            self.s.sleep(Duration::from_secs(1))?;
        }
        self.s.newline();
        Ok(())
    }

    fn on_error(&mut self, err: String) {
        for line in err.trim_end_matches('\n').split('\n') {
            self.s.print(line);
        }
        self.errors.push(err);
    }

    /// `clusterManagerCheckCluster`.
    fn check(&mut self, quiet: bool) -> Res<bool> {
        let Some(first) = self.nodes.first().map(Node::endpoint) else { return Ok(false) };
        let mut ok = true;
        self.s.print(format!(">>> Performing Cluster Check (using node {first})"));
        if !quiet {
            self.show_nodes();
        }
        if self.consistent() {
            self.s.print("[OK] All nodes agree about slots configuration.");
        } else {
            self.on_error("[ERR] Nodes don't agree about configuration!".to_owned());
            ok = false;
        }
        self.s.print(">>> Check for open slots...");
        let mut open: Vec<usize> = Vec::new();
        for i in 0..self.nodes.len() {
            for (kind, list) in
                [("migrating", self.nodes[i].migrating.clone()), ("importing", self.nodes[i].importing.clone())]
            {
                if list.is_empty() {
                    continue;
                }
                let slots: Vec<&str> = list.iter().map(|(s, _)| s.as_str()).collect();
                for s in &slots {
                    if let Ok(n) = s.parse::<usize>()
                        && !open.contains(&n)
                    {
                        open.push(n);
                    }
                }
                let err = format!(
                    "[WARNING] Node {} has slots in {kind} state {}.",
                    self.nodes[i].endpoint(),
                    slots.join(",")
                );
                self.on_error(err);
            }
        }
        if !open.is_empty() {
            ok = false;
            let list: Vec<String> = open.iter().map(usize::to_string).collect();
            self.s.print(format!("[WARNING] The following slots are open: {}.", list.join(",")));
            if self.fix {
                for slot in open {
                    ok = self.fix_open_slot(slot)?;
                    if !ok {
                        break;
                    }
                }
            }
        }
        self.s.print(">>> Check slots coverage...");
        let covered: Vec<bool> = (0..SLOTS).map(|s| self.nodes.iter().any(|n| n.slots[s])).collect();
        if covered.iter().all(|&c| c) {
            self.s.print(format!("[OK] All {SLOTS} slots covered."));
        } else {
            self.on_error(format!("[ERR] Not all {SLOTS} slots are covered by nodes.\n"));
            ok = false;
            if self.fix && self.fix_coverage(&covered)? > 0 {
                ok = true;
            }
        }
        Ok(ok)
    }

    fn by_name(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    fn create(&mut self, addrs: &[SocketAddrV4]) -> Res<bool> {
        for &a in addrs {
            let mut node = Node::new(a);
            self.s.connect(a)?;
            if !self.is_cluster(&node)? {
                self.s.print(format!("[ERR] Node {} is not configured as a cluster node.", node.endpoint()));
                return Ok(false);
            }
            self.load_info(&mut node, false)?;
            if !self.is_empty(&node)? {
                self.s.print(format!(
                    "[ERR] Node {} is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.",
                    node.endpoint()
                ));
                return Ok(false);
            }
            self.nodes.push(node);
        }
        let replicas = self.opts.replicas;
        let ips: Vec<String> = self.nodes.iter().map(|n| n.ip.clone()).collect();
        let ip_refs: Vec<&str> = ips.iter().map(String::as_str).collect();
        let Some(layout) = plan::create_layout(&ip_refs, replicas) else {
            self.s.print("*** ERROR: Invalid configuration for cluster creation.");
            self.s.print("*** Redis Cluster requires at least 3 master nodes.");
            self.s.print(format!(
                "*** This is not possible with {} nodes and {replicas} replicas per node.",
                self.nodes.len()
            ));
            self.s.print(format!("*** At least {} nodes are required.", 3 * (replicas + 1)));
            return Ok(false);
        };
        self.s.print(format!(">>> Performing hash slots allocation on {} nodes...", self.nodes.len()));
        for (i, (&m, &(first, last))) in layout.masters.iter().zip(&layout.ranges).enumerate() {
            self.s.print(format!("Master[{i}] -> Slots {first} - {last}"));
            let node = &mut self.nodes[m];
            (first..=last).for_each(|s| node.slots[s] = true);
            node.slots_count = last - first + 1;
            node.dirty = true;
        }
        let mut replicate: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for (k, &(r, m)) in layout.pairs.iter().enumerate() {
            if layout.extra == Some(k) {
                self.s.print("Adding extra replicas...");
            }
            replicate[r] = Some(m);
            let line = format!("Adding replica {} to {}", self.nodes[r].endpoint(), self.nodes[m].endpoint());
            self.s.print(line);
        }
        let (score, _) = plan::anti_affinity(&ip_refs, &replicate);
        if score > 0 {
            self.s.print(">>> Trying to optimize slaves allocation for anti-affinity");
        }
        let message = {
            let s = &mut self.s;
            plan::optimize_anti_affinity(&ip_refs, &mut replicate, || s.rand())
        };
        if let Some(msg) = message {
            self.s.print(msg);
        }
        for (i, m) in replicate.iter().enumerate() {
            if let Some(m) = m {
                let name = self.nodes[*m].name.clone();
                self.nodes[i].replicate = Some(name);
                self.nodes[i].dirty = true;
            }
        }
        self.show_nodes();
        self.confirm("Can I set the above configuration?");
        for i in 0..self.nodes.len() {
            let (flushed, err) = self.flush_config(i)?;
            if !flushed && self.nodes[i].dirty && self.nodes[i].replicate.is_none() {
                if let Some(e) = err {
                    let node = self.nodes[i].clone();
                    self.reply_error(&node, &e);
                }
                return Ok(false);
            }
        }
        self.s.print(">>> Nodes configuration updated");
        self.s.print(">>> Assign a different config epoch to each node");
        for i in 0..self.nodes.len() {
            let epoch = (i + 1).to_string();
            self.s.call(self.nodes[i].addr, &["cluster", "set-config-epoch", &epoch])?;
        }
        self.s.print(">>> Sending CLUSTER MEET messages to join the cluster");
        let (first_ip, first_port) = (self.nodes[0].ip.clone(), self.nodes[0].port.to_string());
        for i in 1..self.nodes.len() {
            self.command(i, &["cluster", "meet", &first_ip, &first_port])?;
        }
        // "Give one second for the join to start."
        self.s.sleep(Duration::from_secs(1))?;
        self.wait_for_join()?;
        for i in 0..self.nodes.len() {
            if !self.nodes[i].dirty {
                continue;
            }
            let (flushed, err) = self.flush_config(i)?;
            if !flushed && self.nodes[i].replicate.is_none() {
                if let Some(e) = err {
                    let node = self.nodes[i].clone();
                    self.reply_error(&node, &e);
                }
                return Ok(false);
            }
        }
        let first = self.nodes[0].addr;
        self.nodes.clear();
        self.load_from(first)?;
        self.check(false)?;
        Ok(true)
    }

    fn confirm(&mut self, question: &str) {
        if !self.opts.yes {
            self.s.print(format!("{question} (type 'yes' to accept): yes"));
        }
    }

    /// `clusterManagerFlushNodeConfig`: REPLICATE for replicas, ADDSLOTS for
    /// masters; a replica whose master is not known yet stays dirty.
    fn flush_config(&mut self, i: usize) -> Res<(bool, Option<String>)> {
        if !self.nodes[i].dirty {
            return Ok((false, None));
        }
        let addr = self.nodes[i].addr;
        if let Some(master) = self.nodes[i].replicate.clone() {
            let r = self.s.call(addr, &["CLUSTER", "REPLICATE", &master])?;
            if let Value::Error(e) = r {
                return Ok((false, Some(e)));
            }
        } else {
            let mut args = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
            args.extend(self.nodes[i].owned_slots().iter().map(usize::to_string));
            if let Value::Error(e) = self.s.call(addr, &args)? {
                return Ok((false, Some(e)));
            }
        }
        self.nodes[i].dirty = false;
        Ok((true, None))
    }

    fn add_node(&mut self, new: SocketAddrV4, existing: SocketAddrV4) -> Res<bool> {
        let new_ep = format!("{}:{}", new.ip(), new.port());
        self.s.print(format!(">>> Adding node {new_ep} to cluster {}:{}", existing.ip(), existing.port()));
        self.load_from(existing)?;
        if !self.check(false)? {
            return Ok(false);
        }
        let mut master = None;
        if self.opts.slave {
            match self.opts.master_id.clone() {
                Some(id) => match self.by_name(&id) {
                    Some(m) => master = Some(m),
                    None => {
                        self.s.print(format!("[ERR] No such master ID {id}"));
                        return Ok(false);
                    }
                },
                None => {
                    let m = self.least_replicas();
                    let line = format!("Automatically selected master {}", self.nodes[m].endpoint());
                    self.s.print(line);
                    master = Some(m);
                }
            }
        }
        let mut node = Node::new(new);
        if self.s.connect(new).is_err() {
            self.s.print(format!("[ERR] Sorry, can't connect to node {new_ep}"));
            return Ok(false);
        }
        if !self.is_cluster(&node)? {
            self.s.print(format!("[ERR] Node {new_ep} is not configured as a cluster node."));
            return Ok(false);
        }
        self.load_info(&mut node, false)?;
        if !self.is_empty(&node)? {
            self.s.print(format!(
                "[ERR] Node {new_ep} is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
            ));
            return Ok(false);
        }
        if master.is_none() {
            // redis-cli 7.0 copies functions to a new master with FUNCTION DUMP/RESTORE;
            // the simulated node has no functions, so only the report lines remain.
            self.s.print(">>> Getting functions from cluster");
            self.s.print(format!(">>> Send FUNCTION LIST to {new_ep} to verify there is no functions in it"));
            self.s.print(format!(">>> Send FUNCTION RESTORE to {new_ep}"));
        }
        let (first_ip, first_port) = (self.nodes[0].ip.clone(), self.nodes[0].port.to_string());
        self.nodes.push(node);
        let idx = self.nodes.len() - 1;
        self.s.print(format!(">>> Send CLUSTER MEET to node {new_ep} to make it join the cluster."));
        self.command(idx, &["CLUSTER", "MEET", &first_ip, &first_port])?;
        if let Some(m) = master {
            self.s.sleep(Duration::from_secs(1))?;
            self.wait_for_join()?;
            let line = format!(">>> Configure node as replica of {}.", self.nodes[m].endpoint());
            self.s.print(line);
            let name = self.nodes[m].name.clone();
            self.command(idx, &["CLUSTER", "REPLICATE", &name])?;
        }
        self.s.print("[OK] New node added correctly.");
        Ok(true)
    }

    fn least_replicas(&self) -> usize {
        let mut best: Option<usize> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.slave {
                continue;
            }
            if best.is_none_or(|b| n.replicas_count < self.nodes[b].replicas_count) {
                best = Some(i);
            }
        }
        best.unwrap_or(0)
    }

    fn del_node(&mut self, addr: SocketAddrV4, id: &str) -> Res<bool> {
        self.s.print(format!(">>> Removing node {id} from cluster {}:{}", addr.ip(), addr.port()));
        self.load_from(addr)?;
        let Some(node) = self.by_name(id) else {
            self.s.print(format!("[ERR] No such node ID {id}"));
            return Ok(false);
        };
        if self.nodes[node].slots_count != 0 {
            let line =
                format!("[ERR] Node {} is not empty! Reshard data away and try again.", self.nodes[node].endpoint());
            self.s.print(line);
            return Ok(false);
        }
        self.s.print(">>> Sending CLUSTER FORGET messages to the cluster...");
        for i in 0..self.nodes.len() {
            if i == node {
                continue;
            }
            if self.nodes[i].replicate.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(id)) {
                let m = self.least_replicas();
                let line = format!(">>> {} as replica of {}", self.nodes[i].endpoint(), self.nodes[m].endpoint());
                self.s.print(line);
                let name = self.nodes[m].name.clone();
                self.command(i, &["CLUSTER", "REPLICATE", &name])?;
            }
            self.command(i, &["CLUSTER", "FORGET", id])?;
        }
        self.s.print(">>> Sending CLUSTER RESET SOFT to the deleted node.");
        self.command(node, &["CLUSTER", "RESET", "SOFT"])?;
        Ok(true)
    }

    fn resharding_node(&mut self, id: &str, target: Option<usize>) -> Result<Option<usize>, Failed> {
        match self.by_name(id) {
            Some(n) if !self.nodes[n].slave => {
                if target.is_some_and(|t| self.nodes[t].name == self.nodes[n].name) {
                    self.s.print("*** It is not possible to use the target node as source node.");
                    return Ok(None);
                }
                Ok(Some(n))
            }
            _ => {
                self.s.print(format!("*** The specified node ({id}) is not known or not a master, please retry."));
                Err(Failed)
            }
        }
    }

    fn reshard(&mut self, addr: SocketAddrV4) -> Res<bool> {
        self.load_from(addr)?;
        self.check(false)?;
        if !self.errors.is_empty() {
            self.s.print("*** Please fix your cluster problems before resharding");
            return Ok(false);
        }
        let slots = self.opts.slots;
        if slots == 0 || slots > SLOTS {
            self.s.print(format!("How many slots do you want to move (from 1 to {SLOTS})? "));
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-slots");
            return Ok(false);
        }
        let Some(to) = self.opts.to.clone() else {
            self.s.print("What is the receiving node ID? ");
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-to");
            return Ok(false);
        };
        let Some(target) = self.resharding_node(&to, None)? else { return Ok(false) };
        let Some(from) = self.opts.from.clone() else {
            self.s.print("Please enter all the source node IDs.");
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-from");
            return Ok(false);
        };
        let mut sources = Vec::new();
        let mut all = false;
        for part in from.split(',').filter(|p| !p.is_empty()) {
            if part == "all" {
                all = true;
                break;
            }
            if let Some(src) = self.resharding_node(part, Some(target))? {
                sources.push(src);
            }
        }
        if all {
            let target_name = self.nodes[target].name.clone();
            sources = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_master() && self.nodes[i].name != target_name)
                .collect();
        }
        if sources.is_empty() {
            self.s.print("*** No source nodes given, operation aborted.");
            return Ok(false);
        }
        self.s.print("");
        self.s.print(format!("Ready to move {slots} slots."));
        self.s.print("  Source nodes:");
        for &src in &sources {
            for line in Self::node_info(&self.nodes[src], 4).split('\n') {
                self.s.print(line.to_owned());
            }
        }
        self.s.print("  Destination node:");
        for line in Self::node_info(&self.nodes[target], 4).split('\n') {
            self.s.print(line.to_owned());
        }
        let table_input: Vec<(usize, Vec<usize>)> = sources.iter().map(|&i| (i, self.nodes[i].owned_slots())).collect();
        let table = plan::reshard_table(&table_input, slots);
        self.s.print("  Resharding plan:");
        for &(src, slot) in &table {
            let line = format!("    Moving slot {slot} from {}", self.nodes[src].name);
            self.s.print(line);
        }
        self.confirm_reshard();
        for (src, slot) in table {
            if !self.move_slot(src, target, slot, MoveOpts { verbose: true, ..MoveOpts::default() })? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn confirm_reshard(&mut self) {
        if !self.opts.yes {
            self.s.print("Do you want to proceed with the proposed reshard plan (yes/no)? yes");
        }
    }

    fn rebalance(&mut self, addr: SocketAddrV4) -> Res<bool> {
        self.load_from(addr)?;
        for (name, w) in self.opts.weights.clone() {
            let lower = name.to_ascii_lowercase();
            match self.nodes.iter().position(|n| n.name.starts_with(&lower)) {
                Some(i) => self.nodes[i].weight = w,
                None => {
                    self.s.print(format!("*** No such master node {name}"));
                    return Ok(false);
                }
            }
        }
        let mut involved = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if !n.is_master() {
                continue;
            }
            if !self.opts.use_empty_masters && n.slots_count == 0 {
                n.weight = 0.0;
                continue;
            }
            involved.push(plan::Weighted { node: i, slots: n.slots_count, weight: n.weight });
        }
        self.check(true)?;
        if !self.errors.is_empty() {
            self.s.print("*** Please fix your cluster problems before rebalancing");
            return Ok(false);
        }
        let threshold = self.opts.threshold.unwrap_or(REBALANCE_THRESHOLD);
        let Some(moves) = plan::rebalance_plan(&involved, threshold) else {
            self.s.print(format!("*** No rebalancing needed! All nodes are within the {threshold:.2}% threshold."));
            return Ok(true);
        };
        let total: f32 = involved.iter().map(|w| w.weight).sum();
        self.s.print(format!(">>> Rebalancing across {} nodes. Total weight = {total:.2}", involved.len()));
        for (src, dst, count) in moves {
            let line =
                format!("Moving {count} slots from {} to {}", self.nodes[src].endpoint(), self.nodes[dst].endpoint());
            self.s.print(line);
            let table = plan::reshard_table(&[(src, self.nodes[src].owned_slots())], count);
            if table.len() != count {
                self.s.print("*** Assertion failed: Reshard table != number of slots");
                return Ok(false);
            }
            if self.opts.simulate {
                self.s.print_partial(&"#".repeat(count));
            } else {
                for (s, slot) in table {
                    let opts = MoveOpts { quiet: true, update: true, ..MoveOpts::default() };
                    if !self.move_slot(s, dst, slot, opts)? {
                        return Ok(false);
                    }
                    self.s.print_partial("#");
                }
            }
            self.s.newline();
        }
        Ok(true)
    }

    /// `clusterManagerMoveSlot`.
    fn move_slot(&mut self, src: usize, dst: usize, slot: usize, o: MoveOpts) -> Res<bool> {
        if !o.quiet {
            let line =
                format!("Moving slot {slot} from {} to {}: ", self.nodes[src].endpoint(), self.nodes[dst].endpoint());
            self.s.print_partial(&line);
        }
        let slot_s = slot.to_string();
        if !o.cold {
            let (src_name, dst_name) = (self.nodes[src].name.clone(), self.nodes[dst].name.clone());
            if self.command(dst, &["CLUSTER", "SETSLOT", &slot_s, "importing", &src_name]).is_err()
                || self.command(src, &["CLUSTER", "SETSLOT", &slot_s, "migrating", &dst_name]).is_err()
            {
                return Ok(false);
            }
        }
        let moved = self.migrate_keys_in_slot(src, dst, slot, o.verbose)?;
        if !o.quiet {
            self.s.newline();
        }
        if !moved {
            return Ok(false);
        }
        if !o.cold {
            // The target first, then the source (which may have just become a replica
            // of the target when it gave away its last slot), then every other master.
            let dst_name = self.nodes[dst].name.clone();
            let mut order = vec![dst, src];
            order.extend((0..self.nodes.len()).filter(|&i| i != dst && i != src && !self.nodes[i].slave));
            for i in order {
                let v = self.s.call(self.nodes[i].addr, &["CLUSTER", "SETSLOT", &slot_s, "node", &dst_name])?;
                if let Value::Error(e) = v {
                    if i == src && e == "ERR Please use SETSLOT only with masters." {
                        continue;
                    }
                    let node = self.nodes[i].clone();
                    self.reply_error(&node, &e);
                    return Ok(false);
                }
            }
        }
        if o.update {
            self.nodes[src].slots[slot] = false;
            self.nodes[src].slots_count -= 1;
            self.nodes[dst].slots[slot] = true;
            self.nodes[dst].slots_count += 1;
        }
        Ok(true)
    }

    /// `clusterManagerMigrateKeysInSlot`: GETKEYSINSLOT then MIGRATE, `pipeline` keys at a time.
    fn migrate_keys_in_slot(&mut self, src: usize, dst: usize, slot: usize, verbose: bool) -> Res<bool> {
        let pipeline = self.opts.pipeline.unwrap_or(MIGRATE_PIPELINE).to_string();
        let timeout = self.opts.timeout_ms.unwrap_or(MIGRATE_TIMEOUT_MS).to_string();
        let replace_existing = self.fix || self.opts.replace;
        let slot_s = slot.to_string();
        loop {
            let keys = match self.s.call(self.nodes[src].addr, &["CLUSTER", "GETKEYSINSLOT", &slot_s, &pipeline])? {
                Value::Array(keys) => keys,
                other => {
                    let node = self.nodes[src].clone();
                    self.reply_error(&node, &text_of(&other));
                    return Ok(false);
                }
            };
            if keys.is_empty() {
                return Ok(true);
            }
            let keys: Vec<Vec<u8>> =
                keys.into_iter().filter_map(|k| if let Value::Bulk(b) = k { Some(b) } else { None }).collect();
            let mut reply = self.migrate(src, dst, &keys, false, &timeout)?;
            if let Value::Error(e) = &reply {
                let busy = e.contains("BUSYKEY");
                let not_served = e.contains("slot not served");
                if replace_existing && (busy || not_served) {
                    if not_served {
                        let dst_name = self.nodes[dst].name.clone();
                        let _ =
                            self.s.call(self.nodes[src].addr, &["CLUSTER", "SETSLOT", &slot_s, "node", &dst_name])?;
                    }
                    self.s.print("*** Target key exists. Replacing it for FIX.");
                    reply = self.migrate(src, dst, &keys, busy, &timeout)?;
                }
            }
            if let Value::Error(e) = reply {
                self.s.newline();
                let node = self.nodes[src].clone();
                self.reply_error(&node, &e);
                return Ok(false);
            }
            if verbose {
                self.s.print_partial(&".".repeat(keys.len()));
            }
        }
    }

    fn migrate(&mut self, src: usize, dst: usize, keys: &[Vec<u8>], replace: bool, timeout: &str) -> Res<Value> {
        let mut args: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            self.nodes[dst].ip.clone().into_bytes(),
            self.nodes[dst].port.to_string().into_bytes(),
            Vec::new(),
            b"0".to_vec(),
            timeout.as_bytes().to_vec(),
        ];
        if replace {
            args.push(b"REPLACE".to_vec());
        }
        if let Some(p) = &self.s.password {
            args.push(b"AUTH".to_vec());
            args.push(p.clone().into_bytes());
        }
        args.push(b"KEYS".to_vec());
        args.extend(keys.iter().cloned());
        let addr = self.nodes[src].addr;
        self.s.call(addr, &args)
    }

    fn count_keys(&mut self, i: usize, slot: &str) -> Res<i64> {
        match self.command(i, &["CLUSTER", "COUNTKEYSINSLOT", slot])? {
            Value::Integer(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// `clusterManagerFixOpenSlot`, for the cases redis-cli 7.0 knows how to fix.
    fn fix_open_slot(&mut self, slot: usize) -> Res<bool> {
        let slot_s = slot.to_string();
        self.s.print(format!(">>> Fixing open slot {slot}"));
        let masters: Vec<usize> = (0..self.nodes.len()).filter(|&i| !self.nodes[i].slave).collect();
        let mut owners = Vec::new();
        for &i in &masters {
            if self.nodes[i].slots[slot] {
                owners.push(i);
            } else if self.count_keys(i, &slot_s)? > 0 {
                let line = format!("*** Found keys about slot {slot} in non-owner node {}!", self.nodes[i].endpoint());
                self.s.print(line);
                owners.push(i);
            }
        }
        let mut owner = (owners.len() == 1).then(|| owners[0]);
        let (mut migrating, mut importing) = (Vec::new(), Vec::new());
        for &i in &masters {
            let is_mig = self.nodes[i].migrating.iter().any(|(s, _)| *s == slot_s);
            let is_imp = self.nodes[i].importing.iter().any(|(s, _)| *s == slot_s);
            if is_mig {
                migrating.push(i);
            } else if is_imp {
                importing.push(i);
            } else if Some(i) != owner && self.count_keys(i, &slot_s)? > 0 {
                let line = format!("*** Found keys about slot {slot} in node {}!", self.nodes[i].endpoint());
                self.s.print(line);
                importing.push(i);
            }
        }
        let list =
            |m: &Manager<'_>, v: &[usize]| v.iter().map(|&i| m.nodes[i].endpoint()).collect::<Vec<_>>().join(",");
        if !migrating.is_empty() {
            let line = format!("Set as migrating in: {}", list(self, &migrating));
            self.s.print(line);
        }
        if !importing.is_empty() {
            let line = format!("Set as importing in: {}", list(self, &importing));
            self.s.print(line);
        }
        if owner.is_none() && owners.len() > 1 {
            self.s.print(format!(
                "[ERR] Slot {slot} has {} owners: chaoslab's redis-cli does not fix that",
                owners.len()
            ));
            return Ok(false);
        }
        if owner.is_none() {
            self.s.print(">>> No single clear owner for the slot, selecting an owner by # of keys...");
            let mut best: Option<(usize, i64)> = None;
            for &i in &masters {
                let n = self.count_keys(i, &slot_s)?;
                if best.is_none_or(|(_, b)| n > b) {
                    best = Some((i, n));
                }
            }
            let Some((o, _)) = best else {
                self.s.print("[ERR] Can't select a slot owner. Impossible to fix.");
                return Ok(false);
            };
            let line = format!("*** Configuring {} as the slot owner", self.nodes[o].endpoint());
            self.s.print(line);
            let _ = self.s.call(self.nodes[o].addr, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            let _ = self.s.call(self.nodes[o].addr, &["CLUSTER", "DELSLOTS", &slot_s])?;
            self.command(o, &["CLUSTER", "ADDSLOTS", &slot_s])?;
            self.command(o, &["CLUSTER", "BUMPEPOCH"])?;
            self.nodes[o].slots[slot] = true;
            migrating.retain(|&i| i != o);
            importing.retain(|&i| i != o);
            owner = Some(o);
        }
        let owner = owner.expect("an owner was chosen above");
        if migrating.len() == 1 && importing.len() == 1 {
            let (src, dst) = (migrating[0], importing[0]);
            let line = format!(
                ">>> Case 1: Moving slot {slot} from {} to {}",
                self.nodes[src].endpoint(),
                self.nodes[dst].endpoint()
            );
            self.s.print(line);
            return self.move_slot(src, dst, slot, MoveOpts { verbose: true, ..MoveOpts::default() });
        }
        if migrating.is_empty() && !importing.is_empty() {
            let line =
                format!(">>> Case 2: Moving all the {slot} slot keys to its owner {}", self.nodes[owner].endpoint());
            self.s.print(line);
            for &i in &importing {
                if i == owner {
                    continue;
                }
                if !self.move_slot(i, owner, slot, MoveOpts { verbose: true, cold: true, ..MoveOpts::default() })? {
                    return Ok(false);
                }
                let line = format!(">>> Setting {slot} as STABLE in {}", self.nodes[i].endpoint());
                self.s.print(line);
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            }
            let owner_name = self.nodes[owner].name.clone();
            for i in 0..self.nodes.len() {
                if i == owner || self.nodes[i].slave {
                    continue;
                }
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &owner_name])?;
            }
            return Ok(true);
        }
        if migrating.len() == 1 && importing.len() > 1 {
            let (src, dst) = (migrating[0], importing[0]);
            let line = format!(
                ">>> Case 3: Moving slot {slot} from {} to {} and closing it on all the other importing nodes.",
                self.nodes[src].endpoint(),
                self.nodes[dst].endpoint()
            );
            self.s.print(line);
            if !self.move_slot(src, dst, slot, MoveOpts { verbose: true, ..MoveOpts::default() })? {
                return Ok(false);
            }
            for &i in &importing[1..] {
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            }
            return Ok(true);
        }
        let mut close = importing.is_empty() && migrating.len() == 1;
        if close && migrating[0] != owner {
            let keys = self.command(migrating[0], &["CLUSTER", "GETKEYSINSLOT", &slot_s, "10"])?;
            close = matches!(keys, Value::Array(k) if k.is_empty());
        }
        if close {
            let n = migrating[0];
            let line = format!(">>> Case 4: Closing slot {slot} on {}", self.nodes[n].endpoint());
            self.s.print(line);
            self.command(n, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            return Ok(true);
        }
        let line = format!(
            "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in {}, as importing in {}, owner is {}",
            list(self, &migrating),
            list(self, &importing),
            self.nodes[owner].endpoint()
        );
        self.s.print(line);
        Ok(false)
    }

    /// `clusterManagerFixSlotsCoverage` for slots that no node or exactly one node has keys for.
    fn fix_coverage(&mut self, covered: &[bool]) -> Res<usize> {
        self.s.print(">>> Fixing slots coverage...");
        let uncovered: Vec<usize> = (0..SLOTS).filter(|&s| !covered[s]).collect();
        self.s.print("List of not covered slots: ");
        let list: Vec<String> = uncovered.iter().map(usize::to_string).collect();
        self.s.print(list.join(","));
        let masters: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_master()).collect();
        let (mut none, mut single, mut multi) = (Vec::new(), Vec::new(), 0);
        let mut log = Vec::new();
        for &slot in &uncovered {
            let slot_s = slot.to_string();
            let mut holders = Vec::new();
            for &i in &masters {
                if let Value::Array(k) = self.command(i, &["CLUSTER", "GETKEYSINSLOT", &slot_s, "1"])?
                    && !k.is_empty()
                {
                    holders.push(i);
                }
            }
            let names: Vec<String> = holders.iter().map(|&i| self.nodes[i].endpoint()).collect();
            log.push(format!("Slot {slot} has keys in {} nodes: {}", holders.len(), names.join(", ")));
            match holders.len() {
                0 => none.push(slot),
                1 => single.push((slot, holders[0])),
                _ => multi += 1,
            }
        }
        self.s.print("");
        for l in log {
            self.s.print(l);
        }
        let mut fixed = 0;
        let mut cover = |m: &mut Manager<'_>, slot: usize, n: usize| -> Res<()> {
            let slot_s = slot.to_string();
            let line = format!(">>> Covering slot {slot} with {}", m.nodes[n].endpoint());
            m.s.print(line);
            let _ = m.s.call(m.nodes[n].addr, &["CLUSTER", "DELSLOTS", &slot_s])?;
            m.command(n, &["CLUSTER", "ADDSLOTS", &slot_s])?;
            m.command(n, &["CLUSTER", "BUMPEPOCH"])?;
            m.nodes[n].slots[slot] = true;
            fixed += 1;
            Ok(())
        };
        if !none.is_empty() {
            self.s.print("The following uncovered slots have no keys across the cluster:");
            let l: Vec<String> = none.iter().map(usize::to_string).collect();
            self.s.print(l.join(", "));
            self.confirm("Fix these slots by covering with a random node?");
            for slot in none {
                let n = masters[self.s.rand() as usize % masters.len().max(1)];
                cover(self, slot, n)?;
            }
        }
        if !single.is_empty() {
            self.s.print("The following uncovered slots  have keys in just one node:");
            let l: Vec<String> = single.iter().map(|(s, _)| s.to_string()).collect();
            self.s.print(l.join(", "));
            self.confirm("Fix these slots by covering with those nodes?");
            for (slot, n) in single {
                cover(self, slot, n)?;
            }
        }
        if multi > 0 {
            self.s.print(format!(
                "[ERR] {multi} uncovered slots have keys in several nodes: chaoslab's redis-cli does not fix that"
            ));
        }
        Ok(fixed)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct MoveOpts {
    verbose: bool,
    cold: bool,
    update: bool,
    quiet: bool,
}

/// One `[slot]`, `[a-b]`, `[slot->-id]` or `[slot-<-id]` field of CLUSTER NODES.
fn parse_slot_def(node: &mut Node, def: &str) {
    if let Some(inner) = def.strip_prefix('[') {
        let inner = inner.trim_end_matches(']');
        if let Some((slot, dst)) = inner.split_once("->-") {
            node.migrating.push((slot.to_owned(), dst.to_owned()));
        } else if let Some((slot, src)) = inner.split_once("-<-") {
            node.importing.push((slot.to_owned(), src.to_owned()));
        }
        return;
    }
    let (a, b) = def.split_once('-').unwrap_or((def, def));
    if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
        for s in a..=b.min(SLOTS - 1) {
            if !node.slots[s] {
                node.slots[s] = true;
                node.slots_count += 1;
            }
        }
    }
}

/// How long a `redis-cli-cluster` step may run by default (create waits for the join).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// `- redis-cli-cluster: {command: "create 127.0.0.1:6381 ... --cluster-replicas 1", expect-lines: [...]}`.
pub(crate) struct ClusterStep {
    from: Option<NodeRef>,
    command: Template,
    auth: Option<Template>,
    expect_lines: Vec<Template>,
    expect_match: Option<regex::Regex>,
    expect_exit: u8,
    capture: Option<String>,
    timeout: Duration,
}

pub(crate) const STEP_KEYS: &[&str] =
    &["from", "command", "auth", "expect-lines", "expect-match", "expect-exit", "capture", "timeout"];

pub(crate) fn parse_step(value: &Yaml, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("redis-cli-cluster")?;
    let from = m.get("from").map(|f| cx.node_ref(f, "redis-cli-cluster.from")).transpose()?;
    let command_node = m.required("command")?;
    let command = cx.template(command_node, "redis-cli-cluster.command")?;
    if let Some(text) = command.literal() {
        parse_command(text).map_err(|e| {
            Diagnostic::new(command_node.span, e).with_hint(
                "what follows `redis-cli --cluster`: create|check|info|add-node|del-node|reshard|rebalance|fix <args> [--cluster-<opt> ...]",
            )
        })?;
    }
    let auth = m.get("auth").map(|a| cx.template(a, "redis-cli-cluster.auth")).transpose()?;
    let mut expect_lines = Vec::new();
    if let Some(lines) = m.get("expect-lines") {
        for l in lines.seq("redis-cli-cluster.expect-lines")? {
            expect_lines.push(cx.template(l, "redis-cli-cluster.expect-lines")?);
        }
    }
    let expect_match = match m.get("expect-match") {
        Some(n) => {
            let text = n.str("redis-cli-cluster.expect-match")?;
            Some(regex::Regex::new(&text).map_err(|e| {
                Diagnostic::new(n.span, "invalid regular expression").with_hint(e.to_string().replace('\n', " "))
            })?)
        }
        None => None,
    };
    let expect_exit = match m.get("expect-exit") {
        Some(n) => match n.u64("redis-cli-cluster.expect-exit")? {
            code @ 0..=1 => code as u8,
            other => {
                return Err(Diagnostic::new(n.span, format!("exit code {other} is not one redis-cli --cluster uses"))
                    .with_hint("0 (success) or 1 (failure)"));
            }
        },
        None => 0,
    };
    let capture = m.get("capture").map(|c| c.str("redis-cli-cluster.capture")).transpose()?;
    let timeout =
        m.get("timeout").map(|t| t.duration("redis-cli-cluster.timeout")).transpose()?.unwrap_or(DEFAULT_TIMEOUT);
    m.finish(STEP_KEYS)?;
    if let Some(var) = &capture {
        cx.declare_capture(var);
    }
    Ok(Box::new(ClusterStep { from, command, auth, expect_lines, expect_match, expect_exit, capture, timeout }))
}

impl Step for ClusterStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, String> {
        let text = rt.render(&self.command)?;
        let command = parse_command(&text)?;
        let host = match &self.from {
            Some(f) => rt.host(f)?,
            None => {
                // By default the tool runs on the host of the first address it names.
                let ip = command.args.first().and_then(|a| parse_addr(a)).map(|a| *a.ip());
                rt.sim
                    .hosts()
                    .find(|&h| Some(rt.sim.host_ip(h)) == ip)
                    .ok_or("no host has the first address's IP: say `from:`")?
            }
        };
        let password = self.auth.as_ref().map(|a| rt.render(a)).transpose()?;
        let name = format!("redis-cli-cluster#{}", rt.sim.procs().count());
        let tool = rt.sim.add_process(host, &name, Box::new(|| Box::new(ToolClient::default())));
        rt.sim.record("redis-cli-cluster", format!("{name}: --cluster {text}"));
        rt.apply(Fault::Start(tool))?;
        let started = rt.sim.now();
        let (lines, ok) = run(&mut RuntimeDriver(rt), tool, &command, password, self.timeout);
        // The process ends with the program: its connections close.
        if rt.sim.proc_state(tool) == sim::ProcState::Running {
            rt.apply(Fault::Kill(tool))?;
        }
        let output = lines.join("\n");
        rt.sim.record("reply", output.clone());
        if rt.sim.now() - started > self.timeout {
            return Err(format!("`--cluster {text}` took longer than {:?}", self.timeout));
        }
        let code = u8::from(!ok);
        if code != self.expect_exit {
            return Err(format!("`--cluster {text}` exited with {code}, expected {}:\n{output}", self.expect_exit));
        }
        for l in &self.expect_lines {
            let want = rt.render(l)?;
            if !lines.contains(&want) {
                return Err(format!("`--cluster {text}` printed no line {want:?}:\n{output}"));
            }
        }
        if let Some(re) = &self.expect_match
            && !re.is_match(&output)
        {
            return Err(format!("`--cluster {text}` output does not match /{re}/:\n{output}"));
        }
        if let Some(var) = &self.capture {
            rt.captures.insert(var.clone(), output.clone());
        }
        Ok(output)
    }
}
