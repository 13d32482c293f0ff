//! Verified tokens remembered by the SHA-256 of their text (never the text itself), so a token's
//! signature is checked once, not on every request. Bounded: past the capacity the expired
//! entries go first, then the least recently used. An entry is used only while the token's own
//! `exp` holds and only under the key set it was verified with (a JWKS change forgets it); the
//! client roster is not cached here and is checked on every request by the verifier.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

use crate::auth::verify::Principal;

/// How many tokens are remembered by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The SHA-256 of a token's text: what the cache is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

/// A token's validity window in Unix seconds, as its claims state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// `exp`.
    pub expires: i64,
    /// `nbf`, when present.
    pub not_before: Option<i64>,
}

/// What a full verification found: the principal (before the roster narrows it) and the window.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who the token names.
    pub principal: Principal,
    /// When it holds.
    pub lifetime: Lifetime,
}

/// Verified tokens, bounded.
#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every use: the order of last use.
    tick: u64,
    entries: HashMap<TokenHash, Entry>,
}

#[derive(Debug)]
struct Entry {
    verified: Verified,
    /// The key set's generation the signature was checked under.
    keys: u64,
    used: u64,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (0: nothing is remembered).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The token verified under key generation `keys`, if remembered; an entry of another
    /// generation is forgotten.
    pub fn find(&self, hash: &TokenHash, keys: u64) -> Option<Verified> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        match inner.entries.get_mut(hash) {
            Some(entry) if entry.keys == keys => {
                entry.used = tick;
                Some(entry.verified.clone())
            }
            Some(_) => {
                inner.entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Remembers a token verified under key generation `keys`; `now_unix` decides which entries
    /// have expired when room is needed.
    pub fn insert(&self, hash: TokenHash, verified: Verified, keys: u64, now_unix: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&hash) {
            inner
                .entries
                .retain(|_, e| e.verified.lifetime.expires >= now_unix);
            if inner.entries.len() >= self.capacity {
                let oldest = inner
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.used)
                    .map(|(h, _)| *h);
                if let Some(oldest) = oldest {
                    inner.entries.remove(&oldest);
                }
            }
        }
        inner.tick += 1;
        let used = inner.tick;
        inner.entries.insert(
            hash,
            Entry {
                verified,
                keys,
                used,
            },
        );
    }

    /// Forgets `hash` (its token was refused).
    pub fn forget(&self, hash: &TokenHash) {
        self.lock().entries.remove(hash);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
