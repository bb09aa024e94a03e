//! Scaling: configurations name a trigger (a measured figure of a host, a
//! target or a service), thresholds, bounds and the executor that applies
//! an action ([`executor`]); people scale by hand with a reason, and
//! automatic mode acts within the bounds ([`engine`]). Every action is in
//! the audit log ([`store`]) and on the event stream.
//!
//! Routes: `GET auto-scaling-status/` and `POST execute-scaling-action/`
//! (the seeds'), `scaling-configurations/` (CRUD) and `GET scaling-actions/`.

pub mod engine;
pub mod executor;
pub mod store;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use vigie_api::{
    AutoScalingStatus, Executor, Role, ScalingAction, ScalingActionList, ScalingActionsQuery,
    ScalingConfig, ScalingConfigList, ScalingConfigSpec, ScalingRequest, ScalingScope,
    ScalingStatus, TargetKind, paths,
};

use crate::AppState;
use crate::alerts::{actor_of, text};
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, parse_json};
use crate::openapi::Op;
use engine::Plan;
use store::{ActionFilter, Saved};

const MAX_NAME: usize = 200;
const MAX_REASON: usize = 500;
const MAX_KEY: usize = 200;
const MAX_INSTANCES: u32 = 10_000;
const MAX_SECONDS: u32 = 86_400;
const MAX_STEP: u32 = 1000;
const MAX_COMMAND_TIMEOUT_S: u32 = 3600;
const MAX_LIMIT: u32 = 500;

fn bad(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(field, message)
}

/// A Kubernetes object name (DNS-1123 subdomain).
fn kube_name(field: &'static str, v: &str) -> Result<String, ApiError> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(bad(
            field,
            format!("{field} must be a Kubernetes name: lower-case letters, digits, '-' and '.'"),
        ))
    }
}

fn argv(field: &'static str, argv: &[String]) -> Result<Vec<String>, ApiError> {
    if argv.is_empty() || argv[0].trim().is_empty() {
        return Err(bad(
            field,
            format!("{field} must name a program: [\"/path/to/program\", \"arg\", …]"),
        ));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(bad(field, format!("{field} has a NUL byte")));
    }
    Ok(argv.to_vec())
}

/// Checks a configuration; the error names the field at fault.
pub async fn validate(
    state: &AppState,
    mut c: ScalingConfigSpec,
) -> Result<ScalingConfigSpec, ApiError> {
    c.name = text("name", &c.name, MAX_NAME)?;
    if c.max_instances == 0 || c.max_instances > MAX_INSTANCES {
        return Err(bad(
            "max_instances",
            format!("max_instances must be 1 to {MAX_INSTANCES}"),
        ));
    }
    if c.min_instances > c.max_instances {
        return Err(bad(
            "min_instances",
            format!(
                "min_instances ({}) is above max_instances ({})",
                c.min_instances, c.max_instances
            ),
        ));
    }
    let unit = c.trigger_type.unit();
    let top = if unit == "%" { 100.0 } else { 3_600_000.0 };
    for (field, v) in [
        ("scale_up_threshold", c.scale_up_threshold),
        ("scale_down_threshold", c.scale_down_threshold),
    ] {
        if !v.is_finite() || !(0.0..=top).contains(&v) {
            return Err(bad(
                field,
                format!("{field} must be a number from 0 to {top} ({unit})"),
            ));
        }
    }
    if c.scale_down_threshold >= c.scale_up_threshold {
        return Err(bad(
            "scale_down_threshold",
            format!(
                "scale_down_threshold ({}) must be below scale_up_threshold ({})",
                c.scale_down_threshold, c.scale_up_threshold
            ),
        ));
    }
    for (field, v) in [
        ("for_seconds", c.for_seconds),
        ("cooldown_seconds", c.cooldown_seconds),
    ] {
        if v > MAX_SECONDS {
            return Err(bad(field, format!("{field} must be 0 to {MAX_SECONDS}")));
        }
    }
    if c.step == 0 || c.step > MAX_STEP {
        return Err(bad("step", format!("step must be 1 to {MAX_STEP}")));
    }
    if !(10..=MAX_SECONDS).contains(&c.window_seconds) {
        return Err(bad(
            "window_seconds",
            format!("window_seconds must be 10 to {MAX_SECONDS}"),
        ));
    }
    check_scope(state, &mut c).await?;
    if !c.executor.supports().contains(&c.scaling_type) {
        return Err(bad(
            "scaling_type",
            format!(
                "the {} executor applies horizontal scaling only (instance counts); no executor changes CPU or memory yet",
                c.executor.kind()
            ),
        ));
    }
    c.executor = match c.executor {
        Executor::DryRun => Executor::DryRun,
        Executor::Command {
            scale,
            status,
            timeout_s,
        } => {
            if timeout_s == 0 || timeout_s > MAX_COMMAND_TIMEOUT_S {
                return Err(bad(
                    "executor.timeout_s",
                    format!("executor.timeout_s must be 1 to {MAX_COMMAND_TIMEOUT_S}"),
                ));
            }
            Executor::Command {
                scale: argv("executor.scale", &scale)?,
                status: status.map(|s| argv("executor.status", &s)).transpose()?,
                timeout_s,
            }
        }
        Executor::Kubernetes {
            namespace,
            name,
            workload,
            api_url,
            token_file,
            ca_file,
            kubeconfig,
        } => {
            let api_url = match api_url {
                Some(u) => {
                    let url = reqwest::Url::parse(u.trim()).map_err(|e| {
                        bad(
                            "executor.api_url",
                            format!("executor.api_url is not a URL: {e}"),
                        )
                    })?;
                    if !matches!(url.scheme(), "http" | "https") {
                        return Err(bad(
                            "executor.api_url",
                            "executor.api_url must be http or https",
                        ));
                    }
                    state
                        .prober()
                        .fetch_policy()
                        .check_url(&url)
                        .map_err(|e| bad("executor.api_url", e.to_string()))?;
                    Some(u.trim().trim_end_matches('/').to_owned())
                }
                None => None,
            };
            let file = |field: &'static str, f: Option<String>| {
                f.map(|f| text(field, &f, 4096)).transpose()
            };
            Executor::Kubernetes {
                namespace: kube_name("executor.namespace", &namespace)?,
                name: kube_name("executor.name", &name)?,
                workload,
                api_url,
                token_file: file("executor.token_file", token_file)?,
                ca_file: file("executor.ca_file", ca_file)?,
                kubeconfig: file("executor.kubeconfig", kubeconfig)?,
            }
        }
    };
    Ok(c)
}

