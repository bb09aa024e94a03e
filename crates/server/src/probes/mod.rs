//! HTTP probes of the targets the admin declared. Each enabled target has its
//! own task and ticker, so a slow or dead target never delays another. A probe
//! measures the time to the complete answer and classifies how it ended
//! ([`Outcome`]); failures carry no latency, so they count in the error rate
//! and availability, never in response times. A target is down after
//! `down_after` failures in a row and up again after one success.

mod classify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use vigie_api::{
    Health, HostCapacities, Outcome, PROBE_EVENT, ProbeMethod, ProbeResult, TargetKind, TargetSpec,
};

pub use classify::classify;

use crate::events::EventHub;
use crate::monitoring::Monitoring;
use crate::scrape::histogram::HistogramState;
use crate::scrape::node::NodeState;
use crate::scrape::text;
use crate::telemetry::Telemetry;
use crate::writer::{Record, Writer};

/// Body bytes read at most: enough to time a page, not to download a file.
const MAX_BODY: usize = 1 << 20;

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
    client: reqwest::Client,
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
    pub fn new(
        writer: Writer,
        events: EventHub,
        monitoring: Monitoring,
        telemetry: Arc<Telemetry>,
        shutdown: CancellationToken,
        down_after: u32,
        histograms: Vec<String>,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("vigie/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .unwrap_or_default();
        Prober {
            inner: Arc::new(Inner {
                client,
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
    let scrape = spec.kind == TargetKind::Prometheus;
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
        let (mut outcome, mut latency_ms, status, body) = tokio::select! {
            () = stop.cancelled() => return,
            r = probe(&inner.client, &spec, scrape) => r,
        };
        // A scrape that answered but cannot be read is a failed scrape.
        let mut read = None;
        let mut scraped = Vec::new();
        let mut last_error = None;
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

/// What one probe saw: outcome, latency and status when answered, and the
/// body (up to 1 MiB) when asked for and answered as expected.
pub type Probed = (Outcome, Option<f64>, Option<u16>, Option<String>);

/// One probe of `spec`'s URL; `keep_body` for a scrape.
pub async fn probe(client: &reqwest::Client, spec: &TargetSpec, keep_body: bool) -> Probed {
    let method = match spec.method {
        ProbeMethod::Get => reqwest::Method::GET,
        ProbeMethod::Head => reqwest::Method::HEAD,
    };
    let timeout = Duration::from_millis(spec.timeout_ms);
    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, async {
        let resp = client.request(method, &spec.url).send().await?;
        let status = resp.status().as_u16();
        let mut body = resp.bytes_stream();
        let mut kept = Vec::new();
        let mut read = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            read += chunk.len();
            if keep_body {
                kept.extend_from_slice(&chunk);
            }
            if read >= MAX_BODY {
                break;
            }
        }
        Ok::<_, reqwest::Error>((status, kept))
    })
    .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match answer {
        Err(_) => (Outcome::Timeout, None, None, None),
        Ok(Err(e)) => (classify(&e), None, e.status().map(|s| s.as_u16()), None),
        Ok(Ok((status, body))) if status == spec.expected_status => {
            let body = keep_body.then(|| String::from_utf8_lossy(&body).into_owned());
            (Outcome::Ok, Some(elapsed_ms), Some(status), body)
        }
        Ok(Ok((status, _))) => (Outcome::BadStatus, None, Some(status), None),
    }
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
}
