//! A loopback stand-in for a Kubernetes cluster's API server, which cannot
//! run here.
//!
//! [`KubeFake`] holds one Deployment and answers the few calls a client makes
//! to read and scale it: the same paths, verbs, content types, bearer-token
//! authentication and JSON shapes as the real API server (`apps/v1`
//! Deployment, its `autoscaling/v1` Scale subresource, the `autoscaling/v2`
//! HorizontalPodAutoscaler list). Every error is a real `Status` object.
//!
//! As on the real server, integer fields tagged `omitempty` in the Kubernetes
//! types are left out when they are zero: the Scale's `spec.replicas` and the
//! Deployment's `status.replicas`, `readyReplicas`, `availableReplicas`,
//! `updatedReplicas` and `unavailableReplicas`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The bearer token the fake accepts.
const TOKEN: &str = "fake-token-0123456789";

/// When every object of the fake was created.
const CREATED: &str = "2025-01-06T09:30:00Z";

/// The service account named in `403 Forbidden` messages.
const SERVICE_ACCOUNT: &str = "system:serviceaccount:vigie:vigie";

/// The Kubernetes API server's paths this fake serves.
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}";
const SCALE_PATH: &str = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale";
const HPA_LIST_PATH: &str = "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers";

/// A fake Kubernetes API server on a loopback port, holding one Deployment.
///
/// Stops when dropped, or with [`KubeFake::stop`].
#[derive(Debug)]
pub struct KubeFake {
    addr: SocketAddr,
    cluster: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl KubeFake {
    /// Starts on 127.0.0.1:0 with one Deployment `namespace/name` at
    /// `replicas` (ready = replicas).
    pub async fn start(namespace: &str, name: &str, replicas: u32) -> KubeFake {
        let cluster: Shared = Arc::new(Mutex::new(Cluster::new(namespace, name, replicas)));
        let app = Router::new()
            .route(DEPLOYMENT_PATH, get(get_deployment))
            .route(SCALE_PATH, get(get_scale).patch(patch_scale))
            .route(HPA_LIST_PATH, get(list_hpas))
            .fallback(unknown_path)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn(require_token))
            .with_state(Arc::clone(&cluster));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Kubernetes API server");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await;
        });
        KubeFake {
            addr,
            cluster,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// The API server's base URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bearer token the fake requires; requests without it get a
    /// `401 Unauthorized` Status.
    pub fn token(&self) -> &'static str {
        TOKEN
    }

    /// The Deployment's `spec.replicas` and `status.readyReplicas` now.
    pub fn replicas(&self) -> (u32, u32) {
        let cluster = self.lock();
        (cluster.replicas, cluster.ready)
    }

    /// Sets `status.readyReplicas` (and `availableReplicas`), e.g. to
    /// simulate pods that are not ready yet. The next scale PATCH sets it
    /// back to the new `spec.replicas`.
    pub fn set_ready(&self, ready: u32) {
        let mut cluster = self.lock();
        if cluster.ready != ready {
            cluster.ready = ready;
            cluster.bump();
        }
    }

    /// Adds a HorizontalPodAutoscaler (`autoscaling/v2`) named `hpa`, in the
    /// Deployment's namespace, targeting the Deployment.
    pub fn add_hpa(&self, hpa: &str) {
        let mut cluster = self.lock();
        let resource_version = cluster.bump();
        let uid = fake_uid(&format!("hpa/{}/{hpa}", cluster.namespace));
        cluster.hpas.push(Hpa {
            name: hpa.to_owned(),
            uid,
            resource_version,
        });
    }

    /// From now on every PATCH of the scale answers this status code (403 or
    /// 409) with a Status object and changes nothing; `None`: normal answers.
    pub fn fail_patches_with(&self, status: Option<u16>) {
        self.lock().fail_patches = status;
    }

    /// The authenticated PATCH requests of the scale received so far, failed
    /// ones included: their content type (empty when absent) and body (a
    /// JSON string holding the raw text when it is not JSON).
    pub fn patches(&self) -> Vec<(String, Value)> {
        self.lock().patches.clone()
    }

    /// Stops accepting connections, closes the idle ones and waits (a few
    /// seconds at most) until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cluster> {
        lock(&self.cluster)
    }
}

