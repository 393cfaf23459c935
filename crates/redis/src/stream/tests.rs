//! The stream model against what a real Redis 7.0.15 reports of its layout.

use super::*;

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId { ms, seq }
}

/// `radix-tree-nodes` as measured: 1 for an empty stream, 2 for one node.
#[test]
fn rax_nodes_of_few_keys() {
    assert_eq!(rax_node_count(&[]), 1);
    assert_eq!(rax_node_count(&[id(5, 0).encode()]), 2);
}

#[test]
fn ids_parse_as_redis_reads_them() {
    assert_eq!(parse_id(b"5", 7, true, false).map(|p| p.id), Some(id(5, 7)));
    assert_eq!(parse_id(b"5-*", 0, true, true), Some(ParsedId { id: id(5, 0), seq_given: false }));
    assert_eq!(parse_id(b"5-*", 0, true, false), None);
    assert_eq!(parse_id(b"-", 0, true, false), None);
    assert_eq!(parse_id(b"+", 0, false, false).map(|p| p.id), Some(StreamId::MAX));
    assert_eq!(parse_id(b"18446744073709551616-0", 0, false, false), None);
    assert_eq!(parse_id(b"-1", 0, false, false), None);
}

/// `command => reply`, in order, on one fresh server, recorded from a real
/// Redis 7.0.15 with `redis-cli --no-raw` (explicit IDs: no clock in it).
const TRANSCRIPT: &str = include_str!("../tests_stream_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = crate::tests::lab();
    let mut wrong = Vec::new();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        let want = want.replace("\\n", "\n");
        // redis-cli pads indexes when there are ten or more elements.
        let normalise = |s: &str| s.lines().map(|l| l.trim_start()).collect::<Vec<_>>().join("\n");
        let got = l.cmd(cmd);
        if normalise(&got) != normalise(&want) {
            wrong.push(format!("{cmd}\n  got:  {got:?}\n  want: {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
