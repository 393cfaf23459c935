//! Extension points. A node kind (Redis, Sentinel, MySQL, ...) plugs into the
//! runner by implementing [`NodeKind`]: it validates its nodes' config and builds
//! their processes, and it contributes its own steps and conditions. The runner's
//! built-in steps (faults, `sleep`, `wait-until`, ...) use the same [`Step`] and
//! [`Condition`] traits, so a kind's vocabulary is a first-class part of the format.

use crate::diag::{Diagnostic, Diagnostics};
use crate::error::RunError;
use crate::model::NodeDecl;
use crate::runner::Runtime;
use crate::template::{NodeRef, Template};
use crate::yaml::{Node, did_you_mean};
use sim::{Factory, ProcId, Sim};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// A step: something the scenario does, possibly advancing virtual time.
pub trait Step {
    /// Runs the step. `Ok` carries a short detail for the report (e.g. the reply
    /// received); `Err` says what went wrong and fails the run.
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError>;
}

/// What a condition saw when it was evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Whether the condition holds.
    pub holds: bool,
    /// What was observed, in words; also the value a `capture` takes.
    pub observed: String,
}

/// A predicate over the state of the run. Conditions only look: they never send
/// anything, so evaluating them cannot change the trace.
pub trait Condition {
    /// Evaluates the condition now. `Err` means it cannot be evaluated at all
    /// (e.g. it names a capture that holds no node).
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError>;
    /// The condition in words, for reports ("6384 is master").
    fn describe(&self) -> String;
    /// Whether its value can change only when the kernel processes an event
    /// (a delivery, a timer, a fault), never with the passing of time alone.
    /// Waits on such conditions skip idle stretches between events instead of
    /// polling through them (the same polls see the same values, so the trace
    /// is the same). Conditions that read a clock (a key's expiry, INFO's
    /// uptime) must keep the default, `false`.
    fn changes_only_with_events(&self) -> bool {
        false
    }
    /// Whether a look made when nothing happened since the previous one (no
    /// event ran, no fault was applied, no step began) would observe what
    /// that look did, so an invariant's poll may reuse it. Asked after each
    /// look; true for a condition that reads only the state of the world, not
    /// the time. Unlike [`Condition::changes_only_with_events`] it lets no
    /// wait skip a poll.
    fn repeats_when_nothing_happened(&self) -> bool {
        self.changes_only_with_events()
    }
    /// Pushes onto `out` words that tell, exactly, everything a look now
    /// would read (the state of the world it reads, and any state of its
    /// own its answer depends on) and returns true; or returns false (the
    /// default) when it cannot tell, and the look observes. An invariant's
    /// poll whose words equal those of the look that last observed reuses
    /// that observation without observing: equal words must mean an equal
    /// observation, and a look that would leave the condition's own state
    /// as it is (debug builds observe anyway and assert the same). Like
    /// [`Condition::observe`], it only looks; it is asked only of
    /// invariants, at polls where something happened.
    fn inputs(&self, rt: &Runtime, out: &mut Vec<u64>) -> bool {
        let _ = (rt, out);
        false
    }
}

/// The name and documentation of a step or condition, with its JSON Schema.
#[derive(Clone, Debug)]
pub struct Syntax {
    /// The key that introduces it in YAML.
    pub name: &'static str,
    /// One line for `chaoslab schema` and editors.
    pub doc: &'static str,
    /// Schema of the value under the key.
    pub schema: serde_json::Value,
}

/// What a selector's argument names; checked when the file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorArg {
    /// A declared node (`${replica-of:6381}`).
    Node,
    /// A hash slot, 0 to 16383 (`${master-of-slot:449}`).
    Slot,
    /// A name the kind knows, such as a Sentinel group (`${sentinel-master:mymaster}`).
    Name,
}

/// A `${name:arg}` form in a node field or text: "the replica of 6381",
/// resolved from the nodes' read-only views at the moment the step (or the
/// condition's poll) uses it. Node kinds provide them; the scenario crate
/// only parses, checks the argument and asks.
pub trait Selector {
    /// The name before the `:`.
    fn name(&self) -> &'static str;
    /// One line for `chaoslab schema`.
    fn doc(&self) -> &'static str;
    /// An example, e.g. `${replica-of:6381}`.
    fn example(&self) -> &'static str;
    /// What its argument names.
    fn arg(&self) -> SelectorArg;
    /// Its value now: a node name, an id, ... `Err` says why there is none.
    fn resolve(&self, arg: &str, rt: &Runtime) -> Result<String, String>;
}

