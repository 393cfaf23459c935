//! redis-cli as a simulated client process.
//! Each invocation is a new process on a host (like running the command in a
//! shell), so partitions and host crashes apply to it. It connects, optionally
//! authenticates (`-a`), sends one command, and prints the reply as redis-cli does.
//!
//! With `-c` (cluster mode) it follows MOVED and ASK as redis-cli 7.0 does: it
//! reconnects to the node named in the error (re-authenticating), sends ASKING
//! first after an ASK, and reissues the command. Typed at the prompt (or piped
//! to its stdin), redis-cli also prints `-> Redirected to slot [s] located at
//! ip:port` for each redirection; a one-shot `redis-cli -c cmd` prints only the
//! final reply. redis-cli follows redirections without limit; this one stops
//! after [`crate::cluster::MAX_REDIRECTIONS`] and prints the last error.

use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Process};
use std::net::SocketAddrV4;

/// A one-shot redis-cli.
#[derive(Debug)]
pub struct RedisCli {
    target: SocketAddrV4,
    password: Option<String>,
    args: Vec<Vec<u8>>,
    conn: Option<ConnId>,
    decoder: ReplyDecoder,
    awaiting_auth: bool,
    /// `-r <count>`: how many more times to send the command after this reply.
    repeat_left: u32,
    /// Replies printed so far when repeating.
    printed: Vec<String>,
    /// `-c`: follow MOVED/ASK.
    cluster: bool,
    /// Typed at the prompt: redirections are printed.
    interactive: bool,
    /// The next connection sends ASKING before the command (after an ASK).
    asking: bool,
    awaiting_asking: bool,
    redirections: u32,
    /// Stdout is not a terminal: replies as [`resp::render_piped`] prints them.
    piped: bool,
    /// What redis-cli printed, once it has.
    pub output: Option<String>,
    /// Whether what it printed last was an error: an error reply, or no
    /// connection to get one on.
    pub error_reply: bool,
}

impl RedisCli {
    /// A client that will send `args` to `target`.
    pub fn new(target: SocketAddrV4, password: Option<String>, args: Vec<Vec<u8>>) -> RedisCli {
        RedisCli {
            target,
            password,
            args,
            conn: None,
            decoder: ReplyDecoder::default(),
            awaiting_auth: false,
            repeat_left: 0,
            printed: Vec::new(),
            cluster: false,
            interactive: false,
            asking: false,
            awaiting_asking: false,
            redirections: 0,
            piped: false,
            output: None,
            error_reply: false,
        }
    }

    /// Like `redis-cli -c`; `interactive` as if typed at the prompt.
    pub fn cluster_mode(mut self, interactive: bool) -> RedisCli {
        self.cluster = true;
        self.interactive = interactive;
        self
    }

    /// Follows a MOVED/ASK reply if in cluster mode; false if `v` is no redirection to follow.
    fn follow(&mut self, ctx: &mut Ctx<'_>, v: &Value) -> bool {
        let Value::Error(e) = v else { return false };
        let Some(redirect) = crate::cluster::Redirect::parse(e).filter(|_| self.cluster) else { return false };
        if self.redirections >= crate::cluster::MAX_REDIRECTIONS {
            return false;
        }
        self.redirections += 1;
        if self.interactive {
            let to = redirect.addr();
            self.printed.push(format!(
                "-> Redirected to slot [{}] located at {}:{}",
                redirect.slot(),
                to.ip(),
                to.port()
            ));
        }
        if let Some(conn) = self.conn.take() {
            ctx.close(conn);
        }
        self.target = redirect.addr();
        self.asking = matches!(redirect, crate::cluster::Redirect::Ask { .. });
        self.decoder = ReplyDecoder::default();
        self.conn = Some(ctx.connect(self.target));
        true
    }

    /// Its stdout is not a terminal (`redis-cli ... > file`, `--raw`).
    pub fn piped(mut self) -> RedisCli {
        self.piped = true;
        self
    }

