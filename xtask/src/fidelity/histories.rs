//! `cargo xtask real-history`: the history checkers on histories recorded on
//! real Redis by real clients. `examples/real-history/record.py` runs
//! redis-py clients against a real master and replica (list appends and
//! registers, on threads) and writes what they saw as history.jsonl; this
//! judges each history as `chaoslab history check` does (the same
//! `check::check_all`), and its Jepsen EDN export the same way, and holds the
//! verdicts to what the run is known to have done:
//!
//! - **clean**: no fault, every write reached the replica: every checker
//!   valid;
//! - **detach-replica**: halfway through, the replica is made a master
//!   (REPLICAOF NO ONE) while the clients go on writing to the old one, and
//!   the final reads go to the new one: exactly the writes acknowledged after
//!   the detach are lost (acked-write-loss counts each), and the registers'
//!   final reads contradict acknowledged writes (not linearizable).
//!
//! The real side is this module's [`Real`]: processes on 127.0.0.1 on their
//! own ports and temporary directories, stopped by PID; every wait bounded.

use super::Options;
use super::real::{Real, run_bounded};
use super::target::{Target, info_field, wait_until};
use check::{CheckResult, History, Verdict};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The recorder, relative to the workspace root.
const RECORDER: &str = "examples/real-history/record.py";
/// The longest one recording may take (it takes well under a second).
const RECORD_LIMIT: Duration = Duration::from_secs(60);
/// The longest a replica may take to finish its first sync.
const SYNC_LIMIT: Duration = Duration::from_secs(20);

/// One recorded run: its name, the recorder's fault, the master's port.
struct Run {
    name: &'static str,
    fault: &'static str,
    port: u16,
}

const RUNS: [Run; 2] = [
    Run { name: "clean", fault: "none", port: 7851 },
    Run { name: "detach-replica", fault: "detach-replica", port: 7853 },
];

/// Records and judges both runs; an error names the first expectation missed.
pub fn run(opts: &Options, python: &Path) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    run_bounded(python, &["-c".into(), "import redis".into()], Duration::from_secs(30))
        .map_err(|e| format!("redis-py is needed to record real histories (pip install redis): {e}"))?;
    for run in &RUNS {
        let history = record(opts, python, &root.join(RECORDER), run)?;
        let results = judge(&history).map_err(|e| format!("{}: {e}", run.name))?;
        let exported = check::jepsen::import(&check::jepsen::export(&history))
            .map_err(|e| format!("{}: the EDN export does not read back: {e}", run.name))?;
        if judge(&exported).map_err(|e| format!("{}: EDN: {e}", run.name))? != results {
            return Err(format!("{}: its EDN export is judged differently from its JSON lines", run.name));
        }
        let summary = expect(run, &history, &results).map_err(|e| format!("{}: {e}", run.name))?;
        println!("real-history {}: {summary}", run.name);
    }
    Ok(())
}

/// A master on `run.port` and its replica on the next port, in sync; then
/// the recorder against them; its history.
fn record(opts: &Options, python: &Path, recorder: &Path, run: &Run) -> Result<History, String> {
    let mut real = Real::new(opts);
    let conf = "save \"\"\nappendonly no\nrepl-diskless-sync-delay 0\n";
    let (master, replica) = (run.port, run.port + 1);
    real.start(master, conf)?;
    real.start(replica, &format!("{conf}replicaof 127.0.0.1 {master}\n"))?;
    let synced = wait_until(&mut real, Duration::from_millis(50), SYNC_LIMIT, |t| {
        Ok(info_field(t, replica, "replication", "master_link_status")? == "up")
    })?;
    if !synced {
        return Err(format!("{}: the replica on {replica} did not sync within {SYNC_LIMIT:?}", run.name));
    }
    let out = super::real::temp_dir(&format!("history-{}", run.name))?.join("history.jsonl");
    let argv = [
        recorder.display().to_string(),
        "--master".into(),
        format!("127.0.0.1:{master}"),
        "--replica".into(),
        format!("127.0.0.1:{replica}"),
        "--fault".into(),
        run.fault.into(),
        // A stall of the machine is no lost write: no timeout a CI runner could reach.
        "--socket-timeout".into(),
        "10".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    run_bounded(python, &argv, RECORD_LIMIT).map_err(|e| format!("{}: {e}", run.name))?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {}: {e}", run.name, out.display()))?;
    remove_dir(&out);
    check::jsonl::read(&text).map_err(|e| format!("{}: {}: {e}", run.name, out.display()))
}

fn remove_dir(file: &Path) {
    if let Some(dir) = file.parent().map(PathBuf::from) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Every checker's result, as `chaoslab history check` gives them.
fn judge(history: &History) -> Result<Vec<CheckResult>, String> {
    check::check_all(history, check::Options::default()).map_err(|e| e.to_string())
}

/// The result of checker `name`.
fn result<'a>(results: &'a [CheckResult], name: &str) -> Result<&'a CheckResult, String> {
    results.iter().find(|r| r.checker == name).ok_or_else(|| format!("no {name} result"))
}

