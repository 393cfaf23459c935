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
}

#[derive(Debug)]
pub(crate) struct Child {
    kind: ChildKind,
    dirty_at_fork: u64,
    /// The timer that reports it done.
    timer: sim::TimerId,
    /// When it was forked, on the node's wall clock.
    started_ms: i64,
    /// Its pid, which its own log lines carry.
    pid: u32,
}

/// The append-only file's state.
#[derive(Debug, Default)]
struct Aof {
    seq: u64,
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
    /// RDB files written (`rdb_saves`).
    saves: u64,
    /// Children forked: BGSAVE, full syncs and AOF rewrites (`total_forks`).
    pub(crate) forks: u64,
    /// AOF rewrites done (`aof_rewrites`); whether there was one since start
    /// (`aof_last_rewrite_time_sec` is 0 then, as a rewrite takes no time here).
    aof_rewrites: u64,
    aof_rewritten: bool,
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

    /// Drops a snapshot child (BGSAVE or a full sync's) before exiting; true if there was one.
    pub(crate) fn kill_rdb_child(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(child) = self.child.take() else { return false };
        ctx.cancel_timer(child.timer);
        true
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
        self.child = Some(Child { kind, dirty_at_fork, timer, started_ms: ctx.wall_clock_ms(), pid });
    }

