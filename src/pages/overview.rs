//! `/`: response times of the probed targets, then this host at a glance: its
//! latest figures and a chart of CPU and memory, marked where this host's
//! resource alerts started and ended. Over the last five minutes that chart
//! is drawn from the live stream alone; over any other range (or a zoom) from
//! the stored samples, bucketed by the server. `?from=&to=&target=` opens it
//! zoomed to that range, on that target.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{HostCapacities, SystemResources, SystemResourcesQuery, TargetKind, paths};
use vigie_charts::steady_window;

use crate::api::{ApiClient, Fetched};
use crate::components::alert_markers::AlertsInView;
use crate::components::chart::{Line, TimeSeriesChart};
use crate::components::kpi::Kpi;
use crate::components::range_picker::{Linked, TimeView};
use crate::components::target_picker::TargetPicker;
use crate::live::{LiveHost, ticker};
use crate::pages::response_times::ResponseTimes;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    overview: &'static str,
    host: &'static str,
    this_host: &'static str,
    cpu: &'static str,
    memory: &'static str,
    disk: &'static str,
    network: &'static str,
    cpu_and_memory: &'static str,
    chart: &'static str,
    waiting: &'static str,
    /// Memory used of the total.
    used_of: fn(String, String) -> String,
    /// Disk used of the total, on a mount point.
    used_of_on: fn(String, String, &str) -> String,
    cores: fn(u32) -> String,
    /// The latest sample's time, CPU and memory.
    latest: fn(String, String, String) -> String,
}

const EN: Text = Text {
    overview: "Overview",
    host: "Host",
    this_host: "This host",
    cpu: "CPU",
    memory: "Memory",
    disk: "Disk",
    network: "Network",
    cpu_and_memory: "CPU and memory",
    chart: "CPU and memory use of this host, percent",
    waiting: "Waiting for the first sample…",
    used_of: |used, total| format!("{used} of {total}"),
    used_of_on: |used, total, mount| format!("{used} of {total} on {mount}"),
    cores: |n| format!("{n} cores"),
    latest: |at, cpu, mem| format!("Latest sample {at} · CPU {cpu} · memory {mem}"),
};

const FR: Text = Text {
    overview: "Vue d’ensemble",
    host: "Hôte",
    this_host: "Cet hôte",
    cpu: "CPU",
    memory: "Mémoire",
    disk: "Disque",
    network: "Réseau",
    cpu_and_memory: "CPU et mémoire",
    chart: "Utilisation du CPU et de la mémoire de cet hôte, en pourcentage",
    waiting: "En attente du premier échantillon…",
    used_of: |used, total| format!("{used} sur {total}"),
    used_of_on: |used, total, mount| format!("{used} sur {total} ({mount})"),
    cores: |n| match n {
        1 => "1 cœur".to_owned(),
        n => format!("{n} cœurs"),
    },
    latest: |at, cpu, mem| format!("Dernier échantillon {at} · CPU {cpu} · mémoire {mem}"),
};

/// Width of the live window.
const WINDOW_MS: i64 = 5 * 60 * 1000;
/// Buckets asked for a stored range.
const POINTS: u32 = 600;

