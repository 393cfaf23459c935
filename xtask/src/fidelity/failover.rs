//! Failover timing: story C3 (Redis Cluster, `cluster-node-timeout 2000`, SIGKILL
//! of a master) and story S3 (one Sentinel, quorum 1, `down-after-milliseconds
//! 2000`), written once against [`Target`] and run on real processes (wall time)
//! and on the simulator over many seeds (virtual time). Medians of each metric
//! are compared within ±15 %; facts (promoted replica, event order, the old
//! master's return) must be the same in every run on both sides.

use super::Options;
use super::observe::{Row, Verdict};
use super::real::Real;
use super::simulated::Simulated;
use super::target::{Conn, Signal, Target, args, info_field, wait_until};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// Allowed distance between real and simulated medians.
pub const TOLERANCE: f64 = 0.15;
const POLL: Duration = Duration::from_millis(50);
const C3_PORTS: [u16; 6] = [7640, 7641, 7642, 7643, 7644, 7645];
const C3_LIMIT: Duration = Duration::from_secs(30);
const S3_MASTER: u16 = 7650;
const S3_REPLICAS: [u16; 2] = [7651, 7652];
const S3_SENTINEL: u16 = 27650;
const S3_NAME: &str = "taotaoMaster";
/// How long after the switch S3 restarts the old master. Restarted at once,
/// it raced Sentinel's first connection attempt to it (the first tick after
/// the switch, 52-100 ms at `hz` 10-19): the real harness's own restart took
/// 92, 118 and 140 ms from `+switch-master` to the new server's "Ready to
/// accept connections" (log timestamps of three kept runs), so a real run
/// converted it 10 or 11 s after the restart depending on the race (3 of 5
/// runs one way in one session, 2 of 5 in another), where the simulated
/// harness, which restarts within 20 ms, nearly always won it. Half a second
/// later the first attempt has failed on both sides and the time measured is
/// Sentinel's: its next attempt (1 s after the first), then INFO 10 s apart.
const S3_RESTART_AFTER: Duration = Duration::from_millis(500);

/// One metric over runs.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Metric name.
    pub name: String,
    /// One value per run that reached it (ms).
    pub values: Vec<f64>,
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// A distribution's shape: nearest-rank percentiles and range (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// 10th, 50th and 90th percentiles.
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// Least and greatest.
    pub min: f64,
    pub max: f64,
}

/// A real distribution is *spread* when its p10–p90 width is at least this
/// many ms and [`SPREAD_MIN_FRACTION`] of its median.
pub const SPREAD_MIN_MS: f64 = 10.0;
/// See [`SPREAD_MIN_MS`].
pub const SPREAD_MIN_FRACTION: f64 = 0.05;
/// The simulated distribution is a *spike* against a spread real one when
/// its p10–p90 width is under this fraction of the real one's.
pub const SPIKE_RATIO: f64 = 0.25;
/// Real runs needed before the shape is judged (a `--quick` run has one).
pub const SHAPE_MIN_RUNS: usize = 5;

impl Spread {
    /// The shape of `values`, `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p % of the values at or below it.
        let rank = |p: f64| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Spread { p10: rank(10.0), p50: rank(50.0), p90: rank(90.0), min: v[0], max: v[v.len() - 1] })
    }

    /// Its p10–p90 width.
    pub fn width(&self) -> f64 {
        self.p90 - self.p10
    }

    /// Whether it is spread (see [`SPREAD_MIN_MS`]).
    pub fn is_spread(&self) -> bool {
        self.width() >= SPREAD_MIN_MS && self.width() >= SPREAD_MIN_FRACTION * self.p50.abs()
    }

    /// Whether `self` (simulated) is a spike where `real` is spread.
    pub fn is_spike_against(&self, real: &Spread) -> bool {
        real.is_spread() && self.width() < SPIKE_RATIO * real.width()
    }

    /// `p10/p50/p90 (min–max)`, for reports.
    pub fn show(&self) -> String {
        format!("{:.0}/{:.0}/{:.0} ({:.0}–{:.0})", self.p10, self.p50, self.p90, self.min, self.max)
    }
}

