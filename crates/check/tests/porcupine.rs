//! The register checker against Porcupine's verdicts on four Jepsen etcd
//! histories (tests/data/porcupine-etcd/, MIT, see its README).
//!
//! A Jepsen log line is `INFO  jepsen.util - <process> <type> <f> <value>`;
//! a `:fail :cas` did not apply, a timed-out read (`:fail :read :timed-out`)
//! is unknown, as are `:info` ops and invocations never completed.

use check::{Elem, Event, F, History, Type, Value, Verdict};

fn int(text: &str) -> Elem {
    Elem::Int(text.parse().unwrap_or_else(|_| panic!("an integer: {text}")))
}

fn parse(log: &str) -> History {
    let mut history = History::default();
    let mut open: std::collections::BTreeMap<u64, (F, Value)> = std::collections::BTreeMap::new();
    for (time, line) in log.lines().enumerate() {
        let Some((_, rest)) = line.split_once("jepsen.util - ") else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let process: u64 = fields[0].parse().expect("a process");
        let f = match fields[2] {
            ":read" => F::Read,
            ":write" => F::Write,
            ":cas" => F::Cas,
            other => panic!("unknown f {other}"),
        };
        let value = match (f, fields.get(3..).unwrap_or_default()) {
            (F::Write, [v]) if !v.starts_with(':') => Value::One(int(v)),
            (F::Cas, [a, b]) => Value::Many([int(a.trim_start_matches('[')), int(b.trim_end_matches(']'))].into()),
            (F::Read, ["nil"]) => Value::Nil,
            (F::Read, [v]) if !v.starts_with(':') => Value::One(int(v)),
            _ => Value::Nil,
        };
        let kind = match (fields[1], f) {
            (":invoke", _) => Type::Invoke,
            (":ok", _) => Type::Ok,
            (":fail", F::Read) | (":info", _) => Type::Info,
            (":fail", _) => Type::Fail,
            (other, _) => panic!("unknown type {other}"),
        };
        let value = if kind == Type::Invoke {
            open.insert(process, (f, value.clone()));
            value
        } else if kind == Type::Ok && f == F::Read {
            open.remove(&process);
            value
        } else {
            open.remove(&process).map(|(_, v)| v).unwrap_or(value)
        };
        let key = Elem::Int(0);
        history.events.push(Event { kind, process, f, key, value, time: time as u64, error: None });
    }
    history
}

fn verdict(name: &str) -> (Verdict, u64) {
    let path = format!("{}/tests/data/porcupine-etcd/{name}", env!("CARGO_MANIFEST_DIR"));
    let history = parse(&std::fs::read_to_string(&path).expect("the test data is there"));
    let ops = history.ops().expect("a well-formed history");
    assert!(ops.len() > 50, "{name}: {} ops", ops.len());
    let r = check::linear::check(&ops, &history.faults, 1_000_000);
    (r.verdict, r.counts["steps"])
}

#[test]
fn verdicts_agree_with_porcupine_on_jepsen_etcd_histories() {
    for (name, expected) in [
        ("etcd_002.log", Verdict::Valid),
        ("etcd_067.log", Verdict::Valid),
        ("etcd_039.log", Verdict::Invalid),
        ("etcd_097.log", Verdict::Invalid),
    ] {
        let (got, steps) = verdict(name);
        assert_eq!(got, expected, "{name} after {steps} steps");
    }
}
