//! Property test of Sentinel over many seeds. Per seed: master 6379 with
//! replicas 6380 and 6381, three Sentinels with quorum 2 (down-after 2 s,
//! failover-timeout 10 s), all on one simulated host, and a seeded random
//! schedule of faults on any of the six processes: SIGKILL with a later start,
//! partitions that cut one or two processes off, heals. Then everything is
//! started, the network heals and the system is left alone.
//!
//! Checked:
//! - at most one Sentinel is elected leader per epoch, and no Sentinel votes
//!   for two candidates in one epoch (its vote survives restarts through its
//!   config file);
//! - once quiet: every Sentinel gives the same master address, that node is a
//!   master, every other Redis node is its replica with the link up — except a
//!   Sentinel whose last switch is *stale*, a hazard of Redis 7.0's own hello
//!   handling that the simulation reproduces (see [`elections`]);
//! - the same seed gives the same trace.
//!
//! `PROP_SEEDS=1,2,3` runs other seeds; `PROP_DUMP=1` prints the logs.

use crate::sentinel::Sentinel;
use crate::tests::Lab;
use redis::server::Server;
use sim::{Endpoint, Fault, ProcId, Rng};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const REDIS: [u16; 3] = [6379, 6380, 6381];
const SENTINELS: [(&str, u16); 3] = [("s1", 26379), ("s2", 26380), ("s3", 26381)];
const CONF: &str = "sentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 2000\n\
                    sentinel failover-timeout mymaster 10000\n";
/// Fault-schedule ticks per seed (each 1 to 4 virtual s).
const TICKS: usize = 25;
/// Left alone at the end: long enough for a retried failover (2 × failover-timeout)
/// and the conversion of a returning old master.
const QUIET: Duration = Duration::from_secs(90);

#[derive(Default, Debug)]
struct Tally {
    failovers: usize,
    /// Sentinels left on a stale switch (Redis's own hazard, see [`elections`]).
    stale: usize,
    switches: usize,
    kills: usize,
    partitions: usize,
}

struct Run {
    lab: Lab,
    procs: Vec<(String, ProcId)>,
    down: BTreeSet<usize>,
    tally: Tally,
}

impl Run {
    fn new(seed: u64) -> Run {
        let mut lab = Lab::new(seed);
        let mut procs = Vec::new();
        for port in REDIS {
            let conf = if port == 6379 { String::new() } else { "replicaof 127.0.0.1 6379\n".to_owned() };
            procs.push((port.to_string(), lab.redis(port, &conf)));
        }
        for (name, port) in SENTINELS {
            procs.push((name.to_owned(), lab.sentinel(name, port, CONF)));
        }
        Run { lab, procs, down: BTreeSet::new(), tally: Tally::default() }
    }

    fn apply(&mut self, fault: Fault) {
        self.lab.sim.apply(fault).expect("a valid fault");
    }

    fn step(&mut self, rng: &mut Rng) {
        let n = self.procs.len() as u64;
        match rng.below(10) {
            0..=2 => {
                let i = rng.below(n) as usize;
                if self.down.insert(i) {
                    self.tally.kills += 1;
                    self.apply(Fault::Kill(self.procs[i].1));
                }
            }
            3..=4 => {
                if let Some(&i) = self.down.iter().nth(rng.below(self.down.len().max(1) as u64) as usize) {
                    self.down.remove(&i);
                    self.apply(Fault::Start(self.procs[i].1));
                }
            }
            5..=7 => {
                let cut = 1 + rng.below(2) as usize;
                let mut group = Vec::new();
                while group.len() < cut {
                    let p = self.procs[rng.below(n) as usize].1;
                    if !group.contains(&Endpoint::Process(p)) {
                        group.push(Endpoint::Process(p));
                    }
                }
                self.tally.partitions += 1;
                self.apply(Fault::Partition(vec![group]));
            }
            _ => self.apply(Fault::Heal),
        }
    }

    fn restore(&mut self) {
        for i in std::mem::take(&mut self.down) {
            self.apply(Fault::Start(self.procs[i].1));
        }
        self.apply(Fault::Heal);
    }

    fn sentinel(&self, name: &str) -> &Sentinel {
        self.lab.sentinel_state(name)
    }

    fn server(&self, port: u16) -> &Server {
        self.lab.sim.process::<Server>(self.lab.sim.proc_by_name(&port.to_string()).unwrap()).unwrap()
    }
}

/// Who was elected in each epoch, for whom each (Sentinel, epoch) voted, and
/// which Sentinels' last switch is a stale one (see [`elections`]).
struct Elections {
    leaders: BTreeMap<u64, BTreeSet<String>>,
    votes: BTreeMap<(String, u64), BTreeSet<String>>,
    stale: BTreeSet<String>,
}