/// A failover story measured on one side.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Runs attempted.
    pub runs: usize,
    /// Timings.
    pub series: Vec<Series>,
    /// Facts that must be identical (promoted replica, event order, final roles), per run.
    pub facts: Vec<(String, Vec<String>)>,
    /// Runs that did not complete, with why.
    pub failures: Vec<String>,
}

impl Measured {
    pub(super) fn record(&mut self, name: &str, value: Option<f64>) {
        let i = match self.series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.series.push(Series { name: name.to_owned(), values: Vec::new() });
                self.series.len() - 1
            }
        };
        if let Some(v) = value {
            self.series[i].values.push((v * 10.0).round() / 10.0);
        }
    }

    pub(super) fn fact(&mut self, name: &str, value: String) {
        match self.facts.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value),
            None => self.facts.push((name.to_owned(), vec![value])),
        }
    }
}

/// A story's two sides; the simulated one is `Err(why not yet)` until its node kind exists.
pub struct Story {
    /// `C3` or `S3`.
    pub name: &'static str,
    /// What is measured, for the report.
    pub setup: &'static str,
    /// Real measurements.
    pub real: Measured,
    /// Simulated measurements (≥ 100 seeds), or why they are missing.
    pub simulated: Result<Measured, &'static str>,
    /// Metrics that are known gaps, with why (they are reported, not required).
    pub gaps: &'static [(&'static str, &'static str)],
    /// `--quick`: too few real runs for a median, so each real value must lie in
    /// the simulated spread (min..max over seeds, widened by the tolerance).
    pub quick: bool,
}

