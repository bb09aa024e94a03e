//! The wire contract of the Vigie API, written once and shared by `vigie-server`
//! and the dashboard. Field names follow the first users' documents (snake_case,
//! `cpu_usage`, `memory_usage`, ...) so that a client written against them keeps
//! working. Types here are plain data: no I/O, builds for native and wasm32.

use serde::{Deserialize, Serialize};

/// Path prefix of every seed endpoint.
pub const API_PREFIX: &str = "/api/performance";

mod alerts;
pub use alerts::*;
mod cache;
pub use cache::*;
mod database;
pub use database::*;
mod embed;
pub use embed::*;
mod query;
mod recommendations;
mod reports;
mod scaling;
pub use query::*;
pub use recommendations::*;
pub use reports::*;
pub use scaling::*;

/// Paths of the endpoints, relative to the API origin, without trailing slash.
/// The server also answers each of them with a trailing slash.
pub mod paths {
    /// `GET`: latest host sample, capacities and a recent series.
    pub const SYSTEM_RESOURCES: &str = "/api/performance/system-resources";
    /// `GET`: Server-Sent Events; each `sample` event carries one [`super::HostSample`].
    pub const STREAM: &str = "/api/performance/stream";
    /// `GET`: response-time figures over a range (seed `performance_metrics`).
    pub const METRICS: &str = "/api/performance/metrics";
    /// `GET` list, `POST` create.
    pub const TARGETS: &str = "/api/performance/targets";
    /// `GET`: monitoring state. `POST start-monitoring/` and `stop-monitoring/` change it.
    pub const MONITORING: &str = "/api/performance/monitoring";
    pub const START_MONITORING: &str = "/api/performance/start-monitoring";
    pub const STOP_MONITORING: &str = "/api/performance/stop-monitoring";
    /// `GET`: the seeds' combined object.
    pub const OVERVIEW: &str = "/api/performance";
    /// `POST`: a batch of request records from an application.
    pub const INGEST: &str = "/api/performance/ingest";
    /// `GET`: endpoints ranked by p95, error rate or request count.
    pub const ENDPOINTS: &str = "/api/performance/endpoints";
    /// `GET`: alerts, filtered and paginated (seed `alerts/`).
    pub const ALERTS: &str = "/api/performance/alerts";
    /// `POST`: resolve one alert with a note (seed `resolve-alert/`).
    pub const RESOLVE_ALERT: &str = "/api/performance/resolve-alert";
    /// `POST`: acknowledge one alert.
    pub const ACKNOWLEDGE_ALERT: &str = "/api/performance/acknowledge-alert";
    /// `GET` list, `POST` create; `alert-rules/{id}`: `GET`, `PUT`, `DELETE`.
    pub const ALERT_RULES: &str = "/api/performance/alert-rules";
    /// `GET`: Vigie's own metrics in the Prometheus text format.
    pub const PROMETHEUS: &str = "/metrics";
    /// `GET`: the process is running.
    pub const LIVEZ: &str = "/livez";
    /// `GET`: the process can serve (database open, first sample taken).
    pub const READYZ: &str = "/readyz";
    /// `POST`: a short-lived, single-use ticket that opens the live stream
    /// (`stream/?ticket=…`): a browser's `EventSource` cannot send a token.
    pub const STREAM_TICKET: &str = "/api/performance/stream-ticket";
    /// `GET`: who the caller is (token name and role) and whether tokens are needed.
    pub const SESSION: &str = "/api/performance/session";
    /// `GET`: every scaling configuration with its instances, trigger and
    /// what automatic mode would do (seed `auto-scaling-status/`).
    pub const AUTO_SCALING_STATUS: &str = "/api/performance/auto-scaling-status";
    /// `POST`: scale up, down or to N, with a reason (seed `execute-scaling-action/`).
    pub const EXECUTE_SCALING_ACTION: &str = "/api/performance/execute-scaling-action";
    /// `GET` list, `POST` create; `scaling-configurations/{id}`: `GET`, `PUT`, `DELETE`.
    pub const SCALING_CONFIGURATIONS: &str = "/api/performance/scaling-configurations";
    /// `GET`: the scaling audit log.
    pub const SCALING_ACTIONS: &str = "/api/performance/scaling-actions";
    /// `POST`: start generating a report; answered at once with its id.
    pub const GENERATE_REPORT: &str = "/api/performance/generate-report";
    /// `GET` list; `reports/{id}`: `GET`, `DELETE`; `reports/{id}/download?format=`;
    /// `POST reports/{id}/cancel`.
    pub const REPORTS: &str = "/api/performance/reports";
    /// `GET` list, `POST` create; `report-schedules/{id}`: `GET`, `PUT`, `DELETE`.
    pub const REPORT_SCHEDULES: &str = "/api/performance/report-schedules";
    /// `GET`: advice drawn from the measurements, each with its evidence.
    pub const RECOMMENDATIONS: &str = "/api/performance/recommendations";
    /// `GET` list, `POST` create; `cache-sources/{id}`: `GET`, `PUT`, `DELETE`.
    pub const CACHE_SOURCES: &str = "/api/performance/cache-sources";
    /// `GET`: the cache sources' hit rate, lookups, latency, evictions and
    /// memory over a range (seed `cache_performance`).
    pub const CACHE_PERFORMANCE: &str = "/api/performance/cache-performance";
    /// `GET` list, `POST` create; `database-sources/{id}`: `GET`, `PUT`, `DELETE`.
    pub const DATABASE_SOURCES: &str = "/api/performance/database-sources";
    /// `GET`: statements whose mean is over a threshold in a range, with
    /// advice; `slow-queries/{hash}`: one, with its plan and history.
    pub const SLOW_QUERIES: &str = "/api/performance/slow-queries";
    /// `GET`: tables read by sequential scans, unused indexes and the
    /// buffer cache hit ratio of the database sources over a range.
    pub const DATABASE_INSIGHTS: &str = "/api/performance/database-insights";
}

