//! The form that adds a scaling configuration or saves the one being edited:
//! the seeds' fields (scaling type, trigger, bounds, thresholds), what the
//! trigger is measured on, the timings, the mode and the executor (dry run;
//! a command with its argv and optional status argv; a Kubernetes workload).
//! The server validates; its answer names the field at fault, explained
//! next to it.

use leptos::prelude::*;
use vigie_api::{
    Executor, ScalingConfig, ScalingConfigSpec, ScalingMode, ScalingScope, ScalingType, TargetKind,
    TriggerType, Workload,
};

use crate::api::{ApiClient, ClientError};
use crate::components::change_error::FieldError;
use crate::components::form::{EditorActions, Field, Select, TextAreaField, aria_invalid};
use crate::components::target_picker::TargetPicker;
use crate::format;
use crate::i18n;
use crate::lists::{Saved, save_action};

#[derive(Debug)]
struct Text {
    scope: fn(ScopeKind) -> &'static str,
    executor: fn(ExecutorKind) -> &'static str,
    applies: fn(&str, &str) -> String,
    edit_form: &'static str,
    add_form: &'static str,
    edit_title: &'static str,
    name: &'static str,
    scaling_type: &'static str,
    trigger: &'static str,
    measured_on: &'static str,
    node_target: &'static str,
    http_target: &'static str,
    choose: &'static str,
    service: &'static str,
    endpoint: &'static str,
    all_endpoints: &'static str,
    min_instances: &'static str,
    max_instances: &'static str,
    step: &'static str,
    scale_up_above: fn(&str) -> String,
    scale_down_below: fn(&str) -> String,
    for_seconds: &'static str,
    cooldown: &'static str,
    window: &'static str,
    mode: &'static str,
    executor_label: &'static str,
    scale_program: &'static str,
    status_program: &'static str,
    timeout: &'static str,
    namespace: &'static str,
    workload_name: &'static str,
    workload: &'static str,
    api_url: &'static str,
    in_cluster: &'static str,
    token_file: &'static str,
    ca_file: &'static str,
    service_account: &'static str,
    supported: &'static str,
    refused_kinds: &'static str,
    add: &'static str,
}

const EN: Text = Text {
    scope: |k| match k {
        ScopeKind::Host => "This host",
        ScopeKind::Node => "A node_exporter target",
        ScopeKind::Target => "The probes of an HTTP target",
        ScopeKind::Requests => "The requests of a service",
    },
    executor: |k| match k {
        ExecutorKind::DryRun => "Dry run (records, changes nothing)",
        ExecutorKind::Command => "Command (runs a program)",
        ExecutorKind::Kubernetes => "Kubernetes (Deployment or StatefulSet scale)",
    },
    applies: |executor, types| format!("{executor}: {types}"),
    edit_form: "Edit a scaling configuration",
    add_form: "Add a scaling configuration",
    edit_title: "Edit scaling configuration",
    name: "Name",
    scaling_type: "Scaling type",
    trigger: "Trigger",
    measured_on: "Measured on",
    node_target: "Node target",
    http_target: "HTTP target",
    choose: "Choose…",
    service: "Service",
    endpoint: "Endpoint",
    all_endpoints: "all endpoints",
    min_instances: "Min instances",
    max_instances: "Max instances",
    step: "Step",
    scale_up_above: |unit| format!("Scale up above ({unit})"),
    scale_down_below: |unit| format!("Scale down below ({unit})"),
    for_seconds: "For (s)",
    cooldown: "Cooldown (s)",
    window: "Window (s)",
    mode: "Mode",
    executor_label: "Executor",
    scale_program: "Scale program (one argument per line)",
    status_program: "Status program (optional; prints the count)",
    timeout: "Timeout (s)",
    namespace: "Namespace",
    workload_name: "Workload name",
    workload: "Workload",
    api_url: "API server URL",
    in_cluster: "in-cluster",
    token_file: "Token file",
    ca_file: "CA file",
    service_account: "the service account's",
    supported: "Scaling types each executor applies: ",
    refused_kinds: ". Vertical and hybrid scaling are refused until an executor changes CPU or memory.",
    add: "Add configuration",
};

