//! Runtime reconfiguration of a Sentinel (sentinel.c's SENTINEL MONITOR, SET,
//! REMOVE, FLUSHCONFIG and `sentinelSetCommand`): validation in Sentinel's
//! order with its error texts, the `+monitor`/`-monitor`/`+set` events, the
//! effect on what is monitored, and the flush of the new configuration to disk.

use crate::config::MasterConf;
use crate::instance::{Master, Who};
use crate::sentinel::Sentinel;
use resp::Value;
use sim::Ctx;

const SCRIPTS_DENIED: &str = "ERR Reconfiguration of scripts path is denied for security reasons. Check the \
                              deny-scripts-reconfig configuration directive in your Sentinel configuration";

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// A numeric host as `getaddrinfo(AI_NUMERICHOST)` takes it: IPv6, or IPv4 in
/// `inet_aton`'s forms (`127.1`, `0x7f.1`, `0177.0.0.1`, one 32-bit number).
fn numeric_address(host: &str) -> Option<std::net::IpAddr> {
    if let Ok(v6) = host.parse::<std::net::Ipv6Addr>() {
        return Some(v6.into());
    }
    let parts: Vec<u32> = host.split('.').map(inet_aton_part).collect::<Option<_>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 || leading.iter().any(|&p| p > 255) {
        return None;
    }
    // The last part fills the bytes the others left.
    let room = 8 * (4 - leading.len() as u32);
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let high = leading.iter().enumerate().fold(0u32, |acc, (i, &p)| acc | p << (24 - 8 * i as u32));
    Some(std::net::Ipv4Addr::from(high | last).into())
}

/// One dotted part: `0x` hex, leading-zero octal, or decimal.
fn inet_aton_part(part: &str) -> Option<u32> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// What one option/value group of SENTINEL SET did.
enum SetStep {
    /// Applied; it took this many arguments (option included).
    Applied(usize),
    /// `auth-pass`: applied, its value is logged as `******`.
    Redacted,
    /// Refused with this error; what came before stays applied.
    Refused(Value),
}

