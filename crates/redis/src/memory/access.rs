//! Each key's access field as Redis keeps it in `robj.lru` (24 bits): the
//! LRU clock in seconds, or under an LFU policy the last decrement time in
//! minutes (16 bits) and a logarithmic counter (8 bits). One field, read
//! by whichever policy is set now, so switching policies at runtime reads
//! the other policy's bits for a while, as in Redis.

/// `LRU_CLOCK_MAX`: the LRU clock wraps at 24 bits.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// `LFU_INIT_VAL`: a new key's counter, so it is not evicted at once.
pub(crate) const LFU_INIT_VAL: u32 = 5;

/// How the keys a command looks up are touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clock {
    /// LRU policies and the others: the field is the LRU clock.
    Lru,
    /// `allkeys-lfu`, `volatile-lfu`: `lfu-log-factor`, `lfu-decay-time`.
    Lfu { log_factor: u64, decay_time: u64 },
}

/// What a command's key lookups do to the keys' access fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// The policy's clock.
    pub(crate) clock: Clock,
    /// A child (BGSAVE, AOF rewrite) runs: lookups leave the fields alone
    /// (`lookupKey` skips the update to spare copy-on-write pages).
    pub(crate) frozen: bool,
    /// A draw from the process's seeded stream for LFU's probabilistic increments.
    pub(crate) seed: u64,
}

impl Default for Access {
    fn default() -> Access {
        Access { clock: Clock::Lru, frozen: false, seed: 0 }
    }
}

impl Access {
    /// A new key's field (`createObject`): the LRU clock, or LFU's minutes and `LFU_INIT_VAL`.
    pub(crate) fn created(&self, now_ms: i64) -> u32 {
        match self.clock {
            Clock::Lru => lru_clock(now_ms),
            Clock::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL,
        }
    }

    /// The field after a lookup (`lookupKey`'s `updateLFU` or `LRU_CLOCK()`).
    pub(crate) fn touched(&mut self, field: u32, now_ms: i64) -> u32 {
        if self.frozen {
            return field;
        }
        match self.clock {
            Clock::Lru => lru_clock(now_ms),
            Clock::Lfu { log_factor, decay_time } => {
                let counter = lfu_decayed(field, now_ms, decay_time);
                let counter = self.log_incr(counter, log_factor);
                (lfu_minutes(now_ms) << 8) | counter
            }
        }
    }

    /// `LFULogIncr`: one more with probability 1 / ((counter - 5) × factor + 1), up to 255.
    fn log_incr(&mut self, counter: u32, log_factor: u64) -> u32 {
        if counter == 255 {
            return 255;
        }
        let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if p >= 1.0 || self.draw() < p { counter + 1 } else { counter }
    }

    /// A uniform draw in [0, 1) from the seed (splitmix64 steps).
    fn draw(&mut self) -> f64 {
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `LRU_CLOCK()`: seconds of the node's clock, 24 bits.
pub(crate) fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms.max(0) / 1000) as u64 & u64::from(LRU_CLOCK_MAX)) as u32
}

/// `LFUGetTimeInMinutes`: minutes of the node's clock, 16 bits.
fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms.max(0) / 60_000) as u64 & 0xffff) as u32
}

/// `estimateObjectIdleTime`: ms since the field's LRU clock, across a wrap.
pub(crate) fn idle_ms(field: u32, now_ms: i64) -> u64 {
    let now = lru_clock(now_ms);
    let secs = if now >= field { now - field } else { now + (LRU_CLOCK_MAX - field) };
    u64::from(secs) * 1000
}

/// `LFUDecrAndReturn`: the counter less one per `decay_time` minutes since
/// its last decrement (0: never decays).
pub(crate) fn lfu_decayed(field: u32, now_ms: i64, decay_time: u64) -> u32 {
    let (then, counter) = (field >> 8, field & 0xff);
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= then { now - then } else { 65_535 - then + now };
    let periods = u64::from(elapsed).checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(u32::try_from(periods).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counts_from_five_and_the_first_step_is_certain() {
        let mut a = Access { clock: Clock::Lfu { log_factor: 10, decay_time: 1 }, frozen: false, seed: 7 };
        let field = a.created(120_000);
        assert_eq!(lfu_decayed(field, 120_000, 1), 5);
        let field = a.touched(field, 120_000);
        assert_eq!(lfu_decayed(field, 120_000, 1), 6, "p = 1 at the initial value");
        // Three minutes later, with one decrement per minute: 6 - 3.
        assert_eq!(lfu_decayed(field, 300_000, 1), 3);
        assert_eq!(lfu_decayed(field, 300_000, 0), 6, "lfu-decay-time 0 never decays");
    }

    #[test]
    fn lru_idle_time_in_seconds_across_the_clock_wrap() {
        let a = Access::default();
        let field = a.created(5_000);
        assert_eq!(idle_ms(field, 17_900), 12_000);
        let before_wrap = i64::from(LRU_CLOCK_MAX) * 1000 - 2000;
        let field = a.created(before_wrap);
        assert_eq!(idle_ms(field, before_wrap + 5000), 4000, "Redis's wrap arithmetic loses one second");
    }

    #[test]
    fn frozen_lookups_leave_the_field() {
        let mut a = Access { frozen: true, ..Access::default() };
        assert_eq!(a.touched(42, 1_000_000), 42);
    }
}
