//! Recommendations through the HTTP API, from real data sent through the
//! real paths: requests ingested slow or failing, a loopback target whose
//! listener is stopped and started again. Each recommendation is seen with
//! the figures computed here from what was sent, then seen gone once its
//! condition no longer holds (more data, or a later period); reports carry
//! the same list; bad periods are refused naming the field.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vigie_api::{
    Health, MetricsResponse, Recommendation, RecommendationList, RecommendationRule,
    RecommendationSeverity, ReportContent, ReportInfo, ReportStatus, Target, sli,
};

use common::{Client, Vigie};

const MIN: i64 = 60_000;

async fn list(v: &Vigie, from: i64, to: i64) -> RecommendationList {
    v.get_json(&format!("/recommendations/?from={from}&to={to}"))
        .await
}

fn evidence(r: &Recommendation, label: &str) -> f64 {
    r.evidence
        .iter()
        .find(|e| e.label == label)
        .unwrap_or_else(|| panic!("no {label} in {:?}", r.evidence))
        .value
}

/// Nearest-rank percentile of `sorted`.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

fn record(service: &str, method: &str, endpoint: &str, status: u16, ms: f64, ts: i64) -> Value {
    json!({"service": service, "method": method, "endpoint": endpoint, "status": status,
           "duration_ms": ms, "timestamp": ts})
}

