//! Forked children take time, and the parent notices their end at its next
//! serverCron (`checkChildrenDone`). Replies, INFO fields and log lines as a
//! real 7.0.15 gave them here (recorded with a raw RESP client against
//! `redis-server --save "" [--appendonly yes]`): the child's own lines a few
//! ms after the fork, the parent's up to a cron period later; a BGSAVE or
//! a rewrite asked for while another child runs, or inside EXEC, is
//! scheduled and started by the cron.

use crate::config;
use crate::tests::{Lab, info_value, lab};
use crate::tests_repl::Cluster;
use sim::Fault;
use std::time::Duration;

/// A log line as (pid, role, milliseconds of the day, message); `None` for
/// a line of another shape (a signal handler's).
fn parse_line(line: &str) -> Option<(u32, char, u64, String)> {
    let (pid, rest) = line.split_once(':')?;
    let role = rest.chars().next()?;
    let clock = rest.split(' ').nth(4)?;
    let parts: Vec<u64> = clock.split([':', '.']).map(|n| n.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s, ms] = parts[..] else { return None };
    let message = rest.splitn(7, ' ').nth(6)?.to_owned();
    Some((pid.parse().ok()?, role, ((h * 60 + m) * 60 + s) * 1000 + ms, message))
}

fn log(l: &Lab) -> Vec<(u32, char, u64, String)> {
    l.sim.log_lines(l.server).iter().filter_map(|line| parse_line(line)).collect()
}

/// The first line whose message starts with `prefix`.
fn find<'a>(lines: &'a [(u32, char, u64, String)], prefix: &str) -> &'a (u32, char, u64, String) {
    lines.iter().find(|l| l.3.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"))
}

#[test]
fn a_bgsave_child_is_reaped_at_the_next_cron_and_a_rewrite_waits_for_it() {
    let mut l = lab();
    l.cmd("SET a 1");
    assert_eq!(l.cmd("BGSAVE"), "Background saving started");
    assert_eq!(l.cmd("BGSAVE"), "(error) ERR Background save already in progress");
    assert_eq!(l.cmd("BGSAVE SCHEDULE"), "(error) ERR Background save already in progress");
    assert_eq!(l.cmd("SAVE"), "(error) ERR Background save already in progress");
    assert_eq!(l.cmd("BGREWRITEAOF"), "Background append only file rewriting scheduled");
    assert_eq!(l.cmd("BGREWRITEAOF"), "Background append only file rewriting scheduled");
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "rdb_bgsave_in_progress"), "1");
    assert_eq!(info_value(&info, "rdb_current_bgsave_time_sec"), "0");
    assert_eq!(info_value(&info, "aof_rewrite_scheduled"), "1");
    assert_eq!(info_value(&info, "aof_rewrites"), "0");
    assert_eq!(info_value(&info, "rdb_saves"), "1", "counted at the fork");
    l.advance_ms(400);
    let lines = log(&l);
    let fork = find(&lines, "Background saving started by pid");
    let child = find(&lines, "DB saved on disk");
    let reaped = find(&lines, "Background saving terminated with success");
    let rewrite = find(&lines, "Background append only file rewriting started by pid");
    assert_eq!((child.0, child.1), (fork.3.rsplit(' ').next().unwrap().parse().unwrap(), 'C'), "{lines:#?}");
    assert!((3..=30).contains(&(child.2 - fork.2)), "the child works a few ms: {lines:#?}");
    assert!(reaped.2 >= child.2 && reaped.2 - child.2 < 100, "reaped at the next cron: {lines:#?}");
    // The cron after (a tick fires up to 1 ms late: real 7.0.15 took 102 ms here).
    assert!(
        (100..=102).contains(&(rewrite.2 - reaped.2)),
        "the scheduled rewrite starts at the cron after: {lines:#?}"
    );
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_value(&info, "aof_rewrite_scheduled"), "0");
    assert_eq!(info_value(&info, "aof_rewrites"), "1");
    assert_eq!(info_value(&info, "rdb_last_bgsave_time_sec"), "0");
}

