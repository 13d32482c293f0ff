//! The roster: a cached view of the client table that every verified token of the built-in
//! issuer is checked against, so that a removed client, or a revoked site, stops working within
//! one refresh period rather than at the token's expiry.
//!
//! The whole table is read again (one query, shared by concurrent callers) when the view is older
//! than the refresh period or this node changed a client ([`ClientRoster::invalidate`]). A token
//! newer than what the view knows of its client (the client may have been added or granted since,
//! by another node or `eps client`) has that one client's row read. Otherwise a check reads
//! memory only.

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

impl ClientStanding {
    fn of(record: &ClientRecord) -> Self {
        Self {
            scopes: record.scopes.clone(),
            sites: record.sites.clone(),
            registered_at: record.created_at,
        }
    }
}

/// The cached client table.
pub struct ClientRoster {
    store: Arc<dyn ClientStore>,
    refresh: Duration,
    view: RwLock<View>,
    /// Bumped by every local change; a view read before the last bump is stale.
    generation: AtomicU64,
    /// One whole-table read at a time; the others wait for it and use its result.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ClientRoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRoster")
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

/// What was read of the table, and when.
#[derive(Debug, Default)]
struct View {
    /// When the whole table was last read.
    loaded_at: Option<OffsetDateTime>,
    generation: u64,
    clients: HashMap<ClientId, Entry>,
}

/// One client as read (`None`: no such client), and when.
#[derive(Debug, Clone)]
struct Entry {
    standing: Option<ClientStanding>,
    read_at: OffsetDateTime,
}

impl ClientRoster {
    /// A roster over `store`, trusting what it read for `refresh`; nothing is read yet.
    pub fn new(store: Arc<dyn ClientStore>, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            view: RwLock::new(View::default()),
            generation: AtomicU64::new(0),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// How long what was read is trusted.
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
        if !self.is_fresh(now) {
            let _one = self.reloading.lock().await;
            // Another caller may have reloaded while this one waited.
            if !self.is_fresh(now) {
                self.load(now).await?;
            }
        }
        // `iat` has whole seconds: what was read must be from after the token's second.
        let newer_than_token = issued_at + Duration::SECOND;
        if let Some(standing) = self.cached(client, newer_than_token) {
            return Ok(standing);
        }
        let standing = self
            .store
            .client(client)
            .await?
            .map(|r| ClientStanding::of(&r));
        self.remember(client, standing.clone(), now);
        Ok(standing)
    }

    /// Reads the whole table now; returns every client.
    pub async fn reload(&self, now: OffsetDateTime) -> Result<Vec<ClientRecord>> {
        let _one = self.reloading.lock().await;
        self.load(now).await
    }

    /// Reads the whole table; the caller holds `reloading`.
    async fn load(&self, now: OffsetDateTime) -> Result<Vec<ClientRecord>> {
        // Read the generation first: a change made during the read marks this view stale.
        let generation = self.generation.load(Ordering::Acquire);
        let records = self.store.clients().await?;
        let clients = records
            .iter()
            .map(|r| {
                let entry = Entry {
                    standing: Some(ClientStanding::of(r)),
                    read_at: now,
                };
                (r.client_id.clone(), entry)
            })
            .collect();
        *self.write() = View {
            loaded_at: Some(now),
            generation,
            clients,
        };
        Ok(records)
    }

    /// Read within the refresh period and after the last local change.
    fn is_fresh(&self, now: OffsetDateTime) -> bool {
        let view = self.read();
        view.generation == self.generation.load(Ordering::Acquire)
            && view.loaded_at.is_some_and(|at| now < at + self.refresh)
    }

    /// What was read of `client` at or after `read_after`, if anything.
    fn cached(
        &self,
        client: &ClientId,
        read_after: OffsetDateTime,
    ) -> Option<Option<ClientStanding>> {
        let view = self.read();
        let (standing, read_at) = match view.clients.get(client) {
            Some(entry) => (entry.standing.clone(), entry.read_at),
            None => (None, view.loaded_at?),
        };
        (read_at >= read_after).then_some(standing)
    }

    /// Keeps one client's row read at `read_at`, unless something newer is known.
    fn remember(
        &self,
        client: &ClientId,
        standing: Option<ClientStanding>,
        read_at: OffsetDateTime,
    ) {
        let mut view = self.write();
        if view
            .clients
            .get(client)
            .is_none_or(|known| known.read_at <= read_at)
        {
            view.clients
                .insert(client.clone(), Entry { standing, read_at });
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(PoisonError::into_inner)
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

    /// A client table in memory that counts its whole-table and single-row reads.
    #[derive(Default)]
    struct Table {
        clients: Mutex<Vec<ClientRecord>>,
        reads: AtomicUsize,
        row_reads: AtomicUsize,
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
            self.row_reads.fetch_add(1, Ordering::SeqCst);
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
        assert_eq!(table.row_reads.load(Ordering::SeqCst), 0);

        // Removed elsewhere: seen once the view is older than the refresh period, not before.
        table.delete_client(&pos).await.unwrap();
        let later = now + DEFAULT_REFRESH - Duration::SECOND;
        assert!(roster.standing(&pos, T0, later).await.unwrap().is_some());
        let past = now + DEFAULT_REFRESH;
        assert!(roster.standing(&pos, T0, past).await.unwrap().is_none());
        assert_eq!(table.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn local_changes_reload_the_table_and_newer_tokens_read_their_client() {
        let table = Arc::new(Table::default());
        let roster = ClientRoster::new(table.clone(), DEFAULT_REFRESH);
        let pos = ClientId::parse("pos-1").unwrap();
        let now = T0 + Duration::seconds(5);
        assert!(roster.standing(&pos, T0, now).await.unwrap().is_none());

        // Added by another process, then a token issued for it: the token is newer than the
        // view, so that client's row is read (once), not the table.
        table.upsert_client(&record("pos-1", "1")).await.unwrap();
        let issued = now + Duration::seconds(1);
        let checked = issued + Duration::seconds(1);
        for _ in 0..3 {
            assert!(
                roster
                    .standing(&pos, issued, checked)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        assert_eq!(table.reads.load(Ordering::SeqCst), 1);
        assert_eq!(table.row_reads.load(Ordering::SeqCst), 1);

        // Revoked on this node: the next check reads the table again and sees it.
        table.upsert_client(&record("pos-1", "")).await.unwrap();
        roster.invalidate();
        let standing = roster.standing(&pos, T0, checked).await.unwrap().unwrap();
        assert!(standing.sites.is_none());
        assert_eq!(table.reads.load(Ordering::SeqCst), 2);
    }
}
