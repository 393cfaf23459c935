//! INFO replication formats, and the replication stories R1–R7 of
//! seed-scenarios.md: the same steps on both sides, the outcomes compared
//! (roles, replies, INFO fields, and replication log lines with numbers masked).

use super::observe::{Expect, Mask, Obs};
use super::target::{Signal, Target, args, info_field, once, wait_until};
use regex::Regex;
use std::sync::OnceLock;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);
const SYNC_LIMIT: Duration = Duration::from_secs(15);

/// A story: its name and its steps.
pub struct Story {
    /// Report group suffix.
    pub name: &'static str,
    /// The steps, run once per side.
    pub run: fn(&mut dyn Target) -> Result<Vec<Obs>, String>,
}

/// Every story, in seed-scenarios.md's order.
pub const STORIES: &[Story] = &[
    Story { name: "R1 one master, two replicas", run: r1 },
    Story { name: "R2 replicas are read-only", run: r2 },
    Story { name: "R3 runtime REPLICAOF is not persistent", run: r3 },
    Story { name: "R4 chain", run: r4 },
    Story { name: "R5 manual disaster recovery", run: r5 },
    Story { name: "R6 replica restart: partial resync", run: r6_partial },
    Story { name: "R6 replica killed: partial resync from the RDB of its first sync", run: r6_killed },
    Story { name: "R7 forgotten masterauth", run: r7 },
    Story { name: "replica paused (SIGSTOP) and continued", run: paused_replica },
];

const MASTER: &str = "save \"\"\nrepl-diskless-sync-delay 0\n";

fn replica_of(master: u16) -> String {
    format!("save \"\"\nreplicaof 127.0.0.1 {master}\n")
}

fn link_up(t: &mut dyn Target, port: u16) -> Result<bool, String> {
    wait_until(t, POLL, SYNC_LIMIT, |t| Ok(info_field(t, port, "replication", "master_link_status")? == "up"))
}

fn fact_role(t: &mut dyn Target, port: u16, when: &str) -> Result<Obs, String> {
    Ok(Obs::fact(format!("{port} role {when}"), info_field(t, port, "replication", "role")?, Expect::Same))
}

fn reply(t: &mut dyn Target, port: u16, line: &str) -> Result<Obs, String> {
    Ok(Obs::reply(format!("{port}> {line}"), &once(t, port, line)?, Expect::Same, Mask::None))
}

/// Log lines with ids and numbers masked (ports of the harness kept).
fn mask_log(line: &str) -> String {
    static ID: OnceLock<Regex> = OnceLock::new();
    static NUM: OnceLock<Regex> = OnceLock::new();
    let id = ID.get_or_init(|| Regex::new(r"\b[0-9a-f]{40}\b").expect("valid regex"));
    let num = NUM.get_or_init(|| Regex::new(r"\b\d+(\.\d+)*\b").expect("valid regex"));
    let line = id.replace_all(line, "<id>");
    num.replace_all(&line, |c: &regex::Captures<'_>| {
        let n = &c[0];
        let port = n.parse::<u32>().is_ok_and(|p| (7600..7600).contains(&p));
        let address = n.split('.').count() == 4;
        if port || address { n.to_owned() } else { "<n>".to_owned() }
    })
    .into_owned()
}

/// The log messages from the first one starting with `from` (masked), or all if absent.
fn log_since(t: &mut dyn Target, port: u16, skip: usize, keep: impl Fn(&str) -> bool) -> Vec<String> {
    t.log(port).iter().skip(skip).filter(|l| keep(l)).map(|l| mask_log(l)).collect()
}

