//! Answers computed once and served to every caller that asks the same
//! question in the same second with the same data: a dashboard open in ten
//! tabs (or ten admins' portals) costs one database query per tick, not ten.
//!
//! An answer is keyed by route and query and stamped with the store's
//! generation (which goes up after every write) and the current second (a
//! relative range such as `range=1h` moves with the clock). Concurrent misses
//! of one key wait for a single computation. Errors are not kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::error::ApiError;

/// Distinct questions kept; past it, every stale answer is dropped (and all
/// of them if they are all of this second).
const MAX_ENTRIES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    second: i64,
}

impl Stamp {
    fn of(generation: u64, now_ms: i64) -> Stamp {
        Stamp {
            generation,
            second: now_ms.div_euclid(1000),
        }
    }
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    answer: Arc<OnceCell<Bytes>>,
}

/// Computes an answer's bytes afresh.
type Compute = Arc<dyn Fn() -> BoxFuture<'static, Result<Bytes, ApiError>> + Send + Sync>;

/// A question asked lately, recomputed ahead of its askers.
struct Hot {
    compute: Compute,
    asked_ms: i64,
}

impl std::fmt::Debug for Hot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hot")
            .field("asked_ms", &self.asked_ms)
            .finish()
    }
}

/// A question asked within this long is recomputed ahead (see
/// [`ResponseCache::refresh`]); one not asked since is let go.
pub const HOT_FOR_MS: i64 = 10_000;

/// Questions recomputed ahead at most; past it, the least recently asked go.
const MAX_HOT: usize = 256;

#[derive(Debug, Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, Entry>>,
    hot: Mutex<HashMap<String, Hot>>,
}

fn serialise<T: Serialize>(value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("cannot serialise the answer: {e}")))
}

/// A JSON body already serialised.
#[derive(Debug, Clone)]
pub struct JsonBytes(pub Bytes);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// `route?k=v&…` of a typed query, serialised in its fields' order: the
/// order of a request's parameters does not make it another question.
pub fn key(route: &str, query: &impl Serialize) -> String {
    match serde_urlencoded::to_string(query) {
        Ok(q) if !q.is_empty() => format!("{route}?{q}"),
        _ => route.to_owned(),
    }
}

