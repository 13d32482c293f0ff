//! Site grants: a client reaches only the sites it was granted, at connect and on every call made
//! through a connection (a revoke refuses the connection's next call, event streams included),
//! on every store engine.

use eps_api::config::SiteConfig;
use eps_core::client::SiteGrant;
use eps_e2e::pos::WAIT;
use eps_e2e::sse::SseStream;
use eps_e2e::ws::WsItem;
use eps_e2e::{
    Backend, CONNECTION_HEADER, DEFAULT_SITE, Reply, SimSite, TestApp, connect_body, eur,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::events::{SITE_A, events_app, open_ws, site_system, sse_request};

/// A second site, without POIs.
const OTHER_SITE: &str = "555";

fn with_other_site(config: &mut eps_api::Config) {
    config.sites.push(SiteConfig {
        merchant_id: OTHER_SITE.to_owned(),
        name: None,
        pois: Vec::new(),
    });
}

/// The spec's example connect body acting as `merchant`.
fn connect_as(merchant: &str, transmission_id: u64) -> Value {
    let mut body = connect_body(transmission_id);
    body["siteSystemIDs"] = json!([{"id": merchant, "idType": "merchantID", "current": "yes"}]);
    body
}

#[tokio::test]
async fn a_client_of_one_site_cannot_connect_to_another() {
    for backend in Backend::all() {
        let app = TestApp::builder()
            .backend(backend.clone())
            .configure(with_other_site)
            .spawn()
            .await;
        let other = app.client_for("pos-555", "read,write", OTHER_SITE).await;
        let reply = other
            .connect_with(&connect_body(1), None)
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        assert!(reply.message().contains(DEFAULT_SITE), "{reply:#?}");
        assert!(app.state.store.connections().await.unwrap().is_empty());
        other
            .connect_with(&connect_as(OTHER_SITE, 2), None)
            .await
            .ok();

        // No grant: no site. Every site: any configured one.
        let nothing = app.client_for("pos-none", "read", "").await;
        nothing
            .connect_with(&connect_body(3), None)
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        let regional = app.client_for("regional", "read", "*").await;
        regional.connect(4).await;
        regional
            .connect_with(&connect_as(OTHER_SITE, 5), None)
            .await
            .ok();
        app.stop().await;
    }
}

#[tokio::test]
async fn a_refund_through_another_sites_terminal_is_refused() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend.clone())
            .configure(with_other_site)
            .start()
            .await;
        let owner = site.pos("pos-owner", "read,write").await;
        let paid = owner.pay(&owner.lane, "20.00").await.ok();
        let original = paid.transaction_id();

        // A client of the other site cannot connect to this one, so it never reaches its
        // terminal; through its own site this site's POI and payment do not exist.
        let intruder = site
            .app
            .client_for("pos-intruder", "read,write", OTHER_SITE)
            .await;
        intruder
            .connect_with(&connect_body(1), None)
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        let own = intruder
            .connect_with(&connect_as(OTHER_SITE, 2), None)
            .await
            .ok()
            .body["connectionID"]
            .as_str()
            .unwrap()
            .to_owned();
        let refund = |body: Value| {
            intruder
                .request(Method::POST, "/refunds")
                .header(CONNECTION_HEADER, &own)
                .header("prefer", format!("wait={WAIT}"))
                .json(&body)
        };
        Reply::read(refund(json!({"poiID": owner.lane, "amount": eur("5.00")})))
            .await
            .failure(404, "ERRCD_UNKNOWN_POI");
        Reply::read(refund(
            json!({"originalTransactionID": original, "amount": eur("5.00")}),
        ))
        .await
        .failure(404, "ERRCD_UNKNOWN_TRANSACTION");

        // A connection opened before a revoke is refused after it, the refund included.
        let cashier = site.pos("pos-cashier", "read,write").await;
        let own_sale = cashier.pay(&cashier.lane, "30.00").await.ok();
        site.app
            .state
            .clients
            .revoke("pos-cashier", &SiteGrant::parse_list(DEFAULT_SITE).unwrap())
            .await
            .unwrap();
        let refused = cashier
            .post(
                "/refunds",
                &json!({"originalTransactionID": own_sale.transaction_id(), "amount": eur("5.00")}),
                None,
                Some(WAIT),
            )
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        assert!(refused.message().contains(DEFAULT_SITE), "{refused:#?}");
        cashier
            .get("/POIs")
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        cashier
            .client
            .heartbeat(&cashier.connection, 9)
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        cashier
            .get(&format!("/transactions/{}", own_sale.transaction_id()))
            .await
            .failure(403, "ERRCD_SITE_NOT_GRANTED");
        // Closing the connection stays possible.
        cashier.client.disconnect(&cashier.connection).await.ok();

        // The terminal saw the two sales and nothing else.
        assert_eq!(
            site.lane().ledger().entries().len(),
            2,
            "{}",
            backend.name()
        );
        site.assert_agrees_with_ledgers().await;
        // The owner, still granted, refunds as before.
        owner
            .post(
                "/refunds",
                &json!({"originalTransactionID": original, "amount": eur("5.00")}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        site.stop().await;
    }
}

#[tokio::test]
async fn a_revoke_ends_the_connections_event_streams() {
    let app = events_app()
        .configure(|c| c.events.heartbeat_interval_secs = 0.05)
        .spawn()
        .await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ws = open_ws(&app, &pos, &connection, "").await;
    app.state
        .clients
        .revoke("pos", &SiteGrant::parse_list(SITE_A).unwrap())
        .await
        .unwrap();
    let frames = sse.rest().await;
    let last = frames.last().expect("a closing frame");
    assert_eq!(last.event, "streamClosedEvent", "{frames:?}");
    assert_eq!(last.data["reason"], "accessRevoked");
    let (messages, end) = ws.rest().await;
    assert_eq!(messages.last().unwrap()["reason"], "accessRevoked");
    assert_eq!(
        end,
        WsItem::Closed(Some((1008, "accessRevoked".to_owned())))
    );
    // And no new stream opens.
    let reply = SseStream::open(sse_request(&pos, &connection)).await;
    assert_eq!(reply.err().map(|r| r.status), Some(403));
    app.stop().await;
}
