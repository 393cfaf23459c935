//! Scenario conditions on Sentinels: an event in the log (`sentinel-event`),
//! events in a given order (`sentinel-event-order`), and the address a
//! Sentinel gives for a master (`sentinel-master`). They read the log and the
//! Sentinel's state only, so evaluating them never changes the trace.

use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime, Syntax, Template};
use sentinel::sentinel::Sentinel;
use serde_json::json;

/// The conditions the `sentinel` kind adds.
pub fn syntax() -> Vec<Syntax> {
    let node = json!({"type": "string"});
    vec![
        Syntax {
            name: "sentinel-event",
            doc: "a Sentinel logged an event (`+switch-master`, `+sdown`, ...) whose text matches `match` (a regex) if given; observes the last such line's text after the event name",
            schema: json!({"type": "object", "required": ["node", "event"], "additionalProperties": false, "properties": {
                "node": node, "event": {"type": "string", "examples": ["+switch-master"]}, "match": {"type": "string"},
                "count": {"type": "integer", "minimum": 1, "description": "at least this many such lines (default 1)"}}}),
        },
        Syntax {
            name: "sentinel-event-order",
            doc: "a Sentinel's log holds these events in this order (others may come between); each entry is an event name, optionally followed by the start of its text",
            schema: json!({"type": "object", "required": ["node", "events"], "additionalProperties": false, "properties": {
                "node": node, "events": {"type": "array", "items": {"type": "string"}, "minItems": 1}}}),
        },
        Syntax {
            name: "sentinel-master",
            doc: "the address (ip:port) a Sentinel gives for a monitored master, as SENTINEL GET-MASTER-ADDR-BY-NAME; observes it",
            schema: json!({"type": "object", "required": ["node", "name"], "additionalProperties": false, "properties": {
                "node": node, "name": {"type": "string"}, "is": {"type": "string", "examples": ["127.0.0.1:6380"]}}}),
        },
    ]
}

/// A regex that may use `${capture}`s; checked now when it has none.
fn pattern(value: &Node, what: &str, cx: &ParseCx<'_>) -> Result<Template, Diagnostic> {
    let template = cx.template(value, what)?;
    if let Some(text) = template.literal() {
        regex::Regex::new(text).map_err(|e| {
            Diagnostic::new(value.span, "invalid regular expression").with_hint(e.to_string().replace('\n', " "))
        })?;
    }
    Ok(template)
}

/// Parses one of [`syntax`]'s conditions.
pub fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    let mut m = value.map(name)?;
    let node = cx.node_ref(m.required("node")?, name)?;
    Ok(match name {
        "sentinel-event" => {
            let event = m.required("event")?.str("sentinel-event.event")?;
            let pattern = m.get("match").map(|n| pattern(n, "sentinel-event.match", cx)).transpose()?;
            let count = m.get("count").map(|n| n.u64("sentinel-event.count")).transpose()?.unwrap_or(1) as usize;
            m.finish(&["node", "event", "match", "count"])?;
            Box::new(EventLogged { node, event, pattern, count })
        }
        "sentinel-event-order" => {
            let events_node = m.required("events")?;
            let events = events_node
                .seq("sentinel-event-order.events")?
                .iter()
                .map(|e| cx.template(e, "sentinel-event-order.events"))
                .collect::<Result<Vec<_>, _>>()?;
            if events.is_empty() {
                return Err(Diagnostic::new(events_node.span, "no events listed").with_hint("list at least one event"));
            }
            m.finish(&["node", "events"])?;
            Box::new(EventOrder { node, events })
        }
        _ => {
            let master = m.required("name")?.str("sentinel-master.name")?;
            let is = m.get("is").map(|n| cx.template(n, "sentinel-master.is")).transpose()?;
            m.finish(&["node", "name", "is"])?;
            Box::new(MasterAddr { node, master, is })
        }
    })
}

/// The message part of each log line (after pid, date, time and level).
fn messages<'a>(rt: &'a Runtime, node: &NodeRef) -> Result<Vec<&'a str>, RunError> {
    let p = rt.proc(node)?;
    Ok(rt.sim.log_lines(p).iter().filter_map(|l| l.splitn(7, ' ').nth(6)).collect())
}

/// Splits `+sdown master x 127.0.0.1 6379` into the event and its text.
pub fn split_event(message: &str) -> Option<(&str, &str)> {
    if !message.starts_with(['+', '-']) {
        return None;
    }
    Some(message.split_once(' ').unwrap_or((message, "")))
}

struct EventLogged {
    node: NodeRef,
    event: String,
    pattern: Option<Template>,
    count: usize,
}

impl Condition for EventLogged {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let re = match &self.pattern {
            Some(t) => {
                let text = rt.render(t)?;
                Some(regex::Regex::new(&text).map_err(|e| format!("invalid regular expression `{text}`: {e}"))?)
            }
            None => None,
        };
        let hits: Vec<&str> = messages(rt, &self.node)?
            .into_iter()
            .filter_map(split_event)
            .filter(|(e, text)| *e == self.event && re.as_ref().is_none_or(|p| p.is_match(text)))
            .map(|(_, text)| text)
            .collect();
        Ok(Observation {
            holds: hits.len() >= self.count,
            observed: hits.last().map_or_else(|| format!("no {} yet", self.event), |t| (*t).to_owned()),
        })
    }

    fn describe(&self) -> String {
        let what = self.pattern.as_ref().map_or(String::new(), |p| format!(" matching /{p}/"));
        format!("{} logged {}{what}", self.node, self.event)
    }
}

struct EventOrder {
    node: NodeRef,
    events: Vec<Template>,
}

impl Condition for EventOrder {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let events = self.events.iter().map(|t| rt.render(t)).collect::<Result<Vec<_>, _>>()?;
        let mut next = 0;
        for message in messages(rt, &self.node)? {
            if next < events.len() && split_event(message).is_some() {
                let want = &events[next];
                if message == want || message.starts_with(&format!("{want} ")) {
                    next += 1;
                }
            }
        }
        let seen = events[..next].join(", ");
        Ok(Observation {
            holds: next == events.len(),
            observed: if next == events.len() { seen } else { format!("{seen} … then no `{}`", events[next]) },
        })
    }

    fn describe(&self) -> String {
        let events: Vec<String> = self.events.iter().map(ToString::to_string).collect();
        format!("{} logged in order: {}", self.node, events.join(", "))
    }
}

struct MasterAddr {
    node: NodeRef,
    master: String,
    is: Option<Template>,
}

impl Condition for MasterAddr {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let p = rt.proc(&self.node)?;
        let name = rt.sim.proc_name(p);
        let observed = match rt.sim.proc_state(p) {
            sim::ProcState::Down => return Ok(Observation { holds: false, observed: format!("{name} is down") }),
            _ => rt.sim.process::<Sentinel>(p).ok_or_else(|| format!("{name} is not a sentinel"))?,
        }
        .master_addr(&self.master)
        .map(|(ip, port)| format!("{ip}:{port}"));
        let Some(addr) = observed else {
            return Ok(Observation { holds: false, observed: format!("{} does not monitor {}", name, self.master) });
        };
        let holds = match &self.is {
            Some(t) => rt.render(t)? == addr,
            None => true,
        };
        Ok(Observation { holds, observed: addr })
    }

    fn describe(&self) -> String {
        match &self.is {
            Some(t) => format!("{} gives {} for {}", self.node, t, self.master),
            None => format!("{} monitors {}", self.node, self.master),
        }
    }
}
