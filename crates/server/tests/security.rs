//! The attacks a default install must refuse, each checked to leave nothing
//! changed: a cross-site `text/plain` POST, a DNS-rebinding `Host`, a
//! proxied request to a server without tokens, an oversized ingest body, a
//! flood of changes, too many live streams; the security headers on every
//! answer; and a panicking handler that leaves the server and its store
//! usable.

mod common;

use common::Client as _;

use std::time::Duration;

use axum::routing::get;
use serde_json::json;
use vigie_api::{ErrorBody, MonitoringState};

async fn monitoring(v: &common::Vigie) -> bool {
    let state: MonitoringState = v.get_json("/monitoring/").await;
    state.monitoring
}

async fn refused(resp: reqwest::Response, status: u16, field: Option<&str>) -> ErrorBody {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.expect("a JSON error");
    assert_eq!(body.field.as_deref(), field, "{}", body.error);
    body
}

#[tokio::test]
async fn a_cross_site_post_changes_nothing() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| {
        c.cors_origins = vec!["http://portal.example".into()];
    })
    .await;
    let own = format!("http://{}", v.server.addr());
    let post = |path: &str| v.http.post(format!("{}{path}", v.base));
    assert!(monitoring(&v).await);

    // What a hostile page can send without a preflight (simple requests),
    // and a non-browser client's non-JSON body: (path, headers, body,
    // status, field named).
    type Attempt<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, u16, &'a str);
    let attempts: [Attempt<'_>; 4] = [
        (
            "/stop-monitoring/",
            &[
                ("content-type", "text/plain"),
                ("origin", "http://evil.example"),
            ],
            "{}",
            403,
            "Origin",
        ),
        (
            "/targets/",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "null"),
            ],
            "name=x&url=http://127.0.0.1:9/",
            403,
            "Origin",
        ),
        (
            "/stop-monitoring/",
            &[("content-type", "text/plain")],
            "{}",
            415,
            "Content-Type",
        ),
        (
            "/stop-monitoring/",
            &[
                ("content-type", "application/json"),
                ("sec-fetch-site", "cross-site"),
            ],
            "{}",
            403,
            "Origin",
        ),
    ];
    for (path, headers, body, status, field) in attempts {
        let mut req = post(path).body(body);
        for (k, val) in headers {
            req = req.header(*k, *val);
        }
        let answer = refused(req.send().await.expect("POST"), status, Some(field)).await;
        if let Some((_, origin)) = headers.iter().find(|(k, _)| *k == "origin") {
            assert!(answer.error.contains(origin), "{}", answer.error);
        }
    }
    assert!(monitoring(&v).await, "monitoring still on");
    let targets: vigie_api::TargetList = v.get_json("/targets/").await;
    assert!(targets.targets.is_empty(), "no target added");

    // The server's own page and an allowed portal may change things.
    for origin in [own.as_str(), "http://portal.example"] {
        let resp = post("/stop-monitoring/")
            .header("origin", origin)
            .json(&json!({}))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), 200, "{origin}");
        assert!(!monitoring(&v).await);
        post("/start-monitoring/")
            .header("origin", origin)
            .json(&json!({}))
            .send()
            .await
            .expect("POST");
    }
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_rebinding_host_is_refused_for_reads_changes_and_files() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("index.html"), "<title>Vigie</title>").expect("index");
    let v = common::vigie(data.path(), |_| {}).await;
    let port = v.server.addr().port();
    let origin = format!("http://{}", v.server.addr());
    for (method, path) in [
        ("GET", "/api/performance/metrics/"),
        ("GET", "/api/performance/targets/"),
        ("GET", "/"),
        ("POST", "/api/performance/stop-monitoring/"),
    ] {
        let req = v
            .http
            .request(method.parse().expect("method"), format!("{origin}{path}"))
            .header("host", format!("evil.example:{port}"));
        let req = if method == "POST" {
            req.json(&json!({}))
        } else {
            req
        };
        let body = refused(req.send().await.expect("request"), 421, Some("Host")).await;
        assert!(body.error.contains("evil.example"), "{}", body.error);
    }
    assert!(monitoring(&v).await, "monitoring still on");
    let ok = v
        .http
        .get(format!("{origin}/api/performance/monitoring/"))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_proxied_request_to_a_server_without_tokens_is_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let resp = v
            .http
            .post(format!("{}/stop-monitoring/", v.base))
            .header(header, "203.0.113.9")
            .json(&json!({}))
            .send()
            .await
            .expect("POST");
        refused(resp, 403, Some("Authorization")).await;
    }
    assert!(monitoring(&v).await);
    v.server.shutdown().await.expect("shutdown");
}

