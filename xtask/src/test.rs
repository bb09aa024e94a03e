//! `cargo xtask test`: exactly what CI runs, in order, stopping at the first
//! failure: formatting, clippy (native and wasm32), native tests (with a real
//! node_exporter), wasm tests in headless Chromium, the release build, and
//! Playwright against a real `vigie-server` serving that build, and a smoke
//! run of the benchmarks. Ends with `N passed, N failed`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::cmd::{self, Counts, Result, step};
use crate::serve::{self, Background, free_port};
use crate::{bench, dist, tools, web};

pub fn run() -> Result {
    let started = Instant::now();
    let mut counts = Counts::default();
    let outcome = pipeline(&mut counts);
    if let Err(e) = &outcome {
        eprintln!("\nxtask test: {e}");
        // A failed check that is not a test still counts as a failure.
        if counts.failed == 0 {
            counts.failed = 1;
        }
    }
    println!(
        "\nxtask test finished in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("{} passed, {} failed", counts.passed, counts.failed);
    // Already reported above: the summary line stays the last one.
    outcome.map_err(|_| String::new())
}

fn pipeline(counts: &mut Counts) -> Result {
    step("formatting (cargo fmt --check)");
    cmd::run(cmd::cargo().args(["fmt", "--all", "--", "--check"]))?;

    tools::ensure_build_tools()?;
    tools::ensure_bindgen_cli()?;
    tools::ensure_bench_packages()?;

    step("clippy, native");
    cmd::run(cmd::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("clippy, wasm32");
    clippy_wasm(&[
        "-p",
        "vigie",
        "-p",
        "vigie-api",
        "-p",
        "vigie-charts",
        "-p",
        "vigie-chart-bench",
        "--all-targets",
    ])?;
    step("clippy, wasm32, the split build (one chunk per page)");
    clippy_wasm(&["-p", "vigie", "--features", "split"])?;

    step("native tests");
    let (c, result) = cmd::run_counting(cmd::cargo().args(["test", "--workspace"]));
    *counts += c;
    result?;

    step("wasm tests in headless Chromium");
    let (c, result) = cmd::run_counting(
        cmd::cargo()
            .args(["test", "--target", "wasm32-unknown-unknown", "-p", "vigie"])
            .env("CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "60"),
    );
    *counts += c;
    result?;

    let dist = dist::build()?;
    let cdn = dist::build_for_e2e_path()?;
    check_bundle(&dist.dir, &cdn)?;
    counts.passed += 1;
    let cdn = cdn.dir;
    let server = dist::build_server("dev")?;

    step("end-to-end tests (Playwright) against the real server and release build");
    let c = end2end(&server, &dist.dir, &cdn, &[])?;
    *counts += c;
    if c.failed > 0 {
        return Err(format!("{} end-to-end test(s) failed", c.failed));
    }

    step("benchmarks, smoke run (one short run of each; `cargo xtask bench` for figures)");
    bench::smoke(&dist)?;
    counts.passed += 1;
    Ok(())
}

/// `cargo clippy --target wasm32-unknown-unknown <args> -- -D warnings`.
fn clippy_wasm(args: &[&str]) -> Result {
    cmd::run(
        cmd::cargo()
            .args(["clippy", "--target", "wasm32-unknown-unknown"])
            .args(args)
            .args(["--", "-D", "warnings"]),
    )
}

/// The bundle's own checks: the first load within its budget, and the two
/// builds (for `/` and for [`dist::E2E_PUBLIC_URL`]) identical but for
/// `index.html`: the same sources give the same names and bytes.
fn check_bundle(root: &Path, other: &web::Bundle) -> Result {
    step("the bundle: first-load budget and a deterministic build");
    let first = other.first_load_brotli();
    if first > web::FIRST_LOAD_LIMIT {
        return Err(format!(
            "the first load is {first} bytes brotli, over its limit of {} ({})",
            web::FIRST_LOAD_LIMIT,
            other.first_load.join(", ")
        ));
    }
    if other.chunks.is_empty() {
        return Err("the build has no page chunk: the split did not happen".into());
    }
    let listing = |dir: &Path| -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "index.html" {
                let bytes = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
                files.push((name, bytes));
            }
        }
        files.sort();
        Ok(files)
    };
    let (a, b) = (listing(root)?, listing(&other.dir)?);
    let names = |l: &[(String, Vec<u8>)]| l.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    if names(&a) != names(&b) {
        return Err(format!(
            "two builds of the same sources differ in their files: {:?} and {:?}",
            names(&a),
            names(&b)
        ));
    }
    if let Some((name, _)) = a.iter().zip(&b).find(|(x, y)| x.1 != y.1).map(|p| p.0) {
        return Err(format!("two builds of the same sources differ in {name}"));
    }
    println!(
        "first load {first} bytes brotli (limit {}, budget {}); {} files identical in both builds",
        web::FIRST_LOAD_LIMIT,
        web::FIRST_LOAD_BUDGET,
        a.len()
    );
    Ok(())
}

/// `cargo xtask e2e [files or -g patterns]`: only the end-to-end tests, or
/// some of them (Playwright's own filters), against fresh builds.
pub fn e2e_only(filters: &[String]) -> Result<()> {
    tools::ensure_test_packages()?;
    let dist = dist::build()?.dir;
    let cdn = dist::build_for_e2e_path()?.dir;
    let server = dist::build_server("dev")?;
    let c = end2end(&server, &dist, &cdn, filters)?;
    println!("{} passed, {} failed", c.passed, c.failed);
    if c.failed > 0 {
        return Err(String::new());
    }
    Ok(())
}

/// `cdn`: the build served under [`dist::E2E_PUBLIC_URL`] (`cdn.spec.ts`).
fn end2end(server_bin: &Path, dist: &Path, cdn: &Path, filters: &[String]) -> Result<Counts> {
    // Shared by the files that do not start their own (security.spec.ts);
    // the others start one each from VIGIE_SERVER_BIN and VIGIE_STATIC_DIR
    // (end2end/tests/vigie.ts), so that no file's state reaches another.
    let port = free_port()?;
    let server = serve::start_vigie(server_bin, port, &cmd::root().join("target/e2e-data"), dist)?;
    // A real node_exporter for the tests that scrape one.
    let exporter_port = free_port()?;
    let exporter = Background::spawn(
        Command::new("/usr/bin/prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
            .stderr(std::process::Stdio::null()),
        "prometheus-node-exporter",
    )?;

    let report = cmd::root().join("target/playwright-report.json");
    let _ = std::fs::remove_file(&report);
    let status = Command::new(tools::npm_dir().join("node_modules/.bin/playwright"))
        .args(["test", "--reporter=list,json"])
        .args(filters)
        .current_dir(tools::npm_dir())
        .env("VIGIE_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("VIGIE_SERVER_BIN", server_bin)
        .env("VIGIE_STATIC_DIR", dist)
        .env("VIGIE_CDN_DIST", cdn)
        .env("VIGIE_CDN_PUBLIC_URL", dist::E2E_PUBLIC_URL)
        .env(
            "NODE_EXPORTER_URL",
            format!("http://127.0.0.1:{exporter_port}/metrics"),
        )
        .env("CHROMIUM", tools::CHROMIUM)
        .env("PLAYWRIGHT_JSON_OUTPUT_NAME", &report)
        .status()
        .map_err(|e| format!("cannot start Playwright: {e}"))?;
    drop(server);
    drop(exporter);

    let json = std::fs::read_to_string(&report)
        .map_err(|e| format!("Playwright wrote no report ({status}): {e}"))?;
    let counts = playwright_counts(&json)?;
    if !status.success() && counts.failed == 0 {
        return Err(format!("Playwright failed ({status})"));
    }
    Ok(counts)
}

/// Reads the `stats` of Playwright's JSON report. A flaky test (passed on a
/// retry) counts as failed: retries are off, and must not hide anything.
fn playwright_counts(json: &str) -> Result<Counts> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("bad Playwright report: {e}"))?;
    let stat = |k: &str| v["stats"][k].as_u64().unwrap_or(0);
    let counts = Counts {
        passed: stat("expected"),
        failed: stat("unexpected") + stat("flaky"),
    };
    if counts.passed + counts.failed == 0 {
        return Err("Playwright ran no test".into());
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playwright_stats_are_counted_and_flaky_is_a_failure() {
        let json = r#"{"stats":{"expected":3,"unexpected":1,"flaky":1,"skipped":0}}"#;
        assert_eq!(
            playwright_counts(json),
            Ok(Counts {
                passed: 3,
                failed: 2
            })
        );
        assert!(playwright_counts(r#"{"stats":{"expected":0}}"#).is_err());
    }
}
