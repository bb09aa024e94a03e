//! A cache source's figures over a range, from its stored samples: counter
//! increases between consecutive samples (a restart counted from zero),
//! gauges from the latest sample, `PING` latency from every sample.

use vigie_api::{CachePerformance, CachePoint, CacheSourceFigures};

/// One stored sample, as the figures need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub ts_ms: i64,
    /// `Err`: why it failed; nothing else is known of it.
    pub read: Result<Read, String>,
}

/// What a sample that was read holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Read {
    pub run_id: Option<String>,
    pub latency_ms: f64,
    pub hits: u64,
    pub misses: u64,
    pub evicted: u64,
    pub expired: u64,
    pub used_memory: Option<u64>,
    pub maxmemory: Option<u64>,
    pub ops_per_sec: Option<u64>,
    pub clients: Option<u64>,
    /// Seconds since the server started, as it said.
    pub uptime_s: Option<u64>,
}

/// What the counters did from one sample to the next.
#[derive(Debug, PartialEq)]
enum Step {
    /// They grew by this much.
    Grew([u64; 4]),
    /// The server restarted (another `run_id`, started since the sample
    /// before) or its statistics were reset (a counter went back): they
    /// count from zero.
    FromZero,
    /// Another server answers (another `run_id`, up for longer than since
    /// the sample before: a changed URL, a failover): its counters are a
    /// new baseline, not lookups of this range.
    Baseline,
}

/// The step from `a` to `b`, taken `gap_ms` apart.
fn step(a: &Read, b: &Read, gap_ms: i64) -> Step {
    if a.run_id != b.run_id {
        let restarted = b
            .uptime_s
            .is_none_or(|up| (up as i128) * 1000 <= i128::from(gap_ms) + 1000);
        return if restarted {
            Step::FromZero
        } else {
            Step::Baseline
        };
    }
    let grew = || {
        Some([
            b.hits.checked_sub(a.hits)?,
            b.misses.checked_sub(a.misses)?,
            b.evicted.checked_sub(a.evicted)?,
            b.expired.checked_sub(a.expired)?,
        ])
    };
    grew().map_or(Step::FromZero, Step::Grew)
}

fn percent(hits: u64, misses: u64) -> Option<f64> {
    let lookups = hits + misses;
    (lookups > 0).then(|| hits as f64 * 100.0 / lookups as f64)
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    hits: u64,
    misses: u64,
    evicted: u64,
    latency_sum: f64,
    latency_n: u64,
    used_memory: Option<u64>,
}

