//! HTTP probes of the targets the admin declared. Each enabled target has its
//! own task and ticker, so a slow or dead target never delays another. A probe
//! measures the time to the complete answer and classifies how it ended
//! ([`Outcome`]); failures carry no latency, so they count in the error rate
//! and availability, never in response times. A target is down after
//! `down_after` failures in a row and up again after one success.
//!
//! Every fetch goes through the [`FetchPolicy`]: the URL is checked before
//! each probe, the client's resolver checks the addresses of every name and
//! its redirect policy every `Location`; a refusal is [`Outcome::Blocked`].
//! Prometheus targets follow no redirect, and their body is read whole, up to
//! [`SCRAPE_MAX_BYTES`], or not at all.

mod classify;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vigie_api::{
    Health, HostCapacities, Outcome, PROBE_EVENT, ProbeMethod, ProbeResult, TargetKind, TargetSpec,
};

pub use classify::{blocked, classify};

use crate::events::EventHub;
use crate::fetch_policy::FetchPolicy;
use crate::monitoring::Monitoring;
use crate::scrape::SCRAPE_MAX_BYTES;
use crate::scrape::histogram::HistogramState;
use crate::scrape::node::NodeState;
use crate::scrape::text;
use crate::telemetry::Telemetry;
use crate::writer::{Record, Writer};

/// Body bytes read at most: enough to time a page, not to download a file.
const MAX_BODY: usize = 1 << 20;

/// Redirects an HTTP probe follows, each one checked by the fetch policy.
const MAX_REDIRECTS: usize = 10;

/// Characters of a scrape's error kept for `last_error`: the reason, never a
/// copy of what the target answered.
pub const MAX_ERROR_CHARS: usize = 200;

/// Live state of one target, from its recent probes.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRuntime {
    pub health: Health,
    pub consecutive_failures: u32,
    pub last_result: Option<ProbeResult>,
    /// Why the last scrape of a Prometheus target could not be read.
    pub last_error: Option<String>,
    /// Sizes of the host behind a node_exporter target, from its last scrape.
    pub node: Option<HostCapacities>,
}

impl Default for TargetRuntime {
    fn default() -> Self {
        TargetRuntime {
            health: Health::Unknown,
            consecutive_failures: 0,
            last_result: None,
            last_error: None,
            node: None,
        }
    }
}

impl TargetRuntime {
    /// Folds one result in.
    pub fn record(&mut self, result: ProbeResult, down_after: u32) {
        if result.outcome == Outcome::Ok {
            self.consecutive_failures = 0;
            self.health = Health::Up;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.consecutive_failures >= down_after {
                self.health = Health::Down;
            }
        }
        self.last_result = Some(result);
    }
}

/// Starts, restarts and stops the probe tasks; holds each target's live state.
#[derive(Debug, Clone)]
pub struct Prober {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `Err` when the clients could not be built: every probe then fails
    /// with that reason rather than fetch without the policy.
    fetcher: Result<Fetcher, String>,
    fetch_policy: FetchPolicy,
    tasks: Mutex<HashMap<i64, CancellationToken>>,
    runtime: Mutex<HashMap<i64, TargetRuntime>>,
    writer: Writer,
    events: EventHub,
    monitoring: Monitoring,
    telemetry: Arc<Telemetry>,
    shutdown: CancellationToken,
    down_after: u32,
    /// Histogram families read from Prometheus targets.
    histograms: Vec<String>,
}

