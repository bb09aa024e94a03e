//! An alert's severity as a coloured chip; the colour comes from the theme's
//! `--severity-*` variables through `data-severity`.

use leptos::prelude::*;
use vigie_api::Severity;

use crate::i18n;

#[component]
pub fn SeverityChip(#[prop(into)] severity: Signal<Severity>) -> impl IntoView {
    let word = move || severity.get().as_str();
    let name = move || i18n::severity_label(severity.get());
    view! { <span class="severity" data-severity=word>{name}</span> }
}
