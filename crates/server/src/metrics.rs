//! `GET metrics/`: response times of the probes over a time range, with the
//! seed's `performance_metrics` figures, p50/p95/p99, and a series reduced on
//! the server to at most the number of points asked for. Each bucket keeps its
//! min and max so spikes survive the reduction; buckets without a probe are
//! left out, so a gap stays a gap. Also the seeds' combined object at
//! `GET /api/performance/`.
//! The figures themselves are computed by [`crate::measures`].

use axum::Json;
use axum::extract::State;
use vigie_api::{
    EndpointList, EndpointSort, EndpointStats, EndpointsQuery, MetricsQuery, MetricsResponse,
    Overview, Source, TimeRange, paths,
};

use crate::cache::{self, JsonBytes};
use crate::error::{ApiError, ApiQuery};
use crate::measures::{self, RangeQuery, Scope};
use crate::openapi::Op;
use crate::store::Data;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        host: crate::host::HostHub,
        config: std::sync::Arc<crate::Config>,
        monitoring: crate::monitoring::Monitoring,
        cache: std::sync::Arc<crate::cache::ResponseCache>,
    }
}

pub const DEFAULT_POINTS: u32 = 300;
pub const MAX_POINTS: u32 = 2000;
const DEFAULT_RANGE_MS: i64 = 5 * 60 * 1000;
/// How far past the server's clock `to` may be: clocks differ by seconds,
/// a day ahead is a mistake (or a unit error).
const MAX_FUTURE_MS: i64 = 86_400_000;
/// How far before the retention's start `from` may be: a client's
/// `now − retention` is computed a little before the server's.
const RETENTION_SLACK_MS: i64 = 60_000;
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

/// Reads `range` or `from`/`to` (Unix ms), `target` and `points`. Every
/// bound is checked against the clock before any arithmetic on two of them:
/// `from` no earlier than the retention's start (less a minute), `to` no
/// more than a day ahead, `from` before `to`, the span within the
/// retention; no value of `from` or `to` can wrap around.
pub fn parse_range(q: &TimeRange, now_ms: i64, retention_ms: i64) -> Result<RangeQuery, ApiError> {
    let hours = retention_ms / 3_600_000;
    let earliest = now_ms
        .saturating_sub(retention_ms)
        .saturating_sub(RETENTION_SLACK_MS);
    let latest = now_ms.saturating_add(MAX_FUTURE_MS);
    let before_retention = |name: &'static str| {
        ApiError::bad_request(
            name,
            format!("{name} is before the retention (the last {hours} h)"),
        )
    };
    let too_late = |name: &'static str| {
        ApiError::bad_request(name, format!("{name} is more than a day in the future"))
    };
    let (from_ms, to_ms) = match &q.range {
        Some(r) => {
            if q.from.is_some() || q.to.is_some() {
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
            let from = now_ms.checked_sub(d).ok_or_else(|| {
                ApiError::bad_request(
                    "range",
                    format!("the range is longer than the retention ({hours} h)"),
                )
            })?;
            (from, now_ms)
        }
        None => {
            let (from, to) = (q.from, q.to);
            // Each bound given is checked on its own first, so that the
            // error names the one at fault.
            for (name, v) in [("from", from), ("to", to)] {
                match v {
                    Some(v) if v < earliest => return Err(before_retention(name)),
                    Some(v) if v > latest => return Err(too_late(name)),
                    _ => {}
                }
            }
            let to = to.unwrap_or(now_ms);
            (from.unwrap_or(to.saturating_sub(DEFAULT_RANGE_MS)), to)
        }
    };
    if from_ms >= to_ms {
        return Err(ApiError::bad_request("from", "from must be before to"));
    }
    // `range` is a span that fits in i64; `from` and `to` were each checked
    // within [earliest − 5 min, latest]: no wrap either way.
    if to_ms - from_ms > retention_ms {
        return Err(ApiError::bad_request(
            "from",
            format!("the range is longer than the retention ({hours} h)"),
        ));
    }
    if from_ms < earliest {
        return Err(before_retention("from"));
    }
    let points = match q.points {
        None => DEFAULT_POINTS,
        Some(p) if (1..=MAX_POINTS).contains(&p) => p,
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
        target: None,
        points,
    })
}

