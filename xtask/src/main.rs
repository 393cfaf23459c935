//! `cargo xtask`: project automation that is not part of the product.
//! `bench` measures the kernel, the Redis node, Redis Cluster and the shrinker and appends the figures to `reports/bench.json`;
//! `fidelity` runs the same cases on real Redis and on the simulator and writes
//! `reports/fidelity.{json,md}`; `reports` regenerates (or, with `--check`,
//! verifies) the example reports under `reports/examples/`. This is the one place allowed to read the wall
//! clock and start real processes: it measures from outside and never feeds
//! time into a simulated run.

mod bench;
mod bench_checkers;
mod bench_cluster;
mod bench_explore;
mod bench_mysql;
mod bench_redis;
mod bench_redis_mixed;
mod bench_shrink;
mod fidelity;
mod reports;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask bench [--quick] [--only kernel|redis|cluster|mysql|checkers|explore|shrink]
       cargo xtask fidelity [--quick] [--redis-server PATH] [--redis-sentinel PATH]
                            [--redis-cli PATH] [--out DIR] [--seed N] [--only TEXT]

  bench     kernel microbenchmarks (events per wall second, memory per idle
            process), the Redis replication benchmark (simulated commands
            per wall second), the Redis Cluster benchmarks (the C3
            scenario's virtual time per wall time; N-node failover runs'
            wall time and peak memory), the MySQL replication benchmark
            (replicated statements per wall second), the history checkers
            (linearizability on 100,000 ops and on one hot key), a 3+3
            cluster workload (50 clients, 2,000 ops/s, a master killed) and
            the explore benchmark (seeds of a 3+3 cluster chaos scenario per
            wall second on 1 and 2 jobs; `cargo xtask bench-explore-child
            SEEDS JOBS` runs one exploration alone, for profiling;
            `cargo xtask bench-workload-child [SECS [RUNS]]` the cluster workload
            (bench runs the workload and explore benchmarks each in a fresh
            process, `cargo xtask bench-child workload|explore [--quick]`);
            `cargo xtask bench-redis-child KEYS SECS` one replication run
            over KEYS keys; `cargo xtask bench-redis-mixed-child FAMILY
            SECS` one family of the mixed workload (strings, lists, hashes,
            sets, zsets, streams, hll, geo, bits, or all);
            `cargo xtask bench-mysql-child [SECS]` one MySQL
            replication run) and
            `chaoslab shrink` of a 20-fault failing schedule; results are
            appended to
            reports/bench.json
  --quick   smaller runs, for a smoke test
  --only    run one of the groups

  fidelity  the same cases on real redis-server/redis-sentinel processes on
            127.0.0.1 (ports 7600-7799) and on the simulator; writes
            reports/fidelity.json and reports/fidelity.md; exit code 1 when a
            case that must match differs, 2 when the harness cannot run
  --quick             one failover run per story instead of 10 and 5 (CI)
  --redis-server      calibrate against another redis-server binary
  --redis-sentinel    and another redis-sentinel
  --out               report directory (default: reports)
  --only              only the groups whose name contains TEXT (e.g. R7,
                      keyslot, timing, fuzz); set CHAOSLAB_FIDELITY_KEEP=1 to
                      keep the real servers' directories and logs
  --seed              the simulated side's seed, and the seed the fuzz
                      group draws its commands from (default 1)

       cargo xtask real-history [--redis-server PATH] [--python PATH]

  real-history  histories recorded by redis-py clients on real Redis
            (examples/real-history/record.py; a master and a replica on
            127.0.0.1, ports 7851-7854), judged as `chaoslab history check`
            judges them, in JSON lines and as their Jepsen EDN export: a run
            without faults must be valid in every checker, a run whose
            replica is detached halfway (REPLICAOF NO ONE) must lose exactly
            the writes acknowledged after the detach; exit 1 when one is not
  --python            the Python with redis-py (default python3)

       cargo xtask reports [--check] [--browser]

  reports   regenerate reports/examples/<story>/ (report.html, summary.md,
            junit.xml) from the shipped seed stories
  --check   regenerate under target/ and fail (exit 1) if they differ from
            the committed ones
  --browser render each page in headless Chromium and check every chart is
            drawn with data (from the DOM and the screenshot)";