#[test]
fn a_rewrite_child_refuses_bgsave_and_runs_the_scheduled_one_when_done() {
    let mut l = Lab::new(config::parse("appendonly yes\n", 6379).unwrap());
    l.cmd("SET a 1");
    assert_eq!(l.cmd("BGREWRITEAOF"), "Background append only file rewriting started");
    assert_eq!(l.cmd("BGREWRITEAOF"), "(error) ERR Background append only file rewriting already in progress");
    assert_eq!(
        l.cmd("BGSAVE"),
        "(error) ERR Another child process is active (AOF?): can't BGSAVE right now. \
         Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
    );
    assert_eq!(l.cmd("BGSAVE SCHEDULE"), "Background saving scheduled");
    assert_eq!(l.cmd("BGSAVE SCHEDULE"), "Background saving scheduled");
    assert_eq!(l.cmd("SAVE"), "OK", "SAVE runs beside an AOF rewrite");
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "aof_rewrite_in_progress"), "1");
    assert_eq!(info_value(&info, "aof_current_rewrite_time_sec"), "0");
    assert_eq!(info_value(&info, "aof_last_rewrite_time_sec"), "-1");
    assert_eq!(info_value(&info, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_value(&info, "aof_rewrites"), "1");
    l.advance_ms(400);
    let lines = log(&l);
    let from = lines.iter().position(|l| l.3.starts_with("Creating AOF incr file appendonly.aof.2")).unwrap();
    let messages: Vec<&str> = lines[from..].iter().map(|l| l.3.as_str()).collect();
    let pid = lines[from + 1].3.rsplit(' ').next().unwrap().to_owned();
    let temp = format!("temp-rewriteaof-bg-{pid}.aof");
    let want = [
        "Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite".to_owned(),
        format!("Background append only file rewriting started by pid {pid}"),
        "DB saved on disk".to_owned(),
        format!("Successfully created the temporary AOF base file {temp}"),
        "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB".to_owned(),
        "Background AOF rewrite terminated with success".to_owned(),
        format!("Successfully renamed the temporary AOF base file {temp} into appendonly.aof.2.base.rdb"),
        "Removing the history file appendonly.aof.1.incr.aof in the background".to_owned(),
        "Removing the history file appendonly.aof.1.base.rdb in the background".to_owned(),
        "Background AOF rewrite finished successfully".to_owned(),
    ];
    assert_eq!(&messages[..want.len()], &want, "{lines:#?}");
    let finished = find(&lines, "Background AOF rewrite finished successfully");
    let bgsave = find(&lines, "Background saving started by pid");
    assert_eq!(bgsave.2, finished.2, "the scheduled BGSAVE forks in the same cron: {lines:#?}");
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "aof_rewrite_in_progress"), "0");
    assert_eq!(info_value(&info, "aof_last_rewrite_time_sec"), "0");
    assert_eq!(info_value(&info, "aof_current_rewrite_time_sec"), "-1");
}

#[test]
fn bgsave_and_bgrewriteaof_inside_exec_are_scheduled() {
    let mut l = lab();
    for cmd in ["MULTI", "BGSAVE", "BGREWRITEAOF", "BGSAVE"] {
        l.cmd(cmd);
    }
    assert_eq!(
        l.cmd("EXEC"),
        "1) Background saving scheduled\n2) Background append only file rewriting scheduled\n3) Background saving scheduled"
    );
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "aof_rewrite_scheduled"), "1");
    assert_eq!(info_value(&info, "aof_rewrites"), "0");
    assert_eq!(info_value(&info, "rdb_bgsave_in_progress"), "0");
    l.advance_ms(500);
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "aof_rewrite_scheduled"), "0");
    assert_eq!(info_value(&info, "aof_rewrites"), "1");
    assert_eq!(info_value(&info, "rdb_saves"), "1");
    let lines = log(&l);
    let rewrite = find(&lines, "Background append only file rewriting started by pid");
    let bgsave = find(&lines, "Background saving started by pid");
    assert!(bgsave.2 > rewrite.2, "the rewrite first, then the BGSAVE once it is reaped: {lines:#?}");
}

#[test]
fn flushall_kills_a_bgsave_child_still_at_work() {
    // Default save points: FLUSHALL saves the empty dataset in the foreground.
    let mut l = lab();
    l.cmd("SET a 1");
    assert_eq!(l.cmd("BGSAVE"), "Background saving started");
    assert_eq!(l.cmd("FLUSHALL"), "OK");
    assert_eq!(info_value(&l.cmd("INFO persistence"), "rdb_changes_since_last_save"), "0");
    l.advance_ms(300);
    let lines = log(&l);
    let saved: Vec<_> = lines.iter().filter(|l| l.3 == "DB saved on disk").collect();
    assert_eq!(saved.len(), 1, "only FLUSHALL's own save: {lines:#?}");
    assert_ne!(saved[0].1, 'C');
    find(&lines, "Background saving terminated by signal 10");
    let raw = l.sim.log_lines(l.server);
    assert!(
        raw.iter().any(|l| l.contains(":signal-handler (") && l.ends_with(") Received SIGUSR1 in child, exiting now."))
    );
    let info = l.cmd("INFO persistence");
    assert_eq!(info_value(&info, "rdb_last_bgsave_status"), "ok", "SIGUSR1 is not an error");
    assert_eq!(info_value(&info, "rdb_bgsave_in_progress"), "0");
    assert_eq!(l.cmd("DBSIZE"), "(integer) 0");
}

