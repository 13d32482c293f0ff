//! `TestApp`: the real EPS on 127.0.0.1:0 with a manual clock, on SQLite in a temporary data
//! directory or on PostgreSQL in a schema of its own; restartable on the same data.

use std::net::SocketAddr;
use std::sync::Arc;

use eps_api::auth::clients::NewClient;
use eps_api::{AppState, Config, Server};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::clock::ManualClock;
use eps_core::store::Store;
use eps_core::store::postgres::PostgresStore;
use secrecy::ExposeSecret;
use tempfile::TempDir;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::backend::Backend;
use crate::client::{ApiClient, Credentials};

/// Where every test clock starts.
pub const START: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

/// The site harness clients are granted unless a test names others: the spec's example site,
/// the default configuration's only one.
pub const DEFAULT_SITE: &str = "1234567890";

/// A running EPS and what is needed to restart it on the same data.
pub struct TestApp {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The clock the server reads; move it with [`TestApp::advance`].
    pub clock: ManualClock,
    /// The server's state (services, store) for direct inspection.
    pub state: AppState,
    /// The configuration it runs with.
    pub config: Config,
    /// The store engine.
    pub backend: Backend,
    /// Where each terminal's OPI callbacks are received (port 0 in the config, bound here).
    pub callbacks: std::collections::BTreeMap<eps_core::ids::TerminalId, SocketAddr>,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    data_dir: Arc<TempDir>,
    schema: Option<String>,
    /// False for a peer: the node that created the schema drops it.
    owns_schema: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), eps_api::StartError>>>,
}

/// How to spawn a [`TestApp`].
pub struct TestAppBuilder {
    backend: Backend,
    config: Config,
}

impl TestApp {
    /// The default configuration (the spec's example site) on SQLite.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// The default configuration on `backend`.
    pub async fn spawn_on(backend: Backend) -> Self {
        Self::builder().backend(backend).spawn().await
    }

    /// A builder with the default configuration on SQLite.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            backend: Backend::Sqlite,
            config: Config::default(),
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The data directory (the SQLite database and its WAL, the signing key).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The PostgreSQL schema of this test's data, when it runs on PostgreSQL.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Registers a client of [`DEFAULT_SITE`] the way `eps client add` does.
    pub async fn add_client(&self, name: &str, scopes: &str) -> Credentials {
        self.add_client_for(name, scopes, DEFAULT_SITE).await
    }

    /// Registers a client granted `sites` (`"1,2"`, `"*"` for every site, `""` for none).
    pub async fn add_client_for(&self, name: &str, scopes: &str, sites: &str) -> Credentials {
        let NewClient { record, secret } = self
            .state
            .clients
            .add(
                name,
                ScopeSet::parse(scopes).expect("scopes"),
                SiteGrant::parse_list(sites).expect("sites"),
            )
            .await
            .expect("register client");
        crate::logs::register_secret(secret.expose_secret());
        Credentials {
            client_id: record.client_id.to_string(),
            secret: secret.expose_secret().to_owned(),
        }
    }

    /// Registers a client of [`DEFAULT_SITE`] and obtains a token for it through
    /// `POST /oauth/token`.
    pub async fn client(&self, name: &str, scopes: &str) -> ApiClient {
        self.client_for(name, scopes, DEFAULT_SITE).await
    }

    /// Registers a client granted `sites` and obtains a token for it.
    pub async fn client_for(&self, name: &str, scopes: &str, sites: &str) -> ApiClient {
        let credentials = self.add_client_for(name, scopes, sites).await;
        let token = self.token(&credentials).await;
        self.client_with_token(&token)
    }

    /// An API client sending `token`.
    pub fn client_with_token(&self, token: &str) -> ApiClient {
        ApiClient::new(self.http.clone(), self.base_url.clone(), token.to_owned())
    }

    /// A token for `credentials` (client_secret_post), failing the test if none is issued.
    pub async fn token(&self, credentials: &Credentials) -> String {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", credentials.client_id.as_str()),
                ("client_secret", credentials.secret.as_str()),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200, "token endpoint refused");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Stops the server (gracefully) and starts it again on the same data, clock and config.
    pub async fn restart(mut self) -> Self {
        self.shutdown_server().await;
        let builder = TestAppBuilder {
            backend: self.backend.clone(),
            config: self.config.clone(),
        };
        let mut app = builder
            .start(
                self.clock.clone(),
                self.data_dir.clone(),
                self.schema.clone(),
            )
            .await
            .expect("server starts");
        app.owns_schema = self.owns_schema;
        app
    }

    /// Another node on this one's database (its PostgreSQL schema), with a data directory of its
    /// own and the same clock, configured as this one and then changed by `change`; the start
    /// error when it refuses to start. Stopping it leaves the schema to this node.
    pub async fn spawn_peer(
        &self,
        change: impl FnOnce(&mut Config),
    ) -> Result<TestApp, eps_api::StartError> {
        assert!(self.schema.is_some(), "peers share a PostgreSQL schema");
        let mut config = self.config.clone();
        change(&mut config);
        let builder = TestAppBuilder {
            backend: self.backend.clone(),
            config,
        };
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut peer = builder
            .start(self.clock.clone(), data_dir, self.schema.clone())
            .await?;
        peer.owns_schema = false;
        Ok(peer)
    }

    /// Stops the server and removes its PostgreSQL schema.
    pub async fn stop(mut self) {
        self.shutdown_server().await;
        // Whatever any test's EPS logged so far holds no token, secret or card number.
        crate::logs::assert_clean();
        if let (Backend::Postgres(url), Some(schema), true) =
            (&self.backend, &self.schema, self.owns_schema)
        {
            let store = PostgresStore::open_in_schema(url, schema)
                .await
                .expect("reopen schema");
            store.drop_schema().await.expect("drop schema");
        }
    }

    async fn shutdown_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

impl TestAppBuilder {
    /// Runs on `backend`.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Changes the configuration (the data directory is set by the harness).
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Starts the server.
    pub async fn spawn(self) -> TestApp {
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let schema = match self.backend {
            Backend::Postgres(_) => Some(crate::backend::unique_schema()),
            Backend::Sqlite => None,
        };
        self.start(ManualClock::new(START), data_dir, schema)
            .await
            .expect("server starts")
    }

    async fn start(
        mut self,
        clock: ManualClock,
        data_dir: Arc<TempDir>,
        schema: Option<String>,
    ) -> Result<TestApp, eps_api::StartError> {
        crate::init();
        self.config.data_dir = data_dir.path().to_path_buf();
        // Tests run in parallel: every terminal's callback listener gets a port of its own.
        for site in &mut self.config.sites {
            for poi in &mut site.pois {
                poi.terminal.callback = SocketAddr::from(([127, 0, 0, 1], 0));
            }
        }
        let mut builder = Server::builder(self.config.clone()).clock(Arc::new(clock.clone()));
        if let (Backend::Postgres(url), Some(schema)) = (&self.backend, &schema) {
            let store: Arc<dyn Store> = Arc::new(
                PostgresStore::open_in_schema(url, schema)
                    .await
                    .expect("open PostgreSQL schema"),
            );
            builder = builder.store(store);
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = builder.start(listener).await?;
        let addr = server.local_addr();
        let state = server.state().clone();
        let callbacks = server.callback_addresses();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        Ok(TestApp {
            addr,
            base_url: format!("http://{addr}"),
            clock,
            state,
            config: self.config,
            backend: self.backend,
            callbacks,
            http: crate::http_client(),
            data_dir,
            schema,
            owns_schema: true,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}
