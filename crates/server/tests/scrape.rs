//! Prometheus targets: a real node_exporter (Debian's prometheus-node-exporter,
//! started here on a free loopback port) scraped by the real server, its
//! figures checked against /proc on this same machine; and a target that
//! answers something else.

use std::process::{Child, Command};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::json;
use vigie_api::{ErrorBody, Health, SystemResources, Target};
use vigie_server::{Config, start};

mod common;

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn create(http: &reqwest::Client, base: &str, body: serde_json::Value) -> Target {
    let resp = http
        .post(format!("{base}/targets/"))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 201);
    resp.json().await.expect("target")
}

async fn fetch<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: String) -> T {
    let resp = http.get(&url).send().await.expect("GET");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("JSON")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let line = text.lines().find(|l| l.starts_with(key)).expect("key");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok())
        .expect("kB")
        * 1024
}

#[tokio::test]
async fn a_real_node_exporter_gives_this_hosts_figures() {
    assert!(
        std::path::Path::new(NODE_EXPORTER).exists(),
        "{NODE_EXPORTER} is missing: `cargo xtask test` installs Debian's prometheus-node-exporter"
    );
    let port = free_port();
    let _exporter = Killed(
        Command::new(NODE_EXPORTER)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node_exporter"),
    );
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config::local(data.path(), data.path());
    config.default_target = false;
    let server = start(config).await.expect("start");
    let base = format!("http://{}/api/performance", server.addr());
    let http = reqwest::Client::new();
    let target: Target = create(
        &http,
        &base,
        json!({"name": "this host's exporter", "url": format!("http://127.0.0.1:{port}/metrics"),
                      "kind": "prometheus", "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;

    // Two scrapes make the first rates.
    let mut host = None;
    for _ in 0..100 {
        let r: SystemResources = fetch(
            &http,
            format!("{base}/system-resources/?host={}", target.id),
        )
        .await;
        if r.series.len() >= 2 && r.capacities.cpu_cores > 0 {
            host = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let host = host.expect("node samples within 15 s");
    assert_eq!(
        host.capacities.memory_total_bytes,
        meminfo("MemTotal:"),
        "MemTotal as /proc says"
    );
    let stat = std::fs::read_to_string("/proc/stat").expect("stat");
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    assert_eq!(host.capacities.cpu_cores as usize, cpus);
    let os_used = 100.0 * (meminfo("MemTotal:") - meminfo("MemAvailable:")) as f64
        / meminfo("MemTotal:") as f64;
    let used = host.memory_usage.expect("memory");
    assert!(
        (used - os_used).abs() < 5.0,
        "memory {used} % vs /proc {os_used} %"
    );
    let cpu = host.cpu_usage.expect("cpu");
    assert!((0.0..=100.0).contains(&cpu));
    assert!(host.disk_usage.is_some_and(|d| d > 0.0 && d <= 100.0));

    // The same host over a range, from the stored samples.
    let ranged: SystemResources = fetch(
        &http,
        format!(
            "{base}/system-resources/?host={}&range=5m&points=10",
            target.id
        ),
    )
    .await;
    let history = ranged.history.expect("history");
    assert!(history.points.iter().map(|p| p.count).sum::<u64>() >= 2);

    // node_exporter's own `go_gc_duration_seconds` is a summary: it matches
    // the default `*_duration_seconds` but is no histogram. Over several
    // scrapes nothing of it may be read as requests (it once was: a
    // "counter reset" at every scrape).
    let mut scrapes = 0;
    for _ in 0..200 {
        let probes: vigie_api::MetricsResponse = fetch(
            &http,
            format!("{base}/metrics/?target={}&range=5m", target.id),
        )
        .await;
        scrapes = probes.performance_metrics.total_requests;
        if scrapes >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(scrapes >= 4, "{scrapes} scrapes within 20 s");
    let scraped: vigie_api::MetricsResponse = fetch(
        &http,
        format!(
            "{base}/metrics/?source=scrape&target={}&range=5m",
            target.id
        ),
    )
    .await;
    assert_eq!(
        scraped.performance_metrics.total_requests, 0,
        "no request read from the exporter's summaries"
    );
    let endpoints: vigie_api::EndpointList = fetch(
        &http,
        format!(
            "{base}/endpoints/?source=scrape&target={}&range=5m",
            target.id
        ),
    )
    .await;
    assert!(endpoints.endpoints.is_empty(), "{:?}", endpoints.endpoints);

    for host in ["99999", "x"] {
        let resp = http
            .get(format!("{base}/system-resources/?host={host}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400);
        let body: ErrorBody = resp.json().await.expect("JSON");
        assert_eq!(body.field.as_deref(), Some("host"));
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_target_that_is_not_prometheus_shows_why() {
    let app = Router::new().route("/metrics", get(|| async { "<!doctype html><p>Login</p>" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config::local(data.path(), data.path());
    config.default_target = false;
    config.down_after = 2;
    let server = start(config).await.expect("start");
    let base = format!("http://{}/api/performance", server.addr());
    let http = reqwest::Client::new();
    let target = create(
        &http,
        &base,
        json!({"name": "login page", "url": format!("http://{addr}/metrics"),
               "kind": "prometheus", "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    let mut seen = None;
    for _ in 0..60 {
        let t: Target = fetch(&http, format!("{base}/targets/{}/", target.id)).await;
        if t.health == Health::Down {
            seen = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = seen.expect("down after two unreadable scrapes");
    let error = t.last_error.expect("the reason is shown");
    assert!(
        error.contains("not the Prometheus text format") && error.contains("line 1"),
        "{error}"
    );

    let head = http
        .post(format!("{base}/targets/"))
        .json(&json!({"name": "x", "url": format!("http://{addr}/metrics"), "kind": "prometheus", "method": "HEAD"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(head.status(), 400);
    server.shutdown().await.expect("shutdown");
}

/// Vigie scrapes its own `/metrics`: the percentiles it computes from the
/// scraped histogram increases are those of the durations it recorded itself.
#[tokio::test]
async fn vigie_scraping_its_own_metrics_finds_the_durations_it_recorded() {
    use vigie_api::{MetricsResponse, MonitoringState};
    use vigie_server::scrape::{histogram, text};

    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config::local(data.path(), data.path());
    config.default_target = false;
    let server = start(config).await.expect("start");
    let origin = format!("http://{}", server.addr());
    let base = format!("{origin}/api/performance");
    let http = reqwest::Client::new();
    let target = create(
        &http,
        &base,
        json!({"name": "vigie itself", "url": format!("{origin}/metrics"),
               "kind": "prometheus", "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    let last_scrape = |http: reqwest::Client, id: i64| {
        let base = base.clone();
        async move {
            let t: Target = fetch(&http, format!("{base}/targets/{id}/")).await;
            t.last_result.map_or(0, |r| r.ts_ms)
        }
    };
    // The first scrape sets the baseline, before any request to the route.
    common::poll(Duration::from_secs(15), || {
        let scraped = last_scrape(http.clone(), target.id);
        async move { (scraped.await > 0).then_some(()) }
    })
    .await;
    let route = "/api/performance/system-resources/";
    for _ in 0..40 {
        let r = http
            .get(format!("{base}/system-resources/"))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 200);
    }
    let after_requests = vigie_server::now_ms();
    common::poll(Duration::from_secs(15), || {
        let scraped = last_scrape(http.clone(), target.id);
        async move { (scraped.await > after_requests).then_some(()) }
    })
    .await;
    // Freeze: no more scrapes, then read the exposition as Vigie has it now.
    let paused: MonitoringState = http
        .post(format!("{base}/stop-monitoring/"))
        .json(&json!({}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("state");
    assert!(!paused.monitoring);
    // The scrape that saw all 40 requests has its increases committed (the
    // target's last result is recorded before they reach the database):
    // waited for until at least 40 show, the exact count is checked below.
    let scraped_url = format!(
        "{base}/metrics/?source=scrape&target={}&endpoint={route}&range=5m",
        target.id
    );
    common::poll(Duration::from_secs(15), || {
        let (http, url) = (&http, scraped_url.clone());
        async move {
            let m: MetricsResponse = fetch(http, url).await;
            (m.performance_metrics.total_requests >= 40).then_some(())
        }
    })
    .await;
    let exposition = http
        .get(format!("{origin}/metrics"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    let samples = text::parse(&exposition).expect("Vigie's own exposition parses");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| {
            s.name == "vigie_http_request_duration_seconds_bucket"
                && s.label("route") == Some(route)
                && s.label("status") == Some("200")
        })
        .map(|s| {
            let le = s.label("le").expect("le");
            (
                if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("bound")
                },
                s.value,
            )
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        buckets.last().map(|b| b.1),
        Some(40.0),
        "Vigie recorded the 40 requests"
    );

    let m: MetricsResponse = fetch(&http, scraped_url).await;
    let pm = m.performance_metrics;
    assert_eq!(
        pm.total_requests, 40,
        "every recorded request was scraped once"
    );
    assert_eq!(pm.error_rate, Some(0.0));
    for (q, got) in [(0.5, pm.p50), (0.95, pm.p95), (0.99, pm.p99)] {
        let expected = histogram::quantile(q, &buckets).expect("quantile") * 1000.0;
        let got = got.expect("a percentile");
        assert!(
            (got - expected).abs() < 1e-9,
            "p{}: {got} ms vs {expected} ms",
            q * 100.0
        );
    }

    let ranked: vigie_api::EndpointList = fetch(
        &http,
        format!(
            "{base}/endpoints/?source=scrape&target={}&range=5m&sort=count",
            target.id
        ),
    )
    .await;
    let row = ranked
        .endpoints
        .iter()
        .find(|e| e.endpoint == route)
        .expect("the route is ranked");
    assert_eq!(
        (row.count, row.service.as_str(), row.method.as_str()),
        (40, "vigie itself", "GET")
    );
    assert!((row.p95 - pm.p95.expect("p95")).abs() < 1e-9);

    let bad = http
        .get(format!("{base}/metrics/?source=scrape"))
        .send()
        .await
        .expect("GET");
    assert_eq!(bad.status(), 400);
    let body: ErrorBody = bad.json().await.expect("JSON");
    assert_eq!(body.field.as_deref(), Some("target"));
    server.shutdown().await.expect("shutdown");
}
