//! The wire codec in the browser (`vigie::json`: `JSON.parse`/`stringify`
//! with serde-wasm-bindgen) reads and writes the same documents as
//! serde_json, the server's codec; integers beyond 2^53 are refused, never
//! rounded. Run by `wasm-bindgen-test` in headless Chromium.
#![cfg(target_arch = "wasm32")]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vigie::json;
use vigie_api::{
    Alert, AlertRuleList, MetricsResponse, PortalFields, PortalMessage, ReportInfo,
    ScalingDirection, ScalingRequest, ScalingScope, VigieMessage,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// `document` read by the browser's codec, then written back by
/// serde_json, is the document serde_json itself reads and writes.
fn reads_like_serde_json<T: DeserializeOwned + Serialize>(document: Value) {
    let text = document.to_string();
    let browser: T = json::from_str(&text).expect("the browser's codec reads it");
    let reference: T = serde_json::from_str(&text).expect("serde_json reads it");
    assert_eq!(
        serde_json::to_value(&browser).expect("json"),
        serde_json::to_value(&reference).expect("json"),
        "{text}"
    );
}

/// `value` written by the browser's codec is what serde_json writes, but
/// for the spelling of numbers: JavaScript has one number type, so `80.0`
/// is written `80` (the same number to any JSON reader).
fn writes_like_serde_json<T: Serialize>(value: &T) {
    let browser = json::to_string(value).expect("the browser's codec writes it");
    let browser: Value = serde_json::from_str(&browser).expect("valid JSON");
    let reference = serde_json::to_value(value).expect("json");
    assert_eq!(as_f64(browser), as_f64(reference));
}

/// `value` with every number as an f64.
fn as_f64(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.into_iter().map(as_f64).collect()),
        Value::Object(fields) => fields.into_iter().map(|(k, v)| (k, as_f64(v))).collect(),
        other => other,
    }
}

fn alert() -> Value {
    json!({
        "id": 1, "alert_type": "resource", "severity": "high", "title": "CPU above 80 %",
        "description": "CPU on this host was 90.31 %, above the threshold of 80 %.",
        "metric_type": "cpu_usage", "threshold_value": 80.0, "current_value": 63.8,
        "is_resolved": false, "rule_id": 1, "state": "firing",
        "comparison": "above", "condition_holds": true, "for_seconds": 60,
        "started_at": 1_764_700_000_000_i64, "fired_at": 1_764_700_060_000_i64,
        "acknowledged_by": null, "acknowledged_at": null, "resolved_by": null,
        "resolved_at": null, "note": null,
        "history": []
    })
}

#[wasm_bindgen_test]
fn wire_documents_read_the_same_as_with_serde_json() {
    reads_like_serde_json::<Alert>(alert());
    reads_like_serde_json::<MetricsResponse>(json!({
        "performance_metrics": {"avg_response_time": 12.25, "total_requests": 4,
            "error_rate": 0.5, "throughput": null, "availability": 99.5,
            "p50": 10.0, "p95": 30.125, "p99": null},
        "from_ms": 0, "to_ms": 10, "bucket_ms": 10, "target_id": 3,
        "series": [{"ts_ms": 5, "count": 4, "errors": 1, "avg": 120.5, "min": 1.0,
            "max": 300.0, "p95": 280.0, "p99": null}],
    }));
    // A flattened struct.
    reads_like_serde_json::<AlertRuleList>(json!({"rules": [{
        "id": 3, "name": "CPU", "metric": "cpu_usage", "comparison": "above",
        "threshold": 80, "severity": "high", "last_value": 12.5
    }]}));
    // Internally tagged enums; unknown fields ignored.
    reads_like_serde_json::<PortalMessage>(json!({
        "type": "vigie:init", "token": "t", "theme": "dark", "lang": "fr",
        "range": "1h", "page": "/alerts", "extra": [1, 2]
    }));
    reads_like_serde_json::<ScalingScope>(json!({"kind": "requests", "service": "api"}));
    // The portal's messages as the bridge reads them: flat, then by type.
    let init = json!({
        "type": "vigie:init", "token": "t", "theme": "dark", "lang": "fr",
        "range": "1h", "page": "/alerts", "extra": [1, 2]
    });
    reads_like_serde_json::<PortalFields>(init.clone());
    let flat = json::from_str::<PortalFields>(&init.to_string()).expect("flat");
    assert_eq!(
        PortalMessage::from_fields(flat),
        Ok(serde_json::from_value::<PortalMessage>(init).expect("enum"))
    );
}

#[wasm_bindgen_test]
fn bad_documents_are_errors() {
    assert!(json::from_str::<Alert>("{").is_err(), "not JSON");
    assert!(json::from_str::<Alert>("{}").is_err(), "fields missing");
    let mut wrong = alert();
    wrong["severity"] = json!("apocalyptic");
    assert!(json::from_str::<Alert>(&wrong.to_string()).is_err());
    assert!(
        json::from_str::<PortalMessage>(r#"{"type": "vigie:theme", "theme": "pink"}"#).is_err()
    );
    assert!(json::from_str::<PortalFields>(r#"{"type": "vigie:theme", "theme": "pink"}"#).is_err());
}

#[wasm_bindgen_test]
fn integers_beyond_2_pow_53_are_refused_not_rounded() {
    let largest_exact = (1_i64 << 53) - 1;
    assert_eq!(
        json::from_str::<i64>(&largest_exact.to_string()),
        Ok(largest_exact)
    );
    assert!(json::from_str::<i64>("9007199254740993").is_err());
    assert!(json::from_str::<u64>("18446744073709551615").is_err());
    let mut big = alert();
    big["id"] = json!(9_007_199_254_740_993_i64);
    assert!(json::from_str::<Alert>(&big.to_string()).is_err());
    // Written: refused too.
    assert!(json::to_string(&u64::MAX).is_err());
    assert_eq!(
        json::to_string(&largest_exact),
        Ok(largest_exact.to_string())
    );
}

#[wasm_bindgen_test]
fn requests_and_messages_write_the_same_as_with_serde_json() {
    writes_like_serde_json(&ScalingRequest {
        configuration: 2,
        action: ScalingDirection::Set,
        instances: Some(5),
        reason: "load test".into(),
        force: false,
        idempotency_key: None,
        actor: Some("ops".into()),
    });
    // A map (the alert's JSON as a `Value`), and None as null.
    writes_like_serde_json(&alert());
    writes_like_serde_json(&ScalingScope::Requests {
        service: "api".into(),
        endpoint: None,
    });
    let report: ReportInfo = serde_json::from_value(json!({
        "id": 1, "status": "running", "progress": 40, "step": "figures", "from": 0, "to": 1,
        "request": {}, "requested_by": "local", "created_at": 0, "finished_at": null,
        "error": null, "files": []
    }))
    .expect("a report");
    writes_like_serde_json(&report);
    writes_like_serde_json(&VigieMessage::Height { height: 640 });
    writes_like_serde_json(&VigieMessage::Ready);
}
