//! The command sweep (`catalogue/sweep-*`): every command and subcommand the
//! real server's `COMMAND INFO` lists, driven by that table rather than by
//! hand-written lines:
//! - wrong arity: one argument too few and (fixed arities) one too many, from
//!   the measured arity; an unknown subcommand for every container command;
//! - one sample call per command ([`super::sweep_samples`]), in standalone,
//!   replica, requirepass (before and after AUTH) and cluster modes (on the
//!   slot's owner, on another node: MOVED, and across slots: CROSSSLOT);
//! - out of range: every number a sample marks (`#` integers, `%` floats)
//!   made a non-number, every integer also one past `i64::MAX` (standalone);
//! - wrong type: every sample of a data-type command again on a key of
//!   another type (standalone).
//!
//! A command of the real table without a sample is a failing row, so a
//! command the server gains cannot go unswept.

use super::observe::{Expect, Mask, Obs};
use super::sweep_samples::{AUTHED, CLUSTER, NOAUTH, NOAUTH_MAX_ARGS, Places, REPLICA, SAMPLES, STANDALONE, Sample};
use super::target::{Conn, Reply, Target, args, info_field, once, wait_until};
use resp::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// The port the command table is measured on (real side only).
const MEASURE_PORT: u16 = 7749;
const STANDALONE_PORT: u16 = 7740;
const REPLICA_PORTS: (u16, u16) = (7741, 7742);
const REQUIREPASS_PORT: u16 = 7743;
const CLUSTER_PORTS: [u16; 3] = [7744, 7745, 7746];
const CONF: &str = "save \"\"\n";
const PASSWORD: &str = "123456";
/// The hash tag of cluster-mode keys: slot 3300, served by the first node.
const TAG: &str = "{b}";

/// One command or subcommand as `COMMAND INFO` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Lowercase, `container|sub` for subcommands.
    pub name: String,
    /// Redis's arity: exact when positive, a minimum when negative.
    pub arity: i64,
    /// Whether it has subcommands.
    pub container: bool,
}

/// Asks the real server for its command table.
pub fn measure(real: &mut dyn Target) -> Result<Vec<Spec>, String> {
    real.start(MEASURE_PORT, CONF)?;
    let info = once(real, MEASURE_PORT, "COMMAND INFO")?;
    let Some(Value::Array(items)) = info.value() else {
        return Err(format!("COMMAND INFO: not an array: {}", info.describe()));
    };
    let mut specs = Vec::new();
    for item in &items {
        specs_of(item, &mut specs)?;
    }
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(specs)
}

/// One `COMMAND INFO` entry (name, arity, flags, keys..., subcommands) and its subcommands.
fn specs_of(item: &Value, out: &mut Vec<Spec>) -> Result<(), String> {
    let Value::Array(fields) = item else { return Err("COMMAND INFO: an entry is not an array".to_owned()) };
    let (Some(Value::Bulk(name)), Some(Value::Integer(arity))) = (fields.first(), fields.get(1)) else {
        return Err("COMMAND INFO: an entry has no name and arity".to_owned());
    };
    let subs = match fields.get(9) {
        Some(Value::Array(subs)) => subs.as_slice(),
        _ => &[],
    };
    out.push(Spec { name: String::from_utf8_lossy(name).to_lowercase(), arity: *arity, container: !subs.is_empty() });
    subs.iter().try_for_each(|sub| specs_of(sub, out))
}

/// The command's words as sent (`config|get` → `CONFIG GET`).
fn words(spec: &Spec) -> Vec<String> {
    spec.name.split('|').map(str::to_uppercase).collect()
}

/// Calls with a wrong number of arguments: one too few (when that still names
/// the command) and, for exact arities, one too many; filler arguments are `x`.
pub fn arity_lines(spec: &Spec) -> Vec<String> {
    let named = words(spec);
    let with = |count: i64| {
        let fill = usize::try_from(count).unwrap_or(0).saturating_sub(named.len());
        named.iter().cloned().chain(std::iter::repeat_n("x".to_owned(), fill)).collect::<Vec<_>>().join(" ")
    };
    let base = i64::try_from(named.len()).unwrap_or(i64::MAX);
    let fewest = spec.arity.abs();
    let mut lines = Vec::new();
    if fewest > base {
        lines.push(with(fewest - 1));
    }
    if spec.arity > 0 {
        lines.push(with(spec.arity + 1));
    }
    lines
}

