//! `redis.conf` as the simulated server understands it. Directives the simulator
//! honours are parsed and validated as Redis does, from a file line or from
//! `CONFIG SET`, with Redis's error texts; `CONFIG GET` prints them back as Redis
//! does. Any other directive is an error at its line, never silently ignored.

use std::fmt::Write as _;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// fsync before replying.
    Always,
    /// fsync about once a second in the background.
    Everysec,
    /// leave it to the OS.
    No,
}

/// `shutdown-on-sigterm` / `shutdown-on-sigint`, and SHUTDOWN's own flags:
/// a set of `save`, `nosave`, `now`, `force` (empty: `default`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownFlags(pub u8);

impl ShutdownFlags {
    /// Save even without save points.
    pub const SAVE: u8 = 1;
    /// Do not save even with save points.
    pub const NOSAVE: u8 = 2;
    /// Do not wait for lagging replicas.
    pub const NOW: u8 = 4;
    /// Exit even if the final save or AOF fails.
    pub const FORCE: u8 = 8;
    const NAMES: [(&str, u8); 5] =
        [("default", 0), ("save", Self::SAVE), ("nosave", Self::NOSAVE), ("now", Self::NOW), ("force", Self::FORCE)];

    /// Whether `flag` is set.
    pub fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    /// One word's flag (`default` is none), case-insensitively.
    pub fn word(word: &str) -> Option<u8> {
        Self::NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)).map(|&(_, f)| f)
    }

    /// The words of a config value, as Redis's multi-argument enum parses them.
    fn parse(words: &[&str]) -> Result<ShutdownFlags, String> {
        let mut flags = 0;
        for w in words {
            flags |=
                Self::word(w).ok_or("argument(s) must be one of the following: default, save, nosave, now, force")?;
        }
        if flags & Self::SAVE != 0 && flags & Self::NOSAVE != 0 {
            return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_owned());
        }
        Ok(ShutdownFlags(flags))
    }

    /// CONFIG GET's rendering: the set flags in table order, or `default`.
    fn render(self) -> String {
        let set: Vec<&str> = Self::NAMES[1..].iter().filter(|(_, f)| self.has(*f)).map(|(n, _)| *n).collect();
        if set.is_empty() { "default".to_owned() } else { set.join(" ") }
    }
}

/// serverCron's default calls a second (`CONFIG_DEFAULT_HZ`).
pub const DEFAULT_HZ: u32 = 10;
/// The lowest and highest `hz` Redis runs at (`CONFIG_MIN_HZ`, `CONFIG_MAX_HZ`).
pub const MIN_HZ: u32 = 1;
/// See [`MIN_HZ`].
pub const MAX_HZ: u32 = 500;
/// `dynamic-hz` doubles the rate while there are more clients than this per
/// call (`MAX_CLIENTS_PER_CLOCK_TICK`).
pub const MAX_CLIENTS_PER_CLOCK_TICK: usize = 200;

/// `server.hz` for one serverCron call: the configured rate, doubled (up to
/// [`MAX_HZ`]) while each call would have more than
/// [`MAX_CLIENTS_PER_CLOCK_TICK`] clients to look at, when `dynamic-hz` is on.
pub(crate) fn effective_hz(configured: u32, dynamic: bool, clients: usize) -> u32 {
    let mut hz = configured;
    if dynamic {
        while clients / hz as usize > MAX_CLIENTS_PER_CLOCK_TICK {
            hz = (hz * 2).min(MAX_HZ);
            if hz == MAX_HZ {
                break;
            }
        }
    }
    hz
}

