//! The topology template of the node kind `sentinel`: `sentinels:`, a group
//! of Sentinels on consecutive ports, each monitoring the same masters
//! (`sentinel monitor <name> 127.0.0.1 <port> <quorum>`, and
//! `down-after-milliseconds` / `failover-timeout` when given).

use scenario::Syntax;
use scenario::diag::Diagnostic;
use scenario::expand::{ConfigLine, DEFAULTS_AT, Expansion, GenNode, TemplateCx, TopologyTemplate, line};
use scenario::yaml::{Node, Span, Value};
use serde_json::json;

/// `sentinels:`.
pub struct SentinelsTemplate;

const KEYS: &[&str] = &["names", "count", "ports", "monitor", "config"];
const MONITOR_KEYS: &[&str] = &["name", "master", "quorum", "down-after", "failover-timeout"];

impl TopologyTemplate for SentinelsTemplate {
    fn syntax(&self) -> Syntax {
        let monitor = json!({"type": "object", "required": ["name", "master", "quorum"], "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "examples": ["mymaster"]},
                "master": {"type": "string", "description": "the node it starts monitoring (a declared redis node)"},
                "quorum": {"type": "integer", "minimum": 1},
                "down-after": {"type": "integer", "description": "sentinel down-after-milliseconds"},
                "failover-timeout": {"type": "integer", "description": "sentinel failover-timeout (ms)"}}});
        Syntax {
            name: "sentinels",
            doc: "a group of Sentinels on consecutive ports from `ports`, named by `names` (default: their ports), \
                  each monitoring the masters in `monitor`, then `config`",
            schema: json!({"type": "object", "required": ["ports", "monitor"], "additionalProperties": false,
                "properties": {
                    "names": {"type": "array", "items": {"type": "string"}, "examples": [["s1", "s2", "s3"]]},
                    "count": {"type": "integer", "minimum": 1, "description": "how many, when `names` is not given"},
                    "ports": {"type": "integer", "examples": [26379], "description": "the first port"},
                    "monitor": {"oneOf": [monitor.clone(), {"type": "array", "items": monitor}]},
                    "config": {"type": "string", "description": "config lines added to every Sentinel of the group"}}}),
        }
    }

    fn expand(&self, value: &Node, cx: &TemplateCx<'_>) -> Result<Expansion, Diagnostic> {
        let mut m = value.map("sentinels")?;
        let first = m.required("ports")?;
        let first_port = first.u64("sentinels.ports")?;
        let names: Option<Vec<String>> = match m.get("names") {
            Some(n) => {
                Some(n.seq("sentinels.names")?.iter().map(|x| x.str("sentinel name")).collect::<Result<_, _>>()?)
            }
            None => None,
        };
        let count = match (&names, m.get("count")) {
            (Some(names), None) => names.len(),
            (None, Some(c)) => usize::try_from(c.u64("sentinels.count")?).unwrap_or(usize::MAX),
            (None, None) => 1,
            (Some(_), Some(c)) => {
                return Err(Diagnostic::new(c.span, "`count` and `names` both given")
                    .with_hint("`names` already says how many Sentinels there are"));
            }
        };
        let last = first_port.saturating_add(count as u64).saturating_sub(1);
        if first_port == 0 || last > 65535 || count == 0 {
            return Err(Diagnostic::new(first.span, format!("ports {first_port}-{last} are out of range"))
                .with_hint("ports go from 1 to 65535, and a group has at least one Sentinel"));
        }
        let monitors = monitor_lines(m.required("monitor")?, cx, value.span)?;
        let extra = m.get("config").map(|c| cx.config_lines(c, "sentinels.config")).transpose()?.unwrap_or_default();
        m.finish(KEYS)?;
        let nodes = (0..count)
            .map(|i| {
                let port = (first_port + i as u64) as u16;
                let name = names.as_ref().map_or_else(|| port.to_string(), |n| n[i].clone());
                let mut config = vec![line(format!("port {port}"), value.span)];
                config.extend(monitors.iter().cloned());
                config.push(line(DEFAULTS_AT, value.span));
                config.extend(extra.iter().cloned());
                GenNode { name, kind: "sentinel", port, config, start: true }
            })
            .collect();
        Ok(Expansion { nodes, steps: Vec::new() })
    }
}

fn monitor_lines(n: &Node, cx: &TemplateCx<'_>, at: Span) -> Result<Vec<ConfigLine>, Diagnostic> {
    let items: Vec<&Node> = match &n.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![n],
    };
    let mut out = Vec::new();
    for item in items {
        let mut m = item.map("monitor")?;
        let name = m.required("name")?.str("monitor.name")?;
        let port = cx.port_of(m.required("master")?, "monitor.master")?;
        let quorum = m.required("quorum")?.u64("monitor.quorum")?;
        out.push(line(format!("sentinel monitor {name} 127.0.0.1 {port} {quorum}"), at));
        if let Some(d) = m.get("down-after") {
            out.push(line(format!("sentinel down-after-milliseconds {name} {}", d.u64("monitor.down-after")?), at));
        }
        if let Some(t) = m.get("failover-timeout") {
            out.push(line(format!("sentinel failover-timeout {name} {}", t.u64("monitor.failover-timeout")?), at));
        }
        m.finish(MONITOR_KEYS)?;
    }
    Ok(out)
}