/// The figures of `samples` (ordered by time) within `[from_ms, to_ms]`.
/// `before` is the last sample read before `from_ms`, with its time, if
/// any: the increase up to the range's first sample counts in the range.
pub fn figures(
    source_id: i64,
    name: &str,
    before: Option<(&Read, i64)>,
    samples: &[Sample],
    from_ms: i64,
    to_ms: i64,
    points: u32,
) -> CacheSourceFigures {
    let points = points.max(1) as usize;
    let span = (to_ms - from_ms).max(1);
    let mut buckets = vec![Bucket::default(); points];
    let bucket_of = |ts: i64| {
        (((ts - from_ms).max(0) as i128 * points as i128 / span as i128) as usize).min(points - 1)
    };
    let mut previous = before.map(|(r, ts)| (r.clone(), ts));
    let (mut total, mut restarts) = ([0_u64; 4], 0_u64);
    let (mut latency_sum, mut latency_max, mut read_n, mut failed) = (0.0, None::<f64>, 0, 0);
    let mut latest: Option<&Read> = None;
    let mut last_error = None;
    for s in samples {
        let read = match &s.read {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                last_error = Some(e.clone());
                continue;
            }
        };
        last_error = None;
        let delta = match &previous {
            Some((p, p_ts)) => match step(p, read, s.ts_ms - p_ts) {
                Step::Grew(d) => d,
                Step::FromZero => {
                    restarts += 1;
                    [read.hits, read.misses, read.evicted, read.expired]
                }
                Step::Baseline => [0; 4],
            },
            // The first sample ever: what it counts happened before Vigie watched.
            None => [0; 4],
        };
        for (t, d) in total.iter_mut().zip(delta) {
            *t += d;
        }
        let b = &mut buckets[bucket_of(s.ts_ms)];
        b.hits += delta[0];
        b.misses += delta[1];
        b.evicted += delta[2];
        b.latency_sum += read.latency_ms;
        b.latency_n += 1;
        b.used_memory = read.used_memory;
        latency_sum += read.latency_ms;
        latency_max = Some(latency_max.map_or(read.latency_ms, |m: f64| m.max(read.latency_ms)));
        read_n += 1;
        latest = Some(read);
        previous = Some((read.clone(), s.ts_ms));
    }
    let series = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.latency_n > 0)
        .map(|(i, b)| CachePoint {
            ts_ms: from_ms + (i as i128 * span as i128 / points as i128) as i64,
            hit_rate: percent(b.hits, b.misses),
            hits: b.hits,
            misses: b.misses,
            evictions: b.evicted,
            latency_ms: Some(b.latency_sum / b.latency_n as f64),
            used_memory: b.used_memory,
        })
        .collect();
    CacheSourceFigures {
        source_id,
        name: name.to_owned(),
        hit_rate: percent(total[0], total[1]),
        total_hits: total[0],
        total_misses: total[1],
        evictions: total[2],
        expired: total[3],
        avg_response_time: (read_n > 0).then(|| latency_sum / read_n as f64),
        max_response_time: latency_max,
        used_memory: latest.and_then(|r| r.used_memory),
        maxmemory: latest.and_then(|r| r.maxmemory),
        ops_per_sec: latest.and_then(|r| r.ops_per_sec),
        connected_clients: latest.and_then(|r| r.clients),
        samples: read_n,
        failed_samples: failed,
        restarts,
        last_error,
        series,
    }
}

