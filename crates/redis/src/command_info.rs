//! The COMMAND command (server.c `commandCommand` and its subcommands), its
//! replies built from [`crate::command_table`]: COUNT is the table's size,
//! INFO and LIST walk the table and the Redis 7.0.15 docs each entry carries,
//! GETKEYS finds keys with the entry's key specs.

use crate::command_table::{self, Begin, Command, Doc, Find};
use resp::Value;

/// COMMAND [subcommand ...]; the subcommand's arity is checked here, from
/// the table's docs, as processCommand checks a subcommand's.
pub(crate) fn command(args: &[Vec<u8>]) -> Value {
    let Some(sub) = args.get(1) else {
        return Value::Array(command_table::all().iter().map(|c| info(c.doc)).collect());
    };
    let sub_name = String::from_utf8_lossy(sub).to_ascii_lowercase();
    let own = &command_table::lookup("command").expect("COMMAND is in the table").doc;
    let Some(doc) = own.subcommands.iter().find(|d| d.name.strip_prefix("command|") == Some(sub_name.as_str())) else {
        return Value::error(format!("ERR unknown subcommand '{}'. Try COMMAND HELP.", String::from_utf8_lossy(sub)));
    };
    if !arity_ok(doc.arity, args.len()) {
        return Value::error(format!("ERR wrong number of arguments for '{}' command", doc.name));
    }
    match sub_name.as_str() {
        "count" => Value::Integer(command_table::all().len() as i64),
        "info" if args.len() == 2 => command(&args[..1]),
        "info" => Value::Array(args[2..].iter().map(|n| find_doc(n).map_or(Value::Nil, info)).collect()),
        "list" => list(&args[2..]),
        "docs" if args.len() == 2 => {
            Value::Map(command_table::all().iter().map(|c| (bulk(c.name), docs(c.doc))).collect())
        }
        "docs" => {
            Value::Map(args[2..].iter().filter_map(|n| find_doc(n)).map(|d| (bulk(d.name), sub_docs(d))).collect())
        }
        "getkeys" => getkeys(&args[2..], false),
        "getkeysandflags" => getkeys(&args[2..], true),
        "help" => common::help_reply(common::client::COMMAND_HELP),
        _ => unreachable!("redis: COMMAND {sub_name} is in the docs but not here"),
    }
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = argc as i32;
    !((arity > 0 && argc != arity) || argc < -arity)
}

/// `lookupCommandBySds`: `name` or `container|sub`, case-insensitively.
fn find_doc(name: &[u8]) -> Option<&'static Doc> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let (top, sub) = match name.split_once('|') {
        Some((top, sub)) => (top, Some(sub)),
        None => (name.as_str(), None),
    };
    let doc = command_table::lookup(top)?.doc;
    match sub {
        None => Some(doc),
        Some(sub) => doc.subcommands.iter().find(|d| d.name.split_once('|').map(|(_, s)| s) == Some(sub)),
    }
}

fn set(items: &[&'static str], to: fn(&'static str) -> Value) -> Value {
    Value::Set(items.iter().map(|s| to(s)).collect())
}

fn bulk(s: &str) -> Value {
    Value::bulk(s)
}

/// A command's COMMAND DOCS map, decoded from the measured RESP3.
fn docs(doc: &Doc) -> Value {
    let mut decoder = resp::ReplyDecoder::default();
    decoder.feed(doc.docs);
    match decoder.next_value() {
        resp::Decoded::Value(v) => v,
        other => unreachable!("redis: the measured docs of {} do not decode: {other:?}", doc.name),
    }
}

/// The docs of `doc`, a command or a subcommand (found in its container's docs).
fn sub_docs(doc: &Doc) -> Value {
    let Some((top, _)) = doc.name.split_once('|') else { return docs(doc) };
    let container = command_table::lookup(top).expect("a subcommand's container is in the table");
    let Value::Map(fields) = docs(container.doc) else { return Value::Map(Vec::new()) };
    let subs = fields.into_iter().find(|(k, _)| *k == bulk("subcommands")).map(|(_, v)| v);
    let Some(Value::Map(subs)) = subs else { return Value::Map(Vec::new()) };
    subs.into_iter().find(|(k, _)| *k == bulk(doc.name)).map_or(Value::Map(Vec::new()), |(_, v)| v)
}

/// One command's COMMAND INFO entry (`addReplyCommandInfo`).
fn info(doc: &Doc) -> Value {
    let (first, last, step) = doc.range;
    Value::Array(vec![
        bulk(doc.name),
        Value::Integer(doc.arity.into()),
        set(doc.flags, |s| Value::Simple(s.into())),
        Value::Integer(first.into()),
        Value::Integer(last.into()),
        Value::Integer(step.into()),
        set(doc.acl, |s| Value::Simple(s.into())),
        set(doc.tips, |s| Value::Bulk(s.as_bytes().to_vec())),
        Value::Set(doc.specs.iter().map(key_spec).collect()),
        Value::Set(doc.subcommands.iter().map(info).collect()),
    ])
}

