//! `/alerts/rules`: the rules that raise alerts. Each one's condition,
//! duration, margin and window, its last measured value, a switch to enable
//! or disable it; a form to add one or edit it; removal after a confirmation.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{AlertMetric, AlertRule, AlertRuleSpec, Comparison, Severity, TargetKind};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::{ChangeError, FieldError, LoadError};
use crate::components::confirm::ConfirmButton;
use crate::components::form::{EditorActions, Field, Select, aria_invalid};
use crate::components::severity::SeverityChip;
use crate::components::target_picker::TargetPicker;
use crate::lists::{Saved, action_error, last_list, refetching_action, save_action, target_names};
use crate::live::{LiveHost, ticker};
use crate::pages::alerts::AlertTabs;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    this_host: &'static str,
    the_cache: &'static str,
    the_databases: &'static str,
    target: fn(i64) -> String,
    source: fn(i64) -> String,
    source_of: &'static str,
    all_sources: &'static str,
    all_probes: &'static str,
    /// A comparison's word in the form's choice (its `value` keeps the wire's).
    comparison: fn(Comparison) -> &'static str,
    enabled_label: fn(&str) -> String,
    edit_label: fn(&str) -> String,
    deleting: &'static str,
    delete_consequence: &'static str,
    no_rule: &'static str,
    col_name: &'static str,
    col_metric: &'static str,
    col_condition: &'static str,
    col_for: &'static str,
    col_margin: &'static str,
    col_window: &'static str,
    col_severity: &'static str,
    col_last_value: &'static str,
    col_actions: &'static str,
    title: &'static str,
    subtitle: &'static str,
    edit_a_rule: &'static str,
    add_a_rule: &'static str,
    edit_rule: &'static str,
    name: &'static str,
    metric: &'static str,
    fires_when: &'static str,
    threshold: fn(&str) -> String,
    severity: &'static str,
    for_seconds: &'static str,
    recovery_margin: fn(&str) -> String,
    window_seconds: &'static str,
    probes_of: &'static str,
    all_targets: &'static str,
    or_service: &'static str,
    service_placeholder: &'static str,
    endpoint: &'static str,
    endpoint_placeholder: &'static str,
    add_rule: &'static str,
}

const EN: Text = Text {
    this_host: "this host",
    the_cache: "the cache",
    the_databases: "the databases",
    target: |id| format!("target {id}"),
    source: |id| format!("source {id}"),
    source_of: "Source",
    all_sources: "All sources together",
    all_probes: "all probes",
    comparison: comparison_word,
    enabled_label: |name| format!("{name} enabled"),
    edit_label: |name| format!("Edit {name}"),
    deleting: "deleting",
    delete_consequence: "Its open alert, if any, is resolved",
    no_rule: "No rule: add one above.",
    col_name: "Name",
    col_metric: "Metric",
    col_condition: "Condition",
    col_for: "For",
    col_margin: "Margin",
    col_window: "Window",
    col_severity: "Severity",
    col_last_value: "Last value",
    col_actions: "Actions",
    title: "Alert rules",
    subtitle: "When a measurement raises an alert, and how urgent it is",
    edit_a_rule: "Edit a rule",
    add_a_rule: "Add a rule",
    edit_rule: "Edit rule",
    name: "Name",
    metric: "Metric",
    fires_when: "Fires when",
    threshold: |unit| format!("Threshold ({unit})"),
    severity: "Severity",
    for_seconds: "For (s)",
    recovery_margin: |unit| format!("Recovery margin ({unit})"),
    window_seconds: "Window (s)",
    probes_of: "Probes of",
    all_targets: "All targets",
    or_service: "Or service",
    service_placeholder: "ingested requests",
    endpoint: "Endpoint",
    endpoint_placeholder: "all endpoints",
    add_rule: "Add rule",
};

