//! Publish/subscribe as Redis 7.0 does it (pubsub.c): channel, pattern and
//! shard-channel subscriptions per connection, PUBLISH fan-out (channel
//! subscribers first, then pattern subscribers, each in subscription order),
//! SPUBLISH fan-out to shard-channel subscribers, PUBSUB introspection, and
//! the restriction on what a subscribed RESP2 client may run. Shard channels
//! are counted apart: SSUBSCRIBE's confirmations count only them, and
//! (P)SUBSCRIBE's only channels and patterns.
//! Confirmations and messages are arrays for RESP2 connections and pushes for
//! the ones that said `HELLO 3`.
//!
//! It knows connections only by [`ConnId`] and writes through [`Ctx`], so Redis
//! and Sentinel (which serves SUBSCRIBE for its event channels) share it.

use resp::{Protocol, Value};
use sim::{ConnId, Ctx};
use std::collections::{BTreeMap, BTreeSet};

/// Every subscription of one server.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Channel → subscribers, in the order they subscribed.
    channels: BTreeMap<Vec<u8>, Vec<ConnId>>,
    /// (pattern, subscriber), in subscription order (Redis keeps a list).
    patterns: Vec<(Vec<u8>, ConnId)>,
    /// What each connection is subscribed to, in subscription order.
    clients: BTreeMap<ConnId, Subscriptions>,
    /// Connections that speak RESP3 and so get pushes.
    resp3: BTreeSet<ConnId>,
    /// Shard channel → subscribers (SSUBSCRIBE), in the order they subscribed.
    shard_channels: BTreeMap<Vec<u8>, Vec<ConnId>>,
}

#[derive(Debug, Default)]
struct Subscriptions {
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
    shard: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// What (P)(UN)SUBSCRIBE's confirmations count: channels and patterns.
    fn count(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }

    /// What S(UN)SUBSCRIBE's confirmations count: shard channels.
    fn shard_count(&self) -> i64 {
        self.shard.len() as i64
    }

    fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }
}

/// Removes `conn` from `channel`'s subscribers, and the channel once it has none.
fn leave(map: &mut BTreeMap<Vec<u8>, Vec<ConnId>>, channel: &[u8], conn: ConnId) {
    if let Some(list) = map.get_mut(channel) {
        list.retain(|&c| c != conn);
        if list.is_empty() {
            map.remove(channel);
        }
    }
}

