//! The limits a server puts on its clients' connections: `maxclients`
//! (`acceptCommonHandler` refuses the connection past it) and `timeout`
//! (`clientsCronHandleTimeout` closes a normal client idle for longer).
//!
//! Like Redis's `clientsCron`, the idle check visits a few clients per cron
//! run: the client list rotated tail to head, `max(n / hz, min(n, 5))` of
//! them. The list is kept only while `timeout` is set (nothing else here
//! reads it), so a timeout set at runtime starts the rotation from the
//! clients in the order they connected.

use crate::server::Server;
use sim::{ConnId, Ctx};
use std::collections::VecDeque;

/// `CLIENTS_CRON_MIN_ITERATIONS`.
const CRON_MIN_ITERATIONS: usize = 5;
/// `server.hz` (the simulated server keeps the default).
const HZ: usize = 10;

/// The connections counted and rotated for the idle check.
#[derive(Debug, Default)]
pub(crate) struct ClientLimits {
    /// `server.clients` in its rotated order (head first), while `timeout` is set.
    order: VecDeque<ConnId>,
    /// `rejected_connections`.
    pub(crate) rejected: u64,
}

impl Server {
    /// `acceptCommonHandler`'s admission: past `maxclients` (clients plus,
    /// in cluster mode, two bus links per other node) the connection gets
    /// the error and is closed, and counts as rejected; true if admitted.
    pub(crate) fn admit_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> bool {
        let master = usize::from(self.repl.link_up());
        let bus = self.cluster.as_ref().map_or(0, |c| (c.known_nodes().saturating_sub(1)) * 2);
        if ((self.clients.len() + master + bus) as u64) < self.config.maxclients {
            return true;
        }
        let err: &[u8] = if self.cluster.is_some() {
            b"-ERR max number of clients + cluster connections reached\r\n"
        } else {
            b"-ERR max number of clients reached\r\n"
        };
        ctx.send(conn, err);
        ctx.close(conn);
        self.client_limits.rejected += 1;
        false
    }

    /// The idle part of `clientsCron`: closes, with Redis's verbose log
    /// line, a normal client silent for more than `timeout` seconds;
    /// replicas, monitors, blocked (or paused) and subscribed clients stay.
    pub(crate) fn close_idle_clients(&mut self, ctx: &mut Ctx<'_>) {
        if self.config.timeout == 0 {
            self.client_limits.order.clear();
            return;
        }
        self.sync_client_order();
        let n = self.client_limits.order.len();
        let mut iterations = (n / HZ).max(n.min(CRON_MIN_ITERATIONS));
        let now_s = ctx.wall_clock_ms() / 1000;
        while iterations > 0 {
            iterations -= 1;
            let order = &mut self.client_limits.order;
            let Some(conn) = order.pop_back() else { break };
            order.push_front(conn);
            if self.idle_too_long(conn, now_s) {
                self.client_limits.order.pop_front();
                self.log(ctx, '-', "Closing idle client");
                self.close_client(ctx, conn);
            }
        }
    }

    /// Whether `conn` is a normal client past the idle timeout.
    fn idle_too_long(&self, conn: ConnId, now_s: i64) -> bool {
        let Some(c) = self.clients.get(&conn) else { return false };
        let exempt = c.replica.is_some()
            || self.monitors.contains(&conn)
            || c.blocked.is_some()
            || c.wait.is_some()
            || c.held.is_some()
            || self.pubsub.is_subscribed(conn);
        !exempt && now_s - c.last_cmd_ms / 1000 > self.config.timeout as i64
    }

    /// The rotation's list brought up to date: clients gone leave it, new
    /// ones join at the tail in the order they connected.
    fn sync_client_order(&mut self) {
        let clients = &self.clients;
        let order = &mut self.client_limits.order;
        order.retain(|c| clients.contains_key(c));
        if order.len() < clients.len() {
            let known: std::collections::BTreeSet<ConnId> = order.iter().copied().collect();
            let mut new: Vec<(u64, ConnId)> =
                clients.iter().filter(|(c, _)| !known.contains(c)).map(|(c, client)| (client.id, *c)).collect();
            new.sort_unstable();
            order.extend(new.into_iter().map(|(_, c)| c));
        }
    }

    /// `freeClient` of a client the server drops.
    fn close_client(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        ctx.close(conn);
        if let Some(client) = self.clients.remove(&conn) {
            self.client_gone(ctx, conn, client);
        }
    }
}
