//! Sentinel cases: one Sentinel monitoring a master with one replica, its
//! replies (SENTINEL subcommands, errors, commands a Sentinel refuses) and its
//! log events after start, on redis-sentinel and on the simulator's `sentinel`
//! node kind.

use super::observe::{Expect, Mask, Obs};
use super::target::{Target, args, info_field, once, wait_until};
use std::time::Duration;

const MASTER: u16 = 7670;
const REPLICA: u16 = 7671;
const SENTINEL: u16 = 27670;
const POLL: Duration = Duration::from_millis(50);

const CATALOGUE: &[(&str, Mask)] = &[
    ("PING", Mask::None),
    ("PING hello", Mask::None),
    ("PING a b", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME nosuchmaster", Mask::None),
    ("SENTINEL MASTER mymaster", Mask::Sentinel),
    ("SENTINEL MASTER nosuchmaster", Mask::None),
    ("SENTINEL MASTERS", Mask::Sentinel),
    ("SENTINEL REPLICAS mymaster", Mask::Sentinel),
    ("SENTINEL SLAVES mymaster", Mask::Sentinel),
    ("SENTINEL REPLICAS nosuchmaster", Mask::None),
    ("SENTINEL SENTINELS mymaster", Mask::None),
    ("SENTINEL CKQUORUM mymaster", Mask::None),
    ("SENTINEL CKQUORUM nosuchmaster", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 0 *", Mask::None),
    ("SENTINEL MONITOR mymaster 127.0.0.1 7670 1", Mask::None),
    ("SENTINEL MONITOR other 127.0.0.1 7670 0", Mask::None),
    ("SENTINEL MONITOR other 127.0.0.1 abc 1", Mask::None),
    ("SENTINEL MONITOR other 127.0.0.1 70000 1", Mask::None),
    ("SENTINEL MONITOR other 127.0.0.1 7671 abc", Mask::None),
    ("SENTINEL SET mymaster down-after-milliseconds abc", Mask::None),
    ("SENTINEL SET mymaster nosuchoption 1", Mask::None),
    ("SENTINEL SET nosuchmaster quorum 1", Mask::None),
    ("SENTINEL REMOVE nosuchmaster", Mask::None),
    ("SENTINEL RESET nosuchmaster", Mask::None),
    ("SENTINEL FAILOVER nosuchmaster", Mask::None),
    ("SENTINEL NOSUCHSUB", Mask::None),
    ("SENTINEL", Mask::None),
    ("SET k v", Mask::None),
    ("GET k", Mask::None),
    ("CONFIG GET port", Mask::None),
    ("INFO sentinel", Mask::None),
    ("ROLE", Mask::None),
    ("ROLE x", Mask::None),
    // The subcommands' own arities and help.
    ("SENTINEL HELP", Mask::None),
    ("SENTINEL MYID", Mask::Sentinel),
    ("SENTINEL MYID x", Mask::None),
    ("SENTINEL MASTERS x", Mask::None),
    ("SENTINEL MASTER", Mask::None),
    ("SENTINEL REPLICAS", Mask::None),
    ("SENTINEL SENTINELS", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME", Mask::None),
    ("SENTINEL CKQUORUM", Mask::None),
    ("SENTINEL RESET", Mask::None),
    ("SENTINEL FAILOVER", Mask::None),
    ("SENTINEL REMOVE", Mask::None),
    ("SENTINEL MONITOR a b c", Mask::None),
    ("SENTINEL FLUSHCONFIG x", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 abc *", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 abc 0 *", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 10.9.9.9 7670 0 *", Mask::None),
    // Scripts, the INFO cache, failure simulation.
    ("SENTINEL PENDING-SCRIPTS", Mask::None),
    ("SENTINEL PENDING-SCRIPTS x", Mask::None),
    ("SENTINEL INFO-CACHE nosuchmaster", Mask::None),
    ("SENTINEL INFO-CACHE", Mask::None),
    ("SENTINEL INFO-CACHE mymaster", Mask::InfoFields),
    ("SENTINEL SIMULATE-FAILURE", Mask::None),
    ("SENTINEL SIMULATE-FAILURE help", Mask::None),
    ("SENTINEL SIMULATE-FAILURE nosuchflag", Mask::None),
    ("SENTINEL SIMULATE-FAILURE crash-after-promotion CRASH-AFTER-ELECTION", Mask::None),
    ("INFO sentinel", Mask::None),
    ("SENTINEL SIMULATE-FAILURE crash-after-election nosuchflag", Mask::None),
    ("INFO sentinel", Mask::None),
    ("SENTINEL SIMULATE-FAILURE help crash-after-election", Mask::None),
    ("INFO sentinel", Mask::None),
    ("SENTINEL INFO-CACHE nosuchmaster mymaster", Mask::InfoFields),
    // SENTINEL DEBUG: the timing parameters.
    ("SENTINEL DEBUG", Mask::None),
    ("SENTINEL DEBUG ping-period 500", Mask::None),
    ("SENTINEL DEBUG info-period abc", Mask::None),
    ("SENTINEL DEBUG info-period 0", Mask::None),
    ("SENTINEL DEBUG nosuch 1", Mask::None),
    ("SENTINEL DEBUG ping-period 500 info-period", Mask::None),
    ("SENTINEL DEBUG PING-PERIOD 800 ask-period 900", Mask::None),
    ("SENTINEL DEBUG", Mask::None),
    ("SENTINEL DEBUG ping-period 1000 ask-period 1000", Mask::None),
    // SENTINEL CONFIG: the global settings.
    ("SENTINEL CONFIG GET resolve-hostnames", Mask::None),
    ("SENTINEL CONFIG GET announce-*", Mask::None),
    ("SENTINEL CONFIG GET *", Mask::UnorderedPairs),
    ("SENTINEL CONFIG GET nosuch", Mask::None),
    ("SENTINEL CONFIG GET", Mask::None),
    ("SENTINEL CONFIG GET a b", Mask::None),
    ("SENTINEL CONFIG BAD x", Mask::None),
    ("SENTINEL CONFIG SET resolve-hostnames maybe", Mask::None),
    ("SENTINEL CONFIG SET nosuch 1", Mask::None),
    ("SENTINEL CONFIG SET announce-port abc", Mask::None),
    ("SENTINEL CONFIG SET announce-port -1", Mask::None),
    ("SENTINEL CONFIG SET loglevel debug", Mask::None),
    ("SENTINEL CONFIG SET announce-hostnames yes", Mask::None),
    ("SENTINEL CONFIG GET announce-hostnames", Mask::None),
    ("SENTINEL CONFIG SET announce-hostnames no", Mask::None),
    ("SENTINEL CONFIG SET resolve-hostnames YES", Mask::None),
    ("SENTINEL CONFIG GET resolve-hostnames", Mask::None),
    ("SENTINEL CONFIG SET resolve-hostnames no", Mask::None),
    ("SENTINEL CONFIG SET", Mask::None),
    // SENTINEL SET: per-master options and their checks.
    ("SENTINEL SET mymaster quorum 0", Mask::None),
    ("SENTINEL SET mymaster quorum", Mask::None),
    ("SENTINEL SET mymaster down-after-milliseconds 0", Mask::None),
    ("SENTINEL SET mymaster parallel-syncs -1", Mask::None),
    ("SENTINEL SET mymaster failover-timeout abc", Mask::None),
    ("SENTINEL SET mymaster notification-script /tmp/x.sh", Mask::None),
    ("SENTINEL SET mymaster client-reconfig-script /tmp/x.sh", Mask::None),
    ("SENTINEL SET mymaster master-reboot-down-after-period -5", Mask::None),
    ("SENTINEL SET mymaster master-reboot-down-after-period 100", Mask::None),
    ("SENTINEL SET mymaster rename-command CONFIG", Mask::None),
    ("SENTINEL SET mymaster failover-timeout 60000 parallel-syncs 2", Mask::None),
    ("SENTINEL SET mymaster quorum 2", Mask::None),
    ("SENTINEL MASTER mymaster", Mask::Sentinel),
    ("SENTINEL CKQUORUM mymaster", Mask::None),
    ("SENTINEL SET mymaster quorum 1 parallel-syncs 1 failover-timeout 180000", Mask::None),
    // A second master name, then removed.
    ("SENTINEL MONITOR second 127.0.0.1 7671 1", Mask::None),
    ("SENTINEL MONITOR second 127.0.0.1 7671 1", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME second", Mask::None),
    ("ROLE", Mask::SortedDeep),
    ("SENTINEL REMOVE second", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME second", Mask::None),
    // Voting.
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 5 deadbeef", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 5 otherrunid", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 3 otherrunid", Mask::None),
    // CLIENT, AUTH, ACL.
    ("CLIENT ID", Mask::Numbers),
    ("CLIENT GETNAME", Mask::None),
    ("CLIENT SETNAME lab", Mask::None),
    ("CLIENT GETNAME", Mask::None),
    ("CLIENT SETNAME a b", Mask::None),
    ("CLIENT SETNAME", Mask::None),
    ("CLIENT SETNAME \"a b\"", Mask::None),
    ("CLIENT INFO", Mask::ClientLine),
    ("CLIENT LIST TYPE pubsub", Mask::None),
    ("CLIENT LIST ID abc", Mask::None),
    ("CLIENT LIST ID 999999", Mask::None),
    ("CLIENT LIST nosuch", Mask::None),
    ("CLIENT KILL ID 999", Mask::None),
    ("CLIENT KILL ID 0", Mask::None),
    ("CLIENT KILL ADDR 1.1.1.1:1 SKIPME no", Mask::None),
    ("CLIENT KILL USER default SKIPME maybe", Mask::None),
    ("CLIENT KILL TYPE nosuch", Mask::None),
    ("CLIENT KILL ADDR", Mask::None),
    ("CLIENT REPLY maybe", Mask::None),
    ("CLIENT TRACKINGINFO", Mask::None),
    ("CLIENT CACHING yes", Mask::None),
    ("CLIENT UNBLOCK 5", Mask::None),
    ("CLIENT UNBLOCK abc", Mask::None),
    ("CLIENT UNBLOCK 5 later", Mask::None),
    ("CLIENT ID x", Mask::None),
    ("CLIENT LIST TYPE nosuch", Mask::None),
    ("CLIENT KILL 1.2.3.4:5", Mask::None),
    ("CLIENT KILL TYPE pubsub", Mask::None),
    ("CLIENT KILL nosuch x", Mask::None),
    ("CLIENT GETREDIR", Mask::None),
    ("CLIENT NO-EVICT on", Mask::None),
    ("CLIENT NO-EVICT maybe", Mask::None),
    ("CLIENT REPLY ON", Mask::None),
    ("CLIENT HELP", Mask::None),
    ("CLIENT NOSUCH", Mask::None),
    ("CLIENT", Mask::None),
    ("AUTH x", Mask::None),
    ("AUTH a b", Mask::None),
    ("AUTH a b c", Mask::None),
    ("ACL WHOAMI", Mask::None),
    ("ACL USERS", Mask::None),
    ("ACL LIST", Mask::None),
    ("ACL CAT", Mask::None),
    ("ACL NOSUCH", Mask::None),
    ("ACL GETUSER default", Mask::None),
    ("ACL GETUSER nosuch", Mask::None),
    ("ACL CAT pubsub", Mask::Unordered),
    ("ACL CAT nosuch", Mask::None),
    ("ACL WHOAMI x", Mask::None),
    ("QUIT", Mask::None),
    // COMMAND: Sentinel's own table.
    ("COMMAND COUNT", Mask::None),
    ("COMMAND LIST", Mask::Unordered),
    ("COMMAND INFO ping", Mask::None),
    ("COMMAND INFO sentinel", Mask::SortedDeep),
    ("COMMAND INFO get nosuch", Mask::None),
    ("COMMAND", Mask::SortedDeep),
    ("COMMAND GETKEYS get a", Mask::None),
    ("COMMAND NOSUCH", Mask::None),
    ("COMMAND HELP", Mask::None),
    ("COMMAND INFO client|list", Mask::None),
    ("COMMAND DOCS client|list", Mask::None),
    ("COMMAND DOCS ping nosuch", Mask::None),
    ("COMMAND DOCS", Mask::SortedDeep),
    ("COMMAND LIST FILTERBY pattern sen*", Mask::Unordered),
    ("COMMAND LIST FILTERBY aclcat pubsub", Mask::Unordered),
    ("COMMAND LIST FILTERBY module x", Mask::None),
    ("COMMAND LIST bad", Mask::None),
    ("COMMAND COUNT x", Mask::None),
    ("COMMAND GETKEYS publish a b", Mask::None),
    ("COMMAND GETKEYS get a b", Mask::None),
    ("COMMAND GETKEYS ping", Mask::None),
    // INFO sections.
    ("INFO", Mask::InfoFields),
    ("INFO server", Mask::InfoFields),
    ("INFO clients", Mask::InfoFields),
    ("INFO stats", Mask::InfoFields),
    ("INFO cpu", Mask::InfoFields),
    ("INFO all", Mask::InfoFields),
    ("INFO nosuchsection", Mask::None),
    ("INFO keyspace", Mask::None),
    ("INFO replication", Mask::None),
    // State-changing last: flush, reset, HELLO, subscribed mode.
    ("SENTINEL FLUSHCONFIG", Mask::None),
    ("SENTINEL RESET nomatch*", Mask::None),
    ("SENTINEL RESET *", Mask::None),
    ("HELLO", Mask::Numbers),
    ("HELLO 4", Mask::None),
    ("HELLO 2 SETNAME hello2", Mask::Numbers),
    ("CLIENT GETNAME", Mask::None),
    ("HELLO 3", Mask::Numbers),
    ("PING", Mask::None),
    ("SENTINEL MASTER mymaster", Mask::Sentinel),
    ("SENTINEL DEBUG", Mask::None),
    ("SENTINEL CONFIG GET resolve-hostnames", Mask::None),
    ("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 7670 0 *", Mask::None),
    ("CLIENT INFO", Mask::ClientLine),
    ("CLIENT GETNAME", Mask::None),
    ("CLIENT TRACKINGINFO", Mask::None),
    ("ACL GETUSER default", Mask::None),
    ("COMMAND INFO ping", Mask::None),
    ("INFO sentinel", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster", Mask::None),
    ("SENTINEL GET-MASTER-ADDR-BY-NAME nosuchmaster", Mask::None),
    ("HELLO 2", Mask::Numbers),
    ("SUBSCRIBE +sdown", Mask::None),
    ("PING", Mask::None),
    ("GET k", Mask::None),
    ("UNSUBSCRIBE", Mask::None),
];

fn masked_log(lines: &[String]) -> String {
    lines
        .iter()
        .filter(|l| l.starts_with(['+', '-']))
        .map(|l| l.split(' ').map(|w| if w.len() == 40 { "<id>" } else { w }).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Sentinel catalogue and its start-up events.
pub fn catalogue(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(MASTER, "save \"\"\nrepl-diskless-sync-delay 0\n")?;
    t.start(REPLICA, &format!("save \"\"\nreplicaof 127.0.0.1 {MASTER}\n"))?;
    let synced = wait_until(t, POLL, Duration::from_secs(10), |t| {
        Ok(info_field(t, REPLICA, "replication", "master_link_status")? == "up")
    })?;
    out.push(Obs::fact("replica in sync", synced.to_string(), Expect::Same));
    t.start_sentinel(
        SENTINEL,
        &format!("sentinel monitor mymaster 127.0.0.1 {MASTER} 1\nsentinel down-after-milliseconds mymaster 2000\n"),
    )?;
    let knows = wait_until(t, POLL, Duration::from_secs(15), |t| {
        Ok(once(t, SENTINEL, "INFO sentinel")?.text().contains("slaves=1,sentinels=1"))
    })?;
    out.push(Obs::fact("the sentinel found the replica", knows.to_string(), Expect::Same));
    // Then it connects to the replica and reads its INFO: wait for that settled view.
    let connected = wait_until(t, POLL, Duration::from_secs(15), |t| {
        let replicas =
            once(t, SENTINEL, "SENTINEL REPLICAS mymaster")?.value().map(|v| resp::render(&v)).unwrap_or_default();
        Ok(!replicas.contains("disconnected") && replicas.contains("\"ok\""))
    })?;
    out.push(Obs::fact("the sentinel is connected to the replica", connected.to_string(), Expect::Same));
    out.push(Obs::fact("sentinel events after start", masked_log(&t.log(SENTINEL)), Expect::Same));
    let c = t.connect(SENTINEL)?;
    for (i, &(line, mask)) in CATALOGUE.iter().enumerate() {
        let case = format!("{:03} {line}", i + 1);
        match t.call(c, &args(line)) {
            Ok(reply) => {
                out.push(Obs::reply(case, &reply, Expect::Same, mask));
            }
            Err(e) => out.push(Obs::error(case, &e)),
        }
    }
    Ok(out)
}

/// S2: a replica is killed and restarted under a Sentinel's eye; the events it logs.
pub fn s2(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    const M: u16 = 7672;
    const R: u16 = 7673;
    const S: u16 = 27672;
    let mut out = Vec::new();
    t.start(M, "save \"\"\nrepl-diskless-sync-delay 0\n")?;
    t.start(R, &format!("save \"\"\nreplicaof 127.0.0.1 {M}\n"))?;
    wait_until(t, POLL, Duration::from_secs(10), |t| {
        Ok(info_field(t, R, "replication", "master_link_status")? == "up")
    })?;
    t.start_sentinel(
        S,
        &format!("sentinel monitor mymaster 127.0.0.1 {M} 1\nsentinel down-after-milliseconds mymaster 2000\n"),
    )?;
    let ready = wait_until(t, POLL, Duration::from_secs(15), |t| {
        let replicas = once(t, S, "SENTINEL REPLICAS mymaster")?.value().map(|v| resp::render(&v)).unwrap_or_default();
        Ok(!replicas.contains("disconnected") && replicas.contains("\"ok\""))
    })?;
    out.push(Obs::fact("the sentinel watches the replica", ready.to_string(), Expect::Same));
    let skip = t.log(S).len();
    t.signal(R, super::target::Signal::Kill)?;
    let has = |t: &mut dyn Target, prefix: &str| t.log(S).iter().skip(skip).any(|l| l.starts_with(prefix));
    let sdown = wait_until(t, POLL, Duration::from_secs(10), |t| Ok(has(t, "+sdown slave")))?;
    out.push(Obs::fact("+sdown slave within 10 s", sdown.to_string(), Expect::Same));
    t.restart(R)?;
    let back = wait_until(t, POLL, Duration::from_secs(30), |t| Ok(has(t, "-sdown slave") && has(t, "+reboot slave")))?;
    out.push(Obs::fact("-sdown and +reboot within 30 s", back.to_string(), Expect::Same));
    let events: Vec<String> = t.log(S).into_iter().skip(skip).collect();
    out.push(Obs::fact("sentinel events from the kill", masked_log(&events), Expect::Same));
    Ok(out)
}
