//! The connection indicator: live, reconnecting or offline, and how long ago
//! the last sample arrived (measured on the browser's own clock, so a server
//! whose clock is off does not make it lie).

use std::time::Duration;

use leptos::prelude::*;

use crate::format;
use crate::live::{LiveHost, now_ms};

#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let live = expect_context::<LiveHost>();
    let now = RwSignal::new(now_ms());
    if let Ok(handle) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    let state = move || live.connection.get().label();
    let age = move || {
        live.last_arrival_ms
            .get()
            .map(|t| format!("last sample {} ago", format::age((now.get() - t) / 1000.0)))
            .unwrap_or_else(|| "no sample yet".into())
    };
    view! {
        <div class="connection" data-testid="connection" data-state=state>
            <span class="connection-dot" aria-hidden="true"></span>
            <span class="connection-state" role="status">{state}</span>
            <span class="connection-age">{age}</span>
        </div>
    }
}
