//! The run as a story in a few lines, for the terminal: the faults that were
//! applied and the role changes the nodes published, each with its virtual
//! time, in the order they happened. Read from the finished trace.

use crate::{RunReport, seconds};
use sim::{Sim, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// One line of the story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    /// Virtual time, ns.
    pub at_ns: u64,
    /// What happened, in words ("kill 6381", "6384 is now master").
    pub text: String,
}

impl Beat {
    /// `  12.345s  kill 6381`.
    pub fn line(&self) -> String {
        format!("{:>10}  {}", seconds(self.at_ns), self.text)
    }
}

/// The faults and role changes of a run, at most `max` of them (the first
/// ones), and how many more there were. Not told: the nodes' start before the
/// first step, a node's first role (where it starts, not a change), and the
/// client processes that steps start and stop (`redis-cli#7`).
pub fn beats(sim: &Sim, report: &RunReport, max: usize) -> (Vec<Beat>, usize) {
    let nodes: BTreeSet<&str> = report.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut told = crate::timeline::ToldFaults::new(sim, |n| nodes.contains(n));
    let mut out = Vec::new();
    let mut more = 0;
    let mut roles: BTreeMap<sim::ProcId, &str> = BTreeMap::new();
    for rec in sim.trace().records() {
        let fault = told.see(&rec.event);
        let text = match &rec.event {
            TraceEvent::Fault { .. } if let Some(text) = fault => text.clone(),
            TraceEvent::Observe { proc, obs } => {
                let sim::Observation::Role { role, .. } = &**obs else { continue };
                match roles.insert(*proc, role.name()) {
                    Some(before) if before != role.name() => {}
                    _ => continue,
                }
                format!("{} is now {}", sim.proc_name(*proc), role.name())
            }
            _ => continue,
        };
        if out.len() < max {
            out.push(Beat { at_ns: rec.at.as_nanos(), text });
        } else {
            more += 1;
        }
    }
    (out, more)
}
