//! Coverage per command family: which of the real server's commands the
//! catalogue exercises, grouped as the real server groups them, and how the
//! cases that exercise them compare.
//!
//! The command table is a measurement, not a list kept here: the real
//! server's `COMMAND DOCS` gives every command with its `group` (`string`,
//! `list`, `stream`...), and the simulated node's `COMMAND LIST` says which of
//! them it knows. A case exercises a command when its text names it (`044
//! INCRBYFLOAT num 1.5`, `master> SET rk v`, `7680> CLUSTER INFO`).

use super::observe::{Row, Verdict};
use super::target::{Reply, Target, once};
use resp::Value;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The port of the server asked for its command table, on each side.
const PORT: u16 = 7798;

/// The real server's commands (lowercase name → group) and the simulated node's.
#[derive(Debug, Default)]
pub struct Commands {
    /// Every top-level command of the real server and its group.
    pub real: BTreeMap<String, String>,
    /// The top-level commands the simulated node lists.
    pub simulated: BTreeSet<String>,
}

/// One family's line of the table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Family {
    /// Commands the real server has in this group.
    pub commands: usize,
    /// Of those, the ones the simulated node knows.
    pub simulated: usize,
    /// Of those, the ones at least one case names.
    pub exercised: usize,
    /// Cases naming a command of the group, by verdict.
    pub cases: usize,
    /// Cases that match (or close a gap).
    pub matching: usize,
    /// Known gaps.
    pub known_gap: usize,
    /// Differences.
    pub differ: usize,
    /// Commands no case names, lowercase.
    pub unexercised: Vec<String>,
    /// Per mode ([`MODES`]): the commands named and the cases.
    pub modes: BTreeMap<&'static str, ModeCount>,
}

/// The modes of the per-mode table, in its column order.
pub const MODES: [&str; 4] = ["standalone", "replica", "requirepass", "cluster"];

/// One family's cases in one mode.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModeCount {
    /// Commands named by at least one case.
    pub commands: BTreeSet<String>,
    /// Cases.
    pub cases: usize,
    /// Known gaps among them.
    pub known_gap: usize,
    /// Differences among them.
    pub differ: usize,
}

/// The mode a group's cases run in, from its name.
pub fn mode_of(group: &str) -> &'static str {
    if group.contains("requirepass") {
        "requirepass"
    } else if group.contains("replica") || group.contains("replication") {
        "replica"
    } else if group.contains("cluster") {
        "cluster"
    } else {
        "standalone"
    }
}

/// Asks each side for its command table (one server each, on [`PORT`]).
pub fn measure(real: &mut dyn Target, simulated: &mut dyn Target) -> Result<Commands, String> {
    real.start(PORT, "save \"\"\n")?;
    let docs = once(real, PORT, "COMMAND DOCS")?;
    simulated.start(PORT, "save \"\"\n")?;
    let list = once(simulated, PORT, "COMMAND LIST")?;
    Ok(Commands { real: groups_of(&docs)?, simulated: names_of(&list)? })
}

/// `COMMAND DOCS` (RESP2: name, then a flat list of field/value pairs) → name → group.
fn groups_of(docs: &Reply) -> Result<BTreeMap<String, String>, String> {
    let Some(Value::Array(items)) = docs.value() else {
        return Err(format!("COMMAND DOCS: not an array: {}", docs.describe()));
    };
    let mut out = BTreeMap::new();
    for pair in items.chunks(2) {
        let [Value::Bulk(name), Value::Array(fields)] = pair else {
            return Err("COMMAND DOCS: an entry is not a name and its fields".to_owned());
        };
        let group = fields.chunks(2).find_map(|f| match f {
            [Value::Bulk(k), Value::Bulk(v)] if k.as_slice() == b"group" => {
                Some(String::from_utf8_lossy(v).into_owned())
            }
            _ => None,
        });
        out.insert(String::from_utf8_lossy(name).to_lowercase(), group.unwrap_or_else(|| "unknown".to_owned()));
    }
    Ok(out)
}

/// `COMMAND LIST` → lowercase names.
fn names_of(list: &Reply) -> Result<BTreeSet<String>, String> {
    let Some(Value::Array(items)) = list.value() else {
        return Err(format!("COMMAND LIST: not an array: {}", list.describe()));
    };
    Ok(items
        .iter()
        .filter_map(|v| match v {
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).to_lowercase()),
            _ => None,
        })
        .collect())
}

