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

/// 260 entries of varied sizes, deletions and trims of every kind, then
/// XINFO (node counts) and DUMP (the listpacks byte for byte) after each.
const NODES_TRANSCRIPT: &str = include_str!("../tests_stream_nodes_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    check_transcript(TRANSCRIPT);
}

#[test]
fn node_layout_trims_and_dumps_match_a_real_redis() {
    check_transcript(NODES_TRANSCRIPT);
}

fn check_transcript(transcript: &str) {
    let mut l = crate::tests::lab();
    let mut wrong = Vec::new();
    for line in transcript.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        // Replies' lines are joined with a literal `\\n` (which DUMP's escaped
        // bytes may contain too: both sides are compared in that form), and
        // redis-cli pads indexes when there are ten or more elements.
        let normalise = |s: &str| s.split("\\n").map(str::trim_start).collect::<Vec<_>>().join("\\n");
        let got = l.cmd(cmd).replace('\n', "\\n");
        if normalise(&got) != normalise(want) {
            wrong.push(format!("{cmd}\n  got:  {got:?}\n  want: {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A stream with tombstones, groups, consumers and pending entries comes
/// back from its RDB body as it went in (DUMP/RESTORE, full sync, restart).
#[test]
fn rdb_round_trip_keeps_groups_consumers_and_pending_entries() {
    let mut s = Stream::default();
    for i in 1..=150u64 {
        let fields =
            if i % 4 == 0 { vec![(b"g".to_vec(), b"1".to_vec())] } else { vec![(b"f".to_vec(), vec![b'v'; 40])] };
        s.append(id(i, i % 2), fields, &Default::default());
    }
    assert!(s.delete(id(3, 1)) && s.delete(id(120, 0)));
    let mut g = Group { last_id: id(10, 0), entries_read: None, pel: BTreeMap::new(), consumers: BTreeMap::new() };
    for (i, who) in [(4, "alice"), (5, "bob"), (7, "alice")] {
        g.pel.insert(
            id(i, i % 2),
            Nack { consumer: who.into(), delivery_time: 1_700_000_000_000 + i as i64, delivery_count: i },
        );
        g.consumers.entry(who.as_bytes().to_vec()).or_default().pel.insert(id(i, i % 2));
    }
    g.consumers.insert(b"idle".to_vec(), Consumer { seen_time: 42, pel: BTreeSet::new() });
    s.groups.insert(b"g".to_vec(), g);
    s.groups.insert(
        b"h".to_vec(),
        Group { last_id: id(150, 0), entries_read: Some(150), pel: BTreeMap::new(), consumers: BTreeMap::new() },
    );
    let value = crate::keyspace::Data::Stream(Box::new(s));
    let bytes = crate::rdb::encode_object(&value, false);
    assert_eq!(bytes[0], 19, "RDB_TYPE_STREAM_LISTPACKS_2");
    assert_eq!(crate::rdb::decode_object(&bytes, &Default::default()).unwrap(), value);
    for cut in 1..bytes.len() {
        assert!(crate::rdb::decode_object(&bytes[..cut], &Default::default()).is_err(), "cut at {cut}");
    }
}