/// What a token may do. Each role includes the ones before it, except
/// [`Role::Ingest`], which only adds measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and the live stream.
    Viewer,
    /// Also: start/stop monitoring, acknowledge and resolve alerts, scaling
    /// actions, reports.
    Operator,
    /// Also: targets, alert rules, scaling configurations: anything that
    /// makes Vigie fetch a new address or changes what it watches.
    Admin,
    /// `POST ingest/` only: for applications sending their request records.
    Ingest,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Admin, Role::Ingest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a token of this role may do what `needed` allows. An admin
    /// may do everything; the ingest role only ingests.
    pub fn permits(self, needed: Role) -> bool {
        match (self, needed) {
            (Role::Admin, _) => true,
            (Role::Ingest, needed) => needed == Role::Ingest,
            (_, Role::Ingest) => false,
            (have, needed) => have >= needed,
        }
    }
}

/// Body of `POST stream-ticket/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamTicket {
    /// Opaque; goes in `stream/?ticket=`; opens one stream, once.
    pub ticket: String,
    /// Seconds the ticket stays usable.
    pub expires_in_s: u64,
}

/// Body of `GET session/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Whether this server needs a token (it does once any is configured).
    pub auth_required: bool,
    /// The token's name; `None` when no token is needed or none was sent.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub name: Option<String>,
    /// What the caller may do.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub role: Option<Role>,
}

/// One request an application served, as its middleware saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestRecord {
    /// Route or path, e.g. `/api/orders/{id}`.
    pub endpoint: String,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// HTTP status answered.
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 599))]
    pub status: u16,
    /// Time to answer, milliseconds; finite and not negative.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub duration_ms: f64,
    /// When it was served, Unix ms; defaults to arrival; at most 5 min ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The application that served it; defaults to `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = "default"))]
    pub service: Option<String>,
}

/// Body of `POST ingest/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestBatch {
    pub records: Vec<RequestRecord>,
}

