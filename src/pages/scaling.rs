//! `/scaling`: one card per scaling configuration (its instances, the
//! trigger's value and last 15 minutes against both thresholds, what
//! automatic mode would do now, the cooldown left, the last action), with
//! Up, Down and Set through a confirmation dialog and the automatic-mode
//! switch; below, the audit log, filtered and paged; then the editor of
//! configurations. Cards and log are fetched again on each `scaling` and
//! `instances` event of the stream; pushed counts show at once.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{
    AutoScalingStatus, Executor, ScalingAction, ScalingActionsQuery, ScalingConfig,
    ScalingConfigSpec, ScalingDirection, ScalingMode, ScalingOutcome, ScalingScope, ScalingStatus,
    ScalingType, TriggerType, Verdict,
};
use vigie_charts::Point;

use crate::api::{ApiClient, ClientError, Range, Span, TriggerHistory, Window};
use crate::components::change_error::{ChangeError, LoadError};
use crate::components::chart::{Line, Threshold, ThresholdSide, TimeSeriesChart};
use crate::components::confirm::ConfirmButton;
use crate::components::pager::Pager;
use crate::components::scale_dialog::{Planned, ScaleDialog, change_text, planned};
use crate::components::scaling_editor::{ConfigForm, ScalingEditor};
use crate::format;
use crate::i18n;
use crate::lists::{action_error, last_answer, refetching_action, target_names};
use crate::live::{LiveHost, ticker, unix_now_ms};
use crate::pages::response_times::nice_ceiling;

/// Actions per page of the audit log.
const PAGE: u32 = 20;
/// Buckets of a sparkline: one per 10 s over 15 minutes.
const SPARK_POINTS: u32 = 90;

#[derive(Debug)]
struct Text {
    trigger: fn(TriggerType) -> &'static str,
    executor: fn(&Executor) -> &'static str,
    scaling_type: fn(ScalingType) -> &'static str,
    direction: fn(ScalingDirection) -> &'static str,
    mode: fn(ScalingMode) -> &'static str,
    outcome: fn(ScalingOutcome) -> &'static str,
    this_host: &'static str,
    target_n: fn(i64) -> String,
    thresholds: fn(&str, &str, &str) -> String,
    automatically: &'static str,
    by: fn(&str) -> String,
    title: &'static str,
    subtitle: &'static str,
    monitoring_paused: &'static str,
    no_configuration: &'static str,
    automatic_mode_of: fn(&str) -> String,
    automatic: &'static str,
    instances_of: fn(&str) -> String,
    desired: &'static str,
    current: &'static str,
    ready: &'static str,
    bounds: fn(u32, u32, u32) -> String,
    need: &'static str,
    no_cooldown: &'static str,
    cooldown_left: fn(&str) -> String,
    in_flight: &'static str,
    last_action: &'static str,
    no_action_yet: &'static str,
    kinds: fn(&str, &str) -> String,
    up: &'static str,
    down: &'static str,
    set_instances_of: fn(&str) -> String,
    set: &'static str,
    deleting: &'static str,
    delete_consequence: &'static str,
    chart: &'static str,
    scale_up_above: fn(&str, &str) -> String,
    scale_down_below: fn(&str, &str) -> String,
    log: &'static str,
    configuration: &'static str,
    any_configuration: &'static str,
    outcome_filter: &'static str,
    any_outcome: &'static str,
    actor: &'static str,
    anyone: &'static str,
    no_match: &'static str,
    col_time: &'static str,
    col_configuration: &'static str,
    col_direction: &'static str,
    col_change: &'static str,
    col_actor: &'static str,
    col_automatic: &'static str,
    col_outcome: &'static str,
    col_reason: &'static str,
    col_error: &'static str,
    forced: &'static str,
    log_pages: &'static str,
}

