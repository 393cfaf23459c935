use super::*;
use crate::command_table::Keys;

fn run(line: &str) -> String {
    let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
    resp::render(&command(&args))
}

#[test]
fn count_is_the_table_and_info_has_redis_shape() {
    assert_eq!(run("command count"), format!("(integer) {}", command_table::all().len()));
    assert_eq!(run("command count x"), "(error) ERR wrong number of arguments for 'command|count' command");
    let Value::Array(got) = command(&[b"command".to_vec(), b"info".to_vec(), b"GET".to_vec(), b"nosuch".to_vec()])
    else {
        panic!()
    };
    let Value::Array(get) = &got[0] else { panic!() };
    let simple = |s: &[&str]| Value::Set(s.iter().map(|s| Value::Simple((*s).to_owned().into())).collect());
    assert_eq!(get[..4], [Value::bulk("get"), Value::Integer(2), simple(&["readonly", "fast"]), Value::Integer(1)]);
    assert_eq!(get[6], simple(&["@read", "@string", "@fast"]));
    assert_eq!(got[1], Value::Nil);
    assert_eq!(run("command nosuch"), "(error) ERR unknown subcommand 'nosuch'. Try COMMAND HELP.");
}

#[test]
fn every_command_appears_in_command_and_list() {
    let Value::Array(all) = command(&[b"command".to_vec()]) else { panic!() };
    assert_eq!(all.len(), command_table::all().len());
    let Value::Array(list) = command(&[b"command".to_vec(), b"list".to_vec()]) else { panic!() };
    let subs: usize = command_table::all().iter().map(|c| c.doc.subcommands.len()).sum();
    assert_eq!(list.len(), all.len() + subs);
    assert!(list.contains(&Value::bulk("client|list")));
    assert_eq!(run("command list filterby pattern CLIENT|L*"), "1) \"client|list\"");
    assert_eq!(run("command list filterby module x"), "(empty array)");
    assert_eq!(run("command list filterby nosuch x"), "(error) ERR syntax error");
}

#[test]
fn getkeys_follows_key_specs_and_redis_errors() {
    assert_eq!(run("command getkeys mset a 1 b 2"), "1) \"a\"\n2) \"b\"");
    assert_eq!(run("command getkeys rename a b"), "1) \"a\"\n2) \"b\"");
    assert_eq!(run("command getkeys object encoding k"), "1) \"k\"");
    assert_eq!(run("command getkeys migrate h p  0 5 KEYS a b"), "1) \"a\"\n2) \"b\"");
    assert_eq!(run("command getkeys nosuch a"), "(error) ERR Invalid command specified");
    assert_eq!(run("command getkeys ping x"), "(error) ERR The command has no key arguments");
    assert_eq!(run("command getkeys get a b"), "(error) ERR Invalid number of arguments specified for command");
    assert_eq!(run("command getkeys get"), "(error) ERR wrong number of arguments for 'command|getkeys' command");
}

