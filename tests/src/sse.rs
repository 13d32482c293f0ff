//! An SSE client for tests: reqwest's byte stream and a small parser of `retry:`, `id:`,
//! `event:` and `data:` lines. Every wait is bounded (a hang fails the test, it never sleeps).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::client::Reply;

/// The longest a test waits for the next frame before failing.
pub const FRAME_BOUND: Duration = Duration::from_secs(30);

/// One dispatched SSE frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SseFrame {
    /// The `id:` line, when the frame has one.
    pub id: Option<String>,
    /// The `event:` line.
    pub event: String,
    /// The `data:` lines, parsed as JSON.
    pub data: Value,
}

/// An open `text/event-stream` response.
pub struct SseStream {
    /// The response status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The last `retry:` value seen, in milliseconds.
    pub retry: Option<u64>,
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
}

impl SseStream {
    /// Sends `request`; an answer other than 200 is returned as a [`Reply`].
    pub async fn open(request: RequestBuilder) -> Result<Self, Reply> {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if status != 200 {
            let text = response.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(Reply {
                status,
                headers,
                body,
            });
        }
        Ok(Self {
            status,
            headers,
            retry: None,
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        })
    }

    /// Opens `request`, failing the test unless it streams.
    pub async fn expect(request: RequestBuilder) -> Self {
        match Self::open(request).await {
            Ok(stream) => stream,
            Err(reply) => panic!("the event stream was refused: {reply:#?}"),
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next frame, or `None` once the server ended the stream.
    pub async fn next_frame(&mut self) -> Option<SseFrame> {
        tokio::time::timeout(FRAME_BOUND, self.read_frame())
            .await
            .expect("an SSE frame (or the end of the stream) within the bound")
    }

    /// The next frame other than a heartbeat; fails the test if the stream ends.
    pub async fn next_event(&mut self) -> SseFrame {
        loop {
            let frame = self.next_frame().await.expect("the stream goes on");
            if frame.event != "heartBeatEvent" {
                return frame;
            }
        }
    }

    /// Frames other than heartbeats until the stream ends.
    pub async fn rest(&mut self) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame().await {
            if frame.event != "heartBeatEvent" {
                frames.push(frame);
            }
        }
        frames
    }

    async fn read_frame(&mut self) -> Option<SseFrame> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(frame) = self.parse(&block) {
                    return Some(frame);
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                Some(Err(e)) => panic!("the event stream failed: {e}"),
                None => return None,
            }
        }
    }

    /// A block's frame; `None` for blocks that dispatch nothing (`retry:`, comments).
    fn parse(&mut self, block: &str) -> Option<SseFrame> {
        let (mut id, mut event, mut data) = (None, None, Vec::new());
        for line in block.lines() {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => event = Some(value.to_owned()),
                "data" => data.push(value.to_owned()),
                "retry" => self.retry = value.parse().ok(),
                _ => {}
            }
        }
        if data.is_empty() {
            return None;
        }
        let data = data.join("\n");
        Some(SseFrame {
            id,
            event: event.unwrap_or_else(|| "message".to_owned()),
            data: serde_json::from_str(&data)
                .unwrap_or_else(|e| panic!("data is not JSON ({e}): {data}")),
        })
    }
}
