//! The screen of set and list reads (`collections::elements`) clears exactly
//! the reads the full look finds nothing in: on generated histories with
//! every anomaly planted now and then, screened and unscreened results are
//! the same, counts, verdicts and evidence.

use crate::collections;
use crate::history::{F, History, Type, Value};
use crate::testgen::{Builder, Rng, int, ints};
use crate::verdict::CheckResult;

/// `ops` appends (or adds) and reads by 4 clients over 3 keys; a read returns
/// the key's elements so far, now and then with one anomaly: an element
/// dropped (stale), one no op tried (unexpected), one whose only try failed
/// or has not begun (failed yet present), one twice, or the list cut short.
/// A read that returns what the key's read before returned shares its
/// elements (the same `Arc`), as a workload's clients share them.
fn noisy(seed: u64, ops: usize, (write, read): (F, F)) -> History {
    let mut rng = Rng::new(seed);
    let mut b = Builder::default();
    let mut free_at = [0u64; 4];
    let mut state: Vec<Vec<i64>> = vec![Vec::new(); 3];
    let mut failed: Vec<i64> = Vec::new();
    let mut last_read: Vec<Value> = vec![Value::Nil; 3];
    for i in 0..ops as i64 {
        let p = rng.below(4) as usize;
        let start = free_at[p] + rng.below(30);
        let end = start + 1 + rng.below(60);
        free_at[p] = end + 1;
        let key = rng.below(3) as usize;
        if rng.chance(55) {
            let kind = match rng.below(12) {
                0 => Type::Fail,
                1 => Type::Info,
                _ => Type::Ok,
            };
            match kind {
                Type::Fail => failed.push(i),
                Type::Info if rng.chance(50) => {}
                _ => state[key].push(i),
            }
            b.op(p as u64, write, key as i64, int(i), start, Some((kind, int(i), end)));
            continue;
        }
        let mut seen = state[key].clone();
        match rng.below(14) {
            0 if !seen.is_empty() => {
                seen.remove(rng.below(seen.len() as u64) as usize);
            }
            1 => seen.push(1_000_000 + i),
            2 if !failed.is_empty() => seen.push(failed[rng.below(failed.len() as u64) as usize]),
            3 if !seen.is_empty() => seen.push(seen[0]),
            4 => seen.truncate(seen.len() / 2),
            5 => seen.push(i + 1 + rng.below(5) as i64),
            _ => {}
        }
        let mut value = ints(&seen);
        if last_read[key] == value {
            value = last_read[key].clone();
        }
        last_read[key] = value.clone();
        b.op(p as u64, read, key as i64, Value::Nil, start, Some((Type::Ok, value, end)));
    }
    b.done()
}

fn both(h: &History, model: (F, F)) -> (CheckResult, CheckResult) {
    let ops = h.ops().expect("well-formed");
    let (mut screened, mut full) = (CheckResult::new("lists"), CheckResult::new("lists"));
    collections::elements(&ops, &h.faults, model, true, &mut screened);
    collections::elements(&ops, &h.faults, model, false, &mut full);
    (screened, full)
}

#[test]
fn screened_reads_give_what_looking_at_every_read_gives() {
    let mut found = std::collections::BTreeMap::new();
    for model in [(F::Append, F::ReadList), (F::Add, F::ReadSet)] {
        for seed in 0..150 {
            let h = noisy(seed, 20 + (seed as usize % 7) * 40, model);
            let (screened, full) = both(&h, model);
            assert_eq!(screened, full, "seed {seed}, {model:?}");
            for (name, n) in &full.counts {
                *found.entry(*name).or_insert(0) += n;
            }
        }
    }
    for anomaly in ["unexpected", "failed-present", "stale-reads"] {
        assert!(found.get(anomaly).is_some_and(|n| *n > 20), "{anomaly} planted and found: {found:?}");
    }
}