impl Prober {
    /// A prober whose every fetch is checked by `fetch_policy`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        writer: Writer,
        events: EventHub,
        monitoring: Monitoring,
        telemetry: Arc<Telemetry>,
        shutdown: CancellationToken,
        down_after: u32,
        histograms: Vec<String>,
        fetch_policy: FetchPolicy,
    ) -> Self {
        let fetcher = Fetcher::new(fetch_policy.clone()).map_err(|e| {
            tracing::error!(error = %e, "cannot build the probe client: every probe will fail");
            format!("the probe client could not be built: {e}")
        });
        Prober {
            inner: Arc::new(Inner {
                fetcher,
                fetch_policy,
                tasks: Mutex::new(HashMap::new()),
                runtime: Mutex::new(HashMap::new()),
                writer,
                events,
                monitoring,
                telemetry,
                shutdown,
                down_after: down_after.max(1),
                histograms,
            }),
        }
    }

    /// The policy every fetch of this prober goes through.
    pub fn fetch_policy(&self) -> &FetchPolicy {
        &self.inner.fetch_policy
    }

    /// The live state of target `id`.
    pub fn runtime(&self, id: i64) -> TargetRuntime {
        self.inner
            .runtime
            .lock()
            .ok()
            .and_then(|r| r.get(&id).cloned())
            .unwrap_or_default()
    }

    /// (Re)starts probing `id` with `spec`, or stops it when disabled.
    pub fn apply(&self, id: i64, spec: &TargetSpec) {
        self.stop(id);
        if !spec.enabled {
            return;
        }
        let token = self.inner.shutdown.child_token();
        if let Ok(mut tasks) = self.inner.tasks.lock() {
            tasks.insert(id, token.clone());
        }
        tokio::spawn(run_target(self.inner.clone(), id, spec.clone(), token));
    }

    /// Stops probing `id` and forgets its live state.
    pub fn stop(&self, id: i64) {
        if let Some(token) = self.inner.tasks.lock().ok().and_then(|mut t| t.remove(&id)) {
            token.cancel();
        }
        if let Ok(mut runtime) = self.inner.runtime.lock() {
            runtime.remove(&id);
        }
    }
}

fn now_ms() -> i64 {
    crate::now_ms()
}

async fn run_target(inner: Arc<Inner>, id: i64, spec: TargetSpec, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_millis(spec.interval_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut node = NodeState::default();
    let mut histograms = HistogramState::default();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if !inner.monitoring.is_on() {
            continue;
        }
        let ts_ms = now_ms();
        let probed = tokio::select! {
            () = stop.cancelled() => return,
            r = fetch(&inner.fetcher, &spec) => r,
        };
        let Probed {
            mut outcome,
            mut latency_ms,
            status,
            body,
            error,
        } = probed;
        // A scrape that answered but cannot be read is a failed scrape.
        let mut read = None;
        let mut scraped = Vec::new();
        let mut last_error = error;
        if let (Outcome::Ok, Some(body)) = (outcome, body) {
            match text::parse(&body) {
                Ok(samples) => {
                    read = node.read(&samples, ts_ms);
                    scraped = histograms.read(&samples, &inner.histograms);
                }
                Err(e) => {
                    (outcome, latency_ms) = (Outcome::Error, None);
                    last_error = Some(e.to_string());
                }
            }
        }
        let last_error = last_error.map(|e| shown(&e));
        inner.telemetry.probe_run(outcome);
        let result = ProbeResult {
            target_id: id,
            ts_ms,
            outcome,
            latency_ms,
            status,
        };
        if let Ok(mut runtime) = inner.runtime.lock() {
            let rt = runtime.entry(id).or_default();
            rt.record(result.clone(), inner.down_after);
            rt.last_error = last_error;
            if let Some(r) = &read {
                rt.node = Some(r.capacities.clone());
            }
        }
        inner.events.publish(PROBE_EVENT, ts_ms, &result);
        inner.writer.write(Record::Probe(result)).await;
        if let Some(r) = read {
            inner.writer.write(Record::Node(id, r.sample)).await;
        }
        if !scraped.is_empty() {
            inner
                .writer
                .write(Record::Scraped(id, ts_ms, scraped))
                .await;
        }
    }
}

/// Cuts an error to [`MAX_ERROR_CHARS`] characters: it may quote a header
/// or a line of what the target sent, and is shown on every dashboard.
pub fn shown(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &error[..at]),
        None => error.to_owned(),
    }
}

async fn fetch(fetcher: &Result<Fetcher, String>, spec: &TargetSpec) -> Probed {
    match fetcher {
        Ok(fetcher) => fetcher.probe(spec).await,
        Err(why) => Probed::failed(Outcome::Error, Some(why.clone())),
    }
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub outcome: Outcome,
    /// Time to the complete answer, when it was the expected one.
    pub latency_ms: Option<f64>,
    pub status: Option<u16>,
    /// A scrape's whole body, when answered as expected.
    pub body: Option<String>,
    /// Why a scrape failed, when the outcome alone does not say it (a
    /// redirect, a body over the cap, the fetch policy's reason).
    pub error: Option<String>,
}

