//! Acknowledged-write loss, counters, sets and lists on hand-made histories.

use crate::collections;
use crate::history::{F, FaultWindow, History, Type, Value};
use crate::loss;
use crate::testgen::{Builder, int, ints};
use crate::verdict::{CheckResult, Verdict};

fn run(h: &History, f: fn(&[crate::Op], &[FaultWindow]) -> CheckResult) -> CheckResult {
    f(&h.ops().expect("well-formed"), &h.faults)
}

fn ok(v: Value, t: u64) -> Option<(Type, Value, u64)> {
    Some((Type::Ok, v, t))
}

#[test]
fn acked_set_adds_missing_at_the_end_are_lost_with_the_fault_active_then() {
    let mut b = Builder::default();
    b.op(0, F::Add, 1, int(10), 0, ok(int(10), 10));
    b.op(1, F::Add, 1, int(11), 100, ok(int(11), 110));
    b.op(2, F::Add, 1, int(12), 100, Some((Type::Info, int(12), 120)));
    b.op(0, F::ReadSet, 1, Value::Nil, 500, ok(ints(&[10]), 510));
    let mut h = b.done();
    h.faults.push(FaultWindow { name: "partition 6379 | 6380 6381".into(), start: 50, end: Some(300) });
    let r = run(&h, loss::check);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!((r.counts["acked"], r.counts["lost"]), (2, 1));
    let e = &r.evidence[0];
    assert!(e.what.contains("add 11 acknowledged on key 1 is missing"), "{}", e.what);
    assert!(e.ops[0].starts_with("#2 p1 add 1 11 -> ok"), "{:?}", e.ops);
    assert_eq!(e.faults, vec!["partition 6379 | 6380 6381".to_string()]);
    // An add acknowledged after the final read began is not judged.
    let mut b = Builder::default();
    b.op(0, F::Add, 1, int(10), 0, ok(int(10), 600));
    b.op(1, F::ReadSet, 1, Value::Nil, 500, ok(ints(&[]), 510));
    assert_eq!(run(&b.done(), loss::check).verdict, Verdict::Valid);
}

#[test]
fn lists_counters_and_registers_lose_acked_writes_too() {
    let mut b = Builder::default();
    b.op(0, F::Append, 1, int(1), 0, ok(int(1), 10));
    b.op(0, F::Append, 1, int(2), 20, ok(int(2), 30));
    b.op(1, F::ReadList, 1, Value::Nil, 100, ok(ints(&[1]), 110));
    b.op(2, F::Incr, 2, int(1), 0, ok(int(1), 10));
    b.op(2, F::Incr, 2, int(1), 20, ok(int(1), 30));
    b.op(2, F::Incr, 2, int(1), 40, ok(int(1), 50));
    b.op(3, F::ReadCounter, 2, Value::Nil, 100, ok(int(1), 110));
    b.op(4, F::Write, 3, int(5), 0, ok(int(5), 10));
    b.op(4, F::Write, 3, int(6), 20, ok(int(6), 30));
    b.op(5, F::Read, 3, Value::Nil, 100, ok(int(5), 110));
    let r = run(&b.done(), loss::check);
    assert_eq!(r.verdict, Verdict::Invalid);
    // One list element, two increments, one register write.
    assert_eq!(r.counts["lost"], 4, "{:#?}", r.evidence);
    let texts: Vec<&str> = r.evidence.iter().map(|e| e.what.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("append 2 acknowledged on key 1")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("counter 2 reads 1 at the end but 3 increments")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("write of 6 to register 3")), "{texts:?}");
}

#[test]
fn a_register_write_concurrent_with_the_surviving_one_is_not_lost() {
    let mut b = Builder::default();
    b.op(0, F::Write, 3, int(5), 0, ok(int(5), 30));
    b.op(1, F::Write, 3, int(6), 10, ok(int(6), 20));
    b.op(2, F::Read, 3, Value::Nil, 100, ok(int(5), 110));
    assert_eq!(run(&b.done(), loss::check).verdict, Verdict::Valid);
    // A final read of nil loses every acknowledged write.
    let mut b = Builder::default();
    b.op(0, F::Write, 3, int(5), 0, ok(int(5), 30));
    b.op(2, F::Read, 3, Value::Nil, 100, ok(Value::Nil, 110));
    assert_eq!(run(&b.done(), loss::check).counts["lost"], 1);
}

