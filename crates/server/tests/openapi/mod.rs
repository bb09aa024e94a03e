//! The generated OpenAPI document against the router it is generated from,
//! against what the server really sends, and against OpenAPI 3.1 itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use vigie_api::{Alert, AlertList, AlertRule, Target};

use super::common;

/// The document as served, with the strict copy of its component schemas
/// that answers are validated against.
struct Doc {
    json: Value,
    /// `components`, each object schema closed (`unevaluatedProperties:
    /// false`): a field the server sends that the document does not list
    /// fails the validation.
    strict: Value,
}

impl Doc {
    async fn fetch(http: &reqwest::Client, origin: &str) -> Doc {
        let resp = http
            .get(format!("{origin}/api/openapi.json"))
            .send()
            .await
            .expect("GET openapi.json");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let json: Value = resp.json().await.expect("OpenAPI JSON");
        let strict = strict_components(&json["components"]);
        Doc { json, strict }
    }

    fn operation(&self, method: &str, path: &str) -> &Value {
        let op = &self.json["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        op
    }

    /// A validator of `schema` (which may `$ref` the components).
    fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.strict,
            "allOf": [schema],
        });
        jsonschema::draft202012::new(&root).expect("a schema the validator compiles")
    }

    fn assert_valid(&self, schema: &Value, instance: &Value, what: &str) {
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the answer does not match its documented schema:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }

    /// Checks one real answer of `method path` (documented form): its
    /// status is documented for the operation, with its media type, and its
    /// body matches the schema. Gives the body as JSON (or a string).
    fn check(&self, method: &str, path: &str, status: u16, media: &str, body: &[u8]) -> Value {
        let what = format!("{method} {path} → {status} {media}");
        let op = self.operation(method, path);
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{what}: status not documented");
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            assert!(body.is_empty(), "{what}: a body where none is documented");
            return Value::Null;
        };
        let essence = media.split(';').next().unwrap_or("").trim();
        let Some(documented) = content.get(essence) else {
            panic!(
                "{what}: media type not documented (documented: {:?})",
                content.keys()
            );
        };
        if essence == "application/json" {
            let value: Value = serde_json::from_slice(body).expect("a JSON body");
            self.assert_valid(&documented["schema"], &value, &what);
            value
        } else {
            let text = String::from_utf8(body.to_vec()).expect("UTF-8 text");
            self.assert_valid(&documented["schema"], &Value::String(text.clone()), &what);
            Value::String(text)
        }
    }
}

/// `components` with every object schema closed, so that validation also
/// fails on a property the document does not declare. A schema that is the
/// base of another's `allOf` (a `#[serde(flatten)]`) is closed only where
/// it is used whole; the `allOf` schema is closed at its top, where
/// `unevaluatedProperties` sees the properties of all its parts.
fn strict_components(components: &Value) -> Value {
    let mut components = components.clone();
    let schemas = components["schemas"]
        .as_object_mut()
        .expect("component schemas");
    let mut bases = BTreeSet::new();
    for schema in schemas.values() {
        for part in schema["allOf"].as_array().into_iter().flatten() {
            if let Some(r) = part["$ref"].as_str() {
                bases.insert(r.trim_start_matches("#/components/schemas/").to_owned());
            }
        }
    }
    for (name, schema) in schemas.iter_mut() {
        let object = schema.get("properties").is_some() || schema.get("allOf").is_some();
        if object && !bases.contains(name) {
            schema["unevaluatedProperties"] = json!(false);
        }
    }
    components
}

/// The paths of the router's own table, read from its `Debug` output
/// (axum prints its matchit node's `RouteId → path` map): the routes that
/// really exist, however they were added; the fallback router (the
/// dashboard's files) left out.
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let text = format!("{router:?}");
    // The routes, not the fallback router that follows them.
    let (routes, _) = text
        .split_once("fallback_router")
        .expect("axum's Router Debug output");
    let mut paths = BTreeSet::new();
    let mut rest = routes;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(quote) = rest.find("): \"") else {
            break;
        };
        let after = &rest[quote + 4..];
        let end = after.find('"').expect("closing quote");
        let path = &after[..end];
        paths.insert(path.to_owned());
        rest = &after[end..];
    }
    paths
}

type Op = (String, String, Option<String>);

/// `(method, documented path, x-vigie-role)` of every operation.
fn documented_operations(doc: &Value) -> BTreeSet<Op> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&&**method) {
                let role = op
                    .get("x-vigie-role")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                ops.insert((method.clone(), path.clone(), role));
            }
        }
    }
    ops
}

