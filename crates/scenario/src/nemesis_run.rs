//! A drawn nemesis schedule at run time: each fault becomes two timed faults
//! (its start and, unless instant, its end). When a start fires it resolves
//! its target's role from the nodes' views (`${role:..}`), checks the limits,
//! and applies the same fault steps a scenario writes (`kill`, `partition`,
//! `link`, ...) with literal names; its end undoes them. What each did, as
//! scenario text, goes into report.json's `nemesis`, so `chaoslab shrink`
//! can write the schedule back as explicit timed faults.

use crate::builtin::FaultStep;
use crate::error::RunError;
use crate::kind::Step;
use crate::model::TimedFault;
use crate::nemesis::{Drawn, FaultKind, NemesisSpec, Target};
use crate::runner::Runtime;
use crate::template::{NodeRef, Template};
use crate::yaml::{Span, format_duration};
use sim::{Latency, LinkConfig, ProcState};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

/// One drawn fault and what became of it.
#[derive(Clone, Debug)]
struct Record {
    drawn: Drawn,
    /// `None` until it fires; then `Ok(applied)` or `Err(why skipped)`.
    outcome: Option<Result<Applied, String>>,
    /// Whether it is in force now.
    active: bool,
}

/// What a fired fault did, and how to undo it.
#[derive(Clone, Debug, Default)]
struct Applied {
    targets: Vec<String>,
    apply: Vec<String>,
    undo: Vec<String>,
    /// Nodes it took out of the nemesis's reach until it ends.
    busy: Vec<String>,
    /// The nodes whose links to the target a spike changed.
    peers: Vec<String>,
    master_down: bool,
}

/// The schedule of one run, shared by its timed faults.
pub struct NemesisState {
    records: Vec<Record>,
    max_active: u64,
    max_masters_down: Option<u64>,
    groups: std::collections::BTreeMap<String, Vec<String>>,
    /// When the fault window ends: the liveness step heals after it.
    pub window_end: Duration,
}

/// The shared schedule.
pub type Shared = Rc<RefCell<NemesisState>>;

/// Draws `spec`'s schedule for `seed` and the timed faults that carry it out.
pub fn schedule(spec: &NemesisSpec, seed: u64) -> (Shared, Vec<TimedFault>) {
    let drawn = crate::nemesis::draw(spec, seed);
    let state = Rc::new(RefCell::new(NemesisState {
        records: drawn.iter().map(|d| Record { drawn: d.clone(), outcome: None, active: false }).collect(),
        max_active: spec.max_active,
        max_masters_down: spec.max_masters_down,
        groups: spec.groups.clone(),
        window_end: spec.window.1,
    }));
    let mut timed = Vec::new();
    for (index, d) in drawn.iter().enumerate() {
        let text =
            format!("nemesis #{}: {} {} for {}", index + 1, d.kind.name(), d.target, format_duration(d.duration));
        let start = Box::new(Fire { state: state.clone(), index });
        timed.push(TimedFault { at: d.at, span: NO_SPAN, step: start, text: text.clone() });
        if !d.kind.instant() {
            let end = Box::new(End { state: state.clone(), index });
            timed.push(TimedFault { at: d.at + d.duration, span: NO_SPAN, step: end, text: format!("end of {text}") });
        }
    }
    (state, timed)
}

const NO_SPAN: Span = Span { line: 0, column: 0, offset: 0, len: 0 };

/// The schedule as report.json shows it.
pub fn report(state: &Shared) -> Vec<report::NemesisFault> {
    state.borrow().records.iter().map(record_report).collect()
}

fn record_report(r: &Record) -> report::NemesisFault {
    let applied = r.outcome.as_ref().and_then(|o| o.as_ref().ok());
    report::NemesisFault {
        at_ns: r.drawn.at.as_nanos() as u64,
        kind: r.drawn.kind.name().to_owned(),
        target: r.drawn.target.to_string(),
        duration_ns: r.drawn.duration.as_nanos() as u64,
        targets: applied.map(|a| a.targets.clone()).unwrap_or_default(),
        outcome: match &r.outcome {
            None => "not reached".to_owned(),
            Some(Ok(_)) => "applied".to_owned(),
            Some(Err(why)) => format!("skipped: {why}"),
        },
        apply: applied.map(|a| a.apply.clone()).unwrap_or_default(),
        undo: applied.map(|a| a.undo.clone()).unwrap_or_default(),
    }
}

