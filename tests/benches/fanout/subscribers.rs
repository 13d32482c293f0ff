//! The `subscribers` role: opens one stream per connection, timestamps every event delivered,
//! and once told the publish times computes the latency of every delivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::arg;
use crate::stats::{cpu_ms, histogram, wall_ns};

/// What one subscriber received: (event id, arrival time in ns).
#[derive(Default)]
struct Received {
    deliveries: Mutex<Vec<(i64, u64)>>,
    last: AtomicI64,
}

impl Received {
    fn record(&self, id: i64, at: u64) {
        self.deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((id, at));
        self.last.fetch_max(id, Ordering::Relaxed);
    }
}

pub(crate) async fn run(args: &[String]) {
    let channel = arg(args, "--channel").expect("--channel");
    let url = arg(args, "--url").expect("--url");
    let token = arg(args, "--token").expect("--token");
    let connections: Vec<String> =
        std::fs::read_to_string(arg(args, "--connections").expect("--connections"))
            .expect("connections file")
            .lines()
            .map(str::to_owned)
            .collect();
    eps_api::install_crypto_provider();
    let http = reqwest::Client::new();
    let opened: Vec<Arc<Received>> = futures_util::stream::iter(connections)
        .map(|connection| {
            let (http, url, token, channel) =
                (http.clone(), url.clone(), token.clone(), channel.clone());
            async move {
                let received = Arc::new(Received::default());
                match channel.as_str() {
                    "ws" => open_ws(&url, &token, &connection, received.clone()).await,
                    _ => open_sse(&http, &url, &token, &connection, received.clone()).await,
                }
                received
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    println!("ready {} streams", opened.len());
    let cpu_ready = cpu_ms();

    let mut published = HashMap::new();
    let mut last = 0;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some("pub"), Some(id), Some(at)) => {
                published.insert(
                    id.parse::<i64>().expect("id"),
                    at.parse::<u64>().expect("ns"),
                );
            }
            (Some("end"), Some(id), _) => {
                last = id.parse().expect("id");
                break;
            }
            _ => {}
        }
    }
    // Until every subscriber has the last event, or two minutes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while opened.iter().any(|r| r.last.load(Ordering::Relaxed) < last)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cpu = cpu_ms().saturating_sub(cpu_ready);
    let mut latencies = histogram();
    let mut deliveries = 0u64;
    for received in &opened {
        let got = received
            .deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (id, at) in got.iter() {
            if let Some(sent) = published.get(id) {
                deliveries += 1;
                let micros = at.saturating_sub(*sent) / 1_000;
                latencies.record(micros.max(1)).expect("in range");
            }
        }
    }
    let expected = published.len() as u64 * opened.len() as u64;
    println!(
        "result {}",
        serde_json::json!({
            "deliveries": deliveries,
            "missing": expected.saturating_sub(deliveries),
            "p50_us": latencies.value_at_quantile(0.5),
            "p99_us": latencies.value_at_quantile(0.99),
            "max_us": latencies.max(),
            "cpu_ms": cpu,
        })
    );
    std::process::exit(0);
}

async fn open_sse(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    connection: &str,
    received: Arc<Received>,
) {
    let response = http
        .get(format!("{url}/events"))
        .bearer_auth(token)
        .header("openretailing-connection-id", connection)
        .send()
        .await
        .expect("SSE request");
    assert_eq!(response.status(), 200, "SSE refused");
    tokio::spawn(async move {
        let mut body = response.bytes_stream();
        let mut buffer = Vec::new();
        while let Some(Ok(chunk)) = body.next().await {
            let at = wall_ns();
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                if let Some(id) = block
                    .strip_prefix(b"id: ")
                    .and_then(|rest| rest.split(|b| *b == b'\n').next())
                    .and_then(|id| std::str::from_utf8(id).ok()?.parse().ok())
                {
                    received.record(id, at);
                }
            }
        }
    });
}

async fn open_ws(url: &str, token: &str, connection: &str, received: Arc<Received>) {
    let mut request = format!("{}/events/ws", url.replacen("http://", "ws://", 1))
        .into_client_request()
        .expect("URL");
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    headers.insert(
        "openretailing-connection-id",
        HeaderValue::from_str(connection).expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = wall_ns();
            if text.starts_with("{\"event\":\"heartBeatEvent\"") {
                continue;
            }
            if let Some(id) = text
                .split_once("\"eventID\":\"")
                .and_then(|(_, rest)| rest.split('"').next())
                .and_then(|id| id.parse().ok())
            {
                received.record(id, at);
            }
        }
    });
}
