//! Scaling end to end through the HTTP API: each executor against the real
//! thing it drives (programs run for real, a Kubernetes API server that
//! speaks the real protocol), bounds, cooldown, idempotency, refusals that
//! record nothing as done, and an action cut by SIGKILL.

mod common;

use std::time::Duration;

use common::kube::KubeFake;
use common::{Client, Vigie};
use serde_json::{Value, json};
use vigie_api::{AutoScalingStatus, ScalingAction, ScalingActionList, ScalingConfig};

const P: &str = "/api/performance";

async fn vigie(data: &std::path::Path) -> Vigie {
    common::vigie(data, |c| {
        c.sample_interval_ms = 200;
        c.alert_interval_ms = 200;
    })
    .await
}

async fn configure(v: &Vigie, executor: Value, extra: Value) -> ScalingConfig {
    let mut body = json!({"name": "web", "trigger_type": "cpu", "scope": {"kind": "host"},
        "min_instances": 1, "max_instances": 5, "scale_up_threshold": 80,
        "scale_down_threshold": 20, "cooldown_seconds": 300, "executor": executor});
    for (k, val) in extra.as_object().expect("object") {
        body[k] = val.clone();
    }
    let resp = v.post("/scaling-configurations/", &body).await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    resp.json().await.expect("configuration")
}

async fn act(v: &Vigie, body: Value) -> (u16, Value) {
    let resp = v.post("/execute-scaling-action/", &body).await;
    (resp.status().as_u16(), resp.json().await.expect("JSON"))
}

/// Posts `body` and expects the executor's failure (502) saying `says`.
async fn executor_failed(v: &Vigie, body: Value, says: &str) {
    let (code, answer) = act(v, body).await;
    assert_eq!(
        (code, &answer["field"]),
        (502, &json!("executor")),
        "{answer}"
    );
    let text = answer["error"].as_str().unwrap_or_default();
    assert!(text.contains(says), "{says:?} not in {answer}");
}

async fn status_of(v: &Vigie, id: i64) -> vigie_api::ScalingStatus {
    let all: AutoScalingStatus = v.get_json("/auto-scaling-status/").await;
    all.configurations
        .into_iter()
        .find(|s| s.configuration.id == id)
        .expect("the configuration's status")
}

async fn actions(v: &Vigie) -> Vec<ScalingAction> {
    let list: ScalingActionList = v.get_json("/scaling-actions/").await;
    list.actions
}

