//! SORT against a transcript of a real Redis 7.0.15 (`redis-cli --no-raw`),
//! and where SORT's keys are for routing.

use crate::command_table::lookup;
use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_sort_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        let normalise = |s: &str| s.lines().map(str::trim_start).collect::<Vec<_>>().join("\n");
        assert_eq!(normalise(&l.cmd(cmd)), normalise(&want.replace("\\n", "\n")), "{cmd}");
    }
}

#[test]
fn sort_keys_are_the_key_and_the_last_store() {
    let keys = |line: &str| {
        let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        lookup("sort").unwrap().keys.indexes(&args).collect::<Vec<_>>()
    };
    assert_eq!(keys("sort k"), [1]);
    assert_eq!(keys("sort k store d"), [1, 3]);
    assert_eq!(keys("sort k get store store d1 limit 0 1 STORE d2"), [1, 10], "GET takes the first store");
    assert_eq!(keys("sort k by store"), [1]);
}

#[test]
fn sort_is_refused_on_a_read_only_replica_and_sort_ro_is_not() {
    let sort = lookup("sort").unwrap();
    let sort_ro = lookup("sort_ro").unwrap();
    assert!(sort.write() && !sort_ro.write(), "SORT is a write command in 7.0 (STORE), SORT_RO is not");
}