/// A text parameter, trimmed; `None` when empty.
fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Reads `source` (`probes` or `requests`), and `service`/`endpoint` (which
/// imply `requests`) or `target` (probes only).
pub fn parse_scope(q: &MetricsQuery) -> Result<Scope, ApiError> {
    let target = q.target;
    let (service, endpoint) = (text(&q.service), text(&q.endpoint));
    let source = match q.source {
        None if service.is_some() || endpoint.is_some() => Source::Requests,
        None => Source::Probes,
        Some(source) => source,
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

/// The documentation of [`endpoints`].
pub fn endpoints_op() -> Op {
    Op::new(
        "endpoints",
        "Endpoints over a range, worst first: of the ingested requests (per service, method, endpoint) or of a Prometheus target's request-duration histograms (per route and method)",
    )
    .query::<EndpointsQuery>()
    .json::<EndpointList>(200, "ranked endpoints")
    .error(400, "bad input: the body names the field")
}

/// `GET endpoints/?range=1h&service=shop&sort=p95&limit=50`: the ingested
/// requests grouped by service, method and endpoint, worst first.
pub async fn endpoints(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<EndpointsQuery>,
) -> Result<JsonBytes, ApiError> {
    let key = cache::key(paths::ENDPOINTS, &q);
    let reads = match q.source {
        Some(Source::Scrape) => Data::SCRAPES,
        _ => Data::REQUESTS,
    };
    // A ranking has no buckets: its period is that of a chart of the
    // default points over the same range.
    let ahead = ahead(&state, reads, &q.time_range());
    let cache = state.cache.clone();
    cache
        .get_or_compute_ahead(&key, ahead, crate::now_ms(), move || {
            let (state, q) = (state.clone(), q.clone());
            async move { endpoint_list(&state, &q).await }
        })
        .await
}

async fn endpoint_list(state: &Ctx, q: &EndpointsQuery) -> Result<EndpointList, ApiError> {
    let range = range_of(state, &q.time_range())?;
    let scraped_from = match (q.source, q.target) {
        (Some(Source::Scrape), Some(target)) => Some(target),
        (Some(Source::Scrape), None) => {
            return Err(ApiError::bad_request(
                "target",
                "source=scrape needs a target",
            ));
        }
        (Some(Source::Probes), _) => {
            return Err(ApiError::bad_request(
                "source",
                "endpoints come from requests or a scrape, not probes",
            ));
        }
        (None | Some(Source::Requests), Some(_)) => {
            return Err(ApiError::bad_request(
                "target",
                "a target goes with source=scrape",
            ));
        }
        (None | Some(Source::Requests), None) => None,
    };
    let service = text(&q.service);
    let sort = q.sort.unwrap_or_default();
    let limit = match q.limit {
        None => 50,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::bad_request("limit", "limit must be 1 to 1000")),
    };
    let mut endpoints = match scraped_from {
        Some(target) => measures::scraped_endpoints(&state.store, target, range).await?,
        None => {
            measures::requested_endpoints(
                &state.store,
                state.config.raw_start_ms(crate::now_ms()),
                service,
                range,
            )
            .await?
        }
    };
    let key = |e: &EndpointStats| match sort {
        EndpointSort::ErrorRate => e.error_rate,
        EndpointSort::Count => e.count as f64,
        EndpointSort::P95 => e.p95,
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

/// How a question over `range` is answered ahead: stamped with the
/// generation of `reads`, for a tenth of its bucket (a range that does not
/// parse gets a second: its error is not kept anyway).
fn ahead(state: &Ctx, reads: Data, range: &TimeRange) -> cache::Ahead {
    let bucket =
        range_of(state, range).map_or(0, |r| measures::bucket_ms(r.from_ms, r.to_ms, r.points));
    cache::Ahead {
        reads,
        generation: state.store.generation_of(reads),
        period_ms: cache::period_ms(bucket),
    }
}

fn range_of(state: &Ctx, q: &TimeRange) -> Result<RangeQuery, ApiError> {
    parse_range(
        q,
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )
}

/// The documentation of [`metrics`].
pub fn metrics_op() -> Op {
    Op::new(
        "metrics",
        "Response times over a range — of the probes (default, optionally one target), of the ingested requests (source=requests, optionally one service and endpoint) or of a Prometheus target's histograms (source=scrape): seed performance_metrics, p50/p95/p99 and a downsampled series",
    )
    .query::<MetricsQuery>()
    .json::<MetricsResponse>(200, "figures are null when nothing was measured")
    .error(400, "bad input: the body names the field")
}

/// `GET metrics/?range=1h&target=2&points=300` (or `from`/`to` in Unix ms).
/// Answered from the response cache: computed at most once per period (a
/// tenth of its bucket, 1 s to 1 min) and write of the data it reads
/// (probes, requests or scrapes), however many dashboards ask, and while it
/// is asked, computed for each such write and period before it is asked
/// again (see [`cache`]).
pub async fn metrics(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<JsonBytes, ApiError> {
    let key = cache::key(paths::METRICS, &q);
    let reads = match q.source {
        None | Some(Source::Probes) => Data::PROBES,
        Some(Source::Requests) => Data::REQUESTS,
        Some(Source::Scrape) => Data::SCRAPES,
    };
    let ahead = ahead(&state, reads, &q.time_range());
    let cache = state.cache.clone();
    cache
        .get_or_compute_ahead(&key, ahead, crate::now_ms(), move || {
            let (state, q) = (state.clone(), q.clone());
            async move {
                let range = range_of(&state, &q.time_range())?;
                let scope = parse_scope(&q)?;
                measures::summary(
                    &state.store,
                    state.config.raw_start_ms(crate::now_ms()),
                    range,
                    scope,
                )
                .await
                .map_err(ApiError::from)
            }
        })
        .await
}

/// The documentation of [`overview`].
pub fn overview_op() -> Op {
    Op::new(
        "overview",
        "The seeds' combined object: performance_metrics (last 5 min or the range asked), system_resources, cache_performance (the Redis cache sources over the same range; available false without one), monitoring",
    )
    .query::<MetricsQuery>()
    .json::<Overview>(200, "combined")
    .error(400, "bad input: the body names the field")
}

/// `GET /api/performance/`: the seeds' combined object, over the last 5 minutes
/// (or the range asked for).
pub async fn overview(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<Overview>, ApiError> {
    let range = range_of(&state, &q.time_range())?;
    let scope = parse_scope(&q)?;
    let metrics = measures::summary(
        &state.store,
        state.config.raw_start_ms(crate::now_ms()),
        range,
        scope,
    )
    .await?;
    let snapshot = state.host.snapshot();
    let system_resources = snapshot.resources.clone();
    Ok(Json(Overview {
        performance_metrics: metrics.performance_metrics,
        system_resources,
        cache_performance: crate::redis::report(&state.store, None, range.from_ms, range.to_ms, 1)
            .await?
            .cache_performance,
        monitoring: state.monitoring.state(),
    }))
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.get(vigie_api::paths::METRICS, metrics, metrics_op())
        .get(vigie_api::paths::OVERVIEW, overview, overview_op())
        .get(vigie_api::paths::ENDPOINTS, endpoints, endpoints_op())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The range a `metrics/` query string asks for, as the handler reads it.
    fn range(pairs: &[(&str, &str)], now: i64, retention: i64) -> Result<RangeQuery, ApiError> {
        let text = serde_urlencoded::to_string(pairs).expect("encode");
        let q: MetricsQuery = crate::error::parse_query(&text)?;
        parse_range(&q.time_range(), now, retention).map(|r| RangeQuery {
            target: q.target,
            ..r
        })
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
        let r = range(&[("range", "1h"), ("target", "3")], now, week).expect("ok");
        assert_eq!(
            (r.from_ms, r.to_ms, r.target, r.points),
            (now - 3_600_000, now, Some(3), 300)
        );
        let r = range(&[], now, week).expect("default");
        assert_eq!(r.to_ms - r.from_ms, 300_000);
        assert_eq!(
            field(range(&[("from", "20"), ("to", "10")], now, week)),
            "from"
        );
        assert_eq!(field(range(&[("range", "8d")], now, week)), "from");
        assert_eq!(field(range(&[("range", "soon")], now, week)), "range");
        assert_eq!(field(range(&[("from", "yesterday")], now, week)), "from");
        assert_eq!(field(range(&[("points", "5000")], now, week)), "points");
        assert_eq!(field(range(&[("points", "0")], now, week)), "points");
        assert_eq!(field(range(&[("target", "x")], now, week)), "target");
    }

    /// The error of a refused range: field and message.
    fn refusal(r: Result<RangeQuery, ApiError>) -> (String, String) {
        match r {
            Err(ApiError::BadRequest { field, message }) => (field.into_owned(), message),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn ranges_at_the_extremes_are_refused_never_wrapped() {
        let week = 604_800_000;
        let now = 1_000_000_000_000;
        let at = |pairs: &[(&str, &str)]| refusal(range(pairs, now, week));
        let (min, max) = ("-9223372036854775808", "9223372036854775807");
        // The pair that used to wrap to a span of -1 and answer 200.
        assert_eq!(at(&[("from", min), ("to", max)]).0, "from");
        assert_eq!(at(&[("from", "999999000000"), ("to", max)]).0, "to");
        assert_eq!(at(&[("from", max)]).0, "from");
        assert_eq!(at(&[("to", min)]).0, "to");
        assert_eq!(at(&[("to", "-9223372036854775807")]).0, "to");
        assert_eq!(at(&[("from", min), ("to", "999999000000")]).0, "from");
        // 106751991167 days fit in i64 ms, one more day does not.
        assert_eq!(at(&[("range", "106751991167d")]).0, "from");
        assert_eq!(at(&[("range", "106751991168d")]).0, "range");

        // Reversed: 2 h ago to 1 h ago, the other way round.
        let (field, message) = at(&[("from", "999996400000"), ("to", "999992800000")]);
        assert_eq!(
            (field.as_str(), message.contains("before to")),
            ("from", true)
        );
        // Longer than the retention by 30 s (from still within the minute of slack).
        let (field, message) = at(&[("from", "999395170000"), ("to", "1000000000000")]);
        assert_eq!((field.as_str(), message.contains("longer")), ("from", true));
        // 61 s before the retention's start, an hour long.
        let (field, message) = at(&[("from", "999395139000"), ("to", "999398739000")]);
        assert_eq!(
            (field.as_str(), message.contains("before the retention")),
            ("from", true)
        );
        // 59 s before it is within the slack.
        let r = range(
            &[("from", "999395141000"), ("to", "999481600000")],
            now,
            week,
        )
        .expect("within the minute of slack");
        assert_eq!((r.from_ms, r.to_ms), (999_395_141_000, 999_481_600_000));
        // `to` a day and a millisecond ahead; a day ahead exactly is fine.
        let (field, message) = at(&[("from", "1000000000000"), ("to", "1000086400001")]);
        assert_eq!((field.as_str(), message.contains("future")), ("to", true));
        let r = range(
            &[("from", "1000000000000"), ("to", "1000086400000")],
            now,
            week,
        )
        .expect("a day ahead");
        assert_eq!(r.to_ms, 1_000_086_400_000);
        // `to` alone, at the start of the retention: its default `from`
        // (5 min earlier) falls before it.
        assert_eq!(at(&[("to", "999395200000")]).0, "from");
        let r = range(&[("range", "7d")], now, week).expect("the whole retention");
        assert_eq!((r.from_ms, r.to_ms), (999_395_200_000, 1_000_000_000_000));
    }
}
