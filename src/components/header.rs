//! The top bar: name, navigation (only pages that exist) with the count of
//! open alerts, monitoring switch, connection state.

use leptos::prelude::*;
use leptos_router::components::A;

use super::alert_badge::AlertBadge;
use super::connection::ConnectionIndicator;
use super::monitoring::MonitoringSwitch;
use crate::app_path;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">"Vigie"</span>
            <nav aria-label="Main">
                <A href=app_path("/") exact=true>"Overview"</A>
                <A href=app_path("/targets")>"Targets"</A>
                <A href=app_path("/endpoints")>"Endpoints"</A>
                <A href=app_path("/alerts")>"Alerts" <AlertBadge /></A>
                <A href=app_path("/scaling")>"Scaling"</A>
                <A href=app_path("/reports")>"Reports"</A>
                <A href=app_path("/recommendations")>"Recommendations"</A>
            </nav>
            <MonitoringSwitch />
            <ConnectionIndicator />
        </header>
    }
}
