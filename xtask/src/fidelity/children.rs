//! Forked children (`catalogue/children`): BGSAVE and BGREWRITEAOF while a
//! child runs, what is scheduled and when it starts, and the log lines of
//! the parent and its children. A child works for milliseconds and its
//! parent reaps it at a later serverCron, so the replies in between say
//! "in progress", "scheduled" or "Another child process is active"; the
//! one-connection catalogue cannot wait for a child, this group polls INFO.

use super::observe::{Expect, Mask, Obs};
use super::target::{Conn, Target, args, info_field, wait_until};
use std::time::Duration;

const PORT: u16 = 7731;

/// One command on `conn`, its reply observed.
fn call(t: &mut dyn Target, conn: Conn, line: &str) -> Result<Obs, String> {
    Ok(Obs::reply(line.to_owned(), &t.call(conn, &args(line))?, Expect::Same, Mask::None))
}

/// INFO persistence's `field`, as an observation named after `when`.
fn field(t: &mut dyn Target, field: &str, when: &str) -> Result<Obs, String> {
    let value = info_field(t, PORT, "persistence", field)?;
    Ok(Obs::fact(format!("{field} {when}"), value, Expect::Same))
}

/// Waits (polling every 2 ms, at most 2 s) until INFO persistence's `field` is `value`.
fn wait_for(t: &mut dyn Target, field: &str, value: &str) -> Result<Obs, String> {
    let every = Duration::from_millis(2);
    let seen =
        wait_until(t, every, Duration::from_secs(2), |t| Ok(info_field(t, PORT, "persistence", field)? == value))?;
    Ok(Obs::fact(format!("{field} becomes {value}"), seen.to_string(), Expect::Same))
}

/// The persistence lines of the log (the parent's and its children's
/// messages), pids replaced by `<pid>`, `Fork CoW` lines without their
/// figures: two facts, the parent's `Background ...` milestones in order,
/// and every line counted (sorted). A child's own lines and a SAVE the
/// parent runs meanwhile interleave as the child's few milliseconds fall.
fn persistence_log(t: &mut dyn Target) -> Vec<Obs> {
    const WORDS: [&str; 6] = ["Background", "DB saved", "Fork CoW", "temporary AOF", "history file", "AOF incr"];
    let without_pid = |word: &str| {
        let pid = word.trim_start_matches("temp-rewriteaof-bg-").trim_end_matches(".aof");
        if pid.len() >= 3 && pid.bytes().all(|b| b.is_ascii_digit()) {
            word.replace(pid, "<pid>")
        } else {
            word.to_owned()
        }
    };
    let lines: Vec<String> = t
        .log(PORT)
        .iter()
        .filter(|l| WORDS.iter().any(|w| l.contains(w)))
        // The copy-on-write figures vary with the real machine's memory.
        .map(|l| l.split(": current").next().unwrap_or(l))
        .map(|l| l.split(' ').map(without_pid).collect::<Vec<_>>().join(" "))
        .collect();
    let milestones: Vec<&str> = lines.iter().filter(|l| l.starts_with("Background")).map(String::as_str).collect();
    let mut counted = lines.clone();
    counted.sort();
    vec![
        Obs::fact("the parent's Background lines, in order", milestones.join("\n"), Expect::Same),
        Obs::fact("the log's persistence lines, sorted", counted.join("\n"), Expect::Same),
    ]
}

/// The group: a BGSAVE child, a rewrite scheduled behind it, a BGSAVE
/// scheduled behind the rewrite, then both asked for inside EXEC, then a
/// SHUTDOWN refused while the AOF's first rewrite runs.
pub fn catalogue(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    t.start(PORT, "save \"\"\n")?;
    let c = t.connect(PORT)?;
    let mut out = Vec::new();
    for line in ["SET a 1", "BGSAVE", "BGSAVE", "BGSAVE SCHEDULE", "SAVE", "BGREWRITEAOF", "BGREWRITEAOF"] {
        out.push(call(t, c, line)?);
    }
    out.push(field(t, "rdb_bgsave_in_progress", "during BGSAVE")?);
    out.push(field(t, "aof_rewrite_scheduled", "during BGSAVE")?);
    out.push(wait_for(t, "aof_rewrite_in_progress", "1")?);
    for line in ["BGSAVE", "BGSAVE SCHEDULE", "BGREWRITEAOF", "SAVE"] {
        out.push(call(t, c, line)?);
    }
    out.push(field(t, "rdb_bgsave_in_progress", "during the rewrite")?);
    out.push(wait_for(t, "rdb_saves", "3")?);
    out.push(wait_for(t, "rdb_bgsave_in_progress", "0")?);
    for name in ["aof_rewrites", "aof_rewrite_scheduled"] {
        out.push(field(t, name, "after both")?);
    }
    // Whole seconds of the wall clock: 1 when a second began during the child.
    for name in ["aof_last_rewrite_time_sec", "rdb_last_bgsave_time_sec"] {
        let value = info_field(t, PORT, "persistence", name)?;
        out.push(Obs::fact(
            format!("{name} after both is 0 or 1"),
            (value == "0" || value == "1").to_string(),
            Expect::Same,
        ));
    }
    for line in ["MULTI", "BGSAVE", "BGREWRITEAOF", "BGSAVE", "EXEC"] {
        out.push(call(t, c, line)?);
    }
    out.push(field(t, "aof_rewrite_scheduled", "after EXEC")?);
    out.push(wait_for(t, "rdb_saves", "4")?);
    out.push(wait_for(t, "rdb_bgsave_in_progress", "0")?);
    out.push(field(t, "aof_rewrites", "after EXEC's")?);
    out.extend(persistence_log(t));
    out.extend(shutdown_during_initial_aof(t, c)?);
    Ok(out)
}

/// SHUTDOWN right after `CONFIG SET appendonly yes`: the AOF's first
/// rewrite (`AOF_WAIT_REWRITE`) is still running or not yet reaped, so the
/// server refuses to exit, says why in its log, and goes on serving.
fn shutdown_during_initial_aof(t: &mut dyn Target, c: Conn) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    for line in ["CONFIG SET appendonly yes", "SHUTDOWN", "PING"] {
        out.push(call(t, c, line)?);
    }
    // The shutdown's own lines: the rewrite child's may fall in between.
    let words = ["shutdown", "shut down", "initial AOF"];
    let lines: Vec<String> = t.log(PORT).into_iter().filter(|l| words.iter().any(|w| l.contains(w))).collect();
    out.push(Obs::fact("the log's shutdown lines", lines.join("\n"), Expect::Same));
    Ok(out)
}
