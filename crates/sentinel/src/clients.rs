//! The connections clients make to a Sentinel, and the commands about them
//! that redis-sentinel shares with redis-server: CLIENT, HELLO, AUTH and ACL
//! for a server whose only user is `default` with no password.

use crate::command_table;
use crate::sentinel::Sentinel;
use resp::{Protocol, RequestParser, Value};
use sim::{ConnId, Ctx};
use std::fmt::Write as _;
use std::net::SocketAddrV4;

/// CLIENT REPLY's modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyMode {
    On,
    Off,
    /// The next command's reply is dropped, then ON again.
    SkipNext,
    /// The reply being dropped now, after SKIP.
    Skipping,
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) parser: RequestParser,
    pub(crate) name: Vec<u8>,
    pub(crate) closing: bool,
    pub(crate) peer: SocketAddrV4,
    pub(crate) local_port: u16,
    pub(crate) created_ms: i64,
    pub(crate) last_cmd_ms: i64,
    /// The full name of the last command run (`client|list`), as CLIENT LIST shows it.
    pub(crate) last_cmd: String,
    pub(crate) proto: Protocol,
    pub(crate) no_evict: bool,
    pub(crate) reply: ReplyMode,
}

impl Client {
    pub(crate) fn new(id: u64, peer: SocketAddrV4, local_port: u16, now_ms: i64) -> Client {
        Client {
            id,
            parser: RequestParser::default(),
            name: Vec::new(),
            closing: false,
            peer,
            local_port,
            created_ms: now_ms,
            last_cmd_ms: now_ms,
            last_cmd: "NULL".to_owned(),
            proto: Protocol::Resp2,
            no_evict: false,
            reply: ReplyMode::On,
        }
    }
}

/// One of CLIENT KILL's filters.
type KillFilter = Box<dyn Fn(ConnId, &Client) -> bool>;

