//! Roles and tokens: the whole matrix of every documented route against no
//! token, the ingest token, a viewer, an operator and an admin; the live
//! stream opened with a single-use ticket; the actor recorded being the
//! token's name; and the start-up refusals.

mod common;

use common::Client as _;

use std::collections::BTreeMap;

use serde_json::json;
use vigie_api::{ErrorBody, Role};
use vigie_server::config::Secret;
use vigie_server::{Config, StartError, start};

const ADMIN: &str = "admin-token-0123456789abcd";
const OPERATOR: &str = "operator-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789ab";
const INGEST: &str = "ingest-token-0123456789ab";

fn with_tokens(config: &mut Config) {
    config.admin_token = Some(Secret::new(ADMIN));
    config.operator_token = Some(Secret::new(OPERATOR));
    config.viewer_token = Some(Secret::new(VIEWER));
    config.ingest_token = Some(Secret::new(INGEST));
    // The matrix sends many changes from one address.
    config.changes_per_minute = 10_000;
}

/// Who may call each documented operation, written out by hand: the test
/// fails on an operation that is not listed here, so a new route must be
/// given its role; the document's `x-vigie-role` must say the same.
fn expected_roles() -> BTreeMap<(&'static str, &'static str), Option<Role>> {
    use Role::*;
    let p = "/api/performance";
    let rows: Vec<(&str, String, Option<Role>)> = vec![
        ("get", "/livez".into(), None),
        ("get", "/readyz".into(), None),
        ("get", "/api/openapi.json".into(), None),
        ("get", format!("{p}/session/"), None),
        ("get", "/metrics".into(), Some(Viewer)),
        ("get", format!("{p}/"), Some(Viewer)),
        ("get", format!("{p}/system-resources/"), Some(Viewer)),
        ("get", format!("{p}/stream/"), Some(Viewer)),
        ("post", format!("{p}/stream-ticket/"), Some(Viewer)),
        ("get", format!("{p}/metrics/"), Some(Viewer)),
        ("get", format!("{p}/endpoints/"), Some(Viewer)),
        ("get", format!("{p}/monitoring/"), Some(Viewer)),
        ("get", format!("{p}/alerts/"), Some(Viewer)),
        ("get", format!("{p}/alerts/{{id}}/"), Some(Viewer)),
        ("get", format!("{p}/targets/"), Some(Viewer)),
        ("get", format!("{p}/targets/{{id}}/"), Some(Viewer)),
        ("get", format!("{p}/alert-rules/"), Some(Viewer)),
        ("get", format!("{p}/alert-rules/{{id}}/"), Some(Viewer)),
        ("post", format!("{p}/start-monitoring/"), Some(Operator)),
        ("post", format!("{p}/stop-monitoring/"), Some(Operator)),
        ("post", format!("{p}/resolve-alert/"), Some(Operator)),
        ("post", format!("{p}/acknowledge-alert/"), Some(Operator)),
        ("post", format!("{p}/targets/"), Some(Admin)),
        ("put", format!("{p}/targets/{{id}}/"), Some(Admin)),
        ("delete", format!("{p}/targets/{{id}}/"), Some(Admin)),
        ("post", format!("{p}/alert-rules/"), Some(Admin)),
        ("put", format!("{p}/alert-rules/{{id}}/"), Some(Admin)),
        ("delete", format!("{p}/alert-rules/{{id}}/"), Some(Admin)),
        ("post", format!("{p}/ingest/"), Some(Ingest)),
        ("get", format!("{p}/cache-sources/"), Some(Viewer)),
        ("get", format!("{p}/cache-sources/{{id}}/"), Some(Viewer)),
        ("get", format!("{p}/cache-performance/"), Some(Viewer)),
        ("get", format!("{p}/database-sources/"), Some(Viewer)),
        ("get", format!("{p}/database-sources/{{id}}/"), Some(Viewer)),
        ("post", format!("{p}/database-sources/"), Some(Admin)),
        ("put", format!("{p}/database-sources/{{id}}/"), Some(Admin)),
        (
            "delete",
            format!("{p}/database-sources/{{id}}/"),
            Some(Admin),
        ),
        ("get", format!("{p}/slow-queries/"), Some(Viewer)),
        ("get", format!("{p}/slow-queries/{{hash}}/"), Some(Viewer)),
        ("get", format!("{p}/database-insights/"), Some(Viewer)),
        ("post", format!("{p}/cache-sources/"), Some(Admin)),
        ("put", format!("{p}/cache-sources/{{id}}/"), Some(Admin)),
        ("delete", format!("{p}/cache-sources/{{id}}/"), Some(Admin)),
        ("get", format!("{p}/auto-scaling-status/"), Some(Viewer)),
        ("get", format!("{p}/scaling-actions/"), Some(Viewer)),
        ("get", format!("{p}/scaling-configurations/"), Some(Viewer)),
        (
            "get",
            format!("{p}/scaling-configurations/{{id}}/"),
            Some(Viewer),
        ),
        (
            "post",
            format!("{p}/execute-scaling-action/"),
            Some(Operator),
        ),
        ("post", format!("{p}/scaling-configurations/"), Some(Admin)),
        (
            "put",
            format!("{p}/scaling-configurations/{{id}}/"),
            Some(Admin),
        ),
        (
            "delete",
            format!("{p}/scaling-configurations/{{id}}/"),
            Some(Admin),
        ),
        ("post", format!("{p}/generate-report/"), Some(Operator)),
        ("get", format!("{p}/reports/"), Some(Viewer)),
        ("get", format!("{p}/reports/{{id}}/"), Some(Viewer)),
        ("get", format!("{p}/reports/{{id}}/download/"), Some(Viewer)),
        (
            "post",
            format!("{p}/reports/{{id}}/cancel/"),
            Some(Operator),
        ),
        ("delete", format!("{p}/reports/{{id}}/"), Some(Operator)),
        ("get", format!("{p}/report-schedules/"), Some(Viewer)),
        ("get", format!("{p}/recommendations/"), Some(Viewer)),
        ("post", format!("{p}/report-schedules/"), Some(Operator)),
        ("get", format!("{p}/report-schedules/{{id}}/"), Some(Viewer)),
        (
            "put",
            format!("{p}/report-schedules/{{id}}/"),
            Some(Operator),
        ),
        (
            "delete",
            format!("{p}/report-schedules/{{id}}/"),
            Some(Operator),
        ),
    ];
    rows.into_iter()
        .map(|(m, path, role)| ((m, &*Box::leak(path.into_boxed_str())), role))
        .collect()
}

