//! Replication and persistence tests: several servers on one simulated host,
//! driven with the simulated redis-cli, checked against Redis 7.0's replies,
//! INFO fields and log lines (../shared/oracle/replication_basic.json, masterauth.json).

use crate::config;
use crate::server::Server;
use redis_client::cli::RedisCli;
use sim::{Fault, HostId, ProcId, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

pub(crate) struct Cluster {
    pub(crate) sim: Sim,
    pub(crate) host: HostId,
    clients: u32,
}

impl Cluster {
    pub(crate) fn new(seed: u64) -> Cluster {
        let mut sim = Sim::new(SimConfig { seed, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        Cluster { sim, host, clients: 0 }
    }

    /// Adds and starts a server on `port` with the given redis.conf text.
    pub(crate) fn server(&mut self, port: u16, conf: &str) -> ProcId {
        let config = config::parse(conf, port).expect("valid test config");
        let p =
            self.sim.add_process(self.host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone()))));
        self.sim.apply(Fault::Start(p)).unwrap();
        self.sim.run_for(crate::tests::STARTED);
        p
    }

    /// One redis-cli invocation; the printed reply.
    pub(crate) fn cli(&mut self, port: u16, line: &str) -> String {
        self.cli_auth(port, None, line)
    }

    pub(crate) fn cli_auth(&mut self, port: u16, auth: Option<&str>, line: &str) -> String {
        self.try_cli(port, auth, line).unwrap_or_else(|| panic!("no reply to {line}"))
    }

    /// One redis-cli invocation given a virtual second to answer; `None` if it did not.
    pub(crate) fn try_cli(&mut self, port: u16, auth: Option<&str>, line: &str) -> Option<String> {
        self.try_cli_within(port, auth, line, Duration::from_secs(1))
    }

    /// [`Cluster::try_cli`] given `wait` of virtual time (in 1 ms steps) to answer.
    pub(crate) fn try_cli_within(
        &mut self,
        port: u16,
        auth: Option<&str>,
        line: &str,
        wait: Duration,
    ) -> Option<String> {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        self.clients += 1;
        let auth = auth.map(str::to_owned);
        let p = self.sim.add_process(
            self.host,
            &format!("cli{}", self.clients),
            Box::new(move || Box::new(RedisCli::new(addr, auth.clone(), args.clone()))),
        );
        self.sim.apply(Fault::Start(p)).unwrap();
        for _ in 0..wait.as_millis() {
            self.sim.run_for(Duration::from_millis(1));
            if let Some(out) = self.sim.process::<RedisCli>(p).and_then(|c| c.output.clone()) {
                return Some(out);
            }
        }
        None
    }

    pub(crate) fn info_field(&mut self, port: u16, field: &str) -> String {
        let info = self.server_info(port);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {field} in {info}"))
    }

    fn server_info(&mut self, port: u16) -> String {
        let p = self.sim.proc_by_name(&port.to_string()).unwrap();
        let now = self.sim.wall_clock_ms(p);
        self.sim.process::<Server>(p).map(|s| s.info_replication(now)).unwrap_or_default()
    }

    pub(crate) fn log(&self, port: u16) -> Vec<String> {
        let p = self.sim.proc_by_name(&port.to_string()).unwrap();
        self.sim.log_lines(p).iter().map(|l| l.splitn(7, ' ').nth(6).unwrap_or("").to_owned()).collect()
    }
}

pub(crate) fn replica_conf(master: u16) -> String {
    format!("replicaof 127.0.0.1 {master}\n")
}

#[test]
fn r1_two_replicas_sync_from_config_and_see_writes() {
    let mut c = Cluster::new(1);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.server(6381, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(1));
    // Diskless sync waits repl-diskless-sync-delay (5 s) for more replicas.
    assert_eq!(c.info_field(6380, "master_link_status"), "down");
    // `lag` counts whole seconds of the wall clock (server.unixtime), so it
    // reads 1 when a second boundary fell between the replica's last word and now.
    let slave0 = c.info_field(6379, "slave0");
    assert!(slave0.starts_with("ip=127.0.0.1,port=6380,state=wait_bgsave,offset=0,lag="), "{slave0}");
    assert!(slave0.ends_with("lag=0") || slave0.ends_with("lag=1"), "{slave0}");
    c.sim.run_for(Duration::from_secs(6));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    assert_eq!(c.info_field(6381, "role"), "slave");
    assert_eq!(c.info_field(6379, "connected_slaves"), "2");
    assert!(c.info_field(6379, "slave1").starts_with("ip=127.0.0.1,port=6381,state=online,"));
    assert_eq!(c.cli(6379, "flushall"), "OK");
    assert_eq!(c.cli(6379, "set k1 v1"), "OK");
    assert_eq!(c.cli(6380, "get k1"), "\"v1\"");
    assert_eq!(c.cli(6381, "get k1"), "\"v1\"");
    assert_eq!(c.cli(6380, "set k2 x"), "(error) READONLY You can't write against a read only replica.");
    let master_log = c.log(6379);
    let expected = [
        "Replica 127.0.0.1:6380 asks for synchronization",
        "Full resync requested by replica 127.0.0.1:6380",
        "Delay next BGSAVE for diskless SYNC",
        "Starting BGSAVE for SYNC with target: replicas sockets",
        "Synchronization with replica 127.0.0.1:6381 succeeded",
    ];
    for line in expected {
        assert!(master_log.iter().any(|l| l == line), "missing {line:?} in {master_log:#?}");
    }
    let replica_log = c.log(6380);
    let sequence = [
        "Connecting to MASTER 127.0.0.1:6379",
        "MASTER <-> REPLICA sync started",
        "Non blocking connect for SYNC fired the event.",
        "Master replied to PING, replication can continue...",
        "Partial resynchronization not possible (no cached master)",
    ];
    let start = replica_log.iter().position(|l| l == sequence[0]).expect("connect line");
    assert_eq!(&replica_log[start..start + sequence.len()], sequence);
    assert!(replica_log.iter().any(|l| l.starts_with("Full resync from master: ")));
    assert!(replica_log.iter().any(|l| l == "MASTER <-> REPLICA sync: Finished with success"));
    // Offsets agree once the replicas acked.
    c.sim.run_for(Duration::from_secs(2));
    let off = c.info_field(6379, "master_repl_offset");
    assert_eq!(c.info_field(6380, "master_repl_offset"), off);
    assert_eq!(c.info_field(6381, "slave_repl_offset"), off);
}