/// Answer to `POST ingest/`, sent once the batch is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestAck {
    pub stored: u64,
}

/// Which measurements `metrics/` summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Vigie's own HTTP probes of the targets.
    #[default]
    Probes,
    /// Requests reported by applications through `ingest/`.
    Requests,
    /// Request-duration histograms scraped from a Prometheus target.
    Scrape,
}

/// Figures of one endpoint of one service over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointStats {
    pub service: String,
    pub method: String,
    pub endpoint: String,
    pub count: u64,
    /// 5xx answers, percent of all.
    pub error_rate: f64,
    pub avg_response_time: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Body of `GET endpoints/`, worst first by the order asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointList {
    pub from_ms: i64,
    pub to_ms: i64,
    pub endpoints: Vec<EndpointStats>,
}

/// Service level targets from the first users' documents: what the overview
/// compares the measurements with.
pub mod sli {
    /// Availability at least this, percent.
    pub const AVAILABILITY_PCT: f64 = 99.9;
    /// p95 response time at most this, ms.
    pub const P95_MS: f64 = 500.0;
    /// p99 response time at most this, ms.
    pub const P99_MS: f64 = 1000.0;
    /// Error rate at most this, percent.
    pub const ERROR_RATE_PCT: f64 = 0.1;
}

/// Name of the SSE event that carries one [`HostSample`].
pub const SAMPLE_EVENT: &str = "sample";
/// Name of the SSE event that carries one [`ProbeResult`].
pub const PROBE_EVENT: &str = "probe";
/// Name of the SSE event that carries the [`MonitoringState`] when it changes.
pub const MONITORING_EVENT: &str = "monitoring";

/// HTTP method a probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum ProbeMethod {
    #[default]
    Get,
    Head,
}

/// What Vigie does with a target's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Probe it: response time, status, availability.
    #[default]
    Http,
    /// Scrape it as a Prometheus `/metrics` endpoint (node_exporter's gives
    /// that host's resources); the scrape is also probed.
    Prometheus,
}

/// What an admin declares about an endpoint to probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetSpec {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// `http://` or `https://` URL, without credentials.
    pub url: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = TargetKind::default))]
    pub kind: TargetKind,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = ProbeMethod::default))]
    pub method: ProbeMethod,
    /// Status that counts as success.
    #[serde(default = "default_expected_status")]
    #[cfg_attr(feature = "openapi", schema(default = default_expected_status, minimum = 100, maximum = 599))]
    pub expected_status: u16,
    /// Milliseconds between two probes; at least 1000.
    #[serde(default = "default_interval_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_interval_ms, minimum = 1000, maximum = 86_400_000))]
    pub interval_ms: u64,
    /// Milliseconds before a probe counts as timed out; at most `interval_ms`.
    #[serde(default = "default_timeout_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_timeout_ms, minimum = 50))]
    pub timeout_ms: u64,
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = default_true))]
    pub enabled: bool,
}

fn default_expected_status() -> u16 {
    200
}
fn default_interval_ms() -> u64 {
    5000
}
fn default_timeout_ms() -> u64 {
    3000
}
fn default_true() -> bool {
    true
}

/// How one probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered with the expected status.
    Ok,
    /// No complete answer within the timeout.
    Timeout,
    /// The connection was refused.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed.
    Tls,
    /// Answered, with another status than expected.
    BadStatus,
    /// Any other transport failure (reset, protocol error...).
    Error,
    /// Refused by Vigie's fetch policy before anything was sent: the URL,
    /// a redirect or the name's addresses are link-local, cloud metadata, or
    /// outside `VIGIE_FETCH_ALLOW`.
    Blocked,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::Timeout,
        Outcome::Refused,
        Outcome::Dns,
        Outcome::Tls,
        Outcome::BadStatus,
        Outcome::Error,
        Outcome::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Dns => "dns",
            Outcome::Tls => "tls",
            Outcome::BadStatus => "bad_status",
            Outcome::Error => "error",
            Outcome::Blocked => "blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One probe of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeResult {
    pub target_id: i64,
    pub ts_ms: i64,
    pub outcome: Outcome,
    /// Time to the complete answer. `None` when there was no answer (timeout,
    /// refused...): failures never enter latency figures.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub latency_ms: Option<f64>,
    /// HTTP status, when there was an answer.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub status: Option<u16>,
}

