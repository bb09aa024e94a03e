//! `vigie-server`: measures this host, stores the measurements in SQLite, serves
//! them as JSON and Server-Sent Events under `/api/performance/`, and serves the
//! built dashboard at `/`.
//!
//! [`app`] builds the router from an [`AppState`] (tests call it directly);
//! [`start`] opens the store, starts the sampler and listens; `main.rs` only
//! reads the config and waits for a signal.

pub mod alerts;
pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod events;
pub mod health;
pub mod host;
pub mod ingest;
pub mod maintenance;
pub mod metrics;
pub mod monitoring;
pub mod probes;
pub mod rollup;
pub mod scrape;
pub mod store;
pub mod stream;
pub mod targets;
pub mod telemetry;
pub mod web;
pub mod writer;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{MethodRouter, get, post};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use vigie_api::paths;

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

/// The OpenAPI document of every endpoint, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Everything a handler may need; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    host: HostHub,
    events: EventHub,
    monitoring: Monitoring,
    prober: Prober,
    writer: writer::Writer,
    telemetry: Arc<telemetry::Telemetry>,
    cache: cache::ResponseCache,
    alerts: alerts::Alerts,
    shutdown: CancellationToken,
}

impl AppState {
    pub fn config(&self) -> &Config {
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
    pub fn writer(&self) -> &writer::Writer {
        &self.inner.writer
    }
    pub fn telemetry(&self) -> &telemetry::Telemetry {
        &self.inner.telemetry
    }
    pub fn cache(&self) -> &cache::ResponseCache {
        &self.inner.cache
    }
    pub fn alerts(&self) -> &alerts::Alerts {
        &self.inner.alerts
    }
    /// Cancelled when the server shuts down; long-lived responses end with it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }
}

/// Registers `path` and `path/`: the seed clients call both forms.
fn both(router: Router<AppState>, path: &str, handler: MethodRouter<AppState>) -> Router<AppState> {
    router
        .route(path, handler.clone())
        .route(&format!("{path}/"), handler)
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

async fn openapi() -> ([(HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The whole HTTP surface: API, health checks and the dashboard's files.
pub fn app(state: AppState) -> Router {
    let mut api = Router::new();
    api = both(api, paths::SYSTEM_RESOURCES, get(host::system_resources));
    api = both(api, paths::STREAM, get(stream::stream));
    api = both(api, paths::METRICS, get(metrics::metrics));
    api = both(api, paths::OVERVIEW, get(metrics::overview));
    api = both(
        api,
        paths::TARGETS,
        get(targets::list).post(targets::create),
    );
    api = both(
        api,
        &format!("{}/{{id}}", paths::TARGETS),
        get(targets::read)
            .put(targets::replace)
            .delete(targets::delete),
    );
    api = both(
        api,
        paths::INGEST,
        // A full batch of 10,000 records is about 1.5 MB of JSON.
        post(ingest::ingest).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
    );
    api = both(api, paths::ENDPOINTS, get(metrics::endpoints));
    api = both(api, paths::MONITORING, get(monitoring::get_state));
    api = both(api, paths::START_MONITORING, post(monitoring::start));
    api = both(api, paths::STOP_MONITORING, post(monitoring::stop));
    api = both(api, paths::ALERTS, get(alerts::list));
    api = both(api, &format!("{}/{{id}}", paths::ALERTS), get(alerts::read));
    api = both(api, paths::RESOLVE_ALERT, post(alerts::resolve));
    api = both(api, paths::ACKNOWLEDGE_ALERT, post(alerts::acknowledge));
    api = both(
        api,
        paths::ALERT_RULES,
        get(alerts::rules::list).post(alerts::rules::create),
    );
    api = both(
        api,
        &format!("{}/{{id}}", paths::ALERT_RULES),
        get(alerts::rules::read)
            .put(alerts::rules::replace)
            .delete(alerts::rules::delete),
    );
    let api = api
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .put(api_not_found)
                .delete(api_not_found),
        )
        .route(paths::LIVEZ, get(health::livez))
        .route(paths::PROMETHEUS, get(telemetry::metrics))
        .route(paths::READYZ, get(health::readyz));

    // Tokens checked first, then timed; `route_layer` so the matched route is known.
    let api = api
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            telemetry::track,
        ));
    let files = Router::new()
        .fallback_service(web::static_files(&state.config().static_dir))
        .layer(axum::middleware::from_fn(web::cache_headers))
        .layer(CompressionLayer::new());

    let mut router = api
        .merge(files)
        .with_state(state.clone())
        // Errors worth an operator's attention are logged where they happen
        // (ApiError); a 503 from /readyz during start-up is not one.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        );
    if let Some(cors) = cors_layer(&state.config().cors_origins) {
        router = router.layer(cors);
    }
    router
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
    shutdown: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Server {
    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
    for (name, token) in [
        ("VIGIE_OPERATOR_TOKEN", &config.operator_token),
        ("VIGIE_INGEST_TOKEN", &config.ingest_token),
    ] {
        if token
            .as_ref()
            .is_some_and(|t| t.trim().len() < auth::MIN_TOKEN_LEN)
        {
            return Err(StartError::Insecure(format!(
                "{name} must be at least {} characters",
                auth::MIN_TOKEN_LEN
            )));
        }
    }
    if config.ingest_token.is_some() && config.operator_token.is_none() {
        return Err(StartError::Insecure(
            "VIGIE_INGEST_TOKEN needs VIGIE_OPERATOR_TOKEN: without it nothing is protected".into(),
        ));
    }
    if !config.addr.ip().is_loopback() && config.operator_token.is_none() {
        return Err(StartError::Insecure(format!(
            "refusing to listen on {} without VIGIE_OPERATOR_TOKEN: anyone could change targets",
            config.addr
        )));
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
    let (store, collector, history, monitoring, targets) = tokio::task::spawn_blocking(move || {
        let store = Store::open(&db_path)?;
        if default_target {
            targets::ensure_default_target(&store, &livez)?;
        }
        if let Some(file) = &targets_file {
            targets::load_file(&store, file)?;
        }
        let history = store.recent_host_samples(host::SERIES_LEN)?;
        let monitoring = Monitoring::load(&store)?;
        let targets = store.targets()?;
        Ok::<_, StartError>((
            store,
            HostCollector::new(&data_dir),
            history,
            monitoring,
            targets,
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
    );
    for (id, spec) in &targets {
        prober.apply(*id, spec);
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
    let state = AppState {
        inner: Arc::new(Inner {
            config,
            store,
            host,
            events,
            monitoring,
            prober,
            writer,
            telemetry,
            cache: cache::ResponseCache::default(),
            alerts: alerts::Alerts::default(),
            shutdown: shutdown.clone(),
        }),
    };
    let evaluator = alerts::spawn_evaluator(state.clone());
    let router = app(state);
    let stop = shutdown.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    tracing::info!(%addr, "vigie-server listening");
    Ok(Server {
        addr,
        shutdown,
        http,
        background: vec![sampler, writer_task, maintenance, evaluator],
    })
}
