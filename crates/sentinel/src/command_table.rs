//! Sentinel's command table, as measured: `measured/command.resp3` and
//! `measured/command-docs.resp3` are redis-sentinel 7.0.15's own answers to
//! `COMMAND` and `COMMAND DOCS` on a RESP3 connection (after `HELLO 3`),
//! recorded on this machine. Arities (of commands and of subcommands), the
//! replies of COMMAND's subcommands and ACL CAT's category lists all come
//! from them, so they cannot drift from what the real Sentinel serves.

use resp::{Decoded, ReplyDecoder, Value};
use std::sync::OnceLock;

const COMMAND: &[u8] = include_bytes!("measured/command.resp3");
const DOCS: &[u8] = include_bytes!("measured/command-docs.resp3");

/// The decoded table: each command's COMMAND INFO entry, in the measured order.
pub(crate) struct Table {
    infos: Vec<Value>,
    docs: Vec<(Value, Value)>,
}

fn decode(bytes: &[u8]) -> Value {
    let mut d = ReplyDecoder::default();
    d.feed(bytes);
    match d.next_value() {
        Decoded::Value(v) => v,
        other => panic!("the measured command table does not decode: {other:?}"),
    }
}

/// The table, decoded once.
pub(crate) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let Value::Array(infos) = decode(COMMAND) else { panic!("COMMAND is an array") };
        let Value::Map(docs) = decode(DOCS) else { panic!("COMMAND DOCS is a map") };
        Table { infos, docs }
    })
}

fn name_of(info: &Value) -> &[u8] {
    match info {
        Value::Array(fields) => match fields.first() {
            Some(Value::Bulk(name)) => name,
            _ => b"",
        },
        _ => b"",
    }
}

fn subcommands(info: &Value) -> &[Value] {
    match info {
        Value::Array(fields) => match fields.get(9) {
            Some(Value::Array(subs) | Value::Set(subs)) => subs,
            _ => &[],
        },
        _ => &[],
    }
}

fn arity_of(info: &Value) -> i64 {
    match info {
        Value::Array(fields) => match fields.get(1) {
            Some(Value::Integer(n)) => *n,
            _ => 0,
        },
        _ => 0,
    }
}

