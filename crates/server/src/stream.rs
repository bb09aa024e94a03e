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

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use crate::AppState;
use crate::error::ApiError;
use crate::events::LiveEvent;

fn sse(e: &LiveEvent) -> Event {
    Event::default()
        .event(e.kind)
        .id(e.id.to_string())
        .data(e.data.as_str())
}

/// `?ticket=` (read by the guard) and `?last_event_id=`: a new
/// `EventSource`, opened with a fresh ticket, cannot send `Last-Event-ID`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    #[serde(default)]
    pub last_event_id: Option<String>,
    #[serde(default)]
    pub ticket: Option<String>,
}

fn last_event_id(headers: &HeaderMap, query: &StreamQuery) -> Result<Option<i64>, ApiError> {
    let (field, text) = match headers.get("last-event-id") {
        Some(value) => ("Last-Event-ID", value.to_str().unwrap_or("").trim()),
        None => match query.last_event_id.as_deref() {
            Some(text) => ("last_event_id", text.trim()),
            None => return Ok(None),
        },
    };
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(
            field,
            format!("{field} must be an event id sent by this server"),
        )
    })
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let query = query.map(|q| q.0).unwrap_or_default();
    let resume_after = last_event_id(&headers, &query)?;
    // Held by the stream: released when the client goes.
    let slot = state.streams().take()?;
    let (live, missed) = state.events().subscribe(resume_after);
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
    let shutdown = state.shutdown().clone();
    let events = replay
        .chain(live)
        .take_until(async move { shutdown.cancelled().await })
        .map(move |e| {
            let _held = &slot;
            e
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
