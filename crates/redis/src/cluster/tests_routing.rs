//! Routing walks the whole command table: every command that takes keys is
//! redirected by them (MOVED), and one whose keys hash to different slots is
//! refused with CROSSSLOT, as `getNodeByQuery` does.

use super::commands::{ClientFlags, route};
use super::*;
use crate::command_table::{self, Keys};
use crate::keyspace::Db;

/// This node serves 0-8191 (`k2` is slot 449); the other 8192-16383 (`k1` is 12706).
fn two_masters() -> Cluster {
    let name = |c: char| NodeName::parse(&c.to_string().repeat(40)).unwrap();
    let mut c = Cluster::new(name('a'), 0);
    let b = c.create_node(name('b'), MASTER, 0);
    c.node_mut(b).set_address(NodeIp::new("10.0.0.2"), 7001, 17001);
    for s in 0..SLOTS {
        c.add_slot(if s < 8192 { 0 } else { b }, s);
    }
    c.state_ok = true;
    c
}

/// A call of `name` with enough arguments, all `arg`, for its arity and key positions.
fn call(c: &command_table::Command, arg: &str) -> Vec<Vec<u8>> {
    let argc = if c.arity > 0 { c.arity as usize } else { c.arity.unsigned_abs() as usize + 2 };
    std::iter::once(c.name.as_bytes().to_vec()).chain((1..argc).map(|_| arg.as_bytes().to_vec())).collect()
}

#[test]
fn every_keyed_command_is_routed_by_its_keys() {
    let (c, db) = (two_masters(), Db::default());
    let flags = ClientFlags::default();
    let mut keyed = 0;
    for command in command_table::all() {
        if command.keys == Keys::None || command.keys == Keys::Migrate {
            continue;
        }
        keyed += 1;
        let mut args = call(command, "k2");
        if command.keys == Keys::Subcommand {
            args[1] = b"encoding".to_vec();
        }
        if let Keys::Numkeys { store } = command.keys {
            args[if store { 2 } else { 1 }] = b"2".to_vec();
        }
        if command.keys == Keys::XRead {
            args = [command.name, "GROUP", "g", "c", "STREAMS", "k2", "k2", ">", ">"]
                .iter()
                .map(|a| a.as_bytes().to_vec())
                .collect();
        }
        if command.keys == Keys::AfterTimeout {
            // BLMPOP timeout numkeys key key LEFT.
            args = [command.name, "0", "2", "k2", "k2", "left"].iter().map(|a| a.as_bytes().to_vec()).collect();
        }
        if command.keys == Keys::Script {
            // EVAL body numkeys key key arg: the script's declared keys.
            args = [command.name, "return 1", "2", "k2", "k2", "v"].iter().map(|a| a.as_bytes().to_vec()).collect();
        }
        assert_eq!(route(&c, &db, flags, &args, command), None, "{} on its own slot", command.name);
        let positions: Vec<usize> = command.keys.indexes(&args).collect();
        assert!(!positions.is_empty(), "{}", command.name);
        let mut moved = args.clone();
        for &p in &positions {
            moved[p] = b"k1".to_vec();
        }
        assert_eq!(
            route(&c, &db, flags, &moved, command),
            Some(resp::Value::error("MOVED 12706 10.0.0.2:7001")),
            "{}",
            command.name
        );
        if positions.len() > 1 {
            let mut cross = args.clone();
            cross[*positions.last().unwrap()] = b"k1".to_vec();
            assert_eq!(
                route(&c, &db, flags, &cross, command),
                Some(resp::Value::error("CROSSSLOT Keys in request don't hash to the same slot")),
                "{}",
                command.name
            );
        }
    }
    assert!(keyed >= 40, "{keyed} keyed commands");
}

#[test]
fn commands_once_left_unrouted_are_routed() {
    let (c, db) = (two_masters(), Db::default());
    let crossslot = Some(resp::Value::error("CROSSSLOT Keys in request don't hash to the same slot"));
    for line in ["rename k2 k1", "renamenx k2 k1", "unlink k2 k1"] {
        let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        let command = command_table::lookup(line.split(' ').next().unwrap()).unwrap();
        assert_eq!(route(&c, &db, ClientFlags::default(), &args, command), crossslot, "{line}");
    }
    for line in ["expiretime k1", "pexpiretime k1", "hlen k1", "lindex k1 0", "sismember k1 m", "setnx k1 v"] {
        let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        let command = command_table::lookup(line.split(' ').next().unwrap()).unwrap();
        assert_eq!(
            route(&c, &db, ClientFlags::default(), &args, command),
            Some(resp::Value::error("MOVED 12706 10.0.0.2:7001")),
            "{line}"
        );
    }
}
