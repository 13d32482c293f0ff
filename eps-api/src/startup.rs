//! Wiring: configuration → store → OAuth2 gate → domain services → router, background tasks,
//! and graceful shutdown. The only place that constructs [`AppState`].

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use eps_core::audit::AuditLog;
use eps_core::clock::{SharedClock, SystemClock};
use eps_core::connection::ConnectionService;
use eps_core::event::EventLog;
use eps_core::ids::TerminalId;
use eps_core::issuer::{self, KeyFingerprint, KeyStanding};
use eps_core::money::Currency;
use eps_core::opi_trace::{TraceWriter, TraceWriterHandle};
use eps_core::payments::PaymentService;
use eps_core::store::Store;
use opi_backend::{OpiBackend, OpiTerminalConfig};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::clients::ClientRegistry;
use crate::auth::jwks::{JwksError, RemoteKeys};
use crate::auth::keys::{KeyError, SigningKey};
use crate::auth::throttle::TokenThrottle;
use crate::auth::token::TokenIssuer;
use crate::auth::verify::{KeySource, TokenVerifier};
use crate::config::{AuthSettings, Config, ConfigError, JwksSource, Settings};
use crate::listener::{PeerAddr, TimedListener};
use crate::routes;
use crate::state::AppState;
use crate::telemetry::metrics::{follow_terminal, metrics_handle, record_build_info};

/// How often the Prometheus recorder's upkeep runs.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);
/// Frames of the OPI trace that may wait for the writer; more are dropped (and counted), so a
/// slow database never holds up a payment.
const TRACE_QUEUE: usize = 4096;
/// How often heartbeats kept in memory are written to the store (what a crash can lose).
const HEARTBEAT_FLUSH: Duration = Duration::from_secs(1);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(eps_core::Error),
    /// The signing key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The database records another signing key than this node's.
    #[error(
        "this node's token signing key {own} ({source_of}) is not the one the database records, \
         {recorded}: every node sharing a database must sign with the same key, or tokens from \
         one node fail on another. Give this node the key file the other nodes use \
         (auth.signing_key_file, or EPS_AUTH__SIGNING_KEY_FILE); or, to change the key on \
         purpose, give every node the new file and record it with `eps signing-key adopt` \
         (tokens signed with the old key then stop working)"
    )]
    KeyMismatch {
        /// This node's key.
        own: KeyFingerprint,
        /// Where this node's key came from.
        source_of: String,
        /// The key the database records.
        recorded: KeyFingerprint,
    },
    /// The external issuer's JWKS file is unusable.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// A terminal's configuration was refused by the OPI backend.
    #[error("terminal configuration: {0}")]
    Terminal(String),
    /// The OPI backend could not start (e.g. a callback port is taken).
    #[error("starting the OPI terminals: {0}")]
    Terminals(opi_backend::driver::StartError),
    /// The listener has no local address.
    #[error("listener: {0}")]
    Listener(std::io::Error),
    /// Serving failed.
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// Runs the EPS on `listener` until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    Server::builder(config).run(listener, shutdown).await
}

/// Builds a [`Server`], optionally with a clock or store other than the configured ones.
pub struct ServerBuilder {
    config: Config,
    clock: Option<SharedClock>,
    store: Option<Arc<dyn Store>>,
}

