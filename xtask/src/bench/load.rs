//! The server-side benchmarks: ingest rate and the memory it leaves, `wrk`
//! on `GET metrics/` beside nginx serving the same bytes, `wrk` on
//! `GET metrics/` while request batches are ingested, and long ranges: a week
//! of requests ingested, then `metrics/` and `endpoints/` over 7 days.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vigie_api::paths;

use super::stats::Stats;
use crate::cmd::{self, Result};
use crate::serve::{Background, Connection, free_port, wait_until_ok};

pub const TARGETS: usize = 20;
pub const BATCH: usize = 1000;
/// Concurrent senders: enough to keep the server's writer busy.
const SENDERS: usize = 4;

/// Requests ingested for the wrk benchmark's query.
pub fn metrics_query() -> String {
    format!(
        "{}/?source=requests&service=svc-00&range=1h&points=300",
        paths::METRICS
    )
}

/// Reads back what [`ingest`] wrote: each service's figures and endpoints
/// over the last 24 h through the API, so that the memory measured next
/// includes what serving the data costs, not only storing it. Returns the
/// number of requests made (each answered 200).
pub fn read_back(port: u16) -> Result<usize> {
    let mut conn = Connection::open(port).map_err(|e| format!("read-back: {e}"))?;
    let mut made = 0;
    for t in 0..TARGETS {
        for path in [
            format!(
                "{}/?source=requests&service=svc-{t:02}&range=24h&points=1440",
                paths::METRICS
            ),
            format!("{}/?service=svc-{t:02}&range=24h", paths::ENDPOINTS),
        ] {
            let (status, body) = conn
                .request("GET", &path, &[], &[])
                .map_err(|e| format!("read-back {path}: {e}"))?;
            if status != 200 {
                return Err(format!(
                    "read-back {path}: {status} {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            made += 1;
        }
    }
    Ok(made)
}

#[derive(Debug)]
pub struct Ingest {
    pub records: usize,
    pub seconds: f64,
    /// Records per second over each quarter of the run.
    pub rate: Stats,
    /// Time to acknowledge one batch, ms.
    pub batch_ms: Stats,
}

/// The request bodies of `hours` of 1 s data for [`TARGETS`] services,
/// ending a second ago, [`BATCH`] records each, oldest first.
fn bodies(hours: usize, now_ms: i64) -> Vec<String> {
    let seconds = hours * 3600;
    let start = now_ms - seconds as i64 * 1000;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: the same data on every run.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut out = Vec::with_capacity(seconds * TARGETS / BATCH + 1);
    let mut body = String::new();
    let mut in_batch = 0;
    for s in 0..seconds {
        for t in 0..TARGETS {
            if in_batch == 0 {
                body = String::with_capacity(BATCH * 140);
                body.push_str("{\"records\":[");
            } else {
                body.push(',');
            }
            let r = next();
            let status = if r % 100 == 0 { 500 } else { 200 };
            let duration = 5.0 + (r >> 40) as f64 / (1u64 << 24) as f64 * 120.0;
            body.push_str(&format!(
                "{{\"endpoint\":\"/api/items/{{id}}\",\"method\":\"GET\",\"status\":{status},\"duration_ms\":{duration:.3},\"timestamp\":{},\"service\":\"svc-{t:02}\"}}",
                start + s as i64 * 1000
            ));
            in_batch += 1;
            if in_batch == BATCH {
                body.push_str("]}");
                out.push(std::mem::take(&mut body));
                in_batch = 0;
            }
        }
    }
    if in_batch > 0 {
        body.push_str("]}");
        out.push(body);
    }
    out
}

/// Posts `hours` of data for [`TARGETS`] services in batches of [`BATCH`]
/// from [`SENDERS`] connections; every batch must be acknowledged (stored).
pub fn ingest(port: u16, hours: usize, now_ms: i64) -> Result<Ingest> {
    let bodies = bodies(hours, now_ms);
    let records = hours * 3600 * TARGETS;
    let next = AtomicUsize::new(0);
    // (batch index, ack time in ms, seconds since start when acknowledged)
    let started = Instant::now();
    let results: Vec<Result<Vec<(f64, f64)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SENDERS)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<(f64, f64)>> {
                    let mut conn =
                        Connection::open(port).map_err(|e| format!("ingest connection: {e}"))?;
                    let mut acks = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else {
                            return Ok(acks);
                        };
                        let ms = post_batch(&mut conn, body, &format!("ingest batch {i}"))?;
                        acks.push((ms, started.elapsed().as_secs_f64()));
                    }
                })
            })
            .collect();
        join_senders(workers)
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut acks = Vec::new();
    for r in results {
        acks.extend(r?);
    }
    if acks.len() != bodies.len() {
        return Err(format!(
            "{} of {} batches acknowledged",
            acks.len(),
            bodies.len()
        ));
    }
    // Rate over each quarter of the run, by acknowledgement time.
    let quarter = seconds / 4.0;
    let rates: Vec<f64> = (0..4)
        .map(|q| {
            let n = acks
                .iter()
                .filter(|a| a.1 > q as f64 * quarter && a.1 <= (q + 1) as f64 * quarter + 1e-9)
                .count();
            (n * BATCH) as f64 / quarter
        })
        .collect();
    let latencies: Vec<f64> = acks.iter().map(|a| a.0).collect();
    Ok(Ingest {
        records,
        seconds,
        rate: Stats::of(&rates).ok_or("no ingest rate")?,
        batch_ms: Stats::of(&latencies).ok_or("no ingest latency")?,
    })
}

