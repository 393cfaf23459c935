//! Runs a scenario: builds the topology on the kernel, starts the nodes, runs the
//! steps in order (applying timed faults and checking invariants as virtual time
//! passes), and produces the report. The first failing step or invariant ends the
//! run; the remaining steps are reported as skipped. So does a simulator bug
//! ([`sim::SimBug`], e.g. a zero-delay loop): every wait here runs the kernel
//! through [`Runtime::advance`] or [`Runtime::advance_until`], which stop with
//! the bug as the step's error once the kernel has stopped.

use crate::error::FailureKind;
pub use crate::error::RunError;
use crate::kind::{Condition, Observation, Registry};
use crate::model::{Scenario, TimedFault};
use crate::template::{NodeRef, Template};
use crate::yaml::format_duration;
use report::{CheckReport, NodeReport, Outcome, RunReport, ScenarioInfo, StepReport, Verdict};
use sim::{Endpoint, Fault, HostId, Instant, LinkConfig, ProcId, ProcState, Sim, SimConfig};
use std::collections::BTreeMap;
use std::time::Duration;

/// The state steps and conditions work on.
pub struct Runtime {
    /// The simulation.
    pub sim: Sim,
    /// Values captured so far, by name.
    pub captures: BTreeMap<String, String>,
    poll: Duration,
    net: sim::NetConfig,
    timed: Vec<TimedFault>,
    next_timed: usize,
    invariants: Vec<InvariantState>,
    kinds: BTreeMap<ProcId, String>,
    addrs: BTreeMap<ProcId, std::net::SocketAddrV4>,
    /// The first node (in process order) at each address: invariants look
    /// replicas' masters up by address at every poll.
    by_addr: BTreeMap<std::net::SocketAddrV4, ProcId>,
    max_virtual: Option<Instant>,
    monitor: Option<Box<dyn Monitor>>,
    /// The step running now (1-based) and its text, for progress lines.
    step: (usize, String),
    /// Steps in the scenario.
    steps: usize,
    /// The node kinds' `${name:arg}` selectors.
    selectors: Vec<Box<dyn crate::kind::Selector>>,
    /// Clients started in the background, by name.
    pub(crate) clients: BTreeMap<String, crate::background::Background>,
    /// An error reply the running step received and no `expect` checked.
    unchecked_error: Option<String>,
    /// `workloads:` and their state.
    pub(crate) workloads: crate::workload::Workloads,
    /// Faults applied to nodes, with their virtual time, for the history.
    pub(crate) fault_log: Vec<(u64, String)>,
    /// The faults of `fault_log` in force now, as it names them (kept as it grows).
    in_force: Vec<String>,
    /// The drawn `nemesis:` schedule, if the scenario has one.
    nemesis: Option<crate::nemesis_run::Shared>,
    /// [`Runtime::shared_words`]: by name, the moment they were read at and the words.
    shared: std::cell::RefCell<Vec<(&'static str, WorldStamp, Vec<u64>)>>,
}

/// Kernel events run between two looks at the [`Monitor`]: a few milliseconds
/// of wall time.
const SLICE_EVENTS: u64 = 1 << 16;

/// What a run shows its caller as it goes.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// Virtual time now.
    pub now: Instant,
    /// Kernel events processed so far.
    pub events: u64,
    /// The step running (1-based) and how many there are.
    pub step: usize,
    /// Steps in the scenario.
    pub steps: usize,
    /// The running step's text.
    pub step_text: &'a str,
}