impl Story {
    /// Rows: one per metric (medians within ±15 %) and one per fact (same in every run).
    pub fn compare(&self) -> Vec<Row> {
        let group = format!("timing/{}", self.name);
        let mut rows = Vec::new();
        for s in &self.real.series {
            let real = median(&s.values);
            let shown_real = match real {
                Some(m) => format!("median {m:.1} ms over {} runs", s.values.len()),
                None => "never reached".to_owned(),
            };
            let (shown_sim, verdict, note) = match &self.simulated {
                Err(why) => ("not measured".to_owned(), Verdict::KnownGap, (*why).to_owned()),
                Ok(sim) => {
                    let values = sim.series.iter().find(|x| x.name == s.name).map(|x| x.values.clone());
                    let m = values.as_deref().and_then(median);
                    let lo = values.iter().flatten().copied().reduce(f64::min);
                    let hi = values.iter().flatten().copied().reduce(f64::max);
                    let shapes = (Spread::of(&s.values), values.as_deref().and_then(Spread::of));
                    let spike = match shapes {
                        (Some(r), Some(sim)) if s.values.len() >= SHAPE_MIN_RUNS => sim.is_spike_against(&r),
                        _ => false,
                    };
                    let within = if self.quick {
                        matches!((lo, hi), (Some(lo), Some(hi)) if !s.values.is_empty()
                            && s.values.iter().all(|&v| v >= lo * (1.0 - TOLERANCE) && v <= hi * (1.0 + TOLERANCE)))
                    } else {
                        matches!((real, m), (Some(r), Some(m)) if (m - r).abs() <= TOLERANCE * r) && !spike
                    };
                    let rule = if self.quick {
                        format!("--quick: each real value within the simulated range ±{:.0} %", TOLERANCE * 100.0)
                    } else if spike {
                        format!(
                            "a spike where real runs spread: simulated p10–p90 {} vs real {} (p10/p50/p90 (range))",
                            shapes.1.map_or(String::new(), |x| x.show()),
                            shapes.0.map_or(String::new(), |x| x.show())
                        )
                    } else {
                        format!("medians within ±{:.0} %, and not a spike where real runs spread", TOLERANCE * 100.0)
                    };
                    let gap = self.gaps.iter().find(|(name, _)| *name == s.name).map(|(_, why)| *why);
                    let (verdict, note) = match (gap, within) {
                        (None, true) => (Verdict::Match, rule),
                        (None, false) => (Verdict::Differ, rule),
                        (Some(why), true) => (Verdict::GapClosed, why.to_owned()),
                        (Some(why), false) => (Verdict::KnownGap, why.to_owned()),
                    };
                    (
                        m.map_or("never reached".into(), |m| {
                            format!("median {m:.1} ms over {} seeds", values.as_ref().map_or(0, Vec::len))
                        }),
                        verdict,
                        note,
                    )
                }
            };
            rows.push(Row {
                group: group.clone(),
                case: s.name.clone(),
                real: shown_real,
                simulated: shown_sim,
                verdict,
                note,
            });
        }
        for (name, values) in &self.real.facts {
            let mut distinct = values.clone();
            distinct.dedup();
            let shown_real =
                if distinct.len() == 1 { distinct[0].clone() } else { format!("varies: {}", values.join(" / ")) };
            let (shown_sim, verdict, note) = match &self.simulated {
                Err(why) => ("not measured".to_owned(), Verdict::KnownGap, (*why).to_owned()),
                Ok(sim) => {
                    let s = sim.facts.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
                    // Over a hundred seeds: each distinct value once.
                    let mut d = s.clone();
                    d.sort();
                    d.dedup();
                    let shown = if d.len() == 1 { d[0].clone() } else { format!("varies: {}", d.join(" / ")) };
                    let same = shown == shown_real;
                    (shown, if same { Verdict::Match } else { Verdict::Differ }, String::new())
                }
            };
            rows.push(Row {
                group: group.clone(),
                case: name.clone(),
                real: shown_real,
                simulated: shown_sim,
                verdict,
                note,
            });
        }
        for f in &self.real.failures {
            rows.push(Row {
                group: group.clone(),
                case: "real run failed".into(),
                real: f.clone(),
                simulated: String::new(),
                verdict: Verdict::Differ,
                note: "a real run that does not complete is a harness failure".into(),
            });
        }
        for f in self.simulated.iter().flat_map(|m| &m.failures) {
            rows.push(Row {
                group: group.clone(),
                case: "simulated seed failed".into(),
                real: String::new(),
                simulated: f.clone(),
                verdict: Verdict::Differ,
                note: "every seed must complete the story as every real run does".into(),
            });
        }
        rows
    }

    fn to_json(&self) -> Value {
        let side = |m: &Measured| {
            json!({
                "runs": m.runs,
                "series": m.series.iter().map(|s| {
                    let shape = Spread::of(&s.values);
                    json!({"metric": s.name, "median_ms": median(&s.values), "p10_ms": shape.map(|x| x.p10),
                        "p90_ms": shape.map(|x| x.p90), "values_ms": s.values})
                }).collect::<Vec<_>>(),
                "facts": m.facts.iter().map(|(n, v)| json!({"fact": n, "per_run": v})).collect::<Vec<_>>(),
                "failures": m.failures,
            })
        };
        json!({
            "story": self.name,
            "setup": self.setup,
            "real": side(&self.real),
            "simulated": match &self.simulated { Ok(m) => side(m), Err(why) => json!({"missing": why}) },
        })
    }
}

/// Both stories and their rows.
#[derive(Default)]
pub struct Timing {
    /// Rows for the report table.
    pub rows: Vec<Row>,
    /// The stories.
    pub stories: Vec<Story>,
}

