//! The linearizability checker on generated and hand-made histories, and
//! against a brute-force search over every order.

use crate::history::{F, History, Op, Outcome, Type, Value};
use crate::linear::{self, search_for_test};
use crate::testgen::{Builder, Rng, int, ints, linearizable_registers};
use crate::verdict::Verdict;

const BIG: u64 = 1_000_000;

fn verdict(h: &History) -> Verdict {
    linear::check(&h.ops().expect("a well-formed history"), &h.faults, BIG).verdict
}

#[test]
fn histories_from_a_sequential_register_are_linearizable() {
    for seed in 0..300 {
        let h = linearizable_registers(seed, 1 + seed % 6, 40, 1 + (seed % 3) as i64);
        let ops = h.ops().expect("well-formed");
        let r = linear::check(&ops, &h.faults, BIG);
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed}: {:#?}", r.evidence);
        assert_eq!(r.counts["keys-valid"], r.counts["keys"], "seed {seed}");
    }
}

#[test]
fn a_read_of_a_value_never_written_is_not_linearizable() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(1, F::Read, 1, Value::Nil, 20, Some((Type::Ok, int(7), 30)));
    let h = b.done();
    let r = linear::check(&h.ops().unwrap(), &h.faults, BIG);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.counts["keys-invalid"], 1);
    let e = &r.evidence[0];
    assert!(e.what.contains("key 1 is not linearizable"), "{}", e.what);
    assert!(e.ops[0].contains("read 1 -> ok 7"), "the blocked op comes first: {:?}", e.ops);
}

#[test]
fn a_stale_read_after_a_completed_write_is_not_linearizable() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Write, 1, int(2), 20, Some((Type::Ok, int(2), 30)));
    b.op(1, F::Read, 1, Value::Nil, 40, Some((Type::Ok, int(1), 50)));
    let h = b.done();
    assert_eq!(verdict(&h), Verdict::Invalid);
    // The same read overlapping the second write may see the first value.
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Write, 1, int(2), 20, Some((Type::Ok, int(2), 45)));
    b.op(1, F::Read, 1, Value::Nil, 40, Some((Type::Ok, int(1), 50)));
    assert_eq!(verdict(&b.done()), Verdict::Valid);
}

#[test]
fn a_failed_write_never_takes_effect() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Fail, int(1), 10)));
    b.op(1, F::Read, 1, Value::Nil, 20, Some((Type::Ok, int(1), 30)));
    assert_eq!(verdict(&b.done()), Verdict::Invalid);
}

#[test]
fn an_info_write_may_take_effect_late_or_never() {
    // Seen long after the client gave up on it: fine.
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Info, int(1), 10)));
    b.op(1, F::Read, 1, Value::Nil, 20, Some((Type::Ok, Value::Nil, 30)));
    b.op(1, F::Read, 1, Value::Nil, 1000, Some((Type::Ok, int(1), 1010)));
    assert_eq!(verdict(&b.done()), Verdict::Valid);
    // Never seen: fine too.
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Info, int(1), 10)));
    b.op(1, F::Read, 1, Value::Nil, 20, Some((Type::Ok, Value::Nil, 30)));
    assert_eq!(verdict(&b.done()), Verdict::Valid);
    // But once seen it cannot be unseen.
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Info, int(1), 10)));
    b.op(1, F::Read, 1, Value::Nil, 20, Some((Type::Ok, int(1), 30)));
    b.op(1, F::Read, 1, Value::Nil, 40, Some((Type::Ok, Value::Nil, 50)));
    assert_eq!(verdict(&b.done()), Verdict::Invalid);
    // Not before its invocation.
    let mut b = Builder::default();
    b.op(1, F::Read, 1, Value::Nil, 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Write, 1, int(1), 20, None);
    assert_eq!(verdict(&b.done()), Verdict::Invalid);
}

#[test]
fn cas_applies_only_on_the_expected_value() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Cas, 1, ints(&[1, 2]), 20, Some((Type::Ok, ints(&[1, 2]), 30)));
    b.op(1, F::Read, 1, Value::Nil, 40, Some((Type::Ok, int(2), 50)));
    assert_eq!(verdict(&b.done()), Verdict::Valid);
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(3), 0, Some((Type::Ok, int(3), 10)));
    b.op(0, F::Cas, 1, ints(&[1, 2]), 20, Some((Type::Ok, ints(&[1, 2]), 30)));
    assert_eq!(verdict(&b.done()), Verdict::Invalid);
}

