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

use crate::history::{Event, FaultWindow, History};

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
    let mut out = String::new();
    for fault in &history.faults {
        out.push_str(&fault_line(fault));
        out.push('\n');
    }
    for event in &history.events {
        out.push_str(&event_line(event));
        out.push('\n');
    }
    out
}

/// One event as its line (without the newline).
pub fn event_line(event: &Event) -> String {
    serde_json::to_string(event).expect("events serialize")
}

fn fault_line(fault: &FaultWindow) -> String {
    let mut value = serde_json::to_value(fault).expect("faults serialize");
    if let Some(map) = value.as_object_mut() {
        map.insert("type".into(), "fault".into());
    }
    serde_json::to_string(&value).expect("faults serialize")
}
