//! Persistence on the node's simulated disk (rdb.c, aof.c): RDB snapshots by
//! SAVE, BGSAVE, save points and shutdown; the 7.0 multi-part AOF with
//! `appendfsync always|everysec|no`; loading at start. What survives a stop, a
//! kill or a host crash follows from when data is written and fsync'd, because
//! the kernel's disk keeps unsynced writes in a page cache a host crash loses.

use crate::config::{Config, Fsync};
use crate::dispatch::Timer;
use crate::keyspace::{Exec, Feed};
use crate::server::Server;
use resp::{RequestParser, Value};
use sim::Ctx;
use std::time::Duration;

/// Where CONFIG REWRITE keeps the configuration on the node's disk.
pub const CONFIG_FILE: &str = "redis.conf";

/// What a forked child is doing.
#[derive(Debug)]
pub(crate) enum ChildKind {
    /// BGSAVE to the RDB file.
    Save { snapshot: Vec<u8> },
    /// A full sync for replicas.
    Sync { diskless: bool, snapshot: Vec<u8> },
    /// An AOF rewrite (`rewriteAppendOnlyFileBackground`).
    Rewrite(Rewrite),
}

/// What an AOF rewrite's child writes, and what its parent does with it.
#[derive(Debug)]
pub(crate) struct Rewrite {
    /// The new base file's bytes.
    base: Vec<u8>,
    /// The new base's (and, with the AOF on, the new incr file's) sequence number.
    seq: u64,
    incr: NewIncr,
    /// The manifest's files when the rewrite began: history once it is done.
    old: Option<ManifestFiles>,
}

/// A forked child. Its work takes time ([`save_child_time`],
/// [`rewrite_child_time`]); when it exits it has written its file and logged
/// its own lines, and the parent notices at its next serverCron
/// (`checkChildrenDone`), as Redis reaps children there.
#[derive(Debug)]
pub(crate) struct Child {
    kind: ChildKind,
    dirty_at_fork: u64,
    /// The timer that fires when it exits.
    timer: sim::TimerId,
    /// When it was forked, on the node's wall clock.
    started_ms: i64,
    /// Its pid, which its own log lines carry.
    pid: u32,
    /// It has exited; the parent has not reaped it yet.
    exited: bool,
    /// It exited on SIGUSR1 (`killRDBChild`), its work unfinished.
    killed: bool,
}

/// A disk the measured children wait for: one fsync, median 4.0 ms on this
/// machine (300 `os.fsync` after a 100-byte append).
const FSYNC_US: u64 = 4_000;

/// How long an RDB child (BGSAVE, save points, a disk-based full sync)
/// works: the fork, serialising at about 500 MB/s, and the two fsyncs of
/// rdbSave (the file, then its directory). Measured on real 7.0.15 here,
/// BGSAVE of an empty dataset: the child's `DB saved on disk` 3 to 26 ms
/// after `Background saving started` (median 11 ms, 30 runs).
pub(crate) fn save_child_time(bytes: usize) -> Duration {
    Duration::from_micros(1000 + bytes as u64 / 500 + 2 * FSYNC_US)
}

/// How long an AOF rewrite child works: the fork, the base at about 500
/// MB/s and one fsync (`rewriteAppendOnlyFile`). Measured: its `Successfully
/// created the temporary AOF base file` 0 to 5 ms after the parent's
/// `started by pid` line.
fn rewrite_child_time(bytes: usize) -> Duration {
    Duration::from_micros(1000 + bytes as u64 / 500 + FSYNC_US)
}

/// The append-only file's state.
#[derive(Debug, Default)]
struct Aof {
    seq: u64,
    /// Writes go to the temporary incr file: the AOF was turned on and its
    /// first rewrite is under way (`AOF_WAIT_REWRITE`).
    temp_incr: bool,
    /// Bytes appended since the AOF was opened (`aof_current_size`).
    written: u64,
    selected: Option<usize>,
    last_fsync_ms: i64,
    unsynced: bool,
}

/// Persistence state of one server.
#[derive(Debug, Default)]
pub(crate) struct Persistence {
    /// Changes since the last successful save (`server.dirty`).
    pub(crate) dirty: u64,
    pub(crate) lastsave_ms: i64,
    /// RDB saves started: SAVE, and BGSAVE or a disk-based sync's fork (`rdb_saves`).
    pub(crate) saves: u64,
    /// Children forked: BGSAVE, full syncs and AOF rewrites (`total_forks`).
    pub(crate) forks: u64,
    /// AOF rewrites forked (`aof_rewrites`); how long the last one took, in
    /// ms (`aof_last_rewrite_time_sec`).
    aof_rewrites: u64,
    last_rewrite_ms: Option<i64>,
    /// A BGSAVE (`rdb_bgsave_scheduled`) or an AOF rewrite
    /// (`aof_rewrite_scheduled`) waits for the running child.
    bgsave_scheduled: bool,
    rewrite_scheduled: bool,
    /// Keys the last RDB load kept, and those it dropped as expired
    /// (`rdb_last_load_keys_loaded`, `rdb_last_load_keys_expired`).
    pub(crate) last_load: (u64, u64),
    /// How long the last BGSAVE took, in ms (`rdb_last_bgsave_time_sec`).
    last_bgsave_ms: Option<i64>,
    child: Option<Child>,
    aof: Option<Aof>,
    scratch: Vec<u8>,
}

