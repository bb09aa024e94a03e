//! A key figure card: label, measured value, one line of detail.

use leptos::prelude::*;

#[component]
pub fn Kpi(
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] detail: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="kpi" role="group" aria-label=label>
            <span class="kpi-label">{label}</span>
            <span class="kpi-value">{value}</span>
            <span class="kpi-detail">{detail}</span>
        </div>
    }
}
