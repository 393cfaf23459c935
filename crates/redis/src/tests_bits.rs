//! Bit commands against a transcript of a real Redis 7.0.15 (`redis-cli
//! --no-raw`), and BITOP's results worked out by hand.

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_bits_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}

#[test]
fn bitop_combines_bytes_and_pads_with_zeros() {
    let mut l = lab();
    assert_eq!(l.cmd("set b1 abc"), "OK");
    assert_eq!(l.cmd("set b2 AB"), "OK");
    assert_eq!(l.cmd("bitop and bd b1 b2"), "(integer) 3");
    assert_eq!(l.cmd("get bd"), "\"AB\\x00\"");
    assert_eq!(l.cmd("bitop or bd b1 b2 nosuchkey"), "(integer) 3");
    assert_eq!(l.cmd("get bd"), "\"abc\"");
    assert_eq!(l.cmd("bitop xor bd b1 b2"), "(integer) 3");
    assert_eq!(l.cmd("get bd"), "\"  c\"");
    assert_eq!(l.cmd("bitop not bd b1"), "(integer) 3");
    assert_eq!(l.cmd("get bd"), "\"\\x9e\\x9d\\x9c\"");
    assert_eq!(l.cmd("bitop not bd b1 b2"), "(error) ERR BITOP NOT must be called with a single source key.");
    assert_eq!(l.cmd("bitop bad bd b1"), "(error) ERR syntax error");
    assert_eq!(l.cmd("bitop and bd nosuchkey"), "(integer) 0");
    assert_eq!(l.cmd("exists bd"), "(integer) 0", "an empty result deletes the destination");
    assert_eq!(l.cmd("rpush bl a"), "(integer) 1");
    assert_eq!(
        l.cmd("bitop and bd b1 bl"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(l.cmd("set bint 12"), "OK");
    assert_eq!(l.cmd("setbit bint 0 1"), "(integer) 0");
    assert_eq!(l.cmd("get bint"), "\"\\xb12\"");
    assert_eq!(l.cmd("object encoding bint"), "\"raw\"");
}
