//! Service tests against a scripted terminal and a real SQLite store.
//!
//! The end-to-end suite runs the same flows against the OPI simulator over loopback; here each
//! terminal behaviour is scripted exactly, so every branch of the flow is reached deterministically.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::macros::datetime;
use tokio::sync::{Notify, watch};

use super::*;
use crate::clock::ManualClock;
use crate::error::Error;
use crate::event::EventLog;
use crate::idempotency::KeySource;
use crate::ids::{
    ClientId, ConnectionId, IdempotencyKey, MerchantId, PoiId, TerminalId, TerminalRequestId,
};
use crate::money::{Amount, Currency};
use crate::prompt::{AnswerSecrecy, InputSpec, PromptAnswer, PromptState};
use crate::receipt::ReceiptCopy;
use crate::redact::MaskedText;
use crate::site::{Poi, Site, SiteDirectory, WorkstationType};
use crate::store::Store;
use crate::terminal::*;
use crate::transaction::{Authorisation, TransactionKind, TransactionRecord, TransactionState};

/// One scripted behaviour for the next card operation.
enum Step {
    /// Callbacks, then this answer.
    Answer {
        outputs: Vec<DeviceOutput>,
        input: Option<InputSpec>,
        result: TerminalResult,
    },
    /// Connect fails: nothing sent.
    NotSent,
    /// Sent, then the link drops.
    Lost,
    /// Sent, then wait until released, then approve.
    Hold(Arc<Notify>),
    /// Wait until released before sending (a Login the terminal holds), then approve.
    HoldBeforeSend(Arc<Notify>),
    /// Show this text on the display, then decline with it as the error text.
    Declined(String),
}

/// The scripted terminal's connect timeout: short, so a held dispatch ends `start`'s wait soon.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(50);

#[derive(Default)]
struct Script {
    steps: VecDeque<Step>,
    last: Option<Result<LastResult, TerminalError>>,
    /// When set, every RepeatLastMessage signals the first and waits for the second.
    last_hold: Option<(Arc<Notify>, Arc<Notify>)>,
    /// When each RepeatLastMessage came (runtime clock).
    last_asked: Vec<tokio::time::Instant>,
    operations: Vec<TerminalRequest>,
    answers: Vec<Option<PromptAnswer>>,
}

struct ScriptedTerminal {
    id: TerminalId,
    script: Mutex<Script>,
    status: watch::Sender<TerminalStatus>,
}

/// The scripted terminals' hard cap (the default profile's).
const HARD_CAP: std::time::Duration = std::time::Duration::from_secs(300);

fn approved() -> TerminalResponse {
    TerminalResponse {
        result: TerminalResult::Success,
        authorisation: Some(Authorisation {
            approval_code: Some("123456".into()),
            masked_pan: Some("411111******1111".into()),
            stan: Some("000042".into()),
            ..Default::default()
        }),
        amount: None,
        error_code: None,
        error_text: None,
    }
}

#[async_trait]
impl Terminal for ScriptedTerminal {
    fn id(&self) -> &TerminalId {
        &self.id
    }

    fn connect_timeout(&self) -> std::time::Duration {
        CONNECT_TIMEOUT
    }

    fn hard_cap(&self) -> std::time::Duration {
        HARD_CAP
    }

