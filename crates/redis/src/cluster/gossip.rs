//! The cluster bus at work (cluster.c `clusterCron`, `clusterProcessPacket`,
//! `clusterSendPing`, `clusterUpdateState`, `clusterSaveConfig`): links over
//! the kernel's connections, the 100 ms cron, gossip, handshakes, epochs,
//! slot-ownership updates, cluster state and nodes.conf.
//!
//! Its size follows cluster.c on purpose: each function names the C function it
//! mirrors, so the file can be read side by side with upstream.

use super::bus::{self, Body, GossipSection, Header, Message};
use super::failover::observe_peer;
use super::frame::GossipFrame;
use super::{Cluster, CronAction, CronTimes, Link, Machinery, NodeIp, NodeName, PickKind};
use super::{
    FAIL, HANDSHAKE, MASTER, MEET, MYSELF, NOADDR, NOFAILOVER, PFAIL, SLAVE, SLOTS, TODO_FSYNC_CONFIG,
    TODO_HANDLE_FAILOVER, TODO_HANDLE_MANUALFAILOVER, TODO_SAVE_CONFIG, TODO_UPDATE_STATE,
};
use crate::server::Server;
use sim::{ConnId, Ctx, Health};
use std::net::{Ipv4Addr, SocketAddrV4};

/// `CLUSTER_WRITABLE_DELAY`: a master stays FAIL this long after start.
const WRITABLE_DELAY_MS: i64 = 2000;
const MIN_REJOIN_DELAY_MS: i64 = 500;
const MAX_REJOIN_DELAY_MS: i64 = 5000;

/// Which nodes a PONG broadcast reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broadcast {
    All,
    LocalSlaves,
}

impl Server {
    pub(crate) fn cl(&mut self) -> &mut Cluster {
        self.cluster.as_deref_mut().expect("cluster mode")
    }

    pub(crate) fn clr(&self) -> &Cluster {
        self.cluster.as_deref().expect("cluster mode")
    }

    pub(crate) fn node_timeout(&self) -> i64 {
        self.config.cluster.node_timeout as i64
    }

    /// `clusterInit`: loads nodes.conf or creates a new identity, and listens
    /// on the bus port. False if the server must not start.
    pub(crate) fn cluster_init(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let now = ctx.wall_clock_ms();
        let file = self.config.cluster.config_file.clone();
        let text = ctx.disk().read(&file).map(|b| String::from_utf8_lossy(b).into_owned());
        let fresh = text.as_deref().is_none_or(|t| t.trim().is_empty());
        let machinery = if self.config.cluster.plain_tables { Machinery::Plain } else { Machinery::Fast };
        let cluster = if fresh {
            let c = Cluster::new_with(random_name(ctx), now, machinery);
            self.log(ctx, '*', &format!("No cluster configuration found, I'm {}", c.me().name()));
            c
        } else {
            match Cluster::load(text.as_deref().unwrap_or(""), now, machinery) {
                Ok(mut c) => {
                    c.saved_once = true;
                    // A link to and one from every known node, soon: sized once
                    // rather than grown (and rehashed) through every power of two.
                    c.links.reserve(2 * c.known_nodes());
                    self.log(ctx, '*', &format!("Node configuration loaded, I'm {}", c.me().name()));
                    c
                }
                Err(e) => {
                    self.log(ctx, '#', &e);
                    ctx.exit();
                    return false;
                }
            }
        };
        self.cluster = Some(Box::new(cluster));
        if fresh {
            self.save_cluster_config(ctx, true);
        }
        let port = self.config.port;
        let bus_port = if self.config.cluster.port != 0 { self.config.cluster.port } else { port.wrapping_add(10000) };
        if self.config.cluster.port == 0 && port > 55535 {
            self.log(ctx, '#', "Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.");
            ctx.exit();
            return false;
        }
        if ctx.listen(bus_port).is_err() {
            self.log(
                ctx,
                '#',
                &format!(
                    "Warning: Could not create server TCP listening socket *:{bus_port}: bind: Address already in use"
                ),
            );
            self.log(ctx, '#', &format!("Failed listening on port {bus_port} (cluster), aborting."));
            ctx.exit();
            return false;
        }
        let c = self.cl();
        c.bus_port = bus_port;
        c.saved_once = true;
        let me = c.me_mut();
        me.set_address(me.ip(), port, bus_port);
        true
    }

    /// `clusterSaveConfig`: nodes.conf on the node's disk, fsynced when asked.
    pub(crate) fn save_cluster_config(&mut self, ctx: &mut Ctx<'_>, fsync: bool) {
        let text = self.clr().config_text();
        let file = self.config.cluster.config_file.clone();
        let disk = ctx.disk();
        disk.write(&file, text.as_bytes());
        if fsync {
            disk.fsync(&file);
        }
    }

    /// `clusterBeforeSleep`.
    pub(crate) fn cluster_before_sleep(&mut self, ctx: &mut Ctx<'_>) {
        let todo = std::mem::take(&mut self.cl().todo);
        if todo == 0 {
            return;
        }
        if todo & TODO_HANDLE_MANUALFAILOVER != 0 {
            if self.clr().me().is_slave() {
                self.handle_manual_failover(ctx);
                self.handle_slave_failover(ctx);
            }
        } else if todo & TODO_HANDLE_FAILOVER != 0 {
            self.handle_slave_failover(ctx);
        }
        if todo & TODO_UPDATE_STATE != 0 {
            self.update_cluster_state(ctx);
        }
        if todo & TODO_SAVE_CONFIG != 0 {
            self.save_cluster_config(ctx, todo & TODO_FSYNC_CONFIG != 0);
        }
        // Work the steps above flagged again waits for the next input, as in Redis.
    }

