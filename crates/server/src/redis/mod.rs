//! Redis servers as cache sources: managed through `cache-sources/`, each
//! sampled by its own task (connect, `AUTH` when configured, a timed
//! `PING`, `INFO`), the samples stored in SQLite, and read back as hit
//! rate, lookups, latency, evictions and memory by `cache-performance/`.
//!
//! The connection goes through the same fetch policy as the probes: the
//! address a name resolves to is checked before connecting, at every
//! sample. `rediss://` adds TLS, the server's certificate verified (chain
//! and host name) against the public roots or the source's `tls_ca`. A failed sample (unreachable, refused password, `INFO` not
//! permitted, not Redis) is stored with its reason and shown on the source;
//! the other sources and the rest of Vigie go on.

pub mod figures;
pub mod info;
pub mod resp;
pub mod store;

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{Method, StatusCode};
use tokio_util::sync::CancellationToken;
use vigie_api::{CacheQuery, CacheReport, CacheSource, CacheSourceList, CacheSourceSpec, paths};

use crate::error::{ApiError, ApiQuery, parse_json};
use crate::fetch_policy::FetchPolicy;
use crate::monitoring::Monitoring;
use crate::openapi::Op;
use crate::store::Store;
use resp::{Connection, Reply};
use store::{NewSample, StoredSource};

/// Redis' port when the URL names none.
pub const DEFAULT_PORT: u16 = 6379;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        cache_sources: crate::redis::CacheSamplers,
        config: std::sync::Arc<crate::Config>,
    }
}

/// Starts, restarts and stops the sampling tasks; holds each source's live state.
#[derive(Debug, Clone)]
pub struct CacheSamplers {
    store: Store,
    policy: FetchPolicy,
    tasks: crate::sources::Tasks,
}

impl CacheSamplers {
    pub fn new(
        store: Store,
        policy: FetchPolicy,
        monitoring: Monitoring,
        shutdown: CancellationToken,
    ) -> Self {
        CacheSamplers {
            store,
            policy,
            tasks: crate::sources::Tasks::new(monitoring, shutdown),
        }
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    pub fn runtime(&self, id: i64) -> crate::sources::Runtime {
        self.tasks.runtime(id)
    }

    /// (Re)starts sampling `source`, or stops it when disabled.
    pub fn apply(&self, source: &StoredSource) {
        if !source.spec.enabled {
            self.tasks.stop(source.id);
            return;
        }
        let sampler = RedisSampler {
            source: source.clone(),
            policy: self.policy.clone(),
            store: self.store.clone(),
        };
        let spec = &source.spec;
        self.tasks
            .start(source.id, spec.interval_ms, spec.timeout_ms, sampler);
    }

    /// Stops sampling `id` and forgets its live state.
    pub fn stop(&self, id: i64) {
        self.tasks.stop(id);
    }
}

/// One Redis server's sampling.
struct RedisSampler {
    source: StoredSource,
    policy: FetchPolicy,
    store: Store,
}

impl crate::sources::Sampler for RedisSampler {
    type Sample = (info::Info, u64);

    async fn sample(&mut self) -> Result<Self::Sample, String> {
        sample(&self.source.spec, &self.policy).await
    }

    fn version(sample: &Self::Sample) -> Option<String> {
        sample.0.version.clone()
    }