const EN: Text = Text {
    trigger: |t| match t {
        TriggerType::Cpu => "CPU",
        TriggerType::Memory => "Memory",
        TriggerType::ResponseTime => "Response time",
        TriggerType::ErrorRate => "Error rate",
        TriggerType::P95 => "p95",
    },
    executor: |e| match e {
        Executor::DryRun => "dry run",
        Executor::Command { .. } => "command",
        Executor::Kubernetes { .. } => "Kubernetes",
    },
    scaling_type: |t| match t {
        ScalingType::Horizontal => "horizontal",
        ScalingType::Vertical => "vertical",
        ScalingType::Hybrid => "hybrid",
    },
    direction: |d| match d {
        ScalingDirection::Up => "up",
        ScalingDirection::Down => "down",
        ScalingDirection::Set => "set",
    },
    mode: |m| match m {
        ScalingMode::Manual => "manual",
        ScalingMode::Automatic => "automatic",
    },
    outcome: |o| match o {
        ScalingOutcome::Running => "running",
        ScalingOutcome::Succeeded => "succeeded",
        ScalingOutcome::Failed => "failed",
        ScalingOutcome::Interrupted => "interrupted",
    },
    this_host: "this host",
    target_n: |id| format!("target {id}"),
    thresholds: |up, down, unit| format!("up above {up} {unit} · down below {down} {unit}"),
    automatically: "automatically",
    by: |actor| format!("by {actor}"),
    title: "Scaling",
    subtitle: "Instances of each service: scale by hand with a reason, or let automatic mode follow the trigger",
    monitoring_paused: "Monitoring is paused: automatic mode takes no action until it resumes.",
    no_configuration: "No scaling configuration: add one below.",
    automatic_mode_of: |name| format!("{name} automatic mode"),
    automatic: " Automatic",
    instances_of: |name| format!("Instances of {name}"),
    desired: "Desired",
    current: "Current",
    ready: "Ready",
    bounds: |min, max, step| format!("{min}–{max} instances, step {step}"),
    need: "Automatic mode now: ",
    no_cooldown: "No cooldown",
    cooldown_left: |left| format!("Cooldown: {left} left"),
    in_flight: " · an action is under way",
    last_action: "Last action: ",
    no_action_yet: "none",
    kinds: |kind, applied| format!("{kind} scaling · its executor applies {applied}"),
    up: "Up",
    down: "Down",
    set_instances_of: |name| format!("Set instances of {name}"),
    set: "Set…",
    deleting: "deleting",
    delete_consequence: "Its actions stay in the audit log",
    chart: "The trigger over the last 15 minutes, with the scale-up and scale-down thresholds",
    scale_up_above: |v, unit| format!("scale up above {v} {unit}"),
    scale_down_below: |v, unit| format!("scale down below {v} {unit}"),
    log: "Audit log",
    configuration: "Configuration ",
    any_configuration: "Any",
    outcome_filter: "Outcome ",
    any_outcome: "Any",
    actor: "Actor ",
    anyone: "anyone",
    no_match: "No action matches these filters.",
    col_time: "Time",
    col_configuration: "Configuration",
    col_direction: "Direction",
    col_change: "Before → after",
    col_actor: "Actor",
    col_automatic: "Automatic",
    col_outcome: "Outcome",
    col_reason: "Reason",
    col_error: "Error",
    forced: " (forced)",
    log_pages: "Audit log pages",
};

const FR: Text = Text {
    trigger: |t| match t {
        TriggerType::Cpu => "CPU",
        TriggerType::Memory => "Mémoire",
        TriggerType::ResponseTime => "Temps de réponse",
        TriggerType::ErrorRate => "Taux d’erreur",
        TriggerType::P95 => "p95",
    },
    executor: |e| match e {
        Executor::DryRun => "simulation",
        Executor::Command { .. } => "commande",
        Executor::Kubernetes { .. } => "Kubernetes",
    },
    scaling_type: |t| match t {
        ScalingType::Horizontal => "horizontale",
        ScalingType::Vertical => "verticale",
        ScalingType::Hybrid => "hybride",
    },
    direction: |d| match d {
        ScalingDirection::Up => "hausse",
        ScalingDirection::Down => "baisse",
        ScalingDirection::Set => "réglage",
    },
    mode: |m| match m {
        ScalingMode::Manual => "manuel",
        ScalingMode::Automatic => "automatique",
    },
    outcome: |o| match o {
        ScalingOutcome::Running => "en cours",
        ScalingOutcome::Succeeded => "réussie",
        ScalingOutcome::Failed => "échouée",
        ScalingOutcome::Interrupted => "interrompue",
    },
    this_host: "cet hôte",
    target_n: |id| format!("cible {id}"),
    thresholds: |up, down, unit| {
        format!("hausse au-dessus de {up} {unit} · baisse en dessous de {down} {unit}")
    },
    automatically: "automatiquement",
    by: |actor| format!("par {actor}"),
    title: "Mise à l’échelle",
    subtitle: "Instances de chaque service : mettez à l’échelle à la main avec une raison, ou laissez le mode automatique suivre le déclencheur",
    monitoring_paused: "La surveillance est en pause : le mode automatique n’agit pas avant sa reprise.",
    no_configuration: "Aucune configuration de mise à l’échelle : ajoutez-en une ci-dessous.",
    automatic_mode_of: |name| format!("Mode automatique de {name}"),
    automatic: " Automatique",
    instances_of: |name| format!("Instances de {name}"),
    desired: "Souhaitées",
    current: "Actuelles",
    ready: "Prêtes",
    bounds: |min, max, step| format!("{min}–{max} instances, pas de {step}"),
    need: "Mode automatique en ce moment : ",
    no_cooldown: "Aucune période de stabilisation",
    cooldown_left: |left| format!("Stabilisation : encore {left}"),
    in_flight: " · une action est en cours",
    last_action: "Dernière action : ",
    no_action_yet: "aucune",
    kinds: |kind, applied| format!("mise à l’échelle {kind} · son exécuteur applique {applied}"),
    up: "Augmenter",
    down: "Réduire",
    set_instances_of: |name| format!("Fixer les instances de {name}"),
    set: "Fixer…",
    deleting: "la suppression de",
    delete_consequence: "Ses actions restent dans le journal d’audit",
    chart: "Le déclencheur sur les 15 dernières minutes, avec les seuils d’augmentation et de réduction",
    scale_up_above: |v, unit| format!("augmenter au-dessus de {v} {unit}"),
    scale_down_below: |v, unit| format!("réduire en dessous de {v} {unit}"),
    log: "Journal d’audit",
    configuration: "Configuration ",
    any_configuration: "Toutes",
    outcome_filter: "Résultat ",
    any_outcome: "Tous",
    actor: "Auteur ",
    anyone: "n’importe qui",
    no_match: "Aucune action ne correspond à ces filtres.",
    col_time: "Date",
    col_configuration: "Configuration",
    col_direction: "Sens",
    col_change: "Avant → après",
    col_actor: "Auteur",
    col_automatic: "Automatique",
    col_outcome: "Résultat",
    col_reason: "Raison",
    col_error: "Erreur",
    forced: " (forcée)",
    log_pages: "Pages du journal d’audit",
};

