//! Aggregates that let old measurements take little room and long ranges read
//! few rows. Raw probe results and host samples are kept for the raw window,
//! then folded into one row per minute (per target): counts, sums, minima,
//! maxima, and for latencies a log-scale histogram, so that averages are
//! always sum ÷ count (never an average of averages) and percentiles of any
//! range stay within 2 % of the exact ones. Ingested requests are folded the
//! same way per service, endpoint, method and minute, but at ingest time
//! (see [`fold_requests`]), so that their rollups exist for recent minutes too.

use std::collections::BTreeMap;

use vigie_api::{HostSample, Outcome, ProbeResult, Spread};

use crate::store::StoredRequest;

/// Width of one rollup row.
pub const ROLLUP_MS: i64 = 60_000;

/// Smallest latency bucket bound, ms, and the ratio between bounds: bucket
/// `i` holds values in `(BASE·RATIO^(i-1), BASE·RATIO^i]`.
const BASE_MS: f64 = 0.01;
const RATIO: f64 = 1.04;

/// Sparse counts of latencies per log-scale bucket: the non-empty buckets,
/// by ascending index. A sorted vector rather than a map: a long range merges
/// one stored histogram per row read, and merging two sorted runs is one
/// linear walk with no allocation once the buckets seen are known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    /// `(bucket index, count)`, strictly ascending by index, no zero count.
    /// Counts are `u64` in memory (a week of merged minutes may pass `u32`);
    /// a stored minute is far below that.
    counts: Vec<(u16, u64)>,
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
        self.merge_ascending(std::iter::once((Self::index(ms), 1)));
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.merge_ascending(other.counts.iter().copied());
    }

    /// Adds the counts of an [`encode`](Self::encode)d histogram without
    /// decoding it into one first; `false` (and nothing added) for bytes it
    /// did not write.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> bool {
        if !Self::well_formed(bytes) {
            return false;
        }
        self.merge_ascending(Self::pairs(bytes));
        true
    }

    /// One walk over both runs; `other` must be strictly ascending by index.
    /// A bucket not seen yet is inserted where it belongs (rare once the
    /// usual latencies have been seen).
    fn merge_ascending(&mut self, other: impl Iterator<Item = (u16, u64)>) {
        let mut j = 0;
        for (i, n) in other {
            if n == 0 {
                continue;
            }
            while j < self.counts.len() && self.counts[j].0 < i {
                j += 1;
            }
            match self.counts.get_mut(j) {
                Some((k, count)) if *k == i => *count += n,
                _ => self.counts.insert(j, (i, n)),
            }
            j += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
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
            seen += n;
            if seen >= rank {
                return Some(Self::value(*i).clamp(min, max));
            }
        }
        Some(max)
    }

    /// Six bytes per non-empty bucket: index (u16) and count (u32),
    /// little-endian, by ascending index.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.counts.len() * 6);
        for (i, n) in &self.counts {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&u32::try_from(*n).unwrap_or(u32::MAX).to_le_bytes());
        }
        out
    }

    /// The inverse of [`encode`](Self::encode); `None` for bytes it did not write.
    pub fn decode(bytes: &[u8]) -> Option<LatencyHistogram> {
        let mut h = LatencyHistogram::default();
        h.merge_encoded(bytes).then_some(h)
    }

    fn pairs(bytes: &[u8]) -> impl Iterator<Item = (u16, u64)> + '_ {
        bytes.chunks_exact(6).map(|c| {
            (
                u16::from_le_bytes([c[0], c[1]]),
                u64::from(u32::from_le_bytes([c[2], c[3], c[4], c[5]])),
            )
        })
    }

    /// Whole pairs, indices strictly ascending: what `encode` writes.
    fn well_formed(bytes: &[u8]) -> bool {
        bytes.len().is_multiple_of(6) && {
            let mut last = None;
            Self::pairs(bytes).all(|(i, _)| {
                let ascending = last.is_none_or(|l| l < i);
                last = Some(i);
                ascending
            })
        }
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

    /// One ingested request: its duration always counts (it was answered),
    /// a 5xx answer is an error.
    pub fn add_request(&mut self, status: u16, duration_ms: f64) {
        self.record(is_server_error(status), Some(duration_ms));
    }

    /// Merges `o` whose histogram is still encoded as stored (`hist`; the
    /// one in `o` is ignored): a long range merges one row per minute and
    /// key, and decoding each into a histogram of its own would cost an
    /// allocation per row.
    pub fn merge_encoded(&mut self, o: &ProbeAggregate, hist: &[u8]) {
        self.merge_figures(o);
        self.hist.merge_encoded(hist);
    }

    pub fn merge(&mut self, o: &ProbeAggregate) {
        self.merge_figures(o);
        self.hist.merge(&o.hist);
    }

    fn merge_figures(&mut self, o: &ProbeAggregate) {
        self.count += o.count;
        self.errors += o.errors;
        self.lat_count += o.lat_count;
        self.lat_sum += o.lat_sum;
        self.lat_min = min_opt(self.lat_min, o.lat_min);
        self.lat_max = max_opt(self.lat_max, o.lat_max);
    }

    pub fn avg(&self) -> Option<f64> {
        (self.lat_count > 0).then(|| self.lat_sum / self.lat_count as f64)
    }

    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.hist.percentile(p, self.lat_min?, self.lat_max?)
    }
}