/// The caller's view into a running scenario: shown progress between slices
/// of kernel work, and the chance to stop it (Ctrl-C, a wall-clock budget).
/// The run only reports to it and asks it; nothing it says can change what
/// the simulation does, only end it early.
pub trait Monitor {
    /// Progress so far; `Some(reason)` stops the run, which fails as interrupted.
    fn tick(&mut self, progress: &Progress<'_>) -> Option<String>;
}

/// How the caller steers a run.
#[derive(Default)]
pub struct RunOptions {
    /// Stop (as interrupted) when virtual time would pass this much.
    pub max_virtual: Option<Duration>,
    /// Told of progress, asked whether to stop.
    pub monitor: Option<Box<dyn Monitor>>,
    /// Keep no trace records (no trace.jsonl, timeline or story can be written
    /// from the run); the trace hash and event count are the same as with them.
    pub no_trace_records: bool,
    /// Leave the report's `history_jsonl` empty (no history.jsonl can be
    /// written from the run, and the events are dropped once judged); the
    /// checkers judge the same history.
    pub no_history_text: bool,
    /// Have each workload checker word only its first finding as evidence
    /// (the run's failure names that one): for runs whose reports nobody
    /// reads whole, an exploration's seeds. Verdicts and counts are the same.
    pub first_evidence_only: bool,
}

struct InvariantState {
    line: u32,
    condition: Box<dyn Condition>,
    name: Option<String>,
    expect_violated: bool,
    within: Option<Duration>,
    evaluations: u64,
    /// When it was first seen false in the current stretch of falseness.
    false_since: Option<Instant>,
    violated: Option<Violation>,
    /// What the last look saw (`Some(observed)`: broken) and the world it
    /// saw ([`Runtime::world_stamp`]): a condition that changes only with
    /// events sees the same in the same world, so it is not asked again.
    last_look: Option<(WorldStamp, Option<String>)>,
    /// The condition's [`Condition::inputs`] at the look that last observed
    /// (`None`: it could not tell): a poll with the same words reuses what
    /// that look saw.
    inputs: Option<Vec<u64>>,
    /// This poll's words, kept for their allocation.
    scratch: Vec<u64>,
}

/// Kernel events processed, hashed trace records and the step running:
/// equal stamps, nothing happened in between (no event ran, no fault was
/// applied, no step began).
type WorldStamp = (u64, u64, usize);

/// An invariant's first violation, as the report shows it.
struct Violation {
    at: Instant,
    /// When it turned false (earlier than `at` with a `within`).
    since: Instant,
    observed: String,
    /// Faults in force at that moment.
    faults: Vec<String>,
    /// The step running then (`#n: text`), or empty before the first.
    step: String,
}

impl InvariantState {
    /// Its name, or the condition in words.
    fn title(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.condition.describe())
    }

    /// Looks once at `now`: `Some(observed)` when this look makes it violated.
    fn look(&mut self, rt: &Runtime, now: Instant) -> Option<String> {
        self.evaluations += 1;
        let stamp = rt.world_stamp();
        let broken = match &mut self.last_look {
            Some((at, broken)) if *at == stamp && self.condition.repeats_when_nothing_happened() => broken.clone(),
            last => {
                // Something happened: the condition's words tell whether it
                // is something it reads.
                self.scratch.clear();
                let known = self.condition.inputs(rt, &mut self.scratch);
                match last {
                    Some((at, broken)) if known && self.inputs.as_ref() == Some(&self.scratch) => {
                        #[cfg(debug_assertions)]
                        {
                            let fresh = observe(&*self.condition, rt);
                            assert_eq!(
                                &fresh,
                                broken,
                                "invariant `{}`: its inputs did not change, its observation did",
                                self.condition.describe()
                            );
                        }
                        *at = stamp;
                        broken.clone()
                    }
                    _ => {
                        let broken = observe(&*self.condition, rt);
                        self.last_look = Some((stamp, broken.clone()));
                        match (&mut self.inputs, known) {
                            (Some(words), true) => std::mem::swap(words, &mut self.scratch),
                            (inputs, true) => *inputs = Some(std::mem::take(&mut self.scratch)),
                            (inputs, false) => *inputs = None,
                        }
                        broken
                    }
                }
            }
        };
        let Some(observed) = broken else {
            self.false_since = None;
            return None;
        };
        let since = *self.false_since.get_or_insert(now);
        match self.within {
            Some(w) if now - since < w => None,
            _ => Some(observed),
        }
    }
}

/// What a look at `condition` sees: `Some(observed)` when it does not hold.
fn observe(condition: &dyn Condition, rt: &Runtime) -> Option<String> {
    match condition.observe(rt) {
        Ok(o) if o.holds => None,
        Ok(o) => Some(o.observed),
        Err(e) => Some(e.to_string()),
    }
}

/// The longest the runner waits for the nodes it started to listen before the
/// first step: a server's start-up time is some milliseconds (more with a big
/// RDB or AOF to load); one that never listens (a bad config) is left to fail.
const LISTEN_WAIT: Duration = Duration::from_secs(2);

impl Runtime {
    /// What tells one moment of the run from another for event-driven conditions.
    fn world_stamp(&self) -> WorldStamp {
        (self.sim.events_processed(), self.sim.trace().len(), self.step.0)
    }