/// The document lists exactly the routes the router serves, each with the
/// role its table entry needs, and every one of them is served.
///
/// How an undocumented route fails this test: a route added through the
/// `Routes` builder of `lib.rs` cannot lack documentation (`get`, `post`,
/// `put`, `delete` take its `Op`, and the document is generated from the
/// same table), so the document must equal [`vigie_server::routes`]. A route
/// added around the builder (`Router::route` on the router itself) is in
/// the router but not in that table: its path shows in the router's own
/// path table (step 2), a method added to a documented path in the `Allow`
/// header of a 405 (step 3), and the equalities fail.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| c.sample_interval_ms = 200).await;
    let origin = format!("http://{}", v.server.addr());
    let doc = Doc::fetch(&v.http, &origin).await;
    let table = vigie_server::routes(v.server.state());

    // 1. The document is the table.
    let declared: BTreeSet<Op> = table
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_lowercase(),
                r.path.clone(),
                r.role.map(|role| role.as_str().to_owned()),
            )
        })
        .collect();
    assert_eq!(documented_operations(&doc.json), declared);
    assert!(declared.len() >= 29, "{} routes only", declared.len());

    // 2. The router has no path beyond the table's (both slash forms).
    let served: BTreeSet<String> = table.iter().flat_map(|r| r.served.clone()).collect();
    let mut routed = router_paths(&vigie_server::app(v.server.state().clone()));
    assert!(
        routed.contains("/livez") && routed.contains("/api/performance/targets/{id}/"),
        "axum's Debug output no longer lists the paths: {routed:?}"
    );
    // Any other path under /api/ is a JSON 404: the one route left out on purpose.
    assert!(routed.remove("/api/{*rest}"), "the API's 404 route");
    // The dashboard's config.json, served beside its static files (not API).
    assert!(routed.remove("/config.json"), "the dashboard's config.json");
    assert_eq!(routed, served, "router paths vs route table");

    // 3. Each served path answers exactly the table's methods: a method it
    // does not serve is a 405 whose Allow lists those it does.
    for path in &served {
        let documented = if path.starts_with("/api/performance") && !path.ends_with('/') {
            format!("{path}/")
        } else {
            path.clone()
        };
        let mut expected: BTreeSet<String> = table
            .iter()
            .filter(|r| r.path == documented)
            .map(|r| r.method.as_str().to_owned())
            .collect();
        if expected.contains("GET") {
            expected.insert("HEAD".into());
        }
        let url = format!("{origin}{}", path.replace("{id}", "1"));
        let resp = v
            .http
            .request(reqwest::Method::PATCH, &url)
            .send()
            .await
            .expect("PATCH");
        assert_eq!(resp.status(), 405, "PATCH {path}");
        let allow: BTreeSet<String> = resp.headers()["allow"]
            .to_str()
            .expect("ascii")
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(allow, expected, "methods served at {path}");
    }

    // 4. Every documented read without a path parameter answers 200.
    common::poll(Duration::from_secs(10), || async {
        let ready = v.http.get(format!("{origin}/readyz")).send().await.ok()?;
        (ready.status() == 200).then_some(())
    })
    .await;
    for (method, path, _) in &declared {
        if method != "get" || path.contains('{') {
            continue;
        }
        let resp = v
            .http
            .get(format!("{origin}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 200, "{path}");
    }
    v.server.shutdown().await.expect("shutdown");
}

/// Visits every `$ref` of the document.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// What can be checked of OpenAPI 3.1 without its published schema (which
/// would have to be downloaded): the version, every `$ref` resolving, path
/// parameters declared and used, unique operation ids, a success answer and
/// a description on every response, known parameter places, security
/// schemes that exist, and every component schema a valid JSON Schema 2020-12.
#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let origin = format!("http://{}", v.server.addr());
    let doc = Doc::fetch(&v.http, &origin).await.json;
    v.server.shutdown().await.expect("shutdown");

    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["title"], "Vigie API");
    assert!(!doc["info"]["version"].as_str().unwrap_or("").is_empty());

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{} $refs only", all.len());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r}: not a local $ref"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, op) in item.as_object().expect("path item") {
            let what = format!("{method} {path}");
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "{what}: operationId {id} twice");
            let mut declared = BTreeSet::new();
            let mut seen = BTreeSet::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (name, place) = (
                    p["name"].as_str().expect("name"),
                    p["in"].as_str().expect("in"),
                );
                assert!(
                    ["query", "header", "path", "cookie"].contains(&place),
                    "{what}: {name} in {place}"
                );
                assert!(seen.insert((name, place)), "{what}: {name} twice");
                assert!(p["schema"].is_object(), "{what}: {name} without a schema");
                if place == "path" {
                    assert_eq!(p["required"], true, "{what}: path parameter {name}");
                    declared.insert(name);
                }
            }
            assert_eq!(declared, templated, "{what}: path parameters");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{what}: no success answer"
            );
            for (code, r) in responses {
                assert!(
                    code.len() == 3 && code.parse::<u16>().is_ok(),
                    "{what}: {code}"
                );
                assert!(r["description"].is_string(), "{what} {code}: description");
            }
            for requirement in op["security"].as_array().expect("security") {
                for name in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(name), "{what}: scheme {name}");
                }
            }
        }
    }
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("component {name} is not a JSON Schema 2020-12: {e}");
        }
    }
}

