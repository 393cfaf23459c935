//! `common`: what the Redis-family node kinds share and nothing else: the
//! version they claim ([`VERSION`]), redis-server's log line ([`log`]), glob
//! patterns ([`glob`]), run ids ([`ids`]), the hash slot of a key ([`slot`]),
//! pub/sub bookkeeping ([`pubsub`], which Redis and Sentinel both serve) and
//! the error for an unknown command ([`unknown_command`]), the help texts and
//! ACL categories both serve ([`acl`], [`client`], [`help_reply`]).
//!
//! It must not depend on any node kind, the scenario format, the lab tooling or
//! serde: node logic depends on it, so it stays as small as what is shared.
//!
//! Must not depend on: `redis`, `sentinel`, `redis-client`, `redis-lab`,
//! `sentinel-lab`, `scenario`, `report`, `chaoslab`, `serde`, `serde_json`.

pub mod acl;
pub mod client;
pub mod glob;
pub mod ids;
pub mod info;
pub mod log;
pub mod pubsub;
pub mod slot;

use resp::Value;

/// The Redis version every node kind reports (INFO `redis_version`, HELLO, the
/// startup banner): the release the simulator is measured against.
pub const VERSION: &str = "7.0.15";

/// The error for a command nobody knows, quoting its first arguments as Redis
/// does (at most 128 characters of them).
pub fn unknown_command(args: &[Vec<u8>]) -> Value {
    use std::fmt::Write as _;
    let mut tail = String::new();
    for a in &args[1..] {
        if tail.len() >= 128 {
            break;
        }
        let room = 128 - tail.len();
        let text = String::from_utf8_lossy(a);
        let shown: String = text.chars().take(room).collect();
        let _ = write!(tail, "'{shown}' ");
    }
    let shown: String = String::from_utf8_lossy(&args[0]).chars().take(128).collect();
    Value::error(format!("ERR unknown command '{shown}', with args beginning with: {tail}"))
}

/// A HELP reply: one simple string per line.
pub fn help_reply(lines: &[&str]) -> Value {
    Value::Array(lines.iter().map(|l| Value::Simple((*l).to_owned().into())).collect())
}