/// The spec a sample line calls: `container|sub` when the first word is a container.
fn spec_name(line: &str, specs: &[Spec]) -> String {
    let mut w = line.split_whitespace().map(str::to_lowercase);
    let first = w.next().unwrap_or_default();
    let sub = w.next().map(|s| format!("{first}|{s}"));
    match sub {
        Some(sub) if specs.iter().any(|s| s.name == sub) => sub,
        _ => first,
    }
}

/// The sample's keys (`@name` words), in order, each once.
pub fn keys_of(line: &str) -> Vec<&str> {
    let mut seen = Vec::new();
    for w in line.split(' ').filter_map(|w| w.strip_prefix('@')) {
        if !seen.contains(&w) {
            seen.push(w);
        }
    }
    seen
}

/// The line with every `@name` key named by `name` and its numbers unmarked.
pub fn with_keys(line: &str, name: impl Fn(&str) -> String) -> String {
    render(line, &name, None)
}

/// A marked number of a sample: `#12` an integer, `%0.5` a float (what the
/// command parses as one; other digits are plain words).
fn number(word: &str) -> Option<(&str, bool)> {
    match (word.strip_prefix('#'), word.strip_prefix('%')) {
        (Some(n), _) if n.parse::<i64>().is_ok() => Some((n, true)),
        (_, Some(n)) if n.parse::<f64>().is_ok() => Some((n, false)),
        _ => None,
    }
}

/// The line as sent: keys named by `name`, numbers unmarked, the `n`th number replaced when asked.
fn render(line: &str, name: &dyn Fn(&str) -> String, replace: Option<(usize, &str)>) -> String {
    let mut numbers = 0;
    let word = |w: &str| {
        if let Some(key) = w.strip_prefix('@') {
            return name(key);
        }
        let Some((n, _)) = number(w) else { return w.to_owned() };
        numbers += 1;
        match replace {
            Some((i, with)) if i + 1 == numbers => with.to_owned(),
            _ => n.to_owned(),
        }
    };
    line.split(' ').map(word).collect::<Vec<_>>().join(" ")
}

/// Not a number, for any number argument.
const NOT_A_NUMBER: &str = "abc";
/// One past `i64::MAX`, for integer arguments.
const OVERFLOW: &str = "9223372036854775808";

/// The sample's out-of-range calls: every marked number made a non-number,
/// every integer also one past `i64::MAX`.
pub fn range_lines(line: &str, name: &dyn Fn(&str) -> String) -> Vec<String> {
    let marked: Vec<bool> = line.split(' ').filter_map(number).map(|(_, integer)| integer).collect();
    let mut out = Vec::new();
    for (i, integer) in marked.into_iter().enumerate() {
        out.push(render(line, name, Some((i, NOT_A_NUMBER))));
        if integer {
            out.push(render(line, name, Some((i, OVERFLOW))));
        }
    }
    out
}

/// The key of another type a data-type family's wrong-type probe uses, and how
/// it is made: lists for the string-valued families, a string for the others.
fn wrong_type(family: &str) -> Option<(&'static str, &'static str)> {
    match family {
        "string" | "bitmap" | "hyperloglog" => Some(("a-list", "RPUSH a-list x")),
        "list" | "hash" | "set" | "sorted-set" | "stream" | "geo" => Some(("a-string", "SET a-string x")),
        _ => None,
    }
}

/// Runs the cases of one place on one connection, numbering them from `out.len() + 1`.
struct Runner<'a> {
    t: &'a mut dyn Target,
    port: u16,
    conn: Conn,
    /// Sent first on every connection of its own (AUTH after the password phase).
    hello: Option<String>,
    out: Vec<Obs>,
}

