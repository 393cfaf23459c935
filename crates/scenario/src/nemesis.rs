//! `nemesis:`: random faults drawn from the seed. The spec names fault kinds
//! with role targets (`masters`, `replicas`, `sentinels`, `any`, a named
//! group), a mean interval, a duration range, a fault window and limits;
//! [`draw`] turns it and a seed into a schedule of timed faults from the
//! dedicated `nemesis` stream (so drawing never shifts a node's or a client's
//! randomness), and `nemesis_run` applies each as the existing fault steps,
//! resolving its target's role when it fires. `swarm: true` draws each seed's
//! subset of kinds and its rates from the seed too (TigerBeetle's swarm testing).

use crate::diag::{Diagnostic, Diagnostics};
use crate::kind::{ParseCx, quoted};
use crate::yaml::{Node, Value, did_you_mean, format_duration};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a nemesis fault does to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL, started again at the end.
    Kill,
    /// `docker stop`, started again at the end.
    Stop,
    /// SIGSTOP, resumed at the end.
    Pause,
    /// `docker restart` (no duration).
    Restart,
    /// Power loss of the target's host, powered on and its nodes started at the end.
    CrashHost,
    /// The disk replaced by an empty one, started again at the end.
    Wipe,
    /// The target pool cut into two random halves.
    PartitionHalves,
    /// A random minority of the pool cut off from the majority.
    PartitionMajority,
    /// One node cut off from everything (its clients included).
    Isolate,
    /// One node's whole host cut off: the node with the clients beside it.
    IsolateWithClients,
    /// Packets from one node to the others dropped, the other way delivered.
    PartitionOneWay,
    /// The node's links to the other nodes slowed (50 ms to 500 ms).
    Latency,
    /// The node's links to the other nodes lose packets (10 % to 50 %).
    Loss,
    /// The node's wall clock stepped by up to a minute either way (no duration).
    ClockJump,
}

/// Every kind with its name in the file and one line for the schema.
pub const KINDS: &[(&str, FaultKind, &str)] = &[
    ("kill", FaultKind::Kill, "SIGKILL a target; start it at the end"),
    ("stop", FaultKind::Stop, "docker stop a target; start it at the end"),
    ("pause", FaultKind::Pause, "SIGSTOP a target; resume it at the end"),
    ("restart", FaultKind::Restart, "docker restart a target (instant)"),
    ("crash-host", FaultKind::CrashHost, "power off a target's host; power it on and start its nodes at the end"),
    ("wipe", FaultKind::Wipe, "kill a target and give it an empty disk; start it at the end"),
    ("partition-halves", FaultKind::PartitionHalves, "cut the targets into two random halves; heal at the end"),
    ("partition-majority", FaultKind::PartitionMajority, "cut a random minority of the targets off; heal at the end"),
    ("isolate", FaultKind::Isolate, "cut one target off from everything; heal at the end"),
    (
        "isolate-with-clients",
        FaultKind::IsolateWithClients,
        "cut one target's host (the node and the clients beside it) off; heal at the end",
    ),
    ("partition-one-way", FaultKind::PartitionOneWay, "drop a target's packets to the other nodes; heal at the end"),
    ("latency", FaultKind::Latency, "50ms to 500ms on a target's links to the other nodes; restored at the end"),
    ("loss", FaultKind::Loss, "10% to 50% loss on a target's links to the other nodes; restored at the end"),
    ("clock-jump", FaultKind::ClockJump, "step a target's wall clock by up to 60s either way (instant)"),
];

impl FaultKind {
    /// Its name in the file.
    pub fn name(self) -> &'static str {
        KINDS.iter().find(|(_, k, _)| *k == self).map(|(n, _, _)| *n).expect("every kind is listed")
    }

    /// Whether it happens at once and has nothing to undo.
    pub fn instant(self) -> bool {
        matches!(self, FaultKind::Restart | FaultKind::ClockJump)
    }

    /// Whether it replaces the network's partition (only one is in force at a time).
    pub fn partitions(self) -> bool {
        matches!(
            self,
            FaultKind::PartitionHalves
                | FaultKind::PartitionMajority
                | FaultKind::Isolate
                | FaultKind::IsolateWithClients
                | FaultKind::PartitionOneWay
        )
    }

    /// Whether it takes a master out of service (counted by `masters-down`).
    pub fn downs_target(self) -> bool {
        !matches!(self, FaultKind::Latency | FaultKind::Loss | FaultKind::ClockJump | FaultKind::PartitionOneWay)
    }
}

