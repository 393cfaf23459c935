//! `workload`: the users of a simulated deployment. Clients that behave like
//! redis-py's (`Redis` on one node, `RedisCluster` over a slot map,
//! `Sentinel.master_for` through the Sentinels; [`spec::Target`]) run
//! register, counter, set or list operations on drawn keys at a pace
//! ([`spec::Spec`]) as kernel processes ([`client::Client`]), and write every
//! operation into a shared history in the `check` crate's model, timed in
//! virtual nanoseconds; a final reader reads every key at the end.
//!
//! Deterministic: keys, operations and start offsets come from each client's
//! seeded stream (`proc:<name>`), and the history is written in the order the
//! kernel ran things. It talks to nodes only over the simulated network, and
//! must not know a scenario or report: the scenario layer (`redis-lab`) builds the
//! [`spec::Spec`] and starts the processes.
//!
//! Must not depend on: `redis`, `sentinel`, `scenario`, `report`, `redis-lab`,
//! `sentinel-lab`, `chaoslab`.

pub mod client;
pub mod spec;
#[cfg(test)]
mod tests_cluster;

pub use client::{Client, Log, Shared};
pub use spec::{Keys, Model, Pace, Spec, Target, Wait};
