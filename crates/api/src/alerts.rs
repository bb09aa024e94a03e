//! Alerts: the rules that watch measurements, the alerts they raise, and the
//! operators' acknowledgements and resolutions (the seeds' `alerts/` and
//! `resolve-alert/`, plus Vigie's rules, acknowledge and history).

use serde::{Deserialize, Serialize};

/// Event name on the stream: each carries the [`Alert`] after a transition.
pub const ALERT_EVENT: &str = "alert";

/// The seeds' severities, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// This host's CPU use, percent (latest sample).
    CpuUsage,
    /// This host's memory use, percent.
    MemoryUsage,
    /// This host's disk use, percent.
    DiskUsage,
    /// Mean response time over the rule's window, ms.
    ResponseTime,
    /// Failed requests over the window, percent.
    ErrorRate,
    /// 95th percentile of response times over the window, ms.
    P95,
    /// 99th percentile, ms.
    P99,
    /// Cache hit rate, percent (needs a cache source).
    CacheHitRate,
    /// The highest mean execution time among the database sources'
    /// statements over the window, ms (needs a database source).
    SlowQueryTime,
}

impl AlertMetric {
    pub const ALL: [AlertMetric; 9] = [
        AlertMetric::CpuUsage,
        AlertMetric::MemoryUsage,
        AlertMetric::DiskUsage,
        AlertMetric::ResponseTime,
        AlertMetric::ErrorRate,
        AlertMetric::P95,
        AlertMetric::P99,
        AlertMetric::CacheHitRate,
        AlertMetric::SlowQueryTime,
    ];

    /// The name on the wire (`metric_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMetric::CpuUsage => "cpu_usage",
            AlertMetric::MemoryUsage => "memory_usage",
            AlertMetric::DiskUsage => "disk_usage",
            AlertMetric::ResponseTime => "response_time",
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::P95 => "p95",
            AlertMetric::P99 => "p99",
            AlertMetric::CacheHitRate => "cache_hit_rate",
            AlertMetric::SlowQueryTime => "slow_query_time",
        }
    }

    /// A person's name for it.
    pub fn label(self) -> &'static str {
        match self {
            AlertMetric::CpuUsage => "CPU",
            AlertMetric::MemoryUsage => "Memory",
            AlertMetric::DiskUsage => "Disk",
            AlertMetric::ResponseTime => "Response time",
            AlertMetric::ErrorRate => "Error rate",
            AlertMetric::P95 => "p95 response time",
            AlertMetric::P99 => "p99 response time",
            AlertMetric::CacheHitRate => "Cache hit rate",
            AlertMetric::SlowQueryTime => "Slowest statement (mean)",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            AlertMetric::ResponseTime
            | AlertMetric::P95
            | AlertMetric::P99
            | AlertMetric::SlowQueryTime => "ms",
            _ => "%",
        }
    }

    /// The seeds' `alert_type`: the family of the metric.
    pub fn alert_type(self) -> &'static str {
        match self {
            AlertMetric::CpuUsage | AlertMetric::MemoryUsage | AlertMetric::DiskUsage => "resource",
            AlertMetric::ResponseTime | AlertMetric::P95 | AlertMetric::P99 => "response_time",
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::CacheHitRate => "cache",
            AlertMetric::SlowQueryTime => "database",
        }
    }

    /// Response metrics: measured on a target's probes or a service's
    /// requests, which a rule may name; the others have no such scope.
    pub fn takes_scope(self) -> bool {
        matches!(
            self,
            AlertMetric::ResponseTime
                | AlertMetric::P95
                | AlertMetric::P99
                | AlertMetric::ErrorRate
        )
    }

    /// Measured on outside sources (Redis, PostgreSQL), which a rule may
    /// narrow to one (`source_id`).
    pub fn takes_source(self) -> bool {
        matches!(self, AlertMetric::CacheHitRate | AlertMetric::SlowQueryTime)
    }

    /// Host metrics read the latest sample; the others a window of requests.
    pub fn is_host(self) -> bool {
        matches!(
            self,
            AlertMetric::CpuUsage | AlertMetric::MemoryUsage | AlertMetric::DiskUsage
        )
    }

    /// Largest threshold that makes sense: 100 for percentages, an hour in ms.
    pub fn max_threshold(self) -> f64 {
        if self.unit() == "%" {
            100.0
        } else {
            3_600_000.0
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    /// Fires when the value is above the threshold.
    Above,
    /// Fires when the value is below the threshold.
    Below,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::Below => "<",
        }
    }
}

