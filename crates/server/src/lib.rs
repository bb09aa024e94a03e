//! `vigie-server`: measures this host, stores the measurements in SQLite, serves
//! them as JSON and Server-Sent Events under `/api/performance/`, and serves the
//! built dashboard at `/`.
//!
//! [`app`] builds the router from an [`AppState`] (tests call it directly);
//! [`start`] opens the store, starts the sampler and listens; `main.rs` only
//! reads the config and waits for a signal.

/// Declares what one module's handlers reach of the [`AppState`]: a struct
/// of (cheap) clones of those parts, extracted with `State<Ctx>`, so that a
/// handler sees its module's services and no others.
macro_rules! handler_ctx {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl axum::extract::FromRef<$crate::AppState> for $name {
            fn from_ref(s: &$crate::AppState) -> Self {
                $name {
                    $($field: s.$field().clone(),)*
                }
            }
        }
    };
}

pub mod alerts;
pub mod auth;
pub mod cache;
pub mod cdn;
pub mod config;
pub mod error;
pub mod events;
pub mod fetch_policy;
pub mod health;
pub mod host;
pub mod ingest;
pub mod limits;
pub mod maintenance;
pub mod measures;
pub mod metrics;
pub mod monitoring;
pub mod openapi;
pub mod postgres;
pub mod probes;
pub mod recommendations;
pub mod redis;
pub mod reports;
pub mod rollup;
pub mod scaling;
pub mod scrape;
pub mod security;
pub mod sources;
pub mod store;
pub mod stream;
pub mod targets;
pub mod telemetry;
pub mod web;
pub mod writer;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, get};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use vigie_api::{Role, paths};

pub use config::Config;
use error::ApiError;
use events::EventHub;
use host::{HostCollector, HostHub, SamplerDeps};
use monitoring::Monitoring;
use probes::Prober;
use store::{Store, StoreError};

/// Unix time now, in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Everything a handler may need; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    store: Store,
    host: HostHub,
    events: EventHub,
    monitoring: Monitoring,
    prober: Prober,
    cache_sources: redis::CacheSamplers,
    database_sources: postgres::DatabaseSamplers,
    writer: writer::Writer,
    telemetry: Arc<telemetry::Telemetry>,
    cache: Arc<cache::ResponseCache>,
    alerts: Arc<alerts::Alerts>,
    scaling: Arc<scaling::engine::Scaling>,
    reports: Arc<reports::Reports>,
    auth: Arc<auth::Auth>,
    rate_limits: auth::RateLimits,
    streams: limits::StreamSlots,
    shutdown: CancellationToken,
    /// The OpenAPI document, generated from the route table by the first
    /// [`app`] built.
    openapi: OnceLock<bytes::Bytes>,
}

impl AppState {
    pub fn config(&self) -> &Arc<Config> {
        &self.inner.config
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn host(&self) -> &HostHub {
        &self.inner.host
    }
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }
    pub fn monitoring(&self) -> &Monitoring {
        &self.inner.monitoring
    }
    pub fn prober(&self) -> &Prober {
        &self.inner.prober
    }
    pub fn cache_sources(&self) -> &redis::CacheSamplers {
        &self.inner.cache_sources
    }
    pub fn database_sources(&self) -> &postgres::DatabaseSamplers {
        &self.inner.database_sources
    }
    pub fn writer(&self) -> &writer::Writer {
        &self.inner.writer
    }
    pub fn telemetry(&self) -> &Arc<telemetry::Telemetry> {
        &self.inner.telemetry
    }
    pub fn cache(&self) -> &Arc<cache::ResponseCache> {
        &self.inner.cache
    }
    pub fn alerts(&self) -> &Arc<alerts::Alerts> {
        &self.inner.alerts
    }
    pub fn scaling(&self) -> &Arc<scaling::engine::Scaling> {
        &self.inner.scaling
    }
    pub fn reports(&self) -> &Arc<reports::Reports> {
        &self.inner.reports
    }
    pub fn auth(&self) -> &Arc<auth::Auth> {
        &self.inner.auth
    }
    pub fn rate_limits(&self) -> &auth::RateLimits {
        &self.inner.rate_limits
    }
    pub fn streams(&self) -> &limits::StreamSlots {
        &self.inner.streams
    }
    /// Cancelled when the server shuts down; long-lived responses end with it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }
    /// The OpenAPI document served at `/api/openapi.json` (JSON).
    pub fn openapi(&self) -> bytes::Bytes {
        self.inner
            .openapi
            .get_or_init(|| openapi::to_bytes(&routes(self)))
            .clone()
    }
}