/// Whether a target answers, from its recent probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Not probed yet (new, disabled, or monitoring paused since start).
    Unknown,
    Up,
    /// Failed `down_after` times in a row.
    Down,
}

impl Health {
    pub const ALL: [Health; 3] = [Health::Unknown, Health::Up, Health::Down];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// A probe target as stored, with its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    pub id: i64,
    #[serde(flatten)]
    pub spec: TargetSpec,
    pub health: Health,
    pub consecutive_failures: u32,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_result: Option<ProbeResult>,
    /// Why the last scrape could not be read (not the Prometheus format...).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_error: Option<String>,
}

/// What a picker reads of a [`Target`]. A target's JSON read as this
/// leaves the other fields: a page that only lists targets by name carries
/// no decoder for the rest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TargetSummary {
    pub id: i64,
    pub name: String,
    pub kind: TargetKind,
    pub enabled: bool,
    pub interval_ms: u64,
}

/// `GET targets/` read as [`TargetSummary`]s.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TargetSummaryList {
    pub targets: Vec<TargetSummary>,
}

/// Body of `GET targets/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetList {
    pub targets: Vec<Target>,
}

/// Collection on or off; survives restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonitoringState {
    pub monitoring: bool,
    /// When it last changed, Unix ms; `None` if never.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub changed_at_ms: Option<i64>,
}

/// The seeds' `performance_metrics`: response times of the probes in a range.
/// Every figure is `None` when nothing was measured: never a zero that looks measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceMetrics {
    /// Mean latency of successful probes, ms.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avg_response_time: Option<f64>,
    /// Probes run.
    pub total_requests: u64,
    /// Failed probes, percent of all.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub error_rate: Option<f64>,
    /// Probes per second over the range.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub throughput: Option<f64>,
    /// Successful probes, percent of all.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub availability: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub p50: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub p95: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub p99: Option<f64>,
}

/// One bucket of a downsampled latency series. Latency figures cover the
/// successful probes of the bucket; `min`/`max` keep spikes visible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsPoint {
    /// Start of the bucket, Unix ms.
    pub ts_ms: i64,
    pub count: u64,
    pub errors: u64,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avg: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub min: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub max: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub p95: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub p99: Option<f64>,
}

/// Body of `GET metrics/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsResponse {
    pub performance_metrics: PerformanceMetrics,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Width of each series bucket, ms.
    pub bucket_ms: i64,
    /// What was summarised.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub source: Source,
    /// Probes of this target only; `None`: all targets (or requests).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub target_id: Option<i64>,
    /// Requests of this service only.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub service: Option<String>,
    /// Requests of this endpoint only.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub endpoint: Option<String>,
    pub series: Vec<MetricsPoint>,
}

/// The seeds' cache block: the Redis cache sources together over a range
/// (`GET cache-performance/`). Without a source `available` is false and
/// every figure null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CachePerformance {
    pub available: bool,
    /// Hits over hits and misses, percent.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub hit_rate: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub total_hits: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub total_misses: Option<u64>,
    /// Mean `PING` round trip, ms.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avg_response_time: Option<f64>,
    /// Keys evicted for lack of memory.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub evictions: Option<u64>,
    /// Bytes used, summed over the sources' latest samples.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub memory: Option<u64>,
}

impl CachePerformance {
    /// No cache source: nothing measured.
    pub fn unavailable() -> Self {
        CachePerformance {
            available: false,
            hit_rate: None,
            total_hits: None,
            total_misses: None,
            avg_response_time: None,
            evictions: None,
            memory: None,
        }
    }
}

