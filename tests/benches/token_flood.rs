//! Payment latency while `/oauth/token` is flooded with bad requests, side by side with the same
//! payments without a flood, in one run.
//!
//! One site system pays one after another on one simulated lane (`opi-sim` over loopback TCP),
//! each payment `POST /payments` with `Prefer: wait`. The run alternates rounds of
//! `EPS_BENCH_ROUND` payments (default 50) in three conditions, so machine noise falls on all
//! alike:
//! - `quiet`: no other traffic;
//! - `flood/1`: `EPS_BENCH_FLOOD` (default 200) concurrent loops of bad token requests from one
//!   address (127.0.0.1), the failure buckets' case;
//! - `flood/N`: the same from `EPS_BENCH_ADDRESSES` (default 64) loopback addresses
//!   (127.0.1.x), so per-address buckets do not stop them and the hashing slots are the guard.
//!
//! `cargo bench -p eps-e2e --bench token_flood`; `EPS_BENCH_PAYMENTS` (default 1000) per
//! condition; `EPS_*` variables configure the EPS (e.g. `EPS_AUTH__TOKEN_LIMITS__…` to loosen
//! the guards for a comparison). The flood's client runs in a child process (this binary with `--role flood`), so
//! its own work is not queued on the EPS's runtime; it shares the machine's cores, as a flood
//! from a neighbour on the host would.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_api::{Config, Server};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::ids::TerminalId;
use opi_backend::sim::{SimConfig, SimServer};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::time::Instant;

/// What a condition measured.
#[derive(Default)]
struct Figures {
    latencies: Vec<Duration>,
    requests: u64,
    throttled: u64,
    flood_time: Duration,
}

/// The flood's counters.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The defaults with `EPS_*` variables on top (e.g. `EPS_AUTH__TOKEN_LIMITS__CONCURRENCY=64` to
/// see the flood without its guards), one simulated lane.
fn config(data_dir: &std::path::Path, sim: &SimServer) -> Config {
    let mut config = Config::load(None).expect("configuration");
    config.data_dir = data_dir.to_path_buf();
    // One connection for the whole run; it sends no heartbeats.
    config.connection.heartbeat_interval_secs = 3_600;
    config.log.filter = "error".to_owned();
    config.sites = vec![SiteConfig {
        merchant_id: "1234567890".to_owned(),
        name: None,
        pois: vec![PoiConfig {
            logical_id: "001".to_owned(),
            workstation_type: "pointOfService".to_owned(),
            poi_id: None,
            terminal: TerminalConfig {
                id: Some("lane-1".to_owned()),
                address: sim.channel0_address().to_string(),
                callback: "127.0.0.1:0".parse().unwrap(),
                workstation_id: "POS001".to_owned(),
                profile: Default::default(),
                pop_id: None,
                application_sender: None,
                callback_source: None,
                currency: None,
            },
        }],
    }];
    config
}

/// A connected site system paying on the lane.
struct SiteSystem {
    http: reqwest::Client,
    base: String,
    token: String,
    connection: String,
    poi: String,
}

impl SiteSystem {
    async fn pay(&self, n: u64) -> Duration {
        let body = json!({"poiID": self.poi,
            "amount": {"value": format!("{}.{:02}", 10 + n % 50, (n % 5) * 10), "currency": "EUR"}});
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/payments", self.base))
            .bearer_auth(&self.token)
            .header("openretailing-connection-id", &self.connection)
            .header("prefer", "wait=60")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("JSON");
        let took = started.elapsed();
        assert!(
            status == 200 && answer["transaction"]["state"] == "approved",
            "payment {n} failed: {status} {answer}"
        );
        took
    }
}

/// Runs `loops` concurrent loops of bad token requests until `stop`, each from one of
/// `addresses` (`None`: the default source address).
fn flood(
    base: &str,
    loops: usize,
    addresses: &[Option<IpAddr>],
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let clients: Vec<reqwest::Client> = addresses
        .iter()
        .map(|address| {
            reqwest::Client::builder()
                .local_address(*address)
                .build()
                .unwrap()
        })
        .collect();
    (0..loops)
        .map(|i| {
            let http = clients[i % clients.len()].clone();
            let (stop, counters) = (stop.clone(), counters.clone());
            let url = format!("{base}/oauth/token");
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let client_id = format!("guess-{i}-{n}");
                    let response = http
                        .post(&url)
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", client_id.as_str()),
                            ("client_secret", "wrong"),
                        ])
                        .send()
                        .await;
                    counters.requests.fetch_add(1, Ordering::Relaxed);
                    match response {
                        Ok(r) if r.status() == 429 => {
                            counters.throttled.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => assert_eq!(r.status(), 401, "a bad token request"),
                        Err(e) => panic!("token request failed: {e}"),
                    }
                }
            })
        })
        .collect()
}

/// A flood running in a child process: started, then stopped with its counts.
struct FloodProcess {
    child: tokio::process::Child,
}

