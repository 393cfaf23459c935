//! SLOWLOG and LATENCY (slowlog.c, latency.c): the slow log of commands that
//! ran at least `slowlog-log-slower-than` µs, and per-command call counts
//! with their latency histogram (LATENCY HISTOGRAM). On the virtual clock a
//! command takes no time, except DEBUG SLEEP, which takes its sleep; so
//! with the default threshold only such sleeps are logged, and with
//! `slowlog-log-slower-than 0` every command is, with 0 µs. The latency
//! monitor (`latency-monitor-threshold`) stays off, as by default: LATEST,
//! HISTORY and GRAPH have no samples, DOCTOR says it is disabled.

use crate::command_table::Command;
use crate::config::Config;
use crate::server::{Client, Server};
use resp::Value;
use std::collections::{BTreeMap, VecDeque};

/// `SLOWLOG_ENTRY_MAX_ARGC`, `SLOWLOG_ENTRY_MAX_STRING`.
const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;
/// Histogram buckets: 1 µs, 2 µs, 4 µs, ... up to 2^39 µs.
const BUCKETS: usize = 40;

/// One slow log entry (`slowlogEntry`).
#[derive(Debug)]
struct Entry {
    id: u64,
    time_s: i64,
    duration_us: u64,
    args: Vec<Vec<u8>>,
    peer: String,
    name: Vec<u8>,
}

/// Calls of one command (or subcommand), how long they took, and those
/// refused before running (`rejected_calls`) or failing with an error
/// reply (`failed_calls`), for INFO commandstats and latencystats.
#[derive(Debug, Clone)]
struct Calls {
    calls: u64,
    buckets: [u64; BUCKETS],
    usec: u64,
    rejected: u64,
    failed: u64,
}

impl Default for Calls {
    fn default() -> Self {
        Calls { calls: 0, buckets: [0; BUCKETS], usec: 0, rejected: 0, failed: 0 }
    }
}

impl Calls {
    /// Whether a call was recorded in the histogram (Redis allocates a
    /// command's histogram at its first tracked call).
    fn has_histogram(&self) -> bool {
        self.buckets.iter().any(|&n| n > 0)
    }
}

/// Counts by command-table index, kept only for the commands called.
#[derive(Debug, Default)]
struct CommandCalls {
    /// Where each index's counts are in `kept` (`NONE`: never called);
    /// empty until a first call.
    at: Vec<u16>,
    kept: Vec<Calls>,
}

impl CommandCalls {
    const NONE: u16 = u16::MAX;

    fn get(&self, i: usize) -> Option<&Calls> {
        let at = *self.at.get(i)?;
        self.kept.get(usize::from(at))
    }

    fn entry(&mut self, i: usize) -> &mut Calls {
        if self.at.len() <= i {
            self.at.resize(crate::command_table::all().len().max(i + 1), Self::NONE);
        }
        if self.at[i] == Self::NONE {
            debug_assert!(self.kept.len() < usize::from(Self::NONE), "more commands than the table has");
            self.at[i] = self.kept.len() as u16;
            self.kept.push(Calls::default());
        }
        &mut self.kept[usize::from(self.at[i])]
    }

    fn clear(&mut self) {
        self.at.clear();
        self.kept.clear();
    }
}

/// The slow log and the per-command statistics.
#[derive(Debug, Default)]
pub(crate) struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
    /// Per command of the table that was called, by its index there: most
    /// servers call a handful of the table's commands, so only those have
    /// their counts and histogram (a dense table was 84 KB zeroed at each
    /// server's first command).
    calls: CommandCalls,
    /// Per subcommand (`client|list`), for container commands: by the
    /// container's index in the table and the subcommand's among its own.
    sub_calls: BTreeMap<(usize, usize), Calls>,
    /// `latency-tracking no` stops the histograms (the counts go on).
    pub(crate) untracked: bool,
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

/// The histogram bucket of a duration: the smallest power of two µs not below it.
fn bucket(duration_us: u64) -> usize {
    (duration_us.max(1).next_power_of_two().trailing_zeros() as usize).min(BUCKETS - 1)
}

impl SlowLog {
    /// The statistics of `command` (of its subcommand `args[1]`, for a container).
    fn entry(&mut self, command: &'static Command, args: &[Vec<u8>]) -> &mut Calls {
        let i = crate::command_table::index(command);
        match args.get(1).and_then(|a| crate::command_table::subcommand_position(command, a)) {
            Some(j) => self.sub_calls.entry((i, j)).or_default(),
            None => self.calls.entry(i),
        }
    }

    /// A command ran for `duration_us`: count it (`updateCommandLatencyHistogram`).
    pub(crate) fn count(&mut self, command: &'static Command, args: &[Vec<u8>], duration_us: u64) {
        let tracked = !self.untracked;
        let calls = self.entry(command, args);
        calls.calls += 1;
        calls.usec += duration_us;
        if tracked {
            calls.buckets[bucket(duration_us)] += 1;
        }
    }