fn key_spec(spec: &command_table::KeySpec) -> Value {
    let mut pairs = Vec::with_capacity(4);
    if let Some(notes) = spec.notes {
        pairs.push((bulk("notes"), bulk(notes)));
    }
    pairs.push((bulk("flags"), set(spec.flags, |s| Value::Simple(s.into()))));
    let begin = match spec.begin {
        Begin::Index(i) => typed("index", vec![("index", Value::Integer(i.into()))]),
        Begin::Keyword(k, from) => {
            typed("keyword", vec![("keyword", bulk(k)), ("startfrom", Value::Integer(from.into()))])
        }
        Begin::Unknown => typed("unknown", Vec::new()),
    };
    let find = match spec.find {
        Find::Range { lastkey, step, limit } => typed(
            "range",
            vec![
                ("lastkey", Value::Integer(lastkey.into())),
                ("keystep", Value::Integer(step.into())),
                ("limit", Value::Integer(limit.into())),
            ],
        ),
        Find::Keynum { index, first, step } => typed(
            "keynum",
            vec![
                ("keynumidx", Value::Integer(index.into())),
                ("firstkey", Value::Integer(first.into())),
                ("keystep", Value::Integer(step.into())),
            ],
        ),
        Find::Unknown => typed("unknown", Vec::new()),
    };
    pairs.push((bulk("begin_search"), begin));
    pairs.push((bulk("find_keys"), find));
    Value::Map(pairs)
}

/// `{type: <kind>, spec: {...}}`.
fn typed(kind: &str, spec: Vec<(&str, Value)>) -> Value {
    let spec = Value::Map(spec.into_iter().map(|(k, v)| (bulk(k), v)).collect());
    Value::Map(vec![(bulk("type"), bulk(kind)), (bulk("spec"), spec)])
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]:
/// every command and subcommand, each container followed by its subcommands.
fn list(args: &[Vec<u8>]) -> Value {
    let filter: Box<dyn Fn(&Doc) -> bool> = match args {
        [] => Box::new(|_| true),
        [by, kind, arg] if by.eq_ignore_ascii_case(b"filterby") => {
            let arg = arg.to_ascii_lowercase();
            match kind.to_ascii_lowercase().as_slice() {
                // No modules are loaded.
                b"module" => Box::new(|_| false),
                b"aclcat" => Box::new(move |d| d.acl.iter().any(|c| c.as_bytes()[1..] == arg[..])),
                b"pattern" => Box::new(move |d| common::glob::glob_match(&arg, d.name.as_bytes())),
                _ => return Value::error("ERR syntax error"),
            }
        }
        _ => return Value::error("ERR syntax error"),
    };
    let mut out = Vec::new();
    for c in command_table::all() {
        for doc in std::iter::once(c.doc).chain(c.doc.subcommands) {
            if filter(doc) {
                out.push(bulk(doc.name));
            }
        }
    }
    Value::Array(out)
}

/// COMMAND GETKEYS and GETKEYSANDFLAGS <command> [args...]
/// (`getKeysSubcommandImpl`): the keys, with their flags when asked.
fn getkeys(cmd: &[Vec<u8>], with_flags: bool) -> Value {
    let Some((command, doc)) = lookup_full(cmd) else {
        return Value::error("ERR Invalid command specified");
    };
    if doc.specs.is_empty() {
        return Value::error("ERR The command has no key arguments");
    }
    if !arity_ok(doc.arity, cmd.len()) {
        return Value::error("ERR Invalid number of arguments specified for command");
    }
    let keys = keys_with_flags(command, doc, cmd);
    if keys.is_empty() {
        if doc.flags.contains(&"no_mandatory_keys") {
            return Value::Array(Vec::new());
        }
        return Value::error("ERR Invalid arguments specified for command");
    }
    let key = |i: usize| Value::Bulk(cmd[i].clone());
    let flags = |f: Vec<&str>| Value::Set(f.into_iter().map(|f| Value::Simple(f.to_owned().into())).collect());
    Value::Array(
        keys.into_iter().map(|(i, f)| if with_flags { Value::Array(vec![key(i), flags(f)]) } else { key(i) }).collect(),
    )
}

