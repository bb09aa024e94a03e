//! PostgreSQL databases as sources of slow queries: managed through
//! `database-sources/`, each read by its own task from
//! `pg_stat_statements` (increases since the read before are stored, so a
//! range is about that range), and answered by `slow-queries/`: the
//! statements whose mean is over a threshold, with advice drawn from their
//! plans (`EXPLAIN`, never `ANALYZE`, only of `SELECT`s, in a read-only
//! transaction): a sequential scan filtering a large table gets the index
//! that would answer it, with the evidence. The same reads take the
//! tables', indexes' and buffer cache's statistics, answered by
//! `database-insights/` (see [`insights`]).
//!
//! The connection goes through the fetch policy like every other (see
//! [`crate::sources::connect`]); over TLS when the URL says
//! `sslmode=require` ([`tls`]).

pub mod insights;
pub mod plan;
pub mod stats;
pub mod store;
pub mod tls;

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{Method, StatusCode};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;
use vigie_api::{
    DatabaseSource, DatabaseSourceList, DatabaseSourceSpec, Optimization, QueryPoint, QueryType,
    SlowQueriesQuery, SlowQuery, SlowQueryDetail, SlowQueryList, paths,
};

use crate::error::{ApiError, ApiQuery, parse_json};
use crate::fetch_policy::FetchPolicy;
use crate::monitoring::Monitoring;
use crate::openapi::Op;
use crate::store::Store;
use stats::{Activity, Snapshot};
use store::StoredSource;

/// PostgreSQL's port when the URL names none.
pub const DEFAULT_PORT: u16 = 5432;
/// The seeds' slow query: over a second.
pub const DEFAULT_THRESHOLD_MS: f64 = 1000.0;
/// Statements read per sample, the most time-consuming first.
const STATEMENTS_READ: i64 = 1000;
/// Plans asked for per source and request, the slowest first.
const EXPLAINED: usize = 20;
/// The most a request waits for one source's plans.
const ADVICE_TIME: std::time::Duration = std::time::Duration::from_secs(10);
/// A table this large (estimated rows) scanned whole is worth an index.
pub const LARGE_TABLE_ROWS: f64 = 10_000.0;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        database_sources: crate::postgres::DatabaseSamplers,
        config: std::sync::Arc<crate::Config>,
    }
}

/// Starts, restarts and stops the reading tasks; holds each source's live state.
#[derive(Debug, Clone)]
pub struct DatabaseSamplers {
    store: Store,
    policy: FetchPolicy,
    tasks: crate::sources::Tasks,
}

impl DatabaseSamplers {
    pub fn new(
        store: Store,
        policy: FetchPolicy,
        monitoring: Monitoring,
        shutdown: CancellationToken,
    ) -> Self {
        DatabaseSamplers {
            store,
            policy,
            tasks: crate::sources::Tasks::new(monitoring, shutdown),
        }
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// (Re)starts reading `source`, or stops it when disabled.
    pub fn apply(&self, source: &StoredSource) {
        if !source.spec.enabled {
            self.tasks.stop(source.id);
            return;
        }
        let sampler = StatementsSampler {
            source: source.clone(),
            policy: self.policy.clone(),
            store: self.store.clone(),
            last: None,
        };
        let spec = &source.spec;
        self.tasks
            .start(source.id, spec.interval_ms, spec.timeout_ms, sampler);
    }

    pub fn stop(&self, id: i64) {
        self.tasks.stop(id);
    }
}

/// One database's reading: keeps the last read to compare the next with.
struct StatementsSampler {
    source: StoredSource,
    policy: FetchPolicy,
    store: Store,
    last: Option<(Snapshot, Activity)>,
}

impl crate::sources::Sampler for StatementsSampler {
    type Sample = (Snapshot, Activity, String);

    async fn sample(&mut self) -> Result<Self::Sample, String> {
        let client = connect(&self.source.spec, &self.policy).await?;
        let activity = read_activity(&client).await?;
        let (snapshot, version) = read_statements(&client).await?;
        Ok((snapshot, activity, version))
    }

    fn version(sample: &Self::Sample) -> Option<String> {
        Some(sample.2.clone())
    }

