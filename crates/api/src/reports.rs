//! Reports: a period's measurements, generated off the request path and
//! downloaded as one HTML file (charts as SVG), CSV or JSON.

use serde::{Deserialize, Serialize};

use crate::{
    Alert, CacheSourceFigures, EndpointStats, Recommendation, ScalingAction, SlowQueryList,
};

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// One self-contained page that opens offline and prints to PDF.
    Html,
    /// The tables and series, one block per section.
    Csv,
    /// [`ReportContent`].
    Json,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 3] = [ReportFormat::Html, ReportFormat::Csv, ReportFormat::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Json => "application/json",
        }
    }
}

/// A part of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// KPIs against the SLI targets, per target and service.
    Summary,
    /// Response-time charts.
    ResponseTimes,
    /// This host's CPU and memory.
    Resources,
    /// Each Redis cache source's hit rate, lookups, evictions and latency
    /// (when cache sources exist).
    Cache,
    /// The database sources' statements over 1000 ms, with their advice
    /// (when database sources exist).
    SlowQueries,
    /// The worst endpoints of the ingested requests.
    Endpoints,
    /// Alerts in the period, with durations and notes.
    Alerts,
    /// Scaling actions in the period.
    Scaling,
    /// Advice drawn from the period's measurements.
    Recommendations,
}

impl ReportSection {
    pub const ALL: [ReportSection; 9] = [
        ReportSection::Summary,
        ReportSection::ResponseTimes,
        ReportSection::Resources,
        ReportSection::Cache,
        ReportSection::SlowQueries,
        ReportSection::Endpoints,
        ReportSection::Alerts,
        ReportSection::Scaling,
        ReportSection::Recommendations,
    ];
}

/// `POST generate-report/`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Start, Unix ms; a day before `to` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End, Unix ms; now when absent. At most 31 days after `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// HTTP targets covered (ids); every target when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<i64>>,
    /// Services of the ingested requests covered; every one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    /// Sections included; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<ReportSection>>,
}

/// Where a report's generation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The server stopped during the generation: nothing was kept.
    Interrupted,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Queued => "queued",
            ReportStatus::Running => "running",
            ReportStatus::Succeeded => "succeeded",
            ReportStatus::Failed => "failed",
            ReportStatus::Cancelled => "cancelled",
            ReportStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_done(self) -> bool {
        !matches!(self, ReportStatus::Queued | ReportStatus::Running)
    }
}

/// A downloadable file of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportFile {
    pub format: ReportFormat,
    pub bytes: u64,
}

/// A report and its generation (`GET reports/{id}`; pushed as `report` events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportInfo {
    pub id: i64,
    pub status: ReportStatus,
    /// 0 to 100.
    pub progress: u8,
    /// What the generation is doing (or did last).
    pub step: String,
    pub from: i64,
    pub to: i64,
    pub request: ReportRequest,
    /// Who asked (a token's name, the name given, or `schedule`).
    pub requested_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    /// Once succeeded: one per format.
    pub files: Vec<ReportFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportList {
    pub reports: Vec<ReportInfo>,
    pub total: u64,
    pub next_offset: Option<u64>,
}

/// The figures of one target's probes or one service's requests over the
/// period, against the SLI targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportKpis {
    /// `target` or `service`.
    pub kind: String,
    pub name: String,
    /// The target's id (targets only).
    pub target_id: Option<i64>,
    /// Probes run or requests received.
    pub count: u64,
    /// Successful ones, percent; `None` without any.
    pub availability: Option<f64>,
    pub error_rate: Option<f64>,
    pub avg_response_time: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    /// Failures the availability target allows over the period, and the
    /// share of them used (above 100 when the target was missed).
    pub error_budget: Option<f64>,
    pub error_budget_used_pct: Option<f64>,
    /// Whether availability, p95 and p99 met their targets.
    pub meets_sli: Option<bool>,
}

/// A series of the report's charts (also in the CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSeries {
    pub name: String,
    pub unit: String,
    /// `[Unix ms, value]` pairs.
    pub points: Vec<(i64, f64)>,
}

/// The content of a report (its JSON format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportContent {
    pub id: i64,
    pub from: i64,
    pub to: i64,
    pub generated_at: i64,
    pub sections: Vec<ReportSection>,
    pub kpis: Vec<ReportKpis>,
    pub series: Vec<ReportSeries>,
    pub worst_endpoints: Vec<EndpointStats>,
    pub alerts: Vec<Alert>,
    pub scaling_actions: Vec<ScalingAction>,
    pub recommendations: Vec<Recommendation>,
    /// With `resources`: each Redis cache source over the period; empty
    /// without one.
    #[serde(default)]
    pub cache: Vec<CacheSourceFigures>,
    /// With `resources`: the statements of the database sources over the
    /// seeds' threshold (1000 ms), with their advice; null without a
    /// database source.
    #[serde(default)]
    pub slow_queries: Option<SlowQueryList>,
    /// What the period lacks, said plainly (no data, a source not set up).
    pub notes: Vec<String>,
}

/// SSE event name of a report's progress.
pub const REPORT_EVENT: &str = "report";
/// SSE event name of a report deleted (its files gone).
pub const REPORT_DELETED_EVENT: &str = "report_deleted";

/// Payload of a [`REPORT_DELETED_EVENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDeleted {
    pub id: i64,
}

/// How often a scheduled report runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleFrequency {
    /// Every day at `hour:minute` UTC, over the 24 hours before.
    Daily,
    /// Every `weekday` at `hour:minute` UTC, over the 7 days before.
    Weekly,
}

impl ScheduleFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleFrequency::Daily => "daily",
            ScheduleFrequency::Weekly => "weekly",
        }
    }
}

/// A report generated at a set time without anyone asking (`POST`/`PUT`
/// `report-schedules/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportScheduleSpec {
    /// 1 to 100 characters.
    pub name: String,
    pub frequency: ScheduleFrequency,
    /// 0 to 23, UTC.
    pub hour: u8,
    /// 0 to 59; 0 when absent.
    #[serde(default)]
    pub minute: u8,
    /// 1 (Monday) to 7 (Sunday): weekly schedules only, and required there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<u8>,
    /// HTTP targets covered (ids); every target when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<i64>>,
    /// Services of the ingested requests covered; every one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    /// Sections included; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<ReportSection>>,
    /// Whether it runs; true when absent.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A stored schedule and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSchedule {
    pub id: i64,
    pub spec: ReportScheduleSpec,
    pub created_at: i64,
    /// The time (Unix ms) of the last run made, the slot it was due at.
    pub last_run_at: Option<i64>,
    /// The report that run started.
    pub last_report_id: Option<i64>,
    /// When it runs next (Unix ms); `None` while disabled.
    pub next_run_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportScheduleList {
    pub schedules: Vec<ReportSchedule>,
}
