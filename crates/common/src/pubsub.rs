//! Publish/subscribe as Redis 7.0 does it (pubsub.c): channel and
//! pattern subscriptions per connection, PUBLISH fan-out (channel subscribers
//! first, then pattern subscribers, each in subscription order), PUBSUB
//! introspection, and the restriction on what a subscribed RESP2 client may run.
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
}

#[derive(Debug, Default)]
struct Subscriptions {
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

impl Subscriptions {
    fn count(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }
}

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

    /// Number of channels plus patterns `conn` is subscribed to (0: not in subscribed mode).
    pub fn subscriptions(&self, conn: ConnId) -> usize {
        self.clients.get(&conn).map_or(0, |s| s.count() as usize)
    }

    /// Whether `conn` is subscribed to anything.
    pub fn is_subscribed(&self, conn: ConnId) -> bool {
        self.subscriptions(conn) > 0
    }

    /// Channel and pattern counts of a client, for CLIENT LIST's `sub=` and `psub=`.
    pub fn counts(&self, conn: ConnId) -> (usize, usize) {
        self.clients.get(&conn).map_or((0, 0), |s| (s.channels.len(), s.patterns.len()))
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
            if let Some(list) = self.channels.get_mut(channel) {
                list.retain(|&c| c != conn);
                if list.is_empty() {
                    self.channels.remove(channel);
                }
            }
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

    fn forget_if_idle(&mut self, conn: ConnId) {
        if self.clients.get(&conn).is_some_and(|s| s.count() == 0) {
            self.clients.remove(&conn);
        }
    }

    /// Drops every subscription of a connection that went away.
    pub fn remove_client(&mut self, conn: ConnId) {
        self.resp3.remove(&conn);
        let Some(subs) = self.clients.remove(&conn) else { return };
        for channel in subs.channels {
            if let Some(list) = self.channels.get_mut(&channel) {
                list.retain(|&c| c != conn);
                if list.is_empty() {
                    self.channels.remove(&channel);
                }
            }
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

    /// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT.
    pub fn pubsub_command(&self, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match sub.as_str() {
            "channels" if args.len() <= 3 => Value::Array(
                self.channels
                    .keys()
                    .filter(|c| args.get(2).is_none_or(|p| crate::glob::glob_match(p, c)))
                    .map(Value::bulk)
                    .collect(),
            ),
            "numsub" => {
                let mut out = Vec::new();
                for channel in &args[2..] {
                    out.push(Value::bulk(channel));
                    out.push(Value::Integer(self.channels.get(channel).map_or(0, |l| l.len() as i64)));
                }
                Value::Array(out)
            }
            "numpat" if args.len() == 2 => {
                let distinct: std::collections::BTreeSet<&[u8]> =
                    self.patterns.iter().map(|(p, _)| p.as_slice()).collect();
                Value::Integer(distinct.len() as i64)
            }
            "channels" | "numpat" => Value::error(format!("ERR wrong number of arguments for 'pubsub|{sub}' command")),
            _ => Value::error(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&args[1])
            )),
        }
    }
}
