//! Writes `days` of history ending now into `<data-dir>/vigie.db`, in the
//! shape a server that ran that long leaves: `targets` HTTP targets probed
//! every 5 s (answering at `url`), this host sampled every second, and one
//! ingested request every 20 s for each of `targets` services (two endpoints
//! each). It goes through the store's own insert and maintenance, so what is
//! older than a day is folded into per-minute rollups as the server would
//! have folded it.
//!
//! `cargo xtask bench` uses it to time a 31-day report over 20 targets: no
//! API backdates probes or host samples, and a month of real waiting is not a
//! benchmark. The values are deterministic (a hash of the time and the
//! series), with daily cycles, a slow memory climb, one error in a hundred
//! requests, and each target down for two minutes once a week.
//!
//! ```text
//! cargo run --example seed_history -- <data-dir> <days> <targets> <url>
//! ```

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use vigie_api::{HostSample, Outcome, ProbeMethod, ProbeResult, TargetKind, TargetSpec};
use vigie_server::ingest::store::StoredRequest;
use vigie_server::store::{Batch, Store};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const PROBE_EVERY_MS: i64 = 5_000;
const SAMPLE_EVERY_MS: i64 = 1_000;
const REQUEST_EVERY_MS: i64 = 20_000;
/// What the server keeps raw (its default `VIGIE_RAW_RETENTION_HOURS`).
const RAW_MS: i64 = DAY_MS;

/// A number in [0, 1) from `(a, b)`: splitmix64.
fn unit(a: i64, b: i64) -> f64 {
    let mut z = (a as u64)
        .wrapping_mul(31)
        .wrapping_add(b as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// 0 at midnight and noon, 1 at 6 a.m. and 6 p.m.: a daily cycle.
fn daily(ts_ms: i64) -> f64 {
    let phase = (ts_ms % DAY_MS) as f64 / DAY_MS as f64;
    (phase * std::f64::consts::TAU).sin().abs()
}

fn probe(target_id: i64, index: i64, ts_ms: i64, start_ms: i64) -> ProbeResult {
    // Two minutes down once a week, at a time of its own.
    let week = (ts_ms - start_ms) / (7 * DAY_MS);
    let down_at =
        start_ms + week * 7 * DAY_MS + (unit(target_id, week) * 6.0 * DAY_MS as f64) as i64;
    if (down_at..down_at + 120_000).contains(&ts_ms) {
        return ProbeResult {
            target_id,
            ts_ms,
            outcome: Outcome::Refused,
            latency_ms: None,
            status: None,
        };
    }
    let latency = 8.0 + 2.0 * index as f64 + 30.0 * daily(ts_ms) + 20.0 * unit(target_id, ts_ms);
    ProbeResult {
        target_id,
        ts_ms,
        outcome: Outcome::Ok,
        latency_ms: Some(latency),
        status: Some(200),
    }
}

fn sample(ts_ms: i64, start_ms: i64) -> HostSample {
    let climb = (ts_ms - start_ms) as f64 / (31 * DAY_MS) as f64;
    let cpu = 15.0 + 50.0 * daily(ts_ms) + 10.0 * unit(-1, ts_ms);
    let memory = 40.0 + 20.0 * climb + 3.0 * unit(-2, ts_ms);
    let rx = 20_000.0 + 200_000.0 * daily(ts_ms) * unit(-3, ts_ms);
    let tx = rx / 3.0;
    HostSample {
        ts_ms,
        cpu_usage: cpu,
        memory_usage: memory,
        disk_usage: 50.0 + 10.0 * climb,
        network_usage: (rx + tx) / 1024.0,
        memory_used_bytes: (memory / 100.0 * 16e9) as u64,
        disk_used_bytes: ((50.0 + 10.0 * climb) / 100.0 * 500e9) as u64,
        network_rx_bytes_per_s: rx,
        network_tx_bytes_per_s: tx,
    }
}

fn request(service: i64, ts_ms: i64) -> StoredRequest {
    let u = unit(service + 1000, ts_ms);
    let second = (ts_ms / REQUEST_EVERY_MS) % 2 == 1;
    StoredRequest {
        ts_ms,
        service: format!("svc-{service:02}"),
        endpoint: if second {
            "/api/items/{id}"
        } else {
            "/api/items"
        }
        .into(),
        method: if second { "GET" } else { "POST" }.into(),
        status: if u < 0.01 { 500 } else { 200 },
        duration_ms: 5.0 + 120.0 * u + 40.0 * daily(ts_ms),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, days, targets, url] = args.as_slice() else {
        eprintln!("usage: seed_history <data-dir> <days> <targets> <url>");
        std::process::exit(2);
    };
    let (Ok(days), Ok(targets)) = (days.parse::<i64>(), targets.parse::<i64>()) else {
        eprintln!("seed_history: <days> and <targets> are whole numbers");
        std::process::exit(2);
    };
    if let Err(e) = seed(PathBuf::from(dir), days, targets, url) {
        eprintln!("seed_history: {e}");
        std::process::exit(1);
    }
}

fn seed(dir: PathBuf, days: i64, targets: i64, url: &str) -> Result<(), String> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let store = Store::open(&dir.join("vigie.db")).map_err(|e| e.to_string())?;
    if !store.targets().map_err(|e| e.to_string())?.is_empty() {
        return Err(format!(
            "{}: the database already has targets",
            dir.display()
        ));
    }
    let ids = (0..targets)
        .map(|i| {
            store.insert_target(&TargetSpec {
                name: format!("target-{i:02}"),
                url: url.to_owned(),
                kind: TargetKind::Http,
                method: ProbeMethod::Get,
                expected_status: 200,
                interval_ms: PROBE_EVERY_MS as u64,
                timeout_ms: 3000,
                enabled: true,
            })
        })
        .collect::<Result<Vec<i64>, _>>()
        .map_err(|e| e.to_string())?;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    // Whole hours, ending at the last full second before now.
    let end = now - now % SAMPLE_EVERY_MS;
    let start = end - days * DAY_MS;
    let started = Instant::now();
    let (mut probes, mut samples, mut requests) = (0usize, 0usize, 0usize);
    let mut hour = start;
    while hour < end {
        let until = (hour + HOUR_MS).min(end);
        let mut batch = Batch::default();
        for (index, &id) in ids.iter().enumerate() {
            // Each target probed at its own offset in the interval.
            let offset = index as i64 * PROBE_EVERY_MS / targets.max(1);
            let mut ts = hour + offset;
            while ts < until {
                batch.probes.push(probe(id, index as i64, ts, start));
                ts += PROBE_EVERY_MS;
            }
            let mut ts = hour + index as i64 * 1000;
            while ts < until {
                batch.requests.push(request(index as i64, ts));
                ts += REQUEST_EVERY_MS;
            }
        }
        let mut ts = hour;
        while ts < until {
            batch.hosts.push(sample(ts, start));
            ts += SAMPLE_EVERY_MS;
        }
        batch.requests.sort_by_key(|r| r.ts_ms);
        probes += batch.probes.len();
        samples += batch.hosts.len();
        requests += batch.requests.len();
        store.insert_batch(&batch).map_err(|e| e.to_string())?;
        hour = until;
        // Fold each day as the server's maintenance would have, so that the
        // raw tables never hold more than a day and a bit.
        if (hour - start) % DAY_MS == 0 || hour == end {
            store
                .maintain(hour.min(end - RAW_MS), start - DAY_MS, 0)
                .map_err(|e| e.to_string())?;
        }
    }
    println!(
        "{probes} probes, {samples} host samples, {requests} requests over {days} d in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
