//! The latency monitor (latency.c): with `latency-monitor-threshold` above
//! zero, a command that took at least that many ms is a sample of the event
//! `command` (`fast-command` for a command flagged fast). Each event keeps the
//! last 160 seconds that had a sample (the worst of each second) and its
//! all-time worst; LATENCY LATEST, HISTORY, RESET, GRAPH and DOCTOR read them
//! as Redis 7.0.15 does (texts taken from what a real one answers).

use resp::Value;
use std::collections::BTreeMap;

/// Seconds of history per event (`LATENCY_TS_LEN`).
const HISTORY: usize = 160;
/// Columns of a LATENCY GRAPH (`LATENCY_GRAPH_COLS`).
const GRAPH_COLS: usize = 80;

/// One second's worst latency (a `time` of 0 is an empty slot).
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    time: i64,
    latency: u64,
}

/// An event's ring of samples (`latencyTimeSeries`).
#[derive(Clone, Debug)]
struct Series {
    next: usize,
    max: u64,
    samples: [Sample; HISTORY],
}

impl Series {
    /// Samples from the oldest.
    fn in_order(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..HISTORY).map(move |j| self.samples[(self.next + j) % HISTORY]).filter(|s| s.time != 0)
    }

    fn last(&self) -> Sample {
        self.samples[(self.next + HISTORY - 1) % HISTORY]
    }
}

/// Every event's series, in name order (Redis walks its dict).
#[derive(Clone, Debug, Default)]
pub(crate) struct LatencyMonitor {
    events: BTreeMap<&'static str, Series>,
}

impl LatencyMonitor {
    /// `latencyAddSampleIfNeeded`: a command of `latency_ms` ended at `now_s`.
    pub(crate) fn command_ran(&mut self, threshold_ms: u64, fast: bool, latency_ms: u64, now_s: i64) {
        if threshold_ms > 0 && latency_ms >= threshold_ms {
            self.add(if fast { "fast-command" } else { "command" }, latency_ms, now_s);
        }
    }

    /// `latencyAddSample`: a second keeps its worst sample.
    fn add(&mut self, event: &'static str, latency: u64, now_s: i64) {
        let series =
            self.events.entry(event).or_insert(Series { next: 0, max: 0, samples: [Sample::default(); HISTORY] });
        series.max = series.max.max(latency);
        let prev = (series.next + HISTORY - 1) % HISTORY;
        if series.samples[prev].time == now_s {
            series.samples[prev].latency = series.samples[prev].latency.max(latency);
            return;
        }
        series.samples[series.next] = Sample { time: now_s, latency };
        series.next = (series.next + 1) % HISTORY;
    }

    /// LATENCY LATEST: `[event, time, latest ms, all-time max ms]` per event.
    pub(crate) fn latest(&self) -> Value {
        let row = |(name, s): (&&str, &Series)| {
            let last = s.last();
            Value::Array(vec![
                Value::bulk(*name),
                Value::Integer(last.time),
                Value::Integer(last.latency as i64),
                Value::Integer(s.max as i64),
            ])
        };
        Value::Array(self.events.iter().map(row).collect())
    }

    /// LATENCY HISTORY event: `[time, ms]` from the oldest.
    pub(crate) fn history(&self, event: &[u8]) -> Value {
        let Some(series) = self.find(event) else { return Value::Array(Vec::new()) };
        let pair = |s: Sample| Value::Array(vec![Value::Integer(s.time), Value::Integer(s.latency as i64)]);
        Value::Array(series.in_order().map(pair).collect())
    }

    /// LATENCY RESET [event ...]: how many events were dropped.
    pub(crate) fn reset(&mut self, events: &[Vec<u8>]) -> Value {
        if events.is_empty() {
            let n = self.events.len();
            self.events.clear();
            return Value::Integer(n as i64);
        }
        let mut dropped = 0;
        for event in events {
            let name = self.events.keys().find(|k| k.as_bytes().eq_ignore_ascii_case(event)).copied();
            if let Some(name) = name {
                self.events.remove(name);
                dropped += 1;
            }
        }
        Value::Integer(dropped)
    }

