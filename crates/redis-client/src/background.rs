//! redis-cli left running in the background: one connection that sends a
//! command every `every` (a paced stream of writes, each command numbered
//! through `${i}`), or a single command that may stay blocked (on a paused
//! node, a BLPOP) until someone looks at it again. Every request and reply
//! is kept with its virtual time and noted in the trace.
//!
//! Like redis-cli at its prompt, a lost connection is not the end: the
//! requests in flight get `Error: Server closed the connection`, and the next
//! command connects again; a connection that cannot be made answers the
//! commands waiting for it with redis-cli's `Could not connect to Redis at
//! ip:port: ...`.

use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Instant, Process};
use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::time::Duration;

/// Exchanges kept; the counts go on past this.
pub const MAX_KEPT: usize = 100_000;

/// The placeholder a command's text numbers itself with.
pub const COUNTER: &str = "${i}";

/// One request and its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The command as sent.
    pub request: String,
    /// When it was sent (or, waiting for a connection, meant to be).
    pub sent_at: Instant,
    /// The reply as redis-cli prints it, and when it came.
    pub reply: Option<(Instant, String)>,
    /// Whether the reply was an error reply or a failed connection.
    pub error: bool,
}

/// What the client sends and when.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The node.
    pub target: SocketAddrV4,
    /// `-a`.
    pub password: Option<String>,
    /// The command's text; [`COUNTER`] is replaced by 1, 2, 3...
    pub command: String,
    /// The pace; `None` sends the commands one after the other as replies come.
    pub every: Option<Duration>,
    /// How many commands; `None` until stopped.
    pub count: Option<u64>,
    /// Stdout is not a terminal: replies as [`resp::render_piped`] prints them.
    pub piped: bool,
}

/// The background client.
#[derive(Debug)]
pub struct Background {
    plan: Plan,
    conn: Option<ConnId>,
    connected: bool,
    decoder: ReplyDecoder,
    awaiting_auth: bool,
    /// Commands made but not yet sent (waiting for a connection): (index, args).
    waiting: VecDeque<(usize, Vec<Vec<u8>>)>,
    /// Sent commands whose reply is due, in order.
    in_flight: VecDeque<usize>,
    /// Commands made so far.
    pub made: u64,
    /// Replies (and failures) received.
    pub replied: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// Every request and its reply, the first [`MAX_KEPT`].
    pub exchanges: Vec<Exchange>,
}

impl Background {
    /// A client that will follow `plan`.
    pub fn new(plan: Plan) -> Background {
        Background {
            plan,
            conn: None,
            connected: false,
            decoder: ReplyDecoder::default(),
            awaiting_auth: false,
            waiting: VecDeque::new(),
            in_flight: VecDeque::new(),
            made: 0,
            replied: 0,
            errors: 0,
            exchanges: Vec::new(),
        }
    }

    /// Whether it made every command and has every reply.
    pub fn done(&self) -> bool {
        self.plan.count.is_some_and(|c| self.made >= c) && self.waiting.is_empty() && self.in_flight.is_empty()
    }

    /// The next command, numbered, and its place among the exchanges.
    fn make(&mut self, ctx: &mut Ctx<'_>) -> Option<(usize, Vec<Vec<u8>>)> {
        if self.plan.count.is_some_and(|c| self.made >= c) {
            return None;
        }
        self.made += 1;
        let text = self.plan.command.replace(COUNTER, &self.made.to_string());
        let args = resp::split_args(text.as_bytes()).unwrap_or_default();
        ctx.note("request", text.clone());
        let index = self.exchanges.len();
        if index < MAX_KEPT {
            self.exchanges.push(Exchange { request: text, sent_at: ctx.now(), reply: None, error: false });
        }
        Some((index, args))
    }

    fn send(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, index: usize, args: &[Vec<u8>]) {
        ctx.send_with(conn, |buf| resp::encode_command(args, buf));
        if let Some(e) = self.exchanges.get_mut(index) {
            e.sent_at = ctx.now();
        }
        self.in_flight.push_back(index);
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, index: usize, text: String, error: bool) {
        self.replied += 1;
        self.errors += u64::from(error);
        ctx.note("reply", text.clone());
        if let Some(e) = self.exchanges.get_mut(index) {
            e.reply = Some((ctx.now(), text));
            e.error = error;
        }
    }

