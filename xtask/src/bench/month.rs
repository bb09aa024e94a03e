//! A month's report: `days` of history for 20 targets written by the
//! server's `seed_history` example (the store's own inserts and folds), a
//! server started on it with monitoring running (the 20 targets probed
//! live, this host sampled every second), then `POST generate-report/` over
//! the whole period, timed until `succeeded`, while a stream client records
//! every live sample: a tick that skipped shows as a gap between two
//! samples' times.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigie_api::{ReportContent, ReportInfo, ReportStatus, paths};

use super::stats::Stats;
use crate::cmd::Result;
use crate::serve::{Connection, free_port, start_vigie_on};

pub const TARGETS: usize = 20;
const DAY_MS: i64 = 86_400_000;
/// The servers' default sampling interval.
pub const SAMPLE_MS: i64 = 1000;
/// Probes a target makes in a day at the seed's 5 s interval.
const PROBES_A_DAY: u64 = 17_280;

#[derive(Debug)]
pub struct MonthReport {
    pub days: i64,
    /// Seconds `seed_history` took, and what it wrote.
    pub seed_s: f64,
    pub seeded: String,
    pub db_bytes: u64,
    /// `POST` to `succeeded`, as the client saw it, ms.
    pub generate_ms: Stats,
    /// Sizes of the last report's files: html, csv, json.
    pub files: Vec<(String, u64)>,
    /// Live samples received while reports were generated.
    pub samples: usize,
    /// The longest time between two consecutive samples' timestamps while a
    /// report was generated, ms (the interval is [`SAMPLE_MS`]).
    pub max_gap_ms: i64,
    /// The longest time from a sample's timestamp to its arrival, ms.
    pub max_delay_ms: i64,
}

fn now_ms() -> i64 {
    super::now_ms()
}

/// Live samples as the stream delivers them: `(ts_ms, received at, Unix ms)`.
type Samples = Arc<Mutex<Vec<(i64, i64)>>>;

/// Follows `GET stream/` on a thread of its own until `stop`.
fn follow_samples(
    port: u16,
    stop: Arc<AtomicBool>,
) -> Result<(Samples, std::thread::JoinHandle<()>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("stream: {e}"))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n",
        paths::STREAM
    )
    .map_err(|e| format!("stream: {e}"))?;
    let samples: Samples = Arc::default();
    let seen = samples.clone();
    let handle = std::thread::spawn(move || {
        let mut reader = BufReader::new(s);
        let mut line = Vec::new();
        let mut event = String::new();
        while !stop.load(Ordering::Relaxed) {
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {}
                // The read timeout, to look at `stop` again: what was read
                // of the line stays in `line`.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            }
            if !line.ends_with(b"\n") {
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let l = text.trim_end();
            if let Some(name) = l.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = l.strip_prefix("data:")
                && event == vigie_api::SAMPLE_EVENT
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim())
                && let Some(ts) = v["ts_ms"].as_i64()
                && let Ok(mut seen) = seen.lock()
            {
                seen.push((ts, now_ms()));
            }
            line.clear();
        }
    });
    Ok((samples, handle))
}

