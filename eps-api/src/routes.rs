//! The router: one module per resource, each with its `router()` and OpenAPI `Doc`. A new
//! resource adds its module here, to [`router`] and to [`docs`].

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::error::{ApiError, method_not_allowed, route_not_found};
use crate::extract::BODY_LIMIT;
use crate::middleware::{observe, request_id, request_span, response_clock};
use crate::state::AppState;

pub mod admin_audit;
pub mod admin_connections;
pub mod admin_nodes;
pub mod admin_terminals;
pub mod admin_transactions;
pub mod authorizations;
pub mod connection;
pub mod console;
pub mod country_settings;
pub mod docs;
pub mod events;
pub mod health;
pub mod metrics;
pub mod oauth;
pub mod payments;
pub mod pois;
pub mod prompts;
pub mod receipts;
pub mod reconciliations;
pub mod refunds;
pub mod transaction_actions;
pub mod transactions;

/// Every route with the shared middleware, over `state`.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(connection::router())
        .merge(pois::router())
        .merge(country_settings::router())
        .merge(payments::router())
        .merge(authorizations::router())
        .merge(refunds::router())
        .merge(transactions::router())
        .merge(transaction_actions::router())
        .merge(receipts::router())
        .merge(prompts::router())
        .merge(reconciliations::router())
        .merge(admin_transactions::router())
        .merge(admin_connections::router())
        .merge(admin_terminals::router())
        .merge(admin_audit::router())
        .merge(admin_nodes::router())
        .merge(console::router())
        .merge(events::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(docs::router());
    if state.issuer.is_some() {
        router = router.merge(oauth::router());
    }
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".to_owned()).into_response()
        }))
        .layer(axum::middleware::from_fn(observe))
        .layer(TraceLayer::new_for_http().make_span_with(request_span::<axum::body::Body>))
        .layer(axum::middleware::from_fn(request_id))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            response_clock,
        ))
        .with_state(state)
}

/// The OpenAPI parts of every resource.
pub fn docs() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        connection::Doc::openapi(),
        pois::Doc::openapi(),
        country_settings::Doc::openapi(),
        payments::Doc::openapi(),
        authorizations::Doc::openapi(),
        transactions::Doc::openapi(),
        transaction_actions::Doc::openapi(),
        refunds::Doc::openapi(),
        receipts::Doc::openapi(),
        prompts::Doc::openapi(),
        reconciliations::Doc::openapi(),
        admin_connections::Doc::openapi(),
        admin_transactions::Doc::openapi(),
        admin_terminals::Doc::openapi(),
        admin_audit::Doc::openapi(),
        admin_nodes::Doc::openapi(),
        events::Doc::openapi(),
        oauth::Doc::openapi(),
        health::Doc::openapi(),
        metrics::Doc::openapi(),
        docs::Doc::openapi(),
    ]
}
