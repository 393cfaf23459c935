//! `getMemoryOverheadData` and what reads it: INFO's Memory section and
//! MEMORY STATS / DOCTOR, on the node's model of its memory
//! ([`super::size`] for the keys, measured constants for the rest).
//!
//! Measured on a real 7.0.15 (jemalloc 5.3): a fresh server's
//! `used_memory_startup` is 876,056 bytes; a normal client that has sent a
//! command holds about 22,528 (`mem_clients_normal` per client); the empty
//! Lua VM for EVAL 32,768, the functions VM 33,792 and the functions'
//! bookkeeping 200. The simulated process holds exactly its allocations
//! rounded up to 4 KB pages (allocator and RSS figures are that, with no
//! fragmentation), on a simulated host of 16 GB.

use super::size::dict_slots;
use crate::keyspace::Db;
use std::fmt::Write as _;

/// `used_memory_startup` of a fresh 7.0.15.
pub(crate) const STARTUP: u64 = 876_056;
/// What one normal client adds (its struct and 16 KB reply buffer).
pub(crate) const CLIENT: u64 = 22_528;
/// The empty Lua VM for EVAL (`used_memory_lua`).
const LUA_VM: u64 = 32_768;
/// The empty functions VM (`used_memory_vm_functions`).
const FUNCTIONS_VM: u64 = 33_792;
/// The functions engine's bookkeeping without libraries (`used_memory_functions`).
const FUNCTIONS: u64 = 200;
/// The simulated host's memory (`total_system_memory`).
const SYSTEM_MEMORY: u64 = 16 << 30;
/// One page.
const PAGE: u64 = 4096;
/// A `dictEntry` as allocated, and its C size.
const ENTRY_ALLOC: u64 = 32;
const ENTRY: u64 = 24;
/// Cluster mode's per-key slot-to-keys links (`dictMetadataSize`).
pub(crate) const SLOT_TO_KEYS: u64 = 16;

/// What the server holds besides its keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Outside {
    /// Normal clients connected.
    pub(crate) clients: u64,
    /// Bytes in the replication backlog.
    pub(crate) backlog: u64,
    /// Bytes replicas' buffers hold beyond the backlog.
    pub(crate) replica_buffers: u64,
    /// Bytes of the AOF buffer.
    pub(crate) aof_buffer: u64,
    /// Scripts in EVAL's cache and what their entries hold.
    pub(crate) scripts: (u64, u64),
    /// Cluster mode: keys carry slot-to-keys links.
    pub(crate) cluster: bool,
}

/// `struct redisMemOverhead`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overhead {
    pub(crate) total_allocated: u64,
    pub(crate) peak_allocated: u64,
    pub(crate) repl_backlog: u64,
    pub(crate) clients_slaves: u64,
    pub(crate) clients_normal: u64,
    pub(crate) aof_buffer: u64,
    pub(crate) lua_caches: u64,
    pub(crate) cached_scripts: u64,
    /// Per database with keys: id, main table, expires table, slot-to-keys.
    pub(crate) dbs: Vec<(usize, u64, u64, u64)>,
    pub(crate) overhead_total: u64,
    pub(crate) total_keys: u64,
    pub(crate) dataset: u64,
}

/// EVAL's script dict: its entries and buckets (`evalScriptsMemory`).
fn script_cache(count: u64, entry_bytes: u64) -> u64 {
    entry_bytes + 8 * dict_slots(count as usize)
}

/// `zmalloc_used_memory()` of the model: startup, clients, replication and
/// AOF buffers, scripts, and per database its keys and two tables.
pub(crate) fn used_memory(dbs: &[Db], outside: &Outside) -> u64 {
    let mut total = STARTUP + outside.clients * CLIENT + outside.backlog + outside.replica_buffers;
    total += outside.aof_buffer + script_cache(outside.scripts.0, outside.scripts.1);
    for db in dbs.iter().filter(|db| !db.keys.is_empty()) {
        let links = if outside.cluster { db.keys.len() as u64 * SLOT_TO_KEYS } else { 0 };
        total += db.meta.bytes() + 8 * dict_slots(db.keys.len()) + links;
        total += db.expires.len() as u64 * ENTRY_ALLOC + 8 * dict_slots(db.expires.len());
    }
    total
}

/// `getMemoryOverheadData`.
pub(crate) fn overhead(dbs: &[Db], outside: &Outside, peak: u64) -> Overhead {
    let total_allocated = used_memory(dbs, outside);
    let mut o = Overhead {
        total_allocated,
        peak_allocated: peak.max(total_allocated),
        repl_backlog: outside.backlog,
        clients_slaves: outside.replica_buffers,
        clients_normal: outside.clients * CLIENT,
        aof_buffer: outside.aof_buffer,
        lua_caches: script_cache(outside.scripts.0, outside.scripts.1),
        cached_scripts: outside.scripts.0,
        ..Overhead::default()
    };
    let mut total = STARTUP + o.repl_backlog + o.clients_slaves + o.clients_normal + o.aof_buffer;
    total += o.lua_caches + FUNCTIONS;
    for (i, db) in dbs.iter().enumerate().filter(|(_, db)| !db.keys.is_empty()) {
        let keys = db.keys.len() as u64;
        let main = keys * ENTRY + 8 * dict_slots(db.keys.len()) + keys * 16;
        let expires = db.expires.len() as u64 * ENTRY + 8 * dict_slots(db.expires.len());
        let links = if outside.cluster { keys * SLOT_TO_KEYS } else { 0 };
        total += main + expires + links;
        o.total_keys += keys;
        o.dbs.push((i, main, expires, links));
    }
    o.overhead_total = total;
    o.dataset = total_allocated.saturating_sub(total);
    o
}

