//! Probes against real HTTP servers on loopback — fast, slow, failing, refusing
//! — through the real server, its SQLite file and its HTTP API; bad input; and
//! what survives a restart, graceful or SIGKILL.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use vigie_api::{ErrorBody, Health, MetricsResponse, MonitoringState, Outcome, Target, TargetList};
use vigie_server::{Config, start};

mod common;

use common::Client as _;

/// A real HTTP server with a fast, a slow and a failing endpoint.
async fn upstream() -> SocketAddr {
    let app = Router::new()
        .route("/fast", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        );
    common::serve(app).await
}

impl common::Vigie {
    async fn add(&self, name: &str, url: &str, timeout_ms: u64) -> Target {
        let body = json!({"name": name, "url": url, "interval_ms": 1000, "timeout_ms": timeout_ms});
        let resp = self.post("/targets/", &body).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.expect("target")
    }

    /// Waits until target `id` has at least `n` results stored.
    async fn metrics_with(&self, id: i64, n: u64) -> MetricsResponse {
        for _ in 0..150 {
            let m: MetricsResponse = self
                .get_json(&format!("/metrics/?target={id}&range=5m"))
                .await;
            if m.performance_metrics.total_requests >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("target {id} has fewer than {n} stored results after 15 s");
    }
}

#[tokio::test]
async fn each_kind_of_endpoint_gets_its_outcome_latency_and_error_rate() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    let fast = v.add("fast", &format!("http://{up}/fast"), 900).await;
    let slow = v.add("slow", &format!("http://{up}/slow"), 300).await;
    let failing = v.add("failing", &format!("http://{up}/error"), 900).await;
    let refused = v
        .add(
            "refused",
            &format!("http://127.0.0.1:{}/", common::free_port()),
            900,
        )
        .await;
    let tls = v.add("tls", &format!("https://{up}/fast"), 900).await;
    // .invalid never resolves (RFC 6761).
    let dns = v.add("dns", "http://vigie-probe-test.invalid/", 900).await;

    let m = v.metrics_with(fast.id, 2).await;
    let pm = &m.performance_metrics;
    assert_eq!(pm.error_rate, Some(0.0));
    assert_eq!(pm.availability, Some(100.0));
    let p95 = pm.p95.expect("latency measured");
    assert!(
        p95 > 0.0 && p95 < 300.0,
        "a loopback answer is fast: {p95} ms"
    );
    assert!(pm.avg_response_time.is_some());

    for (target, outcome, status) in [
        (&slow, Outcome::Timeout, None),
        (&failing, Outcome::BadStatus, Some(500)),
        (&refused, Outcome::Refused, None),
        (&tls, Outcome::Tls, None),
        (&dns, Outcome::Dns, None),
    ] {
        let m = v.metrics_with(target.id, 2).await;
        let pm = &m.performance_metrics;
        assert_eq!(pm.error_rate, Some(100.0), "{}", target.spec.name);
        assert_eq!(pm.availability, Some(0.0));
        assert_eq!(
            pm.avg_response_time, None,
            "failures never enter latency ({})",
            target.spec.name
        );
        assert_eq!(pm.p95, None);
        let t: Target = v.get_json(&format!("/targets/{}/", target.id)).await;
        let last = t.last_result.expect("a last result");
        assert_eq!(last.outcome, outcome, "{}", target.spec.name);
        assert_eq!(last.status, status);
        assert_eq!(last.latency_ms, None);
        assert_eq!(
            t.health,
            Health::Down,
            "two failures in a row with down_after = 2"
        );
    }
    let t: Target = v.get_json(&format!("/targets/{}/", fast.id)).await;
    assert_eq!(t.health, Health::Up);
    assert_eq!(t.last_result.expect("result").outcome, Outcome::Ok);

