//! Site-system connections: connect (POI registration), heartbeat, disconnect and expiry.
//!
//! A connection belongs to the OAuth2 client that opened it and to the site whose merchant id it
//! presented with `current: "yes"`, which the client must be granted ([`SiteGrant`]): at connect
//! and again on every call made through the connection, so a revoke takes effect on the
//! connection's next call. It lives while heartbeats arrive: it expires after `missed_heartbeats`
//! intervals without one.
//!
//! Heartbeats are kept in memory and written behind in batches ([`heartbeats`]): connect and
//! disconnect are synced commits, a heartbeat is not.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::client::SiteGrant;
use crate::clock::{SharedClock, to_millis_precision};
use crate::error::{Error, Result};
use crate::ids::{ClientId, ConnectionId, MerchantId, TransmissionId};
use crate::site::SiteDirectory;
use crate::store::Store;

mod closures;
pub mod heartbeats;
mod known;

pub use closures::{ClosureWatch, Closures};
pub use heartbeats::{Beat, PendingBeats};

/// The site system's software vendor, as sent in `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Vendor {
    /// `vendorName`.
    pub name: Option<String>,
    /// `vendorModel`.
    pub model: Option<String>,
    /// `vendorModelVersion`.
    pub model_version: Option<String>,
}

/// One entry of `siteSystemIDs`: an id, its type, and whether the caller currently acts as it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSystemId {
    /// The id, e.g. a merchant id.
    pub id: String,
    /// Its type, e.g. `merchantID` or `terminalID`.
    pub id_type: String,
    /// `current: "yes"`.
    pub current: bool,
}

/// A validated `connect` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The client's transmission number; a repeat within one heartbeat interval is a retry.
    pub transmission_id: TransmissionId,
    /// The client's timestamp, as sent.
    pub client_timestamp: String,
    /// The vendor block.
    pub vendor: Option<Vendor>,
    /// `applicationName`.
    pub application_name: Option<String>,
    /// `applicationSoftwareVersion`.
    pub application_software_version: Option<String>,
    /// `siteSystemIDs`.
    pub site_system_ids: Vec<SiteSystemId>,
}

impl ConnectRequest {
    /// The `merchantID` entry marked `current`, which names the site; a connect and a heartbeat
    /// both need one (a heartbeat does not re-read it).
    pub fn current_merchant(&self) -> Result<&SiteSystemId> {
        self.site_system_ids
            .iter()
            .find(|s| s.current && s.id_type == "merchantID")
            .ok_or(Error::NoCurrentSite)
    }
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// The id handed to the client.
    pub id: ConnectionId,
    /// The OAuth2 client that opened it.
    pub client_id: ClientId,
    /// The site it acts for.
    pub merchant_id: MerchantId,
    /// The transmission id of the connect that opened it.
    pub transmission_id: TransmissionId,
    /// The client's timestamp on that connect.
    pub client_timestamp: String,
    /// The vendor block of that connect.
    pub vendor: Option<Vendor>,
    /// `applicationName` of that connect.
    pub application_name: Option<String>,
    /// `applicationSoftwareVersion` of that connect.
    pub application_software_version: Option<String>,
    /// Every `siteSystemIDs` entry of that connect.
    pub site_system_ids: Vec<SiteSystemId>,
    /// When it was opened.
    pub created_at: OffsetDateTime,
    /// When the last heartbeat (or the connect) arrived.
    pub last_heartbeat_at: OffsetDateTime,
    /// When it expires unless a heartbeat arrives first.
    pub expires_at: OffsetDateTime,
}

/// Heartbeat timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// How often a site system is expected to send a heartbeat.
    pub heartbeat_interval: Duration,
    /// How many intervals may pass without one before the connection expires.
    pub missed_heartbeats: u32,
    /// How long an expired connection is remembered (to answer "expired" rather than "unknown").
    pub expired_retention: Duration,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::seconds(30),
            missed_heartbeats: 3,
            expired_retention: Duration::hours(24),
        }
    }
}

impl ConnectionPolicy {
    /// The lifetime granted by one heartbeat.
    pub fn lifetime(&self) -> Duration {
        self.heartbeat_interval * self.missed_heartbeats
    }
}

/// The answer to a connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The connection (new, or the one a retried connect already opened).
    pub connection: ConnectionRecord,
    /// True when this connect repeated an earlier one and got its connection back.
    pub replayed: bool,
}

