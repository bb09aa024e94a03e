//! What applies a configuration's actions and reports its instance counts:
//! a dry run (records, changes nothing), a program (argv, with a timeout),
//! or a Kubernetes workload's `scale` subresource (plain HTTP: three
//! requests of one API group do not need a client library and its
//! dependency tree; see README, Scaling).

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use vigie_api::{Executor, Instances, ScalingConfig, Workload};

use crate::fetch_policy::FetchPolicy;
use crate::store::Store;

/// Bytes of a program's output kept with an action.
const OUTPUT_TAIL: usize = 2000;
/// How long a program's output is still read once it has exited.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);
/// Time allowed to one Kubernetes API request.
const KUBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Where a pod finds its service account.
const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Environment given to a `command` executor's programs.
pub const ENV_INSTANCES: &str = "VIGIE_SCALE_INSTANCES";
pub const ENV_NAME: &str = "VIGIE_SCALE_NAME";

/// The instance counts `config`'s executor reports now.
pub async fn read(
    config: &ScalingConfig,
    store: &Store,
    policy: &FetchPolicy,
) -> Result<Instances, String> {
    let recorded = {
        let id = config.id;
        store
            .call(move |s| s.last_scaled_to(id))
            .await
            .map_err(|e| e.to_string())?
    };
    match &config.spec.executor {
        Executor::DryRun => {
            let n = recorded.unwrap_or(config.spec.min_instances);
            Ok(Instances {
                desired: Some(n),
                current: Some(n),
                ready: Some(n),
            })
        }
        Executor::Command {
            status, timeout_s, ..
        } => {
            let Some(argv) = status else {
                return Ok(Instances {
                    desired: recorded,
                    current: recorded,
                    ready: None,
                });
            };
            let run = run(argv, &config.spec.name, None, *timeout_s).await?;
            if !run.success {
                return Err(format!(
                    "the status program failed ({}): {}",
                    run.status,
                    run.output.trim()
                ));
            }
            let (current, ready) = parse_status(&run.stdout)?;
            Ok(Instances {
                desired: recorded.or(Some(current)),
                current: Some(current),
                ready: Some(ready.unwrap_or(current)),
            })
        }
        Executor::Kubernetes { .. } => Kube::of(config, policy)?.read().await,
    }
}

/// Asks `config`'s executor for `to` instances; the tail of what it printed.
pub async fn apply(
    config: &ScalingConfig,
    to: u32,
    before: Option<u32>,
    policy: &FetchPolicy,
) -> Result<Option<String>, String> {
    match &config.spec.executor {
        Executor::DryRun => Ok(Some(format!(
            "dry run: {} would go from {} to {to} instances; nothing was changed",
            config.spec.name,
            before.map_or_else(|| "an unknown count".to_owned(), |b| b.to_string())
        ))),
        Executor::Command {
            scale, timeout_s, ..
        } => {
            let run = run(scale, &config.spec.name, Some(to), *timeout_s).await?;
            if run.success {
                Ok(Some(run.output).filter(|o| !o.is_empty()))
            } else {
                Err(format!(
                    "the scale program failed ({}): {}",
                    run.status,
                    last_line(&run.output)
                ))
            }
        }
        Executor::Kubernetes { .. } => Kube::of(config, policy)?.set(to).await.map(|()| None),
    }
}

/// The first line of a status program: `current` or `current ready`.
pub fn parse_status(stdout: &str) -> Result<(u32, Option<u32>), String> {
    let line = stdout.lines().next().unwrap_or("").trim();
    let mut words = line.split_whitespace();
    let number = |w: Option<&str>| w.map(|w| w.parse::<u32>());
    match (number(words.next()), number(words.next()), words.next()) {
        (Some(Ok(current)), None, None) => Ok((current, None)),
        (Some(Ok(current)), Some(Ok(ready)), None) => Ok((current, Some(ready))),
        _ => Err(format!(
            "the status program printed {line:?}: expected a count, or a count and a ready count"
        )),
    }
}

fn last_line(output: &str) -> &str {
    output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}

struct Run {
    success: bool,
    status: String,
    stdout: String,
    /// The tail of stdout and stderr.
    output: String,
}

