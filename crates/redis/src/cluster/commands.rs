//! The CLUSTER command (cluster.c `clusterCommand`) and key routing
//! (`getNodeByQuery`: MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN), with
//! Redis 7.0's replies and error texts.

use super::bus;
use super::gossip::Broadcast;
use super::{Cluster, HANDSHAKE, MEET, SLOTS, TODO_FSYNC_CONFIG, TODO_SAVE_CONFIG, TODO_UPDATE_STATE};
use crate::command_table::{ASKING, Command, Keys, SHARD_PUBSUB};
use crate::keyspace::Db;
use crate::server::Server;
use resp::Value;
use sim::Ctx;
use std::fmt::Write as _;

/// CLUSTER HELP, as 7.0.15 prints it.
const HELP: &[&str] = &[
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "HELP",
    "    Prints this help.",
];

/// Redis 7.0's arity of each CLUSTER subcommand.
fn sub_arity(sub: &str) -> Option<i32> {
    Some(match sub {
        "addslots" | "delslots" => -3,
        "addslotsrange" | "delslotsrange" | "meet" | "setslot" => -4,
        "bumpepoch" | "flushslots" | "help" | "info" | "links" | "myid" | "nodes" | "saveconfig" | "shards"
        | "slots" => 2,
        "count-failure-reports"
        | "countkeysinslot"
        | "forget"
        | "keyslot"
        | "replicas"
        | "replicate"
        | "set-config-epoch"
        | "slaves" => 3,
        "failover" | "reset" => -2,
        "getkeysinslot" => 4,
        _ => return None,
    })
}

fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

fn bulk(s: impl Into<String>) -> Value {
    Value::Bulk(s.into().into_bytes())
}

/// A map given as alternating names and values: flat for RESP2, `%` for RESP3.
fn map(flat: Vec<Value>) -> Value {
    let mut items = flat.into_iter();
    let mut pairs = Vec::with_capacity(items.len() / 2);
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        pairs.push((k, v));
    }
    Value::Map(pairs)
}

/// `getSlotOrReply`.
fn slot_arg(a: &[u8]) -> Result<usize, Value> {
    match crate::commands::parse_int(a) {
        Some(s) if (0..SLOTS as i64).contains(&s) => Ok(s as usize),
        _ => Err(Value::error("ERR Invalid or out of range slot")),
    }
}

/// The client-side flags routing reads.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClientFlags {
    pub(crate) asking: bool,
    pub(crate) readonly: bool,
    /// `cluster-allow-reads-when-down`.
    pub(crate) reads_when_down: bool,
    /// The node's clock, to treat expired keys as missing.
    pub(crate) now_ms: i64,
}

/// `getNodeByQuery` + `clusterRedirectClient`: the error a keyed command gets
/// instead of running here, or `None` to run it.
pub(crate) fn route(c: &Cluster, db0: &Db, flags: ClientFlags, args: &[Vec<u8>], command: &Command) -> Option<Value> {
    let write = command.write();
    let shard = command.has(SHARD_PUBSUB);
    let mut owner = None;
    let mut slot = 0;
    let mut first_key: Option<&[u8]> = None;
    let (mut migrating, mut importing, mut multiple) = (false, false, false);
    let (mut missing, mut existing) = (0, 0);
    for k in command.keys.indexes(args) {
        let key = args[k].as_slice();
        let this_slot = common::slot::key_slot(key) as usize;
        match first_key {
            None => {
                first_key = Some(key);
                slot = this_slot;
                let Some(o) = c.owner(slot) else {
                    return Some(Value::error("CLUSTERDOWN Hash slot not served"));
                };
                owner = Some(o);
                if o == c.myself && c.migrating.contains_key(&(slot as u16)) {
                    migrating = true;
                } else if c.importing.contains_key(&(slot as u16)) {
                    importing = true;
                }
            }
            Some(fk) if fk != key => {
                if slot != this_slot {
                    return Some(Value::error("CROSSSLOT Keys in request don't hash to the same slot"));
                }
                multiple = true;
            }
            _ => {}
        }
        // A shard channel is no key: a migrating slot serves it here (`pubsubshard_included`).
        if (migrating || importing) && !shard && (!db0.keys.contains_key(key) || db0.is_expired(key, flags.now_ms)) {
            missing += 1;
        } else {
            existing += 1;
        }
    }
    let owner = owner?;
    if !c.state_ok {
        if !flags.reads_when_down {
            return Some(Value::error("CLUSTERDOWN The cluster is down"));
        } else if write {
            return Some(Value::error("CLUSTERDOWN The cluster is down and only accepts read commands"));
        }
    }
    // MIGRATE works on the local keys of an open slot, wherever the slot is going.
    if (migrating || importing) && command.keys == Keys::Migrate {
        return None;
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Some(Value::error("TRYAGAIN Multiple keys request during rehashing of slot"));
        }
        let to = c.node(c.migrating[&(slot as u16)]);
        return Some(Value::error(format!("ASK {slot} {}:{}", to.ip(), to.port())));
    }
    if importing && (flags.asking || command.has(ASKING)) {
        if multiple && missing > 0 {
            return Some(Value::error("TRYAGAIN Multiple keys request during rehashing of slot"));
        }
        return None;
    }
    if (flags.readonly || shard) && !write && c.me().is_slave() && c.me().slaveof == Some(owner) {
        return None;
    }
    if owner != c.myself {
        let n = c.node(owner);
        return Some(Value::error(format!("MOVED {slot} {}:{}", n.ip(), n.port())));
    }
    None
}