impl ServerBuilder {
    /// Uses `clock` instead of the system clock (tests drive expiry with a manual clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses an already opened store instead of opening `database_url` (tests use this to put
    /// each server in its own PostgreSQL schema).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts and serves until `shutdown` completes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        self.start(listener).await?.serve(shutdown).await
    }

    /// Opens the store, loads keys and builds the router; nothing is served yet.
    pub async fn start(self, listener: TcpListener) -> Result<Server, StartError> {
        let settings = self.config.validate()?;
        crate::install_crypto_provider();
        eps_core::durable::arm_from_env();
        let local_addr = listener.local_addr().map_err(StartError::Listener)?;
        create_data_dir(&settings.data_dir)?;
        let store = match self.store {
            Some(store) => store,
            None => eps_core::store::open(settings.database_url.expose_secret())
                .await
                .map_err(StartError::Store)?,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let public_url: Arc<str> = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"))
            .into();
        let clients = Arc::new(ClientRegistry::new(store.clone(), clock.clone()));
        let Gate {
            tokens,
            issuer,
            throttle,
        } = build_gate(&settings, &public_url, &clients, &*store, clock.now()).await?;
        let connections = Arc::new(ConnectionService::new(
            store.clone(),
            settings.sites.directory.clone(),
            clock.clone(),
            settings.policy,
        ));
        // Heartbeats of the last second before a crash may be lost: no connection live now
        // expires before a full timeout from now.
        let extended = connections
            .grant_start_up_grace()
            .await
            .map_err(StartError::Store)?;
        if extended > 0 {
            tracing::info!(
                count = extended,
                "connections given a full timeout from start-up"
            );
        }
        // Channel-1 listeners are bound here, before any terminal is sent a request.
        let opi = OpiBackend::start(terminal_configs(&settings)?)
            .await
            .map_err(StartError::Terminals)?;
        for id in opi.terminals().into_keys() {
            if let Some(callback) = opi.callback_address(&id) {
                tracing::info!(terminal = %id, callback = %callback, "terminal callbacks listening");
            }
        }
        let events = EventLog::new(store.clone(), settings.events.subscriber_buffer);
        let (trace, trace_writer) = TraceWriter::spawn(store.clone(), TRACE_QUEUE);
        let payments = PaymentService::new(
            store.clone(),
            settings.sites.directory.clone(),
            clock.clone(),
            events.clone(),
            opi.terminals().into_values().collect(),
            settings.payments,
            Arc::new(trace),
        );
        let state = AppState {
            audit: AuditLog::new(store.clone(), clock.clone()),
            started_at: clock.now(),
            sites: settings.sites.directory.clone(),
            settings: Arc::new(settings),
            public_url,
            clients,
            clock,
            store,
            connections,
            payments,
            events,
            tokens,
            issuer,
            throttle,
            metrics: metrics_handle(),
            shutdown: CancellationToken::new(),
        };
        match state
            .events
            .announce_new_pois(&state.sites, state.clock.now())
            .await
        {
            Ok(added) if added.is_empty() => {}
            Ok(added) => tracing::info!(
                count = added.len(),
                "announced POIs new since the last start"
            ),
            Err(e) => tracing::error!(error = %e, "new POIs could not be announced"),
        }
        if state.issuer.is_some() {
            report_clients_without_sites(&state).await;
            state.clients.warm_up().await;
        }
        // Other nodes' writes wake this node's event tailer and end streams of connections they
        // close (PostgreSQL); `None` on SQLite, where this process is the only writer.
        let signals = state.store.listen().await.map_err(StartError::Store)?;
        let mut background = spawn_background(&state);
        if let Some(signals) = signals {
            background.push(tokio::spawn(eps_core::peers::follow(
                signals,
                state.events.clone(),
                (*state.connections).clone(),
                state.shutdown.clone().cancelled_owned(),
            )));
        }
        record_build_info(state.store.backend());
        for terminal in opi.terminals().into_values() {
            background.push(tokio::spawn(follow_terminal(
                terminal,
                state.shutdown.clone(),
            )));
        }
        match state.payments.recover_unresolved().await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(
                count,
                "recovering transactions left unresolved by the last run"
            ),
            Err(e) => tracing::error!(error = %e, "unresolved transactions could not be listed"),
        }
        tracing::info!(
            address = %local_addr,
            store = state.store.backend(),
            sites = state.sites.sites().len(),
            issuer = if state.issuer.is_some() { "builtin" } else { "external" },
            "EPS ready"
        );
        Ok(Server {
            router: routes::router(state.clone()),
            listener,
            local_addr,
            state,
            background,
            opi,
            trace_writer,
        })
    }
}

/// A started EPS, ready to serve.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    state: AppState,
    background: Vec<JoinHandle<()>>,
    opi: OpiBackend,
    trace_writer: TraceWriterHandle,
}

