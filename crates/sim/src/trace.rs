//! The trace: every externally visible event of a run, in order, folded into a
//! stable fingerprint. Same scenario + same seed ⇒ same records ⇒ same hash, on
//! every machine. Records are kept only when asked for (scenario runs write them
//! to `trace.jsonl`); benchmarks hash without allocating. Observations
//! ([`crate::Observation`]) travel with the records but, roles apart, are not
//! hashed: see [`Observation`] for why.

use crate::hash::StableHasher;
use crate::observe::Observation;
use crate::time::Instant;
use crate::{ConnId, ProcId};
use std::fmt::Write as _;

/// What travelled on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// Connection request.
    Syn,
    /// Connection accepted.
    SynAck,
    /// Payload bytes.
    Data,
    /// Graceful close.
    Fin,
    /// Reset.
    Rst,
}

impl PacketKind {
    /// Lower-case name used in `trace.jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            PacketKind::Syn => "syn",
            PacketKind::SynAck => "synack",
            PacketKind::Data => "data",
            PacketKind::Fin => "fin",
            PacketKind::Rst => "rst",
        }
    }
}

/// One traced event.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceEvent {
    /// A packet reached its destination host.
    Deliver {
        /// The connection.
        conn: ConnId,
        /// Sending process, if the sender was a process (a kernel RST has none).
        from: Option<ProcId>,
        /// Receiving process, if one owns that end.
        to: Option<ProcId>,
        /// What it was.
        kind: PacketKind,
        /// Payload length.
        len: u32,
        /// Fingerprint of the payload.
        digest: u64,
    },
    /// A process changed state (started, stopped, killed, exited, paused, resumed, wiped).
    Process {
        /// Which.
        proc: ProcId,
        /// The new state, as a verb.
        change: &'static str,
    },
    /// A fault was applied (or could not be: the text says so).
    Fault {
        /// Human-readable description using scenario names.
        text: String,
    },
    /// A process wrote a log line.
    Log {
        /// Which.
        proc: ProcId,
        /// The line as written to its log file.
        line: String,
    },
    /// A process reported a state change worth tracing (e.g. topic "role").
    Note {
        /// Which.
        proc: ProcId,
        /// What kind of change.
        topic: &'static str,
        /// The new value.
        detail: String,
    },
    /// A process published an observation. Only a role is hashed (as the
    /// `role` note it replaces); the others are kept when recording, and
    /// neither hashed nor counted.
    Observe {
        /// Which.
        proc: ProcId,
        /// What it published.
        obs: Box<Observation>,
    },
    /// The scenario runner recorded something (a step, a reply, a check).
    Runner {
        /// What kind of record ("step", "reply", "check", ...).
        kind: &'static str,
        /// Its text.
        text: String,
    },
    /// The runner's words about the run that are not part of it (a step's
    /// `note:`): kept when recording, neither hashed nor counted, so
    /// rewording a note never changes a trace hash.
    Remark {
        /// What kind of remark ("note").
        kind: &'static str,
        /// Its text.
        text: String,
    },
}

/// The fields of a [`TraceEvent::Deliver`], for [`Trace::record_delivery`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub(crate) conn: ConnId,
    pub(crate) from: Option<ProcId>,
    pub(crate) to: Option<ProcId>,
    pub(crate) kind: PacketKind,
    pub(crate) len: u32,
    pub(crate) digest: u64,
}

/// A traced event with its virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRecord {
    /// When.
    pub at: Instant,
    /// What.
    pub event: TraceEvent,
}

/// The fingerprint and, optionally, the records.
#[derive(Debug, Default)]
pub struct Trace {
    hasher: StableHasher,
    count: u64,
    records: Option<Vec<TraceRecord>>,
}

fn opt(p: Option<ProcId>) -> u64 {
    p.map_or(u64::MAX, |p| p.0 as u64)
}

impl Trace {
    /// A trace that also keeps every record (for `trace.jsonl`).
    pub fn recording() -> Trace {
        Trace { records: Some(Vec::new()), ..Trace::default() }
    }