/// Leaders per epoch and votes per (Sentinel, epoch), read from the logs.
///
/// A *stale* switch is Redis 7.0's own hazard, reproduced here (seed 374): a
/// leader still reconfiguring replicas for epoch e receives a hello for a newer
/// epoch that names its *old* master's address (a later failover went back to
/// it). `sentinelProcessHelloMessage` compares with `master->addr`, the old
/// master, so it raises the config epoch without switching; when its own
/// failover then ends it switches to its promoted replica, now with the newer
/// epoch, and no hello can move it back. Such a Sentinel may disagree forever.
fn elections(run: &Run) -> Elections {
    let mut leaders: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut votes: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    let mut stale = BTreeSet::new();
    for (name, _) in SENTINELS {
        // `+new-epoch e` right before `+try-failover` is the epoch of that attempt.
        let mut last_epoch = 0;
        let mut attempt = None;
        let mut newer_during_attempt = false;
        let mut previous = String::new();
        for e in run.lab.events(name) {
            let mut words = e.split(' ');
            match words.next() {
                Some("+new-epoch") => {
                    last_epoch = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                    newer_during_attempt |= attempt.is_some_and(|a| last_epoch > a);
                }
                Some("+try-failover") => {
                    attempt = Some(last_epoch);
                    newer_during_attempt = false;
                }
                Some("+switch-master") => {
                    let own = previous.starts_with("+failover-end");
                    if own && newer_during_attempt {
                        stale.insert(name.to_owned());
                    } else {
                        stale.remove(name);
                    }
                    newer_during_attempt = false;
                }
                Some("+elected-leader") => {
                    leaders.entry(attempt.expect("elected without trying")).or_default().insert(name.to_owned());
                }
                Some("+vote-for-leader") => {
                    let (id, epoch) =
                        (words.next().unwrap_or(""), words.next().and_then(|w| w.parse().ok()).unwrap_or(0));
                    votes.entry((name.to_owned(), epoch)).or_default().insert(id.to_owned());
                }
                _ => {}
            }
            previous = e;
        }
    }
    Elections { leaders, votes, stale }
}

/// One seed's system after its fault schedule, the restore and the quiet period.
fn storm(seed: u64) -> Run {
    let mut run = Run::new(seed);
    let mut rng = Rng::stream(seed, "prop-schedule");
    run.lab.run(Duration::from_secs(12));
    for _ in 0..TICKS {
        run.step(&mut rng);
        let pause = rng.duration_between(Duration::from_secs(1), Duration::from_secs(4));
        run.lab.run(pause);
    }
    run.restore();
    run.lab.run(QUIET);
    run
}

fn run_seed(seed: u64) -> (Tally, String) {
    let mut run = storm(seed);
    if std::env::var("PROP_DUMP").is_ok() {
        for (name, p) in &run.procs {
            eprintln!("--- {name}\n{}", run.lab.sim.log_lines(*p).join("\n"));
        }
    }
    let Elections { leaders, votes, stale } = elections(&run);
    for (epoch, who) in &leaders {
        assert!(who.len() <= 1, "seed {seed}: epoch {epoch} has leaders {who:?}");
    }
    for ((name, epoch), ids) in &votes {
        assert!(ids.len() <= 1, "seed {seed}: {name} voted for {ids:?} in epoch {epoch}");
    }
    run.tally.failovers = leaders.len();
    run.tally.switches = SENTINELS
        .iter()
        .map(|(s, _)| run.lab.events(s).iter().filter(|e| e.starts_with("+switch-master")).count())
        .sum();
    run.tally.stale += stale.len();
    assert!(stale.len() < SENTINELS.len(), "seed {seed}: every sentinel switched stale");
    let addrs: BTreeSet<(String, u16)> = SENTINELS
        .iter()
        .filter(|(s, _)| !stale.contains(*s))
        .map(|(s, _)| run.sentinel(s).master_addr("mymaster").expect("monitored"))
        .collect();
    assert_eq!(addrs.len(), 1, "seed {seed}: the sentinels disagree: {addrs:?} (stale: {stale:?})");
    let (_, master) = addrs.into_iter().next().expect("one address");
    assert_eq!(run.server(master).role_name(), "master", "seed {seed}: {master} is not a master");
    for port in REDIS.into_iter().filter(|&p| p != master) {
        let info = run.lab.cli(port, "info replication");
        let s = run.server(port);
        assert!(
            s.role_name() == "slave"
                && s.master_link_up()
                && info.lines().any(|l| l.trim_end() == format!("master_port:{master}")),
            "seed {seed}: {port} is not a replica of {master} with its link up:\n{info}"
        );
    }
    let hash = run.lab.sim.trace().hash_hex();
    (run.tally, hash)
}

#[test]
fn one_leader_per_epoch_and_everyone_agrees_on_one_master_after_the_storm() {
    let seeds: Vec<u64> = match std::env::var("PROP_SEEDS") {
        Ok(v) => v.split(',').map(|s| s.parse().expect("PROP_SEEDS: seed numbers")).collect(),
        Err(_) => (1..=12).collect(),
    };
    let mut total = Tally::default();
    for seed in seeds {
        let (t, _) = run_seed(seed);
        total.failovers += t.failovers;
        total.stale += t.stale;
        total.switches += t.switches;
        total.kills += t.kills;
        total.partitions += t.partitions;
    }
    eprintln!("{total:#?}");
    // The property is only as good as the failovers the seeds cause.
    assert!(total.failovers >= 6, "{total:#?}");
    assert!(total.switches >= 12, "{total:#?}");
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let (_, a) = run_seed(3);
    let (_, b) = run_seed(3);
    assert_eq!(a, b);
    let (_, c) = run_seed(4);
    assert_ne!(a, c);
}

#[test]
fn seed_374_reproduces_redis_stale_switch_hazard() {
    // Pinned so the hazard stays visible: s2 leads epoch 2 (6380 → 6381), is cut off
    // while reconfiguring, learns epoch 3 (which went back to 6380) from a hello that
    // names its old master's address, then ends its own failover by timeout and
    // switches to 6381 with config epoch 3. The other two agree on 6380.
    let run = storm(374);
    let Elections { stale, .. } = elections(&run);
    assert_eq!(stale, BTreeSet::from(["s2".to_owned()]));
    assert_eq!(run.sentinel("s2").master_addr("mymaster"), Some(("127.0.0.1".to_owned(), 6381)));
    assert_eq!(run.sentinel("s1").master_addr("mymaster"), Some(("127.0.0.1".to_owned(), 6380)));
    assert!(run.lab.events("s2").contains(&"+failover-end-for-timeout master mymaster 127.0.0.1 6380".to_owned()));
}