/// Calls Vigie and checks each answer against the document.
struct Checked {
    doc: Doc,
    http: reqwest::Client,
    origin: String,
}

impl Checked {
    /// `method` on `url` (under the origin, `{id}`s filled in) with a JSON
    /// body for changes, checked as an answer of `path` (documented form).
    async fn call(
        &self,
        method: &str,
        path: &str,
        url: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let verb = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut req = self.http.request(verb, format!("{}{url}", self.origin));
        if let Some(body) = body {
            req = req.json(body);
        }
        self.answer(method, path, req).await
    }

    /// `POST path` (a path without parameters) with `body`, checked like any call.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("post", path, path, Some(body)).await
    }

    /// `POST ingest/` with `records`.
    async fn ingest(&self, p: &str, records: &[Value]) -> (u16, Value) {
        self.post(&format!("{p}/ingest/"), &json!({"records": records}))
            .await
    }

    async fn answer(&self, method: &str, path: &str, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let media = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        let body = resp.bytes().await.expect("body");
        (status, self.doc.check(method, path, status, &media, &body))
    }

    /// A `GET` of a documented path without parameters, expecting 200.
    async fn read(&self, path: &str) -> Value {
        self.read_at(path, path).await
    }

    async fn read_at(&self, path: &str, url: &str) -> Value {
        let (status, body) = self.call("get", path, url, None).await;
        assert_eq!(status, 200, "GET {url}: {body}");
        body
    }
}

