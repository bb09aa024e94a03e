//! Scaling: configurations (the seeds' fields and what an executor needs),
//! their live status, actions and the audit log.

use serde::{Deserialize, Serialize};

/// The seeds' `scaling_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScalingType {
    /// More or fewer instances.
    Horizontal,
    /// Bigger or smaller instances (CPU/memory requests or limits): no
    /// executor applies it yet; the API refuses it with the reason.
    Vertical,
    /// Instances first, resources once they are at the maximum.
    Hybrid,
}

/// The seeds' `trigger_type`: the measured figure compared with the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    /// CPU use, percent (a host: this one or a node_exporter target).
    Cpu,
    /// Memory use, percent (a host).
    Memory,
    /// Mean response time over the window, ms (a target or a service).
    ResponseTime,
    /// Failed requests over the window, percent.
    ErrorRate,
    /// 95th percentile of response times over the window, ms.
    P95,
}

impl TriggerType {
    /// Whether the figure is a host's (cpu, memory) rather than responses'.
    pub fn is_host(self) -> bool {
        matches!(self, TriggerType::Cpu | TriggerType::Memory)
    }

    pub fn unit(self) -> &'static str {
        match self {
            TriggerType::Cpu | TriggerType::Memory | TriggerType::ErrorRate => "%",
            TriggerType::ResponseTime | TriggerType::P95 => "ms",
        }
    }
}

/// What the trigger is measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScalingScope {
    /// The host Vigie runs on (cpu, memory).
    Host,
    /// The host behind a node_exporter target (cpu, memory).
    Node { target_id: i64 },
    /// The probes of one HTTP target (response figures).
    Target { target_id: i64 },
    /// Ingested requests of a service, optionally one endpoint.
    Requests {
        service: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
}

/// Whether Vigie acts by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScalingMode {
    /// Only the actions people ask for.
    #[default]
    Manual,
    /// Vigie also scales within the bounds when the trigger says so.
    Automatic,
}

/// The workload kinds whose `scale` subresource the Kubernetes executor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    #[default]
    Deployment,
    StatefulSet,
}

/// What applies a configuration's actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Executor {
    /// Records what would have happened; changes nothing. Its instance
    /// count is the last one it recorded (the minimum at first).
    DryRun,
    /// Runs a program (argv, never a shell) with `VIGIE_SCALE_INSTANCES` and
    /// `VIGIE_SCALE_NAME` in its environment; exit status 0 is success.
    /// `status`, when given, prints the current count (and, optionally, the
    /// ready count after a space) on its first line.
    Command {
        scale: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Vec<String>>,
        /// Seconds before the program is killed and the action failed.
        #[serde(default = "default_command_timeout")]
        timeout_s: u32,
    },
    /// A Deployment's or StatefulSet's `scale` subresource (apps/v1).
    Kubernetes {
        namespace: String,
        name: String,
        #[serde(default)]
        workload: Workload,
        /// The API server; the in-cluster one (`KUBERNETES_SERVICE_HOST`)
        /// when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
        /// A file holding the bearer token; the service account's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_file: Option<String>,
        /// A PEM file of the API server's CA; the service account's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_file: Option<String>,
        /// A kubeconfig file: its current context's server, CA and token
        /// (`token` or `tokenFile`), unless the fields above are given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubeconfig: Option<String>,
    },
}

fn default_command_timeout() -> u32 {
    60
}

impl Executor {
    pub fn kind(&self) -> &'static str {
        match self {
            Executor::DryRun => "dry_run",
            Executor::Command { .. } => "command",
            Executor::Kubernetes { .. } => "kubernetes",
        }
    }

    /// The scaling types this executor applies.
    pub fn supports(&self) -> &'static [ScalingType] {
        // Instance counts only: no executor changes resources yet.
        &[ScalingType::Horizontal]
    }
}

/// A scaling configuration as written (create and replace bodies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingConfigSpec {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    #[serde(default = "horizontal")]
    pub scaling_type: ScalingType,
    pub trigger_type: TriggerType,
    pub scope: ScalingScope,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10_000))]
    pub min_instances: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000))]
    pub max_instances: u32,
    /// In the trigger's unit; above it (for `for_seconds`), scale up.
    pub scale_up_threshold: f64,
    /// Below it (for `for_seconds`), scale down; lower than the up threshold.
    pub scale_down_threshold: f64,
    /// How long the trigger must stay past a threshold, seconds.
    #[serde(default = "default_for")]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400))]
    pub for_seconds: u32,
    /// Seconds after an action during which no other is taken (unless forced).
    #[serde(default = "default_cooldown")]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400))]
    pub cooldown_seconds: u32,
    /// Instances added or removed by one up or down.
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub step: u32,
    /// Requests taken into response figures, seconds.
    #[serde(default = "default_window")]
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 86_400))]
    pub window_seconds: u32,
    #[serde(default)]
    pub mode: ScalingMode,
    pub executor: Executor,
}

