//! LPUSHX, RPUSHX, LREM, LTRIM, RPOPLPUSH, LMPOP, ZMPOP and SMISMEMBER against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line).

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_lists_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
    }
}
