//! `/`: response times of the probed targets, then this host at a glance: its
//! latest figures and a live chart of CPU and memory over the last five minutes.

use leptos::prelude::*;
use vigie_api::HostCapacities;

use crate::components::chart::{Line, TimeSeriesChart};
use crate::components::kpi::Kpi;
use crate::format;
use crate::live::LiveHost;
use crate::pages::response_times::ResponseTimes;

/// Width of the live window.
const WINDOW_MS: i64 = 5 * 60 * 1000;

#[component]
pub fn Overview() -> impl IntoView {
    let live = expect_context::<LiveHost>();
    let latest = Memo::new(move |_| live.latest());
    let capacities = Memo::new(move |_| match live.history.get() {
        Some(Ok(r)) => Some(r.capacities),
        _ => None,
    });
    let interval_ms = Memo::new(move |_| match live.history.get() {
        Some(Ok(r)) => (r.interval_s * 1000.0) as i64,
        _ => 1000,
    });
    let error = move || match live.history.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };

    let window = Signal::derive(move || latest.get().map(|s| (s.ts_ms - WINDOW_MS)..s.ts_ms));
    let lines = Signal::derive(move || {
        live.samples.with(|s| {
            vec![
                Line {
                    name: "CPU",
                    color_var: "--series-1",
                    points: s.iter().map(|x| (x.ts_ms, x.cpu_usage)).collect(),
                },
                Line {
                    name: "Memory",
                    color_var: "--series-2",
                    points: s.iter().map(|x| (x.ts_ms, x.memory_usage)).collect(),
                },
            ]
        })
    });
    // Two and a half intervals without a sample is a gap, not a line.
    let gap_ms = Signal::derive(move || interval_ms.get() * 5 / 2);

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
        (Some(s), Some(c)) => format!(
            "{} of {}",
            format::bytes(s.memory_used_bytes as f64),
            format::bytes(c.memory_total_bytes as f64)
        ),
        _ => String::new(),
    });
    let disk_detail = Signal::derive(move || match (latest.get(), capacities.get()) {
        (Some(s), Some(c)) => format!(
            "{} of {} on {}",
            format::bytes(s.disk_used_bytes as f64),
            format::bytes(c.disk_total_bytes as f64),
            c.disk_mount
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
    let cpu_detail = Signal::derive(cap(|c| format!("{} cores", c.cpu_cores)));

    view! {
        <section class="page">
            <h1 class="visually-hidden">"Overview"</h1>
            <ResponseTimes />
            <header class="section-header">
                <h2>"This host"</h2>
                <p class="subtitle">{cap(|c| c.hostname.clone())}</p>
            </header>
            {move || error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            <div class="kpis">
                <Kpi label="CPU" value=cpu detail=cpu_detail />
                <Kpi label="Memory" value=mem detail=mem_detail />
                <Kpi label="Disk" value=disk detail=disk_detail />
                <Kpi label="Network" value=net detail=net_detail />
            </div>
            <article class="panel">
                <header class="panel-header">
                    <h3>"CPU and memory"</h3>
                    <ul class="legend">
                        <li class="series-1">"CPU"</li>
                        <li class="series-2">"Memory"</li>
                    </ul>
                </header>
                <TimeSeriesChart
                    label="CPU and memory use of this host over the last five minutes, percent"
                    lines=lines
                    window=window
                    y_range=0.0..100.0
                    y_unit=" %"
                    gap_ms=gap_ms
                />
                <p
                    class="readout"
                    data-testid="latest-sample"
                    data-ts=move || latest.get().map(|s| s.ts_ms.to_string())
                    data-cpu=move || latest.get().map(|s| s.cpu_usage.to_string())
                >
                    {move || match latest.get() {
                        Some(s) => format!(
                            "Latest sample {} · CPU {} · memory {}",
                            format::clock(s.ts_ms),
                            format::percent(Some(s.cpu_usage)),
                            format::percent(Some(s.memory_usage)),
                        ),
                        None => "Waiting for the first sample…".into(),
                    }}
                </p>
            </article>
        </section>
    }
}
