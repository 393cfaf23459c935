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

/// `list-max-listpack-size` (and its ziplist alias): a new list's quicklist
/// nodes fill by entries (capped by 8 KB) or by a size class, the list keeps
/// the fill it was created with, SORT STORE makes a list of the default fill;
/// seen through MEMORY USAGE and DUMP, against a real 7.0.15.
#[test]
fn list_sizes_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(include_str!("tests_list_size_transcript.txt"));
}

/// A list's DUMP holds its quicklist nodes as its fill made them, whatever
/// the fill is now (the payload as a real 7.0.15 wrote it; its `\n` byte
/// cannot be written in a transcript).
#[test]
fn a_list_dumps_the_nodes_its_fill_made() {
    let mut l = crate::tests::lab();
    let payload = r#""\x12\x02\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\x02\r\r\x00\x00\x00\x02\x00\x81c\x02\x81d\x02\xff\n\x00l\xd1h\x8dX\x99\xb53""#;
    assert_eq!(l.cmd("CONFIG SET list-max-listpack-size 2"), "OK");
    assert_eq!(l.cmd("RPUSH e a b c d"), "(integer) 4");
    assert_eq!(l.cmd("DUMP e"), payload);
    assert_eq!(l.cmd("CONFIG SET list-max-listpack-size -2"), "OK");
    assert_eq!(l.cmd("DUMP e"), payload);
}