fn records(n: usize) -> serde_json::Value {
    let one = json!({"endpoint": "/x", "method": "GET", "status": 200, "duration_ms": 1.0});
    json!({ "records": vec![one; n] })
}

async fn requests_stored(v: &common::Vigie) -> u64 {
    let m: vigie_api::MetricsResponse = v.get_json("/metrics/?source=requests&range=1h").await;
    m.performance_metrics.total_requests
}

#[tokio::test]
async fn an_oversized_ingest_body_is_refused_and_nothing_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.ingest_max_records = 10).await;
    let ingest = format!("{}/ingest/", v.base);
    let resp = v
        .http
        .post(&ingest)
        .json(&records(11))
        .send()
        .await
        .expect("POST");
    let body = refused(resp, 413, Some("records")).await;
    assert!(body.error.contains("10"), "{}", body.error);
    // A body past the limit sized for 10 records (2 KiB each and 64 KiB):
    // refused before it is parsed, whatever it holds.
    let huge = format!(
        r#"{{"records":[{{"endpoint":"/{}","method":"GET","status":200,"duration_ms":1}}]}}"#,
        "x".repeat(10 * 2048 + 65_536)
    );
    let resp = v
        .http
        .post(&ingest)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    refused(resp, 413, Some("records")).await;
    assert_eq!(requests_stored(&v).await, 0, "nothing stored");
    let resp = v
        .http
        .post(&ingest)
        .json(&records(10))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200, "a full batch is accepted");
    assert_eq!(requests_stored(&v).await, 10);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_flood_of_changes_gets_429_and_changes_nothing_more() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.changes_per_minute = 3).await;
    let post = |path: &str| {
        v.http
            .post(format!("{}{path}", v.base))
            .json(&json!({}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            post("/start-monitoring/").await.expect("POST").status(),
            200
        );
    }
    let resp = post("/stop-monitoring/").await.expect("POST");
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    // 3 a minute: the next one in 20 s.
    assert!((1..=20).contains(&wait), "{wait}");
    let _: ErrorBody = resp.json().await.expect("JSON error");
    assert!(monitoring(&v).await, "the refused stop did not happen");
    // Reads are not limited.
    for _ in 0..10 {
        assert!(monitoring(&v).await);
    }
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn too_many_stream_clients_get_503_until_one_leaves() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.max_streams = 2).await;
    let url = format!("{}/stream/", v.base);
    let first = v.http.get(&url).send().await.expect("GET");
    let second = v.http.get(&url).send().await.expect("GET");
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = v.http.get(&url).send().await.expect("GET");
    assert_eq!(third.status(), 503);
    assert!(third.headers().contains_key("retry-after"));
    let _: ErrorBody = third.json().await.expect("JSON error");
    drop(first);
    // The server notices the closed connection at its next write (a
    // sample every second): poll until a slot is free.
    let again = common::poll(Duration::from_secs(10), || async {
        let r = v.http.get(&url).send().await.ok()?;
        (r.status() == 200).then_some(r)
    })
    .await;
    drop((second, again));
    v.server.shutdown().await.expect("shutdown");
}