#[tokio::test]
async fn dry_runs_are_bounded_cooled_down_and_scale_once_per_key() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = vigie(data.path()).await;
    let c = configure(&v, json!({"kind": "dry_run"}), json!({"min_instances": 2})).await;
    assert_eq!(status_of(&v, c.id).await.instances.current, Some(2));

    let (code, body) = act(
        &v,
        json!({"configuration": c.id, "action": "set", "instances": 9,
                                      "reason": "load test", "actor": "ana"}),
    )
    .await;
    assert_eq!((code, &body["field"]), (400, &json!("instances")), "{body}");
    let (code, body) = act(
        &v,
        json!({"configuration": c.id, "action": "up", "reason": " ",
                                      "actor": "ana"}),
    )
    .await;
    assert_eq!((code, &body["field"]), (400, &json!("reason")), "{body}");
    let (code, body) = act(
        &v,
        json!({"configuration": 999, "action": "up", "reason": "x",
                                      "actor": "ana"}),
    )
    .await;
    assert_eq!(
        (code, &body["field"]),
        (400, &json!("configuration")),
        "{body}"
    );
    assert!(
        actions(&v).await.is_empty(),
        "refused requests record nothing"
    );

    let ask = json!({"configuration": c.id, "action": "set", "instances": 3,
                     "reason": "campaign", "actor": "ana", "idempotency_key": "k1"});
    let (code, first) = act(&v, ask.clone()).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(
        (first["before"].clone(), first["after"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(first["outcome"], "succeeded");
    // The same key again (a double click, a retry): the first answer, no second action.
    let (code, again) = act(&v, ask).await;
    assert_eq!((code, &again["id"]), (200, &first["id"]));
    assert_eq!(actions(&v).await.len(), 1);
    assert_eq!(status_of(&v, c.id).await.instances.current, Some(3));

    let (code, body) = act(
        &v,
        json!({"configuration": c.id, "action": "up", "reason": "more",
                                      "actor": "ana"}),
    )
    .await;
    assert_eq!((code, &body["field"]), (409, &json!("force")), "{body}");
    let message = body["error"].as_str().expect("message");
    let left: u64 = message
        .split(": ")
        .nth(1)
        .and_then(|m| m.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("seconds left in {message:?}"));
    assert!((295..=300).contains(&left), "{message}");
    let (code, forced) = act(
        &v,
        json!({"configuration": c.id, "action": "up", "reason": "more",
                                        "actor": "ana", "force": true}),
    )
    .await;
    assert_eq!(
        (code, &forced["after"], &forced["forced"]),
        (200, &json!(4), &json!(true))
    );
    let status = status_of(&v, c.id).await;
    assert_eq!(status.instances.current, Some(4));
    assert_eq!(status.last_action.map(|a| a.actor), Some("ana".to_owned()));
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn configurations_are_refused_with_the_field_at_fault() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = vigie(data.path()).await;
    let base = json!({"name": "web", "trigger_type": "cpu", "scope": {"kind": "host"},
        "min_instances": 1, "max_instances": 5, "scale_up_threshold": 80,
        "scale_down_threshold": 20, "executor": {"kind": "dry_run"}});
    let cases = [
        (json!({"min_instances": 6}), "min_instances"),
        (json!({"scale_down_threshold": 90}), "scale_down_threshold"),
        (
            json!({"scope": {"kind": "target", "target_id": 1}}),
            "scope",
        ),
        (
            json!({"scope": {"kind": "node", "target_id": 42}}),
            "scope.target_id",
        ),
        (json!({"scaling_type": "vertical"}), "scaling_type"),
        (
            json!({"executor": {"kind": "command", "scale": []}}),
            "executor.scale",
        ),
        (
            json!({"executor": {"kind": "kubernetes", "namespace": "Shop!", "name": "web"}}),
            "executor.namespace",
        ),
        (
            json!({"executor": {"kind": "kubernetes", "namespace": "shop", "name": "web",
                             "api_url": "http://169.254.169.254/"}}),
            "executor.api_url",
        ),
    ];
    for (change, field) in cases {
        let mut body = base.clone();
        for (k, val) in change.as_object().expect("object") {
            body[k] = val.clone();
        }
        let resp = v.post("/scaling-configurations/", &body).await;
        let status = resp.status();
        let answer: Value = resp.json().await.expect("JSON");
        assert_eq!(
            (status.as_u16(), &answer["field"]),
            (400, &json!(field)),
            "{change}: {answer}"
        );
    }
    let list: vigie_api::ScalingConfigList = v.get_json("/scaling-configurations/").await;
    assert!(list.configurations.is_empty(), "nothing stored");
    v.server.shutdown().await.expect("shutdown");
}

fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

#[tokio::test]
async fn command_executors_run_for_real_and_failures_keep_the_previous_count() {
    let data = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let count = bin.path().join("count");
    std::fs::write(&count, "2\n").expect("count");
    let c = count.display();
    let scale = script(
        bin.path(),
        "scale",
        &format!(
            "[ \"$VIGIE_SCALE_NAME\" = web ] || exit 3\necho \"scaling to $VIGIE_SCALE_INSTANCES\"\necho \"$VIGIE_SCALE_INSTANCES\" > {c}"
        ),
    );
    let status = script(bin.path(), "status", &format!("cat {c}"));
    let v = vigie(data.path()).await;
    let cfg = configure(
        &v,
        json!({"kind": "command", "scale": [scale], "status": [status],
                                   "timeout_s": 1}),
        json!({"cooldown_seconds": 0}),
    )
    .await;
    assert_eq!(status_of(&v, cfg.id).await.instances.current, Some(2));
    let (code, done) = act(
        &v,
        json!({"configuration": cfg.id, "action": "up", "reason": "r",
                                      "actor": "ana"}),
    )
    .await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["output"], "scaling to 3");
    assert_eq!(std::fs::read_to_string(&count).expect("count").trim(), "3");
    assert_eq!(status_of(&v, cfg.id).await.instances.current, Some(3));

    // A program that fails, one that hangs past the timeout, one that prints garbage.
    let failing = script(bin.path(), "fail", "echo 'no capacity left' >&2\nexit 1");
    let hanging = script(bin.path(), "hang", "exec sleep 30");
    let status_arg = bin.path().join("status").display().to_string();
    for (program, expect) in [
        (failing, "no capacity left"),
        (hanging, "did not finish within 1 s"),
    ] {
        let body = json!({"name": "web", "trigger_type": "cpu", "scope": {"kind": "host"},
            "min_instances": 1, "max_instances": 5, "scale_up_threshold": 80,
            "scale_down_threshold": 20, "cooldown_seconds": 0,
            "executor": {"kind": "command", "scale": [program], "status": [status_arg], "timeout_s": 1}});
        let resp = v
            .send(
                reqwest::Method::PUT,
                &format!("/scaling-configurations/{}/", cfg.id),
                &body,
            )
            .await;
        assert_eq!(resp.status(), 200);
        let up = json!({"configuration": cfg.id, "action": "up", "reason": "r", "actor": "ana"});
        executor_failed(&v, up, expect).await;
        let last = actions(&v).await.into_iter().next().expect("recorded");
        assert_eq!(last.outcome, vigie_api::ScalingOutcome::Failed);
        assert!(last.error.is_some_and(|e| e.contains(expect)));
        assert_eq!(
            status_of(&v, cfg.id).await.instances.current,
            Some(3),
            "unchanged"
        );
    }
    std::fs::write(&count, "three\n").expect("count");
    let s = status_of(&v, cfg.id).await;
    assert_eq!(s.instances.current, None);
    assert!(
        s.executor_error
            .is_some_and(|e| e.contains("expected a count"))
    );
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn kubernetes_scale_is_read_and_patched_and_refusals_are_recorded() {
    let data = tempfile::tempdir().expect("tempdir");
    let token = data.path().join("token");
    let kube = KubeFake::start("shop", "web", 2).await;
    std::fs::write(&token, kube.token()).expect("token");
    let v = vigie(data.path()).await;
    let cfg = configure(
        &v,
        json!({"kind": "kubernetes", "namespace": "shop", "name": "web",
        "api_url": kube.url(), "token_file": token.display().to_string()}),
        json!({"cooldown_seconds": 0}),
    )
    .await;
    let s = status_of(&v, cfg.id).await;
    assert_eq!(
        (s.instances.desired, s.instances.current, s.instances.ready),
        (Some(2), Some(2), Some(2))
    );
    kube.set_ready(1);
    assert_eq!(status_of(&v, cfg.id).await.instances.ready, Some(1));

    let (code, body) = act(
        &v,
        json!({"configuration": cfg.id, "action": "set", "instances": 4,
                                      "reason": "sale", "actor": "ana"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(kube.replicas().0, 4);
    let patches = kube.patches();
    assert_eq!(patches.len(), 1);
    assert!(
        patches[0].0.starts_with("application/merge-patch+json"),
        "{:?}",
        patches[0].0
    );
    assert_eq!(patches[0].1, json!({"spec": {"replicas": 4}}));

    kube.fail_patches_with(Some(403));
    let down =
        json!({"configuration": cfg.id, "action": "down", "reason": "quiet", "actor": "ana"});
    executor_failed(&v, down.clone(), "403 Forbidden").await;
    kube.fail_patches_with(Some(409));
    executor_failed(&v, down.clone(), "409 Conflict").await;
    assert_eq!(kube.replicas().0, 4, "refused patches change nothing");
    assert_eq!(status_of(&v, cfg.id).await.instances.desired, Some(4));

    kube.fail_patches_with(None);
    kube.add_hpa("web-hpa");
    executor_failed(&v, down, "web-hpa").await;
    assert_eq!(
        kube.patches().len(),
        3,
        "no patch sent past the autoscaler check"
    );
    let outcomes: Vec<_> = actions(&v)
        .await
        .into_iter()
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["failed", "failed", "failed", "succeeded"]);
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_action_cut_by_sigkill_is_interrupted_after_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let hang = script(bin.path(), "hang", "exec sleep 60");
    let port = common::free_port();
    let mut child = common::spawn_binary(port, data.path(), &[]);
    common::wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}{P}");
    let http = reqwest::Client::new();
    let cfg: ScalingConfig =
        common::json_of(http.post(format!("{base}/scaling-configurations/")).json(
            &json!({"name": "web", "trigger_type": "cpu", "scope": {"kind": "host"},
                "min_instances": 1, "max_instances": 5, "scale_up_threshold": 80,
                "scale_down_threshold": 20, "mode": "automatic",
                "executor": {"kind": "command", "scale": [hang], "timeout_s": 120}}),
        ))
        .await;
    let pending = tokio::spawn({
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.post(format!("{base}/execute-scaling-action/"))
                .json(
                    &json!({"configuration": cfg.id, "action": "set", "instances": 3,
                              "reason": "r", "actor": "ana"}),
                )
                .send()
                .await
        }
    });
    common::poll(Duration::from_secs(10), || async {
        let list: ScalingActionList =
            common::json_of(http.get(format!("{base}/scaling-actions/"))).await;
        list.actions
            .first()
            .filter(|a| a.outcome == vigie_api::ScalingOutcome::Running)
            .map(|_| ())
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    pending.abort();

    let mut child = common::spawn_binary(port, data.path(), &[]);
    common::wait_ready(port).await;
    let action = common::poll(Duration::from_secs(10), || async {
        let list: ScalingActionList =
            common::json_of(http.get(format!("{base}/scaling-actions/"))).await;
        list.actions
            .into_iter()
            .next()
            .filter(|a| a.outcome == vigie_api::ScalingOutcome::Interrupted)
    })
    .await;
    assert!(action.error.is_some_and(|e| e.contains("server stopped")));
    // The interrupted action counts for the cooldown: no blind repeat.
    let status: AutoScalingStatus =
        common::json_of(http.get(format!("{base}/auto-scaling-status/"))).await;
    let s = &status.configurations[0];
    assert!(s.cooldown_left_s > 0, "{s:?}");
    let list: ScalingActionList =
        common::json_of(http.get(format!("{base}/scaling-actions/"))).await;
    assert_eq!(list.total, 1);
    child.kill().expect("kill");
    child.wait().expect("reaped");
}

/// A loopback endpoint answering after `delay` ms (changed by the test).
async fn switchable() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let delay = Arc::new(AtomicU64::new(0));
    let d = delay.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let ms = d.load(Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "ok"
            }
        }),
    );
    (common::serve(app).await, delay)
}

