//! MODULE as a server without modules answers it (module.c): nothing is
//! loaded, no shared object exists on the simulated node's disk, and
//! `enable-module-command` gates LOAD, LOADEX and UNLOAD as it gates them in
//! Redis 7.0.

use crate::server::Server;
use resp::Value;
use sim::Ctx;

const HELP: &[&str] = &[
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
];

/// A help text as `addReplyHelp` sends it: one status reply per line.
pub(crate) fn help(lines: &[&str]) -> Value {
    common::help_reply(lines)
}

impl Server {
    /// MODULE LIST|LOAD|LOADEX|UNLOAD|HELP, subcommand arity and `enable-module-command` already checked.
    pub(crate) fn module_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"list" => Value::Array(Vec::new()),
            b"help" => help(HELP),
            b"unload" => Value::error("ERR Error unloading module: no such module with that name"),
            _ => {
                let path = String::from_utf8_lossy(&args[2]);
                let line = match loadex_syntax(sub.as_slice(), &args[3..]) {
                    Some(why) => why,
                    None => format!(
                        "Module {path} failed to load: {path}: cannot open shared object file: No such file or directory"
                    ),
                };
                let level = if line.starts_with("Module ") { '#' } else { '*' };
                self.log(ctx, level, &line);
                Value::error("ERR Error loading the extension. Please check the server logs.")
            }
        }
    }
}

/// LOADEX's argument errors, which Redis logs before refusing (`moduleCommand`).
fn loadex_syntax(sub: &[u8], rest: &[Vec<u8>]) -> Option<String> {
    if sub != b"loadex" {
        return None;
    }
    let mut i = 0;
    while i < rest.len() {
        if rest[i].eq_ignore_ascii_case(b"config") {
            if i + 2 >= rest.len() {
                return Some("CONFIG specified without name value pair".to_owned());
            }
            i += 3;
        } else if rest[i].eq_ignore_ascii_case(b"args") {
            return None;
        } else {
            return Some(format!(
                "Syntax Error from arguments to loadex around {}.",
                String::from_utf8_lossy(&rest[i])
            ));
        }
    }
    None
}
