//! The `eps` binary killed with SIGKILL while sixteen terminals commit side by side (on SQLite
//! their writes share group commits, so a batch is in flight): after the restart every
//! transaction a site system was told about is there in at least the state it was told, and
//! every transaction ends in its terminal ledger's truth or `unknown` with a reason (exact
//! agreement, no double charge). SQLite always; PostgreSQL too when `EPS_TEST_DATABASE_URL` is
//! set.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eps_core::ids::TerminalId;
use opi_backend::sim::agreement;
use opi_backend::sim::{SimConfig, SimServer};
use serde_json::{Value, json};

use crate::crash::{Eps, Pos, Store, eps};
use crate::support;

/// Terminals paying side by side.
const LANES: usize = 16;

/// Answers received before the kill: enough that the writer is busy with every lane.
const TOLD_BEFORE_KILL: usize = 60;

/// One lane per simulator, fast recovery.
fn config(data_dir: &Path, sims: &[SimServer]) {
    let mut text = String::from(
        r#"public_url = "http://eps.test"
[log]
format = "json"
[payments]
recovery_backoff_ms = 100
recovery_attempts = 100
recovery_interval_secs = 1
retry_initial_secs = 1
retry_max_secs = 2
[[sites]]
merchant_id = "1234567890"
"#,
    );
    for (lane, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            r#"[[sites.pois]]
logical_id = "{logical:03}"
workstation_type = "pointOfService"
terminal = {{ id = "lane-{n}", address = "{address}", callback = "127.0.0.1:0", workstation_id = "POS{logical:03}", profile = {{ timers = {{ hard_cap = "5s", idle = "4s" }} }} }}
"#,
            logical = lane + 1,
            n = lane + 1,
            address = sim.channel0_address(),
        ));
    }
    std::fs::write(data_dir.join("eps.toml"), text).unwrap();
}

/// Starts `eps serve` and points every simulator at its lane's callback listener.
async fn start(data_dir: &Path, store: &Store, sims: &[SimServer]) -> Eps {
    let serving = support::serve(&mut eps(data_dir, store)).await;
    let callbacks: HashMap<String, String> = serving
        .log
        .iter()
        .filter(|line| line["fields"]["message"] == "terminal callbacks listening")
        .map(|line| {
            (
                line["fields"]["terminal"].as_str().unwrap().to_owned(),
                line["fields"]["callback"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (lane, sim) in sims.iter().enumerate() {
        sim.set_callback(callbacks[&format!("lane-{}", lane + 1)].clone());
    }
    Eps::from_serving(serving)
}

/// What the site systems were told: transaction id → state.
type Told = Arc<Mutex<HashMap<String, String>>>;

/// Pays on `poi` until the process dies, recording every answer that names a transaction.
async fn pay_until_dead(pos: Arc<Pos>, poi: String, told: Told) {
    for n in 0.. {
        let response = pos
            .http
            .post(format!("{}/payments", pos.base))
            .bearer_auth(&pos.token)
            .header("openretailing-connection-id", &pos.connection)
            .header("prefer", "wait=10")
            .header("idempotency-key", format!("{poi}-{n}"))
            .json(&json!({"poiID": poi, "amount": {"value": "1.00", "currency": "EUR"}}))
            .send()
            .await;
        let Ok(response) = response else { return };
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        if let (Some(id), Some(state)) = (
            body["transaction"]["transactionID"].as_str(),
            body["transaction"]["state"].as_str(),
        ) {
            told.lock().unwrap().insert(id.to_owned(), state.to_owned());
        }
    }
}

/// How far a state is along (a later answer never goes back).
fn rank(state: &str) -> u8 {
    match state {
        "pending" => 0,
        "inProgress" => 1,
        _ => 2,
    }
}

#[tokio::test]
async fn sigkill_with_a_batch_of_commits_in_flight_loses_nothing_told() {
    for store in Store::all().await {
        let dir = tempfile::tempdir().unwrap();
        let mut sims = Vec::new();
        for _ in 0..LANES {
            let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
                .await
                .unwrap();
            sims.push(sim);
        }
        config(dir.path(), &sims);
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write").await;
        let eps_process = start(dir.path(), &store, &sims).await;
        let told: Told = Arc::default();
        let mut payers = Vec::new();
        let mut tokens = Vec::new();
        for _ in 0..LANES {
            let pos = Pos::connect(&eps_process, "pos-1", &secret).await;
            tokens.push(pos.token.clone());
            payers.push(Arc::new(pos));
        }
        let pois: Vec<String> = {
            let listed = payers[0].get("/POIs", false).await;
            listed["poiAddresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|poi| poi["poiID"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(pois.len(), LANES);
        let tasks: Vec<_> = payers
            .iter()
            .zip(&pois)
            .map(|(pos, poi)| tokio::spawn(pay_until_dead(pos.clone(), poi.clone(), told.clone())))
            .collect();
        // A bound on a hang, not a pause: the load runs until enough answers came.
        tokio::time::timeout(Duration::from_secs(120), async {
            while told.lock().unwrap().len() < TOLD_BEFORE_KILL {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("payments are answered under load");
        eps_process.kill9().await;
        for task in tasks {
            task.await.unwrap();
        }
        let told = told.lock().unwrap().clone();

        let eps_process = start(dir.path(), &store, &sims).await;
        let pos = Pos::with_token(&eps_process, tokens.pop().unwrap()).await;
        // Recovery ends everything left open: waits on each until it is final or `unknown`.
        let stored = store.transactions(dir.path()).await;
        for record in &stored {
            let after = pos.get(&format!("/transactions/{}", record.id), true).await;
            let state = after["transaction"]["state"].as_str().unwrap().to_owned();
            assert!(
                rank(&state) == 2,
                "{} still {state} after recovery: {after:#}",
                record.id
            );
        }
        let stored = store.transactions(dir.path()).await;
        let by_id: HashMap<String, String> = stored
            .iter()
            .map(|r| (r.id.to_string(), r.state.as_str().to_owned()))
            .collect();
        for (id, state) in &told {
            let now = by_id
                .get(id)
                .unwrap_or_else(|| panic!("transaction {id} was answered {state} and is gone"));
            assert!(
                rank(now) >= rank(state) && (rank(state) < 2 || now == state),
                "transaction {id} was answered {state} and is now {now}"
            );
        }
        for record in stored.iter().filter(|r| r.state.as_str() == "unknown") {
            assert!(
                record.reason.is_some(),
                "unknown without a reason: {record:?}"
            );
        }
        let lanes: Vec<TerminalId> = (1..=LANES)
            .map(|n| TerminalId::parse(&format!("lane-{n}")).unwrap())
            .collect();
        let ledgers: Vec<_> = sims.iter().map(SimServer::ledger).collect();
        let agreement = agreement::compare(&stored, lanes.iter().zip(ledgers.iter()));
        assert!(agreement.is_exact(), "{agreement}");
        eps_process.kill9().await;
        for sim in sims {
            sim.shutdown().await;
        }
        store.drop().await;
    }
}