fn categories_of(info: &Value) -> Vec<String> {
    match info {
        Value::Array(fields) => match fields.get(6) {
            Some(Value::Array(cats) | Value::Set(cats)) => cats.iter().map(resp::render).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// What looking a request up in the table gives.
pub(crate) enum Lookup<'a> {
    /// The command (or `container|subcommand`) name, lower case, and its entry.
    Found(String, &'a Value),
    /// Not a Sentinel command.
    UnknownCommand,
    /// A container command with an unknown subcommand.
    UnknownSubcommand,
}

impl Table {
    /// `lookupCommand` for a request's first two arguments.
    pub(crate) fn lookup(&self, args: &[Vec<u8>]) -> Lookup<'_> {
        let name = args[0].to_ascii_lowercase();
        let Some(info) = self.infos.iter().find(|i| name_of(i) == name.as_slice()) else {
            return Lookup::UnknownCommand;
        };
        let subs = subcommands(info);
        if subs.is_empty() || args.len() < 2 {
            return Lookup::Found(String::from_utf8_lossy(&name).into_owned(), info);
        }
        let full = [name.as_slice(), b"|", &args[1].to_ascii_lowercase()].concat();
        match subs.iter().find(|s| name_of(s) == full.as_slice()) {
            Some(sub) => Lookup::Found(String::from_utf8_lossy(&full).into_owned(), sub),
            None => Lookup::UnknownSubcommand,
        }
    }

    /// Whether `argc` arguments fit the entry's arity (negative: at least).
    pub(crate) fn arity_ok(info: &Value, argc: usize) -> bool {
        let n = arity_of(info);
        let argc = argc as i64;
        (n >= 0 && argc == n) || (n < 0 && argc >= -n)
    }

    /// An entry by full name (`ping`, `client|list`).
    fn entry(&self, name: &[u8]) -> Option<&Value> {
        let name = name.to_ascii_lowercase();
        self.infos.iter().flat_map(|i| std::iter::once(i).chain(subcommands(i))).find(|i| name_of(i) == name.as_slice())
    }

    /// Every name, subcommands included, in the table's order.
    fn names(&self) -> impl Iterator<Item = &Value> {
        self.infos.iter().flat_map(|i| std::iter::once(i).chain(subcommands(i)))
    }

    /// The names of the commands in an ACL category (`ACL CAT <category>`), or
    /// None for a category Sentinel does not have.
    pub(crate) fn in_category(&self, category: &str) -> Option<Vec<Value>> {
        let wanted = format!("@{}", category.to_ascii_lowercase());
        let names: Vec<Value> = self
            .names()
            .filter(|i| categories_of(i).contains(&wanted))
            .map(|i| Value::Bulk(name_of(i).to_vec()))
            .collect();
        (!names.is_empty() || common::acl::CATEGORIES.contains(&category.to_ascii_lowercase().as_str()))
            .then_some(names)
    }

    /// COMMAND and its subcommands, arity already checked.
    pub(crate) fn command(&self, args: &[Vec<u8>]) -> Value {
        if args.len() == 1 {
            return Value::Array(self.infos.clone());
        }
        let rest = &args[2..];
        match args[1].to_ascii_lowercase().as_slice() {
            b"count" => Value::Integer(self.infos.len() as i64),
            b"info" if rest.is_empty() => Value::Array(self.infos.clone()),
            b"info" => Value::Array(rest.iter().map(|n| self.entry(n).cloned().unwrap_or(Value::Nil)).collect()),
            b"docs" => self.docs(rest),
            b"list" => self.list(rest),
            b"getkeys" | b"getkeysandflags" => self.getkeys(rest),
            _ => common::help_reply(common::client::COMMAND_HELP),
        }
    }

    fn docs(&self, names: &[Vec<u8>]) -> Value {
        if names.is_empty() {
            return Value::Map(self.docs.clone());
        }
        let find = |name: &[u8]| -> Option<(Value, Value)> {
            let name = name.to_ascii_lowercase();
            let (top, sub) = match name.iter().position(|&b| b == b'|') {
                Some(at) => (&name[..at], Some(&name)),
                None => (name.as_slice(), None),
            };
            let (_, doc) = self.docs.iter().find(|(k, _)| matches!(k, Value::Bulk(b) if b == top))?;
            let Some(full) = sub else { return Some((Value::Bulk(name.clone()), doc.clone())) };
            let Value::Map(fields) = doc else { return None };
            let (_, Value::Map(subs)) =
                fields.iter().find(|(k, _)| matches!(k, Value::Bulk(b) if b == b"subcommands"))?
            else {
                return None;
            };
            subs.iter().find(|(k, _)| matches!(k, Value::Bulk(b) if b == full)).cloned()
        };
        Value::Map(names.iter().filter_map(|n| find(n)).collect())
    }

    fn list(&self, filter: &[Vec<u8>]) -> Value {
        let all = self.names().map(|i| Value::Bulk(name_of(i).to_vec()));
        match filter {
            [] => Value::Array(all.collect()),
            [by, kind, value] if by.eq_ignore_ascii_case(b"filterby") => match kind.to_ascii_lowercase().as_slice() {
                b"pattern" => Value::Array(
                    all.filter(|n| matches!(n, Value::Bulk(b) if common::glob::glob_match(value, b))).collect(),
                ),
                b"aclcat" => Value::Array(self.in_category(&String::from_utf8_lossy(value)).unwrap_or_default()),
                b"module" => Value::Array(Vec::new()),
                _ => Value::error("ERR syntax error"),
            },
            _ => Value::error("ERR syntax error"),
        }
    }

    /// GETKEYS: no Sentinel command has keys.
    fn getkeys(&self, command: &[Vec<u8>]) -> Value {
        match self.lookup(command) {
            Lookup::Found(_, info) if Table::arity_ok(info, command.len()) => {
                Value::error("ERR The command has no key arguments")
            }
            Lookup::Found(..) => Value::error("ERR Invalid number of arguments specified for command"),
            _ => Value::error("ERR Invalid command specified"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn the_measured_table_has_sentinels_fifteen_commands_and_their_arities() {
        let t = table();
        assert_eq!(t.command(&args("COMMAND COUNT")), Value::Integer(15));
        let arity = |line: &str| match t.lookup(&args(line)) {
            Lookup::Found(name, info) => (name, arity_of(info)),
            _ => (String::new(), 0),
        };
        assert_eq!(arity("SENTINEL SET m"), ("sentinel|set".to_owned(), -5));
        assert_eq!(arity("sentinel is-master-down-by-addr"), ("sentinel|is-master-down-by-addr".to_owned(), 6));
        assert_eq!(arity("PING"), ("ping".to_owned(), -1));
        assert!(matches!(t.lookup(&args("QUIT")), Lookup::UnknownCommand));
        assert!(matches!(t.lookup(&args("CLIENT NOSUCH")), Lookup::UnknownSubcommand));
    }

    #[test]
    fn command_docs_finds_subcommands_and_acl_categories_come_from_the_table() {
        let t = table();
        let Value::Map(found) = t.command(&args("COMMAND DOCS client|list nosuch ping")) else { panic!("a map") };
        let names: Vec<String> = found.iter().map(|(k, _)| resp::render(k)).collect();
        assert_eq!(names, ["\"client|list\"", "\"ping\""]);
        let pubsub = t.in_category("pubsub").expect("a category");
        assert_eq!(pubsub.len(), 5);
        assert_eq!(t.in_category("string"), Some(Vec::new()));
        assert_eq!(t.in_category("nosuch"), None);
        assert_eq!(
            t.command(&args("COMMAND GETKEYS publish a b")),
            Value::error("ERR The command has no key arguments")
        );
        assert_eq!(t.command(&args("COMMAND GETKEYS get a b")), Value::error("ERR Invalid command specified"));
    }
}