/// `h` with every element (not key) an integer's text instead of the integer.
fn as_text(mut h: History) -> History {
    let text = |e: &crate::Elem| match e {
        crate::Elem::Int(n) => crate::Elem::Str(n.to_string().into()),
        other => other.clone(),
    };
    for e in &mut h.events {
        e.value = match &e.value {
            Value::One(x) => Value::One(text(x)),
            Value::Many(xs) => Value::Many(xs.iter().map(text).collect()),
            Value::Nil => Value::Nil,
        };
    }
    h
}

/// The whole list checker, screened (each read compared with its key's last
/// read, only reads the screen does not clear of repeats looked at for
/// duplicates) and unscreened, on the same generated histories: the same
/// counts, verdicts and evidence, with every list anomaly found somewhere.
#[test]
fn the_screened_list_checker_gives_what_the_full_one_gives() {
    let mut found = std::collections::BTreeMap::new();
    for seed in 0..150 {
        let mut h = noisy(seed, 20 + (seed as usize % 7) * 40, (F::Append, F::ReadList));
        if seed % 3 == 0 {
            // Elements as text: the screen's search by number does not apply.
            h = as_text(h);
        }
        let ops = h.ops().expect("well-formed");
        let full = collections::lists_with(&ops, &h.faults, false, crate::verdict::MAX_EVIDENCE);
        assert_eq!(collections::lists_with(&ops, &h.faults, true, crate::verdict::MAX_EVIDENCE), full, "seed {seed}");
        for (name, n) in &full.counts {
            *found.entry(*name).or_insert(0) += n;
        }
    }
    for anomaly in ["unexpected", "failed-present", "stale-reads", "duplicated", "incompatible-reads"] {
        assert!(found.get(anomaly).is_some_and(|n| *n > 20), "{anomaly} planted and found: {found:?}");
    }
}

/// A whole check asked for one finding per checker (an exploration's) gives
/// the same verdicts and counts, and each checker's first finding of the
/// full evidence, on list histories full of anomalies and on register ones.
#[test]
fn one_finding_per_checker_is_the_first_of_the_full_evidence() {
    let one = crate::Options { evidence: 1, ..crate::Options::default() };
    let mut findings = 0;
    for seed in 0..40 {
        let h = match seed % 2 {
            0 => noisy(seed, 60 + (seed as usize % 5) * 40, (F::Append, F::ReadList)),
            _ => crate::testgen::linearizable_registers(seed, 6, 400, 5),
        };
        let ops = h.ops().expect("well-formed");
        let full = crate::check_ops(&ops, &h.faults, crate::Options::default());
        let brief = crate::check_ops(&ops, &h.faults, one);
        assert_eq!(full.len(), brief.len());
        for (f, b) in full.iter().zip(&brief) {
            assert_eq!((f.checker, f.verdict, &f.counts), (b.checker, b.verdict, &b.counts), "seed {seed}");
            assert_eq!(b.evidence.as_slice(), &f.evidence[..f.evidence.len().min(1)], "seed {seed} {}", f.checker);
            findings += usize::from(f.evidence.len() > 1);
        }
    }
    assert!(findings > 10, "histories with several findings were tried: {findings}");
}

#[test]
fn a_clean_history_is_cleared_read_by_read_and_a_dropped_element_is_not() {
    let history = |last_read: &[i64]| {
        let mut b = Builder::default();
        b.op(0, F::Append, 1, int(10), 0, Some((Type::Ok, int(10), 10)));
        b.op(1, F::Append, 1, int(11), 20, Some((Type::Ok, int(11), 30)));
        b.op(0, F::ReadList, 1, Value::Nil, 40, Some((Type::Ok, ints(last_read), 50)));
        b.op(1, F::ReadList, 1, Value::Nil, 60, Some((Type::Ok, ints(&[10, 11]), 70)));
        b.done()
    };
    let (screened, full) = both(&history(&[10, 11]), (F::Append, F::ReadList));
    assert_eq!(screened, full);
    assert!(screened.evidence.is_empty() && screened.counts["reads"] == 2, "{screened:?}");
    let (screened, full) = both(&history(&[10]), (F::Append, F::ReadList));
    assert_eq!(screened, full);
    assert_eq!(screened.counts.get("stale-reads"), Some(&1), "{screened:?}");
}