/// One route of the API: one method on one path, what it needs, and its
/// documentation. [`routes`] lists them; the OpenAPI document is generated
/// from that list.
#[derive(Debug, Clone)]
pub struct ApiRoute {
    pub method: Method,
    /// As documented: with its trailing slash under `/api/performance`.
    pub path: String,
    /// Every path the router serves it under.
    pub served: Vec<String>,
    /// The role a token needs (reads: viewer); `None`: no token at all.
    pub role: Option<Role>,
    /// Whether a stream ticket may stand for the token.
    pub tickets: bool,
    /// Whether it is under the time limit and the cap on requests in progress.
    pub bounded: bool,
    pub op: openapi::Op,
}

/// The API's routes being declared. Each is one method on one path, with
/// the role it needs and its [`openapi::Op`]: the router and the table the
/// document is generated from grow in the same call, so a route cannot be
/// served undocumented. Paths under `/api/performance` are served with and
/// without their trailing slash (the seed clients call both) and
/// documented with it.
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<ApiRoute>,
    state: AppState,
    bounded: bool,
}

impl Routes {
    /// Adds what `declare` declares (a module's `routes`).
    fn with(self, declare: impl FnOnce(Routes) -> Routes) -> Self {
        declare(self)
    }

    /// The configuration, for a module whose routes depend on it.
    pub(crate) fn config(&self) -> &Config {
        self.state.config()
    }

    /// `bounded`: whether these routes will be under the time limit and the
    /// request cap (recorded for the document).
    fn new(state: &AppState, bounded: bool) -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
            state: state.clone(),
            bounded,
        }
    }

    /// A read, behind the [`auth::guard`]: a viewer's token.
    fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        op: openapi::Op,
    ) -> Self {
        self.add(Method::GET, path, Some(Role::Viewer), false, handler, op)
    }

    /// A change (`POST`, `PUT` or `DELETE`) needing `role`, behind the
    /// [`auth::guard`].
    fn change<H: Handler<T, AppState>, T: 'static>(
        self,
        method: Method,
        path: &str,
        role: Role,
        handler: H,
        op: openapi::Op,
    ) -> Self {
        debug_assert!(matches!(
            method,
            Method::POST | Method::PUT | Method::DELETE
        ));
        self.add(method, path, Some(role), false, handler, op)
    }

    /// A read that needs no token: health checks, the document, `session/`.
    fn public_get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        op: openapi::Op,
    ) -> Self {
        self.add(Method::GET, path, None, false, handler, op)
    }

    /// A read of a viewer whose token may be a single-use stream ticket.
    fn ticket_get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        op: openapi::Op,
    ) -> Self {
        self.add(Method::GET, path, Some(Role::Viewer), true, handler, op)
    }

    fn add<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        path: &str,
        role: Option<Role>,
        tickets: bool,
        handler: H,
        op: openapi::Op,
    ) -> Self {
        let filter = match method {
            Method::POST => MethodFilter::POST,
            Method::PUT => MethodFilter::PUT,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        let mut route = axum::routing::on(filter, handler);
        if let Some(changes) = role {
            let guard = auth::Guard {
                state: self.state.clone(),
                changes,
                tickets,
            };
            route = route.route_layer(axum::middleware::from_fn_with_state(guard, auth::guard));
        }
        let both = path.starts_with(vigie_api::API_PREFIX);
        let documented = if both {
            format!("{path}/")
        } else {
            path.to_owned()
        };
        let mut served = vec![path.to_owned()];
        if both {
            served.push(documented.clone());
        }
        for p in &served {
            // A second method on a path already routed joins the first.
            self.router = self.router.route(p, route.clone());
        }
        self.table.push(ApiRoute {
            method,
            path: documented,
            served,
            role,
            tickets,
            bounded: self.bounded,
            op,
        });
        self
    }
}

/// Every route of the API, as [`app`] serves it: the table the OpenAPI
/// document is generated from.
pub fn routes(state: &AppState) -> Vec<ApiRoute> {
    let (bounded, stream) = declare(state);
    bounded.table.into_iter().chain(stream.table).collect()
}

/// Every route, each feature module declaring its own (`routes` beside its
/// handlers): those under the time limit and the request cap, and the live
/// stream apart (long-lived by design, outside both).
fn declare(state: &AppState) -> (Routes, Routes) {
    let bounded = Routes::new(state, true)
        .with(host::routes)
        .with(metrics::routes)
        .with(targets::routes)
        .with(redis::routes)
        .with(postgres::routes)
        .with(ingest::routes)
        .with(monitoring::routes)
        .with(alerts::routes)
        .with(scaling::routes)
        .with(reports::routes)
        .with(recommendations::routes)
        .with(auth::routes)
        .with(health::routes)
        .with(telemetry::routes)
        .public_get(OPENAPI_PATH, openapi_document, openapi_op());
    let stream = Routes::new(state, false).with(stream::routes);
    (bounded, stream)
}

