//! End-to-end tests: the real `eps` server on 127.0.0.1:0, a real HTTP client, SQLite always and
//! PostgreSQL when `EPS_TEST_DATABASE_URL` is set. One module per feature.

mod admin;
mod admin_api;
mod busy;
mod connection;
mod console;
mod events;
mod events_lifecycle;
mod events_payment;
mod events_resume;
mod external_issuer;
mod follow_ups;
mod full_pan;
mod idempotency;
mod limits;
mod matrix_auth;
mod matrix_sites;
mod oauth;
mod observability;
mod operations;
mod opi_edges;
mod payment_errors;
mod payments;
mod prompts;
mod reconciliation;
mod recovery;
mod restart;
mod retries;
mod revocation;
mod scopes;
mod secrets;
mod sites;
mod store_outage;
mod token_flood;
mod transactions;
mod unknown_outcomes;
