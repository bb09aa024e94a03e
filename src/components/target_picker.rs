//! A `<select>` of targets: a first choice standing for none of them, then
//! the targets (of one kind, when asked), refreshed every 10 s so that new
//! ones appear without a reload.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{TargetKind, TargetSummaryList, paths};

use crate::api::{ApiClient, Fetched};
use crate::live::ticker;

/// The targets, fetched every 10 s for the whole app: the pickers and the
/// overview's response-time section read the same list.
#[derive(Debug, Clone, Copy)]
pub struct Targets(pub Fetched<TargetSummaryList>);

impl Targets {
    pub fn start() -> Self {
        let client = expect_context::<ApiClient>();
        let tick = ticker(Duration::from_secs(10));
        Targets(Fetched::new(move || {
            tick.track();
            Ok(Some(client.url(paths::TARGETS)))
        }))
    }
}

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
    let targets = expect_context::<Targets>().0;
    let options = move || match targets.get() {
        Some(list) => list
            .targets
            .into_iter()
            .filter(|t| kind.is_none_or(|k| t.kind == k))
            .map(|t| {
                let id = t.id;
                view! {
                    <option value=id.to_string() selected=move || selected.get() == Some(id)>
                        {format!("{}{suffix}", t.name)}
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