#[test]
fn the_smallest_failing_key_is_the_evidence_and_keys_are_independent() {
    let mut b = Builder::default();
    // Key 5: four ops, stale. Key 9: two ops, a value never written. Key 2: fine.
    b.op(0, F::Write, 5, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Write, 5, int(2), 20, Some((Type::Ok, int(2), 30)));
    b.op(0, F::Write, 5, int(3), 40, Some((Type::Ok, int(3), 50)));
    b.op(1, F::Read, 5, Value::Nil, 60, Some((Type::Ok, int(2), 70)));
    b.op(2, F::Write, 9, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(2, F::Read, 9, Value::Nil, 20, Some((Type::Ok, int(4), 30)));
    b.op(3, F::Write, 2, int(8), 0, Some((Type::Ok, int(8), 10)));
    let h = b.done();
    let r = linear::check(&h.ops().unwrap(), &h.faults, BIG);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!((r.counts["keys"], r.counts["keys-invalid"], r.counts["keys-valid"]), (3, 2, 1));
    assert!(r.evidence[0].what.starts_with("key 9 "), "smallest failing key first: {}", r.evidence[0].what);
    assert!(r.evidence[1].what.starts_with("key 5 "), "{}", r.evidence[1].what);
}

#[test]
fn an_exhausted_budget_says_unknown_not_valid() {
    let h = linearizable_registers(7, 8, 400, 1);
    let ops = h.ops().unwrap();
    let full = linear::check(&ops, &h.faults, BIG);
    assert_eq!(full.verdict, Verdict::Valid);
    let needed = full.counts["steps"];
    assert!(needed > 10, "a search that takes steps: {needed}");
    let short = linear::check(&ops, &h.faults, needed - 1);
    assert_eq!(short.verdict, Verdict::Unknown);
    assert_eq!(short.counts["keys-unknown"], 1);
    assert!(short.counts["steps"] < needed);
    assert_eq!(linear::check(&ops, &h.faults, needed).verdict, Verdict::Valid);
    // An invalid key found within the budget outweighs an unknown one.
    let mut b = Builder::default();
    b.op(0, F::Write, 9, int(1), 0, Some((Type::Ok, int(1), 10)));
    b.op(0, F::Read, 9, Value::Nil, 20, Some((Type::Ok, int(4), 30)));
    let mut bad = b.done();
    bad.events.extend(h.events.iter().map(|e| crate::history::Event {
        time: e.time + 100,
        process: e.process + 1,
        ..e.clone()
    }));
    assert_eq!(linear::check(&bad.ops().unwrap(), &[], 50).verdict, Verdict::Invalid);
}

/// Every order of `ops` that respects real time, `info` ops optional: is one legal?
fn brute_force(ops: &[&Op]) -> bool {
    fn go(ops: &[&Op], used: &mut Vec<bool>, state: &Value) -> bool {
        let pending_ok = (0..ops.len()).any(|i| !used[i] && ops[i].outcome == Outcome::Ok);
        if !pending_ok {
            return true;
        }
        for i in 0..ops.len() {
            if used[i]
                || (0..ops.len())
                    .any(|j| !used[j] && j != i && ops[j].outcome == Outcome::Ok && ops[j].precedes(ops[i]))
            {
                continue;
            }
            let op = ops[i];
            let next = match op.f {
                F::Write => Some(op.value.clone()),
                F::Read => (op.result == *state).then(|| state.clone()),
                F::Cas => {
                    let Value::Many(p) = &op.value else { unreachable!() };
                    (*state == Value::One(p[0].clone())).then(|| Value::One(p[1].clone()))
                }
                _ => unreachable!(),
            };
            if let Some(next) = next {
                used[i] = true;
                if go(ops, used, &next) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    go(ops, &mut vec![false; ops.len()], &Value::Nil)
}

/// A random small single-key history: any values, outcomes and overlaps.
/// `unique`: every write writes a new value (as workloads do), which is when
/// the search cuts branches that leave a value still to be read.
fn random_small(rng: &mut Rng, unique: bool) -> History {
    let mut b = Builder::default();
    let clients = 1 + rng.below(3);
    let mut free = vec![0u64; clients as usize];
    for _ in 0..1 + rng.below(7) {
        let p = rng.below(clients) as usize;
        if free[p] == u64::MAX {
            continue; // this client's last op never completed
        }
        let start = free[p] + rng.below(6);
        let end = start + rng.below(8);
        free[p] = end + 1;
        let written: Vec<Value> =
            b.history.events.iter().filter(|e| e.f == F::Write).map(|e| e.value.clone()).collect();
        let v = |rng: &mut Rng| match rng.below(5) {
            0 => Value::Nil,
            _ if unique && !written.is_empty() => written[rng.below(written.len() as u64) as usize].clone(),
            _ => int(1 + rng.below(3) as i64),
        };
        let fresh = b.history.events.len() as i64 + 10;
        let (f, arg) = match rng.below(6) {
            0..=1 if unique => (F::Write, int(fresh)),
            0..=1 => (F::Write, int(1 + rng.below(3) as i64)),
            2 => (F::Cas, ints(&[1 + rng.below(3) as i64, 1 + rng.below(3) as i64])),
            _ => (F::Read, Value::Nil),
        };
        let kind = [Type::Ok, Type::Ok, Type::Ok, Type::Info, Type::Fail][rng.below(5) as usize];
        let value = if f == F::Read { v(rng) } else { arg.clone() };
        let completes = !rng.chance(5);
        if !completes {
            free[p] = u64::MAX;
        }
        b.op(p as u64, f, 0, arg, start, completes.then_some((kind, value, end)));
    }
    b.done()
}

#[test]
fn the_search_agrees_with_brute_force_on_ten_thousand_small_histories() {
    agrees_with_brute_force(22, false);
}

#[test]
fn the_search_agrees_with_brute_force_when_every_write_is_unique() {
    agrees_with_brute_force(23, true);
}

fn agrees_with_brute_force(seed: u64, unique: bool) {
    let mut rng = Rng::new(seed);
    let mut invalid = 0;
    for case in 0..10_000 {
        let h = random_small(&mut rng, unique);
        let ops = h.ops().expect("well-formed");
        let kept: Vec<&Op> =
            ops.iter().filter(|o| o.outcome == Outcome::Ok || (o.outcome == Outcome::Info && !o.f.is_read())).collect();
        let (v, _) = search_for_test(&kept, BIG);
        let expected = if brute_force(&kept) { Verdict::Valid } else { Verdict::Invalid };
        assert_eq!(v, expected, "case {case}: {:#?}", h.events);
        // What the search-free register check flags is never linearizable.
        if crate::collections::registers(&ops, &[]).verdict == Verdict::Invalid {
            assert_eq!(expected, Verdict::Invalid, "case {case}: {:#?}", h.events);
        }
        invalid += usize::from(v == Verdict::Invalid);
    }
    assert!((2_000..8_000).contains(&invalid), "both verdicts are exercised: {invalid} invalid of 10000");
}

#[test]
fn twenty_concurrent_clients_on_one_key_take_steps_in_proportion_to_the_ops() {
    // Without cutting branches that leave a value still to be read (and not
    // undoing reads alone), this took millions of steps at 250 ops.
    for seed in 0..5 {
        let h = linearizable_registers(seed, 20, 2_000, 1);
        let r = linear::check(&h.ops().unwrap(), &h.faults, BIG);
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed}");
        let (ops, steps) = (r.counts["ops"], r.counts["steps"]);
        assert!(steps < 20 * ops, "seed {seed}: {steps} steps for {ops} ops");
    }
}

#[test]
fn unread_info_writes_are_left_out_of_the_search() {
    let mut b = Builder::default();
    b.op(0, F::Write, 1, int(1), 0, Some((Type::Ok, int(1), 10)));
    for p in 1..40 {
        b.op(p, F::Write, 1, int(100 + p as i64), 5, Some((Type::Info, int(100 + p as i64), 6)));
    }
    b.op(50, F::Write, 1, int(7), 20, Some((Type::Info, int(7), 30)));
    b.op(0, F::Read, 1, Value::Nil, 40, Some((Type::Ok, int(1), 50)));
    b.op(0, F::Read, 1, Value::Nil, 60, Some((Type::Ok, int(7), 70)));
    let h = b.done();
    let r = linear::check(&h.ops().unwrap(), &h.faults, BIG);
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.counts["ops"], 4, "the write of 1, the info write of 7 (read later) and the reads");
}

/// What the checker says (verdict, counts, evidence words and ops) over
/// random histories, pinned: several keys at once, values as integers or
/// strings, nil writes, `info` and `fail` ops and unfinished ones. The
/// digest is of the results of the checker as it was before its ops were
/// copied into rows (a change to how it reads ops must not move it).
#[test]
fn results_over_random_histories_are_pinned() {
    use crate::history::{Elem, Event};
    use std::hash::{Hash, Hasher};
    let mut rng = Rng::new(31);
    let mut digest = crate::fasthash::FastHasher::default();
    let (mut invalid, mut evidence) = (0, 0);
    for case in 0..3_000u64 {
        let mut h = History::default();
        for key in 0..1 + rng.below(3) as i64 {
            let strings = rng.chance(3);
            let unique = rng.chance(2);
            let part = random_small(&mut rng, unique);
            let shift = |e: &Event| e.time * 3 + key as u64;
            let as_str = |e: &Elem| match e {
                Elem::Int(n) if strings => Elem::Str(format!("v{n}").into()),
                e => e.clone(),
            };
            let value = |v: &Value| match v {
                Value::One(e) => Value::One(as_str(e)),
                Value::Many(es) => Value::Many(es.iter().map(as_str).collect()),
                Value::Nil => Value::Nil,
            };
            h.events.extend(part.events.iter().map(|e| Event {
                process: e.process + 10 * key as u64,
                key: Elem::Int(key),
                time: shift(e),
                value: value(&e.value),
                ..e.clone()
            }));
        }
        h.events.sort_by_key(|e| e.time);
        let Ok(ops) = h.ops() else { continue };
        let r = linear::check(&ops, &h.faults, if case % 7 == 0 { 3 } else { BIG });
        invalid += usize::from(r.verdict == Verdict::Invalid);
        evidence += r.evidence.len();
        format!("{r:?}").hash(&mut digest);
    }
    assert!(invalid > 300 && evidence > 300, "{invalid} invalid, {evidence} evidence");
    assert_eq!(format!("{:016x}", digest.finish()), "368776f4f0a2572f", "{invalid} invalid, {evidence} evidence");
}
