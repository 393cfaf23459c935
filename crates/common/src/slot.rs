//! Hash slots: which of the 16384 slots a key belongs to (CRC16/XMODEM of the key
//! or of its hash tag), as `keyHashSlot` computes it in Redis 7.0.

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16/XMODEM (polynomial 0x1021, initial 0, no reflection), the checksum Redis
/// Cluster hashes keys with.
pub fn crc16(bytes: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(bytes)
}

/// The bytes that decide a key's slot: the hash tag (what lies between the first
/// `{` and the first `}` after it) when it is not empty, otherwise the whole key.
pub fn hashed_part(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else { return key };
    let rest = &key[open + 1..];
    match rest.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &rest[..close],
        _ => key,
    }
}

/// The slot (0..16384) a key is stored in.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hashed_part(key)) & (SLOTS as u16 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn course_and_documentation_vectors() {
        for (key, slot) in [
            ("k1", 12706),
            ("k2", 449),
            ("k3", 4576),
            ("k4", 8455),
            ("abc", 7638),
            ("hello", 866),
            ("number", 7743),
            ("foo{hash_tag}", 2515),
            ("user1000", 3443),
            ("{user1000}.following", 3443),
            ("{user1}:a", 8106),
            ("", 0),
        ] {
            assert_eq!(key_slot(key.as_bytes()), slot, "{key}");
        }
    }

    #[test]
    fn hash_tag_edge_cases() {
        for (key, slot) in [
            ("{}", 15257),
            ("{}x", 10595),
            ("{}{x}", 3257),
            ("{{a}}", 10276),
            ("{{}}", 4092),
            ("foo{bar}{zap}", 5061),
            ("{a}}", 15495),
            ("}{a}", 15495),
            ("a{", 14311),
        ] {
            assert_eq!(key_slot(key.as_bytes()), slot, "{key}");
        }
        assert_eq!(hashed_part(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hashed_part(b"a{}{b}"), b"a{}{b}");
    }

    /// Every key the oracle measured on real Redis 7.0 (`CLUSTER KEYSLOT`), binary
    /// and non-ASCII keys included, gets the same slot here.
    #[test]
    fn oracle_keyslots() {
        let text = include_str!("../testdata/keyslot-oracle.tsv");
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (hex, slot) = line.split_once('\t').expect("hex<TAB>slot");
            let bytes: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            assert_eq!(key_slot(&bytes).to_string(), slot, "key {hex}");
            checked += 1;
        }
        assert_eq!(checked, 175);
    }
}