/// A rule as written by an operator (body of `POST alert-rules/` and `PUT
/// alert-rules/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRuleSpec {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    pub metric: AlertMetric,
    pub comparison: Comparison,
    /// In the metric's unit: 0 to 100 for percentages, 0 to 3 600 000 for ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3_600_000))]
    pub threshold: f64,
    pub severity: Severity,
    /// How long the condition must hold before the alert fires, seconds.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = 0, maximum = 86_400))]
    pub for_seconds: u32,
    /// The value must come back past the threshold by this much (same unit)
    /// to clear, so that a value hovering at the threshold does not flap.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = 0, minimum = 0))]
    pub recovery_margin: f64,
    /// Requests taken into response-time and error-rate figures, seconds.
    #[serde(default = "default_window")]
    #[cfg_attr(feature = "openapi", schema(default = default_window, minimum = 10, maximum = 86_400))]
    pub window_seconds: u32,
    /// Probes of this target only (response metrics); all targets when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<i64>,
    /// Ingested requests of this service instead of probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// With `service`: one endpoint only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `cache_hit_rate`: this cache source only; `slow_query_time`: this
    /// database source only. All of them together when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<i64>,
    #[serde(default = "yes")]
    #[cfg_attr(feature = "openapi", schema(default = yes))]
    pub enabled: bool,
}

fn default_window() -> u32 {
    60
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: AlertRuleSpec,
    /// The value at the last evaluation; `None` when there was nothing to measure.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_value: Option<f64>,
}

/// Body of `GET alert-rules/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRuleList {
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, for less than the rule's duration.
    Pending,
    Firing,
    /// Firing, and an operator has said they are on it.
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != AlertState::Resolved
    }
}

/// One step of an alert's life, kept for ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertTransition {
    pub at_ms: i64,
    pub state: AlertState,
    /// `system` for what the evaluator did; the operator's name otherwise.
    pub actor: String,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub note: Option<String>,
    /// The value measured at that moment.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub value: Option<f64>,
}

/// Who changes alerts when no operator does.
pub const SYSTEM_ACTOR: &str = "system";

/// One occurrence of a rule's condition (the seeds' fields first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub alert_type: String,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub metric_type: AlertMetric,
    pub threshold_value: f64,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub current_value: Option<f64>,
    pub is_resolved: bool,
    pub rule_id: i64,
    pub state: AlertState,
    pub comparison: Comparison,
    /// Whether the condition held at the last evaluation: resolving by hand
    /// while it holds means a new alert after the rule's duration.
    pub condition_holds: bool,
    pub for_seconds: u32,
    pub started_at: i64,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub fired_at: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub acknowledged_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub acknowledged_at: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub resolved_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub resolved_at: Option<i64>,
    /// The note of the last acknowledgement or resolution.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub note: Option<String>,
    pub history: Vec<AlertTransition>,
}

/// Body of `GET alerts/`: newest first (open ones first with `state=open`,
/// by severity), `limit` at a time from `offset`, out of `total`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub total: u64,
    /// Alerts open now, whatever the filters.
    pub open_count: u64,
    pub limit: u32,
    pub offset: u32,
}

/// What a chart reads of an [`Alert`] to mark it on a time axis. An
/// alert's JSON read as this leaves the other fields: a page that only marks
/// alerts carries no decoder for the rest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertMark {
    pub id: i64,
    pub rule_id: i64,
    pub title: String,
    pub severity: Severity,
    pub metric_type: AlertMetric,
    pub state: AlertState,
    pub started_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

/// `GET alerts/` read as [`AlertMark`]s.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertMarkList {
    pub alerts: Vec<AlertMark>,
    /// Alerts open now, whatever the filters.
    pub open_count: u64,
}

/// What a chart reads of an [`AlertRule`]: what its alerts are about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertRuleScope {
    pub id: i64,
    pub target_id: Option<i64>,
    pub service: Option<String>,
    pub endpoint: Option<String>,
}

/// `GET alert-rules/` read as [`AlertRuleScope`]s.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertRuleScopeList {
    pub rules: Vec<AlertRuleScope>,
}

/// Body of `POST resolve-alert/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveAlert {
    pub alert_id: i64,
    /// Why it is resolved; required.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub note: String,
    /// The operator's name, recorded only when the server needs no token
    /// (then required): otherwise the token's name is recorded, whatever
    /// this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub actor: Option<String>,
}