/// The honoured configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `port`.
    pub port: u16,
    /// `bind` addresses (kept for CONFIG GET; every host listens on its one address).
    pub bind: Vec<String>,
    /// `requirepass`.
    pub requirepass: Option<String>,
    /// `masterauth`: the password a replica sends to its master.
    pub masterauth: Option<String>,
    /// `masteruser`: the user a replica authenticates as.
    pub masteruser: Option<String>,
    /// `databases`.
    pub databases: usize,
    /// `loglevel`: debug, verbose, notice, warning.
    pub loglevel: String,
    /// `replicaof` / `slaveof` from the file: host and port.
    pub replicaof: Option<(String, u16)>,
    /// `repl-backlog-size` in bytes.
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl` in seconds.
    pub repl_backlog_ttl: u64,
    /// `repl-timeout` in seconds.
    pub repl_timeout: u64,
    /// `busy-reply-threshold` (alias `lua-time-limit`), ms: how long a script
    /// runs before other clients get `-BUSY` and SCRIPT KILL may stop it.
    pub busy_reply_threshold: u64,
    /// `repl-ping-replica-period` in seconds.
    pub repl_ping_replica_period: u64,
    /// `repl-diskless-sync`.
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds.
    pub repl_diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas` (0: no limit).
    pub repl_diskless_sync_max_replicas: u64,
    /// `replica-read-only`.
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`.
    pub replica_serve_stale_data: bool,
    /// `replica-priority`.
    pub replica_priority: u64,
    /// `replica-announced`.
    pub replica_announced: bool,
    /// `min-replicas-to-write`.
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag` in seconds.
    pub min_replicas_max_lag: u64,
    /// `save` points: (seconds, changes).
    pub save: Vec<(u64, u64)>,
    /// `appendonly`.
    pub appendonly: bool,
    /// `appendfsync`.
    pub appendfsync: Fsync,
    /// `dbfilename`.
    pub dbfilename: String,
    /// `appendfilename`.
    pub appendfilename: String,
    /// `appenddirname`.
    pub appenddirname: String,
    /// `shutdown-timeout` in seconds.
    pub shutdown_timeout: u64,
    /// `shutdown-on-sigterm`.
    pub shutdown_on_sigterm: ShutdownFlags,
    /// `shutdown-on-sigint`.
    pub shutdown_on_sigint: ShutdownFlags,
    /// `enable-debug-command`: `no`, `yes` or `local`.
    pub enable_debug_command: String,
    /// `enable-module-command`: `no`, `yes` or `local`.
    pub enable_module_command: String,
    /// `slowlog-log-slower-than`, µs (negative: no slow log).
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: u64,
    /// `hz` (`config_hz`): serverCron's calls a second, kept within 1..=500.
    pub hz: u32,
    /// `client-output-buffer-limit`, per client class.
    pub output_limits: crate::output::OutputLimits,
    /// The `cluster-*` directives.
    pub cluster: ClusterConfig,
    /// `maxmemory`, its policy and knobs.
    pub maxmemory: crate::memory::MaxMemory,
    /// The encodings' thresholds (read from [`Config::others`]).
    pub encodings: crate::encoding::Limits,
    /// `timeout`: seconds a normal client may stay idle (0: forever).
    pub timeout: u64,
    /// `maxclients`.
    pub maxclients: u64,
    /// `latency-tracking`: whether calls feed the latency histograms.
    pub latency_tracking: bool,
    /// `aof-use-rdb-preamble`: an AOF base file as an RDB (`yes`) or as commands.
    pub aof_rdb_preamble: bool,
    /// `latency-monitor-threshold`: ms from which a command is a latency sample (0: off).
    pub latency_monitor_threshold: u64,
    /// `notify-keyspace-events`: the classes of [`crate::notify`] enabled.
    pub(crate) notify: u16,
    /// The directives of [`crate::config_table`] set away from their default.
    pub(crate) others: std::collections::BTreeMap<&'static str, String>,
}

/// The `cluster-*` directives (Redis Cluster mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `cluster-enabled`.
    pub enabled: bool,
    /// `cluster-config-file`.
    pub config_file: String,
    /// `cluster-node-timeout` in ms.
    pub node_timeout: u64,
    /// `cluster-port` (0: client port + 10000).
    pub port: u16,
    /// `cluster-replica-validity-factor`.
    pub replica_validity_factor: u64,
    /// `cluster-migration-barrier`.
    pub migration_barrier: u64,
    /// `cluster-allow-replica-migration`.
    pub allow_replica_migration: bool,
    /// `cluster-require-full-coverage`.
    pub require_full_coverage: bool,
    /// `cluster-allow-reads-when-down`.
    pub allow_reads_when_down: bool,
    /// `cluster-replica-no-failover`.
    pub replica_no_failover: bool,
    /// Not a directive: run the node table without its caches, notes and
    /// shared registries (the plain reference of `cluster/machinery.rs`),
    /// for the test that compares both trace for trace. False everywhere else.
    pub plain_tables: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: false,
            config_file: "nodes.conf".to_owned(),
            node_timeout: 15000,
            port: 0,
            replica_validity_factor: 10,
            migration_barrier: 1,
            allow_replica_migration: true,
            require_full_coverage: true,
            allow_reads_when_down: false,
            replica_no_failover: false,
            plain_tables: false,
        }
    }
}

