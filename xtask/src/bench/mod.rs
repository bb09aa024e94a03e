//! `cargo xtask bench [--smoke]`: every performance figure of the budget, in
//! one run on one machine, beside the fastest peers (uPlot, nginx), printed as
//! a table and written to BENCHMARKS.md. Nothing fails on a slow machine: each
//! figure is printed with its budget and an over/under mark.
//!
//! `--smoke` runs each benchmark once, briefly, and fails if one of them
//! produces no figure (so that `cargo xtask test` keeps them from rotting);
//! it writes `target/bench/smoke.md`, never BENCHMARKS.md.
//!
//! `VIGIE_BENCH_SERVER_BIN=path/to/vigie-server` measures that binary (an
//! older build, say) instead of the one built here in the load part: ingest,
//! RSS, wrk beside nginx and wrk under concurrent writes. The long ranges and
//! the browser figures stay on the server built here (whose API the bundle
//! speaks); the report says which binary was measured.
//!
//! `VIGIE_BENCH_REPORT_ONLY=1` runs only the month's report (seeded history,
//! reports timed while the live samples are watched) and writes
//! `target/bench/report-only.md`.

mod load;
mod month;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::cmd::{self, Result, step};
use crate::serve::{self, free_port};
use crate::web::Bundle;
use crate::{dist, tools};
use report::Report;

/// Settings of every server the bench starts: it measures what the server
/// can take, so the per-address rate limit of ingest batches (a policy, 200
/// a second by default) must not be what stops a week of data going in.
const BENCH_ENV: &[(&str, &str)] = &[("VIGIE_INGEST_BATCHES_PER_MINUTE", "10000000")];

/// How long each part runs: the full benchmark or the smoke run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Hours of 1 s data ingested for each of the 20 targets.
    ingest_hours: usize,
    /// Seconds of requests at 100/s ingested for the long-range queries.
    long_range_s: u64,
    wrk_seconds: u32,
    wrk_rounds: usize,
    /// Days of history for the month's report, and how many are timed.
    report_days: i64,
    report_rounds: usize,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        if smoke {
            Plan {
                ingest_hours: 1,
                long_range_s: 3600,
                wrk_seconds: 1,
                wrk_rounds: 1,
                report_days: 1,
                report_rounds: 1,
            }
        } else {
            Plan {
                ingest_hours: 24,
                // 60,480,000 records.
                long_range_s: 7 * 86_400,
                wrk_seconds: 10,
                wrk_rounds: 3,
                report_days: 31,
                report_rounds: 5,
            }
        }
    }
}

pub fn run(args: &[String]) -> Result {
    let smoke = match args {
        [] => false,
        [a] if a == "--smoke" => true,
        _ => return Err("usage: cargo xtask bench [--smoke]".into()),
    };
    tools::ensure_bench_packages()?;
    let bundle = dist::build()?;
    bench(smoke, &bundle)
}

/// The smoke run inside `cargo xtask test`, on the bundle it already built.
pub fn smoke(bundle: &Bundle) -> Result {
    bench(true, bundle)
}

