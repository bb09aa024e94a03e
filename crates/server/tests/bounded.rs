//! Ingested requests over long ranges, against the real server and a real
//! SQLite file: a week answered from the per-minute rollups (counts exact,
//! percentiles within 2 % of the ones this test computes from what it
//! sent), a short range exactly from raw rows, the same week once the raw
//! rows past the raw window are gone, a database written before request
//! rollups keeping its history, and ranges at the extremes of i64 refused
//! with their field while nothing stored changes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vigie_api::{EndpointList, ErrorBody, MetricsResponse};
use vigie_server::ingest::store::{StoredRequest, insert_raw};
use vigie_server::store::{REQUEST_ROLLUPS_VERSION, create_at_version};

mod common;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// One request as this test sent it.
#[derive(Debug, Clone)]
struct Sent {
    ts_ms: i64,
    service: &'static str,
    endpoint: &'static str,
    method: &'static str,
    status: u16,
    duration_ms: f64,
}

/// Record `k`, stamped `ts_ms`: two services, two endpoints, two methods;
/// one in 17 answered 503, one in 11 answered 404 (not an error), and one
/// in 50 very slow (a tail for p99).
fn sent(ts_ms: i64, k: i64) -> Sent {
    Sent {
        ts_ms,
        service: if k % 3 == 0 { "admin" } else { "shop" },
        endpoint: if k % 2 == 0 { "/orders" } else { "/search" },
        method: if k % 5 == 0 { "POST" } else { "GET" },
        status: if k % 17 == 0 {
            503
        } else if k % 11 == 0 {
            404
        } else {
            200
        },
        duration_ms: 1.0
            + ((k * 7919) % 1000) as f64 * 0.731
            + if k % 50 == 0 { 2500.0 } else { 0.0 },
    }
}

/// 4,200 records spread evenly over the week before `now` (from 10 minutes
/// after its start to 1 minute before `now`), and 600 more in the half hour
/// before `now` (28 to 3 minutes before it, one every 2.5 s).
fn week_of_records(now: i64) -> Vec<Sent> {
    let start = now - 7 * DAY + 10 * MINUTE;
    let span = 7 * DAY - 11 * MINUTE;
    let spread = (0..4200).map(|k| sent(start + span * k / 4199, k));
    let recent = (0..600).map(|k| sent(now - 28 * MINUTE + k * 2500, 4200 + k));
    spread.chain(recent).collect()
}

async fn ingest(base: &str, records: &[Sent]) {
    let http = reqwest::Client::new();
    for chunk in records.chunks(2000) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|r| {
                json!({"service": r.service, "endpoint": r.endpoint, "method": r.method,
                       "status": r.status, "duration_ms": r.duration_ms, "timestamp": r.ts_ms})
            })
            .collect();
        let resp = http
            .post(format!("{base}/ingest/"))
            .json(&json!({ "records": body }))
            .send()
            .await
            .expect("POST ingest/");
        assert_eq!(
            resp.status(),
            200,
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }
}

async fn get<T: serde::de::DeserializeOwned>(url: String) -> T {
    let resp = reqwest::get(&url).await.expect("GET");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("JSON")
}

/// What this test expects of some records, computed here from what it sent.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    count: u64,
    errors: u64,
    avg: f64,
    p50: f64,
    p95: f64,
    p99: f64,
}

/// Nearest rank: the smallest value with at least p % of the values at or
/// below it.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.max(1) - 1]
}

fn expected<'a>(records: impl IntoIterator<Item = &'a Sent>) -> Expected {
    let records: Vec<&Sent> = records.into_iter().collect();
    let mut durations: Vec<f64> = records.iter().map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    Expected {
        count: records.len() as u64,
        errors: records.iter().filter(|r| r.status >= 500).count() as u64,
        avg: durations.iter().sum::<f64>() / durations.len() as f64,
        p50: nearest_rank(&durations, 50.0),
        p95: nearest_rank(&durations, 95.0),
        p99: nearest_rank(&durations, 99.0),
    }
}

fn within(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got / want - 1.0).abs() <= tolerance,
        "{what}: {got} vs {want} (tolerance {tolerance})"
    );
}

/// Checks a `metrics/` answer: counts exactly, percentiles within
/// `tolerance` (0: exactly).
fn check_metrics(m: &MetricsResponse, want: &Expected, tolerance: f64, what: &str) {
    let pm = &m.performance_metrics;
    assert_eq!(pm.total_requests, want.count, "{what}: total");
    let errors: u64 = m.series.iter().map(|p| p.errors).sum();
    let count: u64 = m.series.iter().map(|p| p.count).sum();
    assert_eq!((count, errors), (want.count, want.errors), "{what}: series");
    assert_eq!(
        pm.error_rate,
        Some(want.errors as f64 * 100.0 / want.count as f64),
        "{what}: error rate"
    );
    within(pm.avg_response_time.expect("avg"), want.avg, 1e-9, what);
    for (got, want) in [(pm.p50, want.p50), (pm.p95, want.p95), (pm.p99, want.p99)] {
        let got = got.expect("percentile");
        if tolerance == 0.0 {
            assert_eq!(got, want, "{what}: exact percentile");
        } else {
            within(got, want, tolerance, what);
        }
    }
}

