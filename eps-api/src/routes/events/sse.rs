//! The SSE channel: `retry:` first, then one frame per message (`id:` for stored events,
//! `event:`, `data:` with the JSON message), ending with the closing message.
//!
//! The body is a plain byte stream: nothing in the router compresses or buffers it, and
//! `X-Accel-Buffering: no` asks reverse proxies not to either.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::stream::{self, StreamExt};

use super::subscription::Subscription;
use crate::dto::event::EventMessage;

/// The response streaming `subscription`.
pub(crate) fn response(subscription: Subscription, retry: Duration) -> Response {
    let opening = Bytes::from(format!("retry: {}\n\n", retry.as_millis()));
    let frames = stream::unfold(subscription, |mut subscription| async move {
        let message = subscription.next().await?;
        Some((Ok::<_, Infallible>(frame(&message)), subscription))
    });
    let body = Body::from_stream(stream::once(async move { Ok(opening) }).chain(frames));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One SSE frame.
pub(crate) fn frame(message: &EventMessage) -> Bytes {
    // The JSON of a message is one line: serde_json escapes line breaks inside strings.
    let data = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    let mut frame = String::with_capacity(data.len() + 64);
    if let Some(id) = message.sse_id() {
        frame.push_str("id: ");
        frame.push_str(id);
        frame.push('\n');
    }
    frame.push_str("event: ");
    frame.push_str(message.name());
    frame.push_str("\ndata: ");
    frame.push_str(&data);
    frame.push_str("\n\n");
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use eps_core::ids::EventId;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn frames_carry_an_id_only_for_positions_in_the_log() {
        let at = datetime!(2026-01-05 09:00 UTC);
        let lost = frame(&EventMessage::lost(EventId::new(1), EventId::new(9), at));
        assert_eq!(
            std::str::from_utf8(&lost).unwrap(),
            "id: 9\nevent: eventsLostEvent\ndata: {\"event\":\"eventsLostEvent\",\"eventID\":\"9\",\
             \"timestamp\":\"2026-01-05T09:00:00.000Z\",\"firstLostEventID\":\"2\",\"lastLostEventID\":\"9\"}\n\n"
        );
        let beat = frame(&EventMessage::heartbeat(EventId::new(9), at));
        assert!(
            std::str::from_utf8(&beat)
                .unwrap()
                .starts_with("event: heartBeatEvent\ndata: {")
        );
    }
}