impl Config {
    /// Redis's defaults with the node's port.
    pub fn defaults(port: u16) -> Config {
        Config {
            port,
            bind: Vec::new(),
            requirepass: None,
            masterauth: None,
            masteruser: None,
            databases: 16,
            loglevel: "notice".to_owned(),
            replicaof: None,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            repl_timeout: 60,
            busy_reply_threshold: 5000,
            repl_ping_replica_period: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announced: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            appendonly: false,
            appendfsync: Fsync::Everysec,
            dbfilename: "dump.rdb".to_owned(),
            appendfilename: "appendonly.aof".to_owned(),
            appenddirname: "appendonlydir".to_owned(),
            shutdown_timeout: 10,
            shutdown_on_sigterm: ShutdownFlags::default(),
            shutdown_on_sigint: ShutdownFlags::default(),
            enable_debug_command: "no".to_owned(),
            enable_module_command: "no".to_owned(),
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            hz: DEFAULT_HZ,
            output_limits: crate::output::OutputLimits::default(),
            cluster: ClusterConfig::default(),
            maxmemory: crate::memory::MaxMemory::default(),
            encodings: crate::encoding::Limits::default(),
            timeout: 0,
            maxclients: 10_000,
            latency_tracking: true,
            aof_rdb_preamble: true,
            latency_monitor_threshold: 0,
            notify: 0,
            others: std::collections::BTreeMap::new(),
        }
    }