impl Drop for KubeFake {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The fake's state, shared by its handle and its handlers.
type Shared = Arc<Mutex<Cluster>>;

fn lock(cluster: &Shared) -> MutexGuard<'_, Cluster> {
    cluster.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the fake cluster holds: one Deployment and its autoscalers.
#[derive(Debug)]
struct Cluster {
    namespace: String,
    name: String,
    uid: String,
    /// `spec.replicas` (and `status.replicas`, `updatedReplicas`).
    replicas: u32,
    /// `status.readyReplicas` (and `availableReplicas`).
    ready: u32,
    /// `metadata.generation`: bumped when the spec changes.
    generation: u64,
    /// The cluster-wide counter `metadata.resourceVersion`s are taken from.
    revision: u64,
    /// The Deployment's `metadata.resourceVersion`.
    resource_version: u64,
    hpas: Vec<Hpa>,
    fail_patches: Option<u16>,
    patches: Vec<(String, Value)>,
}

/// A HorizontalPodAutoscaler targeting the Deployment.
#[derive(Debug)]
struct Hpa {
    name: String,
    uid: String,
    resource_version: u64,
}

impl Cluster {
    fn new(namespace: &str, name: &str, replicas: u32) -> Cluster {
        Cluster {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: fake_uid(&format!("deployment/{namespace}/{name}")),
            replicas,
            ready: replicas,
            generation: 1,
            revision: 1000,
            resource_version: 1000,
            hpas: Vec::new(),
            fail_patches: None,
            patches: Vec::new(),
        }
    }

    /// Whether `namespace/name` is the Deployment.
    fn holds(&self, namespace: &str, name: &str) -> bool {
        self.namespace == namespace && self.name == name
    }

    /// Records a change to the Deployment: a new `resourceVersion`, returned.
    fn bump(&mut self) -> u64 {
        self.revision += 1;
        self.resource_version = self.revision;
        self.revision
    }

    fn selector(&self) -> String {
        format!("app={}", self.name)
    }

    /// The Deployment's `autoscaling/v1` Scale subresource.
    fn scale(&self) -> Value {
        let mut spec = Map::new();
        insert_nonzero(&mut spec, "replicas", self.replicas);
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "resourceVersion": self.resource_version.to_string(),
                "creationTimestamp": CREATED,
            },
            "spec": spec,
            "status": {
                "replicas": self.replicas,
                "selector": self.selector(),
            },
        })
    }

    /// The `apps/v1` Deployment.
    fn deployment(&self) -> Value {
        let available = self.ready.min(self.replicas);
        let unavailable = self.replicas - available;
        let mut status = Map::new();
        status.insert("observedGeneration".into(), json!(self.generation));
        insert_nonzero(&mut status, "replicas", self.replicas);
        insert_nonzero(&mut status, "updatedReplicas", self.replicas);
        insert_nonzero(&mut status, "readyReplicas", self.ready);
        insert_nonzero(&mut status, "availableReplicas", available);
        insert_nonzero(&mut status, "unavailableReplicas", unavailable);
        let minimum_available = unavailable == 0;
        status.insert(
            "conditions".into(),
            json!([
                {
                    "type": "Available",
                    "status": if minimum_available { "True" } else { "False" },
                    "lastUpdateTime": CREATED,
                    "lastTransitionTime": CREATED,
                    "reason": if minimum_available {
                        "MinimumReplicasAvailable"
                    } else {
                        "MinimumReplicasUnavailable"
                    },
                    "message": if minimum_available {
                        "Deployment has minimum availability."
                    } else {
                        "Deployment does not have minimum availability."
                    },
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "lastUpdateTime": CREATED,
                    "lastTransitionTime": CREATED,
                    "reason": "NewReplicaSetAvailable",
                    "message": format!(
                        "ReplicaSet \"{}-5d8f7c9b6d\" has successfully progressed.",
                        self.name
                    ),
                },
            ]),
        );
        json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "resourceVersion": self.resource_version.to_string(),
                "generation": self.generation,
                "creationTimestamp": CREATED,
                "labels": { "app": self.name },
                "annotations": { "deployment.kubernetes.io/revision": "1" },
            },
            "spec": {
                "replicas": self.replicas,
                "selector": { "matchLabels": { "app": self.name } },
                "template": {
                    "metadata": { "labels": { "app": self.name } },
                    "spec": {
                        "containers": [{
                            "name": self.name,
                            "image": "registry.example/app:1.0",
                            "imagePullPolicy": "IfNotPresent",
                        }],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": { "maxUnavailable": "25%", "maxSurge": "25%" },
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": status,
        })
    }

    /// The `autoscaling/v2` HorizontalPodAutoscalerList of `namespace`.
    fn hpa_list(&self, namespace: &str) -> Value {
        let items: Vec<Value> = if namespace == self.namespace {
            self.hpas.iter().map(|hpa| self.hpa(hpa)).collect()
        } else {
            Vec::new()
        };
        json!({
            "kind": "HorizontalPodAutoscalerList",
            "apiVersion": "autoscaling/v2",
            "metadata": { "resourceVersion": self.revision.to_string() },
            "items": items,
        })
    }

    /// One item of the list (list items carry no `kind` nor `apiVersion`).
    fn hpa(&self, hpa: &Hpa) -> Value {
        json!({
            "metadata": {
                "name": hpa.name,
                "namespace": self.namespace,
                "uid": hpa.uid,
                "resourceVersion": hpa.resource_version.to_string(),
                "creationTimestamp": CREATED,
            },
            "spec": {
                "scaleTargetRef": {
                    "kind": "Deployment",
                    "name": self.name,
                    "apiVersion": "apps/v1",
                },
                "minReplicas": 1,
                "maxReplicas": 10,
                "metrics": [{
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": { "type": "Utilization", "averageUtilization": 80 },
                    },
                }],
            },
            "status": {
                "currentReplicas": self.replicas,
                "desiredReplicas": self.replicas,
            },
        })
    }
}