#[test]
fn r3_runtime_replicaof_is_lost_on_restart_config_is_not() {
    let mut c = Cluster::new(2);
    c.server(6379, "");
    let runtime = c.server(6380, "");
    let configured = c.server(6381, &replica_conf(6379));
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6380, "replicaof 127.0.0.1 6379"), "OK");
    assert_eq!(c.cli(6380, "replicaof 127.0.0.1 6379"), "OK Already connected to specified master");
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    c.sim.apply(Fault::Restart(runtime)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.apply(Fault::Restart(configured)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "role"), "master");
    assert_eq!(c.info_field(6381, "role"), "slave");
    assert_eq!(c.info_field(6381, "master_link_status"), "up");
}

#[test]
fn r5_promotion_keeps_history_so_others_partially_resync() {
    let mut c = Cluster::new(3);
    let master = c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.server(6381, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    c.cli(6379, "set a 1");
    c.sim.apply(Fault::Stop(master)).unwrap();
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.cli(6380, "get a"), "\"1\"", "reads still work on replicas");
    assert_eq!(c.cli(6381, "slaveof no one"), "OK");
    assert_eq!(c.cli(6381, "set b 2"), "OK");
    assert_eq!(c.cli(6380, "slaveof 127.0.0.1 6381"), "OK");
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.cli(6380, "get b"), "\"2\"");
    let log = c.log(6381);
    assert!(log.iter().any(|l| l.starts_with("Setting secondary replication ID to ")), "{log:#?}");
    assert!(
        log.iter().any(|l| l.starts_with("Partial resynchronization request from 127.0.0.1:6380 accepted.")),
        "{log:#?}"
    );
    assert!(c.log(6380).iter().any(|l| l.starts_with("Master replication ID changed to ")));
    // The old master comes back as a master with its old data (saved at shutdown).
    c.sim.apply(Fault::Start(master)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.info_field(6379, "role"), "master");
    assert_eq!(c.cli(6379, "get a"), "\"1\"");
    assert_eq!(c.cli(6379, "slaveof 127.0.0.1 6381"), "OK");
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.cli(6379, "get b"), "\"2\"");
    assert_eq!(c.info_field(6381, "connected_slaves"), "2");
}

#[test]
fn r6_killed_replica_resyncs_partially_from_its_rdb() {
    let mut c = Cluster::new(4);
    c.server(6379, "");
    let replica = c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    c.cli(6379, "set a 1");
    c.sim.apply(Fault::Kill(replica)).unwrap();
    c.cli(6379, "set b 2");
    assert_eq!(c.cli(6379, "get b"), "\"2\"");
    c.sim.apply(Fault::Start(replica)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.cli(6380, "get b"), "\"2\"");
    let log = c.log(6379);
    assert!(
        log.iter().any(|l| l.starts_with("Partial resynchronization request from 127.0.0.1:6380 accepted.")),
        "the replica's RDB from the full sync carries the replication id: {log:#?}"
    );
}

#[test]
fn r7_missing_masterauth_fails_with_noauth_then_syncs() {
    let mut c = Cluster::new(5);
    c.server(6379, "requirepass 123456\n");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_millis(50));
    assert_eq!(c.cli(6379, "info replication"), "NOAUTH Authentication required.", "redis-cli prints INFO raw");
    assert_eq!(c.info_field(6380, "master_link_status"), "down");
    assert_eq!(c.info_field(6380, "master_link_down_since_seconds"), "-1");
    let log = c.log(6380);
    let cycle = [
        "Master replied to PING, replication can continue...",
        "(Non critical) Master does not understand REPLCONF listening-port: -NOAUTH Authentication required.",
        "(Non critical) Master does not understand REPLCONF capa: -NOAUTH Authentication required.",
        "Partial resynchronization not possible (no cached master)",
        "Unexpected reply to PSYNC from master: -NOAUTH Authentication required.",
        "Retrying with SYNC...",
        "MASTER aborted replication with an error: NOAUTH Authentication required.",
        "Reconnecting to MASTER 127.0.0.1:6379 after failure",
        "MASTER <-> REPLICA sync started",
        "Non blocking connect for SYNC fired the event.",
    ];
    let start = log.iter().position(|l| l == cycle[0]).expect("a sync attempt");
    assert_eq!(&log[start..start + cycle.len()], cycle);
    assert_eq!(c.cli(6380, "config set masterauth 123456"), "OK");
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
}

