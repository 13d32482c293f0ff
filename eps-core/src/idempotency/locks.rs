//! In-process serialisation of requests that share an idempotency key.
//!
//! The store's unique key already guarantees one transaction per key; this lock makes concurrent
//! retries on one node wait for the first request and then get its answer, instead of racing it
//! for the terminal and being told it is busy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ids::{ClientId, IdempotencyKey};

type Key = (ClientId, IdempotencyKey);
type Locks = Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>;

/// A lock per idempotency key in use.
#[derive(Clone, Default)]
pub(crate) struct KeyLocks {
    locks: Locks,
}

/// Held while a request with an idempotency key runs its critical section; dropping it lets
/// the next request with that key in.
pub struct KeyGuard {
    locks: Locks,
    key: Key,
    lock: Option<Arc<tokio::sync::Mutex<()>>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyLocks {
    /// Waits until no other request with this key is in its critical section.
    pub(crate) async fn lock(&self, client: &ClientId, key: &IdempotencyKey) -> KeyGuard {
        let key = (client.clone(), key.clone());
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let guard = lock.clone().lock_owned().await;
        KeyGuard {
            locks: self.locks.clone(),
            key,
            lock: Some(lock),
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = self.lock.take() {
            // Map + this handle: nobody else holds or awaits it, so it can go.
            if Arc::strong_count(&lock) == 2 {
                locks.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_key_waits_and_entries_are_freed() {
        let locks = KeyLocks::default();
        let client = ClientId::parse("c").unwrap();
        let key = IdempotencyKey::parse("k").unwrap();
        let first = locks.lock(&client, &key).await;
        let second = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            locks.lock(&client, &key),
        )
        .await;
        assert!(second.is_err(), "second holder must wait");
        drop(first);
        drop(locks.lock(&client, &key).await);
        assert!(locks.locks.lock().unwrap().is_empty());
    }
}
