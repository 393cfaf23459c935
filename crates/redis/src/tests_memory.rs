//! MEMORY, the maxmemory directives, OBJECT FREQ and -OOM against a
//! transcript of a real Redis 7.0.15 (`redis-cli --no-raw`, one connection
//! per line), then what the transcript cannot show: access times on the
//! virtual clock, eviction order and its propagation, and INFO's fields.

use crate::config::Config;
use crate::tests::{Lab, lab};

const TRANSCRIPT: &str = include_str!("tests_memory_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}

/// INFO memory's fields and MEMORY STATS's keys, in 7.0.15's order.
#[test]
fn info_memory_and_memory_stats_name_what_redis_names() {
    let mut l = lab();
    l.cmd("SET k v");
    let info = l.cmd("INFO memory");
    let names: Vec<&str> = info.split("\\r\\n").skip(1).filter_map(|f| f.split_once(':')).map(|(n, _)| n).collect();
    assert_eq!(names.join(" "), REAL_INFO_MEMORY);
    let stats = l.cmd("MEMORY STATS");
    // Top-level lines only (a database's nested map is indented), every other one a name.
    let top = stats.lines().filter(|line| line.len() - line.trim_start().len() <= 1);
    let names: Vec<&str> = top.filter_map(|line| line.split_once(") ")).map(|(_, v)| v).step_by(2).collect();
    let names: Vec<&str> = names.iter().map(|n| n.trim_matches('"')).collect();
    assert_eq!(names.join(" "), REAL_MEMORY_STATS);
}

/// MEMORY DOCTOR's reply on a server below 5 MB (redis-cli prints it raw).
#[test]
fn memory_doctor_on_an_almost_empty_server() {
    let mut l = lab();
    let real = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
    assert_eq!(l.cmd("MEMORY DOCTOR"), resp::quote(real.as_bytes()));
}

const REAL_INFO_MEMORY: &str = "used_memory used_memory_human used_memory_rss used_memory_rss_human used_memory_peak used_memory_peak_human used_memory_peak_perc used_memory_overhead used_memory_startup used_memory_dataset used_memory_dataset_perc allocator_allocated allocator_active allocator_resident total_system_memory total_system_memory_human used_memory_lua used_memory_vm_eval used_memory_lua_human used_memory_scripts_eval number_of_cached_scripts number_of_functions number_of_libraries used_memory_vm_functions used_memory_vm_total used_memory_vm_total_human used_memory_functions used_memory_scripts used_memory_scripts_human maxmemory maxmemory_human maxmemory_policy allocator_frag_ratio allocator_frag_bytes allocator_rss_ratio allocator_rss_bytes rss_overhead_ratio rss_overhead_bytes mem_fragmentation_ratio mem_fragmentation_bytes mem_not_counted_for_evict mem_replication_backlog mem_total_replication_buffers mem_clients_slaves mem_clients_normal mem_cluster_links mem_aof_buffer mem_allocator active_defrag_running lazyfree_pending_objects lazyfreed_objects";

const REAL_MEMORY_STATS: &str = "peak.allocated total.allocated startup.allocated replication.backlog clients.slaves clients.normal cluster.links aof.buffer lua.caches functions.caches db.0 overhead.total keys.count keys.bytes-per-key dataset.bytes dataset.percentage peak.percentage allocator.allocated allocator.active allocator.resident allocator-fragmentation.ratio allocator-fragmentation.bytes allocator-rss.ratio allocator-rss.bytes rss-overhead.ratio rss-overhead.bytes fragmentation fragmentation.bytes";

fn used_memory(l: &mut Lab) -> u64 {
    let info = l.cmd("INFO memory");
    let field = info.split("\\r\\n").find(|f| f.starts_with("used_memory:")).expect("used_memory");
    field["used_memory:".len()..].parse().expect("a number")
}

/// Keys grow `used_memory` by what they cost and give it back when deleted.
#[test]
fn used_memory_follows_the_keys() {
    let mut l = lab();
    let empty = used_memory(&mut l);
    l.cmd("SET k v");
    // dictEntry 32, key sds 8, embstr 32, and the main table's first 4 buckets (measured: 104).
    assert_eq!(used_memory(&mut l) - empty, 104);
    l.cmd("RPUSH l a b c");
    assert!(used_memory(&mut l) > empty + 104);
    l.cmd("DEL k l");
    assert_eq!(used_memory(&mut l), empty, "an empty database holds no table in the model");
}

/// allkeys-lru on the virtual clock: the key touched longest ago goes first,
/// and the master propagates the eviction as a DEL.
#[test]
fn allkeys_lru_evicts_the_least_recently_used_and_counts_it() {
    let mut l = lab();
    for k in ["a", "b", "c"] {
        l.cmd(&format!("SET {k} {k}"));
        l.advance_ms(10_000);
    }
    l.cmd("GET a");
    assert_eq!(l.cmd("OBJECT IDLETIME b"), "(integer) 20");
    assert_eq!(l.cmd("OBJECT IDLETIME a"), "(integer) 0");
    let used = used_memory(&mut l);
    l.cmd("CONFIG SET maxmemory-policy allkeys-lru");
    l.cmd(&format!("CONFIG SET maxmemory {}", used - 20));
    l.cmd("PING");
    assert_eq!(l.cmd("EXISTS a c"), "(integer) 2", "b was the least recently used");
    assert_eq!(l.cmd("EXISTS b"), "(integer) 0");
    let stats = l.cmd("INFO stats");
    assert!(stats.contains("evicted_keys:1\\r\\n"), "{stats}");
}

/// Over its limit from the config file, a master evicts every key it can
/// pick, then refuses deny-oom commands, as the real transcript shows.
#[test]
fn a_master_past_its_limit_evicts_everything_then_refuses() {
    let mut config = Config::defaults(6379);
    config.maxmemory.limit = 1;
    config.maxmemory.policy = crate::memory::Policy::AllKeysRandom;
    let mut l = Lab::new(config);
    l.cmd("SET a 1");
    assert_eq!(l.cmd("DBSIZE"), "(integer) 0", "a master evicts everything, then refuses");
    assert_eq!(l.cmd("SET b 1"), "(error) OOM command not allowed when used memory > 'maxmemory'.");
}

/// volatile-ttl on a master: the keys with an expire go, nearest first,
/// each as a DEL on the replication stream; the replica (with a limit of
/// its own, ignored by default) keeps what the master keeps.
#[test]
fn evictions_reach_the_replica_as_dels_and_the_replica_ignores_its_limit() {
    use crate::tests_repl::{Cluster, replica_conf};
    let mut c = Cluster::new(1);
    c.server(6379, "");
    c.server(6380, &format!("{}maxmemory 1\nmaxmemory-policy allkeys-random\n", replica_conf(6379)));
    c.sim.run_for(std::time::Duration::from_secs(7));
    for line in ["set a 1", "set b 2 ex 100", "set c 3 ex 50"] {
        assert_eq!(c.cli(6379, line), "OK");
    }
    assert_eq!(c.cli(6380, "dbsize"), "(integer) 3", "replica-ignore-maxmemory yes");
    let field = |info: String, name: &str| -> String {
        let line = info.lines().find(|l| l.starts_with(name)).map(str::to_owned);
        line.and_then(|l| l.split(':').nth(1).map(|v| v.trim().to_owned())).expect("an INFO field")
    };
    let used: u64 = field(c.cli(6379, "info memory"), "used_memory:").parse().unwrap();
    assert_eq!(c.cli(6379, "config set maxmemory-policy volatile-ttl"), "OK");
    // Over by a byte or, if the last redis-cli is still connected, by a
    // client: c (nearest expire) goes first, b perhaps, never a (no expire).
    assert_eq!(c.cli(6379, &format!("config set maxmemory {}", used - 1)), "OK");
    assert_eq!(c.cli(6379, "set d 4"), "OK");
    let kept = c.cli(6379, "keys *");
    assert!(kept.starts_with("1) \"a\"\n") && kept.ends_with("\"d\"") && !kept.contains("\"c\""), "{kept}");
    let evicted = field(c.cli(6379, "info stats"), "evicted_keys:");
    assert_eq!(evicted, if kept.contains("\"b\"") { "1" } else { "2" });
    c.sim.run_for(std::time::Duration::from_secs(1));
    assert_eq!(c.cli(6380, "keys *"), kept, "the replica applied the master's DELs");
    assert_eq!(field(c.cli(6380, "info stats"), "evicted_keys:"), "0");
}

/// In MULTI over the limit every queued command is refused (a read too) and
/// EXEC aborts; DISCARD still runs. Recorded on a real 7.0.15, one connection.
#[test]
fn queueing_out_of_memory_aborts_the_transaction() {
    let mut l = lab();
    let oom = "(error) OOM command not allowed when used memory > 'maxmemory'.";
    let steps = [
        ("CONFIG SET maxmemory 1", "OK"),
        ("MULTI", "OK"),
        ("SET a b", oom),
        ("GET a", oom),
        ("EXEC", "(error) EXECABORT Transaction discarded because of previous errors."),
        ("MULTI", "OK"),
        ("DISCARD", "OK"),
        ("CONFIG SET maxmemory 0", "OK"),
    ];
    for (cmd, want) in steps {
        assert_eq!(l.cmd(cmd), want, "{cmd}");
    }
    let log = l.sim.log_lines(l.server);
    let warnings: Vec<&String> = log.iter().filter(|line| line.contains("the new maxmemory")).collect();
    assert_eq!(warnings.len(), 1, "one warning, when the limit went below the usage: {warnings:?}");
    assert!(warnings[0].contains(
        "# WARNING: the new maxmemory value set via CONFIG SET (1) is smaller than the current memory usage ("
    ));
}

/// Bigger values, measured with MEMORY USAGE on a real 7.0.15: a quicklist
/// of four 8 KB nodes (RPUSH and LPUSH), streams of one, two and three
/// nodes, a consumer group with ten pending entries, a 300-field listpack hash.
#[test]
fn bigger_values_cost_what_a_real_server_measured() {
    let mut l = lab();
    for i in 0..1000 {
        l.cmd(&format!("RPUSH biglist v{i:029}"));
        l.cmd(&format!("LPUSH biglist2 v{i:029}"));
    }
    for (key, n) in [("st", 250), ("st100", 100), ("st101", 101)] {
        for i in 0..n {
            l.cmd(&format!("XADD {key} {}-1 field value{i}", i + 1));
        }
    }
    for i in 0..300 {
        l.cmd(&format!("HSET bighash field{i} val{i}"));
    }
    let usage = |l: &mut Lab, key: &str| l.cmd(&format!("MEMORY USAGE {key}"));
    let measured =
        [("biglist", 33024), ("biglist2", 33024), ("st", 10064), ("st100", 4728), ("st101", 7512), ("bighash", 6200)];
    for (key, bytes) in measured {
        assert_eq!(usage(&mut l, key), format!("(integer) {bytes}"), "{key}");
    }
    l.cmd("XGROUP CREATE st100 g1 0");
    assert_eq!(usage(&mut l, "st100"), "(integer) 5012");
    l.cmd("XREADGROUP GROUP g1 alice COUNT 10 STREAMS st100 >");
    assert_eq!(usage(&mut l, "st100"), "(integer) 16093");
}

/// Scripts and functions over the limit, as measured on 7.0.15: FCALL of a
/// function that may write without `allow-oom` is refused up front, one with
/// `allow-oom` or `no-writes` runs; EVAL with a shebang follows the same
/// flags, and a script without one fails at its first deny-oom `redis.call`
/// (a script error naming the script), not before.
#[test]
fn scripts_and_functions_over_the_limit_follow_their_flags() {
    let mut l = lab();
    let lib = "FUNCTION LOAD \"#!lua name=lib\\n\
        redis.register_function('w', function(k, a) return redis.call('set', k[1], 'x') end)\\n\
        redis.register_function{function_name='oomok', callback=function(k, a) return redis.call('set', k[1], 'x') end, flags={'allow-oom'}}\\n\
        redis.register_function{function_name='ro', callback=function(k, a) return redis.call('get', k[1]) end, flags={'no-writes'}}\"";
    assert_eq!(l.cmd(lib), "\"lib\"");
    assert_eq!(l.cmd("CONFIG SET maxmemory 1"), "OK");
    let oom = "(error) OOM command not allowed when used memory > 'maxmemory'.";
    assert_eq!(l.cmd("FCALL w 1 k"), oom);
    assert_eq!(l.cmd("FCALL oomok 1 k"), "OK");
    assert_eq!(l.cmd("FCALL ro 1 k"), "\"x\"");
    assert_eq!(
        l.cmd("EVAL \"return redis.call('set','k','v')\" 0"),
        "(error) OOM command not allowed when used memory > 'maxmemory'. script: d223ed8c7345b684e8ed044ed472601f536fa58b, on @user_script:1."
    );
    assert_eq!(l.cmd("EVAL \"#!lua\\nreturn redis.call('set','k','v')\" 0"), oom);
    assert_eq!(l.cmd("EVAL \"#!lua flags=allow-oom\\nreturn redis.call('set','k','v')\" 0"), "OK");
    assert_eq!(l.cmd("CONFIG SET maxmemory 0"), "OK");
    assert_eq!(l.cmd("EVAL \"return redis.call('set','k','v')\" 0"), "OK", "no limit, no refusal");
}
