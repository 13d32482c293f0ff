//! `/oauth/token` under a flood of bad requests: secret checks run a few at a time and failures
//! are limited per client_id and per address, so the flood gets 429s (RFC 6749 body,
//! `Retry-After`) while a payment on the simulated lane runs to its approval.

use std::sync::Arc;

use eps_core::event::{EventKind, EventRecord};
use eps_core::prompt::PromptKind;
use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, Reply, SimSite};
use futures_util::future::join_all;
use serde_json::json;
use time::Duration;
use tokio::sync::broadcast::Receiver;

/// Concurrent bad token requests.
const FLOOD: usize = 1_000;

/// The id of the next input prompt announced in the event log.
async fn next_input(events: &mut Receiver<Arc<EventRecord>>) -> String {
    let wait = async {
        loop {
            let event = events.recv().await.expect("event log open");
            if let EventKind::PromptAvailable {
                prompt_id,
                prompt_kind: PromptKind::Input,
                ..
            } = &event.kind
            {
                return prompt_id.to_string();
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(WAIT), wait)
        .await
        .expect("an input prompt within the bound")
}

#[tokio::test]
async fn a_flood_of_bad_token_requests_gets_429s_while_a_payment_is_approved() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let victim = site.app.add_client("pos-2", "read").await;
    let mut events = site.app.state.events.subscribe();

    // .13: the terminal asks for a confirmation, so the payment is running (waiting for the
    // cashier) when the flood starts, and finishes while it goes on.
    let payment = pos.start_payment(&pos.lane, "42.13").await;
    assert_eq!(payment.status, 202, "{payment:#?}");
    let transaction = payment.transaction_id();
    let prompt = next_input(&mut events).await;

    // Half guess the victim's secret, half try client ids that do not exist.
    let url = site.app.url("/oauth/token");
    let flood = (0..FLOOD).map(|n| {
        let client_id = if n % 2 == 0 {
            victim.client_id.clone()
        } else {
            format!("guess-{n}")
        };
        let request = site.app.http.post(&url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", "wrong"),
        ]);
        Reply::read(request)
    });
    let cashier = async {
        pos.post(
            &format!("/prompts/{prompt}/response"),
            &json!({"confirmation": "yes"}),
            None,
            None,
        )
        .await
        .ok();
        pos.outcome(&transaction).await
    };
    let (replies, outcome) = tokio::join!(join_all(flood), cashier);

    assert_eq!(outcome["state"], "approved", "{outcome:#}");
    let throttled: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!throttled.is_empty(), "no 429 among {FLOOD} bad requests");
    for reply in &replies {
        assert!(
            [401, 429].contains(&reply.status),
            "a bad request is refused or throttled: {reply:#?}"
        );
        assert!(reply.body["error_description"].is_string(), "{reply:#?}");
    }
    for reply in &throttled {
        assert_eq!(reply.body["error"], "temporarily_unavailable", "{reply:#?}");
        let retry_after: u64 = reply
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("Retry-After in seconds: {reply:#?}"));
        assert!(retry_after >= 1);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    // Both failure limits answered: the victim's client_id and the (loopback) source address.
    let said = |what: &str| {
        throttled.iter().any(|r| {
            r.body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(what))
        })
    };
    assert!(said("for this client_id") && said("from this address"));
    // Far fewer secret checks than requests: the buckets turned most away unhashed.
    let refused = replies.iter().filter(|r| r.status == 401).count();
    assert!(refused < FLOOD / 2, "{refused} requests were hashed");

    // Once the buckets refill (the server's clock), the victim obtains a token as before.
    site.app.advance(Duration::minutes(5));
    site.app.token(&victim).await;
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}