    async fn store(&mut self, ts_ms: i64, read: Result<Self::Sample, String>) {
        let id = self.source.id;
        let read = match read {
            Ok((snapshot, activity, _)) => {
                let (last_statements, last_activity) = self.last.take().unzip();
                let statements = stats::increases(last_statements.as_ref(), &snapshot)
                    .into_iter()
                    .map(|(q, c)| (q, snapshot.statements[&q].0.clone(), c))
                    .collect();
                let read = store::Read {
                    statements,
                    activity: stats::activity_increase(last_activity.as_ref(), &activity),
                    indexes: activity
                        .indexes
                        .iter()
                        .map(|(id, i)| (*id, i.clone()))
                        .collect(),
                };
                self.last = Some((
                    stats::carried(last_statements, snapshot),
                    stats::carried_activity(last_activity, activity),
                ));
                Ok(read)
            }
            Err(e) => Err(e),
        };
        let stored = self
            .store
            .call(move |s| s.insert_database_read(id, ts_ms, read.as_ref().map_err(String::as_str)))
            .await;
        if let Err(e) = stored {
            tracing::error!(source = id, error = %e, "cannot store a database read");
        }
    }
}

/// A PostgreSQL error as its server said it (message, detail, hint), or
/// the client's own.
fn described(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_owned();
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!(" Hint: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            s
        }
    }
}

/// Connects as the source's role, through the fetch policy, within its
/// timeout.
async fn connect(spec: &DatabaseSourceSpec, policy: &FetchPolicy) -> Result<Client, String> {
    let limit = std::time::Duration::from_millis(spec.timeout_ms);
    tokio::time::timeout(limit, connect_now(spec, policy))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", spec.timeout_ms)))
}

async fn connect_now(spec: &DatabaseSourceSpec, policy: &FetchPolicy) -> Result<Client, String> {
    let url = reqwest::Url::parse(&spec.url).map_err(|e| format!("bad URL: {e}"))?;
    let stream = crate::sources::connect(&url, DEFAULT_PORT, policy).await?;
    let mut config = tokio_postgres::Config::new();
    config
        .user(&spec.username)
        .dbname(url.path().trim_start_matches('/'))
        .application_name("vigie");
    if let Some(p) = spec.password.as_deref().filter(|p| !p.is_empty()) {
        config.password(p);
    }
    let signed_in = |e: tokio_postgres::Error| format!("cannot sign in: {}", described(&e));
    let client = match tls::mode(&url)? {
        tls::Mode::Plain => {
            let (client, connection) = config
                .connect_raw(stream, tokio_postgres::NoTls)
                .await
                .map_err(signed_in)?;
            tokio::spawn(connection);
            client
        }
        tls::Mode::Tls => {
            let (connector, name) = crate::sources::tls_connector(&url, spec.tls_ca.as_deref())?;
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            let (client, connection) = config
                .connect_raw(stream, tls::Connect { connector, name })
                .await
                .map_err(|e| crate::sources::with_tls_hint(signed_in(e)))?;
            tokio::spawn(connection);
            client
        }
    };
    Ok(client)
}

const ENABLE: &str = "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf, restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements in this database";

