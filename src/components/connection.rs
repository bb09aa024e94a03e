//! The connection indicator: live, reconnecting or offline, and how long ago
//! the last sample arrived (measured on the browser's own clock, so a server
//! whose clock is off does not make it lie).

use std::time::Duration;

use leptos::prelude::*;

use crate::api::Connection;
use crate::format;
use crate::i18n;
use crate::live::{LiveHost, now_ms};

#[derive(Debug)]
struct Text {
    connecting: &'static str,
    live: &'static str,
    reconnecting: &'static str,
    offline: &'static str,
    last_sample: fn(&str) -> String,
    no_sample: &'static str,
}

const EN: Text = Text {
    connecting: "connecting",
    live: "live",
    reconnecting: "reconnecting",
    offline: "offline",
    last_sample: |age| format!("last sample {age} ago"),
    no_sample: "no sample yet",
};

const FR: Text = Text {
    connecting: "connexion",
    live: "en direct",
    reconnecting: "reconnexion",
    offline: "hors ligne",
    last_sample: |age| format!("dernier échantillon il y a {age}"),
    no_sample: "aucun échantillon pour l’instant",
};

impl Text {
    /// The state as a person reads it (`data-state` keeps [`Connection::label`]).
    fn state(&self, c: Connection) -> &'static str {
        match c {
            Connection::Connecting => self.connecting,
            Connection::Live => self.live,
            Connection::Reconnecting => self.reconnecting,
            Connection::Offline => self.offline,
        }
    }
}

#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let live = expect_context::<LiveHost>();
    let now = RwSignal::new(now_ms());
    if let Ok(handle) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    let t = i18n::pick(&EN, &FR);
    let state = move || live.connection.get().label();
    let shown = move || t.state(live.connection.get());
    let age = move || {
        live.last_arrival_ms
            .get()
            .map(|at| (t.last_sample)(&format::age((now.get() - at) / 1000.0)))
            .unwrap_or_else(|| t.no_sample.into())
    };
    view! {
        <div class="connection" data-testid="connection" data-state=state>
            <span class="connection-dot" aria-hidden="true"></span>
            <span class="connection-state" role="status">{shown}</span>
            <span class="connection-age">{age}</span>
        </div>
    }
}
