//! The `mysql` step: the mysql command-line client ([`mysql::cli::MysqlCli`])
//! as a new process on a host, given statements as typed at its prompt; what
//! it printed is checked or captured.

use mysql::cli::MysqlCli;
use scenario::client_step::{self, EXPECTATION_KEYS, Expectations};
use scenario::diag::Diagnostic;
use scenario::yaml::Node;
use scenario::{NodeRef, ParseCx, RunError, Runtime, Step, Syntax, Template};
use serde_json::json;
use std::time::Duration;

/// How long the client may take before the step fails.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The step's syntax.
pub fn syntax() -> Syntax {
    Syntax {
        name: "mysql",
        doc: "the mysql command-line client (MariaDB 10.11's, interactive): logs in as `user` (default root, password root as the seed's MYSQL_ROOT_PASSWORD) and runs `sql` (statements ending in `;` or `\\G`); observes what it prints: tables, `Query OK, ...`, `ERROR 1062 (23000): ...`",
        schema: json!({"type": "object", "required": ["node", "sql"], "additionalProperties": false, "properties": {
            "node": {"type": "string"}, "sql": {"type": "string", "examples": ["show master status;"]},
            "user": {"type": "string", "default": "root"}, "password": {"type": "string", "default": "root"},
            "database": {"type": "string", "description": "mysql's -D: the default database"},
            "from": {"type": "string", "description": "host (or node whose host) to run on; default: the node's"},
            "expect": {"type": "string"}, "expect-match": {"type": "string"}, "capture": {"type": "string"},
            "timeout": {"type": "string", "default": "10s"}}}),
    }
}

struct MysqlStep {
    node: NodeRef,
    from: Option<NodeRef>,
    user: Option<Template>,
    password: Option<Template>,
    database: Option<Template>,
    sql: Template,
    expectations: Expectations,
    timeout: Duration,
}

const KEYS: &[&str] =
    &["node", "sql", "user", "password", "database", "from", "expect", "expect-match", "capture", "timeout"];

pub(crate) fn parse_step(value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
    let mut m = value.map("mysql")?;
    let node = cx.node_ref(m.required("node")?, "mysql.node")?;
    let sql_node = m.required("sql")?;
    let sql = cx.template(sql_node, "mysql.sql")?;
    if sql.literal().is_some_and(|s| mysql::output::split(s).iter().all(|(t, _)| t.is_empty())) {
        return Err(Diagnostic::new(sql_node.span, "no statement to run")
            .with_hint("write statements as typed at the mysql prompt, e.g. `sql: show master status;`"));
    }
    let user = m.get("user").map(|u| cx.template(u, "mysql.user")).transpose()?;
    let password = m.get("password").map(|u| cx.template(u, "mysql.password")).transpose()?;
    let database = m.get("database").map(|d| cx.template(d, "mysql.database")).transpose()?;
    let from = m.get("from").map(|f| cx.node_ref(f, "mysql.from")).transpose()?;
    let expectations = Expectations::parse(&mut m, cx, "mysql")?;
    let timeout = m.get("timeout").map(|t| t.duration("mysql.timeout")).transpose()?.unwrap_or(DEFAULT_TIMEOUT);
    debug_assert!(EXPECTATION_KEYS.iter().all(|k| KEYS.contains(k)));
    m.finish(KEYS)?;
    Ok(Box::new(MysqlStep { node, from, user, password, database, sql, expectations, timeout }))
}

impl Step for MysqlStep {
    fn run(&self, rt: &mut Runtime) -> Result<String, RunError> {
        let (addr, host) = rt.client_endpoints(&self.node, self.from.as_ref())?;
        let sql = rt.render(&self.sql)?;
        let user = self.user.as_ref().map(|u| rt.render(u)).transpose()?.unwrap_or_else(|| "root".to_owned());
        let password = self.password.as_ref().map(|p| rt.render(p)).transpose()?.unwrap_or_else(|| "root".to_owned());
        let database = self.database.as_ref().map(|d| rt.render(d)).transpose()?;
        let input = sql.clone();
        let factory: sim::Factory =
            Box::new(move || Box::new(MysqlCli::new(addr, &user, &password, database.clone(), &input)));
        let client = client_step::start(rt, host, "mysql", &format!(" -> {addr}: {sql}"), factory)?;
        let done = client_step::wait(rt, client, self.timeout, |c: &MysqlCli| c.output.is_some())?;
        let reply = rt.sim.process::<MysqlCli>(client).and_then(|c| c.output.clone().map(|o| (o, c.error_reply)));
        let (output, error_reply) = match reply {
            Some(out) if done => out,
            _ => return Err(RunError::Check(format!("no reply from {addr} within {:?} to `{sql}`", self.timeout))),
        };
        rt.sim.record("reply", output.clone());
        self.expectations.check(rt, &sql, &output)?;
        if error_reply && self.expectations.expect.is_none() && self.expectations.expect_match.is_none() {
            rt.flag_unchecked_error(&output);
        }
        Ok(output)
    }
}