/// A crash while a rewrite's child works loses nothing: the manifest names
/// the incr file opened at the fork beside the old files, and a restart
/// replays both.
#[test]
fn a_kill_during_a_rewrite_replays_both_incr_files() {
    let mut c = Cluster::new(1);
    let node = c.server(6379, "appendonly yes");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set a 1");
    assert_eq!(c.cli(6379, "bgrewriteaof"), "Background append only file rewriting started");
    c.cli(6379, "set b 2");
    let manifest =
        String::from_utf8_lossy(c.sim.disk(node).read("appendonlydir/appendonly.aof.manifest").unwrap()).into_owned();
    assert_eq!(
        manifest,
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n\
         file appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    c.sim.apply(Fault::Kill(node)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    c.sim.apply(Fault::Start(node)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6379, "mget a b"), "1) \"1\"\n2) \"2\"");
    let log = c.log(6379);
    for file in ["appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"] {
        let line = format!("DB loaded from incr file {file}: 0.000 seconds");
        assert!(log.contains(&line), "{line} in {log:#?}");
    }
    assert!(log.iter().any(|l| l == "Opening AOF incr file appendonly.aof.2.incr.aof on server start"), "{log:#?}");
}

/// SHUTDOWN while the AOF's first rewrite runs (`AOF_WAIT_REWRITE`): the
/// AOF holds no dataset yet, so 7.0.15 refuses to exit unless FORCE, and
/// with FORCE kills the child and exits (lines as the real server logged them).
#[test]
fn shutdown_refuses_while_the_initial_aof_is_written_unless_forced() {
    fn messages(lines: &[String]) -> Vec<&str> {
        let from = lines.iter().rposition(|l| l.ends_with("# User requested shutdown...")).expect("a shutdown");
        lines[from..].iter().map(|l| l.splitn(6, ' ').nth(5).unwrap()).collect()
    }
    let mut l = lab();
    l.cmd("SET a 1");
    assert_eq!(l.cmd("CONFIG SET appendonly yes"), "OK");
    assert_eq!(l.cmd("SHUTDOWN"), "(error) ERR Errors trying to SHUTDOWN. Check logs.");
    assert_eq!(l.sim.proc_state(l.server), sim::ProcState::Running);
    assert_eq!(
        messages(l.sim.log_lines(l.server)),
        [
            "# User requested shutdown...",
            "# Writing initial AOF, can't exit.",
            "# Errors trying to shut down the server. Check the logs for more information."
        ]
    );
    assert_eq!(l.cmd("SET b 2"), "OK", "writes go on after the refusal");
    assert!(l.raw(b"SHUTDOWN FORCE\r\n").is_empty(), "FORCE exits without replying");
    assert_eq!(l.sim.proc_state(l.server), sim::ProcState::Down);
    let after = messages(l.sim.log_lines(l.server));
    assert_eq!(
        after[..3],
        [
            "# User requested shutdown...",
            "# Writing initial AOF. Exit anyway.",
            "# There is a child rewriting the AOF. Killing it!"
        ]
    );
    assert!(after[3].starts_with("* Killing running AOF rewrite child: "), "{after:#?}");
    assert_eq!(after.last(), Some(&"# Redis is now ready to exit, bye bye..."));
}

/// The parent reaps its child at its next serverCron, so at `hz 100` within
/// about 10 ms of the child's end rather than 100 (real 7.0.15 at hz 100:
/// 0 to 12 ms over eight BGSAVEs); INFO says the rate.
#[test]
fn a_faster_hz_reaps_children_sooner() {
    let mut l = Lab::new(config::parse("hz 100\nsave \"\"\n", 6379).unwrap());
    let info = l.cmd("INFO server");
    assert_eq!((info_value(&info, "hz"), info_value(&info, "configured_hz")), ("100".into(), "100".into()));
    for _ in 0..8 {
        assert_eq!(l.cmd("BGSAVE"), "Background saving started");
        l.advance_ms(50);
    }
    let lines = log(&l);
    let child: Vec<u64> = lines.iter().filter(|l| l.3 == "DB saved on disk").map(|l| l.2).collect();
    let reaped: Vec<u64> =
        lines.iter().filter(|l| l.3 == "Background saving terminated with success").map(|l| l.2).collect();
    assert_eq!((child.len(), reaped.len()), (8, 8), "{lines:#?}");
    for (c, r) in child.iter().zip(&reaped) {
        assert!(*r >= *c && r - c <= 11, "reaped {} ms after the child's end: {lines:#?}", r - c);
    }
    assert_eq!(l.cmd("CONFIG SET hz 1000"), "OK");
    l.advance_ms(20);
    assert_eq!(info_value(&l.cmd("INFO server"), "hz"), "500");
}