    async fn card_operation(
        &self,
        request: TerminalRequest,
        observer: Arc<dyn OperationObserver>,
    ) -> TerminalOutcome {
        let step = {
            let mut script = self.script.lock().unwrap();
            script.operations.push(request.clone());
            script.steps.pop_front().unwrap_or(Step::Answer {
                outputs: vec![],
                input: None,
                result: TerminalResult::Success,
            })
        };
        match &step {
            Step::NotSent => {
                return TerminalOutcome::NotSent {
                    reason: "connection refused".into(),
                };
            }
            Step::HoldBeforeSend(release) => release.notified().await,
            _ => {}
        }
        if let Err(reason) = observer.before_send().await {
            return TerminalOutcome::NotSent { reason };
        }
        observer.sent().await;
        match step {
            Step::NotSent => unreachable!(),
            Step::Lost => TerminalOutcome::Lost {
                reason: "link dropped".into(),
            },
            Step::Hold(release) => {
                release.notified().await;
                TerminalOutcome::Answered(Box::new(approved()))
            }
            Step::HoldBeforeSend(_) => TerminalOutcome::Answered(Box::new(approved())),
            Step::Declined(text) => {
                observer
                    .output(DeviceOutput::Display {
                        target: "CashierDisplay".into(),
                        lines: vec![text.clone()],
                    })
                    .await;
                TerminalOutcome::Answered(Box::new(TerminalResponse {
                    result: TerminalResult::Failure,
                    authorisation: None,
                    amount: None,
                    error_code: Some("05".into()),
                    error_text: Some(text),
                }))
            }
            Step::Answer {
                outputs,
                input,
                result,
            } => {
                for output in outputs {
                    observer.output(output).await;
                }
                if let Some(spec) = input {
                    let request = InputRequest {
                        target: "CashierKeyboard".into(),
                        lines: vec!["Confirm?".into()],
                        spec,
                        timeout: time::Duration::seconds(30),
                    };
                    let answer = observer.input(request).await;
                    self.script.lock().unwrap().answers.push(answer);
                }
                let mut response = approved();
                if result != TerminalResult::Success {
                    response.authorisation = None;
                }
                response.result = result;
                TerminalOutcome::Answered(Box::new(response))
            }
        }
    }

    async fn abort(&self) -> Result<(), TerminalError> {
        Ok(())
    }

    async fn last_result(
        &self,
        _request_id: TerminalRequestId,
    ) -> Result<LastResult, TerminalError> {
        let hold = {
            let mut script = self.script.lock().unwrap();
            script.last_asked.push(tokio::time::Instant::now());
            script.last_hold.clone()
        };
        if let Some((asked, release)) = hold {
            asked.notify_one();
            release.notified().await;
        }
        self.script
            .lock()
            .unwrap()
            .last
            .clone()
            .unwrap_or(Err(TerminalError::Unreachable("no script".into())))
    }

    async fn reprint(
        &self,
        _request_id: TerminalRequestId,
        observer: Arc<dyn OperationObserver>,
    ) -> Result<TerminalResponse, TerminalError> {
        observer
            .output(DeviceOutput::Receipt {
                copy: ReceiptCopy::Customer,
                target: "Printer".into(),
                lines: vec!["COPY".into(), "4111111111111111".into()],
            })
            .await;
        Ok(approved())
    }

    async fn reconcile(
        &self,
        _request_id: TerminalRequestId,
        _closure: bool,
        _observer: Arc<dyn OperationObserver>,
    ) -> ReconciliationOutcome {
        ReconciliationOutcome::Answered(ReconciliationReport {
            result: TerminalResult::Success,
            totals: vec![],
            error_code: None,
        })
    }

    fn status(&self) -> watch::Receiver<TerminalStatus> {
        self.status.subscribe()
    }

    async fn service(&self, _service: TerminalService) -> Result<TerminalResult, TerminalError> {
        Ok(TerminalResult::Success)
    }

    fn health(&self) -> TerminalHealth {
        TerminalHealth::default()
    }
}

struct Harness {
    service: PaymentService,
    store: Arc<dyn Store>,
    /// The lane's terminal.
    terminal: Arc<ScriptedTerminal>,
    /// The lane.
    poi: PoiId,
    /// The fuelling point's terminal.
    pump_terminal: Arc<ScriptedTerminal>,
    /// The fuelling point.
    pump: PoiId,
    caller: Caller,
    clock: ManualClock,
    _dir: std::path::PathBuf,
}

fn scripted(id: &str) -> Arc<ScriptedTerminal> {
    let (status, _) = watch::channel(TerminalStatus::Online);
    Arc::new(ScriptedTerminal {
        id: TerminalId::parse(id).unwrap(),
        script: Mutex::default(),
        status,
    })
}

async fn harness() -> Harness {
    harness_with(PaymentPolicy {
        recovery_attempts: 2,
        recovery_backoff: std::time::Duration::from_millis(1),
        ..Default::default()
    })
    .await
}