#[component]
pub fn Overview() -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    let live = expect_context::<LiveHost>();
    let client = expect_context::<ApiClient>();
    // A link to a chart opens the page at its range, on its target.
    let linked = Linked::from_url();
    let view = TimeView::linked(&linked);
    let tick = ticker(Duration::from_secs(1));
    let newest = Signal::derive(move || live.last_arrival_ms.get().map_or(0, |t| t as u64));
    let refresh = view.refresh_key(&live, tick, newest);
    // The host shown: this one (`None`), or one behind a node_exporter target.
    let host = RwSignal::new(None::<i64>);
    // Fetched unless this is the live default view of this host, which the
    // stream alone draws.
    let fetch = Fetched::<SystemResources>::new(move || {
        refresh.track();
        let host = host.get();
        let window = (!view.is_live_default()).then(|| view.window(POINTS));
        if host.is_none() && window.is_none() {
            return Ok(None);
        }
        let query = SystemResourcesQuery {
            host,
            ..SystemResourcesQuery::default()
        }
        .with_range(window.map(|w| w.time_range()).unwrap_or_default());
        client.query_url(paths::SYSTEM_RESOURCES, &query).map(Some)
    });
    // Nothing fetched shows at once when back on this host's live view.
    let fetched = Memo::new(move |_| {
        if host.get().is_none() && view.is_live_default() {
            return None;
        }
        fetch.get()
    });
    let stored = Memo::new(move |_| fetched.get().and_then(|r| r.history));
    let remote = move || host.get().and(fetched.get());
    let latest = Memo::new(move |_| match host.get() {
        Some(_) => remote().and_then(|r| r.series.last().cloned()),
        None => live.latest(),
    });
    let capacities = Memo::new(move |_| match host.get() {
        Some(_) => remote().map(|r| r.capacities),
        None => live.history.with(|h| h.map(|r| r.capacities.clone())),
    });
    let interval_ms = Memo::new(move |_| {
        let interval = |r: &SystemResources| (r.interval_s * 1000.0) as i64;
        match host.get() {
            Some(_) => remote().map_or(1000, |r| interval(&r)),
            None => live.history.with(|h| h.map_or(1000, interval)),
        }
    });
    let error = move || {
        fetch
            .error()
            .or_else(|| live.history.error())
            .map(|e| e.to_string())
    };

    let window = Signal::derive(move || match stored.get() {
        Some(h) => Some(view.chart_window(h.from_ms, h.to_ms)),
        None => latest.get().map(|s| steady_window(s.ts_ms, WINDOW_MS)),
    });
    let lines = Signal::derive(move || {
        if let Some(h) = stored.get() {
            let line = |name, color_var, pick: fn(&vigie_api::ResourcePoint) -> f64| Line {
                name,
                color_var,
                points: h.points.iter().map(|p| (p.ts_ms, pick(p))).collect(),
            };
            return vec![
                line(t.cpu, "--series-1", |p| p.cpu_usage.avg),
                line(t.memory, "--series-2", |p| p.memory_usage.avg),
            ];
        }
        let series = |s: &[vigie_api::HostSample]| {
            vec![
                Line {
                    name: t.cpu,
                    color_var: "--series-1",
                    points: s.iter().map(|x| (x.ts_ms, x.cpu_usage)).collect(),
                },
                Line {
                    name: t.memory,
                    color_var: "--series-2",
                    points: s.iter().map(|x| (x.ts_ms, x.memory_usage)).collect(),
                },
            ]
        };
        if let Some(r) = remote() {
            return series(&r.series);
        }
        live.samples.with(|s| series(s))
    });
    // Two and a half intervals without a sample is a gap, not a line.
    let gap_ms = Signal::derive(move || {
        let step = stored
            .get()
            .map_or(0, |h| h.bucket_ms)
            .max(interval_ms.get());
        step * 5 / 2
    });

    // This host's resource alerts; another host's are not measured.
    let alerts = AlertsInView::new(view);
    let markers =
        alerts.markers(move |alert, _| host.get().is_none() && alert.metric_type.is_host());

    let cap = move |f: fn(&HostCapacities) -> String| {
        move || capacities.get().as_ref().map(f).unwrap_or_default()
    };
    let cpu = Signal::derive(move || format::percent(latest.get().map(|s| s.cpu_usage)));
    let mem = Signal::derive(move || format::percent(latest.get().map(|s| s.memory_usage)));
    let disk = Signal::derive(move || format::percent(latest.get().map(|s| s.disk_usage)));
    let net = Signal::derive(move || {
        latest
            .get()
            .map_or_else(|| "—".into(), |s| format::rate(s.network_usage * 1024.0))
    });
    let mem_detail = Signal::derive(move || match (latest.get(), capacities.get()) {
        (Some(s), Some(c)) => (t.used_of)(
            format::bytes(s.memory_used_bytes as f64),
            format::bytes(c.memory_total_bytes as f64),
        ),
        _ => String::new(),
    });
    let disk_detail = Signal::derive(move || match (latest.get(), capacities.get()) {
        (Some(s), Some(c)) => (t.used_of_on)(
            format::bytes(s.disk_used_bytes as f64),
            format::bytes(c.disk_total_bytes as f64),
            &c.disk_mount,
        ),
        _ => String::new(),
    });
    let net_detail = Signal::derive(move || {
        latest.get().map_or_else(String::new, |s| {
            format!(
                "↓ {} · ↑ {}",
                format::rate(s.network_rx_bytes_per_s),
                format::rate(s.network_tx_bytes_per_s)
            )
        })
    });
    let cpu_detail = Signal::derive(cap(|c| (i18n::pick(&EN, &FR).cores)(c.cpu_cores)));

    view! {
        <section class="page">
            <h1 class="visually-hidden">{t.overview}</h1>
            <ResponseTimes view=view target=linked.target alerts=alerts />
            <header class="section-header">
                <h2>{move || if host.get().is_some() { t.host } else { t.this_host }}</h2>
                <p class="subtitle">{cap(|c| c.hostname.clone())}</p>
                <TargetPicker
                    label=t.host
                    none_label=t.this_host
                    selected=host
                    kind=TargetKind::Prometheus
                    class="host-picker"
                />
            </header>
            {move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            <div class="kpis">
                <Kpi label=t.cpu value=cpu detail=cpu_detail />
                <Kpi label=t.memory value=mem detail=mem_detail />
                <Kpi label=t.disk value=disk detail=disk_detail />
                <Kpi label=t.network value=net detail=net_detail />
            </div>
            <article class="panel">
                <header class="panel-header">
                    <h3>{t.cpu_and_memory}</h3>
                    <ul class="legend">
                        <li class="series-1">{t.cpu}</li>
                        <li class="series-2">{t.memory}</li>
                    </ul>
                </header>
                <TimeSeriesChart
                    label=t.chart
                    lines=lines
                    window=window
                    y_range=0.0..100.0
                    y_unit=" %"
                    gap_ms=gap_ms
                    on_zoom=view.zoom_to()
                    markers=markers
                />
                <p
                    class="readout"
                    data-testid="latest-sample"
                    data-ts=move || latest.get().map(|s| s.ts_ms.to_string())
                    data-cpu=move || latest.get().map(|s| s.cpu_usage.to_string())
                >
                    {move || match latest.get() {
                        Some(s) => (t.latest)(
                            format::clock(s.ts_ms),
                            format::percent(Some(s.cpu_usage)),
                            format::percent(Some(s.memory_usage)),
                        ),
                        None => t.waiting.into(),
                    }}
                </p>
            </article>
        </section>
    }
}
