//! The `liveness` step: the phase after the faults. It waits for the end of
//! the nemesis's fault window (if the scenario has one), heals everything
//! (partitions removed, crashed hosts powered on, paused nodes resumed, nodes
//! that ran once started again), then waits until its conditions hold. Not
//! holding within `within` fails the run as a liveness failure, not a safety
//! one: the system did not converge, nothing it said was wrong.

use crate::builtin::parse_condition_map;
use crate::diag::Diagnostic;
use crate::error::RunError;
use crate::kind::{Condition, ParseCx, Step, Syntax};
use crate::runner::Runtime;
use crate::yaml::{Node, format_duration};
use serde_json::json;
use sim::{Fault, ProcState};
use std::time::Duration;

/// The step's syntax, for the schema.
pub fn syntax() -> Syntax {
    Syntax {
        name: "liveness",
        doc: "after the nemesis's fault window: heal everything (partitions, hosts, paused and stopped nodes), then wait until the conditions hold; not in time is a liveness failure",
        schema: json!({"allOf": [{"$ref": "#/$defs/condition"}, {"type": "object", "required": ["within"], "properties": {
            "within": {"type": "string", "description": "how long convergence may take after the heal"},
            "poll": {"type": "string"}}}]}),
    }
}

/// `liveness: {within: 30s, <conditions>}` (several conditions: all must hold).
pub fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("liveness")?;
    let within = m
        .get("within")
        .ok_or_else(|| {
            Diagnostic::new(value.span, "`liveness` needs `within`")
                .with_hint("say how long convergence may take after the heal, e.g. `within: 30s`")
        })?
        .duration("within")?;
    let poll = m.get("poll").map(|p| crate::parse::poll_duration(p, "poll")).transpose()?;
    let (condition, _) = parse_condition_map(value, "liveness", &["within", "poll"], cx)?;
    Ok(Box::new(Liveness { condition, within, poll }))
}

struct Liveness {
    condition: Box<dyn Condition>,
    within: Duration,
    poll: Option<Duration>,
}

impl Step for Liveness {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        if let Some(end) = rt.nemesis_window_end() {
            let now = rt.sim.now().saturating_since(sim::Instant::ZERO);
            if now < end {
                rt.advance(end - now)?;
            }
        }
        let healed = heal_all(rt)?;
        let started = rt.sim.now();
        match rt.wait_for(self.condition.as_ref(), self.within, self.poll) {
            Ok(seen) => {
                let took = format_duration(rt.sim.now() - started);
                Ok(format!("healed ({healed}); converged after {took}: {}", seen.observed))
            }
            Err(RunError::Liveness(why)) => Err(RunError::Liveness(format!("liveness: after the heal, {why}"))),
            Err(e) => Err(e),
        }
    }
}

/// Removes every partition, powers crashed hosts on, resumes paused nodes and
/// starts the nodes that ran once and are down. Says what it did.
fn heal_all(rt: &mut Runtime) -> Result<String, RunError> {
    rt.end_nemesis();
    rt.apply(Fault::Heal)?;
    let mut done = Vec::new();
    for h in rt.sim.hosts().collect::<Vec<_>>() {
        if !rt.sim.host_up(h) {
            done.push(format!("host {} on", rt.sim.host_name(h)));
            rt.apply(Fault::StartHost(h))?;
        }
    }
    let nodes: Vec<_> = rt.nodes().map(|(p, _)| p).collect();
    for p in nodes {
        let name = rt.sim.proc_name(p).to_owned();
        match rt.sim.proc_state(p) {
            ProcState::Paused => {
                done.push(format!("{name} resumed"));
                rt.apply(Fault::Resume(p))?;
            }
            ProcState::Down if rt.sim.incarnation(p) > 0 => {
                done.push(format!("{name} started"));
                rt.apply(Fault::Start(p))?;
            }
            _ => {}
        }
    }
    Ok(if done.is_empty() {
        "partitions removed".to_owned()
    } else {
        format!("partitions removed, {}", done.join(", "))
    })
}