async fn harness_with(policy: PaymentPolicy) -> Harness {
    let dir = std::env::temp_dir().join(format!("eps-payments-{}", uuid::Uuid::new_v4()));
    let store = crate::store::open(&format!("sqlite://{}/eps.db", dir.display()))
        .await
        .unwrap();
    let merchant = MerchantId::parse("1234567890").unwrap();
    let terminal = scripted("lane-1");
    let pump_terminal = scripted("pump-1");
    let poi_of = |kind: &str, terminal: &ScriptedTerminal| Poi {
        poi_id: PoiId::derive(&merchant, kind, "001"),
        logical_id: "001".into(),
        workstation_type: WorkstationType::parse(kind).unwrap(),
        merchant_id: merchant.clone(),
        terminal_id: terminal.id.clone(),
    };
    let poi = poi_of("pointOfService", &terminal);
    let pump = poi_of("fuelingPoint", &pump_terminal);
    let sites = SiteDirectory::new(vec![Site {
        merchant_id: merchant.clone(),
        name: "Demo".into(),
        pois: vec![poi.clone(), pump.clone()],
    }])
    .unwrap();
    let manual = ManualClock::new(datetime!(2026-11-24 12:00 UTC));
    let clock = Arc::new(manual.clone());
    let events = EventLog::new(store.clone(), 1024);
    let tailer = events.clone();
    tokio::spawn(async move {
        tailer
            .run_tailer(std::time::Duration::from_millis(50), std::future::pending())
            .await
    });
    let service = PaymentService::new(
        store.clone(),
        Arc::new(sites),
        clock,
        events,
        vec![
            terminal.clone() as SharedTerminal,
            pump_terminal.clone() as SharedTerminal,
        ],
        policy,
        Arc::new(crate::opi_trace::NoTrace),
    );
    let caller = Caller {
        client_id: ClientId::parse("pos-1").unwrap(),
        connection_id: ConnectionId::generate(),
        merchant_id: merchant,
    };
    Harness {
        service,
        store,
        terminal,
        poi: poi.poi_id,
        pump_terminal,
        pump: pump.poi_id,
        caller,
        clock: manual,
        _dir: dir,
    }
}

impl Harness {
    fn script(&self, step: Step) {
        self.terminal.script.lock().unwrap().steps.push_back(step);
    }

    fn payment(&self, value: &str) -> TransactionRequest {
        TransactionRequest {
            kind: TransactionKind::Payment,
            caller: self.caller.clone(),
            poi_id: Some(self.poi),
            amount: Some(Amount::parse(value, Currency::EUR).unwrap()),
            original_id: None,
            reference: Some("sale-1".into()),
            idempotency: None,
        }
    }