/// Opens, refreshes, checks and closes connections.
#[derive(Clone)]
pub struct ConnectionService {
    store: Arc<dyn Store>,
    sites: Arc<SiteDirectory>,
    clock: SharedClock,
    policy: ConnectionPolicy,
    closures: Arc<Closures>,
    beats: Arc<PendingBeats>,
    known: Arc<known::KnownConnections>,
}

impl ConnectionService {
    /// A service over `store` for the configured `sites`.
    pub fn new(
        store: Arc<dyn Store>,
        sites: Arc<SiteDirectory>,
        clock: SharedClock,
        policy: ConnectionPolicy,
    ) -> Self {
        Self {
            store,
            sites,
            clock,
            policy,
            closures: Arc::default(),
            beats: Arc::default(),
            known: Arc::default(),
        }
    }

    /// Watches `id` for a disconnect, on this node or (through [`Self::closed_elsewhere`]) on
    /// another (event streams end on it).
    pub fn watch_closure(&self, id: ConnectionId) -> ClosureWatch {
        self.closures.watch(id)
    }

    /// The heartbeat timing in force.
    pub fn policy(&self) -> ConnectionPolicy {
        self.policy
    }

    /// Opens a connection for `client`, or returns the one an identical earlier connect opened.
    ///
    /// The site is the first `merchantID` entry with `current: "yes"`; `grant` must allow it
    /// (checked first, so a client learns nothing of sites it is not granted), and it must be
    /// configured.
    pub async fn connect(
        &self,
        client: &ClientId,
        grant: &SiteGrant,
        request: ConnectRequest,
    ) -> Result<Connected> {
        let now = to_millis_precision(self.clock.now());
        let merchant = request.current_merchant()?;
        let merchant_id =
            MerchantId::parse(&merchant.id).map_err(|_| Error::UnknownSite(merchant.id.clone()))?;
        if !grant.allows(&merchant_id) {
            return Err(Error::SiteNotGranted(merchant_id));
        }
        if self.sites.site(&merchant_id).is_none() {
            return Err(Error::UnknownSite(merchant.id.clone()));
        }
        let window_start = now - self.policy.heartbeat_interval;
        if let Some(existing) = self
            .store
            .connection_by_transmission(client, request.transmission_id, window_start)
            .await?
            && existing.merchant_id == merchant_id
            && existing.expires_at > now
        {
            return Ok(Connected {
                connection: existing,
                replayed: true,
            });
        }
        let record = ConnectionRecord {
            id: ConnectionId::generate(),
            client_id: client.clone(),
            merchant_id,
            transmission_id: request.transmission_id,
            client_timestamp: request.client_timestamp,
            vendor: request.vendor,
            application_name: request.application_name,
            application_software_version: request.application_software_version,
            site_system_ids: request.site_system_ids,
            created_at: now,
            last_heartbeat_at: now,
            expires_at: now + self.policy.lifetime(),
        };
        self.store.insert_connection(&record).await?;
        self.known.remember(&record);
        Ok(Connected {
            connection: record,
            replayed: false,
        })
    }

    /// Checks that `id` is a live connection of `client` for a site `grant` still allows, and
    /// returns it.
    pub async fn authorize(
        &self,
        client: &ClientId,
        grant: &SiteGrant,
        id: &ConnectionId,
    ) -> Result<ConnectionRecord> {
        let record = self.owned(client, id).await?;
        if !grant.allows(&record.merchant_id) {
            return Err(Error::SiteNotGranted(record.merchant_id));
        }
        Ok(record)
    }

    /// Refreshes a live connection of `client` for a site `grant` still allows (the heartbeat).
    /// The new expiry holds at once on this node and reaches the store with the next
    /// [`flush_heartbeats`](Self::flush_heartbeats).
    pub async fn heartbeat(
        &self,
        client: &ClientId,
        grant: &SiteGrant,
        id: &ConnectionId,
    ) -> Result<ConnectionRecord> {
        let mut record = self.authorize(client, grant, id).await?;
        let now = to_millis_precision(self.clock.now());
        record.last_heartbeat_at = now;
        record.expires_at = now + self.policy.lifetime();
        self.beats.record(Beat {
            id: *id,
            at: now,
            expires_at: record.expires_at,
        });
        self.known.remember(&record);
        Ok(record)
    }