/// Which nodes a fault may pick, resolved when it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Redis nodes whose role is master now.
    Masters,
    /// Redis nodes whose role is slave now.
    Replicas,
    /// Sentinel nodes.
    Sentinels,
    /// Every node.
    Any,
    /// A group named under `groups:`.
    Group(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Masters => f.write_str("masters"),
            Target::Replicas => f.write_str("replicas"),
            Target::Sentinels => f.write_str("sentinels"),
            Target::Any => f.write_str("any"),
            Target::Group(g) => f.write_str(g),
        }
    }
}

/// One enabled kind with its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// What it does.
    pub kind: FaultKind,
    /// Whom.
    pub target: Target,
}

/// A validated `nemesis:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisSpec {
    /// The enabled kinds.
    pub faults: Vec<FaultSpec>,
    /// Mean time between two faults' starts.
    pub interval: Duration,
    /// How long a fault lasts, drawn uniformly in this range.
    pub duration: (Duration, Duration),
    /// Faults start at or after the first and end by the second.
    pub window: (Duration, Duration),
    /// At most this many faults in force at once.
    pub max_active: u64,
    /// At most this many masters down, paused or cut off at once.
    pub max_masters_down: Option<u64>,
    /// Named groups of nodes, usable as targets.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Draw each seed's kinds and rates from the seed.
    pub swarm: bool,
}

/// One fault of a drawn schedule, before it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drawn {
    /// When it starts (virtual time).
    pub at: Duration,
    /// What it does.
    pub kind: FaultKind,
    /// Whom it may pick.
    pub target: Target,
    /// How long it lasts (zero for instant kinds).
    pub duration: Duration,
    /// A random word that picks among the candidates when it fires.
    pub pick: u64,
    /// A random word for its size (latency, loss, clock step).
    pub size: u64,
}

/// The keys of `nemesis:`.
pub const KEYS: &[&str] = &["faults", "interval", "duration", "window", "limits", "groups", "swarm"];
const LIMIT_KEYS: &[&str] = &["active", "masters-down"];
const TARGET_HINT: &str = "targets are `masters`, `replicas`, `sentinels`, `any` or a group named under `groups:`";

/// Parses `nemesis:`, pushing every problem into `diags`.
pub fn parse(n: &Node, cx: &ParseCx<'_>, diags: &mut Diagnostics) -> Option<NemesisSpec> {
    let mut m = keep(n.map("nemesis"), diags)?;
    let groups = m.get("groups").map(|g| parse_groups(g, cx, diags)).unwrap_or_default();
    let faults = match m.required("faults") {
        Ok(f) => parse_faults(f, &groups, diags),
        Err(d) => {
            diags.push(d.with_hint("list the fault kinds to draw, e.g. `faults: [{kind: kill, targets: replicas}]`"));
            Vec::new()
        }
    };
    let interval = m.get("interval").and_then(|i| keep(positive(i, "nemesis.interval"), diags));
    let duration = m.get("duration").and_then(|d| keep(range(d, "nemesis.duration"), diags));
    let window = m.get("window").and_then(|w| keep(window(w), diags));
    let limits = m.get("limits").and_then(|l| keep(limits(l, &faults), diags));
    let swarm = m.get("swarm").and_then(|s| keep(s.bool("nemesis.swarm"), diags)).unwrap_or(false);
    keep(m.finish(KEYS), diags);
    let (max_active, max_masters_down) = limits.unwrap_or((u64::MAX, None));
    Some(NemesisSpec {
        faults,
        interval: interval.unwrap_or(Duration::from_secs(10)),
        duration: duration.unwrap_or((Duration::from_secs(1), Duration::from_secs(10))),
        window: window.unwrap_or((Duration::ZERO, Duration::from_secs(60))),
        max_active,
        max_masters_down,
        groups,
        swarm,
    })
}