/// The trigger must suit the scope, and what the scope names must exist.
async fn check_scope(state: &AppState, c: &mut ScalingConfigSpec) -> Result<(), ApiError> {
    let host = c.trigger_type.is_host();
    let (kind, target) = match &mut c.scope {
        ScalingScope::Host if host => return Ok(()),
        ScalingScope::Node { target_id } if host => (TargetKind::Prometheus, *target_id),
        ScalingScope::Target { target_id } if !host => (TargetKind::Http, *target_id),
        ScalingScope::Requests { service, endpoint } if !host => {
            *service = text("scope.service", service, 512)?;
            if let Some(e) = endpoint {
                *e = text("scope.endpoint", e, 512)?;
            }
            return Ok(());
        }
        _ => {
            return Err(bad(
                "scope",
                if host {
                    "cpu and memory triggers are measured on a host: scope host or node"
                } else {
                    "response triggers are measured on a target or a service: scope target or requests"
                },
            ));
        }
    };
    let found = state.store().call(move |s| s.target(target)).await?;
    match found {
        Some(t) if t.kind == kind => Ok(()),
        Some(_) if kind == TargetKind::Prometheus => Err(bad(
            "scope.target_id",
            format!("target {target} is not a Prometheus (node_exporter) target"),
        )),
        Some(_) => Err(bad(
            "scope.target_id",
            format!("target {target} is a Prometheus target: probe results come from HTTP targets"),
        )),
        None => Err(bad(
            "scope.target_id",
            format!("no target with id {target}"),
        )),
    }
}

async fn config_of(state: &AppState, id: i64) -> Result<ScalingConfig, ApiError> {
    state
        .store()
        .call(move |s| s.scaling_config(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("scaling configuration {id}")))
}

