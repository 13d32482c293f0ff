//! The WebSocket channel: each message as one text message, the closing message followed by a
//! close frame (1013 too slow, 1008 connection closed or expired, 1001 shutdown, 1011 log
//! unavailable). Every send has a deadline: a reader that keeps its TCP window full is dropped.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};

use super::subscription::{EndReason, Subscription};

/// Streams `subscription` on `socket` until it ends, the client leaves, or a send stalls.
pub(crate) async fn run(
    mut socket: WebSocket,
    mut subscription: Subscription,
    send_timeout: Duration,
) {
    loop {
        tokio::select! {
            frame = subscription.next() => {
                let Some(frame) = frame else { return };
                if !send(&mut socket, Message::Text(frame.json), send_timeout).await {
                    return;
                }
                if let Some(reason) = subscription.ended() {
                    let frame = CloseFrame {
                        code: code_for(reason),
                        reason: reason.as_str().into(),
                    };
                    send(&mut socket, Message::Close(Some(frame)), send_timeout).await;
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by the socket itself; other messages are not expected.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends `message` within `timeout`; false when the socket failed or stalled.
async fn send(socket: &mut WebSocket, message: Message, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, socket.send(message)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "an event WebSocket failed");
            false
        }
        Err(_) => {
            tracing::info!("an event WebSocket stopped reading; dropped");
            metrics::counter!("eps_event_streams_ended_total", "channel" => "ws", "reason" => "sendTimeout")
                .increment(1);
            false
        }
    }
}

/// The close code for a stream that ended for `reason`.
fn code_for(reason: EndReason) -> u16 {
    match reason {
        EndReason::TooSlow => close_code::AGAIN,
        EndReason::ConnectionClosed | EndReason::ConnectionExpired | EndReason::AccessRevoked => {
            close_code::POLICY
        }
        EndReason::Shutdown => close_code::AWAY,
        EndReason::Unavailable => close_code::ERROR,
    }
}