/// Real answers of the running server, valid against the document's
/// schemas (closed: no undocumented field): every read (with a target, a
/// rule, an alert and ingested requests to show), the changes' answers,
/// the events of the stream, and the JSON bodies of refusals.
#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |c| {
        c.sample_interval_ms = 200;
        c.alert_interval_ms = 200;
        c.ingest_max_records = 10;
    })
    .await;
    let origin = format!("http://{}", v.server.addr());
    let api = Checked {
        doc: Doc::fetch(&v.http, &origin).await,
        http: v.http.clone(),
        origin: origin.clone(),
    };
    let p = "/api/performance";
    common::poll(Duration::from_secs(10), || async {
        let ready = v.http.get(format!("{origin}/readyz")).send().await.ok()?;
        (ready.status() == 200).then_some(())
    })
    .await;

    // Something to show: a target probed, ingested requests, a rule that
    // fires at once (memory use is always above 1 %) and its alert.
    let (status, body) = api
        .call(
            "post",
            &format!("{p}/targets/"),
            &format!("{p}/targets/"),
            Some(&json!({"name": "itself", "url": format!("{origin}/livez"),
                         "interval_ms": 1000, "timeout_ms": 900})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // The validation bites: the same target with a field the document does
    // not list, or a field of the wrong type, is refused.
    let target_schema = json!({"$ref": "#/components/schemas/Target"});
    assert!(api.doc.validator(&target_schema).is_valid(&body));
    let mut extra = body.clone();
    extra["surprise"] = json!(1);
    assert!(!api.doc.validator(&target_schema).is_valid(&extra));
    let mut wrong = body.clone();
    wrong["interval_ms"] = json!("soon");
    assert!(!api.doc.validator(&target_schema).is_valid(&wrong));
    let target: Target = serde_json::from_value(body).expect("target");
    let target_path = format!("{p}/targets/{{id}}/");
    let target_url = format!("{p}/targets/{}/", target.id);
    common::poll(Duration::from_secs(10), || async {
        let t: Target =
            serde_json::from_value(api.read_at(&target_path, &target_url).await).ok()?;
        t.last_result.map(|_| ())
    })
    .await;
    let records: Vec<Value> = (0..5)
        .map(|i| json!({"endpoint": "/orders/{id}", "method": "GET", "status": if i == 4 { 500 } else { 200 },
                        "duration_ms": 10.0 + f64::from(i), "service": "shop"}))
        .collect();
    let (status, body) = api.ingest(p, &records).await;
    assert_eq!((status, &body["stored"]), (200, &json!(5)), "{body}");
    let (status, body) = api
        .call(
            "post",
            &format!("{p}/alert-rules/"),
            &format!("{p}/alert-rules/"),
            Some(
                &json!({"name": "memory", "metric": "memory_usage", "comparison": "above",
                         "threshold": 1, "severity": "low", "for_seconds": 0}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let rule: AlertRule = serde_json::from_value(body).expect("rule");
    let alert: Alert = common::poll(Duration::from_secs(10), || async {
        let list: AlertList = serde_json::from_value(
            api.read_at(
                &format!("{p}/alerts/"),
                &format!("{p}/alerts/?state=firing"),
            )
            .await,
        )
        .ok()?;
        list.alerts.into_iter().find(|a| a.rule_id == rule.id)
    })
    .await;

    // Requests slower than the p95 target: a recommendation to check.
    let slow: Vec<Value> = (0..10)
        .map(|_| {
            json!({"endpoint": "/orders/{id}", "method": "GET", "status": 200,
                   "duration_ms": 900.0, "service": "shop"})
        })
        .collect();
    for _ in 0..2 {
        let (status, body) = api.ingest(p, &slow).await;
        assert_eq!((status, &body["stored"]), (200, &json!(10)), "{body}");
    }

    // Every read.
    for path in [
        format!("{p}/"),
        format!("{p}/system-resources/"),
        format!("{p}/metrics/"),
        format!("{p}/targets/"),
        format!("{p}/monitoring/"),
        format!("{p}/endpoints/"),
        format!("{p}/alerts/"),
        format!("{p}/alert-rules/"),
        format!("{p}/session/"),
        format!("{p}/recommendations/"),
        format!("{p}/database-insights/"),
        "/livez".into(),
        "/readyz".into(),
        "/metrics".into(),
        "/api/openapi.json".into(),
    ] {
        api.read(&path).await;
    }
    let with_query = [
        (
            format!("{p}/system-resources/"),
            format!("{p}/system-resources/?range=5m&points=50"),
        ),
        (
            format!("{p}/metrics/"),
            format!("{p}/metrics/?range=5m&target={}", target.id),
        ),
        (
            format!("{p}/metrics/"),
            format!("{p}/metrics/?source=requests&service=shop&range=1h"),
        ),
        (
            format!("{p}/"),
            format!("{p}/?range=1h&source=requests&service=shop"),
        ),
        (
            format!("{p}/endpoints/"),
            format!("{p}/endpoints/?source=requests&service=shop&sort=error_rate"),
        ),
        (
            format!("{p}/alerts/"),
            format!("{p}/alerts/?state=open&severity=low,high&limit=5"),
        ),
        (target_path.clone(), target_url.clone()),
        (
            format!("{p}/alert-rules/{{id}}/"),
            format!("{p}/alert-rules/{}/", rule.id),
        ),
        (
            format!("{p}/alerts/{{id}}/"),
            format!("{p}/alerts/{}/", alert.id),
        ),
    ];
    for (path, url) in &with_query {
        api.read_at(path, url).await;
    }
    let now = vigie_server::now_ms();
    let advice = api
        .read_at(
            &format!("{p}/recommendations/"),
            &format!("{p}/recommendations/?from={}&to={now}", now - 3_600_000),
        )
        .await;
    assert_eq!(
        advice["recommendations"][0]["rule"],
        json!("slow_endpoint"),
        "an item is checked too: {advice}"
    );
    let history = api
        .read_at(
            &format!("{p}/system-resources/"),
            &format!("{p}/system-resources/?range=5m"),
        )
        .await;
    assert!(
        history["history"]["points"].is_array(),
        "the optional part is checked too"
    );
    let ranked = api
        .read_at(
            &format!("{p}/endpoints/"),
            &format!("{p}/endpoints/?source=requests"),
        )
        .await;
    assert_eq!(ranked["endpoints"][0]["endpoint"], "/orders/{id}");

    // The changes' answers.
    // Without tokens the actor is the name the operator gives.
    let alert_body = json!({"alert_id": alert.id, "note": "on it", "actor": "tester"});
    let (status, body) = api
        .post(&format!("{p}/acknowledge-alert/"), &alert_body)
        .await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("acknowledged")),
        "{body}"
    );
    let (status, _) = api.post(&format!("{p}/resolve-alert/"), &alert_body).await;
    assert_eq!(status, 200);
    let (status, body) = api.post(&format!("{p}/resolve-alert/"), &alert_body).await;
    assert_eq!(status, 409, "resolved twice: {body}");
    let (status, _) = api.post(&format!("{p}/stream-ticket/"), &json!({})).await;
    assert_eq!(status, 200);
    let mut spec = json!({"name": "itself again", "url": format!("{origin}/livez"),
                          "interval_ms": 1000, "timeout_ms": 900});
    let (status, _) = api
        .call("put", &target_path, &target_url, Some(&spec))
        .await;
    assert_eq!(status, 200);
    for path in ["stop-monitoring", "start-monitoring"] {
        let (status, _) = api.post(&format!("{p}/{path}/"), &json!({})).await;
        assert_eq!(status, 200, "{path}");
    }
    let rule_path = format!("{p}/alert-rules/{{id}}/");
    let rule_url = format!("{p}/alert-rules/{}/", rule.id);
    let (status, _) = api.call("delete", &rule_path, &rule_url, None).await;
    assert_eq!(status, 204);

    // Scaling: a configuration, an action, the status and the audit log.
    let (status, config) = api
        .post(
            &format!("{p}/scaling-configurations/"),
            &json!({"name": "web", "trigger_type": "response_time",
                    "scope": {"kind": "target", "target_id": target.id},
                    "min_instances": 1, "max_instances": 4, "scale_up_threshold": 500,
                    "scale_down_threshold": 50, "executor": {"kind": "dry_run"}}),
        )
        .await;
    assert_eq!(status, 201, "{config}");
    let config_path = format!("{p}/scaling-configurations/{{id}}/");
    let config_url = format!("{p}/scaling-configurations/{}/", config["id"]);
    let (status, action) = api
        .post(
            &format!("{p}/execute-scaling-action/"),
            &json!({"configuration": config["id"], "action": "set", "instances": 3,
                    "reason": "checking the schema", "actor": "tester"}),
        )
        .await;
    assert_eq!((status, &action["after"]), (200, &json!(3)), "{action}");
    let (status, refused) = api
        .post(
            &format!("{p}/execute-scaling-action/"),
            &json!({"configuration": config["id"], "action": "up", "reason": "again", "actor": "tester"}),
        )
        .await;
    assert_eq!(
        (status, &refused["field"]),
        (409, &json!("force")),
        "{refused}"
    );
    for (path, url) in [
        (
            format!("{p}/auto-scaling-status/"),
            format!("{p}/auto-scaling-status/"),
        ),
        (
            format!("{p}/scaling-configurations/"),
            format!("{p}/scaling-configurations/"),
        ),
        (config_path.clone(), config_url.clone()),
        (
            format!("{p}/scaling-actions/"),
            format!(
                "{p}/scaling-actions/?configuration={}&outcome=succeeded&limit=5",
                config["id"]
            ),
        ),
    ] {
        api.read_at(&path, &url).await;
    }
    let mut edited = config.clone();
    edited.as_object_mut().expect("object").remove("id");
    edited["mode"] = json!("automatic");
    let (status, _) = api
        .call("put", &config_path, &config_url, Some(&edited))
        .await;
    assert_eq!(status, 200);
    let (status, _) = api.call("delete", &config_path, &config_url, None).await;
    assert_eq!(status, 204);

    // Reports: a generation, its record, the list; a schedule's life.
    let (status, report) = api
        .post(
            &format!("{p}/generate-report/"),
            &json!({"sections": ["summary"]}),
        )
        .await;
    assert_eq!(status, 202, "{report}");
    let (status, refused) = api
        .post(
            &format!("{p}/generate-report/"),
            &json!({"from": 2, "to": 1}),
        )
        .await;
    assert_eq!((status, &refused["field"]), (400, &json!("from")));
    let report_path = format!("{p}/reports/{{id}}/");
    let report_url = format!("{p}/reports/{}/", report["id"]);
    api.read_at(&report_path, &report_url).await;
    api.read_at(&format!("{p}/reports/"), &format!("{p}/reports/?limit=5"))
        .await;
    let (status, schedule) = api
        .post(
            &format!("{p}/report-schedules/"),
            &json!({"name": "weekly", "frequency": "weekly", "weekday": 5, "hour": 7}),
        )
        .await;
    assert_eq!(status, 201, "{schedule}");
    let (status, refused) = api
        .post(
            &format!("{p}/report-schedules/"),
            &json!({"name": "late", "frequency": "daily", "hour": 25}),
        )
        .await;
    assert_eq!((status, &refused["field"]), (400, &json!("hour")));
    let schedule_path = format!("{p}/report-schedules/{{id}}/");
    let schedule_url = format!("{p}/report-schedules/{}/", schedule["id"]);
    api.read_at(&schedule_path, &schedule_url).await;
    api.read(&format!("{p}/report-schedules/")).await;
    let (status, _) = api
        .call(
            "put",
            &schedule_path,
            &schedule_url,
            Some(&json!({"name": "daily", "frequency": "daily", "hour": 7, "enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .call("delete", &schedule_path, &schedule_url, None)
        .await;
    assert_eq!(status, 204);

    // The events of the stream: each `data` is the JSON of its documented schema.
    let stream_path = format!("{p}/stream/");
    let resp = v
        .http
        .get(format!("{origin}{stream_path}"))
        .send()
        .await
        .expect("GET stream");
    assert_eq!(resp.status(), 200);
    let events = &api.doc.operation("get", &stream_path)["responses"]["200"]["content"]["text/event-stream"]
        ["x-vigie-events"];
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let mut checked = BTreeMap::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !checked.contains_key("sample") || !checked.contains_key("probe") {
            let chunk = body.next().await.expect("more events").expect("chunk");
            text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                let field = |name: &str| {
                    event
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                        .map(str::to_owned)
                };
                let (Some(kind), Some(data)) = (field("event:"), field("data:")) else {
                    continue;
                };
                let schema = &events[&kind];
                assert!(schema.is_object(), "event {kind} is not documented");
                let value: Value = serde_json::from_str(&data).expect("JSON data");
                api.doc
                    .assert_valid(schema, &value, &format!("event {kind}"));
                *checked.entry(kind).or_insert(0) += 1;
            }
        }
    })
    .await
    .expect("a sample and a probe event within 10 s");
    drop(body);

    // Refusals, each a documented status with an ErrorBody.
    let refusals = [
        (
            "get",
            format!("{p}/metrics/"),
            format!("{p}/metrics/?range=soon"),
            400,
        ),
        (
            "get",
            format!("{p}/alerts/"),
            format!("{p}/alerts/?state=later"),
            400,
        ),
        (
            "get",
            format!("{p}/recommendations/"),
            format!("{p}/recommendations/?from=2&to=1"),
            400,
        ),
        (
            "get",
            target_path.clone(),
            format!("{p}/targets/999999/"),
            404,
        ),
        (
            "get",
            format!("{p}/alerts/{{id}}/"),
            format!("{p}/alerts/999999/"),
            404,
        ),
        (
            "delete",
            target_path.clone(),
            format!("{p}/targets/999999/"),
            404,
        ),
    ];
    for (method, path, url, expected) in &refusals {
        let (status, body) = api.call(method, path, url, None).await;
        assert_eq!(status, *expected, "{method} {url}: {body}");
        assert!(body["error"].is_string());
    }
    spec["interval_ms"] = json!(10);
    let (status, body) = api
        .call("put", &target_path, &target_url, Some(&spec))
        .await;
    assert_eq!(
        (status, &body["field"]),
        (400, &json!("interval_ms")),
        "{body}"
    );
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({"endpoint": "/x", "method": "GET", "status": 200, "duration_ms": 1}))
        .collect();
    let (status, body) = api.ingest(p, &eleven).await;
    assert_eq!(status, 413, "{body}");
    let plain = v
        .http
        .post(format!("{origin}{p}/targets/"))
        .header("content-type", "text/plain")
        .body(r#"{"name":"x","url":"http://127.0.0.1:1/"}"#);
    let (status, _) = api.answer("post", &format!("{p}/targets/"), plain).await;
    assert_eq!(status, 415);
    let misdirected = v
        .http
        .get(format!("{origin}{p}/monitoring/"))
        .header("host", "vigie.attacker.example");
    let (status, body) = api
        .answer("get", &format!("{p}/monitoring/"), misdirected)
        .await;
    assert_eq!((status, &body["field"]), (421, &json!("Host")), "{body}");
    v.server.shutdown().await.expect("shutdown");
}
