//! The figures of measurements over a range, whatever asks for them: the
//! API's `metrics/` and `endpoints/`, the alert evaluator, and the reports
//! and scaling decisions to come. Nothing here knows HTTP: queries come in
//! as [`RangeQuery`] and [`Scope`], answers go out as the contract's types,
//! and the one error is [`MeasureError`].
//!
//! Ingested requests are read from raw rows (exact percentiles) for a range
//! of at most [`RAW_REQUESTS_MAX_MS`] inside the raw window, from their
//! per-minute rollups otherwise ([`request_plan`]); either way the rows are
//! streamed into the accumulators, so time and memory are bounded by an
//! hour of raw rows or by one row per minute and key, whatever the range.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use vigie_api::{
    EndpointStats, MetricsPoint, MetricsResponse, Outcome, PerformanceMetrics, ProbeResult, Source,
};

use crate::rollup::{ProbeAggregate, ROLLUP_MS, is_server_error, minute_of};
use crate::scrape::histogram::{HistogramDelta, merge_buckets, quantile};
use crate::store::{RequestFilter, RequestRollupRow, Store, StoreError};

/// Why figures could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("no target with id {0}")]
    UnknownTarget(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest range of requests answered from raw rows, exactly. A longer one,
/// or one beginning before the raw window, is answered from the per-minute
/// rollups (percentiles within 2 %): no read of requests covers more than
/// an hour of raw rows (plus two partial minutes), whatever its range.
pub const RAW_REQUESTS_MAX_MS: i64 = 3_600_000;

/// A validated query: `[from_ms, to_ms]`, optional target, point budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub target: Option<i64>,
    pub points: u32,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One measurement, whatever its source: when, whether it failed, and its
/// latency when that counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub ts_ms: i64,
    pub error: bool,
    pub latency_ms: Option<f64>,
}

impl From<&ProbeResult> for Measure {
    /// A failed probe has no latency: it never enters response times.
    fn from(r: &ProbeResult) -> Self {
        let ok = r.outcome == Outcome::Ok;
        Measure {
            ts_ms: r.ts_ms,
            error: !ok,
            latency_ms: r.latency_ms.filter(|_| ok),
        }
    }
}

impl Measure {
    /// A request was answered, whatever its status: its duration counts; a
    /// 5xx answer is an error (a 4xx is the client's).
    pub fn request(ts_ms: i64, status: u16, duration_ms: f64) -> Measure {
        Measure {
            ts_ms,
            error: is_server_error(status),
            latency_ms: Some(duration_ms),
        }
    }
}

/// Measurements being summed up. While only raw results went in, the exact
/// latencies are kept and percentiles are exact; once a rollup joins, they
/// come from the merged histogram (within 2 %).
#[derive(Debug, Clone)]
struct Acc {
    agg: ProbeAggregate,
    exact: Option<Vec<f64>>,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            agg: ProbeAggregate::default(),
            exact: Some(Vec::new()),
        }
    }
}

impl Acc {
    fn add(&mut self, m: Measure) {
        self.agg.record(m.error, m.latency_ms);
        if let (Some(v), Some(ms)) = (&mut self.exact, m.latency_ms) {
            v.push(ms);
        }
    }

    fn add_rollup(&mut self, a: &ProbeAggregate) {
        self.agg.merge(a);
        self.exact = None;
    }

    /// A stored rollup, its histogram still encoded.
    fn add_stored(&mut self, r: &RequestRollupRow<'_>) {
        self.agg.merge_encoded(&r.figures, r.hist);
        self.exact = None;
    }

    fn percentiles<const N: usize>(&mut self, ps: [f64; N]) -> [Option<f64>; N] {
        match &mut self.exact {
            Some(v) => {
                v.sort_by(f64::total_cmp);
                ps.map(|p| percentile(v, p))
            }
            None => ps.map(|p| self.agg.percentile(p)),
        }
    }
}

/// The figures of raw measurements and per-minute rollups over `span_ms`.
pub fn summarise(
    measures: impl IntoIterator<Item = Measure>,
    rollups: &[ProbeAggregate],
    span_ms: i64,
) -> PerformanceMetrics {
    let mut acc = Acc::default();
    measures.into_iter().for_each(|m| acc.add(m));
    rollups.iter().for_each(|a| acc.add_rollup(a));
    figures(&mut acc, span_ms)
}