struct Fire {
    state: Shared,
    index: usize,
}

impl Step for Fire {
    /// The fault is recorded as in force before its steps run: a `stop`
    /// waits for the node's shutdown in virtual time, and the fault's end may
    /// come due meanwhile.
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let plan = plan(rt, &self.state.borrow(), self.index);
        let (applied, steps) = match plan {
            Ok(p) => p,
            Err(why) => return Ok(self.skip(why)),
        };
        let detail = applied.apply.join("; ");
        {
            let mut state = self.state.borrow_mut();
            let record = &mut state.records[self.index];
            record.active = !record.drawn.kind.instant();
            record.outcome = Some(Ok(applied));
        }
        match run_all(rt, &steps) {
            Ok(()) => Ok(detail),
            Err(RunError::Check(why)) => Ok(self.skip(why)),
            Err(e) => Err(e),
        }
    }
}

impl Fire {
    /// Records the fault as skipped, and says why.
    fn skip(&self, why: String) -> String {
        let mut state = self.state.borrow_mut();
        let record = &mut state.records[self.index];
        record.active = false;
        let detail = format!("skipped: {why}");
        record.outcome = Some(Err(why));
        detail
    }
}

struct End {
    state: Shared,
    index: usize,
}

impl Step for End {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let undo = {
            let mut state = self.state.borrow_mut();
            let record = &mut state.records[self.index];
            if !record.active {
                return Ok(String::new());
            }
            record.active = false;
            match &record.outcome {
                Some(Ok(a)) => undo_steps(record.drawn.kind, &mut a.clone()),
                _ => Vec::new(),
            }
        };
        // A node the scenario's own steps brought back already is fine.
        match run_all(rt, &undo) {
            Ok(()) | Err(RunError::Check(_)) => Ok(String::new()),
            Err(e) => Err(e),
        }
    }
}

fn run_all(rt: &mut Runtime, steps: &[FaultStep]) -> Result<(), RunError> {
    steps.iter().try_for_each(|s| s.run(rt).map(|_| ()))
}

fn node(name: &str) -> NodeRef {
    NodeRef { template: Template::parse(name).expect("a node name has no `${`"), span: NO_SPAN }
}

fn q(name: &str) -> String {
    format!("\"{name}\"")
}

fn list(names: &[String]) -> String {
    format!("[{}]", names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", "))
}

/// A node's role as the `role` selector says (`master`/`slave`), if it has one.
fn role(rt: &Runtime, name: &str) -> Option<String> {
    let t = Template::parse(&format!("${{role:{name}}}")).ok()?;
    rt.render(&t).ok()
}

/// The nodes `target` names now, in declaration order.
fn members(rt: &Runtime, state: &NemesisState, target: &Target) -> Vec<String> {
    let named = |p| rt.sim.proc_name(p).to_owned();
    match target {
        Target::Any => rt.nodes().map(|(p, _)| named(p)).collect(),
        Target::Sentinels => rt.nodes().filter(|(_, k)| *k == "sentinel").map(|(p, _)| named(p)).collect(),
        Target::Masters | Target::Replicas => {
            let want = if *target == Target::Masters { "master" } else { "slave" };
            rt.nodes().map(|(p, _)| named(p)).filter(|n| role(rt, n).as_deref() == Some(want)).collect()
        }
        Target::Group(g) => state.groups.get(g).cloned().unwrap_or_default(),
    }
}

/// Decides what fault `index` does now, or why it is skipped.
fn plan(rt: &Runtime, state: &NemesisState, index: usize) -> Result<(Applied, Vec<FaultStep>), String> {
    let d = &state.records[index].drawn;
    let active: Vec<&Applied> = state
        .records
        .iter()
        .filter(|r| r.active)
        .filter_map(|r| r.outcome.as_ref().and_then(|o| o.as_ref().ok()))
        .collect();
    if active.len() as u64 >= state.max_active {
        return Err(format!("{} faults in force (limits.active)", active.len()));
    }
    if d.kind.partitions() && state.records.iter().any(|r| r.active && r.drawn.kind.partitions()) {
        return Err("a partition is in force".to_owned());
    }
    let busy: BTreeSet<&str> = active.iter().flat_map(|a| a.busy.iter().map(String::as_str)).collect();
    let running = |n: &String| rt.sim.proc_by_name(n).is_some_and(|p| rt.sim.proc_state(p) == ProcState::Running);
    let pool: Vec<String> =
        members(rt, state, &d.target).into_iter().filter(|n| running(n) && !busy.contains(n.as_str())).collect();
    let (applied, steps) = build(rt, d, &pool)?;
    if applied.master_down
        && let Some(limit) = state.max_masters_down
    {
        let down = active.iter().filter(|a| a.master_down).count() as u64;
        if down >= limit {
            return Err(format!("{down} masters down (limits.masters-down)"));
        }
    }
    Ok((applied, steps))
}

