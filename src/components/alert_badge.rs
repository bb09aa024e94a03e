//! The count of open alerts in the top bar, coloured by the most severe of
//! them. It is fetched again on each alert transition the stream reports, so
//! it moves without a reload.

use leptos::prelude::*;
use vigie_api::{AlertMarkList, Severity, paths};

use crate::api::{AlertQuery, ApiClient, Fetched, StateFilter};
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
    // The last answer stays while the next one loads.
    let open = Fetched::<AlertMarkList>::new(move || {
        live.alerts_seen.track();
        let query = AlertQuery {
            state: StateFilter::Open,
            limit: 1,
            ..AlertQuery::default()
        };
        client.query_url(paths::ALERTS, &query.to_wire()).map(Some)
    });
    move || {
        let shown = open.with(|l| l.map(|l| (l.open_count, l.alerts.first().map(|a| a.severity))));
        shown.map(|(count, worst)| {
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
