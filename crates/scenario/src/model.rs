//! The parsed form of a scenario file.

use crate::kind::{Condition, Step};
use crate::yaml::Span;
use sim::{Factory, NetConfig};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A scenario, validated and ready to run.
pub struct Scenario {
    /// The file it came from.
    pub file: String,
    /// The file's text (for diagnostics and the report's source hash).
    pub source: String,
    /// `name:`, also the default report directory.
    pub name: String,
    /// `description:`.
    pub description: String,
    /// `seed:`, used unless `--seed` overrides it.
    pub seed: u64,
    /// Wall-clock time at virtual time zero (ms since the Unix epoch).
    pub epoch_ms: i64,
    /// How often `wait-until` and invariants look at the world.
    pub poll: Duration,
    /// Hosts, in declaration order.
    pub hosts: Vec<HostDecl>,
    /// Nodes, in declaration order.
    pub nodes: Vec<NodeDecl>,
    /// One factory per node, in the same order.
    pub factories: Vec<Factory>,
    /// Latency, loss and bandwidth defaults.
    pub net: NetConfig,
    /// Faults applied at fixed virtual times while the steps run.
    pub timed_faults: Vec<TimedFault>,
    /// Conditions that must hold at every poll while the run goes on.
    pub invariants: Vec<Invariant>,
    /// The steps, in order.
    pub steps: Vec<StepDecl>,
    /// `nemesis:`: random faults drawn from the seed when the run starts.
    pub nemesis: Option<crate::nemesis::NemesisSpec>,
    /// `workloads:`, in declaration order.
    pub workloads: Vec<crate::workload::WorkloadDecl>,
    /// The document as it was validated: includes and parameters filled in,
    /// topology templates expanded (what `chaoslab check --expand` prints).
    pub expanded: crate::yaml::Node,
    /// The `--set name=value` overrides it was read with, for the reproduce line.
    pub sets: Vec<(String, String)>,
    /// The node kinds' selectors, which steps and conditions may use.
    pub selectors: Vec<Box<dyn crate::kind::Selector>>,
    /// The kernel's limit on events at one virtual instant
    /// ([`sim::SimConfig::max_events_per_instant`]). Not in the file: every
    /// scenario gets the kernel's default; tests lower it to hit it quickly.
    pub max_events_per_instant: u64,
}

/// A host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostDecl {
    /// Its name.
    pub name: String,
    /// Its address.
    pub ip: Ipv4Addr,
}

/// A node as declared under `topology.nodes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDecl {
    /// Its name (defaults to its port).
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Name of its host.
    pub host: String,
    /// Its host's address.
    pub ip: Ipv4Addr,
    /// The port it serves on.
    pub port: u16,
    /// Its config file's text, as real `redis.conf`/`sentinel.conf` directives.
    pub config: String,
    /// Where line `i` (0-based) of `config` starts in the scenario file.
    pub config_lines: Vec<Span>,
    /// Whether it starts at time zero.
    pub start: bool,
    /// Its `flavor:`, already checked against its kind's flavors; `None` for the kind's default.
    pub flavor: Option<String>,
    /// Its time costs (`costs:`, its own over the scenario's), for kinds that model them.
    pub costs: crate::costs::Costs,
    /// Where it was declared.
    pub span: Span,
}

impl NodeDecl {
    /// The span of config line `index` (0-based), for a kind's diagnostics; falls
    /// back to the node's declaration when the config is not a block scalar.
    pub fn config_line_span(&self, index: usize) -> Span {
        self.config_lines.get(index).copied().unwrap_or(self.span)
    }

    /// A kind's config errors, `(0-based line, message)`, as diagnostics at their
    /// config lines, each with the same hint.
    pub fn config_errors(&self, errors: Vec<(usize, String)>, hint: &str) -> crate::diag::Diagnostics {
        let mut diags = crate::diag::Diagnostics::new();
        for (line, message) in errors {
            diags.push(crate::diag::Diagnostic::new(self.config_line_span(line), message).with_hint(hint));
        }
        diags
    }
}

/// A step as declared.
pub struct StepDecl {
    /// Where it was declared.
    pub span: Span,
    /// Its key.
    pub action: String,
    /// Its first source line, for reports.
    pub text: String,
    /// Run no earlier than this virtual time.
    pub at: Option<Duration>,
    /// Its `note:`, carried into the report and the trace (unhashed).
    pub note: Option<String>,
    /// What it does.
    pub step: Box<dyn Step>,
}

/// A fault at a fixed virtual time.
pub struct TimedFault {
    /// When.
    pub at: Duration,
    /// Where it was declared.
    pub span: Span,
    /// The step that applies it.
    pub step: Box<dyn Step>,
    /// Its first source line.
    pub text: String,
}

/// A condition that must hold throughout.
pub struct Invariant {
    /// Where it was declared.
    pub span: Span,
    /// What must hold.
    pub condition: Box<dyn Condition>,
    /// Its `name:`, for reports (the condition in words when unnamed).
    pub name: Option<String>,
    /// `expect: violated`: the scenario says it breaks (Redis documents
    /// that it loses acknowledged writes in some partitions); the run
    /// fails if it holds throughout instead.
    pub expect_violated: bool,
    /// `within:` — how long it may stay false before that counts as a
    /// violation (convergence after a heal); none means at once.
    pub within: Option<std::time::Duration>,
}