impl Persistence {
    pub(crate) fn child_running(&self) -> bool {
        self.child.is_some()
    }

    /// Whether a full sync's child is running.
    pub(crate) fn sync_child_running(&self) -> bool {
        matches!(self.child, Some(Child { kind: ChildKind::Sync { .. }, .. }))
    }

    /// Whether the child writes an RDB (`CHILD_TYPE_RDB`: BGSAVE or a full sync's).
    fn rdb_child_running(&self) -> bool {
        matches!(self.child, Some(Child { kind: ChildKind::Save { .. } | ChildKind::Sync { .. }, .. }))
    }

    fn rewrite_running(&self) -> bool {
        matches!(self.child, Some(Child { kind: ChildKind::Rewrite(_), .. }))
    }

    /// The AOF's first rewrite is under way (`AOF_WAIT_REWRITE` with its child
    /// running): the AOF holds no dataset yet.
    pub(crate) fn writing_initial_aof(&self) -> bool {
        self.rewrite_running() && self.aof.as_ref().is_some_and(|aof| aof.temp_incr)
    }

    /// Drops a snapshot child (BGSAVE or a full sync's) before exiting; true if there was one.
    pub(crate) fn kill_rdb_child(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.rdb_child_running() {
            return false;
        }
        self.child.take().is_some_and(|child| {
            ctx.cancel_timer(child.timer);
            true
        })
    }

    pub(crate) fn start_child(
        &mut self,
        ctx: &mut Ctx<'_>,
        (pid, kind): (u32, ChildKind),
        dirty_at_fork: u64,
        after: Duration,
    ) {
        let timer = ctx.set_timer(after, Timer::ChildDone.tag());
        self.forks += 1;
        self.child = Some(Child {
            kind,
            dirty_at_fork,
            timer,
            started_ms: ctx.wall_clock_ms(),
            pid,
            exited: false,
            killed: false,
        });
    }

    /// CONFIG RESETSTAT: the counters INFO persistence and stats show.
    pub(crate) fn reset_stats(&mut self) {
        self.saves = 0;
        self.forks = 0;
        self.aof_rewrites = 0;
    }

    fn incr_path(config: &Config, seq: u64) -> String {
        format!("{}/{}.{seq}.incr.aof", config.appenddirname, config.appendfilename)
    }

    /// The incr file writes go to now.
    fn writing_path(config: &Config, aof: &Aof) -> String {
        if aof.temp_incr {
            format!("{}/{}", config.appenddirname, temp_incr_name(config))
        } else {
            Self::incr_path(config, aof.seq)
        }
    }

    /// Appends propagated commands to the AOF (`write()` to the page cache at once,
    /// as Redis does before replying).
    pub(crate) fn feed_aof(&mut self, ctx: &mut Ctx<'_>, config: &Config, db: usize, bytes: &[u8]) {
        let rewriting = matches!(self.child, Some(Child { kind: ChildKind::Rewrite(_), .. }));
        let Some(aof) = &mut self.aof else { return };
        if aof.temp_incr && !rewriting {
            // The AOF's first rewrite waits for another child: its base will hold these writes.
            return;
        }
        let path = Self::writing_path(config, aof);
        if aof.selected != Some(db) {
            let mut select = Vec::new();
            resp::encode_command(&[b"SELECT".as_slice(), db.to_string().as_bytes()], &mut select);
            ctx.disk().append(&path, &select);
            aof.written += select.len() as u64;
            aof.selected = Some(db);
        }
        ctx.disk().append(&path, bytes);
        aof.written += bytes.len() as u64;
        aof.unsynced = true;
        if config.appendfsync == Fsync::Always {
            ctx.disk().fsync(&path);
            aof.unsynced = false;
        }
    }

    /// A command applied from the master's stream goes to this replica's AOF too.
    pub(crate) fn feed_aof_command(&mut self, ctx: &mut Ctx<'_>, config: &Config, db: usize, args: &[Vec<u8>]) {
        if self.aof.is_none() {
            return;
        }
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        resp::encode_command(args, &mut bytes);
        self.feed_aof(ctx, config, db, &bytes);
        self.scratch = bytes;
    }

    /// `appendfsync everysec`: a background fsync about once a second.
    fn aof_cron(&mut self, ctx: &mut Ctx<'_>, config: &Config) {
        let now = ctx.wall_clock_ms();
        let Some(aof) = &mut self.aof else { return };
        if config.appendfsync == Fsync::Everysec && aof.unsynced && now - aof.last_fsync_ms >= 1000 {
            ctx.disk().fsync(&Self::writing_path(config, aof));
            aof.unsynced = false;
            aof.last_fsync_ms = now;
        }
    }