fn bench(smoke: bool, bundle: &Bundle) -> Result {
    let dist = bundle.dir.as_path();
    let plan = Plan::new(smoke);
    let started = Instant::now();
    // The server as users run it; the smoke run takes the debug build the
    // tests already made.
    let profile = if smoke { "dev" } else { "server" };
    let server_bin = dist::build_server(profile)?;
    if std::env::var_os("VIGIE_BENCH_REPORT_ONLY").is_some_and(|v| !v.is_empty()) {
        let mut report = Report::new(smoke);
        month_report(&server_bin, profile, dist, &plan, &mut report)?;
        let text = report.markdown(&machine(), started.elapsed().as_secs_f64());
        println!("\n{}", report.table());
        let out = load::bench_dir().join("report-only.md");
        report::write(&out, &text)?;
        println!("\nreport figures written to {}", out.display());
        return Ok(());
    }
    let load_bin = load_server_bin()?;
    let chart_dir = build_chart_bench()?;

    let mut report = Report::new(smoke);
    report.server(
        load_bin.as_deref().unwrap_or(&server_bin),
        load_bin.is_some(),
    );
    report.bundle(bundle);

    let mut port = free_port()?;
    let data = load::bench_dir().join("data");
    let mut server = serve::start_vigie_with(
        load_bin.as_deref().unwrap_or(&server_bin),
        port,
        &data,
        dist,
        BENCH_ENV,
    )?;

    step("ingest: batches of 1,000 records, 20 targets");
    let ingest = load::ingest(port, plan.ingest_hours, now_ms())?;
    load::read_back(port)?;
    let (rss, peak) = load::rss(server.pid())?;
    report.ingest(&ingest, plan.ingest_hours, rss, peak);

    step("GET metrics/ with wrk, beside nginx serving the same bytes");
    let quiet = api_vs_nginx(port, &plan, &mut report)?;

    let query = load::writes_query();
    for pressure in load::PRESSURES {
        step(&format!(
            "GET {query} with wrk while one connection ingests {} batches of {} a second",
            pressure.per_s, pressure.batch
        ));
        let writes = load::under_writes(
            port,
            server.pid(),
            &format!("http://127.0.0.1:{port}{query}"),
            (plan.wrk_seconds, plan.wrk_rounds),
            pressure,
        )?;
        report.under_writes(&query, &writes, &quiet);
    }
    if std::env::var_os("VIGIE_BENCH_LOAD_ONLY").is_some_and(|v| !v.is_empty()) {
        // The load figures alone (to compare another build's quickly).
        let text = report.markdown(&machine(), started.elapsed().as_secs_f64());
        let out = load::bench_dir().join("load-only.md");
        report::write(&out, &text)?;
        println!("\nload figures written to {}", out.display());
        return Ok(());
    }

    if load_bin.is_some() {
        step("the server built here for the browser parts, with the same data ingested");
        drop(server);
        port = free_port()?;
        server = serve::start_vigie_with(&server_bin, port, &data, dist, BENCH_ENV)?;
        load::ingest(port, plan.ingest_hours, now_ms())?;
    }

    step(&format!(
        "long ranges: {} s of requests at {}/s, then GET metrics/ and endpoints/ over 7 d",
        plan.long_range_s,
        load::LONG_RATE
    ));
    report.long_range(&long_range(&server_bin, dist, plan.long_range_s)?);

    month_report(&server_bin, profile, dist, &plan, &mut report)?;

    let base = format!("http://127.0.0.1:{port}");
    step("time to first live chart (headless Chromium, cold loads)");
    let first = node_script("first-load.mjs", &[("VIGIE_BASE_URL", &base)], smoke)?;
    report.first_load(&first)?;

    step("live updates: main-thread time per tick, memory over time");
    let live = node_script("live.mjs", &[("VIGIE_BASE_URL", &base)], smoke)?;
    report.live(&live)?;
    drop(server);

    step("chart draw: Vigie's chart and uPlot, same data, same page");
    let chart = node_script(
        "chart.mjs",
        &[("CHART_BENCH_DIR", &chart_dir.display().to_string())],
        smoke,
    )?;
    report.charts(&chart)?;

    let machine = machine();
    let text = report.markdown(&machine, started.elapsed().as_secs_f64());
    println!("\n{}", report.table());
    let out = if smoke {
        load::bench_dir().join("smoke.md")
    } else {
        cmd::root().join("BENCHMARKS.md")
    };
    report::write(&out, &text)?;
    println!(
        "\nbench finished in {:.0} s; figures written to {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `VIGIE_BENCH_SERVER_BIN`, when set: the server binary of the load part.
fn load_server_bin() -> Result<Option<PathBuf>> {
    let Some(path) = std::env::var_os("VIGIE_BENCH_SERVER_BIN").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let path = std::fs::canonicalize(&path)
        .map_err(|e| format!("VIGIE_BENCH_SERVER_BIN={}: {e}", path.display()))?;
    if !path.is_file() {
        return Err(format!(
            "VIGIE_BENCH_SERVER_BIN={}: not a file",
            path.display()
        ));
    }
    step(&format!(
        "load part on {} (VIGIE_BENCH_SERVER_BIN)",
        path.display()
    ));
    Ok(Some(path))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Vigie's chart as a wasm module (crates/chart-bench), built with the
/// dashboard's release profile and wasm-opt level, for the chart page.
fn build_chart_bench() -> Result<PathBuf> {
    step("building the chart benchmark module (release, wasm-bindgen, wasm-opt -Oz)");
    cmd::run(cmd::cargo().args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "vigie-chart-bench",
    ]))?;
    let out = load::bench_dir().join("chart");
    let pkg = out.join("pkg");
    let _ = std::fs::remove_dir_all(&pkg);
    crate::web::bindgen_web(
        &cmd::root().join("target/wasm32-unknown-unknown/release/vigie_chart_bench.wasm"),
        "vigie_chart_bench",
        &[],
    )?
    .generate(&pkg)
    .map_err(|e| format!("wasm-bindgen: {e:#}"))?;
    let wasm = pkg.join("vigie_chart_bench_bg.wasm");
    cmd::run(&mut crate::web::wasm_opt(&wasm, &wasm))?;
    Ok(out)
}

/// Runs `end2end/bench/<script>` with Node and reads the JSON object it
/// prints last.
fn node_script(script: &str, env: &[(&str, &str)], smoke: bool) -> Result<Value> {
    let path = tools::npm_dir().join("bench").join(script);
    let mut c = Command::new("node");
    c.arg(&path)
        .current_dir(tools::npm_dir())
        .env("CHROMIUM", tools::CHROMIUM)
        .stderr(std::process::Stdio::inherit());
    if smoke {
        c.env("BENCH_SMOKE", "1");
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .output()
        .map_err(|e| format!("cannot run node {}: {e}", path.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{script} failed ({}): {stdout}", out.status));
    }
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).map_err(|e| format!("{script} printed no JSON ({e}): {last}"))
}

/// wrk on `GET metrics/` beside nginx; returns Vigie's runs.
fn api_vs_nginx(port: u16, plan: &Plan, report: &mut Report) -> Result<Vec<load::WrkRun>> {
    let query = load::metrics_query();
    let (status, body) =
        serve::get(port, &query).ok_or_else(|| format!("GET {query}: no answer"))?;
    let points = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["series"].as_array().map(Vec::len))
        .unwrap_or(0);
    if status != 200 || points == 0 {
        return Err(format!(
            "GET {query}: HTTP {status} with {points} points: {:.300}",
            String::from_utf8_lossy(&body)
        ));
    }
    // First the answers the cache cannot give: each query asked once.
    let uncached = load::uncached(port, if plan.wrk_rounds == 1 { 100 } else { 400 })?;
    // Then wrk taking turns over the dashboard's queries, each asked once
    // beforehand: the figure mixes computed and cached answers, as many
    // dashboards on different targets and ranges would.
    let queries = load::varied_queries();
    for q in &queries {
        match serve::get(port, q) {
            Some((200, _)) => {}
            other => return Err(format!("GET {q}: {:?}", other.map(|o| o.0))),
        }
    }
    let (nginx, nginx_url) = load::nginx(&load::bench_dir().join("nginx"), &body)?;
    let base = format!("http://127.0.0.1:{port}");
    let (mut vigie_runs, mut nginx_runs) = (Vec::new(), Vec::new());
    // Alternate, so that a noisy neighbour hits both alike.
    for _ in 0..plan.wrk_rounds {
        vigie_runs.push(load::wrk_over(&base, &queries, plan.wrk_seconds)?);
        nginx_runs.push(load::wrk(&nginx_url, plan.wrk_seconds)?);
    }
    drop(nginx);
    report.api(
        &report::ApiRun {
            query: &query,
            bytes: body.len(),
            points,
            queries: queries.len(),
            uncached,
        },
        &vigie_runs,
        &nginx_runs,
    );
    Ok(vigie_runs)
}

/// The long-range benchmark on a server of its own (the first one, idle
/// meanwhile, keeps its smaller data for the browser parts); its database,
/// gigabytes for a full week, is deleted afterwards.
fn long_range(server_bin: &Path, dist: &Path, span_s: u64) -> Result<load::LongRange> {
    let port = free_port()?;
    let data = load::bench_dir().join("long-range");
    let server = serve::start_vigie_with(server_bin, port, &data, dist, BENCH_ENV)?;
    let measured = load::long_range(port, server.pid(), span_s, now_ms());
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    measured
}

fn month_report(
    server_bin: &Path,
    profile: &str,
    dist: &Path,
    plan: &Plan,
    report: &mut Report,
) -> Result {
    step(&format!(
        "a {}-day report over {} targets while monitoring runs",
        plan.report_days,
        month::TARGETS
    ));
    report.month_report(&month::run(
        server_bin,
        profile,
        dist,
        BENCH_ENV,
        plan.report_days,
        plan.report_rounds,
    )?);
    Ok(())
}

/// Cores and CPU model, for the record.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!(", {:.0} GiB", kb / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    format!("{cores} cores, {model}{mem}")
}
