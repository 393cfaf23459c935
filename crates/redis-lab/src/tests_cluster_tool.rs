//! `redis-cli --cluster` end to end on simulated nodes: what it prints and
//! what it leaves behind, against redis-cli 7.0.15's output on a real loopback
//! cluster.

use crate::cluster_tool::{ToolClient, parse_command, run};
use crate::tests_harness::Cluster;
use redis_client::cli::RedisCli;
use sim::Fault;
use std::time::Duration;

/// Runs `--cluster <command>` from the servers' host; the printed lines and success.
pub(crate) fn tool(c: &mut Cluster, command: &str) -> (Vec<String>, bool) {
    tool_auth(c, command, None)
}

/// Like `redis-cli -a <password> --cluster <command>`.
fn tool_auth(c: &mut Cluster, command: &str, password: Option<&str>) -> (Vec<String>, bool) {
    let command = parse_command(command).unwrap();
    let host = c.sim.host_of(c.sim.procs().next().unwrap());
    let name = format!("tool{}", c.sim.procs().count());
    let p = c.sim.add_process(host, &name, Box::new(|| Box::new(ToolClient::default())));
    c.sim.apply(Fault::Start(p)).unwrap();
    let out = run(&mut c.sim, p, &command, password.map(str::to_owned), Duration::from_secs(120));
    c.sim.apply(Fault::Kill(p)).unwrap();
    assert!(out.interrupted.is_none(), "a bare Sim never interrupts the tool");
    (out.lines, out.ok)
}

#[test]
fn command_lines_parse_like_redis_cli_and_bad_ones_say_why() {
    let c = parse_command("create 127.0.0.1:6381 127.0.0.1:6382 --cluster-replicas 1 --cluster-yes").unwrap();
    assert!(format!("{c:?}").contains("replicas: 1"));
    for (bad, why) in [
        ("", "the command is empty"),
        ("explode 1.2.3.4:5", "Unknown --cluster subcommand 'explode'"),
        ("check", "[ERR] Wrong number of arguments for specified --cluster sub command"),
        ("reshard 127.0.0.1:1 --cluster-slots many", "--cluster-slots: 'many' is not a number"),
        ("reshard 127.0.0.1:1 --cluster-colour red", "Unrecognized option: --cluster-colour"),
        ("rebalance 127.0.0.1:1 --cluster-weight", "--cluster-weight needs node=weight pairs"),
    ] {
        assert_eq!(parse_command(bad).unwrap_err(), why, "{bad}");
    }
}

#[test]
fn non_cluster_or_unreachable_nodes_are_refused() {
    let mut c = Cluster::new(41);
    c.server(6379, "");
    // Its start-up time (8 to 16 ms) is over.
    c.sim.run_for(Duration::from_millis(20));
    let (out, ok) = tool(&mut c, "check 127.0.0.1:6379");
    assert!(!ok);
    assert_eq!(out, ["[ERR] Node 127.0.0.1:6379 is not configured as a cluster node."]);
    let (out, ok) = tool(&mut c, "create 127.0.0.1:6399 127.0.0.1:6379 127.0.0.1:6379");
    assert!(!ok);
    assert_eq!(out, ["Could not connect to Redis at 127.0.0.1:6399: Connection refused"]);
    let (out, ok) = tool(&mut c, "info 127.0.0.1:x");
    assert!(!ok);
    assert_eq!(out, ["Invalid address format: 127.0.0.1:x"]);
}

fn cluster_conf(port: u16) -> String {
    format!("cluster-enabled yes\ncluster-config-file nodes-{port}.conf\nappendonly yes\n")
}

/// Six empty cluster nodes on 6381..6386.
fn six_nodes(seed: u64) -> Cluster {
    let mut c = Cluster::new(seed);
    for port in 6381..=6386 {
        c.server(port, &cluster_conf(port));
    }
    c.sim.run_for(Duration::from_millis(100));
    c
}

const CREATE: &str = "create 127.0.0.1:6381 127.0.0.1:6382 127.0.0.1:6383 127.0.0.1:6384 127.0.0.1:6385 127.0.0.1:6386 --cluster-replicas 1 --cluster-yes";

