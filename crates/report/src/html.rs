//! `report.html`: one self-contained page (inline SVG and CSS, no script, no
//! network) with the run's charts on one shared axis of virtual seconds — node
//! states as swimlanes with faults, steps and partitions marked; slot owners
//! as most nodes saw them; epochs; replication offsets; Sentinel events — and
//! every step and invariant with its verdict, the log lines around a failure
//! below. Charts are drawn by `plotters` into SVG; text stays SVG `<text>`.
//! At more than [`MAX_LANES`] nodes, the lanes become one chart of how many
//! nodes are in each state.

use crate::timeline::{State, Timeline};
use crate::{Outcome, RunReport, Verdict, seconds};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// More nodes than this are drawn as counts per state, not one lane each.
pub const MAX_LANES: usize = 40;
/// Chart width, px.
const WIDTH: u32 = 1100;
/// Owners named in the slot chart's legend; more are counted, not named.
const LEGEND_MAX: usize = 24;
/// Lines shown around a failure, per node log.
const LOG_CONTEXT: usize = 8;

/// The text of `report.html`; `logs` are (node, its log lines).
pub fn page(r: &RunReport, t: &Timeline, logs: &[(String, Vec<String>)]) -> String {
    let mut h = String::new();
    let verdict = match r.result {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Interrupted => "interrupted",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — chaoslab</title><style>{CSS}</style></head><body>\n",
        esc(&r.scenario.name)
    );
    let _ = writeln!(
        h,
        "<h1><span class=\"verdict {verdict}\">{}</span> {} <small>seed {}</small></h1>",
        verdict.to_uppercase(),
        esc(&r.scenario.name),
        r.seed
    );
    let _ = writeln!(h, "<p class=\"desc\">{}</p>", esc(r.scenario.description.trim()));
    if let Some(f) = &r.failure {
        let _ = writeln!(h, "<p class=\"failure\">{}</p>", esc(f));
    }
    crate::results::html_flag(&mut h, r);
    let _ = writeln!(
        h,
        "<p class=\"facts\">{} virtual · {} events · trace <code>{}</code> · <code>{}</code></p>",
        r.virtual_time,
        r.events_processed,
        r.trace_hash,
        esc(&r.reproduce)
    );
    section(&mut h, "Nodes over time", "lanes", &lanes_chart(t, &cluster_ids(r)));
    if !t.ownership.is_empty() {
        section(&mut h, "Slot owners (as most running nodes see them)", "slots", &ownership_chart(t));
    }
    if !t.epochs.is_empty() {
        section(&mut h, "Cluster epochs", "epochs", &series_chart(t, &t.epochs, "currentEpoch"));
    }
    if !t.offsets.is_empty() {
        section(&mut h, "Replication offsets", "offsets", &series_chart(t, &t.offsets, "offset (bytes)"));
    }
    if t.lag.iter().any(|s| s.points.iter().any(|p| p.1 > 0)) {
        section(&mut h, "Replica lag (bytes behind the master)", "lag", &series_chart(t, &t.lag, "lag (bytes)"));
    }
    events_table(&mut h, t);
    steps_table(&mut h, r);
    crate::results::html(&mut h, r);
    failure_logs(&mut h, r, logs);
    h.push_str("</body></html>\n");
    h
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1160px}\
h1{font-size:22px}small{color:#777;font-weight:normal}.verdict{padding:2px 8px;border-radius:4px;color:#fff}\
.pass{background:#2a7d2a}.fail{background:#b3261e}.interrupted{background:#a66b00}.desc{white-space:pre-wrap;color:#444}\
.failure{color:#b3261e;font-weight:600}.flag{color:#a66b00;font-weight:600}code{background:#f3f3f3;padding:1px 4px}table{border-collapse:collapse;width:100%;margin:8px 0 24px}\
table{table-layout:fixed}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th:nth-child(-n+4),td:nth-child(-n+4){width:4.5em}tr.fail td{background:#fdecea}\
tr.skipped td{color:#999}pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}figure{margin:0 0 24px}\
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}";

fn section(h: &mut String, title: &str, id: &str, svg: &str) {
    let _ = writeln!(h, "<h2>{title}</h2><figure id=\"{id}\" class=\"chart\">{svg}</figure>");
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn state_colour(s: State) -> RGBColor {
    match s {
        State::Master => RGBColor(0x1f, 0x77, 0xb4),
        State::Replica => RGBColor(0x2c, 0xa0, 0x2c),
        State::Handshake => RGBColor(0xbc, 0xbd, 0x22),
        State::Paused => RGBColor(0xff, 0x7f, 0x0e),
        State::Down => RGBColor(0xcc, 0xcc, 0xcc),
    }
}

const STATES: [(State, &str); 5] = [
    (State::Master, "master"),
    (State::Replica, "replica"),
    (State::Handshake, "replica, link down"),
    (State::Paused, "paused"),
    (State::Down, "down"),
];

/// The swimlanes, or counts per state for big topologies, with faults
/// (red), failures and partitions (shaded) marked.
/// Each node's Redis Cluster id at the end of the run, by its name.
fn cluster_ids(r: &RunReport) -> BTreeMap<String, String> {
    r.nodes
        .iter()
        .filter_map(|n| Some((n.detail.get("cluster")?.get("id")?.as_str()?.to_owned(), n.name.clone())))
        .collect()
}

/// Stretches during which most cluster nodes held a peer failed (`fail`), or
/// at least one suspected it (`fail?`): (node name, from, to, failed).
fn failure_views(t: &Timeline, ids: &BTreeMap<String, String>) -> Vec<(String, u64, u64, bool)> {
    let observers = t.lanes.len().max(1);
    let mut beliefs: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    let mut open: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
    let mut out = Vec::new();
    for (at, observer, peer, health) in &t.health {
        let views = beliefs.entry(peer.as_str()).or_default();
        views.insert(observer.as_str(), health.as_str());
        let failed = views.values().filter(|h| **h == "failed").count();
        let suspected = views.values().filter(|h| **h != "ok").count();
        let now = if failed * 2 > observers { Some(true) } else { (suspected > 0).then_some(false) };
        let before = open.get(peer.as_str()).map(|&(_, f)| f);
        if now == before {
            continue;
        }
        let Some(name) = ids.get(peer) else { continue };
        if let Some((from, f)) = open.remove(peer.as_str())
            && *at > from
        {
            out.push((name.clone(), from, *at, f));
        }
        if let Some(f) = now {
            open.insert(peer.as_str(), (*at, f));
        }
    }
    for (peer, (from, f)) in open {
        if let Some(name) = ids.get(peer) {
            out.push((name.clone(), from, t.end_ns, f));
        }
    }
    out
}

fn lanes_chart(t: &Timeline, ids: &BTreeMap<String, String>) -> String {
    let mut legend = String::from("<div class=\"legend\">");
    for (s, name) in STATES {
        let c = state_colour(s);
        let _ = write!(legend, "<span><i style=\"background:rgb({},{},{})\"></i>{name}</span>", c.0, c.1, c.2);
    }
    legend.push_str("<span><i style=\"background:#d62728\"></i>fault</span><span><i style=\"background:#eee\"></i>partitioned</span><span><i style=\"background:#000;border-radius:6px\"></i>node event</span>");
    if !t.health.is_empty() {
        legend.push_str("<span><i style=\"background:rgba(255,127,14,0.5)\"></i>fail? (suspected)</span><span><i style=\"background:rgba(214,39,40,0.6)\"></i>fail (most nodes agree)</span>");
    }
    legend.push_str("<span><i style=\"background:#888;width:2px\"></i>step</span></div>");
    let svg = if t.lanes.len() <= MAX_LANES { swimlanes(t, ids) } else { state_counts(t) };
    legend + &svg.unwrap_or_else(|e| format!("<p>chart failed: {}</p>", esc(&e)))
}

fn swimlanes(t: &Timeline, ids: &BTreeMap<String, String>) -> Result<String, String> {
    let n = t.lanes.len().max(1) as u32;
    let end = secs(t.end_ns).max(1e-3);
    let height = 70 + 26 * n;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let names: Vec<String> = t.lanes.iter().map(|l| l.name.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..end, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n as usize + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    (n - 1).checked_sub(*i).and_then(|row| names.get(row as usize)).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_desc("virtual seconds")
            .draw()
            .map_err(|e| e.to_string())?;
        let grey = RGBColor(0xee, 0xee, 0xee).filled();
        let shades = t.partitions.iter().map(|p| {
            Rectangle::new([(secs(p.from_ns), SegmentValue::Exact(0)), (secs(p.to_ns), SegmentValue::Exact(n))], grey)
        });
        chart.draw_series(shades).map_err(|e| e.to_string())?;
        for (row, lane) in t.lanes.iter().enumerate() {
            let y = n - 1 - row as u32;
            let rects = lane.segments.iter().map(move |s| {
                let colour = state_colour(s.state).filled();
                Rectangle::new(
                    [(secs(s.from_ns), SegmentValue::Exact(y)), (secs(s.to_ns), SegmentValue::Exact(y + 1))],
                    colour,
                )
                .into_dyn()
            });
            chart.draw_series(rects).map_err(|e| e.to_string())?;
        }
        // fail? and fail as the cluster saw each node, over its lane.
        let views = failure_views(t, ids).into_iter().filter_map(|(name, from, to, failed)| {
            let row = names.iter().position(|l| *l == name)? as u32;
            let y = n - 1 - row;
            let colour = if failed { RGBColor(0xd6, 0x27, 0x28).mix(0.6) } else { RGBColor(0xff, 0x7f, 0x0e).mix(0.5) };
            Some(Rectangle::new(
                [(secs(from), SegmentValue::Exact(y)), (secs(to), SegmentValue::Exact(y + 1))],
                colour.filled(),
            ))
        });
        chart.draw_series(views).map_err(|e| e.to_string())?;
        // Steps as grey ticks along the bottom.
        let steps = t.marks.iter().filter(|m| m.kind == "step").map(|m| {
            let x = secs(m.at_ns);
            PathElement::new(
                vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::CenterOf(0))],
                RGBColor(0x88, 0x88, 0x88),
            )
        });
        chart.draw_series(steps).map_err(|e| e.to_string())?;
        // A node's events (a Sentinel's +sdown, +switch-master, ...) as ticks on its lane.
        let ticks = t.marks.iter().filter(|m| m.kind == "event").filter_map(|m| {
            let row = names.iter().position(|l| Some(l) == m.node.as_ref())? as u32;
            let y = SegmentValue::CenterOf(n - 1 - row);
            Some(Circle::new((secs(m.at_ns), y), 3, BLACK.filled()))
        });
        chart.draw_series(ticks).map_err(|e| e.to_string())?;
        let red = RGBColor(0xd6, 0x27, 0x28);
        for (k, m) in t.marks.iter().filter(|m| m.kind == "fault" || m.kind == "failure").enumerate() {
            let x = secs(m.at_ns);
            let colour = if m.kind == "failure" { BLACK } else { red };
            let line = PathElement::new(
                vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
                colour.stroke_width(2),
            );
            chart.draw_series(std::iter::once(line)).map_err(|e| e.to_string())?;
            let text: String = m.text.chars().take(24).collect();
            let style = TextStyle::from(("sans-serif", 11).into_font()).color(&colour);
            let row = n.saturating_sub(1 + (k as u32 % n.min(3)));
            chart
                .draw_series(std::iter::once(Text::new(text, (x, SegmentValue::CenterOf(row)), style)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn shade_partitions(chart: &mut Chart<'_, '_>, t: &Timeline, top: f64) -> Result<(), String> {
    let grey = RGBColor(0xee, 0xee, 0xee).filled();
    let rects = t.partitions.iter().map(|p| Rectangle::new([(secs(p.from_ns), 0.0), (secs(p.to_ns), top)], grey));
    chart.draw_series(rects).map(|_| ()).map_err(|e| e.to_string())
}

/// Faults as red lines labelled with what they did; the failure in black.
fn draw_marks(chart: &mut Chart<'_, '_>, t: &Timeline, top: f64) -> Result<(), String> {
    let red = RGBColor(0xd6, 0x27, 0x28);
    for (label_row, m) in t.marks.iter().filter(|m| m.kind == "fault" || m.kind == "failure").enumerate() {
        let x = secs(m.at_ns);
        let colour = if m.kind == "failure" { BLACK } else { red };
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, top)], colour.stroke_width(1))))
            .map_err(|e| e.to_string())?;
        let text: String = m.text.chars().take(28).collect();
        let y = top - 0.3 - (label_row % 3) as f64 * 0.35;
        let style = TextStyle::from(("sans-serif", 11).into_font()).color(&colour);
        chart.draw_series(std::iter::once(Text::new(text, (x, y), style))).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// For big topologies: how many nodes are in each state, stacked, over time.
fn state_counts(t: &Timeline) -> Result<String, String> {
    let end = secs(t.end_ns).max(1e-3);
    // Every boundary where some lane changes state.
    let mut cuts: Vec<u64> = t.lanes.iter().flat_map(|l| l.segments.iter().map(|s| s.from_ns)).collect();
    cuts.push(t.end_ns);
    cuts.sort_unstable();
    cuts.dedup();
    let count_at = |at: u64, state: State| {
        t.lanes
            .iter()
            .filter(|l| {
                l.segments.iter().any(|s| s.from_ns <= at && at < s.to_ns.max(s.from_ns + 1) && s.state == state)
            })
            .count() as f64
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let total = t.lanes.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..end, 0f64..total)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc("virtual seconds").y_desc("nodes").draw().map_err(|e| e.to_string())?;
        shade_partitions(&mut chart, t, total)?;
        let mut base: Vec<f64> = vec![0.0; cuts.len()];
        for (state, _) in STATES {
            let counts: Vec<f64> = cuts.iter().map(|&c| count_at(c, state)).collect();
            let rects = cuts.windows(2).enumerate().map(|(i, w)| {
                let (lo, hi) = (base[i], base[i] + counts[i]);
                Rectangle::new([(secs(w[0]), lo), (secs(w[1]), hi)], state_colour(state).filled())
            });
            chart.draw_series(rects).map_err(|e| e.to_string())?;
            for (b, c) in base.iter_mut().zip(&counts) {
                *b += c;
            }
        }
        draw_marks(&mut chart, t, total)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Slots 0..16384 over time, coloured by the owner most nodes name.
fn ownership_chart(t: &Timeline) -> String {
    let draw = || -> Result<String, String> {
        let end = secs(t.end_ns).max(1e-3);
        let mut owners: Vec<&str> = t.ownership.iter().flat_map(|o| o.ranges.iter().map(|r| r.2.as_str())).collect();
        owners.sort_unstable();
        owners.dedup();
        let palette = |id: &str| Palette99::pick(owners.iter().position(|o| *o == id).unwrap_or(0)).to_rgba();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..end, 0f64..16384f64)
                .map_err(|e| e.to_string())?;
            chart.configure_mesh().x_desc("virtual seconds").y_desc("slot").draw().map_err(|e| e.to_string())?;
            for (i, view) in t.ownership.iter().enumerate() {
                let until = t.ownership.get(i + 1).map_or(t.end_ns, |next| next.at_ns);
                let rects = view.ranges.iter().map(|(first, last, owner)| {
                    let (x0, x1) = (secs(view.at_ns), secs(until));
                    Rectangle::new([(x0, f64::from(*first)), (x1, f64::from(*last) + 1.0)], palette(owner).filled())
                });
                chart.draw_series(rects).map_err(|e| e.to_string())?;
            }
            draw_marks(&mut chart, t, 16384.0)?;
            root.present().map_err(|e| e.to_string())?;
        }
        let mut legend = String::from("<div class=\"legend\">");
        for o in owners.iter().take(LEGEND_MAX) {
            let c = palette(o);
            let _ = write!(
                legend,
                "<span><i style=\"background:rgb({},{},{})\"></i>{}</span>",
                c.0,
                c.1,
                c.2,
                &o[..o.len().min(8)]
            );
        }
        if owners.len() > LEGEND_MAX {
            let _ = write!(legend, "<span>and {} more masters</span>", owners.len() - LEGEND_MAX);
        }
        legend.push_str("</div>");
        Ok(legend + &svg)
    };
    draw().unwrap_or_else(|e| format!("<p>chart failed: {}</p>", esc(&e)))
}

/// One line per node (a step function: the value holds until the next point).
fn series_chart(t: &Timeline, series: &[crate::timeline::Series], y_desc: &str) -> String {
    let draw = || -> Result<String, String> {
        let end = secs(t.end_ns).max(1e-3);
        let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).max().unwrap_or(1).max(1) as f64 * 1.05;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, 280)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(80)
                .build_cartesian_2d(0f64..end, 0f64..top)
                .map_err(|e| e.to_string())?;
            chart.configure_mesh().x_desc("virtual seconds").y_desc(y_desc).draw().map_err(|e| e.to_string())?;
            for (i, s) in series.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                let mut steps = Vec::with_capacity(s.points.len() * 2 + 1);
                for (j, &(at, v)) in s.points.iter().enumerate() {
                    let next = s.points.get(j + 1).map_or(t.end_ns, |p| p.0);
                    steps.push((secs(at), v as f64));
                    steps.push((secs(next), v as f64));
                }
                let drawn =
                    chart.draw_series(LineSeries::new(steps, colour.stroke_width(2))).map_err(|e| e.to_string())?;
                if series.len() <= 12 {
                    drawn
                        .label(s.node.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
                }
            }
            if series.len() <= 12 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    };
    draw().unwrap_or_else(|e| format!("<p>chart failed: {}</p>", esc(&e)))
}

fn events_table(h: &mut String, t: &Timeline) {
    let events: Vec<_> = t.marks.iter().filter(|m| m.kind == "event").collect();
    if events.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2>Node events</h2><table class=\"events\"><tr><th>at</th><th>node</th><th>event</th></tr>");
    for m in events {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            seconds(m.at_ns),
            esc(m.node.as_deref().unwrap_or("")),
            esc(&m.text)
        );
    }
    h.push_str("</table>\n");
}

