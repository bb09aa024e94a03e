//! The live stream: an `EventSource` on the server's SSE endpoint, carrying
//! host samples, probe results, monitoring changes, alert transitions,
//! finished scaling actions, changed instance counts and reports' progress. The browser
//! reconnects by itself after a dropped connection (and sends `Last-Event-ID`,
//! so the server replays what was missed); when the browser gives up (the
//! server answered with an error), this module opens a new one after a growing
//! wait.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use vigie_api::{
    ALERT_EVENT, HostSample, INSTANCES_EVENT, InstancesEvent, MONITORING_EVENT, MonitoringState,
    PROBE_EVENT, ProbeResult, REPORT_DELETED_EVENT, REPORT_EVENT, ReportDeleted, SAMPLE_EVENT,
    SCALING_EVENT, StreamQuery, paths,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventSource, MessageEvent};

use super::ApiClient;
use crate::json::{self, Raw};

/// State of the live connection as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// First connection under way.
    Connecting,
    /// Connected; samples arrive.
    Live,
    /// Connection lost; the browser is retrying.
    Reconnecting,
    /// The server refused or is gone; a new attempt is scheduled.
    Offline,
}

impl Connection {
    /// The state's word, for `data-state`; the indicator shows a person the
    /// state in the current language.
    pub fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
            Connection::Offline => "offline",
        }
    }
}

/// What to do with each kind of event.
pub struct StreamHandlers {
    pub on_sample: Box<dyn Fn(HostSample)>,
    pub on_probe: Box<dyn Fn(ProbeResult)>,
    pub on_monitoring: Box<dyn Fn(MonitoringState)>,
    /// An alert (`Alert`) after one of its transitions (pending, firing,
    /// acknowledged, resolved), as JSON: the shell tells the portal and
    /// refetches what it shows (see `on_scaling`).
    pub on_alert: Box<dyn Fn(Raw)>,
    /// A scaling action (`ScalingAction`), as JSON: the shell only tells
    /// the portal, and the scaling page refetches; decoding it here would
    /// put its decoder in the first download.
    pub on_scaling: Box<dyn Fn(Raw)>,
    /// A configuration's instance counts, when they changed.
    pub on_instances: Box<dyn Fn(InstancesEvent)>,
    /// A report (`ReportInfo`) queued, at each step of its generation, and
    /// at its end, as JSON: the reports page decodes it (see `on_scaling`).
    pub on_report: Box<dyn Fn(Raw)>,
    /// A report deleted (by anyone).
    pub on_report_deleted: Box<dyn Fn(ReportDeleted)>,
    pub on_state: Box<dyn Fn(Connection)>,
}

impl std::fmt::Debug for StreamHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamHandlers")
    }
}

struct Handlers {
    client: ApiClient,
    url: String,
    on: StreamHandlers,
    failures: Cell<u32>,
    /// Id of the last event received: a new connection resumes after it.
    last_event_id: RefCell<Option<String>>,
}

struct Open {
    source: EventSource,
    _on_events: Vec<Closure<dyn FnMut(MessageEvent)>>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// A live subscription; closes when dropped.
pub struct LiveStream {
    inner: Rc<Inner>,
}

struct Inner {
    handlers: Handlers,
    open: RefCell<Option<Open>>,
}

impl std::fmt::Debug for LiveStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleStream")
            .field("url", &self.inner.handlers.url)
            .finish()
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl LiveStream {
    /// Opens the stream; each handler gets its kind of event.
    pub fn connect(client: &ApiClient, on: StreamHandlers) -> Self {
        let inner = Rc::new(Inner {
            handlers: Handlers {
                client: client.clone(),
                url: client.url(paths::STREAM),
                on,
                failures: Cell::new(0),
                last_event_id: RefCell::new(None),
            },
            open: RefCell::new(None),
        });
        open(&inner);
        LiveStream { inner }
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        self.inner.open.borrow_mut().take();
    }
}

/// Gets a ticket, then opens the stream with it. Each connection needs a new
/// ticket (one use each), so this module reconnects by itself rather than
/// letting the browser retry with a spent one.
fn open(inner: &Rc<Inner>) {
    (inner.handlers.on.on_state)(Connection::Connecting);
    let weak = Rc::downgrade(inner);
    let client = inner.handlers.client.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let ticket = client.stream_ticket().await;
        let Some(inner) = weak.upgrade() else { return };
        match ticket {
            Ok(t) => open_with(&inner, &t.ticket),
            Err(_) => schedule_retry(&inner),
        }
    });
}