    /// Applies one directive, from a file line (`from_file`) or CONFIG SET. The
    /// error is Redis's explanation, without the prefix the caller adds.
    pub fn apply(&mut self, name: &str, args: &[String], from_file: bool) -> Result<(), String> {
        let name = canonical(name).ok_or_else(|| format!("directive `{name}` is not simulated yet"))?;
        let one = || match args {
            [a] => Ok(a.as_str()),
            _ => Err("wrong number of arguments".to_owned()),
        };
        match name {
            "port" => {
                let p = int(one()?, 0, 65535)?;
                if p != u64::from(self.port) {
                    return Err(format!("port {p} differs from the node's port {} in the topology", self.port));
                }
            }
            "bind" => {
                if args.is_empty() {
                    return Err("wrong number of arguments".to_owned());
                }
                self.bind = args.to_vec();
            }
            "requirepass" => self.requirepass = Some(one()?.to_owned()).filter(|p| !p.is_empty()),
            "masterauth" => self.masterauth = Some(one()?.to_owned()).filter(|p| !p.is_empty()),
            "masteruser" => self.masteruser = Some(one()?.to_owned()).filter(|p| !p.is_empty()),
            "databases" => {
                if !from_file {
                    return Err("can't set immutable config".to_owned());
                }
                self.databases = int(one()?, 1, i32::MAX as u64)? as usize;
            }
            "loglevel" => {
                self.loglevel = match one()?.to_ascii_lowercase().as_str() {
                    l @ ("debug" | "verbose" | "notice" | "warning") => l.to_owned(),
                    _ => {
                        return Err(
                            "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"
                                .to_owned(),
                        );
                    }
                }
            }
            "replicaof" => {
                if !from_file {
                    return Err("can't set immutable config".to_owned());
                }
                match args {
                    [host, port] => {
                        let port = port.parse::<u16>().map_err(|_| "Invalid master port".to_owned())?;
                        self.replicaof = Some((host.clone(), port));
                    }
                    _ => return Err("wrong number of arguments".to_owned()),
                }
            }
            // Redis raises anything smaller to its 16 KB floor, and CONFIG GET shows the floor.
            "repl-backlog-size" => self.repl_backlog_size = memory(one()?)?.max(16 * 1024),
            "repl-backlog-ttl" => self.repl_backlog_ttl = int(one()?, 0, i64::MAX as u64)?,
            "repl-timeout" => self.repl_timeout = int(one()?, 1, i32::MAX as u64)?,
            "busy-reply-threshold" => self.busy_reply_threshold = int(one()?, 0, i64::MAX as u64)?,
            "repl-ping-replica-period" => self.repl_ping_replica_period = int(one()?, 1, i32::MAX as u64)?,
            "repl-diskless-sync" => self.repl_diskless_sync = yes_no(one()?)?,
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay = int(one()?, 0, i32::MAX as u64)?,
            "repl-diskless-sync-max-replicas" => {
                self.repl_diskless_sync_max_replicas = int(one()?, 0, i32::MAX as u64)?;
            }
            "replica-read-only" => self.replica_read_only = yes_no(one()?)?,
            "replica-serve-stale-data" => self.replica_serve_stale_data = yes_no(one()?)?,
            "replica-priority" => self.replica_priority = int(one()?, 0, i32::MAX as u64)?,
            "replica-announced" => self.replica_announced = yes_no(one()?)?,
            "min-replicas-to-write" => self.min_replicas_to_write = int(one()?, 0, i32::MAX as u64)?,
            "min-replicas-max-lag" => self.min_replicas_max_lag = int(one()?, 0, i32::MAX as u64)?,
            "save" => {
                // `save ""` clears; in a file the first `save` line replaces the defaults.
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                if !words.len().is_multiple_of(2) {
                    return Err("Invalid save parameters".to_owned());
                }
                let mut points = Vec::new();
                for pair in words.chunks(2) {
                    let (Ok(s), Ok(c)) = (pair[0].parse::<u64>(), pair[1].parse::<u64>()) else {
                        return Err("Invalid save parameters".to_owned());
                    };
                    points.push((s, c));
                }
                self.save = points;
            }
            "appendonly" => self.appendonly = yes_no(one()?)?,
            "appendfsync" => {
                self.appendfsync = match one()?.to_ascii_lowercase().as_str() {
                    "always" => Fsync::Always,
                    "everysec" => Fsync::Everysec,
                    "no" => Fsync::No,
                    _ => return Err("argument(s) must be one of the following: everysec, always, no".to_owned()),
                }
            }
            "dbfilename" => {
                let f = one()?;
                if f.contains('/') {
                    return Err("dbfilename can't be a path, just a filename".to_owned());
                }
                self.dbfilename = f.to_owned();
            }
            "appendfilename" | "appenddirname" => {
                if !from_file {
                    return Err("can't set immutable config".to_owned());
                }
                let f = one()?;
                if f.contains('/') {
                    return Err(format!("{name} can't be a path, just a filename"));
                }
                if name == "appendfilename" {
                    self.appendfilename = f.to_owned();
                } else {
                    self.appenddirname = f.to_owned();
                }
            }
            "shutdown-timeout" => self.shutdown_timeout = int(one()?, 0, i32::MAX as u64)?,
            "shutdown-on-sigterm" | "shutdown-on-sigint" => {
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                let flags = ShutdownFlags::parse(&words)?;
                if name == "shutdown-on-sigterm" {
                    self.shutdown_on_sigterm = flags;
                } else {
                    self.shutdown_on_sigint = flags;
                }
            }
            "client-output-buffer-limit" => {
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                self.output_limits.apply(&words)?;
            }
            "enable-debug-command" | "enable-module-command" => {
                if !from_file {
                    return Err("can't set immutable config".to_owned());
                }
                let value = match one()?.to_ascii_lowercase().as_str() {
                    v @ ("no" | "yes" | "local") => v.to_owned(),
                    _ => return Err("argument(s) must be one of the following: no, yes, local".to_owned()),
                };
                if name == "enable-debug-command" {
                    self.enable_debug_command = value;
                } else {
                    self.enable_module_command = value;
                }
            }
            "slowlog-log-slower-than" => {
                self.slowlog_log_slower_than = int_signed(one()?, -1, i64::MAX)?;
            }
            "slowlog-max-len" => self.slowlog_max_len = int(one()?, 0, i64::MAX as u64)?,
            // A hint, so out-of-range values are taken and capped (`updateHZ`).
            "hz" => self.hz = int(one()?, 0, i32::MAX as u64)?.clamp(MIN_HZ.into(), MAX_HZ.into()) as u32,
            "cluster-enabled" | "cluster-config-file" | "cluster-port" if !from_file => {
                return Err("can't set immutable config".to_owned());
            }
            "cluster-enabled" => self.cluster.enabled = yes_no(one()?)?,
            "cluster-config-file" => self.cluster.config_file = one()?.to_owned(),
            "cluster-port" => self.cluster.port = int(one()?, 0, 65535)? as u16,
            "cluster-node-timeout" => self.cluster.node_timeout = int(one()?, 0, i64::MAX as u64)?,
            "cluster-replica-validity-factor" => {
                self.cluster.replica_validity_factor = int(one()?, 0, i32::MAX as u64)?;
            }
            "cluster-migration-barrier" => self.cluster.migration_barrier = int(one()?, 0, i32::MAX as u64)?,
            "cluster-allow-replica-migration" => self.cluster.allow_replica_migration = yes_no(one()?)?,
            "cluster-require-full-coverage" => self.cluster.require_full_coverage = yes_no(one()?)?,
            "cluster-allow-reads-when-down" => self.cluster.allow_reads_when_down = yes_no(one()?)?,
            "cluster-replica-no-failover" => self.cluster.replica_no_failover = yes_no(one()?)?,
            _ if self.maxmemory.get(name).is_some() => self.maxmemory.apply(name, one()?)?,
            _ => {
                let param = crate::config_table::find(name)
                    .ok_or_else(|| format!("directive `{name}` is not simulated yet"))?;
                let value = param.check(args, from_file)?;
                self.others.insert(param.name, value);
                self.read_typed(param.name);
            }
        }
        Ok(())
    }

