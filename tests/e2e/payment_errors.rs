//! Every payment route refuses what is wrong, naming the field: amounts, POI addressing, scopes,
//! connections, ids, `Prefer`, `Idempotency-Key`; and a site never sees another site's data.

use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_e2e::{Backend, CONNECTION_HEADER, Reply, SimSite, connect_body, eur};
use reqwest::Method;
use serde_json::{Value, json};

/// A second site, `0987654321`, with one lane whose terminal nobody runs.
fn other_site(config: &mut eps_api::Config) {
    config.sites.push(SiteConfig {
        merchant_id: "0987654321".to_owned(),
        name: Some("Other site".to_owned()),
        pois: vec![PoiConfig {
            logical_id: "001".to_owned(),
            workstation_type: "pointOfService".to_owned(),
            poi_id: None,
            terminal: TerminalConfig {
                id: Some("other-lane".to_owned()),
                address: "127.0.0.1:9".to_owned(),
                callback: "127.0.0.1:0".parse().unwrap(),
                workstation_id: "OTHER1".to_owned(),
                profile: Default::default(),
                pop_id: None,
                application_sender: None,
                callback_source: None,
                currency: None,
            },
        }],
    });
}

/// The connect body of the spec's example, acting as `merchant`.
fn connect_as(merchant: &str) -> Value {
    let mut body = connect_body(7);
    body["siteSystemIDs"] = json!([{"id": merchant, "idType": "merchantID", "current": "yes"}]);
    body
}

