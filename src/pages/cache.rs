//! `/cache`: the Redis servers watched as cache sources. For each, over the
//! range picked: hit rate, hits and misses, `PING` latency, evictions and
//! memory, from increases of the server's own counters, with a hit-rate
//! chart and a latency chart; then the list of sources with their state and
//! the form that adds one.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{CacheReport, CacheSource, CacheSourceFigures, CacheSourceSpec, Health};

use crate::api::ApiClient;
use crate::components::change_error::ChangeError;
use crate::components::chart::{Line, TimeSeriesChart};
use crate::components::confirm::ConfirmButton;
use crate::components::kpi::Kpi;
use crate::components::range_picker::{Linked, RangePicker, TimeView};
use crate::lists::{Saved, last_answer, last_list, load_error, refetching_action, save_action};
use crate::live::{LiveHost, ticker};
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    cache: &'static str,
    subtitle: &'static str,
    none: &'static str,
    hit_rate: &'static str,
    lookups: fn(u64, u64) -> String,
    latency: &'static str,
    latency_detail: fn(String) -> String,
    evictions: &'static str,
    expired: fn(u64) -> String,
    memory: &'static str,
    of_limit: fn(String) -> String,
    no_limit: &'static str,
    clients: fn(u64, u64) -> String,
    hit_rate_chart: &'static str,
    latency_chart: &'static str,
    restarts: fn(u64) -> String,
    failed: fn(u64, u64) -> String,
    sources: &'static str,
    name: &'static str,
    url: &'static str,
    username: &'static str,
    password: &'static str,
    tls_ca: &'static str,
    every: &'static str,
    timeout: &'static str,
    state: &'static str,
    add: &'static str,
    add_source: &'static str,
    remove: &'static str,
    removing: &'static str,
    up: &'static str,
    down: &'static str,
    unknown: &'static str,
}

const EN: Text = Text {
    cache: "Cache",
    subtitle: "Redis servers: hit rate and lookups from their own counters, PING latency, evictions, memory",
    none: "No Redis server is watched yet. Add one below (a read-only ACL user limited to INFO and PING is enough: see the README).",
    hit_rate: "Hit rate",
    lookups: |h, m| format!("{h} hits · {m} misses"),
    latency: "Latency",
    latency_detail: |max| format!("PING round trip · max {max}"),
    evictions: "Evictions",
    expired: |n| format!("{n} keys expired"),
    memory: "Memory",
    of_limit: |max| format!("of {max} (maxmemory)"),
    no_limit: "no maxmemory limit",
    clients: |ops, clients| format!("{ops} ops/s · {clients} clients"),
    hit_rate_chart: "Hit rate of this Redis server, percent",
    latency_chart: "PING round trip of this Redis server, milliseconds",
    restarts: |n| format!("restarted {n} times in this range (counted from zero after each)"),
    failed: |failed, all| format!("{failed} of {all} samples failed"),
    sources: "Redis servers",
    name: "Name",
    url: "URL",
    username: "ACL user",
    password: "Password",
    tls_ca: "CA certificate (PEM), for rediss:// with a private CA",
    every: "Every (s)",
    timeout: "Timeout (ms)",
    state: "State",
    add: "Add a Redis server",
    add_source: "Add",
    remove: "Remove",
    removing: "removing",
    up: "up",
    down: "down",
    unknown: "not sampled yet",
};

