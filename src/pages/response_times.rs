//! Response times against the SLI targets, with charts of response time (avg,
//! p95, p99), throughput and error rate over a picked range: of the probes
//! (the overview, all targets or one) or of one endpoint's ingested requests
//! (the endpoints page). Drag across a chart to zoom in. The response-time and
//! error-rate charts mark where the alerts of the rules watching that scope
//! started and ended.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{AlertMetric, MetricsResponse, paths, sli};

use crate::api::{ApiClient, Fetched, Scope};
use crate::components::alert_markers::{AlertsInView, in_scope};
use crate::components::chart::{Line, TimeSeriesChart};
use crate::components::kpi::Kpi;
use crate::components::range_picker::{RangePicker, TimeView};
use crate::components::target_picker::{TargetPicker, Targets};
use crate::live::{LiveHost, ticker};
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    response_times: &'static str,
    requests: &'static str,
    probes: &'static str,
    source_scraped: &'static str,
    source_ingested: &'static str,
    /// The probes of one target, by name.
    source_probes_of: fn(&str) -> String,
    one_target: &'static str,
    source_all_probes: &'static str,
    target: &'static str,
    all_targets: &'static str,
    availability: &'static str,
    error_rate: &'static str,
    average: &'static str,
    /// An SLI objective: at least, at most.
    at_least: fn(String, &str) -> String,
    at_most: fn(String, &str) -> String,
    response_time: &'static str,
    avg: &'static str,
    errors: &'static str,
    requests_per_s: &'static str,
    probes_per_s: &'static str,
    requests_latency_chart: &'static str,
    probes_latency_chart: &'static str,
    throughput: &'static str,
    requests_throughput_chart: &'static str,
    probes_throughput_chart: &'static str,
    requests_errors_chart: &'static str,
    probes_errors_chart: &'static str,
}

const EN: Text = Text {
    response_times: "Response times",
    requests: "requests",
    probes: "probes",
    source_scraped: "Source: Prometheus histograms of the scraped target",
    source_ingested: "Source: requests reported by the application (ingest API)",
    source_probes_of: |name| format!("Source: Vigie's HTTP probes of {name}"),
    one_target: "one target",
    source_all_probes: "Source: Vigie's HTTP probes of all targets",
    target: "Target",
    all_targets: "All targets",
    availability: "Availability",
    error_rate: "Error rate",
    average: "Average",
    at_least: |v, unit| format!("target ≥ {v} {unit}"),
    at_most: |v, unit| format!("target ≤ {v} {unit}"),
    response_time: "Response time",
    avg: "avg",
    errors: "errors",
    requests_per_s: "requests/s",
    probes_per_s: "probes/s",
    requests_latency_chart: "Response time of the requests, milliseconds: average, p95 and p99",
    probes_latency_chart: "Response time of the probes, milliseconds: average, p95 and p99",
    throughput: "Throughput",
    requests_throughput_chart: "Requests per second",
    probes_throughput_chart: "Probes per second",
    requests_errors_chart: "Share of failed requests (5xx), percent",
    probes_errors_chart: "Share of failed probes, percent",
};

const FR: Text = Text {
    response_times: "Temps de réponse",
    requests: "requêtes",
    probes: "sondes",
    source_scraped: "Source : histogrammes Prometheus de la cible collectée",
    source_ingested: "Source : requêtes signalées par l’application (API d’ingestion)",
    source_probes_of: |name| format!("Source : sondes HTTP de Vigie sur {name}"),
    one_target: "une cible",
    source_all_probes: "Source : sondes HTTP de Vigie sur toutes les cibles",
    target: "Cible",
    all_targets: "Toutes les cibles",
    availability: "Disponibilité",
    error_rate: "Taux d’erreur",
    average: "Moyenne",
    at_least: |v, unit| format!("objectif ≥ {v} {unit}"),
    at_most: |v, unit| format!("objectif ≤ {v} {unit}"),
    response_time: "Temps de réponse",
    avg: "moy.",
    errors: "erreurs",
    requests_per_s: "requêtes/s",
    probes_per_s: "sondes/s",
    requests_latency_chart: "Temps de réponse des requêtes, en millisecondes : moyenne, p95 et p99",
    probes_latency_chart: "Temps de réponse des sondes, en millisecondes : moyenne, p95 et p99",
    throughput: "Débit",
    requests_throughput_chart: "Requêtes par seconde",
    probes_throughput_chart: "Sondes par seconde",
    requests_errors_chart: "Part des requêtes en échec (5xx), en pourcentage",
    probes_errors_chart: "Part des sondes en échec, en pourcentage",
};