    /// When the nemesis's fault window ends, if the scenario has one.
    pub fn nemesis_window_end(&self) -> Option<Duration> {
        self.nemesis.as_ref().map(|n| n.borrow().window_end)
    }

    /// Marks the nemesis's faults ended: the liveness phase healed them.
    pub fn end_nemesis(&mut self) {
        if let Some(n) = &self.nemesis {
            n.borrow_mut().end_all();
        }
    }

    /// Runs until every node of `started` that is still running listens, as
    /// a lab waits for its containers to be ready before its first command,
    /// or [`LISTEN_WAIT`] has passed.
    pub fn await_listening(&mut self, started: &[ProcId]) -> Result<(), RunError> {
        let deadline = self.sim.now() + LISTEN_WAIT;
        let ready = |rt: &Runtime| {
            Ok(started.iter().all(|&p| rt.sim.proc_state(p) != ProcState::Running || rt.sim.is_listening(p)))
        };
        if ready(self)? {
            return Ok(());
        }
        self.advance_until(deadline, ready).map(|_| ())
    }

    /// The running step's index (1-based; 0 before the first).
    pub fn step_index(&self) -> usize {
        self.step.0
    }

    /// Flags an error reply the running step received and no `expect`
    /// checked: the step passes, and the report says so.
    pub fn flag_unchecked_error(&mut self, reply: &str) {
        self.unchecked_error.get_or_insert_with(|| reply.to_owned());
    }

    /// The process a reference names (after filling in captures).
    pub fn proc(&self, r: &NodeRef) -> Result<ProcId, RunError> {
        // A plain name (the usual case, asked at every poll) renders as itself: no copy.
        if let Some(name) = r.template.literal()
            && let Some(p) = self.sim.proc_by_name(name)
        {
            return Ok(p);
        }
        let name = self.render(&r.template)?;
        self.sim.proc_by_name(&name).ok_or_else(|| RunError::Check(format!("`{name}` (from {r}) is not a node")))
    }

    /// Where a client step connects: the node's address, and the host the
    /// client runs on (`from`, or the node's own host).
    pub fn client_endpoints(
        &self,
        node: &NodeRef,
        from: Option<&NodeRef>,
    ) -> Result<(std::net::SocketAddrV4, HostId), RunError> {
        let target = self.proc(node)?;
        let addr = self.node_addr(target).ok_or_else(|| format!("{node} has no address"))?;
        let host = match from {
            Some(f) => self.host(f)?,
            None => self.sim.host_of(target),
        };
        Ok((addr, host))
    }

    /// The host a reference names: a host by name, or the host of a node.
    pub fn host(&self, r: &NodeRef) -> Result<HostId, RunError> {
        let name = self.render(&r.template)?;
        if let Some(h) = self.sim.host_by_name(&name) {
            return Ok(h);
        }
        self.sim
            .proc_by_name(&name)
            .map(|p| self.sim.host_of(p))
            .ok_or_else(|| RunError::Check(format!("`{name}` (from {r}) is neither a host nor a node")))
    }

    /// A partition or link endpoint: a node, a client, or a whole host.
    pub fn endpoint(&self, r: &NodeRef) -> Result<Endpoint, RunError> {
        let name = self.render(&r.template)?;
        if let Some(p) = self.sim.proc_by_name(&name) {
            return Ok(Endpoint::Process(p));
        }
        self.sim
            .host_by_name(&name)
            .map(Endpoint::Host)
            .ok_or_else(|| RunError::Check(format!("`{name}` (from {r}) is neither a node nor a host")))
    }

    /// The link two endpoints have when no `link` step changed it.
    pub fn default_link(&self, a: Endpoint, b: Endpoint) -> LinkConfig {
        let host = |e: Endpoint| match e {
            Endpoint::Host(h) => h,
            Endpoint::Process(p) => self.sim.host_of(p),
        };
        if host(a) == host(b) { self.net.same_host } else { self.net.cross_host }
    }

