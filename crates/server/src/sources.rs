//! What the samplers of outside servers share (Redis cache sources,
//! PostgreSQL database sources): one task per source, started, restarted on
//! change and stopped on removal; a sample at each interval while
//! monitoring is on, bounded by the source's timeout; and each source's
//! live state (health, last sample, last error, server version).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use vigie_api::Health;

use crate::monitoring::Monitoring;

/// A source's live state, since this process started.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    /// `None` until the first sample.
    pub ok: Option<bool>,
    pub last_sample_ms: Option<i64>,
    pub last_error: Option<String>,
    pub version: Option<String>,
}

impl Runtime {
    pub fn health(&self) -> Health {
        match self.ok {
            None => Health::Unknown,
            Some(true) => Health::Up,
            Some(false) => Health::Down,
        }
    }
}

/// One source's sampling: what a sample reads, and what is done with it.
/// The task owns it, so a sampler may keep state between samples.
pub trait Sampler: Send + 'static {
    type Sample: Send + 'static;
    fn sample(&mut self) -> impl Future<Output = Result<Self::Sample, String>> + Send;
    /// The server's version, as a sample read it.
    fn version(sample: &Self::Sample) -> Option<String>;
    /// Stores a sample, read or failed (`Err`: why), taken at `ts_ms`.
    fn store(
        &mut self,
        ts_ms: i64,
        sample: Result<Self::Sample, String>,
    ) -> impl Future<Output = ()> + Send;
}

/// The running tasks and their sources' live state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tasks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    monitoring: Monitoring,
    shutdown: CancellationToken,
    tasks: Mutex<HashMap<i64, CancellationToken>>,
    runtime: Mutex<HashMap<i64, Runtime>>,
}

impl Tasks {
    pub fn new(monitoring: Monitoring, shutdown: CancellationToken) -> Self {
        Tasks {
            inner: Arc::new(Inner {
                monitoring,
                shutdown,
                tasks: Mutex::default(),
                runtime: Mutex::default(),
            }),
        }
    }

    pub fn runtime(&self, id: i64) -> Runtime {
        self.inner
            .runtime
            .lock()
            .ok()
            .and_then(|r| r.get(&id).cloned())
            .unwrap_or_default()
    }

    /// (Re)starts sampling source `id` every `interval_ms`, each sample
    /// given `timeout_ms`.
    pub fn start<S: Sampler>(&self, id: i64, interval_ms: u64, timeout_ms: u64, sampler: S) {
        let token = self.inner.shutdown.child_token();
        // One lock for the swap: two restarts at once leave one task, never
        // an orphan no one can stop.
        if let Ok(mut tasks) = self.inner.tasks.lock()
            && let Some(old) = tasks.insert(id, token.clone())
        {
            old.cancel();
        }
        if let Ok(mut runtime) = self.inner.runtime.lock() {
            runtime.remove(&id);
        }
        tokio::spawn(run(
            self.inner.clone(),
            id,
            Duration::from_millis(interval_ms),
            Duration::from_millis(timeout_ms),
            sampler,
            token,
        ));
    }

    /// Stops sampling `id` and forgets its live state.
    pub fn stop(&self, id: i64) {
        if let Some(token) = self.inner.tasks.lock().ok().and_then(|mut t| t.remove(&id)) {
            token.cancel();
        }
        if let Ok(mut runtime) = self.inner.runtime.lock() {
            runtime.remove(&id);
        }
    }
}

async fn run<S: Sampler>(
    inner: Arc<Inner>,
    id: i64,
    interval: Duration,
    timeout: Duration,
    mut sampler: S,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if !inner.monitoring.is_on() {
            continue;
        }
        let ts_ms = crate::now_ms();
        let read = tokio::select! {
            () = stop.cancelled() => return,
            r = tokio::time::timeout(timeout, sampler.sample()) => {
                r.unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
            }
        };
        if let Ok(mut runtime) = inner.runtime.lock() {
            // Stopped meanwhile (replaced, deleted): `stop` cancels before it
            // clears the state, so checking under the lock leaves nothing stale.
            if stop.is_cancelled() {
                return;
            }
            let rt = runtime.entry(id).or_default();
            rt.ok = Some(read.is_ok());
            match &read {
                Ok(sample) => {
                    rt.last_sample_ms = Some(ts_ms);
                    rt.last_error = None;
                    rt.version = S::version(sample).or(rt.version.take());
                }
                Err(e) => rt.last_error = Some(e.clone()),
            }
        }
        if let Err(e) = &read {
            tracing::debug!(source = id, error = %e, "a source's sample failed");
        }
        sampler.store(ts_ms, read).await;
    }
}

