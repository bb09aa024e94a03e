//! `/targets`: the HTTP endpoints Vigie probes. Add one, see each one's state
//! and last outcome, pause or remove it.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{Health, Outcome, ProbeMethod, Target, TargetKind, TargetSpec};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::ChangeError;
use crate::components::confirm::ConfirmButton;
use crate::lists::{Saved, last_list, refetching_action, save_action};
use crate::live::ticker;
use crate::{format, i18n};

#[derive(Debug)]
struct Text {
    not_probed: &'static str,
    ok: fn(&str) -> String,
    status: fn(u16) -> String,
    /// Another outcome, as a person reads it.
    outcome: fn(Outcome) -> String,
    /// A health as a person reads it (the CSS class keeps the English word).
    health: fn(Health) -> &'static str,
    disabled: &'static str,
    disable: &'static str,
    enable: &'static str,
    toggle_label: fn(&str, &str) -> String,
    scraped: &'static str,
    seconds: fn(&str) -> String,
    edit_label: fn(&str) -> String,
    remove: &'static str,
    removing: &'static str,
    no_target: &'static str,
    col_name: &'static str,
    col_url: &'static str,
    col_state: &'static str,
    col_last_probe: &'static str,
    col_every: &'static str,
    col_actions: &'static str,
    title: &'static str,
    subtitle: &'static str,
    edit_a_target: &'static str,
    add_a_target: &'static str,
    edit_target: &'static str,
    name: &'static str,
    url: &'static str,
    kind: &'static str,
    http_probe: &'static str,
    prometheus: &'static str,
    method: &'static str,
    every: &'static str,
    timeout: &'static str,
    expected_status: &'static str,
    save_changes: &'static str,
    add_target: &'static str,
}

const EN: Text = Text {
    not_probed: "not probed yet",
    ok: |ms| format!("ok · {ms} ms"),
    status: |status| format!("status {status}"),
    outcome: |o| o.as_str().replace('_', " "),
    health: health_text,
    disabled: "disabled",
    disable: "Disable",
    enable: "Enable",
    toggle_label: |verb, name| format!("{verb} {name}"),
    scraped: "scraped",
    seconds: |s| format!("{s} s"),
    edit_label: |name| format!("Edit {name}"),
    remove: "Remove",
    removing: "removing",
    no_target: "No target yet: add the first one above.",
    col_name: "Name",
    col_url: "URL",
    col_state: "State",
    col_last_probe: "Last probe",
    col_every: "Every",
    col_actions: "Actions",
    title: "Targets",
    subtitle: "HTTP endpoints probed for response time and availability",
    edit_a_target: "Edit a target",
    add_a_target: "Add a target",
    edit_target: "Edit target",
    name: "Name",
    url: "URL",
    kind: "Kind",
    http_probe: "HTTP probe",
    prometheus: "Prometheus /metrics",
    method: "Method",
    every: "Every (s)",
    timeout: "Timeout (ms)",
    expected_status: "Expected status",
    save_changes: "Save changes",
    add_target: "Add target",
};

const FR: Text = Text {
    not_probed: "pas encore sondée",
    ok: |ms| format!("ok · {ms} ms"),
    status: |status| format!("statut {status}"),
    outcome: |o| {
        match o {
            Outcome::Ok => "ok",
            Outcome::Timeout => "délai dépassé",
            Outcome::Refused => "connexion refusée",
            Outcome::Dns => "nom introuvable (DNS)",
            Outcome::Tls => "échec TLS",
            Outcome::BadStatus => "statut inattendu",
            Outcome::Error => "erreur",
            Outcome::Blocked => "bloquée",
        }
        .to_owned()
    },
    health: |h| match h {
        Health::Unknown => "inconnu",
        Health::Up => "disponible",
        Health::Down => "indisponible",
    },
    disabled: "désactivée",
    disable: "Désactiver",
    enable: "Activer",
    toggle_label: |verb, name| format!("{verb} {name}"),
    scraped: "collectée",
    seconds: |s| format!("{s} s"),
    edit_label: |name| format!("Modifier {name}"),
    remove: "Retirer",
    removing: "le retrait de",
    no_target: "Aucune cible pour l’instant : ajoutez la première ci-dessus.",
    col_name: "Nom",
    col_url: "URL",
    col_state: "État",
    col_last_probe: "Dernière sonde",
    col_every: "Intervalle",
    col_actions: "Actions",
    title: "Cibles",
    subtitle: "Points d’accès HTTP sondés pour leur temps de réponse et leur disponibilité",
    edit_a_target: "Modifier une cible",
    add_a_target: "Ajouter une cible",
    edit_target: "Modifier la cible",
    name: "Nom",
    url: "URL",
    kind: "Type",
    http_probe: "Sonde HTTP",
    prometheus: "Prometheus /metrics",
    method: "Méthode",
    every: "Intervalle (s)",
    timeout: "Délai d’expiration (ms)",
    expected_status: "Statut attendu",
    save_changes: "Enregistrer les modifications",
    add_target: "Ajouter la cible",
};

