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

fn outcome_text(t: &Target) -> String {
    if let Some(error) = &t.last_error {
        return error.clone();
    }
    match &t.last_result {
        None => "not probed yet".into(),
        Some(r) => match (r.outcome, r.latency_ms, r.status) {
            (Outcome::Ok, Some(ms), _) => format!("ok · {ms:.0} ms"),
            (Outcome::BadStatus, _, Some(status)) => format!("status {status}"),
            (o, _, _) => o.as_str().replace('_', " "),
        },
    }
}

fn health_text(h: Health) -> &'static str {
    match h {
        Health::Unknown => "unknown",
        Health::Up => "up",
        Health::Down => "down",
    }
}

#[component]
pub fn Targets() -> impl IntoView {
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
        let name = current
            .get_untracked()
            .map(|t| t.spec.name)
            .unwrap_or_default();
        let label_name = name.clone();
        let toggle_label = move || {
            if current.get().is_some_and(|t| t.spec.enabled) {
                "Disable"
            } else {
                "Enable"
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
                            .then(|| view! { <span class="kind">"scraped"</span> })
                    }}
                </th>
                <td class="url">{text(|t| t.spec.url.clone())}</td>
                <td><span class=move || format!("health health-{}", health())>{health}</span></td>
                <td>{text(outcome_text)}</td>
                <td>{text(|t| format!("{} s", t.spec.interval_ms as f64 / 1000.0))}</td>
                <td class="actions">
                    <button
                        type="button"
                        aria-label=move || format!("{} {label_name}", toggle_label())
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
                        aria-label=format!("Edit {name}")
                        on:click=move |_| {
                            if let Some(t) = current.get_untracked() {
                                form.load(&t);
                            }
                        }
                    >
                        "Edit"
                    </button>
                    // Removing takes a second click: a target's live state goes with it.
                    <ConfirmButton
                        verb="Remove"
                        verbing="removing"
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
            return view! { <p>"Loading…"</p> }.into_any();
        }
        if empty.get() {
            return view! { <p class="empty">"No target yet: add the first one above."</p> }
                .into_any();
        }
        view! {
            <table class="targets">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"URL"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Last probe"</th>
                        <th scope="col">"Every"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
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
                <h1>"Targets"</h1>
                <p class="subtitle">"HTTP endpoints probed for response time and availability"</p>
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
            aria-label=move || if editing() { "Edit a target" } else { "Add a target" }
        >
            <h2>{move || if editing() { "Edit target" } else { "Add a target" }}</h2>
            <div class="fields">
                <label>"Name" <input type="text" required bind:value=name aria-invalid=invalid("name") /></label>
                <label class="wide">"URL" <input type="text" required placeholder="https://example.com/health" bind:value=url aria-invalid=invalid("url") /></label>
                <label>"Kind"
                    <select on:change=move |ev| kind.set(if event_target_value(&ev) == "prometheus" { TargetKind::Prometheus } else { TargetKind::Http })>
                        <option value="http" selected=move || kind.get() == TargetKind::Http>"HTTP probe"</option>
                        <option value="prometheus" selected=move || kind.get() == TargetKind::Prometheus>"Prometheus /metrics"</option>
                    </select>
                </label>
                <label>"Method"
                    <select on:change=move |ev| method.set(if event_target_value(&ev) == "HEAD" { ProbeMethod::Head } else { ProbeMethod::Get })>
                        <option value="GET" selected=move || method.get() == ProbeMethod::Get>"GET"</option>
                        <option value="HEAD" selected=move || method.get() == ProbeMethod::Head>"HEAD"</option>
                    </select>
                </label>
                <label>"Every (s)" <input type="number" min="1" step="any" bind:value=interval_s aria-invalid=invalid("interval_ms") /></label>
                <label>"Timeout (ms)" <input type="number" min="50" bind:value=timeout_ms aria-invalid=invalid("timeout_ms") /></label>
                <label>"Expected status" <input type="number" min="100" max="599" bind:value=expected aria-invalid=invalid("expected_status") /></label>
            </div>
            <button type="submit" disabled=move || save.pending().get()>
                {move || if editing() { "Save changes" } else { "Add target" }}
            </button>
            {move || editing().then(|| view! {
                <button type="button" on:click=move |_| form.clear()>"Cancel"</button>
            })}
            <ChangeError error=form.error />
        </form>
    }
}