#[test]
fn chain_forwards_the_stream_and_shares_offsets() {
    let mut c = Cluster::new(6);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.server(6381, &replica_conf(6380));
    c.sim.run_for(Duration::from_secs(14));
    c.cli(6379, "set k v");
    c.cli(6379, "rpush l a b");
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.cli(6381, "get k"), "\"v\"");
    let off = c.info_field(6379, "master_repl_offset");
    assert_eq!(c.info_field(6381, "master_repl_offset"), off);
    assert_eq!(c.info_field(6381, "master_replid"), c.info_field(6379, "master_replid"));
}

#[test]
fn wait_and_min_replicas_to_write() {
    let mut c = Cluster::new(7);
    c.server(6379, "min-replicas-to-write 1\nmin-replicas-max-lag 10\n");
    let replica = c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(c.cli(6379, "set k v"), "(error) NOREPLICAS Not enough good replicas to write.");
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.cli(6379, "set k v"), "OK");
    assert_eq!(c.cli(6379, "wait 1 100"), "(integer) 1");
    assert_eq!(
        c.cli(6380, "wait 1 100"),
        "(error) ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."
    );
    c.sim.apply(Fault::Pause(replica)).unwrap();
    c.sim.run_for(Duration::from_secs(12));
    assert_eq!(c.cli(6379, "set k v2"), "(error) NOREPLICAS Not enough good replicas to write.");
    c.sim.apply(Fault::Resume(replica)).unwrap();
    c.sim.run_for(Duration::from_secs(2));
    assert_eq!(c.cli(6379, "set k v3"), "OK");
}

/// `min_slaves_good_slaves` in INFO replication.
fn good_replicas(c: &mut Cluster) -> String {
    c.info_field(6379, "min_slaves_good_slaves")
}

#[test]
fn good_replicas_are_counted_by_the_replication_cron_and_when_a_replica_goes_not_on_its_ack() {
    let mut c = Cluster::new(7);
    let master = c.server(6379, "min-replicas-to-write 1\nmin-replicas-max-lag 10\n");
    let replica = c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(good_replicas(&mut c), "1");
    c.sim.apply(Fault::Pause(replica)).unwrap();
    // Resumed half-way between two replication crons.
    c.sim.run_for(Duration::from_millis(12_500));
    assert_eq!(good_replicas(&mut c), "0");
    // Resumed, the replica ACKs at once; the master counts it at its next
    // replicationCron (once a second), not on the ACK (replconfCommand).
    let state = |c: &Cluster| {
        let s = c.sim.process::<Server>(master).unwrap();
        let ack = s.clients.values().filter_map(|c| c.replica.as_ref()).map(|r| r.ack_ms).max();
        (ack, s.repl.good_replicas, s.repl.cron_loops)
    };
    let (ack_before, _, _) = state(&c);
    c.sim.apply(Fault::Resume(replica)).unwrap();
    let (mut acked_at, mut counted_at) = (None, None);
    for ms in 0..1500 {
        c.sim.run_for(Duration::from_millis(1));
        let (ack, good, loops) = state(&c);
        if ack != ack_before {
            acked_at.get_or_insert((ms, loops));
        }
        if good == 1 {
            counted_at = Some((ms, loops));
            break;
        }
    }
    let ((acked, loops_then), (counted, loops_now)) = (acked_at.unwrap(), counted_at.unwrap());
    assert!(acked < 5, "the resumed replica ACKs at once (after {acked} ms)");
    assert!(counted > acked && loops_now > loops_then, "counted after {counted} ms, at a later cron, not on the ACK");
    assert_eq!(c.cli(6379, "set k v"), "OK");
    // A replica that goes is uncounted at once (freeClient), not at the next cron.
    c.sim.apply(Fault::Kill(replica)).unwrap();
    c.sim.run_for(Duration::from_millis(5));
    assert_eq!(good_replicas(&mut c), "0");
    assert_eq!(c.cli(6379, "set k v"), "(error) NOREPLICAS Not enough good replicas to write.");
}

#[test]
fn role_and_info_replication_formats() {
    let mut c = Cluster::new(8);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(8));
    let role = c.cli(6380, "role");
    let off = c.info_field(6380, "master_repl_offset");
    assert_eq!(
        role,
        format!("1) \"slave\"\n2) \"127.0.0.1\"\n3) (integer) 6379\n4) \"connected\"\n5) (integer) {off}")
    );
    let role = c.cli(6379, "role");
    assert!(role.starts_with("1) \"master\"\n2) (integer) "), "{role}");
    assert!(role.contains("3) 1) 1) \"127.0.0.1\"\n      2) \"6380\"\n"), "{role}");
    let info = c.server_info(6380);
    let fields: Vec<&str> = info.lines().skip(1).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "role",
            "master_host",
            "master_port",
            "master_link_status",
            "master_last_io_seconds_ago",
            "master_sync_in_progress",
            "slave_read_repl_offset",
            "slave_repl_offset",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
            "connected_slaves",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen",
        ]
    );
}

