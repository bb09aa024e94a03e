//! A key figure card: label, measured value, one line of detail.

use leptos::prelude::*;

#[component]
pub fn Kpi(
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] detail: Signal<String>,
    /// Whether the value meets its target; unset when it has none.
    #[prop(optional, into)]
    ok: MaybeProp<bool>,
) -> impl IntoView {
    let verdict = move || ok.get().map(|ok| if ok { "met" } else { "missed" });
    view! {
        <div class="kpi" role="group" aria-label=label data-target=verdict>
            <span class="kpi-label">{label}</span>
            <span class="kpi-value">{value}</span>
            <span class="kpi-detail">{detail}</span>
        </div>
    }
}
