//! `GET /api/performance/stream/`: Server-Sent Events. Each `sample` event is one
//! new host sample, its id the sample's timestamp. A client that reconnects with
//! `Last-Event-ID` first gets the samples it missed that are still in memory,
//! then the live ones, without duplicates. The stream ends when the server shuts
//! down, so a graceful shutdown never waits on open dashboards.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use vigie_api::{HostSample, SAMPLE_EVENT};

use crate::AppState;
use crate::error::ApiError;

fn sample_event(sample: &HostSample, data: String) -> Event {
    Event::default()
        .event(SAMPLE_EVENT)
        .id(sample.ts_ms.to_string())
        .data(data)
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(
            "Last-Event-ID",
            "Last-Event-ID must be an event id sent by this server (a sample timestamp in ms)",
        )
    })
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume_after = last_event_id(&headers)?;
    // Subscribe before reading the snapshot: a sample published in between is
    // then seen twice (and dropped below), never missed.
    let live = BroadcastStream::new(state.host().subscribe());
    let snapshot = state.host().snapshot();
    let replay: Vec<_> = match resume_after {
        Some(after) => snapshot
            .samples
            .iter()
            .filter(|s| s.ts_ms > after)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let mut last_sent = replay
        .last()
        .map(|s| s.ts_ms)
        .or(resume_after)
        .unwrap_or(i64::MIN);
    let replay = stream::iter(replay).map(|s| {
        let data = serde_json::to_string(&s).unwrap_or_default();
        Ok(sample_event(&s, data))
    });
    let live = live.filter_map(move |item| {
        let event = match item {
            Ok(e) if e.sample.ts_ms > last_sent => {
                last_sent = e.sample.ts_ms;
                Some(Ok(sample_event(&e.sample, e.data.clone())))
            }
            // Already replayed, or this client fell behind the channel: it
            // resumes with the next sample (a reconnect would fill the hole).
            Ok(_) | Err(_) => None,
        };
        std::future::ready(event)
    });
    let shutdown = state.shutdown().clone();
    let events = replay
        .chain(live)
        .take_until(async move { shutdown.cancelled().await });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
