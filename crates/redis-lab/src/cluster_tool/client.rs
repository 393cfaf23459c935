//! The process holding redis-cli's connections, one per node, as hiredis
//! contexts: it connects, decodes replies into a queue per node, and notes
//! why a link went down. The manager's blocking calls read it between events.

use resp::{Decoded, ReplyDecoder, Value};
use sim::{ConnId, ConnectError, Ctx, Input, Process};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddrV4;

#[derive(Debug)]
pub(super) enum LinkState {
    Connecting,
    Up,
    Down(String),
}

#[derive(Debug)]
pub(super) struct Link {
    pub(super) conn: ConnId,
    pub(super) state: LinkState,
    decoder: ReplyDecoder,
    pub(super) replies: VecDeque<Value>,
}

/// The process holding redis-cli's connections, one per node, as hiredis contexts.
#[derive(Debug, Default)]
pub struct ToolClient {
    pub(super) links: BTreeMap<SocketAddrV4, Link>,
    by_conn: BTreeMap<ConnId, SocketAddrV4>,
}

impl ToolClient {
    pub(super) fn open(&mut self, ctx: &mut Ctx<'_>, addr: SocketAddrV4) {
        if let Some(old) = self.links.remove(&addr) {
            self.by_conn.remove(&old.conn);
            ctx.close(old.conn);
        }
        let conn = ctx.connect(addr);
        self.by_conn.insert(conn, addr);
        let link =
            Link { conn, state: LinkState::Connecting, decoder: ReplyDecoder::default(), replies: VecDeque::new() };
        self.links.insert(addr, link);
    }

    fn link(&mut self, conn: ConnId) -> Option<&mut Link> {
        let addr = self.by_conn.get(&conn)?;
        self.links.get_mut(addr)
    }
}

impl Process for ToolClient {
    fn handle(&mut self, _ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Connected { conn } => {
                if let Some(l) = self.link(conn) {
                    l.state = LinkState::Up;
                }
            }
            Input::ConnectFailed { conn, error } => {
                if let Some(l) = self.link(conn) {
                    let why = match error {
                        ConnectError::Refused => "Connection refused",
                        ConnectError::TimedOut => "Connection timed out",
                        ConnectError::Unreachable => "No route to host",
                    };
                    l.state = LinkState::Down(why.to_owned());
                }
            }
            Input::Data { conn, bytes } => {
                if let Some(l) = self.link(conn) {
                    l.decoder.feed(bytes);
                    while let Decoded::Value(v) = l.decoder.next_value() {
                        l.replies.push_back(v);
                    }
                }
            }
            Input::Closed { conn, .. } => {
                if let Some(l) = self.link(conn) {
                    l.state = LinkState::Down("Server closed the connection".to_owned());
                }
            }
            Input::Start | Input::Shutdown | Input::Accepted { .. } | Input::Timer { .. } => {}
        }
    }
}