    /// The next command goes out now, or waits for the connection.
    fn tick(&mut self, ctx: &mut Ctx<'_>) {
        let Some((index, args)) = self.make(ctx) else { return };
        match self.conn {
            Some(conn) if self.connected => self.send(ctx, conn, index, &args),
            Some(_) => self.waiting.push_back((index, args)),
            None => {
                self.waiting.push_back((index, args));
                self.conn = Some(ctx.connect(self.plan.target));
            }
        }
    }

    fn on_connected(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.connected = true;
        if let Some(pass) = &self.plan.password {
            self.awaiting_auth = true;
            ctx.send_with(conn, |buf| resp::encode_command(&[b"AUTH".as_slice(), pass.as_bytes()], buf));
        }
        while let Some((index, args)) = self.waiting.pop_front() {
            self.send(ctx, conn, index, &args);
        }
    }

    /// The connection is gone: what was in flight or waiting fails with `why`.
    fn lost(&mut self, ctx: &mut Ctx<'_>, why: &str) {
        self.conn = None;
        self.connected = false;
        self.decoder = ReplyDecoder::default();
        self.awaiting_auth = false;
        let failed: Vec<usize> = self.in_flight.drain(..).chain(self.waiting.drain(..).map(|(i, _)| i)).collect();
        for index in failed {
            self.answer(ctx, index, why.to_owned(), true);
        }
        // Unpaced, the next command goes out as soon as this one is answered.
        if self.plan.every.is_none() {
            self.tick(ctx);
        }
    }

    fn on_value(&mut self, ctx: &mut Ctx<'_>, v: &Value) {
        let Some(index) = self.in_flight.pop_front() else { return };
        let text = if self.plan.piped { resp::render_piped(v) } else { resp::render(v) };
        self.answer(ctx, index, text, matches!(v, Value::Error(_)));
        if self.plan.every.is_none() {
            self.tick(ctx);
        }
        if self.done()
            && let Some(conn) = self.conn.take()
        {
            ctx.close(conn);
            self.connected = false;
        }
    }
}

impl Process for Background {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                self.tick(ctx);
                if let Some(every) = self.plan.every {
                    ctx.set_timer(every, 0);
                }
            }
            Input::Timer { .. } => {
                self.tick(ctx);
                if let Some(every) = self.plan.every
                    && self.plan.count.is_none_or(|c| self.made < c)
                {
                    ctx.set_timer(every, 0);
                }
            }
            Input::Connected { conn } if Some(conn) == self.conn => self.on_connected(ctx, conn),
            Input::ConnectFailed { conn, error } if Some(conn) == self.conn => {
                let why = match error {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::Unreachable => "No route to host",
                };
                let (ip, port) = (self.plan.target.ip(), self.plan.target.port());
                self.lost(ctx, &format!("Could not connect to Redis at {ip}:{port}: {why}"));
            }
            Input::Data { conn, bytes } if Some(conn) == self.conn => {
                self.decoder.feed(bytes);
                loop {
                    match self.decoder.next_value() {
                        Decoded::Value(v) if self.awaiting_auth => {
                            self.awaiting_auth = false;
                            if let Value::Error(e) = v {
                                ctx.log(format!("AUTH failed: {e}"));
                            }
                        }
                        Decoded::Value(v) => self.on_value(ctx, &v),
                        Decoded::Incomplete => return,
                        Decoded::Invalid(e) => {
                            if let Some(conn) = self.conn {
                                ctx.close(conn);
                            }
                            return self.lost(ctx, &format!("Error: Protocol error, got {e}"));
                        }
                    }
                    if self.conn != Some(conn) {
                        return;
                    }
                }
            }
            Input::Closed { conn, .. } if Some(conn) == self.conn => {
                self.lost(ctx, "Error: Server closed the connection");
            }
            _ => {}
        }
    }
}