/// This module's text in the current language.
fn words() -> &'static Text {
    i18n::pick(&EN, &FR)
}

pub fn trigger_label(t: TriggerType) -> &'static str {
    (words().trigger)(t)
}

pub fn executor_label(e: &Executor) -> &'static str {
    (words().executor)(e)
}

pub fn scaling_type_label(t: ScalingType) -> &'static str {
    (words().scaling_type)(t)
}

pub fn direction_text(d: ScalingDirection) -> &'static str {
    (words().direction)(d)
}

/// The mode's wire word, as `data-mode` and the editor's options carry it.
pub fn mode_text(m: ScalingMode) -> &'static str {
    match m {
        ScalingMode::Manual => "manual",
        ScalingMode::Automatic => "automatic",
    }
}

/// A person's name for a mode.
pub fn mode_label(m: ScalingMode) -> &'static str {
    (words().mode)(m)
}

/// A person's name for an outcome.
fn outcome_label(o: ScalingOutcome) -> &'static str {
    (words().outcome)(o)
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::ScaleUp => "scale_up",
        Verdict::ScaleDown => "scale_down",
        Verdict::Hold => "hold",
        Verdict::NoDecision => "no_decision",
    }
}

/// What a configuration's trigger is measured on.
fn scope_text(scope: &ScalingScope, target_name: impl Fn(i64) -> Option<String>) -> String {
    match scope {
        ScalingScope::Host => words().this_host.into(),
        ScalingScope::Node { target_id } | ScalingScope::Target { target_id } => {
            target_name(*target_id).unwrap_or_else(|| (words().target_n)(*target_id))
        }
        ScalingScope::Requests {
            service,
            endpoint: Some(endpoint),
        } => format!("{service} · {endpoint}"),
        ScalingScope::Requests { service, .. } => service.clone(),
    }
}

/// `CPU 43.2 %` against `up above 80 % · down below 20 %`.
pub fn thresholds_text(spec: &ScalingConfigSpec) -> String {
    (words().thresholds)(
        &format::number(spec.scale_up_threshold),
        &format::number(spec.scale_down_threshold),
        spec.trigger_type.unit(),
    )
}

/// The last action, in one line.
pub fn action_text(a: &ScalingAction) -> String {
    let t = words();
    let who = if a.automatic {
        t.automatically.to_owned()
    } else {
        (t.by)(&a.actor)
    };
    format!(
        "{} {} {who}, {} · {}",
        direction_text(a.direction),
        change_text(a.before, a.after),
        outcome_label(a.outcome),
        format::date_time(a.started_at)
    )
}

/// The trigger's figure over a window, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerSeries {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Points further apart are a gap.
    pub gap_ms: i64,
    pub points: Vec<Point>,
}

/// The trigger's figure picked from what the server answered.
pub fn trigger_series(trigger: TriggerType, history: &TriggerHistory) -> Option<TriggerSeries> {
    match history {
        TriggerHistory::Host(r) => {
            let h = r.history.as_ref()?;
            let points = h
                .points
                .iter()
                .filter_map(|p| match trigger {
                    TriggerType::Cpu => Some((p.ts_ms, p.cpu_usage.avg)),
                    TriggerType::Memory => Some((p.ts_ms, p.memory_usage.avg)),
                    _ => None,
                })
                .collect();
            let step = h.bucket_ms.max((r.interval_s * 1000.0) as i64);
            Some(TriggerSeries {
                from_ms: h.from_ms,
                to_ms: h.to_ms,
                gap_ms: step * 5 / 2,
                points,
            })
        }
        TriggerHistory::Responses(m) => {
            let points = m
                .series
                .iter()
                .filter_map(|p| {
                    let v = match trigger {
                        TriggerType::ResponseTime => p.avg,
                        TriggerType::P95 => p.p95,
                        TriggerType::ErrorRate if p.count > 0 => {
                            Some(p.errors as f64 * 100.0 / p.count as f64)
                        }
                        _ => None,
                    };
                    v.map(|v| (p.ts_ms, v))
                })
                .collect();
            Some(TriggerSeries {
                from_ms: m.from_ms,
                to_ms: m.to_ms,
                gap_ms: m.bucket_ms * 5 / 2,
                points,
            })
        }
    }
}