/// One `redis-cli -c` command.
fn cli_c(c: &mut Cluster, port: u16, line: &str) -> String {
    let args = resp::split_args(line.as_bytes()).unwrap();
    let addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
    let host = c.sim.host_of(c.sim.procs().next().unwrap());
    let name = format!("cli-c{}", c.sim.procs().count());
    let p = c.sim.add_process(
        host,
        &name,
        Box::new(move || Box::new(RedisCli::new(addr, None, args.clone()).cluster_mode(false))),
    );
    c.sim.apply(Fault::Start(p)).unwrap();
    for _ in 0..1000 {
        c.sim.run_for(Duration::from_millis(1));
        if let Some(out) = c.sim.process::<RedisCli>(p).and_then(|cli| cli.output.clone()) {
            return out;
        }
    }
    panic!("no reply to {line}");
}

fn cluster_info(c: &mut Cluster, port: u16, field: &str) -> String {
    let info = c.cli(port, "cluster info");
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_default().trim().to_owned()
}

fn node_id(c: &mut Cluster, port: u16) -> String {
    c.cli(port, "cluster myid").trim_matches('"').to_owned()
}

/// Created and settled: every node sees the cluster ok and every replica is in sync.
fn created(seed: u64) -> (Cluster, Vec<String>) {
    let mut c = six_nodes(seed);
    let (out, ok) = tool(&mut c, CREATE);
    assert!(ok, "{}", out.join("\n"));
    c.sim.run_for(Duration::from_secs(10));
    (c, out)
}

