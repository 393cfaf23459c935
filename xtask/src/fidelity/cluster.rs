//! Redis Cluster cases: a cluster built with plain commands (SET-CONFIG-EPOCH,
//! MEET, ADDSLOTSRANGE, REPLICATE — story C6's way, so the topology and epochs
//! are the same on every run and on both sides), then the cluster-mode
//! catalogue (MOVED, CROSSSLOT, SELECT, CLUSTER subcommands) and the formats of
//! CLUSTER NODES/INFO/SLOTS/SHARDS with ids, times and offsets masked.

use super::observe::{Expect, Mask, Obs};
use super::target::{Target, args, once, wait_until};
use std::time::Duration;

const CONF: &str = "save \"\"\nrepl-diskless-sync-delay 0\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\n";
const SLOTS: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];
const POLL: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(20);

fn reply(t: &mut dyn Target, port: u16, line: &str, mask: Mask) -> Result<Obs, String> {
    Ok(Obs::reply(format!("{port}> {line}"), &once(t, port, line)?, Expect::Same, mask))
}

/// Starts `masters` (slots split in three) and `replicas` (`(replica, master)`),
/// joins them with commands, and waits until every node is `cluster_state:ok`
/// and every replica's link is up. The setup replies are observations too.
pub(super) fn build(t: &mut dyn Target, masters: &[u16; 3], replicas: &[(u16, u16)]) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    let all: Vec<u16> = masters.iter().copied().chain(replicas.iter().map(|(r, _)| *r)).collect();
    for &port in &all {
        t.start(port, CONF)?;
    }
    // Distinct epochs for every node, so no epoch collision (resolved by random ids) bumps any.
    for (epoch, &port) in all.iter().enumerate() {
        out.push(reply(t, port, &format!("CLUSTER SET-CONFIG-EPOCH {}", epoch + 1), Mask::None)?);
    }
    for &port in &all[1..] {
        out.push(reply(t, all[0], &format!("CLUSTER MEET 127.0.0.1 {port}"), Mask::None)?);
    }
    for (&port, (from, to)) in masters.iter().zip(SLOTS) {
        out.push(reply(t, port, &format!("CLUSTER ADDSLOTSRANGE {from} {to}"), Mask::None)?);
    }
    let known = format!("cluster_known_nodes:{}", all.len());
    let met = wait_until(t, POLL, LIMIT, |t| {
        for &port in &all {
            if !once(t, port, "CLUSTER INFO")?.text().contains(&known) {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    if !met {
        return Err(format!("the {} nodes did not all meet within {LIMIT:?}", all.len()));
    }
    for &(replica, master) in replicas {
        let id = once(t, master, "CLUSTER MYID")?.text();
        // The replica must know the master's id from gossip before it can replicate it.
        let mut result = Err("not tried".to_owned());
        for _ in 0..(LIMIT.as_millis() / POLL.as_millis()) {
            let r = t
                .connect(replica)
                .and_then(|c| t.call(c, &[b"CLUSTER".to_vec(), b"REPLICATE".to_vec(), id.clone().into_bytes()]));
            if matches!(&r, Ok(reply) if reply.raw == b"+OK\r\n") {
                result = r;
                break;
            }
            result = r;
            t.sleep(POLL);
        }
        out.push(Obs::reply(
            format!("{replica}> CLUSTER REPLICATE <id of {master}>"),
            &result?,
            Expect::Same,
            Mask::None,
        ));
    }
    // Settled: every node ok and seeing every replica as one (gossip carries REPLICATE).
    let healthy = wait_until(t, POLL, LIMIT, |t| {
        for &port in &all {
            if !once(t, port, "CLUSTER INFO")?.text().contains("cluster_state:ok") {
                return Ok(false);
            }
            if once(t, port, "CLUSTER NODES")?.text().matches("slave ").count() != replicas.len() {
                return Ok(false);
            }
        }
        for &(replica, _) in replicas {
            if !once(t, replica, "INFO replication")?.text().contains("master_link_status:up") {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    out.push(Obs::fact("every node cluster_state:ok, replicas in sync", healthy.to_string(), Expect::Same));
    if !replicas.is_empty() {
        // A replica whose offset no peer has heard yet is `loading` in CLUSTER SHARDS and
        // missing from CLUSTER SLOTS: write on every master, then wait for gossip to carry it.
        for (&master, key) in masters.iter().zip(["k3", "k4", "k1"]) {
            let c = t.connect(master)?;
            t.call(c, &args(&format!("SET {key} v")))?;
            t.call(c, &args("WAIT 1 2000"))?;
        }
        let heard = wait_until(t, POLL, LIMIT, |t| {
            for &port in &all {
                if once(t, port, "CLUSTER SHARDS")?.value().is_some_and(|v| resp::render(&v).contains("\"loading\"")) {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        out.push(Obs::fact("every node has heard every replica's offset", heard.to_string(), Expect::Same));
    }
    Ok(out)
}

/// Replies in cluster mode, on the master of slots 0-5460 of a 3-master cluster.
const CATALOGUE: &[(&str, Mask)] = &[
    ("SET k1 v1", Mask::None),
    ("SET k4 v4", Mask::None),
    ("SET k3 v3", Mask::None),
    ("GET k3", Mask::None),
    ("GET k2", Mask::None),
    ("GET k1", Mask::None),
    ("EXISTS k1", Mask::None),
    ("DEL k1 k3", Mask::None),
    ("MSET a 1 b 2", Mask::None),
    ("MSET {user1000}a 1 {user1000}b 2", Mask::None),
    ("MGET {user1000}a {user1000}b", Mask::None),
    ("MGET k3 nosuchkey", Mask::None),
    ("RENAME k3 k2", Mask::None),
    ("RENAMENX k3 k2", Mask::None),
    ("UNLINK k3 k2", Mask::None),
    ("RENAME {user1000}a {user1000}c", Mask::None),
    ("SETNX k1 v", Mask::None),
    ("HLEN k1", Mask::None),
    ("LINDEX k1 0", Mask::None),
    ("SISMEMBER k1 a", Mask::None),
    ("EXPIRETIME k1", Mask::None),
    ("PEXPIRETIME k1", Mask::None),
    ("ZRANGESTORE k3 k2 0 -1", Mask::None),
    ("COPY k3 k2", Mask::None),
    ("SUNIONSTORE k3 k2", Mask::None),
    ("SMOVE k3 k2 m", Mask::None),
    ("LMOVE k3 k2 LEFT LEFT", Mask::None),
    ("ZADD k1 1 a", Mask::None),
    ("COPY k3 k3 DB 1", Mask::None),
    ("MOVE k3 1", Mask::None),
    ("SORT k3 STORE k2", Mask::None),
    ("SORT_RO k1", Mask::None),
    ("SORT k3 BY nosort STORE k3", Mask::None),
    ("BITOP AND k3 k3 k2", Mask::None),
    ("BITOP AND {user1000}c {user1000}d", Mask::None),
    ("SWAPDB 0 1", Mask::None),
    ("COPY k3 k3 DB 99", Mask::None),
    ("ZUNIONSTORE k3 2 k3 k2", Mask::None),
    ("ZUNION 2 k3 k2", Mask::None),
    ("ZINTERCARD 1 k1", Mask::None),
    ("SINTERCARD 2 {user1000}a {user1000}b", Mask::None),
    ("ZUNIONSTORE {user1000}z 2 {user1000}a {user1000}b", Mask::None),
    ("ZADD k3 1 a", Mask::None),
    ("ZRANGE k3 0 -1 WITHSCORES", Mask::None),
    ("EVAL \"return 1\" 2 k3 k2", Mask::None),
    ("EVAL \"return redis.call('get', KEYS[1])\" 1 k1", Mask::None),
    ("EVAL \"return redis.call('get', KEYS[1])\" 1 k3", Mask::None),
    ("EVAL \"return redis.call('get', 'k1')\" 0", Mask::None),
    ("EVAL \"return redis.call('mget', 'k3', 'k2')\" 0", Mask::None),
    ("SELECT 1", Mask::None),
    ("SELECT 0", Mask::None),
    ("KEYS *", Mask::Unordered),
    ("DBSIZE", Mask::None),
    ("CLUSTER KEYSLOT k1", Mask::None),
    ("CLUSTER KEYSLOT", Mask::None),
    ("CLUSTER COUNTKEYSINSLOT 4576", Mask::None),
    ("CLUSTER COUNTKEYSINSLOT 16384", Mask::None),
    ("CLUSTER GETKEYSINSLOT 4576 10", Mask::None),
    ("CLUSTER GETKEYSINSLOT 4576 -1", Mask::None),
    ("CLUSTER ADDSLOTS 0", Mask::None),
    ("CLUSTER ADDSLOTS 16384", Mask::None),
    ("CLUSTER DELSLOTS 16384", Mask::None),
    ("CLUSTER SETSLOT 0 NOSUCHSTATE", Mask::None),
    ("CLUSTER REPLICATE 0000000000000000000000000000000000000000", Mask::None),
    ("CLUSTER FAILOVER", Mask::None),
    ("CLUSTER FAILOVER FORCE", Mask::None),
    ("CLUSTER MEET 127.0.0.1", Mask::None),
    ("CLUSTER MEET 127.0.0.1 abc", Mask::None),
    ("CLUSTER NOSUCHSUB", Mask::None),
    ("CLUSTER MYID", Mask::ClusterText),
    ("READONLY", Mask::None),
    ("READWRITE", Mask::None),
    ("ASKING", Mask::None),
    ("WAIT 0 0", Mask::None),
    ("FLUSHALL", Mask::None),
    ("DBSIZE", Mask::None),
    // The everyday commands' key specs: CROSSSLOT across slots, MOVED for another node's.
    ("MSETNX a 1 b 2", Mask::None),
    ("MSETNX {user1000}x 1 {user1000}y 2", Mask::None),
    ("MSETNX k3 1", Mask::None),
    ("RPOPLPUSH k3 k2", Mask::None),
    ("RPOPLPUSH {user1000}x {user1000}y", Mask::None),
    ("LMPOP 2 k3 k2 LEFT", Mask::None),
    ("LMPOP 2 {user1000}x {user1000}y LEFT", Mask::None),
    ("ZMPOP 2 k3 k2 MIN", Mask::None),
    ("ZMPOP 1 k3 MIN", Mask::None),
    ("WATCH k3 k2", Mask::None),
    ("WATCH k3", Mask::None),
    ("WATCH {user1000}x {user1000}y", Mask::None),
    ("UNWATCH", Mask::None),
    ("INCRBYFLOAT k1 1.5", Mask::None),
    ("INCRBYFLOAT k3 1.5", Mask::None),
    ("HINCRBYFLOAT k3 f 1", Mask::None),
    ("HMGET k1 f", Mask::None),
    ("SETEX k3 10 v", Mask::None),
    ("LPUSHX k3 v", Mask::None),
    ("SMISMEMBER k3 a", Mask::None),
    // Shard channels route like keys ("news" is 7660's, "a" 7662's).
    ("SPUBLISH news m", Mask::None),
    ("SPUBLISH a m", Mask::None),
    ("SSUBSCRIBE news a", Mask::None),
    ("SSUBSCRIBE a", Mask::None),
    ("SUNSUBSCRIBE a", Mask::None),
    ("SUNSUBSCRIBE", Mask::None),
    ("PUBSUB SHARDNUMSUB news a", Mask::None),
    ("XREAD BLOCK 20 STREAMS news $", Mask::None),
    ("XREAD BLOCK 20 STREAMS a $", Mask::None),
    ("XREAD BLOCK 20 STREAMS news a $ $", Mask::None),
    ("RESET", Mask::None),
    ("TIME", Mask::Numbers),
];

/// The cluster-mode catalogue.
pub fn catalogue(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = build(t, &[7660, 7661, 7662], &[])?;
    let c = t.connect(7660)?;
    for (i, &(line, mask)) in CATALOGUE.iter().enumerate() {
        let case = format!("{:03} {line}", i + 1);
        match t.call(c, &args(line)) {
            Ok(reply) => out.push(Obs::reply(case, &reply, Expect::Same, mask)),
            Err(e) => out.push(Obs::error(case, &e)),
        }
    }
    Ok(out)
}

/// CLUSTER NODES/INFO/SLOTS/SHARDS on a 3+3 cluster, and a replica's redirections.
pub fn formats(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = build(t, &[7663, 7664, 7665], &[(7666, 7663), (7667, 7664), (7668, 7665)])?;
    out.push(reply(t, 7663, "SET k3 v3", Mask::None)?);
    out.push(reply(t, 7663, "WAIT 1 2000", Mask::None)?);
    for port in [7663, 7666] {
        out.push(reply(t, port, "CLUSTER NODES", Mask::ClusterText)?);
        out.push(reply(t, port, "CLUSTER INFO", Mask::ClusterText)?);
    }
    out.push(reply(t, 7664, "CLUSTER SLOTS", Mask::ClusterArray)?);
    out.push(reply(t, 7664, "CLUSTER SHARDS", Mask::ClusterShards)?);
    out.push(reply(t, 7663, "INFO replication", Mask::Info)?);
    out.push(reply(t, 7666, "INFO replication", Mask::Info)?);
    out.push(reply(t, 7666, "ROLE", Mask::Numbers)?);
    // A replica redirects to its master unless the connection is READONLY; writes always.
    let c = t.connect(7666)?;
    for line in ["GET k3", "READONLY", "GET k3", "SET k3 x", "READWRITE", "GET k3"] {
        out.push(Obs::reply(
            format!("7666 (one connection)> {line}"),
            &t.call(c, &args(line))?,
            Expect::Same,
            Mask::None,
        ));
    }
    Ok(out)
}

fn state(t: &mut dyn Target, port: u16) -> Result<String, String> {
    let info = once(t, port, "CLUSTER INFO")?.text();
    Ok(info.lines().find_map(|l| l.strip_prefix("cluster_state:")).unwrap_or("").trim().to_owned())
}

fn wait_state(t: &mut dyn Target, port: u16, want: &str) -> Result<bool, String> {
    wait_until(t, POLL, LIMIT, |t| Ok(state(t, port)? == want))
}

/// The flags `viewer` shows for the node on `port` in CLUSTER NODES.
fn flags(t: &mut dyn Target, viewer: u16, port: u16) -> Result<String, String> {
    let nodes = once(t, viewer, "CLUSTER NODES")?.text();
    let addr = format!("127.0.0.1:{port}@");
    Ok(nodes
        .lines()
        .find(|l| l.split(' ').nth(1).is_some_and(|a| a.starts_with(&addr)))
        .and_then(|l| l.split(' ').nth(2))
        .unwrap_or("")
        .to_owned())
}

fn fact(case: &str, value: impl ToString) -> Obs {
    Obs::fact(case, value.to_string(), Expect::Same)
}

/// C4: three masters, no replicas; one killed. With full coverage required the
/// whole cluster refuses keys; without, only the lost slots do.
pub fn c4(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = build(t, &[7680, 7681, 7682], &[])?;
    // k3 hashes to 7680's slots, k4 to 7681's.
    out.push(reply(t, 7680, "SET k3 v3", Mask::None)?);
    t.signal(7681, super::target::Signal::Kill)?;
    out.push(fact("7680 sees cluster_state:fail", wait_state(t, 7680, "fail")?));
    out.push(fact("7680's flags for 7681", flags(t, 7680, 7681)?));
    out.push(reply(t, 7680, "GET k3", Mask::None)?);
    out.push(reply(t, 7680, "SET k3 x", Mask::None)?);
    out.push(reply(t, 7680, "CLUSTER INFO", Mask::ClusterText)?);
    for port in [7680, 7682] {
        out.push(reply(t, port, "CONFIG SET cluster-require-full-coverage no", Mask::None)?);
    }
    // Each node re-evaluates its state on its own cron tick: wait for both before asking either.
    out.push(fact("7680 back to cluster_state:ok without full coverage", wait_state(t, 7680, "ok")?));
    out.push(fact("7682 back to cluster_state:ok without full coverage", wait_state(t, 7682, "ok")?));
    out.push(reply(t, 7680, "GET k3", Mask::None)?);
    out.push(reply(t, 7680, "GET k4", Mask::None)?);
    out.push(reply(t, 7682, "GET k4", Mask::None)?);
    Ok(out)
}

/// C5: a replica dies and comes back; the cluster stays ok and the replica catches up.
pub fn c5(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = build(t, &[7683, 7684, 7685], &[(7686, 7683), (7687, 7684), (7688, 7685)])?;
    t.signal(7686, super::target::Signal::Kill)?;
    let failed = wait_until(t, POLL, LIMIT, |t| Ok(flags(t, 7683, 7686)?.split(',').any(|f| f == "fail")))?;
    out.push(fact("7683 flags the replica fail", failed));
    out.push(fact("7683's flags for 7686", flags(t, 7683, 7686)?));
    for port in [7683, 7684, 7685] {
        out.push(fact(&format!("{port} cluster_state with a replica down"), state(t, port)?));
    }
    out.push(reply(t, 7683, "SET k3 during-outage", Mask::None)?);
    t.restart(7686)?;
    let back = wait_until(t, POLL, LIMIT, |t| {
        Ok(once(t, 7686, "INFO replication")?.text().contains("master_link_status:up"))
    })?;
    out.push(fact("7686 back in sync", back));
    let c = t.connect(7686)?;
    out.push(Obs::reply("7686> READONLY", &t.call(c, &args("READONLY"))?, Expect::Same, Mask::None));
    out.push(Obs::reply("7686> GET k3", &t.call(c, &args("GET k3"))?, Expect::Same, Mask::None));
    let cleared = wait_until(t, POLL, LIMIT, |t| Ok(!flags(t, 7683, 7686)?.contains("fail")))?;
    out.push(fact("7683 clears the fail flag", cleared));
    out.push(fact("7683's flags for 7686 after the restart", flags(t, 7683, 7686)?));
    Ok(out)
}

/// C7: manual failover of a replica whose master is down (automatic failover
/// disabled on it): plain CLUSTER FAILOVER refuses, FORCE promotes, the old
/// master returns as its replica.
pub fn c7(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = build(t, &[7689, 7690, 7691], &[(7692, 7689), (7693, 7690), (7694, 7691)])?;
    out.push(reply(t, 7692, "CONFIG SET cluster-replica-no-failover yes", Mask::None)?);
    out.push(reply(t, 7692, "CLUSTER FAILOVER FORCE TAKEOVER", Mask::None)?);
    out.push(reply(t, 7692, "CLUSTER FAILOVER NOSUCHOPTION", Mask::None)?);
    let epoch_before = once(t, 7692, "CLUSTER INFO")?.text();
    t.signal(7689, super::target::Signal::Kill)?;
    let failed = wait_until(t, POLL, LIMIT, |t| Ok(flags(t, 7692, 7689)?.split(',').any(|f| f == "fail")))?;
    out.push(fact("7692 flags its master fail", failed));
    out.push(fact("7690 cluster_state with an unpromoted master down", state(t, 7690)?));
    out.push(reply(t, 7692, "CLUSTER FAILOVER", Mask::None)?);
    out.push(reply(t, 7692, "CLUSTER FAILOVER FORCE", Mask::None)?);
    let promoted = wait_until(t, POLL, LIMIT, |t| Ok(flags(t, 7692, 7692)?.starts_with("myself,master")))?;
    out.push(fact("7692 promoted", promoted));
    out.push(fact("7690 back to cluster_state:ok", wait_state(t, 7690, "ok")?));
    let epoch = |info: &str| {
        info.lines().find_map(|l| l.strip_prefix("cluster_current_epoch:")).unwrap_or("").trim().to_owned()
    };
    let epoch_after = once(t, 7692, "CLUSTER INFO")?.text();
    out.push(fact("current epoch before / after", format!("{} / {}", epoch(&epoch_before), epoch(&epoch_after))));
    t.restart(7689)?;
    let replica = wait_until(t, POLL, LIMIT, |t| Ok(flags(t, 7689, 7689)?.starts_with("myself,slave")))?;
    out.push(fact("the old master returns as a replica", replica));
    out.push(fact("7689's flags for 7692", flags(t, 7689, 7692)?));
    Ok(out)
}