/// The status as last fetched, with the stream's event count when the fetch
/// began (counts pushed after it are newer) and when it was answered.
#[derive(Debug, Clone, PartialEq)]
struct Fetched {
    seen: u64,
    at_ms: i64,
    status: AutoScalingStatus,
}

#[component]
pub fn Scaling() -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    // Trigger values and the cooldown move between events.
    let refresh = ticker(Duration::from_secs(5));
    // Moved by this page's own changes: everything refetches at once.
    let changed = RwSignal::new(0_u32);
    let form = ConfigForm::new();
    let fetched = LocalResource::new({
        let client = client.clone();
        move || {
            let seen = live.scaling_seen.get();
            changed.get();
            refresh.get();
            let client = client.clone();
            async move {
                let status = client.auto_scaling_status().await?;
                Ok::<_, ClientError>(Fetched {
                    seen,
                    at_ms: unix_now_ms(),
                    status,
                })
            }
        }
    });
    // The last answer, kept while the next one loads or fails.
    let last = last_answer(fetched);
    let statuses = Memo::new(move |_| {
        last.with(|f| {
            f.as_ref()
                .map(|f| f.status.configurations.clone())
                .unwrap_or_default()
        })
    });
    let ids = Memo::new(move |_| {
        statuses.with(|l| l.iter().map(|s| s.configuration.id).collect::<Vec<_>>())
    });
    let monitoring_off =
        Memo::new(move |_| last.with(|f| f.as_ref().is_some_and(|f| !f.status.monitoring_active)));
    let loaded = Memo::new(move |_| last.with(Option::is_some));
    let target_name = target_names(changed);
    let configurations = Memo::new(move |_| {
        statuses.with(|l| {
            l.iter()
                .map(|s| (s.configuration.id, s.configuration.spec.name.clone()))
                .collect::<Vec<_>>()
        })
    });

    let t = words();
    let card = move |id: i64| {
        view! {
            <ScalingCard
                id=id
                statuses=statuses
                last=last
                changed=changed
                form=form
                target_name=Callback::new(target_name)
            />
        }
    };

    let cards = move || {
        if !loaded.get() {
            return view! { <p>{i18n::common().loading}</p> }.into_any();
        }
        if ids.with(Vec::is_empty) {
            return view! {
                <p class="empty" data-testid="no-configuration">
                    {t.no_configuration}
                </p>
            }
            .into_any();
        }
        view! {
            <div class="scaling-cards">
                <For each=move || ids.get() key=|id| *id children=card />
            </div>
        }
        .into_any()
    };

    view! {
        <section class="page scaling-page">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
            </header>
            {move || monitoring_off.get().then(|| view! {
                <p class="banner" data-testid="monitoring-paused">
                    {t.monitoring_paused}
                </p>
            })}
            <LoadError fetched=fetched />
            {cards}
            <ScalingLog configurations=configurations changed=changed />
            <ScalingEditor form=form on_saved=Callback::new(move |_| changed.update(|n| *n += 1)) />
        </section>
    }
}