/// jemalloc rather than the system allocator: see the workspace manifest.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => {
            let mut quick = false;
            let mut only = bench::Only::All;
            let mut rest = args[1..].iter();
            while let Some(arg) = rest.next() {
                match (arg.as_str(), rest.clone().next().map(String::as_str)) {
                    ("--quick", _) => quick = true,
                    ("--only", Some("kernel")) => {
                        only = bench::Only::Kernel;
                        rest.next();
                    }
                    ("--only", Some("redis")) => {
                        only = bench::Only::Redis;
                        rest.next();
                    }
                    ("--only", Some("cluster")) => {
                        only = bench::Only::Cluster;
                        rest.next();
                    }
                    ("--only", Some("mysql")) => {
                        only = bench::Only::Mysql;
                        rest.next();
                    }
                    ("--only", Some("checkers")) => {
                        only = bench::Only::Checkers;
                        rest.next();
                    }
                    ("--only", Some("explore")) => {
                        only = bench::Only::Explore;
                        rest.next();
                    }
                    ("--only", Some("shrink")) => {
                        only = bench::Only::Shrink;
                        rest.next();
                    }
                    _ => {
                        eprintln!("error: unknown option {arg}\n\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            finish(bench::run(quick, only))
        }
        // One size of the cluster failover benchmark, in its own process for a clean peak RSS.
        // An optional second number shortens the run (in virtual seconds) for profiling.
        Some("bench-cluster-child") => match args.get(1).and_then(|n| n.parse().ok()).map(|n| {
            if args.get(2).is_some_and(|a| a == "--reports") {
                return bench_cluster::reports_child(n);
            }
            let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(bench_cluster::RUN_SECS);
            bench_cluster::child(n, secs)
        }) {
            Some(Ok(())) => ExitCode::SUCCESS,
            Some(Err(e)) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
            None => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        },
        // The cluster workload benchmark alone, to time or profile as a whole process.
        Some("bench-workload-child") => {
            // SECS of load (default 60), RUNS times in this one process (default 1):
            // the later runs reuse memory the first faulted in (`xtask bench` runs
            // one, in a fresh process: `bench-child workload`).
            let numbers: Vec<Option<u64>> = args[1..].iter().map(|a| a.parse().ok()).collect();
            let (secs, runs) = match numbers.as_slice() {
                [] => (60, 1),
                [Some(secs)] if *secs >= 3 => (*secs, 1),
                [Some(secs), Some(runs)] if *secs >= 3 && (1..=100).contains(runs) => (*secs, *runs),
                _ => {
                    eprintln!("usage: cargo xtask bench-workload-child [SECS >= 3 [RUNS 1..=100]]");
                    return ExitCode::from(2);
                }
            };
            for _ in 0..runs {
                if let Err(e) = bench_checkers::workload_run(secs) {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        // One Redis replication run over KEYS keys, to time or profile as a whole process.
        Some("bench-redis-child") => {
            let numbers: Vec<Option<u64>> = args[1..].iter().map(|a| a.parse().ok()).collect();
            let result = match numbers.as_slice() {
                [Some(keys), Some(secs)] if *keys > 0 && *secs > 0 => bench::redis_child(*keys, *secs),
                _ => {
                    eprintln!("usage: cargo xtask bench-redis-child KEYS SECS");
                    return ExitCode::from(2);
                }
            };
            finish(result)
        }
        // One family of the Redis mixed workload, to time or profile as a whole process.
        Some("bench-redis-mixed-child") => {
            let secs = args.get(2).and_then(|a| a.parse::<u64>().ok()).filter(|&s| s > 0);
            let (Some(family), Some(secs)) = (args.get(1), secs) else {
                eprintln!("usage: cargo xtask bench-redis-mixed-child FAMILY SECS");
                return ExitCode::from(2);
            };
            finish(bench::redis_mixed_child(family, secs))
        }
        // One run of the MySQL replication benchmark (seed 1), to time or profile as a whole process.
        Some("bench-mysql-child") => {
            let secs = match args.get(1).map(|s| s.parse::<u64>()) {
                None => 60,
                Some(Ok(secs)) if secs > 0 => secs,
                Some(_) => {
                    eprintln!("usage: cargo xtask bench-mysql-child [SECS > 0]");
                    return ExitCode::from(2);
                }
            };
            match bench_mysql::replication(secs, 1) {
                Ok(r) => {
                    println!(
                        "{} statements, {} events, {:.3} s wall, {:.0} statements/s, position {}, trace {}",
                        r.statements,
                        r.events,
                        r.wall_secs,
                        r.statements as f64 / r.wall_secs,
                        r.position,
                        r.trace_hash
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        // The workload or explore benchmark in a fresh process, for `bench`.
        Some("bench-child") => {
            let (group, quick) = match &args[1..] {
                [group] => (group.as_str(), false),
                [group, flag] if flag == "--quick" => (group.as_str(), true),
                _ => {
                    eprintln!("usage: cargo xtask bench-child workload|explore [--quick]");
                    return ExitCode::from(2);
                }
            };
            finish(bench::child(group, quick))
        }
        // One exploration of the explore benchmark, to time or profile as a whole process.
        Some("bench-explore-child") => {
            let numbers: Vec<Option<u64>> = args[1..].iter().map(|a| a.parse().ok()).collect();
            let result = match numbers.as_slice() {
                [Some(seeds), Some(jobs)] if *seeds > 0 && *jobs > 0 => bench_explore::child(*seeds, *jobs as usize),
                _ => {
                    eprintln!("usage: cargo xtask bench-explore-child SEEDS JOBS");
                    return ExitCode::from(2);
                }
            };
            finish(result)
        }
        Some("reports") => {
            let mut opts = reports::Options::default();
            for arg in &args[1..] {
                match arg.as_str() {
                    "--check" => opts.check = true,
                    "--browser" => opts.browser = true,
                    _ => {
                        eprintln!("error: unknown option {arg}\n\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            match reports::run(&opts) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some("fidelity") => match fidelity_options(&args[1..]) {
            Ok(opts) => match fidelity::run(&opts) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            },
            Err(e) => {
                eprintln!("error: {e}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("real-history") => match real_history_options(&args[1..]) {
            Ok((opts, python)) => finish(fidelity::histories::run(&opts, &python)),
            Err(e) => {
                eprintln!("error: {e}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `real-history`'s options: fidelity's `--redis-server`, and `--python`.
fn real_history_options(args: &[String]) -> Result<(fidelity::Options, std::path::PathBuf), String> {
    let mut python = std::path::PathBuf::from("python3");
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--python" => python = it.next().ok_or("--python needs a value")?.into(),
            "--redis-server" => rest.extend([arg.clone(), it.next().ok_or("--redis-server needs a value")?.clone()]),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((fidelity_options(&rest)?, python))
}

fn fidelity_options(args: &[String]) -> Result<fidelity::Options, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace");
    let mut opts = fidelity::Options {
        quick: false,
        redis_server: "redis-server".into(),
        redis_sentinel: "redis-sentinel".into(),
        redis_cli: "redis-cli".into(),
        out_dir: root.join("reports"),
        seed: 1,
        only: None,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--redis-server" => opts.redis_server = value()?.into(),
            "--redis-sentinel" => opts.redis_sentinel = value()?.into(),
            "--redis-cli" => opts.redis_cli = value()?.into(),
            "--out" => opts.out_dir = value()?.into(),
            "--only" => opts.only = Some(value()?),
            "--seed" => opts.seed = value()?.parse().map_err(|_| "--seed needs an integer".to_owned())?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(opts)
}

/// The exit code of a command that ran to `result`: its error, if any, on
/// standard error and exit 1.
fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
