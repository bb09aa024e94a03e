//! `/alerts`: what is wrong now and what was. Open alerts first, most severe
//! first, each with its age, its value against the threshold and what an
//! operator can do (acknowledge it, resolve it with a note); then the
//! history, filtered and paged, each alert opening to all its transitions.
//! Both lists are fetched again when the stream reports an alert transition.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use vigie_api::{Alert, AlertState, AlertTransition, SYSTEM_ACTOR, Severity};

use crate::api::{AlertQuery, ApiClient, Range, StateFilter};
use crate::app_path;
use crate::components::alert_dialog::{AlertAction, AlertDialog};
use crate::components::change_error::LoadError;
use crate::components::pager::Pager;
use crate::components::severity::SeverityChip;
use crate::lists::{last_answer, last_list};
use crate::live::{LiveHost, ticker, unix_now_ms};
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    pending_for: fn(&str) -> String,
    firing_for: fn(&str) -> String,
    firing_acknowledged: fn(&str, &str) -> String,
    resolved_ago: fn(&str) -> String,
    resolved: &'static str,
    vs_threshold: &'static str,
    automatically: &'static str,
    by: fn(&str) -> String,
    with_value: fn(&str) -> String,
    /// An alert's state as a person reads it (`data-state` keeps the wire's word).
    state: fn(AlertState) -> &'static str,
    views: &'static str,
    open_and_history: &'static str,
    rules: &'static str,
    title: &'static str,
    subtitle: &'static str,
    acknowledge_label: fn(&str) -> String,
    resolve_label: fn(&str) -> String,
    acknowledge: &'static str,
    resolve: &'static str,
    no_open: &'static str,
    open: &'static str,
    started: fn(&str) -> String,
    resolved_at: fn(&str) -> String,
    transitions: fn(usize) -> String,
    history: &'static str,
    show: &'static str,
    show_resolved: &'static str,
    show_all: &'static str,
    severity: &'static str,
    any_severity: &'static str,
    time_range: &'static str,
    any_time: &'static str,
    last: fn(Range) -> String,
    with_unfired: &'static str,
    no_match: &'static str,
    pages: &'static str,
}

const EN: Text = Text {
    pending_for: |age| format!("pending for {age}"),
    firing_for: |age| format!("firing for {age}"),
    firing_acknowledged: |age, who| format!("firing for {age} · acknowledged by {who}"),
    resolved_ago: |age| format!("resolved {age} ago"),
    resolved: "resolved",
    vs_threshold: "vs threshold",
    automatically: "automatically",
    by: |actor| format!("by {actor}"),
    with_value: |v| format!(" · value {v}"),
    state: AlertState::as_str,
    views: "Alert views",
    open_and_history: "Open and history",
    rules: "Rules",
    title: "Alerts",
    subtitle: "Raised by the rules when a measurement crosses its threshold",
    acknowledge_label: |title| format!("Acknowledge {title}"),
    resolve_label: |title| format!("Resolve {title}"),
    acknowledge: "Acknowledge",
    resolve: "Resolve",
    no_open: "No open alert: every rule's condition is clear.",
    open: "Open ",
    started: |at| format!("started {at}"),
    resolved_at: |at| format!(" · resolved {at}"),
    transitions: |n| format!("Transitions ({n})"),
    history: "History",
    show: "Show ",
    show_resolved: "Resolved",
    show_all: "All",
    severity: "Severity ",
    any_severity: "Any",
    time_range: "Time range ",
    any_time: "Any time",
    last: |r| format!("Last {}", r.as_str()),
    with_unfired: " Also those that cleared before firing",
    no_match: "No alert matches these filters.",
    pages: "History pages",
};