impl Overhead {
    fn net(&self) -> u64 {
        self.total_allocated.saturating_sub(STARTUP).max(1)
    }

    /// `dataset_perc`, a float as Redis keeps it.
    fn dataset_perc(&self) -> f32 {
        self.dataset as f32 * 100.0 / self.net() as f32
    }

    /// `peak_perc`.
    fn peak_perc(&self) -> f32 {
        self.total_allocated as f32 * 100.0 / self.peak_allocated as f32
    }

    /// The allocator's active (and resident) bytes: whole pages.
    fn active(&self) -> u64 {
        self.total_allocated.div_ceil(PAGE) * PAGE
    }
}

/// `bytesToHuman`.
pub(crate) fn human(n: u64) -> String {
    let d = n as f64;
    match n {
        0..1024 => format!("{n}B"),
        _ if n < 1 << 20 => format!("{:.2}K", d / 1024.0),
        _ if n < 1 << 30 => format!("{:.2}M", d / (1u64 << 20) as f64),
        _ if n < 1 << 40 => format!("{:.2}G", d / (1u64 << 30) as f64),
        _ if n < 1 << 50 => format!("{:.2}T", d / (1u64 << 40) as f64),
        _ if n < 1 << 60 => format!("{:.2}P", d / (1u64 << 50) as f64),
        _ => format!("{n}B"),
    }
}

/// INFO's `# Memory` section, fields in 7.0.15's order.
pub(crate) fn info(o: &Overhead, config: &super::MaxMemory, not_counted: u64) -> String {
    let used = o.total_allocated;
    let active = o.active();
    let scripts_eval = o.lua_caches;
    let frag = active as f64 / used as f64;
    let mut s = String::from("# Memory\r\n");
    let mut f = |name: &str, value: String| {
        let _ = write!(s, "{name}:{value}\r\n");
    };
    f("used_memory", used.to_string());
    f("used_memory_human", human(used));
    f("used_memory_rss", active.to_string());
    f("used_memory_rss_human", human(active));
    f("used_memory_peak", o.peak_allocated.to_string());
    f("used_memory_peak_human", human(o.peak_allocated));
    f("used_memory_peak_perc", format!("{:.2}%", o.peak_perc()));
    f("used_memory_overhead", o.overhead_total.to_string());
    f("used_memory_startup", STARTUP.to_string());
    f("used_memory_dataset", o.dataset.to_string());
    f("used_memory_dataset_perc", format!("{:.2}%", o.dataset_perc()));
    f("allocator_allocated", used.to_string());
    f("allocator_active", active.to_string());
    f("allocator_resident", active.to_string());
    f("total_system_memory", SYSTEM_MEMORY.to_string());
    f("total_system_memory_human", human(SYSTEM_MEMORY));
    f("used_memory_lua", LUA_VM.to_string());
    f("used_memory_vm_eval", LUA_VM.to_string());
    f("used_memory_lua_human", human(LUA_VM));
    f("used_memory_scripts_eval", scripts_eval.to_string());
    f("number_of_cached_scripts", o.cached_scripts.to_string());
    f("number_of_functions", "0".to_owned());
    f("number_of_libraries", "0".to_owned());
    f("used_memory_vm_functions", FUNCTIONS_VM.to_string());
    f("used_memory_vm_total", (LUA_VM + FUNCTIONS_VM).to_string());
    f("used_memory_vm_total_human", human(LUA_VM + FUNCTIONS_VM));
    f("used_memory_functions", FUNCTIONS.to_string());
    f("used_memory_scripts", (scripts_eval + FUNCTIONS).to_string());
    f("used_memory_scripts_human", human(scripts_eval + FUNCTIONS));
    f("maxmemory", config.limit.to_string());
    f("maxmemory_human", human(config.limit));
    f("maxmemory_policy", config.policy.name().to_owned());
    f("allocator_frag_ratio", format!("{frag:.2}"));
    f("allocator_frag_bytes", (active - used).to_string());
    f("allocator_rss_ratio", "1.00".to_owned());
    f("allocator_rss_bytes", "0".to_owned());
    f("rss_overhead_ratio", "1.00".to_owned());
    f("rss_overhead_bytes", "0".to_owned());
    f("mem_fragmentation_ratio", format!("{frag:.2}"));
    f("mem_fragmentation_bytes", (active - used).to_string());
    f("mem_not_counted_for_evict", not_counted.to_string());
    f("mem_replication_backlog", o.repl_backlog.to_string());
    f("mem_total_replication_buffers", (o.repl_backlog + o.clients_slaves).to_string());
    f("mem_clients_slaves", o.clients_slaves.to_string());
    f("mem_clients_normal", o.clients_normal.to_string());
    f("mem_cluster_links", "0".to_owned());
    f("mem_aof_buffer", o.aof_buffer.to_string());
    f("mem_allocator", "jemalloc-5.3.0".to_owned());
    f("active_defrag_running", "0".to_owned());
    f("lazyfree_pending_objects", "0".to_owned());
    f("lazyfreed_objects", "0".to_owned());
    s
}

