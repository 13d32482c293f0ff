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

/// The response streaming `subscription`.
pub(crate) fn response(subscription: Subscription, retry: Duration) -> Response {
    let opening = Bytes::from(format!("retry: {}\n\n", retry.as_millis()));
    let frames = stream::unfold(subscription, |mut subscription| async move {
        let frame = subscription.next().await?;
        Some((Ok::<_, Infallible>(frame.sse), subscription))
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