    /// Fills in `${capture}` references and resolves `${selector:arg}` forms
    /// from the nodes' views as they are now.
    pub fn render(&self, t: &Template) -> Result<String, RunError> {
        let select = |name: &str, arg: &str| match self.selectors.iter().find(|s| s.name() == name) {
            Some(s) => s.resolve(arg, self).map_err(|why| format!("`${{{name}:{arg}}}`: {why}")),
            None => Err(format!("`${{{name}:{arg}}}` is no selector")),
        };
        t.render_with(&self.captures, &select).map_err(RunError::Check)
    }

    /// The nodes of the scenario (not clients), in declaration order, with their kinds.
    pub fn nodes(&self) -> impl Iterator<Item = (ProcId, &str)> {
        self.kinds.iter().map(|(p, k)| (*p, k.as_str()))
    }

    /// The kind of a node, if it is one (clients have none).
    pub fn kind_of(&self, p: ProcId) -> Option<&str> {
        self.kinds.get(&p).map(String::as_str)
    }

    /// The address a node serves on (its host's IP and its `port:`).
    pub fn node_addr(&self, p: ProcId) -> Option<std::net::SocketAddrV4> {
        self.addrs.get(&p).copied()
    }

    /// The node (the first, in process order, if several share it) serving at `addr`.
    pub fn node_at_addr(&self, addr: std::net::SocketAddrV4) -> Option<ProcId> {
        self.by_addr.get(&addr).copied()
    }

    /// How often waits look at the world.
    pub fn poll(&self) -> Duration {
        self.poll
    }

    /// Applies a fault now; refusing it (e.g. killing a node that is down) fails the step.
    pub fn apply(&mut self, fault: Fault) -> Result<(), RunError> {
        let client = match &fault {
            Fault::Start(p) | Fault::Kill(p) | Fault::Stop(p) => !self.kinds.contains_key(p),
            _ => false,
        };
        if !client {
            let text = fault.describe(&|p| self.sim.proc_name(p).to_owned(), &|h| self.sim.host_name(h).to_owned());
            self.fault_log.push((self.sim.now().as_nanos(), text));
            self.in_force = crate::workload::fault_windows(&self.fault_log)
                .into_iter()
                .filter(|w| w.end.is_none())
                .map(|w| w.name)
                .collect();
        }
        self.sim.apply(fault).map_err(|e| RunError::Check(e.to_string()))
    }

    /// Lets `d` of virtual time pass, applying timed faults and checking invariants.
    pub fn advance(&mut self, d: Duration) -> Result<(), RunError> {
        let until = self.sim.now() + d;
        if !self.invariants.is_empty() {
            let event_driven = self.invariants_follow_events();
            return self.poll_until(until, |_| Ok(false), event_driven).map(|_| ());
        }
        // Nothing to poll: jump from timed fault to timed fault, so a `sleep: 30d`
        // costs what its events cost, not 259 million polls.
        loop {
            let next = match self.timed.get(self.next_timed) {
                Some(f) if Instant::ZERO + f.at <= until => Instant::ZERO + f.at,
                _ => until,
            };
            self.run_kernel(next)?;
            self.apply_due_faults()?;
            if next >= until {
                return Ok(());
            }
        }
    }

    /// Polls `condition` until it holds or `within` has passed; the timeout error
    /// says what was observed last.
    pub fn wait_for(
        &mut self,
        condition: &dyn Condition,
        within: Duration,
        poll: Option<Duration>,
    ) -> Result<Observation, RunError> {
        let deadline = self.sim.now() + within;
        let mut last = None;
        let saved = self.poll;
        if let Some(p) = poll {
            self.poll = p;
        }
        let event_driven = condition.changes_only_with_events() && self.invariants_follow_events();
        let observe = |rt: &Runtime| {
            let o = condition.observe(rt)?;
            let holds = o.holds;
            last = Some(o);
            Ok(holds)
        };
        let result = self.poll_until(deadline, observe, event_driven);
        self.poll = saved;
        match result? {
            true => Ok(last.expect("observed at least once")),
            false => Err(RunError::Liveness(format!(
                "timed out after {} waiting for {}; last observed: {}",
                format_duration(within),
                condition.describe(),
                last.map_or_else(|| "nothing".to_owned(), |o| o.observed)
            ))),
        }
    }

    /// Runs until `done` returns true (checked now and at every poll) or `until`.
    /// Returns whether `done` held. Kinds use this to wait for a reply.
    pub fn advance_until(
        &mut self,
        until: Instant,
        done: impl FnMut(&Runtime) -> Result<bool, RunError>,
    ) -> Result<bool, RunError> {
        self.poll_until(until, done, false)
    }