#[component]
fn ScalingCard(
    id: i64,
    statuses: Memo<Vec<ScalingStatus>>,
    last: Memo<Option<Fetched>>,
    changed: RwSignal<u32>,
    form: ConfigForm,
    target_name: Callback<i64, Option<String>>,
) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let t = words();
    let clock = ticker(Duration::from_secs(1));
    let current =
        Memo::new(move |_| statuses.with(|l| l.iter().find(|s| s.configuration.id == id).cloned()));
    let spec =
        Memo::new(move |_| current.with(|s| s.as_ref().map(|s| s.configuration.spec.clone())));
    // The counts pushed since the status was fetched, else the status's.
    let instances = Memo::new(move |_| {
        let seen = last.with(|f| f.as_ref().map_or(0, |f| f.seen));
        let pushed = live
            .instances_pushed
            .with(|m| m.get(&id).copied())
            .filter(|(at, _)| *at > seen)
            .map(|(_, i)| i);
        pushed.or_else(|| current.with(|s| s.as_ref().map(|s| s.instances)))
    });
    let count = Signal::derive(move || instances.get().and_then(|i| i.desired.or(i.current)));
    // The cooldown counted down from the fetched value, second by second.
    let cooldown_left = move || {
        clock.get();
        let at = last.with(|f| f.as_ref().map_or(0, |f| f.at_ms));
        let left = current.with(|s| s.as_ref().map_or(0, |s| s.cooldown_left_s));
        let gone = ((unix_now_ms() - at).max(0) / 1000) as u64;
        left.saturating_sub(gone)
    };
    let in_flight = move || current.with(|s| s.as_ref().is_some_and(|s| s.in_flight));
    let text = move |f: fn(&ScalingStatus) -> String| {
        move || current.with(|s| s.as_ref().map(f).unwrap_or_default())
    };
    let name = current
        .get_untracked()
        .map(|s| s.configuration.spec.name)
        .unwrap_or_default();

    let toggle = refetching_action(changed, &client, |client, config: &ScalingConfig| {
        let (id, mut spec) = (config.id, config.spec.clone());
        spec.mode = match spec.mode {
            ScalingMode::Manual => ScalingMode::Automatic,
            ScalingMode::Automatic => ScalingMode::Manual,
        };
        async move { client.replace_scaling_config(id, &spec).await }
    });
    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_scaling_config(id).await }
    });
    let automatic =
        move || spec.with(|s| s.as_ref().is_some_and(|s| s.mode == ScalingMode::Automatic));
    // What the switch shows: the click while its request runs, then the
    // latest word from the server, whether this switch's own answer or the
    // list refetched after anyone's change. After a refusal it shows the mode
    // again, not the click.
    let shown = RwSignal::new(untrack(automatic));
    Effect::new(move || shown.set(automatic()));
    Effect::new(move || match toggle.value().get() {
        Some(Ok(config)) => shown.set(config.spec.mode == ScalingMode::Automatic),
        Some(Err(_)) => shown.set(automatic()),
        None => {}
    });

    // The dialog open on this card, for which action.
    let acting = RwSignal::new(None::<ScalingDirection>);
    let dialog = move || {
        acting.get().map(|direction| {
            view! {
                <ScaleDialog
                    configuration=id
                    spec=spec
                    current=count
                    direction=direction
                    on_close=Callback::new(move |_| acting.set(None))
                    on_done=Callback::new(move |_| {
                        acting.set(None);
                        changed.update(|n| *n += 1);
                    })
                />
            }
        })
    };
    // Up or down would be refused: disabled, saying why.
    let refusal = move |direction: ScalingDirection| {
        spec.with(
            |s| match s.as_ref().map(|s| planned(s, direction, count.get(), None)) {
                Some(Planned::Refused(why)) => Some(why),
                Some(Planned::To(_)) => None,
                None => Some(String::new()),
            },
        )
    };
    let button = |direction: ScalingDirection, label: &'static str, name: &str| {
        let aria = format!("{label} {name}");
        view! {
            <button
                type="button"
                aria-label=aria
                title=move || refusal(direction)
                disabled=move || in_flight() || refusal(direction).is_some()
                on:click=move |_| acting.set(Some(direction))
            >
                {label}
            </button>
        }
    };
    let counts = move |pick: fn(&vigie_api::Instances) -> Option<u32>| {
        move || {
            instances
                .get()
                .and_then(|i| pick(&i))
                .map_or_else(|| "—".to_owned(), |n| n.to_string())
        }
    };
    let scope = move || {
        current.with(|s| {
            s.as_ref()
                .map(|s| scope_text(&s.configuration.spec.scope, |id| target_name.run(id)))
        })
    };
    let live_value = move || {
        current.with(|s| {
            s.as_ref().map(|s| {
                format!(
                    "{} {}",
                    trigger_label(s.configuration.spec.trigger_type),
                    format::measured(s.trigger_value, &s.unit)
                )
            })
        })
    };

    view! {
        <article
            class="panel scaling-card"
            data-testid="scaling-card"
            data-config-id=id
            data-name=name.clone()
            data-mode=move || spec.with(|s| s.as_ref().map(|s| mode_text(s.mode)))
        >
            <header class="scaling-card-header">
                <h3>{text(|s| s.configuration.spec.name.clone())}</h3>
                <span class="kind" data-testid="executor">{text(|s| executor_label(&s.configuration.spec.executor).to_owned())}</span>
                <span class="kind" data-testid="mode">{text(|s| mode_label(s.configuration.spec.mode).to_owned())}</span>
                <label class="switch">
                    <input
                        type="checkbox"
                        role="switch"
                        aria-label=(t.automatic_mode_of)(&name)
                        prop:checked=move || shown.get()
                        disabled=move || toggle.pending().get()
                        on:change=move |ev| {
                            if let Some(s) = current.get_untracked() {
                                shown.set(event_target_checked(&ev));
                                toggle.dispatch(s.configuration);
                            }
                        }
                    />
                    {t.automatic}
                </label>
            </header>
            <div class="instances" role="group" aria-label=(t.instances_of)(&name)>
                <div class="count">
                    <span class="kpi-label">{t.desired}</span>
                    <span class="kpi-value" data-testid="desired">{counts(|i| i.desired)}</span>
                </div>
                <div class="count">
                    <span class="kpi-label">{t.current}</span>
                    <span class="kpi-value" data-testid="current">{counts(|i| i.current)}</span>
                </div>
                <div class="count">
                    <span class="kpi-label">{t.ready}</span>
                    <span class="kpi-value" data-testid="ready">{counts(|i| i.ready)}</span>
                </div>
                <p class="bounds">
                    {text(|s| {
                        let c = &s.configuration.spec;
                        (words().bounds)(c.min_instances, c.max_instances, c.step)
                    })}
                </p>
            </div>
            {move || current.with(|s| s.as_ref().and_then(|s| s.executor_error.clone())).map(|e| view! {
                <p class="error" data-testid="executor-error">{e}</p>
            })}
            <p class="trigger">
                <strong data-testid="trigger-value">{live_value}</strong>
                " · "
                <span>{text(|s| thresholds_text(&s.configuration.spec))}</span>
                " · "
                <span class="scope">{scope}</span>
            </p>
            {move || spec.get().map(|s| view! { <Sparkline spec=s /> })}
            <p
                class="need"
                data-testid="need"
                data-verdict=move || current.with(|s| s.as_ref().map(|s| verdict_text(s.check_scaling_needs.verdict)))
            >
                {t.need}
                {text(|s| s.check_scaling_needs.reason.clone())}
            </p>
            <p class="facts">
                <span data-testid="cooldown" data-left=move || cooldown_left().to_string()>
                    {move || match cooldown_left() {
                        0 => t.no_cooldown.to_owned(),
                        left => (t.cooldown_left)(&format::duration(left.min(u64::from(u32::MAX)) as u32)),
                    }}
                </span>
                {move || in_flight().then(|| view! { <span class="in-flight">{t.in_flight}</span> })}
            </p>
            <p class="facts" data-testid="last-action">
                {t.last_action}
                {move || current.with(|s| {
                    s.as_ref()
                        .and_then(|s| s.last_action.as_ref())
                        .map_or_else(|| t.no_action_yet.to_owned(), action_text)
                })}
            </p>
            <p class="facts">
                {text(|s| {
                    let kinds: Vec<&str> = s.supported_types.iter().map(|t| scaling_type_label(*t)).collect();
                    (words().kinds)(
                        scaling_type_label(s.configuration.spec.scaling_type),
                        &kinds.join(", "),
                    )
                })}
            </p>
            <div class="actions">
                {button(ScalingDirection::Up, t.up, &name)}
                {button(ScalingDirection::Down, t.down, &name)}
                <button
                    type="button"
                    aria-label=(t.set_instances_of)(&name)
                    disabled=in_flight
                    on:click=move |_| acting.set(Some(ScalingDirection::Set))
                >
                    {t.set}
                </button>
                <button
                    type="button"
                    aria-label=format!("{} {name}", i18n::common().edit)
                    on:click=move |_| {
                        if let Some(s) = current.get_untracked() {
                            form.load(&s.configuration);
                        }
                    }
                >
                    {i18n::common().edit}
                </button>
                <ConfirmButton
                    verb=i18n::common().delete
                    verbing=t.deleting
                    name=name.clone()
                    consequence=t.delete_consequence
                    on_confirm=Callback::new(move |()| {
                        remove.dispatch(id);
                    })
                />
            </div>
            <ChangeError error=Signal::derive(move || action_error(toggle).or_else(|| action_error(remove))) />
            {dialog}
        </article>
    }
}

