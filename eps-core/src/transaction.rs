//! Card transactions: kinds, the state machine, the stored record and its journal.
//!
//! States (design §3): `pending` (durable, not yet on the wire) → `inProgress` (bytes written to the
//! terminal) → `approved` | `declined` | `aborted` | `failed` (definitely never reached the terminal)
//! | `unknown` (outcome lost; recovery running or an operator needed); later `completed`,
//! `reversed`, `refunded`. A state is persisted before any client or event hears of it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{
    ClientId, ConnectionId, MerchantId, PoiId, TerminalId, TerminalRequestId, TransactionId,
};
use crate::money::Amount;
use crate::redact::MaskedText;

pub mod search;

/// What a transaction asks of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransactionKind {
    /// Completes an earlier pre-authorisation with the final amount (OPI CardFinancialAdvice).
    Completion,
    /// A sale (OPI CardPayment).
    Payment,
    /// Reserves an amount, e.g. before fuelling (OPI CardPreAuthorisation).
    PreAuthorisation,
    /// Returns money to the card (OPI PaymentRefund).
    Refund,
    /// Cancels an earlier approved transaction (OPI PaymentReversal).
    Reversal,
}

impl TransactionKind {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completion => "completion",
            Self::Payment => "payment",
            Self::PreAuthorisation => "preAuthorisation",
            Self::Refund => "refund",
            Self::Reversal => "reversal",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Completion,
            Self::Payment,
            Self::PreAuthorisation,
            Self::Refund,
            Self::Reversal,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransactionState {
    /// Aborted by cashier, customer or an abort request; no money moved.
    Aborted,
    /// Approved by the terminal.
    Approved,
    /// A pre-authorisation that a completion has settled.
    Completed,
    /// Declined by the terminal or host; no money moved.
    Declined,
    /// Never reached the terminal, was refused unprocessed, or is proved never completed there;
    /// no money moved.
    Failed,
    /// Bytes were written to the terminal; the outcome is awaited.
    InProgress,
    /// Durable, not yet on the wire.
    Pending,
    /// Fully refunded by a later refund.
    Refunded,
    /// Cancelled by a later reversal.
    Reversed,
    /// The outcome was lost; recovery is running or an operator must resolve it.
    Unknown,
}

impl TransactionState {
    /// Every state, for parsing and documentation.
    pub const ALL: [Self; 10] = [
        Self::Aborted,
        Self::Approved,
        Self::Completed,
        Self::Declined,
        Self::Failed,
        Self::InProgress,
        Self::Pending,
        Self::Refunded,
        Self::Reversed,
        Self::Unknown,
    ];

    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aborted => "aborted",
            Self::Approved => "approved",
            Self::Completed => "completed",
            Self::Declined => "declined",
            Self::Failed => "failed",
            Self::InProgress => "inProgress",
            Self::Pending => "pending",
            Self::Refunded => "refunded",
            Self::Reversed => "reversed",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// True while the terminal may still act on it (pending, in progress, unknown).
    pub const fn is_unresolved(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress | Self::Unknown)
    }

