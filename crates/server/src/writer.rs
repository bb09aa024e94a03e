//! The one task that writes measurements to SQLite. Producers send records
//! through a channel and go on; the writer takes whatever has queued up (up to
//! [`MAX_BATCH`]) and stores it in one transaction on a blocking thread, so a
//! burst costs one commit, not one per record.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigie_api::{HostSample, ProbeResult};

use std::sync::Arc;

use crate::store::Store;
use crate::telemetry::Telemetry;

const MAX_BATCH: usize = 2000;
const QUEUE: usize = 10_000;

#[derive(Debug)]
pub enum Record {
    Host(HostSample),
    Probe(ProbeResult),
}

/// Sending end; cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Record>,
}

impl Writer {
    /// Queues a record; waits only when the queue is full (the disk is behind).
    pub async fn write(&self, record: Record) {
        if self.tx.send(record).await.is_err() {
            tracing::warn!("measurement dropped: the writer has stopped");
        }
    }
}

pub fn spawn_writer(
    store: Store,
    telemetry: Arc<Telemetry>,
    shutdown: CancellationToken,
) -> (Writer, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Record>(QUEUE);
    let task = tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                r = rx.recv() => r,
                () = shutdown.cancelled() => None,
            };
            let mut batch: Vec<Record> = first.into_iter().collect();
            // On shutdown (or when every sender is gone) drain what is queued.
            let stopping = batch.is_empty();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                let db = store.clone();
                let written = tokio::task::spawn_blocking(move || {
                    let (mut hosts, mut probes) = (Vec::new(), Vec::new());
                    for r in batch {
                        match r {
                            Record::Host(s) => hosts.push(s),
                            Record::Probe(p) => probes.push(p),
                        }
                    }
                    db.insert_batch(&hosts, &probes)
                        .map(|()| (hosts.len(), probes.len()))
                })
                .await;
                match written {
                    Ok(Ok((hosts, probes))) => telemetry.stored(hosts, probes),
                    Ok(Err(e)) => tracing::error!(error = %e, "writing measurements failed"),
                    Err(e) => tracing::error!(error = %e, "the writer thread failed"),
                }
            }
            if stopping && rx.is_empty() {
                break;
            }
        }
    });
    (Writer { tx }, task)
}
