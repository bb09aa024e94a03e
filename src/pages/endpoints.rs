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
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    endpoints: &'static str,
    subtitle: &'static str,
    source: &'static str,
    ingested: &'static str,
    scraped_suffix: &'static str,
    rank_by: &'static str,
    /// A ranking's option text.
    sort: fn(EndpointSort) -> &'static str,
    empty: &'static str,
    service: &'static str,
    method: &'static str,
    endpoint: &'static str,
    requests: &'static str,
    errors: &'static str,
}

const EN: Text = Text {
    endpoints: "Endpoints",
    subtitle: "Requests your applications report, or their Prometheus histograms",
    source: "Source",
    ingested: "Ingested requests",
    scraped_suffix: " (scraped)",
    rank_by: "Rank by ",
    sort: sort_label,
    empty: "No request in this range. Send them with POST /api/performance/ingest/ (see the README).",
    service: "Service",
    method: "Method",
    endpoint: "Endpoint",
    requests: "Requests",
    errors: "Errors",
};

const FR: Text = Text {
    endpoints: "Points d’accès",
    subtitle: "Requêtes que signalent vos applications, ou leurs histogrammes Prometheus",
    source: "Source",
    ingested: "Requêtes ingérées",
    scraped_suffix: " (collectée)",
    rank_by: "Classer par ",
    sort: |s| match s {
        EndpointSort::P95 => "les plus lents (p95)",
        EndpointSort::ErrorRate => "le plus d’erreurs",
        EndpointSort::Count => "les plus sollicités",
    },
    empty: "Aucune requête sur cette période. Envoyez-les avec POST /api/performance/ingest/ (voir le README).",
    service: "Service",
    method: "Méthode",
    endpoint: "Point d’accès",
    requests: "Requêtes",
    errors: "Erreurs",
};

#[component]
pub fn Endpoints() -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
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
                <td class="num">{format!("{} %", format::fixed(e.error_rate, 1))}</td>
                <td class="num">{format!("{} ms", format::fixed(e.p50, 0))}</td>
                <td class="num" data-testid="p95">{format!("{} ms", format::fixed(e.p95, 0))}</td>
                <td class="num">{format!("{} ms", format::fixed(e.p99, 0))}</td>
            </tr>
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{t.endpoints}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            <div class="toolbar">
                <RangePicker view=view />
                <TargetPicker
                    label=t.source
                    none_label=t.ingested
                    selected=scraped_from
                    kind=TargetKind::Prometheus
                    suffix=t.scraped_suffix
                />
                <label>
                    {t.rank_by}
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(s) = EndpointSort::ALL.into_iter().find(|s| s.as_str() == v) {
                            sort.set(s);
                        }
                    }>
                        {EndpointSort::ALL
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str() selected=move || sort.get() == s>{(t.sort)(s)}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            {move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {move || {
                if empty.get() {
                    view! {
                        <p class="empty">{t.empty}</p>
                    }
                    .into_any()
                } else {
                    view! {
                        <table class="targets endpoints">
                            <thead>
                                <tr>
                                    <th scope="col">{t.service}</th>
                                    <th scope="col">{t.method}</th>
                                    <th scope="col">{t.endpoint}</th>
                                    <th scope="col" class="num">{t.requests}</th>
                                    <th scope="col" class="num">{t.errors}</th>
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
