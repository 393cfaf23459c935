//! SETEX, PSETEX, MSETNX, SUBSTR and INCRBYFLOAT (its long double sums and prints, its range errors) against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line).

const TRANSCRIPT: &str = include_str!("tests_strings_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}

/// Strings on both sides of the 16 bytes kept inside a key's entry
/// ([`crate::keyspace::STR_INLINE`]): grown across it by APPEND, SETRANGE,
/// SETBIT and INCR, overwritten by SET, copied by COPY. Where the bytes sit
/// must never show in a reply, an encoding or a memory figure (a real Redis
/// 7.0.15, `redis-cli --no-raw`).
const SHORT: &str = include_str!("tests_strings_short_transcript.txt");

#[test]
fn strings_across_the_inline_length_match_a_real_redis() {
    crate::tests::replay_transcript(SHORT);
}