    /// Adds an event. An observation other than a role is only kept, and
    /// only when recording: it is a function of the hashed events.
    pub fn record(&mut self, at: Instant, event: TraceEvent) {
        let unhashed = match &event {
            TraceEvent::Observe { obs, .. } => !obs.is_hashed(),
            TraceEvent::Remark { .. } => true,
            _ => false,
        };
        if unhashed {
            if let Some(records) = &mut self.records {
                records.push(TraceRecord { at, event });
            }
            return;
        }
        let h = &mut self.hasher;
        h.word(at.as_nanos());
        match &event {
            TraceEvent::Deliver { conn, from, to, kind, len, digest } => {
                h.word(1);
                h.word(conn.0);
                h.word(opt(*from));
                h.word(opt(*to));
                h.word(*kind as u64);
                h.word(*len as u64);
                h.word(*digest);
            }
            TraceEvent::Process { proc, change } => {
                h.word(2);
                h.word(proc.0 as u64);
                h.bytes(change.as_bytes());
            }
            TraceEvent::Fault { text } => {
                h.word(3);
                h.bytes(text.as_bytes());
            }
            TraceEvent::Log { proc, line } => {
                h.word(4);
                h.word(proc.0 as u64);
                h.bytes(line.as_bytes());
            }
            TraceEvent::Note { proc, topic, detail } => {
                h.word(5);
                h.word(proc.0 as u64);
                h.bytes(topic.as_bytes());
                h.bytes(detail.as_bytes());
            }
            TraceEvent::Observe { proc, obs } => {
                // Only roles get here, hashed exactly as `Note { topic: "role", detail }` was.
                if let Observation::Role { role, .. } = &**obs {
                    h.word(5);
                    h.word(proc.0 as u64);
                    h.bytes(b"role");
                    h.bytes(role.hashed_word().as_bytes());
                }
            }
            TraceEvent::Runner { kind, text } => {
                h.word(6);
                h.bytes(kind.as_bytes());
                h.bytes(text.as_bytes());
            }
            TraceEvent::Remark { .. } => unreachable!("remarks returned above, unhashed"),
        }
        self.count += 1;
        if let Some(records) = &mut self.records {
            records.push(TraceRecord { at, event });
        }
    }

    /// Adds a delivery, hashed exactly as [`Trace::record`] hashes a
    /// [`TraceEvent::Deliver`]: most events are deliveries, and this path
    /// mixes their words in without building the event unless it is kept.
    #[inline]
    pub(crate) fn record_delivery(&mut self, at: Instant, d: Delivery) {
        let h = &mut self.hasher;
        for w in [at.as_nanos(), 1, d.conn.0, opt(d.from), opt(d.to), d.kind as u64, u64::from(d.len), d.digest] {
            h.word(w);
        }
        self.count += 1;
        if let Some(records) = &mut self.records {
            let Delivery { conn, from, to, kind, len, digest } = d;
            records.push(TraceRecord { at, event: TraceEvent::Deliver { conn, from, to, kind, len, digest } });
        }
    }

    /// Keeps an event for readers (only when recording) without hashing or
    /// counting it: a mark that says how the run was written, not what
    /// happened, such as the line of the scenario file a step came from.
    pub fn keep(&mut self, at: Instant, event: TraceEvent) {
        if let Some(records) = &mut self.records {
            records.push(TraceRecord { at, event });
        }
    }

    /// Whether records are kept; callers skip building costly events when not.
    pub fn is_recording(&self) -> bool {
        self.records.is_some()
    }

    /// The fingerprint of everything recorded so far, as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hasher.finish())
    }

    /// Number of events hashed (observations other than roles are not counted).
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nothing was hashed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kept records (empty unless recording).
    pub fn records(&self) -> &[TraceRecord] {
        self.records.as_deref().unwrap_or(&[])
    }
}

/// Renders one record as a line of `trace.jsonl`, naming processes with `name`.
pub fn to_json_line(rec: &TraceRecord, name: &dyn Fn(ProcId) -> String) -> String {
    let mut s = String::with_capacity(96);
    let _ = write!(s, "{{\"t_ns\":{},", rec.at.as_nanos());
    let opt_name = |p: Option<ProcId>| p.map_or_else(|| "null".to_owned(), |p| json_str(&name(p)));
    match &rec.event {
        TraceEvent::Deliver { conn, from, to, kind, len, digest } => {
            let _ = write!(
                s,
                "\"ev\":\"deliver\",\"conn\":{},\"from\":{},\"to\":{},\"kind\":\"{}\",\"len\":{},\"digest\":\"{:016x}\"",
                conn.0,
                opt_name(*from),
                opt_name(*to),
                kind.name(),
                len,
                digest
            );
        }
        TraceEvent::Process { proc, change } => {
            let _ = write!(s, "\"ev\":\"process\",\"node\":{},\"change\":\"{change}\"", json_str(&name(*proc)));
        }
        TraceEvent::Fault { text } => {
            let _ = write!(s, "\"ev\":\"fault\",\"text\":{}", json_str(text));
        }
        TraceEvent::Log { proc, line } => {
            let _ = write!(s, "\"ev\":\"log\",\"node\":{},\"line\":{}", json_str(&name(*proc)), json_str(line));
        }
        TraceEvent::Note { proc, topic, detail } => {
            let _ = write!(
                s,
                "\"ev\":\"note\",\"node\":{},\"topic\":{},\"detail\":{}",
                json_str(&name(*proc)),
                json_str(topic),
                json_str(detail)
            );
        }
        TraceEvent::Observe { proc, obs } => {
            let _ = write!(s, "\"ev\":\"observe\",\"node\":{},", json_str(&name(*proc)));
            obs.write_json_fields(&mut s);
        }
        TraceEvent::Runner { kind, text } | TraceEvent::Remark { kind, text } => {
            let _ = write!(s, "\"ev\":{},\"text\":{}", json_str(kind), json_str(text));
        }
    }
    s.push('}');
    s
}