/// The trigger over the last 15 minutes, both thresholds across it.
#[component]
fn Sparkline(spec: ScalingConfigSpec) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = words();
    let tick = ticker(Duration::from_secs(10));
    let trigger = spec.trigger_type;
    let unit = trigger.unit();
    let scope = spec.scope.clone();
    let fetched = LocalResource::new(move || {
        tick.get();
        let (client, scope) = (client.clone(), scope.clone());
        let window = Window {
            span: Span::Last(Range::M15),
            points: SPARK_POINTS,
        };
        async move { client.trigger_history(&scope, &window).await }
    });
    let series = Memo::new(
        move |prev: Option<&Option<TriggerSeries>>| match fetched.get() {
            Some(Ok(h)) => trigger_series(trigger, &h),
            _ => prev.cloned().flatten(),
        },
    );
    let lines = Signal::derive(move || {
        vec![Line {
            name: trigger_label(trigger),
            color_var: "--series-1",
            points: series.with(|s| s.as_ref().map(|s| s.points.clone()).unwrap_or_default()),
        }]
    });
    let window = Signal::derive(move || series.with(|s| s.as_ref().map(|s| s.from_ms..s.to_ms)));
    let gap_ms = Signal::derive(move || series.with(|s| s.as_ref().map_or(10_000, |s| s.gap_ms)));
    let (up, down) = (spec.scale_up_threshold, spec.scale_down_threshold);
    let y_range = Signal::derive(move || {
        if unit == "%" {
            return 0.0..100.0;
        }
        let top = series.with(|s| {
            s.as_ref()
                .map_or(0.0, |s| s.points.iter().map(|p| p.1).fold(0.0, f64::max))
        });
        0.0..nice_ceiling(top.max(up) * 1.1)
    });
    let thresholds = vec![
        Threshold {
            label: (t.scale_up_above)(&format::number(up), unit),
            value: up,
            side: ThresholdSide::Above,
        },
        Threshold {
            label: (t.scale_down_below)(&format::number(down), unit),
            value: down,
            side: ThresholdSide::Below,
        },
    ];
    let y_unit = if unit == "%" { " %" } else { " ms" };
    let error = move || match fetched.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <div class="sparkline">
            <TimeSeriesChart
                label=t.chart
                lines=lines
                window=window
                y_range=y_range
                y_unit=y_unit
                gap_ms=gap_ms
                thresholds=Signal::stored(thresholds)
            />
            {move || error().map(|e| view! { <p class="error">{e}</p> })}
        </div>
    }
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub configuration: Option<i64>,
    pub outcome: Option<ScalingOutcome>,
    /// Empty: anyone.
    pub actor: String,
}