fn is_master(rt: &Runtime, name: &str) -> bool {
    role(rt, name).as_deref() == Some("master")
}

/// The steps of kind `d.kind` on the candidates `pool`.
fn build(rt: &Runtime, d: &Drawn, pool: &[String]) -> Result<(Applied, Vec<FaultStep>), String> {
    if pool.is_empty() {
        return Err(format!("no running {} to pick", d.target));
    }
    let one = pool[(d.pick % pool.len() as u64) as usize].clone();
    let others = |except: &[String]| -> Vec<String> {
        rt.nodes().map(|(p, _)| rt.sim.proc_name(p).to_owned()).filter(|n| !except.contains(n)).collect()
    };
    let mut a = Applied { targets: vec![one.clone()], busy: vec![one.clone()], ..Applied::default() };
    a.master_down = d.kind.downs_target() && is_master(rt, &one);
    let steps = match d.kind {
        FaultKind::Kill | FaultKind::Stop | FaultKind::Pause | FaultKind::Restart | FaultKind::Wipe => {
            let (verb, step): (&str, fn(NodeRef) -> FaultStep) = match d.kind {
                FaultKind::Kill => ("kill", FaultStep::Kill),
                FaultKind::Stop => ("stop", FaultStep::Stop),
                FaultKind::Pause => ("pause", FaultStep::Pause),
                FaultKind::Restart => ("restart", FaultStep::Restart),
                _ => ("wipe", FaultStep::Wipe),
            };
            a.apply.push(format!("{verb}: {}", q(&one)));
            vec![step(node(&one))]
        }
        FaultKind::CrashHost => crash_host(rt, &one, &mut a),
        FaultKind::PartitionHalves | FaultKind::PartitionMajority => halves(rt, d, pool, &mut a)?,
        FaultKind::Isolate => {
            a.apply.push(format!("partition: [{}]", list(std::slice::from_ref(&one))));
            vec![FaultStep::Partition(vec![vec![node(&one)]])]
        }
        FaultKind::IsolateWithClients => {
            let host = rt.sim.host_name(rt.sim.host_of(rt.sim.proc_by_name(&one).expect("a running node"))).to_owned();
            a.targets = vec![host.clone()];
            a.apply.push(format!("partition: [{}]", list(std::slice::from_ref(&host))));
            vec![FaultStep::Partition(vec![vec![node(&host)]])]
        }
        FaultKind::PartitionOneWay => {
            let to = others(std::slice::from_ref(&one));
            a.apply.push(format!(
                "partition-one-way: {{from: {}, to: {}}}",
                list(std::slice::from_ref(&one)),
                list(&to)
            ));
            vec![FaultStep::OneWay { from: vec![node(&one)], to: to.iter().map(|n| node(n)).collect() }]
        }
        FaultKind::Latency | FaultKind::Loss => links(d, &one, &others(std::slice::from_ref(&one)), &mut a),
        FaultKind::ClockJump => {
            let ms = (d.size % 120_001) as i64 - 60_000;
            let text = if ms < 0 {
                format!("-{}", format_duration(Duration::from_millis(ms.unsigned_abs())))
            } else {
                format_duration(Duration::from_millis(ms as u64))
            };
            a.apply.push(format!("clock: {{node: {}, jump: {text}}}", q(&one)));
            vec![FaultStep::Clock { node: node(&one), offset: None, jump: Some(ms) }]
        }
    };
    undo_steps(d.kind, &mut a);
    Ok((a, steps))
}