    /// The value `CONFIG GET` prints for a canonical directive name.
    pub fn get(&self, name: &str) -> Option<String> {
        let yn = |b: bool| if b { "yes" } else { "no" }.to_owned();
        Some(match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.join(" "),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "masterauth" => self.masterauth.clone().unwrap_or_default(),
            "masteruser" => self.masteruser.clone().unwrap_or_default(),
            "databases" => self.databases.to_string(),
            "loglevel" => self.loglevel.clone(),
            "replicaof" => self.replicaof.as_ref().map(|(h, p)| format!("{h} {p}")).unwrap_or_default(),
            "repl-backlog-size" => self.repl_backlog_size.to_string(),
            "repl-backlog-ttl" => self.repl_backlog_ttl.to_string(),
            "repl-timeout" => self.repl_timeout.to_string(),
            "busy-reply-threshold" => self.busy_reply_threshold.to_string(),
            "repl-ping-replica-period" => self.repl_ping_replica_period.to_string(),
            "repl-diskless-sync" => yn(self.repl_diskless_sync),
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay.to_string(),
            "repl-diskless-sync-max-replicas" => self.repl_diskless_sync_max_replicas.to_string(),
            "replica-read-only" => yn(self.replica_read_only),
            "replica-serve-stale-data" => yn(self.replica_serve_stale_data),
            "replica-priority" => self.replica_priority.to_string(),
            "replica-announced" => yn(self.replica_announced),
            "min-replicas-to-write" => self.min_replicas_to_write.to_string(),
            "min-replicas-max-lag" => self.min_replicas_max_lag.to_string(),
            "save" => {
                let mut s = String::new();
                for (secs, changes) in &self.save {
                    let _ = write!(s, "{}{secs} {changes}", if s.is_empty() { "" } else { " " });
                }
                s
            }
            "appendonly" => yn(self.appendonly),
            "appendfsync" => match self.appendfsync {
                Fsync::Always => "always",
                Fsync::Everysec => "everysec",
                Fsync::No => "no",
            }
            .to_owned(),
            "dbfilename" => self.dbfilename.clone(),
            "appendfilename" => self.appendfilename.clone(),
            "appenddirname" => self.appenddirname.clone(),
            "shutdown-timeout" => self.shutdown_timeout.to_string(),
            "shutdown-on-sigterm" => self.shutdown_on_sigterm.render(),
            "shutdown-on-sigint" => self.shutdown_on_sigint.render(),
            "client-output-buffer-limit" => self.output_limits.describe(),
            "enable-debug-command" => self.enable_debug_command.clone(),
            "enable-module-command" => self.enable_module_command.clone(),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than.to_string(),
            "slowlog-max-len" => self.slowlog_max_len.to_string(),
            "hz" => self.hz.to_string(),
            "notify-keyspace-events" => crate::notify::render(self.notify),
            "cluster-enabled" => yn(self.cluster.enabled),
            "cluster-config-file" => self.cluster.config_file.clone(),
            "cluster-port" => self.cluster.port.to_string(),
            "cluster-node-timeout" => self.cluster.node_timeout.to_string(),
            "cluster-replica-validity-factor" => self.cluster.replica_validity_factor.to_string(),
            "cluster-migration-barrier" => self.cluster.migration_barrier.to_string(),
            "cluster-allow-replica-migration" => yn(self.cluster.allow_replica_migration),
            "cluster-require-full-coverage" => yn(self.cluster.require_full_coverage),
            "cluster-allow-reads-when-down" => yn(self.cluster.allow_reads_when_down),
            "cluster-replica-no-failover" => yn(self.cluster.replica_no_failover),
            _ => return self.maxmemory.get(name).or_else(|| self.other(name)),
        })
    }

    /// The typed copy of a [`crate::config_table`] directive just set.
    fn read_typed(&mut self, name: &str) {
        let number = |c: &Config| c.other(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default();
        match name {
            "timeout" => self.timeout = number(self),
            "maxclients" => self.maxclients = number(self),
            "latency-monitor-threshold" => self.latency_monitor_threshold = number(self),
            "latency-tracking" => self.latency_tracking = self.other(name).is_some_and(|v| v == "yes"),
            "aof-use-rdb-preamble" => self.aof_rdb_preamble = self.other(name).is_some_and(|v| v == "yes"),
            "notify-keyspace-events" => {
                self.notify = self.other(name).and_then(|v| crate::notify::parse(&v).ok()).unwrap_or_default();
            }
            _ if crate::encoding::DIRECTIVES.contains(&name) => {
                self.encodings = crate::encoding::Limits::read(|n| self.other(n));
            }
            _ => {}
        }
    }

    /// `latency-tracking-info-percentiles`: the percentiles INFO latencystats shows.
    pub(crate) fn latency_percentiles(&self) -> Vec<f64> {
        let text = self.other("latency-tracking-info-percentiles").unwrap_or_default();
        crate::config_table::percentiles(&text).filter_map(Result::ok).collect()
    }

    /// `dynamic-hz`: serverCron runs faster when there are many clients.
    pub(crate) fn dynamic_hz(&self) -> bool {
        self.other("dynamic-hz").is_some_and(|v| v == "yes")
    }

    /// A [`crate::config_table`] directive's value, by its canonical name.
    fn other(&self, name: &str) -> Option<String> {
        let param = crate::config_table::PARAMS.iter().find(|p| p.name == name)?;
        Some(self.others.get(param.name).cloned().unwrap_or_else(|| param.default.to_owned()))
    }

    /// `CONFIG GET` for one pattern: (name, value) pairs in table order, matching
    /// canonical names and, as Redis 7.0 does, the old aliases too.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        // Redis matches CONFIG GET patterns case-insensitively; the names are lowercase.
        let pattern = pattern.to_ascii_lowercase();
        let matches = |name: &str| common::glob::glob_match(&pattern, name.as_bytes());
        let mut out = Vec::new();
        let others = crate::config_table::PARAMS.iter().map(|p| (p.name, p.alias));
        for (name, alias) in GETTABLE.iter().chain(&crate::memory::DIRECTIVES).copied().chain(others) {
            let Some(value) = self.get(name) else { continue };
            if matches(name) {
                out.push((name.to_owned(), value.clone()));
            }
            if let Some(alias) = alias
                && matches(alias)
            {
                out.push((alias.to_owned(), value));
            }
        }
        out
    }
}

