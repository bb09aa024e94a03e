//! Alerts as chart markers: the alerts whose life overlaps what a page's
//! [`TimeView`] shows, with their rules (which tell what each one watched),
//! fetched again on each alert transition the stream reports and when the
//! view changes; each chart keeps those it is about.

use std::time::Duration;

use leptos::prelude::*;
use vigie_api::{AlertMark, AlertMarkList, AlertRuleScope, AlertRuleScopeList, paths};

use crate::api::{AlertQuery, ApiClient, Fetched, Scope, Span};
use crate::components::chart::{Marker, MarkerKind};
use crate::components::range_picker::TimeView;
use crate::live::{LiveHost, ticker, unix_now_ms};

/// Most alerts asked for one view.
const LIMIT: u32 = 100;
/// Asked beyond a live range's ends: the browser's clock and the server's differ a little.
const SLACK_MS: i64 = 60_000;

/// The alerts and rules behind a page's markers: one fetch for all the
/// charts of a page that share its [`TimeView`].
#[derive(Debug, Clone, Copy)]
pub struct AlertsInView {
    alerts: Fetched<AlertMarkList>,
    rules: Fetched<AlertRuleScopeList>,
}

impl AlertsInView {
    pub fn new(view: TimeView) -> Self {
        let client = expect_context::<ApiClient>();
        let live = expect_context::<LiveHost>();
        // Alerts arrive through the stream; this only catches up on any missed.
        let tick = ticker(Duration::from_secs(60));
        let alerts = Fetched::new({
            let client = client.clone();
            move || {
                live.alerts_seen.track();
                tick.track();
                let (from, to) = match view.window(1).span {
                    Span::Between(from, to) => (from, to),
                    Span::Last(range) => {
                        let now = unix_now_ms();
                        (now - range.millis() - SLACK_MS, now + SLACK_MS)
                    }
                };
                let query = AlertQuery {
                    from: Some(from),
                    to: Some(to),
                    limit: LIMIT,
                    ..AlertQuery::default()
                };
                client.query_url(paths::ALERTS, &query.to_wire()).map(Some)
            }
        });
        let rules = Fetched::new(move || {
            live.alerts_seen.track();
            Ok(Some(client.url(paths::ALERT_RULES)))
        });
        AlertsInView { alerts, rules }
    }

    /// Markers of the alerts `wants` keeps; it gets each alert with its rule's
    /// spec, `None` when the rule is gone.
    pub fn markers(
        self,
        wants: impl Fn(&AlertMark, Option<&AlertRuleScope>) -> bool + Send + Sync + 'static,
    ) -> Signal<Vec<Marker>> {
        Memo::new(move |_| {
            self.rules.with(|rules| {
                self.alerts.with(|alerts| {
                    let rules: &[AlertRuleScope] = rules.map_or(&[], |l| &l.rules);
                    let alerts: &[AlertMark] = alerts.map_or(&[], |l| &l.alerts);
                    let kept = alerts.iter().filter(|a| {
                        let rule = rules.iter().find(|r| r.id == a.rule_id);
                        wants(a, rule)
                    });
                    markers_of(kept)
                })
            })
        })
        .into()
    }
}

/// A start marker for each alert, and an end marker for those resolved.
/// Alerts that cleared while pending never fired: nothing to mark.
pub fn markers_of<'a>(alerts: impl IntoIterator<Item = &'a AlertMark>) -> Vec<Marker> {
    let mut markers = Vec::new();
    for a in alerts {
        if !a.state.is_open() && a.fired_at.is_none() {
            continue;
        }
        let marker = |kind, at_ms| Marker {
            alert_id: a.id,
            kind,
            at_ms,
            title: a.title.clone(),
            severity: a.severity,
        };
        markers.push(marker(MarkerKind::Start, a.started_at));
        if let Some(end) = a.resolved_at {
            markers.push(marker(MarkerKind::End, end));
        }
    }
    markers
}

/// Whether a response-metric rule measures what a response-time view of
/// `scope` shows. A rule that is gone is only kept on the view of all probes.
pub fn in_scope(rule: Option<&AlertRuleScope>, scope: &Scope) -> bool {
    match (scope, rule) {
        (Scope::Probes(None), None) => true,
        (Scope::Probes(target), Some(r)) => {
            r.service.is_none()
                && (target.is_none() || r.target_id.is_none() || r.target_id == *target)
        }
        (Scope::Requests { service, endpoint }, Some(r)) => {
            r.service.as_deref() == Some(service.as_str())
                && r.endpoint.as_deref().is_none_or(|e| e == endpoint)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use vigie_api::{AlertMetric, AlertState, Severity};

    use super::*;

    fn alert(id: i64, state: AlertState, fired: bool, resolved_at: Option<i64>) -> AlertMark {
        AlertMark {
            id,
            rule_id: 1,
            title: format!("alert {id}"),
            severity: Severity::High,
            metric_type: AlertMetric::CpuUsage,
            state,
            started_at: 1_000,
            fired_at: fired.then_some(61_000),
            resolved_at,
        }
    }

    fn spec(
        target_id: Option<i64>,
        service: Option<&str>,
        endpoint: Option<&str>,
    ) -> AlertRuleScope {
        AlertRuleScope {
            id: 1,
            target_id,
            service: service.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
        }
    }

    #[test]
    fn alerts_mark_where_they_started_and_ended() {
        let alerts = [
            alert(1, AlertState::Firing, true, None),
            alert(2, AlertState::Resolved, true, Some(90_000)),
            alert(3, AlertState::Resolved, false, Some(30_000)),
            alert(4, AlertState::Pending, false, None),
        ];
        let marks: Vec<(i64, MarkerKind, i64)> = markers_of(&alerts)
            .into_iter()
            .map(|m| (m.alert_id, m.kind, m.at_ms))
            .collect();
        assert_eq!(
            marks,
            vec![
                (1, MarkerKind::Start, 1_000),
                (2, MarkerKind::Start, 1_000),
                (2, MarkerKind::End, 90_000),
                (4, MarkerKind::Start, 1_000),
            ]
        );
    }

    #[test]
    fn rules_mark_the_views_of_what_they_measure() {
        let all_probes = spec(None, None, None);
        let one_target = spec(Some(7), None, None);
        let checkout = spec(None, Some("shop"), Some("/checkout"));
        let shop = spec(None, Some("shop"), None);
        assert!(in_scope(Some(&all_probes), &Scope::Probes(None)));
        assert!(in_scope(Some(&all_probes), &Scope::Probes(Some(7))));
        assert!(in_scope(Some(&one_target), &Scope::Probes(Some(7))));
        assert!(!in_scope(Some(&one_target), &Scope::Probes(Some(8))));
        assert!(!in_scope(Some(&checkout), &Scope::Probes(None)));
        let requests = |endpoint: &str| Scope::Requests {
            service: "shop".into(),
            endpoint: endpoint.into(),
        };
        assert!(in_scope(Some(&checkout), &requests("/checkout")));
        assert!(!in_scope(Some(&checkout), &requests("/search")));
        assert!(in_scope(Some(&shop), &requests("/search")));
        assert!(!in_scope(Some(&all_probes), &requests("/search")));
        assert!(in_scope(None, &Scope::Probes(None)));
        assert!(!in_scope(None, &Scope::Probes(Some(7))));
    }
}
