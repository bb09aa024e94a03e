//! Redis cache sources against a real redis-server (Debian's, started here on
//! free loopback ports in throwaway directories): hit rates checked against
//! the lookups the test makes with redis-cli, a restart, the cache-hit-rate
//! alert firing and resolving, and the failures a source can have.

use std::time::Duration;

use serde_json::{Value, json};
use vigie_api::{
    Alert, AlertList, AlertMetric, AlertRule, AlertRuleList, AlertState, CacheReport, CacheSource,
    CacheSourceList, Health, Overview,
};

mod common;
use common::redis::Redis;
use common::{Client, free_port, poll, vigie};

async fn add_source(api: &common::Vigie, body: Value) -> CacheSource {
    let resp = api.post("/cache-sources/", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.expect("source")
}

/// Waits until source `id` has a sample newer than `after_ms`, read or failed.
async fn sampled_after(api: &common::Vigie, id: i64, after_ms: i64) -> CacheSource {
    poll(Duration::from_secs(20), || async {
        let s: CacheSource = api.get_json(&format!("/cache-sources/{id}")).await;
        let newer = s.last_sample_ms.is_some_and(|t| t > after_ms);
        (newer && s.health == Health::Up).then_some(s)
    })
    .await
}

fn now_ms() -> i64 {
    vigie_server::now_ms()
}

#[tokio::test]
async fn the_hit_rate_is_the_lookups_made_and_a_restart_counts_from_zero() {
    let mut redis = Redis::start(&[]);
    // Lookups made before Vigie watched are not in its figures.
    redis.lookups(50, 50);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let source = add_source(
        &api,
        json!({"name": "sessions", "url": redis.url(), "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    let first = sampled_after(&api, source.id, 0).await;
    assert!(
        first
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with(char::is_numeric))
    );
    let start = first.last_sample_ms.expect("first sample");

    redis.lookups(30, 10);
    assert_eq!(
        redis.stat("keyspace_hits"),
        80,
        "Redis counted the hits made"
    );
    let done = now_ms();
    sampled_after(&api, source.id, done).await;
    let q = format!("/cache-performance/?from={start}&to={}", now_ms());
    let report: CacheReport = api.get_json(&q).await;
    let f = &report.sources[0];
    assert_eq!((f.total_hits, f.total_misses), (30, 10));
    assert_eq!(f.hit_rate, Some(75.0));
    assert_eq!(f.restarts, 0);
    assert!(f.avg_response_time.is_some_and(|ms| ms > 0.0 && ms < 900.0));
    assert!(f.used_memory.is_some_and(|b| b > 0));
    assert!(f.series.iter().map(|p| p.hits).sum::<u64>() == 30);
    let combined = &report.cache_performance;
    assert!(combined.available);
    assert_eq!(
        (combined.total_hits, combined.total_misses),
        (Some(30), Some(10))
    );
    // The seeds' combined object carries the same block.
    let overview: Overview = api
        .get_json(&format!("/?from={start}&to={}", now_ms()))
        .await;
    assert_eq!(overview.cache_performance.hit_rate, Some(75.0));

    // A restart resets Redis' counters: what follows counts from zero.
    redis.restart();
    let restarted = now_ms();
    sampled_after(&api, source.id, restarted).await;
    redis.lookups(5, 0);
    let done = now_ms();
    sampled_after(&api, source.id, done).await;
    let report: CacheReport = api
        .get_json(&format!("/cache-performance/?from={start}&to={}", now_ms()))
        .await;
    let f = &report.sources[0];
    assert_eq!((f.total_hits, f.total_misses), (35, 10));
    assert_eq!(f.restarts, 1);
}

#[tokio::test]
async fn the_cache_hit_rate_alert_fires_from_a_real_redis_and_resolves() {
    let redis = Redis::start(&[]);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    // The default rule (the seeds' "cache hit rate below 50 %"), over 10 s.
    let rules: AlertRuleList = api.get_json("/alert-rules/").await;
    let rule: AlertRule = rules
        .rules
        .into_iter()
        .find(|r| r.spec.metric == AlertMetric::CacheHitRate)
        .expect("the default cache rule");
    assert_eq!(rule.spec.threshold, 50.0);
    let mut spec = serde_json::to_value(&rule.spec).expect("spec");
    spec["window_seconds"] = json!(10);
    spec["for_seconds"] = json!(0);
    let resp = api
        .send(
            reqwest::Method::PUT,
            &format!("/alert-rules/{}", rule.id),
            &spec,
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let source = add_source(
        &api,
        json!({"name": "sessions", "url": redis.url(), "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    sampled_after(&api, source.id, 0).await;

    // 10 hits, 90 misses: 10 %.
    redis.lookups(10, 90);
    let open = |state| {
        let api = &api;
        async move {
            let list: AlertList = api.get_json("/alerts/?state=open&limit=500").await;
            list.alerts
                .into_iter()
                .find(|a: &Alert| a.rule_id == rule.id && a.state == state)
        }
    };
    let fired = poll(Duration::from_secs(20), || open(AlertState::Firing)).await;
    assert_eq!(fired.current_value, Some(10.0));
    // The same lookups make a recommendation, with their counts.
    let advice: vigie_api::RecommendationList = api.get_json("/recommendations/").await;
    let low = advice
        .recommendations
        .iter()
        .find(|r| r.key == format!("low_cache_hit_rate:{}", source.id))
        .unwrap_or_else(|| panic!("{advice:?}"));
    assert!(low.detail.contains("10 of 100 lookups"), "{}", low.detail);

    // Then 900 hits: (10 + 900) of 1000 lookups in the window, 91 %.
    redis.lookups(900, 0);
    let resolved = poll(Duration::from_secs(20), || async {
        let a: Alert = api.get_json(&format!("/alerts/{}", fired.id)).await;
        (a.state == AlertState::Resolved).then_some(a)
    })
    .await;
    assert!(
        resolved.current_value.is_some_and(|v| v > 55.0),
        "{resolved:?}"
    );
}

/// Waits until source `id` reports a failure, and returns its message.
async fn failure(api: &common::Vigie, id: i64) -> String {
    poll(Duration::from_secs(20), || async {
        let s: CacheSource = api.get_json(&format!("/cache-sources/{id}")).await;
        (s.health == Health::Down).then(|| s.last_error.expect("a down source says why"))
    })
    .await
}

#[tokio::test]
async fn each_failure_shows_on_its_source_and_the_rest_keeps_working() {
    let guarded = Redis::start(&["--requirepass", "right-password"]);
    guarded.run(&[
        "AUTH right-password".to_owned(),
        "ACL SETUSER pinger on >pinger-password -@all +ping".to_owned(),
        // What the README tells an admin to give Vigie.
        "ACL SETUSER vigie on >vigie-password -@all +ping +info".to_owned(),
    ]);
    let healthy = Redis::start(&[]);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let source = |name: &str, url: String, extra: Value| {
        let mut body = json!({"name": name, "url": url, "interval_ms": 1000, "timeout_ms": 500});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let closed_port = free_port();
    let unreachable = add_source(
        &api,
        source(
            "gone",
            format!("redis://127.0.0.1:{closed_port}"),
            json!({}),
        ),
    )
    .await;
    let wrong = add_source(
        &api,
        source(
            "wrong",
            guarded.url(),
            json!({"password": "wrong-password"}),
        ),
    )
    .await;
    let anonymous = add_source(&api, source("anonymous", guarded.url(), json!({}))).await;
    let no_info = add_source(
        &api,
        source(
            "no info",
            guarded.url(),
            json!({"username": "pinger", "password": "pinger-password"}),
        ),
    )
    .await;
    // Vigie's own port speaks HTTP, not Redis.
    let not_redis = add_source(
        &api,
        source("http", format!("redis://{}", api.server.addr()), json!({})),
    )
    .await;
    let good = add_source(&api, source("good", healthy.url(), json!({}))).await;
    let authorised = add_source(
        &api,
        source(
            "authorised",
            guarded.url(),
            json!({"password": "right-password"}),
        ),
    )
    .await;
    let least = add_source(
        &api,
        source(
            "least privilege",
            guarded.url(),
            json!({"username": "vigie", "password": "vigie-password"}),
        ),
    )
    .await;

    assert!(
        failure(&api, unreachable.id)
            .await
            .contains("cannot connect")
    );
    let e = failure(&api, wrong.id).await;
    assert!(
        e.contains("authentication refused") && e.contains("WRONGPASS"),
        "{e}"
    );
    let e = failure(&api, anonymous.id).await;
    assert!(e.contains("NOAUTH"), "{e}");
    let e = failure(&api, no_info.id).await;
    assert!(e.contains("INFO refused") && e.contains("NOPERM"), "{e}");
    let e = failure(&api, not_redis.id).await;
    assert!(e.contains("not a Redis reply"), "{e}");
    sampled_after(&api, good.id, 0).await;
    sampled_after(&api, authorised.id, 0).await;
    sampled_after(&api, least.id, 0).await;

    // Failed samples are counted in the figures, with the latest reason.
    let report: CacheReport = api.get_json("/cache-performance/?range=5m").await;
    let of = |id| {
        report
            .sources
            .iter()
            .find(|s| s.source_id == id)
            .expect("source")
    };
    assert!(of(wrong.id).failed_samples >= 1);
    assert_eq!(of(wrong.id).samples, 0);
    assert!(
        of(wrong.id)
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("WRONGPASS"))
    );
    assert!(of(good.id).samples >= 1 && of(good.id).last_error.is_none());
    // A password is never sent back.
    let listed = api
        .http
        .get(format!("{}/cache-sources/", api.base))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!listed.contains("right-password") && !listed.contains("wrong-password"));
    let list: CacheSourceList = serde_json::from_str(&listed).expect("list");
    assert!(
        list.sources
            .iter()
            .find(|s| s.id == authorised.id)
            .is_some_and(|s| s.has_password)
    );
    // The rest of Vigie answers.
    let resp = api
        .http
        .get(format!("{}/metrics/", api.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn bad_sources_are_refused_naming_the_field_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let cases = [
        (json!({"name": "a", "url": "http://127.0.0.1:6379"}), "url"),
        (
            json!({"name": "a", "url": "redis://user:pw@127.0.0.1"}),
            "url",
        ),
        (
            json!({"name": "a", "url": "rediss://127.0.0.1/?db=1"}),
            "url",
        ),
        (
            json!({"name": "a", "url": "redis://127.0.0.1", "tls_ca": "x"}),
            "tls_ca",
        ),
        (
            json!({"name": "a", "url": "redis://169.254.169.254"}),
            "url",
        ),
        (
            json!({"name": "a", "url": "redis://metadata.google.internal"}),
            "url",
        ),
        (
            json!({"name": "a", "url": "redis://127.0.0.1/0?x=1"}),
            "url",
        ),
        (json!({"name": " ", "url": "redis://127.0.0.1"}), "name"),
        (
            json!({"name": "a", "url": "redis://127.0.0.1", "interval_ms": 10}),
            "interval_ms",
        ),
        (
            json!({"name": "a", "url": "redis://127.0.0.1", "interval_ms": 1000, "timeout_ms": 5000}),
            "timeout_ms",
        ),
        (
            json!({"name": "a", "url": "redis://127.0.0.1", "username": "a b", "password": "p"}),
            "username",
        ),
        (
            json!({"name": "a", "url": "redis://127.0.0.1", "pasword": "p"}),
            "pasword",
        ),
    ];
    for (body, field) in cases {
        let resp = api.post("/cache-sources/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: vigie_api::ErrorBody = resp.json().await.expect("error");
        assert!(
            e.field.as_deref() == Some(field) || e.error.contains(field),
            "{body}: {e:?}"
        );
    }
    let list: CacheSourceList = api.get_json("/cache-sources/").await;
    assert!(list.sources.is_empty(), "{list:?}");
    let missing = api
        .http
        .get(format!("{}/cache-performance/?source=99", api.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 400);
}

#[tokio::test]
async fn a_replace_keeps_the_password_unless_given_and_restarts_sampling() {
    let guarded = Redis::start(&["--requirepass", "right-password"]);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let s = add_source(
        &api,
        json!({"name": "s", "url": guarded.url(), "password": "right-password", "interval_ms": 1000, "timeout_ms": 500}),
    )
    .await;
    sampled_after(&api, s.id, 0).await;
    let path = format!("/cache-sources/{}", s.id);
    // Renamed, password not given: it stays, sampling goes on.
    let resp = api
        .send(
            reqwest::Method::PUT,
            &path,
            &json!({"name": "renamed", "url": guarded.url(), "interval_ms": 1000, "timeout_ms": 500}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let replaced: CacheSource = resp.json().await.expect("source");
    assert!(replaced.has_password && replaced.name == "renamed");
    sampled_after(&api, s.id, now_ms()).await;
    // An empty password removes it: the server then refuses.
    let resp = api
        .send(
            reqwest::Method::PUT,
            &path,
            &json!({"name": "renamed", "url": guarded.url(), "password": "", "interval_ms": 1000, "timeout_ms": 500}),
        )
        .await;
    let replaced: CacheSource = resp.json().await.expect("source");
    assert!(!replaced.has_password);
    assert!(failure(&api, s.id).await.contains("NOAUTH"));
    // Pointed elsewhere without a password: the stored one is not sent
    // to the new server, it is dropped.
    let resp = api
        .send(
            reqwest::Method::PUT,
            &path,
            &json!({"name": "renamed", "url": guarded.url(), "password": "right-password", "interval_ms": 1000, "timeout_ms": 500}),
        )
        .await;
    assert!(
        resp.json::<CacheSource>()
            .await
            .expect("source")
            .has_password
    );
    let elsewhere = format!("redis://localhost:{}", guarded.port);
    let resp = api
        .send(
            reqwest::Method::PUT,
            &path,
            &json!({"name": "renamed", "url": elsewhere, "interval_ms": 1000, "timeout_ms": 500}),
        )
        .await;
    assert!(
        !resp
            .json::<CacheSource>()
            .await
            .expect("source")
            .has_password
    );
    let resp = api.send(reqwest::Method::DELETE, &path, &json!({})).await;
    assert_eq!(resp.status(), 204);
    let gone = api
        .http
        .get(format!("{}{path}", api.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn a_rule_narrowed_to_one_source_fires_on_that_source_alone() {
    let (busy, quiet) = (Redis::start(&[]), Redis::start(&[]));
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let mut sources = Vec::new();
    for (name, redis) in [("busy", &busy), ("quiet", &quiet)] {
        let s = add_source(
            &api,
            json!({"name": name, "url": redis.url(), "interval_ms": 1000, "timeout_ms": 900}),
        )
        .await;
        sampled_after(&api, s.id, 0).await;
        sources.push(s);
    }
    let mut rules = Vec::new();
    for s in &sources {
        let resp = api
            .post(
                "/alert-rules/",
                &json!({
                    "name": format!("{} hit rate below 50 %", s.name), "metric": "cache_hit_rate",
                    "comparison": "below", "threshold": 50, "severity": "high",
                    "window_seconds": 120, "source_id": s.id,
                }),
            )
            .await;
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        let rule: AlertRule = resp.json().await.expect("rule");
        assert_eq!(rule.spec.source_id, Some(s.id));
        rules.push(rule);
    }
    // 10 % on one, 90 % on the other: each rule measures its own source.
    busy.lookups(10, 90);
    quiet.lookups(90, 10);
    let alert_of = |rule: i64| {
        let api = &api;
        async move {
            let list: AlertList = api.get_json("/alerts/?state=open&limit=500").await;
            list.alerts.into_iter().find(|a: &Alert| a.rule_id == rule)
        }
    };
    let fired = poll(Duration::from_secs(20), || alert_of(rules[0].id)).await;
    assert_eq!(fired.current_value, Some(10.0));
    assert!(
        fired
            .description
            .contains(&format!("source {}", sources[0].id)),
        "{}",
        fired.description
    );
    // The quiet source's rule measured its own 90 % and stayed quiet.
    poll(Duration::from_secs(20), || async {
        let list: AlertRuleList = api.get_json("/alert-rules/").await;
        let quiet_rule = list.rules.into_iter().find(|r| r.id == rules[1].id)?;
        (quiet_rule.last_value == Some(90.0)).then_some(())
    })
    .await;
    assert!(alert_of(rules[1].id).await.is_none());

    // Refused by field: a source on a host metric, a source that is not there.
    for (body, field) in [
        (
            json!({"name": "x", "metric": "cpu_usage", "comparison": "above", "threshold": 80, "severity": "high", "source_id": sources[0].id}),
            "source_id",
        ),
        (
            json!({"name": "x", "metric": "cache_hit_rate", "comparison": "below", "threshold": 50, "severity": "high", "source_id": 999}),
            "source_id",
        ),
        (
            json!({"name": "x", "metric": "slow_query_time", "comparison": "above", "threshold": 1000, "severity": "high", "source_id": sources[0].id}),
            "source_id",
        ),
    ] {
        let resp = api.post("/alert-rules/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: Value = resp.json().await.expect("error");
        assert_eq!(e["field"], field, "{e}");
    }
}
