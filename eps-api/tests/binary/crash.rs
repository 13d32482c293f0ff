//! The `eps` binary killed with SIGKILL mid-payment and started again on the same data: every
//! transaction ends final and as the simulated terminal's own ledger says (or `failed` with the
//! reason when the terminal never completed it), never approved by guess and never charged
//! twice. A follow-up and its original, and a reconciliation, killed at a named durable step
//! (`EPS_TEST_PAUSE_AT`), are consistent after the restart. SQLite always; PostgreSQL too when
//! `EPS_TEST_DATABASE_URL` is set. Each test ends with the exact
//! agreement of the stored transactions with the simulator's ledger.

use std::path::Path;
use std::time::Duration;

use eps_core::durable::{self, DurableStep};
use eps_core::ids::{MerchantId, TerminalId};
use eps_core::store::TransactionStore as _;
use eps_core::store::postgres::PostgresStore;
use eps_core::store::sqlite::SqliteStore;
use eps_core::transaction::{TransactionQuery, TransactionRecord};
use opi_backend::message::OverallResult;
use opi_backend::sim::agreement;
use opi_backend::sim::{Received, Scenario, ScriptMatch, SimConfig, SimServer};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::support;

/// The store a run uses: SQLite in the data directory, or a PostgreSQL schema of its own.
pub(crate) enum Store {
    Sqlite,
    Postgres { url: String, schema: String },
}

impl Store {
    pub(crate) async fn all() -> Vec<Self> {
        eps_api::install_crypto_provider();
        let mut all = vec![Self::Sqlite];
        if let Ok(url) = std::env::var("EPS_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            let schema = format!("crash_{}", uuid::Uuid::new_v4().simple());
            // Created and migrated here; the child finds it through its search path.
            PostgresStore::open_in_schema(&url, &schema)
                .await
                .expect("schema")
                .close()
                .await;
            all.push(Self::Postgres { url, schema });
        } else {
            assert!(
                std::env::var("EPS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "EPS_REQUIRE_POSTGRES=1 but EPS_TEST_DATABASE_URL is not set"
            );
            skipped_notice();
        }
        all
    }

    /// `sqlite` or `postgres`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// A store of the same engine with nothing in it (a new schema on PostgreSQL).
    pub(crate) async fn fresh_like(&self) -> Self {
        match self {
            Self::Sqlite => Self::Sqlite,
            Self::Postgres { url, .. } => {
                let schema = format!("crash_{}", uuid::Uuid::new_v4().simple());
                PostgresStore::open_in_schema(url, &schema)
                    .await
                    .expect("schema")
                    .close()
                    .await;
                Self::Postgres {
                    url: url.clone(),
                    schema,
                }
            }
        }
    }

    fn database_url(&self, data_dir: &Path) -> String {
        match self {
            Self::Sqlite => format!("sqlite://{}/eps.db", data_dir.display()),
            Self::Postgres { url, schema } => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// Every transaction of the lane's site as stored, read beside the running (or killed)
    /// process.
    pub(crate) async fn transactions(&self, data_dir: &Path) -> Vec<TransactionRecord> {
        let query = TransactionQuery {
            merchant_id: MerchantId::parse("1234567890").unwrap(),
            state: None,
            poi_id: None,
            created_from: None,
            created_to: None,
            before: None,
            limit: 10_000,
        };
        match self {
            Self::Sqlite => {
                let store = SqliteStore::open(&self.database_url(data_dir))
                    .await
                    .unwrap();
                let records = store.transactions(&query).await.unwrap();
                store.close().await;
                records
            }
            Self::Postgres { url, schema } => {
                let store = PostgresStore::open_in_schema(url, schema).await.unwrap();
                let records = store.transactions(&query).await.unwrap();
                store.close().await;
                records
            }
        }
    }

    /// Asserts the exact agreement of the stored transactions with the lane's ledger
    /// (`opi_backend::sim::agreement`).
    pub(crate) async fn assert_agrees_with(&self, data_dir: &Path, sim: &SimServer) {
        let records = self.transactions(data_dir).await;
        let lane = TerminalId::parse("lane-1").unwrap();
        let ledger = sim.ledger();
        let agreement = agreement::compare(&records, [(&lane, &ledger)]);
        assert!(agreement.is_exact(), "{agreement}");
    }

    pub(crate) async fn drop(self) {
        if let Self::Postgres { url, schema } = self {
            let store = PostgresStore::open_in_schema(&url, &schema).await.unwrap();
            store.drop_schema().await.unwrap();
        }
    }
}

/// Says once per test process, on the real stderr (past the test harness's capture, so it shows
/// even when every test passes), that the crash tests did not run on PostgreSQL.
fn skipped_notice() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE (eps binary crash tests): PostgreSQL NOT RUN: EPS_TEST_DATABASE_URL is not \
             set, so these tests ran on SQLite only"
        );
    });
}