fn figures(acc: &mut Acc, span_ms: i64) -> PerformanceMetrics {
    let [p50, p95, p99] = acc.percentiles([50.0, 95.0, 99.0]);
    let a = &acc.agg;
    let pct = |n: u64| (a.count > 0).then(|| n as f64 * 100.0 / a.count as f64);
    PerformanceMetrics {
        avg_response_time: a.avg(),
        total_requests: a.count,
        error_rate: pct(a.errors),
        throughput: (a.count > 0 && span_ms > 0).then(|| a.count as f64 * 1000.0 / span_ms as f64),
        availability: pct(a.count - a.errors),
        p50,
        p95,
        p99,
    }
}

/// Width of the buckets that cut `[from, to]` into at most `points`, in whole seconds.
pub fn bucket_ms(from_ms: i64, to_ms: i64, points: u32) -> i64 {
    let span = to_ms.saturating_sub(from_ms).max(1) as u64;
    let raw = span.div_ceil(u64::from(points.max(1)));
    (raw.div_ceil(1000).max(1) * 1000) as i64
}

/// One point per non-empty bucket of raw measurements and rollups (a rollup
/// counts in the bucket its minute starts in).
pub fn series(
    measures: impl IntoIterator<Item = Measure>,
    rollups: &[(i64, ProbeAggregate)],
    from_ms: i64,
    bucket: i64,
) -> Vec<MetricsPoint> {
    let index = |ts: i64| (ts - from_ms).div_euclid(bucket);
    let mut buckets: BTreeMap<i64, Acc> = BTreeMap::new();
    for m in measures {
        buckets.entry(index(m.ts_ms)).or_default().add(m);
    }
    for (ts, a) in rollups {
        buckets.entry(index(*ts)).or_default().add_rollup(a);
    }
    points(buckets, from_ms, bucket)
}

fn points(buckets: BTreeMap<i64, Acc>, from_ms: i64, bucket: i64) -> Vec<MetricsPoint> {
    buckets
        .into_iter()
        .map(|(i, mut acc)| {
            let [p95, p99] = acc.percentiles([95.0, 99.0]);
            MetricsPoint {
                ts_ms: from_ms + i * bucket,
                count: acc.agg.count,
                errors: acc.agg.errors,
                avg: acc.agg.avg(),
                min: acc.agg.lat_min,
                max: acc.agg.lat_max,
                p95,
                p99,
            }
        })
        .collect()
}

/// Where a range of ingested requests is read from: rollups of whole
/// minutes, raw rows for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestPlan {
    /// Rollups whose minute starts in `[.0, .1]`.
    pub rollups: Option<(i64, i64)>,
    /// Raw rows in `[.0, .1]`: the whole range, or the partial minutes at
    /// its ends.
    pub raw: Vec<(i64, i64)>,
}

/// How `[from_ms, to_ms]` of requests is read, raw rows existing from
/// `raw_start_ms` on. A range of at most [`RAW_REQUESTS_MAX_MS`] inside the
/// raw window: raw rows, exact. Otherwise the rollups of the whole minutes
/// inside the range, and raw rows for the partial minutes at its ends while
/// the raw window holds them; past it, a partial minute counts when it
/// starts in the range (as probe rollups do): a partial first minute is left
/// out, a partial last one is taken whole. Raw rows and rollups never cover
/// the same instant, though both are stored for recent minutes.
pub fn request_plan(from_ms: i64, to_ms: i64, raw_start_ms: i64) -> RequestPlan {
    let raw_ok = |ts: i64| ts >= raw_start_ms;
    if to_ms.saturating_sub(from_ms) <= RAW_REQUESTS_MAX_MS && raw_ok(from_ms) {
        return RequestPlan {
            rollups: None,
            raw: vec![(from_ms, to_ms)],
        };
    }
    let mut plan = RequestPlan::default();
    // Start of the first whole minute, end of the last one.
    let floor = minute_of(from_ms);
    let first = if floor < from_ms {
        floor.saturating_add(ROLLUP_MS)
    } else {
        floor
    };
    let end = minute_of(to_ms.saturating_add(1));
    if first > end {
        // No minute starts inside: the range lies within one minute.
        if raw_ok(from_ms) {
            plan.raw.push((from_ms, to_ms));
        }
        return plan;
    }
    if from_ms < first && raw_ok(from_ms) {
        plan.raw.push((from_ms, first - 1));
    }
    let mut last = end.saturating_sub(ROLLUP_MS);
    if end <= to_ms {
        if raw_ok(end) {
            plan.raw.push((end, to_ms));
        } else {
            last = end;
        }
    }
    if first <= last {
        plan.rollups = Some((first, last));
    }
    plan
}