fn text() -> &'static Text {
    i18n::pick(&EN, &FR)
}

fn outcome_text(t: &Target) -> String {
    if let Some(error) = &t.last_error {
        return error.clone();
    }
    let tx = text();
    match &t.last_result {
        None => tx.not_probed.into(),
        Some(r) => match (r.outcome, r.latency_ms, r.status) {
            (Outcome::Ok, Some(ms), _) => (tx.ok)(&format::fixed(ms, 0)),
            (Outcome::BadStatus, _, Some(status)) => (tx.status)(status),
            (o, _, _) => (tx.outcome)(o),
        },
    }
}

/// A health's word, for the CSS class (and the English text).
fn health_text(h: Health) -> &'static str {
    match h {
        Health::Unknown => "unknown",
        Health::Up => "up",
        Health::Down => "down",
    }
}

#[component]
pub fn Targets() -> impl IntoView {
    let t = text();
    let common = i18n::common();
    let client = expect_context::<ApiClient>();
    // The list refreshes every 2 s: states and last outcomes move with the probes.
    let tick = ticker(Duration::from_secs(2));
    let changed = RwSignal::new(0_u32);
    let form = FormState::new();
    let targets = LocalResource::new({
        let client = client.clone();
        move || {
            tick.get();
            changed.get();
            let client = client.clone();
            async move { client.targets().await }
        }
    });

    let remove = refetching_action(changed, &client, |client, id: &i64| {
        let id = *id;
        async move { client.delete_target(id).await }
    });
    let toggle = refetching_action(changed, &client, |client, t: &Target| {
        let (id, mut spec) = (t.id, t.spec.clone());
        spec.enabled = !spec.enabled;
        async move { client.replace_target(id, &spec).await }
    });

    // The last list received; rows are keyed by id and their cells read it,
    // so a refresh updates text in place instead of rebuilding the table.
    let list = last_list(targets, |l| l.targets);
    // Memos: the table below is rebuilt only when these change, not on every refresh.
    let loaded = Memo::new(move |_| targets.get().is_some());
    let empty = Memo::new(move |_| list.with(Vec::is_empty));
    let load_error = move || match targets.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let row = move |id: i64| {
        let current = Memo::new(move |_| list.with(|l| l.iter().find(|t| t.id == id).cloned()));
        let text = move |f: fn(&Target) -> String| {
            move || current.get().as_ref().map(f).unwrap_or_default()
        };
        let health = move || {
            current.get().map_or("unknown", |t| {
                if t.spec.enabled {
                    health_text(t.health)
                } else {
                    "disabled"
                }
            })
        };
        let health_shown = move || {
            current.get().map_or((t.health)(Health::Unknown), |target| {
                if target.spec.enabled {
                    (t.health)(target.health)
                } else {
                    t.disabled
                }
            })
        };
        let name = current
            .get_untracked()
            .map(|t| t.spec.name)
            .unwrap_or_default();
        let label_name = name.clone();
        let toggle_label = move || {
            if current.get().is_some_and(|t| t.spec.enabled) {
                t.disable
            } else {
                t.enable
            }
        };
        view! {
            <tr data-testid="target-row" data-name=name.clone()>
                <th scope="row">
                    {text(|t| t.spec.name.clone())}
                    {move || {
                        current
                            .get()
                            .is_some_and(|t| t.spec.kind == TargetKind::Prometheus)
                            .then(|| view! { <span class="kind">{t.scraped}</span> })
                    }}
                </th>
                <td class="url">{text(|t| t.spec.url.clone())}</td>
                <td><span class=move || format!("health health-{}", health())>{health_shown}</span></td>
                <td>{text(outcome_text)}</td>
                <td>{text(|target| (self::text().seconds)(&format::number(target.spec.interval_ms as f64 / 1000.0)))}</td>
                <td class="actions">
                    <button
                        type="button"
                        aria-label=move || (t.toggle_label)(toggle_label(), &label_name)
                        on:click=move |_| {
                            if let Some(t) = current.get_untracked() {
                                toggle.dispatch(t);
                            }
                        }
                    >
                        {toggle_label}
                    </button>
                    <button
                        type="button"
                        aria-label=(t.edit_label)(&name)
                        on:click=move |_| {
                            if let Some(target) = current.get_untracked() {
                                form.load(&target);
                            }
                        }
                    >
                        {common.edit}
                    </button>
                    // Removing takes a second click: a target's live state goes with it.
                    <ConfirmButton
                        verb=t.remove
                        verbing=t.removing
                        name=name.clone()
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
            return view! { <p class="empty">{t.no_target}</p> }.into_any();
        }
        view! {
            <table class="targets">
                <thead>
                    <tr>
                        <th scope="col">{t.col_name}</th>
                        <th scope="col">{t.col_url}</th>
                        <th scope="col">{t.col_state}</th>
                        <th scope="col">{t.col_last_probe}</th>
                        <th scope="col">{t.col_every}</th>
                        <th scope="col"><span class="visually-hidden">{t.col_actions}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || list.get() key=|t| t.id children=move |t| row(t.id) />
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
            </header>
            <TargetForm form=form on_saved=Callback::new(move |_| changed.update(|n| *n += 1)) />
            <ChangeError error=Signal::derive(move || {
                let removed = remove.value().get().and_then(Result::err);
                removed.or_else(|| toggle.value().get().and_then(Result::err))
            }) />
            {move || load_error().map(|e| view! { <p class="banner error" role="alert">{e}</p> })}
            {rows}
        </section>
    }
}

/// What the target form holds: text as typed, and the target being edited.
#[derive(Debug, Clone, Copy)]
struct FormState {
    name: RwSignal<String>,
    url: RwSignal<String>,
    interval_s: RwSignal<String>,
    timeout_ms: RwSignal<String>,
    expected: RwSignal<String>,
    method: RwSignal<ProbeMethod>,
    kind: RwSignal<TargetKind>,
    /// `Some((id, enabled))` while editing that target.
    editing: RwSignal<Option<(i64, bool)>>,
    error: RwSignal<Option<ClientError>>,
}

impl FormState {
    fn new() -> Self {
        FormState {
            name: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
            interval_s: RwSignal::new("5".into()),
            timeout_ms: RwSignal::new("3000".into()),
            expected: RwSignal::new("200".into()),
            method: RwSignal::new(ProbeMethod::Get),
            kind: RwSignal::new(TargetKind::Http),
            editing: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// Fills the form with `t` to edit it.
    fn load(&self, t: &Target) {
        self.name.set(t.spec.name.clone());
        self.url.set(t.spec.url.clone());
        self.interval_s
            .set(format!("{}", t.spec.interval_ms as f64 / 1000.0));
        self.timeout_ms.set(t.spec.timeout_ms.to_string());
        self.expected.set(t.spec.expected_status.to_string());
        self.method.set(t.spec.method);
        self.kind.set(t.spec.kind);
        self.editing.set(Some((t.id, t.spec.enabled)));
        self.error.set(None);
    }

    fn clear(&self) {
        self.name.set(String::new());
        self.url.set(String::new());
        self.interval_s.set("5".into());
        self.timeout_ms.set("3000".into());
        self.expected.set("200".into());
        self.method.set(ProbeMethod::Get);
        self.kind.set(TargetKind::Http);
        self.editing.set(None);
        self.error.set(None);
    }

    /// The spec as typed. Numbers the browser cannot read go to the server as
    /// invalid ones, so that one rule and one message apply everywhere.
    fn spec(&self) -> TargetSpec {
        let number = |s: RwSignal<String>| s.get_untracked().trim().parse::<f64>().ok();
        TargetSpec {
            name: self.name.get_untracked(),
            url: self.url.get_untracked(),
            kind: self.kind.get_untracked(),
            method: self.method.get_untracked(),
            expected_status: number(self.expected).map_or(0, |v| v as u16),
            interval_ms: number(self.interval_s).map_or(0, |v| (v * 1000.0) as u64),
            timeout_ms: number(self.timeout_ms).map_or(0, |v| v as u64),
            enabled: self
                .editing
                .get_untracked()
                .is_none_or(|(_, enabled)| enabled),
        }
    }
}

impl Saved for TargetSpec {
    const PATH: &'static str = vigie_api::paths::TARGETS;
}

/// The form that adds a target, or saves the one being edited. The server
/// validates; its answer names the field at fault, which is marked and
/// explained next to it.
#[component]
fn TargetForm(form: FormState, on_saved: Callback<()>) -> impl IntoView {
    let t = text();
    let client = expect_context::<ApiClient>();
    let save = save_action::<TargetSpec>(client, form.error, move || {
        form.clear();
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch((form.editing.get_untracked().map(|(id, _)| id), form.spec()));
    };
    let invalid = move |field: &'static str| {
        move || {
            form.error
                .with(|e| e.as_ref().and_then(|e| e.field()) == Some(field))
                .to_string()
        }
    };
    let editing = move || form.editing.get().is_some();
    let FormState {
        name,
        url,
        interval_s,
        timeout_ms,
        expected,
        method,
        kind,
        ..
    } = form;

    view! {
        <form
            class="panel new-target"
            novalidate
            on:submit=submit
            aria-label=move || if editing() { t.edit_a_target } else { t.add_a_target }
        >
            <h2>{move || if editing() { t.edit_target } else { t.add_a_target }}</h2>
            <div class="fields">
                <label>{t.name} <input type="text" required bind:value=name aria-invalid=invalid("name") /></label>
                <label class="wide">{t.url} <input type="text" required placeholder="https://example.com/health" bind:value=url aria-invalid=invalid("url") /></label>
                <label>{t.kind}
                    <select on:change=move |ev| kind.set(if event_target_value(&ev) == "prometheus" { TargetKind::Prometheus } else { TargetKind::Http })>
                        <option value="http" selected=move || kind.get() == TargetKind::Http>{t.http_probe}</option>
                        <option value="prometheus" selected=move || kind.get() == TargetKind::Prometheus>{t.prometheus}</option>
                    </select>
                </label>
                <label>{t.method}
                    <select on:change=move |ev| method.set(if event_target_value(&ev) == "HEAD" { ProbeMethod::Head } else { ProbeMethod::Get })>
                        <option value="GET" selected=move || method.get() == ProbeMethod::Get>"GET"</option>
                        <option value="HEAD" selected=move || method.get() == ProbeMethod::Head>"HEAD"</option>
                    </select>
                </label>
                <label>{t.every} <input type="number" min="1" step="any" bind:value=interval_s aria-invalid=invalid("interval_ms") /></label>
                <label>{t.timeout} <input type="number" min="50" bind:value=timeout_ms aria-invalid=invalid("timeout_ms") /></label>
                <label>{t.expected_status} <input type="number" min="100" max="599" bind:value=expected aria-invalid=invalid("expected_status") /></label>
            </div>
            <button type="submit" disabled=move || save.pending().get()>
                {move || if editing() { t.save_changes } else { t.add_target }}
            </button>
            {move || editing().then(|| view! {
                <button type="button" on:click=move |_| form.clear()>{i18n::common().cancel}</button>
            })}
            <ChangeError error=form.error />
        </form>
    }
}
