//! The traffic counters INFO stats shows, kept where Redis 7.0 keeps them
//! (networking.c, replication.c) and sampled as `serverCron` samples them.
//!
//! - Bytes a client sends count as input when the server reads them
//!   (`readQueryFromClient`), the master's stream on a replica as replication
//!   input, and so does the snapshot a replica receives (`$EOF:` or `$<len>`
//!   line included). The replies of the handshake a replica reads
//!   synchronously do not count.
//! - Bytes the server writes count as output when the socket takes them: to a
//!   replica (a client that sent SYNC or PSYNC) as replication output, which
//!   leaves out the `+FULLRESYNC` / `+CONTINUE` line Redis writes straight to
//!   the socket.
//! - `total_reads_processed` counts the reads of client and master
//!   connections, `total_writes_processed` the writes to clients.
//! - Every 100 ms the cron samples the counters; the instantaneous rates are
//!   the mean of the last 16 samples (`trackInstantaneousMetric`).

/// How many samples an instantaneous rate averages (`STATS_METRIC_SAMPLES`).
const SAMPLES: usize = 16;

/// The sampled rates, in Redis's order.
#[derive(Clone, Copy)]
enum Rate {
    Commands,
    Input,
    Output,
    ReplInput,
    ReplOutput,
}

/// One sampled rate (`inst_metric[]`).
#[derive(Clone, Copy, Debug, Default)]
struct Metric {
    last_ms: i64,
    last_count: u64,
    samples: [u64; SAMPLES],
    idx: usize,
}

impl Metric {
    fn track(&mut self, now_ms: i64, count: u64) {
        let elapsed = now_ms - self.last_ms;
        let delta = count.saturating_sub(self.last_count);
        self.samples[self.idx] = if elapsed > 0 { delta * 1000 / elapsed as u64 } else { 0 };
        self.idx = (self.idx + 1) % SAMPLES;
        self.last_ms = now_ms;
        self.last_count = count;
    }

    fn mean(&self) -> u64 {
        self.samples.iter().sum::<u64>() / SAMPLES as u64
    }
}

/// The counters, reset by CONFIG RESETSTAT.
#[derive(Clone, Debug, Default)]
pub(crate) struct Traffic {
    /// `stat_net_input_bytes`: what clients sent.
    pub(crate) input: u64,
    /// `stat_net_output_bytes`: what clients were sent.
    pub(crate) output: u64,
    /// `stat_net_repl_input_bytes`: what a replica read from its master.
    pub(crate) repl_input: u64,
    /// `stat_net_repl_output_bytes`: what a master wrote to its replicas.
    pub(crate) repl_output: u64,
    /// `stat_total_reads_processed`.
    pub(crate) reads: u64,
    /// `stat_total_writes_processed`.
    pub(crate) writes: u64,
    rates: [Metric; 5],
}

/// The instantaneous rates INFO stats prints.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Rates {
    pub(crate) ops_per_sec: u64,
    pub(crate) input_kbps: f64,
    pub(crate) output_kbps: f64,
    pub(crate) repl_input_kbps: f64,
    pub(crate) repl_output_kbps: f64,
}

impl Traffic {
    /// A read from a client connection of `n` bytes.
    pub(crate) fn client_read(&mut self, n: usize) {
        self.input += n as u64;
        self.reads += 1;
    }

    /// The cron's sample (every 100 ms), given `stat_numcommands`.
    pub(crate) fn sample(&mut self, now_ms: i64, commands: u64) {
        let counts = [
            (Rate::Commands, commands),
            (Rate::Input, self.input + self.repl_input),
            (Rate::Output, self.output + self.repl_output),
            (Rate::ReplInput, self.repl_input),
            (Rate::ReplOutput, self.repl_output),
        ];
        for (rate, count) in counts {
            self.rates[rate as usize].track(now_ms, count);
        }
    }

    /// The rates as INFO shows them (bytes per second over 1024 for kbps).
    pub(crate) fn rates(&self) -> Rates {
        let kbps = |rate: Rate| self.rates[rate as usize].mean() as f64 / 1024.0;
        Rates {
            ops_per_sec: self.rates[Rate::Commands as usize].mean(),
            input_kbps: kbps(Rate::Input),
            output_kbps: kbps(Rate::Output),
            repl_input_kbps: kbps(Rate::ReplInput),
            repl_output_kbps: kbps(Rate::ReplOutput),
        }
    }

    /// CONFIG RESETSTAT (`resetServerStats`): counters to zero, every rate's
    /// samples cleared and its next sample taken from now.
    pub(crate) fn reset(&mut self, now_ms: i64) {
        *self = Traffic::default();
        for metric in &mut self.rates {
            metric.last_ms = now_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_the_mean_of_the_last_sixteen_samples() {
        let mut t = Traffic::default();
        // 1,000 commands a second for 2 s, sampled every 100 ms.
        for tick in 1..=20 {
            t.sample(tick * 100, tick as u64 * 100);
        }
        assert_eq!(t.rates().ops_per_sec, 1000);
        // Then none: after 8 quiet samples half the window is empty.
        for tick in 21..=28 {
            t.sample(tick * 100, 2000);
        }
        assert_eq!(t.rates().ops_per_sec, 500);
    }

    #[test]
    fn kbps_counts_replication_in_the_totals_and_apart() {
        let mut t = Traffic::default();
        t.sample(0, 0);
        t.repl_output = 1024 * 16;
        t.output = 1024 * 16;
        t.sample(1000, 0);
        let r = t.rates();
        assert_eq!((r.output_kbps, r.repl_output_kbps, r.input_kbps), (2.0, 1.0, 0.0));
    }

    #[test]
    fn reset_zeroes_counters_and_rates() {
        let mut t = Traffic::default();
        t.client_read(25);
        t.sample(100, 5);
        t.reset(200);
        assert_eq!((t.input, t.reads, t.rates()), (0, 0, Rates::default()));
        // The next sample measures from the reset, not from the last sample.
        t.sample(300, 16);
        assert_eq!(t.rates().ops_per_sec, 160 / SAMPLES as u64);
    }
}