impl ResponseCache {
    fn cell(&self, key: &str, stamp: Stamp) -> Arc<OnceCell<Bytes>> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = entries.get(key)
            && e.stamp == stamp
        {
            return e.answer.clone();
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.stamp == stamp);
            // As many distinct questions within one second: start afresh
            // rather than grow (callers under way keep their own handle).
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let answer = Arc::new(OnceCell::new());
        entries.insert(
            key.to_owned(),
            Entry {
                stamp,
                answer: answer.clone(),
            },
        );
        answer
    }

    /// The answer to `key` for this generation and second, computing it with
    /// `compute` when no caller has yet.
    pub async fn get_or_compute<T, F, Fut>(
        &self,
        key: &str,
        generation: u64,
        now_ms: i64,
        compute: F,
    ) -> Result<JsonBytes, ApiError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let cell = self.cell(key, Stamp::of(generation, now_ms));
        let bytes = cell
            .get_or_try_init(|| async { serialise(&compute().await?) })
            .await?;
        Ok(JsonBytes(bytes.clone()))
    }

    /// As [`Self::get_or_compute`], and the question is remembered: while it
    /// is asked, [`Self::refresh`] computes its answer for each new write and
    /// second before anyone asks, so a dashboard's standard queries find
    /// their answers ready instead of waiting for the first asker to
    /// compute them.
    pub async fn get_or_compute_ahead<T, F, Fut>(
        &self,
        key: &str,
        generation: u64,
        now_ms: i64,
        compute: F,
    ) -> Result<JsonBytes, ApiError>
    where
        T: Serialize,
        F: Fn() -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        // The boxed copy for the refresher is made once per question, not
        // per request.
        self.remember(key, now_ms, || {
            let compute = compute.clone();
            Arc::new(move || {
                let answer = compute();
                Box::pin(async move { serialise(&answer.await?) })
            })
        });
        self.get_or_compute(key, generation, now_ms, compute).await
    }

    fn remember(&self, key: &str, now_ms: i64, compute: impl FnOnce() -> Compute) {
        let mut hot = self
            .hot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = hot.get_mut(key) {
            h.asked_ms = h.asked_ms.max(now_ms);
            return;
        }
        if hot.len() >= MAX_HOT {
            let oldest = hot
                .iter()
                .min_by_key(|(_, h)| h.asked_ms)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                hot.remove(&oldest);
            }
        }
        hot.insert(
            key.to_owned(),
            Hot {
                compute: compute(),
                asked_ms: now_ms,
            },
        );
    }

    /// Computes, for `generation` and the second of `now_ms`, the answer of
    /// every question asked within [`HOT_FOR_MS`] that no one has computed
    /// yet, one after the other, the most recently asked first; forgets the
    /// others. Stops as soon as `current` (the store's generation and the
    /// clock) says a write or a new second has made these answers old: the
    /// next pass starts over with the new ones. Returns how many were
    /// computed. Run by [`spawn_refresher`] after each write and as each
    /// second starts.
    pub async fn refresh(
        &self,
        generation: u64,
        now_ms: i64,
        current: impl Fn() -> (u64, i64),
    ) -> usize {
        let mut due: Vec<(i64, String, Compute)> = {
            let mut hot = self
                .hot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            hot.retain(|_, h| now_ms - h.asked_ms <= HOT_FOR_MS);
            hot.iter()
                .map(|(k, h)| (h.asked_ms, k.clone(), h.compute.clone()))
                .collect()
        };
        due.sort_by_key(|d| std::cmp::Reverse(d.0));
        let stamp = Stamp::of(generation, now_ms);
        let mut computed = 0;
        for (_, key, compute) in due {
            let (generation, now_ms) = current();
            if Stamp::of(generation, now_ms) != stamp {
                break;
            }
            let cell = self.cell(&key, stamp);
            if cell.initialized() {
                continue;
            }
            if cell.get_or_try_init(|| compute()).await.is_ok() {
                computed += 1;
            }
        }
        computed
    }

    /// Whether the answer to `key` for `generation` and the second of
    /// `now_ms` is computed (and would be served without waiting).
    pub fn is_ready(&self, key: &str, generation: u64, now_ms: i64) -> bool {
        let stamp = Stamp::of(generation, now_ms);
        self.entries.lock().is_ok_and(|entries| {
            entries
                .get(key)
                .is_some_and(|e| e.stamp == stamp && e.answer.initialized())
        })
    }

    /// Questions being recomputed ahead.
    pub fn hot_len(&self) -> usize {
        self.hot.lock().map_or(0, |h| h.len())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

/// Recomputes the remembered questions' answers (see
/// [`ResponseCache::refresh`]) after each write and as each second starts,
/// until `shutdown`. Passes never overlap: writes during a pass make one
/// more pass, not one each.
pub fn spawn_refresher(
    cache: Arc<ResponseCache>,
    store: crate::store::Store,
    shutdown: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = crate::now_ms();
            let next_second =
                std::time::Duration::from_millis((1000 - now.rem_euclid(1000)) as u64);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = store.written() => {}
                () = tokio::time::sleep(next_second) => {}
            }
            if cache.hot_len() > 0 {
                let current = || (store.generation(), crate::now_ms());
                let (generation, now) = current();
                cache.refresh(generation, now, current).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn the_order_of_parameters_is_not_a_new_question() {
        use crate::error::parse_query;
        use vigie_api::MetricsQuery;
        let a: MetricsQuery = parse_query("points=300&range=1h").expect("query");
        let b: MetricsQuery = parse_query("range=1h&points=300").expect("query");
        assert_eq!(key("/m", &a), "/m?range=1h&points=300");
        assert_eq!(key("/m", &a), key("/m", &b));
        assert_eq!(key("/m", &MetricsQuery::default()), "/m");
    }

    #[tokio::test]
    async fn computes_once_per_generation_and_second_and_keeps_no_error() {
        let cache = ResponseCache::default();
        let runs = AtomicUsize::new(0);
        let ask = |generation, now_ms| {
            cache.get_or_compute("/m", generation, now_ms, || async {
                Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst))
            })
        };
        let first = ask(1, 10_000).await.expect("answer").0;
        assert_eq!(&first[..], b"0");
        // Same second, same data: the same bytes, not computed again.
        assert_eq!(&ask(1, 10_999).await.expect("answer").0[..], b"0");
        // A write, then the next second: computed again each time.
        assert_eq!(&ask(2, 10_999).await.expect("answer").0[..], b"1");
        assert_eq!(&ask(2, 11_000).await.expect("answer").0[..], b"2");
        assert_eq!(runs.load(Ordering::SeqCst), 3);

        let failed = cache
            .get_or_compute("/e", 1, 0, || async {
                Err::<u8, _>(ApiError::bad_request("x", "bad"))
            })
            .await;
        assert!(failed.is_err());
        let retried = cache
            .get_or_compute("/e", 1, 0, || async { Ok::<_, ApiError>(7u8) })
            .await
            .expect("computed after the error");
        assert_eq!(&retried.0[..], b"7");
    }

    #[tokio::test]
    async fn asked_questions_are_answered_ahead_until_no_longer_asked() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ask = |generation, now_ms| {
            let runs = runs.clone();
            cache.get_or_compute_ahead("/m", generation, now_ms, move || {
                let runs = runs.clone();
                async move { Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst)) }
            })
        };
        assert_eq!(&ask(1, 10_000).await.expect("answer").0[..], b"0");
        // A write: the refresher computes the new answer, and the next
        // request is served it without computing.
        assert_eq!(cache.refresh(2, 10_100, || (2, 10_100)).await, 1);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(&ask(2, 10_200).await.expect("answer").0[..], b"1");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // A pass with nothing new computes nothing.
        assert_eq!(cache.refresh(2, 10_300, || (2, 10_300)).await, 0);
        // A new second: computed ahead too.
        assert_eq!(cache.refresh(2, 11_000, || (2, 11_000)).await, 1);
        assert_eq!(&ask(2, 11_001).await.expect("answer").0[..], b"2");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // No longer asked: let go, never computed again.
        assert_eq!(
            cache
                .refresh(3, 11_001 + HOT_FOR_MS + 1, || (3, 11_001 + HOT_FOR_MS + 1))
                .await,
            0
        );
        assert_eq!(cache.hot_len(), 0);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // Plain questions are not remembered.
        cache
            .get_or_compute("/plain", 1, 0, || async { Ok::<_, ApiError>(0u8) })
            .await
            .expect("answer");
        assert_eq!(cache.hot_len(), 0);
    }

    #[tokio::test]
    async fn a_pass_stops_when_a_write_makes_its_answers_old() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        for (key, asked) in [("/a", 1_000), ("/b", 1_001), ("/c", 1_002)] {
            let runs = runs.clone();
            cache
                .get_or_compute_ahead(key, 1, asked, move || {
                    let runs = runs.clone();
                    async move { Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst)) }
                })
                .await
                .expect("answer");
        }
        // Three answers computed by the asks; a write lands while the
        // first answer of generation 2 is computed.
        let current = || {
            let written = runs.load(Ordering::SeqCst) > 3;
            (if written { 3 } else { 2 }, 1_500)
        };
        assert_eq!(cache.refresh(2, 1_500, current).await, 1);
        // The most recently asked went first; the others were left for the
        // next pass, which computes them for generation 3.
        assert!(cache.is_ready("/c", 2, 1_500));
        assert!(!cache.is_ready("/a", 2, 1_500) && !cache.is_ready("/b", 2, 1_500));
        assert_eq!(cache.refresh(3, 1_500, || (3, 1_500)).await, 3);
    }

    #[tokio::test]
    async fn the_questions_answered_ahead_are_bounded() {
        let cache = ResponseCache::default();
        for i in 0..MAX_HOT + 10 {
            cache
                .get_or_compute_ahead(&format!("/k{i}"), 1, i as i64, || async {
                    Ok::<_, ApiError>(0u8)
                })
                .await
                .expect("answer");
        }
        assert_eq!(cache.hot_len(), MAX_HOT);
        // The least recently asked went first.
        let hot = cache.hot.lock().expect("lock");
        assert!(!hot.contains_key("/k0") && hot.contains_key(&format!("/k{}", MAX_HOT + 9)));
    }

    #[tokio::test]
    async fn concurrent_misses_wait_for_one_computation() {
        let cache = Arc::new(ResponseCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, runs) = (cache.clone(), runs.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_compute("/m", 1, 0, || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            Ok::<_, ApiError>(1u8)
                        })
                        .await
                        .map(|b| b.0)
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(&t.await.expect("task").expect("answer")[..], b"1");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_answers_go_when_full() {
        let cache = ResponseCache::default();
        for i in 0..MAX_ENTRIES {
            cache
                .get_or_compute(&format!("/k{i}"), 1, 0, || async { Ok::<_, ApiError>(0u8) })
                .await
                .expect("answer");
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache
            .get_or_compute("/new", 2, 0, || async { Ok::<_, ApiError>(0u8) })
            .await
            .expect("answer");
        assert_eq!(cache.len(), 1);
        // Distinct questions all of the same second never grow it past the bound.
        for i in 0..3 * MAX_ENTRIES {
            cache
                .get_or_compute(&format!("/same-second{i}"), 2, 0, || async {
                    Ok::<_, ApiError>(0u8)
                })
                .await
                .expect("answer");
            assert!(cache.len() <= MAX_ENTRIES);
        }
    }
}
