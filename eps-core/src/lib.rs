//! EPS domain: money, identifiers, connections, transactions, receipts, prompts, reconciliations,
//! events, durable storage, and the terminal port the payment workers drive.
//!
//! This crate knows no HTTP, no JSON field names of the API, no XML and no sockets. Time is an
//! argument: services read it from a [`clock::Clock`] handed in at the edge.
//!
//! # Layout
//! - [`money`], [`ids`]: newtypes parsed once at the edge.
//! - [`clock`]: the one wall clock, and a manual clock for tests.
//! - [`site`]: configured sites and their POIs.
//! - [`audit`]: the append-only log of operator actions and client changes.
//! - [`client`], [`connection`]: OAuth2 clients and site-system connections.
//! - [`issuer`]: the built-in issuer's key fingerprint, which every node must share.
//! - [`country`]: a site's country settings (`/countrySettings`).
//! - [`transaction`], [`receipt`], [`prompt`], [`reconciliation`]: stored records and states.
//! - [`idempotency`]: the one reader and writer of idempotency keys (`Idempotency-Key` or
//!   `posTransactionID`), their fingerprints and the resources they created.
//! - [`event`]: event kinds and the durable, ordered event log with its fan-out.
//! - [`terminal`]: the port a terminal backend implements.
//! - [`peers`]: acting on other nodes' writes (events to tail, connections closed).
//! - [`payments`]: the payment service: workers per terminal, operations, recovery, prompts.
//! - [`durable`]: the named durable steps, and the test hook that parks a task at one
//!   (`EPS_TEST_PAUSE_AT`) so crash tests kill the EPS at a named step.
//! - [`opi_trace`]: the XML exchanged with terminals per transaction, masked, and its
//!   batching writer.
//! - [`redact`]: card-number masking and [`redact::MaskedText`], the type of every free-text
//!   field the records keep.
//! - [`store`]: storage traits with SQLite and PostgreSQL implementations.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod audit;
pub mod client;
pub mod clock;
pub mod connection;
pub mod country;
pub mod durable;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod issuer;
pub mod money;
pub mod opi_trace;
pub mod payments;
pub mod peers;
pub mod prompt;
pub mod receipt;
pub mod reconciliation;
pub mod redact;
pub mod site;
pub mod store;
pub mod terminal;
pub mod transaction;

pub use error::{Error, Result};