/// The sources together: the seeds' block. Latency is the mean over every
/// sample read (each source weighs by its samples), memory the sum of each
/// source's latest.
pub fn combined(sources: &[CacheSourceFigures]) -> CachePerformance {
    if sources.is_empty() {
        return CachePerformance::unavailable();
    }
    let hits: u64 = sources.iter().map(|s| s.total_hits).sum();
    let misses: u64 = sources.iter().map(|s| s.total_misses).sum();
    let samples: u64 = sources.iter().map(|s| s.samples).sum();
    let latency: f64 = sources
        .iter()
        .filter_map(|s| s.avg_response_time.map(|a| a * s.samples as f64))
        .sum();
    let memory: Vec<u64> = sources.iter().filter_map(|s| s.used_memory).collect();
    CachePerformance {
        available: true,
        hit_rate: percent(hits, misses),
        total_hits: Some(hits),
        total_misses: Some(misses),
        avg_response_time: (samples > 0).then(|| latency / samples as f64),
        evictions: Some(sources.iter().map(|s| s.evictions).sum()),
        memory: (!memory.is_empty()).then(|| memory.iter().sum()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(run: &str, hits: u64, misses: u64, latency_ms: f64) -> Read {
        Read {
            run_id: Some(run.into()),
            latency_ms,
            hits,
            misses,
            used_memory: Some(hits * 10),
            ..Read::default()
        }
    }

    fn at(ts_ms: i64, r: Read) -> Sample {
        Sample { ts_ms, read: Ok(r) }
    }

    #[test]
    fn counts_are_increases_within_the_range_not_lifetime_totals() {
        // 1000 hits happened before the range; 30 hits and 10 misses in it.
        let before = read("a", 1000, 500, 1.0);
        let samples = [
            at(10, read("a", 1010, 505, 2.0)),
            at(20, read("a", 1030, 510, 4.0)),
        ];
        let f = figures(1, "s", Some((&before, -10)), &samples, 0, 100, 10);
        assert_eq!((f.total_hits, f.total_misses), (30, 10));
        assert_eq!(f.hit_rate, Some(75.0));
        assert_eq!(f.avg_response_time, Some(3.0));
        assert_eq!(f.max_response_time, Some(4.0));
        assert_eq!(f.used_memory, Some(10_300));
        assert_eq!(f.restarts, 0);
        assert_eq!(f.series.len(), 2);
        assert_eq!((f.series[0].ts_ms, f.series[0].hits), (10, 10));
        assert_eq!((f.series[1].ts_ms, f.series[1].misses), (20, 5));
    }

    #[test]
    fn a_restart_counts_from_zero() {
        let samples = [
            at(10, read("a", 100, 0, 1.0)),
            at(20, read("a", 140, 0, 1.0)),
            // Restarted: new run id, counters from zero.
            at(30, read("b", 7, 3, 1.0)),
            at(40, read("b", 17, 3, 1.0)),
            // CONFIG RESETSTAT: same run id, counters went back.
            at(50, read("b", 2, 0, 1.0)),
        ];
        let f = figures(1, "s", None, &samples, 0, 100, 1);
        // 40 (10→20) + 7 (restart) + 10 + 2 (reset): the first sample's 100
        // happened before anything was watched.
        assert_eq!((f.total_hits, f.total_misses), (59, 3));
        assert_eq!(f.restarts, 2);
    }

    #[test]
    fn another_server_up_for_long_is_a_new_baseline_not_a_restart() {
        let mut other = read("b", 5000, 100, 1.0);
        other.uptime_s = Some(86_400);
        let mut restarted = read("c", 3, 0, 1.0);
        restarted.uptime_s = Some(2);
        let samples = [
            at(10_000, read("a", 10, 0, 1.0)),
            at(20_000, read("a", 15, 0, 1.0)),
            // The URL now names a server up for a day: not this range's lookups.
            at(30_000, other),
            at(40_000, read("b", 5010, 100, 1.0)),
            // Then it restarts: up for 2 s, within the 10 s since the last sample.
            at(50_000, restarted),
        ];
        let f = figures(1, "s", None, &samples, 0, 100_000, 1);
        assert_eq!((f.total_hits, f.total_misses), (5 + 10 + 3, 0));
        assert_eq!(f.restarts, 1);
    }

    #[test]
    fn failures_are_counted_and_the_latest_one_is_said() {
        let samples = [
            at(10, read("a", 1, 1, 1.0)),
            Sample {
                ts_ms: 20,
                read: Err("connection refused".into()),
            },
            at(30, read("a", 5, 1, 1.0)),
            Sample {
                ts_ms: 40,
                read: Err("WRONGPASS".into()),
            },
        ];
        let f = figures(1, "s", None, &samples, 0, 100, 4);
        assert_eq!((f.samples, f.failed_samples), (2, 2));
        assert_eq!(f.last_error.as_deref(), Some("WRONGPASS"));
        // The increase across a failed sample still counts.
        assert_eq!(f.total_hits, 4);
        let empty = figures(1, "s", None, &[], 0, 100, 4);
        assert_eq!((empty.hit_rate, empty.avg_response_time), (None, None));
        assert!(empty.series.is_empty());
    }

    #[test]
    fn sources_together_weigh_by_their_counts() {
        let a = figures(
            1,
            "a",
            Some((&read("x", 0, 0, 1.0), 0)),
            &[at(10, read("x", 90, 10, 1.0))],
            0,
            100,
            1,
        );
        let b = figures(
            2,
            "b",
            Some((&read("y", 0, 0, 1.0), 0)),
            &[
                at(10, read("y", 10, 90, 3.0)),
                at(20, read("y", 10, 90, 3.0)),
            ],
            0,
            100,
            1,
        );
        let c = combined(&[a, b]);
        assert!(c.available);
        assert_eq!((c.total_hits, c.total_misses), (Some(100), Some(100)));
        assert_eq!(c.hit_rate, Some(50.0));
        // (1 + 3 + 3) / 3 samples.
        assert_eq!(c.avg_response_time, Some(7.0 / 3.0));
        assert_eq!(c.memory, Some(900 + 100));
        assert!(!combined(&[]).available);
    }
}