/// Body of `GET /api/performance/`: the object the seed dashboard fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub performance_metrics: PerformanceMetrics,
    pub system_resources: SystemResources,
    pub cache_performance: CachePerformance,
    pub monitoring: MonitoringState,
}

/// One measurement of this host, taken by the server's sampler once a second.
///
/// Percentages are 0–100. `network_usage` is the seeds' field: total bytes per
/// second received plus sent over all non-loopback interfaces, in KiB/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSample {
    /// Unix time of the measurement, milliseconds. Also the SSE event id.
    pub ts_ms: i64,
    /// CPU busy time over the last interval, all cores, percent.
    pub cpu_usage: f64,
    /// Memory in use (total minus available), percent of total.
    pub memory_usage: f64,
    /// Space used on the filesystem holding the data directory, percent.
    pub disk_usage: f64,
    /// Network throughput, KiB/s received plus sent.
    pub network_usage: f64,
    pub memory_used_bytes: u64,
    pub disk_used_bytes: u64,
    pub network_rx_bytes_per_s: f64,
    pub network_tx_bytes_per_s: f64,
}

/// Fixed sizes of this host, read at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostCapacities {
    pub hostname: String,
    pub cpu_cores: u32,
    pub memory_total_bytes: u64,
    pub disk_total_bytes: u64,
    /// Mount point whose usage `disk_usage` reports.
    pub disk_mount: String,
}

/// Body of `GET /api/performance/system-resources/`.
///
/// The top-level `cpu_usage` .. `network_usage` fields are the latest sample,
/// as in the seeds; `series` holds the recent samples oldest first, the last
/// one being the same as the top-level values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemResources {
    /// `None` until the sampler has taken its first sample.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub ts_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub cpu_usage: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub memory_usage: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub disk_usage: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub network_usage: Option<f64>,
    pub capacities: HostCapacities,
    /// Seconds between samples.
    pub interval_s: f64,
    pub series: Vec<HostSample>,
    /// Present when a range was asked for (`range`, or `from`/`to`): the stored
    /// samples of that range, reduced to at most `points` buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<ResourceHistory>,
}

/// Lowest, mean and highest value of one figure over a bucket: the mean draws
/// the line, the extremes keep short spikes visible.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spread {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// One bucket of stored host samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourcePoint {
    /// Start of the bucket, Unix ms.
    pub ts_ms: i64,
    /// Samples in the bucket.
    pub count: u64,
    pub cpu_usage: Spread,
    pub memory_usage: Spread,
    pub disk_usage: Spread,
    pub network_usage: Spread,
}

/// Host samples over a range, bucketed; buckets without a sample are left
/// out, so a pause or an outage stays a gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceHistory {
    pub from_ms: i64,
    pub to_ms: i64,
    pub bucket_ms: i64,
    pub points: Vec<ResourcePoint>,
}

/// JSON body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// The request field at fault, when the input was bad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With a 403: the role the request needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_role: Option<Role>,
}

