//! The `load` process: the simulators, the SSE subscribers that check every event id arrives once
//! and in order, the heartbeating site systems and the paying ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use opi_backend::sim::{SimConfig, SimServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::Soak;

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    first: Option<i64>,
    last: i64,
    deliveries: u64,
    missed: u64,
    duplicates: u64,
    lost: u64,
    /// The stream ended or failed before the end.
    failed: bool,
}

impl Seen {
    fn event(&mut self, id: i64) {
        self.deliveries += 1;
        match self.first {
            None => self.first = Some(id),
            Some(_) if id == self.last + 1 => {}
            Some(_) if id <= self.last => self.duplicates += 1,
            Some(_) => self.missed += (id - self.last - 1) as u64,
        }
        self.last = self.last.max(id);
    }
}

/// Counters of the site systems.
#[derive(Default)]
struct Counters {
    heartbeats: AtomicU64,
    heartbeat_errors: AtomicU64,
    payment_errors: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// Runs the load side of the soak.
pub(crate) async fn run(soak: Soak) {
    let mut sims = Vec::new();
    for _ in 0..soak.terminals {
        sims.push(
            SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
                .await
                .unwrap(),
        );
    }
    let addresses: Vec<String> = sims
        .iter()
        .map(|s| s.channel0_address().to_string())
        .collect();
    println!("sims {}", addresses.join(","));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let line = stdin.next_line().await.unwrap().expect("the EPS's address");
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (base, secret, callbacks) = (parts[1].to_owned(), parts[2], parts[3]);
    for (sim, callback) in sims.iter().zip(callbacks.split(',')) {
        sim.set_callback(callback.to_owned());
    }
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("soak", Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let connections: Vec<String> =
        futures_util::stream::iter(0..soak.subscribers + soak.site_systems)
            .map(|n| connect(&http, &base, &token, n))
            .buffered(32)
            .collect()
            .await;
    let (subscribers, site_systems) = connections.split_at(soak.subscribers);
    let seen: Vec<Arc<Mutex<Seen>>> = futures_util::stream::iter(subscribers)
        .map(|connection| subscribe(&http, &base, &token, connection))
        .buffer_unordered(64)
        .collect()
        .await;
    eprintln!(
        "{} connections and {} streams open in {:.1} s",
        connections.len(),
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    println!("ready");

    let deadline = Instant::now() + Duration::from_secs(soak.seconds);
    let counters = Arc::new(Counters::default());
    let mut tasks = Vec::new();
    for (i, connection) in site_systems.iter().enumerate() {
        let (http, base, token, connection, counters) = (
            http.clone(),
            base.clone(),
            token.clone(),
            connection.clone(),
            counters.clone(),
        );
        let stagger = Duration::from_secs(30) * i as u32 / soak.site_systems as u32;
        tasks.push(tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval_at(Instant::now() + stagger, Duration::from_secs(30));
            loop {
                // A tick due after the end does not hold the run open.
                if tokio::time::timeout_at(deadline, ticker.tick())
                    .await
                    .is_err()
                {
                    return;
                }
                let beat = http
                    .post(format!("{base}/connection"))
                    .bearer_auth(&token)
                    .header("openretailing-connection-id", &connection)
                    .timeout(Duration::from_secs(30))
                    .json(&connect_body(i))
                    .send()
                    .await;
                match beat {
                    Ok(r) if r.status().is_success() => &counters.heartbeats,
                    _ => &counters.heartbeat_errors,
                }
                .fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let every = Duration::from_secs_f64(soak.terminals as f64 / soak.rate);
    for (i, connection) in site_systems.iter().take(soak.terminals).enumerate() {
        let (http, base, token, connection, counters) = (
            http.clone(),
            base.clone(),
            token.clone(),
            connection.clone(),
            counters.clone(),
        );
        let stagger = every * i as u32 / soak.terminals as u32;
        tasks.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(Instant::now() + stagger, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for n in 0.. {
                // A tick due after the end does not hold the run open.
                if tokio::time::timeout_at(deadline, ticker.tick())
                    .await
                    .is_err()
                {
                    return;
                }
                let at = Instant::now();
                match pay(&http, &base, &token, &connection, i, n).await {
                    true => counters.latencies.lock().unwrap().push(at.elapsed()),
                    false => {
                        counters.payment_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    println!("done");

    let line = stdin.next_line().await.unwrap().expect("the last event id");
    let last: i64 = line.strip_prefix("end ").unwrap().parse().unwrap();
    let waiting = Instant::now() + Duration::from_secs(60);
    while seen.iter().any(|s| lock(s).last < last) && Instant::now() < waiting {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut latencies = counters.latencies.lock().unwrap().clone();
    latencies.sort();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let sum = |f: fn(&Seen) -> u64| seen.iter().map(|s| f(&lock(s))).sum::<u64>();
    println!(
        "result {}",
        json!({
            "payments": latencies.len(),
            "payment_errors": counters.payment_errors.load(Ordering::Relaxed),
            "payment_p50_ms": quantile(0.5),
            "payment_p99_ms": quantile(0.99),
            "heartbeats": counters.heartbeats.load(Ordering::Relaxed),
            "heartbeat_errors": counters.heartbeat_errors.load(Ordering::Relaxed),
            "deliveries": sum(|s| s.deliveries),
            // Gaps, and what never came after a subscriber's last event.
            "missed": sum(|s| s.missed) + seen.iter().map(|s| (last - lock(s).last).max(0) as u64).sum::<u64>(),
            "duplicates": sum(|s| s.duplicates),
            "lost": sum(|s| s.lost),
            "stream_errors": sum(|s| u64::from(s.failed)),
        })
    );
    for sim in sims {
        sim.shutdown().await;
    }
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

fn connect_body(n: usize) -> Value {
    json!({"transmissionID": n % 99_999_999, "timestamp": "2026-01-05T09:00:00",
        "applicationName": "soak",
        "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]})
}

/// A new connection's id.
async fn connect(http: &reqwest::Client, base: &str, token: &str, n: usize) -> String {
    let connected: Value = http
        .post(format!("{base}/connection"))
        .bearer_auth(token)
        .json(&connect_body(n))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    connected["connectionID"].as_str().unwrap().to_owned()
}

/// One payment on terminal `i`; true when approved.
async fn pay(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    connection: &str,
    i: usize,
    n: u64,
) -> bool {
    let body = json!({"logicalID": format!("{:03}", i + 1), "workstationType": "pointOfService",
        "amount": {"value": format!("{}.{:02}", 10 + n % 50, (n % 5) * 10), "currency": "EUR"}});
    let answer = http
        .post(format!("{base}/payments"))
        .bearer_auth(token)
        .header("openretailing-connection-id", connection)
        .header("prefer", "wait=60")
        .header("idempotency-key", format!("soak-{i}-{n}"))
        // `Prefer: wait=60` answers within a minute: one that never comes is an error.
        .timeout(Duration::from_secs(90))
        .json(&body)
        .send()
        .await;
    let Ok(answer) = answer else {
        return false;
    };
    let status = answer.status();
    match answer.json::<Value>().await {
        Ok(v) if status == 200 && v["transaction"]["state"] == "approved" => true,
        Ok(v) => {
            eprintln!("payment {i}/{n}: {status} {v}");
            false
        }
        Err(_) => false,
    }
}

/// Opens one SSE stream and checks its event ids as they arrive.
async fn subscribe(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    connection: &str,
) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let response = http
        .get(format!("{base}/events"))
        .bearer_auth(token)
        .header("openretailing-connection-id", connection)
        .send()
        .await;
    let response = match response {
        Ok(r) if r.status() == 200 => r,
        _ => {
            lock(&seen).failed = true;
            return seen;
        }
    };
    let state = seen.clone();
    tokio::spawn(async move {
        let mut body = response.bytes_stream();
        let mut buffer = Vec::new();
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                break;
            };
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                let block = String::from_utf8_lossy(&block);
                let mut seen = lock(&state);
                if block.contains("event: eventsLostEvent") {
                    seen.lost += 1;
                }
                if let Some(id) = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .and_then(|id| id.trim().parse().ok())
                {
                    seen.event(id);
                }
            }
        }
        // Streams stay open until the process ends.
        lock(&state).failed = true;
    });
    seen
}
