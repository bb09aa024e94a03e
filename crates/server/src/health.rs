//! `/livez` (the process answers) and `/readyz` (it can serve real data: the
//! database answers and the sampler has taken a sample since start).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vigie_api::Readiness;

use crate::openapi::Op;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        host: crate::host::HostHub,
    }
}

/// The documentation of [`livez`].
pub fn livez_op() -> Op {
    Op::new("livez", "The process answers").text(200, "text/plain", "ok")
}

pub async fn livez() -> &'static str {
    "ok"
}

/// The documentation of [`readyz`].
pub fn readyz_op() -> Op {
    Op::new(
        "readyz",
        "Database reachable and a sample taken since start",
    )
    .json::<Readiness>(200, "ready")
    .json::<Readiness>(503, "not ready yet")
}

pub async fn readyz(State(state): State<Ctx>) -> (StatusCode, Json<Readiness>) {
    let database = state.store.call(|s| s.ping()).await.is_ok();
    let sampler = state.host.snapshot().live;
    let ready = database && sampler;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready,
            database,
            sampler,
        }),
    )
}

/// The routes of this module, open to all.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.public_get(vigie_api::paths::LIVEZ, livez, livez_op())
        .public_get(vigie_api::paths::READYZ, readyz, readyz_op())
}