/// Distinct messages in order of first appearance (retry loops repeat them).
fn distinct(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

fn is_replication(line: &str) -> bool {
    const WORDS: &[&str] = &["MASTER", "master", "replica", "Replica", "resync", "SYNC", "sync", "PSYNC", "backlog"];
    WORDS.iter().any(|w| line.contains(w)) && !line.starts_with("WARNING")
}

/// INFO replication on a lone master, a master with a replica, the replica, and the
/// replica once its master is gone.
pub fn info_formats(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let info = |t: &mut dyn Target, port: u16, case: &str| -> Result<Obs, String> {
        Ok(Obs::reply(case, &once(t, port, "INFO replication")?, Expect::Same, Mask::Info))
    };
    let mut out = Vec::new();
    t.start(7610, MASTER)?;
    out.push(info(t, 7610, "INFO replication, master without replicas")?);
    t.start(7611, &replica_of(7610))?;
    if !link_up(t, 7611)? {
        return Err("replica 7611 did not sync".into());
    }
    out.push(reply(t, 7610, "SET x 1")?);
    let c = t.connect(7610)?;
    t.call(c, &args("SET y 2"))?;
    out.push(Obs::reply("7610> WAIT 1 2000 (after SET)", &t.call(c, &args("WAIT 1 2000"))?, Expect::Same, Mask::None));
    out.push(info(t, 7610, "INFO replication, master with one replica")?);
    out.push(info(t, 7611, "INFO replication, replica, link up")?);
    out.push(reply(t, 7610, "INFO keyspace")?);
    t.signal(7610, Signal::Kill)?;
    let down = wait_until(t, POLL, Duration::from_secs(5), |t| {
        Ok(info_field(t, 7611, "replication", "master_link_status")? == "down")
    })?;
    out.push(Obs::fact("7611 sees the link down after SIGKILL of 7610", down.to_string(), Expect::Same));
    out.push(info(t, 7611, "INFO replication, replica, master killed")?);
    Ok(out)
}

fn r1(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7620, MASTER)?;
    t.start(7621, &replica_of(7620))?;
    t.start(7622, &replica_of(7620))?;
    for port in [7621, 7622] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
    }
    // A replica loads the RDB before the master reaps the child that streamed it:
    // until then the master still lists it as wait_bgsave. Compare the settled state.
    let settled = wait_until(t, POLL, SYNC_LIMIT, |t| {
        Ok(once(t, 7620, "INFO replication")?.text().matches("state=online").count() == 2)
    })?;
    out.push(Obs::fact("7620 lists both replicas online", settled.to_string(), Expect::Same));
    for port in [7620, 7621, 7622] {
        out.push(fact_role(t, port, "after sync")?);
    }
    out.push(Obs::fact("7620 connected_slaves", info_field(t, 7620, "replication", "connected_slaves")?, Expect::Same));
    // Which replica is slave0 depends on who connected first, on both sides: compare them sorted.
    let mut lines: Vec<String> = ["slave0", "slave1"]
        .iter()
        .map(|f| info_field(t, 7620, "replication", f).map(|v| super::observe::mask_info(&format!("slave0:{v}"))))
        .collect::<Result<_, _>>()?;
    lines.sort();
    out.push(Obs::fact("7620 replica lines (sorted, offsets masked)", lines.join(" | "), Expect::Same));
    out.push(reply(t, 7620, "FLUSHALL")?);
    let c = t.connect(7620)?;
    out.push(Obs::reply("7620> SET k1 v1", &t.call(c, &args("SET k1 v1"))?, Expect::Same, Mask::None));
    out.push(Obs::reply("7620> WAIT 2 2000", &t.call(c, &args("WAIT 2 2000"))?, Expect::Same, Mask::None));
    out.push(reply(t, 7621, "GET k1")?);
    out.push(reply(t, 7622, "GET k1")?);
    Ok(out)
}

fn r2(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7623, MASTER)?;
    t.start(7624, &replica_of(7623))?;
    link_up(t, 7624)?;
    out.push(reply(t, 7624, "SET k2 x")?);
    out.push(reply(t, 7624, "CONFIG SET slave-read-only no")?);
    out.push(reply(t, 7624, "SET k2 local")?);
    out.push(reply(t, 7624, "GET k2")?);
    t.sleep(Duration::from_millis(200));
    out.push(reply(t, 7623, "GET k2")?);
    out.push(reply(t, 7624, "CONFIG SET replica-read-only yes")?);
    out.push(reply(t, 7624, "DEL k2")?);
    Ok(out)
}

