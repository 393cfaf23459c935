//! CLUSTER SLOTS's reply, kept encoded while what it shows holds still.
//!
//! A cluster client reads the slot map at start, on every fifth MOVED and
//! after every connection error (redis-py's `RedisCluster`), so while a
//! master is down its clients ask thousands of times a second, and each
//! answer is the same ~40 values. [`SlotsReply::get`] lists what the reply
//! shows (each slot run, its master and the replicas shown, with their
//! addresses and names), and only when that list differs from the last one
//! builds and encodes the reply again; otherwise it hands out the same
//! shared bytes ([`resp::Value::Encoded`]). The reply is built from the list
//! itself, so the bytes cannot disagree with what was compared.

use super::NodeIp;
use super::bus::NodeName;
use resp::{Encoded, Value};
use std::sync::Arc;

/// One item of what CLUSTER SLOTS shows, in reply order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shown {
    /// A run of slots `start..=end`; the nodes that follow serve it, master first.
    Run(usize, usize),
    /// A node serving the run before it: ip, port and name.
    Node(NodeIp, u16, NodeName),
}

/// The last reply and the list it was built from.
#[derive(Debug, Default)]
pub(crate) struct SlotsReply {
    shown: Vec<Shown>,
    /// The list being compared, kept to reuse its allocation.
    scratch: Vec<Shown>,
    reply: Option<Value>,
}

impl SlotsReply {
    /// The reply for what `fill` lists: the kept one if the list is the
    /// last one's, else one built and encoded from it.
    pub(crate) fn get(&mut self, fill: impl FnOnce(&mut Vec<Shown>)) -> Value {
        self.scratch.clear();
        fill(&mut self.scratch);
        match &self.reply {
            Some(reply) if self.scratch == self.shown => reply.clone(),
            _ => {
                std::mem::swap(&mut self.shown, &mut self.scratch);
                let reply = Value::Encoded(Arc::new(Encoded::new(build(&self.shown))));
                self.reply = Some(reply.clone());
                reply
            }
        }
    }
}

/// `[[start, end, [ip, port, name, {}], replicas...], ...]` from the list.
pub(crate) fn build(shown: &[Shown]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for item in shown {
        match *item {
            Shown::Run(start, end) => {
                out.push(Value::Array(vec![Value::Integer(start as i64), Value::Integer(end as i64)]));
            }
            Shown::Node(ip, port, name) => {
                let entry = Value::Array(vec![
                    Value::Bulk(ip.as_str().as_bytes().to_vec()),
                    Value::Integer(i64::from(port)),
                    Value::Bulk(name.bytes().to_vec()),
                    // The node's extra networking metadata (hostname), none here.
                    Value::Map(Vec::new()),
                ]);
                if let Some(Value::Array(run)) = out.last_mut() {
                    run.push(entry);
                }
            }
        }
    }
    Value::Array(out)
}
