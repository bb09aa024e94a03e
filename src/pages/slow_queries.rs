//! `/slow-queries`: the statements of the PostgreSQL databases watched
//! whose mean execution time over the range picked is at least the
//! threshold (1 s by default), in a table sorted by mean, max, calls or
//! share of time; one opened shows its history, its plan and the index its
//! plan calls for, with a copy button. Then each database's tables and
//! indexes (large tables read by sequential scans, unused indexes, the
//! buffer cache hit ratio, with advice), the databases watched and the
//! form that adds one.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{DatabaseInsights, DatabaseSource, DatabaseSourceSpec, Health, SlowQuery};

use crate::api::ApiClient;
use crate::components::change_error::ChangeError;
use crate::components::chart::{Line, TimeSeriesChart};
use crate::components::confirm::ConfirmButton;
use crate::components::range_picker::{Linked, RangePicker, TimeView};
use crate::lists::{Saved, last_answer, last_list, load_error, refetching_action, save_action};
use crate::live::{LiveHost, ticker};
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    title: &'static str,
    subtitle: &'static str,
    threshold: &'static str,
    none: &'static str,
    no_source: &'static str,
    query: &'static str,
    kind: &'static str,
    database: &'static str,
    calls: &'static str,
    mean: &'static str,
    max: &'static str,
    share: &'static str,
    rows: &'static str,
    advice: &'static str,
    history: &'static str,
    plan: &'static str,
    copy: &'static str,
    copied: &'static str,
    no_advice: &'static str,
    sources: &'static str,
    insights: &'static str,
    buffer_cache: &'static str,
    buffer_ratio: fn(String, u64, u64) -> String,
    no_blocks: &'static str,
    seq_tables: &'static str,
    table: &'static str,
    seq_scans: &'static str,
    rows_per_scan: &'static str,
    index_scans: &'static str,
    live_rows: &'static str,
    unused: &'static str,
    index: &'static str,
    size: &'static str,
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
    title: "Slow queries",
    subtitle: "Statements of your PostgreSQL databases, from pg_stat_statements, with advice from their plans",
    threshold: "Slower than (ms)",
    none: "No statement's mean reached the threshold in this range.",
    no_source: "No database is watched yet. Add one below (a role with pg_read_all_stats: see the README).",
    query: "Statement",
    kind: "Type",
    database: "Database",
    calls: "Calls",
    mean: "Mean",
    max: "Max",
    share: "Share of time",
    rows: "Rows per call",
    advice: "Advice",
    history: "Mean execution time of this statement, milliseconds",
    plan: "Plan (EXPLAIN, not run)",
    copy: "Copy",
    copied: "Copied",
    no_advice: "Nothing to suggest from this plan.",
    sources: "Databases",
    insights: "Tables and indexes",
    buffer_cache: "Buffer cache",
    buffer_ratio: |ratio, hit, read| {
        format!("{ratio} of blocks found in shared buffers ({hit} hit, {read} read from disk)")
    },
    no_blocks: "No block read in this range.",
    seq_tables: "Large tables read by sequential scans",
    table: "Table",
    seq_scans: "Sequential scans",
    rows_per_scan: "Rows per scan",
    index_scans: "Index scans",
    live_rows: "Live rows",
    unused: "Unused indexes",
    index: "Index",
    size: "Size",
    name: "Name",
    url: "URL",
    username: "Role",
    password: "Password",
    tls_ca: "CA certificate (PEM), for sslmode=require with a private CA",
    every: "Every (s)",
    timeout: "Timeout (ms)",
    state: "State",
    add: "Add a PostgreSQL database",
    add_source: "Add",
    remove: "Remove",
    removing: "removing",
    up: "up",
    down: "down",
    unknown: "not read yet",
};