    /// Whether every invariant changes only with events.
    fn invariants_follow_events(&self) -> bool {
        // A `within` runs out with time alone: its polls cannot be skipped.
        self.invariants.iter().all(|i| i.within.is_none() && i.condition.changes_only_with_events())
    }

    /// [`Runtime::advance_until`]; with `event_driven` (`done` and every
    /// invariant change only with events) a stretch with no kernel event
    /// skips to the first poll at or after the next event: the polls skipped
    /// would all have seen what the last one saw.
    fn poll_until(
        &mut self,
        until: Instant,
        mut done: impl FnMut(&Runtime) -> Result<bool, RunError>,
        event_driven: bool,
    ) -> Result<bool, RunError> {
        loop {
            self.check_invariants()?;
            if done(self)? {
                return Ok(true);
            }
            let now = self.sim.now();
            if now >= until {
                return Ok(false);
            }
            let mut next = (now + self.poll).min(until);
            if event_driven {
                next = self.first_poll_after_idle(now, next).min(until);
            }
            if let Some(f) = self.timed.get(self.next_timed) {
                next = next.min(Instant::ZERO + f.at);
            }
            self.run_kernel(next)?;
            self.apply_due_faults()?;
        }
    }

    /// The poll (`now + k * poll`) that is the first at or after the kernel's
    /// next event, given the next poll due; no event, no later poll needed
    /// before the deadline.
    fn first_poll_after_idle(&mut self, now: Instant, next_poll: Instant) -> Instant {
        let Some(event) = self.sim.next_event_at() else { return Instant::NEVER };
        if event <= next_poll {
            return next_poll;
        }
        let poll = self.poll.as_nanos().max(1);
        let polls = event.saturating_since(now).as_nanos().div_ceil(poll);
        now + Duration::from_nanos(u64::try_from(polls * poll).unwrap_or(u64::MAX))
    }

    /// Runs the kernel to `until` in slices, looking at the monitor between
    /// them; the same events in the same order as one `Sim::run_until`.
    fn run_kernel(&mut self, until: Instant) -> Result<(), RunError> {
        let target = self.max_virtual.map_or(until, |limit| until.min(limit));
        loop {
            let arrived = self.sim.run_until_or(target, SLICE_EVENTS);
            self.check_bug()?;
            self.look_at_monitor()?;
            if arrived {
                break;
            }
        }
        match self.max_virtual {
            Some(limit) if until > limit => Err(RunError::Interrupted(format!(
                "stopped at the virtual time limit ({})",
                format_duration(limit.saturating_since(Instant::ZERO))
            ))),
            _ => Ok(()),
        }
    }

    fn look_at_monitor(&mut self) -> Result<(), RunError> {
        let Some(monitor) = self.monitor.as_mut() else { return Ok(()) };
        let progress = Progress {
            now: self.sim.now(),
            events: self.sim.events_processed(),
            step: self.step.0,
            steps: self.steps,
            step_text: &self.step.1,
        };
        match monitor.tick(&progress) {
            Some(reason) => Err(RunError::Interrupted(reason)),
            None => Ok(()),
        }
    }

    /// The kernel's [`sim::SimBug`] as an error, once it has stopped on one.
    fn check_bug(&self) -> Result<(), RunError> {
        match self.sim.bug() {
            Some(bug) => Err(RunError::SimulatorBug(bug.to_string())),
            None => Ok(()),
        }
    }

    fn apply_due_faults(&mut self) -> Result<(), RunError> {
        while let Some(f) = self.timed.get(self.next_timed) {
            if Instant::ZERO + f.at > self.sim.now() {
                break;
            }
            self.next_timed += 1;
            let step = std::mem::replace(&mut self.timed[self.next_timed - 1].step, Box::new(Noop));
            let text = self.timed[self.next_timed - 1].text.clone();
            self.sim.record("timed-fault", text.clone());
            let result = step.run(self);
            self.timed[self.next_timed - 1].step = step;
            result.map_err(|e| match e {
                // The fault is fine; an invariant it broke fails the run as such.
                RunError::Invariant(_) => e,
                e => RunError::Check(format!("timed fault `{text}` failed: {e}")),
            })?;
        }
        Ok(())
    }

