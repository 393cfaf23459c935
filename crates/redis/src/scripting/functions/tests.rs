//! Functions against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`,
//! one connection per line), and what a transcript cannot show: the load
//! timeout, the busy function, replication and persistence.

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("../../tests_functions_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    let mut differ = Vec::new();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        // Library code holds newlines, which redis-cli prints as `\n` inside a
        // quoted bulk: the reply's own line breaks are escaped the same way.
        let got = l.cmd(cmd).replace('\n', "\\n");
        if got != want {
            differ.push(format!("{cmd}\n  real: {want}\n  here: {got}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