/// Directives CONFIG GET knows, with their old `slave` alias.
const GETTABLE: &[(&str, Option<&str>)] = &[
    ("port", None),
    ("bind", None),
    ("requirepass", None),
    ("masterauth", None),
    ("masteruser", None),
    ("databases", None),
    ("loglevel", None),
    ("replicaof", Some("slaveof")),
    ("repl-backlog-size", None),
    ("repl-backlog-ttl", None),
    ("repl-timeout", None),
    ("busy-reply-threshold", Some("lua-time-limit")),
    ("repl-ping-replica-period", Some("repl-ping-slave-period")),
    ("repl-diskless-sync", None),
    ("repl-diskless-sync-delay", None),
    ("repl-diskless-sync-max-replicas", None),
    ("replica-read-only", Some("slave-read-only")),
    ("replica-serve-stale-data", Some("slave-serve-stale-data")),
    ("replica-priority", Some("slave-priority")),
    ("replica-announced", None),
    ("min-replicas-to-write", Some("min-slaves-to-write")),
    ("min-replicas-max-lag", Some("min-slaves-max-lag")),
    ("save", None),
    ("appendonly", None),
    ("appendfsync", None),
    ("dbfilename", None),
    ("appendfilename", None),
    ("appenddirname", None),
    ("shutdown-timeout", None),
    ("shutdown-on-sigint", None),
    ("shutdown-on-sigterm", None),
    ("client-output-buffer-limit", None),
    ("enable-debug-command", None),
    ("enable-module-command", None),
    ("slowlog-log-slower-than", None),
    ("slowlog-max-len", None),
    ("hz", None),
    ("cluster-enabled", None),
    ("cluster-config-file", None),
    ("cluster-port", None),
    ("cluster-node-timeout", None),
    ("cluster-replica-validity-factor", Some("cluster-slave-validity-factor")),
    ("cluster-migration-barrier", None),
    ("cluster-allow-replica-migration", None),
    ("cluster-require-full-coverage", None),
    ("cluster-allow-reads-when-down", None),
    ("cluster-replica-no-failover", Some("cluster-slave-no-failover")),
];