    /// `clusterCron`, every 100 ms.
    pub(crate) fn cluster_cron(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.wall_clock_ms();
        let nt = self.node_timeout();
        let handshake_timeout = nt.max(1000);
        // A load or a full sync replaced the dataset: index its slots again.
        self.dbs[0].track_slots();
        if self.clr().paused_until.is_some_and(|t| now >= t) {
            self.cl().paused_until = None;
            self.resume_paused_clients(ctx);
        }
        self.update_myself_flags();
        // The slot table's derived counts and bitmap agree with its owners
        // (a read of all 16384 slots, so only in debug builds, and only
        // after a slot changed owner).
        #[cfg(debug_assertions)]
        if std::mem::take(&mut self.cl().slots_changed)
            && let Some(problem) = self.clr().slot_table_problem()
        {
            panic!("cluster slot table: {problem}");
        }
        let c = self.cl();
        c.iteration += 1;
        let iteration = c.iteration;
        c.stats_pfail_nodes = 0;
        let mut update_state = false;
        // The nodes the second pass below can act on: those with a ping
        // pending, or linked with the last PONG older than half the timeout,
        // as this pass finds them, and those this pass connects or deletes.
        // Nothing between the passes makes another node one (the random PING
        // leaves its node with a ping just sent, which the pass never acts
        // on), so the pass visits only these, in the same slab order; a
        // migration check or a manual failover takes it over every node.
        // A quiet cluster's tick has none or a few, and the full walk is a
        // read of every node.
        let mut candidates = std::mem::take(&mut c.cron_scratch);
        let mut actions = std::mem::take(&mut c.cron_actions);
        candidates.clear();
        actions.clear();
        // Slab order: deterministic, and no allocation per tick on big clusters.
        let times = CronTimes { now, node_timeout: nt, handshake_timeout };
        c.stats_pfail_nodes = c.cron_scan(times, &mut candidates, &mut actions);
        for &(i, action) in &actions {
            match action {
                CronAction::Delete => self.delete_node(ctx, i as usize),
                CronAction::Connect => self.connect_node(ctx, i as usize, now),
            }
        }
        self.cl().cron_actions = actions;
        // About once a second, ping the node with the oldest pong among five random ones.
        if iteration.is_multiple_of(10) {
            let mut best: Option<(usize, i64)> = None;
            for _ in 0..5 {
                let Some(i) = self.random_node(ctx) else { continue };
                let n = self.clr().node(i);
                if n.link().is_none() || n.ping_sent != 0 || n.flags & (MYSELF | HANDSHAKE) != 0 {
                    continue;
                }
                if best.is_none_or(|(_, p)| p > n.pong_received) {
                    best = Some((i, n.pong_received));
                }
            }
            if let Some((i, _)) = best {
                self.send_ping_to(ctx, i, bus::PING);
            }
        }
        let mut orphaned_masters = 0;
        let mut max_slaves = 0;
        let mut this_slaves = 0;
        let my_master = self.clr().me().slaveof;
        let i_am_slave = self.clr().me().is_slave();
        // The counts below only decide whether to migrate, which needs our
        // master among those with the most working replicas, at least two:
        // unless it has two, no count can change anything, and counting
        // every master's replicas each tick is a walk through cold data.
        let c = self.clr();
        let counted = |m: usize| {
            let n = c.node(m);
            n.flags & (MYSELF | NOADDR | HANDSHAKE) == 0 && n.is_master() && !n.failed()
        };
        let may_migrate = i_am_slave
            && self.config.cluster.allow_replica_migration
            && my_master.is_some_and(|m| counted(m) && c.count_non_failing_replicas(m) >= 2);
        if may_migrate || c.mf_end != 0 {
            candidates.clear();
            candidates.extend(0..c.slab_len() as u32);
        }
        for &i in &candidates {
            let i = i as usize;
            let c = self.clr();
            let Some(n) = c.get(i) else { continue };
            if n.flags & (MYSELF | NOADDR | HANDSHAKE) != 0 {
                continue;
            }
            if may_migrate && n.is_master() && !n.failed() {
                let ok = c.count_non_failing_replicas(i);
                if ok == 0 && n.numslots > 0 && n.flags & super::MIGRATE_TO != 0 {
                    orphaned_masters += 1;
                }
                max_slaves = max_slaves.max(ok);
                if my_master == Some(i) {
                    this_slaves = ok;
                }
            }
            // Only a node with a ping pending needs its (cold) data time.
            if n.ping_sent != 0
                && now - n.ping_sent > nt / 2
                && now - n.data_received > nt / 2
                && let Some(conn) = n.link()
                && c.links.get(&conn).is_some_and(|l| now - l.ctime > nt)
            {
                // No answer and no traffic for half the timeout: try a fresh connection.
                self.free_link(ctx, conn);
            }
            let c = self.clr();
            let n = c.node(i);
            if n.linked() && n.ping_sent == 0 && now - n.pong_received > nt / 2 {
                self.send_ping_to(ctx, i, bus::PING);
                continue;
            }
            if c.mf_end != 0 && c.me().is_master() && c.mf_slave == Some(i) && n.link().is_some() {
                self.send_ping_to(ctx, i, bus::PING);
                continue;
            }
            if n.ping_sent == 0 {
                continue;
            }
            if now - n.ping_sent > nt && now - n.data_received > nt && n.flags & (PFAIL | FAIL) == 0 {
                let name = n.name();
                self.cl().node_mut(i).flags |= PFAIL;
                update_state = true;
                observe_peer(ctx, &name, Health::Suspect);
                self.log(ctx, '.', &format!("*** NODE {name} possibly failing"));
            }
        }
        self.cl().cron_scratch = candidates;
        // A replica restarted from nodes.conf starts replicating here.
        let c = self.clr();
        if let Some(m) = c.me().slaveof
            && c.me().is_slave()
            && self.repl.master.is_none()
            && c.node(m).flags & NOADDR == 0
            && !c.node(m).ip().is_empty()
        {
            let (ip, port) = (c.node(m).ip().to_string(), c.node(m).port());
            self.set_master(ctx, ip, port);
        }
        self.manual_failover_check_timeout(ctx, now);
        if self.clr().me().is_slave() {
            self.handle_manual_failover(ctx);
            self.handle_slave_failover(ctx);
            if orphaned_masters > 0
                && max_slaves >= 2
                && this_slaves == max_slaves
                && self.config.cluster.allow_replica_migration
            {
                self.handle_slave_migration(ctx, max_slaves);
            }
        }
        if update_state || !self.clr().state_ok {
            self.update_cluster_state(ctx);
        }
    }

    /// `clusterUpdateMyselfFlags`: `cluster-replica-no-failover` shows as `nofailover`.
    pub(crate) fn update_myself_flags(&mut self) {
        let want = if self.config.cluster.replica_no_failover { NOFAILOVER } else { 0 };
        let c = self.cl();
        if c.me().flags & NOFAILOVER != want {
            let me = c.me_mut();
            me.flags = (me.flags & !NOFAILOVER) | want;
            c.todo |= TODO_SAVE_CONFIG;
        }
    }

    fn random_node(&mut self, ctx: &mut Ctx<'_>) -> Option<usize> {
        let len = self.clr().slab_len() as u64;
        let i = ctx.rng().below(len) as usize;
        self.clr().get(i).map(|_| i)
    }