impl LogFilter {
    /// The query of one page, as the server reads it.
    pub fn query(&self, offset: u32) -> ScalingActionsQuery {
        let actor = self.actor.trim();
        ScalingActionsQuery {
            configuration: self.configuration,
            actor: (!actor.is_empty()).then(|| actor.to_owned()),
            outcome: self.outcome,
            limit: Some(PAGE),
            offset: Some(offset),
            ..ScalingActionsQuery::default()
        }
    }
}

const OUTCOMES: [ScalingOutcome; 4] = [
    ScalingOutcome::Running,
    ScalingOutcome::Succeeded,
    ScalingOutcome::Failed,
    ScalingOutcome::Interrupted,
];

#[component]
fn ScalingLog(configurations: Memo<Vec<(i64, String)>>, changed: RwSignal<u32>) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    let t = words();
    let filter = RwSignal::new(LogFilter::default());
    let offset = RwSignal::new(0_u32);
    let fetched = LocalResource::new(move || {
        live.scaling_seen.get();
        changed.get();
        let query = filter.with(|f| f.query(offset.get()));
        let client = client.clone();
        async move { client.scaling_actions(&query).await }
    });
    let page = last_answer(fetched);
    let list = Memo::new(move |_| page.get().map(|p| p.actions).unwrap_or_default());
    let total = Memo::new(move |_| page.get().map_or(0, |p| p.total));
    let next_offset = Memo::new(move |_| page.get().and_then(|p| p.next_offset));
    let none_match =
        Memo::new(move |_| page.with(|p| p.as_ref().is_some_and(|p| p.actions.is_empty())));
    let set_filter = move |f: &dyn Fn(&mut LogFilter)| {
        filter.update(|l| f(l));
        offset.set(0);
    };

    let row = move |id: i64| {
        let current = Memo::new(move |_| list.with(|l| l.iter().find(|a| a.id == id).cloned()));
        let text = move |f: fn(&ScalingAction) -> String| {
            move || current.with(|a| a.as_ref().map(f).unwrap_or_default())
        };
        view! {
            <tr
                data-testid="scaling-action"
                data-action-id=id
                data-outcome=move || current.with(|a| a.as_ref().map(|a| a.outcome.as_str()))
            >
                <td class="num">{text(|a| format::date_time(a.started_at))}</td>
                <td>{text(|a| a.configuration_name.clone())}</td>
                <td data-testid="direction">{text(|a| direction_text(a.direction).to_owned())}</td>
                <td class="num" data-testid="change">{text(|a| change_text(a.before, a.after))}</td>
                <td data-testid="actor">{text(|a| a.actor.clone())}</td>
                <td>{text(|a| {
                    let common = i18n::common();
                    if a.automatic { common.yes.into() } else { common.no.into() }
                })}</td>
                <td class="outcome" data-testid="outcome">{text(|a| {
                    let forced = if a.forced { words().forced } else { "" };
                    format!("{}{forced}", outcome_label(a.outcome))
                })}</td>
                <td data-testid="reason">{text(|a| a.reason.clone())}</td>
                <td class="error" data-testid="action-error">{text(|a| a.error.clone().unwrap_or_default())}</td>
            </tr>
        }
    };

    view! {
        <section class="scaling-log" aria-labelledby="scaling-log-heading">
            <div class="toolbar">
                <h2 id="scaling-log-heading">{t.log}</h2>
                <label>
                    {t.configuration}
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev).parse().ok();
                        set_filter(&|f| f.configuration = v);
                    }>
                        <option value="" selected=move || filter.with(|f| f.configuration.is_none())>{t.any_configuration}</option>
                        {move || configurations.get().into_iter().map(|(id, name)| view! {
                            <option value=id.to_string() selected=move || filter.with(|f| f.configuration == Some(id))>{name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    {t.outcome_filter}
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let outcome = OUTCOMES.into_iter().find(|o| o.as_str() == v);
                        set_filter(&|f| f.outcome = outcome);
                    }>
                        <option value="" selected=move || filter.with(|f| f.outcome.is_none())>{t.any_outcome}</option>
                        {OUTCOMES
                            .into_iter()
                            .map(|o| view! { <option value=o.as_str() selected=move || filter.with(|f| f.outcome == Some(o))>{outcome_label(o)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    {t.actor}
                    // Applied when the field is left or Enter is pressed, not at each key.
                    <input
                        type="search"
                        placeholder=t.anyone
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            set_filter(&|f| f.actor = v.clone());
                        }
                    />
                </label>
            </div>
            <LoadError fetched=fetched />
            <Show
                when=move || !none_match.get()
                fallback=move || view! { <p class="empty" data-testid="no-action">{t.no_match}</p> }
            >
                <table class="targets scaling-actions">
                    <thead>
                        <tr>
                            <th scope="col">{t.col_time}</th>
                            <th scope="col">{t.col_configuration}</th>
                            <th scope="col">{t.col_direction}</th>
                            <th scope="col">{t.col_change}</th>
                            <th scope="col">{t.col_actor}</th>
                            <th scope="col">{t.col_automatic}</th>
                            <th scope="col">{t.col_outcome}</th>
                            <th scope="col">{t.col_reason}</th>
                            <th scope="col">{t.col_error}</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || list.get() key=|a| a.id children=move |a| row(a.id) />
                    </tbody>
                </table>
            </Show>
            <Pager
                offset=offset
                page=PAGE
                count=Signal::derive(move || list.with(Vec::len) as u32)
                total=total
                next=next_offset
                label=t.log_pages
                range_testid="log-range"
            />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::{
        HostCapacities, MetricsPoint, MetricsResponse, ResourceHistory, ResourcePoint, Spread,
        SystemResources,
    };

    use super::*;

    fn action() -> ScalingAction {
        ScalingAction {
            id: 1,
            configuration_id: 2,
            configuration_name: "web".into(),
            direction: ScalingDirection::Up,
            actor: "Ana".into(),
            automatic: false,
            reason: "launch".into(),
            trigger_value: Some(91.0),
            executor: "command".into(),
            before: Some(2),
            after: Some(3),
            outcome: ScalingOutcome::Succeeded,
            error: None,
            output: None,
            forced: false,
            started_at: 1_714_572_202_000,
            finished_at: Some(1_714_572_203_000),
        }
    }

    #[test]
    fn actions_read_in_one_line() {
        assert_eq!(
            action_text(&action()),
            "up 2 → 3 by Ana, succeeded · 2024-05-01 14:03:22"
        );
        let auto = ScalingAction {
            automatic: true,
            direction: ScalingDirection::Down,
            before: None,
            after: None,
            outcome: ScalingOutcome::Failed,
            ..action()
        };
        assert!(action_text(&auto).starts_with("down — → — automatically, failed"));
    }

    #[test]
    fn actions_read_in_french() {
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let text = action_text(&action());
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(text, "hausse 2 → 3 par Ana, réussie · 01/05/2024 14:03:22");
    }

    #[test]
    fn log_queries_leave_out_what_is_unset() {
        let q =
            |f: &LogFilter, offset| serde_urlencoded::to_string(f.query(offset)).expect("encode");
        assert_eq!(q(&LogFilter::default(), 0), "limit=20&offset=0");
        let f = LogFilter {
            configuration: Some(3),
            outcome: Some(ScalingOutcome::Failed),
            actor: " Ana B ".into(),
        };
        assert_eq!(
            q(&f, 40),
            "configuration=3&actor=Ana+B&outcome=failed&limit=20&offset=40"
        );
    }

    #[test]
    fn the_trigger_figure_is_picked_from_the_answer() {
        let spread = |v| Spread {
            min: v,
            avg: v,
            max: v,
        };
        let host = TriggerHistory::Host(SystemResources {
            ts_ms: Some(0),
            cpu_usage: None,
            memory_usage: None,
            disk_usage: None,
            network_usage: None,
            capacities: HostCapacities {
                hostname: String::new(),
                cpu_cores: 1,
                memory_total_bytes: 0,
                disk_total_bytes: 0,
                disk_mount: String::new(),
            },
            interval_s: 1.0,
            series: Vec::new(),
            history: Some(ResourceHistory {
                from_ms: 0,
                to_ms: 900_000,
                bucket_ms: 10_000,
                points: vec![ResourcePoint {
                    ts_ms: 10_000,
                    count: 10,
                    cpu_usage: spread(40.0),
                    memory_usage: spread(60.0),
                    disk_usage: spread(0.0),
                    network_usage: spread(0.0),
                }],
            }),
        });
        let s = trigger_series(TriggerType::Memory, &host).expect("a series");
        assert_eq!((s.points, s.gap_ms), (vec![(10_000, 60.0)], 25_000));
        let point = |count, errors, avg| MetricsPoint {
            ts_ms: 5,
            count,
            errors,
            avg,
            min: None,
            max: None,
            p95: Some(300.0),
            p99: None,
        };
        let mut answer: MetricsResponse = serde_json::from_value(serde_json::json!({
            "performance_metrics": {"avg_response_time": null, "total_requests": 4,
                "error_rate": null, "throughput": null, "availability": null,
                "p50": null, "p95": null, "p99": null},
            "from_ms": 0, "to_ms": 10, "bucket_ms": 10, "target_id": null, "series": [],
        }))
        .expect("a metrics answer");
        answer.series = vec![point(4, 1, Some(120.0)), point(0, 0, None)];
        let responses = TriggerHistory::Responses(answer);
        let rate = trigger_series(TriggerType::ErrorRate, &responses).expect("a series");
        assert_eq!(rate.points, vec![(5, 25.0)]);
        let avg = trigger_series(TriggerType::ResponseTime, &responses).expect("a series");
        assert_eq!(avg.points, vec![(5, 120.0)]);
    }
}