    fn check_invariants(&mut self) -> Result<(), RunError> {
        let mut invariants = std::mem::take(&mut self.invariants);
        let mut failure = None;
        let now = self.sim.now();
        for inv in invariants.iter_mut().filter(|i| i.violated.is_none()) {
            let Some(observed) = inv.look(self, now) else { continue };
            let since = inv.false_since.unwrap_or(now);
            let faults = self.in_force.clone();
            let step = if self.step.0 == 0 { String::new() } else { format!("#{}: {}", self.step.0, self.step.1) };
            if inv.expect_violated {
                self.sim.remark(
                    "invariant",
                    format!("{} (line {}) violated as expected: {observed}", inv.title(), inv.line),
                );
            } else {
                let msg = format!("invariant {} (line {}) broken: {observed}", inv.title(), inv.line);
                failure.get_or_insert(msg);
            }
            inv.violated = Some(Violation { at: now, since, observed, faults, step });
        }
        self.invariants = invariants;
        match failure {
            Some(f) => Err(RunError::Invariant(f)),
            None => Ok(()),
        }
    }

    /// Appends to `out` the words `fill` reads of the run for `name`, read
    /// once per moment of the run: the first condition that asks after
    /// something happened (an event, a trace record, a step) runs `fill`,
    /// and every other asking before anything happens again gets the same
    /// words. Several conditions that read the same state at one poll (the
    /// cluster invariants each read every node's table) so read it once.
    /// `fill` must read the run's state alone, the same whoever asks, and
    /// not ask for shared words itself.
    pub fn shared_words(&self, name: &'static str, out: &mut Vec<u64>, fill: impl FnOnce(&mut Vec<u64>)) {
        let stamp = self.world_stamp();
        let mut words = {
            let mut shared = self.shared.borrow_mut();
            match shared.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, at, words)) if *at == stamp => {
                    out.extend_from_slice(words);
                    return;
                }
                Some((_, _, words)) => std::mem::take(words),
                None => Vec::new(),
            }
        };
        words.clear();
        fill(&mut words);
        out.extend_from_slice(&words);
        let mut shared = self.shared.borrow_mut();
        match shared.iter_mut().find(|(n, _, _)| *n == name) {
            Some(entry) => *entry = (name, stamp, words),
            None => shared.push((name, stamp, words)),
        }
    }

    /// How many faults have been applied to nodes so far: the faults in
    /// force ([`Runtime::faults_in_force`]) change only when it grows, so
    /// a condition's [`Condition::inputs`] can tell them by it.
    pub fn faults_applied(&self) -> u64 {
        self.fault_log.len() as u64
    }

    /// The faults in force now, as the fault log names them (`partition ...`,
    /// `pause 6381`, `kill 6381` until the node starts again): what a
    /// convergence invariant waits out before it judges.
    pub fn faults_in_force(&self) -> &[String] {
        &self.in_force
    }

    /// The first `expect: violated` invariant that held throughout, as a failure.
    fn unviolated_expectation(&self) -> Option<RunError> {
        self.invariants.iter().find(|i| i.expect_violated && i.violated.is_none()).map(|i| {
            RunError::Invariant(format!(
                "invariant {} (line {}) was expected to be violated but held at all {} evaluations",
                i.title(),
                i.line,
                i.evaluations
            ))
        })
    }
}

struct Noop;

impl crate::kind::Step for Noop {
    fn run(&self, _: &mut Runtime) -> Result<String, RunError> {
        Ok(String::new())
    }
}

/// Runs `scenario` with `seed` (or its own), returning the report (without wall
/// time, which the caller measures) and the finished simulation.
pub fn run(scenario: Scenario, seed: Option<u64>, registry: &Registry, reproduce: String) -> (RunReport, Sim) {
    run_with(scenario, seed, registry, reproduce, RunOptions::default())
}