    fn find(&self, event: &[u8]) -> Option<&Series> {
        self.events.iter().find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(event)).map(|(_, s)| s)
    }

    /// LATENCY GRAPH event (`latencyCommandGenSparkeline`): the samples as an
    /// ASCII sparkline four rows high, each labelled with how long ago it was.
    pub(crate) fn graph(&self, event: &[u8], now_s: i64) -> Value {
        let Some(series) = self.find(event) else {
            let name = String::from_utf8_lossy(event);
            return Value::error(format!("ERR No samples available for event '{name}'"));
        };
        let samples: Vec<Sample> = series.in_order().collect();
        let (low, high) = samples.iter().fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s.latency), hi.max(s.latency)));
        let name = String::from_utf8_lossy(event);
        let mut out = format!("{name} - high {high} ms, low {low} ms (all time high {} ms)\n", series.max);
        out.push_str(&"-".repeat(GRAPH_COLS));
        out.push('\n');
        let points: Vec<(f64, String)> =
            samples.iter().map(|s| (s.latency as f64, ago_label(now_s - s.time))).collect();
        out.push_str(&sparkline(&points, GRAPH_COLS, 4));
        Value::Verbatim(out.into_bytes())
    }

    /// LATENCY DOCTOR (`createLatencyReport`) for the events this node can
    /// have: `command` and `fast-command`.
    pub(crate) fn doctor(&self, threshold_ms: u64, slowlog_slower_than_us: i64, now_s: i64) -> String {
        if self.events.is_empty() && threshold_ms == 0 {
            return DISABLED.to_owned();
        }
        if self.events.is_empty() {
            return NO_SPIKES.to_owned();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        let mut advice = Advice::default();
        for (n, (name, series)) in self.events.iter().enumerate() {
            let stats = Stats::of(series, now_s);
            out.push_str(&format!(
                "{}. {name}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.\n",
                n + 1,
                stats.samples,
                stats.avg,
                stats.mad,
                stats.period as f64 / stats.samples as f64,
                series.max
            ));
            match *name {
                "command" if slowlog_slower_than_us < 0 => advice.slowlog_enable = true,
                "command" if slowlog_slower_than_us / 1000 > threshold_ms as i64 => advice.slowlog_tune = true,
                _ => {}
            }
            advice.slowlog_inspect |= *name == "command";
            advice.scheduler |= *name == "fast-command";
        }
        out.push_str("\nI have a few advices for you:\n\n");
        advice.write(&mut out, threshold_ms);
        out
    }
}

/// What DOCTOR advises for the events seen.
#[derive(Default)]
struct Advice {
    slowlog_enable: bool,
    slowlog_tune: bool,
    slowlog_inspect: bool,
    scheduler: bool,
}