    async fn store(&mut self, ts_ms: i64, read: Result<Self::Sample, String>) {
        let sample = NewSample {
            source_id: self.source.id,
            ts_ms,
            read,
        };
        if let Err(e) = self
            .store
            .call(move |s| s.insert_cache_sample(&sample))
            .await
        {
            tracing::error!(source = self.source.id, error = %e, "cannot store a cache sample");
        }
    }
}

/// What a command got instead of Redis' answer: its start only (a reply
/// may be a MiB long, and this is stored with every failed sample).
fn unexpected(command: &str, reply: &Reply) -> String {
    let shown: String = format!("{reply:?}").chars().take(200).collect();
    format!("{command} answered {shown}, not what Redis answers")
}

/// One sample: `INFO`'s figures and the `PING` round trip in µs.
pub async fn sample(
    spec: &CacheSourceSpec,
    policy: &FetchPolicy,
) -> Result<(info::Info, u64), String> {
    let url = reqwest::Url::parse(&spec.url).map_err(|e| format!("bad URL: {e}"))?;
    let stream = crate::sources::connect(&url, DEFAULT_PORT, policy).await?;
    if url.scheme() == "rediss" {
        let stream = crate::sources::tls(stream, &url, spec.tls_ca.as_deref()).await?;
        session(Connection::new(stream), spec).await
    } else {
        session(Connection::new(stream), spec).await
    }
}

/// `AUTH` when configured, then the timed `PING` and `INFO`.
async fn session<S>(
    mut conn: Connection<S>,
    spec: &CacheSourceSpec,
) -> Result<(info::Info, u64), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let io = |e: resp::RespError| e.to_string();
    if let Some(password) = spec.password.as_deref().filter(|p| !p.is_empty()) {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = &spec.username {
            args.push(user.as_bytes());
        }
        args.push(password.as_bytes());
        match conn.command(&args).await.map_err(io)? {
            Reply::Status(_) => {}
            Reply::Error(e) => return Err(format!("authentication refused: {e}")),
            other => return Err(unexpected("AUTH", &other)),
        }
    }
    let started = Instant::now();
    match conn.command(&[b"PING"]).await.map_err(io)? {
        Reply::Status(s) if s == "PONG" => {}
        Reply::Error(e) => return Err(format!("PING refused: {e}")),
        other => return Err(unexpected("PING", &other)),
    }
    let latency_us = started.elapsed().as_micros() as u64;
    let text = match conn.command(&[b"INFO"]).await.map_err(io)? {
        Reply::Bulk(Some(body)) => String::from_utf8_lossy(&body).into_owned(),
        Reply::Error(e) => return Err(format!("INFO refused: {e}")),
        other => return Err(unexpected("INFO", &other)),
    };
    Ok((info::parse(&text)?, latency_us))
}

/// Checks and normalises a spec; each refusal names its field. The URL's
/// host must pass the fetch policy, as written and as it resolves now.
pub async fn validate(
    mut spec: CacheSourceSpec,
    policy: &FetchPolicy,
) -> Result<CacheSourceSpec, ApiError> {
    spec.name = spec.name.trim().to_owned();
    spec.url = spec.url.trim().to_owned();
    crate::targets::check_name(&spec.name)?;
    spec.tls_ca = spec.tls_ca.filter(|pem| !pem.trim().is_empty());
    crate::sources::validate_endpoint(
        &spec.url,
        &["redis", "rediss"],
        |url| matches!(url.path(), "" | "/") && url.query().is_none(),
        spec.username.as_deref(),
        spec.password.as_deref(),
        policy,
    )
    .await?;
    crate::sources::check_tls_ca(spec.tls_ca.as_deref(), spec.url.starts_with("rediss://"))?;
    crate::targets::check_timing(spec.interval_ms, spec.timeout_ms)?;
    Ok(spec)
}

fn shown(samplers: &CacheSamplers, s: &StoredSource) -> CacheSource {
    let rt = samplers.runtime(s.id);
    CacheSource {
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
        "listCacheSources",
        "Redis servers watched as cache sources, with their live state",
    )
    .json::<CacheSourceList>(200, "all sources (passwords are never sent back)")
}

/// `GET cache-sources/`
pub async fn list(State(state): State<Ctx>) -> Result<Json<CacheSourceList>, ApiError> {
    let rows = state.store.call(|s| s.cache_sources()).await?;
    Ok(Json(CacheSourceList {
        sources: rows
            .iter()
            .map(|s| shown(&state.cache_sources, s))
            .collect(),
    }))
}

pub fn create_op() -> Op {
    Op::new(
        "createCacheSource",
        "Add a Redis server; sampling starts at once",
    )
    .body::<CacheSourceSpec>()
    .json::<CacheSource>(201, "created")
    .error(400, "bad input: the body names the field")
}

/// `POST cache-sources/`
pub async fn create(
    State(state): State<Ctx>,
    body: Bytes,
) -> Result<(StatusCode, Json<CacheSource>), ApiError> {
    let spec = validate(parse_json(&body)?, state.cache_sources.policy()).await?;
    let stored = spec.clone();
    let id = state
        .store
        .call(move |s| s.insert_cache_source(&stored))
        .await?;
    let source = StoredSource { id, spec };
    state.cache_sources.apply(&source);
    Ok((
        StatusCode::CREATED,
        Json(shown(&state.cache_sources, &source)),
    ))
}

pub fn read_op() -> Op {
    Op::new("getCacheSource", "One cache source")
        .json::<CacheSource>(200, "the source")
        .error(404, "no such source")
}