/// Runs `argv` (no shell) with the configuration's name and, when given,
/// the wanted count in its environment; killed past `timeout_s`. Done when
/// the program exits: output that a process it started in the background
/// still holds open is read for a moment more, not waited for.
async fn run(argv: &[String], name: &str, to: Option<u32>, timeout_s: u32) -> Result<Run, String> {
    use tokio::io::AsyncReadExt;

    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "the program is empty".to_owned())?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env(ENV_NAME, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(n) = to {
        cmd.env(ENV_INSTANCES, n.to_string());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let collect = |pipe: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>| {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = seen.clone();
        let task = tokio::spawn(async move {
            let Some(mut pipe) = pipe else { return };
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut v) = into.lock() {
                    v.extend_from_slice(&buf[..n]);
                }
            }
        });
        (seen, task)
    };
    let (out, out_task) = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let (err, err_task) = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let limit = Duration::from_secs(u64::from(timeout_s));
    let status = match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => status.map_err(|e| format!("{program}: {e}"))?,
        Err(_) => {
            let _ = child.kill().await;
            out_task.abort();
            err_task.abort();
            return Err(format!(
                "{program} did not finish within {timeout_s} s and was killed"
            ));
        }
    };
    let (mut out_task, mut err_task) = (out_task, err_task);
    let readers = async {
        let _ = (&mut out_task).await;
        let _ = (&mut err_task).await;
    };
    // A process it started in the background may hold the pipes: what was
    // written so far is kept, and the readers stop.
    let _ = tokio::time::timeout(OUTPUT_GRACE, readers).await;
    out_task.abort();
    err_task.abort();
    let text = |b: &std::sync::Mutex<Vec<u8>>| {
        b.lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    };
    let stdout = text(&out);
    let mut output = stdout.clone();
    output.push_str(&text(&err));
    Ok(Run {
        success: status.success(),
        status: status.to_string(),
        stdout,
        output: tail(&output),
    })
}

