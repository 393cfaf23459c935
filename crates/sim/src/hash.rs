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

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher { state: SEED }
    }
}

impl StableHasher {
    /// Mixes in one 64-bit word.
    #[inline]
    pub fn word(&mut self, w: u64) {
        self.state = (self.state.rotate_left(23) ^ w).wrapping_mul(MULTIPLIER | 1);
    }

    /// Mixes in a byte string, length first so that concatenations do not collide.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
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
    }

    const PINNED: &str = "e948a2cd38842cbe";
}
