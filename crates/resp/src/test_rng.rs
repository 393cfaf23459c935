//! The small seeded generator the parsers' damaged-pipeline tests draw from
//! (xorshift64): the same seed gives the same pipelines on every run.

/// A xorshift64 stream; `below(n)` draws in `0..n`.
pub(crate) struct Xorshift(pub(crate) u64);

impl Xorshift {
    pub(crate) fn below(&mut self, bound: u64) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound) as usize
    }
}
