//! Request records sent by applications: stored, summarised, ranked; bad
//! batches refused whole; acknowledged batches surviving a SIGKILL.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use vigie_api::{EndpointList, ErrorBody, IngestAck, MetricsResponse};
use vigie_server::Server;

mod common;

async fn vigie(data: &Path, max_records: u64) -> (Server, String) {
    let v = common::vigie(data, |c| c.ingest_max_records = max_records).await;
    (v.server, v.base)
}

fn record(endpoint: &str, status: u16, duration_ms: f64, service: &str) -> Value {
    json!({"endpoint": endpoint, "method": "GET", "status": status, "duration_ms": duration_ms, "service": service})
}

async fn post(base: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/ingest/"))
        .json(body)
        .send()
        .await
        .expect("POST")
}

async fn get<T: serde::de::DeserializeOwned>(url: String) -> T {
    let resp = reqwest::get(&url).await.expect("GET");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("JSON")
}

#[tokio::test]
async fn ingested_requests_are_summarised_and_ranked_per_endpoint() {
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = vigie(data.path(), 10_000).await;
    // /orders: 1..=100 ms, two of them answered 500 and one 404; /search: ten slow ones.
    let mut records: Vec<Value> = (1..=100)
        .map(|i| {
            let status = match i {
                10 | 20 => 500,
                30 => 404,
                _ => 200,
            };
            record("/orders", status, f64::from(i), "shop")
        })
        .collect();
    records.extend((0..10).map(|_| record("/search", 200, 300.0, "shop")));
    records.push(record("/orders", 200, 5.0, "admin"));
    let resp = post(&base, &json!({"records": records})).await;
    assert_eq!(resp.status(), 200);
    let ack: IngestAck = resp.json().await.expect("ack");
    assert_eq!(ack.stored, 111);

    let m: MetricsResponse = get(format!(
        "{base}/metrics/?source=requests&service=shop&endpoint=/orders&range=5m"
    ))
    .await;
    let pm = m.performance_metrics;
    assert_eq!(pm.total_requests, 100);
    assert_eq!(pm.error_rate, Some(2.0), "5xx only: a 404 is the client's");
    assert_eq!(
        (pm.p50, pm.p95, pm.p99),
        (Some(50.0), Some(95.0), Some(99.0))
    );
    assert_eq!(pm.avg_response_time, Some(50.5));
    assert_eq!(m.series.iter().map(|p| p.count).sum::<u64>(), 100);

    let all: MetricsResponse = get(format!("{base}/metrics/?source=requests&range=5m")).await;
    assert_eq!(all.performance_metrics.total_requests, 111);

    let by_p95: EndpointList = get(format!("{base}/endpoints/?range=5m")).await;
    let rows: Vec<(&str, &str, u64)> = by_p95
        .endpoints
        .iter()
        .map(|e| (e.service.as_str(), e.endpoint.as_str(), e.count))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("shop", "/search", 10),
            ("shop", "/orders", 100),
            ("admin", "/orders", 1)
        ]
    );
    assert_eq!(by_p95.endpoints[1].p95, 95.0);
    assert_eq!(by_p95.endpoints[1].error_rate, 2.0);
    let by_count: EndpointList = get(format!(
        "{base}/endpoints/?range=5m&sort=count&service=shop"
    ))
    .await;
    assert_eq!(by_count.endpoints[0].endpoint, "/orders");
    assert_eq!(by_count.endpoints.len(), 2, "the service filter applies");
    server.shutdown().await.expect("shutdown");
}

async fn assert_refused(resp: reqwest::Response, status: u16, field: &str) {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.expect("JSON error");
    assert_eq!(body.field.as_deref(), Some(field), "{}", body.error);
}

#[tokio::test]
async fn bad_batches_are_refused_whole_with_the_record_and_field_named() {
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = vigie(data.path(), 10).await;
    let good = record("/ok", 200, 1.0, "svc");
    let batch = |bad: Value| json!({"records": [good.clone(), bad, good.clone()]});
    let with = |k: &str, v: Value| {
        let mut r = good.clone();
        r[k] = v;
        r
    };
    let future = vigie_server::now_ms() + 3_600_000;
    for (bad, field) in [
        (with("duration_ms", json!("fast")), "records[1].duration_ms"),
        (with("duration_ms", json!(-3)), "records[1].duration_ms"),
        (with("status", json!(42)), "records[1].status"),
        (with("status", json!(700)), "records[1].status"),
        (with("timestamp", json!(future)), "records[1].timestamp"),
        (with("endpoint", json!("")), "records[1].endpoint"),
    ] {
        assert_refused(post(&base, &batch(bad)).await, 400, field).await;
    }
    let malformed = reqwest::Client::new()
        .post(format!("{base}/ingest/"))
        .header("content-type", "application/json")
        .body("{\"records\": [")
        .send()
        .await
        .expect("POST");
    assert_refused(malformed, 400, "body").await;
    assert_refused(post(&base, &json!({"records": []})).await, 400, "records").await;
    let eleven: Vec<Value> = (0..11).map(|_| good.clone()).collect();
    assert_refused(
        post(&base, &json!({"records": eleven})).await,
        413,
        "records",
    )
    .await;

    // Not one of the valid records of the refused batches was stored.
    let m: MetricsResponse = get(format!("{base}/metrics/?source=requests&range=5m")).await;
    assert_eq!(m.performance_metrics.total_requests, 0);
    assert_eq!(m.performance_metrics.error_rate, None);

    let bad_filter = reqwest::get(format!("{base}/metrics/?source=requests&target=1"))
        .await
        .expect("GET");
    assert_refused(bad_filter, 400, "target").await;
    let bad_source = reqwest::get(format!("{base}/metrics/?source=logs"))
        .await
        .expect("GET");
    assert_refused(bad_source, 400, "source").await;
    for (query, field) in [
        ("endpoints/?sort=name", "sort"),
        ("endpoints/?limit=0", "limit"),
        ("endpoints/?source=scrape", "target"),
        ("endpoints/?target=1", "target"),
        ("endpoints/?source=logs", "source"),
        ("metrics/?source=probes&service=shop", "service"),
        ("metrics/?source=scrape&target=1&service=shop", "service"),
    ] {
        let resp = reqwest::get(format!("{base}/{query}")).await.expect("GET");
        assert_refused(resp, 400, field).await;
    }
    server.shutdown().await.expect("shutdown");
}

