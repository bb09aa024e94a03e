//! Answers computed once and served to every caller that asks the same
//! question in the same second with the same data: a dashboard open in ten
//! tabs (or ten admins' portals) costs one database query per tick, not ten.
//!
//! An answer is keyed by route and query and stamped with the generation of
//! the data it reads (which goes up after every write of that data: see
//! [`crate::store::Data`]) and the current period of the clock (a relative
//! range such as `range=1h` moves with it): a second, or for a question
//! answered ahead, a tenth of its answer's bucket (see [`period_ms`]).
//! Concurrent misses of one key wait for a single computation. Errors are
//! not kept.
//!
//! A question a dashboard keeps asking is answered ahead
//! ([`ResponseCache::get_or_compute_ahead`]): the refresher computes its next
//! answer as each period starts and after each write, and until it has, the
//! askers are served the answer of the period before, if no write of its
//! data came since. So no request for it waits for a computation unless its
//! data has just changed; an answer served is never older than the last
//! write of its data, nor more than two periods old.

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
use crate::store::Data;

/// Distinct questions kept; past it, the answers of earlier seconds are
/// dropped (and all of them if they are all this second's or the last's).
const MAX_ENTRIES: usize = 512;

/// The shortest period, and the one of questions not answered ahead.
const SECOND_MS: i64 = 1000;

/// The longest period: however coarse its buckets, an answer of a relative
/// range follows the clock within two minutes.
const MAX_PERIOD_MS: i64 = 60_000;

