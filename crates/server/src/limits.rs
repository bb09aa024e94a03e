//! Bounds on the work one client can cause: rate limits on changes (per
//! token and per address), a cap on requests served at once, a time limit
//! per request, and a cap on open live streams. Past a bound the answer is
//! 429 or 503 with `Retry-After`, never a queue that grows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Most keys a limiter remembers; past it, the full ones are forgotten first.
const MAX_KEYS: usize = 10_000;

/// A token bucket per key: `per_minute` changes at once at most, refilled
/// at `per_minute` a minute.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Takes one change for `key` at `now`; refused with the wait until the
    /// next one is allowed.
    pub fn check(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), ApiError> {
        let capacity = f64::from(per_minute.max(1));
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Keys whose bucket refilled hold no information: drop them.
            buckets.retain(|_, b| {
                let refilled =
                    b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second;
                refilled < capacity
            });
            if buckets.len() >= MAX_KEYS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(ApiError::TooManyRequests {
                retry_after_s: wait.ceil().max(1.0) as u64,
            })
        }
    }
}

/// The cap on requests served at once and the time limit of each.
#[derive(Debug)]
pub struct Bounds {
    slots: Semaphore,
    limit: Duration,
}

impl Bounds {
    pub fn new(max_requests: u32, limit: Duration) -> Self {
        Bounds {
            slots: Semaphore::new(max_requests as usize),
            limit,
        }
    }
}

/// Refuses a request past the cap (503, `Retry-After: 1`), and answers 503
/// when the handler takes longer than the time limit.
pub async fn bounded(State(b): State<Arc<Bounds>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = b.slots.try_acquire() else {
        return ApiError::Busy {
            what: "too many requests in progress",
            retry_after_s: 1,
        }
        .into_response();
    };
    match tokio::time::timeout(b.limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Busy {
            what: "the request took too long",
            retry_after_s: 1,
        }
        .into_response(),
    }
}

/// The live streams open at once; a stream holds its slot until it ends.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    slots: Arc<Semaphore>,
}

impl StreamSlots {
    pub fn new(max: u32) -> Self {
        StreamSlots {
            slots: Arc::new(Semaphore::new(max as usize)),
        }
    }

    /// A slot, or 503 when every one is taken.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Busy {
                what: "too many live streams open",
                retry_after_s: 5,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(r: Result<(), ApiError>) -> Option<u64> {
        match r {
            Ok(()) => None,
            Err(ApiError::TooManyRequests { retry_after_s }) => Some(retry_after_s),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_burst_is_allowed_then_one_a_refill() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        // 6 a minute: six at once, then one every 10 s.
        for i in 0..6 {
            assert_eq!(retry(limiter.check("a", 6, t0)), None, "change {i}");
        }
        assert_eq!(retry(limiter.check("a", 6, t0)), Some(10));
        assert_eq!(retry(limiter.check("b", 6, t0)), None, "keys are apart");
        assert_eq!(
            retry(limiter.check("a", 6, t0 + Duration::from_secs(4))),
            Some(6),
            "refused changes do not count"
        );
        assert_eq!(
            retry(limiter.check("a", 6, t0 + Duration::from_secs(10))),
            None
        );
        assert_eq!(
            retry(limiter.check("a", 6, t0 + Duration::from_secs(10))),
            Some(10)
        );
        // A long pause refills the bucket, never beyond its size.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..6 {
            assert_eq!(retry(limiter.check("a", 6, later)), None);
        }
        assert!(retry(limiter.check("a", 6, later)).is_some());
    }

    #[test]
    fn the_number_of_keys_stays_bounded() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            let _ = limiter.check(&format!("k{i}"), 60, t0);
        }
        let held = limiter.buckets.lock().expect("lock").len();
        assert!(held <= MAX_KEYS, "{held}");
    }

    #[tokio::test]
    async fn stream_slots_come_back_when_a_stream_ends() {
        let slots = StreamSlots::new(2);
        let a = slots.take().expect("first");
        let _b = slots.take().expect("second");
        assert!(matches!(slots.take(), Err(ApiError::Busy { .. })));
        drop(a);
        assert!(slots.take().is_ok());
    }
}
