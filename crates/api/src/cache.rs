//! Cache sources (Redis servers) and the figures read from them: hit rate
//! from the servers' own counters, latency of a `PING`, evictions, memory.

use serde::{Deserialize, Serialize};

use crate::Health;

/// What an admin declares about a Redis server to watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CacheSourceSpec {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// `redis://host[:port]` (6379 when absent), without credentials;
    /// `rediss://` for TLS (the certificate is verified: its chain and the
    /// host name).
    pub url: String,
    /// An ACL user (Redis 6 and later); the default user when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Write-only: stored, never sent back (a [`CacheSource`] says
    /// `has_password`). On a replace, absent keeps the stored password and
    /// `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub password: Option<String>,
    /// With `rediss://`: PEM certificates of the authority that signed the
    /// server's certificate (a private CA), trusted instead of the public
    /// roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 65536))]
    pub tls_ca: Option<String>,
    /// Milliseconds between two samples; at least 1000.
    #[serde(default = "default_interval_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_interval_ms, minimum = 1000, maximum = 86_400_000))]
    pub interval_ms: u64,
    /// Milliseconds a sample (connect, `PING`, `INFO`) may take; at most
    /// `interval_ms`.
    #[serde(default = "default_timeout_ms")]
    #[cfg_attr(feature = "openapi", schema(default = default_timeout_ms, minimum = 50))]
    pub timeout_ms: u64,
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = default_true))]
    pub enabled: bool,
}

fn default_interval_ms() -> u64 {
    5_000
}

fn default_timeout_ms() -> u64 {
    2_000
}

fn default_true() -> bool {
    true
}

/// A cache source as stored (without its password), with its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheSource {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether a password is stored (it is never sent back).
    pub has_password: bool,
    /// The private CA trusted for `rediss://`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub enabled: bool,
    /// `up` after a sample read, `down` after a failed one.
    pub health: Health,
    /// The last sample's time, Unix ms, when one was read since start.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_sample_ms: Option<i64>,
    /// Why the last sample failed (unreachable, refused password, missing
    /// permission…); null when it was read.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_error: Option<String>,
    /// `redis_version` from the server's `INFO`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub version: Option<String>,
}

/// Body of `GET cache-sources/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheSourceList {
    pub sources: Vec<CacheSource>,
}

/// One bucket of a cache source's series: counter increases within it and
/// the latest gauges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CachePoint {
    /// The bucket's start, Unix ms.
    pub ts_ms: i64,
    /// Hits over hits and misses in the bucket, percent; null without lookups.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub hit_rate: Option<f64>,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    /// Mean `PING` round trip of the bucket's samples, ms.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub latency_ms: Option<f64>,
    /// Memory used at the bucket's last sample, bytes.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub used_memory: Option<u64>,
}

/// One Redis server over a range. Counts are increases of the server's
/// counters between samples in the range (a restart, which resets them, is
/// counted from zero), never totals since the server started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheSourceFigures {
    pub source_id: i64,
    pub name: String,
    /// Percent; null when no lookup was counted in the range.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub hit_rate: Option<f64>,
    pub total_hits: u64,
    pub total_misses: u64,
    pub evictions: u64,
    /// Keys that expired.
    pub expired: u64,
    /// Mean `PING` round trip, ms.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avg_response_time: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub max_response_time: Option<f64>,
    /// From the latest sample of the range: bytes used and the limit
    /// (`maxmemory`, null when unlimited).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub used_memory: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub maxmemory: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub ops_per_sec: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub connected_clients: Option<u64>,
    /// Samples read and failed in the range.
    pub samples: u64,
    pub failed_samples: u64,
    /// Times the server's counters went back (a restart) within the range.
    pub restarts: u64,
    /// The latest failure's message in the range, if the latest sample failed.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_error: Option<String>,
    pub series: Vec<CachePoint>,
}

/// Body of `GET cache-performance/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheReport {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Every source (or the one asked) together: the seeds' block.
    pub cache_performance: crate::CachePerformance,
    pub sources: Vec<CacheSourceFigures>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_takes_its_defaults_and_keeps_an_absent_password_absent() {
        let spec: CacheSourceSpec = serde_json::from_str(
            r#"{"name":"sessions","url":"redis://10.0.0.5","username":"vigie","password":"s3cret"}"#,
        )
        .expect("spec");
        assert_eq!(spec.password.as_deref(), Some("s3cret"));
        assert_eq!(spec.interval_ms, 5_000);
        assert_eq!(spec.timeout_ms, 2_000);
        assert!(spec.enabled);
        // Sent by the dashboard as given; absent stays absent (the stored
        // password is kept on a replace).
        let round: CacheSourceSpec =
            serde_json::from_str(&serde_json::to_string(&spec).expect("json")).expect("back");
        assert_eq!(round, spec);
        let without = CacheSourceSpec {
            password: None,
            ..spec
        };
        assert!(
            !serde_json::to_string(&without)
                .expect("json")
                .contains("password")
        );
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let e = serde_json::from_str::<CacheSourceSpec>(
            r#"{"name":"a","url":"redis://h","pasword":"x"}"#,
        )
        .expect_err("misspelt");
        assert!(e.to_string().contains("pasword"), "{e}");
    }
}
