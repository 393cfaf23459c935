//! Seeded randomness. One `u64` seed per run; every consumer (a node, a node's
//! network stack, a client) draws from its own ChaCha stream chosen by *name*, so
//! adding a node or a client leaves every other stream exactly as it was.

use crate::hash::digest;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use std::time::Duration;

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

    /// Where the stream stands, in words drawn: with [`Rng::seek`], a caller
    /// can draw ahead on a copy and then move this stream to exactly where
    /// the draws it used left the copy.
    pub fn position(&self) -> u128 {
        self.inner.get_word_pos()
    }

    /// Moves the stream to `position` (from [`Rng::position`] of this stream or a copy).
    pub fn seek(&mut self, position: u128) {
        self.inner.set_word_pos(position);
    }

    /// A uniformly random 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "Rng::below needs a positive bound");
        let zone = u64::MAX - (u64::MAX % bound);
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
    fn a_copy_drawn_ahead_hands_its_position_back() {
        let mut real = Rng::stream(7, "t");
        real.next_u64();
        let mut ahead = real.clone();
        let drawn: Vec<(u64, u128)> = (0..40).map(|_| (ahead.below(1000), ahead.position())).collect();
        // The caller used 13 of the 40 draws: the stream continues after the 13th.
        real.seek(drawn[12].1);
        let mut replay = Rng::stream(7, "t");
        replay.next_u64();
        for &(value, _) in &drawn[..13] {
            assert_eq!(replay.below(1000), value);
        }
        assert_eq!(real.next_u64(), replay.next_u64());
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
