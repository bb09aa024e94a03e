//! A `<select>` of targets: a first choice standing for none of them, then
//! the targets (of one kind, when asked), refreshed every 10 s so that new
//! ones appear without a reload.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::TargetKind;

use crate::api::ApiClient;
use crate::live::ticker;

#[component]
pub fn TargetPicker(
    /// The visible label, also the select's accessible name.
    label: &'static str,
    /// The first choice, for `None`.
    none_label: &'static str,
    selected: RwSignal<Option<i64>>,
    /// Only targets of this kind.
    #[prop(optional)]
    kind: Option<TargetKind>,
    /// Appended to each target's name.
    #[prop(optional)]
    suffix: &'static str,
    #[prop(optional, into)] class: &'static str,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let tick = ticker(Duration::from_secs(10));
    let targets = LocalResource::new(move || {
        tick.get();
        let client = client.clone();
        async move { client.targets().await }
    });
    let options = move || match targets.get() {
        Some(Ok(list)) => list
            .targets
            .into_iter()
            .filter(|t| kind.is_none_or(|k| t.spec.kind == k))
            .map(|t| {
                let id = t.id;
                view! {
                    <option value=id.to_string() selected=move || selected.get() == Some(id)>
                        {format!("{}{suffix}", t.spec.name)}
                    </option>
                }
            })
            .collect_view()
            .into_any(),
        _ => ().into_any(),
    };
    view! {
        <label class=class>
            {label} " "
            <select on:change=move |ev| selected.set(event_target_value(&ev).parse().ok())>
                <option value="" selected=move || selected.get().is_none()>{none_label}</option>
                {options}
            </select>
        </label>
    }
}