    // All targets together: the error rate is the share of failed probes.
    let all: MetricsResponse = v.get_json("/metrics/?range=5m").await;
    let pm = all.performance_metrics;
    assert!(pm.total_requests >= 10);
    let rate = pm.error_rate.expect("rate");
    assert!(
        rate > 50.0 && rate < 100.0,
        "five failing targets of six: {rate}"
    );
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_slow_target_does_not_delay_the_others() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    // Three slow targets, each holding a probe for its whole 1 s timeout.
    let mut slow = Vec::new();
    for i in 0..3 {
        slow.push(
            v.add(&format!("slow {i}"), &format!("http://{up}/slow"), 1000)
                .await,
        );
    }
    // A window of 4.3 s fixed on the clock (this machine's, so the server's
    // too), from just before the fast target is added: at its 1 s pace the
    // fast target probes at least 4 times in it; queued behind three 1 s
    // timeouts it would probe twice at most.
    let from = vigie_server::now_ms();
    let fast = v.add("fast", &format!("http://{up}/fast"), 500).await;
    let to = from + 4300;
    let in_window = |id: i64| {
        let v = &v;
        async move {
            let m: MetricsResponse = v
                .get_json(&format!("/metrics/?target={id}&from={from}&to={to}"))
                .await;
            m.performance_metrics
        }
    };
    // The window is over once every slow target has started a probe after it
    // (stored when its 1 s timeout ends, so after every fast probe of the
    // window has been stored): a positive witness instead of a guessed sleep.
    let after = format!("from={}&to={}", to + 1, to + 60_000);
    for s in &slow {
        common::poll(Duration::from_secs(20), || {
            let path = format!("/metrics/?target={}&{after}", s.id);
            let v = &v;
            async move {
                let m: MetricsResponse = v.get_json(&path).await;
                (m.performance_metrics.total_requests >= 1).then_some(())
            }
        })
        .await;
    }
    for s in &slow {
        let pm = in_window(s.id).await;
        // Probes every 1 s that last 1 s start at least every 2 s.
        assert!(
            pm.total_requests >= 2 && pm.availability == Some(0.0),
            "{} was holding timed-out probes during the window: {pm:?}",
            s.spec.name
        );
    }
    let pm = in_window(fast.id).await;
    assert!(
        pm.total_requests >= 4,
        "the fast target kept its 1 s pace: {} probes in 4.3 s",
        pm.total_requests
    );
    v.server.shutdown().await.expect("shutdown");
}