impl Sentinel {
    /// `SENTINEL MONITOR <name> <ip> <port> <quorum>`: the master is watched at
    /// once (links and discovery start at the next timer tick).
    pub(crate) fn monitor_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let Some(quorum) = resp::parse_ll(&args[5]) else { return Value::error("ERR Invalid quorum") };
        let Some(port) = resp::parse_ll(&args[4]) else { return Value::error("ERR Invalid port") };
        if quorum <= 0 {
            return Value::error("ERR Quorum must be 1 or greater.");
        }
        // resolve-hostnames is off: only a numeric address is accepted, kept as printed back.
        let Some(ip) = numeric_address(&text(&args[3])) else {
            return Value::error("ERR Invalid IP address or hostname specified");
        };
        let Ok(port) = u16::try_from(port) else { return Value::error("ERR Invalid port number.") };
        let name = text(&args[2]);
        if self.masters.contains_key(&name) {
            return Value::error("ERR Duplicate master name.");
        }
        let mut conf = MasterConf::new(name.clone(), ip.to_string(), port, quorum as usize);
        conf.down_after = self.timing.default_down_after;
        conf.failover_timeout = self.timing.default_failover_timeout;
        self.masters.insert(name.clone(), Master::from_conf(&conf, ctx.wall_clock_ms()));
        self.flush_config(ctx);
        self.event(ctx, '#', "+monitor", Some((&name, &Who::Master)), &format!("quorum {quorum}"));
        Value::ok()
    }

    /// `SENTINEL REMOVE <name>`: every link of the master, its replicas and
    /// Sentinels is closed and all its state forgotten.
    pub(crate) fn remove_command(&mut self, ctx: &mut Ctx<'_>, name: &str) -> Value {
        if !self.masters.contains_key(name) {
            return Value::error("ERR No such master with that name");
        }
        self.event(ctx, '#', "-monitor", Some((name, &Who::Master)), "");
        self.reset_master(ctx, name, false);
        self.masters.remove(name);
        self.flush_config(ctx);
        Value::ok()
    }

    /// `SENTINEL SET <name> <option> <value> [<option> <value> ...]`: options
    /// apply one by one, each with its `+set` event; the first bad one stops
    /// the rest, and what was applied before it is kept and flushed. A new
    /// password, user or command name closes the links to the master and its
    /// replicas so that they reconnect with it (`dropInstanceConnections`).
    pub(crate) fn set_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let name = text(&args[2]);
        if !self.masters.contains_key(&name) {
            return Value::error("ERR No such master with that name");
        }
        let mut changes = 0;
        let mut reply = Value::ok();
        let mut j = 3;
        while j < args.len() {
            let step = self.set_option(&name, &args[j..]);
            let used = match step {
                SetStep::Refused(e) => {
                    reply = e;
                    break;
                }
                SetStep::Applied(n) => n,
                SetStep::Redacted => 2,
            };
            changes += 1;
            // Measured on 7.0.15: these three reconnect the master's and replicas' links at once.
            let option = String::from_utf8_lossy(&args[j]).to_ascii_lowercase();
            if matches!(option.as_str(), "auth-pass" | "auth-user" | "rename-command") {
                self.drop_instance_links(ctx, &name);
            }
            let mut shown: Vec<String> = args[j..j + used].iter().map(|a| text(a)).collect();
            if matches!(step, SetStep::Redacted) {
                shown[1] = "******".to_owned();
            }
            self.event(ctx, '#', "+set", Some((&name, &Who::Master)), &shown.join(" "));
            j += used;
        }
        if changes > 0 {
            self.flush_config(ctx);
        }
        reply
    }

    /// Applies the option at `rest[0]` to master `name`.
    fn set_option(&mut self, name: &str, rest: &[Vec<u8>]) -> SetStep {
        let option = text(&rest[0]);
        let more = rest.len() - 1;
        let invalid = |arg: &[u8]| {
            SetStep::Refused(Value::error(format!("ERR Invalid argument '{}' for SENTINEL SET '{option}'", text(arg))))
        };
        let deny_scripts = self.file.deny_scripts_reconfig;
        let m = self.masters.get_mut(name).expect("checked by the caller");
        let lower = option.to_ascii_lowercase();
        match lower.as_str() {
            "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum" if more > 0 => {
                let Some(v) = resp::parse_ll(&rest[1]).filter(|&v| v > 0) else { return invalid(&rest[1]) };
                match lower.as_str() {
                    "down-after-milliseconds" => m.down_after = v,
                    "failover-timeout" => m.failover_timeout = v,
                    "parallel-syncs" => m.parallel_syncs = v as usize,
                    _ => m.quorum = v as usize,
                }
                SetStep::Applied(2)
            }
            "master-reboot-down-after-period" if more > 0 => {
                let Some(v) = resp::parse_ll(&rest[1]).filter(|&v| v >= 0) else { return invalid(&rest[1]) };
                m.master_reboot_down_after = v;
                SetStep::Applied(2)
            }
            "notification-script" | "client-reconfig-script" if more > 0 => {
                if deny_scripts {
                    return SetStep::Refused(Value::error(SCRIPTS_DENIED));
                }
                // A simulated disk holds no executable file, so only clearing the script succeeds.
                if !rest[1].is_empty() {
                    let what = if lower == "notification-script" {
                        "ERR Notification script seems non existing or non executable"
                    } else {
                        "ERR Client reconfiguration script seems non existing or non executable"
                    };
                    return SetStep::Refused(Value::error(what));
                }
                SetStep::Applied(2)
            }
            "auth-pass" if more > 0 => {
                m.auth_pass = (!rest[1].is_empty()).then(|| text(&rest[1]));
                SetStep::Redacted
            }
            "auth-user" if more > 0 => {
                m.auth_user = (!rest[1].is_empty()).then(|| text(&rest[1]));
                SetStep::Applied(2)
            }
            "rename-command" if more > 1 => {
                let (old, new) = (text(&rest[1]), text(&rest[2]));
                if old.is_empty() || new.is_empty() {
                    return invalid(if new.is_empty() { &rest[2] } else { &rest[1] });
                }
                m.renamed_commands.retain(|(o, _)| !o.eq_ignore_ascii_case(&old));
                if !old.eq_ignore_ascii_case(&new) {
                    m.renamed_commands.push((old, new));
                }
                SetStep::Applied(3)
            }
            _ => SetStep::Refused(Value::error(format!(
                "ERR Unknown option or number of arguments for SENTINEL SET '{option}'"
            ))),
        }
    }
}

