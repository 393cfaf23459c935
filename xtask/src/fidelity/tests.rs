//! The harness's own logic, without real processes: comparison verdicts, masks,
//! and the simulated side of a few cases.

use super::observe::{Expect, Mask, Obs, Verdict, compare, mask_info};
use super::simulated::Simulated;
use super::target::{Reply, Signal, Target, args, info_field, once};

fn reply(raw: &[u8]) -> Reply {
    Reply { raw: raw.to_vec() }
}

#[test]
fn raw_bytes_decide_so_type_differences_are_caught() {
    // Same text, different RESP types: a simple string vs a bulk string.
    let real = [Obs::reply("GET", &reply(b"+OK\r\n"), Expect::Same, Mask::None)];
    let sim = [Obs::reply("GET", &reply(b"$2\r\nOK\r\n"), Expect::Same, Mask::None)];
    let rows = compare("g", &real, &sim);
    assert_eq!(rows[0].verdict, Verdict::Differ);
    assert_eq!(rows[0].real, "simple: OK");
    assert_eq!(rows[0].simulated, "bulk: \"OK\"");
}

#[test]
fn gaps_are_reported_and_flagged_once_they_close() {
    let gap = Expect::Gap("not implemented");
    let real = [Obs::fact("a", "1", gap), Obs::fact("b", "1", gap), Obs::fact("only real", "x", Expect::Same)];
    let sim = [Obs::fact("a", "2", gap), Obs::fact("b", "1", gap)];
    let rows = compare("g", &real, &sim);
    let verdicts: Vec<Verdict> = rows.iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::KnownGap, Verdict::GapClosed, Verdict::Differ]);
    assert_eq!(rows[0].note, "not implemented");
    assert_eq!(rows[2].simulated, "(not observed)");
}

#[test]
fn a_case_that_could_not_run_differs_even_when_both_sides_failed_alike() {
    // the standalone catalogue once held a `master>` line: both sides gave the
    // same harness error, and the whole mode counted as one match
    let failed = [Obs::error("(group)", "`master>` line in a mode without a master")];
    let rows = compare("g", &failed, &failed);
    assert_eq!(rows[0].verdict, Verdict::Differ);
}

#[test]
fn repeated_case_names_pair_in_order() {
    let side =
        |first: &str, second: &str| [Obs::fact("GET k", first, Expect::Same), Obs::fact("GET k", second, Expect::Same)];
    let rows = compare("g", &side("1", "2"), &side("1", "3"));
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].case.as_str(), rows[0].verdict), ("GET k", Verdict::Match));
    assert_eq!((rows[1].case.as_str(), rows[1].verdict), ("GET k (2)", Verdict::Differ));
}

