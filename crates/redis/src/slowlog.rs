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

/// Calls of one command (or subcommand) and how long they took.
#[derive(Debug, Clone)]
struct Calls {
    calls: u64,
    buckets: [u64; BUCKETS],
}

impl Default for Calls {
    fn default() -> Self {
        Calls { calls: 0, buckets: [0; BUCKETS] }
    }
}

/// The slow log and the per-command statistics.
#[derive(Debug, Default)]
pub(crate) struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
    /// Per command of the table, by its index there.
    calls: Vec<Calls>,
    /// Per subcommand (`client|list`), for container commands.
    sub_calls: BTreeMap<&'static str, Calls>,
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

const DOCTOR_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";

/// The histogram bucket of a duration: the smallest power of two µs not below it.
fn bucket(duration_us: u64) -> usize {
    (duration_us.max(1).next_power_of_two().trailing_zeros() as usize).min(BUCKETS - 1)
}

impl SlowLog {
    /// A command ran for `duration_us`: count it (`updateCommandLatencyHistogram`).
    pub(crate) fn count(&mut self, command: &'static Command, args: &[Vec<u8>], duration_us: u64) {
        let calls = match command.doc.subcommands.iter().find(|d| {
            args.get(1)
                .is_some_and(|a| d.name.split_once('|').is_some_and(|(_, s)| a.eq_ignore_ascii_case(s.as_bytes())))
        }) {
            Some(sub) => self.sub_calls.entry(sub.name).or_default(),
            None => {
                let i = crate::command_table::index(command);
                if self.calls.len() <= i {
                    self.calls.resize(crate::command_table::all().len(), Calls::default());
                }
                &mut self.calls[i]
            }
        };
        calls.calls += 1;
        calls.buckets[bucket(duration_us)] += 1;
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
    pub(crate) fn latency_command(&mut self, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"latest" | b"history" => Value::Array(Vec::new()),
            b"reset" => Value::Integer(0),
            b"graph" => {
                Value::error(format!("ERR No samples available for event '{}'", String::from_utf8_lossy(&args[2])))
            }
            b"doctor" => Value::Verbatim(DOCTOR_DISABLED.as_bytes().to_vec()),
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
            if calls.calls > 0 {
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
                for s in c.doc.subcommands {
                    if let Some(calls) = log.sub_calls.get(s.name) {
                        add(s.name, calls);
                    }
                }
            }
        }
        Value::Map(out)
    }
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
    Value::Map(vec![
        (Value::bulk("calls"), Value::Integer(calls.calls as i64)),
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
