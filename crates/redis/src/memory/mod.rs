//! Redis 7.0's memory model on the node: what keys cost ([`size`]), each
//! list's node sizes kept as it changes ([`List`]), each
//! key's LRU/LFU access field ([`access`], kept per database by [`keys`]),
//! `maxmemory` and its policies ([`policy`]), eviction before a command
//! ([`evict`]), and what INFO memory and MEMORY report ([`report`]).
//!
//! The command gate mirrors processCommand(): with `maxmemory` set, and not
//! on a replica that ignores it (`replica-ignore-maxmemory yes`, the
//! default), keys are evicted while the used memory less what is not
//! counted for eviction (replica buffers beyond the backlog) is above the
//! limit; if that fails, deny-oom commands (and anything queued in MULTI
//! but EXEC, DISCARD, QUIT, RESET) get `-OOM`.

mod access;
mod evict;
mod keys;
mod list;
mod policy;
mod report;
pub(crate) mod size;

pub(crate) use access::{Access, Clock, idle_ms, lfu_decayed};
pub(crate) use keys::{KeyMeta, Meta};
pub use list::List;
pub(crate) use policy::DIRECTIVES;
pub use policy::{MaxMemory, Policy};

use crate::command_table::{Command, Keys};
use crate::keyspace::Exec;
use crate::server::Server;
use resp::Value;
use sim::Ctx;

/// The deny-oom refusal.
pub(crate) const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// After a keyspace command: the keys it names are touched (unless it
/// looks without touching) and, after a write, measured again.
pub(crate) fn after_command(command: &Command, args: &[Vec<u8>], x: &mut Exec<'_>) {
    if command.keys == Keys::None {
        return;
    }
    let touch = !command.has(crate::command_table::NO_TOUCH);
    if !touch && !command.write() {
        return;
    }
    let (db, now) = (x.db, x.clock_ms);
    let keys = command.keys.indexes(args).map(|i| args[i].as_slice());
    keys::after_command(&mut x.dbs[db], keys, touch, command.write(), &mut x.access, now);
}

/// The server's memory state beyond the keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct Memory {
    /// The eviction pool, round-robin database and `evicted_keys`.
    pub(crate) evictor: evict::Evictor,
    /// `stat_peak_memory`.
    pub(crate) peak: u64,
    /// A normal client's command runs with the client out of the client
    /// map ([`Server::execute`]): it still holds its memory.
    pub(crate) detached_caller: bool,
    /// `server.pre_command_oom_state`: the last client command found the
    /// node over its limit after evicting (scripts in compatibility mode
    /// check their `redis.call`s against it).
    pub(crate) pre_command_oom: bool,
}

impl Server {
    /// How this command's lookups touch keys: the policy's clock, frozen
    /// while a child runs, with a draw for LFU's increments (only then).
    pub(crate) fn access(&self, ctx: &mut Ctx<'_>) -> Access {
        let clock = self.config.maxmemory.clock();
        let seed = if matches!(clock, access::Clock::Lfu { .. }) { ctx.rng().next_u64() } else { 0 };
        Access { clock, frozen: self.persist.child_running(), seed }
    }

    /// Integers are shared objects unless an LRU/LFU policy with a limit
    /// needs each key's own access field.
    pub(crate) fn shared_integers(&self) -> bool {
        let m = &self.config.maxmemory;
        m.limit == 0 || !m.policy.no_shared_integers()
    }

    fn outside(&self) -> report::Outside {
        let replicas = self.clients.values().filter(|c| c.replica.is_some()).count() as u64;
        let backlog = self.repl.backlog_bytes();
        let replica_buffers: u64 = self
            .clients
            .iter()
            .filter(|(_, c)| c.replica.is_some())
            .map(|(conn, _)| self.outputs.held(*conn) as u64)
            .sum();
        report::Outside {
            clients: self.clients.len() as u64 - replicas + u64::from(self.memory.detached_caller),
            backlog,
            replica_buffers: replica_buffers.saturating_sub(backlog),
            aof_buffer: 0,
            scripts: self.scripting.cache_memory(),
            cluster: self.cluster.is_some(),
        }
    }

    /// Brings every database's key bookkeeping up to date and the peak with it.
    pub(crate) fn refresh_memory(&mut self, now_ms: i64) -> u64 {
        let access = Access { clock: self.config.maxmemory.clock(), ..Access::default() };
        for db in &mut self.dbs {
            keys::resync(db, &access, now_ms);
        }
        let used = report::used_memory(&self.dbs, &self.outside());
        self.memory.peak = self.memory.peak.max(used);
        used
    }