/// A kind of node.
pub trait NodeKind {
    /// The value of `kind:` in the topology.
    fn name(&self) -> &'static str;
    /// Validates a node's declaration (its `config` above all) and returns the
    /// factory that makes its process each time it starts.
    fn build(&self, node: &NodeDecl) -> Result<Factory, Diagnostics>;
    /// The values a node's `flavor:` may take (which server it models), the
    /// default first; empty for a kind without flavors (then `flavor:` is an error).
    fn flavors(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether its nodes take `costs:` ([`crate::costs`]); a node of a kind
    /// that does not is refused one of its own, and a scenario's passes it by.
    fn models_costs(&self) -> bool {
        false
    }
    /// Bytes a node of this declaration allocates before it holds any data
    /// (databases, tables sized by its config), counted against
    /// [`crate::RUN_MEMORY_BUDGET`] by `check` and `run` alike.
    fn fixed_memory(&self, node: &NodeDecl) -> u64 {
        let _ = node;
        0
    }
    /// Steps this kind adds.
    fn steps(&self) -> Vec<Syntax> {
        Vec::new()
    }
    /// Conditions this kind adds.
    fn conditions(&self) -> Vec<Syntax> {
        Vec::new()
    }
    /// Parses a step whose key is one of [`NodeKind::steps`].
    fn parse_step(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        let _ = cx;
        Err(Diagnostic::new(value.span, format!("step `{name}` is not implemented by kind {}", self.name()))
            .with_hint("the node kind lists this step but cannot parse it: a bug in chaoslab; use another step"))
    }
    /// Parses a condition whose key is one of [`NodeKind::conditions`].
    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        let _ = cx;
        Err(Diagnostic::new(value.span, format!("condition `{name}` is not implemented by kind {}", self.name()))
            .with_hint("the node kind lists this condition but cannot parse it: a bug in chaoslab; use another one"))
    }
    /// Selectors this kind adds (`${replica-of:6381}`, ...).
    fn selectors(&self) -> Vec<Box<dyn Selector>> {
        Vec::new()
    }
    /// Topology templates this kind adds (`cluster:`, `sentinels:`, ...).
    fn templates(&self) -> Vec<Box<dyn crate::expand::TopologyTemplate>> {
        Vec::new()
    }
    /// The node's state at the end of a run, for the report.
    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        let _ = (sim, proc);
        serde_json::Value::Null
    }
}

/// The node kinds a binary knows.
pub struct Registry {
    kinds: Vec<Box<dyn NodeKind>>,
    workloads: Option<Box<dyn crate::workload::WorkloadDriver>>,
    /// Every step name, built-in first: each parsed step is looked up in it,
    /// and a kind's syntax is built afresh on every call of its `steps()`.
    step_names: Vec<&'static str>,
    /// Every condition name, built-in first (likewise).
    condition_names: Vec<&'static str>,
    /// The kind (its index in `kinds`) defining each step and condition that is not built in.
    step_kinds: BTreeMap<&'static str, usize>,
    condition_kinds: BTreeMap<&'static str, usize>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry {
            kinds: Vec::new(),
            workloads: None,
            step_names: crate::builtin::steps().iter().map(|s| s.name).collect(),
            condition_names: crate::builtin::conditions().iter().map(|s| s.name).collect(),
            step_kinds: BTreeMap::new(),
            condition_kinds: BTreeMap::new(),
        }
    }
}

impl Registry {
    /// An empty registry (only built-in steps and conditions).
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a kind. Panics if its name or one of its step or condition names is
    /// already taken: that is a programming error, caught by any test.
    pub fn register(&mut self, kind: Box<dyn NodeKind>) {
        assert!(self.kind(kind.name()).is_none(), "kind {} registered twice", kind.name());
        for s in kind.steps() {
            assert!(!self.step_names.contains(&s.name), "step {} defined twice", s.name);
            self.step_names.push(s.name);
            self.step_kinds.insert(s.name, self.kinds.len());
        }
        for c in kind.conditions() {
            assert!(!self.condition_names.contains(&c.name), "condition {} defined twice", c.name);
            self.condition_names.push(c.name);
            self.condition_kinds.insert(c.name, self.kinds.len());
        }
        self.kinds.push(kind);
    }

