//! `SimSite`: the real EPS with every terminal of the default site (POS lane `001`, fuelling
//! point `001`) played by an `opi-sim` over loopback TCP, and the exact reconciliation of the
//! EPS's transactions with the simulators' ledgers that every test using it ends with.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use eps_api::Config;
use eps_core::ids::TerminalId;
use eps_core::transaction::{TransactionQuery, TransactionRecord};
use opi_backend::sim::agreement::{self, Agreement};
use opi_backend::sim::{Ledger, LedgerEntry, SimConfig, SimServer};

use crate::app::{TestApp, TestAppBuilder};
use crate::backend::Backend;
use crate::pos::Pos;

/// The default site's lane.
pub const LANE: (&str, &str) = ("pointOfService", "001");
/// The default site's fuelling point.
pub const PUMP: (&str, &str) = ("fuelingPoint", "001");

/// The EPS and one simulator per terminal that has one.
pub struct SimSite {
    /// The EPS.
    pub app: TestApp,
    /// The simulator of each terminal, by terminal id.
    pub sims: BTreeMap<TerminalId, SimServer>,
    /// The terminal of each POI (`workstationType`, `logicalID`).
    pub terminals: BTreeMap<(String, String), TerminalId>,
}

/// How to start a [`SimSite`].
pub struct SimSiteBuilder {
    backend: Backend,
    unreachable: Vec<(String, String)>,
    sim: SimConfig,
    change: Vec<ConfigChange>,
}

/// A change of the EPS configuration.
type ConfigChange = Box<dyn FnOnce(&mut Config) + Send>;

impl SimSite {
    /// The default site on `backend` with both terminals simulated.
    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    /// A builder on `backend`.
    pub fn builder(backend: Backend) -> SimSiteBuilder {
        SimSiteBuilder {
            backend,
            unreachable: Vec::new(),
            sim: SimConfig::default(),
            change: Vec::new(),
        }
    }

    /// The simulator of the POI `(workstationType, logicalID)`.
    pub fn sim(&self, poi: (&str, &str)) -> &SimServer {
        let terminal = self.terminal(poi);
        self.sims.get(terminal).expect("this POI has a simulator")
    }

    /// The simulated lane.
    pub fn lane(&self) -> &SimServer {
        self.sim(LANE)
    }

    /// The simulated fuelling point.
    pub fn pump(&self) -> &SimServer {
        self.sim(PUMP)
    }

    /// The terminal of the POI `(workstationType, logicalID)`.
    pub fn terminal(&self, poi: (&str, &str)) -> &TerminalId {
        self.terminals
            .get(&(poi.0.to_owned(), poi.1.to_owned()))
            .expect("a POI of the default site")
    }

    /// A site system: a client with `scopes`, connected, knowing its POIs.
    pub async fn pos(&self, name: &str, scopes: &str) -> Pos {
        Pos::connect(&self.app, name, scopes).await
    }

    /// Restarts the EPS (gracefully) on the same data and points the simulators at its new
    /// callback ports.
    pub async fn restart(mut self) -> Self {
        self.app = self.app.restart().await;
        point_callbacks(&self.app, &self.sims);
        self
    }

    /// Stops the EPS and the simulators.
    pub async fn stop(self) {
        self.app.stop().await;
        for (_, sim) in self.sims {
            sim.shutdown().await;
        }
    }

    /// Every transaction of the default site, oldest first, as stored.
    pub async fn transactions(&self) -> Vec<TransactionRecord> {
        let merchant = eps_core::ids::MerchantId::parse("1234567890").expect("merchant");
        transactions_of(&self.app, &merchant).await
    }

    /// What an operator reads in the terminal's own journal about the transaction `id` (its
    /// ledger entry), e.g. the STAN to resolve an `unknown` one with. Fails the test when the
    /// terminal has no record of it.
    pub async fn terminal_record(&self, id: &str) -> LedgerEntry {
        let id = eps_core::ids::TransactionId::parse(id).expect("a transaction id");
        let record = self
            .app
            .state
            .store
            .transaction(&id)
            .await
            .expect("store")
            .expect("a stored transaction");
        self.ledger_entry(&record)
            .unwrap_or_else(|| panic!("the terminal has no record of transaction {id}"))
    }

    /// The one ledger entry of a transaction on its terminal's simulator; `None` when the
    /// terminal never processed it. Fails the test when it processed it more than once.
    pub fn ledger_entry(&self, record: &TransactionRecord) -> Option<LedgerEntry> {
        let ledger = self.sims.get(&record.terminal_id)?.ledger();
        let entries: Vec<LedgerEntry> = ledger
            .entries_for(record.terminal_request_id.as_str())
            .cloned()
            .collect();
        assert!(
            entries.len() <= 1,
            "transaction {} was processed {} times: {entries:#?}",
            record.id,
            entries.len()
        );
        entries.into_iter().next()
    }

    /// The exact reconciliation of every transaction of every site with the simulators' ledgers
    /// ([`opi_backend::sim::agreement`]), without asserting.
    pub async fn agreement(&self) -> Agreement {
        agreement_of(&self.app, &self.sims).await
    }

