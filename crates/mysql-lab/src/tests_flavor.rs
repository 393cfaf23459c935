//! `flavor:` on mysql nodes: the values, the default, the diagnostics.

use report::Verdict;
use scenario::Registry;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Box::new(crate::MysqlKind));
    registry
}

fn scenario(flavor: &str) -> String {
    format!(
        "name: t\nseed: 1\ntopology:\n  nodes:\n    - name: master\n      kind: mysql\n      port: 3307\n{flavor}      config: \"[mysqld]\\nport=3307\\nlog-bin=mall-mysql-bin\"\nsteps:\n  - mysql: {{node: master, sql: \"show master status;\", expect-match: \"mall-mysql-bin.000001 \\\\|      (154|333) \"}}\n"
    )
}

fn outcome(flavor: &str) -> Result<String, String> {
    let source = scenario(flavor);
    let registry = registry();
    let s = scenario::parse_scenario("s.yaml", &source, &registry).map_err(|d| d.render("s.yaml", &source))?;
    let report = scenario::run(s, None, &registry, String::new()).0;
    assert_eq!(report.result, Verdict::Pass, "{:?}", report.failure);
    Ok(report.steps[0].detail.clone())
}

#[test]
fn flavors_are_the_crate_flavors_default_first() {
    let names: Vec<&str> = mysql::flavor::Flavor::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(crate::FLAVORS.to_vec(), names);
    assert_eq!(mysql::flavor::Flavor::default().name(), crate::FLAVORS[0]);
}

/// Without `flavor:` a node is MySQL 5.7 (a fresh binlog at 154, the
/// Executed_Gtid_Set column); `mariadb-10.11` gives MariaDB's 333.
#[test]
fn default_is_mysql_5_7_and_mariadb_is_chosen_by_name() {
    let default = outcome("").unwrap();
    assert!(default.contains("|      154 |") && default.contains("Executed_Gtid_Set"), "{default}");
    assert_eq!(outcome("      flavor: mysql-5.7\n").unwrap(), default);
    let maria = outcome("      flavor: mariadb-10.11\n").unwrap();
    assert!(maria.contains("|      333 |") && !maria.contains("Executed_Gtid_Set"), "{maria}");
}

#[test]
fn a_bad_flavor_is_a_diagnostic_at_its_line_listing_the_flavors() {
    let err = outcome("      flavor: mysql-8.0\n").unwrap_err();
    assert!(err.contains("unknown mysql flavor `mysql-8.0`"), "{err}");
    assert!(err.contains("s.yaml:8:15"), "{err}");
    assert!(err.contains("flavors: `mysql-5.7`, `mariadb-10.11` (the first is the default)"), "{err}");
    let err = outcome("      flavor: mariadb-10.1\n").unwrap_err();
    assert!(err.contains("did you mean `mariadb-10.11`?"), "{err}");
}