/// Powers off the node's host: every node on it goes down (and is busy).
fn crash_host(rt: &Runtime, one: &str, a: &mut Applied) -> Vec<FaultStep> {
    let host = rt.sim.host_of(rt.sim.proc_by_name(one).expect("a running node"));
    let name = rt.sim.host_name(host).to_owned();
    a.busy = rt
        .nodes()
        .filter(|(p, _)| rt.sim.host_of(*p) == host && rt.sim.proc_state(*p) != ProcState::Down)
        .map(|(p, _)| rt.sim.proc_name(p).to_owned())
        .collect();
    a.master_down = a.busy.iter().any(|n| is_master(rt, n));
    a.targets = vec![name.clone()];
    a.apply.push(format!("crash-host: {}", q(&name)));
    vec![FaultStep::CrashHost(node(&name))]
}

/// Two random halves of the pool, or a random minority against the rest.
fn halves(rt: &Runtime, d: &Drawn, pool: &[String], a: &mut Applied) -> Result<Vec<FaultStep>, String> {
    if pool.len() < 2 {
        return Err(format!("fewer than two running {} to split", d.target));
    }
    let mut rng = sim::Rng::stream(d.pick, "nemesis-split");
    let mut order = pool.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let cut = match d.kind {
        FaultKind::PartitionHalves => 1 + rng.below(order.len() as u64 - 1) as usize,
        _ => ((order.len() - 1) / 2).max(1),
    };
    let (side, rest) = order.split_at(cut);
    let (side, rest) = (side.to_vec(), rest.to_vec());
    let smaller = if side.len() <= rest.len() { &side } else { &rest };
    a.master_down = smaller.iter().any(|n| is_master(rt, n));
    a.targets = side.clone();
    a.busy = Vec::new();
    a.apply.push(format!("partition: [{}, {}]", list(&side), list(&rest)));
    let refs = |g: &[String]| g.iter().map(|n| node(n)).collect::<Vec<_>>();
    Ok(vec![FaultStep::Partition(vec![refs(&side), refs(&rest)])])
}

/// Latency or loss on `one`'s links to each of `others`.
fn links(d: &Drawn, one: &str, others: &[String], a: &mut Applied) -> Vec<FaultStep> {
    let (text, config) = match d.kind {
        FaultKind::Latency => {
            let ms = 50 + d.size % 451;
            let latency = Latency::Fixed(Duration::from_millis(ms));
            (format!("latency: {ms}ms"), (true, false, false, LinkConfig { latency, ..LinkConfig::LOOPBACK }))
        }
        _ => {
            let loss = (10 + d.size % 41) as f64 / 100.0;
            (format!("loss: {loss}"), (false, true, false, LinkConfig { loss, ..LinkConfig::LOOPBACK }))
        }
    };
    a.peers = others.to_vec();
    others
        .iter()
        .map(|other| {
            a.apply.push(format!("link: {{between: [{}, {}], {text}}}", q(one), q(other)));
            FaultStep::Link { a: node(one), b: node(other), config }
        })
        .collect()
}

/// The steps that end an applied fault; records them as text in `a.undo`.
fn undo_steps(kind: FaultKind, a: &mut Applied) -> Vec<FaultStep> {
    let one = a.targets.first().cloned().unwrap_or_default();
    let start = |n: &String| (format!("start: {}", q(n)), FaultStep::Start(node(n)));
    let (texts, steps): (Vec<String>, Vec<FaultStep>) = match kind {
        FaultKind::Kill | FaultKind::Stop | FaultKind::Wipe => [start(&one)].into_iter().unzip(),
        FaultKind::Pause => [(format!("resume: {}", q(&one)), FaultStep::Resume(node(&one)))].into_iter().unzip(),
        FaultKind::CrashHost => std::iter::once((format!("start-host: {}", q(&one)), FaultStep::StartHost(node(&one))))
            .chain(a.busy.iter().map(start))
            .unzip(),
        FaultKind::Latency | FaultKind::Loss => a
            .peers
            .iter()
            .map(|other| {
                let text = format!("link: {{between: [{}, {}]}}", q(&one), q(other));
                let reset = (false, false, false, LinkConfig::LOOPBACK);
                (text, FaultStep::Link { a: node(&one), b: node(other), config: reset })
            })
            .unzip(),
        FaultKind::Restart | FaultKind::ClockJump => (Vec::new(), Vec::new()),
        _ => (vec!["heal: null".to_owned()], vec![FaultStep::Heal]),
    };
    a.undo = texts;
    steps
}

impl NemesisState {
    /// Marks every fault ended (the liveness step healed them all).
    pub fn end_all(&mut self) {
        for r in &mut self.records {
            r.active = false;
        }
    }
}