impl Advice {
    fn write(&self, out: &mut String, threshold_ms: u64) {
        let us = threshold_ms * 1000;
        if self.slowlog_enable {
            out.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
        }
        if self.slowlog_tune {
            out.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {us}'.\n"));
        }
        if self.slowlog_inspect {
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if self.scheduler {
            out.push_str(SCHEDULER);
        }
        if self.slowlog_inspect {
            out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
    }
}

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";

const NO_SPIKES: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";

const SCHEDULER: &str = "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";

/// `analyzeLatencyForEvent`: count, mean, mean absolute deviation (integer
/// ms) and the seconds since the oldest sample (at least 1).
struct Stats {
    samples: u64,
    avg: u64,
    mad: u64,
    period: i64,
}

impl Stats {
    fn of(series: &Series, now_s: i64) -> Stats {
        let samples: Vec<Sample> = series.in_order().collect();
        let n = samples.len() as u64;
        let avg = samples.iter().map(|s| s.latency).sum::<u64>() / n.max(1);
        let mad = samples.iter().map(|s| avg.abs_diff(s.latency)).sum::<u64>() / n.max(1);
        let oldest = samples.iter().map(|s| s.time).min().unwrap_or(now_s);
        Stats { samples: n, avg, mad, period: (now_s - oldest).max(1) }
    }
}

/// How long ago, as the graph labels it: `12s`, `3m`, `2h`, `1d`.
fn ago_label(elapsed: i64) -> String {
    match elapsed {
        e if e < 60 => format!("{e}s"),
        e if e < 3600 => format!("{}m", e / 60),
        e if e < 86_400 => format!("{}h", e / 3600),
        e => format!("{}d", e / 86_400),
    }
}

/// An ASCII sparkline with filled columns (sparkline.c's `SPARKLINE_FILL`
/// rendering): `rows` rows of three steps each (`_`, `o`, `#`, and `|` below
/// a column's top), then a blank row and each sample's label written
/// downwards; a sequence longer than `columns` continues below, after a
/// blank line.
fn sparkline(points: &[(f64, String)], columns: usize, rows: usize) -> String {
    let mut out = String::new();
    for (i, chunk) in points.chunks(columns).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_range(&mut out, points, chunk, rows);
    }
    out
}

fn render_range(out: &mut String, all: &[(f64, String)], chunk: &[(f64, String)], rows: usize) {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let min = all.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let max = all.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let span = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let step_of = |v: f64| (((v - min) * steps as f64) as i64 as f64 / span) as i64;
    for row in 0..rows {
        let line: String = chunk
            .iter()
            .map(|(v, _)| {
                let step = step_of(*v).clamp(0, steps - 1);
                let index = step - ((rows - row - 1) * FILL.len()) as i64;
                match index {
                    i if (0..FILL.len() as i64).contains(&i) => FILL[i as usize],
                    i if i >= FILL.len() as i64 => '|',
                    _ => ' ',
                }
            })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    // A row of margin above the labels, then the labels downwards.
    out.push_str(&" ".repeat(chunk.len()));
    out.push('\n');
    let longest = chunk.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for at in 0..longest {
        let line: String = chunk.iter().map(|(_, l)| l.as_bytes().get(at).map_or(' ', |&b| b as char)).collect();
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real 7.0.15's LATENCY GRAPH of three samples (200 ms 3 s ago,
    /// 150 ms 2 s ago, 300 ms just now), byte for byte.
    #[test]
    fn graph_renders_as_redis_does() {
        let mut m = LatencyMonitor::default();
        for (latency, at) in [(200, 1000), (150, 1001), (300, 1003)] {
            m.command_ran(100, false, latency, at);
        }
        let Value::Verbatim(text) = m.graph(b"command", 1003) else { panic!() };
        let want = format!(
            "command - high 300 ms, low 150 ms (all time high 300 ms)\n{}\n  #\n  |\no |\n|_|\n   \n320\nsss\n",
            "-".repeat(80)
        );
        assert_eq!(String::from_utf8(text).unwrap(), want);
    }

    /// The samples of one second keep their worst; LATEST, HISTORY and DOCTOR
    /// as a real 7.0.15 gave them for 200 ms and 150 ms in one second and
    /// 123 ms in the next (average 161, deviation 38, period 0.50 s).
    #[test]
    fn a_second_keeps_its_worst_and_doctor_reports_it() {
        let mut m = LatencyMonitor::default();
        m.command_ran(100, false, 99, 10);
        assert!(m.events.is_empty(), "below the threshold");
        for (latency, at) in [(200, 10), (150, 10), (123, 11)] {
            m.command_ran(100, false, latency, at);
        }
        assert_eq!(
            resp::render(&m.history(b"COMMAND")),
            "1) 1) (integer) 10\n   2) (integer) 200\n2) 1) (integer) 11\n   2) (integer) 123"
        );
        assert_eq!(
            resp::render(&m.latest()),
            "1) 1) \"command\"\n   2) (integer) 11\n   3) (integer) 123\n   4) (integer) 200"
        );
        let doctor = m.doctor(100, 10_000, 11);
        assert!(doctor.contains("\n\n1. command: 2 latency spikes (average 161ms, mean deviation 38ms, period 0.50 sec). Worst all time event 200ms.\n\nI have a few advices for you:\n\n- Check your Slow Log"), "{doctor}");
        assert!(doctor.ends_with("try to fragment those objects into multiple smaller objects.\n"));
        assert_eq!(m.reset(&[b"command".to_vec(), b"nosuch".to_vec()]), Value::Integer(1));
        assert_eq!(m.doctor(100, 10_000, 11), NO_SPIKES);
        assert_eq!(m.doctor(0, 10_000, 11), DISABLED);
    }

    #[test]
    fn history_keeps_the_last_160_seconds() {
        let mut m = LatencyMonitor::default();
        for at in 1..=200 {
            m.command_ran(1, false, at as u64, at);
        }
        let Value::Array(rows) = m.history(b"command") else { panic!() };
        assert_eq!(rows.len(), HISTORY);
        assert_eq!(resp::render(&rows[0]), "1) (integer) 41\n2) (integer) 41");
    }
}
