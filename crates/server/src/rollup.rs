//! Aggregates that let old measurements take little room and long ranges read
//! few rows. Raw probe results and host samples are kept for the raw window,
//! then folded into one row per minute (per target): counts, sums, minima,
//! maxima, and for latencies a log-scale histogram, so that averages are
//! always sum ÷ count (never an average of averages) and percentiles of any
//! range stay within 2 % of the exact ones.

use std::collections::BTreeMap;

use vigie_api::{HostSample, Outcome, ProbeResult, Spread};

/// Width of one rollup row.
pub const ROLLUP_MS: i64 = 60_000;

/// Smallest latency bucket bound, ms, and the ratio between bounds: bucket
/// `i` holds values in `(BASE·RATIO^(i-1), BASE·RATIO^i]`.
const BASE_MS: f64 = 0.01;
const RATIO: f64 = 1.04;

/// Sparse counts of latencies per log-scale bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    counts: BTreeMap<u16, u32>,
}

impl LatencyHistogram {
    fn index(ms: f64) -> u16 {
        if ms <= BASE_MS {
            return 0;
        }
        ((ms / BASE_MS).ln() / RATIO.ln())
            .ceil()
            .clamp(0.0, f64::from(u16::MAX)) as u16
    }

    /// A representative value of bucket `i`: the geometric middle of its bounds.
    fn value(i: u16) -> f64 {
        BASE_MS * RATIO.powf(f64::from(i) - 0.5)
    }