    /// Asserts that the EPS and the simulators' ledgers agree exactly, both ways: every ledger
    /// entry is one EPS transaction with its type, amount, result and STAN; every transaction
    /// that reached a terminal is one entry, and one that did not is `failed` or `unknown`;
    /// nothing is left pending; per original, what moved is the same in both views and never
    /// more than the original allows ([`opi_backend::sim::agreement`] has the rules).
    pub async fn assert_agrees_with_ledgers(&self) {
        let agreement = self.agreement().await;
        assert!(agreement.is_exact(), "{agreement}");
    }
}

/// The exact reconciliation of every transaction of every site of `app` with the ledgers of
/// `sims`, the simulators of its terminals (a terminal without one processed nothing).
pub async fn agreement_of(app: &TestApp, sims: &BTreeMap<TerminalId, SimServer>) -> Agreement {
    let mut records = Vec::new();
    for site in app.state.sites.sites() {
        records.extend(transactions_of(app, &site.merchant_id).await);
    }
    let ledgers: Vec<(TerminalId, Ledger)> = sims
        .iter()
        .map(|(terminal, sim)| (terminal.clone(), sim.ledger()))
        .collect();
    agreement::compare(&records, ledgers.iter().map(|(t, l)| (t, l)))
}

/// Every transaction of `merchant`, oldest first, as stored.
pub async fn transactions_of(
    app: &TestApp,
    merchant: &eps_core::ids::MerchantId,
) -> Vec<TransactionRecord> {
    let mut all = app
        .state
        .store
        .transactions(&TransactionQuery {
            merchant_id: merchant.clone(),
            state: None,
            poi_id: None,
            created_from: None,
            created_to: None,
            before: None,
            limit: 10_000,
        })
        .await
        .expect("transactions");
    assert!(all.len() < 10_000, "more transactions than one page holds");
    all.reverse();
    all
}

impl SimSiteBuilder {
    /// Leaves the POI `(workstationType, logicalID)` without a terminal: its address is a
    /// loopback port nobody listens on.
    pub fn unreachable(mut self, poi: (&str, &str)) -> Self {
        self.unreachable.push((poi.0.to_owned(), poi.1.to_owned()));
        self
    }

    /// Starts the simulators with `config` (its callback is set by the harness).
    pub fn sim_config(mut self, config: SimConfig) -> Self {
        self.sim = config;
        self
    }

    /// Changes the EPS configuration further.
    pub fn configure(mut self, change: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.change.push(Box::new(change));
        self
    }

    /// Starts the simulators, then the EPS pointed at them, then points them at its callbacks.
    pub async fn start(self) -> SimSite {
        let mut sims = BTreeMap::new();
        let mut addresses = BTreeMap::new();
        let config = Config::default();
        for site in &config.sites {
            for poi in &site.pois {
                let key = (poi.workstation_type.clone(), poi.logical_id.clone());
                if self.unreachable.contains(&key) {
                    addresses.insert(key, closed_port().await.to_string());
                    continue;
                }
                let sim = SimServer::start("127.0.0.1:0".parse().expect("addr"), self.sim.clone())
                    .await
                    .expect("simulator starts");
                addresses.insert(key.clone(), sim.channel0_address().to_string());
                sims.insert(key, sim);
            }
        }
        let mut builder: TestAppBuilder = TestApp::builder().backend(self.backend);
        let targets = addresses.clone();
        builder = builder.configure(move |config| {
            for site in &mut config.sites {
                for poi in &mut site.pois {
                    let key = (poi.workstation_type.clone(), poi.logical_id.clone());
                    if let Some(address) = targets.get(&key) {
                        poi.terminal.address = address.clone();
                    }
                }
            }
            // A fixed issuer, so tokens outlive a restart on another port.
            config.public_url = Some("http://eps.test".to_owned());
            // Recovery in tests: quick attempts, as many as a slow simulator needs.
            config.payments.recovery_backoff_ms = 50;
            config.payments.recovery_attempts = 100;
            config.payments.recovery_interval_secs = 1;
            config.payments.retry_initial_secs = 1;
            config.payments.retry_max_secs = 2;
        });
        for change in self.change {
            builder = builder.configure(change);
        }
        let app = builder.spawn().await;
        let mut terminals = BTreeMap::new();
        // The default site's POIs only: another site configured by a test may use the same
        // workstation types and logical ids.
        let default_sites: Vec<String> =
            config.sites.iter().map(|s| s.merchant_id.clone()).collect();
        let simulated = app
            .state
            .sites
            .sites()
            .iter()
            .filter(|site| default_sites.contains(&site.merchant_id.to_string()));
        for site in simulated {
            for poi in &site.pois {
                let key = (
                    poi.workstation_type.as_str().to_owned(),
                    poi.logical_id.clone(),
                );
                terminals.insert(key, poi.terminal_id.clone());
            }
        }
        let sims: BTreeMap<TerminalId, SimServer> = sims
            .into_iter()
            .map(|(key, sim)| (terminals[&key].clone(), sim))
            .collect();
        point_callbacks(&app, &sims);
        SimSite {
            app,
            sims,
            terminals,
        }
    }
}

fn point_callbacks(app: &TestApp, sims: &BTreeMap<TerminalId, SimServer>) {
    for (terminal, sim) in sims {
        let callback = app.callbacks.get(terminal).expect("callback bound");
        sim.set_callback(callback.to_string());
    }
}

/// A loopback address nobody listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("address")
}