    fn connect_node(&mut self, ctx: &mut Ctx<'_>, i: usize, now: i64) {
        let n = self.clr().node(i);
        let Ok(ip) = n.ip().parse::<Ipv4Addr>() else {
            // No usable address yet: failure detection still needs a pending ping.
            if n.ping_sent == 0 {
                self.cl().node_mut(i).ping_sent = now;
            }
            return;
        };
        let conn = ctx.connect(SocketAddrV4::new(ip, n.cport()));
        let c = self.cl();
        c.links.insert(conn, Link::new(Some(i), ip, now, false));
        c.node_mut(i).set_link(Some(conn));
        c.node_mut(i).link_slot = tag_with_slot(ctx, c, conn);
    }

    /// `clusterDelNode` plus closing its links.
    pub(crate) fn delete_node(&mut self, ctx: &mut Ctx<'_>, i: usize) {
        for conn in self.cl().del_node(i) {
            ctx.close(conn);
        }
    }

    /// `freeClusterLink`.
    pub(crate) fn free_link(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let c = self.cl();
        let Some(link) = c.links.remove(&conn) else { return };
        if let Some(i) = link.node()
            && let Some(n) = c.get_mut(i)
        {
            if n.link() == Some(conn) {
                n.set_link(None);
            }
            if n.inbound == Some(conn) {
                n.inbound = None;
            }
        }
        ctx.close(conn);
    }

