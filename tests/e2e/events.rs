//! Event channels: SSE and WebSocket frames, scoping to the connection's site, the operator
//! stream, and how browsers authenticate. Helpers shared by the other `events_*` modules.

use eps_api::config::SiteConfig;
use eps_core::event::{EventKind, EventRecord, NewEvent};
use eps_core::ids::{MerchantId, PoiId, TransactionId};
use eps_core::transaction::{TransactionKind, TransactionState};
use eps_e2e::sse::SseStream;
use eps_e2e::ws::{WsStream, ws_url};
use eps_e2e::{ApiClient, CONNECTION_HEADER, TestApp, TestAppBuilder, connect_body};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

/// The site of the spec's example connect body.
pub(crate) const SITE_A: &str = "1234567890";
/// Another site.
pub(crate) const SITE_B: &str = "0987654321";

/// Two sites without POIs (so no terminal reports its status), heartbeats out of the way.
pub(crate) fn events_app() -> TestAppBuilder {
    TestApp::builder().configure(|c| {
        c.sites = [SITE_A, SITE_B]
            .into_iter()
            .map(|merchant| SiteConfig {
                merchant_id: merchant.to_owned(),
                name: None,
                pois: Vec::new(),
            })
            .collect();
        c.events.heartbeat_interval_secs = 3_600.0;
    })
}

/// A site system of `merchant`: a `read` client and its connection id.
pub(crate) async fn site_system(app: &TestApp, name: &str, merchant: &str) -> (ApiClient, String) {
    let client = app.client_for(name, "read", merchant).await;
    let mut body = connect_body(1);
    body["siteSystemIDs"] = serde_json::json!([
        {"id": merchant, "idType": "merchantID", "current": "yes"}
    ]);
    let reply = client.connect_with(&body, None).await.ok();
    let connection = reply.body["connectionID"].as_str().unwrap().to_owned();
    (client, connection)
}

/// A `transactionUpdatedEvent` of `merchant` (none: operators only), stamped by the app's clock.
pub(crate) fn event(app: &TestApp, merchant: Option<&str>) -> NewEvent {
    let site = MerchantId::parse(merchant.unwrap_or("nobody")).unwrap();
    NewEvent {
        merchant_id: merchant.map(|m| MerchantId::parse(m).unwrap()),
        at: app.clock_now(),
        kind: EventKind::TransactionUpdated {
            transaction_id: TransactionId::generate(),
            poi_id: PoiId::derive(&site, "pointOfService", "001"),
            transaction_kind: TransactionKind::Payment,
            state: TransactionState::Approved,
        },
    }
}

/// `count` events of `merchant`.
pub(crate) fn events_of(app: &TestApp, merchant: &str, count: usize) -> Vec<NewEvent> {
    (0..count).map(|_| event(app, Some(merchant))).collect()
}

/// Appends `events` to the log as the payment service does.
pub(crate) async fn publish(app: &TestApp, events: &[NewEvent]) -> Vec<EventRecord> {
    app.state
        .events
        .append(events)
        .await
        .expect("events stored")
}

/// The ids of `records` as the wire writes them.
pub(crate) fn ids(records: &[EventRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.to_string()).collect()
}

/// `GET /events` for `connection`.
pub(crate) fn sse_request(client: &ApiClient, connection: &str) -> RequestBuilder {
    client
        .request(Method::GET, "/events")
        .header(CONNECTION_HEADER, connection)
}

/// `GET /events/ws` for `connection`, with `query` (e.g. `lastEventID=4`) when not empty.
pub(crate) async fn open_ws(
    app: &TestApp,
    client: &ApiClient,
    connection: &str,
    query: &str,
) -> WsStream {
    let bearer = format!("Bearer {}", client.token());
    WsStream::expect(
        &ws_url(&app.url(&format!("/events/ws?{query}"))),
        &[
            ("authorization", bearer.as_str()),
            (CONNECTION_HEADER, connection),
        ],
    )
    .await
}

/// The `eventID` of a message.
pub(crate) fn event_id(message: &Value) -> String {
    message["eventID"].as_str().expect("eventID").to_owned()
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> time::OffsetDateTime {
        eps_core::clock::Clock::now(&self.clock)
    }
}

