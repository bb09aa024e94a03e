//! The monitoring switch, on every page: shows whether Vigie is measuring and
//! pauses or resumes it (`stop-monitoring/`, `start-monitoring/`).

use leptos::prelude::*;

use crate::api::ApiClient;
use crate::components::change_error::ChangeError;
use crate::i18n;
use crate::live::LiveHost;

#[derive(Debug)]
struct Text {
    on: &'static str,
    paused: &'static str,
    unknown: &'static str,
    resume: &'static str,
    pause: &'static str,
}

const EN: Text = Text {
    on: "Monitoring on",
    paused: "Monitoring paused",
    unknown: "Monitoring …",
    resume: "Resume",
    pause: "Pause",
};

const FR: Text = Text {
    on: "Surveillance active",
    paused: "Surveillance en pause",
    unknown: "Surveillance …",
    resume: "Reprendre",
    pause: "Mettre en pause",
};

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
    let t = i18n::pick(&EN, &FR);
    view! {
        <div class="monitoring" data-testid="monitoring" data-on=move || on().map(|b| b.to_string())>
            <span class="monitoring-state">
                {move || match on() {
                    Some(true) => t.on,
                    Some(false) => t.paused,
                    None => t.unknown,
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
                {move || if on() == Some(false) { t.resume } else { t.pause }}
            </button>
            <ChangeError error=error />
        </div>
    }
}
