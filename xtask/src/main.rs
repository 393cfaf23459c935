//! `cargo xtask`: project automation that is not part of the product.
//! `bench` measures the kernel, the Redis node and Redis Cluster and appends the figures to `reports/bench.json`.
//! This is the one place allowed to read the wall clock: it measures the
//! simulator from outside and never feeds time into a run.

mod bench;
mod bench_cluster;
mod bench_redis;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask bench [--quick] [--only kernel|redis|cluster]

  bench     kernel microbenchmarks (events per wall second, memory per idle
            process), the Redis replication benchmark (simulated commands
            per wall second) and the Redis Cluster benchmarks (the C3
            scenario's virtual time per wall time; N-node failover runs'
            wall time and peak memory); results are appended to
            reports/bench.json
  --quick   smaller runs, for a smoke test
  --only    run one of the groups";

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
                    _ => {
                        eprintln!("error: unknown option {arg}\n\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            match bench::run(quick, only) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        // One size of the cluster failover benchmark, in its own process for a clean peak RSS.
        Some("bench-cluster-child") => match args.get(1).and_then(|n| n.parse().ok()).map(bench_cluster::child) {
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
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
