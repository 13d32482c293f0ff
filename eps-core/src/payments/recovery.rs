//! Recovery of transactions whose outcome was lost: a dropped link, or an EPS that stopped.
//!
//! Design §5: ask the terminal for its last request (RepeatLastMessage) and compare RequestIDs; take
//! the terminal's own answer when they match, re-collect receipts with TicketReprint when they
//! are missing, and otherwise leave the transaction `unknown` with the reason for an operator.
//! Never infer a decline, never resend a payment, never reverse what cannot be identified.
//! The one proof of "never completed" accepted: the terminal is idle and its last request is one
//! the EPS sent *before* this one (or it has none at all).

use std::sync::Arc;

use crate::durable::{self, DurableStep};
use crate::error::Result;
use crate::receipt::ReceiptCopy;
use crate::terminal::{SharedTerminal, TerminalError, TerminalResult};
use crate::transaction::{TransactionRecord, TransactionState};

use super::observer::{Observer, Subject};
use super::operation::apply_answer;
use super::shared::Shared;

/// Brings an unresolved transaction to a final state, or leaves it `unknown` with the reason.
pub(crate) async fn recover(
    shared: &Arc<Shared>,
    terminal: &SharedTerminal,
    record: &mut TransactionRecord,
) -> Result<()> {
    if record.state == TransactionState::Pending {
        let journal = shared.store.journal(&record.id.to_string()).await?;
        if !journal.iter().any(|step| step.step == "sending") {
            return shared
                .save(record, TransactionState::Failed, |r| {
                    r.result_code = Some("notSent".into());
                    r.reason = Some(
                        "the EPS stopped before sending it to the terminal; nothing was sent"
                            .into(),
                    );
                })
                .await;
        }
    }
    if record.state != TransactionState::Unknown {
        shared
            .save(record, TransactionState::Unknown, |r| {
                r.reason = Some("the outcome was lost; asking the terminal".into());
            })
            .await?;
        durable::reached(DurableStep::OutcomeLost, record.id).await;
    }
    let attempts = shared.policy.recovery_attempts.max(1);
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        match terminal.last_result(shared.request_id()).await {
            Ok(last) if last.request_id.as_ref() == Some(&record.terminal_request_id) => {
                shared
                    .journal_best_effort(
                        record.id,
                        "recovery",
                        "RepeatLastMessage matched this request",
                    )
                    .await;
                apply_answer(shared, record, &last.response, "recovered").await?;
                if record.state == TransactionState::Unknown
                    || (record.state == TransactionState::Approved
                        && !has_customer_receipt(shared, record).await?)
                {
                    collect_evidence(shared, terminal, record).await?;
                }
                return Ok(());
            }
            Ok(last) => {
                return mismatch(shared, record, last.request_id.map(|id| id.to_string())).await;
            }
            Err(TerminalError::Busy)
            | Err(TerminalError::Refused(
                TerminalResult::Busy | TerminalResult::DeviceUnavailable,
            )) => {
                last_error = "the terminal is still busy".into();
            }
            Err(err) => last_error = err.to_string(),
        }
        shared
            .journal_best_effort(
                record.id,
                "recovery",
                format!("attempt {attempt}: {last_error}"),
            )
            .await;
        if attempt < attempts {
            tokio::time::sleep(shared.policy.recovery_backoff).await;
        }
    }
    shared
        .save(record, TransactionState::Unknown, |r| {
            r.reason = Some(format!(
                "outcome not known yet: {last_error}; recovery will retry"
            ));
        })
        .await
}

/// The terminal's last request is not ours.
async fn mismatch(
    shared: &Shared,
    record: &mut TransactionRecord,
    last: Option<String>,
) -> Result<()> {
    let earlier = match &last {
        None => true,
        Some(id) => {
            let request = crate::ids::TerminalRequestId::parse(id);
            match request {
                Ok(request) => shared
                    .store
                    .transaction_by_request(&record.terminal_id, &request)
                    .await?
                    .is_some_and(|t| (t.created_at, t.id) < (record.created_at, record.id)),
                Err(_) => false,
            }
        }
    };
    let last_text = last.as_deref().unwrap_or("none");
    shared
        .journal_best_effort(
            record.id,
            "recovery",
            format!("RepeatLastMessage: last request {last_text}"),
        )
        .await;
    if earlier {
        return shared
            .save(record, TransactionState::Failed, |r| {
                r.result_code = Some("neverCompleted".into());
                r.reason = Some(format!(
                    "the terminal never completed it: its last request ({last_text}) is an earlier one"
                ));
            })
            .await;
    }
    shared
        .save(record, TransactionState::Unknown, |r| {
            r.reason = Some(format!(
                "the terminal's last request is {last_text}, not this one: an operator must check the terminal"
            ));
        })
        .await
}

async fn has_customer_receipt(shared: &Shared, record: &TransactionRecord) -> Result<bool> {
    Ok(shared
        .store
        .transaction_receipts(&record.id)
        .await?
        .iter()
        .any(|r| r.copy == ReceiptCopy::Customer))
}

/// Re-collects the receipt copies (TicketReprint) as evidence for the operator and the customer.
async fn collect_evidence(
    shared: &Arc<Shared>,
    terminal: &SharedTerminal,
    record: &TransactionRecord,
) -> Result<()> {
    let observer = std::sync::Arc::new(Observer::for_callbacks(
        shared.clone(),
        record.merchant_id.clone(),
        record.poi_id,
        Subject::Transaction(record.id),
    ));
    match terminal.reprint(shared.request_id(), observer).await {
        Ok(_) => {
            shared
                .journal_best_effort(
                    record.id,
                    "evidence",
                    "TicketReprint collected the last receipt",
                )
                .await
        }
        Err(err) => {
            shared
                .journal_best_effort(
                    record.id,
                    "evidence",
                    format!("TicketReprint failed: {err}"),
                )
                .await
        }
    }
    Ok(())
}
