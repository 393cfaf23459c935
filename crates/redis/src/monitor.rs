//! MONITOR (`monitorCommand`, `replicationFeedMonitors`): after each command
//! a client ran, every monitoring client gets a status line
//! `<unix seconds>.<µs> [<db> <ip:port>] "arg" "arg" ...` stamped with the
//! node's wall clock. Administrative commands and those flagged
//! `skip_monitor` are not shown, nor are commands refused before they ran;
//! AUTH's and HELLO AUTH's credentials show as `(redacted)`.

use crate::command_table::Command;
use crate::server::{Client, Server};
use resp::Value;
use sim::{ConnId, Ctx};
use std::net::SocketAddrV4;

impl Server {
    /// MONITOR: this connection receives every command from now on.
    pub(crate) fn monitor_command(&mut self, client: &Client, conn: ConnId) -> Option<Value> {
        if client.multi.is_some() {
            return Some(Value::error("ERR MONITOR isn't allowed for DENY BLOCKING client"));
        }
        // A replica, or a client already monitoring, is ignored without a reply.
        if client.replica.is_some() || self.monitors.contains(&conn) {
            return None;
        }
        self.monitors.push(conn);
        Some(Value::ok())
    }

    /// Shows a command that just ran to the monitors, unless the table says not to.
    pub(crate) fn feed_monitors(
        &mut self,
        ctx: &mut Ctx<'_>,
        (db, peer): (usize, SocketAddrV4),
        command: &Command,
        args: &[Vec<u8>],
    ) {
        // A container's subcommand has its own flags (CONFIG GET is admin, CONFIG itself is not).
        let sub = args.get(1).and_then(|a| {
            command
                .doc
                .subcommands
                .iter()
                .find(|d| d.name.split_once('|').is_some_and(|(_, s)| a.eq_ignore_ascii_case(s.as_bytes())))
        });
        if sub.unwrap_or(command.doc).flags.iter().any(|f| *f == "admin" || *f == "skip_monitor") {
            return;
        }
        let micros = (ctx.now().as_nanos() / 1000 % 1000) as i64;
        let at = ctx.wall_clock_ms() * 1000 + micros;
        let mut line = format!("+{}.{:06} [{db} {peer}]", at / 1_000_000, at % 1_000_000);
        for (i, a) in args.iter().enumerate() {
            line.push(' ');
            if redacted(command.name, args, i) {
                line.push_str("\"(redacted)\"");
            } else {
                line.push_str(&resp::quote(a));
            }
        }
        line.push_str("\r\n");
        for conn in self.monitors.clone() {
            self.outputs.write(ctx, conn, line.as_bytes());
        }
    }
}

/// Whether argument `i` is a credential (`redactClientCommandArgument`).
fn redacted(name: &str, args: &[Vec<u8>], i: usize) -> bool {
    match name {
        "auth" => i >= 1,
        "hello" => {
            args[..i].iter().rposition(|a| a.eq_ignore_ascii_case(b"auth")).is_some_and(|at| at >= 2 && i <= at + 2)
        }
        _ => false,
    }
}