async fn ingest(v: &Vigie, records: Vec<Value>) {
    let resp = v.post("/ingest/", &json!({ "records": records })).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn slow_and_failing_requests_are_recommended_until_they_no_longer_are() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let to = vigie_server::now_ms();
    let from = to - 40 * MIN;
    let start = from + 5 * MIN;
    // shop GET /slow: 40 requests of 100, 125 … 1075 ms, one every 10 s.
    let slow: Vec<f64> = (0..40).map(|i| 100.0 + 25.0 * f64::from(i)).collect();
    let mut records: Vec<Value> = slow
        .iter()
        .zip(0..)
        .map(|(&ms, i)| record("shop", "GET", "/slow", 200, ms, start + i * 10_000))
        .collect();
    // Fast, and slow but too rare to judge: neither is recommended.
    records.extend((0..40).map(|i| record("shop", "GET", "/fast", 200, 20.0, start + i * 10_000)));
    records
        .extend((0..10).map(|i| record("shop", "GET", "/rare", 200, 3000.0, start + i * 10_000)));
    // billing POST /pay: 100 requests, one every 6 s, every tenth answered
    // 500: 10 % failed, one failure a minute (no minute is a burst).
    let pay_status = |i: i64| if i % 10 == 0 { 500 } else { 200 };
    records.extend((0..100).map(|i| {
        record(
            "billing",
            "POST",
            "/pay",
            pay_status(i),
            30.0,
            start + i * 6000,
        )
    }));
    ingest(&v, records).await;

    let got = list(&v, from, to).await;
    assert_eq!((got.from, got.to), (from, to));
    let keys: Vec<&str> = got.recommendations.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "error_burst:service/billing",
            "slow_endpoint:shop GET /slow"
        ],
        "the most severe first: {:#?}",
        got.recommendations
    );

    let errors = &got.recommendations[0];
    let (failed, sent) = (10.0, 100.0);
    assert_eq!(errors.rule, RecommendationRule::ErrorBurst);
    assert_eq!(
        errors.severity,
        RecommendationSeverity::Critical,
        "over 5 % for the period"
    );
    assert_eq!(errors.subject, "billing");
    assert_eq!(evidence(errors, "failures"), failed);
    assert_eq!(evidence(errors, "requests"), sent);
    assert!((evidence(errors, "error rate") - failed * 100.0 / sent).abs() < 1e-9);
    assert_eq!(evidence(errors, "worst minute failures"), 1.0);
    assert!(
        errors.detail.contains("10 of the 100 requests") && errors.detail.contains("(10 %)"),
        "{}",
        errors.detail
    );
    assert_eq!(
        (
            errors.link.page.as_str(),
            errors.link.service.as_deref(),
            errors.link.from,
            errors.link.to
        ),
        ("/endpoints", Some("billing"), from, to)
    );
    assert_eq!((errors.from, errors.to), (from, to));

    let slowest = &got.recommendations[1];
    let p95 = nearest_rank(&slow, 95.0);
    let p99 = nearest_rank(&slow, 99.0);
    assert_eq!((p95, p99), (1025.0, 1075.0), "the test's own arithmetic");
    assert_eq!(slowest.rule, RecommendationRule::SlowEndpoint);
    assert_eq!(slowest.severity, RecommendationSeverity::Warning);
    assert_eq!(slowest.subject, "shop GET /slow");
    assert_eq!(evidence(slowest, "p95"), p95, "exact: raw rows of 40 min");
    assert_eq!(evidence(slowest, "p99"), p99);
    assert_eq!(evidence(slowest, "p95 target"), sli::P95_MS);
    assert_eq!(evidence(slowest, "requests"), 40.0);
    assert!(
        slowest.detail.contains("p95 of 1025 ms") && slowest.detail.contains("40 requests"),
        "{}",
        slowest.detail
    );
    assert!(
        slowest.gain.contains(&format!("{} ms", p95 - sli::P95_MS)),
        "{}",
        slowest.gain
    );
    assert_eq!(
        (
            slowest.link.page.as_str(),
            slowest.link.service.as_deref(),
            slowest.link.endpoint.as_deref()
        ),
        ("/endpoints", Some("shop"), Some("/slow"))
    );

    // A report of the period carries the same list, in each format.
    let resp = v
        .post(
            "/generate-report/",
            &json!({"from": from, "to": to, "sections": ["recommendations"]}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let queued: ReportInfo = resp.json().await.expect("report");
    let report = common::poll(Duration::from_secs(30), || async {
        let r: ReportInfo = v.get_json(&format!("/reports/{}/", queued.id)).await;
        r.status.is_done().then_some(r)
    })
    .await;
    assert_eq!(report.status, ReportStatus::Succeeded, "{report:?}");
    let file = |format: &'static str| {
        let url = format!("{}/reports/{}/download/?format={format}", v.base, report.id);
        let http = v.http.clone();
        async move {
            let resp = http.get(url).send().await.expect("download");
            assert_eq!(resp.status(), 200);
            resp.text().await.expect("body")
        }
    };
    let content: ReportContent = serde_json::from_str(&file("json").await).expect("content");
    assert_eq!(content.recommendations, got.recommendations);
    let html = file("html").await;
    assert!(html.contains("<h2>Recommendations</h2>"), "{html}");
    assert!(html.contains("Slow endpoint GET /slow"));
    assert!(html.contains("break-inside:avoid"));
    let csv = file("csv").await;
    assert!(csv.contains("# recommendations\n"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("critical,error_burst,error_burst:service/billing,billing,")),
        "{csv}"
    );
    assert!(
        csv.contains("slow_endpoint:shop GET /slow,p95,1025,ms"),
        "{csv}"
    );

    // A later period, without those requests: nothing to recommend.
    let now = vigie_server::now_ms();
    assert_eq!(list(&v, to - 4 * MIN, now).await.recommendations, vec![]);

    // The same period once 800 fast /slow requests and 200 good payments
    // joined: p95 back under the target, errors under 5 %.
    let mut more: Vec<Value> = (0..800)
        .map(|i| record("shop", "GET", "/slow", 200, 20.0, start + i * 1000))
        .collect();
    more.extend((0..200).map(|i| record("billing", "POST", "/pay", 200, 30.0, start + i * 1500)));
    ingest(&v, more).await;
    let mut all_slow = slow.clone();
    all_slow.extend([20.0; 800]);
    all_slow.sort_by(f64::total_cmp);
    assert!(nearest_rank(&all_slow, 95.0) <= sli::P95_MS);
    assert!(failed * 100.0 / (sent + 200.0) < 5.0);
    let after = list(&v, from, to).await;
    assert_eq!(
        after.recommendations,
        vec![],
        "the conditions no longer hold"
    );
    v.server.shutdown().await.expect("shutdown");
}

