//! The server's configuration, read once at start from flags and `VIGIE_*`
//! environment variables into one typed struct that is passed down from there.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Settings of one `vigie-server` process. Every flag has an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "vigie-server",
    version,
    about = "Vigie performance console server"
)]
pub struct Config {
    /// Address to listen on. Loopback by default: nothing is exposed until the
    /// operator decides so.
    #[arg(long, env = "VIGIE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory of the SQLite database (`vigie.db`); created when missing.
    #[arg(long, env = "VIGIE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory of the built dashboard (`trunk build --release` output), served at `/`.
    #[arg(long, env = "VIGIE_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Milliseconds between two samples of this host.
    #[arg(long, env = "VIGIE_SAMPLE_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(200..=60_000))]
    pub sample_interval_ms: u64,

    /// Milliseconds between two evaluations of the alert rules.
    #[arg(long, env = "VIGIE_ALERT_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(200..=60_000))]
    pub alert_interval_ms: u64,

    /// Hours of measurements kept at full resolution; older ones are folded
    /// into one row per minute (at most the retention).
    #[arg(long, env = "VIGIE_RAW_RETENTION_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(1..=87_600))]
    pub raw_retention_hours: u64,

    /// Most megabytes of data in the database; the oldest hours go first when
    /// it is over. 0: no limit.
    #[arg(long, env = "VIGIE_MAX_DB_MB", default_value_t = 1024)]
    pub max_db_mb: u64,

    /// Hours of measurements (per-minute rollups past the raw window) kept in
    /// the database; also the longest range a query may ask for.
    #[arg(long, env = "VIGIE_RETENTION_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u64).range(1..=87_600))]
    pub retention_hours: u64,

    /// Seconds a database index must go without a scan, watched without a
    /// break, before it is called unused (and its removal advised).
    #[arg(long, env = "VIGIE_UNUSED_INDEX_WATCH_S", default_value_t = 604_800,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub unused_index_watch_s: u64,

    /// JSON file of probe targets (an array of target specs) stored at start;
    /// a target of the same name is replaced.
    #[arg(long, env = "VIGIE_TARGETS_FILE")]
    pub targets_file: Option<PathBuf>,

    /// Failures in a row after which a target is reported down.
    #[arg(long, env = "VIGIE_DOWN_AFTER", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub down_after: u32,

    /// Probe this server's own /livez out of the box (first start adds the target).
    #[arg(long, env = "VIGIE_DEFAULT_TARGET", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub default_target: bool,

    /// Most request records in one ingest batch; a larger batch gets 413.
    #[arg(long, env = "VIGIE_INGEST_MAX_RECORDS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ingest_max_records: u64,

    /// Token of the `admin` role (everything): the one token of a one-token
    /// setup. At least 16 characters. With any token set, every API request
    /// needs one; without tokens the server only listens on loopback.
    #[arg(long, env = "VIGIE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// Token of the `operator` role: reads, monitoring on/off, alerts,
    /// scaling actions and reports, but not targets or rules.
    #[arg(long, env = "VIGIE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<Secret>,

    /// Token of the `viewer` role: reads and the live stream.
    #[arg(long, env = "VIGIE_VIEWER_TOKEN", hide_env_values = true)]
    pub viewer_token: Option<Secret>,

    /// Token that only `ingest/` accepts: give it to applications, which then
    /// can add measurements and nothing else.
    #[arg(long, env = "VIGIE_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<Secret>,

    /// JSON file of named tokens, stored as SHA-256 hashes:
    /// `{"tokens": [{"name": "alice", "role": "admin", "sha256": "<64 hex>"}]}`
    /// (`vigie-server new-token --name alice --role admin` makes one).
    #[arg(long, env = "VIGIE_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Host names the server answers to besides its bind address, loopback
    /// and `localhost` (comma-separated, e.g. `vigie.example.com`): any other
    /// `Host` header is refused, which defeats DNS rebinding. Names other than
    /// loopback need tokens.
    #[arg(long, env = "VIGIE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Origins of the portals allowed to show the dashboard in a frame
    /// (CSP `frame-ancestors`), comma-separated. Empty: no framing at all.
    #[arg(long, env = "VIGIE_FRAME_ANCESTORS", value_delimiter = ',')]
    pub frame_ancestors: Vec<String>,