    /// processCommand's maxmemory step for `command` (already past the
    /// other gates): evicts while over the limit; `-OOM` if that fails and
    /// the command may not run out of memory.
    pub(crate) fn maxmemory_gate(
        &mut self,
        ctx: &mut Ctx<'_>,
        command: &Command,
        args: &[Vec<u8>],
        in_multi: bool,
    ) -> Option<Value> {
        let config = self.config.maxmemory.clone();
        self.memory.pre_command_oom = false;
        if config.limit == 0 || (self.repl.master.is_some() && config.replica_ignore) {
            return None;
        }
        let now = ctx.wall_clock_ms();
        let used = self.refresh_memory(now);
        let counted = used.saturating_sub(self.outside().replica_buffers);
        let mut out_of_memory = false;
        if counted > config.limit {
            let (mut freed, to_free) = (0, counted - config.limit);
            while freed < to_free {
                let mut draw = || ctx.rng().next_u64();
                let run =
                    evict::Run { config: &config, is_master: self.repl.master.is_none(), now_ms: now, draw: &mut draw };
                match self.memory.evictor.evict_one(&mut self.dbs, &mut self.feed, run) {
                    Ok(bytes) => freed += bytes,
                    Err(evict::OutOfMemory) => {
                        out_of_memory = true;
                        break;
                    }
                }
                self.flush_feed(ctx);
            }
        }
        self.memory.pre_command_oom = out_of_memory;
        let deny = command.doc.flags.contains(&"denyoom")
            || self.script_denies_oom(command.name, args)
            || (in_multi && !matches!(command.name, "exec" | "discard" | "quit" | "reset"));
        (out_of_memory && deny).then(|| Value::error(OOM))
    }

    /// `updateMaxmemory`'s warning when CONFIG SET puts the limit below
    /// what is used (eviction then happens before the next command).
    pub(crate) fn warn_maxmemory_below_usage(&mut self, ctx: &mut Ctx<'_>) {
        let used = self.refresh_memory(ctx.wall_clock_ms()).saturating_sub(self.outside().replica_buffers);
        let limit = self.config.maxmemory.limit;
        if limit < used {
            self.log(ctx, '#', &format!("WARNING: the new maxmemory value set via CONFIG SET ({limit}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."));
        }
    }

    /// INFO's Memory section.
    pub(crate) fn info_memory(&self) -> String {
        let outside = self.outside();
        let o = report::overhead(&self.dbs, &outside, self.memory.peak);
        report::info(&o, &self.config.maxmemory, outside.replica_buffers)
    }

    /// MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP.
    pub(crate) fn memory_command(&mut self, db: usize, args: &[Vec<u8>], now_ms: i64) -> Value {
        let command = crate::command_table::lookup("memory").expect("MEMORY is in the table");
        if let Some(e) = crate::command_table::check_subcommand(command, args) {
            return e;
        }
        self.refresh_memory(now_ms);
        let outside = self.outside();
        let overhead = || report::overhead(&self.dbs, &outside, self.memory.peak);
        match String::from_utf8_lossy(&args[1]).to_ascii_lowercase().as_str() {
            "usage" => self.memory_usage(db, args),
            "stats" => report::stats(&overhead()),
            "doctor" => {
                let replicas = self.clients.values().filter(|c| c.replica.is_some()).count() as u64;
                Value::Verbatim(report::doctor(&overhead(), outside.clients, replicas).into_bytes())
            }
            "malloc-stats" => Value::Verbatim(b"Stats not supported for the current allocator".to_vec()),
            "purge" => Value::ok(),
            _ => Value::Array(MEMORY_HELP.iter().map(|l| Value::Simple((*l).into())).collect()),
        }
    }

    /// MEMORY USAGE key [SAMPLES count]: no expiry check, as Redis looks
    /// the key up in the dict directly.
    fn memory_usage(&self, db: usize, args: &[Vec<u8>]) -> Value {
        let mut samples = size::DEFAULT_SAMPLES;
        let mut options = args[3..].iter();
        while let Some(option) = options.next() {
            let count = options.next();
            let Some(count) = count.filter(|_| option.eq_ignore_ascii_case(b"samples")) else {
                return Value::error("ERR syntax error");
            };
            samples = match crate::commands::parse_int(count) {
                None => return Value::error("ERR value is not an integer or out of range"),
                Some(n) if n < 0 => return Value::error("ERR syntax error"),
                Some(n) => n as usize,
            };
        }
        let db = &self.dbs[db];
        let Some(data) = db.keys.get(&args[2]) else { return Value::Nil };
        let links = if self.cluster.is_some() { report::SLOT_TO_KEYS } else { 0 };
        Value::Integer((size::usage(&args[2], data, db.big.contains(&args[2]), samples) + links) as i64)
    }
}

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];