/// `path/{id}`: the path of one item of a collection.
pub(crate) fn item(path: &str) -> String {
    format!("{path}/{{id}}")
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

async fn openapi_document(
    State(state): State<AppState>,
) -> ([(HeaderName, &'static str); 1], bytes::Bytes) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi(),
    )
}

fn openapi_op() -> openapi::Op {
    openapi::Op::new("openapi", "This document").any_json(200, "OpenAPI 3.1")
}

/// A panic in a handler answers 500 like any internal error; the process,
/// its tasks and its stores go on.
fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    ApiError::Internal(format!("handler panicked: {what}")).into_response()
}

/// The whole HTTP surface: API, health checks and the dashboard's files.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// [`app`] with `extra` routes served behind the same protections (the Host
/// check, security headers, panic recovery): what tests use to exercise them.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let (bounded, stream) = declare(&state);
    state
        .inner
        .openapi
        .get_or_init(|| openapi::to_bytes(bounded.table.iter().chain(&stream.table)));
    let api = bounded
        .router
        // Any other path under /api/ is a JSON 404, not the dashboard.
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .put(api_not_found)
                .delete(api_not_found),
        )
        .merge(extra)
        // Bounded: a time limit and a cap on requests at once (the stream,
        // long-lived by design, is declared apart, outside both).
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(limits::Bounds::new(
                state.config().max_concurrent_requests,
                state.config().request_timeout(),
            )),
            limits::bounded,
        ));
    // Timed by route template; `route_layer` so the matched route is known.
    let api = api
        .merge(stream.router)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            telemetry::track,
        ));
    let config_file = state.config().static_dir.join("config.json");
    let frame_ancestors = state.config().frame_ancestors.clone();
    let files = Router::new()
        .route(
            "/config.json",
            get(move || async move { web::config_response(&config_file, &frame_ancestors) }),
        )
        .fallback_service(web::static_files(&state.config().static_dir))
        .layer(axum::middleware::from_fn(web::cache_headers))
        .layer(axum::middleware::from_fn(web::missing_asset_is_404))
        .layer(CompressionLayer::new());

    let mut router = api.merge(files).with_state(state.clone());
    if let Some(cors) = cors_layer(&state.config().cors_origins) {
        router = router.layer(cors);
    }
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security::Protection::from_config(state.config())),
            security::protect,
        ))
        .layer(CatchPanicLayer::custom(panic_answer));
    // Each request traced only when debug logging is on (`RUST_LOG=debug`):
    // otherwise its span and events would be built for nothing on every
    // request, the cached ones included. Errors worth an operator's
    // attention are logged where they happen (ApiError); a 503 from /readyz
    // during start-up is not one.
    if tracing::enabled!(tracing::Level::DEBUG) {
        router.layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
    } else {
        router
    }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| match HeaderValue::from_str(o) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = o, "ignoring an invalid CORS origin");
                None
            }
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("last-event-id"),
            ]),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    TargetsFile(#[from] targets::TargetsFileError),
    #[error("{0}")]
    Insecure(String),
    #[error("VIGIE_FETCH_ALLOW: {0}")]
    FetchPolicy(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Server {
    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the handlers share: for tests that reach the stores directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, ends open streams, waits for requests in flight, the
    /// sampler, and the writer's last batch.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server stops (after [`Server::shutdown_token`] is cancelled).
    pub async fn wait(self) -> std::io::Result<()> {
        let served = self
            .http
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        for task in self.background {
            let _ = task.await;
        }
        served
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Opens the database, starts the writer, the host sampler and the probes,
/// and listens on `config.addr`.
pub async fn start(config: Config) -> Result<Server, StartError> {
    let auth = auth::Auth::from_config(&config).map_err(StartError::Insecure)?;
    let fetch_policy =
        fetch_policy::FetchPolicy::from_config(&config).map_err(StartError::FetchPolicy)?;
    let file_policy = fetch_policy.clone();
    if !auth.required() && !config.addr.ip().is_loopback() {
        return Err(StartError::Insecure(format!(
            "refusing to listen on {} without tokens (VIGIE_ADMIN_TOKEN or VIGIE_TOKENS_FILE): anyone could change what Vigie watches",
            config.addr
        )));
    }
    if !auth.required() && security::HostPolicy::from_config(&config).has_outside_names() {
        return Err(StartError::Insecure(
            "VIGIE_ALLOWED_HOSTS names hosts beyond loopback: configure tokens (VIGIE_ADMIN_TOKEN or VIGIE_TOKENS_FILE) first".into(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr,
        source,
    })?;

    let db_path = config.database_path();
    let data_dir = config.data_dir.clone();
    let targets_file = config.targets_file.clone();
    // Probe ourselves on loopback even when listening on every interface.
    let livez = format!("http://127.0.0.1:{}{}", addr.port(), paths::LIVEZ);
    let default_target = config.default_target;
    let (store, collector, history, monitoring, (targets, cache_sources, database_sources)) =
        tokio::task::spawn_blocking(move || {
            let store = Store::open(&db_path)?;
            if default_target {
                targets::ensure_default_target(&store, &livez)?;
            }
            if let Some(file) = &targets_file {
                targets::load_file(&store, file, &file_policy)?;
            }
            let history = store.recent_host_samples(host::SERIES_LEN)?;
            let monitoring = Monitoring::load(&store)?;
            let targets = store.targets()?;
            let cache_sources = store.cache_sources()?;
            let database_sources = store.database_sources()?;
            Ok::<_, StartError>((
                store,
                HostCollector::new(&data_dir),
                history,
                monitoring,
                (targets, cache_sources, database_sources),
            ))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;

    let shutdown = CancellationToken::new();
    let events = EventHub::default();
    let telemetry = Arc::new(telemetry::Telemetry::default());
    let (writer, writer_task) =
        writer::spawn_writer(store.clone(), telemetry.clone(), shutdown.clone());
    let prober = Prober::new(
        writer.clone(),
        events.clone(),
        monitoring.clone(),
        telemetry.clone(),
        shutdown.clone(),
        config.down_after,
        config.scrape_histograms.clone(),
        fetch_policy,
    );
    for (id, spec) in &targets {
        prober.apply(*id, spec);
    }
    let samplers = redis::CacheSamplers::new(
        store.clone(),
        prober.fetch_policy().clone(),
        monitoring.clone(),
        shutdown.clone(),
    );
    for source in &cache_sources {
        samplers.apply(source);
    }
    let databases = postgres::DatabaseSamplers::new(
        store.clone(),
        prober.fetch_policy().clone(),
        monitoring.clone(),
        shutdown.clone(),
    );
    for source in &database_sources {
        databases.apply(source);
    }
    let maintenance = maintenance::spawn_maintenance(
        store.clone(),
        maintenance::Policy {
            raw_window: config.raw_window(),
            retention: config.retention(),
            max_bytes: config.max_db_mb * 1024 * 1024,
        },
        shutdown.clone(),
    );
    let (host, sampler) = host::spawn_sampler(
        collector,
        history,
        SamplerDeps {
            writer: writer.clone(),
            events: events.clone(),
            monitoring: monitoring.clone(),
            interval: config.sample_interval(),
            shutdown: shutdown.clone(),
        },
    );
    let config_streams = config.max_streams;
    let config_data_dir = config.data_dir.clone();
    let config_report_jobs = config.max_report_jobs;
    let state = AppState {
        inner: Arc::new(Inner {
            config: Arc::new(config),
            store,
            host,
            events,
            monitoring,
            prober,
            cache_sources: samplers,
            database_sources: databases,
            writer,
            telemetry,
            cache: Arc::default(),
            alerts: Arc::default(),
            scaling: Arc::default(),
            reports: Arc::new(reports::Reports::new(&config_data_dir, config_report_jobs)),
            streams: limits::StreamSlots::new(config_streams),
            auth: Arc::new(auth),
            rate_limits: auth::RateLimits::default(),
            shutdown: shutdown.clone(),
            openapi: OnceLock::new(),
        }),
    };
    if let Err(e) = reports::recover(&state).await {
        tracing::error!(error = %e, "cannot recover the reports left unfinished");
    }
    // A slot missed while the server was down, generated once before serving.
    if let Err(e) = reports::schedule::run_due(&state).await {
        tracing::error!(error = %e, "cannot start the scheduled reports due");
    }
    let refresher = cache::spawn_refresher(
        state.cache().clone(),
        state.store().clone(),
        shutdown.clone(),
    );
    let scheduler = reports::schedule::spawn(state.clone());
    let evaluator = alerts::spawn_evaluator(state.clone());
    let autoscaler = scaling::engine::spawn(
        state.clone(),
        std::time::Duration::from_millis(state.config().alert_interval_ms),
    );
    let router = app(state.clone());
    let stop = shutdown.clone();
    let http = tokio::spawn(async move {
        // The peer address feeds the per-address rate limits.
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    });
    tracing::info!(%addr, "vigie-server listening");
    Ok(Server {
        addr,
        state,
        shutdown,
        http,
        background: vec![
            sampler,
            writer_task,
            maintenance,
            evaluator,
            autoscaler,
            scheduler,
            refresher,
        ],
    })
}
