//! redis-cli's cluster manager (`clusterManager*` in redis-cli.c): loading
//! the cluster's view from CLUSTER NODES, check, info, create, add-node and
//! del-node here; reshard, rebalance and slot moves in [`reshard`]; the fixes
//! of open and uncovered slots in [`fix`]. Output is the text redis-cli
//! prints, without its colours; confirmation questions are answered "yes".

mod fix;
mod reshard;

use super::command::{Command, Options};
use super::plan;
use super::session::{Driver, Failed, Res, Session};
use redis_client::cluster::SLOTS;
use resp::Value;
use sim::ProcId;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// `CLUSTER_MANAGER_MIGRATE_TIMEOUT` and `CLUSTER_MANAGER_MIGRATE_PIPELINE`.
const MIGRATE_TIMEOUT_MS: u64 = 60_000;
const MIGRATE_PIPELINE: usize = 10;
/// `CLUSTER_MANAGER_REBALANCE_THRESHOLD`.
const REBALANCE_THRESHOLD: f32 = 2.0;

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

/// `CLUSTER ADDSLOTS` of every slot `slots` marks, ascending, as
/// [`resp::encode_command`] writes it (CLUSTER, ADDSLOTS and each slot in
/// decimal, as `to_string` writes it), in one pass: each argument is kept
/// encoded ([`SlotArg`]) and stepped with the slot, and written as one
/// fixed-size copy. A master's thousands of slots need no list of
/// arguments, no division per digit and no second pass to encode.
fn encode_addslots(slots: &[bool], out: &mut Vec<u8>) {
    assert!(slots.len() < 100_000, "slot numbers of at most five digits");
    let count = slots.iter().filter(|&&on| on).count();
    let head = format!("*{}\r\n$7\r\nCLUSTER\r\n$8\r\nADDSLOTS\r\n", count + 2);
    // Each argument is at most `$5\r\n` + five digits + CRLF.
    out.reserve(head.len() + SlotArg::MAX * count + SlotArg::MAX);
    out.extend_from_slice(head.as_bytes());
    let Some(first_on) = slots.iter().position(|&on| on) else { return };
    let last_on = slots.iter().rposition(|&on| on).unwrap_or(first_on);
    let mut arg = SlotArg::new(first_on);
    for &on in &slots[first_on..=last_on] {
        if on {
            // The whole array (a fixed-size copy), then the unused tail off.
            out.extend_from_slice(&arg.bytes);
            out.truncate(out.len() - (SlotArg::MAX - arg.used));
        }
        arg.step();
    }
}

/// A slot number as a RESP bulk string, `$<digits>\r\n<number>\r\n`, in
/// the first `used` bytes of a fixed-size array, stepped to the next
/// number in place: a carry rewrites only the digits it reaches, and one
/// out of the top digit lays out one digit more.
struct SlotArg {
    bytes: [u8; SlotArg::MAX],
    used: usize,
}

impl SlotArg {
    /// Five digits at most: `$5\r\n` + 5 + CRLF.
    const MAX: usize = 11;

    fn new(n: usize) -> SlotArg {
        let digits = n.to_string();
        assert!(digits.len() <= 5, "slot numbers of at most five digits");
        let mut arg = SlotArg { bytes: [0; SlotArg::MAX], used: 0 };
        arg.lay_out(digits.as_bytes());
        arg
    }

    fn lay_out(&mut self, digits: &[u8]) {
        let n = digits.len();
        self.bytes[..4].copy_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']);
        self.bytes[4..4 + n].copy_from_slice(digits);
        self.bytes[4 + n..6 + n].copy_from_slice(b"\r\n");
        self.used = 6 + n;
    }

    /// The next number.
    fn step(&mut self) {
        let n = self.used - 6;
        for k in (4..4 + n).rev() {
            if self.bytes[k] != b'9' {
                self.bytes[k] += 1;
                return;
            }
            self.bytes[k] = b'0';
        }
        // All nines: one digit more, a one and zeros. Past 99999 the
        // number no longer fits; `encode_addslots` never steps that far.
        if n < 5 {
            let mut digits = [b'0'; 5];
            digits[0] = b'1';
            self.lay_out(&digits[..n + 1]);
        }
    }
}

/// What one `--cluster` command did.
pub struct Outcome {
    /// The lines it printed.
    pub lines: Vec<String>,
    /// Whether it succeeded (exit code 0).
    pub ok: bool,
    /// What stopped the world meanwhile, if anything did.
    pub interrupted: Option<scenario::RunError>,
}

/// Runs one `--cluster` command.
pub fn run(
    driver: &mut dyn Driver,
    tool: ProcId,
    command: &Command,
    password: Option<String>,
    limit: Duration,
) -> Outcome {
    let io_timeout = Duration::from_secs(10);
    let deadline = driver.sim().now() + limit;
    let mut m = Manager {
        s: Session { driver, tool, out: Vec::new(), partial: None, io_timeout, deadline, password, interrupted: None },
        nodes: Vec::new(),
        errors: Vec::new(),
        opts: command.opts.clone(),
        fix: false,
    };
    let ok = m.dispatch(command).unwrap_or(false);
    if let Some(p) = m.s.partial.take() {
        m.s.out.push(p);
    }
    Outcome { lines: m.s.out, ok, interrupted: m.s.interrupted }
}