/// The command a case's text names, if any: the first word written in
/// capitals after the case number and any `port>` / `master>` prompt.
pub fn command_of<'a>(case: &'a str, known: &BTreeMap<String, String>) -> Option<String> {
    let rest = case.rsplit_once("> ").map_or(case, |(_, after)| after);
    let mut words = rest.split_whitespace().skip_while(|w| w.chars().all(|c| c.is_ascii_digit()));
    let word: &'a str = words.next()?;
    let is_capitals = word.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c == '-');
    let name = word.to_lowercase();
    (is_capitals && known.contains_key(&name)).then_some(name)
}

/// The table over the rows of the reply groups (`catalogue/*`, `formats/*`)
/// of redis-server: Sentinel's catalogue answers with Sentinel's own table,
/// so its cases do not count for redis-server's commands.
pub fn tally(commands: &Commands, rows: &[Row]) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut exercised: BTreeSet<String> = BTreeSet::new();
    let reply_rows = rows.iter().filter(|r| {
        (r.group.starts_with("catalogue/") || r.group.starts_with("formats/")) && !r.group.contains("sentinel")
    });
    for row in reply_rows {
        let Some(name) = command_of(&row.case, &commands.real) else { continue };
        let family = families.entry(commands.real[&name].clone()).or_default();
        family.cases += 1;
        let mode = family.modes.entry(mode_of(&row.group)).or_default();
        mode.cases += 1;
        match row.verdict {
            Verdict::Match | Verdict::GapClosed => family.matching += 1,
            Verdict::KnownGap => (family.known_gap, mode.known_gap) = (family.known_gap + 1, mode.known_gap + 1),
            Verdict::Differ => (family.differ, mode.differ) = (family.differ + 1, mode.differ + 1),
        }
        mode.commands.insert(name.clone());
        exercised.insert(name);
    }
    for (name, group) in &commands.real {
        let family = families.entry(group.clone()).or_default();
        family.commands += 1;
        family.simulated += usize::from(commands.simulated.contains(name));
        if exercised.contains(name) {
            family.exercised += 1;
        } else {
            family.unexercised.push(name.clone());
        }
    }
    families
}

/// The JSON form: per family, and the totals.
pub fn to_json(families: &BTreeMap<String, Family>) -> Json {
    let per: serde_json::Map<String, Json> = families
        .iter()
        .map(|(name, f)| {
            let modes: serde_json::Map<String, Json> = f
                .modes
                .iter()
                .map(|(mode, m)| {
                    let counts = json!({"commands": m.commands.len(), "cases": m.cases, "known_gap": m.known_gap, "differ": m.differ});
                    ((*mode).to_owned(), counts)
                })
                .collect();
            let line = json!({
                "commands": f.commands, "simulated": f.simulated, "exercised": f.exercised,
                "cases": f.cases, "match": f.matching, "known_gap": f.known_gap, "differ": f.differ,
                "unexercised": f.unexercised, "modes": modes,
            });
            (name.clone(), line)
        })
        .collect();
    let sum = |get: fn(&Family) -> usize| families.values().map(get).sum::<usize>();
    json!({
        "commands": sum(|f| f.commands),
        "simulated": sum(|f| f.simulated),
        "exercised": sum(|f| f.exercised),
        "families": per,
    })
}

/// The Markdown section.
pub fn to_markdown(families: &BTreeMap<String, Family>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Coverage per command family\n");
    let _ = writeln!(
        md,
        "Families and commands as the real server's `COMMAND DOCS` gives them (top-level commands; \
         container commands such as CLIENT count once); *simulated*: in the simulated node's `COMMAND LIST`; \
         *exercised*: named by at least one case of the `catalogue/*` and `formats/*` groups.\n"
    );
    let _ = writeln!(
        md,
        "| family | commands | simulated | exercised | cases | match | known gap | differ | not exercised |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for (name, f) in families {
        let missing = if f.unexercised.is_empty() { "—".to_owned() } else { f.unexercised.join(", ") };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {missing} |",
            f.commands, f.simulated, f.exercised, f.cases, f.matching, f.known_gap, f.differ
        );
    }
    let sum = |get: fn(&Family) -> usize| families.values().map(get).sum::<usize>();
    let _ = writeln!(
        md,
        "| **all** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | |\n",
        sum(|f| f.commands),
        sum(|f| f.simulated),
        sum(|f| f.exercised),
        sum(|f| f.cases),
        sum(|f| f.matching),
        sum(|f| f.known_gap),
        sum(|f| f.differ)
    );
    md.push_str(&per_mode_markdown(families));
    md
}