const FR: Text = Text {
    this_host: "cet hôte",
    the_cache: "le cache",
    the_databases: "les bases de données",
    target: |id| format!("cible {id}"),
    source: |id| format!("source {id}"),
    source_of: "Source",
    all_sources: "Toutes les sources ensemble",
    all_probes: "toutes les sondes",
    comparison: |c| match c {
        Comparison::Above => "au-dessus",
        Comparison::Below => "en dessous",
    },
    enabled_label: |name| format!("{name} activée"),
    edit_label: |name| format!("Modifier {name}"),
    deleting: "la suppression de",
    delete_consequence: "Son alerte ouverte, s’il y en a une, est résolue",
    no_rule: "Aucune règle : ajoutez-en une ci-dessus.",
    col_name: "Nom",
    col_metric: "Métrique",
    col_condition: "Condition",
    col_for: "Durée",
    col_margin: "Marge",
    col_window: "Fenêtre",
    col_severity: "Gravité",
    col_last_value: "Dernière valeur",
    col_actions: "Actions",
    title: "Règles d’alerte",
    subtitle: "Quand une mesure lève une alerte, et avec quelle urgence",
    edit_a_rule: "Modifier une règle",
    add_a_rule: "Ajouter une règle",
    edit_rule: "Modifier la règle",
    name: "Nom",
    metric: "Métrique",
    fires_when: "Se déclenche si",
    threshold: |unit| format!("Seuil ({unit})"),
    severity: "Gravité",
    for_seconds: "Durée (s)",
    recovery_margin: |unit| format!("Marge de rétablissement ({unit})"),
    window_seconds: "Fenêtre (s)",
    probes_of: "Sondes de",
    all_targets: "Toutes les cibles",
    or_service: "Ou service",
    service_placeholder: "requêtes ingérées",
    endpoint: "Point d’accès",
    endpoint_placeholder: "tous les points d’accès",
    add_rule: "Ajouter la règle",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

/// Whether a metric is measured over a window of requests (probes or
/// ingested), so that the window and the request scope apply to it.
fn uses_requests(metric: AlertMetric) -> bool {
    metric.takes_scope()
}

/// `> 80 %`
pub fn condition_text(spec: &AlertRuleSpec) -> String {
    format!(
        "{} {} {}",
        spec.comparison.symbol(),
        format::number(spec.threshold),
        spec.metric.unit()
    )
}

/// What a rule's figures are taken from.
fn scope_text(spec: &AlertRuleSpec, target_name: Option<&str>) -> String {
    let t = text();
    if spec.metric.is_host() {
        return t.this_host.into();
    }
    if let Some(id) = spec.source_id.filter(|_| spec.metric.takes_source()) {
        return (t.source)(id);
    }
    if spec.metric == AlertMetric::SlowQueryTime {
        return t.the_databases.into();
    }
    if !uses_requests(spec.metric) {
        return t.the_cache.into();
    }
    match (&spec.service, &spec.endpoint, spec.target_id) {
        (Some(service), Some(endpoint), _) => format!("{service} · {endpoint}"),
        (Some(service), None, _) => service.clone(),
        (None, _, Some(id)) => target_name.map_or_else(|| (t.target)(id), str::to_owned),
        (None, _, None) => t.all_probes.into(),
    }
}

/// A comparison's wire word, the `value` of its choice.
fn comparison_word(c: Comparison) -> &'static str {
    match c {
        Comparison::Above => "above",
        Comparison::Below => "below",
    }
}

/// Fields of the form the server may name in a refusal.
const FIELDS: &[&str] = &[
    "name",
    "metric",
    "comparison",
    "threshold",
    "severity",
    "for_seconds",
    "recovery_margin",
    "window_seconds",
    "target_id",
    "service",
    "endpoint",
    "source_id",
];

