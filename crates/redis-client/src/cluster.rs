//! The client side of Redis Cluster, for simulated clients and workloads: the
//! MOVED/ASK error forms, a slot map built from `CLUSTER SLOTS`, and a router
//! that decides where each command goes, as redis-py 5.x's `RedisCluster`
//! does — route by the key's slot, patch the map on MOVED and read it again
//! on every [`REINITIALIZE_STEPS`]th MOVED, send ASKING before a command
//! retried after ASK (without touching the map), give up after a bounded
//! number of redirections, and keep the startup nodes a refresh asks in turn.
//!
//! Everything here is pure: the caller owns the connections, feeds replies in
//! and asks where to send next.

use common::slot::key_slot;
use resp::Value;
use std::net::{Ipv4Addr, SocketAddrV4};

pub use common::slot::SLOTS;
/// How many redirections one command may follow (redis-py's and Jedis's
/// `RedisClusterRequestTTL`); redis-cli itself has no bound.
pub const MAX_REDIRECTIONS: u32 = 16;
/// redis-py's `RedisCluster(reinitialize_steps=5)`: every fifth MOVED reads
/// the whole slot map again; the others patch the one slot.
pub const REINITIALIZE_STEPS: u32 = 5;

/// Why a CLUSTER SLOTS reply could not be read as a slot map.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlotsError {
    /// The reply was not an array (an error, say), rendered as redis-cli would.
    #[error("CLUSTER SLOTS replied {0}")]
    NotAnArray(String),
    /// A range or its master is not shaped as CLUSTER SLOTS shapes them.
    #[error("CLUSTER SLOTS: {0}")]
    Malformed(&'static str),
    /// A range outside 0..16384 or ending before it starts.
    #[error("CLUSTER SLOTS: slot range {start}-{end} is out of bounds")]
    OutOfBounds {
        /// First slot.
        start: i64,
        /// Last slot.
        end: i64,
    },
}

/// A redirection a node answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// `MOVED <slot> <ip>:<port>`: the slot lives there now.
    Moved {
        /// The key's slot.
        slot: u16,
        /// Its owner.
        addr: SocketAddrV4,
    },
    /// `ASK <slot> <ip>:<port>`: this one command, after ASKING, goes there.
    Ask {
        /// The key's slot.
        slot: u16,
        /// The node importing it.
        addr: SocketAddrV4,
    },
}

impl Redirect {
    /// Parses an error reply's text (without the leading `-`).
    pub fn parse(error: &str) -> Option<Redirect> {
        let mut parts = error.split(' ');
        let kind = parts.next()?;
        let slot: u16 = parts.next()?.parse().ok().filter(|&s: &u16| usize::from(s) < SLOTS)?;
        let (ip, port) = parts.next()?.rsplit_once(':')?;
        let addr = SocketAddrV4::new(ip.parse::<Ipv4Addr>().ok()?, port.parse().ok()?);
        match kind {
            "MOVED" => Some(Redirect::Moved { slot, addr }),
            "ASK" => Some(Redirect::Ask { slot, addr }),
            _ => None,
        }
    }

    /// The slot redirected.
    pub fn slot(&self) -> u16 {
        match *self {
            Redirect::Moved { slot, .. } | Redirect::Ask { slot, .. } => slot,
        }
    }

    /// Where to go.
    pub fn addr(&self) -> SocketAddrV4 {
        match *self {
            Redirect::Moved { addr, .. } | Redirect::Ask { addr, .. } => addr,
        }
    }
}

/// Which master serves each slot, as one node's `CLUSTER SLOTS` said.
///
/// Kept as ranges, as `CLUSTER SLOTS` gives them: a refresh reads a handful
/// of ranges where a table of 16384 owners had to be allocated and filled
/// (a cluster client refreshes after every connection error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotMap {
    /// Sorted, disjoint, and adjacent ranges of one owner merged, so equal
    /// maps are equal ranges.
    ranges: Vec<SlotRange>,
    /// Slots with an owner.
    covered: usize,
    /// Every node the reply named, masters and replicas, in the reply's
    /// order without repeats (redis-py's `nodes_cache`, which becomes its
    /// startup nodes).
    nodes: Vec<SocketAddrV4>,
}

