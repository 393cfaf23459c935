//! What a case records on one side, the masks for run-specific values, and the
//! verdict from comparing the two sides.

use super::target::Reply;
use resp::Value;
use serde_json::{Value as Json, json};

/// What a case promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Must be identical (raw RESP bytes, or the masked rendering when a mask is set).
    Same,
    /// A known gap of the simulator, listed in the report as a difference with
    /// its reason; it does not fail the run (and is flagged when it starts to match).
    Gap(&'static str),
}

/// Masks for values that are run-specific on real Redis and in the simulator alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// Compare raw bytes.
    None,
    /// Integers and numeric strings, except the harness's ports, become `<n>`
    /// (offsets, TTLs counted in ms, times, client ids).
    Numbers,
    /// INFO text: ids, offsets, lags and seconds-ago become `<id>`/`<n>`.
    Info,
    /// An array compared sorted.
    Unordered,
    /// A flat array of name/value pairs compared with the pairs sorted.
    UnorderedPairs,
    /// CONFIG GET's pairs sorted, the values that name the host's files and
    /// addresses masked (`dir`, `logfile`, `pidfile`, `bind`, ...).
    ConfigPairs,
    /// Arrays compared sorted at every depth (COMMAND's table and each
    /// container's subcommands).
    SortedDeep,
    /// CLIENT INFO/LIST text: every run of digits masked, field names, their
    /// order and the other values compared.
    ClientLine,
    /// ACL rules (LIST, GETUSER): each string's words compared sorted.
    AclRules,
    /// ACL LOG: the whole reply rendered, every run of digits masked (ages,
    /// and the client lines' ids, ports and sizes).
    AclLog,
    /// CLUSTER NODES / CLUSTER INFO text: node ids, ping/pong times and message
    /// counters masked; node lines sorted.
    ClusterText,
    /// CLUSTER SLOTS arrays: node ids and replication offsets masked.
    ClusterArray,
    /// CLUSTER SHARDS: as [`Mask::ClusterArray`], shards sorted (SHARDS walks a dict).
    ClusterShards,
    /// SENTINEL MASTER(S)/REPLICAS: run ids masked, and numbers other than ports.
    Sentinel,
    /// A TTL in whole seconds of 10 or more, compared rounded to the nearest ten
    /// (negative answers and small TTLs stay exact).
    Seconds,
    /// A TTL or expire time: -1 (no expiry) and -2 (no key) exact, a positive
    /// value masked (absolute expiries count from each side's own clock).
    Remaining,
    /// The reply's type and, for an array, its length (what the real server
    /// picks at random: SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY).
    Shape,
    /// INFO memory text and MEMORY STATS: every figure masked, names and
    /// their order compared, and the policy, limit and allocator kept.
    Memory,
    /// Any INFO text (and SENTINEL INFO-CACHE's cached INFO): sections, field
    /// names and their order compared; values only for the fields that are
    /// settings or facts of the build ([`INFO_KEPT`]).
    InfoFields,
    /// INFO commandstats and latencystats: lines sorted, µs and latency
    /// percentiles masked, each command's calls, rejected and failed calls
    /// compared.
    CommandStats,
}

