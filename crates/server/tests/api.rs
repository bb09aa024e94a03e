//! The server started for real on a loopback port, with a real SQLite file and
//! this host's real figures, driven over HTTP.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use vigie_api::{
    Alert, AlertList, AlertRule, ErrorBody, HostSample, Readiness, SystemResources, Target,
};
use vigie_server::{Config, Server, start};

mod common;
mod openapi;

struct Running {
    server: Server,
    base: String,
    client: reqwest::Client,
}

async fn launch(data: &Path, statics: &Path, interval_ms: u64) -> Running {
    launch_with(data, statics, |c| c.sample_interval_ms = interval_ms).await
}

/// [`launch`] with `configure`'s changes.
async fn launch_with(data: &Path, statics: &Path, configure: impl FnOnce(&mut Config)) -> Running {
    let mut config = Config::local(data, statics);
    // Only host samples on the stream in these tests.
    config.default_target = false;
    configure(&mut config);
    let server = start(config).await.expect("server starts");
    let base = format!("http://{}", server.addr());
    Running {
        server,
        base,
        client: reqwest::Client::new(),
    }
}

impl Running {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn resources(&self) -> SystemResources {
        let resp = self.get("/api/performance/system-resources/").await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("system-resources JSON")
    }

    /// Polls until the sampler has published a sample newer than `after`.
    async fn resources_after(&self, after: Option<i64>) -> SystemResources {
        for _ in 0..100 {
            let r = self.resources().await;
            if r.ts_ms.is_some() && r.ts_ms > after {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new sample within 5 s");
    }
}

fn proc_meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let line = text
        .lines()
        .find(|l| l.starts_with(key))
        .expect("key in meminfo");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("number");
    kib * 1024
}

fn df_size_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=size"])
        .arg(dir)
        .output()
        .expect("df runs");
    let text = String::from_utf8(out.stdout).expect("utf8");
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df size")
}

#[tokio::test]
async fn system_resources_are_this_hosts_real_figures() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 250).await;

    let first = app.resources_after(None).await;
    let second = app.resources_after(first.ts_ms).await;
    assert!(
        second.ts_ms > first.ts_ms,
        "a newer sample on the second read"
    );

    let caps = &second.capacities;
    assert_eq!(
        caps.memory_total_bytes,
        proc_meminfo("MemTotal:"),
        "memory total is the OS's"
    );
    assert_eq!(
        caps.disk_total_bytes,
        df_size_bytes(data.path()),
        "disk total is df's"
    );
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    assert_eq!(caps.cpu_cores as usize, cpus);

    let latest = second.series.last().expect("series has the latest sample");
    assert_eq!(Some(latest.ts_ms), second.ts_ms);
    assert_eq!(Some(latest.cpu_usage), second.cpu_usage);
    for s in &second.series {
        for v in [s.cpu_usage, s.memory_usage, s.disk_usage] {
            assert!((0.0..=100.0).contains(&v), "{v} is a percentage");
        }
        assert!(s.network_usage >= 0.0);
    }
    // Memory in use as the OS sees it now, within a few points of the sample.
    let os_used = 100.0 * (proc_meminfo("MemTotal:") - proc_meminfo("MemAvailable:")) as f64
        / proc_meminfo("MemTotal:") as f64;
    assert!((second.memory_usage.expect("memory") - os_used).abs() < 5.0);
    assert!(
        second.series.windows(2).all(|w| w[0].ts_ms < w[1].ts_ms),
        "oldest first"
    );

    app.server.shutdown().await.expect("clean shutdown");
}