impl Probed {
    fn failed(outcome: Outcome, error: Option<String>) -> Probed {
        Probed {
            outcome,
            latency_ms: None,
            status: None,
            body: None,
            error,
        }
    }
}

/// How a request ended, when it got an answer.
enum Answer {
    Complete {
        status: u16,
        body: Vec<u8>,
    },
    /// A scrape answered with a redirect, not followed.
    Redirect {
        status: u16,
        location: Option<String>,
    },
    /// A scrape's body went past [`SCRAPE_MAX_BYTES`]; reading stopped there.
    TooLarge {
        status: u16,
    },
}

/// The probe clients, both behind the fetch policy: HTTP probes follow up to
/// [`MAX_REDIRECTS`] checked redirects; scrapes follow none, since the
/// exposition of a Prometheus target is at the address given or nowhere.
#[derive(Debug, Clone)]
pub struct Fetcher {
    policy: FetchPolicy,
    probe: reqwest::Client,
    scrape: reqwest::Client,
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, reqwest::Error> {
        let client = |redirect| {
            reqwest::Client::builder()
                .user_agent(concat!("vigie/", env!("CARGO_PKG_VERSION")))
                // A proxy would resolve and connect on Vigie's behalf, out of
                // the resolver's sight: the policy could not see the addresses.
                .no_proxy()
                .dns_resolver(policy.resolver())
                .redirect(redirect)
                .build()
        };
        Ok(Fetcher {
            probe: client(policy.redirect_policy(MAX_REDIRECTS))?,
            scrape: client(reqwest::redirect::Policy::none())?,
            policy,
        })
    }

    /// One probe of `spec`'s URL; a Prometheus target's body is kept.
    pub async fn probe(&self, spec: &TargetSpec) -> Probed {
        let scrape = spec.kind == TargetKind::Prometheus;
        // Said in `error` for a scrape only: `last_error` is a scrape's.
        let why = |text: String| scrape.then_some(text);
        let url = match reqwest::Url::parse(&spec.url) {
            Ok(url) => url,
            Err(e) => return Probed::failed(Outcome::Error, why(format!("invalid url: {e}"))),
        };
        // IP literals never reach the resolver, and a target may have been
        // stored before the policy (or VIGIE_FETCH_ALLOW) changed.
        if let Err(refused) = self.policy.check_url(&url) {
            return Probed::failed(Outcome::Blocked, why(refused.to_string()));
        }
        let method = match spec.method {
            ProbeMethod::Get => reqwest::Method::GET,
            ProbeMethod::Head => reqwest::Method::HEAD,
        };
        let client = if scrape { &self.scrape } else { &self.probe };
        let timeout = Duration::from_millis(spec.timeout_ms);
        let started = Instant::now();
        let answer = tokio::time::timeout(timeout, request(client, method, url, scrape)).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let answered = |outcome, status, error| Probed {
            status: Some(status),
            ..Probed::failed(outcome, error)
        };
        match answer {
            Err(_) => Probed::failed(Outcome::Timeout, None),
            Ok(Err(e)) => Probed {
                status: e.status().map(|s| s.as_u16()),
                ..Probed::failed(classify(&e), blocked(&e).and_then(|b| why(b.to_string())))
            },
            Ok(Ok(Answer::Redirect { status, location })) => {
                let to = location.map_or_else(String::new, |l| format!(" to {l}"));
                let error = format!(
                    "answered {status}, a redirect{to}: a Prometheus target is scraped \
                     without following redirects"
                );
                answered(Outcome::Error, status, Some(error))
            }
            Ok(Ok(Answer::TooLarge { status })) => {
                let error = format!("body larger than {SCRAPE_MAX_BYTES} bytes: not read");
                answered(Outcome::Error, status, Some(error))
            }
            Ok(Ok(Answer::Complete { status, body })) if status == spec.expected_status => {
                // Valid UTF-8 (the norm) is taken as is, without a copy.
                let body = scrape.then(|| {
                    String::from_utf8(body)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                });
                Probed {
                    latency_ms: Some(elapsed_ms),
                    body,
                    ..answered(Outcome::Ok, status, None)
                }
            }
            Ok(Ok(Answer::Complete { status, .. })) => answered(Outcome::BadStatus, status, None),
        }
    }
}

