//! The `chaoslab` binary end to end: exit codes, rendered diagnostics, report
//! files and replay. Scenarios here use no node kind, so they test the command
//! and the runner's plumbing, not a protocol.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chaoslab(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chaoslab")).args(args).current_dir(cwd).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh directory under the target dir (no temp-dir crate needed).
fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const TIMELINE: &str = "name: timeline
description: time passes; nothing else happens
seed: 7
topology:
  nodes: []
steps:
  - sleep: 1500ms
  - {at: 10s, sleep: 1s}
";

#[test]
fn run_writes_the_report_and_prints_how_to_reproduce() {
    let dir = workdir("run");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, out, err) = chaoslab(&["run", "s.yaml"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("PASS timeline (seed 7)\n"), "{out}");
    let scenario = std::fs::canonicalize(dir.join("s.yaml")).unwrap();
    let printed = format!("reproduce: chaoslab run {} --seed 7\n", scenario.display());
    assert!(out.ends_with(&printed), "the reproduce line names the file from anywhere:\n{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reports/timeline/seed-7/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["result"], "pass");
    assert_eq!(report["seed"], 7);
    assert_eq!(report["virtual_time_ns"], 11_000_000_000u64);
    assert_eq!(report["steps"][1]["started_ns"], 10_000_000_000u64);
    let trace = std::fs::read_to_string(dir.join("reports/timeline/seed-7/trace.jsonl")).unwrap();
    assert_eq!(trace.lines().count(), 2, "one record per step: {trace}");
    assert!(trace.starts_with(r##"{"t_ns":0,"ev":"step","text":"#1 line 7: sleep: 1500ms"}"##), "{trace}");
}

#[test]
fn replay_verifies_the_trace_hash_and_refuses_an_edited_scenario() {
    let dir = workdir("replay");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, ..) = chaoslab(&["run", "s.yaml", "--seed", "9", "--out", "out"], &dir);
    assert_eq!(code, 0);
    let (code, out, _) = chaoslab(&["replay", "out/report.json"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("replay OK: timeline seed 9: trace hash "), "{out}");

    // From another directory, given the report's directory.
    let elsewhere = workdir("replay-elsewhere");
    let (code, out, err) = chaoslab(&["replay", dir.join("out").to_str().unwrap()], &elsewhere);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("replay OK: timeline seed 9"), "{out}");

    std::fs::write(dir.join("s.yaml"), TIMELINE.replace("1500ms", "1600ms")).unwrap();
    let (code, _, err) = chaoslab(&["replay", "out/report.json"], &dir);
    assert_eq!(code, 2);
    assert!(err.contains("/replay/s.yaml changed since the recorded run"), "{err}");

    let (code, _, err) = chaoslab(&["replay", "s.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: s.yaml: not a chaoslab report"), "{err}");
}

#[test]
fn bad_scenarios_exit_2_with_every_error_located() {
    let dir = workdir("bad");
    std::fs::write(dir.join("bad.yaml"), "name: bad\ntopology:\n  nodes: []\nsteps:\n  - sleep: 5\n  - kil: x\n")
        .unwrap();
    let (code, out, err) = chaoslab(&["check", "bad.yaml"], &dir);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        err,
        "error: invalid duration `5` for sleep
 --> bad.yaml:5:12
  |
5 |   - sleep: 5
  |            ^
  = hint: add a unit: 500ms, 15s, 2m

error: unknown step `kil`
 --> bad.yaml:6:5
  |
6 |   - kil: x
  |     ^^^ unknown step
  = hint: did you mean `kill`?

bad.yaml: 2 errors
"
    );
}

#[test]
fn yaml_syntax_errors_and_missing_files_exit_2() {
    let dir = workdir("syntax");
    std::fs::write(dir.join("broken.yaml"), "name: x\nsteps:\n  - kill: [\n").unwrap();
    let (code, _, err) = chaoslab(&["run", "broken.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.contains(" --> broken.yaml:3:11\n"), "{err}");
    let (code, _, err) = chaoslab(&["run", "missing.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: cannot read missing.yaml: "), "{err}");
    let (code, ..) = chaoslab(&["run", "--seed", "x", "broken.yaml"], &dir);
    assert_eq!(code, 2, "a usage error");
}

#[test]
fn semantic_errors_inside_conditions_are_caught_by_check() {
    let dir = workdir("fail");
    std::fs::write(
        dir.join("f.yaml"),
        "name: fail\ntopology:\n  nodes: []\nfaults:\n  - {at: 1s, heal: }\nsteps:\n  - wait-until: {not: {all: []}, within: 1s}\n",
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["check", "f.yaml"], &dir);
    assert_eq!(code, 2, "`all: []` is rejected: {err}");
    assert!(err.contains("error: `all` needs at least one condition"), "{err}");
}

#[test]
fn schema_is_json_with_the_builtin_steps() {
    let (code, out, _) = chaoslab(&["schema"], Path::new("."));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "chaoslab scenario");
    let forms = schema["$defs"]["step"]["oneOf"].as_array().unwrap();
    let steps: Vec<String> = forms.iter().filter_map(|s| s["required"][0].as_str()).map(str::to_owned).collect();
    for expected in ["sleep", "wait-until", "kill", "partition", "clock"] {
        assert!(steps.iter().any(|s| s == expected), "{expected} missing from {steps:?}");
    }
    // Steps that take no value may also be written bare: `- heal`.
    let bare: Vec<&serde_json::Value> = forms.iter().filter_map(|s| s["enum"].as_array()).flatten().collect();
    assert_eq!(bare, [&serde_json::json!("heal")]);
}

#[test]
fn a_month_of_idle_virtual_time_is_instant() {
    let dir = workdir("month");
    std::fs::write(dir.join("m.yaml"), "name: month\ntopology:\n  nodes: []\nsteps:\n  - sleep: 30d\n").unwrap();
    let (code, out, _) = chaoslab(&["run", "m.yaml"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2592000.000s virtual"), "{out}");
}

/// One Redis node and one step whose failure has a known kind.
fn one_node(step: &str) -> String {
    format!(
        "name: kinds\nseed: 3\ntopology:\n  nodes:\n    - {{name: \"6379\", kind: redis, port: 6379, config: \"port 6379\"}}\nsteps:\n  - sleep: 1s\n  - {step}\n"
    )
}

#[test]
fn exit_codes_tell_a_failed_check_from_a_liveness_failure() {
    let dir = workdir("kinds");
    let cases = [
        (r#"redis-cli: {node: "6379", command: "ping", expect: "PANG"}"#, 1, "check"),
        (r#"assert: {role: {node: "6379", is: slave}}"#, 1, "check"),
        (r#"wait-until: {role: {node: "6379", is: slave}, within: 2s}"#, 3, "liveness"),
        (r#"redis-cli: {node: "6379", command: "ping", expect: "PONG"}"#, 0, ""),
    ];
    for (i, (step, want, kind)) in cases.into_iter().enumerate() {
        let file = format!("k{i}.yaml");
        std::fs::write(dir.join(&file), one_node(step)).unwrap();
        let (code, out, err) = chaoslab(&["run", &file, "--out", &format!("out{i}")], &dir);
        assert_eq!(code, want, "{step}:\n{out}{err}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("out{i}/report.json"))).unwrap()).unwrap();
        match kind {
            "" => assert!(report.get("failure_kind").is_none(), "{report}"),
            kind => assert_eq!(report["failure_kind"], kind, "{step}"),
        }
    }
}

#[test]
fn the_printed_reproduce_line_runs_as_printed_from_another_directory() {
    let dir = workdir("reproduce");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, out, _) = chaoslab(&["run", "s.yaml", "--seed", "11", "--out", "first"], &dir);
    assert_eq!(code, 0, "{out}");
    let line = out.lines().find_map(|l| l.strip_prefix("reproduce: chaoslab ")).expect("a reproduce line");
    let hash = |out: &str| out.lines().find_map(|l| l.trim().strip_prefix("trace ")).map(|t| t[..16].to_owned());
    let elsewhere = workdir("reproduce-elsewhere");
    let args: Vec<&str> = line.split(' ').collect();
    let (code, again, err) = chaoslab(&args, &elsewhere);
    assert_eq!(code, 0, "{again}{err}");
    assert_eq!(hash(&again), hash(&out), "same run, same trace");
    assert!(elsewhere.join("reports/timeline/seed-11/report.json").exists());
}

#[test]
fn a_report_directory_holds_one_run_and_never_a_stranger_s_files() {
    let dir = workdir("dirs");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    std::fs::create_dir_all(dir.join("out/logs")).unwrap();
    std::fs::write(dir.join("out/logs/removed-node.log"), "stale").unwrap();
    let (code, ..) = chaoslab(&["run", "s.yaml", "--out", "out"], &dir);
    assert_eq!(code, 0);
    assert!(!dir.join("out/logs/removed-node.log").exists(), "an earlier run's log is gone");
    std::fs::write(dir.join("out/mine.txt"), "keep").unwrap();
    let (code, out, err) = chaoslab(&["run", "s.yaml", "--out", "out"], &dir);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("holds mine.txt, which chaoslab did not write"), "{err}");
    assert!(out.is_empty(), "refused before running: {out}");
    let named = TIMELINE.replace("name: timeline", "name: ..");
    std::fs::write(dir.join("dots.yaml"), named).unwrap();
    let (code, ..) = chaoslab(&["run", "dots.yaml"], &dir);
    assert_eq!(code, 0);
    assert!(dir.join("reports/__/seed-7/report.json").exists(), "a scenario named `..` stays inside reports/");
}

#[test]
fn json_and_quiet_and_completions_follow_the_conventions() {
    let dir = workdir("conventions");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, out, _) = chaoslab(&["run", "s.yaml", "--json"], &dir);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!((doc["result"].as_str(), doc["seed"].as_u64()), (Some("pass"), Some(7)));
    let (code, out, _) = chaoslab(&["check", "s.yaml", "--json"], &dir);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["ok"], true);
    let (code, out, err) = chaoslab(&["run", "s.yaml", "--quiet"], &dir);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (code, out, _) = chaoslab(&["completions", "bash"], &dir);
    assert_eq!(code, 0);
    assert!(out.contains("chaoslab") && out.contains("replay"), "{out}");
    let (_, version, _) = chaoslab(&["--version"], &dir);
    assert!(version.starts_with("chaoslab 0.0.0 ("), "{version}");
}

#[test]
fn a_virtual_time_limit_stops_the_run_with_a_partial_report() {
    let dir = workdir("limits");
    std::fs::write(dir.join("s.yaml"), TIMELINE).unwrap();
    let (code, out, _) = chaoslab(&["run", "s.yaml", "--max-virtual", "5s", "--out", "out"], &dir);
    assert_eq!(code, 5, "{out}");
    assert!(out.starts_with("INTERRUPTED timeline"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["result"], "interrupted");
    assert_eq!(report["failure_kind"], "interrupted");
    assert_eq!(report["virtual_time_ns"], 5_000_000_000u64, "stopped at the limit, not after it");
    assert_eq!(report["steps"][0]["outcome"], "pass");
    assert_eq!(report["steps"][1]["outcome"], "fail", "the step that was running when the limit came");
    assert!(
        report["steps"][1]["detail"].as_str().unwrap().starts_with("interrupted: stopped at the virtual time limit")
    );
}

#[test]
fn ctrl_c_ends_a_long_run_with_a_partial_report_marked_interrupted() {
    let dir = workdir("sigint");
    std::fs::write(dir.join("long.yaml"), one_node("sleep: 3650d")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["run", "long.yaml", "--out", "out"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the run needs hours of wall time to finish on its own. The
    // signal waits until the run has begun (its report directory exists), so
    // a slow start on a loaded machine cannot meet the default handler.
    let report = dir.join("out/report.json");
    for _ in 0..300 {
        if dir.join("out").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut code = None;
    for _ in 0..300 {
        if let Some(s) = child.try_wait().unwrap() {
            code = s.code();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if code.is_none() {
        let _ = child.kill();
        panic!("chaoslab did not stop within 30 s of SIGINT");
    }
    assert_eq!(code, Some(130));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["result"], "interrupted");
    assert!(report["failure"].as_str().unwrap().contains("stopped by a signal"), "{report}");
    assert!(report["virtual_time_ns"].as_u64().unwrap() > 1_000_000_000, "it ran for a while first");
}

#[test]
fn the_terminal_tells_the_story_and_the_documents_are_written_and_rebuilt() {
    let dir = workdir("story");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/sentinel-s3-master-failover.yaml");
    let (code, out, err) = chaoslab(&["run", root.to_str().unwrap(), "--out", "out"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    let story: Vec<&str> = out.lines().skip(2).take(4).map(str::trim).collect();
    assert!(story[0].ends_with("s  kill 6379"), "{out}");
    assert!(story[1].ends_with("s  6381 is now master"), "{out}");
    assert!(
        !out.contains("redis-cli#") && !out.contains("sentinel-client#"),
        "clients are not part of the story: {out}"
    );
    let md = std::fs::read_to_string(dir.join("out/summary.md")).unwrap();
    assert!(md.starts_with("## PASS: sentinel-s3-master-failover (seed 1)"), "{md}");
    let xml = std::fs::read_to_string(dir.join("out/junit.xml")).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 21, "one case per step");
    // Rebuilt from report.json alone, byte for byte.
    std::fs::remove_file(dir.join("out/summary.md")).unwrap();
    let (code, out, _) = chaoslab(&["report", "out"], &dir);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("out/summary.md")).unwrap(), md);
    // A truncated report is refused, and nothing is written.
    let broken = workdir("story-broken");
    let json = std::fs::read_to_string(dir.join("out/report.json")).unwrap();
    std::fs::write(broken.join("report.json"), &json[..json.len() / 2]).unwrap();
    let (code, _, err) = chaoslab(&["report", "."], &broken);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a chaoslab report"), "{err}");
    assert_eq!(std::fs::read_dir(&broken).unwrap().count(), 1, "nothing half-written");
    let (code, _, _) = chaoslab(&["report", "missing-dir"], &broken);
    assert_eq!(code, 2);
}

/// The `<svg>` of the figure with `id`, or "" when the page has none.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let Some(start) = html.find(&format!("<figure id=\"{id}\"")) else { return "" };
    let end = html[start..].find("</figure>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[test]
fn report_html_draws_every_chart_of_a_cluster_failover_with_data() {
    let dir = workdir("html");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/cluster-c3-failover-and-return.yaml");
    let (code, out, err) = chaoslab(&["run", root.to_str().unwrap(), "--out", "out"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"), "no script");
    assert!(!html.contains(" src=") && !html.contains("href="), "self-contained: nothing loaded from anywhere");
    assert!(!html.contains("chart failed"), "every chart drew");
    // Six lanes of states, faults marked; slots owned by three masters at a time.
    let lanes = figure(&html, "lanes");
    assert!(lanes.matches("<rect").count() >= 12, "{}", lanes.len());
    assert!(lanes.contains(">\nstop 6381\n<"), "the fault is labelled on the chart");
    for name in ["6381", "6386"] {
        assert!(lanes.contains(&format!(">\n{name}\n<")), "lane {name} labelled");
    }
    assert!(figure(&html, "slots").matches("<rect").count() >= 6);
    assert!(figure(&html, "epochs").contains("<polyline"));
    assert!(figure(&html, "offsets").contains("<polyline"));
    // 48: the cluster template's 14 build steps and the file's 34 (9 of them from two fragments).
    assert_eq!(html.matches("<tr class=").count(), 48, "one row per step");
    // Rebuilt by `chaoslab report`, byte for byte.
    std::fs::remove_file(dir.join("out/report.html")).unwrap();
    let (code, ..) = chaoslab(&["report", "out", "--report", "html"], &dir);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(dir.join("out/report.html")).unwrap(), html);
}

#[test]
fn a_session_runs_a_transaction_and_a_pipeline_on_one_connection() {
    let dir = workdir("session");
    let steps = r#"redis-cli-session:
      node: "6379"
      commands:
        - {command: multi, expect: OK}
        - {command: "set k v", expect: QUEUED}
        - {command: "incr n", expect: QUEUED}
        - {command: exec, expect: "1) OK\n2) (integer) 1"}
        - {command: "client id", expect-match: "^\\(integer\\) [0-9]+$"}
  - redis-cli-session:
      node: "6379"
      pipeline: true
      commands: ["incr n", "incr n", {command: "get n", expect: "\"3\""}]
      capture: piped
  - redis-cli-session:
      node: "6379"
      commands: [{command: "subscribe a b", expect: "1) \"subscribe\"\n2) \"a\"\n3) (integer) 1\n1) \"subscribe\"\n2) \"b\"\n3) (integer) 2"}]
      listen: 2s
      expect-messages: []
  - assert: {key: {node: "6379", key: k, equals: v}}"#;
    std::fs::write(dir.join("s.yaml"), one_node(steps)).unwrap();
    let (code, out, err) = chaoslab(&["run", "s.yaml", "--out", "out", "--json"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["steps"][2]["detail"], "(integer) 2\n(integer) 3\n\"3\"", "pipelined replies, in order");
    let took = |i: usize| {
        report["steps"][i]["finished_ns"].as_u64().unwrap() - report["steps"][i]["started_ns"].as_u64().unwrap()
    };
    assert!(took(3) >= 2_000_000_000, "the subscriber listened for 2 s");
    // A transaction's replies, checked one by one: a wrong expect names its command.
    let bad = one_node(r#"redis-cli-session: {node: "6379", commands: [multi, {command: "set k v", expect: OK}]}"#);
    std::fs::write(dir.join("bad.yaml"), bad).unwrap();
    let (code, out, _) = chaoslab(&["run", "bad.yaml", "--out", "bad"], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("`set k v` replied \"QUEUED\", expected \"OK\""), "{out}");
}

/// `check --expand` prints the file as one explicit document that runs the
/// same; `--set` reaches the parameters, the reproduce line and replay.
#[test]
fn expand_prints_the_explicit_file_and_set_is_part_of_the_run() {
    let dir = workdir("expand");
    std::fs::create_dir_all(dir.join("parts")).unwrap();
    std::fs::write(dir.join("parts/wait.yaml"), "- sleep: ${param:pause}\n").unwrap();
    let file = "name: fam
params: {pause: 20ms}
topology:
  replication: {master: 6379, replicas: [6380]}
steps:
  - include: parts/wait.yaml
";
    std::fs::write(dir.join("fam.yaml"), file).unwrap();
    let (code, out, err) = chaoslab(&["check", "--expand", "--set", "pause=30ms", "fam.yaml"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("    - name: \"6380\"\n      kind: \"redis\"\n      port: 6380\n      config: |\n        port 6380\n        slaveof 127.0.0.1 6379\n"),
        "{out}"
    );
    assert!(out.contains("steps:\n  - {sleep: \"30ms\"}\n"), "{out}");
    std::fs::write(dir.join("explicit.yaml"), &out).unwrap();
    let (code, _, err) = chaoslab(&["run", "explicit.yaml", "--out", "a"], &dir);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = chaoslab(&["run", "fam.yaml", "--set", "pause=30ms", "--out", "b"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("--seed 1 --set 'pause=30ms'"), "the reproduce line repeats --set: {out}");
    let hash = |d: &str| {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(d).join("report.json")).unwrap()).unwrap();
        (r["trace_hash"].as_str().unwrap().to_owned(), r["virtual_time_ns"].as_u64().unwrap())
    };
    assert_eq!(hash("a"), hash("b"), "the expansion runs exactly as the file does");
    let (code, _, err) = chaoslab(&["replay", "b", "--set", "pause=30ms"], &dir);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = chaoslab(&["replay", "b"], &dir);
    assert_eq!(code, 2, "replay without the same --set is refused: {err}");
    assert!(err.contains("changed since the recorded run"), "{err}");
    let (code, _, err) = chaoslab(&["check", "--set", "paus=1s", "fam.yaml"], &dir);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `--set pause=...`?"), "{err}");
}
