//! Seeded randomness. One `u64` seed per run; every consumer (a node, a node's
//! network stack, a client) draws from its own ChaCha stream chosen by *name*, so
//! adding a node or a client leaves every other stream exactly as it was.

use crate::hash::digest;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use std::time::Duration;

/// `x % d` for one `d` and many `x`, by multiplying with a precomputed
/// fraction instead of dividing (Lemire, Kaser and Kurz, "Faster Remainder
/// by Direct Computation", 2019: a 128-bit fraction is exact for every 64-bit
/// `x` and `d`). A gossip section draws a hundred picks with one bound, and
/// a 64-bit division takes several times as long as the multiplies.
#[derive(Clone, Copy, Debug)]
struct Modulo {
    d: u64,
    /// `ceil(2^128 / d)`, or 0 when `d` is 1 (every remainder is then 0).
    fraction: u128,
}

impl Modulo {
    fn new(d: u64) -> Modulo {
        let fraction = if d <= 1 { 0 } else { (u128::MAX / u128::from(d)).wrapping_add(1) };
        Modulo { d, fraction }
    }

    fn of(&self, x: u64) -> u64 {
        // The fractional part of x / d, as 128 bits, times d: the top 64 bits
        // of that 192-bit product are the remainder.
        let low = self.fraction.wrapping_mul(u128::from(x));
        let d = u128::from(self.d);
        let below = ((low as u64 as u128) * d) >> 64;
        let above = (low >> 64) * d;
        ((above + below) >> 64) as u64
    }
}

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

impl Rng {
    /// The stream called `name` under `seed`.
    pub fn stream(seed: u64, name: &str) -> Rng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(digest(name.as_bytes()));
        Rng { inner }
    }

    /// A uniformly random 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = Rng::zone(bound);
        self.below_in(bound, zone)
    }

    /// `n` draws of [`Rng::below`] with the same bound, the same values in the
    /// same order, without working out the rejection zone (a division) each time.
    pub fn below_each(&mut self, bound: u64, n: usize) -> impl Iterator<Item = u64> + '_ {
        let zone = Rng::zone(bound);
        let modulo = Modulo::new(bound);
        (0..n).map(move |_| {
            loop {
                let x = self.next_u64();
                if x < zone {
                    return modulo.of(x);
                }
            }
        })
    }

    /// The largest multiple of `bound` that fits in a `u64`: words at or
    /// above it are redrawn, so that every remainder is equally likely.
    fn zone(bound: u64) -> u64 {
        assert!(bound > 0, "Rng::below needs a positive bound");
        u64::MAX - (u64::MAX % bound)
    }

    fn below_in(&mut self, bound: u64, zone: u64) -> u64 {
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % bound;
            }
        }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform duration in `[min, max]`.
    pub fn duration_between(&mut self, min: Duration, max: Duration) -> Duration {
        if max <= min {
            return min;
        }
        let span = crate::time::nanos(max - min);
        min + Duration::from_nanos(self.below(span + 1))
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_name_only() {
        let a1: Vec<u64> = (0..4).map(|_| 0).scan(Rng::stream(7, "node:a"), |r, _| Some(r.next_u64())).collect();
        let a2: Vec<u64> = (0..4).map(|_| 0).scan(Rng::stream(7, "node:a"), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..4).map(|_| 0).scan(Rng::stream(7, "node:b"), |r, _| Some(r.next_u64())).collect();
        let a_other_seed: Vec<u64> =
            (0..4).map(|_| 0).scan(Rng::stream(8, "node:a"), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, a_other_seed);
    }

    #[test]
    fn below_each_draws_what_single_draws_would() {
        // A bound just over half the range: about half the words are redrawn,
        // so the two must also agree on every rejection.
        for bound in [1, 7, 1000, u64::MAX / 2 + 3] {
            let mut batched = Rng::stream(7, "t");
            let mut single = Rng::stream(7, "t");
            let many: Vec<u64> = batched.below_each(bound, 200).collect();
            let one_by_one: Vec<u64> = (0..200).map(|_| single.below(bound)).collect();
            assert_eq!(many, one_by_one);
            assert_eq!(batched.next_u64(), single.next_u64(), "the streams go on from the same word");
        }
    }

    #[test]
    fn modulo_by_multiplying_is_the_remainder() {
        let mut r = Rng::stream(3, "t");
        let edges = [0, 1, 2, 3, 999, 1000, 1001, u64::MAX - 1, u64::MAX, 1 << 63, (1 << 63) - 1, (1 << 63) + 1];
        let bounds =
            [1, 2, 3, 7, 10, 999, 1000, 1001, 1 << 32, (1 << 32) + 1, 1 << 63, (1 << 63) + 1, u64::MAX - 1, u64::MAX];
        for &d in &bounds {
            let m = Modulo::new(d);
            for &x in &edges {
                assert_eq!(m.of(x), x % d, "{x} % {d}");
            }
        }
        for _ in 0..200_000 {
            let d = match r.next_u64() % 3 {
                0 => r.next_u64() % 5000 + 1,
                1 => r.next_u64() >> (r.next_u64() % 64),
                _ => r.next_u64(),
            }
            .max(1);
            let x = r.next_u64();
            assert_eq!(Modulo::new(d).of(x), x % d, "{x} % {d}");
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::stream(1, "t");
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let x = r.below(5);
            assert!(x < 5);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