impl Timing {
    /// JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "tolerance": TOLERANCE,
            "stories": self.stories.iter().map(Story::to_json).collect::<Vec<_>>(),
        })
    }

    /// Markdown: metrics with real values per run.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        for s in &self.stories {
            let _ = writeln!(
                md,
                "**{}** — real: {} runs{}\n",
                s.name,
                s.real.runs,
                match &s.simulated {
                    Ok(m) => format!(", simulated: {} seeds", m.runs),
                    Err(why) => format!(", simulated: not yet ({why})"),
                }
            );
            let _ = writeln!(
                md,
                "| metric | real median (ms) | simulated median (ms) | difference | simulated range (ms) | real p10/p50/p90 (range) | simulated p10/p50/p90 (range) | real values (ms) |"
            );
            let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
            for x in &s.real.series {
                let values: Vec<String> = x.values.iter().map(|v| format!("{v:.0}")).collect();
                let real = median(&x.values);
                let sim_values = s
                    .simulated
                    .as_ref()
                    .ok()
                    .and_then(|m| m.series.iter().find(|y| y.name == x.name))
                    .map(|y| y.values.clone())
                    .unwrap_or_default();
                let sim = median(&sim_values);
                let shown = |m: Option<f64>| m.map_or("–".into(), |m| format!("{m:.1}"));
                let diff = match (real, sim) {
                    (Some(r), Some(m)) if r > 0.0 => format!("{:+.1} %", (m - r) / r * 100.0),
                    _ => "–".into(),
                };
                let range =
                    match (sim_values.iter().copied().reduce(f64::min), sim_values.iter().copied().reduce(f64::max)) {
                        (Some(lo), Some(hi)) => format!("{lo:.0}–{hi:.0}"),
                        _ => "–".into(),
                    };
                let shape = |v: &[f64]| Spread::of(v).map_or("–".into(), |s| s.show());
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {diff} | {range} | {} | {} | {} |",
                    x.name,
                    shown(real),
                    shown(sim),
                    shape(&x.values),
                    shape(&sim_values),
                    values.join(", ")
                );
            }
            let _ = writeln!(md);
        }
        md
    }
}

const RETURN_TIME: &str = "restarted old master: replica of the promoted node (own view)";

/// Real runs and simulated seeds per story: the full run has ≥ 10 real C3 runs
/// and ≥ 100 simulated seeds, `--quick` (CI) a smoke of each.
pub(super) fn counts(quick: bool) -> (usize, usize, usize) {
    if quick { (1, 1, 30) } else { (10, 5, 100) }
}

/// Runs C3 and S3 on real processes and on the simulator.
pub fn run(opts: &Options) -> Timing {
    let (c3_runs, s3_runs, seeds) = counts(opts.quick);
    let sim_seeds = |i: usize| opts.seed.wrapping_add(i as u64);
    let restart_old_master = !opts.quick;
    let c3 = Story {
        name: "C3 cluster failover",
        setup: "3 masters + 3 replicas on 7640-7645 (appendonly yes, cluster-node-timeout 2000) created with \
                redis-cli --cluster create --cluster-replicas 1 (the simulator: its cluster_tool create); SIGKILL \
                of the master of slot 0; every survivor's CLUSTER NODES and CLUSTER INFO polled every 50 ms; then \
                the killed master restarted. Times in ms after the SIGKILL (after the restart for the last one).",
        real: measure(c3_runs, |_, m| c3_once(&mut Real::new(opts), m)),
        simulated: Ok(measure(seeds, |i, m| c3_once(&mut Simulated::new(sim_seeds(i)), m))),
        gaps: &[(
            RETURN_TIME,
            "the simulated restart now takes redis-server's measured start-up (8-16 ms, drawn per start) and its \
             AOF load, but not the real harness's own time (its 10 ms readiness polls, then one or two 50 ms \
             polls), which is most of the real figure; that it returns as the promoted node's replica is the fact \
             \"restarted old master's role\"",
        )],
        quick: opts.quick,
    };
    let s3 = Story {
        name: "S3 sentinel failover",
        setup: "master 7650, replicas 7651 and 7652 in sync, one Sentinel on 27650 (quorum 1, \
                down-after-milliseconds 2000), 3 s of steady state, SIGKILL of the master; the sentinel's log \
                polled every 20 ms. Times in ms after the SIGKILL; with the full run the old master is restarted 500 ms \
                after the switch and the time to +convert-to-slave measured from its restart.",
        real: measure(s3_runs, |_, m| s3_once(&mut Real::new(opts), m, restart_old_master)),
        simulated: Ok(measure(seeds, |i, m| s3_once(&mut Simulated::new(sim_seeds(i)), m, restart_old_master))),
        gaps: &[],
        quick: opts.quick,
    };
    let stories = vec![c3, s3];
    let rows = stories.iter().flat_map(Story::compare).collect();
    Timing { rows, stories }
}