/// Reads the statistics of this database's statements and the server's version.
async fn read_statements(client: &Client) -> Result<(Snapshot, String), String> {
    let version: String = client
        .query_one("SHOW server_version", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| described(&e))?;
    let missing = |e: tokio_postgres::Error| {
        let code = e.code().map(|c| c.code().to_owned());
        match code.as_deref() {
            // undefined_table: the extension is not created here.
            Some("42P01") => format!("pg_stat_statements is not installed: {ENABLE}"),
            // object_not_in_prerequisite_state: not preloaded.
            Some("55000") => format!(
                "pg_stat_statements is not loaded ({}): {ENABLE}",
                described(&e)
            ),
            _ => format!("cannot read pg_stat_statements: {}", described(&e)),
        }
    };
    let rows = client
        .query(
            "SELECT queryid, min(query), sum(calls)::int8, sum(total_exec_time)::float8,
                    max(max_exec_time)::float8, sum(rows)::int8, sum(shared_blks_hit)::int8,
                    sum(shared_blks_read)::int8
             FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND queryid IS NOT NULL
             GROUP BY queryid ORDER BY 4 DESC LIMIT $1",
            &[&STATEMENTS_READ],
        )
        .await
        .map_err(missing)?;
    // PostgreSQL 14 and later say when the statistics were reset; before,
    // a reset shows as calls going back.
    let reset: Option<String> = client
        .query_one("SELECT stats_reset::text FROM pg_stat_statements_info", &[])
        .await
        .ok()
        .and_then(|r| r.try_get(0).ok());
    let mut statements = HashMap::with_capacity(rows.len());
    for r in rows {
        let get = |e: tokio_postgres::Error| format!("pg_stat_statements: {}", described(&e));
        let counters = stats::Counters {
            calls: r.try_get(2).map_err(get)?,
            total_ms: r.try_get(3).map_err(get)?,
            max_ms: r.try_get(4).map_err(get)?,
            rows: r.try_get(5).map_err(get)?,
            blks_hit: r.try_get(6).map_err(get)?,
            blks_read: r.try_get(7).map_err(get)?,
        };
        statements.insert(
            r.try_get(0).map_err(get)?,
            (r.try_get::<_, String>(1).map_err(get)?, counters),
        );
    }
    Ok((Snapshot { reset, statements }, version))
}

/// Tables and indexes read per sample: the tables whose sequential scans
/// read the most rows, the largest indexes.
const OBJECTS_READ: i64 = 1000;

/// Reads the statistics of this database's tables, indexes and buffer cache.
async fn read_activity(client: &Client) -> Result<Activity, String> {
    let get = |e: tokio_postgres::Error| format!("cannot read the statistics: {}", described(&e));
    let db = client
        .query_one(
            "SELECT blks_hit, blks_read, stats_reset::text FROM pg_stat_database
             WHERE datname = current_database()",
            &[],
        )
        .await
        .map_err(get)?;
    let mut activity = Activity {
        reset: db.try_get(2).map_err(get)?,
        blocks: [db.try_get(0).map_err(get)?, db.try_get(1).map_err(get)?],
        ..Activity::default()
    };
    let tables = client
        .query(
            "SELECT relid::int8, schemaname::text, relname::text, COALESCE(seq_scan, 0),
                    COALESCE(seq_tup_read, 0), COALESCE(idx_scan, 0), COALESCE(n_live_tup, 0)
             FROM pg_stat_user_tables ORDER BY seq_tup_read DESC NULLS LAST, relid LIMIT $1",
            &[&OBJECTS_READ],
        )
        .await
        .map_err(get)?;
    for r in tables {
        let table = stats::TableStat {
            schema: r.try_get(1).map_err(get)?,
            table: r.try_get(2).map_err(get)?,
            counters: [
                r.try_get(3).map_err(get)?,
                r.try_get(4).map_err(get)?,
                r.try_get(5).map_err(get)?,
            ],
            live_rows: r.try_get(6).map_err(get)?,
        };
        activity.tables.insert(r.try_get(0).map_err(get)?, table);
    }
    let indexes = client
        .query(
            "SELECT s.indexrelid::int8, s.schemaname::text, s.relname::text, s.indexrelname::text,
                    COALESCE(s.idx_scan, 0), i.indisunique OR i.indisprimary OR i.indisexclusion,
                    COALESCE(pg_relation_size(s.indexrelid), 0)
             FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
             ORDER BY 7 DESC, 1 LIMIT $1",
            &[&OBJECTS_READ],
        )
        .await
        .map_err(get)?;
    for r in indexes {
        let index = stats::IndexStat {
            schema: r.try_get(1).map_err(get)?,
            table: r.try_get(2).map_err(get)?,
            index: r.try_get(3).map_err(get)?,
            scans: r.try_get(4).map_err(get)?,
            constraint: r.try_get(5).map_err(get)?,
            size_bytes: r.try_get(6).map_err(get)?,
        };
        activity.indexes.insert(r.try_get(0).map_err(get)?, index);
    }
    Ok(activity)
}

