//! The one task that writes measurements to SQLite. Producers send records
//! through a channel and go on; the writer takes whatever has queued up (up to
//! [`MAX_BATCH`]) and stores it in one transaction on a blocking thread, so a
//! burst costs one commit, not one per record.

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigie_api::{HostSample, ProbeResult};

use std::sync::Arc;

use crate::scrape::histogram::HistogramDelta;
use crate::store::{Batch, Store, StoredRequest};
use crate::telemetry::Telemetry;

/// Records taken into one transaction at most (an ingested batch counts as one).
const MAX_BATCH: usize = 2000;
const QUEUE: usize = 10_000;

#[derive(Debug)]
pub enum Record {
    Host(HostSample),
    Probe(ProbeResult),
    /// An ingested batch: stored whole in one transaction (with whatever
    /// else is queued), then acknowledged.
    Requests(Vec<StoredRequest>, oneshot::Sender<Result<(), String>>),
    /// A sample of the host behind node_exporter target `.0`.
    Node(i64, HostSample),
    /// Histogram increases scraped from target `.0` at `.1`.
    Scraped(i64, i64, Vec<HistogramDelta>),
}

/// Sending end; cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Record>,
}

impl Writer {
    /// Stores `requests` and waits until they are committed.
    pub async fn write_durably(&self, requests: Vec<StoredRequest>) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Record::Requests(requests, ack))
            .await
            .map_err(|_| "the writer has stopped".to_owned())?;
        done.await
            .unwrap_or_else(|_| Err("the writer has stopped".to_owned()))
    }

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
                    let mut stored = Batch::default();
                    let mut acks = Vec::new();
                    for r in batch {
                        match r {
                            Record::Host(s) => stored.hosts.push(s),
                            Record::Probe(p) => stored.probes.push(p),
                            Record::Node(target, s) => stored.nodes.push((target, s)),
                            Record::Scraped(target, ts, deltas) => stored
                                .scraped
                                .extend(deltas.into_iter().map(|d| (target, ts, d))),
                            Record::Requests(mut rs, ack) => {
                                stored.requests.append(&mut rs);
                                acks.push(ack);
                            }
                        }
                    }
                    let result = db.insert_batch(&stored);
                    let outcome = result.as_ref().map(|&()| ()).map_err(ToString::to_string);
                    // Acknowledged only now: the transaction is committed (or failed).
                    for ack in acks {
                        let _ = ack.send(outcome.clone());
                    }
                    result.map(|()| {
                        (
                            stored.hosts.len(),
                            stored.probes.len(),
                            stored.requests.len(),
                        )
                    })
                })
                .await;
                match written {
                    Ok(Ok((hosts, probes, requests))) => telemetry.stored(hosts, probes, requests),
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