const FR: Text = Text {
    title: "Requêtes lentes",
    subtitle: "Requêtes de vos bases PostgreSQL, d’après pg_stat_statements, avec des conseils tirés de leurs plans",
    threshold: "Plus lentes que (ms)",
    none: "Aucune requête n’atteint le seuil en moyenne sur cette période.",
    no_source: "Aucune base n’est encore surveillée. Ajoutez-en une ci-dessous (un rôle avec pg_read_all_stats : voir le README).",
    query: "Requête",
    kind: "Type",
    database: "Base",
    calls: "Appels",
    mean: "Moyenne",
    max: "Max",
    share: "Part du temps",
    rows: "Lignes par appel",
    advice: "Conseils",
    history: "Temps d’exécution moyen de cette requête, en millisecondes",
    plan: "Plan (EXPLAIN, non exécuté)",
    copy: "Copier",
    copied: "Copié",
    no_advice: "Rien à suggérer d’après ce plan.",
    sources: "Bases de données",
    insights: "Tables et index",
    buffer_cache: "Cache de tampons",
    buffer_ratio: |ratio, hit, read| {
        format!(
            "{ratio} des blocs trouvés dans les tampons partagés ({hit} trouvés, {read} lus sur disque)"
        )
    },
    no_blocks: "Aucun bloc lu sur cette période.",
    seq_tables: "Grandes tables lues par parcours séquentiels",
    table: "Table",
    seq_scans: "Parcours séquentiels",
    rows_per_scan: "Lignes par parcours",
    index_scans: "Parcours d’index",
    live_rows: "Lignes vivantes",
    unused: "Index inutilisés",
    index: "Index",
    size: "Taille",
    name: "Nom",
    url: "URL",
    username: "Rôle",
    password: "Mot de passe",
    tls_ca: "Certificat de l’autorité (PEM), pour sslmode=require avec une autorité privée",
    every: "Toutes les (s)",
    timeout: "Délai (ms)",
    state: "État",
    add: "Ajouter une base PostgreSQL",
    add_source: "Ajouter",
    remove: "Retirer",
    removing: "le retrait de",
    up: "joignable",
    down: "en échec",
    unknown: "pas encore lue",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

impl Saved for DatabaseSourceSpec {
    const PATH: &'static str = vigie_api::paths::DATABASE_SOURCES;
}

/// How the table is sorted, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Mean,
    Max,
    Calls,
    Share,
}

fn key(q: &SlowQuery, sort: Sort) -> f64 {
    match sort {
        Sort::Mean => q.avg_execution_time,
        Sort::Max => q.max_execution_time,
        Sort::Calls => q.execution_count as f64,
        Sort::Share => q.time_share,
    }
}

fn ms(v: f64) -> String {
    format::measured(Some(v), " ms")
}

