//! `alert-rules/`: list, create, read, replace (also how a rule is disabled)
//! and delete rules. Thresholds are checked against the metric's unit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use vigie_api::{ALERT_EVENT, AlertMetric, AlertRule, AlertRuleList, AlertRuleSpec, SYSTEM_ACTOR};

use super::Ctx;
use crate::error::{ApiError, parse_json};
use crate::openapi::Op;

const MAX_NAME: usize = 200;
const MAX_FOR_SECONDS: u32 = 86_400;
const WINDOW_SECONDS: std::ops::RangeInclusive<u32> = 10..=86_400;

/// Checks a rule; the error names the field at fault.
pub fn validate(mut r: AlertRuleSpec) -> Result<AlertRuleSpec, ApiError> {
    r.name = r.name.trim().to_owned();
    if r.name.is_empty() || r.name.chars().count() > MAX_NAME {
        return Err(ApiError::bad_request(
            "name",
            format!("name must be 1 to {MAX_NAME} characters"),
        ));
    }
    let (max, unit) = (r.metric.max_threshold(), r.metric.unit());
    if !r.threshold.is_finite() || !(0.0..=max).contains(&r.threshold) {
        return Err(ApiError::bad_request(
            "threshold",
            format!(
                "threshold must be a number from 0 to {max} ({unit}) for {}",
                r.metric.as_str()
            ),
        ));
    }
    if !r.recovery_margin.is_finite() || !(0.0..=max).contains(&r.recovery_margin) {
        return Err(ApiError::bad_request(
            "recovery_margin",
            format!("recovery_margin must be a number from 0 to {max} ({unit})"),
        ));
    }
    if r.for_seconds > MAX_FOR_SECONDS {
        return Err(ApiError::bad_request(
            "for_seconds",
            format!("for_seconds must be 0 to {MAX_FOR_SECONDS}"),
        ));
    }
    if !WINDOW_SECONDS.contains(&r.window_seconds) {
        return Err(ApiError::bad_request(
            "window_seconds",
            format!(
                "window_seconds must be {} to {}",
                WINDOW_SECONDS.start(),
                WINDOW_SECONDS.end()
            ),
        ));
    }
    r.service = r
        .service
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    r.endpoint = r
        .endpoint
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if r.source_id.is_some() && !r.metric.takes_source() {
        return Err(ApiError::bad_request(
            "source_id",
            format!(
                "{} is not measured on a cache or database source: no source_id",
                r.metric.as_str()
            ),
        ));
    }
    if !r.metric.takes_scope() {
        let where_ = match r.metric {
            AlertMetric::CacheHitRate => "on the cache sources (one, with source_id)",
            AlertMetric::SlowQueryTime => "on the database sources (one, with source_id)",
            _ => "on this host",
        };
        for (field, set) in [
            ("target_id", r.target_id.is_some()),
            ("service", r.service.is_some()),
            ("endpoint", r.endpoint.is_some()),
        ] {
            if set {
                return Err(ApiError::bad_request(
                    field,
                    format!("{} is measured {where_}: no {field}", r.metric.as_str()),
                ));
            }
        }
    }
    if r.endpoint.is_some() && r.service.is_none() {
        return Err(ApiError::bad_request(
            "endpoint",
            "an endpoint goes with a service",
        ));
    }
    if r.service.is_some() && r.target_id.is_some() {
        return Err(ApiError::bad_request(
            "target_id",
            "a rule watches a target's probes or a service's requests, not both",
        ));
    }
    Ok(r)
}

async fn checked(state: &Ctx, body: &[u8]) -> Result<AlertRuleSpec, ApiError> {
    let spec = validate(parse_json(body)?)?;
    if let Some(id) = spec.target_id
        && state.store.call(move |s| s.target(id)).await?.is_none()
    {
        return Err(ApiError::bad_request(
            "target_id",
            format!("no target with id {id}"),
        ));
    }
    if let Some(id) = spec.source_id {
        let (exists, kind) = match spec.metric {
            AlertMetric::CacheHitRate => (
                state
                    .store
                    .call(move |s| s.cache_source(id))
                    .await?
                    .is_some(),
                "cache",
            ),
            _ => (
                state
                    .store
                    .call(move |s| s.database_source(id))
                    .await?
                    .is_some(),
                "database",
            ),
        };
        if !exists {
            return Err(ApiError::bad_request(
                "source_id",
                format!("no {kind} source with id {id}"),
            ));
        }
    }
    Ok(spec)
}

fn rule(state: &Ctx, id: i64, spec: AlertRuleSpec) -> AlertRule {
    AlertRule {
        id,
        spec,
        last_value: state.alerts.last_value(id),
    }
}

/// The documentation of [`list`].
pub fn list_op() -> Op {
    Op::new("listAlertRules", "Alert rules with their last value")
        .json::<AlertRuleList>(200, "the rules")
}

/// `GET alert-rules/`
pub async fn list(State(state): State<Ctx>) -> Result<Json<AlertRuleList>, ApiError> {
    let rows = state.store.call(|s| s.alert_rules()).await?;
    Ok(Json(AlertRuleList {
        rules: rows
            .into_iter()
            .map(|(id, spec)| rule(&state, id, spec))
            .collect(),
    }))
}

