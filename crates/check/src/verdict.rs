//! What every checker returns: a verdict, counts and evidence.

use crate::history::{FaultWindow, Op};
use serde::Serialize;
use std::collections::BTreeMap;

/// A checker's conclusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The history satisfies the property.
    Valid,
    /// The search ran out of its budget (or the history holds nothing to judge
    /// with certainty): neither proven nor refuted.
    Unknown,
    /// The history violates the property; the evidence shows where.
    Invalid,
}

impl Verdict {
    /// The verdict of several parts: invalid if any is, else unknown if any is.
    pub fn combine(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    /// `valid`, `invalid` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One finding: a sentence, the operations it is about and the faults active
/// while they ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// What is wrong, as a sentence.
    pub what: String,
    /// The operations involved, as `#index p3 write "k" 5 -> ok [1.200s..1.500s]`.
    pub ops: Vec<String>,
    /// Faults active while the first of them ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
}

impl Evidence {
    /// A finding about `ops`, naming the faults active while the first ran.
    pub fn new(what: String, ops: &[&Op], faults: &[FaultWindow]) -> Evidence {
        Evidence { what, ops: ops.iter().map(|o| o.to_string()).collect(), faults: active(ops, faults) }
    }

    /// [`Evidence::new`], each op's text taken from `texts` if written
    /// there before (and kept there).
    pub fn with_texts(what: String, ops: &[&Op], faults: &[FaultWindow], texts: &mut OpTexts) -> Evidence {
        Evidence { what, ops: ops.iter().map(|op| texts.text(op).to_owned()).collect(), faults: active(ops, faults) }
    }
}

/// The names of the faults active while the first of `ops` ran.
fn active(ops: &[&Op], faults: &[FaultWindow]) -> Vec<String> {
    let Some(op) = ops.first() else { return Vec::new() };
    faults.iter().filter(|f| f.overlaps(op.invoke, op.complete_or_max())).map(|f| f.name.clone()).collect()
}

/// Ops' texts, each written once however many findings show it: a key's
/// final read of a long list is shown beside every element it lost.
#[derive(Debug, Default)]
pub struct OpTexts(BTreeMap<usize, String>);

impl OpTexts {
    /// `op`'s text, as `Op`'s `Display` writes it.
    pub fn text(&mut self, op: &Op) -> &str {
        self.0.entry(op.index).or_insert_with(|| op.to_string())
    }
}

/// Evidence lists are cut here; the counts still count everything.
pub const MAX_EVIDENCE: usize = 20;

/// A checker's full answer.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The checker's name (`linearizable-registers`, `acked-write-loss`, ...).
    pub checker: &'static str,
    /// Its verdict.
    pub verdict: Verdict,
    /// What it counted (keys, ops, lost elements, ...).
    pub counts: BTreeMap<&'static str, u64>,
    /// At most [`MAX_EVIDENCE`] findings, the most telling first.
    pub evidence: Vec<Evidence>,
    /// How many findings `evidence` keeps: [`MAX_EVIDENCE`], or fewer for
    /// a check that needs only its first words ([`crate::Options::evidence`]).
    #[serde(skip)]
    room: usize,
}

/// What a user sees of it (not its room): the pinned digests of the tests hash this.
impl std::fmt::Debug for CheckResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckResult")
            .field("checker", &self.checker)
            .field("verdict", &self.verdict)
            .field("counts", &self.counts)
            .field("evidence", &self.evidence)
            .finish()
    }
}

impl CheckResult {
    /// A result with no counts or evidence yet.
    pub fn new(checker: &'static str) -> CheckResult {
        CheckResult::with_room(checker, MAX_EVIDENCE)
    }

    /// [`CheckResult::new`], keeping at most `room` findings (at most [`MAX_EVIDENCE`]).
    pub fn with_room(checker: &'static str, room: usize) -> CheckResult {
        let room = room.min(MAX_EVIDENCE);
        CheckResult { checker, verdict: Verdict::Valid, counts: BTreeMap::new(), evidence: Vec::new(), room }
    }

    /// Adds `n` to a count.
    pub fn count(&mut self, name: &'static str, n: u64) {
        *self.counts.entry(name).or_insert(0) += n;
    }

    /// Records a violation: the verdict becomes invalid, the evidence is kept
    /// while there is room.
    pub fn violation(&mut self, evidence: Evidence) {
        self.violation_with(|| evidence);
    }

    /// [`CheckResult::violation`], the evidence built only while there is
    /// room for it: wording a long list read is most of a checker's time
    /// when many of its elements are lost.
    pub fn violation_with(&mut self, evidence: impl FnOnce() -> Evidence) {
        self.verdict = Verdict::Invalid;
        if self.evidence.len() < self.room {
            self.evidence.push(evidence());
        }
    }
}
