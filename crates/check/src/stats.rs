//! What a history says about availability and latency, beside the verdicts:
//! per second of history time, how many operations completed `ok`, `fail`
//! or `info` (by when they completed; unfinished ones count as `info` at the
//! end), and the latency of `ok` operations at p50/p95/p99/max.

use crate::history::{Op, Outcome};
use serde::Serialize;

/// One second's completions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Second {
    /// Seconds since the first invocation.
    pub second: u64,
    /// Operations that completed `ok` in it.
    pub ok: u64,
    /// Operations that completed `fail` in it.
    pub fail: u64,
    /// Operations that completed `info` in it (or were invoked in it and never completed).
    pub info: u64,
}

/// Latency of `ok` operations, in nanoseconds (nearest rank).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// How many `ok` operations.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The slowest.
    pub max: u64,
}

/// Availability and latency of a history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Completions per second, from the first invocation's second to the last completion's.
    pub seconds: Vec<Second>,
    /// Latency of `ok` operations.
    pub latency: Latency,
}

/// The most seconds kept (a history spanning more is summarised to its first ones).
pub const MAX_SECONDS: usize = 100_000;

/// Computes a history's stats.
pub fn stats(ops: &[Op]) -> Stats {
    let Some(start) = ops.iter().map(|o| o.invoke).min() else { return Stats::default() };
    let mut seconds: Vec<Second> = Vec::new();
    for op in ops {
        let at = op.told.get().unwrap_or(op.invoke);
        let second = (at - start) / 1_000_000_000;
        let Ok(i) = usize::try_from(second) else { continue };
        if i >= MAX_SECONDS {
            continue;
        }
        if seconds.len() <= i {
            seconds.extend((seconds.len()..=i).map(|s| Second { second: s as u64, ..Second::default() }));
        }
        match op.outcome {
            Outcome::Ok => seconds[i].ok += 1,
            Outcome::Fail => seconds[i].fail += 1,
            Outcome::Info => seconds[i].info += 1,
        }
    }
    // Made at its size, not grown by doubling: 100,000s of latencies
    // reallocated were megabytes of memory touched for the first time.
    let mut latencies: Vec<u64> = Vec::with_capacity(ops.iter().filter(|o| o.outcome == Outcome::Ok).count());
    latencies
        .extend(ops.iter().filter(|o| o.outcome == Outcome::Ok).filter_map(|o| o.complete.get().map(|c| c - o.invoke)));
    Stats { seconds, latency: latency(&mut latencies) }
}

/// Nearest-rank percentiles of latencies (in any order; reordered). Each
/// rank is the element a sort would put there, found by selection: the
/// 99th's first, then the 95th's among those below it, then the median's
/// among those below that, each pass over what is left (a long run's
/// 100,000s of latencies are not sorted for three numbers).
fn latency(latencies: &mut [u64]) -> Latency {
    let n = latencies.len();
    let Some(&max) = latencies.iter().max() else { return Latency::default() };
    let index = |p: u64| ((p * n as u64).div_ceil(100) as usize).clamp(1, n) - 1;
    let (i50, i95, i99) = (index(50), index(95), index(99));
    let p99 = *latencies.select_nth_unstable(i99).1;
    let p95 = *latencies[..=i99].select_nth_unstable(i95).1;
    let p50 = *latencies[..=i95].select_nth_unstable(i50).1;
    Latency { count: n as u64, p50, p95, p99, max }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{F, Type, Value};
    use crate::testgen::{Builder, int};

    const S: u64 = 1_000_000_000;

    /// The selected ranks are those of the sorted latencies, for lengths
    /// around the percentiles' boundaries, with repeats and ties.
    #[test]
    fn selected_ranks_are_the_sorted_ones() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for n in (1..=250).chain([999, 1000, 1001, 12_345]) {
            let mut v: Vec<u64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if n % 3 == 0 { x % 7 } else { x % 1_000_000 }
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let rank = |p: u64| sorted[((p * n) as usize).div_ceil(100).clamp(1, n as usize) - 1];
            let want = Latency { count: n, p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[n as usize - 1] };
            assert_eq!(latency(&mut v), want, "n = {n}");
        }
        assert_eq!(latency(&mut []), Latency::default());
    }

    #[test]
    fn completions_are_counted_per_second_and_ok_latency_by_rank() {
        let mut b = Builder::default();
        for i in 0..100u64 {
            // Latencies 1..=100 ms, one op per client, all in the first second.
            b.op(i, F::Write, 1, int(i as i64), 0, Some((Type::Ok, int(i as i64), (i + 1) * 1_000_000)));
        }
        b.op(200, F::Write, 1, int(7), S, Some((Type::Fail, int(7), S + 5)));
        b.op(201, F::Read, 1, Value::Nil, S, Some((Type::Info, Value::Nil, 2 * S + 5)));
        b.op(202, F::Read, 1, Value::Nil, 3 * S, None);
        let h = b.done();
        let s = stats(&h.ops().unwrap());
        let per: Vec<(u64, u64, u64)> = s.seconds.iter().map(|x| (x.ok, x.fail, x.info)).collect();
        assert_eq!(per, vec![(100, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)]);
        let ms = 1_000_000;
        assert_eq!(s.latency, Latency { count: 100, p50: 50 * ms, p95: 95 * ms, p99: 99 * ms, max: 100 * ms });
        assert_eq!(stats(&[]), Stats::default());
    }
}