/// The real binary, fed batches one after another, killed with SIGKILL.
#[tokio::test]
async fn acknowledged_batches_survive_a_sigkill_and_no_batch_is_half_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let spawn = || common::spawn_binary(port, data.path(), &[("VIGIE_DEFAULT_TARGET", "false")]);
    let base = format!("http://127.0.0.1:{port}/api/performance");
    let ready = || common::wait_ready(port);
    let mut child = spawn();
    ready().await;

    // How many batches have been acknowledged so far, for the kill to wait on.
    let acks = Arc::new(AtomicUsize::new(0));
    let sender = {
        let base = base.clone();
        let acks = acks.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let records: Vec<Value> = (0..1000)
                    .map(|n| record("/x", 200, f64::from(n % 50), &format!("batch-{i}")))
                    .collect();
                match reqwest::Client::new()
                    .post(format!("{base}/ingest/"))
                    .json(&json!({"records": records}))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        acked.push(i);
                        acks.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return (acked, i),
                }
            }
            unreachable!()
        })
    };
    // Killed once three batches are acknowledged: the sender posts the next
    // one at once, so the kill lands mid-stream.
    common::poll(Duration::from_secs(30), || {
        let acks = acks.clone();
        async move { (acks.load(Ordering::SeqCst) >= 3).then_some(()) }
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let (acked, last) = sender.await.expect("sender");
    assert!(
        acked.len() >= 3,
        "batches were acknowledged before the kill: {}",
        acked.len()
    );

    let mut child = spawn();
    ready().await;
    let count = |i: i64| {
        let base = base.clone();
        async move {
            let m: MetricsResponse = get(format!(
                "{base}/metrics/?source=requests&service=batch-{i}&range=1h"
            ))
            .await;
            m.performance_metrics.total_requests
        }
    };
    for i in &acked {
        assert_eq!(count(*i).await, 1000, "acknowledged batch {i} is all there");
    }
    let unacked = count(last).await;
    assert!(
        unacked == 0 || unacked == 1000,
        "the batch in flight is all or nothing: {unacked}"
    );
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// Answers are cached per second and write: an acknowledged batch must show
/// in the very next answer, even within the same second as a cached one.
#[tokio::test]
async fn an_acknowledged_batch_shows_in_the_next_answer_despite_the_cache() {
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = vigie(data.path(), 10_000).await;
    let url = format!("{base}/metrics/?source=requests&service=shop&range=5m");
    for round in 1..=5u64 {
        let before: MetricsResponse = get(url.clone()).await;
        let again: MetricsResponse = get(url.clone()).await;
        assert_eq!(
            before.performance_metrics.total_requests,
            again.performance_metrics.total_requests
        );
        let records: Vec<Value> = (0..3).map(|_| record("/a", 200, 10.0, "shop")).collect();
        let resp = post(&base, &json!({ "records": records })).await;
        assert_eq!(resp.status(), 200);
        let after: MetricsResponse = get(url.clone()).await;
        assert_eq!(after.performance_metrics.total_requests, round * 3);
        assert_eq!(
            after.performance_metrics.total_requests,
            before.performance_metrics.total_requests + 3
        );
        let ranked: EndpointList = get(format!("{base}/endpoints/?service=shop&range=5m")).await;
        assert_eq!(ranked.endpoints[0].count, round * 3);
    }
    server.shutdown().await.expect("shutdown");
}

/// The dashboard's questions are answered ahead: after a batch is stored,
/// the answer for the new data is computed before anyone asks again.
#[tokio::test]
async fn after_a_write_the_asked_answers_are_ready_before_they_are_asked_again() {
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = vigie(data.path(), 10_000).await;
    let query = "source=requests&service=shop&range=5m";
    let first: MetricsResponse = get(format!("{base}/metrics/?{query}")).await;
    assert_eq!(first.performance_metrics.total_requests, 0);
    let parsed: vigie_api::MetricsQuery = serde_urlencoded::from_str(query).expect("query");
    let key = vigie_server::cache::key(vigie_api::paths::METRICS, &parsed);
    let requests = vigie_server::store::Data::REQUESTS;
    let before = server.state().store().generation_of(requests);
    let records: Vec<Value> = (0..4).map(|_| record("/a", 200, 10.0, "shop")).collect();
    assert_eq!(
        post(&base, &json!({ "records": records })).await.status(),
        200
    );
    let state = server.state().clone();
    common::poll(Duration::from_secs(10), || {
        let (state, key) = (state.clone(), key.clone());
        async move {
            let generation = state.store().generation_of(requests);
            (generation > before
                && state
                    .cache()
                    .is_ready(&key, generation, vigie_server::now_ms()))
            .then_some(())
        }
    })
    .await;
    // What was computed ahead is the new data.
    let after: MetricsResponse = get(format!("{base}/metrics/?{query}")).await;
    assert_eq!(after.performance_metrics.total_requests, 4);
    server.shutdown().await.expect("shutdown");
}
