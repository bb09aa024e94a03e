//! The top bar: name, navigation (only pages that exist) with the count of
//! open alerts, monitoring switch, connection state.

use leptos::prelude::*;
use leptos_router::components::A;

use super::alert_badge::AlertBadge;
use super::connection::ConnectionIndicator;
use super::monitoring::MonitoringSwitch;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">"Vigie"</span>
            <nav aria-label="Main">
                <A href="/" exact=true>"Overview"</A>
                <A href="/targets">"Targets"</A>
                <A href="/endpoints">"Endpoints"</A>
                <A href="/alerts">"Alerts" <AlertBadge /></A>
                <A href="/scaling">"Scaling"</A>
                <A href="/reports">"Reports"</A>
                <A href="/recommendations">"Recommendations"</A>
            </nav>
            <MonitoringSwitch />
            <ConnectionIndicator />
        </header>
    }
}
