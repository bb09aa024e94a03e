//! Deciding and acting. [`decide`] is a pure function of a configuration,
//! the trigger's value, the instance count, how long the value has been
//! past a threshold and the cooldown left: what the status shows as
//! `check_scaling_needs` and what automatic mode does. [`execute`] runs one
//! action (manual or automatic) on a task of its own, one at a time per
//! configuration, recorded `running` before the executor is called.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vigie_api::{
    AUTOSCALER_ACTOR, AlertMetric, INSTANCES_EVENT, Instances, InstancesEvent, SCALING_EVENT,
    ScalingAction, ScalingConfig, ScalingConfigSpec, ScalingDirection, ScalingMode, ScalingNeed,
    ScalingOutcome, ScalingScope, TriggerType, Verdict,
};

use super::executor;
use super::store::{NewAction, Started};
use crate::AppState;
use crate::alerts::engine::{host_value, response_value, stale_after_ms};
use crate::error::ApiError;
use crate::measures::Scope;

/// How often the counts of a manual configuration are read, ms.
const MANUAL_COUNTS_EVERY_MS: i64 = 5000;

/// How long the trigger has been past one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breach {
    pub up: bool,
    pub since_ms: i64,
}

/// What the engine remembers between evaluations (not stored: after a
/// restart a for-duration starts again, which errs on the side of waiting).
#[derive(Debug, Default)]
pub struct Scaling {
    breaches: Mutex<HashMap<i64, Breach>>,
    counts: Mutex<HashMap<i64, Instances>>,
    /// When each configuration's counts were last read (ms).
    observed: Mutex<HashMap<i64, i64>>,
    in_flight: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl Scaling {
    fn lock_of(&self, config: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.entry(config).or_default().clone()
    }

    pub fn in_flight(&self, config: i64) -> bool {
        self.lock_of(config).try_lock().is_err()
    }

    pub fn breach(&self, config: i64) -> Option<Breach> {
        self.breaches.lock().ok()?.get(&config).copied()
    }

    /// Follows the value: a breach keeps its start while the value stays
    /// past the same threshold; anything else (within, missing) ends it.
    pub fn track(&self, spec: &ScalingConfigSpec, config: i64, value: Option<f64>, now_ms: i64) {
        let Ok(mut m) = self.breaches.lock() else {
            return;
        };
        let side = value.and_then(|v| {
            if v > spec.scale_up_threshold {
                Some(true)
            } else if v < spec.scale_down_threshold {
                Some(false)
            } else {
                None
            }
        });
        match side {
            Some(up) => {
                let keep = m.get(&config).is_some_and(|b| b.up == up);
                if !keep {
                    m.insert(
                        config,
                        Breach {
                            up,
                            since_ms: now_ms,
                        },
                    );
                }
            }
            None => {
                m.remove(&config);
            }
        }
    }

    /// Whether the counts were read less than `every_ms` ago; notes a read
    /// now when not.
    fn observed_within(&self, config: i64, every_ms: i64, now_ms: i64) -> bool {
        let Ok(mut m) = self.observed.lock() else {
            return false;
        };
        if m.get(&config).is_some_and(|&at| now_ms - at < every_ms) {
            return true;
        }
        m.insert(config, now_ms);
        false
    }

    /// Records the counts; `true` when they changed.
    fn counts_changed(&self, config: i64, counts: Instances) -> bool {
        let Ok(mut m) = self.counts.lock() else {
            return false;
        };
        m.insert(config, counts) != Some(counts)
    }

    pub fn forget(&self, config: i64) {
        if let Ok(mut m) = self.breaches.lock() {
            m.remove(&config);
        }
        if let Ok(mut m) = self.counts.lock() {
            m.remove(&config);
        }
        if let Ok(mut m) = self.observed.lock() {
            m.remove(&config);
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn trigger_label(t: TriggerType) -> &'static str {
    match t {
        TriggerType::Cpu => "CPU",
        TriggerType::Memory => "memory",
        TriggerType::ResponseTime => "response time",
        TriggerType::ErrorRate => "error rate",
        TriggerType::P95 => "p95",
    }
}

/// What automatic mode would do now, and why.
pub fn decide(
    spec: &ScalingConfigSpec,
    value: Option<f64>,
    current: Option<u32>,
    breach: Option<Breach>,
    cooldown_left_s: u64,
    now_ms: i64,
) -> ScalingNeed {
    let hold = |reason: String| ScalingNeed {
        verdict: Verdict::Hold,
        instances: None,
        reason,
    };
    let label = trigger_label(spec.trigger_type);
    let unit = spec.trigger_type.unit();
    let Some(v) = value else {
        return ScalingNeed {
            verdict: Verdict::NoDecision,
            instances: None,
            reason: format!("no recent measurement of {label}: no decision"),
        };
    };
    let Some(n) = current else {
        return ScalingNeed {
            verdict: Verdict::NoDecision,
            instances: None,
            reason: "the executor does not report the instance count: no decision".into(),
        };
    };
    let shown = round(v);
    let (up, threshold) = if v > spec.scale_up_threshold {
        (true, spec.scale_up_threshold)
    } else if v < spec.scale_down_threshold {
        (false, spec.scale_down_threshold)
    } else {
        return hold(format!(
            "{label} {shown} {unit} is within {}–{} {unit}",
            spec.scale_down_threshold, spec.scale_up_threshold
        ));
    };
    let past = if up { "above" } else { "below" };
    let target = if up {
        n.saturating_add(spec.step).min(spec.max_instances)
    } else {
        n.saturating_sub(spec.step).max(spec.min_instances)
    };
    if target == n {
        let bound = if up { "maximum" } else { "minimum" };
        return hold(format!(
            "{label} {shown} {unit} is {past} {threshold} {unit}, but {n} is the {bound}"
        ));
    }
    let held_s = breach
        .filter(|b| b.up == up)
        .map_or(0, |b| (now_ms - b.since_ms).max(0) / 1000);
    if held_s < i64::from(spec.for_seconds) {
        return hold(format!(
            "{label} {shown} {unit} is {past} {threshold} {unit} for {held_s} s of the {} s needed",
            spec.for_seconds
        ));
    }
    if cooldown_left_s > 0 {
        return hold(format!(
            "{label} {shown} {unit} is {past} {threshold} {unit}, but the cooldown has {cooldown_left_s} s left"
        ));
    }
    ScalingNeed {
        verdict: if up {
            Verdict::ScaleUp
        } else {
            Verdict::ScaleDown
        },
        instances: Some(target),
        reason: format!(
            "{label} {shown} {unit} {past} {threshold} {unit} for {held_s} s: {n} → {target}"
        ),
    }
}

/// The trigger's value now; `None` when nothing recent was measured.
pub async fn trigger_value(state: &AppState, spec: &ScalingConfigSpec, now_ms: i64) -> Option<f64> {
    let metric = match spec.trigger_type {
        TriggerType::Cpu => AlertMetric::CpuUsage,
        TriggerType::Memory => AlertMetric::MemoryUsage,
        TriggerType::ResponseTime => AlertMetric::ResponseTime,
        TriggerType::ErrorRate => AlertMetric::ErrorRate,
        TriggerType::P95 => AlertMetric::P95,
    };
    match &spec.scope {
        ScalingScope::Host => host_value(state, metric, now_ms),
        ScalingScope::Node { target_id } => {
            let (target, since) = (*target_id, now_ms - stale_after_ms(state));
            let samples = state
                .store()
                .call(move |s| s.node_samples_between(target, since, now_ms, 1))
                .await
                .ok()?;
            let last = samples.last()?;
            match spec.trigger_type {
                TriggerType::Cpu => Some(last.cpu_usage),
                TriggerType::Memory => Some(last.memory_usage),
                _ => None,
            }
        }
        ScalingScope::Target { target_id } => {
            let scope = Scope::Probes {
                target: Some(*target_id),
            };
            response_value(state, metric, scope, spec.window_seconds, now_ms).await
        }
        ScalingScope::Requests { service, endpoint } => {
            let scope = Scope::Requests {
                service: Some(service.clone()),
                endpoint: endpoint.clone(),
            };
            response_value(state, metric, scope, spec.window_seconds, now_ms).await
        }
    }
}

/// Seconds of cooldown left after `last` (an action that may have changed
/// the count: succeeded, running or interrupted).
pub fn cooldown_left_s(spec: &ScalingConfigSpec, last: Option<&ScalingAction>, now_ms: i64) -> u64 {
    let Some(last) = last else { return 0 };
    let ends = last.started_at + i64::from(spec.cooldown_seconds) * 1000;
    ((ends - now_ms).max(0) as u64).div_ceil(1000)
}

/// The counts now, published on the stream when they changed.
pub async fn observe_counts(state: &AppState, config: &ScalingConfig) -> Result<Instances, String> {
    let counts = executor::read(config, state.store(), state.prober().fetch_policy()).await?;
    if state.scaling().counts_changed(config.id, counts) {
        state.events().publish(
            INSTANCES_EVENT,
            crate::now_ms(),
            &InstancesEvent {
                configuration_id: config.id,
                instances: counts,
            },
        );
    }
    Ok(counts)
}

/// An action to take: what was asked and by whom.
#[derive(Debug, Clone)]
pub struct Plan {
    pub direction: ScalingDirection,
    pub instances: Option<u32>,
    pub reason: String,
    pub actor: String,
    pub automatic: bool,
    pub force: bool,
    pub idempotency_key: Option<String>,
    pub trigger_value: Option<f64>,
}

/// Runs `plan` on `config`: on a task of its own, so that a caller that
/// goes away (a time limit, a closed connection) does not stop an action
/// half-way; the answer is its record.
pub async fn execute(
    state: &AppState,
    config: ScalingConfig,
    plan: Plan,
) -> Result<ScalingAction, ApiError> {
    let state = state.clone();
    tokio::spawn(async move { run(&state, config, plan).await })
        .await
        .map_err(|e| ApiError::Internal(format!("the scaling task failed: {e}")))?
}

async fn run(
    state: &AppState,
    config: ScalingConfig,
    plan: Plan,
) -> Result<ScalingAction, ApiError> {
    let spec = &config.spec;
    let lock = state.scaling().lock_of(config.id);
    let Ok(_held) = lock.try_lock() else {
        if let Some(first) = repeat_of(state, &config, &plan).await? {
            return Ok(first);
        }
        return Err(ApiError::Conflict {
            field: "configuration".into(),
            message: format!("an action on {} is already under way", spec.name),
        });
    };
    if let Some(first) = repeat_of(state, &config, &plan).await? {
        return Ok(first);
    }
    let now = crate::now_ms();
    let id = config.id;
    let last = state
        .store()
        .call(move |s| s.last_effective_scaling_action(id))
        .await?;
    let left = cooldown_left_s(spec, last.as_ref(), now);
    if left > 0 && !plan.force {
        return Err(ApiError::Conflict {
            field: "force".into(),
            message: format!(
                "{} is cooling down: {left} s left (force to act anyway)",
                spec.name
            ),
        });
    }
    let counts = observe_counts(state, &config).await;
    let before = counts.as_ref().ok().and_then(|c| c.desired.or(c.current));
    // Automatic mode names its count; people say up, down (by the step) or set.
    let after = match (plan.direction, plan.instances) {
        (_, Some(n)) => Some(n),
        (ScalingDirection::Up, None) => before.map(|n| n.saturating_add(spec.step)),
        (ScalingDirection::Down, None) => before.map(|n| n.saturating_sub(spec.step)),
        (ScalingDirection::Set, None) => None,
    };
    if let Some(to) = after {
        check_bounds(spec, plan.direction, before, to)?;
    }
    let started = {
        let (config, plan) = (config.clone(), plan.clone());
        state
            .store()
            .call(move |s| {
                s.start_scaling_action(&NewAction {
                    config: &config,
                    direction: plan.direction,
                    actor: &plan.actor,
                    automatic: plan.automatic,
                    reason: &plan.reason,
                    trigger_value: plan.trigger_value,
                    before,
                    after,
                    forced: plan.force,
                    idempotency_key: plan.idempotency_key.as_deref(),
                    at_ms: now,
                })
            })
            .await?
    };
    let action_id = match started {
        Started::New(id) => id,
        Started::Repeat(first) => return Ok(*first),
    };
    if let Ok(Some(running)) = state
        .store()
        .call(move |s| s.scaling_action(action_id))
        .await
    {
        state.events().publish(SCALING_EVENT, now, &running);
    }
    let outcome = match (after, counts) {
        (_, Err(e)) if plan.direction != ScalingDirection::Set => {
            Err(format!("cannot read the instance count: {e}"))
        }
        (Some(to), _) => executor::apply(&config, to, before, state.prober().fetch_policy()).await,
        (None, _) => Err("no instance count to scale to".to_owned()),
    };
    let (result, error, output) = match &outcome {
        Ok(output) => (ScalingOutcome::Succeeded, None, output.clone()),
        Err(e) => (ScalingOutcome::Failed, Some(e.clone()), None),
    };
    let action = state
        .store()
        .call(move |s| {
            s.finish_scaling_action(
                action_id,
                result,
                error.as_deref(),
                output.as_deref(),
                crate::now_ms(),
            )
        })
        .await?
        .ok_or_else(|| ApiError::Internal("the action's record is gone".into()))?;
    state
        .events()
        .publish(SCALING_EVENT, crate::now_ms(), &action);
    // The counts as they are now (a failed action leaves the previous ones).
    let _ = observe_counts(state, &config).await;
    match outcome {
        Ok(_) => Ok(action),
        Err(e) => Err(ApiError::Executor(e)),
    }
}

/// The action already recorded under the plan's idempotency key.
async fn repeat_of(
    state: &AppState,
    config: &ScalingConfig,
    plan: &Plan,
) -> Result<Option<ScalingAction>, ApiError> {
    let Some(key) = plan.idempotency_key.clone() else {
        return Ok(None);
    };
    let id = config.id;
    Ok(state
        .store()
        .call(move |s| s.scaling_action_by_key(id, &key))
        .await?)
}

fn check_bounds(
    spec: &ScalingConfigSpec,
    direction: ScalingDirection,
    before: Option<u32>,
    to: u32,
) -> Result<(), ApiError> {
    let field = if direction == ScalingDirection::Set {
        "instances"
    } else {
        "action"
    };
    if to > spec.max_instances || to < spec.min_instances {
        return Err(ApiError::bad_request(
            field,
            format!(
                "{to} instances is outside {}'s bounds ({}–{})",
                spec.name, spec.min_instances, spec.max_instances
            ),
        ));
    }
    if before == Some(to) {
        return Err(ApiError::bad_request(
            field,
            format!("{} already has {to} instances", spec.name),
        ));
    }
    Ok(())
}

/// One pass of automatic mode over every automatic configuration.
pub async fn evaluate(state: &AppState, now_ms: i64) -> Result<(), ApiError> {
    let configs = state.store().call(|s| s.scaling_configs()).await?;
    for config in configs {
        let value = trigger_value(state, &config.spec, now_ms).await;
        state
            .scaling()
            .track(&config.spec, config.id, value, now_ms);
        if config.spec.mode != ScalingMode::Automatic {
            // Counts changed outside Vigie reach the stream too, read less often.
            if !state
                .scaling()
                .observed_within(config.id, MANUAL_COUNTS_EVERY_MS, now_ms)
            {
                let _ = observe_counts(state, &config).await;
            }
            continue;
        }
        if state.scaling().in_flight(config.id) {
            continue;
        }
        let counts = observe_counts(state, &config).await.ok();
        let id = config.id;
        let last = state
            .store()
            .call(move |s| s.last_scaling_action(id))
            .await?;
        // After its own failure automatic mode waits a cooldown too, rather
        // than retry a failing executor at every tick.
        let left = cooldown_left_s(&config.spec, last.as_ref(), now_ms);
        let need = decide(
            &config.spec,
            value,
            counts.and_then(|c| c.desired.or(c.current)),
            state.scaling().breach(config.id),
            left,
            now_ms,
        );
        let direction = match need.verdict {
            Verdict::ScaleUp => ScalingDirection::Up,
            Verdict::ScaleDown => ScalingDirection::Down,
            Verdict::Hold | Verdict::NoDecision => continue,
        };
        let plan = Plan {
            direction,
            instances: need.instances,
            reason: need.reason,
            actor: AUTOSCALER_ACTOR.to_owned(),
            automatic: true,
            force: false,
            idempotency_key: None,
            trigger_value: value,
        };
        let name = config.spec.name.clone();
        if let Err(e) = execute(state, config, plan).await {
            tracing::warn!(configuration = %name, ?direction, error = %e, "automatic scaling failed");
        }
    }
    Ok(())
}

/// Marks actions a stopped server left running, then evaluates every
/// `interval` while monitoring is on, until shutdown.
pub fn spawn(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match state
            .store()
            .call(|s| s.interrupt_running_scaling_actions(crate::now_ms()))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(actions = n, "scaling actions interrupted by the last stop"),
            Err(e) => tracing::error!(error = %e, "cannot mark interrupted scaling actions"),
        }
        crate::monitoring::every_tick_while_on(
            state,
            interval,
            "evaluating scaling configurations",
            |state, now| async move { evaluate(&state, now).await },
        )
        .await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_api::{Executor, ScalingType};

    fn spec() -> ScalingConfigSpec {
        ScalingConfigSpec {
            name: "web".into(),
            scaling_type: ScalingType::Horizontal,
            trigger_type: TriggerType::Cpu,
            scope: ScalingScope::Host,
            min_instances: 2,
            max_instances: 5,
            scale_up_threshold: 80.0,
            scale_down_threshold: 20.0,
            for_seconds: 60,
            cooldown_seconds: 300,
            step: 2,
            window_seconds: 60,
            mode: ScalingMode::Automatic,
            executor: Executor::DryRun,
        }
    }

    const T0: i64 = 1_000_000;

    #[test]
    fn scales_up_once_the_value_held_above_for_the_duration() {
        let s = spec();
        let since = Some(Breach {
            up: true,
            since_ms: T0,
        });
        let early = decide(&s, Some(91.0), Some(2), since, 0, T0 + 59_000);
        assert_eq!(early.verdict, Verdict::Hold);
        assert!(
            early.reason.contains("59 s of the 60 s"),
            "{}",
            early.reason
        );
        let now = decide(&s, Some(91.0), Some(2), since, 0, T0 + 60_000);
        assert_eq!((now.verdict, now.instances), (Verdict::ScaleUp, Some(4)));
        // The step is capped at the maximum, and at the maximum it holds.
        let capped = decide(&s, Some(91.0), Some(4), since, 0, T0 + 60_000);
        assert_eq!(capped.instances, Some(5));
        let at_max = decide(&s, Some(91.0), Some(5), since, 0, T0 + 60_000);
        assert_eq!(at_max.verdict, Verdict::Hold);
        assert!(at_max.reason.contains("maximum"), "{}", at_max.reason);
    }

    #[test]
    fn holds_during_the_cooldown_and_within_the_thresholds() {
        let s = spec();
        let since = Some(Breach {
            up: false,
            since_ms: T0,
        });
        let cooling = decide(&s, Some(5.0), Some(5), since, 42, T0 + 120_000);
        assert_eq!(cooling.verdict, Verdict::Hold);
        assert!(cooling.reason.contains("42 s left"), "{}", cooling.reason);
        let down = decide(&s, Some(5.0), Some(5), since, 0, T0 + 120_000);
        assert_eq!(
            (down.verdict, down.instances),
            (Verdict::ScaleDown, Some(3))
        );
        let floor = decide(&s, Some(5.0), Some(3), since, 0, T0 + 120_000);
        assert_eq!(floor.instances, Some(2));
        let within = decide(&s, Some(50.0), Some(3), None, 0, T0);
        assert_eq!(within.verdict, Verdict::Hold);
        // A breach on the other side does not count for this one.
        let other = decide(&s, Some(91.0), Some(3), since, 0, T0 + 120_000);
        assert!(other.reason.contains("0 s of the 60 s"), "{}", other.reason);
    }

    #[test]
    fn never_decides_on_missing_data() {
        let s = spec();
        let since = Some(Breach {
            up: true,
            since_ms: T0,
        });
        assert_eq!(
            decide(&s, None, Some(2), since, 0, T0 + 600_000).verdict,
            Verdict::NoDecision
        );
        assert_eq!(
            decide(&s, Some(99.0), None, since, 0, T0 + 600_000).verdict,
            Verdict::NoDecision
        );
    }

    #[test]
    fn a_breach_keeps_its_start_while_it_lasts_and_ends_with_missing_data() {
        let s = spec();
        let m = Scaling::default();
        m.track(&s, 1, Some(90.0), T0);
        m.track(&s, 1, Some(95.0), T0 + 10_000);
        assert_eq!(
            m.breach(1),
            Some(Breach {
                up: true,
                since_ms: T0
            })
        );
        m.track(&s, 1, Some(10.0), T0 + 20_000);
        assert_eq!(
            m.breach(1),
            Some(Breach {
                up: false,
                since_ms: T0 + 20_000
            })
        );
        m.track(&s, 1, None, T0 + 30_000);
        assert_eq!(m.breach(1), None);
    }

    #[test]
    fn cooldown_counts_from_the_last_action_started() {
        let s = spec();
        let action = ScalingAction {
            id: 1,
            configuration_id: 1,
            configuration_name: "web".into(),
            direction: ScalingDirection::Up,
            actor: "a".into(),
            automatic: false,
            reason: "r".into(),
            trigger_value: None,
            executor: "dry_run".into(),
            before: Some(2),
            after: Some(3),
            outcome: ScalingOutcome::Succeeded,
            error: None,
            output: None,
            forced: false,
            started_at: T0,
            finished_at: Some(T0 + 5),
        };
        assert_eq!(cooldown_left_s(&s, Some(&action), T0 + 1), 300);
        assert_eq!(cooldown_left_s(&s, Some(&action), T0 + 299_001), 1);
        assert_eq!(cooldown_left_s(&s, Some(&action), T0 + 300_000), 0);
        assert_eq!(cooldown_left_s(&s, None, T0), 0);
    }
}
