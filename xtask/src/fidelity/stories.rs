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
        let port = n.parse::<u32>().is_ok_and(|p| (7400..7600).contains(&p));
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
    t.start(7410, MASTER)?;
    out.push(info(t, 7410, "INFO replication, master without replicas")?);
    t.start(7411, &replica_of(7410))?;
    if !link_up(t, 7411)? {
        return Err("replica 7411 did not sync".into());
    }
    out.push(reply(t, 7410, "SET x 1")?);
    let c = t.connect(7410)?;
    t.call(c, &args("SET y 2"))?;
    out.push(Obs::reply("7410> WAIT 1 2000 (after SET)", &t.call(c, &args("WAIT 1 2000"))?, Expect::Same, Mask::None));
    out.push(info(t, 7410, "INFO replication, master with one replica")?);
    out.push(info(t, 7411, "INFO replication, replica, link up")?);
    out.push(reply(t, 7410, "INFO keyspace")?);
    t.signal(7410, Signal::Kill)?;
    let down = wait_until(t, POLL, Duration::from_secs(5), |t| {
        Ok(info_field(t, 7411, "replication", "master_link_status")? == "down")
    })?;
    out.push(Obs::fact("7411 sees the link down after SIGKILL of 7410", down.to_string(), Expect::Same));
    out.push(info(t, 7411, "INFO replication, replica, master killed")?);
    Ok(out)
}

fn r1(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7420, MASTER)?;
    t.start(7421, &replica_of(7420))?;
    t.start(7422, &replica_of(7420))?;
    for port in [7421, 7422] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
    }
    // A replica loads the RDB before the master reaps the child that streamed it:
    // until then the master still lists it as wait_bgsave. Compare the settled state.
    let settled = wait_until(t, POLL, SYNC_LIMIT, |t| {
        Ok(once(t, 7420, "INFO replication")?.text().matches("state=online").count() == 2)
    })?;
    out.push(Obs::fact("7420 lists both replicas online", settled.to_string(), Expect::Same));
    for port in [7420, 7421, 7422] {
        out.push(fact_role(t, port, "after sync")?);
    }
    out.push(Obs::fact("7420 connected_slaves", info_field(t, 7420, "replication", "connected_slaves")?, Expect::Same));
    // Which replica is slave0 depends on who connected first, on both sides: compare them sorted.
    let mut lines: Vec<String> = ["slave0", "slave1"]
        .iter()
        .map(|f| info_field(t, 7420, "replication", f).map(|v| super::observe::mask_info(&format!("slave0:{v}"))))
        .collect::<Result<_, _>>()?;
    lines.sort();
    out.push(Obs::fact("7420 replica lines (sorted, offsets masked)", lines.join(" | "), Expect::Same));
    out.push(reply(t, 7420, "FLUSHALL")?);
    let c = t.connect(7420)?;
    out.push(Obs::reply("7420> SET k1 v1", &t.call(c, &args("SET k1 v1"))?, Expect::Same, Mask::None));
    out.push(Obs::reply("7420> WAIT 2 2000", &t.call(c, &args("WAIT 2 2000"))?, Expect::Same, Mask::None));
    out.push(reply(t, 7421, "GET k1")?);
    out.push(reply(t, 7422, "GET k1")?);
    Ok(out)
}

fn r2(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7423, MASTER)?;
    t.start(7424, &replica_of(7423))?;
    link_up(t, 7424)?;
    out.push(reply(t, 7424, "SET k2 x")?);
    out.push(reply(t, 7424, "CONFIG SET slave-read-only no")?);
    out.push(reply(t, 7424, "SET k2 local")?);
    out.push(reply(t, 7424, "GET k2")?);
    t.sleep(Duration::from_millis(200));
    out.push(reply(t, 7423, "GET k2")?);
    out.push(reply(t, 7424, "CONFIG SET replica-read-only yes")?);
    out.push(reply(t, 7424, "DEL k2")?);
    Ok(out)
}

fn r3(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7425, MASTER)?;
    t.start(7426, &replica_of(7425))?;
    t.start(7427, "save \"\"\n")?;
    out.push(reply(t, 7427, "REPLICAOF 127.0.0.1 7425")?);
    for port in [7426, 7427] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
        out.push(fact_role(t, port, "before restart")?);
    }
    for port in [7426, 7427] {
        t.signal(port, Signal::Term)?;
        t.restart(port)?;
        out.push(fact_role(t, port, "after restart")?);
    }
    out.push(Obs::fact("7426 link up after restart", link_up(t, 7426)?.to_string(), Expect::Same));
    Ok(out)
}

fn r4(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7428, MASTER)?;
    t.start(7429, &format!("{MASTER}replicaof 127.0.0.1 7428\n"))?;
    t.start(7430, &replica_of(7429))?;
    for port in [7429, 7430] {
        out.push(Obs::fact(format!("{port} link up"), link_up(t, port)?.to_string(), Expect::Same));
    }
    out.push(reply(t, 7428, "SET chain v")?);
    let seen = wait_until(t, POLL, Duration::from_secs(5), |t| Ok(once(t, 7430, "GET chain")?.text() == "v"))?;
    out.push(Obs::fact("7430 sees the write on 7428", seen.to_string(), Expect::Same));
    out.push(reply(t, 7429, "GET chain")?);
    out.push(reply(t, 7430, "GET chain")?);
    out.push(reply(t, 7429, "SET x 1")?);
    out.push(Obs::reply("7429 INFO replication", &once(t, 7429, "INFO replication")?, Expect::Same, Mask::Info));
    Ok(out)
}