/// Requests per second in the long-range data.
pub const LONG_RATE: u64 = 100;
/// Times each long-range query is asked (each with a new cache key).
pub const LONG_QUERIES: usize = 21;
/// The server's default retention, the longest range a query may ask for.
const RETENTION_MS: i64 = 7 * 86_400_000;
/// Kept free at the old end of a week of data: the oldest records must still
/// be inside the retention when the server checks them.
const RETENTION_MARGIN_MS: i64 = 5 * 60_000;

#[derive(Debug)]
pub struct LongRange {
    pub records: u64,
    /// Seconds of data: `records / LONG_RATE`.
    pub span_s: u64,
    pub ingest_s: f64,
    /// Requests counted by the last `metrics/` answer (those still inside
    /// its 7 days when it was asked).
    pub answered: u64,
    pub metrics_ms: Stats,
    pub endpoints_ms: Stats,
    pub rss: u64,
    pub peak: u64,
}

/// Appends record `k` of the long-range data to `body`: [`TARGETS`]
/// services taking turns, one endpoint each, one answer in 100 a 500,
/// durations 5 to 125 ms; `k` spaced `step_ms` apart from `start_ms`.
fn long_record(body: &mut String, k: u64, start_ms: i64, step_ms: f64) {
    // splitmix64 of the index: the same record whichever sender makes it.
    let mut z = k.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let status = if z.is_multiple_of(100) { 500 } else { 200 };
    let duration = 5.0 + (z >> 40) as f64 / (1u64 << 24) as f64 * 120.0;
    let ts = start_ms + (k as f64 * step_ms) as i64;
    let _ = write!(
        body,
        "{{\"endpoint\":\"/api/items/{{id}}\",\"method\":\"GET\",\"status\":{status},\"duration_ms\":{duration:.3},\"timestamp\":{ts},\"service\":\"svc-{:02}\"}}",
        k % TARGETS as u64
    );
}