/// The canonical name of a directive or alias this node accepts.
pub fn canonical(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "slaveof" => "replicaof",
        "repl-ping-slave-period" => "repl-ping-replica-period",
        "slave-read-only" => "replica-read-only",
        "slave-serve-stale-data" => "replica-serve-stale-data",
        "slave-priority" => "replica-priority",
        "min-slaves-to-write" => "min-replicas-to-write",
        "min-slaves-max-lag" => "min-replicas-max-lag",
        "lua-time-limit" => "busy-reply-threshold",
        "cluster-slave-validity-factor" => "cluster-replica-validity-factor",
        "cluster-slave-no-failover" => "cluster-replica-no-failover",
        "slave-ignore-maxmemory" => "replica-ignore-maxmemory",
        other => other,
    };
    GETTABLE
        .iter()
        .chain(&crate::memory::DIRECTIVES)
        .map(|(n, _)| *n)
        .find(|n| *n == alias)
        .or_else(|| crate::config_table::find(alias).map(|p| p.name))
}

fn int(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: i64 = s.parse().map_err(|_| "argument couldn't be parsed into an integer".to_owned())?;
    if n < min as i64 || n as u64 > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(n as u64)
}

/// [`int`] for a range that goes below zero.
fn int_signed(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = s.parse().map_err(|_| "argument couldn't be parsed into an integer".to_owned())?;
    if n < min || n > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(n)
}

fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_owned()),
    }
}

/// Redis's memory values: bytes, or with k/kb/m/mb/g/gb (k = 1000, kb = 1024).
pub(crate) fn memory(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mult = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err("argument must be a memory value".to_owned()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| "argument must be a memory value".to_owned())
}

/// Parses config text; errors carry the 0-based line index and Redis's message.
pub fn parse(text: &str, port: u16) -> Result<Config, Vec<(usize, String)>> {
    let mut config = Config::defaults(port);
    let mut errors = Vec::new();
    let mut saw_save = false;
    let mut replicaof_line = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(words) = resp::split_args(line.as_bytes()) else {
            errors.push((i, "Unbalanced quotes in configuration line".to_owned()));
            continue;
        };
        let words: Vec<String> = words.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        let name = words[0].to_ascii_lowercase();
        if canonical(&name) == Some("replicaof") {
            replicaof_line = Some(i);
        }
        let mut args = words[1..].to_vec();
        if name == "save" {
            // Successive `save` lines add points; the first replaces the defaults.
            if saw_save {
                let mut all: Vec<String> = config.save.iter().map(|(s, c)| format!("{s} {c}")).collect();
                all.extend(args);
                args = all;
            }
            saw_save = true;
        }
        let result = match canonical(&name) {
            None => Err(format!("directive `{name}` is not simulated yet by chaoslab's redis node")),
            Some(_) => config.apply(&name, &args, true),
        };
        if let Err(e) = result {
            errors.push((i, e));
        }
    }
    if let Some(line) = replicaof_line.filter(|_| config.cluster.enabled && config.replicaof.is_some()) {
        errors.push((line, "replicaof directive not allowed in cluster mode".to_owned()));
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hz_is_capped_not_refused_and_dynamic_hz_doubles_it_with_many_clients() {
        let mut c = Config::defaults(6379);
        for (set, got) in [("1000", "500"), ("0", "1"), ("100", "100")] {
            c.apply("hz", &[set.to_owned()], false).unwrap();
            assert_eq!(c.get("hz").as_deref(), Some(got), "CONFIG SET hz {set}");
        }
        let range = "argument must be between 0 and 2147483647 inclusive";
        assert_eq!(c.apply("hz", &["-1".to_owned()], false).unwrap_err(), range);
        assert_eq!(c.apply("hz", &["2147483648".to_owned()], false).unwrap_err(), range);
        assert_eq!(parse("hz 7\n", 6379).unwrap().hz, 7);
        // More than 200 clients a call (integer division): 2,009 keep 10 Hz, 2,010 double it.
        assert_eq!(effective_hz(10, true, 2009), 10);
        assert_eq!(effective_hz(10, true, 2010), 20);
        assert_eq!(effective_hz(10, true, 100_000), MAX_HZ);
        assert_eq!(effective_hz(400, true, 1_000_000), MAX_HZ);
        assert_eq!(effective_hz(10, false, 100_000), 10);
    }

    #[test]
    fn honoured_directives_and_errors_by_line() {
        let c =
            parse("# comment\nport 6379\nrequirepass 123456\ndaemonize no\nslaveof 127.0.0.1 6380\n", 6379).unwrap();
        assert_eq!(c.requirepass.as_deref(), Some("123456"));
        assert_eq!(c.replicaof, Some(("127.0.0.1".to_owned(), 6380)));
        let errs =
            parse("port 6380\ndatabases x\nlist-compress-depth 1\nbind\nslave-read-only maybe\n", 6379).unwrap_err();
        assert_eq!(
            errs,
            vec![
                (0, "port 6380 differs from the node's port 6379 in the topology".to_owned()),
                (1, "argument couldn't be parsed into an integer".to_owned()),
                (2, "only its default (\"0\") is simulated by chaoslab".to_owned()),
                (3, "wrong number of arguments".to_owned()),
                (4, "argument must be 'yes' or 'no'".to_owned()),
            ]
        );
    }

    #[test]
    fn cluster_directives_with_aliases_and_redis_errors() {
        let c =
            parse("cluster-enabled yes\ncluster-node-timeout 2000\ncluster-slave-validity-factor 0\n", 6381).unwrap();
        assert!(c.cluster.enabled);
        assert_eq!(c.cluster.node_timeout, 2000);
        assert_eq!(c.cluster.replica_validity_factor, 0);
        assert_eq!(c.cluster.config_file, "nodes.conf");
        assert_eq!(
            c.matching(b"cluster-*validity*"),
            vec![
                ("cluster-replica-validity-factor".into(), "0".into()),
                ("cluster-slave-validity-factor".into(), "0".into())
            ]
        );
        let errs = parse(
            "cluster-enabled maybe\ncluster-node-timeout -1\ncluster-port 70000\nslaveof 127.0.0.1 6380\ncluster-enabled yes\n",
            6381,
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                (0, "argument must be 'yes' or 'no'".to_owned()),
                (1, "argument must be between 0 and 9223372036854775807 inclusive".to_owned()),
                (2, "argument must be between 0 and 65535 inclusive".to_owned()),
                (3, "replicaof directive not allowed in cluster mode".to_owned()),
            ]
        );
        let mut running = c.clone();
        assert_eq!(running.apply("cluster-enabled", &["no".into()], false), Err("can't set immutable config".into()));
        assert_eq!(running.apply("cluster-require-full-coverage", &["no".into()], false), Ok(()));
        assert!(!running.cluster.require_full_coverage);
    }

    #[test]
    fn save_lines_memory_units_and_config_get_aliases() {
        let c = parse("save 900 1\nsave 60 100\nrepl-backlog-size 16kb\n", 6379).unwrap();
        assert_eq!(c.save, vec![(900, 1), (60, 100)]);
        assert_eq!(c.get("save").unwrap(), "900 1 60 100");
        assert_eq!(c.repl_backlog_size, 16 * 1024);
        assert_eq!(parse("repl-backlog-size 1kb\n", 6379).unwrap().get("repl-backlog-size").unwrap(), "16384");
        assert!(parse("save \"\"\n", 6379).unwrap().save.is_empty());
        let got = c.matching(b"*read-only*");
        assert_eq!(got, vec![("replica-read-only".into(), "yes".into()), ("slave-read-only".into(), "yes".into())]);
        assert_eq!(memory("1mb"), Ok(1048576));
        assert_eq!(memory("2k"), Ok(2000));
        assert!(memory("notanumber").is_err());
    }
}

