//! The domain's one error type; `eps-api/src/error.rs` alone maps it to HTTP statuses and codes.

use crate::ids::{MerchantId, TerminalId, TransactionId};
use crate::money::MoneyError;
use crate::transaction::{FollowUpRef, TransactionState};

/// Result with the domain error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection id was never issued, was closed, or was forgotten.
    #[error("unknown connection: connect again to obtain a new connectionID")]
    UnknownConnection,
    /// The connection missed too many heartbeats.
    #[error(
        "connection expired after missed heartbeats: connect again to obtain a new connectionID"
    )]
    ConnectionExpired,
    /// The connection belongs to another OAuth2 client.
    #[error("the connection belongs to another client")]
    ConnectionOfAnotherClient,
    /// `siteSystemIDs` has no `merchantID` entry with `current: "yes"`.
    #[error("siteSystemIDs has no merchantID entry with current \"yes\"")]
    NoCurrentSite,
    /// The presented merchant id is not a configured site.
    #[error("no site is configured for merchantID {0:?}")]
    UnknownSite(String),
    /// The caller's client is not granted this site (at connect, or since a revoke).
    #[error("this client is not granted site {0:?}")]
    SiteNotGranted(MerchantId),
    /// The POI is unknown or not one of the caller's site.
    #[error("unknown POI for this site")]
    UnknownPoi,
    /// The transaction is unknown or not one of the caller's site.
    #[error("unknown transaction")]
    UnknownTransaction,
    /// A receipt, prompt or reconciliation is unknown or not one of the caller's site.
    #[error("unknown {0}")]
    NotFound(&'static str),
    /// An amount was refused.
    #[error("{field}: {source}")]
    InvalidAmount {
        /// The request field that carried it.
        field: &'static str,
        /// Why it was refused.
        source: MoneyError,
    },
    /// A request is well formed but not allowed in the current state.
    #[error("{0}")]
    InvalidState(String),
    /// The terminal is running another card operation.
    #[error("the POI is busy with another card operation")]
    PoiBusy {
        /// The transaction it is running.
        active: Option<TransactionId>,
    },
    /// Another follow-up of the same original stands in the way of a completion, reversal or
    /// refund (the rules are in `payments::follow_up`).
    #[error("{reason}; blocked by {}", list(blocking))]
    FollowUpConflict {
        /// The original.
        original: TransactionId,
        /// What blocks it (at least one).
        blocking: Vec<FollowUpRef>,
        /// The rule, for people.
        reason: String,
    },
    /// The terminal's last card transaction has an unknown outcome: it takes no new card
    /// operation or reconciliation until recovery or an operator settles that one, because a new
    /// request would overwrite the terminal's evidence (its answer to RepeatLastMessage).
    #[error(
        "the POI's terminal {terminal} has transaction {blocking} in state {state}: it takes no \
         new request until recovery or an operator settles that one"
    )]
    PoiBlocked {
        /// The terminal.
        terminal: TerminalId,
        /// The transaction whose outcome is not known.
        blocking: TransactionId,
        /// Its state (`unknown`, or `pending`/`inProgress` left by a stopped EPS).
        state: TransactionState,
    },
    /// The terminal could not be reached; nothing was sent.
    #[error("the POI's terminal {terminal} is unavailable: {reason}")]
    PoiUnavailable {
        /// The terminal.
        terminal: TerminalId,
        /// What failed.
        reason: String,
    },
    /// The idempotency key was used before with a different request.
    #[error("{key} was already used with a different request")]
    IdempotencyMismatch {
        /// Where the key came from (`Idempotency-Key` or `posTransactionID`).
        key: crate::idempotency::KeySource,
    },
    /// A concurrent writer changed the record first.
    #[error("concurrent update of {0}")]
    Conflict(String),
    /// The store failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// An invariant the code relies on did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `a, b and c` of the blocking follow-ups.
fn list(blocking: &[FollowUpRef]) -> String {
    blocking
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Storage(err.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Storage(err.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Storage(format!("stored JSON: {err}"))
    }
}
