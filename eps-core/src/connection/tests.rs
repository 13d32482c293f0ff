//! Connection service tests on a real (in-memory SQLite) store: site grants at connect, at every
//! authorised call, and after a revoke.

use time::macros::datetime;

use super::*;
use crate::clock::ManualClock;
use crate::ids::TransmissionId;
use crate::site::Site;
use crate::store::sqlite::SqliteStore;

fn merchant(id: &str) -> MerchantId {
    MerchantId::parse(id).unwrap()
}

async fn service() -> ConnectionService {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let sites = ["1234567890", "555"].map(|id| Site {
        merchant_id: merchant(id),
        name: id.to_owned(),
        pois: Vec::new(),
    });
    ConnectionService::new(
        store,
        Arc::new(SiteDirectory::new(sites.to_vec()).unwrap()),
        Arc::new(ManualClock::new(datetime!(2026-01-05 09:00 UTC))),
        ConnectionPolicy::default(),
    )
}

fn request(site: &str, transmission: u64) -> ConnectRequest {
    ConnectRequest {
        transmission_id: TransmissionId::new(transmission).unwrap(),
        client_timestamp: "2021-04-08T05:20:00".into(),
        vendor: None,
        application_name: None,
        application_software_version: None,
        site_system_ids: vec![SiteSystemId {
            id: site.into(),
            id_type: "merchantID".into(),
            current: true,
        }],
    }
}

#[tokio::test]
async fn connect_needs_the_site_granted_and_names_it_when_not() {
    let service = service().await;
    let pos = ClientId::parse("pos-1").unwrap();
    let grant = SiteGrant::parse_list("1234567890").unwrap();
    service
        .connect(&pos, &grant, request("1234567890", 1))
        .await
        .unwrap();
    let err = service
        .connect(&pos, &grant, request("555", 2))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::SiteNotGranted(site) if site.as_str() == "555"));
    assert!(err.to_string().contains("\"555\""), "{err}");
    // Nothing granted: no site; every site: any configured one.
    let err = service
        .connect(&pos, &SiteGrant::none(), request("1234567890", 3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SiteNotGranted(_)));
    service
        .connect(&pos, &SiteGrant::AllSites, request("555", 4))
        .await
        .unwrap();
    // A site outside the grant is refused before the configuration is consulted: a client
    // cannot probe which merchant ids exist.
    let err = service
        .connect(&pos, &grant, request("999", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SiteNotGranted(_)));
    let err = service
        .connect(&pos, &SiteGrant::AllSites, request("999", 6))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownSite(_)));
}

#[tokio::test]
async fn a_revoke_refuses_the_connections_next_call_but_not_its_disconnect() {
    let service = service().await;
    let pos = ClientId::parse("pos-1").unwrap();
    let granted = SiteGrant::parse_list("1234567890,555").unwrap();
    let id = service
        .connect(&pos, &granted, request("555", 1))
        .await
        .unwrap()
        .connection
        .id;
    service.authorize(&pos, &granted, &id).await.unwrap();
    service.heartbeat(&pos, &granted, &id).await.unwrap();

    let revoked = granted
        .without(&SiteGrant::parse_list("555").unwrap())
        .unwrap();
    let err = service.authorize(&pos, &revoked, &id).await.unwrap_err();
    assert!(matches!(&err, Error::SiteNotGranted(site) if site.as_str() == "555"));
    let err = service.heartbeat(&pos, &revoked, &id).await.unwrap_err();
    assert!(matches!(err, Error::SiteNotGranted(_)));
    // Another client's connection stays another client's, whatever it is granted.
    let other = ClientId::parse("pos-2").unwrap();
    let err = service
        .authorize(&other, &SiteGrant::AllSites, &id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectionOfAnotherClient));
    service.disconnect(&pos, &id).await.unwrap();
}