#[tokio::test]
async fn automatic_mode_scales_up_on_a_slow_target_waits_the_cooldown_and_scales_down() {
    use std::sync::atomic::Ordering;
    let data = tempfile::tempdir().expect("tempdir");
    let (up, delay) = switchable().await;
    delay.store(400, Ordering::SeqCst);
    let v = vigie(data.path()).await;
    let resp = v
        .post(
            "/targets/",
            &json!({"name": "shop", "url": format!("http://{up}/"),
                    "interval_ms": 1000, "timeout_ms": 1000}),
        )
        .await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let target: vigie_api::Target = resp.json().await.expect("target");
    let cooldown_s = 5;
    let cfg = configure(
        &v,
        json!({"kind": "dry_run"}),
        json!({
        "trigger_type": "response_time", "scope": {"kind": "target", "target_id": target.id},
        "scale_up_threshold": 200, "scale_down_threshold": 50, "window_seconds": 10,
        "for_seconds": 1, "cooldown_seconds": cooldown_s, "mode": "automatic"}),
    )
    .await;

    let first = common::poll(Duration::from_secs(20), || async {
        actions(&v).await.into_iter().next()
    })
    .await;
    assert_eq!((first.actor.as_str(), first.automatic), ("vigie", true));
    assert_eq!(
        (first.direction, first.before, first.after),
        (vigie_api::ScalingDirection::Up, Some(1), Some(2))
    );
    assert!(first.trigger_value.is_some_and(|v| v > 200.0), "{first:?}");
    assert!(first.reason.contains("above 200 ms"), "{}", first.reason);
    delay.store(0, Ordering::SeqCst);

    let all = common::poll(Duration::from_secs(30), || async {
        let all = actions(&v).await;
        (all.len() >= 2).then_some(all)
    })
    .await;
    assert_eq!(all.len(), 2, "{all:?}");
    let second = &all[0];
    assert_eq!(
        (second.direction, second.before, second.after),
        (vigie_api::ScalingDirection::Down, Some(2), Some(1))
    );
    assert!(second.trigger_value.is_some_and(|v| v < 50.0), "{second:?}");
    assert!(
        second.started_at >= first.started_at + cooldown_s * 1000,
        "no second action within the cooldown: {} then {}",
        first.started_at,
        second.started_at
    );
    assert_eq!(status_of(&v, cfg.id).await.instances.current, Some(1));
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_command_executor_starts_real_servers_and_the_status_counts_those_that_answer() {
    let data = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path().display().to_string();
    let base = common::free_port();
    std::fs::write(
        bin.path().join("serve.js"),
        "require('http').createServer((q, s) => s.end('ok')).listen(+process.argv[2], '127.0.0.1');",
    )
    .expect("serve.js");
    std::fs::write(
        bin.path().join("count.js"),
        "const http = require('http'); const [base, max] = process.argv.slice(2).map(Number);\n\
         Promise.all([...Array(max).keys()].map(i => new Promise(done => {\n\
           const r = http.get({host: '127.0.0.1', port: base + i, path: '/', timeout: 500}, s => done(s.statusCode === 200));\n\
           r.on('error', () => done(false)); r.on('timeout', () => { r.destroy(); done(false); });\n\
         }))).then(up => console.log(up.filter(Boolean).length));",
    )
    .expect("count.js");
    // Instance i listens on base + i; its pid is in pid.<i>.
    let scale = script(
        bin.path(),
        "scale",
        &format!(
            "i=0\nwhile [ $i -lt 3 ]; do\n  if [ $i -lt \"$VIGIE_SCALE_INSTANCES\" ]; then\n    \
         [ -f {dir}/pid.$i ] || {{ node {dir}/serve.js $(({base} + i)) & echo $! > {dir}/pid.$i; }}\n  \
         elif [ -f {dir}/pid.$i ]; then kill $(cat {dir}/pid.$i); rm {dir}/pid.$i; fi\n  i=$((i + 1))\ndone"
        ),
    );
    let status = script(
        bin.path(),
        "status",
        &format!("exec node {dir}/count.js {base} 3"),
    );
    let v = vigie(data.path()).await;
    let cfg = configure(
        &v,
        json!({"kind": "command", "scale": [scale], "status": [status], "timeout_s": 10}),
        json!({"min_instances": 0, "max_instances": 3, "cooldown_seconds": 0}),
    )
    .await;
    assert_eq!(status_of(&v, cfg.id).await.instances.current, Some(0));
    for n in [3, 1] {
        let (code, body) = act(
            &v,
            json!({"configuration": cfg.id, "action": "set", "instances": n,
                                          "reason": "r", "actor": "ana"}),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        common::poll(Duration::from_secs(10), || async {
            (status_of(&v, cfg.id).await.instances.current == Some(n)).then_some(())
        })
        .await;
    }
    let _ = std::process::Command::new(bin.path().join("scale"))
        .env("VIGIE_SCALE_INSTANCES", "0")
        .status();
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn counts_changed_outside_vigie_and_actions_reach_the_stream() {
    use futures_util::StreamExt;
    let data = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let count = bin.path().join("count");
    std::fs::write(&count, "2\n").expect("count");
    let status = script(bin.path(), "status", &format!("cat {}", count.display()));
    let scale = script(
        bin.path(),
        "scale",
        &format!("echo \"$VIGIE_SCALE_INSTANCES\" > {}", count.display()),
    );
    let v = vigie(data.path()).await;
    let cfg = configure(
        &v,
        json!({"kind": "command", "scale": [scale], "status": [status]}),
        json!({"cooldown_seconds": 0}),
    )
    .await;
    let resp = v
        .http
        .get(format!("{}/stream/", v.base))
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    // Someone else scales: the next reading reaches the stream.
    std::fs::write(&count, "4\n").expect("count");
    let (code, done) = act(
        &v,
        json!({"configuration": cfg.id, "action": "set", "instances": 5, "reason": "r", "actor": "ana"}),
    )
    .await;
    assert_eq!(code, 200, "{done}");
    let wanted = |text: &str| {
        let events: Vec<(String, Value)> = text
            .split("\n\n")
            .filter_map(|block| {
                let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
                let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
                Some((name.to_owned(), serde_json::from_str(data).ok()?))
            })
            .collect();
        let counts: Vec<_> = events
            .iter()
            .filter(|(n, d)| n == "instances" && d["configuration_id"] == json!(cfg.id))
            .map(|(_, d)| d["instances"]["current"].clone())
            .collect();
        let outcomes: Vec<_> = events
            .iter()
            .filter(|(n, _)| n == "scaling")
            .map(|(_, d)| d["outcome"].clone())
            .collect();
        (counts, outcomes)
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (counts, outcomes) = wanted(&text);
            if counts.contains(&json!(5)) && outcomes.contains(&json!("succeeded")) {
                assert!(
                    counts.contains(&json!(4)) || counts.contains(&json!(2)),
                    "{counts:?}"
                );
                assert_eq!(outcomes, [json!("running"), json!("succeeded")]);
                break;
            }
            let chunk = body.next().await.expect("more events").expect("chunk");
            text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no instances/scaling events in {text}"));
    v.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_kubeconfig_gives_the_server_and_the_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let kube = KubeFake::start("shop", "web", 3).await;
    let config = data.path().join("kubeconfig");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
             contexts:\n- name: other\n  context: {{cluster: nowhere, user: nobody}}\n\
             - name: test\n  context: {{cluster: fake, user: vigie}}\n\
             clusters:\n- name: fake\n  cluster:\n    server: {}\n\
             users:\n- name: vigie\n  user:\n    token: {}\n",
            kube.url(),
            kube.token()
        ),
    )
    .expect("kubeconfig");
    let v = vigie(data.path()).await;
    let cfg = configure(
        &v,
        json!({"kind": "kubernetes", "namespace": "shop", "name": "web",
               "kubeconfig": config.display().to_string()}),
        json!({}),
    )
    .await;
    let s = status_of(&v, cfg.id).await;
    assert_eq!((s.instances.desired, s.executor_error), (Some(3), None));
    std::fs::write(&config, "current-context: gone\n").expect("kubeconfig");
    let s = status_of(&v, cfg.id).await;
    assert!(
        s.executor_error
            .is_some_and(|e| e.contains("no context \"gone\"")),
        "the kubeconfig's fault is named"
    );
    v.server.shutdown().await.expect("shutdown");
}