/// A running `eps serve`.
pub(crate) struct Eps {
    child: Child,
    address: String,
    pub(crate) callback: String,
    /// Its log lines as they come.
    live: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

/// The configuration: one lane on the simulator at `terminal`, fast recovery. The terminal's
/// hard cap is 5 s, so recovery may conclude "never completed" 5 s after an outcome was lost.
fn config(data_dir: &Path, terminal: &str) -> std::path::PathBuf {
    config_with(data_dir, terminal, 100)
}

/// [`config`] with `recovery_attempts` attempts to ask the terminal before an outcome is lost.
pub(crate) fn config_with(
    data_dir: &Path,
    terminal: &str,
    recovery_attempts: u32,
) -> std::path::PathBuf {
    let file = data_dir.join("eps.toml");
    std::fs::write(
        &file,
        format!(
            r#"public_url = "http://eps.test"
[log]
format = "json"
[payments]
recovery_backoff_ms = 100
recovery_attempts = {recovery_attempts}
recovery_interval_secs = 1
retry_initial_secs = 1
retry_max_secs = 2
[[sites]]
merchant_id = "1234567890"
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
terminal = {{ id = "lane-1", address = "{terminal}", callback = "127.0.0.1:0", workstation_id = "POS001", profile = {{ timers = {{ hard_cap = "5s", idle = "4s" }} }} }}
"#
        ),
    )
    .unwrap();
    file
}

/// [`support::eps`] with the configuration file and the store's database.
pub(crate) fn eps(data_dir: &Path, store: &Store) -> Command {
    let mut command = support::eps(data_dir);
    command
        .arg("--config")
        .arg(data_dir.join("eps.toml"))
        .env("EPS_DATABASE_URL", store.database_url(data_dir));
    command
}

impl Eps {
    /// Starts `eps serve` and reads its address and the lane's callback address from its log.
    pub(crate) async fn start(data_dir: &Path, store: &Store) -> Self {
        Self::spawn(&mut eps(data_dir, store)).await
    }

    /// [`Eps::start`] with a task parking at the durable step `step` when it reaches it.
    pub(crate) async fn start_pausing_at(
        data_dir: &Path,
        store: &Store,
        step: DurableStep,
    ) -> Self {
        let mut command = eps(data_dir, store);
        command.env(durable::PAUSE_AT_VARIABLE, step.as_str());
        Self::spawn(&mut command).await
    }

    async fn spawn(command: &mut Command) -> Self {
        // The rest of the log keeps being read: the child never blocks on a full pipe.
        let serving = support::serve(command).await;
        Self::from_serving(serving)
    }

    /// The process `serving` started (its first lane's callback address announced).
    pub(crate) fn from_serving(serving: support::Serving) -> Self {
        Self {
            child: serving.child,
            address: serving.address,
            callback: serving.callback.expect("the callback line comes first"),
            live: serving.live,
        }
    }

    /// Waits until a task is parked at `step`; returns its subject.
    pub(crate) async fn paused_at(&mut self, step: DurableStep) -> String {
        support::paused_at(&mut self.live, step.as_str()).await
    }

    /// Stops it with SIGTERM (a clean shutdown).
    pub(crate) async fn terminate(self) {
        support::terminate(self.child).await;
    }

    pub(crate) async fn kill9(mut self) {
        self.child.start_kill().unwrap(); // SIGKILL on Unix
        self.child.wait().await.unwrap();
    }
}

/// A site system on the binary.
pub(crate) struct Pos {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) connection: String,
    pub(crate) lane: String,
}

impl Pos {
    pub(crate) async fn connect(eps: &Eps, client_id: &str, secret: &str) -> Self {
        let base = format!("http://{}", eps.address);
        let token = support::access_token(&support::http(), &base, client_id, secret).await;
        Self::with_token(eps, token).await
    }

