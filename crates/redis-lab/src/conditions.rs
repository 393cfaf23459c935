//! Scenario conditions on Redis nodes: role, master link, key values, offsets
//! caught up, and any INFO field; the `cluster-*` ones live in `cluster::conditions`,
//! the ready-made invariants over a whole deployment in `invariants`. They read the server's state directly (as
//! INFO would report it) and send nothing, so evaluating them never changes
//! the trace.

use redis::server::Server;
use redis::view::KeyView;
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime, Syntax, Template};
use serde_json::json;

/// The conditions the `redis` kind adds.
pub fn syntax() -> Vec<Syntax> {
    let node = json!({"type": "string"});
    let mut all = vec![
        Syntax {
            name: "role",
            doc: "a Redis node's role as INFO reports it: master or slave (replica)",
            schema: json!({"type": "object", "required": ["node", "is"], "additionalProperties": false, "properties": {
                "node": node, "is": {"enum": ["master", "slave", "replica"]}}}),
        },
        Syntax {
            name: "master-link",
            doc: "a replica's master_link_status is up or down",
            schema: json!({"type": "object", "required": ["node", "is"], "additionalProperties": false, "properties": {
                "node": node, "is": {"enum": ["up", "down"]}}}),
        },
        Syntax {
            name: "key",
            doc: "a key exists on a node (in db 0 unless `db`), or holds the string `equals`; `missing: true` inverts",
            schema: json!({"type": "object", "required": ["node", "key"], "additionalProperties": false, "properties": {
                "node": node, "key": {"type": "string"}, "db": {"type": "integer", "minimum": 0},
                "equals": {"type": "string"}, "missing": {"type": "boolean"}}}),
        },
        Syntax {
            name: "caught-up",
            doc: "a replica's link is up and its replication offset equals its master's (node `with`)",
            schema: json!({"type": "object", "required": ["node", "with"], "additionalProperties": false, "properties": {
                "node": node, "with": node}}),
        },
        Syntax {
            name: "info",
            doc: "an INFO field of a node equals a value or matches a regex; observes the field's value",
            schema: json!({"type": "object", "required": ["node", "field"], "additionalProperties": false, "properties": {
                "node": node, "field": {"type": "string", "examples": ["connected_slaves"]},
                "equals": {"type": "string"}, "matches": {"type": "string"}}}),
        },
    ];
    all.extend(crate::cluster_conditions::syntax());
    all.extend(crate::invariants::syntax());
    all
}

/// Parses one of [`syntax`]'s conditions.
pub fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    if crate::invariants::NAMES.contains(&name) {
        return crate::invariants::parse(name, value, cx);
    }
    if name.starts_with("cluster-") {
        return crate::cluster_conditions::parse(name, value, cx);
    }
    let mut m = value.map(name)?;
    let node = cx.node_ref(m.required("node")?, name)?;
    let cond: Box<dyn Condition> = match name {
        "role" | "master-link" => {
            let is_node = m.required("is")?;
            let is = is_node.str(&format!("{name}.is"))?;
            let allowed: &[&str] = if name == "role" { &["master", "slave", "replica"] } else { &["up", "down"] };
            if !allowed.contains(&is.as_str()) {
                return Err(Diagnostic::new(is_node.span, format!("unknown value `{is}` for {name}.is"))
                    .with_hint(format!("one of {}", allowed.join(", "))));
            }
            m.finish(&["node", "is"])?;
            let is = if is == "replica" { "slave".to_owned() } else { is };
            if name == "role" { Box::new(RoleIs { node, is }) } else { Box::new(LinkIs { node, up: is == "up" }) }
        }
        "key" => {
            let key = cx.template(m.required("key")?, "key.key")?;
            let db = m.get("db").map(|d| d.u64("key.db")).transpose()?.unwrap_or(0) as usize;
            let equals = m.get("equals").map(|e| cx.template(e, "key.equals")).transpose()?;
            let missing = m.get("missing").map(|b| b.bool("key.missing")).transpose()?.unwrap_or(false);
            m.finish(&["node", "key", "db", "equals", "missing"])?;
            Box::new(KeyIs { node, key, db, equals, missing })
        }
        "caught-up" => {
            let with = cx.node_ref(m.required("with")?, "caught-up.with")?;
            m.finish(&["node", "with"])?;
            Box::new(CaughtUp { node, with })
        }
        _ => Box::new(InfoField::parse(m, cx, node, InfoSource::Info)?),
    };
    Ok(cond)
}

