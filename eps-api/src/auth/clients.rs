//! Clients of the built-in issuer: registration with a fresh secret (shown once, stored as an
//! argon2 hash) and the sites granted, grants and revokes, and secret checks at the token
//! endpoint. `eps client add` and the test harness both call [`ClientRegistry::add`]. Every
//! change marks this node's [`ClientRoster`] stale, so it applies to tokens at once here (other
//! nodes and a running server changed by `eps client` see it within one roster refresh).

use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eps_core::client::{
    ClientRecord, ClientRoster, DEFAULT_REFRESH, GrantError, ScopeSet, SiteGrant,
};
use eps_core::clock::SharedClock;
use eps_core::ids::ClientId;
use eps_core::store::ClientStore;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OwnedSemaphorePermit;

/// Why a client could not be registered or authenticated.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The name is not a valid client id.
    #[error("client name {name:?} {reason} (1..=100 characters, no control characters)")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong.
        reason: eps_core::ids::IdError,
    },
    /// A client of this name exists.
    #[error("a client named {0} already exists")]
    Exists(ClientId),
    /// There is no client of this name.
    #[error("no client named {0}")]
    NoSuchClient(ClientId),
    /// A grant or revoke cannot be applied.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// No scopes were given.
    #[error("a client needs at least one scope (read, write, admin)")]
    NoScopes,
    /// The client id or secret is wrong (deliberately not saying which).
    #[error("unknown client or wrong secret")]
    BadCredentials,
    /// Hashing failed.
    #[error("hashing the client secret failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] eps_core::Error),
}

/// A client just registered, with its secret (the only time it is available).
#[derive(Debug)]
pub struct NewClient {
    /// The stored record (with the hash).
    pub record: ClientRecord,
    /// The secret to hand to the client's operator.
    pub secret: SecretString,
}

/// Registers, changes and authenticates clients.
#[derive(Clone)]
pub struct ClientRegistry {
    store: Arc<dyn ClientStore>,
    clock: SharedClock,
    roster: Arc<ClientRoster>,
}

/// A hash checked when the client does not exist, so both failures take as long.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash_secret("dummy").ok());

impl ClientRegistry {
    /// A registry over `store`, stamping records with `clock`, with a roster of its own.
    pub fn new(store: Arc<dyn ClientStore>, clock: SharedClock) -> Self {
        let roster = Arc::new(ClientRoster::new(store.clone(), DEFAULT_REFRESH));
        Self {
            store,
            clock,
            roster,
        }
    }

    /// The cached view of the clients that tokens are checked against.
    pub fn roster(&self) -> &Arc<ClientRoster> {
        &self.roster
    }

    /// Registers `name` with `scopes`, the sites it may reach, and a fresh secret.
    pub async fn add(
        &self,
        name: &str,
        scopes: ScopeSet,
        sites: SiteGrant,
    ) -> Result<NewClient, ClientError> {
        let client_id = client_id(name)?;
        if scopes.is_empty() {
            return Err(ClientError::NoScopes);
        }
        if self.store.client(&client_id).await?.is_some() {
            return Err(ClientError::Exists(client_id));
        }
        let secret = generate_secret();
        let to_hash = secret.expose_secret().to_owned();
        let secret_hash = tokio::task::spawn_blocking(move || hash_secret(&to_hash))
            .await
            .map_err(|e| ClientError::Hash(e.to_string()))??;
        let record = ClientRecord {
            client_id,
            name: name.to_owned(),
            secret_hash,
            scopes,
            sites,
            created_at: self.clock.now(),
        };
        self.store.upsert_client(&record).await?;
        self.roster.invalidate();
        Ok(NewClient { record, secret })
    }

    /// Grants `name` the sites of `added` too; returns the client as now stored.
    pub async fn grant(&self, name: &str, added: &SiteGrant) -> Result<ClientRecord, ClientError> {
        self.change_sites(name, |sites| Ok(sites.union(added)))
            .await
    }

    /// Takes the sites of `removed` from `name`, each of which it must be granted (a revoke
    /// naming a site not granted is refused, so a typo is not mistaken for a revoke); returns the
    /// client as now stored.
    pub async fn revoke(
        &self,
        name: &str,
        removed: &SiteGrant,
    ) -> Result<ClientRecord, ClientError> {
        self.change_sites(name, |sites| sites.without(removed))
            .await
    }

    async fn change_sites(
        &self,
        name: &str,
        change: impl FnOnce(&SiteGrant) -> Result<SiteGrant, GrantError>,
    ) -> Result<ClientRecord, ClientError> {
        let client_id = client_id(name)?;
        let mut record = self
            .store
            .client(&client_id)
            .await?
            .ok_or(ClientError::NoSuchClient(client_id))?;
        record.sites = change(&record.sites)?;
        self.store.upsert_client(&record).await?;
        self.roster.invalidate();
        Ok(record)
    }

    /// Computes the dummy hash unknown clients are checked against (on a blocking thread), so
    /// the first unknown client costs no more than the others.
    pub async fn warm_up(&self) {
        let _ = tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY_HASH).is_some()).await;
    }

    /// The client `client_id` if `secret` is its secret. The argon2 check runs on a blocking
    /// thread holding `permit` (one of the token endpoint's few hashing slots) until it ends,
    /// even if the caller stops waiting; an unknown client is checked against a dummy hash, so
    /// both failures cost the same.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &SecretString,
        permit: OwnedSemaphorePermit,
    ) -> Result<ClientRecord, ClientError> {
        let record = match ClientId::parse(client_id) {
            Ok(id) => self.store.client(&id).await?,
            Err(_) => None,
        };
        let hash = record.as_ref().map(|r| r.secret_hash.clone());
        let secret = secret.expose_secret().to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let hash = hash.or_else(|| DUMMY_HASH.clone());
            hash.is_some_and(|hash| verify_secret(&secret, &hash))
        })
        .await
        .map_err(|e| ClientError::Hash(e.to_string()))?;
        match record {
            Some(record) if matches => Ok(record),
            _ => Err(ClientError::BadCredentials),
        }
    }

    /// Every client.
    pub async fn list(&self) -> Result<Vec<ClientRecord>, ClientError> {
        Ok(self.store.clients().await?)
    }

    /// Removes a client; false when there was none. Its tokens stop working at once on this
    /// node, and within one roster refresh on others.
    pub async fn remove(&self, name: &str) -> Result<bool, ClientError> {
        let removed = self.store.delete_client(&client_id(name)?).await?;
        self.roster.invalidate();
        Ok(removed)
    }
}

fn client_id(name: &str) -> Result<ClientId, ClientError> {
    ClientId::parse(name).map_err(|reason| ClientError::BadName {
        name: name.to_owned(),
        reason,
    })
}

/// 32 random bytes, base64url without padding (43 characters).
fn generate_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// The argon2id PHC string of `secret`.
fn hash_secret(secret: &str) -> Result<String, ClientError> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ClientError::Hash(e.to_string()))
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let secret = generate_secret();
        assert_eq!(secret.expose_secret().len(), 43);
        let hash = hash_secret(secret.expose_secret()).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains(secret.expose_secret()));
        assert!(verify_secret(secret.expose_secret(), &hash));
        assert!(!verify_secret("wrong", &hash));
        assert!(!verify_secret(secret.expose_secret(), "not a hash"));
    }
}