/// What the build writes into index.html: one inline module script.
const INDEX: &str = "<!DOCTYPE html><html><head><script type=\"module\">import init from '/vigie.js';await init();</script></head><body></body></html>";
/// `printf %s "import init from '/vigie.js';await init();" | openssl dgst -sha256 -binary | base64`
const INDEX_SCRIPT_HASH: &str = "'sha256-pmjDvQ/s5gYl56WYhTpca34HVyNlQmzmNktuIqRlBuc='";

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("index.html"), INDEX).expect("index");
    let v = common::vigie(data.path(), |c| {
        c.connect_src = vec!["https://api.example".into()];
    })
    .await;
    let origin = format!("http://{}", v.server.addr());
    let page = v
        .http
        .get(format!("{origin}/alerts"))
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().expect("ascii");
    for part in [
        "default-src 'self'",
        &format!("script-src 'self' 'wasm-unsafe-eval' {INDEX_SCRIPT_HASH}"),
        "connect-src 'self' https://api.example",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    // A revalidated page (304, no Content-Type) keeps the dashboard's
    // policy: the browser puts the 304's headers on its cached copy.
    let modified = v
        .http
        .get(format!("{origin}/"))
        .send()
        .await
        .expect("GET")
        .headers()["last-modified"]
        .clone();
    let revalidated = v
        .http
        .get(format!("{origin}/"))
        .header("if-modified-since", modified)
        .send()
        .await
        .expect("GET");
    assert_eq!(revalidated.status(), 304);
    assert_eq!(
        revalidated.headers()["content-security-policy"]
            .to_str()
            .expect("ascii"),
        csp
    );
    for path in [
        "/api/performance/monitoring/",
        "/api/performance/nothing-here/",
        "/livez",
    ] {
        let resp = v
            .http
            .get(format!("{origin}{path}"))
            .send()
            .await
            .expect("GET");
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }
    v.server.shutdown().await.expect("shutdown");

    // With portals configured, they may frame the dashboard.
    let v = common::vigie(data.path(), |c| {
        c.frame_ancestors = vec!["https://portal.example".into()];
    })
    .await;
    let page = v
        .http
        .get(format!("http://{}/", v.server.addr()))
        .send()
        .await
        .expect("GET");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("frame-ancestors https://portal.example;"),
        "{csp}"
    );
    assert!(!page.headers().contains_key("x-frame-options"));
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_panic_answers_500_and_leaves_the_server_and_store_usable() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let state = v.server.state().clone();

    // A panic inside a store transaction, with the connection held.
    let store = state.store().clone();
    let failed = store
        .call(|s| {
            s.transaction::<()>(|tx| {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES ('left-behind', 'x')",
                    [],
                )?;
                panic!("a bug while writing");
            })
        })
        .await;
    assert!(failed.is_err());
    let left = store
        .call(|s| s.setting("left-behind"))
        .await
        .expect("the store still answers");
    assert_eq!(left, None, "the panicking transaction was rolled back");

    // A panicking handler behind the same layers as every route.
    let boom = axum::Router::new().route(
        "/api/performance/boom",
        get(|uri: axum::http::Uri| async move {
            let found: Option<&str> = uri.query();
            found.expect("a bug in a handler: no query").to_owned()
        }),
    );
    let addr = common::serve(vigie_server::app_with(state, boom)).await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("http://{addr}/api/performance/boom"))
        .send()
        .await
        .expect("GET");
    let body = refused(resp, 500, None).await;
    assert_eq!(body.error, "internal error", "no detail sent");
    // Still serving, reading and writing.
    let resp = http
        .post(format!("http://{addr}/api/performance/stop-monitoring/"))
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200);
    assert!(!monitoring(&v).await);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn slow_requests_time_out_and_requests_past_the_cap_are_refused_but_streams_stay_open() {
    use std::sync::Arc;
    use tokio::sync::Notify;

    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| {
        c.request_timeout_ms = 300;
        c.max_concurrent_requests = 1;
        c.sample_interval_ms = 200;
    })
    .await;
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    let slow = axum::Router::new().route(
        "/api/performance/slow",
        get({
            let (release, entered) = (release.clone(), entered.clone());
            move || async move {
                entered.notify_one();
                release.notified().await;
                "done"
            }
        }),
    );
    let addr = common::serve(vigie_server::app_with(v.server.state().clone(), slow)).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");

    // Held past the time limit: 503, not a hung connection.
    let timed_out = http
        .get(url("/api/performance/slow"))
        .send()
        .await
        .expect("GET");
    let body = refused(timed_out, 503, None).await;
    assert!(body.error.contains("too long"), "{}", body.error);
    // (That request told it entered; take that signal before the next.)
    entered.notified().await;

    // One request in progress: the next one is refused at once.
    let held = tokio::spawn({
        let http = http.clone();
        let u = url("/api/performance/slow");
        async move { http.get(u).send().await.map(|r| r.status().as_u16()) }
    });
    entered.notified().await;
    let busy = http
        .get(url("/api/performance/monitoring/"))
        .send()
        .await
        .expect("GET");
    assert!(busy.headers().contains_key("retry-after"));
    let body = refused(busy, 503, None).await;
    assert!(body.error.contains("in progress"), "{}", body.error);
    release.notify_one();
    assert_eq!(held.await.expect("task").expect("GET"), 200);

    // The live stream is neither timed nor counted: it still delivers
    // samples well after the time limit, while other requests are served.
    let mut stream = http
        .get(url("/api/performance/stream/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(stream.status(), 200);
    let opened = tokio::time::Instant::now();
    let mut seen = String::new();
    while opened.elapsed() < Duration::from_millis(900) || !seen.contains("event: sample") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("the stream goes on past the time limit")
            .expect("chunk")
            .expect("not ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let ok = http
        .get(url("/api/performance/monitoring/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200, "an open stream takes no request slot");
    drop(stream);
    v.server.shutdown().await.expect("shutdown");
}
