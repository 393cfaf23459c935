//! Histories as Jepsen writes them (EDN, one op map per line), so a history
//! from here can be checked by Knossos or Elle and one from a Jepsen run by
//! the checkers here.
//!
//! Export, per event (`:index` its position, `:time` in nanoseconds, `:error`
//! on `fail`/`info` when known):
//!
//! | history.jsonl | Jepsen |
//! |---|---|
//! | register `read`/`write`/`cas` | `:f :read`/`:write`/`:cas`, `:value [k v]` (jepsen.independent tuples; a read's invocation `[k nil]`, a cas `[k [old new]]`) |
//! | counter `incr` / `read-counter` | `:f :add` / `:read`, `:value [k n]` (jepsen.checker/counter per key) |
//! | set `add` / `read-set` | `:f :add` / `:read`, `:value [k e]` / `[k #{...}]` (jepsen.checker/set-full per key) |
//! | list `append` / `read-list` | `:f :txn`, `:value [[:append k e]]` / `[[:r k [...]]]` (Elle's list-append) |
//! | fault window | `{:process :nemesis, :type :info, :f :start, :value "name"}` then `:f :stop` |
//!
//! Import takes the same forms, and also single-register histories (Knossos's
//! own: `:value v`, no key; they get key 0, told apart by a value that is no
//! `[k v]` pair, so one holding only `:cas` ops reads as keyed), tagged op maps
//! (`#jepsen.history.Op{...}`) and a whole history as one vector. `:read` and
//! `:add` are told apart by what their key holds: a key with sets read is a
//! set, one with `:add` and integers read a counter, others registers. A
//! transaction of more than one micro-op is refused, as the checkers here
//! judge single operations.

use crate::edn::{self, Edn, EdnError};
use crate::history::{Elem, Event, F, FaultWindow, History, Model, Type, Value};
use std::collections::BTreeMap;

/// Writes a history as Jepsen EDN, one op per line.
pub fn export(history: &History) -> String {
    let mut lines: Vec<(u64, u8, String)> = Vec::new();
    for fault in &history.faults {
        lines.push((fault.start, 0, nemesis("start", &fault.name, fault.start)));
        if let Some(end) = fault.end {
            lines.push((end, 0, nemesis("stop", &fault.name, end)));
        }
    }
    for event in &history.events {
        lines.push((event.time, 1, edn::to_string(&op_map(event))));
    }
    // Stable: events keep their order; a fault boundary goes before events of its instant.
    lines.sort_by_key(|(t, rank, _)| (*t, *rank));
    let mut out = String::new();
    for (index, (_, _, line)) in lines.into_iter().enumerate() {
        // `:index` last, so every map is written in one pass.
        out.push_str(&line[..line.len() - 1]);
        out.push_str(&format!(", :index {index}}}\n"));
    }
    out
}

fn nemesis(f: &str, name: &str, time: u64) -> String {
    let map = Edn::Map(vec![
        (Edn::kw("type"), Edn::kw("info")),
        (Edn::kw("f"), Edn::kw(f)),
        (Edn::kw("value"), Edn::Str(name.to_owned())),
        (Edn::kw("process"), Edn::kw("nemesis")),
        (Edn::kw("time"), Edn::Int(time_int(time))),
    ]);
    edn::to_string(&map)
}

