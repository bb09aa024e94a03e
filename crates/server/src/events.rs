//! The live event hub behind the SSE stream. Every producer (host sampler,
//! probes, monitoring switch) publishes here; each event gets an id that only
//! grows (a millisecond timestamp, bumped by one on collision, so ids keep
//! growing across restarts too) and is serialised once. The last events are
//! kept in memory so that a client reconnecting with `Last-Event-ID` gets what
//! it missed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept for replay: minutes of history at the default rates.
const REPLAY: usize = 4096;

#[derive(Debug)]
pub struct LiveEvent {
    pub id: i64,
    /// SSE event name (`sample`, `probe`, `monitoring`).
    pub kind: &'static str,
    /// JSON payload.
    pub data: String,
}

#[derive(Debug, Clone)]
pub struct EventHub {
    recent: Arc<Mutex<VecDeque<Arc<LiveEvent>>>>,
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub {
            recent: Arc::new(Mutex::new(VecDeque::with_capacity(REPLAY))),
            tx: broadcast::channel(256).0,
        }
    }
}

impl EventHub {
    /// Publishes `payload` as a `kind` event stamped `ts_ms`.
    pub fn publish(&self, kind: &'static str, ts_ms: i64, payload: &impl Serialize) {
        let Ok(data) = serde_json::to_string(payload) else {
            return;
        };
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        let id = recent.back().map_or(ts_ms, |last| ts_ms.max(last.id + 1));
        let event = Arc::new(LiveEvent { id, kind, data });
        if recent.len() == REPLAY {
            recent.pop_front();
        }
        recent.push_back(event.clone());
        // Sent under the lock so that subscribers see ids in order. No
        // subscriber is not an error.
        let _ = self.tx.send(event);
    }

    /// A live subscription, and the held events whose id is greater than
    /// `after` (none when `after` is `None`). Subscribing and reading happen
    /// under one lock, so no event falls between the two.
    pub fn subscribe(
        &self,
        after: Option<i64>,
    ) -> (broadcast::Receiver<Arc<LiveEvent>>, Vec<Arc<LiveEvent>>) {
        match self.recent.lock() {
            Ok(recent) => {
                let rx = self.tx.subscribe();
                let missed = match after {
                    Some(after) => recent.iter().filter(|e| e.id > after).cloned().collect(),
                    None => Vec::new(),
                };
                (rx, missed)
            }
            Err(_) => (self.tx.subscribe(), Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_only_grow_and_replay_starts_after_the_given_id() {
        let hub = EventHub::default();
        hub.publish("sample", 1000, &1);
        hub.publish("probe", 1000, &2); // same millisecond: bumped
        hub.publish("probe", 900, &3); // clock went back: still after
        let (_, all) = hub.subscribe(Some(0));
        let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![1000, 1001, 1002]);
        let (_, missed) = hub.subscribe(Some(1000));
        assert_eq!(
            missed.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            vec!["2", "3"]
        );
        let (_, none) = hub.subscribe(None);
        assert!(none.is_empty());
    }
}