#[component]
pub fn AlertRules() -> impl IntoView {
    let t = text();
    let common = i18n::common();
    let client = expect_context::<ApiClient>();
    let live = expect_context::<LiveHost>();
    // Last values move with every evaluation.
    let tick = ticker(Duration::from_secs(5));
    let changed = RwSignal::new(0_u32);
    let form = RuleForm::new();
    let rules = LocalResource::new({
        let client = client.clone();
        move || {
            tick.get();
            changed.get();
            live.alerts_seen.get();
            let client = client.clone();
            async move { client.alert_rules().await }
        }
    });
    let target_name = target_names(changed);

    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_alert_rule(id).await }
    });
    let toggle = refetching_action(changed, &client, |client, rule: &AlertRule| {
        let (id, mut spec) = (rule.id, rule.spec.clone());
        spec.enabled = !spec.enabled;
        async move { client.replace_alert_rule(id, &spec).await }
    });

    let list = last_list(rules, |l| l.rules);
    let loaded = Memo::new(move |_| rules.get().is_some());
    let empty = Memo::new(move |_| list.with(Vec::is_empty));

    let row = move |id: i64| {
        let current = Memo::new(move |_| list.with(|l| l.iter().find(|r| r.id == id).cloned()));
        let text = move |f: fn(&AlertRule) -> String| {
            move || current.get().as_ref().map(f).unwrap_or_default()
        };
        let severity =
            Signal::derive(move || current.get().map_or(Severity::Low, |r| r.spec.severity));
        let enabled = move || current.get().is_some_and(|r| r.spec.enabled);
        let scope = move || {
            current.get().map(|r| {
                let name = r.spec.target_id.and_then(target_name);
                scope_text(&r.spec, name.as_deref())
            })
        };
        let name = current
            .get_untracked()
            .map(|r| r.spec.name)
            .unwrap_or_default();
        view! {
            <tr data-testid="rule-row" data-rule-id=id data-name=name.clone() data-enabled=move || enabled().to_string()>
                <th scope="row">{text(|r| r.spec.name.clone())}</th>
                <td>
                    {text(|r| i18n::metric_label(r.spec.metric).to_owned())}
                    <span class="scope">{scope}</span>
                </td>
                <td class="num">{text(|r| condition_text(&r.spec))}</td>
                <td class="num">{text(|r| format::duration(r.spec.for_seconds))}</td>
                <td class="num">{text(|r| format!("{} {}", format::number(r.spec.recovery_margin), r.spec.metric.unit()))}</td>
                <td class="num">{text(|r| if uses_requests(r.spec.metric) || r.spec.metric.takes_source() { format::duration(r.spec.window_seconds) } else { "—".into() })}</td>
                <td><SeverityChip severity=severity /></td>
                <td class="num" data-testid="last-value">{text(|r| format::measured(r.last_value, r.spec.metric.unit()))}</td>
                <td>
                    <input
                        type="checkbox"
                        role="switch"
                        aria-label=(t.enabled_label)(&name)
                        prop:checked=enabled
                        disabled=move || toggle.pending().get()
                        on:change=move |_| {
                            if let Some(r) = current.get_untracked() {
                                toggle.dispatch(r);
                            }
                        }
                    />
                </td>
                <td class="actions">
                    <button
                        type="button"
                        aria-label=(t.edit_label)(&name)
                        on:click=move |_| {
                            if let Some(r) = current.get_untracked() {
                                form.load(&r);
                            }
                        }
                    >
                        {common.edit}
                    </button>
                    // Deleting takes a second click: the rule's open alert is resolved with it.
                    <ConfirmButton
                        verb=common.delete
                        verbing=t.deleting
                        name=name.clone() consequence=t.delete_consequence
                        on_confirm=Callback::new(move |()| {
                            remove.dispatch(id);
                        })
                    />
                </td>
            </tr>
        }
    };

    let rows = move || {
        if !loaded.get() {
            return view! { <p>{common.loading}</p> }.into_any();
        }
        if empty.get() {
            return view! { <p class="empty">{t.no_rule}</p> }.into_any();
        }
        view! {
            <table class="targets rules">
                <thead>
                    <tr>
                        <th scope="col">{t.col_name}</th>
                        <th scope="col">{t.col_metric}</th>
                        <th scope="col">{t.col_condition}</th>
                        <th scope="col">{t.col_for}</th>
                        <th scope="col">{t.col_margin}</th>
                        <th scope="col">{t.col_window}</th>
                        <th scope="col">{t.col_severity}</th>
                        <th scope="col">{t.col_last_value}</th>
                        <th scope="col">{common.enabled}</th>
                        <th scope="col"><span class="visually-hidden">{t.col_actions}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || list.get() key=|r| r.id children=move |r| row(r.id) />
                </tbody>
            </table>
        }
        .into_any()
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{t.title}</h1>
                <p class="subtitle">{t.subtitle}</p>
                <AlertTabs />
            </header>
            <RuleEditor form=form on_saved=Callback::new(move |_| changed.update(|n| *n += 1)) />
            <ChangeError error=Signal::derive(move || action_error(remove).or_else(|| action_error(toggle))) />
            <LoadError fetched=rules />
            {rows}
        </section>
    }
}