/// PostgreSQL's limit on a statement's parameters.
const MAX_PARAMETERS: usize = 65_535;

/// What may be explained: a single `SELECT` (its text without a final
/// `;`) and the count of its parameters. Anything else is refused: a
/// statement that writes, several statements, a `WITH` (which may hold a
/// write), a count of parameters PostgreSQL would not accept (a `$N` in a
/// comment counts too).
pub fn explainable(text: &str) -> Result<(&str, usize), String> {
    let body = text.trim().trim_end_matches(';');
    if QueryType::of(body) != QueryType::Select
        || !body
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("select"))
        || body.contains(';')
    {
        return Err("only a single SELECT is explained".into());
    }
    let n = plan::parameters(body);
    if n > MAX_PARAMETERS {
        return Err(format!("{n} parameters: more than PostgreSQL takes"));
    }
    Ok((body, n))
}

/// The plan of a `SELECT` as PostgreSQL would run it with any parameters
/// (its generic plan), never run: prepared and explained in a read-only
/// transaction that is rolled back. Anything else is refused here.
async fn explain(client: &Client, text: &str) -> Result<serde_json::Value, String> {
    let (body, n) = explainable(text)?;
    let args = if n == 0 {
        String::new()
    } else {
        format!("({})", vec!["NULL"; n].join(", "))
    };
    client
        .batch_execute(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '2s'; SET LOCAL plan_cache_mode = force_generic_plan",
        )
        .await
        .map_err(|e| described(&e))?;
    let explained = async {
        client
            .batch_execute(&format!("PREPARE vigie_explain AS {body}"))
            .await
            .map_err(|e| format!("cannot prepare it: {}", described(&e)))?;
        let messages = client
            .simple_query(&format!(
                "EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE vigie_explain{args}"
            ))
            .await
            .map_err(|e| format!("cannot explain it: {}", described(&e)))?;
        messages
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| "EXPLAIN gave no plan".to_owned())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("plan: {e}")))
    }
    .await;
    let _ = client.batch_execute("ROLLBACK; DEALLOCATE ALL").await;
    explained
}

/// Estimated rows of a table: the planner's estimate or the live rows
/// counted by the statistics, whichever is larger.
async fn table_rows(client: &Client, schema: &str, table: &str) -> Option<f64> {
    client
        .query_one(
            "SELECT GREATEST(c.reltuples::float8, COALESCE(s.n_live_tup, 0)::float8)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &table],
        )
        .await
        .ok()?
        .try_get(0)
        .ok()
}

/// The advice a plan calls for: an index for each filtered sequential scan
/// of a large table, with the evidence.
async fn advice(
    client: &Client,
    q: &SlowQuery,
    explained: &serde_json::Value,
) -> Vec<Optimization> {
    let mut out = Vec::new();
    for scan in plan::filtered_scans(explained) {
        let rows = table_rows(client, &scan.schema, &scan.table)
            .await
            .unwrap_or(0.0);
        if rows < LARGE_TABLE_ROWS {
            continue;
        }
        let table = format!("{}.{}", plan::ident(&scan.schema), plan::ident(&scan.table));
        let columns: Vec<String> = scan.columns.iter().map(|c| plan::ident(c)).collect();
        out.push(Optimization {
            title: format!("Index {table} on {}", columns.join(", ")),
            evidence: format!(
                "Each run reads all of {table} (about {rows:.0} rows, a sequential scan) to keep the rows where {}: {} calls in this range, {:.1} ms on average, {:.1} % of this database's statement time.",
                scan.filter, q.execution_count, q.avg_execution_time, q.time_share
            ),
            sql: Some(format!(
                "CREATE INDEX CONCURRENTLY ON {table} ({});",
                columns.join(", ")
            )),
        });
    }
    out
}

