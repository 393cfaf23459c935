//! `cargo xtask`: project automation that is not part of the product.
//! `bench` measures the kernel and appends the figures to `reports/bench.json`.
//! This is the one place allowed to read the wall clock: it measures the
//! simulator from outside and never feeds time into a run.

mod bench;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask bench [--quick]

  bench     kernel microbenchmarks: events per wall second, memory per idle
            process; results are appended to reports/bench.json
  --quick   smaller runs, for a smoke test";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => {
            let quick = args[1..].iter().any(|a| a == "--quick");
            if let Some(bad) = args[1..].iter().find(|a| *a != "--quick") {
                eprintln!("error: unknown option {bad}\n\n{USAGE}");
                return ExitCode::from(2);
            }
            match bench::run(quick) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
