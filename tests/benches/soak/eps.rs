//! The EPS process: starts the `load` child, serves the EPS on the child's simulators, samples
//! its own resident memory while the load runs, and prints the report.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_api::{Config, Server};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::ids::TerminalId;
use eps_core::store::postgres::PostgresStore;
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::ChildStdout;
use tokio::time::Instant;

use crate::Soak;

/// The soak's one site.
const SITE: &str = "1234567890";
/// How often resident memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Runs the soak; true when it passed.
pub(crate) async fn run(soak: Soak) -> bool {
    let needed = (soak.subscribers + soak.site_systems + 512) as u64;
    if let Some(limit) = open_file_limit()
        && limit < needed
    {
        panic!("the soak needs {needed} open files; raise the limit (ulimit -n)");
    }
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("load")
        .args(soak.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("load process");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let sims = expect(&mut output, "sims ").await;
    let sims: Vec<String> = sims.split(',').map(str::to_owned).collect();

    let dir = tempfile::tempdir().expect("data directory");
    let mut builder = Server::builder(config(dir.path(), &sims));
    let postgres = match std::env::var("EPS_BENCH_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("soak_{}", uuid::Uuid::new_v4().simple());
            let store = Arc::new(PostgresStore::open_in_schema(&url, &schema).await.unwrap());
            builder = builder.store(store.clone());
            Some(store)
        }
        Err(_) => None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = builder.start(listener).await.expect("EPS starts");
    let callbacks: Vec<String> = (1..=sims.len())
        .map(|i| {
            let id = TerminalId::parse(&format!("lane-{i}")).unwrap();
            server.callback_addresses()[&id].to_string()
        })
        .collect();
    let (state, addr) = (server.state().clone(), server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let client = state
        .clients
        .add(
            "soak",
            ScopeSet::parse("read write").unwrap(),
            SiteGrant::parse_list(SITE).unwrap(),
        )
        .await
        .unwrap();
    let line = format!(
        "eps http://{addr} {} {}\n",
        client.secret.expose_secret(),
        callbacks.join(",")
    );
    input.write_all(line.as_bytes()).await.unwrap();
    input.flush().await.unwrap();

    expect(&mut output, "ready").await;
    let started = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            loop {
                ticker.tick().await;
                let sample = (started.elapsed().as_secs_f64(), rss_kib());
                samples.lock().unwrap().push(sample);
            }
        })
    };
    expect(&mut output, "done").await;
    sampler.abort();
    let last = state.store.latest_event_id().await.unwrap().value();
    input
        .write_all(format!("end {last}\n").as_bytes())
        .await
        .unwrap();
    input.flush().await.unwrap();
    let result: Value = serde_json::from_str(&expect(&mut output, "result ").await).unwrap();
    let _ = child.wait().await;
    let _ = stop.send(());
    let _ = serving.await;
    if let Some(store) = postgres {
        store.drop_schema().await.unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    report(&soak, &result, last, &samples)
}

/// Prints the report; true when every check passed.
fn report(soak: &Soak, result: &Value, last: i64, samples: &[(f64, u64)]) -> bool {
    let count = |name: &str| result[name].as_u64().unwrap_or(u64::MAX);
    let errors = count("payment_errors") + count("heartbeat_errors") + count("stream_errors");
    let missed = count("missed") + count("duplicates") + count("lost");
    // Windows of a minute, or of a third of a shorter run: the second against the last.
    let window = (soak.seconds as f64 / 3.0).min(60.0);
    let mean = |from: f64, to: f64| {
        let inside: Vec<u64> = samples
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, kib)| *kib)
            .collect();
        inside.iter().sum::<u64>() as f64 / inside.len().max(1) as f64
    };
    let second = mean(window, 2.0 * window);
    let end = soak.seconds as f64;
    let last_window = mean(end - window, end + 1.0);
    let growth = last_window / second - 1.0;
    // A run shorter than three minutes has no minute-long windows: its memory is shown, not judged.
    let judged = soak.seconds >= 180;
    let flat = growth.abs() <= 0.05;
    let passed = errors == 0 && missed == 0 && (flat || !judged);
    let mib = |kib: f64| kib / 1024.0;
    println!(
        "soak: {} s, {} SSE subscribers, {} site systems heartbeating every 30 s, {} terminals, {} payments/s",
        soak.seconds, soak.subscribers, soak.site_systems, soak.terminals, soak.rate
    );
    println!(
        "payments: {} approved, {} errors, p50 {:.1} ms, p99 {:.1} ms",
        result["payments"],
        result["payment_errors"],
        result["payment_p50_ms"].as_f64().unwrap_or(0.0),
        result["payment_p99_ms"].as_f64().unwrap_or(0.0)
    );
    println!(
        "heartbeats: {} answered 2xx, {} errors",
        result["heartbeats"], result["heartbeat_errors"]
    );
    println!(
        "events: last id {last}, {} deliveries, {} missed, {} duplicate or out of order, {} eventsLostEvent, {} streams failed",
        result["deliveries"],
        result["missed"],
        result["duplicates"],
        result["lost"],
        result["stream_errors"]
    );
    println!(
        "EPS resident memory: {:.1} MiB mean over {:.0}–{:.0} s, {:.1} MiB over the last {:.0} s: {:+.1} % ({}); {} samples, {:.1}–{:.1} MiB",
        mib(second),
        window,
        2.0 * window,
        mib(last_window),
        window,
        growth * 100.0,
        match (judged, flat) {
            (false, _) => "not judged: shorter than 3 minutes",
            (true, true) => "flat",
            (true, false) => "NOT flat",
        },
        samples.len(),
        mib(samples.iter().map(|s| s.1).min().unwrap_or(0) as f64),
        mib(samples.iter().map(|s| s.1).max().unwrap_or(0) as f64),
    );
    println!(
        "verdict: {} ({errors} errors, {missed} missed events, memory {})",
        if passed { "PASS" } else { "FAIL" },
        match (judged, flat) {
            (false, _) => "not judged",
            (true, true) => "flat",
            (true, false) => "not flat",
        }
    );
    passed
}

/// The next line starting with `prefix`, without it.
async fn expect(output: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> String {
    loop {
        let line = output
            .next_line()
            .await
            .expect("load process output")
            .unwrap_or_else(|| panic!("the load process ended before `{prefix}`"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
        eprintln!("{line}");
    }
}

fn config(data_dir: &std::path::Path, sims: &[String]) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.log.filter = "error".to_owned();
    // The subscribers' connections outlive the run without heartbeats of their own; the site
    // systems heartbeat every 30 s all the same.
    config.connection.heartbeat_interval_secs = 3_600;
    config.sites = vec![SiteConfig {
        merchant_id: SITE.to_owned(),
        name: None,
        pois: sims
            .iter()
            .enumerate()
            .map(|(i, address)| PoiConfig {
                logical_id: format!("{:03}", i + 1),
                workstation_type: "pointOfService".to_owned(),
                poi_id: None,
                terminal: TerminalConfig {
                    id: Some(format!("lane-{}", i + 1)),
                    address: address.clone(),
                    callback: "127.0.0.1:0".parse().unwrap(),
                    workstation_id: format!("POS{:03}", i + 1),
                    profile: Default::default(),
                    pop_id: None,
                    application_sender: None,
                    callback_source: None,
                    currency: None,
                },
            })
            .collect(),
    }];
    config
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The open-file limit of this process (soft), from `/proc/self/limits`.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
