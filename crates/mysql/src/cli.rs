//! The `mysql` command-line client as a process: it connects, logs in with
//! `mysql_native_password`, sends each statement of its input as COM_QUERY,
//! and prints every reply as the interactive client does ([`crate::output`]).
//! Errors do not stop it (as at the interactive prompt); a failed login or
//! connection does, with the client's own line.

use crate::output::{self, Printed};
use crate::packet::{self, Frame, Framer, Reply};
use sim::{ConnId, Ctx, Input, Process};
use std::net::SocketAddrV4;

#[derive(Debug)]
enum State {
    Connecting,
    Greeting,
    Auth,
    Idle,
    Columns { left: u64, columns: Vec<(String, bool)>, nullable: Vec<bool> },
    Rows { columns: Vec<(String, bool)>, rows: Vec<Vec<Option<String>>>, nullable: Vec<bool> },
    Done,
}

/// One `mysql -u user -p password -h host -P port` session running `statements`.
pub struct MysqlCli {
    addr: SocketAddrV4,
    user: String,
    password: String,
    db: Option<String>,
    statements: Vec<(String, bool)>,
    next: usize,
    conn: Option<ConnId>,
    framer: Framer,
    state: State,
    sent_at: u64,
    saw_column_eof: bool,
    printed: Vec<String>,
    /// Whose client this is: the one shipped with the server it greets (`docker exec ... mysql`).
    flavor: crate::flavor::Flavor,
    /// What the client printed, once it has finished.
    pub output: Option<String>,
    /// Whether any statement got an error reply.
    pub error_reply: bool,
}

impl MysqlCli {
    /// A client for `addr` that will run `input` (statements separated by `;` or `\G`).
    pub fn new(addr: SocketAddrV4, user: &str, password: &str, db: Option<String>, input: &str) -> MysqlCli {
        MysqlCli {
            addr,
            user: user.to_owned(),
            password: password.to_owned(),
            db,
            statements: output::split(input),
            next: 0,
            conn: None,
            framer: Framer::default(),
            state: State::Connecting,
            sent_at: 0,
            saw_column_eof: false,
            printed: Vec::new(),
            output: None,
            error_reply: false,
            flavor: crate::flavor::Flavor::default(),
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(c) = self.conn.take() {
            let mut out = Vec::new();
            packet::frame(0, &[0x01], &mut out);
            ctx.send(c, &out);
            ctx.close(c);
        }
        self.state = State::Done;
        self.output = Some(self.printed.join("\n\n"));
    }

    fn print(&mut self, ctx: &Ctx<'_>, p: Printed) {
        let vertical = self.statements.get(self.next.saturating_sub(1)).is_some_and(|s| s.1);
        let micros = ((ctx.now().since_start().as_nanos() as u64).saturating_sub(self.sent_at)) / 1000;
        if matches!(p, Printed::Error { .. }) {
            self.error_reply = true;
        }
        self.printed.push(output::render_as(&p, vertical, micros, self.flavor.client_decimals()));
    }

    /// Sends the next statement, or finishes.
    fn send_next(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let Some((text, _)) = self.statements.get(self.next).cloned() else {
                self.finish(ctx);
                return;
            };
            self.next += 1;
            if text.is_empty() {
                if self.statements.get(self.next.wrapping_sub(2)).is_some_and(|s| s.1) {
                    self.print(ctx, Printed::NoQuery);
                }
                continue;
            }
            let Some(conn) = self.conn else { return };
            let mut payload = vec![0x03];
            payload.extend_from_slice(text.as_bytes());
            let mut out = Vec::new();
            packet::frame(0, &payload, &mut out);
            ctx.send(conn, &out);
            self.sent_at = ctx.now().since_start().as_nanos() as u64;
            self.state = State::Idle;
            return;
        }
    }

