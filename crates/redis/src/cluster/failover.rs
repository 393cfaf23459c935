//! Failure detection and failover (cluster.c `markNodeAsFailingIfNeeded`,
//! `clearNodeFailureIfNeeded`, `clusterHandleSlaveFailover`,
//! `clusterSendFailoverAuthIfNeeded`, `clusterFailoverReplaceYourMaster`,
//! manual failover, replica migration, configEpoch collisions).

use super::bus::{self, Body, Header};
use super::gossip::Broadcast;
use super::{
    CantFailover, FAIL, PFAIL, SLOTS, TODO_FSYNC_CONFIG, TODO_HANDLE_FAILOVER, TODO_SAVE_CONFIG, TODO_UPDATE_STATE,
};
use crate::server::Server;
use sim::{Ctx, Health, Observation};

/// `CLUSTER_MF_TIMEOUT`.
pub(crate) const MF_TIMEOUT_MS: i64 = 5000;
/// `CLUSTER_CANT_FAILOVER_RELOG_PERIOD`.
const CANT_FAILOVER_RELOG_MS: i64 = 300_000;
/// `CLUSTER_SLAVE_MIGRATION_DELAY`.
const SLAVE_MIGRATION_DELAY_MS: i64 = 5000;

/// Publishes what this node now believes of a peer's health; the name is
/// copied only while the trace keeps observations. Kept out of line: the
/// packet handler calls it on rare paths, and inlined it costs every packet.
#[cold]
#[inline(never)]
pub(crate) fn observe_peer(ctx: &mut Ctx<'_>, name: &str, health: Health) {
    if ctx.observing() {
        ctx.observe(Observation::Peer { peer: name.to_owned(), health });
    }
}

impl Server {
    /// `markNodeAsFailingIfNeeded`: PFAIL becomes FAIL once a majority of slot-owning masters agree.
    pub(crate) fn mark_node_as_failing_if_needed(&mut self, ctx: &mut Ctx<'_>, i: usize, now: i64) {
        let nt = self.node_timeout();
        let c = self.cl();
        let needed = c.size / 2 + 1;
        let n = c.node(i);
        if !n.timed_out() || n.failed() {
            return;
        }
        let mut failures = c.failure_reports(i, now, nt);
        if c.me().is_master() {
            failures += 1;
        }
        if failures < needed {
            return;
        }
        let n = c.node_mut(i);
        n.flags = (n.flags & !PFAIL) | FAIL;
        n.fail_time = now;
        let name = n.name();
        c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        observe_peer(ctx, &name, Health::Failed);
        self.log(ctx, '*', &format!("Marking node {name} as failing (quorum reached)."));
        self.broadcast(ctx, bus::FAIL, Body::Fail(name), 0);
    }

    /// `clearNodeFailureIfNeeded`, on a PONG from a node flagged FAIL.
    pub(crate) fn clear_node_failure_if_needed(&mut self, ctx: &mut Ctx<'_>, i: usize, now: i64) {
        let nt = self.node_timeout();
        let c = self.cl();
        let n = c.node(i);
        let name = n.name();
        if n.is_slave() || n.numslots == 0 {
            let what = if n.is_slave() { "replica" } else { "master without slots" };
            c.node_mut(i).flags &= !FAIL;
            c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
            observe_peer(ctx, &name, Health::Ok);
            self.log(ctx, '*', &format!("Clear FAIL state for node {name}: {what} is reachable again."));
            return;
        }
        if n.is_master() && n.numslots > 0 && now - n.fail_time > nt * 2 {
            c.node_mut(i).flags &= !FAIL;
            c.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
            observe_peer(ctx, &name, Health::Ok);
            self.log(
                ctx,
                '*',
                &format!(
                    "Clear FAIL state for node {name}: is reachable again and nobody is serving its slots after some time."
                ),
            );
        }
    }