    pub fn record(&mut self, ms: f64) {
        *self.counts.entry(Self::index(ms)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (i, n) in &other.counts {
            *self.counts.entry(*i).or_default() += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().map(|n| u64::from(*n)).sum()
    }

    /// Nearest-rank percentile `p` (0–100), clamped to `[min, max]`.
    pub fn percentile(&self, p: f64, min: f64, max: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in &self.counts {
            seen += u64::from(*n);
            if seen >= rank {
                return Some(Self::value(*i).clamp(min, max));
            }
        }
        Some(max)
    }

    /// Six bytes per non-empty bucket: index (u16) and count (u32), little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.counts.len() * 6);
        for (i, n) in &self.counts {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    /// The inverse of [`encode`](Self::encode); `None` for bytes it did not write.
    pub fn decode(bytes: &[u8]) -> Option<LatencyHistogram> {
        if !bytes.len().is_multiple_of(6) {
            return None;
        }
        let counts = bytes
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_le_bytes([c[0], c[1]]),
                    u32::from_le_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect();
        Some(LatencyHistogram { counts })
    }
}

/// Probes of one target (or of all) over some span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeAggregate {
    pub count: u64,
    pub errors: u64,
    /// Successful probes, whose latency counts.
    pub lat_count: u64,
    pub lat_sum: f64,
    pub lat_min: Option<f64>,
    pub lat_max: Option<f64>,
    pub hist: LatencyHistogram,
}

impl ProbeAggregate {
    pub fn add(&mut self, r: &ProbeResult) {
        let ok = r.outcome == Outcome::Ok;
        self.record(!ok, r.latency_ms.filter(|_| ok));
    }

    /// One measurement: whether it failed, and its latency when it counts.
    pub fn record(&mut self, error: bool, latency_ms: Option<f64>) {
        self.count += 1;
        if error {
            self.errors += 1;
        }
        if let Some(ms) = latency_ms {
            self.lat_count += 1;
            self.lat_sum += ms;
            self.lat_min = Some(self.lat_min.map_or(ms, |m| m.min(ms)));
            self.lat_max = Some(self.lat_max.map_or(ms, |m| m.max(ms)));
            self.hist.record(ms);
        }
    }

    pub fn merge(&mut self, o: &ProbeAggregate) {
        self.count += o.count;
        self.errors += o.errors;
        self.lat_count += o.lat_count;
        self.lat_sum += o.lat_sum;
        self.lat_min = min_opt(self.lat_min, o.lat_min);
        self.lat_max = max_opt(self.lat_max, o.lat_max);
        self.hist.merge(&o.hist);
    }

    pub fn avg(&self) -> Option<f64> {
        (self.lat_count > 0).then(|| self.lat_sum / self.lat_count as f64)
    }

    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.hist.percentile(p, self.lat_min?, self.lat_max?)
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Minimum, maximum and sum of one host figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sums {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
}

impl Sums {
    fn of(v: f64) -> Sums {
        Sums {
            min: v,
            max: v,
            sum: v,
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }

    pub fn spread(&self, count: u64) -> Spread {
        Spread {
            min: self.min,
            avg: self.sum / count.max(1) as f64,
            max: self.max,
        }
    }
}

/// Host samples over some span: cpu, memory, disk, network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostAggregate {
    pub count: u64,
    pub figures: [Sums; 4],
}

impl HostAggregate {
    pub fn of(s: &HostSample) -> HostAggregate {
        HostAggregate {
            count: 1,
            figures: [s.cpu_usage, s.memory_usage, s.disk_usage, s.network_usage].map(Sums::of),
        }
    }

    pub fn merge(&mut self, o: &HostAggregate) {
        self.count += o.count;
        for (a, b) in self.figures.iter_mut().zip(&o.figures) {
            a.merge(b);
        }
    }
}

/// Start of the rollup row `ts_ms` falls in.
pub fn minute_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(ROLLUP_MS) * ROLLUP_MS
}

/// Folds raw probe results into per-target, per-minute aggregates.
pub fn fold_probes(results: &[ProbeResult]) -> BTreeMap<(i64, i64), ProbeAggregate> {
    let mut out: BTreeMap<(i64, i64), ProbeAggregate> = BTreeMap::new();
    for r in results {
        out.entry((r.target_id, minute_of(r.ts_ms)))
            .or_default()
            .add(r);
    }
    out
}

/// Folds host samples into per-minute aggregates.
pub fn fold_hosts(samples: &[HostSample]) -> BTreeMap<i64, HostAggregate> {
    let mut out: BTreeMap<i64, HostAggregate> = BTreeMap::new();
    for s in samples {
        let agg = HostAggregate::of(s);
        out.entry(minute_of(s.ts_ms))
            .and_modify(|a| a.merge(&agg))
            .or_insert(agg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_round_trips_and_rejects_foreign_bytes() {
        let mut h = LatencyHistogram::default();
        for ms in [0.001, 0.5, 12.0, 12.1, 950.0, 30_000.0] {
            h.record(ms);
        }
        assert_eq!(LatencyHistogram::decode(&h.encode()), Some(h.clone()));
        assert_eq!(LatencyHistogram::decode(&[1, 2, 3]), None);
        assert_eq!(h.total(), 6);
    }

    #[test]
    fn percentiles_stay_within_two_percent_of_the_exact_ones() {
        // A long-tailed spread of latencies, 1 ms to ~3 s.
        let values: Vec<f64> = (1..=5000)
            .map(|i| 1.0 + (f64::from(i) / 700.0).exp())
            .collect();
        let mut agg = ProbeAggregate::default();
        for (i, ms) in values.iter().enumerate() {
            agg.add(&ProbeResult {
                target_id: 1,
                ts_ms: i as i64,
                outcome: Outcome::Ok,
                latency_ms: Some(*ms),
                status: Some(200),
            });
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [50.0, 95.0, 99.0] {
            let exact = sorted[((p / 100.0) * sorted.len() as f64).ceil() as usize - 1];
            let approx = agg.percentile(p).expect("some");
            assert!(
                (approx / exact - 1.0).abs() <= 0.02,
                "p{p}: {approx} vs {exact}"
            );
        }
    }

    #[test]
    fn merging_halves_equals_folding_the_whole() {
        let results: Vec<ProbeResult> = (0..240)
            .map(|i| ProbeResult {
                target_id: 1 + i % 2,
                ts_ms: i * 1000,
                outcome: if i % 7 == 0 {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                },
                latency_ms: (i % 7 != 0).then_some(10.0 + i as f64),
                status: None,
            })
            .collect();
        let whole = fold_probes(&results);
        assert_eq!(whole.len(), 8, "2 targets × 4 minutes");
        let mut merged = fold_probes(&results[..100]);
        for (k, v) in fold_probes(&results[100..]) {
            merged.entry(k).or_default().merge(&v);
        }
        assert_eq!(merged, whole);
        let all = whole.values().fold(ProbeAggregate::default(), |mut a, b| {
            a.merge(b);
            a
        });
        assert_eq!(all.count, 240);
        assert_eq!(all.errors, 35);
        let exact_avg: f64 = results.iter().filter_map(|r| r.latency_ms).sum::<f64>() / 205.0;
        assert!(
            (all.avg().expect("avg") - exact_avg).abs() < 1e-9,
            "sum ÷ count, not an average of averages"
        );
    }
}
