//! The gates' order and the subcommands the command sweep
//! (`cargo xtask fidelity`, `catalogue/sweep-*`) found answering differently,
//! against a transcript of a real Redis 7.0.15 (redis-cli `--no-raw`, one
//! connection per line): a standalone server, one with `requirepass 123456`
//! (never authenticated) and a replica of the standalone one.
//! - a container's subcommand is checked (unknown, arity) before anything
//!   else, also with cluster support disabled and before AUTH;
//! - DEBUG and MODULE LOAD|LOADEX|UNLOAD are refused by their
//!   `enable-*-command` setting before AUTH;
//! - a refused EXEC answers EXECABORT with the refusal;
//! - a replica refuses a container's write subcommands, not its others;
//! - CONFIG HELP, SCRIPT DEBUG NO, COMMAND GETKEYSANDFLAGS.

use crate::config::Config;
use crate::tests::Lab;
use crate::tests_repl::{Cluster, replica_conf};
use std::time::Duration;

const TRANSCRIPT: &str = include_str!("tests_errpaths_transcript.txt");

/// The transcript's lines for `mode`: `(command, reply)`.
fn lines(mode: &str) -> Vec<(&'static str, String)> {
    let prefix = format!("{mode}> ");
    TRANSCRIPT
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .map(|l| {
            let (cmd, want) = l.split_once(" => ").expect("command => reply");
            (cmd, want.replace("\\n", "\n"))
        })
        .collect()
}

fn normalise(s: &str) -> String {
    s.lines().map(str::trim_start).collect::<Vec<_>>().join("\n")
}

fn check(mode: &str, mut cmd: impl FnMut(&str) -> String) {
    let lines = lines(mode);
    assert!(!lines.is_empty(), "no {mode} lines");
    for (line, want) in lines {
        assert_eq!(normalise(&cmd(line)), normalise(&want), "{mode}> {line}");
    }
}

#[test]
fn a_standalone_server_answers_as_the_transcript() {
    let mut l = crate::tests::lab();
    check("standalone", |line| l.cmd(line));
}

#[test]
fn before_auth_subcommands_and_protected_commands_are_checked_first() {
    let mut l = Lab::new(Config { requirepass: Some("123456".into()), ..Config::defaults(6379) });
    check("requirepass", |line| l.cmd(line));
}

#[test]
fn a_replica_refuses_only_the_write_subcommands() {
    let mut c = Cluster::new(1);
    c.server(6379, "repl-diskless-sync-delay 0\n");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(2));
    check("replica", |line| c.cli(6380, line));
}

#[test]
fn an_exec_refused_in_multi_discards_the_transaction() {
    let mut l = crate::tests::lab();
    assert_eq!(l.cmd("MULTI"), "OK");
    assert_eq!(l.cmd("SET k v"), "QUEUED");
    assert_eq!(
        l.cmd("EXEC x"),
        "(error) EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    );
    assert_eq!(l.cmd("EXEC"), "(error) ERR EXEC without MULTI");
    assert_eq!(l.cmd("GET k"), "(nil)");
}

#[test]
fn a_refused_exec_drops_the_watches_outside_multi_too() {
    // Measured on 7.0.15: the EXEC after the refused one runs although `wk` changed.
    let mut l = crate::tests::lab();
    assert_eq!(l.cmd("WATCH wk"), "OK");
    assert!(l.cmd("EXEC x").starts_with("(error) EXECABORT"));
    assert_eq!(l.cmd("SET wk 2"), "OK");
    assert_eq!(l.cmd("MULTI"), "OK");
    assert_eq!(l.cmd("EXEC"), "(empty array)");
    assert_eq!(l.cmd("WATCH wk"), "OK");
    assert_eq!(l.cmd("SET wk 3"), "OK");
    assert_eq!(l.cmd("MULTI"), "OK");
    assert_eq!(l.cmd("EXEC"), "(nil)");
}