/// The per-mode table: in each mode, the family's commands some case names
/// (of all its commands), its cases, and the known gaps and differences among them.
fn per_mode_markdown(families: &BTreeMap<String, Family>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### Per mode\n");
    let _ = writeln!(
        md,
        "Mode of a group from its name (`requirepass`, `replica`/`replication`, `cluster`, else standalone). \
         A cell: commands named by a case / commands of the family, cases, and known gaps or differences if any.\n"
    );
    let _ = writeln!(md, "| family | {} |", MODES.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(MODES.len()));
    let cell = |m: Option<&ModeCount>, of: usize| {
        let Some(m) = m else { return format!("0/{of}") };
        let mut text = format!("{}/{of}, {} cases", m.commands.len(), m.cases);
        if m.known_gap > 0 {
            let _ = write!(text, ", {} known gap", m.known_gap);
        }
        if m.differ > 0 {
            let _ = write!(text, ", **{} differ**", m.differ);
        }
        text
    };
    for (name, f) in families {
        let cells: Vec<String> = MODES.iter().map(|mode| cell(f.modes.get(mode), f.commands)).collect();
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = MODES
        .iter()
        .map(|mode| {
            let named: usize = families.values().filter_map(|f| f.modes.get(mode)).map(|m| m.commands.len()).sum();
            let cases: usize = families.values().filter_map(|f| f.modes.get(mode)).map(|m| m.cases).sum();
            let all: usize = families.values().map(|f| f.commands).sum();
            format!("**{named}/{all}, {cases} cases**")
        })
        .collect();
    let _ = writeln!(md, "| **all** | {} |\n", totals.join(" | "));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Commands {
        let real = [("get", "string"), ("set", "string"), ("incrbyfloat", "string"), ("cluster", "cluster")];
        Commands {
            real: real.iter().map(|(n, g)| ((*n).to_owned(), (*g).to_owned())).collect(),
            simulated: ["get", "set", "cluster"].iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    fn row(group: &str, case: &str, verdict: Verdict) -> Row {
        let (real, simulated, note) = (String::new(), String::new(), String::new());
        Row { group: group.to_owned(), case: case.to_owned(), real, simulated, verdict, note }
    }

    #[test]
    fn a_case_names_its_command_after_the_number_and_the_prompt() {
        let known = commands().real;
        assert_eq!(command_of("044 INCRBYFLOAT num 1.5", &known).as_deref(), Some("incrbyfloat"));
        assert_eq!(command_of("001 master> SET rk v", &known).as_deref(), Some("set"));
        assert_eq!(command_of("7680> CLUSTER INFO", &known).as_deref(), Some("cluster"));
        assert_eq!(command_of("7666 (one connection)> GET k3 (3)", &known).as_deref(), Some("get"));
        // prose and unknown words name nothing
        assert_eq!(command_of("7621 link up", &known), None);
        assert_eq!(command_of("replica in sync", &known), None);
        assert_eq!(command_of("058 FOOBAR", &known), None);
        assert_eq!(command_of("003 get k", &known), None);
    }

    #[test]
    fn the_table_counts_cases_by_family_and_lists_what_no_case_names() {
        let rows = [
            row("catalogue/standalone", "001 GET k", Verdict::Match),
            row("catalogue/standalone", "002 SET k v", Verdict::Differ),
            row("catalogue/replica", "003 master> GET k", Verdict::KnownGap),
            row("timing/C3 cluster failover", "GET after the failover", Verdict::Differ),
            // Sentinel's catalogue is Sentinel's table, not redis-server's.
            row("catalogue/sentinel", "004 GET k", Verdict::Match),
        ];
        let table = tally(&commands(), &rows);
        let string = &table["string"];
        assert_eq!((string.commands, string.simulated, string.exercised), (3, 2, 2));
        assert_eq!((string.cases, string.matching, string.known_gap, string.differ), (3, 1, 1, 1));
        assert_eq!(string.unexercised, ["incrbyfloat"]);
        let cluster = &table["cluster"];
        assert_eq!((cluster.commands, cluster.exercised, cluster.cases), (1, 0, 0));
        let md = to_markdown(&table);
        assert!(md.contains("| string | 3 | 2 | 2 | 3 | 1 | 1 | 1 | incrbyfloat |"), "{md}");
        assert_eq!(to_json(&table)["exercised"], 2);
        assert_eq!(string.modes["standalone"].cases, 2);
        assert_eq!((string.modes["replica"].cases, string.modes["replica"].known_gap), (1, 1));
        assert!(md.contains("| string | 2/3, 2 cases, **1 differ** | 1/3, 1 cases, 1 known gap | 0/3 | 0/3 |"), "{md}");
    }
}
