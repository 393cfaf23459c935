//! redis-cli with several commands on one connection, as typed at its prompt
//! or piped to its stdin: one after the other (each sent once the previous one
//! has its reply), or pipelined (all sent before any reply is read). A
//! transaction (MULTI, QUEUED, EXEC), WATCH, READONLY then GET, or SUBSCRIBE
//! then the messages that arrive: what one-shot redis-cli cannot show, since
//! each invocation is a new connection.
//!
//! Every reply is rendered as redis-cli prints it. SUBSCRIBE-like commands get
//! one confirmation per channel, as the server sends them; after the last
//! reply the session can keep listening for a while and collect whatever the
//! server pushes (published messages, invalidations).

use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Process};
use std::net::SocketAddrV4;
use std::time::Duration;

/// A redis-cli session on one connection.
#[derive(Debug)]
pub struct Session {
    target: SocketAddrV4,
    password: Option<String>,
    commands: Vec<Vec<Vec<u8>>>,
    pipeline: bool,
    listen: Duration,
    conn: Option<ConnId>,
    decoder: ReplyDecoder,
    awaiting_auth: bool,
    /// Replies still due for the command being answered.
    due: usize,
    /// Commands sent so far.
    sent: usize,
    /// Stdout is not a terminal: replies as [`resp::render_piped`] prints them.
    piped: bool,
    /// Each command's replies as redis-cli prints them (SUBSCRIBE: one per channel).
    pub replies: Vec<Vec<String>>,
    /// Whether each command got an error reply.
    pub error_replies: Vec<bool>,
    /// What arrived after the last reply, while listening.
    pub messages: Vec<String>,
    /// Why the session ended early (a refused connection, a closed one).
    pub error: Option<String>,
    /// Whether the session is over.
    pub done: bool,
}

/// How many replies a command gets: one per channel for the (un)subscribe
/// family (at least one), one for anything else.
fn replies_due(args: &[Vec<u8>]) -> usize {
    let name = args.first().map(|a| a.to_ascii_lowercase()).unwrap_or_default();
    match name.as_slice() {
        b"subscribe" | b"psubscribe" | b"unsubscribe" | b"punsubscribe" => (args.len() - 1).max(1),
        _ => 1,
    }
}

impl Session {
    /// A session that will run `commands` against `target`, then listen for `listen`.
    pub fn new(target: SocketAddrV4, password: Option<String>, commands: Vec<Vec<Vec<u8>>>) -> Session {
        Session {
            target,
            password,
            commands,
            pipeline: false,
            listen: Duration::ZERO,
            conn: None,
            decoder: ReplyDecoder::default(),
            awaiting_auth: false,
            due: 0,
            sent: 0,
            piped: false,
            replies: Vec::new(),
            error_replies: Vec::new(),
            messages: Vec::new(),
            error: None,
            done: false,
        }
    }

    /// All commands are sent at once, before any reply is read.
    pub fn pipelined(mut self) -> Session {
        self.pipeline = true;
        self
    }

    /// Its stdout is not a terminal (`redis-cli > file`, `--raw`).
    pub fn piped(mut self) -> Session {
        self.piped = true;
        self
    }

    fn render(&self, v: &Value) -> String {
        if self.piped { resp::render_piped(v) } else { resp::render(v) }
    }

    /// After the last reply, keep reading pushed messages for `d`.
    pub fn listen_for(mut self, d: Duration) -> Session {
        self.listen = d;
        self
    }

    fn send_next(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(args) = self.commands.get(self.sent) else { return };
        ctx.send_with(conn, |buf| resp::encode_command(args, buf));
        self.sent += 1;
    }

    fn end(&mut self, ctx: &mut Ctx<'_>, error: Option<String>) {
        self.error = self.error.take().or(error);
        self.done = true;
        if let Some(conn) = self.conn.take() {
            ctx.close(conn);
        }
    }

    /// One decoded value: a reply to the command being answered, or a message.
    fn on_value(&mut self, ctx: &mut Ctx<'_>, v: &Value) {
        if self.replies.len() == self.commands.len() && self.due == 0 {
            let text = self.render(v);
            self.messages.push(text);
            return;
        }
        if self.due == 0 {
            let i = self.replies.len();
            self.due = replies_due(&self.commands[i]);
            self.replies.push(Vec::new());
            self.error_replies.push(false);
        }
        let text = self.render(v);
        self.replies.last_mut().expect("a reply list was pushed").push(text);
        if matches!(v, Value::Error(_)) {
            *self.error_replies.last_mut().expect("pushed with the replies") = true;
        }
        self.due -= 1;
        if self.due > 0 {
            return;
        }
        if self.replies.len() < self.commands.len() {
            if !self.pipeline
                && let Some(conn) = self.conn
            {
                self.send_next(ctx, conn);
            }
        } else if self.listen.is_zero() {
            self.end(ctx, None);
        } else {
            ctx.set_timer(self.listen, 0);
        }
    }
}

impl Process for Session {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => self.conn = Some(ctx.connect(self.target)),
            Input::Connected { conn } => {
                if let Some(pass) = &self.password {
                    self.awaiting_auth = true;
                    ctx.send_with(conn, |buf| resp::encode_command(&[b"AUTH".as_slice(), pass.as_bytes()], buf));
                }
                let count = if self.pipeline { self.commands.len() } else { 1 };
                for _ in 0..count {
                    self.send_next(ctx, conn);
                }
                if self.commands.is_empty() {
                    self.end(ctx, None);
                }
            }
            Input::ConnectFailed { error, .. } => {
                let why = match error {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::Unreachable => "No route to host",
                };
                let (ip, port) = (self.target.ip(), self.target.port());
                self.end(ctx, Some(format!("Could not connect to Redis at {ip}:{port}: {why}")));
            }
            Input::Data { bytes, .. } => {
                self.decoder.feed(bytes);
                while !self.done {
                    match self.decoder.next_value() {
                        Decoded::Value(v) if self.awaiting_auth => {
                            self.awaiting_auth = false;
                            if let Value::Error(e) = v {
                                ctx.log(format!("AUTH failed: {e}"));
                            }
                        }
                        Decoded::Value(v) => self.on_value(ctx, &v),
                        Decoded::Incomplete => return,
                        Decoded::Invalid(e) => return self.end(ctx, Some(format!("Error: Protocol error, got {e}"))),
                    }
                }
            }
            Input::Timer { .. } => self.end(ctx, None),
            Input::Closed { conn, .. } if Some(conn) == self.conn => {
                self.conn = None;
                if !self.done {
                    self.end(ctx, Some("Error: Server closed the connection".to_owned()));
                }
            }
            Input::Closed { .. } | Input::Accepted { .. } | Input::Shutdown => {}
        }
    }
}