/// One configuration's status now: counts from its executor, the trigger
/// measured, and what automatic mode would do.
pub async fn status_of(state: &AppState, config: ScalingConfig) -> Result<ScalingStatus, ApiError> {
    let now = crate::now_ms();
    let value = engine::trigger_value(state, &config.spec, now).await;
    let counts = engine::observe_counts(state, &config).await;
    let id = config.id;
    let (last, effective) = state
        .store()
        .call(move |s| {
            Ok((
                s.last_scaling_action(id)?,
                s.last_effective_scaling_action(id)?,
            ))
        })
        .await?;
    let cooldown = engine::cooldown_left_s(&config.spec, effective.as_ref(), now);
    let (instances, executor_error) = match counts {
        Ok(c) => (c, None),
        Err(e) => (
            vigie_api::Instances {
                desired: None,
                current: None,
                ready: None,
            },
            Some(e),
        ),
    };
    let need = engine::decide(
        &config.spec,
        value,
        instances.desired.or(instances.current),
        state.scaling().breach(id),
        cooldown,
        now,
    );
    Ok(ScalingStatus {
        unit: config.spec.trigger_type.unit().to_owned(),
        supported_types: config.spec.executor.supports().to_vec(),
        in_flight: state.scaling().in_flight(id),
        configuration: config,
        instances,
        executor_error,
        trigger_value: value,
        last_action: last,
        cooldown_left_s: cooldown,
        check_scaling_needs: need,
    })
}

pub fn status_op() -> Op {
    Op::new(
        "autoScalingStatus",
        "Every scaling configuration with its instances (desired, current, ready), the trigger's latest value against its thresholds, the last action, the cooldown left and check_scaling_needs: what automatic mode would do now, with the reason",
    )
    .json::<AutoScalingStatus>(200, "one entry per configuration")
}

/// `GET auto-scaling-status/`
pub async fn status(State(state): State<AppState>) -> Result<Json<AutoScalingStatus>, ApiError> {
    let configs = state.store().call(|s| s.scaling_configs()).await?;
    let mut out = Vec::with_capacity(configs.len());
    for c in configs {
        out.push(status_of(&state, c).await?);
    }
    Ok(Json(AutoScalingStatus {
        configurations: out,
        monitoring_active: state.monitoring().is_on(),
    }))
}

pub fn execute_op() -> Op {
    Op::new(
        "executeScalingAction",
        "Scale a configuration up, down (by its step) or to N, with a reason; bounded by min/max, refused during the cooldown unless force, once per idempotency key",
    )
    .body::<ScalingRequest>()
    .json::<ScalingAction>(200, "the action, done")
    .error(400, "bad input (count outside the bounds, empty reason): the body names the field")
    .error(404, "no such configuration")
    .error(409, "cooling down (the message says how long) or an action already under way")
    .error(502, "the executor failed: the action is recorded as failed with its reason")
}

/// `POST execute-scaling-action/`
pub async fn execute(
    State(state): State<AppState>,
    Extension(by): Extension<Principal>,
    body: Bytes,
) -> Result<Json<ScalingAction>, ApiError> {
    let r: ScalingRequest = parse_json(&body)?;
    let reason = text("reason", &r.reason, MAX_REASON)?;
    let actor = actor_of(&by, r.actor.as_deref())?;
    let key = r
        .idempotency_key
        .as_deref()
        .map(|k| text("idempotency_key", k, MAX_KEY))
        .transpose()?;
    let instances = match (r.action, r.instances) {
        (vigie_api::ScalingDirection::Set, None) => {
            return Err(bad("instances", "set needs instances: the count wanted"));
        }
        (vigie_api::ScalingDirection::Set, n) => n,
        (_, Some(_)) => {
            return Err(bad(
                "instances",
                "instances goes with set only (up and down move by the step)",
            ));
        }
        (_, None) => None,
    };
    let config = config_of(&state, r.configuration)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(m) => bad("configuration", m),
            e => e,
        })?;
    let plan = Plan {
        direction: r.action,
        instances,
        reason,
        actor,
        automatic: false,
        force: r.force,
        idempotency_key: key,
        trigger_value: engine::trigger_value(&state, &config.spec, crate::now_ms()).await,
    };
    engine::execute(&state, config, plan).await.map(Json)
}

pub fn list_op() -> Op {
    Op::new("listScalingConfigurations", "Every scaling configuration")
        .json::<ScalingConfigList>(200, "the configurations")
}

/// `GET scaling-configurations/`
pub async fn list(State(state): State<AppState>) -> Result<Json<ScalingConfigList>, ApiError> {
    let configurations = state.store().call(|s| s.scaling_configs()).await?;
    Ok(Json(ScalingConfigList { configurations }))
}

pub fn create_op() -> Op {
    Op::new(
        "createScalingConfiguration",
        "Create a scaling configuration",
    )
    .body::<ScalingConfigSpec>()
    .json::<ScalingConfig>(201, "created")
    .error(400, "bad input: the body names the field")
    .error(409, "the name is taken")
}