/// What the rule form holds: text as typed, and the rule being edited.
#[derive(Debug, Clone, Copy)]
struct RuleForm {
    name: RwSignal<String>,
    metric: RwSignal<AlertMetric>,
    comparison: RwSignal<Comparison>,
    threshold: RwSignal<String>,
    severity: RwSignal<Severity>,
    for_seconds: RwSignal<String>,
    margin: RwSignal<String>,
    window_seconds: RwSignal<String>,
    target: RwSignal<Option<i64>>,
    /// The cache or database source a rule is narrowed to, with the
    /// metric it was picked for (cache and database ids are apart: another
    /// metric drops it).
    source: RwSignal<Option<(AlertMetric, i64)>>,
    service: RwSignal<String>,
    endpoint: RwSignal<String>,
    /// `Some((id, enabled))` while editing that rule.
    editing: RwSignal<Option<(i64, bool)>>,
    error: RwSignal<Option<ClientError>>,
}

impl RuleForm {
    fn new() -> Self {
        RuleForm {
            name: RwSignal::new(String::new()),
            metric: RwSignal::new(AlertMetric::CpuUsage),
            comparison: RwSignal::new(Comparison::Above),
            threshold: RwSignal::new(String::new()),
            severity: RwSignal::new(Severity::High),
            for_seconds: RwSignal::new("60".into()),
            margin: RwSignal::new("0".into()),
            window_seconds: RwSignal::new("60".into()),
            target: RwSignal::new(None),
            source: RwSignal::new(None),
            service: RwSignal::new(String::new()),
            endpoint: RwSignal::new(String::new()),
            editing: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// Fills the form with `rule` to edit it.
    fn load(&self, rule: &AlertRule) {
        let spec = &rule.spec;
        self.name.set(spec.name.clone());
        self.metric.set(spec.metric);
        self.comparison.set(spec.comparison);
        self.threshold.set(format::input_number(spec.threshold));
        self.severity.set(spec.severity);
        self.for_seconds.set(spec.for_seconds.to_string());
        self.margin.set(format::input_number(spec.recovery_margin));
        self.window_seconds.set(spec.window_seconds.to_string());
        self.target.set(spec.target_id);
        self.source.set(spec.source_id.map(|id| (spec.metric, id)));
        self.service.set(spec.service.clone().unwrap_or_default());
        self.endpoint.set(spec.endpoint.clone().unwrap_or_default());
        self.editing.set(Some((rule.id, spec.enabled)));
        self.error.set(None);
    }

    fn clear(&self) {
        let blank = RuleForm::new();
        self.name.set(blank.name.get_untracked());
        self.metric.set(blank.metric.get_untracked());
        self.comparison.set(blank.comparison.get_untracked());
        self.threshold.set(blank.threshold.get_untracked());
        self.severity.set(blank.severity.get_untracked());
        self.for_seconds.set(blank.for_seconds.get_untracked());
        self.margin.set(blank.margin.get_untracked());
        self.window_seconds
            .set(blank.window_seconds.get_untracked());
        self.target.set(None);
        self.source.set(None);
        self.service.set(String::new());
        self.endpoint.set(String::new());
        self.editing.set(None);
        self.error.set(None);
    }

    /// The threshold typed, if it is a number: the form is not sent without one.
    fn threshold_value(&self) -> Option<f64> {
        self.threshold.with(|t| t.trim().parse::<f64>().ok())
    }

    /// The spec as typed. Empty optional numbers are their defaults; the
    /// server judges the rest, so one rule and one message apply everywhere.
    fn spec(&self) -> AlertRuleSpec {
        let seconds = |s: RwSignal<String>, default: u32| {
            s.with_untracked(|s| s.trim().parse::<f64>().ok())
                .map_or(default, |v| v.max(0.0).round() as u32)
        };
        let text = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|s| !s.is_empty())
        };
        let metric = self.metric.get_untracked();
        let scoped = uses_requests(metric);
        let service = text(self.service).filter(|_| scoped);
        AlertRuleSpec {
            name: self.name.get_untracked().trim().to_owned(),
            metric,
            comparison: self.comparison.get_untracked(),
            threshold: self.threshold_value().unwrap_or_default(),
            severity: self.severity.get_untracked(),
            for_seconds: seconds(self.for_seconds, 0),
            recovery_margin: self
                .margin
                .with_untracked(|m| m.trim().parse::<f64>().ok())
                .unwrap_or_default(),
            window_seconds: seconds(self.window_seconds, 60),
            target_id: self
                .target
                .get_untracked()
                .filter(|_| scoped && service.is_none()),
            endpoint: text(self.endpoint).filter(|_| service.is_some()),
            service,
            source_id: self
                .source
                .get_untracked()
                .filter(|(m, _)| *m == metric && metric.takes_source())
                .map(|(_, id)| id),
            enabled: self
                .editing
                .get_untracked()
                .is_none_or(|(_, enabled)| enabled),
        }
    }
}

