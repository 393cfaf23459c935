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

    pub(crate) fn start_child(&mut self, ctx: &mut Ctx<'_>, kind: ChildKind, dirty_at_fork: u64, after: Duration) {
        let timer = ctx.set_timer(after, Timer::ChildDone.tag());
        self.child = Some(Child { kind, dirty_at_fork, timer, started_ms: ctx.wall_clock_ms() });
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
             rdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:{}\r\n\
             aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n\
             aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n\
             aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\n\
             module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            self.dirty,
            u8::from(bgsave),
            self.lastsave_ms / 1000,
            secs(self.last_bgsave_ms),
            secs(current),
            self.saves,
            u8::from(config.appendonly)
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
        self.persist.start_child(ctx, ChildKind::Save { snapshot }, dirty, after);
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
        match child.kind {
            ChildKind::Save { snapshot } => {
                write_atomically(ctx, &self.config.dbfilename.clone(), &snapshot);
                self.log(ctx, '*', "DB saved on disk");
                self.persist.saves += 1;
                self.persist.last_bgsave_ms = Some(ctx.wall_clock_ms() - child.started_ms);
                self.log(ctx, '*', "Background saving terminated with success");
                self.persist.dirty = self.persist.dirty.saturating_sub(child.dirty_at_fork);
                self.persist.lastsave_ms = ctx.wall_clock_ms();
            }
            ChildKind::Sync { diskless, snapshot } => {
                if !diskless {
                    write_atomically(ctx, &self.config.dbfilename.clone(), &snapshot);
                    self.log(ctx, '*', "DB saved on disk");
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
        match crate::rdb::decode(&bytes) {
            Ok(loaded) => {
                let repl = loaded.repl.clone();
                let before: u64 = loaded.dbs.iter().map(|(_, d)| d.keys.len() as u64).sum();
                let is_master = self.repl.master.is_none();
                let keys = self.install_snapshot(ctx, loaded, is_master);
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

    fn base_path(&self, seq: u64) -> String {
        format!("{}/{}.{seq}.base.rdb", self.config.appenddirname, self.config.appendfilename)
    }

    fn load_aof(&mut self, ctx: &mut Ctx<'_>) {
        let manifest = ctx.disk().read(&self.manifest_path()).map(|b| String::from_utf8_lossy(b).into_owned());
        let Some(manifest) = manifest else {
            // First start with AOF on: an empty base and incr file.
            let seq = 1;
            let base = crate::rdb::encode(&self.dbs, &self.scripting.functions.codes(), ctx.wall_clock_ms(), None);
            let base_path = self.base_path(seq);
            write_atomically(ctx, &base_path, &base);
            let msg = format!("Creating AOF base file {}.{seq}.base.rdb on server start", self.config.appendfilename);
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
        let seq = manifest
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).and_then(|s| s.parse::<u64>().ok()))
            .max()
            .unwrap_or(1);
        if let Some(base) = ctx.disk().read(&self.base_path(seq)).map(<[u8]>::to_vec)
            && let Ok(loaded) = crate::rdb::decode(&base)
        {
            self.install_snapshot(ctx, loaded, false);
        }
        let incr = ctx.disk().read(&Persistence::incr_path(&self.config, seq)).map(<[u8]>::to_vec).unwrap_or_default();
        let mut parser = RequestParser::default();
        parser.feed(&incr);
        let mut feed = Feed::default();
        let mut db = 0;
        // Redis expires nothing while replaying the AOF: a key past its time still
        // takes the later commands, as it did when they were first run.
        let now_ms = i64::MIN;
        loop {
            match parser.next_command(false) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => {
                    self.log(ctx, '#', "Bad file format reading the append only file");
                    ctx.exit();
                    return;
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
        self.log(ctx, '*', "DB loaded from append only file: 0.000 seconds");
        self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
    }

    fn write_manifest(&mut self, ctx: &mut Ctx<'_>, seq: u64) {
        let name = &self.config.appendfilename;
        let text =
            format!("file {name}.{seq}.base.rdb seq {seq} type b\nfile {name}.{seq}.incr.aof seq {seq} type i\n");
        write_atomically(ctx, &self.manifest_path(), text.as_bytes());
    }

    /// BGREWRITEAOF's result: a new base from the dataset and an empty incr file.
    pub(crate) fn rewrite_aof(&mut self, ctx: &mut Ctx<'_>) {
        let pid = self.new_pid(ctx);
        self.log(ctx, '*', &format!("Background append only file rewriting started by pid {pid}"));
        let old = self.persist.aof.as_ref().map(|a| a.seq);
        let seq = old.map_or(1, |s| s + 1);
        let base = crate::rdb::encode(&self.dbs, &self.scripting.functions.codes(), ctx.wall_clock_ms(), None);
        let base_path = self.base_path(seq);
        write_atomically(ctx, &base_path, &base);
        let incr = Persistence::incr_path(&self.config, seq);
        ctx.disk().write(&incr, b"");
        ctx.disk().fsync(&incr);
        self.write_manifest(ctx, seq);
        if let Some(old) = old {
            let old_base = self.base_path(old);
            ctx.disk().remove(&old_base);
            ctx.disk().remove(&Persistence::incr_path(&self.config, old));
        }
        self.persist.aof = Some(Aof { seq, last_fsync_ms: ctx.wall_clock_ms(), ..Aof::default() });
        self.log(ctx, '*', "Background AOF rewrite terminated with success");
        self.log(ctx, '*', "Background AOF rewrite finished successfully");
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

    /// BGREWRITEAOF with AOF off: base `n + 1` replaces base `n` of the manifest on disk.
    fn rewrite_aof_off(&mut self, ctx: &mut Ctx<'_>) {
        let pid = self.new_pid(ctx);
        self.log(ctx, '*', &format!("Background append only file rewriting started by pid {pid}"));
        let manifest = ctx.disk().read(&self.manifest_path()).map(|b| String::from_utf8_lossy(b).into_owned());
        let old = manifest.as_deref().and_then(|m| {
            m.lines().find_map(|l| l.split_whitespace().skip_while(|w| *w != "seq").nth(1)?.parse::<u64>().ok())
        });
        let seq = old.map_or(1, |s| s + 1);
        let base = crate::rdb::encode(&self.dbs, &self.scripting.functions.codes(), ctx.wall_clock_ms(), None);
        write_atomically(ctx, &self.base_path(seq), &base);
        let name = &self.config.appendfilename;
        let text = format!("file {name}.{seq}.base.rdb seq {seq} type b\n");
        write_atomically(ctx, &self.manifest_path(), text.as_bytes());
        if let Some(old) = old {
            let old_base = self.base_path(old);
            ctx.disk().remove(&old_base);
        }
        self.log(ctx, '*', "Background AOF rewrite terminated with success");
        self.log(ctx, '*', "Background AOF rewrite finished successfully");
    }

    /// CONFIG SET appendonly.
    pub(crate) fn appendonly_changed(&mut self, ctx: &mut Ctx<'_>) {
        if self.config.appendonly {
            self.rewrite_aof(ctx);
        } else {
            self.persist.aof = None;
        }
    }
}
