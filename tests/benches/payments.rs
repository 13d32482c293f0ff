//! Payments through the EPS: N site systems (HTTP clients, each with its token and connection)
//! pay with zero think time on M simulated terminals (`opi-sim` over loopback TCP), each payment
//! `POST /payments` with `Prefer: wait` and an `Idempotency-Key`, answered once approved. In the
//! same run, the same simulators are driven directly by the OPI driver (`OpiTerminal`), with no
//! EPS in between: the ratio of the two latencies is what the EPS adds (HTTP, OAuth2, the
//! durable store, journal and events).
//!
//! `cargo bench -p eps-e2e --bench payments`; `EPS_BENCH_PAYMENTS` (default 2000) per
//! configuration, `EPS_BENCH_RUNS` as `N:M,N:M` (default `1:1,4:4,8:4`),
//! `EPS_BENCH_DATABASE_URL` for PostgreSQL (a schema of its own, dropped after) instead of
//! SQLite. When several site systems share a terminal, one refused as busy waits for the running
//! payment's end (`GET` with `Prefer: wait`) and tries again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eps_api::config::{PoiConfig, SiteConfig, TerminalConfig};
use eps_api::{Config, Server};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::ids::{TerminalId, TerminalRequestId};
use eps_core::money::{Amount, Currency};
use eps_core::prompt::PromptAnswer;
use eps_core::store::postgres::PostgresStore;
use eps_core::terminal::{
    CardOperation, DeviceOutput, InputRequest, OperationObserver, SharedTerminal, TerminalOutcome,
    TerminalRequest, TerminalResult, TerminalStatus,
};
use opi_backend::profile::{ProfileRef, TerminalProfile};
use opi_backend::sim::{SimConfig, SimServer};
use opi_backend::{OpiBackend, OpiTerminalConfig};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::time::Instant;

/// One measured configuration.
struct Run {
    site_systems: usize,
    terminals: usize,
    payments: usize,
}