fn count(r: &CheckResult, what: &str) -> u64 {
    r.counts.get(what).copied().unwrap_or(0)
}

/// Holds `results` to what `run` did; a line saying what was found.
fn expect(run: &Run, history: &History, results: &[CheckResult]) -> Result<String, String> {
    let ops = history.ops().map_err(|e| e.to_string())?;
    let verdicts = results.iter().map(|r| format!("{} {}", r.checker, r.verdict.name())).collect::<Vec<_>>();
    let loss = result(results, "acked-write-loss")?;
    let summary = format!("{} ops, {} acked writes; {}", ops.len(), count(loss, "acked"), verdicts.join(", "));
    if ops.iter().any(|o| o.outcome != check::Outcome::Ok) {
        return Err(format!("an operation did not succeed on a healthy local server: {summary}"));
    }
    match (run.fault, history.faults.as_slice()) {
        ("none", []) => {
            if let Some(bad) = results.iter().find(|r| r.verdict != Verdict::Valid) {
                return Err(format!("{} is {} on a run without faults: {summary}", bad.checker, bad.verdict.name()));
            }
        }
        ("detach-replica", [detach]) => {
            // Every write acknowledged after the detach went to the old master only.
            let after = ops.iter().filter(|o| !o.f.is_read() && o.invoke > detach.start).count() as u64;
            if loss.verdict != Verdict::Invalid || count(loss, "lost") != after {
                return Err(format!(
                    "{after} writes were acknowledged after the detach, acked-write-loss says {} lost={}",
                    loss.verdict.name(),
                    count(loss, "lost")
                ));
            }
            let linear = result(results, "linearizable-registers")?;
            if linear.verdict != Verdict::Invalid {
                return Err(format!("the registers' final reads contradict acked writes, yet {summary}"));
            }
            return Ok(format!("{summary}; {after} writes acked after the detach, all found lost"));
        }
        (fault, faults) => return Err(format!("the recorder, asked for fault {fault}, wrote {} faults", faults.len())),
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::{Run, expect, judge};

    const DETACH: Run = Run { name: "detach-replica", fault: "detach-replica", port: 0 };
    const CLEAN: Run = Run { name: "clean", fault: "none", port: 0 };

    /// An append and a register write, the detach, one more of each, then
    /// the final reads: the list as `list`, the register as `register`.
    fn history(list: &str, register: u64) -> check::History {
        let text = format!(
            r#"{{"type":"invoke","process":0,"f":"append","key":"l0","value":1,"time":10}}
{{"type":"ok","process":0,"f":"append","key":"l0","value":1,"time":20}}
{{"type":"invoke","process":0,"f":"write","key":"r0","value":5,"time":30}}
{{"type":"ok","process":0,"f":"write","key":"r0","value":5,"time":40}}
{{"type":"fault","name":"replica detached","start":50}}
{{"type":"invoke","process":0,"f":"append","key":"l0","value":2,"time":60}}
{{"type":"ok","process":0,"f":"append","key":"l0","value":2,"time":70}}
{{"type":"invoke","process":0,"f":"write","key":"r0","value":6,"time":80}}
{{"type":"ok","process":0,"f":"write","key":"r0","value":6,"time":90}}
{{"type":"invoke","process":1,"f":"read-list","key":"l0","value":null,"time":100}}
{{"type":"ok","process":1,"f":"read-list","key":"l0","value":{list},"time":110}}
{{"type":"invoke","process":1,"f":"read","key":"r0","value":null,"time":120}}
{{"type":"ok","process":1,"f":"read","key":"r0","value":{register},"time":130}}
"#
        );
        check::jsonl::read(&text).expect("a well-formed history")
    }

    /// The detach run passes only when every write acknowledged after the
    /// detach, and nothing else, is lost; a history with a fault is no
    /// clean run.
    #[test]
    fn a_detach_run_must_lose_exactly_the_writes_acked_after_the_detach() {
        let lost_both = history("[1]", 5);
        let results = judge(&lost_both).expect("pairs");
        let found = expect(&DETACH, &lost_both, &results).expect("both post-detach writes lost");
        assert!(found.contains("2 writes acked after the detach"), "{found}");

        let kept_append = history("[1,2]", 5);
        let err = expect(&DETACH, &kept_append, &judge(&kept_append).expect("pairs")).unwrap_err();
        assert!(err.contains("2 writes were acknowledged after the detach") && err.contains("lost=1"), "{err}");

        let kept_both = history("[1,2]", 6);
        assert!(expect(&DETACH, &kept_both, &judge(&kept_both).expect("pairs")).is_err());

        let err = expect(&CLEAN, &lost_both, &results).unwrap_err();
        assert!(err.contains("wrote 1 faults"), "{err}");
    }
}