    /// Checks a transition and returns the new state.
    pub fn transition(self, to: Self) -> Result<Self> {
        use TransactionState::*;
        let allowed = match self {
            Pending => matches!(to, InProgress | Failed | Unknown),
            // Failed from inProgress: the terminal answered Busy/DeviceUnavailable/LoggedOut and
            // never started the operation.
            InProgress => matches!(to, Approved | Declined | Aborted | Failed | Unknown),
            Unknown => matches!(to, Approved | Declined | Aborted | Failed | Unknown),
            Approved => matches!(to, Completed | Reversed | Refunded),
            Completed => matches!(to, Reversed | Refunded),
            Aborted | Declined | Failed | Refunded | Reversed => false,
        };
        if allowed {
            Ok(to)
        } else {
            Err(Error::InvalidState(format!(
                "a transaction cannot go from {self} to {to}"
            )))
        }
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the terminal reported about an approval; the card number is only ever stored masked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Authorisation {
    /// The issuer's approval code.
    pub approval_code: Option<String>,
    /// The masked card number, e.g. `680533######4747` (masked again, should a terminal send it
    /// in full).
    pub masked_pan: Option<MaskedText>,
    /// The card scheme, e.g. `VISA`, `girocard`.
    pub card_circuit: Option<String>,
    /// The terminal's trace number, used to reference the transaction later.
    pub stan: Option<String>,
    /// The terminal's receipt number.
    pub receipt_number: Option<String>,
    /// The terminal's own id (`Terminal@TerminalID`).
    pub terminal_id: Option<String>,
    /// The acquirer.
    pub acquirer_id: Option<String>,
    /// The acquirer's action code.
    pub action_code: Option<String>,
    /// The authorisation time as the terminal wrote it.
    pub timestamp: Option<String>,
}

/// A stored transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// Its id.
    pub id: TransactionId,
    /// What it asks of the card.
    pub kind: TransactionKind,
    /// Where it stands.
    pub state: TransactionState,
    /// The site.
    pub merchant_id: MerchantId,
    /// The POI.
    pub poi_id: PoiId,
    /// The terminal serving that POI.
    pub terminal_id: TerminalId,
    /// The OAuth2 client that asked for it.
    pub client_id: ClientId,
    /// The connection it was asked on.
    pub connection_id: Option<ConnectionId>,
    /// The requested amount.
    pub amount: Amount,
    /// The amount the terminal approved, when it differs or is known.
    pub approved_amount: Option<Amount>,
    /// What the approved refunds of this transaction add up to, once there is one (a payment or
    /// completion stays `approved` until they reach its amount, then becomes `refunded`).
    pub refunded_amount: Option<Amount>,
    /// The transaction this one completes, reverses or refunds.
    pub original_id: Option<TransactionId>,
    /// The OPI RequestID used on the terminal, kept for recovery.
    pub terminal_request_id: TerminalRequestId,
    /// The site system's own reference for the sale (masked: it may not carry a card number).
    pub reference: Option<MaskedText>,
    /// Approval details.
    pub authorisation: Option<Authorisation>,
    /// The terminal's result or error code, as reported.
    pub result_code: Option<String>,
    /// Why it is declined, failed, aborted or unknown, for people (terminal texts, masked).
    pub reason: Option<MaskedText>,
    /// When it last became `unknown`: by then the EPS had stopped writing its request, so a
    /// terminal's hard cap counted from here bounds how long the terminal may still work on it.
    pub unknown_since: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version, incremented on every update.
    pub version: i64,
}

/// Another follow-up of the same original, named in a refusal: which one, what it is and where
/// it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpRef {
    /// Its id.
    pub id: TransactionId,
    /// Completion, reversal or refund.
    pub kind: TransactionKind,
    /// Where it stands.
    pub state: TransactionState,
    /// The amount it moves (the approved amount when known).
    pub amount: Amount,
}

impl FollowUpRef {
    /// The reference of a stored follow-up.
    pub fn of(record: &TransactionRecord) -> Self {
        Self {
            id: record.id,
            kind: record.kind,
            state: record.state,
            amount: record.approved_amount.unwrap_or(record.amount),
        }
    }
}

impl fmt::Display for FollowUpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}, {})",
            self.kind.as_str(),
            self.id,
            self.state,
            self.amount
        )
    }
}

/// One step in a transaction's durable journal; details never hold a full card number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The transaction (or reconciliation) the step belongs to.
    pub subject_id: String,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened, e.g. `created`, `sending`, `sent`, `deviceOutput`, `response`, `linkLost`.
    pub step: String,
    /// Detail for operators (masked).
    pub detail: MaskedText,
}

/// Filter and page for listing transactions of one site, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    /// The site.
    pub merchant_id: MerchantId,
    /// Only this state.
    pub state: Option<TransactionState>,
    /// Only this POI.
    pub poi_id: Option<PoiId>,
    /// Created at or after.
    pub created_from: Option<OffsetDateTime>,
    /// Created before.
    pub created_to: Option<OffsetDateTime>,
    /// Page cursor: only ids older than this one.
    pub before: Option<TransactionId>,
    /// Page size.
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::TransactionState::*;

    #[test]
    fn terminal_states_are_final() {
        for from in [Aborted, Declined, Failed, Refunded, Reversed] {
            for to in super::TransactionState::ALL {
                assert!(from.transition(to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn follow_the_design_states() {
        assert!(InProgress.transition(Unknown).is_ok());
        assert!(InProgress.transition(Pending).is_err());
        assert!(Approved.transition(Declined).is_err());
        assert!(Pending.transition(Failed).is_ok());
        assert!(Unknown.transition(Approved).is_ok());
        assert!(Approved.transition(Completed).is_ok());
    }

    #[test]
    fn names_round_trip() {
        for s in super::TransactionState::ALL {
            assert_eq!(super::TransactionState::parse(s.as_str()), Some(s));
        }
    }
}