fn slow_query(source: &StoredSource, s: &store::Summed, all_ms: f64) -> SlowQuery {
    let c = &s.counters;
    let calls = c.calls.max(0) as u64;
    let blocks = c.blks_hit + c.blks_read;
    SlowQuery {
        source_id: source.id,
        source_name: source.spec.name.clone(),
        query_hash: s.queryid.to_string(),
        query_type: QueryType::of(&s.query),
        query_text: s.query.clone(),
        execution_count: calls,
        avg_execution_time: if calls > 0 {
            c.total_ms / calls as f64
        } else {
            0.0
        },
        max_execution_time: c.max_ms,
        total_time: c.total_ms,
        time_share: if all_ms > 0.0 {
            c.total_ms * 100.0 / all_ms
        } else {
            0.0
        },
        rows_per_call: if calls > 0 {
            c.rows as f64 / calls as f64
        } else {
            0.0
        },
        cache_hit_ratio: (blocks > 0).then(|| c.blks_hit as f64 * 100.0 / blocks as f64),
        optimizations: Vec::new(),
    }
}

/// The statements of `source` over the range whose mean is at least
/// `threshold_ms`, most total time first, at most `limit`.
async fn slow_of(
    store: &Store,
    source: &StoredSource,
    from_ms: i64,
    to_ms: i64,
    threshold_ms: f64,
) -> Result<Vec<SlowQuery>, crate::store::StoreError> {
    let id = source.id;
    let summed = store
        .call(move |s| s.statements_in(id, from_ms, to_ms))
        .await?;
    let all_ms: f64 = summed.iter().map(|s| s.counters.total_ms).sum();
    Ok(summed
        .iter()
        .map(|s| slow_query(source, s, all_ms))
        .filter(|q| q.execution_count > 0 && q.avg_execution_time >= threshold_ms)
        .collect())
}

/// Every database source's statements in `[from_ms, to_ms]` whose mean
/// is at least `threshold_ms` (without advice: no database is asked).
pub async fn statements_over(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
    threshold_ms: f64,
) -> Result<Vec<SlowQuery>, crate::store::StoreError> {
    let sources = store.call(|s| s.database_sources()).await?;
    let mut out = Vec::new();
    for source in &sources {
        out.extend(slow_of(store, source, from_ms, to_ms, threshold_ms).await?);
    }
    Ok(out)
}

