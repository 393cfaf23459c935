//! The EDN reader and writer, Jepsen export and import, and history.jsonl:
//! forms, errors at line and column, fuzzing (never a panic), round trips.

use crate::edn::{self, Edn};
use crate::history::{Elem, F, FaultWindow, History, Type, Value};
use crate::testgen::{Builder, Rng, int, ints, linearizable_registers};
use crate::{jepsen, jsonl, linear, verdict::Verdict};

fn one(text: &str) -> Edn {
    let all = edn::read_all(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(all.len(), 1, "{text}");
    all.into_iter().next().unwrap().value
}

#[test]
fn the_reader_takes_the_forms_jepsen_histories_use() {
    let v = one(
        r#"{:type :ok, :f :read, :value [1 #{2 3}], :process 0, :time 12N, :error "a \"b\"\n", :x (nil true -4), #_ :gone :y 1.5}"#,
    );
    assert_eq!(v.get("type"), Some(&Edn::kw("ok")));
    assert_eq!(v.get("value"), Some(&Edn::Vector(vec![Edn::Int(1), Edn::Set(vec![Edn::Int(2), Edn::Int(3)])])));
    assert_eq!(v.get("time"), Some(&Edn::Int(12)));
    assert_eq!(v.get("error"), Some(&Edn::Str("a \"b\"\n".into())));
    assert_eq!(v.get("x"), Some(&Edn::List(vec![Edn::Nil, Edn::Bool(true), Edn::Int(-4)])));
    assert_eq!(v.get("y"), Some(&Edn::Float(1.5)));
    // Tagged values keep the value; comments and commas are space.
    let tagged = one("; a history\n#jepsen.history.Op{:index 0, :process 1}");
    assert_eq!(tagged.get("process"), Some(&Edn::Int(1)));
    // What the writer writes, the reader reads back.
    assert_eq!(one(&edn::to_string(&v)), v);
}

#[test]
fn bad_edn_is_an_error_at_its_line_and_column() {
    for (text, line, column, says) in [
        ("{:a 1}\n{:b [1 2}", 2, 9, "unexpected `}`"),
        ("{:a 1\n:b", 1, 1, "unclosed collection"),
        ("\n  {:a}", 2, 3, "even number"),
        ("[1 \"abc", 1, 4, "unterminated string"),
        ("[99999999999999999999]", 1, 2, "not a number"),
        ("#?(:clj 1)", 1, 2, "unsupported `#` form"),
        ("[:]", 1, 3, "keyword needs a name"),
    ] {
        let e = edn::read_all(text).expect_err(text);
        assert_eq!((e.line, e.column), (line, column), "{text}: {e}");
        assert!(e.message.contains(says), "{text}: {e}");
    }
    let deep = "[".repeat(100_000);
    let e = edn::read_all(&deep).expect_err("too deep");
    assert!(e.message.contains("nested more than"), "{e}");
}

#[test]
fn fuzzed_edn_and_histories_never_panic() {
    let mut rng = Rng::new(5);
    let alphabet: Vec<char> = "{}[]()#_:;,\"\\ \n-+0123456789Nabc/.eM".chars().collect();
    for _ in 0..20_000 {
        let len = rng.below(40) as usize;
        let text: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
        let _ = edn::read_all(&text);
        let _ = jepsen::import(&text);
        let _ = jsonl::read(&text);
    }
    // Every prefix and random damage of a real export.
    let exported = jepsen::export(&mixed_history());
    for cut in 0..exported.len() {
        if exported.is_char_boundary(cut) {
            let _ = jepsen::import(&exported[..cut]);
        }
    }
    let bytes: Vec<char> = exported.chars().collect();
    for _ in 0..2_000 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(damaged.len() as u64) as usize;
            damaged[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
        }
        if let Ok(h) = jepsen::import(&damaged.iter().collect::<String>()) {
            let _ = crate::check_all(&h, crate::Options { budget_steps: 10_000, ..crate::Options::default() });
        }
    }
    // The same for history.jsonl, with digits and signs among the damage.
    let lines: Vec<char> = jsonl::write(&mixed_history()).chars().collect();
    let damage: Vec<char> = "0123456789-9{}[]\",:nul".chars().collect();
    let digits: Vec<usize> = (0..lines.len()).filter(|i| lines[*i].is_ascii_digit()).collect();
    let mut judged = 0;
    for _ in 0..2_000 {
        let mut damaged = lines.clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly a digit for a digit, so most damage still parses and reaches the checkers.
            if rng.chance(90) {
                let at = digits[rng.below(digits.len() as u64) as usize];
                damaged[at] = char::from(b'0' + rng.below(10) as u8);
            } else {
                let at = rng.below(damaged.len() as u64) as usize;
                damaged[at] = damage[rng.below(damage.len() as u64) as usize];
            }
        }
        if let Ok(h) = jsonl::read(&damaged.iter().collect::<String>()) {
            judged += usize::from(
                crate::check_all(&h, crate::Options { budget_steps: 10_000, ..crate::Options::default() }).is_ok(),
            );
        }
    }
    assert!(judged > 100, "damage that still parses reaches the checkers: {judged} of 2000");
}