/// Ingests `span_s` seconds of requests at [`LONG_RATE`] per second ending
/// at `now_ms` (the oldest minutes of a week squeezed by
/// [`RETENTION_MARGIN_MS`]) through the server's `ingest/`, then times
/// `metrics/?range=7d&source=requests` and `endpoints/?range=7d`
/// [`LONG_QUERIES`] times each, and reads the server's memory.
pub fn long_range(port: u16, pid: u32, span_s: u64, now_ms: i64) -> Result<LongRange> {
    let records = span_s * LONG_RATE;
    let window_ms = (span_s as i64 * 1000).min(RETENTION_MS - RETENTION_MARGIN_MS);
    let start_ms = now_ms - window_ms;
    let step_ms = window_ms as f64 / records.max(1) as f64;
    let batches = records.div_ceil(BATCH as u64);
    let next = AtomicU64::new(0);
    let started = Instant::now();
    // Each sender writes its batches as it goes: a week of JSON is ~9 GB.
    let sent: Vec<Result> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SENDERS)
            .map(|_| {
                scope.spawn(|| -> Result {
                    let mut conn =
                        Connection::open(port).map_err(|e| format!("ingest connection: {e}"))?;
                    let mut body = String::with_capacity(BATCH * 150);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= batches {
                            return Ok(());
                        }
                        body.clear();
                        body.push_str("{\"records\":[");
                        for k in i * BATCH as u64..((i + 1) * BATCH as u64).min(records) {
                            if !body.ends_with('[') {
                                body.push(',');
                            }
                            long_record(&mut body, k, start_ms, step_ms);
                        }
                        body.push_str("]}");
                        post_batch(&mut conn, &body, &format!("ingest batch {i}"))?;
                    }
                })
            })
            .collect();
        join_senders(workers)
    });
    sent.into_iter().collect::<Result>()?;
    let ingest_s = started.elapsed().as_secs_f64();

    let mut conn = Connection::open(port).map_err(|e| format!("query connection: {e}"))?;
    let mut time = |path: String| -> Result<(f64, Vec<u8>)> {
        let t = Instant::now();
        let (status, body) = conn
            .request("GET", &path, &[], &[])
            .map_err(|e| format!("GET {path}: {e}"))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if status != 200 {
            return Err(format!(
                "GET {path}: HTTP {status}: {:.300}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok((ms, body))
    };
    let (mut metrics_ms, mut endpoints_ms, mut answered) = (Vec::new(), Vec::new(), 0);
    for i in 0..LONG_QUERIES {
        // A different `points` or `limit` each time: a new cache key, so
        // that every answer is computed.
        let (ms, body) = time(format!(
            "{}/?range=7d&source=requests&points={}",
            paths::METRICS,
            200 + i
        ))?;
        metrics_ms.push(ms);
        answered = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["performance_metrics"]["total_requests"].as_u64())
            .unwrap_or(0);
        let (ms, body) = time(format!("{}/?range=7d&limit={}", paths::ENDPOINTS, 50 + i))?;
        endpoints_ms.push(ms);
        let lines = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["endpoints"].as_array().map(Vec::len))
            .unwrap_or(0);
        if lines != TARGETS {
            return Err(format!(
                "endpoints/?range=7d: {lines} lines, {TARGETS} expected"
            ));
        }
    }
    // Those in the 7 days when asked: all but what aged out during the run.
    if (answered as f64) < records as f64 * 0.99 {
        return Err(format!(
            "metrics/?range=7d counted {answered} of the {records} requests ingested"
        ));
    }
    let (rss, peak) = rss(pid)?;
    Ok(LongRange {
        records,
        span_s,
        ingest_s,
        answered,
        metrics_ms: Stats::of(&metrics_ms).ok_or("no metrics/ timing")?,
        endpoints_ms: Stats::of(&endpoints_ms).ok_or("no endpoints/ timing")?,
        rss,
        peak,
    })
}

/// Resident and peak memory of a process, bytes (Linux `/proc`).
pub fn rss(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Ok((
        field("VmRSS:").ok_or("no VmRSS")?,
        field("VmHWM:").ok_or("no VmHWM")?,
    ))
}

/// What wrk measured in one run.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Reads `Requests/sec:` and the `50%` and `99%` lines of `wrk --latency`.
pub fn parse_wrk(out: &str) -> Option<WrkRun> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    Some(WrkRun {
        requests_per_s: rps,
        p50_ms: wrk_latency(out, "50%")?,
        p99_ms: wrk_latency(out, "99%")?,
    })
}

/// The latency of `percentile` (`99%`) in wrk's distribution, ms.
fn wrk_latency(out: &str, percentile: &str) -> Option<f64> {
    let value = out.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next()? == percentile).then(|| w.next()).flatten()
    })?;
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * factor)
}

pub const WRK_CONNECTIONS: u32 = 32;
pub const WRK_THREADS: u32 = 2;

/// One wrk run against `url`, checking that no request failed.
pub fn wrk(url: &str, seconds: u32) -> Result<WrkRun> {
    wrk_with(url, seconds, None)
}

/// The `metrics/` queries the wrk benchmark takes turns over: every
/// service, four ranges and three point counts, as the dashboard asks them.
pub fn varied_queries() -> Vec<String> {
    let mut out = Vec::new();
    for t in 0..TARGETS {
        for range in ["5m", "1h", "6h", "24h"] {
            for points in [120, 300, 600] {
                out.push(format!(
                    "{}/?source=requests&service=svc-{t:02}&range={range}&points={points}",
                    paths::METRICS
                ));
            }
        }
    }
    out
}

/// The Lua script that makes wrk request `paths` in turn (each thread
/// starting at its own place in the list).
fn paths_script(paths: &[String]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("  {p:?},")).collect();
    format!(
        "-- Written by cargo xtask bench: {} paths requested in turn.\n\
         local paths = {{\n{}\n}}\n\
         local i = math.random(#paths)\n\
         request = function()\n\
         \x20 i = i % #paths + 1\n\
         \x20 return wrk.format(\"GET\", paths[i])\n\
         end\n",
        paths.len(),
        list.join("\n")
    )
}

