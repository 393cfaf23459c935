//! HyperLogLog commands against a transcript of a real Redis 7.0.15
//! (`redis-cli --no-raw`: the strings' bytes, the estimates, sparse to dense
//! at 3000 bytes, DUMP, the corrupt and foreign values), and properties of
//! the representation.

use super::repr::{self, REGISTERS};
use crate::keyspace::{Db, Exec, Feed};
use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_hll_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    let mut l = lab();
    for line in TRANSCRIPT.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        // A DUMP is one quoted string whose RDB version byte redis-cli prints as `\n`.
        let want = if cmd.starts_with("DUMP") { want.to_owned() } else { want.replace("\\n", "\n") };
        assert_eq!(l.cmd(cmd), want, "{cmd}");
    }
}

/// Runs each command on one master dataset and returns those it propagated,
/// space-joined.
fn propagated(lines: &[&str]) -> Vec<String> {
    let mut dbs = vec![Db::default(); 16];
    let mut out = Vec::new();
    for line in lines {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut feed = Feed::default();
        let mut x = Exec::new(&mut dbs, &mut feed, true, 0, 1000);
        crate::commands::keyspace_named(&String::from_utf8_lossy(&args[0]).to_ascii_lowercase(), &args, &mut x);
        if !feed.bytes.is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

/// What a real 7.0.15 master sent its replica for the same commands: PFCOUNT
/// when it refreshed the cached cardinality, PFDEBUG when it turned an HLL
/// dense, PFADD only when it changed something.
#[test]
fn propagation_matches_a_real_master() {
    let run = [
        "PFADD h a b c",
        "PFCOUNT h",
        "PFCOUNT h",
        "PFADD h a",
        "PFADD h2 x",
        "PFCOUNT h h2",
        "PFMERGE h3 h h2",
        "PFDEBUG GETREG h3",
        "PFDEBUG TODENSE h",
        "PFDEBUG ENCODING h",
        "PFDEBUG DECODE h2",
        "PFADD h",
        "PFDEBUG TODENSE h3",
        "PFDEBUG GETREG h2",
    ];
    let sent = [
        "PFADD h a b c",
        "PFCOUNT h",
        "PFADD h2 x",
        "PFMERGE h3 h h2",
        "PFDEBUG GETREG h3",
        "PFDEBUG TODENSE h",
        "PFDEBUG GETREG h2",
    ];
    assert_eq!(propagated(&run), sent);
}

#[test]
fn getreg_turns_the_hll_dense_and_lists_every_register() {
    let mut l = lab();
    assert_eq!(l.cmd("pfadd h a"), "(integer) 1");
    assert_eq!(l.cmd("pfdebug encoding h"), "sparse");
    let regs = l.cmd("pfdebug getreg h");
    assert_eq!(regs.lines().count(), REGISTERS);
    // "a" falls in one register with a run of 2, every other register is 0.
    assert_eq!(regs.lines().filter(|r| !r.ends_with(") (integer) 0")).count(), 1);
    assert_eq!(l.cmd("pfdebug encoding h"), "dense");
    assert_eq!(l.cmd("pfcount h"), "(integer) 1");
}

fn hll_of(elements: &[u64]) -> crate::keyspace::Str {
    let mut s = repr::new_sparse();
    for e in elements {
        repr::add(&mut s, &e.to_le_bytes(), repr::SPARSE_MAX_BYTES).expect("valid");
    }
    s
}

/// `n` elements drawn from a seeded splitmix64, a few of them repeated.
fn elements(seed: u64, n: usize) -> Vec<u64> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n).map(|_| next() % (n as u64 * 4 + 1)).collect()
}

/// Sparse and dense forms of the same registers count the same, and a
/// sparse one never outgrows 3000 bytes, over sizes from empty to past the
/// promotion.
#[test]
fn sparse_and_dense_count_alike() {
    for seed in 0..40u64 {
        let sparse = hll_of(&elements(seed, (seed * 97 % 2600) as usize));
        let mut dense = sparse.clone();
        repr::to_dense(&mut dense).expect("valid");
        assert_eq!(repr::count(&sparse), repr::count(&dense), "seed {seed}");
        assert!(repr::is_dense(&sparse) || sparse.len() <= repr::SPARSE_MAX_BYTES, "seed {seed}");
    }
}

/// Merging two HLLs gives the registers, and the count, of the HLL of the
/// union.
#[test]
fn merge_is_the_union() {
    for seed in 0..24u64 {
        let a = elements(seed, (seed * 53 % 700) as usize);
        let b = elements(seed + 1000, (seed * 31 % 900) as usize);
        let mut max = [0u8; REGISTERS];
        repr::merge_into(&mut max, &hll_of(&a)).expect("valid");
        repr::merge_into(&mut max, &hll_of(&b)).expect("valid");
        let union: Vec<u64> = a.iter().chain(&b).copied().collect();
        let mut both = [0u8; REGISTERS];
        repr::merge_into(&mut both, &hll_of(&union)).expect("valid");
        assert_eq!(max, both, "seed {seed}");
        assert_eq!(Ok(repr::count_registers(&max)), repr::count(&hll_of(&union)), "seed {seed}");
    }
}

/// `hll-sparse-max-bytes` as a real 7.0.15 applies it (measured: at 60, one
/// PFADD of a new element at a time, e1..e20): the sparse form grows 3 bytes
/// an element to 60 bytes at e14, and e15 turns it dense (12,304 bytes);
/// `1k` reads back as 1000, `-1` is not a memory value.
#[test]
fn hll_sparse_max_bytes_sets_when_a_sparse_hll_turns_dense() {
    let mut l = crate::tests::lab();
    assert_eq!(l.cmd("config set hll-sparse-max-bytes 60"), "OK");
    for i in 1..=20 {
        l.cmd(&format!("pfadd h e{i}"));
        let want = if i <= 14 { ("sparse", 18 + 3 * i) } else { ("dense", 12_304) };
        let got = (l.cmd("pfdebug encoding h"), l.cmd("strlen h"));
        assert_eq!(got, (want.0.to_string(), format!("(integer) {}", want.1)), "after e{i}");
    }
    assert_eq!(l.cmd("config set hll-sparse-max-bytes 1k"), "OK");
    assert_eq!(l.cmd("config get hll-sparse-max-bytes"), "1) \"hll-sparse-max-bytes\"\n2) \"1000\"");
    assert_eq!(
        l.cmd("config set hll-sparse-max-bytes -1"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'hll-sparse-max-bytes') - argument must be a memory value"
    );
    assert_eq!(l.cmd("pfselftest"), "OK");
}