/// Body of `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub ready: bool,
    pub database: bool,
    pub sampler: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_read_as_a_summary_keeps_its_name_kind_and_schedule() {
        let spec: TargetSpec = serde_json::from_value(serde_json::json!({
            "name": "node", "url": "http://127.0.0.1:9100/metrics",
            "kind": "prometheus", "interval_ms": 15000, "enabled": false
        }))
        .expect("a spec");
        let list = TargetList {
            targets: vec![Target {
                id: 3,
                spec,
                health: Health::Down,
                consecutive_failures: 2,
                last_result: None,
                last_error: Some("not the Prometheus format".into()),
            }],
        };
        let json = serde_json::to_string(&list).expect("serialise");
        let read: TargetSummaryList = serde_json::from_str(&json).expect("decode");
        assert_eq!(
            read.targets,
            vec![TargetSummary {
                id: 3,
                name: "node".into(),
                kind: TargetKind::Prometheus,
                enabled: false,
                interval_ms: 15000,
            }]
        );
    }

    #[test]
    fn a_health_names_itself_as_on_the_wire() {
        for h in Health::ALL {
            let json = serde_json::to_string(&h).expect("serialise");
            assert_eq!(json, format!("\"{}\"", h.as_str()));
        }
    }

    fn sample() -> HostSample {
        HostSample {
            ts_ms: 1_700_000_000_000,
            cpu_usage: 12.5,
            memory_usage: 40.25,
            disk_usage: 55.0,
            network_usage: 3.5,
            memory_used_bytes: 1 << 30,
            disk_used_bytes: 1 << 33,
            network_rx_bytes_per_s: 2048.0,
            network_tx_bytes_per_s: 1536.0,
        }
    }

    #[test]
    fn system_resources_round_trips_with_seed_field_names() {
        let body = SystemResources {
            ts_ms: Some(1_700_000_000_000),
            cpu_usage: Some(12.5),
            memory_usage: Some(40.25),
            disk_usage: Some(55.0),
            network_usage: Some(3.5),
            capacities: HostCapacities {
                hostname: "h".into(),
                cpu_cores: 2,
                memory_total_bytes: 1 << 34,
                disk_total_bytes: 1 << 40,
                disk_mount: "/".into(),
            },
            interval_s: 1.0,
            series: vec![sample()],
            history: None,
        };
        let json = serde_json::to_value(&body).expect("serialise");
        for key in ["cpu_usage", "memory_usage", "disk_usage", "network_usage"] {
            assert!(
                json.get(key).is_some_and(|v| v.is_number()),
                "missing seed field {key}"
            );
        }
        let back: SystemResources = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, body);
    }

    #[test]
    fn dashboard_config_accepts_an_empty_object() {
        let cfg: DashboardConfig = serde_json::from_str("{}").expect("parse");
        assert_eq!(cfg.api_base, None);
    }

    #[test]
    fn error_body_omits_absent_field() {
        let json = serde_json::to_string(&ErrorBody {
            error: "x".into(),
            field: None,
            required_role: None,
        })
        .expect("serialise");
        assert_eq!(json, r#"{"error":"x"}"#);
    }

    #[test]
    fn roles_include_the_lower_ones_and_ingest_stands_apart() {
        use Role::*;
        // (have, needed) -> allowed, written out in full.
        let table = [
            (Viewer, Viewer, true),
            (Viewer, Operator, false),
            (Viewer, Admin, false),
            (Viewer, Ingest, false),
            (Operator, Viewer, true),
            (Operator, Operator, true),
            (Operator, Admin, false),
            (Operator, Ingest, false),
            (Admin, Viewer, true),
            (Admin, Operator, true),
            (Admin, Admin, true),
            (Admin, Ingest, true),
            (Ingest, Viewer, false),
            (Ingest, Operator, false),
            (Ingest, Admin, false),
            (Ingest, Ingest, true),
        ];
        for (have, needed, allowed) in table {
            assert_eq!(have.permits(needed), allowed, "{have:?} for {needed:?}");
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).expect("json"),
                format!("\"{}\"", r.as_str())
            );
        }
    }
}

#[cfg(test)]
mod float_tests {
    /// Values the dashboard shows must be the server's to the last bit: a
    /// measured 98.90109890117579 once came back one unit off without
    /// serde_json's `float_roundtrip`.
    #[test]
    fn floats_read_back_exactly() {
        for v in [
            98.90109890117579_f64,
            92.18749999992453,
            0.1 + 0.2,
            1.0 / 3.0,
            6.02214076e23,
        ] {
            let text = serde_json::to_string(&v).expect("serialise");
            let back: f64 = serde_json::from_str(&text).expect("parse");
            assert_eq!(back.to_bits(), v.to_bits(), "{text}");
        }
    }
}