/// The highest mean execution time of any statement of any database
/// source in `[from_ms, to_ms]`, ms; `None` when none was called.
pub async fn slowest_mean(
    store: &Store,
    source: Option<i64>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<f64>, crate::store::StoreError> {
    Ok(statements_over(store, from_ms, to_ms, 0.0)
        .await?
        .iter()
        .filter(|q| source.is_none_or(|id| q.source_id == id))
        .map(|q| q.avg_execution_time)
        .reduce(f64::max))
}

/// The statements of `sources` in `[from_ms, to_ms]` whose mean is at
/// least `threshold_ms`, most total time first, at most `limit`; each
/// `SELECT` with the advice its plan calls for.
pub async fn slow_with_advice(
    store: &Store,
    policy: &FetchPolicy,
    sources: &[StoredSource],
    (from_ms, to_ms): (i64, i64),
    threshold_ms: f64,
    limit: usize,
) -> Result<Vec<SlowQuery>, crate::store::StoreError> {
    let mut queries = Vec::new();
    for source in sources {
        let mut slow = slow_of(store, source, from_ms, to_ms, threshold_ms).await?;
        slow.sort_by(|a, b| b.total_time.total_cmp(&a.total_time));
        slow.truncate(limit);
        // Advice needs the plans: one connection per source, at most
        // `EXPLAINED` plans, the whole bounded by `ADVICE_TIME` (a database
        // that stops answering cannot hold the request).
        if slow.iter().any(|q| q.query_type == QueryType::Select) {
            let _ = tokio::time::timeout(ADVICE_TIME, async {
                let Ok(client) = connect(&source.spec, policy).await else {
                    return;
                };
                for q in slow
                    .iter_mut()
                    .filter(|q| q.query_type == QueryType::Select)
                    .take(EXPLAINED)
                {
                    if let Ok(plan) = explain(&client, &q.query_text).await {
                        q.optimizations = advice(&client, q, &plan).await;
                    }
                }
            })
            .await;
        }
        queries.extend(slow);
    }
    queries.sort_by(|a, b| b.total_time.total_cmp(&a.total_time));
    queries.truncate(limit);
    Ok(queries)
}

fn threshold_of(q: &SlowQueriesQuery) -> Result<f64, ApiError> {
    match q.threshold_ms {
        None => Ok(DEFAULT_THRESHOLD_MS),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Some(_) => Err(ApiError::bad_request(
            "threshold_ms",
            "threshold_ms must be a number of milliseconds, 0 or more",
        )),
    }
}

pub fn slow_queries_op() -> Op {
    Op::new(
        "slowQueries",
        "Statements of the PostgreSQL database sources whose mean execution time in the range is at least threshold_ms (1000 by default), from pg_stat_statements increases, most total time first, with advice from their plans",
    )
    .query::<SlowQueriesQuery>()
    .json::<SlowQueryList>(200, "the slow statements")
    .error(400, "bad input: the body names the field")
}

/// `GET slow-queries/?range=1h&threshold_ms=1000&source=1&limit=50`
pub async fn slow_queries(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<SlowQueriesQuery>,
) -> Result<Json<SlowQueryList>, ApiError> {
    let range = crate::metrics::parse_range(
        &q.time_range(),
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )?;
    let threshold_ms = threshold_of(&q)?;
    let limit = match q.limit {
        None => 50,
        Some(n @ 1..=200) => n as usize,
        Some(_) => return Err(ApiError::bad_request("limit", "limit must be 1 to 200")),
    };
    let sources = state.store.call(|s| s.database_sources()).await?;
    if let Some(id) = q.source
        && !sources.iter().any(|s| s.id == id)
    {
        return Err(ApiError::bad_request(
            "source",
            format!("no database source {id}"),
        ));
    }
    let chosen: Vec<StoredSource> = sources
        .into_iter()
        .filter(|s| q.source.is_none_or(|id| id == s.id))
        .collect();
    let queries = slow_with_advice(
        &state.store,
        state.database_sources.policy(),
        &chosen,
        (range.from_ms, range.to_ms),
        threshold_ms,
        limit,
    )
    .await?;
    Ok(Json(SlowQueryList {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        threshold_ms,
        queries,
    }))
}

pub fn slow_query_op() -> Op {
    Op::new(
        "slowQuery",
        "One statement of a database source (source= is needed) over the range: its figures, its plan (EXPLAIN, never run) with the advice, and its history",
    )
    .query::<SlowQueriesQuery>()
    .json::<SlowQueryDetail>(200, "the statement")
    .error(400, "bad input: the body names the field")
    .error(404, "no such statement in the range")
}

/// `GET slow-queries/{hash}/?source=1&range=1h`
pub async fn slow_query_detail(
    State(state): State<Ctx>,
    UrlPath(hash): UrlPath<String>,
    ApiQuery(q): ApiQuery<SlowQueriesQuery>,
) -> Result<Json<SlowQueryDetail>, ApiError> {
    let range = crate::metrics::parse_range(
        &q.time_range(),
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )?;
    let queryid: i64 = hash
        .parse()
        .map_err(|_| ApiError::bad_request("hash", "hash is a query_hash (an integer)"))?;
    let id = q.source.ok_or_else(|| {
        ApiError::bad_request(
            "source",
            "source is needed: the database the statement runs in",
        )
    })?;
    let source = state
        .store
        .call(move |s| s.database_source(id))
        .await?
        .ok_or_else(|| ApiError::bad_request("source", format!("no database source {id}")))?;
    let (from_ms, to_ms) = (range.from_ms, range.to_ms);
    let mut query = slow_of(&state.store, &source, from_ms, to_ms, 0.0)
        .await?
        .into_iter()
        .find(|s| s.query_hash == hash)
        .ok_or_else(|| ApiError::NotFound(format!("statement {hash} in this range")))?;
    let history = state
        .store
        .call(move |s| s.statement_history(id, queryid, from_ms, to_ms))
        .await?;
    let points = range.points.max(1) as i64;
    let span = (to_ms - from_ms).max(1);
    let mut buckets: Vec<(u64, f64)> = vec![(0, 0.0); points as usize];
    for (ts, calls, total) in history {
        let b = (((ts - from_ms) as i128 * points as i128 / span as i128) as usize)
            .min(points as usize - 1);
        buckets[b].0 += calls.max(0) as u64;
        buckets[b].1 += total;
    }
    let history = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, (calls, _))| *calls > 0)
        .map(|(i, (calls, total))| QueryPoint {
            ts_ms: from_ms + (i as i128 * span as i128 / points as i128) as i64,
            calls,
            avg_execution_time: Some(total / calls as f64),
        })
        .collect();
    let (plan, plan_error) = if query.query_type == QueryType::Select {
        match connect(&source.spec, state.database_sources.policy()).await {
            Ok(client) => match explain(&client, &query.query_text).await {
                Ok(explained) => {
                    query.optimizations = advice(&client, &query, &explained).await;
                    (Some(plan::lines(&explained)), None)
                }
                Err(e) => (None, Some(e)),
            },
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, Some("only a SELECT is explained".to_owned()))
    };
    Ok(Json(SlowQueryDetail {
        query,
        plan,
        plan_error,
        history,
    }))
}