/// Inserts `value` under `key` unless it is zero, as Go's `omitempty` does.
fn insert_nonzero(object: &mut Map<String, Value>, key: &str, value: u32) {
    if value != 0 {
        object.insert(key.to_owned(), json!(value));
    }
}

/// A stable UUID-shaped `metadata.uid` for `seed`.
fn fake_uid(seed: &str) -> String {
    // FNV-1a, twice with different offsets, for 128 stable bits.
    let hash = |offset: u64| {
        seed.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let (high, low) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0x0fff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff,
    )
}

/// A `Status` object (`kind: Status`, `apiVersion: v1`) answered with `code`.
fn status(code: StatusCode, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    (code, Json(body)).into_response()
}

/// `404 NotFound` for a Deployment that does not exist.
fn deployment_not_found(name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("deployments.apps \"{name}\" not found"),
        Some(deployment_details(name)),
    )
}

fn deployment_details(name: &str) -> Value {
    json!({ "name": name, "group": "apps", "kind": "deployments" })
}

/// Rejects, with `401 Unauthorized`, requests without `Authorization:
/// Bearer <token>`, before any routing, as the real server authenticates.
async fn require_token(request: Request, next: Next) -> Response {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == TOKEN
        });
    if authorized {
        next.run(request).await
    } else {
        status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        )
    }
}

/// `GET /apis/apps/v1/namespaces/{namespace}/deployments/{name}`.
async fn get_deployment(cluster: State<Shared>, at: Path<(String, String)>) -> Response {
    read_deployment(cluster, at, Cluster::deployment)
}

/// `GET /apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale`.
async fn get_scale(cluster: State<Shared>, at: Path<(String, String)>) -> Response {
    read_deployment(cluster, at, Cluster::scale)
}

/// `view` of the Deployment at `namespace/name`, or its 404 Status.
fn read_deployment(
    State(cluster): State<Shared>,
    Path((namespace, name)): Path<(String, String)>,
    view: fn(&Cluster) -> Value,
) -> Response {
    let cluster = lock(&cluster);
    if !cluster.holds(&namespace, &name) {
        return deployment_not_found(&name);
    }
    Json(view(&cluster)).into_response()
}