const FR: Text = Text {
    pending_for: |age| format!("en attente depuis {age}"),
    firing_for: |age| format!("déclenchée depuis {age}"),
    firing_acknowledged: |age, who| format!("déclenchée depuis {age} · acquittée par {who}"),
    resolved_ago: |age| format!("résolue il y a {age}"),
    resolved: "résolue",
    vs_threshold: "pour un seuil",
    automatically: "automatiquement",
    by: |actor| format!("par {actor}"),
    with_value: |v| format!(" · valeur {v}"),
    state: |s| match s {
        AlertState::Pending => "en attente",
        AlertState::Firing => "déclenchée",
        AlertState::Acknowledged => "acquittée",
        AlertState::Resolved => "résolue",
    },
    views: "Vues des alertes",
    open_and_history: "Ouvertes et historique",
    rules: "Règles",
    title: "Alertes",
    subtitle: "Levées par les règles quand une mesure franchit son seuil",
    acknowledge_label: |title| format!("Acquitter {title}"),
    resolve_label: |title| format!("Résoudre {title}"),
    acknowledge: "Acquitter",
    resolve: "Résoudre",
    no_open: "Aucune alerte ouverte : aucune règle ne voit sa condition remplie.",
    open: "Ouvertes ",
    started: |at| format!("commencée le {at}"),
    resolved_at: |at| format!(" · résolue le {at}"),
    transitions: |n| format!("Transitions ({n})"),
    history: "Historique",
    show: "Afficher ",
    show_resolved: "Résolues",
    show_all: "Toutes",
    severity: "Gravité ",
    any_severity: "Toutes",
    time_range: "Période ",
    any_time: "Toute période",
    last: |r| {
        match r {
            Range::M5 => "5 dernières minutes",
            Range::M15 => "15 dernières minutes",
            Range::H1 => "Dernière heure",
            Range::H6 => "6 dernières heures",
            Range::H24 => "24 dernières heures",
            Range::D7 => "7 derniers jours",
        }
        .to_owned()
    },
    with_unfired: " Aussi celles dissipées avant de se déclencher",
    no_match: "Aucune alerte ne correspond à ces filtres.",
    pages: "Pages de l’historique",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

/// Open alerts asked for: all of them, in practice.
const OPEN_LIMIT: u32 = 500;
/// Alerts per page of the history.
const PAGE: u32 = 20;

/// How long an open alert has been in its state, as of `now_ms`.
pub fn age_text(a: &Alert, now_ms: i64) -> String {
    let tx = text();
    let since = |t: i64| format::age((now_ms - t) as f64 / 1000.0);
    let fired = a.fired_at.unwrap_or(a.started_at);
    match a.state {
        AlertState::Pending => (tx.pending_for)(&since(a.started_at)),
        AlertState::Firing => (tx.firing_for)(&since(fired)),
        AlertState::Acknowledged => match &a.acknowledged_by {
            Some(who) => (tx.firing_acknowledged)(&since(fired), who),
            None => (tx.firing_for)(&since(fired)),
        },
        AlertState::Resolved => match a.resolved_at {
            Some(t) => (tx.resolved_ago)(&since(t)),
            None => tx.resolved.into(),
        },
    }
}

/// `Memory 91.3 % vs threshold > 85 %`
pub fn value_text(a: &Alert) -> String {
    let unit = a.metric_type.unit();
    format!(
        "{} {} {} {} {} {unit}",
        i18n::metric_label(a.metric_type),
        format::measured(a.current_value, unit),
        text().vs_threshold,
        a.comparison.symbol(),
        format::number(a.threshold_value)
    )
}

/// Who did something: the operator's name, or Vigie itself.
pub fn actor_text(actor: &str) -> String {
    let tx = text();
    if actor == SYSTEM_ACTOR {
        tx.automatically.into()
    } else {
        (tx.by)(actor)
    }
}

/// One line of an alert's life.
fn transition_text(t: &AlertTransition, unit: &str) -> String {
    let tx = text();
    let mut line = format!(
        "{} · {} {}",
        format::date_time(t.at_ms),
        (tx.state)(t.state),
        actor_text(&t.actor)
    );
    if let Some(v) = t.value {
        line.push_str(&(tx.with_value)(&format::measured(Some(v), unit)));
    }
    line
}

/// The tabs of the alerts pages.
#[component]
pub fn AlertTabs() -> impl IntoView {
    let t = text();
    view! {
        <nav class="tabs" aria-label=t.views>
            <A href=app_path("/alerts") exact=true>{t.open_and_history}</A>
            <A href=app_path("/alerts/rules")>{t.rules}</A>
        </nav>
    }
}

#[component]
pub fn Alerts() -> impl IntoView {
    // Moved by this page's own changes, so that both lists refetch at once
    // without waiting for the stream's event.
    let changed = RwSignal::new(0_u32);
    let t = text();
    view! {
        <section class="page alerts-page">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
                <AlertTabs />
            </header>
            <OpenAlerts changed=changed />
            <AlertHistory changed=changed />
        </section>
    }
}

#[component]
fn OpenAlerts(changed: RwSignal<u32>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    // Values move between transitions: fetched again every 5 s as well.
    let refresh = ticker(Duration::from_secs(5));
    let clock = ticker(Duration::from_secs(1));
    let now = Memo::new(move |_| {
        clock.get();
        unix_now_ms()
    });
    let fetched = LocalResource::new(move || {
        live.alerts_seen.get();
        changed.get();
        refresh.get();
        let client = client.clone();
        let query = AlertQuery {
            state: StateFilter::Open,
            limit: OPEN_LIMIT,
            ..AlertQuery::default()
        };
        async move { client.alerts(&query).await }
    });
    // The last list received; rows are keyed by id and read it.
    let list = last_list(fetched, |l| l.alerts);
    let loaded = Memo::new(move |_| fetched.get().is_some());
    let empty = Memo::new(move |_| list.with(Vec::is_empty));
    let find = move |id: i64| list.with(|l| l.iter().find(|a| a.id == id).cloned());

    // The alert being acted on, and how.
    let acting = RwSignal::new(None::<(i64, AlertAction)>);
    let dialog = move || {
        acting.get().map(|(id, action)| {
            view! {
                <AlertDialog
                    alert=Signal::derive(move || find(id))
                    action=action
                    on_close=Callback::new(move |_| acting.set(None))
                    on_done=Callback::new(move |_| {
                        acting.set(None);
                        changed.update(|n| *n += 1);
                    })
                />
            }
        })
    };

    let row = move |id: i64| {
        let current = Memo::new(move |_| find(id));
        let text = move |f: fn(&Alert) -> String| {
            move || current.get().as_ref().map(f).unwrap_or_default()
        };
        let state = move || current.get().map_or("", |a| a.state.as_str());
        let state_text = move || current.get().map_or("", |a| (t.state)(a.state));
        let severity = Signal::derive(move || current.get().map_or(Severity::Low, |a| a.severity));
        let firing = move || current.get().is_some_and(|a| a.state == AlertState::Firing);
        let title = current.get_untracked().map(|a| a.title).unwrap_or_default();
        let ack_label = (t.acknowledge_label)(&title);
        let resolve_label = (t.resolve_label)(&title);
        view! {
            <li class="alert-row" data-testid="open-alert" data-alert-id=id data-state=state
                data-severity=move || severity.get().as_str()>
                <div class="alert-main">
                    <SeverityChip severity=severity />
                    <strong class="alert-title">{text(|a| a.title.clone())}</strong>
                    <span class="alert-state" data-state=state>{state_text}</span>
                </div>
                <p class="alert-facts">
                    <span data-testid="age">{move || current.get().map(|a| age_text(&a, now.get())).unwrap_or_default()}</span>
                    " · "
                    <span data-testid="value">{text(value_text)}</span>
                </p>
                <p class="alert-description">{text(|a| a.description.clone())}</p>
                <div class="actions">
                    {move || firing().then(|| {
                        let label = ack_label.clone();
                        view! {
                            <button type="button" aria-label=label
                                on:click=move |_| acting.set(Some((id, AlertAction::Acknowledge)))>
                                {t.acknowledge}
                            </button>
                        }
                    })}
                    <button type="button" class="primary" aria-label=resolve_label
                        on:click=move |_| acting.set(Some((id, AlertAction::Resolve)))>
                        {t.resolve}
                    </button>
                </div>
            </li>
        }
    };

    let rows = move || {
        if !loaded.get() {
            return view! { <p>{i18n::common().loading}</p> }.into_any();
        }
        if empty.get() {
            return view! { <p class="empty" data-testid="no-open-alert">{t.no_open}</p> }
                .into_any();
        }
        view! {
            <ul class="alert-list">
                <For each=move || list.get() key=|a| a.id children=move |a| row(a.id) />
            </ul>
        }
        .into_any()
    };

    view! {
        <section class="alerts-open" aria-labelledby="open-alerts-heading">
            <h2 id="open-alerts-heading">
                {t.open}
                <span class="count">{move || list.with(Vec::len)}</span>
            </h2>
            <LoadError fetched=fetched />
            {rows}
            {dialog}
        </section>
    }
}

/// Which alerts the history shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HistoryStates {
    Resolved,
    All,
}

