//! The evaluator: every interval, each enabled rule's value is measured and
//! its alert moved along pending → firing → resolved. The decision is a pure
//! function ([`step`]) of the rule, the open alert and the value; the loop
//! reads the open alerts from the database each time, so a restart resumes
//! exactly where it stopped, without a second open alert for a rule.

use std::time::Duration;

use vigie_api::{
    ALERT_EVENT, Alert, AlertMetric, AlertRuleSpec, AlertState, Comparison, SYSTEM_ACTOR,
};

use super::store::{NewAlert, OpenAlert};
use crate::AppState;
use crate::measures::{RangeQuery, Scope};
use crate::store::{Store, StoreError};

/// What to do with a rule's alert after one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Nothing,
    /// A new alert: pending, or firing at once for a rule without duration.
    Open {
        fire: bool,
    },
    Fire,
    /// The condition cleared (past the recovery margin).
    Resolve,
    /// Still open: keep the latest value, and whether the condition holds.
    Update {
        holds: bool,
    },
}

pub fn breaches(rule: &AlertRuleSpec, value: f64) -> bool {
    match rule.comparison {
        Comparison::Above => value > rule.threshold,
        Comparison::Below => value < rule.threshold,
    }
}

/// Back past the threshold by the recovery margin.
pub fn cleared(rule: &AlertRuleSpec, value: f64) -> bool {
    match rule.comparison {
        Comparison::Above => value <= rule.threshold - rule.recovery_margin,
        Comparison::Below => value >= rule.threshold + rule.recovery_margin,
    }
}

/// The decision for one rule. Without a value (nothing measured) nothing
/// changes. A pending alert fires once the condition has held for the rule's
/// duration and holds now; between the threshold and the recovery margin an
/// alert stays as it is, so a value hovering at the threshold does not flap.
pub fn step(
    rule: &AlertRuleSpec,
    open: Option<&OpenAlert>,
    value: Option<f64>,
    now_ms: i64,
) -> Action {
    let Some(v) = value else {
        return Action::Nothing;
    };
    let holds = breaches(rule, v);
    match open {
        None if holds => Action::Open {
            fire: rule.for_seconds == 0,
        },
        None => Action::Nothing,
        Some(_) if cleared(rule, v) => Action::Resolve,
        Some(a)
            if a.state == AlertState::Pending
                && holds
                && now_ms - a.started_at >= i64::from(rule.for_seconds) * 1000 =>
        {
            Action::Fire
        }
        Some(_) => Action::Update { holds },
    }
}

