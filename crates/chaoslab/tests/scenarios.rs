//! Every shipped scenario under `scenarios/` passes, and running it twice gives
//! the same trace hash; it also passes under other seeds than its own.

use std::path::{Path, PathBuf};
use std::process::Command;

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

#[test]
fn shipped_scenarios_pass_and_replay_identically() {
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
    }
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