#[component]
fn AlertHistory(changed: RwSignal<u32>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let states = RwSignal::new(HistoryStates::Resolved);
    let severity = RwSignal::new(None::<Severity>);
    // Alerts whose life overlaps the last `since`; any time when `None`.
    let since = RwSignal::new(None::<Range>);
    // Pending alerts that cleared before firing are kept, but out of the way.
    let with_unfired = RwSignal::new(false);
    let offset = RwSignal::new(0_u32);
    let fetched = LocalResource::new(move || {
        live.alerts_seen.get();
        changed.get();
        let to = unix_now_ms();
        let query = AlertQuery {
            state: match states.get() {
                HistoryStates::Resolved => StateFilter::In(vec![AlertState::Resolved]),
                HistoryStates::All => StateFilter::Any,
            },
            severities: severity.get().into_iter().collect(),
            from: since.get().map(|r| to - r.millis()),
            to: since.get().map(|_| to),
            fired: (!with_unfired.get()).then_some(true),
            limit: PAGE,
            offset: offset.get(),
        };
        let client = client.clone();
        async move { client.alerts(&query).await }
    });
    let page = last_answer(fetched);
    let list = Memo::new(move |_| page.get().map(|p| p.alerts).unwrap_or_default());
    let total = Memo::new(move |_| page.get().map_or(0, |p| p.total));
    // A memo: the list below is rebuilt only when this changes, not on every
    // refresh (rows are kept, and so is an opened one's history).
    let none_match =
        Memo::new(move |_| page.with(|p| p.as_ref().is_some_and(|p| p.alerts.is_empty())));

    let row = move |id: i64| {
        let current = Memo::new(move |_| list.with(|l| l.iter().find(|a| a.id == id).cloned()));
        let severity = Signal::derive(move || current.get().map_or(Severity::Low, |a| a.severity));
        let state = move || current.get().map_or("", |a| a.state.as_str());
        let state_text = move || current.get().map_or("", |a| (t.state)(a.state));
        let times = move || {
            current.get().map(|a| {
                let mut text = (t.started)(&format::date_time(a.started_at));
                if let Some(at) = a.resolved_at {
                    text.push_str(&(t.resolved_at)(&format::date_time(at)));
                }
                if let Some(who) = &a.resolved_by {
                    text.push_str(&format!(" {}", actor_text(who)));
                }
                text
            })
        };
        let note = move || current.get().and_then(|a| a.note);
        let steps = move || current.get().map_or(0, |a| a.history.len());
        let transitions = move || {
            current.get().map(|a| {
                let unit = a.metric_type.unit();
                a.history
                    .iter()
                    .map(|step| {
                        let note = step.note.clone();
                        view! {
                            <li data-state=step.state.as_str()>
                                {transition_text(step, unit)}
                                {note.map(|n| view! { <q class="note">{n}</q> })}
                            </li>
                        }
                    })
                    .collect_view()
            })
        };
        view! {
            <li class="alert-row history" data-testid="history-alert" data-alert-id=id data-state=state>
                <div class="alert-main">
                    <SeverityChip severity=severity />
                    <strong class="alert-title">{move || current.get().map(|a| a.title).unwrap_or_default()}</strong>
                    <span class="alert-state" data-state=state>{state_text}</span>
                </div>
                <p class="alert-facts" data-testid="times">{times}</p>
                {move || note().map(|n| view! { <p class="alert-note" data-testid="note">{n}</p> })}
                <details>
                    <summary>{move || (t.transitions)(steps())}</summary>
                    <ol class="transitions">{transitions}</ol>
                </details>
            </li>
        }
    };

    // Where the next page starts, when there is one.
    let next = Signal::derive(move || {
        let next = u64::from(offset.get() + PAGE);
        (next < total.get()).then_some(next)
    });

    view! {
        <section class="alerts-history" aria-labelledby="history-heading">
            <div class="toolbar">
                <h2 id="history-heading">{t.history}</h2>
                <label>
                    {t.show}
                    <select on:change=move |ev| {
                        let all = event_target_value(&ev) == "all";
                        states.set(if all { HistoryStates::All } else { HistoryStates::Resolved });
                        offset.set(0);
                    }>
                        <option value="resolved" selected=move || states.get() == HistoryStates::Resolved>{t.show_resolved}</option>
                        <option value="all" selected=move || states.get() == HistoryStates::All>{t.show_all}</option>
                    </select>
                </label>
                <label>
                    {t.severity}
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        severity.set(Severity::ALL.into_iter().find(|s| s.as_str() == v));
                        offset.set(0);
                    }>
                        <option value="" selected=move || severity.get().is_none()>{t.any_severity}</option>
                        {Severity::ALL
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str() selected=move || severity.get() == Some(s)>{i18n::severity_label(s)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    {t.time_range}
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        since.set(Range::ALL.into_iter().find(|r| r.as_str() == v));
                        offset.set(0);
                    }>
                        <option value="" selected=move || since.get().is_none()>{t.any_time}</option>
                        {Range::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=move || since.get() == Some(r)>{(t.last)(r)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    <input
                        type="checkbox"
                        prop:checked=move || with_unfired.get()
                        on:change=move |ev| {
                            with_unfired.set(event_target_checked(&ev));
                            offset.set(0);
                        }
                    />
                    {t.with_unfired}
                </label>
            </div>
            <LoadError fetched=fetched />
            <Show when=move || !none_match.get() fallback=move || view! { <p class="empty">{t.no_match}</p> }>
                <ul class="alert-list">
                    <For each=move || list.get() key=|a| a.id children=move |a| row(a.id) />
                </ul>
            </Show>
            <Pager
                offset=offset
                page=PAGE
                count=Signal::derive(move || list.with(Vec::len) as u32)
                total=total
                next=next
                label=t.pages
                range_testid="history-range"
            />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::{AlertMetric, Comparison};

    use super::*;

    fn alert(state: AlertState) -> Alert {
        Alert {
            id: 1,
            alert_type: "response_time".into(),
            severity: Severity::High,
            title: "Response time".into(),
            description: String::new(),
            metric_type: AlertMetric::ResponseTime,
            threshold_value: 2000.0,
            current_value: Some(2345.6),
            is_resolved: state == AlertState::Resolved,
            rule_id: 4,
            state,
            comparison: Comparison::Above,
            condition_holds: true,
            for_seconds: 60,
            started_at: 1_000_000,
            fired_at: Some(1_060_000),
            acknowledged_by: Some("Ana".into()),
            acknowledged_at: Some(1_100_000),
            resolved_by: None,
            resolved_at: Some(1_300_000),
            note: None,
            history: Vec::new(),
        }
    }

    #[test]
    fn ages_count_from_the_start_of_the_state() {
        let now = 1_240_000;
        assert_eq!(
            age_text(&alert(AlertState::Pending), now),
            "pending for 4 min"
        );
        assert_eq!(
            age_text(&alert(AlertState::Firing), now),
            "firing for 3 min"
        );
        assert_eq!(
            age_text(&alert(AlertState::Acknowledged), now),
            "firing for 3 min · acknowledged by Ana"
        );
        assert_eq!(
            age_text(&alert(AlertState::Resolved), 1_310_000),
            "resolved 10 s ago"
        );
    }

    #[test]
    fn values_read_against_their_threshold() {
        assert_eq!(
            value_text(&alert(AlertState::Firing)),
            "Response time 2346 ms vs threshold > 2000 ms"
        );
        assert_eq!(actor_text("system"), "automatically");
        assert_eq!(actor_text("Ana"), "by Ana");
    }

    #[test]
    fn alerts_read_in_french() {
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let pending = age_text(&alert(AlertState::Pending), 1_240_000);
        let value = value_text(&alert(AlertState::Firing));
        let actor = actor_text("system");
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(pending, "en attente depuis 4 min");
        assert_eq!(
            value,
            "Temps de réponse 2\u{202f}346 ms pour un seuil > 2\u{202f}000 ms"
        );
        assert_eq!(actor, "automatiquement");
    }
}
