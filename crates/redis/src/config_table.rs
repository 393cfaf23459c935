//! The rest of redis-server 7.0.15's configuration table: every directive
//! CONFIG GET * lists that [`crate::config::Config`] does not model with a field
//! of its own. Names, aliases, kinds, bounds and flags are those of
//! `static_configs[]` in Redis's config.c; defaults are what a real 7.0.15
//! started without a configuration file answers to CONFIG GET (except `dir`,
//! which is the working directory there: here the Debian package's).
//!
//! Each one is checked as Redis checks it and its value kept, so CONFIG GET
//! and CONFIG REWRITE show it. Those marked [`DEFAULT_ONLY`] change behaviour
//! the simulator does not model (encodings' thresholds, limits, announced
//! addresses...): they take their default
//! value only, and anything else is refused with an error that says so rather
//! than accepted and ignored.

/// Refused by CONFIG SET (a configuration file may set it).
pub(crate) const IMMUTABLE: u8 = 1;
/// Refused by CONFIG SET while `enable-protected-configs` is `no`.
pub(crate) const PROTECTED: u8 = 2;
/// Only the default is simulated.
pub(crate) const DEFAULT_ONLY: u8 = 4;

/// How a number is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Plain,
    /// Bytes, or with k/kb/m/mb/g/gb.
    Memory,
    /// A memory value, or a percentage (`10%`).
    MemoryOrPercent,
    Octal,
}

/// What values a directive takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    Enum(&'static [&'static str]),
    Int {
        min: i64,
        max: i64,
        unit: Unit,
    },
    /// Its own syntax (a path, a list of numbers).
    Special,
    /// `notify-keyspace-events`' class letters ([`crate::notify`]).
    Events,
}

/// One directive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) alias: Option<&'static str>,
    pub(crate) kind: Kind,
    pub(crate) default: &'static str,
    pub(crate) flags: u8,
}

/// The directive `name` (or its alias) names, case-insensitively.
pub(crate) fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name) || p.alias.is_some_and(|a| a.eq_ignore_ascii_case(name)))
}

impl Param {
    /// The value CONFIG SET or a configuration line gives, checked as Redis
    /// checks it and written as CONFIG GET shows it.
    pub(crate) fn check(&self, args: &[String], from_file: bool) -> Result<String, String> {
        if !from_file && self.flags & IMMUTABLE != 0 {
            return Err("can't set immutable config".to_owned());
        }
        if !from_file && self.flags & PROTECTED != 0 {
            return Err("can't set protected config".to_owned());
        }
        let value = match (self.kind, args) {
            (Kind::Special, _) if self.name == "latency-tracking-info-percentiles" => {
                percentiles_text(&args.join(" "))?
            }
            (Kind::Special | Kind::Str, _) => args.join(" "),
            (_, [one]) => self.parse(one)?,
            _ => return Err("wrong number of arguments".to_owned()),
        };
        if self.flags & DEFAULT_ONLY != 0 && value != self.default {
            return Err(format!("only its default ({:?}) is simulated by chaoslab", self.default));
        }
        Ok(value)
    }

    fn parse(&self, text: &str) -> Result<String, String> {
        match self.kind {
            Kind::Bool => match text.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no") => Ok(v.to_owned()),
                _ => Err("argument must be 'yes' or 'no'".to_owned()),
            },
            Kind::Enum(values) => {
                let lower = text.to_ascii_lowercase();
                values
                    .iter()
                    .find(|v| **v == lower)
                    .map(|v| (*v).to_owned())
                    .ok_or_else(|| format!("argument(s) must be one of the following: {}", values.join(", ")))
            }
            Kind::Int { min, max, unit } => {
                let n = number(text, unit)?;
                let shown = |v: i64| if unit == Unit::Octal { format!("{v:o}") } else { v.to_string() };
                if n < min || n > max {
                    return Err(format!("argument must be between {} and {} inclusive", shown(min), shown(max)));
                }
                Ok(if unit == Unit::MemoryOrPercent && n < 0 { format!("{}%", -n) } else { shown(n) })
            }
            // Kept as given: CONFIG GET renders the classes, which hides `n` under `A`.
            Kind::Events => crate::notify::parse(text).map(|_| text.to_owned()),
            Kind::Str | Kind::Special => Ok(text.to_owned()),
        }
    }
}