    /// Origins of APIs the dashboard may call besides its own (CSP
    /// `connect-src`), comma-separated: the API origin of a CDN deployment.
    #[arg(long, env = "VIGIE_CONNECT_SRC", value_delimiter = ',')]
    pub connect_src: Vec<String>,

    /// Longest time a request may take before it is answered 503 (the live
    /// stream excepted), milliseconds.
    #[arg(long, env = "VIGIE_REQUEST_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub request_timeout_ms: u64,

    /// Most API requests served at once; past it, 503 with Retry-After.
    #[arg(long, env = "VIGIE_MAX_CONCURRENT_REQUESTS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_concurrent_requests: u32,

    /// Most live-stream connections open at once; past it, 503 with Retry-After.
    #[arg(long, env = "VIGIE_MAX_STREAMS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_streams: u32,

    /// Changes (POST, PUT, DELETE but ingest) allowed per minute, for each
    /// token and for each client address; past it, 429 with Retry-After.
    #[arg(long, env = "VIGIE_CHANGES_PER_MINUTE", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub changes_per_minute: u32,

    /// Reports generated at once; more wait their turn (queued).
    #[arg(long, env = "VIGIE_MAX_REPORT_JOBS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_report_jobs: u32,

    /// Days a generated report is kept before it is deleted.
    #[arg(long, env = "VIGIE_REPORT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub report_retention_days: u32,

    /// Ingest batches allowed per minute, for each token and client address.
    #[arg(long, env = "VIGIE_INGEST_BATCHES_PER_MINUTE", default_value_t = 12_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub ingest_batches_per_minute: u32,

    /// Histogram families read from Prometheus targets as request durations,
    /// comma-separated; `*` at the start matches any prefix.
    #[arg(
        long,
        env = "VIGIE_SCRAPE_HISTOGRAMS",
        value_delimiter = ',',
        default_value = "*_duration_seconds"
    )]
    pub scrape_histograms: Vec<String>,

    /// Origins allowed to call the API from a browser (CORS), comma-separated,
    /// e.g. the CDN origin the dashboard is served from. Empty: same origin only.
    #[arg(long, env = "VIGIE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// What targets may be fetched, comma-separated: host names, `*.suffix`
    /// wildcards, IPs or CIDR networks (`10.0.0.0/8`, `fd00::/8`). When set, a
    /// target is fetched only when its name is listed or all its addresses
    /// are. Empty: anything but link-local and cloud-metadata addresses,
    /// which are always refused.
    #[arg(long, env = "VIGIE_FETCH_ALLOW", value_delimiter = ',')]
    pub fetch_allow: Vec<String>,
}

/// A token from the configuration: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The token itself, trimmed; for comparing, never for printing.
    pub fn expose(&self) -> &str {
        self.0.trim()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl Config {
    /// Defaults with the given data and static directories, listening on a free
    /// loopback port: what tests and embedders start from.
    pub fn local(data_dir: impl Into<PathBuf>, static_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["vigie-server"]);
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir.into();
        config.static_dir = static_dir.into();
        config
    }

    pub fn sample_interval(&self) -> Duration {
        Duration::from_millis(self.sample_interval_ms)
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_hours * 3600)
    }

    /// How long an index goes without a scan before it is called unused.
    pub fn unused_index_watch(&self) -> Duration {
        Duration::from_secs(self.unused_index_watch_s)
    }

    /// How long raw measurements are kept: never longer than the retention.
    pub fn raw_window(&self) -> Duration {
        Duration::from_secs(self.raw_retention_hours.min(self.retention_hours) * 3600)
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("vigie.db")
    }

    /// Where the raw window starts at `now_ms`: raw measurements are kept
    /// from there on, rollups before.
    pub fn raw_start_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.raw_window().as_millis() as i64)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_a_token() {
        let mut config = Config::local("d", "s");
        config.admin_token = Some(Secret::new("admin-secret-0123456789"));
        config.ingest_token = Some(Secret::new("ingest-secret-0123456789"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("admin-secret"), "{printed}");
        assert!(!printed.contains("ingest-secret"), "{printed}");
        assert!(printed.contains("Secret(***)"));
    }
}