#[cfg(test)]
mod tests_shutdown_flags {
    use super::*;

    #[test]
    fn shutdown_on_signal_flags_parse_and_print_as_redis_does() {
        let c = parse("shutdown-on-sigterm nosave now\n", 6379).unwrap();
        assert_eq!(c.get("shutdown-on-sigterm").unwrap(), "nosave now");
        assert_eq!(c.get("shutdown-on-sigint").unwrap(), "default");
        let mut running = c.clone();
        // CONFIG SET gives one argument; its words are the flags, printed in Redis's order.
        assert_eq!(running.apply("shutdown-on-sigterm", &["force now save".into()], false), Ok(()));
        assert_eq!(running.get("shutdown-on-sigterm").unwrap(), "save now force");
        assert_eq!(running.apply("shutdown-on-sigterm", &["now default".into()], false), Ok(()));
        assert_eq!(running.get("shutdown-on-sigterm").unwrap(), "now");
        assert_eq!(
            running.apply("shutdown-on-sigterm", &["save nosave".into()], false),
            Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into())
        );
        assert_eq!(
            running.apply("shutdown-on-sigint", &["now foo".into()], false),
            Err("argument(s) must be one of the following: default, save, nosave, now, force".into())
        );
        assert_eq!(running.get("shutdown-on-sigterm").unwrap(), "now", "a refused value changes nothing");
        assert_eq!(
            running.matching(b"shutdown-*"),
            vec![
                ("shutdown-timeout".into(), "10".into()),
                ("shutdown-on-sigint".into(), "default".into()),
                ("shutdown-on-sigterm".into(), "now".into())
            ]
        );
    }
}