/// Which of the test's credentials may do what `needed` allows.
fn allowed(credential: &str, needed: Role) -> bool {
    let who: &[&str] = match needed {
        Role::Viewer => &["viewer", "operator", "admin"],
        Role::Operator => &["operator", "admin"],
        Role::Admin => &["admin"],
        Role::Ingest => &["ingest", "admin"],
    };
    who.contains(&credential)
}

#[tokio::test]
async fn every_documented_route_answers_each_role_as_expected() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), with_tokens).await;
    let origin = format!("http://{}", v.server.addr());
    let doc: serde_json::Value =
        common::json_of(v.http.get(format!("{origin}/api/openapi.json"))).await;
    let expected = expected_roles();
    let credentials = [
        ("none", None),
        ("ingest", Some(INGEST)),
        ("viewer", Some(VIEWER)),
        ("operator", Some(OPERATOR)),
        ("admin", Some(ADMIN)),
    ];
    let mut seen = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete"] {
            if ops.get(method).is_none() {
                continue;
            }
            let Some(needed) = expected.get(&(method, path.as_str())) else {
                panic!("{method} {path} is documented but has no expected role in this test");
            };
            // The document says what the test expects: the role, or no
            // token at all.
            let op = &ops[method];
            assert_eq!(
                op.get("x-vigie-role").and_then(|r| r.as_str()),
                needed.map(Role::as_str),
                "{method} {path}: x-vigie-role"
            );
            if needed.is_none() {
                assert_eq!(op["security"], json!([]), "{method} {path}: security");
            }
            seen.push((method, path.clone()));
            let url = format!(
                "{origin}{}",
                path.replace("{id}", "1").replace("{hash}", "1")
            );
            let verb =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for (who, token) in credentials {
                let mut req = v.http.request(verb.clone(), &url);
                if method != "get" {
                    req = req.json(&json!({}));
                }
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.expect("request");
                let status = resp.status().as_u16();
                let what = format!("{method} {path} as {who}");
                match needed {
                    None => assert!(![401, 403].contains(&status), "{what}: {status}"),
                    Some(_) if token.is_none() => {
                        assert_eq!(status, 401, "{what}");
                        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{what}");
                        let body: ErrorBody = resp.json().await.expect("JSON error");
                        assert_eq!(body.field.as_deref(), Some("Authorization"), "{what}");
                    }
                    Some(role) if allowed(who, *role) => {
                        assert!(![401, 403].contains(&status), "{what}: {status}");
                    }
                    Some(role) => {
                        assert_eq!(status, 403, "{what}");
                        let body: ErrorBody = resp.json().await.expect("JSON error");
                        assert_eq!(body.required_role, Some(*role), "{what}");
                        for secret in [ADMIN, OPERATOR, VIEWER, INGEST] {
                            assert!(!body.error.contains(secret), "{what}: a token is echoed");
                        }
                    }
                }
            }
        }
    }
    let listed: Vec<_> = expected
        .keys()
        .map(|(m, p)| (*m, (*p).to_owned()))
        .collect();
    for op in &listed {
        assert!(seen.contains(op), "{op:?} is expected but not documented");
    }
    // A wrong token is no token.
    let resp = v
        .http
        .get(format!("{}/metrics/", v.base))
        .bearer_auth("wrong-token-0123456789ab")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 401);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_stream_opens_with_a_single_use_ticket_never_with_the_token_in_the_url() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), with_tokens).await;
    let stream = format!("{}/stream/", v.base);
    assert_eq!(v.http.get(&stream).send().await.expect("GET").status(), 401);
    // The token itself in the URL opens nothing.
    assert_eq!(
        v.http
            .get(format!("{stream}?ticket={VIEWER}"))
            .send()
            .await
            .expect("GET")
            .status(),
        401
    );
    let ticket: vigie_api::StreamTicket = common::json_of(
        v.http
            .post(format!("{}/stream-ticket/", v.base))
            .bearer_auth(VIEWER)
            .json(&json!({})),
    )
    .await;
    assert!(ticket.expires_in_s > 0 && ticket.expires_in_s <= 60);
    let url = format!("{stream}?ticket={}", ticket.ticket);
    let open = v.http.get(&url).send().await.expect("GET");
    assert_eq!(open.status(), 200);
    assert_eq!(open.headers()["content-type"], "text/event-stream");
    let again = v.http.get(&url).send().await.expect("GET");
    assert_eq!(again.status(), 401, "a ticket opens one stream");
    drop(open);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_actor_recorded_is_the_token_name_not_what_the_client_says() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.json");
    // `echo -n alice-token-0123456789 | sha256sum`
    std::fs::write(
        &tokens,
        r#"{"tokens": [{"name": "alice", "role": "operator",
            "sha256": "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"}]}"#,
    )
    .expect("write");
    let v = common::vigie(data.path(), |c| {
        with_tokens(c);
        c.tokens_file = Some(tokens.clone());
    })
    .await;
    let session: vigie_api::Session = common::json_of(
        v.http
            .get(format!("{}/session/", v.base))
            .bearer_auth("alice-token-0123456789"),
    )
    .await;
    assert_eq!(
        (session.auth_required, session.name.as_deref(), session.role),
        (true, Some("alice"), Some(Role::Operator))
    );
    let anonymous: vigie_api::Session = v.get_json("/session/").await;
    assert_eq!((anonymous.auth_required, anonymous.role), (true, None));

    // A rule that fires at once (memory use is always above 1 %), so there
    // is an alert to resolve.
    let rule = json!({"name": "always", "metric": "memory_usage", "comparison": "above",
        "threshold": 1, "for_seconds": 0, "severity": "low"});
    let created = v
        .http
        .post(format!("{}/alert-rules/", v.base))
        .bearer_auth("alice-token-0123456789")
        .json(&rule)
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 403, "an operator cannot add rules");
    let created = v
        .http
        .post(format!("{}/alert-rules/", v.base))
        .bearer_auth(ADMIN)
        .json(&rule)
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 201);
    let rule: vigie_api::AlertRule = created.json().await.expect("rule");
    let alert_id = common::poll(std::time::Duration::from_secs(20), || async {
        let list: vigie_api::AlertList = v
            .http
            .get(format!("{}/alerts/?state=open", v.base))
            .bearer_auth(VIEWER)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        list.alerts
            .iter()
            .find(|a| a.rule_id == rule.id)
            .map(|a| a.id)
    })
    .await;
    let resolved: vigie_api::Alert = common::json_of(
        v.http
            .post(format!("{}/resolve-alert/", v.base))
            .bearer_auth("alice-token-0123456789")
            .json(&json!({"alert_id": alert_id, "note": "checked", "actor": "mallory"})),
    )
    .await;
    assert_eq!(resolved.resolved_by.as_deref(), Some("alice"));
    let last = resolved.history.last().expect("a transition");
    assert_eq!(last.actor, "alice");
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn insecure_setups_are_refused_at_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let refused = |f: fn(&mut Config)| {
        let mut c = Config::local(data.path(), data.path());
        f(&mut c);
        c
    };
    let message = |r: Result<vigie_server::Server, StartError>| match r {
        Err(StartError::Insecure(msg)) => msg,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Beyond loopback without a token: refused before anything is bound.
    let msg = message(start(refused(|c| c.addr = "0.0.0.0:0".parse().expect("addr"))).await);
    assert!(msg.contains("VIGIE_ADMIN_TOKEN"), "{msg}");
    // A public name for the Host check without a token.
    let msg = message(
        start(refused(|c| {
            c.allowed_hosts = vec!["vigie.example.com".into()]
        }))
        .await,
    );
    assert!(msg.contains("VIGIE_ALLOWED_HOSTS"), "{msg}");
    let msg = message(start(refused(|c| c.operator_token = Some(Secret::new("short")))).await);
    assert!(msg.contains("VIGIE_OPERATOR_TOKEN"), "{msg}");
    let msg = message(start(refused(|c| c.ingest_token = Some(Secret::new(INGEST)))).await);
    assert!(msg.contains("ingest"), "{msg}");
}