impl Mask {
    /// Why the mask is needed, for the report.
    pub fn reason(self) -> &'static str {
        match self {
            Mask::None => "",
            Mask::Numbers => {
                "numbers other than ports masked: replication offsets, millisecond TTLs, unix times and client ids depend on the run"
            }
            Mask::Info => {
                "replid/replid2 (unless all zeros), offsets, backlog sizes, lag and seconds-ago masked: they depend on the run's timing and ids"
            }
            Mask::Unordered => {
                "compared sorted: Redis 7.0 keeps small string sets in a dict whose order follows a per-process random hash seed"
            }
            Mask::ClusterText => {
                "node ids, ping-sent/pong-recv times and the message counters (one line for all: which types appear depends on the run) masked, node lines sorted: ids are random, the order follows Redis's dict"
            }
            Mask::ClusterArray => "node ids masked: they are random",
            Mask::Sentinel => {
                "run ids (and any 40-hex id), ms-since fields (pings, INFO refreshes, role reports, link down time), commands in flight and replication offsets masked: they depend on the run"
            }
            Mask::ClusterShards => {
                "node ids and replication offsets masked, shards sorted: ids are random, offsets depend on the run, SHARDS walks Redis's nodes dict"
            }
            Mask::Seconds => {
                "TTL in seconds compared to the nearest ten: TTL rounds to the nearest second, and a loaded machine can put more than 500 ms between the real master's write and the replica's read (1000 becomes 999)"
            }
            Mask::InfoFields => {
                "values masked (times, counters, pids, ids, sizes and the host's figures depend on the run and the machine); sections, field names, their order and the settings' values compared"
            }
            Mask::Remaining => {
                "a positive TTL or expire time masked (-1 and -2 compared): EXPIREAT's absolute times count from each side's clock, and the simulator's starts on 2026-01-01"
            }
            Mask::Shape => "type and length compared: the real server picks the members or keys at random",
            Mask::Memory => {
                "memory figures masked (names, order, maxmemory, policy and allocator compared): allocations, RSS and fragmentation depend on the process and its history"
            }
            Mask::ClientLine => {
                "digits masked (ids, addresses' ports, fds, ages, buffer and memory sizes depend on the process and the run); field names, order, flags, names and commands compared"
            }
            Mask::CommandStats => {
                "lines compared sorted (Redis walks its command dict, ordered by a per-process random hash seed); µs and latency percentiles masked (real commands take real time); calls, rejected and failed calls compared, but for PING's, which the real harness's readiness probe adds to"
            }
            Mask::AclLog => {
                "digits masked across the whole reply (entry ages, whole or not, and the client lines' ids, ports, buffer and memory sizes, which depend on the process and the run); reasons, contexts, objects, users, field names and order compared"
            }
            Mask::AclRules => {
                "each string's words compared sorted: Redis writes a user's single-command rules (after its categories) in its command dict's order, which follows a per-process random hash seed"
            }
            Mask::SortedDeep => {
                "arrays compared sorted at every depth: COMMAND walks the command dict and each container's subcommand dict, whose order follows a per-process random hash seed"
            }
            Mask::ConfigPairs => {
                "pairs compared sorted (Redis's config dict order follows a per-process hash seed); the working directory, log and pid files and bound addresses masked: they are the harness's, not defaults"
            }
            Mask::UnorderedPairs => {
                "pairs compared sorted: CONFIG GET walks Redis's config dict, whose order follows a per-process random hash seed"
            }
        }
    }
}

/// `text` with every run of ASCII digits replaced by `<n>`.
fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str("<n>");
            }
        } else {
            out.push(c);
        }
        in_digits = c.is_ascii_digit();
    }
    out
}

/// `v` with every array sorted, innermost first.
fn sorted_deep(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sorted_deep).collect();
            items.sort_by_key(Value::to_bytes);
            Value::Array(items)
        }
        other => other,
    }
}

/// Every string's space-separated words sorted, at every depth.
fn words_sorted(v: Value) -> Value {
    let sort = |b: Vec<u8>| {
        let text = String::from_utf8_lossy(&b).into_owned();
        let mut words: Vec<&str> = text.split(' ').collect();
        words.sort_unstable();
        words.join(" ").into_bytes()
    };
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(words_sorted).collect()),
        Value::Set(items) => Value::Set(items.into_iter().map(words_sorted).collect()),
        Value::Map(pairs) => Value::Map(pairs.into_iter().map(|(k, v)| (words_sorted(k), words_sorted(v))).collect()),
        Value::Bulk(b) => Value::Bulk(sort(b)),
        other => other,
    }
}

/// One observation on one side.
#[derive(Clone, Debug)]
pub struct Obs {
    /// Unique within its group.
    pub case: String,
    /// What is compared (raw bytes escaped, or the masked rendering).
    pub compared: String,
    /// What a reader sees: type and redis-cli rendering.
    pub shown: String,
    /// The promise.
    pub expect: Expect,
    /// The mask applied.
    pub mask: Mask,
}

