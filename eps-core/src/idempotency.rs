//! Idempotency keys: the same key and request give the same answer, never a second terminal request.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids::{ClientId, IdempotencyKey};

/// A remembered `Idempotency-Key` of one client.
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
}