impl Runner<'_> {
    fn observe(&mut self, text: &str, reply: Result<Reply, String>, expect: Expect, mask: Mask) {
        let case = format!("{:03} {text}", self.out.len() + 1);
        self.out.push(match reply {
            Ok(r) => Obs::reply(case, &r, expect, mask),
            Err(e) => Obs::error(case, &e),
        });
    }

    /// Sends `line` (on a connection of its own when `own`) and observes its reply as `prompt line`.
    fn call(&mut self, prompt: &str, line: &str, own: bool, expect: Expect, mask: Mask) {
        let reply = if own {
            self.own_conn().and_then(|c| self.t.call(c, &args(line)))
        } else {
            self.t.call(self.conn, &args(line))
        };
        self.observe(&format!("{prompt}{line}"), reply, expect, mask);
    }

    fn own_conn(&mut self) -> Result<Conn, String> {
        let c = self.t.connect(self.port)?;
        if let Some(hello) = &self.hello {
            self.t.call(c, &args(hello))?;
        }
        Ok(c)
    }

    /// Every sample that runs in `place`, keys named by `key`.
    fn samples(&mut self, place: Places, prompt: &str, key: &dyn Fn(&str) -> String) {
        let fits = |s: &&Sample| place != NOAUTH || args(s.line).len() <= NOAUTH_MAX_ARGS;
        for sample in SAMPLES.iter().filter(|s| s.skip.0 & place == 0).filter(fits) {
            let line = with_keys(sample.line, key);
            // refused before AUTH: the refusal is simulated even where the command is not
            let expect = if place == NOAUTH { Expect::Same } else { expect(sample) };
            self.call(prompt, &line, sample.own, expect, sample.mask);
        }
    }

    /// The wrong-arity calls of every command and an unknown subcommand of every container.
    fn arities(&mut self, specs: &[Spec], prompt: &str) {
        for spec in specs {
            for line in arity_lines(spec) {
                self.call(prompt, &line, false, Expect::Same, Mask::None);
            }
            if spec.container {
                self.call(prompt, &format!("{} NOSUCH", words(spec)[0]), false, Expect::Same, Mask::None);
            }
        }
    }
}

fn expect(sample: &Sample) -> Expect {
    sample.gap.map_or(Expect::Same, Expect::Gap)
}

/// `catalogue/sweep-standalone`: arity, unknown subcommands, samples each
/// followed by its out-of-range and wrong-type probes.
pub fn standalone(t: &mut dyn Target, specs: &[Spec], families: &dyn Fn(&str) -> String) -> Result<Vec<Obs>, String> {
    t.start(STANDALONE_PORT, CONF)?;
    let conn = t.connect(STANDALONE_PORT)?;
    let mut r = Runner { t, port: STANDALONE_PORT, conn, hello: None, out: missing_samples(specs) };
    r.arities(specs, "");
    for sample in SAMPLES.iter().filter(|s| s.skip.0 & STANDALONE == 0) {
        let line = with_keys(sample.line, |k| k.to_owned());
        r.call("", &line, sample.own, expect(sample), sample.mask);
        for probe in range_lines(sample.line, &|k| k.to_owned()) {
            r.call("", &probe, false, Expect::Same, Mask::None);
        }
        let family = families(&spec_name(sample.line, specs));
        if let (false, Some((key, make))) = (keys_of(sample.line).is_empty(), wrong_type(&family)) {
            r.t.call(r.conn, &args(make))?;
            r.call("", &with_keys(sample.line, |_| key.to_owned()), false, Expect::Same, Mask::None);
            r.t.call(r.conn, &args(&format!("DEL {key}")))?;
        }
    }
    // Every command's read lookups, counted as Redis counts them.
    r.out.push(super::fuzz::keyspace_counters(r.t, r.conn, "every sample")?);
    Ok(r.out)
}

/// Fixtures written on the master in replica mode, one key per type the samples read.
const REPLICA_FIXTURES: &[&str] = &[
    "SET str hello",
    "SET num 10",
    "RPUSH list a b c",
    "HSET hash f v",
    "SADD set 1 2 3",
    "ZADD zset 1 a 2 b",
    "XADD strm 1-1 f v",
    "GEOADD geo 13.361389 38.115556 Palermo",
    "PFADD hll a b c",
];