fn tail(s: &str) -> String {
    let s = s.trim_end();
    if s.len() <= OUTPUT_TAIL {
        return s.to_owned();
    }
    let mut start = s.len() - OUTPUT_TAIL;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// One Kubernetes workload, as its configuration names it.
struct Kube {
    http: reqwest::Client,
    policy: FetchPolicy,
    api: String,
    token: String,
    namespace: String,
    name: String,
    workload: Workload,
}

#[derive(Deserialize)]
struct Scale {
    spec: ScaleSpec,
    #[serde(default)]
    status: Option<ScaleStatus>,
}

#[derive(Deserialize)]
struct ScaleSpec {
    #[serde(default)]
    replicas: Option<u32>,
}

#[derive(Deserialize)]
struct ScaleStatus {
    #[serde(default)]
    replicas: Option<u32>,
}

#[derive(Deserialize)]
struct WorkloadObject {
    #[serde(default)]
    status: Option<WorkloadStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkloadStatus {
    #[serde(default)]
    ready_replicas: Option<u32>,
}

#[derive(Deserialize)]
struct HpaList {
    items: Vec<Hpa>,
}

#[derive(Deserialize)]
struct Hpa {
    metadata: Metadata,
    spec: HpaSpec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HpaSpec {
    scale_target_ref: TargetRef,
}

#[derive(Deserialize)]
struct TargetRef {
    kind: String,
    name: String,
}

/// A Kubernetes `Status` (the body of every refusal).
#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
}

impl Kube {
    fn of(config: &ScalingConfig, policy: &FetchPolicy) -> Result<Kube, String> {
        let Executor::Kubernetes {
            namespace,
            name,
            workload,
            api_url,
            token_file,
            ca_file,
            kubeconfig,
        } = &config.spec.executor
        else {
            return Err("not a Kubernetes configuration".into());
        };
        let from_file = kubeconfig.as_deref().map(KubeConfig::read).transpose()?;
        let api = match (api_url, &from_file) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(k)) => k.server.trim_end_matches('/').to_owned(),
            (None, None) => in_cluster_api()?,
        };
        // Read at every use: projected service-account tokens rotate.
        let token = match (token_file, from_file.as_ref().and_then(|k| k.token.clone())) {
            (None, Some(token)) => token,
            (path, _) => {
                let path = path
                    .clone()
                    .unwrap_or_else(|| format!("{SERVICE_ACCOUNT}/token"));
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the token file {path}: {e}"))?
                    .trim()
                    .to_owned()
            }
        };
        let ca_pem = match (ca_file, from_file.and_then(|k| k.ca_pem)) {
            (None, Some(pem)) => Some(pem),
            (path, _) => {
                let path = path.clone().or_else(|| {
                    let default = format!("{SERVICE_ACCOUNT}/ca.crt");
                    std::path::Path::new(&default).exists().then_some(default)
                });
                path.map(|p| {
                    std::fs::read(&p).map_err(|e| format!("cannot read the CA file {p}: {e}"))
                })
                .transpose()?
            }
        };
        let mut builder = reqwest::Client::builder()
            .timeout(KUBE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(policy.resolver());
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("the API server's CA is not PEM: {e}"))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| format!("Kubernetes client: {e}"))?;
        Ok(Kube {
            http,
            policy: policy.clone(),
            api,
            token,
            namespace: namespace.clone(),
            name: name.clone(),
            workload: *workload,
        })
    }

    fn kind(&self) -> &'static str {
        match self.workload {
            Workload::Deployment => "Deployment",
            Workload::StatefulSet => "StatefulSet",
        }
    }

    fn object_url(&self) -> String {
        let plural = match self.workload {
            Workload::Deployment => "deployments",
            Workload::StatefulSet => "statefulsets",
        };
        format!(
            "{}/apis/apps/v1/namespaces/{}/{plural}/{}",
            self.api, self.namespace, self.name
        )
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, String> {
        let req = req
            .bearer_auth(&self.token)
            .build()
            .map_err(|e| e.to_string())?;
        self.policy
            .check_url(req.url())
            .map_err(|e| format!("the Kubernetes API address is refused: {e}"))?;
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| format!("the Kubernetes API did not answer ({what}): {e}"))?;
        let code = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("the Kubernetes API's answer was cut ({what}): {e}"))?;
        if !code.is_success() {
            let status: Option<Status> = serde_json::from_slice(&body).ok();
            return Err(match status {
                Some(s) => format!(
                    "the Kubernetes API refused {what} ({} {}): {}",
                    code.as_u16(),
                    s.reason,
                    s.message
                ),
                None => format!("the Kubernetes API refused {what} ({code})"),
            });
        }
        serde_json::from_slice(&body).map_err(|e| {
            format!("the Kubernetes API's answer to {what} is not what it should be: {e}")
        })
    }

    async fn read(&self) -> Result<Instances, String> {
        let scale: Scale = self
            .send(
                self.http.get(format!("{}/scale", self.object_url())),
                "reading the scale",
            )
            .await?;
        let object: WorkloadObject = self
            .send(
                self.http.get(self.object_url()),
                &format!("reading the {}", self.kind()),
            )
            .await?;
        // The API leaves zero counts out ("omitempty"): missing is 0.
        Ok(Instances {
            desired: Some(scale.spec.replicas.unwrap_or(0)),
            current: Some(scale.status.and_then(|s| s.replicas).unwrap_or(0)),
            ready: Some(object.status.and_then(|s| s.ready_replicas).unwrap_or(0)),
        })
    }

    /// The HorizontalPodAutoscaler that scales this workload, if any.
    async fn autoscaler(&self) -> Result<Option<String>, String> {
        let url = format!(
            "{}/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers",
            self.api, self.namespace
        );
        let list: HpaList = self
            .send(self.http.get(url), "listing HorizontalPodAutoscalers")
            .await?;
        Ok(list
            .items
            .into_iter()
            .find(|h| {
                h.spec.scale_target_ref.kind == self.kind()
                    && h.spec.scale_target_ref.name == self.name
            })
            .map(|h| h.metadata.name))
    }

    async fn set(&self, to: u32) -> Result<(), String> {
        if let Some(hpa) = self.autoscaler().await? {
            return Err(format!(
                "the HorizontalPodAutoscaler {hpa} scales the {} {}: Vigie does not scale it as well (remove the HPA, or let it decide)",
                self.kind(),
                self.name
            ));
        }
        let patch = serde_json::json!({"spec": {"replicas": to}});
        let _: Scale = self
            .send(
                self.http
                    .patch(format!("{}/scale", self.object_url()))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/merge-patch+json",
                    )
                    .body(patch.to_string()),
                "the scale change",
            )
            .await?;
        Ok(())
    }
}

