//! The token endpoint's guards, so a flood of token requests cannot starve payments of CPU and
//! cannot guess secrets quickly:
//!
//! - failure buckets per presented `client_id` and per source address: each attempt takes one
//!   token from both, a right secret gives it back, so only failures use them up; an empty bucket
//!   turns requests away before any hashing. Buckets refill at a steady rate; unknown client ids
//!   count like known ones; memory is bounded (full buckets are forgotten first, then the
//!   fullest).
//! - a few hashing slots: argon2 runs on a blocking thread holding one; a request that cannot get
//!   one within a short wait is turned away.
//!
//! Time is an argument (the server's clock), so tests refill buckets by moving their clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The longest `client_id` prefix a bucket is keyed by (ids are at most 100 characters).
const CLIENT_KEY_BYTES: usize = 128;

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimit {
    /// Attempts allowed in a burst.
    pub burst: u32,
    /// Attempts regained per minute.
    pub per_minute: u32,
}

/// The token endpoint's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLimits {
    /// Secret checks (argon2) running at once.
    pub hashing_slots: usize,
    /// How long a request may wait for a hashing slot.
    pub slot_wait: std::time::Duration,
    /// Failed attempts per `client_id`.
    pub per_client: BucketLimit,
    /// Failed attempts per source address.
    pub per_address: BucketLimit,
    /// Buckets kept per kind (client ids, addresses).
    pub tracked: usize,
}

/// Why a token request was turned away before its secret was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failed attempts for this `client_id`.
    ClientFailures {
        /// Seconds until one more attempt is allowed.
        retry_after: u64,
    },
    /// Too many failed attempts from this address.
    AddressFailures {
        /// Seconds until one more attempt is allowed.
        retry_after: u64,
    },
    /// Every hashing slot stayed taken for the whole wait.
    Busy,
}

impl Throttled {
    /// Seconds the client should wait (`Retry-After`).
    pub fn retry_after(self) -> u64 {
        match self {
            Self::ClientFailures { retry_after } | Self::AddressFailures { retry_after } => {
                retry_after
            }
            Self::Busy => 1,
        }
    }

    /// What to tell the client (`error_description`).
    pub fn description(self) -> String {
        let secs = self.retry_after();
        match self {
            Self::ClientFailures { .. } => {
                format!("too many failed attempts for this client_id; retry in {secs} s")
            }
            Self::AddressFailures { .. } => {
                format!("too many failed attempts from this address; retry in {secs} s")
            }
            Self::Busy => format!("too many token requests at once; retry in {secs} s"),
        }
    }
}

/// An admitted attempt: one token taken from its client's and its address's bucket.
#[derive(Debug)]
#[must_use = "give the attempt back when the secret was right or never checked"]
pub struct Attempt {
    client: String,
    address: Option<IpAddr>,
}

/// The guards of one server.
#[derive(Debug)]
pub struct TokenThrottle {
    limits: TokenLimits,
    slots: Arc<Semaphore>,
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    clients: Tracked<String>,
    addresses: Tracked<IpAddr>,
}