/// MEMORY STATS (`memoryCommand`): the overhead data as a map, doubles as
/// Redis prints a float.
pub(crate) fn stats(o: &Overhead) -> resp::Value {
    use resp::Value;
    let int = |n: u64| Value::Integer(n as i64);
    let double = |v: f32| Value::Double(crate::zset::format_g17(f64::from(v)));
    let active = o.active();
    let head: [(&str, Value); 10] = [
        ("peak.allocated", int(o.peak_allocated)),
        ("total.allocated", int(o.total_allocated)),
        ("startup.allocated", int(STARTUP)),
        ("replication.backlog", int(o.repl_backlog)),
        ("clients.slaves", int(o.clients_slaves)),
        ("clients.normal", int(o.clients_normal)),
        ("cluster.links", int(0)),
        ("aof.buffer", int(o.aof_buffer)),
        ("lua.caches", int(o.lua_caches)),
        ("functions.caches", int(FUNCTIONS)),
    ];
    let mut out: Vec<(Value, Value)> = head.into_iter().map(|(name, v)| (Value::bulk(name), v)).collect();
    for &(id, main, expires, links) in &o.dbs {
        let figures = vec![
            (Value::bulk("overhead.hashtable.main"), int(main)),
            (Value::bulk("overhead.hashtable.expires"), int(expires)),
            (Value::bulk("overhead.hashtable.slot-to-keys"), int(links)),
        ];
        out.push((Value::Bulk(format!("db.{id}").into_bytes()), Value::Map(figures)));
    }
    let per_key = o.net().checked_div(o.total_keys).unwrap_or(0);
    let rest: [(&str, Value); 17] = [
        ("overhead.total", int(o.overhead_total)),
        ("keys.count", int(o.total_keys)),
        ("keys.bytes-per-key", int(per_key)),
        ("dataset.bytes", int(o.dataset)),
        ("dataset.percentage", double(o.dataset_perc())),
        ("peak.percentage", double(o.peak_perc())),
        ("allocator.allocated", int(o.total_allocated)),
        ("allocator.active", int(active)),
        ("allocator.resident", int(active)),
        ("allocator-fragmentation.ratio", double(active as f32 / o.total_allocated as f32)),
        ("allocator-fragmentation.bytes", int(active - o.total_allocated)),
        ("allocator-rss.ratio", double(1.0)),
        ("allocator-rss.bytes", int(0)),
        ("rss-overhead.ratio", double(1.0)),
        ("rss-overhead.bytes", int(0)),
        ("fragmentation", double(active as f32 / o.total_allocated as f32)),
        ("fragmentation.bytes", int(active - o.total_allocated)),
    ];
    out.extend(rest.into_iter().map(|(name, v)| (Value::bulk(name), v)));
    Value::Map(out)
}

/// MEMORY DOCTOR (`getMemoryDoctorReport`) on the model: below 5 MB the
/// instance is "empty"; the model has no fragmentation or RSS overhead, so
/// the other findings are a big peak, big client or replica buffers and
/// many scripts.
pub(crate) fn doctor(o: &Overhead, clients: u64, replicas: u64) -> String {
    if o.total_allocated < 5 << 20 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_owned();
    }
    let mut found = Vec::new();
    if o.peak_allocated as f32 / o.total_allocated as f32 > 1.5 {
        found.push(DOCTOR_PEAK);
    }
    if replicas > 0 && o.clients_slaves > 10 << 20 {
        found.push(DOCTOR_REPLICAS);
    }
    if clients > 0 && o.clients_normal / clients > 200 << 10 {
        found.push(DOCTOR_CLIENTS);
    }
    if o.cached_scripts > 1000 {
        found.push(DOCTOR_SCRIPTS);
    }
    if found.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_owned();
    }
    let mut s = "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_owned();
    for finding in found {
        s.push_str(finding);
        s.push_str("\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

const DOCTOR_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.";
const DOCTOR_REPLICAS: &str = " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.";
const DOCTOR_CLIENTS: &str = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.";
const DOCTOR_SCRIPTS: &str = " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_as_redis_prints_them() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(914_528), "893.09K");
        assert_eq!(human(25_276_194_816), "23.54G");
        assert_eq!(human(66_560), "65.00K");
    }

    #[test]
    fn an_empty_server_costs_its_startup_and_its_clients() {
        let dbs = vec![Db::default(); 16];
        let outside = Outside { clients: 1, ..Outside::default() };
        let o = overhead(&dbs, &outside, 0);
        assert_eq!(o.total_allocated, STARTUP + CLIENT);
        assert!(doctor(&o, 1, 0).starts_with("Hi Sam, this instance is empty"));
    }
}