    pub(crate) fn bus_owns(&self, conn: ConnId) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.links.contains_key(&conn))
    }

    pub(crate) fn bus_accept(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, peer: SocketAddrV4) {
        let now = ctx.wall_clock_ms();
        let c = self.cl();
        c.links.insert(conn, Link::new(None, *peer.ip(), now, true));
        tag_with_slot(ctx, c, conn);
    }

    /// `clusterLinkConnectHandler`: PING (or MEET) at once, keeping an older pending ping's time.
    pub(crate) fn bus_connected(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let c = self.cl();
        let Some(link) = c.links.get_mut(&conn) else { return };
        link.connected = true;
        let pending = std::mem::take(&mut link.held);
        let node = link.node();
        if !pending.is_empty() {
            ctx.send(conn, &pending);
        }
        let Some(i) = node else { return };
        let old_ping_sent = self.clr().node(i).ping_sent;
        let kind = if self.clr().node(i).flags & MEET != 0 { bus::MEET } else { bus::PING };
        self.send_ping(ctx, conn, kind);
        let n = self.cl().node_mut(i);
        if old_ping_sent != 0 {
            n.ping_sent = old_ping_sent;
        }
        n.flags &= !MEET;
    }

    /// The connect handler's failure branch: the link goes; a pending ping stays pending.
    pub(crate) fn bus_connect_failed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, error: sim::ConnectError) {
        let c = self.clr();
        if let Some(i) = c.links.get(&conn).and_then(Link::node) {
            let n = c.node(i);
            let why = match error {
                sim::ConnectError::Refused => "Connection refused",
                sim::ConnectError::TimedOut => "Connection timed out",
                sim::ConnectError::Unreachable => "No route to host",
            };
            self.log_with(ctx, '-', || {
                format!("Connection with Node {} at {}:{} failed: {why}", n.name(), n.ip(), n.cport())
            });
        }
        self.free_link(ctx, conn);
    }

    pub(crate) fn bus_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        let Some(link) = self.cl().links.get_mut(&conn) else { return };
        // Whole frames are read straight from the delivered bytes; only a partial
        // frame waits in the link's buffer, which is dropped once it completes, so
        // a thousand idle links hold no message-sized buffers.
        let mut buffered = std::mem::take(&mut link.held);
        let data: &[u8] = if buffered.is_empty() {
            bytes
        } else {
            buffered.extend_from_slice(bytes);
            &buffered
        };
        // A PING is 12 KiB at 1,000 nodes, written long enough ago to be out
        // of cache. One load per line, all independent, fetches it in
        // parallel; read where it is used (name by name, between lookups in
        // tables), each line would be waited for in turn.
        std::hint::black_box(data.iter().step_by(64).fold(0u8, |seen, &b| seen ^ b));
        let mut pos = 0;
        while let Some(len) = bus::Message::announced_len(&data[pos..]) {
            if &data[pos..pos + 4] != b"RCmb" || len < bus::HEADER_LEN {
                self.log(ctx, '-', "Bad message length or signature received from Cluster bus.");
                self.free_link(ctx, conn);
                return;
            }
            if data.len() - pos < len {
                break;
            }
            let frame = &data[pos..pos + len];
            pos += len;
            crate::costs::spend(ctx, self.costs.bus_message);
            match Message::decode(frame) {
                Ok(msg) => self.process_packet(ctx, conn, &msg),
                Err(_) => {
                    self.free_link(ctx, conn);
                    return;
                }
            }
            if !self.bus_owns(conn) {
                return;
            }
        }
        if pos < data.len() {
            let tail = data[pos..].to_vec();
            if let Some(link) = self.cl().links.get_mut(&conn) {
                link.held = tail;
            }
        }
    }

    /// The slots every header carries: its own, or its master's for a replica.
    fn header_slots(&self) -> std::cell::Ref<'_, bus::SlotBits> {
        let c = self.clr();
        let me = c.me();
        match me.slaveof {
            Some(m) if me.is_slave() => c.slot_bits(m),
            _ => c.slot_bits(c.myself),
        }
    }

    /// Builds the header every message carries (`clusterBuildMessageHdr`).
    fn bus_header<'a>(&self, kind: u16, slots: &'a bus::SlotBits) -> Header<'a> {
        let c = self.clr();
        let me = c.me();
        let master = if me.is_slave() { me.slaveof } else { None };
        let config_epoch = match master {
            Some(m) => c.node(m).config_epoch,
            None => me.config_epoch,
        };
        Header {
            kind,
            port: self.config.port,
            current_epoch: c.current_epoch,
            config_epoch,
            offset: self.repl.offset.max(0) as u64,
            sender: me.name(),
            slot_blocks: c.slot_blocks(slots),
            slots,
            slaveof: master.map(|m| c.node(m).name()),
            myip: bus::Field::new(""),
            cport: c.bus_port,
            pport: 0,
            flags: me.flags,
            state: if c.state_ok { 0 } else { 1 },
            mflags: if me.is_master() && c.mf_end != 0 { bus::MFLAG_PAUSED } else { 0 },
        }
    }

    /// Sends a message of type `kind` that `encode` writes: straight into the
    /// kernel's buffer on a connected link, after the link's pending bytes
    /// while it is still connecting.
    fn bus_send_with(
        &mut self,
        ctx: &mut Ctx<'_>,
        conn: ConnId,
        kind: u16,
        encode: impl FnOnce(&Server, &mut Vec<u8>),
    ) {
        let Some(connected) = self.bus_sending(ctx, conn, kind) else { return };
        if connected {
            ctx.send_with(conn, |buf| encode(self, buf));
        } else {
            let mut pending = Vec::new();
            encode(self, &mut pending);
            if let Some(link) = self.cl().links.get_mut(&conn) {
                link.held.extend_from_slice(&pending);
            }
        }
    }

    /// Sends `frame` as [`Server::bus_send_with`] sends bytes, held as built
    /// while it waits to leave or to be read.
    fn bus_send_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, kind: u16, frame: GossipFrame) {
        let Some(connected) = self.bus_sending(ctx, conn, kind) else { return };
        if connected {
            ctx.send_frame(conn, Box::new(frame));
        } else if let Some(link) = self.cl().links.get_mut(&conn) {
            sim::Frame::write(&frame, &mut link.held);
        }
    }

    /// Counts a message of type `kind` about to be sent on `conn` and
    /// spends its CPU; whether the link is connected, `None` without a link.
    fn bus_sending(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, kind: u16) -> Option<bool> {
        let connected = self.clr().links.get(&conn)?.connected;
        crate::costs::spend(ctx, self.costs.bus_message);
        if let Some(n) = self.cl().stats_sent.get_mut(kind as usize) {
            *n += 1;
        }
        Some(connected)
    }

    /// Sends a header and `body`.
    pub(crate) fn bus_send(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, kind: u16, body: &Body<'_>, mflags: u8) {
        self.bus_send_with(ctx, conn, kind, |server, out| {
            let slots = server.header_slots();
            let mut header = server.bus_header(kind, &slots);
            header.mflags |= mflags;
            Message { header, body: body.clone() }.encode(out);
        });
    }

    pub(crate) fn send_ping_to(&mut self, ctx: &mut Ctx<'_>, i: usize, kind: u16) {
        let c = self.clr();
        if let Some(conn) = c.node(i).link() {
            c.links.hint(&conn, c.node(i).link_slot);
            self.send_ping(ctx, conn, kind);
        }
    }

    /// `clusterSendPing`: a PING/PONG/MEET with the gossip section Redis picks.
    pub(crate) fn send_ping(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, kind: u16) {
        let now = ctx.wall_clock_ms();
        let known = self.clr().known_nodes();
        let mut freshnodes = known as i64 - 2;
        let wanted = ((known / 10).max(3) as i64).min(freshnodes).max(0);
        let link_node = self.clr().links.get(&conn).and_then(Link::node);
        if kind == bus::PING
            && let Some(i) = link_node
        {
            self.cl().node_mut(i).ping_sent = now;
        }
        let c = self.cl();
        let mut pfail_wanted = c.stats_pfail_nodes;
        c.gossip_taken.fill(0);
        let mut picked = std::mem::take(&mut c.gossip_scratch);
        picked.clear();
        // Redis's loop: up to wanted × 3 random draws, each a node or a free
        // entry. Each pick reads a random node, a cache miss on a big table,
        // and one pick after the other would wait for memory each time. So
        // the draws are made in batches, their nodes' facts read in one pass
        // (the misses overlap), then the loop run on those facts. A draw adds
        // at most one node and uses up at most one iteration and one fresh
        // node, so a batch no bigger than what is left of each is used in full
        // before the loop could stop: the stream is drawn exactly as far as
        // Redis's one-by-one loop would draw it.
        let slab = c.slab_len().max(1) as u64;
        let mut iterations = wanted * 3;
        let mut draws = std::mem::take(&mut c.draws_scratch);
        while freshnodes > 0 && (picked.len() as i64) < wanted && iterations > 0 {
            let batch = (wanted - picked.len() as i64).min(iterations).min(freshnodes) as usize;
            draws.clear();
            draws.extend(ctx.rng().below_each(slab, batch).map(|i| (i as u32, PickKind::Skip)));
            let c = self.cl();
            std::hint::black_box(c.touch_entries(draws.iter().map(|d| d.0)));
            for draw in draws.iter_mut() {
                draw.1 = c.pick_kind(draw.0 as usize);
            }
            for &(i, kind) in &draws {
                iterations -= 1;
                match kind {
                    PickKind::Skip => continue,
                    PickKind::Stale => {
                        freshnodes -= 1;
                        continue;
                    }
                    PickKind::Fresh => {}
                }
                let i = i as usize;
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                if c.gossip_taken[word] & bit != 0 {
                    continue;
                }
                c.gossip_taken[word] |= bit;
                picked.push(i as u32);
                freshnodes -= 1;
            }
        }
        self.cl().draws_scratch = draws;
        if pfail_wanted > 0 {
            let c = self.clr();
            for &i in c.by_name.values() {
                if pfail_wanted == 0 {
                    break;
                }
                let n = c.node(i);
                if n.flags & (HANDSHAKE | NOADDR) != 0 || !n.timed_out() {
                    continue;
                }
                picked.push(i as u32);
                pfail_wanted -= 1;
            }
        }
        std::hint::black_box(self.clr().touch_identities(&picked));
        let frame = self.gossip_frame(kind, &picked);
        self.bus_send_frame(ctx, conn, kind, frame);
        self.cl().gossip_scratch = picked;
    }

    /// A message of type `kind` gossiping about slab entries `picked`.
    fn gossip_frame(&mut self, kind: u16, picked: &[u32]) -> GossipFrame {
        let mut bytes = self.cl().headers.take_scratch();
        {
            let slots = self.header_slots();
            self.bus_header(kind, &slots).encode(picked.len(), picked.len() * bus::GOSSIP_LEN, &mut bytes);
        }
        let c = self.cl();
        let header = c.headers.share(kind, bytes);
        let c = self.clr();
        GossipFrame::new(header, picked.iter().map(|&i| c.node(i as usize)))
    }

    /// Sends a header-only or fixed-payload message to every linked node but handshake ones.
    pub(crate) fn broadcast(&mut self, ctx: &mut Ctx<'_>, kind: u16, body: Body<'_>, mflags: u8) {
        let c = self.clr();
        let targets: Vec<ConnId> = c
            .by_name
            .values()
            .filter_map(|&i| {
                let n = c.node(i);
                (n.flags & (MYSELF | HANDSHAKE) == 0).then_some(n.link()).flatten()
            })
            .collect();
        for conn in targets {
            self.bus_send(ctx, conn, kind, &body, mflags);
        }
    }

    /// `clusterPropagatePublishShard`: to every other node of this node's
    /// shard (its master, or itself, then that master's replicas) that has a link.
    pub(crate) fn send_to_shard(&mut self, ctx: &mut Ctx<'_>, kind: u16, body: Body<'_>) {
        let c = self.clr();
        let master = c.me().slaveof.unwrap_or(c.myself);
        let shard = std::iter::once(master).chain(c.node(master).replicas.iter().copied());
        let targets: Vec<ConnId> = shard.filter(|&i| i != c.myself).filter_map(|i| c.node(i).link()).collect();
        for conn in targets {
            self.bus_send(ctx, conn, kind, &body, 0);
        }
    }

    /// `clusterBroadcastPong`.
    pub(crate) fn broadcast_pong(&mut self, ctx: &mut Ctx<'_>, target: Broadcast) {
        let c = self.clr();
        let my_master = c.me().slaveof;
        let conns: Vec<ConnId> = c
            .by_name
            .values()
            .filter_map(|&i| {
                let n = c.node(i);
                if n.flags & (MYSELF | HANDSHAKE) != 0 {
                    return None;
                }
                if target == Broadcast::LocalSlaves && !(n.is_slave() && n.slaveof.is_some() && n.slaveof == my_master)
                {
                    return None;
                }
                n.link()
            })
            .collect();
        for conn in conns {
            self.send_ping(ctx, conn, bus::PONG);
        }
    }

    /// `clusterSendUpdate`: tells a stale node who owns its slots now.
    fn send_update(&mut self, ctx: &mut Ctx<'_>, conn: Option<ConnId>, about: usize) {
        let Some(conn) = conn else { return };
        let c = self.clr();
        let (config_epoch, name) = (c.node(about).config_epoch, c.node(about).name());
        let slots = Box::new(*c.slot_bits(about));
        self.bus_send(ctx, conn, bus::UPDATE, &Body::Update { config_epoch, name, slots: &slots }, 0);
    }

    pub(crate) fn send_to(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, kind: u16) {
        self.bus_send(ctx, conn, kind, &Body::Empty, 0);
    }

    /// `clusterProcessPacket`.
    fn process_packet(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg: &Message<'_>) {
        let now = ctx.wall_clock_ms();
        let h = &msg.header;
        let kind = h.kind;
        let c = self.cl();
        if let Some(n) = c.stats_received.get_mut(kind as usize) {
            *n += 1;
        }
        let Some(link) = c.links.get(&conn) else { return };
        let (link_inbound, link_node, peer_ip) = (link.inbound, link.node(), Some(link.peer_ip));
        let sender = match link_node {
            Some(i) if !c.node(i).in_handshake() => Some(i),
            _ => c.lookup(&h.sender),
        };
        if let Some(s) = sender {
            c.node_mut_keeping_cron_note(s).data_received = now;
            if link_inbound && link_node.is_none() {
                if let Some(l) = c.links.get_mut(&conn) {
                    l.set_node(Some(s));
                }
                c.node_mut(s).inbound = Some(conn);
            }
        }
        let mut sender_current_epoch = 0;
        if let Some(s) = sender
            && !c.node(s).in_handshake()
        {
            sender_current_epoch = h.current_epoch;
            let sender_config_epoch = h.config_epoch;
            if sender_current_epoch > c.current_epoch {
                c.current_epoch = sender_current_epoch;
            }
            if sender_config_epoch > c.node(s).config_epoch {
                c.node_mut_keeping_cron_note(s).config_epoch = sender_config_epoch;
                c.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
            }
            c.node_mut_keeping_cron_note(s).repl_offset = h.offset as i64;
            if c.mf_end != 0
                && c.me().is_slave()
                && c.me().slaveof == Some(s)
                && h.mflags & bus::MFLAG_PAUSED != 0
                && c.mf_master_offset == -1
            {
                c.mf_master_offset = h.offset as i64;
                c.todo |= TODO_HANDLE_MANUALFAILOVER;
                let off = c.mf_master_offset;
                self.log(ctx, '#', &format!("Received replication offset for paused master manual failover: {off}"));
            }
        }
        if kind == bus::PING || kind == bus::MEET {
            let c = self.cl();
            if kind == bus::MEET || c.me().ip().is_empty() {
                let my_ip = ctx.ip().to_string();
                if *c.me().ip() != *my_ip {
                    let me = c.me_mut();
                    me.set_address(NodeIp::new(&my_ip), me.port(), me.cport());
                    c.todo |= TODO_SAVE_CONFIG;
                    self.log(ctx, '#', &format!("IP address for this node updated to {my_ip}"));
                }
            }
            if sender.is_none() && kind == bus::MEET {
                let name = random_name(ctx);
                let c2 = self.cl();
                let i = c2.create_node(name, HANDSHAKE, now);
                let ip = if h.myip.is_empty() { peer_address(peer_ip) } else { NodeIp::new(&h.myip.text()) };
                c2.node_mut(i).set_address(ip, h.port, h.cport);
                c2.todo |= TODO_SAVE_CONFIG;
                self.process_gossip(ctx, msg, None, now);
            }
            self.send_ping(ctx, conn, bus::PONG);
        }
        let h = &msg.header;
        match kind {
            bus::PING | bus::PONG | bus::MEET => {
                if !link_inbound && let Some(ln) = link_node {
                    let c = self.cl();
                    if c.node(ln).in_handshake() {
                        if let Some(s) = sender {
                            // We already know it: keep the known node, drop the handshake one.
                            self.update_address_if_needed(ctx, s, conn, peer_ip, h);
                            self.delete_node(ctx, ln);
                            self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                            return;
                        }
                        c.rename(ln, &h.sender);
                        let n = c.node_mut(ln);
                        n.flags &= !HANDSHAKE;
                        n.flags |= h.flags & (MASTER | SLAVE);
                        c.todo |= TODO_SAVE_CONFIG;
                        // Redis had no sender for this packet: only the PONG bookkeeping
                        // below applies; roles, slots and gossip wait for the next one.
                        if kind == bus::PONG {
                            let n = c.node_mut(ln);
                            n.pong_received = now;
                            n.ping_sent = 0;
                        }
                        return;
                    } else if c.node(ln).name() != h.sender {
                        let n = c.node_mut(ln);
                        n.flags |= NOADDR;
                        n.set_address(NodeIp::default(), 0, 0);
                        c.todo |= TODO_SAVE_CONFIG;
                        self.free_link(ctx, conn);
                        return;
                    }
                }
                if let Some(s) = sender {
                    self.process_known_ping(ctx, conn, msg, s);
                }
            }
            bus::FAIL => {
                let Body::Fail(about) = &msg.body else { return };
                match sender {
                    Some(_) => {
                        let c = self.cl();
                        if let Some(f) = c.lookup(about)
                            && c.node(f).flags & (FAIL | MYSELF) == 0
                        {
                            let n = c.node_mut(f);
                            n.flags = (n.flags | FAIL) & !PFAIL;
                            n.fail_time = now;
                            c.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                            observe_peer(ctx, about, Health::Failed);
                            self.log(ctx, '*', &format!("FAIL message received from {} about {about}", h.sender));
                        }
                    }
                    None => self.log(
                        ctx,
                        '*',
                        &format!("Ignoring FAIL message from unknown node {} about {about}", h.sender),
                    ),
                }
            }
            bus::AUTH_REQUEST => {
                if let Some(s) = sender {
                    self.send_failover_auth_if_needed(ctx, s, h, now);
                }
            }
            bus::AUTH_ACK => {
                let c = self.cl();
                if let Some(s) = sender
                    && c.node(s).is_master()
                    && c.node(s).numslots > 0
                    && sender_current_epoch >= c.failover_auth_epoch
                {
                    c.failover_auth_count += 1;
                    c.todo |= TODO_HANDLE_FAILOVER;
                }
            }
            bus::MFSTART => {
                let c = self.cl();
                let myself = c.myself;
                let Some(s) = sender.filter(|&s| c.node(s).slaveof == Some(myself)) else { return };
                self.reset_manual_failover(ctx);
                let c = self.cl();
                c.mf_end = now + super::failover::MF_TIMEOUT_MS;
                c.mf_slave = Some(s);
                c.paused_until = Some(now + super::failover::MF_TIMEOUT_MS * 2);
                let name = c.node(s).name();
                self.log(ctx, '#', &format!("Manual failover requested by replica {name}."));
                self.send_ping(ctx, conn, bus::PING);
            }
            bus::PUBLISH => {
                if let (Some(_), &Body::Publish { channel, message }) = (sender, &msg.body) {
                    self.pubsub.publish_to(ctx, channel, message, |ctx, c, b| self.outputs.write(ctx, c, b));
                }
            }
            bus::PUBLISHSHARD => {
                if let (Some(_), &Body::Publish { channel, message }) = (sender, &msg.body) {
                    self.pubsub.spublish_to(ctx, channel, message, |ctx, c, b| self.outputs.write(ctx, c, b));
                }
            }
            bus::UPDATE => {
                let Body::Update { config_epoch, name, slots } = &msg.body else { return };
                if sender.is_none() {
                    return;
                }
                let c = self.cl();
                let Some(n) = c.lookup(name) else { return };
                if c.node(n).config_epoch >= *config_epoch {
                    return;
                }
                if c.node(n).is_slave() {
                    c.set_node_as_master(n);
                }
                c.node_mut(n).config_epoch = *config_epoch;
                c.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
                self.update_slots_config_with(ctx, n, *config_epoch, slots);
            }
            _ => {}
        }
    }

    /// The PING/PONG/MEET handling once the sender is a known node.
    fn process_known_ping(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg: &Message<'_>, sender: usize) {
        let now = ctx.wall_clock_ms();
        let h = &msg.header;
        let kind = h.kind;
        // The sender is known and out of handshake, so its header epoch was taken.
        let sender_config_epoch = h.config_epoch;
        let (link_inbound, peer_ip) =
            self.clr().links.get(&conn).map_or((false, None), |l| (l.inbound, Some(l.peer_ip)));
        let c = self.cl();
        let n = c.node_mut_keeping_cron_note(sender);
        n.flags = (n.flags & !NOFAILOVER) | (h.flags & NOFAILOVER);
        if kind == bus::PING && !c.node(sender).in_handshake() {
            self.update_address_if_needed(ctx, sender, conn, peer_ip, h);
        }
        let c = self.cl();
        if !link_inbound && kind == bus::PONG && c.node(sender).link() == Some(conn) {
            // A newer PONG, no ping pending, PFAIL cleared: each can only
            // start a quiet spell, never end one.
            let n = c.node_mut_keeping_cron_note(sender);
            n.pong_received = now;
            n.ping_sent = 0;
            if n.timed_out() {
                n.flags &= !PFAIL;
                observe_peer(ctx, &n.name(), Health::Ok);
                c.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
            } else if n.failed() {
                self.clear_node_failure_if_needed(ctx, sender, now);
            }
        }
        // Role switches.
        let c = self.cl();
        match &h.slaveof {
            None => c.set_node_as_master(sender),
            Some(master_name) => {
                let master = c.lookup(master_name);
                if c.node(sender).is_master() {
                    c.del_node_slots(sender);
                    let n = c.node_mut(sender);
                    n.flags = (n.flags & !(MASTER | super::MIGRATE_TO)) | SLAVE;
                    c.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                }
                if let Some(m) = master
                    && c.node(sender).slaveof != Some(m)
                {
                    if let Some(old) = c.node(sender).slaveof {
                        c.remove_replica(old, sender);
                    }
                    c.add_replica(m, sender);
                    c.node_mut(sender).slaveof = Some(m);
                    c.todo |= TODO_SAVE_CONFIG;
                }
            }
        }
        let c = self.clr();
        let sender_master = if c.node(sender).is_master() { Some(sender) } else { c.node(sender).slaveof };
        let dirty_slots = sender_master.is_some_and(|m| !c.owns_exactly(m, h.slots));
        if dirty_slots && c.node(sender).is_master() {
            self.update_slots_config_with(ctx, sender, sender_config_epoch, h.slots);
        }
        if dirty_slots {
            let c = self.clr();
            for slot in bus::set_slots(h.slots) {
                let Some(owner) = c.owner(slot) else { continue };
                if owner == sender {
                    continue;
                }
                if c.node(owner).config_epoch > sender_config_epoch {
                    let (a, b) = (c.node(sender).name(), c.node(owner).name());
                    let link = c.node(sender).link();
                    self.log(
                        ctx,
                        '-',
                        &format!("Node {a} has old slots configuration, sending an UPDATE message about {b}"),
                    );
                    self.send_update(ctx, link, owner);
                    break;
                }
            }
        }
        let c = self.clr();
        if c.me().is_master() && c.node(sender).is_master() && sender_config_epoch == c.me().config_epoch {
            self.handle_config_epoch_collision(ctx, sender);
        }
        self.process_gossip(ctx, msg, Some(sender), now);
    }

    /// `nodeUpdateAddressIfNeeded`.
    fn update_address_if_needed(
        &mut self,
        ctx: &mut Ctx<'_>,
        i: usize,
        conn: ConnId,
        peer_ip: Option<Ipv4Addr>,
        h: &Header,
    ) {
        let c = self.cl();
        // Unchanged, the usual answer, is told by the node's shared identity;
        // the link is in the part of the node that is out of cache, so it is
        // only read when the address did change. Neither check changes anything.
        let ip = if h.myip.is_empty() { peer_address(peer_ip) } else { NodeIp::new(&h.myip.text()) };
        let n = c.node(i);
        if n.port() == h.port && n.cport() == h.cport && n.ip() == ip {
            return;
        }
        if n.link() == Some(conn) {
            return;
        }
        let old_link = n.link();
        let n = c.node_mut(i);
        n.set_address(ip, h.port, h.cport);
        n.flags &= !NOADDR;
        let name = n.name();
        if let Some(l) = old_link {
            self.free_link(ctx, l);
        }
        self.log(ctx, '#', &format!("Address updated for node {name}, now {ip}:{}", h.port));
        let c = self.clr();
        if c.me().is_slave() && c.me().slaveof == Some(i) {
            self.set_master(ctx, ip.to_string(), h.port);
        }
        self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
    }

    /// `clusterProcessGossipSection`.
    fn process_gossip(&mut self, ctx: &mut Ctx<'_>, msg: &Message<'_>, sender: Option<usize>, now: i64) {
        let Body::Gossip(section) = msg.body else { return };
        let nt = self.node_timeout();
        // Every entry's table entry and node first, so that their cache misses
        // overlap. What the pass found stays right for the whole section:
        // processing an entry may add a node (an unknown name, looked up again
        // below in case the section names it twice) but never removes or moves one.
        let mut found = std::mem::take(&mut self.cl().lookup_scratch);
        let c = self.clr();
        std::hint::black_box(c.touch_lookups((0..section.len()).map(|k| section.name_at(k)), &mut found));
        let c = self.clr();
        // Gossip never changes the sender's role, so it is read once.
        let reporter = sender.filter(|&s| c.node(s).is_master());
        for (k, &pre) in found.iter().enumerate() {
            let known = match pre {
                u32::MAX => self.clr().lookup_bytes(section.name_at(k)),
                i => Some(i as usize),
            };
            match known {
                Some(i) if self.cl().gossip_about_healthy(i, section.flags_at(k), section.pong_received_at(k), now) => {
                }
                Some(i) => self.process_gossip_about(ctx, section, k, i, reporter, now, nt),
                None => {
                    let g = section.get(k);
                    let c = self.cl();
                    let Some(name) = NodeName::from_wire(&g.name) else { continue };
                    if sender.is_some() && g.flags & NOADDR == 0 && !c.blacklisted(&name, now) {
                        // Flags as gossiped; its master is learnt from its own PONG.
                        let i = c.create_node(name, g.flags & !MYSELF, now);
                        c.node_mut(i).set_address(NodeIp::new(&g.ip.text()), g.port, g.cport);
                    }
                }
            }
        }
        self.cl().lookup_scratch = found;
    }

    /// One gossip entry about known node `i`; `reporter` is the sender if it is a master.
    #[allow(clippy::too_many_arguments)]
    fn process_gossip_about(
        &mut self,
        ctx: &mut Ctx<'_>,
        section: GossipSection<'_>,
        k: usize,
        i: usize,
        reporter: Option<usize>,
        now: i64,
        nt: i64,
    ) {
        let flags = section.flags_at(k);
        let c = self.cl();
        if let Some(s) = reporter
            && i != c.myself
        {
            if flags & (FAIL | PFAIL) != 0 {
                if c.node_mut(i).report_failure(s, now) {
                    let (a, b) = (c.node(s).name(), c.node(i).name());
                    self.log_with(ctx, '-', || format!("Node {a} reported node {b} as not reachable."));
                }
                self.mark_node_as_failing_if_needed(ctx, i, now);
            } else {
                let n = c.node_mut(i);
                let before = n.fail_report_count();
                if n.retain_fail_reports(|(who, _)| *who != s) != before {
                    let (a, b) = (c.node(s).name(), c.node(i).name());
                    self.log_with(ctx, '-', || format!("Node {a} reported node {b} is back online."));
                }
            }
        }
        let c = self.cl();
        if flags & (FAIL | PFAIL) == 0 && c.node(i).ping_sent == 0 && c.failure_reports(i, now, nt) == 0 {
            let pong = i64::from(section.pong_received_at(k)) * 1000;
            let n = c.node_mut(i);
            if pong <= now + 500 && pong > n.pong_received {
                n.pong_received = pong;
            }
        }
        let n = c.node(i);
        if n.flags & (FAIL | PFAIL) == 0 || flags & (NOADDR | FAIL | PFAIL) != 0 {
            return;
        }
        // A failing node gossiped as reachable: maybe at a new address.
        let g = section.get(k);
        if *n.ip() != *g.ip.text() || n.port() != g.port || n.cport() != g.cport {
            let link = n.link();
            let n = c.node_mut(i);
            n.set_address(NodeIp::new(&g.ip.text()), g.port, g.cport);
            n.flags &= !NOADDR;
            if let Some(l) = link {
                self.free_link(ctx, l);
            }
        }
    }

    /// `clusterUpdateSlotsConfigWith`: rebinds the slots `sender` claims with a newer epoch.
    pub(crate) fn update_slots_config_with(
        &mut self,
        ctx: &mut Ctx<'_>,
        sender: usize,
        sender_epoch: u64,
        slots: &bus::SlotBits,
    ) {
        let c = self.clr();
        if sender == c.myself {
            self.log(ctx, '#', "Discarding UPDATE message about myself.");
            return;
        }
        let cur_master = if c.me().is_master() { Some(c.myself) } else { c.me().slaveof };
        let mut new_master = None;
        let mut dirty: Vec<usize> = Vec::new();
        let mut won: Vec<u16> = Vec::new();
        let mut sender_slots = 0;
        let mut migrated_our_slots = 0;
        let myself = c.myself;
        // Nothing in the loop changes a node or the importing map: whether
        // an owner's epoch is older than the sender's is worked out once per
        // run of slots of one owner (a claim covers thousands of slots of a
        // few owners), and the map is looked at only when it holds a slot.
        let importing_any = !c.importing.is_empty();
        let mut last_owner: Option<(usize, bool)> = None;
        // A claim is mostly whole 64-slot words of slots of one owner (a
        // master's range): such a word is judged once, as its 64 slots one
        // by one would be, in the same order.
        for (w, chunk) in slots.chunks_exact(8).enumerate() {
            let mut word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let base = w * 64;
            if word == u64::MAX && !importing_any {
                let c = self.clr();
                let owners = &c.slots[base..base + 64];
                if owners.iter().all(|&o| o == owners[0]) {
                    sender_slots += 64;
                    let owner = c.owner(base);
                    if owner == Some(sender) {
                        continue;
                    }
                    let older = owner_older(c, owner, &mut last_owner, sender_epoch);
                    if older {
                        if owner == Some(myself) {
                            dirty.extend((base..base + 64).filter(|&slot| self.count_keys_in_slot(slot) > 0));
                        }
                        if owner.is_some() && owner == cur_master {
                            new_master = Some(sender);
                            migrated_our_slots += 64;
                        }
                        won.extend((base..base + 64).map(|slot| slot as u16));
                    }
                    continue;
                }
            }
            while word != 0 {
                let slot = base + word.trailing_zeros() as usize;
                word &= word - 1;
                sender_slots += 1;
                let c = self.clr();
                let owner = c.owner(slot);
                if owner == Some(sender) || (importing_any && c.importing.contains_key(&(slot as u16))) {
                    continue;
                }
                let older = owner_older(c, owner, &mut last_owner, sender_epoch);
                debug_assert_eq!(older, owner.is_none_or(|o| c.node(o).config_epoch < sender_epoch));
                if older {
                    if owner == Some(myself) && self.count_keys_in_slot(slot) > 0 {
                        dirty.push(slot);
                    }
                    if owner.is_some() && owner == cur_master {
                        new_master = Some(sender);
                        migrated_our_slots += 1;
                    }
                    // Rebound below, all at once: no slot's check reads another's owner.
                    won.push(slot as u16);
                }
            }
        }
        #[cfg(debug_assertions)]
        {
            // The plain walk, slot by slot, wins the same slots.
            let c = self.clr();
            let plain: Vec<u16> = bus::set_slots(slots)
                .filter(|&slot| {
                    let owner = c.owner(slot);
                    owner != Some(sender)
                        && !c.importing.contains_key(&(slot as u16))
                        && owner.is_none_or(|o| c.node(o).config_epoch < sender_epoch)
                })
                .map(|slot| slot as u16)
                .collect();
            assert_eq!(won, plain, "a claim's words won other slots than its slots one by one");
            assert_eq!(sender_slots, bus::set_slots(slots).count());
        }
        let c = self.cl();
        if !won.is_empty() {
            c.rebind_slots(&won, sender);
            c.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        }
        let c = self.clr();
        let cur_master_empty = cur_master.is_some_and(|m| c.node(m).numslots == 0);
        if new_master.is_some()
            && cur_master_empty
            && (self.config.cluster.allow_replica_migration || sender_slots == migrated_our_slots)
        {
            let name = c.node(sender).name();
            self.log(ctx, '#', &format!("Configuration change detected. Reconfiguring myself as a replica of {name}"));
            self.cluster_set_master(ctx, sender);
            self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        } else if let Some(m) = c.me().slaveof
            && let Some(gm) = c.node(m).slaveof
            && gm != myself
        {
            let name = c.node(gm).name();
            self.log(ctx, '#', &format!("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {name}"));
            self.cluster_set_master(ctx, gm);
            self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        } else {
            for slot in dirty {
                self.del_keys_in_slot(slot);
            }
        }
    }

    /// `clusterSetMaster`: this node becomes a replica of `n` and starts replicating.
    pub(crate) fn cluster_set_master(&mut self, ctx: &mut Ctx<'_>, n: usize) {
        let c = self.cl();
        let myself = c.myself;
        if c.me().is_master() {
            let me = c.me_mut();
            me.flags = (me.flags & !(MASTER | super::MIGRATE_TO)) | SLAVE;
            c.migrating.clear();
            c.importing.clear();
        } else if let Some(old) = c.me().slaveof {
            c.remove_replica(old, myself);
        }
        c.me_mut().slaveof = Some(n);
        c.add_replica(n, myself);
        let (ip, port) = (c.node(n).ip().to_string(), c.node(n).port());
        self.set_master(ctx, ip, port);
        self.reset_manual_failover(ctx);
    }

    /// `clusterUpdateState`.
    pub(crate) fn update_cluster_state(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.wall_clock_ms();
        let full_coverage = self.config.cluster.require_full_coverage;
        let nt = self.node_timeout();
        let c = self.cl();
        c.todo &= !TODO_UPDATE_STATE;
        if c.first_update_state_ms == 0 {
            c.first_update_state_ms = now;
        }
        if c.me().is_master() && !c.state_ok && now - c.first_update_state_ms < WRITABLE_DELAY_MS {
            return;
        }
        // Counts only, so the table is walked in slab order, one sequential
        // read (name order is a random walk over it, and a failover has
        // every node of a big cluster doing this several times).
        let (mut served, mut size, mut reachable) = (0u32, 0, 0);
        for n in c.live_nodes() {
            if !n.failed() {
                served += u32::from(n.numslots);
            }
            if n.is_master() && n.numslots > 0 {
                size += 1;
                if n.flags & (FAIL | PFAIL) == 0 {
                    reachable += 1;
                }
            }
        }
        debug_assert_eq!(c.live_nodes().count(), c.known_nodes(), "every live node is known by its name");
        // Every slot has one owner, so counting per node is the same as scanning the slots.
        let mut ok = !full_coverage || served as usize == SLOTS;
        c.size = size;
        if reachable < size / 2 + 1 {
            ok = false;
            c.among_minority_ms = now;
        }
        if ok != c.state_ok {
            let rejoin_delay = nt.clamp(MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS);
            if ok && c.me().is_master() && now - c.among_minority_ms < rejoin_delay {
                return;
            }
            c.state_ok = ok;
            self.log(ctx, '#', &format!("Cluster state changed: {}", if ok { "ok" } else { "fail" }));
        }
    }
}