pub(super) fn parse_addr(text: &str) -> Option<SocketAddrV4> {
    let text = text.rsplit_once('@').map_or(text, |(a, _)| a);
    let (ip, port) = text.rsplit_once(':')?;
    Some(SocketAddrV4::new(ip.parse::<Ipv4Addr>().ok()?, port.parse().ok()?))
}

fn info_field(text: &str, field: &str) -> Option<i64> {
    text.lines().find_map(|l| l.trim_end().strip_prefix(field)?.strip_prefix(':')?.parse().ok())
}

fn text_of(v: &Value) -> String {
    match v {
        // The usual reply (INFO, CLUSTER NODES) is valid UTF-8: checked and
        // copied whole rather than walked a chunk at a time; the same text.
        Value::Bulk(b) => match std::str::from_utf8(b) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(b).into_owned(),
        },
        Value::Simple(s) => s.to_string(),
        Value::Error(s) => s.clone(),
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
        use std::fmt::Write as _;
        let mut out = String::new();
        let slots = &node.slots[..SLOTS];
        let mut s = 0;
        // Each run of owned slots found with two scans (not a slot at a time
        // through the loop's bookkeeping): the same text.
        while let Some(off) = slots[s..].iter().position(|&on| on) {
            let start = s + off;
            let end = slots[start..].iter().position(|&on| !on).map_or(SLOTS, |len| start + len) - 1;
            if !out.is_empty() {
                out.push(',');
            }
            let _ = if start == end { write!(out, "[{start}]") } else { write!(out, "[{start}-{end}]") };
            s = end + 1;
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
            // A master's thousands of slot numbers written straight into the
            // command (`encode_addslots`): the same command bytes.
            let slots = &self.nodes[i].slots;
            #[cfg(debug_assertions)]
            {
                let mut args = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
                args.extend((0..SLOTS).filter(|&s| slots[s]).map(|s| s.to_string()));
                let (mut plain, mut direct) = (Vec::new(), Vec::new());
                resp::encode_command(&args, &mut plain);
                encode_addslots(slots, &mut direct);
                debug_assert!(plain == direct, "CLUSTER ADDSLOTS written directly differs");
            }
            if let Value::Error(e) = self.s.call_encoded(addr, |buf| encode_addslots(slots, buf))? {
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

#[cfg(test)]
mod tests {
    use super::{Manager, Node, SLOTS, SlotArg, encode_addslots};
    use std::net::{Ipv4Addr, SocketAddrV4};

    /// The slot-by-slot walk `slots_string` replaced.
    fn slots_string_walk(slots: &[bool]) -> String {
        let mut out = String::new();
        let mut s = 0;
        while s < SLOTS {
            if !slots[s] {
                s += 1;
                continue;
            }
            let start = s;
            while s + 1 < SLOTS && slots[s + 1] {
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

    /// Per density `d`, a set of slots each drawn with chance 1/`d` from a
    /// seeded stream.
    fn random_slots(seed: u64, densities: &[u64]) -> Vec<Vec<bool>> {
        let mut rng = sim::Rng::stream(seed, "slots");
        densities.iter().map(|&d| (0..SLOTS).map(|_| rng.below(d) == 0).collect()).collect()
    }

    #[test]
    fn slots_string_is_the_slot_by_slot_walk() {
        let mut node = Node::new(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000));
        let mut patterns: Vec<Vec<bool>> = vec![vec![false; SLOTS], vec![true; SLOTS]];
        patterns.push((0..SLOTS).map(|s| s < 5461).collect());
        patterns.push((0..SLOTS).map(|s| s >= 10923).collect());
        patterns.push((0..SLOTS).map(|s| s == 0 || s == SLOTS - 1).collect());
        patterns.extend(random_slots(1, &[2, 8, 64, 1024]));
        for p in patterns {
            node.slots = p;
            assert_eq!(Manager::slots_string(&node), slots_string_walk(&node.slots));
        }
    }

    #[test]
    fn a_slot_argument_steps_through_every_five_digit_number() {
        let mut arg = SlotArg::new(0);
        for n in 0..100_000usize {
            let want = format!("${}\r\n{n}\r\n", n.to_string().len());
            assert_eq!(&arg.bytes[..arg.used], want.as_bytes(), "at {n}");
            assert_eq!(SlotArg::new(n).bytes[..arg.used], arg.bytes[..arg.used], "made afresh at {n}");
            arg.step();
        }
    }

    #[test]
    fn addslots_written_directly_is_the_encoded_command() {
        let mut patterns: Vec<Vec<bool>> = vec![vec![false; SLOTS], vec![true; SLOTS]];
        for (a, b) in
            [(0, 5460), (5461, 10922), (10923, 16383), (9, 10), (99, 1000), (9999, 10000), (0, 0), (16383, 16383)]
        {
            patterns.push((0..SLOTS).map(|s| (a..=b).contains(&s)).collect());
        }
        patterns.extend(random_slots(2, &[2, 3, 64, 4096]));
        for p in patterns {
            let mut args = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
            args.extend((0..SLOTS).filter(|&s| p[s]).map(|s| s.to_string()));
            let mut plain = b"prefix".to_vec();
            resp::encode_command(&args, &mut plain);
            let mut direct = b"prefix".to_vec();
            encode_addslots(&p, &mut direct);
            assert!(plain == direct, "{}", String::from_utf8_lossy(&direct[..60.min(direct.len())]));
        }
    }
}