/// Resolves `host` and connects to the first address the fetch policy
/// allows on `port`; every address the name resolves to is checked first
/// (a connection could use any of them), an IP literal as it is.
pub async fn connect(
    url: &reqwest::Url,
    default_port: u16,
    policy: &crate::fetch_policy::FetchPolicy,
) -> Result<tokio::net::TcpStream, String> {
    use std::net::{IpAddr, SocketAddr};
    policy.check_url(url).map_err(|e| e.to_string())?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL names no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port().unwrap_or(default_port);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            policy
                .check_resolved(host, &ips)
                .map_err(|e| e.to_string())?;
            addrs
        }
    };
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// Most bytes of PEM a source's `tls_ca` may hold (a CA bundle of a few
/// certificates is a few KiB).
pub const TLS_CA_MAX: usize = 64 * 1024;

/// The certificates of `pem` (`-----BEGIN CERTIFICATE-----` blocks).
pub fn ca_certificates(
    pem: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// Checks a source's `tls_ca`: only over TLS, PEM certificates each
/// usable as a trust anchor, at most [`TLS_CA_MAX`] bytes.
pub fn check_tls_ca(tls_ca: Option<&str>, tls: bool) -> Result<(), crate::error::ApiError> {
    use crate::error::ApiError;
    let Some(pem) = tls_ca else {
        return Ok(());
    };
    if !tls {
        return Err(ApiError::bad_request(
            "tls_ca",
            "tls_ca is only for a TLS connection (rediss://, or sslmode=require)",
        ));
    }
    if pem.len() > TLS_CA_MAX {
        return Err(ApiError::bad_request(
            "tls_ca",
            format!("tls_ca must be at most {TLS_CA_MAX} bytes"),
        ));
    }
    tls_config(Some(pem))
        .map(drop)
        .map_err(|e| ApiError::bad_request("tls_ca", format!("tls_ca {e}")))
}

/// What a TLS connection trusts: the certificates of `ca_pem` when given
/// (a private CA), else the public roots (Mozilla's, from webpki-roots).
/// TLS 1.2 and 1.3, no client certificate.
fn tls_config(ca_pem: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in ca_certificates(pem)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("holds a certificate that cannot be trusted: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// What TLS to `url`'s host needs: the connector (trusting what
/// [`tls_config`] trusts) and the name the server's certificate must hold
/// (a DNS name, or an IP address in its subject alternative names).
pub fn tls_connector(
    url: &reqwest::Url,
    ca_pem: Option<&str>,
) -> Result<
    (
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    ),
    String,
> {
    let config = tls_config(ca_pem).map_err(|e| format!("tls_ca {e}"))?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host} is not a name a certificate can hold"))?;
    Ok((Arc::new(config).into(), name))
}

/// TLS over a connection [`connect`] opened to `url`'s host, the server's
/// certificate verified as [`tls_connector`] says.
pub async fn tls(
    stream: tokio::net::TcpStream,
    url: &reqwest::Url,
    ca_pem: Option<&str>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let (connector, name) = tls_connector(url, ca_pem)?;
    connector.connect(name, stream).await.map_err(|e| {
        with_tls_hint(format!(
            "TLS with {} failed: {e}",
            url.host_str().unwrap_or_default()
        ))
    })
}

/// A TLS failure's message, with what to do when the certificate's issuer
/// is not trusted.
pub fn with_tls_hint(message: String) -> String {
    if message.contains("UnknownIssuer") {
        format!("{message} (if a private CA signed it, give its certificate as tls_ca)")
    } else {
        message
    }
}

/// What a source's URL, user and password must be: `scheme://host[:port]`
/// (one of `schemes`) with the path and query `rest_ok` accepts, no credentials in the URL (they go in
/// `username` and `password`), a host the fetch policy accepts as written
/// and as it resolves now. Each refusal names its field.
pub async fn validate_endpoint(
    url: &str,
    schemes: &[&str],
    rest_ok: fn(&reqwest::Url) -> bool,
    username: Option<&str>,
    password: Option<&str>,
    policy: &crate::fetch_policy::FetchPolicy,
) -> Result<(), crate::error::ApiError> {
    use crate::error::ApiError;
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::bad_request("url", format!("url is not a valid URL: {e}")))?;
    let scheme = schemes[0];
    if !schemes.contains(&parsed.scheme()) {
        return Err(ApiError::bad_request(
            "url",
            format!(
                "url must start with {}, not {}://",
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                parsed.scheme()
            ),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::bad_request(
            "url",
            "url must not hold credentials: give them as username and password",
        ));
    }
    if !rest_ok(&parsed) || parsed.fragment().is_some() {
        return Err(ApiError::bad_request(
            "url",
            format!("url is {scheme}://host[:port] and what it names"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("url", "url names no host"));
    }
    policy
        .check_url_resolving(&parsed)
        .await
        .map_err(|b| ApiError::bad_request("url", format!("url is refused: {b}")))?;
    if let Some(user) = username
        && (user.is_empty()
            || user.len() > 100
            || user.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(ApiError::bad_request(
            "username",
            "username must be 1 to 100 characters, without spaces",
        ));
    }
    if password.is_some_and(|p| p.len() > 512) {
        return Err(ApiError::bad_request(
            "password",
            "password must be at most 512 bytes",
        ));
    }
    Ok(())
}