const FR: Text = Text {
    cache: "Cache",
    subtitle: "Serveurs Redis : taux de succès et lectures d’après leurs propres compteurs, latence du PING, évictions, mémoire",
    none: "Aucun serveur Redis n’est encore surveillé. Ajoutez-en un ci-dessous (un utilisateur ACL limité à INFO et PING suffit : voir le README).",
    hit_rate: "Taux de succès",
    lookups: |h, m| format!("{h} succès · {m} échecs"),
    latency: "Latence",
    latency_detail: |max| format!("aller-retour du PING · max {max}"),
    evictions: "Évictions",
    expired: |n| format!("{n} clés expirées"),
    memory: "Mémoire",
    of_limit: |max| format!("sur {max} (maxmemory)"),
    no_limit: "pas de limite maxmemory",
    clients: |ops, clients| format!("{ops} op/s · {clients} clients"),
    hit_rate_chart: "Taux de succès de ce serveur Redis, en pourcentage",
    latency_chart: "Aller-retour du PING de ce serveur Redis, en millisecondes",
    restarts: |n| format!("redémarré {n} fois sur cette période (compté depuis zéro après chacun)"),
    failed: |failed, all| format!("{failed} échantillons sur {all} en échec"),
    sources: "Serveurs Redis",
    name: "Nom",
    url: "URL",
    username: "Utilisateur ACL",
    password: "Mot de passe",
    tls_ca: "Certificat de l’autorité (PEM), pour rediss:// avec une autorité privée",
    every: "Toutes les (s)",
    timeout: "Délai (ms)",
    state: "État",
    add: "Ajouter un serveur Redis",
    add_source: "Ajouter",
    remove: "Retirer",
    removing: "le retrait de",
    up: "joignable",
    down: "en échec",
    unknown: "pas encore échantillonné",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

/// Buckets asked for a range.
const POINTS: u32 = 120;

impl Saved for CacheSourceSpec {
    const PATH: &'static str = vigie_api::paths::CACHE_SOURCES;
}

#[component]
pub fn Cache() -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let view = TimeView::linked(&Linked::default());
    let changed = RwSignal::new(0_u32);
    let tick = ticker(Duration::from_secs(5));
    let refresh = view.refresh_key(&live, tick, tick.into());
    let sources = LocalResource::new({
        let client = client.clone();
        move || {
            changed.get();
            tick.get();
            let client = client.clone();
            async move { client.cache_sources().await }
        }
    });
    let report = LocalResource::new({
        let client = client.clone();
        move || {
            changed.get();
            refresh.get();
            let window = view.window(POINTS);
            let client = client.clone();
            async move { client.cache_performance(&window).await }
        }
    });
    let list = last_list(sources, |l| l.sources);
    let answer = last_answer(report);
    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_in(vigie_api::paths::CACHE_SOURCES, id).await }
    });
    let remove_error = Signal::derive(move || remove.value().get().and_then(Result::err));

    view! {
        <section class="page cache">
            <header class="page-header">
                <h1>{t.cache}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            <div class="toolbar">
                <RangePicker view=view />
            </div>
            {move || load_error(report)().or_else(load_error(sources)).map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {move || answer.get().map(|r| figures(r, view))}
            <section class="panel" aria-labelledby="cache-sources">
                <h2 id="cache-sources">{t.sources}</h2>
                {move || list.with(Vec::is_empty).then(|| view! { <p class="empty">{t.none}</p> })}
                <table class="targets cache-sources">
                    <thead>
                        <tr>
                            <th scope="col">{t.name}</th>
                            <th scope="col">{t.url}</th>
                            <th scope="col">{t.state}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || list.get() key=|s| (s.id, state_text(s), s.name.clone(), s.url.clone()) children=move |s: CacheSource| {
                            let (id, name) = (s.id, s.name.clone());
                            view! {
                                <tr data-testid="cache-source">
                                    <th scope="row">{s.name.clone()}</th>
                                    <td>{s.url.clone()} {s.username.clone().map(|u| format!(" · {u}"))}</td>
                                    <td data-health=s.health.as_str()>{state_text(&s)}</td>
                                    <td>
                                        <ConfirmButton verb=t.remove verbing=t.removing name=name on_confirm=Callback::new(move |()| { remove.dispatch(id); }) />
                                    </td>
                                </tr>
                            }
                        } />
                    </tbody>
                </table>
                <ChangeError error=remove_error />
                <SourceForm on_saved=Callback::new(move |()| changed.update(|n| *n += 1)) />
            </section>
        </section>
    }
}

fn state_text(s: &CacheSource) -> String {
    let t = text();
    let word = match s.health {
        Health::Up => t.up,
        Health::Down => t.down,
        Health::Unknown => t.unknown,
    };
    let mut out = word.to_owned();
    if let Some(v) = &s.version {
        out.push_str(&format!(" · Redis {v}"));
    }
    if let Some(e) = &s.last_error {
        out.push_str(&format!(" · {e}"));
    }
    out
}

fn ms(v: Option<f64>) -> String {
    format::measured(v, " ms")
}

fn bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "—".to_owned(), |b| format::bytes(b as f64))
}

/// The figures of every source: key figures, then two charts each.
fn figures(report: CacheReport, view: TimeView) -> impl IntoView {
    let t = text();
    let window = view.chart_window(report.from_ms, report.to_ms);
    let step = (report.to_ms - report.from_ms) / i64::from(POINTS);
    report
        .sources
        .into_iter()
        .map(|f| source_figures(f, t, window.clone(), step, view))
        .collect_view()
}