/// Slots `start..=end` served by `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotRange {
    start: u16,
    end: u16,
    addr: SocketAddrV4,
}

impl SlotMap {
    /// Reads a `CLUSTER SLOTS` reply: `[start, end, [ip, port, id, ...], replicas...]` per range.
    pub fn from_cluster_slots(reply: &Value) -> Result<SlotMap, SlotsError> {
        let Value::Array(ranges) = reply else { return Err(SlotsError::NotAnArray(resp::render(reply))) };
        let mut map = SlotMap::default();
        for range in ranges {
            let Value::Array(fields) = range else { return Err(SlotsError::Malformed("a range is not an array")) };
            let (Some(Value::Integer(start)), Some(Value::Integer(end)), Some(Value::Array(master))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return Err(SlotsError::Malformed("a range lacks start, end or master"));
            };
            let owner = node_addr(master)?;
            if !(0..SLOTS as i64).contains(start) || !(*start..SLOTS as i64).contains(end) {
                return Err(SlotsError::OutOfBounds { start: *start, end: *end });
            }
            map.assign(*start as u16, *end as u16, owner);
            map.add_node(owner);
            for replica in &fields[3..] {
                let Value::Array(replica) = replica else {
                    return Err(SlotsError::Malformed("a replica is not an array"));
                };
                map.add_node(node_addr(replica)?);
            }
        }
        Ok(map)
    }

    fn add_node(&mut self, addr: SocketAddrV4) {
        if !self.nodes.contains(&addr) {
            self.nodes.push(addr);
        }
    }

    /// The nodes the reply named, masters and replicas, in its order.
    pub fn nodes(&self) -> &[SocketAddrV4] {
        &self.nodes
    }

    /// Adds what `other` says about slots this map has no owner for, and the
    /// nodes it names (redis-py merging the replies of several startup nodes
    /// while none covers every slot: the first answer for a slot wins).
    pub fn merge_missing(&mut self, other: &SlotMap) {
        for r in &other.ranges {
            let mut gaps = Vec::new();
            let mut cursor = r.start;
            let first = self.ranges.partition_point(|e| e.end < r.start);
            for e in self.ranges[first..].iter().take_while(|e| e.start <= r.end) {
                if cursor < e.start {
                    gaps.push((cursor, e.start - 1));
                }
                cursor = e.end.saturating_add(1);
            }
            if cursor <= r.end && usize::from(cursor) < SLOTS {
                gaps.push((cursor, r.end));
            }
            for (start, end) in gaps {
                self.assign(start, end, r.addr);
            }
        }
        for &n in &other.nodes {
            self.add_node(n);
        }
    }

    /// The master serving `slot`, if the map knows one.
    pub fn owner(&self, slot: u16) -> Option<SocketAddrV4> {
        let i = self.ranges.partition_point(|r| r.end < slot);
        self.ranges.get(i).filter(|r| r.start <= slot).map(|r| r.addr)
    }

    /// Records a MOVED: the slot is now served there.
    pub fn moved(&mut self, slot: u16, addr: SocketAddrV4) {
        if usize::from(slot) < SLOTS {
            self.assign(slot, slot, addr);
        }
    }

    /// Makes `addr` the owner of `start..=end` (`start <= end < SLOTS`),
    /// whoever owned them before.
    fn assign(&mut self, start: u16, end: u16, addr: SocketAddrV4) {
        // The ranges that overlap or touch the new one are replaced by the
        // new one and by what stays of them on either side.
        let first = self.ranges.partition_point(|r| r.end.saturating_add(1) < start);
        let last = self.ranges.partition_point(|r| r.start <= end.saturating_add(1));
        let mut merged = SlotRange { start, end, addr };
        let mut kept: [Option<SlotRange>; 2] = [None, None];
        for r in &self.ranges[first..last] {
            let overlap = r.start.max(start)..=r.end.min(end);
            if !overlap.is_empty() {
                self.covered -= usize::from(overlap.end() - overlap.start()) + 1;
            }
            if r.addr == addr {
                merged.start = merged.start.min(r.start);
                merged.end = merged.end.max(r.end);
                continue;
            }
            if r.start < start {
                kept[0] = Some(SlotRange { start: r.start, end: start - 1, addr: r.addr });
            }
            if r.end > end {
                kept[1] = Some(SlotRange { start: end + 1, end: r.end, addr: r.addr });
            }
        }
        self.covered += usize::from(end - start) + 1;
        let replacement = kept[0].into_iter().chain(Some(merged)).chain(kept[1]);
        self.ranges.splice(first..last, replacement);
    }

