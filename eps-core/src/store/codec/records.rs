//! Rows of the payment records: transactions, receipts, prompts and reconciliations.

use crate::error::Result;
use crate::ids::{
    ClientId, ConnectionId, MerchantId, PoiId, PromptId, ReceiptId, ReconciliationId, TerminalId,
    TerminalRequestId, TransactionId,
};
use crate::money::{Amount, Currency};
use crate::prompt::{PromptKind, PromptRecord, PromptState};
use crate::receipt::{ReceiptCopy, ReceiptRecord};
use crate::reconciliation::{ReconciliationRecord, ReconciliationState};
use crate::redact::MaskedText;
use crate::transaction::{TransactionKind, TransactionRecord, TransactionState};

use super::{from_json, instant, millis, named, parsed, to_json};

/// A `transactions` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TransactionRow {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) merchant_id: String,
    pub(crate) poi_id: String,
    pub(crate) terminal_id: String,
    pub(crate) client_id: String,
    pub(crate) connection_id: Option<String>,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) approved_minor: Option<i64>,
    pub(crate) approved_currency: Option<String>,
    pub(crate) refunded_minor: Option<i64>,
    pub(crate) original_id: Option<String>,
    pub(crate) terminal_request_id: String,
    pub(crate) reference: Option<String>,
    pub(crate) authorisation: Option<String>,
    pub(crate) result_code: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) unknown_since: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) version: i64,
}

impl TransactionRow {
    /// The row of a record.
    pub(crate) fn encode(record: &TransactionRecord) -> Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            kind: record.kind.as_str().to_owned(),
            state: record.state.as_str().to_owned(),
            merchant_id: record.merchant_id.to_string(),
            poi_id: record.poi_id.to_string(),
            terminal_id: record.terminal_id.to_string(),
            client_id: record.client_id.to_string(),
            connection_id: record.connection_id.map(|c| c.to_string()),
            amount_minor: record.amount.minor(),
            currency: record.amount.currency().code().to_owned(),
            approved_minor: record.approved_amount.map(|a| a.minor()),
            approved_currency: record
                .approved_amount
                .map(|a| a.currency().code().to_owned()),
            refunded_minor: record.refunded_amount.map(|a| a.minor()),
            original_id: record.original_id.map(|o| o.to_string()),
            terminal_request_id: record.terminal_request_id.to_string(),
            reference: record.reference.clone().map(String::from),
            authorisation: record.authorisation.as_ref().map(to_json).transpose()?,
            result_code: record.result_code.clone(),
            reason: record.reason.clone().map(String::from),
            unknown_since: record.unknown_since.map(millis).transpose()?,
            created_at: millis(record.created_at)?,
            updated_at: millis(record.updated_at)?,
            version: record.version,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<TransactionRecord> {
        let approved_amount = match (self.approved_minor, self.approved_currency) {
            (Some(minor), Some(code)) => Some(amount("transactions.approved_minor", minor, &code)?),
            _ => None,
        };
        // Refunds are in the original's currency.
        let refunded_amount = self
            .refunded_minor
            .map(|minor| amount("transactions.refunded_minor", minor, &self.currency))
            .transpose()?;
        Ok(TransactionRecord {
            id: parsed("transactions.id", TransactionId::parse(&self.id))?,
            kind: named("transactions.kind", &self.kind, TransactionKind::parse)?,
            state: named("transactions.state", &self.state, TransactionState::parse)?,
            merchant_id: parsed(
                "transactions.merchant_id",
                MerchantId::parse(&self.merchant_id),
            )?,
            poi_id: parsed("transactions.poi_id", PoiId::parse(&self.poi_id))?,
            terminal_id: parsed(
                "transactions.terminal_id",
                TerminalId::parse(&self.terminal_id),
            )?,
            client_id: parsed("transactions.client_id", ClientId::parse(&self.client_id))?,
            connection_id: self
                .connection_id
                .as_deref()
                .map(|c| parsed("transactions.connection_id", ConnectionId::parse(c)))
                .transpose()?,
            amount: amount(
                "transactions.amount_minor",
                self.amount_minor,
                &self.currency,
            )?,
            approved_amount,
            refunded_amount,
            original_id: self
                .original_id
                .as_deref()
                .map(|o| parsed("transactions.original_id", TransactionId::parse(o)))
                .transpose()?,
            terminal_request_id: parsed(
                "transactions.terminal_request_id",
                TerminalRequestId::parse(&self.terminal_request_id),
            )?,
            reference: self.reference.map(MaskedText::from),
            authorisation: self
                .authorisation
                .as_deref()
                .map(|a| from_json("transactions.authorisation", a))
                .transpose()?,
            result_code: self.result_code,
            reason: self.reason.map(MaskedText::from),
            unknown_since: self
                .unknown_since
                .map(|ms| instant("transactions.unknown_since", ms))
                .transpose()?,
            created_at: instant("transactions.created_at", self.created_at)?,
            updated_at: instant("transactions.updated_at", self.updated_at)?,
            version: self.version,
        })
    }
}