    /// Like `redis-cli -r count`: the command runs `count` times, one after the other.
    pub fn repeat(mut self, count: u32) -> RedisCli {
        self.repeat_left = count.saturating_sub(1);
        self
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, text: String) {
        self.output = Some(text);
        if let Some(conn) = self.conn.take() {
            ctx.close(conn);
        }
    }
}

impl Process for RedisCli {
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
                if std::mem::take(&mut self.asking) {
                    self.awaiting_asking = true;
                    ctx.send_with(conn, |buf| resp::encode_command(&[b"ASKING".as_slice()], buf));
                }
                let args = &self.args;
                ctx.send_with(conn, |buf| resp::encode_command(args, buf));
            }
            Input::ConnectFailed { error, .. } => {
                let why = match error {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::Unreachable => "No route to host",
                };
                self.output =
                    Some(format!("Could not connect to Redis at {}:{}: {why}", self.target.ip(), self.target.port()));
                self.error_reply = true;
            }
            Input::Data { bytes, .. } => {
                self.decoder.feed(bytes);
                loop {
                    match self.decoder.next_value() {
                        Decoded::Value(v) if self.awaiting_auth => {
                            self.awaiting_auth = false;
                            // redis-cli reports a failed -a AUTH and still sends the command.
                            if let Value::Error(e) = v {
                                ctx.log(format!("AUTH failed: {e}"));
                            }
                        }
                        Decoded::Value(_) if self.awaiting_asking => self.awaiting_asking = false,
                        Decoded::Value(v) if self.follow(ctx, &v) => return,
                        Decoded::Value(v) => {
                            self.error_reply = matches!(v, Value::Error(_));
                            let text = if self.piped {
                                resp::render_piped(&v)
                            } else if raw_output(&self.args) {
                                render_raw(&v)
                            } else {
                                resp::render(&v)
                            };
                            if self.repeat_left > 0
                                && let Some(conn) = self.conn
                            {
                                self.repeat_left -= 1;
                                self.printed.push(text);
                                let args = &self.args;
                                ctx.send_with(conn, |buf| resp::encode_command(args, buf));
                                continue;
                            }
                            self.printed.push(text);
                            let all = std::mem::take(&mut self.printed).join("\n");
                            return self.finish(ctx, all);
                        }
                        Decoded::Incomplete => return,
                        Decoded::Invalid(e) => {
                            self.error_reply = true;
                            return self.finish(ctx, format!("Error: Protocol error, got {e}"));
                        }
                    }
                }
            }
            Input::Closed { conn, .. } if Some(conn) == self.conn => {
                // A server that goes away after SHUTDOWN did what was asked: redis-cli prints nothing.
                let shutdown = self.args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"shutdown"));
                if self.output.is_none() {
                    self.output =
                        Some(if shutdown { String::new() } else { "Error: Server closed the connection".to_owned() });
                    self.error_reply = !shutdown;
                }
                self.conn = None;
            }
            Input::Closed { .. } | Input::Accepted { .. } | Input::Timer { .. } | Input::Shutdown => {}
        }
    }
}

/// Commands redis-cli prints raw even on a terminal (`cliSendCommand`'s list),
/// so INFO shows as lines rather than one quoted string.
fn raw_output(args: &[Vec<u8>]) -> bool {
    let is = |i: usize, s: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()));
    is(0, "info")
        || is(0, "lolwut")
        || (is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (is(0, "client") && (is(1, "list") || is(1, "info")))
        || (is(0, "memory") && (is(1, "doctor") || is(1, "malloc-stats")))
}

/// redis-cli's raw format: strings and errors as their bytes, without quotes or `(error)`.
fn render_raw(v: &Value) -> String {
    match v {
        Value::Bulk(b) => String::from_utf8_lossy(b).trim_end_matches(['\r', '\n']).to_owned(),
        Value::Error(e) => e.clone(),
        other => resp::render(other),
    }
}
