//! One dispatch path per node: what a kernel input is for, told by typed tags
//! the server gives its timers ([`Timer`]) and its connections ([`ConnOwner`]),
//! and [`Server::handle_input`], the one `match` that routes every input.
//!
//! A timer tag or a connection tag that names nothing is a simulator bug and
//! panics. A connection the kernel has already freed (the `Closed` or
//! `ConnectFailed` that reports its end) has lost its tag; only then does the
//! server look its owner up in its own state ([`Server::owner_by_state`]).

use crate::server::Server;
use sim::{CloseReason, ConnId, Ctx, Input, TimerId};

/// What a timer is for; its [`Timer::tag`] is what the kernel carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// serverCron, every 100 ms (and its first run at start).
    Cron,
    /// The end of a `DEBUG SLEEP` that blocked the event loop.
    BusyEnd,
    /// A simulated fork's child (BGSAVE, a full sync's RDB) finished.
    ChildDone,
    /// Some client blocked in WAIT may have timed out.
    WaitTimeout,
    /// MIGRATE's blocking read or connect timed out.
    Migrate,
    /// A long script's time is up, or a timed-out script's next tick.
    Script,
    /// The start-up time is over: the server initializes and listens.
    Boot,
}

impl Timer {
    /// The kernel tag. The numbers are the ones traces have always carried.
    pub(crate) const fn tag(self) -> u64 {
        match self {
            Timer::Cron => 0,
            Timer::BusyEnd => 1,
            Timer::ChildDone => 2,
            Timer::WaitTimeout => 3,
            Timer::Migrate => 40,
            Timer::Script => 50,
            Timer::Boot => 5,
        }
    }

    /// The timer a tag names, `None` for a number no timer has.
    pub(crate) const fn from_tag(tag: u64) -> Option<Timer> {
        Some(match tag {
            0 => Timer::Cron,
            1 => Timer::BusyEnd,
            2 => Timer::ChildDone,
            5 => Timer::Boot,
            3 => Timer::WaitTimeout,
            40 => Timer::Migrate,
            50 => Timer::Script,
            _ => return None,
        })
    }
}

/// Who owns one of the server's connections; its [`ConnOwner::tag`] is the
/// kernel's connection tag, set when the connection is accepted or opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnOwner {
    /// A client accepted on the client port (replicas included: they are clients).
    Client,
    /// This replica's link to its master.
    MasterLink,
    /// One of MIGRATE's cached connections to a target node.
    Migrate,
    /// A cluster bus link, at `slot` in the link table (a lookup hint).
    Bus { slot: u32 },
}

/// 0 is the kernel's "no tag" (or "connection gone"), so owners start at 1.
const CLIENT: u32 = 1;
const MASTER_LINK: u32 = 2;
const MIGRATE: u32 = 3;
const BUS_FIRST: u32 = 4;

impl ConnOwner {
    /// The kernel tag; a bus link beyond `u32::MAX - 4` links has none (0).
    pub(crate) const fn tag(self) -> u32 {
        match self {
            ConnOwner::Client => CLIENT,
            ConnOwner::MasterLink => MASTER_LINK,
            ConnOwner::Migrate => MIGRATE,
            ConnOwner::Bus { slot } => match slot.checked_add(BUS_FIRST) {
                Some(t) => t,
                None => 0,
            },
        }
    }

    /// The owner a tag names; `None` for 0, the kernel's answer for a
    /// connection it no longer holds.
    pub(crate) const fn from_tag(tag: u32) -> Option<ConnOwner> {
        Some(match tag {
            0 => return None,
            CLIENT => ConnOwner::Client,
            MASTER_LINK => ConnOwner::MasterLink,
            MIGRATE => ConnOwner::Migrate,
            slot => ConnOwner::Bus { slot: slot - BUS_FIRST },
        })
    }
}

/// Tags `conn` with its owner.
pub(crate) fn tag_conn(ctx: &mut Ctx<'_>, conn: ConnId, owner: ConnOwner) {
    ctx.tag_conn(conn, owner.tag());
}