    pub(crate) async fn with_token(eps: &Eps, token: String) -> Self {
        let http = support::http();
        let base = format!("http://{}", eps.address);
        let connected: Value = support::connect(&http, &base, &token)
            .await
            .json()
            .await
            .unwrap();
        let connection = connected["connectionID"].as_str().unwrap().to_owned();
        let pois: Value = http
            .get(format!("{base}/POIs"))
            .bearer_auth(&token)
            .header("openretailing-connection-id", &connection)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let lane = pois["poiAddresses"][0]["poiID"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            http,
            base,
            token,
            connection,
            lane,
        }
    }

    async fn start_payment(&self, value: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/payments", self.base))
            .bearer_auth(&self.token)
            .header("openretailing-connection-id", &self.connection)
            .json(&json!({"poiID": self.lane, "amount": {"value": value, "currency": "EUR"}}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("openretailing-connection-id", &self.connection)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub(crate) async fn get(&self, path: &str, wait: bool) -> Value {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("openretailing-connection-id", &self.connection);
        if wait {
            request = request.header("prefer", "wait=60");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

/// Whether a request the terminal received is a RepeatLastMessage (card or service request).
pub(crate) fn is_repeat_last_message(received: &Received) -> bool {
    received.kind.name() == "RepeatLastMessage"
}

/// No transaction is left `pending`, `inProgress` or `unknown`.
async fn assert_all_final(pos: &Pos) {
    for state in ["pending", "inProgress", "unknown"] {
        let list = pos
            .get(&format!("/transactions?state={state}"), false)
            .await;
        assert_eq!(list["transactions"], json!([]), "{state}: {list:#}");
    }
}

#[tokio::test]
async fn sigkill_mid_payment_recovers_the_terminals_outcome() {
    for store in Store::all().await {
        let dir = tempfile::tempdir().unwrap();
        // The terminal takes its time, so the EPS dies while the payment is on it.
        let sim = SimServer::start(
            "127.0.0.1:0".parse().unwrap(),
            SimConfig {
                latency: Duration::from_millis(1500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        config(dir.path(), &sim.channel0_address().to_string());
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write").await;
        let eps = Eps::start(dir.path(), &store).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::connect(&eps, "pos-1", &secret).await;
        let (status, started) = pos.start_payment("42.00").await;
        assert_eq!(status, 202, "{started:#}");
        assert_eq!(started["transaction"]["state"], "inProgress");
        let id = started["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        eps.kill9().await;

        let eps = Eps::start(dir.path(), &store).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::with_token(&eps, pos.token).await;
        let after = pos.get(&format!("/transactions/{id}"), true).await;
        let transaction = &after["transaction"];
        assert_eq!(transaction["state"], "approved", "{after:#}");
        let ledger = sim.ledger();
        assert_eq!(ledger.entries().len(), 1, "charged once");
        // Mid-payment, proved: the EPS died without the answer and learned it by asking the
        // terminal after the restart.
        assert!(
            ledger.received().iter().any(is_repeat_last_message),
            "the outcome was recovered, not answered before the kill: {:?}",
            ledger.received()
        );
        let entry = &ledger.entries()[0];
        assert_eq!(entry.result, OverallResult::Success);
        assert_eq!(
            transaction["authorization"]["stan"].as_str(),
            entry.stan.as_deref()
        );
        assert_all_final(&pos).await;
        store.assert_agrees_with(dir.path(), &sim).await;
        eps.kill9().await;
        sim.shutdown().await;
        store.drop().await;
    }
}

#[tokio::test]
async fn sigkill_during_recovery_of_a_payment_the_terminal_never_ran_ends_failed() {
    for store in Store::all().await {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
            .await
            .unwrap();
        config(dir.path(), &sim.channel0_address().to_string());
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write").await;
        let eps = Eps::start(dir.path(), &store).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::connect(&eps, "pos-1", &secret).await;
        let earlier = pos.start_payment("5.00").await.1;
        let earlier = earlier["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            pos.get(&format!("/transactions/{earlier}"), true).await["transaction"]["state"],
            "approved"
        );
        // The terminal drops the payment unread, and every RepeatLastMessage answer too: the
        // EPS cannot prove anything before it is killed.
        sim.push(Scenario::DropAfterRequest);
        for _ in 0..1000 {
            sim.script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let (status, started) = pos.start_payment("6.00").await;
        assert_eq!(status, 202, "{started:#}");
        let id = started["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        // During recovery, proved: the terminal has been asked RepeatLastMessage before the kill.
        let asked = async {
            let mut requests = sim.requests();
            loop {
                if sim.ledger().received().iter().any(is_repeat_last_message) {
                    return;
                }
                requests.changed().await.unwrap();
            }
        };
        tokio::time::timeout(support::BOUND, asked)
            .await
            .expect("the EPS asks the terminal RepeatLastMessage (recovery runs) within the bound");
        eps.kill9().await;
        sim.clear_script();

        let eps = Eps::start(dir.path(), &store).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::with_token(&eps, pos.token).await;
        let after = pos.get(&format!("/transactions/{id}"), true).await;
        let transaction = &after["transaction"];
        assert_eq!(transaction["state"], "failed", "{after:#}");
        assert_eq!(transaction["resultCode"], "neverCompleted");
        assert!(
            transaction["reason"]
                .as_str()
                .unwrap()
                .contains("never completed")
        );
        assert_eq!(sim.ledger().entries().len(), 1, "only the earlier payment");
        assert_all_final(&pos).await;
        store.assert_agrees_with(dir.path(), &sim).await;
        eps.kill9().await;
        sim.shutdown().await;
        store.drop().await;
    }
}

#[tokio::test]
async fn sigkill_right_after_a_follow_ups_outcome_leaves_it_and_its_original_consistent() {
    for store in Store::all().await {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
            .await
            .unwrap();
        config(dir.path(), &sim.channel0_address().to_string());
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write").await;
        let step = DurableStep::FollowUpOutcomeSaved;
        let mut eps = Eps::start_pausing_at(dir.path(), &store, step).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::connect(&eps, "pos-1", &secret).await;
        let paid = pos.start_payment("10.00").await.1;
        let paid = paid["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        let paid_path = format!("/transactions/{paid}");
        assert_eq!(
            pos.get(&paid_path, true).await["transaction"]["state"],
            "approved"
        );
        let (status, reversal) = pos.post(&format!("{paid_path}/reversal"), json!({})).await;
        assert_eq!(status, 202, "{reversal:#}");
        let reversal = reversal["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        // Killed right after the reversal's approval was committed.
        assert_eq!(eps.paused_at(step).await, reversal);
        eps.kill9().await;

        let eps = Eps::start(dir.path(), &store).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::with_token(&eps, pos.token).await;
        let after = pos.get(&format!("/transactions/{reversal}"), true).await;
        assert_eq!(after["transaction"]["state"], "approved", "{after:#}");
        let original = pos.get(&paid_path, false).await;
        assert_eq!(
            original["transaction"]["state"], "reversed",
            "the original was settled with the reversal's outcome: {original:#}"
        );
        let ledger = sim.ledger();
        let types: Vec<_> = ledger
            .entries()
            .iter()
            .map(|e| e.request_type.clone())
            .collect();
        assert_eq!(types, ["CardPayment", "PaymentReversal"], "once each");
        assert!(
            ledger
                .entries()
                .iter()
                .all(|e| e.result == OverallResult::Success)
        );
        assert_all_final(&pos).await;
        eps.kill9().await;
        sim.shutdown().await;
        store.drop().await;
    }
}

#[tokio::test]
async fn sigkill_mid_reconciliation_ends_it_unknown_or_final_after_restart() {
    for store in Store::all().await {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
            .await
            .unwrap();
        config(dir.path(), &sim.channel0_address().to_string());
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write").await;
        let step = DurableStep::ReconciliationSent;
        let mut eps = Eps::start_pausing_at(dir.path(), &store, step).await;
        sim.set_callback(eps.callback.clone());
        let pos = Pos::connect(&eps, "pos-1", &secret).await;
        let (status, started) = pos
            .post(
                "/reconciliations",
                json!({"poiID": pos.lane, "closure": "yes"}),
            )
            .await;
        assert_eq!(status, 202, "{started:#}");
        let id = started["reconciliation"]["reconciliationID"]
            .as_str()
            .unwrap()
            .to_owned();
        // Killed with the request on the wire and its answer not yet saved.
        assert_eq!(eps.paused_at(step).await, id);
        eps.kill9().await;

        let eps = Eps::start(dir.path(), &store).await;
        let pos = Pos::with_token(&eps, pos.token).await;
        let after = pos.get(&format!("/reconciliations/{id}"), false).await;
        let reconciliation = &after["reconciliation"];
        let state = reconciliation["state"].as_str().unwrap();
        assert!(
            ["unknown", "completed", "failed"].contains(&state),
            "never pending or inProgress after a restart: {after:#}"
        );
        if state == "unknown" {
            assert!(
                reconciliation["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("without closure")),
                "{after:#}"
            );
        }
        eps.kill9().await;
        sim.shutdown().await;
        store.drop().await;
    }
}
