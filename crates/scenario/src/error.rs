//! Why a run stopped short of passing. Steps, conditions and the runner
//! return [`RunError`]; its [`FailureKind`] goes into the report, and the
//! binary maps it to an exit code.

pub use report::FailureKind;

/// A run's failure, classified by what a user does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A step's check did not hold: a reply differed from `expect`, an
    /// `assert` was false, a fault was refused, a reference named nothing.
    #[error("{0}")]
    Check(String),
    /// An invariant was broken while the run went on.
    #[error("{0}")]
    Invariant(String),
    /// Something the scenario waits for never happened within its time: a
    /// `wait-until` that never held.
    #[error("{0}")]
    Liveness(String),
    /// The simulator itself misbehaved (e.g. events at one virtual instant
    /// without end); a bug report, not a finding about the system. The text
    /// (the kernel's `SimBug`) says "simulator bug: ...".
    #[error("{0}")]
    SimulatorBug(String),
    /// The run was stopped from outside before it ended (Ctrl-C, a wall or
    /// virtual time limit); what happened up to then is reported.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl RunError {
    /// The class recorded in the report.
    pub fn kind(&self) -> FailureKind {
        match self {
            RunError::Check(_) => FailureKind::Check,
            RunError::Invariant(_) => FailureKind::Invariant,
            RunError::Liveness(_) => FailureKind::Liveness,
            RunError::SimulatorBug(_) => FailureKind::SimulatorBug,
            RunError::Interrupted(_) => FailureKind::Interrupted,
        }
    }
}

/// A step's own words for why it failed: a failed check.
impl From<String> for RunError {
    fn from(text: String) -> RunError {
        RunError::Check(text)
    }
}

impl From<&str> for RunError {
    fn from(text: &str) -> RunError {
        RunError::Check(text.to_owned())
    }
}