impl Server {
    /// Routes one kernel input to the part of the server it is for: by its
    /// timer's tag, its connection's tag or (for accepts) its listening port.
    pub(crate) fn handle_input(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.start(ctx),
            Input::Shutdown => self.sigterm(ctx),
            Input::Accepted { conn, local_port, peer }
                if self.cluster.as_ref().is_some_and(|c| c.bus_port == local_port) =>
            {
                self.bus_accept(ctx, conn, peer)
            }
            Input::Accepted { conn, local_port, peer } => {
                tag_conn(ctx, conn, ConnOwner::Client);
                self.on_accept(ctx, conn, local_port, peer)
            }
            Input::Timer { id, tag } => self.on_timer(ctx, id, tag),
            // Only client connections write short (the bus and MIGRATE `send`).
            Input::Writable { conn } => self.outputs.writable(ctx, conn),
            Input::Data { conn, .. }
            | Input::Closed { conn, .. }
            | Input::Connected { conn }
            | Input::ConnectFailed { conn, .. } => {
                let owner = self.conn_owner(ctx, conn);
                self.on_conn_input(ctx, owner, input)
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, id: TimerId, tag: u64) {
        match Timer::from_tag(tag) {
            Some(Timer::Cron) => self.cron(ctx),
            Some(Timer::Boot) => self.boot(ctx),
            Some(Timer::BusyEnd) => self.busy_end(ctx),
            Some(Timer::ChildDone) => self.child_exited(ctx),
            Some(Timer::WaitTimeout) => self.wait_timeouts(ctx),
            Some(Timer::Script) => self.script_timer(ctx),
            // A MIGRATE timer is cancelled when it is replaced, so only the
            // running command's can fire; another is ignored, as it always was.
            Some(Timer::Migrate) if self.migrate.is_op_timer(id) => self.migrate_input(ctx, Input::Timer { id, tag }),
            Some(Timer::Migrate) => {}
            None => unreachable!("redis: timer {id:?} has tag {tag}, which names no timer"),
        }
    }

    /// Who owns `conn`, by its tag, `None` when the part of the server the tag
    /// names no longer holds it (then the input is a stray, as it was before
    /// tags: see [`Server::on_stray`]).
    fn conn_owner(&self, ctx: &Ctx<'_>, conn: ConnId) -> Option<ConnOwner> {
        let tag = ctx.conn_tag(conn);
        let Some(owner) = ConnOwner::from_tag(tag) else { return self.owner_by_state(conn) };
        let held = match owner {
            // Not confirmed: the client path copes with a client gone.
            ConnOwner::Client => true,
            ConnOwner::MasterLink => self.repl.is_master_link(conn),
            ConnOwner::Migrate => self.migrate.holds(conn),
            ConnOwner::Bus { slot } => self.cluster.as_ref().is_some_and(|c| {
                c.links.hint(&conn, slot);
                c.links.contains_key(&conn)
            }),
        };
        held.then_some(owner)
    }

    /// The owner of a connection the kernel has freed, asked of each part in
    /// the order the server asked before connections had tags.
    fn owner_by_state(&self, conn: ConnId) -> Option<ConnOwner> {
        if self.bus_owns(conn) {
            let slot = self.cluster.as_ref().and_then(|c| c.links.slot(&conn)).unwrap_or(0);
            Some(ConnOwner::Bus { slot })
        } else if self.migrate.holds(conn) {
            Some(ConnOwner::Migrate)
        } else if self.repl.is_master_link(conn) {
            Some(ConnOwner::MasterLink)
        } else {
            Some(ConnOwner::Client)
        }
    }

    fn on_conn_input(&mut self, ctx: &mut Ctx<'_>, owner: Option<ConnOwner>, input: Input<'_>) {
        match (owner, input) {
            (Some(ConnOwner::Bus { .. }), Input::Data { conn, bytes }) => self.bus_data(ctx, conn, bytes),
            (Some(ConnOwner::Bus { .. }), Input::Closed { conn, .. }) => self.free_link(ctx, conn),
            (Some(ConnOwner::Bus { .. }), Input::Connected { conn }) => self.bus_connected(ctx, conn),
            (Some(ConnOwner::Bus { .. }), Input::ConnectFailed { conn, error }) => {
                self.bus_connect_failed(ctx, conn, error)
            }
            (Some(ConnOwner::Migrate), input) => self.migrate_input(ctx, input),
            (Some(ConnOwner::MasterLink), Input::Data { conn, bytes }) => self.on_master_data(ctx, conn, bytes),
            (Some(ConnOwner::MasterLink), Input::Closed { .. }) => self.master_link_closed(ctx),
            (Some(ConnOwner::Client), Input::Data { conn, bytes }) => self.on_data(ctx, conn, bytes),
            (Some(ConnOwner::Client), Input::Closed { conn, reason }) => {
                if let Some(client) = self.clients.remove(&conn) {
                    self.client_gone(ctx, conn, client);
                }
                self.log_client_closed(ctx, reason);
            }
            (_, input) => self.on_stray(ctx, input),
        }
    }

    /// An input on a connection no part of the server holds (or a connect's
    /// outcome, which only the master link waits for once the bus and MIGRATE
    /// have had theirs).
    fn on_stray(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Closed { reason, .. } => self.log_client_closed(ctx, reason),
            Input::Connected { conn } => self.master_connected(ctx, conn),
            Input::ConnectFailed { conn, error } => self.master_connect_failed(ctx, conn, error),
            Input::Data { .. } => {}
            Input::Start | Input::Shutdown | Input::Accepted { .. } | Input::Timer { .. } | Input::Writable { .. } => {
                unreachable!("redis: {input:?} is no connection's input")
            }
        }
    }

    /// readQueryFromClient logs read errors at verbose level with strerror's text.
    fn log_client_closed(&self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        match reason {
            CloseReason::TimedOut => self.log(ctx, '-', "Reading from client: Connection timed out"),
            CloseReason::Reset => self.log(ctx, '-', "Reading from client: Connection reset by peer"),
            CloseReason::PeerClosed => {}
        }
    }
}