/// Routing's key positions (the legacy range) are the ones Redis 7.0.15
/// reports for every command, and its key specs find the same keys.
#[test]
fn routing_keys_agree_with_measured_key_specs_for_every_command() {
    for c in command_table::all() {
        let (first, last, step) = c.doc.range;
        let argc = c.arity.unsigned_abs().max(4) as usize + 2;
        let args: Vec<Vec<u8>> = std::iter::once(c.name.as_bytes().to_vec())
            .chain((1..argc).map(|i| format!("a{i}").into_bytes()))
            .collect();
        match c.keys {
            Keys::Range { first: f, last: l, step: s } => {
                assert_eq!((i32::from(f), i32::from(l), i32::from(s)), (first, last, step), "{}", c.name);
                // Incomplete and unknown specs leave the keys to the command's own finder.
                let complete = |s: &command_table::KeySpec| {
                    !s.flags.contains(&"incomplete") && !matches!(s.begin, command_table::Begin::Unknown)
                };
                if c.doc.specs.iter().all(complete) {
                    let args = if c.arity > 0 { &args[..c.arity as usize] } else { &args[..] };
                    assert_eq!(keys_from_specs(c.doc, args), Some(own_keys(c, args)), "{}", c.name);
                }
            }
            Keys::None => {
                assert!(c.doc.specs.is_empty() && c.doc.subcommands.iter().all(|s| s.specs.is_empty()), "{}", c.name)
            }
            Keys::Subcommand => {
                assert!(c.doc.subcommands.iter().all(|s| s.specs.is_empty() || s.range == (2, 2, 1)), "{}", c.name)
            }
            Keys::Migrate => assert_eq!((first, last, step), (3, 3, 1)),
            Keys::Sort => assert_eq!((first, last, step), (1, 1, 1)),
            Keys::Georadius => {
                assert!(c.doc.flags.contains(&"movablekeys"), "{}", c.name);
                let line = format!("{} k a b c km STORE d1 STOREDIST d2", c.name);
                let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
                assert_eq!(own_keys(c, &args), vec![1, 9], "{}", c.name);
            }
            Keys::XRead => {
                assert!(c.doc.flags.contains(&"movablekeys"), "{}", c.name);
                // XREADGROUP's spec looks for STREAMS after GROUP group consumer.
                let opts: &[&str] = if c.name == "xreadgroup" { &["GROUP", "g", "c"] } else { &["COUNT", "2"] };
                let args: Vec<Vec<u8>> = std::iter::once(c.name)
                    .chain(opts.iter().copied())
                    .chain(["STREAMS", "k1", "k2", "0", "0"])
                    .map(|a| a.as_bytes().to_vec())
                    .collect();
                assert_eq!(keys_from_specs(c.doc, &args), Some(own_keys(c, &args)), "{}", c.name);
                assert_eq!(own_keys(c, &args), vec![opts.len() + 2, opts.len() + 3], "{}", c.name);
            }
            Keys::Numkeys { .. } => assert!(c.doc.flags.contains(&"movablekeys"), "{}", c.name),
            Keys::Script => {
                assert!(c.doc.flags.contains(&"movablekeys"), "{}", c.name);
                let args: Vec<Vec<u8>> =
                    [c.name, "body", "2", "k1", "k2", "v"].iter().map(|a| a.as_bytes().to_vec()).collect();
                assert_eq!(keys_from_specs(c.doc, &args), Some(own_keys(c, &args)), "{}", c.name);
                assert_eq!(own_keys(c, &args), vec![3, 4], "{}", c.name);
            }
            Keys::AfterTimeout => {
                assert!(c.doc.flags.contains(&"movablekeys"), "{}", c.name);
                let args: Vec<Vec<u8>> =
                    [c.name, "0", "2", "k1", "k2", "min"].iter().map(|a| a.as_bytes().to_vec()).collect();
                assert_eq!(keys_from_specs(c.doc, &args), Some(own_keys(c, &args)), "{}", c.name);
                assert_eq!(own_keys(c, &args), vec![3, 4], "{}", c.name);
            }
        }
    }
}

#[test]
fn docs_are_redis_measured_maps() {
    let Value::Map(got) = command(&[b"command".to_vec(), b"docs".to_vec(), b"GET".to_vec(), b"nosuch".to_vec()]) else {
        panic!()
    };
    assert_eq!(got.len(), 1, "unknown names are left out");
    let Value::Map(fields) = &got[0].1 else { panic!() };
    assert_eq!(fields[0], (Value::bulk("summary"), Value::bulk("Get the value of a key")));
    assert!(fields.iter().any(|(k, v)| *k == Value::bulk("group") && *v == Value::bulk("string")));
    let Value::Map(sub) = command(&[b"command".to_vec(), b"docs".to_vec(), b"client|list".to_vec()]) else { panic!() };
    assert_eq!(sub[0].0, Value::bulk("client|list"));
    assert!(matches!(&sub[0].1, Value::Map(f) if f.iter().any(|(k, _)| *k == Value::bulk("arguments"))));
    let Value::Map(all) = command(&[b"command".to_vec(), b"docs".to_vec()]) else { panic!() };
    assert_eq!(all.len(), command_table::all().len(), "every command's docs decode");
}