/// Body of `POST acknowledge-alert/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcknowledgeAlert {
    pub alert_id: i64,
    /// The operator's name, recorded only when the server needs no token
    /// (then required): otherwise the token's name is recorded (as in
    /// [`ResolveAlert::actor`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_on_the_wire_are_the_seeds_words() {
        for m in AlertMetric::ALL {
            let json = serde_json::to_string(&m).expect("serialise");
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        for s in Severity::ALL {
            assert_eq!(
                serde_json::to_string(&s).expect("serialise"),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(Severity::Critical < Severity::Low, "most urgent first");
    }

    #[test]
    fn an_alert_and_a_rule_read_as_marks_keep_the_fields_a_chart_needs() {
        let spec = |target_id, service: Option<&str>, endpoint: Option<&str>| AlertRuleSpec {
            name: "p95".into(),
            metric: AlertMetric::ResponseTime,
            comparison: Comparison::Above,
            threshold: 500.0,
            severity: Severity::High,
            for_seconds: 0,
            recovery_margin: 0.0,
            window_seconds: 300,
            target_id,
            service: service.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
            source_id: None,
            enabled: true,
        };
        let rules = AlertRuleList {
            rules: vec![
                AlertRule {
                    id: 4,
                    spec: spec(Some(9), None, None),
                    last_value: None,
                },
                AlertRule {
                    id: 5,
                    spec: spec(None, Some("shop"), Some("/cart")),
                    last_value: Some(1.0),
                },
            ],
        };
        let json = serde_json::to_string(&rules).expect("serialise");
        let read: AlertRuleScopeList = serde_json::from_str(&json).expect("decode");
        let want = |id, target_id, service: Option<&str>, endpoint: Option<&str>| AlertRuleScope {
            id,
            target_id,
            service: service.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
        };
        assert_eq!(
            read.rules,
            vec![
                want(4, Some(9), None, None),
                want(5, None, Some("shop"), Some("/cart"))
            ]
        );

        let alert = Alert {
            id: 7,
            alert_type: "response".into(),
            severity: Severity::Critical,
            title: "p95 above 500 ms".into(),
            description: "…".into(),
            metric_type: AlertMetric::ResponseTime,
            threshold_value: 500.0,
            current_value: Some(620.0),
            is_resolved: true,
            rule_id: 4,
            state: AlertState::Resolved,
            comparison: Comparison::Above,
            condition_holds: false,
            for_seconds: 0,
            started_at: 1_000,
            fired_at: Some(2_000),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: Some("ops".into()),
            resolved_at: Some(3_000),
            note: None,
            history: Vec::new(),
        };
        let list = AlertList {
            alerts: vec![alert],
            total: 1,
            open_count: 2,
            limit: 100,
            offset: 0,
        };
        let json = serde_json::to_string(&list).expect("serialise");
        let read: AlertMarkList = serde_json::from_str(&json).expect("decode");
        assert_eq!(read.open_count, 2);
        assert_eq!(
            read.alerts,
            vec![AlertMark {
                id: 7,
                rule_id: 4,
                title: "p95 above 500 ms".into(),
                severity: Severity::Critical,
                metric_type: AlertMetric::ResponseTime,
                state: AlertState::Resolved,
                started_at: 1_000,
                fired_at: Some(2_000),
                resolved_at: Some(3_000),
            }]
        );
    }

    #[test]
    fn a_rule_spec_takes_defaults_and_round_trips() {
        let spec: AlertRuleSpec = serde_json::from_str(
            r#"{"name":"CPU","metric":"cpu_usage","comparison":"above","threshold":80,"severity":"high"}"#,
        )
        .expect("parse");
        assert_eq!(spec.window_seconds, 60);
        assert!(spec.enabled);
        assert_eq!(spec.for_seconds, 0);
        let rule = AlertRule {
            id: 3,
            spec: spec.clone(),
            last_value: Some(12.5),
        };
        let back: AlertRule =
            serde_json::from_str(&serde_json::to_string(&rule).expect("json")).expect("parse");
        assert_eq!(back, rule);
        assert!(
            serde_json::from_str::<AlertRuleSpec>(
                r#"{"name":"x","metric":"load","comparison":"above","threshold":1,"severity":"low"}"#
            )
            .is_err()
        );
    }
}