fn keep<T>(r: Result<T, Diagnostic>, diags: &mut Diagnostics) -> Option<T> {
    r.map_err(|d| diags.push(d)).ok()
}

fn parse_groups(n: &Node, cx: &ParseCx<'_>, diags: &mut Diagnostics) -> BTreeMap<String, Vec<String>> {
    let Value::Map(entries) = &n.value else {
        diags.push(
            Diagnostic::new(n.span, format!("expected a mapping for nemesis.groups, found {}", n.kind_phrase()))
                .with_hint("name each group and list its nodes, e.g. `groups: {dc1: [\"6379\", s1]}`"),
        );
        return BTreeMap::new();
    };
    let mut groups = BTreeMap::new();
    for e in entries {
        if ["masters", "replicas", "sentinels", "any"].contains(&e.key.as_str()) {
            diags.push(
                Diagnostic::new(e.key_span, format!("group `{}` would hide the role target of that name", e.key))
                    .with_hint("give the group another name"),
            );
            continue;
        }
        let members = match &e.value.value {
            Value::Seq(items) => items,
            _ => std::slice::from_ref(&e.value),
        };
        let names: Vec<String> =
            members.iter().filter_map(|m| keep(cx.node_ref(m, "group member"), diags)).map(|r| r.to_string()).collect();
        if members.is_empty() {
            diags.push(
                Diagnostic::new(e.value.span, format!("group `{}` is empty", e.key))
                    .with_hint("list its nodes, e.g. `dc1: [\"6379\", s1]`"),
            );
        }
        groups.insert(e.key.clone(), names);
    }
    groups
}

fn parse_faults(n: &Node, groups: &BTreeMap<String, Vec<String>>, diags: &mut Diagnostics) -> Vec<FaultSpec> {
    let Some(items) = keep(n.seq("nemesis.faults"), diags) else { return Vec::new() };
    if items.is_empty() {
        diags.push(
            Diagnostic::new(n.span, "a nemesis needs at least one fault kind")
                .with_hint(format!("kinds are: {}", quoted(&KINDS.iter().map(|k| k.0).collect::<Vec<_>>()))),
        );
    }
    items.iter().filter_map(|i| keep(parse_fault(i, groups), diags)).collect()
}

/// `kill` (targets: any) or `{kind: kill, targets: replicas}`.
fn parse_fault(n: &Node, groups: &BTreeMap<String, Vec<String>>) -> Result<FaultSpec, Diagnostic> {
    let (kind_node, target_node) = match &n.value {
        Value::Str(_) => (n, None),
        _ => {
            let mut m = n.map("nemesis fault")?;
            let kind = m.required("kind")?;
            let target = m.get("targets");
            m.finish(&["kind", "targets"])?;
            (kind, target)
        }
    };
    let name = kind_node.str("fault kind")?;
    let names: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    let Some(&(_, kind, _)) = KINDS.iter().find(|k| k.0 == name) else {
        let d = Diagnostic::new(kind_node.span, format!("unknown fault kind `{name}`")).with_label("unknown kind");
        return Err(match did_you_mean(&name, &names) {
            Some(best) => d.with_hint(format!("did you mean `{best}`?")),
            None => d.with_hint(format!("kinds are: {}", quoted(&names))),
        });
    };
    let target = match target_node {
        None => Target::Any,
        Some(t) => parse_target(t, groups)?,
    };
    Ok(FaultSpec { kind, target })
}

fn parse_target(n: &Node, groups: &BTreeMap<String, Vec<String>>) -> Result<Target, Diagnostic> {
    let text = n.str("targets")?;
    Ok(match text.as_str() {
        "masters" => Target::Masters,
        "replicas" => Target::Replicas,
        "sentinels" => Target::Sentinels,
        "any" => Target::Any,
        g if groups.contains_key(g) => Target::Group(g.to_owned()),
        other => {
            let mut names = vec!["masters", "replicas", "sentinels", "any"];
            names.extend(groups.keys().map(String::as_str));
            let d = Diagnostic::new(n.span, format!("unknown target `{other}`")).with_label("unknown role or group");
            return Err(match did_you_mean(other, &names) {
                Some(best) => d.with_hint(format!("did you mean `{best}`? {TARGET_HINT}")),
                None => d.with_hint(TARGET_HINT),
            });
        }
    })
}

