//! The server-side benchmarks: ingest rate and the memory it leaves, and
//! `wrk` on `GET metrics/` beside nginx serving the same bytes.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

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
                        let t = Instant::now();
                        let (status, answer) = conn
                            .request(
                                "POST",
                                &format!("{}/", paths::INGEST),
                                &[("Content-Type", "application/json")],
                                body.as_bytes(),
                            )
                            .map_err(|e| format!("ingest batch {i}: {e}"))?;
                        if status != 200 {
                            return Err(format!(
                                "ingest batch {i}: HTTP {status}: {}",
                                String::from_utf8_lossy(&answer)
                            ));
                        }
                        acks.push((
                            t.elapsed().as_secs_f64() * 1000.0,
                            started.elapsed().as_secs_f64(),
                        ));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("ingest sender panicked".into()))
            })
            .collect()
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
    pub p99_ms: f64,
}

/// Reads `Requests/sec:` and the `99%` line of `wrk --latency`.
pub fn parse_wrk(out: &str) -> Option<WrkRun> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let p99 = out.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next()? == "99%").then(|| w.next()).flatten()
    })?;
    let (number, factor) = if let Some(v) = p99.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = p99.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = p99.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    Some(WrkRun {
        requests_per_s: rps,
        p99_ms: number.parse::<f64>().ok()? * factor,
    })
}

pub const WRK_CONNECTIONS: u32 = 32;
pub const WRK_THREADS: u32 = 2;

/// One wrk run against `url`, checking that no request failed.
pub fn wrk(url: &str, seconds: u32) -> Result<WrkRun> {
    let out = Command::new("wrk")
        .args([
            &format!("-t{WRK_THREADS}"),
            &format!("-c{WRK_CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let out = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n  Latency Distribution\n     50%  210.00us\n     75%  300.00us\n     90%    1.10ms\n     99%    4.52ms\n  100 requests in 10.00s, 2.00MB read\nRequests/sec:  12345.67\nTransfer/sec:      1.00MB\n";
        let r = parse_wrk(out).expect("parsed");
        assert_eq!(r.requests_per_s, 12345.67);
        assert!((r.p99_ms - 4.52).abs() < 1e-9);
        let us = out.replace("4.52ms", "870.00us");
        assert!((parse_wrk(&us).expect("parsed").p99_ms - 0.87).abs() < 1e-9);
        assert!(parse_wrk("nothing").is_none());
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
