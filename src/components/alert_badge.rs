//! The count of open alerts in the top bar, coloured by the most severe of
//! them. It is fetched again on each alert transition the stream reports, so
//! it moves without a reload.

use leptos::prelude::*;
use vigie_api::Severity;

use crate::api::{AlertQuery, ApiClient, StateFilter};
use crate::i18n;
use crate::live::LiveHost;

#[derive(Debug)]
struct Text {
    /// After the count, for screen readers.
    open: fn(u64) -> &'static str,
}

const EN: Text = Text { open: |_| " open" };

const FR: Text = Text {
    open: |n| if n > 1 { " ouvertes" } else { " ouverte" },
};

#[component]
pub fn AlertBadge() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = i18n::pick(&EN, &FR);
    let live = expect_context::<LiveHost>();
    // Open alerts come most severe first: the first one tells the colour.
    let open = LocalResource::new(move || {
        live.alerts_seen.get();
        let client = client.clone();
        let query = AlertQuery {
            state: StateFilter::Open,
            limit: 1,
            ..AlertQuery::default()
        };
        async move { client.alerts(&query).await }
    });
    // The last answer stays while the next one loads.
    let shown = Memo::new(
        move |prev: Option<&Option<(u64, Option<Severity>)>>| match open.get() {
            Some(Ok(list)) => Some((list.open_count, list.alerts.first().map(|a| a.severity))),
            _ => prev.cloned().flatten(),
        },
    );
    move || {
        shown.get().map(|(count, worst)| {
            let severity = worst.filter(|_| count > 0).map(Severity::as_str);
            view! {
                <span class="alert-badge" data-testid="alert-badge" data-count=count data-severity=severity>
                    {count}
                </span>
                <span class="visually-hidden">{(t.open)(count)}</span>
            }
        })
    }
}
