//! LPUSHX, RPUSHX, LREM, LTRIM, RPOPLPUSH, LMPOP, ZMPOP and SMISMEMBER against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line).

const TRANSCRIPT: &str = include_str!("tests_lists_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}
