//! The roster: a cached view of the client table that every verified token of the built-in
//! issuer is checked against, so that a removed client, or a revoked site, stops working within
//! one refresh period rather than at the token's expiry.
//!
//! The view is reloaded (one read of the whole table, shared by concurrent callers) when it is
//! older than the refresh period, when this node changed a client ([`ClientRoster::invalidate`]),
//! or when a token is newer than the view (its client may have been added or granted since, by
//! another node or `eps client`). Otherwise a check reads memory only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use time::{Duration, OffsetDateTime};

use crate::client::{ClientRecord, ScopeSet, SiteGrant};
use crate::error::Result;
use crate::ids::ClientId;
use crate::store::ClientStore;

/// How long a loaded view is trusted by default.
pub const DEFAULT_REFRESH: Duration = Duration::seconds(30);

/// What the client table says about one client now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStanding {
    /// The scopes it may hold.
    pub scopes: ScopeSet,
    /// The sites it may reach.
    pub sites: SiteGrant,
    /// When this registration was made (a token older than that was issued to a removed
    /// client of the same name).
    pub registered_at: OffsetDateTime,
}

/// The cached client table.
pub struct ClientRoster {
    store: Arc<dyn ClientStore>,
    refresh: Duration,
    view: RwLock<Arc<View>>,
    /// Bumped by every local change; a view loaded before the last bump is stale.
    generation: AtomicU64,
    /// One reload at a time; the others wait for it and use its result.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ClientRoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRoster")
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

/// One loaded copy of the table.
#[derive(Debug, Default)]
struct View {
    loaded_at: Option<OffsetDateTime>,
    generation: u64,
    clients: HashMap<ClientId, ClientStanding>,
}

impl ClientRoster {
    /// A roster over `store`, trusting a loaded view for `refresh`; nothing is loaded yet.
    pub fn new(store: Arc<dyn ClientStore>, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            view: RwLock::new(Arc::new(View::default())),
            generation: AtomicU64::new(0),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// How long a loaded view is trusted.
    pub fn refresh(&self) -> Duration {
        self.refresh
    }

    /// Marks the view stale: this node just changed a client.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The standing of `client` for a token issued at `issued_at`, as of `now`; `None` when the
    /// client does not exist (removed, or never registered).
    pub async fn standing(
        &self,
        client: &ClientId,
        issued_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<ClientStanding>> {
        let view = self.current(issued_at, now).await?;
        Ok(view.clients.get(client).cloned())
    }

    /// Loads the table now; returns every client.
    pub async fn reload(&self, now: OffsetDateTime) -> Result<Vec<ClientRecord>> {
        let _one = self.reloading.lock().await;
        Ok(self.load(now).await?.1)
    }

    /// A view fresh enough for a token issued at `issued_at`, loading one if needed.
    async fn current(&self, issued_at: OffsetDateTime, now: OffsetDateTime) -> Result<Arc<View>> {
        let view = self.snapshot();
        if self.is_fresh(&view, issued_at, now) {
            return Ok(view);
        }
        let _one = self.reloading.lock().await;
        // Another caller may have reloaded while this one waited.
        let view = self.snapshot();
        if self.is_fresh(&view, issued_at, now) {
            return Ok(view);
        }
        Ok(self.load(now).await?.0)
    }

    /// Reads the table; the caller holds `reloading`.
    async fn load(&self, now: OffsetDateTime) -> Result<(Arc<View>, Vec<ClientRecord>)> {
        // Read the generation first: a change made during the read marks this view stale.
        let generation = self.generation.load(Ordering::Acquire);
        let records = self.store.clients().await?;
        let clients = records
            .iter()
            .map(|r| {
                let standing = ClientStanding {
                    scopes: r.scopes.clone(),
                    sites: r.sites.clone(),
                    registered_at: r.created_at,
                };
                (r.client_id.clone(), standing)
            })
            .collect();
        let view = Arc::new(View {
            loaded_at: Some(now),
            generation,
            clients,
        });
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = view.clone();
        Ok((view, records))
    }

    fn snapshot(&self) -> Arc<View> {
        self.view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loaded within the refresh period, after the last local change, and after the second the
    /// token was issued in (`iat` has whole seconds).
    fn is_fresh(&self, view: &View, issued_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        let Some(loaded_at) = view.loaded_at else {
            return false;
        };
        view.generation == self.generation.load(Ordering::Acquire)
            && now < loaded_at + self.refresh
            && loaded_at >= issued_at + Duration::SECOND
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use async_trait::async_trait;
    use time::macros::datetime;

    use super::*;
    use crate::client::Scope;

    /// A client table in memory that counts its reads.
    #[derive(Default)]
    struct Table {
        clients: Mutex<Vec<ClientRecord>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl ClientStore for Table {
        async fn upsert_client(&self, client: &ClientRecord) -> Result<()> {
            let mut clients = self.clients.lock().unwrap();
            clients.retain(|c| c.client_id != client.client_id);
            clients.push(client.clone());
            Ok(())
        }
        async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>> {
            let clients = self.clients.lock().unwrap();
            Ok(clients.iter().find(|c| &c.client_id == id).cloned())
        }
        async fn clients(&self) -> Result<Vec<ClientRecord>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.clients.lock().unwrap().clone())
        }
        async fn delete_client(&self, id: &ClientId) -> Result<bool> {
            let mut clients = self.clients.lock().unwrap();
            let before = clients.len();
            clients.retain(|c| &c.client_id != id);
            Ok(clients.len() < before)
        }
    }

    const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

    fn record(id: &str, sites: &str) -> ClientRecord {
        ClientRecord {
            client_id: ClientId::parse(id).unwrap(),
            name: id.to_owned(),
            secret_hash: String::new(),
            scopes: ScopeSet::new([Scope::Read]),
            sites: SiteGrant::parse_list(sites).unwrap(),
            created_at: T0,
        }
    }

    #[tokio::test]
    async fn a_fresh_view_answers_from_memory_and_a_stale_one_is_reloaded() {
        let table = Arc::new(Table::default());
        table.upsert_client(&record("pos-1", "1")).await.unwrap();
        let roster = ClientRoster::new(table.clone(), DEFAULT_REFRESH);
        let pos = ClientId::parse("pos-1").unwrap();
        let now = T0 + Duration::seconds(5);
        let standing = roster.standing(&pos, T0, now).await.unwrap().unwrap();
        assert_eq!(standing.sites, SiteGrant::parse_list("1").unwrap());
        for _ in 0..10 {
            roster.standing(&pos, T0, now).await.unwrap();
        }
        assert_eq!(
            table.reads.load(Ordering::SeqCst),
            1,
            "one read for many checks"
        );

        // Removed elsewhere: seen once the view is older than the refresh period, not before.
        table.delete_client(&pos).await.unwrap();
        let later = now + DEFAULT_REFRESH - Duration::SECOND;
        assert!(roster.standing(&pos, T0, later).await.unwrap().is_some());
        let past = now + DEFAULT_REFRESH;
        assert!(roster.standing(&pos, T0, past).await.unwrap().is_none());
        assert_eq!(table.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn local_changes_and_newer_tokens_reload_at_once() {
        let table = Arc::new(Table::default());
        let roster = ClientRoster::new(table.clone(), DEFAULT_REFRESH);
        let pos = ClientId::parse("pos-1").unwrap();
        let now = T0 + Duration::seconds(5);
        assert!(roster.standing(&pos, T0, now).await.unwrap().is_none());

        // Added by another process, then a token issued for it: the token is newer than the view.
        table.upsert_client(&record("pos-1", "1")).await.unwrap();
        let issued = now + Duration::seconds(1);
        let checked = issued + Duration::seconds(1);
        assert!(
            roster
                .standing(&pos, issued, checked)
                .await
                .unwrap()
                .is_some()
        );

        // Revoked on this node: the next check sees it.
        table.upsert_client(&record("pos-1", "")).await.unwrap();
        roster.invalidate();
        let standing = roster.standing(&pos, T0, checked).await.unwrap().unwrap();
        assert!(standing.sites.is_none());
        assert_eq!(table.reads.load(Ordering::SeqCst), 3);
    }
}
