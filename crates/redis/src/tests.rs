//! Reply-string tests: every command and error of this slice, compared with the
//! text real Redis 7.0.15 gives (../shared/oracle/errors.json where it has them),
//! as redis-cli prints it.

use crate::config::Config;
use crate::server::Server;
use resp::{Decoded, ReplyDecoder};
use sim::{ConnId, Ctx, Fault, Input, Process, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// Long enough for a server to be up: its longest start-up time (see [`crate::costs::Costs::startup`]).
pub(crate) const STARTED: Duration = Duration::from_millis(17);
/// Sends raw request bytes on one connection and records each reply as redis-cli prints it.
#[derive(Default)]
pub(crate) struct Raw {
    pub(crate) conn: Option<ConnId>,
    decoder: ReplyDecoder,
    pub(crate) replies: Vec<String>,
    /// Every byte received, replies and all.
    pub(crate) received: u64,
    pub(crate) closed: bool,
}

impl Process for Raw {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => self.conn = Some(ctx.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 6379))),
            Input::Data { bytes, .. } => {
                self.received += bytes.len() as u64;
                self.decoder.feed(bytes);
                while let Decoded::Value(v) = self.decoder.next_value() {
                    self.replies.push(resp::render(&v));
                }
            }
            Input::Closed { .. } => self.closed = true,
            _ => {}
        }
    }
}

pub(crate) struct Lab {
    pub(crate) sim: Sim,
    pub(crate) server: sim::ProcId,
    pub(crate) client: sim::ProcId,
}

