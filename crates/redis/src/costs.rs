//! What a Redis server's work costs in CPU time ([`sim::Ctx::spend`]): per
//! command, per read of a socket, per byte read or fed to the replication
//! stream, per cluster bus message; its start-up time (exec, config,
//! `initServer`) and the time to load its RDB or AOF by size; and an fsync
//! waited for on the main thread. While it spends, the server reads nothing:
//! a burst of queued work (a resumed process's input, a pipeline) takes the
//! virtual time it costs, and its start-up is not instantaneous.
//!
//! The defaults were measured on real Redis 7.0.15 on the machine chaoslab
//! was built on (2 cores, loopback, ext4), each with the command in its doc.

use sim::Ctx;
use std::time::Duration;

/// A Redis server's time costs. [`Costs::default`] is the measured set,
/// [`Costs::ZERO`] the instantaneous server of chaoslab before issue 21.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// CPU per command run (call()). Measured: `redis-benchmark -t set -n
    /// 500000 -P 64 -r 100000`, the server's `used_cpu_user + used_cpu_sys`
    /// over the commands it processed: 0.80, 0.87, 0.94 µs in three runs.
    pub command: Duration,
    /// CPU per read of a socket with its reply written (the syscalls and
    /// the event loop around them): the same measure unpipelined (`-n
    /// 100000`, no `-P`) gave 2.7 and 3.1 µs per command; less a command: 2 µs.
    pub read: Duration,
    /// CPU per MiB read from a socket or fed to the replication stream.
    /// Measured: `redis-benchmark -t set -n 20000 -d 65536 -P 8`, CPU over
    /// `total_net_input_bytes`: 0.21, 0.25, 0.26 ns a byte, 262 µs a MiB.
    pub per_mib: Duration,
    /// CPU per cluster bus message read. Measured: six idle cluster nodes
    /// (`cluster-node-timeout 20`, so they ping all the time) for 15 s, one
    /// node's CPU less an idle standalone server's over the bus messages it
    /// sent and received (`cluster_stats_messages_*`).
    pub bus_message: Duration,
    /// Start-up time before the server listens (exec, config, `initServer`),
    /// drawn uniformly in `startup.0..=startup.1` at each start from the
    /// process's seeded random stream, so processes started together do not
    /// tick in lockstep. Measured: a Python loop starting `redis-server
    /// --port P --save ""` and connecting every 0.2 ms until it accepts, 18
    /// starts: 8.2 ms the least, 10.4 ms the median, 15.7 ms the 90th
    /// percentile (one outlier of 21 ms).
    pub startup: (Duration, Duration),
    /// Loading time per MiB of RDB or AOF at start. Measured: a 101 MB RDB
    /// of 1.98 million 32-byte strings loaded in 1.40 to 1.64 s (5 starts,
    /// from listening to the first PONG): 15.3 ns a byte, 16 ms a MiB.
    pub load_per_mib: Duration,
    /// An fsync the main thread waits for (`appendfsync always`, the AOF at
    /// shutdown, SAVE). Measured: `dd if=/dev/zero of=F bs=4k count=200
    /// oflag=dsync`: 0.67 to 0.75 s, 3.5 ms a write; a Python loop of 300
    /// `os.fsync` after a 100-byte append: 4.0 ms median, 0.65 ms p10.
    pub fsync: Duration,
}

impl Default for Costs {
    fn default() -> Self {
        Costs {
            command: Duration::from_nanos(1_000),
            read: Duration::from_nanos(2_000),
            per_mib: Duration::from_micros(262),
            bus_message: BUS_MESSAGE,
            startup: (Duration::from_micros(8_000), Duration::from_micros(16_000)),
            load_per_mib: Duration::from_millis(16),
            fsync: Duration::from_micros(3_500),
        }
    }
}

/// [`Costs::bus_message`]'s measured default.
const BUS_MESSAGE: Duration = Duration::from_micros(12);

impl Costs {
    /// Every cost zero: work takes no time, a start is instantaneous.
    pub const ZERO: Costs = Costs {
        command: Duration::ZERO,
        read: Duration::ZERO,
        per_mib: Duration::ZERO,
        bus_message: Duration::ZERO,
        startup: (Duration::ZERO, Duration::ZERO),
        load_per_mib: Duration::ZERO,
        fsync: Duration::ZERO,
    };

    /// `bytes` at `per_mib` a MiB.
    pub fn bytes(per_mib: Duration, bytes: usize) -> Duration {
        let nanos = (per_mib.as_nanos() * bytes as u128) >> 20;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A read of `len` bytes from a socket.
    pub(crate) fn spend_read(&self, ctx: &mut Ctx<'_>, len: usize) {
        let d = self.read + Costs::bytes(self.per_mib, len);
        if !d.is_zero() {
            ctx.spend(d);
        }
    }

    /// This start's start-up time, drawn from the process's random stream
    /// (nothing is drawn when the range is one value).
    pub(crate) fn draw_startup(&self, ctx: &mut Ctx<'_>) -> Duration {
        let (lo, hi) = self.startup;
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_nanos() as u64;
        lo + Duration::from_nanos(ctx.rng().below(span + 1))
    }
}

/// Spends `d` unless it is zero (a zero spend is a no-op, skipped to stay cheap).
pub(crate) fn spend(ctx: &mut Ctx<'_>, d: Duration) {
    if !d.is_zero() {
        ctx.spend(d);
    }
}