fn horizontal() -> ScalingType {
    ScalingType::Horizontal
}
fn default_for() -> u32 {
    60
}
fn default_cooldown() -> u32 {
    300
}
fn one() -> u32 {
    1
}
fn default_window() -> u32 {
    60
}

/// A stored configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingConfig {
    pub id: i64,
    #[serde(flatten)]
    pub spec: ScalingConfigSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingConfigList {
    pub configurations: Vec<ScalingConfig>,
}

/// Instance counts as the executor reports them; `None` when it cannot say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instances {
    /// What was asked for (Kubernetes `spec.replicas`).
    pub desired: Option<u32>,
    /// What runs.
    pub current: Option<u32>,
    /// What is ready to serve.
    pub ready: Option<u32>,
}

/// `up`, `down` or `set` (to `instances`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScalingDirection {
    Up,
    Down,
    Set,
}

/// What became of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScalingOutcome {
    /// Under way.
    Running,
    Succeeded,
    Failed,
    /// The server stopped while it was under way: whether it took effect
    /// is unknown (the instance counts say).
    Interrupted,
}

impl ScalingOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalingOutcome::Running => "running",
            ScalingOutcome::Succeeded => "succeeded",
            ScalingOutcome::Failed => "failed",
            ScalingOutcome::Interrupted => "interrupted",
        }
    }
}

/// `POST execute-scaling-action/`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScalingRequest {
    /// The configuration's id.
    pub configuration: i64,
    pub action: ScalingDirection,
    /// With `set`: the count wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// Act even during the cooldown.
    #[serde(default)]
    pub force: bool,
    /// A retried request with the same key (per configuration) scales once
    /// and gets the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub idempotency_key: Option<String>,
    /// Who asks, on a server without tokens (a token's name otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// One action of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingAction {
    pub id: i64,
    pub configuration_id: i64,
    pub configuration_name: String,
    pub direction: ScalingDirection,
    /// A token's name, the name given on a server without tokens, or
    /// `vigie` for automatic mode.
    pub actor: String,
    pub automatic: bool,
    pub reason: String,
    /// The trigger's value when the action was decided, in its unit.
    pub trigger_value: Option<f64>,
    pub executor: String,
    /// Instances before, as the executor reported them.
    pub before: Option<u32>,
    /// Instances asked for; `None` when the count could not be read for an
    /// up or down (the action then failed).
    pub after: Option<u32>,
    pub outcome: ScalingOutcome,
    /// Why it failed (the executor's text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last lines the executor printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub forced: bool,
    /// Unix ms.
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingActionList {
    pub actions: Vec<ScalingAction>,
    /// Actions matching the filters.
    pub total: u64,
    /// `offset` of the next page, when there is one.
    pub next_offset: Option<u64>,
}

/// What automatic mode would do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    ScaleUp,
    ScaleDown,
    /// Nothing to do (within thresholds, at a bound, cooling down, waiting
    /// for the for-duration).
    Hold,
    /// Cannot decide: the figure is missing or stale, or the count unknown.
    NoDecision,
}

/// The seeds' `check_scaling_needs`, for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingNeed {
    pub verdict: Verdict,
    /// The count it would ask for.
    pub instances: Option<u32>,
    pub reason: String,
}

/// One configuration's live status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingStatus {
    pub configuration: ScalingConfig,
    pub instances: Instances,
    /// Why the executor could not report the counts.
    pub executor_error: Option<String>,
    /// The trigger's latest value, in its unit; `None` when not measured.
    pub trigger_value: Option<f64>,
    pub unit: String,
    pub last_action: Option<ScalingAction>,
    /// Seconds before another action may be taken without `force`.
    pub cooldown_left_s: u64,
    /// Whether an action is under way.
    pub in_flight: bool,
    pub check_scaling_needs: ScalingNeed,
    /// The scaling types its executor applies.
    pub supported_types: Vec<ScalingType>,
}

/// The event of a configuration's instance counts, pushed when they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstancesEvent {
    pub configuration_id: i64,
    pub instances: Instances,
}

/// SSE event names: an action (started or finished), and instance counts.
pub const SCALING_EVENT: &str = "scaling";
pub const INSTANCES_EVENT: &str = "instances";

/// The actor of automatic mode's actions.
pub const AUTOSCALER_ACTOR: &str = "vigie";

/// `GET auto-scaling-status/`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoScalingStatus {
    pub configurations: Vec<ScalingStatus>,
    /// Automatic mode acts only while monitoring runs.
    pub monitoring_active: bool,
}