    /// `clusterSendFailoverAuthIfNeeded`: a master's vote.
    pub(crate) fn send_failover_auth_if_needed(&mut self, ctx: &mut Ctx<'_>, node: usize, req: &Header, now: i64) {
        let nt = self.node_timeout();
        let c = self.clr();
        if c.me().is_slave() || c.me().numslots == 0 {
            return;
        }
        let name = c.node(node).name();
        let deny = |s: &mut Server, ctx: &mut Ctx<'_>, why: String| {
            s.log(ctx, '#', &format!("Failover auth denied to {name}: {why}"));
        };
        if req.current_epoch < c.current_epoch {
            let why = format!("reqEpoch ({}) < curEpoch({})", req.current_epoch, c.current_epoch);
            return deny(self, ctx, why);
        }
        if c.last_vote_epoch == c.current_epoch {
            let why = format!("already voted for epoch {}", c.current_epoch);
            return deny(self, ctx, why);
        }
        let force_ack = req.mflags & bus::MFLAG_FORCEACK != 0;
        let n = c.node(node);
        if n.is_master() {
            return deny(self, ctx, "it is a master node".to_owned());
        }
        let Some(master) = n.slaveof else {
            return deny(self, ctx, "I don't know its master".to_owned());
        };
        if !c.node(master).failed() && !force_ack {
            return deny(self, ctx, "its master is up".to_owned());
        }
        let since_vote = now - c.node(master).voted_time;
        if since_vote < nt * 2 {
            let why = format!("can't vote about this master before {} milliseconds", nt * 2 - since_vote);
            return deny(self, ctx, why);
        }
        for slot in bus::set_slots(req.slots) {
            let Some(owner) = c.owner(slot) else { continue };
            let epoch = c.node(owner).config_epoch;
            if epoch <= req.config_epoch {
                continue;
            }
            let why = format!("slot {slot} epoch ({epoch}) > reqEpoch ({})", req.config_epoch);
            return deny(self, ctx, why);
        }
        let c = self.cl();
        c.last_vote_epoch = c.current_epoch;
        c.node_mut(master).voted_time = now;
        let epoch = c.current_epoch;
        // The vote is on disk before the ACK leaves (Redis fsyncs in beforeSleep, ahead of the write).
        c.todo &= !(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
        self.save_cluster_config(ctx, true);
        if let Some(conn) = self.clr().node(node).link() {
            self.send_to(ctx, conn, bus::AUTH_ACK);
        }
        self.log(ctx, '#', &format!("Failover auth granted to {name} for epoch {epoch}"));
    }

    /// `clusterGetSlaveRank`: siblings with a strictly better offset go first.
    fn slave_rank(&self) -> usize {
        let c = self.clr();
        let Some(master) = c.me().slaveof else { return 0 };
        let mine = self.repl.offset;
        c.node(master)
            .replicas
            .iter()
            .filter(|&&r| r != c.myself && c.node(r).flags & super::NOFAILOVER == 0 && c.node(r).repl_offset > mine)
            .count()
    }

    /// `clusterLogCantFailover`: rate-limited, and quiet right after the master failed.
    fn log_cant_failover(&mut self, ctx: &mut Ctx<'_>, reason: CantFailover, now: i64) {
        let nt = self.node_timeout();
        let c = self.cl();
        if reason == c.cant_failover_reason && now - c.cant_failover_logged_ms < CANT_FAILOVER_RELOG_MS {
            return;
        }
        c.cant_failover_reason = reason;
        if let Some(m) = c.me().slaveof
            && c.node(m).failed()
            && now - c.node(m).fail_time < nt + 5000
        {
            return;
        }
        c.cant_failover_logged_ms = now;
        let msg = match reason {
            CantFailover::DataAge => {
                "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option."
            }
            CantFailover::WaitingDelay => "Waiting the delay before I can start a new failover.",
            CantFailover::Expired => "Failover attempt expired.",
            CantFailover::WaitingVotes => "Waiting for votes, but majority still not reached.",
            CantFailover::None => "Unknown reason code.",
        };
        self.log(ctx, '#', &format!("Currently unable to failover: {msg}"));
    }