const FR: Text = Text {
    scope: |k| match k {
        ScopeKind::Host => "Cet hôte",
        ScopeKind::Node => "Une cible node_exporter",
        ScopeKind::Target => "Les sondes d’une cible HTTP",
        ScopeKind::Requests => "Les requêtes d’un service",
    },
    executor: |k| match k {
        ExecutorKind::DryRun => "Simulation (enregistre, ne change rien)",
        ExecutorKind::Command => "Commande (lance un programme)",
        ExecutorKind::Kubernetes => "Kubernetes (échelle d’un Deployment ou d’un StatefulSet)",
    },
    applies: |executor, types| format!("{executor} : {types}"),
    edit_form: "Modifier une configuration de mise à l’échelle",
    add_form: "Ajouter une configuration de mise à l’échelle",
    edit_title: "Modifier la configuration de mise à l’échelle",
    name: "Nom",
    scaling_type: "Type de mise à l’échelle",
    trigger: "Déclencheur",
    measured_on: "Mesuré sur",
    node_target: "Cible node_exporter",
    http_target: "Cible HTTP",
    choose: "Choisir…",
    service: "Service",
    endpoint: "Point d’accès",
    all_endpoints: "tous les points d’accès",
    min_instances: "Instances min.",
    max_instances: "Instances max.",
    step: "Pas",
    scale_up_above: |unit| format!("Augmenter au-dessus de ({unit})"),
    scale_down_below: |unit| format!("Réduire en dessous de ({unit})"),
    for_seconds: "Pendant (s)",
    cooldown: "Stabilisation (s)",
    window: "Fenêtre (s)",
    mode: "Mode",
    executor_label: "Exécuteur",
    scale_program: "Programme de mise à l’échelle (un argument par ligne)",
    status_program: "Programme d’état (facultatif ; affiche le nombre)",
    timeout: "Délai maximal (s)",
    namespace: "Espace de noms",
    workload_name: "Nom de la charge de travail",
    workload: "Charge de travail",
    api_url: "URL du serveur d’API",
    in_cluster: "dans le cluster",
    token_file: "Fichier du jeton",
    ca_file: "Fichier de l’AC",
    service_account: "celui du compte de service",
    supported: "Types de mise à l’échelle appliqués par chaque exécuteur : ",
    refused_kinds: ". Les mises à l’échelle verticale et hybride sont refusées tant qu’aucun exécuteur ne change le CPU ou la mémoire.",
    add: "Ajouter la configuration",
};

const TRIGGERS: [TriggerType; 5] = [
    TriggerType::Cpu,
    TriggerType::Memory,
    TriggerType::ResponseTime,
    TriggerType::ErrorRate,
    TriggerType::P95,
];

const SCALING_TYPES: [ScalingType; 3] = [
    ScalingType::Horizontal,
    ScalingType::Vertical,
    ScalingType::Hybrid,
];

const MODES: [ScalingMode; 2] = [ScalingMode::Manual, ScalingMode::Automatic];

const WORKLOADS: [Workload; 2] = [Workload::Deployment, Workload::StatefulSet];

/// The scaling type's wire word, as the form's options carry it.
fn scaling_type_word(t: ScalingType) -> &'static str {
    match t {
        ScalingType::Horizontal => "horizontal",
        ScalingType::Vertical => "vertical",
        ScalingType::Hybrid => "hybrid",
    }
}

fn workload_word(w: Workload) -> &'static str {
    match w {
        Workload::Deployment => "deployment",
        Workload::StatefulSet => "stateful_set",
    }
}

fn workload_label(w: Workload) -> &'static str {
    match w {
        Workload::Deployment => "Deployment",
        Workload::StatefulSet => "StatefulSet",
    }
}