/// `latency-tracking-info-percentiles` as CONFIG GET shows it, each number
/// checked as Redis checks it (a number, within 0..=100).
fn percentiles_text(value: &str) -> Result<String, String> {
    let shown: Result<Vec<String>, String> = percentiles(value).map(|p| p.map(trimmed_double)).collect();
    Ok(shown?.join(" "))
}

/// The percentiles of a `latency-tracking-info-percentiles` value.
pub(crate) fn percentiles(value: &str) -> impl Iterator<Item = Result<f64, String>> + '_ {
    value.split_ascii_whitespace().map(|word| {
        let p = word
            .parse::<f64>()
            .ok()
            .filter(|p| !p.is_nan())
            .ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_owned())?;
        if !(0.0..=100.0).contains(&p) {
            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".to_owned());
        }
        Ok(p)
    })
}

/// `%f` with its trailing zeros (and a bare point) trimmed, as Redis's
/// `trimDoubleString` leaves a double: `99.9`, `50`, `0`.
pub(crate) fn trimmed_double(n: f64) -> String {
    let text = format!("{n:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `numericParseString`: a memory value, a percentage (kept negative, as
/// Redis keeps it), an octal number or a plain integer, by the unit.
fn number(text: &str, unit: Unit) -> Result<i64, String> {
    let memory = || crate::config::memory(text).ok().and_then(|n| i64::try_from(n).ok());
    let parsed = match unit {
        Unit::Plain => text.parse::<i64>().ok(),
        Unit::Memory => memory(),
        Unit::MemoryOrPercent => memory().or_else(|| {
            let pct = text.strip_suffix('%').filter(|p| !p.is_empty())?.parse::<i64>().ok()?;
            (pct >= 0).then_some(-pct)
        }),
        Unit::Octal => i64::from_str_radix(text, 8).ok(),
    };
    parsed.ok_or_else(|| {
        match unit {
            Unit::Plain => "argument couldn't be parsed into an integer",
            Unit::Memory => "argument must be a memory value",
            Unit::MemoryOrPercent => "argument must be a memory or percent value",
            Unit::Octal => "argument couldn't be parsed as an octal number",
        }
        .to_owned()
    })
}

/// The directives, in config.c's order.
pub(crate) const PARAMS: &[Param] = &[
    Param { name: "rdbchecksum", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Param { name: "daemonize", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Param { name: "io-threads-do-reads", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Param { name: "always-show-logo", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Param { name: "protected-mode", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "rdbcompression", alias: None, kind: Kind::Bool, default: "yes", flags: DEFAULT_ONLY },
    Param { name: "rdb-del-sync-files", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "activerehashing", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "stop-writes-on-bgsave-error", alias: None, kind: Kind::Bool, default: "yes", flags: DEFAULT_ONLY },
    Param { name: "set-proc-title", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Param { name: "dynamic-hz", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "lazyfree-lazy-eviction", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "lazyfree-lazy-expire", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "lazyfree-lazy-server-del", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "lazyfree-lazy-user-del", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "lazyfree-lazy-user-flush", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "repl-disable-tcp-nodelay", alias: None, kind: Kind::Bool, default: "no", flags: DEFAULT_ONLY },
    Param { name: "aof-rewrite-incremental-fsync", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "no-appendfsync-on-rewrite", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "rdb-save-incremental-fsync", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "aof-load-truncated", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "aof-use-rdb-preamble", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "aof-timestamp-enabled", alias: None, kind: Kind::Bool, default: "no", flags: DEFAULT_ONLY },
    Param { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "jemalloc-bg-thread", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "activedefrag", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "syslog-enabled", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Param {
        name: "cluster-allow-pubsubshard-when-down",
        alias: None,
        kind: Kind::Bool,
        default: "yes",
        flags: DEFAULT_ONLY,
    },
    Param { name: "crash-log-enabled", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "crash-memcheck-enabled", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "disable-thp", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Param { name: "latency-tracking", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "aof-disable-auto-gc", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param {
        name: "replica-ignore-disk-write-errors",
        alias: None,
        kind: Kind::Bool,
        default: "no",
        flags: DEFAULT_ONLY,
    },
    Param { name: "aclfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "unixsocket", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "pidfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param {
        name: "replica-announce-ip",
        alias: Some("slave-announce-ip"),
        kind: Kind::Str,
        default: "",
        flags: DEFAULT_ONLY,
    },
    Param { name: "cluster-announce-ip", alias: None, kind: Kind::Str, default: "", flags: DEFAULT_ONLY },
    Param { name: "cluster-announce-hostname", alias: None, kind: Kind::Str, default: "", flags: DEFAULT_ONLY },
    Param { name: "syslog-ident", alias: None, kind: Kind::Str, default: "redis", flags: IMMUTABLE },
    Param { name: "server_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "bio_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "aof_rewrite_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "bgsave_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param { name: "ignore-warnings", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param {
        name: "proc-title-template",
        alias: None,
        kind: Kind::Str,
        default: "{title} {listen-addr} {server-mode}",
        flags: 0,
    },
    Param { name: "bind-source-addr", alias: None, kind: Kind::Str, default: "", flags: DEFAULT_ONLY },
    Param { name: "logfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Param {
        name: "supervised",
        alias: None,
        kind: Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        default: "no",
        flags: IMMUTABLE,
    },
    Param {
        name: "syslog-facility",
        alias: None,
        kind: Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
        default: "local0",
        flags: IMMUTABLE,
    },
    Param {
        name: "repl-diskless-load",
        alias: None,
        kind: Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        default: "disabled",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "oom-score-adj",
        alias: None,
        kind: Kind::Enum(&["no", "yes", "relative", "absolute"]),
        default: "no",
        flags: 0,
    },
    Param {
        name: "acl-pubsub-default",
        alias: None,
        kind: Kind::Enum(&["allchannels", "resetchannels"]),
        default: "resetchannels",
        flags: 0,
    },
    Param {
        name: "sanitize-dump-payload",
        alias: None,
        kind: Kind::Enum(&["no", "yes", "clients"]),
        default: "no",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "enable-protected-configs",
        alias: None,
        kind: Kind::Enum(&["no", "yes", "local"]),
        default: "no",
        flags: IMMUTABLE,
    },
    Param {
        name: "cluster-preferred-endpoint-type",
        alias: None,
        kind: Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        default: "ip",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "propagation-error-behavior",
        alias: None,
        kind: Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        default: "ignore",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "io-threads",
        alias: None,
        kind: Kind::Int { min: 1, max: 128, unit: Unit::Plain },
        default: "1",
        flags: IMMUTABLE,
    },
    Param {
        name: "auto-aof-rewrite-percentage",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "100",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "list-max-listpack-size",
        alias: Some("list-max-ziplist-size"),
        kind: Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64, unit: Unit::Plain },
        default: "-2",
        flags: 0,
    },
    Param {
        name: "tcp-keepalive",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "300",
        flags: 0,
    },
    Param {
        name: "active-defrag-cycle-min",
        alias: None,
        kind: Kind::Int { min: 1, max: 99, unit: Unit::Plain },
        default: "1",
        flags: 0,
    },
    Param {
        name: "active-defrag-cycle-max",
        alias: None,
        kind: Kind::Int { min: 1, max: 99, unit: Unit::Plain },
        default: "25",
        flags: 0,
    },
    Param {
        name: "active-defrag-threshold-lower",
        alias: None,
        kind: Kind::Int { min: 0, max: 1000, unit: Unit::Plain },
        default: "10",
        flags: 0,
    },
    Param {
        name: "active-defrag-threshold-upper",
        alias: None,
        kind: Kind::Int { min: 0, max: 1000, unit: Unit::Plain },
        default: "100",
        flags: 0,
    },
    Param {
        name: "timeout",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "0",
        flags: 0,
    },
    Param {
        name: "replica-announce-port",
        alias: Some("slave-announce-port"),
        kind: Kind::Int { min: 0, max: 65535, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "tcp-backlog",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "511",
        flags: IMMUTABLE,
    },
    Param {
        name: "cluster-announce-bus-port",
        alias: None,
        kind: Kind::Int { min: 0, max: 65535, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "cluster-announce-port",
        alias: None,
        kind: Kind::Int { min: 0, max: 65535, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "cluster-announce-tls-port",
        alias: None,
        kind: Kind::Int { min: 0, max: 65535, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "list-compress-depth",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "maxclients",
        alias: None,
        kind: Kind::Int { min: 1, max: u32::MAX as i64, unit: Unit::Plain },
        default: "10000",
        flags: 0,
    },
    Param {
        name: "unixsocketperm",
        alias: None,
        kind: Kind::Int { min: 0, max: 0o777, unit: Unit::Octal },
        default: "0",
        flags: IMMUTABLE,
    },
    Param {
        name: "socket-mark-id",
        alias: None,
        kind: Kind::Int { min: 0, max: u32::MAX as i64, unit: Unit::Plain },
        default: "0",
        flags: IMMUTABLE,
    },
    Param {
        name: "active-defrag-max-scan-fields",
        alias: None,
        kind: Kind::Int { min: 1, max: i64::MAX, unit: Unit::Plain },
        default: "1000",
        flags: 0,
    },
    Param {
        name: "acllog-max-len",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "128",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "latency-monitor-threshold",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "0",
        flags: 0,
    },
    Param {
        name: "proto-max-bulk-len",
        alias: None,
        kind: Kind::Int { min: 1024 * 1024, max: i64::MAX, unit: Unit::Memory },
        default: "536870912",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "stream-node-max-entries",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "100",
        flags: 0,
    },
    Param {
        name: "cluster-link-sendbuf-limit",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "hash-max-listpack-entries",
        alias: Some("hash-max-ziplist-entries"),
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "512",
        flags: 0,
    },
    Param {
        name: "set-max-intset-entries",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "512",
        flags: 0,
    },
    Param {
        name: "zset-max-listpack-entries",
        alias: Some("zset-max-ziplist-entries"),
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "128",
        flags: 0,
    },
    Param {
        name: "active-defrag-ignore-bytes",
        alias: None,
        kind: Kind::Int { min: 1, max: i64::MAX, unit: Unit::Memory },
        default: "104857600",
        flags: 0,
    },
    Param {
        name: "hash-max-listpack-value",
        alias: Some("hash-max-ziplist-value"),
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "64",
        flags: 0,
    },
    Param {
        name: "stream-node-max-bytes",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "4096",
        flags: 0,
    },
    Param {
        name: "zset-max-listpack-value",
        alias: Some("zset-max-ziplist-value"),
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "64",
        flags: 0,
    },
    Param {
        name: "hll-sparse-max-bytes",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "3000",
        flags: 0,
    },
    Param {
        name: "tracking-table-max-keys",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Plain },
        default: "1000000",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "client-query-buffer-limit",
        alias: None,
        kind: Kind::Int { min: 1024 * 1024, max: i64::MAX, unit: Unit::Memory },
        default: "1073741824",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "maxmemory-clients",
        alias: None,
        kind: Kind::Int { min: -100, max: i64::MAX, unit: Unit::MemoryOrPercent },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "auto-aof-rewrite-min-size",
        alias: None,
        kind: Kind::Int { min: 0, max: i64::MAX, unit: Unit::Memory },
        default: "67108864",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "tls-port",
        alias: None,
        kind: Kind::Int { min: 0, max: 65535, unit: Unit::Plain },
        default: "0",
        flags: DEFAULT_ONLY,
    },
    Param {
        name: "tls-session-cache-size",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "20480",
        flags: 0,
    },
    Param {
        name: "tls-session-cache-timeout",
        alias: None,
        kind: Kind::Int { min: 0, max: i32::MAX as i64, unit: Unit::Plain },
        default: "300",
        flags: 0,
    },
    Param { name: "tls-cluster", alias: None, kind: Kind::Bool, default: "no", flags: DEFAULT_ONLY },
    Param { name: "tls-replication", alias: None, kind: Kind::Bool, default: "no", flags: DEFAULT_ONLY },
    Param {
        name: "tls-auth-clients",
        alias: None,
        kind: Kind::Enum(&["no", "yes", "optional"]),
        default: "yes",
        flags: 0,
    },
    Param { name: "tls-prefer-server-ciphers", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Param { name: "tls-session-caching", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Param { name: "tls-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-key-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-key-file-pass", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-client-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-client-key-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-client-key-file-pass", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-dh-params-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-ca-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-ca-cert-dir", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-protocols", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-ciphers", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "tls-ciphersuites", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Param { name: "dir", alias: None, kind: Kind::Special, default: "/var/lib/redis", flags: PROTECTED },
    Param { name: "oom-score-adj-values", alias: None, kind: Kind::Special, default: "0 200 800", flags: 0 },
    Param { name: "notify-keyspace-events", alias: None, kind: Kind::Events, default: "", flags: 0 },
    Param {
        name: "latency-tracking-info-percentiles",
        alias: None,
        kind: Kind::Special,
        default: "50 99 99.9",
        flags: 0,
    },
    Param {
        name: "active-expire-effort",
        alias: None,
        kind: Kind::Int { min: 1, max: 10, unit: Unit::Plain },
        default: "1",
        flags: DEFAULT_ONLY,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: &str) -> Result<String, String> {
        find(name).expect("a directive").check(&[value.to_owned()], false)
    }

    #[test]
    fn values_are_checked_and_written_as_redis_does() {
        assert_eq!(set("lazyfree-lazy-eviction", "YES").as_deref(), Ok("yes"));
        assert_eq!(set("lazyfree-lazy-eviction", "1").unwrap_err(), "argument must be 'yes' or 'no'");
        assert_eq!(set("oom-score-adj", "RELATIVE").as_deref(), Ok("relative"));
        assert_eq!(
            set("oom-score-adj", "x").unwrap_err(),
            "argument(s) must be one of the following: no, yes, relative, absolute"
        );
        assert_eq!(set("syslog-facility", "local3").unwrap_err(), "can't set immutable config");
        assert!(set("repl-diskless-load", "swapdb").unwrap_err().contains("only its default"));
        assert_eq!(set("tcp-keepalive", "-1").unwrap_err(), "argument must be between 0 and 2147483647 inclusive");
        assert_eq!(set("tcp-keepalive", "x").unwrap_err(), "argument couldn't be parsed into an integer");
        assert_eq!(set("daemonize", "yes").unwrap_err(), "can't set immutable config");
        assert_eq!(set("dir", "/tmp").unwrap_err(), "can't set protected config");
        assert_eq!(set("hash-max-listpack-entries", "0").as_deref(), Ok("0"));
        assert!(set("list-compress-depth", "1").unwrap_err().contains("only its default"));
        assert_eq!(find("hash-max-ziplist-entries").map(|p| p.name), Some("hash-max-listpack-entries"));
    }

    #[test]
    fn memory_percent_and_octal_values_read_as_in_redis() {
        assert_eq!(number("64mb", Unit::Memory), Ok(64 * 1024 * 1024));
        assert_eq!(number("10%", Unit::MemoryOrPercent), Ok(-10));
        assert_eq!(number("x", Unit::MemoryOrPercent).unwrap_err(), "argument must be a memory or percent value");
        assert_eq!(number("755", Unit::Octal), Ok(0o755));
        assert_eq!(number("9", Unit::Octal).unwrap_err(), "argument couldn't be parsed as an octal number");
    }
}