/// What a JSON answer is made of, whatever its figures: each object's keys
/// with their values' shapes, an array as the distinct shapes of its
/// elements, and the type of each scalar.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = items.iter().map(shape).collect();
            shapes.sort_by_key(Value::to_string);
            shapes.dedup();
            Value::Array(shapes)
        }
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// Every seed path (the `/api/performance/` ones of the OpenAPI document, as
/// served, with a GET) answers the same with and without its trailing slash:
/// same status, same content type, same JSON shape.
#[tokio::test]
async fn every_seed_path_answers_with_and_without_trailing_slash() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch_with(data.path(), data.path(), |c| {
        c.sample_interval_ms = 200;
        c.alert_interval_ms = 200;
    })
    .await;
    app.resources_after(None).await;

    // Something behind each `{id}`: a target probed at least once, a rule,
    // and that rule's alert (memory use is always above 1 %).
    let resp = app
        .post(
            "/api/performance/targets/",
            &json!({"name": "itself", "url": format!("{}/livez", app.base),
                    "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let target: Target = resp.json().await.expect("target");
    common::poll(Duration::from_secs(10), || async {
        let t: Target = app
            .get(&format!("/api/performance/targets/{}/", target.id))
            .await
            .json()
            .await
            .expect("target");
        t.last_result.map(|_| ())
    })
    .await;
    let resp = app
        .post(
            "/api/performance/alert-rules/",
            &json!({"name": "memory", "metric": "memory_usage", "comparison": "above",
                    "threshold": 1, "severity": "low", "for_seconds": 0}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let rule: AlertRule = resp.json().await.expect("rule");
    let resp = app
        .post(
            "/api/performance/scaling-configurations/",
            &json!({"name": "web", "trigger_type": "cpu", "scope": {"kind": "host"},
                    "min_instances": 1, "max_instances": 3, "scale_up_threshold": 80,
                    "scale_down_threshold": 20, "executor": {"kind": "dry_run"}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let scaling: vigie_api::ScalingConfig = resp.json().await.expect("configuration");
    let resp = app
        .post("/api/performance/generate-report/", &json!({}))
        .await;
    assert_eq!(resp.status(), 202);
    let report: vigie_api::ReportInfo = resp.json().await.expect("report");
    let resp = app
        .post(
            "/api/performance/report-schedules/",
            &json!({"name": "daily", "frequency": "daily", "hour": 6}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let schedule: vigie_api::ReportSchedule = resp.json().await.expect("schedule");
    let resp = app
        .post(
            "/api/performance/cache-sources/",
            &json!({"name": "sessions", "url": "redis://127.0.0.1:6390", "enabled": false}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let cache_source: vigie_api::CacheSource = resp.json().await.expect("cache source");
    let resp = app
        .post(
            "/api/performance/database-sources/",
            &json!({"name": "shop", "url": "postgres://127.0.0.1:6391/shop", "username": "vigie", "enabled": false}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let database: vigie_api::DatabaseSource = resp.json().await.expect("database source");
    common::poll(Duration::from_secs(20), || async {
        let r: vigie_api::ReportInfo = app
            .get(&format!("/api/performance/reports/{}/", report.id))
            .await
            .json()
            .await
            .expect("report");
        (r.status == vigie_api::ReportStatus::Succeeded).then_some(())
    })
    .await;
    let alert: Alert = common::poll(Duration::from_secs(10), || async {
        let list: AlertList = app
            .get("/api/performance/alerts/?state=open")
            .await
            .json()
            .await
            .expect("alerts");
        list.alerts.into_iter().find(|a| a.rule_id == rule.id)
    })
    .await;
    // Nothing measured from here on: both forms of a path see the same state.
    let resp = app
        .post("/api/performance/stop-monitoring/", &json!({}))
        .await;
    assert_eq!(resp.status(), 200);

    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("OpenAPI JSON");
    let paths = doc["paths"].as_object().expect("paths");
    let mut walked = Vec::new();
    for (documented, ops) in paths {
        if !documented.starts_with("/api/performance/") || ops.get("get").is_none() {
            continue;
        }
        let with = match documented.as_str() {
            "/api/performance/targets/{id}/" => format!("/api/performance/targets/{}/", target.id),
            "/api/performance/alert-rules/{id}/" => {
                format!("/api/performance/alert-rules/{}/", rule.id)
            }
            "/api/performance/alerts/{id}/" => format!("/api/performance/alerts/{}/", alert.id),
            "/api/performance/scaling-configurations/{id}/" => {
                format!("/api/performance/scaling-configurations/{}/", scaling.id)
            }
            "/api/performance/reports/{id}/" => {
                format!("/api/performance/reports/{}/", report.id)
            }
            "/api/performance/report-schedules/{id}/" => {
                format!("/api/performance/report-schedules/{}/", schedule.id)
            }
            "/api/performance/cache-sources/{id}/" => {
                format!("/api/performance/cache-sources/{}/", cache_source.id)
            }
            "/api/performance/database-sources/{id}/" => {
                format!("/api/performance/database-sources/{}/", database.id)
            }
            // No database answers here, so no statement is known: both
            // forms say so alike.
            "/api/performance/slow-queries/{hash}/" => {
                let url = "/api/performance/slow-queries/42";
                let query = format!("?source={}", database.id);
                let (a, b) = (
                    app.get(&format!("{url}/{query}")).await,
                    app.get(&format!("{url}{query}")).await,
                );
                assert_eq!(
                    (a.status().as_u16(), b.status().as_u16()),
                    (404, 404),
                    "{url}"
                );
                walked.push(format!("{url}/"));
                continue;
            }
            // A file, not JSON: its format is the one query it needs.
            "/api/performance/reports/{id}/download/" => {
                let url = format!("/api/performance/reports/{}/download", report.id);
                let (a, b) = (
                    app.get(&format!("{url}/?format=json")).await,
                    app.get(&format!("{url}?format=json")).await,
                );
                assert_eq!(
                    (a.status().as_u16(), b.status().as_u16()),
                    (200, 200),
                    "{url}"
                );
                walked.push(format!("{url}/"));
                continue;
            }
            other if other.contains('{') => {
                panic!("{other}: give this test something that exists for it")
            }
            other => other.to_owned(),
        };
        assert!(
            with.ends_with('/'),
            "{documented} is documented with its slash"
        );
        let without = with.trim_end_matches('/');
        let (a, b) = (app.get(&with).await, app.get(without).await);
        assert_eq!(a.status(), 200, "{with}");
        assert_eq!(b.status(), a.status(), "{without} as {with}");
        let kind = |r: &reqwest::Response| {
            r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .to_owned()
        };
        assert_eq!(kind(&b), kind(&a), "{without} as {with}");
        if kind(&a) == "text/event-stream" {
            // The stream never ends: its type says what it is.
            walked.push(with);
            continue;
        }
        assert_eq!(kind(&a), "application/json", "{with}");
        let (a, b): (Value, Value) = (a.json().await.expect("JSON"), b.json().await.expect("JSON"));
        assert_eq!(shape(&b), shape(&a), "{without} as {with}");
        walked.push(with);
    }
    walked.sort_unstable();
    // The walk covers every seed path with a GET, written out here so that
    // a path dropped from the document fails the test too.
    let mut expected: Vec<String> = [
        "/api/performance/",
        "/api/performance/alert-rules/",
        "/api/performance/alerts/",
        "/api/performance/auto-scaling-status/",
        "/api/performance/cache-performance/",
        "/api/performance/cache-sources/",
        "/api/performance/database-insights/",
        "/api/performance/database-sources/",
        "/api/performance/endpoints/",
        "/api/performance/metrics/",
        "/api/performance/monitoring/",
        "/api/performance/recommendations/",
        "/api/performance/report-schedules/",
        "/api/performance/reports/",
        "/api/performance/scaling-actions/",
        "/api/performance/scaling-configurations/",
        "/api/performance/session/",
        "/api/performance/slow-queries/",
        "/api/performance/stream/",
        "/api/performance/system-resources/",
        "/api/performance/targets/",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([
        format!("/api/performance/alert-rules/{}/", rule.id),
        format!("/api/performance/alerts/{}/", alert.id),
        format!("/api/performance/targets/{}/", target.id),
        format!("/api/performance/scaling-configurations/{}/", scaling.id),
        format!("/api/performance/reports/{}/", report.id),
        format!("/api/performance/reports/{}/download/", report.id),
        format!("/api/performance/report-schedules/{}/", schedule.id),
        format!("/api/performance/cache-sources/{}/", cache_source.id),
        format!("/api/performance/database-sources/{}/", database.id),
        "/api/performance/slow-queries/42/".to_owned(),
    ])
    .collect();
    expected.sort_unstable();
    assert_eq!(walked, expected);
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404_not_the_dashboard() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 250).await;
    let resp = app.get("/api/performance/nope/").await;
    assert_eq!(resp.status(), 404);
    let body: ErrorBody = resp.json().await.expect("JSON error body");
    assert!(body.error.contains("/api/performance/nope/"));
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn readiness_waits_for_the_first_sample() {
    let data = tempfile::tempdir().expect("tempdir");
    // One sample a minute: the test ends long before the first one.
    let app = launch(data.path(), data.path(), 60_000).await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: Readiness = resp.json().await.expect("readiness JSON");
    assert_eq!(
        body,
        Readiness {
            ready: false,
            database: true,
            sampler: false
        }
    );
    assert_eq!(app.get("/livez").await.status(), 200);
    let empty = app.resources().await;
    assert_eq!(
        (empty.ts_ms, empty.cpu_usage),
        (None, None),
        "null, never a zero that looks measured"
    );
    app.server.shutdown().await.expect("clean shutdown");
}

/// Reads `n` SSE events (`id`, `data`) from a streaming response.
async fn read_events(resp: reqwest::Response, n: usize) -> Vec<(String, HostSample)> {
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events arrive in time")
            .expect("stream open")
            .expect("chunk");
        buf.push_str(std::str::from_utf8(&chunk).expect("utf8"));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut data, mut name) = (None, None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim().to_owned());
                }
            }
            if let (Some(id), Some(data), Some("sample")) = (id, data, name.as_deref()) {
                events.push((id, serde_json::from_str(&data).expect("sample JSON")));
            }
        }
    }
    events
}

#[tokio::test]
async fn stream_pushes_each_sample_and_resumes_after_last_event_id() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 200).await;
    let url = format!("{}/api/performance/stream/", app.base);

    let live = app.client.get(&url).send().await.expect("stream");
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let events = read_events(live, 3).await;
    for (id, sample) in &events {
        assert_eq!(
            id,
            &sample.ts_ms.to_string(),
            "the event id is the sample's timestamp"
        );
    }
    assert!(events.windows(2).all(|w| w[0].1.ts_ms < w[1].1.ts_ms));

    // Resume after the first event: the next ones come back, in order, none twice.
    let held = app.resources().await.series;
    let from = events[0].1.ts_ms;
    let resumed = app
        .client
        .get(&url)
        .header("Last-Event-ID", from.to_string())
        .send()
        .await
        .expect("resumed stream");
    let expected: Vec<i64> = held.iter().map(|s| s.ts_ms).filter(|t| *t > from).collect();
    assert!(
        expected.len() >= 2,
        "at least the two later events are held for replay"
    );
    let got = read_events(resumed, expected.len()).await;
    let got: Vec<i64> = got.iter().map(|(_, s)| s.ts_ms).collect();
    assert_eq!(
        got, expected,
        "missed samples replayed without gap or duplicate"
    );

    let bad = app
        .client
        .get(&url)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("req");
    assert_eq!(bad.status(), 400);
    let body: ErrorBody = bad.json().await.expect("JSON error");
    assert_eq!(body.field.as_deref(), Some("Last-Event-ID"));

    // A graceful shutdown ends open streams instead of waiting on them.
    let _open = app.client.get(&url).send().await.expect("stream");
    tokio::time::timeout(Duration::from_secs(5), app.server.shutdown())
        .await
        .expect("shutdown does not hang on open streams")
        .expect("clean shutdown");
}

#[tokio::test]
async fn samples_survive_a_restart_on_the_same_data_dir() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 200).await;
    let first = app.resources_after(None).await;
    let before = app.resources_after(first.ts_ms).await;
    app.server.shutdown().await.expect("clean shutdown");

    let app = launch(data.path(), data.path(), 60_000).await;
    let after = app.resources().await;
    assert!(before.series.len() >= 2);
    let stored: Vec<i64> = after.series.iter().map(|s| s.ts_ms).collect();
    for s in &before.series {
        assert!(
            stored.contains(&s.ts_ms),
            "sample {} kept across the restart",
            s.ts_ms
        );
    }
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn serves_the_dashboard_with_types_and_cache_rules() {
    let data = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>Vigie</title>",
    )
    .expect("write");
    std::fs::write(
        dist.path().join("vigie-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .expect("write");
    std::fs::write(dist.path().join("config.json"), "{}").expect("write");
    let app = launch(data.path(), dist.path(), 250).await;

    let index = app.get("/").await;
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["cache-control"], "no-cache");
    assert!(
        index
            .text()
            .await
            .expect("body")
            .contains("<title>Vigie</title>")
    );

    let wasm = app.get("/vigie-0123456789abcdef_bg.wasm").await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(
        wasm.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    let config = app.get("/config.json").await;
    assert_eq!(config.headers()["cache-control"], "no-cache");

    // A precompressed copy is served as it is to a browser that accepts it.
    let compressed = b"brotli bytes, as the build wrote them".to_vec();
    std::fs::write(
        dist.path().join("vigie-0123456789abcdef_bg.wasm.br"),
        &compressed,
    )
    .expect("write");
    let br = app
        .client
        .get(format!("{}/vigie-0123456789abcdef_bg.wasm", app.base))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["content-type"], "application/wasm");
    assert_eq!(br.bytes().await.expect("body").to_vec(), compressed);
    let plain = app.get("/vigie-0123456789abcdef_bg.wasm").await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(&plain.bytes().await.expect("body")[..], b"\0asm\x01\0\0\0");

    let deep = app.get("/some/page").await;
    assert_eq!(
        deep.status(),
        200,
        "router deep links fall back to index.html"
    );
    assert!(
        deep.text()
            .await
            .expect("body")
            .contains("<title>Vigie</title>")
    );
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn own_metrics_count_api_requests_in_a_prometheus_histogram() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 200).await;
    app.resources_after(None).await; // polls until a sample exists: some requests already
    let before = app.get("/metrics").await.text().await.expect("text");
    let count_of = |text: &str| -> u64 {
        let key = "vigie_http_request_duration_seconds_count{method=\"GET\",route=\"/api/performance/system-resources/\",status=\"200\"} ";
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map_or(0, |v| v.parse().expect("count"))
    };
    for _ in 0..5 {
        app.get("/api/performance/system-resources/").await;
    }
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.expect("text");
    assert_eq!(
        count_of(&text),
        count_of(&before) + 5,
        "each request counted once, by route template"
    );
    assert!(text.contains("# TYPE vigie_http_request_duration_seconds histogram"));
    let stored = text
        .lines()
        .find_map(|l| l.strip_prefix("vigie_points_stored_total{kind=\"host\"} "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("host points counter");
    assert!(stored >= 1, "the samples written are counted");
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn system_resources_over_a_range_are_bucketed_from_the_database() {
    let data = tempfile::tempdir().expect("tempdir");
    let app = launch(data.path(), data.path(), 200).await;
    let mut latest = app.resources_after(None).await;
    for _ in 0..5 {
        latest = app.resources_after(latest.ts_ms).await;
    }
    // The writer has committed every sample published so far once its
    // counter of stored host points says so (it counts after the commit).
    let published = latest.series.len() as u64;
    common::poll(Duration::from_secs(5), || async {
        let text = app.get("/metrics").await.text().await.expect("text");
        let stored: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("vigie_points_stored_total{kind=\"host\"} "))
            .and_then(|v| v.parse().ok())
            .expect("host points counter");
        (stored >= published).then_some(())
    })
    .await;
    let resp = app
        .get("/api/performance/system-resources/?range=1m&points=2")
        .await;
    assert_eq!(resp.status(), 200);
    let body: SystemResources = resp.json().await.expect("JSON");
    let history = body.history.expect("a history for a range");
    assert_eq!(history.to_ms - history.from_ms, 60_000);
    assert_eq!(history.bucket_ms, 30_000);
    assert!(
        !history.points.is_empty() && history.points.len() <= 2,
        "{:?}",
        history.points
    );
    let counted: u64 = history.points.iter().map(|p| p.count).sum();
    assert!(
        counted >= published,
        "every stored sample of the range is in a bucket: {counted} of {published}"
    );
    for p in &history.points {
        for s in [p.cpu_usage, p.memory_usage, p.disk_usage, p.network_usage] {
            assert!(s.min <= s.avg && s.avg <= s.max, "{s:?}");
        }
    }
    let held: Vec<f64> = body.series.iter().map(|s| s.cpu_usage).collect();
    let top = history
        .points
        .iter()
        .map(|p| p.cpu_usage.max)
        .fold(f64::MIN, f64::max);
    let held_top = held.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        top >= held_top - 1e-9,
        "the highest CPU sample survives the reduction"
    );

    for (query, field) in [
        ("range=lots", "range"),
        ("target=1", "target"),
        ("points=0", "points"),
        ("from=5&to=1", "from"),
    ] {
        let resp = app
            .get(&format!("/api/performance/system-resources/?{query}"))
            .await;
        assert_eq!(resp.status(), 400, "{query}");
        let body: ErrorBody = resp.json().await.expect("JSON error");
        assert_eq!(body.field.as_deref(), Some(field), "{query}");
    }
    app.server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn cross_origin_calls_are_allowed_only_for_listed_origins() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config::local(data.path(), data.path());
    config.default_target = false;
    config.cors_origins = vec!["https://portal.example".into()];
    let server = start(config).await.expect("start");
    let url = format!("http://{}/api/performance/targets/", server.addr());
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://portal.example").await.expect("OPTIONS");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight("https://evil.example").await.expect("OPTIONS");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let read = http
        .get(&url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("GET");
    assert!(read.headers().get("access-control-allow-origin").is_none());
    server.shutdown().await.expect("shutdown");

    // No list: no cross-origin access at all.
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(Config::local(data.path(), data.path()))
        .await
        .expect("start");
    let url = format!("http://{}/api/performance/targets/", server.addr());
    let resp = reqwest::Client::new()
        .get(&url)
        .header("origin", "https://portal.example")
        .send()
        .await
        .expect("GET");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    server.shutdown().await.expect("shutdown");
}