impl Saved for AlertRuleSpec {
    const PATH: &'static str = vigie_api::paths::ALERT_RULES;
}

/// The form that adds a rule, or saves the one being edited. The server
/// validates; its answer names the field at fault, explained next to it.
#[component]
fn RuleEditor(form: RuleForm, on_saved: Callback<()>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let save = save_action::<AlertRuleSpec>(client, form.error, move || {
        form.clear();
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.threshold_value().is_none() {
            return;
        }
        form.error.set(None);
        save.dispatch((form.editing.get_untracked().map(|(id, _)| id), form.spec()));
    };
    let error: Signal<Option<ClientError>> = form.error.into();
    let invalid = move |field| aria_invalid(error, field);
    let editing = move || form.editing.get().is_some();
    let unit = move || form.metric.get().unit();
    let scoped = move || uses_requests(form.metric.get());
    let from_sources = move || form.metric.get().takes_source();
    let client = expect_context::<crate::api::ApiClient>();
    // The sources a cache or slow-query rule may be narrowed to.
    let sources = LocalResource::new(move || {
        let metric = form.metric.get();
        let client = client.clone();
        async move {
            let named = match metric {
                AlertMetric::CacheHitRate => client
                    .cache_sources()
                    .await
                    .map(|l| l.sources.into_iter().map(|s| (s.id, s.name)).collect()),
                AlertMetric::SlowQueryTime => client
                    .database_sources()
                    .await
                    .map(|l| l.sources.into_iter().map(|s| (s.id, s.name)).collect()),
                _ => Ok(Vec::new()),
            };
            named.unwrap_or_default()
        }
    });
    let source = form.source;
    let RuleForm {
        name,
        threshold,
        for_seconds,
        margin,
        window_seconds,
        target,
        service,
        endpoint,
        ..
    } = form;

    view! {
        <form
            class="panel new-target rule-form"
            novalidate
            on:submit=submit
            aria-label=move || if editing() { t.edit_a_rule } else { t.add_a_rule }
        >
            <h2>{move || if editing() { t.edit_rule } else { t.add_a_rule }}</h2>
            <div class="fields">
                <Field label=t.name error=error field="name" id="rule-name-error" wide=true>
                    <input type="text" required bind:value=name aria-invalid=invalid("name") aria-describedby="rule-name-error" />
                </Field>
                <Field label=t.metric error=error field="metric" id="rule-metric-error">
                    <Select
                        options=AlertMetric::ALL.to_vec()
                        value=form.metric
                        word=AlertMetric::as_str
                        text=|m| i18n::metric_label(m).to_owned()
                        error=error
                        field="metric"
                    />
                </Field>
                <Field label=t.fires_when>
                    <Select
                        options=vec![Comparison::Above, Comparison::Below]
                        value=form.comparison
                        word=comparison_word
                        text=|c| format!("{} ({})", (text().comparison)(c), c.symbol())
                    />
                </Field>
                <Field label=move || (t.threshold)(unit()) error=error field="threshold" id="rule-threshold-error">
                    <input type="number" step="any" required bind:value=threshold
                        aria-invalid=invalid("threshold") aria-describedby="rule-threshold-error" />
                </Field>
                <Field label=t.severity>
                    <Select
                        options=Severity::ALL.to_vec()
                        value=form.severity
                        word=Severity::as_str
                        text=|s| i18n::severity_label(s).to_owned()
                    />
                </Field>
                <Field label=t.for_seconds error=error field="for_seconds" id="rule-for-error">
                    <input type="number" min="0" step="1" bind:value=for_seconds
                        aria-invalid=invalid("for_seconds") aria-describedby="rule-for-error" />
                </Field>
                <Field label=move || (t.recovery_margin)(unit()) error=error field="recovery_margin" id="rule-margin-error">
                    <input type="number" min="0" step="any" bind:value=margin
                        aria-invalid=invalid("recovery_margin") aria-describedby="rule-margin-error" />
                </Field>
                {move || from_sources().then(|| view! {
                    <Field label=t.window_seconds error=error field="window_seconds" id="rule-source-window-error">
                        <input type="number" min="1" step="1" bind:value=window_seconds
                            aria-invalid=invalid("window_seconds") aria-describedby="rule-source-window-error" />
                    </Field>
                    <Field label=t.source_of error=error field="source_id" id="rule-source-error">
                        <select
                            aria-invalid=invalid("source_id")
                            aria-describedby="rule-source-error"
                            on:change=move |ev| {
                                let metric = form.metric.get_untracked();
                                source.set(event_target_value(&ev).parse::<i64>().ok().map(|id| (metric, id)));
                            }
                        >
                            <option value="" selected=move || source.get().is_none_or(|(m, _)| m != form.metric.get())>{t.all_sources}</option>
                            {move || sources.get().unwrap_or_default().into_iter().map(|(id, name)| view! {
                                <option value=id.to_string() selected=move || source.get() == Some((form.metric.get(), id))>{name}</option>
                            }).collect_view()}
                        </select>
                    </Field>
                })}
                {move || scoped().then(|| view! {
                    <Field label=t.window_seconds error=error field="window_seconds" id="rule-window-error">
                        <input type="number" min="1" step="1" bind:value=window_seconds
                            aria-invalid=invalid("window_seconds") aria-describedby="rule-window-error" />
                    </Field>
                    <div class="field">
                        <TargetPicker label=t.probes_of none_label=t.all_targets selected=target kind=TargetKind::Http />
                        <FieldError error=error field="target_id" id="rule-target-error" />
                    </div>
                    <Field label=t.or_service error=error field="service" id="rule-service-error">
                        <input type="text" placeholder=t.service_placeholder bind:value=service
                            aria-invalid=invalid("service") aria-describedby="rule-service-error" />
                    </Field>
                    <Field label=t.endpoint error=error field="endpoint" id="rule-endpoint-error">
                        <input type="text" placeholder=t.endpoint_placeholder bind:value=endpoint
                            disabled=move || service.with(|s| s.trim().is_empty())
                            aria-invalid=invalid("endpoint") aria-describedby="rule-endpoint-error" />
                    </Field>
                })}
            </div>
            <EditorActions
                add=t.add_rule
                editing=Signal::derive(editing)
                disabled=Signal::derive(move || save.pending().get() || form.threshold_value().is_none())
                on_cancel=Callback::new(move |()| form.clear())
                error=error
                fields=FIELDS
            />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(metric: AlertMetric) -> AlertRuleSpec {
        AlertRuleSpec {
            name: "r".into(),
            metric,
            comparison: Comparison::Below,
            threshold: 50.0,
            severity: Severity::Medium,
            for_seconds: 0,
            recovery_margin: 0.0,
            window_seconds: 60,
            target_id: None,
            service: None,
            endpoint: None,
            source_id: None,
            enabled: true,
        }
    }

    #[test]
    fn rules_read_as_their_condition_and_source() {
        assert_eq!(condition_text(&spec(AlertMetric::CacheHitRate)), "< 50 %");
        assert_eq!(scope_text(&spec(AlertMetric::CpuUsage), None), "this host");
        assert_eq!(
            scope_text(&spec(AlertMetric::CacheHitRate), None),
            "the cache"
        );
        let mut p95 = spec(AlertMetric::P95);
        assert_eq!(scope_text(&p95, None), "all probes");
        p95.target_id = Some(3);
        assert_eq!(scope_text(&p95, Some("shop")), "shop");
        p95.service = Some("api".into());
        p95.endpoint = Some("/orders".into());
        assert_eq!(scope_text(&p95, None), "api · /orders");
    }
}
