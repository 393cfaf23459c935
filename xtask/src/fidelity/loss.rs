//! Loss stories (issue 21, item 6), the parts about graceful shutdown and the
//! replica's handshake: measured on real processes and on the simulator with
//! the same workload through [`Target`], compared as [`failover::Story`]
//! compares timings (medians within ±15 %; a real median of 0 lost writes
//! must be 0 on the simulated side too).
//!
//! - **L2** a write burst right after a full sync, then SIGKILL of the master:
//!   acknowledged writes the replica does not hold.
//! - **G1** a graceful stop (SIGTERM) of a Sentinel-managed master: the time to
//!   exit (the master waits for its replicas) and the failover milestones,
//!   measured from the SIGTERM.
//! - **G2** a graceful stop of a cluster master: the same, as C3 measures them.

use super::Options;
use super::failover::{self, Measured, Story, Timing};
use super::real::Real;
use super::simulated::Simulated;
use super::target::{Signal, Target, args, info_field, wait_until};
use std::time::Duration;

const L2_MASTER: u16 = 7660;
const L2_REPLICA: u16 = 7661;
/// Writes in the burst.
const BURST: usize = 200;
const LOST: &str = "acked writes lost";
/// Why the exit time is a known gap in both graceful stories.
const EXIT_GAP: (&str, &str) = (
    failover::EXIT_TIME,
    "the exit comes at the master's next serverCron (nothing was written since the replicas' last ACK, so it does \
     not wait for them): real processes start at random phases, so it spreads over 0-100 ms, while simulated crons \
     tick at a phase fixed by the start time, nearly the same in every seed (issue 21, item 5: phase locks)",
);

/// Why L2's loss count is a known gap: the simulator never loses the race.
const L2_RACE: &str = "the real master loses the whole burst when the replica's first ACK beats the exit of its sync \
     child (checkChildrenDone still sees the child, so the stream waits for the next ACK a second later): about 2 runs \
     in 5 here; the simulated child has always exited by then (no time costs yet, issue 21 item 4), so the simulator \
     loses none in every seed and matches only the runs without the race";

/// The three stories on both sides.
pub fn run(opts: &Options) -> Timing {
    let (c3_runs, s3_runs, seeds) = failover::counts(opts.quick);
    let sim_seed = |i: usize| opts.seed.wrapping_add(i as u64);
    let l2_runs = if opts.quick { 1 } else { 5 };
    let l2 = Story {
        name: "L2 write burst right after a full sync, then SIGKILL",
        setup: "master 7660 (repl-diskless-sync-delay 0), replica 7661 syncing from it; as soon as the master logs \
                \"Synchronization with replica ... succeeded\" (its log polled every 5 ms real, 1 ms simulated), \
                200 SETs one after the other on one connection, each acknowledged, then SIGKILL of the master; \
                lost = 200 - the replica's DBSIZE 300 ms later. Before issue 21 the simulator lost them all: its \
                master streamed nothing until the replica's next periodic ACK. Real Redis has a race here: when the \
                replica's first ACK beats the exit of the sync child, checkChildrenDone finds the child still \
                running and the stream waits for the next ACK a second later, so some real runs lose the whole \
                burst (1 in 20 with redis-cli -r 200, 2 in 5 in this harness on 2026-12-06); the simulated child \
                has always exited by then, so the simulator loses none in every seed.",
        real: failover::measure(l2_runs, |_, m| l2_once(&mut Real::new(opts), m, Duration::from_millis(5))),
        simulated: Ok(failover::measure(seeds, |i, m| {
            l2_once(&mut Simulated::new(sim_seed(i)), m, Duration::from_millis(1))
        })),
        gaps: &[(LOST, L2_RACE)],
        quick: opts.quick,
    };
    let g1 = Story {
        name: "G1 graceful stop of a Sentinel-managed master",
        setup: "S3's setup (master 7650, replicas 7651 and 7652, one Sentinel, quorum 1, down-after-milliseconds \
                2000), but SIGTERM instead of SIGKILL: the master waits for its replicas' ACK (shutdown-timeout \
                10 s) before it exits. Times in ms after the SIGTERM.",
        real: failover::measure(s3_runs, |_, m| {
            failover::sentinel_failover_once(&mut Real::new(opts), m, false, Signal::Term)
        }),
        simulated: Ok(failover::measure(seeds, |i, m| {
            failover::sentinel_failover_once(&mut Simulated::new(sim_seed(i)), m, false, Signal::Term)
        })),
        gaps: &[EXIT_GAP],
        quick: opts.quick,
    };
    let g2 = Story {
        name: "G2 graceful stop of a cluster master",
        setup: "C3's setup (3 masters + 3 replicas, appendonly yes, cluster-node-timeout 2000), but SIGTERM of the \
                master of slot 0 instead of SIGKILL: it waits for its replica's ACK, fsyncs its AOF and exits. \
                Times in ms after the SIGTERM (after the restart for the last one).",
        real: failover::measure(c3_runs, |_, m| failover::cluster_failover_once(&mut Real::new(opts), m, Signal::Term)),
        simulated: Ok(failover::measure(seeds, |i, m| {
            failover::cluster_failover_once(&mut Simulated::new(sim_seed(i)), m, Signal::Term)
        })),
        gaps: &[
            EXIT_GAP,
            (
                "restarted old master: replica of the promoted node (own view)",
                "as in C3: the simulated restart takes the measured start-up time, not the real harness's polls",
            ),
        ],
        quick: opts.quick,
    };
    let stories = vec![l2, g1, g2];
    let rows = stories.iter().flat_map(Story::compare).collect();
    Timing { rows, stories }
}