    fn packet(&mut self, ctx: &mut Ctx<'_>, seq: u8, p: &[u8]) {
        let Some(conn) = self.conn else { return };
        match std::mem::replace(&mut self.state, State::Done) {
            State::Greeting => {
                let Some(g) = packet::parse_handshake(p) else { return self.finish(ctx) };
                self.flavor = crate::flavor::Flavor::from_greeting(&g.version);
                let mut out = Vec::new();
                packet::frame(
                    seq.wrapping_add(1),
                    &packet::handshake_response(&self.user, &self.password, &g.scramble, self.db.as_deref()),
                    &mut out,
                );
                ctx.send(conn, &out);
                self.state = State::Auth;
            }
            State::Auth => match packet::parse_reply(p) {
                Some(Reply::Ok { .. }) => self.send_next(ctx),
                Some(Reply::Err { code, state, message }) => {
                    self.printed.push(format!("ERROR {code} ({state}): {message}"));
                    self.error_reply = true;
                    self.finish(ctx);
                }
                _ => self.finish(ctx),
            },
            State::Idle => self.reply(ctx, p),
            State::Columns { left, mut columns, mut nullable } => {
                if let Some((name, numeric, null)) = packet::parse_column_def(p) {
                    columns.push((name, numeric));
                    nullable.push(null);
                }
                self.state = if left > 1 {
                    State::Columns { left: left - 1, columns, nullable }
                } else {
                    State::Rows { columns, rows: Vec::new(), nullable }
                };
            }
            State::Rows { columns, mut rows, nullable } => {
                if packet::is_eof(p) {
                    // the EOF after the column definitions comes first
                    if rows.is_empty() && !self.saw_column_eof {
                        self.saw_column_eof = true;
                        self.state = State::Rows { columns, rows, nullable };
                        return;
                    }
                    self.saw_column_eof = false;
                    self.print(ctx, Printed::Rows { columns, rows, nullable });
                    self.send_next(ctx);
                } else {
                    rows.extend(packet::parse_row(p, columns.len()));
                    self.state = State::Rows { columns, rows, nullable };
                }
            }
            other => self.state = other,
        }
    }

    fn reply(&mut self, ctx: &mut Ctx<'_>, p: &[u8]) {
        match packet::parse_reply(p) {
            Some(Reply::Ok { affected, warnings, info, .. }) => {
                let stmt = self.statements.get(self.next - 1).map(|s| s.0.to_ascii_lowercase()).unwrap_or_default();
                let printed = if stmt.starts_with("use ") {
                    Printed::DatabaseChanged
                } else {
                    Printed::Ok { affected, warnings, info }
                };
                self.print(ctx, printed);
                self.send_next(ctx);
            }
            Some(Reply::Err { code, state, message }) => {
                self.print(ctx, Printed::Error { code, state, message });
                self.send_next(ctx);
            }
            Some(Reply::Columns(n)) => {
                self.state = State::Columns { left: n, columns: Vec::new(), nullable: Vec::new() }
            }
            None => self.finish(ctx),
        }
    }
}

impl Process for MysqlCli {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                self.conn = Some(ctx.connect(self.addr));
                self.state = State::Connecting;
            }
            Input::Connected { .. } => self.state = State::Greeting,
            Input::ConnectFailed { .. } => {
                self.conn = None;
                self.printed.push(format!("ERROR 2002 (HY000): Can't connect to server on '{}' (115)", self.addr.ip()));
                self.error_reply = true;
                self.finish(ctx);
            }
            Input::Data { bytes, .. } => {
                self.framer.push(bytes);
                while let Some(frame) = self.framer.next_frame() {
                    match frame {
                        Frame::Packet(seq, p) => {
                            let p = p.to_vec();
                            self.packet(ctx, seq, &p)
                        }
                        Frame::TooLarge => return self.finish(ctx),
                    }
                    if matches!(self.state, State::Done) {
                        return;
                    }
                }
            }
            Input::Closed { .. } if !matches!(self.state, State::Done) => {
                self.conn = None;
                if self.output.is_none() && self.next > 0 {
                    self.printed.push("ERROR 2013 (HY000): Lost connection to server during query".to_owned());
                    self.error_reply = true;
                }
                self.finish(ctx);
            }
            _ => {}
        }
    }
}
