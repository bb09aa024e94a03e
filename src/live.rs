//! App-wide live data, provided once at the root as context: the host's recent
//! history (a resource, fetched from the API) merged with the samples pushed
//! since (a signal fed by the live stream), the monitoring state, counts of
//! probe results, alert transitions and scaling events received (pages
//! refetch their figures when they move), the instance counts pushed, the
//! reports' progress pushed, and the connection state. Alert transitions,
//! scaling actions and finished reports are also told to the portal.

use std::collections::HashMap;

use leptos::prelude::*;
use serde::Deserialize;
use vigie_api::{
    AlertState, BridgeEvent, HostSample, Instances, MonitoringState, ReportInfo, ReportStatus,
    ScalingOutcome, SystemResources, paths,
};

use crate::api::{ApiClient, Connection, Fetched, LiveStream, StreamHandlers};
use crate::bridge;
use crate::json::Raw;

/// Samples kept in the browser: as many as the server's recent series.
pub const KEEP: usize = 300;

#[derive(Clone, Copy)]
pub struct LiveHost {
    /// The server's recent series and the host's capacities.
    pub history: Fetched<SystemResources>,
    pub connection: RwSignal<Connection>,
    /// `performance.now()` when the last sample arrived, for its age.
    pub last_arrival_ms: RwSignal<Option<f64>>,
    /// History and pushed samples merged, oldest first, unique timestamps.
    pub samples: Memo<Vec<HostSample>>,
    /// Probe results received over the stream since the page opened.
    pub probes_seen: RwSignal<u64>,
    /// Alert transitions received over the stream, plus one each time the
    /// stream comes back after being refused (events may have been missed):
    /// what alert lists and the header badge refetch on.
    pub alerts_seen: RwSignal<u64>,
    /// Scaling events received (finished actions, changed instance counts),
    /// plus one each time the stream comes back after being refused: what
    /// the scaling page refetches on.
    pub scaling_seen: RwSignal<u64>,
    /// The last instance counts pushed for each configuration, with the
    /// value of `scaling_seen` they came with: newer than a status fetched
    /// before that value.
    pub instances_pushed: RwSignal<HashMap<i64, (u64, Instances)>>,
    /// The furthest state pushed of each report (see [`furthest`]), as the
    /// JSON of a `ReportInfo`: the reports page decodes it ([`pushed_report`]),
    /// so the first download does not carry its decoder.
    pub reports_pushed: RwSignal<HashMap<i64, Raw>>,
    /// Reports queued or ended as pushed, plus one each time the stream
    /// comes back after being refused: what the list of reports refetches
    /// on (not each step of a generation, which the rows merge themselves).
    pub reports_seen: RwSignal<u64>,
    /// The newest monitoring state known: fetched, pushed, or set here.
    pub monitoring: Memo<Option<MonitoringState>>,
    /// A state learnt after the fetch (pushed, or the answer to a switch).
    monitoring_update: RwSignal<Option<MonitoringState>>,
}

/// What the shell reads of a pushed alert.
#[derive(Debug, Deserialize)]
struct AlertHead {
    state: AlertState,
    fired_at: Option<i64>,
}

/// The portal's name for a pushed alert's transition (`json`, an `Alert`):
/// none for pending, nor for one resolved before it ever fired (the portal
/// never heard of it).
pub fn alert_event(json: &Raw) -> Option<BridgeEvent> {
    let alert: AlertHead = json.decode().ok()?;
    match alert.state {
        AlertState::Pending => None,
        AlertState::Firing => Some(BridgeEvent::AlertFired),
        AlertState::Acknowledged => Some(BridgeEvent::AlertAcknowledged),
        AlertState::Resolved => alert.fired_at.map(|_| BridgeEvent::AlertResolved),
    }
}

/// Merges two time-ordered runs into one, unique by timestamp, keeping the last `keep`.
pub fn merge(history: &[HostSample], pushed: &[HostSample], keep: usize) -> Vec<HostSample> {
    let mut all: Vec<HostSample> = history.iter().chain(pushed).cloned().collect();
    all.sort_by_key(|s| s.ts_ms);
    all.dedup_by_key(|s| s.ts_ms);
    let excess = all.len().saturating_sub(keep);
    all.drain(..excess);
    all
}