/// One wrk run on `base` (`http://127.0.0.1:port`) taking turns over `paths`.
pub fn wrk_over(base: &str, paths: &[String], seconds: u32) -> Result<WrkRun> {
    let script = bench_dir().join("wrk-paths.lua");
    std::fs::create_dir_all(bench_dir()).map_err(|e| e.to_string())?;
    std::fs::write(&script, paths_script(paths))
        .map_err(|e| format!("{}: {e}", script.display()))?;
    wrk_with(base, seconds, Some(&script))
}

fn wrk_with(url: &str, seconds: u32, script: Option<&Path>) -> Result<WrkRun> {
    let mut c = Command::new("wrk");
    c.args([
        &format!("-t{WRK_THREADS}"),
        &format!("-c{WRK_CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        c.arg("-s").arg(script);
    }
    let out = c
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("wrk failed: {text}"));
    }
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk on {url}: {}", line.trim()));
    }
    parse_wrk(&text).ok_or_else(|| format!("cannot read wrk's output: {text}"))
}

/// Time of `n` `metrics/` requests that the response cache cannot answer
/// (each query asked for the first time: another service, range or point
/// count), one after the other on one keep-alive connection, ms.
pub fn uncached(port: u16, n: usize) -> Result<Stats> {
    let mut conn = Connection::open(port).map_err(|e| format!("uncached: {e}"))?;
    let ranges = ["5m", "15m", "1h", "6h", "24h"];
    let mut times = Vec::with_capacity(n);
    for k in 0..n {
        // Point counts the varied set does not use, distinct per request.
        let points = 1000 + k / (TARGETS * ranges.len());
        let path = format!(
            "{}/?source=requests&service=svc-{:02}&range={}&points={points}",
            paths::METRICS,
            k % TARGETS,
            ranges[(k / TARGETS) % ranges.len()]
        );
        let started = Instant::now();
        let (status, body) = conn
            .request("GET", &path, &[], &[])
            .map_err(|e| format!("{path}: {e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            return Err(format!(
                "{path}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    Stats::of(&times).ok_or_else(|| "no uncached request".into())
}

/// The query asked under concurrent writes: the overview's default (probe
/// results over the last 5 minutes).
pub fn writes_query() -> String {
    format!("{}/?range=5m", paths::METRICS)
}

#[derive(Debug)]
pub struct UnderWrites {
    /// One wrk run per round, all while batches were being ingested.
    pub runs: Vec<WrkRun>,
    /// Seconds of each wrk run.
    pub seconds: u32,
    /// Records per second acknowledged during each wrk run.
    pub ingest_rate: Stats,
    /// Time to acknowledge one batch during the wrk runs, ms.
    pub batch_ms: Stats,
    /// Records acknowledged during the wrk runs.
    pub records: u64,
    pub rss: u64,
    pub peak: u64,
    pub pressure: WritePressure,
}

/// Appends a batch of `size` request records to `body`, stamped one a
/// millisecond up to `now_ms`; `first` numbers its first record (records `k`
/// take turns among the services as in the long-range data).
fn live_batch(body: &mut String, first: u64, size: usize, now_ms: i64) {
    body.clear();
    body.push_str("{\"records\":[");
    // Record `first + j` at `now_ms - size + j`.
    let start_ms = now_ms - size as i64 - first as i64;
    for k in first..first + size as u64 {
        if k > first {
            body.push(',');
        }
        long_record(body, k, start_ms, 1.0);
    }
    body.push_str("]}");
}

/// The write pressure of a run under writes: batches of `batch` records,
/// `per_s` a second, each one commit (the same on every build, below what
/// any takes, so that builds are compared under the same pressure rather
/// than each under its own maximum).
#[derive(Debug, Clone, Copy)]
pub struct WritePressure {
    pub batch: usize,
    pub per_s: f64,
}

/// 50,000 records a second as 50 commits of 1,000 (many small writes), and
/// as 5 commits of 10,000 (long writes: what a reader queued behind the
/// writer waits for).
pub const PRESSURES: [WritePressure; 2] = [
    WritePressure {
        batch: BATCH,
        per_s: 50.0,
    },
    WritePressure {
        batch: 10 * BATCH,
        per_s: 5.0,
    },
];

/// wrk on `url` for `rounds` runs of `seconds` while one keep-alive
/// connection ingests at `pressure` (from the first acknowledgement until
/// the last run ends); the ingest rate counts the batches acknowledged
/// during the runs.
pub fn under_writes(
    port: u16,
    pid: u32,
    url: &str,
    (seconds, rounds): (u32, usize),
    pressure: WritePressure,
) -> Result<UnderWrites> {
    let stop = AtomicBool::new(false);
    let acked = AtomicU64::new(0);
    let started = Instant::now();
    let (acks, runs, windows) = std::thread::scope(|scope| -> Result<_> {
        // (ack time in ms, seconds since start when acknowledged)
        let writer = scope.spawn(|| -> Result<Vec<(f64, f64)>> {
            let mut conn = Connection::open(port).map_err(|e| format!("ingest connection: {e}"))?;
            let mut body = String::with_capacity(pressure.batch * 150);
            let mut acks = Vec::new();
            let mut i = 0u64;
            let every = Duration::from_secs_f64(1.0 / pressure.per_s);
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                live_batch(
                    &mut body,
                    i * pressure.batch as u64,
                    pressure.batch,
                    super::now_ms(),
                );
                let ms = post_batch(&mut conn, &body, &format!("ingest batch {i} under wrk"))?;
                acks.push((ms, started.elapsed().as_secs_f64()));
                acked.fetch_add(1, Ordering::Relaxed);
                i += 1;
                next += every;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            Ok(acks)
        });
        // Each run with the seconds since `started` when it began and ended.
        let measured = (|| -> Result<Vec<(WrkRun, f64, f64)>> {
            let deadline = Instant::now() + Duration::from_secs(30);
            while acked.load(Ordering::Relaxed) == 0 {
                if writer.is_finished() || Instant::now() > deadline {
                    return Err("no ingest batch acknowledged before wrk".into());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut runs = Vec::new();
            for _ in 0..rounds {
                let from = started.elapsed().as_secs_f64();
                let run = wrk(url, seconds)?;
                runs.push((run, from, started.elapsed().as_secs_f64()));
                if writer.is_finished() {
                    break;
                }
            }
            Ok(runs)
        })();
        stop.store(true, Ordering::Relaxed);
        let acks = writer
            .join()
            .unwrap_or_else(|_| Err("ingest sender panicked".into()))?;
        let measured = measured?;
        let runs: Vec<WrkRun> = measured.iter().map(|m| m.0).collect();
        let windows: Vec<(f64, f64)> = measured.iter().map(|m| (m.1, m.2)).collect();
        Ok((acks, runs, windows))
    })?;
    if runs.len() < rounds {
        return Err("the ingest connection stopped during wrk".into());
    }
    let during = |at: f64| windows.iter().any(|&(from, to)| at > from && at <= to);
    let rates: Vec<f64> = windows
        .iter()
        .map(|&(from, to)| {
            let n = acks.iter().filter(|a| a.1 > from && a.1 <= to).count();
            (n * pressure.batch) as f64 / (to - from)
        })
        .collect();
    let latencies: Vec<f64> = acks.iter().filter(|a| during(a.1)).map(|a| a.0).collect();
    if latencies.is_empty() {
        return Err("no ingest batch acknowledged during wrk".into());
    }
    let (rss, peak) = rss(pid)?;
    Ok(UnderWrites {
        runs,
        seconds,
        ingest_rate: Stats::of(&rates).ok_or("no ingest rate under wrk")?,
        batch_ms: Stats::of(&latencies).ok_or("no ingest latency under wrk")?,
        records: (latencies.len() * pressure.batch) as u64,
        pressure,
        rss,
        peak,
    })
}

/// nginx serving `body` as `metrics.json` from `dir`, on a free port, as
/// any user (its own pid, logs and temp paths under `dir`).
pub fn nginx(dir: &Path, body: &[u8]) -> Result<(Background, String)> {
    let _ = std::fs::remove_dir_all(dir);
    let www = dir.join("www");
    std::fs::create_dir_all(&www).map_err(|e| format!("{}: {e}", www.display()))?;
    std::fs::write(www.join("metrics.json"), body).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let conf = format!(
        "daemon off;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         types {{ application/json json; }}\n  keepalive_requests 1000000;\n\
         server {{ listen 127.0.0.1:{port}; root {d}/www; }}\n}}\n",
        d = dir.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let server = Background::spawn(
        Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir)
            .stderr(std::process::Stdio::null()),
        "nginx",
    )?;
    wait_until_ok(port, "/metrics.json", std::time::Duration::from_secs(10))?;
    Ok((server, format!("http://127.0.0.1:{port}/metrics.json")))
}

/// The workspace's target directory for the benchmarks' files.
pub fn bench_dir() -> std::path::PathBuf {
    cmd::root().join("target/bench")
}

/// Posts one ingest batch on `conn`; the milliseconds until it was
/// acknowledged, or what went wrong, named `what`.
fn post_batch(conn: &mut Connection, body: &str, what: &str) -> Result<f64> {
    let t = Instant::now();
    let (status, answer) = conn
        .request(
            "POST",
            &format!("{}/", paths::INGEST),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .map_err(|e| format!("{what}: {e}"))?;
    if status != 200 {
        return Err(format!(
            "{what}: HTTP {status}: {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// What each ingest sender thread ended with; a panic is an error.
fn join_senders<T, C: FromIterator<Result<T>>>(
    workers: Vec<std::thread::ScopedJoinHandle<'_, Result<T>>>,
) -> C {
    workers
        .into_iter()
        .map(|w| {
            w.join()
                .unwrap_or_else(|_| Err("ingest sender panicked".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_varied_queries_are_distinct_and_scripted_for_wrk() {
        let q = varied_queries();
        assert_eq!(q.len(), TARGETS * 4 * 3);
        assert_eq!(
            q.iter().collect::<std::collections::HashSet<_>>().len(),
            q.len()
        );
        let script = paths_script(&q[..2]);
        assert!(script.contains(&format!("  {:?},", q[1])), "{script}");
        assert!(
            script.contains("return wrk.format(\"GET\", paths[i])"),
            "{script}"
        );
    }

    #[test]
    fn reads_wrk_output() {
        let out = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n  Latency Distribution\n     50%  210.00us\n     75%  300.00us\n     90%    1.10ms\n     99%    4.52ms\n  100 requests in 10.00s, 2.00MB read\nRequests/sec:  12345.67\nTransfer/sec:      1.00MB\n";
        let r = parse_wrk(out).expect("parsed");
        assert_eq!(r.requests_per_s, 12345.67);
        assert!((r.p50_ms - 0.21).abs() < 1e-9);
        assert!((r.p99_ms - 4.52).abs() < 1e-9);
        let us = out.replace("4.52ms", "870.00us");
        assert!((parse_wrk(&us).expect("parsed").p99_ms - 0.87).abs() < 1e-9);
        assert!(parse_wrk("nothing").is_none());
        let seconds = out.replace("4.52ms", "1.20s");
        assert!((parse_wrk(&seconds).expect("parsed").p99_ms - 1200.0).abs() < 1e-9);
    }

    #[test]
    fn live_batches_end_a_millisecond_before_now() {
        let mut body = String::new();
        live_batch(&mut body, 3 * BATCH as u64, BATCH, 50_000_000);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let records = v["records"].as_array().expect("records");
        assert_eq!(records.len(), BATCH);
        assert_eq!(records[0]["timestamp"], 50_000_000 - BATCH as i64);
        assert_eq!(records[BATCH - 1]["timestamp"], 50_000_000 - 1);
        assert_eq!(records[1]["service"], "svc-01");
    }

    #[test]
    fn long_records_take_turns_and_are_spaced_evenly() {
        let mut body = String::from("[");
        for k in 0..41 {
            if k > 0 {
                body.push(',');
            }
            long_record(&mut body, k, 1_000_000, 10.0);
        }
        body.push(']');
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let records = v.as_array().expect("records");
        assert_eq!(records[0]["service"], "svc-00");
        assert_eq!(records[21]["service"], "svc-01");
        assert_eq!(records[40]["timestamp"], 1_000_400);
        let d = records[7]["duration_ms"].as_f64().expect("duration");
        assert!((5.0..=125.0).contains(&d));
    }

    #[test]
    fn bodies_hold_every_record_once_in_batches() {
        let b = bodies(1, 10_000_000_000);
        assert_eq!(b.len(), 3600 * TARGETS / BATCH);
        let v: serde_json::Value = serde_json::from_str(&b[0]).expect("json");
        let records = v["records"].as_array().expect("records");
        assert_eq!(records.len(), BATCH);
        assert_eq!(records[0]["service"], "svc-00");
        assert_eq!(records[19]["service"], "svc-19");
        assert_eq!(
            records[20]["timestamp"],
            10_000_000_000i64 - 3_600_000 + 1000
        );
    }
}
