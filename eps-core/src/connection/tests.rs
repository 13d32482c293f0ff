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
