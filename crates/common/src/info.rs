//! INFO sections that redis-server and redis-sentinel 7.0.15 both print, with
//! their fields in Redis's order: Server, Clients, Stats and CPU. Each node
//! kind fills in what it knows; a counter it never moves stays 0, as it does
//! in a real server that never did the thing counted.

use std::fmt::Write as _;

/// The build this simulator stands for (`redis_build_id`, `gcc_version`).
const BUILD_ID: &str = "ae4d7c971a948f0";
const GCC_VERSION: &str = "12.2.0";

/// What the Server section shows.
#[derive(Clone, Debug, Default)]
pub struct Server<'a> {
    /// `standalone`, `cluster` or `sentinel`.
    pub mode: &'a str,
    /// `process_id`.
    pub pid: u32,
    /// `run_id`.
    pub run_id: &'a str,
    /// `tcp_port`.
    pub tcp_port: u16,
    /// The node's wall clock.
    pub now_ms: i64,
    /// When the process started, on the same clock.
    pub started_ms: i64,
    /// `hz` now (Sentinel changes it every tick) and as configured.
    pub hz: u64,
    /// `configured_hz`.
    pub configured_hz: u64,
    /// `executable`: the binary's path.
    pub executable: &'a str,
    /// `config_file`: the configuration file's path.
    pub config_file: &'a str,
}

/// `# Server`.
pub fn server(s: &Server<'_>) -> String {
    let uptime = (s.now_ms - s.started_ms).max(0) / 1000;
    let mut out = String::from("# Server\r\n");
    let fields: [(&str, String); 24] = [
        ("redis_version", crate::VERSION.to_owned()),
        ("redis_git_sha1", "00000000".to_owned()),
        ("redis_git_dirty", "0".to_owned()),
        ("redis_build_id", BUILD_ID.to_owned()),
        ("redis_mode", s.mode.to_owned()),
        ("os", "Linux 6.1.0 x86_64".to_owned()),
        ("arch_bits", "64".to_owned()),
        ("monotonic_clock", "POSIX clock_gettime".to_owned()),
        ("multiplexing_api", "epoll".to_owned()),
        ("atomicvar_api", "c11-builtin".to_owned()),
        ("gcc_version", GCC_VERSION.to_owned()),
        ("process_id", s.pid.to_string()),
        ("process_supervised", "no".to_owned()),
        ("run_id", s.run_id.to_owned()),
        ("tcp_port", s.tcp_port.to_string()),
        ("server_time_usec", (s.now_ms * 1000).to_string()),
        ("uptime_in_seconds", uptime.to_string()),
        ("uptime_in_days", (uptime / 86_400).to_string()),
        ("hz", s.hz.to_string()),
        ("configured_hz", s.configured_hz.to_string()),
        // LRU_CLOCK: seconds, in 24 bits.
        ("lru_clock", ((s.now_ms / 1000) & 0xff_ffff).to_string()),
        ("executable", s.executable.to_owned()),
        ("config_file", s.config_file.to_owned()),
        ("io_threads_active", "0".to_owned()),
    ];
    for (name, value) in fields {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    out
}

/// What the Clients section shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clients {
    /// `connected_clients`.
    pub connected: usize,
    /// `cluster_connections`.
    pub cluster_connections: usize,
    /// `maxclients`.
    pub maxclients: usize,
    /// `client_recent_max_input_buffer`.
    pub recent_max_input_buffer: usize,
    /// `client_recent_max_output_buffer`.
    pub recent_max_output_buffer: usize,
    /// `blocked_clients`.
    pub blocked: usize,
    /// `tracking_clients`.
    pub tracking: usize,
    /// `clients_in_timeout_table`.
    pub in_timeout_table: usize,
}

/// `# Clients`.
pub fn clients(c: &Clients) -> String {
    format!(
        "# Clients\r\nconnected_clients:{}\r\ncluster_connections:{}\r\nmaxclients:{}\r\n\
         client_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\n\
         tracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
        c.connected,
        c.cluster_connections,
        c.maxclients,
        c.recent_max_input_buffer,
        c.recent_max_output_buffer,
        c.blocked,
        c.tracking,
        c.in_timeout_table
    )
}