fn r3(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7625, MASTER)?;
    t.start(7626, &replica_of(7625))?;
    t.start(7627, "save \"\"\n")?;
    out.push(reply(t, 7627, "REPLICAOF 127.0.0.1 7625")?);
    for port in [7626, 7627] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
        out.push(fact_role(t, port, "before restart")?);
    }
    for port in [7626, 7627] {
        t.signal(port, Signal::Term)?;
        t.restart(port)?;
        out.push(fact_role(t, port, "after restart")?);
    }
    out.push(Obs::fact("7626 link up after restart", link_up(t, 7626)?.to_string(), Expect::Same));
    Ok(out)
}

fn r4(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7628, MASTER)?;
    t.start(7629, &format!("{MASTER}replicaof 127.0.0.1 7628\n"))?;
    t.start(7630, &replica_of(7629))?;
    for port in [7629, 7630] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
    }
    out.push(reply(t, 7628, "SET chain v")?);
    let seen = wait_until(t, POLL, Duration::from_secs(5), |t| Ok(once(t, 7630, "GET chain")?.text() == "v"))?;
    out.push(Obs::fact("7630 sees the write on 7628", seen.to_string(), Expect::Same));
    out.push(reply(t, 7629, "GET chain")?);
    out.push(reply(t, 7630, "GET chain")?);
    out.push(reply(t, 7629, "SET x 1")?);
    out.push(Obs::reply("7629 INFO replication", &once(t, 7629, "INFO replication")?, Expect::Same, Mask::Info));
    Ok(out)
}

fn r5(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7631, "save 3600 1\nrepl-diskless-sync-delay 0\n")?;
    t.start(7632, &replica_of(7631))?;
    t.start(7633, &format!("{MASTER}replicaof 127.0.0.1 7631\n"))?;
    link_up(t, 7632)?;
    link_up(t, 7633)?;
    out.push(reply(t, 7631, "SET before-crash old")?);
    wait_until(t, POLL, Duration::from_secs(5), |t| Ok(once(t, 7633, "GET before-crash")?.text() == "old"))?;
    t.signal(7631, Signal::Term)?;
    out.push(reply(t, 7632, "SET k v")?);
    out.push(reply(t, 7632, "GET before-crash")?);
    out.push(reply(t, 7633, "SLAVEOF NO ONE")?);
    out.push(reply(t, 7633, "SET after-failover new")?);
    out.push(reply(t, 7632, "SLAVEOF 127.0.0.1 7633")?);
    out.push(Obs::fact("7632 link up to 7633", link_up(t, 7632)?.to_string(), Expect::Same));
    t.restart(7631)?;
    out.push(fact_role(t, 7631, "after restart")?);
    out.push(reply(t, 7631, "GET before-crash")?);
    out.push(reply(t, 7631, "SLAVEOF 127.0.0.1 7633")?);
    out.push(Obs::fact("7631 link up to 7633", link_up(t, 7631)?.to_string(), Expect::Same));
    for port in [7631, 7632, 7633] {
        out.push(fact_role(t, port, "final")?);
        out.push(reply(t, port, "GET after-failover")?);
    }
    out.push(Obs::fact("7633 connected_slaves", info_field(t, 7633, "replication", "connected_slaves")?, Expect::Same));
    Ok(out)
}

/// R6 with the replica stopped by `signal` and restarted after 50 writes.
fn r6(t: &mut dyn Target, signal: Signal, master: u16, replica: u16) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(master, MASTER)?;
    t.start(replica, &format!("save 3600 1\nreplicaof 127.0.0.1 {master}\n"))?;
    out.push(Obs::fact("link up", link_up(t, replica)?.to_string(), Expect::Same));
    out.push(reply(t, master, "SET first 1")?);
    t.sleep(Duration::from_millis(200));
    t.signal(replica, signal)?;
    let c = t.connect(master)?;
    for i in 0..50 {
        t.call(c, &[b"SET".to_vec(), format!("key:{i}").into_bytes(), b"value".to_vec()])?;
    }
    let (master_skip, replica_skip) = (t.log(master).len(), t.log(replica).len());
    t.restart(replica)?;
    out.push(Obs::fact("link up after restart", link_up(t, replica)?.to_string(), Expect::Same));
    out.push(reply(t, replica, "DBSIZE")?);
    out.push(reply(t, replica, "GET key:49")?);
    let replica_log = log_since(t, replica, replica_skip, is_replication);
    out.push(Obs::fact("replica's replication log after restart", replica_log.join("\n"), Expect::Same));
    let tag = replica.to_string();
    let master_log = log_since(t, master, master_skip, |l| l.contains(&tag));
    out.push(Obs::fact("master's log about the replica", master_log.join("\n"), Expect::Same));
    Ok(out)
}

