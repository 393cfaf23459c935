//! `redis-cli --cluster` (create, check, info, add-node, del-node, reshard,
//! rebalance, fix) as a simulated client and the `redis-cli-cluster` scenario
//! step.
//!
//! redis-cli's cluster manager is a synchronous program: it sends one command
//! to one node and blocks for the reply. Here the connections belong to a
//! [`ToolClient`] process on a simulated host (so partitions and crashes apply
//! to it), and the manager's logic runs as straight-line code in the step that
//! drives the kernel from one event to the next until each reply arrives. The
//! decisions that need no I/O are in [`plan`]. Output is the text redis-cli
//! prints, without its colours; its confirmation questions are answered "yes"
//! (printed as if typed, unless `--cluster-yes` was given); `sleep(1)` is one
//! virtual second; C's `rand()` draws from the tool process's own stream.
//!
//! Differences from redis-cli 7.0.15, all because of what the simulated node
//! lacks or what Redis leaves to hash order: add-node prints its function-copy
//! lines but sends no FUNCTION commands (the node has no functions);
//! "slots are open" lists slots in the order they were found rather than dict
//! order; `fix` handles open slots (cases 1–4 and a missing owner) and
//! uncovered slots with no or one holder, and refuses slots with several
//! owners or holders.
//!
//! The parts: [`client`] the process holding the tool's connections,
//! [`session`] the blocking call-and-wait loop over the kernel (and the
//! [`Driver`] that lets it make time pass), [`command`] the command line,
//! [`manager`] the manager itself (its functions mirror redis-cli.c's
//! `clusterManager*` ones, named in their docs, so they can be diffed with
//! upstream), [`plan`] the decisions that need no I/O, and [`step`] the
//! scenario step.

pub mod client;
pub mod command;
pub mod manager;
pub mod plan;
pub mod session;
pub mod step;

pub use client::ToolClient;
pub use command::{Command, Options, parse_command};
pub use manager::run;
pub use session::Driver;
