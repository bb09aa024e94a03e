//! The host sampler task: one collector, one tick per interval. Each tick stores
//! the sample, publishes a new snapshot (`watch`: the latest state, with the
//! `system-resources` body already serialised) and an event (`broadcast`: for
//! the SSE stream, its `data:` line already serialised).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigie_api::{HostCapacities, HostSample, SystemResources};

use super::{HostCollector, SERIES_LEN};
use crate::store::Store;

/// What the API serves until the next tick.
#[derive(Debug)]
pub struct HostSnapshot {
    /// Recent samples, oldest first.
    pub samples: VecDeque<HostSample>,
    /// JSON body of `system-resources`.
    pub body: Bytes,
    /// A sample was taken by this process (not only loaded from the database).
    pub live: bool,
}

/// One new sample, as pushed to SSE subscribers.
#[derive(Debug)]
pub struct HostEvent {
    pub sample: HostSample,
    /// The sample as JSON: serialised once, sent to every subscriber.
    pub data: String,
}

/// The receiving ends of the sampler, held by the app state.
#[derive(Debug, Clone)]
pub struct HostHub {
    snapshot: watch::Receiver<Arc<HostSnapshot>>,
    events: broadcast::Sender<Arc<HostEvent>>,
}

impl HostHub {
    pub fn snapshot(&self) -> Arc<HostSnapshot> {
        self.snapshot.borrow().clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HostEvent>> {
        self.events.subscribe()
    }
}

impl HostSnapshot {
    fn new(
        samples: VecDeque<HostSample>,
        capacities: &HostCapacities,
        interval: Duration,
        live: bool,
    ) -> Self {
        let latest = samples.back();
        let body = SystemResources {
            ts_ms: latest.map(|s| s.ts_ms),
            cpu_usage: latest.map(|s| s.cpu_usage),
            memory_usage: latest.map(|s| s.memory_usage),
            disk_usage: latest.map(|s| s.disk_usage),
            network_usage: latest.map(|s| s.network_usage),
            capacities: capacities.clone(),
            interval_s: interval.as_secs_f64(),
            series: samples.iter().cloned().collect(),
        };
        // Serialising plain numbers and strings cannot fail.
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        HostSnapshot {
            samples,
            body,
            live,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Starts the sampler. `history` (oldest first) seeds the series so that a
/// restarted server shows what it measured before.
pub fn spawn_sampler(
    collector: HostCollector,
    history: Vec<HostSample>,
    store: Store,
    interval: Duration,
    retention: Duration,
    shutdown: CancellationToken,
) -> (HostHub, JoinHandle<()>) {
    let capacities = collector.capacities().clone();
    let mut samples: VecDeque<HostSample> = history.into_iter().collect();
    while samples.len() > SERIES_LEN {
        samples.pop_front();
    }
    let first = HostSnapshot::new(samples.clone(), &capacities, interval, false);
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(first));
    let (events, _) = broadcast::channel(64);
    let hub = HostHub {
        snapshot: snapshot_rx,
        events: events.clone(),
    };

    let task = tokio::spawn(async move {
        let mut collector = Some(collector);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; CPU usage needs one interval
        let prune_every = (3_600_000 / interval.as_millis().max(1)) as u64;
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let Some(mut c) = collector.take() else { break };
            let db = store.clone();
            let prune = ticks.is_multiple_of(prune_every);
            let cutoff = now_ms() - retention.as_millis() as i64;
            let joined = tokio::task::spawn_blocking(move || {
                let sample = c.sample(now_ms());
                if let Err(e) = db.insert_host_sample(&sample) {
                    tracing::error!(error = %e, "storing a host sample failed");
                }
                if prune {
                    match db.prune_host_samples(cutoff) {
                        Ok(n) if n > 0 => tracing::info!(deleted = n, "pruned old host samples"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "pruning host samples failed"),
                    }
                }
                (c, sample)
            })
            .await;
            let Ok((c, sample)) = joined else {
                tracing::error!("host sampler thread panicked; sampling stops");
                break;
            };
            collector = Some(c);
            ticks += 1;

            samples.push_back(sample.clone());
            if samples.len() > SERIES_LEN {
                samples.pop_front();
            }
            snapshot_tx.send_replace(Arc::new(HostSnapshot::new(
                samples.clone(),
                &capacities,
                interval,
                true,
            )));
            let data = serde_json::to_string(&sample).unwrap_or_default();
            // No subscriber is not an error.
            let _ = events.send(Arc::new(HostEvent { sample, data }));
        }
    });
    (hub, task)
}
