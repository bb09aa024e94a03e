//! Alerts: rules watch the measurements ([`engine`]), raise alerts with a
//! severity, and operators acknowledge and resolve them with a note. Every
//! transition is kept ([`store`]) and pushed on the event stream.
//!
//! Routes: `GET alerts/` (filters: state, severity, time range; paginated),
//! `GET alerts/{id}`, `POST resolve-alert/` (the seeds'), `POST
//! acknowledge-alert/`, and the rules under `alert-rules/` ([`rules`]).

pub mod engine;
pub mod rules;
pub mod store;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::Method;
use axum::{Extension, Json};
use vigie_api::{
    ALERT_EVENT, AcknowledgeAlert, Alert, AlertList, AlertState, AlertsQuery, ResolveAlert,
    StateFilter,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, parse_json};
use crate::openapi::Op;
use store::{AlertFilter, Refusal};

handler_ctx! {
    /// What the handlers of alerts and rules reach.
    pub struct Ctx {
        store: crate::store::Store,
        events: crate::events::EventHub,
        alerts: std::sync::Arc<Alerts>,
    }
}

/// Longest note and actor name accepted.
const MAX_NOTE: usize = 2000;
const MAX_ACTOR: usize = 100;
const MAX_LIMIT: u32 = 500;

/// What the evaluator knows between two runs that is not stored: each
/// rule's last value, shown beside the rule.
#[derive(Debug, Default)]
pub struct Alerts {
    last_values: Mutex<HashMap<i64, Option<f64>>>,
}

impl Alerts {
    pub fn set_last_value(&self, rule: i64, value: Option<f64>) {
        if let Ok(mut m) = self.last_values.lock() {
            m.insert(rule, value);
        }
    }

    /// Drops a deleted rule's value.
    pub fn forget(&self, rule: i64) {
        if let Ok(mut m) = self.last_values.lock() {
            m.remove(&rule);
        }
    }

    pub fn last_value(&self, rule: i64) -> Option<f64> {
        self.last_values
            .lock()
            .ok()
            .and_then(|m| m.get(&rule).copied().flatten())
    }
}

pub fn spawn_evaluator(state: AppState) -> tokio::task::JoinHandle<()> {
    let interval = std::time::Duration::from_millis(state.config().alert_interval_ms);
    engine::spawn(state, interval)
}

/// Reads the filters of `GET alerts/`.
pub fn parse_filter(q: &AlertsQuery) -> Result<AlertFilter, ApiError> {
    let states = q
        .state
        .iter()
        .flat_map(|c| &c.0)
        .flat_map(|f| match f {
            StateFilter::Open => &[
                AlertState::Pending,
                AlertState::Firing,
                AlertState::Acknowledged,
            ][..],
            StateFilter::Pending => &[AlertState::Pending],
            StateFilter::Firing => &[AlertState::Firing],
            StateFilter::Acknowledged => &[AlertState::Acknowledged],
            StateFilter::Resolved => &[AlertState::Resolved],
        })
        .copied()
        .collect();
    let severities = q.severity.clone().map(|c| c.0).unwrap_or_default();
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(ApiError::bad_request("from", "from must not be after to"));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    Ok(AlertFilter {
        states,
        severities,
        from_ms: q.from,
        to_ms: q.to,
        fired: q.fired,
        limit,
        offset: q.offset.unwrap_or(0),
    })
}

/// The documentation of [`list`].
pub fn list_op() -> Op {
    Op::new(
        "listAlerts",
        "Alerts: open ones first by severity, then the history newest first",
    )
    .query::<AlertsQuery>()
    .json::<AlertList>(200, "one page of alerts")
    .error(400, "bad filter: the body names it")
}

/// `GET alerts/`
pub async fn list(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let filter = parse_filter(&q)?;
    let (limit, offset) = (filter.limit, filter.offset);
    let (alerts, total, open_count) = state.store.call(move |s| s.alerts(&filter)).await?;
    Ok(Json(AlertList {
        alerts,
        total,
        open_count,
        limit,
        offset,
    }))
}

/// The documentation of [`read`].
pub fn read_op() -> Op {
    Op::new("getAlert", "One alert with its history")
        .json::<Alert>(200, "the alert")
        .error(404, "no such alert")
}

/// `GET alerts/{id}`
pub async fn read(
    State(state): State<Ctx>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<Alert>, ApiError> {
    state
        .store
        .call(move |s| s.alert(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("alert {id}")))
}

pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::bad_request(field, format!("{field} is required")));
    }
    if v.chars().count() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

/// An operator's change to alert `id`, told to the stream.
async fn change(
    state: &Ctx,
    id: i64,
    allowed: &'static [AlertState],
    to: AlertState,
    actor: String,
    note: Option<String>,
) -> Result<Json<Alert>, ApiError> {
    let now = crate::now_ms();
    let outcome = state
        .store
        .call(move |s| s.change_alert(id, allowed, to, &actor, note.as_deref(), now))
        .await?;
    match outcome {
        Ok(alert) => {
            state.events.publish(ALERT_EVENT, now, &alert);
            Ok(Json(alert))
        }
        Err(Refusal::NotFound) => Err(ApiError::NotFound(format!("alert {id}"))),
        Err(Refusal::Conflict(current)) => Err(ApiError::Conflict {
            field: "alert_id".into(),
            message: format!(
                "alert {id} is {}: it cannot be {}",
                current.as_str(),
                to.as_str()
            ),
        }),
    }
}