/// Checks an `endpoints/` answer against every (service, method, endpoint)
/// of `records`.
fn check_endpoints(list: &EndpointList, records: &[&Sent], tolerance: f64, what: &str) {
    let mut keys: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.service, r.method, r.endpoint))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(list.endpoints.len(), keys.len(), "{what}: one line per key");
    for (service, method, endpoint) in keys {
        let want = expected(
            records
                .iter()
                .copied()
                .filter(|r| (r.service, r.method, r.endpoint) == (service, method, endpoint)),
        );
        let line = list
            .endpoints
            .iter()
            .find(|e| {
                (e.service.as_str(), e.method.as_str(), e.endpoint.as_str())
                    == (service, method, endpoint)
            })
            .unwrap_or_else(|| panic!("{what}: no line for {service} {method} {endpoint}"));
        assert_eq!(
            line.count, want.count,
            "{what}: {service} {method} {endpoint}"
        );
        assert_eq!(
            line.error_rate,
            want.errors as f64 * 100.0 / want.count as f64,
            "{what}: {service} {method} {endpoint}"
        );
        if tolerance == 0.0 {
            assert_eq!(line.p95, want.p95, "{what}: {service} {method} {endpoint}");
        } else {
            within(line.p95, want.p95, tolerance, what);
        }
    }
}

/// Waits until `holds` is true, checking every 50 ms, 30 s at most.
async fn until(what: &str, mut holds: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !holds() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sqlite(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data.join("vigie.db")).expect("plain sqlite")
}

fn count(conn: &rusqlite::Connection, sql: &str, param: i64) -> i64 {
    conn.query_row(sql, [param], |r| r.get(0)).expect(sql)
}

/// Checks the week and the last half hour of `records` as the server at
/// `base` answers them; the week's `metrics/` answer for `shop`.
async fn check_week(base: &str, records: &[Sent], now: i64, what: &str) -> MetricsResponse {
    let shop: Vec<&Sent> = records.iter().filter(|r| r.service == "shop").collect();
    let week: MetricsResponse = get(format!(
        "{base}/metrics/?range=7d&source=requests&service=shop"
    ))
    .await;
    check_metrics(&week, &expected(shop.iter().copied()), 0.02, what);
    let all: MetricsResponse = get(format!("{base}/metrics/?range=7d&source=requests")).await;
    check_metrics(&all, &expected(records), 0.02, what);
    let ranked: EndpointList = get(format!("{base}/endpoints/?range=7d")).await;
    check_endpoints(&ranked, &records.iter().collect::<Vec<_>>(), 0.02, what);

    // The last half hour: raw rows, exact percentiles.
    let (from, to) = (now - 30 * MINUTE, now);
    let recent: Vec<&Sent> = records
        .iter()
        .filter(|r| (from..=to).contains(&r.ts_ms))
        .collect();
    let recent_shop: Vec<&Sent> = recent
        .iter()
        .copied()
        .filter(|r| r.service == "shop")
        .collect();
    assert!(
        recent_shop.len() > 300,
        "the half hour holds the recent records"
    );
    let m: MetricsResponse = get(format!(
        "{base}/metrics/?from={from}&to={to}&source=requests&service=shop"
    ))
    .await;
    check_metrics(&m, &expected(recent_shop.iter().copied()), 0.0, what);
    let ranked: EndpointList = get(format!("{base}/endpoints/?from={from}&to={to}")).await;
    check_endpoints(&ranked, &recent, 0.0, what);
    week
}