/// `CPU above 80 %: 93.1 %` style texts.
fn texts(rule: &AlertRuleSpec, value: f64) -> (String, String) {
    let unit = rule.metric.unit();
    let title = rule.name.clone();
    let scope = match (&rule.service, &rule.endpoint, rule.target_id) {
        _ if rule.metric.takes_source() => match rule.source_id {
            Some(id) => format!(" of source {id}"),
            None => " over all sources".to_owned(),
        },
        (Some(s), Some(e), _) => format!(" of {s} {e}"),
        (Some(s), None, _) => format!(" of service {s}"),
        (None, _, Some(t)) => format!(" of target {t}"),
        _ if rule.metric.is_host() => " on this host".to_owned(),
        _ => " over all targets".to_owned(),
    };
    let window = if rule.metric.is_host() {
        String::new()
    } else {
        format!(" over the last {} s", rule.window_seconds)
    };
    let description = format!(
        "{}{scope}{window} was {} {unit}, {} the threshold of {} {unit}.",
        rule.metric.label(),
        round(value),
        match rule.comparison {
            Comparison::Above => "above",
            Comparison::Below => "below",
        },
        round(rule.threshold),
    );
    (title, description)
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The rule's value now; `None` when there is nothing to measure.
async fn measure(state: &AppState, rule: &AlertRuleSpec, now_ms: i64) -> Option<f64> {
    if rule.metric.is_host() {
        return host_value(state, rule.metric, now_ms);
    }
    let from_ms = now_ms - i64::from(rule.window_seconds) * 1000;
    match rule.metric {
        AlertMetric::CacheHitRate => {
            return cache_hit_rate(state, rule.source_id, rule.window_seconds, now_ms).await;
        }
        AlertMetric::SlowQueryTime => {
            return crate::postgres::slowest_mean(state.store(), rule.source_id, from_ms, now_ms)
                .await
                .ok()
                .flatten();
        }
        _ => {}
    }
    let scope = match &rule.service {
        Some(service) => Scope::Requests {
            service: Some(service.clone()),
            endpoint: rule.endpoint.clone(),
        },
        None => Scope::Probes {
            target: rule.target_id,
        },
    };
    response_value(state, rule.metric, scope, rule.window_seconds, now_ms).await
}

/// How old a host sample may be and still count as "now", ms.
pub(crate) fn stale_after_ms(state: &AppState) -> i64 {
    state.config().sample_interval().as_millis() as i64 * 3 + 1000
}

/// This host's `metric` (cpu, memory or disk) from the latest sample;
/// `None` when it is stale.
pub(crate) fn host_value(state: &AppState, metric: AlertMetric, now_ms: i64) -> Option<f64> {
    let snapshot = state.host().snapshot();
    let r = &snapshot.resources;
    if now_ms - r.ts_ms? > stale_after_ms(state) {
        return None;
    }
    match metric {
        AlertMetric::CpuUsage => r.cpu_usage,
        AlertMetric::MemoryUsage => r.memory_usage,
        AlertMetric::DiskUsage => r.disk_usage,
        _ => None,
    }
}

/// The hit rate of every cache source together over the last
/// `window_seconds`; `None` without a source or without lookups.
pub(crate) async fn cache_hit_rate(
    state: &AppState,
    source: Option<i64>,
    window_seconds: u32,
    now_ms: i64,
) -> Option<f64> {
    let from_ms = now_ms - i64::from(window_seconds) * 1000;
    crate::redis::report(state.store(), source, from_ms, now_ms, 1)
        .await
        .ok()?
        .cache_performance
        .hit_rate
}

/// A response figure of `scope` over the last `window_seconds`.
pub(crate) async fn response_value(
    state: &AppState,
    metric: AlertMetric,
    scope: Scope,
    window_seconds: u32,
    now_ms: i64,
) -> Option<f64> {
    let target = match &scope {
        Scope::Probes { target } => *target,
        _ => None,
    };
    let range = RangeQuery {
        from_ms: now_ms - i64::from(window_seconds) * 1000,
        to_ms: now_ms,
        target,
        points: 1,
    };
    let raw_start = state.config().raw_start_ms(now_ms);
    let m = crate::measures::summary(state.store(), raw_start, range, scope)
        .await
        .ok()?
        .performance_metrics;
    match metric {
        AlertMetric::ResponseTime => m.avg_response_time,
        AlertMetric::ErrorRate => m.error_rate,
        AlertMetric::P95 => m.p95,
        AlertMetric::P99 => m.p99,
        // Host and cache metrics are measured elsewhere.
        _ => None,
    }
}

/// One evaluation of every rule: measure (async), then decide and write in
/// one blocking call, then tell the stream.
pub async fn evaluate(state: &AppState, now_ms: i64) -> Result<(), StoreError> {
    let rules = state.store().call(|s| s.alert_rules()).await?;
    let mut values = Vec::with_capacity(rules.len());
    for (id, rule) in &rules {
        let value = if rule.enabled {
            measure(state, rule, now_ms).await
        } else {
            None
        };
        state.alerts().set_last_value(*id, value);
        values.push(value);
    }
    let changed = state
        .store()
        .call(move |s| apply(s, &rules, &values, now_ms))
        .await?;
    for alert in &changed {
        state.events().publish(ALERT_EVENT, now_ms, alert);
    }
    Ok(())
}

/// Moves each rule's alert as [`step`] decides; returns the alerts changed.
fn apply(
    store: &Store,
    rules: &[(i64, AlertRuleSpec)],
    values: &[Option<f64>],
    now_ms: i64,
) -> Result<Vec<Alert>, StoreError> {
    let open = store.open_alerts()?;
    let mut changed = Vec::new();
    for ((id, rule), &value) in rules.iter().zip(values) {
        let alert = open.iter().find(|a| a.rule_id == *id);
        let resolve = |a: &OpenAlert, note: &str, value| {
            store.transition_alert(
                a.id,
                a.state,
                AlertState::Resolved,
                SYSTEM_ACTOR,
                Some(note),
                value,
                now_ms,
            )
        };
        if !rule.enabled {
            if let Some(a) = alert {
                changed.extend(resolve(a, "rule disabled", None)?);
            }
            continue;
        }
        let unit = rule.metric.unit();
        let moved = match (step(rule, alert, value, now_ms), alert, value) {
            (Action::Open { fire }, _, Some(v)) => {
                let (title, description) = texts(rule, v);
                store.open_alert(&NewAlert {
                    rule_id: *id,
                    rule,
                    title,
                    description,
                    value: v,
                    at_ms: now_ms,
                    fire,
                })?
            }
            (Action::Fire, Some(a), v) => store.transition_alert(
                a.id,
                a.state,
                AlertState::Firing,
                SYSTEM_ACTOR,
                None,
                v,
                now_ms,
            )?,
            (Action::Resolve, Some(a), Some(v)) => {
                let note = if a.state == AlertState::Pending {
                    format!("cleared before firing ({} {unit})", round(v))
                } else {
                    format!("back to {} {unit}", round(v))
                };
                resolve(a, &note, Some(v))?
            }
            (Action::Update { holds }, Some(a), Some(v)) => {
                if a.current_value != Some(v) || a.condition_holds != holds {
                    store.set_alert_value(a.id, v, holds)?;
                }
                None
            }
            _ => None,
        };
        changed.extend(moved);
    }
    Ok(changed)
}

/// Evaluates every `interval` while monitoring is on, until shutdown.
pub fn spawn(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::monitoring::every_tick_while_on(
        state,
        interval,
        "evaluating alert rules",
        |state, now| async move { evaluate(&state, now).await },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_api::Severity;

    fn rule(
        comparison: Comparison,
        threshold: f64,
        margin: f64,
        for_seconds: u32,
    ) -> AlertRuleSpec {
        AlertRuleSpec {
            name: "r".into(),
            metric: AlertMetric::CpuUsage,
            comparison,
            threshold,
            severity: Severity::High,
            for_seconds,
            recovery_margin: margin,
            window_seconds: 60,
            target_id: None,
            service: None,
            endpoint: None,
            source_id: None,
            enabled: true,
        }
    }

    fn open(state: AlertState, started_at: i64) -> OpenAlert {
        OpenAlert {
            id: 1,
            rule_id: 1,
            state,
            started_at,
            current_value: None,
            condition_holds: true,
        }
    }

    #[test]
    fn opens_pending_fires_after_the_duration_and_clears_past_the_margin() {
        let r = rule(Comparison::Above, 80.0, 5.0, 60);
        assert_eq!(step(&r, None, Some(79.0), 0), Action::Nothing);
        assert_eq!(step(&r, None, Some(81.0), 0), Action::Open { fire: false });
        let pending = open(AlertState::Pending, 0);
        assert_eq!(
            step(&r, Some(&pending), Some(90.0), 59_999),
            Action::Update { holds: true }
        );
        assert_eq!(step(&r, Some(&pending), Some(90.0), 60_000), Action::Fire);
        // Hovering between the margin and the threshold: no firing, no clearing.
        assert_eq!(
            step(&r, Some(&pending), Some(78.0), 60_000),
            Action::Update { holds: false }
        );
        let firing = open(AlertState::Firing, 0);
        assert_eq!(
            step(&r, Some(&firing), Some(76.0), 1),
            Action::Update { holds: false }
        );
        assert_eq!(step(&r, Some(&firing), Some(75.0), 1), Action::Resolve);
        assert_eq!(step(&r, Some(&firing), None, 1), Action::Nothing);
        let acked = open(AlertState::Acknowledged, 0);
        assert_eq!(step(&r, Some(&acked), Some(10.0), 1), Action::Resolve);
    }

    #[test]
    fn below_rules_and_rules_without_duration() {
        let r = rule(Comparison::Below, 50.0, 5.0, 0);
        assert_eq!(step(&r, None, Some(40.0), 0), Action::Open { fire: true });
        assert_eq!(step(&r, None, Some(50.0), 0), Action::Nothing);
        let firing = open(AlertState::Firing, 0);
        assert_eq!(
            step(&r, Some(&firing), Some(52.0), 0),
            Action::Update { holds: false }
        );
        assert_eq!(step(&r, Some(&firing), Some(55.0), 0), Action::Resolve);
    }

    #[test]
    fn the_description_says_what_was_measured_against_what() {
        let r = rule(Comparison::Above, 80.0, 5.0, 60);
        let (title, description) = texts(&r, 93.126);
        assert_eq!(title, "r");
        assert_eq!(
            description,
            "CPU on this host was 93.13 %, above the threshold of 80 %."
        );
    }
}