    /// `clusterHandleSlaveFailover`: schedules, runs and wins elections.
    pub(crate) fn handle_slave_failover(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.wall_clock_ms();
        let nt = self.node_timeout();
        let no_failover = self.config.cluster.replica_no_failover;
        let c = self.cl();
        c.todo &= !TODO_HANDLE_FAILOVER;
        let auth_age = now - c.failover_auth_time;
        let needed = c.size / 2 + 1;
        let manual = c.mf_end != 0 && c.mf_can_start;
        let auth_timeout = (nt * 2).max(2000);
        let auth_retry = auth_timeout * 2;
        let me = c.me();
        let master = me.slaveof;
        if me.is_master()
            || master.is_none_or(|m| (!manual && (!c.node(m).failed() || no_failover)) || c.node(m).numslots == 0)
        {
            c.cant_failover_reason = CantFailover::None;
            return;
        }
        let unixtime = now / 1000;
        let mut data_age = match self.repl.master_last_interaction_ms() {
            Some(last) => (unixtime - last / 1000) * 1000,
            None => (unixtime - self.repl.down_since_ms().unwrap_or(0) / 1000) * 1000,
        };
        if data_age > nt {
            data_age -= nt;
        }
        let factor = self.config.cluster.replica_validity_factor as i64;
        if factor != 0 && data_age > self.config.repl_ping_replica_period as i64 * 1000 + nt * factor && !manual {
            self.log_cant_failover(ctx, CantFailover::DataAge, now);
            return;
        }
        if auth_age > auth_retry {
            let jitter = ctx.rng().below(500) as i64;
            let rank = self.slave_rank();
            let c = self.cl();
            c.failover_auth_time = now + 500 + jitter + rank as i64 * 1000;
            c.failover_auth_count = 0;
            c.failover_auth_sent = false;
            c.failover_auth_rank = rank;
            if c.mf_end != 0 {
                c.failover_auth_time = now;
                c.failover_auth_rank = 0;
                c.todo |= TODO_HANDLE_FAILOVER;
            }
            let (delay, rank) = (c.failover_auth_time - now, c.failover_auth_rank);
            let offset = self.repl.offset;
            self.log(
                ctx,
                '#',
                &format!("Start of election delayed for {delay} milliseconds (rank #{rank}, offset {offset})."),
            );
            self.broadcast_pong(ctx, Broadcast::LocalSlaves);
            return;
        }
        let c = self.clr();
        if !c.failover_auth_sent && c.mf_end == 0 {
            let new_rank = self.slave_rank();
            let c = self.cl();
            if new_rank > c.failover_auth_rank {
                let added = (new_rank - c.failover_auth_rank) as i64 * 1000;
                c.failover_auth_time += added;
                c.failover_auth_rank = new_rank;
                self.log(
                    ctx,
                    '#',
                    &format!("Replica rank updated to #{new_rank}, added {added} milliseconds of delay."),
                );
            }
        }
        let c = self.clr();
        if now < c.failover_auth_time {
            self.log_cant_failover(ctx, CantFailover::WaitingDelay, now);
            return;
        }
        if auth_age > auth_timeout {
            self.log_cant_failover(ctx, CantFailover::Expired, now);
            return;
        }
        if !c.failover_auth_sent {
            let c = self.cl();
            c.current_epoch += 1;
            c.failover_auth_epoch = c.current_epoch;
            c.failover_auth_sent = true;
            let epoch = c.current_epoch;
            let force = if c.mf_end != 0 { bus::MFLAG_FORCEACK } else { 0 };
            self.log(ctx, '#', &format!("Starting a failover election for epoch {epoch}."));
            self.broadcast(ctx, bus::AUTH_REQUEST, Body::Empty, force);
            self.cl().todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
            return;
        }
        if c.failover_auth_count >= needed {
            self.log(ctx, '#', "Failover election won: I'm the new master.");
            let c = self.cl();
            if c.me().config_epoch < c.failover_auth_epoch {
                let e = c.failover_auth_epoch;
                c.me_mut().config_epoch = e;
                self.log(ctx, '#', &format!("configEpoch set to {e} after successful failover"));
            }
            self.failover_replace_master(ctx);
        } else {
            self.log_cant_failover(ctx, CantFailover::WaitingVotes, now);
        }
    }

    /// `clusterFailoverReplaceYourMaster`.
    pub(crate) fn failover_replace_master(&mut self, ctx: &mut Ctx<'_>) {
        let c = self.cl();
        let Some(old) = c.me().slaveof.filter(|_| c.me().is_slave()) else { return };
        let myself = c.myself;
        c.set_node_as_master(myself);
        self.unset_master(ctx);
        let c = self.cl();
        let taken: Vec<u16> = (0..SLOTS).filter(|&s| c.owner(s) == Some(old)).map(|s| s as u16).collect();
        c.rebind_slots(&taken, myself);
        self.update_cluster_state(ctx);
        self.save_cluster_config(ctx, true);
        self.broadcast_pong(ctx, Broadcast::All);
        self.reset_manual_failover(ctx);
    }

