//! The node's side of pub/sub: fan-out through the shared subscription
//! bookkeeping ([`common::pubsub::PubSub`]) and propagation of PUBLISH to
//! replicas (the replication stream) or to every cluster node (the bus), of
//! SPUBLISH to the nodes of this node's shard (the bus, cluster mode only),
//! and the shard channels a node drops with the slots its shard loses.

use crate::server::Client;
use resp::Value;
use sim::{ConnId, Ctx};

impl crate::server::Server {
    /// (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH and PUBSUB on a Redis
    /// node; the subscription replies are sent here, so `None` means nothing
    /// is left to send.
    pub(crate) fn pubsub_dispatch(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let mut out = Vec::new();
        match name {
            "subscribe" => self.pubsub.subscribe(conn, &args[1..], &mut out),
            "psubscribe" => self.pubsub.psubscribe(conn, &args[1..], &mut out),
            "unsubscribe" => self.pubsub.unsubscribe(conn, &args[1..], &mut out),
            "punsubscribe" => self.pubsub.punsubscribe(conn, &args[1..], &mut out),
            // `ssubscribeCommand`: not inside MULTI (nor a script: the table's `noscript`).
            "ssubscribe" if client.multi.is_some() || client.deny_blocking => {
                return Some(Value::error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"));
            }
            "ssubscribe" => self.pubsub.ssubscribe(conn, &args[1..], &mut out),
            "sunsubscribe" => self.pubsub.sunsubscribe(conn, &args[1..], &mut out),
            "publish" => return Some(self.publish(ctx, client.db, args)),
            "spublish" => return Some(self.spublish(ctx, args)),
            _ => return Some(self.pubsub.pubsub_command(args)),
        }
        self.outputs.write(ctx, conn, &out);
        None
    }

    fn publish(&mut self, ctx: &mut Ctx<'_>, db: usize, args: &[Vec<u8>]) -> Value {
        let receivers = self.pubsub.publish_to(ctx, &args[1], &args[2], |ctx, c, b| self.outputs.write(ctx, c, b));
        // PUBLISH reaches replicas' subscribers through the replication
        // stream (forceCommandPropagation with PROPAGATE_REPL: not the AOF);
        // in cluster mode every node's through the bus instead.
        if self.cluster.is_some() {
            let body = crate::cluster::bus::Body::Publish { channel: &args[1], message: &args[2] };
            self.broadcast(ctx, crate::cluster::bus::PUBLISH, body, 0);
        } else if self.repl.master.is_none() {
            let mut bytes = Vec::new();
            resp::encode_command(args, &mut bytes);
            self.feed_replicas(Some(db), &bytes);
        }
        Value::Integer(receivers)
    }

    /// SPUBLISH: this node's shard-channel subscribers, then (cluster mode)
    /// the other nodes of its shard over the bus. A standalone node
    /// propagates nothing: its replicas' subscribers never see the message.
    fn spublish(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let receivers = self.pubsub.spublish_to(ctx, &args[1], &args[2], |ctx, c, b| self.outputs.write(ctx, c, b));
        if self.cluster.is_some() {
            let body = crate::cluster::bus::Body::Publish { channel: &args[1], message: &args[2] };
            self.send_to_shard(ctx, crate::cluster::bus::PUBLISHSHARD, body);
        }
        Value::Integer(receivers)
    }

    /// The keyspace events the last command raised ([`crate::notify`]), each
    /// published to this node's subscribers only: `pubsubPublishMessage`
    /// reaches neither replicas nor, in cluster mode, the other nodes.
    pub(crate) fn publish_events(&mut self, ctx: &mut Ctx<'_>) {
        let events = std::mem::take(&mut self.feed.events);
        for event in &events {
            for (channel, message) in crate::notify::messages(self.feed.notify, event) {
                self.pubsub.publish_to(ctx, &channel, &message, |ctx, c, b| self.outputs.write(ctx, c, b));
            }
        }
    }

    /// `removeChannelsInSlot` for the slots this node's shard lost since the
    /// last call: their shard channels' subscribers get `sunsubscribe`.
    pub(crate) fn drop_lost_shard_channels(&mut self, ctx: &mut Ctx<'_>) {
        let Some(c) = self.cluster.as_deref_mut() else { return };
        let lost = c.take_lost_shard_slots();
        if lost.is_empty() {
            return;
        }
        let dropped = |channel: &[u8]| lost.contains(&common::slot::key_slot(channel));
        self.pubsub.drop_shard_channels(ctx, dropped, |ctx, c, b| self.outputs.write(ctx, c, b));
    }
}
