//! Durable replay: a reconnect with `Last-Event-ID` gets exactly what it missed, a gap beyond
//! retention is announced, and a subscriber that falls behind is cut with a final message,
//! resumes without loss, and never holds up the others.

use eps_e2e::sse::SseStream;
use eps_e2e::ws::{WsItem, WsStream, ws_url};
use eps_e2e::{Backend, CONNECTION_HEADER};
use serde_json::Value;
use time::Duration;

use crate::events::{
    SITE_A, SITE_B, event, event_id, events_app, events_of, ids, open_ws, publish, site_system,
    sse_request,
};

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_the_missed_events() {
    for backend in Backend::all() {
        let app = events_app().backend(backend).spawn().await;
        let (pos, connection) = site_system(&app, "pos", SITE_A).await;
        let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
        let mut ws = open_ws(&app, &pos, &connection, "").await;
        let first = ids(&publish(&app, &events_of(&app, SITE_A, 3)).await);
        for id in &first {
            assert_eq!(sse.next_event().await.id.as_ref(), Some(id));
            assert_eq!(&event_id(&ws.next_event().await), id);
        }
        drop(sse);
        ws.close().await;

        // Missed while away: three of its site's, two of another's.
        let mut missed = Vec::new();
        for merchant in [SITE_A, SITE_B, SITE_A, SITE_B, SITE_A] {
            let record = publish(&app, &[event(&app, Some(merchant))]).await;
            if merchant == SITE_A {
                missed.extend(ids(&record));
            }
        }
        let last = first.last().unwrap().as_str();
        let mut sse =
            SseStream::expect(sse_request(&pos, &connection).header("last-event-id", last)).await;
        let mut ws = open_ws(&app, &pos, &connection, &format!("lastEventID={last}")).await;
        for id in &missed {
            assert_eq!(sse.next_event().await.id.as_ref(), Some(id), "SSE replay");
            assert_eq!(&event_id(&ws.next_event().await), id, "WebSocket replay");
        }
        // Then live, with neither a gap nor a duplicate.
        let live = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await);
        assert_eq!(sse.next_event().await.id, Some(live[0].clone()));
        assert_eq!(event_id(&ws.next_event().await), live[0]);
        drop(sse);
        ws.close().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_gap_beyond_retention_is_announced_never_skipped() {
    let app = events_app().spawn().await;
    let old = ids(&publish(&app, &events_of(&app, SITE_A, 3)).await);
    app.advance(Duration::hours(73));
    // Tokens and connections of three days ago are long gone: a fresh site system.
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let kept = ids(&publish(&app, &events_of(&app, SITE_A, 2)).await);
    // What the retention task does every `purge_interval_secs` (default retention 72 h).
    let now = eps_core::clock::Clock::now(&app.clock);
    assert_eq!(
        app.state
            .events
            .purge(now - Duration::hours(72))
            .await
            .unwrap(),
        3
    );

    let mut sse =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", &old[0])).await;
    let lost = sse.next_event().await;
    assert_eq!(lost.event, "eventsLostEvent");
    assert_eq!(
        lost.id.as_deref(),
        Some(old[2].as_str()),
        "resume point past the loss"
    );
    assert_eq!(lost.data["firstLostEventID"], old[1]);
    assert_eq!(lost.data["lastLostEventID"], old[2]);
    assert_eq!(sse.next_event().await.id, Some(kept[0].clone()));
    assert_eq!(sse.next_event().await.id, Some(kept[1].clone()));

    let mut ws = open_ws(&app, &pos, &connection, "lastEventID=0").await;
    let lost = ws.next_event().await;
    assert_eq!(lost["event"], "eventsLostEvent");
    assert_eq!(lost["firstLostEventID"], "1");
    assert_eq!(event_id(&ws.next_event().await), kept[0]);

    // Resuming from the loss notice's id reports nothing lost.
    let mut again =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", &old[2])).await;
    assert_eq!(again.next_event().await.id, Some(kept[0].clone()));
    drop((sse, again));
    ws.close().await;
    app.stop().await;
}

/// Reads SSE frames until `id`, returning how many events arrived.
async fn sse_until(stream: &mut SseStream, id: &str) -> usize {
    let mut count = 0;
    loop {
        let frame = stream.next_event().await;
        assert_eq!(frame.event, "transactionUpdatedEvent", "{frame:?}");
        count += 1;
        if frame.id.as_deref() == Some(id) {
            return count;
        }
    }
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_cut_with_a_final_message_and_resumes() {
    let app = events_app()
        .configure(|c| c.events.subscriber_buffer = 8)
        .spawn()
        .await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let mut sse = SseStream::expect(sse_request(&pos, &connection)).await;
    let mut ws = open_ws(&app, &pos, &connection, "").await;
    // Two events read one by one: both streams are live.
    let mut delivered = String::new();
    for _ in 0..2 {
        delivered = ids(&publish(&app, &[event(&app, Some(SITE_A))]).await).remove(0);
        assert_eq!(sse.next_event().await.id, Some(delivered.clone()));
        assert_eq!(event_id(&ws.next_event().await), delivered);
    }
    // A burst of more than the buffer holds, broadcast before either stream can read.
    let burst = ids(&publish(&app, &events_of(&app, SITE_A, 20)).await);

    let closed = sse.next_event().await;
    assert_eq!(closed.event, "streamClosedEvent");
    assert_eq!(
        closed.id, None,
        "no id: Last-Event-ID stays at the last event"
    );
    assert_eq!(closed.data["reason"], "tooSlow");
    assert_eq!(closed.data["eventID"], delivered.as_str());
    assert!(sse.next_frame().await.is_none(), "the stream ends");
    let (messages, end) = ws.rest().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["reason"], "tooSlow");
    assert_eq!(event_id(&messages[0]), delivered);
    assert_eq!(end, WsItem::Closed(Some((1013, "tooSlow".to_owned()))));

    // Resuming from the last delivered id loses nothing.
    let mut sse =
        SseStream::expect(sse_request(&pos, &connection).header("last-event-id", &delivered)).await;
    let mut ws = open_ws(&app, &pos, &connection, &format!("lastEventID={delivered}")).await;
    for id in &burst {
        assert_eq!(sse.next_event().await.id.as_ref(), Some(id));
        assert_eq!(&event_id(&ws.next_event().await), id);
    }
    drop(sse);
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_websocket_reader_that_stops_reading_is_cut_without_delaying_the_others() {
    const BURST: usize = 1_000;
    const BURSTS: usize = 30;
    let app = events_app()
        // Default buffer (1,024 events); the send timeout out of the way, so the cut comes
        // from the lag (with its final message) once the stalled send completes.
        .configure(|c| c.events.send_timeout_secs = 300.0)
        .spawn()
        .await;
    let (pos, connection) = site_system(&app, "pos", SITE_A).await;
    let bearer = format!("Bearer {}", pos.token());
    let headers = [
        ("authorization", bearer.as_str()),
        (CONNECTION_HEADER, connection.as_str()),
    ];
    let url = ws_url(&app.url("/events/ws"));
    // It never reads, through a 4 KiB receive window: the server's writes to it stall.
    let mut slow = WsStream::open_small(app.addr, &url, &headers, 4_096).await;
    let mut fast_ws = WsStream::expect(&url, &headers).await;
    let mut fast_sse = SseStream::expect(sse_request(&pos, &connection)).await;

    let mut all = Vec::new();
    for _ in 0..BURSTS {
        let burst = ids(&publish(&app, &events_of(&app, SITE_A, BURST)).await);
        let last = burst.last().unwrap().clone();
        // The others get every event while the slow one is stuck.
        assert_eq!(sse_until(&mut fast_sse, &last).await, BURST);
        let mut count = 0;
        loop {
            let message = fast_ws.next_event().await;
            count += 1;
            if event_id(&message) == last {
                break;
            }
        }
        assert_eq!(count, BURST);
        all.extend(burst);
    }

    // The slow reader finally reads: what was in flight, then the cut.
    let (messages, end) = slow.rest().await;
    let (closing, delivered): (Vec<&Value>, Vec<&Value>) = messages
        .iter()
        .partition(|m| m["event"] == "streamClosedEvent");
    assert_eq!(closing.len(), 1, "one final message");
    assert_eq!(closing[0]["reason"], "tooSlow");
    assert_eq!(end, WsItem::Closed(Some((1013, "tooSlow".to_owned()))));
    assert!(
        delivered.len() < all.len(),
        "cut before the end: {} of {}",
        delivered.len(),
        all.len()
    );
    let delivered: Vec<_> = delivered.iter().map(|m| event_id(m)).collect();
    assert_eq!(delivered, all[..delivered.len()], "in order, none skipped");
    assert_eq!(event_id(closing[0]), *delivered.last().unwrap());

    // It resumes where it was cut and gets exactly the rest.
    let resume = format!("lastEventID={}", delivered.last().unwrap());
    let mut resumed = open_ws(&app, &pos, &connection, &resume).await;
    for id in &all[delivered.len()..] {
        assert_eq!(&event_id(&resumed.next_event().await), id);
    }
    resumed.close().await;
    fast_ws.close().await;
    drop(fast_sse);
    app.stop().await;
}