fn open_with(inner: &Rc<Inner>, ticket: &str) {
    let query = StreamQuery {
        ticket: Some(ticket.to_owned()),
        last_event_id: inner
            .handlers
            .last_event_id
            .borrow()
            .as_deref()
            .and_then(|id| id.parse().ok()),
    };
    let url = format!(
        "{}?{}",
        inner.handlers.url,
        serde_urlencoded::to_string(&query).unwrap_or_default()
    );
    let source = match EventSource::new(&url) {
        Ok(s) => s,
        Err(_) => {
            schedule_retry(inner);
            return;
        }
    };
    let weak = Rc::downgrade(inner);
    let on_events = vec![
        listen(&source, SAMPLE_EVENT, &weak, |h, t| {
            decoded(&h.on_sample, t)
        }),
        listen(&source, PROBE_EVENT, &weak, |h, t| decoded(&h.on_probe, t)),
        listen(&source, MONITORING_EVENT, &weak, |h, t| {
            decoded(&h.on_monitoring, t)
        }),
        listen(&source, ALERT_EVENT, &weak, |h, t| {
            (h.on_alert)(Raw::new(t));
            Ok(())
        }),
        listen(&source, SCALING_EVENT, &weak, |h, t| {
            (h.on_scaling)(Raw::new(t));
            Ok(())
        }),
        listen(&source, INSTANCES_EVENT, &weak, |h, t| {
            decoded(&h.on_instances, t)
        }),
        listen(&source, REPORT_EVENT, &weak, |h, t| {
            (h.on_report)(Raw::new(t));
            Ok(())
        }),
        listen(&source, REPORT_DELETED_EVENT, &weak, |h, t| {
            decoded(&h.on_report_deleted, t)
        }),
    ];
    let on_open = Closure::<dyn FnMut(Event)>::new({
        let weak = weak.clone();
        move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.handlers.failures.set(0);
                (inner.handlers.on.on_state)(Connection::Live);
            }
        }
    });
    let on_error = Closure::<dyn FnMut(Event)>::new({
        let weak: Weak<Inner> = weak;
        move |e: Event| {
            let Some(inner) = weak.upgrade() else { return };
            // The browser would retry with the spent ticket: close this
            // source and open a new one with a new ticket instead.
            if let Some(s) = e.target().and_then(|t| t.dyn_into::<EventSource>().ok()) {
                s.close();
            }
            (inner.handlers.on.on_state)(Connection::Reconnecting);
            schedule_retry(&inner);
        }
    });
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    *inner.open.borrow_mut() = Some(Open {
        source,
        _on_events: on_events,
        _on_open: on_open,
        _on_error: on_error,
    });
}

/// Hands `text`, decoded, to `handler`.
fn decoded<T: serde::de::DeserializeOwned>(handler: &dyn Fn(T), text: &str) -> Result<(), String> {
    handler(json::from_str(text)?);
    Ok(())
}

/// Listens to `name` events, handing each one's JSON text to `deliver`
/// (which decodes it for its handler, or says why it cannot).
fn listen(
    source: &EventSource,
    name: &str,
    weak: &Weak<Inner>,
    deliver: fn(&StreamHandlers, &str) -> Result<(), String>,
) -> Closure<dyn FnMut(MessageEvent)> {
    let weak = weak.clone();
    let event = name.to_owned();
    let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        let Some(text) = e.data().as_string() else {
            return;
        };
        let id = e.last_event_id();
        if !id.is_empty() {
            *inner.handlers.last_event_id.borrow_mut() = Some(id);
        }
        if let Err(err) = deliver(&inner.handlers.on, &text) {
            web_sys::console::warn_1(&format!("bad {event} event: {err}").into());
        }
    });
    let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
    closure
}

/// Opens a new `EventSource` soon after a first failure (a dropped
/// connection), then after 1, 2, 4 … 30 s, reporting offline from the second
/// failure in a row. Runs from a timer, never from inside the old source's
/// own callback, so the old closures are not dropped while they run.
fn schedule_retry(inner: &Rc<Inner>) {
    let failures = inner.handlers.failures.get();
    inner.handlers.failures.set(failures.saturating_add(1));
    let wait = match failures {
        0 => Duration::from_millis(250),
        n => {
            (inner.handlers.on.on_state)(Connection::Offline);
            Duration::from_secs(1u64 << (n - 1).min(5)).min(MAX_BACKOFF)
        }
    };
    let weak = Rc::downgrade(inner);
    leptos::prelude::set_timeout(
        move || {
            if let Some(inner) = weak.upgrade() {
                inner.open.borrow_mut().take();
                open(&inner);
            }
        },
        wait,
    );
}