fn r5(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7431, "save 3600 1\nrepl-diskless-sync-delay 0\n")?;
    t.start(7432, &replica_of(7431))?;
    t.start(7433, &format!("{MASTER}replicaof 127.0.0.1 7431\n"))?;
    link_up(t, 7432)?;
    link_up(t, 7433)?;
    out.push(reply(t, 7431, "SET before-crash old")?);
    wait_until(t, POLL, Duration::from_secs(5), |t| Ok(once(t, 7433, "GET before-crash")?.text() == "old"))?;
    t.signal(7431, Signal::Term)?;
    out.push(reply(t, 7432, "SET k v")?);
    out.push(reply(t, 7432, "GET before-crash")?);
    out.push(reply(t, 7433, "SLAVEOF NO ONE")?);
    out.push(reply(t, 7433, "SET after-failover new")?);
    out.push(reply(t, 7432, "SLAVEOF 127.0.0.1 7433")?);
    out.push(Obs::fact("7432 link up to 7433", link_up(t, 7432)?.to_string(), Expect::Same));
    t.restart(7431)?;
    out.push(fact_role(t, 7431, "after restart")?);
    out.push(reply(t, 7431, "GET before-crash")?);
    out.push(reply(t, 7431, "SLAVEOF 127.0.0.1 7433")?);
    out.push(Obs::fact("7431 link up to 7433", link_up(t, 7431)?.to_string(), Expect::Same));
    for port in [7431, 7432, 7433] {
        out.push(fact_role(t, port, "final")?);
        out.push(reply(t, port, "GET after-failover")?);
    }
    out.push(Obs::fact("7433 connected_slaves", info_field(t, 7433, "replication", "connected_slaves")?, Expect::Same));
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
    r6(t, Signal::Term, 7434, 7435)
}

fn r6_killed(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    r6(t, Signal::Kill, 7436, 7437)
}

fn r7(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7438, "save \"\"\nrepl-diskless-sync-delay 0\nrequirepass 123456\n")?;
    t.start(7439, &replica_of(7438))?;
    t.sleep(Duration::from_millis(500));
    out.push(reply(t, 7438, "INFO replication")?);
    let c = t.connect(7438)?;
    out.push(Obs::reply("7438> AUTH 123456", &t.call(c, &args("AUTH 123456"))?, Expect::Same, Mask::None));
    let info = t.call(c, &args("INFO replication"))?.text();
    let connected = info.lines().find_map(|l| l.strip_prefix("connected_slaves:")).unwrap_or("").to_owned();
    out.push(Obs::fact("7438 connected_slaves after AUTH", connected, Expect::Same));
    out.push(Obs::fact(
        "7439 master_link_status without masterauth",
        info_field(t, 7439, "replication", "master_link_status")?,
        Expect::Same,
    ));
    let failing = distinct(log_since(t, 7439, 0, is_replication));
    out.push(Obs::fact("7439 distinct replication log lines without masterauth", failing.join("\n"), Expect::Same));
    let skip = t.log(7439).len();
    out.push(reply(t, 7439, "CONFIG SET masterauth 123456")?);
    out.push(Obs::fact("7439 link up with masterauth", link_up(t, 7439)?.to_string(), Expect::Same));
    // Failed attempts go on until the new password is used: keep the attempt that synced.
    let lines = log_since(t, 7439, skip, is_replication);
    let synced = lines.iter().position(|l| l.starts_with("Full resync from master")).unwrap_or(lines.len());
    let from = lines[..synced].iter().rposition(|l| l == "MASTER <-> REPLICA sync started").unwrap_or(0);
    out.push(Obs::fact("7439 replication log of the attempt that synced", lines[from..].join("\n"), Expect::Same));
    Ok(out)
}

/// SIGSTOP of a replica: WAIT on the master times out, the replica catches up after SIGCONT.
fn paused_replica(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    t.start(7446, MASTER)?;
    t.start(7447, &replica_of(7446))?;
    out.push(Obs::fact("link up", link_up(t, 7447)?.to_string(), Expect::Same));
    t.signal(7447, Signal::Stop)?;
    let c = t.connect(7446)?;
    out.push(Obs::reply("7446> SET p 1", &t.call(c, &args("SET p 1"))?, Expect::Same, Mask::None));
    out.push(Obs::reply(
        "7446> WAIT 1 300 (replica stopped)",
        &t.call(c, &args("WAIT 1 300"))?,
        Expect::Same,
        Mask::None,
    ));
    t.signal(7447, Signal::Cont)?;
    out.push(Obs::reply(
        "7446> WAIT 1 2000 (replica continued)",
        &t.call(c, &args("WAIT 1 2000"))?,
        Expect::Same,
        Mask::None,
    ));
    out.push(reply(t, 7447, "GET p")?);
    out.push(Obs::fact(
        "7447 master_link_status",
        info_field(t, 7447, "replication", "master_link_status")?,
        Expect::Same,
    ));
    Ok(out)
}