/// A range of requests being summed up: the whole of it and its buckets,
/// row by row as the store reads them.
#[derive(Debug)]
struct RequestSums {
    from_ms: i64,
    bucket: i64,
    /// Raw measures only: the exact figures while no rollup joins.
    total: Acc,
    buckets: BTreeMap<i64, Acc>,
    rolled: bool,
}

impl RequestSums {
    fn new(from_ms: i64, bucket: i64) -> RequestSums {
        RequestSums {
            from_ms,
            bucket,
            total: Acc::default(),
            buckets: BTreeMap::new(),
            rolled: false,
        }
    }

    fn bucket(&mut self, ts_ms: i64) -> &mut Acc {
        let i = (ts_ms - self.from_ms).div_euclid(self.bucket);
        self.buckets.entry(i).or_default()
    }

    fn add(&mut self, m: Measure) {
        self.total.add(m);
        self.bucket(m.ts_ms).add(m);
    }

    /// A rollup goes into its bucket only; the total is then the buckets'
    /// merge (one histogram merge per row, not two).
    fn add_stored(&mut self, r: &RequestRollupRow<'_>) {
        self.bucket(r.ts_ms).add_stored(r);
        self.rolled = true;
    }

    fn finish(self, span_ms: i64) -> (PerformanceMetrics, Vec<MetricsPoint>) {
        let mut total = if self.rolled {
            let mut all = Acc {
                agg: ProbeAggregate::default(),
                exact: None,
            };
            self.buckets.values().for_each(|b| all.agg.merge(&b.agg));
            all
        } else {
            self.total
        };
        (
            figures(&mut total, span_ms),
            points(self.buckets, self.from_ms, self.bucket),
        )
    }
}

/// The ingested requests being summed up per service, method and endpoint,
/// row by row: a row of a known group costs a lookup, no allocation.
#[derive(Debug, Default)]
struct EndpointSums {
    /// Group of a key: its place in `groups`.
    index: HashMap<String, usize>,
    /// `(service, method, endpoint)` and its sums.
    groups: Vec<((String, String, String), Acc)>,
    /// The lookup key being built (reused from row to row).
    key: String,
}