    /// Registers what runs `workloads:` (one driver; a second replaces the first).
    pub fn register_workloads(&mut self, driver: Box<dyn crate::workload::WorkloadDriver>) {
        self.workloads = Some(driver);
    }
    /// What runs `workloads:`, if a kind registered it.
    pub fn workload_driver(&self) -> Option<&dyn crate::workload::WorkloadDriver> {
        self.workloads.as_deref()
    }
    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&dyn NodeKind> {
        self.kinds.iter().find(|k| k.name() == name).map(|k| k.as_ref())
    }

    /// The kind that defines step `name` (none for a built-in or unknown step).
    pub fn step_kind(&self, name: &str) -> Option<&dyn NodeKind> {
        self.step_kinds.get(name).map(|&k| self.kinds[k].as_ref())
    }

    /// The kind that defines condition `name` (none for a built-in or unknown one).
    pub fn condition_kind(&self, name: &str) -> Option<&dyn NodeKind> {
        self.condition_kinds.get(name).map(|&k| self.kinds[k].as_ref())
    }

    /// Registered kinds in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = &dyn NodeKind> {
        self.kinds.iter().map(|k| k.as_ref())
    }

    /// Every step name, built-in first.
    pub fn step_names(&self) -> &[&'static str] {
        &self.step_names
    }

    /// Every selector, in registration order.
    pub fn selectors(&self) -> Vec<Box<dyn Selector>> {
        self.kinds.iter().flat_map(|k| k.selectors()).collect()
    }

    /// The topology template called `name`.
    pub fn template(&self, name: &str) -> Option<Box<dyn crate::expand::TopologyTemplate>> {
        self.kinds.iter().flat_map(|k| k.templates()).find(|t| t.syntax().name == name)
    }

    /// Every topology template's syntax, in registration order.
    pub fn templates(&self) -> Vec<Syntax> {
        self.kinds.iter().flat_map(|k| k.templates()).map(|t| t.syntax()).collect()
    }

    /// Every topology template's key.
    pub fn template_names(&self) -> Vec<&'static str> {
        self.templates().iter().map(|s| s.name).collect()
    }

    /// Every condition name, built-in first.
    pub fn condition_names(&self) -> &[&'static str] {
        &self.condition_names
    }
}

/// What parsers of steps and conditions can consult.
pub struct ParseCx<'a> {
    /// All kinds, for nested conditions.
    pub registry: &'a Registry,
    /// The declared nodes (clients and hosts are resolved at run time).
    pub nodes: &'a [NodeDecl],
    /// Declared host names.
    pub hosts: &'a [String],
    /// Index into `nodes` by name, so a reference is a lookup, not a scan.
    pub(crate) node_index: BTreeMap<&'a str, usize>,
    /// The names in `hosts`, for lookups.
    pub(crate) host_index: BTreeSet<&'a str>,
    /// Capture names declared by earlier steps.
    pub(crate) captures: RefCell<BTreeSet<String>>,
    /// Background clients started by earlier steps.
    pub(crate) clients: RefCell<BTreeMap<String, crate::background::Declared>>,
    /// Workloads declared under `workloads:`.
    pub(crate) workloads: RefCell<BTreeSet<String>>,
}

