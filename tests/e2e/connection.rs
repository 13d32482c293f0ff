//! The Open Retailing connection lifecycle: connect, heartbeat, POIs, disconnect, retries, sites
//! and expiry after missed heartbeats (on a manual clock), on every store engine.

use eps_core::ids::{MerchantId, PoiId};
use eps_e2e::{Backend, TestApp, connect_body};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn connect_heartbeat_pois_disconnect_on_every_store() {
    for backend in Backend::all() {
        let app = TestApp::spawn_on(backend.clone()).await;
        assert_eq!(app.state.store.backend(), backend.name());
        let pos = app.client("pos-1", "read,write").await;

        // The spec's example, verbatim.
        let reply = pos.connect_with(&connect_body(123_456), None).await.ok();
        assert_eq!(reply.body["transmissionID"], 123_456);
        let id = reply.body["connectionID"].as_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok());

        let beat = pos.heartbeat(&id, 123_457).await.ok();
        assert_eq!(beat.body["connectionID"], id.as_str());
        assert_eq!(beat.body["transmissionID"], 123_457);

        let pois = pos.pois(&id).await.ok();
        let merchant = MerchantId::parse("1234567890").unwrap();
        assert_eq!(
            pois.body["poiAddresses"],
            json!([
                {"logicalID": "001", "workstationType": "pointOfService",
                 "poiID": PoiId::derive(&merchant, "pointOfService", "001").to_string()},
                {"logicalID": "001", "workstationType": "fuelingPoint",
                 "poiID": PoiId::derive(&merchant, "fuelingPoint", "001").to_string()},
            ]),
            "{}",
            backend.name()
        );

        pos.disconnect(&id).await.ok();
        pos.pois(&id).await.failure(404, "ERRCD_UNKNOWN_CONNECTION");
        pos.heartbeat(&id, 1)
            .await
            .failure(404, "ERRCD_UNKNOWN_CONNECTION");
        pos.disconnect(&id)
            .await
            .failure(404, "ERRCD_UNKNOWN_CONNECTION");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_retried_connect_returns_the_same_connection_within_the_interval() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let first = pos.connect(42).await;
    app.advance(Duration::seconds(29));
    assert_eq!(pos.connect(42).await, first, "a retry within 30 s");
    assert_ne!(pos.connect(43).await, first, "another transmissionID");
    app.advance(Duration::seconds(2));
    assert_ne!(
        pos.connect(42).await,
        first,
        "after the interval it is a new connect"
    );

    // Another client's identical connect is its own connection.
    let other = app.client("pos-2", "read").await;
    assert_ne!(other.connect(42).await, first);
    app.stop().await;
}

#[tokio::test]
async fn connections_expire_after_the_missed_heartbeats() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let id = pos.connect(1).await;

    // Heartbeats every 80 s keep it alive well past the 90 s lifetime (3 × 30 s).
    for n in 0..5 {
        app.advance(Duration::seconds(80));
        pos.heartbeat(&id, 2 + n).await.ok();
    }
    pos.pois(&id).await.ok();

    app.advance(Duration::seconds(89));
    pos.pois(&id).await.ok();
    app.advance(Duration::seconds(1));
    let reply = pos.pois(&id).await.failure(410, "ERRCD_CONNECTION_EXPIRED");
    assert!(reply.message().contains("connect again"), "{reply:#?}");
    pos.heartbeat(&id, 9)
        .await
        .failure(410, "ERRCD_CONNECTION_EXPIRED");

    // Reconnecting gives a fresh, working connection.
    let fresh = pos.connect(10).await;
    assert_ne!(fresh, id);
    pos.pois(&fresh).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn the_heartbeat_policy_is_configurable() {
    let app = TestApp::builder()
        .configure(|c| {
            c.connection.heartbeat_interval_secs = 10;
            c.connection.missed_heartbeats = 2;
        })
        .spawn()
        .await;
    let pos = app.client("pos-1", "read").await;
    let id = pos.connect(1).await;
    app.advance(Duration::seconds(19));
    pos.pois(&id).await.ok();
    app.advance(Duration::seconds(1));
    pos.pois(&id).await.failure(410, "ERRCD_CONNECTION_EXPIRED");
    app.stop().await;
}

#[tokio::test]
async fn the_site_comes_from_the_current_merchant_id() {
    let app = TestApp::builder()
        .configure(|c| {
            let second: eps_api::Config = eps_api::Config::from_toml(
                r#"
[[sites]]
merchant_id = "0987654321"
[[sites.pois]]
logical_id = "007"
workstation_type = "pointOfService"
terminal = { address = "127.0.0.1:21002", callback = "127.0.0.1:21007", workstation_id = "POS7" }
"#,
            )
            .unwrap();
            c.sites.extend(second.sites);
        })
        .spawn()
        .await;
    // Granted every site, so an unconfigured merchant id is an unknown site, not a refused one.
    let pos = app.client_for("pos-1", "read", "*").await;

    // The example names 0987654321 with current "no": the site is 1234567890.
    let id = pos.connect(1).await;
    let pois = pos.pois(&id).await.ok();
    assert_eq!(pois.body["poiAddresses"].as_array().unwrap().len(), 2);

    let mut body = connect_body(2);
    body["siteSystemIDs"][0]["current"] = json!("no");
    body["siteSystemIDs"][2]["current"] = json!("yes");
    let reply = pos.connect_with(&body, None).await.ok();
    let other = reply.body["connectionID"].as_str().unwrap();
    let pois = pos.pois(other).await.ok();
    assert_eq!(pois.body["poiAddresses"][0]["logicalID"], "007");

    let mut unknown = connect_body(3);
    unknown["siteSystemIDs"][0]["id"] = json!("5555");
    let reply = pos
        .connect_with(&unknown, None)
        .await
        .failure(400, "ERRCD_UNKNOWN_SITE");
    assert!(reply.message().contains("5555"), "{reply:#?}");

    let mut none_current = connect_body(4);
    none_current["siteSystemIDs"][0]["current"] = json!("no");
    pos.connect_with(&none_current, None)
        .await
        .failure(400, "ERRCD_NO_CURRENT_SITE");
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_connection_ids() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    pos.pois(&uuid::Uuid::now_v7().to_string())
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    pos.pois("not-one-of-ours")
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    pos.heartbeat(&uuid::Uuid::now_v7().to_string(), 1)
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    let reply = pos
        .pois(&"x".repeat(1025))
        .await
        .failure(400, "ERRCD_BADREQUEST");
    assert!(reply.message().contains("openretailing-connection-id"));
    let reply = pos.get("/POIs").await.failure(400, "ERRCD_BADREQUEST");
    assert!(reply.message().contains("openretailing-connection-id"));
    app.stop().await;
}