impl EndpointSums {
    fn group(&mut self, service: &str, method: &str, endpoint: &str) -> &mut Acc {
        self.key.clear();
        // Length-prefixed parts: no name can pass for two others.
        let _ = write!(
            self.key,
            "{}:{service}{}:{method}{}:{endpoint}",
            service.len(),
            method.len(),
            endpoint.len()
        );
        let i = match self.index.get(self.key.as_str()) {
            Some(i) => *i,
            None => {
                let names = (service.to_owned(), method.to_owned(), endpoint.to_owned());
                self.groups.push((names, Acc::default()));
                self.index.insert(self.key.clone(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    /// One line per group, by service, method and endpoint.
    fn stats(mut self) -> Vec<EndpointStats> {
        self.groups.sort_by(|a, b| a.0.cmp(&b.0));
        self.groups
            .into_iter()
            .map(|((service, method, endpoint), mut acc)| {
                let [p50, p95, p99] = acc.percentiles([50.0, 95.0, 99.0]);
                let a = &acc.agg;
                EndpointStats {
                    service,
                    method,
                    endpoint,
                    count: a.count,
                    error_rate: a.errors as f64 * 100.0 / a.count.max(1) as f64,
                    avg_response_time: a.avg().unwrap_or(0.0),
                    p50: p50.unwrap_or(0.0),
                    p95: p95.unwrap_or(0.0),
                    p99: p99.unwrap_or(0.0),
                }
            })
            .collect()
    }
}

/// What `metrics/` summarises: the probes (of one target or all), or the
/// ingested requests (of one service and endpoint, or all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Probes {
        target: Option<i64>,
    },
    Requests {
        service: Option<String>,
        endpoint: Option<String>,
    },
    /// The request-duration histograms scraped from a Prometheus target,
    /// optionally of one route.
    Scraped {
        target: i64,
        endpoint: Option<String>,
    },
}

/// The figures and series of `scope` over `q`; raw requests are kept from
/// `raw_start_ms` on.
pub async fn summary(
    store: &Store,
    raw_start_ms: i64,
    q: RangeQuery,
    scope: Scope,
) -> Result<MetricsResponse, MeasureError> {
    let bucket = bucket_ms(q.from_ms, q.to_ms, q.points);
    let span = q.to_ms - q.from_ms;
    let (performance_metrics, series) = match scope.clone() {
        Scope::Probes { target } => {
            if let Some(id) = target
                && store.call(move |s| s.target(id)).await?.is_none()
            {
                return Err(MeasureError::UnknownTarget(id));
            }
            let (results, rollups) = store
                .call(move |s| {
                    Ok((
                        s.probe_results_between(q.from_ms, q.to_ms, target)?,
                        s.probe_rollups_between(q.from_ms, q.to_ms, target)?,
                    ))
                })
                .await?;
            let by_minute: Vec<(i64, ProbeAggregate)> =
                rollups.into_iter().map(|(_, ts, a)| (ts, a)).collect();
            let aggregates: Vec<ProbeAggregate> =
                by_minute.iter().map(|(_, a)| a.clone()).collect();
            let measures = || results.iter().map(Measure::from);
            (
                summarise(measures(), &aggregates, span),
                series(measures(), &by_minute, q.from_ms, bucket),
            )
        }
        Scope::Scraped { target, endpoint } => {
            let deltas = store
                .call(move |s| s.scraped_between(target, q.from_ms, q.to_ms, endpoint.as_deref()))
                .await?;
            scraped_figures(&deltas, q.from_ms, span, bucket)
        }
        Scope::Requests { service, endpoint } => {
            let plan = request_plan(q.from_ms, q.to_ms, raw_start_ms);
            store
                .call(move |s| {
                    let filter = RequestFilter {
                        service: service.as_deref(),
                        endpoint: endpoint.as_deref(),
                    };
                    let mut sums = RequestSums::new(q.from_ms, bucket);
                    for (lo, hi) in plan.raw {
                        s.for_each_request_measure(filter, lo, hi, |ts, status, ms| {
                            sums.add(Measure::request(ts, status, ms));
                        })?;
                    }
                    if let Some((lo, hi)) = plan.rollups {
                        s.for_each_request_rollup(filter, lo, hi, |r| sums.add_stored(r))?;
                    }
                    Ok(sums.finish(span))
                })
                .await?
        }
    };
    let (source, target_id, service, endpoint) = match scope {
        Scope::Probes { target } => (Source::Probes, target, None, None),
        Scope::Requests { service, endpoint } => (Source::Requests, None, service, endpoint),
        Scope::Scraped { target, endpoint } => (Source::Scrape, Some(target), None, endpoint),
    };
    Ok(MetricsResponse {
        performance_metrics,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        bucket_ms: bucket,
        source,
        target_id,
        service,
        endpoint,
        series,
    })
}

/// Scraped histogram increases being summed up.
#[derive(Debug, Clone, Default)]
struct HistAcc {
    count: f64,
    errors: f64,
    sum_seconds: f64,
    buckets: Vec<(f64, f64)>,
}

impl HistAcc {
    fn add(&mut self, d: &HistogramDelta) {
        self.count += d.count;
        if d.key.status.starts_with('5') {
            self.errors += d.count;
        }
        self.sum_seconds += d.sum_seconds;
        merge_buckets(&mut self.buckets, &d.buckets);
    }

    fn avg_ms(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum_seconds * 1000.0 / self.count)
    }

    fn quantile_ms(&self, q: f64) -> Option<f64> {
        quantile(q, &self.buckets).map(|s| s * 1000.0)
    }
}

/// Figures and series of scraped histograms: counts and sums exactly,
/// percentiles as `histogram_quantile` gives them; no min or max, which a
/// histogram does not keep.
fn scraped_figures(
    deltas: &[(i64, HistogramDelta)],
    from_ms: i64,
    span_ms: i64,
    bucket: i64,
) -> (PerformanceMetrics, Vec<MetricsPoint>) {
    let mut all = HistAcc::default();
    let mut buckets: BTreeMap<i64, HistAcc> = BTreeMap::new();
    for (ts, d) in deltas {
        all.add(d);
        buckets
            .entry((ts - from_ms).div_euclid(bucket))
            .or_default()
            .add(d);
    }
    let pct = |n: f64| (all.count > 0.0).then(|| n * 100.0 / all.count);
    let figures = PerformanceMetrics {
        avg_response_time: all.avg_ms(),
        total_requests: all.count.round() as u64,
        error_rate: pct(all.errors),
        throughput: (all.count > 0.0 && span_ms > 0).then(|| all.count * 1000.0 / span_ms as f64),
        availability: pct(all.count - all.errors),
        p50: all.quantile_ms(0.5),
        p95: all.quantile_ms(0.95),
        p99: all.quantile_ms(0.99),
    };
    let series = buckets
        .into_iter()
        .map(|(i, acc)| MetricsPoint {
            ts_ms: from_ms + i * bucket,
            count: acc.count.round() as u64,
            errors: acc.errors.round() as u64,
            avg: acc.avg_ms(),
            min: None,
            max: None,
            p95: acc.quantile_ms(0.95),
            p99: acc.quantile_ms(0.99),
        })
        .collect();
    (figures, series)
}

/// The routes of a Prometheus target's histograms, the target's name as service.
pub async fn scraped_endpoints(
    store: &Store,
    target: i64,
    range: RangeQuery,
) -> Result<Vec<EndpointStats>, MeasureError> {
    let spec = store.call(move |s| s.target(target)).await?;
    let spec = spec.ok_or(MeasureError::UnknownTarget(target))?;
    let deltas = store
        .call(move |s| s.scraped_between(target, range.from_ms, range.to_ms, None))
        .await?;
    let mut groups: BTreeMap<(&str, &str), HistAcc> = BTreeMap::new();
    for (_, d) in &deltas {
        groups
            .entry((d.key.route.as_str(), d.key.method.as_str()))
            .or_default()
            .add(d);
    }
    Ok(groups
        .into_iter()
        .map(|((route, method), acc)| EndpointStats {
            service: spec.name.clone(),
            method: method.to_owned(),
            endpoint: route.to_owned(),
            count: acc.count.round() as u64,
            error_rate: acc.errors * 100.0 / acc.count.max(1.0),
            avg_response_time: acc.avg_ms().unwrap_or(0.0),
            p50: acc.quantile_ms(0.5).unwrap_or(0.0),
            p95: acc.quantile_ms(0.95).unwrap_or(0.0),
            p99: acc.quantile_ms(0.99).unwrap_or(0.0),
        })
        .collect())
}

/// The endpoints of the ingested requests, per service, method and endpoint,
/// from raw rows or rollups as [`request_plan`] says.
pub async fn requested_endpoints(
    store: &Store,
    raw_start_ms: i64,
    service: Option<String>,
    range: RangeQuery,
) -> Result<Vec<EndpointStats>, MeasureError> {
    let plan = request_plan(range.from_ms, range.to_ms, raw_start_ms);
    Ok(store
        .call(move |s| {
            let filter = RequestFilter {
                service: service.as_deref(),
                endpoint: None,
            };
            let mut sums = EndpointSums::default();
            for (lo, hi) in plan.raw {
                s.for_each_request(filter, lo, hi, |r| {
                    sums.group(r.service, r.method, r.endpoint)
                        .add(Measure::request(r.ts_ms, r.status, r.duration_ms));
                })?;
            }
            if let Some((lo, hi)) = plan.rollups {
                s.for_each_request_rollup(filter, lo, hi, |r| {
                    sums.group(r.service, r.method, r.endpoint).add_stored(r);
                })?;
            }
            Ok(sums.stats())
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ts_ms: i64, latency: f64) -> ProbeResult {
        ProbeResult {
            target_id: 1,
            ts_ms,
            outcome: Outcome::Ok,
            latency_ms: Some(latency),
            status: Some(200),
        }
    }
    fn failed(ts_ms: i64, outcome: Outcome) -> ProbeResult {
        ProbeResult {
            target_id: 1,
            ts_ms,
            outcome,
            latency_ms: None,
            status: None,
        }
    }

    #[test]
    fn failures_count_in_error_rate_but_never_in_latency() {
        let mut results: Vec<ProbeResult> = (1..=100).map(|i| ok(i * 1000, i as f64)).collect();
        results.push(failed(101_000, Outcome::Timeout));
        results.push(failed(102_000, Outcome::Refused));
        let m = summarise(results.iter().map(Measure::from), &[], 102_000);
        assert_eq!(m.total_requests, 102);
        assert_eq!(m.avg_response_time, Some(50.5));
        assert_eq!((m.p50, m.p95, m.p99), (Some(50.0), Some(95.0), Some(99.0)));
        let rate = m.error_rate.expect("rate");
        assert!((rate - 200.0 / 102.0).abs() < 1e-9);
        assert!((m.availability.expect("availability") + rate - 100.0).abs() < 1e-9);
        assert!((m.throughput.expect("throughput") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_measured_is_null_not_zero() {
        let m = summarise([], &[], 60_000);
        assert_eq!(m.total_requests, 0);
        assert_eq!(
            (m.avg_response_time, m.error_rate, m.p95, m.throughput),
            (None, None, None, None)
        );
    }

    #[test]
    fn series_keeps_spikes_and_gaps() {
        let mut results: Vec<ProbeResult> = (0..60).map(|i| ok(i * 1000, 10.0)).collect();
        results[30].latency_ms = Some(900.0);
        // 60 s of silence, then one more
        results.push(ok(125_000, 12.0));
        let bucket = bucket_ms(0, 130_000, 13); // 10 s buckets
        assert_eq!(bucket, 10_000);
        let s = series(results.iter().map(Measure::from), &[], 0, bucket);
        let starts: Vec<i64> = s.iter().map(|p| p.ts_ms).collect();
        assert_eq!(
            starts,
            vec![0, 10_000, 20_000, 30_000, 40_000, 50_000, 120_000],
            "the gap stays"
        );
        assert_eq!(s[3].max, Some(900.0), "the spike survives");
        assert_eq!(s[3].min, Some(10.0));
        assert_eq!(s[0].count, 10);
    }

    #[test]
    fn request_plans_read_raw_rows_for_an_hour_in_the_raw_window_and_rollups_otherwise() {
        // Now is 1_800_000_000_000 (a whole minute); the raw window is a day.
        let raw_start = 1_799_913_600_000;
        let plan = |from, to| request_plan(from, to, raw_start);
        let raw_only = |spans: &[(i64, i64)]| RequestPlan {
            rollups: None,
            raw: spans.to_vec(),
        };
        // 30 min, and exactly 1 h, inside the raw window: raw rows, exact.
        assert_eq!(
            plan(1_799_998_200_000, 1_800_000_000_000),
            raw_only(&[(1_799_998_200_000, 1_800_000_000_000)])
        );
        assert_eq!(
            plan(1_799_996_400_000, 1_800_000_000_000),
            raw_only(&[(1_799_996_400_000, 1_800_000_000_000)])
        );
        // 1 h 0 min 40 s, from 14.5 s into a minute to 34.5 s into another:
        // whole minutes from rollups, the two partial ones raw.
        assert_eq!(
            plan(1_799_996_334_500, 1_799_999_974_500),
            RequestPlan {
                rollups: Some((1_799_996_340_000, 1_799_999_880_000)),
                raw: vec![
                    (1_799_996_334_500, 1_799_996_339_999),
                    (1_799_999_940_000, 1_799_999_974_500)
                ],
            }
        );
        // Minute-aligned bounds, 2 h: no partial first minute; the last
        // instant is a minute of its own (raw).
        assert_eq!(
            plan(1_799_992_800_000, 1_800_000_000_000),
            RequestPlan {
                rollups: Some((1_799_992_800_000, 1_799_999_940_000)),
                raw: vec![(1_800_000_000_000, 1_800_000_000_000)],
            }
        );
        // A week, 30 s into a minute: the partial first minute is older than
        // the raw window and left out; the partial last one is raw.
        assert_eq!(
            plan(1_799_395_230_000, 1_800_000_030_000),
            RequestPlan {
                rollups: Some((1_799_395_260_000, 1_799_999_940_000)),
                raw: vec![(1_800_000_000_000, 1_800_000_030_000)],
            }
        );
        // Ten minutes two days ago, 10 ms into a minute: rollups only, the
        // partial last minute taken whole (it starts in the range).
        assert_eq!(
            plan(1_799_827_200_010, 1_799_827_800_010),
            RequestPlan {
                rollups: Some((1_799_827_260_000, 1_799_827_800_000)),
                raw: vec![],
            }
        );
        // 30 s within one minute two days ago: no minute starts inside.
        assert_eq!(
            plan(1_799_827_200_010, 1_799_827_230_010),
            RequestPlan::default()
        );
        // An hour from a second before the raw window: rollups, the last
        // partial minute raw.
        assert_eq!(
            plan(1_799_913_599_000, 1_799_917_199_000),
            RequestPlan {
                rollups: Some((1_799_913_600_000, 1_799_917_080_000)),
                raw: vec![(1_799_917_140_000, 1_799_917_199_000)],
            }
        );
    }
}
