//! The node's side of PUBLISH: fan-out through the shared subscription
//! bookkeeping ([`common::pubsub::PubSub`]) and propagation to replicas (the
//! replication stream) or to every cluster node (the bus).

use resp::Value;
use sim::{ConnId, Ctx};

impl crate::server::Server {
    /// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB on a
    /// Redis node; the subscription replies are sent here, so `None` means
    /// nothing is left to send.
    pub(crate) fn pubsub_dispatch(
        &mut self,
        ctx: &mut Ctx<'_>,
        conn: ConnId,
        db: usize,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let mut out = Vec::new();
        match name {
            "subscribe" => self.pubsub.subscribe(conn, &args[1..], &mut out),
            "psubscribe" => self.pubsub.psubscribe(conn, &args[1..], &mut out),
            "unsubscribe" => self.pubsub.unsubscribe(conn, &args[1..], &mut out),
            "punsubscribe" => self.pubsub.punsubscribe(conn, &args[1..], &mut out),
            "publish" => {
                let receivers =
                    self.pubsub.publish_to(ctx, &args[1], &args[2], |ctx, c, b| self.outputs.write(ctx, c, b));
                // PUBLISH reaches replicas' subscribers through the replication
                // stream (forceCommandPropagation with PROPAGATE_REPL: not the AOF);
                // in cluster mode every node's through the bus instead.
                if self.cluster.is_some() {
                    let (channel, message) = (args[1].clone(), args[2].clone());
                    let body = crate::cluster::bus::Body::Publish { channel: &channel, message: &message };
                    self.broadcast(ctx, crate::cluster::bus::PUBLISH, body, 0);
                } else if self.repl.master.is_none() {
                    let mut bytes = Vec::new();
                    resp::encode_command(args, &mut bytes);
                    self.feed_replicas(Some(db), &bytes);
                }
                return Some(Value::Integer(receivers));
            }
            _ => return Some(self.pubsub.pubsub_command(args)),
        }
        self.outputs.write(ctx, conn, &out);
        None
    }
}