    /// How many slots have an owner.
    pub fn covered(&self) -> usize {
        self.covered
    }

    /// Whether any slot has an owner.
    pub fn owns_any(&self) -> bool {
        self.covered > 0
    }
}

/// A node's `[ip, port, ...]` in a CLUSTER SLOTS range.
fn node_addr(fields: &[Value]) -> Result<SocketAddrV4, SlotsError> {
    let (Some(Value::Bulk(ip)), Some(Value::Integer(port))) = (fields.first(), fields.get(1)) else {
        return Err(SlotsError::Malformed("a node lacks ip or port"));
    };
    let ip: Ipv4Addr = std::str::from_utf8(ip)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(SlotsError::Malformed("a node's ip is not an IPv4 address"))?;
    let port = u16::try_from(*port).map_err(|_| SlotsError::Malformed("a node's port is out of range"))?;
    Ok(SocketAddrV4::new(ip, port))
}

/// The position of a command's first key, for routing (0 for keyless commands).
fn first_key(args: &[Vec<u8>]) -> Option<&[u8]> {
    const KEYLESS: [&[u8]; 9] =
        [b"ping", b"info", b"cluster", b"dbsize", b"keys", b"scan", b"flushall", b"flushdb", b"config"];
    let name = args.first()?;
    let is = |word: &[u8]| name.eq_ignore_ascii_case(word);
    if KEYLESS.into_iter().any(is) {
        None
    } else if is(b"eval") || is(b"evalsha") {
        args.get(3).map(Vec::as_slice)
    } else {
        args.get(1).map(Vec::as_slice)
    }
}

/// What to do next with one command.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// Send the command to a node.
    Send {
        /// The node.
        addr: SocketAddrV4,
        /// Send ASKING first.
        asking: bool,
    },
    /// The command is finished with this reply (possibly an error).
    Done(Value),
}

/// Routes commands over a [`SlotMap`], following redirections like redis-py.
#[derive(Debug)]
pub struct Router {
    /// The slot map; replaced on refresh, patched on MOVED.
    pub map: SlotMap,
    /// Where to send commands whose slot has no known owner, and where to ask for a refresh.
    pub seed: SocketAddrV4,
    /// redis-py's startup nodes: the nodes a refresh asks, in turn, for the
    /// map; the seeds at first, then every node the last map named. A node
    /// that failed a command leaves them until a map names it again.
    startup: Vec<SocketAddrV4>,
    redirections: u32,
    /// MOVED replies since the last refresh they caused (redis-py's
    /// `reinitialize_counter`).
    moved: u32,
    refresh_due: bool,
}

impl Router {
    /// A router that knows only a seed node.
    pub fn new(seed: SocketAddrV4) -> Router {
        Router::with_startup(vec![seed])
    }

    /// A router whose refreshes ask `seeds` in order (`seeds` not empty).
    pub fn with_startup(seeds: Vec<SocketAddrV4>) -> Router {
        let seed = seeds[0];
        Router { map: SlotMap::default(), seed, startup: seeds, redirections: 0, moved: 0, refresh_due: false }
    }

    /// Where a new command goes.
    pub fn start(&mut self, args: &[Vec<u8>]) -> Route {
        self.redirections = 0;
        let addr = self.route(args).unwrap_or(self.seed);
        Route::Send { addr, asking: false }
    }

    /// A new command's redirections start from zero.
    pub fn new_command(&mut self) {
        self.redirections = 0;
    }

    /// The node serving a command's key by the map (the seed for keyless
    /// commands); `None`: the key's slot has no known owner.
    pub fn route(&self, args: &[Vec<u8>]) -> Option<SocketAddrV4> {
        match first_key(args) {
            Some(k) => self.route_key(k),
            None => Some(self.seed),
        }
    }

