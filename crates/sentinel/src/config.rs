//! `sentinel.conf`: the directives a Sentinel honours (the `sentinel ...` family
//! of sentinel.c's `sentinelHandleConfiguration`, plus `port` and `loglevel`),
//! and the file Sentinel writes back on every state change (`sentinelFlushConfig`).

use std::fmt::Write as _;

/// Default `down-after-milliseconds`.
pub const DEFAULT_DOWN_AFTER: i64 = 30_000;
/// Default `failover-timeout`.
pub const DEFAULT_FAILOVER_TIMEOUT: i64 = 180_000;
/// Default `parallel-syncs`.
pub const DEFAULT_PARALLEL_SYNCS: usize = 1;
/// Where a Sentinel keeps its configuration on its disk.
pub const CONFIG_FILE: &str = "sentinel.conf";

/// One `sentinel monitor` block with everything the file says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterConf {
    /// The monitored name.
    pub name: String,
    /// Address Sentinel currently believes is the master.
    pub ip: String,
    /// Its port.
    pub port: u16,
    /// Sentinels that must agree it is down.
    pub quorum: usize,
    /// `down-after-milliseconds`.
    pub down_after: i64,
    /// `failover-timeout`.
    pub failover_timeout: i64,
    /// `parallel-syncs`.
    pub parallel_syncs: usize,
    /// `auth-pass`.
    pub auth_pass: Option<String>,
    /// `auth-user` (sent with the password only: `AUTH <user> <pass>`).
    pub auth_user: Option<String>,
    /// `master-reboot-down-after-period` (0: off).
    pub master_reboot_down_after: i64,
    /// `rename-command` pairs (old name as given, new name), in the order set.
    pub renamed_commands: Vec<(String, String)>,
    /// `config-epoch`.
    pub config_epoch: u64,
    /// `leader-epoch`.
    pub leader_epoch: u64,
    /// `known-replica` addresses.
    pub known_replicas: Vec<(String, u16)>,
    /// `known-sentinel` (ip, port, run id).
    pub known_sentinels: Vec<(String, u16, String)>,
}

/// A whole sentinel.conf.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `port` (26379 unless set).
    pub port: u16,
    /// `loglevel`.
    pub loglevel: String,
    /// `sentinel myid`, once generated.
    pub myid: Option<String>,
    /// `sentinel current-epoch`.
    pub current_epoch: u64,
    /// `sentinel announce-ip`.
    pub announce_ip: Option<String>,
    /// `sentinel announce-port` (0: the real port).
    pub announce_port: u16,
    /// `sentinel resolve-hostnames`.
    pub resolve_hostnames: bool,
    /// `sentinel announce-hostnames`.
    pub announce_hostnames: bool,
    /// `sentinel sentinel-user`: the user to AUTH as with other Sentinels.
    pub sentinel_user: Option<String>,
    /// `sentinel sentinel-pass`: the password for other Sentinels.
    pub sentinel_pass: Option<String>,
    /// `sentinel deny-scripts-reconfig` (yes unless the file says no).
    pub deny_scripts_reconfig: bool,
    /// Monitored masters, in file order.
    pub masters: Vec<MasterConf>,
}

