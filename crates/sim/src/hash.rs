//! A stable 64-bit fingerprint for traces. `std`'s hashers are allowed to change
//! between releases and `HashMap`'s are randomly keyed, so the trace hash uses this
//! fixed word-wise mix instead. It is a fingerprint, not a cryptographic hash.

/// Incremental hasher whose output depends only on the bytes and words fed to it.
#[derive(Clone, Debug)]
pub struct StableHasher {
    state: u64,
}

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const MULTIPLIER: u64 = 0x0100_0000_01b3_u64.wrapping_mul(0x9e37_79b9);

/// Start values of lanes 1–3 (relative to lane 0), so that equal lanes differ.
const LANE_KEYS: [u64; 3] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9];

#[inline]
fn mix(state: u64, w: u64) -> u64 {
    (state.rotate_left(23) ^ w).wrapping_mul(MULTIPLIER | 1)
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher { state: SEED }
    }
}

impl StableHasher {
    /// Mixes in one 64-bit word.
    #[inline]
    pub fn word(&mut self, w: u64) {
        self.state = mix(self.state, w);
    }

    /// Mixes in a byte string, length first so that concatenations do not collide.
    ///
    /// Whole 32-byte blocks go through four independent lanes, folded in at the
    /// end: every delivered packet is fingerprinted, a cluster PING is 12 KiB,
    /// and one serial chain of multiplies would wait on each word in turn.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut blocks = bytes.chunks_exact(32);
        if bytes.len() >= 32 {
            let s = self.state;
            let mut lanes = [s, s ^ LANE_KEYS[0], s ^ LANE_KEYS[1], s ^ LANE_KEYS[2]];
            for block in &mut blocks {
                for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                    *lane = mix(*lane, u64::from_le_bytes(word.try_into().unwrap_or_default()));
                }
            }
            self.state = lanes[0];
            for lane in &lanes[1..] {
                self.word(*lane);
            }
        }
        let mut words = blocks.remainder().chunks_exact(8);
        for chunk in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
    }

    /// The fingerprint so far, with a final avalanche so nearby inputs differ widely.
    pub fn finish(&self) -> u64 {
        let mut x = self.state;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

/// Fingerprint of one byte string.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut h = StableHasher::default();
    h.bytes(bytes);
    h.finish()
}

/// Fingerprint of a packet's payload for the trace: XXH3-64 with seed 0.
///
/// Every delivered packet is fingerprinted and a 1,000-node cluster moves
/// gigabytes of PINGs, so this is the one digest on a hot path. XXH3 is
/// specified and frozen, so the value is the same on every machine whichever
/// of its vector paths runs. [`digest`] stays as it is: it also names the
/// random streams, and changing it would change what every run does.
pub fn packet_digest(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_fixed_across_releases() {
        // Pinned values: if these change, every recorded trace hash changes with them.
        assert_eq!(digest(b""), digest(b""));
        assert_ne!(digest(b"a"), digest(b"b"));
        assert_ne!(digest(b"ab\0"), digest(b"ab"));
        assert_eq!(format!("{:016x}", digest(b"chaoslab")), PINNED);
        // Long inputs go through the lanes: each lane and the tail still count.
        let long: Vec<u8> = (0..100u8).collect();
        assert_eq!(format!("{:016x}", digest(&long)), PINNED_LONG);
        for at in [0, 9, 18, 27, 96, 99] {
            let mut changed = long.clone();
            changed[at] ^= 1;
            assert_ne!(digest(&changed), digest(&long), "byte {at}");
        }
        let mut swapped = long.clone();
        swapped.swap(0, 8);
        assert_ne!(digest(&swapped), digest(&long), "lanes in a different order");
    }

    #[test]
    fn packet_digest_is_xxh3_64() {
        // Values of XXH3_64bits (seed 0) from the reference C implementation
        // (Python's `xxhash` 3.x binding): the empty input, then one the size
        // of a 1,000-node PING, which takes the vector path.
        assert_eq!(packet_digest(b""), 0x2d06_8005_38d3_94c2);
        let long: Vec<u8> = (0..12_656u32).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(format!("{:016x}", packet_digest(&long)), PINNED_PACKET);
        let mut changed = long.clone();
        changed[12_000] ^= 1;
        assert_ne!(packet_digest(&changed), packet_digest(&long));
    }

    const PINNED_PACKET: &str = "2c1d11ada7117523";
    const PINNED: &str = "e948a2cd38842cbe";
    const PINNED_LONG: &str = "62c3aa48a7b44521";
}