impl Obs {
    /// A reply, compared raw or through `mask`.
    pub fn reply(case: impl Into<String>, reply: &Reply, expect: Expect, mask: Mask) -> Obs {
        let (compared, shown) = match (mask, reply.value()) {
            (Mask::None, _) | (_, None) => (super::target::escape(&reply.raw), reply.describe()),
            (Mask::Numbers, Some(v)) => {
                let masked = mask_numbers(&v);
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&masked));
                (text.clone(), text)
            }
            (Mask::Unordered, Some(Value::Array(mut items))) => {
                items.sort_by_key(|v| v.to_bytes());
                let text = format!("array: {}", resp::render(&Value::Array(items)));
                (text.clone(), text)
            }
            (Mask::UnorderedPairs, Some(Value::Array(items))) => {
                let mut pairs: Vec<&[Value]> = items.chunks(2).collect();
                pairs.sort_by_key(|p| p.iter().map(Value::to_bytes).collect::<Vec<_>>());
                let text = format!("array: {}", resp::render(&Value::Array(pairs.concat())));
                (text.clone(), text)
            }
            (Mask::ConfigPairs, Some(Value::Array(items))) => {
                const HOST: &[&[u8]] = &[b"dir", b"logfile", b"pidfile", b"bind", b"daemonize", b"port"];
                let mut pairs: Vec<Vec<Value>> = items
                    .chunks(2)
                    .map(|p| {
                        let host = matches!(&p[0], Value::Bulk(n) if HOST.contains(&n.as_slice()));
                        let value = if host { Value::Bulk(b"<host>".to_vec()) } else { p[1].clone() };
                        vec![p[0].clone(), value]
                    })
                    .collect();
                pairs.sort_by_key(|p| p.iter().map(Value::to_bytes).collect::<Vec<_>>());
                let text = format!("array: {}", resp::render(&Value::Array(pairs.concat())));
                (text.clone(), text)
            }
            (Mask::ClusterText, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), mask_cluster_text(&reply.text()));
                (text.clone(), text)
            }
            (Mask::Sentinel, Some(v)) => {
                let masked = mask_sentinel_value(&v);
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&masked));
                (text.clone(), text)
            }
            (Mask::ClusterArray | Mask::ClusterShards, Some(v)) => {
                let mut masked = mask_cluster_value(&v);
                if let (Mask::ClusterShards, Value::Array(items)) = (mask, &mut masked) {
                    items.sort_by_key(Value::to_bytes);
                }
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&masked));
                (text.clone(), text)
            }
            (Mask::ClientLine, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), mask_digits(&reply.text()));
                (text.clone(), text)
            }
            (Mask::AclLog, Some(v)) => {
                // An age of 0 ms prints as `0`, a longer one with decimals.
                let masked = mask_digits(&resp::render(&v)).replace("<n>.<n>", "<n>");
                let text = format!("{}: {masked}", super::target::type_name(&v));
                (text.clone(), text)
            }
            (Mask::AclRules, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&words_sorted(v)));
                (text.clone(), text)
            }
            (Mask::SortedDeep, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&sorted_deep(v)));
                (text.clone(), text)
            }
            (Mask::Unordered | Mask::UnorderedPairs | Mask::ConfigPairs, Some(_)) => {
                (super::target::escape(&reply.raw), reply.describe())
            }
            (Mask::Seconds, Some(Value::Integer(n))) if n >= 10 => {
                let text = format!("integer: (integer) ~{}", (n + 5) / 10 * 10);
                (text.clone(), text)
            }
            (Mask::Seconds, Some(_)) => (super::target::escape(&reply.raw), reply.describe()),
            (Mask::Info, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), mask_info(&reply.text()));
                (text.clone(), text)
            }
            (Mask::CommandStats, Some(_)) => {
                let text = format!("bulk: {}", mask_command_stats(&reply.text()));
                (text.clone(), text)
            }
            (Mask::InfoFields, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), resp::render(&mask_info_fields(&v)));
                (text.clone(), text)
            }
            (Mask::Remaining, Some(Value::Integer(n))) if n > 0 => {
                let text = "integer: (integer) <positive>".to_owned();
                (text.clone(), text)
            }
            (Mask::Remaining, Some(_)) => (super::target::escape(&reply.raw), reply.describe()),
            (Mask::Shape, Some(v)) => {
                let text = match (&v, super::target::type_name(&v)) {
                    (Value::Array(items), kind) => format!("{kind} of {}", items.len()),
                    (Value::Error(_), _) => reply.describe(),
                    (_, kind) => kind.to_owned(),
                };
                (text.clone(), text)
            }
            (Mask::Memory, Some(Value::Array(items))) => {
                let text = format!("array: {}", resp::render(&Value::Array(mask_memory_pairs(&items))));
                (text.clone(), text)
            }
            (Mask::Memory, Some(v)) => {
                let text = format!("{}: {}", super::target::type_name(&v), mask_memory_text(&reply.text()));
                (text.clone(), text)
            }
        };
        Obs { case: case.into(), compared, shown, expect, mask }
    }

    /// A fact that is not a reply (a role, a log line's presence, a slot), compared as text.
    pub fn fact(case: impl Into<String>, value: impl Into<String>, expect: Expect) -> Obs {
        let value = value.into();
        Obs { case: case.into(), compared: value.clone(), shown: value, expect, mask: Mask::None }
    }

    /// A case that could not run on this side.
    pub fn error(case: impl Into<String>, e: &str) -> Obs {
        Obs::fact(case, format!("{HARNESS_ERROR}{e}"), Expect::Same)
    }
}

