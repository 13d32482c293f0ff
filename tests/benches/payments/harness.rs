//! What both runs of the benchmark share: the store under test, the EPS with its site systems,
//! the simulators, and the same payments driven directly by the OPI driver.

use std::path::Path;
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

/// What a measurement found.
pub(crate) struct Figures {
    /// Payments per second over the measured payments.
    pub(crate) payments_per_sec: f64,
    /// Median latency.
    pub(crate) p50: Duration,
    /// 99th percentile latency.
    pub(crate) p99: Duration,
    /// Busy refusals (several site systems on one terminal).
    pub(crate) busy: u64,
}

/// Latencies measured, possibly over several rounds.
#[derive(Default)]
pub(crate) struct Sample {
    latencies: Vec<Duration>,
    elapsed: Duration,
    busy: u64,
}

impl Sample {
    /// Adds another round's measurements.
    pub(crate) fn add(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
        self.busy += other.busy;
    }

    /// The figures of all rounds.
    pub(crate) fn figures(mut self) -> Figures {
        self.latencies.sort();
        Figures {
            payments_per_sec: self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            p50: percentile(&self.latencies, 0.50),
            p99: percentile(&self.latencies, 0.99),
            busy: self.busy,
        }
    }
}

/// The `q` quantile of sorted durations.
pub(crate) fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// The store under test: a SQLite file in a temp directory, or a PostgreSQL schema of its own
/// when `EPS_BENCH_DATABASE_URL` is set (dropped by [`Db::drop`]).
pub(crate) struct Db {
    /// The EPS's data directory (holds `eps.db` on SQLite).
    pub(crate) dir: tempfile::TempDir,
    /// The PostgreSQL URL and the store opened in its schema.
    pub(crate) postgres: Option<(String, Arc<PostgresStore>)>,
}

impl Db {
    /// A fresh, empty store of the engine the environment names.
    pub(crate) async fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let postgres = match std::env::var("EPS_BENCH_DATABASE_URL") {
            Ok(url) => {
                let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
                let store = PostgresStore::open_in_schema(&url, &schema).await.unwrap();
                Some((url, Arc::new(store)))
            }
            Err(_) => None,
        };
        Self { dir, postgres }
    }

    /// The SQLite database file (meaningful when not on PostgreSQL).
    pub(crate) fn sqlite_file(&self) -> std::path::PathBuf {
        self.dir.path().join("eps.db")
    }

    /// Drops the PostgreSQL schema; the temp directory goes with `self`.
    pub(crate) async fn drop(self) {
        if let Some((_, store)) = self.postgres {
            store.drop_schema().await.unwrap();
        }
    }
}

/// A site system of the benchmark.
pub(crate) struct SiteSystem {
    http: reqwest::Client,
    base: String,
    token: String,
    connection: String,
    poi: String,
}

impl SiteSystem {
    /// Pays once, retrying once the running payment ended while the terminal is busy; returns
    /// the latency of the answered payment and how many busy answers came first.
    pub(crate) async fn pay(&self, n: u64) -> (Duration, u64) {
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

fn config(data_dir: &Path, sims: &[SimServer]) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.log.filter = "error".to_owned();
    // The site systems do not heartbeat: their connections must outlive seeding a store.
    config.connection.heartbeat_interval_secs = 3_600;
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

/// Starts `count` simulated terminals on loopback.
pub(crate) async fn start_sims(count: usize) -> Vec<SimServer> {
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

/// Stops simulators.
pub(crate) async fn stop_sims(sims: Vec<SimServer>) {
    for sim in sims {
        sim.shutdown().await;
    }
}

/// Charges in the simulators' ledgers.
pub(crate) fn charged(sims: &[SimServer]) -> usize {
    sims.iter().map(|s| s.ledger().entries().len()).sum()
}

/// The real EPS serving on loopback with its site systems connected.
pub(crate) struct Eps {
    /// The site systems, each with its token and connection.
    pub(crate) systems: Vec<Arc<SiteSystem>>,
    /// Payments numbered so far (each payment's number is part of its idempotency key).
    issued: AtomicU64,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), eps_api::StartError>>,
}

impl Eps {
    /// Starts the EPS on `db` driving `sims` and connects `site_systems` site systems, each
    /// paying on terminal `i % sims.len()`.
    pub(crate) async fn start(db: &Db, sims: &[SimServer], site_systems: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut builder = Server::builder(config(db.dir.path(), sims));
        if let Some((_, store)) = &db.postgres {
            builder = builder.store(store.clone());
        }
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
        // Names of their own, so a second EPS on the same store adds new clients.
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut systems = Vec::new();
        for i in 0..site_systems {
            let name = format!("pos-{}-{i}", &run[..8]);
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
        Self {
            systems,
            issued: AtomicU64::new(0),
            stop,
            serving,
        }
    }

    /// `warm_up` payments per site system, one after another, not measured.
    pub(crate) async fn warm_up(&self, warm_up: u64) {
        let tasks: Vec<_> = self
            .systems
            .iter()
            .map(|system| {
                let system = system.clone();
                tokio::spawn(async move {
                    for n in 0..warm_up {
                        system.pay(1_000_000 + n).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }

    /// `total` payments, every site system paying with zero think time until they are done.
    pub(crate) async fn measure(&self, total: u64) -> Sample {
        let first = self.issued.fetch_add(total, Ordering::Relaxed);
        let total = first + total;
        let next = Arc::new(AtomicU64::new(first));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for system in &self.systems {
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
        Sample {
            latencies,
            elapsed: started.elapsed(),
            busy,
        }
    }

    /// Stops serving and waits for the background tasks.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
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

/// `payments` payments driven directly by the OPI driver on `terminals` fresh simulators, one
/// after another per terminal (after `warm_up` each).
pub(crate) async fn direct(terminals: usize, payments: usize, warm_up: u64) -> Sample {
    let sims = start_sims(terminals).await;
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
    let mut shared: Vec<SharedTerminal> = Vec::new();
    for (sim, id) in sims.iter().zip(&ids) {
        sim.set_callback(backend.callback_address(id).unwrap().to_string());
        let terminal = backend.terminal(id).unwrap();
        terminal
            .status()
            .wait_for(|s| *s == TerminalStatus::Online)
            .await
            .unwrap();
        shared.push(terminal);
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
    for (i, terminal) in shared.iter().enumerate() {
        for n in 0..warm_up {
            pay(terminal.clone(), 9_000_000 + i as u64 * 1000 + n).await;
        }
    }
    let per_terminal = (payments / terminals).max(1) as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, terminal) in shared.iter().cloned().enumerate() {
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
    backend.shutdown().await;
    stop_sims(sims).await;
    Sample {
        latencies,
        elapsed,
        busy: 0,
    }
}

/// Milliseconds as a float.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