/// What a kubeconfig's current context says: the server, its CA and a token.
struct KubeConfig {
    server: String,
    ca_pem: Option<Vec<u8>>,
    token: Option<String>,
}

#[derive(Deserialize)]
struct KubeConfigFile {
    #[serde(rename = "current-context", default)]
    current_context: String,
    #[serde(default)]
    contexts: Vec<Named<ContextEntry>>,
    #[serde(default)]
    clusters: Vec<Named<ClusterEntry>>,
    #[serde(default)]
    users: Vec<Named<UserEntry>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "context", alias = "cluster", alias = "user")]
    item: T,
}

#[derive(Deserialize)]
struct ContextEntry {
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Deserialize)]
struct ClusterEntry {
    server: String,
    #[serde(rename = "certificate-authority-data", default)]
    ca_data: Option<String>,
    #[serde(rename = "certificate-authority", default)]
    ca_file: Option<String>,
}

#[derive(Deserialize)]
struct UserEntry {
    #[serde(default)]
    token: Option<String>,
    #[serde(rename = "tokenFile", default)]
    token_file: Option<String>,
}

impl KubeConfig {
    fn read(path: &str) -> Result<KubeConfig, String> {
        use base64::Engine as _;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the kubeconfig {path}: {e}"))?;
        let file: KubeConfigFile = serde_yaml::from_str(&text)
            .map_err(|e| format!("the kubeconfig {path} is not one: {e}"))?;
        let find = |what: &str, name: &str, found: bool| {
            if found {
                Ok(())
            } else {
                Err(format!("the kubeconfig {path} has no {what} {name:?}"))
            }
        };
        let ctx = file
            .contexts
            .iter()
            .find(|c| c.name == file.current_context);
        find("context", &file.current_context, ctx.is_some())?;
        let ctx = &ctx.ok_or_else(String::new)?.item;
        let cluster = file.clusters.iter().find(|c| c.name == ctx.cluster);
        find("cluster", &ctx.cluster, cluster.is_some())?;
        let cluster = &cluster.ok_or_else(String::new)?.item;
        let user = file
            .users
            .iter()
            .find(|u| u.name == ctx.user)
            .map(|u| &u.item);
        let ca_pem = match (&cluster.ca_data, &cluster.ca_file) {
            (Some(data), _) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .map_err(|e| format!("certificate-authority-data in {path}: {e}"))?,
            ),
            (None, Some(file)) => Some(
                std::fs::read(file).map_err(|e| format!("cannot read the CA file {file}: {e}"))?,
            ),
            (None, None) => None,
        };
        let token = match user {
            Some(UserEntry { token: Some(t), .. }) => Some(t.trim().to_owned()),
            Some(UserEntry {
                token_file: Some(f),
                ..
            }) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("cannot read the token file {f}: {e}"))?
                    .trim()
                    .to_owned(),
            ),
            _ => None,
        };
        Ok(KubeConfig {
            server: cluster.server.clone(),
            ca_pem,
            token,
        })
    }
}

fn in_cluster_api() -> Result<String, String> {
    match (
        std::env::var("KUBERNETES_SERVICE_HOST"),
        std::env::var("KUBERNETES_SERVICE_PORT"),
    ) {
        (Ok(host), Ok(port)) if !host.is_empty() => {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            Ok(format!("https://{host}:{port}"))
        }
        _ => {
            Err("no api_url, and not in a cluster (KUBERNETES_SERVICE_HOST is not set)".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_is_a_count_or_a_count_and_a_ready_count() {
        assert_eq!(parse_status("3\n"), Ok((3, None)));
        assert_eq!(parse_status(" 3 2 \nmore"), Ok((3, Some(2))));
        for garbage in ["", "three", "3 2 1", "-1", "3 x"] {
            let e = parse_status(garbage).expect_err(garbage);
            assert!(e.contains("expected a count"), "{e}");
        }
    }

    #[test]
    fn output_keeps_its_tail_on_a_char_boundary() {
        let long = "é".repeat(OUTPUT_TAIL);
        let t = tail(&long);
        assert!(t.starts_with('…'));
        assert!(t.len() <= OUTPUT_TAIL + '…'.len_utf8());
        assert_eq!(tail("short\n"), "short");
    }
}