#[tokio::test]
async fn sse_frames_carry_id_event_and_data_and_are_never_compressed() {
    let app = events_app().spawn().await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut stream = SseStream::expect(
        sse_request(&pos, &connection).header("accept-encoding", "gzip, deflate, br, zstd"),
    )
    .await;
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    assert_eq!(stream.header("content-encoding"), None, "never compressed");

    let published = publish(&app, &[event(&app, Some(SITE_A))]).await;
    let frame = stream.next_event().await;
    assert_eq!(stream.retry, Some(3_000), "retry: comes first");
    let EventKind::TransactionUpdated {
        transaction_id,
        poi_id,
        ..
    } = &published[0].kind
    else {
        unreachable!()
    };
    assert_eq!(frame.id.as_deref(), Some(ids(&published)[0].as_str()));
    assert_eq!(frame.event, "transactionUpdatedEvent");
    assert_eq!(
        frame.data,
        serde_json::json!({
            "eventID": ids(&published)[0],
            "event": "transactionUpdatedEvent",
            "timestamp": "2026-01-05T09:00:00.000Z",
            "transactionID": transaction_id.to_string(),
            "poiID": poi_id.to_string(),
            "type": "payment",
            "state": "approved",
        })
    );
    drop(stream);
    app.stop().await;
}

#[tokio::test]
async fn websocket_messages_are_the_sse_data() {
    let app = events_app().spawn().await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ws = open_ws(&app, &pos, &connection, "").await;
    let published = publish(&app, &events_of(&app, SITE_A, 3)).await;
    for id in ids(&published) {
        let frame = sse.next_event().await;
        let message = ws.next_event().await;
        assert_eq!(frame.id.as_deref(), Some(id.as_str()));
        assert_eq!(message, frame.data, "the same JSON object");
    }
    ws.close().await;
    drop(sse);
    app.stop().await;
}

#[tokio::test]
async fn another_sites_events_never_arrive() {
    let app = events_app().spawn().await;
    let (pos_a, conn_a) = site_system(&app, "pos-a", SITE_A).await;
    let (pos_b, conn_b) = site_system(&app, "pos-b", SITE_B).await;
    let mut sse_a = SseStream::expect(sse_request(&pos_a, &conn_a)).await;
    let mut ws_b = open_ws(&app, &pos_b, &conn_b, "").await;

    let published = publish(
        &app,
        &[
            event(&app, Some(SITE_B)),
            event(&app, None),
            event(&app, Some(SITE_A)),
            event(&app, Some(SITE_B)),
            event(&app, Some(SITE_A)),
        ],
    )
    .await;
    let ids = ids(&published);
    // A marker per site: what arrives before it is all that was delivered.
    let markers = publish(
        &app,
        &[event(&app, Some(SITE_A)), event(&app, Some(SITE_B))],
    )
    .await;
    let markers = self::ids(&markers);
    let seen_a: Vec<_> = [
        sse_a.next_event().await,
        sse_a.next_event().await,
        sse_a.next_event().await,
    ]
    .into_iter()
    .map(|f| f.id.unwrap())
    .collect();
    assert_eq!(
        seen_a,
        vec![ids[2].clone(), ids[4].clone(), markers[0].clone()]
    );
    let seen_b: Vec<_> = [
        ws_b.next_event().await,
        ws_b.next_event().await,
        ws_b.next_event().await,
    ]
    .iter()
    .map(event_id)
    .collect();
    assert_eq!(
        seen_b,
        vec![ids[0].clone(), ids[3].clone(), markers[1].clone()]
    );

    // Replay from the start is scoped the same way.
    let mut replay =
        SseStream::expect(sse_request(&pos_a, &conn_a).header("last-event-id", "0")).await;
    for expected in [&ids[2], &ids[4], &markers[0]] {
        assert_eq!(replay.next_event().await.id.as_ref(), Some(expected));
    }
    ws_b.close().await;
    drop((sse_a, replay));
    app.stop().await;
}

#[tokio::test]
async fn operators_see_every_event_and_site_systems_cannot() {
    let app = events_app().spawn().await;
    let admin = app.client("ops", "admin").await;
    let reader = app.client("pos", "read").await;
    SseStream::open(reader.request(Method::GET, "/admin/events"))
        .await
        .err()
        .expect("refused")
        .failure(403, "ERRCD_INSUFFICIENT_SCOPE");

    let mut sse = SseStream::expect(admin.request(Method::GET, "/admin/events")).await;
    let bearer = format!("Bearer {}", admin.token());
    let mut ws = WsStream::expect(
        &ws_url(&app.url("/admin/events/ws")),
        &[("authorization", bearer.as_str())],
    )
    .await;
    let published = publish(
        &app,
        &[
            event(&app, Some(SITE_A)),
            event(&app, None),
            event(&app, Some(SITE_B)),
        ],
    )
    .await;
    for id in ids(&published) {
        assert_eq!(sse.next_event().await.id, Some(id.clone()));
        assert_eq!(event_id(&ws.next_event().await), id);
    }
    ws.close().await;
    drop(sse);
    app.stop().await;
}