/// The Stats counters a node kind keeps; the rest of the section reads 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// `total_connections_received`.
    pub connections_received: u64,
    /// `total_commands_processed`.
    pub commands_processed: u64,
    /// `total_net_input_bytes` (replication input included).
    pub net_input_bytes: u64,
    /// `total_net_output_bytes` (replication output included).
    pub net_output_bytes: u64,
    /// `total_net_repl_input_bytes`.
    pub net_repl_input_bytes: u64,
    /// `total_net_repl_output_bytes`.
    pub net_repl_output_bytes: u64,
    /// `instantaneous_ops_per_sec`.
    pub instantaneous_ops_per_sec: u64,
    /// `instantaneous_input_kbps`, `_output_kbps`, `_input_repl_kbps`, `_output_repl_kbps`.
    pub instantaneous_kbps: [f64; 4],
    /// `total_reads_processed`.
    pub reads_processed: u64,
    /// `total_writes_processed`.
    pub writes_processed: u64,
    /// `rejected_connections`.
    pub rejected_connections: u64,
    /// `sync_full`.
    pub sync_full: u64,
    /// `sync_partial_ok`.
    pub sync_partial_ok: u64,
    /// `sync_partial_err`.
    pub sync_partial_err: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys`.
    pub expired_keys: u64,
    /// `total_forks`.
    pub total_forks: u64,
    /// `keyspace_hits`.
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
    /// `pubsub_channels`.
    pub pubsub_channels: usize,
    /// `pubsub_patterns`.
    pub pubsub_patterns: usize,
    /// `pubsubshard_channels`.
    pub pubsubshard_channels: usize,
    /// `total_error_replies`.
    pub error_replies: u64,
}

/// `# Stats`, every field of 7.0.15 in its order.
pub fn stats(s: &Stats) -> String {
    let n = |v: u64| v.to_string();
    let kbps = |i: usize| format!("{:.2}", s.instantaneous_kbps[i]);
    let fields: [(&str, String); 50] = [
        ("total_connections_received", n(s.connections_received)),
        ("total_commands_processed", n(s.commands_processed)),
        ("instantaneous_ops_per_sec", n(s.instantaneous_ops_per_sec)),
        ("total_net_input_bytes", n(s.net_input_bytes)),
        ("total_net_output_bytes", n(s.net_output_bytes)),
        ("total_net_repl_input_bytes", n(s.net_repl_input_bytes)),
        ("total_net_repl_output_bytes", n(s.net_repl_output_bytes)),
        ("instantaneous_input_kbps", kbps(0)),
        ("instantaneous_output_kbps", kbps(1)),
        ("instantaneous_input_repl_kbps", kbps(2)),
        ("instantaneous_output_repl_kbps", kbps(3)),
        ("rejected_connections", n(s.rejected_connections)),
        ("sync_full", n(s.sync_full)),
        ("sync_partial_ok", n(s.sync_partial_ok)),
        ("sync_partial_err", n(s.sync_partial_err)),
        ("expired_keys", n(s.expired_keys)),
        ("expired_stale_perc", "0.00".to_owned()),
        ("expired_time_cap_reached_count", n(0)),
        ("expire_cycle_cpu_milliseconds", n(0)),
        ("evicted_keys", n(s.evicted_keys)),
        ("evicted_clients", n(0)),
        ("total_eviction_exceeded_time", n(0)),
        ("current_eviction_exceeded_time", n(0)),
        ("keyspace_hits", n(s.keyspace_hits)),
        ("keyspace_misses", n(s.keyspace_misses)),
        ("pubsub_channels", s.pubsub_channels.to_string()),
        ("pubsub_patterns", s.pubsub_patterns.to_string()),
        ("pubsubshard_channels", s.pubsubshard_channels.to_string()),
        ("latest_fork_usec", n(0)),
        ("total_forks", n(s.total_forks)),
        ("migrate_cached_sockets", n(0)),
        ("slave_expires_tracked_keys", n(0)),
        ("active_defrag_hits", n(0)),
        ("active_defrag_misses", n(0)),
        ("active_defrag_key_hits", n(0)),
        ("active_defrag_key_misses", n(0)),
        ("total_active_defrag_time", n(0)),
        ("current_active_defrag_time", n(0)),
        ("tracking_total_keys", n(0)),
        ("tracking_total_items", n(0)),
        ("tracking_total_prefixes", n(0)),
        ("unexpected_error_replies", n(0)),
        ("total_error_replies", n(s.error_replies)),
        ("dump_payload_sanitizations", n(0)),
        ("total_reads_processed", n(s.reads_processed)),
        ("total_writes_processed", n(s.writes_processed)),
        ("io_threaded_reads_processed", n(0)),
        ("io_threaded_writes_processed", n(0)),
        ("reply_buffer_shrinks", n(0)),
        ("reply_buffer_expands", n(0)),
    ];
    let mut out = String::from("# Stats\r\n");
    for (name, value) in fields {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    out
}

/// `# CPU`, from the CPU time the process has used (system time not modelled).
pub fn cpu(used_user_secs: f64) -> String {
    format!(
        "# CPU\r\nused_cpu_sys:0.000000\r\nused_cpu_user:{used_user_secs:.6}\r\nused_cpu_sys_children:0.000000\r\n\
         used_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:0.000000\r\nused_cpu_user_main_thread:{used_user_secs:.6}\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(section: &str) -> Vec<&str> {
        section.split("\r\n").filter_map(|l| l.split_once(':').map(|(k, _)| k)).collect()
    }

    #[test]
    fn sections_have_redis_7_0_15s_fields_in_order() {
        let server = server(&Server { mode: "sentinel", now_ms: 90_061_000, started_ms: 1_000, ..Server::default() });
        assert_eq!(names(&server).len(), 24);
        assert!(server.contains("uptime_in_seconds:90060\r\nuptime_in_days:1\r\n"));
        let stats = stats(&Stats { commands_processed: 7, ..Stats::default() });
        let n = names(&stats);
        assert_eq!(n.len(), 50);
        assert_eq!(n[1], "total_commands_processed");
        assert_eq!(n[49], "reply_buffer_expands");
        assert!(stats.contains("total_commands_processed:7\r\n"));
        assert_eq!(names(&clients(&Clients::default())).len(), 8);
        assert!(cpu(1.5).contains("used_cpu_user:1.500000\r\n"));
    }
}