impl FloodProcess {
    /// Starts `loops` loops from `addresses` (loopback addresses spread over 127.0.1.x; 0: the
    /// default address) against `base`, once the child says it runs.
    async fn start(base: &str, loops: usize, addresses: usize) -> Self {
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--role", "flood", "--url", base])
            .args(["--loops", &loops.to_string()])
            .args(["--addresses", &addresses.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("flood process");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).await.unwrap();
        assert_eq!(line.trim(), "flooding", "the flood process started");
        child.stdout = Some(out.into_inner());
        Self { child }
    }

    /// Stops the flood (closing its stdin); returns (requests, throttled).
    async fn stop(mut self) -> (u64, u64) {
        drop(self.child.stdin.take());
        let mut text = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .await
            .unwrap();
        assert!(self.child.wait().await.unwrap().success());
        let mut counts = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        (counts.next().unwrap(), counts.next().unwrap())
    }
}

/// The child's side: floods until stdin closes, then prints its counts.
fn flood_role(args: &[String]) {
    eps_api::install_crypto_provider();
    let arg = |name: &str| {
        let i = args.iter().position(|a| a == name).expect(name);
        args[i + 1].clone()
    };
    let (base, loops, spread) = (
        arg("--url"),
        arg("--loops").parse::<usize>().unwrap(),
        arg("--addresses").parse::<usize>().unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addresses: Vec<Option<IpAddr>> = if spread == 0 {
            vec![None]
        } else {
            (0..spread)
                .map(|i| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + i as u8))))
                .collect()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let tasks = flood(&base, loops, &addresses, stop.clone(), counters.clone());
        println!("flooding");
        let mut stdin = tokio::io::stdin();
        let mut rest = Vec::new();
        let _ = stdin.read_to_end(&mut rest).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.unwrap();
        }
        println!(
            "{} {}",
            counters.requests.load(Ordering::Relaxed),
            counters.throttled.load(Ordering::Relaxed)
        );
    });
}

/// A round of `count` payments, under a flood from `addresses` loopback addresses (0: the
/// default one) unless `None`.
async fn round(
    system: &SiteSystem,
    figures: &mut Figures,
    count: usize,
    next: &mut u64,
    flood_from: Option<usize>,
    loops: usize,
) {
    let flood = match flood_from {
        Some(addresses) => Some(FloodProcess::start(&system.base, loops, addresses).await),
        None => None,
    };
    let started = Instant::now();
    for _ in 0..count {
        figures.latencies.push(system.pay(*next).await);
        *next += 1;
    }
    if let Some(flood) = flood {
        figures.flood_time += started.elapsed();
        let (requests, throttled) = flood.stop().await;
        figures.requests += requests;
        figures.throttled += throttled;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.windows(2).any(|w| w[0] == "--role" && w[1] == "flood") {
        return flood_role(&args);
    }
    eps_api::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let payments = env("EPS_BENCH_PAYMENTS", 1000);
        let per_round = env("EPS_BENCH_ROUND", 50).max(1);
        let loops = env("EPS_BENCH_FLOOD", 200);
        let spread = env("EPS_BENCH_ADDRESSES", 64).clamp(1, 250);

        let dir = tempfile::tempdir().unwrap();
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::builder(config(dir.path(), &sim))
            .start(listener)
            .await
            .unwrap();
        let callback = server.callback_addresses()[&TerminalId::parse("lane-1").unwrap()];
        sim.set_callback(callback.to_string());
        let base = format!("http://{}", server.local_addr());
        let state = server.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));

        let client = state
            .clients
            .add(
                "pos-1",
                ScopeSet::parse("read write").unwrap(),
                SiteGrant::parse_list("1234567890").unwrap(),
            )
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth("pos-1", Some(client.secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let connected: Value = http
            .post(format!("{base}/connection"))
            .bearer_auth(&token)
            .json(&json!({"transmissionID": 1, "timestamp": "2021-04-08T05:20:00",
                "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let system = SiteSystem {
            http,
            base: base.clone(),
            token,
            connection: connected["connectionID"].as_str().unwrap().to_owned(),
            poi: state.sites.sites()[0].pois[0].poi_id.to_string(),
        };

        let mut next = 0u64;
        // Warm-up: connections, the lane's session, the store.
        round(&system, &mut Figures::default(), 20, &mut next, None, 0).await;
        let (mut quiet, mut from_one, mut from_many) =
            (Figures::default(), Figures::default(), Figures::default());
        let rounds = payments.div_ceil(per_round);
        for _ in 0..rounds {
            round(&system, &mut quiet, per_round, &mut next, None, 0).await;
            round(&system, &mut from_one, per_round, &mut next, Some(0), loops).await;
            round(&system, &mut from_many, per_round, &mut next, Some(spread), loops).await;
        }
        assert_eq!(
            sim.ledger().entries().len() as u64,
            next,
            "one charge per payment"
        );

        println!(
            "payments={} per condition, rounds of {per_round}, flood: {loops} concurrent loops of bad token requests, workers={}",
            rounds * per_round,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let quiet_p50 = {
            quiet.latencies.sort();
            percentile(&quiet.latencies, 0.50)
        };
        let quiet_p99 = percentile(&quiet.latencies, 0.99);
        for (name, figures) in [
            ("quiet", &mut quiet),
            ("flood/1", &mut from_one),
            (&*format!("flood/{spread}"), &mut from_many),
        ] {
            figures.latencies.sort();
            let p50 = percentile(&figures.latencies, 0.50);
            let p99 = percentile(&figures.latencies, 0.99);
            let flood = if figures.requests > 0 {
                format!(
                    " | token requests {:>6.0}/s, 429 {:>5.1}%",
                    figures.requests as f64 / figures.flood_time.as_secs_f64(),
                    100.0 * figures.throttled as f64 / figures.requests as f64
                )
            } else {
                String::new()
            };
            println!(
                "{name:<9} payment p50={:>6.2}ms p99={:>6.2}ms (x{:.2} / x{:.2} of quiet){flood}",
                ms(p50),
                ms(p99),
                p50.as_secs_f64() / quiet_p50.as_secs_f64(),
                p99.as_secs_f64() / quiet_p99.as_secs_f64(),
            );
        }
        let _ = stop.send(());
        serving.await.unwrap().unwrap();
        sim.shutdown().await;
    });
}
