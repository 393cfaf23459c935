//! The `mysql` vocabulary in scenarios: the step's printed output, the
//! conditions, and the diagnostics for bad input.

use report::{RunReport, Verdict};
use scenario::Registry;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(crate::MysqlKind));
    registry
}

/// A master 3307 and a replica 3308 (line 3 onwards), then `steps`.
fn source(master_extra: &str, steps: &str) -> String {
    format!(
        "name: t\nseed: 1\ntopology:\n  nodes:\n    - {{name: master, kind: mysql, port: 3307, config: \"[mysqld]\\nserver_id=101\\nport=3307\\nlog-bin=mall-mysql-bin{master_extra}\"}}\n    - {{name: replica, kind: mysql, port: 3308, config: \"[mysqld]\\nserver_id=102\\nport=3308\\nlog-bin=mall-mysql-slave1-bin\\nread_only=1\"}}\nsteps:\n{steps}"
    )
}

fn errors(master_extra: &str, steps: &str) -> String {
    let source = source(master_extra, steps);
    match scenario::parse_scenario("s.yaml", &source, &registry()) {
        Ok(_) => String::new(),
        Err(d) => d.render("s.yaml", &source),
    }
}

fn run(steps: &str) -> RunReport {
    let source = source("", steps);
    let registry = registry();
    let s = scenario::parse_scenario("s.yaml", &source, &registry)
        .unwrap_or_else(|d| panic!("{}", d.render("s.yaml", &source)));
    scenario::run(s, None, &registry, String::new()).0
}

#[test]
fn replication_through_steps_and_conditions() {
    let r = run(
        r#"  - mysql: {node: master, sql: "create user 'slave'@'%' identified by '123456'; grant replication slave on *.* to 'slave'@'%';"}
  - mysql: {node: master, sql: "show master status;", expect-match: "mall-mysql-bin.000001 \\|      [0-9]+ ", capture: status}
  - mysql: {node: replica, sql: "change master to master_host='127.0.0.1', master_user='slave', master_password='123456', master_port=3307, master_log_file='mall-mysql-bin.000001', master_log_pos=4; start slave;"}
  - wait-until: {mysql-slave-status: {node: replica, field: Slave_IO_Running, equals: "Yes"}, within: 5s}
  - mysql: {node: master, sql: "create database db1; create table db1.t1(id int, name varchar(20)); insert into db1.t1 values(1,'a');"}
  - wait-until: {mysql-caught-up: {node: replica, with: master}, within: 5s}
  - assert: {mysql-rows: {node: replica, table: db1.t1, count: 1}}
  - mysql: {node: replica, user: slave, password: '123456', sql: "insert into db1.t1 values(2,'b');", expect: "ERROR 1142 (42000): INSERT command denied to user 'slave'@'localhost' for table `db1`.`t1`"}
"#,
    );
    assert_eq!(r.result, Verdict::Pass, "{:?} {:#?}", r.failure, r.steps.iter().map(|s| &s.detail).collect::<Vec<_>>());
    // replicated from position 4, CREATE USER reached the replica too (as on MariaDB)
    assert!(r.steps[1].detail.contains("| File                  | Position |"), "{}", r.steps[1].detail);
}

#[test]
fn a_wrong_expectation_fails_the_run() {
    let r =
        run("  - mysql: {node: master, sql: \"create database db1; create database db1;\", expect: \"Query OK\"}\n");
    assert_eq!(r.result, Verdict::Fail);
    assert!(
        r.failure.as_deref().unwrap_or("").contains("ERROR 1007 (HY000): Can't create database 'db1'; database exists"),
        "{:?}",
        r.failure
    );
}

#[test]
fn bad_input_is_a_diagnostic_at_its_line() {
    let e = errors("\\nbinlog_formt=row", "  - sleep: 1s\n");
    assert!(e.contains("s.yaml:5:") && e.contains("unknown variable 'binlog_formt=row'"), "{e}");
    let e = errors("", "  - mysql: {node: master, sql: \";\"}\n");
    assert!(e.contains("s.yaml:8:") && e.contains("no statement to run"), "{e}");
    let e = errors(
        "",
        "  - wait-until: {mysql-slave-status: {node: replica, field: Slave_IO_Runing, equals: 'Yes'}, within: 1s}\n",
    );
    assert!(e.contains("did you mean `Slave_IO_Running`?"), "{e}");
    let e = errors("", "  - assert: {mysql-rows: {node: replica, table: t1, count: 1}}\n");
    assert!(e.contains("the table must be named with its database"), "{e}");
}
