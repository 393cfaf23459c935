//! Every shipped scenario under `scenarios/` passes, and running it twice gives
//! the same trace hash; it also passes under other seeds than its own; and its
//! trace hash under its own seed is the one pinned in `scenarios/trace-hashes.txt`,
//! so a change of behaviour cannot pass unnoticed (`CHAOSLAB_BLESS=1` rewrites
//! the pins after a deliberate one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned trace hashes, relative to the workspace root.
const PINS: &str = "scenarios/trace-hashes.txt";

const PINS_HEADER: &str = "\
# The trace hash of every shipped scenario run with its own seed, one
# `name hash` per line, sorted. Checked by crates/chaoslab/tests/scenarios.rs
# (shipped_scenarios_pass_and_replay_identically). A hash changes only when
# behaviour does: after a deliberate change, refresh with
#   CHAOSLAB_BLESS=1 cargo test -p chaoslab --test scenarios shipped_scenarios_pass_and_replay_identically
# and say in the commit why the traces moved.
";

/// `name hash` lines; `#` comments and blank lines are skipped.
fn parse_pins(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pins = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            [name, hash] => {
                if pins.insert((*name).to_owned(), (*hash).to_owned()).is_some() {
                    return Err(format!("{PINS}:{}: {name} is pinned twice", i + 1));
                }
            }
            _ => return Err(format!("{PINS}:{}: expected `name hash`, got {line:?}", i + 1)),
        }
    }
    Ok(pins)
}

fn render_pins(hashes: &BTreeMap<String, String>) -> String {
    let mut text = PINS_HEADER.to_owned();
    for (name, hash) in hashes {
        text.push_str(&format!("{name} {hash}\n"));
    }
    text
}

/// Every difference between the pins and this run's hashes, one line each.
fn compare_pins(pinned: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, hash) in actual {
        match pinned.get(name) {
            Some(pin) if pin == hash => {}
            Some(pin) => problems.push(format!("{name}: trace hash {hash}, pinned {pin}")),
            None => problems.push(format!("{name}: trace hash {hash}, not pinned (a new scenario?)")),
        }
    }
    for (name, pin) in pinned {
        if !actual.contains_key(name) {
            problems.push(format!("{name}: pinned {pin}, but no such scenario ran (removed or renamed?)"));
        }
    }
    problems
}

/// Checks `actual` against the pin file, or rewrites it under `CHAOSLAB_BLESS=1`.
fn check_pins(actual: &BTreeMap<String, String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(PINS);
    if std::env::var_os("CHAOSLAB_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, render_pins(actual)).unwrap_or_else(|e| panic!("{PINS}: {e}"));
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{PINS}: {e}"));
    let pinned = parse_pins(&text).unwrap_or_else(|e| panic!("{e}"));
    let problems = compare_pins(&pinned, actual);
    assert!(
        problems.is_empty(),
        "shipped scenarios' traces differ from {PINS}, so behaviour changed:\n  {}\n\
         If the change is deliberate, refresh the pins with\n  \
         CHAOSLAB_BLESS=1 cargo test -p chaoslab --test scenarios shipped_scenarios_pass_and_replay_identically\n\
         and say in the commit why the traces moved.",
        problems.join("\n  ")
    );
}

fn shipped() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no shipped scenarios");
    files
}

/// A scenario states what Redis guarantees, not what one seed happened to do:
/// bug hunters run shipped scenarios under thousands of seeds, and a step that
/// only holds for some (an epoch that depends on node IDs, a flag one node may
/// skip) would be a false alarm. A few seeds here catch the obvious cases.
#[test]
fn shipped_scenarios_pass_under_other_seeds() {
    for file in shipped() {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        for seed in ["1", "2", "3"] {
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seeds").join(format!("{name}-{seed}"));
            let run = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
                .args(["run", file.to_str().unwrap(), "--seed", seed, "--out", out.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(run.status.code(), Some(0), "{name} seed {seed}:\n{}", String::from_utf8_lossy(&run.stdout));
        }
    }
}

/// Also the pin check: each run's `trace_hash` against `scenarios/trace-hashes.txt`.
#[test]
fn shipped_scenarios_pass_and_replay_identically() {
    let mut hashes = BTreeMap::new();
    for file in shipped() {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shipped").join(&name);
        let run = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
            .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{name}:\n{}", String::from_utf8_lossy(&run.stdout));
        let replay = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
            .args(["replay", out.join("report.json").to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(replay.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&replay.stdout));
        let report = std::fs::read_to_string(out.join("report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        let hash = report["trace_hash"].as_str().unwrap_or_else(|| panic!("{name}: no trace_hash in report.json"));
        hashes.insert(name, hash.to_owned());
    }
    check_pins(&hashes);
}

#[test]
fn the_pin_check_names_every_changed_new_and_missing_scenario() {
    let pins = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, h)| (n.to_string(), h.to_string())).collect();
    let pinned: BTreeMap<_, _> = pins(&[("a", "1111"), ("b", "2222"), ("gone", "3333")]);
    let actual: BTreeMap<_, _> = pins(&[("a", "1111"), ("b", "9999"), ("new", "4444")]);
    assert_eq!(
        compare_pins(&pinned, &actual),
        [
            "b: trace hash 9999, pinned 2222",
            "new: trace hash 4444, not pinned (a new scenario?)",
            "gone: pinned 3333, but no such scenario ran (removed or renamed?)",
        ]
    );
    assert!(compare_pins(&pinned, &pinned).is_empty());
    // The file round-trips, comments and all.
    assert_eq!(parse_pins(&render_pins(&actual)), Ok(actual));
    assert!(parse_pins("a 1\na 2\n").unwrap_err().contains("pinned twice"));
    assert!(parse_pins("a 1 extra\n").unwrap_err().contains("expected `name hash`"));
}

#[test]
fn the_readme_example_is_a_valid_scenario_that_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("```yaml\n").expect("README has a yaml example") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("example.yaml"), &readme[start..end]).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["run", "example.yaml", "--out", "out"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