#[tokio::test]
async fn heartbeats_hold_at_once_and_reach_the_store_with_a_flush() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let start = datetime!(2026-01-05 09:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let site = Site {
        merchant_id: merchant("1234567890"),
        name: "one".into(),
        pois: Vec::new(),
    };
    let service = ConnectionService::new(
        store.clone(),
        Arc::new(SiteDirectory::new(vec![site]).unwrap()),
        clock.clone(),
        ConnectionPolicy::default(),
    );
    let pos = ClientId::parse("pos-1").unwrap();
    let grant = SiteGrant::AllSites;
    let id = service
        .connect(&pos, &grant, request("1234567890", 1))
        .await
        .unwrap()
        .connection
        .id;
    clock.advance(Duration::seconds(60));
    let beat = service.heartbeat(&pos, &grant, &id).await.unwrap();
    assert_eq!(beat.expires_at, start + Duration::seconds(150));
    // Not written yet, but in force on this node: past the first expiry it is still live.
    let stored = store.connection(&id).await.unwrap().unwrap();
    assert_eq!(stored.expires_at, start + Duration::seconds(90));
    clock.advance(Duration::seconds(60));
    let live = service.authorize(&pos, &grant, &id).await.unwrap();
    assert_eq!(live.last_heartbeat_at, start + Duration::seconds(60));
    assert_eq!(service.find(&id).await.unwrap(), live);
    assert_eq!(service.list().await.unwrap(), vec![live.clone()]);
    // One flush writes it; a second has nothing to write.
    assert_eq!(service.flush_heartbeats().await.unwrap(), 1);
    assert_eq!(service.flush_heartbeats().await.unwrap(), 0);
    assert_eq!(store.connection(&id).await.unwrap(), Some(live));
    // A closed connection's heartbeat is not written.
    service.heartbeat(&pos, &grant, &id).await.unwrap();
    service.disconnect(&pos, &id).await.unwrap();
    assert_eq!(service.flush_heartbeats().await.unwrap(), 0);
}

#[tokio::test]
async fn a_start_gives_live_connections_a_full_timeout() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let start = datetime!(2026-01-05 09:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let site = Site {
        merchant_id: merchant("1234567890"),
        name: "one".into(),
        pois: Vec::new(),
    };
    let directory = Arc::new(SiteDirectory::new(vec![site]).unwrap());
    let policy = ConnectionPolicy::default();
    let before = ConnectionService::new(store.clone(), directory.clone(), clock.clone(), policy);
    let pos = ClientId::parse("pos-1").unwrap();
    let grant = SiteGrant::AllSites;
    let connect = async |transmission| {
        let request = request("1234567890", transmission);
        before
            .connect(&pos, &grant, request)
            .await
            .unwrap()
            .connection
            .id
    };
    let gone = connect(1).await;
    clock.advance(Duration::seconds(10));
    let old = connect(2).await;
    // A heartbeat at 80 s lost with a crash; the node starts again at 95 s.
    clock.advance(Duration::seconds(70));
    before.heartbeat(&pos, &grant, &old).await.unwrap();
    clock.advance(Duration::seconds(15));
    let young = connect(3).await;
    drop(before);
    let after = ConnectionService::new(store, directory, clock.clone(), policy);
    assert_eq!(after.grant_start_up_grace().await.unwrap(), 1);
    let expiry = async |id| after.find(&id).await.unwrap().expires_at;
    // `old` lives a full timeout from the start, as `young` already did; `gone` stays expired.
    assert_eq!(expiry(old).await, start + Duration::seconds(95 + 90));
    assert_eq!(expiry(young).await, start + Duration::seconds(95 + 90));
    assert_eq!(expiry(gone).await, start + Duration::seconds(90));
}

/// A connection kept in memory is refused at once when another node closed it, and one whose
/// stored expiry another node moved is read again rather than refused as expired.
#[tokio::test]
async fn known_connections_follow_the_store() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let sites = [Site {
        merchant_id: merchant("1234567890"),
        name: "site".to_owned(),
        pois: Vec::new(),
    }];
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-05 09:00 UTC)));
    let service = ConnectionService::new(
        store.clone(),
        Arc::new(SiteDirectory::new(sites.to_vec()).unwrap()),
        clock.clone(),
        ConnectionPolicy::default(),
    );
    let pos = ClientId::parse("pos-1").unwrap();
    let grant = SiteGrant::parse_list("1234567890").unwrap();
    let id = service
        .connect(&pos, &grant, request("1234567890", 1))
        .await
        .unwrap()
        .connection
        .id;
    service.authorize(&pos, &grant, &id).await.unwrap();

    // Another node's heartbeat moved the stored expiry past the one known here.
    let lifetime = service.policy().lifetime();
    let later = datetime!(2026-01-05 09:00 UTC) + lifetime + Duration::seconds(5);
    store
        .refresh_connection(&id, later - lifetime, later)
        .await
        .unwrap();
    clock.advance(lifetime + Duration::seconds(1));
    service.authorize(&pos, &grant, &id).await.unwrap();

    // Another node closed it: its signal reaches this node.
    store.delete_connection(&id).await.unwrap();
    service.closed_elsewhere(&id);
    let err = service.authorize(&pos, &grant, &id).await.unwrap_err();
    assert!(matches!(err, Error::UnknownConnection), "{err}");
}