#[tokio::test]
async fn amounts_are_refused_naming_the_field() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let pay = |amount: Value| {
        let pos = pos.clone();
        async move {
            pos.post(
                "/payments",
                &json!({"poiID": pos.lane, "amount": amount}),
                None,
                None,
            )
            .await
        }
    };
    for (amount, code, field) in [
        (eur("-1.00"), "ERRCD_INVALID_AMOUNT", "amount.value"),
        (eur("0.00"), "ERRCD_INVALID_AMOUNT", "amount.value"),
        (eur("0"), "ERRCD_INVALID_AMOUNT", "amount.value"),
        (eur("1.234"), "ERRCD_INVALID_AMOUNT", "amount.value"),
        (eur("1e3"), "ERRCD_INVALID_AMOUNT", "amount.value"),
        (
            eur("10000000000.00"),
            "ERRCD_INVALID_AMOUNT",
            "amount.value",
        ),
        (
            eur("99999999999999999999999999"),
            "ERRCD_INVALID_AMOUNT",
            "amount.value",
        ),
        (
            json!({"value": "1.00", "currency": "XYZ"}),
            "ERRCD_INVALID_AMOUNT",
            "amount.currency",
        ),
        (
            json!({"value": "1.5", "currency": "JPY"}),
            "ERRCD_INVALID_AMOUNT",
            "amount.value",
        ),
        (
            json!({"value": 12.34, "currency": "EUR"}),
            "ERRCD_BADREQUEST",
            "amount.value",
        ),
        (json!({"value": "1.00"}), "ERRCD_BADREQUEST", "currency"),
        (json!("12.34 EUR"), "ERRCD_BADREQUEST", "amount"),
    ] {
        let reply = pay(amount.clone()).await.failure(400, code);
        assert!(reply.message().contains(field), "{amount}: {reply:#?}");
    }
    pos.post("/payments", &json!({"poiID": pos.lane}), None, None)
        .await
        .failure(400, "ERRCD_BADREQUEST");
    // Nothing reached the terminal.
    assert!(site.lane().ledger().entries().is_empty());
    assert!(site.transactions().await.is_empty());
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn pois_are_named_one_way_and_only_the_callers_own() {
    let site = SimSite::builder(Backend::Sqlite)
        .configure(other_site)
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let body = |poi: Value| {
        let mut body = poi;
        body["amount"] = eur("1.00");
        body
    };
    let refuse = |reply: Reply, status, code: &str, needle: &str| {
        let reply = reply.failure(status, code);
        assert!(reply.message().contains(needle), "{reply:#?}");
    };
    refuse(
        pos.post("/payments", &body(json!({})), None, None).await,
        400,
        "ERRCD_BADREQUEST",
        "poiID",
    );
    refuse(
        pos.post(
            "/payments",
            &body(
                json!({"poiID": pos.lane, "logicalID": "001", "workstationType": "pointOfService"}),
            ),
            None,
            None,
        )
        .await,
        400,
        "ERRCD_BADREQUEST",
        "not both",
    );
    refuse(
        pos.post("/payments", &body(json!({"logicalID": "001"})), None, None)
            .await,
        400,
        "ERRCD_BADREQUEST",
        "workstationType",
    );
    refuse(
        pos.post("/payments", &body(json!({"poiID": "lane-1"})), None, None)
            .await,
        400,
        "ERRCD_BADREQUEST",
        "poiID",
    );
    refuse(
        pos.post(
            "/payments",
            &body(json!({"poiID": uuid::Uuid::new_v4().to_string()})),
            None,
            None,
        )
        .await,
        404,
        "ERRCD_UNKNOWN_POI",
        "POI",
    );
    refuse(
        pos.post(
            "/payments",
            &body(json!({"logicalID": "002", "workstationType": "pointOfService"})),
            None,
            None,
        )
        .await,
        404,
        "ERRCD_UNKNOWN_POI",
        "POI",
    );
    // The other site's lane exists, but not for this caller: the same 404, nothing revealed.
    let other = site
        .app
        .client_for("other-pos", "read write", "0987654321")
        .await;
    let other_connection = other
        .connect_with(&connect_as("0987654321"), None)
        .await
        .ok()
        .body["connectionID"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_pois = other.pois(&other_connection).await.ok();
    let other_lane = other_pois.body["poiAddresses"][0]["poiID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other_lane, pos.lane);
    refuse(
        pos.post("/payments", &body(json!({"poiID": other_lane})), None, None)
            .await,
        404,
        "ERRCD_UNKNOWN_POI",
        "POI",
    );

    // And the other site sees none of this site's transactions, receipts or reconciliations.
    let paid = pos.pay(&pos.lane, "2.00").await.ok();
    let id = paid.transaction_id();
    let as_other = |path: String| {
        Reply::read(
            other
                .request(Method::GET, &path)
                .header(CONNECTION_HEADER, &other_connection),
        )
    };
    as_other(format!("/transactions/{id}"))
        .await
        .failure(404, "ERRCD_UNKNOWN_TRANSACTION");
    as_other(format!("/transactions/{id}/receipts"))
        .await
        .failure(404, "ERRCD_UNKNOWN_TRANSACTION");
    let receipts = pos.get(&format!("/transactions/{id}/receipts")).await.ok();
    let receipt = receipts.body["receipts"][0]["receiptID"]
        .as_str()
        .unwrap()
        .to_owned();
    as_other(format!("/receipts/{receipt}"))
        .await
        .failure(404, "ERRCD_NOT_FOUND");
    let listed = as_other("/transactions".to_owned()).await.ok();
    assert_eq!(listed.body["transactions"], json!([]));
    let reversal = Reply::read(
        other
            .request(Method::POST, &format!("/transactions/{id}/reversal"))
            .header(CONNECTION_HEADER, &other_connection),
    )
    .await;
    reversal.failure(404, "ERRCD_UNKNOWN_TRANSACTION");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn scopes_connections_ids_and_headers_are_checked() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let reader = site.pos("reader", "read").await;
    let payment = json!({"poiID": pos.lane, "amount": eur("1.00")});

    reader
        .post("/payments", &payment, None, None)
        .await
        .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
    // Reading needs only `read`.
    let paid = pos.pay(&pos.lane, "1.00").await.ok().transaction_id();
    // Another client's connection is not the caller's.
    let foreign = Reply::read(
        reader
            .client
            .request(Method::GET, &format!("/transactions/{paid}"))
            .header(CONNECTION_HEADER, &pos.connection),
    )
    .await;
    foreign.failure(403, "ERRCD_FORBIDDEN");
    // No connection header.
    Reply::read(pos.client.request(Method::POST, "/payments").json(&payment))
        .await
        .failure(400, "ERRCD_BADREQUEST");
    // No token.
    let anonymous = Reply::read(
        site.app
            .http
            .post(site.app.url("/payments"))
            .header(CONNECTION_HEADER, &pos.connection)
            .json(&payment),
    )
    .await;
    anonymous.failure(401, "ERRCD_UNAUTHORIZED");
    // A disconnected connection.
    let gone = site.pos("pos-2", "read write").await;
    gone.client.disconnect(&gone.connection).await.ok();
    gone.post("/payments", &payment, None, None)
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");

    for path in [
        "/transactions/not-an-id".to_owned(),
        format!("/transactions/{}", uuid::Uuid::new_v4()),
    ] {
        pos.get(&path)
            .await
            .failure(404, "ERRCD_UNKNOWN_TRANSACTION");
    }
    pos.get("/receipts/nope")
        .await
        .failure(404, "ERRCD_NOT_FOUND");
    pos.get("/prompts/nope")
        .await
        .failure(404, "ERRCD_NOT_FOUND");
    pos.get("/reconciliations/nope")
        .await
        .failure(404, "ERRCD_NOT_FOUND");

    for prefer in ["wait=0", "wait=121", "wait=soon"] {
        let reply = Reply::read(
            pos.request(Method::POST, "/payments")
                .header("prefer", prefer)
                .json(&payment),
        )
        .await
        .failure(400, "ERRCD_BADREQUEST");
        assert!(reply.message().contains("Prefer"), "{reply:#?}");
    }
    let long_key = "k".repeat(256);
    let reply = pos
        .post("/payments", &payment, Some(long_key.as_str()), None)
        .await
        .failure(400, "ERRCD_BADREQUEST");
    assert!(reply.message().contains("Idempotency-Key"), "{reply:#?}");
    Reply::read(
        pos.request(Method::POST, "/payments")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await
    .failure(415, "ERRCD_UNSUPPORTED_MEDIA_TYPE");
    Reply::read(
        pos.request(Method::POST, "/payments")
            .header("content-type", "application/json")
            .body("{\"poiID\":"),
    )
    .await
    .failure(400, "ERRCD_BADREQUEST");
    assert_eq!(
        site.lane().ledger().entries().len(),
        1,
        "only the one payment"
    );
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}
