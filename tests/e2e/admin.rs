//! Operator inspection of sessions: list, show, force-disconnect.

use eps_e2e::TestApp;
use reqwest::Method;
use time::Duration;

#[tokio::test]
async fn operators_see_and_close_connections() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let admin = app.client("operator", "admin").await;
    let id = pos.connect(77).await;
    app.advance(Duration::seconds(10));
    pos.heartbeat(&id, 78).await.ok();

    let list = admin.get("/admin/connections").await.ok();
    let all = list.body["connections"].as_array().unwrap();
    assert_eq!(all.len(), 1);
    let c = &all[0];
    assert_eq!(c["connectionID"], id.as_str());
    assert_eq!(c["clientID"], "pos-1");
    assert_eq!(c["merchantID"], "1234567890");
    assert_eq!(c["vendor"]["vendorName"], "Some vendor");
    assert_eq!(c["applicationName"], "OpenRetailing Site System");
    assert_eq!(c["applicationSoftwareVersion"], "01.00.00");
    assert_eq!(c["transmissionID"], 77);
    assert_eq!(c["created"], "2026-01-05T09:00:00.000Z");
    assert_eq!(c["lastHeartbeat"], "2026-01-05T09:00:10.000Z");
    assert_eq!(c["expires"], "2026-01-05T09:01:40.000Z");
    assert_eq!(c["state"], "active");

    let one = admin.get(&format!("/admin/connections/{id}")).await.ok();
    assert_eq!(one.body["connection"]["connectionID"], id.as_str());

    let closed =
        eps_e2e::Reply::read(admin.request(Method::DELETE, &format!("/admin/connections/{id}")))
            .await
            .ok();
    assert_eq!(closed.body["connection"]["clientID"], "pos-1");
    pos.pois(&id).await.failure(404, "ERRCD_UNKNOWN_CONNECTION");
    admin
        .get(&format!("/admin/connections/{id}"))
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    admin
        .get("/admin/connections/not-an-id")
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    app.stop().await;
}

#[tokio::test]
async fn expired_connections_are_listed_as_expired() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let admin = app.client("operator", "admin").await;
    pos.connect(1).await;
    app.advance(Duration::seconds(91));
    let list = admin.get("/admin/connections").await.ok();
    assert_eq!(list.body["connections"][0]["state"], "expired");
    app.stop().await;
}
