//! An alert's severity as a coloured chip; the colour comes from the theme's
//! `--severity-*` variables through `data-severity`.

use leptos::prelude::*;
use vigie_api::Severity;

#[component]
pub fn SeverityChip(#[prop(into)] severity: Signal<Severity>) -> impl IntoView {
    let name = move || severity.get().as_str();
    view! { <span class="severity" data-severity=name>{name}</span> }
}
