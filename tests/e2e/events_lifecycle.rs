//! A stream's life: heartbeats, the end of its connection (disconnect, force-disconnect,
//! expiry), server shutdown, and `newPOIEvent` after a restart. (That the query's access token
//! never reaches the logs is proved on the `eps` binary: `eps-api/tests/binary/event_logs.rs`.)

use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_core::ids::{MerchantId, PoiId};
use eps_e2e::TestApp;
use eps_e2e::sse::{SseFrame, SseStream};
use eps_e2e::ws::{WsItem, WsStream, ws_url};
use reqwest::Method;
use time::Duration;

use crate::events::{
    SITE_A, event, event_id, events_app, ids, open_ws, publish, site_system, sse_request,
};

/// Frames until the first heartbeat.
async fn sse_heartbeat(stream: &mut SseStream) -> SseFrame {
    loop {
        let frame = stream.next_frame().await.expect("the stream goes on");
        if frame.event == "heartBeatEvent" {
            return frame;
        }
    }
}

/// Messages until the first heartbeat.
async fn ws_heartbeat(stream: &mut WsStream) -> serde_json::Value {
    loop {
        match stream.next_item().await {
            WsItem::Message(m) if m["event"] == "heartBeatEvent" => return m,
            WsItem::Message(_) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// The last frame of a stream that the server ends, and that it then ends.
async fn sse_closing(stream: &mut SseStream) -> SseFrame {
    let frames = stream.rest().await;
    let last = frames.last().expect("a closing frame").clone();
    assert_eq!(last.event, "streamClosedEvent", "{frames:?}");
    assert_eq!(last.id, None);
    last
}

#[tokio::test]
async fn heartbeats_arrive_on_every_stream_and_carry_the_position() {
    let app = events_app()
        .configure(|c| c.events.heartbeat_interval_secs = 0.05)
        .spawn()
        .await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let admin = app.client("ops", "admin").await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ws = open_ws(&app, &pos, &connection, "").await;
    let mut ops = SseStream::expect(admin.request(Method::GET, "/admin/events")).await;

    let beat = sse_heartbeat(&mut sse).await;
    assert_eq!(beat.id, None, "no id: Last-Event-ID is not moved");
    assert_eq!(
        beat.data["eventID"], "0",
        "the position: nothing delivered yet"
    );
    assert!(beat.data["timestamp"].is_string());
    assert_eq!(ws_heartbeat(&mut ws).await["eventID"], "0");
    assert_eq!(sse_heartbeat(&mut ops).await.event, "heartBeatEvent");

    let published = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await);
    assert_eq!(sse.next_event().await.id, Some(published[0].clone()));
    assert_eq!(sse_heartbeat(&mut sse).await.data["eventID"], published[0]);
    assert_eq!(event_id(&ws.next_event().await), published[0]);
    assert_eq!(ws_heartbeat(&mut ws).await["eventID"], published[0]);
    ws.close().await;
    drop((sse, ops));
    app.stop().await;
}

#[tokio::test]
async fn a_disconnect_closes_that_connections_streams_at_once() {
    let app = events_app().spawn().await;
    let (pos, first) = site_system(&app, "pos", SITE_A).await;
    let second = pos
        .connect_with(&eps_e2e::connect_body(2), None)
        .await
        .ok()
        .body["connectionID"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut sse = SseStream::expect(sse_request(&pos, &first)).await;
    let mut ws = open_ws(&app, &pos, &first, "").await;
    let mut other = SseStream::expect(sse_request(&pos, &second)).await;

    pos.disconnect(&first).await.ok();
    let closing = sse_closing(&mut sse).await;
    assert_eq!(closing.data["reason"], "connectionClosed");
    let (messages, end) = ws.rest().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["reason"], "connectionClosed");
    assert_eq!(
        end,
        WsItem::Closed(Some((1008, "connectionClosed".to_owned())))
    );

    // The other connection's stream is untouched, until an operator forces it off.
    let published = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await);
    assert_eq!(other.next_event().await.id, Some(published[0].clone()));
    let admin = app.client("ops", "admin").await;
    eps_e2e::Reply::read(admin.request(Method::DELETE, &format!("/admin/connections/{second}")))
        .await
        .ok();
    assert_eq!(
        sse_closing(&mut other).await.data["reason"],
        "connectionClosed"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_expired_connection_closes_its_streams_at_the_next_heartbeat() {
    let app = events_app()
        .configure(|c| c.events.heartbeat_interval_secs = 0.05)
        .spawn()
        .await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ws = open_ws(&app, &pos, &connection, "").await;
    sse_heartbeat(&mut sse).await;
    ws_heartbeat(&mut ws).await;
    // Three missed heartbeats of 30 s (the default policy).
    app.advance(Duration::seconds(91));
    assert_eq!(
        sse_closing(&mut sse).await.data["reason"],
        "connectionExpired"
    );
    let (messages, end) = ws.rest().await;
    assert_eq!(messages.last().unwrap()["reason"], "connectionExpired");
    assert_eq!(
        end,
        WsItem::Closed(Some((1008, "connectionExpired".to_owned())))
    );
    app.stop().await;
}

#[tokio::test]
async fn shutdown_ends_every_stream() {
    let app = events_app().spawn().await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let admin = app.client("ops", "admin").await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ops = SseStream::expect(admin.request(Method::GET, "/admin/events")).await;
    let bearer = format!("Bearer {}", admin.token());
    let mut ws = WsStream::expect(
        &ws_url(&app.url("/admin/events/ws")),
        &[("authorization", bearer.as_str())],
    )
    .await;
    let published = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await);
    assert_eq!(sse.next_event().await.id, Some(published[0].clone()));

    let stopping = tokio::spawn(app.stop());
    let closing = sse_closing(&mut sse).await;
    assert_eq!(closing.data["reason"], "shutdown");
    assert_eq!(closing.data["eventID"], published[0], "where to resume");
    assert_eq!(sse_closing(&mut ops).await.data["reason"], "shutdown");
    let (_, end) = ws.rest().await;
    assert_eq!(end, WsItem::Closed(Some((1001, "shutdown".to_owned()))));
    stopping.await.unwrap();
}

#[tokio::test]
async fn a_poi_added_to_the_configuration_is_announced_after_the_restart() {
    let poi = |logical: &str| PoiConfig {
        logical_id: logical.to_owned(),
        workstation_type: "fuelingPoint".to_owned(),
        poi_id: None,
        terminal: TerminalConfig {
            id: None,
            // Nothing listens there: the terminal is offline, which does not matter here.
            address: "127.0.0.1:1".to_owned(),
            callback: "127.0.0.1:0".parse().unwrap(),
            workstation_id: format!("FP{logical}"),
            profile: Default::default(),
            pop_id: None,
            application_sender: None,
            callback_source: None,
            currency: None,
        },
    };
    let mut app = TestApp::builder()
        .configure(|c| {
            c.sites = vec![SiteConfig {
                merchant_id: SITE_A.to_owned(),
                name: None,
                pois: vec![poi("001")],
            }]
        })
        .spawn()
        .await;
    let site = MerchantId::parse(SITE_A).unwrap();
    let new_pois = |records: &[eps_core::event::EventRecord]| -> Vec<PoiId> {
        records
            .iter()
            .filter_map(|r| match r.kind {
                eps_core::event::EventKind::NewPoi { poi_id } => Some(poi_id),
                _ => None,
            })
            .collect()
    };
    let log = app
        .state
        .events
        .replay(None, eps_core::ids::EventId::ZERO, 1_000)
        .await
        .unwrap();
    assert_eq!(
        new_pois(&log.events),
        vec![],
        "the first start announces nothing"
    );

    app.config.sites[0].pois.push(poi("002"));
    let app = app.restart().await;
    let added = PoiId::derive(&site, "fuelingPoint", "002");
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut replay =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", "0")).await;
    let marker = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await);
    let mut announced = Vec::new();
    loop {
        let frame = replay.next_event().await;
        if frame.id.as_ref() == Some(&marker[0]) {
            break;
        }
        if frame.event == "newPOIEvent" {
            announced.push(frame.data["poiID"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(announced, vec![added.to_string()]);
    // `GET /POIs` lists it, as the event tells the site system to check.
    let pois = pos.pois(&connection).await.ok();
    assert!(pois.body.to_string().contains(&added.to_string()));
    drop(replay);
    app.stop().await;
}