/// Most points asked for: about one per two pixels of a wide chart.
const MAX_POINTS: u32 = 600;

/// Points for a span: at most [`MAX_POINTS`], and buckets no narrower than the
/// longest probe interval, so that each bucket holds a probe of every target
/// and throughput and error rate do not saw-tooth between buckets.
fn points_for(span_ms: i64, interval_ms: i64) -> u32 {
    (span_ms / interval_ms.max(1)).clamp(1, i64::from(MAX_POINTS)) as u32
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{} ms", format::fixed(v, 0)))
}

#[component]
pub fn ResponseTimes(
    view: TimeView,
    /// An endpoint's requests (ingested or scraped) instead of the probes,
    /// with the name to show for it.
    #[prop(optional)]
    endpoint: Option<(Scope, String)>,
    /// The target picked at first (all of them when `None`).
    #[prop(optional_no_strip)]
    target: Option<i64>,
    /// The page's alerts for `view`, when it fetches them already.
    #[prop(optional)]
    alerts: Option<AlertsInView>,
) -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let target = RwSignal::new(target);
    let of_requests = endpoint.is_some();
    let heading = match &endpoint {
        Some((_, name)) => name.clone(),
        None => t.response_times.to_owned(),
    };
    let noun = if of_requests { t.requests } else { t.probes };
    // Where the figures come from, said under the heading.
    let fixed_source = endpoint.as_ref().map(|(scope, _)| match scope {
        Scope::Scraped { .. } => t.source_scraped,
        _ => t.source_ingested,
    });
    let fixed_scope = endpoint.as_ref().map(|(scope, _)| scope.clone());
    let scope = Signal::derive(move || match &fixed_scope {
        Some(scope) => scope.clone(),
        None => Scope::Probes(target.get()),
    });

    let tick = ticker(Duration::from_secs(1));
    let targets = expect_context::<Targets>().0;
    // The longest interval among the targets shown.
    let interval_ms = Memo::new(move |_| match targets.get() {
        _ if of_requests => 1000,
        Some(list) => list
            .targets
            .iter()
            .filter(|t| t.enabled && target.get().is_none_or(|id| id == t.id))
            .map(|t| t.interval_ms as i64)
            .max()
            .unwrap_or(1000),
        _ => 1000,
    });
    // Fetched again when probes have pushed new results; requests are not
    // pushed, so their view is fetched on the range's schedule.
    let pushed: Signal<u64> = if of_requests {
        tick.into()
    } else {
        live.probes_seen.into()
    };
    let refresh = view.refresh_key(&live, tick, pushed);
    // The last answer stays while the next one loads.
    let shown = Fetched::<MetricsResponse>::new(move || {
        refresh.track();
        let span = match view.zoom.get() {
            Some((from, to)) => to - from,
            None => view.range.get().millis(),
        };
        let window = view.window(points_for(span, interval_ms.get()));
        let query = scope
            .with(Scope::metrics_query)
            .with_range(window.time_range());
        client.query_url(paths::METRICS, &query).map(Some)
    });
    let error = move || shown.error().map(|e| e.to_string());

    let pm = move || shown.get().map(|m| m.performance_metrics);
    let availability = Signal::derive(move || format::percent(pm().and_then(|p| p.availability)));
    let p95 = Signal::derive(move || ms(pm().and_then(|p| p.p95)));
    let p99 = Signal::derive(move || ms(pm().and_then(|p| p.p99)));
    let error_rate = Signal::derive(move || format::percent(pm().and_then(|p| p.error_rate)));
    let avg = Signal::derive(move || ms(pm().and_then(|p| p.avg_response_time)));
    let counted = Signal::derive(move || {
        pm().map_or_else(String::new, |p| {
            let rate = p
                .throughput
                .map_or_else(String::new, |tp| format!(" · {}/s", format::fixed(tp, 2)));
            format!("{} {noun}{rate}", p.total_requests)
        })
    });

    let window = Signal::derive(move || shown.get().map(|m| view.chart_window(m.from_ms, m.to_ms)));
    // Points of one target come every interval: a gap is a missing probe, not
    // a bucket without one.
    let gap_ms = Signal::derive(move || {
        let bucket = shown.get().map_or(1000, |m| m.bucket_ms);
        bucket.max(interval_ms.get()) * 5 / 2
    });
    let latency_lines = Signal::derive(move || {
        let Some(m) = shown.get() else {
            return Vec::new();
        };
        let line = |name, color_var, pick: fn(&vigie_api::MetricsPoint) -> Option<f64>| Line {
            name,
            color_var,
            points: m
                .series
                .iter()
                .filter_map(|p| pick(p).map(|v| (p.ts_ms, v)))
                .collect(),
        };
        vec![
            line(t.avg, "--series-1", |p| p.avg),
            line("p95", "--series-2", |p| p.p95),
            line("p99", "--series-3", |p| p.p99),
        ]
    });
    let latency_top = Signal::derive(move || latency_lines.with(|l| top_of(l, 1.0)));
    let error_lines = Signal::derive(move || {
        let Some(m) = shown.get() else {
            return Vec::new();
        };
        vec![Line {
            name: t.errors,
            color_var: "--series-bad",
            points: m
                .series
                .iter()
                .filter(|p| p.count > 0)
                .map(|p| (p.ts_ms, p.errors as f64 * 100.0 / p.count as f64))
                .collect(),
        }]
    });
    let throughput_lines = Signal::derive(move || {
        let Some(m) = shown.get() else {
            return Vec::new();
        };
        let seconds = m.bucket_ms as f64 / 1000.0;
        vec![Line {
            name: if of_requests {
                t.requests_per_s
            } else {
                t.probes_per_s
            },
            color_var: "--series-1",
            points: m
                .series
                .iter()
                .map(|p| (p.ts_ms, p.count as f64 / seconds))
                .collect(),
        }]
    });
    let throughput_top = Signal::derive(move || throughput_lines.with(|l| top_of(l, 0.1)));
    let on_zoom = view.zoom_to();
    let alerts = alerts.unwrap_or_else(|| AlertsInView::new(view));
    let marked = move |metrics: &'static [AlertMetric]| {
        alerts.markers(move |alert, rule| {
            metrics.contains(&alert.metric_type) && scope.with(|s| in_scope(rule, s))
        })
    };
    let latency_markers = marked(&[
        AlertMetric::ResponseTime,
        AlertMetric::P95,
        AlertMetric::P99,
    ]);
    let error_markers = marked(&[AlertMetric::ErrorRate]);

    view! {
        <section class="response-times" aria-label=t.response_times>
            <div class="toolbar">
                <h2>{heading}</h2>
                // The endpoints page has its own picker for the ranking and this view.
                {(!of_requests).then(|| view! { <RangePicker view=view /> })}
                {(!of_requests).then(|| view! {
                    <TargetPicker label=t.target none_label=t.all_targets selected=target class="target-filter" />
                })}
            </div>
            <p class="source" data-testid="source">
                {move || match fixed_source {
                    Some(text) => text.to_owned(),
                    None => match (target.get(), targets.get()) {
                        (Some(id), Some(list)) => (t.source_probes_of)(
                            list.targets.iter().find(|x| x.id == id).map_or(t.one_target, |x| x.name.as_str())
                        ),
                        _ => t.source_all_probes.to_owned(),
                    },
                }}
            </p>
            {move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            <div class="kpis">
                <Kpi label=t.availability value=availability detail=(t.at_least)(format::number(sli::AVAILABILITY_PCT), "%")
                    ok=Signal::derive(move || pm().and_then(|p| p.availability).map(|v| v >= sli::AVAILABILITY_PCT)) />
                <Kpi label="p95" value=p95 detail=(t.at_most)(format::number(sli::P95_MS), "ms")
                    ok=Signal::derive(move || pm().and_then(|p| p.p95).map(|v| v <= sli::P95_MS)) />
                <Kpi label="p99" value=p99 detail=(t.at_most)(format::number(sli::P99_MS), "ms")
                    ok=Signal::derive(move || pm().and_then(|p| p.p99).map(|v| v <= sli::P99_MS)) />
                <Kpi label=t.error_rate value=error_rate detail=(t.at_most)(format::number(sli::ERROR_RATE_PCT), "%")
                    ok=Signal::derive(move || pm().and_then(|p| p.error_rate).map(|v| v <= sli::ERROR_RATE_PCT)) />
                <Kpi label=t.average value=avg detail=counted />
            </div>
            <article class="panel">
                <header class="panel-header">
                    <h3>{t.response_time}</h3>
                    <ul class="legend">
                        <li class="series-1">{t.avg}</li>
                        <li class="series-2">"p95"</li>
                        <li class="series-3">"p99"</li>
                    </ul>
                </header>
                <TimeSeriesChart
                    label=if of_requests {
                        t.requests_latency_chart
                    } else {
                        t.probes_latency_chart
                    }
                    lines=latency_lines
                    window=window
                    y_range=Signal::derive(move || 0.0..latency_top.get())
                    y_unit=" ms"
                    gap_ms=gap_ms
                    on_zoom=on_zoom
                    markers=latency_markers
                />
            </article>
            <article class="panel">
                <header class="panel-header">
                    <h3>{t.throughput}</h3>
                </header>
                <TimeSeriesChart
                    label=if of_requests { t.requests_throughput_chart } else { t.probes_throughput_chart }
                    lines=throughput_lines
                    window=window
                    y_range=Signal::derive(move || 0.0..throughput_top.get())
                    y_unit="/s"
                    gap_ms=gap_ms
                    on_zoom=on_zoom
                />
            </article>
            <article class="panel">
                <header class="panel-header">
                    <h3>{t.error_rate}</h3>
                </header>
                <TimeSeriesChart
                    label=if of_requests {
                        t.requests_errors_chart
                    } else {
                        t.probes_errors_chart
                    }
                    lines=error_lines
                    window=window
                    y_range=0.0..100.0
                    y_unit=" %"
                    gap_ms=gap_ms
                    on_zoom=on_zoom
                    markers=error_markers
                />
            </article>
        </section>
    }
}

/// A y-axis top for `lines`: a tenth above their highest value, rounded up to
/// a number that reads well, and at least `floor`.
fn top_of(lines: &[Line], floor: f64) -> f64 {
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    nice_ceiling(top.max(floor) * 1.1)
}

/// The next of 1, 2, 5 × 10ⁿ at or above `v`: a y-axis top that reads well.
pub fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * mag)
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn buckets_are_no_narrower_than_the_probe_interval() {
        assert_eq!(super::points_for(300_000, 1000), 300);
        assert_eq!(super::points_for(300_000, 5000), 60);
        assert_eq!(super::points_for(7 * 86_400_000, 1000), 600);
        assert_eq!(super::points_for(1000, 60_000), 1);
    }

    #[test]
    fn ceilings_read_well() {
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(13.0), 20.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }
}