/// Registers, a counter, a set and a list, with faults.
fn mixed_history() -> History {
    let mut h = linearizable_registers(3, 3, 30, 2);
    let mut b = Builder::default();
    let ok = |v: Value, t: u64| Some((Type::Ok, v, t));
    b.op(10, F::Incr, 7, int(1), 0, ok(int(1), 10));
    b.op(10, F::ReadCounter, 7, Value::Nil, 20, ok(int(1), 30));
    b.op(11, F::Add, 8, Elem::Str("e1".into()).into_value(), 0, ok(Elem::Str("e1".into()).into_value(), 10));
    b.op(11, F::ReadSet, 8, Value::Nil, 20, ok(Value::Many([Elem::Str("e1".into())].into()), 30));
    b.op(12, F::Append, 9, int(4), 0, Some((Type::Info, int(4), 10)));
    b.op(13, F::ReadList, 9, Value::Nil, 20, ok(ints(&[4]), 30));
    h.events.extend(b.done().events);
    h.events.sort_by_key(|e| e.time);
    h.faults.push(FaultWindow { name: "kill 6381".into(), start: 5, end: Some(25) });
    h.faults.push(FaultWindow { name: "partition a | b".into(), start: 40, end: None });
    h
}

trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for Elem {
    fn into_value(self) -> Value {
        Value::One(self)
    }
}

/// What export keeps: a read's value only when it is `ok`.
fn normalized(mut h: History) -> History {
    for e in &mut h.events {
        if e.f.is_read() && e.kind != Type::Ok {
            e.value = Value::Nil;
        }
    }
    h
}

#[test]
fn export_then_import_gives_the_history_back() {
    let h = normalized(mixed_history());
    let text = jepsen::export(&h);
    assert!(text.lines().next().unwrap().contains(":index 0}"), "{text}");
    assert!(text.contains(":f :txn, :value [[:append 9 4]]"), "Elle's list-append form: {text}");
    assert!(text.contains(r#":f :read, :value [8 #{"e1"}]"#), "a set read as a set: {text}");
    assert!(text.contains(r#"{:type :info, :f :start, :value "kill 6381", :process :nemesis, :time 5"#), "{text}");
    let back = jepsen::import(&text).expect("its own export");
    assert_eq!(back.events, h.events);
    assert_eq!(back.faults, h.faults);
    // And through history.jsonl.
    assert_eq!(jsonl::read(&jsonl::write(&h)).expect("its own lines"), h);
}

#[test]
fn a_knossos_single_register_history_is_read_as_key_0() {
    let text = "{:process 0, :type :invoke, :f :write, :value 3}\n{:process 0, :type :ok, :f :write, :value 3}\n\
                {:process 1, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 4}\n";
    let h = jepsen::import(text).expect("a Knossos history");
    assert!(h.events.iter().all(|e| e.key == Elem::Int(0)));
    let r = linear::check(&h.ops().unwrap(), &[], 1000);
    assert_eq!(r.verdict, Verdict::Invalid, "4 was never written");
}

#[test]
fn ops_this_cannot_check_are_errors_naming_their_line() {
    for (text, says) in [
        ("{:process 0, :type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]]}", "one micro-op"),
        ("{:process 0, :type :begin, :f :read, :value [1 nil]}", "unknown `:type :begin`"),
        ("{:process 0, :type :invoke, :f :delete, :value [1 nil]}", "unknown `:f :delete`"),
        ("{:process -1, :type :invoke, :f :read, :value [1 nil]}", "`:process`"),
        ("[1 2]", "expected an op map"),
    ] {
        let text = format!("\n{text}");
        let e = jepsen::import(&text).expect_err(&text);
        assert!(e.to_string().starts_with("line 2"), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
}

#[test]
fn bad_json_lines_name_their_line() {
    let good = r#"{"type":"invoke","process":1,"f":"write","key":"k","value":1,"time":5}"#;
    for (bad, says) in [
        (r#"{"type":"invoke","process":1,"f":"delete","key":"k","time":5}"#, "unknown variant `delete`"),
        (r#"{"type":"ok","process":1,"f":"write","key":"k","value":1"#, "EOF"),
        (r#"{"type":"invoke","process":1,"f":"write","key":"k","value":1}"#, "missing field `time`"),
    ] {
        let e = jsonl::read(&format!("{good}\n\n{bad}\n")).expect_err(bad);
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains(says), "{e}");
    }
}
