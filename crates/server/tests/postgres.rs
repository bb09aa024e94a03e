//! PostgreSQL database sources against a real PostgreSQL (Debian's, started
//! here on free loopback ports in throwaway data directories, with
//! pg_stat_statements preloaded or not): a real slow query on a table
//! without an index found with its call count and the index that would
//! answer it, the advice gone once that index exists; a large table read
//! by sequential scans, an index never used and the buffer cache hit
//! ratio, checked against what psql reads of the statistics; and the
//! failures a source can have.

use std::time::Duration;

use serde_json::{Value, json};
use vigie_api::{
    AlertList, AlertMetric, AlertRuleList, DatabaseAdviceKind, DatabaseInsightList,
    DatabaseInsights, DatabaseSource, DatabaseSourceList, Health, QueryType, RecommendationList,
    SlowQueryDetail, SlowQueryList,
};

mod common;
use common::postgres::Postgres;
use common::{Client, free_port, poll, vigie};

async fn add(api: &common::Vigie, body: Value) -> DatabaseSource {
    let resp = api.post("/database-sources/", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.expect("source")
}

/// Waits until source `id` has a read newer than `after_ms`.
async fn read_after(api: &common::Vigie, id: i64, after_ms: i64) -> DatabaseSource {
    poll(Duration::from_secs(30), || async {
        let s: DatabaseSource = api.get_json(&format!("/database-sources/{id}")).await;
        (s.health == Health::Up && s.last_sample_ms.is_some_and(|t| t > after_ms)).then_some(s)
    })
    .await
}

async fn failure(api: &common::Vigie, id: i64) -> String {
    poll(Duration::from_secs(30), || async {
        let s: DatabaseSource = api.get_json(&format!("/database-sources/{id}")).await;
        (s.health == Health::Down).then(|| s.last_error.expect("a down source says why"))
    })
    .await
}

const SETUP: &str = "
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL, amount numeric NOT NULL, note text);
    INSERT INTO orders (customer_id, amount, note)
        SELECT g % 5000, g, md5(g::text) FROM generate_series(1, 300000) g;
    ANALYZE orders;
    CREATE ROLE vigie LOGIN PASSWORD 'vigie-password';
    GRANT pg_read_all_stats, pg_read_all_data TO vigie;";

