//! `scenario`: the scenario file format and the runner. It owns the YAML layer
//! with spans ([`yaml`]), diagnostics that point at file:line:column ([`diag`]),
//! composition (`extends:`, `include:`, `params:`; [`compose`]), topology
//! templates ([`expand`]) and node quantifiers ([`quantify`]),
//! validation into a [`Scenario`] ([`parse`]), the extension points node kinds
//! implement ([`kind`]), the built-in steps and conditions ([`builtin`]), the
//! runner ([`runner`]), clients left running in the background
//! ([`background`]), the users' `workloads:` and the checkers' verdicts on
//! their history ([`workload`]), random faults drawn from the seed
//! ([`nemesis`], applied by [`nemesis_run`]) and the phase after them
//! ([`liveness`]), and the JSON Schema ([`schema`]).
//!
//! It depends on `sim` for the kernel and on `report` for the report types; it
//! must not depend on any node kind (kinds register themselves through
//! [`Registry`]) nor print anything or choose exit codes (the binary does).
//!
//! Must not depend on: `resp`, `common`, `redis`, `sentinel`, `redis-client`,
//! `redis-lab`, `sentinel-lab`, `chaoslab`.

pub mod background;
pub mod builtin;
pub mod client_step;
pub mod compose;
pub mod costs;
pub mod diag;
pub mod error;
pub mod expand;
pub mod kind;
pub mod liveness;
pub mod model;
pub mod nemesis;
pub mod nemesis_run;
pub mod parse;
pub mod quantify;
pub mod runner;
pub mod schema;
mod socket_buffers;
pub mod template;
pub mod workload;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use diag::{Diagnostic, Diagnostics};

/// What the nodes of one run may allocate before they hold any data: every
/// node of a scenario lives in one process, so a config that reserves more
/// (`databases 2000000000`) is refused by `check` instead of ending `run` in the
/// machine's out-of-memory killer. Well under a laptop's memory.
pub const RUN_MEMORY_BUDGET: u64 = 4 << 30;
pub use error::{FailureKind, RunError};
pub use kind::{Condition, NodeKind, Observation, ParseCx, Registry, Step, Syntax};
pub use model::{NodeDecl, Scenario};
pub use parse::{Rejected, parse_scenario, parse_scenario_bytes};
pub use runner::{Monitor, Progress, RunOptions, Runtime, run, run_with};
pub use template::{NodeRef, Template};
