//! Recovery of transactions whose outcome was lost: a dropped link, or an EPS that stopped.
//!
//! Design §5: ask the terminal for its last request (RepeatLastMessage) and compare RequestIDs; take
//! the terminal's own answer when they match, re-collect receipts with TicketReprint when they
//! are missing, and otherwise leave the transaction `unknown` with the reason (recovery keeps
//! asking; an operator may resolve it). Never infer a decline, never resend a payment, never
//! reverse what cannot be identified.
//!
//! # When "never completed" is proved
//! `failed` with `neverCompleted` needs positive proof that the terminal never processed this
//! request. The one proof accepted: the terminal's last request is one this EPS sent to it
//! *before* this one, **and** the terminal cannot still be working on this one, because at least
//! its hard cap ([`crate::terminal::Terminal::hard_cap`]) has passed since the transaction became
//! `unknown` (by then the EPS had stopped writing the request). Before that, an earlier
//! RequestID only says the terminal has not *finished* ours: it may still be processing it after
//! the link dropped, and answer RepeatLastMessage with its previous request meanwhile. A
//! RequestID the EPS cannot read, or one it never sent to this terminal, proves nothing either
//! way. In all those cases the transaction stays `unknown` and recovery asks again later.
//!
//! A retry that learns nothing new writes nothing: no state, no journal step, no event.

use std::sync::Arc;

use time::format_description::well_known::Rfc3339;

use crate::durable::{self, DurableStep};
use crate::error::Result;
use crate::ids::TerminalRequestId;
use crate::receipt::ReceiptCopy;
use crate::redact::MaskedText;
use crate::terminal::{SharedTerminal, TerminalError, TerminalResult};
use crate::transaction::{TransactionRecord, TransactionState};

use super::observer::{Observer, Subject};
use super::operation::apply_answer;
use super::shared::Shared;

/// How hard one recovery tries before it leaves the transaction `unknown` for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Patience {
    /// The policy's attempts with its back-off, each journalled: an operation's own recovery,
    /// and recovery at start-up.
    Patient,
    /// One attempt: a background retry, already spaced by the retry schedule.
    Once,
}

/// Brings an unresolved transaction to a final state, or leaves it `unknown` with the reason.
pub(crate) async fn recover(
    shared: &Arc<Shared>,
    terminal: &SharedTerminal,
    record: &mut TransactionRecord,
    patience: Patience,
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
    let attempts = match patience {
        Patience::Patient => shared.policy.recovery_attempts.max(1),
        Patience::Once => 1,
    };
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
            Ok(last) => return not_this_one(shared, terminal, record, last.request_id).await,
            Err(TerminalError::Busy)
            | Err(TerminalError::Refused(
                TerminalResult::Busy | TerminalResult::DeviceUnavailable,
            )) => {
                last_error = "the terminal is still busy".into();
            }
            Err(err) => last_error = err.to_string(),
        }
        if patience == Patience::Patient {
            shared
                .journal_best_effort(
                    record.id,
                    "recovery",
                    format!("attempt {attempt}: {last_error}"),
                )
                .await;
        }
        if attempt < attempts {
            tokio::time::sleep(shared.policy.recovery_backoff).await;
        }
    }
    still_unknown(
        shared,
        record,
        format!("outcome not known yet: {last_error}; recovery will retry"),
    )
    .await
}

/// The terminal's last request is not this one: `failed` only with the proof the module doc
/// describes, else still `unknown`.
async fn not_this_one(
    shared: &Shared,
    terminal: &SharedTerminal,
    record: &mut TransactionRecord,
    last: Option<TerminalRequestId>,
) -> Result<()> {
    let Some(last) = last else {
        return still_unknown(
            shared,
            record,
            "the terminal's last request has no RequestID the EPS can read, which proves \
             nothing; recovery will retry, or an operator checks the terminal"
                .to_owned(),
        )
        .await;
    };
    let earlier = shared
        .store
        .transaction_by_request(&record.terminal_id, &last)
        .await?
        .is_some_and(|t| (t.created_at, t.id) < (record.created_at, record.id));
    if !earlier {
        return still_unknown(
            shared,
            record,
            format!(
                "the terminal's last request is {last}, neither this one nor an earlier one of \
                 this EPS; recovery will retry, or an operator checks the terminal"
            ),
        )
        .await;
    }
    let cap = terminal.hard_cap();
    let since = record.unknown_since.unwrap_or(record.updated_at);
    let until = since + cap;
    if shared.now() < until {
        let until = until.format(&Rfc3339).unwrap_or_else(|_| until.to_string());
        return still_unknown(
            shared,
            record,
            format!(
                "the terminal's last request is an earlier one ({last}), but it may still be \
                 working on this one until {until} (its hard cap after the outcome was lost); \
                 recovery will retry"
            ),
        )
        .await;
    }
    let step = shared.entry(
        record.id,
        "recovery",
        format!("RepeatLastMessage: last request {last}, an earlier one"),
    );
    shared
        .save_with(
            record,
            TransactionState::Failed,
            |r| {
                r.result_code = Some("neverCompleted".into());
                r.reason = Some(
                    format!(
                        "the terminal never completed it: its last request ({last}) is an earlier \
                     one, and its hard cap ({} s) has passed since the outcome was lost",
                        cap.as_secs()
                    )
                    .into(),
                );
            },
            vec![step],
        )
        .await
}

/// Saves `record` as `unknown` with `reason` (masked), unless that is already what it says.
async fn still_unknown(
    shared: &Shared,
    record: &mut TransactionRecord,
    reason: String,
) -> Result<()> {
    let reason = MaskedText::new(reason);
    if record.state == TransactionState::Unknown && record.reason.as_ref() == Some(&reason) {
        return Ok(());
    }
    shared
        .save(record, TransactionState::Unknown, |r| {
            r.reason = Some(reason)
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