fn steps_table(h: &mut String, r: &RunReport) {
    let _ = writeln!(
        h,
        "<h2>Steps</h2><table class=\"steps\"><tr><th>#</th><th>line</th><th>at</th><th>took</th><th>step</th><th>verdict</th><th>detail</th></tr>"
    );
    for s in &r.steps {
        let class = match s.outcome {
            Outcome::Pass => "pass-row",
            Outcome::Fail => "fail",
            Outcome::Skipped => "skipped",
        };
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code>{}</td><td>{:?}</td><td>{}</td></tr>",
            s.index,
            s.line,
            seconds(s.started_ns),
            seconds(s.finished_ns.saturating_sub(s.started_ns)),
            esc(&s.text),
            step_extras(s),
            s.outcome,
            esc(&crate::markdown::shorten(&s.detail, 300))
        );
    }
    h.push_str("</table>\n");
    if !r.checks.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Invariants</h2><table class=\"steps\"><tr><th>line</th><th>invariant</th><th>evaluations</th><th>verdict</th><th>first violated</th></tr>"
        );
        for c in &r.checks {
            let class = if c.outcome == Outcome::Fail { "fail" } else { "pass-row" };
            let violated = esc(&crate::markdown::first_violation(c));
            let _ = writeln!(
                h,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{:?}</td><td>{violated}</td></tr>",
                c.line,
                esc(&crate::markdown::invariant_title(c)),
                c.evaluations,
                c.outcome
            );
        }
        h.push_str("</table>\n");
    }
}