    /// `resetManualFailover`; a master that paused writes for it resumes them.
    pub(crate) fn reset_manual_failover(&mut self, ctx: &mut Ctx<'_>) {
        let c = self.cl();
        let was_paused = c.mf_slave.is_some() && c.paused_until.is_some();
        if c.mf_slave.is_some() {
            c.paused_until = None;
        }
        c.mf_end = 0;
        c.mf_can_start = false;
        c.mf_slave = None;
        c.mf_master_offset = -1;
        if was_paused {
            self.resume_paused_clients(ctx);
        }
    }

    pub(crate) fn manual_failover_check_timeout(&mut self, ctx: &mut Ctx<'_>, now: i64) {
        let c = self.clr();
        if c.mf_end != 0 && c.mf_end < now {
            self.log(ctx, '#', "Manual failover timed out.");
            self.reset_manual_failover(ctx);
        }
    }

    /// `clusterHandleManualFailover`: waits until the replica processed the paused master's offset.
    pub(crate) fn handle_manual_failover(&mut self, ctx: &mut Ctx<'_>) {
        let offset = self.repl.offset;
        let c = self.cl();
        if c.mf_end == 0 || c.mf_can_start || c.mf_master_offset == -1 {
            return;
        }
        if c.mf_master_offset == offset {
            c.mf_can_start = true;
            c.todo |= TODO_HANDLE_FAILOVER;
            self.log(ctx, '#', "All master replication stream processed, manual failover can start.");
            return;
        }
        c.todo |= super::TODO_HANDLE_MANUALFAILOVER;
    }

    /// `clusterBumpConfigEpochWithoutConsensus`.
    pub(crate) fn bump_epoch_without_consensus(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let c = self.cl();
        let max = c.max_epoch();
        if c.me().config_epoch == 0 || c.me().config_epoch != max {
            c.current_epoch += 1;
            let e = c.current_epoch;
            c.me_mut().config_epoch = e;
            c.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
            self.log(ctx, '#', &format!("New configEpoch set to {e}"));
            true
        } else {
            false
        }
    }

    /// `clusterHandleConfigEpochCollision`: of two masters with one epoch, the smaller id moves.
    pub(crate) fn handle_config_epoch_collision(&mut self, ctx: &mut Ctx<'_>, sender: usize) {
        let c = self.cl();
        let (s, me) = (c.node(sender), c.me());
        if s.config_epoch != me.config_epoch
            || !s.is_master()
            || !me.is_master()
            || s.name().as_str() <= me.name().as_str()
        {
            return;
        }
        c.current_epoch += 1;
        let e = c.current_epoch;
        c.me_mut().config_epoch = e;
        let name = c.node(sender).name();
        self.save_cluster_config(ctx, true);
        self.log(ctx, '-', &format!("WARNING: configEpoch collision with node {name}. configEpoch set to {e}"));
    }

    /// `clusterHandleSlaveMigration`: a replica of a well-covered master moves to an orphaned one.
    pub(crate) fn handle_slave_migration(&mut self, ctx: &mut Ctx<'_>, max_slaves: usize) {
        let now = ctx.wall_clock_ms();
        let barrier = self.config.cluster.migration_barrier as usize;
        let c = self.cl();
        if !c.state_ok {
            return;
        }
        let Some(my_master) = c.me().slaveof else { return };
        let ok_slaves = c.node(my_master).replicas.iter().filter(|&&r| c.node(r).flags & (FAIL | PFAIL) == 0).count();
        if ok_slaves <= barrier {
            return;
        }
        let mut candidate = c.myself;
        let mut target = None;
        for i in c.indices() {
            let n = c.node(i);
            let mut orphaned = !(n.is_slave() || n.failed()) && n.flags & super::MIGRATE_TO != 0;
            let ok = if n.is_master() { c.count_non_failing_replicas(i) } else { 0 };
            if ok > 0 {
                orphaned = false;
            }
            if orphaned {
                if target.is_none() && n.numslots > 0 {
                    target = Some(i);
                }
                if n.orphaned_time == 0 {
                    c.node_mut(i).orphaned_time = now;
                }
            } else {
                c.node_mut(i).orphaned_time = 0;
            }
            if ok == max_slaves {
                for &r in &c.node(i).replicas {
                    if c.node(r).name() < c.node(candidate).name() {
                        candidate = r;
                    }
                }
            }
        }
        if let Some(t) = target
            && candidate == c.myself
            && now - c.node(t).orphaned_time > SLAVE_MIGRATION_DELAY_MS
        {
            let name = c.node(t).name();
            self.log(ctx, '#', &format!("Migrating to orphaned master {name}"));
            self.cluster_set_master(ctx, t);
        }
    }
}
