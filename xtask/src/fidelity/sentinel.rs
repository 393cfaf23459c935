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
    ("INFO sentinel", Mask::None),
    ("ROLE", Mask::None),
];

/// SENTINEL subcommands the simulated Sentinel lacks: its masters come from
/// sentinel.conf only.
const NOT_SIMULATED: [&str; 3] = ["SENTINEL MONITOR ", "SENTINEL SET ", "SENTINEL REMOVE "];
const NOT_SIMULATED_WHY: &str = "runtime reconfiguration (SENTINEL MONITOR/SET/REMOVE) is not implemented by the \
                                 simulated sentinel: it answers unknown subcommand";

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
                let expect = if NOT_SIMULATED.iter().any(|p| line.starts_with(p)) {
                    Expect::Gap(NOT_SIMULATED_WHY)
                } else {
                    Expect::Same
                };
                out.push(Obs::reply(case, &reply, expect, mask));
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
