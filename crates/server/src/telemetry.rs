//! Vigie's own metrics, served at `/metrics` in the Prometheus text format:
//! API request durations as a histogram per method, route and status, probes
//! run per outcome, and measurements stored. Counting is a few atomic adds or
//! one short lock per request; rendering happens only when scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vigie_api::Outcome;

use crate::openapi::Op;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        telemetry: std::sync::Arc<crate::telemetry::Telemetry>,
    }
}

/// Upper bounds of the duration buckets, seconds (Prometheus' `le`).
pub const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations at or below each bound (not cumulative here).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
pub struct Telemetry {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    probes: [AtomicU64; Outcome::ALL.len()],
    host_points: AtomicU64,
    probe_points: AtomicU64,
    request_points: AtomicU64,
}

impl Telemetry {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.requests.lock() {
            map.entry((method.to_owned(), route.to_owned(), status))
                .or_default()
                .observe(seconds);
        }
    }

    pub fn probe_run(&self, outcome: Outcome) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            self.probes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stored(&self, host: usize, probes: usize, requests: usize) {
        self.host_points.fetch_add(host as u64, Ordering::Relaxed);
        self.probe_points
            .fetch_add(probes as u64, Ordering::Relaxed);
        self.request_points
            .fetch_add(requests as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let name = "vigie_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to answer API requests.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let requests = self.requests.lock().map(|m| m.clone()).unwrap_or_default();
        for ((method, route, status), h) in &requests {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
        let _ = writeln!(out, "# HELP vigie_probes_total Probes run, by outcome.");
        let _ = writeln!(out, "# TYPE vigie_probes_total counter");
        for (o, n) in Outcome::ALL.iter().zip(&self.probes) {
            let _ = writeln!(
                out,
                "vigie_probes_total{{outcome=\"{}\"}} {}",
                o.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vigie_points_stored_total Measurements written to the database."
        );
        let _ = writeln!(out, "# TYPE vigie_points_stored_total counter");
        let host = self.host_points.load(Ordering::Relaxed);
        let probes = self.probe_points.load(Ordering::Relaxed);
        let _ = writeln!(out, "vigie_points_stored_total{{kind=\"host\"}} {host}");
        let _ = writeln!(out, "vigie_points_stored_total{{kind=\"probe\"}} {probes}");
        let requests = self.request_points.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "vigie_points_stored_total{{kind=\"request\"}} {requests}"
        );
        out
    }
}

/// Times every API request by its route template. The live stream is left
/// out: its duration is how long a dashboard stayed open, not an answer time.
pub async fn track(State(state): State<Ctx>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    if let Some(route) = route.filter(|r| r.starts_with("/api/") && !r.contains("/stream")) {
        let seconds = started.elapsed().as_secs_f64();
        state
            .telemetry
            .observe_request(&method, &route, response.status().as_u16(), seconds);
    }
    response
}

/// The documentation of [`metrics`].
pub fn metrics_op() -> Op {
    Op::new(
        "prometheus",
        "Vigie's own metrics in the Prometheus text format: vigie_http_request_duration_seconds (histogram by method, route, status), vigie_probes_total (by outcome), vigie_points_stored_total (by kind)",
    )
    .text(200, "text/plain", "text exposition format 0.0.4")
}

/// `GET /metrics`
pub async fn metrics(State(state): State<Ctx>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry.render(),
    )
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.get(vigie_api::paths::PROMETHEUS, metrics, metrics_op())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let t = Telemetry::default();
        for s in [0.0002, 0.003, 0.003, 7.0] {
            t.observe_request("GET", "/api/x", 200, s);
        }
        let text = t.render();
        let line = |le: &str| {
            let key = format!("route=\"/api/x\",status=\"200\",le=\"{le}\"}} ");
            let at = text.find(&key).expect("bucket line") + key.len();
            text[at..]
                .lines()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("count")
        };
        assert_eq!(line("0.00025"), 1);
        assert_eq!(line("0.0025"), 1);
        assert_eq!(line("0.005"), 3);
        assert_eq!(line("5"), 3);
        assert_eq!(line("+Inf"), 4, "beyond the last bound only +Inf counts it");
        assert!(text.contains("vigie_http_request_duration_seconds_count{method=\"GET\",route=\"/api/x\",status=\"200\"} 4"));
    }
}