/// A random 40-hex node name (`getRandomHexChars`).
/// A link's peer address as node addresses are kept (empty without a link).
/// Tags a new link's connection as a bus link, with where the link sits in
/// the table, so that a delivery finds it without the index, and returns that
/// place.
fn tag_with_slot(ctx: &mut Ctx<'_>, c: &Cluster, conn: ConnId) -> u32 {
    let slot = c.links.slot(&conn).unwrap_or(u32::MAX);
    crate::dispatch::tag_conn(ctx, conn, crate::dispatch::ConnOwner::Bus { slot });
    slot
}

fn peer_address(peer_ip: Option<Ipv4Addr>) -> NodeIp {
    peer_ip.map_or_else(NodeIp::default, NodeIp::from_v4)
}

pub(crate) fn random_name(ctx: &mut Ctx<'_>) -> NodeName {
    NodeName::parse(&common::ids::random_hex40(ctx)).expect("40 hex digits make a node name")
}

/// Whether a claimed slot's `owner` has a configEpoch older than the
/// sender's (a free slot: always taken), judged once per run of slots of one
/// owner: `last` keeps the last owner judged and its answer.
fn owner_older(c: &Cluster, owner: Option<usize>, last: &mut Option<(usize, bool)>, sender_epoch: u64) -> bool {
    match (owner, *last) {
        (None, _) => true,
        (Some(o), Some((l, older))) if l == o => older,
        (Some(o), _) => {
            let older = c.node(o).config_epoch < sender_epoch;
            *last = Some((o, older));
            older
        }
    }
}