/// `PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale`,
/// a JSON merge patch such as `{"spec":{"replicas":3}}`.
///
/// Checked in the real server's order: authorization (403), content type
/// (415), existence (404), decoding (400), validation (422), then the
/// update (409).
async fn patch_scale(
    State(cluster): State<Shared>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let patch = serde_json::from_slice::<Value>(&body);
    let mut cluster = lock(&cluster);
    cluster.patches.push((
        content_type.clone(),
        match &patch {
            Ok(value) => value.clone(),
            Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
        },
    ));

    let failure = cluster.fail_patches;
    if failure == Some(403) {
        return forbidden(&namespace, &name);
    }

    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/merge-patch+json") {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: application/merge-patch+json (got {content_type:?})"
            ),
            None,
        );
    }

    if !cluster.holds(&namespace, &name) {
        return deployment_not_found(&name);
    }

    let patch = match patch {
        Ok(Value::Object(patch)) => patch,
        Ok(other) => {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("error decoding patch: a merge patch must be a JSON object, got {other}"),
                None,
            );
        }
        Err(error) => {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("error decoding patch: {error}"),
                None,
            );
        }
    };

    let replicas = match patch.get("spec").and_then(|spec| spec.get("replicas")) {
        None => None,
        Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if i32::try_from(n).is_ok() => Some(n),
            _ => return invalid_replicas(&name, value),
        },
    };

    if let Some(code) = failure {
        return injected_failure(code, &namespace, &name);
    }

    if let Some(replicas) = replicas
        && (cluster.replicas != replicas || cluster.ready != replicas)
    {
        if cluster.replicas != replicas {
            cluster.generation += 1;
        }
        cluster.replicas = replicas;
        cluster.ready = replicas;
        cluster.bump();
    }
    Json(cluster.scale()).into_response()
}

/// `403 Forbidden`: the service account may not patch `deployments/scale`.
fn forbidden(namespace: &str, name: &str) -> Response {
    status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "deployments.apps \"{name}\" is forbidden: User \"{SERVICE_ACCOUNT}\" cannot patch \
             resource \"deployments/scale\" in API group \"apps\" in the namespace \"{namespace}\""
        ),
        Some(deployment_details(name)),
    )
}

/// The failure set by [`KubeFake::fail_patches_with`].
fn injected_failure(code: u16, namespace: &str, name: &str) -> Response {
    match code {
        403 => forbidden(namespace, name),
        409 => status(
            StatusCode::CONFLICT,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on deployments.apps \"{name}\": the object has \
                 been modified; please apply your changes to the latest version and try again"
            ),
            Some(deployment_details(name)),
        ),
        other => {
            let code = StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = match code.as_u16() {
                400 => "BadRequest",
                401 => "Unauthorized",
                404 => "NotFound",
                405 => "MethodNotAllowed",
                410 => "Expired",
                422 => "Invalid",
                429 => "TooManyRequests",
                500 => "InternalError",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "",
            };
            status(
                code,
                reason,
                code.canonical_reason().unwrap_or("failure"),
                None,
            )
        }
    }
}

/// `422 Invalid`: `spec.replicas` is not a non-negative 32-bit integer.
fn invalid_replicas(name: &str, value: &Value) -> Response {
    let detail = match value {
        Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => {
            "must be greater than or equal to 0"
        }
        Value::Number(_) => "must be a non-negative 32-bit integer",
        _ => "must be an integer",
    };
    let cause = format!("Invalid value: {value}: {detail}");
    status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: {cause}"),
        Some(json!({
            "name": name,
            "group": "autoscaling",
            "kind": "Scale",
            "causes": [{
                "reason": "FieldValueInvalid",
                "message": cause,
                "field": "spec.replicas",
            }],
        })),
    )
}

/// `GET /apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers`:
/// an empty list in any other namespace, as on the real server.
async fn list_hpas(State(cluster): State<Shared>, Path(namespace): Path<String>) -> Response {
    Json(lock(&cluster).hpa_list(&namespace)).into_response()
}

/// `404 NotFound` for a path the fake does not serve.
async fn unknown_path() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// `405 MethodNotAllowed` for a verb the fake does not serve on a path.
async fn method_not_allowed() -> Response {
    status(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}
