//! SETEX, PSETEX, MSETNX, SUBSTR and INCRBYFLOAT (its long double sums and prints, its range errors) against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line).

const TRANSCRIPT: &str = include_str!("tests_strings_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}