impl Server {
    pub(crate) fn count_keys_in_slot(&mut self, slot: usize) -> usize {
        self.dbs[0].count_keys_in_slot(slot)
    }

    pub(crate) fn del_keys_in_slot(&mut self, slot: usize) {
        let n = self.dbs[0].count_keys_in_slot(slot);
        for k in self.dbs[0].keys_in_slot(slot, n) {
            self.dbs[0].remove(&k);
        }
    }

    /// Clients whose writes waited for a pause (manual failover, shutdown) run now.
    pub(crate) fn resume_paused_clients(&mut self, ctx: &mut Ctx<'_>) {
        for conn in std::mem::take(&mut self.stalled) {
            if self.repl.is_master_link(conn) {
                self.on_master_data(ctx, conn, &[]);
            } else {
                self.process_client(ctx, conn);
            }
        }
    }

    /// Whether writes are held back right now: for a manual failover, or
    /// while a shutdown waits for the replicas.
    pub(crate) fn writes_paused(&self, now_ms: i64) -> bool {
        self.shutdown_pauses_writes() || self.cluster.as_ref().and_then(|c| c.paused_until).is_some_and(|t| now_ms < t)
    }

    /// CLUSTER, ASKING, READONLY, READWRITE and the commands cluster mode refuses.
    /// processCommand's subcommand gates (unknown, arity) come first, so they
    /// answer the same with cluster support disabled.
    pub(crate) fn cluster_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        // What a cluster client asks most (at start, after every error and
        // every fifth MOVED), answered as the general path below would,
        // without building the subcommand's name as text.
        if args.len() == 2 && args[1].eq_ignore_ascii_case(b"slots") && self.cluster.is_some() {
            return self.cluster_slots();
        }
        let sub = text(&args[1]).to_ascii_lowercase();
        let Some(arity) = sub_arity(&sub) else {
            return Value::error(format!("ERR unknown subcommand '{}'. Try CLUSTER HELP.", text(&args[1])));
        };
        let argc = args.len() as i32;
        if (arity > 0 && argc != arity) || argc < -arity {
            return Value::error(format!("ERR wrong number of arguments for 'cluster|{sub}' command"));
        }
        if self.cluster.is_none() {
            return Value::error("ERR This instance has cluster support disabled");
        }
        // clusterCommand matches these only up to a longest form; a longer call falls
        // through to its generic reply, which names the subcommand as typed.
        let longest = match sub.as_str() {
            "failover" | "reset" => 3,
            "meet" => 5,
            _ => i32::MAX,
        };
        if argc > longest {
            return Value::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
                text(&args[1])
            ));
        }
        let now = ctx.wall_clock_ms();
        match sub.as_str() {
            "info" => Value::Verbatim(self.cluster_info().into_bytes()),
            "nodes" => Value::Verbatim(self.clr().nodes_text(false).into_bytes()),
            "myid" => bulk(self.clr().me().name()),
            "slots" => self.cluster_slots(),
            "shards" => self.cluster_shards(),
            "meet" => self.cluster_meet(ctx, args, now),
            "forget" => {
                let c = self.cl();
                let Some(n) = c.lookup_str(&text(&args[2])) else {
                    return Value::error(format!("ERR Unknown node {}", text(&args[2])));
                };
                if n == c.myself {
                    return Value::error("ERR I tried hard but I can't forget myself...");
                }
                if c.me().is_slave() && c.me().slaveof == Some(n) {
                    return Value::error("ERR Can't forget my master!");
                }
                let name = c.node(n).name();
                c.blacklist_add(&name, now);
                self.delete_node(ctx, n);
                self.cl().todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
                Value::ok()
            }
            "replicate" => {
                let c = self.clr();
                let Some(n) = c.lookup_str(&text(&args[2])) else {
                    return Value::error(format!("ERR Unknown node {}", text(&args[2])));
                };
                if n == c.myself {
                    return Value::error("ERR Can't replicate myself");
                }
                if c.node(n).is_slave() {
                    return Value::error("ERR I can only replicate a master, not a replica.");
                }
                if c.me().is_master() && (c.me().numslots != 0 || !self.dbs[0].keys.is_empty()) {
                    return Value::error("ERR To set a master the node must be empty and without assigned slots.");
                }
                self.cluster_set_master(ctx, n);
                self.cl().todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
                Value::ok()
            }
            "replicas" | "slaves" => {
                let c = self.clr();
                let Some(n) = c.lookup_str(&text(&args[2])) else {
                    return Value::error(format!("ERR Unknown node {}", text(&args[2])));
                };
                if c.node(n).is_slave() {
                    return Value::error("ERR The specified node is not a master");
                }
                Value::Array(c.node(n).replicas.iter().map(|&r| bulk(c.describe(r, true))).collect())
            }
            "addslots" | "delslots" => {
                let mut ranges = Vec::with_capacity(args.len().saturating_sub(2));
                for a in &args[2..] {
                    match slot_arg(a) {
                        Ok(s) => ranges.push((s, s)),
                        Err(e) => return e,
                    }
                }
                self.update_slots(ranges, sub == "delslots")
            }
            "addslotsrange" | "delslotsrange" => {
                if !args.len().is_multiple_of(2) {
                    return Value::error(format!("ERR wrong number of arguments for 'cluster|{sub}' command"));
                }
                let mut ranges = Vec::new();
                for pair in args[2..].chunks(2) {
                    let a = match slot_arg(&pair[0]) {
                        Ok(s) => s,
                        Err(e) => return e,
                    };
                    let b = match slot_arg(&pair[1]) {
                        Ok(s) => s,
                        Err(e) => return e,
                    };
                    if a > b {
                        return Value::error(format!("ERR start slot number {a} is greater than end slot number {b}"));
                    }
                    ranges.push((a, b));
                }
                self.update_slots(ranges, sub == "delslotsrange")
            }
            "flushslots" => {
                if !self.dbs[0].keys.is_empty() {
                    return Value::error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
                }
                let c = self.cl();
                let me = c.myself;
                c.del_node_slots(me);
                c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
                Value::ok()
            }
            "setslot" => self.cluster_setslot(ctx, args),
            "keyslot" => Value::Integer(i64::from(common::slot::key_slot(&args[2]))),
            "countkeysinslot" => match crate::commands::parse_int(&args[2]) {
                None => Value::error("ERR value is not an integer or out of range"),
                Some(s) if !(0..SLOTS as i64).contains(&s) => Value::error("ERR Invalid slot"),
                Some(s) => Value::Integer(self.count_keys_in_slot(s as usize) as i64),
            },
            "getkeysinslot" => {
                let (Some(s), Some(max)) = (crate::commands::parse_int(&args[2]), crate::commands::parse_int(&args[3]))
                else {
                    return Value::error("ERR value is not an integer or out of range");
                };
                if !(0..SLOTS as i64).contains(&s) || max < 0 {
                    return Value::error("ERR Invalid slot or number of keys");
                }
                Value::Array(self.dbs[0].keys_in_slot(s as usize, max as usize).into_iter().map(Value::Bulk).collect())
            }
            "count-failure-reports" => {
                let nt = self.node_timeout();
                let c = self.cl();
                match c.lookup_str(&text(&args[2])) {
                    Some(n) => Value::Integer(c.failure_reports(n, now, nt) as i64),
                    None => Value::error(format!("ERR Unknown node {}", text(&args[2]))),
                }
            }
            "saveconfig" => {
                self.save_cluster_config(ctx, true);
                Value::ok()
            }
            "set-config-epoch" => {
                let Some(e) = crate::commands::parse_int(&args[2]) else {
                    return Value::error("ERR value is not an integer or out of range");
                };
                let c = self.cl();
                if e < 0 {
                    return Value::error(format!("ERR Invalid config epoch specified: {e}"));
                }
                if c.known_nodes() > 1 {
                    return Value::error(
                        "ERR The user can assign a config epoch only when the node does not know any other node.",
                    );
                }
                if c.me().config_epoch != 0 {
                    return Value::error("ERR Node config epoch is already non-zero");
                }
                c.me_mut().config_epoch = e as u64;
                c.current_epoch = c.current_epoch.max(e as u64);
                c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
                self.log(ctx, '#', &format!("configEpoch set to {e} via CLUSTER SET-CONFIG-EPOCH"));
                Value::ok()
            }
            "bumpepoch" => {
                let bumped = self.bump_epoch_without_consensus(ctx);
                let e = self.clr().me().config_epoch;
                Value::Simple(format!("{} {e}", if bumped { "BUMPED" } else { "STILL" }).into())
            }
            "failover" => self.cluster_failover(ctx, args, now),
            "reset" => {
                let hard = match args.get(2).map(|a| a.to_ascii_lowercase()) {
                    None => false,
                    Some(a) if a == b"hard" && args.len() == 3 => true,
                    Some(a) if a == b"soft" && args.len() == 3 => false,
                    Some(_) => return Value::error("ERR syntax error"),
                };
                if self.clr().me().is_master() && !self.dbs[0].keys.is_empty() {
                    return Value::error("ERR CLUSTER RESET can't be called with master nodes containing keys");
                }
                self.cluster_reset(ctx, hard);
                Value::ok()
            }
            "links" => self.cluster_links(),
            _ => Value::Array(HELP.iter().map(|l| Value::Simple((*l).into())).collect()),
        }
    }

    fn cluster_meet(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>], now: i64) -> Value {
        let Some(port) = crate::commands::parse_int(&args[3]) else {
            return Value::error(format!("ERR Invalid TCP base port specified: {}", text(&args[3])));
        };
        let cport = match args.get(4) {
            Some(a) => match crate::commands::parse_int(a) {
                Some(p) => p,
                None => return Value::error(format!("ERR Invalid TCP bus port specified: {}", text(a))),
            },
            None => port + 10000,
        };
        let ip = text(&args[2]);
        let valid_ip = ip.parse::<std::net::Ipv4Addr>().is_ok();
        if !valid_ip || !(1..=65535).contains(&port) || !(1..=65535).contains(&cport) {
            return Value::error(format!("ERR Invalid node address specified: {ip}:{}", text(&args[3])));
        }
        let c = self.cl();
        let already = c.by_name.values().any(|&i| {
            let n = c.node(i);
            n.in_handshake() && *n.ip() == *ip && i64::from(n.port()) == port && i64::from(n.cport()) == cport
        });
        if !already {
            let name = super::gossip::random_name(ctx);
            let c = self.cl();
            let i = c.create_node(name, HANDSHAKE | MEET, now);
            c.node_mut(i).set_address(super::NodeIp::new(&ip), port as u16, cport as u16);
        }
        Value::ok()
    }

    /// `clusterUpdateSlots` after `checkSlotAssignmentsOrReply` on every range.
    fn update_slots(&mut self, ranges: Vec<(usize, usize)>, del: bool) -> Value {
        let c = self.cl();
        let mut seen = vec![false; SLOTS];
        // The slots in the order given, each checked as it comes (the first
        // fault is the one reported); `a <= b < SLOTS` (`slot_arg` and the
        // callers' checks).
        let mut count = 0;
        for &(a, b) in &ranges {
            for (s, mark) in (a..).zip(&mut seen[a..=b]) {
                if c.owner(s).is_some() != del {
                    let why = if del { "is already unassigned" } else { "is already busy" };
                    return Value::error(format!("ERR Slot {s} {why}"));
                }
                if std::mem::replace(mark, true) {
                    return Value::error(format!("ERR Slot {s} specified multiple times"));
                }
                count += 1;
            }
        }
        let me = c.myself;
        if del {
            for (s, _) in seen.iter().enumerate().filter(|(_, on)| **on) {
                c.del_slot(s);
            }
        } else {
            // ADDSLOTS of a master's thousands of slots (redis-cli --cluster
            // create): every slot is free (checked above), so they are taken
            // at once, the table's bookkeeping done once.
            let mut slots: Vec<u16> = Vec::with_capacity(count);
            slots.extend(seen.iter().enumerate().filter(|(_, on)| **on).map(|(s, _)| s as u16));
            if !c.importing.is_empty() {
                for s in &slots {
                    c.importing.remove(s);
                }
            }
            c.add_slots(me, &slots);
        }
        c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        Value::ok()
    }

    fn cluster_setslot(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        if self.clr().me().is_slave() {
            return Value::error("ERR Please use SETSLOT only with masters.");
        }
        let slot = match slot_arg(&args[2]) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let action = text(&args[3]).to_ascii_lowercase();
        let c = self.clr();
        let myself = c.myself;
        let target = || args.get(4).map(|a| text(a));
        match (action.as_str(), args.len()) {
            ("migrating", 5) | ("importing", 5) => {
                if action == "migrating" && c.owner(slot) != Some(myself) {
                    return Value::error(format!("ERR I'm not the owner of hash slot {slot}"));
                }
                if action == "importing" && c.owner(slot) == Some(myself) {
                    return Value::error(format!("ERR I'm already the owner of hash slot {slot}"));
                }
                let id = target().unwrap_or_default();
                let Some(n) = c.lookup_str(&id) else {
                    return Value::error(format!("ERR I don't know about node {id}"));
                };
                if c.node(n).is_slave() {
                    return Value::error("ERR Target node is not a master");
                }
                let c = self.cl();
                if action == "migrating" {
                    c.migrating.insert(slot as u16, n);
                } else {
                    c.importing.insert(slot as u16, n);
                }
            }
            ("stable", 4) => {
                let c = self.cl();
                c.migrating.remove(&(slot as u16));
                c.importing.remove(&(slot as u16));
            }
            ("node", 5) => {
                let id = target().unwrap_or_default();
                let Some(n) = c.lookup_str(&id) else {
                    return Value::error(format!("ERR Unknown node {id}"));
                };
                if c.node(n).is_slave() {
                    return Value::error("ERR Target node is not a master");
                }
                let owned = c.owner(slot) == Some(myself);
                let keys = self.count_keys_in_slot(slot);
                if owned && n != myself && keys != 0 {
                    return Value::error(format!(
                        "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                    ));
                }
                let allow_migration = self.config.cluster.allow_replica_migration;
                let c = self.cl();
                if keys == 0 {
                    c.migrating.remove(&(slot as u16));
                }
                let was_mine = c.owner(slot) == Some(myself);
                c.del_slot(slot);
                c.add_slot(n, slot);
                if was_mine && n != myself && c.me().numslots == 0 && allow_migration {
                    let name = c.node(n).name();
                    self.log(
                        ctx,
                        '#',
                        &format!("Configuration change detected. Reconfiguring myself as a replica of {name}"),
                    );
                    self.cluster_set_master(ctx, n);
                    self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
                }
                if n == myself && self.clr().importing.contains_key(&(slot as u16)) {
                    if self.bump_epoch_without_consensus(ctx) {
                        self.log(ctx, '#', &format!("configEpoch updated after importing slot {slot}"));
                    }
                    self.cl().importing.remove(&(slot as u16));
                    self.broadcast_pong(ctx, Broadcast::All);
                }
            }
            _ => {
                return Value::error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
            }
        }
        self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
        Value::ok()
    }

    fn cluster_failover(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>], now: i64) -> Value {
        let (mut force, mut takeover) = (false, false);
        match args.len() {
            2 => {}
            3 if args[2].eq_ignore_ascii_case(b"force") => force = true,
            3 if args[2].eq_ignore_ascii_case(b"takeover") => {
                force = true;
                takeover = true;
            }
            _ => return Value::error("ERR syntax error"),
        }
        let c = self.clr();
        if c.me().is_master() {
            return Value::error("ERR You should send CLUSTER FAILOVER to a replica");
        }
        let Some(m) = c.me().slaveof else {
            return Value::error("ERR I'm a replica but my master is unknown to me");
        };
        // As in Redis, a link still connecting counts: only a missing one means down.
        if !force && (c.node(m).failed() || c.node(m).link().is_none()) {
            return Value::error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
        }
        self.reset_manual_failover(ctx);
        self.cl().mf_end = now + super::failover::MF_TIMEOUT_MS;
        if takeover {
            self.log(ctx, '#', "Taking over the master (user request).");
            self.bump_epoch_without_consensus(ctx);
            self.failover_replace_master(ctx);
        } else if force {
            self.log(ctx, '#', "Forced failover user request accepted.");
            self.cl().mf_can_start = true;
        } else {
            self.log(ctx, '#', "Manual failover user request accepted.");
            if let Some(conn) = self.clr().node(m).link() {
                self.send_to(ctx, conn, bus::MFSTART);
            }
        }
        Value::ok()
    }

    /// `clusterReset`.
    fn cluster_reset(&mut self, ctx: &mut Ctx<'_>, hard: bool) {
        if self.clr().me().is_slave() {
            let c = self.cl();
            let me = c.myself;
            c.set_node_as_master(me);
            self.unset_master(ctx);
            for db in &mut self.dbs {
                *db = Db { limits: db.limits, ..Db::default() };
            }
        }
        let c = self.cl();
        c.migrating.clear();
        c.importing.clear();
        self.reset_manual_failover(ctx);
        let c = self.cl();
        for s in 0..SLOTS {
            c.del_slot(s);
        }
        for i in c.indices() {
            if i != self.clr().myself {
                self.delete_node(ctx, i);
            }
        }
        if hard {
            self.cl().reset_epochs();
            self.log(ctx, '#', "configEpoch set to 0 via CLUSTER RESET HARD");
            let name = super::gossip::random_name(ctx);
            let c = self.cl();
            let me = c.myself;
            c.rename(me, &name);
            self.log(ctx, '*', &format!("Node hard reset, now I'm {name}"));
        }
        self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
    }

    /// CLUSTER INFO's fields before the message counters, in its order.
    /// The lab's `cluster-info` condition reads one of them at every poll of
    /// a wait, so they are worked out without writing the text.
    fn cluster_info_head(&self) -> [(&'static str, InfoValue); 9] {
        let c = self.clr();
        let (mut assigned, mut ok, mut pfail, mut fail) = (0u64, 0u64, 0u64, 0u64);
        for &i in c.by_name.values() {
            let n = c.node(i);
            let slots = u64::from(n.numslots);
            assigned += slots;
            if n.failed() {
                fail += slots;
            } else if n.timed_out() {
                pfail += slots;
            } else {
                ok += slots;
            }
        }
        [
            ("cluster_state", InfoValue::Text(if c.state_ok { "ok" } else { "fail" })),
            ("cluster_slots_assigned", InfoValue::Count(assigned)),
            ("cluster_slots_ok", InfoValue::Count(ok)),
            ("cluster_slots_pfail", InfoValue::Count(pfail)),
            ("cluster_slots_fail", InfoValue::Count(fail)),
            ("cluster_known_nodes", InfoValue::Count(c.known_nodes() as u64)),
            ("cluster_size", InfoValue::Count(c.size as u64)),
            ("cluster_current_epoch", InfoValue::Count(c.current_epoch)),
            ("cluster_my_epoch", InfoValue::Count(c.epoch_of(c.myself))),
        ]
    }

    pub(crate) fn cluster_info(&self) -> String {
        let mut s = String::new();
        for (name, value) in self.cluster_info_head() {
            let _ = write!(s, "{name}:{value}\r\n");
        }
        let c = self.clr();
        for (stats, dir) in [(&c.stats_sent, "sent"), (&c.stats_received, "received")] {
            for (kind, n) in stats.iter().enumerate().filter(|(_, n)| **n > 0) {
                let _ = write!(s, "cluster_stats_messages_{}_{dir}:{n}\r\n", bus::TYPE_NAMES[kind]);
            }
            let _ = write!(s, "cluster_stats_messages_{dir}:{}\r\n", stats.iter().sum::<u64>());
        }
        s.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
        s
    }

    /// The value CLUSTER INFO gives `field`, if it has one.
    pub(crate) fn cluster_info_field_of(&self, field: &str) -> Option<String> {
        // The field `wait-until` polls as a cluster forms, read without
        // counting every node's slots: the head's first line.
        if field == "cluster_state" {
            return Some(if self.clr().state_ok { "ok" } else { "fail" }.to_owned());
        }
        match self.cluster_info_head().into_iter().find(|(name, _)| *name == field) {
            Some((_, value)) => Some(value.to_string()),
            None => {
                let text = self.cluster_info();
                text.split("\r\n").find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(str::to_owned)
            }
        }
    }

    /// A node's known replication offset (its own for myself).
    pub(super) fn node_offset(&self, i: usize) -> i64 {
        let c = self.clr();
        if i == c.myself { self.repl.offset } else { c.node(i).repl_offset }
    }

    fn cluster_slots(&self) -> Value {
        use super::slots_reply::Shown;
        let c = self.clr();
        let shown = |i: usize| {
            let n = c.node(i);
            Shown::Node(n.ip(), n.port(), n.name())
        };
        c.slots_reply.borrow_mut().get(|list| {
            c.with_owner_runs(|runs| {
                for &(start, end, o) in runs {
                    list.push(Shown::Run(start, end));
                    list.push(shown(o));
                    for &r in &c.node(o).replicas {
                        if !c.node(r).failed() && self.node_offset(r) != 0 {
                            list.push(shown(r));
                        }
                    }
                }
            })
        })
    }

    fn cluster_shards(&self) -> Value {
        let c = self.clr();
        let node_map = |i: usize| {
            let n = c.node(i);
            let offset = self.node_offset(i);
            let health = if n.failed() {
                "fail"
            } else if n.is_slave() && offset == 0 {
                "loading"
            } else {
                "online"
            };
            map(vec![
                bulk("id"),
                bulk(n.name()),
                bulk("port"),
                Value::Integer(i64::from(n.port())),
                bulk("ip"),
                bulk(n.ip()),
                bulk("endpoint"),
                bulk(n.ip()),
                bulk("role"),
                bulk(if n.is_slave() { "replica" } else { "master" }),
                bulk("replication-offset"),
                Value::Integer(offset),
                bulk("health"),
                bulk(health),
            ])
        };
        let mut out = Vec::new();
        for &i in c.by_name.values() {
            let n = c.node(i);
            if !n.is_master() {
                continue;
            }
            let mut slots = Vec::new();
            for (a, b) in c.owned_ranges(i) {
                slots.push(Value::Integer(a as i64));
                slots.push(Value::Integer(b as i64));
            }
            let mut nodes = vec![node_map(i)];
            nodes.extend(n.replicas.iter().map(|&r| node_map(r)));
            out.push(map(vec![bulk("slots"), Value::Array(slots), bulk("nodes"), Value::Array(nodes)]));
        }
        Value::Array(out)
    }

    fn cluster_links(&self) -> Value {
        let c = self.clr();
        let mut out = Vec::new();
        for (_, l) in c.links.sorted() {
            let Some(i) = l.node() else { continue };
            out.push(map(vec![
                bulk("direction"),
                bulk(if l.inbound { "from" } else { "to" }),
                bulk("node"),
                bulk(c.node(i).name()),
                bulk("create-time"),
                Value::Integer(l.ctime),
                bulk("events"),
                bulk("r"),
                bulk("send-buffer-allocated"),
                Value::Integer(0),
                bulk("send-buffer-used"),
                Value::Integer(0),
            ]));
        }
        Value::Array(out)
    }
}

/// One value of CLUSTER INFO's head: a word or a count.
#[derive(Clone, Copy, Debug)]
enum InfoValue {
    Text(&'static str),
    Count(u64),
}

impl std::fmt::Display for InfoValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InfoValue::Text(t) => f.write_str(t),
            InfoValue::Count(n) => write!(f, "{n}"),
        }
    }
}