    /// An AOF rewrite's child was forked (and, here, is done at once).
    fn aof_rewritten(&mut self) {
        self.forks += 1;
        self.aof_rewrites += 1;
        self.aof_rewritten = true;
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

    /// Appends propagated commands to the AOF (`write()` to the page cache at once,
    /// as Redis does before replying).
    pub(crate) fn feed_aof(&mut self, ctx: &mut Ctx<'_>, config: &Config, db: usize, bytes: &[u8]) {
        let Some(aof) = &mut self.aof else { return };
        let path = Self::incr_path(config, aof.seq);
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
            ctx.disk().fsync(&Self::incr_path(config, aof.seq));
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
        let bgsave = matches!(self.child, Some(Child { kind: ChildKind::Save { .. }, .. }));
        let secs = |ms: Option<i64>| ms.map_or(-1, |ms| ms / 1000);
        let current = self.child.as_ref().filter(|_| bgsave).map(|c| now_ms - c.started_ms);
        let mut out = format!(
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
             current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n\
             current_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
             rdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:{}\r\n\
             rdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\n\
             rdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\n\
             aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:{}\r\n\
             aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:{}\r\n\
             aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\n\
             module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            self.dirty,
            u8::from(bgsave),
            self.lastsave_ms / 1000,
            secs(self.last_bgsave_ms),
            secs(current),
            self.saves,
            self.last_load.1,
            self.last_load.0,
            u8::from(config.appendonly),
            if self.aof_rewritten { 0 } else { -1 },
            self.aof_rewrites,
        );
        if let Some(aof) = &self.aof {
            out.push_str(&format!(
                "aof_current_size:{}\r\naof_base_size:0\r\naof_pending_rewrite:0\r\naof_buffer_length:0\r\n\
                 aof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                aof.written
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
        self.persist.saves += 1;
        self.persist.dirty = 0;
        self.persist.lastsave_ms = ctx.wall_clock_ms();
    }

    fn start_bgsave(&mut self, ctx: &mut Ctx<'_>) {
        let pid = self.new_pid(ctx);
        self.log(ctx, '*', &format!("Background saving started by pid {pid}"));
        let snapshot = self.snapshot(ctx);
        let after = Duration::from_micros(1000 + snapshot.len() as u64 / 500);
        let dirty = self.persist.dirty;
        self.persist.start_child(ctx, (pid, ChildKind::Save { snapshot }), dirty, after);
    }

    /// SAVE, BGSAVE, LASTSAVE.
    pub(crate) fn save_command(&mut self, ctx: &mut Ctx<'_>, name: &str, args: &[Vec<u8>]) -> Value {
        match name {
            "lastsave" => Value::Integer(self.persist.lastsave_ms / 1000),
            _ if self.persist.child_running() => Value::error("ERR Background save already in progress"),
            "save" => {
                self.save_now(ctx);
                Value::ok()
            }
            _ => {
                if args.len() > 2 || args.get(1).is_some_and(|a| !a.eq_ignore_ascii_case(b"schedule")) {
                    return Value::error("ERR syntax error");
                }
                self.start_bgsave(ctx);
                Value::Simple("Background saving started".to_owned())
            }
        }
    }

    /// The child finished (its timer fired, or a replica's ACK showed the
    /// sync it served is complete: `checkChildrenDone` on REPLCONF ACK).
    pub(crate) fn child_done(&mut self, ctx: &mut Ctx<'_>) {
        let Some(child) = self.persist.child.take() else { return };
        ctx.cancel_timer(child.timer);
        // The child's own lines (`rdbSaveBackground`, `sendChildCowInfo`), under its pid.
        let saved = !matches!(child.kind, ChildKind::Sync { diskless: true, .. });
        if saved {
            self.log_child(ctx, child.pid, "DB saved on disk");
        }
        self.log_child(ctx, child.pid, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB");
        match child.kind {
            ChildKind::Save { snapshot } => {
                write_atomically(ctx, &self.config.dbfilename.clone(), &snapshot);
                self.persist.saves += 1;
                self.persist.last_bgsave_ms = Some(ctx.wall_clock_ms() - child.started_ms);
                self.log(ctx, '*', "Background saving terminated with success");
                self.persist.dirty = self.persist.dirty.saturating_sub(child.dirty_at_fork);
                self.persist.lastsave_ms = ctx.wall_clock_ms();
            }
            ChildKind::Sync { diskless, snapshot } => {
                if !diskless {
                    write_atomically(ctx, &self.config.dbfilename.clone(), &snapshot);
                    self.persist.saves += 1;
                    self.persist.dirty = self.persist.dirty.saturating_sub(child.dirty_at_fork);
                    self.persist.lastsave_ms = ctx.wall_clock_ms();
                }
                self.sync_child_done(ctx, diskless, &snapshot);
            }
        }
    }

    /// Save points and the AOF's background fsync, from serverCron.
    pub(crate) fn persistence_cron(&mut self, ctx: &mut Ctx<'_>) {
        self.persist.aof_cron(ctx, &self.config);
        if self.persist.child_running() {
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

    /// What `finishShutdown` does to the files before exiting: fsync the AOF,
    /// then save if there are save points and no NOSAVE, or SAVE was asked for.
    pub(crate) fn final_persistence(&mut self, ctx: &mut Ctx<'_>, save: bool, nosave: bool) {
        if let Some(seq) = self.persist.aof.as_ref().map(|a| a.seq) {
            self.log(ctx, '*', "Calling fsync() on the AOF file.");
            let path = Persistence::incr_path(&self.config, seq);
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
            self.write_manifest(ctx, seq);
            self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
            return;
        };
        let files = ManifestFiles::parse(&manifest);
        let seq = files.seq;
        let dir = self.config.appenddirname.clone();
        let base_name = files.base.unwrap_or_else(|| self.base_name(seq));
        let incr_name = files.incr.unwrap_or_else(|| format!("{}.{seq}.incr.aof", self.config.appendfilename));
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
        let incr = ctx.disk().read(&format!("{dir}/{incr_name}")).map(<[u8]>::to_vec).unwrap_or_default();
        if !self.replay_aof(ctx, &incr) {
            return;
        }
        if !incr.is_empty() {
            self.log(ctx, '*', &format!("DB loaded from incr file {incr_name}: 0.000 seconds"));
        }
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

    fn write_manifest(&mut self, ctx: &mut Ctx<'_>, seq: u64) {
        let name = &self.config.appendfilename;
        let base = self.base_name(seq);
        let text = format!("file {base} seq {seq} type b\nfile {name}.{seq}.incr.aof seq {seq} type i\n");
        write_atomically(ctx, &self.manifest_path(), text.as_bytes());
    }

    /// BGREWRITEAOF's result: a new base from the dataset and an empty incr file.
    pub(crate) fn rewrite_aof(&mut self, ctx: &mut Ctx<'_>) {
        self.rewrite_base(ctx, NewIncr::Next);
    }

    /// The AOF turned on (`startAppendOnly`: CONFIG SET appendonly yes, a
    /// replica's full sync): a rewrite whose writes meanwhile go to a
    /// temporary incr file, renamed into the new one when it is done.
    pub(crate) fn start_aof(&mut self, ctx: &mut Ctx<'_>) {
        self.rewrite_base(ctx, NewIncr::Temporary);
    }

    /// BGREWRITEAOF: with AOF on, the rewrite above; with it off, Redis
    /// still writes a new base and a manifest naming only it. The rewrite
    /// is immediate here; while a BGSAVE child runs Redis would schedule it
    /// after the child, and answers so.
    pub(crate) fn bgrewriteaof(&mut self, ctx: &mut Ctx<'_>) -> Value {
        let scheduled = self.persist.child_running();
        if self.persist.aof.is_some() {
            self.rewrite_aof(ctx);
        } else {
            self.rewrite_aof_off(ctx);
        }
        Value::Simple(
            if scheduled {
                "Background append only file rewriting scheduled"
            } else {
                "Background append only file rewriting started"
            }
            .to_owned(),
        )
    }

    /// BGREWRITEAOF with AOF off: base `n + 1` replaces the files of the manifest on disk.
    fn rewrite_aof_off(&mut self, ctx: &mut Ctx<'_>) {
        self.rewrite_base(ctx, NewIncr::None);
    }

    /// A rewrite (`rewriteAppendOnlyFileBackground`, done at once here) with
    /// its log lines, the child's under its own pid: a new base `n + 1` (and,
    /// with the AOF on, a new empty incr file), the manifest naming them, the
    /// old manifest's files removed.
    fn rewrite_base(&mut self, ctx: &mut Ctx<'_>, incr: NewIncr) {
        let pid = self.new_pid(ctx);
        self.persist.aof_rewritten();
        let manifest = ctx.disk().read(&self.manifest_path()).map(|b| String::from_utf8_lossy(b).into_owned());
        let old = manifest.as_deref().map(ManifestFiles::parse);
        let seq = self.persist.aof.as_ref().map(|a| a.seq).or(old.as_ref().map(|m| m.seq)).map_or(1, |s| s + 1);
        let name = self.config.appendfilename.clone();
        let (incr_name, temp_incr) = (format!("{name}.{seq}.incr.aof"), format!("temp-{name}.incr"));
        match incr {
            NewIncr::Next => self.log(ctx, '*', &format!("Creating AOF incr file {incr_name} on background rewrite")),
            NewIncr::Temporary => {
                self.log(ctx, '*', &format!("Creating AOF incr file {temp_incr} on background rewrite"))
            }
            NewIncr::None => {}
        }
        self.log(ctx, '*', &format!("Background append only file rewriting started by pid {pid}"));
        let temp = format!("temp-rewriteaof-bg-{pid}.aof");
        self.log_child(ctx, pid, &format!("Successfully created the temporary AOF base file {temp}"));
        self.log_child(ctx, pid, "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB");
        let base = self.base_bytes(ctx);
        write_atomically(ctx, &self.base_path(seq), &base);
        if incr != NewIncr::None {
            let incr = Persistence::incr_path(&self.config, seq);
            ctx.disk().write(&incr, b"");
            ctx.disk().fsync(&incr);
            self.write_manifest(ctx, seq);
        } else {
            let text = format!("file {} seq {seq} type b\n", self.base_name(seq));
            write_atomically(ctx, &self.manifest_path(), text.as_bytes());
        }
        self.log(ctx, '*', "Background AOF rewrite terminated with success");
        let renamed = format!("Successfully renamed the temporary AOF base file {temp} into {}", self.base_name(seq));
        self.log(ctx, '*', &renamed);
        if incr == NewIncr::Temporary {
            let renamed = format!("Successfully renamed the temporary AOF incr file {temp_incr} into {incr_name}");
            self.log(ctx, '*', &renamed);
        }
        let history = old.into_iter().flat_map(|m| m.incr.into_iter().chain(m.base));
        for file in history.collect::<Vec<_>>() {
            ctx.disk().remove(&format!("{}/{file}", self.config.appenddirname));
            self.log(ctx, '*', &format!("Removing the history file {file} in the background"));
        }
        if incr != NewIncr::None {
            self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
        }
        self.log(ctx, '*', "Background AOF rewrite finished successfully");
    }

    /// CONFIG SET appendonly.
    pub(crate) fn appendonly_changed(&mut self, ctx: &mut Ctx<'_>) {
        if self.config.appendonly {
            self.start_aof(ctx);
        } else {
            self.persist.aof = None;
        }
    }
}

/// The files a manifest names (`file <name> seq <n> type b|i` lines): the
/// base and the incr file of the greatest sequence number.
struct ManifestFiles {
    seq: u64,
    base: Option<String>,
    incr: Option<String>,
}

impl ManifestFiles {
    fn parse(manifest: &str) -> ManifestFiles {
        let mut files = ManifestFiles { seq: 1, base: None, incr: None };
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
                "b" => files.base = Some(name),
                "i" => files.incr = Some(name),
                _ => {}
            }
        }
        files
    }
}

/// The incr file a rewrite opens.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NewIncr {
    /// The next one, named at once (BGREWRITEAOF with the AOF on).
    Next,
    /// A temporary one renamed at the end (the AOF being turned on).
    Temporary,
    /// None (BGREWRITEAOF with the AOF off).
    None,
}
