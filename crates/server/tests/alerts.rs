//! Alerts against real conditions: a loopback target made slow on purpose
//! drives a rule through pending → firing → resolved, by itself and by hand;
//! the event stream carries each transition; bad input is refused with the
//! problem named; and open alerts and their history survive a SIGKILL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use vigie_api::{Alert, AlertList, AlertRule, AlertRuleList, AlertState, ErrorBody, Target};

mod common;

use common::Client as _;

/// A loopback server whose answer takes `delay` milliseconds.
async fn upstream(delay: Arc<AtomicU64>) -> SocketAddr {
    let app = Router::new().route(
        "/",
        get(move || {
            let delay = delay.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(delay.load(Ordering::SeqCst))).await;
                "ok"
            }
        }),
    );
    common::serve(app).await
}

/// Speaks to a Vigie at `base` (in-process or a spawned binary).
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl common::Vigie {
    fn api(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: self.http.clone(),
        }
    }
}

impl common::Client for Api {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Api {
    async fn rule(&self, body: Value) -> AlertRule {
        let resp = self.post("/alert-rules/", &body).await;
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        resp.json().await.expect("rule")
    }

    /// The open alert of `rule`, if any.
    async fn open_alert(&self, rule: i64) -> Option<Alert> {
        let list: AlertList = self.get_json("/alerts/?state=open&limit=500").await;
        let mut of_rule: Vec<Alert> = list
            .alerts
            .into_iter()
            .filter(|a| a.rule_id == rule)
            .collect();
        assert!(of_rule.len() <= 1, "one open alert per rule: {of_rule:?}");
        of_rule.pop()
    }

