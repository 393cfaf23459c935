//! `sentinel`: Redis Sentinel 7.0's node logic. It owns the sans-IO Sentinel
//! process ([`sentinel::Sentinel`]): monitoring of masters and replicas over
//! two RESP links each (commands, and pub/sub on `__sentinel__:hello`),
//! discovery of replicas from INFO and of other Sentinels from hello messages,
//! SDOWN/ODOWN, the leader vote per epoch, the failover state machine, TILT,
//! the SENTINEL commands ([`commands`]) including runtime reconfiguration
//! (MONITOR/SET/REMOVE/CONFIG, `reconfig.rs`) and its timing parameters
//! ([`timing`], SENTINEL DEBUG), its command table as measured on
//! redis-sentinel (`command_table.rs`), its clients (CLIENT, HELLO, AUTH, ACL
//! in `clients.rs`), its event log in
//! redis-sentinel's format, its sentinel.conf and the rewrite of it on every
//! state change ([`config`]).
//!
//! It must not depend on the `redis` crate, the scenario format, the lab
//! tooling (`sentinel-lab`, clients), the report or the CLI, nor reach the
//! outside world: it sees the network, clock and disk only through `sim::Ctx`.
//! What it shares with redis-server (log line, pub/sub bookkeeping, ids, glob)
//! comes from `common`; it learns about Redis nodes only over the network, as
//! Sentinel does.
//!
//! Must not depend on: `redis`, `redis-client`, `redis-lab`, `sentinel-lab`,
//! `scenario`, `report`, `chaoslab`, `serde`, `serde_json`.

mod clients;
mod command_table;
pub mod commands;
pub mod config;
pub mod instance;
mod reconfig;
pub mod sentinel;
pub mod timing;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