/// A step's note and its unchecked-error flag, after its text.
fn step_extras(s: &crate::StepReport) -> String {
    let mut extra = String::new();
    if let Some(note) = &s.note {
        let _ = write!(extra, "<br><em>{}</em>", esc(note));
    }
    if s.unchecked_error.is_some() {
        extra.push_str("<br><span class=\"flag\">⚠ unchecked error reply</span>");
    }
    extra
}

/// For a failed run: each node's last log lines before the failure.
fn failure_logs(h: &mut String, r: &RunReport, logs: &[(String, Vec<String>)]) {
    if r.result == Verdict::Pass || logs.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2>Logs around the failure</h2>");
    for (node, lines) in logs {
        if lines.is_empty() {
            continue;
        }
        let tail = &lines[lines.len().saturating_sub(LOG_CONTEXT)..];
        let _ = writeln!(h, "<h3>{}</h3><pre>{}</pre>", esc(node), esc(&tail.join("\n")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Lane, Mark, Segment};

    fn timeline(nodes: usize) -> Timeline {
        let lane = |i: usize| Lane {
            name: format!("n{i}"),
            segments: vec![
                Segment { from_ns: 0, to_ns: 5_000_000_000, state: State::Master },
                Segment {
                    from_ns: 5_000_000_000,
                    to_ns: 10_000_000_000,
                    state: if i.is_multiple_of(2) { State::Down } else { State::Replica },
                },
            ],
        };
        Timeline {
            end_ns: 10_000_000_000,
            lanes: (0..nodes).map(lane).collect(),
            marks: vec![Mark { at_ns: 5_000_000_000, kind: "fault".into(), node: None, text: "kill <n0>".into() }],
            ..Timeline::default()
        }
    }

    #[test]
    fn fail_is_marked_where_most_nodes_agree_and_fail_q_where_one_suspects() {
        let mut t = timeline(3);
        let s = |at: u64, who: &str, h: &str| (at * 1_000_000_000, who.to_owned(), "id0".to_owned(), h.to_owned());
        t.health = vec![
            s(1, "n1", "suspect"),
            s(2, "n2", "suspect"),
            s(3, "n1", "failed"),
            s(4, "n2", "failed"),
            s(6, "n1", "ok"),
            s(6, "n2", "ok"),
        ];
        let ids = BTreeMap::from([("id0".to_owned(), "n0".to_owned())]);
        let secs = |v: Vec<(String, u64, u64, bool)>| -> Vec<_> {
            v.into_iter().map(|(n, a, b, f)| (n, a / 1_000_000_000, b / 1_000_000_000, f)).collect()
        };
        // One of three failing it is not a majority: still fail? until the second agrees at 4 s.
        assert_eq!(secs(failure_views(&t, &ids)), [("n0".to_owned(), 1, 4, false), ("n0".to_owned(), 4, 6, true)]);
        assert!(failure_views(&t, &BTreeMap::new()).is_empty(), "an id no node has is not drawn");
    }

    #[test]
    fn big_topologies_get_counts_per_state_instead_of_a_lane_each() {
        let small = lanes_chart(&timeline(6), &BTreeMap::new());
        let big = lanes_chart(&timeline(300), &BTreeMap::new());
        assert!(small.contains(">\nn5\n<") && !big.contains(">\nn5\n<"), "lanes are named only when few");
        // Two stretches (one cut) times the states present in each.
        assert!(big.matches("<rect").count() >= 3, "{}", big.len());
        assert!(big.contains(">\nnodes\n<"), "the count chart's axis");
        assert!(big.len() < small.len() * 3, "the page stays small at 300 nodes: {} vs {}", big.len(), small.len());
        assert!(small.contains("kill &lt;n0&gt;"), "labels are escaped");
    }
}