    /// Writes the heartbeats received since the last flush in one transaction; returns how many
    /// connections it moved. On failure they are kept for the next flush.
    pub async fn flush_heartbeats(&self) -> Result<u64> {
        let beats = self.beats.pending();
        if beats.is_empty() {
            return Ok(0);
        }
        let moved = self.store.refresh_connections(&beats).await?;
        self.beats.settle(&beats);
        Ok(moved)
    }

    /// After a start: every connection still live now lives at least one full timeout from now,
    /// so heartbeats a crash kept from the store cannot expire it early. Returns how many moved.
    pub async fn grant_start_up_grace(&self) -> Result<u64> {
        let now = to_millis_precision(self.clock.now());
        self.store
            .extend_live_connections(now, now + self.policy.lifetime())
            .await
    }

    /// Closes a live connection of `client`, even one for a site no longer granted: closing
    /// reaches no site's data and frees what the connection holds.
    pub async fn disconnect(
        &self,
        client: &ClientId,
        id: &ConnectionId,
    ) -> Result<ConnectionRecord> {
        let record = self.owned(client, id).await?;
        self.store.delete_connection(id).await?;
        self.known.forget(id);
        self.beats.forget(id);
        self.closures.close(id);
        Ok(record)
    }

    /// The live connection `id` if `client` opened it.
    async fn owned(&self, client: &ClientId, id: &ConnectionId) -> Result<ConnectionRecord> {
        let now = self.clock.now();
        let record = self.stored(id).await?.ok_or(Error::UnknownConnection)?;
        if &record.client_id != client {
            return Err(Error::ConnectionOfAnotherClient);
        }
        if record.expires_at <= now {
            return Err(Error::ConnectionExpired);
        }
        Ok(record)
    }

    /// Every stored connection, live or recently expired (admin view).
    pub async fn list(&self) -> Result<Vec<ConnectionRecord>> {
        let mut records = self.store.connections().await?;
        for record in &mut records {
            self.with_pending_beat(record);
        }
        Ok(records)
    }

    /// One stored connection (admin view).
    pub async fn find(&self, id: &ConnectionId) -> Result<ConnectionRecord> {
        self.stored(id).await?.ok_or(Error::UnknownConnection)
    }

    /// The stored connection `id` with its heartbeat not yet written, if any: from memory
    /// while it is live there, else read again.
    async fn stored(&self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        if let Some(mut record) = self.known.live(id, self.clock.now()) {
            self.with_pending_beat(&mut record);
            return Ok(Some(record));
        }
        let mut record = self.store.connection(id).await?;
        match &mut record {
            Some(record) => {
                self.with_pending_beat(record);
                self.known.remember(record);
            }
            None => self.known.forget(id),
        }
        Ok(record)
    }

    /// Applies the heartbeat of `record` not yet written, when it is later than the stored one.
    fn with_pending_beat(&self, record: &mut ConnectionRecord) {
        if let Some(beat) = self.beats.latest(&record.id)
            && beat.expires_at > record.expires_at
        {
            record.last_heartbeat_at = beat.at;
            record.expires_at = beat.expires_at;
        }
    }

    /// Closes any connection (admin force-disconnect).
    pub async fn force_disconnect(&self, id: &ConnectionId) -> Result<ConnectionRecord> {
        let record = self.find(id).await?;
        self.store.delete_connection(id).await?;
        self.known.forget(id);
        self.beats.forget(id);
        self.closures.close(id);
        Ok(record)
    }

    /// Ends what watches `id` here: another node sharing the database deleted it.
    pub fn closed_elsewhere(&self, id: &ConnectionId) {
        self.known.forget(id);
        self.beats.forget(id);
        self.closures.close(id);
    }

    /// Ends what watches a connection the store no longer has (after signals may have been
    /// lost); returns how many were closed.
    pub async fn close_vanished(&self) -> Result<usize> {
        // A lost signal may have left a closed connection among the known ones.
        self.known.clear();
        let mut closed = 0;
        for id in self.closures.ids() {
            if self.store.connection(&id).await?.is_none() {
                self.closed_elsewhere(&id);
                closed += 1;
            }
        }
        Ok(closed)
    }

    /// Forgets connections expired longer ago than the retention; returns how many.
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = self.clock.now();
        self.store
            .purge_connections(now - self.policy.expired_retention)
            .await
    }
}

#[cfg(test)]
mod tests;