fn trigger_word(t: TriggerType) -> &'static str {
    match t {
        TriggerType::Cpu => "cpu",
        TriggerType::Memory => "memory",
        TriggerType::ResponseTime => "response_time",
        TriggerType::ErrorRate => "error_rate",
        TriggerType::P95 => "p95",
    }
}

/// What a trigger is measured on, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Host,
    Node,
    Target,
    Requests,
}

impl ScopeKind {
    fn word(self) -> &'static str {
        match self {
            ScopeKind::Host => "host",
            ScopeKind::Node => "node",
            ScopeKind::Target => "target",
            ScopeKind::Requests => "requests",
        }
    }

    fn label(self) -> &'static str {
        (i18n::pick(&EN, &FR).scope)(self)
    }

    /// The scopes a trigger can be measured on.
    pub fn for_trigger(t: TriggerType) -> &'static [ScopeKind] {
        if t.is_host() {
            &[ScopeKind::Host, ScopeKind::Node]
        } else {
            &[ScopeKind::Target, ScopeKind::Requests]
        }
    }

    fn of(scope: &ScalingScope) -> ScopeKind {
        match scope {
            ScalingScope::Host => ScopeKind::Host,
            ScalingScope::Node { .. } => ScopeKind::Node,
            ScalingScope::Target { .. } => ScopeKind::Target,
            ScalingScope::Requests { .. } => ScopeKind::Requests,
        }
    }
}

/// Which executor applies the actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    DryRun,
    Command,
    Kubernetes,
}

impl ExecutorKind {
    const ALL: [ExecutorKind; 3] = [
        ExecutorKind::DryRun,
        ExecutorKind::Command,
        ExecutorKind::Kubernetes,
    ];

    fn word(self) -> &'static str {
        match self {
            ExecutorKind::DryRun => "dry_run",
            ExecutorKind::Command => "command",
            ExecutorKind::Kubernetes => "kubernetes",
        }
    }

    fn label(self) -> &'static str {
        (i18n::pick(&EN, &FR).executor)(self)
    }

    /// One executor of this kind, to ask what it supports.
    fn sample(self) -> Executor {
        match self {
            ExecutorKind::DryRun => Executor::DryRun,
            ExecutorKind::Command => Executor::Command {
                scale: Vec::new(),
                status: None,
                timeout_s: 60,
            },
            ExecutorKind::Kubernetes => Executor::Kubernetes {
                namespace: String::new(),
                name: String::new(),
                workload: Workload::Deployment,
                api_url: None,
                token_file: None,
                ca_file: None,
                kubeconfig: None,
            },
        }
    }
}