/// A loopback HTTP server on `port` until told to stop.
struct Listener {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn listen(port: u16) -> Listener {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the same port again");
    let app = Router::new().route("/", get(|| async { "ok" }));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Listener { stop, task }
}

impl Listener {
    /// Stops listening: connections are refused from then on.
    async fn close(self) {
        let _ = self.stop.send(());
        self.task.await.expect("listener task");
    }
}

async fn health_is(v: &Vigie, id: i64, health: Health) {
    common::poll(Duration::from_secs(20), || async {
        let t: Target = v.get_json(&format!("/targets/{id}/")).await;
        (t.health == health).then_some(())
    })
    .await;
}

/// Waits until a probe of target `id` after `after` is stored: the writer
/// keeps their order, so every earlier one is stored too.
async fn stored_after(v: &Vigie, id: i64, after: i64) {
    common::poll(Duration::from_secs(20), || async {
        let to = vigie_server::now_ms() + 1000;
        let m: MetricsResponse = v
            .get_json(&format!("/metrics/?target={id}&from={}&to={to}", after + 1))
            .await;
        (m.performance_metrics.total_requests > 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_target_down_twice_is_recommended_and_not_in_a_period_after_it_recovered() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    let port = common::free_port();
    let mut upstream = listen(port).await;
    let began = vigie_server::now_ms();
    let resp = v
        .post(
            "/targets/",
            &json!({"name": "flaky", "url": format!("http://127.0.0.1:{port}/"),
                    "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let target: Target = resp.json().await.expect("target");
    let id = target.id;
    health_is(&v, id, Health::Up).await;
    // Down (2 failed probes in a row) and up again, twice.
    for _ in 0..2 {
        upstream.close().await;
        health_is(&v, id, Health::Down).await;
        upstream = listen(port).await;
        health_is(&v, id, Health::Up).await;
    }
    let recovered = vigie_server::now_ms();
    stored_after(&v, id, recovered).await;

    let got = list(&v, began, recovered).await;
    let down = got
        .recommendations
        .iter()
        .find(|r| r.rule == RecommendationRule::TargetDown)
        .unwrap_or_else(|| panic!("no target_down in {:#?}", got.recommendations));
    // The probes of the period as metrics/ counts them.
    let m: MetricsResponse = v
        .get_json(&format!(
            "/metrics/?target={id}&from={began}&to={recovered}"
        ))
        .await;
    let pm = m.performance_metrics;
    let failed = (pm.error_rate.expect("probes") * pm.total_requests as f64 / 100.0).round();
    assert!(failed >= 4.0, "two runs of 2 or more failures: {failed}");
    assert_eq!(down.key, format!("target_down:target/{id}"));
    assert_eq!(down.subject, "flaky");
    assert_eq!(down.title, "flaky went down 2 times");
    assert_eq!(down.severity, RecommendationSeverity::Warning, "up again");
    assert_eq!(evidence(down, "down episodes"), 2.0);
    assert_eq!(
        evidence(down, "failed probes"),
        failed,
        "every failure was in a down run"
    );
    assert!((evidence(down, "availability") - pm.availability.expect("probes")).abs() < 1e-9);
    assert!(evidence(down, "longest down") >= 1.0);
    assert_eq!((down.link.page.as_str(), down.link.target), ("/", Some(id)));
    assert!(
        began <= down.link.from && down.link.from < down.link.to && down.link.to <= recovered,
        "{:?}",
        down.link
    );
    assert!(
        down.detail.contains("down 2 times") && down.detail.contains(&format!("{failed} in all")),
        "{}",
        down.detail
    );

    // After the recovery: probes that all succeed, nothing to recommend.
    let later = vigie_server::now_ms();
    stored_after(&v, id, later).await;
    let now = vigie_server::now_ms();
    let m: MetricsResponse = v
        .get_json(&format!("/metrics/?target={id}&from={recovered}&to={now}"))
        .await;
    assert_eq!(m.performance_metrics.error_rate, Some(0.0));
    assert_eq!(list(&v, recovered, now).await.recommendations, vec![]);
    upstream.close().await;
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_periods_and_parameters_are_refused_naming_the_field() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let now = vigie_server::now_ms();
    let day = 86_400_000;
    for (query, field) in [
        (format!("from={}&to={}", now - day, now - 2 * day), "from"),
        (format!("from={now}&to={now}"), "from"),
        (format!("from={}&to={now}", now - 32 * day), "to"),
        (format!("from={}", now - 32 * day), "to"),
        (format!("to={}", now + day), "to"),
        (format!("from={}&to=-9223372036854775808", now), "from"),
        ("from=yesterday".to_owned(), "from"),
        ("period=1d".to_owned(), "period"),
    ] {
        let resp = v
            .http
            .get(format!("{}/recommendations/?{query}", v.base))
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        let answer: Value = resp.json().await.expect("JSON");
        assert_eq!(
            (status.as_u16(), &answer["field"]),
            (400, &json!(field)),
            "{query}: {answer}"
        );
    }
    // The defaults: the last day.
    let got: RecommendationList = v.get_json("/recommendations/").await;
    assert_eq!(got.to - got.from, day);
    assert!(got.to >= now);
    v.server.shutdown().await.expect("shutdown");
}