/// `runs` runs of one story; a run that fails or panics is a failure with its reason.
pub(super) fn measure(runs: usize, mut once: impl FnMut(usize, &mut Measured) -> Result<(), String>) -> Measured {
    let mut m = Measured { runs, ..Measured::default() };
    for run in 0..runs {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| once(run, &mut m)));
        let why = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
                format!("panicked: {}", what.unwrap_or_default())
            }
        };
        m.failures.push(format!("run {run}: {why}"));
    }
    m
}

/// `CLUSTER NODES` lines as (id, port, flags, master id, link state, slots).
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    master: String,
    slots: String,
}

fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let port = f.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
            Some(NodeLine {
                id: f[0].to_owned(),
                port,
                flags: f.get(2)?.to_string(),
                master: f.get(3)?.to_string(),
                slots: f.get(8..).map(|s| s.join(" ")).unwrap_or_default(),
            })
        })
        .collect()
}

fn c3_conf() -> String {
    "save \"\"\nappendonly yes\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\n".into()
}

/// One C3 run: create 3+3, SIGKILL the master of slot 0, watch the survivors,
/// restart it and watch it come back as a replica.
fn c3_once(t: &mut dyn Target, m: &mut Measured) -> Result<(), String> {
    cluster_failover_once(t, m, Signal::Kill)
}

/// The metric of a graceful stop: from SIGTERM to the process's exit.
pub(super) const EXIT_TIME: &str = "time to exit after SIGTERM";

/// Sends `signal` (SIGKILL or SIGTERM, which the target waits out) and
/// returns when the failover clock starts: after a SIGKILL as C3 and S3
/// always measured; at the SIGTERM itself, with the exit recorded.
fn stop_victim(t: &mut dyn Target, m: &mut Measured, port: u16, signal: Signal) -> Result<f64, String> {
    if signal != Signal::Term {
        t.signal(port, signal)?;
        return Ok(t.now_ms());
    }
    let start = t.now_ms();
    t.signal(port, signal)?;
    m.record(EXIT_TIME, Some(t.now_ms() - start));
    Ok(start)
}

