//! FAILOVER, Redis 7.0's coordinated failover (replication.c's
//! `failoverCommand` and `updateFailoverStatus`): the master pauses writes,
//! waits until a replica (the one named by `TO host port`, or any) has
//! acknowledged its whole stream, then turns into a replica of it and sends
//! `PSYNC <replid> <offset> FAILOVER`, which makes the target a master. The
//! target's side of that PSYNC is [`Server::psync_failover`].

use crate::server::{Client, Server};
use resp::Value;
use sim::Ctx;

/// Where a FAILOVER stands (`failover_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    None,
    /// Writes are paused until a replica has caught up.
    WaitForSync,
    /// This node is a replica of the target and sends it PSYNC ... FAILOVER.
    InProgress,
}

/// A FAILOVER in progress.
#[derive(Clone, Debug, Default)]
pub(crate) struct Failover {
    state: State,
    /// `TO host port`, or the replica chosen once it caught up.
    target: Option<(String, u16)>,
    /// `TIMEOUT`: when waiting ends (`failover_end_time`).
    end_ms: Option<i64>,
    force: bool,
}

impl Failover {
    /// Whether a FAILOVER is under way: writes are paused meanwhile.
    pub(crate) fn active(&self) -> bool {
        self.state != State::None
    }

    /// Whether the master stops pinging its replicas (replicationCron: only a
    /// FAILOVER with a TIMEOUT, whose end time is set, counts as one in progress).
    pub(crate) fn stops_pings(&self) -> bool {
        self.active() && self.end_ms.is_some()
    }

    /// Whether this replica's PSYNC carries `FAILOVER`.
    pub(crate) fn in_progress(&self) -> bool {
        self.state == State::InProgress
    }

    /// INFO replication's `master_failover_state`.
    pub(crate) fn state_name(&self) -> &'static str {
        match self.state {
            State::None => "no-failover",
            State::WaitForSync => "waiting-for-sync",
            State::InProgress => "failover-in-progress",
        }
    }
}

/// FAILOVER's arguments.
struct Request {
    to: Option<(String, u16)>,
    timeout_ms: i64,
    force: bool,
}

/// `[TO host port] [FORCE] [TIMEOUT ms]`, each at most once, in any order.
fn parse(args: &[Vec<u8>]) -> Result<Request, Value> {
    let syntax = || Value::error("ERR syntax error");
    let int = |a: &[u8]| {
        crate::commands::parse_int(a).ok_or_else(|| Value::error("ERR value is not an integer or out of range"))
    };
    let mut r = Request { to: None, timeout_ms: 0, force: false };
    let mut j = 1;
    while j < args.len() {
        let opt = args[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"timeout" if j + 1 < args.len() && r.timeout_ms == 0 => {
                r.timeout_ms = int(&args[j + 1])?;
                if r.timeout_ms <= 0 {
                    return Err(Value::error("ERR FAILOVER timeout must be greater than 0"));
                }
                j += 1;
            }
            b"to" if j + 2 < args.len() && r.to.is_none() => {
                let port = int(&args[j + 2])?;
                // `findReplica` compares the port as an int: one out of range names no replica.
                let port = u16::try_from(port).unwrap_or(0);
                r.to = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
                j += 2;
            }
            b"force" if !r.force => r.force = true,
            _ => return Err(syntax()),
        }
        j += 1;
    }
    Ok(r)
}

