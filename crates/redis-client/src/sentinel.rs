//! A Sentinel-aware client, as redis-py's `Sentinel.master_for` or Jedis's
//! `JedisSentinelPool` behave: ask the Sentinels in turn for the master's
//! address (`SENTINEL GET-MASTER-ADDR-BY-NAME`), connect there, run commands,
//! and follow `+switch-master` (subscribed on the Sentinel that answered) or a
//! lost connection by asking again. [`SentinelClient`] runs a list of
//! commands that way.

use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, Ctx, Input, Process};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const TIMER_NEXT: u64 = 1;
const TIMER_RETRY: u64 = 2;
/// Pause before asking the Sentinels again when none answered.
const RETRY: Duration = Duration::from_millis(100);

#[derive(Debug)]
enum Phase {
    /// Asking Sentinel number `index` where the master is.
    Asking { conn: ConnId, index: usize },
    /// Connected (or connecting) to the master.
    Master { conn: ConnId, addr: SocketAddrV4, open: bool },
    /// Waiting before asking the Sentinels again.
    Idle,
}

/// One command's outcome: the master that served it and the reply as redis-cli prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// `ip:port` of the master, as the Sentinels named it.
    pub master: String,
    /// The reply, rendered as redis-cli does.
    pub reply: String,
}

/// The client process.
#[derive(Debug)]
pub struct SentinelClient {
    sentinels: Vec<SocketAddrV4>,
    name: String,
    commands: Vec<Vec<Vec<u8>>>,
    interval: Duration,
    phase: Phase,
    decoder: ReplyDecoder,
    /// Subscription to `+switch-master` on the Sentinel that answered last.
    events: Option<(ConnId, ReplyDecoder)>,
    in_flight: bool,
    /// How many times the client (re)learnt the master's address.
    pub resolutions: u32,
    /// Every finished command, in order.
    pub served: Vec<Served>,
}

impl SentinelClient {
    /// A client for master `name` known to `sentinels` that runs `commands`
    /// one after the other, `interval` apart.
    pub fn new(sentinels: Vec<SocketAddrV4>, name: String, commands: Vec<Vec<Vec<u8>>>, interval: Duration) -> Self {
        SentinelClient {
            sentinels,
            name,
            commands,
            interval,
            phase: Phase::Idle,
            decoder: ReplyDecoder::default(),
            events: None,
            in_flight: false,
            resolutions: 0,
            served: Vec::new(),
        }
    }

    /// Whether every command has its reply.
    pub fn done(&self) -> bool {
        self.served.len() == self.commands.len()
    }

    fn ask(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        if index >= self.sentinels.len() {
            self.phase = Phase::Idle;
            ctx.set_timer(RETRY, TIMER_RETRY);
            return;
        }
        let conn = ctx.connect(self.sentinels[index]);
        self.phase = Phase::Asking { conn, index };
        self.decoder = ReplyDecoder::default();
    }