    /// The node serving `key` by the map; `None`: its slot has no known owner.
    pub fn route_key(&self, key: &[u8]) -> Option<SocketAddrV4> {
        self.map.owner(key_slot(key))
    }

    /// The startup nodes, in the order a refresh asks them.
    pub fn startup(&self) -> &[SocketAddrV4] {
        &self.startup
    }

    /// A command to `addr` failed on its connection: redis-py drops the node
    /// from its startup nodes before it reads the map again.
    pub fn forget(&mut self, addr: SocketAddrV4) {
        self.startup.retain(|&a| a != addr);
    }

    /// Feeds the reply to the last send; says what to do next.
    pub fn reply(&mut self, reply: Value) -> Route {
        let redirect = match &reply {
            Value::Error(e) => Redirect::parse(e),
            _ => None,
        };
        let Some(redirect) = redirect else {
            return Route::Done(reply);
        };
        self.redirections += 1;
        if self.redirections > MAX_REDIRECTIONS {
            return Route::Done(reply);
        }
        match redirect {
            Redirect::Moved { slot, addr } => {
                // redis-py patches the slot, except on every fifth MOVED,
                // which reads the whole map again instead.
                self.moved += 1;
                if self.moved >= REINITIALIZE_STEPS {
                    self.moved = 0;
                    self.refresh_due = true;
                } else {
                    self.map.moved(slot, addr);
                }
                Route::Send { addr, asking: false }
            }
            Redirect::Ask { addr, .. } => Route::Send { addr, asking: true },
        }
    }

    /// Whether the map must be read again before the command goes on: a
    /// [`REINITIALIZE_STEPS`]th MOVED came, or the map owns no slot.
    pub fn needs_refresh(&self) -> bool {
        self.refresh_due || !self.map.owns_any()
    }

    /// A refresh starts: the MOVED that asked for it is answered, whatever
    /// the refresh finds.
    pub fn refresh_started(&mut self) {
        self.refresh_due = false;
    }

    /// Installs a freshly read map; its nodes become the startup nodes
    /// (redis-py's `dynamic_startup_nodes=True`).
    /// A map naming no node leaves the startup nodes as they were.
    pub fn refreshed(&mut self, map: SlotMap) {
        if !map.nodes.is_empty() {
            self.startup = map.nodes.clone();
        }
        self.map = map;
        self.refresh_due = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
    }

    fn args(line: &str) -> Vec<Vec<u8>> {
        resp::split_args(line.as_bytes()).unwrap()
    }

