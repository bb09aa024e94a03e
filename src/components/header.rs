//! The top bar: name, navigation (only pages that exist) with the count of
//! open alerts, monitoring switch, connection state, language.

use leptos::prelude::*;
use leptos_router::components::A;

use super::alert_badge::AlertBadge;
use super::connection::ConnectionIndicator;
use super::monitoring::MonitoringSwitch;
use crate::app_path;
use crate::i18n::{self, Lang, Locale};

#[derive(Debug)]
struct Text {
    main: &'static str,
    overview: &'static str,
    targets: &'static str,
    endpoints: &'static str,
    cache: &'static str,
    slow_queries: &'static str,
    alerts: &'static str,
    scaling: &'static str,
    reports: &'static str,
    recommendations: &'static str,
}

const EN: Text = Text {
    main: "Main",
    overview: "Overview",
    targets: "Targets",
    endpoints: "Endpoints",
    cache: "Cache",
    slow_queries: "Slow queries",
    alerts: "Alerts",
    scaling: "Scaling",
    reports: "Reports",
    recommendations: "Recommendations",
};

const FR: Text = Text {
    main: "Principale",
    overview: "Vue d’ensemble",
    targets: "Cibles",
    endpoints: "Points d’accès",
    cache: "Cache",
    slow_queries: "Requêtes lentes",
    alerts: "Alertes",
    scaling: "Mise à l’échelle",
    reports: "Rapports",
    recommendations: "Recommandations",
};

#[component]
pub fn Header() -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    view! {
        <header class="topbar">
            <span class="brand">"Vigie"</span>
            <nav aria-label=t.main>
                <A href=app_path("/") exact=true>{t.overview}</A>
                {nav_link("/targets", t.targets)}
                {nav_link("/endpoints", t.endpoints)}
                {nav_link("/cache", t.cache)}
                {nav_link("/slow-queries", t.slow_queries)}
                <A href=app_path("/alerts")>{t.alerts} <AlertBadge /></A>
                {nav_link("/scaling", t.scaling)}
                {nav_link("/reports", t.reports)}
                {nav_link("/recommendations", t.recommendations)}
            </nav>
            <MonitoringSwitch />
            <ConnectionIndicator />
            <LangSwitch />
        </header>
    }
}

/// A link of the navigation: one function for them all, so that their code
/// exists once.
fn nav_link(path: &'static str, text: &'static str) -> impl IntoView {
    view! { <A href=app_path(path)>{text}</A> }
}

/// English or French, for this tab (and the next visit, stand-alone).
#[component]
fn LangSwitch() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let current = locale.0.get_untracked();
    view! {
        <select
            class="lang-switch"
            aria-label=i18n::common().language
            data-testid="lang-switch"
            on:change=move |ev| {
                let tag = event_target_value(&ev);
                if let Some(lang) = Lang::ALL.into_iter().find(|l| l.tag() == tag) {
                    crate::save_lang(lang);
                    locale.0.set(lang);
                }
            }
        >
            <option value="en" selected=current == Lang::En>"English"</option>
            <option value="fr" selected=current == Lang::Fr>"Français"</option>
        </select>
    }
}
