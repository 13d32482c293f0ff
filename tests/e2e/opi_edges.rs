//! OPI edges seen through the API: what a card terminal reports while a payment runs reaches the
//! site system's event stream, and each reversal reaches the terminal as the request type that
//! matches its original.

use eps_e2e::pos::WAIT;
use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, CONNECTION_HEADER, PUMP, SimSite, eur};
use opi_backend::sim::SimConfig;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_presented_card_reaches_get_events_as_card_acquisition() {
    let site = SimSite::builder(Backend::Sqlite)
        .sim_config(SimConfig {
            card_events: true,
            ..SimConfig::default()
        })
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let mut events = SseStream::expect(
        pos.client
            .request(Method::GET, "/events")
            .header(CONNECTION_HEADER, &pos.connection),
    )
    .await;
    let paid = pos.pay(&pos.lane, "12.00").await.ok();
    assert_eq!(paid.state(), "approved");
    let id = paid.transaction_id();
    loop {
        let frame = events.next_event().await;
        if frame.event == "cardAcquisitionEvent" {
            assert_eq!(frame.data["transactionID"], id.as_str());
            assert_eq!(frame.data["poiID"], pos.lane.as_str());
            break;
        }
        assert!(
            !(frame.event == "transactionUpdatedEvent"
                && frame.data["transactionID"] == id.as_str()
                && frame.data["state"] == "approved"),
            "the approval came before any cardAcquisitionEvent"
        );
    }
    drop(events);
    site.stop().await;
}

/// The `RequestType` the terminal received for the transaction `id`.
async fn sent_as(site: &SimSite, id: &str) -> String {
    let record = site
        .transactions()
        .await
        .into_iter()
        .find(|r| r.id.to_string() == id)
        .expect("stored");
    site.ledger_entry(&record)
        .expect("the terminal processed it")
        .request_type
}

#[tokio::test]
async fn each_reversal_reaches_the_terminal_as_the_type_of_its_original() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("fcc", "read write").await;
        let reverse = |original: String| {
            let pos = pos.clone();
            async move {
                pos.post(
                    &format!("/transactions/{original}/reversal"),
                    &json!({}),
                    None,
                    Some(WAIT),
                )
                .await
                .ok()
            }
        };

        let paid = pos.pay(&pos.lane, "20.00").await.ok().transaction_id();
        let reversed = reverse(paid).await;
        assert_eq!(reversed.state(), "approved");
        assert_eq!(
            sent_as(&site, &reversed.transaction_id()).await,
            "PaymentReversal"
        );

        let reserved = pos
            .post(
                "/authorizations",
                &json!({"logicalID": PUMP.1, "workstationType": PUMP.0, "amount": eur("80.00")}),
                None,
                Some(WAIT),
            )
            .await
            .ok()
            .transaction_id();
        let reversed = reverse(reserved).await;
        assert_eq!(reversed.state(), "approved");
        assert_eq!(
            sent_as(&site, &reversed.transaction_id()).await,
            "PreAuthReversal"
        );

        let paid = pos.pay(&pos.lane, "30.00").await.ok().transaction_id();
        let refund = pos
            .post(
                "/refunds",
                &json!({"originalTransactionID": paid, "amount": eur("5.00")}),
                None,
                Some(WAIT),
            )
            .await
            .ok()
            .transaction_id();
        let reversed = reverse(refund).await;
        assert_eq!(reversed.state(), "approved");
        assert_eq!(
            sent_as(&site, &reversed.transaction_id()).await,
            "RefundReversal"
        );

        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