/// One L2 run: full sync, a burst of acknowledged writes, SIGKILL, count on the replica.
fn l2_once(t: &mut dyn Target, m: &mut Measured, poll: Duration) -> Result<(), String> {
    t.start(L2_MASTER, "save \"\"\nrepl-diskless-sync-delay 0\n")?;
    t.start(L2_REPLICA, &format!("save \"\"\nreplicaof 127.0.0.1 {L2_MASTER}\n"))?;
    let synced = wait_until(t, poll, Duration::from_secs(20), |t| {
        Ok(t.log(L2_MASTER).iter().any(|l| l.starts_with("Synchronization with replica")))
    })?;
    if !synced {
        return Err("the replica did not sync within 20 s".into());
    }
    let c = t.connect(L2_MASTER)?;
    let mut acked: usize = 0;
    for i in 0..BURST {
        if t.call(c, &args(&format!("SET burst:{i} v")))?.text() == "OK" {
            acked += 1;
        }
    }
    t.signal(L2_MASTER, Signal::Kill)?;
    t.sleep(Duration::from_millis(300));
    let held: usize = info_field(t, L2_REPLICA, "keyspace", "db0")?
        .split(',')
        .find_map(|kv| kv.strip_prefix("keys="))
        .map_or(Ok(0), |n| n.parse().map_err(|e| format!("keys={n}: {e}")))?;
    m.record(LOST, Some(acked.saturating_sub(held) as f64));
    m.fact("writes acknowledged", acked.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(m: &Measured, name: &str) -> Vec<f64> {
        m.series.iter().find(|s| s.name == name).map(|s| s.values.clone()).unwrap_or_default()
    }

    #[test]
    fn the_simulated_burst_after_a_full_sync_loses_no_acknowledged_write() {
        let mut m = Measured::default();
        l2_once(&mut Simulated::new(1), &mut m, Duration::from_millis(1)).unwrap();
        assert_eq!(series(&m, LOST), [0.0]);
        assert_eq!(m.facts, [("writes acknowledged".to_owned(), vec![BURST.to_string()])]);
    }

    #[test]
    fn a_simulated_graceful_stop_exits_after_a_cron_and_the_sentinel_fails_over() {
        let mut m = Measured::default();
        failover::sentinel_failover_once(&mut Simulated::new(1), &mut m, false, Signal::Term).unwrap();
        let exit = series(&m, failover::EXIT_TIME);
        assert!(exit.len() == 1 && exit[0] > 0.0 && exit[0] <= 100.0, "exit after {exit:?} ms");
        let switch = series(&m, "time to +switch-master");
        assert!(switch.len() == 1 && switch[0] > 2000.0, "+switch-master after {switch:?} ms");
    }
}