/// How an observation that could not be made starts.
const HARNESS_ERROR: &str = "harness error: ";

fn is_harness_port(n: i64) -> bool {
    (7600..7800).contains(&n) || (17600..17800).contains(&n) || (27600..27800).contains(&n)
}

fn mask_numbers(v: &Value) -> Value {
    match v {
        Value::Integer(n) if !is_harness_port(*n) => Value::Simple("(integer) <n>".into()),
        Value::Bulk(b) => match std::str::from_utf8(b).ok().and_then(|s| s.parse::<i64>().ok()) {
            Some(n) if !is_harness_port(n) => Value::Bulk(b"<n>".to_vec()),
            _ => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(mask_numbers).collect()),
        Value::Map(pairs) => Value::Map(pairs.iter().map(|(k, v)| (mask_numbers(k), mask_numbers(v))).collect()),
        other => other.clone(),
    }
}

/// INFO memory fields whose values are settings, compared as they are.
const MEMORY_SETTINGS: &[&str] = &["maxmemory", "maxmemory_human", "maxmemory_policy", "mem_allocator"];

/// `name:value` lines with the values of figures masked.
fn mask_memory_text(text: &str) -> String {
    let line = |l: &str| match l.split_once(':') {
        Some((name, _)) if !MEMORY_SETTINGS.contains(&name) => format!("{name}:<v>"),
        _ => l.to_owned(),
    };
    text.split("\r\n").map(line).collect::<Vec<_>>().join("\r\n")
}

/// MEMORY STATS' name/value pairs (RESP2: a flat array, a database's
/// figures a nested one) with every value masked.
fn mask_memory_pairs(items: &[Value]) -> Vec<Value> {
    let value = |v: &Value| match v {
        Value::Array(nested) => Value::Array(mask_memory_pairs(nested)),
        _ => Value::Simple("<v>".into()),
    };
    items.chunks(2).flat_map(|p| [p[0].clone(), p.get(1).map_or(Value::Nil, value)]).collect()
}

fn is_node_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// CLUSTER NODES and CLUSTER INFO text with the run-specific parts masked.
pub fn mask_cluster_text(text: &str) -> String {
    let mut nodes = Vec::new();
    let mut other = Vec::new();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() >= 8 && fields[1].contains('@') {
            let masked: Vec<&str> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if is_node_id(f) {
                        "<id>"
                    } else if i == 4 || i == 5 {
                        "<n>"
                    } else {
                        f
                    }
                })
                .collect();
            nodes.push(masked.join(" "));
        } else if line.starts_with("cluster_stats_messages_") {
            // Which message types have counters depends on who detected what first: one line for all.
            if other.last().is_none_or(|l: &String| l != "cluster_stats_messages_*:<n>") {
                other.push("cluster_stats_messages_*:<n>".to_owned());
            }
        } else {
            other.push(line.split(' ').map(|w| if is_node_id(w) { "<id>" } else { w }).collect::<Vec<_>>().join(" "));
        }
    }
    nodes.sort();
    nodes.extend(other);
    nodes.join("\n")
}

