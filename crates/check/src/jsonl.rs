//! `history.jsonl`: one JSON object per line, in history order. An event:
//!
//! ```json
//! {"type":"invoke","process":3,"f":"write","key":"r1","value":5,"time":1200000}
//! {"type":"ok","process":3,"f":"write","key":"r1","value":5,"time":1500000}
//! {"type":"info","process":4,"f":"read","key":"r1","time":2100000,"error":"timeout"}
//! ```
//!
//! and a fault active over an interval (`end` absent: never healed):
//!
//! ```json
//! {"type":"fault","name":"partition 6379 | 6380 6381","start":1000000000,"end":9000000000}
//! ```
//!
//! `type` is `invoke`, `ok`, `fail`, `info` or `fault`; `f` one of `read`,
//! `write`, `cas` (value `[expected, new]`), `incr`, `read-counter`, `add`,
//! `read-set`, `append`, `read-list`; keys and elements are integers or
//! strings; `value` is null, an element or an array of elements; `time` is in
//! nanoseconds. Blank lines are skipped.

use crate::history::{Elem, Event, FaultWindow, History, Type, Value};

/// Why a history.jsonl cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct JsonlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (1 when the whole line is at fault).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a history from its JSON lines.
pub fn read(text: &str) -> Result<History, JsonlError> {
    let mut history = History::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: serde_json::Error| JsonlError { line: i + 1, column: e.column().max(1), message: e.to_string() };
        // Events straight from the text (the fast path); a line that is none may be a fault.
        let not_event = match serde_json::from_str::<Event>(line) {
            Ok(event) => {
                history.events.push(event);
                continue;
            }
            Err(e) => e,
        };
        let value: serde_json::Value = serde_json::from_str(line).map_err(at)?;
        if value.get("type").and_then(|t| t.as_str()) != Some("fault") {
            return Err(at(not_event));
        }
        let mut fields = value;
        if let Some(map) = fields.as_object_mut() {
            map.remove("type");
        }
        history.faults.push(serde_json::from_value(fields).map_err(at)?);
    }
    Ok(history)
}

/// Writes a history as JSON lines (faults first, then events).
pub fn write(history: &History) -> String {
    // An event line is some 100 bytes; one allocation for most histories.
    let mut out = Vec::with_capacity(history.events.len() * 112 + history.faults.len() * 96);
    for fault in &history.faults {
        out.extend_from_slice(fault_line(fault).as_bytes());
        out.push(b'\n');
    }
    for event in &history.events {
        push_event(&mut out, event);
        out.push(b'\n');
    }
    String::from_utf8(out).expect("JSON text from strings and ASCII")
}

/// One event as its line (without the newline).
pub fn event_line(event: &Event) -> String {
    let mut out = Vec::with_capacity(112);
    push_event(&mut out, event);
    String::from_utf8(out).expect("JSON text from strings and ASCII")
}

/// Appends an event's line: the text `serde_json` makes of an [`Event`]
/// (fields in declaration order, `error` only when there is one), written
/// directly, as a history of 100,000s of events spends most of its writing
/// time in the generic serializer otherwise.
fn push_event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(type_head(e.kind));
    push_int(out, false, e.process);
    out.extend_from_slice(b",\"f\":\"");
    out.extend_from_slice(e.f.name().as_bytes());
    out.extend_from_slice(b"\",\"key\":");
    push_elem(out, &e.key);
    out.extend_from_slice(b",\"value\":");
    match &e.value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::One(x) => push_elem(out, x),
        Value::Many(xs) => {
            out.push(b'[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_elem(out, x);
            }
            out.push(b']');
        }
    }
    out.extend_from_slice(b",\"time\":");
    push_int(out, false, e.time);
    if let Some(error) = &e.error {
        out.extend_from_slice(b",\"error\":");
        push_str(out, error);
    }
    out.push(b'}');
}

/// The line's start up to the process number.
fn type_head(kind: Type) -> &'static [u8] {
    match kind {
        Type::Invoke => b"{\"type\":\"invoke\",\"process\":",
        Type::Ok => b"{\"type\":\"ok\",\"process\":",
        Type::Fail => b"{\"type\":\"fail\",\"process\":",
        Type::Info => b"{\"type\":\"info\",\"process\":",
    }
}

fn push_elem(out: &mut Vec<u8>, e: &Elem) {
    match e {
        Elem::Int(n) => push_int(out, *n < 0, n.unsigned_abs()),
        Elem::Str(s) => push_str(out, s),
    }
}

/// A decimal integer, `-` first when `negative`, two digits at a time (a
/// line's time and value are 10 to 12 digits, and each line has both).
fn push_int(out: &mut Vec<u8>, negative: bool, n: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [b'-'; 21];
    let mut at = digits.len();
    let mut rest = n;
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[rest as usize * 2..rest as usize * 2 + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + rest as u8;
    }
    at -= usize::from(negative);
    out.extend_from_slice(&digits[at..]);
}

/// A JSON string: as is between quotes when nothing in it needs escaping
/// (keys, values and errors almost always), else as `serde_json` escapes it.
fn push_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(serde_json::to_string(s).expect("strings serialize").as_bytes());
    }
}

fn fault_line(fault: &FaultWindow) -> String {
    let mut value = serde_json::to_value(fault).expect("faults serialize");
    if let Some(map) = value.as_object_mut() {
        map.insert("type".into(), "fault".into());
    }
    serde_json::to_string(&value).expect("faults serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::F;
    use crate::testgen::Rng;

    /// A string drawn from characters that need escaping and ones that do not.
    fn text(rng: &mut Rng) -> String {
        let alphabet = ['a', 'Z', '7', ' ', ':', '"', '\\', '\n', '\t', '\u{1}', '\u{1f}', '\u{7f}', 'é', '→', '/'];
        (0..rng.below(8)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
    }

    fn elem(rng: &mut Rng) -> Elem {
        match rng.below(4) {
            0 => Elem::Str(text(rng).into()),
            1 => Elem::Int(i64::MIN + rng.below(3) as i64),
            2 => Elem::Int(i64::MAX - rng.below(3) as i64),
            _ => Elem::Int(rng.below(2_000) as i64 - 1_000),
        }
    }

    /// The direct writer against `serde_json`'s text of the same event, over
    /// random events: every type, f, value shape, extreme integers, and
    /// strings with quotes, backslashes, control and non-ASCII characters.
    #[test]
    fn event_lines_are_what_serde_json_writes() {
        let mut rng = Rng::new(11);
        let kinds = [Type::Invoke, Type::Ok, Type::Fail, Type::Info];
        let fs = [F::Read, F::Write, F::Cas, F::Incr, F::ReadCounter, F::Add, F::ReadSet, F::Append, F::ReadList];
        for _ in 0..5_000 {
            let value = match rng.below(3) {
                0 => Value::Nil,
                1 => Value::One(elem(&mut rng)),
                _ => Value::Many((0..rng.below(4)).map(|_| elem(&mut rng)).collect()),
            };
            let event = Event {
                kind: kinds[rng.below(4) as usize],
                process: if rng.chance(10) { u64::MAX } else { rng.below(100) },
                f: fs[rng.below(fs.len() as u64) as usize],
                key: elem(&mut rng),
                value,
                time: if rng.chance(10) { u64::MAX } else { rng.next() >> rng.below(64) },
                error: rng.chance(50).then(|| text(&mut rng)),
            };
            let line = event_line(&event);
            assert_eq!(line, serde_json::to_string(&event).unwrap());
            assert_eq!(read(&line).unwrap().events, vec![event]);
        }
    }
}
