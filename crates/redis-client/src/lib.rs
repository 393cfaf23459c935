//! `redis-client`: simulated Redis clients as kernel processes. [`cli`] is
//! redis-cli (one command per invocation, `-a`, `-r`, `-c` with MOVED/ASK
//! redirections, its printed reply format); [`cluster`] is the client side of
//! Redis Cluster that cluster-aware clients share (MOVED/ASK parsing, a slot
//! map from CLUSTER SLOTS, a bounded redirect router); [`sentinel`] is a
//! Sentinel-aware client (ask the Sentinels, follow `+switch-master`);
//! [`session`] is several commands on one redis-cli connection,
//! [`background`] a redis-cli left running (a paced stream of commands),
//! [`raw`] a raw TCP client that sends exact bytes.
//!
//! Clients talk to nodes only over the simulated network, as real clients do:
//! this crate must not depend on any node kind's crate (`redis`, `sentinel`),
//! the scenario format or the report, so node tests and lab tooling can both
//! use it.
//!
//! Must not depend on: `redis`, `sentinel`, `redis-lab`, `sentinel-lab`,
//! `scenario`, `report`, `chaoslab`.

pub mod background;
pub mod cli;
pub mod cluster;
pub mod raw;
pub mod sentinel;
pub mod session;