#[test]
fn masks_hide_only_run_specific_values() {
    let client = |raw: &[u8]| Obs::reply("CLIENT INFO", &reply(raw), Expect::Same, Mask::ClientLine).compared;
    // Digits go, the fields and the other values stay.
    assert_eq!(client(b"$25\r\nid=5 fd=8 name=a flags=N\n\r\n"), client(b"$28\r\nid=123 fd=10 name=a flags=N\n\r\n"));
    assert_ne!(client(b"$25\r\nid=5 fd=8 name=a flags=N\n\r\n"), client(b"$25\r\nid=5 fd=8 name=b flags=N\n\r\n"));
    let numbers = |raw: &[u8]| Obs::reply("ROLE", &reply(raw), Expect::Same, Mask::Numbers).compared;
    // An offset is masked, a harness port is kept.
    assert_eq!(numbers(b"*2\r\n:7601\r\n:12345\r\n"), numbers(b"*2\r\n:7601\r\n:999\r\n"));
    assert_ne!(numbers(b"*2\r\n:7601\r\n:12345\r\n"), numbers(b"*2\r\n:7602\r\n:12345\r\n"));
    let info = "# Replication\r\nrole:slave\r\nmaster_replid:0123456789abcdef0123456789abcdef01234567\r\n\
                master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:42\r\n\
                second_repl_offset:-1\r\nslave0:ip=127.0.0.1,port=7611,state=online,offset=42,lag=1\r\n";
    assert_eq!(
        mask_info(info),
        "# Replication\r\nrole:slave\r\nmaster_replid:<id>\r\n\
         master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:<n>\r\n\
         second_repl_offset:-1\r\nslave0:ip=127.0.0.1,port=7611,state=online,offset=<n>,lag=<n>\r\n"
    );
    let unordered = |raw: &[u8]| Obs::reply("SMEMBERS", &reply(raw), Expect::Same, Mask::Unordered).compared;
    assert_eq!(unordered(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"), unordered(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"));
    assert_ne!(unordered(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"), unordered(b"*2\r\n$1\r\na\r\n$1\r\nc\r\n"));
    // A TTL read 999 after a slow hop still matches 1000; 990 or a missing TTL do not.
    let seconds = |raw: &[u8]| Obs::reply("TTL", &reply(raw), Expect::Same, Mask::Seconds).compared;
    assert_eq!(seconds(b":999\r\n"), seconds(b":1000\r\n"));
    assert_ne!(seconds(b":990\r\n"), seconds(b":1000\r\n"));
    assert_ne!(seconds(b":-1\r\n"), seconds(b":-2\r\n"));
    // INFO memory: figures masked, the fields' names and order and the policy compared.
    let memory = |raw: &[u8]| Obs::reply("INFO memory", &reply(raw), Expect::Same, Mask::Memory).compared;
    let info = |used: &str, policy: &str| {
        let text = format!("# Memory\r\nused_memory:{used}\r\nmaxmemory_policy:{policy}\r\n");
        format!("${}\r\n{text}\r\n", text.len()).into_bytes()
    };
    assert_eq!(memory(&info("914528", "noeviction")), memory(&info("876056", "noeviction")));
    assert_ne!(memory(&info("914528", "noeviction")), memory(&info("914528", "allkeys-lru")));
    // MEMORY STATS: every value masked, a database's nested names kept.
    let stats = |n: &str| format!("*4\r\n$5\r\ntotal\r\n:{n}\r\n$4\r\ndb.0\r\n*2\r\n$4\r\nmain\r\n:{n}\r\n");
    let masked = |raw: String| Obs::reply("MEMORY STATS", &reply(raw.as_bytes()), Expect::Same, Mask::Memory).compared;
    assert_eq!(masked(stats("1")), masked(stats("22")));
    assert_ne!(masked(stats("1")), masked(stats("1").replace("main", "mainx").replace("$4\r\nmainx", "$5\r\nmainx")));
}

#[test]
fn the_simulated_side_answers_with_raw_resp_and_obeys_signals() {
    let mut t = Simulated::new(1);
    t.start(7600, "save \"\"\nrepl-diskless-sync-delay 0\n").unwrap();
    t.start(7601, "save \"\"\nreplicaof 127.0.0.1 7600\n").unwrap();
    let c = t.connect(7600).unwrap();
    assert_eq!(t.call(c, &args("PING")).unwrap().raw, b"+PONG\r\n");
    assert_eq!(t.call(c, &args("GET nosuchkey")).unwrap().raw, b"$-1\r\n");
    t.sleep(std::time::Duration::from_secs(2));
    assert_eq!(info_field(&mut t, 7601, "replication", "master_link_status").unwrap(), "up");
    assert!(t.log(7601).iter().any(|l| l == "MASTER <-> REPLICA sync: Finished with success"));
    t.signal(7600, Signal::Kill).unwrap();
    assert!(t.connect(7600).is_err(), "a killed server refuses connections");
    assert!(t.call(c, &args("PING")).is_err(), "its clients see the connection close");
    assert!(t.start(7601, "").is_err(), "one server per port");
    assert!(t.start(7602, "nosuchdirective 1\n").unwrap_err().contains("line 1"));
}

#[test]
fn the_simulated_side_creates_clusters_and_runs_sentinels() {
    let mut t = Simulated::new(2);
    let ports = [7610, 7611, 7612, 7613, 7614, 7615];
    for port in ports {
        t.start(port, "save \"\"\ncluster-enabled yes\ncluster-node-timeout 2000\n").unwrap();
    }
    t.create_cluster(&ports, 1).unwrap();
    t.sleep(std::time::Duration::from_secs(3));
    let nodes = once(&mut t, 7610, "CLUSTER NODES").unwrap().text();
    assert_eq!(nodes.lines().filter(|l| l.contains("master")).count(), 3, "{nodes}");
    assert_eq!(nodes.lines().filter(|l| l.contains("slave")).count(), 3, "{nodes}");
    assert!(once(&mut t, 7613, "CLUSTER INFO").unwrap().text().contains("cluster_state:ok"));
    let before = t.now_ms();
    t.start_sentinel(27610, "sentinel monitor m 127.0.0.1 7620 1\n").unwrap();
    t.sleep(std::time::Duration::from_secs(2));
    assert!(t.now_ms() - before >= 2000.0, "virtual time is what now_ms reads");
    assert!(t.log(27610).iter().any(|l| l.starts_with("+monitor master m 127.0.0.1 7620")), "{:?}", t.log(27610));
    assert!(t.start_sentinel(27611, "sentinel nosuch\n").unwrap_err().contains("line 1"));
}

#[test]
fn log_prefixes_are_stripped_and_the_banner_skipped() {
    use super::real::strip_log_prefix;
    assert_eq!(
        strip_log_prefix("8807:M 21 Nov 2026 08:55:11.079 * Ready to accept connections"),
        Some("Ready to accept connections")
    );
    assert_eq!(
        strip_log_prefix("3706:X 21 Nov 2026 11:07:12.254 # +sdown master m 127.0.0.1 7650"),
        Some("+sdown master m 127.0.0.1 7650")
    );
    assert_eq!(strip_log_prefix("                _._"), None);
}

#[test]
fn cluster_text_masks_ids_and_times_and_sorts_node_lines() {
    use super::observe::mask_cluster_text;
    let a = "0123456789abcdef0123456789abcdef01234567";
    let b = "fedcba9876543210fedcba9876543210fedcba98";
    let nodes = format!(
        "{b} 127.0.0.1:7664@17664 slave {a} 0 1795259947662 1 connected\n{a} 127.0.0.1:7663@17663 myself,master - 0 1795259947000 1 connected 0-16383\n"
    );
    assert_eq!(
        mask_cluster_text(&nodes),
        "<id> 127.0.0.1:7663@17663 myself,master - <n> <n> 1 connected 0-16383\n<id> 127.0.0.1:7664@17664 slave <id> <n> <n> 1 connected"
    );
    let info = "cluster_state:ok\r\ncluster_current_epoch:6\r\ncluster_stats_messages_sent:1234\r\ncluster_stats_messages_fail_sent:1\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n";
    assert_eq!(
        mask_cluster_text(info),
        "cluster_state:ok\ncluster_current_epoch:6\ncluster_stats_messages_*:<n>\ntotal_cluster_links_buffer_limit_exceeded:0"
    );
}

#[test]
fn failover_medians_must_be_within_tolerance_and_quick_runs_within_the_spread() {
    use super::failover::{Measured, Series, Story};
    let side = |values: &[f64], promoted: &str| Measured {
        runs: values.len(),
        series: vec![Series { name: "time to fail".into(), values: values.to_vec() }],
        facts: vec![("promoted".into(), vec![promoted.into(); values.len()])],
        failures: Vec::new(),
    };
    let story = |real: Measured, sim: Measured, quick: bool, gaps| Story {
        name: "X",
        setup: "",
        real,
        simulated: Ok(sim),
        gaps,
        quick,
    };
    let verdicts = |s: &Story| s.compare().iter().map(|r| r.verdict).collect::<Vec<_>>();
    let sim = side(&[2900.0, 3000.0, 3100.0], "r");
    assert_eq!(verdicts(&story(side(&[3300.0, 3400.0], "r"), sim.clone(), false, &[])), [Verdict::Match; 2]);
    assert_eq!(
        verdicts(&story(side(&[3600.0, 3700.0], "r"), sim.clone(), false, &[])),
        [Verdict::Differ, Verdict::Match],
        "3000 is 17 % below 3650"
    );
    assert_eq!(verdicts(&story(side(&[3300.0], "other"), sim.clone(), false, &[]))[1], Verdict::Differ);
    // One quick real run: judged against the simulated range widened by 15 %.
    assert_eq!(verdicts(&story(side(&[3500.0], "r"), sim.clone(), true, &[]))[0], Verdict::Match);
    assert_eq!(verdicts(&story(side(&[3600.0], "r"), sim.clone(), true, &[]))[0], Verdict::Differ);
    let gap: &[(&str, &str)] = &[("time to fail", "start-up")];
    assert_eq!(verdicts(&story(side(&[9000.0], "r"), sim, false, gap))[0], Verdict::KnownGap);
}

#[test]
fn a_simulated_spike_where_real_runs_spread_differs_even_with_equal_medians() {
    use super::failover::{Measured, Series, Spread, Story};
    let side = |values: &[f64]| Measured {
        runs: values.len(),
        series: vec![Series { name: "time to exit".into(), values: values.to_vec() }],
        facts: Vec::new(),
        failures: Vec::new(),
    };
    let story = |real: &[f64], sim: &[f64]| Story {
        name: "X",
        setup: "",
        real: side(real),
        simulated: Ok(side(sim)),
        gaps: &[],
        quick: false,
    };
    let verdict = |real: &[f64], sim: &[f64]| story(real, sim).compare()[0].verdict;
    let real = [51.0, 84.0, 99.0, 123.0, 51.0, 94.0, 84.0, 48.0, 123.0, 103.0];
    let shape = Spread::of(&real).unwrap();
    assert_eq!((shape.p10, shape.p50, shape.p90, shape.min, shape.max), (48.0, 84.0, 123.0, 48.0, 123.0));
    assert!(shape.is_spread());
    // The same median, every seed within a few ms: a spike.
    let spike: Vec<f64> = (0..100).map(|i| 88.0 + f64::from(i % 5)).collect();
    assert_eq!(verdict(&real, &spike), Verdict::Differ);
    assert!(story(&real, &spike).compare()[0].note.starts_with("a spike where real runs spread"));
    // Spread over most of the real range: a match.
    let spread: Vec<f64> = (0..100).map(|i| 40.0 + f64::from(i)).collect();
    assert_eq!(verdict(&real, &spread), Verdict::Match);
    // A real distribution that is itself narrow asks nothing of the shape.
    let narrow = [2040.0, 2042.0, 2043.0, 2044.0, 2045.0];
    assert!(!Spread::of(&narrow).unwrap().is_spread());
    assert_eq!(verdict(&narrow, &[2043.0; 100]), Verdict::Match);
}