impl Sentinel {
    /// `SENTINEL CONFIG GET <pattern>` / `SENTINEL CONFIG SET <option> <value>`:
    /// the global options, in sentinel.c's order.
    pub(crate) fn config_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = text(&args[2]).to_ascii_lowercase();
        match (sub.as_str(), args.len()) {
            ("get", 4) => self.config_get(&args[3]),
            ("set", 5) => self.config_set(ctx, &text(&args[3]), &text(&args[4])),
            _ => Value::error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported."),
        }
    }

    fn config_get(&self, pattern: &[u8]) -> Value {
        let f = &self.file;
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        let options = [
            ("resolve-hostnames", yes_no(f.resolve_hostnames)),
            ("announce-hostnames", yes_no(f.announce_hostnames)),
            ("announce-ip", self.announce_ip.clone().unwrap_or_default()),
            ("announce-port", self.announce_port.to_string()),
            ("sentinel-user", f.sentinel_user.clone().unwrap_or_default()),
            ("sentinel-pass", f.sentinel_pass.clone().unwrap_or_default()),
        ];
        let pattern = pattern.to_ascii_lowercase();
        Value::Map(
            options
                .into_iter()
                .filter(|(name, _)| common::glob::glob_match(&pattern, name.as_bytes()))
                .map(|(name, value)| (Value::bulk(name), Value::bulk(value)))
                .collect(),
        )
    }

    fn config_set(&mut self, ctx: &mut Ctx<'_>, option: &str, value: &str) -> Value {
        let bad = || Value::error(format!("ERR Invalid value '{value}' to SENTINEL CONFIG SET '{option}'"));
        let optional = || (!value.is_empty()).then(|| value.to_owned());
        let mut drop_links = false;
        match option.to_ascii_lowercase().as_str() {
            "resolve-hostnames" => match crate::config::yes_no(value) {
                Some(on) => self.file.resolve_hostnames = on,
                None => return bad(),
            },
            "announce-hostnames" => match crate::config::yes_no(value) {
                Some(on) => self.file.announce_hostnames = on,
                None => return bad(),
            },
            "announce-ip" => {
                self.announce_ip = optional();
                self.file.announce_ip = optional();
            }
            "announce-port" => match resp::parse_ll(value.as_bytes()).and_then(|p| u16::try_from(p).ok()) {
                Some(port) => {
                    self.announce_port = port;
                    self.file.announce_port = port;
                }
                None => return bad(),
            },
            "sentinel-user" => {
                self.file.sentinel_user = optional();
                drop_links = true;
            }
            "sentinel-pass" => {
                self.file.sentinel_pass = optional();
                drop_links = true;
            }
            _ => return Value::error(format!("ERR Invalid argument '{option}' to SENTINEL CONFIG SET")),
        }
        self.flush_config(ctx);
        if drop_links {
            self.drop_sentinel_links(ctx);
        }
        Value::ok()
    }
}

#[cfg(test)]
mod tests {
    use super::numeric_address;

    #[test]
    fn numeric_addresses_are_read_as_getaddrinfo_reads_them() {
        // Measured on redis-sentinel 7.0.15: SENTINEL MONITOR's accepted hosts and the ip it keeps.
        for (host, kept) in [
            ("127.1", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("127.0.0.01", "127.0.0.1"),
            ("4294967295", "255.255.255.255"),
            ("1.2.65535", "1.2.255.255"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1", "::1"),
        ] {
            assert_eq!(numeric_address(host).map(|a| a.to_string()).as_deref(), Some(kept), "{host}");
        }
        for host in ["1.2.3.4.5", "127.0.0.1 ", "127.0.0.256", "", "08.0.0.1", "localhost", "1..2", "4294967296"] {
            assert_eq!(numeric_address(host), None, "{host}");
        }
    }
}