/// What a run measured.
struct Figures {
    payments_per_sec: f64,
    p50: Duration,
    p99: Duration,
    busy: u64,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// A site system of the benchmark.
struct SiteSystem {
    http: reqwest::Client,
    base: String,
    token: String,
    connection: String,
    poi: String,
}

impl SiteSystem {
    /// Pays once, retrying once the running payment ended while the terminal is busy; returns
    /// the latency of the answered payment and how many busy answers came first.
    async fn pay(&self, n: u64) -> (Duration, u64) {
        let body = json!({"poiID": self.poi,
            "amount": {"value": format!("{}.{:02}", 10 + n % 50, (n % 5) * 10), "currency": "EUR"}});
        let key = format!("bench-{}-{n}", self.connection);
        let mut busy = 0;
        loop {
            let started = Instant::now();
            let response = self
                .http
                .post(format!("{}/payments", self.base))
                .bearer_auth(&self.token)
                .header("openretailing-connection-id", &self.connection)
                .header("prefer", "wait=60")
                .header("idempotency-key", &key)
                .json(&body)
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let answer: Value = response.json().await.expect("JSON");
            let took = started.elapsed();
            match status {
                200 if answer["transaction"]["state"] == "approved" => return (took, busy),
                409 if answer["statusReturn"]["error"] == "ERRCD_POI_BUSY" => {
                    // Another site system's payment runs on this terminal: wait for its end
                    // (no think time, no polling), then try again.
                    busy += 1;
                    let active = answer["activeTransactionID"].as_str().unwrap_or_default();
                    self.http
                        .get(format!("{}/transactions/{active}", self.base))
                        .bearer_auth(&self.token)
                        .header("openretailing-connection-id", &self.connection)
                        .header("prefer", "wait=60")
                        .send()
                        .await
                        .expect("request sent");
                }
                _ => panic!("payment {n} failed: {status} {answer}"),
            }
        }
    }
}

fn config(data_dir: &std::path::Path, sims: &[SimServer]) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.log.filter = "error".to_owned();
    config.sites = vec![SiteConfig {
        merchant_id: "1234567890".to_owned(),
        name: None,
        pois: sims
            .iter()
            .enumerate()
            .map(|(i, sim)| PoiConfig {
                logical_id: format!("{:03}", i + 1),
                workstation_type: "pointOfService".to_owned(),
                poi_id: None,
                terminal: TerminalConfig {
                    id: Some(format!("lane-{}", i + 1)),
                    address: sim.channel0_address().to_string(),
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

async fn start_sims(count: usize) -> Vec<SimServer> {
    let mut sims = Vec::new();
    for _ in 0..count {
        sims.push(
            SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
                .await
                .unwrap(),
        );
    }
    sims
}

/// Payments through the EPS.
async fn through_the_eps(run: &Run) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let sims = start_sims(run.terminals).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut builder = Server::builder(config(dir.path(), &sims));
    let postgres = match std::env::var("EPS_BENCH_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let store = Arc::new(PostgresStore::open_in_schema(&url, &schema).await.unwrap());
            builder = builder.store(store.clone());
            Some(store)
        }
        Err(_) => None,
    };
    let server = builder.start(listener).await.unwrap();
    let callbacks = server.callback_addresses();
    for (i, sim) in sims.iter().enumerate() {
        let id = TerminalId::parse(&format!("lane-{}", i + 1)).unwrap();
        sim.set_callback(callbacks[&id].to_string());
    }
    let base = format!("http://{}", server.local_addr());
    let state = server.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let pois: Vec<String> = state.sites.sites()[0]
        .pois
        .iter()
        .map(|p| p.poi_id.to_string())
        .collect();
    let mut systems = Vec::new();
    for i in 0..run.site_systems {
        let name = format!("pos-{i}");
        let client = state
            .clients
            .add(
                &name,
                ScopeSet::parse("read write").unwrap(),
                SiteGrant::parse_list("1234567890").unwrap(),
            )
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(&name, Some(client.secret.expose_secret()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let connect = json!({"transmissionID": i, "timestamp": "2021-04-08T05:20:00",
            "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]});
        let connected: Value = http
            .post(format!("{base}/connection"))
            .bearer_auth(&token)
            .json(&connect)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        systems.push(Arc::new(SiteSystem {
            http,
            base: base.clone(),
            token,
            connection: connected["connectionID"].as_str().unwrap().to_owned(),
            poi: pois[i % pois.len()].clone(),
        }));
    }
    for system in &systems {
        for n in 0..20 {
            system.pay(1_000_000 + n).await;
        }
    }
    let next = Arc::new(AtomicU64::new(0));
    let total = run.payments as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for system in &systems {
        let (system, next) = (system.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut busy = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return (latencies, busy);
                }
                let (took, refused) = system.pay(n).await;
                latencies.push(took);
                busy += refused;
            }
        }));
    }
    let mut latencies = Vec::new();
    let mut busy = 0;
    for task in tasks {
        let (l, b) = task.await.unwrap();
        latencies.extend(l);
        busy += b;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let charged: usize = sims.iter().map(|s| s.ledger().entries().len()).sum();
    assert_eq!(
        charged,
        run.payments + 20 * run.site_systems,
        "one charge per payment"
    );
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    if let Some(store) = postgres {
        store.drop_schema().await.unwrap();
    }
    for sim in sims {
        sim.shutdown().await;
    }
    Figures {
        payments_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        busy,
    }
}

/// An observer that only looks at what arrives, as the domain's would store it.
struct Counting;

#[async_trait]
impl OperationObserver for Counting {
    async fn before_send(&self) -> Result<(), String> {
        Ok(())
    }
    async fn sent(&self) {}
    async fn output(&self, output: DeviceOutput) {
        std::hint::black_box(output);
    }
    async fn input(&self, _request: InputRequest) -> Option<PromptAnswer> {
        None
    }
    async fn card_acquired(&self) {}
}

/// The same payments driven directly by the OPI driver, one after another per terminal.
async fn direct(run: &Run) -> Figures {
    let sims = start_sims(run.terminals).await;
    let mut profile = TerminalProfile::default();
    profile.timers.health_check = Duration::from_secs(60);
    let configs: Vec<OpiTerminalConfig> = sims
        .iter()
        .enumerate()
        .map(|(i, sim)| {
            let mut config = OpiTerminalConfig::new(
                TerminalId::parse(&format!("direct-{i}")).unwrap(),
                sim.channel0_address().to_string(),
                "127.0.0.1:0".parse().unwrap(),
                format!("POS{:03}", i + 1),
            );
            config.profile = ProfileRef::Inline(Box::new(profile.clone()));
            config
        })
        .collect();
    let ids: Vec<TerminalId> = configs.iter().map(|c| c.id.clone()).collect();
    let backend = OpiBackend::start(configs).await.unwrap();
    let mut terminals: Vec<SharedTerminal> = Vec::new();
    for (sim, id) in sims.iter().zip(&ids) {
        sim.set_callback(backend.callback_address(id).unwrap().to_string());
        let terminal = backend.terminal(id).unwrap();
        terminal
            .status()
            .wait_for(|s| *s == TerminalStatus::Online)
            .await
            .unwrap();
        terminals.push(terminal);
    }
    let pay = |terminal: SharedTerminal, n: u64| async move {
        let request = TerminalRequest {
            request_id: TerminalRequestId::parse(&format!("{n}")).unwrap(),
            operation: CardOperation::Payment {
                amount: Amount::from_minor(1000 + (n % 50) as i64 * 100, Currency::EUR).unwrap(),
            },
        };
        let started = Instant::now();
        let outcome = terminal.card_operation(request, Arc::new(Counting)).await;
        match outcome {
            TerminalOutcome::Answered(a) if a.result == TerminalResult::Success => {
                started.elapsed()
            }
            other => panic!("direct payment {n} failed: {other:?}"),
        }
    };
    for (i, terminal) in terminals.iter().enumerate() {
        for n in 0..20 {
            pay(terminal.clone(), 9_000_000 + i as u64 * 1000 + n).await;
        }
    }
    let per_terminal = (run.payments / run.terminals) as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, terminal) in terminals.iter().cloned().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in 0..per_terminal {
                latencies.push(pay(terminal.clone(), 1_000_000 * (i as u64 + 1) + n).await);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    backend.shutdown().await;
    for sim in sims {
        sim.shutdown().await;
    }
    Figures {
        payments_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        busy: 0,
    }
}

fn runs() -> Vec<Run> {
    let payments = std::env::var("EPS_BENCH_PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let spec = std::env::var("EPS_BENCH_RUNS").unwrap_or_else(|_| "1:1,4:4,8:4".to_owned());
    spec.split(',')
        .filter_map(|pair| pair.split_once(':'))
        .filter_map(|(n, m)| Some((n.trim().parse().ok()?, m.trim().parse().ok()?)))
        .map(|(site_systems, terminals)| Run {
            site_systems,
            terminals,
            payments,
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    eps_api::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = if std::env::var("EPS_BENCH_DATABASE_URL").is_ok() {
            "postgres"
        } else {
            "sqlite"
        };
        println!(
            "store={store} workers={}",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        for run in runs() {
            let eps = through_the_eps(&run).await;
            let opi = direct(&run).await;
            println!(
                "N={:<2} M={:<2} payments={:<5} EPS: {:>6.0} payments/s p50={:>6.2}ms p99={:>6.2}ms busy={:<5} | direct OPI: {:>6.0}/s p50={:>5.2}ms p99={:>5.2}ms | added cost p50 x{:.1} p99 x{:.1}",
                run.site_systems,
                run.terminals,
                run.payments,
                eps.payments_per_sec,
                ms(eps.p50),
                ms(eps.p99),
                eps.busy,
                opi.payments_per_sec,
                ms(opi.p50),
                ms(opi.p99),
                eps.p50.as_secs_f64() / opi.p50.as_secs_f64(),
                eps.p99.as_secs_f64() / opi.p99.as_secs_f64(),
            );
        }
    });
}