/// How long an answer whose series has buckets of `bucket_ms` stays the
/// answer of a relative range while its data does not change: a tenth of a
/// bucket (the window's ends move by less than a tenth of a point), in whole
/// seconds, from one second to [`MAX_PERIOD_MS`]. A dashboard's 5-minute
/// chart is computed again every second; its 24-hour chart of 120 points
/// (12-minute buckets) every minute, unless a write of its data comes first.
pub fn period_ms(bucket_ms: i64) -> i64 {
    (bucket_ms / 10 / SECOND_MS * SECOND_MS).clamp(SECOND_MS, MAX_PERIOD_MS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    period_ms: i64,
    /// Which period of the clock: `now_ms / period_ms`.
    tick: i64,
}

impl Stamp {
    fn of(generation: u64, now_ms: i64, period_ms: i64) -> Stamp {
        Stamp {
            generation,
            period_ms,
            tick: now_ms.div_euclid(period_ms),
        }
    }

    /// Whether an answer stamped `self` may be served to a question asked
    /// at `now`: same data, and of this period or the one before.
    fn serves(self, now: Stamp) -> bool {
        self.generation == now.generation
            && self.period_ms == now.period_ms
            && (now.tick - 1..=now.tick).contains(&self.tick)
    }

    /// Whether, at `now_ms`, an answer of this stamp can no longer be served
    /// whatever the data: two periods or more behind the clock.
    fn expired(self, now_ms: i64) -> bool {
        self.tick < now_ms.div_euclid(self.period_ms) - 1
    }
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    answer: Arc<OnceCell<Bytes>>,
    /// The answer this one replaces, while it is being computed (dropped
    /// once this one is served).
    previous: Option<(Stamp, Bytes)>,
}

impl Entry {
    fn ready(&self) -> Option<(Stamp, Bytes)> {
        self.answer.get().map(|b| (self.stamp, b.clone()))
    }
}

/// Computes an answer's bytes afresh.
type Compute = Arc<dyn Fn() -> BoxFuture<'static, Result<Bytes, ApiError>> + Send + Sync>;

/// A question asked lately, recomputed ahead of its askers.
struct Hot {
    compute: Compute,
    /// The data its answer is computed from.
    reads: Data,
    period_ms: i64,
    asked_ms: i64,
}

impl std::fmt::Debug for Hot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hot")
            .field("reads", &self.reads)
            .field("period_ms", &self.period_ms)
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

/// What a question answered ahead reads and how long its answer lasts.
#[derive(Debug, Clone, Copy)]
pub struct Ahead {
    /// The data its answer is computed from.
    pub reads: Data,
    /// Their generation when asked.
    pub generation: u64,
    /// See [`period_ms`].
    pub period_ms: i64,
}

/// What a question finds in the cache.
enum Found {
    /// An answer to serve as it is.
    Ready(Bytes),
    /// The answer of this stamp, computed by whoever gets there first.
    Cell(Arc<OnceCell<Bytes>>),
}

impl ResponseCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answer of `key` for `stamp` (asked at `now_ms`), or, when
    /// `recent` and the question is being answered ahead, one it
    /// [serves](Stamp::serves).
    fn find(&self, key: &str, stamp: Stamp, now_ms: i64, recent: bool) -> Found {
        let mut entries = self.entries();
        if let Some(e) = entries.get_mut(key) {
            if e.stamp == stamp {
                if let Some(b) = e.answer.get() {
                    // The answer it replaced is no longer served.
                    e.previous = None;
                    return Found::Ready(b.clone());
                }
                if recent && let Some((_, b)) = e.previous.as_ref().filter(|p| p.0.serves(stamp)) {
                    return Found::Ready(b.clone());
                }
                return Found::Cell(e.answer.clone());
            }
            if recent
                && e.stamp.serves(stamp)
                && let Some(b) = e.answer.get()
            {
                return Found::Ready(b.clone());
            }
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| !e.stamp.expired(now_ms));
            // As many distinct questions that can still be served: start
            // afresh rather than grow (callers under way keep their own
            // handle).
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let answer = Arc::new(OnceCell::new());
        let previous = entries.get(key).and_then(Entry::ready);
        entries.insert(
            key.to_owned(),
            Entry {
                stamp,
                answer: answer.clone(),
                previous,
            },
        );
        Found::Cell(answer)
    }

    async fn answer<T, F, Fut>(found: Found, compute: F) -> Result<JsonBytes, ApiError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        match found {
            Found::Ready(bytes) => Ok(JsonBytes(bytes)),
            Found::Cell(cell) => {
                let bytes = cell
                    .get_or_try_init(|| async { serialise(&compute().await?) })
                    .await?;
                Ok(JsonBytes(bytes.clone()))
            }
        }
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
        let found = self.find(key, Stamp::of(generation, now_ms, SECOND_MS), now_ms, false);
        Self::answer(found, compute).await
    }

    /// As [`Self::get_or_compute`] for a question whose answer is computed
    /// from `reads` (`generation` is theirs) and stays its answer for
    /// `period_ms` of the clock, and the question is remembered: while it is
    /// asked, [`Self::refresh`] computes its answer for each new write and
    /// period before anyone asks, and until it has, the answer of the period
    /// before is served if its data has not changed since. So a dashboard's
    /// standard queries find their answers ready instead of waiting for a
    /// computation.
    pub async fn get_or_compute_ahead<T, F, Fut>(
        &self,
        key: &str,
        ahead: Ahead,
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
        self.remember(key, ahead, now_ms, || {
            let compute = compute.clone();
            Arc::new(move || {
                let answer = compute();
                Box::pin(async move { serialise(&answer.await?) })
            })
        });
        let stamp = Stamp::of(ahead.generation, now_ms, ahead.period_ms);
        let found = self.find(key, stamp, now_ms, true);
        Self::answer(found, compute).await
    }

    fn remember(&self, key: &str, ahead: Ahead, now_ms: i64, compute: impl FnOnce() -> Compute) {
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
                reads: ahead.reads,
                period_ms: ahead.period_ms,
                asked_ms: now_ms,
            },
        );
    }

    /// Computes the answer of every question asked within [`HOT_FOR_MS`]
    /// of `clock()` that no one has computed yet for the generation of its
    /// data (`generation_of`) and the current period, each once, the one
    /// whose answer is oldest first (the closest to no longer being served);
    /// forgets the others. Returns how many were computed. Run by
    /// [`spawn_refresher`] after each write and as each second starts.
    pub async fn refresh(
        &self,
        clock: impl Fn() -> i64,
        generation_of: impl Fn(Data) -> u64,
    ) -> usize {
        let started = clock();
        let hot: Vec<(String, Data, i64, Compute)> = {
            let mut hot = self
                .hot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            hot.retain(|_, h| started - h.asked_ms <= HOT_FOR_MS);
            hot.iter()
                .map(|(k, h)| (k.clone(), h.reads, h.period_ms, h.compute.clone()))
                .collect()
        };
        let mut due: Vec<(Option<i64>, String, Data, i64, Compute)> = {
            let entries = self.entries();
            hot.into_iter()
                .filter_map(|(key, reads, period_ms, compute)| {
                    let now = Stamp::of(generation_of(reads), started, period_ms);
                    let held = entries.get(&key).map(|e| e.stamp);
                    (held != Some(now)).then(|| {
                        let since = held.map(|h| h.tick * h.period_ms);
                        (since, key, reads, period_ms, compute)
                    })
                })
                .collect()
        };
        // No answer at all (None) first, then the oldest.
        due.sort_by_key(|d| d.0);
        let mut computed = 0;
        for (_, key, reads, period_ms, compute) in due {
            let now = clock();
            let stamp = Stamp::of(generation_of(reads), now, period_ms);
            let Found::Cell(cell) = self.find(&key, stamp, now, false) else {
                continue;
            };
            if cell.initialized() {
                continue;
            }
            if cell.get_or_try_init(|| compute()).await.is_ok() {
                computed += 1;
            }
        }
        computed
    }

    /// Whether the answer to `key` for `generation` and the period of
    /// `now_ms` is computed (and would be served without waiting).
    pub fn is_ready(&self, key: &str, generation: u64, now_ms: i64) -> bool {
        self.entries().get(key).is_some_and(|e| {
            e.stamp == Stamp::of(generation, now_ms, e.stamp.period_ms) && e.answer.initialized()
        })
    }

    /// Questions being recomputed ahead.
    pub fn hot_len(&self) -> usize {
        self.hot.lock().map_or(0, |h| h.len())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
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
                cache
                    .refresh(crate::now_ms, |reads| store.generation_of(reads))
                    .await;
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

    fn each_second(reads: Data, generation: u64) -> Ahead {
        Ahead {
            reads,
            generation,
            period_ms: SECOND_MS,
        }
    }

    /// A question answered ahead, counting its computations in `runs`; its
    /// answer is the count before this run.
    async fn ask_ahead(
        cache: &ResponseCache,
        key: &str,
        generation: u64,
        now_ms: i64,
        runs: &Arc<AtomicUsize>,
    ) -> Bytes {
        let runs = runs.clone();
        cache
            .get_or_compute_ahead(
                key,
                each_second(Data::REQUESTS, generation),
                now_ms,
                move || {
                    let runs = runs.clone();
                    async move { Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst)) }
                },
            )
            .await
            .expect("answer")
            .0
    }

    #[tokio::test]
    async fn asked_questions_are_answered_ahead_until_no_longer_asked() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ask = |generation, now_ms| ask_ahead(&cache, "/m", generation, now_ms, &runs);
        assert_eq!(&ask(1, 10_000).await[..], b"0");
        // A write: the refresher computes the new answer, and the next
        // request is served it without computing.
        assert_eq!(cache.refresh(|| 10_100, |_| 2).await, 1);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(&ask(2, 10_200).await[..], b"1");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // A pass with nothing new computes nothing.
        assert_eq!(cache.refresh(|| 10_300, |_| 2).await, 0);
        // A new second: computed ahead too.
        assert_eq!(cache.refresh(|| 11_000, |_| 2).await, 1);
        assert_eq!(&ask(2, 11_001).await[..], b"2");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // No longer asked: let go, never computed again.
        let later = 11_001 + HOT_FOR_MS + 1;
        assert_eq!(cache.refresh(|| later, |_| 3).await, 0);
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
    async fn the_refresher_stamps_each_question_with_the_generation_of_its_own_data() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        for key in ["/requests", "/probes"] {
            let (runs, reads) = (
                runs.clone(),
                if key == "/probes" {
                    Data::PROBES
                } else {
                    Data::REQUESTS
                },
            );
            cache
                .get_or_compute_ahead(key, each_second(reads, 1), 5_000, move || {
                    let runs = runs.clone();
                    async move { Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst)) }
                })
                .await
                .expect("answer");
        }
        // Probes written, requests not: only the probes' answer is new.
        let generation_of = |reads| if reads == Data::PROBES { 2 } else { 1 };
        assert_eq!(cache.refresh(|| 5_100, generation_of).await, 1);
        assert!(cache.is_ready("/probes", 2, 5_100));
        assert!(cache.is_ready("/requests", 1, 5_100));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_last_seconds_answer_is_served_until_the_next_is_computed_but_never_across_a_write()
    {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ask = |generation, now_ms| ask_ahead(&cache, "/m", generation, now_ms, &runs);
        assert_eq!(&ask(1, 10_000).await[..], b"0");
        // The next second, same data, nothing computed ahead yet: the
        // answer of the second before, at once.
        assert_eq!(&ask(1, 11_900).await[..], b"0");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Two seconds on: too old, computed for the asker.
        assert_eq!(&ask(1, 12_000).await[..], b"1");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // A write (generation 2): never served the answer from before it,
        // even within the same second.
        assert_eq!(&ask(2, 12_001).await[..], b"2");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn while_the_refresher_computes_the_next_answer_askers_get_the_last_one() {
        let cache = Arc::new(ResponseCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        let ask = |now_ms| {
            let (runs, gate) = (runs.clone(), gate.clone());
            let cache = cache.clone();
            async move {
                cache
                    .get_or_compute_ahead("/m", each_second(Data::REQUESTS, 1), now_ms, move || {
                        let (runs, gate) = (runs.clone(), gate.clone());
                        async move {
                            let _open = gate.acquire().await.expect("gate");
                            Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst))
                        }
                    })
                    .await
                    .expect("answer")
                    .0
            }
        };
        assert_eq!(&ask(10_000).await[..], b"0");
        // The refresher starts on second 11 and is held inside the
        // computation.
        let held = gate.clone().acquire_owned().await.expect("gate");
        let refresher = tokio::spawn({
            let cache = cache.clone();
            async move { cache.refresh(|| 11_000, |_| 1).await }
        });
        let started = || {
            cache
                .entries()
                .get("/m")
                .is_some_and(|e| e.stamp.tick == 11)
        };
        while !started() {
            tokio::task::yield_now().await;
        }
        // Asked meanwhile: the second before's answer, without waiting.
        assert_eq!(&ask(11_010).await[..], b"0");
        drop(held);
        assert_eq!(refresher.await.expect("refresher"), 1);
        assert_eq!(&ask(11_020).await[..], b"1");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // Once the new answer is served, the old one is not kept beside it.
        assert!(
            cache
                .entries()
                .get("/m")
                .is_some_and(|e| e.previous.is_none())
        );
    }

    #[tokio::test]
    async fn a_pass_computes_each_due_answer_once_the_oldest_first() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        // Asked in seconds 1, 2 and 3 (so "/a" holds the oldest answer).
        for (key, asked) in [("/a", 1_000), ("/b", 2_000), ("/c", 3_000)] {
            ask_ahead(&cache, key, 1, asked, &runs).await;
        }
        // In second 3 only "/a" and "/b" are due; the clock passes into
        // second 4 after the first computation, and the pass goes on, each
        // answer stamped with the second it was computed in.
        let clock = || {
            if runs.load(Ordering::SeqCst) > 3 {
                4_000
            } else {
                3_500
            }
        };
        assert_eq!(cache.refresh(clock, |_| 1).await, 2);
        assert!(cache.is_ready("/a", 1, 3_500), "the oldest first");
        assert!(cache.is_ready("/b", 1, 4_000));
        assert!(cache.is_ready("/c", 1, 3_000));
        assert_eq!(runs.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn an_answer_lasts_a_tenth_of_its_bucket_in_whole_seconds_up_to_a_minute() {
        // 5 minutes of 300 points: 1 s buckets; 24 h of 120: 12 minutes.
        assert_eq!(period_ms(1_000), 1_000);
        assert_eq!(period_ms(0), 1_000);
        assert_eq!(period_ms(12_000), 1_000);
        assert_eq!(period_ms(25_000), 2_000);
        assert_eq!(period_ms(720_000), 60_000);
        assert_eq!(period_ms(144_000), 14_000);
    }

    #[tokio::test]
    async fn a_coarse_answer_is_served_for_its_period_and_the_one_after() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ask = |generation, now_ms| {
            let runs = runs.clone();
            cache.get_or_compute_ahead(
                "/day",
                Ahead {
                    reads: Data::REQUESTS,
                    generation,
                    period_ms: 60_000,
                },
                now_ms,
                move || {
                    let runs = runs.clone();
                    async move { Ok::<_, ApiError>(runs.fetch_add(1, Ordering::SeqCst)) }
                },
            )
        };
        assert_eq!(&ask(1, 60_000).await.expect("answer").0[..], b"0");
        // The same minute and the next: the same answer, nothing computed.
        assert_eq!(&ask(1, 119_999).await.expect("answer").0[..], b"0");
        assert_eq!(&ask(1, 179_999).await.expect("answer").0[..], b"0");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // The refresher computes it once a minute.
        assert_eq!(cache.refresh(|| 150_000, |_| 1).await, 1);
        assert_eq!(cache.refresh(|| 170_000, |_| 1).await, 0);
        // Its data written: computed at once.
        assert_eq!(&ask(2, 170_001).await.expect("answer").0[..], b"2");
    }

    #[tokio::test]
    async fn the_questions_answered_ahead_are_bounded() {
        let cache = ResponseCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        for i in 0..MAX_HOT + 10 {
            ask_ahead(&cache, &format!("/k{i}"), 1, i as i64, &runs).await;
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
        // Two seconds later: the first ones are too old to be served.
        cache
            .get_or_compute("/new", 1, 2_000, || async { Ok::<_, ApiError>(0u8) })
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