    async fn run(&self, request: TransactionRequest) -> TransactionRecord {
        let started = self.service.start(request).await.unwrap();
        self.service
            .wait_final(
                &self.caller.merchant_id,
                &started.transaction.id,
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap()
    }

    fn operations(&self) -> usize {
        self.terminal.script.lock().unwrap().operations.len()
    }
}

#[tokio::test]
async fn approved_payment_is_journalled_with_masked_receipts() {
    let h = harness().await;
    let receipt = DeviceOutput::Receipt {
        copy: ReceiptCopy::Customer,
        target: "PrinterReceipt".into(),
        lines: vec!["CARD 4111111111111111".into()],
    };
    h.script(Step::Answer {
        outputs: vec![receipt],
        input: None,
        result: TerminalResult::Success,
    });
    let done = h.run(h.payment("12.34")).await;
    assert_eq!(done.state, TransactionState::Approved);
    assert_eq!(
        done.authorisation.unwrap().approval_code.as_deref(),
        Some("123456")
    );
    let steps: Vec<String> = h
        .service
        .journal(&done.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.step)
        .collect();
    for step in ["created", "sending", "sent", "receipt", "response"] {
        assert!(
            steps.contains(&step.to_owned()),
            "{step} missing in {steps:?}"
        );
    }
    let receipts = h
        .service
        .transaction_receipts(&h.caller.merchant_id, &done.id)
        .await
        .unwrap();
    assert_eq!(
        receipts[0].lines,
        vec![MaskedText::new("CARD 411111******1111")]
    );
}

#[tokio::test]
async fn unreachable_terminal_fails_the_transaction_unsent() {
    let h = harness().await;
    h.script(Step::NotSent);
    let started = h.service.start(h.payment("5.00")).await.unwrap();
    assert_eq!(started.transaction.state, TransactionState::Failed);
    assert_eq!(
        started.transaction.result_code.as_deref(),
        Some(UNREACHABLE)
    );
}

#[tokio::test]
async fn a_second_operation_on_a_busy_terminal_is_refused() {
    let h = harness().await;
    let release = Arc::new(Notify::new());
    h.script(Step::Hold(release.clone()));
    let first = h
        .service
        .start(h.payment("1.00"))
        .await
        .unwrap()
        .transaction;
    assert_eq!(first.state, TransactionState::InProgress);
    match h.service.start(h.payment("2.00")).await {
        Err(Error::PoiBusy { active }) => assert_eq!(active, Some(first.id)),
        other => panic!("expected busy, got {other:?}"),
    }
    release.notify_one();
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &first.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    assert_eq!(
        h.run(h.payment("2.00")).await.state,
        TransactionState::Approved
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_reach_the_terminal_once() {
    let h = Arc::new(harness().await);
    let mut request = h.payment("9.99");
    request.idempotency = Some(IdempotencyRequest {
        key: IdempotencyKey::parse("k-1").unwrap(),
        fingerprint: "fp".into(),
        source: KeySource::Header,
    });
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (h, request) = (h.clone(), request.clone());
            tokio::spawn(async move { h.service.start(request).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(started) => {
                ids.insert(started.transaction.id);
            }
            Err(other) => panic!("every retry gets the first answer, got {other:?}"),
        }
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(h.operations(), 1);
    let mut other = request.clone();
    other.idempotency.as_mut().unwrap().fingerprint = "another body".into();
    assert!(matches!(
        h.service.start(other).await,
        Err(Error::IdempotencyMismatch {
            key: KeySource::Header
        })
    ));
}

#[tokio::test]
async fn a_lost_answer_is_recovered_from_the_terminal() {
    let h = harness().await;
    h.script(Step::Lost);
    let started = h.service.start(h.payment("20.00")).await.unwrap();
    // The terminal reports this very request as approved.
    let id = started.transaction.terminal_request_id.clone();
    h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
        request_id: Some(id),
        request_type: Some("CardPayment".into()),
        response: approved(),
    }));
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &started.transaction.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(matches!(
        done.state,
        TransactionState::Approved | TransactionState::Unknown
    ));
    // Recovery may have run before the script was set (then it is unknown): run it again.
    let done = if done.state == TransactionState::Unknown {
        h.service.recover_unresolved().await.unwrap();
        wait_state(&h, &done.id, TransactionState::Approved).await
    } else {
        done
    };
    assert_eq!(done.state, TransactionState::Approved);
    let receipts = h
        .service
        .transaction_receipts(&h.caller.merchant_id, &done.id)
        .await
        .unwrap();
    assert_eq!(receipts.len(), 1, "TicketReprint evidence collected");
    assert_eq!(h.operations(), 1, "never resent");
}

/// The transaction once it is `state`; fails after a bound, naming the state it is in instead.
async fn wait_state(
    h: &Harness,
    id: &crate::ids::TransactionId,
    state: TransactionState,
) -> TransactionRecord {
    const BOUND: std::time::Duration = std::time::Duration::from_secs(30);
    let mut events = h.service.shared.events.subscribe();
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let record = h.store.transaction(id).await.unwrap().unwrap();
        if record.state == state {
            return record;
        }
        // Any event may be the change (a lagged receiver too); the store says which state.
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(closed)) => panic!("waiting for {id} to become {state}: {closed}"),
            Err(_) => panic!(
                "transaction {id} did not become {state} within {BOUND:?}: it is {} ({:?})",
                record.state, record.reason
            ),
        }
    }
}

#[tokio::test]
async fn a_lost_answer_with_a_foreign_last_request_stays_unknown() {
    let h = harness().await;
    h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
        request_id: Some(TerminalRequestId::parse("999").unwrap()),
        request_type: None,
        response: approved(),
    }));
    h.script(Step::Lost);
    let done = h.run(h.payment("2.00")).await;
    assert_eq!(done.state, TransactionState::Unknown);
    assert!(done.reason.unwrap().contains("operator"));
}