#[test]
fn counter_reads_lie_between_acked_and_acked_plus_info() {
    let history = |final_value: i64| {
        let mut b = Builder::default();
        b.op(0, F::Incr, 1, int(1), 0, ok(int(1), 10));
        b.op(0, F::Incr, 1, int(1), 20, ok(int(1), 30));
        b.op(1, F::Incr, 1, int(5), 0, Some((Type::Info, int(5), 40)));
        b.op(2, F::Incr, 1, int(100), 0, Some((Type::Fail, int(100), 40)));
        b.op(3, F::ReadCounter, 1, Value::Nil, 100, ok(int(final_value), 110));
        b.done()
    };
    for (value, verdict) in [(1, Verdict::Invalid), (2, Verdict::Valid), (7, Verdict::Valid), (8, Verdict::Invalid)] {
        let r = run(&history(value), collections::counters);
        assert_eq!(r.verdict, verdict, "final value {value}: {:?}", r.evidence);
    }
    let r = run(&history(8), collections::counters);
    assert_eq!((r.counts["reads-too-high"], r.counts["acked-increments"], r.counts["info-increments"]), (1, 2, 1));
    assert!(r.evidence[0].what.contains("read 8, above the possible range [2, 7]"), "{}", r.evidence[0].what);
}

#[test]
fn sets_show_unexpected_failed_yet_present_and_stale_elements() {
    let mut b = Builder::default();
    b.op(0, F::Add, 1, int(1), 0, ok(int(1), 10));
    b.op(0, F::Add, 1, int(2), 20, Some((Type::Fail, int(2), 30)));
    b.op(1, F::ReadSet, 1, Value::Nil, 40, ok(ints(&[2, 9]), 50));
    b.op(1, F::ReadSet, 1, Value::Nil, 60, ok(ints(&[1, 2, 9]), 70));
    let r = run(&b.done(), collections::sets);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.counts["unexpected"], 2, "9 in both reads");
    assert_eq!(r.counts["failed-present"], 2, "2 in both reads");
    assert_eq!(r.counts["stale-reads"], 1, "the first read misses 1");
    // Clean: nothing.
    let mut b = Builder::default();
    b.op(0, F::Add, 1, int(1), 0, ok(int(1), 10));
    b.op(1, F::ReadSet, 1, Value::Nil, 40, ok(ints(&[1]), 50));
    let r = run(&b.done(), collections::sets);
    assert_eq!((r.verdict, r.counts["reads"]), (Verdict::Valid, 1));
}

#[test]
fn lists_show_duplicates_incompatible_reads_and_reordering() {
    let mut b = Builder::default();
    b.op(0, F::Append, 1, int(1), 0, ok(int(1), 10));
    b.op(0, F::Append, 1, int(2), 20, ok(int(2), 30));
    b.op(0, F::Append, 1, int(3), 40, ok(int(3), 50));
    b.op(1, F::ReadList, 1, Value::Nil, 60, ok(ints(&[1, 3]), 70));
    b.op(1, F::ReadList, 1, Value::Nil, 80, ok(ints(&[2, 1, 3, 3]), 90));
    let r = run(&b.done(), collections::lists);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.counts["duplicated"], 1);
    assert_eq!(r.counts["incompatible-reads"], 1, "[1 3] is no prefix of [2 1 3 3]");
    assert_eq!(r.counts["reordered"], 1, "1 was acknowledged before 2 began, yet comes after it");
    assert_eq!(r.counts["stale-reads"], 1, "the first read misses 2");
    // Concurrent appends may land in either order.
    let mut b = Builder::default();
    b.op(0, F::Append, 1, int(1), 0, ok(int(1), 30));
    b.op(2, F::Append, 1, int(2), 10, ok(int(2), 20));
    b.op(1, F::ReadList, 1, Value::Nil, 60, ok(ints(&[2, 1]), 70));
    assert_eq!(run(&b.done(), collections::lists).verdict, Verdict::Valid);
}

#[test]
fn extreme_amounts_neither_overflow_nor_panic() {
    let mut b = Builder::default();
    b.op(0, F::Incr, 1, int(i64::MAX), 0, ok(int(i64::MAX), 10));
    b.op(0, F::Incr, 1, int(i64::MAX), 20, ok(int(i64::MAX), 30));
    b.op(1, F::Incr, 1, int(i64::MIN), 20, Some((Type::Info, int(i64::MIN), 30)));
    b.op(2, F::ReadCounter, 1, Value::Nil, 100, ok(int(i64::MIN), 110));
    let h = b.done();
    let r = run(&h, loss::check);
    assert_eq!((r.verdict, r.counts["lost"]), (Verdict::Invalid, u64::MAX));
    assert_eq!(run(&h, collections::counters).verdict, Verdict::Invalid);
}

