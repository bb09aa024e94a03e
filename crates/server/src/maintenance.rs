//! The hourly maintenance task (and once at start): folds raw measurements
//! past the raw window into per-minute rollups, deletes raw requests past it
//! (rolled up at ingest already) in chunks, deletes what is past the
//! retention, and keeps the database under its size limit. See
//! [`Store::maintain`].

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Raw measurements are kept this long, then rolled up.
    pub raw_window: Duration,
    /// Rollups are kept this long.
    pub retention: Duration,
    /// Most bytes of data in the database; 0 for no limit.
    pub max_bytes: u64,
}

pub const EVERY: Duration = Duration::from_secs(3600);

pub fn spawn_maintenance(
    store: Store,
    policy: Policy,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            run_once(&store, policy).await;
        }
    })
}

pub async fn run_once(store: &Store, policy: Policy) {
    let now = crate::now_ms();
    let raw_before = now - policy.raw_window.as_millis() as i64;
    let expire_before = now - policy.retention.as_millis() as i64;
    match store
        .call(move |s| s.maintain(raw_before, expire_before, policy.max_bytes))
        .await
    {
        Ok(r) if r.rolled_up + r.pruned + r.expired + r.evicted == 0 => {}
        Ok(r) => tracing::info!(
            rolled_up = r.rolled_up,
            raw_requests_pruned = r.pruned,
            expired = r.expired,
            evicted_for_size = r.evicted,
            "maintenance"
        ),
        Err(e) => tracing::error!(error = %e, "maintenance failed"),
    }
}