#[test]
fn create_prints_redis_clis_plan_and_leaves_a_healthy_cluster() {
    let (mut c, out) = created(42);
    let text = out.join("\n");
    // The plan part is what redis-cli 7.0.15 printed for six nodes on one IP.
    let head = [
        ">>> Performing hash slots allocation on 6 nodes...",
        "Master[0] -> Slots 0 - 5460",
        "Master[1] -> Slots 5461 - 10922",
        "Master[2] -> Slots 10923 - 16383",
        "Adding replica 127.0.0.1:6385 to 127.0.0.1:6381",
        "Adding replica 127.0.0.1:6386 to 127.0.0.1:6382",
        "Adding replica 127.0.0.1:6384 to 127.0.0.1:6383",
        ">>> Trying to optimize slaves allocation for anti-affinity",
        "[WARNING] Some slaves are in the same host as their master",
    ];
    assert_eq!(out[..head.len()], head);
    for line in [
        ">>> Nodes configuration updated",
        ">>> Assign a different config epoch to each node",
        ">>> Sending CLUSTER MEET messages to join the cluster",
        "Waiting for the cluster to join",
        ">>> Performing Cluster Check (using node 127.0.0.1:6381)",
        "[OK] All nodes agree about slots configuration.",
        "[OK] All 16384 slots covered.",
    ] {
        assert!(out.iter().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(regex::Regex::new(r"(?m)^   slots:\[0-5460\] \(5461 slots\) master$").unwrap().is_match(&text));
    for port in 6381..=6386 {
        assert_eq!(cluster_info(&mut c, port, "cluster_state"), "ok", "{port}");
        assert_eq!(cluster_info(&mut c, port, "cluster_known_nodes"), "6");
        assert_eq!(cluster_info(&mut c, port, "cluster_size"), "3");
        assert_eq!(cluster_info(&mut c, port, "cluster_slots_assigned"), "16384");
    }
    // Each master got exactly one of 6384..6386 as its replica (which one is the shuffle's).
    let mut masters: Vec<String> = (6384..=6386).map(|p| c.cli(p, "role").lines().nth(2).unwrap().to_owned()).collect();
    masters.sort();
    assert_eq!(masters, ["3) (integer) 6381", "3) (integer) 6382", "3) (integer) 6383"]);
    // check agrees, and says so.
    let (check, ok) = tool(&mut c, "check 127.0.0.1:6382");
    assert!(ok);
    assert_eq!(
        check[..4]
            .iter()
            .filter(|l| l.ends_with("-> 0 keys | 5461 slots | 1 slaves.")
                || l.ends_with("-> 0 keys | 5462 slots | 1 slaves."))
            .count(),
        3
    );
    assert_eq!(check[3], "[OK] 0 keys in 3 masters.");
    assert_eq!(check[4], "0.00 keys per slot on average.");
    assert_eq!(check.last().unwrap(), "[OK] All 16384 slots covered.");
}

#[test]
fn create_refuses_too_few_masters_and_busy_nodes() {
    let mut c = six_nodes(43);
    let (out, ok) =
        tool(&mut c, "create 127.0.0.1:6381 127.0.0.1:6382 127.0.0.1:6383 127.0.0.1:6384 --cluster-replicas 1");
    assert!(!ok);
    assert_eq!(
        out,
        [
            "*** ERROR: Invalid configuration for cluster creation.",
            "*** Redis Cluster requires at least 3 master nodes.",
            "*** This is not possible with 4 nodes and 1 replicas per node.",
            "*** At least 6 nodes are required."
        ]
    );
    // A node that already knows another one is not empty.
    assert_eq!(c.cli(6383, "cluster meet 127.0.0.1 6386"), "OK");
    c.sim.run_for(Duration::from_secs(1));
    let (out, ok) = tool(&mut c, "create 127.0.0.1:6381 127.0.0.1:6382 127.0.0.1:6383");
    assert!(!ok);
    assert_eq!(
        out,
        [
            "[ERR] Node 127.0.0.1:6383 is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
        ]
    );
}

/// Slots moved by the grow-and-shrink test (the C8 scenario moves 1000).
const SLOTS_MOVED: usize = 150;

#[test]
fn grow_reshard_with_keys_shrink_and_delete_a_master() {
    let (mut c, _) = created(44);
    // 20 keys in the slots that will move and 30 elsewhere.
    let slot = |k: &String| usize::from(common::slot::key_slot(k.as_bytes()));
    let all = (0..).map(|i| format!("key:{i}"));
    let low: Vec<String> = all.clone().filter(|k| slot(k) < SLOTS_MOVED).take(20).collect();
    let keys: Vec<String> = low.iter().cloned().chain(all.filter(|k| slot(k) >= SLOTS_MOVED).take(30)).collect();
    for k in &keys {
        assert_eq!(cli_c(&mut c, 6381, &format!("set {k} v-{k}")), "OK");
    }
    c.server(6387, &cluster_conf(6387));
    c.sim.run_for(Duration::from_millis(100));
    let (out, ok) = tool(&mut c, "add-node 127.0.0.1:6387 127.0.0.1:6381");
    assert!(ok, "{}", out.join("\n"));
    assert_eq!(out[0], ">>> Adding node 127.0.0.1:6387 to cluster 127.0.0.1:6381");
    assert_eq!(out.last().unwrap(), "[OK] New node added correctly.");
    // Gossip spreads the new node in some seconds, at each node's own pace
    // (crons drift): every node must know it before the reshard.
    c.sim.run_for(Duration::from_secs(5));
    for _ in 0..50 {
        if (6381..=6386).all(|p| cluster_info(&mut c, p, "cluster_known_nodes") == "7") {
            break;
        }
        c.sim.run_for(Duration::from_millis(100));
    }
    assert!((6381..=6386).all(|p| cluster_info(&mut c, p, "cluster_known_nodes") == "7"));
    let (from, to) = (node_id(&mut c, 6381), node_id(&mut c, 6387));
    let (out, ok) = tool(
        &mut c,
        &format!(
            "reshard 127.0.0.1:6381 --cluster-from {from} --cluster-to {to} --cluster-slots {SLOTS_MOVED} --cluster-yes"
        ),
    );
    let text = out.join("\n");
    assert!(ok, "{text}");
    assert!(out.iter().any(|l| *l == format!("Ready to move {SLOTS_MOVED} slots.")), "{text}");
    assert!(out.iter().any(|l| *l == format!("    Moving slot {} from {from}", SLOTS_MOVED - 1)));
    assert!(out.iter().any(|l| l.starts_with("Moving slot 0 from 127.0.0.1:6381 to 127.0.0.1:6387: ")));
    c.sim.run_for(Duration::from_secs(5));
    // The plan took 6381's lowest slots: exactly the keys hashing there moved.
    let moved = low.len();
    assert_eq!(c.cli(6387, "dbsize"), format!("(integer) {moved}"));
    let (check, ok) = tool(&mut c, "check 127.0.0.1:6383");
    assert!(ok, "{}", check.join("\n"));
    assert!(check.iter().any(|l| l.starts_with("127.0.0.1:6387 (")
        && l.ends_with(&format!("-> {moved} keys | {SLOTS_MOVED} slots | 0 slaves."))));
    // Give the slots back, then remove the node.
    let (out, ok) = tool(
        &mut c,
        &format!(
            "reshard 127.0.0.1:6381 --cluster-from {to} --cluster-to {from} --cluster-slots {SLOTS_MOVED} --cluster-yes"
        ),
    );
    assert!(ok, "{}", out.join("\n"));
    c.sim.run_for(Duration::from_secs(5));
    let (out, ok) = tool(&mut c, &format!("del-node 127.0.0.1:6381 {to}"));
    assert!(ok, "{}", out.join("\n"));
    assert_eq!(out.last().map(String::as_str), Some(">>> Sending CLUSTER RESET SOFT to the deleted node."));
    c.sim.run_for(Duration::from_secs(5));
    for port in 6381..=6386 {
        assert_eq!(cluster_info(&mut c, port, "cluster_known_nodes"), "6", "{port}");
    }
    let (check, ok) = tool(&mut c, "check 127.0.0.1:6382");
    assert!(ok, "{}", check.join("\n"));
    for k in &keys {
        assert_eq!(cli_c(&mut c, 6382, &format!("get {k}")), format!("\"v-{k}\""));
    }
}

#[test]
fn check_reports_an_open_slot_and_fix_closes_it() {
    let (mut c, _) = created(45);
    let id6382 = node_id(&mut c, 6382);
    assert_eq!(c.cli(6381, &format!("cluster setslot 100 migrating {id6382}")), "OK");
    let (out, ok) = tool(&mut c, "check 127.0.0.1:6381");
    assert!(!ok, "open slots make check fail");
    let tail = [
        ">>> Check for open slots...",
        "[WARNING] Node 127.0.0.1:6381 has slots in migrating state 100.",
        "[WARNING] The following slots are open: 100.",
        ">>> Check slots coverage...",
        "[OK] All 16384 slots covered.",
    ];
    assert_eq!(out[out.len() - tail.len()..], tail);
    // As redis-cli 7.0.15 printed for the same situation on a real cluster.
    let (out, ok) = tool(&mut c, "fix 127.0.0.1:6381");
    assert!(ok, "{}", out.join("\n"));
    let fixed = [
        "[WARNING] The following slots are open: 100.",
        ">>> Fixing open slot 100",
        "Set as migrating in: 127.0.0.1:6381",
        ">>> Case 4: Closing slot 100 on 127.0.0.1:6381",
        ">>> Check slots coverage...",
        "[OK] All 16384 slots covered.",
    ];
    assert_eq!(out[out.len() - fixed.len()..], fixed);
    let (_, ok) = tool(&mut c, "check 127.0.0.1:6381");
    assert!(ok);
}

#[test]
fn rebalance_says_when_nothing_is_needed_and_simulates_a_plan() {
    let (mut c, _) = created(46);
    let (out, ok) = tool(&mut c, "rebalance 127.0.0.1:6381");
    assert!(ok);
    assert_eq!(out.last().unwrap(), "*** No rebalancing needed! All nodes are within the 2.00% threshold.");
    let id = node_id(&mut c, 6381);
    // Weight 6381 at 2: it should hold half the slots, so the others give it some.
    let (out, ok) =
        tool(&mut c, &format!("rebalance 127.0.0.1:6381 --cluster-weight {}=2 --cluster-simulate", &id[..8]));
    assert!(ok, "{}", out.join("\n"));
    assert!(out.contains(&">>> Rebalancing across 3 nodes. Total weight = 4.00".to_owned()), "{}", out.join("\n"));
    let moves: Vec<&String> = out.iter().filter(|l| l.starts_with("Moving ")).collect();
    assert_eq!(moves.len(), 2);
    assert!(moves.iter().all(|l| l.ends_with("to 127.0.0.1:6381")));
    assert_eq!(c.cli(6381, "cluster countkeysinslot 0"), "(integer) 0");
    assert_eq!(cluster_info(&mut c, 6382, "cluster_slots_assigned"), "16384");
}

#[test]
fn with_requirepass_the_tool_authenticates_and_migrate_carries_auth() {
    let mut c = Cluster::new(47);
    for port in 6381..=6386 {
        c.server(port, &format!("{}requirepass pw\nmasterauth pw\n", cluster_conf(port)));
    }
    c.sim.run_for(Duration::from_millis(100));
    let (out, ok) = tool(&mut c, "check 127.0.0.1:6381");
    assert!(!ok);
    // As redis-cli 7.0.15 printed for a real node with requirepass.
    assert_eq!(out, ["[ERR] Node 127.0.0.1:6381 NOAUTH Authentication required."]);
    let (out, ok) = tool_auth(&mut c, CREATE, Some("pw"));
    assert!(ok, "{}", out.join("\n"));
    c.sim.run_for(Duration::from_secs(10));
    assert_eq!(c.cli_auth(6381, Some("pw"), "set k2 v2"), "OK", "k2 is slot 449, on 6381");
    let (from, to) = (c.cli_auth(6381, Some("pw"), "cluster myid"), c.cli_auth(6382, Some("pw"), "cluster myid"));
    let (from, to) = (from.trim_matches('"'), to.trim_matches('"'));
    let cmd =
        format!("reshard 127.0.0.1:6381 --cluster-from {from} --cluster-to {to} --cluster-slots 450 --cluster-yes");
    let (out, ok) = tool_auth(&mut c, &cmd, Some("pw"));
    assert!(ok, "{}", out.join("\n"));
    assert!(out.contains(&"Moving slot 449 from 127.0.0.1:6381 to 127.0.0.1:6382: .".to_owned()));
    assert_eq!(c.cli_auth(6382, Some("pw"), "get k2"), "\"v2\"");
}

#[test]
fn add_node_as_a_replica_of_a_chosen_or_the_least_served_master() {
    let (mut c, _) = created(48);
    c.server(6387, &cluster_conf(6387));
    c.server(6388, &cluster_conf(6388));
    c.sim.run_for(Duration::from_millis(100));
    let id6382 = node_id(&mut c, 6382);
    let cmd = format!("add-node 127.0.0.1:6387 127.0.0.1:6381 --cluster-slave --cluster-master-id {id6382}");
    let (out, ok) = tool(&mut c, &cmd);
    assert!(ok, "{}", out.join("\n"));
    // The lines redis-cli 7.0.15 printed for `add-node ... --cluster-slave` after the check.
    let tail = [
        ">>> Send CLUSTER MEET to node 127.0.0.1:6387 to make it join the cluster.",
        "Waiting for the cluster to join",
    ];
    let at = out.iter().position(|l| l == tail[0]).expect("MEET line");
    assert_eq!(out[at..at + 2], tail);
    assert_eq!(
        out[out.len() - 2..],
        [">>> Configure node as replica of 127.0.0.1:6382.", "[OK] New node added correctly."]
    );
    assert!(!out.iter().any(|l| l.contains("FUNCTION")), "no function copy for a replica");
    c.sim.run_for(Duration::from_secs(5));
    assert_eq!(c.cli(6387, "role").lines().nth(2), Some("3) (integer) 6382"));
    // Without an id, the first master with the fewest replicas (6382 now has two).
    let (out, ok) = tool(&mut c, "add-node 127.0.0.1:6388 127.0.0.1:6381 --cluster-slave");
    assert!(ok, "{}", out.join("\n"));
    assert!(out.contains(&"Automatically selected master 127.0.0.1:6381".to_owned()), "{}", out.join("\n"));
}

/// A client writing keys through [`redis_client::cluster::Router`] while the
/// cluster reshards under it, as a redis-py RedisCluster application would.
#[derive(Default)]
struct Writer {
    router: Option<redis_client::cluster::Router>,
    /// Per node: the connection, its decoder, and how many ASKING replies to skip.
    conns: std::collections::BTreeMap<std::net::SocketAddrV4, (sim::ConnId, resp::ReplyDecoder, usize)>,
    /// Keys written so far, and the replies seen for the current one.
    next: usize,
    current: Option<Vec<Vec<u8>>>,
    refreshing: bool,
    asks: usize,
    moves: usize,
    errors: Vec<String>,
    done: usize,
    /// Every key carries this hash tag, so all writes go to one slot.
    tag: String,
}

const WRITER_KEYS: usize = 400;
/// Pause between writes: fast enough that some land while their slot migrates.
const WRITER_PAUSE: Duration = Duration::from_micros(200);

impl Writer {
    fn send(&mut self, ctx: &mut sim::Ctx<'_>, addr: std::net::SocketAddrV4, asking: bool, args: &[Vec<u8>]) {
        let entry = self.conns.entry(addr).or_insert_with(|| (ctx.connect(addr), resp::ReplyDecoder::default(), 0));
        entry.2 += usize::from(asking);
        let conn = entry.0;
        ctx.send_with(conn, |buf| {
            if asking {
                resp::encode_command(&[b"ASKING".as_slice()], buf);
            }
            resp::encode_command(args, buf);
        });
    }

    fn start_next(&mut self, ctx: &mut sim::Ctx<'_>) {
        let Some(router) = &mut self.router else { return };
        if router.needs_refresh() {
            self.refreshing = true;
            let seed = router.seed;
            self.send(ctx, seed, false, &[b"CLUSTER".to_vec(), b"SLOTS".to_vec()]);
            return;
        }
        if self.next >= WRITER_KEYS {
            return;
        }
        let key = format!("{{{}}}:{}", self.tag, self.next);
        let args = vec![b"SET".to_vec(), key.into_bytes(), self.next.to_string().into_bytes()];
        self.next += 1;
        if let redis_client::cluster::Route::Send { addr, asking } = router.start(&args) {
            self.send(ctx, addr, asking, &args);
        }
        self.current = Some(args);
    }

    fn on_reply(&mut self, ctx: &mut sim::Ctx<'_>, v: resp::Value) {
        if self.refreshing {
            self.refreshing = false;
            match redis_client::cluster::SlotMap::from_cluster_slots(&v) {
                Ok(map) => self.router.as_mut().expect("router").refreshed(map),
                Err(e) => self.errors.push(e.to_string()),
            }
            ctx.set_timer(WRITER_PAUSE, 0);
            return;
        }
        let Some(args) = self.current.clone() else { return };
        if let resp::Value::Error(e) = &v {
            if e.starts_with("ASK ") {
                self.asks += 1;
            } else if e.starts_with("MOVED ") {
                self.moves += 1;
            }
        }
        let router = self.router.as_mut().expect("router");
        match router.reply(v) {
            redis_client::cluster::Route::Send { addr, asking } => self.send(ctx, addr, asking, &args),
            redis_client::cluster::Route::Done(resp::Value::Simple(_)) => {
                self.done += 1;
                self.current = None;
                ctx.set_timer(WRITER_PAUSE, 0);
            }
            redis_client::cluster::Route::Done(other) => {
                self.errors.push(resp::render(&other));
                self.current = None;
                ctx.set_timer(WRITER_PAUSE, 0);
            }
        }
    }
}

impl sim::Process for Writer {
    fn handle(&mut self, ctx: &mut sim::Ctx<'_>, input: sim::Input<'_>) {
        match input {
            sim::Input::Start => {
                let seed = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 6381);
                self.router = Some(redis_client::cluster::Router::new(seed));
                self.start_next(ctx);
            }
            sim::Input::Timer { .. } => self.start_next(ctx),
            sim::Input::Data { conn, bytes } => {
                let Some((_, decoder, skip)) = self.conns.values_mut().find(|(c, _, _)| *c == conn) else { return };
                decoder.feed(bytes);
                let mut replies = Vec::new();
                while let resp::Decoded::Value(v) = decoder.next_value() {
                    // The reply to ASKING itself carries no news.
                    if *skip > 0 {
                        *skip -= 1;
                        continue;
                    }
                    replies.push(v);
                }
                for v in replies {
                    self.on_reply(ctx, v);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn a_router_client_keeps_writing_through_a_reshard_with_moved_and_ask() {
    let (mut c, _) = created(49);
    // A tag in one of the first slots the reshard moves.
    let tag = (0..).map(|i| format!("t{i}")).find(|t| (3..8).contains(&common::slot::key_slot(t.as_bytes()))).unwrap();
    let slot = common::slot::key_slot(tag.as_bytes());
    let (from, to) = (node_id(&mut c, 6381), node_id(&mut c, 6382));
    let host = c.sim.host_of(c.sim.procs().next().unwrap());
    let writer =
        c.sim.add_process(host, "writer", Box::new(move || Box::new(Writer { tag: tag.clone(), ..Writer::default() })));
    c.sim.apply(Fault::Start(writer)).unwrap();
    c.sim.run_for(Duration::from_millis(20));
    // Move the writer's slot while it writes.
    let cmd =
        format!("reshard 127.0.0.1:6381 --cluster-from {from} --cluster-to {to} --cluster-slots 20 --cluster-yes");
    let (out, ok) = tool(&mut c, &cmd);
    assert!(ok, "{}", out.join("\n"));
    c.sim.run_for(Duration::from_secs(5));
    let w = c.sim.process::<Writer>(writer).unwrap();
    assert_eq!(w.errors, Vec::<String>::new());
    assert_eq!(w.done, WRITER_KEYS, "every write was acknowledged");
    assert!(w.asks > 0, "new keys written while slot {slot} migrated were sent on with ASK");
    assert!(w.moves > 0, "after the move the slot map was refreshed through MOVED");
    let tag = w.tag.clone();
    assert_eq!(c.cli(6382, &format!("cluster countkeysinslot {slot}")), format!("(integer) {WRITER_KEYS}"));
    for i in (0..WRITER_KEYS).step_by(7) {
        assert_eq!(cli_c(&mut c, 6383, &format!("get {{{tag}}}:{i}")), format!("\"{i}\""));
    }
}
