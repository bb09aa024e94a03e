//! The host sampler task: one collector, one tick per interval. Each tick
//! publishes a new snapshot (`watch`: the latest state, with the
//! `system-resources` body already serialised), a `sample` event on the live
//! stream, and hands the sample to the writer. While monitoring is off it
//! measures nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigie_api::{HostCapacities, HostSample, SAMPLE_EVENT, SystemResources};

use super::{HostCollector, SERIES_LEN};
use crate::events::EventHub;
use crate::monitoring::Monitoring;
use crate::now_ms;
use crate::writer::{Record, Writer};

/// What the API serves until the next tick.
#[derive(Debug)]
pub struct HostSnapshot {
    /// Latest figures and recent series (oldest first).
    pub resources: SystemResources,
    /// `resources` as JSON: the `system-resources` body, serialised once.
    pub body: Bytes,
    /// A sample was taken by this process (not only loaded from the database).
    pub live: bool,
}

/// The receiving ends of the sampler, held by the app state.
#[derive(Debug, Clone)]
pub struct HostHub {
    snapshot: watch::Receiver<Arc<HostSnapshot>>,
}

impl HostHub {
    pub fn snapshot(&self) -> Arc<HostSnapshot> {
        self.snapshot.borrow().clone()
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
        let resources = SystemResources {
            ts_ms: latest.map(|s| s.ts_ms),
            cpu_usage: latest.map(|s| s.cpu_usage),
            memory_usage: latest.map(|s| s.memory_usage),
            disk_usage: latest.map(|s| s.disk_usage),
            network_usage: latest.map(|s| s.network_usage),
            capacities: capacities.clone(),
            interval_s: interval.as_secs_f64(),
            series: samples.iter().cloned().collect(),
            history: None,
        };
        // Serialising plain numbers and strings cannot fail.
        let body = Bytes::from(serde_json::to_vec(&resources).unwrap_or_default());
        HostSnapshot {
            resources,
            body,
            live,
        }
    }
}

/// What the sampler needs besides its collector.
#[derive(Debug)]
pub struct SamplerDeps {
    pub writer: Writer,
    pub events: EventHub,
    pub monitoring: Monitoring,
    pub interval: Duration,
    pub shutdown: CancellationToken,
}

/// Starts the sampler. `history` (oldest first) seeds the series so that a
/// restarted server shows what it measured before.
pub fn spawn_sampler(
    collector: HostCollector,
    history: Vec<HostSample>,
    deps: SamplerDeps,
) -> (HostHub, JoinHandle<()>) {
    let SamplerDeps {
        writer,
        events,
        monitoring,
        interval,
        shutdown,
    } = deps;
    let capacities = collector.capacities().clone();
    let mut samples: VecDeque<HostSample> = history.into_iter().collect();
    while samples.len() > SERIES_LEN {
        samples.pop_front();
    }
    let first = HostSnapshot::new(samples.clone(), &capacities, interval, false);
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(first));
    let hub = HostHub {
        snapshot: snapshot_rx,
    };

    let task = tokio::spawn(async move {
        let mut collector = Some(collector);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; CPU usage needs one interval
        // After a pause, CPU usage and network rates would average over the
        // whole pause: the first reading after it only sets the baseline.
        let mut baseline_only = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }

            if !monitoring.is_on() {
                baseline_only = true;
                continue;
            }
            let Some(mut c) = collector.take() else { break };
            let joined = tokio::task::spawn_blocking(move || {
                let sample = c.sample(now_ms());
                (c, sample)
            })
            .await;
            let Ok((c, sample)) = joined else {
                tracing::error!("host sampler thread panicked; sampling stops");
                break;
            };
            collector = Some(c);
            if std::mem::take(&mut baseline_only) {
                continue;
            }

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
            events.publish(SAMPLE_EVENT, sample.ts_ms, &sample);
            writer.write(Record::Host(sample)).await;
        }
    });
    (hub, task)
}
