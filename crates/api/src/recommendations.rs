//! Recommendations (`GET recommendations/`): rules over the stored
//! measurements, each with the figures that make it hold, the chart range
//! that shows them and what acting on it gains. One whose condition no
//! longer holds is not listed.

use serde::{Deserialize, Serialize};

/// Which rule a recommendation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecommendationRule {
    /// This host's CPU above the scale-up threshold most of the period with
    /// no scaling configuration.
    CpuWithoutScaling,
    /// An endpoint's p95 above the SLI target.
    SlowEndpoint,
    /// A burst of failed requests or probes on a target or service.
    ErrorBurst,
    /// A disk filling at a rate that reaches 90 % within days.
    DiskFilling,
    /// Memory in use growing steadily over the period.
    MemoryGrowing,
    /// A target down more than once.
    TargetDown,
    /// A Redis cache source missing more lookups than it hits.
    LowCacheHitRate,
    /// A database statement whose mean execution time is over a second.
    SlowQuery,
    /// A large table read by sequential scans more than by index scans.
    SequentialScans,
    /// A database index no scan used over a long enough range.
    UnusedIndex,
    /// A database's buffer cache hit ratio under 99 %.
    LowBufferHitRatio,
}

impl RecommendationRule {
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationRule::CpuWithoutScaling => "cpu_without_scaling",
            RecommendationRule::SlowEndpoint => "slow_endpoint",
            RecommendationRule::ErrorBurst => "error_burst",
            RecommendationRule::DiskFilling => "disk_filling",
            RecommendationRule::MemoryGrowing => "memory_growing",
            RecommendationRule::TargetDown => "target_down",
            RecommendationRule::LowCacheHitRate => "low_cache_hit_rate",
            RecommendationRule::SlowQuery => "slow_query",
            RecommendationRule::SequentialScans => "sequential_scans",
            RecommendationRule::UnusedIndex => "unused_index",
            RecommendationRule::LowBufferHitRatio => "low_buffer_hit_ratio",
        }
    }
}

/// How pressing a recommendation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecommendationSeverity {
    Critical,
    Warning,
    Info,
}

impl RecommendationSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationSeverity::Critical => "critical",
            RecommendationSeverity::Warning => "warning",
            RecommendationSeverity::Info => "info",
        }
    }
}

/// One measured figure behind a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// What was measured, e.g. `p95`, `CPU above 80 %`, `down episodes`.
    pub label: String,
    pub value: f64,
    /// `ms`, `%`, `%/day`, `count`, `days`…
    pub unit: String,
}

/// Where the dashboard shows a recommendation's evidence: a page and the
/// time range to open it at (`?from=&to=` in Unix ms, with `target`,
/// `service` and `endpoint` where they apply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartLink {
    /// The dashboard route: `/`, `/endpoints`, `/scaling`.
    pub page: String,
    pub from: i64,
    pub to: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// Advice drawn from the measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// Stable while the condition holds: the rule and what it is about.
    pub key: String,
    pub rule: RecommendationRule,
    pub severity: RecommendationSeverity,
    pub title: String,
    /// What it is about: a target's name, `service endpoint`, this host…
    pub subject: String,
    /// The evidence in one sentence, with its figures and period.
    pub detail: String,
    pub evidence: Vec<Evidence>,
    /// What acting on it is expected to gain.
    pub gain: String,
    /// The period the evidence covers (Unix ms).
    pub from: i64,
    pub to: i64,
    pub link: ChartLink,
}

/// `GET recommendations/`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendationList {
    /// The period looked at (Unix ms).
    pub from: i64,
    pub to: i64,
    /// Most severe first.
    pub recommendations: Vec<Recommendation>,
}