impl Server {
    /// A builder over `config`.
    pub fn builder(config: Config) -> ServerBuilder {
        ServerBuilder {
            config,
            clock: None,
            store: None,
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The shared state (services, clock, store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Where each terminal's channel-1 callbacks are received (the bound port when configured
    /// as port 0): terminals must be pointed here.
    pub fn callback_addresses(&self) -> BTreeMap<TerminalId, SocketAddr> {
        self.opi
            .terminals()
            .into_keys()
            .filter_map(|id| self.opi.callback_address(&id).map(|address| (id, address)))
            .collect()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and stops the
    /// background tasks.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let cancel = self.state.shutdown.clone();
        let signal = {
            let cancel = cancel.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                cancel.cancel();
            }
        };
        let listener = TimedListener::new(self.listener, self.state.settings.events.send_timeout);
        // `into_make_service` prepares the routes once; serving the `Router` itself would copy
        // the whole route table into every connection (~27 KiB each with today's routes), which
        // long-lived event streams keep for their lifetime.
        // The peer address is what the token endpoint's per-address limit counts by.
        let app = self
            .router
            .into_make_service_with_connect_info::<PeerAddr>();
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await;
        cancel.cancel();
        // Lets a request in progress on a terminal finish (or time out) before the sockets close.
        self.opi.shutdown().await;
        self.trace_writer.finish().await;
        for task in self.background {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a background task failed");
            }
        }
        // Every heartbeat answered is written before the process ends.
        if let Err(e) = self.state.connections.flush_heartbeats().await {
            tracing::error!(error = %e, "writing the last heartbeats failed");
        }
        tracing::info!("stopped");
        result.map_err(StartError::Serve)
    }
}

/// The OAuth2 gate: the token verifier and, with the built-in issuer, the issuer and its token
/// endpoint's throttle.
struct Gate {
    tokens: Arc<TokenVerifier>,
    issuer: Option<Arc<TokenIssuer>>,
    throttle: Option<Arc<TokenThrottle>>,
}

/// Builds the gate; built-in tokens are checked against `clients`' roster, and the built-in
/// issuer's key against the one `store` records for every node.
async fn build_gate(
    settings: &Settings,
    public_url: &str,
    clients: &ClientRegistry,
    store: &dyn Store,
    now: time::OffsetDateTime,
) -> Result<Gate, StartError> {
    match &settings.auth {
        AuthSettings::Builtin {
            issuer,
            audience,
            token_lifetime,
            signing_key_file,
            leeway,
            limits,
        } => {
            let key = SigningKey::configured(signing_key_file.as_deref(), &settings.data_dir)?;
            let key = Arc::new(key);
            check_key(&key, signing_key_file.as_deref(), settings, store, now).await?;
            if issuer.is_none() && settings.public_url.is_none() && store.backend() != "sqlite" {
                tracing::warn!(
                    issuer = public_url,
                    "tokens name this node's address as their issuer: where several nodes share \
                     the database, set the same public_url (or auth.issuer) on every node, or a \
                     token from one node fails on another"
                );
            }
            let name = issuer.clone().unwrap_or_else(|| public_url.to_owned());
            let issuer =
                TokenIssuer::new(key.clone(), name.clone(), audience.clone(), *token_lifetime);
            let verifier =
                TokenVerifier::new(KeySource::Local(key), name, audience.clone(), *leeway)
                    .with_roster(clients.roster().clone());
            Ok(Gate {
                tokens: Arc::new(verifier),
                issuer: Some(Arc::new(issuer)),
                throttle: Some(Arc::new(TokenThrottle::new(limits.clone()))),
            })
        }
        AuthSettings::External {
            issuer,
            audience,
            jwks,
            leeway,
            sites_claim,
        } => {
            let keys = Arc::new(RemoteKeys::new(jwks.clone()));
            match (keys.load().await, jwks) {
                (Ok(count), _) => tracing::info!(keys = count, "loaded the issuer's JWKS"),
                (Err(e), JwksSource::File(_)) => return Err(e.into()),
                (Err(e), JwksSource::Url { .. }) => {
                    tracing::warn!(error = %e, "the issuer's JWKS is unavailable; not ready until it loads");
                }
            }
            let verifier = TokenVerifier::new(
                KeySource::Remote(keys),
                issuer.clone(),
                audience.clone(),
                *leeway,
            )
            .with_sites_claim(sites_claim.clone());
            Ok(Gate {
                tokens: Arc::new(verifier),
                issuer: None,
                throttle: None,
            })
        }
    }
}

/// Records `key` as the issuer's key if the database has none, and refuses it if the database
/// records another.
async fn check_key(
    key: &SigningKey,
    file: Option<&Path>,
    settings: &Settings,
    store: &dyn Store,
    now: time::OffsetDateTime,
) -> Result<(), StartError> {
    let own = key.fingerprint();
    let standing = issuer::adopt(store, own, now)
        .await
        .map_err(StartError::Store)?;
    match standing {
        KeyStanding::Recorded => {
            tracing::info!(fingerprint = %own, "recorded the token signing key every node must use");
            Ok(())
        }
        KeyStanding::Matches => Ok(()),
        KeyStanding::Differs { recorded } => Err(StartError::KeyMismatch {
            own: own.clone(),
            source_of: match file {
                Some(file) => format!("key file {}", file.display()),
                None => format!(
                    "generated in {}, as auth.signing_key_file is not set",
                    settings
                        .data_dir
                        .join(crate::auth::keys::KEY_FILE)
                        .display()
                ),
            },
            recorded,
        }),
    }
}

/// Loads the client roster and says how many clients reach no site (they were registered before
/// site grants existed, or without `--sites`): a warning, as their site systems cannot connect.
async fn report_clients_without_sites(state: &AppState) {
    match state.clients.roster().reload(state.clock.now()).await {
        Ok(clients) => {
            let total = clients.len();
            let without: Vec<&str> = clients
                .iter()
                .filter(|c| c.sites.is_none())
                .map(|c| c.client_id.as_str())
                .collect();
            if without.is_empty() {
                tracing::info!(clients = total, without_site = 0, "every client has a site");
            } else {
                // The first few names; `eps client list` shows them all.
                let names = without
                    .iter()
                    .take(20)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(",");
                tracing::warn!(
                    clients = total,
                    without_site = without.len(),
                    names = %names,
                    "clients without any site can reach no site until granted one \
                     (eps client grant NAME --sites MERCHANT_ID,…)"
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "the clients could not be read"),
    }
}

/// The OPI backend's view of the configured terminals.
fn terminal_configs(settings: &Settings) -> Result<Vec<OpiTerminalConfig>, StartError> {
    settings
        .sites
        .terminals
        .iter()
        .map(|terminal| {
            let c = &terminal.config;
            let mut opi = OpiTerminalConfig::new(
                terminal.terminal_id.clone(),
                c.address.clone(),
                c.callback,
                c.workstation_id.clone(),
            );
            opi.profile = c.profile.clone();
            opi.pop_id = c.pop_id.clone();
            opi.callback_source = c.callback_source;
            if let Some(sender) = &c.application_sender {
                opi.application_sender = sender.clone();
            }
            if let Some(code) = &c.currency {
                opi.currency = Currency::parse(code)
                    .map_err(|e| StartError::Terminal(format!("{}: {e}", terminal.terminal_id)))?;
            }
            opi.validate()
                .map_err(|e| StartError::Terminal(e.to_string()))?;
            Ok(opi)
        })
        .collect()
}

/// Starts the periodic tasks; they end when `state.shutdown` fires.
fn spawn_background(state: &AppState) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let cancel = state.shutdown.clone();
    let events = state.events.clone();
    let poll = state.settings.events.tail_poll;
    let stop = cancel.clone();
    tasks.push(tokio::spawn(async move {
        events.run_tailer(poll, stop.cancelled_owned()).await;
    }));
    let payments = state.payments.clone();
    let stop = cancel.clone();
    tasks.push(tokio::spawn(async move {
        payments.run_background(stop.cancelled_owned()).await;
    }));
    let connections = state.connections.clone();
    tasks.push(tokio::spawn(every_until(
        HEARTBEAT_FLUSH,
        cancel.clone(),
        move || {
            let connections = connections.clone();
            async move {
                if let Err(e) = connections.flush_heartbeats().await {
                    tracing::warn!(error = %e, "writing heartbeats failed; kept for the next try");
                }
            }
        },
    )));
    let connections = state.connections.clone();
    let every = state.settings.purge_interval;
    tasks.push(tokio::spawn(every_until(
        every,
        cancel.clone(),
        move || {
            let connections = connections.clone();
            async move {
                match connections.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "forgot expired connections"),
                    Err(e) => tracing::warn!(error = %e, "purging expired connections failed"),
                }
            }
        },
    )));
    let (events, clock) = (state.events.clone(), state.clock.clone());
    let retention = state.settings.events.retention;
    tasks.push(tokio::spawn(every_until(
        state.settings.events.purge_interval,
        cancel.clone(),
        move || {
            let (events, clock) = (events.clone(), clock.clone());
            async move {
                match events.purge(clock.now() - retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "purged events past retention"),
                    Err(e) => tracing::warn!(error = %e, "purging old events failed"),
                }
            }
        },
    )));
    let metrics = state.metrics.clone();
    tasks.push(tokio::spawn(every_until(
        METRICS_UPKEEP,
        cancel.clone(),
        move || {
            let metrics = metrics.clone();
            async move { metrics.run_upkeep() }
        },
    )));
    if let (
        Some(keys),
        AuthSettings::External {
            jwks: JwksSource::Url { refresh, .. },
            ..
        },
    ) = (state.tokens.remote_keys().cloned(), &state.settings.auth)
    {
        let refresh = *refresh;
        tasks.push(tokio::spawn(async move {
            keys.refresh_every(refresh, cancel).await;
        }));
    }
    tasks
}

/// Runs `job` every `period` (first after one period) until `cancel` fires.
async fn every_until<F, Fut>(period: Duration, cancel: CancellationToken, job: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => job().await,
        }
    }
}

/// Creates the data directory (owner-only) if needed.
fn create_data_dir(path: &Path) -> Result<(), StartError> {
    let error = |source| StartError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(error)
}
