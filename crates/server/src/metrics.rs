//! `GET metrics/`: response times of the probes over a time range, with the
//! seed's `performance_metrics` figures, p50/p95/p99, and a series reduced on
//! the server to at most the number of points asked for. Each bucket keeps its
//! min and max so spikes survive the reduction; buckets without a probe are
//! left out, so a gap stays a gap. Also the seeds' combined object at
//! `GET /api/performance/`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Query, State};
use vigie_api::{
    CachePerformance, EndpointList, EndpointStats, MetricsPoint, MetricsResponse, Outcome,
    Overview, PerformanceMetrics, ProbeResult, Source, paths,
};

use crate::AppState;
use crate::cache::{self, JsonBytes};
use crate::error::ApiError;
use crate::rollup::ProbeAggregate;
use crate::scrape::histogram::{HistogramDelta, merge_buckets, quantile};
use crate::store::StoredRequest;

pub const DEFAULT_POINTS: u32 = 300;
pub const MAX_POINTS: u32 = 2000;
const DEFAULT_RANGE_MS: i64 = 5 * 60 * 1000;

/// A validated query: `[from_ms, to_ms]`, optional target, point budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub target: Option<i64>,
    pub points: u32,
}

/// `5m`, `15m`, `1h`, `6h`, `24h`, `7d`, and any `<n><s|m|h|d>`, in ms.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.len().checked_sub(1)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// Reads `range` or `from`/`to` (Unix ms), `target` and `points`.
pub fn parse_range(
    q: &HashMap<String, String>,
    now_ms: i64,
    retention_ms: i64,
) -> Result<RangeQuery, ApiError> {
    let int = |name: &'static str| -> Result<Option<i64>, ApiError> {
        q.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(name, format!("{name} must be an integer, got {v:?}"))
                })
            })
            .transpose()
    };
    let (from_ms, to_ms) = match q.get("range") {
        Some(r) => {
            if q.contains_key("from") || q.contains_key("to") {
                return Err(ApiError::bad_request(
                    "range",
                    "give either range or from/to",
                ));
            }
            let d = parse_duration_ms(r).ok_or_else(|| {
                ApiError::bad_request(
                    "range",
                    format!("range must look like 5m, 1h or 7d, got {r:?}"),
                )
            })?;
            (now_ms - d, now_ms)
        }
        None => {
            let to = int("to")?.unwrap_or(now_ms);
            (int("from")?.unwrap_or(to - DEFAULT_RANGE_MS), to)
        }
    };
    if from_ms >= to_ms {
        return Err(ApiError::bad_request("from", "from must be before to"));
    }
    if to_ms - from_ms > retention_ms {
        return Err(ApiError::bad_request(
            "from",
            format!(
                "the range is longer than the retention ({} h)",
                retention_ms / 3_600_000
            ),
        ));
    }
    let points = match int("points")? {
        None => DEFAULT_POINTS,
        Some(p) if (1..=i64::from(MAX_POINTS)).contains(&p) => p as u32,
        Some(_) => {
            return Err(ApiError::bad_request(
                "points",
                format!("points must be 1 to {MAX_POINTS}"),
            ));
        }
    };
    Ok(RangeQuery {
        from_ms,
        to_ms,
        target: int("target")?,
        points,
    })
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

