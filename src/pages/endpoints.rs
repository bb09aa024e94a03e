//! `/endpoints`: the endpoints of the applications — from the requests they
//! send to `ingest/`, or from the request-duration histograms of a scraped
//! Prometheus target — ranked by p95, error rate or traffic over a range;
//! pick one to see its response-time, throughput and error-rate charts.
//! `?from=&to=&service=&endpoint=` opens it zoomed to that range, on that
//! endpoint of the ingested requests.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{EndpointList, EndpointStats, TargetKind};

use crate::api::{ApiClient, EndpointSort, Scope, sort_label};
use crate::components::range_picker::{Linked, RangePicker, TimeView};
use crate::components::target_picker::TargetPicker;
use crate::live::{LiveHost, ticker};
use crate::pages::response_times::ResponseTimes;

#[component]
pub fn Endpoints() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    // A link to an endpoint's charts opens the page at its range, on it.
    let linked = Linked::from_url();
    let view = TimeView::linked(&linked);
    let sort = RwSignal::new(EndpointSort::P95);
    // Where the ranking comes from: ingested requests (`None`) or the
    // histograms of a Prometheus target.
    let scraped_from = RwSignal::new(None::<i64>);
    // The endpoint opened, with the source it was picked from: it closes
    // when another source is picked.
    let opened = RwSignal::new(
        linked
            .service
            .zip(linked.endpoint)
            .map(|(service, endpoint)| (None::<i64>, service, endpoint)),
    );
    let selected = Signal::derive(move || {
        opened
            .get()
            .filter(|(from, ..)| *from == scraped_from.get())
            .map(|(_, s, e)| (s, e))
    });
    let tick = ticker(Duration::from_secs(1));
    let refresh = view.refresh_key(&live, tick, tick.into());
    let ranking = LocalResource::new(move || {
        refresh.get();
        let window = view.window(1);
        let sort = sort.get();
        let from = scraped_from.get();
        let client = client.clone();
        async move { client.endpoints(&window, sort, from).await }
    });
    let list = Memo::new(
        move |prev: Option<&Option<EndpointList>>| match ranking.get() {
            Some(Ok(l)) => Some(l),
            _ => prev.cloned().flatten(),
        },
    );
    let error = move || match ranking.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let rows = move || list.get().map(|l| l.endpoints).unwrap_or_default();
    let empty =
        Memo::new(move |_| list.with(|l| l.as_ref().is_some_and(|l| l.endpoints.is_empty())));

    let row = move |e: EndpointStats| {
        let key = (e.service.clone(), e.endpoint.clone());
        let is_selected = {
            let key = key.clone();
            move || selected.get().as_ref() == Some(&key)
        };
        view! {
            <tr data-testid="endpoint-row" aria-selected=move || is_selected().to_string()>
                <td>{e.service.clone()}</td>
                <td>{e.method.clone()}</td>
                <th scope="row">
                    <button type="button" class="link" on:click=move |_| opened.set(Some((scraped_from.get_untracked(), key.0.clone(), key.1.clone())))>
                        {e.endpoint.clone()}
                    </button>
                </th>
                <td class="num" data-testid="count">{e.count}</td>
                <td class="num">{format!("{:.1} %", e.error_rate)}</td>
                <td class="num">{format!("{:.0} ms", e.p50)}</td>
                <td class="num" data-testid="p95">{format!("{:.0} ms", e.p95)}</td>
                <td class="num">{format!("{:.0} ms", e.p99)}</td>
            </tr>
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Endpoints"</h1>
                <p class="subtitle">"Requests your applications report, or their Prometheus histograms"</p>
            </header>
            <div class="toolbar">
                <RangePicker view=view />
                <TargetPicker
                    label="Source"
                    none_label="Ingested requests"
                    selected=scraped_from
                    kind=TargetKind::Prometheus
                    suffix=" (scraped)"
                />
                <label>
                    "Rank by "
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(s) = EndpointSort::ALL.into_iter().find(|s| s.as_str() == v) {
                            sort.set(s);
                        }
                    }>
                        {EndpointSort::ALL
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str() selected=move || sort.get() == s>{sort_label(s)}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            {move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {move || {
                if empty.get() {
                    view! {
                        <p class="empty">
                            "No request in this range. Send them with POST /api/performance/ingest/ (see the README)."
                        </p>
                    }
                    .into_any()
                } else {
                    view! {
                        <table class="targets endpoints">
                            <thead>
                                <tr>
                                    <th scope="col">"Service"</th>
                                    <th scope="col">"Method"</th>
                                    <th scope="col">"Endpoint"</th>
                                    <th scope="col" class="num">"Requests"</th>
                                    <th scope="col" class="num">"Errors"</th>
                                    <th scope="col" class="num">"p50"</th>
                                    <th scope="col" class="num">"p95"</th>
                                    <th scope="col" class="num">"p99"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For
                                    each=rows
                                    key=|e| (e.service.clone(), e.method.clone(), e.endpoint.clone(), e.count, e.p95.to_bits(), e.error_rate.to_bits())
                                    children=row
                                />
                            </tbody>
                        </table>
                    }
                    .into_any()
                }
            }}
            {move || selected.get().map(|(service, path)| {
                let scope = match scraped_from.get_untracked() {
                    Some(target) => Scope::Scraped { target, endpoint: path.clone() },
                    None => Scope::Requests { service: service.clone(), endpoint: path.clone() },
                };
                view! {
                    <div class="endpoint-detail">
                        <ResponseTimes view=view endpoint=(scope, format!("{service} · {path}")) />
                    </div>
                }
            })}
        </section>
    }
}