/// Who is recorded: the token's name; without tokens, the name the client
/// gave (required then, so that the history says who it was).
pub(crate) fn actor_of(by: &Principal, hint: Option<&str>) -> Result<String, ApiError> {
    match &by.name {
        Some(name) => Ok(name.clone()),
        None => text("actor", hint.unwrap_or(""), MAX_ACTOR),
    }
}

/// The documentation of [`resolve`].
pub fn resolve_op() -> Op {
    Op::new(
        "resolveAlert",
        "Resolve an alert with a note; if its condition still holds a new alert opens and fires after the rule's duration",
    )
    .body::<ResolveAlert>()
    .json::<Alert>(200, "resolved")
    .error(400, "empty note or actor, or a malformed body")
    .error(404, "no such alert")
    .error(409, "already resolved")
}

/// `POST resolve-alert/` `{alert_id, note, actor?}`: resolves by hand. If the
/// condition still holds, the rule opens a new alert, which fires after the
/// rule's duration.
pub async fn resolve(
    State(state): State<Ctx>,
    Extension(by): Extension<Principal>,
    body: Bytes,
) -> Result<Json<Alert>, ApiError> {
    let r: ResolveAlert = parse_json(&body)?;
    let note = text("note", &r.note, MAX_NOTE)?;
    let actor = actor_of(&by, r.actor.as_deref())?;
    const OPEN: &[AlertState] = &[
        AlertState::Pending,
        AlertState::Firing,
        AlertState::Acknowledged,
    ];
    change(
        &state,
        r.alert_id,
        OPEN,
        AlertState::Resolved,
        actor,
        Some(note),
    )
    .await
}

/// The documentation of [`acknowledge`].
pub fn acknowledge_op() -> Op {
    Op::new("acknowledgeAlert", "Acknowledge a firing alert")
        .body::<AcknowledgeAlert>()
        .json::<Alert>(200, "acknowledged")
        .error(400, "empty actor or a malformed body")
        .error(404, "no such alert")
        .error(409, "not firing (pending, acknowledged or resolved)")
}

/// `POST acknowledge-alert/` `{alert_id, actor?, note?}`: someone is on it.
pub async fn acknowledge(
    State(state): State<Ctx>,
    Extension(by): Extension<Principal>,
    body: Bytes,
) -> Result<Json<Alert>, ApiError> {
    let r: AcknowledgeAlert = parse_json(&body)?;
    let actor = actor_of(&by, r.actor.as_deref())?;
    let note = match r.note.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(text("note", n, MAX_NOTE)?),
    };
    change(
        &state,
        r.alert_id,
        &[AlertState::Firing],
        AlertState::Acknowledged,
        actor,
        note,
    )
    .await
}

/// The routes of alerts and their rules: acknowledging and resolving need an
/// operator, rules an admin.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    let one_rule = crate::item(vigie_api::paths::ALERT_RULES);
    r.get(vigie_api::paths::ALERTS, list, list_op())
        .get(&crate::item(vigie_api::paths::ALERTS), read, read_op())
        .change(
            Method::POST,
            vigie_api::paths::RESOLVE_ALERT,
            vigie_api::Role::Operator,
            resolve,
            resolve_op(),
        )
        .change(
            Method::POST,
            vigie_api::paths::ACKNOWLEDGE_ALERT,
            vigie_api::Role::Operator,
            acknowledge,
            acknowledge_op(),
        )
        .get(vigie_api::paths::ALERT_RULES, rules::list, rules::list_op())
        .change(
            Method::POST,
            vigie_api::paths::ALERT_RULES,
            vigie_api::Role::Admin,
            rules::create,
            rules::create_op(),
        )
        .get(&one_rule, rules::read, rules::read_op())
        .change(
            Method::PUT,
            &one_rule,
            vigie_api::Role::Admin,
            rules::replace,
            rules::replace_op(),
        )
        .change(
            Method::DELETE,
            &one_rule,
            vigie_api::Role::Admin,
            rules::delete,
            rules::delete_op(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::parse_query;
    use vigie_api::Severity;

    /// The filter of a query string, as the handler reads it.
    fn q(pairs: &[(&str, &str)]) -> Result<AlertFilter, ApiError> {
        let text = serde_urlencoded::to_string(pairs).expect("encode");
        parse_filter(&parse_query::<AlertsQuery>(&text)?)
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { field, .. } => field.into_owned(),
            other => panic!("not a bad request: {other}"),
        }
    }

    #[test]
    fn filters_are_read_and_bad_ones_named() {
        let f = q(&[("state", "open"), ("severity", "critical,high")]).expect("filter");
        assert_eq!(f.states.len(), 3);
        assert_eq!(f.severities, vec![Severity::Critical, Severity::High]);
        assert_eq!((f.limit, f.offset), (50, 0));
        for (k, v) in [
            ("state", "closed"),
            ("severity", "urgent"),
            ("limit", "0"),
            ("limit", "501"),
            ("offset", "-1"),
            ("from", "yesterday"),
            ("fired", "maybe"),
            ("colour", "red"),
        ] {
            let e = q(&[(k, v)]).expect_err("refused");
            assert_eq!(field_of(e), k, "{k}={v}");
        }
        let e = q(&[("from", "10"), ("to", "5")]).expect_err("refused");
        assert_eq!(field_of(e), "from");
    }

    #[test]
    fn notes_and_actors_are_required_and_bounded() {
        assert_eq!(text("note", "  fixed  ", 10).expect("ok"), "fixed");
        assert_eq!(
            field_of(text("note", "   ", 10).expect_err("empty")),
            "note"
        );
        assert_eq!(
            field_of(text("actor", &"x".repeat(11), 10).expect_err("long")),
            "actor"
        );
    }
}