/// The more recent of two monitoring states.
pub fn newest(a: Option<MonitoringState>, b: Option<MonitoringState>) -> Option<MonitoringState> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.changed_at_ms >= a.changed_at_ms {
            b
        } else {
            a
        }),
        (a, b) => b.or(a),
    }
}

/// How far along a report's generation is, to order two states of it:
/// queued, then running by progress, then ended.
fn stage(status: ReportStatus, progress: u8) -> (u8, u8) {
    match status {
        ReportStatus::Queued => (0, progress),
        ReportStatus::Running => (1, progress),
        _ => (2, progress),
    }
}

/// The later of two states of one report, whichever way each came (the
/// answer to a request, a pushed event, a list fetched before or after):
/// a generation only moves forward.
pub fn furthest(a: Option<ReportInfo>, b: Option<ReportInfo>) -> Option<ReportInfo> {
    let at = |r: &ReportInfo| stage(r.status, r.progress);
    match (a, b) {
        (Some(a), Some(b)) => Some(if at(&b) >= at(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// What the shell reads of a pushed scaling action.
#[derive(Debug, Deserialize)]
struct ScalingHead {
    outcome: ScalingOutcome,
}

/// What the shell reads of a pushed report.
#[derive(Debug, Deserialize)]
struct ReportHead {
    id: i64,
    status: ReportStatus,
    progress: u8,
}

fn head(json: &Raw) -> Option<ReportHead> {
    json.decode().ok()
}

/// Keeps `json` (a pushed `ReportInfo`) unless `pushed` holds a later
/// state of the same report (see [`furthest`]).
fn keep_furthest(pushed: &mut HashMap<i64, Raw>, json: Raw) {
    let Some(new) = head(&json) else { return };
    let later = pushed
        .get(&new.id)
        .and_then(head)
        .is_none_or(|held| stage(new.status, new.progress) >= stage(held.status, held.progress));
    if later {
        pushed.insert(new.id, json);
    }
}

/// The furthest pushed state of report `id`, decoded.
pub fn pushed_report(live: &LiveHost, id: i64) -> Option<ReportInfo> {
    live.reports_pushed
        .with(|m| m.get(&id).map(Raw::decode))
        .and_then(Result::ok)
}

/// A counter that goes up every `period` while the calling component lives:
/// what a resource reads to refresh on a schedule.
pub fn ticker(period: std::time::Duration) -> ReadSignal<u64> {
    let (count, set_count) = signal(0_u64);
    if let Ok(handle) = set_interval_with_handle(move || set_count.update(|n| *n += 1), period) {
        on_cleanup(move || handle.clear());
    }
    count
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// The browser's wall clock, Unix ms: for ages of server timestamps.
pub fn unix_now_ms() -> i64 {
    js_sys::Date::now() as i64
}

impl std::fmt::Debug for LiveHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHost")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl LiveHost {
    /// Fetches the history and opens the stream for the lifetime of the app.
    pub fn start(client: ApiClient) -> Self {
        let history = Fetched::new({
            let client = client.clone();
            move || Ok(Some(client.url(paths::SYSTEM_RESOURCES)))
        });
        // Samples pushed by the stream, oldest first, at most KEEP.
        let pushed = RwSignal::new(Vec::<HostSample>::new());
        let connection = RwSignal::new(Connection::Connecting);
        let last_arrival_ms = RwSignal::new(None);
        let samples = Memo::new(move |_| {
            history.with(|h| {
                let series = h.map_or(&[][..], |r: &SystemResources| r.series.as_slice());
                pushed.with(|p| merge(series, p, KEEP))
            })
        });

        let fetched_monitoring = Fetched::new({
            let client = client.clone();
            move || Ok(Some(client.url(paths::MONITORING)))
        });
        let monitoring_update = RwSignal::new(None::<MonitoringState>);
        let monitoring =
            Memo::new(move |_| newest(fetched_monitoring.get(), monitoring_update.get()));
        let probes_seen = RwSignal::new(0_u64);
        let alerts_seen = RwSignal::new(0_u64);
        let scaling_seen = RwSignal::new(0_u64);
        let instances_pushed = RwSignal::new(HashMap::new());
        let reports_pushed = RwSignal::new(HashMap::<i64, Raw>::new());
        let reports_seen = RwSignal::new(0_u64);

        let stream = LiveStream::connect(
            &client,
            StreamHandlers {
                on_sample: Box::new(move |sample| {
                    pushed.update(|p| {
                        p.push(sample);
                        let excess = p.len().saturating_sub(KEEP);
                        p.drain(..excess);
                    });
                    last_arrival_ms.set(Some(now_ms()));
                }),
                on_probe: Box::new(move |_| probes_seen.update(|n| *n += 1)),
                on_monitoring: Box::new(move |m| monitoring_update.set(Some(m))),
                on_alert: Box::new(move |alert| {
                    if let Some(name) = alert_event(&alert) {
                        bridge::event(name, alert.to_js());
                    }
                    alerts_seen.update(|n| *n += 1);
                }),
                on_scaling: Box::new(move |action| {
                    let outcome = action.decode::<ScalingHead>().map(|h| h.outcome);
                    let name = if outcome == Ok(ScalingOutcome::Running) {
                        BridgeEvent::ScalingRequested
                    } else {
                        BridgeEvent::ScalingCompleted
                    };
                    bridge::event(name, action.to_js());
                    scaling_seen.update(|n| *n += 1);
                }),
                on_instances: Box::new(move |e| {
                    scaling_seen.update(|n| *n += 1);
                    let seen = scaling_seen.get_untracked();
                    instances_pushed.update(|m| {
                        m.insert(e.configuration_id, (seen, e.instances));
                    });
                }),
                on_report: Box::new(move |info| {
                    let Some(status) = head(&info).map(|h| h.status) else {
                        web_sys::console::warn_1(&"bad report event".into());
                        return;
                    };
                    if status == ReportStatus::Succeeded {
                        bridge::event(BridgeEvent::ReportReady, info.to_js());
                    }
                    // New in the list, or ended (its files now listed).
                    let listed = status != ReportStatus::Running;
                    reports_pushed.update(|m| keep_furthest(m, info));
                    if listed {
                        reports_seen.update(|n| *n += 1);
                    }
                }),
                on_report_deleted: Box::new(move |gone| {
                    reports_pushed.update(|m| {
                        m.remove(&gone.id);
                    });
                    reports_seen.update(|n| *n += 1);
                }),
                on_state: Box::new(move |state| {
                    // Back after the server refused us: the browser could not send
                    // Last-Event-ID to a new EventSource, so fetch again.
                    if state == Connection::Live
                        && connection.get_untracked() == Connection::Offline
                    {
                        history.refetch();
                        fetched_monitoring.refetch();
                        alerts_seen.update(|n| *n += 1);
                        scaling_seen.update(|n| *n += 1);
                        reports_seen.update(|n| *n += 1);
                    }
                    connection.set(state);
                }),
            },
        );
        // The stream lives as long as the app's root owner.
        let stream = StoredValue::new_local(Some(stream));
        on_cleanup(move || stream.update_value(|s| drop(s.take())));

        LiveHost {
            history,
            connection,
            last_arrival_ms,
            samples,
            probes_seen,
            alerts_seen,
            scaling_seen,
            instances_pushed,
            reports_pushed,
            reports_seen,
            monitoring,
            monitoring_update,
        }
    }

    /// Records the state the server answered a switch with.
    pub fn monitoring_changed(&self, state: MonitoringState) {
        self.monitoring_update.set(Some(state));
    }

    pub fn latest(&self) -> Option<HostSample> {
        self.samples.with(|s| s.last().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert as the stream sends it, in `state`, fired or not.
    fn alert(state: &str, fired_at: Option<i64>) -> Raw {
        let alert: vigie_api::Alert = serde_json::from_value(serde_json::json!({
            "id": 1, "alert_type": "resource", "severity": "high", "title": "CPU above 80 %",
            "description": "CPU on this host was 90.31 %, above the threshold of 80 %.",
            "metric_type": "cpu_usage", "threshold_value": 80.0, "current_value": 63.8,
            "is_resolved": state == "resolved", "rule_id": 1, "state": state,
            "comparison": "above", "condition_holds": false, "for_seconds": 60,
            "started_at": 1_000, "fired_at": fired_at, "acknowledged_by": null,
            "acknowledged_at": null, "resolved_by": null, "resolved_at": null, "note": null,
            "history": []
        }))
        .expect("an alert");
        Raw::new(serde_json::to_string(&alert).expect("JSON"))
    }

    #[test]
    fn the_portal_hears_of_alerts_that_fired() {
        assert_eq!(alert_event(&alert("pending", None)), None);
        assert_eq!(
            alert_event(&alert("firing", Some(2_000))),
            Some(BridgeEvent::AlertFired)
        );
        assert_eq!(
            alert_event(&alert("acknowledged", Some(2_000))),
            Some(BridgeEvent::AlertAcknowledged)
        );
        assert_eq!(
            alert_event(&alert("resolved", Some(2_000))),
            Some(BridgeEvent::AlertResolved)
        );
        // Cleared before its duration was up: it never fired.
        assert_eq!(alert_event(&alert("resolved", None)), None);
    }

    fn s(ts_ms: i64) -> HostSample {
        HostSample {
            ts_ms,
            cpu_usage: ts_ms as f64,
            memory_usage: 0.0,
            disk_usage: 0.0,
            network_usage: 0.0,
            memory_used_bytes: 0,
            disk_used_bytes: 0,
            network_rx_bytes_per_s: 0.0,
            network_tx_bytes_per_s: 0.0,
        }
    }

    fn report(status: ReportStatus, progress: u8) -> ReportInfo {
        ReportInfo {
            id: 1,
            status,
            progress,
            step: String::new(),
            from: 0,
            to: 1,
            request: vigie_api::ReportRequest::default(),
            requested_by: "local".into(),
            created_at: 0,
            finished_at: None,
            error: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn a_report_only_moves_forward() {
        let at = |r: Option<ReportInfo>| r.map(|r| (r.status, r.progress));
        let queued = report(ReportStatus::Queued, 0);
        let half = report(ReportStatus::Running, 50);
        let done = report(ReportStatus::Succeeded, 100);
        assert_eq!(
            at(furthest(Some(half.clone()), Some(queued.clone()))),
            Some((ReportStatus::Running, 50))
        );
        assert_eq!(
            at(furthest(Some(done.clone()), Some(half.clone()))),
            Some((ReportStatus::Succeeded, 100))
        );
        let cancelled = report(ReportStatus::Cancelled, 40);
        assert_eq!(
            at(furthest(Some(half), Some(cancelled))),
            Some((ReportStatus::Cancelled, 40))
        );
        assert_eq!(
            at(furthest(None, Some(queued))),
            Some((ReportStatus::Queued, 0))
        );
        assert_eq!(at(furthest(None, None)), None);
    }

    #[test]
    fn a_pushed_report_is_kept_as_json_and_only_moves_forward() {
        let json = |status, progress| {
            Raw::new(serde_json::to_string(&report(status, progress)).expect("json"))
        };
        let field = |raw: &Raw, name: &str| {
            serde_json::from_str::<serde_json::Value>(raw.text()).expect("json")[name].clone()
        };
        let mut pushed = HashMap::new();
        keep_furthest(&mut pushed, json(ReportStatus::Running, 50));
        keep_furthest(&mut pushed, json(ReportStatus::Queued, 0));
        assert_eq!(field(&pushed[&1], "progress"), 50);
        keep_furthest(&mut pushed, json(ReportStatus::Succeeded, 100));
        assert_eq!(field(&pushed[&1], "status"), "succeeded");
        // What the reports page reads back: the whole report, decoded.
        let back: ReportInfo = pushed[&1].decode().expect("decoded");
        assert_eq!(
            (back.status, back.progress, back.requested_by.as_str()),
            (ReportStatus::Succeeded, 100, "local")
        );
        // Not a report: nothing kept.
        keep_furthest(&mut pushed, Raw::new(r#"{"id": 2}"#));
        assert_eq!(pushed.len(), 1);
    }

    #[test]
    fn merge_orders_dedups_and_trims() {
        let history = [s(1), s(2), s(3)];
        let pushed = [s(3), s(4), s(2), s(5)];
        let merged: Vec<i64> = merge(&history, &pushed, 4)
            .iter()
            .map(|x| x.ts_ms)
            .collect();
        assert_eq!(merged, vec![2, 3, 4, 5]);
    }
}