/// Checks and normalises a spec; each refusal names its field.
pub async fn validate(
    mut spec: DatabaseSourceSpec,
    policy: &FetchPolicy,
) -> Result<DatabaseSourceSpec, ApiError> {
    spec.name = spec.name.trim().to_owned();
    spec.url = spec.url.trim().to_owned();
    crate::targets::check_name(&spec.name)?;
    let url = if spec.url.starts_with("postgresql://") {
        spec.url.replacen("postgresql://", "postgres://", 1)
    } else {
        spec.url.clone()
    };
    spec.tls_ca = spec.tls_ca.filter(|pem| !pem.trim().is_empty());
    crate::sources::validate_endpoint(
        &url,
        &["postgres"],
        |url| {
            let path = url.path();
            let db = path.trim_start_matches('/');
            !db.is_empty() && path.matches('/').count() == 1
        },
        Some(&spec.username),
        spec.password.as_deref(),
        policy,
    )
    .await
    .map_err(|e| match e {
        ApiError::BadRequest { field, message } if field == "url" => ApiError::bad_request(
            "url",
            format!("{message} (postgres://host[:port]/database, ?sslmode=require for TLS)"),
        ),
        other => other,
    })?;
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| ApiError::bad_request("url", e.to_string()))?;
    let mode = tls::mode(&parsed).map_err(|e| ApiError::bad_request("url", format!("url: {e}")))?;
    crate::sources::check_tls_ca(spec.tls_ca.as_deref(), mode == tls::Mode::Tls)?;
    spec.url = url;
    crate::targets::check_timing(spec.interval_ms, spec.timeout_ms)?;
    Ok(spec)
}

fn shown(samplers: &DatabaseSamplers, s: &StoredSource) -> DatabaseSource {
    let rt = samplers.tasks.runtime(s.id);
    DatabaseSource {
        id: s.id,
        name: s.spec.name.clone(),
        url: s.spec.url.clone(),
        username: s.spec.username.clone(),
        has_password: s.spec.password.as_deref().is_some_and(|p| !p.is_empty()),
        tls_ca: s.spec.tls_ca.clone(),
        interval_ms: s.spec.interval_ms,
        timeout_ms: s.spec.timeout_ms,
        enabled: s.spec.enabled,
        health: rt.health(),
        last_sample_ms: rt.last_sample_ms,
        last_error: rt.last_error,
        version: rt.version,
    }
}

pub fn list_op() -> Op {
    Op::new(
        "listDatabaseSources",
        "PostgreSQL databases watched for slow queries, with their live state",
    )
    .json::<DatabaseSourceList>(200, "all sources (passwords are never sent back)")
}

/// `GET database-sources/`
pub async fn list(State(state): State<Ctx>) -> Result<Json<DatabaseSourceList>, ApiError> {
    let rows = state.store.call(|s| s.database_sources()).await?;
    Ok(Json(DatabaseSourceList {
        sources: rows
            .iter()
            .map(|s| shown(&state.database_sources, s))
            .collect(),
    }))
}

