//! This host's resources: a collector that reads CPU, memory, disk and network
//! (sysinfo), the sampler task that runs it once per interval, and the
//! `system-resources` endpoint. Requests never touch sysinfo: they serve the
//! snapshot the last tick computed, already serialised.

mod collector;
mod sampler;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
pub use collector::HostCollector;
pub use sampler::{HostHub, HostSnapshot, SamplerDeps, spawn_sampler};

use crate::AppState;

/// How many recent samples the API and the stream's replay keep in memory
/// (5 minutes at the default 1 s interval).
pub const SERIES_LEN: usize = 300;

/// `GET /api/performance/system-resources/`
pub async fn system_resources(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.host().snapshot().body.clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}
