//! Every card operation end to end over loopback.

use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{
    CardOperation, OriginalTransaction, ReconciliationOutcome, ReversedKind, TerminalOutcome,
    TerminalResult,
};
use opi_backend::profile::AbortPlacement;
use opi_backend::sim::{CallbackMode, Scenario, SimConfig};

use crate::rig::{Heard, Recorder, Rig, answered, bounded, eur, quiet_profile, until};

#[tokio::test]
async fn payment_with_callbacks() {
    let mut rig = Rig::start().await;
    let (id, outcome, recorder) = rig.pay("39.50").await;
    let answer = answered(outcome);
    assert_eq!(answer.result, TerminalResult::Success);
    assert_eq!(answer.amount, Some(eur("39.50")));
    let heard = recorder.heard();
    assert_eq!(&heard[..2], &[Heard::BeforeSend, Heard::Sent]);
    assert_eq!(
        recorder.receipts(),
        [ReceiptCopy::Customer, ReceiptCopy::Merchant]
    );
    let truth = rig.sim.entry(id.as_str()).unwrap();
    let auth = answer.authorisation.unwrap();
    assert!(truth.approved());
    assert_eq!(truth.stan, auth.stan);
    assert_eq!(truth.approval_code, auth.approval_code);
    assert_eq!(auth.masked_pan.as_deref(), truth.masked_pan.as_deref());
    rig.backend.shutdown().await;
}

