//! Reports through the HTTP API: figures checked against what the test
//! sent (computed here, not by the server's functions), the three formats,
//! the cache and slow-query sections from a real redis-server and
//! PostgreSQL, refusals naming the field, and a generation cut by a stop.

mod common;

use std::time::Duration;

use common::postgres::Postgres;
use common::redis::Redis;
use common::{Client, Vigie};
use serde_json::{Value, json};
use vigie_api::{ReportContent, ReportInfo, ReportStatus};

const P: &str = "/api/performance";

async fn vigie(data: &std::path::Path) -> Vigie {
    common::vigie(data, |c| c.sample_interval_ms = 200).await
}

/// Starts a report and waits for its end.
async fn generated(v: &Vigie, body: Value) -> ReportInfo {
    let resp = v.post("/generate-report/", &body).await;
    assert_eq!(
        resp.status(),
        202,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let queued: ReportInfo = resp.json().await.expect("report");
    common::poll(Duration::from_secs(30), || async {
        let r: ReportInfo = v.get_json(&format!("/reports/{}/", queued.id)).await;
        r.status.is_done().then_some(r)
    })
    .await
}

async fn download(v: &Vigie, id: i64, format: &str) -> (String, String) {
    let resp = v
        .http
        .get(format!("{}/reports/{id}/download/?format={format}", v.base))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"vigie-report-"),
        "{disposition}"
    );
    (kind, resp.text().await.expect("body"))
}

/// Nearest-rank percentile of `sorted`.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[tokio::test]
async fn a_report_holds_the_figures_of_what_was_sent() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = vigie(data.path()).await;
    let now = vigie_server::now_ms();
    let start = now - 30 * 60_000;
    // 200 requests of "shop", one every 5 s over the last half hour: durations
    // 1 to 200 ms, every 20th answered 500; and 50 of "=evil" (a formula).
    let shop: Vec<Value> = (0..200)
        .map(|i| {
            json!({"service": "shop", "endpoint": "/orders/{id}", "method": "GET",
                   "status": if i % 20 == 19 { 500 } else { 200 },
                   "duration_ms": f64::from(i + 1), "timestamp": start + i64::from(i) * 5000})
        })
        .collect();
    let evil: Vec<Value> = (0..50)
        .map(|i| {
            json!({"service": "=evil()", "endpoint": "/x", "method": "POST", "status": 200,
                        "duration_ms": 1000.0, "timestamp": start + i64::from(i) * 1000})
        })
        .collect();
    for batch in [shop, evil] {
        let resp = v.post("/ingest/", &json!({"records": batch})).await;
        assert_eq!(resp.status(), 200);
    }
    // This host's samples of the period are stored (the resources chart).
    common::poll(Duration::from_secs(10), || async {
        let r: Value = v.get_json("/system-resources/?range=5m").await;
        r["history"]["points"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
            .then_some(())
    })
    .await;
    let now = vigie_server::now_ms();
    let report = generated(&v, json!({"from": start - 60_000, "to": now})).await;
    assert_eq!(report.status, ReportStatus::Succeeded, "{report:?}");
    assert_eq!(report.progress, 100);
    assert_eq!(report.files.len(), 3);

    let (kind, json_text) = download(&v, report.id, "json").await;
    assert_eq!(kind, "application/json");
    let c: ReportContent = serde_json::from_str(&json_text).expect("content");
    let k = c
        .kpis
        .iter()
        .find(|k| k.name == "shop")
        .expect("shop's figures");
    let durations: Vec<f64> = (1..=200).map(f64::from).collect();
    assert_eq!(k.count, 200);
    assert!((k.error_rate.expect("rate") - 5.0).abs() < 1e-9);
    assert!((k.availability.expect("availability") - 95.0).abs() < 1e-9);
    let mean = durations.iter().sum::<f64>() / 200.0;
    assert!((k.avg_response_time.expect("mean") - mean).abs() < 1e-6);
    for (got, p) in [(k.p95, 95.0), (k.p99, 99.0)] {
        let want = nearest_rank(&durations, p);
        assert!(
            (got.expect("percentile") - want).abs() <= want * 0.02,
            "p{p}: {got:?} vs {want}"
        );
    }
    // The error budget of 99.9 %: 0.2 failures allowed, 10 made.
    assert!((k.error_budget.expect("budget") - 0.2).abs() < 1e-9);
    assert!((k.error_budget_used_pct.expect("used") - 5000.0).abs() < 1e-6);
    assert_eq!(k.meets_sli, Some(false));
    let worst = &c.worst_endpoints[0];
    assert_eq!(
        (worst.service.as_str(), worst.count),
        ("=evil()", 50),
        "worst by p95 first"
    );
    assert!(
        c.series
            .iter()
            .any(|s| s.name == "shop p95" && !s.points.is_empty())
    );
    assert!(
        c.notes.iter().any(|n| n.contains("No scaling action")),
        "{:?}",
        c.notes
    );

    let (kind, html) = download(&v, report.id, "html").await;
    assert_eq!(kind, "text/html; charset=utf-8");
    assert!(
        html.matches("<svg").count() >= 2,
        "response-time and resource charts"
    );
    assert!(
        html.contains("<polyline") || html.contains("<path"),
        "data drawn"
    );
    for fetching in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(
            !html.contains(fetching),
            "{fetching} in a report that must open offline"
        );
    }
    assert!(html.contains("break-inside:avoid"));
    assert!(
        html.contains("&lt;") || !html.contains("<orders"),
        "text escaped"
    );

    let (kind, csv) = download(&v, report.id, "csv").await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(
        csv.starts_with('\u{feff}'),
        "a BOM, so spreadsheets read UTF-8"
    );
    assert!(csv.contains("'=evil()"), "formula escaped");
    assert!(!csv.contains(",=evil()"), "never as a formula");
    let shop_row = csv
        .lines()
        .find(|l| l.starts_with("service,shop,200,"))
        .expect("kpi row");
    assert!(shop_row.contains(",95,5,"), "{shop_row}");
    // No cache nor database source: neither section, in any format.
    assert!(c.cache.is_empty() && c.slow_queries.is_none(), "{c:?}");
    assert!(!html.contains("<h2>Cache") && !html.contains("<h2>Slow queries"));
    assert!(!csv.contains("# cache") && !csv.contains("# slow_quer"));
    v.server.shutdown().await.expect("shutdown");
}