#[tokio::test]
async fn an_input_prompt_is_answered_through_the_service() {
    let h = Arc::new(harness().await);
    let spec = InputSpec {
        command: "GetConfirmation".into(),
        marking: AnswerSecrecy::Clear,
        min_length: None,
        max_length: None,
        decimals: None,
        timeout_secs: Some(30),
    };
    h.script(Step::Answer {
        outputs: vec![],
        input: Some(spec),
        result: TerminalResult::Success,
    });
    let mut events = h.service.shared.events.subscribe();
    let started = h.service.start(h.payment("3.00")).await.unwrap();
    let prompt = async {
        loop {
            let event = events.recv().await.unwrap();
            if let crate::event::EventKind::PromptAvailable { prompt_id, .. } = event.kind {
                return prompt_id;
            }
        }
    };
    let prompt_id = tokio::time::timeout(std::time::Duration::from_secs(30), prompt)
        .await
        .expect("a promptAvailable event within 30 s");
    let wrong = h
        .service
        .answer_prompt(
            &h.caller.merchant_id,
            &h.caller.client_id,
            &prompt_id,
            PromptAnswer::Text("x".into()),
        )
        .await;
    assert!(wrong.is_err());
    let prompt = h
        .service
        .answer_prompt(
            &h.caller.merchant_id,
            &h.caller.client_id,
            &prompt_id,
            PromptAnswer::Confirmation(true),
        )
        .await
        .unwrap();
    assert_eq!(prompt.state, PromptState::Answered);
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &started.transaction.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    assert_eq!(
        h.terminal.script.lock().unwrap().answers,
        vec![Some(PromptAnswer::Confirmation(true))]
    );
}

#[tokio::test]
async fn a_pending_transaction_found_at_start_without_a_send_is_failed() {
    let h = harness().await;
    let first = h.run(h.payment("1.00")).await;
    let mut orphan = first.clone();
    orphan.id = crate::ids::TransactionId::generate();
    orphan.state = TransactionState::Pending;
    orphan.version = 1;
    orphan.terminal_request_id = TerminalRequestId::parse("42").unwrap();
    h.store
        .create_transaction(&orphan, None, &[], &[])
        .await
        .unwrap();
    assert_eq!(h.service.recover_unresolved().await.unwrap(), 1);
    let done = wait_state(&h, &orphan.id, TransactionState::Failed).await;
    assert_eq!(done.result_code.as_deref(), Some("notSent"));
}

#[tokio::test]
async fn completion_is_capped_and_settles_the_pre_authorisation() {
    let h = harness().await;
    let mut pre = h.payment("50.00");
    pre.kind = TransactionKind::PreAuthorisation;
    let pre = h.run(pre).await;
    assert_eq!(pre.state, TransactionState::Approved);
    let completion = |value: &str| TransactionRequest {
        kind: TransactionKind::Completion,
        poi_id: None,
        original_id: Some(pre.id),
        amount: Some(Amount::parse(value, Currency::EUR).unwrap()),
        ..h.payment("1.00")
    };
    assert!(matches!(
        h.service.start(completion("50.01")).await,
        Err(Error::InvalidState(_))
    ));
    let done = h.run(completion("42.10")).await;
    assert_eq!(done.state, TransactionState::Approved);
    let pre = h
        .service
        .transaction(&h.caller.merchant_id, &pre.id)
        .await
        .unwrap();
    assert_eq!(pre.state, TransactionState::Completed);
    match &h.terminal.script.lock().unwrap().operations[1].operation {
        CardOperation::Completion { amount, original } => {
            assert_eq!(amount.minor(), 4210);
            assert_eq!(original.request_id.as_ref(), Some(&pre.terminal_request_id));
        }
        other => panic!("{other:?}"),
    }
}

/// One refund after another (concurrent refunds and other follow-ups are not tried here).
#[tokio::test]
async fn sequential_refunds_stop_at_the_original_amount() {
    let h = harness().await;
    let paid = h.run(h.payment("10.00")).await;
    let refund = |value: &str| TransactionRequest {
        kind: TransactionKind::Refund,
        original_id: Some(paid.id),
        amount: Some(Amount::parse(value, Currency::EUR).unwrap()),
        ..h.payment("1.00")
    };
    assert_eq!(
        h.run(refund("4.00")).await.state,
        TransactionState::Approved
    );
    assert!(matches!(
        h.service.start(refund("6.01")).await,
        Err(Error::FollowUpConflict { .. })
    ));
    assert_eq!(
        h.run(refund("6.00")).await.state,
        TransactionState::Approved
    );
    let paid = h
        .service
        .transaction(&h.caller.merchant_id, &paid.id)
        .await
        .unwrap();
    assert_eq!(paid.state, TransactionState::Refunded);
    assert_eq!(paid.refunded_amount.unwrap().minor(), 1000);
}

mod follow_ups;
mod recovery_proof;
mod retries;
mod secrets;
mod waits_and_operators;