fn r6_partial(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    r6(t, Signal::Term, 7634, 7635)
}

fn r6_killed(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    r6(t, Signal::Kill, 7636, 7637)
}

fn r7(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7638, "save \"\"\nrepl-diskless-sync-delay 0\nrequirepass 123456\n")?;
    t.start(7639, &replica_of(7638))?;
    t.sleep(Duration::from_millis(500));
    out.push(reply(t, 7638, "INFO replication")?);
    let c = t.connect(7638)?;
    out.push(Obs::reply("7638> AUTH 123456", &t.call(c, &args("AUTH 123456"))?, Expect::Same, Mask::None));
    let info = t.call(c, &args("INFO replication"))?.text();
    let connected = info.lines().find_map(|l| l.strip_prefix("connected_slaves:")).unwrap_or("").to_owned();
    out.push(Obs::fact("7638 connected_slaves after AUTH", connected, Expect::Same));
    out.push(Obs::fact(
        "7639 master_link_status without masterauth",
        info_field(t, 7639, "replication", "master_link_status")?,
        Expect::Same,
    ));
    let failing = distinct(log_since(t, 7639, 0, is_replication));
    out.push(Obs::fact("7639 distinct replication log lines without masterauth", failing.join("\n"), Expect::Same));
    out.push(reply(t, 7639, "CONFIG SET masterauth 123456")?);
    out.push(Obs::fact("7639 link up with masterauth", link_up(t, 7639)?.to_string(), Expect::Same));
    // Failed attempts go on until the new password is used: keep the attempt that synced.
    // It may have started before CONFIG SET (the password is read when AUTH is sent),
    // so it is looked for in the whole log: only that attempt reaches a full resync.
    let lines = log_since(t, 7639, 0, is_replication);
    let synced = lines.iter().position(|l| l.starts_with("Full resync from master")).unwrap_or(lines.len());
    let from = lines[..synced].iter().rposition(|l| l == "MASTER <-> REPLICA sync started").unwrap_or(0);
    out.push(Obs::fact("7639 replication log of the attempt that synced", lines[from..].join("\n"), Expect::Same));
    Ok(out)
}

/// SIGSTOP of a replica: WAIT on the master times out, the replica catches up after SIGCONT.
fn paused_replica(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7646, MASTER)?;
    t.start(7647, &replica_of(7646))?;
    out.push(Obs::fact("link up", link_up(t, 7647)?.to_string(), Expect::Same));
    t.signal(7647, Signal::Stop)?;
    let c = t.connect(7646)?;
    out.push(Obs::reply("7646> SET p 1", &t.call(c, &args("SET p 1"))?, Expect::Same, Mask::None));
    out.push(Obs::reply(
        "7646> WAIT 1 300 (replica stopped)",
        &t.call(c, &args("WAIT 1 300"))?,
        Expect::Same,
        Mask::None,
    ));
    t.signal(7647, Signal::Cont)?;
    out.push(Obs::reply(
        "7646> WAIT 1 2000 (replica continued)",
        &t.call(c, &args("WAIT 1 2000"))?,
        Expect::Same,
        Mask::None,
    ));
    out.push(reply(t, 7647, "GET p")?);
    out.push(Obs::fact(
        "7647 master_link_status",
        info_field(t, 7647, "replication", "master_link_status")?,
        Expect::Same,
    ));
    Ok(out)
}