/// `dry run: horizontal · command: horizontal · …`: what each executor applies.
pub fn supported_text() -> String {
    ExecutorKind::ALL
        .into_iter()
        .map(|k| {
            let types: Vec<&str> = k
                .sample()
                .supports()
                .iter()
                .map(|t| crate::pages::scaling::scaling_type_label(*t))
                .collect();
            (i18n::pick(&EN, &FR).applies)(
                crate::pages::scaling::executor_label(&k.sample()),
                &types.join(", "),
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One argument per line, blank lines left out.
pub fn argv_of(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Fields of the form the server may name in a refusal.
const FIELDS: &[&str] = &[
    "name",
    "scaling_type",
    "trigger_type",
    "scope",
    "scope.target_id",
    "scope.service",
    "scope.endpoint",
    "min_instances",
    "max_instances",
    "scale_up_threshold",
    "scale_down_threshold",
    "for_seconds",
    "cooldown_seconds",
    "step",
    "window_seconds",
    "mode",
    "executor",
    "executor.scale",
    "executor.status",
    "executor.timeout_s",
    "executor.namespace",
    "executor.name",
    "executor.workload",
    "executor.api_url",
    "executor.token_file",
    "executor.ca_file",
    "executor.kubeconfig",
];

/// What the configuration form holds: text as typed, and the one being edited.
#[derive(Debug, Clone, Copy)]
pub struct ConfigForm {
    name: RwSignal<String>,
    scaling_type: RwSignal<ScalingType>,
    trigger_type: RwSignal<TriggerType>,
    scope: RwSignal<ScopeKind>,
    target: RwSignal<Option<i64>>,
    service: RwSignal<String>,
    endpoint: RwSignal<String>,
    min_instances: RwSignal<String>,
    max_instances: RwSignal<String>,
    up: RwSignal<String>,
    down: RwSignal<String>,
    for_seconds: RwSignal<String>,
    cooldown_seconds: RwSignal<String>,
    step: RwSignal<String>,
    window_seconds: RwSignal<String>,
    mode: RwSignal<ScalingMode>,
    executor: RwSignal<ExecutorKind>,
    scale_argv: RwSignal<String>,
    status_argv: RwSignal<String>,
    timeout_s: RwSignal<String>,
    namespace: RwSignal<String>,
    workload_name: RwSignal<String>,
    workload: RwSignal<Workload>,
    api_url: RwSignal<String>,
    token_file: RwSignal<String>,
    ca_file: RwSignal<String>,
    kubeconfig: RwSignal<String>,
    /// The id of the configuration being edited.
    editing: RwSignal<Option<i64>>,
    error: RwSignal<Option<ClientError>>,
}

impl Default for ConfigForm {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigForm {
    pub fn new() -> Self {
        ConfigForm {
            name: RwSignal::new(String::new()),
            scaling_type: RwSignal::new(ScalingType::Horizontal),
            trigger_type: RwSignal::new(TriggerType::Cpu),
            scope: RwSignal::new(ScopeKind::Host),
            target: RwSignal::new(None),
            service: RwSignal::new(String::new()),
            endpoint: RwSignal::new(String::new()),
            min_instances: RwSignal::new("1".into()),
            max_instances: RwSignal::new("5".into()),
            up: RwSignal::new("80".into()),
            down: RwSignal::new("20".into()),
            for_seconds: RwSignal::new("60".into()),
            cooldown_seconds: RwSignal::new("300".into()),
            step: RwSignal::new("1".into()),
            window_seconds: RwSignal::new("60".into()),
            mode: RwSignal::new(ScalingMode::Manual),
            executor: RwSignal::new(ExecutorKind::DryRun),
            scale_argv: RwSignal::new(String::new()),
            status_argv: RwSignal::new(String::new()),
            timeout_s: RwSignal::new("60".into()),
            namespace: RwSignal::new(String::new()),
            workload_name: RwSignal::new(String::new()),
            workload: RwSignal::new(Workload::Deployment),
            api_url: RwSignal::new(String::new()),
            token_file: RwSignal::new(String::new()),
            ca_file: RwSignal::new(String::new()),
            kubeconfig: RwSignal::new(String::new()),
            editing: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// Fills the form with `config` to edit it, and brings it into view.
    pub fn load(&self, config: &ScalingConfig) {
        let s = &config.spec;
        self.name.set(s.name.clone());
        self.scaling_type.set(s.scaling_type);
        self.trigger_type.set(s.trigger_type);
        self.scope.set(ScopeKind::of(&s.scope));
        self.target.set(match &s.scope {
            ScalingScope::Node { target_id } | ScalingScope::Target { target_id } => {
                Some(*target_id)
            }
            _ => None,
        });
        let (service, endpoint) = match &s.scope {
            ScalingScope::Requests { service, endpoint } => {
                (service.clone(), endpoint.clone().unwrap_or_default())
            }
            _ => (String::new(), String::new()),
        };
        self.service.set(service);
        self.endpoint.set(endpoint);
        self.min_instances.set(s.min_instances.to_string());
        self.max_instances.set(s.max_instances.to_string());
        self.up.set(format::input_number(s.scale_up_threshold));
        self.down.set(format::input_number(s.scale_down_threshold));
        self.for_seconds.set(s.for_seconds.to_string());
        self.cooldown_seconds.set(s.cooldown_seconds.to_string());
        self.step.set(s.step.to_string());
        self.window_seconds.set(s.window_seconds.to_string());
        self.mode.set(s.mode);
        self.scale_argv.set(String::new());
        self.status_argv.set(String::new());
        self.timeout_s.set("60".into());
        self.namespace.set(String::new());
        self.workload_name.set(String::new());
        self.workload.set(Workload::Deployment);
        self.api_url.set(String::new());
        self.token_file.set(String::new());
        self.ca_file.set(String::new());
        self.kubeconfig.set(String::new());
        match &s.executor {
            Executor::DryRun => self.executor.set(ExecutorKind::DryRun),
            Executor::Command {
                scale,
                status,
                timeout_s,
            } => {
                self.executor.set(ExecutorKind::Command);
                self.scale_argv.set(scale.join("\n"));
                self.status_argv
                    .set(status.as_ref().map(|s| s.join("\n")).unwrap_or_default());
                self.timeout_s.set(timeout_s.to_string());
            }
            Executor::Kubernetes {
                namespace,
                name,
                workload,
                api_url,
                token_file,
                ca_file,
                kubeconfig,
            } => {
                self.executor.set(ExecutorKind::Kubernetes);
                self.namespace.set(namespace.clone());
                self.workload_name.set(name.clone());
                self.workload.set(*workload);
                self.api_url.set(api_url.clone().unwrap_or_default());
                self.token_file.set(token_file.clone().unwrap_or_default());
                self.ca_file.set(ca_file.clone().unwrap_or_default());
                self.kubeconfig.set(kubeconfig.clone().unwrap_or_default());
            }
        }
        self.editing.set(Some(config.id));
        self.error.set(None);
        if let Some(form) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("scaling-editor"))
        {
            form.scroll_into_view();
        }
    }

    pub fn clear(&self) {
        let blank = ConfigForm::new();
        macro_rules! reset {
            ($($field:ident),*) => { $( self.$field.set(blank.$field.get_untracked()); )* };
        }
        reset!(
            name,
            scaling_type,
            trigger_type,
            scope,
            target,
            service,
            endpoint,
            min_instances,
            max_instances,
            up,
            down,
            for_seconds,
            cooldown_seconds,
            step,
            window_seconds,
            mode,
            executor,
            scale_argv,
            status_argv,
            timeout_s,
            namespace,
            workload_name,
            workload,
            api_url,
            token_file,
            ca_file,
            kubeconfig,
            editing,
            error
        );
    }

    fn whole(s: RwSignal<String>) -> Option<u32> {
        s.with(|t| t.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(|v| v.max(0.0).round() as u32)
    }

    fn real(s: RwSignal<String>) -> Option<f64> {
        s.with(|t| t.trim().parse::<f64>().ok())
    }

    /// The figures the form cannot be sent without: bounds and thresholds.
    fn complete(&self) -> bool {
        Self::whole(self.min_instances).is_some()
            && Self::whole(self.max_instances).is_some()
            && Self::real(self.up).is_some()
            && Self::real(self.down).is_some()
    }

    /// The spec as typed. Empty optional numbers are their defaults; the
    /// server judges the rest, so one rule and one message apply everywhere.
    fn spec(&self) -> ScalingConfigSpec {
        let text = |s: RwSignal<String>| s.get_untracked().trim().to_owned();
        let optional = |s: RwSignal<String>| Some(text(s)).filter(|t| !t.is_empty());
        let seconds = |s: RwSignal<String>, default: u32| Self::whole(s).unwrap_or(default);
        let scope = match self.scope.get_untracked() {
            ScopeKind::Host => ScalingScope::Host,
            ScopeKind::Node => ScalingScope::Node {
                target_id: self.target.get_untracked().unwrap_or_default(),
            },
            ScopeKind::Target => ScalingScope::Target {
                target_id: self.target.get_untracked().unwrap_or_default(),
            },
            ScopeKind::Requests => ScalingScope::Requests {
                service: text(self.service),
                endpoint: optional(self.endpoint),
            },
        };
        let executor = match self.executor.get_untracked() {
            ExecutorKind::DryRun => Executor::DryRun,
            ExecutorKind::Command => Executor::Command {
                scale: argv_of(&self.scale_argv.get_untracked()),
                status: Some(argv_of(&self.status_argv.get_untracked())).filter(|a| !a.is_empty()),
                timeout_s: seconds(self.timeout_s, 60),
            },
            ExecutorKind::Kubernetes => Executor::Kubernetes {
                namespace: text(self.namespace),
                name: text(self.workload_name),
                workload: self.workload.get_untracked(),
                api_url: optional(self.api_url),
                token_file: optional(self.token_file),
                ca_file: optional(self.ca_file),
                kubeconfig: optional(self.kubeconfig),
            },
        };
        ScalingConfigSpec {
            name: text(self.name),
            scaling_type: self.scaling_type.get_untracked(),
            trigger_type: self.trigger_type.get_untracked(),
            scope,
            min_instances: Self::whole(self.min_instances).unwrap_or_default(),
            max_instances: Self::whole(self.max_instances).unwrap_or_default(),
            scale_up_threshold: Self::real(self.up).unwrap_or_default(),
            scale_down_threshold: Self::real(self.down).unwrap_or_default(),
            for_seconds: seconds(self.for_seconds, 60),
            cooldown_seconds: seconds(self.cooldown_seconds, 300),
            step: seconds(self.step, 1),
            window_seconds: seconds(self.window_seconds, 60),
            mode: self.mode.get_untracked(),
            executor,
        }
    }
}

impl Saved for ScalingConfigSpec {
    const PATH: &'static str = vigie_api::paths::SCALING_CONFIGURATIONS;
}

/// The id of the server's message about `field`.
fn error_id(field: &'static str) -> String {
    format!("scaling-{}-error", field.replace('.', "-"))
}

/// A labelled input bound to `value`, with the server's message about
/// `field` next to it.
#[component]
fn Input(
    label: &'static str,
    value: RwSignal<String>,
    field: &'static str,
    error: Signal<Option<ClientError>>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] wide: bool,
) -> impl IntoView {
    let id = error_id(field);
    let kind = kind.unwrap_or("text");
    let step = (kind == "number").then_some("any");
    view! {
        <Field label=label error=error field=field id=id.clone() wide=wide>
            <input
                type=kind
                step=step
                placeholder=placeholder
                bind:value=value
                aria-invalid=aria_invalid(error, field)
                aria-describedby=id
            />
        </Field>
    }
}

/// An argv, one argument per line.
#[component]
fn Argv(
    label: &'static str,
    value: RwSignal<String>,
    field: &'static str,
    error: Signal<Option<ClientError>>,
    placeholder: &'static str,
) -> impl IntoView {
    view! {
        <TextAreaField
            label=label
            value=value
            error=error
            field=field
            id=error_id(field)
            placeholder=placeholder
            wide=true
        />
    }
}

/// A select of `options` with the server's message about `field` next to it.
#[component]
fn Choice<T>(
    label: &'static str,
    options: &'static [T],
    value: RwSignal<T>,
    word: fn(T) -> &'static str,
    text: fn(T) -> String,
    field: &'static str,
    error: Signal<Option<ClientError>>,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let id = error_id(field);
    view! {
        <Field label=label error=error field=field id=id.clone()>
            <Select options=options.to_vec() value=value word=word text=text error=error field=field described_by=id />
        </Field>
    }
}

#[component]
pub fn ScalingEditor(form: ConfigForm, on_saved: Callback<()>) -> impl IntoView {
    let client = expect_context::<ApiClient>();
    let t = i18n::pick(&EN, &FR);
    let save = save_action::<ScalingConfigSpec>(client, form.error, move || {
        form.clear();
        on_saved.run(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.complete() {
            return;
        }
        form.error.set(None);
        save.dispatch((form.editing.get_untracked(), form.spec()));
    };
    let error: Signal<Option<ClientError>> = form.error.into();
    let editing = move || form.editing.get().is_some();
    let unit = move || form.trigger_type.get().unit();
    let responses = move || !form.trigger_type.get().is_host();
    let (trigger_type, scope, target) = (form.trigger_type, form.scope, form.target);
    // A trigger measured elsewhere than the scope chosen: the first scope it fits.
    let set_trigger = Callback::new(move |t: TriggerType| {
        trigger_type.set(t);
        let kinds = ScopeKind::for_trigger(t);
        if !kinds.contains(&scope.get_untracked()) {
            scope.set(kinds[0]);
            target.set(None);
        }
    });
    let set_scope = Callback::new(move |k: ScopeKind| {
        scope.set(k);
        target.set(None);
    });
    let scopes = Signal::derive(move || ScopeKind::for_trigger(trigger_type.get()).to_vec());
    let threshold = |label: fn(&str) -> String,
                     value: RwSignal<String>,
                     field: &'static str,
                     id: &'static str| {
        view! {
            <Field label=move || label(unit()) error=error field=field id=id>
                <input type="number" step="any" bind:value=value
                    aria-invalid=aria_invalid(error, field) aria-describedby=id />
            </Field>
        }
    };

    view! {
        <form
            id="scaling-editor"
            class="panel new-target scaling-form"
            novalidate
            on:submit=submit
            aria-label=move || if editing() { t.edit_form } else { t.add_form }
        >
            <h2>{move || if editing() { t.edit_title } else { t.add_form }}</h2>
            <div class="fields">
                <Input label=t.name value=form.name field="name" error=error wide=true />
                <Choice
                    label=t.scaling_type
                    options=&SCALING_TYPES
                    value=form.scaling_type
                    word=scaling_type_word
                    text=|t| crate::pages::scaling::scaling_type_label(t).to_owned()
                    field="scaling_type"
                    error=error
                />
                <Field label=t.trigger>
                    <Select
                        options=TRIGGERS.to_vec()
                        value=trigger_type
                        word=trigger_word
                        text=|t| format!("{} ({})", crate::pages::scaling::trigger_label(t), t.unit())
                        on_pick=set_trigger
                    />
                </Field>
                <Field label=t.measured_on error=error field="scope" id="scaling-scope-error">
                    <Select
                        options=scopes
                        value=scope
                        word=ScopeKind::word
                        text=|k| k.label().to_owned()
                        on_pick=set_scope
                        error=error
                        field="scope"
                        described_by="scaling-scope-error".to_owned()
                    />
                </Field>
                {move || match scope.get() {
                    ScopeKind::Host => ().into_any(),
                    kind @ (ScopeKind::Node | ScopeKind::Target) => {
                        let node = kind == ScopeKind::Node;
                        view! {
                            <div class="field">
                                <TargetPicker
                                    label=if node { t.node_target } else { t.http_target }
                                    none_label=t.choose
                                    selected=target
                                    kind=if node { TargetKind::Prometheus } else { TargetKind::Http }
                                />
                                <FieldError error=error field="scope.target_id" id="scaling-scope-target_id-error" />
                            </div>
                        }
                        .into_any()
                    }
                    ScopeKind::Requests => view! {
                        <Input label=t.service value=form.service field="scope.service" error=error />
                        <Input label=t.endpoint value=form.endpoint field="scope.endpoint" error=error placeholder=t.all_endpoints />
                    }
                    .into_any(),
                }}
            </div>
            <div class="fields">
                <Input label=t.min_instances value=form.min_instances field="min_instances" error=error kind="number" />
                <Input label=t.max_instances value=form.max_instances field="max_instances" error=error kind="number" />
                <Input label=t.step value=form.step field="step" error=error kind="number" />
                {threshold(t.scale_up_above, form.up, "scale_up_threshold", "scaling-up-error")}
                {threshold(t.scale_down_below, form.down, "scale_down_threshold", "scaling-down-error")}
                <Input label=t.for_seconds value=form.for_seconds field="for_seconds" error=error kind="number" />
                <Input label=t.cooldown value=form.cooldown_seconds field="cooldown_seconds" error=error kind="number" />
                {move || responses().then(|| view! {
                    <Input label=t.window value=form.window_seconds field="window_seconds" error=error kind="number" />
                })}
                <Field label=t.mode>
                    <Select
                        options=MODES.to_vec()
                        value=form.mode
                        word=crate::pages::scaling::mode_text
                        text=|m| crate::pages::scaling::mode_label(m).to_owned()
                    />
                </Field>
            </div>
            <div class="fields">
                <Choice
                    label=t.executor_label
                    options=&ExecutorKind::ALL
                    value=form.executor
                    word=ExecutorKind::word
                    text=|k| k.label().to_owned()
                    field="executor"
                    error=error
                />
                {move || match form.executor.get() {
                    ExecutorKind::DryRun => ().into_any(),
                    ExecutorKind::Command => view! {
                        <Argv label=t.scale_program value=form.scale_argv field="executor.scale"
                            error=error placeholder="/usr/local/bin/scale\n--service\nweb" />
                        <Argv label=t.status_program value=form.status_argv field="executor.status"
                            error=error placeholder="/usr/local/bin/count\nweb" />
                        <Input label=t.timeout value=form.timeout_s field="executor.timeout_s" error=error kind="number" />
                    }
                    .into_any(),
                    ExecutorKind::Kubernetes => view! {
                        <Input label=t.namespace value=form.namespace field="executor.namespace" error=error />
                        <Input label=t.workload_name value=form.workload_name field="executor.name" error=error />
                        <Field label=t.workload>
                            <Select
                                options=WORKLOADS.to_vec()
                                value=form.workload
                                word=workload_word
                                text=|w| workload_label(w).to_owned()
                            />
                        </Field>
                        <Input label=t.api_url value=form.api_url field="executor.api_url" error=error placeholder=t.in_cluster wide=true />
                        <Input label=t.token_file value=form.token_file field="executor.token_file" error=error placeholder=t.service_account />
                        <Input label=t.ca_file value=form.ca_file field="executor.ca_file" error=error placeholder=t.service_account />
                    }
                    .into_any(),
                }}
            </div>
            <p class="source" data-testid="supported-types">
                {t.supported} {supported_text()}
                {t.refused_kinds}
            </p>
            <EditorActions
                add=t.add
                editing=Signal::derive(editing)
                disabled=Signal::derive(move || save.pending().get() || !form.complete())
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

    #[test]
    fn argv_is_one_argument_per_line() {
        assert_eq!(
            argv_of("/bin/sh\n\n  /tmp/scale.sh \r\n"),
            vec!["/bin/sh".to_owned(), "/tmp/scale.sh".to_owned()]
        );
        assert!(argv_of(" \n").is_empty());
    }

    #[test]
    fn scopes_follow_the_trigger() {
        assert_eq!(
            ScopeKind::for_trigger(TriggerType::Memory),
            &[ScopeKind::Host, ScopeKind::Node]
        );
        assert_eq!(
            ScopeKind::for_trigger(TriggerType::P95),
            &[ScopeKind::Target, ScopeKind::Requests]
        );
    }

    #[test]
    fn every_executor_says_what_it_applies() {
        assert_eq!(
            supported_text(),
            "dry run: horizontal · command: horizontal · Kubernetes: horizontal"
        );
    }

    #[test]
    fn executors_are_named_in_french() {
        crate::i18n::set_current(crate::i18n::Lang::Fr);
        let (supported, dry_run) = (supported_text(), ExecutorKind::DryRun.label());
        crate::i18n::set_current(crate::i18n::Lang::En);
        assert_eq!(
            supported,
            "simulation : horizontale · commande : horizontale · Kubernetes : horizontale"
        );
        assert_eq!(dry_run, "Simulation (enregistre, ne change rien)");
    }
}