    /// After a command: a reply that is an error either refused it before it
    /// ran (`rejectCommand`: arity, NOAUTH, READONLY, MOVED, OOM...) or is the
    /// command's own failure. An unknown subcommand belongs to no command.
    pub(crate) fn count_error(&mut self, command: &'static Command, args: &[Vec<u8>], reply: &Value, ran: bool) {
        let Value::Error(text) = reply else { return };
        if !ran && text.starts_with("ERR unknown subcommand") {
            return;
        }
        let calls = self.entry(command, args);
        if ran {
            calls.failed += 1;
        } else {
            calls.rejected += 1;
        }
    }

    /// CONFIG RESETSTAT: every command's statistics and histogram (`resetCommandTableStats`).
    pub(crate) fn reset_stats(&mut self) {
        self.calls.clear();
        self.sub_calls.clear();
    }

    /// INFO commandstats: a line per command (subcommands by their own name)
    /// called, refused or failed, in the table's order (a real server's
    /// follows its command dict's hashing).
    pub(crate) fn commandstats(&self) -> String {
        let mut out = String::from("# Commandstats\r\n");
        self.each(|name, c| {
            if c.calls > 0 || c.rejected > 0 || c.failed > 0 {
                let per_call = if c.calls == 0 { 0.0 } else { c.usec as f64 / c.calls as f64 };
                out.push_str(&format!(
                    "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                    c.calls, c.usec, c.rejected, c.failed
                ));
            }
        });
        out
    }

    /// INFO latencystats: the `percentiles` (`latency-tracking-info-percentiles`)
    /// of each command's durations in µs, for every command with a histogram;
    /// only the header while `latency-tracking` is off. A command that took no
    /// virtual time reads as the histogram's least value, 1 ns, as Redis
    /// records a sub-µs call.
    pub(crate) fn latencystats(&self, percentiles: &[f64]) -> String {
        let mut out = String::from("# Latencystats\r\n");
        if self.untracked {
            return out;
        }
        self.each(|name, c| {
            if c.has_histogram() {
                let shown: Vec<String> = percentiles
                    .iter()
                    .map(|&p| format!("p{}={:.3}", crate::config_table::trimmed_double(p), percentile_usec(c, p)))
                    .collect();
                out.push_str(&format!("latency_percentiles_usec_{name}:{}\r\n", shown.join(",")));
            }
        });
        out
    }

    /// Each command's statistics in the table's order, a container's by subcommand.
    fn each(&self, mut f: impl FnMut(&str, &Calls)) {
        for c in crate::command_table::all() {
            let i = crate::command_table::index(c);
            if let Some(calls) = self.calls.get(i) {
                f(c.name, calls);
            }
            for (j, s) in c.doc.subcommands.iter().enumerate() {
                if let Some(calls) = self.sub_calls.get(&(i, j)) {
                    f(s.name, calls);
                }
            }
        }
    }

    /// `slowlogPushEntryIfNeeded`, after a command of `client` ran for `duration_us`.
    pub(crate) fn push(&mut self, config: &Config, client: &Client, args: &[Vec<u8>], now_ms: i64, duration_us: u64) {
        let threshold = config.slowlog_log_slower_than;
        if threshold < 0 || duration_us < threshold as u64 {
            return;
        }
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(args.len().min(MAX_ARGC));
        for (i, a) in args.iter().enumerate() {
            if i == MAX_ARGC - 1 && args.len() > MAX_ARGC {
                kept.push(format!("... ({} more arguments)", args.len() - MAX_ARGC + 1).into_bytes());
                break;
            }
            if a.len() > MAX_STRING {
                let mut s = a[..MAX_STRING].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
                kept.push(s);
            } else {
                kept.push(a.clone());
            }
        }
        let log = self;
        log.entries.push_front(Entry {
            id: log.next_id,
            time_s: now_ms / 1000,
            duration_us,
            args: kept,
            peer: client.peer.to_string(),
            name: client.name.clone(),
        });
        log.next_id += 1;
        log.entries.truncate(config.slowlog_max_len as usize);
    }
}

