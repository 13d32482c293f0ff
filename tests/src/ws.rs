//! A WebSocket client for tests (tokio-tungstenite): event messages as JSON, the close frame,
//! and a "slow reader" whose socket has a tiny receive buffer and is never read.

use std::net::SocketAddr;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::sse::FRAME_BOUND;

/// What a WebSocket yields.
#[derive(Debug, Clone, PartialEq)]
pub enum WsItem {
    /// A text message, parsed as JSON.
    Message(Value),
    /// The server's close frame (code and reason), when it sent one.
    Closed(Option<(u16, String)>),
    /// The connection ended without a close frame.
    Dropped,
}

/// An open event WebSocket.
pub struct WsStream<S = MaybeTlsStream<TcpStream>> {
    inner: WebSocketStream<S>,
}

/// `http://…` as `ws://…`.
pub fn ws_url(http_url: &str) -> String {
    http_url.replacen("http://", "ws://", 1)
}

/// The handshake request for `url` with `headers`.
fn handshake(
    url: &str,
    headers: &[(&str, &str)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = url.into_client_request().expect("a WebSocket URL");
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    request
}

/// The status and body of a refused handshake.
fn refusal(error: Error) -> (u16, Value) {
    match error {
        Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            (status, body)
        }
        other => panic!("the WebSocket handshake failed: {other}"),
    }
}

impl WsStream {
    /// Connects to `url` (a `ws://` URL) with `headers`; a refused handshake gives its status
    /// and JSON body.
    pub async fn open(url: &str, headers: &[(&str, &str)]) -> Result<Self, (u16, Value)> {
        match tokio_tungstenite::connect_async(handshake(url, headers)).await {
            Ok((inner, _)) => Ok(Self { inner }),
            Err(e) => Err(refusal(e)),
        }
    }

    /// Connects, failing the test if refused.
    pub async fn expect(url: &str, headers: &[(&str, &str)]) -> Self {
        match Self::open(url, headers).await {
            Ok(stream) => stream,
            Err(refused) => panic!("the WebSocket was refused: {refused:?}"),
        }
    }
}

impl WsStream<TcpStream> {
    /// Connects through a socket whose receive buffer is `receive_buffer` bytes: a reader that
    /// the server can fill quickly.
    pub async fn open_small(
        addr: SocketAddr,
        url: &str,
        headers: &[(&str, &str)],
        receive_buffer: u32,
    ) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .set_recv_buffer_size(receive_buffer)
            .expect("receive buffer");
        let tcp = socket.connect(addr).await.expect("connect");
        let (inner, _) = tokio_tungstenite::client_async(handshake(url, headers), tcp)
            .await
            .unwrap_or_else(|e| panic!("handshake: {e}"));
        Self { inner }
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> WsStream<S> {
    /// The next item (pings are answered by the library and skipped).
    pub async fn next_item(&mut self) -> WsItem {
        tokio::time::timeout(FRAME_BOUND, self.read())
            .await
            .expect("a WebSocket message (or its end) within the bound")
    }

    /// The next message other than a heartbeat; fails the test on anything else.
    pub async fn next_event(&mut self) -> Value {
        loop {
            match self.next_item().await {
                WsItem::Message(value) if value["event"] == "heartBeatEvent" => {}
                WsItem::Message(value) => return value,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Messages other than heartbeats until the socket ends, and how it ended.
    pub async fn rest(&mut self) -> (Vec<Value>, WsItem) {
        let mut messages = Vec::new();
        loop {
            match self.next_item().await {
                WsItem::Message(value) if value["event"] == "heartBeatEvent" => {}
                WsItem::Message(value) => messages.push(value),
                end => return (messages, end),
            }
        }
    }

    /// Closes the socket from the client side.
    pub async fn close(mut self) {
        let _ = self.inner.close(None).await;
    }

    async fn read(&mut self) -> WsItem {
        loop {
            match self.inner.next().await {
                Some(Ok(Message::Text(text))) => {
                    return WsItem::Message(
                        serde_json::from_str(text.as_str()).expect("a JSON message"),
                    );
                }
                Some(Ok(Message::Close(frame))) => {
                    return WsItem::Closed(frame.map(|CloseFrame { code, reason }| {
                        (u16::from(code), reason.as_str().to_owned())
                    }));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return WsItem::Dropped,
            }
        }
    }
}