/// C3 with the master of slot 0 stopped by `signal`.
pub(super) fn cluster_failover_once(t: &mut dyn Target, m: &mut Measured, signal: Signal) -> Result<(), String> {
    for port in C3_PORTS {
        t.start(port, &c3_conf())?;
    }
    t.create_cluster(&C3_PORTS, 1)?;
    let conns: Vec<(u16, Conn)> = C3_PORTS.iter().map(|&p| t.connect(p).map(|c| (p, c))).collect::<Result<_, _>>()?;
    let state_ok = |t: &mut dyn Target, c: Conn| -> Result<bool, String> {
        Ok(t.call(c, &args("CLUSTER INFO"))?.text().contains("cluster_state:ok"))
    };
    // Every node ok and every replica's link up, bounded.
    let mut healthy = false;
    for _ in 0..(C3_LIMIT.as_millis() / POLL.as_millis()) {
        let mut all = true;
        for &(_, c) in &conns {
            all &= state_ok(t, c)?;
            let info = t.call(c, &args("INFO replication"))?.text();
            all &= info.contains("role:master") || info.contains("master_link_status:up");
        }
        if all {
            healthy = true;
            break;
        }
        t.sleep(POLL);
    }
    if !healthy {
        return Err("the created cluster did not become healthy within 30 s".into());
    }
    let nodes = parse_nodes(&t.call(conns[0].1, &args("CLUSTER NODES"))?.text());
    let victim = nodes.iter().find(|n| n.slots.split(' ').any(|s| s.starts_with("0-"))).ok_or("no owner of slot 0")?;
    let replica = nodes.iter().find(|n| n.master == victim.id).ok_or("the master of slot 0 has no replica")?;
    let (victim_port, victim_id, replica_port) = (victim.port, victim.id.clone(), replica.port);
    let survivors: Vec<(u16, Conn)> = conns.iter().copied().filter(|(p, _)| *p != victim_port).collect();

    let start = stop_victim(t, m, victim_port, signal)?;
    let (mut pfail, mut fail, mut promoted, mut ok_again) = (None, None, None, None);
    let mut saw_state_fail = false;
    while t.now_ms() - start < C3_LIMIT.as_millis() as f64 && ok_again.is_none() {
        let mut all_ok = true;
        for &(port, c) in &survivors {
            let view = parse_nodes(&t.call(c, &args("CLUSTER NODES"))?.text());
            let flags = view.iter().find(|n| n.id == victim_id).map(|n| n.flags.clone()).unwrap_or_default();
            let now = t.now_ms() - start;
            if flags.contains("fail?") {
                pfail.get_or_insert(now);
            }
            if flags.split(',').any(|f| f == "fail") {
                fail.get_or_insert(now);
            }
            if port == replica_port && view.iter().any(|n| n.flags.contains("myself") && n.flags.contains("master")) {
                promoted.get_or_insert(now);
            }
            let ok = state_ok(t, c)?;
            saw_state_fail |= !ok;
            all_ok &= ok;
        }
        if saw_state_fail && all_ok && promoted.is_some() {
            ok_again = Some(t.now_ms() - start);
        }
        t.sleep(POLL);
    }
    m.record("time to fail? (first survivor)", pfail);
    m.record("time to fail (first survivor)", fail);
    m.record("time to promotion (replica's own view)", promoted);
    m.record("time to cluster_state:ok on all survivors", ok_again);
    m.fact("promoted replica", if promoted.is_some() { "the killed master's replica".into() } else { "none".into() });

    let start = t.now_ms();
    t.restart(victim_port)?;
    let c = t.connect(victim_port)?;
    let mut back = None;
    let mut replica_id = String::new();
    while t.now_ms() - start < C3_LIMIT.as_millis() as f64 {
        let view = parse_nodes(&t.call(c, &args("CLUSTER NODES"))?.text());
        replica_id = view.iter().find(|n| n.port == replica_port).map(|n| n.id.clone()).unwrap_or_default();
        if view.iter().any(|n| n.flags.contains("myself") && n.flags.contains("slave") && n.master == replica_id) {
            back = Some(t.now_ms() - start);
            break;
        }
        t.sleep(POLL);
    }
    m.record(RETURN_TIME, back);

    m.fact(
        "restarted old master's role",
        if back.is_some() { "replica of the promoted node".into() } else { format!("not a replica of {replica_id}") },
    );
    Ok(())
}

/// Sentinel events (`+sdown`, `+switch-master`...) with the ms they were first seen.
fn sentinel_events(log: &[String], seen: &mut Vec<(String, String, f64)>, now: f64) {
    for line in log.iter().skip(seen.len()) {
        let event = line.split(' ').next().unwrap_or("").to_owned();
        seen.push((event, line.clone(), now));
    }
}

/// One S3 run: a master and two replicas in sync under one Sentinel, SIGKILL of
/// the master, the Sentinel's events until the old master is listed as a replica.
fn s3_once(t: &mut dyn Target, m: &mut Measured, restart_old_master: bool) -> Result<(), String> {
    sentinel_failover_once(t, m, restart_old_master, Signal::Kill)
}