/// Buckets of one kind, at most `cap` of them.
#[derive(Debug)]
struct Tracked<K> {
    limit: BucketLimit,
    cap: usize,
    map: HashMap<K, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl TokenThrottle {
    /// Guards with `limits`.
    pub fn new(limits: TokenLimits) -> Self {
        let buckets = Buckets {
            clients: Tracked::new(limits.per_client, limits.tracked),
            addresses: Tracked::new(limits.per_address, limits.tracked),
        };
        Self {
            slots: Arc::new(Semaphore::new(limits.hashing_slots)),
            buckets: Mutex::new(buckets),
            limits,
        }
    }

    /// Admits an attempt for `client_id` from `address` at `now`, or says when to retry.
    pub fn attempt(
        &self,
        client_id: &str,
        address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<Attempt, Throttled> {
        let client = client_key(client_id);
        let mut buckets = self.lock();
        if let Some(address) = address
            && let Some(retry_after) = buckets.addresses.wait(&address, now)
        {
            return Err(Throttled::AddressFailures { retry_after });
        }
        if let Some(retry_after) = buckets.clients.wait(&client, now) {
            return Err(Throttled::ClientFailures { retry_after });
        }
        if let Some(address) = address {
            buckets.addresses.take(address, now);
        }
        buckets.clients.take(client.clone(), now);
        Ok(Attempt { client, address })
    }

    /// Gives `attempt`'s tokens back: its secret was right, or it was never checked.
    pub fn give_back(&self, attempt: Attempt, now: OffsetDateTime) {
        let mut buckets = self.lock();
        buckets.clients.give_back(&attempt.client, now);
        if let Some(address) = attempt.address {
            buckets.addresses.give_back(&address, now);
        }
    }

    /// A hashing slot, if one frees up within the configured wait.
    pub async fn hashing_slot(&self) -> Result<OwnedSemaphorePermit, Throttled> {
        let acquire = self.slots.clone().acquire_owned();
        match tokio::time::timeout(self.limits.slot_wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out (or closed, which this code never does).
            _ => Err(Throttled::Busy),
        }
    }

    /// How many client and address buckets are kept.
    pub fn tracked(&self) -> (usize, usize) {
        let buckets = self.lock();
        (buckets.clients.map.len(), buckets.addresses.map.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Eq + Hash + Clone> Tracked<K> {
    fn new(limit: BucketLimit, cap: usize) -> Self {
        Self {
            limit,
            cap: cap.max(1),
            map: HashMap::new(),
        }
    }

    /// Seconds until `key` may attempt again, or `None` when it may now.
    fn wait(&self, key: &K, now: OffsetDateTime) -> Option<u64> {
        let tokens = self.map.get(key)?.level(self.limit, now);
        (tokens < 1.0).then(|| {
            let per_second = f64::from(self.limit.per_minute) / 60.0;
            // Whole seconds, at least one (the float is small and positive).
            let secs = ((1.0 - tokens) / per_second).ceil() as u64;
            secs.max(1)
        })
    }

    /// Takes one token from `key`'s bucket (a new bucket starts full).
    fn take(&mut self, key: K, now: OffsetDateTime) {
        let limit = self.limit;
        if !self.map.contains_key(&key) {
            self.make_room(now);
        }
        let bucket = self.map.entry(key).or_insert(Bucket {
            tokens: f64::from(limit.burst),
            at: now,
        });
        bucket.tokens = bucket.level(limit, now) - 1.0;
        bucket.at = now;
    }

    fn give_back(&mut self, key: &K, now: OffsetDateTime) {
        let limit = self.limit;
        if let Some(bucket) = self.map.get_mut(key) {
            bucket.tokens = (bucket.level(limit, now) + 1.0).min(f64::from(limit.burst));
            bucket.at = now;
        }
    }

    /// Frees a place when the map is at its cap: full buckets (no failures to remember) first,
    /// else the fullest one.
    fn make_room(&mut self, now: OffsetDateTime) {
        if self.map.len() < self.cap {
            return;
        }
        let (limit, burst) = (self.limit, f64::from(self.limit.burst));
        self.map
            .retain(|_, bucket| bucket.level(limit, now) < burst);
        if self.map.len() < self.cap {
            return;
        }
        let fullest = self
            .map
            .iter()
            .max_by(|a, b| a.1.level(limit, now).total_cmp(&b.1.level(limit, now)))
            .map(|(key, _)| key.clone());
        if let Some(key) = fullest {
            self.map.remove(&key);
        }
    }
}

impl Bucket {
    /// The tokens at `now`, refilled since the last change.
    fn level(&self, limit: BucketLimit, now: OffsetDateTime) -> f64 {
        let elapsed = (now - self.at).as_seconds_f64().max(0.0);
        let refill = elapsed * f64::from(limit.per_minute) / 60.0;
        (self.tokens + refill).min(f64::from(limit.burst))
    }
}

/// The bucket key of a presented `client_id`: at most [`CLIENT_KEY_BYTES`] of it.
fn client_key(client_id: &str) -> String {
    let mut end = client_id.len().min(CLIENT_KEY_BYTES);
    while !client_id.is_char_boundary(end) {
        end -= 1;
    }
    client_id[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

    fn limits() -> TokenLimits {
        TokenLimits {
            hashing_slots: 2,
            slot_wait: StdDuration::from_millis(20),
            per_client: BucketLimit {
                burst: 3,
                per_minute: 6,
            },
            per_address: BucketLimit {
                burst: 5,
                per_minute: 60,
            },
            tracked: 4,
        }
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn failures_empty_the_client_bucket_and_time_refills_it() {
        let throttle = TokenThrottle::new(limits());
        for _ in 0..3 {
            let _failed = throttle.attempt("pos-1", ip(1), T0).unwrap();
        }
        let refused = throttle.attempt("pos-1", ip(2), T0).unwrap_err();
        // 6 per minute: one attempt back every 10 s.
        assert_eq!(refused, Throttled::ClientFailures { retry_after: 10 });
        assert!(refused.description().contains("client_id"));
        // Another client from the same address is not affected by pos-1's bucket.
        let other = throttle.attempt("pos-2", ip(1), T0).unwrap();
        throttle.give_back(other, T0);
        assert!(
            throttle
                .attempt("pos-1", ip(1), T0 + Duration::seconds(9))
                .is_err()
        );
        let _later = throttle
            .attempt("pos-1", ip(1), T0 + Duration::seconds(10))
            .unwrap();
    }

    #[test]
    fn successes_give_their_attempt_back() {
        let throttle = TokenThrottle::new(limits());
        for _ in 0..20 {
            let attempt = throttle.attempt("pos-1", ip(1), T0).unwrap();
            throttle.give_back(attempt, T0);
        }
        let _still_allowed = throttle.attempt("pos-1", ip(1), T0).unwrap();
    }

    #[test]
    fn an_address_failing_for_many_client_ids_is_stopped() {
        let throttle = TokenThrottle::new(limits());
        for n in 0..5 {
            let _failed = throttle.attempt(&format!("guess-{n}"), ip(9), T0).unwrap();
        }
        let refused = throttle.attempt("guess-5", ip(9), T0).unwrap_err();
        assert_eq!(refused, Throttled::AddressFailures { retry_after: 1 });
        // The refused attempt took nothing from the client's bucket.
        for _ in 0..3 {
            let _failed = throttle.attempt("guess-5", ip(10), T0).unwrap();
        }
    }

    #[test]
    fn memory_stays_bounded_and_forgets_the_least_suspicious_first() {
        let throttle = TokenThrottle::new(limits());
        // pos-1 fails three times: an empty bucket, the most suspicious.
        for _ in 0..3 {
            let _failed = throttle.attempt("pos-1", None, T0).unwrap();
        }
        for n in 0..100 {
            let _failed = throttle.attempt(&format!("spray-{n}"), ip(n), T0).unwrap();
        }
        assert_eq!(throttle.tracked(), (4, 4));
        assert!(
            throttle.attempt("pos-1", None, T0).is_err(),
            "the empty bucket was kept while fuller ones were dropped"
        );
        assert_eq!(client_key(&"é".repeat(100)).len(), 128);
    }

    #[tokio::test]
    async fn hashing_slots_are_few_and_a_long_wait_is_refused() {
        let throttle = TokenThrottle::new(limits());
        let first = throttle.hashing_slot().await.unwrap();
        let _second = throttle.hashing_slot().await.unwrap();
        assert_eq!(throttle.hashing_slot().await.unwrap_err(), Throttled::Busy);
        drop(first);
        let _freed = throttle.hashing_slot().await.unwrap();
    }
}