/// PUBSUB HELP's lines between its header and HELP (`addReplyHelp`).
const PUBSUB_HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Commands a client in RESP2 subscribed mode may still run.
pub fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// The error a subscribed RESP2 client gets for any other command.
pub fn subscribed_error(name: &str) -> Value {
    Value::error(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

/// PING's reply in subscribed mode: `["pong", <message or "">]`.
pub fn subscribed_ping(args: &[Vec<u8>]) -> Value {
    let message = args.get(1).cloned().unwrap_or_default();
    Value::Array(vec![Value::bulk("pong"), Value::Bulk(message)])
}

fn confirmation(proto: Protocol, kind: &str, name: Option<&[u8]>, count: i64, out: &mut Vec<u8>) {
    let name = name.map_or(Value::Nil, Value::bulk);
    Value::Push(vec![Value::bulk(kind), name, Value::Integer(count)]).encode_for(proto, out);
}

impl PubSub {
    /// Records the protocol `conn` speaks now (HELLO), for what it is sent later.
    pub fn set_protocol(&mut self, conn: ConnId, proto: Protocol) {
        match proto {
            Protocol::Resp3 => self.resp3.insert(conn),
            Protocol::Resp2 => self.resp3.remove(&conn),
        };
    }

    fn protocol(&self, conn: ConnId) -> Protocol {
        if self.resp3.contains(&conn) { Protocol::Resp3 } else { Protocol::Resp2 }
    }

    /// Number of channels plus patterns `conn` is subscribed to.
    pub fn subscriptions(&self, conn: ConnId) -> usize {
        self.clients.get(&conn).map_or(0, |s| s.count() as usize)
    }

    /// Whether `conn` is subscribed to anything (a channel, a pattern or a
    /// shard channel): subscribed mode.
    pub fn is_subscribed(&self, conn: ConnId) -> bool {
        self.clients.contains_key(&conn)
    }

    /// Channel, pattern and shard-channel counts of a client, for CLIENT
    /// LIST's `sub=`, `psub=` and `ssub=`.
    pub fn counts(&self, conn: ConnId) -> (usize, usize, usize) {
        self.clients.get(&conn).map_or((0, 0, 0), |s| (s.channels.len(), s.patterns.len(), s.shard.len()))
    }

    /// Distinct channels, patterns and shard channels with a subscriber
    /// (INFO's `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`).
    pub fn totals(&self) -> (usize, usize, usize) {
        let patterns: std::collections::BTreeSet<&[u8]> = self.patterns.iter().map(|(p, _)| p.as_slice()).collect();
        (self.channels.len(), patterns.len(), self.shard_channels.len())
    }

    /// SUBSCRIBE: one confirmation per channel, written to `out`.
    pub fn subscribe(&mut self, conn: ConnId, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let subs = self.clients.entry(conn).or_default();
        for channel in channels {
            if !subs.channels.contains(channel) {
                subs.channels.push(channel.clone());
                self.channels.entry(channel.clone()).or_default().push(conn);
            }
            let count = subs.count();
            confirmation(proto, "subscribe", Some(channel), count, out);
        }
    }

    /// PSUBSCRIBE: one confirmation per pattern.
    pub fn psubscribe(&mut self, conn: ConnId, patterns: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let subs = self.clients.entry(conn).or_default();
        for pattern in patterns {
            if !subs.patterns.contains(pattern) {
                subs.patterns.push(pattern.clone());
                self.patterns.push((pattern.clone(), conn));
            }
            let count = subs.count();
            confirmation(proto, "psubscribe", Some(pattern), count, out);
        }
    }

    /// UNSUBSCRIBE: the named channels, or all of them; with none at all, one
    /// confirmation with a null channel.
    pub fn unsubscribe(&mut self, conn: ConnId, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let targets: Vec<Vec<u8>> = if channels.is_empty() {
            self.clients.get(&conn).map(|s| s.channels.clone()).unwrap_or_default()
        } else {
            channels.to_vec()
        };
        if targets.is_empty() {
            confirmation(proto, "unsubscribe", None, self.subscriptions(conn) as i64, out);
        }
        for channel in &targets {
            if let Some(subs) = self.clients.get_mut(&conn) {
                subs.channels.retain(|c| c != channel);
            }
            leave(&mut self.channels, channel, conn);
            confirmation(proto, "unsubscribe", Some(channel), self.subscriptions(conn) as i64, out);
        }
        self.forget_if_idle(conn);
    }

    /// PUNSUBSCRIBE: the named patterns, or all of them.
    pub fn punsubscribe(&mut self, conn: ConnId, patterns: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let targets: Vec<Vec<u8>> = if patterns.is_empty() {
            self.clients.get(&conn).map(|s| s.patterns.clone()).unwrap_or_default()
        } else {
            patterns.to_vec()
        };
        if targets.is_empty() {
            confirmation(proto, "punsubscribe", None, self.subscriptions(conn) as i64, out);
        }
        for pattern in &targets {
            if let Some(subs) = self.clients.get_mut(&conn) {
                subs.patterns.retain(|p| p != pattern);
            }
            self.patterns.retain(|(p, c)| !(p == pattern && *c == conn));
            confirmation(proto, "punsubscribe", Some(pattern), self.subscriptions(conn) as i64, out);
        }
        self.forget_if_idle(conn);
    }

    /// SSUBSCRIBE: one confirmation per shard channel (the caller has checked
    /// that they all hash to one slot this node serves).
    pub fn ssubscribe(&mut self, conn: ConnId, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let subs = self.clients.entry(conn).or_default();
        for channel in channels {
            if !subs.shard.contains(channel) {
                subs.shard.push(channel.clone());
                self.shard_channels.entry(channel.clone()).or_default().push(conn);
            }
            confirmation(proto, "ssubscribe", Some(channel), subs.shard_count(), out);
        }
    }

    /// SUNSUBSCRIBE: the named shard channels, or all of them; with none at
    /// all, one confirmation with a null channel.
    pub fn sunsubscribe(&mut self, conn: ConnId, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        let proto = self.protocol(conn);
        let targets: Vec<Vec<u8>> = if channels.is_empty() {
            self.clients.get(&conn).map(|s| s.shard.clone()).unwrap_or_default()
        } else {
            channels.to_vec()
        };
        if targets.is_empty() {
            confirmation(proto, "sunsubscribe", None, self.shard_count(conn), out);
        }
        for channel in &targets {
            self.leave_shard(conn, channel);
            confirmation(proto, "sunsubscribe", Some(channel), self.shard_count(conn), out);
        }
        self.forget_if_idle(conn);
    }

    fn shard_count(&self, conn: ConnId) -> i64 {
        self.clients.get(&conn).map_or(0, Subscriptions::shard_count)
    }

    fn leave_shard(&mut self, conn: ConnId, channel: &[u8]) {
        if let Some(subs) = self.clients.get_mut(&conn) {
            subs.shard.retain(|c| c != channel);
        }
        leave(&mut self.shard_channels, channel, conn);
    }

    /// Unsubscribes every subscriber of the shard channels `dropped` picks
    /// (`removeChannelsInSlot`, when this node's shard loses their slot):
    /// channel by channel, each subscriber in subscription order gets a
    /// `sunsubscribe` through `write`.
    pub fn drop_shard_channels(
        &mut self,
        ctx: &mut Ctx<'_>,
        dropped: impl Fn(&[u8]) -> bool,
        mut write: impl FnMut(&mut Ctx<'_>, ConnId, &[u8]),
    ) {
        let channels: Vec<Vec<u8>> = self.shard_channels.keys().filter(|c| dropped(c)).cloned().collect();
        let mut buf = Vec::new();
        for channel in channels {
            for conn in self.shard_channels.get(&channel).cloned().unwrap_or_default() {
                self.leave_shard(conn, &channel);
                buf.clear();
                confirmation(self.protocol(conn), "sunsubscribe", Some(&channel), self.shard_count(conn), &mut buf);
                self.forget_if_idle(conn);
                write(ctx, conn, &buf);
            }
        }
    }

    fn forget_if_idle(&mut self, conn: ConnId) {
        if self.clients.get(&conn).is_some_and(|s| s.total() == 0) {
            self.clients.remove(&conn);
        }
    }

    /// Drops every subscription of a connection that went away.
    pub fn remove_client(&mut self, conn: ConnId) {
        self.resp3.remove(&conn);
        let Some(subs) = self.clients.remove(&conn) else { return };
        for channel in subs.channels {
            leave(&mut self.channels, &channel, conn);
        }
        for channel in subs.shard {
            leave(&mut self.shard_channels, &channel, conn);
        }
        self.patterns.retain(|(_, c)| *c != conn);
    }

    /// PUBLISH: sends `message` to every receiver and returns how many there
    /// were. A message is a push, which RESP2 flattens to an array.
    pub fn publish(&self, ctx: &mut Ctx<'_>, channel: &[u8], message: &[u8]) -> i64 {
        self.publish_to(ctx, channel, message, |ctx, conn, bytes| ctx.send(conn, bytes))
    }

    /// PUBLISH through the caller's `write` (a server that keeps output
    /// buffers passes its own, so a message queues behind what its receiver
    /// has not taken yet).
    pub fn publish_to(
        &self,
        ctx: &mut Ctx<'_>,
        channel: &[u8],
        message: &[u8],
        mut write: impl FnMut(&mut Ctx<'_>, ConnId, &[u8]),
    ) -> i64 {
        let mut receivers = 0;
        let mut buf = Vec::new();
        let mut push = |ctx: &mut Ctx<'_>, conn: ConnId, items: Vec<Value>| {
            buf.clear();
            Value::Push(items).encode_for(self.protocol(conn), &mut buf);
            write(ctx, conn, &buf);
        };
        for &conn in self.channels.get(channel).into_iter().flatten() {
            push(ctx, conn, vec![Value::bulk("message"), Value::bulk(channel), Value::bulk(message)]);
            receivers += 1;
        }
        for (pattern, conn) in &self.patterns {
            if crate::glob::glob_match(pattern, channel) {
                let items =
                    vec![Value::bulk("pmessage"), Value::bulk(pattern), Value::bulk(channel), Value::bulk(message)];
                push(ctx, *conn, items);
                receivers += 1;
            }
        }
        receivers
    }

    /// SPUBLISH: sends `message` to the shard channel's subscribers as
    /// `smessage` (patterns never match a shard channel) and returns how many
    /// there were.
    pub fn spublish_to(
        &self,
        ctx: &mut Ctx<'_>,
        channel: &[u8],
        message: &[u8],
        mut write: impl FnMut(&mut Ctx<'_>, ConnId, &[u8]),
    ) -> i64 {
        let mut receivers = 0;
        let mut buf = Vec::new();
        for &conn in self.shard_channels.get(channel).into_iter().flatten() {
            buf.clear();
            let items = vec![Value::bulk("smessage"), Value::bulk(channel), Value::bulk(message)];
            Value::Push(items).encode_for(self.protocol(conn), &mut buf);
            write(ctx, conn, &buf);
            receivers += 1;
        }
        receivers
    }

    /// PUBSUB CHANNELS|SHARDCHANNELS [pattern] | NUMSUB|SHARDNUMSUB [channel ...] | NUMPAT | HELP.
    pub fn pubsub_command(&self, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match sub.as_str() {
            "channels" | "shardchannels" if args.len() <= 3 => {
                let map = if sub == "channels" { &self.channels } else { &self.shard_channels };
                let pattern = args.get(2);
                let matching = map.keys().filter(|c| pattern.is_none_or(|p| crate::glob::glob_match(p, c)));
                Value::Array(matching.map(Value::bulk).collect())
            }
            "numsub" | "shardnumsub" => {
                let map = if sub == "numsub" { &self.channels } else { &self.shard_channels };
                let mut out = Vec::new();
                for channel in &args[2..] {
                    out.push(Value::bulk(channel));
                    out.push(Value::Integer(map.get(channel).map_or(0, |l| l.len() as i64)));
                }
                Value::Array(out)
            }
            "numpat" if args.len() == 2 => {
                let distinct: std::collections::BTreeSet<&[u8]> =
                    self.patterns.iter().map(|(p, _)| p.as_slice()).collect();
                Value::Integer(distinct.len() as i64)
            }
            "help" if args.len() == 2 => {
                let header = "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:";
                let lines = std::iter::once(header).chain(PUBSUB_HELP.iter().copied());
                Value::Array(lines.map(|l| Value::Simple(l.into())).collect())
            }
            "numpat" | "help" => Value::error(format!("ERR wrong number of arguments for 'pubsub|{sub}' command")),
            "channels" | "shardchannels" => Value::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&args[1])
            )),
            _ => Value::error(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&args[1])
            )),
        }
    }
}