fn saved(result: Saved, spec: ScalingConfigSpec) -> Result<ScalingConfig, ApiError> {
    match result {
        Saved::Done(id) => Ok(ScalingConfig { id, spec }),
        Saved::NoSuchConfig => Err(ApiError::NotFound("scaling configuration".into())),
        Saved::NameTaken => Err(ApiError::Conflict {
            field: "name".into(),
            message: format!("a scaling configuration is already named {:?}", spec.name),
        }),
    }
}

/// `POST scaling-configurations/`
pub async fn create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<ScalingConfig>), ApiError> {
    let spec = validate(&state, parse_json(&body)?).await?;
    let stored = spec.clone();
    let result = state
        .store()
        .call(move |s| s.insert_scaling_config(&stored))
        .await?;
    Ok((StatusCode::CREATED, Json(saved(result, spec)?)))
}

pub fn read_op() -> Op {
    Op::new("getScalingConfiguration", "One scaling configuration")
        .json::<ScalingConfig>(200, "the configuration")
        .error(404, "no such configuration")
}

/// `GET scaling-configurations/{id}`
pub async fn read(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ScalingConfig>, ApiError> {
    config_of(&state, id).await.map(Json)
}

pub fn replace_op() -> Op {
    Op::new(
        "replaceScalingConfiguration",
        "Replace a scaling configuration (also how automatic mode is switched on or off)",
    )
    .body::<ScalingConfigSpec>()
    .json::<ScalingConfig>(200, "replaced")
    .error(400, "bad input: the body names the field")
    .error(404, "no such configuration")
    .error(409, "the name is taken")
}

/// `PUT scaling-configurations/{id}`
pub async fn replace(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> Result<Json<ScalingConfig>, ApiError> {
    let spec = validate(&state, parse_json(&body)?).await?;
    let stored = spec.clone();
    let result = state
        .store()
        .call(move |s| s.update_scaling_config(id, &stored))
        .await?;
    state.scaling().forget(id);
    saved(result, spec).map(Json)
}

pub fn delete_op() -> Op {
    Op::new(
        "deleteScalingConfiguration",
        "Delete a scaling configuration (its actions stay in the audit log)",
    )
    .empty(204, "deleted")
    .error(404, "no such configuration")
}

/// `DELETE scaling-configurations/{id}`
pub async fn delete(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state
        .store()
        .call(move |s| s.delete_scaling_config(id))
        .await?
    {
        return Err(ApiError::NotFound(format!("scaling configuration {id}")));
    }
    state.scaling().forget(id);
    Ok(StatusCode::NO_CONTENT)
}

pub fn actions_op() -> Op {
    Op::new(
        "listScalingActions",
        "The scaling audit log, newest first: who, why, the trigger's value, before and after, the outcome",
    )
    .query::<ScalingActionsQuery>()
    .json::<ScalingActionList>(200, "a page of actions")
    .error(400, "bad input: the body names the parameter")
}

/// `GET scaling-actions/`
pub async fn actions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ScalingActionsQuery>,
) -> Result<Json<ScalingActionList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad("limit", format!("limit must be 1 to {MAX_LIMIT}")));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(bad("from", "from is after to"));
    }
    let filter = ActionFilter {
        config: q.configuration,
        actor: q.actor,
        outcome: q.outcome,
        from_ms: q.from,
        to_ms: q.to,
        limit,
        offset: q.offset.unwrap_or(0),
    };
    let (actions, total) = state
        .store()
        .call(move |s| s.scaling_actions(&filter))
        .await?;
    let end = u64::from(filter_end(q.offset.unwrap_or(0), actions.len()));
    Ok(Json(ScalingActionList {
        next_offset: (end < total).then_some(end),
        actions,
        total,
    }))
}

fn filter_end(offset: u32, n: usize) -> u32 {
    offset.saturating_add(n as u32)
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one = crate::item(paths::SCALING_CONFIGURATIONS);
    r.get(paths::AUTO_SCALING_STATUS, status, status_op())
        .change(
            Method::POST,
            paths::EXECUTE_SCALING_ACTION,
            Role::Operator,
            execute,
            execute_op(),
        )
        .get(paths::SCALING_CONFIGURATIONS, list, list_op())
        .change(
            Method::POST,
            paths::SCALING_CONFIGURATIONS,
            Role::Admin,
            create,
            create_op(),
        )
        .get(&one, read, read_op())
        .change(Method::PUT, &one, Role::Admin, replace, replace_op())
        .change(Method::DELETE, &one, Role::Admin, delete, delete_op())
        .get(paths::SCALING_ACTIONS, actions, actions_op())
}