fn source_figures(
    f: CacheSourceFigures,
    t: &'static Text,
    window: std::ops::Range<i64>,
    step: i64,
    view: TimeView,
) -> impl IntoView {
    let line = |name, color_var, pick: fn(&vigie_api::CachePoint) -> Option<f64>| Line {
        name,
        color_var,
        points: f
            .series
            .iter()
            .filter_map(|p| pick(p).map(|v| (p.ts_ms, v)))
            .collect(),
    };
    let hit_rate = vec![line(t.hit_rate, "--series-1", |p| p.hit_rate)];
    let latency_line = vec![line(t.latency, "--series-2", |p| p.latency_ms)];
    let latency_top = f.max_response_time.unwrap_or(1.0).max(1.0) * 1.2;
    let window = Some(window);
    let gap_ms = (step * 5 / 2).max(1);
    let notes = [
        (f.restarts > 0).then(|| (t.restarts)(f.restarts)),
        (f.failed_samples > 0).then(|| (t.failed)(f.failed_samples, f.failed_samples + f.samples)),
        f.last_error.clone(),
    ];
    let memory_detail = f.maxmemory.map_or_else(
        || t.no_limit.to_owned(),
        |m| (t.of_limit)(format::bytes(m as f64)),
    );
    view! {
        <section class="panel cache-source-figures" data-testid="cache-figures" data-source=f.source_id aria-label=f.name.clone()>
            <h2>{f.name.clone()}</h2>
            <div class="kpis">
                <Kpi label=t.hit_rate value=format::percent(f.hit_rate) detail=(t.lookups)(f.total_hits, f.total_misses) />
                <Kpi label=t.latency value=ms(f.avg_response_time) detail=(t.latency_detail)(ms(f.max_response_time)) />
                <Kpi label=t.evictions value=f.evictions.to_string() detail=(t.expired)(f.expired) />
                <Kpi label=t.memory value=bytes(f.used_memory) detail=memory_detail />
            </div>
            <p class="readout" data-testid="cache-lookups" data-hits=f.total_hits data-misses=f.total_misses>
                {(t.clients)(f.ops_per_sec.unwrap_or(0), f.connected_clients.unwrap_or(0))}
            </p>
            {notes.into_iter().flatten().map(|n| view! { <p class="note">{n}</p> }).collect_view()}
            <div class="charts-pair">
                <TimeSeriesChart label=t.hit_rate_chart lines=hit_rate window=window.clone() y_range=0.0..100.0 y_unit=" %" gap_ms=gap_ms on_zoom=view.zoom_to() />
                <TimeSeriesChart label=t.latency_chart lines=latency_line window=window y_range=0.0..latency_top y_unit=" ms" gap_ms=gap_ms on_zoom=view.zoom_to() />
            </div>
        </section>
    }
}

/// The form that adds a Redis server. The server validates; its answer
/// names the field at fault.
#[component]
fn SourceForm(on_saved: Callback<()>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let tls_ca = RwSignal::new(String::new());
    let interval_s = RwSignal::new("5".to_owned());
    let timeout_ms = RwSignal::new("2000".to_owned());
    let error = RwSignal::new(None);
    let save = save_action::<CacheSourceSpec>(client, error, move || {
        for s in [name, url, username, password, tls_ca] {
            s.set(String::new());
        }
        error.set(None);
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let optional = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.is_empty());
        let spec = CacheSourceSpec {
            name: name.get_untracked(),
            url: url.get_untracked(),
            username: optional(username),
            password: optional(password),
            tls_ca: optional(tls_ca),
            interval_ms: interval_s
                .get_untracked()
                .trim()
                .parse::<f64>()
                .map_or(0, |s| (s * 1000.0).round() as u64),
            timeout_ms: timeout_ms.get_untracked().trim().parse().unwrap_or(0),
            enabled: true,
        };
        save.dispatch((None, spec));
    };
    let invalid = move |field: &'static str| {
        move || {
            error
                .with(|e: &Option<crate::api::ClientError>| {
                    e.as_ref().and_then(|e| e.field()) == Some(field)
                })
                .to_string()
        }
    };
    view! {
        <form class="new-target" novalidate on:submit=submit aria-label=t.add>
            <h3>{t.add}</h3>
            <div class="fields">
                <label>{t.name} <input type="text" required bind:value=name aria-invalid=invalid("name") /></label>
                <label class="wide">{t.url} <input type="text" required placeholder="redis://10.0.0.5:6379" bind:value=url aria-invalid=invalid("url") /></label>
                <label>{t.username} <input type="text" autocomplete="off" bind:value=username aria-invalid=invalid("username") /></label>
                <label>{t.password} <input type="password" autocomplete="new-password" bind:value=password aria-invalid=invalid("password") /></label>
                <label class="wide">{t.tls_ca} <textarea rows="3" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----" bind:value=tls_ca aria-invalid=invalid("tls_ca")></textarea></label>
                <label>{t.every} <input type="number" min="1" step="any" bind:value=interval_s aria-invalid=invalid("interval_ms") /></label>
                <label>{t.timeout} <input type="number" min="50" bind:value=timeout_ms aria-invalid=invalid("timeout_ms") /></label>
            </div>
            <button type="submit" class="primary" disabled=move || save.pending().get()>{t.add_source}</button>
            <ChangeError error=error />
        </form>
    }
}
