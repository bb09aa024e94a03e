//! The store under load: a long write (a maintenance pass, a large batch)
//! holds the writing connection, and reads — the dashboard's every request —
//! go on answering meanwhile from their own connections.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Client as _;

#[tokio::test]
async fn reads_answer_while_a_long_write_holds_the_writer() {
    let data = tempfile::tempdir().expect("tempdir");
    let v = common::vigie(data.path(), |_| {}).await;
    let store = v.server.state().store().clone();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    // A write that takes as long as the test wants: it holds the writer's
    // connection inside an open transaction until released.
    let writer = std::thread::spawn(move || {
        store.transaction(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('held', 'yes')",
                [],
            )?;
            let _ = entered_tx.send(());
            let _ = release_rx.recv_timeout(Duration::from_secs(30));
            Ok(())
        })
    });
    entered
        .recv_timeout(Duration::from_secs(5))
        .expect("the write started");

    let started = Instant::now();
    let targets: vigie_api::TargetList = v.get_json("/targets/").await;
    let metrics: vigie_api::MetricsResponse = v.get_json("/metrics/?range=5m").await;
    let rules: vigie_api::AlertRuleList = v.get_json("/alert-rules/").await;
    let waited = started.elapsed();
    assert!(targets.targets.is_empty() && !rules.rules.is_empty());
    assert_eq!(metrics.performance_metrics.total_requests, 0);
    // With one connection for all, these reads would wait for the release
    // (30 s) or fail on the busy timeout (5 s).
    assert!(waited < Duration::from_secs(2), "reads waited {waited:?}");
    // The uncommitted write is not visible to them.
    let reader = v.server.state().store().clone();
    let held = || async { reader.call(|s| s.setting("held")).await.expect("read") };
    let before = held().await;
    assert_eq!(before, None);

    release.send(()).expect("release");
    writer.join().expect("thread").expect("committed");
    assert_eq!(
        held().await.as_deref(),
        Some("yes"),
        "visible once committed"
    );
    v.server.shutdown().await.expect("shutdown");
}
