//! A payment's events end to end: a simulated OPI terminal on loopback approves a payment
//! started through the payment service, and SSE and WebSocket subscribers of the site receive
//! its events — state changes, prompts, receipts — in log order.

use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_core::event::EventKind;
use eps_core::ids::{
    ClientId, ConnectionId, EventId, MerchantId, PoiId, ReceiptId, TerminalId, TransactionId,
};
use eps_core::money::{Amount, Currency};
use eps_core::payments::{Caller, TransactionRequest};
use eps_core::transaction::TransactionKind;
use eps_e2e::TestApp;
use eps_e2e::sse::SseStream;
use opi_backend::sim::{SimConfig, SimServer};
use serde_json::Value;

use crate::events::{SITE_A, event, event_id, ids, open_ws, publish, site_system, sse_request};

/// Site A with one POI served by `sim`.
fn with_terminal(sim: &SimServer) -> eps_e2e::TestAppBuilder {
    let address = sim.channel0_address().to_string();
    TestApp::builder().configure(move |c| {
        c.sites = vec![SiteConfig {
            merchant_id: SITE_A.to_owned(),
            name: None,
            pois: vec![PoiConfig {
                logical_id: "001".to_owned(),
                workstation_type: "pointOfService".to_owned(),
                poi_id: None,
                terminal: TerminalConfig {
                    id: Some("lane-1".to_owned()),
                    address,
                    callback: "127.0.0.1:0".parse().unwrap(),
                    workstation_id: "POS001".to_owned(),
                    profile: Default::default(),
                    pop_id: None,
                    application_sender: None,
                    callback_source: None,
                    currency: None,
                },
            }],
        }];
        c.events.heartbeat_interval_secs = 3_600.0;
    })
}

/// Whether a message belongs to `transaction` (its id, or a receipt or prompt of it).
fn of(message: &Value, transaction: &str) -> bool {
    message["transactionID"] == transaction
}

#[tokio::test]
async fn sse_and_websocket_receive_a_payments_events_in_order() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
        .await
        .unwrap();
    let app = with_terminal(&sim).spawn().await;
    let callback = app.callbacks.values().next().expect("one terminal");
    sim.set_callback(callback.to_string());
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut sse =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", "0")).await;
    let mut ws = open_ws(&app, &pos, &connection, "lastEventID=0").await;

    // The terminal comes online (poiStatusEvent) before anything is asked of it.
    let poi = PoiId::derive(&MerchantId::parse(SITE_A).unwrap(), "pointOfService", "001");
    loop {
        let frame = sse.next_event().await;
        if frame.event == "poiStatusEvent" && frame.data["status"] == "online" {
            assert_eq!(frame.data["poiID"], poi.to_string());
            break;
        }
    }

    let started = app
        .state
        .payments
        .start(TransactionRequest {
            kind: TransactionKind::Payment,
            caller: Caller {
                client_id: ClientId::parse("pos").unwrap(),
                connection_id: ConnectionId::parse(&connection).unwrap(),
                merchant_id: MerchantId::parse(SITE_A).unwrap(),
            },
            poi_id: Some(poi),
            amount: Some(Amount::parse("12.00", Currency::EUR).unwrap()),
            original_id: None,
            reference: Some("lane 1 sale".to_owned()),
            idempotency: None,
        })
        .await
        .expect("the payment starts");
    let transaction = started.transaction.id;
    let done = app
        .state
        .payments
        .wait_final(
            &MerchantId::parse(SITE_A).unwrap(),
            &transaction,
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(done.state.as_str(), "approved");

    // The log holds the truth: every event of this transaction, in id order.
    let log = app
        .state
        .events
        .replay(
            Some(&MerchantId::parse(SITE_A).unwrap()),
            EventId::ZERO,
            1_000,
        )
        .await
        .unwrap();
    let expected: Vec<_> = log
        .events
        .iter()
        .filter(|e| belongs(&e.kind, transaction))
        .collect();
    let expected_ids: Vec<_> = expected.iter().map(|e| e.id.to_string()).collect();
    let names: Vec<_> = expected.iter().map(|e| e.kind.name()).collect();
    assert_eq!(names.first(), Some(&"transactionUpdatedEvent"));
    assert_eq!(names.last(), Some(&"transactionUpdatedEvent"));
    assert!(names.contains(&"receiptAvailableEvent"), "{names:?}");

    // Both channels deliver exactly those, in that order; a marker ends the reading.
    let marker = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await).remove(0);
    let transaction_id = transaction.to_string();
    let mut over_sse = Vec::new();
    loop {
        let frame = sse.next_event().await;
        if frame.id.as_deref() == Some(marker.as_str()) {
            break;
        }
        if of(&frame.data, &transaction_id) {
            assert_eq!(frame.id.as_deref(), frame.data["eventID"].as_str());
            assert_eq!(frame.event, frame.data["event"].as_str().unwrap());
            over_sse.push(frame.data);
        }
    }
    let mut over_ws = Vec::new();
    loop {
        let message = ws.next_event().await;
        if event_id(&message) == marker {
            break;
        }
        if of(&message, &transaction_id) {
            over_ws.push(message);
        }
    }
    let sse_ids: Vec<_> = over_sse.iter().map(event_id).collect();
    assert_eq!(
        sse_ids, expected_ids,
        "SSE: every event of the payment, in order"
    );
    assert_eq!(over_ws, over_sse, "WebSocket: the same messages");
    let states: Vec<_> = over_sse
        .iter()
        .filter(|m| m["event"] == "transactionUpdatedEvent")
        .map(|m| m["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states.first().map(String::as_str), Some("pending"));
    assert_eq!(states.last().map(String::as_str), Some("approved"));
    // Each receipt announced can be fetched.
    for receipt in over_sse
        .iter()
        .filter(|m| m["event"] == "receiptAvailableEvent")
    {
        let id = ReceiptId::parse(receipt["receiptID"].as_str().unwrap()).unwrap();
        let stored = app
            .state
            .payments
            .receipt(&MerchantId::parse(SITE_A).unwrap(), &id)
            .await
            .expect("the receipt is stored");
        assert_eq!(stored.transaction_id, Some(transaction));
    }
    ws.close().await;
    drop(sse);
    let sims = std::collections::BTreeMap::from([(TerminalId::parse("lane-1").unwrap(), sim)]);
    let agreement = eps_e2e::sim::agreement_of(&app, &sims).await;
    assert!(agreement.is_exact(), "{agreement}");
    app.stop().await;
    for (_, sim) in sims {
        sim.shutdown().await;
    }
}

/// Whether a stored event is about `transaction`.
fn belongs(kind: &EventKind, transaction: TransactionId) -> bool {
    match kind {
        EventKind::TransactionUpdated { transaction_id, .. } => *transaction_id == transaction,
        EventKind::ReceiptAvailable { transaction_id, .. }
        | EventKind::PromptAvailable { transaction_id, .. }
        | EventKind::CardAcquisition { transaction_id, .. } => *transaction_id == Some(transaction),
        _ => false,
    }
}
