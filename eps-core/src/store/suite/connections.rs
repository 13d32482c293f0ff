//! Cases: connections, clients, and the engine answering.

use std::sync::Arc;

use crate::client::{Scope, ScopeSet, SiteGrant};
use crate::connection::Beat;
use crate::ids::{ConnectionId, TransmissionId};
use crate::store::Store;

use super::fixtures::{at, client, client_id, connection, full_connection};

pub(super) async fn connections_round_trip(store: Arc<dyn Store>) {
    let bare = connection("pos-2", 0, 2_000);
    let full = full_connection();
    store.insert_connection(&bare).await.unwrap();
    store.insert_connection(&full).await.unwrap();

    assert_eq!(
        store.connection(&bare.id).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        store.connection(&full.id).await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.connection(&ConnectionId::generate()).await.unwrap(),
        None
    );
    // Oldest first: `full` was created at 1 234 ms, `bare` at 2 000 ms.
    assert_eq!(store.connections().await.unwrap(), vec![full.clone(), bare]);
    // The same id twice is refused, and the first stays.
    assert!(store.insert_connection(&full).await.is_err());
    assert_eq!(store.connection(&full.id).await.unwrap(), Some(full));
}

pub(super) async fn connection_lookup_by_transmission(store: Arc<dyn Store>) {
    let older = connection("pos-1", 7, 0);
    let newer = connection("pos-1", 7, 10_000);
    let other_transmission = connection("pos-1", 8, 20_000);
    let other_client = connection("pos-2", 7, 20_000);
    for c in [&older, &newer, &other_transmission, &other_client] {
        store.insert_connection(c).await.unwrap();
    }
    let seven = TransmissionId::new(7).unwrap();
    let pos1 = client_id("pos-1");

    let found = |from| {
        let store = store.clone();
        let pos1 = pos1.clone();
        async move {
            store
                .connection_by_transmission(&pos1, seven, at(from))
                .await
                .unwrap()
                .map(|c| c.id)
        }
    };
    assert_eq!(found(0).await, Some(newer.id), "the newest in the window");
    assert_eq!(
        found(10_000).await,
        Some(newer.id),
        "the window start is inclusive"
    );
    assert_eq!(
        found(10_001).await,
        None,
        "nothing at or after the window start"
    );
    assert_eq!(
        store
            .connection_by_transmission(&client_id("pos-3"), seven, at(0))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .connection_by_transmission(&pos1, TransmissionId::new(8).unwrap(), at(0))
            .await
            .unwrap()
            .map(|c| c.id),
        Some(other_transmission.id)
    );
    store.delete_connection(&newer.id).await.unwrap();
    assert_eq!(found(0).await, Some(older.id));
}

pub(super) async fn connections_refresh_delete_and_purge(store: Arc<dyn Store>) {
    let live = connection("pos-1", 1, 0);
    let stale = connection("pos-1", 2, 0);
    store.insert_connection(&live).await.unwrap();
    store.insert_connection(&stale).await.unwrap();

    assert!(
        store
            .refresh_connection(&live.id, at(60_000), at(150_000))
            .await
            .unwrap()
    );
    let refreshed = store.connection(&live.id).await.unwrap().unwrap();
    assert_eq!(refreshed.last_heartbeat_at, at(60_000));
    assert_eq!(refreshed.expires_at, at(150_000));
    assert_eq!(refreshed.created_at, live.created_at);
    assert!(
        !store
            .refresh_connection(&ConnectionId::generate(), at(1), at(2))
            .await
            .unwrap()
    );

    // `stale` expires at 90 000 ms, `live` now at 150 000 ms.
    assert_eq!(
        store.purge_connections(at(90_000)).await.unwrap(),
        0,
        "strictly before"
    );
    assert_eq!(store.purge_connections(at(90_001)).await.unwrap(), 1);
    assert_eq!(store.connection(&stale.id).await.unwrap(), None);
    assert_eq!(store.connections().await.unwrap(), vec![refreshed]);

    assert!(store.delete_connection(&live.id).await.unwrap());
    assert!(!store.delete_connection(&live.id).await.unwrap());
    assert!(
        !store
            .refresh_connection(&live.id, at(1), at(2))
            .await
            .unwrap()
    );
    assert_eq!(store.connections().await.unwrap(), vec![]);
}