/// The documented way to add a named token: `vigie-server new-token`, its
/// line in the tokens file, the real binary started with that file.
#[tokio::test]
async fn a_token_made_by_new_token_works_with_its_role_only() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie-server"))
        .args(["new-token", "--name", "ci-reader", "--role", "viewer"])
        .output()
        .expect("run new-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    let token = lines[1];
    let entry: serde_json::Value = serde_json::from_str(lines[3]).expect("entry JSON");
    assert_eq!(token.len(), 64);
    assert_eq!(
        (entry["name"].as_str(), entry["role"].as_str()),
        (Some("ci-reader"), Some("viewer"))
    );
    assert!(
        !lines[3].contains(token),
        "the file holds the hash, not the token"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_vigie-server"))
        .args(["new-token", "--name", "x", "--role", "root"])
        .output()
        .expect("run new-token");
    assert!(!bad.status.success());

    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("tokens.json");
    std::fs::write(&file, format!(r#"{{"tokens": [{entry}]}}"#)).expect("write");
    let port = common::free_port();
    let mut child = common::spawn_binary(
        port,
        data.path(),
        &[("VIGIE_TOKENS_FILE", file.to_str().expect("path"))],
    );
    common::wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}/api/performance");
    let http = reqwest::Client::new();
    let read = http
        .get(format!("{base}/monitoring/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 200);
    let change = http
        .post(format!("{base}/stop-monitoring/"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(change.status(), 403);
    let anonymous = http
        .get(format!("{base}/monitoring/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(anonymous.status(), 401);
    let _ = child.kill();
    let _ = child.wait();
}
