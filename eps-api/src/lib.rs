//! The Open Retailing EPS REST API: an axum server with the OAuth2 gate, the connection
//! lifecycle, POIs, operator routes, OpenAPI, metrics, configuration and the `eps` binary.
//!
//! The server is a library: [`run`] (or [`Server::builder`]) serves on a given listener until a
//! shutdown future completes; `main.rs` only parses the command line.
//!
//! # Layout
//! - [`config`]: defaults → TOML → `EPS_*` environment, validated into [`config::Settings`].
//! - [`startup`]: the one place that wires store, gate, services and router.
//! - [`state`]: [`AppState`], what handlers reach.
//! - [`routes`]: one module per resource, each with `router()` and an OpenAPI `Doc`.
//! - [`auth`]: signing key, token issuer and verifier, clients, the `Auth<Scope>` extractor.
//! - [`extract`]: JSON bodies and the `openretailing-connection-id` header / `Session<Scope>`.
//! - [`dto`]: request and response bodies and their limits; conversion to `eps-core` types.
//! - [`error`]: [`ApiError`] and the `ERRCD_*` codes; the only place choosing HTTP statuses.
//! - [`card`]: what the routes that start card transactions share (start, wait, 200/202/503);
//!   `idempotency`: recorded answers for the POSTs that create nothing.
//! - [`openapi`]: the document behind `/openapi.json` and `spec/openapi.json`.
//! - [`cli`]: the `eps` command line; [`demo`]: `eps demo` (simulated terminals, a demo client).
//! - [`listener`]: the TCP listener (`TCP_NODELAY`, a deadline on blocked writes).
//! - [`telemetry`]: log output and the Prometheus metrics; `middleware`: request IDs, the
//!   request span, the access log; [`systemd`]: readiness notification.

pub mod auth;
pub mod card;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod listener;
mod middleware;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
#[cfg(unix)]
pub mod systemd;
pub mod telemetry;

pub use auth::clients::{ClientRegistry, NewClient};
pub use config::Config;
pub use error::{ApiError, ErrorCode};
pub use startup::{Server, ServerBuilder, StartError, run};
pub use state::AppState;
pub use telemetry::metrics::metrics_handle;

/// Installs rustls' ring provider for outgoing TLS (JWKS fetches); later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
