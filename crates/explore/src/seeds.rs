//! Which seeds an exploration runs: a range `A..B` (B excluded) or `A..=B`,
//! and the shard `I/N` of it a machine takes.

use crate::ExploreError;
use serde::{Deserialize, Serialize};

/// The seeds `--seeds` names: `first..end` (end excluded) or `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed, included.
    pub last: u64,
}

/// The most seeds one exploration runs (a typo like `1..1000000000000` is refused,
/// not started).
pub const MAX_SEEDS: u64 = 100_000_000;

impl SeedRange {
    /// Parses `A..B` (B excluded, as in Rust) or `A..=B`.
    pub fn parse(text: &str) -> Result<SeedRange, ExploreError> {
        let bad = |why: &str| {
            ExploreError::BadSeeds(format!("`{text}`: {why}; write A..B (B excluded) or A..=B, e.g. 1..101"))
        };
        let (a, b, inclusive) = match text.split_once("..=") {
            Some((a, b)) => (a, b, true),
            None => match text.split_once("..") {
                Some((a, b)) => (a, b, false),
                None => return Err(bad("not a range")),
            },
        };
        let first: u64 = a.trim().parse().map_err(|_| bad("the start is not a whole number"))?;
        let end: u64 = b.trim().parse().map_err(|_| bad("the end is not a whole number"))?;
        let last = if inclusive { Some(end) } else { end.checked_sub(1) };
        match last {
            Some(last) if last >= first => {
                if last - first >= MAX_SEEDS {
                    return Err(bad(&format!("more than {MAX_SEEDS} seeds")));
                }
                Ok(SeedRange { first, last })
            }
            _ => Err(bad("the range is empty")),
        }
    }

    /// Every seed, in order.
    pub fn seeds(self) -> Vec<u64> {
        (self.first..=self.last).collect()
    }
}

/// `--shard I/N`: of the seeds in order, those at positions I, I+N, I+2N, ...
/// (I counts from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which slice, from 0.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` with I < N.
    pub fn parse(text: &str) -> Result<Shard, ExploreError> {
        let bad = |why: &str| ExploreError::BadShard(format!("`{text}`: {why}; write I/N with 0 <= I < N, e.g. 0/4"));
        let (i, n) = text.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let index: u64 = i.trim().parse().map_err(|_| bad("I is not a whole number"))?;
        let count: u64 = n.trim().parse().map_err(|_| bad("N is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(bad("I must be below N"));
        }
        Ok(Shard { index, count })
    }

    /// This shard's seeds of `seeds`, in their order.
    pub fn take(self, seeds: &[u64]) -> Vec<u64> {
        seeds.iter().skip(self.index as usize).step_by(self.count as usize).copied().collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
