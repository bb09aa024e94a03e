//! The wire contract of the Vigie API, written once and shared by `vigie-server`
//! and the dashboard. Field names follow the first users' documents (snake_case,
//! `cpu_usage`, `memory_usage`, ...) so that a client written against them keeps
//! working. Types here are plain data: no I/O, builds for native and wasm32.

use serde::{Deserialize, Serialize};

/// Path prefix of every seed endpoint.
pub const API_PREFIX: &str = "/api/performance";

/// Paths of the endpoints, relative to the API origin, without trailing slash.
/// The server also answers each of them with a trailing slash.
pub mod paths {
    /// `GET`: latest host sample, capacities and a recent series.
    pub const SYSTEM_RESOURCES: &str = "/api/performance/system-resources";
    /// `GET`: Server-Sent Events; each `sample` event carries one [`super::HostSample`].
    pub const STREAM: &str = "/api/performance/stream";
    /// `GET`: the process is running.
    pub const LIVEZ: &str = "/livez";
    /// `GET`: the process can serve (database open, first sample taken).
    pub const READYZ: &str = "/readyz";
}

/// Name of the SSE event that carries one [`HostSample`].
pub const SAMPLE_EVENT: &str = "sample";

/// One measurement of this host, taken by the server's sampler once a second.
///
/// Percentages are 0–100. `network_usage` is the seeds' field: total bytes per
/// second received plus sent over all non-loopback interfaces, in KiB/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct SystemResources {
    /// `None` until the sampler has taken its first sample.
    pub ts_ms: Option<i64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub disk_usage: Option<f64>,
    pub network_usage: Option<f64>,
    pub capacities: HostCapacities,
    /// Seconds between samples.
    pub interval_s: f64,
    pub series: Vec<HostSample>,
}

/// JSON body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// The request field at fault, when the input was bad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Body of `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: bool,
    pub sampler: bool,
}

/// `config.json` next to the dashboard's `index.html`: read once at start-up.
/// Every field is optional so that an empty object is a valid config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardConfig {
    /// Origin (and optional path) of the API, e.g. `https://vigie.example.com`.
    /// Absent or empty: the page's own origin.
    #[serde(default)]
    pub api_base: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        })
        .expect("serialise");
        assert_eq!(json, r#"{"error":"x"}"#);
    }
}
