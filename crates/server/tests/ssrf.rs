//! The fetch policy through the real server: metadata and link-local URLs
//! refused when a target is created or replaced (nothing stored), a real
//! loopback server redirecting to the metadata address (the probe blocked,
//! the scrape refusing any redirect), an allowlist refusing loopback, a
//! scrape body over the cap read as an error, nothing of it stored, and a
//! targets file with a metadata URL stopping the start.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};
use vigie_api::{ErrorBody, MetricsResponse, Outcome, SystemResources, Target, TargetList};
use vigie_server::scrape::SCRAPE_MAX_BYTES;

mod common;

use common::Client as _;

const METADATA_URL: &str = "http://169.254.169.254/latest/meta-data/";

impl common::Vigie {
    async fn create(&self, body: &Value) -> Target {
        let resp = self.send(reqwest::Method::POST, "/targets/", body).await;
        assert_eq!(resp.status(), 201, "POST targets/ {body}");
        resp.json().await.expect("target")
    }

    /// Target `id` once `done` holds of it (20 s at most), polled.
    async fn target_when(&self, id: i64, done: impl Fn(&Target) -> bool) -> Target {
        for _ in 0..200 {
            let t: Target = self.get_json(&format!("/targets/{id}/")).await;
            if done(&t) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("target {id}: condition not met within 20 s");
    }

    async fn specs(&self) -> Vec<(i64, vigie_api::TargetSpec)> {
        let list: TargetList = self.get_json("/targets/").await;
        list.targets.into_iter().map(|t| (t.id, t.spec)).collect()
    }
}

async fn assert_refused_url(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 400, "a refused URL is a bad request");
    let body: ErrorBody = resp.json().await.expect("JSON error body");
    assert_eq!(body.field.as_deref(), Some("url"), "{}", body.error);
    body.error
}

fn target(name: &str, url: &str, kind: &str) -> Value {
    json!({"name": name, "url": url, "kind": kind, "interval_ms": 1000, "timeout_ms": 900})
}

