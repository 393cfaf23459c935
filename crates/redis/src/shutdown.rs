//! Graceful shutdown as Redis 7.0 does it (server.c `prepareForShutdown`,
//! `isReadyToShutdown`, `finishShutdown`, `abortShutdown`, db.c
//! `shutdownCommand`). SIGTERM only schedules it: the next serverCron starts
//! it. A master whose replicas have not acknowledged its whole stream pauses
//! writes, sends `REPLCONF GETACK *` and waits, checked on every cron, until
//! they have or `shutdown-timeout` has passed; then it fsyncs the AOF, saves
//! if configured and exits. SHUTDOWN blocks its client the same way; SHUTDOWN
//! ABORT cancels a shutdown under way.

use crate::config::ShutdownFlags;
use crate::replication::PeerState;
use crate::server::Server;
use resp::Value;
use sim::{ConnId, Ctx};

/// What a SHUTDOWN client hears when the shutdown fails or is aborted.
const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

/// A shutdown asked for or under way.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// SIGTERM arrived; the next cron starts the shutdown (`shutdown_asap`).
    asap: bool,
    /// The shutdown under way's flags (`shutdown_flags`).
    flags: ShutdownFlags,
    /// While waiting for replicas: when the wait ends (`shutdown_mstime`).
    deadline_ms: Option<i64>,
    /// Clients blocked in SHUTDOWN until the server exits or gives up.
    blocked: Vec<ConnId>,
}

impl Shutdown {
    /// Whether the server waits for its replicas before exiting (writes are paused).
    pub(crate) fn initiated(&self) -> bool {
        self.deadline_ms.is_some()
    }
}

/// `replstateToString`.
fn state_name(state: PeerState) -> &'static str {
    match state {
        PeerState::WaitBgsave => "wait_bgsave",
        PeerState::SendBulk => "send_bulk",
        PeerState::Online => "online",
    }
}

impl Server {
    /// SIGTERM: the signal handler's line; the shutdown itself runs from the
    /// next cron, and the process exits when it is done.
    pub(crate) fn sigterm(&mut self, ctx: &mut Ctx<'_>) {
        if !self.booted {
            // Still starting up: no handler is installed yet, SIGTERM's default action ends it.
            return;
        }
        let msg = format!("{}:signal-handler ({}) Received SIGTERM scheduling shutdown...", self.pid, {
            ctx.wall_clock_ms() / 1000
        });
        ctx.log(msg);
        ctx.defer_exit();
        self.shutdown.asap = true;
    }

    /// serverCron's part: start a scheduled shutdown, or finish one whose
    /// replicas caught up or whose time is up. True when the server exits.
    pub(crate) fn shutdown_cron(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let exit = if self.shutdown.asap && !self.shutdown.initiated() {
            let flags = self.config.shutdown_on_sigterm;
            self.prepare_for_shutdown(ctx, flags)
        } else if let Some(deadline) = self.shutdown.deadline_ms {
            (ctx.wall_clock_ms() >= deadline || self.ready_to_shutdown()) && self.finish_shutdown(ctx)
        } else {
            false
        };
        if exit {
            ctx.exit();
        }
        exit
    }

    /// `prepareForShutdown`: true when the server may exit now; false while
    /// it waits for its replicas (or when a shutdown is already under way).
    fn prepare_for_shutdown(&mut self, ctx: &mut Ctx<'_>, flags: ShutdownFlags) -> bool {
        if self.shutdown.initiated() {
            return false;
        }
        self.shutdown.flags = flags;
        self.log(ctx, '#', "User requested shutdown...");
        if !flags.has(ShutdownFlags::NOW) && self.config.shutdown_timeout != 0 && !self.ready_to_shutdown() {
            self.shutdown.deadline_ms = Some(ctx.wall_clock_ms() + self.config.shutdown_timeout as i64 * 1000);
            self.send_getack_to_replicas(ctx);
            self.log(ctx, '*', "Waiting for replicas before shutting down.");
            return false;
        }
        self.finish_shutdown(ctx)
    }

    /// `isReadyToShutdown`: every replica acknowledged the whole stream.
    fn ready_to_shutdown(&self) -> bool {
        let offset = self.repl.offset;
        self.clients.values().filter_map(|c| c.replica.as_ref()).all(|r| r.ack_offset == offset)
    }

    /// `sendGetackToReplicas`; a replica only proxies its master's stream and sends none.
    fn send_getack_to_replicas(&mut self, ctx: &mut Ctx<'_>) {
        if self.repl.master.is_some() {
            return;
        }
        let mut getack = Vec::new();
        resp::encode_command(&[b"REPLCONF".as_slice(), b"GETACK", b"*"], &mut getack);
        self.feed_replicas(None, &getack);
        self.flush_replica_output(ctx);
    }