#[test]
fn persistence_what_survives_kill_and_host_crash() {
    // everysec: a kill keeps everything written, a host crash loses the last second.
    let mut c = Cluster::new(9);
    let p = c.server(6379, "appendonly yes\nappendfsync everysec\nsave \"\"\n");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set early 1");
    c.sim.run_for(Duration::from_secs(2));
    c.cli(6379, "set late 1");
    c.sim.apply(Fault::Kill(p)).unwrap();
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "get late"), "\"1\"", "SIGKILL keeps what was written to the page cache");
    c.cli(6379, "set later 1");
    c.sim.apply(Fault::CrashHost(c.host)).unwrap();
    c.sim.apply(Fault::StartHost(c.host)).unwrap();
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "get early"), "\"1\"");
    assert_eq!(c.cli(6379, "get later"), "(nil)", "the unsynced second is lost with the host");
    // RDB only: a stop saves, a kill loses everything since the last save.
    let mut c = Cluster::new(10);
    let p = c.server(6379, "");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set a 1");
    assert_eq!(c.cli(6379, "save"), "OK");
    c.cli(6379, "set b 1");
    c.sim.apply(Fault::Kill(p)).unwrap();
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "mget a b"), "1) \"1\"\n2) (nil)");
    c.cli(6379, "set c 1");
    assert_eq!(c.sim.stop_within(p, Duration::from_secs(10)), Ok(true));
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "get c"), "\"1\"", "a graceful stop saves the final snapshot");
    assert_eq!(c.cli(6379, "bgsave"), "Background saving started");
    assert_eq!(c.cli(6379, "config get appendfsync"), "1) \"appendfsync\"\n2) \"everysec\"");
    assert_eq!(
        c.cli(6379, "config set appendfsync sometimes"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"
    );
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let mut c = Cluster::new(seed);
        let master = c.server(6379, "");
        c.server(6380, &replica_conf(6379));
        c.sim.run_for(Duration::from_secs(7));
        c.cli(6379, "set a 1");
        c.sim.apply(Fault::Kill(master)).unwrap();
        c.sim.run_for(Duration::from_secs(3));
        c.sim.trace().hash_hex()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn debug_sleep_blocks_the_event_loop_and_needs_enable_debug_command() {
    let mut c = Cluster::new(13);
    c.server(6379, "");
    c.sim.run_for(Duration::from_millis(10));
    assert!(c.cli(6379, "debug sleep 1").starts_with("(error) ERR DEBUG command not allowed."));
    let mut c = Cluster::new(14);
    let p = c.server(6379, "enable-debug-command local\n");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set k v");
    // A sleeping server answers nobody; its replies come when it wakes up.
    let started = c.sim.now();
    assert_eq!(c.cli(6379, "debug sleep 0.5"), "OK");
    assert!(c.sim.now() - started >= Duration::from_millis(500));
    assert_eq!(
        c.cli(6379, "config set enable-debug-command yes"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config"
    );
    assert_eq!(c.sim.proc_state(p), sim::ProcState::Running);
    assert_eq!(
        c.cli(6379, "config set port 7000"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'port') - changing the port at runtime is not simulated by chaoslab (the topology fixes it)"
    );
    assert_eq!(c.cli(6379, "config get repl-backlog-size"), "1) \"repl-backlog-size\"\n2) \"1048576\"");
}

#[test]
fn aof_replay_does_not_expire_keys_midway() {
    let mut c = Cluster::new(15);
    let p = c.server(6379, "appendonly yes\nappendfsync always\nsave \"\"\n");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(c.cli(6379, "set k v PX 1000"), "OK");
    assert_eq!(c.cli(6379, "append k x"), "(integer) 2");
    // Killed before the key's time, so no DEL reached the AOF; started after it.
    c.sim.apply(Fault::Kill(p)).unwrap();
    c.sim.run_for(Duration::from_secs(2));
    c.sim.apply(Fault::Start(p)).unwrap();
    c.sim.run_for(crate::tests::STARTED);
    c.sim.run_for(Duration::from_millis(10));
    // Replayed as written, the key keeps its (past) expiry and reads as gone;
    // expiring it midway would have resurrected it as "x" without a TTL.
    assert_eq!(c.cli(6379, "get k"), "(nil)");
    assert_eq!(c.cli(6379, "ttl k"), "(integer) -2");
}

/// `port`'s observations, in order, with their times in ns.
fn observations_of(c: &Cluster, port: u16) -> Vec<(u64, sim::Observation)> {
    let p = c.sim.proc_by_name(&port.to_string()).unwrap();
    c.sim.observations().filter(|(_, who, _)| *who == p).map(|(at, _, o)| (at.as_nanos(), o.clone())).collect()
}

fn offsets(obs: &[(u64, sim::Observation)]) -> Vec<(u64, u64)> {
    obs.iter()
        .filter_map(|(at, o)| match o {
            sim::Observation::ReplOffset { offset } => Some((*at, *offset)),
            _ => None,
        })
        .collect()
}

#[test]
fn observations_follow_roles_links_and_offsets_through_a_promotion() {
    use sim::{Observation, Role};
    let mut c = Cluster::new(5);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.server(6381, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    for i in 0..20 {
        c.cli(6379, &format!("set k{i} {}", "v".repeat(i * 10)));
        c.sim.run_for(Duration::from_millis(37));
    }
    assert_eq!(c.cli(6380, "replicaof no one"), "OK");
    c.sim.run_for(Duration::from_secs(1));

    let promoted = observations_of(&c, 6380);
    let roles: Vec<&Observation> = promoted.iter().map(|(_, o)| o).filter(|o| o.is_hashed()).collect();
    assert_eq!(
        roles,
        [
            &Observation::Role { role: Role::Replica, master: Some("127.0.0.1:6379".into()) },
            &Observation::Role { role: Role::Master, master: None },
        ]
    );
    let links: Vec<&Observation> =
        promoted.iter().map(|(_, o)| o).filter(|o| matches!(o, Observation::MasterLink { .. })).collect();
    assert_eq!(links, [&Observation::MasterLink { up: true }, &Observation::MasterLink { up: false }]);

    // A master's offset never goes down; a replica's never goes down and
    // never passes what its master had produced by then (the master's next
    // published offset, or its last one).
    let master = offsets(&observations_of(&c, 6379));
    assert!(master.len() > 5, "{master:?}");
    let replica = offsets(&observations_of(&c, 6381));
    let (promoted_at, _) = promoted.iter().find(|(_, o)| *o == *roles[1]).unwrap();
    let as_replica: Vec<(u64, u64)> = offsets(&promoted).into_iter().filter(|(at, _)| at < promoted_at).collect();
    for series in [&master, &replica, &as_replica] {
        assert!(series.windows(2).all(|w| w[0].1 < w[1].1), "published on change, never down: {series:?}");
    }
    for (at, offset) in replica.iter().chain(&as_replica) {
        let bound = master.iter().find(|(t, _)| t >= at).unwrap_or(master.last().unwrap()).1;
        assert!(*offset <= bound, "replica at {offset} past the master's {bound} at {at} ns");
    }
    assert_eq!(replica.last().unwrap().1, master.last().unwrap().1, "the replica caught up");
    assert_eq!(c.info_field(6379, "master_repl_offset"), master.last().unwrap().1.to_string());
}

/// INFO persistence's last-load counters, as a real 7.0.15 shows them after a
/// restart from an RDB of two live keys and one that expired meanwhile
/// (measured: `rdb_last_load_keys_loaded:2`, `rdb_last_load_keys_expired:1`),
/// and a replica's after its full sync (which drops nothing).
#[test]
fn the_last_rdb_load_is_counted_in_info_persistence() {
    let mut c = Cluster::new(2);
    let master = c.server(6379, "");
    c.sim.run_for(Duration::from_millis(10));
    assert_eq!(persistence_field(&mut c, 6379, "rdb_last_load_keys_loaded"), "0");
    c.cli(6379, "set a 1");
    c.cli(6379, "set b 2");
    c.cli(6379, "set c 3 px 1000");
    assert_eq!(c.cli(6379, "save"), "OK");
    c.sim.apply(Fault::Stop(master)).unwrap();
    c.sim.run_for(Duration::from_millis(1500));
    c.sim.apply(Fault::Start(master)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    assert_eq!(persistence_field(&mut c, 6379, "rdb_last_load_keys_loaded"), "2");
    assert_eq!(persistence_field(&mut c, 6379, "rdb_last_load_keys_expired"), "1");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    assert_eq!(persistence_field(&mut c, 6380, "rdb_last_load_keys_loaded"), "2");
    assert_eq!(persistence_field(&mut c, 6380, "rdb_last_load_keys_expired"), "0");
}

/// A field of INFO persistence, asked as redis-cli asks it.
fn persistence_field(c: &mut Cluster, port: u16, field: &str) -> String {
    crate::tests::info_value(&c.cli(port, "info persistence"), field)
}

/// A restart with the AOF on logs the base and incr files as a real 7.0.15
/// does (lines recorded from one: a base of one key after BGREWRITEAOF, then
/// two writes in the incr file), and counts the base's keys as the last load.
#[test]
fn an_aof_restart_logs_its_base_and_incr_files() {
    let mut c = Cluster::new(1);
    let node = c.server(6379, "appendonly yes");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set a 1");
    c.cli(6379, "bgrewriteaof");
    c.sim.run_for(Duration::from_millis(500));
    c.cli(6379, "set b 2");
    c.cli(6379, "set c 3 px 500");
    c.sim.apply(Fault::Stop(node)).unwrap();
    c.sim.run_for(Duration::from_secs(1));
    c.sim.apply(Fault::Start(node)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    let log = c.log(6379);
    let from = log.iter().rposition(|l| l == "Reading RDB base file on AOF loading...").expect("the base is read");
    let want = [
        "Reading RDB base file on AOF loading...",
        "Loading RDB produced by version 7.0.15",
        "RDB age ",
        "RDB memory usage when created ",
        "RDB is base AOF",
        "Done loading RDB, keys loaded: 1, keys expired: 0.",
        "DB loaded from base file appendonly.aof.2.base.rdb: 0.000 seconds",
        "DB loaded from incr file appendonly.aof.2.incr.aof: 0.000 seconds",
        "DB loaded from append only file: 0.000 seconds",
        "Opening AOF incr file appendonly.aof.2.incr.aof on server start",
        "Ready to accept connections",
    ];
    assert!(log.len() - from >= want.len(), "{:#?}", &log[from..]);
    for (line, want) in log[from..].iter().zip(want) {
        assert!(line.starts_with(want), "{line:?} where {want:?} was expected in {:#?}", &log[from..]);
    }
    assert_eq!(persistence_field(&mut c, 6379, "rdb_last_load_keys_loaded"), "1");
    assert_eq!(c.cli(6379, "dbsize"), "(integer) 2", "c expired after the incr file was replayed");
}

/// A replica counts the commands its master's stream runs as its own calls
/// (INFO commandstats, total_commands_processed), as a real 7.0.15 replica does
/// (measured: after CONFIG RESETSTAT and a SET on the master, `cmdstat_set`,
/// `cmdstat_select` and `cmdstat_config|resetstat` with one call each).
#[test]
fn a_replica_counts_its_masters_commands() {
    let mut c = Cluster::new(2);
    c.server(6379, "");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(7));
    assert_eq!(c.info_field(6380, "master_link_status"), "up");
    assert_eq!(c.cli(6380, "config resetstat"), "OK");
    c.cli(6379, "set x 1");
    c.sim.run_for(Duration::from_millis(100));
    let stats = c.cli(6380, "info commandstats");
    let mut names: Vec<&str> = stats.split(['\r', '\n']).filter_map(|l| l.split_once(':').map(|(n, _)| n)).collect();
    names.sort_unstable();
    assert_eq!(names, ["cmdstat_config|resetstat", "cmdstat_select", "cmdstat_set"], "{stats}");
}

/// What a full sync and the stream cost in INFO's replication counters, as a
/// real 7.0.15 pair counts (measured: diskless and disk-based, delay 0): the
/// master's replication output is the replica's replication input byte for
/// byte, the snapshot's `$EOF:`/`$<len>` line included and the `+FULLRESYNC`
/// line left out; a write adds its SELECT and itself (50 bytes for `SET c 3`)
/// to both; the replica's ACKs are its client output, read as client input.
#[test]
fn replication_traffic_is_counted_on_both_sides() {
    for diskless in ["yes", "no"] {
        let mut c = Cluster::new(1);
        c.server(6379, &format!("repl-diskless-sync {diskless}\nrepl-diskless-sync-delay 0\n"));
        c.server(6380, &replica_conf(6379));
        c.sim.run_for(Duration::from_secs(3));
        assert_eq!(c.info_field(6380, "master_link_status"), "up", "diskless {diskless}");
        let traffic = |c: &Cluster, port: u16| {
            let p = c.sim.proc_by_name(&port.to_string()).unwrap();
            c.sim.process::<Server>(p).unwrap().outputs.traffic.clone()
        };
        let (master, replica) = (traffic(&c, 6379), traffic(&c, 6380));
        assert!(master.repl_output > 80, "a snapshot was counted: {master:?}");
        assert_eq!((master.repl_output, master.repl_input), (replica.repl_input, 0), "diskless {diskless}");
        assert_eq!(replica.repl_output, 0);
        // REPLCONF ACKs: the replica's output is the master's input beyond its handshake.
        assert!(replica.output > 0 && master.input > replica.output, "{master:?} {replica:?}");
        assert_eq!(c.cli(6379, "set c 3"), "OK");
        c.sim.run_for(Duration::from_millis(10));
        let (m2, r2) = (traffic(&c, 6379), traffic(&c, 6380));
        assert_eq!((m2.repl_output - master.repl_output, r2.repl_input - replica.repl_input), (50, 50));
    }
}

/// A replica counts its master's PINGs as commands it ran, as a real 7.0.15
/// replica does (measured: `repl-ping-replica-period 1`, CONFIG RESETSTAT on
/// the replica, 5.05 s later `cmdstat_ping:calls=5` and 70 bytes of
/// replication input, 14 per `*1\r\n$4\r\nPING\r\n`).
#[test]
fn a_replica_counts_its_masters_pings() {
    let mut c = Cluster::new(1);
    c.server(6379, "repl-diskless-sync-delay 0\nrepl-ping-replica-period 1\n");
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(3));
    assert_eq!(c.cli(6380, "config resetstat"), "OK");
    c.sim.run_for(Duration::from_millis(5050));
    let stats = c.cli(6380, "info commandstats");
    let ping = stats.lines().find(|l| l.starts_with("cmdstat_ping:")).unwrap_or_else(|| panic!("{stats}"));
    let calls: u64 = ping["cmdstat_ping:calls=".len()..].split(',').next().unwrap().parse().unwrap();
    assert!((5..=6).contains(&calls), "{ping}");
    let p = c.sim.proc_by_name("6380").unwrap();
    let repl_input = c.sim.process::<Server>(p).unwrap().outputs.traffic.repl_input;
    assert_eq!(repl_input, 14 * calls);
}

/// `aof-use-rdb-preamble no`: BGREWRITEAOF writes the base as commands, named
/// `.base.aof` in the manifest, and a restart replays it, as a real 7.0.15
/// does. The commands per key are those a real one wrote for the same data
/// (its keys came in its dict's order, its XCLAIM TIME from its clock: both
/// differ here); its restart logged the same lines.
#[test]
fn an_aof_base_without_preamble_is_commands() {
    let mut c = Cluster::new(1);
    let node = c.server(6379, "appendonly yes\naof-use-rdb-preamble no\n");
    c.sim.run_for(Duration::from_millis(10));
    let dir = "appendonlydir";
    assert_eq!(c.sim.disk(node).read(&format!("{dir}/appendonly.aof.1.base.aof")), Some(&b""[..]));
    for cmd in [
        "set s v",
        "set n 12345",
        "rpush l a b c",
        "sadd st x y 1 2",
        "zadd z 1.5 a 2 b 3e20 c -inf d",
        "hset h f1 v1 f2 22",
        "set e v ex 1000",
        "xadd x 1-1 a 1",
        "xadd x 2-1 b 2",
        "xgroup create x g 0",
        "xreadgroup group g c1 count 1 streams x >",
        "xgroup createconsumer x g c9",
        "xgroup create x g2 $",
    ] {
        c.cli(6379, cmd);
    }
    c.cli(6379, &format!("lpush big {}", (1..=70).map(|n| n.to_string()).collect::<Vec<_>>().join(" ")));
    c.cli(6379, "bgrewriteaof");
    c.sim.run_for(Duration::from_millis(500));
    let disk = c.sim.disk(node);
    let manifest = String::from_utf8_lossy(disk.read(&format!("{dir}/appendonly.aof.manifest")).unwrap()).into_owned();
    assert_eq!(manifest, "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    let base = disk.read(&format!("{dir}/appendonly.aof.2.base.aof")).unwrap();
    let mut parser = resp::RequestParser::default();
    parser.feed(base);
    let mut lines = Vec::new();
    while parser.next_command(false) == Ok(true) {
        let words: Vec<String> = parser.args().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        lines.push(words.join(" "));
    }
    let time = |l: &String| l.split(" TIME ").nth(1).and_then(|t| t.split(' ').next()).unwrap_or("").to_owned();
    let claim_time = lines.iter().find(|l| l.starts_with("XCLAIM")).map(time).unwrap();
    let big_first: Vec<String> = (7..=70).rev().map(|n| n.to_string()).collect();
    let expire = lines.iter().find(|l| l.starts_with("PEXPIREAT")).unwrap().clone();
    let want = [
        "SELECT 0".to_owned(),
        "RPUSH big ".to_owned() + &big_first.join(" "),
        "RPUSH big 6 5 4 3 2 1".to_owned(),
        "SET e v".to_owned(),
        expire,
        "HMSET h f1 v1 f2 22".to_owned(),
        "RPUSH l a b c".to_owned(),
        "SET n 12345".to_owned(),
        "SET s v".to_owned(),
        "SADD st 1 2 x y".to_owned(),
        "XADD x 1-1 a 1".to_owned(),
        "XADD x 2-1 b 2".to_owned(),
        "XSETID x 2-1 ENTRIESADDED 2 MAXDELETEDID 0-0".to_owned(),
        "XGROUP CREATE x g 1-1 ENTRIESREAD 1".to_owned(),
        format!("XCLAIM x g c1 0 1-1 TIME {claim_time} RETRYCOUNT 1 JUSTID FORCE"),
        "XGROUP CREATECONSUMER x g c9".to_owned(),
        "XGROUP CREATE x g2 2-1 ENTRIESREAD -1".to_owned(),
        "ZADD z -inf d 1.5 a 2 b 3e+20 c".to_owned(),
    ];
    assert_eq!(lines, want);
    c.sim.apply(Fault::Stop(node)).unwrap();
    c.sim.run_for(Duration::from_secs(1));
    c.sim.apply(Fault::Start(node)).unwrap();
    c.sim.run_for(Duration::from_millis(100));
    let log = c.log(6379);
    let from = log.iter().rposition(|l| l.starts_with("DB loaded from base file")).expect("the base is loaded");
    assert_eq!(
        &log[from..from + 3],
        [
            "DB loaded from base file appendonly.aof.2.base.aof: 0.000 seconds",
            "DB loaded from append only file: 0.000 seconds",
            "Opening AOF incr file appendonly.aof.2.incr.aof on server start",
        ]
    );
    assert_eq!(c.cli(6379, "dbsize"), "(integer) 9");
    assert_eq!(c.cli(6379, "xpending x g"), "1) (integer) 1\n2) \"1-1\"\n3) \"1-1\"\n4) 1) 1) \"c1\"\n      2) \"1\"");
    assert_eq!(c.cli(6379, "zscore z c"), "\"3e+20\"");
}

/// BGREWRITEAOF's log as a real 7.0.15 writes it (recorded: AOF on, one key,
/// a rewrite; then `appendonly no` and another): the new incr file, the
/// child's temporary base and its copy-on-write under the child's pid, the
/// rename into the new base, the old manifest's files removed, incr first.
#[test]
fn bgrewriteaof_logs_as_7_0_15() {
    let mut c = Cluster::new(1);
    c.server(6379, "appendonly yes");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set k v");
    let rewrite = |c: &mut Cluster| {
        let before = c.log(6379).len();
        assert_eq!(c.cli(6379, "bgrewriteaof"), "Background append only file rewriting started");
        c.sim.run_for(Duration::from_millis(500));
        let lines = c.log(6379)[before..].to_vec();
        let pid = lines.iter().find_map(|l| l.strip_prefix("Background append only file rewriting started by pid "));
        let pid = pid.expect("the fork is logged").to_owned();
        lines.into_iter().map(|l| l.replace(&pid, "<pid>")).collect::<Vec<_>>()
    };
    let child = [
        "Background append only file rewriting started by pid <pid>",
        "Successfully created the temporary AOF base file temp-rewriteaof-bg-<pid>.aof",
        "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB",
        "Background AOF rewrite terminated with success",
    ];
    let mut want = vec!["Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite"];
    want.extend(child);
    want.extend([
        "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-<pid>.aof into appendonly.aof.2.base.rdb",
        "Removing the history file appendonly.aof.1.incr.aof in the background",
        "Removing the history file appendonly.aof.1.base.rdb in the background",
        "Background AOF rewrite finished successfully",
    ]);
    assert_eq!(rewrite(&mut c), want);
    assert_eq!(c.cli(6379, "config set appendonly no"), "OK");
    let mut want = child.to_vec();
    want.extend([
        "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-<pid>.aof into appendonly.aof.3.base.rdb",
        "Removing the history file appendonly.aof.2.incr.aof in the background",
        "Removing the history file appendonly.aof.2.base.rdb in the background",
        "Background AOF rewrite finished successfully",
    ]);
    assert_eq!(rewrite(&mut c), want);
    let p = c.sim.proc_by_name("6379").unwrap();
    let names = c.sim.disk(p).read("appendonlydir/appendonly.aof.manifest").map(<[u8]>::to_vec);
    assert_eq!(names.as_deref(), Some(&b"file appendonly.aof.3.base.rdb seq 3 type b\n"[..]));
}

/// CONFIG SET appendonly yes starts the AOF as a real 7.0.15 does
/// (`startAppendOnly`, recorded): a rewrite whose incr file is a temporary
/// one until the base is in place; a replica's full sync with the AOF on
/// logs the same (seen on a real replica, there as base 2).
#[test]
fn turning_the_aof_on_rewrites_with_a_temporary_incr_file() {
    let mut c = Cluster::new(1);
    c.server(6379, "");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set a 1");
    let before = c.log(6379).len();
    assert_eq!(c.cli(6379, "config set appendonly yes"), "OK");
    c.sim.run_for(Duration::from_millis(500));
    let lines = c.log(6379)[before..].to_vec();
    let pid = lines[1].strip_prefix("Background append only file rewriting started by pid ").unwrap().to_owned();
    let lines: Vec<String> = lines.iter().map(|l| l.replace(&pid, "<pid>")).collect();
    assert_eq!(
        lines,
        [
            "Creating AOF incr file temp-appendonly.aof.incr on background rewrite",
            "Background append only file rewriting started by pid <pid>",
            "Successfully created the temporary AOF base file temp-rewriteaof-bg-<pid>.aof",
            "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB",
            "Background AOF rewrite terminated with success",
            "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-<pid>.aof into appendonly.aof.1.base.rdb",
            "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.1.incr.aof",
            "Background AOF rewrite finished successfully",
        ]
    );
    c.server(6380, &(replica_conf(6379) + "appendonly yes\n"));
    c.sim.run_for(Duration::from_secs(8));
    let log = c.log(6380);
    let from = log.iter().position(|l| l == "MASTER <-> REPLICA sync: Finished with success").expect("synced");
    assert_eq!(log[from + 1], "Creating AOF incr file temp-appendonly.aof.incr on background rewrite");
    let tail: Vec<&str> = log[from + 6..from + 11].iter().map(String::as_str).collect();
    assert_eq!(
        tail[1..],
        [
            "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.2.incr.aof",
            "Removing the history file appendonly.aof.1.incr.aof in the background",
            "Removing the history file appendonly.aof.1.base.rdb in the background",
            "Background AOF rewrite finished successfully",
        ]
    );
}

/// A BGSAVE's and a diskless sync's child log their own lines under the
/// child's pid and role C, as a real 7.0.15 does (recorded): `DB saved on
/// disk` (not for a socket transfer) and `Fork CoW for RDB`, before the
/// parent's `terminated with success`.
#[test]
fn fork_children_log_under_their_own_pid() {
    let mut c = Cluster::new(1);
    c.server(6379, "repl-diskless-sync-delay 0");
    c.sim.run_for(Duration::from_millis(10));
    c.cli(6379, "set a 1");
    let p = c.sim.proc_by_name("6379").unwrap();
    let raw_from = |c: &Cluster, from: usize| -> Vec<String> {
        // `pid:role dd Mon yyyy hh:mm:ss.mmm level message` without its date.
        let lines = c.sim.log_lines(p)[from..].iter();
        lines
            .map(|l| {
                l.split(' ')
                    .enumerate()
                    .filter(|(i, _)| !(1..=4).contains(i))
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let before = c.sim.log_lines(p).len();
    assert_eq!(c.cli(6379, "bgsave"), "Background saving started");
    c.sim.run_for(Duration::from_millis(500));
    let lines = raw_from(&c, before);
    let child = lines[0].rsplit(' ').next().unwrap().to_owned();
    let parent = lines[0].split(':').next().unwrap().to_owned();
    assert_eq!(
        lines,
        [
            format!("{parent}:M * Background saving started by pid {child}"),
            format!("{child}:C * DB saved on disk"),
            format!("{child}:C * Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB"),
            format!("{parent}:M * Background saving terminated with success"),
        ]
    );
    let before = c.sim.log_lines(p).len();
    c.server(6380, &replica_conf(6379));
    c.sim.run_for(Duration::from_secs(2));
    let lines = raw_from(&c, before);
    let at = lines.iter().position(|l| l.contains("Background RDB transfer started by pid")).expect("a diskless sync");
    let child = lines[at].rsplit(' ').next().unwrap().to_owned();
    assert_eq!(
        lines[at + 1..at + 4],
        [
            format!("{child}:C * Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB"),
            format!("{parent}:M # Diskless rdb transfer, done reading from pipe, 1 replicas still up."),
            format!("{parent}:M * Background RDB transfer terminated with success"),
        ]
    );
}