/// The documentation of [`create`].
pub fn create_op() -> Op {
    Op::new("createAlertRule", "Create a rule")
        .body::<AlertRuleSpec>()
        .json::<AlertRule>(201, "created")
        .error(400, "bad input: the body names the field")
}

/// `POST alert-rules/`
pub async fn create(
    State(state): State<Ctx>,
    body: Bytes,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let spec = checked(&state, &body).await?;
    let stored = spec.clone();
    let id = state
        .store
        .call(move |s| s.insert_alert_rule(&stored))
        .await?;
    Ok((StatusCode::CREATED, Json(rule(&state, id, spec))))
}

/// The documentation of [`read`].
pub fn read_op() -> Op {
    Op::new("getAlertRule", "One rule")
        .json::<AlertRule>(200, "the rule")
        .error(404, "no such rule")
}

/// `GET alert-rules/{id}`
pub async fn read(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<AlertRule>, ApiError> {
    let spec = state.store.call(move |s| s.alert_rule(id)).await?;
    let spec = spec.ok_or_else(|| ApiError::NotFound(format!("alert rule {id}")))?;
    Ok(Json(rule(&state, id, spec)))
}

/// The documentation of [`replace`].
pub fn replace_op() -> Op {
    Op::new(
        "replaceAlertRule",
        "Replace a rule (enabled: false disables it and resolves its open alert)",
    )
    .body::<AlertRuleSpec>()
    .json::<AlertRule>(200, "replaced")
    .error(400, "bad input: the body names the field")
    .error(404, "no such rule")
}

/// `PUT alert-rules/{id}`: replaces the whole rule (`enabled: false` disables it).
pub async fn replace(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<AlertRule>, ApiError> {
    let spec = checked(&state, &body).await?;
    let stored = spec.clone();
    if !state
        .store
        .call(move |s| s.update_alert_rule(id, &stored))
        .await?
    {
        return Err(ApiError::NotFound(format!("alert rule {id}")));
    }
    Ok(Json(rule(&state, id, spec)))
}

/// The documentation of [`delete`].
pub fn delete_op() -> Op {
    Op::new(
        "deleteAlertRule",
        "Delete a rule; its open alert is resolved, past alerts stay",
    )
    .empty(204, "deleted")
    .error(404, "no such rule")
}

/// `DELETE alert-rules/{id}`: its open alert is resolved; past alerts stay.
pub async fn delete(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    let now = crate::now_ms();
    let outcome = state
        .store
        .call(move |s| s.delete_alert_rule(id, SYSTEM_ACTOR, "rule deleted", now))
        .await?;
    match outcome {
        None => Err(ApiError::NotFound(format!("alert rule {id}"))),
        Some(resolved) => {
            state.alerts.forget(id);
            if let Some(alert) = resolved {
                state.events.publish(ALERT_EVENT, now, &alert);
            }
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_api::{AlertMetric, Comparison, Severity};

    fn spec() -> AlertRuleSpec {
        AlertRuleSpec {
            name: " CPU ".into(),
            metric: AlertMetric::CpuUsage,
            comparison: Comparison::Above,
            threshold: 80.0,
            severity: Severity::High,
            for_seconds: 60,
            recovery_margin: 5.0,
            window_seconds: 60,
            target_id: None,
            service: None,
            endpoint: None,
            source_id: None,
            enabled: true,
        }
    }

    fn refused(r: AlertRuleSpec) -> String {
        match validate(r) {
            Err(ApiError::BadRequest { field, .. }) => field.into_owned(),
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn rules_are_checked_against_their_metric() {
        assert_eq!(validate(spec()).expect("valid").name, "CPU");
        assert_eq!(
            refused(AlertRuleSpec {
                threshold: 150.0,
                ..spec()
            }),
            "threshold"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                threshold: f64::NAN,
                ..spec()
            }),
            "threshold"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                threshold: -1.0,
                ..spec()
            }),
            "threshold"
        );
        // 150 ms is a fine response-time threshold.
        assert!(
            validate(AlertRuleSpec {
                metric: AlertMetric::ResponseTime,
                threshold: 150.0,
                ..spec()
            })
            .is_ok()
        );
        assert_eq!(
            refused(AlertRuleSpec {
                name: "  ".into(),
                ..spec()
            }),
            "name"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                recovery_margin: -2.0,
                ..spec()
            }),
            "recovery_margin"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                for_seconds: 86_401,
                ..spec()
            }),
            "for_seconds"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                window_seconds: 5,
                ..spec()
            }),
            "window_seconds"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                service: Some("shop".into()),
                ..spec()
            }),
            "service"
        );
        let response = AlertRuleSpec {
            metric: AlertMetric::P95,
            threshold: 500.0,
            ..spec()
        };
        assert_eq!(
            refused(AlertRuleSpec {
                endpoint: Some("/a".into()),
                ..response.clone()
            }),
            "endpoint"
        );
        assert_eq!(
            refused(AlertRuleSpec {
                service: Some("shop".into()),
                target_id: Some(1),
                ..response
            }),
            "target_id"
        );
    }
}