#[tokio::test]
async fn payment_with_a_connection_per_callback() {
    let config = SimConfig {
        callbacks: CallbackMode::PerRequest,
        ..SimConfig::default()
    };
    let mut rig = Rig::with(config, quiet_profile()).await;
    let (_, outcome, recorder) = rig.pay("12.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    assert_eq!(recorder.receipts().len(), 2);
}

#[tokio::test]
async fn refund_reversal_preauthorisation_and_completion() {
    let mut rig = Rig::start().await;
    let (recorder, _) = Recorder::new();

    let (_, paid) = rig
        .run(
            CardOperation::Payment {
                amount: eur("25.00"),
            },
            recorder.clone(),
        )
        .await;
    let paid = answered(paid).authorisation.unwrap();
    let (_, refund) = rig
        .run(
            CardOperation::Refund {
                amount: eur("5.00"),
                original: Some(OriginalTransaction {
                    stan: paid.stan.clone(),
                    ..OriginalTransaction::default()
                }),
            },
            recorder.clone(),
        )
        .await;
    assert_eq!(answered(refund).result, TerminalResult::Success);

    let (_, reversal) = rig
        .run(
            CardOperation::Reversal {
                amount: eur("25.00"),
                original: OriginalTransaction {
                    stan: paid.stan.clone(),
                    ..OriginalTransaction::default()
                },
                reverses: ReversedKind::Payment,
            },
            recorder.clone(),
        )
        .await;
    assert_eq!(answered(reversal).result, TerminalResult::Success);

    let (_, preauth) = rig
        .run(
            CardOperation::PreAuthorisation {
                amount: eur("90.00"),
            },
            recorder.clone(),
        )
        .await;
    let preauth = answered(preauth).authorisation.unwrap();
    let (_, completion) = rig
        .run(
            CardOperation::Completion {
                amount: eur("71.30"),
                original: OriginalTransaction {
                    stan: preauth.stan.clone(),
                    ..OriginalTransaction::default()
                },
            },
            recorder,
        )
        .await;
    assert_eq!(answered(completion).result, TerminalResult::Success);

    let ledger = rig.sim.ledger();
    let by_stan = |stan: &Option<String>| {
        ledger
            .entries()
            .iter()
            .find(|e| &e.stan == stan)
            .unwrap()
            .clone()
    };
    let payment = by_stan(&paid.stan);
    assert!(payment.reversed && payment.refunded);
    assert!(by_stan(&preauth.stan).completed);
}

#[tokio::test]
async fn reconciliation_with_closure_reports_the_batch() {
    let mut rig = Rig::start().await;
    for value in ["10.00", "15.50"] {
        assert_eq!(
            answered(rig.pay(value).await.1).result,
            TerminalResult::Success
        );
    }
    let (recorder, _) = Recorder::new();
    let id = rig.fresh_id();
    let outcome = rig.terminal.reconcile(id, true, recorder.clone()).await;
    let ReconciliationOutcome::Answered(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(report.result, TerminalResult::Success);
    let total: i64 = report.totals.iter().map(|t| t.amount.minor()).sum();
    assert_eq!(total, 2550);
    assert_eq!(recorder.receipts(), [ReceiptCopy::Report]);
    // The batch is closed: the next totals are empty.
    let again = rig
        .terminal
        .reconcile(rig.fresh_id(), false, recorder)
        .await;
    assert!(matches!(again, ReconciliationOutcome::Answered(r) if r.totals.is_empty()));
}

async fn abort_payment(placement: AbortPlacement) {
    let mut profile = quiet_profile();
    profile.abort = placement;
    let rig = Rig::with(SimConfig::default(), profile).await;
    rig.sim.push(Scenario::WaitForAbort);
    let (recorder, mut heard) = Recorder::new();
    let terminal = rig.terminal.clone();
    let request_id = rig.fresh_id();
    let payment_id = request_id.clone();
    let running = tokio::spawn(async move {
        let request = eps_core::terminal::TerminalRequest {
            request_id,
            operation: CardOperation::Payment {
                amount: eur("60.00"),
            },
        };
        terminal.card_operation(request, recorder).await
    });
    until(&mut heard, "a device output", |h| {
        matches!(h, Heard::Output(_))
    })
    .await;
    rig.terminal.abort().await.unwrap();
    let outcome = bounded("the aborted payment's outcome", running).await;
    assert_eq!(answered(outcome.unwrap()).result, TerminalResult::Aborted);
    // The abort came on the connection the placement names.
    let ledger = rig.sim.ledger();
    let payment = ledger
        .received()
        .iter()
        .find(|r| r.request_id == payment_id.as_str())
        .expect("the payment reached the terminal");
    let aborts: Vec<_> = ledger.received().iter().filter(|r| r.is_abort()).collect();
    assert_eq!(aborts.len(), 1, "{:?}", ledger.received());
    match placement {
        AbortPlacement::NewConnection => assert_ne!(aborts[0].link, payment.link),
        AbortPlacement::SameConnection => assert_eq!(aborts[0].link, payment.link),
    }
    // Nothing left to abort.
    assert!(rig.terminal.abort().await.is_err());
}

#[tokio::test]
async fn abort_on_a_new_connection() {
    abort_payment(AbortPlacement::NewConnection).await;
}

#[tokio::test]
async fn abort_on_the_pending_connection() {
    abort_payment(AbortPlacement::SameConnection).await;
}

#[tokio::test]
async fn confirmation_prompt_is_answered_by_the_observer() {
    let mut rig = Rig::start().await;
    let (_, outcome, recorder) = rig.pay("30.13").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    assert!(
        recorder
            .heard()
            .contains(&Heard::Input("GetConfirmation".into()))
    );
}

#[tokio::test]
async fn a_second_request_while_busy_is_refused_not_queued() {
    let mut rig = Rig::start().await;
    rig.sim.push(Scenario::WaitForAbort);
    let (recorder, mut heard) = Recorder::new();
    let terminal = rig.terminal.clone();
    let first_id = rig.fresh_id();
    let first = tokio::spawn({
        let recorder = recorder.clone();
        async move {
            let request = eps_core::terminal::TerminalRequest {
                request_id: first_id,
                operation: CardOperation::Payment {
                    amount: eur("1.00"),
                },
            };
            terminal.card_operation(request, recorder).await
        }
    });
    until(&mut heard, "a device output", |h| {
        matches!(h, Heard::Output(_))
    })
    .await;
    let (_, second) = rig
        .run(
            CardOperation::Payment {
                amount: eur("2.00"),
            },
            recorder,
        )
        .await;
    assert!(matches!(second, TerminalOutcome::NotSent { reason } if reason.contains("busy")));
    rig.terminal.abort().await.unwrap();
    let first = bounded("the first payment's outcome", first).await;
    assert_eq!(answered(first.unwrap()).result, TerminalResult::Aborted);
}

#[tokio::test]
async fn dialect_faults_still_read_as_answers() {
    let mut rig = Rig::start().await;
    for scenario in [
        Scenario::CharCountPrefix,
        Scenario::NoNamespace,
        Scenario::Latin1,
    ] {
        rig.sim.push(scenario);
        let (_, outcome, recorder) = rig.pay("8.00").await;
        assert_eq!(
            answered(outcome).result,
            TerminalResult::Success,
            "{scenario}"
        );
        assert_eq!(recorder.receipts().len(), 2, "{scenario}");
    }
}