/// [`run`], steered by `options`: limits and a monitor.
pub fn run_with(
    mut scenario: Scenario,
    seed: Option<u64>,
    registry: &Registry,
    reproduce: String,
    options: RunOptions,
) -> (RunReport, Sim) {
    let seed = seed.unwrap_or(scenario.seed);
    let mut sim = Sim::new(SimConfig {
        seed,
        epoch_ms: scenario.epoch_ms,
        net: scenario.net,
        record_trace: !options.no_trace_records,
        max_events_per_instant: scenario.max_events_per_instant,
    });
    for h in &scenario.hosts {
        sim.add_host(&h.name, h.ip);
    }
    let mut kinds = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    let factories = std::mem::take(&mut scenario.factories);
    for (node, factory) in scenario.nodes.iter().zip(factories) {
        let host = sim.host_by_name(&node.host).expect("parser declared every host");
        let p = sim.add_process(host, &node.name, factory);
        kinds.insert(p, node.kind.clone());
        addrs.insert(p, std::net::SocketAddrV4::new(node.ip, node.port));
    }
    let invariants = std::mem::take(&mut scenario.invariants)
        .into_iter()
        .map(|i| InvariantState {
            line: i.span.line,
            condition: i.condition,
            name: i.name,
            expect_violated: i.expect_violated,
            within: i.within,
            evaluations: 0,
            false_since: None,
            violated: None,
            last_look: None,
            inputs: None,
            scratch: Vec::new(),
        })
        .collect();
    let mut timed = std::mem::take(&mut scenario.timed_faults);
    let nemesis = scenario.nemesis.take().map(|spec| {
        let (state, drawn) = crate::nemesis_run::schedule(&spec, seed);
        timed.extend(drawn);
        // Stable: at one instant the scenario's own faults, then the nemesis's in drawing order.
        timed.sort_by_key(|f| f.at);
        state
    });
    let mut rt = Runtime {
        sim,
        captures: BTreeMap::new(),
        poll: scenario.poll,
        net: scenario.net,
        timed,
        next_timed: 0,
        invariants,
        kinds,
        by_addr: addrs.iter().rev().map(|(&p, &a)| (a, p)).collect(),
        addrs,
        max_virtual: options.max_virtual.map(|d| Instant::ZERO + d),
        monitor: options.monitor,
        step: (0, String::new()),
        steps: scenario.steps.len(),
        selectors: std::mem::take(&mut scenario.selectors),
        clients: BTreeMap::new(),
        unchecked_error: None,
        workloads: crate::workload::Workloads::new(std::mem::take(&mut scenario.workloads)),
        fault_log: Vec::new(),
        in_force: Vec::new(),
        nemesis,
        shared: Default::default(),
    };
    let mut started = Vec::new();
    for (node, p) in scenario.nodes.iter().zip(rt.sim.procs().collect::<Vec<_>>()) {
        if node.start {
            rt.sim.apply(Fault::Start(p)).expect("a fresh node starts");
            started.push(p);
        }
    }
    let ready = rt.await_listening(&started);

    let mut steps = Vec::new();
    // The first failure: its sentence for the report, and what it was.
    let mut failure: Option<(String, RunError)> = ready.err().map(|e| (format!("while the nodes started up: {e}"), e));
    for (i, step) in scenario.steps.iter().enumerate() {
        let index = i + 1;
        let mut report = StepReport {
            index,
            line: step.span.line,
            action: step.action.clone(),
            text: step.text.clone(),
            started_ns: rt.sim.now().as_nanos(),
            finished_ns: rt.sim.now().as_nanos(),
            outcome: Outcome::Skipped,
            detail: String::new(),
            note: step.note.clone(),
            unchecked_error: None,
        };
        if failure.is_none() {
            rt.sim.mark("step", format!("#{index} line {}: {}", step.span.line, step.text));
            if let Some(note) = &step.note {
                rt.sim.remark("note", format!("#{index}: {note}"));
            }
            rt.step = (index, step.text.clone());
            let result = match step.at {
                Some(at) if Instant::ZERO + at > rt.sim.now() => rt.advance((Instant::ZERO + at) - rt.sim.now()),
                _ => Ok(()),
            }
            .and_then(|()| {
                report.started_ns = rt.sim.now().as_nanos();
                step.step.run(&mut rt)
            })
            .and_then(|detail| rt.check_invariants().map(|()| detail));
            report.finished_ns = rt.sim.now().as_nanos();
            report.unchecked_error = rt.unchecked_error.take();
            match result {
                Ok(detail) => {
                    report.outcome = Outcome::Pass;
                    report.detail = detail;
                }
                Err(e) => {
                    report.outcome = Outcome::Fail;
                    rt.sim.record("failure", format!("step #{index}: {e}"));
                    report.detail = e.to_string();
                    let text = format!("step {index} (line {}: {}) failed: {e}", step.span.line, step.text);
                    failure = Some((text, e));
                }
            }
        }
        steps.push(report);
    }
    if let (None, Some(e)) = (&failure, rt.unviolated_expectation()) {
        rt.sim.record("failure", e.to_string());
        failure = Some((e.to_string(), e));
    }
    // A step that ran the kernel without waiting through `advance` (events due
    // now, say) may have hit a simulator bug without noticing: the run fails.
    if let (None, Some(bug)) = (&failure, rt.sim.bug()) {
        let e = RunError::SimulatorBug(bug.to_string());
        rt.sim.record("failure", e.to_string());
        failure = Some((e.to_string(), e));
    }

    let (history, history_jsonl) = match failure.as_ref().map(|(_, e)| e.kind()) {
        Some(FailureKind::SimulatorBug | FailureKind::Interrupted) => (None, report::HistoryText::default()),
        _ => {
            let (summary, jsonl, error) =
                crate::workload::finish(&mut rt, !options.no_history_text, options.first_evidence_only);
            if let (None, Some(e)) = (&failure, error) {
                rt.sim.record("failure", format!("workloads: {e}"));
                failure = Some((format!("workloads: {e}"), e));
            }
            (summary, jsonl)
        }
    };
    let clients = rt.finish_background();
    let checks: Vec<CheckReport> = rt
        .invariants
        .iter()
        .map(|i| {
            let v = i.violated.as_ref();
            CheckReport {
                line: i.line,
                description: i.condition.describe(),
                outcome: if v.is_some() == i.expect_violated { Outcome::Pass } else { Outcome::Fail },
                evaluations: i.evaluations,
                violated_ns: v.map(|v| v.at.as_nanos()),
                detail: v.map(|v| v.observed.clone()).unwrap_or_default(),
                name: i.name.clone().unwrap_or_default(),
                expect_violated: i.expect_violated,
                within_ns: i.within.map(|w| w.as_nanos() as u64),
                false_since_ns: v.filter(|v| v.since != v.at).map(|v| v.since.as_nanos()),
                faults: v.map(|v| v.faults.clone()).unwrap_or_default(),
                step: v.map(|v| v.step.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let nodes = scenario
        .nodes
        .iter()
        .map(|n| {
            let p = rt.sim.proc_by_name(&n.name).expect("node was added");
            let state = match rt.sim.proc_state(p) {
                ProcState::Running => "running",
                ProcState::Paused => "paused",
                ProcState::Down => "down",
            };
            let detail = registry.kind(&n.kind).map_or(serde_json::Value::Null, |k| k.final_state(&rt.sim, p));
            NodeReport {
                name: n.name.clone(),
                kind: n.kind.clone(),
                host: n.host.clone(),
                address: format!("{}:{}", n.ip, n.port),
                state: state.to_owned(),
                starts: rt.sim.incarnation(p),
                log_lines: rt.sim.log_lines(p).len(),
                detail,
            }
        })
        .collect();
    let captures = std::mem::take(&mut rt.captures);
    let nemesis = rt.nemesis.as_ref().map(crate::nemesis_run::report).unwrap_or_default();
    let sim = rt.sim;
    let report = RunReport {
        format: report::FORMAT_VERSION,
        chaoslab_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: scenario.file.clone(),
            description: scenario.description.clone(),
            source_hash: format!("{:016x}", sim::digest(scenario.source.as_bytes())),
        },
        seed,
        result: match failure.as_ref().map(|(_, e)| e.kind()) {
            None => Verdict::Pass,
            Some(FailureKind::Interrupted) => Verdict::Interrupted,
            Some(_) => Verdict::Fail,
        },
        failure_kind: failure.as_ref().map(|(_, e)| e.kind()),
        failure: failure.map(|(text, _)| text),
        steps,
        captures,
        clients,
        history,
        history_jsonl,
        violations: report::Violations::of(&checks),
        checks,
        nemesis,
        nodes,
        fault_errors: sim.fault_errors().iter().map(|(t, e)| format!("{t}: {e}")).collect(),
        events_processed: sim.events_processed(),
        virtual_time_ns: sim.now().as_nanos(),
        virtual_time: report::seconds(sim.now().as_nanos()),
        wall_time_ms: 0.0,
        trace_events: sim.trace().len(),
        trace_hash: sim.trace().hash_hex(),
        reproduce,
    };
    (report, sim)
}