/// Sends the request and reads the answer: a probe's body up to
/// [`MAX_BODY`], dropped; a scrape's whole body, or [`Answer::TooLarge`]
/// without keeping more than [`SCRAPE_MAX_BYTES`].
async fn request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: reqwest::Url,
    scrape: bool,
) -> Result<Answer, reqwest::Error> {
    let mut resp = client.request(method, url).send().await?;
    let status = resp.status().as_u16();
    if scrape && resp.status().is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        return Ok(Answer::Redirect { status, location });
    }
    if scrape
        && resp
            .content_length()
            .is_some_and(|n| n > SCRAPE_MAX_BYTES as u64)
    {
        return Ok(Answer::TooLarge { status });
    }
    let mut kept = Vec::new();
    let mut read = 0;
    while let Some(chunk) = resp.chunk().await? {
        read += chunk.len();
        if scrape {
            if read > SCRAPE_MAX_BYTES {
                return Ok(Answer::TooLarge { status });
            }
            kept.extend_from_slice(&chunk);
        } else if read >= MAX_BODY {
            break;
        }
    }
    Ok(Answer::Complete { status, body: kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome) -> ProbeResult {
        ProbeResult {
            target_id: 1,
            ts_ms: 0,
            outcome,
            latency_ms: None,
            status: None,
        }
    }

    #[test]
    fn down_after_n_failures_in_a_row_up_after_one_success() {
        let mut rt = TargetRuntime::default();
        assert_eq!(rt.health, Health::Unknown);
        rt.record(result(Outcome::Timeout), 3);
        rt.record(result(Outcome::Refused), 3);
        assert_eq!(rt.health, Health::Unknown, "two failures are not yet down");
        rt.record(result(Outcome::BadStatus), 3);
        assert_eq!((rt.health, rt.consecutive_failures), (Health::Down, 3));
        rt.record(result(Outcome::Ok), 3);
        assert_eq!((rt.health, rt.consecutive_failures), (Health::Up, 0));
        rt.record(result(Outcome::Timeout), 3);
        assert_eq!(rt.health, Health::Up, "one failure does not bring it down");
    }

    #[test]
    fn an_error_is_shown_cut_to_its_first_characters() {
        assert_eq!(shown("short"), "short");
        let long = "é".repeat(5000);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS + 1, "and the ellipsis");
        assert!(cut.ends_with('…'));
    }

    fn spec(url: String, kind: TargetKind) -> TargetSpec {
        TargetSpec {
            name: "t".into(),
            url,
            kind,
            method: ProbeMethod::Get,
            expected_status: 200,
            interval_ms: 1000,
            timeout_ms: 2000,
            enabled: true,
        }
    }

    /// The resolver's refusal reaches the prober wrapped in hyper-util's
    /// "dns error": it must still read as blocked, not as a DNS failure.
    #[tokio::test]
    async fn a_name_the_resolver_refuses_is_blocked_not_a_dns_failure() {
        let narrowed = FetchPolicy::with_allowlist(&["10.0.0.0/8"]).expect("policy");
        let fetcher = Fetcher::new(narrowed).expect("client");
        // localhost is loopback, outside the allowlist; nothing listens on
        // port 9 anyway, so only the resolver can make this "blocked".
        for kind in [TargetKind::Http, TargetKind::Prometheus] {
            let probed = fetcher
                .probe(&spec("http://localhost:9/".into(), kind))
                .await;
            assert_eq!(probed.outcome, Outcome::Blocked, "{kind:?}: {probed:?}");
            if kind == TargetKind::Prometheus {
                let why = probed.error.expect("a scrape says why");
                assert!(why.contains("VIGIE_FETCH_ALLOW"), "{why}");
            }
        }
        let open = Fetcher::new(FetchPolicy::default()).expect("client");
        let probed = open
            .probe(&spec(
                "http://vigie-probe-test.invalid/".into(),
                TargetKind::Http,
            ))
            .await;
        assert_eq!(probed.outcome, Outcome::Dns, "a real DNS failure stays dns");
    }
}