    /// The replica keeps the snapshot it received as its RDB file.
    pub(crate) fn store_received_rdb(&mut self, ctx: &mut Ctx<'_>, config: &Config, payload: &[u8]) {
        write_atomically(ctx, &config.dbfilename, payload);
    }

    /// INFO persistence, every field of 7.0.15 (copy-on-write and module
    /// figures are 0: a simulated fork copies nothing).
    pub(crate) fn info(&self, config: &Config, now_ms: i64) -> String {
        let secs = |ms: Option<i64>| ms.map_or(-1, |ms| ms / 1000);
        let running = |yes: bool| self.child.as_ref().filter(|_| yes).map(|c| now_ms - c.started_ms);
        let (rdb, rewrite) = (self.rdb_child_running(), self.rewrite_running());
        let mut out = format!(
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
             current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n\
             current_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
             rdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:{}\r\n\
             rdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\n\
             rdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\n\
             aof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\n\
             aof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:{}\r\n\
             aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\n\
             module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            self.dirty,
            u8::from(rdb),
            self.lastsave_ms / 1000,
            secs(self.last_bgsave_ms),
            secs(running(rdb)),
            self.saves,
            self.last_load.1,
            self.last_load.0,
            u8::from(config.appendonly),
            u8::from(rewrite),
            u8::from(self.rewrite_scheduled),
            secs(self.last_rewrite_ms),
            secs(running(rewrite)),
            self.aof_rewrites,
        );
        if let Some(aof) = &self.aof {
            out.push_str(&format!(
                "aof_current_size:{}\r\naof_base_size:0\r\naof_pending_rewrite:{}\r\naof_buffer_length:0\r\n\
                 aof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                aof.written,
                u8::from(self.rewrite_scheduled),
            ));
        }
        out
    }

    /// `appendfsync always` is honoured in [`Persistence::feed_aof`]; nothing is left to do before a reply.
    pub(crate) fn before_reply(&mut self, _ctx: &mut Ctx<'_>, _config: &Config) {}
}

/// Writes a temp file, fsyncs it and renames it over `path`, as rdbSave does.
fn write_atomically(ctx: &mut Ctx<'_>, path: &str, bytes: &[u8]) {
    let temp = format!("temp-{path}");
    let disk = ctx.disk();
    disk.write(&temp, bytes);
    disk.fsync(&temp);
    disk.rename(&temp, path);
}

impl Server {
    fn snapshot(&self, ctx: &Ctx<'_>) -> Vec<u8> {
        let info = crate::rdb::ReplInfo {
            replid: self.repl.replid.clone(),
            offset: self.repl.offset,
            stream_db: self.repl.stream_db(),
        };
        crate::rdb::encode(&self.dbs, &self.scripting.functions.codes(), ctx.wall_clock_ms(), Some(&info))
    }

    /// SAVE in the foreground.
    fn save_now(&mut self, ctx: &mut Ctx<'_>) {
        let bytes = self.snapshot(ctx);
        write_atomically(ctx, &self.config.dbfilename.clone(), &bytes);
        crate::costs::spend(ctx, self.costs.fsync);
        self.log(ctx, '*', "DB saved on disk");
        self.persist.dirty = 0;
        self.persist.lastsave_ms = ctx.wall_clock_ms();
    }

    fn start_bgsave(&mut self, ctx: &mut Ctx<'_>) {
        self.persist.saves += 1;
        let pid = self.new_pid(ctx);
        self.log(ctx, '*', &format!("Background saving started by pid {pid}"));
        let snapshot = self.snapshot(ctx);
        let after = save_child_time(snapshot.len());
        let dirty = self.persist.dirty;
        self.persist.start_child(ctx, (pid, ChildKind::Save { snapshot }), dirty, after);
    }

    /// SAVE, BGSAVE [SCHEDULE], LASTSAVE (`saveCommand`, `bgsaveCommand`):
    /// a BGSAVE while an AOF rewrite runs, or inside EXEC, waits for the
    /// cron if asked to (or in EXEC); SAVE runs beside a rewrite.
    pub(crate) fn save_command(&mut self, ctx: &mut Ctx<'_>, name: &str, args: &[Vec<u8>], in_exec: bool) -> Value {
        let busy = || Value::error("ERR Background save already in progress");
        match name {
            "lastsave" => Value::Integer(self.persist.lastsave_ms / 1000),
            "save" if self.persist.rdb_child_running() => busy(),
            "save" => {
                self.persist.saves += 1;
                self.save_now(ctx);
                Value::ok()
            }
            _ => {
                let schedule = match args {
                    [_] => false,
                    [_, word] if word.eq_ignore_ascii_case(b"schedule") => true,
                    _ => return Value::error("ERR syntax error"),
                };
                if self.persist.rdb_child_running() {
                    busy()
                } else if self.persist.child_running() || in_exec {
                    if !(schedule || in_exec) {
                        return Value::error(
                            "ERR Another child process is active (AOF?): can't BGSAVE right now. \
                             Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
                        );
                    }
                    self.persist.bgsave_scheduled = true;
                    Value::Simple("Background saving scheduled".into())
                } else {
                    self.start_bgsave(ctx);
                    Value::Simple("Background saving started".into())
                }
            }
        }
    }