#[tokio::test]
async fn a_week_of_requests_comes_from_rollups_and_a_half_hour_exactly_from_raw_rows() {
    let data = tempfile::tempdir().expect("tempdir");
    let now = vigie_server::now_ms();
    let records = week_of_records(now);
    let v = common::vigie(data.path(), |_| {}).await;
    ingest(&v.base, &records).await;
    let first = check_week(&v.base, &records, now, "just ingested").await;
    v.server.shutdown().await.expect("shutdown");

    // Again with a raw window of one hour: maintenance at start deletes the
    // raw rows past it (in chunks), and the week is answered the same from
    // the rollups alone.
    let v = common::vigie(data.path(), |c| c.raw_retention_hours = 1).await;
    let conn = sqlite(data.path());
    until("raw rows older than 2 h deleted", || {
        count(
            &conn,
            "SELECT COUNT(*) FROM requests WHERE ts_ms < ?1",
            now - 2 * HOUR,
        ) == 0
    })
    .await;
    assert!(
        count(
            &conn,
            "SELECT COUNT(*) FROM request_rollups WHERE ts_ms < ?1",
            now - 2 * HOUR
        ) > 3000,
        "their rollups stay"
    );
    let again = check_week(&v.base, &records, now, "raw rows pruned").await;
    // The same rollups, the same figures; sums of floats only to their last
    // bits, since the planner (statistics refreshed by maintenance) may read
    // the rows in another order.
    let (a, b) = (&again.performance_metrics, &first.performance_metrics);
    assert_eq!(
        (a.total_requests, a.error_rate, a.p50, a.p95, a.p99),
        (b.total_requests, b.error_rate, b.p50, b.p95, b.p99),
        "the same rollups, the same figures"
    );
    let (x, y) = (
        a.avg_response_time.expect("avg"),
        b.avg_response_time.expect("avg"),
    );
    assert!((x - y).abs() <= 1e-9 * y.abs(), "{x} vs {y}");
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_database_written_before_request_rollups_keeps_its_history() {
    let data = tempfile::tempdir().expect("tempdir");
    let now = vigie_server::now_ms();
    let records = week_of_records(now);
    // What the previous version left: raw requests only, no rollup table.
    create_at_version(&data.path().join("vigie.db"), REQUEST_ROLLUPS_VERSION - 1)
        .expect("old schema");
    {
        let mut conn = sqlite(data.path());
        let tables = count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'request_rollups' AND ?1",
            1,
        );
        assert_eq!(tables, 0, "the old schema has no request rollups");
        let tx = conn.transaction().expect("tx");
        let rows: Vec<StoredRequest> = records
            .iter()
            .map(|r| StoredRequest {
                ts_ms: r.ts_ms,
                service: r.service.to_owned(),
                endpoint: r.endpoint.to_owned(),
                method: r.method.to_owned(),
                status: r.status,
                duration_ms: r.duration_ms,
            })
            .collect();
        insert_raw(&tx, &rows).expect("raw rows");
        tx.commit().expect("commit");
    }
    // The upgrade back-fills the rollups; maintenance at start then deletes
    // the raw rows past the raw window (a day): the week must not lose them.
    let v = common::vigie(data.path(), |_| {}).await;
    let conn = sqlite(data.path());
    until("raw rows older than 25 h deleted", || {
        count(
            &conn,
            "SELECT COUNT(*) FROM requests WHERE ts_ms < ?1",
            now - 25 * HOUR,
        ) == 0
    })
    .await;
    check_week(&v.base, &records, now, "upgraded").await;
    v.server.shutdown().await.expect("shutdown");
}

/// What is stored of the requests: raw rows, rollup rows, requests rolled up.
fn stored(conn: &rusqlite::Connection) -> (i64, i64, i64) {
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM request_rollups),
                (SELECT SUM(count) FROM request_rollups)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("stored")
}

#[tokio::test]
async fn ranges_at_the_extremes_of_i64_are_refused_with_their_field() {
    let data = tempfile::tempdir().expect("tempdir");
    let now = vigie_server::now_ms();
    let v = common::vigie(data.path(), |_| {}).await;
    let records: Vec<Sent> = (0..100)
        .map(|k| sent(now - 10 * MINUTE + k * 1000, k))
        .collect();
    ingest(&v.base, &records).await;
    let conn = sqlite(data.path());
    let before = stored(&conn);
    assert_eq!((before.0, before.2), (100, 100));
    let answer = || get::<MetricsResponse>(format!("{}/metrics/?source=requests&range=1h", v.base));
    let figures = answer().await.performance_metrics;
    assert_eq!(figures.total_requests, 100);

    let (min, max) = (i64::MIN, i64::MAX);
    let hour_ago = now - HOUR;
    for (query, field) in [
        (format!("metrics/?from={min}&to={max}"), "from"),
        (
            format!("metrics/?from={min}&to={max}&source=requests"),
            "from",
        ),
        (
            format!("metrics/?from={hour_ago}&to={max}&source=requests"),
            "to",
        ),
        (format!("metrics/?to={min}&source=requests"), "to"),
        (format!("metrics/?from={max}&source=requests"), "from"),
        (
            "metrics/?range=106751991168d&source=requests".to_owned(),
            "range",
        ),
        (format!("endpoints/?from={min}&to={max}"), "from"),
        (format!("endpoints/?from={hour_ago}&to={max}"), "to"),
        (format!("system-resources/?from={min}&to={max}"), "from"),
        (format!("system-resources/?from={hour_ago}&to={max}"), "to"),
        // The seeds' combined object, at the API's root.
        (format!("?from={min}&to={max}"), "from"),
    ] {
        let resp = reqwest::get(format!("{}/{query}", v.base))
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400, "{query}");
        let body: ErrorBody = resp.json().await.expect("JSON error");
        assert_eq!(
            body.field.as_deref(),
            Some(field),
            "{query}: {}",
            body.error
        );
    }
    assert_eq!(stored(&conn), before, "nothing stored changed");
    assert_eq!(answer().await.performance_metrics, figures);
    v.server.shutdown().await.expect("shutdown");
}