/// A `receipts` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReceiptRow {
    pub(crate) id: String,
    pub(crate) merchant_id: String,
    pub(crate) poi_id: String,
    pub(crate) transaction_id: Option<String>,
    pub(crate) reconciliation_id: Option<String>,
    pub(crate) receipt_copy: String,
    pub(crate) device_target: String,
    pub(crate) lines: String,
    pub(crate) created_at: i64,
}

impl ReceiptRow {
    /// The row of a record.
    pub(crate) fn encode(record: &ReceiptRecord) -> Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            merchant_id: record.merchant_id.to_string(),
            poi_id: record.poi_id.to_string(),
            transaction_id: record.transaction_id.map(|t| t.to_string()),
            reconciliation_id: record.reconciliation_id.map(|r| r.to_string()),
            receipt_copy: record.copy.as_str().to_owned(),
            device_target: record.device_target.clone(),
            lines: to_json(&record.lines)?,
            created_at: millis(record.created_at)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<ReceiptRecord> {
        Ok(ReceiptRecord {
            id: parsed("receipts.id", ReceiptId::parse(&self.id))?,
            merchant_id: parsed("receipts.merchant_id", MerchantId::parse(&self.merchant_id))?,
            poi_id: parsed("receipts.poi_id", PoiId::parse(&self.poi_id))?,
            transaction_id: self
                .transaction_id
                .as_deref()
                .map(|t| parsed("receipts.transaction_id", TransactionId::parse(t)))
                .transpose()?,
            reconciliation_id: self
                .reconciliation_id
                .as_deref()
                .map(|r| parsed("receipts.reconciliation_id", ReconciliationId::parse(r)))
                .transpose()?,
            copy: named(
                "receipts.receipt_copy",
                &self.receipt_copy,
                ReceiptCopy::parse,
            )?,
            device_target: self.device_target,
            lines: from_json("receipts.lines", &self.lines)?,
            created_at: instant("receipts.created_at", self.created_at)?,
        })
    }
}

/// A `prompts` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PromptRow {
    pub(crate) id: String,
    pub(crate) merchant_id: String,
    pub(crate) poi_id: String,
    pub(crate) transaction_id: Option<String>,
    pub(crate) kind: String,
    pub(crate) device_target: String,
    pub(crate) lines: String,
    pub(crate) input: Option<String>,
    pub(crate) state: String,
    pub(crate) answer: Option<String>,
    pub(crate) answered_by: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) updated_at: i64,
}

