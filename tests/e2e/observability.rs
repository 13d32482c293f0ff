//! Request IDs, the access log, lifecycle lines and metrics, and the whole suite's log check:
//! the capture (`eps_e2e::logs`) sees the EPS's lines, request-scoped ones carry the request ID
//! down to the terminal driver, and no token or secret is among them.

use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, LANE, Reply, SimSite, eur, logs};
use reqwest::Method;
use serde_json::json;

/// A request ID no other test uses.
fn fresh_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn request_ids_are_kept_when_valid_else_generated() {
    let site = SimSite::start(Backend::Sqlite).await;
    let app = &site.app;
    let kept = fresh_id("probe");
    let reply = Reply::read(
        app.http
            .get(app.url("/healthz"))
            .header("x-request-id", &kept),
    )
    .await;
    assert_eq!(reply.headers["x-request-id"], kept.as_str());
    for bad in ["has space", &"x".repeat(65), "semi;colon", ""] {
        let reply = Reply::read(
            app.http
                .get(app.url("/healthz"))
                .header("x-request-id", bad),
        )
        .await;
        let given = reply.headers["x-request-id"].to_str().unwrap();
        assert_ne!(given, bad);
        assert_eq!(given.len(), 32, "a generated id: {given}");
        assert!(given.chars().all(|c| c.is_ascii_hexdigit()), "{given}");
    }
    let reply = Reply::read(app.http.get(app.url("/healthz"))).await;
    assert_eq!(reply.headers["x-request-id"].len(), 32);
    site.stop().await;
}

#[tokio::test]
async fn a_payment_logs_its_lifecycle_with_the_request_id_down_to_the_terminal_driver() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-observed", "read,write").await;
    let id = fresh_id("pay");
    let reply = Reply::read(
        pos.request(Method::POST, "/payments")
            .header("x-request-id", &id)
            .header("prefer", "wait=60")
            .json(&json!({"poiID": pos.lane, "amount": eur("12.34")})),
    )
    .await
    .ok();
    assert_eq!(reply.state(), "approved");
    assert_eq!(reply.headers["x-request-id"], id.as_str());
    let transaction = reply.transaction_id();

    let json: Vec<serde_json::Value> = logs::lines_with(&id)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let access = json
        .iter()
        .find(|l| l["target"] == "eps_api::access")
        .unwrap_or_else(|| panic!("an access line: {json:#?}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["method"], "POST");
    assert_eq!(access["fields"]["route"], "/payments");
    assert_eq!(access["fields"]["status"], 200);
    assert!(access["fields"]["latency_ms"].is_number(), "{access}");
    assert_eq!(access["span"]["client"], "pos-observed");
    assert_eq!(access["span"]["connection"], pos.connection.as_str());
    let said = |message: &str, target: &str| {
        json.iter().any(|l| {
            l["fields"]["message"] == message
                && l["target"].as_str().unwrap_or("").starts_with(target)
        })
    };
    assert!(said("transaction accepted", "eps_core"), "{json:#?}");
    let approved = json.iter().any(|l| {
        l["fields"]["message"] == "transaction state"
            && l["level"] == "INFO"
            && l["fields"]["transaction"] == transaction.as_str()
            && l["fields"]["to"] == "approved"
    });
    assert!(
        approved,
        "the worker's state line carries the request ID: {json:#?}"
    );
    let driver = json.iter().any(|l| {
        l["target"]
            .as_str()
            .unwrap_or("")
            .starts_with("opi_backend::driver")
    });
    assert!(
        driver,
        "the terminal driver's lines carry the request ID: {json:#?}"
    );
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

/// The value of the first sample of `text` whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_cover_terminals_opi_transactions_store_tokens_and_build() {
    let site = SimSite::start(Backend::Sqlite).await;
    let app = &site.app;
    let pos = site.pos("pos-metrics", "read,write").await;
    let reply = pos.pay(&pos.lane, "12.34").await.ok();
    assert_eq!(reply.state(), "approved");
    // A stream replaying the payment's events: their delivery lag is measured.
    let mut stream = SseStream::expect(
        pos.request(Method::GET, "/events")
            .header("last-event-id", "0"),
    )
    .await;
    let first = stream.next_event().await;
    assert!(!first.event.is_empty());
    let brewed = Reply::read(
        app.http
            .request(Method::from_bytes(b"BREW").unwrap(), app.url("/POIs")),
    )
    .await;
    assert_eq!(brewed.status, 405);

    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let terminal = site.terminal(LANE).to_string();
    for series in [
        format!("eps_terminal_link_up{{terminal=\"{terminal}\"}}"),
        format!("eps_terminal_logged_in{{terminal=\"{terminal}\"}}"),
        format!("eps_terminal_busy{{terminal=\"{terminal}\"}}"),
        "eps_opi_round_trip_seconds_bucket{request_type=\"CardPayment\",outcome=\"answered\""
            .to_owned(),
        "eps_opi_round_trip_seconds_count{request_type=\"Login\"".to_owned(),
        "eps_transactions_total{kind=\"payment\",state=\"approved\"}".to_owned(),
        "eps_transactions_unknown ".to_owned(),
        "eps_store_commit_seconds_bucket{store=\"sqlite\"".to_owned(),
        "eps_token_requests_total{result=\"issued\"}".to_owned(),
        "eps_build_info{".to_owned(),
        "eps_event_streams{channel=\"sse\"}".to_owned(),
        "eps_event_delivery_lag_seconds_count{channel=\"sse\"}".to_owned(),
        "eps_http_requests_total{method=\"other\",route=\"/POIs\",status=\"405\"}".to_owned(),
    ] {
        assert!(
            sample(&text, &series).is_some(),
            "{series} missing from:\n{text}"
        );
    }
    assert!(
        sample(
            &text,
            "eps_transactions_total{kind=\"payment\",state=\"approved\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        !text.contains("BREW"),
        "an unknown method is not a label value"
    );
    site.stop().await;
}

#[tokio::test]
async fn the_log_capture_sees_the_eps_and_finds_no_token_or_secret() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-capture", "read,write").await;
    pos.pay(&pos.lane, "7.00").await.ok();
    // The capture is not empty: it holds this client's token issuance and its requests...
    assert!(
        logs::lines_with("pos-capture")
            .iter()
            .any(|l| l.contains("issued a token")),
        "the capture sees the EPS's lines"
    );
    // ...and the token sent with each of them is nowhere.
    assert!(logs::lines_with(pos.client.token()).is_empty());
    logs::assert_clean();
    site.stop().await;
}