pub(super) async fn heartbeats_are_written_in_batches_and_never_backwards(store: Arc<dyn Store>) {
    let a = connection("pos-1", 1, 0);
    let b = connection("pos-1", 2, 0);
    store.insert_connection(&a).await.unwrap();
    store.insert_connection(&b).await.unwrap();
    let beat = |id, at_ms, expires_ms| Beat {
        id,
        at: at(at_ms),
        expires_at: at(expires_ms),
    };
    assert_eq!(store.refresh_connections(&[]).await.unwrap(), 0);
    let gone = ConnectionId::generate();
    let moved = store
        .refresh_connections(&[
            beat(a.id, 60_000, 150_000),
            beat(b.id, 61_000, 151_000),
            beat(gone, 1, 2),
        ])
        .await
        .unwrap();
    assert_eq!(moved, 2, "a closed connection is skipped");
    let stored_a = store.connection(&a.id).await.unwrap().unwrap();
    assert_eq!(stored_a.last_heartbeat_at, at(60_000));
    assert_eq!(stored_a.expires_at, at(150_000));
    let stored_b = store.connection(&b.id).await.unwrap().unwrap();
    assert_eq!(stored_b.expires_at, at(151_000));
    // An older heartbeat written late never moves an expiry back.
    let moved = store
        .refresh_connections(&[beat(a.id, 30_000, 120_000)])
        .await
        .unwrap();
    assert_eq!(moved, 0);
    assert_eq!(store.connection(&a.id).await.unwrap(), Some(stored_a));
}

pub(super) async fn start_up_grace_extends_only_live_connections(store: Arc<dyn Store>) {
    // Expiring at 90 000, 89 000 and (after a heartbeat) 500 000 ms.
    let live = connection("pos-1", 1, 0);
    let expired = connection("pos-1", 2, -1_000);
    let far = connection("pos-1", 3, 0);
    for record in [&live, &expired, &far] {
        store.insert_connection(record).await.unwrap();
    }
    let beat = Beat {
        id: far.id,
        at: at(410_000),
        expires_at: at(500_000),
    };
    store.refresh_connections(&[beat]).await.unwrap();
    // Started at 89 500 ms with a 210 s timeout: `live` gets until 300 000 ms; `expired` stays
    // expired; `far` keeps its later expiry.
    let moved = store
        .extend_live_connections(at(89_500), at(300_000))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let expiry = async |id| store.connection(&id).await.unwrap().unwrap().expires_at;
    assert_eq!(expiry(live.id).await, at(300_000));
    assert_eq!(expiry(expired.id).await, at(89_000));
    assert_eq!(expiry(far.id).await, at(500_000));
    let stored = store.connection(&live.id).await.unwrap().unwrap();
    assert_eq!(
        stored.last_heartbeat_at, live.last_heartbeat_at,
        "no heartbeat"
    );
}

pub(super) async fn clients_round_trip(store: Arc<dyn Store>) {
    let b = client("pos-b");
    let a = client("pos-a");
    let mut no_scopes = client("Z-upper");
    no_scopes.scopes = ScopeSet::default();
    no_scopes.sites = SiteGrant::none();
    for c in [&b, &a, &no_scopes] {
        store.upsert_client(c).await.unwrap();
    }
    assert_eq!(store.client(&a.client_id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.client(&no_scopes.client_id).await.unwrap(),
        Some(no_scopes.clone())
    );
    assert_eq!(store.client(&client_id("nobody")).await.unwrap(), None);
    // By id, byte order (upper case first) on both engines.
    assert_eq!(
        store.clients().await.unwrap(),
        vec![no_scopes.clone(), a.clone(), b.clone()]
    );

    let mut replaced = a.clone();
    replaced.name = "Renamed".into();
    replaced.secret_hash = "$argon2id$other".into();
    replaced.scopes = ScopeSet::new([Scope::Admin]);
    replaced.sites = SiteGrant::AllSites;
    replaced.created_at = at(99);
    store.upsert_client(&replaced).await.unwrap();
    assert_eq!(
        store.client(&a.client_id).await.unwrap(),
        Some(replaced.clone())
    );
    assert_eq!(store.clients().await.unwrap().len(), 3);

    assert!(store.delete_client(&a.client_id).await.unwrap());
    assert!(!store.delete_client(&a.client_id).await.unwrap());
    assert_eq!(store.clients().await.unwrap(), vec![no_scopes, b]);
}

pub(super) async fn backend_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

pub(super) async fn country_settings_are_kept_per_site(store: Arc<dyn Store>) {
    use crate::country::{CountrySettings, CountrySettingsRecord};
    use crate::ids::MerchantId;

    let site = MerchantId::parse("1234567890").unwrap();
    let other = MerchantId::parse("555").unwrap();
    assert_eq!(store.country_settings(&site).await.unwrap(), None);
    let first = CountrySettingsRecord {
        merchant_id: site.clone(),
        settings: CountrySettings::parse("GLL", "US", "eng", &["USD", "CAD"]).unwrap(),
        updated_at: at(1),
    };
    store.put_country_settings(&first).await.unwrap();
    assert_eq!(store.country_settings(&site).await.unwrap(), Some(first));
    assert_eq!(store.country_settings(&other).await.unwrap(), None);
    let second = CountrySettingsRecord {
        merchant_id: site.clone(),
        settings: CountrySettings::parse("LTR", "DE", "deu", &["EUR"]).unwrap(),
        updated_at: at(2),
    };
    store.put_country_settings(&second).await.unwrap();
    assert_eq!(store.country_settings(&site).await.unwrap(), Some(second));
}