async fn assert_bad(resp: reqwest::Response, field: &str) {
    assert_eq!(resp.status(), 400, "expected a 400 naming {field}");
    let body: ErrorBody = resp.json().await.expect("JSON error body");
    assert_eq!(body.field.as_deref(), Some(field), "{}", body.error);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_nothing_changes() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    let kept = v.add("kept", &format!("http://{up}/fast"), 500).await;
    let before: TargetList = v.get_json("/targets/").await;

    let good = json!({"name": "x", "url": format!("http://{up}/fast"), "interval_ms": 2000, "timeout_ms": 1000});
    let with = |k: &str, val: Value| {
        let mut b = good.clone();
        b[k] = val;
        b
    };
    for (field, value) in [
        ("url", json!("not a url")),
        ("url", json!("ftp://example.com/")),
        ("interval_ms", json!(500)),
        ("interval_ms", json!("often")),
        ("timeout_ms", json!(5000)),
        ("name", json!("")),
        ("method", json!("DELETE")),
    ] {
        assert_bad(v.post("/targets/", &with(field, value)).await, field).await;
    }
    let mut missing = good.clone();
    missing.as_object_mut().expect("object").remove("url");
    assert_bad(v.post("/targets/", &missing).await, "url").await;
    let malformed = v
        .http
        .post(format!("{}/targets/", v.base))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("POST");
    assert_bad(malformed, "body").await;

    // Replacing with a bad spec leaves the stored one as it was.
    let put = v
        .http
        .put(format!("{}/targets/{}/", v.base, kept.id))
        .json(&with("timeout_ms", json!(9000)))
        .send()
        .await
        .expect("PUT");
    assert_bad(put, "timeout_ms").await;
    let unknown = v
        .http
        .put(format!("{}/targets/9999/", v.base))
        .json(&good)
        .send()
        .await
        .expect("PUT");
    assert_eq!(unknown.status(), 404);
    let gone = v
        .http
        .delete(format!("{}/targets/9999/", v.base))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), 404);

    let after: TargetList = v.get_json("/targets/").await;
    let specs = |l: &TargetList| {
        l.targets
            .iter()
            .map(|t| (t.id, t.spec.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(specs(&after), specs(&before), "nothing stored changed");

    let get = |q: &str| v.http.get(format!("{}/metrics/?{q}", v.base)).send();
    assert_bad(get("from=2000&to=1000").await.expect("GET"), "from").await;
    assert_bad(get("range=30d").await.expect("GET"), "from").await;
    assert_bad(get("range=lots").await.expect("GET"), "range").await;
    assert_bad(get("points=100000").await.expect("GET"), "points").await;
    assert_bad(get("target=9999").await.expect("GET"), "target").await;
    assert_bad(get("target=abc").await.expect("GET"), "target").await;
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn pausing_stops_measuring_and_the_state_survives_a_restart() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    let fast = v.add("fast", &format!("http://{up}/fast"), 500).await;
    v.metrics_with(fast.id, 1).await;
    // The witness that time passes while `v` is paused (nothing in a paused
    // Vigie measures): a second Vigie, not paused, probing the same upstream
    // at the same 1 s pace. Each of its probes is an interval in which `v`
    // would have probed.
    let clock_data = tempfile::tempdir().expect("tempdir");
    let clock = common::vigie(clock_data.path(), |_| {}).await;
    let tick = clock.add("clock", &format!("http://{up}/fast"), 500).await;
    let ticks = || {
        let (clock, id) = (&clock, tick.id);
        async move {
            let m: MetricsResponse = clock
                .get_json(&format!("/metrics/?target={id}&range=5m"))
                .await;
            m.performance_metrics.total_requests
        }
    };

    let stopped: MonitoringState = v
        .post("/stop-monitoring/", &json!({}))
        .await
        .json()
        .await
        .expect("state");
    assert!(!stopped.monitoring);
    // Two more ticks: a whole interval since the pause, longer than the 500 ms
    // timeout of a probe that was in flight, so that one has landed.
    let at_pause = ticks().await;
    clock.metrics_with(tick.id, at_pause + 2).await;
    let paused: MetricsResponse = v
        .get_json(&format!("/metrics/?target={}&range=5m", fast.id))
        .await;
    // Three more intervals: three probes, had the pause not stopped them.
    let counted = ticks().await;
    clock.metrics_with(tick.id, counted + 3).await;
    let still: MetricsResponse = v
        .get_json(&format!("/metrics/?target={}&range=5m", fast.id))
        .await;
    assert_eq!(
        still.performance_metrics.total_requests, paused.performance_metrics.total_requests,
        "no probe while paused"
    );
    clock.server.shutdown().await.expect("shutdown");
    v.server.shutdown().await.expect("shutdown");

    let v = common::vigie(data.path(), |c| c.down_after = 2).await;
    let state: MonitoringState = v.get_json("/monitoring/").await;
    assert_eq!(state, stopped, "paused across the restart");
    let resumed: MonitoringState = v
        .post("/start-monitoring/", &json!({}))
        .await
        .json()
        .await
        .expect("state");
    assert!(resumed.monitoring);
    v.metrics_with(fast.id, paused.performance_metrics.total_requests + 2)
        .await;
    v.server.shutdown().await.expect("shutdown");
}

async fn fetch<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
) -> T {
    http.get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON body")
}

/// The real binary, killed with SIGKILL while probes run, restarted on the same data.
#[tokio::test]
async fn everything_stored_before_a_sigkill_is_there_after_restart() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let spawn = |port: u16| common::spawn_binary(port, data.path(), &[]);
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}/api/performance");
    let http = reqwest::Client::new();
    let wait_ready = || common::wait_ready(port);

    let mut child = spawn(port);
    wait_ready().await;
    for (name, path) in [("fast", "fast"), ("failing", "error")] {
        let body = json!({"name": name, "url": format!("http://{up}/{path}"), "interval_ms": 1000, "timeout_ms": 500});
        assert_eq!(
            http.post(format!("{base}/targets/"))
                .json(&body)
                .send()
                .await
                .expect("POST")
                .status(),
            201
        );
    }
    // Switch monitoring off and on: its changed_at must survive too.
    http.post(format!("{base}/stop-monitoring/"))
        .json(&json!({}))
        .send()
        .await
        .expect("stop");
    let on: MonitoringState = http
        .post(format!("{base}/start-monitoring/"))
        .json(&json!({}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("state");

    let from = vigie_server::now_ms() - 60_000;
    let to = vigie_server::now_ms() + 60_000;
    let query = format!("{base}/metrics/?from={from}&to={to}&points=2000");
    let resources = format!("{base}/system-resources/");
    // Killed once probes ran and host samples were taken: four probes of the
    // two targets, three samples (the last one before the kill may be lost;
    // the others are checked after the restart).
    let (before, host_before) = {
        let (http, query, resources) = (&http, &query, &resources);
        common::poll(Duration::from_secs(15), || async move {
            let m: MetricsResponse = fetch(http, query).await;
            let h: vigie_api::SystemResources = fetch(http, resources).await;
            (m.performance_metrics.total_requests >= 4 && h.series.len() >= 3).then_some((m, h))
        })
        .await
    };
    let targets_before: TargetList = fetch(&http, format!("{base}/targets/")).await;

    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().expect("reaped");

    let mut child = spawn(port);
    wait_ready().await;
    let after: MetricsResponse = fetch(&http, &query).await;
    assert!(after.performance_metrics.total_requests >= before.performance_metrics.total_requests);
    for point in &before.series {
        let same = after
            .series
            .iter()
            .find(|p| p.ts_ms == point.ts_ms)
            .expect("bucket kept");
        assert!(
            same.count >= point.count,
            "every stored probe of {} kept",
            point.ts_ms
        );
    }
    let targets_after: TargetList = fetch(&http, format!("{base}/targets/")).await;
    let specs = |l: &TargetList| {
        l.targets
            .iter()
            .map(|t| (t.id, t.spec.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(specs(&targets_after), specs(&targets_before));
    let state: MonitoringState = fetch(&http, format!("{base}/monitoring/")).await;
    assert_eq!(state, on);
    let host_after: vigie_api::SystemResources =
        fetch(&http, format!("{base}/system-resources/")).await;
    let kept: Vec<i64> = host_after.series.iter().map(|s| s.ts_ms).collect();
    // The sample taken in the last instant before the kill may not have reached
    // the disk; every one before it must have.
    for s in host_before.series.iter().rev().skip(1) {
        assert!(kept.contains(&s.ts_ms), "host sample {} kept", s.ts_ms);
    }
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

#[tokio::test]
async fn targets_declared_in_a_file_are_stored_and_probed_and_a_bad_file_stops_start() {
    let up = upstream().await;
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("targets.json");
    std::fs::write(
        &file,
        json!([{"name": "from file", "url": format!("http://{up}/fast"), "interval_ms": 1000, "timeout_ms": 500}])
            .to_string(),
    )
    .expect("write");
    let mut config = Config::local(data.path(), data.path());
    config.targets_file = Some(file.clone());
    let server = start(config.clone()).await.expect("start");
    let base = format!("http://{}/api/performance", server.addr());
    let list: TargetList = reqwest::get(format!("{base}/targets/"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("list");
    let names: Vec<&str> = list.targets.iter().map(|t| t.spec.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Vigie API (/livez)", "from file"],
        "the default target and the file's"
    );
    server.shutdown().await.expect("shutdown");

    // Starting again with the same file does not duplicate it.
    let server = start(config.clone()).await.expect("restart");
    let base = format!("http://{}/api/performance", server.addr());
    let list: TargetList = reqwest::get(format!("{base}/targets/"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("list");
    assert_eq!(list.targets.len(), 2);
    server.shutdown().await.expect("shutdown");

    std::fs::write(
        &file,
        r#"[{"name": "bad", "url": "ftp://x/", "interval_ms": 1000}]"#,
    )
    .expect("write");
    let err = start(config).await.expect_err("a bad file stops the start");
    let text = err.to_string();
    assert!(
        text.contains("targets.json") && text.contains("url"),
        "{text}"
    );
}
