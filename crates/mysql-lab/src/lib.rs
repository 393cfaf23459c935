//! `mysql-lab`: the scenario vocabulary of the node kind `mysql`. It owns
//! [`MysqlKind`] (my.cnf validation and the process factory), the `mysql` step
//! ([`step`], the mysql command-line client) and the conditions on MySQL
//! nodes ([`conditions`]).
//!
//! It reads nodes only through `mysql::server::Server`'s public accessors; it
//! must not depend on the Redis crates or the CLI, and node logic must never
//! depend on it.
//!
//! Must not depend on: `redis`, `redis-lab`, `sentinel`, `sentinel-lab`, `chaoslab`.

pub mod conditions;
pub mod step;

use mysql::flavor::Flavor;
use scenario::diag::{Diagnostic, Diagnostics};
use scenario::yaml::Node;
use scenario::{Condition, NodeDecl, NodeKind, ParseCx, Step, Syntax};
use serde_json::json;
use sim::{Factory, ProcId, Sim};

/// The `flavor:` values, the default first (a test checks they are `Flavor::ALL`'s names).
const FLAVORS: [&str; 2] = ["mysql-5.7", "mariadb-10.11"];

/// The `mysql` node kind.
pub struct MysqlKind;

impl NodeKind for MysqlKind {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn build(&self, node: &NodeDecl) -> Result<Factory, Diagnostics> {
        let flavor = node.flavor.as_deref().and_then(Flavor::parse).unwrap_or_default();
        let config = mysql::config::parse_for(&node.config, node.port, flavor).map_err(|errors| {
            node.config_errors(
                errors,
                "see the my.cnf [mysqld] directives chaoslab honours in the README's MySQL section",
            )
        })?;
        Ok(Box::new(move || Box::new(mysql::server::Server::new(config.clone()))))
    }

    fn flavors(&self) -> &'static [&'static str] {
        &FLAVORS
    }

    fn steps(&self) -> Vec<Syntax> {
        vec![step::syntax()]
    }

    fn parse_step(&self, _: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Step>, Diagnostic> {
        step::parse_step(value, cx)
    }

    fn conditions(&self) -> Vec<Syntax> {
        conditions::syntax()
    }

    fn parse_condition(&self, name: &str, value: &Node, cx: &ParseCx<'_>) -> Result<Box<dyn Condition>, Diagnostic> {
        conditions::parse(name, value, cx)
    }

    fn final_state(&self, sim: &Sim, proc: ProcId) -> serde_json::Value {
        let Some(s) = sim.process::<mysql::server::Server>(proc) else { return serde_json::Value::Null };
        let master = s.master_status().map(|(file, pos)| json!({"file": file, "position": pos}));
        let slave = s.slave_status(sim.wall_clock_ms(proc)).map(|fields| {
            let pick = |name: &str| fields.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone());
            json!({"io_running": pick("Slave_IO_Running"), "sql_running": pick("Slave_SQL_Running"),
                   "exec_master_log_pos": pick("Exec_Master_Log_Pos"), "last_sql_errno": pick("Last_SQL_Errno")})
        });
        let tables: usize = s.engine.dbs.values().map(|d| d.len()).sum();
        json!({"server_id": s.config().server_id, "read_only": s.read_only, "binlog": master, "slave": slave, "tables": tables})
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flavor;