#[tokio::test]
async fn a_slow_query_without_an_index_is_found_with_the_index_that_answers_it() {
    let pg = Postgres::start(true);
    pg.psql(SETUP);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    // The default slow-query rule, at 1 ms over 10 s.
    let rules: AlertRuleList = api.get_json("/alert-rules/").await;
    let rule = rules
        .rules
        .into_iter()
        .find(|r| r.spec.metric == AlertMetric::SlowQueryTime)
        .expect("the default slow-query rule");
    assert_eq!(rule.spec.threshold, 1000.0);
    let mut spec = serde_json::to_value(&rule.spec).expect("spec");
    spec["threshold"] = json!(1);
    spec["window_seconds"] = json!(10);
    let resp = api
        .send(
            reqwest::Method::PUT,
            &format!("/alert-rules/{}", rule.id),
            &spec,
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let source = add(
        &api,
        json!({"name": "shop", "url": pg.url(), "username": "vigie", "password": "vigie-password",
               "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    let first = read_after(&api, source.id, 0).await;
    assert!(
        first
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("15"))
    );

    // Five scans of the whole table, five lookups by primary key.
    for i in 0..5 {
        pg.psql(&format!(
            "SELECT * FROM orders WHERE customer_id = {}",
            40 + i
        ));
        pg.psql(&format!("SELECT * FROM orders WHERE id = {}", 7 + i));
    }
    read_after(&api, source.id, vigie_server::now_ms()).await;
    let list: SlowQueryList = api.get_json("/slow-queries/?range=5m&threshold_ms=1").await;
    let scan = list
        .queries
        .iter()
        .find(|q| q.query_text.contains("customer_id = $1"))
        .unwrap_or_else(|| panic!("the scan is listed: {list:?}"));
    assert_eq!(scan.execution_count, 5);
    assert_eq!(scan.query_type, QueryType::Select);
    assert!(scan.avg_execution_time >= 1.0);
    assert!(
        (scan.rows_per_call - 60.0).abs() < 1e-9,
        "300000 rows / 5000 customers"
    );
    assert!(
        !list
            .queries
            .iter()
            .any(|q| q.query_text.contains("id = $1") && !q.query_text.contains("customer")),
        "a primary-key lookup is not slow: {list:?}"
    );
    let advice = &scan.optimizations;
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert_eq!(
        advice[0].sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);")
    );
    assert!(advice[0].evidence.contains("public.orders") && advice[0].evidence.contains("5 calls"));
    // The rule fired on the slowest statement's mean.
    let fired = poll(Duration::from_secs(20), || async {
        let list: AlertList = api.get_json("/alerts/?state=firing").await;
        list.alerts.into_iter().find(|a| a.rule_id == rule.id)
    })
    .await;
    assert!(fired.current_value.is_some_and(|v| v >= 1.0), "{fired:?}");

    let path = format!(
        "/slow-queries/{}?source={}&range=5m",
        scan.query_hash, source.id
    );
    let detail: SlowQueryDetail = api.get_json(&path).await;
    let plan = detail.plan.expect("plan").join("\n");
    assert!(plan.contains("Seq Scan on public.orders"), "{plan}");
    assert_eq!(detail.history.iter().map(|p| p.calls).sum::<u64>(), 5);

    // The advice taken: the plan uses the index, the advice is gone.
    pg.psql(advice[0].sql.as_deref().expect("sql"));
    let detail: SlowQueryDetail = api.get_json(&path).await;
    assert!(detail.query.optimizations.is_empty(), "{detail:?}");
    let plan = detail.plan.expect("plan").join("\n");
    assert!(plan.contains("orders_customer_id_idx"), "{plan}");
    // The seeds' threshold, one second: these scans are well under it.
    let default: SlowQueryList = api.get_json("/slow-queries/?range=5m").await;
    assert_eq!(default.threshold_ms, 1000.0);
    assert!(
        !default
            .queries
            .iter()
            .any(|q| q.query_hash == scan.query_hash),
        "{default:?}"
    );
}

/// Waits for a read of source `id` taken after `after_ms` and stored (the
/// read after it has started, and a source stores each read before taking
/// the next): its time.
async fn stored_read_after(api: &common::Vigie, id: i64, after_ms: i64) -> i64 {
    let read = read_after(api, id, after_ms)
        .await
        .last_sample_ms
        .expect("read");
    read_after(api, id, read).await;
    read
}

/// `pg_stat_database`'s `blks_hit` and `blks_read` of the database, as psql
/// reads them.
fn blocks(pg: &Postgres) -> [u64; 2] {
    let out = pg.psql(
        "SELECT blks_hit || ' ' || blks_read FROM pg_stat_database WHERE datname = current_database()",
    );
    let mut figures = out.split_whitespace().map(|f| f.parse().expect("count"));
    [figures.next().expect("hit"), figures.next().expect("read")]
}

/// `seq_scan` and `idx_scan` of `events`, as psql reads them.
fn scans(pg: &Postgres) -> [u64; 2] {
    let out = pg.psql(
        "SELECT seq_scan || ' ' || COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'events'",
    );
    let mut figures = out.split_whitespace().map(|f| f.parse().expect("count"));
    [figures.next().expect("seq"), figures.next().expect("idx")]
}

async fn insights(api: &common::Vigie, id: i64, from: i64, to: i64) -> DatabaseInsights {
    let list: DatabaseInsightList = api
        .get_json(&format!(
            "/database-insights/?source={id}&from={from}&to={to}"
        ))
        .await;
    assert_eq!((list.from_ms, list.to_ms), (from, to));
    assert_eq!(list.unused_index_watch_ms, 2000);
    list.databases.into_iter().next().expect("the source")
}

/// 40,000 rows (over the 10,000 that matter), a primary key, a unique
/// index and a plain one that no statement will use; the statistics
/// flushed before psql returns, so that Vigie's next read sees them.
const EVENTS: &str = "
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE events (id serial PRIMARY KEY, kind int NOT NULL, ref text NOT NULL, note text NOT NULL);
    INSERT INTO events (kind, ref, note)
        SELECT g % 100, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 40000) g;
    CREATE UNIQUE INDEX events_ref_key ON events (ref);
    CREATE INDEX events_note_idx ON events (note);
    ANALYZE events;
    CREATE ROLE vigie LOGIN PASSWORD 'vigie-password';
    GRANT pg_read_all_stats TO vigie;
    SELECT pg_stat_force_next_flush();";

/// `n` sequential scans of `events` (index scans turned off).
fn seq_scans(n: usize) -> String {
    let mut sql =
        "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;"
            .to_owned();
    for _ in 0..n {
        sql.push_str(" SELECT count(*) FROM events WHERE kind = 3;");
    }
    sql.push_str(" SELECT pg_stat_force_next_flush();");
    sql
}

#[tokio::test]
async fn large_tables_scanned_whole_unused_indexes_and_the_buffer_cache_are_judged_over_the_range()
{
    // Shared buffers of 1 MB: most of a 4 MB table cannot stay in them,
    // so each scan asks the operating system for its blocks.
    let pg = Postgres::start_with(
        true,
        &["shared_buffers=1MB", "max_parallel_workers_per_gather=0"],
    );
    pg.psql(EVENTS);
    let rows: u64 = pg
        .psql("SELECT count(*) FROM events")
        .trim()
        .parse()
        .expect("count");
    assert_eq!(rows, 40_000);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |c| c.unused_index_watch_s = 2).await;
    let source = add(
        &api,
        json!({"name": "events", "url": pg.url(), "username": "vigie", "password": "vigie-password",
               "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    // The first read is the baseline; the range starts after a later one.
    stored_read_after(&api, source.id, 0).await;
    let s0 = blocks(&pg);
    let v1 = stored_read_after(&api, source.id, vigie_server::now_ms()).await;
    let s1 = blocks(&pg);
    let before = scans(&pg);
    pg.psql(&seq_scans(12));
    let after = scans(&pg);
    assert_eq!(
        [after[0] - before[0], after[1] - before[1]],
        [12, 0],
        "psql counts the scans made"
    );
    let s2 = blocks(&pg);
    // At least the 2 s an index must go unused, watched.
    let v2 = stored_read_after(&api, source.id, vigie_server::now_ms().max(v1 + 2001)).await;
    let s3 = blocks(&pg);
    let db = insights(&api, source.id, v1 + 1, v2).await;
    assert!(db.reads >= 2, "{db:?}");
    assert_eq!(
        (db.watched_from_ms, db.watched_to_ms),
        (Some(v1 + 1), Some(v2))
    );

    // The table: 12 scans of all its rows, no index scan.
    let live: u64 = pg
        .psql("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'events'")
        .trim()
        .parse()
        .expect("live rows");
    let t = db
        .sequential_scans
        .iter()
        .find(|t| t.table == "events")
        .unwrap_or_else(|| panic!("events is listed: {db:?}"));
    assert_eq!(
        (
            t.schema.as_str(),
            t.seq_scans,
            t.seq_rows_read,
            t.index_scans,
            t.live_rows
        ),
        ("public", 12, 12 * rows, 0, live)
    );
    assert_eq!(t.rows_per_scan, rows as f64);
    let advice = |kind: DatabaseAdviceKind, db: &DatabaseInsights| {
        db.advice
            .iter()
            .filter(|a| a.kind == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    let scanned = advice(DatabaseAdviceKind::SequentialScans, &db);
    assert_eq!(scanned.len(), 1, "{db:?}");
    assert_eq!(scanned[0].subject, "public.events");
    for figure in [
        "12 sequential scans".to_owned(),
        format!("read {} rows", 12 * rows),
        format!("{rows} rows per scan"),
        format!("{live} live rows"),
        "against 0 index scans".to_owned(),
    ] {
        assert!(
            scanned[0].evidence.contains(&figure),
            "{figure}: {}",
            scanned[0].evidence
        );
    }

    // The index never used, with its size as PostgreSQL gives it; the
    // primary key's and the unique index, unused as well, never.
    let size: u64 = pg
        .psql("SELECT pg_relation_size('public.events_note_idx')")
        .trim()
        .parse()
        .expect("size");
    assert!(size > 0);
    let names: Vec<&str> = db.unused_indexes.iter().map(|i| i.index.as_str()).collect();
    assert_eq!(names, ["events_note_idx"], "{db:?}");
    assert_eq!(db.unused_indexes[0].size_bytes, size);
    assert_eq!(db.unused_indexes[0].table, "events");
    let unused = advice(DatabaseAdviceKind::UnusedIndex, &db);
    assert_eq!(
        unused[0].sql.as_deref(),
        Some("DROP INDEX CONCURRENTLY public.events_note_idx;")
    );
    assert!(
        unused[0].evidence.contains(&format!("{size} bytes"))
            && unused[0].evidence.contains("watched without a break"),
        "{}",
        unused[0].evidence
    );

    // The buffer cache: Vigie's increases are between its reads v1 and v2,
    // psql's s1, s2 between them and s0, s3 around them; the counters only
    // grow, so s2 - s1 <= Vigie's <= s3 - s0, whatever else ran meanwhile.
    let b = &db.buffer_cache;
    for (i, got) in [b.blocks_hit, b.blocks_read].into_iter().enumerate() {
        assert!(
            s2[i] - s1[i] <= got && got <= s3[i] - s0[i],
            "block figure {i}: {} <= {got} <= {}",
            s2[i] - s1[i],
            s3[i] - s0[i]
        );
    }
    let ratio = b.hit_ratio.expect("blocks were asked for");
    assert_eq!(
        ratio,
        b.blocks_hit as f64 * 100.0 / (b.blocks_hit + b.blocks_read) as f64
    );
    // The ratio's own bounds, from psql's figures alone: under 99 % either way.
    let most = (s3[0] - s0[0]) as f64 * 100.0 / (s3[0] - s0[0] + s2[1] - s1[1]) as f64;
    assert!(
        ratio <= most && most < 99.0,
        "{ratio} <= {most}: {s0:?} {s1:?} {s2:?} {s3:?} {b:?}"
    );
    let low = advice(DatabaseAdviceKind::LowBufferHitRatio, &db);
    assert_eq!(low.len(), 1, "{db:?}");
    assert!(
        low[0].evidence.contains(&format!(
            "{} of {} blocks",
            b.blocks_hit,
            b.blocks_hit + b.blocks_read
        )) && low[0].evidence.contains("shared_buffers"),
        "{}",
        low[0].evidence
    );
    // The same, as recommendations of the period.
    let recs: RecommendationList = api
        .get_json(&format!("/recommendations/?from={}&to={v2}", v1 + 1))
        .await;
    let keys: Vec<&str> = recs
        .recommendations
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    for key in [
        format!("sequential_scans:{}:public.events", source.id),
        format!("unused_index:{}:public.events_note_idx", source.id),
        format!("low_buffer_hit_ratio:{}", source.id),
    ] {
        assert!(keys.contains(&key.as_str()), "{key}: {keys:?}");
    }

    // An index on what the statements filter, used: in a later range, as
    // many index scans as sequential ones, and the advice is gone.
    pg.psql("CREATE INDEX events_kind_idx ON events (kind); SELECT pg_stat_force_next_flush();");
    let v3 = stored_read_after(&api, source.id, vigie_server::now_ms()).await;
    let before = scans(&pg);
    let mut lookups = "SET enable_seqscan = off;".to_owned();
    for _ in 0..12 {
        lookups.push_str(" SELECT count(*) FROM events WHERE kind = 3;");
    }
    lookups.push_str(" SELECT pg_stat_force_next_flush();");
    pg.psql(&lookups);
    pg.psql(&seq_scans(12));
    let after = scans(&pg);
    assert_eq!([after[0] - before[0], after[1] - before[1]], [12, 12]);
    let v4 = stored_read_after(&api, source.id, vigie_server::now_ms().max(v3 + 2001)).await;
    let later = insights(&api, source.id, v3 + 1, v4).await;
    assert!(
        later.sequential_scans.is_empty()
            && advice(DatabaseAdviceKind::SequentialScans, &later).is_empty(),
        "{later:?}"
    );
    let names: Vec<&str> = later
        .unused_indexes
        .iter()
        .map(|i| i.index.as_str())
        .collect();
    assert_eq!(
        names,
        ["events_note_idx"],
        "the index used is not: {later:?}"
    );

    // A range too short to call an index unused says so.
    let short = insights(&api, source.id, v4 - 1000, v4).await;
    assert!(short.unused_indexes.is_empty());
    assert!(
        short
            .notes
            .iter()
            .any(|n| n.contains("No index is called unused")),
        "{short:?}"
    );
}

#[tokio::test]
async fn each_failure_shows_on_its_source_and_says_how_to_fix_it() {
    let without = Postgres::start(false);
    let preloaded = Postgres::start(true);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let source = |name: &str, url: String, password: &str| {
        json!({"name": name, "url": url, "username": "admin", "password": password,
               "interval_ms": 1000, "timeout_ms": 900})
    };
    let not_loaded = add(&api, source("not loaded", without.url(), "admin-password")).await;
    // Preloaded, but the extension is not created in this database.
    let not_created = add(
        &api,
        source("not created", preloaded.url(), "admin-password"),
    )
    .await;
    let wrong = add(&api, source("wrong", preloaded.url(), "wrong-password")).await;
    let gone = add(
        &api,
        source(
            "gone",
            format!("postgres://127.0.0.1:{}/postgres", free_port()),
            "x",
        ),
    )
    .await;
    let e = failure(&api, not_loaded.id).await;
    assert!(e.contains("shared_preload_libraries"), "{e}");
    let e = failure(&api, not_created.id).await;
    assert!(e.contains("CREATE EXTENSION pg_stat_statements"), "{e}");
    let e = failure(&api, wrong.id).await;
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(failure(&api, gone.id).await.contains("cannot connect"));

    // Once created, the same source reads.
    preloaded.psql("CREATE EXTENSION pg_stat_statements");
    read_after(&api, not_created.id, 0).await;
    let listed = api
        .http
        .get(format!("{}/database-sources/", api.base))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!listed.contains("admin-password") && !listed.contains("wrong-password"));
    let list: DatabaseSourceList = serde_json::from_str(&listed).expect("list");
    assert!(list.sources.iter().all(|s| s.has_password));
}

#[tokio::test]
async fn bad_sources_are_refused_naming_the_field_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let base = json!({"name": "a", "url": "postgres://127.0.0.1/shop", "username": "vigie"});
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    let cases = [
        (with("url", json!("http://127.0.0.1/shop")), "url"),
        (
            with("url", json!("postgres://vigie:pw@127.0.0.1/shop")),
            "url",
        ),
        (with("url", json!("postgres://127.0.0.1")), "url"),
        (with("url", json!("postgres://127.0.0.1/a/b")), "url"),
        (with("url", json!("postgres://169.254.169.254/shop")), "url"),
        (
            with("url", json!("postgres://127.0.0.1/shop?sslmode=prefer")),
            "url",
        ),
        (with("username", json!("a b")), "username"),
        (with("name", json!("")), "name"),
        (with("interval_ms", json!(5)), "interval_ms"),
        (
            json!({"name": "a", "url": "postgres://127.0.0.1/shop"}),
            "username",
        ),
    ];
    for (body, field) in cases {
        let resp = api.post("/database-sources/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: vigie_api::ErrorBody = resp.json().await.expect("error");
        assert!(
            e.field.as_deref() == Some(field) || e.error.contains(field),
            "{body}: {e:?}"
        );
    }
    let list: DatabaseSourceList = api.get_json("/database-sources/").await;
    assert!(list.sources.is_empty());
    for bad in ["threshold_ms=-1", "limit=0", "source=9"] {
        let resp = api
            .http
            .get(format!("{}/slow-queries/?{bad}", api.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400, "{bad}");
    }
    for (bad, field) in [
        ("source=9", "source"),
        ("source=x", "source"),
        ("range=forever", "range"),
        ("from=2000&to=1000", "from"),
        ("threshold_ms=1", "threshold_ms"),
    ] {
        let resp = api
            .http
            .get(format!("{}/database-insights/?{bad}", api.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400, "{bad}");
        let e: vigie_api::ErrorBody = resp.json().await.expect("error");
        assert!(
            e.field.as_deref() == Some(field) || e.error.contains(field),
            "{bad}: {e:?}"
        );
    }
    let none: DatabaseInsightList = api.get_json("/database-insights/").await;
    assert!(none.databases.is_empty());
}