/// `GET cache-sources/{id}/`
pub async fn read(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<CacheSource>, ApiError> {
    let source = state.store.call(move |s| s.cache_source(id)).await?;
    let source = source.ok_or_else(|| ApiError::NotFound(format!("cache source {id}")))?;
    Ok(Json(shown(&state.cache_sources, &source)))
}

pub fn replace_op() -> Op {
    Op::new(
        "replaceCacheSource",
        "Replace a cache source's spec (the password stays unless given); its sampling restarts",
    )
    .body::<CacheSourceSpec>()
    .json::<CacheSource>(200, "replaced")
    .error(400, "bad input: the body names the field")
    .error(404, "no such source")
}

/// `PUT cache-sources/{id}/`
pub async fn replace(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<CacheSource>, ApiError> {
    let spec = validate(parse_json(&body)?, state.cache_sources.policy()).await?;
    let source = state
        .store
        .call(move |s| s.update_cache_source(id, &spec))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("cache source {id}")))?;
    state.cache_sources.apply(&source);
    Ok(Json(shown(&state.cache_sources, &source)))
}

pub fn delete_op() -> Op {
    Op::new(
        "deleteCacheSource",
        "Stop watching a Redis server; its past samples stay",
    )
    .empty(204, "deleted")
    .error(404, "no such source")
}

/// `DELETE cache-sources/{id}/`
pub async fn delete(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.store.call(move |s| s.delete_cache_source(id)).await? {
        return Err(ApiError::NotFound(format!("cache source {id}")));
    }
    state.cache_sources.stop(id);
    Ok(StatusCode::NO_CONTENT)
}

/// The figures of every source (or `only`, when it exists) over
/// `[from_ms, to_ms]`.
pub async fn figures_of(
    store: &Store,
    only: Option<i64>,
    from_ms: i64,
    to_ms: i64,
    points: u32,
) -> Result<Vec<vigie_api::CacheSourceFigures>, crate::store::StoreError> {
    store
        .call(move |s| {
            s.cache_sources()?
                .into_iter()
                .filter(|src| only.is_none_or(|id| id == src.id))
                .map(|src| {
                    let (before, samples) = s.cache_samples(src.id, from_ms, to_ms)?;
                    Ok(figures::figures(
                        src.id,
                        &src.spec.name,
                        before.as_ref().map(|(r, ts)| (r, *ts)),
                        &samples,
                        from_ms,
                        to_ms,
                        points,
                    ))
                })
                .collect()
        })
        .await
}

/// The figures of every source (or `only`) over `[from_ms, to_ms]`, and
/// them together; an unknown `only` is a bad request naming `source`.
pub async fn report(
    store: &Store,
    only: Option<i64>,
    from_ms: i64,
    to_ms: i64,
    points: u32,
) -> Result<CacheReport, ApiError> {
    let figures = figures_of(store, only, from_ms, to_ms, points).await?;
    if let Some(id) = only
        && figures.is_empty()
    {
        return Err(ApiError::bad_request(
            "source",
            format!("no cache source {id}"),
        ));
    }
    Ok(CacheReport {
        from_ms,
        to_ms,
        cache_performance: figures::combined(&figures),
        sources: figures,
    })
}

pub fn performance_op() -> Op {
    Op::new(
        "cachePerformance",
        "Hit rate, hits and misses, PING latency, evictions and memory of the Redis cache sources over a range (seed cache_performance), per source with a series",
    )
    .query::<CacheQuery>()
    .json::<CacheReport>(200, "figures are null when nothing was measured")
    .error(400, "bad input: the body names the field")
}

/// `GET cache-performance/?range=1h&source=2&points=120`
pub async fn performance(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<CacheQuery>,
) -> Result<Json<CacheReport>, ApiError> {
    let range = crate::metrics::parse_range(
        &q.time_range(),
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )?;
    Ok(Json(
        report(
            &state.store,
            q.source,
            range.from_ms,
            range.to_ms,
            range.points,
        )
        .await?,
    ))
}

/// The routes of this module: changes need an admin (they make Vigie
/// connect to new addresses).
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(paths::CACHE_SOURCES);
    r.get(paths::CACHE_SOURCES, list, list_op())
        .change(
            Method::POST,
            paths::CACHE_SOURCES,
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
        .get(paths::CACHE_PERFORMANCE, performance, performance_op())
}
