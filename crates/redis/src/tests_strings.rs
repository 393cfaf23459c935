//! SETEX, PSETEX, MSETNX, SUBSTR and INCRBYFLOAT (its long double sums and prints, its range errors) against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line).

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_strings_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
    }
}
