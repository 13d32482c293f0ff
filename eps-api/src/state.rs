//! `AppState`: what every handler can reach, cheap to clone. Later features add their services
//! here and build them in `startup.rs`.

use std::sync::Arc;

use eps_core::audit::AuditLog;
use eps_core::clock::SharedClock;
use eps_core::connection::ConnectionService;
use eps_core::event::EventLog;
use eps_core::payments::PaymentService;
use eps_core::site::SiteDirectory;
use eps_core::store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::auth::clients::ClientRegistry;
use crate::auth::throttle::TokenThrottle;
use crate::auth::token::TokenIssuer;
use crate::auth::verify::TokenVerifier;
use crate::config::Settings;

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub settings: Arc<Settings>,
    /// The base URL clients reach this EPS at (no trailing slash).
    pub public_url: Arc<str>,
    /// The one clock: handlers and services read `now` from it.
    pub clock: SharedClock,
    /// The durable store.
    pub store: Arc<dyn Store>,
    /// Configured sites and POIs.
    pub sites: Arc<SiteDirectory>,
    /// Site-system connections.
    pub connections: Arc<ConnectionService>,
    /// Card transactions, receipts, prompts and reconciliations on the site's terminals.
    pub payments: PaymentService,
    /// The durable event log and its live fan-out to SSE and WebSocket subscribers.
    pub events: EventLog,
    /// Bearer-token validation.
    pub tokens: Arc<TokenVerifier>,
    /// The built-in token issuer; `None` with an external issuer.
    pub issuer: Option<Arc<TokenIssuer>>,
    /// The built-in token endpoint's concurrency and failure limits; `None` with an external
    /// issuer.
    pub throttle: Option<Arc<TokenThrottle>>,
    /// Clients of the built-in issuer.
    pub clients: Arc<ClientRegistry>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The log of operator actions and client changes.
    pub audit: AuditLog,
    /// When this node started.
    pub started_at: OffsetDateTime,
    /// Fires when the server shuts down; long-lived responses (event streams) end on it.
    pub shutdown: CancellationToken,
}