/// S3 with the master stopped by `signal`.
pub(super) fn sentinel_failover_once(
    t: &mut dyn Target,
    m: &mut Measured,
    restart_old_master: bool,
    signal: Signal,
) -> Result<(), String> {
    t.start(S3_MASTER, "save \"\"\n")?;
    for port in S3_REPLICAS {
        t.start(port, &format!("save \"\"\nreplicaof 127.0.0.1 {S3_MASTER}\n"))?;
    }
    // Both replicas in sync first (the default 5 s diskless delay), as in the oracle's runs:
    // a replica that never synced cannot resync partially after the failover.
    for port in S3_REPLICAS {
        let up = wait_until(t, POLL, Duration::from_secs(20), |t| {
            Ok(info_field(t, port, "replication", "master_link_status")? == "up")
        })?;
        if !up {
            return Err(format!("replica {port} did not sync within 20 s"));
        }
    }
    t.start_sentinel(
        S3_SENTINEL,
        &format!(
            "sentinel monitor {S3_NAME} 127.0.0.1 {S3_MASTER} 1\nsentinel down-after-milliseconds {S3_NAME} 2000\n"
        ),
    )?;
    let sc = t.connect(S3_SENTINEL)?;
    // Ready when the sentinel knows both replicas, then 3 s of steady state, as the oracle did.
    let mut ready = false;
    for _ in 0..(30_000 / POLL.as_millis()) {
        if t.call(sc, &args("INFO sentinel"))?.text().contains("slaves=2,sentinels=1") {
            ready = true;
            break;
        }
        t.sleep(POLL);
    }
    if !ready {
        return Err("the sentinel did not discover both replicas within 30 s".into());
    }
    t.sleep(Duration::from_secs(3));
    let skip = t.log(S3_SENTINEL).len();
    let start = stop_victim(t, m, S3_MASTER, signal)?;
    let mut seen: Vec<(String, String, f64)> = Vec::new();
    let done = |seen: &[(String, String, f64)]| {
        seen.iter().any(|(_, l, _)| l.starts_with(&format!("+slave slave 127.0.0.1:{S3_MASTER}")))
    };
    while t.now_ms() - start < 30_000.0 && !done(&seen) {
        let log: Vec<String> =
            t.log(S3_SENTINEL).into_iter().skip(skip).filter(|l| l.starts_with(['+', '-'])).collect();
        let now = t.now_ms() - start;
        sentinel_events(&log, &mut seen, now);
        t.sleep(Duration::from_millis(20));
    }
    let first = |name: &str| seen.iter().find(|(e, _, _)| e == name).map(|(_, _, t)| *t);
    m.record("time to +sdown", first("+sdown"));
    m.record("time to +odown", first("+odown"));
    m.record("time to +promoted-slave", first("+promoted-slave"));
    m.record("time to +switch-master", first("+switch-master"));
    let order: Vec<&str> = seen.iter().map(|(e, _, _)| e.as_str()).collect();
    m.fact("event order", order.join(" "));
    let promoted = seen
        .iter()
        .find(|(e, _, _)| e == "+switch-master")
        .and_then(|(_, l, _)| l.rsplit(' ').next().map(str::to_owned))
        .unwrap_or_else(|| "none".into());
    // Which replica wins is Sentinel's choice among equals (run id order): record, don't require.
    m.fact(
        "promoted replica is one of the two replicas",
        S3_REPLICAS.iter().any(|p| p.to_string() == promoted).to_string(),
    );
    if restart_old_master {
        // Sentinel's first connection to the old master (now listed as a
        // replica) is tried at its first tick after the switch and, refused,
        // again a second later; the restart waits until the first has failed.
        t.sleep(S3_RESTART_AFTER);
        t.restart(S3_MASTER)?;
        let start = t.now_ms();
        let mut converted = None;
        while t.now_ms() - start < 30_000.0 {
            if t.log(S3_SENTINEL).iter().skip(skip).any(|l| l.starts_with("+convert-to-slave")) {
                converted = Some(t.now_ms() - start);
                break;
            }
            t.sleep(Duration::from_millis(20));
        }
        m.record("restarted old master: time to +convert-to-slave", converted);
    }
    Ok(())
}
