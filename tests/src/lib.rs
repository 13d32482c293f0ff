//! The end-to-end harness: the real EPS on a loopback port with a manual clock, on SQLite or on
//! PostgreSQL (a schema per test), driven through a real HTTP client.
//!
//! # Layout
//! - [`app`]: [`TestApp`], spawn / restart / stop a server, register clients, mint tokens.
//! - [`at_rest`]: everything a test's EPS has stored, as text, to look for what must not be there.
//! - [`backend`]: which store engines to run on (`EPS_TEST_DATABASE_URL`).
//! - [`client`]: [`ApiClient`] (a site system with a token) and [`Reply`] (a read response).
//! - [`issuer`]: an external OAuth2 issuer for tests (key, JWKS, token minting).
//! - [`leaks`]: what must never be written down: logs captured in memory (JSON and text), the
//!   store's content as text, card numbers searched in them.
//! - [`logs`]: the EPS's logs of the whole suite, captured as `eps serve` writes them and
//!   searched for tokens, client secrets and card numbers (checked at every `TestApp::stop`).
//! - [`sim`]: [`SimSite`], the EPS with its terminals played by `opi-sim` over loopback, and
//!   checks against the simulators' ledgers; [`pos`]: [`Pos`], a connected site system that pays.
//! - [`proxy`]: [`proxy::LinkProxy`], a TCP link a test cuts and restores (a database that goes
//!   away and comes back).
//! - [`surface`]: the API surface from the router itself and from the OpenAPI document;
//!   [`two_sites`]: site A with one resource of each kind and site B's site system, for the
//!   generated matrices.
//! - [`sse`], [`ws`]: event-stream clients (SSE parser; WebSocket with a slow-reader variant).

pub mod app;
pub mod at_rest;
pub mod backend;
pub mod browser;
pub mod client;
pub mod issuer;
pub mod leaks;
pub mod logs;
pub mod pos;
pub mod proxy;
pub mod sim;
pub mod sse;
pub mod surface;
pub mod two_sites;
pub mod ws;

pub use app::{DEFAULT_SITE, START, TestApp, TestAppBuilder};
pub use backend::Backend;
pub use client::{ApiClient, CONNECTION_HEADER, Credentials, Reply, connect_body};
pub use pos::{Pos, eur};
pub use sim::{LANE, PUMP, SimSite};

/// Process-wide set-up: the TLS provider, and the log capture of the whole suite ([`logs`];
/// also to stderr when `TEST_LOG` is set to a filter, e.g. `debug`).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        eps_api::install_crypto_provider();
        assert!(
            logs::install(),
            "another global subscriber was installed first"
        );
    });
}

/// A plain HTTP client for tests. Every connect and every read is bounded (a hang fails the
/// request, naming its URL); [`Reply::read`] bounds whole exchanges too.
pub fn http_client() -> reqwest::Client {
    init();
    reqwest::Client::builder()
        .connect_timeout(client::ANSWER_BOUND)
        .read_timeout(client::ANSWER_BOUND)
        .build()
        .expect("HTTP client")
}