fn mask_sentinel_value(v: &Value) -> Value {
    const RUN_SPECIFIC: &[&[u8]] = &[
        b"runid",
        b"last-ping-sent",
        b"last-ok-ping-reply",
        b"last-ping-reply",
        b"info-refresh",
        b"role-reported-time",
        b"master-link-down-time",
        b"slave-repl-offset",
        b"link-pending-commands",
        b"last-hello-message",
        b"down-after-milliseconds-since",
        b"s-down-time",
        b"o-down-time",
    ];
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut masked_next = false;
            for item in items {
                out.push(if masked_next { Value::Bulk(b"<masked>".to_vec()) } else { mask_sentinel_value(item) });
                masked_next = matches!(item, Value::Bulk(b) if RUN_SPECIFIC.contains(&b.as_slice()));
            }
            Value::Array(out)
        }
        Value::Map(pairs) => Value::Map(
            pairs
                .iter()
                .map(|(k, v)| {
                    let run_specific = matches!(k, Value::Bulk(b) if RUN_SPECIFIC.contains(&b.as_slice()));
                    (k.clone(), if run_specific { Value::Bulk(b"<masked>".to_vec()) } else { mask_sentinel_value(v) })
                })
                .collect(),
        ),
        Value::Bulk(b) if std::str::from_utf8(b).is_ok_and(is_node_id) => Value::Bulk(b"<id>".to_vec()),
        other => other.clone(),
    }
}

/// INFO fields whose values are settings or facts of the build, compared as they are.
const INFO_KEPT: &[&str] = &[
    "redis_version",
    "redis_git_sha1",
    "redis_git_dirty",
    "redis_mode",
    "arch_bits",
    "multiplexing_api",
    "atomicvar_api",
    "process_supervised",
    "tcp_port",
    "configured_hz",
    "io_threads_active",
    "maxclients",
    "role",
    "cluster_enabled",
    "aof_enabled",
    "maxmemory_policy",
    "mem_allocator",
    "sentinel_masters",
    "sentinel_tilt",
    "sentinel_running_scripts",
    "sentinel_scripts_queue_length",
    "sentinel_simulate_failure_flags",
];

/// INFO text with every value masked but [`INFO_KEPT`]'s; INFO texts nested
/// in arrays (SENTINEL INFO-CACHE) masked the same, and numbers beside them.
/// INFO commandstats/latencystats text: the header, then the lines sorted,
/// without the µs fields and with the percentiles masked; PING's counts are
/// left out (the real harness polls a starting server with PING).
fn mask_command_stats(text: &str) -> String {
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or_default().to_owned();
    let mut rest: Vec<String> = lines
        .filter(|l| !l.starts_with("cmdstat_ping:"))
        .map(|l| match l.split_once(':') {
            Some((name, fields)) if name.starts_with("cmdstat_") => {
                let kept: Vec<&str> = fields.split(',').filter(|f| !f.starts_with("usec")).collect();
                format!("{name}:{}", kept.join(","))
            }
            Some((name, _)) => format!("{name}:<v>"),
            None => l.to_owned(),
        })
        .collect();
    rest.sort();
    std::iter::once(header).chain(rest).collect::<Vec<_>>().join(" | ")
}

fn mask_info_fields(v: &Value) -> Value {
    let line = |l: &str| match l.split_once(':') {
        Some((name, _)) if !INFO_KEPT.contains(&name) => format!("{name}:<v>"),
        _ => l.to_owned(),
    };
    match v {
        Value::Bulk(b) if b.contains(&b'\n') => {
            let text = String::from_utf8_lossy(b);
            Value::Bulk(text.split("\r\n").map(line).collect::<Vec<_>>().join("\r\n").into_bytes())
        }
        Value::Integer(_) => Value::Simple("(integer) <n>".into()),
        Value::Array(items) => Value::Array(items.iter().map(mask_info_fields).collect()),
        other => other.clone(),
    }
}

fn mask_cluster_value(v: &Value) -> Value {
    match v {
        Value::Bulk(b) if std::str::from_utf8(b).is_ok_and(is_node_id) => Value::Bulk(b"<id>".to_vec()),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut offset_next = false;
            for item in items {
                out.push(if offset_next { Value::Simple("<n>".into()) } else { mask_cluster_value(item) });
                offset_next = matches!(item, Value::Bulk(b) if b == b"replication-offset");
            }
            Value::Array(out)
        }
        other => other.clone(),
    }
}

