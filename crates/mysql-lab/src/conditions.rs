//! Scenario conditions on MySQL nodes: a SHOW SLAVE STATUS field
//! (`mysql-slave-status`), a replica caught up with its master
//! (`mysql-caught-up`) and a table's row count (`mysql-rows`). They read the
//! server's state only, so evaluating them never changes the trace.

use mysql::server::Server;
use scenario::client_step;
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{Condition, NodeRef, Observation, ParseCx, RunError, Runtime, Syntax};
use serde_json::json;

/// The conditions the `mysql` kind adds.
pub fn syntax() -> Vec<Syntax> {
    let node = json!({"type": "string"});
    vec![
        Syntax {
            name: "mysql-slave-status",
            doc: "a SHOW SLAVE STATUS field of a replica (NULL as `NULL`) equals `equals` or matches the regex `matches`; observes the value",
            schema: json!({"type": "object", "required": ["node", "field"], "additionalProperties": false, "properties": {
                "node": node, "field": {"type": "string", "examples": ["Slave_IO_Running", "Last_SQL_Errno"]},
                "equals": {"type": "string"}, "matches": {"type": "string"}}}),
        },
        Syntax {
            name: "mysql-caught-up",
            doc: "a replica's SQL thread has executed everything up to its master's (node `with`) SHOW MASTER STATUS file and position",
            schema: json!({"type": "object", "required": ["node", "with"], "additionalProperties": false, "properties": {
                "node": node, "with": node}}),
        },
        Syntax {
            name: "mysql-rows",
            doc: "a table (`db.table`) of a node holds `count` rows; observes the count",
            schema: json!({"type": "object", "required": ["node", "table", "count"], "additionalProperties": false, "properties": {
                "node": node, "table": {"type": "string", "examples": ["db1.t1"]}, "count": {"type": "integer", "minimum": 0}}}),
        },
    ]
}

/// Parses one of [`syntax`]'s conditions.
pub fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
    let mut m = value.map(name)?;
    let node = cx.node_ref(m.required("node")?, name)?;
    Ok(match name {
        "mysql-slave-status" => {
            let field = m.required("field")?;
            let field_name = field.str("mysql-slave-status.field")?;
            if !mysql::server::SLAVE_STATUS_COLUMNS.contains(&field_name.as_str()) {
                let known: Vec<&str> = mysql::server::SLAVE_STATUS_COLUMNS.to_vec();
                let d = Diagnostic::new(field.span, format!("SHOW SLAVE STATUS has no field `{field_name}`"));
                return Err(match scenario::yaml::did_you_mean(&field_name, &known) {
                    Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                    None => d.with_hint("fields are named as MariaDB 10.11 prints them, e.g. Slave_IO_Running"),
                });
            }
            let equals = m.get("equals").map(|n| n.str("mysql-slave-status.equals")).transpose()?;
            let matches = m.get("matches").map(|n| client_step::regex(n, "mysql-slave-status.matches")).transpose()?;
            m.finish(&["node", "field", "equals", "matches"])?;
            Box::new(SlaveField { node, field: field_name, equals, matches })
        }
        "mysql-caught-up" => {
            let with = cx.node_ref(m.required("with")?, "mysql-caught-up.with")?;
            m.finish(&["node", "with"])?;
            Box::new(CaughtUp { node, with })
        }
        _ => {
            let table_node = m.required("table")?;
            let table = table_node.str("mysql-rows.table")?;
            let Some((db, t)) = table.split_once('.') else {
                return Err(Diagnostic::new(table_node.span, "the table must be named with its database")
                    .with_hint("write `db1.t1`"));
            };
            let count = m.required("count")?.u64("mysql-rows.count")?;
            m.finish(&["node", "table", "count"])?;
            Box::new(Rows { node, db: db.to_owned(), table: t.to_owned(), count })
        }
    })
}

fn server<'a>(rt: &'a Runtime, node: &NodeRef) -> Result<Result<&'a Server, String>, RunError> {
    let p = rt.proc(node)?;
    let name = rt.sim.proc_name(p);
    Ok(match rt.sim.proc_state(p) {
        sim::ProcState::Running | sim::ProcState::Paused => {
            rt.sim.process::<Server>(p).ok_or_else(|| format!("{name} is not a mysql node"))
        }
        sim::ProcState::Down => Err(format!("{name} is down")),
    })
}

struct SlaveField {
    node: NodeRef,
    field: String,
    equals: Option<String>,
    matches: Option<regex::Regex>,
}

impl Condition for SlaveField {
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let s = match server(rt, &self.node)? {
            Ok(s) => s,
            Err(why) => return Ok(Observation { holds: false, observed: why }),
        };
        let wall = rt.sim.wall_clock_ms(rt.proc(&self.node)?);
        let Some(fields) = s.slave_status(wall) else {
            return Ok(Observation { holds: false, observed: "not a replica (Empty set)".to_owned() });
        };
        let value = fields
            .iter()
            .find(|(n, _)| *n == self.field)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| "NULL".to_owned());
        let holds = self.equals.as_ref().is_none_or(|e| *e == value)
            && self.matches.as_ref().is_none_or(|r| r.is_match(&value));
        Ok(Observation { holds, observed: value })
    }
    fn describe(&self) -> String {
        match (&self.equals, &self.matches) {
            (Some(e), _) => format!("{} {} is {e}", self.node, self.field),
            (None, Some(r)) => format!("{} {} matches /{r}/", self.node, self.field),
            _ => format!("{} {}", self.node, self.field),
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
        let Some((file, pos)) = master.master_status() else {
            return Ok(Observation { holds: false, observed: format!("{} has no binlog", self.with) });
        };
        let Some(r) = &replica.replica else {
            return Ok(Observation { holds: false, observed: format!("{} is not a replica", self.node) });
        };
        let holds = r.sql_running && r.exec_file == file && r.exec_pos == pos;
        Ok(Observation { holds, observed: format!("{}:{} of {file}:{pos}", r.exec_file, r.exec_pos) })
    }
    fn describe(&self) -> String {
        format!("{} caught up with {}", self.node, self.with)
    }
}

struct Rows {
    node: NodeRef,
    db: String,
    table: String,
    count: u64,
}

impl Condition for Rows {
    fn changes_only_with_events(&self) -> bool {
        true
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let s = match server(rt, &self.node)? {
            Ok(s) => s,
            Err(why) => return Ok(Observation { holds: false, observed: why }),
        };
        Ok(match s.engine.dbs.get(&self.db).and_then(|d| d.get(&self.table)) {
            Some(t) => Observation { holds: t.rows.len() as u64 == self.count, observed: t.rows.len().to_string() },
            None => Observation { holds: false, observed: format!("Table '{}.{}' doesn't exist", self.db, self.table) },
        })
    }
    fn describe(&self) -> String {
        format!("{}.{} on {} has {} rows", self.db, self.table, self.node, self.count)
    }
}