impl Server {
    /// SLOWLOG GET|LEN|RESET|HELP, arity already checked.
    pub(crate) fn slowlog_command(&mut self, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"len" => Value::Integer(self.slowlog.entries.len() as i64),
            b"reset" => {
                self.slowlog.entries.clear();
                Value::ok()
            }
            b"get" => {
                let count = match args.get(2).map(|a| crate::commands::parse_int(a)) {
                    None => 10,
                    Some(Some(n)) if n >= -1 => n,
                    Some(_) => return Value::error("ERR count should be greater than or equal to -1"),
                };
                let count = if count == -1 { usize::MAX } else { count as usize };
                Value::Array(self.slowlog.entries.iter().take(count).map(entry_reply).collect())
            }
            _ => crate::modules::help(SLOWLOG_HELP),
        }
    }

    /// LATENCY DOCTOR|GRAPH|HISTORY|LATEST|RESET|HISTOGRAM|HELP, arity already checked.
    pub(crate) fn latency_command(&mut self, args: &[Vec<u8>], now_ms: i64) -> Value {
        let sub = args[1].to_ascii_lowercase();
        let now_s = now_ms.div_euclid(1000);
        match sub.as_slice() {
            b"latest" => self.latency.latest(),
            b"history" => self.latency.history(&args[2]),
            b"reset" => self.latency.reset(&args[2..]),
            b"graph" => self.latency.graph(&args[2], now_s),
            b"doctor" => {
                let (threshold, slower_than) =
                    (self.config.latency_monitor_threshold, self.config.slowlog_log_slower_than);
                Value::Verbatim(self.latency.doctor(threshold, slower_than, now_s).into_bytes())
            }
            b"histogram" => self.latency_histogram(&args[2..]),
            _ => crate::modules::help(LATENCY_HELP),
        }
    }

    /// LATENCY HISTOGRAM [command ...]: each named command (a container names
    /// its subcommands) that was called, with its cumulative histogram.
    fn latency_histogram(&self, names: &[Vec<u8>]) -> Value {
        let log = &self.slowlog;
        let mut out = Vec::new();
        let mut add = |name: &str, calls: &Calls| {
            if calls.has_histogram() {
                out.push((Value::bulk(name), histogram(calls)));
            }
        };
        let commands: Vec<&'static Command> = if names.is_empty() {
            crate::command_table::all().iter().collect()
        } else {
            names
                .iter()
                .filter_map(|n| crate::command_table::lookup(&String::from_utf8_lossy(n).to_ascii_lowercase()))
                .collect()
        };
        for c in commands {
            if c.doc.subcommands.is_empty() {
                if let Some(calls) = log.calls.get(crate::command_table::index(c)) {
                    add(c.name, calls);
                }
            } else {
                let i = crate::command_table::index(c);
                for (j, s) in c.doc.subcommands.iter().enumerate() {
                    if let Some(calls) = log.sub_calls.get(&(i, j)) {
                        add(s.name, calls);
                    }
                }
            }
        }
        Value::Map(out)
    }
}

/// The `p`th percentile of a command's durations, in µs: the upper bound of
/// the power-of-two bucket it falls in, 0.001 (1 ns) for the first bucket
/// when every such call took no time.
fn percentile_usec(calls: &Calls, p: f64) -> f64 {
    let wanted = ((p / 100.0) * calls.calls as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in calls.buckets.iter().enumerate() {
        seen += n;
        if seen >= wanted {
            return if i == 0 && calls.usec == 0 { 0.001 } else { (1u64 << i) as f64 };
        }
    }
    0.001
}

/// `{calls, histogram_usec: {bucket: cumulative count}}`, buckets with new counts only.
fn histogram(calls: &Calls) -> Value {
    let mut total = 0;
    let mut buckets = Vec::new();
    for (i, &n) in calls.buckets.iter().enumerate() {
        if n > 0 {
            total += n;
            buckets.push((Value::Integer(1 << i), Value::Integer(total as i64)));
        }
    }
    // The histogram's own count: calls made while `latency-tracking` was off are not in it.
    Value::Map(vec![
        (Value::bulk("calls"), Value::Integer(total as i64)),
        (Value::bulk("histogram_usec"), Value::Map(buckets)),
    ])
}

fn entry_reply(e: &Entry) -> Value {
    Value::Array(vec![
        Value::Integer(e.id as i64),
        Value::Integer(e.time_s),
        Value::Integer(e.duration_us as i64),
        Value::Array(e.args.iter().map(|a| Value::Bulk(a.clone())).collect()),
        Value::Bulk(e.peer.clone().into_bytes()),
        Value::Bulk(e.name.clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_kept_by_index_for_the_commands_called_only() {
        let table = crate::command_table::all().len();
        let mut calls = CommandCalls::default();
        assert!(calls.get(0).is_none() && calls.get(table - 1).is_none());
        // Called out of table order, the last index first.
        for (i, n) in [(table - 1, 3), (0, 1), (7, 2), (table - 1, 1)] {
            calls.entry(i).calls += n;
        }
        let counts: Vec<u64> = (0..table).filter_map(|i| calls.get(i)).map(|c| c.calls).collect();
        assert_eq!(counts, [1, 2, 4], "table order, each index its own counts");
        assert_eq!(calls.kept.len(), 3, "one set of counts per command called");
        calls.clear();
        assert!((0..table).all(|i| calls.get(i).is_none()));
        calls.entry(7).calls += 1;
        assert_eq!(calls.get(7).map(|c| c.calls), Some(1));
    }
}
