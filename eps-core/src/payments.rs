//! Payments: card transactions on the site's terminals, durable first and exactly once.
//!
//! One worker slot per terminal runs one card operation at a time. A transaction is written
//! `pending` before any byte reaches the terminal, journalled at every step, moved to
//! `inProgress` once the request is on the wire, and to its final state from the terminal's own
//! answer. A lost answer goes through recovery (RepeatLastMessage, TicketReprint evidence) and
//! ends in the terminal's truth or `unknown` with the reason.
//!
//! # Layout
//! - `request`: what is asked; `admit`: checked, claimed, stored `pending` in one commit;
//!   `follow_up`: the rules a completion, reversal or refund must meet against its original and
//!   every other follow-up of it (pure).
//! - `workers`: one slot per terminal.
//! - `service`: the public [`PaymentService`]; `operation`: one operation to its end;
//!   `dispatch`: how long a start waits for the wire, and replays of a key's transaction.
//! - `observer`: durable steps, receipts, prompts during an operation; `prompts`: answers.
//! - `outcome`: terminal answer → state; `recovery`: lost outcomes (and when "never completed"
//!   is proved); `retries`: background retries at growing intervals; `reconcile`: end of day.
//! - `waiting`: waits for an outcome; `operator`: resolutions of `unknown` transactions.
//! - `terminals`: terminals as operators see them; their Login, Logoff and Diagnosis.

mod admit;
mod dispatch;
mod follow_up;
mod observer;
mod operation;
mod operator;
mod outcome;
mod prompts;
mod reconcile;
mod recovery;
mod request;
mod retries;
mod service;
mod shared;
mod terminals;
mod waiting;
mod watch;
mod workers;

/// Where the idempotency key types used to live; [`crate::idempotency`] holds them.
pub use crate::idempotency::IdempotencyRequest;
pub use dispatch::DISPATCH_MARGIN;
pub use follow_up::judge as judge_follow_up;
pub use operation::UNREACHABLE;
pub use operator::{RESOLVED_BY_OPERATOR, Resolution};
pub use outcome::{Verdict, verdict};
pub use prompts::check_answer;
pub use reconcile::ReconciliationRequest;
pub use request::{Caller, TransactionRequest, check_request};
pub use service::{PaymentService, Started};
pub use shared::PaymentPolicy;
pub use terminals::TerminalView;
pub use workers::{ClaimError, Occupant, TerminalWorkers, WorkerClaim};
#[cfg(test)]
mod tests;
