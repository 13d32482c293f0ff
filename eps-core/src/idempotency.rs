//! Idempotency: the same key and request give the same answer, never a second terminal request.
//!
//! A key comes from the `Idempotency-Key` header or from a card request's `posTransactionID`
//! (the POS's own transaction reference); either way it is one key space per client. Requests
//! that create a transaction or a reconciliation tie their key to that resource in the create's
//! own commit ([`Idempotency::record_for`]); requests that create nothing record their first
//! answer ([`Idempotency::begin_answer`], [`Idempotency::record_answer`]). [`Idempotency`] is the
//! one place that reads and writes the keys.
//!
//! # Layout
//! - this file: keys, fingerprints, resources, the [`Idempotency`] service;
//! - `locks`: in-process serialisation of requests that share a key.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::clock::{SharedClock, to_millis_precision};
use crate::error::{Error, Result};
use crate::ids::{ClientId, IdempotencyKey, ReconciliationId, TransactionId};
use crate::store::Store;

mod locks;

pub use locks::KeyGuard;
use locks::KeyLocks;

/// A remembered idempotency key of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The client that sent it.
    pub client_id: ClientId,
    /// The key.
    pub key: IdempotencyKey,
    /// A digest of the request it was first used with (see [`fingerprint`]).
    pub fingerprint: String,
    /// The resource the first request created (e.g. `transaction:<id>`), when it creates one.
    pub resource: Option<String>,
    /// The first answer, as the API layer chose to record it (opaque here), once known.
    pub outcome: Option<String>,
    /// When it was first used.
    pub created_at: OffsetDateTime,
    /// When it may be forgotten.
    pub expires_at: OffsetDateTime,
}

/// Where a request's idempotency key came from, to name it when it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeySource {
    /// The `Idempotency-Key` header.
    Header,
    /// The body's `posTransactionID`, the POS's own transaction reference.
    PosTransactionId,
}

impl KeySource {
    /// The name a site system knows it by.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "Idempotency-Key",
            Self::PosTransactionId => "posTransactionID",
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An idempotency key with the fingerprint of the request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRequest {
    /// The key.
    pub key: IdempotencyKey,
    /// The request's fingerprint ([`fingerprint`]).
    pub fingerprint: String,
    /// Where the key came from.
    pub source: KeySource,
}

impl IdempotencyRequest {
    /// The same key for a request whose body must not be fingerprinted, because it holds a
    /// secret (a PIN answer): a digest of a short secret is the secret, to anyone who tries
    /// every value. Such a request is told apart from others by its method and path only.
    pub fn without_body(&self, method: &str, path: &str) -> Self {
        Self {
            fingerprint: fingerprint(method, path, b"(secret body: not fingerprinted)"),
            ..self.clone()
        }
    }
}

/// What a key's first request created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotentResource {
    /// A card transaction.
    Transaction(TransactionId),
    /// A reconciliation.
    Reconciliation(ReconciliationId),
}

impl IdempotentResource {
    /// The stored form (`transaction:<id>`, `reconciliation:<id>`).
    pub fn stored(&self) -> String {
        match self {
            Self::Transaction(id) => format!("transaction:{id}"),
            Self::Reconciliation(id) => format!("reconciliation:{id}"),
        }
    }

    /// Reads the stored form.
    pub fn parse(stored: &str) -> Option<Self> {
        let (kind, id) = stored.split_once(':')?;
        match kind {
            "transaction" => TransactionId::parse(id).ok().map(Self::Transaction),
            "reconciliation" => ReconciliationId::parse(id).ok().map(Self::Reconciliation),
            _ => None,
        }
    }
}

/// A digest of a request's method, path and body, to tell a retry from a different request.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a request that creates nothing stands with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerClaim {
    /// First use (or the first use left no answer): run the request, then record its answer.
    Run,
    /// Answered before: this is the recorded answer.
    Recorded(String),
}

/// The one reader and writer of idempotency keys.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    clock: SharedClock,
    ttl: Duration,
    locks: KeyLocks,
}