impl Server {
    /// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms].
    pub(crate) fn failover_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        if self.cluster.is_some() {
            return Value::error("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.");
        }
        if args.len() == 2 && args[1].eq_ignore_ascii_case(b"abort") {
            if !self.failover.active() {
                return Value::error("ERR No failover in progress.");
            }
            self.abort_failover(ctx, "Failover manually aborted");
            return Value::ok();
        }
        let r = match parse(args) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if self.failover.active() {
            return Value::error("ERR FAILOVER already in progress.");
        }
        if self.repl.master.is_some() {
            return Value::error("ERR FAILOVER is not valid when server is a replica.");
        }
        if !self.clients.values().any(|c| c.replica.is_some()) {
            return Value::error("ERR FAILOVER requires connected replicas.");
        }
        if r.force && (r.timeout_ms == 0 || r.to.is_none()) {
            return Value::error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
        }
        if let Some((host, port)) = &r.to {
            match self.find_replica(host, *port) {
                None => return Value::error("ERR FAILOVER target HOST and PORT is not a replica."),
                Some(c) if !c.replica.as_ref().is_some_and(|p| p.online()) => {
                    return Value::error("ERR FAILOVER target replica is not online.");
                }
                Some(_) => self.log(ctx, '*', &format!("FAILOVER requested to {host}:{port}.")),
            }
        } else {
            self.log(ctx, '*', "FAILOVER requested to any replica.");
        }
        let now = ctx.wall_clock_ms();
        self.failover = Failover {
            state: State::WaitForSync,
            target: r.to,
            end_ms: (r.timeout_ms > 0).then(|| now.saturating_add(r.timeout_ms)),
            force: r.force,
        };
        Value::ok()
    }

    /// `findReplica`: the replica announcing `host` (its address here) and `port`.
    fn find_replica(&self, host: &str, port: u16) -> Option<&Client> {
        self.clients
            .values()
            .find(|c| c.replica.as_ref().is_some_and(|p| p.port == port) && c.peer.ip().to_string() == host)
    }

    /// `updateFailoverStatus`, run after every command and by replicationCron:
    /// times out, or fails over to a replica that acknowledged the whole stream.
    pub(crate) fn update_failover_status(&mut self, ctx: &mut Ctx<'_>) {
        if self.failover.state != State::WaitForSync {
            return;
        }
        let now = ctx.wall_clock_ms();
        if self.failover.end_ms.is_some_and(|end| end <= now) {
            if self.failover.force {
                let (host, port) = self.failover.target.clone().expect("FORCE needs TO");
                self.log(ctx, '*', &format!("FAILOVER to {host}:{port} time out exceeded, failing over."));
                self.failover.state = State::InProgress;
                self.set_master(ctx, host, port);
            } else {
                self.abort_failover(ctx, "Replica never caught up before timeout");
            }
            return;
        }
        let offset = self.repl.offset;
        let synced = |c: &Client| c.replica.as_ref().is_some_and(|p| p.ack_offset == offset);
        let target = match &self.failover.target {
            Some((host, port)) => self.find_replica(host, *port).filter(|c| synced(c)).map(|_| (host.clone(), *port)),
            None => self
                .clients
                .values()
                .find(|c| synced(c))
                .and_then(|c| c.replica.as_ref().map(|p| (c.peer.ip().to_string(), p.port))),
        };
        let Some((host, port)) = target else { return };
        self.failover.target = Some((host.clone(), port));
        self.failover.state = State::InProgress;
        self.log(ctx, '*', &format!("Failover target {host}:{port} is synced, failing over."));
        self.set_master(ctx, host, port);
    }

    /// `abortFailover`: back to a master with writes resumed.
    pub(crate) fn abort_failover(&mut self, ctx: &mut Ctx<'_>, why: &str) {
        if !self.failover.active() {
            return;
        }
        let line = match &self.failover.target {
            Some((host, port)) => format!("FAILOVER to {host}:{port} aborted: {why}"),
            None => format!("FAILOVER to any replica aborted: {why}"),
        };
        self.log(ctx, '*', &line);
        if self.failover.in_progress() {
            self.unset_master(ctx);
        }
        self.clear_failover_state(ctx);
    }

    /// `clearFailoverState`: the failover is over, held writes run (and
    /// meet a replica's READONLY if it succeeded).
    pub(crate) fn clear_failover_state(&mut self, ctx: &mut Ctx<'_>) {
        self.failover = Failover::default();
        self.resume_paused_clients(ctx);
    }

    /// The target's side of `PSYNC <replid> <offset> FAILOVER` (`syncCommand`):
    /// a replica asked by its master with its own replication id becomes a
    /// master, then serves the PSYNC. `Some(error)` refuses it.
    pub(crate) fn psync_failover(&mut self, ctx: &mut Ctx<'_>, client: &Client, replid: &[u8]) -> Option<Value> {
        self.log(ctx, '#', &format!("Failover request received for replid {}.", String::from_utf8_lossy(replid)));
        if self.repl.master.is_none() {
            return Some(Value::error("ERR PSYNC FAILOVER can't be sent to a master."));
        }
        if !replid.eq_ignore_ascii_case(self.repl.replid.as_bytes()) {
            return Some(Value::error("ERR PSYNC FAILOVER replid must match my replid."));
        }
        // `replicationUnsetMaster` frees the master client first, which caches it.
        if self.repl.link_up() {
            self.log(ctx, '#', "Connection with master lost.");
        }
        self.drop_master_link(ctx);
        self.unset_master(ctx);
        let info = self.client_info(client, ctx.wall_clock_ms(), "psync");
        self.log(ctx, '*', &format!("MASTER MODE enabled (failover request from '{info}')"));
        None
    }
}