/// `getKeysFromCommandWithSpecs`: the key specs when they are complete and
/// their flags fixed, else the command's own finder, whose flags are those of
/// the spec it stands for (the first key the first spec's, later ones the
/// last spec's), or, for SET and BITFIELD, what their arguments make them.
pub(crate) fn keys_with_flags(command: &Command, doc: &Doc, cmd: &[Vec<u8>]) -> Vec<(usize, Vec<&'static str>)> {
    let variable = doc.specs.iter().any(|s| s.flags.contains(&"variable_flags"));
    if !variable && let Some(keys) = spec_keys(doc, cmd) {
        return keys.into_iter().map(|(i, f)| (i, f.to_vec())).collect();
    }
    let last = doc.specs.len() - 1;
    own_keys(command, cmd)
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let flags = match doc.name {
                "set" => set_flags(cmd),
                "bitfield" => bitfield_flags(cmd),
                _ => doc.specs[if n == 0 { 0 } else { last }]
                    .flags
                    .iter()
                    .copied()
                    .filter(|f| *f != "incomplete")
                    .collect(),
            };
            (i, flags)
        })
        .collect()
}

/// SET's key: read too when GET is given (`setGetKeys`).
fn set_flags(cmd: &[Vec<u8>]) -> Vec<&'static str> {
    if cmd.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) {
        vec!["RW", "access", "update"]
    } else {
        vec!["OW", "update"]
    }
}

/// BITFIELD's key: read-only while every operation is a complete GET or
/// OVERFLOW (`bitfieldGetKeys`; anything else counts as a write).
fn bitfield_flags(cmd: &[Vec<u8>]) -> Vec<&'static str> {
    let mut i = 2;
    while i < cmd.len() {
        let left = cmd.len() - i - 1;
        let op = &cmd[i];
        if op.eq_ignore_ascii_case(b"get") && left >= 2 {
            i += 3;
        } else if op.eq_ignore_ascii_case(b"overflow") && left >= 1 {
            i += 2;
        } else {
            return vec!["RW", "access", "update"];
        }
    }
    vec!["RO", "access"]
}

/// `lookupCommand`: the command of a full command line, and its docs (a
/// container's subcommand's, when it has subcommands and one is given).
fn lookup_full(cmd: &[Vec<u8>]) -> Option<(&'static Command, &'static Doc)> {
    let mut buf = [0u8; crate::commands::NAME_MAX];
    let command = command_table::lookup(crate::commands::lowercase_name(cmd.first()?, &mut buf))?;
    let doc = command.doc;
    if doc.subcommands.is_empty() || cmd.len() < 2 {
        return Some((command, doc));
    }
    let sub = String::from_utf8_lossy(&cmd[1]).to_ascii_lowercase();
    let doc = doc.subcommands.iter().find(|d| d.name.split_once('|').map(|(_, s)| s) == Some(sub.as_str()))?;
    Some((command, doc))
}

/// `getKeysUsingKeySpecs`: the positions of `args`' keys, `None` when a spec
/// is invalid for these arguments or incomplete.
#[cfg(test)]
pub(crate) fn keys_from_specs(doc: &Doc, args: &[Vec<u8>]) -> Option<Vec<usize>> {
    spec_keys(doc, args).map(|keys| keys.into_iter().map(|(i, _)| i).collect())
}

/// [`keys_from_specs`] with each key's spec's flags.
fn spec_keys(doc: &Doc, args: &[Vec<u8>]) -> Option<Vec<(usize, &'static [&'static str])>> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for spec in doc.specs {
        let first = match spec.begin {
            Begin::Index(i) => i64::from(i),
            Begin::Keyword(keyword, from) => {
                let from = i64::from(from);
                let found = if from > 0 {
                    (from..argc - 1).find(|&i| args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()))
                } else {
                    (2..=argc + from).rev().find(|&i| args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            Begin::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            Find::Range { lastkey, step, limit } => {
                let lastkey = i64::from(lastkey);
                let last = match (lastkey >= 0, limit) {
                    (true, _) => first + lastkey,
                    (false, 0) => argc + lastkey,
                    (false, limit) => first + ((argc - first) / i64::from(limit) + lastkey),
                };
                (first, last, i64::from(step))
            }
            Find::Keynum { index, first: from, step } => {
                let at = first + i64::from(index);
                let n = args.get(usize::try_from(at).ok()?).and_then(|a| crate::commands::parse_int(a))?;
                if n < 0 {
                    return None;
                }
                let first = first + i64::from(from);
                (first, first + n - 1, i64::from(step))
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags));
            i += step;
        }
        if spec.flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(out)
}

/// The keys a command's own finder gives (MIGRATE's `migrateGetKeys`), or
/// its legacy range.
fn own_keys(command: &Command, args: &[Vec<u8>]) -> Vec<usize> {
    command.keys.indexes(args).collect()
}

#[cfg(test)]
#[path = "tests_command_info.rs"]
mod tests;