impl Idempotency {
    /// Keys of `store`, kept `ttl` after first use.
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            ttl,
            locks: KeyLocks::default(),
        }
    }

    /// Waits until no other request of `client` with `key` is in its critical section on this
    /// node, and holds the key until the guard is dropped.
    pub async fn lock(&self, client: &ClientId, key: &IdempotencyKey) -> KeyGuard {
        self.locks.lock(client, key).await
    }

    /// [`Idempotency::lock`] for a request that may carry no key.
    pub(crate) async fn lock_request(
        &self,
        client: &ClientId,
        request: Option<&IdempotencyRequest>,
    ) -> Option<KeyGuard> {
        match request {
            Some(request) => Some(self.lock(client, &request.key).await),
            None => None,
        }
    }

    /// What the key of `request` already created, unless it has not been used or has expired
    /// (an expired key is forgotten now, with every other expired one). The same key with
    /// another request is refused.
    pub(crate) async fn created_before(
        &self,
        client: &ClientId,
        request: &IdempotencyRequest,
    ) -> Result<Option<IdempotentResource>> {
        match self.live(client, &request.key).await? {
            Some(existing) => Self::resource_of(&existing, request).map(Some),
            None => Ok(None),
        }
    }

    /// The resource a stored key created, for a retry carrying `request`.
    pub(crate) fn resource_of(
        existing: &IdempotencyRecord,
        request: &IdempotencyRequest,
    ) -> Result<IdempotentResource> {
        let mismatch = Error::IdempotencyMismatch {
            key: request.source,
        };
        if existing.fingerprint != request.fingerprint {
            return Err(mismatch);
        }
        existing
            .resource
            .as_deref()
            .and_then(IdempotentResource::parse)
            .ok_or(mismatch)
    }

    /// The record that ties `request`'s key to the resource it creates, written in the create's
    /// commit; `None` for a request without a key.
    pub(crate) fn record_for(
        &self,
        client: &ClientId,
        request: Option<&IdempotencyRequest>,
        resource: IdempotentResource,
        now: OffsetDateTime,
    ) -> Option<IdempotencyRecord> {
        request.map(|request| IdempotencyRecord {
            client_id: client.clone(),
            key: request.key.clone(),
            fingerprint: request.fingerprint.clone(),
            resource: Some(resource.stored()),
            outcome: None,
            created_at: now,
            expires_at: now + self.ttl,
        })
    }

    /// Claims `request`'s key for a request that creates nothing: run it, or answer as
    /// recorded. The same key with another request is refused. Hold [`Idempotency::lock`]
    /// from here until the answer is recorded.
    pub async fn begin_answer(
        &self,
        client: &ClientId,
        request: &IdempotencyRequest,
    ) -> Result<AnswerClaim> {
        let now = self.now();
        let record = IdempotencyRecord {
            client_id: client.clone(),
            key: request.key.clone(),
            fingerprint: request.fingerprint.clone(),
            resource: None,
            outcome: None,
            created_at: now,
            expires_at: now + self.ttl,
        };
        let mut existing = self.store.insert_idempotency(&record).await?;
        if existing.as_ref().is_some_and(|e| e.expires_at <= now) {
            // Kept past its time: forget it (and every other expired key); the request is new.
            self.store.purge_idempotency(now).await?;
            existing = self.store.insert_idempotency(&record).await?;
        }
        let Some(existing) = existing else {
            return Ok(AnswerClaim::Run);
        };
        if existing.fingerprint != request.fingerprint {
            return Err(Error::IdempotencyMismatch {
                key: request.source,
            });
        }
        // No answer yet: the first attempt failed on the server's side, or the EPS stopped.
        Ok(existing
            .outcome
            .map_or(AnswerClaim::Run, AnswerClaim::Recorded))
    }

    /// Records the answer of a request claimed with [`Idempotency::begin_answer`].
    pub async fn record_answer(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
        answer: &str,
    ) -> Result<()> {
        self.store.complete_idempotency(client, key, answer).await
    }

    /// Forgets keys past their expiry; returns how many.
    pub async fn purge_expired(&self) -> Result<u64> {
        self.store.purge_idempotency(self.now()).await
    }

    /// The stored record of a key, unless it has expired (then it is forgotten now).
    async fn live(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>> {
        let Some(existing) = self.store.idempotency(client, key).await? else {
            return Ok(None);
        };
        let now = self.now();
        if existing.expires_at > now {
            return Ok(Some(existing));
        }
        self.store.purge_idempotency(now).await?;
        Ok(None)
    }

    fn now(&self) -> OffsetDateTime {
        to_millis_precision(self.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_by_each_part() {
        let a = fingerprint("POST", "/payments", b"{}");
        assert_eq!(a, fingerprint("POST", "/payments", b"{}"));
        assert_ne!(a, fingerprint("POST", "/refunds", b"{}"));
        assert_ne!(a, fingerprint("POST", "/payments", b"{ }"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_secret_body_is_not_fingerprinted() {
        let request = |body: &[u8]| IdempotencyRequest {
            key: IdempotencyKey::parse("k").unwrap(),
            fingerprint: fingerprint("POST", "/prompts/p/response", body),
            source: KeySource::Header,
        };
        let one = request(br#"{"text":"917346"}"#).without_body("POST", "/prompts/p/response");
        let two = request(br#"{"text":"123456"}"#).without_body("POST", "/prompts/p/response");
        assert_eq!(one, two);
        assert_ne!(
            one.fingerprint,
            fingerprint("POST", "/prompts/p/response", br#"{"text":"917346"}"#)
        );
    }

    #[test]
    fn resources_round_trip() {
        let t = IdempotentResource::Transaction(TransactionId::generate());
        let r = IdempotentResource::Reconciliation(ReconciliationId::generate());
        for resource in [t, r] {
            assert_eq!(
                IdempotentResource::parse(&resource.stored()),
                Some(resource)
            );
        }
        assert_eq!(IdempotentResource::parse("transaction:nope"), None);
        assert_eq!(IdempotentResource::parse("other:x"), None);
    }
}
