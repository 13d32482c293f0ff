//! Running one card operation to its end: dispatch, the terminal's answer (with a follow-up's
//! effect on its original, in the same commit).

use std::sync::Arc;

use crate::durable::{self, DurableStep};
use crate::error::Result;
use crate::prompt::PromptState;
use crate::terminal::{CardOperation, TerminalOutcome, TerminalRequest, TerminalResponse};
use crate::transaction::{TransactionRecord, TransactionState};

use super::observer::{Dispatch, Observer, Tracking};
use super::outcome::verdict;
use super::recovery::{self, Patience};
use super::shared::Shared;
use super::workers::WorkerClaim;

/// Drives `tracking`'s transaction on the claimed terminal until it is final or handed to an
/// operator as `unknown`; releases the terminal at the end.
pub(crate) async fn run(
    shared: Arc<Shared>,
    claim: WorkerClaim,
    tracking: Arc<Tracking>,
    operation: CardOperation,
) {
    let record = tracking.record.lock().await.clone();
    let observer = Arc::new(Observer::for_operation(
        shared.clone(),
        &record,
        tracking.clone(),
    ));
    let request = TerminalRequest {
        request_id: record.terminal_request_id.clone(),
        operation,
    };
    let outcome = claim
        .terminal()
        .card_operation(request, observer.clone())
        .await;
    // Writes the conversation did not wait for (`inProgress`, displays) land before the outcome.
    observer.settled().await;
    // Questions the terminal no longer waits on are closed before anyone hears the outcome.
    cancel_open_prompts(&shared, &record).await;
    let mut record = tracking.record.lock().await;
    let result = conclude(&shared, &claim, &mut record, outcome).await;
    if let Err(err) = result {
        tracing::error!(%err, transaction = %record.id, "transaction could not be concluded; recovery will retry");
    }
    // Free the terminal before waiters wake, so a client that saw the outcome can go on at once.
    drop(claim);
    tracking.signal(Dispatch::NotSent);
    shared.watch.forget(&record.id);
}

async fn conclude(
    shared: &Arc<Shared>,
    claim: &WorkerClaim,
    record: &mut TransactionRecord,
    outcome: TerminalOutcome,
) -> Result<()> {
    match outcome {
        TerminalOutcome::NotSent { reason } if record.state == TransactionState::Pending => {
            let step = shared.entry(record.id, "notSent", reason.clone());
            shared
                .save_with(
                    record,
                    TransactionState::Failed,
                    |r| {
                        r.result_code = Some(UNREACHABLE.into());
                        r.reason = Some(
                            format!(
                                "the terminal could not be reached; nothing was sent: {reason}"
                            )
                            .into(),
                        );
                    },
                    vec![step],
                )
                .await
        }
        TerminalOutcome::NotSent { reason } | TerminalOutcome::Lost { reason } => {
            let step = shared.entry(record.id, "linkLost", reason.clone());
            shared
                .save_with(
                    record,
                    TransactionState::Unknown,
                    |r| {
                        r.reason = Some(
                            format!("the terminal's answer was lost ({reason}); recovering").into(),
                        );
                    },
                    vec![step],
                )
                .await?;
            durable::reached(DurableStep::OutcomeLost, record.id).await;
            recovery::recover(shared, claim.terminal(), record, Patience::Patient).await
        }
        TerminalOutcome::Answered(response) => {
            apply_answer(shared, record, &response, "response").await?;
            if record.state == TransactionState::Unknown {
                recovery::recover(shared, claim.terminal(), record, Patience::Patient).await?;
            }
            Ok(())
        }
    }
}

/// Closes the input prompts of `record` still open once its terminal request has ended.
async fn cancel_open_prompts(shared: &Shared, record: &TransactionRecord) {
    let open = match shared.store.open_prompts(&record.poi_id).await {
        Ok(open) => open,
        Err(err) => {
            return tracing::error!(%err, transaction = %record.id, "open prompts could not be read");
        }
    };
    for prompt in open.iter().filter(|p| p.transaction_id == Some(record.id)) {
        let now = shared.now();
        match shared
            .store
            .close_prompt(&prompt.id, PromptState::Cancelled, None, None, now)
            .await
        {
            Ok(true) => {
                let detail = format!(
                    "prompt {} withdrawn: the terminal stopped waiting",
                    prompt.id
                );
                shared
                    .journal_best_effort(record.id, "prompt", detail)
                    .await;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::error!(%err, prompt = %prompt.id, "prompt withdrawal could not be saved")
            }
        }
    }
}

/// The result code of a transaction whose terminal could not be reached (nothing sent).
pub const UNREACHABLE: &str = "unreachable";

/// Records a terminal's answer (or a recovered one), settling the original of a follow-up in the
/// same commit.
pub(crate) async fn apply_answer(
    shared: &Shared,
    record: &mut TransactionRecord,
    response: &TerminalResponse,
    source: &str,
) -> Result<()> {
    let verdict = verdict(response);
    let step = shared.entry(
        record.id,
        source,
        format!("{} -> {}", verdict.result_code, verdict.state),
    );
    if record.state == TransactionState::Pending {
        // The terminal answered, so the request was sent even if `inProgress` was not saved.
        shared
            .save(record, TransactionState::InProgress, |_| {})
            .await?;
    }
    let record_answer = |r: &mut TransactionRecord| {
        r.result_code = Some(verdict.result_code.clone());
        r.reason = verdict.reason.clone();
        if response.authorisation.is_some() {
            r.authorisation = response.authorisation.clone();
        }
        if let Some(amount) = response.amount
            && amount.currency() == r.amount.currency()
        {
            r.approved_amount = Some(amount);
        }
    };
    // A follow-up's outcome and its original's settlement are one commit.
    shared
        .save_settling(record, verdict.state, record_answer, vec![step])
        .await?;
    let durable_step = if record.original_id.is_some() {
        DurableStep::FollowUpOutcomeSaved
    } else {
        DurableStep::OutcomeSaved
    };
    durable::reached(durable_step, record.id).await;
    Ok(())
}
