//! `cargo xtask`: the project's automation, so that a fresh machine needs
//! nothing but Rust, Node/npm and apt.
//!
//! - `cargo xtask run [-- server flags]`: install what is missing, build the
//!   dashboard, start `vigie-server` on http://127.0.0.1:8080/.
//! - `cargo xtask test`: everything CI runs, ending with `N passed, N failed`.
//! - `cargo xtask bench [--smoke]`: the performance budget, beside uPlot and
//!   nginx, written to BENCHMARKS.md (`--smoke`: one short run of each;
//!   `VIGIE_BENCH_SERVER_BIN=…` measures another vigie-server build).
//! - `cargo xtask setup`: only install what `run` and `test` need.
//! - `cargo xtask serve [trunk flags]`: development: `trunk serve` (one
//!   unsplit module, rebuilt on change), Trunk installed on first use.
//! - `cargo xtask e2e [Playwright filters]`: only the end-to-end tests, or
//!   the files and `-g` patterns given, against fresh builds.
//! - `cargo xtask dist [--public-url /path/] [--out DIR] [--api-base URL]
//!   [--parent-origins ORIGINS] [--require-parent] [--theme T] [--lang L]
//!   [--range R]`: a folder for a CDN (`target/cdn` by
//!   default): the release bundle for that path, precompressed, its
//!   `config.json`, `_headers` and `nginx.conf`.

mod bench;
mod cmd;
mod dist;
mod glue;
mod order;
mod serve;
mod test;
mod tools;
mod web;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <run [-- server flags] | test | setup | serve [trunk flags] | bench [--smoke] | e2e [filters] | dist [flags: cargo xtask dist --help]>";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("run") => dist::run(args.filter(|a| a != "--").collect()),
        Some("test") => test::run(),
        Some("bench") => bench::run(&args.collect::<Vec<_>>()),
        Some("e2e") => test::e2e_only(&args.collect::<Vec<_>>()),
        Some("dist") => dist::cdn(&args.collect::<Vec<_>>()),
        Some("serve") => dist::trunk_serve(&args.collect::<Vec<_>>()),
        Some("setup") => tools::ensure_build_tools()
            .and_then(|()| tools::ensure_bindgen_cli())
            .and_then(|()| tools::ensure_test_packages()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("xtask: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