#[component]
pub fn SlowQueries() -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let view = TimeView::linked(&Linked::default());
    let changed = RwSignal::new(0_u32);
    let tick = ticker(Duration::from_secs(10));
    let refresh = view.refresh_key(&live, tick, tick.into());
    let threshold = RwSignal::new("1000".to_owned());
    let sort = RwSignal::new(Sort::Share);
    let opened = RwSignal::new(None::<(i64, String)>);
    let sources = LocalResource::new({
        let client = client.clone();
        move || {
            changed.get();
            tick.get();
            let client = client.clone();
            async move { client.database_sources().await }
        }
    });
    let slow = LocalResource::new({
        let client = client.clone();
        move || {
            changed.get();
            refresh.get();
            let window = view.window(1);
            let threshold_ms = threshold.get().trim().parse::<f64>().unwrap_or(1000.0);
            let client = client.clone();
            async move { client.slow_queries(&window, threshold_ms).await }
        }
    });
    let list = last_list(sources, |l| l.sources);
    let answer = last_answer(slow);
    let rows = move || {
        let mut qs = answer.get().map(|a| a.queries).unwrap_or_default();
        let s = sort.get();
        qs.sort_by(|a, b| key(b, s).total_cmp(&key(a, s)));
        qs
    };
    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move {
            client
                .delete_in(vigie_api::paths::DATABASE_SOURCES, id)
                .await
        }
    });
    let remove_error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let header = move |label: &'static str, by: Sort| {
        view! {
            <th scope="col" class="num" aria-sort=move || if sort.get() == by { "descending" } else { "none" }>
                <button type="button" class="link" on:click=move |_| sort.set(by)>{label}</button>
            </th>
        }
    };

    view! {
        <section class="page slow-queries">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            <div class="toolbar">
                <RangePicker view=view />
                <label>{t.threshold} <input type="number" min="0" step="any" bind:value=threshold /></label>
            </div>
            {move || load_error(slow)().or_else(load_error(sources)).map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {move || answer.with(|a| a.as_ref().is_some_and(|a| a.queries.is_empty())).then(|| view! { <p class="empty">{t.none}</p> })}
            <table class="targets slow-queries-table" aria-label=t.title>
                <thead>
                    <tr>
                        <th scope="col">{t.query}</th>
                        <th scope="col">{t.kind}</th>
                        <th scope="col">{t.database}</th>
                        {header(t.calls, Sort::Calls)}
                        {header(t.mean, Sort::Mean)}
                        {header(t.max, Sort::Max)}
                        {header(t.share, Sort::Share)}
                        <th scope="col" class="num">{t.rows}</th>
                        <th scope="col">{t.advice}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=rows key=|q| (q.source_id, q.query_hash.clone(), q.execution_count, q.optimizations.len()) children=move |q: SlowQuery| {
                        let open = (q.source_id, q.query_hash.clone());
                        view! {
                            <tr data-testid="slow-query" data-hash=q.query_hash.clone() data-calls=q.execution_count>
                                <th scope="row">
                                    <button type="button" class="link query-text" on:click=move |_| opened.set(Some(open.clone()))>
                                        {q.query_text.clone()}
                                    </button>
                                </th>
                                <td>{q.query_type.as_str().to_uppercase()}</td>
                                <td>{q.source_name.clone()}</td>
                                <td class="num">{q.execution_count}</td>
                                <td class="num">{ms(q.avg_execution_time)}</td>
                                <td class="num">{ms(q.max_execution_time)}</td>
                                <td class="num">{format::percent(Some(q.time_share))}</td>
                                <td class="num">{format::fixed(q.rows_per_call, 1)}</td>
                                <td>{q.optimizations.iter().map(|o| o.title.clone()).collect::<Vec<_>>().join(" · ")}</td>
                            </tr>
                        }
                    } />
                </tbody>
            </table>
            {move || opened.get().map(|(source, hash)| view! { <Detail source=source hash=hash view=view /> })}
            <Insights view=view refresh=refresh />
            <section class="panel" aria-labelledby="database-sources">
                <h2 id="database-sources">{t.sources}</h2>
                {move || list.with(Vec::is_empty).then(|| view! { <p class="empty">{t.no_source}</p> })}
                <table class="targets">
                    <thead>
                        <tr>
                            <th scope="col">{t.name}</th>
                            <th scope="col">{t.url}</th>
                            <th scope="col">{t.state}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || list.get() key=|s| (s.id, state_text(s), s.name.clone(), s.url.clone()) children=move |s: DatabaseSource| {
                            let (id, name) = (s.id, s.name.clone());
                            view! {
                                <tr data-testid="database-source">
                                    <th scope="row">{s.name.clone()}</th>
                                    <td>{format!("{} · {}", s.url, s.username)}</td>
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

fn state_text(s: &DatabaseSource) -> String {
    let t = text();
    let mut out = match s.health {
        Health::Up => t.up,
        Health::Down => t.down,
        Health::Unknown => t.unknown,
    }
    .to_owned();
    if let Some(v) = &s.version {
        out.push_str(&format!(" · PostgreSQL {v}"));
    }
    if let Some(e) = &s.last_error {
        out.push_str(&format!(" · {e}"));
    }
    out
}

/// One statement: its history chart, its advice with a copy button, its plan.
#[component]
fn Detail(source: i64, hash: String, view: TimeView) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let detail = LocalResource::new(move || {
        let (client, hash) = (client.clone(), hash.clone());
        let window = view.window(120);
        async move { client.slow_query(source, &hash, &window).await }
    });
    move || match detail.get() {
        None => ().into_any(),
        Some(Err(e)) => {
            view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any()
        }
        Some(Ok(d)) => {
            let q = d.query.clone();
            let points: Vec<(i64, f64)> = d
                .history
                .iter()
                .filter_map(|p| p.avg_execution_time.map(|v| (p.ts_ms, v)))
                .collect();
            let top = points.iter().map(|p| p.1).fold(1.0_f64, f64::max) * 1.2;
            let (from, to) = (
                d.history.first().map_or(0, |p| p.ts_ms),
                crate::live::now_ms() as i64,
            );
            let window = Some(view.chart_window(from.min(to - 60_000), to));
            let lines = vec![Line {
                name: t.mean,
                color_var: "--series-1",
                points,
            }];
            let advice = if q.optimizations.is_empty() {
                view! { <p class="note">{t.no_advice}</p> }.into_any()
            } else {
                q.optimizations
                    .iter()
                    .map(|o| view! { <Advice title=o.title.clone() evidence=o.evidence.clone() sql=o.sql.clone() /> })
                    .collect_view()
                    .into_any()
            };
            view! {
                <section class="panel slow-query-detail" aria-label=q.query_text.clone()>
                    <h2><code>{q.query_text.clone()}</code></h2>
                    <TimeSeriesChart label=t.history lines=lines window=window y_range=0.0..top y_unit=" ms" gap_ms=i64::MAX />
                    <h3>{t.advice}</h3>
                    {advice}
                    <h3>{t.plan}</h3>
                    {match (d.plan.clone(), d.plan_error.clone()) {
                        (Some(lines), _) => view! { <pre data-testid="plan">{lines.join("\n")}</pre> }.into_any(),
                        (None, e) => view! { <p class="note">{e.unwrap_or_default()}</p> }.into_any(),
                    }}
                </section>
            }
            .into_any()
        }
    }
}

/// A piece of advice: what, the figures that call for it, and the statement
/// that carries it out with a button that copies it.
#[component]
fn Advice(title: String, evidence: String, sql: Option<String>) -> impl IntoView {
    let t = text();
    let copied = RwSignal::new(false);
    view! {
        <div class="advice" data-testid="advice">
            <h3>{title}</h3>
            <p>{evidence}</p>
            {sql.map(|sql| {
                let copy = sql.clone();
                view! {
                    <pre data-testid="advice-sql">{sql}</pre>
                    <button type="button" on:click=move |_| {
                        if let Some(w) = web_sys::window() {
                            let _ = w.navigator().clipboard().write_text(&copy);
                            copied.set(true);
                        }
                    }>{move || if copied.get() { t.copied } else { t.copy }}</button>
                }
            })}
        </div>
    }
}

/// Each database's tables, indexes and buffer cache over the range.
#[component]
fn Insights(view: TimeView, refresh: Memo<(u64, u64)>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let insights = LocalResource::new(move || {
        refresh.get();
        let client = client.clone();
        let window = view.window(1);
        async move { client.database_insights(&window).await }
    });
    let answer = last_answer(insights);
    let database = move |d: DatabaseInsights| {
        let b = &d.buffer_cache;
        let ratio = b.hit_ratio.map_or_else(
            || t.no_blocks.to_owned(),
            |r| (t.buffer_ratio)(format::percent(Some(r)), b.blocks_hit, b.blocks_read),
        );
        let scans = (!d.sequential_scans.is_empty()).then(|| {
            view! {
                <table class="targets" aria-label=t.seq_tables>
                    <caption>{t.seq_tables}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t.table}</th>
                            <th scope="col" class="num">{t.seq_scans}</th>
                            <th scope="col" class="num">{t.rows_per_scan}</th>
                            <th scope="col" class="num">{t.index_scans}</th>
                            <th scope="col" class="num">{t.live_rows}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.sequential_scans.iter().map(|s| view! {
                            <tr data-testid="seq-scan-table">
                                <th scope="row">{format!("{}.{}", s.schema, s.table)}</th>
                                <td class="num">{format::fixed(s.seq_scans as f64, 0)}</td>
                                <td class="num">{format::fixed(s.rows_per_scan, 0)}</td>
                                <td class="num">{format::fixed(s.index_scans as f64, 0)}</td>
                                <td class="num">{format::fixed(s.live_rows as f64, 0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
        });
        let unused = (!d.unused_indexes.is_empty()).then(|| {
            view! {
                <table class="targets" aria-label=t.unused>
                    <caption>{t.unused}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t.index}</th>
                            <th scope="col">{t.table}</th>
                            <th scope="col" class="num">{t.size}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.unused_indexes.iter().map(|i| view! {
                            <tr data-testid="unused-index">
                                <th scope="row">{format!("{}.{}", i.schema, i.index)}</th>
                                <td>{i.table.clone()}</td>
                                <td class="num">{format::bytes(i.size_bytes as f64)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
        });
        view! {
            <article class="database-insights" data-testid="database-insights" data-source=d.source_id>
                <h3>{d.source_name.clone()}</h3>
                <p data-testid="buffer-cache"><strong>{t.buffer_cache}</strong> " · " {ratio}</p>
                {d.advice.iter().map(|a| view! { <Advice title=a.title.clone() evidence=a.evidence.clone() sql=a.sql.clone() /> }).collect_view()}
                {scans}
                {unused}
                {d.notes.iter().map(|n| view! { <p class="note">{n.clone()}</p> }).collect_view()}
            </article>
        }
    };
    view! {
        <section class="panel" aria-labelledby="database-insights">
            <h2 id="database-insights">{t.insights}</h2>
            {move || load_error(insights)().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {move || answer.get().map(|a| a.databases.into_iter().map(database).collect_view())}
        </section>
    }
}

/// The form that adds a database. The server validates; its answer names
/// the field at fault.
#[component]
fn SourceForm(on_saved: Callback<()>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let tls_ca = RwSignal::new(String::new());
    let interval_s = RwSignal::new("30".to_owned());
    let timeout_ms = RwSignal::new("5000".to_owned());
    let error = RwSignal::new(None);
    let save = save_action::<DatabaseSourceSpec>(client, error, move || {
        for s in [name, url, username, password, tls_ca] {
            s.set(String::new());
        }
        error.set(None);
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let spec = DatabaseSourceSpec {
            name: name.get_untracked(),
            url: url.get_untracked(),
            username: username.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            tls_ca: Some(tls_ca.get_untracked()).filter(|p| !p.trim().is_empty()),
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
                <label class="wide">{t.url} <input type="text" required placeholder="postgres://10.0.0.7:5432/shop" bind:value=url aria-invalid=invalid("url") /></label>
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