pub fn create_op() -> Op {
    Op::new(
        "createDatabaseSource",
        "Add a PostgreSQL database; reading its statistics starts at once",
    )
    .body::<DatabaseSourceSpec>()
    .json::<DatabaseSource>(201, "created")
    .error(400, "bad input: the body names the field")
}

/// `POST database-sources/`
pub async fn create(
    State(state): State<Ctx>,
    body: Bytes,
) -> Result<(StatusCode, Json<DatabaseSource>), ApiError> {
    let spec = validate(parse_json(&body)?, state.database_sources.policy()).await?;
    let stored = spec.clone();
    let id = state
        .store
        .call(move |s| s.insert_database_source(&stored))
        .await?;
    let source = StoredSource { id, spec };
    state.database_sources.apply(&source);
    Ok((
        StatusCode::CREATED,
        Json(shown(&state.database_sources, &source)),
    ))
}

pub fn read_op() -> Op {
    Op::new("getDatabaseSource", "One database source")
        .json::<DatabaseSource>(200, "the source")
        .error(404, "no such source")
}

/// `GET database-sources/{id}/`
pub async fn read(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<DatabaseSource>, ApiError> {
    let source = state.store.call(move |s| s.database_source(id)).await?;
    let source = source.ok_or_else(|| ApiError::NotFound(format!("database source {id}")))?;
    Ok(Json(shown(&state.database_sources, &source)))
}

pub fn replace_op() -> Op {
    Op::new(
        "replaceDatabaseSource",
        "Replace a database source's spec (the password stays unless given); its reading restarts",
    )
    .body::<DatabaseSourceSpec>()
    .json::<DatabaseSource>(200, "replaced")
    .error(400, "bad input: the body names the field")
    .error(404, "no such source")
}

/// `PUT database-sources/{id}/`
pub async fn replace(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<DatabaseSource>, ApiError> {
    let spec = validate(parse_json(&body)?, state.database_sources.policy()).await?;
    let source = state
        .store
        .call(move |s| s.update_database_source(id, &spec))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("database source {id}")))?;
    state.database_sources.apply(&source);
    Ok(Json(shown(&state.database_sources, &source)))
}

pub fn delete_op() -> Op {
    Op::new(
        "deleteDatabaseSource",
        "Stop watching a database; its past reads stay",
    )
    .empty(204, "deleted")
    .error(404, "no such source")
}

/// `DELETE database-sources/{id}/`
pub async fn delete(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state
        .store
        .call(move |s| s.delete_database_source(id))
        .await?
    {
        return Err(ApiError::NotFound(format!("database source {id}")));
    }
    state.database_sources.stop(id);
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module: changes need an admin (they make Vigie
/// connect to new addresses).
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(paths::DATABASE_SOURCES);
    let statement = format!("{}/{{hash}}", paths::SLOW_QUERIES);
    r.get(paths::DATABASE_SOURCES, list, list_op())
        .change(
            Method::POST,
            paths::DATABASE_SOURCES,
            vigie_api::Role::Admin,
            create,
            create_op(),
        )
        .get(&one, read, read_op())
        .change(
            Method::PUT,
            &one,
            vigie_api::Role::Admin,
            replace,
            replace_op(),
        )
        .change(
            Method::DELETE,
            &one,
            vigie_api::Role::Admin,
            delete,
            delete_op(),
        )
        .get(paths::SLOW_QUERIES, slow_queries, slow_queries_op())
        .get(&statement, slow_query_detail, slow_query_op())
        .get(
            paths::DATABASE_INSIGHTS,
            insights::database_insights,
            insights::insights_op(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_select_is_explained() {
        assert_eq!(
            explainable("SELECT * FROM orders WHERE id = $1;"),
            Ok(("SELECT * FROM orders WHERE id = $1", 1))
        );
        for refused in [
            "UPDATE orders SET amount = $1",
            "DELETE FROM orders",
            "INSERT INTO orders VALUES ($1)",
            "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
            "SELECT 1; DROP TABLE orders",
            "select pg_sleep($1) /* $99999999999 */",
            "<insufficient privilege>",
            "",
        ] {
            assert!(explainable(refused).is_err(), "{refused}");
        }
    }
}