impl ParseCx<'_> {
    /// Parses a reference to a node: a declared name, or `${capture}`.
    pub fn node_ref(&self, value: &Node, what: &str) -> Result<NodeRef, Diagnostic> {
        let template = self.template(value, what)?;
        if let Some(name) = template.literal() {
            if self.node_index.contains_key(name) {
                return Ok(NodeRef { template, span: value.span });
            }
            let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            let d = Diagnostic::new(value.span, format!("unknown node `{name}` in {what}")).with_label("not a node");
            return Err(match did_you_mean(name, &names) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None if names.is_empty() => d.with_hint("no nodes are declared under `topology.nodes`"),
                None => d.with_hint(format!("nodes are: {}", quoted_some(&names))),
            });
        }
        Ok(NodeRef { template, span: value.span })
    }

    /// Parses a string that may contain `${capture}` references to earlier captures.
    pub fn template(&self, value: &Node, what: &str) -> Result<Template, Diagnostic> {
        let text = value.str(what)?;
        let template = Template::parse(&text).map_err(|e| {
            Diagnostic::new(value.span, e).with_hint("write `${name}` for a capture, `$${` for a literal `${`")
        })?;
        for (name, arg) in template.selectors() {
            self.check_selector(name, arg, value)?;
        }
        let captures = self.captures.borrow();
        for var in template.vars() {
            if !captures.contains(var) {
                let known: Vec<&str> = captures.iter().map(String::as_str).collect();
                let d = Diagnostic::new(value.span, format!("`${{{var}}}` is not captured by an earlier step"));
                return Err(match did_you_mean(var, &known) {
                    Some(best) => d.with_hint(format!("did you mean `${{{best}}}`?")),
                    None => d.with_hint("capture it first, e.g. `- capture: {name: x, ...}`"),
                });
            }
        }
        Ok(template)
    }

    /// The declared hosts' names.
    pub fn has_host(&self, name: &str) -> bool {
        self.host_index.contains(name)
    }
    /// A selector written at `value`: a known name and an argument of the right sort.
    fn check_selector(&self, name: &str, arg: &str, value: &Node) -> Result<(), Diagnostic> {
        let selectors = self.registry.selectors();
        let Some(sel) = selectors.iter().find(|s| s.name() == name) else {
            let names: Vec<&str> = selectors.iter().map(|s| s.name()).collect();
            let d = Diagnostic::new(value.span, format!("unknown selector `${{{name}:{arg}}}`"))
                .with_label("unknown selector");
            // `replica` for `replica-of`: a prefix is as good a guess as a near miss.
            let guess = did_you_mean(name, &names).or_else(|| names.iter().copied().find(|n| n.starts_with(name)));
            return Err(match guess {
                Some(best) => d.with_hint(format!("did you mean `${{{best}:{arg}}}`?")),
                None if names.is_empty() => d.with_hint("this chaoslab build has no selectors"),
                None => d.with_hint(format!("selectors are: {}", quoted(&names))),
            });
        };
        match sel.arg() {
            SelectorArg::Node if !self.node_index.contains_key(arg) => {
                let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                let d = Diagnostic::new(value.span, format!("unknown node `{arg}` in `${{{name}:{arg}}}`"))
                    .with_label("not a node");
                Err(match did_you_mean(arg, &names) {
                    Some(best) => d.with_hint(format!("did you mean `${{{name}:{best}}}`?")),
                    None => d.with_hint(format!("nodes are: {}", quoted_some(&names))),
                })
            }
            SelectorArg::Slot if !arg.parse::<u16>().is_ok_and(|s| s < 16384) => {
                Err(Diagnostic::new(value.span, format!("`{arg}` in `${{{name}:{arg}}}` is not a hash slot"))
                    .with_hint("slots go from 0 to 16383, e.g. `${master-of-slot:449}`"))
            }
            _ => Ok(()),
        }
    }

    /// Whether `workloads:` declares a workload called `name`.
    pub fn has_workload(&self, name: &str) -> bool {
        self.workloads.borrow().contains(name)
    }

    /// The workloads `workloads:` declares, in name order.
    pub fn workload_names(&self) -> Vec<String> {
        self.workloads.borrow().iter().cloned().collect()
    }

    /// Declares that a step captures `name`, so later steps may use `${name}`.
    pub fn declare_capture(&self, name: &str) {
        self.captures.borrow_mut().insert(name.to_owned());
    }

    /// Parses a condition mapping: one key is one condition; several keys must all hold.
    pub fn condition(&self, value: &Node, what: &str) -> Result<Box<dyn Condition>, Diagnostic> {
        crate::builtin::parse_condition_map(value, what, &[], self).map(|(c, _)| c)
    }
}

/// Names listed in a hint at most; a topology may have thousands.
const MAX_LISTED: usize = 12;

/// Like [`quoted`], but past [`MAX_LISTED`] names lists the first ones and
/// says how many there are: `a`, `b`, … (49000 in all).
pub(crate) fn quoted_some(names: &[&str]) -> String {
    if names.len() <= MAX_LISTED {
        return quoted(names);
    }
    format!("{}, … ({} in all)", quoted(&names[..MAX_LISTED]), names.len())
}

/// `a`, `b`, `c` — for hints.
pub(crate) fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