    fn current(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Asking { conn, .. } | Phase::Master { conn, .. } => Some(conn),
            Phase::Idle => None,
        }
    }

    /// Drops the master connection and asks the Sentinels again.
    fn reresolve(&mut self, ctx: &mut Ctx<'_>) {
        if let Phase::Master { conn, .. } = self.phase {
            ctx.close(conn);
        }
        self.in_flight = false;
        self.ask(ctx, 0);
    }

    fn send_next(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Master { conn, open: true, .. } = self.phase else { return };
        if self.in_flight || self.done() {
            return;
        }
        self.in_flight = true;
        let args = &self.commands[self.served.len()];
        ctx.send_with(conn, |b| resp::encode_command(args, b));
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_>, v: Value) {
        match self.phase {
            Phase::Asking { conn, index } => {
                ctx.close(conn);
                match v {
                    Value::Array(parts) if parts.len() == 2 => {
                        let text = |v: &Value| match v {
                            Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                            _ => String::new(),
                        };
                        let (ip, port) = (text(&parts[0]).parse::<Ipv4Addr>(), text(&parts[1]).parse::<u16>());
                        let (Ok(ip), Ok(port)) = (ip, port) else { return self.ask(ctx, index + 1) };
                        let addr = SocketAddrV4::new(ip, port);
                        self.resolutions += 1;
                        self.subscribe(ctx, self.sentinels[index]);
                        let conn = ctx.connect(addr);
                        self.phase = Phase::Master { conn, addr, open: false };
                        self.decoder = ReplyDecoder::default();
                    }
                    _ => self.ask(ctx, index + 1),
                }
            }
            Phase::Master { addr, .. } => {
                self.in_flight = false;
                // A demoted master answers writes with READONLY: ask where the master went.
                if matches!(&v, Value::Error(e) if e.starts_with("READONLY")) {
                    return self.reresolve(ctx);
                }
                self.served.push(Served { master: addr.to_string(), reply: resp::render(&v) });
                if !self.done() {
                    ctx.set_timer(self.interval, TIMER_NEXT);
                }
            }
            Phase::Idle => {}
        }
    }

    fn subscribe(&mut self, ctx: &mut Ctx<'_>, sentinel: SocketAddrV4) {
        if let Some((old, _)) = self.events.take() {
            ctx.close(old);
        }
        let conn = ctx.connect(sentinel);
        ctx.send_with(conn, |b| resp::encode_command(&[b"SUBSCRIBE".as_slice(), b"+switch-master"], b));
        self.events = Some((conn, ReplyDecoder::default()));
    }

    fn on_event_data(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]) {
        let Some((_, decoder)) = &mut self.events else { return };
        decoder.feed(bytes);
        let mut switched = false;
        while let Decoded::Value(v) = decoder.next_value() {
            if let Value::Array(parts) = v
                && let [Value::Bulk(kind), _, Value::Bulk(msg)] = parts.as_slice()
                && kind == b"message"
                && msg.split(|&b| b == b' ').next() == Some(self.name.as_bytes())
            {
                switched = true;
            }
        }
        if switched {
            self.reresolve(ctx);
        }
    }
}

impl Process for SentinelClient {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => self.ask(ctx, 0),
            Input::Connected { conn } => match self.phase {
                Phase::Asking { conn: c, .. } if c == conn => {
                    let name = self.name.clone();
                    ctx.send_with(conn, |b| {
                        resp::encode_command(&[b"SENTINEL".as_slice(), b"get-master-addr-by-name", name.as_bytes()], b)
                    });
                }
                Phase::Master { conn: c, addr, .. } if c == conn => {
                    self.phase = Phase::Master { conn, addr, open: true };
                    self.send_next(ctx);
                }
                _ => {}
            },
            Input::ConnectFailed { conn, .. } | Input::Closed { conn, .. } => {
                if self.events.as_ref().is_some_and(|(c, _)| *c == conn) {
                    self.events = None;
                    return;
                }
                if self.current() != Some(conn) {
                    return;
                }
                match self.phase {
                    Phase::Asking { index, .. } => self.ask(ctx, index + 1),
                    Phase::Master { .. } => {
                        // The master is gone: ask again shortly (the Sentinels may not know yet).
                        self.phase = Phase::Idle;
                        self.in_flight = false;
                        ctx.set_timer(RETRY, TIMER_RETRY);
                    }
                    Phase::Idle => {}
                }
            }
            Input::Data { conn, bytes } => {
                if self.events.as_ref().is_some_and(|(c, _)| *c == conn) {
                    return self.on_event_data(ctx, bytes);
                }
                if self.current() != Some(conn) {
                    return;
                }
                self.decoder.feed(bytes);
                while let Decoded::Value(v) = self.decoder.next_value() {
                    self.on_reply(ctx, v);
                    if self.current() != Some(conn) {
                        break;
                    }
                }
            }
            Input::Timer { tag: TIMER_NEXT, .. } => self.send_next(ctx),
            Input::Timer { tag: TIMER_RETRY, .. } => {
                if matches!(self.phase, Phase::Idle) {
                    self.ask(ctx, 0);
                }
            }
            Input::Timer { .. } | Input::Accepted { .. } | Input::Shutdown => {}
        }
    }
}
