//! Network configuration: latency, loss, partitions. The mechanics of connections
//! live in the kernel; this module holds the knobs and the rules that read them.

use crate::rng::Rng;
use std::time::Duration;

/// One-way delay of a packet on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Every packet takes exactly this long.
    Fixed(Duration),
    /// Each packet draws uniformly from `[min, max]` (order per connection is kept anyway).
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
}

impl Latency {
    /// Draws a delay; fixed latencies draw nothing, so they cost no randomness.
    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => rng.duration_between(min, max),
        }
    }
}

/// The behaviour of a link between two endpoints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way delay.
    pub latency: Latency,
    /// Probability that a transmission is lost. TCP hides loss as delay: a lost
    /// segment is retransmitted after the retransmission timeout, so loss shows up
    /// as extra latency rather than missing bytes.
    pub loss: f64,
    /// Bytes per second one direction of one connection can carry; 0 is unlimited.
    /// Each direction of each connection is its own pipe: connections sharing a
    /// link do not slow each other down, which keeps a send's cost independent of
    /// unrelated traffic at the price of overstating aggregate throughput.
    pub bandwidth: u64,
}

// Loopback is bounded by memory copies (a few GB/s), not free, so a big snapshot
// takes time even on one host; the bridge stands for a common 1 Gbit/s NIC.
impl LinkConfig {
    /// Loopback between processes on one host: about 50 µs one way, no loss, 2 GB/s.
    pub const LOOPBACK: LinkConfig =
        LinkConfig { latency: Latency::Fixed(Duration::from_micros(50)), loss: 0.0, bandwidth: 2_000_000_000 };
    /// Between hosts on a bridge network: about 100 µs one way, no loss, 1 Gbit/s.
    pub const BRIDGE: LinkConfig =
        LinkConfig { latency: Latency::Fixed(Duration::from_micros(100)), loss: 0.0, bandwidth: 125_000_000 };
}

/// Network-wide defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetConfig {
    /// Between two processes on the same host.
    pub same_host: LinkConfig,
    /// Between processes on different hosts.
    pub cross_host: LinkConfig,
    /// Every TCP socket's send and receive buffers.
    pub buffers: SocketBuffers,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig { same_host: LinkConfig::LOOPBACK, cross_host: LinkConfig::BRIDGE, buffers: SocketBuffers::LINUX }
    }
}

/// TCP socket buffer sizes in bytes, as Linux's `net.ipv4.tcp_rmem` and
/// `net.ipv4.tcp_wmem` give them: `[min, default, max]`.
///
/// One direction of a connection holds at most the sender's send buffer plus
/// the receiver's receive buffer of bytes its reader has not read yet; a
/// write past that is refused (a short write, as a non-blocking socket's).
/// Both buffers autotune as Linux's do, from `default` up to `max`: the send
/// buffer grows with the congestion window, which on loopback reaches the cap
/// within a round trip or two, so here it jumps to `max` the first time a
/// write finds it full; the receive buffer grows with what its reader reads
/// per round trip (dynamic right-sizing), here doubling each time the reader
/// reads a quarter of it within about a millisecond. `min` is what
/// memory pressure would shrink them to, which is not modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketBuffers {
    /// `net.ipv4.tcp_rmem`: receive buffer min, default, max.
    pub rmem: [u32; 3],
    /// `net.ipv4.tcp_wmem`: send buffer min, default, max.
    pub wmem: [u32; 3],
}

impl SocketBuffers {
    /// The values read from `/proc/sys/net/ipv4/tcp_{r,w}mem` on the machine
    /// the fidelity harness runs on (Linux 6.18): `4096 131072 33554432` and
    /// `4096 16384 4194304`. With a reader stopped (SIGSTOP) on loopback, `ss -tm`
    /// there showed its receive queue at 128,717 bytes (`rb131072`) and the
    /// writer's send queue at 3,828,736 bytes (`tb4194304`): 3.96 MB held in
    /// all, where this model holds 4.33 MB (skb overhead is not modelled).
    pub const LINUX: SocketBuffers =
        SocketBuffers { rmem: [4096, 131_072, 33_554_432], wmem: [4096, 16_384, 4_194_304] };

    /// The receive buffer after `doublings` autotuning steps.
    pub(crate) fn rcvbuf(&self, doublings: u8) -> u64 {
        let grown = u64::from(self.rmem[1]).checked_shl(u32::from(doublings)).unwrap_or(u64::MAX);
        grown.min(u64::from(self.rmem[2].max(self.rmem[1])))
    }

    /// Bytes a reader reads between two looks at its speed: a quarter of
    /// its receive buffer after `doublings` steps (at most 31: the buffer
    /// stops doubling at `max`, which is under 2^31).
    pub(crate) fn rcv_growth_step(&self, doublings: u8) -> u64 {
        u64::from(self.rmem[1] >> 2).max(1) << doublings
    }

    /// The send buffer, before or after it autotuned to its max.
    pub(crate) fn sndbuf(&self, grown: bool) -> u64 {
        u64::from(if grown { self.wmem[2].max(self.wmem[1]) } else { self.wmem[1] })
    }
}

/// TCP's minimum retransmission timeout on Linux.
pub const RTO_MIN: Duration = Duration::from_millis(200);
/// TCP's maximum retransmission timeout on Linux.
pub const RTO_MAX: Duration = Duration::from_secs(120);
/// Retransmissions of data before the connection is dropped (`tcp_retries2`).
pub const DATA_RETRIES: u32 = 15;
/// First SYN retransmission delay; doubles each time.
pub const SYN_RTO: Duration = Duration::from_secs(1);
/// SYN retransmissions before `connect` fails with a timeout (`tcp_syn_retries`),
/// which gives Linux's 127 s connect timeout.
pub const SYN_RETRIES: u32 = 6;

/// Extra delay a transmission suffers from loss: each loss costs one retransmission
/// timeout, doubling like TCP's backoff.
pub(crate) fn loss_delay(loss: f64, rng: &mut Rng) -> Duration {
    let mut extra = Duration::ZERO;
    let mut rto = RTO_MIN;
    let mut tries = 0;
    while tries < DATA_RETRIES && rng.chance(loss) {
        extra += rto;
        rto = (rto * 2).min(RTO_MAX);
        tries += 1;
    }
    extra
}

/// Time to put `len` bytes onto a wire of `bandwidth` bytes/s (0: unlimited),
/// rounded up so that no non-empty packet is free.
pub(crate) fn serialization(len: usize, bandwidth: u64) -> Duration {
    if bandwidth == 0 || len == 0 {
        return Duration::ZERO;
    }
    let nanos = (len as u128 * 1_000_000_000).div_ceil(u128::from(bandwidth));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Something a partition or link setting can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// Every process on a host.
    Host(crate::HostId),
    /// One process (a node or a client), wherever it runs.
    Process(crate::ProcId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_rounds_up_and_zero_means_free_or_unlimited() {
        assert_eq!(serialization(10_000_000, 10_000_000), Duration::from_secs(1));
        assert_eq!(serialization(1, 2_000_000_000), Duration::from_nanos(1));
        assert_eq!(serialization(3, 2_000_000_000), Duration::from_nanos(2));
        assert_eq!(serialization(0, 1), Duration::ZERO);
        assert_eq!(serialization(1 << 30, 0), Duration::ZERO);
        assert_eq!(serialization(usize::MAX, 1), Duration::from_nanos(u64::MAX));
    }
}