impl PromptRow {
    /// The row of a record.
    pub(crate) fn encode(record: &PromptRecord) -> Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            merchant_id: record.merchant_id.to_string(),
            poi_id: record.poi_id.to_string(),
            transaction_id: record.transaction_id.map(|t| t.to_string()),
            kind: record.kind.as_str().to_owned(),
            device_target: record.device_target.clone(),
            lines: to_json(&record.lines)?,
            input: record.input.as_ref().map(to_json).transpose()?,
            state: record.state.as_str().to_owned(),
            answer: record.answer.as_ref().map(to_json).transpose()?,
            answered_by: record.answered_by.as_ref().map(ToString::to_string),
            created_at: millis(record.created_at)?,
            expires_at: record.expires_at.map(millis).transpose()?,
            updated_at: millis(record.updated_at)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<PromptRecord> {
        Ok(PromptRecord {
            id: parsed("prompts.id", PromptId::parse(&self.id))?,
            merchant_id: parsed("prompts.merchant_id", MerchantId::parse(&self.merchant_id))?,
            poi_id: parsed("prompts.poi_id", PoiId::parse(&self.poi_id))?,
            transaction_id: self
                .transaction_id
                .as_deref()
                .map(|t| parsed("prompts.transaction_id", TransactionId::parse(t)))
                .transpose()?,
            kind: named("prompts.kind", &self.kind, PromptKind::parse)?,
            device_target: self.device_target,
            lines: from_json("prompts.lines", &self.lines)?,
            input: self
                .input
                .as_deref()
                .map(|i| from_json("prompts.input", i))
                .transpose()?,
            state: named("prompts.state", &self.state, PromptState::parse)?,
            answer: self
                .answer
                .as_deref()
                .map(|a| from_json("prompts.answer", a))
                .transpose()?,
            answered_by: self
                .answered_by
                .as_deref()
                .map(|c| parsed("prompts.answered_by", ClientId::parse(c)))
                .transpose()?,
            created_at: instant("prompts.created_at", self.created_at)?,
            expires_at: self
                .expires_at
                .map(|e| instant("prompts.expires_at", e))
                .transpose()?,
            updated_at: instant("prompts.updated_at", self.updated_at)?,
        })
    }
}

/// A `reconciliations` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReconciliationRow {
    pub(crate) id: String,
    pub(crate) merchant_id: String,
    pub(crate) poi_id: String,
    pub(crate) terminal_id: String,
    pub(crate) client_id: String,
    pub(crate) closure: bool,
    pub(crate) state: String,
    pub(crate) totals: String,
    pub(crate) terminal_request_id: String,
    pub(crate) result_code: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) version: i64,
}

impl ReconciliationRow {
    /// The row of a record.
    pub(crate) fn encode(record: &ReconciliationRecord) -> Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            merchant_id: record.merchant_id.to_string(),
            poi_id: record.poi_id.to_string(),
            terminal_id: record.terminal_id.to_string(),
            client_id: record.client_id.to_string(),
            closure: record.closure,
            state: record.state.as_str().to_owned(),
            totals: to_json(&record.totals)?,
            terminal_request_id: record.terminal_request_id.to_string(),
            result_code: record.result_code.clone(),
            reason: record.reason.clone().map(String::from),
            created_at: millis(record.created_at)?,
            updated_at: millis(record.updated_at)?,
            version: record.version,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<ReconciliationRecord> {
        Ok(ReconciliationRecord {
            id: parsed("reconciliations.id", ReconciliationId::parse(&self.id))?,
            merchant_id: parsed(
                "reconciliations.merchant_id",
                MerchantId::parse(&self.merchant_id),
            )?,
            poi_id: parsed("reconciliations.poi_id", PoiId::parse(&self.poi_id))?,
            terminal_id: parsed(
                "reconciliations.terminal_id",
                TerminalId::parse(&self.terminal_id),
            )?,
            client_id: parsed(
                "reconciliations.client_id",
                ClientId::parse(&self.client_id),
            )?,
            closure: self.closure,
            state: named(
                "reconciliations.state",
                &self.state,
                ReconciliationState::parse,
            )?,
            totals: from_json("reconciliations.totals", &self.totals)?,
            terminal_request_id: parsed(
                "reconciliations.terminal_request_id",
                TerminalRequestId::parse(&self.terminal_request_id),
            )?,
            result_code: self.result_code,
            reason: self.reason.map(MaskedText::from),
            created_at: instant("reconciliations.created_at", self.created_at)?,
            updated_at: instant("reconciliations.updated_at", self.updated_at)?,
            version: self.version,
        })
    }
}

/// An amount from its minor-units column and currency code.
fn amount(column: &str, minor: i64, currency: &str) -> Result<Amount> {
    let currency = parsed(column, Currency::parse(currency))?;
    parsed(column, Amount::from_minor(minor, currency))
}