/// The client types CLIENT LIST/KILL TYPE take.
fn client_type(word: &[u8]) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_slice() {
        b"normal" => "normal",
        b"master" => "master",
        b"replica" | b"slave" => "replica",
        b"pubsub" => "pubsub",
        _ => return None,
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `validateClientName`: printable ASCII without spaces.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// The default user as ACL GETUSER shows it.
fn default_user() -> Value {
    let b = Value::bulk;
    Value::Map(vec![
        (b("flags"), Value::Set(vec![b("on"), b("nopass")])),
        (b("passwords"), Value::Array(Vec::new())),
        (b("commands"), b("+@all")),
        (b("keys"), b("~*")),
        (b("channels"), b("&*")),
        (b("selectors"), Value::Array(Vec::new())),
    ])
}

impl Sentinel {
    /// `catClientInfoString` for a Sentinel's client: no database, no MULTI,
    /// no tracking; flags `P` for a subscriber, `e` for no-evict.
    fn client_line(&self, conn: ConnId, c: &Client, now_ms: i64) -> String {
        let (sub, psub, ssub) = self.pubsub.counts(conn);
        let mut flags = String::new();
        if self.pubsub.is_subscribed(conn) {
            flags.push('P');
        }
        if c.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={}:{} fd={} name={} age={} idle={} flags={flags} db=0 sub={sub} psub={psub} ssub={ssub} \
             multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem=20496 \
             events=r cmd={} user=default redir=-1 resp={}",
            c.id,
            c.peer,
            c.peer.ip(),
            c.local_port,
            c.id + 4,
            text(&c.name),
            (now_ms - c.created_ms).max(0) / 1000,
            (now_ms - c.last_cmd_ms).max(0) / 1000,
            c.last_cmd,
            c.proto.version()
        )
    }

    fn client_kind(&self, conn: ConnId) -> &'static str {
        if self.pubsub.is_subscribed(conn) { "pubsub" } else { "normal" }
    }

    /// CLIENT's subcommands, arity already checked against the table.
    pub(crate) fn client_command(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, args: &[Vec<u8>]) -> Value {
        let now = ctx.wall_clock_ms();
        let sub = args[1].to_ascii_lowercase();
        let Some(client) = self.clients.get_mut(&conn) else { return Value::Nil };
        match sub.as_slice() {
            b"id" => Value::Integer(client.id as i64),
            b"getname" if client.name.is_empty() => Value::Nil,
            b"getname" => Value::Bulk(client.name.clone()),
            b"setname" if !valid_name(&args[2]) => Value::error(BAD_NAME),
            b"setname" => {
                client.name = args[2].clone();
                Value::ok()
            }
            b"getredir" => Value::Integer(-1),
            b"no-evict" => match args[2].to_ascii_lowercase().as_slice() {
                b"on" | b"off" => {
                    client.no_evict = args[2].eq_ignore_ascii_case(b"on");
                    Value::ok()
                }
                _ => Value::error("ERR syntax error"),
            },
            b"reply" => match args[2].to_ascii_lowercase().as_slice() {
                b"on" => {
                    client.reply = ReplyMode::On;
                    Value::ok()
                }
                b"off" => {
                    client.reply = ReplyMode::Off;
                    Value::ok()
                }
                b"skip" => {
                    client.reply = ReplyMode::SkipNext;
                    Value::ok()
                }
                _ => Value::error("ERR syntax error"),
            },
            b"trackinginfo" => Value::Map(vec![
                (Value::bulk("flags"), Value::Set(vec![Value::bulk("off")])),
                (Value::bulk("redirect"), Value::Integer(-1)),
                (Value::bulk("prefixes"), Value::Array(Vec::new())),
            ]),
            b"caching" => Value::error(
                "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            ),
            b"unblock" => unblock(&args[2..]),
            b"info" => {
                let c = &self.clients[&conn];
                Value::Verbatim(format!("{}\n", self.client_line(conn, c, now)).into_bytes())
            }
            b"list" => self.client_list(now, &args[2..]),
            b"kill" => self.client_kill(conn, &args[2..]),
            b"help" => common::help_reply(common::client::HELP),
            _ => not_simulated("CLIENT", &args[1]),
        }
    }

    fn client_list(&self, now: i64, filter: &[Vec<u8>]) -> Value {
        let mut ids: Option<Vec<u64>> = None;
        let mut kind = None;
        match filter {
            [] => {}
            [t, k] if t.eq_ignore_ascii_case(b"type") => match client_type(k) {
                Some(k) => kind = Some(k),
                None => return Value::error(format!("ERR Unknown client type '{}'", text(k))),
            },
            [t, list @ ..] if t.eq_ignore_ascii_case(b"id") && !list.is_empty() => {
                let parsed: Option<Vec<u64>> =
                    list.iter().map(|i| resp::parse_ll(i).filter(|n| *n > 0).map(|n| n as u64)).collect();
                match parsed {
                    Some(p) => ids = Some(p),
                    None => return Value::error("ERR Invalid client ID"),
                }
            }
            _ => return Value::error("ERR syntax error"),
        }
        let mut out = String::new();
        for (&conn, c) in &self.clients {
            let wanted =
                kind.is_none_or(|k| k == self.client_kind(conn)) && ids.as_ref().is_none_or(|ids| ids.contains(&c.id));
            if wanted {
                let _ = writeln!(out, "{}", self.client_line(conn, c, now));
            }
        }
        Value::Verbatim(out.into_bytes())
    }

    /// CLIENT KILL, the old form (`<ip:port>`) and the filter form.
    fn client_kill(&mut self, me: ConnId, filter: &[Vec<u8>]) -> Value {
        if let [addr] = filter {
            let found = self.clients.iter().find(|(_, c)| c.peer.to_string().as_bytes() == addr.as_slice());
            let Some((&conn, _)) = found else { return Value::error("ERR No such client") };
            self.clients.get_mut(&conn).expect("found").closing = true;
            return Value::ok();
        }
        if !filter.len().is_multiple_of(2) {
            return Value::error("ERR syntax error");
        }
        let mut skip_me = true;
        let mut tests: Vec<KillFilter> = Vec::new();
        for pair in filter.chunks(2) {
            let value = pair[1].clone();
            match pair[0].to_ascii_lowercase().as_slice() {
                b"id" => match resp::parse_ll(&value).filter(|n| *n > 0) {
                    Some(id) => tests.push(Box::new(move |_, c| c.id == id as u64)),
                    None => return Value::error("ERR client-id should be greater than 0"),
                },
                b"type" => match client_type(&value) {
                    Some(k) => {
                        let subscribed: Vec<ConnId> =
                            self.clients.keys().copied().filter(|c| self.pubsub.is_subscribed(*c)).collect();
                        tests.push(Box::new(move |conn, _| {
                            k == if subscribed.contains(&conn) { "pubsub" } else { "normal" }
                        }));
                    }
                    None => return Value::error(format!("ERR Unknown client type '{}'", text(&value))),
                },
                b"addr" => tests.push(Box::new(move |_, c| c.peer.to_string().as_bytes() == value.as_slice())),
                b"laddr" => tests.push(Box::new(move |_, c| {
                    format!("{}:{}", c.peer.ip(), c.local_port).as_bytes() == value.as_slice()
                })),
                b"user" if value == b"default" => {}
                b"user" => return Value::error(format!("ERR No such user '{}'", text(&value))),
                b"skipme" => match value.to_ascii_lowercase().as_slice() {
                    b"yes" => skip_me = true,
                    b"no" => skip_me = false,
                    _ => return Value::error("ERR syntax error"),
                },
                _ => return Value::error("ERR syntax error"),
            }
        }
        let victims: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|&(&conn, c)| !(skip_me && conn == me) && tests.iter().all(|t| t(conn, c)))
            .map(|(&conn, _)| conn)
            .collect();
        for conn in &victims {
            self.clients.get_mut(conn).expect("listed").closing = true;
        }
        Value::Integer(victims.len() as i64)
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]].
    pub(crate) fn hello_command(&mut self, conn: ConnId, args: &[Vec<u8>]) -> Value {
        let Some(client) = self.clients.get(&conn) else { return Value::Nil };
        let mut proto = client.proto;
        let mut name = None;
        if let Some(v) = args.get(1) {
            proto = match resp::parse_ll(v) {
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                Some(_) => return Value::error("NOPROTO unsupported protocol version"),
                None => return Value::error("ERR Protocol version is not an integer or out of range"),
            };
        }
        let mut i = 2;
        while i < args.len() {
            let more = args.len() - i - 1;
            match args[i].to_ascii_lowercase().as_slice() {
                b"auth" if more >= 2 => {
                    if let Some(e) = check_auth(&args[i + 1], &args[i + 2]) {
                        return e;
                    }
                    i += 3;
                }
                b"setname" if more >= 1 => {
                    if !valid_name(&args[i + 1]) {
                        return Value::error(BAD_NAME);
                    }
                    name = Some(args[i + 1].clone());
                    i += 2;
                }
                _ => return Value::error(format!("ERR Syntax error in HELLO option '{}'", text(&args[i]))),
            }
        }
        let client = self.clients.get_mut(&conn).expect("checked above");
        client.proto = proto;
        if let Some(name) = name {
            client.name = name;
        }
        let id = client.id as i64;
        self.pubsub.set_protocol(conn, proto);
        let b = Value::bulk;
        Value::Map(vec![
            (b("server"), b("redis")),
            (b("version"), b(common::VERSION)),
            (b("proto"), Value::Integer(proto.version())),
            (b("id"), Value::Integer(id)),
            (b("mode"), b("sentinel")),
            (b("modules"), Value::Array(Vec::new())),
        ])
    }

    /// AUTH [user] password, for the default user without a password.
    pub(crate) fn auth_command(args: &[Vec<u8>]) -> Value {
        match args {
            [_, _] => Value::error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ),
            [_, user, pass] => check_auth(user, pass).unwrap_or_else(Value::ok),
            _ => Value::error("ERR syntax error"),
        }
    }

    /// ACL's subcommands for the lone `default` user, arity already checked.
    pub(crate) fn acl_command(&mut self, args: &[Vec<u8>]) -> Value {
        let b = Value::bulk;
        match args[1].to_ascii_lowercase().as_slice() {
            b"whoami" => b("default"),
            b"users" => Value::Array(vec![b("default")]),
            b"list" => Value::Array(vec![b("user default on nopass ~* &* +@all")]),
            b"cat" if args.len() == 2 => Value::Array(common::acl::CATEGORIES.iter().copied().map(b).collect()),
            b"cat" if args.len() == 3 => match command_table::table().in_category(&text(&args[2])) {
                Some(names) => Value::Array(names),
                None => Value::error(format!("ERR Unknown category '{}'", text(&args[2]))),
            },
            b"getuser" if args[2] == b"default" => default_user(),
            b"getuser" => Value::Nil,
            b"help" => common::help_reply(common::acl::HELP),
            b"cat" => Value::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
                text(&args[1])
            )),
            _ => not_simulated("ACL", &args[1]),
        }
    }
}