/// Masks the run-specific values of INFO text, line by line.
pub fn mask_info(text: &str) -> String {
    const RUN_SPECIFIC: &[&str] = &[
        "master_replid",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "slave_repl_offset",
        "slave_read_repl_offset",
        "repl_backlog_first_byte_offset",
        "repl_backlog_histlen",
        "master_last_io_seconds_ago",
        "master_sync_last_io_seconds_ago",
        "master_link_down_since_seconds",
        "run_id",
    ];
    let mut out = String::new();
    for line in text.split("\r\n") {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let Some((key, value)) = line.split_once(':') else {
            out.push_str(line);
            continue;
        };
        out.push_str(key);
        out.push(':');
        let fixed = (key == "second_repl_offset" && value == "-1")
            || (key == "master_replid2" && value.bytes().all(|b| b == b'0'));
        if RUN_SPECIFIC.contains(&key) && !fixed {
            out.push_str(if key.contains("replid") || key == "run_id" { "<id>" } else { "<n>" });
        } else if key.starts_with("slave") && key[5..].bytes().all(|b| b.is_ascii_digit()) {
            // slaveN:ip=...,port=...,state=...,offset=N,lag=N
            let fields: Vec<String> = value
                .split(',')
                .map(|f| match f.split_once('=') {
                    Some((k @ ("offset" | "lag"), _)) => format!("{k}=<n>"),
                    _ => f.to_owned(),
                })
                .collect();
            out.push_str(&fields.join(","));
        } else {
            out.push_str(value);
        }
    }
    out
}

/// The comparison of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Identical.
    Match,
    /// Different where the case must match: fails the run.
    Differ,
    /// Different, and listed as a known gap of the simulator.
    KnownGap,
    /// A known gap that now matches: the gap mark should go.
    GapClosed,
}

impl Verdict {
    /// The word used in the report.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Differ => "DIFFER",
            Verdict::KnownGap => "known gap",
            Verdict::GapClosed => "match (gap closed)",
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// Group, e.g. `catalogue/standalone`.
    pub group: String,
    /// Case name.
    pub case: String,
    /// Real side, shown.
    pub real: String,
    /// Simulated side, shown.
    pub simulated: String,
    /// The comparison.
    pub verdict: Verdict,
    /// Mask reason or gap reason.
    pub note: String,
}

impl Row {
    /// JSON form.
    pub fn to_json(&self) -> Json {
        json!({
            "case": self.case,
            "real": self.real,
            "simulated": self.simulated,
            "verdict": self.verdict.word(),
            "note": self.note,
        })
    }
}

/// Names repeated cases `name (2)`, `name (3)`... so pairing by name pairs the nth with the nth.
fn numbered(obs: &[Obs]) -> Vec<Obs> {
    let mut out: Vec<Obs> = Vec::with_capacity(obs.len());
    for o in obs {
        let seen = obs.iter().take_while(|x| !std::ptr::eq(*x, o)).filter(|x| x.case == o.case).count();
        let mut o = o.clone();
        if seen > 0 {
            o.case = format!("{} ({})", o.case, seen + 1);
        }
        out.push(o);
    }
    out
}

/// Pairs the two sides' observations by case name (in the real side's order,
/// then any the simulated side alone has).
pub fn compare(group: &str, real: &[Obs], simulated: &[Obs]) -> Vec<Row> {
    let (real, simulated) = (&numbered(real)[..], &numbered(simulated)[..]);
    let missing = Obs::fact("", "(not observed)", Expect::Same);
    let mut rows = Vec::new();
    let mut names: Vec<&str> = real.iter().map(|o| o.case.as_str()).collect();
    for o in simulated {
        if !names.contains(&o.case.as_str()) {
            names.push(&o.case);
        }
    }
    for name in names {
        let r = real.iter().find(|o| o.case == name).unwrap_or(&missing);
        let s = simulated.iter().find(|o| o.case == name).unwrap_or(&missing);
        let expect = if r.case.is_empty() { s.expect } else { r.expect };
        let mask = if r.case.is_empty() { s.mask } else { r.mask };
        // a case that could not run proves nothing, even when both sides
        // failed the same way: it differs
        let ran = !r.compared.starts_with(HARNESS_ERROR) && !s.compared.starts_with(HARNESS_ERROR);
        let same = ran && r.compared == s.compared;
        let verdict = match (same, expect) {
            (true, Expect::Same) => Verdict::Match,
            (true, Expect::Gap(_)) => Verdict::GapClosed,
            (false, Expect::Same) => Verdict::Differ,
            (false, Expect::Gap(_)) => Verdict::KnownGap,
        };
        let note = match expect {
            Expect::Gap(why) => why.to_owned(),
            Expect::Same => mask.reason().to_owned(),
        };
        rows.push(Row {
            group: group.to_owned(),
            case: name.to_owned(),
            real: r.shown.clone(),
            simulated: s.shown.clone(),
            verdict,
            note,
        });
    }
    rows
}
