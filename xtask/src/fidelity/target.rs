//! One interface over the two sides of every case: real processes on loopback
//! ([`super::real::Real`]) and the simulator ([`super::simulated::Simulated`]).
//! A case is written once against [`Target`]; what it observes on each side is
//! compared byte for byte.

use resp::{Decoded, ReplyDecoder, Value};
use std::time::Duration;

/// A client connection opened by [`Target::connect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn(pub usize);

/// How a server is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: no shutdown path.
    Kill,
    /// SIGTERM: Redis's shutdown path (a final save when save points are set).
    Term,
    /// SIGSTOP: frozen, its sockets stay open.
    Stop,
    /// SIGCONT after a SIGSTOP.
    Cont,
}

/// A reply exactly as it came off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The raw RESP bytes of one reply.
    pub raw: Vec<u8>,
}

impl Reply {
    /// The decoded value (`None` if the bytes are not exactly one RESP value).
    pub fn value(&self) -> Option<Value> {
        let mut d = ReplyDecoder::default();
        d.feed(&self.raw);
        match d.next_value() {
            Decoded::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The RESP type and the text as redis-cli prints it, e.g. `error: ERR syntax error`.
    pub fn describe(&self) -> String {
        match self.value() {
            Some(v) => format!("{}: {}", type_name(&v), resp::render(&v)),
            None => format!("undecodable: {}", escape(&self.raw)),
        }
    }

    /// A bulk or simple string's text (INFO, ROLE fields); empty for other types.
    pub fn text(&self) -> String {
        match self.value() {
            Some(Value::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
            Some(Value::Simple(s)) => s.into_owned(),
            Some(Value::Error(s)) => s,
            Some(Value::Integer(n)) => n.to_string(),
            _ => String::new(),
        }
    }
}

/// RESP type names as the oracle files spell them.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Simple(_) => "simple",
        Value::Error(_) => "error",
        Value::Integer(_) => "integer",
        Value::Bulk(_) => "bulk",
        Value::Nil => "nil",
        Value::Array(_) => "array",
        Value::NilArray => "nil-array",
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Double(_) => "double",
        Value::Map(_) => "map",
        Value::Set(_) => "set",
        Value::Push(_) => "push",
        Value::Verbatim(_) => "verbatim",
        Value::Encoded(e) => type_name(e.value()),
    }
}

/// Bytes as a printable string: ASCII kept, `\r\n` and others escaped.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// What both sides can do. Ports are the same on both sides, so replies that
/// name a port need no mask.
pub trait Target {
    /// Starts a fresh redis-server on `port` with this redis.conf text (shared by
    /// both sides; the real side adds its own dir, logfile and `daemonize no`).
    fn start(&mut self, port: u16, conf: &str) -> Result<(), String>;
    /// Starts a fresh Sentinel on `port` with this sentinel.conf text (the real
    /// side adds its own dir and logfile; Sentinel rewrites the file as it goes).
    fn start_sentinel(&mut self, port: u16, conf: &str) -> Result<(), String>;
    /// Joins the started cluster-enabled servers on `ports` as `redis-cli --cluster
    /// create <ports> --cluster-replicas <replicas> --cluster-yes` does (the real
    /// side runs redis-cli; the simulated side runs its `cluster_tool` create).
    fn create_cluster(&mut self, ports: &[u16], replicas: usize) -> Result<(), String>;
    /// Milliseconds since this target was made (wall time on the real side,
    /// virtual time in the simulator): what failover timings are measured with.
    fn now_ms(&mut self) -> f64;
    /// Starts the server on `port` again, with its config and data directory.
    fn restart(&mut self, port: u16) -> Result<(), String>;
    /// Sends a signal to the server on `port`.
    fn signal(&mut self, port: u16, signal: Signal) -> Result<(), String>;
    /// Opens a client connection.
    fn connect(&mut self, port: u16) -> Result<Conn, String>;
    /// Sends one command and waits (bounded) for its reply.
    fn call(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<Reply, String>;
    /// Lets `d` pass (wall time on the real side, virtual time in the simulator).
    fn sleep(&mut self, d: Duration);
    /// The server's log messages so far, without the pid/role/time prefix.
    fn log(&mut self, port: u16) -> Vec<String>;
    /// Sends one command without waiting for its reply (pipelining); read the
    /// replies with [`Target::received`]. Not to be mixed with `call` on one connection.
    fn send(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<(), String>;
    /// The bytes received on `conn` since the last look, without waiting; an
    /// error once the connection is closed and nothing is left.
    fn received(&mut self, conn: Conn) -> Result<Vec<u8>, String>;
    /// Makes the links other servers open to the server on `port` cuttable
    /// (call it before starting that server): the port they must dial. The real
    /// side starts a userspace TCP proxy on `via`; the simulated side cuts links
    /// with its own partitions and needs no detour, so it answers `port`.
    fn cuttable(&mut self, port: u16, via: u16) -> Result<u16, String>;
    /// Cuts (`cut`) or mends every link between the server on `port` (made
    /// cuttable first) and the servers on `others`; clients of the harness
    /// keep their direct connections.
    fn cut(&mut self, port: u16, others: &[u16], cut: bool) -> Result<(), String>;
}

/// Splits a command line as redis-cli does (quotes, `\x00` escapes).
pub fn args(line: &str) -> Vec<Vec<u8>> {
    resp::split_args(line.as_bytes()).unwrap_or_else(|| panic!("catalogue line {line:?} has unbalanced quotes"))
}

/// One command on a fresh connection.
pub fn once(t: &mut dyn Target, port: u16, line: &str) -> Result<Reply, String> {
    let c = t.connect(port)?;
    t.call(c, &args(line))
}

/// One INFO field (`role`, `master_link_status`...) on a fresh connection; empty when absent.
pub fn info_field(t: &mut dyn Target, port: u16, section: &str, field: &str) -> Result<String, String> {
    let info = once(t, port, &format!("INFO {section}"))?.text();
    let prefix = format!("{field}:");
    Ok(info.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("").to_owned())
}

/// Polls `check` every `every` until it holds, at most `limit` (both bounded).
pub fn wait_until(
    t: &mut dyn Target,
    every: Duration,
    limit: Duration,
    mut check: impl FnMut(&mut dyn Target) -> Result<bool, String>,
) -> Result<bool, String> {
    let polls = (limit.as_millis() / every.as_millis().max(1)).max(1);
    for _ in 0..polls {
        if check(t)? {
            return Ok(true);
        }
        t.sleep(every);
    }
    check(t)
}

/// Whether `received` holds one whole reply (an error if it is not RESP).
pub fn whole_reply(received: &[u8]) -> Result<bool, String> {
    let mut d = ReplyDecoder::default();
    d.feed(received);
    match d.next_value() {
        Decoded::Value(_) => Ok(true),
        Decoded::Incomplete => Ok(false),
        Decoded::Invalid(e) => Err(format!("not RESP: {e}: {}", escape(received))),
    }
}