impl Lab {
    pub(crate) fn new(config: Config) -> Lab {
        let mut sim = Sim::new(SimConfig { seed: 1, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        let server = sim.add_process(host, "6379", Box::new(move || Box::new(Server::new(config.clone()))));
        let client = sim.add_process(host, "client", Box::new(|| Box::new(Raw::default())));
        sim.apply(Fault::Start(server)).unwrap();
        sim.run_for(STARTED);
        sim.apply(Fault::Start(client)).unwrap();
        sim.run_for(Duration::from_millis(1));
        Lab { sim, server, client }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Vec<String> {
        self.raw_within(bytes, Duration::from_millis(1))
    }

    /// Sends raw request bytes and returns the replies that came within `wait`.
    fn raw_within(&mut self, bytes: &[u8], wait: Duration) -> Vec<String> {
        let conn = self.sim.process::<Raw>(self.client).unwrap().conn.unwrap();
        let before = self.sim.process::<Raw>(self.client).unwrap().replies.len();
        self.sim.with_process::<Raw, _>(self.client, |_, ctx| ctx.send(conn, bytes));
        self.sim.run_for(wait);
        self.sim.process::<Raw>(self.client).unwrap().replies[before..].to_vec()
    }

    /// Lets `ms` of virtual time pass.
    pub(crate) fn advance_ms(&mut self, ms: u64) {
        self.sim.run_for(Duration::from_millis(ms));
    }

    /// One command, split like redis-cli splits its arguments: its reply
    /// within a millisecond, or, for one that waits for the disk (SAVE,
    /// FLUSHALL under save points: [`crate::costs::Costs::fsync`]), as soon
    /// as it comes, a millisecond at a time (at most 50 ms).
    pub(crate) fn cmd(&mut self, line: &str) -> String {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        resp::encode_command(&args, &mut bytes);
        let mut replies = self.raw_within(&bytes, Duration::from_millis(1));
        for _ in 0..49 {
            if !replies.is_empty() {
                break;
            }
            let before = self.sim.process::<Raw>(self.client).unwrap().replies.len();
            self.sim.run_for(Duration::from_millis(1));
            replies = self.sim.process::<Raw>(self.client).unwrap().replies[before..].to_vec();
        }
        assert_eq!(replies.len(), 1, "{line}: {replies:?}");
        replies[0].clone()
    }

    /// One command whose reply may take up to `wait` (one that waits for
    /// an fsync, as SAVE does: [`crate::costs::Costs::fsync`]).
    pub(crate) fn cmd_within(&mut self, line: &str, wait: Duration) -> String {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        resp::encode_command(&args, &mut bytes);
        let replies = self.raw_within(&bytes, wait);
        assert_eq!(replies.len(), 1, "{line}: {replies:?}");
        replies[0].clone()
    }
}

/// Replays a transcript recorded on a real Redis 7.0.15 (`command => reply`
/// per line, the reply as `redis-cli --no-raw` prints it, newlines as `\\n`)
/// on one connection to a fresh node, asserting each reply.
pub(crate) fn replay_transcript(transcript: &str) {
    let mut l = lab();
    for line in transcript.lines().filter(|l| !l.is_empty()) {
        let (cmd, want) = line.split_once(" => ").expect("command => reply");
        assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
    }
}

/// The value of `name` in an INFO text, raw or as redis-cli quotes it
/// (lines ending in `\r\n` or in its escaped `\\r\\n`).
pub(crate) fn info_value(info: &str, name: &str) -> String {
    let at = info.find(&format!("{name}:")).unwrap_or_else(|| panic!("no {name} in {info}")) + name.len() + 1;
    info[at..].split(['\r', '\n', '\\']).next().unwrap().to_owned()
}

pub(crate) fn lab() -> Lab {
    Lab::new(Config::defaults(6379))
}

#[test]
fn strings_and_keys() {
    let mut l = lab();
    assert_eq!(l.cmd("PING"), "PONG");
    assert_eq!(l.cmd("PING hello"), "\"hello\"");
    assert_eq!(l.cmd("ECHO hi"), "\"hi\"");
    assert_eq!(l.cmd("set k1 v1"), "OK");
    assert_eq!(l.cmd("get k1"), "\"v1\"");
    assert_eq!(l.cmd("GET nosuchkey"), "(nil)");
    assert_eq!(l.cmd("set k1 v2 GET"), "\"v1\"");
    assert_eq!(l.cmd("set k1 x NX"), "(nil)");
    assert_eq!(l.cmd("set new x XX"), "(nil)");
    assert_eq!(l.cmd("getset k1 v3"), "\"v2\"");
    assert_eq!(l.cmd("append k1 !"), "(integer) 3");
    assert_eq!(l.cmd("strlen k1"), "(integer) 3");
    assert_eq!(l.cmd("mset a 1 b 2"), "OK");
    assert_eq!(l.cmd("mget a nosuch b"), "1) \"1\"\n2) (nil)\n3) \"2\"");
    assert_eq!(l.cmd("incr a"), "(integer) 2");
    assert_eq!(l.cmd("incrby a 10"), "(integer) 12");
    assert_eq!(l.cmd("decr a"), "(integer) 11");
    assert_eq!(l.cmd("decrby a 20"), "(integer) -9");
    assert_eq!(l.cmd("exists a b nosuch"), "(integer) 2");
    assert_eq!(l.cmd("type a"), "string");
    assert_eq!(l.cmd("type nosuch"), "none");
    assert_eq!(l.cmd("keys *"), "1) \"a\"\n2) \"b\"\n3) \"k1\"");
    assert_eq!(l.cmd("keys k?"), "1) \"k1\"");
    assert_eq!(l.cmd("dbsize"), "(integer) 3");
    assert_eq!(l.cmd("del a b nosuch"), "(integer) 2");
    assert_eq!(l.cmd("select 1"), "OK");
    assert_eq!(l.cmd("get k1"), "(nil)");
    assert_eq!(l.cmd("select 0"), "OK");
    assert_eq!(l.cmd("flushall"), "OK");
    assert_eq!(l.cmd("dbsize"), "(integer) 0");
}

#[test]
fn errors_match_redis_text() {
    let mut l = lab();
    l.cmd("set str hello");
    assert_eq!(l.cmd("FOOBAR"), "(error) ERR unknown command 'FOOBAR', with args beginning with: ");
    assert_eq!(l.cmd("foobar x"), "(error) ERR unknown command 'foobar', with args beginning with: 'x' ");
    assert_eq!(l.cmd("GET a b"), "(error) ERR wrong number of arguments for 'get' command");
    assert_eq!(l.cmd("SET"), "(error) ERR wrong number of arguments for 'set' command");
    assert_eq!(l.cmd("DEL"), "(error) ERR wrong number of arguments for 'del' command");
    assert_eq!(l.cmd("KEYS"), "(error) ERR wrong number of arguments for 'keys' command");
    assert_eq!(l.cmd("SET k v EX 0"), "(error) ERR invalid expire time in 'set' command");
    assert_eq!(l.cmd("SET k v EX abc"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("SET k v NX XX"), "(error) ERR syntax error");
    assert_eq!(l.cmd("INCRBY num abc"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("INCR str"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("EXPIRE str abc"), "(error) ERR value is not an integer or out of range");
    assert_eq!(l.cmd("SELECT -1"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("SELECT 16"), "(error) ERR DB index is out of range");
    assert_eq!(l.cmd("MSET a 1 b"), "(error) ERR wrong number of arguments for 'mset' command");
    assert_eq!(
        l.cmd("AUTH x"),
        "(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn protocol_errors_reply_then_close() {
    let mut l = lab();
    assert_eq!(l.raw(b"SET \"a b\r\n"), ["(error) ERR Protocol error: unbalanced quotes in request"]);
    assert!(l.sim.process::<Raw>(l.client).unwrap().closed);
    let mut l = lab();
    assert_eq!(l.raw(b"*abc\r\n"), ["(error) ERR Protocol error: invalid multibulk length"]);
    let mut l = lab();
    assert_eq!(l.raw(b"PING\r\nPING\r\n"), ["PONG", "PONG"], "inline commands, pipelined");
}

#[test]
fn requirepass_gates_everything_but_auth() {
    let mut l = Lab::new(Config { requirepass: Some("123456".into()), ..Config::defaults(6379) });
    assert_eq!(l.cmd("GET k"), "(error) NOAUTH Authentication required.");
    assert_eq!(l.cmd("PING"), "(error) NOAUTH Authentication required.");
    assert_eq!(l.cmd("INFO"), "(error) NOAUTH Authentication required.");
    assert_eq!(l.cmd("GET"), "(error) ERR wrong number of arguments for 'get' command");
    assert_eq!(l.cmd("AUTH default wrong"), "(error) WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(l.cmd("AUTH a b c"), "(error) ERR syntax error");
    assert_eq!(l.cmd("AUTH 123456"), "OK");
    assert_eq!(l.cmd("PING"), "PONG");
}

#[test]
fn expiry_follows_the_nodes_wall_clock() {
    let mut l = lab();
    assert_eq!(l.cmd("set k v EX 10"), "OK");
    assert_eq!(l.cmd("ttl k"), "(integer) 10");
    l.sim.run_for(Duration::from_secs(4));
    assert_eq!(l.cmd("ttl k"), "(integer) 6");
    assert_eq!(l.cmd("persist k"), "(integer) 1");
    assert_eq!(l.cmd("ttl k"), "(integer) -1");
    assert_eq!(l.cmd("pexpire k 1500"), "(integer) 1");
    assert_eq!(l.cmd("pttl k"), "(integer) 1499", "one ms passed between the two commands");
    assert_eq!(l.cmd("ttl nosuch"), "(integer) -2");
    assert_eq!(l.cmd("set j v EX 100"), "OK");
    // A wall-clock jump expires keys, as it does on a real server.
    l.sim.apply(Fault::ClockJump { proc: l.server, delta_ms: 200_000 }).unwrap();
    l.sim.run_for(Duration::from_millis(200));
    assert_eq!(l.sim.process::<Server>(l.server).unwrap().dbsize(0), 0, "the cron reclaimed both keys");
    assert_eq!(l.cmd("get j"), "(nil)");
}

/// The INFO counters of expiry and forks, as a real 7.0.15 counts them (measured
/// with redis-cli): a key expired by the cron or by a read counts once, a
/// replica's hidden key not at all; BGSAVE, BGREWRITEAOF and turning the AOF
/// on fork, SAVE does not; CONFIG RESETSTAT clears them with `rdb_saves`.
#[test]
fn expired_keys_and_forks_count_as_redis_counts_them() {
    let mut l = lab();
    l.cmd("set a 1 px 50");
    l.cmd("set b 1 px 50");
    l.cmd("set c 1 px 5000");
    l.advance_ms(300);
    assert_eq!(info_value(&l.cmd("info stats"), "expired_keys"), "2", "the cron reclaimed a and b");
    l.cmd("set d 1 px 10");
    l.advance_ms(50);
    assert_eq!(l.cmd("get d"), "(nil)");
    assert_eq!(info_value(&l.cmd("info stats"), "expired_keys"), "3");
    assert_eq!(info_value(&l.cmd("info stats"), "total_forks"), "0");
    l.cmd("bgsave");
    l.advance_ms(500);
    assert_eq!(info_value(&l.cmd("info stats"), "total_forks"), "1");
    assert_eq!(l.cmd("bgrewriteaof"), "Background append only file rewriting started");
    l.advance_ms(500);
    // SAVE answers once its fsync is over.
    assert_eq!(l.cmd_within("save", Duration::from_millis(20)), "OK");
    let info = l.cmd("info");
    assert_eq!(info_value(&info, "total_forks"), "2", "SAVE does not fork");
    assert_eq!(info_value(&info, "aof_rewrites"), "1");
    assert_eq!(info_value(&info, "aof_last_rewrite_time_sec"), "0");
    assert_eq!(info_value(&info, "rdb_saves"), "2");
    l.cmd("config set appendonly yes");
    l.advance_ms(500);
    assert_eq!(info_value(&l.cmd("info stats"), "total_forks"), "3", "turning the AOF on rewrites it");
    assert_eq!(l.cmd("config resetstat"), "OK");
    let info = l.cmd("info");
    for (name, want) in [("expired_keys", "0"), ("total_forks", "0"), ("aof_rewrites", "0"), ("rdb_saves", "0")] {
        assert_eq!(info_value(&info, name), want, "{name} after CONFIG RESETSTAT");
    }
}

/// `keyspace_hits` and `keyspace_misses` count read lookups as a real 7.0.15
/// does (the figures after each step were measured with redis-cli): writes'
/// lookups count nothing, SET GET and a whole-set SPOP read, XREADGROUP
/// looks its stream up twice, a store's sources are reads.
#[test]
fn keyspace_hits_and_misses_count_read_lookups() {
    let mut l = lab();
    let step = |l: &mut Lab, cmd: &str, want: (u64, u64)| {
        l.cmd(cmd);
        let info = l.cmd("info stats");
        let count = |name: &str| -> u64 { info_value(&info, name).parse().unwrap() };
        assert_eq!((count("keyspace_hits"), count("keyspace_misses")), want, "after {cmd}");
    };
    l.cmd("set a 1");
    step(&mut l, "get a", (1, 0));
    step(&mut l, "get nope", (1, 1));
    step(&mut l, "set a 2 get", (2, 1));
    step(&mut l, "exists a b c", (3, 3));
    step(&mut l, "incr a", (3, 3));
    step(&mut l, "ttl a", (4, 3));
    l.cmd("sadd s x y");
    step(&mut l, "spop s 1", (4, 3));
    step(&mut l, "spop s 5", (5, 3));
    l.cmd("xadd st * f v");
    step(&mut l, "xgroup create st g 0", (5, 3));
    step(&mut l, "xreadgroup group g c streams st >", (7, 3));
    step(&mut l, "sunionstore d s a2", (7, 5));
    l.cmd("pfadd p x");
    step(&mut l, "pfcount p", (8, 5));
    step(&mut l, "sort nolist", (8, 6));
    step(&mut l, "config resetstat", (0, 0));
}

/// The traffic counters of INFO stats as a real 7.0.15 keeps them (measured
/// on one raw connection to a fresh server, this very sequence): a request
/// counts when read, the INFO's own included; a reply when written, so not
/// the INFO being answered; a pipeline read at once is one read and one write.
#[test]
fn traffic_counts_bytes_reads_and_writes_as_redis_does() {
    const INFO: &[u8] = b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n";
    let mut l = lab();
    let info = |l: &mut Lab| -> [u64; 4] {
        let reply = l.raw(INFO).remove(0);
        let n = |name: &str| -> u64 { info_value(&reply, name).parse().unwrap() };
        ["total_net_input_bytes", "total_net_output_bytes", "total_reads_processed", "total_writes_processed"].map(n)
    };
    let received = |l: &Lab| l.sim.process::<Raw>(l.client).unwrap().received;
    assert_eq!(info(&mut l), [25, 0, 1, 0]);
    // Real 7.0.15 answered that first INFO stats with 1,303 bytes.
    assert_eq!(received(&l), 1303);
    assert_eq!(info(&mut l), [50, 1303, 2, 1]);
    let before = received(&l);
    assert_eq!(l.raw(b"PING\r\n"), ["PONG"]);
    assert_eq!(info(&mut l), [81, before + 7, 4, 3]);
    let before = received(&l);
    assert_eq!(l.raw(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"), ["PONG", "PONG"]);
    assert_eq!(info(&mut l), [134, before + 14, 6, 5]);
    l.cmd("config resetstat");
    assert_eq!(info(&mut l), [25, 5, 1, 1]);
}

/// `latency-tracking` and `latency-tracking-info-percentiles` as a real
/// 7.0.15 takes them (measured with redis-cli; the µs figures differ, the
/// simulator's histogram has power-of-two buckets): the percentiles INFO
/// latencystats shows, their normalised text and errors, and no histogram
/// while tracking is off (its calls are missing from LATENCY HISTOGRAM, not
/// from commandstats).
#[test]
fn latency_tracking_and_its_percentiles() {
    let mut l = lab();
    let percentiles = |l: &mut Lab| l.cmd("config get latency-tracking-info-percentiles");
    let get_line = |l: &mut Lab| {
        let info = l.cmd("info latencystats");
        // redis-cli prints the bulk quoted, its line ends escaped.
        let line = info.split("\\r\\n").find(|s| s.starts_with("latency_percentiles_usec_get:"));
        line.map(|s| s.split([':', ',']).map(|f| f.split('=').next().unwrap().to_owned()).collect::<Vec<_>>())
    };
    assert_eq!(percentiles(&mut l), "1) \"latency-tracking-info-percentiles\"\n2) \"50 99 99.9\"");
    l.cmd("get a");
    assert_eq!(get_line(&mut l).unwrap(), ["latency_percentiles_usec_get", "p50", "p99", "p99.9"]);
    assert_eq!(l.cmd("config set latency-tracking-info-percentiles \"90 99.99 0 100\""), "OK");
    assert_eq!(get_line(&mut l).unwrap(), ["latency_percentiles_usec_get", "p90", "p99.99", "p0", "p100"]);
    for (value, text) in [("\"50.50 +5 1e1\"", "50.5 5 10"), ("\"\"", "")] {
        assert_eq!(l.cmd(&format!("config set latency-tracking-info-percentiles {value}")), "OK");
        assert_eq!(percentiles(&mut l), format!("1) \"latency-tracking-info-percentiles\"\n2) \"{text}\""));
    }
    assert_eq!(get_line(&mut l).unwrap(), ["latency_percentiles_usec_get", ""]);
    let err = "(error) ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - ";
    for (value, why) in [
        ("101", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        ("-1", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        ("abc", "Invalid latency-tracking-info-percentiles parameters"),
    ] {
        assert_eq!(l.cmd(&format!("config set latency-tracking-info-percentiles {value}")), format!("{err}{why}"));
    }
    assert_eq!(l.cmd("config set latency-tracking no"), "OK");
    l.cmd("get a");
    l.cmd("get a");
    assert_eq!(l.cmd("info latencystats"), "\"# Latencystats\\r\\n\"");
    assert_eq!(l.cmd("config set latency-tracking yes"), "OK");
    let histogram = l.cmd("latency histogram get");
    assert!(histogram.starts_with("1) \"get\"\n2) 1) \"calls\"\n   2) (integer) 1\n"), "{histogram}");
    assert!(l.cmd("info commandstats").contains("cmdstat_get:calls=3,"));
}

/// INFO commandstats as a real 7.0.15 counts (measured on one connection with
/// this very sequence; its lines come in its command dict's order, so they are
/// compared as a set, without the µs): an arity error is a rejected call, a
/// command's own error a failed one, an unknown subcommand or command counts
/// nowhere, a queued command counts when EXEC runs it (here never: the
/// transaction aborts, a failed EXEC). INFO latencystats has each called
/// command, a call that took no virtual time at 1 ns.
#[test]
fn commandstats_count_calls_rejections_and_failures() {
    let mut l = lab();
    for cmd in ["config resetstat", "set a x", "get a", "get", "incr a", "config get maxmemory", "config foo"] {
        l.cmd(cmd);
    }
    for cmd in ["nosuchcmd", "multi", "set k v", "get", "exec"] {
        l.cmd(cmd);
    }
    assert_eq!(
        commandstats_lines(&mut l),
        [
            "cmdstat_config|get:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_config|resetstat:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_exec:calls=1,rejected_calls=0,failed_calls=1",
            "cmdstat_get:calls=1,rejected_calls=2,failed_calls=0",
            "cmdstat_incr:calls=1,rejected_calls=0,failed_calls=1",
            "cmdstat_multi:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_set:calls=1,rejected_calls=0,failed_calls=0",
        ]
    );
    let latency = l.cmd("info latencystats");
    assert!(latency.contains("latency_percentiles_usec_get:p50=0.001,p99=0.001,p99.9=0.001"), "{latency}");
    assert!(latency.contains("latency_percentiles_usec_info:"), "the INFO before it ran: {latency}");
    assert!(!l.cmd("info").contains("# Commandstats"), "not in the default sections");
    let everything = l.cmd("info everything");
    let order: Vec<usize> = ["# Modules", "# Commandstats", "# Errorstats", "# Latencystats", "# Cluster"]
        .iter()
        .map(|s| everything.find(s).unwrap_or_else(|| panic!("{s}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

/// Commands run by EXEC and by scripts count as their own calls and failures;
/// a script that ends in an error is a failed EVAL (measured on a real 7.0.15).
#[test]
fn commandstats_count_what_exec_and_scripts_run() {
    let mut l = lab();
    let raw = |cmd: &[&str]| {
        let mut bytes = Vec::new();
        resp::encode_command(cmd, &mut bytes);
        bytes
    };
    for cmd in [
        &["multi"][..],
        &["set", "k", "v"],
        &["incr", "k"],
        &["exec"],
        &["eval", "return redis.call('get','k')", "1", "k"],
        &["eval", "return redis.pcall('incr','k')", "1", "k"],
        &["eval", "return redis.call('nosuch')", "0"],
    ] {
        l.raw(&raw(cmd));
    }
    assert_eq!(
        commandstats_lines(&mut l),
        [
            "cmdstat_eval:calls=3,rejected_calls=0,failed_calls=2",
            "cmdstat_exec:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_get:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_incr:calls=2,rejected_calls=0,failed_calls=2",
            "cmdstat_multi:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_set:calls=1,rejected_calls=0,failed_calls=0",
        ]
    );
}

/// INFO commandstats' lines without the µs (a real server's vary), sorted (a
/// real server's order follows its command dict's hashing).
fn commandstats_lines(l: &mut Lab) -> Vec<String> {
    let info = l.cmd("info commandstats").replace("\\r\\n", "\n");
    let mut lines: Vec<String> = info
        .trim_matches('"')
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, fields) = l.split_once(':').unwrap();
            let kept: Vec<&str> = fields.split(',').filter(|f| !f.starts_with("usec")).collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn info_sections_and_startup_log() {
    let mut l = lab();
    l.cmd("set k v");
    let info = l.cmd("info replication");
    assert!(
        info.starts_with(
            "\"# Replication\\r\\nrole:master\\r\\nconnected_slaves:0\\r\\nmaster_failover_state:no-failover\\r\\n"
        ),
        "{info}"
    );
    let keyspace = l.cmd("info keyspace");
    assert_eq!(keyspace, "\"# Keyspace\\r\\ndb0:keys=1,expires=0,avg_ttl=0\\r\\n\"");
    let log = l.sim.log_lines(l.server);
    let pid = log[0].split(':').next().unwrap();
    assert_eq!(log[0], format!("{pid}:C 01 Jan 2026 00:00:00.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"));
    assert!(
        log[1].ends_with(&format!(
            "# Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={pid}, just started"
        ))
    );
    // Ready once its start-up time (8 to 16 ms, drawn per start) is over.
    let ready = log.last().unwrap();
    let prefix = format!("{pid}:M 01 Jan 2026 00:00:00.0");
    assert!(ready.starts_with(&prefix) && ready.ends_with(" * Ready to accept connections"), "{ready}");
    let ms: u32 = ready[prefix.len()..prefix.len() + 2].parse().expect("milliseconds");
    assert!((8..=16).contains(&ms), "{ready}");
}

#[test]
fn shutdown_command_exits_without_a_reply() {
    let mut l = lab();
    assert!(l.raw(b"SHUTDOWN NOSAVE\r\n").is_empty(), "Redis exits without replying");
    assert!(l.sim.process::<Raw>(l.client).unwrap().closed);
    assert_eq!(l.sim.proc_state(l.server), sim::ProcState::Down);
    assert!(l.sim.log_lines(l.server).last().unwrap().ends_with("# Redis is now ready to exit, bye bye..."));
}

#[test]
fn verbose_lines_follow_loglevel() {
    for (level, logged) in [("notice", false), ("verbose", true)] {
        let mut l = Lab::new(Config { loglevel: level.to_owned(), ..Config::defaults(6379) });
        let before = l.sim.log_lines(l.server).len();
        let conn = l.sim.process::<Raw>(l.client).unwrap().conn.unwrap();
        // The PING arrives at 50 µs; its reply is on the wire when the partition
        // starts, so the server retransmits until TCP gives up (~924 s) and logs
        // the lost client at verbose level.
        l.sim.with_process::<Raw, _>(l.client, |_, ctx| ctx.send(conn, b"PING\r\n"));
        l.sim.run_for(Duration::from_micros(60));
        l.sim.apply(Fault::Partition(vec![vec![sim::Endpoint::Process(l.client)]])).unwrap();
        l.sim.run_for(Duration::from_secs(2000));
        let new = &l.sim.log_lines(l.server)[before..];
        assert_eq!(
            new.iter().any(|line| line.ends_with(" - Reading from client: Connection timed out")),
            logged,
            "{level}: {new:?}"
        );
    }
}

/// Found by `cargo xtask fidelity`: Redis 7.0.15 keeps and validates client names,
/// and reads DEBUG SLEEP's seconds with strtod (junk is 0 s, huge is "forever").
#[test]
fn client_names_and_debug_sleep_parse_like_redis() {
    let mut config = Config::defaults(6379);
    config.enable_debug_command = "yes".to_owned();
    let mut l = Lab::new(config);
    assert_eq!(l.cmd("client getname"), "(nil)");
    assert_eq!(l.cmd("client setname fidelity"), "OK");
    assert_eq!(l.cmd("client getname"), "\"fidelity\"");
    assert_eq!(
        l.cmd("client setname \"with space\""),
        "(error) ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(l.cmd("client getname"), "\"fidelity\"");
    assert_eq!(l.cmd("client setname \"\""), "OK");
    assert_eq!(l.cmd("client getname"), "(nil)");
    assert_eq!(l.cmd("debug sleep abc"), "OK");
    assert_eq!(l.cmd("debug sleep 0x"), "OK");
    // A sleep longer than the run must not panic; the server just stays busy.
    let mut bytes = Vec::new();
    resp::encode_command(&[b"debug".as_slice(), b"sleep", b"1e300"], &mut bytes);
    assert!(l.raw(&bytes).is_empty());
}

/// The dataset digest the `replicas-converged` invariant compares: equal data
/// gives equal digests whatever the commands that built it; any difference in
/// a value, its type, an expiry or the database changes it.
#[test]
fn dataset_digest_follows_the_data_not_the_history() {
    let build = |lines: &[&str]| {
        let mut lab = lab();
        for line in lines {
            lab.cmd(line);
        }
        lab.sim.process::<Server>(lab.server).unwrap().dataset_digest()
    };
    let base = ["RPUSH l a b", "SADD s x y", "ZADD z 1 m 2 n", "HSET h f v", "SET k v"];
    let same = build(&base);
    assert_eq!(
        same,
        build(&["SET k old", "SET k v", "SADD s y x", "ZADD z 2 n 1 m", "HSET h f v", "RPUSH l a", "RPUSH l b"])
    );
    let differs = |extra: &str| build(&[&base[..], &[extra]].concat()) != same;
    assert!(differs("RPUSH l c"), "a list element");
    assert!(differs("ZINCRBY z 0.5 m"), "a score");
    assert!(differs("PEXPIRE k 100000"), "an expiry");
    assert!(differs("HSET h f w"), "a field's value");
    assert!(differs("SET ab c"), "another key");
    assert_ne!(build(&["SET k v"]), build(&["RPUSH k v"]), "the type");
    assert_ne!(build(&["SET k v"]), build(&["SELECT 1", "SET k v"]), "the database");
}
