//! The encodings' thresholds (`hash-max-listpack-*`, `set-max-intset-entries`,
//! `zset-max-listpack-*` and their ziplist aliases) set by CONFIG SET, against a
//! transcript of a real Redis 7.0.15 (`redis-cli --no-raw`, one connection per
//! line): when a key converts, that it never converts back, that a lowered
//! threshold waits for the next write, what MEMORY USAGE and RESTORE make of it.

const TRANSCRIPT: &str = include_str!("tests_encodings_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}
