//! What a site system asks for, checked before it is stored.

use crate::error::{Error, Result};
use crate::idempotency::IdempotencyRequest;
use crate::ids::{ClientId, ConnectionId, MerchantId, PoiId, TransactionId};
use crate::money::{Amount, MoneyError};
use crate::terminal::{CardOperation, OriginalTransaction, ReversedKind};
use crate::transaction::{TransactionKind, TransactionRecord};

use super::follow_up::judge;

/// Who is asking: the client, its connection and its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The OAuth2 client.
    pub client_id: ClientId,
    /// Its live connection.
    pub connection_id: ConnectionId,
    /// The connection's site.
    pub merchant_id: MerchantId,
}

/// A request to start a card transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRequest {
    /// What to do.
    pub kind: TransactionKind,
    /// Who asks.
    pub caller: Caller,
    /// The POI (for follow-ups, the original's POI is used and this must match when given).
    pub poi_id: Option<PoiId>,
    /// The amount (required except for reversals, which reverse the original amount).
    pub amount: Option<Amount>,
    /// The transaction a completion, reversal or refund refers to.
    pub original_id: Option<TransactionId>,
    /// The site system's own reference.
    pub reference: Option<String>,
    /// The idempotency key (the `Idempotency-Key` header or the `posTransactionID`), when sent.
    pub idempotency: Option<IdempotencyRequest>,
}

/// Checks a request against its original (if any) and every follow-up of that original, and
/// returns the amount to use (the follow-up rules are in [`super::follow_up`]).
pub fn check_request(
    request: &TransactionRequest,
    original: Option<&TransactionRecord>,
    follow_ups: &[TransactionRecord],
) -> Result<Amount> {
    match (request.kind, request.original_id, original) {
        (TransactionKind::Payment | TransactionKind::PreAuthorisation, _, _)
        | (TransactionKind::Refund, None, _) => request
            .amount
            .ok_or(Error::InvalidAmount {
                field: "amount",
                source: MoneyError::Empty,
            })
            .and_then(|a| {
                a.positive().map_err(|source| Error::InvalidAmount {
                    field: "amount",
                    source,
                })
            }),
        (kind, Some(_), Some(original)) => judge(kind, request.amount, original, follow_ups),
        (_, _, _) => Err(Error::UnknownTransaction),
    }
}

/// The terminal operation for a checked request.
pub(crate) fn card_operation(
    kind: TransactionKind,
    amount: Amount,
    original: Option<&TransactionRecord>,
) -> CardOperation {
    let reference = original.map(original_reference);
    match (kind, reference) {
        (TransactionKind::Payment, _) => CardOperation::Payment { amount },
        (TransactionKind::PreAuthorisation, _) => CardOperation::PreAuthorisation { amount },
        (TransactionKind::Completion, reference) => CardOperation::Completion {
            amount,
            original: reference.unwrap_or_default(),
        },
        (TransactionKind::Reversal, reference) => CardOperation::Reversal {
            amount,
            original: reference.unwrap_or_default(),
            // `check_request` admits only payments, pre-authorisations, completions and refunds.
            reverses: original
                .and_then(|o| ReversedKind::of(o.kind))
                .unwrap_or(ReversedKind::Payment),
        },
        (TransactionKind::Refund, reference) => CardOperation::Refund {
            amount,
            original: reference,
        },
    }
}

/// How the terminal identifies a stored transaction.
pub(crate) fn original_reference(record: &TransactionRecord) -> OriginalTransaction {
    let auth = record.authorisation.clone().unwrap_or_default();
    OriginalTransaction {
        request_id: Some(record.terminal_request_id.clone()),
        stan: auth.stan,
        terminal_id: auth.terminal_id,
        approval_code: auth.approval_code,
        timestamp: auth.timestamp,
    }
}