#[tokio::test]
async fn browsers_may_send_token_and_connection_in_the_query_of_these_routes_only() {
    let app = events_app().spawn().await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let token = pos.token().to_owned();
    let query = format!("access_token={token}&connectionID={connection}");

    let mut sse = SseStream::expect(app.http.get(app.url(&format!("/events?{query}")))).await;
    let mut ws = WsStream::expect(&ws_url(&app.url(&format!("/events/ws?{query}"))), &[]).await;
    let published = publish(&app, &[event(&app, Some(SITE_A))]).await;
    assert_eq!(sse.next_event().await.id, Some(ids(&published)[0].clone()));
    assert_eq!(event_id(&ws.next_event().await), ids(&published)[0]);

    // The token once only; the connection once only.
    SseStream::open(
        app.http
            .get(app.url(&format!("/events?{query}")))
            .bearer_auth(&token),
    )
    .await
    .err()
    .expect("refused")
    .failure(401, "ERRCD_UNAUTHORIZED");
    SseStream::open(
        app.http
            .get(app.url(&format!("/events?{query}")))
            .header(CONNECTION_HEADER, &connection),
    )
    .await
    .err()
    .expect("refused")
    .failure(400, "ERRCD_BADREQUEST");
    // No connection, an unknown one, another client's.
    SseStream::open(pos.request(Method::GET, "/events"))
        .await
        .err()
        .expect("refused")
        .failure(400, "ERRCD_BADREQUEST");
    SseStream::open(sse_request(&pos, &uuid::Uuid::new_v4().to_string()))
        .await
        .err()
        .expect("refused")
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");
    let other = app.client("other", "read").await;
    SseStream::open(sse_request(&other, &connection))
        .await
        .err()
        .expect("refused")
        .failure(403, "ERRCD_FORBIDDEN");
    let writer = app.client("writer", "write").await;
    SseStream::open(sse_request(&writer, &connection))
        .await
        .err()
        .expect("refused")
        .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
    let (status, body) = WsStream::open(
        &ws_url(&app.url(&format!("/events/ws?connectionID={connection}"))),
        &[],
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(
        (status, body["statusReturn"]["error"].as_str()),
        (401, Some("ERRCD_UNAUTHORIZED"))
    );
    // Elsewhere the query token is not a credential.
    let admin = app.client("ops", "admin").await;
    SseStream::open(
        app.http
            .get(app.url(&format!("/admin/events?access_token={}", admin.token()))),
    )
    .await
    .err()
    .expect("refused")
    .failure(401, "ERRCD_UNAUTHORIZED");
    pos.get(&format!(
        "/POIs?access_token={token}&connectionID={connection}"
    ))
    .await
    .failure(400, "ERRCD_BADREQUEST");
    // A plain GET is not a WebSocket handshake.
    pos.get(&format!("/events/ws?connectionID={connection}"))
        .await
        .failure(400, "ERRCD_BADREQUEST");

    ws.close().await;
    drop(sse);
    app.stop().await;
}

#[tokio::test]
async fn last_event_ids_are_checked() {
    let app = events_app().spawn().await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    publish(&app, &events_of(&app, SITE_A, 2)).await;
    for bad in ["x", "-1", "1.5"] {
        SseStream::open(sse_request(&pos, &connection).header("last-event-id", bad))
            .await
            .err()
            .expect("refused")
            .failure(400, "ERRCD_BADREQUEST");
    }
    let reply = SseStream::open(sse_request(&pos, &connection).header("last-event-id", "3"))
        .await
        .err()
        .expect("beyond the newest event")
        .failure(400, "ERRCD_BADREQUEST");
    assert!(
        reply.message().contains("beyond the newest event (2)"),
        "{reply:#?}"
    );
    let (status, _) = WsStream::open(
        &ws_url(&app.url(&format!(
            "/events/ws?connectionID={connection}&lastEventID=9"
        ))),
        &[("authorization", &format!("Bearer {}", pos.token()))],
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(status, 400);
    // An empty Last-Event-ID is no resume point, as in the SSE standard: the stream starts live.
    let mut live =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", "")).await;
    let next = publish(&app, &[event(&app, Some(SITE_A))]).await;
    assert_eq!(live.next_event().await.id, Some(ids(&next)[0].clone()));
    drop(live);
    app.stop().await;
}