/// The running server a reference names, or what to report instead.
fn server<'a>(rt: &'a Runtime, node: &NodeRef) -> Result<Result<&'a Server, String>, RunError> {
    let p = rt.proc(node)?;
    let name = rt.sim.proc_name(p);
    Ok(match rt.sim.proc_state(p) {
        sim::ProcState::Running | sim::ProcState::Paused => {
            rt.sim.process::<Server>(p).ok_or_else(|| format!("{name} is not a redis node"))
        }
        sim::ProcState::Down => Err(format!("{name} is down")),
    })
}

struct RoleIs {
    node: NodeRef,
    is: String,
}

impl Condition for RoleIs {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        Ok(match server(rt, &self.node)? {
            Ok(s) => Observation { holds: s.role_name() == self.is, observed: s.role_name().to_owned() },
            Err(why) => Observation { holds: false, observed: why },
        })
    }
    fn describe(&self) -> String {
        format!("{} is {}", self.node, self.is)
    }
}

struct LinkIs {
    node: NodeRef,
    up: bool,
}

impl Condition for LinkIs {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        Ok(match server(rt, &self.node)? {
            Ok(s) if s.role_name() == "master" => Observation { holds: false, observed: "master".to_owned() },
            Ok(s) => Observation {
                holds: s.master_link_up() == self.up,
                observed: if s.master_link_up() { "up" } else { "down" }.to_owned(),
            },
            Err(why) => Observation { holds: false, observed: why },
        })
    }
    fn describe(&self) -> String {
        format!("master_link_status of {} is {}", self.node, if self.up { "up" } else { "down" })
    }
}

struct KeyIs {
    node: NodeRef,
    key: Template,
    db: usize,
    equals: Option<Template>,
    missing: bool,
}

impl Condition for KeyIs {
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let key = rt.render(&self.key)?;
        let s = match server(rt, &self.node)? {
            Ok(s) => s,
            Err(why) => return Ok(Observation { holds: false, observed: why }),
        };
        let p = rt.proc(&self.node)?;
        let now = rt.sim.wall_clock_ms(p);
        // A logically expired key reads as absent, as GET would say.
        let value = s.key_view(self.db, key.as_bytes(), now).ok_or_else(|| format!("db {} does not exist", self.db))?;
        let observed = match value {
            KeyView::Missing => "(nil)".to_owned(),
            KeyView::Str(v) => String::from_utf8_lossy(v).into_owned(),
            KeyView::Other(type_name) => format!("({type_name})"),
        };
        let holds = match (&self.equals, value) {
            (_, KeyView::Missing) => false,
            (None, _) => true,
            (Some(t), KeyView::Str(v)) => rt.render(t)?.as_bytes() == v,
            (Some(_), KeyView::Other(_)) => false,
        };
        Ok(Observation { holds: holds != self.missing, observed })
    }
    fn describe(&self) -> String {
        match (&self.equals, self.missing) {
            (Some(e), false) => format!("{} on {} equals {e}", self.key, self.node),
            (Some(e), true) => format!("{} on {} does not equal {e}", self.key, self.node),
            (None, false) => format!("{} exists on {}", self.key, self.node),
            (None, true) => format!("{} is missing on {}", self.key, self.node),
        }
    }
}

struct CaughtUp {
    node: NodeRef,
    with: NodeRef,
}