    /// `finishShutdown`: the lagging replicas' lines, the AOF's fsync and
    /// the final save; true when the server may exit.
    fn finish_shutdown(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let now_ms = ctx.wall_clock_ms();
        let offset = self.repl.offset;
        let mut lines = Vec::new();
        let mut replicas = 0;
        for client in self.clients.values() {
            let Some(r) = &client.replica else { continue };
            replicas += 1;
            if r.ack_offset != offset {
                let lag = if r.online() { (now_ms - r.ack_ms).max(0) / 1000 } else { 0 };
                lines.push(format!(
                    "Lagging replica {}:{} reported offset {} behind master, lag={lag}, state={}.",
                    client.peer.ip(),
                    r.port,
                    offset - r.ack_offset,
                    state_name(r.state)
                ));
            }
        }
        let lagging = lines.len();
        for line in lines {
            self.log(ctx, '#', &line);
        }
        if replicas > 0 {
            let in_sync = replicas - lagging;
            self.log(ctx, '*', &format!("{in_sync} of {replicas} replicas are in sync when shutting down."));
        }
        if self.persist.kill_rdb_child(ctx) {
            self.log(ctx, '#', "There is a child saving an .rdb. Killing it!");
        }
        let flags = self.shutdown.flags;
        if self.persist.writing_initial_aof() {
            // The AOF was just turned on: without its first rewrite there is no AOF to load.
            if !flags.has(ShutdownFlags::FORCE) {
                self.log(ctx, '#', "Writing initial AOF, can't exit.");
                self.log(ctx, '#', "Errors trying to shut down the server. Check the logs for more information.");
                self.cancel_shutdown(ctx);
                return false;
            }
            self.log(ctx, '#', "Writing initial AOF. Exit anyway.");
        }
        self.final_persistence(ctx, flags.has(ShutdownFlags::SAVE), flags.has(ShutdownFlags::NOSAVE));
        self.flush_replica_output(ctx);
        self.log(ctx, '#', "Redis is now ready to exit, bye bye...");
        true
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: no reply when the server
    /// exits (the client sees the connection close); blocked while it waits
    /// for its replicas.
    pub(crate) fn shutdown_command(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, args: &[Vec<u8>]) -> Option<Value> {
        let mut flags = 0;
        let mut abort = false;
        for arg in &args[1..] {
            let word = String::from_utf8_lossy(arg);
            match ShutdownFlags::word(&word) {
                Some(f) if !word.eq_ignore_ascii_case("default") => flags |= f,
                _ if word.eq_ignore_ascii_case("abort") => abort = true,
                _ => return Some(Value::error("ERR syntax error")),
            }
        }
        let both = ShutdownFlags::SAVE | ShutdownFlags::NOSAVE;
        if (abort && flags != 0) || flags & both == both {
            return Some(Value::error("ERR syntax error"));
        }
        if abort {
            return Some(match self.abort_shutdown(ctx) {
                true => Value::ok(),
                false => Value::error("ERR No shutdown in progress."),
            });
        }
        self.shutdown.blocked.push(conn);
        if self.prepare_for_shutdown(ctx, ShutdownFlags(flags)) {
            ctx.exit();
            return None;
        }
        // Refused at once (`cancelShutdown`): this client, detached while its
        // command runs, gets the error the other blocked clients got.
        let refused = !self.shutdown.initiated() && !self.shutdown.blocked.contains(&conn);
        refused.then(|| Value::error(SHUTDOWN_FAILED))
    }

    /// `abortShutdown`: false when no shutdown was asked for.
    fn abort_shutdown(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.shutdown.initiated() {
            self.cancel_shutdown(ctx);
        } else if self.shutdown.asap {
            self.shutdown.asap = false;
        } else {
            return false;
        }
        self.log(ctx, '*', "Shutdown manually aborted.");
        true
    }

    /// `cancelShutdown`: the blocked SHUTDOWN clients get an error, writes resume.
    /// (The client whose SHUTDOWN is running is detached: its command replies.)
    fn cancel_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        let blocked = std::mem::take(&mut self.shutdown.blocked);
        self.shutdown = crate::shutdown::Shutdown::default();
        for conn in blocked {
            if self.clients.contains_key(&conn) {
                let reply = Value::error(SHUTDOWN_FAILED);
                self.outputs.write_with(ctx, conn, |buf| reply.encode(buf));
            }
        }
        self.resume_paused_clients(ctx);
    }

    /// Writes are held while the server waits for its replicas (`PAUSE_DURING_SHUTDOWN`).
    pub(crate) fn shutdown_pauses_writes(&self) -> bool {
        self.shutdown.initiated()
    }

    /// Whether `conn` is blocked in SHUTDOWN.
    pub(crate) fn shutdown_blocks(&self, conn: ConnId) -> bool {
        !self.shutdown.blocked.is_empty() && self.shutdown.blocked.contains(&conn)
    }

    /// A client gone while blocked in SHUTDOWN is no longer replied to.
    pub(crate) fn shutdown_client_gone(&mut self, conn: ConnId) {
        self.shutdown.blocked.retain(|c| *c != conn);
    }
}