/// `catalogue/sweep-replica`: fixtures on the master, then every sample on the replica.
pub fn replica(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let (master, replica) = REPLICA_PORTS;
    t.start(master, "save \"\"\nrepl-diskless-sync-delay 0\n")?;
    t.start(replica, &format!("save \"\"\nreplicaof 127.0.0.1 {master}\n"))?;
    let up = wait_until(t, Duration::from_millis(20), Duration::from_secs(10), |t| {
        Ok(info_field(t, replica, "replication", "master_link_status")? == "up")
    })?;
    if !up {
        return Err(format!("the replica on {replica} did not sync within 10 s"));
    }
    let m = t.connect(master)?;
    let conn = t.connect(replica)?;
    let mut r = Runner { t, port: replica, conn, hello: None, out: Vec::new() };
    for line in REPLICA_FIXTURES.iter().chain(&["WAIT 1 5000"]) {
        let reply = r.t.call(m, &args(line));
        r.observe(&format!("master> {line}"), reply, Expect::Same, Mask::None);
    }
    r.samples(REPLICA, "", &|k| k.to_owned());
    Ok(r.out)
}

/// `catalogue/sweep-requirepass`: the wrong arities and every sample before
/// AUTH (processCommand checks the arity first), then the samples after.
pub fn requirepass(t: &mut dyn Target, specs: &[Spec]) -> Result<Vec<Obs>, String> {
    t.start(REQUIREPASS_PORT, &format!("{CONF}requirepass {PASSWORD}\n"))?;
    let conn = t.connect(REQUIREPASS_PORT)?;
    let mut r = Runner { t, port: REQUIREPASS_PORT, conn, hello: None, out: Vec::new() };
    r.arities(specs, "(no AUTH)> ");
    r.samples(NOAUTH, "(no AUTH)> ", &|k| k.to_owned());
    r.call("", &format!("AUTH {PASSWORD}"), false, Expect::Same, Mask::None);
    r.hello = Some(format!("AUTH {PASSWORD}"));
    r.samples(AUTHED, "", &|k| k.to_owned());
    Ok(r.out)
}

/// `catalogue/sweep-cluster`: every sample on the owner of the keys' slot, the
/// keyed ones on another node (MOVED), the multi-key ones across slots (CROSSSLOT).
pub fn cluster(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = super::cluster::build(t, &CLUSTER_PORTS, &[])?;
    let [owner, other, _] = CLUSTER_PORTS;
    let conn = t.connect(owner)?;
    let mut r = Runner { t, port: owner, conn, hello: None, out: Vec::new() };
    r.samples(CLUSTER, &format!("{owner}> "), &|k| format!("{TAG}{k}"));
    let keyed = |s: &&Sample| s.skip.0 & CLUSTER == 0 && !keys_of(s.line).is_empty();
    r.conn = r.t.connect(other)?;
    r.port = other;
    for sample in SAMPLES.iter().filter(keyed) {
        let line = with_keys(sample.line, |k| format!("{TAG}{k}"));
        r.call(&format!("{other}> "), &line, sample.own, Expect::Same, Mask::None);
    }
    r.conn = r.t.connect(owner)?;
    r.port = owner;
    for sample in SAMPLES.iter().filter(keyed).filter(|s| keys_of(s.line).len() > 1) {
        let line = with_keys(sample.line, |k| k.to_owned());
        r.call(&format!("{owner}> "), &line, sample.own, Expect::Same, Mask::None);
    }
    out.extend(r.out);
    Ok(out)
}

/// A failing row for every command of the real table no sample calls (containers
/// are called through their subcommands).
fn missing_samples(specs: &[Spec]) -> Vec<Obs> {
    let sampled: BTreeSet<String> = SAMPLES.iter().map(|s| spec_name(s.line, specs)).collect();
    specs
        .iter()
        .filter(|s| !s.container && !sampled.contains(&s.name))
        .map(|s| Obs::error(format!("{} has a sample", s.name.to_uppercase()), "no sample in sweep_samples.rs"))
        .collect()
}