fn positive(n: &Node, what: &str) -> Result<Duration, Diagnostic> {
    let d = n.duration(what)?;
    if d < Duration::from_millis(1) {
        return Err(Diagnostic::new(n.span, format!("{what} must be at least 1ms"))
            .with_hint("the mean time between two faults, e.g. `interval: 5s`"));
    }
    Ok(d)
}

/// `2s..10s` (or one duration, for a fixed length).
fn range(n: &Node, what: &str) -> Result<(Duration, Duration), Diagnostic> {
    let text = n.str(what)?;
    let hint = "write a range as `MIN..MAX`, e.g. `1s..10s`";
    let parse = |t: &str| {
        crate::yaml::parse_duration(t.trim())
            .map_err(|e| Diagnostic::new(n.span, format!("invalid duration `{t}` in {what}")).with_hint(e))
    };
    let (lo, hi) = match text.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let d = parse(&text)?;
            (d, d)
        }
    };
    if lo > hi || hi.is_zero() {
        return Err(Diagnostic::new(n.span, format!("{what} `{text}` is an empty range")).with_hint(hint));
    }
    Ok((lo, hi))
}

/// `{start: 10s, end: 60s}`.
fn window(n: &Node) -> Result<(Duration, Duration), Diagnostic> {
    let mut m = n.map("nemesis.window")?;
    let start = m.get("start").map(|s| s.duration("window.start")).transpose()?.unwrap_or(Duration::ZERO);
    let end = m.required("end")?.duration("window.end")?;
    m.finish(&["start", "end"])?;
    if end <= start {
        return Err(Diagnostic::new(
            n.span,
            format!(
                "the fault window is empty: it ends at {} and starts at {}",
                format_duration(end),
                format_duration(start)
            ),
        )
        .with_hint("`end` must come after `start`, e.g. `window: {start: 10s, end: 60s}`"));
    }
    Ok((start, end))
}

/// `{active: 2, masters-down: 1}`, refused when no drawn fault could ever fire.
fn limits(n: &Node, faults: &[FaultSpec]) -> Result<(u64, Option<u64>), Diagnostic> {
    let mut m = n.map("nemesis.limits")?;
    let active_node = m.get("active");
    let active = active_node.map(|a| a.u64("limits.active")).transpose()?.unwrap_or(u64::MAX);
    let masters_node = m.get("masters-down");
    let masters = masters_node.map(|a| a.u64("limits.masters-down")).transpose()?;
    m.finish(LIMIT_KEYS)?;
    if let (0, Some(a)) = (active, active_node) {
        return Err(Diagnostic::new(a.span, "`active: 0` lets no fault fire")
            .with_hint("allow at least one fault in force, or remove the nemesis"));
    }
    let only_masters = !faults.is_empty()
        && faults.iter().all(|f| f.target == Target::Masters && f.kind.downs_target() && !f.kind.partitions());
    if let (Some(0), Some(mn), true) = (masters, masters_node, only_masters) {
        return Err(Diagnostic::new(
            mn.span,
            "`masters-down: 0` lets none of these faults fire: each takes a master down",
        )
        .with_hint("raise it to 1, or add faults on other targets"));
    }
    Ok((active, masters))
}

