//! Monitoring on or off: the seed's `start-monitoring/` and `stop-monitoring/`.
//! While off, the host sampler and the probes take no measurement. The state is
//! stored, so it survives a restart, and pushed on the live stream.

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use tokio::sync::watch;
use vigie_api::{MONITORING_EVENT, MonitoringState};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::Op;
use crate::store::{Store, StoreError};

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        monitoring: crate::monitoring::Monitoring,
        events: crate::events::EventHub,
    }
}

const KEY_ON: &str = "monitoring";
const KEY_CHANGED: &str = "monitoring_changed_at_ms";

#[derive(Debug, Clone)]
pub struct Monitoring {
    tx: Arc<watch::Sender<MonitoringState>>,
}

impl Monitoring {
    /// Reads the stored state (on, when never set).
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let monitoring = store.setting(KEY_ON)?.is_none_or(|v| v != "off");
        let changed_at_ms = store.setting(KEY_CHANGED)?.and_then(|v| v.parse().ok());
        let (tx, _) = watch::channel(MonitoringState {
            monitoring,
            changed_at_ms,
        });
        Ok(Monitoring { tx: Arc::new(tx) })
    }

    pub fn is_on(&self) -> bool {
        self.tx.borrow().monitoring
    }

    pub fn state(&self) -> MonitoringState {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<MonitoringState> {
        self.tx.subscribe()
    }
}

async fn set(state: &Ctx, on: bool, by: &Principal) -> Result<MonitoringState, ApiError> {
    let now = crate::now_ms();
    state
        .store
        .call(move |s| {
            s.set_setting(KEY_ON, if on { "on" } else { "off" })?;
            s.set_setting(KEY_CHANGED, &now.to_string())
        })
        .await?;
    let new = MonitoringState {
        monitoring: on,
        changed_at_ms: Some(now),
    };
    state.monitoring.tx.send_replace(new);
    state.events.publish(MONITORING_EVENT, now, &new);
    let by = by.name.as_deref().unwrap_or("local");
    tracing::info!(monitoring = on, by, "monitoring switched");
    Ok(new)
}

/// Runs `pass` every `interval` while monitoring is on, until shutdown
/// (the alert evaluator, automatic scaling); a failed pass is logged as
/// `what` and the next one runs on time.
pub async fn every_tick_while_on<F, Fut, E>(
    state: crate::AppState,
    interval: std::time::Duration,
    what: &'static str,
    pass: F,
) where
    F: Fn(crate::AppState, i64) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown().cancelled() => break,
        }
        if !state.monitoring().is_on() {
            continue;
        }
        if let Err(e) = pass(state.clone(), crate::now_ms()).await {
            tracing::error!(error = %e, "{what} failed");
        }
    }
}

/// The documentation of [`get_state`].
pub fn get_state_op() -> Op {
    Op::new("monitoring", "Whether monitoring is on").json::<MonitoringState>(200, "state")
}

/// `GET /api/performance/monitoring/`
pub async fn get_state(State(state): State<Ctx>) -> Json<MonitoringState> {
    Json(state.monitoring.state())
}

/// The documentation of [`start`].
pub fn start_op() -> Op {
    Op::new(
        "startMonitoring",
        "Resume measuring (host and probes); stored",
    )
    .json::<MonitoringState>(200, "new state")
}

/// `POST /api/performance/start-monitoring/`
pub async fn start(
    State(state): State<Ctx>,
    Extension(by): Extension<Principal>,
) -> Result<Json<MonitoringState>, ApiError> {
    set(&state, true, &by).await.map(Json)
}

/// The documentation of [`stop`].
pub fn stop_op() -> Op {
    Op::new(
        "stopMonitoring",
        "Pause measuring (host and probes); stored, survives restarts",
    )
    .json::<MonitoringState>(200, "new state")
}

/// `POST /api/performance/stop-monitoring/`
pub async fn stop(
    State(state): State<Ctx>,
    Extension(by): Extension<Principal>,
) -> Result<Json<MonitoringState>, ApiError> {
    set(&state, false, &by).await.map(Json)
}

/// The routes of this module: pausing and resuming need an operator.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.get(vigie_api::paths::MONITORING, get_state, get_state_op())
        .change(
            Method::POST,
            vigie_api::paths::START_MONITORING,
            vigie_api::Role::Operator,
            start,
            start_op(),
        )
        .change(
            Method::POST,
            vigie_api::paths::STOP_MONITORING,
            vigie_api::Role::Operator,
            stop,
            stop_op(),
        )
}
