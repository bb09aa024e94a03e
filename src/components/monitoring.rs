//! The monitoring switch, on every page: shows whether Vigie is measuring and
//! pauses or resumes it (`stop-monitoring/`, `start-monitoring/`).

use leptos::prelude::*;

use crate::api::ApiClient;
use crate::components::change_error::ChangeError;
use crate::live::LiveHost;

#[component]
pub fn MonitoringSwitch() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let on = move || live.monitoring.get().map(|m| m.monitoring);
    let switch = Action::new_local(move |turn_on: &bool| {
        let client = client.clone();
        let turn_on = *turn_on;
        async move {
            let state = client.set_monitoring(turn_on).await?;
            live.monitoring_changed(state);
            Ok::<_, crate::api::ClientError>(state)
        }
    });
    let error = Signal::derive(move || switch.value().get().and_then(Result::err));
    view! {
        <div class="monitoring" data-testid="monitoring" data-on=move || on().map(|b| b.to_string())>
            <span class="monitoring-state">
                {move || match on() {
                    Some(true) => "Monitoring on",
                    Some(false) => "Monitoring paused",
                    None => "Monitoring …",
                }}
            </span>
            <button
                type="button"
                disabled=move || on().is_none() || switch.pending().get()
                on:click=move |_| {
                    if let Some(current) = on() {
                        switch.dispatch(!current);
                    }
                }
            >
                {move || if on() == Some(false) { "Resume" } else { "Pause" }}
            </button>
            <ChangeError error=error />
        </div>
    }
}