impl Condition for CaughtUp {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let (replica, master) = match (server(rt, &self.node)?, server(rt, &self.with)?) {
            (Ok(r), Ok(m)) => (r, m),
            (Err(why), _) | (_, Err(why)) => return Ok(Observation { holds: false, observed: why }),
        };
        let observed = format!(
            "{} at offset {} (link {}), {} at {}",
            self.node,
            replica.repl_offset(),
            if replica.master_link_up() { "up" } else { "down" },
            self.with,
            master.repl_offset()
        );
        Ok(Observation { holds: replica.master_link_up() && replica.repl_offset() == master.repl_offset(), observed })
    }
    fn describe(&self) -> String {
        format!("{} caught up with {}", self.node, self.with)
    }
}

/// Which text an [`InfoField`] condition reads its `field:value` line from.
#[derive(Clone, Copy)]
pub(crate) enum InfoSource {
    Info,
    ClusterInfo,
}

impl InfoSource {
    fn name(self) -> &'static str {
        match self {
            InfoSource::Info => "INFO",
            InfoSource::ClusterInfo => "CLUSTER INFO",
        }
    }

    fn condition(self) -> &'static str {
        match self {
            InfoSource::Info => "info",
            InfoSource::ClusterInfo => "cluster-info",
        }
    }
}

/// One `field:value` line of INFO or CLUSTER INFO, equal to a template or matching a regex.
pub(crate) struct InfoField {
    node: NodeRef,
    source: InfoSource,
    field: String,
    equals: Option<Template>,
    matches: Option<regex::Regex>,
}

impl InfoField {
    pub(crate) fn parse(
        mut m: scenario::yaml::MapReader<'_>,
        cx: &ParseCx<'_>,
        node: NodeRef,
        source: InfoSource,
    ) -> Result<InfoField, Diagnostic> {
        let what = source.condition();
        let field = m.required("field")?.str(&format!("{what}.field"))?;
        let equals = m.get("equals").map(|e| cx.template(e, &format!("{what}.equals"))).transpose()?;
        let matches = match m.get("matches") {
            Some(n) => Some(regex::Regex::new(&n.str(&format!("{what}.matches"))?).map_err(|e| {
                Diagnostic::new(n.span, "invalid regular expression").with_hint(e.to_string().replace('\n', " "))
            })?),
            None => None,
        };
        m.finish(&["node", "field", "equals", "matches"])?;
        Ok(InfoField { node, source, field, equals, matches })
    }
}

impl Condition for InfoField {
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let s = match server(rt, &self.node)? {
            Ok(s) => s,
            Err(why) => return Ok(Observation { holds: false, observed: why }),
        };
        let value = match self.source {
            InfoSource::Info => {
                let text = s.info(rt.sim.wall_clock_ms(rt.proc(&self.node)?), &[b"everything".to_vec()]);
                text.split("\r\n")
                    .find_map(|l| l.strip_prefix(self.field.as_str())?.strip_prefix(':'))
                    .map(str::to_owned)
            }
            InfoSource::ClusterInfo => {
                if s.cluster_view().is_none() {
                    return Ok(Observation { holds: false, observed: format!("{} is not in cluster mode", self.node) });
                }
                s.cluster_info_field(&self.field)
            }
        };
        let Some(value) = value else {
            return Ok(Observation {
                holds: false,
                observed: format!("no field {} in {}", self.field, self.source.name()),
            });
        };
        let mut holds = true;
        if let Some(e) = &self.equals {
            // A plain text renders as itself: compared without a copy.
            holds &= match e.literal() {
                Some(text) => text == value,
                None => rt.render(e)? == value,
            };
        }
        if let Some(re) = &self.matches {
            holds &= re.is_match(&value);
        }
        Ok(Observation { holds, observed: value })
    }
    fn describe(&self) -> String {
        let source = self.source.name();
        match (&self.equals, &self.matches) {
            (Some(e), _) => format!("{source} {} of {} is {e}", self.field, self.node),
            (None, Some(re)) => format!("{source} {} of {} matches /{re}/", self.field, self.node),
            (None, None) => format!("{} has {source} field {}", self.node, self.field),
        }
    }
}