impl MasterConf {
    /// A freshly monitored master with every option at its default.
    pub fn new(name: String, ip: String, port: u16, quorum: usize) -> MasterConf {
        MasterConf {
            name,
            ip,
            port,
            quorum,
            down_after: DEFAULT_DOWN_AFTER,
            failover_timeout: DEFAULT_FAILOVER_TIMEOUT,
            parallel_syncs: DEFAULT_PARALLEL_SYNCS,
            auth_pass: None,
            auth_user: None,
            master_reboot_down_after: 0,
            renamed_commands: Vec::new(),
            config_epoch: 0,
            leader_epoch: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

impl Config {
    /// A file with no directives, for a Sentinel listening on `port`.
    pub fn defaults(port: u16) -> Config {
        Config {
            port,
            loglevel: "notice".to_owned(),
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: 0,
            resolve_hostnames: false,
            announce_hostnames: false,
            sentinel_user: None,
            sentinel_pass: None,
            deny_scripts_reconfig: true,
            masters: Vec::new(),
        }
    }
}

fn int<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

/// `yesnotoi`.
pub(crate) fn yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Parses sentinel.conf. Errors are (0-based line, message) with Sentinel's own
/// texts where it has one.
pub fn parse(text: &str, port: u16) -> Result<Config, Vec<(usize, String)>> {
    let mut config = Config::defaults(port);
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(args) = resp::split_args(line.as_bytes()) else {
            errors.push((i, "Unbalanced quotes in configuration line".to_owned()));
            continue;
        };
        let args: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if let Err(e) = apply(&mut config, &args) {
            errors.push((i, e));
        }
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

fn apply(config: &mut Config, args: &[String]) -> Result<(), String> {
    let bad = || "Bad directive or wrong number of arguments".to_owned();
    match (args[0].to_ascii_lowercase().as_str(), args.len()) {
        ("port", 2) => {
            config.port = int::<u16>(&args[1]).filter(|&p| p > 0).ok_or("Invalid port")?;
            Ok(())
        }
        ("loglevel", 2) => {
            let level = args[1].to_ascii_lowercase();
            if !matches!(level.as_str(), "debug" | "verbose" | "notice" | "warning") {
                return Err(format!(
                    "argument(s) must be one of the following: debug, verbose, notice, warning, nothing (got '{}')",
                    args[1]
                ));
            }
            config.loglevel = level;
            Ok(())
        }
        ("sentinel", n) if n >= 2 => sentinel_directive(config, &args[1..]),
        // Accepted and without effect in a simulation, as on the redis node.
        ("daemonize" | "protected-mode" | "dir" | "logfile" | "pidfile" | "bind", n) if n >= 2 => Ok(()),
        _ => Err(bad()),
    }
}

fn sentinel_directive(config: &mut Config, args: &[String]) -> Result<(), String> {
    let unknown_master = || "No such master with specified name.".to_owned();
    let unrecognized = || "Unrecognized sentinel configuration statement.".to_owned();
    let key = args[0].to_ascii_lowercase();
    let find = |config: &mut Config, name: &str| -> Result<usize, String> {
        config.masters.iter().position(|m| m.name == name).ok_or_else(unknown_master)
    };
    match (key.as_str(), args.len()) {
        ("monitor", 5) => {
            let port = int::<u16>(&args[3]).filter(|&p| p > 0).ok_or("Invalid port")?;
            let quorum = int::<i64>(&args[4]).unwrap_or(0);
            if quorum <= 0 {
                return Err("Quorum must be 1 or greater.".to_owned());
            }
            if args[2].parse::<std::net::Ipv4Addr>().is_err() {
                return Err("Can't resolve instance hostname.".to_owned());
            }
            if config.masters.iter().any(|m| m.name == args[1]) {
                return Err("Duplicated master name.".to_owned());
            }
            config.masters.push(MasterConf::new(args[1].clone(), args[2].clone(), port, quorum as usize));
            Ok(())
        }
        ("down-after-milliseconds" | "failover-timeout", 3) => {
            let i = find(config, &args[1])?;
            let ms = int::<i64>(&args[2]).filter(|&v| v > 0).ok_or_else(|| format!("Invalid {key} value"))?;
            if key == "failover-timeout" {
                config.masters[i].failover_timeout = ms;
            } else {
                config.masters[i].down_after = ms;
            }
            Ok(())
        }
        ("parallel-syncs", 3) => {
            let i = find(config, &args[1])?;
            config.masters[i].parallel_syncs = int::<usize>(&args[2]).ok_or("Invalid parallel-syncs value")?;
            Ok(())
        }
        ("auth-pass", 3) => {
            let i = find(config, &args[1])?;
            config.masters[i].auth_pass = Some(args[2].clone());
            Ok(())
        }
        ("auth-user", 3) => {
            let i = find(config, &args[1])?;
            config.masters[i].auth_user = Some(args[2].clone());
            Ok(())
        }
        ("master-reboot-down-after-period", 3) => {
            let i = find(config, &args[1])?;
            config.masters[i].master_reboot_down_after =
                int::<i64>(&args[2]).filter(|&v| v >= 0).ok_or("Invalid master-reboot-down-after-period value")?;
            Ok(())
        }
        ("rename-command", 4) => {
            let i = find(config, &args[1])?;
            let m = &mut config.masters[i];
            m.renamed_commands.retain(|(old, _)| !old.eq_ignore_ascii_case(&args[2]));
            if !args[2].eq_ignore_ascii_case(&args[3]) {
                m.renamed_commands.push((args[2].clone(), args[3].clone()));
            }
            Ok(())
        }
        ("resolve-hostnames" | "announce-hostnames", 2) => {
            let on = yes_no(&args[1]).ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            if key == "resolve-hostnames" {
                config.resolve_hostnames = on;
            } else {
                config.announce_hostnames = on;
            }
            Ok(())
        }
        ("sentinel-user", 2) => {
            config.sentinel_user = (!args[1].is_empty()).then(|| args[1].clone());
            Ok(())
        }
        ("sentinel-pass", 2) => {
            config.sentinel_pass = (!args[1].is_empty()).then(|| args[1].clone());
            Ok(())
        }
        ("deny-scripts-reconfig", 2) => {
            config.deny_scripts_reconfig = match args[1].to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err("Please specify yes or no for the deny-scripts-reconfig options.".to_owned()),
            };
            Ok(())
        }
        ("config-epoch" | "leader-epoch", 3) => {
            let i = find(config, &args[1])?;
            let e = int::<u64>(&args[2]).ok_or("Invalid epoch")?;
            if key == "config-epoch" {
                config.masters[i].config_epoch = e;
            } else {
                config.masters[i].leader_epoch = e;
            }
            Ok(())
        }
        ("known-replica" | "known-slave", 4) => {
            let i = find(config, &args[1])?;
            let port = int::<u16>(&args[3]).ok_or("Invalid port")?;
            config.masters[i].known_replicas.push((args[2].clone(), port));
            Ok(())
        }
        ("known-sentinel", 5) => {
            let i = find(config, &args[1])?;
            let port = int::<u16>(&args[3]).ok_or("Invalid port")?;
            config.masters[i].known_sentinels.push((args[2].clone(), port, args[4].clone()));
            Ok(())
        }
        ("myid", 2) => {
            if args[1].len() != 40 {
                return Err("Malformed Sentinel id in myid option.".to_owned());
            }
            config.myid = Some(args[1].clone());
            Ok(())
        }
        ("current-epoch", 2) => {
            config.current_epoch = int::<u64>(&args[1]).ok_or("Invalid epoch")?;
            Ok(())
        }
        ("announce-ip", 2) => {
            config.announce_ip = (!args[1].is_empty()).then(|| args[1].clone());
            Ok(())
        }
        ("announce-port", 2) => {
            config.announce_port = int::<u16>(&args[1]).ok_or("Invalid port")?;
            Ok(())
        }
        _ => Err(unrecognized()),
    }
}

/// The file as `sentinelFlushConfig` leaves it: the state Sentinel needs after
/// a restart (its id, each master's address and epochs, every replica and
/// Sentinel it learnt of, the current epoch). Real Redis rewrites the user's
/// file in place and appends these after `# Generated by CONFIG REWRITE`; the
/// directives and their order are the same.
pub fn render(config: &Config) -> String {
    let mut s = format!("port {}\n", config.port);
    if config.loglevel != "notice" {
        let _ = writeln!(s, "loglevel {}", config.loglevel);
    }
    s.push_str("\n# Generated by CONFIG REWRITE\n");
    if let Some(id) = &config.myid {
        let _ = writeln!(s, "sentinel myid {id}");
    }
    for m in &config.masters {
        let _ = writeln!(s, "sentinel monitor {} {} {} {}", m.name, m.ip, m.port, m.quorum);
        if m.down_after != DEFAULT_DOWN_AFTER {
            let _ = writeln!(s, "sentinel down-after-milliseconds {} {}", m.name, m.down_after);
        }
        if m.failover_timeout != DEFAULT_FAILOVER_TIMEOUT {
            let _ = writeln!(s, "sentinel failover-timeout {} {}", m.name, m.failover_timeout);
        }
        if m.parallel_syncs != DEFAULT_PARALLEL_SYNCS {
            let _ = writeln!(s, "sentinel parallel-syncs {} {}", m.name, m.parallel_syncs);
        }
        if let Some(p) = &m.auth_pass {
            let _ = writeln!(s, "sentinel auth-pass {} {p}", m.name);
        }
        if let Some(u) = &m.auth_user {
            let _ = writeln!(s, "sentinel auth-user {} {u}", m.name);
        }
        if m.master_reboot_down_after != 0 {
            let _ = writeln!(s, "sentinel master-reboot-down-after-period {} {}", m.name, m.master_reboot_down_after);
        }
        for (old, new) in &m.renamed_commands {
            let _ = writeln!(s, "sentinel rename-command {} {old} {new}", m.name);
        }
        let _ = writeln!(s, "sentinel config-epoch {} {}", m.name, m.config_epoch);
        let _ = writeln!(s, "sentinel leader-epoch {} {}", m.name, m.leader_epoch);
        for (ip, port) in &m.known_replicas {
            let _ = writeln!(s, "sentinel known-replica {} {ip} {port}", m.name);
        }
        for (ip, port, id) in &m.known_sentinels {
            let _ = writeln!(s, "sentinel known-sentinel {} {ip} {port} {id}", m.name);
        }
    }
    let _ = writeln!(s, "sentinel current-epoch {}", config.current_epoch);
    if config.resolve_hostnames {
        let _ = writeln!(s, "sentinel resolve-hostnames yes");
    }
    if config.announce_hostnames {
        let _ = writeln!(s, "sentinel announce-hostnames yes");
    }
    if let Some(u) = &config.sentinel_user {
        let _ = writeln!(s, "sentinel sentinel-user {u}");
    }
    if let Some(p) = &config.sentinel_pass {
        let _ = writeln!(s, "sentinel sentinel-pass {p}");
    }
    if !config.deny_scripts_reconfig {
        let _ = writeln!(s, "sentinel deny-scripts-reconfig no");
    }
    if let Some(ip) = &config.announce_ip {
        let _ = writeln!(s, "sentinel announce-ip {ip}");
    }
    if config.announce_port != 0 {
        let _ = writeln!(s, "sentinel announce-port {}", config.announce_port);
    }
    s
}