/// Waits until `path` (a source) has a sample newer than `after_ms`, and
/// the one after it (so that the first is stored): the first's time.
async fn stored_sample_after(v: &Vigie, path: &str, after_ms: i64) -> i64 {
    let newer = |after: i64| async move {
        common::poll(Duration::from_secs(30), || async {
            let s: Value = v.get_json(path).await;
            let ts = s["last_sample_ms"].as_i64()?;
            (ts > after && s["health"] == "up").then_some(ts)
        })
        .await
    };
    let ts = newer(after_ms).await;
    newer(ts).await;
    ts
}

#[tokio::test]
async fn a_report_holds_the_cache_sources_and_the_slow_statements_with_their_advice() {
    let redis = Redis::start(&[]);
    let pg = Postgres::start(true);
    pg.psql(
        "CREATE EXTENSION pg_stat_statements;
         CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL, amount int NOT NULL);
         INSERT INTO orders (customer_id, amount) SELECT g % 500, g FROM generate_series(1, 20000) g;
         ANALYZE orders;
         CREATE ROLE vigie LOGIN PASSWORD 'vigie-password';
         GRANT pg_read_all_stats, pg_read_all_data TO vigie;",
    );
    let data = tempfile::tempdir().expect("tempdir");
    let v = vigie(data.path()).await;
    let start = vigie_server::now_ms();
    let resp = v
        .post(
            "/cache-sources/",
            &json!({"name": "sessions", "url": redis.url(), "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let cache: Value = resp.json().await.expect("source");
    let resp = v
        .post(
            "/database-sources/",
            &json!({"name": "shop", "url": pg.url(), "username": "vigie",
                    "password": "vigie-password", "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let database: Value = resp.json().await.expect("source");
    let cache_path = format!("/cache-sources/{}/", cache["id"]);
    let database_path = format!("/database-sources/{}/", database["id"]);
    // The first samples: the baselines.
    stored_sample_after(&v, &cache_path, 0).await;
    stored_sample_after(&v, &database_path, 0).await;

    redis.lookups(30, 10);
    // Two statements over a second (each sleeps 1.1 s and filters orders
    // with a sequential scan), and a fast one.
    for customer in [42, 43] {
        pg.psql(&format!(
            "SELECT count(*) FROM orders o, pg_sleep(1.1) WHERE o.customer_id = {customer}"
        ));
    }
    pg.psql("SELECT * FROM orders WHERE id = 7");
    let done = vigie_server::now_ms();
    stored_sample_after(&v, &cache_path, done).await;
    stored_sample_after(&v, &database_path, done).await;
    let report = generated(&v, json!({"from": start, "to": vigie_server::now_ms()})).await;
    assert_eq!(report.status, ReportStatus::Succeeded, "{report:?}");

    let (_, json_text) = download(&v, report.id, "json").await;
    let c: ReportContent = serde_json::from_str(&json_text).expect("content");
    assert_eq!(c.cache.len(), 1, "{:?}", c.cache);
    let f = &c.cache[0];
    assert_eq!(
        (f.name.as_str(), f.total_hits, f.total_misses, f.evictions),
        ("sessions", 30, 10, 0)
    );
    assert_eq!(f.hit_rate, Some(75.0));
    let latency = f.avg_response_time.expect("PING timed");
    assert!(latency > 0.0 && latency < 900.0);
    let slow = c.slow_queries.as_ref().expect("the slow-query section");
    assert_eq!(slow.threshold_ms, 1000.0);
    assert_eq!(slow.queries.len(), 1, "{slow:?}");
    let q = &slow.queries[0];
    assert!(q.query_text.contains("pg_sleep"), "{q:?}");
    assert_eq!(q.execution_count, 2);
    assert!(q.avg_execution_time >= 1100.0, "{q:?}");
    let index = "CREATE INDEX CONCURRENTLY ON public.orders (customer_id);";
    assert_eq!(q.optimizations.len(), 1, "{q:?}");
    assert_eq!(q.optimizations[0].sql.as_deref(), Some(index));

    let (_, html) = download(&v, report.id, "html").await;
    let cache_row = format!(
        "<tr><td>sessions</td><td>75 %</td><td>30</td><td>10</td><td>0</td><td>{}</td>",
        vigie_charts::format_value(latency) + " ms"
    );
    assert!(
        html.contains("<h2>Cache</h2>") && html.contains(&cache_row),
        "{html}"
    );
    assert!(html.contains("<h2>Slow queries</h2>"));
    assert!(
        html.contains("pg_sleep") && html.contains(&format!("<code>{index}</code>")),
        "{html}"
    );
    let (_, csv) = download(&v, report.id, "csv").await;
    assert!(
        csv.contains("# cache\r\n") || csv.contains("# cache\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("\r\nsessions,75,30,10,0,0,{latency},")),
        "{csv}"
    );
    assert!(csv.contains("# slow_queries"));
    let row = csv
        .lines()
        .find(|l| l.starts_with("shop,") && l.contains("pg_sleep"))
        .expect("the statement's row");
    assert!(
        row.contains(&format!(",select,\"{}\",2,", q.query_text)),
        "{row}"
    );
    assert!(csv.contains(&format!(",{index}\r\n")), "{csv}");
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_field_and_nothing_is_queued() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = vigie(data.path()).await;
    let now = vigie_server::now_ms();
    let day = 86_400_000;
    for (body, field) in [
        (json!({"from": now - day, "to": now - 2 * day}), "from"),
        (json!({"from": now - 32 * day, "to": now}), "to"),
        (json!({"to": now + day}), "to"),
        (json!({"targets": [999]}), "targets"),
        (json!({"sections": []}), "sections"),
        (json!({"sections": ["pie_charts"]}), "sections[0]"),
        (json!({"period": "1d"}), "period"),
    ] {
        let resp = v.post("/generate-report/", &body).await;
        let status = resp.status();
        let answer: Value = resp.json().await.expect("JSON");
        assert_eq!(
            (status.as_u16(), &answer["field"]),
            (400, &json!(field)),
            "{body}: {answer}"
        );
    }
    let list: vigie_api::ReportList = v.get_json("/reports/").await;
    assert_eq!(list.total, 0);
    let missing = v
        .http
        .get(format!("{}/reports/77/", v.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let report = generated(&v, json!({"sections": ["summary"]})).await;
    let resp = v
        .http
        .get(format!(
            "{}/reports/{}/download/?format=pdf",
            v.base, report.id
        ))
        .send()
        .await
        .expect("GET");
    let status = resp.status();
    let answer: Value = resp.json().await.expect("JSON");
    assert_eq!(
        (status.as_u16(), &answer["field"]),
        (400, &json!("format")),
        "{answer}"
    );
    // Deletion is pushed to every open stream.
    let stream = v
        .http
        .get(format!("{}/stream/", v.base))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let gone = v
        .send(
            reqwest::Method::DELETE,
            &format!("/reports/{}/", report.id),
            &json!({}),
        )
        .await;
    assert_eq!(gone.status(), 204);
    assert!(
        !data
            .path()
            .join("reports")
            .join(format!("{}.html", report.id))
            .exists()
    );
    let deleted = next_event(stream, vigie_api::REPORT_DELETED_EVENT).await;
    assert_eq!(deleted, json!({ "id": report.id }));
    v.server.shutdown().await.expect("shutdown");
}

/// The data of the first `name` event on an open stream (within 10 s).
async fn next_event(resp: reqwest::Response, name: &str) -> Value {
    use futures_util::StreamExt;
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("a `{name}` event within 10 s"))
            .expect("stream open")
            .expect("chunk");
        buf.push_str(std::str::from_utf8(&chunk).expect("utf8"));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event:"));
            let data = block.lines().find_map(|l| l.strip_prefix("data:"));
            if let (Some(event), Some(data)) = (event, data)
                && event.trim() == name
            {
                return serde_json::from_str(data.trim()).expect("event JSON");
            }
        }
    }
}

#[tokio::test]
async fn a_report_cut_by_a_stop_is_interrupted_and_its_partial_file_removed() {
    let data = tempfile::tempdir().expect("tempdir");
    let db = data.path().join("vigie.db");
    let partial = data.path().join("reports").join("1.html.tmp");
    {
        let store = vigie_server::store::Store::open(&db).expect("store");
        let id = store
            .insert_report(
                &vigie_api::ReportRequest::default(),
                (0, 1000),
                "ana",
                vigie_server::now_ms(),
            )
            .expect("report");
        assert_eq!(id, 1);
        store
            .report_progress(id, 40, "probes of shop")
            .expect("progress");
        std::fs::create_dir_all(partial.parent().expect("dir")).expect("dir");
        std::fs::write(&partial, "<html>half").expect("partial");
    }
    let v = vigie(data.path()).await;
    let r: ReportInfo = v.get_json("/reports/1/").await;
    assert_eq!(r.status, ReportStatus::Interrupted);
    assert!(r.error.is_some_and(|e| e.contains("server stopped")));
    assert!(r.files.is_empty());
    assert!(!partial.exists(), "no half-written file left");
    let resp = v
        .http
        .get(format!(
            "http://{}{P}/reports/1/download/?format=html",
            v.server.addr()
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        resp.status(),
        409,
        "an interrupted report has nothing to download"
    );
    v.server.shutdown().await.expect("shutdown");
}

/// One worker, held by report 1 writing into a named pipe: report 2 waits
/// for it, is cancelled while it waits, and ends cancelled at once; report
/// 1, cancelled while it writes, ends cancelled with no file left.
#[tokio::test]
async fn reports_cancelled_while_queued_or_while_written_end_cancelled_without_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(dir.path(), |c| c.max_report_jobs = 1).await;
    let files = dir.path().join("reports");
    std::fs::create_dir_all(&files).expect("reports dir");
    let pipe = files.join("1.html.tmp");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // Whatever fails below, the pipe is read, so that the job writing into
    // it (and the runtime waiting for that job's thread) can end.
    struct Drain(std::path::PathBuf);
    impl Drop for Drain {
        fn drop(&mut self) {
            let pipe = self.0.clone();
            std::thread::spawn(move || std::fs::read(pipe));
        }
    }
    let _drain = Drain(pipe.clone());

    let started = |body: Value| {
        let v = &v;
        async move {
            let resp = v.post("/generate-report/", &body).await;
            assert_eq!(resp.status(), 202);
            resp.json::<ReportInfo>().await.expect("report")
        }
    };
    let first = started(json!({"sections": ["summary"]})).await;
    assert_eq!(first.id, 1);
    common::poll(Duration::from_secs(20), || async {
        let r: ReportInfo = v.get_json("/reports/1/").await;
        (r.step == "writing the files").then_some(())
    })
    .await;
    let second = started(json!({"sections": ["summary"]})).await;
    let waiting: ReportInfo = v.get_json(&format!("/reports/{}/", second.id)).await;
    assert_eq!(waiting.status, ReportStatus::Queued);

    let resp = v
        .post(&format!("/reports/{}/cancel/", second.id), &json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    let cancelled: ReportInfo = resp.json().await.expect("report");
    assert_eq!(cancelled.status, ReportStatus::Cancelled);
    assert_eq!(
        cancelled.error.as_deref(),
        Some("cancelled before it started")
    );

    // Report 1: cancelled while its file is being written, then let go.
    let http = v.http.clone();
    let url = format!("{}/reports/1/cancel/", v.base);
    let cancel = tokio::spawn(async move { http.post(url).json(&json!({})).send().await });
    common::poll(Duration::from_secs(10), || async {
        let jobs = v.server.state().reports().running();
        (!jobs.contains(&1)).then_some(())
    })
    .await;
    let drained = tokio::task::spawn_blocking(move || std::fs::read(&pipe).map(|b| b.len()));
    let first_end = cancel.await.expect("task").expect("cancel");
    assert_eq!(first_end.status(), 200);
    assert!(drained.await.expect("task").expect("read the pipe") > 0);
    let ended = common::poll(Duration::from_secs(10), || async {
        let r: ReportInfo = v.get_json("/reports/1/").await;
        r.status.is_done().then_some(r)
    })
    .await;
    assert_eq!(ended.status, ReportStatus::Cancelled, "{ended:?}");
    assert!(ended.files.is_empty());
    let left: Vec<_> = std::fs::read_dir(&files)
        .expect("reports dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "files left: {left:?}");
    v.server.shutdown().await.expect("shutdown");
}