#[test]
fn register_reads_of_replaced_or_unwritten_values_are_flagged_without_a_search() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, ok(int(1), 10));
    b.op(0, F::Write, 1, int(2), 20, ok(int(2), 30));
    b.op(1, F::Read, 1, Value::Nil, 40, ok(int(1), 50)); // stale: 2 replaced 1 before
    b.op(1, F::Read, 1, Value::Nil, 60, ok(int(9), 70)); // never written
    b.op(2, F::Read, 2, Value::Nil, 0, ok(Value::Nil, 5)); // nil before any write of key 2: fine
    b.op(2, F::Write, 2, int(3), 10, ok(int(3), 20));
    b.op(2, F::Read, 2, Value::Nil, 30, ok(Value::Nil, 35)); // stale nil
    let r = run(&b.done(), collections::registers);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!((r.counts["reads"], r.counts["stale-reads"], r.counts["never-written"]), (4, 2, 1));
    assert!(r.evidence[0].what.contains("register 1 read 1 after a write of 2"), "{}", r.evidence[0].what);
    // Overlapping the second write, 1 may still be read.
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, ok(int(1), 10));
    b.op(0, F::Write, 1, int(2), 20, ok(int(2), 45));
    b.op(1, F::Read, 1, Value::Nil, 40, ok(int(1), 50));
    assert_eq!(run(&b.done(), collections::registers).verdict, Verdict::Valid);
}

#[test]
fn register_reads_of_linearizable_histories_are_never_flagged() {
    for seed in 0..300 {
        let h = crate::testgen::linearizable_registers(seed, 1 + seed % 8, 60, 1 + (seed % 3) as i64);
        let r = run(&h, collections::registers);
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed}: {:#?}", r.evidence);
    }
}

/// What register-reads and acked-write-loss say (verdicts, counts, evidence)
/// over random register histories, pinned: valid ones, and ones with reads
/// made wrong (values never written, older values, nil), with reads out of
/// invocation order within a key now and then (shifted histories merged).
/// The digest is of the checkers as they were before they shared a grouping
/// and compared values by reference (a change to how they read ops must not
/// move it).
#[test]
fn register_reads_and_loss_results_over_random_histories_are_pinned() {
    use crate::history::{Elem, Value};
    use crate::testgen::{Rng, linearizable_registers};
    use std::hash::{Hash, Hasher};
    let mut rng = Rng::new(41);
    let mut digest = crate::fasthash::FastHasher::default();
    let (mut invalid, mut evidence) = (0, 0);
    for seed in 0..300u64 {
        let (n, keys) = if seed % 4 == 0 { (120, 90) } else { (400 + seed as usize * 3, 1 + seed as i64 % 7) };
        let history = linearizable_registers(seed, 1 + seed % 15, n, keys);
        let mut ops = history.ops().expect("pairs");
        let wrong = rng.below(4) * 2;
        for op in ops.iter_mut().filter(|o| o.f == F::Read) {
            if rng.chance(wrong) {
                op.result = match rng.below(3) {
                    0 => Value::One(Elem::Int(rng.below(2 * n as u64) as i64)),
                    1 => Value::Nil,
                    _ => Value::One(Elem::Int(1 + rng.below(n as u64 / 2) as i64)),
                };
            }
        }
        if seed % 5 == 1 {
            // Some ops moved later in the list: a key's reads no longer in invocation order.
            let len = ops.len();
            for _ in 0..len / 20 {
                let (a, b) = (rng.below(len as u64) as usize, rng.below(len as u64) as usize);
                ops.swap(a, b);
            }
        }
        for r in [collections::registers(&ops, &history.faults), loss::check(&ops, &history.faults)] {
            invalid += usize::from(r.verdict == Verdict::Invalid);
            evidence += r.evidence.len();
            format!("{r:?}").hash(&mut digest);
        }
    }
    assert!(invalid > 100 && evidence > 300, "{invalid} invalid, {evidence} evidence");
    assert_eq!(format!("{:016x}", digest.finish()), "d2343b28e5d61b03", "{invalid} invalid, {evidence} evidence");
}