/// The report's section on the samples some mode does not run, and why.
pub fn exclusions_markdown() -> String {
    let names =
        [(STANDALONE, "standalone"), (REPLICA, "replica"), (AUTHED, "requirepass after AUTH"), (CLUSTER, "cluster")];
    let mut md = String::from("### Sweep samples a mode does not run\n\n");
    md.push_str("Every other sample of `xtask/src/fidelity/sweep_samples.rs` runs in every mode (before AUTH too, ");
    md.push_str(&format!("except the ones with more than {NOAUTH_MAX_ARGS} arguments: real Redis closes an unauthenticated connection that sends them).\n\n"));
    md.push_str("| sample | not run in | why |\n|---|---|---|\n");
    for s in SAMPLES.iter().filter(|s| s.skip.0 != 0) {
        let places: Vec<&str> = names.iter().filter(|(b, _)| s.skip.0 & b != 0).map(|(_, n)| *n).collect();
        md.push_str(&format!("| `{}` | {} | {} |\n", s.line, places.join(", "), s.skip.1));
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, arity: i64) -> Spec {
        Spec { name: name.to_owned(), arity, container: false }
    }

    #[test]
    fn wrong_arity_is_one_too_few_and_for_exact_arities_one_too_many() {
        assert_eq!(arity_lines(&spec("get", 2)), ["GET", "GET x x"]);
        assert_eq!(arity_lines(&spec("dbsize", 1)), ["DBSIZE x"]);
        assert_eq!(arity_lines(&spec("set", -3)), ["SET x"]);
        assert!(arity_lines(&spec("ping", -1)).is_empty());
        assert_eq!(arity_lines(&spec("config|get", -3)), ["CONFIG GET"]);
        // one too few would drop the subcommand's name: only too many
        assert_eq!(arity_lines(&spec("config|help", 2)), ["CONFIG HELP x"]);
        assert!(arity_lines(&spec("client|list", -2)).is_empty());
        assert_eq!(arity_lines(&spec("client", -2)), ["CLIENT"]);
    }

    #[test]
    fn keys_are_the_at_words_renamed_per_mode() {
        let line = "SMOVE @set @set2 1";
        assert_eq!(keys_of(line), ["set", "set2"]);
        assert_eq!(with_keys(line, |k| format!("{{b}}{k}")), "SMOVE {b}set {b}set2 1");
        assert!(keys_of(r#"EVAL "return 1" 0"#).is_empty());
        assert_eq!(keys_of("MSET @str a @str b"), ["str"]);
    }

    #[test]
    fn marked_numbers_are_sent_plain_and_probed_out_of_range() {
        let line = "GETRANGE @str #0 #-3";
        assert_eq!(with_keys(line, |k| k.to_owned()), "GETRANGE str 0 -3");
        let probes = range_lines(line, &|k| k.to_owned());
        let want = [
            "GETRANGE str abc -3",
            "GETRANGE str 9223372036854775808 -3",
            "GETRANGE str 0 abc",
            "GETRANGE str 0 9223372036854775808",
        ];
        assert_eq!(probes, want);
        assert_eq!(range_lines("BLPOP @list %0.01", &|k| k.to_owned()), ["BLPOP list abc"]);
        // a Lua length operator and plain digits are not marked numbers
        assert!(range_lines(r#"EVAL "return #keys" #0"#, &|k| k.to_owned()).len() == 2);
        assert!(range_lines("SADD @set 1 2", &|k| k.to_owned()).is_empty());
    }

    #[test]
    fn a_sample_names_its_subcommand_when_the_first_word_is_a_container() {
        let specs = [spec("config", -2), spec("config|get", -3), spec("get", 2)];
        assert_eq!(spec_name("CONFIG GET maxmemory", &specs), "config|get");
        assert_eq!(spec_name("GET @str", &specs), "get");
        assert_eq!(spec_name("CONFIG NOSUCH", &specs), "config");
    }

    #[test]
    fn every_command_of_the_simulated_table_has_a_sample_that_runs() {
        let specs = measure(&mut super::super::simulated::Simulated::new(1)).expect("COMMAND INFO");
        assert_eq!(specs.iter().filter(|s| !s.name.contains('|')).count(), 240);
        assert!(specs.iter().any(|s| s.name == "config|get" && s.arity == -3));
        let missing: Vec<String> = missing_samples(&specs).into_iter().map(|o| o.case).collect();
        assert!(missing.is_empty(), "{missing:?}");
        let out = standalone(&mut super::super::simulated::Simulated::new(1), &specs, &|_| "string".to_owned())
            .expect("the sweep runs");
        let failed: Vec<&Obs> = out.iter().filter(|o| o.compared.starts_with("harness error")).collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert!(out.len() > 900, "{}", out.len());
    }

    #[test]
    fn a_command_without_a_sample_is_a_failing_row() {
        let mut specs = vec![spec("get", 2), spec("nosuchcommand", 1)];
        specs.push(Spec { name: "config".to_owned(), arity: -2, container: true });
        let missing = missing_samples(&specs);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].case, "NOSUCHCOMMAND has a sample");
    }
}