fn time_int(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn elem(e: &Elem) -> Edn {
    match e {
        Elem::Int(n) => Edn::Int(*n),
        Elem::Str(s) => Edn::Str(s.to_string()),
    }
}

fn value(v: &Value) -> Edn {
    match v {
        Value::Nil => Edn::Nil,
        Value::One(e) => elem(e),
        Value::Many(items) => Edn::Vector(items.iter().map(elem).collect()),
    }
}

fn op_map(e: &Event) -> Edn {
    let kind = match e.kind {
        Type::Invoke => "invoke",
        Type::Ok => "ok",
        Type::Fail => "fail",
        Type::Info => "info",
    };
    let shown = if e.f.is_read() && e.kind != Type::Ok { Edn::Nil } else { value(&e.value) };
    let (f, v) = match e.f {
        F::Read | F::Write | F::Cas => (e.f.name(), tuple(&e.key, shown)),
        F::Incr => ("add", tuple(&e.key, shown)),
        F::ReadCounter => ("read", tuple(&e.key, shown)),
        F::Add => ("add", tuple(&e.key, shown)),
        F::ReadSet => ("read", tuple(&e.key, as_set(shown))),
        F::Append => ("txn", micro("append", &e.key, shown)),
        F::ReadList => ("txn", micro("r", &e.key, shown)),
    };
    let mut map = vec![
        (Edn::kw("type"), Edn::kw(kind)),
        (Edn::kw("f"), Edn::kw(f)),
        (Edn::kw("value"), v),
        (Edn::kw("process"), Edn::Int(time_int(e.process))),
        (Edn::kw("time"), Edn::Int(time_int(e.time))),
    ];
    if let Some(error) = &e.error {
        map.push((Edn::kw("error"), Edn::Str(error.clone())));
    }
    Edn::Map(map)
}

fn tuple(key: &Elem, v: Edn) -> Edn {
    Edn::Vector(vec![elem(key), v])
}

fn as_set(v: Edn) -> Edn {
    match v {
        Edn::Vector(items) => Edn::Set(items),
        other => other,
    }
}

fn micro(f: &str, key: &Elem, v: Edn) -> Edn {
    Edn::Vector(vec![Edn::Vector(vec![Edn::kw(f), elem(key), v])])
}

/// Why EDN is not a history this can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not EDN.
    #[error("{0}")]
    Syntax(#[from] EdnError),
    /// EDN, but not an op this understands.
    #[error("line {line}: {message}")]
    Op {
        /// 1-based line of the op.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// An op as read, before `:read`/`:add` are told apart.
struct Raw {
    line: usize,
    event: Event,
    /// `:read` or `:add` whose model depends on the key.
    ambiguous: bool,
    read_set: bool,
}

/// Reads a Jepsen EDN history.
pub fn import(text: &str) -> Result<History, ImportError> {
    let values = edn::read_all(text)?;
    let mut maps: Vec<(usize, &Edn)> = Vec::new();
    for v in &values {
        match &v.value {
            Edn::Vector(items) | Edn::List(items) if items.iter().all(|i| matches!(i, Edn::Map(_))) => {
                maps.extend(items.iter().map(|i| (v.line, i)))
            }
            Edn::Map(_) => maps.push((v.line, &v.value)),
            _ => {
                return Err(ImportError::Op {
                    line: v.line,
                    message: "expected an op map `{:type ... :f ...}`".into(),
                });
            }
        }
    }
    let independent = maps.iter().all(|(_, m)| is_independent(m));
    let mut history = History::default();
    let mut raws = Vec::new();
    let mut open: Vec<(String, u64)> = Vec::new();
    for (position, (line, map)) in maps.into_iter().enumerate() {
        let time = match map.get("time") {
            Some(Edn::Int(t)) if *t >= 0 => *t as u64,
            None => position as u64,
            Some(_) => return Err(bad(line, "`:time` must be a non-negative integer (nanoseconds)")),
        };
        match map.get("process") {
            Some(Edn::Keyword(_)) | Some(Edn::Symbol(_)) => nemesis_op(map, time, &mut open, &mut history),
            _ => raws.push(raw(line, map, time, independent)?),
        }
    }
    for (name, start) in open {
        history.faults.push(FaultWindow { name, start, end: None });
    }
    history.events = resolve(raws)?;
    Ok(history)
}

fn bad(line: usize, message: &str) -> ImportError {
    ImportError::Op { line, message: message.to_owned() }
}

/// Whether an op's value is a `[key value]` tuple (jepsen.independent).
fn is_independent(map: &Edn) -> bool {
    if matches!(map.get("process"), Some(Edn::Keyword(_) | Edn::Symbol(_))) {
        return true;
    }
    match (map.get("f"), map.get("value")) {
        (Some(Edn::Keyword(f)), _) if f == "txn" => true,
        (_, Some(Edn::Vector(v))) => v.len() == 2 && !matches!(v[0], Edn::Vector(_)),
        _ => false,
    }
}

/// A nemesis op opens (`:start...`) or closes (`:stop...`) a fault window.
fn nemesis_op(map: &Edn, time: u64, open: &mut Vec<(String, u64)>, history: &mut History) {
    let Some(Edn::Keyword(f)) = map.get("f") else { return };
    if map.get("type") == Some(&Edn::kw("invoke")) {
        return;
    }
    let name = match map.get("value") {
        Some(Edn::Str(s)) => s.clone(),
        Some(Edn::Nil) | None => f.trim_start_matches("start").trim_start_matches('-').to_owned(),
        Some(other) => format!("{f} {}", edn::to_string(other)),
    };
    if f.starts_with("start") {
        open.push((if name.is_empty() { f.clone() } else { name }, time));
    } else if f.starts_with("stop") {
        // A stop closes the window of the same name, or else every open one.
        let named = open.iter().any(|(n, _)| *n == name);
        let (closing, keep): (Vec<_>, Vec<_>) =
            std::mem::take(open).into_iter().partition(|(n, _)| !named || *n == name);
        *open = keep;
        for (n, start) in closing {
            history.faults.push(FaultWindow { name: n, start, end: Some(time) });
        }
    }
}

fn kind_of(map: &Edn, line: usize) -> Result<Type, ImportError> {
    match map.get("type") {
        Some(Edn::Keyword(k)) => match k.as_str() {
            "invoke" => Ok(Type::Invoke),
            "ok" => Ok(Type::Ok),
            "fail" => Ok(Type::Fail),
            "info" => Ok(Type::Info),
            other => Err(bad(line, &format!("unknown `:type :{other}`: expected :invoke, :ok, :fail or :info"))),
        },
        _ => Err(bad(line, "`:type` must be a keyword (:invoke, :ok, :fail, :info)")),
    }
}

fn to_elem(v: &Edn, line: usize) -> Result<Elem, ImportError> {
    match v {
        Edn::Int(n) => Ok(Elem::Int(*n)),
        Edn::Str(s) => Ok(Elem::Str(s.as_str().into())),
        Edn::Keyword(k) => Ok(Elem::Str(format!(":{k}").into())),
        other => Err(bad(line, &format!("expected an integer or a string, found {}", edn::to_string(other)))),
    }
}

fn to_value(v: &Edn, line: usize) -> Result<Value, ImportError> {
    match v {
        Edn::Nil => Ok(Value::Nil),
        Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => {
            Ok(Value::Many(items.iter().map(|i| to_elem(i, line)).collect::<Result<_, _>>()?))
        }
        other => Ok(Value::One(to_elem(other, line)?)),
    }
}

fn raw(line: usize, map: &Edn, time: u64, independent: bool) -> Result<Raw, ImportError> {
    let kind = kind_of(map, line)?;
    let process = match map.get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        _ => return Err(bad(line, "`:process` must be a non-negative integer (or :nemesis)")),
    };
    let Some(Edn::Keyword(f)) = map.get("f") else { return Err(bad(line, "`:f` must be a keyword")) };
    let v = map.get("value").unwrap_or(&Edn::Nil);
    let error = map.get("error").map(|e| match e {
        Edn::Str(s) => s.clone(),
        other => edn::to_string(other),
    });
    if f == "txn" {
        return txn(line, kind, process, v, time, error);
    }
    let (key, inner) = match (independent, v) {
        (true, Edn::Vector(kv)) if kv.len() == 2 => (to_elem(&kv[0], line)?, &kv[1]),
        (true, _) => return Err(bad(line, "expected a `[key value]` tuple, as the other ops have")),
        (false, v) => (Elem::Int(0), v),
    };
    let (f, ambiguous) = match f.as_str() {
        "read" => (F::Read, true),
        "add" => (F::Add, true),
        "write" => (F::Write, false),
        "cas" => (F::Cas, false),
        other => return Err(bad(line, &format!("unknown `:f :{other}`: expected :read, :write, :cas, :add or :txn"))),
    };
    let read_set = matches!(inner, Edn::Set(_) | Edn::Vector(_)) && f == F::Read;
    let value = to_value(inner, line)?;
    Ok(Raw { line, event: Event { kind, process, f, key, value, time, error }, ambiguous, read_set })
}

fn txn(line: usize, kind: Type, process: u64, v: &Edn, time: u64, error: Option<String>) -> Result<Raw, ImportError> {
    let micro = match v.items() {
        Some([one]) => one.items().unwrap_or_default(),
        Some(_) => {
            return Err(bad(
                line,
                "only transactions of one micro-op (`[[:append k v]]` or `[[:r k v]]`) are checked here",
            ));
        }
        None => return Err(bad(line, "a `:txn` value is a vector of micro-ops")),
    };
    let [Edn::Keyword(mf), k, mv] = micro else {
        return Err(bad(line, "a micro-op is `[:append k v]` or `[:r k v]`"));
    };
    let f = match mf.as_str() {
        "append" => F::Append,
        "r" => F::ReadList,
        other => return Err(bad(line, &format!("unknown micro-op `:{other}`: expected :append or :r"))),
    };
    let key = to_elem(k, line)?;
    let value = to_value(mv, line)?;
    Ok(Raw { line, event: Event { kind, process, f, key, value, time, error }, ambiguous: false, read_set: false })
}

/// Gives each `:read` and `:add` the model of its key.
fn resolve(raws: Vec<Raw>) -> Result<Vec<Event>, ImportError> {
    let mut models: BTreeMap<Elem, (bool, bool, bool)> = BTreeMap::new();
    for r in &raws {
        let m = models.entry(r.event.key.clone()).or_default();
        m.0 |= matches!(r.event.f, F::Write | F::Cas);
        m.1 |= r.event.f == F::Add;
        m.2 |= r.read_set;
    }
    let mut events = Vec::with_capacity(raws.len());
    for mut r in raws {
        let (register, adds, sets) = models[&r.event.key];
        if r.ambiguous {
            let model = if sets {
                Model::Set
            } else if adds && !register {
                Model::Counter
            } else {
                Model::Register
            };
            r.event.f = match (r.event.f, model) {
                (F::Read, Model::Set) => F::ReadSet,
                (F::Read, Model::Counter) => F::ReadCounter,
                (F::Add, Model::Counter) => F::Incr,
                (F::Add, Model::Set) => F::Add,
                (F::Read, _) => F::Read,
                _ => return Err(bad(r.line, "`:add` on a key that is also written as a register")),
            };
        }
        events.push(r.event);
    }
    Ok(events)
}