/// A JSON string literal for `text`.
pub fn json_str(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_escapes_and_names() {
        let rec = TraceRecord {
            at: Instant::from_nanos(1500),
            event: TraceEvent::Log { proc: ProcId(0), line: "say \"hi\"\n".into() },
        };
        assert_eq!(
            to_json_line(&rec, &|_| "6379".into()),
            r#"{"t_ns":1500,"ev":"log","node":"6379","line":"say \"hi\"\n"}"#
        );
    }

    #[test]
    fn kept_marks_are_neither_hashed_nor_counted() {
        let mark = TraceEvent::Runner { kind: "step", text: "#1 line 7: sleep: 1s".into() };
        let mut a = Trace::recording();
        a.record(Instant::ZERO, TraceEvent::Fault { text: "x".into() });
        let mut b = Trace::recording();
        b.keep(Instant::ZERO, mark.clone());
        b.record(Instant::ZERO, TraceEvent::Fault { text: "x".into() });
        assert_eq!(a.hash_hex(), b.hash_hex(), "a mark must not change the hash");
        assert_eq!((a.len(), b.len()), (1, 1));
        assert_eq!(b.records()[0].event, mark, "a mark is kept for trace.jsonl");
    }

    #[test]
    fn hash_depends_on_order_and_content() {
        let ev = |t: &str| TraceEvent::Fault { text: t.into() };
        let mut a = Trace::default();
        a.record(Instant::ZERO, ev("x"));
        a.record(Instant::ZERO, ev("y"));
        let mut b = Trace::default();
        b.record(Instant::ZERO, ev("y"));
        b.record(Instant::ZERO, ev("x"));
        let mut c = Trace::recording();
        c.record(Instant::ZERO, ev("x"));
        c.record(Instant::ZERO, ev("y"));
        assert_ne!(a.hash_hex(), b.hash_hex());
        assert_eq!(a.hash_hex(), c.hash_hex(), "recording must not change the hash");
        assert_eq!(c.records().len(), 2);
    }

    #[test]
    fn a_remark_is_kept_but_neither_hashed_nor_counted() {
        let mut plain = Trace::recording();
        plain.record(Instant::ZERO, TraceEvent::Fault { text: "x".into() });
        let mut remarked = Trace::recording();
        remarked.record(Instant::ZERO, TraceEvent::Remark { kind: "note", text: "why".into() });
        remarked.record(Instant::ZERO, TraceEvent::Fault { text: "x".into() });
        assert_eq!(plain.hash_hex(), remarked.hash_hex());
        assert_eq!(remarked.len(), 1);
        assert_eq!(remarked.records().len(), 2);
        let line = to_json_line(&remarked.records()[0], &|_| String::new());
        assert_eq!(line, r#"{"t_ns":0,"ev":"note","text":"why"}"#);
    }

    #[test]
    fn a_delivery_hashes_and_is_kept_as_the_general_record_of_one() {
        let deliveries = [
            Delivery {
                conn: ConnId(7),
                from: Some(ProcId(1)),
                to: Some(ProcId(2)),
                kind: PacketKind::Data,
                len: 5,
                digest: 99,
            },
            Delivery {
                conn: ConnId(1 << 40),
                from: None,
                to: Some(ProcId(0)),
                kind: PacketKind::Rst,
                len: 0,
                digest: 0,
            },
            Delivery { conn: ConnId(3), from: Some(ProcId(4)), to: None, kind: PacketKind::Syn, len: 0, digest: 0 },
        ];
        for recording in [false, true] {
            let new = || if recording { Trace::recording() } else { Trace::default() };
            let (mut fast, mut general) = (new(), new());
            for (i, d) in deliveries.iter().enumerate() {
                let at = Instant::from_nanos(1_000 * i as u64);
                fast.record_delivery(at, *d);
                let Delivery { conn, from, to, kind, len, digest } = *d;
                general.record(at, TraceEvent::Deliver { conn, from, to, kind, len, digest });
            }
            assert_eq!(fast.hash_hex(), general.hash_hex());
            assert_eq!((fast.len(), fast.records()), (general.len(), general.records()));
        }
    }
}
