//! What a site system asks for, and the rules a follow-up must meet against its original.

use crate::error::{Error, Result};
use crate::ids::{ClientId, ConnectionId, IdempotencyKey, MerchantId, PoiId, TransactionId};
use crate::money::{Amount, MoneyError};
use crate::terminal::{CardOperation, OriginalTransaction, ReversedKind};
use crate::transaction::{TransactionKind, TransactionRecord, TransactionState};

/// An idempotency key with the fingerprint of the request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRequest {
    /// The key.
    pub key: IdempotencyKey,
    /// The request's fingerprint (`idempotency::fingerprint`).
    pub fingerprint: String,
}

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
    /// The idempotency key, when sent.
    pub idempotency: Option<IdempotencyRequest>,
}

/// Checks a request against its original (if any) and returns the amount to use.
///
/// `refunded_so_far` is the sum of approved refunds already referring to the original.
pub fn check_request(
    request: &TransactionRequest,
    original: Option<&TransactionRecord>,
    refunded_so_far: Option<Amount>,
) -> Result<Amount> {
    let amount = |field| {
        request
            .amount
            .ok_or(Error::InvalidAmount {
                field,
                source: MoneyError::Empty,
            })
            .and_then(|a| {
                a.positive()
                    .map_err(|source| Error::InvalidAmount { field, source })
            })
    };
    match request.kind {
        TransactionKind::Payment | TransactionKind::PreAuthorisation => amount("amount"),
        TransactionKind::Completion => {
            let original = need_original(
                original,
                &[TransactionKind::PreAuthorisation],
                &[TransactionState::Approved],
            )?;
            let amount = amount("amount")?;
            let authorised = original.approved_amount.unwrap_or(original.amount);
            same_currency(amount, authorised)?;
            if amount.minor() > authorised.minor() {
                return Err(Error::InvalidState(format!(
                    "amount: the completion amount {} exceeds the authorised amount {}",
                    amount.value_text(),
                    authorised.value_text()
                )));
            }
            Ok(amount)
        }
        TransactionKind::Reversal => {
            let original = need_original(
                original,
                &[
                    TransactionKind::Payment,
                    TransactionKind::PreAuthorisation,
                    TransactionKind::Completion,
                    TransactionKind::Refund,
                ],
                &[TransactionState::Approved],
            )?;
            let reversed = original.approved_amount.unwrap_or(original.amount);
            if let Some(asked) = request.amount
                && asked != reversed
            {
                return Err(Error::InvalidState(format!(
                    "amount: a reversal reverses the whole original amount {}",
                    reversed.value_text()
                )));
            }
            Ok(reversed)
        }
        TransactionKind::Refund => {
            let amount = amount("amount")?;
            if request.original_id.is_some() {
                let original = need_original(
                    original,
                    &[TransactionKind::Payment, TransactionKind::Completion],
                    &[TransactionState::Approved],
                )?;
                let paid = original.approved_amount.unwrap_or(original.amount);
                same_currency(amount, paid)?;
                let already = refunded_so_far.map_or(0, |a| a.minor());
                if amount.minor() + already > paid.minor() {
                    return Err(Error::InvalidState(format!(
                        "amount: refunds would exceed the original amount {} ({} already refunded)",
                        paid.value_text(),
                        refunded_so_far.map_or_else(|| "0".to_owned(), |a| a.value_text())
                    )));
                }
            }
            Ok(amount)
        }
    }
}

fn need_original<'a>(
    original: Option<&'a TransactionRecord>,
    kinds: &[TransactionKind],
    states: &[TransactionState],
) -> Result<&'a TransactionRecord> {
    let original = original.ok_or(Error::UnknownTransaction)?;
    if !kinds.contains(&original.kind) {
        return Err(Error::InvalidState(format!(
            "transaction {} is a {}, which this operation cannot refer to",
            original.id,
            original.kind.as_str()
        )));
    }
    if !states.contains(&original.state) {
        return Err(Error::InvalidState(format!(
            "transaction {} is {}; this operation needs it {}",
            original.id,
            original.state,
            states
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    Ok(original)
}

fn same_currency(a: Amount, b: Amount) -> Result<()> {
    if a.currency() == b.currency() {
        Ok(())
    } else {
        Err(Error::InvalidAmount {
            field: "amount.currency",
            source: MoneyError::CurrencyMismatch(a.currency(), b.currency()),
        })
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