/// A loopback server: `/meta` redirects to the metadata address, `/moved`
/// to its own `/metrics`, which is a valid exposition. Counts requests.
async fn redirector() -> (SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counted = hits.clone();
    let app = Router::new()
        .route(
            "/meta",
            get(move || {
                counted.fetch_add(1, Ordering::Relaxed);
                async { (StatusCode::FOUND, [(header::LOCATION, METADATA_URL)]) }
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/metrics")]) }),
        )
        .route("/metrics", get(|| async { "up 1\n" }));
    (common::serve(app).await, hits)
}

#[tokio::test]
async fn metadata_and_link_local_urls_are_refused_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    for (url, kind) in [
        (METADATA_URL, "http"),
        ("http://[fe80::1]/", "http"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "http",
        ),
        ("http://METADATA.Google.Internal./", "http"),
        ("http://[::ffff:169.254.169.254]/", "http"),
        // The same address in decimal: the URL parser normalises it.
        ("http://2852039166/latest/meta-data/", "http"),
        ("http://169.254.169.254/metrics", "prometheus"),
    ] {
        let resp = v
            .send(
                reqwest::Method::POST,
                "/targets/",
                &target("meta", url, kind),
            )
            .await;
        let error = assert_refused_url(resp).await;
        assert!(error.contains("refused"), "{url}: {error}");
    }
    assert_eq!(v.specs().await, vec![], "nothing was stored");

    // Replacing a good target with a metadata URL leaves it as it was.
    let (up, _) = redirector().await;
    let good = v
        .create(&target("good", &format!("http://{up}/metrics"), "http"))
        .await;
    let before = v.specs().await;
    let put = v
        .send(
            reqwest::Method::PUT,
            &format!("/targets/{}/", good.id),
            &target("good", METADATA_URL, "http"),
        )
        .await;
    assert_refused_url(put).await;
    assert_eq!(v.specs().await, before, "the target is unchanged");
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_blocked_not_followed() {
    let (up, hits) = redirector().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    // Its URL is loopback: accepted. Where it leads is checked at each probe.
    let t = v
        .create(&target("redirects", &format!("http://{up}/meta"), "http"))
        .await;
    let t = v.target_when(t.id, |t| t.last_result.is_some()).await;
    let last = t.last_result.expect("a result");
    // Following the redirect would have ended in timeout or refused (nothing
    // answers 169.254.169.254 here): "blocked" means it was never tried.
    assert_eq!(last.outcome, Outcome::Blocked);
    assert_eq!((last.latency_ms, last.status), (None, None));
    assert!(
        hits.load(Ordering::Relaxed) >= 1,
        "the loopback server was asked"
    );

    // A redirect the policy allows is still followed by an HTTP probe.
    let moved = v
        .create(&target("moved", &format!("http://{up}/moved"), "http"))
        .await;
    let moved = v.target_when(moved.id, |t| t.last_result.is_some()).await;
    let last_moved = moved.last_result.expect("a result");
    assert_eq!(
        (last_moved.outcome, last_moved.status),
        (Outcome::Ok, Some(200))
    );

    // Stored as a failed probe.
    let mut stored = None;
    for _ in 0..150 {
        let m: MetricsResponse = v
            .get_json(&format!("/metrics/?target={}&range=5m", t.id))
            .await;
        if m.performance_metrics.total_requests >= 1 {
            stored = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = stored.expect("the result stored within 15 s");
    assert_eq!(stored.performance_metrics.availability, Some(0.0));
    let origin = v.base.trim_end_matches("/api/performance");
    let exposition = v
        .http
        .get(format!("{origin}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    assert!(
        exposition
            .lines()
            .any(|l| l.starts_with("vigie_probes_total{outcome=\"blocked\"}") && !l.ends_with(" 0")),
        "{exposition}"
    );
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_scrape_follows_no_redirect_and_says_so() {
    let (up, _) = redirector().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    for path in ["meta", "moved"] {
        let t = v
            .create(&target(path, &format!("http://{up}/{path}"), "prometheus"))
            .await;
        let t = v.target_when(t.id, |t| t.last_error.is_some()).await;
        let error = t.last_error.expect("why");
        assert!(error.contains("redirect"), "{path}: {error}");
        assert!(error.chars().count() <= 201, "{path}: {error}");
        let last = t.last_result.expect("a result");
        assert_eq!((last.outcome, last.status), (Outcome::Error, Some(302)));
    }
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn with_an_allowlist_a_loopback_target_is_refused() {
    let (up, _) = redirector().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.fetch_allow = vec!["10.0.0.0/8".into()]).await;
    for url in [
        format!("http://{up}/metrics"),
        // A name is resolved when saved: localhost is loopback too.
        format!("http://localhost:{}/metrics", up.port()),
    ] {
        for kind in ["http", "prometheus"] {
            let resp = v
                .send(
                    reqwest::Method::POST,
                    "/targets/",
                    &target("lo", &url, kind),
                )
                .await;
            let error = assert_refused_url(resp).await;
            assert!(error.contains("VIGIE_FETCH_ALLOW"), "{url}: {error}");
        }
    }
    assert_eq!(v.specs().await, vec![], "nothing was stored");
    v.server.shutdown().await.expect("shutdown");
}

/// node_exporter's counters as one scrape shows them; `n` grows per scrape
/// so that two scrapes make a host sample.
fn node_exposition(n: u64) -> String {
    format!(
        "node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} {}\n\
         node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} {}\n\
         node_memory_MemTotal_bytes 1000000\n\
         node_memory_MemAvailable_bytes 500000\n",
        100 + n,
        50 + n
    )
}

/// Serves the node exposition at `/small`, and at `/big` the same followed
/// by comment lines (valid, and ignored by a reader) past the scrape cap,
/// streamed chunk by chunk without a length.
async fn node_server() -> SocketAddr {
    let scrapes = Arc::new(AtomicU64::new(0));
    let small = scrapes.clone();
    let big = scrapes;
    let app = Router::new()
        .route(
            "/small",
            get(move || {
                let n = small.fetch_add(1, Ordering::Relaxed);
                async move { node_exposition(n) }
            }),
        )
        .route(
            "/big",
            get(move || {
                let n = big.fetch_add(1, Ordering::Relaxed);
                async move {
                    let line = format!("# padding {}\n", "x".repeat(1000));
                    let chunk = Bytes::from(line.repeat(64));
                    let chunks = SCRAPE_MAX_BYTES / chunk.len() + 2;
                    let head = std::iter::once(Bytes::from(node_exposition(n)));
                    let body = head.chain(std::iter::repeat_n(chunk, chunks));
                    Body::from_stream(futures_util::stream::iter(body.map(Ok::<_, Infallible>)))
                }
            }),
        );
    common::serve(app).await
}

#[tokio::test]
async fn a_scrape_body_over_the_cap_is_an_error_and_nothing_of_it_is_stored() {
    let up = node_server().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let scrape = |name: &str, path: &str| {
        json!({"name": name, "url": format!("http://{up}/{path}"), "kind": "prometheus",
               "interval_ms": 2000, "timeout_ms": 2000})
    };
    let big = v.create(&scrape("big", "big")).await;
    let small = v.create(&scrape("small", "small")).await;

    // The same exposition, within the cap, makes host samples.
    let host = |id: i64| {
        let v = &v;
        async move {
            let r: SystemResources = v.get_json(&format!("/system-resources/?host={id}")).await;
            r.series.len()
        }
    };
    let mut samples = 0;
    for _ in 0..150 {
        samples = host(small.id).await;
        if samples >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(samples >= 1, "the small exposition gives a host sample");

    // Past the cap: every scrape fails, says why, and leaves nothing (two
    // scrapes in a row would make a host sample, as the small one shows).
    let t = v.target_when(big.id, |t| t.consecutive_failures >= 2).await;
    let error = t.last_error.expect("why");
    assert_eq!(
        error,
        format!("body larger than {SCRAPE_MAX_BYTES} bytes: not read")
    );
    let last = t.last_result.expect("a result");
    assert_eq!((last.outcome, last.latency_ms), (Outcome::Error, None));
    assert_eq!(host(big.id).await, 0, "no host sample from a cut body");
    let scraped: MetricsResponse = v
        .get_json(&format!(
            "/metrics/?source=scrape&target={}&range=5m",
            big.id
        ))
        .await;
    assert_eq!(scraped.performance_metrics.total_requests, 0);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_targets_file_with_a_metadata_url_stops_the_start_and_stores_nothing() {
    let (up, _) = redirector().await;
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("targets.json");
    std::fs::write(
        &file,
        json!([
            target("good", &format!("http://{up}/metrics"), "http"),
            target("meta", METADATA_URL, "http"),
        ])
        .to_string(),
    )
    .expect("write");
    let mut config = vigie_server::Config::local(data.path(), data.path());
    config.default_target = false;
    config.targets_file = Some(file);
    let err = vigie_server::start(config)
        .await
        .expect_err("a refused URL stops the start");
    let text = err.to_string();
    assert!(
        text.contains("targets.json") && text.contains("target #2") && text.contains("refused"),
        "{text}"
    );
    // Started without the file: not even the good target of it was stored.
    let v = common::vigie(data.path(), |_| {}).await;
    assert_eq!(v.specs().await, vec![]);
    v.server.shutdown().await.expect("shutdown");
}