/// AUTH's check of a user and password: the default user takes any password.
fn check_auth(user: &[u8], _pass: &[u8]) -> Option<Value> {
    (user != b"default").then(|| Value::error("WRONGPASS invalid username-password pair or user is disabled."))
}

/// CLIENT UNBLOCK: a Sentinel's clients never block.
fn unblock(args: &[Vec<u8>]) -> Value {
    if resp::parse_ll(&args[0]).is_none() {
        return Value::error("ERR value is not an integer or out of range");
    }
    match args.get(1).map(|a| a.to_ascii_lowercase()) {
        None => Value::Integer(0),
        Some(r) if r == b"timeout" || r == b"error" => Value::Integer(0),
        Some(_) => Value::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    }
}

/// A subcommand in Sentinel's table that this simulation does not model.
fn not_simulated(container: &str, sub: &[u8]) -> Value {
    Value::error(format!("ERR {container} {} is not simulated by chaoslab's Sentinel", text(sub).to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn auth_and_names_answer_as_a_passwordless_default_user_does() {
        assert_eq!(
            Sentinel::auth_command(&args("AUTH a b")),
            Value::error("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(Sentinel::auth_command(&args("AUTH default anything")), Value::ok());
        assert_eq!(Sentinel::auth_command(&args("AUTH a b c")), Value::error("ERR syntax error"));
        assert!(valid_name(b"lab-1"));
        assert!(!valid_name(b"a b"));
        assert!(!valid_name(b"a\nb"));
        assert_eq!(unblock(&args("abc")), Value::error("ERR value is not an integer or out of range"));
        assert_eq!(unblock(&args("5 error")), Value::Integer(0));
        assert_eq!(unblock(&args("5 later")), Value::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"));
    }
}
