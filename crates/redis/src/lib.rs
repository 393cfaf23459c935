//! `redis`: Redis 7.0's node logic. It owns the sans-IO server
//! ([`server::Server`]), the `redis.conf` directives it honours ([`config`]), the
//! dataset ([`keyspace`]) and its commands ([`commands`], streams in [`stream`]), PUBLISH's
//! propagation and keyspace notifications ([`pubsub`], [`notify`]), MULTI/EXEC and CLIENT KILL ([`multi`]),
//! master/replica replication ([`replication`]), RDB/AOF persistence
//! ([`persistence`], [`rdb`]), DUMP/RESTORE/MIGRATE ([`migrate`]) and Redis
//! Cluster's bus, gossip, failover and routing ([`cluster`]). What lab tooling
//! may read of a running server is in [`view`].
//!
//! It must not depend on the scenario format, the lab tooling (`redis-lab`,
//! clients), the report or the CLI, and must not reach the outside world: it
//! sees the network, clock and disk only through `sim::Ctx`, so the same server
//! can later run behind real sockets. Replication and persistence run on the
//! same kernel inputs: the master link is a connection, fsync is the simulated
//! disk's, forks are timers.
//!
//! Must not depend on: `sentinel`, `redis-client`, `redis-lab`, `sentinel-lab`,
//! `scenario`, `report`, `chaoslab`, `serde`, `serde_json`.

mod acl;
mod acl_users;
mod aof_base;
mod bitfield;
mod bits;
mod blocking;
mod call;
mod client_control;
mod client_limits;
mod client_table;
pub mod cluster;
mod command_docs;
mod command_info;
mod command_table;
pub mod commands;
mod commands_more;
pub mod config;
mod config_table;
pub mod costs;
mod dispatch;
pub mod encoding;
mod errorstats;
mod failover;
mod geo;
mod hashes;
mod hll;
pub mod keymap;
pub mod keyspace;
mod latency;
mod lcs;
mod lists;
mod lolwut;
mod longdouble;
pub mod lzf;
pub mod memory;
pub mod migrate;
mod modules;
mod monitor;
pub mod multi;
mod notify;
pub mod output;
pub mod persistence;
pub mod pubsub;
mod random;
pub mod rdb;
pub mod replication;
mod scripting;
pub mod server;
mod shutdown;
mod slowlog;
mod sort;
pub mod stream;
mod strings;
mod traffic;
pub mod view;
mod warm;
mod watch;
pub mod zset;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blocking;
#[cfg(test)]
mod tests_children;
#[cfg(test)]
mod tests_client;
#[cfg(test)]
mod tests_client_limits;
#[cfg(test)]
mod tests_control;
#[cfg(test)]
mod tests_encodings;
#[cfg(test)]
mod tests_errpaths;
#[cfg(test)]
mod tests_failover;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_handshake;
#[cfg(test)]
mod tests_hashes;
#[cfg(test)]
mod tests_hello;
#[cfg(test)]
mod tests_lists;
#[cfg(test)]
mod tests_memory;
#[cfg(test)]
mod tests_migrate;
#[cfg(test)]
mod tests_notify;
#[cfg(test)]
mod tests_output;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_pubsub;
#[cfg(test)]
pub(crate) mod tests_repl;
#[cfg(test)]
mod tests_shutdown;
#[cfg(test)]
mod tests_spop;
#[cfg(test)]
mod tests_strings;
#[cfg(test)]
mod tests_types;
#[cfg(test)]
mod tests_watch;
