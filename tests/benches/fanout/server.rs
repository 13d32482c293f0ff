//! The `server` role: the EPS in this process (so its memory is measured alone), S connections,
//! the `subscribers` process, then events at a fixed rate; prints one report row.

use std::process::Stdio;
use std::time::Duration;

use eps_api::config::SiteConfig;
use eps_api::{Config, Server};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::connection::{ConnectRequest, SiteSystemId};
use eps_core::event::{EventKind, NewEvent};
use eps_core::ids::{MerchantId, PoiId, TransactionId, TransmissionId};
use eps_core::transaction::{TransactionKind, TransactionState};
use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::Scenario;
use crate::stats::{cpu_ms, histogram, millis, open_file_limit, rss_kib, wall_ns};

/// The benchmark's one site.
const SITE: &str = "1234567890";

pub(crate) async fn run(scenario: Scenario) {
    let needed = scenario.subscribers as u64 + 256;
    if let Some(limit) = open_file_limit()
        && limit < needed
    {
        panic!(
            "{} subscribers need {needed} open files; raise the limit (ulimit -n)",
            scenario.subscribers
        );
    }
    eps_api::install_crypto_provider();
    let dir = tempfile::tempdir().expect("data directory");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        sites: vec![SiteConfig {
            merchant_id: SITE.to_owned(),
            name: None,
            pois: Vec::new(),
        }],
        ..Config::default()
    };
    // Connections outlive the run; streams check them at every heartbeat.
    config.connection.heartbeat_interval_secs = 3_600;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = Server::builder(config)
        .start(listener)
        .await
        .expect("EPS starts");
    let (state, addr) = (server.state().clone(), server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));

    let client = state
        .clients
        .add(
            "bench",
            ScopeSet::parse("read").expect("scope"),
            SiteGrant::parse_list(SITE).expect("site"),
        )
        .await
        .expect("client");
    let token = token(addr, client.secret.expose_secret()).await;
    let started = tokio::time::Instant::now();
    let mut connections = String::new();
    for n in 0..scenario.subscribers {
        let connected = state
            .connections
            .connect(
                &client.record.client_id,
                &client.record.sites,
                connect_request(n),
            )
            .await
            .expect("connection");
        connections.push_str(&connected.connection.id.to_string());
        connections.push('\n');
    }
    eprintln!(
        "{} connections stored in {:.1} s",
        scenario.subscribers,
        started.elapsed().as_secs_f64()
    );
    let file = dir.path().join("connections.txt");
    std::fs::write(&file, connections).expect("connections file");
    // Warm the log path before measuring.
    for _ in 0..10 {
        state.events.append(&[event()]).await.expect("append");
    }
    let base = rss_kib();

    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--role", "subscribers", "--channel", &scenario.channel])
        .arg("--url")
        .arg(format!("http://{addr}"))
        .args(["--token", &token])
        .arg("--connections")
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("subscribers process");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let started = tokio::time::Instant::now();
    let ready = output
        .next_line()
        .await
        .expect("subscribers answer")
        .expect("a ready line");
    eprintln!(
        "{ready} in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        scenario.channel
    );
    // Let the server settle (accept queues drained, buffers sized) before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib();
    let cpu_start = cpu_ms();

    let total = scenario.rate * scenario.seconds;
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / scenario.rate);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut commits = histogram();
    let mut published = Vec::with_capacity(total as usize);
    for _ in 0..total {
        ticker.tick().await;
        let at = wall_ns();
        let records = state.events.append(&[event()]).await.expect("append");
        commits
            .record((wall_ns().saturating_sub(at) / 1_000).max(1))
            .expect("in range");
        published.push((records[0].id.value(), at));
    }
    let after = rss_kib();
    let cpu = cpu_ms().saturating_sub(cpu_start);
    let mut lines = String::new();
    for (id, at) in &published {
        lines.push_str(&format!("pub {id} {at}\n"));
    }
    let last = published.last().map_or(0, |(id, _)| *id);
    lines.push_str(&format!("end {last}\n"));
    input
        .write_all(lines.as_bytes())
        .await
        .expect("to subscribers");
    input.flush().await.expect("flush");
    let result = loop {
        let line = output
            .next_line()
            .await
            .expect("subscribers answer")
            .expect("a result line");
        if let Some(json) = line.strip_prefix("result ") {
            break serde_json::from_str::<serde_json::Value>(json).expect("result JSON");
        }
    };
    let _ = child.wait().await;
    let subscribers = scenario.subscribers as u64;
    let deliveries = result["deliveries"].as_u64().unwrap_or(0).max(1);
    println!(
        "report | {} | {} | {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.1} MiB | {:.1} KiB | {:.1} MiB | {:.1} µs | {:.1} µs |",
        scenario.channel,
        scenario.subscribers,
        scenario.rate,
        result["deliveries"],
        result["missing"],
        result["p50_us"].as_f64().unwrap_or(0.0) / 1_000.0,
        result["p99_us"].as_f64().unwrap_or(0.0) / 1_000.0,
        result["max_us"].as_f64().unwrap_or(0.0) / 1_000.0,
        millis(&commits, 0.5),
        idle.saturating_sub(base) as f64 / 1_024.0,
        idle.saturating_sub(base) as f64 / subscribers.max(1) as f64,
        after.saturating_sub(base) as f64 / 1_024.0,
        cpu as f64 * 1_000.0 / deliveries as f64,
        result["cpu_ms"].as_f64().unwrap_or(0.0) * 1_000.0 / deliveries as f64,
    );
    let _ = stop.send(());
    let _ = serving.await;
    drop(dir);
}

/// A token for the bench client, from the running server.
async fn token(addr: std::net::SocketAddr, secret: &str) -> String {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "bench"),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    body["access_token"].as_str().expect("token").to_owned()
}

fn connect_request(n: usize) -> ConnectRequest {
    ConnectRequest {
        transmission_id: TransmissionId::new((n % 99_999_999) as u64).expect("in range"),
        client_timestamp: "2026-01-05T09:00:00".to_owned(),
        vendor: None,
        application_name: Some("fan-out bench".to_owned()),
        application_software_version: None,
        site_system_ids: vec![SiteSystemId {
            id: SITE.to_owned(),
            id_type: "merchantID".to_owned(),
            current: true,
        }],
    }
}

/// A `transactionUpdatedEvent` of the site (a typical event of ~260 bytes on the wire).
fn event() -> NewEvent {
    let site = MerchantId::parse(SITE).expect("site");
    NewEvent {
        merchant_id: Some(site.clone()),
        at: eps_core::clock::Clock::now(&eps_core::clock::SystemClock),
        kind: EventKind::TransactionUpdated {
            transaction_id: TransactionId::generate(),
            poi_id: PoiId::derive(&site, "pointOfService", "001"),
            transaction_kind: TransactionKind::Payment,
            state: TransactionState::Approved,
        },
    }
}