    /// The child's timer: it has done its work and exits. A diskless
    /// sync's child ends when the parent has read its whole pipe, so the
    /// parent handles it at once; every other child writes its file, logs
    /// its own lines (`rdbSave`, `rewriteAppendOnlyFile`,
    /// `sendChildCowInfo`) under its pid, and waits to be reaped.
    pub(crate) fn child_exited(&mut self, ctx: &mut Ctx<'_>) {
        let Some(mut child) = self.persist.child.take() else { return };
        if matches!(child.kind, ChildKind::Sync { diskless: true, .. }) {
            self.persist.child = Some(child);
            return self.child_done(ctx);
        }
        match &child.kind {
            ChildKind::Save { snapshot } | ChildKind::Sync { snapshot, .. } => {
                write_atomically(ctx, &self.config.dbfilename.clone(), snapshot);
                self.log_child(ctx, child.pid, "DB saved on disk");
                self.log_child(ctx, child.pid, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB");
            }
            ChildKind::Rewrite(rewrite) => {
                let temp = rewrite_temp_name(child.pid);
                ctx.disk().write(&temp, &rewrite.base);
                ctx.disk().fsync(&temp);
                self.log_child(ctx, child.pid, &format!("Successfully created the temporary AOF base file {temp}"));
                self.log_child(ctx, child.pid, "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB");
            }
        }
        child.exited = true;
        self.persist.child = Some(child);
    }

    /// The parent reaps its child (`checkChildrenDone`: from serverCron once
    /// it has exited, or from a replica's REPLCONF ACK that shows the sync
    /// it served is complete) and handles its end.
    pub(crate) fn child_done(&mut self, ctx: &mut Ctx<'_>) {
        let Some(child) = self.persist.child.take() else { return };
        ctx.cancel_timer(child.timer);
        if !child.exited {
            // A diskless sync's child (`rdbSaveToSlavesSockets` writes no file).
            self.log_child(ctx, child.pid, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB");
        }
        let took = Some(ctx.wall_clock_ms() - child.started_ms);
        match child.kind {
            ChildKind::Save { .. } if child.killed => {
                self.persist.last_bgsave_ms = took;
                self.log(ctx, '#', "Background saving terminated by signal 10");
            }
            ChildKind::Save { .. } => {
                self.persist.last_bgsave_ms = took;
                self.log(ctx, '*', "Background saving terminated with success");
                self.persist.dirty = self.persist.dirty.saturating_sub(child.dirty_at_fork);
                self.persist.lastsave_ms = ctx.wall_clock_ms();
            }
            ChildKind::Sync { diskless, snapshot } => {
                self.persist.last_bgsave_ms = took;
                if !diskless {
                    self.persist.dirty = self.persist.dirty.saturating_sub(child.dirty_at_fork);
                    self.persist.lastsave_ms = ctx.wall_clock_ms();
                }
                self.sync_child_done(ctx, diskless, &snapshot);
            }
            ChildKind::Rewrite(rewrite) => {
                self.persist.last_rewrite_ms = took;
                self.rewrite_done(ctx, child.pid, rewrite);
            }
        }
    }

    /// serverCron's persistence part before replicationCron: the AOF's
    /// background fsync, a rewrite BGREWRITEAOF scheduled, then reaping an
    /// exited child or, with none running, the save points.
    pub(crate) fn persistence_cron(&mut self, ctx: &mut Ctx<'_>) {
        self.persist.aof_cron(ctx, &self.config);
        if !self.persist.child_running() && self.persist.rewrite_scheduled {
            self.start_rewrite(ctx);
        }
        if let Some(child) = &self.persist.child {
            if child.exited {
                self.child_done(ctx);
            }
            return;
        }
        let now = ctx.wall_clock_ms();
        let since = now - self.persist.lastsave_ms;
        let due = self
            .config
            .save
            .iter()
            .find(|&&(secs, changes)| self.persist.dirty >= changes && since > secs as i64 * 1000)
            .copied();
        if let Some((secs, changes)) = due {
            self.log(ctx, '*', &format!("{changes} changes in {secs} seconds. Saving..."));
            self.start_bgsave(ctx);
        }
    }

    /// What a keyspace command leaves to the server: FLUSHALL's part of
    /// [`Server::flushall_persistence`].
    pub(crate) fn after_keyspace(&mut self, ctx: &mut Ctx<'_>, command: &crate::command_table::Command, reply: &Value) {
        if command.name == "flushall" && !matches!(reply, Value::Error(_)) {
            self.flushall_persistence(ctx);
        }
    }

    /// FLUSHALL's part (`flushAllDataAndResetRDB`): a BGSAVE child still at
    /// work is killed (reaped at the next cron; its snapshot is not
    /// written), and with save points the empty dataset is saved at once.
    pub(crate) fn flushall_persistence(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(child) = &mut self.persist.child
            && matches!(child.kind, ChildKind::Save { .. })
            && !child.exited
        {
            ctx.cancel_timer(child.timer);
            (child.exited, child.killed) = (true, true);
            let secs = ctx.wall_clock_ms() / 1000;
            ctx.log(format!("{}:signal-handler ({secs}) Received SIGUSR1 in child, exiting now.", child.pid));
        }
        if !self.config.save.is_empty() {
            self.save_now(ctx);
        }
    }

    /// serverCron's last persistence step, after replicationCron (which
    /// forks for replicas first): a BGSAVE scheduled while a child ran.
    pub(crate) fn scheduled_bgsave_cron(&mut self, ctx: &mut Ctx<'_>) {
        if self.persist.bgsave_scheduled && !self.persist.child_running() {
            self.persist.bgsave_scheduled = false;
            self.start_bgsave(ctx);
        }
    }

    /// What `finishShutdown` does to the files before exiting: fsync the AOF,
    /// then save if there are save points and no NOSAVE, or SAVE was asked for.
    pub(crate) fn final_persistence(&mut self, ctx: &mut Ctx<'_>, save: bool, nosave: bool) {
        if self.persist.rewrite_running() {
            self.log(ctx, '#', "There is a child rewriting the AOF. Killing it!");
            self.kill_rewrite_child(ctx);
        }
        if let Some(aof) = &self.persist.aof {
            let path = Persistence::writing_path(&self.config, aof);
            self.log(ctx, '*', "Calling fsync() on the AOF file.");
            ctx.disk().fsync(&path);
            crate::costs::spend(ctx, self.costs.fsync);
        }
        if (!self.config.save.is_empty() && !nosave) || save {
            self.log(ctx, '*', "Saving the final RDB snapshot before exiting.");
            self.save_now(ctx);
        }
    }

    /// `loadDataFromDisk`.
    pub(crate) fn load_data(&mut self, ctx: &mut Ctx<'_>) {
        if self.config.appendonly {
            self.load_aof(ctx);
            return;
        }
        let Some(bytes) = ctx.disk().read(&self.config.dbfilename).map(<[u8]>::to_vec) else { return };
        match crate::rdb::decode(&bytes, &self.config.encodings) {
            Ok(loaded) => {
                let repl = loaded.repl.clone();
                let before: u64 = loaded.dbs.iter().map(|(_, d)| d.keys.len() as u64).sum();
                let is_master = self.repl.master.is_none();
                let keys = self.install_snapshot(ctx, loaded, is_master);
                self.persist.last_load = (keys, before - keys);
                let msg = format!("Done loading RDB, keys loaded: {keys}, keys expired: {}.", before - keys);
                self.log(ctx, '*', &msg);
                self.log(ctx, '*', "DB loaded from disk: 0.000 seconds");
                if let Some(info) = repl {
                    self.restore_replication_info(ctx, &info);
                }
            }
            Err(e) => {
                self.log(ctx, '#', &e.to_string());
                ctx.exit();
            }
        }
    }

    /// Bytes of the RDB, or of the AOF directory's files, that a start loads.
    pub(crate) fn data_files_len(&self, ctx: &mut Ctx<'_>) -> usize {
        let disk = ctx.disk();
        if !self.config.appendonly {
            return disk.len(&self.config.dbfilename).unwrap_or(0);
        }
        let dir = format!("{}/", self.config.appenddirname);
        let files: Vec<String> = disk.list().filter(|f| f.starts_with(&dir)).map(str::to_owned).collect();
        files.iter().filter_map(|f| disk.len(f)).sum()
    }

    fn manifest_path(&self) -> String {
        format!("{}/{}.manifest", self.config.appenddirname, self.config.appendfilename)
    }

    /// The base file `seq` is written as now: `.base.rdb` with an RDB
    /// preamble, `.base.aof` of commands without (`aof-use-rdb-preamble`).
    fn base_name(&self, seq: u64) -> String {
        let ext = if self.config.aof_rdb_preamble { "rdb" } else { "aof" };
        format!("{}.{seq}.base.{ext}", self.config.appendfilename)
    }

    fn base_path(&self, seq: u64) -> String {
        format!("{}/{}", self.config.appenddirname, self.base_name(seq))
    }

    /// A new base file's bytes: the dataset as an RDB, or as the commands
    /// that rebuild it ([`crate::aof_base`]).
    fn base_bytes(&self, ctx: &mut Ctx<'_>) -> Vec<u8> {
        let functions = self.scripting.functions.codes();
        if self.config.aof_rdb_preamble {
            crate::rdb::encode(&self.dbs, &functions, ctx.wall_clock_ms(), None)
        } else {
            crate::aof_base::encode(&self.dbs, &functions)
        }
    }

    fn load_aof(&mut self, ctx: &mut Ctx<'_>) {
        let manifest = ctx.disk().read(&self.manifest_path()).map(|b| String::from_utf8_lossy(b).into_owned());
        let Some(manifest) = manifest else {
            // First start with AOF on: a base of the (empty) dataset and an empty incr file.
            let seq = 1;
            let base = self.base_bytes(ctx);
            write_atomically(ctx, &self.base_path(seq), &base);
            let msg = format!("Creating AOF base file {} on server start", self.base_name(seq));
            self.log(ctx, '*', &msg);
            let incr = Persistence::incr_path(&self.config, seq);
            ctx.disk().write(&incr, b"");
            ctx.disk().fsync(&incr);
            let msg = format!("Creating AOF incr file {}.{seq}.incr.aof on server start", self.config.appendfilename);
            self.log(ctx, '*', &msg);
            self.write_manifest(ctx, seq, true);
            self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
            return;
        };
        let files = ManifestFiles::parse(&manifest);
        let seq = files.seq;
        let dir = self.config.appenddirname.clone();
        let base_name = files.base.map_or_else(|| self.base_name(seq), |b| b.1);
        let base = ctx.disk().read(&format!("{dir}/{base_name}")).map(<[u8]>::to_vec).unwrap_or_default();
        if base.starts_with(b"REDIS") {
            if let Ok(loaded) = crate::rdb::decode(&base, &self.config.encodings) {
                self.log(ctx, '*', "Reading RDB base file on AOF loading...");
                // An AOF's base keeps its expired keys (they expire afterwards).
                let keys = self.install_snapshot(ctx, loaded, false);
                self.persist.last_load = (keys, 0);
                self.log(ctx, '*', "RDB is base AOF");
                self.log(ctx, '*', &format!("Done loading RDB, keys loaded: {keys}, keys expired: 0."));
                self.log(ctx, '*', &format!("DB loaded from base file {base_name}: 0.000 seconds"));
            }
        } else if !base.is_empty() {
            if !self.replay_aof(ctx, &base) {
                return;
            }
            self.log(ctx, '*', &format!("DB loaded from base file {base_name}: 0.000 seconds"));
        }
        let mut incrs = files.incrs;
        if incrs.is_empty() {
            incrs.push((seq, format!("{}.{seq}.incr.aof", self.config.appendfilename)));
        }
        for (_, incr_name) in &incrs {
            let incr = ctx.disk().read(&format!("{dir}/{incr_name}")).map(<[u8]>::to_vec).unwrap_or_default();
            if !self.replay_aof(ctx, &incr) {
                return;
            }
            if !incr.is_empty() {
                self.log(ctx, '*', &format!("DB loaded from incr file {incr_name}: 0.000 seconds"));
            }
        }
        let (seq, incr_name) = incrs.pop().unwrap_or_default();
        self.log(ctx, '*', "DB loaded from append only file: 0.000 seconds");
        self.log(ctx, '*', &format!("Opening AOF incr file {incr_name} on server start"));
        self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
    }

    /// Runs an AOF file's commands against the dataset; false (after the
    /// log line and the exit) when the file is not a command stream.
    fn replay_aof(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]) -> bool {
        let mut parser = RequestParser::default();
        parser.feed(bytes);
        let mut feed = Feed::default();
        let mut db = 0;
        // Redis expires nothing while replaying the AOF: a key past its time still
        // takes the later commands, as it did when they were first run.
        let now_ms = i64::MIN;
        loop {
            match parser.next_command(false) {
                Ok(true) => {}
                Ok(false) => return true,
                Err(_) => {
                    self.log(ctx, '#', "Bad file format reading the append only file");
                    ctx.exit();
                    return false;
                }
            }
            let args = parser.args();
            let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
            if name == "select" {
                db = args.get(1).and_then(|a| crate::commands::parse_int(a)).unwrap_or(0).max(0) as usize;
                db = db.min(self.dbs.len() - 1);
                continue;
            }
            if name == "function" {
                self.function_from_master(ctx, args);
                continue;
            }
            // A name the table lacks would only have been answered with an error.
            let Some(command) = crate::command_table::lookup(&name) else { continue };
            let mut x = Exec::new(&mut self.dbs, &mut feed, false, db, now_ms);
            x.clock_ms = ctx.wall_clock_ms();
            x.obey = true;
            crate::commands::keyspace(command, args, &mut x);
        }
    }

    /// The manifest naming base `seq` and, with `incr`, incr file `seq`
    /// (`persistAofManifest`).
    fn write_manifest(&mut self, ctx: &mut Ctx<'_>, seq: u64, incr: bool) {
        let base = Some((seq, self.base_name(seq)));
        let incrs =
            if incr { vec![(seq, format!("{}.{seq}.incr.aof", self.config.appendfilename))] } else { Vec::new() };
        let files = ManifestFiles { seq, base, incrs };
        write_atomically(ctx, &self.manifest_path(), files.text().as_bytes());
    }

    /// BGREWRITEAOF (`bgrewriteaofCommand`): with the AOF on, a new base
    /// and a new incr file; with it off, Redis still writes a new base and a
    /// manifest naming only it. While another child runs, or inside EXEC,
    /// the rewrite waits for the cron.
    pub(crate) fn bgrewriteaof(&mut self, ctx: &mut Ctx<'_>, in_exec: bool) -> Value {
        if self.persist.rewrite_running() {
            return Value::error("ERR Background append only file rewriting already in progress");
        }
        if self.persist.child_running() || in_exec {
            self.persist.rewrite_scheduled = true;
            return Value::Simple("Background append only file rewriting scheduled".into());
        }
        self.start_rewrite(ctx);
        Value::Simple("Background append only file rewriting started".into())
    }

    /// The AOF turned on (`startAppendOnly`: CONFIG SET appendonly yes, a
    /// replica's full sync): its first rewrite, whose writes meanwhile go to
    /// a temporary incr file renamed into the new one at the end
    /// (`AOF_WAIT_REWRITE`); scheduled while another child runs.
    pub(crate) fn start_aof(&mut self, ctx: &mut Ctx<'_>, in_exec: bool) {
        let seq = self.manifest_files(ctx).map_or(1, |m| m.seq + 1);
        self.persist.aof = Some(Aof { seq, temp_incr: true, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
        if self.persist.rdb_child_running() {
            self.persist.rewrite_scheduled = true;
            let msg = "AOF was enabled but there is already another background operation. \
                       An AOF background was scheduled to start when possible.";
            self.log(ctx, '#', msg);
        } else if in_exec {
            self.persist.rewrite_scheduled = true;
            let msg = "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.";
            self.log(ctx, '#', msg);
        } else {
            if self.persist.rewrite_running() {
                let msg = "AOF was enabled but there is already an AOF rewriting in background. \
                           Stopping background AOF and starting a rewrite now.";
                self.log(ctx, '#', msg);
                self.kill_rewrite_child(ctx);
            }
            self.start_rewrite(ctx);
        }
    }

    /// `killAppendOnlyChild`: the rewrite is dropped and its temporary base removed.
    pub(crate) fn kill_rewrite_child(&mut self, ctx: &mut Ctx<'_>) {
        if !self.persist.rewrite_running() {
            return;
        }
        let Some(child) = self.persist.child.take() else { return };
        ctx.cancel_timer(child.timer);
        self.log(ctx, '*', &format!("Killing running AOF rewrite child: {}", child.pid));
        ctx.disk().remove(&rewrite_temp_name(child.pid));
    }

    /// The manifest on disk, if any.
    fn manifest_files(&self, ctx: &mut Ctx<'_>) -> Option<ManifestFiles> {
        let manifest = ctx.disk().read(&self.manifest_path())?;
        Some(ManifestFiles::parse(&String::from_utf8_lossy(manifest)))
    }

    /// `rewriteAppendOnlyFileBackground`: the parent opens the new incr file
    /// (naming it in the manifest at once, so a crash meanwhile loses
    /// nothing) and forks a child that writes the new base.
    fn start_rewrite(&mut self, ctx: &mut Ctx<'_>) {
        self.persist.rewrite_scheduled = false;
        let old = self.manifest_files(ctx);
        let incr = match &self.persist.aof {
            Some(aof) if aof.temp_incr => NewIncr::Temporary,
            Some(_) => NewIncr::Next,
            None => NewIncr::None,
        };
        let seq = match &self.persist.aof {
            Some(aof) if incr == NewIncr::Temporary => aof.seq,
            Some(aof) => aof.seq + 1,
            None => old.as_ref().map_or(1, |m| m.seq + 1),
        };
        let name = match incr {
            NewIncr::Next => format!("{}.{seq}.incr.aof", self.config.appendfilename),
            _ => temp_incr_name(&self.config),
        };
        match incr {
            NewIncr::Next => {
                ctx.disk().write(&Persistence::incr_path(&self.config, seq), b"");
                let mut files = old.clone().unwrap_or_default();
                files.incrs.push((seq, name.clone()));
                write_atomically(ctx, &self.manifest_path(), files.text().as_bytes());
            }
            NewIncr::Temporary => ctx.disk().write(&format!("{}/{name}", self.config.appenddirname), b""),
            NewIncr::None => {}
        }
        if let Some(aof) = &mut self.persist.aof {
            (aof.seq, aof.selected) = (seq, None);
            self.log(ctx, '*', &format!("Creating AOF incr file {name} on background rewrite"));
        }
        let pid = self.new_pid(ctx);
        self.persist.aof_rewrites += 1;
        self.log(ctx, '*', &format!("Background append only file rewriting started by pid {pid}"));
        let base = self.base_bytes(ctx);
        let after = rewrite_child_time(base.len());
        let dirty = self.persist.dirty;
        let rewrite = Rewrite { base, seq, incr, old };
        self.persist.start_child(ctx, (pid, ChildKind::Rewrite(rewrite)), dirty, after);
    }

    /// `backgroundRewriteDoneHandler`: the child's base renamed into the new
    /// base, the temporary incr file (if any) into the new incr file, the
    /// manifest naming them, and the files they replace removed.
    fn rewrite_done(&mut self, ctx: &mut Ctx<'_>, pid: u32, rewrite: Rewrite) {
        let Rewrite { seq, incr, old, .. } = rewrite;
        self.log(ctx, '*', "Background AOF rewrite terminated with success");
        let temp = rewrite_temp_name(pid);
        ctx.disk().rename(&temp, &self.base_path(seq));
        let renamed = format!("Successfully renamed the temporary AOF base file {temp} into {}", self.base_name(seq));
        self.log(ctx, '*', &renamed);
        let incr_name = format!("{}.{seq}.incr.aof", self.config.appendfilename);
        if incr == NewIncr::Temporary {
            let temp_incr = temp_incr_name(&self.config);
            let dir = &self.config.appenddirname;
            ctx.disk().rename(&format!("{dir}/{temp_incr}"), &Persistence::incr_path(&self.config, seq));
            let renamed = format!("Successfully renamed the temporary AOF incr file {temp_incr} into {incr_name}");
            self.log(ctx, '*', &renamed);
            if let Some(aof) = &mut self.persist.aof {
                aof.temp_incr = false;
            }
        }
        self.write_manifest(ctx, seq, incr != NewIncr::None);
        // History: the incr files before the rewrite, oldest first, then the old base.
        let history =
            old.into_iter().flat_map(|m| m.incrs.into_iter().map(|(_, name)| name).chain(m.base.map(|b| b.1)));
        for file in history.collect::<Vec<_>>() {
            ctx.disk().remove(&format!("{}/{file}", self.config.appenddirname));
            self.log(ctx, '*', &format!("Removing the history file {file} in the background"));
        }
        self.log(ctx, '*', "Background AOF rewrite finished successfully");
    }

    /// CONFIG SET appendonly (`startAppendOnly`, `stopAppendOnly`).
    pub(crate) fn appendonly_changed(&mut self, ctx: &mut Ctx<'_>, in_exec: bool) {
        if self.config.appendonly {
            self.start_aof(ctx, in_exec);
        } else {
            self.persist.aof = None;
            self.persist.rewrite_scheduled = false;
            self.kill_rewrite_child(ctx);
        }
    }
}

/// The files a manifest names (`file <name> seq <n> type b|i` lines): the
/// base, and the incr files in order (two after a crash during a rewrite:
/// the old one and the one opened when the rewrite began).
#[derive(Clone, Debug, Default)]
struct ManifestFiles {
    /// The greatest sequence number named.
    seq: u64,
    base: Option<(u64, String)>,
    incrs: Vec<(u64, String)>,
}

impl ManifestFiles {
    fn parse(manifest: &str) -> ManifestFiles {
        let mut files = ManifestFiles { seq: 1, base: None, incrs: Vec::new() };
        let lines = manifest.lines().map(|l| l.split_whitespace().collect::<Vec<_>>());
        let mut entries: Vec<(u64, String, String)> = lines
            .filter_map(|w| match w.as_slice() {
                ["file", name, "seq", seq, "type", kind] => {
                    Some((seq.parse().ok()?, (*name).to_owned(), (*kind).to_owned()))
                }
                _ => None,
            })
            .collect();
        entries.sort_by_key(|(seq, _, _)| *seq);
        for (seq, name, kind) in entries {
            files.seq = files.seq.max(seq);
            match kind.as_str() {
                "b" => files.base = Some((seq, name)),
                "i" => files.incrs.push((seq, name)),
                _ => {}
            }
        }
        files
    }

    /// The manifest's text, as `persistAofManifest` writes it.
    fn text(&self) -> String {
        let base = self.base.iter().map(|(seq, name)| format!("file {name} seq {seq} type b\n"));
        base.chain(self.incrs.iter().map(|(seq, name)| format!("file {name} seq {seq} type i\n"))).collect()
    }
}

/// The file an AOF rewrite child writes its base to, in the working directory.
fn rewrite_temp_name(pid: u32) -> String {
    format!("temp-rewriteaof-bg-{pid}.aof")
}

/// The incr file writes go to while the AOF's first rewrite runs (`getTempIncrAofName`).
fn temp_incr_name(config: &Config) -> String {
    format!("temp-{}.incr", config.appendfilename)
}

/// The incr file a rewrite opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewIncr {
    /// The next one, named at once (BGREWRITEAOF with the AOF on).
    Next,
    /// A temporary one renamed at the end (the AOF being turned on).
    Temporary,
    /// None (BGREWRITEAOF with the AOF off).
    None,
}