/// A request counts as failed when the server answered 5xx (a 4xx is the client's).
pub fn is_server_error(status: u16) -> bool {
    status >= 500
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

    /// The bucket's spread. A sum of n equal values divided by n can land
    /// a rounding step below or above them: the mean is kept between the
    /// minimum and the maximum it lies between.
    pub fn spread(&self, count: u64) -> Spread {
        let avg = self.sum / count.max(1) as f64;
        Spread {
            min: self.min,
            avg: if self.min <= self.max {
                avg.clamp(self.min, self.max)
            } else {
                avg
            },
            max: self.max,
        }
    }
}

#[cfg(test)]
mod spread_tests {
    use super::*;

    #[test]
    fn the_mean_of_equal_values_is_that_value_despite_rounding() {
        // Seven of this value summed, then divided by seven, come out one
        // step below it: a host bucket's mean once fell under its minimum so.
        let v = 2.7487167221203466_f64;
        let mut sums = Sums {
            min: v,
            max: v,
            sum: 0.0,
        };
        for _ in 0..7 {
            sums.sum += v;
        }
        let s = sums.spread(7);
        assert!(s.min <= s.avg && s.avg <= s.max, "{s:?}");
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

/// Key of a request rollup: service, endpoint, method, minute.
pub type RequestKey<'a> = (&'a str, &'a str, &'a str, i64);

/// Folds ingested requests into per-key, per-minute aggregates.
pub fn fold_requests(requests: &[StoredRequest]) -> BTreeMap<RequestKey<'_>, ProbeAggregate> {
    let mut out: BTreeMap<RequestKey<'_>, ProbeAggregate> = BTreeMap::new();
    for r in requests {
        let key = (
            r.service.as_str(),
            r.endpoint.as_str(),
            r.method.as_str(),
            minute_of(r.ts_ms),
        );
        out.entry(key)
            .or_default()
            .add_request(r.status, r.duration_ms);
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
    fn merging_encoded_bytes_equals_merging_the_histogram() {
        let mut a = LatencyHistogram::default();
        let mut b = LatencyHistogram::default();
        for ms in [3.0, 40.0, 40.5, 900.0] {
            a.record(ms);
        }
        // Buckets before, between, on and after a's.
        for ms in [0.2, 12.0, 40.0, 5000.0, 5000.0] {
            b.record(ms);
        }
        let mut merged = a.clone();
        merged.merge(&b);
        let mut from_bytes = a.clone();
        assert!(from_bytes.merge_encoded(&b.encode()));
        assert_eq!(from_bytes, merged);
        assert_eq!(merged.total(), 9);
        assert_eq!(
            LatencyHistogram::decode(&merged.encode()),
            Some(merged.clone())
        );
        // Indices out of order, or repeated: not bytes `encode` wrote.
        let pair = |i: u16, n: u32| [i.to_le_bytes().as_slice(), &n.to_le_bytes()].concat();
        let unordered = [pair(9, 1), pair(3, 1)].concat();
        let repeated = [pair(3, 1), pair(3, 2)].concat();
        for bytes in [unordered, repeated] {
            let mut h = a.clone();
            assert!(!h.merge_encoded(&bytes));
            assert_eq!(h, a, "nothing added");
        }
    }

    #[test]
    fn requests_fold_per_key_and_minute_and_only_5xx_are_errors() {
        let r = |ts_ms: i64, endpoint: &str, status: u16| StoredRequest {
            ts_ms,
            service: "shop".into(),
            endpoint: endpoint.into(),
            method: "GET".into(),
            status,
            duration_ms: 10.0,
        };
        let requests = [
            r(60_000, "/a", 200),
            r(119_999, "/a", 503),
            r(120_000, "/a", 404),
            r(61_000, "/b", 500),
        ];
        let folded = fold_requests(&requests);
        let counts: Vec<_> = folded
            .iter()
            .map(|((_, e, _, m), a)| (*e, *m, a.count, a.errors, a.lat_count))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("/a", 60_000, 2, 1, 2),
                ("/a", 120_000, 1, 0, 1),
                ("/b", 60_000, 1, 1, 1)
            ]
        );
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