/// Draws the schedule of `spec` for `seed` from the `nemesis` stream: fault
/// starts a uniform `0..2*interval` apart (mean `interval`) through the
/// window, each of a uniformly drawn enabled kind and a duration in range,
/// cut to end by the window's end. With `swarm`, each kind is first kept
/// with probability one half (at least one), and the interval and the longest
/// duration are scaled by a factor drawn from the seed.
pub fn draw(spec: &NemesisSpec, seed: u64) -> Vec<Drawn> {
    let mut rng = sim::Rng::stream(seed, "nemesis");
    let (faults, interval, duration) = if spec.swarm { swarm(spec, &mut rng) } else { plain(spec) };
    let (start, end) = spec.window;
    let mut schedule = Vec::new();
    let mut at = start + uniform(&mut rng, Duration::ZERO, interval * 2);
    while at < end && schedule.len() < MAX_DRAWN {
        let spec = &faults[rng.below(faults.len() as u64) as usize];
        let length = uniform(&mut rng, duration.0, duration.1).min(end - at);
        let (pick, size) = (rng.next_u64(), rng.next_u64());
        let length = if spec.kind.instant() { Duration::ZERO } else { length };
        schedule.push(Drawn { at, kind: spec.kind, target: spec.target.clone(), duration: length, pick, size });
        at += uniform(&mut rng, Duration::from_millis(1), interval * 2);
    }
    schedule
}

/// A schedule longer than this is cut: a `1ms` interval over an hour would
/// otherwise draw millions of faults.
pub const MAX_DRAWN: usize = 10_000;

fn plain(spec: &NemesisSpec) -> (Vec<FaultSpec>, Duration, (Duration, Duration)) {
    (spec.faults.clone(), spec.interval, spec.duration)
}

fn swarm(spec: &NemesisSpec, rng: &mut sim::Rng) -> (Vec<FaultSpec>, Duration, (Duration, Duration)) {
    let mut kept: Vec<FaultSpec> = spec.faults.iter().filter(|_| rng.below(2) == 1).cloned().collect();
    if kept.is_empty() {
        kept.push(spec.faults[rng.below(spec.faults.len() as u64) as usize].clone());
    }
    // Rates from a quarter to four times the written ones, in steps of a quarter.
    let scale = |d: Duration, quarters: u64| d * u32::try_from(quarters).unwrap_or(1) / 4;
    let interval = scale(spec.interval, 1 + rng.below(16)).max(Duration::from_millis(1));
    let longest = uniform(rng, spec.duration.0, spec.duration.1);
    (kept, interval, (spec.duration.0, longest))
}

/// Uniform in `lo..=hi`, whole milliseconds (so a schedule prints exactly).
fn uniform(rng: &mut sim::Rng, lo: Duration, hi: Duration) -> Duration {
    let (lo_ms, hi_ms) = (lo.as_millis() as u64, hi.as_millis() as u64);
    Duration::from_millis(lo_ms + rng.below(hi_ms.saturating_sub(lo_ms) + 1))
}

/// The `nemesis:` section's JSON Schema.
pub fn schema() -> serde_json::Value {
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    let docs: serde_json::Map<String, serde_json::Value> =
        KINDS.iter().map(|(n, _, d)| ((*n).to_owned(), serde_json::json!(d))).collect();
    serde_json::json!({
        "type": "object", "required": ["faults"], "additionalProperties": false,
        "description": "random faults drawn from the seed; a `liveness` step after the window heals everything and waits for convergence",
        "properties": {
            "faults": {"type": "array", "minItems": 1, "items": {"oneOf": [
                {"enum": kinds},
                {"type": "object", "required": ["kind"], "additionalProperties": false, "properties": {
                    "kind": {"enum": kinds, "description": "what the fault does", "x-kinds": docs},
                    "targets": {"type": "string", "default": "any", "description": TARGET_HINT}}}]}},
            "interval": {"type": "string", "default": "10s", "description": "mean time between fault starts"},
            "duration": {"type": "string", "default": "1s..10s", "description": "how long a fault lasts, MIN..MAX"},
            "window": {"type": "object", "required": ["end"], "additionalProperties": false, "properties": {
                "start": {"type": "string", "default": "0s"}, "end": {"type": "string"}}, "description": "faults start and end in this stretch of virtual time (default 0s to 60s)"},
            "limits": {"type": "object", "additionalProperties": false, "properties": {
                "active": {"type": "integer", "minimum": 1, "description": "at most this many faults in force at once"},
                "masters-down": {"type": "integer", "minimum": 0, "description": "at most this many masters down, paused or cut off at once"}}},
            "groups": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}, "description": "named groups of nodes, usable as targets"},
            "swarm": {"type": "boolean", "default": false, "description": "draw each seed's kinds and rates from the seed (swarm testing)"}
        }
    })
}