impl From<&StoredRequest> for Measure {
    /// A request was answered, whatever its status: its duration counts; a
    /// 5xx answer is an error (a 4xx is the client's).
    fn from(r: &StoredRequest) -> Self {
        Measure {
            ts_ms: r.ts_ms,
            error: r.status >= 500,
            latency_ms: Some(r.duration_ms),
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
    let span = (to_ms - from_ms).max(1) as u64;
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

/// Reads `source` (`probes` or `requests`), and `service`/`endpoint` (which
/// imply `requests`) or `target` (probes only).
pub fn parse_scope(q: &HashMap<String, String>, target: Option<i64>) -> Result<Scope, ApiError> {
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (service, endpoint) = (text("service"), text("endpoint"));
    let source = match q.get("source").map(String::as_str) {
        None if service.is_some() || endpoint.is_some() => Source::Requests,
        None | Some("probes") => Source::Probes,
        Some("requests") => Source::Requests,
        Some("scrape") => Source::Scrape,
        Some(other) => {
            return Err(ApiError::bad_request(
                "source",
                format!("source must be probes, requests or scrape, got {other:?}"),
            ));
        }
    };
    match source {
        Source::Probes if service.is_some() || endpoint.is_some() => Err(ApiError::bad_request(
            if service.is_some() {
                "service"
            } else {
                "endpoint"
            },
            "service and endpoint filter requests, not probes",
        )),
        Source::Probes => Ok(Scope::Probes { target }),
        Source::Requests if target.is_some() => Err(ApiError::bad_request(
            "target",
            "target filters probes, not requests",
        )),
        Source::Requests => Ok(Scope::Requests { service, endpoint }),
        Source::Scrape if service.is_some() => Err(ApiError::bad_request(
            "service",
            "a scrape has routes (endpoint), not services",
        )),
        Source::Scrape => match target {
            Some(target) => Ok(Scope::Scraped { target, endpoint }),
            None => Err(ApiError::bad_request(
                "target",
                "source=scrape needs a target",
            )),
        },
    }
}

pub(crate) async fn query_metrics(
    state: &AppState,
    q: RangeQuery,
    scope: Scope,
) -> Result<MetricsResponse, ApiError> {
    let bucket = bucket_ms(q.from_ms, q.to_ms, q.points);
    let span = q.to_ms - q.from_ms;
    let (performance_metrics, series) = match scope.clone() {
        Scope::Probes { target } => {
            if let Some(id) = target
                && state.store().call(move |s| s.target(id)).await?.is_none()
            {
                return Err(ApiError::bad_request(
                    "target",
                    format!("no target with id {id}"),
                ));
            }
            let (results, rollups) = state
                .store()
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
            let deltas = state
                .store()
                .call(move |s| s.scraped_between(target, q.from_ms, q.to_ms, endpoint.as_deref()))
                .await?;
            scraped_figures(&deltas, q.from_ms, span, bucket)
        }
        Scope::Requests { service, endpoint } => {
            let requests = state
                .store()
                .call(move |s| {
                    s.requests_between(q.from_ms, q.to_ms, service.as_deref(), endpoint.as_deref())
                })
                .await?;
            let measures = || requests.iter().map(Measure::from);
            (
                summarise(measures(), &[], span),
                series(measures(), &[], q.from_ms, bucket),
            )
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

/// `GET endpoints/?range=1h&service=shop&sort=p95&limit=50`: the ingested
/// requests grouped by service, method and endpoint, worst first.
pub async fn endpoints(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<JsonBytes, ApiError> {
    let key = cache::key(paths::ENDPOINTS, &q);
    state
        .cache()
        .get_or_compute(&key, state.store().generation(), crate::now_ms(), || {
            endpoint_list(&state, &q)
        })
        .await
}

async fn endpoint_list(
    state: &AppState,
    q: &HashMap<String, String>,
) -> Result<EndpointList, ApiError> {
    let range = range_of(state, q)?;
    let scraped_from = match q.get("source").map(String::as_str) {
        Some("scrape") => Some(
            range
                .target
                .ok_or_else(|| ApiError::bad_request("target", "source=scrape needs a target"))?,
        ),
        None | Some("requests") if range.target.is_some() => {
            return Err(ApiError::bad_request(
                "target",
                "a target goes with source=scrape",
            ));
        }
        None | Some("requests") => None,
        Some(other) => {
            return Err(ApiError::bad_request(
                "source",
                format!("source must be requests or scrape, got {other:?}"),
            ));
        }
    };
    let service = q
        .get("service")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let sort = q.get("sort").map_or("p95", String::as_str);
    if !matches!(sort, "p95" | "error_rate" | "count") {
        return Err(ApiError::bad_request(
            "sort",
            "sort must be p95, error_rate or count",
        ));
    }
    let limit = match q.get("limit").map(|v| v.trim().parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return Err(ApiError::bad_request("limit", "limit must be 1 to 1000")),
    };
    let mut endpoints = match scraped_from {
        Some(target) => scraped_endpoints(state, target, range).await?,
        None => requested_endpoints(state, service, range).await?,
    };
    let key = |e: &EndpointStats| match sort {
        "error_rate" => e.error_rate,
        "count" => e.count as f64,
        _ => e.p95,
    };
    endpoints.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| b.count.cmp(&a.count))
    });
    endpoints.truncate(limit);
    Ok(EndpointList {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        endpoints,
    })
}

/// The routes of a Prometheus target's histograms, the target's name as service.
async fn scraped_endpoints(
    state: &AppState,
    target: i64,
    range: RangeQuery,
) -> Result<Vec<EndpointStats>, ApiError> {
    let spec = state.store().call(move |s| s.target(target)).await?;
    let spec =
        spec.ok_or_else(|| ApiError::bad_request("target", format!("no target with id {target}")))?;
    let deltas = state
        .store()
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

/// The endpoints of the ingested requests, per service, method and endpoint.
async fn requested_endpoints(
    state: &AppState,
    service: Option<String>,
    range: RangeQuery,
) -> Result<Vec<EndpointStats>, ApiError> {
    let requests = state
        .store()
        .call(move |s| s.requests_between(range.from_ms, range.to_ms, service.as_deref(), None))
        .await?;
    let mut groups: BTreeMap<(&str, &str, &str), Acc> = BTreeMap::new();
    for r in &requests {
        groups
            .entry((r.service.as_str(), r.method.as_str(), r.endpoint.as_str()))
            .or_default()
            .add(Measure::from(r));
    }
    Ok(groups
        .into_iter()
        .map(|((service, method, endpoint), mut acc)| {
            let [p50, p95, p99] = acc.percentiles([50.0, 95.0, 99.0]);
            let a = &acc.agg;
            EndpointStats {
                service: service.to_owned(),
                method: method.to_owned(),
                endpoint: endpoint.to_owned(),
                count: a.count,
                error_rate: a.errors as f64 * 100.0 / a.count.max(1) as f64,
                avg_response_time: a.avg().unwrap_or(0.0),
                p50: p50.unwrap_or(0.0),
                p95: p95.unwrap_or(0.0),
                p99: p99.unwrap_or(0.0),
            }
        })
        .collect())
}

fn range_of(state: &AppState, q: &HashMap<String, String>) -> Result<RangeQuery, ApiError> {
    parse_range(
        q,
        crate::now_ms(),
        state.config().retention().as_millis() as i64,
    )
}

/// `GET metrics/?range=1h&target=2&points=300` (or `from`/`to` in Unix ms).
/// Answered from the response cache: computed at most once per second and
/// write, however many dashboards ask.
pub async fn metrics(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<JsonBytes, ApiError> {
    let key = cache::key(paths::METRICS, &q);
    state
        .cache()
        .get_or_compute(
            &key,
            state.store().generation(),
            crate::now_ms(),
            || async {
                let range = range_of(&state, &q)?;
                let scope = parse_scope(&q, range.target)?;
                query_metrics(&state, range, scope).await
            },
        )
        .await
}

/// `GET /api/performance/`: the seeds' combined object, over the last 5 minutes
/// (or the range asked for).
pub async fn overview(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Overview>, ApiError> {
    let range = range_of(&state, &q)?;
    let scope = parse_scope(&q, range.target)?;
    let metrics = query_metrics(&state, range, scope).await?;
    let snapshot = state.host().snapshot();
    let system_resources = snapshot.resources.clone();
    Ok(Json(Overview {
        performance_metrics: metrics.performance_metrics,
        system_resources,
        cache_performance: CachePerformance {
            available: false,
            hit_rate: None,
            total_hits: None,
            total_misses: None,
            avg_response_time: None,
        },
        monitoring: state.monitoring().state(),
    }))
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

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn field(r: Result<RangeQuery, ApiError>) -> String {
        match r {
            Err(ApiError::BadRequest { field, .. }) => field.into_owned(),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn ranges_parse_and_bad_ones_name_their_field() {
        let week = 7 * 86_400_000;
        let now = 1_000_000_000_000;
        let r = parse_range(&q(&[("range", "1h"), ("target", "3")]), now, week).expect("ok");
        assert_eq!(
            (r.from_ms, r.to_ms, r.target, r.points),
            (now - 3_600_000, now, Some(3), 300)
        );
        let r = parse_range(&q(&[]), now, week).expect("default");
        assert_eq!(r.to_ms - r.from_ms, 300_000);
        assert_eq!(
            field(parse_range(&q(&[("from", "20"), ("to", "10")]), now, week)),
            "from"
        );
        assert_eq!(
            field(parse_range(&q(&[("range", "8d")]), now, week)),
            "from"
        );
        assert_eq!(
            field(parse_range(&q(&[("range", "soon")]), now, week)),
            "range"
        );
        assert_eq!(
            field(parse_range(&q(&[("from", "yesterday")]), now, week)),
            "from"
        );
        assert_eq!(
            field(parse_range(&q(&[("points", "5000")]), now, week)),
            "points"
        );
        assert_eq!(
            field(parse_range(&q(&[("points", "0")]), now, week)),
            "points"
        );
        assert_eq!(
            field(parse_range(&q(&[("target", "x")]), now, week)),
            "target"
        );
    }
}
