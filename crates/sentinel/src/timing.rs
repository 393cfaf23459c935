//! Sentinel's timing parameters (sentinel.c's `sentinel_*_period` and
//! friends) and `SENTINEL DEBUG`, which shows them and changes them at run
//! time, as Redis's own Sentinel tests do to make failovers quicker.

use resp::Value;

/// The parameters, in milliseconds. Every timer, timeout and validity window of
/// the Sentinel reads them from here, so `SENTINEL DEBUG` changes behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How often an instance is sent INFO (a tenth of it once a failover is under way).
    pub info_period: i64,
    /// The longest time between two PINGs to an instance.
    pub ping_period: i64,
    /// How often other Sentinels are asked whether a master is down.
    pub ask_period: i64,
    /// How often a hello message is published.
    pub publish_period: i64,
    /// `down-after-milliseconds` of a master added afterwards.
    pub default_down_after: i64,
    /// `failover-timeout` of a master added afterwards.
    pub default_failover_timeout: i64,
    /// A timer firing this much late (or early) enters TILT.
    pub tilt_trigger: i64,
    /// How long TILT lasts.
    pub tilt_period: i64,
    /// How long a replica may take to follow the promoted replica.
    pub slave_reconf_timeout: i64,
    /// The shortest time between two reconnections of an idle link.
    pub min_link_reconnect_period: i64,
    /// How long a failover waits to be elected.
    pub election_timeout: i64,
    /// A script's longest run (scripts are not run here; shown and settable).
    pub script_max_runtime: i64,
    /// The wait before a failed script is retried (likewise).
    pub script_retry_delay: i64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: crate::config::DEFAULT_DOWN_AFTER,
            default_failover_timeout: crate::config::DEFAULT_FAILOVER_TIMEOUT,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

impl Timing {
    /// Each parameter's name as `SENTINEL DEBUG` takes it, and its field.
    fn fields(&mut self) -> [(&'static str, &mut i64); 13] {
        [
            ("info-period", &mut self.info_period),
            ("ping-period", &mut self.ping_period),
            ("ask-period", &mut self.ask_period),
            ("publish-period", &mut self.publish_period),
            ("default-down-after", &mut self.default_down_after),
            ("default-failover-timeout", &mut self.default_failover_timeout),
            ("tilt-trigger", &mut self.tilt_trigger),
            ("tilt-period", &mut self.tilt_period),
            ("slave-reconf-timeout", &mut self.slave_reconf_timeout),
            ("min-link-reconnect-period", &mut self.min_link_reconnect_period),
            ("election-timeout", &mut self.election_timeout),
            ("script-max-runtime", &mut self.script_max_runtime),
            ("script-retry-delay", &mut self.script_retry_delay),
        ]
    }

    /// `SENTINEL DEBUG [<param> <value> ...]`: without pairs, every parameter in
    /// upper case with its value (a map in RESP3); with pairs, each applied in
    /// turn, the first bad one refused with what came before it kept.
    pub fn debug_command(&mut self, pairs: &[Vec<u8>]) -> Value {
        if pairs.is_empty() {
            let shown =
                self.fields().map(|(name, v)| (Value::bulk(name.to_ascii_uppercase()), Value::bulk(v.to_string())));
            return Value::Map(shown.into_iter().collect());
        }
        for (i, option) in pairs.iter().enumerate().step_by(2) {
            let name = String::from_utf8_lossy(option).to_ascii_lowercase();
            let (Some(value), Some((_, field))) =
                (pairs.get(i + 1), self.fields().into_iter().find(|(n, _)| *n == name))
            else {
                return Value::error(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{}'",
                    String::from_utf8_lossy(option)
                ));
            };
            match resp::parse_ll(value) {
                Some(n) if n > 0 => *field = n,
                _ => {
                    return Value::error(format!(
                        "ERR Invalid argument '{}' for SENTINEL DEBUG '{}'",
                        String::from_utf8_lossy(value),
                        String::from_utf8_lossy(option)
                    ));
                }
            }
        }
        Value::ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn debug_lists_every_parameter_in_sentinel_order() {
        let Value::Map(pairs) = Timing::default().debug_command(&[]) else { panic!("a map") };
        let names: Vec<String> = pairs.iter().map(|(k, _)| resp::render(k)).collect();
        assert_eq!(names.len(), 13);
        assert_eq!(names[0], "\"INFO-PERIOD\"");
        assert_eq!(names[12], "\"SCRIPT-RETRY-DELAY\"");
        assert_eq!(resp::render(&pairs[4].1), "\"30000\"");
    }

    #[test]
    fn debug_applies_pairs_in_turn_and_keeps_those_before_a_bad_one() {
        let mut t = Timing::default();
        assert_eq!(t.debug_command(&args("PING-PERIOD 800 ask-period 900")), Value::ok());
        assert_eq!((t.ping_period, t.ask_period), (800, 900));
        let e = t.debug_command(&args("ask-period 700 nosuch 1"));
        assert_eq!(e, Value::error("ERR Unknown option or number of arguments for SENTINEL DEBUG 'nosuch'"));
        assert_eq!(t.ask_period, 700);
        let e = t.debug_command(&args("info-period 0"));
        assert_eq!(e, Value::error("ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'"));
        let e = t.debug_command(&args("ping-period 500 info-period"));
        assert_eq!(e, Value::error("ERR Unknown option or number of arguments for SENTINEL DEBUG 'info-period'"));
        assert_eq!((t.ping_period, t.info_period), (500, 10_000));
    }
}