    #[test]
    fn redirect_errors_parse_as_redis_sends_them() {
        assert_eq!(
            Redirect::parse("MOVED 12706 127.0.0.1:6383"),
            Some(Redirect::Moved { slot: 12706, addr: addr(6383) })
        );
        assert_eq!(Redirect::parse("ASK 449 127.0.0.1:6381"), Some(Redirect::Ask { slot: 449, addr: addr(6381) }));
        for bad in ["MOVED", "MOVED 16384 127.0.0.1:1", "MOVED 1 nowhere", "ERR x", "MOVED 1 1.2.3.4:x", "ASK -1 a:1"] {
            assert_eq!(Redirect::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn slot_map_reads_cluster_slots_and_rejects_garbage() {
        let range = |a: i64, b: i64, port: i64| {
            Value::Array(vec![
                Value::Integer(a),
                Value::Integer(b),
                Value::Array(vec![
                    Value::Bulk(b"127.0.0.1".to_vec()),
                    Value::Integer(port),
                    Value::Bulk(vec![b'a'; 40]),
                ]),
            ])
        };
        let reply = Value::Array(vec![range(0, 5460, 6381), range(5461, 10922, 6382), range(10923, 16383, 6383)]);
        let map = SlotMap::from_cluster_slots(&reply).unwrap();
        assert_eq!(map.covered(), SLOTS);
        assert!(map.owns_any() && !SlotMap::default().owns_any());
        let mut empty = SlotMap::default();
        empty.moved(7, addr(6381));
        empty.moved(7, addr(6382));
        assert_eq!(empty.covered(), 1, "a MOVED to an unknown slot covers it, once");
        assert_eq!(map.owner(key_slot(b"k1")), Some(addr(6383)), "k1 is slot 12706");
        assert_eq!(map.owner(key_slot(b"k2")), Some(addr(6381)), "k2 is slot 449");
        assert!(SlotMap::from_cluster_slots(&Value::Array(vec![range(5, 2, 1)])).is_err());
        assert!(SlotMap::from_cluster_slots(&Value::Array(vec![range(0, 16384, 1)])).is_err());
        assert!(SlotMap::from_cluster_slots(&Value::error("ERR This instance has cluster support disabled")).is_err());
    }

    /// The ranges against a table of 16384 owners, over random CLUSTER
    /// SLOTS replies (overlapping ranges included: a later one wins) and
    /// MOVEDs, few owners so that neighbours often share one.
    #[test]
    fn slot_ranges_answer_as_a_table_of_every_slot_would() {
        let mut rng = sim::Rng::stream(7, "slot-map");
        for _ in 0..200 {
            let mut table: Vec<Option<SocketAddrV4>> = vec![None; SLOTS];
            let mut reply = Vec::new();
            for _ in 0..rng.below(6) {
                let start = rng.below(SLOTS as u64);
                let span = if rng.chance(0.5) { 8 } else { 6000 };
                let end = (start + rng.below(span)).min(SLOTS as u64 - 1);
                let port = 6380 + rng.below(3) as u16;
                table[start as usize..=end as usize].fill(Some(addr(port)));
                let master = vec![Value::Bulk(b"127.0.0.1".to_vec()), Value::Integer(i64::from(port))];
                reply.push(Value::Array(vec![
                    Value::Integer(start as i64),
                    Value::Integer(end as i64),
                    Value::Array(master),
                ]));
            }
            let mut map = SlotMap::from_cluster_slots(&Value::Array(reply)).unwrap();
            for _ in 0..rng.below(20) {
                let slot = rng.below(SLOTS as u64) as u16;
                let port = 6380 + rng.below(3) as u16;
                map.moved(slot, addr(port));
                table[usize::from(slot)] = Some(addr(port));
            }
            map.moved(SLOTS as u16, addr(1));
            assert_eq!(map.covered(), table.iter().filter(|o| o.is_some()).count());
            for (slot, owner) in table.iter().enumerate() {
                assert_eq!(map.owner(slot as u16), *owner, "slot {slot}");
            }
            assert!(
                map.ranges
                    .windows(2)
                    .all(|w| w[0].end < w[1].start && (w[0].end + 1 < w[1].start || w[0].addr != w[1].addr))
            );
        }
    }

    #[test]
    fn commands_route_by_their_first_key_in_any_case() {
        assert_eq!(first_key(&args("GET k1")), Some(&b"k1"[..]));
        assert_eq!(first_key(&args("Set k2 v")), Some(&b"k2"[..]));
        assert_eq!(first_key(&args("EvalSha abc 1 k3")), Some(&b"k3"[..]));
        assert_eq!(first_key(&args("eval s 1")), None, "no key given");
        for keyless in ["PING", "cluster slots", "Info", "CONFIG GET x", "flushall", "DBSIZE", "keys *", "scan 0"] {
            assert_eq!(first_key(&args(keyless)), None, "{keyless}");
        }
        assert_eq!(first_key(&args("pingx k")), Some(&b"k"[..]), "only whole names are keyless");
        assert_eq!(first_key(&[]), None);
    }

    #[test]
    fn router_follows_moved_and_ask_and_gives_up_after_the_bound() {
        let mut r = Router::new(addr(6381));
        let set = args("set k1 v1");
        assert_eq!(r.start(&set), Route::Send { addr: addr(6381), asking: false });
        let moved = Value::error("MOVED 12706 127.0.0.1:6383");
        assert_eq!(r.reply(moved.clone()), Route::Send { addr: addr(6383), asking: false });
        assert!(!r.needs_refresh(), "one MOVED patches the slot");
        assert_eq!(r.reply(Value::error("ASK 12706 127.0.0.1:6382")), Route::Send { addr: addr(6382), asking: true });
        assert_eq!(r.map.owner(12706), Some(addr(6383)), "ASK leaves the map alone");
        assert_eq!(r.reply(Value::ok()), Route::Done(Value::ok()));
        // The next command for the same slot goes straight to the MOVED target.
        assert_eq!(r.start(&args("get k1")), Route::Send { addr: addr(6383), asking: false });
        for _ in 0..MAX_REDIRECTIONS {
            assert!(matches!(r.reply(moved.clone()), Route::Send { .. }));
        }
        assert_eq!(r.reply(moved.clone()), Route::Done(moved));
    }

    fn full_map(ports: [u16; 3]) -> SlotMap {
        let node = |port: u16| Value::Array(vec![Value::Bulk(b"127.0.0.1".to_vec()), Value::Integer(i64::from(port))]);
        let range = |a: i64, b: i64, master: u16, replica: u16| {
            Value::Array(vec![Value::Integer(a), Value::Integer(b), node(master), node(replica)])
        };
        let [a, b, c] = ports;
        let reply =
            Value::Array(vec![range(0, 5460, a, a + 3), range(5461, 10922, b, b + 3), range(10923, 16383, c, a + 3)]);
        SlotMap::from_cluster_slots(&reply).unwrap()
    }

    /// redis-py 5.x: every fifth MOVED reads the map again instead of
    /// patching the slot; the map's nodes, replicas too, in the reply's order,
    /// become the startup nodes; a node whose command failed leaves them.
    #[test]
    fn every_fifth_moved_refreshes_and_startup_nodes_follow_the_map() {
        let mut r = Router::with_startup(vec![addr(7001), addr(7002)]);
        r.refreshed(full_map([7001, 7002, 7003]));
        assert_eq!(r.startup(), [addr(7001), addr(7004), addr(7002), addr(7005), addr(7003)]);
        let moved = |slot: u16| Value::error(format!("MOVED {slot} 127.0.0.1:7009"));
        for slot in 0..4 {
            r.new_command();
            assert_eq!(r.reply(moved(slot)), Route::Send { addr: addr(7009), asking: false });
            assert!(!r.needs_refresh(), "MOVED {}: the slot is patched", slot + 1);
            assert_eq!(r.map.owner(slot), Some(addr(7009)));
        }
        r.new_command();
        r.reply(moved(4));
        assert!(r.needs_refresh(), "the fifth MOVED");
        assert_eq!(r.map.owner(4), Some(addr(7001)), "not patched: the map is read again");
        r.forget(addr(7004));
        assert_eq!(r.startup(), [addr(7001), addr(7002), addr(7005), addr(7003)]);
        r.refreshed(SlotMap::default());
        assert!(r.needs_refresh(), "an empty map refreshes again");
        assert_eq!(r.startup().len(), 4, "an empty map leaves the startup nodes");
        r.refreshed(full_map([7001, 7002, 7003]));
        assert!(!r.needs_refresh());
        assert_eq!(r.startup()[1], addr(7004), "named again, back in the startup nodes");
        assert_eq!(r.route(&args("get k1")), Some(addr(7003)));
        assert_eq!(r.route(&args("ping")), Some(addr(7001)), "keyless: the seed");
    }

    #[test]
    fn merged_replies_keep_the_first_answer_for_each_slot() {
        let owner = |port: u16, a: i64, b: i64| {
            let node = Value::Array(vec![Value::Bulk(b"127.0.0.1".to_vec()), Value::Integer(i64::from(port))]);
            Value::Array(vec![Value::Integer(a), Value::Integer(b), node])
        };
        let partial = |ranges: Vec<Value>| SlotMap::from_cluster_slots(&Value::Array(ranges)).unwrap();
        let mut map = partial(vec![owner(1, 100, 199), owner(2, 300, 399)]);
        map.merge_missing(&partial(vec![owner(3, 0, 16383)]));
        assert_eq!(map.covered(), SLOTS);
        for (slot, port) in [(0, 3), (99, 3), (100, 1), (199, 1), (200, 3), (300, 2), (399, 2), (400, 3), (16383, 3)] {
            assert_eq!(map.owner(slot), Some(addr(port)), "slot {slot}");
        }
        assert_eq!(map.nodes(), [addr(1), addr(2), addr(3)]);
        let mut empty = SlotMap::default();
        empty.merge_missing(&partial(vec![owner(4, 16383, 16383)]));
        assert_eq!((empty.covered(), empty.owner(16383)), (1, Some(addr(4))));
    }
}
