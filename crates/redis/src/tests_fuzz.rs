//! Replies the fuzz group of the fidelity harness (`cargo xtask fidelity
//! --only fuzz`) found different, against a transcript of a real Redis 7.0.15
//! (`redis-cli --no-raw`, one connection per line): integers spelled "-0",
//! GETEX's key before its expire value, a string's encoding after SET over an
//! APPENDed value, SORT turning a sorted set into a skiplist, a -0 score out
//! of ZUNION/ZINTER, and LPOS's COUNT/MAXLEN errors.

const TRANSCRIPT: &str = include_str!("tests_fuzz_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}
