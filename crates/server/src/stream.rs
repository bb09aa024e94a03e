//! `GET /api/performance/stream/`: Server-Sent Events from the [`EventHub`]:
//! `sample` (host), `probe` (one probe result) and `monitoring` (state change).
//! A client that reconnects with `Last-Event-ID` first gets the events it
//! missed that are still held, then the live ones, none twice. The stream ends
//! when the server shuts down, so a graceful shutdown never waits on open
//! dashboards.
//!
//! [`EventHub`]: crate::events::EventHub

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use vigie_api::StreamQuery;

use crate::error::{ApiError, ApiQuery};
use crate::events::LiveEvent;
use crate::openapi::Op;
use vigie_api::{
    ALERT_EVENT, Alert, HostSample, MONITORING_EVENT, MonitoringState, PROBE_EVENT, ProbeResult,
    SAMPLE_EVENT,
};

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        events: crate::events::EventHub,
        shutdown: tokio_util::sync::CancellationToken,
        streams: crate::limits::StreamSlots,
    }
}

fn sse(e: &LiveEvent) -> Event {
    Event::default()
        .event(e.kind)
        .id(e.id.to_string())
        .data(e.data.as_str())
}

/// `Last-Event-ID`, or `?last_event_id=` (a new `EventSource`, opened with
/// a fresh ticket, cannot send the header).
fn last_event_id(headers: &HeaderMap, query: &StreamQuery) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(query.last_event_id);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(query.last_event_id);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(
            "Last-Event-ID",
            "Last-Event-ID must be an event id sent by this server",
        )
    })
}

/// The documentation of [`stream`].
pub fn stream_op() -> Op {
    Op::new(
        "stream",
        "Server-Sent Events: `sample` (HostSample), `probe` (ProbeResult), `monitoring` (MonitoringState), `alert` (Alert, after each transition); ids only grow",
    )
    .header(
        "Last-Event-ID",
        "resume after this event id: missed events still held in memory are sent first",
    )
    .query::<StreamQuery>()
    .events(
        200,
        "events `sample`, `probe`, `monitoring`, `alert`, `scaling`, `instances`, `report`; the data of each is the JSON of its schema in x-vigie-events",
    )
    .event::<HostSample>(SAMPLE_EVENT)
    .event::<ProbeResult>(PROBE_EVENT)
    .event::<MonitoringState>(MONITORING_EVENT)
    .event::<Alert>(ALERT_EVENT)
    .event::<vigie_api::ScalingAction>(vigie_api::SCALING_EVENT)
    .event::<vigie_api::InstancesEvent>(vigie_api::INSTANCES_EVENT)
    .event::<vigie_api::ReportInfo>(vigie_api::REPORT_EVENT)
    .event::<vigie_api::ReportDeleted>(vigie_api::REPORT_DELETED_EVENT)
    .error(400, "Last-Event-ID is not an event id")
    .error(
        503,
        "too many live streams open; Retry-After says when to try again",
    )
}

pub async fn stream(
    State(state): State<Ctx>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume_after = last_event_id(&headers, &query)?;
    // Held by the stream: released when the client goes.
    let slot = state.streams.take()?;
    let (live, missed) = state.events.subscribe(resume_after);
    let mut last_sent = missed
        .last()
        .map(|e| e.id)
        .or(resume_after)
        .unwrap_or(i64::MIN);
    let replay = stream::iter(missed).map(|e| Ok(sse(&e)));
    let live = BroadcastStream::new(live).filter_map(move |item| {
        let event = match item {
            Ok(e) if e.id > last_sent => {
                last_sent = e.id;
                Some(Ok(sse(&e)))
            }
            // Already replayed, or this client fell behind the channel: it
            // resumes with the next event (a reconnect would fill the hole).
            Ok(_) | Err(_) => None,
        };
        std::future::ready(event)
    });
    let shutdown = state.shutdown.clone();
    let events = replay
        .chain(live)
        .take_until(async move { shutdown.cancelled().await })
        .map(move |e| {
            let _held = &slot;
            e
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The route of this module: a reader's, opened with a ticket or a token.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.ticket_get(vigie_api::paths::STREAM, stream, stream_op())
}