/// Seeds `days` of history, starts `server_bin` on it and times `rounds`
/// reports over the whole period; the data directory is deleted afterwards.
pub fn run(
    server_bin: &Path,
    profile: &str,
    dist: &Path,
    env: &[(&str, &str)],
    days: i64,
    rounds: usize,
) -> Result<MonthReport> {
    let seeder = crate::dist::build_server_example(profile, "seed_history")?;
    let data = super::load::bench_dir().join("month");
    let _ = std::fs::remove_dir_all(&data);
    let port = free_port()?;
    // The targets are this server's own readiness page: probed for real.
    let url = format!("http://127.0.0.1:{port}{}", paths::READYZ);
    let started = Instant::now();
    let out = Command::new(&seeder)
        .args([
            &data.display().to_string(),
            &days.to_string(),
            &TARGETS.to_string(),
            &url,
        ])
        .output()
        .map_err(|e| format!("{}: {e}", seeder.display()))?;
    if !out.status.success() {
        return Err(format!(
            "seed_history failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let seed_s = started.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(data.join("vigie.db")).map_or(0, |m| m.len());

    // Kept longer than the report's period, so that nothing expires.
    let retention = ((days + 2) * 24).to_string();
    let mut server_env = env.to_vec();
    server_env.extend([
        ("VIGIE_RETENTION_HOURS", retention.as_str()),
        ("VIGIE_DEFAULT_TARGET", "false"),
    ]);
    let server = start_vigie_on(server_bin, port, &data, dist, &server_env);
    let measured = server.and_then(|_server| measure(port, days, rounds));
    let _ = std::fs::remove_dir_all(&data);
    let (generate_ms, files, samples, max_gap_ms, max_delay_ms) = measured?;
    Ok(MonthReport {
        days,
        seed_s,
        seeded: out.trim().to_owned(),
        db_bytes,
        generate_ms,
        files,
        samples,
        max_gap_ms,
        max_delay_ms,
    })
}

type Measured = (Stats, Vec<(String, u64)>, usize, i64, i64);

fn measure(port: u16, days: i64, rounds: usize) -> Result<Measured> {
    let stop = Arc::new(AtomicBool::new(false));
    let (samples, follower) = follow_samples(port, stop.clone())?;
    let result = generate(port, days, rounds, &samples);
    stop.store(true, Ordering::Relaxed);
    let _ = follower.join();
    result
}

fn json<T: serde::de::DeserializeOwned>(what: &str, status: u16, body: &[u8]) -> Result<T> {
    if !(200..300).contains(&status) {
        return Err(format!(
            "{what}: HTTP {status}: {:.300}",
            String::from_utf8_lossy(body)
        ));
    }
    serde_json::from_slice(body).map_err(|e| format!("{what}: {e}"))
}

fn generate(port: u16, days: i64, rounds: usize, samples: &Samples) -> Result<Measured> {
    let mut conn = Connection::open(port).map_err(|e| format!("connection: {e}"))?;
    let count = || samples.lock().map_or(0, |s| s.len());
    // The stream is live: two samples have arrived.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count() < 2 {
        if Instant::now() > deadline {
            return Err("no live sample on the stream within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (mut times, mut windows, mut last) = (Vec::new(), Vec::new(), None);
    for _ in 0..rounds {
        let to = now_ms();
        let body = format!("{{\"from\":{},\"to\":{to}}}", to - days * DAY_MS);
        let posted = Instant::now();
        let posted_ms = now_ms();
        let (status, answer) = conn
            .request(
                "POST",
                paths::GENERATE_REPORT,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            )
            .map_err(|e| format!("POST generate-report: {e}"))?;
        let info: ReportInfo = json("POST generate-report", status, &answer)?;
        let path = format!("{}/{}", paths::REPORTS, info.id);
        let done = loop {
            let (status, answer) = conn
                .request("GET", &path, &[], &[])
                .map_err(|e| format!("GET {path}: {e}"))?;
            let info: ReportInfo = json(&path, status, &answer)?;
            match info.status {
                ReportStatus::Succeeded => break info,
                ReportStatus::Queued | ReportStatus::Running => {}
                other => {
                    return Err(format!(
                        "report {} ended {}: {:?}",
                        info.id,
                        other.as_str(),
                        info.error
                    ));
                }
            }
            if posted.elapsed() > Duration::from_secs(300) {
                return Err(format!("report {} not done within 300 s", info.id));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        times.push(posted.elapsed().as_secs_f64() * 1000.0);
        windows.push((posted_ms, now_ms()));
        last = Some(done);
    }
    let last = last.ok_or("no report")?;
    // The report covers the month: every target's probes of every day.
    let path = format!("{}/{}/download?format=json", paths::REPORTS, last.id);
    let (status, answer) = conn
        .request("GET", &path, &[], &[])
        .map_err(|e| format!("GET {path}: {e}"))?;
    let content: ReportContent = json(&path, status, &answer)?;
    let probes: Vec<u64> = content
        .kpis
        .iter()
        .filter(|k| k.target_id.is_some())
        .map(|k| k.count)
        .collect();
    let expected = days as u64 * PROBES_A_DAY;
    if probes.len() != TARGETS || probes.iter().any(|&n| (n as f64) < expected as f64 * 0.99) {
        return Err(format!(
            "the report's targets counted {probes:?} probes; {TARGETS} targets of about {expected} expected"
        ));
    }
    // One more sample after the last window, so that a gap at its end shows.
    let after = windows.last().map_or(0, |w| w.1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples
        .lock()
        .map_or(true, |s| s.last().is_none_or(|l| l.0 <= after))
    {
        if Instant::now() > deadline {
            return Err("no live sample after the last report".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = samples.lock().map_err(|_| "samples")?.clone();
    let (mut n, mut gap, mut delay) = (0, 0, 0);
    for (from, to) in windows {
        // The samples of the window, and the one on each side.
        let first = seen.iter().rposition(|s| s.0 < from).unwrap_or(0);
        let last = seen.iter().position(|s| s.0 > to).unwrap_or(seen.len() - 1);
        let inside = &seen[first..=last];
        n += inside.len().saturating_sub(2);
        for pair in inside.windows(2) {
            gap = gap.max(pair[1].0 - pair[0].0);
        }
        for s in inside {
            delay = delay.max(s.1 - s.0);
        }
    }
    let files = last
        .files
        .iter()
        .map(|f| (f.format.as_str().to_owned(), f.bytes))
        .collect();
    Ok((Stats::of(&times).ok_or("no timing")?, files, n, gap, delay))
}
