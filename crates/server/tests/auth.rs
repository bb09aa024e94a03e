//! Tokens: changes need the operator token once it is set, applications get
//! an ingest-only token, reads stay open, and no token means loopback only.

use serde_json::json;
use vigie_api::ErrorBody;
use vigie_server::{Config, Server, StartError, start};

const OPERATOR: &str = "operator-token-0123456789";
const INGEST: &str = "ingest-token-0123456789ab";

/// A server with both tokens set.
async fn with_tokens(data: &std::path::Path) -> Server {
    let mut config = Config::local(data, data);
    config.default_target = false;
    config.operator_token = Some(OPERATOR.into());
    config.ingest_token = Some(INGEST.into());
    start(config).await.expect("start")
}

#[tokio::test]
async fn changes_need_the_operator_token_and_reads_do_not() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = with_tokens(data.path()).await;
    let base = format!("http://{}/api/performance", server.addr());
    let http = reqwest::Client::new();
    let target =
        json!({"name": "t", "url": "http://127.0.0.1:9/", "interval_ms": 5000, "timeout_ms": 1000});
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    for token in [None, Some("wrong-token-0123456789"), Some(INGEST)] {
        let resp = post("/targets/", token, target.clone())
            .await
            .expect("POST");
        assert_eq!(resp.status(), 401, "{token:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: ErrorBody = resp.json().await.expect("JSON error");
        assert_eq!(body.field.as_deref(), Some("Authorization"));
        assert!(!body.error.contains(OPERATOR), "the token is never echoed");
    }
    assert_eq!(
        post("/stop-monitoring/", None, json!({}))
            .await
            .expect("POST")
            .status(),
        401
    );
    let created = post("/targets/", Some(OPERATOR), target.clone())
        .await
        .expect("POST");
    assert_eq!(created.status(), 201);
    let deleted = http
        .delete(format!("{base}/targets/1/"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status(), 401);

    let records = json!({"records": [{"endpoint": "/x", "method": "GET", "status": 200, "duration_ms": 1.0}]});
    assert_eq!(
        post("/ingest/", None, records.clone())
            .await
            .expect("POST")
            .status(),
        401
    );
    assert_eq!(
        post("/ingest/", Some(INGEST), records.clone())
            .await
            .expect("POST")
            .status(),
        200
    );
    assert_eq!(
        post("/ingest/", Some(OPERATOR), records)
            .await
            .expect("POST")
            .status(),
        200
    );

    let list = http
        .get(format!("{base}/targets/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(list.status(), 200, "reads stay open");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn without_a_token_the_server_stays_on_loopback_and_short_tokens_are_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut open = Config::local(data.path(), data.path());
    // Refused before anything is bound.
    open.addr = "0.0.0.0:0".parse().expect("addr");
    match start(open).await {
        Err(StartError::Insecure(msg)) => assert!(msg.contains("VIGIE_OPERATOR_TOKEN"), "{msg}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut short = Config::local(data.path(), data.path());
    short.operator_token = Some("short".into());
    assert!(matches!(start(short).await, Err(StartError::Insecure(_))));
    let mut ingest_only = Config::local(data.path(), data.path());
    ingest_only.ingest_token = Some(INGEST.into());
    assert!(matches!(
        start(ingest_only).await,
        Err(StartError::Insecure(_))
    ));
}

/// Every change the OpenAPI document lists (so every new endpoint, once
/// documented) is refused without the operator token, and the ingest token
/// opens `ingest/` only.
#[tokio::test]
async fn every_documented_change_needs_the_operator_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = with_tokens(data.path()).await;
    let origin = format!("http://{}", server.addr());
    let http = reqwest::Client::new();
    let doc: serde_json::Value = http
        .get(format!("{origin}/api/openapi.json"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let mut checked = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "delete"] {
            if ops.get(method).is_none() {
                continue;
            }
            let url = format!("{origin}{}", path.replace("{id}", "1"));
            let verb =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for token in [None, Some("wrong-token-0123456789"), Some(INGEST)] {
                if token == Some(INGEST) && path.ends_with("/ingest/") {
                    continue;
                }
                let mut req = http.request(verb.clone(), &url).json(&json!({}));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.expect("request");
                assert_eq!(resp.status(), 401, "{method} {path} with {token:?}");
            }
            checked.push(format!("{method} {path}"));
        }
    }
    for expected in [
        "post /api/performance/resolve-alert/",
        "post /api/performance/acknowledge-alert/",
        "post /api/performance/alert-rules/",
        "put /api/performance/alert-rules/{id}/",
        "delete /api/performance/alert-rules/{id}/",
        "post /api/performance/targets/",
    ] {
        assert!(checked.iter().any(|c| c == expected), "{expected} checked");
    }
    server.shutdown().await.expect("shutdown");
}
