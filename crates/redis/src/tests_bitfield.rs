//! BITFIELD and BITFIELD_RO against a transcript of a real Redis 7.0.15
//! (`redis-cli --no-raw`): every width and overflow mode at the limits of
//! i64 and u63, `#N` offsets, growth, and each error in Redis's order.

use crate::keyspace::{Db, Exec, Feed};
use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_bitfield_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}

/// What a real 7.0.15 master sent its replica: a BITFIELD that changed a
/// field, as typed; nothing for reads, nor for writes that all FAIL (even
/// when they grew the string).
#[test]
fn propagation_matches_a_real_master() {
    let run = [
        "BITFIELD bf SET u8 0 255 GET u8 0",
        "BITFIELD bf GET u8 0",
        "BITFIELD bf INCRBY u2 0 1",
        "BITFIELD bf OVERFLOW FAIL INCRBY u2 100 7",
        "BITFIELD bf OVERFLOW FAIL INCRBY u2 0 7",
        "BITFIELD_RO bf GET u8 0",
    ];
    let mut dbs = vec![Db::default(); 16];
    let mut sent = Vec::new();
    for line in run {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut feed = Feed::default();
        let mut x = Exec::new(&mut dbs, &mut feed, true, 0, 1000);
        crate::commands::keyspace_named(&String::from_utf8_lossy(&args[0]).to_ascii_lowercase(), &args, &mut x);
        if !feed.bytes.is_empty() {
            sent.push(line);
        }
    }
    assert_eq!(sent, ["BITFIELD bf SET u8 0 255 GET u8 0", "BITFIELD bf INCRBY u2 0 1"]);
}

/// Wrapping arithmetic agrees with a plain model of n-bit integers over
/// every width.
#[test]
fn wrap_is_arithmetic_modulo_the_width() {
    let mut l = lab();
    for bits in [1u32, 3, 7, 8, 13, 31, 32, 33, 62, 63] {
        let start = (1u64 << bits) - 1;
        let line = format!("bitfield w{bits} set u{bits} 5 {start} incrby u{bits} 5 3");
        let want = format!("1) (integer) 0\n2) (integer) {}", (start + 3) & ((1u64 << bits) - 1));
        assert_eq!(l.cmd(&line), want, "u{bits}");
        let min = -(1i128 << (bits.max(2) - 1));
        let line = format!("bitfield s{bits} set i{} 9 {min} incrby i{} 9 -1", bits.max(2), bits.max(2));
        let max = (1i128 << (bits.max(2) - 1)) - 1;
        assert_eq!(l.cmd(&line), format!("1) (integer) 0\n2) (integer) {max}"), "i{bits}");
    }
}