    /// Waits until `rule`'s open alert is in `state`.
    async fn wait_open(&self, rule: i64, state: AlertState, within: Duration) -> Alert {
        let deadline = Instant::now() + within;
        loop {
            if let Some(a) = self.open_alert(rule).await
                && a.state == state
            {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "no {state:?} alert for rule {rule} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until alert `id` is resolved.
    async fn wait_resolved(&self, id: i64, within: Duration) -> Alert {
        let deadline = Instant::now() + within;
        loop {
            let a: Alert = self.get_json(&format!("/alerts/{id}")).await;
            if a.state == AlertState::Resolved {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "alert {id} not resolved within {within:?}: {a:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn resolve(&self, id: i64, note: &str, actor: &str) -> reqwest::Response {
        self.post(
            "/resolve-alert/",
            &json!({"alert_id": id, "note": note, "actor": actor}),
        )
        .await
    }
}

/// The `alert` events of the stream, as (alert id, state).
async fn alert_events(base: &str) -> mpsc::UnboundedReceiver<(i64, i64, AlertState)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let resp = reqwest::get(format!("{base}/stream/"))
        .await
        .expect("stream");
    assert_eq!(resp.status(), 200);
    tokio::spawn(async move {
        let mut body = resp.bytes_stream();
        let mut text = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if !event.lines().any(|l| l == "event: alert") {
                    continue;
                }
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: "))
                    && let Ok(a) = serde_json::from_str::<Alert>(data)
                {
                    let _ = tx.send((a.rule_id, a.id, a.state));
                }
            }
        }
    });
    rx
}

#[tokio::test]
async fn a_slow_target_fires_then_resolves_by_itself_then_by_hand() {
    let delay = Arc::new(AtomicU64::new(400));
    let up = upstream(delay.clone()).await;
    let data = tempfile::tempdir().expect("tempdir");
    let vigie = common::vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    let api = vigie.api();
    let mut events = alert_events(&vigie.base).await;
    let target: Target = {
        let body = json!({"name": "made slow", "url": format!("http://{up}/"), "interval_ms": 1000, "timeout_ms": 1000});
        let resp = api.post("/targets/", &body).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.expect("target")
    };
    let rule = api
        .rule(json!({
            "name": "made slow answers", "metric": "response_time", "comparison": "above",
            "threshold": 200, "severity": "high", "for_seconds": 2, "recovery_margin": 50,
            "window_seconds": 10, "target_id": target.id
        }))
        .await;

    // Slow: pending first, firing once the condition has held for 2 s.
    let pending = api
        .wait_open(rule.id, AlertState::Pending, Duration::from_secs(10))
        .await;
    assert!(pending.current_value.expect("value") > 200.0);
    assert_eq!(pending.threshold_value, 200.0);
    assert_eq!(pending.metric_type.as_str(), "response_time");
    assert_eq!(pending.alert_type, "response_time");
    assert!(!pending.is_resolved);
    let firing = api
        .wait_open(rule.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    assert_eq!(firing.id, pending.id, "the same alert moves on");
    let fired_at = firing.fired_at.expect("fired_at");
    assert!(
        fired_at - firing.started_at >= 2000,
        "fired after the rule's duration"
    );

    // Fast again: the average over the window falls past the margin.
    delay.store(0, Ordering::SeqCst);
    let resolved = api.wait_resolved(firing.id, Duration::from_secs(20)).await;
    assert!(resolved.is_resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some("system"));
    assert!(resolved.current_value.expect("value") <= 150.0);
    let states: Vec<AlertState> = resolved.history.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );
    assert!(
        resolved
            .history
            .windows(2)
            .all(|w| w[0].at_ms <= w[1].at_ms)
    );

    // Slow again: a new alert; resolved by hand while the condition holds,
    // and a new occurrence follows.
    delay.store(400, Ordering::SeqCst);
    let again = api
        .wait_open(rule.id, AlertState::Firing, Duration::from_secs(20))
        .await;
    assert_ne!(again.id, firing.id, "a new occurrence");
    assert!(again.condition_holds);
    let resp = api
        .resolve(again.id, "restarted the slow worker", "Camille")
        .await;
    assert_eq!(resp.status(), 200);
    let by_hand: Alert = resp.json().await.expect("alert");
    assert_eq!(by_hand.state, AlertState::Resolved);
    assert_eq!(by_hand.resolved_by.as_deref(), Some("Camille"));
    assert_eq!(by_hand.note.as_deref(), Some("restarted the slow worker"));
    let last = by_hand.history.last().expect("transition");
    assert_eq!(
        (last.actor.as_str(), last.note.as_deref()),
        ("Camille", Some("restarted the slow worker"))
    );
    let next = api
        .wait_open(rule.id, AlertState::Pending, Duration::from_secs(10))
        .await;
    assert!(
        next.id > again.id,
        "the condition still holds: a new alert opens"
    );
    let next = api
        .wait_open(rule.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    assert!(next.fired_at.expect("fired") - next.started_at >= 2000);

    // Every transition went out on the stream, in order. Read until both
    // alerts' resolutions (the last transition of each) have come, rather
    // than until the stream has been quiet for a guessed while.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ![firing.id, again.id]
        .iter()
        .all(|id| seen.contains(&(*id, AlertState::Resolved)))
    {
        let (rule_id, id, state) = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("both resolutions on the stream within 10 s: {seen:?}"))
            .expect("stream open");
        if rule_id == rule.id {
            seen.push((id, state));
        }
    }
    let of = |id| {
        seen.iter()
            .filter(|s| s.0 == id)
            .map(|s| s.1)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(firing.id),
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );
    assert_eq!(
        of(again.id),
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );

    // History keeps both, with who resolved them; neither is among the
    // alerts that cleared before firing.
    let unfired: AlertList = api.get_json("/alerts/?state=resolved&fired=false").await;
    assert!(unfired.alerts.iter().all(|a| a.fired_at.is_none()));
    assert!(
        !unfired
            .alerts
            .iter()
            .any(|a| a.id == firing.id || a.id == again.id)
    );
    let history: AlertList = api.get_json("/alerts/?state=resolved&fired=true").await;
    let ours: Vec<&Alert> = history
        .alerts
        .iter()
        .filter(|a| a.rule_id == rule.id)
        .collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].id, again.id, "newest first");
    assert!(history.open_count >= 1);
    vigie.server.shutdown().await.expect("shutdown");
}

async fn assert_refused(resp: reqwest::Response, status: u16, field: &str) {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.expect("error body");
    assert_eq!(body.field.as_deref(), Some(field), "{}", body.error);
    assert!(!body.error.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_with_the_problem_named_and_nothing_changes() {
    let data = tempfile::tempdir().expect("tempdir");
    let vigie = common::vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    let api = vigie.api();
    let before: AlertRuleList = api.get_json("/alert-rules/").await;
    assert_eq!(
        before.rules.len(),
        9,
        "the seeds' default rules and the slow-query rule"
    );
    let rule = |extra: Value| {
        let mut body = json!({"name": "memory", "metric": "memory_usage", "comparison": "above",
            "threshold": 1, "severity": "low", "for_seconds": 0});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    for (extra, field) in [
        (json!({"threshold": "high"}), "threshold"),
        (json!({"threshold": 150}), "threshold"),
        (json!({"threshold": -3}), "threshold"),
        (json!({"metric": "load_average"}), "metric"),
        (json!({"severity": "urgent"}), "severity"),
        (json!({"name": "  "}), "name"),
        (json!({"window_seconds": 1}), "window_seconds"),
        (json!({"service": "shop"}), "service"),
    ] {
        assert_refused(api.post("/alert-rules/", &rule(extra)).await, 400, field).await;
    }
    let p95 = json!({"name": "p95", "metric": "p95", "comparison": "above", "threshold": 500,
        "severity": "low", "target_id": 999});
    assert_refused(api.post("/alert-rules/", &p95).await, 400, "target_id").await;
    let after: AlertRuleList = api.get_json("/alert-rules/").await;
    assert_eq!(after.rules, before.rules, "nothing stored");

    // An alert to act on: memory use is always above 1 %.
    let created = api.rule(rule(json!({}))).await;
    let firing = api
        .wait_open(created.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    assert_refused(api.resolve(firing.id, "  ", "Camille").await, 400, "note").await;
    assert_refused(api.resolve(firing.id, "done", "").await, 400, "actor").await;
    let unknown = api.resolve(987_654, "done", "Camille").await;
    assert_eq!(unknown.status(), 404);
    let body: ErrorBody = unknown.json().await.expect("error body");
    assert!(body.error.contains("987654"), "{}", body.error);
    let body = json!({"alert_id": "one", "note": "x", "actor": "y"});
    assert_refused(api.post("/resolve-alert/", &body).await, 400, "alert_id").await;
    let ack = |id: i64| {
        let api = api.clone();
        async move {
            api.post(
                "/acknowledge-alert/",
                &json!({"alert_id": id, "actor": "Sam"}),
            )
            .await
        }
    };
    let resp = ack(firing.id).await;
    assert_eq!(resp.status(), 200);
    let acked: Alert = resp.json().await.expect("alert");
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("Sam"));
    assert_refused(ack(firing.id).await, 409, "alert_id").await;
    assert_eq!(api.resolve(firing.id, "done", "Sam").await.status(), 200);
    assert_refused(
        api.resolve(firing.id, "again", "Sam").await,
        409,
        "alert_id",
    )
    .await;
    assert_refused(ack(firing.id).await, 409, "alert_id").await;
    let still: Alert = api.get_json(&format!("/alerts/{}", firing.id)).await;
    assert_eq!(
        still.note.as_deref(),
        Some("done"),
        "a refused change changes nothing"
    );
    assert_eq!(
        still.history.len(),
        4,
        "pending, firing, acknowledged, resolved"
    );

    for (query, field) in [
        ("state=closed", "state"),
        ("severity=urgent", "severity"),
        ("limit=0", "limit"),
        ("from=10&to=5", "from"),
    ] {
        let resp = api
            .http
            .get(format!("{}/alerts/?{query}", api.base))
            .send()
            .await
            .expect("GET");
        assert_refused(resp, 400, field).await;
    }
    let resp = api
        .http
        .get(format!("{}/alerts/424242", api.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 404);

    // Deleting the rule resolves its open alert; the history stays.
    let resp = api
        .send(
            reqwest::Method::DELETE,
            &format!("/alert-rules/{}", created.id),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(api.open_alert(created.id).await.is_none());
    let kept: Alert = api.get_json(&format!("/alerts/{}", firing.id)).await;
    assert_eq!(kept.resolved_by.as_deref(), Some("Sam"));
    vigie.server.shutdown().await.expect("shutdown");
}

/// The real binary, SIGKILLed with an acknowledged alert open and another
/// resolved by hand: both are there after a restart, and evaluation resumes
/// without a second open alert for a rule.
#[tokio::test]
async fn open_alerts_and_history_survive_a_sigkill() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let spawn = || {
        common::spawn_binary(
            port,
            data.path(),
            &[
                ("VIGIE_DEFAULT_TARGET", "false"),
                ("VIGIE_ALERT_INTERVAL_MS", "200"),
            ],
        )
    };
    let api = Api {
        base: format!("http://127.0.0.1:{port}/api/performance"),
        http: reqwest::Client::new(),
    };
    let ready = || common::wait_ready(port);
    let mut child = spawn();
    ready().await;
    let memory = |name: &str| {
        json!({"name": name, "metric": "memory_usage", "comparison": "above", "threshold": 1,
            "severity": "critical", "for_seconds": 0})
    };
    let watched = api.rule(memory("acknowledged one")).await;
    let other = api.rule(memory("resolved one")).await;
    let open = api
        .wait_open(watched.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    let resp = api
        .post(
            "/acknowledge-alert/",
            &json!({"alert_id": open.id, "actor": "Sam", "note": "looking"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let gone = api
        .wait_open(other.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    assert_eq!(
        api.resolve(gone.id, "known leak", "Camille").await.status(),
        200
    );
    let before: Alert = api.get_json(&format!("/alerts/{}", open.id)).await;

    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let mut child = spawn();
    ready().await;
    let after: Alert = api.get_json(&format!("/alerts/{}", open.id)).await;
    assert_eq!(after.state, AlertState::Acknowledged);
    assert_eq!(after.history, before.history);
    assert_eq!(after.acknowledged_by.as_deref(), Some("Sam"));
    let resolved: Alert = api.get_json(&format!("/alerts/{}", gone.id)).await;
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some("Camille"));
    assert_eq!(resolved.note.as_deref(), Some("known leak"));
    // Several evaluations later: still the one acknowledged alert for the
    // rule. The witness that the evaluator has been running for a while since
    // the restart is a rule made now that fires only once its condition has
    // held for 1 s (every pass evaluates every rule: that is five passes at
    // 200 ms), not a guessed sleep.
    let mut witness = memory("witness: fires after 1 s of evaluations");
    witness["for_seconds"] = json!(1);
    let witness = api.rule(witness).await;
    api.wait_open(witness.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    let still = api.open_alert(watched.id).await.expect("open");
    assert_eq!((still.id, still.state), (open.id, AlertState::Acknowledged));
    // The resolved one's rule still holds: one new occurrence, not more.
    let reopened = api.open_alert(other.id).await.expect("a new occurrence");
    assert!(reopened.id > gone.id);
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

#[tokio::test]
async fn rules_are_edited_and_disabling_one_resolves_its_alert() {
    let data = tempfile::tempdir().expect("tempdir");
    let vigie = common::vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    let api = vigie.api();
    let spec = json!({"name": "memory", "metric": "memory_usage", "comparison": "above",
        "threshold": 1, "severity": "high", "for_seconds": 0});
    let rule = api.rule(spec.clone()).await;
    let firing = api
        .wait_open(rule.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    let put = |id: i64, body: Value| {
        let api = api.clone();
        async move {
            api.send(reqwest::Method::PUT, &format!("/alert-rules/{id}"), &body)
                .await
        }
    };

    // Edited: the answer and the stored rule say the same.
    let mut edited = spec.clone();
    edited["name"] = json!("memory, renamed");
    edited["severity"] = json!("critical");
    let resp = put(rule.id, edited.clone()).await;
    assert_eq!(resp.status(), 200);
    let answer: AlertRule = resp.json().await.expect("rule");
    assert_eq!(answer.spec.name, "memory, renamed");
    let stored: AlertRule = api.get_json(&format!("/alert-rules/{}", rule.id)).await;
    assert_eq!(stored.spec, answer.spec);
    assert!(
        stored.last_value.is_some(),
        "the last value measured is shown"
    );

    // A bad edit changes nothing; an unknown rule is a 404.
    let mut bad = edited.clone();
    bad["threshold"] = json!(101);
    assert_refused(put(rule.id, bad).await, 400, "threshold").await;
    let unchanged: AlertRule = api.get_json(&format!("/alert-rules/{}", rule.id)).await;
    assert_eq!(unchanged.spec, stored.spec);
    assert_eq!(put(999_999, edited.clone()).await.status(), 404);

    // Disabled: its open alert is resolved by the system, and none opens again.
    let mut disabled = edited;
    disabled["enabled"] = json!(false);
    assert_eq!(put(rule.id, disabled).await.status(), 200);
    let resolved = api.wait_resolved(firing.id, Duration::from_secs(10)).await;
    assert_eq!(resolved.resolved_by.as_deref(), Some("system"));
    assert_eq!(resolved.note.as_deref(), Some("rule disabled"));
    // None opens again: the witness that evaluations went on after the
    // disabling is a rule made now that fires only once its condition has
    // held for 1 s (every pass evaluates every rule, the disabled one too).
    let mut witness = spec.clone();
    witness["name"] = json!("witness: fires after 1 s of evaluations");
    witness["for_seconds"] = json!(1);
    let witness = api.rule(witness).await;
    api.wait_open(witness.id, AlertState::Firing, Duration::from_secs(10))
        .await;
    assert!(api.open_alert(rule.id).await.is_none());
    vigie.server.shutdown().await.expect("shutdown");
}
